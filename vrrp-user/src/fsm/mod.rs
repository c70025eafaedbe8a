//! The per-instance VRRP state machine (RFC 3768 / RFC 5798 / RFC 9568 section 6.4, with
//! keepalived's Fault state and its documented choices where the RFCs leave room).
//!
//! Sans-IO: [`Instance::handle`] takes an [`Input`] and an explicit `now` (nanoseconds of
//! CLOCK_MONOTONIC) and appends [`Action`]s for the caller to carry out; [`Instance::next_deadline`]
//! says when to call again with [`Input::Timer`]. No sockets, clocks or async runtime here: the
//! simulator drives it with a virtual clock, the daemon with the real one.
//!
//! The advert-by-advert decisions (does this advert reset the Master_Down_Timer, is it a
//! higher-priority master) are `vrrp_common::rules`, the same code the XDP program runs. In XDP
//! mode the daemon feeds only the adverts the kernel flagged as changes, plus the kernel's
//! [`Liveness`] record before each master-down check ([`Input::Liveness`]): the kernel has seen
//! every advert, so its record is the authority on when the timer was last reset.

#[cfg(test)]
mod sim;

use core::time::Duration;

use vrrp_common::maps::{InstanceConfig, Liveness, State, flags};
use vrrp_common::rules::{self, Advert};
use vrrp_common::time::{Instant, interval, master_down_interval_after_ns, next_advert_due};
use vrrp_common::wire::vrrp::{PRIORITY_OWNER, PRIORITY_STOP, Version};
use vrrp_common::wire::{Family, RawAddress};

/// What does not change while an instance runs (a reload builds a new one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    pub name: String,
    pub version: Version,
    pub family: Family,
    pub vrid: u8,
    /// Configured priority, 1..=255 (255: address owner).
    pub base_priority: u8,
    /// Our advertisement interval in centiseconds.
    pub interval_cs: u16,
    /// Preemption (keepalived's default; `nopreempt` turns it off).
    pub preempt: bool,
    /// keepalived's `preempt_delay`.
    pub preempt_delay: Duration,
    /// The address our adverts come from (ties between equal priorities go to the higher).
    pub source: RawAddress,
    pub garp: GarpSchedule,
    /// keepalived's `lower_prio_no_advert`: a master does not answer a lower-priority advert
    /// with an advert of its own.
    pub lower_prio_no_advert: bool,
    /// keepalived's `higher_prio_send_advert`: a master sends one last advert before it steps
    /// down for a higher priority (so a peer that cannot hear our multicast learns of us).
    pub higher_prio_send_advert: bool,
    /// keepalived's `down_timer_adverts`: advert intervals in Master_Down_Interval (RFC: 3).
    pub down_timer_adverts: u8,
    /// keepalived's `timer_expired_backup [PRIORITY]` (2.3): the highest priority another
    /// router of this virtual router has. A master that finds it sent nothing for longer than
    /// that router's Master_Down_Interval (the daemon was stopped or starved, keepalived's "A
    /// thread timer expired") steps down to backup instead of reclaiming the role.
    pub timer_expired_backup: Option<u8>,
}

/// The instance as the shared rules see it (`rules::Standing`), taken from the state machine
/// itself rather than from the datapath's CONFIG structure.
#[derive(Clone, Copy, Debug)]
struct Standing {
    state: State,
    priority: u8,
    source: RawAddress,
    version: Version,
    interval_cs: u16,
    preempt: bool,
    preempt_delay: Duration,
    down_timer_adverts: u8,
}

impl rules::Standing for Standing {
    fn state(&self) -> State {
        self.state
    }
    fn priority(&self) -> u8 {
        self.priority
    }
    fn source(&self) -> &RawAddress {
        &self.source
    }
    fn version(&self) -> Version {
        self.version
    }
    fn interval_cs(&self) -> u16 {
        self.interval_cs
    }
    fn preempt(&self) -> bool {
        self.preempt
    }
    fn preempt_delay_ns(&self) -> u64 {
        self.preempt_delay.as_nanos() as u64
    }
    fn down_timer_adverts(&self) -> u8 {
        self.down_timer_adverts
    }
}

