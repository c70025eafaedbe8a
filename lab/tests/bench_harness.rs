//! `cargo xtask bench --quick` runs every scenario to the end and produces its table, so the
//! harness cannot rot. Its figures are not asserted: timings belong to the benchmark, not tests.

use vrrp_lab::bench::{self, BenchOptions, Implementation};

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
    // vrrpd's takeovers (XDP and socket mode) are split into where their excess went, every
    // one of them matched with its timing line.
    for row in report
        .failover_rows()
        .iter()
        .filter(|row| row.implementation.is_vrrpd())
    {
        assert_eq!(
            row.takeover_parts.len(),
            row.excess_ms.len(),
            "{} {}: every takeover split",
            row.implementation.name(),
            row.condition
        );
    }
    // Three floods for vrrpd (XDP and socket) and keepalived, the two v3 floods for FRR.
    assert_eq!(report.flood_rows().len(), 11);
    // The ARP flood's responders: vrrpd's XDP program, the kernel under vrrpd in socket mode
    // and on FRR's macvlan; in driver mode, the XDP program and the kernel (this machine has
    // the second CPU the router's receive path is pinned to).
    assert_eq!(report.arp_rows().len(), 3);
    if std::thread::available_parallelism().map_or(1, usize::from) > 1 {
        assert_eq!(report.arp_driver_rows().len(), 2);
        assert!(
            report
                .arp_driver_rows()
                .iter()
                .all(|row| row.replies > 0 && row.router_cpu_us_per_reply > 0.0),
            "both driver-mode responders answered, on the router's CPU"
        );
    }
    // An ARP and an ND flood for vrrpd (XDP and socket), keepalived and FRR.
    assert_eq!(report.spoofed_rows().len(), 8);
    // Both scale setups for every implementation, FRR's vrrpd included, each with the
    // master's PSS summed over its processes (FRR's: vrrpd and zebra).
    let scale = report.scale_rows();
    assert_eq!(scale.len(), 8);
    for setup in ["VRIDs on 1 interface", "instances on 4 interfaces"] {
        assert!(
            scale.iter().any(|row| row.setup.contains(setup)
                && row.implementation == Implementation::Frr
                && row.master_pss_kib > 0),
            "FRR in {setup}"
        );
    }
    // Every implementation started, FRR's vrrpd included.
    assert_eq!(report.startup_rows().len(), 4);
    // 5 changes at 2 paces for 3 implementations, and at the v3 pace for FRR's vrrpd.
    assert_eq!(report.change_rows().len(), 35);
    assert_eq!(
        report
            .change_rows()
            .iter()
            .filter(|row| row.implementation == Implementation::Frr)
            .count(),
        5
    );
    let markdown = std::fs::read_to_string(scratch.join("BENCHMARKS.md")).expect("BENCHMARKS.md");
    for section in [
        "Failover precision",
        "Where vrrpd's excess goes",
        "Planned handover",
        "First gratuitous ARP",
        "Flood resistance",
        "ARP request flood",
        "ARP request flood in driver mode",
        "Spoofed-source floods",
        "Scale",
        "Start-up",
        "Configuration changes and restarts",
    ] {
        assert!(markdown.contains(section), "{section}");
    }
    assert!(scratch.join("benchmarks-failover.png").exists(), "the plot");
}
