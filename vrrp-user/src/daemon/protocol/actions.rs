//! What a state machine asks for, carried out: adverts sent on the spot, transitions logged in
//! keepalived's words and reported to the async side (addresses, GARPs, notify), the
//! datapath's CONFIG rewritten when the instance's picture changed.

use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, info};
use vrrp_common::maps::State;
use vrrp_common::time::Instant;
use vrrp_common::wire::Family;
use vrrp_common::wire::vrrp::PRIORITY_STOP;

use super::{Outcome, Thread, Unpublished};
use crate::daemon::addresses::Work;
use crate::fsm::{Action, Input, Reason};
use crate::net::sys::monotonic_now;
use crate::notify::Event;

/// At most one takeover's address work on the protocol thread per this much time: it takes
/// some 0.1–0.3 ms (the netlink requests, then a round of gratuitous ARPs).
const AT_ONCE_EVERY: Duration = Duration::from_millis(1);

impl Thread {
    /// Feeds an input to one state machine and carries out what it asks; a transition of a
    /// sync-group member is passed on to the other members.
    pub(super) fn input(&mut self, index: usize, input: Input, now: Instant) {
        let mut actions = Vec::new();
        self.instances[index].fsm.handle(input, now, &mut actions);
        if actions.is_empty() {
            return;
        }
        self.changed(Unpublished::Counters);
        let sync = super::sync::events_for_the_group(&actions);
        let mut config_changed = false;
        for action in actions {
            config_changed |= self.act(index, action, now);
        }
        // A transition's report (notifies, SNMP traps) once the input's addresses and
        // gratuitous ARPs are asked for (`Action::Transition`).
        for outcome in self.transitions_reported.drain(..) {
            let _ = self.outcomes.send(outcome);
        }
        for event in sync {
            for member in self.group_members(index) {
                self.input(member, Input::Sync(event), now);
            }
        }
        if config_changed {
            self.write_datapath_config(index);
        }
    }

    /// Sends the queued adverts, one sendmmsg per socket (in the order they were queued).
    pub(super) fn send_queued_adverts(&mut self) {
        let sockets = &self.sockets;
        self.outbox.send_by_socket(|socket, packets| {
            let Some(socket) = sockets.get(&socket) else {
                return;
            };
            if let Err(error) = socket.send_batch(packets) {
                debug!("sending {} adverts: {error}", packets.len());
            }
        });
    }

    /// Whether a takeover's address work may be done on this thread rather than by the
    /// instance's worker (`AddressWorkers::install_at_once`): once per `AT_ONCE_EVERY`, so
    /// that when many instances take over together the thread still serves their adverts
    /// and deadlines on time (the rest go to their workers, which run in parallel).
    fn may_work_at_once(&mut self, now: Instant) -> bool {
        if now < self.last_at_once + AT_ONCE_EVERY {
            return false;
        }
        self.last_at_once = now;
        true
    }

    /// Rewrites the instance's CONFIG entry from its state machine and plan, in place.
    pub(super) fn write_datapath_config(&mut self, index: usize) {
        let running = &self.instances[index];
        let config = running.fsm.datapath_config(running.plan.datapath_base);
        let key = running.plan.key;
        if let Some(mut datapath) = self.xdp() {
            let _ = datapath.write_config(&key, &config);
        }
    }

