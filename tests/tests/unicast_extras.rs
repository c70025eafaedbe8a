//! keepalived's unicast extras, side by side with keepalived 2.2.7: with `unicast_fault_no_peer`
//! an instance whose unicast_peer list is empty stays in FAULT instead of falling back to
//! multicast (and taking the VIP); without it, both fall back to multicast and become master.
//! `unicast_ttl` sets the TTL (IPv6 hop limit) of the adverts to unicast peers.
//! `old_unicast_checksum`: keepalived's VRRPv3 unicast checksum before 1.3.6, against keepalived
//! 2.2.7 configured with it: vrrpd detects it and follows (in XDP and socket mode), sends it when
//! configured, and refuses it under `never`.

use std::collections::BTreeSet;
use std::time::Duration;

use vrrp_harness::capture::Capture;
use vrrp_harness::daemons::{Keepalived, Vrrpd};
use vrrp_harness::process::Scratch;
use vrrp_harness::side_by_side::{Implementation, Run};
use vrrp_harness::topology::{BRIDGE, Segment};
use vrrp_harness::wire;

fn scenario(implementation: Implementation, fault_no_peer: bool) -> Vec<String> {
    let label = if fault_no_peer {
        "unicast-fault-no-peer"
    } else {
        "unicast-no-peer"
    };
    let run = Run::start(implementation, label, |folder| {
        format!(
            "global_defs {{\n  vrrp_notify_fifo {folder}/notify.fifo\n  \
             vrrp_notify_fifo_script {folder}/fifo-reader.sh\n}}\n\
             vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  \
             advert_int 0.2\n  version 3\n  unicast_peer {{\n  }}\n{}  \
             virtual_ipaddress {{\n    192.0.2.99/24\n  }}\n}}\n",
            if fault_no_peer {
                "  unicast_fault_no_peer\n"
            } else {
                ""
            }
        )
    });
    let expected = if fault_no_peer { "FAULT" } else { "MASTER" };
    run.fifo_has(&format!("\"VI_1\" {expected}"));
    // Long past Master_Down_Interval (0.6 s + skew): a faulted instance has not moved on.
    std::thread::sleep(Duration::from_millis(1500));
    let vip = run.segment.router(1).has_address("192.0.2.99");
    assert_eq!(vip, !fault_no_peer, "{implementation:?}: the VIP");
    run.finish().0
}

#[test]
fn unicast_fault_no_peer_keeps_a_peerless_instance_in_fault_as_keepalived_does() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    for fault_no_peer in [true, false] {
        let ours = scenario(Implementation::Vrrpd, fault_no_peer);
        let theirs = scenario(Implementation::Keepalived, fault_no_peer);
        println!("unicast_fault_no_peer {fault_no_peer}: vrrpd {ours:?}, keepalived {theirs:?}");
        assert_eq!(ours, theirs, "unicast_fault_no_peer {fault_no_peer}");
    }
}

/// The TTLs (IPv6: hop limits) of the adverts one implementation sends to its unicast peer (the
/// client) with `unicast_ttl 64`, over IPv4 and over IPv6; and whether they were valid.
fn unicast_ttls(implementation: Implementation, ipv6: bool) -> (BTreeSet<u8>, bool) {
    let (source, peer, vip) = if ipv6 {
        ("2001:db8::11", "2001:db8::100", "2001:db8::99/64")
    } else {
        ("192.0.2.11", "192.0.2.100", "192.0.2.99/24")
    };
    let run = Run::start(implementation, "unicast-ttl", |_| {
        format!(
            "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  \
             advert_int 0.1\n  version 3\n  unicast_src_ip {source}\n  unicast_ttl 64\n  \
             unicast_peer {{\n    {peer}\n  }}\n  virtual_ipaddress {{\n    {vip}\n  }}\n}}\n"
        )
    });
    let capture = Capture::start(
        &run.segment.switch,
        BRIDGE,
        "ip proto 112 or ip6 proto 112",
        run.scratch.path(),
    )
    .expect("capture");
    std::thread::sleep(Duration::from_millis(1500));
    let frames = capture.finish().expect("capture");
    let adverts = wire::from(
        &wire::adverts(&frames),
        source.parse().expect("address"),
        51,
    );
    run.finish();
    assert!(
        adverts.len() >= 5,
        "{implementation:?}: {} adverts",
        adverts.len()
    );
    (
        adverts.iter().map(|a| a.ttl).collect(),
        adverts.iter().all(|a| a.checksum_ok),
    )
}

#[test]
fn unicast_ttl_sets_the_ttl_of_unicast_adverts_as_keepalived_does() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    for ipv6 in [false, true] {
        let ours = unicast_ttls(Implementation::Vrrpd, ipv6);
        let theirs = unicast_ttls(Implementation::Keepalived, ipv6);
        println!("unicast_ttl 64 (IPv6 {ipv6}): vrrpd {ours:?}, keepalived {theirs:?}");
        assert_eq!(ours, (BTreeSet::from([64]), true), "IPv6 {ipv6}");
        assert_eq!(ours, theirs, "IPv6 {ipv6}");
    }
}

