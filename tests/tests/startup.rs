//! Start-up never depends on the machine being ready: each test starts vrrpd in a state a
//! machine at boot is in, then makes the machine ready, and checks that the instance reaches
//! its state and sends adverts without a restart.

use std::time::Duration;

use vrrp_harness::capture::Capture;
use vrrp_harness::daemons::{Vrrpd, XDP_TAKEN_OVER};
use vrrp_harness::process::Scratch;
use vrrp_harness::topology::{BRIDGE, Segment};
use vrrp_harness::{wait_until, wire};

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
    give_a_tentative_link_local_address(router);
    let capture = Capture::start(&segment.switch, BRIDGE, "ip6", scratch.path()).expect("capture");
    let mut dr1 = Vrrpd::start(router, "dr1", IPV6_CONFIG, &scratch, &[]).expect("dr1");
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

/// One IPv6 instance on eth0, master alone.
const IPV6_CONFIG: &str = "global_defs {\n  vrrp_version 3\n}\nvrrp_instance VI_6 {\n  interface eth0\n  \
                           virtual_router_id 60\n  priority 100\n  advert_int 0.1\n  virtual_ipaddress {\n    \
                           2001:db8::99/64 dev eth0\n  }\n}\n";

/// eth0's only link-local address is fe80::11, new and tentative: duplicate address detection
/// on, with three probes, keeps it so for about three seconds.
fn give_a_tentative_link_local_address(router: &vrrp_harness::topology::Host) {
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
}

/// A reload while an instance waits for its tentative address starts it once. It used to be
/// admitted again by the reload, so that two copies started (two "(init)" lines): at 1000
/// instances, the reload the daemon makes itself when a late interface becomes usable did
/// this, and a copy that took over could stay master beside the real master until stopped.
#[test]
fn a_reload_while_an_instance_waits_for_its_address_starts_it_once() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("startup-tentative-reload").expect("scratch");
    let router = segment.router(1);
    give_a_tentative_link_local_address(router);
    let mut dr1 = Vrrpd::start(router, "dr1", IPV6_CONFIG, &scratch, &[]).expect("dr1");
    dr1.wait_for("is not usable yet", WAIT)
        .expect("waits for the address");
    // A SIGHUP this early waits for vrrpd's main loop (see the test below).
    dr1.process.signal(libc::SIGHUP);
    dr1.wait_for("Configuration reloaded", WAIT)
        .expect("the reload is done");
    assert!(
        !dr1.log().contains("usable now"),
        "the reload came while the address was still tentative (too slow a machine to test)"
    );
    dr1.wait_for("(VI_6) Entering MASTER STATE", WAIT)
        .expect("master, without a restart");
    // Anything a second copy would log has had time to come.
    std::thread::sleep(Duration::from_secs(1));
    let log = dr1.log();
    for line in [
        "is usable now; starting",
        "(VI_6) Entering BACKUP STATE (init)",
    ] {
        assert_eq!(
            log.matches(line).count(),
            1,
            "\"{line}\" once, one copy of the instance:\n{log}"
        );
    }
    let status = dr1.status_json().expect("status");
    let instances = status["instances"].as_array().map_or(0, Vec::len);
    assert_eq!(instances, 1, "one instance in the status: {status}");
}

/// A reload asked for while vrrpd starts, before its main loop answers signals, is done once it
/// runs. The daemon used to ignore SIGHUP until then, so such a reload was lost (and the
/// configuration the operator had just written was not loaded).
#[test]
fn a_reload_asked_for_during_start_up_is_done_once_the_daemon_runs() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("startup-early-reload").expect("scratch");
    let config = vrrp_harness::daemons::seed_config("dr1-keepalived.conf", &scratch).expect("dr1");
    let mut dr1 = Vrrpd::start(segment.router(1), "dr1", &config, &scratch, &[]).expect("dr1");
    let pid = dr1.process.pid();
    // The moment between the daemon's first step (SIGHUP no longer has its default action,
    // which stops the process) and its handler: caught by watching the signal masks, then
    // frozen so that it cannot pass while the signal is sent.
    // Watched closely (the harness's wait_until looks every 20 ms): the moment may be short.
    let started = std::time::Instant::now();
    loop {
        let hup = SignalMasks::of(pid);
        if hup.blocked || hup.ignored || hup.caught {
            break;
        }
        assert!(started.elapsed() < WAIT, "vrrpd did not start");
        std::thread::sleep(Duration::from_micros(100));
    }
    dr1.process.signal(libc::SIGSTOP);
    let frozen = SignalMasks::of(pid);
    let early = !frozen.caught;
    if early {
        dr1.process.signal(libc::SIGHUP);
    }
    dr1.process.signal(libc::SIGCONT);
    assert!(
        early,
        "vrrpd handled SIGHUP before the test could freeze it (too slow a machine to test)"
    );
    dr1.wait_for("Configuration reloaded", WAIT)
        .expect("the reload asked for during start-up is done");
    assert!(dr1.process.is_running(), "still running");
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("the instance runs");
}

