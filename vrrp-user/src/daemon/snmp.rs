//! The daemon's side of SNMP: the subagent started, restarted by a reload that changes its
//! settings, fed the daemon's state for its MIBs and the transitions for its notifications.

use std::sync::Arc;

use tracing::error;
use vrrp_common::maps::State;

use super::Daemon;
use super::plan::InstancePlan;
use super::shared::Shared;
use crate::control::model::InstanceSnapshot;
use crate::snmp::mib::{self, Enabled, Inputs, Running, View};
use crate::snmp::subagent::{DEFAULT_SOCKET, Endpoint, Subagent};

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
    let inputs = Inputs {
        config,
        instances: &instances,
        observations: &observations,
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
            Subagent::start(endpoint, enabled, Arc::new(move || view(&shared, enabled)))
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

    /// VRRP-MIB's vrrpTrapAuthFailure: adverts from `source` with the wrong password.
    pub(super) fn snmp_auth_failure(&self, plan: &InstancePlan, source: std::net::IpAddr) {
        let Some(agent) = &self.snmp else { return };
        if !self.config.global.snmp.traps || !agent.enabled.rfcv2 {
            return;
        }
        if let Some(notification) = crate::snmp::traps::auth_failure(&running(plan), source) {
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
