//! `vrrpd status` / `vrrpd stats`: ask the running daemon over its control socket.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

use super::model::{Stats, Status};
use super::render;
use crate::cli::Command;

/// How long a request may take, connection to last byte.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends `GET /{what}` and returns the JSON answer.
pub fn request(control: &Path, what: &str) -> std::io::Result<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        tokio::time::timeout(REQUEST_TIMEOUT, get(control, what))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
    })
}

async fn get(control: &Path, what: &str) -> std::io::Result<String> {
    let stream = tokio::net::UnixStream::connect(control).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    let request = hyper::Request::get(format!("/{what}"))
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
