//! The documented, stable JSON schema of `vrrpd status --json` and `vrrpd stats --json`
//! (schema version 1; fields are only ever added).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vrrp_common::maps::State;
use vrrp_common::stats::Counter;
use vrrp_common::time::Instant;
use vrrp_common::wire::Family;

pub const SCHEMA_VERSION: u32 = 1;

/// One instance as the protocol thread publishes it for `vrrpd status` / `stats`.
#[derive(Clone, Debug)]
pub struct InstanceSnapshot {
    pub name: String,
    /// The instance's LIVENESS / CONFIG key.
    pub key: vrrp_common::maps::InstanceKey,
    pub interface: String,
    pub vrid: u8,
    pub family: Family,
    pub state: State,
    pub base_priority: u8,
    pub effective_priority: u8,
    /// The address our adverts carry.
    pub source: std::net::IpAddr,
    /// The latest record of the master's adverts: in XDP mode the kernel's LIVENESS entry read
    /// when the snapshot is served, else the state machine's copy.
    pub liveness: vrrp_common::maps::Liveness,
    pub last_transition: Option<(Instant, String)>,
    pub counters: crate::fsm::Counters,
    /// keepalived's per-instance receive errors: the sockets' count, plus in XDP mode the
    /// program's (INSTANCE_ERRORS) added when the snapshot is served.
    pub receive_errors: vrrp_common::stats::ReceiveErrors,
    pub addresses: Vec<String>,
}

impl InstanceSnapshot {
    /// The master as this router knows it: itself, or the sender of the adverts it tracks.
    pub fn master(&self) -> Option<(std::net::IpAddr, u8)> {
        match self.state {
            State::Master => Some((self.source, self.effective_priority)),
            _ if self.liveness.last_reset_ns != 0 => Some((
                vrrp_common::wire::raw_to_ip(self.family, &self.liveness.master),
                self.liveness.master_priority,
            )),
            _ => None,
        }
    }

