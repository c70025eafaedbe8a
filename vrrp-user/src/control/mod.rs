//! The control socket and its client (`vrrpd status`, `vrrpd stats`).

pub mod client;
