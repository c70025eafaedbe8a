//! Beyond the basics: IPv6 VRRPv3, the virtual MAC, unicast peers, sync groups, accept mode,
//! virtual routes, email alerts and strict mode — each live in namespaces, with keepalived as
//! the peer where keepalived supports the feature.

use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use vrrp_common::wire::icmpv6;
use vrrp_harness::capture::Capture;
use vrrp_harness::daemons::{
    Keepalived, Vrrpd, make_executable, vrrpd_binary, write_notify_recorder,
};
use vrrp_harness::fixtures;
use vrrp_harness::packet_socket::PacketSocket;
use vrrp_harness::pinger::Pinger;
use vrrp_harness::process::Scratch;
use vrrp_harness::topology::{BRIDGE, Segment};
use vrrp_harness::wait_until;
use vrrp_harness::wire;

const WAIT: Duration = Duration::from_secs(20);

fn stats(daemon: &Vrrpd) -> serde_json::Value {
    serde_json::from_str(
        &vrrp_user::control::client::request(&daemon.control, "stats").expect("stats"),
    )
    .expect("json")
}

/// A vrrp_instance block with the given body lines.
fn instance(name: &str, vrid: u8, priority: u8, body: &str) -> String {
    format!(
        "vrrp_instance {name} {{\n  interface eth0\n  virtual_router_id {vrid}\n  priority {priority}\n{body}}}\n"
    )
}

fn ipv6_config(priority: u8) -> String {
    format!(
        "global_defs {{\n  vrrp_version 3\n}}\n{}",
        instance(
            "VI_6",
            60,
            priority,
            "  advert_int 1\n  virtual_ipaddress {\n    fe80::60/64 dev eth0\n    2001:db8::99/64 dev eth0\n  }\n"
        )
    )
}

/// A neighbour solicitation from the client (2001:db8::100) for `target`.
fn solicitation(client_mac: [u8; 6], target: [u8; 16]) -> Vec<u8> {
    let source = "2001:db8::100".parse::<std::net::Ipv6Addr>().expect("ip");
    fixtures::neighbor_solicitation(client_mac, source, target.into())
}

#[test]
fn ipv6_vrrpv3_with_unsolicited_na_nodad_vips_and_the_nd_responder() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("adv-ipv6").expect("scratch");
    let capture = Capture::start(&segment.switch, BRIDGE, "ip6", scratch.path()).expect("capture");
    let mut dr1 =
        Vrrpd::start(segment.router(1), "dr1", &ipv6_config(100), &scratch, &[]).expect("dr1");
    dr1.wait_for("(VI_6) Entering MASTER STATE", WAIT)
        .expect("master");
    let mut dr2 =
        Vrrpd::start(segment.router(2), "dr2", &ipv6_config(96), &scratch, &[]).expect("dr2");
    dr2.wait_for("(VI_6) Entering BACKUP STATE", WAIT)
        .expect("backup");
    dr1.wait_for(
        "Sending unsolicited Neighbour Advert on eth0 for 2001:db8::99",
        WAIT,
    )
    .expect("NA");
    let addresses = segment
        .router(1)
        .ns
        .run_ok(["ip", "-6", "addr", "show", "dev", "eth0"])
        .expect("addr");
    assert!(
        addresses.contains("2001:db8::99/64") && addresses.contains("nodad"),
        "{addresses}"
    );
    // The ND responder answers a solicitation for the active VIP.
    let mac = segment.client.mac().expect("mac");
    let target = "2001:db8::99"
        .parse::<std::net::Ipv6Addr>()
        .expect("ip")
        .octets();
    let before = stats(&dr1)["datapath"]["counters"]["neighbor_adverts_sent"]
        .as_u64()
        .unwrap_or(0);
    segment
        .client
        .ns
        .enter(|| {
            PacketSocket::open("eth0")
                .expect("socket")
                .send(&solicitation(mac, target))
                .expect("send")
        })
        .expect("enter");
    wait_until("the XDP neighbour advert", WAIT, || {
        stats(&dr1)["datapath"]["counters"]["neighbor_adverts_sent"]
            .as_u64()
            .unwrap_or(0)
            > before
    });
    // Failover: DR2 announces the VIP with an unsolicited NA from its MAC.
    dr1.process
        .stop(libc::SIGTERM, Duration::from_secs(2))
        .expect("stop");
    dr2.wait_for("(VI_6) Entering MASTER STATE", WAIT)
        .expect("takeover");
    std::thread::sleep(Duration::from_millis(500));
    let frames = capture.finish().expect("capture");
    let dr2_mac = segment.router(2).mac().expect("mac");
    let unsolicited = frames.iter().any(|f| {
        f.data.len() >= 86
            && f.data[6..12] == dr2_mac
            && f.data[54] == icmpv6::TYPE_NEIGHBOR_ADVERTISEMENT
            && f.data[62..78] == target
    });
    assert!(unsolicited, "an unsolicited NA for 2001:db8::99 from DR2");
    let adverts = wire::adverts(&frames);
    assert!(
        adverts
            .iter()
            .any(|a| a.vrid == 60 && a.destination.to_string() == "ff02::12" && a.checksum_ok)
    );
    assert!(
        adverts
            .iter()
            .all(|a| matches!(a.source, std::net::IpAddr::V6(v6) if v6.is_unicast_link_local())),
        "sent from link-local"
    );
}

