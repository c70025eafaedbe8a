//! vrrpd's entry point: parse the command line and hand over.

use std::process::ExitCode;

use clap::Parser;
use vrrp_user::cli::{Cli, Exit};
use vrrp_user::config::{self, LexOptions};

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
            let host = vrrp_user::audit::audit(&loaded.config);
            for warning in loaded.warnings.iter().chain(&host.warnings) {
                eprintln!("{warning} (warning)");
            }
            for notice in loaded.notices.iter().chain(&host.notices) {
                eprintln!("{notice} (notice)");
            }
            if let Some(violation) = &host.violation {
                eprintln!("{violation}");
            }
            print!("{}", config::summary::summary(&loaded.config));
            println!("\nconfiguration {} is valid", cli.file.display());
            // keepalived's config test: a security violation outranks every other report.
            if host.violation.is_some() {
                Exit::ConfigTestSecurity.into()
            } else if loaded.warnings.is_empty() && host.warnings.is_empty() {
                Exit::Ok.into()
            } else {
                Exit::ConfigTest.into()
            }
        }
        Err(error) => {
            for diagnostic in error.diagnostics() {
                eprintln!("{diagnostic}");
            }
            Exit::Config.into()
        }
    }
}
