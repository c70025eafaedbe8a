//! What the protocol thread publishes for everyone else: a snapshot of every instance and
//! socket mode's counters, both readable without a lock and without asking the thread.
//!
//! `vrrpd status`, `stats`, the metrics and the dumps read these (and the XDP counters through
//! their own map handles), so a busy or hostile client can never make the protocol thread wait
//! or work for it. The thread rebuilds the snapshot itself, on its own schedule: at once after
//! a transition or a change of instances, otherwise at most every `REFRESH` while something
//! changed, and never in the last stretch before a master-down deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use vrrp_common::stats::Counter;
use vrrp_common::time::Instant;

use super::Thread;
use crate::control::model::InstanceSnapshot;

/// How stale a snapshot may get while counters move and no state changes.
const REFRESH: Duration = Duration::from_millis(100);
/// No snapshot is built when a master-down deadline is this close: it waits until after.
const QUIET_BEFORE_DEADLINE: Duration = Duration::from_millis(2);

/// The published side, shared with the async side.
pub struct Published {
    snapshots: ArcSwap<Vec<InstanceSnapshot>>,
    socket_counters: [AtomicU64; Counter::COUNT],
}

impl Default for Published {
    fn default() -> Self {
        Published {
            snapshots: ArcSwap::from_pointee(Vec::new()),
            socket_counters: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl Published {
    /// The latest snapshot of every instance.
    pub fn snapshots(&self) -> Arc<Vec<InstanceSnapshot>> {
        self.snapshots.load_full()
    }

    /// Socket mode's counters, by `Counter`.
    pub fn socket_counters(&self) -> [u64; Counter::COUNT] {
        std::array::from_fn(|index| self.socket_counters[index].load(Ordering::Relaxed))
    }

    pub(super) fn count(&self, counter: Counter) {
        self.socket_counters[counter as usize].fetch_add(1, Ordering::Relaxed);
    }
}

/// What changed since the last snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Unpublished {
    #[default]
    Nothing,
    /// Counters or priorities moved: publish within `REFRESH`.
    Counters,
    /// A transition, or instances added or removed: publish now.
    State,
}

impl Thread {
    pub(super) fn changed(&mut self, what: Unpublished) {
        self.unpublished = self.unpublished.max(what);
    }

    /// When the next snapshot is due, if one is.
    pub(super) fn publish_deadline(&self) -> Option<Instant> {
        match self.unpublished {
            Unpublished::Nothing => None,
            Unpublished::Counters => Some(self.last_published + REFRESH),
            Unpublished::State => Some(self.last_published),
        }
    }

    /// Publishes a snapshot if one is due and no takeover decision is imminent.
    pub(super) fn publish_if_due(&mut self, now: Instant) {
        if self.publish_deadline().is_none_or(|due| due > now) {
            return;
        }
        let imminent = self
            .instances
            .iter()
            .filter_map(|r| r.fsm.master_down_deadline())
            .any(|deadline| deadline > now && deadline - now < QUIET_BEFORE_DEADLINE);
        if imminent {
            return;
        }
        self.published.snapshots.store(Arc::new(self.snapshot()));
        self.unpublished = Unpublished::Nothing;
        self.last_published = now;
    }

    fn snapshot(&self) -> Vec<InstanceSnapshot> {
        self.instances
            .iter()
            .map(|running| {
                let family = running.plan.config.family;
                InstanceSnapshot {
                    name: running.plan.name().to_string(),
                    key: running.plan.key,
                    interface: running.plan.config.interface.clone(),
                    vrid: running.plan.config.vrid,
                    family,
                    state: running.fsm.state(),
                    base_priority: running.plan.config.priority,
                    effective_priority: running.fsm.effective_priority(),
                    source: running.plan.source,
                    liveness: *running.fsm.liveness(),
                    last_transition: running
                        .fsm
                        .last_transition()
                        .map(|(at, reason)| (*at, reason.describe(family))),
                    counters: *running.fsm.counters(),
                    receive_errors: running.receive_errors,
                    addresses: running
                        .plan
                        .config
                        .addresses
                        .iter()
                        .map(|a| format!("{}/{}", a.address, a.prefix))
                        .collect(),
                }
            })
            .collect()
    }
}
