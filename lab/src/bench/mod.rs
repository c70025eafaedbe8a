//! `cargo xtask bench`: vrrpd (XDP), vrrpd (socket mode), keepalived 2.2.7 and, where it can
//! take part (VRRPv3 without authentication: failover, handover, the v3 floods), FRR's vrrpd
//! side by side, interleaved in one run on the same namespace lab, every time measured on the
//! wire.
//!
//! Scenarios: failover precision (idle and under a flood), planned handover, first gratuitous
//! ARP after takeover, flood resistance, ARP responder rate and cost, scale (255 VRIDs),
//! start-up, and configuration changes and restarts. The figures are written to BENCHMARKS.md with a PNG plot; nothing here asserts a
//! timing — the test suite only checks that `--quick` runs to the end.
//!
//! For working on one part (a profile, say): `VRRP_BENCH_ONLY=arp,scale` runs only those
//! scenarios, `VRRP_BENCH_IMPL=xdp,socket,keepalived,frr` only those implementations;
//! `VRRP_BENCH_RT_PRIORITY=N` gives every implementation keepalived's `vrrp_rt_priority N`.
//! A run limited so writes its tables only where `--output` says, never over BENCHMARKS.md.

mod daemon;
mod report;
mod scenarios;
mod takeover;

use std::path::PathBuf;

use anyhow::Result;

pub use daemon::Implementation;
pub use report::Report;

#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// A few runs per scenario (the test suite's harness check), under five minutes.
    pub quick: bool,
    /// Where BENCHMARKS.md and the plot go (`None`: print only).
    pub output: Option<PathBuf>,
    /// The command line, recorded in BENCHMARKS.md.
    pub command: String,
}

impl BenchOptions {
    fn scale(&self, quick: u32, full: u32) -> u32 {
        if self.quick { quick } else { full }
    }

    fn seconds(&self, quick: f64, full: f64) -> std::time::Duration {
        std::time::Duration::from_secs_f64(if self.quick { quick } else { full })
    }
}

/// Runs every scenario, prints the table and (with `output`) writes BENCHMARKS.md and the plot.
pub fn run(options: &BenchOptions) -> Result<Report> {
    let mut report = Report::new(options);
    // VRRP_BENCH_ONLY=failover,arp runs a subset (for working on one scenario).
    let only = std::env::var("VRRP_BENCH_ONLY").ok();
    let wanted = |name: &str| {
        only.as_deref()
            .is_none_or(|list| list.split(',').any(|n| n == name))
    };
    type Scenario = fn(&BenchOptions, &mut Report) -> Result<()>;
    let scenarios: [(&str, Scenario); 8] = [
        ("failover", scenarios::failover),
        ("handover", scenarios::handover),
        ("floods", scenarios::floods),
        ("arp", scenarios::arp),
        ("spoofed", scenarios::spoofed),
        ("scale", scenarios::scale),
        ("startup", scenarios::startup),
        ("changes", scenarios::changes),
    ];
    for (name, scenario) in scenarios {
        if wanted(name) {
            println!("== {name}");
            let started = std::time::Instant::now();
            scenario(options, &mut report)?;
            println!("== {name}: {:.1} s", started.elapsed().as_secs_f64());
        }
    }
    println!("{}", report.markdown());
    if let Some(dir) = &options.output {
        report.write(dir)?;
    }
    Ok(report)
}
