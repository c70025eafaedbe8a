//! The lab runs non-interactively: its summary table has every row, each time within its RFC
//! bound + 100 ms; and afterwards — also after an interrupted run — nothing of it is left.

use std::sync::atomic::Ordering;
use std::time::Duration;

use vrrp_harness::netns::list_namespaces;
use vrrp_lab::lab::{self, INTERRUPTED, LabOptions, PREFIX};

fn lab_namespaces() -> Vec<String> {
    list_namespaces()
        .into_iter()
        .filter(|n| n.starts_with(PREFIX))
        .collect()
}

#[test]
fn the_lab_measures_every_event_within_its_bound_and_cleans_up() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let report = lab::run(LabOptions::default()).expect("the lab runs to the end");
    let events: Vec<&str> = report.rows.iter().map(|r| r.event.as_str()).collect();
    assert_eq!(
        events,
        vec![
            "stop DR1 (priority 0)",
            "DR1 back (preemption)",
            "touch down (weight -5)",
            "rm down (preemption)",
            "cut DR1's link (crash)",
        ]
    );
    let vip = |router: &str, instance: &str, address: &str, label: &str| {
        (router.into(), instance.into(), address.into(), label.into())
    };
    assert_eq!(
        report.vips,
        vec![
            vip("DR1", "VI_1", "192.0.2.99/24", "eth0:0"),
            vip("DR2", "VI_2", "192.0.2.98/24", "eth0:1"),
        ],
        "each VIP on its master only, with its label"
    );
    for row in &report.rows {
        let excess = row.excess();
        assert!(
            (-0.005..=0.100).contains(&excess),
            "{}: measured {:?}, expected {:?}",
            row.event,
            row.measured,
            row.expected
        );
        assert!(
            row.client_gap < Duration::from_secs(5),
            "{}: client gap {:?}",
            row.event,
            row.client_gap
        );
    }
    assert!(
        lab_namespaces().is_empty(),
        "left behind: {:?}",
        lab_namespaces()
    );
}

#[test]
fn an_interrupted_lab_leaves_nothing_behind() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let interrupter = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(3));
        INTERRUPTED.store(true, Ordering::Relaxed);
    });
    let outcome = lab::run(LabOptions::default());
    let _ = interrupter.join();
    INTERRUPTED.store(false, Ordering::Relaxed);
    let error = outcome.expect_err("interrupted");
    assert!(format!("{error:#}").contains("interrupted"), "{error:#}");
    assert!(
        lab_namespaces().is_empty(),
        "left behind: {:?}",
        lab_namespaces()
    );
}
