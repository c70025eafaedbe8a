//! Fixtures the integration tests under `tests/` share; the machinery they run on (namespaces,
//! daemons, captures, BPF test runs) is the `vrrp-harness` crate.
