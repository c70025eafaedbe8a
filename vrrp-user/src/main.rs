//! vrrpd's entry point: parse the command line and hand over.

use std::process::ExitCode;

use clap::Parser;
use vrrp_user::cli::Cli;
use vrrp_user::config::{self, LexOptions};

/// keepalived's exit status for a configuration error.
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(name) = &cli.signum {
        return match vrrp_user::host::SignalFunction::from_name(name) {
            Some(function) => {
                println!("{}", function.number());
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("Unknown sigfunc {name}");
                ExitCode::FAILURE
            }
        };
    }
    if cli.config_test {
        return config_test(&cli);
    }
    match &cli.command {
        Some(command) => vrrp_user::control::client::run(command),
        None => vrrp_user::daemon::run(cli),
    }
}

fn config_test(cli: &Cli) -> ExitCode {
    let options = LexOptions {
        config_id: cli.config_id.clone().or_else(vrrp_user::host::host_name),
    };
    match config::load(&cli.file, &options) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("{warning} (warning)");
            }
            print!("{}", config::summary::summary(&loaded.config));
            println!("\nconfiguration {} is valid", cli.file.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            for diagnostic in error.diagnostics() {
                eprintln!("{diagnostic}");
            }
            ExitCode::from(EXIT_CONFIG)
        }
    }
}
