//! Tracking: vrrp_script, track_interface, track_file, track_process and the instance's own
//! interface, folded into each instance's health (a weight to add to its priority, or a fault)
//! as keepalived does.
//!
//! [`Health::of`] is the pure rule; [`run_script`], [`watch_file`] and
//! [`proc_events::watch_processes`] (over the sans-IO [`process::Census`]) produce
//! observations; the tracker task in the daemon keeps the latest observation of everything and
//! sends a new health to the protocol thread whenever an instance's changes.

pub mod proc_events;
pub mod process;

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::config::Config;
use crate::config::model::{Script, SyncGroup};
use crate::fsm::FaultReason;
use crate::script::{self, Identity};

/// Something tracked, by kind and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Source {
    Script(String),
    Interface(String),
    File(String),
    Process(String),
    /// The instance's virtual addresses could not be installed.
    Addresses(String),
    /// `unicast_fault_no_peer` on an instance without peers: failed for as long as that
    /// configuration runs, with nothing to observe.
    NoUnicastPeer(String),
}

/// The latest observation of a source: up/down, or the number in a tracked file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Observation {
    Ok(bool),
    Value(i64),
}

/// One tracked item of an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub source: Source,
    /// 0: failure means FAULT.
    pub weight: i32,
    pub reverse: bool,
    /// The fault this item reports when it fails with weight 0.
    pub fails_as: FaultReason,
}

impl Item {
    /// A tracked item (`track_interface`, `track_script`, `track_file`, the addresses).
    pub fn tracked(source: Source, weight: i32, reverse: bool) -> Item {
        let fails_as = match &source {
            Source::Script(name) => FaultReason::TrackScriptFailed(name.clone()),
            Source::Interface(name) => FaultReason::TrackedInterfaceDown(name.clone()),
            Source::File(name) => FaultReason::TrackFileFailed(name.clone()),
            Source::Process(name) => FaultReason::TrackProcessFailed(name.clone()),
            Source::Addresses(_) => FaultReason::AddressesRefused,
            Source::NoUnicastPeer(_) => FaultReason::NoUnicastPeer,
        };
        Item {
            source,
            weight,
            reverse,
            fails_as,
        }
    }

    /// The instance's own interface: down means FAULT (unless `dont_track_primary`).
    pub fn own_interface(name: &str) -> Item {
        Item {
            source: Source::Interface(name.to_string()),
            weight: 0,
            reverse: false,
            fails_as: FaultReason::InterfaceDown(name.to_string()),
        }
    }
}

/// What an instance tracks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceTracking {
    pub name: String,
    pub items: Vec<Item>,
}

/// The effect of tracking on an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    pub weight: i32,
    pub fault: Option<FaultReason>,
}

impl Health {
    /// keepalived's rules: an item with weight 0 faults the instance when it fails; a positive
    /// weight is added while it succeeds, a negative one while it fails (`reverse` swaps); a
    /// tracked file contributes its number times the weight (0 weight: non-zero faults).
    pub fn of(tracking: &InstanceTracking, observations: &HashMap<Source, Observation>) -> Health {
        let mut health = Health {
            weight: 0,
            fault: None,
        };
        for item in &tracking.items {
            let observation = match &item.source {
                Source::NoUnicastPeer(_) => Some(&Observation::Ok(false)),
                source => observations.get(source),
            };
            let Some(observation) = observation else {
                continue;
            };
            match *observation {
                Observation::Ok(ok) => {
                    if item.weight == 0 {
                        if !ok && health.fault.is_none() {
                            health.fault = Some(item.fails_as.clone());
                        }
                        continue;
                    }
                    let counts = if item.weight > 0 {
                        ok != item.reverse
                    } else {
                        ok == item.reverse
                    };
                    if counts {
                        health.weight += item.weight;
                    }
                }
                Observation::Value(value) => {
                    if item.weight == 0 {
                        if value != 0 && health.fault.is_none() {
                            health.fault = Some(item.fails_as.clone());
                        }
                        continue;
                    }
                    let contribution = value.saturating_mul(i64::from(item.weight));
                    let contribution = if item.reverse {
                        -contribution
                    } else {
                        contribution
                    };
                    health.weight = health
                        .weight
                        .saturating_add(contribution.clamp(-254, 254) as i32);
                }
            }
        }
        health
    }
}

