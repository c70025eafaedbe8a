//! The datapath: how adverts reach the state machine and how ARP is answered.
//!
//! The XDP program (crate `vrrp-ebpf`) is the normal path; a raw-socket path serves hosts where
//! XDP cannot attach.

pub mod attach;
pub mod batch;
pub mod liveness;
pub mod program;
pub mod xdp;
