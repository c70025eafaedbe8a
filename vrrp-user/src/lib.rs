//! vrrpd: a keepalived-compatible VRRP daemon whose hot path runs in an XDP program.
//!
//! One module per concern; I/O lives at the edges (`datapath`, `net`, `daemon`), the protocol
//! decisions in sans-IO modules (`fsm`, and `vrrp_common` shared with the XDP program).

pub mod audit;
pub mod cli;
pub mod config;
pub mod control;
pub mod daemon;
pub mod datapath;
pub mod fsm;
pub mod host;
pub mod manual;
pub mod net;
pub mod notify;
pub mod script;
pub mod snmp;
pub mod track;
pub mod version;
