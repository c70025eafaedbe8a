//! Operability: the control socket and `vrrpd status` / `stats`, their JSON schema, the
//! Prometheus endpoint, and the human-readable renderings (also used by the signal dumps).

pub mod client;
pub mod metrics;
pub mod model;
pub mod render;
pub mod server;