#[test]
fn ipv6_interop_with_keepalived() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("adv-ipv6-interop").expect("scratch");
    let mut keepalived = Keepalived::start(segment.router(1), "ka", &ipv6_config(100), &scratch)
        .expect("keepalived");
    keepalived
        .process
        .wait_for_log("(VI_6) Entering MASTER STATE", WAIT)
        .expect("master");
    let mut vrrpd =
        Vrrpd::start(segment.router(2), "dr2", &ipv6_config(96), &scratch, &[]).expect("vrrpd");
    vrrpd
        .wait_for("(VI_6) Entering BACKUP STATE", WAIT)
        .expect("backup");
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !vrrpd.log().contains("Entering MASTER STATE"),
        "vrrpd accepts keepalived's IPv6 adverts"
    );
    keepalived
        .process
        .stop(libc::SIGTERM, Duration::from_secs(5))
        .expect("stop");
    vrrpd
        .wait_for("(VI_6) Entering MASTER STATE (master resigned", WAIT)
        .expect("takeover");
    let mut keepalived =
        Keepalived::start(segment.router(1), "ka-again", &ipv6_config(100), &scratch)
            .expect("keepalived");
    keepalived
        .process
        .wait_for_log("(VI_6) Entering MASTER STATE", WAIT)
        .expect("preempts");
    vrrpd
        .wait_for("(VI_6) Entering BACKUP STATE (higher priority 100", WAIT)
        .expect("steps down");
    assert!(
        keepalived.complaints().is_empty(),
        "{:?}",
        keepalived.complaints()
    );
}

fn seed_like(priority: u8, extra: &str) -> String {
    format!(
        "global_defs {{\n  router_id R{priority}\n}}\n{}",
        instance(
            "VI_1",
            51,
            priority,
            &format!(
                "  advert_int 1\n{extra}  virtual_ipaddress {{\n    192.0.2.99/24 dev eth0\n  }}\n"
            )
        )
    )
}

