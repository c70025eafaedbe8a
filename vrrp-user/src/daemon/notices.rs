//! What the protocol thread reports, carried out on the async side: addresses installed and
//! removed, gratuitous ARPs, notify scripts, the FIFOs and mail.

use std::collections::HashMap;
use std::sync::Arc;

use tracing::{info, warn};
use vrrp_common::maps::State;

use super::plan::InstancePlan;
use super::protocol::Outcome;
use super::{Daemon, script_identity};
use crate::config::model::SyncGroup;
use crate::notify::{Event, Notice, Notifier};

/// The states last announced, per instance and per sync group.
#[derive(Debug, Default)]
pub(super) struct Announced {
    instances: HashMap<String, State>,
    groups: HashMap<String, State>,
}

impl Announced {
    /// The states a previous image had announced, as `vrrpd upgrade` carried them over: a
    /// resumed instance announces nothing until it moves.
    pub(super) fn resumed(carried: &[super::protocol::CarriedInstance]) -> Announced {
        Announced {
            instances: carried
                .iter()
                .map(|c| (c.name.clone(), State::from_u8(c.fsm.state)))
                .collect(),
            groups: HashMap::new(),
        }
    }
}

impl Daemon {
    /// The sync groups of `member` that its transition to `to` completes: every member is now
    /// in `to` and the group was not (keepalived announces a group once, after its members).
    fn groups_now_in(&mut self, member: &str, to: State) -> Vec<SyncGroup> {
        let mut moved = Vec::new();
        for group in self
            .config
            .sync_groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == member))
        {
            let all_there = group
                .members
                .iter()
                .all(|m| self.announced.instances.get(m) == Some(&to));
            if all_there && self.announced.groups.get(&group.name) != Some(&to) {
                self.announced.groups.insert(group.name.clone(), to);
                moved.push(group.clone());
            }
        }
        moved
    }

    /// Hands an instance's event to its notify scripts and the FIFOs; returns the notice.
    fn announce_instance(&self, plan: &InstancePlan, event: Event, priority: u8) -> Notice {
        let notice = Notice {
            kind: "INSTANCE",
            name: plan.name().to_string(),
            event,
            priority,
        };
        let _ = self
            .notices
            .send((self.notifier(&plan.config.notify), notice.clone()));
        notice
    }

    pub(super) fn dispatch(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Transition {
                plan,
                from: _,
                to,
                event,
                reason,
                priority,
                at: _,
            } => {
                let notice = self.announce_instance(&plan, event, priority);
                self.snmp_transition(&plan, to, &reason);
                let groups_alert = self.config.sync_groups.iter().any(|g| {
                    g.smtp_alert == Some(true) && g.members.iter().any(|m| m == plan.name())
                });
                let fault_muted = to == State::Fault && self.config.global.no_email_faults;
                if (plan.config.smtp_alert == Some(true) || groups_alert) && !fault_muted {
                    self.email(&notice);
                }
                self.announced.instances.insert(plan.name().to_string(), to);
                for group in self.groups_now_in(plan.name(), to) {
                    self.snmp_group_transition(&group.name, to);
                    // keepalived's group notices carry no priority (0).
                    let group_notice = Notice {
                        kind: "GROUP",
                        name: group.name.clone(),
                        priority: 0,
                        ..notice.clone()
                    };
                    let _ = self
                        .notices
                        .send((self.notifier(&group.notify), group_notice));
                }
            }
            Outcome::Notice {
                plan,
                event,
                priority,
            } => {
                self.announce_instance(&plan, event, priority);
            }
            Outcome::AuthFailure {
                plan,
                source,
                type_mismatch,
            } => self.snmp_auth_failure(&plan, source, type_mismatch),
            Outcome::Stopped => {}
        }
    }

    /// keepalived's `fifo_write_vrrp_states_on_reload`: after a reload every sync group's state,
    /// and the state of every instance outside a sync group, as last announced, goes to the
    /// FIFOs again (keepalived restarts the FIFO scripts on a reload; this tells them where
    /// everything stands; like keepalived 2.2.7, a group stands for its members). An instance
    /// that has not started yet has nothing to say.
    pub(super) fn write_states_to_fifos(&self) {
        use crate::control::Reporter;
        let status = self.shared.status();
        for instance in &status.instances {
            let grouped = self
                .config
                .sync_groups
                .iter()
                .any(|g| g.members.contains(&instance.name));
            let Some(&state) = self.announced.instances.get(&instance.name) else {
                continue;
            };
            if grouped {
                continue;
            }
            if state == State::Initialize {
                continue;
            }
            let notice = Notice {
                kind: "INSTANCE",
                name: instance.name.clone(),
                event: Event::Entered(state),
                priority: instance.effective_priority,
            };
            self.fifos.write(&notice.fifo_line());
        }
        let mut groups: Vec<(&String, &State)> = self.announced.groups.iter().collect();
        groups.sort_by_key(|(name, _)| *name);
        for (name, &state) in groups {
            if !self.config.sync_groups.iter().any(|g| &g.name == name) {
                continue;
            }
            let notice = Notice {
                kind: "GROUP",
                name: name.clone(),
                event: Event::Entered(state),
                // keepalived's group notices carry no priority.
                priority: 0,
            };
            self.fifos.write(&notice.fifo_line());
        }
    }

    /// `smtp_alert`: one email per transition, sent in the background.
    pub(super) fn email(&self, notice: &Notice) {
        let global = &self.config.global;
        let Some(server) = global.smtp_server.clone() else {
            warn!("({}) smtp_alert without smtp_server", notice.name);
            return;
        };
        if global.notification_email.is_empty() {
            return;
        }
        let router = global
            .router_id
            .clone()
            .or_else(crate::host::host_name)
            .unwrap_or_default();
        let state = notice.state_word();
        let alert = crate::notify::smtp::Alert {
            server,
            timeout: global.smtp_connect_timeout,
            from: global
                .notification_email_from
                .clone()
                .unwrap_or_else(|| format!("keepalived@{router}")),
            to: global.notification_email.clone(),
            helo: global
                .smtp_helo_name
                .clone()
                .or_else(crate::host::host_name)
                .unwrap_or_else(|| "vrrpd".into()),
            subject: format!(
                "[{router}] VRRP Instance {} - Entering {state} state",
                notice.name
            ),
            body: format!(
                "=> VRRP Instance {} is now {state} (priority {}) on {router} <=",
                notice.name, notice.priority
            ),
        };
        tokio::spawn(async move {
            match crate::notify::smtp::send(&alert).await {
                Ok(()) => info!("SMTP alert sent for {}", alert.subject),
                Err(error) => warn!("SMTP alert for {}: {error}", alert.subject),
            }
        });
    }

    pub(super) fn notifier(&self, scripts: &crate::config::model::Notify) -> Notifier {
        let global = &self.config.global;
        Notifier {
            scripts: scripts.clone(),
            fifos: Arc::clone(&self.fifos),
            identity: script_identity(&self.config),
            secure: global.enable_script_security,
        }
    }
}
