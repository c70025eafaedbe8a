//! `vrrpd status` / `vrrpd stats`: ask the running daemon over its control socket.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

use super::model::{DaemonStatus, Stats, Status};
use super::render;
use crate::cli::Command;

/// How long a request may take, connection to last byte.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends `GET /{what}` and returns the JSON answer.
pub fn request(control: &Path, what: &str) -> std::io::Result<String> {
    send(control, hyper::Request::get(format!("/{what}")))
}

fn send(control: &Path, request: hyper::http::request::Builder) -> std::io::Result<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        tokio::time::timeout(REQUEST_TIMEOUT, exchange(control, request))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
    })
}

async fn exchange(
    control: &Path,
    request: hyper::http::request::Builder,
) -> std::io::Result<String> {
    let stream = tokio::net::UnixStream::connect(control).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    let request = request
        .header(hyper::header::HOST, "vrrpd")
        .body(Empty::<Bytes>::new())
        .map_err(std::io::Error::other)?;
    let response = sender
        .send_request(request)
        .await
        .map_err(std::io::Error::other)?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    let text = String::from_utf8_lossy(&body).into_owned();
    if !status.is_success() {
        return Err(std::io::Error::other(format!("{status}: {}", text.trim())));
    }
    Ok(text)
}

fn daemon_status(control: &Path) -> std::io::Result<DaemonStatus> {
    let answer = request(control, "status")?;
    let status: Status = serde_json::from_str(&answer).map_err(std::io::Error::other)?;
    status
        .daemon
        .ok_or_else(|| std::io::Error::other("the daemon predates `vrrpd upgrade`"))
}

/// How long `vrrpd upgrade` waits for the new image to report.
const UPGRADE_WAIT: Duration = Duration::from_secs(30);

/// `vrrpd upgrade`: asks the daemon to replace its image, then waits until the new image
/// answers on the control socket (same PID, next generation) or the old one reports a refusal.
fn upgrade(control: &Path, binary: Option<&Path>) -> ExitCode {
    use std::os::unix::ffi::OsStrExt;
    let unreachable = |error: std::io::Error| {
        eprintln!(
            "vrrpd: cannot reach the daemon at {}: {error}",
            control.display()
        );
        ExitCode::FAILURE
    };
    let before = match daemon_status(control) {
        Ok(before) => before,
        Err(error) => return unreachable(error),
    };
    let mut post = hyper::Request::post("/upgrade");
    if let Some(binary) = binary {
        post = post.header(
            super::http::UPGRADE_BINARY_HEADER,
            binary.as_os_str().as_bytes(),
        );
    }
    if let Err(error) = send(control, post) {
        return unreachable(error);
    }
    let deadline = std::time::Instant::now() + UPGRADE_WAIT;
    while std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        // Between the two images the socket does not answer: keep asking.
        let Ok(now) = daemon_status(control) else {
            continue;
        };
        let message = now.last_upgrade.clone().unwrap_or_default();
        if now.upgrades_refused > before.upgrades_refused {
            eprintln!("vrrpd: upgrade refused; the daemon runs on unchanged: {message}");
            return ExitCode::FAILURE;
        }
        if now.generation > before.generation {
            if now.pid != before.pid {
                eprintln!(
                    "vrrpd: the daemon came back with PID {} instead of {}",
                    now.pid, before.pid
                );
                return ExitCode::FAILURE;
            }
            if now.came_by == "upgrade" {
                println!(
                    "vrrpd upgraded in place: PID {}, generation {}: {message}",
                    now.pid, now.generation
                );
                return ExitCode::SUCCESS;
            }
            eprintln!("vrrpd: {message}");
            return ExitCode::FAILURE;
        }
    }
    eprintln!(
        "vrrpd: no new image reported within {} s",
        UPGRADE_WAIT.as_secs()
    );
    ExitCode::FAILURE
}

pub fn run(command: &Command) -> ExitCode {
    let (control, what, json) = match command {
        Command::Status { json, control } => (control, "status", *json),
        Command::Stats { json, control } => (control, "stats", *json),
        Command::Upgrade { control, binary } => return upgrade(control, binary.as_deref()),
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