#[test]
fn use_vmac_answers_with_the_virtual_mac_and_removes_the_macvlan_at_exit() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("adv-vmac").expect("scratch");
    let capture = Capture::start(
        &segment.switch,
        BRIDGE,
        "ip proto 112 or arp",
        scratch.path(),
    )
    .expect("capture");
    let mut dr1 = Vrrpd::start(
        segment.router(1),
        "dr1",
        &seed_like(100, "  use_vmac\n"),
        &scratch,
        &[],
    )
    .expect("dr1");
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("master");
    let router = segment.router(1);
    let arp_setting = |key: &str| {
        router
            .ns
            .run_ok(["cat", &format!("/proc/sys/net/ipv4/conf/eth0/{key}")])
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    assert_eq!(
        (arp_setting("arp_ignore"), arp_setting("arp_announce")),
        ("1".to_string(), "2".to_string()),
        "keepalived's ARP settings on the base interface"
    );
    let link = router
        .ns
        .run_ok(["ip", "-d", "link", "show", "vrrp.51"])
        .expect("the macvlan exists");
    assert!(
        link.contains("00:00:5e:00:01:33") && link.contains("macvlan mode private"),
        "{link}"
    );
    assert!(
        router
            .ns
            .run_ok(["ip", "-4", "addr", "show", "dev", "vrrp.51"])
            .expect("addr")
            .contains("192.0.2.99/24")
    );
    // keepalived as the backup accepts adverts from the virtual MAC.
    let mut keepalived = Keepalived::start(segment.router(2), "ka", &seed_like(96, ""), &scratch)
        .expect("keepalived");
    keepalived
        .process
        .wait_for_log("(VI_1) Entering BACKUP STATE", WAIT)
        .expect("backup");
    // The client's ARP for the VIP resolves to the virtual MAC (answered by XDP on eth0).
    let pinger = Pinger::start(
        &segment.client.ns,
        "192.0.2.99".parse::<std::net::Ipv4Addr>().expect("ip"),
        Duration::from_millis(50),
        Duration::from_secs(2),
    )
    .expect("pinger");
    std::thread::sleep(Duration::from_millis(500));
    let report = pinger.stop().expect("report");
    assert!(report.received > 0, "the VIP answers pings: {report:?}");
    let neighbours = segment
        .client
        .ns
        .run_ok(["ip", "neigh", "show"])
        .expect("neigh");
    assert!(
        neighbours
            .lines()
            .any(|l| l.starts_with("192.0.2.99 ") && l.contains("00:00:5e:00:01:33")),
        "{neighbours}\n{}\n{}",
        stats(&dr1)["datapath"]["counters"],
        router.ns.run_ok(["ip", "-br", "link"]).unwrap_or_default()
    );
    assert!(
        stats(&dr1)["datapath"]["counters"]["arp_replies_sent"]
            .as_u64()
            .unwrap_or(0)
            > 0
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !keepalived.log().contains("Entering MASTER STATE"),
        "{}",
        keepalived.log()
    );
    dr1.process
        .stop(libc::SIGTERM, Duration::from_secs(2))
        .expect("stop");
    keepalived
        .process
        .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
        .expect("keepalived takes over");
    assert!(
        router
            .ns
            .run(["ip", "link", "show", "vrrp.51"])
            .map(|o| !o.status.success())
            .unwrap_or(false),
        "macvlan removed"
    );
    assert_eq!(
        (arp_setting("arp_ignore"), arp_setting("arp_announce")),
        ("0".to_string(), "0".to_string()),
        "the base interface's ARP settings restored at exit"
    );
    let frames = capture.finish().expect("capture");
    let from_vmac = wire::adverts(&frames)
        .iter()
        .filter(|a| a.source_mac == [0, 0, 0x5e, 0, 1, 0x33])
        .count();
    assert!(from_vmac > 0, "adverts leave with the virtual MAC");
}

#[test]
fn vmac_xmit_base_sends_adverts_from_the_base_interface() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("adv-xmit-base").expect("scratch");
    let capture =
        Capture::start(&segment.switch, BRIDGE, "ip proto 112", scratch.path()).expect("capture");
    let mut dr1 = Vrrpd::start(
        segment.router(1),
        "dr1",
        &seed_like(100, "  use_vmac\n  vmac_xmit_base\n"),
        &scratch,
        &[],
    )
    .expect("dr1");
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("master");
    std::thread::sleep(Duration::from_secs(2));
    let router = segment.router(1);
    assert!(
        router
            .ns
            .run_ok(["ip", "-4", "addr", "show", "dev", "vrrp.51"])
            .expect("addr")
            .contains("192.0.2.99/24"),
        "the VIP still lives on the macvlan"
    );
    let base_mac = router.mac().expect("mac");
    let adverts = wire::adverts(&capture.finish().expect("capture"));
    assert!(!adverts.is_empty());
    assert!(
        adverts.iter().all(|a| a.source_mac == base_mac),
        "every advert leaves with the base interface's MAC"
    );
}

