//! Start-up never depends on the machine being ready: each test starts vrrpd in a state a
//! machine at boot is in, then makes the machine ready, and checks that the instance reaches
//! its state and sends adverts without a restart.

use std::time::Duration;

use vrrp_harness::capture::Capture;
use vrrp_harness::daemons::Vrrpd;
use vrrp_harness::process::Scratch;
use vrrp_harness::topology::{BRIDGE, Segment};
use vrrp_harness::wire;

const WAIT: Duration = Duration::from_secs(20);

/// Right after the link comes up, an IPv6 link-local address is tentative while duplicate
/// address detection runs, and binding to it fails (EADDRNOTAVAIL). keepalived copes; vrrpd
/// used to log "starting the protocol thread: Cannot assign requested address" and exit.
#[test]
fn an_ipv6_instance_waits_for_its_tentative_link_local_address() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("startup-tentative").expect("scratch");
    let router = segment.router(1);
    // Duplicate address detection on, with three probes: a new address stays tentative for
    // about three seconds.
    router
        .ns
        .sysctl("net.ipv6.conf.eth0.accept_dad=1")
        .expect("sysctl");
    router
        .ns
        .sysctl("net.ipv6.conf.eth0.dad_transmits=3")
        .expect("sysctl");
    router
        .ns
        .run_ok(["ip", "-6", "addr", "flush", "dev", "eth0", "scope", "link"])
        .expect("flush");
    router
        .ns
        .run_ok(["ip", "-6", "addr", "add", "fe80::11/64", "dev", "eth0"])
        .expect("add");
    let shown = router
        .ns
        .run_ok(["ip", "-6", "addr", "show", "dev", "eth0"])
        .expect("show");
    assert!(
        shown.contains("tentative"),
        "the address is tentative: {shown}"
    );
    let capture = Capture::start(&segment.switch, BRIDGE, "ip6", scratch.path()).expect("capture");
    let config = "global_defs {\n  vrrp_version 3\n}\nvrrp_instance VI_6 {\n  interface eth0\n  \
                  virtual_router_id 60\n  priority 100\n  advert_int 0.1\n  virtual_ipaddress {\n    \
                  2001:db8::99/64 dev eth0\n  }\n}\n";
    let mut dr1 = Vrrpd::start(router, "dr1", config, &scratch, &[]).expect("dr1");
    dr1.wait_for("is not usable yet", WAIT)
        .expect("waits for the address");
    dr1.wait_for("is usable now; starting", WAIT)
        .expect("binds once it is usable");
    dr1.wait_for("(VI_6) Entering MASTER STATE", WAIT)
        .expect("master, without a restart");
    assert!(dr1.process.is_running(), "still running");
    std::thread::sleep(Duration::from_millis(500));
    let adverts = wire::adverts(&capture.finish().expect("capture"));
    assert!(
        adverts
            .iter()
            .any(|a| a.vrid == 60 && a.source.to_string() == "fe80::11" && a.checksum_ok),
        "adverts from fe80::11: {adverts:?}"
    );
}

/// Link down at start: FAULT until the link comes up, then the configured state (keepalived's
/// behaviour), with adverts once it is master.
#[test]
fn an_instance_started_with_its_link_down_is_in_fault_until_it_comes_up() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("startup-link-down").expect("scratch");
    let router = segment.router(1);
    router
        .ns
        .run_ok(["ip", "link", "set", "eth0", "down"])
        .expect("down");
    let capture =
        Capture::start(&segment.switch, BRIDGE, "ip proto 112", scratch.path()).expect("capture");
    let config = vrrp_harness::daemons::seed_config("dr1-keepalived.conf", &scratch).expect("dr1");
    let mut dr1 = Vrrpd::start(router, "dr1", &config, &scratch, &[]).expect("dr1");
    dr1.wait_for("(VI_1) Entering FAULT STATE", WAIT)
        .expect("FAULT while the link is down");
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !dr1.log().contains("Entering MASTER STATE"),
        "no MASTER with the link down: {}",
        dr1.log()
    );
    router
        .ns
        .run_ok(["ip", "link", "set", "eth0", "up"])
        .expect("up");
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("master once the link is up, without a restart");
    std::thread::sleep(Duration::from_millis(1500));
    let adverts = wire::adverts(&capture.finish().expect("capture"));
    assert!(
        adverts
            .iter()
            .any(|a| a.vrid == 51 && a.priority == 100 && a.checksum_ok),
        "DR1's adverts on the wire: {adverts:?}"
    );
}
