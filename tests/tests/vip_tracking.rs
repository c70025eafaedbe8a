//! keepalived tracks a master's virtual addresses, side by side with keepalived 2.2.7: an
//! address removed from the interface by someone else (`ip addr del`) makes the master step
//! down (priority 0, addresses released) and the election that follows reinstalls every VIP;
//! an address marked `no_track` may be removed without a transition, and comes back only at the
//! next transition to master.

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