/// When to send gratuitous ARPs / unsolicited NAs as master (keepalived's garp_* settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GarpSchedule {
    /// Messages per burst (`garp_master_repeat`, default 5).
    pub repeat: u32,
    /// Second burst this long after becoming master (`garp_master_delay`, default 5 s; 0: none).
    pub delay: Duration,
    /// Periodic refresh while master (`garp_master_refresh`, default 0: none).
    pub refresh: Duration,
    /// Messages per refresh (`garp_master_refresh_repeat`, default 1).
    pub refresh_repeat: u32,
    /// Messages per burst when a master hears a lower priority (`garp_lower_prio_repeat`,
    /// keepalived's default: `garp_master_repeat`; 0: none), so hosts that followed the other
    /// router (a healed split brain) come back.
    pub lower_prio_repeat: u32,
    /// Its second burst this long after (`garp_lower_prio_delay`, default `garp_master_delay`).
    pub lower_prio_delay: Duration,
    /// Periodic messages, while master, for the addresses on other interfaces than the one
    /// adverts leave by (`garp_extra_if`, default 0: none).
    pub extra_interval: Duration,
}

impl Default for GarpSchedule {
    fn default() -> Self {
        GarpSchedule {
            repeat: 5,
            delay: Duration::from_secs(5),
            refresh: Duration::ZERO,
            refresh_repeat: 1,
            lower_prio_repeat: 5,
            lower_prio_delay: Duration::from_secs(5),
            extra_interval: Duration::ZERO,
        }
    }
}

/// Why an instance cannot serve (keepalived's FAULT state).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FaultReason {
    InterfaceDown(String),
    TrackedInterfaceDown(String),
    TrackScriptFailed(String),
    TrackFileFailed(String),
    TrackProcessFailed(String),
    /// VIPs could not be installed.
    AddressesRefused,
    /// keepalived's `unicast_fault_no_peer`, and the instance has no unicast peer.
    NoUnicastPeer,
}

impl std::fmt::Display for FaultReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FaultReason::InterfaceDown(name) => write!(f, "interface {name} down"),
            FaultReason::TrackedInterfaceDown(name) => write!(f, "tracked interface {name} down"),
            FaultReason::TrackScriptFailed(name) => write!(f, "track script {name} failed"),
            FaultReason::TrackFileFailed(name) => write!(f, "track file {name} failed"),
            FaultReason::TrackProcessFailed(name) => write!(f, "track process {name} failed"),
            FaultReason::AddressesRefused => f.write_str("virtual addresses refused"),
            FaultReason::NoUnicastPeer => f.write_str("no unicast peer (unicast_fault_no_peer)"),
        }
    }
}

/// Everything that can happen to an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Begin the protocol (RFC 5798 section 6.4.1, the Startup event).
    Startup,
    /// A valid advert for this instance (already checked by `rules::check_advert`).
    Advert(Advert),
    /// The datapath's record of the adverts it saw (XDP mode): merged before timer checks.
    Liveness(Liveness),
    /// A deadline from [`Instance::next_deadline`] has passed.
    Timer,
    /// Tracking changed: the sum of the weights of failing (negative) and succeeding (positive)
    /// tracked objects, and whether something the instance depends on is down.
    Health {
        weight: i32,
        fault: Option<FaultReason>,
    },
    /// The daemon is stopping (RFC 5798 section 6.4.3, the Shutdown event).
    Shutdown,
    /// A reload changed the instance's settings but not its identity: they apply in place, with
    /// the state, the timers and the place in the election kept (see [`Instance::reconfigure`]).
    Reconfigure(Box<Params>),
    /// Another member of this instance's vrrp_sync_group changed state: members move together.
    Sync(SyncEvent),
    /// One of the master's tracked virtual addresses, routes or rules (not `no_track`) was
    /// removed by someone else. keepalived 2.2.7 steps down (priority 0, addresses released)
    /// to BACKUP, and the election that follows reinstalls them where it lands.
    AddressRemoved,
}

/// keepalived's numbers for the states (vrrp.h: VRRP_STATE_INIT 0, BACK 1, MAST 2, FAULT 3),
/// as its JSON dump, its SNMP objects and its notifications give them.
pub fn keepalived_state_number(state: State) -> u8 {
    match state {
        State::Initialize => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
    }
}

/// What a sync-group member tells the others (keepalived's vrrp_sync_group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncEvent {
    /// A member became master: the others follow.
    Master,
    /// This member's Master_Down_Timer ran out, but another member still hears a better
    /// master: stay backup and start the timer again (keepalived waits until every member of
    /// the group can become master).
    Hold,
    /// A member stepped down to backup: the others' masters step down too.
    Backup,
    /// A member entered (true) or left (false) FAULT: the group follows.
    Fault(bool),
}

