//! Interoperation with keepalived 2.2.7 in the same VRID, both roles, v2 with PASS auth (the
//! seed's configurations) and v3 with 10 ms adverts: elections, failover and preemption behave
//! as between two keepalived; keepalived logs no complaint about vrrpd's packets; tshark
//! decodes every advert and gratuitous ARP vrrpd sends with no malformed or expert warning.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use vrrp_harness::capture::Capture;
use vrrp_harness::daemons::{Keepalived, Vrrpd, seed_config};
use vrrp_harness::process::Scratch;
use vrrp_harness::topology::{BRIDGE, Segment};
use vrrp_harness::wait_until;
use vrrp_harness::wire;

const WAIT: Duration = Duration::from_secs(15);
const VIP: &str = "192.0.2.99";

fn router_ip(i: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + i))
}

/// tshark's verdict on the frames of a capture sent by `mac`: how many it decoded as VRRP or
/// ARP, and every frame it flags as malformed or with an expert warning.
fn tshark_judgement(pcap: &Path, mac: [u8; 6]) -> (usize, Vec<String>) {
    let mac = mac
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    let run = |filter: String| -> Vec<String> {
        let output = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(pcap)
            .args(["-Y", &filter])
            .output()
            .expect("tshark runs");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    };
    let decoded = run(format!("eth.src == {mac} && (vrrp || arp)")).len();
    // A VIP seen from two MACs is tshark noticing the failover itself (an analysis across
    // frames), not a fault in a frame.
    let flagged = run(format!(
        "eth.src == {mac} && (_ws.malformed || (_ws.expert.severity >= warning && !arp.duplicate-address-detected))"
    ));
    (decoded, flagged)
}

fn v3_config(priority: u8, state: &str) -> String {
    format!(
        "global_defs {{\n  vrrp_version 3\n}}\nvrrp_instance VI_3 {{\n  state {state}\n  interface eth0\n  virtual_router_id 53\n  priority {priority}\n  advert_int 0.01\n  virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n"
    )
}

#[test]
fn v2_pass_keepalived_master_and_vrrpd_backup() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("interop-v2-ka-master").expect("scratch");
    let dr1_config = seed_config("dr1-keepalived.conf", &scratch).expect("dr1");
    let dr2_config = seed_config("dr2-keepalived.conf", &scratch).expect("dr2");
    let capture = Capture::start(&segment.switch, BRIDGE, "", scratch.path()).expect("capture");
    let mut keepalived =
        Keepalived::start(segment.router(1), "ka-dr1", &dr1_config, &scratch).expect("keepalived");
    keepalived
        .process
        .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
        .expect("keepalived master");
    let mut vrrpd =
        Vrrpd::start(segment.router(2), "dr2", &dr2_config, &scratch, &[]).expect("vrrpd");
    vrrpd
        .wait_for("(VI_1) Entering BACKUP STATE", WAIT)
        .expect("vrrpd backup");
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        vrrpd.state_of("VI_1").expect("status"),
        "BACKUP",
        "no takeover while keepalived advertises"
    );
    assert!(segment.router(1).has_address(VIP) && !segment.router(2).has_address(VIP));
    // keepalived stops: priority 0, vrrpd takes over after Skew_Time.
    keepalived
        .process
        .stop(libc::SIGTERM, Duration::from_secs(5))
        .expect("keepalived stops");
    vrrpd
        .wait_for("(VI_1) Entering MASTER STATE (master resigned", WAIT)
        .expect("vrrpd takes over");
    wait_until("the VIP on vrrpd", WAIT, || {
        segment.router(2).has_address(VIP)
    });
    // keepalived returns and preempts.
    let mut keepalived =
        Keepalived::start(segment.router(1), "ka-dr1-again", &dr1_config, &scratch)
            .expect("keepalived");
    keepalived
        .process
        .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
        .expect("keepalived preempts");
    vrrpd
        .wait_for("(VI_1) Entering BACKUP STATE (higher priority 100", WAIT)
        .expect("vrrpd steps down");
    wait_until("the VIP back on keepalived's router", WAIT, || {
        !segment.router(2).has_address(VIP)
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        keepalived.complaints().is_empty(),
        "keepalived complained: {:?}",
        keepalived.complaints()
    );
    let path = capture.path().to_path_buf();
    let frames = capture.finish().expect("capture");
    let vrrpd_adverts = wire::from(&wire::adverts(&frames), router_ip(2), 51);
    assert!(!vrrpd_adverts.is_empty(), "vrrpd advertised while master");
    let (decoded, flagged) = tshark_judgement(&path, segment.router(2).mac().expect("mac"));
    assert!(
        decoded >= vrrpd_adverts.len(),
        "tshark decoded {decoded} frames"
    );
    assert!(
        flagged.is_empty(),
        "tshark flags vrrpd's frames: {flagged:#?}"
    );
}

