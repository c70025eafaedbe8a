//! The daemon's side of SNMP: the subagent started, restarted by a reload that changes its
//! settings, fed the daemon's state for its MIBs and the transitions for its notifications.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tracing::error;
use vrrp_common::maps::State;
use vrrp_common::stats::ReceiveErrors;

use super::Daemon;
use super::plan::InstancePlan;
use super::shared::Shared;
use crate::control::model::InstanceSnapshot;
use crate::snmp::mib::{self, Enabled, Inputs, Running, View};
use crate::snmp::subagent::{DEFAULT_SOCKET, Endpoint, Notifier, Subagent};

/// How often the instances' counters are looked at for RFC 6527 protocol errors: at most one
/// vrrpv3ProtoError a second per instance (keepalived sends one per refused advert, which a
/// flood turns into a flood of notifications).
const PROTO_ERROR_LOOK: Duration = Duration::from_secs(1);

/// RFC 6527's protocol errors (a wrong TTL, version or checksum): each instance's counters at
/// the last look, and its latest error (vrrpv3StatisticsProtoErrReason).
#[derive(Debug, Default)]
pub struct ProtoErrors {
    counted: HashMap<String, ReceiveErrors>,
    pub latest: HashMap<String, i32>,
}

impl ProtoErrors {
    /// Takes `name`'s counters now; the reason of a protocol error counted since the last look.
    fn observe(&mut self, name: &str, now: ReceiveErrors) -> Option<i32> {
        let before = self.counted.insert(name.to_string(), now)?;
        let reason = crate::snmp::vrrp_mib::proto_error_reason(&before, &now)?;
        self.latest.insert(name.to_string(), reason);
        Some(reason)
    }
}

/// Looks at the instances' counters every [`PROTO_ERROR_LOOK`], notes their protocol errors
/// for the MIB and, with `enable_traps`, sends vrrpv3ProtoError for each.
async fn watch_proto_errors(shared: Arc<Shared>, notifier: Notifier, enabled: Enabled) {
    let mut look = tokio::time::interval(PROTO_ERROR_LOOK);
    loop {
        look.tick().await;
        let configured = shared.configured.load();
        let traps = configured
            .config
            .as_ref()
            .is_some_and(|config| config.global.snmp.traps);
        for snapshot in shared.snapshot() {
            let reason = match shared.proto_errors.lock() {
                Ok(mut errors) => errors.observe(&snapshot.name, snapshot.receive_errors),
                Err(_) => None,
            };
            let Some(reason) = reason else { continue };
            let Some(plan) = configured.plans.iter().find(|p| p.name() == snapshot.name) else {
                continue;
            };
            // As keepalived: with enable_traps and the RFC 6527 MIB, for the instances it lists.
            if traps && enabled.rfcv3 && !plan.config.addresses.is_empty() {
                notifier.notify(crate::snmp::traps::proto_error(&running(plan), reason));
            }
        }
    }
}

/// What the command line and the configuration enable: `-x` as `enable_snmp_vrrp`, `-A` as
/// `snmp_socket` (the configuration's socket wins, as in keepalived).
fn settings(daemon: &Daemon) -> Option<(Endpoint, Enabled)> {
    let snmp = &daemon.config.global.snmp;
    let enabled = Enabled {
        keepalived: snmp.keepalived_mib || daemon.cli.snmp,
        rfcv2: snmp.rfcv2,
        rfcv3: snmp.rfcv3,
    };
    if enabled == Enabled::default() {
        return None;
    }
    let socket = snmp
        .socket
        .clone()
        .or_else(|| daemon.cli.snmp_agent_socket.clone())
        .unwrap_or_else(|| DEFAULT_SOCKET.to_string());
    match Endpoint::parse(&socket) {
        Ok(endpoint) => Some((endpoint, enabled)),
        Err(problem) => {
            error!("SNMP: {problem}; no subagent");
            None
        }
    }
}

/// A plan as the MIBs and the notifications see it.
fn running(plan: &InstancePlan) -> Running<'_> {
    Running {
        config: &plan.config,
        ifindex: plan.ifindex,
        mac: plan.mac,
        vmac: plan.vmac.as_ref().map(|v| v.name.as_str()),
        source: plan.source,
        family: plan.advert.family,
        accept: plan.accept,
        sync_group: plan.sync_group.as_deref(),
    }
}