/// Why a transition happened, for logs, notify scripts and `vrrpd status`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Reason {
    Startup,
    /// Priority 255: the address owner goes straight to master.
    AddressOwner,
    /// No advert reset the Master_Down_Timer in time.
    MasterDown,
    /// The master sent priority 0 and Skew_Time passed.
    MasterResigned,
    /// A router with higher priority (or equal priority and a higher address) advertised.
    HigherPriority {
        source: RawAddress,
        priority: u8,
    },
    Fault(FaultReason),
    FaultCleared,
    Shutdown,
    /// A tracked virtual address was removed from the interface.
    AddressRemoved,
    /// A member of the vrrp_sync_group moved.
    SyncGroup,
    /// `timer_expired_backup`: the master sent nothing for this long, longer than the other
    /// router's Master_Down_Interval, so that router has taken over meanwhile.
    TimerExpired {
        silent_ms: u64,
    },
}

impl Reason {
    pub fn describe(&self, family: Family) -> String {
        match self {
            Reason::Startup => "startup".into(),
            Reason::AddressOwner => "address owner (priority 255)".into(),
            Reason::MasterDown => "master down timer expired".into(),
            Reason::MasterResigned => "master resigned (priority 0)".into(),
            Reason::HigherPriority { source, priority } => format!(
                "higher priority {priority} from {}",
                vrrp_common::wire::raw_to_ip(family, source)
            ),
            Reason::Fault(fault) => format!("fault: {fault}"),
            Reason::FaultCleared => "fault cleared".into(),
            Reason::Shutdown => "shutdown".into(),
            Reason::SyncGroup => "sync group".into(),
            Reason::AddressRemoved => "a tracked virtual address, route or rule was removed".into(),
            Reason::TimerExpired { silent_ms } => format!(
                "timer expired: no advert sent for {silent_ms} ms, another router has taken over"
            ),
        }
    }
}

/// What the caller must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send an advert with this priority now.
    SendAdvert { priority: u8 },
    /// The state changed (log it, run notify scripts, update the datapath's CONFIG).
    Transition {
        from: State,
        to: State,
        reason: Reason,
    },
    /// Install the virtual addresses (and routes), then mark them active in the datapath.
    AddAddresses,
    /// Mark the virtual addresses inactive, then remove them.
    RemoveAddresses,
    /// Send this many gratuitous ARPs / unsolicited NAs per virtual address.
    SendGratuitous { count: u32 },
    /// `garp_extra_if`: one gratuitous ARP / unsolicited NA for each virtual address on an
    /// interface other than the one adverts leave by.
    SendExtraGratuitous,
    /// The effective priority changed (update the datapath's CONFIG; logged).
    PriorityChanged { from: u8, to: u8 },
    /// As master, a router with a lower priority was heard (at most once per
    /// [`LOWER_PRIO_GARP_GAP_NS`]): logged as keepalived does, a sign of a split segment.
    LowerPriorityHeard { source: RawAddress, priority: u8 },
}

/// Counters kept by the state machine (the datapath keeps the per-frame ones).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub transitions: u64,
    pub became_master: u64,
    pub released_master: u64,
    pub priority_zero_sent: u64,
    pub priority_zero_received: u64,
}

impl Counters {
    /// What was counted since `baseline` was taken (keepalived's SIGSTATS_CLEAR).
    pub fn since(&self, baseline: &Counters) -> Counters {
        Counters {
            adverts_sent: self.adverts_sent.saturating_sub(baseline.adverts_sent),
            adverts_received: self
                .adverts_received
                .saturating_sub(baseline.adverts_received),
            transitions: self.transitions.saturating_sub(baseline.transitions),
            became_master: self.became_master.saturating_sub(baseline.became_master),
            released_master: self
                .released_master
                .saturating_sub(baseline.released_master),
            priority_zero_sent: self
                .priority_zero_sent
                .saturating_sub(baseline.priority_zero_sent),
            priority_zero_received: self
                .priority_zero_received
                .saturating_sub(baseline.priority_zero_received),
        }
    }
}

/// The least time between two gratuitous ARP bursts answering lower-priority adverts.
pub const LOWER_PRIO_GARP_GAP: Duration = Duration::from_secs(1);

/// One VRRP instance (virtual router) on one interface.
#[derive(Clone, Debug)]
pub struct Instance {
    params: Params,
    state: State,
    effective_priority: u8,
    /// The tracking weight last reported ([`Input::Health`]), kept for a reload that changes the
    /// base priority.
    tracking_weight: i32,
    fault: Option<FaultReason>,
    /// Another member of the sync group is in FAULT.
    group_fault: bool,
    /// What the adverts seen so far say about the master (shared rules, same as the kernel).
    live: Liveness,
    /// When we last entered Backup (the Master_Down_Timer's start without adverts).
    backup_since: Instant,
    /// When this sync-group member's Master_Down_Timer last ran out while another member still
    /// waited ([`SyncEvent::Hold`]): it is ready to take over with the group.
    held_since: Option<Instant>,
    next_advert: Option<Instant>,
    second_garp: Option<Instant>,
    garp_refresh: Option<Instant>,
    /// The next `garp_extra_if` message.
    garp_extra: Option<Instant>,
    /// The second burst after a lower-priority advert.
    lower_prio_garp: Option<Instant>,
    /// When the last lower-priority burst went out (at most one per [`LOWER_PRIO_GARP_GAP`]
    /// or advert interval, so a flood of such adverts cannot make us flood ARP).
    last_lower_prio_garp: Option<Instant>,
    /// Rate limit for adverts sent in reply to lower-priority or priority-0 adverts.
    last_reply_advert: Option<Instant>,
    last_transition: Option<(Instant, Reason)>,
    counters: Counters,
    /// The deadlines above as of the last change (see [`Deadlines`]).
    deadlines: Deadlines,
}

