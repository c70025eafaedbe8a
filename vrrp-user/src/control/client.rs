//! `vrrpd status` / `vrrpd stats`: ask the running daemon over its control socket.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use super::model::{Stats, Status};
use super::render;
use crate::cli::Command;

/// Sends one request and returns the JSON answer.
pub fn request(control: &Path, what: &str) -> std::io::Result<String> {
    let mut stream = UnixStream::connect(control)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(format!("{what}\n").as_bytes())?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer)?;
    Ok(answer)
}

pub fn run(command: &Command) -> ExitCode {
    let (control, what, json) = match command {
        Command::Status { json, control } => (control, "status", *json),
        Command::Stats { json, control } => (control, "stats", *json),
    };
    let answer = match request(control, what) {
        Ok(answer) => answer,
        Err(error) => {
            eprintln!(
                "vrrpd: cannot reach the daemon at {}: {error}",
                control.display()
            );
            return ExitCode::FAILURE;
        }
    };
    if json {
        print!("{answer}");
        return ExitCode::SUCCESS;
    }
    let text = match what {
        "status" => serde_json::from_str::<Status>(&answer).map(|s| render::status_table(&s)),
        _ => serde_json::from_str::<Stats>(&answer).map(|s| render::stats_text(&s)),
    };
    match text {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("vrrpd: unexpected answer ({error}): {answer}");
            ExitCode::FAILURE
        }
    }
}
