//! `cargo xtask bench [--quick]`: benchmarks against keepalived (see `vrrp_lab::bench`).

use std::process::ExitCode;

use vrrp_lab::bench::{self, BenchOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let output = args
        .iter()
        .position(|a| a == "--output")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from)
        .or_else(|| {
            (!quick).then(|| std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")))
        });
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
