//! `vrrpd status` / `vrrpd stats`: ask the running daemon over its control socket.

use std::process::ExitCode;

use crate::cli::Command;

pub fn run(_command: &Command) -> ExitCode {
    eprintln!("vrrpd: the control socket is not built yet");
    ExitCode::FAILURE
}
