//! Deadlines: the timerfd armed for the earliest one, and the service of those that have come,
//! with the kernel's record read just before a master-down deadline and a spin to it.

use std::os::fd::AsRawFd;
use std::time::Duration;

use vrrp_common::maps::Liveness;
use vrrp_common::time::Instant;

use super::Thread;
use crate::fsm::{self, Input};
use crate::net::sys::monotonic_now;

/// How long before a master-down deadline the thread wakes to check the kernel's record.
pub(super) const EARLY_WAKE: Duration = Duration::from_micros(400);
/// When the thread is awake anyway, backups whose deadline is this close also read the
/// kernel's record, so that hundreds of instances do not each wake the thread separately.
const REFRESH_WINDOW: Duration = Duration::from_millis(5);
/// From this many backups due for a look, every backup's record is applied: their deadlines
/// then move on together, and the thread wakes for all of them at once next time rather than
/// for each in turn (the records are read from memory, LIVENESS being mapped; applying a
/// thousand takes some tens of µs, which is why a deadline itself is checked alone).
const BATCH_FROM: usize = 4;
/// Advert and GARP deadlines this close are served in the same wake-up (a master's advert a
/// fraction of a millisecond early is harmless: the interval is a maximum).
const COALESCE: Duration = Duration::from_micros(300);

