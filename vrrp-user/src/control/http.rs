//! The HTTP/1.1 server behind the control socket and the metrics endpoint (hyper).
//!
//! Both listeners serve one request per connection and then close it. The limits make a slow or
//! hostile client cheap: the request head must arrive within `HEAD_TIMEOUT` (hyper drops a
//! client that connects and never sends), it may not exceed hyper's smallest read buffer, a
//! request with a body is refused, and the whole exchange is cut at `CONNECTION_TIMEOUT`. A
//! failing `accept()` (EMFILE, ENFILE, ...) backs off instead of spinning. Nothing here talks
//! to the protocol thread: answers are made from what it has published (see `Reporter`).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::warn;

use super::Reporter;

/// The request head (request line and headers) must be complete within this.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(3);
/// A whole connection, request to last byte of the answer.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// hyper's minimum read buffer; a longer request head is refused.
pub const MAX_HEAD_BYTES: usize = 8192;
/// How long `accept()` rests after it failed.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What a listener serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routes {
    /// The root-only control socket: `GET /status`, `GET /stats` (JSON).
    Control,
    /// The Prometheus endpoint: `GET /metrics` (and `/`, as before hyper).
    Metrics,
}

/// A bound listener of either kind.
pub enum Listener {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener),
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {}

impl Listener {
    async fn accept(&self) -> std::io::Result<Box<dyn Stream>> {
        Ok(match self {
            Listener::Tcp(listener) => Box::new(listener.accept().await?.0),
            Listener::Unix(listener) => Box::new(listener.accept().await?.0),
        })
    }
}

/// Accepts connections forever, each served on its own task.
pub async fn serve(listener: Listener, routes: Routes, reporter: Arc<dyn Reporter>) {
    loop {
        let stream = match listener.accept().await {
            Ok(stream) => stream,
            Err(error) => {
                warn!("{routes:?} listener: accept failed: {error}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let reporter = Arc::clone(&reporter);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let reporter = Arc::clone(&reporter);
                async move { Ok::<_, Infallible>(answer(routes, &*reporter, &request)) }
            });
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .max_buf_size(MAX_HEAD_BYTES)
                .keep_alive(false);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            // Dropping the future closes the connection.
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
        });
    }
}

/// The header `POST /upgrade` names the new binary in (absent: the daemon's own path).
pub const UPGRADE_BINARY_HEADER: &str = "x-vrrpd-binary";

fn answer(
    routes: Routes,
    reporter: &dyn Reporter,
    request: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let upgrade = matches!(routes, Routes::Control)
        && request.method() == Method::POST
        && request.uri().path() == "/upgrade";
    if request.method() != Method::GET && !upgrade {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "only GET\n");
    }
    if request.body().size_hint().upper() != Some(0) {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "no request body expected\n");
    }
    let json = |value: Result<String, serde_json::Error>| match value {
        Ok(text) => respond(StatusCode::OK, "application/json", text + "\n"),
        Err(error) => plain(StatusCode::INTERNAL_SERVER_ERROR, &format!("{error}\n")),
    };
    if upgrade {
        // The binary travels in a header (any bytes but control characters), so that no path
        // needs encoding into the URI.
        use std::os::unix::ffi::OsStrExt;
        let binary = request
            .headers()
            .get(UPGRADE_BINARY_HEADER)
            .map(|value| std::path::PathBuf::from(std::ffi::OsStr::from_bytes(value.as_bytes())));
        return if reporter.request_upgrade(binary) {
            plain(StatusCode::ACCEPTED, "upgrading\n")
        } else {
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the daemon cannot take the request\n",
            )
        };
    }
    match (routes, request.uri().path()) {
        (Routes::Control, "/status") => json(serde_json::to_string(&reporter.status())),
        (Routes::Control, "/stats") => json(serde_json::to_string(&reporter.stats())),
        (Routes::Metrics, "/metrics" | "/") => respond(
            StatusCode::OK,
            super::metrics::CONTENT_TYPE,
            super::metrics::render(
                &reporter.status(),
                &reporter.stats(),
                &reporter.keepalived_dump(),
            ),
        ),
        _ => plain(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    respond(status, "text/plain", text.to_string())
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}
