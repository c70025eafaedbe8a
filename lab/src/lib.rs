//! The product's demonstration and measuring instrument, on the namespace harness
//! (`vrrp-harness`): the live failover lab (`cargo xtask lab`), the benchmarks against keepalived
//! (`cargo xtask bench`) and the chaos soak (`cargo xtask soak`). Each has a binary under `bin/`
//! that xtask runs, and a test under `tests/` that runs it briefly in the suite.

pub mod bench;
pub mod lab;
pub mod soak;