/// An instance's deadlines, worked out once per change rather than at each look: the protocol
/// thread looks at every instance's deadlines several times in each wake-up, and working them
/// out each time was a large part of a 1000-instance backup's CPU (issue 20, target 5).
/// Every constructor and `&mut self` entry point ends with [`Instance::settle`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Deadlines {
    master_down: Option<Instant>,
    next: Option<Instant>,
}

/// What an instance carries into the next image of the daemon (`vrrpd upgrade`): where it
/// stands in the election and when its next advert is due, so that the new image goes on from
/// there without a transition. The master's record comes back from the datapath (LIVENESS) or
/// from the next advert; a backup's Master_Down_Timer starts again at the resumption, which
/// can only make it wait longer, never take over early.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Carried {
    /// [`State`] as its number (Initialize 0, Backup 1, Master 2, Fault 3).
    pub state: u8,
    pub tracking_weight: i32,
    pub fault: Option<FaultReason>,
    pub group_fault: bool,
    /// CLOCK_MONOTONIC nanoseconds (the clock runs on across exec).
    pub next_advert_ns: Option<u64>,
    pub last_transition: Option<(u64, Reason)>,
    pub counters: Counters,
}

/// Effective priority (keepalived): base plus the tracking weights, kept within 1..=254 so that
/// tracking never makes a router the owner nor silences it; the owner's 255 does not move.
pub fn effective_priority(base: u8, weight: i32) -> u8 {
    if base == PRIORITY_OWNER {
        return PRIORITY_OWNER;
    }
    (i32::from(base) + weight).clamp(1, 254) as u8
}

impl Instance {
    pub fn new(params: Params) -> Instance {
        let effective_priority = params.base_priority;
        let mut instance = Instance {
            params,
            state: State::Initialize,
            effective_priority,
            tracking_weight: 0,
            fault: None,
            group_fault: false,
            live: Liveness::default(),
            backup_since: Instant::default(),
            held_since: None,
            next_advert: None,
            second_garp: None,
            garp_refresh: None,
            garp_extra: None,
            lower_prio_garp: None,
            last_lower_prio_garp: None,
            last_reply_advert: None,
            last_transition: None,
            counters: Counters::default(),
            deadlines: Deadlines::default(),
        };
        instance.settle();
        instance
    }

    /// An instance that goes on from where a previous image of the daemon left it: in the
    /// carried state with no transition, no address work and no gratuitous ARP (the addresses
    /// are in place), its next advert when it was due.
    pub fn resume(params: Params, carried: Carried, now: Instant) -> Instance {
        let mut instance = Instance::new(params);
        instance.state = State::from_u8(carried.state);
        instance.tracking_weight = carried.tracking_weight;
        instance.effective_priority =
            effective_priority(instance.params.base_priority, carried.tracking_weight);
        instance.fault = carried.fault;
        instance.group_fault = carried.group_fault;
        instance.backup_since = now;
        instance.counters = carried.counters;
        instance.last_transition = carried
            .last_transition
            .map(|(at, reason)| (Instant::from_ns(at), reason));
        if instance.state == State::Master {
            let due = carried.next_advert_ns.map(Instant::from_ns);
            instance.next_advert = Some(due.unwrap_or(now));
            let garp = instance.params.garp;
            instance.garp_refresh = (!garp.refresh.is_zero()).then(|| now + garp.refresh);
            instance.garp_extra =
                (!garp.extra_interval.is_zero()).then(|| now + garp.extra_interval);
        }
        instance.settle();
        instance
    }

    /// What [`Instance::resume`] needs to go on from here.
    pub fn carry(&self) -> Carried {
        Carried {
            state: self.state as u8,
            tracking_weight: self.tracking_weight,
            fault: self.fault.clone(),
            group_fault: self.group_fault,
            next_advert_ns: self.next_advert.map(Instant::as_ns),
            last_transition: self
                .last_transition
                .clone()
                .map(|(at, reason)| (at.as_ns(), reason)),
            counters: self.counters,
        }
    }

