//! keepalived's `auth_type AH` (IPsec Authentication Header with HMAC-MD5-96 before VRRPv2
//! adverts, as RFC 2338 had it) against keepalived 2.2.7, in both roles: each accepts the
//! other's adverts (no takeover beside a live master, priority 0 on stop honoured, preemption
//! after a restart, which also exercises keepalived's sequence numbers), vrrpd in XDP and in
//! socket mode; and with another key each refuses the other's adverts and says why.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::Duration;

use vrrp_harness::capture::Capture;
use vrrp_harness::daemons::{Keepalived, Vrrpd};
use vrrp_harness::process::Scratch;
use vrrp_harness::topology::{BRIDGE, Segment};
use vrrp_harness::wait_until;
use vrrp_harness::wire;

const WAIT: Duration = Duration::from_secs(15);
/// Longer than Master_Down_Interval at 1 s adverts (3.6 s): a backup that refused the master's
/// adverts would have taken over.
const HOLD: Duration = Duration::from_secs(5);
const VIP: &str = "192.0.2.99";

fn config(priority: u8, password: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {priority}\n  advert_int 1\n  authentication {{\n    auth_type AH\n    auth_pass {password}\n  }}\n  virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n"
    )
}

fn router_ip(i: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + i))
}

#[test]
fn a_vrrpd_backup_accepts_a_keepalived_masters_ah_adverts_and_takes_over_on_its_stop() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("ah-ka-master").expect("scratch");
    let mut keepalived = Keepalived::start(
        segment.router(1),
        "ka-dr1",
        &config(100, "ahsecret"),
        &scratch,
    )
    .expect("keepalived");
    keepalived
        .process
        .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
        .expect("keepalived master");
    for datapath in ["socket", "xdp"] {
        let mut vrrpd = Vrrpd::start_until(
            segment.router(2),
            &format!("dr2-{datapath}"),
            &config(96, "ahsecret"),
            &scratch,
            &["--datapath", datapath],
            "(VI_1) Entering BACKUP STATE",
        )
        .expect("vrrpd backup");
        std::thread::sleep(HOLD);
        let log = vrrpd.log();
        assert!(
            !log.contains("Entering MASTER STATE") && !log.contains("IPSEC"),
            "{datapath}: vrrpd takes keepalived's AH adverts:\n{log}"
        );
        assert!(
            vrrpd.counter("adverts_valid") >= 3,
            "{datapath}: keepalived's adverts counted valid"
        );
        assert_eq!(vrrpd.counter("auth_failure"), 0, "{datapath}");
        if datapath == "socket" {
            vrrpd
                .process
                .stop(libc::SIGTERM, Duration::from_secs(5))
                .expect("vrrpd stops");
            continue;
        }
        // keepalived stops: its priority 0 advert, sealed, makes vrrpd take over at once.
        keepalived
            .process
            .stop(libc::SIGTERM, Duration::from_secs(5))
            .expect("keepalived stops");
        vrrpd
            .wait_for("(VI_1) Entering MASTER STATE (master resigned", WAIT)
            .expect("vrrpd takes over on priority 0");
        wait_until("the VIP on vrrpd", WAIT, || {
            segment.router(2).has_address(VIP)
        });
        // keepalived returns, takes up vrrpd's sequence numbers and preempts with the next.
        let mut again = Keepalived::start(
            segment.router(1),
            "ka-dr1-again",
            &config(100, "ahsecret"),
            &scratch,
        )
        .expect("keepalived");
        again
            .process
            .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
            .expect("keepalived preempts");
        vrrpd
            .wait_for("(VI_1) Entering BACKUP STATE (higher priority 100", WAIT)
            .expect("vrrpd steps down");
        wait_until("the VIP back on keepalived's router", WAIT, || {
            !segment.router(2).has_address(VIP) && segment.router(1).has_address(VIP)
        });
        assert!(
            again.complaints().is_empty(),
            "keepalived complained: {:?}",
            again.complaints()
        );
    }
}

