//! The chaos soak's short version (the long one is `cargo xtask soak --minutes N`): 60 s of
//! random stops, crashes, link cuts and tracking changes on three routers, checked from the wire
//! and from `ip addr` (see `vrrp_lab::soak`).

use std::time::Duration;

#[test]
fn a_minute_of_chaos_keeps_one_master_and_every_vip() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    // A fixed seed makes the test's sequence of events reproducible; the xtask command picks a
    // fresh one each run.
    let seed = 0x5eed_1e55;
    let report =
        vrrp_lab::soak::run(Duration::from_secs(60), seed).expect("the soak ran to its end");
    println!(
        "soak: seed {seed:#x}, events {:?}, address checks {}, adverts {}",
        report.events, report.checks, report.adverts
    );
    assert!(
        report.total_events() >= 20,
        "the soak injected too few faults: {:?}",
        report.events
    );
    assert!(
        report.checks > 50,
        "too few address checks: {}",
        report.checks
    );
    // Two instances at 10 adverts/s for a minute: the wire check judged real traffic.
    assert!(
        report.adverts > 600,
        "too few adverts captured: {}",
        report.adverts
    );
    assert!(
        report.violations.is_empty(),
        "violations: {:#?}",
        report.violations
    );
}
