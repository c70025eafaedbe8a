//! `cargo xtask test`: every check the project has, in the order that fails fastest.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::cargo::{VRRPD_BIN, build_release, build_tests, cargo, run, workspace_root};

/// Counts parsed from cargo test's `test result:` lines.
#[derive(Default, Debug)]
struct Tally {
    passed: u64,
    failed: u64,
    ignored: u64,
    binaries: u64,
}

impl Tally {
    /// Reads `test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; ...`.
    fn add_line(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        self.binaries += 1;
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(count)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(count) = count.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => self.passed += count,
                "failed" => self.failed += count,
                "ignored" => self.ignored += count,
                _ => {}
            }
        }
    }
}

pub fn run_all(extra: &[String]) -> Result<()> {
    let started = Instant::now();
    let mut steps = Steps::default();
    steps.start("cargo fmt --check");
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;

    // In the release profile, the test build's: the build scripts (vrrp-user's builds the XDP
    // program, jemalloc's compiles C) and the proc-macros are built once for both, not once
    // per profile (a fresh clone, this machine kind: clippy and the test build 388 s against
    // 507). The code has no debug-only parts that this would leave unlinted.
    steps.start("cargo clippy --release --all-targets -- -D warnings (host crates)");
    run(cargo().args([
        "clippy",
        "--release",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;

    steps.start("cargo clippy on the XDP program (nightly, bpfel-unknown-none, -D warnings)");
    run(Command::new("rustup")
        .args([
            "run",
            "nightly",
            "cargo",
            "clippy",
            "--package",
            "vrrp-ebpf",
        ])
        .args([
            "--release",
            "--target",
            "bpfel-unknown-none",
            "-Z",
            "build-std=core",
        ])
        .args(["--target-dir", "target/ebpf-clippy", "--", "-D", "warnings"]))?;

    steps.start("cargo check on the fuzz targets (their own workspace: nothing else builds them)");
    // Without libFuzzer (a C++ build) and in the main target folder and profile, where clippy
    // has just checked the same dependencies.
    run(cargo()
        .args([
            "check",
            "--release",
            "--manifest-path",
            "fuzz/Cargo.toml",
            "--bins",
            "--quiet",
            "--no-default-features",
            "--target-dir",
            "target",
        ])
        .current_dir(workspace_root()))?;

    steps.start(
        "cargo test --release --no-run (the tests, and the real vrrpd they run, in one build)",
    );
    let mut binaries = build_tests(extra)?;
    if binaries.path("vrrpd").is_err() {
        // A selection of tests (`-p`, `--test`) that does not build vrrpd itself.
        binaries = build_release()?;
    }

    steps.start("cargo xtask package --check (the Debian package around the vrrpd just built)");
    crate::package::build_and_maybe_check(binaries.path("vrrpd")?, true)?;

    steps.start("cargo test (unit, property, BPF test-run and namespace integration tests)");
    let tally = cargo_test(extra, binaries.path("vrrpd")?)?;
    steps.finish();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "\nxtask test summary: {} passed, {} failed, {} ignored in {} test binaries; fmt and clippy clean; {:.0} s",
        tally.passed, tally.failed, tally.ignored, tally.binaries, seconds
    );
    if tally.failed > 0 {
        bail!("{} tests failed", tally.failed);
    }
    Ok(())
}

/// The steps run so far and how long each took, printed at the end: where the suite's time
/// goes, in every CI log.
#[derive(Default)]
struct Steps {
    current: Option<(String, Instant)>,
    done: Vec<(String, f64)>,
}

impl Steps {
    fn start(&mut self, what: &str) {
        self.close();
        println!("\n==> {what}");
        self.current = Some((what.to_string(), Instant::now()));
    }

    fn close(&mut self) {
        if let Some((what, since)) = self.current.take() {
            self.done.push((what, since.elapsed().as_secs_f64()));
        }
    }

    fn finish(&mut self) {
        self.close();
        println!("\nxtask test steps:");
        for (what, seconds) in &self.done {
            println!("  {seconds:>6.0} s  {what}");
        }
    }
}

/// Runs `cargo test`, streaming its output while tallying the results.
fn cargo_test(extra: &[String], vrrpd: &Path) -> Result<Tally> {
    let mut child = cargo()
        .args(["test", "--release", "--no-fail-fast"])
        .args(extra)
        .env(VRRPD_BIN, vrrpd)
        .current_dir(workspace_root())
        .stdout(Stdio::piped())
        .spawn()
        .context("could not start cargo test")?;
    let mut tally = Tally::default();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.context("reading cargo test output")?;
            println!("{line}");
            tally.add_line(&line);
        }
    }
    let status = child.wait().context("waiting for cargo test")?;
    if !status.success() && tally.failed == 0 {
        bail!("cargo test failed with {status} (a build error, or a test binary crashed)");
    }
    Ok(tally)
}