/// `garp_extra_if 1` under `use_vmac` with `vmac_xmit_base`, in the instance or as global_defs'
/// `vrrp_garp_extra_if 1`: adverts leave by the base interface, and the VIP on the macvlan is
/// announced again every second while master (one message at the takeover here, so every later
/// one is garp_extra_if's).
#[test]
fn garp_extra_if_announces_the_virtual_mac_interfaces_addresses_periodically() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let vmac = "  use_vmac\n  vmac_xmit_base\n  garp_master_delay 0\n  garp_master_repeat 1\n";
    let in_the_instance = seed_like(100, &format!("{vmac}  garp_extra_if 1\n"));
    let in_global_defs = seed_like(100, vmac).replacen(
        "global_defs {\n",
        "global_defs {\n  vrrp_garp_extra_if 1\n",
        1,
    );
    for config in [in_the_instance, in_global_defs] {
        let segment = Segment::new(1).expect("segment");
        let scratch = Scratch::new("adv-garp-extra").expect("scratch");
        let capture =
            Capture::start(&segment.switch, BRIDGE, "arp", scratch.path()).expect("capture");
        let mut dr1 = Vrrpd::start(segment.router(1), "dr1", &config, &scratch, &[]).expect("dr1");
        dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
            .expect("master");
        std::thread::sleep(Duration::from_millis(4500));
        let virtual_mac = [0x00, 0x00, 0x5e, 0x00, 0x01, 51];
        let garps: Vec<u64> = wire::garps(&capture.finish().expect("capture"))
            .iter()
            .filter(|g| g.source_mac == virtual_mac && g.address.octets() == [192, 0, 2, 99])
            .map(|g| g.time_ns)
            .collect();
        assert!(
            garps.len() >= 4,
            "the takeover's message and one a second after: {garps:?}\n{config}"
        );
        for pair in garps.windows(2).skip(1) {
            let gap = pair[1] - pair[0];
            assert!(
                (700_000_000..=1_500_000_000).contains(&gap),
                "about a second apart: {garps:?}"
            );
        }
    }
}

/// keepalived's `vrrp_min_garp`: "only one ARP/NA message to be sent, with no repeat 5 seconds
/// later" (keepalived.conf(5)). Without it, keepalived's defaults: 5 at the takeover and 5 more
/// after garp_master_delay (5 s).
#[test]
fn vrrp_min_garp_sends_one_gratuitous_arp_and_no_second_burst() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    for (global, expected) in [("  vrrp_min_garp\n", 1), ("", 10)] {
        let segment = Segment::new(1).expect("segment");
        let scratch = Scratch::new("adv-min-garp").expect("scratch");
        let capture =
            Capture::start(&segment.switch, BRIDGE, "arp", scratch.path()).expect("capture");
        let config =
            seed_like(100, "").replacen("global_defs {\n", &format!("global_defs {{\n{global}"), 1);
        let mut dr1 = Vrrpd::start(segment.router(1), "dr1", &config, &scratch, &[]).expect("dr1");
        dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
            .expect("master");
        std::thread::sleep(Duration::from_millis(6500));
        let mac = segment.router(1).mac().expect("mac");
        let garps = wire::garps(&capture.finish().expect("capture"))
            .iter()
            .filter(|g| g.source_mac == mac && g.address.octets() == [192, 0, 2, 99])
            .count();
        assert_eq!(garps, expected, "{global:?}");
    }
}

/// Unicast to one peer; with `check_source`, keepalived's `check_unicast_src`.
fn unicast_config(priority: u8, me: u8, peer: u8, check_source: bool) -> String {
    let check = if check_source {
        "  check_unicast_src\n"
    } else {
        ""
    };
    seed_like(
        priority,
        &format!(
            "  unicast_src_ip 192.0.2.{me}\n  unicast_peer {{\n    192.0.2.{peer}\n  }}\n{check}"
        ),
    )
}

/// keepalived takes unicast adverts from any source unless `check_unicast_src` (vrrp.c,
/// vrrp_check_packet): a stranger with a higher priority is obeyed, as keepalived obeys it.
#[test]
fn without_check_unicast_src_a_stranger_is_heard_as_keepalived_hears_it() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(3).expect("segment");
    let scratch = Scratch::new("adv-unicast-any").expect("scratch");
    let mut dr1 = Vrrpd::start_until(
        segment.router(1),
        "dr1",
        &unicast_config(100, 11, 12, false),
        &scratch,
        &[],
        "(VI_1) Entering MASTER STATE",
    )
    .expect("dr1");
    let mut stranger = Keepalived::start(
        segment.router(3),
        "stranger",
        &unicast_config(200, 13, 11, false),
        &scratch,
    )
    .expect("stranger");
    stranger
        .process
        .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
        .expect("stranger advertises");
    dr1.wait_for("(VI_1) Entering BACKUP STATE (higher", WAIT)
        .expect("DR1 yields to the higher priority, whoever sends it");
    assert_eq!(
        stats(&dr1)["datapath"]["drops"]["unknown_peer"]
            .as_u64()
            .unwrap_or(0),
        0
    );
}