/// The MIBs' objects as the daemon stands now.
fn view(shared: &Shared, enabled: Enabled) -> View {
    let configured = shared.configured.load();
    let Some(config) = configured.config.as_ref() else {
        return View::default();
    };
    let snapshots = shared.snapshot();
    let instances: Vec<(Running, &InstanceSnapshot)> = configured
        .plans
        .iter()
        .filter_map(|plan| {
            let snapshot = snapshots.iter().find(|s| s.name == plan.name())?;
            Some((running(plan), snapshot))
        })
        .collect();
    let observations = shared
        .observations
        .lock()
        .map(|o| o.clone())
        .unwrap_or_default();
    let hostname = crate::host::host_name().unwrap_or_default();
    let proto_errors = shared
        .proto_errors
        .lock()
        .map(|errors| errors.latest.clone())
        .unwrap_or_default();
    let inputs = Inputs {
        config,
        instances: &instances,
        observations: &observations,
        proto_errors: &proto_errors,
        interface_index: &crate::net::sys::interface_index,
        hostname: &hostname,
        uptime_cs: (shared.started.elapsed().as_millis() / 10) as u32,
    };
    mib::build(&inputs, enabled)
}

impl Daemon {
    /// Starts the subagent, or restarts it when its settings changed (a reload); stops it when
    /// the configuration no longer enables it.
    pub(super) fn apply_snmp_settings(&mut self) {
        let wanted = settings(self);
        let running = self.snmp.as_ref().map(|s| (s.endpoint.clone(), s.enabled));
        if wanted == running {
            return;
        }
        self.snmp = wanted.map(|(endpoint, enabled)| {
            let shared = Arc::clone(&self.shared);
            let mut agent =
                Subagent::start(endpoint, enabled, Arc::new(move || view(&shared, enabled)));
            agent.accompany(tokio::spawn(watch_proto_errors(
                Arc::clone(&self.shared),
                agent.notifier(),
                enabled,
            )));
            agent
        });
    }

    /// keepalived's notifications for `plan`'s instance entering `to`.
    pub(super) fn snmp_transition(&self, plan: &InstancePlan, to: State, reason: &str) {
        let Some(agent) = &self.snmp else { return };
        if !self.config.global.snmp.traps {
            return;
        }
        let router_id = self.router_id();
        let running = running(plan);
        let initial = crate::snmp::keepalived_mib::initial_state(&running);
        for notification in crate::snmp::traps::on_transition(
            agent.enabled,
            &running,
            to,
            initial,
            reason,
            &router_id,
        ) {
            agent.notify(notification);
        }
    }

    /// VRRP-MIB's vrrpTrapAuthFailure: adverts from `source` with the wrong password (or,
    /// `type_mismatch`, another authentication type).
    pub(super) fn snmp_auth_failure(
        &self,
        plan: &InstancePlan,
        source: std::net::IpAddr,
        type_mismatch: bool,
    ) {
        let Some(agent) = &self.snmp else { return };
        if !self.config.global.snmp.traps || !agent.enabled.rfcv2 {
            return;
        }
        let running = running(plan);
        if let Some(notification) =
            crate::snmp::traps::auth_failure(&running, source, type_mismatch)
        {
            agent.notify(notification);
        }
    }

    /// keepalived's vrrpSyncGroupStateChange for a group that moved to `to`.
    pub(super) fn snmp_group_transition(&self, group: &str, to: State) {
        let Some(agent) = &self.snmp else { return };
        if !self.config.global.snmp.traps || !agent.enabled.keepalived {
            return;
        }
        agent.notify(crate::snmp::traps::group_state_change(
            group,
            to,
            &self.router_id(),
        ));
    }

    fn router_id(&self) -> String {
        let hostname = crate::host::host_name().unwrap_or_default();
        self.config.global.router_id_or(&hostname).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vrrp_common::stats::Counter;

    fn counted(counters: &[Counter]) -> ReceiveErrors {
        let mut errors = ReceiveErrors::default();
        for counter in counters {
            errors.count(*counter);
        }
        errors
    }

    #[test]
    fn a_protocol_error_is_reported_once_per_look_and_kept_as_the_latest() {
        let mut errors = ProtoErrors::default();
        // The first look takes the counters as they stand.
        assert_eq!(
            errors.observe("VI_1", counted(&[Counter::DropBadTtl])),
            None
        );
        assert_eq!(
            errors.observe("VI_1", counted(&[Counter::DropBadTtl])),
            None
        );
        let ttl_twice = counted(&[Counter::DropBadTtl, Counter::DropBadTtl]);
        assert_eq!(errors.observe("VI_1", ttl_twice), Some(1));
        // Errors that are not protocol errors (RFC 6527) say nothing.
        let more = ttl_twice.plus(&counted(&[Counter::DropAuthFailure]));
        assert_eq!(errors.observe("VI_1", more), None);
        let checksum = more.plus(&counted(&[Counter::DropBadChecksum]));
        assert_eq!(errors.observe("VI_1", checksum), Some(3));
        let version = checksum.plus(&counted(&[Counter::DropVersionMismatch]));
        assert_eq!(errors.observe("VI_1", version), Some(2));
        assert_eq!(errors.latest.get("VI_1"), Some(&2));
        // Counters cleared (SIGSTATS_CLEAR): nothing new.
        assert_eq!(errors.observe("VI_1", ReceiveErrors::default()), None);
    }
}