    /// Valid adverts the datapath saw (every one in XDP mode).
    pub fn adverts_seen(&self) -> u64 {
        self.liveness.adverts
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Status {
    pub schema: u32,
    pub version: String,
    /// "xdp" or "socket".
    pub datapath: String,
    pub uptime_seconds: f64,
    pub instances: Vec<InstanceStatus>,
    /// The process and its images (added in schema 1; absent from older daemons' answers).
    #[serde(default)]
    pub daemon: Option<DaemonStatus>,
    /// What the running image is (as `vrrpd --version` says it).
    #[serde(default)]
    pub build: Option<BuildStatus>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct BuildStatus {
    pub version: String,
    pub commit: String,
    pub aya: String,
    pub xdp_build_id: String,
}

impl BuildStatus {
    pub fn of_this_image() -> BuildStatus {
        BuildStatus {
            version: crate::version::VERSION.into(),
            commit: crate::version::COMMIT.into(),
            aya: crate::version::AYA.into(),
            xdp_build_id: crate::version::XDP_BUILD_ID.into(),
        }
    }
}

/// The daemon's process across `vrrpd upgrade`: the PID stays, the image's generation counts up.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct DaemonStatus {
    pub pid: u32,
    /// 1 for a daemon started afresh, one more for each image that followed by `vrrpd upgrade`.
    pub generation: u64,
    /// How this image came: "start", "upgrade" (the state adopted from the previous image) or
    /// "safe restart" (the previous image released its instances first; see `last_upgrade`).
    pub came_by: String,
    /// Upgrades this image refused before replacing itself (the binary would not run).
    pub upgrades_refused: u64,
    /// How this image came (adopted, or a safe restart and why), or why the last upgrade was
    /// refused.
    pub last_upgrade: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct InstanceStatus {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    /// "ipv4" or "ipv6".
    pub family: String,
    /// "INIT", "BACKUP", "MASTER" or "FAULT".
    pub state: String,
    pub effective_priority: u8,
    pub base_priority: u8,
    pub master: Option<Master>,
    pub last_transition: Option<Transition>,
    pub vips: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Master {
    pub address: String,
    pub priority: u8,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Transition {
    pub reason: String,
    pub seconds_ago: f64,
}

impl Status {
    pub fn from_snapshots(
        datapath: &str,
        uptime: Duration,
        snapshots: &[InstanceSnapshot],
        now: Instant,
        daemon: DaemonStatus,
    ) -> Status {
        Status {
            daemon: Some(daemon),
            build: Some(BuildStatus::of_this_image()),
            schema: SCHEMA_VERSION,
            version: env!("CARGO_PKG_VERSION").to_string(),
            datapath: datapath.to_string(),
            uptime_seconds: uptime.as_secs_f64(),
            instances: snapshots
                .iter()
                .map(|s| InstanceStatus {
                    name: s.name.clone(),
                    interface: s.interface.clone(),
                    vrid: s.vrid,
                    family: family_name(s.family).into(),
                    state: s.state.keepalived_name().into(),
                    effective_priority: s.effective_priority,
                    base_priority: s.base_priority,
                    master: s.master().map(|(address, priority)| Master {
                        address: address.to_string(),
                        priority,
                    }),
                    last_transition: s.last_transition.as_ref().map(|(at, reason)| Transition {
                        reason: reason.clone(),
                        seconds_ago: now.saturating_since(*at).as_secs_f64(),
                    }),
                    vips: s.addresses.clone(),
                })
                .collect(),
        }
    }
}

pub fn family_name(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "ipv4",
        Family::Ipv6 => "ipv6",
    }
}

pub fn state_value(state: &str) -> u8 {
    match state {
        "BACKUP" => State::Backup as u8,
        "MASTER" => State::Master as u8,
        "FAULT" => State::Fault as u8,
        _ => State::Initialize as u8,
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Stats {
    pub datapath: DatapathStats,
    pub instances: Vec<InstanceStats>,
    pub gratuitous_sent: u64,
    /// Latest observation per tracked source ("script:chk_down" -> "ok").
    pub tracking: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DatapathStats {
    pub mode: String,
    /// Every counter by name; drop reasons are those in `drops`.
    pub counters: BTreeMap<String, u64>,
    pub drops: BTreeMap<String, u64>,
}

impl DatapathStats {
    pub fn new(mode: &str, values: &[u64; Counter::COUNT]) -> DatapathStats {
        let mut counters = BTreeMap::new();
        let mut drops = BTreeMap::new();
        for counter in Counter::ALL {
            let value = values[counter as usize];
            if counter.is_drop() {
                drops.insert(counter.name().to_string(), value);
            } else {
                counters.insert(counter.name().to_string(), value);
            }
        }
        DatapathStats {
            mode: mode.to_string(),
            counters,
            drops,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct InstanceStats {
    pub name: String,
    pub adverts_sent: u64,
    /// Adverts the state machine processed (in XDP mode: the ones that changed something).
    pub adverts_received: u64,
    /// Valid adverts the datapath saw for this instance (every one, in XDP mode).
    pub adverts_seen: u64,
    pub transitions: u64,
    pub became_master: u64,
    pub released_master: u64,
    pub priority_zero_sent: u64,
    pub priority_zero_received: u64,
    pub gratuitous_sent: u64,
}

impl InstanceStats {
    pub fn new(snapshot: &InstanceSnapshot, gratuitous_sent: u64) -> InstanceStats {
        let c = &snapshot.counters;
        InstanceStats {
            name: snapshot.name.clone(),
            adverts_sent: c.adverts_sent,
            adverts_received: c.adverts_received,
            adverts_seen: snapshot.adverts_seen(),
            transitions: c.transitions,
            became_master: c.became_master,
            released_master: c.released_master,
            priority_zero_sent: c.priority_zero_sent,
            priority_zero_received: c.priority_zero_received,
            gratuitous_sent,
        }
    }
}