/// VRRPv3 at 100 ms between routers 1 and 2 by unicast, with `extra` in the instance.
fn unicast_v3(me: u8, peer: u8, priority: u8, extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {priority}\n  \
         advert_int 0.1\n  version 3\n  unicast_src_ip 192.0.2.{me}\n  unicast_peer {{\n    \
         192.0.2.{peer}\n  }}\n{extra}  virtual_ipaddress {{\n    192.0.2.99/24\n  }}\n}}\n"
    )
}

const WAIT: Duration = Duration::from_secs(20);
/// Many times Master_Down_Interval (0.3 s and skew) at 100 ms adverts.
const HOLD: Duration = Duration::from_secs(2);

#[test]
fn keepalived_s_old_unicast_checksum_is_followed_sent_and_refused_as_configured() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("old-unicast-checksum").expect("scratch");
    let mut keepalived = Keepalived::start(
        segment.router(1),
        "ka-old",
        &unicast_v3(11, 12, 100, "  old_unicast_checksum\n"),
        &scratch,
    )
    .expect("keepalived");
    keepalived
        .process
        .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
        .expect("keepalived master");
    // Detected and followed, in both datapaths: the backup stays backup.
    for datapath in ["socket", "xdp"] {
        let mut backup = Vrrpd::start_until(
            segment.router(2),
            &format!("detect-{datapath}"),
            &unicast_v3(12, 11, 96, ""),
            &scratch,
            &["--datapath", datapath],
            "(VI_1) Entering BACKUP STATE",
        )
        .expect("vrrpd");
        backup
            .wait_for("uses keepalived's old VRRPv3 checksum; using it too", WAIT)
            .expect("detected");
        std::thread::sleep(HOLD);
        let log = backup.log();
        assert!(
            !log.contains("Entering MASTER STATE"),
            "{datapath}: the backup took keepalived's adverts:\n{log}"
        );
        // The advert that showed the old checksum is refused as a bad one; the instance
        // switches at once, and every later advert passes.
        assert!(
            backup.counter("bad_checksum") <= 2,
            "{datapath}: {} refused",
            backup.counter("bad_checksum")
        );
        assert!(backup.counter("adverts_valid") > 10, "{datapath}");
        backup
            .process
            .stop(libc::SIGTERM, Duration::from_secs(5))
            .expect("stop");
    }
    // Under `never` the old checksum is a bad checksum: the backup takes over beside it.
    let mut never = Vrrpd::start(
        segment.router(2),
        "never",
        &unicast_v3(12, 11, 96, "  old_unicast_checksum never\n"),
        &scratch,
        &[],
    )
    .expect("vrrpd");
    never
        .wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("never: no advert accepted");
    assert!(never.counter("bad_checksum") > 0);
    never
        .process
        .stop(libc::SIGTERM, Duration::from_secs(5))
        .expect("stop");
    keepalived
        .process
        .stop(libc::SIGTERM, Duration::from_secs(5))
        .expect("keepalived stops");
    // Configured, vrrpd sends it: keepalived (configured too) stays backup beside vrrpd, and on
    // the wire vrrpd's checksums are not RFC 5798's.
    let capture =
        Capture::start(&segment.switch, BRIDGE, "ip proto 112", scratch.path()).expect("capture");
    let _master = Vrrpd::start_until(
        segment.router(1),
        "sends-old",
        &unicast_v3(11, 12, 100, "  old_unicast_checksum\n"),
        &scratch,
        &[],
        "(VI_1) Entering MASTER STATE",
    )
    .expect("vrrpd master");
    let mut backup = Keepalived::start(
        segment.router(2),
        "ka-backup",
        &unicast_v3(12, 11, 96, "  old_unicast_checksum\n"),
        &scratch,
    )
    .expect("keepalived");
    backup
        .process
        .wait_for_log("(VI_1) Entering BACKUP STATE", WAIT)
        .expect("keepalived backup");
    std::thread::sleep(HOLD);
    assert!(
        !backup.log().contains("Entering MASTER STATE"),
        "keepalived takes vrrpd's old checksum:\n{}",
        backup.log()
    );
    let ours = wire::from(
        &wire::adverts(&capture.finish().expect("capture")),
        "192.0.2.11".parse().expect("address"),
        51,
    );
    assert!(ours.len() > 10, "vrrpd advertised: {}", ours.len());
    assert!(
        ours.iter().all(|advert| !advert.checksum_ok),
        "every advert of vrrpd's carries the old checksum, not RFC 5798's"
    );
}
