//! Sync groups: members move together. A member's transition is passed on to the others, and
//! a member takes over only when every other member could too.

use vrrp_common::maps::State;
use vrrp_common::time::Instant;

use super::Thread;
use super::timers::EARLY_WAKE;
use crate::fsm::{self, Action, Reason};

impl Thread {
    /// The other members of instance `index`'s sync group (none outside a group).
    pub(super) fn group_members(&self, index: usize) -> Vec<usize> {
        let Some(group) = self.instances[index].plan.sync_group.as_deref() else {
            return Vec::new();
        };
        (0..self.instances.len())
            .filter(|&i| i != index && self.instances[i].plan.sync_group.as_deref() == Some(group))
            .collect()
    }

    /// A sync-group member may become master only when every other member could too: none is
    /// in FAULT, and every backup among them has stopped hearing a better master (its own timer
    /// ran out, now or earlier while it waited for the group).
    pub(super) fn group_may_take_over(&mut self, index: usize, now: Instant) -> bool {
        for member in self.group_members(index) {
            self.refresh_liveness(member);
            let fsm = &self.instances[member].fsm;
            match fsm.state() {
                State::Fault => return false,
                State::Backup
                    if !fsm.ready_for_group()
                        && fsm
                            .master_down_deadline()
                            .is_some_and(|d| d > now + EARLY_WAKE) =>
                {
                    return false;
                }
                _ => {}
            }
        }
        true
    }
}

/// What a member's own transitions mean for the rest of its group (transitions the group or a
/// shutdown caused are not passed on again).
pub(super) fn events_for_the_group(actions: &[Action]) -> Vec<fsm::SyncEvent> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Transition { from, to, reason }
                if *reason != Reason::SyncGroup && *reason != Reason::Shutdown =>
            {
                match (from, to) {
                    (_, State::Master) => Some(fsm::SyncEvent::Master),
                    (State::Master, State::Backup) => Some(fsm::SyncEvent::Backup),
                    (_, State::Fault) => Some(fsm::SyncEvent::Fault(true)),
                    (State::Fault, _) => Some(fsm::SyncEvent::Fault(false)),
                    _ => None,
                }
            }
            _ => None,
        })
        .collect()
}
