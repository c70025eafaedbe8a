//! `cargo xtask bench --quick` runs every scenario to the end and produces its table, so the
//! harness cannot rot. Its figures are not asserted: timings belong to the benchmark, not tests.

use vrrp_lab::bench::{self, BenchOptions};

#[test]
fn the_quick_benchmark_runs_every_scenario() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let scratch = vrrp_harness::process::Scratch::new("bench-quick").expect("scratch");
    let options = BenchOptions {
        quick: true,
        output: Some(scratch.path().to_path_buf()),
        command: "cargo xtask bench --quick".into(),
    };
    let report = bench::run(&options).expect("the quick bench runs");
    // Every implementation, FRR's vrrpd included, took part in the failover scenario, idle
    // and flooded.
    assert_eq!(report.failover_rows().len(), 8);
    assert!(
        report
            .failover_rows()
            .iter()
            .all(|row| !row.excess_ms.is_empty()),
        "every run measured"
    );
    // Three floods for vrrpd (XDP and socket) and keepalived, the two v3 floods for FRR.
    assert_eq!(report.flood_rows().len(), 11);
    // An ARP and an ND flood for every implementation.
    assert_eq!(report.spoofed_rows().len(), 6);
    // 5 changes at 2 paces for 3 implementations.
    assert_eq!(report.change_rows().len(), 30);
    let markdown = std::fs::read_to_string(scratch.join("BENCHMARKS.md")).expect("BENCHMARKS.md");
    for section in [
        "Failover precision",
        "Planned handover",
        "First gratuitous ARP",
        "Flood resistance",
        "ARP request flood",
        "Spoofed-source floods",
        "Scale",
        "Start-up",
        "Configuration changes and restarts",
    ] {
        assert!(markdown.contains(section), "{section}");
    }
    assert!(scratch.join("benchmarks-failover.png").exists(), "the plot");
}
