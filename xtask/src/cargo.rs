//! Cargo invocations shared by the commands.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// The repository root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs a command in the workspace root and fails unless it succeeds.
pub fn run(command: &mut Command) -> Result<()> {
    let status = command
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("could not start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// The binaries of a release build, as cargo reported them: name -> path (cargo knows where
/// they are, whatever `CARGO_TARGET_DIR` or `build.target-dir` says).
pub struct Binaries(BTreeMap<String, PathBuf>);

/// The environment variable through which the tests and the lab find vrrpd (the harness reads it).
pub const VRRPD_BIN: &str = "VRRPD_BIN";

impl Binaries {
    pub fn path(&self, name: &str) -> Result<&Path> {
        self.0
            .get(name)
            .map(PathBuf::as_path)
            .with_context(|| format!("cargo built no binary named {name}"))
    }

    /// A command for binary `name`, with `VRRPD_BIN` set for whatever it runs.
    pub fn command(&self, name: &str) -> Result<Command> {
        let mut command = Command::new(self.path(name)?);
        command.env(VRRPD_BIN, self.path("vrrpd")?);
        Ok(command)
    }
}

/// Builds every host crate's binaries in release mode (vrrp-user's build script builds the XDP
/// program) and returns where cargo put them, read from its JSON messages.
pub fn build_release() -> Result<Binaries> {
    build(&["build", "--release", "--bins"])
}

/// Builds the tests (release) and, with them, the binaries they run: one build with the tests'
/// feature set, so that `cargo test` afterwards builds nothing again (a separate `cargo build
/// --bins` resolves other features, which rebuilds vrrp-user and its XDP program a second time).
pub fn build_tests(extra: &[String]) -> Result<Binaries> {
    let mut args = vec!["test", "--release", "--no-run"];
    args.extend(extra.iter().map(String::as_str).take_while(|a| *a != "--"));
    build(&args)
}

/// Runs cargo with `args` and reports the binaries it built, by name.
fn build(args: &[&str]) -> Result<Binaries> {
    let output = cargo()
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .current_dir(workspace_root())
        .stderr(Stdio::inherit())
        .output()
        .context("could not start cargo")?;
    if !output.status.success() {
        bail!("cargo {} failed with {}", args.join(" "), output.status);
    }
    let mut binaries = BTreeMap::new();
    for line in output.stdout.split(|&byte| byte == b'\n') {
        let Ok(message) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        let is_bin = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|kind| kind == "bin"));
        // `cargo test --no-run` also builds each binary's own unit-test harness, a "bin"
        // artifact of the same name: only the binary itself counts (the harness would answer
        // `vrrpd --version` with "Unrecognized option"; which of the two cargo reports last
        // varies from build to build).
        let is_test_harness = message["profile"]["test"].as_bool() == Some(true);
        if message["reason"] != "compiler-artifact" || !is_bin || is_test_harness {
            continue;
        }
        if let (Some(name), Some(path)) = (
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) {
            binaries.insert(name.to_string(), PathBuf::from(path));
        }
    }
    Ok(Binaries(binaries))
}

/// `cargo xtask run -- ARGS`: build, then exec vrrpd with ARGS.
pub fn run_vrrpd(args: &[String]) -> Result<()> {
    let binaries = build_release()?;
    let args = match args.first().map(String::as_str) {
        Some("--") => &args[1..],
        _ => args,
    };
    run(binaries.command("vrrpd")?.args(args))
}

/// Builds everything, then runs one of the lab's binaries (the lab, the bench, the soak).
pub fn run_tool(name: &str, args: &[String]) -> Result<()> {
    println!("xtask: building (release)");
    let binaries = build_release()?;
    run(binaries.command(name)?.args(args))
}
