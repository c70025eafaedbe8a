//! Checks a condition every few milliseconds in a thread of its own, until stopped: how the
//! hitless tests show that a VIP stayed on the master and the XDP program stayed attached at
//! every moment of a reload or an upgrade.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::topology::Host;

/// The period of the hitless tests' samples.
pub const EVERY_5_MS: Duration = Duration::from_millis(5);

pub struct Sampler {
    stop: Arc<AtomicBool>,
    samples: Arc<AtomicU64>,
    misses: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What a sampler counted: how many samples, and in how many the condition did not hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Samples {
    pub taken: u64,
    pub missed: u64,
}

impl Sampler {
    /// Starts checking `holds` every `period`.
    pub fn start(period: Duration, holds: impl Fn() -> bool + Send + 'static) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(AtomicU64::new(0));
        let misses = Arc::new(AtomicU64::new(0));
        let (flag, taken, missed) = (stop.clone(), samples.clone(), misses.clone());
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                taken.fetch_add(1, Ordering::Relaxed);
                if !holds() {
                    missed.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(period);
            }
        });
        Sampler {
            stop,
            samples,
            misses,
            thread: Some(thread),
        }
    }

    /// Every 5 ms: is `address` on the host's eth0?
    pub fn address(host: &Host, address: &'static str) -> Sampler {
        let namespace = host.ns.name().to_string();
        Sampler::start(EVERY_5_MS, move || {
            ip_shows(
                &namespace,
                &["-o", "addr", "show", "dev", "eth0"],
                &format!(" {address}/"),
            )
        })
    }

    /// Every 5 ms: does `ip link` show an XDP program on the host's eth0?
    pub fn xdp_attached(host: &Host) -> Sampler {
        let namespace = host.ns.name().to_string();
        Sampler::start(EVERY_5_MS, move || {
            ip_shows(&namespace, &["link", "show", "dev", "eth0"], "prog/xdp id")
        })
    }

    pub fn finish(mut self) -> Samples {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        Samples {
            taken: self.samples.load(Ordering::Relaxed),
            missed: self.misses.load(Ordering::Relaxed),
        }
    }
}

fn ip_shows(namespace: &str, args: &[&str], needle: &str) -> bool {
    std::process::Command::new("ip")
        .arg("-n")
        .arg(namespace)
        .args(args)
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(needle))
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