#[test]
fn a_keepalived_backup_accepts_a_vrrpd_masters_ah_adverts_and_tshark_decodes_them() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("ah-vrrpd-master").expect("scratch");
    let capture = Capture::start(&segment.switch, BRIDGE, "", scratch.path()).expect("capture");
    let mut vrrpd = Vrrpd::start_until(
        segment.router(1),
        "dr1",
        &config(100, "ahsecret"),
        &scratch,
        &[],
        "(VI_1) Entering MASTER STATE",
    )
    .expect("vrrpd master");
    let mut keepalived = Keepalived::start(
        segment.router(2),
        "ka-dr2",
        &config(96, "ahsecret"),
        &scratch,
    )
    .expect("keepalived");
    keepalived
        .process
        .wait_for_log("(VI_1) Entering BACKUP STATE", WAIT)
        .expect("keepalived backup");
    std::thread::sleep(HOLD);
    assert!(
        !keepalived.log().contains("Entering MASTER STATE"),
        "keepalived takes vrrpd's AH adverts:\n{}",
        keepalived.log()
    );
    vrrpd
        .process
        .stop(libc::SIGTERM, Duration::from_secs(5))
        .expect("vrrpd stops");
    let waited = keepalived
        .process
        .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
        .expect("keepalived takes over");
    // On the sealed priority 0 advert after Skew_Time (0.625 s), not at Master_Down_Interval
    // (3.625 s) as it would if it had refused it.
    assert!(
        waited < Duration::from_secs(3),
        "keepalived took over {waited:?} after vrrpd's stop"
    );
    assert!(
        keepalived.complaints().is_empty(),
        "keepalived complained: {:?}",
        keepalived.complaints()
    );
    let path = capture.path().to_path_buf();
    let frames = capture.finish().expect("capture");
    let ours = wire::from(&wire::adverts(&frames), router_ip(1), 51);
    assert!(ours.len() >= 5, "vrrpd advertised: {}", ours.len());
    assert!(
        ours.iter()
            .all(|advert| advert.behind_ah && advert.checksum_ok),
        "every advert of vrrpd's behind an Authentication Header, VRRP checksum right"
    );
    assert_eq!(ours.last().map(|advert| advert.priority), Some(0));
    // tshark decodes the Authentication Header and the VRRP message behind it, and flags
    // nothing in them.
    let decoded = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&path)
        .args([
            "-Y",
            "ah && vrrp && ip.src == 192.0.2.11 && !_ws.malformed && !_ws.expert",
        ])
        .output()
        .expect("tshark runs");
    let lines = String::from_utf8_lossy(&decoded.stdout).lines().count();
    assert_eq!(
        lines,
        ours.len(),
        "tshark decoded every AH advert of vrrpd's cleanly"
    );
}

#[test]
fn with_another_key_each_refuses_the_others_adverts_and_says_why() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("ah-wrong-key").expect("scratch");
    let mut keepalived = Keepalived::start(
        segment.router(1),
        "ka-dr1",
        &config(100, "ahsecret"),
        &scratch,
    )
    .expect("keepalived");
    keepalived
        .process
        .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
        .expect("keepalived master");
    let mut vrrpd = Vrrpd::start(
        segment.router(2),
        "dr2",
        &config(96, "another"),
        &scratch,
        &[],
    )
    .expect("vrrpd");
    vrrpd
        .wait_for("(VI_1) IPSEC-AH : invalid IPSEC HMAC-MD5 value", WAIT)
        .expect("vrrpd refuses keepalived's adverts");
    vrrpd
        .wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("and takes over beside it, as keepalived would");
    keepalived
        .process
        .wait_for_log("IPSEC HMAC-MD5", WAIT)
        .expect("keepalived refuses vrrpd's adverts");
    let stats = vrrp_user::control::client::request(&vrrpd.control, "stats").expect("stats");
    assert!(vrrpd.counter("auth_failure") >= 1, "{stats}");
    assert_eq!(vrrpd.counter("adverts_valid"), 0, "{stats}");
}