/// What each instance tracks, from the configuration (sync groups' track_script included).
pub fn plan(config: &Config) -> Vec<InstanceTracking> {
    config
        .instances
        .iter()
        .filter(|i| !i.incomplete)
        .map(|instance| {
            let mut items = Vec::new();
            if !instance.dont_track_primary {
                items.push(Item::own_interface(&instance.interface));
            }
            // A sync group's tracking acts on every member (keepalived.conf(5)).
            let groups: Vec<&SyncGroup> = config
                .sync_groups
                .iter()
                .filter(|g| g.members.contains(&instance.name))
                .collect();
            for tracked in instance
                .track_interfaces
                .iter()
                .chain(groups.iter().flat_map(|g| g.track_interfaces.iter()))
            {
                items.push(Item::tracked(
                    Source::Interface(tracked.name.clone()),
                    tracked.weight.unwrap_or(0),
                    tracked.reverse,
                ));
            }
            for tracked in instance
                .track_scripts
                .iter()
                .chain(groups.iter().flat_map(|g| g.track_scripts.iter()))
            {
                if let Some(script) = config.scripts.iter().find(|s| s.name == tracked.name) {
                    items.push(Item::tracked(
                        Source::Script(script.name.clone()),
                        tracked.weight.unwrap_or(script.weight),
                        tracked.reverse || script.weight_reverse,
                    ));
                }
            }
            for tracked in instance
                .track_files
                .iter()
                .chain(groups.iter().flat_map(|g| g.track_files.iter()))
            {
                if let Some(file) = config.track_files.iter().find(|f| f.name == tracked.name) {
                    items.push(Item::tracked(
                        Source::File(file.name.clone()),
                        tracked.weight.unwrap_or(file.weight),
                        tracked.reverse || file.weight_reverse,
                    ));
                }
            }
            for tracked in instance
                .track_processes
                .iter()
                .chain(groups.iter().flat_map(|g| g.track_processes.iter()))
            {
                if let Some(process) = config
                    .track_processes
                    .iter()
                    .find(|p| p.name == tracked.name)
                {
                    items.push(Item::tracked(
                        Source::Process(process.name.clone()),
                        tracked.weight.unwrap_or(process.weight),
                        tracked.reverse || process.weight_reverse,
                    ));
                }
            }
            items.push(Item::tracked(
                Source::Addresses(instance.name.clone()),
                0,
                false,
            ));
            if instance.unicast_fault_no_peer && instance.unicast_peers.is_empty() {
                items.push(Item::tracked(
                    Source::NoUnicastPeer(instance.name.clone()),
                    0,
                    false,
                ));
            }
            InstanceTracking {
                name: instance.name.clone(),
                items,
            }
        })
        .collect()
}

/// Runs a vrrp_script forever: every `interval`, with a timeout (killed and counted as a
/// failure), applying rise/fall, reporting each change of state. It starts in `known` (the
/// state it was last seen in, when a reload or an upgrade restarts it: rise and fall go on from
/// there), else as keepalived starts a script: good unless `init_fail`.
pub async fn run_script(
    script: Script,
    identity: Identity,
    secure: bool,
    known: Option<bool>,
    updates: UnboundedSender<(Source, Observation)>,
) {
    let source = Source::Script(script.name.clone());
    let mut ok = known.unwrap_or(!script.init_fail);
    let _ = updates.send((source.clone(), Observation::Ok(ok)));
    let mut streak = 0u32;
    let timeout = script.timeout.unwrap_or(script.interval);
    let mut next = Instant::now();
    // A script that cannot run says so once, not every interval.
    let mut last_problem: Option<String> = None;
    loop {
        tokio::time::sleep_until(next).await;
        next += script.interval;
        let success = match run_once(&script, identity, secure, timeout).await {
            Ok(success) => {
                last_problem = None;
                success
            }
            Err(problem) => {
                if last_problem.as_deref() != Some(problem.as_str()) {
                    warn!("VRRP_Script({}): {problem}", script.name);
                    last_problem = Some(problem);
                }
                false
            }
        };
        if success == ok {
            streak = 0;
            continue;
        }
        streak += 1;
        let needed = if success { script.rise } else { script.fall };
        if streak >= needed {
            ok = success;
            streak = 0;
            info!(
                "VRRP_Script({}) {}",
                script.name,
                if ok { "succeeded" } else { "failed" }
            );
            if updates.send((source.clone(), Observation::Ok(ok))).is_err() {
                return;
            }
        }
    }
}

