//! Logging through tracing: `-l` gives console lines with timestamps; without a terminal
//! (journald) plain lines, since the journal adds its own; `-D` adds detail.

use tracing_subscriber::EnvFilter;

use crate::cli::Cli;

pub fn init(cli: &Cli) {
    let default = if cli.log_detail { "debug" } else { "info" };
    let filter = EnvFilter::try_from_env("VRRPD_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let result = if cli.log_console || terminal {
        builder.try_init()
    } else {
        builder.without_time().with_level(false).try_init()
    };
    // A subscriber already set (tests) is fine.
    let _ = result;
}
