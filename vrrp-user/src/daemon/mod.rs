//! The running daemon: wires configuration, datapath, state machines, network actions,
//! tracking and notification into one tokio runtime.

use std::process::ExitCode;

use crate::cli::Cli;

/// The host name, keepalived's default config_id and router_id.
pub fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
}

pub fn run(_cli: Cli) -> ExitCode {
    eprintln!("vrrpd: the daemon is not built yet");
    ExitCode::FAILURE
}
