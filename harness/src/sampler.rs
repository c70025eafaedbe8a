//! Checks a condition every few milliseconds in a thread of its own, until stopped: how the
//! hitless tests show that a VIP stayed on the master and the XDP program stayed attached at
//! every moment of a reload or an upgrade.
//!
//! A host's conditions are read over rtnetlink from a thread that lives in the host's
//! namespace. They were read with `ip -n`, a process per sample: some 600 a second for the
//! upgrade test's three samplers, each making a mount namespace and mounting sysfs, a load
//! that held this 2-vCPU machine's CPUs off for milliseconds (seen by `stall::StallWitness`)
//! and delayed the very adverts the test times.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use vrrp_user::net::netlink::Netlink;

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
    /// Starts checking every `period`: `setup` makes the check on the sampler's own thread
    /// first (a check that needs per-thread state, such as a namespace). A setup that fails
    /// counts every sample as missed.
    fn start<F: FnMut() -> bool>(
        period: Duration,
        setup: impl FnOnce() -> anyhow::Result<F> + Send + 'static,
    ) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(AtomicU64::new(0));
        let misses = Arc::new(AtomicU64::new(0));
        let (flag, taken, missed) = (stop.clone(), samples.clone(), misses.clone());
        let thread = std::thread::spawn(move || {
            let mut holds = setup();
            if let Err(error) = &holds {
                eprintln!("sampler: {error:#}");
            }
            while !flag.load(Ordering::Relaxed) {
                taken.fetch_add(1, Ordering::Relaxed);
                if !holds.as_mut().is_ok_and(|holds| holds()) {
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
        let (namespace, interface) = (host.ns.name().to_string(), host.ifname);
        Sampler::start(EVERY_5_MS, move || {
            let wanted: IpAddr = address.parse()?;
            let inside = Inside::open(&namespace, interface)?;
            Ok(move || inside.addresses().is_ok_and(|all| all.contains(&wanted)))
        })
    }

    /// Every 5 ms: is an XDP program attached to the host's eth0 (what `ip link` shows as
    /// `prog/xdp id N`)?
    pub fn xdp_attached(host: &Host) -> Sampler {
        let (namespace, interface) = (host.ns.name().to_string(), host.ifname);
        Sampler::start(EVERY_5_MS, move || {
            let inside = Inside::open(&namespace, interface)?;
            Ok(move || inside.xdp_program().is_ok_and(|id| id.is_some()))
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

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// vrrpd's own rtnetlink client ([`Netlink`]), connected from inside a host's namespace on
/// the thread that uses it, and the index of the interface it looks at.
struct Inside {
    runtime: tokio::runtime::Runtime,
    netlink: Netlink,
    index: u32,
}

impl Inside {
    /// Moves the calling thread into `namespace` and connects there.
    fn open(namespace: &str, interface: &str) -> anyhow::Result<Inside> {
        vrrp_user::host::enter_network_namespace(namespace)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // The sockets are made here, in the namespace the thread has just entered.
        let (netlink, index) = runtime.block_on(async {
            let netlink = Netlink::connect()?;
            let index = netlink.link(interface).await?.index;
            anyhow::Ok((netlink, index))
        })?;
        Ok(Inside {
            runtime,
            netlink,
            index,
        })
    }

    /// The interface's addresses.
    fn addresses(&self) -> anyhow::Result<Vec<IpAddr>> {
        let all = self.runtime.block_on(self.netlink.addresses(self.index))?;
        Ok(all.into_iter().map(|info| info.address).collect())
    }

    /// The id of the XDP program attached to the interface, if any.
    fn xdp_program(&self) -> anyhow::Result<Option<u32>> {
        Ok(self
            .runtime
            .block_on(self.netlink.xdp_program(self.index))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Segment;

    /// Samples for 50 ms.
    fn sample(sampler: Sampler) -> Samples {
        std::thread::sleep(Duration::from_millis(50));
        sampler.finish()
    }

    #[test]
    fn the_samplers_see_an_address_come_and_no_program_where_none_is_attached() {
        crate::require_root();
        let segment = Segment::new(1).expect("segment");
        let host = segment.router(1);
        let absent = sample(Sampler::address(host, "192.0.2.77"));
        assert!(
            absent.taken > 0 && absent.missed == absent.taken,
            "{absent:?}"
        );
        host.ns
            .run_ok(["ip", "addr", "add", "192.0.2.77/24", "dev", "eth0"])
            .expect("ip addr add");
        let present = sample(Sampler::address(host, "192.0.2.77"));
        assert!(present.taken > 0 && present.missed == 0, "{present:?}");
        let xdp = sample(Sampler::xdp_attached(host));
        assert!(xdp.taken > 0 && xdp.missed == xdp.taken, "{xdp:?}");
    }
}
