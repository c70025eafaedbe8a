//! keepalived's static_ipaddress, static_routes and static_rules, as keepalived 2.2.7 handles
//! them (checked by hand side by side on this machine): installed at start whatever the
//! instances' states (here before the only instance leaves BACKUP), brought in line by a
//! reload (an address the file no longer has is removed, a new one added, the rest
//! untouched), and all removed at stop.

use std::time::Duration;

use vrrp_harness::daemons::Vrrpd;
use vrrp_harness::process::Scratch;
use vrrp_harness::topology::{Host, Segment};
use vrrp_harness::wait_until;

const WAIT: Duration = Duration::from_secs(20);

fn config(static_address: &str) -> String {
    format!(
        "static_ipaddress {{\n  {static_address}/24 dev eth0\n}}\n\
         static_routes {{\n  203.0.113.0/24 via 192.0.2.254 dev eth0\n}}\n\
         static_rules {{\n  from 198.51.100.7 table 100\n}}\n\
         vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  \
         advert_int 1\n  virtual_ipaddress {{\n    192.0.2.99/24\n  }}\n}}\n"
    )
}

fn routes(host: &Host) -> String {
    host.ns.run_ok(["ip", "route", "show"]).unwrap_or_default()
}

fn rules(host: &Host) -> String {
    host.ns.run_ok(["ip", "rule", "show"]).unwrap_or_default()
}

#[test]
fn static_addresses_routes_and_rules_live_with_the_daemon_and_follow_a_reload() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("statics").expect("scratch");
    let router = segment.router(1);
    let mut daemon = Vrrpd::start_until(
        router,
        "statics",
        &config("198.51.100.7"),
        &scratch,
        &[],
        "(VI_1) Entering BACKUP STATE",
    )
    .expect("vrrpd");
    // Installed at start, while the instance is still BACKUP (Master_Down_Interval is 3 s).
    wait_until("the static address", WAIT, || {
        router.has_address("198.51.100.7")
    });
    assert!(
        !daemon.log().contains("Entering MASTER STATE"),
        "installed before any transition to MASTER"
    );
    assert!(
        routes(router).contains("203.0.113.0/24 via 192.0.2.254 dev eth0"),
        "{}",
        routes(router)
    );
    assert!(
        rules(router).contains("from 198.51.100.7 lookup 100"),
        "{}",
        rules(router)
    );

    // A reload replaces the address and keeps the route and the rule.
    let reloads = daemon.log().matches("Configuration reloaded").count();
    std::fs::write(&daemon.config, config("198.51.100.8")).expect("write");
    daemon.process.signal(libc::SIGHUP);
    wait_until("the reload", WAIT, || {
        daemon.log().matches("Configuration reloaded").count() > reloads
    });
    assert!(router.has_address("198.51.100.8"));
    assert!(!router.has_address("198.51.100.7"));
    assert!(routes(router).contains("203.0.113.0/24"));
    assert!(rules(router).contains("lookup 100"));

    // A stop removes them all.
    daemon
        .process
        .stop(libc::SIGTERM, Duration::from_secs(10))
        .expect("stop");
    assert!(!router.has_address("198.51.100.8"));
    assert!(
        !routes(router).contains("203.0.113.0/24"),
        "{}",
        routes(router)
    );
    assert!(!rules(router).contains("lookup 100"), "{}", rules(router));
}