#[test]
fn unicast_peers_with_keepalived_and_strangers_dropped_under_check_unicast_src() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(3).expect("segment");
    let scratch = Scratch::new("adv-unicast").expect("scratch");
    let capture =
        Capture::start(&segment.switch, BRIDGE, "ip proto 112", scratch.path()).expect("capture");
    let mut dr1 = Vrrpd::start_until(
        segment.router(1),
        "dr1",
        &unicast_config(100, 11, 12, true),
        &scratch,
        &[],
        "(VI_1) Entering MASTER STATE",
    )
    .expect("dr1");
    let mut keepalived = Keepalived::start(
        segment.router(2),
        "ka",
        &unicast_config(96, 12, 11, true),
        &scratch,
    )
    .expect("keepalived");
    keepalived
        .process
        .wait_for_log("(VI_1) Entering BACKUP STATE", WAIT)
        .expect("backup");
    // A third router, not a peer of DR1, advertising a higher priority at DR1.
    let mut stranger = Keepalived::start(
        segment.router(3),
        "stranger",
        &unicast_config(200, 13, 11, false),
        &scratch,
    )
    .expect("stranger");
    stranger
        .process
        .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
        .expect("stranger advertises");
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !dr1.log().contains("Entering BACKUP STATE (higher"),
        "a stranger's adverts are dropped"
    );
    assert!(
        stats(&dr1)["datapath"]["drops"]["unknown_peer"]
            .as_u64()
            .unwrap_or(0)
            > 0
    );
    assert!(!keepalived.log().contains("Entering MASTER STATE"));
    let adverts = wire::adverts(&capture.finish().expect("capture"));
    let from_dr1: Vec<_> = adverts
        .iter()
        .filter(|a| a.source.to_string() == "192.0.2.11")
        .collect();
    assert!(
        !from_dr1.is_empty()
            && from_dr1
                .iter()
                .all(|a| a.destination.to_string() == "192.0.2.12"),
        "unicast to the peer"
    );
    dr1.process
        .stop(libc::SIGTERM, Duration::from_secs(2))
        .expect("stop");
    keepalived
        .process
        .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
        .expect("keepalived takes over");
    assert!(
        keepalived
            .complaints()
            .iter()
            .all(|c| c.contains("192.0.2.13")),
        "{:?}",
        keepalived.complaints()
    );
}

fn sync_config(
    scratch: &Scratch,
    priorities: (u8, u8),
    track: bool,
    notify: &std::path::Path,
) -> String {
    let script = scratch.join("chk_down.sh");
    let mut text = format!(
        "vrrp_script chk_down {{\n  script \"{}\"\n  interval 1\n  weight -10\n}}\nvrrp_sync_group G {{\n  group {{\n    VI_1\n    VI_2\n  }}\n  notify {}\n}}\n",
        script.display(),
        notify.display()
    );
    let track = if track {
        "  track_script {\n    chk_down weight 0\n  }\n"
    } else {
        ""
    };
    text.push_str(&instance(
        "VI_1",
        51,
        priorities.0,
        &format!(
            "  advert_int 1\n{track}  virtual_ipaddress {{\n    192.0.2.99/24 dev eth0\n  }}\n"
        ),
    ));
    text.push_str(&instance(
        "VI_2",
        52,
        priorities.1,
        "  advert_int 1\n  virtual_ipaddress {\n    192.0.2.98/24 dev eth0\n  }\n",
    ));
    text
}

