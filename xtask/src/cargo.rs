//! Cargo invocations shared by the commands.

use std::path::{Path, PathBuf};
use std::process::Command;

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

/// Builds every host crate in release mode; vrrp-user's build script builds the XDP program.
pub fn build_release() -> Result<()> {
    run(cargo().args(["build", "--release", "--bins"]))
}

/// Path of a release binary built by [`build_release`].
pub fn release_binary(name: &str) -> PathBuf {
    workspace_root().join("target/release").join(name)
}

/// `cargo xtask run -- ARGS`: build, then exec vrrpd with ARGS.
pub fn run_vrrpd(args: &[String]) -> Result<()> {
    build_release()?;
    let args = match args.first().map(String::as_str) {
        Some("--") => &args[1..],
        _ => args,
    };
    run(Command::new(release_binary("vrrpd")).args(args))
}

/// Builds everything, then runs one of the workspace's tool binaries (the lab, the bench).
pub fn run_tool(name: &str, args: &[String]) -> Result<()> {
    println!("xtask: building (release)");
    build_release()?;
    run(Command::new(release_binary(name)).args(args))
}
