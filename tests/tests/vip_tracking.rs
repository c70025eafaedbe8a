//! keepalived tracks a master's virtual addresses, side by side with keepalived 2.2.7: an
//! address removed from the interface by someone else (`ip addr del`) makes the master step
//! down (priority 0, addresses released) and the election that follows reinstalls every VIP;
//! an address marked `no_track` may be removed without a transition, and comes back only at the
//! next transition to master. Virtual routes and rules are tracked the same way.

use std::time::Duration;

use vrrp_harness::side_by_side::{Implementation, Run};
use vrrp_harness::wait_until;

const WAIT: Duration = Duration::from_secs(20);

/// The FIFO lines (BACKUP and STOP left out by the harness) and which VIPs were on the
/// interface after the no_track removal and at the end.
fn scenario(implementation: Implementation) -> (Vec<String>, (bool, bool), (bool, bool)) {
    let run = Run::start(implementation, "vip-tracking", |folder| {
        format!(
            "global_defs {{\n  vrrp_version 3\n  vrrp_notify_fifo {folder}/notify.fifo\n  \
             vrrp_notify_fifo_script {folder}/fifo-reader.sh\n  vrrp_garp_master_delay 0\n}}\n\
             vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  \
             advert_int 0.1\n  virtual_ipaddress {{\n    192.0.2.99/24\n    \
             192.0.2.98/24 no_track\n  }}\n}}\n"
        )
    });
    let router = run.segment.router(1);
    run.fifo_has("\"VI_1\" MASTER 100");
    let remove = |address: &str| {
        router
            .ns
            .run_ok(["ip", "addr", "del", address, "dev", "eth0"])
            .expect("ip addr del");
    };
    let vips = || {
        (
            router.has_address("192.0.2.99"),
            router.has_address("192.0.2.98"),
        )
    };
    remove("192.0.2.98/24");
    // Long past Master_Down_Interval (0.3 s and skew): nothing moved.
    std::thread::sleep(Duration::from_millis(1000));
    let after_no_track = vips();
    remove("192.0.2.99/24");
    wait_until("a second MASTER line", WAIT, || {
        run.read("fifo.log").matches("\"VI_1\" MASTER").count() >= 2
    });
    std::thread::sleep(Duration::from_millis(500));
    let at_end = vips();
    (run.finish().0, after_no_track, at_end)
}

#[test]
fn a_removed_vip_steps_the_master_down_and_no_track_ones_do_not_as_keepalived_does() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let ours = scenario(Implementation::Vrrpd);
    let theirs = scenario(Implementation::Keepalived);
    println!("vrrpd {ours:?}\nkeepalived {theirs:?}");
    assert_eq!(ours.1, (true, false), "no_track: removed, nothing moved");
    assert_eq!(ours.2, (true, true), "both VIPs back after the re-election");
    assert_eq!(ours, theirs);
}

/// The FIFO lines, and which routes and rules (tracked, no_track) were there after the
/// no_track removals and at the end.
fn routes_and_rules(implementation: Implementation) -> (Vec<String>, [bool; 4], [bool; 4]) {
    let run = Run::start(implementation, "route-tracking", |folder| {
        format!(
            "global_defs {{\n  vrrp_version 3\n  vrrp_notify_fifo {folder}/notify.fifo\n  \
             vrrp_notify_fifo_script {folder}/fifo-reader.sh\n  vrrp_garp_master_delay 0\n}}\n\
             vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  \
             advert_int 0.1\n  virtual_ipaddress {{\n    192.0.2.99/24\n  }}\n  \
             virtual_routes {{\n    198.51.100.0/24 dev eth0 table 100\n    \
             203.0.113.0/24 dev eth0 table 100 no_track\n  }}\n  \
             virtual_rules {{\n    from 192.0.2.200/32 table 100 priority 1200\n    \
             from 192.0.2.201/32 table 100 priority 1201 no_track\n  }}\n}}\n"
        )
    });
    let router = run.segment.router(1);
    run.fifo_has("\"VI_1\" MASTER 100");
    let ip = |argv: &[&str]| {
        router
            .ns
            .run_ok(std::iter::once("ip").chain(argv.iter().copied()))
            .unwrap_or_default()
    };
    let present = || {
        let routes = ip(&["route", "show", "table", "100"]);
        let rules = ip(&["rule", "show"]);
        [
            routes.contains("198.51.100.0/24"),
            routes.contains("203.0.113.0/24"),
            rules.contains("192.0.2.200"),
            rules.contains("192.0.2.201"),
        ]
    };
    wait_until("the routes and rules installed", WAIT, || {
        present() == [true; 4]
    });
    ip(&[
        "route",
        "del",
        "203.0.113.0/24",
        "dev",
        "eth0",
        "table",
        "100",
    ]);
    ip(&[
        "rule",
        "del",
        "from",
        "192.0.2.201/32",
        "table",
        "100",
        "priority",
        "1201",
    ]);
    // Long past Master_Down_Interval (0.3 s and skew): nothing moved.
    std::thread::sleep(Duration::from_millis(1000));
    let after_no_track = present();
    ip(&[
        "route",
        "del",
        "198.51.100.0/24",
        "dev",
        "eth0",
        "table",
        "100",
    ]);
    wait_until("a MASTER line after the route's removal", WAIT, || {
        run.read("fifo.log").matches("\"VI_1\" MASTER").count() >= 2
    });
    wait_until("the route back", WAIT, || present()[0]);
    ip(&[
        "rule",
        "del",
        "from",
        "192.0.2.200/32",
        "table",
        "100",
        "priority",
        "1200",
    ]);
    wait_until("a MASTER line after the rule's removal", WAIT, || {
        run.read("fifo.log").matches("\"VI_1\" MASTER").count() >= 3
    });
    std::thread::sleep(Duration::from_millis(500));
    let at_end = present();
    (run.finish().0, after_no_track, at_end)
}

#[test]
fn removed_virtual_routes_and_rules_step_the_master_down_as_keepalived_does() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let ours = routes_and_rules(Implementation::Vrrpd);
    let theirs = routes_and_rules(Implementation::Keepalived);
    println!("vrrpd {ours:?}\nkeepalived {theirs:?}");
    assert_eq!(
        ours.1,
        [true, false, true, false],
        "no_track: removed, nothing moved"
    );
    assert_eq!(ours.2, [true; 4], "everything back after the re-elections");
    assert_eq!(ours, theirs);
}