#[test]
fn a_sync_group_moves_together_with_keepalived_as_the_peer() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("adv-sync").expect("scratch");
    vrrp_harness::daemons::write_chk_down(&scratch).expect("chk_down");
    let notify = write_notify_recorder(&scratch, "group.sh").expect("recorder");
    let mut dr1 = Vrrpd::start(
        segment.router(1),
        "dr1",
        &sync_config(&scratch, (100, 100), true, &notify),
        &scratch,
        &[],
    )
    .expect("dr1");
    dr1.wait_for("(VI_2) Entering MASTER STATE", WAIT)
        .expect("master of both");
    let mut keepalived = Keepalived::start(
        segment.router(2),
        "ka",
        &sync_config(&scratch, (96, 96), false, &notify),
        &scratch,
    )
    .expect("ka");
    keepalived
        .process
        .wait_for_log("(VI_2) Entering BACKUP STATE", WAIT)
        .expect("backup");
    // Only VI_1 tracks chk_down, unweighted (keepalived ignores weighted tracking inside a sync
    // group): its failure puts VI_1 in FAULT — and VI_2 with it, so the peer takes both.
    std::fs::write(scratch.join("down"), "").expect("touch down");
    keepalived
        .process
        .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
        .unwrap_or_else(|e| panic!("VI_1 moves: {e}\nDR1's log:\n{}", dr1.log()));
    keepalived
        .process
        .wait_for_log("(VI_2) Entering MASTER STATE", WAIT)
        .expect("VI_2 follows");
    wait_until("both VIPs on DR2", WAIT, || {
        segment.router(2).has_address("192.0.2.99") && segment.router(2).has_address("192.0.2.98")
    });
    wait_until("DR1 released both", WAIT, || {
        !segment.router(1).has_address("192.0.2.99") && !segment.router(1).has_address("192.0.2.98")
    });
    let log = std::fs::read_to_string(scratch.join("notify.log")).unwrap_or_default();
    assert!(
        log.contains("group.sh GROUP G FAULT"),
        "the group's notify ran: {log}"
    );
    std::fs::remove_file(scratch.join("down")).expect("rm down");
    dr1.wait_for(
        "(VI_1) Entering MASTER STATE (master down timer expired)",
        WAIT,
    )
    .expect("back");
    wait_until("both back on DR1", WAIT, || {
        segment.router(1).has_address("192.0.2.99") && segment.router(1).has_address("192.0.2.98")
    });
}

#[test]
fn no_accept_drops_traffic_to_the_vip_and_accept_lets_it_in() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    for (mode, answered) in [("no_accept", false), ("accept", true)] {
        let segment = Segment::new(1).expect("segment");
        let scratch = Scratch::new("adv-accept").expect("scratch");
        let config = format!(
            "global_defs {{\n  vrrp_version 3\n}}\n{}",
            instance(
                "VI_1",
                51,
                100,
                &format!(
                    "  {mode}\n  advert_int 0.1\n  virtual_ipaddress {{\n    192.0.2.99/24 dev eth0\n  }}\n"
                )
            )
        );
        let mut dr1 = Vrrpd::start(segment.router(1), "dr1", &config, &scratch, &[]).expect("dr1");
        dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
            .expect("master");
        std::thread::sleep(Duration::from_millis(500));
        let pinger = Pinger::start(
            &segment.client.ns,
            "192.0.2.99".parse::<std::net::Ipv4Addr>().expect("ip"),
            Duration::from_millis(20),
            Duration::from_secs(1),
        )
        .expect("pinger");
        std::thread::sleep(Duration::from_secs(1));
        let report = pinger.stop().expect("report");
        assert_eq!(
            report.received > 0,
            answered,
            "{mode}: {} of {} answered",
            report.received,
            report.sent
        );
        let table = segment
            .router(1)
            .ns
            .run_ok(["nft", "list", "table", "inet", "vrrpd"])
            .unwrap_or_default();
        assert_eq!(table.contains("192.0.2.99"), !answered, "{mode}: {table}");
        dr1.process
            .stop(libc::SIGTERM, Duration::from_secs(2))
            .expect("stop");
        assert!(
            segment
                .router(1)
                .ns
                .run(["nft", "list", "table", "inet", "vrrpd"])
                .map(|o| !o.status.success())
                .unwrap_or(true),
            "table removed at exit"
        );
    }
}

