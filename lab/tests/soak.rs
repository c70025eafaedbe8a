//! The chaos soak's short version (the long one is `cargo xtask soak --minutes N`): 60 s of
//! random stops, crashes, link cuts and tracking changes on four routers running vrrpd,
//! keepalived 2.2.7 and FRR's vrrpd on the same VRIDs, checked from the wire and from the
//! routers' addresses (see `vrrp_lab::soak`).

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
        "soak: seed {seed:#x}, events {:?}, address checks {}, adverts {} {:?}",
        report.events, report.checks, report.adverts, report.adverts_by
    );
    assert!(
        report.total_events() >= 20,
        "the soak injected too few faults: {:?}",
        report.events
    );
    // Checks run only once the segment has settled after the last fault (startup and
    // tracking take seconds), so a minute of faults leaves a few dozen quiet moments.
    assert!(
        report.checks >= 20,
        "too few address checks: {}",
        report.checks
    );
    for implementation in ["vrrpd", "keepalived", "frr"] {
        assert!(
            report
                .events
                .keys()
                .any(|event| event.ends_with(implementation)),
            "no fault injected into {implementation}: {:?}",
            report.events
        );
        assert!(
            report
                .adverts_by
                .get(implementation)
                .is_some_and(|n| *n > 0),
            "{implementation} never advertised as master: {:?}",
            report.adverts_by
        );
    }
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
