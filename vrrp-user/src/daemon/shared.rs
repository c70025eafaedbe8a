//! State the async side shares: the protocol handle, the datapath, counters and the latest
//! tracking observations, and the snapshots `vrrpd status` / `stats` are made of.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vrrp_common::stats::Counter;

use super::protocol::{Command, ProtocolHandle};
use crate::control::Reporter;
use crate::control::model::{DatapathStats, InstanceSnapshot, InstanceStats, Stats, Status};
use crate::datapath::xdp::XdpDatapath;
use crate::track::{Observation, Source};

pub struct Shared {
    pub protocol: ProtocolHandle,
    pub datapath: Option<Arc<Mutex<XdpDatapath>>>,
    pub socket_counters: Arc<Mutex<[u64; Counter::COUNT]>>,
    pub announced: Arc<Mutex<HashMap<String, u64>>>,
    pub total_announced: Arc<AtomicU64>,
    pub observations: Mutex<HashMap<Source, Observation>>,
    pub started: std::time::Instant,
}

impl Shared {
    /// Every instance, as the protocol thread sees it now.
    pub fn snapshot(&self) -> Vec<InstanceSnapshot> {
        let (reply, answer) = std::sync::mpsc::channel();
        self.protocol.send(Command::Snapshot(reply));
        answer
            .recv_timeout(Duration::from_secs(2))
            .unwrap_or_default()
    }

    pub fn datapath_name(&self) -> &'static str {
        if self.datapath.is_some() {
            "xdp"
        } else {
            "socket"
        }
    }

    /// The datapath's counters (the XDP program's, or socket mode's).
    pub fn counters(&self) -> [u64; Counter::COUNT] {
        match &self.datapath {
            Some(datapath) => datapath
                .lock()
                .map(|d| d.counters())
                .unwrap_or([0; Counter::COUNT]),
            None => self
                .socket_counters
                .lock()
                .map(|c| *c)
                .unwrap_or([0; Counter::COUNT]),
        }
    }
}

impl Reporter for Shared {
    fn status(&self) -> Status {
        let now = crate::net::sys::monotonic_now();
        Status::from_snapshots(
            self.datapath_name(),
            self.started.elapsed(),
            &self.snapshot(),
            now,
        )
    }

    fn stats(&self) -> Stats {
        let announced = self.announced.lock().map(|a| a.clone()).unwrap_or_default();
        let instances = self
            .snapshot()
            .into_iter()
            .map(|snapshot| {
                InstanceStats::new(
                    &snapshot,
                    announced.get(&snapshot.name).copied().unwrap_or(0),
                )
            })
            .collect();
        let tracking = self
            .observations
            .lock()
            .map(|o| {
                o.iter()
                    .map(|(source, observation)| {
                        (describe_source(source), describe_observation(observation))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Stats {
            datapath: DatapathStats::new(self.datapath_name(), &self.counters()),
            instances,
            gratuitous_sent: self.total_announced.load(Ordering::Relaxed),
            tracking,
        }
    }
}

fn describe_source(source: &Source) -> String {
    match source {
        Source::Script(name) => format!("script:{name}"),
        Source::Interface(name) => format!("interface:{name}"),
        Source::File(name) => format!("file:{name}"),
        Source::Addresses(name) => format!("addresses:{name}"),
    }
}

fn describe_observation(observation: &Observation) -> String {
    match observation {
        Observation::Ok(true) => "ok".into(),
        Observation::Ok(false) => "failed".into(),
        Observation::Value(value) => value.to_string(),
    }
}