    /// `count` adverts were sent for this resumed master while the daemon changed images (by
    /// `vrrpd upgrade`'s stand-in), the last at `last`: they are counted, and the cadence goes
    /// on from the last of them.
    pub fn adverts_sent_meanwhile(&mut self, count: u64, last: Instant) {
        self.counters.adverts_sent += count;
        if count > 0 && self.state == State::Master {
            self.next_advert = Some(last + interval(self.params.interval_cs));
        }
        self.settle();
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }

    pub fn liveness(&self) -> &Liveness {
        &self.live
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn last_transition(&self) -> Option<&(Instant, Reason)> {
        self.last_transition.as_ref()
    }

    /// Where this instance stands, as the shared election rules ask it.
    fn standing(&self) -> Standing {
        Standing {
            state: self.state,
            priority: self.effective_priority,
            source: self.params.source,
            version: self.params.version,
            interval_cs: self.params.interval_cs,
            preempt: self.params.preempt,
            preempt_delay: self.params.preempt_delay,
            down_timer_adverts: self.params.down_timer_adverts,
        }
    }

    /// What the XDP program's CONFIG entry must say (address list, auth and flags that do not
    /// concern the state machine are filled in by the caller).
    pub fn datapath_config(&self, base: InstanceConfig) -> InstanceConfig {
        let mut config = base;
        config.priority = self.effective_priority;
        config.state = self.state as u8;
        config.version = self.params.version as u8;
        config.interval_cs = self.params.interval_cs;
        config.source = self.params.source;
        config.preempt_delay_ns = self.params.preempt_delay.as_nanos() as u64;
        if self.params.preempt {
            config.flags |= flags::PREEMPT;
        } else {
            config.flags &= !flags::PREEMPT;
        }
        config
    }

    /// The earliest moment [`Input::Timer`] has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.next
    }

    /// Backup: when the Master_Down_Timer fires (see [`Instance::work_out_master_down`]).
    pub fn master_down_deadline(&self) -> Option<Instant> {
        self.deadlines.master_down
    }

    /// Whether the cached deadlines are what working them out now gives (the simulator checks
    /// this after every input).
    #[cfg(test)]
    pub(crate) fn deadlines_are_current(&self) -> bool {
        let mut fresh = self.clone();
        fresh.settle();
        fresh.deadlines == self.deadlines
    }

    /// Works the deadlines out again after a change.
    fn settle(&mut self) {
        let master_down = self.work_out_master_down();
        self.deadlines = Deadlines {
            master_down,
            next: [
                master_down,
                self.next_advert,
                self.second_garp,
                self.garp_refresh,
                self.garp_extra,
                self.lower_prio_garp,
            ]
            .into_iter()
            .flatten()
            .min(),
        };
    }

    /// A sync-group member whose Master_Down_Timer ran out and that has heard no master since:
    /// keepalived's wantstate GOTO_MASTER, which lets the member whose timer runs out next take
    /// the whole group over (without it, members whose timers run out at different times would
    /// hold one another back for ever).
    pub fn ready_for_group(&self) -> bool {
        self.state == State::Backup
            && self
                .held_since
                .is_some_and(|held| self.live.last_reset_ns < held.as_ns())
    }

    /// Backup: when the Master_Down_Timer fires. Adverts received since we entered Backup set it
    /// (through the shared rule); without any, it runs from our entry into Backup.
    fn work_out_master_down(&self) -> Option<Instant> {
        if self.state != State::Backup {
            return None;
        }
        match rules::master_down_deadline_ns(&self.standing(), &self.live) {
            Some(deadline) if self.live.last_reset_ns >= self.backup_since.as_ns() => {
                Some(Instant::from_ns(deadline))
            }
            _ => Some(
                self.backup_since
                    + Duration::from_nanos(master_down_interval_after_ns(
                        self.params.down_timer_adverts,
                        self.params.version,
                        self.effective_priority,
                        self.params.interval_cs,
                    )),
            ),
        }
    }

    /// Processes one input, appending the resulting actions.
    pub fn handle(&mut self, input: Input, now: Instant, actions: &mut Vec<Action>) {
        // Before anything that arrived meanwhile is looked at: a master that wakes after a
        // stall must not answer the new master's adverts as if it had never been away.
        self.step_down_after_stall(now, actions);
        match input {
            Input::Startup => self.startup(now, actions),
            Input::Advert(advert) => self.advert(&advert, now, actions),
            Input::Liveness(kernel) => self.merge_liveness(&kernel),
            Input::Timer => self.timer(now, actions),
            Input::Health { weight, fault } => self.health(weight, fault, now, actions),
            Input::Shutdown => self.shutdown(now, actions),
            Input::Reconfigure(params) => self.reconfigure(*params, actions),
            Input::Sync(event) => self.sync(event, now, actions),
            Input::AddressRemoved => self.address_removed(now, actions),
        }
        self.settle();
    }