/// How a process's main thread treats SIGHUP, from /proc/PID/status.
struct SignalMasks {
    blocked: bool,
    ignored: bool,
    caught: bool,
}

impl SignalMasks {
    fn of(pid: i32) -> SignalMasks {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        // Each mask is hexadecimal, bit n - 1 for signal n.
        let has_hup = |field: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
                .is_some_and(|mask| mask & (1 << (libc::SIGHUP - 1)) != 0)
        };
        SignalMasks {
            blocked: has_hup("SigBlk:"),
            ignored: has_hup("SigIgn:"),
            caught: has_hup("SigCgt:"),
        }
    }
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

/// An IPv4 instance whose interface has no IPv4 address yet waits for one (keepalived: FAULT
/// until it has one) and starts when it is added; vrrpd used to exit ("has no IPv4 address to
/// send adverts from").
#[test]
fn an_ipv4_instance_waits_for_its_interface_to_get_an_address() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("startup-no-ipv4").expect("scratch");
    let router = segment.router(1);
    router
        .ns
        .run_ok(["ip", "-4", "addr", "flush", "dev", "eth0"])
        .expect("flush");
    let capture =
        Capture::start(&segment.switch, BRIDGE, "ip proto 112", scratch.path()).expect("capture");
    let config = vrrp_harness::daemons::seed_config("dr1-keepalived.conf", &scratch).expect("dr1");
    let mut dr1 = Vrrpd::start(router, "dr1", &config, &scratch, &[]).expect("dr1");
    dr1.wait_for(
        "has no IPv4 address to send adverts from; (VI_1) waits for it",
        WAIT,
    )
    .expect("waits for an address");
    std::thread::sleep(Duration::from_secs(1));
    assert!(dr1.process.is_running(), "still running: {}", dr1.log());
    assert_eq!(
        dr1.log().matches("waits for it").count(),
        1,
        "logged once: {}",
        dr1.log()
    );
    router
        .ns
        .run_ok(["ip", "addr", "add", "192.0.2.11/24", "dev", "eth0"])
        .expect("address");
    dr1.wait_for("(VI_1) its interface is usable now; starting", WAIT)
        .expect("starts");
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("master, without a restart");
    std::thread::sleep(Duration::from_millis(1500));
    let adverts = wire::adverts(&capture.finish().expect("capture"));
    assert!(
        adverts
            .iter()
            .any(|a| a.vrid == 51 && a.source.to_string() == "192.0.2.11" && a.checksum_ok),
        "adverts from 192.0.2.11: {adverts:?}"
    );
}

/// Two instances, VI_1 on eth0 (present) and VI_2 on eth1 (not yet there).
fn two_interface_config(dynamic: bool) -> String {
    let global = if dynamic {
        "global_defs {\n  dynamic_interfaces\n}\n"
    } else {
        ""
    };
    format!(
        "{global}vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  \
         advert_int 0.1\n  virtual_ipaddress {{\n    192.0.2.99/24 dev eth0\n  }}\n}}\n\
         vrrp_instance VI_2 {{\n  interface eth1\n  virtual_router_id 52\n  priority 100\n  \
         advert_int 0.1\n  virtual_ipaddress {{\n    198.51.100.99/24 dev eth1\n  }}\n}}\n"
    )
}

