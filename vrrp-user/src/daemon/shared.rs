//! State the async side shares: the protocol handle, the datapath, counters and the latest
//! tracking observations, and the snapshots `vrrpd status` / `stats` are made of.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use vrrp_common::stats::Counter;

use super::protocol::{ProtocolHandle, Published};
use crate::control::Reporter;
use crate::control::model::{
    DaemonStatus, DatapathStats, InstanceSnapshot, InstanceStats, Stats, Status,
};
use crate::datapath::xdp::DatapathReader;
use crate::track::{Observation, Source};

pub struct Shared {
    /// The process across its images (`vrrpd upgrade`).
    pub daemon: Mutex<DaemonStatus>,
    /// `vrrpd upgrade` requests, for the main loop.
    pub upgrades: tokio::sync::mpsc::UnboundedSender<Option<std::path::PathBuf>>,
    pub protocol: ProtocolHandle,
    /// The XDP counters and LIVENESS on their own descriptors (None in socket mode, and
    /// until the program loaded in the background is attached).
    pub datapath: arc_swap::ArcSwapOption<DatapathReader>,
    /// What the protocol thread publishes: read without a lock, without asking the thread.
    pub published: Arc<Published>,
    pub announced: Arc<Mutex<HashMap<String, u64>>>,
    pub total_announced: Arc<AtomicU64>,
    pub observations: Mutex<HashMap<Source, Observation>>,
    pub started: std::time::Instant,
    /// The counters as they stood at the last SIGSTATS_CLEAR: what is reported is what was
    /// counted since.
    pub cleared: Mutex<Cleared>,
    /// The configuration and the plans running, for keepalived's JSON dump.
    pub configured: arc_swap::ArcSwap<Configured>,
    /// RFC 6527's protocol errors, as the SNMP subagent watches them.
    pub proto_errors: Mutex<super::snmp::ProtoErrors>,
}

/// What the daemon runs, as the last start or reload resolved it.
#[derive(Debug, Default)]
pub struct Configured {
    pub config: Option<Arc<crate::config::Config>>,
    pub plans: Vec<Arc<super::plan::InstancePlan>>,
}

/// The baselines of keepalived's SIGSTATS_CLEAR.
#[derive(Debug, Default)]
pub struct Cleared {
    pub datapath: Option<[u64; Counter::COUNT]>,
    pub instances: HashMap<String, crate::fsm::Counters>,
    /// The valid adverts each instance's datapath record had counted.
    pub adverts_seen: HashMap<String, u64>,
    pub receive_errors: HashMap<String, vrrp_common::stats::ReceiveErrors>,
}

impl Shared {
    /// Every instance as the protocol thread last published it, with the kernel's LIVENESS
    /// record read now (the XDP program tracks the master without waking the thread).
    pub fn snapshot(&self) -> Vec<InstanceSnapshot> {
        let mut snapshots = (*self.published.snapshots()).clone();
        if let Some(reader) = self.datapath.load().as_deref() {
            let liveness = reader.liveness_table();
            for snapshot in &mut snapshots {
                if let Some(live) = liveness.get(&snapshot.key) {
                    snapshot.liveness = *live;
                }
                if let Some(errors) = reader.receive_errors(&snapshot.key) {
                    snapshot.receive_errors = snapshot.receive_errors.plus(&errors);
                }
            }
        }
        if let Ok(cleared) = self.cleared.lock() {
            for snapshot in &mut snapshots {
                if let Some(baseline) = cleared.instances.get(&snapshot.name) {
                    snapshot.counters = snapshot.counters.since(baseline);
                }
                if let Some(baseline) = cleared.adverts_seen.get(&snapshot.name) {
                    snapshot.liveness.adverts = snapshot.liveness.adverts.saturating_sub(*baseline);
                }
                if let Some(baseline) = cleared.receive_errors.get(&snapshot.name) {
                    snapshot.receive_errors = snapshot.receive_errors.since(baseline);
                }
            }
        }
        snapshots
    }

    pub fn datapath_name(&self) -> &'static str {
        if self.datapath.load().is_some() {
            "xdp"
        } else {
            "socket"
        }
    }

    /// The datapath's counters: the XDP program's plus what the sockets judged (in XDP mode
    /// only `auth_type AH` adverts, which the program passes up), or socket mode's.
    pub fn counters(&self) -> [u64; Counter::COUNT] {
        let mut counters = self.raw_counters();
        if let Ok(cleared) = self.cleared.lock()
            && let Some(baseline) = &cleared.datapath
        {
            for (counter, base) in counters.iter_mut().zip(baseline) {
                *counter = counter.saturating_sub(*base);
            }
        }
        counters
    }

    fn raw_counters(&self) -> [u64; Counter::COUNT] {
        let mut counters = self.published.socket_counters();
        if let Some(reader) = self.datapath.load().as_deref() {
            for (sum, kernel) in counters.iter_mut().zip(reader.counters()) {
                *sum += kernel;
            }
        }
        counters
    }

    /// keepalived's SIGSTATS_CLEAR: the statistics count from zero again (the datapath's and
    /// every instance's; taken as baselines, the kernel's counters stay as they are).
    pub fn clear_statistics(&self) {
        let datapath = self.raw_counters();
        if let Ok(mut cleared) = self.cleared.lock() {
            *cleared = Cleared::default();
        }
        let snapshots = self.snapshot();
        let instances = snapshots
            .iter()
            .map(|snapshot| (snapshot.name.clone(), snapshot.counters))
            .collect();
        let adverts_seen = snapshots
            .iter()
            .map(|snapshot| (snapshot.name.clone(), snapshot.liveness.adverts))
            .collect();
        let receive_errors = snapshots
            .iter()
            .map(|snapshot| (snapshot.name.clone(), snapshot.receive_errors))
            .collect();
        if let Ok(mut cleared) = self.cleared.lock() {
            *cleared = Cleared {
                datapath: Some(datapath),
                instances,
                adverts_seen,
                receive_errors,
            };
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
            self.daemon.lock().map(|d| d.clone()).unwrap_or_default(),
        )
    }

    fn keepalived_dump(&self) -> serde_json::Value {
        let configured = self.configured.load();
        let Some(config) = &configured.config else {
            return serde_json::Value::Array(Vec::new());
        };
        let wall_now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64());
        super::keepalived_json::dump(config, &configured.plans, &self.snapshot(), wall_now)
    }

    fn request_upgrade(&self, binary: Option<std::path::PathBuf>) -> bool {
        self.upgrades.send(binary).is_ok()
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
        Source::Process(name) => format!("process:{name}"),
        Source::Addresses(name) => format!("addresses:{name}"),
        Source::NoUnicastPeer(name) => format!("unicast_fault_no_peer:{name}"),
    }
}

fn describe_observation(observation: &Observation) -> String {
    match observation {
        Observation::Ok(true) => "ok".into(),
        Observation::Ok(false) => "failed".into(),
        Observation::Value(value) => value.to_string(),
    }
}