    /// keepalived's sync groups: members move together.
    fn sync(&mut self, event: SyncEvent, now: Instant, actions: &mut Vec<Action>) {
        match (event, self.state) {
            (SyncEvent::Master, State::Backup) => {
                self.become_master(Reason::SyncGroup, now, actions)
            }
            (SyncEvent::Hold, State::Backup) => {
                self.backup_since = now;
                self.held_since = Some(now);
            }
            (SyncEvent::Backup, State::Master) => {
                self.leave_master(State::Backup, Reason::SyncGroup, now, actions)
            }
            (SyncEvent::Fault(true), _) => {
                self.group_fault = true;
                match self.state {
                    State::Master => {
                        self.leave_master(State::Fault, Reason::SyncGroup, now, actions)
                    }
                    State::Backup => self.transition(State::Fault, Reason::SyncGroup, now, actions),
                    State::Initialize | State::Fault => {}
                }
            }
            (SyncEvent::Fault(false), _) => {
                self.group_fault = false;
                if self.state == State::Fault && self.fault.is_none() {
                    self.become_backup(Reason::SyncGroup, now, actions);
                }
            }
            _ => {}
        }
    }

    /// keepalived's `timer_expired_backup`: a master whose advert is so overdue that the
    /// other router's Master_Down_Timer (at the configured highest other priority) has run
    /// out since our last advert goes to backup. Its own priority may be the higher one; it
    /// then takes the role back by the usual election (preempt), or not at all (nopreempt).
    fn step_down_after_stall(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let (Some(other_priority), Some(due), State::Master) = (
            self.params.timer_expired_backup,
            self.next_advert,
            self.state,
        ) else {
            return;
        };
        let advert_interval = interval(self.params.interval_cs);
        let silent = now.saturating_since(due) + advert_interval;
        let other_takes_over = Duration::from_nanos(master_down_interval_after_ns(
            self.params.down_timer_adverts,
            self.params.version,
            other_priority,
            self.params.interval_cs,
        ));
        if silent > other_takes_over {
            let reason = Reason::TimerExpired {
                silent_ms: silent.as_millis() as u64,
            };
            self.leave_master(State::Backup, reason, now, actions);
        }
    }

    fn startup(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if self.state != State::Initialize {
            return;
        }
        if let Some(fault) = self.fault.clone() {
            self.transition(State::Fault, Reason::Fault(fault), now, actions);
        } else if self.effective_priority == PRIORITY_OWNER {
            // RFC 5798 section 6.4.1: the owner becomes master at once.
            self.become_master(Reason::AddressOwner, now, actions);
        } else {
            // keepalived treats `state MASTER` below priority 255 like BACKUP: it waits 3-4
            // advert intervals (Master_Down_Interval) for a better master before taking over.
            self.become_backup(Reason::Startup, now, actions);
        }
    }

    fn advert(&mut self, advert: &Advert, now: Instant, actions: &mut Vec<Action>) {
        self.counters.adverts_received += 1;
        if advert.priority == PRIORITY_STOP {
            self.counters.priority_zero_received += 1;
        }
        let observation =
            rules::observe_advert(&self.standing(), &mut self.live, advert, now.as_ns());
        if self.state != State::Master {
            // Backup: the rule has updated the record the master-down deadline derives from.
            return;
        }
        if advert.priority == PRIORITY_STOP {
            // RFC 5798 section 6.4.3: send an advert at once and restart the Adver_Timer.
            if self.reply_allowed(now) {
                self.send_advert(actions);
                self.next_advert = Some(now + interval(self.params.interval_cs));
            }
        } else if observation.resets_timer {
            // A higher priority, or an equal one from a higher address: step down.
            if self.params.higher_prio_send_advert {
                self.send_advert(actions);
            }
            let reason = Reason::HigherPriority {
                source: advert.source,
                priority: advert.priority,
            };
            self.leave_master(State::Backup, reason, now, actions);
        } else {
            // Lower priority: advertise at once so the other side steps down quickly
            // (RFC 9568 section 6.4.3; keepalived "forcing new election"), and announce our
            // addresses again for the hosts that followed the other router (keepalived).
            if !self.params.lower_prio_no_advert && self.reply_allowed(now) {
                self.send_advert(actions);
            }
            self.lower_priority_heard(advert, now, actions);
        }
    }