    /// Carries out one action; says whether the datapath's CONFIG entry must be rewritten.
    pub(super) fn act(&mut self, index: usize, action: Action, now: Instant) -> bool {
        // The plan itself (a reference count), not a copy of its name: a master at scale acts
        // on some hundred thousand adverts a second.
        let plan = Arc::clone(&self.instances[index].plan);
        let name = plan.name();
        match action {
            Action::SendAdvert { priority } => {
                let running = &mut self.instances[index];
                let sent = if self.batching && priority != PRIORITY_STOP {
                    let (socket, outbox) = (running.socket, &mut self.outbox);
                    running
                        .template
                        .stamp(priority, running.ah.as_mut(), |packet| {
                            outbox.queue(socket, packet);
                            Ok(())
                        })
                } else if let Some(socket) = self.sockets.get(&running.socket) {
                    let started = monotonic_now();
                    let sent = running.template.send(socket, priority, running.ah.as_mut());
                    self.spot_send = super::SpotSend {
                        started,
                        returned: monotonic_now(),
                    };
                    sent
                } else {
                    Ok(())
                };
                if let Err(error) = sent {
                    debug!("({name}) sending advert: {error}");
                }
                if priority == PRIORITY_STOP {
                    info!("({name}) sent 0 priority");
                }
                self.last_advert_sent = now;
                false
            }
            Action::Transition { from, to, reason } => {
                let family = self.instances[index].plan.config.family;
                let reason_text = reason.describe(family);
                log_transition(
                    name,
                    to,
                    &reason,
                    &reason_text,
                    family,
                    self.instances[index].fsm.effective_priority(),
                );
                let plan = &self.instances[index].plan;
                let event = if self.deleting && to == State::Initialize {
                    Event::Deleted {
                        as_deleted: plan.config.notify_deleted,
                    }
                } else {
                    Event::Entered(to)
                };
                self.transitions_reported.push(Outcome::Transition {
                    plan: Arc::clone(plan),
                    from,
                    to,
                    event,
                    reason: reason_text,
                    priority: self.instances[index].fsm.effective_priority(),
                    at: now,
                });
                self.changed(Unpublished::State);
                true
            }
            Action::AddAddresses => {
                let at_once = self.may_work_at_once(now) && self.addresses.install_at_once(&plan);
                self.installed_at_once = at_once.then_some(index);
                if !at_once {
                    self.addresses.queue(Work::Install(Arc::clone(&plan)));
                }
                false
            }
            Action::RemoveAddresses => {
                self.addresses.queue(Work::Remove(Arc::clone(&plan)));
                false
            }
            Action::SendGratuitous { count } => {
                let at_once = self.installed_at_once.take() == Some(index)
                    && self.addresses.announce_at_once(&plan, count);
                if !at_once {
                    self.addresses
                        .queue(Work::Announce(Arc::clone(&plan), count));
                }
                false
            }
            Action::SendExtraGratuitous => {
                if let Some(extra) = self.instances[index].plan.extra_interface_addresses() {
                    self.addresses.queue(Work::Announce(Arc::new(extra), 1));
                }
                false
            }
            Action::LowerPriorityHeard { source, priority } => {
                let running = &self.instances[index];
                info!(
                    "({name}) Master received advert from {} with lower priority {priority}, ours {}, forcing new election",
                    vrrp_common::wire::raw_to_ip(running.plan.config.family, &source),
                    running.fsm.effective_priority()
                );
                let _ = self.outcomes.send(Outcome::Notice {
                    plan: Arc::clone(&running.plan),
                    event: Event::MasterReceivedLowerPriority,
                    priority: running.fsm.effective_priority(),
                });
                false
            }
            Action::PriorityChanged { from, to } => {
                info!("({name}) Changing effective priority from {from} to {to}");
                let running = &self.instances[index];
                let state = running.fsm.state();
                if running.plan.config.notify_priority_changes
                    && matches!(state, State::Master | State::Backup)
                {
                    let _ = self.outcomes.send(Outcome::Notice {
                        plan: Arc::clone(&running.plan),
                        event: Event::PriorityChanged(state),
                        priority: to,
                    });
                }
                true
            }
        }
    }
}

/// Logs a transition in keepalived's words, so operators' greps keep working: the line keepalived
/// writes before the change where it writes one ("Receive advertisement timeout", "Master
/// received advert from ... with higher priority ..."), then "Entering X STATE" — at start-up
/// exactly keepalived's "(init)", otherwise followed by vrrpd's reason in parentheses.
fn log_transition(
    name: &str,
    to: State,
    reason: &Reason,
    reason_text: &str,
    family: Family,
    ours: u8,
) {
    match (to, reason) {
        (State::Initialize, Reason::Shutdown) => info!("({name}) Stopping"),
        (State::Backup, Reason::Startup) => info!("({name}) Entering BACKUP STATE (init)"),
        _ => {
            match reason {
                Reason::MasterDown | Reason::MasterResigned => {
                    info!("({name}) Receive advertisement timeout");
                }
                Reason::HigherPriority { source, priority } if to == State::Backup => info!(
                    "({name}) Master received advert from {} with higher priority {priority}, ours {ours}",
                    vrrp_common::wire::raw_to_ip(family, source)
                ),
                _ => {}
            }
            info!(
                "({name}) Entering {} STATE ({reason_text})",
                to.keepalived_name()
            );
        }
    }
}
