//! The control socket: a unix socket (root-owned, mode 0600) answering one request per
//! connection: `status` or `stats`, as JSON.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tracing::warn;

use super::Reporter;

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
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let reporter = Arc::clone(&reporter);
        tokio::spawn(async move {
            let (reader, mut writer) = stream.into_split();
            let mut line = String::new();
            if BufReader::new(reader).read_line(&mut line).await.is_err() {
                return;
            }
            let answer = tokio::task::spawn_blocking(move || match line.trim() {
                "status" => serde_json::to_string(&reporter.status()),
                "stats" => serde_json::to_string(&reporter.stats()),
                other => Ok(format!("{{\"error\":\"unknown request {other:?}\"}}")),
            })
            .await;
            let text = match answer {
                Ok(Ok(text)) => text,
                _ => "{\"error\":\"internal\"}".to_string(),
            };
            let _ = writer.write_all(text.as_bytes()).await;
            let _ = writer.write_all(b"\n").await;
        });
    }
}