impl Thread {
    /// Arms the timerfd for the earliest thing to do: a pending start, an advert or GARP
    /// deadline, or `EARLY_WAKE` before a master-down deadline.
    pub(super) fn arm_timer(&self) {
        let mut wake_at: Option<Instant> = None;
        for running in &self.instances {
            let candidate = if !running.started {
                self.start_time(&running.plan)
            } else if let Some(next) = running.fsm.next_deadline() {
                if running.fsm.master_down_deadline() == Some(next) {
                    next.saturating_sub(EARLY_WAKE)
                } else {
                    next
                }
            } else {
                continue;
            };
            wake_at = Some(wake_at.map_or(candidate, |w| w.min(candidate)));
        }
        if let Some(publish) = self.publish_deadline() {
            wake_at = Some(wake_at.map_or(publish, |w| w.min(publish)));
        }
        if !self.waiting.is_empty() {
            let retry = monotonic_now() + super::lifecycle::RETRY_WAITING;
            wake_at = Some(wake_at.map_or(retry, |w| w.min(retry)));
        }
        // An absolute time of zero would disarm the timer; 1 ns means "now".
        let value = wake_at.map_or(0, |t| t.as_ns().max(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: (value / 1_000_000_000) as libc::time_t,
                tv_nsec: (value % 1_000_000_000) as libc::c_long,
            },
        };
        // SAFETY: arming our timerfd with a valid itimerspec.
        unsafe {
            libc::timerfd_settime(
                self.timer.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
    }

    /// Serves every deadline that has come, spinning up to a master-down deadline that is
    /// less than `EARLY_WAKE` away and still stands after reading the kernel's record.
    pub(super) fn serve_timers(&mut self) {
        loop {
            let mut now = monotonic_now();
            for index in 0..self.instances.len() {
                // A master-down deadline that has come: the kernel's record of this instance
                // alone, one lookup, right before the decision (nothing slower stands between
                // the deadline and a takeover's advert).
                if self.instances[index]
                    .fsm
                    .master_down_deadline()
                    .is_some_and(|down| down <= now)
                {
                    self.refresh_liveness(index);
                }
                let Some(next) = self.instances[index].fsm.next_deadline() else {
                    continue;
                };
                let is_master_down = self.instances[index].fsm.master_down_deadline() == Some(next);
                // A master's periodic advert joins the pass's batch (issue 20, target 5:
                // adverts that fall due together leave in one sendmmsg); a takeover's advert
                // leaves at once.
                if next <= now {
                    let input = if is_master_down && !self.group_may_take_over(index, now) {
                        Input::Sync(fsm::SyncEvent::Hold)
                    } else {
                        Input::Timer
                    };
                    let was = self.instances[index].fsm.state();
                    self.input_batching_adverts(!is_master_down, index, input, now);
                    let seen_due = now;
                    now = monotonic_now();
                    if is_master_down && self.instances[index].fsm.state() != was {
                        self.log_takeover_timing(index, next, seen_due);
                    }
                } else if !is_master_down && next <= now + COALESCE {
                    // Served at its own deadline's time, a moment early.
                    self.input_batching_adverts(true, index, Input::Timer, next);
                }
            }
            self.send_queued_adverts();
            let now = monotonic_now();
            self.look_ahead(now);
            let spin_until = self
                .instances
                .iter()
                .filter_map(|running| running.fsm.master_down_deadline())
                .filter(|&down| down > now && down <= now + EARLY_WAKE)
                .min();
            let Some(until) = spin_until else {
                return;
            };
            while monotonic_now() < until {
                std::hint::spin_loop();
            }
        }
    }

    /// How a master-down takeover went against its deadline, for the bench's breakdown of the
    /// takeover's excess (issue 20, target 1). Off unless asked for (`VRRPD_LOG` with
    /// `takeover=debug`): the line comes after the advert has left. Times are CLOCK_MONOTONIC,
    /// the clock of the XDP program's records, in ns; the send's are those of the advert the
    /// takeover just sent (`SpotSend`).
    fn log_takeover_timing(&self, index: usize, deadline: Instant, seen_due: Instant) {
        let after = |at: Instant| at.as_ns().saturating_sub(deadline.as_ns());
        tracing::debug!(
            target: "takeover",
            "({}) takeover: deadline {} ns, seen due +{} ns, send started +{} ns, advert sent +{} ns",
            self.instances[index].plan.name(),
            deadline.as_ns(),
            after(seen_due),
            after(self.spot_send.started),
            after(self.spot_send.returned),
        );
    }

    /// The kernel's records for the backups whose deadline is near (within `EARLY_WAKE` and
    /// `REFRESH_WINDOW`): each one's deadline moves on to its master's latest advert. When
    /// there are several, every other backup's record is applied with them.
    fn look_ahead(&mut self, now: Instant) {
        // Socket mode: the adverts reached the state machine as they came; nothing to read.
        if !matches!(self.receive, super::Receive::Xdp { .. }) {
            return;
        }
        let horizon = now + EARLY_WAKE + REFRESH_WINDOW;
        let is_near = |running: &super::Running| {
            running
                .fsm
                .master_down_deadline()
                .is_some_and(|down| down <= horizon)
        };
        let near = self
            .instances
            .iter()
            .filter(|r| is_near(r))
            .take(BATCH_FROM)
            .count();
        if near >= BATCH_FROM {
            self.refresh_every_liveness();
        } else if near > 0 {
            for index in 0..self.instances.len() {
                if is_near(&self.instances[index]) {
                    self.refresh_liveness(index);
                }
            }
        }
    }

    /// An input whose adverts, with `batch`, wait in the outbox for the end of the pass.
    fn input_batching_adverts(&mut self, batch: bool, index: usize, input: Input, at: Instant) {
        self.batching = batch;
        self.input(index, input, at);
        self.batching = false;
    }

    /// XDP mode: hand instance `index`'s state machine the kernel's record of the adverts it
    /// saw.
    pub(super) fn refresh_liveness(&mut self, index: usize) {
        self.refresh_liveness_at(index, monotonic_now());
    }

    /// [`Thread::refresh_liveness`], applied as of `now`.
    fn refresh_liveness_at(&mut self, index: usize, now: Instant) {
        let record = self.instances[index]
            .liveness_slot
            .and_then(|slot| self.liveness_record(slot));
        if let Some(live) = record {
            self.apply_liveness(index, live, now);
        }
    }

    /// XDP mode: the kernel's records, each read from the mapping and applied as of one
    /// moment, to every backup (every instance with a master-down deadline).
    fn refresh_every_liveness(&mut self) {
        let now = monotonic_now();
        for index in 0..self.instances.len() {
            if self.instances[index].fsm.master_down_deadline().is_some() {
                self.refresh_liveness_at(index, now);
            }
        }
    }

    /// XDP mode: the kernel's record in `slot`, read from the mapped array.
    fn liveness_record(&self, slot: u32) -> Option<Liveness> {
        match &self.receive {
            super::Receive::Xdp { liveness, .. } => liveness.read(slot),
            super::Receive::Sockets => None,
        }
    }

    fn apply_liveness(&mut self, index: usize, live: Liveness, now: Instant) {
        let report = &mut self.instances[index].address_list;
        report.seen = live.address_list_mismatches;
        report.last_count = live.mismatched_address_count;
        self.report_address_list(index, now);
        self.input(index, Input::Liveness(live), now);
    }
}
