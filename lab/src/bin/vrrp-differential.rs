//! `cargo xtask fuzz` runs this: the differential check of the XDP program against the host
//! (`vrrp_harness::differential`) for as long as asked, with random mutations from a seed.
//!
//! usage: vrrp-differential --seconds N [--seed S]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use vrrp_harness::differential::{self, Report, Rng};

fn main() -> ExitCode {
    let mut seconds = 60u64;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().and_then(|v| v.parse().ok());
        match (arg.as_str(), value) {
            ("--seconds", Some(v)) => seconds = v,
            ("--seed", Some(v)) => seed = v,
            _ => {
                eprintln!("usage: vrrp-differential --seconds N [--seed S]");
                return ExitCode::from(2);
            }
        }
    }
    match run(Duration::from_secs(seconds), seed) {
        Ok(report) if report.disagreements.is_empty() => {
            println!(
                "differential: {} frames, 0 disagreements (seed {seed})",
                report.frames
            );
            ExitCode::SUCCESS
        }
        Ok(report) => {
            for disagreement in report.disagreements.iter().take(10) {
                eprintln!("{disagreement:02x?}");
            }
            eprintln!(
                "differential: {} frames, {} disagreements (seed {seed})",
                report.frames,
                report.disagreements.len()
            );
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("differential: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(duration: Duration, seed: u64) -> anyhow::Result<Report> {
    let mut xdp = differential::loaded()?;
    let fixtures = differential::fixtures();
    let mut report = Report::default();
    differential::compare(&mut xdp, differential::systematic(&fixtures), &mut report)?;
    let mut rng = Rng::new(seed);
    let started = Instant::now();
    while started.elapsed() < duration {
        let batch: Vec<Vec<u8>> = (0..65_536)
            .map(|_| differential::random(&fixtures, &mut rng))
            .collect();
        differential::compare(&mut xdp, batch, &mut report)?;
    }
    Ok(report)
}