    /// The log line and keepalived's `garp_lower_prio_repeat` burst (with its second after
    /// `garp_lower_prio_delay`), at most once per [`LOWER_PRIO_GARP_GAP_NS`] or advert interval.
    fn lower_priority_heard(&mut self, advert: &Advert, now: Instant, actions: &mut Vec<Action>) {
        let gap = interval(self.params.interval_cs).max(LOWER_PRIO_GARP_GAP);
        if self
            .last_lower_prio_garp
            .is_some_and(|last| now.saturating_since(last) < gap)
        {
            return;
        }
        self.last_lower_prio_garp = Some(now);
        actions.push(Action::LowerPriorityHeard {
            source: advert.source,
            priority: advert.priority,
        });
        let garp = self.params.garp;
        if garp.lower_prio_repeat == 0 {
            return;
        }
        actions.push(Action::SendGratuitous {
            count: garp.lower_prio_repeat,
        });
        self.lower_prio_garp =
            (!garp.lower_prio_delay.is_zero()).then(|| now + garp.lower_prio_delay);
    }

    /// Replies to other routers' adverts are limited to one per quarter interval.
    fn reply_allowed(&mut self, now: Instant) -> bool {
        let gap = interval(self.params.interval_cs) / 4;
        if self
            .last_reply_advert
            .is_some_and(|last| now.saturating_since(last) < gap)
        {
            return false;
        }
        self.last_reply_advert = Some(now);
        true
    }

    /// Takes the datapath's record when it has seen a more recent timer reset than we have.
    fn merge_liveness(&mut self, kernel: &Liveness) {
        if kernel.last_reset_ns > self.live.last_reset_ns {
            self.live = *kernel;
        } else {
            self.live.adverts = self.live.adverts.max(kernel.adverts);
            self.live.last_advert_ns = self.live.last_advert_ns.max(kernel.last_advert_ns);
        }
    }

    fn timer(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if let Some(deadline) = self.work_out_master_down()
            && now >= deadline
        {
            let reason = if self.live.resigned != 0
                && self.live.last_reset_ns >= self.backup_since.as_ns()
            {
                Reason::MasterResigned
            } else {
                Reason::MasterDown
            };
            self.become_master(reason, now, actions);
            return;
        }
        if self.state != State::Master {
            return;
        }
        if let Some(due) = self.next_advert
            && now >= due
        {
            self.send_advert(actions);
            self.next_advert = Some(next_advert_due(due, interval(self.params.interval_cs), now));
        }
        if let Some(due) = self.lower_prio_garp
            && now >= due
        {
            self.lower_prio_garp = None;
            actions.push(Action::SendGratuitous {
                count: self.params.garp.lower_prio_repeat,
            });
        }
        if let Some(due) = self.second_garp
            && now >= due
        {
            self.second_garp = None;
            actions.push(Action::SendGratuitous {
                count: self.params.garp.repeat,
            });
        }
        if let Some(due) = self.garp_refresh
            && now >= due
        {
            self.garp_refresh = Some(due + self.params.garp.refresh);
            actions.push(Action::SendGratuitous {
                count: self.params.garp.refresh_repeat,
            });
        }
        if let Some(due) = self.garp_extra
            && now >= due
        {
            self.garp_extra = Some(due + self.params.garp.extra_interval);
            actions.push(Action::SendExtraGratuitous);
        }
    }

    fn health(
        &mut self,
        weight: i32,
        fault: Option<FaultReason>,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        self.tracking_weight = weight;
        self.apply_priority(actions);
        self.fault = fault.clone();
        match (self.state, fault) {
            (State::Initialize, _) => {}
            (State::Fault, None) if self.group_fault => {}
            (State::Fault, None) => {
                if self.effective_priority == PRIORITY_OWNER {
                    self.become_master(Reason::FaultCleared, now, actions);
                } else {
                    self.become_backup(Reason::FaultCleared, now, actions);
                }
            }
            (State::Fault, Some(_)) => {}
            (State::Master, Some(reason)) => {
                self.leave_master(State::Fault, Reason::Fault(reason), now, actions)
            }
            (State::Backup, Some(reason)) => {
                self.transition(State::Fault, Reason::Fault(reason), now, actions)
            }
            (State::Master | State::Backup, None) => {}
        }
    }

    fn shutdown(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if self.state == State::Master {
            // RFC 5798 section 6.4.3: send an advert with priority 0 so a backup takes over after
            // Skew_Time rather than Master_Down_Interval.
            self.counters.priority_zero_sent += 1;
            self.counters.adverts_sent += 1;
            actions.push(Action::SendAdvert {
                priority: PRIORITY_STOP,
            });
            actions.push(Action::RemoveAddresses);
            self.counters.released_master += 1;
        }
        self.clear_master_timers();
        self.transition(State::Initialize, Reason::Shutdown, now, actions);
    }