/// One run: `Ok(exit status was success)`, or why the script could not run at all.
async fn run_once(
    script: &Script,
    identity: Identity,
    secure: bool,
    timeout: Duration,
) -> Result<bool, String> {
    script::check_runnable(&script.command, secure).map_err(|e| e.to_string())?;
    let mut child = script::process(&script.command, &[], identity)
        .spawn()
        .map_err(|e| e.to_string())?;
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => Ok(status.success()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => {
            warn!(
                "VRRP_Script({}) timed out after {timeout:?}; killed",
                script.name
            );
            if let Some(pid) = child.id() {
                // SAFETY: signalling the script's own process group.
                unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
            }
            let _ = child.kill().await;
            Ok(false)
        }
    }
}

/// Polls a tracked file, reporting the number in it whenever it changes (missing or not a
/// number: 0).
pub async fn watch_file(
    name: String,
    path: std::path::PathBuf,
    updates: UnboundedSender<(Source, Observation)>,
) {
    let source = Source::File(name);
    let mut last = None;
    loop {
        let value = tokio::fs::read_to_string(&path)
            .await
            .ok()
            .and_then(|text| text.trim().parse::<i64>().ok())
            .unwrap_or(0);
        if last != Some(value) {
            last = Some(value);
            if updates
                .send((source.clone(), Observation::Value(value)))
                .is_err()
            {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracking(items: Vec<Item>) -> InstanceTracking {
        InstanceTracking {
            name: "VI_1".into(),
            items,
        }
    }

    fn item(source: Source, weight: i32, reverse: bool) -> Item {
        Item::tracked(source, weight, reverse)
    }

    #[test]
    fn keepalived_weight_rules() {
        let script = Source::Script("chk_down".into());
        let t = tracking(vec![item(script.clone(), -5, false)]);
        let mut seen = HashMap::new();
        seen.insert(script.clone(), Observation::Ok(true));
        assert_eq!(
            Health::of(&t, &seen),
            Health {
                weight: 0,
                fault: None
            }
        );
        seen.insert(script.clone(), Observation::Ok(false));
        assert_eq!(
            Health::of(&t, &seen),
            Health {
                weight: -5,
                fault: None
            }
        );
        let positive = tracking(vec![item(script.clone(), 10, false)]);
        assert_eq!(Health::of(&positive, &seen).weight, 0);
        seen.insert(script.clone(), Observation::Ok(true));
        assert_eq!(Health::of(&positive, &seen).weight, 10);
        let reversed = tracking(vec![item(script.clone(), -5, true)]);
        assert_eq!(Health::of(&reversed, &seen).weight, -5);
    }

    #[test]
    fn zero_weight_failure_is_a_fault() {
        let interface = Source::Interface("eth0".into());
        let own = tracking(vec![Item::own_interface("eth0")]);
        let mut seen = HashMap::new();
        seen.insert(interface.clone(), Observation::Ok(false));
        assert_eq!(
            Health::of(&own, &seen).fault,
            Some(FaultReason::InterfaceDown("eth0".into()))
        );
        let tracked = tracking(vec![item(interface, 0, false)]);
        assert_eq!(
            Health::of(&tracked, &seen).fault,
            Some(FaultReason::TrackedInterfaceDown("eth0".into()))
        );
    }

    #[test]
    fn a_tracked_file_multiplies_its_number_by_the_weight() {
        let file = Source::File("f".into());
        let t = tracking(vec![item(file.clone(), -10, false)]);
        let mut seen = HashMap::new();
        seen.insert(file.clone(), Observation::Value(2));
        assert_eq!(Health::of(&t, &seen).weight, -20);
        let faulting = tracking(vec![item(file.clone(), 0, false)]);
        assert!(Health::of(&faulting, &seen).fault.is_some());
        seen.insert(file, Observation::Value(0));
        assert!(Health::of(&faulting, &seen).fault.is_none());
    }
}