#[test]
fn v2_pass_vrrpd_master_and_keepalived_backup() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("interop-v2-vrrpd-master").expect("scratch");
    let dr1_config = seed_config("dr1-keepalived.conf", &scratch).expect("dr1");
    let dr2_config = seed_config("dr2-keepalived.conf", &scratch).expect("dr2");
    let capture = Capture::start(&segment.switch, BRIDGE, "", scratch.path()).expect("capture");
    let mut vrrpd =
        Vrrpd::start(segment.router(1), "dr1", &dr1_config, &scratch, &[]).expect("vrrpd");
    vrrpd
        .wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("vrrpd master");
    let mut keepalived =
        Keepalived::start(segment.router(2), "ka-dr2", &dr2_config, &scratch).expect("keepalived");
    keepalived
        .process
        .wait_for_log("(VI_1) Entering BACKUP STATE", WAIT)
        .expect("keepalived backup");
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        !keepalived.log().contains("Entering MASTER STATE"),
        "keepalived accepts vrrpd as master:\n{}",
        keepalived.log()
    );
    // vrrpd stops: keepalived takes over; vrrpd returns and preempts.
    vrrpd
        .process
        .stop(libc::SIGTERM, Duration::from_secs(2))
        .expect("vrrpd stops");
    keepalived
        .process
        .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
        .expect("keepalived takes over");
    let mut vrrpd =
        Vrrpd::start(segment.router(1), "dr1-again", &dr1_config, &scratch, &[]).expect("vrrpd");
    vrrpd
        .wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("vrrpd preempts");
    wait_until("keepalived stepping down", WAIT, || {
        keepalived.log().matches("Entering BACKUP STATE").count() >= 2
    });
    wait_until("the VIP on vrrpd only", WAIT, || {
        segment.router(1).has_address(VIP) && !segment.router(2).has_address(VIP)
    });
    assert!(
        keepalived.complaints().is_empty(),
        "keepalived complained: {:?}",
        keepalived.complaints()
    );
    let path = capture.path().to_path_buf();
    let frames = capture.finish().expect("capture");
    let mac = segment.router(1).mac().expect("mac");
    assert!(
        wire::garps(&frames).iter().any(|g| g.source_mac == mac),
        "vrrpd sent gratuitous ARPs"
    );
    let (decoded, flagged) = tshark_judgement(&path, mac);
    assert!(decoded > 5, "tshark decoded {decoded} frames");
    assert!(
        flagged.is_empty(),
        "tshark flags vrrpd's frames: {flagged:#?}"
    );
}

/// v3 at 10 ms in both roles: no false takeover while the other side advertises, and a crash
/// (link cut) failover near Master_Down_Interval (36.25 ms for priority 96).
#[test]
fn v3_10ms_interop_in_both_roles() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    for vrrpd_is_master in [false, true] {
        let segment = Segment::new(2).expect("segment");
        let scratch = Scratch::new("interop-v3").expect("scratch");
        let capture = Capture::start(&segment.switch, BRIDGE, "", scratch.path()).expect("capture");
        let master_config = v3_config(100, "MASTER");
        let backup_config = v3_config(96, "BACKUP");
        let (mut vrrpd, mut keepalived) = if vrrpd_is_master {
            let mut v = Vrrpd::start(segment.router(1), "v3-vrrpd", &master_config, &scratch, &[])
                .expect("vrrpd");
            v.wait_for("(VI_3) Entering MASTER STATE", WAIT)
                .expect("master");
            let mut k = Keepalived::start(segment.router(2), "v3-ka", &backup_config, &scratch)
                .expect("keepalived");
            k.process
                .wait_for_log("(VI_3) Entering BACKUP STATE", WAIT)
                .expect("backup");
            (v, k)
        } else {
            let mut k = Keepalived::start(segment.router(1), "v3-ka", &master_config, &scratch)
                .expect("keepalived");
            k.process
                .wait_for_log("(VI_3) Entering MASTER STATE", WAIT)
                .expect("master");
            let mut v = Vrrpd::start(segment.router(2), "v3-vrrpd", &backup_config, &scratch, &[])
                .expect("vrrpd");
            v.wait_for("(VI_3) Entering BACKUP STATE", WAIT)
                .expect("backup");
            (v, k)
        };
        std::thread::sleep(Duration::from_secs(3));
        let backup_log = if vrrpd_is_master {
            keepalived.log()
        } else {
            vrrpd.log()
        };
        assert!(
            !backup_log.contains("Entering MASTER STATE"),
            "no false takeover at 10 ms:\n{backup_log}"
        );
        segment.cut(segment.router(1)).expect("cut the master");
        if vrrpd_is_master {
            keepalived
                .process
                .wait_for_log("(VI_3) Entering MASTER STATE", WAIT)
                .expect("keepalived takes over");
        } else {
            vrrpd
                .wait_for("(VI_3) Entering MASTER STATE", WAIT)
                .expect("vrrpd takes over");
        }
        std::thread::sleep(Duration::from_millis(300));
        let adverts = wire::adverts(&capture.finish().expect("capture"));
        let last = wire::from(&adverts, router_ip(1), 53)
            .last()
            .cloned()
            .expect("master advertised");
        let first = wire::from(&adverts, router_ip(2), 53)
            .into_iter()
            .find(|a| a.time_ns > last.time_ns)
            .expect("backup advertised");
        let takeover = wire::seconds(last.time_ns, first.time_ns);
        let who = if vrrpd_is_master {
            "keepalived"
        } else {
            "vrrpd"
        };
        println!(
            "v3 10 ms crash failover, {who} as backup: {:.2} ms (Master_Down_Interval 36.25 ms)",
            takeover * 1e3
        );
        assert!(
            (0.036..=0.036 + 0.05).contains(&takeover),
            "{who}: {takeover}"
        );
        assert!(
            keepalived.complaints().is_empty(),
            "keepalived complained: {:?}",
            keepalived.complaints()
        );
        vrrpd
            .process
            .stop(libc::SIGTERM, Duration::from_secs(2))
            .expect("stop");
        drop(keepalived);
    }
}