/// Under keepalived's `dynamic_interfaces`, an instance whose interface is missing at start
/// waits for it, starts when it appears, goes to FAULT when it is deleted and comes back when
/// it is re-created; the instance on the interface that exists runs all along.
#[test]
fn with_dynamic_interfaces_an_instance_waits_for_its_interface() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("startup-dynamic").expect("scratch");
    let router = segment.router(1);
    let mut dr1 =
        Vrrpd::start(router, "dr1", &two_interface_config(true), &scratch, &[]).expect("dr1");
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("VI_1 runs while VI_2 waits");
    dr1.wait_for("no interface named eth1; (VI_2) waits for it", WAIT)
        .expect("VI_2 waits for eth1");
    router.add_eth1().expect("eth1");
    let capture =
        Capture::start(&router.ns, "eth1p", "ip proto 112", scratch.path()).expect("capture");
    // Whichever sees eth1 first starts VI_2: the retry of waiting instances ("its interface is
    // usable now") or the link watch's re-plan of a created interface ("added by the reload").
    wait_until("VI_2 starts", WAIT, || {
        let log = dr1.log();
        log.contains("(VI_2) its interface is usable now; starting")
            || log.contains("(VI_2) added by the reload")
    });
    dr1.wait_for("(VI_2) Entering MASTER STATE", WAIT)
        .expect("VI_2 master, without a restart");
    std::thread::sleep(Duration::from_millis(500));
    let adverts = wire::adverts(&capture.finish().expect("capture"));
    assert!(
        adverts
            .iter()
            .any(|a| a.vrid == 52 && a.source.to_string() == "198.51.100.1" && a.checksum_ok),
        "VI_2's adverts on eth1: {adverts:?}"
    );
    router
        .ns
        .run_ok(["ip", "link", "del", "eth1"])
        .expect("delete eth1");
    dr1.wait_for("(VI_2) Entering FAULT STATE", WAIT)
        .expect("FAULT when eth1 is deleted");
    router.add_eth1().expect("eth1");
    vrrp_harness::wait_until("VI_2 master again", WAIT, || {
        dr1.log().matches("(VI_2) Entering MASTER STATE").count() >= 2
    });
    assert_eq!(
        dr1.log().matches("(VI_1) Entering MASTER STATE").count(),
        1,
        "VI_1 undisturbed: {}",
        dr1.log()
    );
}

/// Without `dynamic_interfaces`, keepalived drops an instance whose interface does not exist
/// ("WARNING - interface eth1 for vrrp_instance VI_2 doesn't exist", "(VI_2) Unknown
/// interface!") and runs the others; vrrpd used to exit.
#[test]
fn without_dynamic_interfaces_an_instance_on_a_missing_interface_is_dropped_as_keepalived_does() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("startup-missing").expect("scratch");
    let router = segment.router(1);
    let mut dr1 =
        Vrrpd::start(router, "dr1", &two_interface_config(false), &scratch, &[]).expect("dr1");
    dr1.wait_for(
        "WARNING - interface eth1 for vrrp_instance VI_2 doesn't exist",
        WAIT,
    )
    .expect("keepalived's warning");
    dr1.wait_for("(VI_2) Unknown interface!", WAIT)
        .expect("keepalived's error");
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("VI_1 runs");
    assert!(dr1.process.is_running(), "still running");
    let status = dr1.status_json().expect("status");
    let names: Vec<&str> = status["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert_eq!(names, ["VI_1"], "only VI_1 runs");
}

/// The protocol does not wait for the XDP verifier (150-200 ms here, against 5 ms to start on
/// the sockets): a backup joining a master at 10 ms adverts is BACKUP before its XDP program is
/// loaded, and when the program takes the instance over from the sockets nothing moves: the
/// backup stays backup (a second of 10 ms adverts reaches it through XDP alone: the sockets
/// no longer receive), the master stays master, and the program is attached.
#[test]
fn the_protocol_starts_on_the_sockets_and_xdp_takes_over_without_a_transition() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("startup-xdp-behind").expect("scratch");
    let config = |priority: u8| {
        format!(
            "global_defs {{\n  vrrp_version 3\n}}\nvrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {priority}\n  advert_int 0.01\n  virtual_ipaddress {{\n    192.0.2.99/24\n  }}\n}}\n"
        )
    };
    let mut master =
        Vrrpd::start(segment.router(1), "master", &config(100), &scratch, &[]).expect("master");
    master
        .wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("master");
    master.wait_for_xdp().expect("XDP on the master");
    let mut backup =
        Vrrpd::start(segment.router(2), "backup", &config(96), &scratch, &[]).expect("backup");
    backup
        .wait_for("(VI_1) Entering BACKUP STATE", WAIT)
        .expect("backup");
    backup.wait_for_xdp().expect("XDP on the backup");
    let log = backup.log();
    let position = |needle: &str| log.find(needle).unwrap_or(usize::MAX);
    assert!(
        position("(VI_1) Entering BACKUP STATE") < position(XDP_TAKEN_OVER),
        "BACKUP on the sockets first:\n{log}"
    );
    std::thread::sleep(Duration::from_secs(1));
    vrrp_harness::daemons::master_held_throughout(&master.log(), &backup.log());
    assert_eq!(backup.state_of("VI_1").expect("state"), "BACKUP");
    assert_eq!(backup.status_json().expect("status")["datapath"], "xdp");
    let link = segment
        .router(2)
        .ns
        .run_ok(["ip", "link", "show", "dev", "eth0"])
        .expect("ip link");
    assert!(link.contains("xdp"), "{link}");
}
