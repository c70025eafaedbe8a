//! `cargo xtask soak --minutes N [--seed S]`: the chaos soak (see `vrrp_lab::soak`).

use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let minutes = value("--minutes").unwrap_or(5);
    let seed = value("--seed").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    match vrrp_lab::soak::run(Duration::from_secs(minutes * 60), seed) {
        Ok(report) => {
            println!("soak: {:.0} s, seed {seed}", report.duration.as_secs_f64());
            for (event, count) in &report.events {
                println!("  {event}: {count}");
            }
            println!("  address checks: {}", report.checks);
            println!("  adverts judged on the wire: {}", report.adverts);
            for (implementation, count) in &report.adverts_by {
                println!("    from {implementation}: {count}");
            }
            println!("  violations: {}", report.violations.len());
            for violation in &report.violations {
                println!("    {violation}");
            }
            if report.violations.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("soak: {error:#}");
            ExitCode::FAILURE
        }
    }
}
