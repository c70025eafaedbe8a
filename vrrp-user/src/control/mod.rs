//! Operability: the control socket and `vrrpd status` / `stats`, their JSON schema, the
//! Prometheus endpoint, and the human-readable renderings (also used by the signal dumps).

pub mod client;
pub mod http;
pub mod metrics;
pub mod model;
pub mod render;
pub mod server;

use model::{Stats, Status};

/// What the control socket and the metrics endpoint ask the daemon for. The daemon implements
/// it; this module knows nothing else of the daemon.
pub trait Reporter: Send + Sync + 'static {
    fn status(&self) -> Status;
    fn stats(&self) -> Stats;
    /// `vrrpd upgrade`: asks the daemon to replace its image with `binary` (its own path when
    /// `None`); false if the request could not be queued. The outcome shows in
    /// [`model::DaemonStatus`].
    fn request_upgrade(&self, binary: Option<std::path::PathBuf>) -> bool;
    /// keepalived's JSON dump of the instances (its vrrp_json.c schema), from which the
    /// metrics keepalived-exporter publishes are derived as that exporter derives them.
    fn keepalived_dump(&self) -> serde_json::Value;
}
