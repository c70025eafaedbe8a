//! The harness the integration tests and the lab (with its benchmarks and soak) are built on:
//! network namespaces and the segment topology, spawned processes and daemons (vrrpd,
//! keepalived, FRR), captures, raw packet sockets, a pinger, the load generator, BPF test runs,
//! and scenarios run under vrrpd and keepalived side by side.

pub mod bpf_run;
pub mod capture;
pub mod cpus;
pub mod daemons;
pub mod differential;
pub mod driver_mode;
pub mod fixtures;
pub mod frr;
pub mod loadgen;
pub mod netns;
pub mod packet_socket;
pub mod pinger;
pub mod process;
pub mod sampler;
pub mod seed_pair;
pub mod side_by_side;
pub mod snmp;
pub mod stall;
pub mod topology;
pub mod wire;

/// Fails early, with a clear message, when a test that needs root runs without it.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "this test needs root (network namespaces, XDP, BPF test runs)"
    );
}

/// Polls `condition` every 20 ms until it holds; panics with `what` after `timeout` (a test
/// helper: a condition that never comes is the test's failure).
pub fn wait_until(what: &str, timeout: std::time::Duration, condition: impl FnMut() -> bool) {
    if let Err(error) = wait_until_ok(what, timeout, condition) {
        panic!("{error}");
    }
}

/// As [`wait_until`], for helpers that return errors: `Err` naming `what` after `timeout`.
pub fn wait_until_ok(
    what: &str,
    timeout: std::time::Duration,
    mut condition: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    while !condition() {
        anyhow::ensure!(started.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(())
}

/// Serialises the tests that measure protocol timing, so a busy machine cannot make them flaky:
/// hold the guard for the whole test.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
