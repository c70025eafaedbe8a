//! The control socket: a unix socket (root-owned, mode 0600) answering `GET /status` and
//! `GET /stats` with JSON, over HTTP/1.1 (`http`).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::UnixListener;
use tracing::warn;

use super::Reporter;
use super::http::{self, Listener, Routes};

pub async fn serve(path: PathBuf, reporter: Arc<dyn Reporter>) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::remove_file(&path);
    let listener = match UnixListener::bind(&path) {
        Ok(listener) => listener,
        Err(error) => {
            warn!("control socket {}: {error}", path.display());
            return;
        }
    };
    if let Err(error) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)) {
        warn!("control socket {}: {error}", path.display());
    }
    http::serve(Listener::Unix(listener), Routes::Control, reporter).await;
}