    /// keepalived 2.2.7 (vrrp_netlink.c, a deleted VIP of a master): "Entering BACKUP STATE",
    /// "sent 0 priority", "removing VIPs"; the Master_Down_Timer then runs as after any step down.
    fn address_removed(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if self.state == State::Master {
            self.leave_master(State::Backup, Reason::AddressRemoved, now, actions);
        }
    }

    fn become_backup(&mut self, reason: Reason, now: Instant, actions: &mut Vec<Action>) {
        self.clear_master_timers();
        self.backup_since = now;
        self.transition(State::Backup, reason, now, actions);
    }

    /// RFC 5798 section 6.4.2 "Master_Down_Timer fires" / 6.4.1 owner startup: advertise first
    /// (so the old master drops its addresses before our ARPs), then install the addresses and
    /// announce them. The transition comes between, as keepalived logs it ("Entering MASTER
    /// STATE", then "setting VIPs."); its report to the async side (the notifies) follows the
    /// input's other actions, as keepalived sets the addresses and sends the gratuitous ARPs
    /// (vrrp_state_become_master) before its notifies.
    fn become_master(&mut self, reason: Reason, now: Instant, actions: &mut Vec<Action>) {
        self.send_advert(actions);
        self.transition(State::Master, reason, now, actions);
        actions.push(Action::AddAddresses);
        actions.push(Action::SendGratuitous {
            count: self.params.garp.repeat,
        });
        self.counters.became_master += 1;
        self.next_advert = Some(now + interval(self.params.interval_cs));
        let garp = self.params.garp;
        self.second_garp = (!garp.delay.is_zero()).then(|| now + garp.delay);
        self.garp_refresh = (!garp.refresh.is_zero()).then(|| now + garp.refresh);
        self.garp_extra = (!garp.extra_interval.is_zero()).then(|| now + garp.extra_interval);
    }

    fn leave_master(&mut self, to: State, reason: Reason, now: Instant, actions: &mut Vec<Action>) {
        if to == State::Fault || reason == Reason::AddressRemoved {
            // keepalived tells the segment it is going away, as on shutdown.
            self.counters.priority_zero_sent += 1;
            self.counters.adverts_sent += 1;
            actions.push(Action::SendAdvert {
                priority: PRIORITY_STOP,
            });
        }
        self.counters.released_master += 1;
        self.clear_master_timers();
        if to == State::Backup {
            self.backup_since = now;
        }
        self.transition(to, reason, now, actions);
        actions.push(Action::RemoveAddresses);
    }

    fn clear_master_timers(&mut self) {
        self.next_advert = None;
        self.second_garp = None;
        self.garp_refresh = None;
        self.garp_extra = None;
        self.lower_prio_garp = None;
        self.last_lower_prio_garp = None;
    }

    /// Sets the effective priority from the base and the tracking weight; on a change, says so
    /// and, as master, advertises it at once, so that a better backup can preempt.
    fn apply_priority(&mut self, actions: &mut Vec<Action>) {
        let priority = effective_priority(self.params.base_priority, self.tracking_weight);
        if priority == self.effective_priority {
            return;
        }
        actions.push(Action::PriorityChanged {
            from: self.effective_priority,
            to: priority,
        });
        self.effective_priority = priority;
        if self.state == State::Master {
            self.send_advert(actions);
        }
    }

    /// A reload's new settings, applied without leaving the current state. Nothing else
    /// happens unless the priorities now say another router should be master, and then the
    /// RFC's own rules make exactly one handover: a master whose priority fell advertises it at
    /// once (a better backup with preemption then takes over, RFC 5798 section 6.4.2); a backup
    /// whose priority rose above its master's stops resetting its Master_Down_Timer on the
    /// master's adverts (section 6.4.2, with preemption) and takes over when it runs out. A new
    /// interval or version goes out with the next advert; the timers already running keep
    /// their deadlines.
    fn reconfigure(&mut self, params: Params, actions: &mut Vec<Action>) {
        self.params = params;
        self.apply_priority(actions);
    }

    fn send_advert(&mut self, actions: &mut Vec<Action>) {
        self.counters.adverts_sent += 1;
        actions.push(Action::SendAdvert {
            priority: self.effective_priority,
        });
    }

    fn transition(&mut self, to: State, reason: Reason, now: Instant, actions: &mut Vec<Action>) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        self.held_since = None;
        self.counters.transitions += 1;
        self.last_transition = Some((now, reason.clone()));
        actions.push(Action::Transition { from, to, reason });
    }
}

#[cfg(test)]
mod tests;
