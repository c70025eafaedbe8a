//! `cargo xtask lab`: the live, narrated failover lab (see `vrrp_lab::lab`).

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use vrrp_lab::lab::{self, INTERRUPTED, LabOptions};

extern "C" fn interrupted(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

const USAGE: &str =
    "usage: cargo xtask lab [--keep] [--peer keepalived] [--advert-int SECONDS] [--down]";

fn main() -> ExitCode {
    let mut options = LabOptions {
        colour: std::io::IsTerminal::is_terminal(&std::io::stdout()),
        ..LabOptions::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--keep" => options.keep = true,
            "--down" => {
                return match lab::teardown() {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(error) => {
                        eprintln!("{error:#}");
                        ExitCode::FAILURE
                    }
                };
            }
            "--peer" => match args.next().as_deref() {
                Some("keepalived") => options.peer_keepalived = true,
                Some("vrrpd") => options.peer_keepalived = false,
                _ => {
                    eprintln!("--peer takes keepalived or vrrpd\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--advert-int" => match args.next().and_then(|v| v.parse::<f64>().ok()) {
                Some(value) if (0.01..=1.0).contains(&value) => options.advert_int = value,
                _ => {
                    eprintln!("--advert-int takes seconds between 0.01 and 1\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--no-colour" | "--no-color" => options.colour = false,
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    // SAFETY: installing a handler that only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, interrupted as *const () as libc::sighandler_t);
        libc::signal(
            libc::SIGTERM,
            interrupted as *const () as libc::sighandler_t,
        );
    }
    match lab::run(options) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("lab: {error:#}");
            ExitCode::FAILURE
        }
    }
}