#[test]
fn virtual_routes_and_rules_follow_the_master() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("adv-routes").expect("scratch");
    let routes = "  virtual_routes {\n    198.51.100.0/24 via 192.0.2.1 dev eth0\n  }\n  \
                  virtual_rules {\n    from 203.0.113.0/24 table 100 priority 1000\n    \
                  to 198.51.100.7 fwmark 0x10/0xff lookup 101 pref 1001\n    \
                  not from 192.0.2.0/24 iif eth0 prohibit pref 1002\n  }\n";
    let mut dr1 = Vrrpd::start(
        segment.router(1),
        "dr1",
        &seed_like(100, routes),
        &scratch,
        &[],
    )
    .expect("dr1");
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("master");
    let mut dr2 = Vrrpd::start(
        segment.router(2),
        "dr2",
        &seed_like(96, routes),
        &scratch,
        &[],
    )
    .expect("dr2");
    dr2.wait_for("(VI_1) Entering BACKUP STATE", WAIT)
        .expect("backup");
    let has_route = |router: usize| {
        segment
            .router(router)
            .ns
            .run_ok(["ip", "route", "show", "198.51.100.0/24"])
            .is_ok_and(|t| t.contains("via 192.0.2.1"))
    };
    // iproute2 is the judge of what the kernel holds.
    let rules = |router: usize| {
        segment
            .router(router)
            .ns
            .run_ok(["ip", "rule", "show"])
            .unwrap_or_default()
    };
    let expected_rules = [
        "1000:\tfrom 203.0.113.0/24 lookup 100",
        "1001:\tfrom all to 198.51.100.7 fwmark 0x10/0xff lookup 101",
        "1002:\tnot from 192.0.2.0/24 iif eth0 prohibit",
    ];
    let has_rules = |router: usize| {
        let listed = rules(router);
        expected_rules.iter().all(|rule| listed.contains(rule))
    };
    let has_any_rule = |router: usize| {
        let listed = rules(router);
        ["1000:", "1001:", "1002:"]
            .iter()
            .any(|rule| listed.contains(rule))
    };
    wait_until("the route on DR1", WAIT, || has_route(1));
    wait_until("the rules on DR1", WAIT, || has_rules(1));
    assert!(!has_route(2), "no route on the backup");
    assert!(!has_any_rule(2), "no rule on the backup: {}", rules(2));
    dr1.process
        .stop(libc::SIGTERM, Duration::from_secs(2))
        .expect("stop");
    assert!(!has_route(1), "route removed at exit");
    assert!(!has_any_rule(1), "rules removed at exit: {}", rules(1));
    dr2.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("takeover");
    wait_until("the route on DR2", WAIT, || has_route(2));
    wait_until("the rules on DR2", WAIT, || has_rules(2));
}

/// A minimal SMTP sink on 127.0.0.1:`port` inside the router's namespace, appending every
/// conversation (commands and message) to the returned mailbox file.
fn smtp_sink(
    router: &vrrp_harness::topology::Host,
    scratch: &Scratch,
    port: u16,
) -> std::path::PathBuf {
    let listener = router
        .ns
        .enter(|| std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind"))
        .expect("enter");
    let mailbox = scratch.join("mailbox");
    let sink_mailbox = mailbox.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten().take(4) {
            let mut writer = stream.try_clone().expect("clone");
            let mut reader = BufReader::new(stream);
            let _ = writer.write_all(b"220 sink ESMTP\r\n");
            let mut in_data = false;
            let mut message = String::new();
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if in_data {
                    if line.trim_end() == "." {
                        in_data = false;
                        let _ = writer.write_all(b"250 queued\r\n");
                    } else {
                        message.push_str(&line);
                    }
                } else if line.starts_with("DATA") {
                    in_data = true;
                    let _ = writer.write_all(b"354 go on\r\n");
                } else if line.starts_with("QUIT") {
                    let _ = writer.write_all(b"221 bye\r\n");
                    break;
                } else {
                    message.push_str(&line);
                    let _ = writer.write_all(b"250 ok\r\n");
                }
                line.clear();
            }
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&sink_mailbox)
                .expect("mailbox");
            let _ = file.write_all(message.as_bytes());
        }
    });
    mailbox
}

#[test]
fn smtp_alert_emails_each_transition() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("adv-smtp").expect("scratch");
    let router = segment.router(1);
    let mailbox = smtp_sink(router, &scratch, 2525);
    let config = format!(
        "global_defs {{\n  router_id DR1\n  notification_email {{\n    ops@example.org\n  }}\n  notification_email_from vrrpd@example.org\n  smtp_server 127.0.0.1 2525\n  smtp_connect_timeout 5\n}}\n{}",
        instance(
            "VI_1",
            51,
            100,
            "  advert_int 1\n  smtp_alert\n  virtual_ipaddress {\n    192.0.2.99/24 dev eth0\n  }\n"
        )
    );
    let mut dr1 = Vrrpd::start(router, "dr1", &config, &scratch, &[]).expect("dr1");
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("master");
    dr1.wait_for(
        "SMTP alert sent for [DR1] VRRP Instance VI_1 - Entering MASTER state",
        WAIT,
    )
    .expect("sent");
    let mail = std::fs::read_to_string(&mailbox).expect("mailbox");
    assert!(
        mail.contains("RCPT TO:<ops@example.org>")
            && mail.contains("MAIL FROM:<vrrpd@example.org>"),
        "{mail}"
    );
    assert!(
        mail.contains("Subject: [DR1] VRRP Instance VI_1 - Entering BACKUP state"),
        "{mail}"
    );
    assert!(
        mail.contains("Subject: [DR1] VRRP Instance VI_1 - Entering MASTER state"),
        "{mail}"
    );
}

