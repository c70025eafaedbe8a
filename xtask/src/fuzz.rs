//! `cargo xtask fuzz --seconds N`: every cargo-fuzz target for N seconds (VRRP and ARP
//! decoders, the configuration parser), with their execution counts, then the differential
//! check of the XDP program against the host for N seconds (`--target differential` alone).

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::bootstrap::on_path;
use crate::cargo::{build_release, run, workspace_root};

const TARGETS: [&str; 3] = ["vrrp_decode", "arp_decode", "config_parse"];

pub fn run_all(args: &[String]) -> Result<()> {
    let mut seconds = 60u64;
    let mut only: Option<String> = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = rest
                    .next()
                    .and_then(|s| s.parse().ok())
                    .context("--seconds takes a number")?
            }
            "--target" => only = rest.next().cloned(),
            other => bail!("unknown fuzz option {other}"),
        }
    }
    if only.as_deref() != Some("differential") {
        ensure_cargo_fuzz()?;
    }
    let mut summary = Vec::new();
    for target in TARGETS
        .iter()
        .filter(|t| only.as_deref().is_none_or(|o| o == **t))
    {
        println!("\n==> fuzzing {target} for {seconds} s");
        // libFuzzer adds what it finds to the first corpus directory: a working copy under
        // fuzz/target, so the committed seed corpus (read as the second) stays as it is.
        let working = workspace_root().join(format!("fuzz/target/corpus/{target}"));
        std::fs::create_dir_all(&working)
            .with_context(|| format!("creating {}", working.display()))?;
        // Built first, so that a build error is reported as one and not as a crash.
        run(Command::new("rustup")
            .args(["run", "nightly", "cargo", "fuzz", "build", target])
            .current_dir(workspace_root()))
        .with_context(|| format!("building the fuzz target {target}"))?;
        let output = Command::new("rustup")
            .args(["run", "nightly", "cargo", "fuzz", "run", target])
            .arg(&working)
            .arg(format!("fuzz/corpus/{target}"))
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-print_final_stats=1",
            ])
            .current_dir(workspace_root())
            .output()
            .context("running cargo fuzz")?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let executions = stderr
            .lines()
            .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| "?".into());
        if !output.status.success() {
            eprintln!("{stderr}");
            bail!("{target}: the fuzzer found a crash (see above and fuzz/artifacts/{target})");
        }
        println!("{target}: {executions} executions, no crash");
        summary.push(format!(
            "{target}: {executions} executions in {seconds} s, no crash"
        ));
    }
    if only.as_deref().is_none_or(|o| o == "differential") {
        println!("\n==> the XDP program against the host for {seconds} s");
        let binaries = build_release()?;
        let output = binaries
            .command("vrrp-differential")?
            .args(["--seconds", &seconds.to_string()])
            .output()
            .context("running vrrp-differential")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        print!("{stdout}");
        if !output.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&output.stderr));
            bail!("the XDP program and the host disagree (see above)");
        }
        summary.push(stdout.trim().to_string());
    }
    println!("\nxtask fuzz summary:\n  {}", summary.join("\n  "));
    Ok(())
}

fn ensure_cargo_fuzz() -> Result<()> {
    if on_path("cargo-fuzz") {
        return Ok(());
    }
    println!("fuzz: cargo-fuzz is missing; installing it");
    run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))
}
