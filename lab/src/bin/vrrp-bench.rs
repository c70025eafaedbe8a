//! `cargo xtask bench [--quick]`: benchmarks against keepalived (see `vrrp_lab::bench`).

use std::process::ExitCode;

use vrrp_lab::bench::{self, BenchOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    // A run of some scenarios or implementations only (for working on one part) would replace
    // the repository's full tables with its few: it writes where --output says, or nowhere.
    let partial = ["VRRP_BENCH_ONLY", "VRRP_BENCH_IMPL"]
        .iter()
        .any(|variable| std::env::var_os(variable).is_some());
    let output = args
        .iter()
        .position(|a| a == "--output")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from)
        .or_else(|| {
            (!quick && !partial)
                .then(|| std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")))
        });
    if output.is_none() && partial && !quick {
        println!(
            "bench: a partial run (VRRP_BENCH_ONLY / VRRP_BENCH_IMPL) leaves BENCHMARKS.md alone; --output DIR writes its tables there"
        );
    }
    let options = BenchOptions {
        quick,
        output,
        command: format!("cargo xtask bench{}", if quick { " --quick" } else { "" }),
    };
    match bench::run(&options) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}