/// The global side of keepalived's email alerts: `smtp_alert` in global_defs alerts for an
/// instance that says nothing itself, `smtp_helo_name` is what HELO says, and
/// `no_email_faults` mutes the transition to FAULT.
#[test]
fn global_smtp_alert_helo_name_and_no_email_faults() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("adv-smtp-global").expect("scratch");
    let router = segment.router(1);
    let mailbox = smtp_sink(router, &scratch, 2526);
    let config = format!(
        "global_defs {{\n  router_id DR1\n  notification_email {{\n    ops@example.org\n  }}\n  smtp_server 127.0.0.1 2526\n  smtp_helo_name helo.example.org\n  smtp_alert\n  no_email_faults\n}}\n{}",
        instance(
            "VI_1",
            51,
            100,
            "  advert_int 1\n  virtual_ipaddress {\n    192.0.2.99/24 dev eth0\n  }\n"
        )
    );
    let mut dr1 = Vrrpd::start(router, "dr1", &config, &scratch, &[]).expect("dr1");
    dr1.wait_for(
        "SMTP alert sent for [DR1] VRRP Instance VI_1 - Entering MASTER state",
        WAIT,
    )
    .expect("the global smtp_alert applies");
    router
        .ns
        .run_ok(["ip", "link", "set", "eth0", "down"])
        .expect("link down");
    dr1.wait_for("(VI_1) Entering FAULT STATE", WAIT)
        .expect("fault");
    std::thread::sleep(Duration::from_secs(2));
    let mail = std::fs::read_to_string(&mailbox).expect("mailbox");
    assert!(mail.contains("HELO helo.example.org"), "{mail}");
    assert!(!mail.contains("FAULT"), "no_email_faults: {mail}");
    assert!(!dr1.log().contains("Entering FAULT state"), "{}", dr1.log());
}

#[test]
fn vrrp_strict_refuses_what_the_rfc_forbids_and_defaults_to_no_accept() {
    vrrp_harness::require_root();
    let scratch = Scratch::new("adv-strict").expect("scratch");
    let strict = "global_defs {\n  vrrp_strict\n}\n";
    // keepalived's fallbacks: authentication is dropped and the instance runs; an instance with
    // unicast peers is not run, and the others are.
    let fallbacks = [
        (
            "strict-unicast.conf",
            unicast_config(100, 11, 12, false)
                .split_once("}\n")
                .map(|(_, rest)| rest.to_string())
                .unwrap_or_default(),
            "(VI_1) Unicast peers are not supported in strict mode",
            0,
        ),
        (
            "strict-auth.conf",
            instance(
                "VI_1",
                51,
                100,
                "  authentication {\n    auth_type PASS\n    auth_pass x\n  }\n  virtual_ipaddress {\n    192.0.2.99/24\n  }\n",
            ),
            "(VI_1) Strict mode does not support authentication. Ignoring.",
            1,
        ),
    ];
    for (file, instances, message, running) in fallbacks {
        let path = scratch
            .write(file, &format!("{strict}{instances}"))
            .expect("write");
        let output = std::process::Command::new(vrrpd_binary())
            .args(["-t", "-f"])
            .arg(&path)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        // keepalived's config test: errors reported, the file runs with the fallback (5).
        assert_eq!(output.status.code(), Some(5), "{file}: {stderr}");
        assert!(stderr.contains(message), "{file}: {stderr}");
        assert_eq!(
            stdout.matches("vrrp_instance VI_1").count(),
            running,
            "{file}: {stdout}"
        );
    }
    // Strict mode means no_accept unless `accept` is given.
    let segment = Segment::new(1).expect("segment");
    let config = format!(
        "global_defs {{\n  vrrp_strict\n  vrrp_version 3\n}}\n{}",
        instance(
            "VI_1",
            51,
            100,
            "  advert_int 0.1\n  virtual_ipaddress {\n    192.0.2.99/24 dev eth0\n  }\n"
        )
    );
    let mut dr1 = Vrrpd::start(segment.router(1), "dr1", &config, &scratch, &[]).expect("dr1");
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("master");
    wait_until("the VIP blocked", WAIT, || {
        segment
            .router(1)
            .ns
            .run_ok(["nft", "list", "table", "inet", "vrrpd"])
            .is_ok_and(|t| t.contains("192.0.2.99"))
    });
    let _ = make_executable;
}
