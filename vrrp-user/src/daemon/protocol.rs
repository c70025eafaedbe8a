//! The protocol thread: owns every state machine and runs them against CLOCK_MONOTONIC.
//!
//! It sleeps in epoll on a timerfd armed with the earliest absolute deadline, the EVENTS ring
//! buffer (XDP mode) or the VRRP sockets (socket mode), and an eventfd for commands from the
//! async side. Adverts are sent from here, synchronously, the moment a state machine asks.
//!
//! Takeover precision: a master-down deadline is only real if the kernel saw no advert since
//! the state machine last looked, so the thread wakes `EARLY_WAKE_NS` before it, reads LIVENESS,
//! and if the deadline still stands, spins the last stretch and decides on time. Advert timers
//! need no such care and are served on the timerfd's wake-up.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tracing::{debug, info, warn};
use vrrp_common::maps::{Event, EventKind, InstanceKey, PeerKey, State};
use vrrp_common::rules;
use vrrp_common::stats::Counter;
use vrrp_common::wire::vrrp::PRIORITY_STOP;
use vrrp_common::wire::{Family, raw_from_ip};

use super::plan::InstancePlan;
use crate::config::model::Scheduling;
use crate::control::model::InstanceSnapshot;
use crate::datapath::xdp::XdpDatapath;
use crate::fsm::{self, Action, FaultReason, Input, Reason};
use crate::net::advert::AdvertTemplate;
use crate::net::sys::{self, monotonic_ns};
use crate::net::vrrp_socket::VrrpSocket;

/// How long before a master-down deadline the thread wakes to check the kernel's record.
const EARLY_WAKE_NS: u64 = 400_000;
/// When the thread is awake anyway, backups whose deadline is this close also read the
/// kernel's record, so that hundreds of instances do not each wake the thread separately.
const REFRESH_WINDOW_NS: u64 = 5_000_000;
/// Advert and GARP deadlines this close are served in the same wake-up (a master's advert a
/// fraction of a millisecond early is harmless: the interval is a maximum).
const COALESCE_NS: u64 = 300_000;

/// Requests from the async side.
#[derive(Debug)]
pub enum Command {
    /// Tracking changed for an instance.
    Health {
        instance: String,
        weight: i32,
        fault: Option<FaultReason>,
    },
    /// A new configuration: keep identical instances, replace the rest.
    Reload(Vec<InstancePlan>),
    /// Send a snapshot of every instance.
    Snapshot(std::sync::mpsc::Sender<Vec<InstanceSnapshot>>),
    /// Priority 0 from masters, then stop.
    Shutdown,
}

/// What the async side hears from the protocol thread.
#[derive(Clone, Debug)]
pub enum Outcome {
    Transition {
        plan: Arc<InstancePlan>,
        from: State,
        to: State,
        reason: String,
        priority: u8,
        at_ns: u64,
    },
    /// Install (true) or remove (false) the instance's addresses.
    Addresses {
        plan: Arc<InstancePlan>,
        install: bool,
    },
    Gratuitous {
        plan: Arc<InstancePlan>,
        count: u32,
    },
    /// The thread has finished (after Shutdown).
    Stopped,
}

/// The handle the async side keeps.
pub struct ProtocolHandle {
    commands: std::sync::mpsc::Sender<Command>,
    wake: Arc<OwnedFd>,
    pub thread: Option<std::thread::JoinHandle<()>>,
}

impl ProtocolHandle {
    pub fn send(&self, command: Command) {
        if self.commands.send(command).is_ok() {
            let one: u64 = 1;
            // SAFETY: writing 8 bytes to our eventfd.
            unsafe { libc::write(self.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
        }
    }
}

/// How adverts reach the state machines.
pub enum Receive {
    /// The XDP program (shared with the async side for VIPS and counters).
    Xdp(Arc<Mutex<XdpDatapath>>),
    /// Raw sockets, with counters kept here by the same reasons.
    Sockets,
}

struct Running {
    plan: Arc<InstancePlan>,
    fsm: fsm::Instance,
    template: AdvertTemplate,
    /// The socket adverts leave by (the macvlan's under `use_vmac`).
    socket: (u32, Family),
    started: bool,
}

struct Thread {
    instances: Vec<Running>,
    sockets: HashMap<(u32, Family), VrrpSocket>,
    receive: Receive,
    events: Option<aya::maps::RingBuf<aya::maps::MapData>>,
    socket_counters: Arc<Mutex<[u64; Counter::COUNT]>>,
    commands: std::sync::mpsc::Receiver<Command>,
    wake: Arc<OwnedFd>,
    timer: OwnedFd,
    epoll: OwnedFd,
    outcomes: UnboundedSender<Outcome>,
    start_ns: u64,
    stopping: bool,
}

/// Starts the protocol thread with the initial instances.
pub fn spawn(
    plans: Vec<InstancePlan>,
    receive: Receive,
    socket_counters: Arc<Mutex<[u64; Counter::COUNT]>>,
    outcomes: UnboundedSender<Outcome>,
    scheduling: Scheduling,
) -> io::Result<ProtocolHandle> {
    // SAFETY: plain descriptor creation, owned below.
    let wake = Arc::new(unsafe {
        OwnedFd::from_raw_fd(sys::check(libc::eventfd(
            0,
            libc::EFD_NONBLOCK | libc::EFD_CLOEXEC,
        ))?)
    });
    // SAFETY: as above.
    let timer = unsafe {
        OwnedFd::from_raw_fd(sys::check(libc::timerfd_create(
            libc::CLOCK_MONOTONIC,
            libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
        ))?)
    };
    // SAFETY: as above.
    let epoll =
        unsafe { OwnedFd::from_raw_fd(sys::check(libc::epoll_create1(libc::EPOLL_CLOEXEC))?) };
    let (commands_tx, commands) = std::sync::mpsc::channel();
    let mut thread = Thread {
        instances: Vec::new(),
        sockets: HashMap::new(),
        events: match &receive {
            Receive::Xdp(datapath) => datapath
                .lock()
                .map_err(|_| io::Error::other("datapath lock"))?
                .take_events(),
            Receive::Sockets => None,
        },
        receive,
        socket_counters,
        commands,
        wake: Arc::clone(&wake),
        timer,
        epoll,
        outcomes,
        start_ns: monotonic_ns(),
        stopping: false,
    };
    thread.watch(thread.wake.as_raw_fd())?;
    thread.watch(thread.timer.as_raw_fd())?;
    if let Some(events) = &thread.events {
        thread.watch(events.as_raw_fd())?;
    }
    for plan in plans {
        thread.add_instance(plan)?;
    }
    let handle = std::thread::Builder::new()
        .name("vrrp-protocol".into())
        .spawn(move || {
            super::scheduling::apply_to_protocol_thread(&scheduling);
            thread.run()
        })?;
    Ok(ProtocolHandle {
        commands: commands_tx,
        wake,
        thread: Some(handle),
    })
}

impl Thread {
    fn watch(&self, fd: i32) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: fd as u64,
        };
        // SAFETY: registering a descriptor we own with our epoll instance.
        sys::check(unsafe {
            libc::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event)
        })
        .map(drop)
    }

    fn xdp(&self) -> Option<std::sync::MutexGuard<'_, XdpDatapath>> {
        match &self.receive {
            Receive::Xdp(datapath) => datapath.lock().ok(),
            Receive::Sockets => None,
        }
    }

    /// Opens (or reuses) the interface's socket, registers the instance with the datapath.
    fn add_instance(&mut self, plan: InstancePlan) -> io::Result<()> {
        let socket_key = (plan.ifindex, plan.config.family);
        if !self.sockets.contains_key(&socket_key) {
            let socket = VrrpSocket::open(
                plan.config.family,
                &plan.config.interface,
                plan.ifindex,
                plan.source,
            )?;
            if matches!(self.receive, Receive::Xdp(_)) {
                socket.drop_all_incoming()?;
            } else {
                self.watch(socket.raw_fd())?;
            }
            self.sockets.insert(socket_key, socket);
        }
        if let Some(socket) = self.sockets.get(&socket_key) {
            for destination in &plan.advert.destinations {
                if destination.is_multicast()
                    && let Err(error) = socket.join(*destination)
                    && error.raw_os_error() != Some(libc::EADDRINUSE)
                {
                    warn!(
                        "({}) joining {destination} on {}: {error}",
                        plan.name(),
                        plan.config.interface
                    );
                }
            }
        }
        // Under use_vmac adverts leave by the macvlan (carrying the virtual MAC); they are still
        // received, and the group joined, on the interface itself.
        let (send_index, send_name) = plan.send_interface();
        let send_key = (send_index, plan.config.family);
        if let std::collections::hash_map::Entry::Vacant(slot) = self.sockets.entry(send_key) {
            let socket = VrrpSocket::open(plan.config.family, send_name, send_index, plan.source)?;
            socket.drop_all_incoming()?;
            slot.insert(socket);
        }
        let fsm = fsm::Instance::new(plan.params.clone());
        if let Some(mut datapath) = self.xdp() {
            let _ = datapath.reset_liveness(&plan.key);
            let _ = datapath.write_config(&plan.key, &fsm.datapath_config(plan.datapath_base));
            for peer in &plan.config.unicast_peers {
                let _ = datapath.add_peer(
                    &PeerKey {
                        instance: plan.key,
                        address: raw_from_ip(peer.address).1,
                    },
                    peer.ttl_range(),
                );
            }
        }
        let template = AdvertTemplate::new(&plan.advert);
        self.instances.push(Running {
            plan: Arc::new(plan),
            fsm,
            template,
            socket: send_key,
            started: false,
        });
        Ok(())
    }

    fn run(mut self) {
        // Timer precision: no slack on this thread's sleeps.
        // SAFETY: prctl with PR_SET_TIMERSLACK has no memory-safety preconditions.
        unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1, 0, 0, 0) };
        let mut ready = [libc::epoll_event { events: 0, u64: 0 }; 16];
        loop {
            self.start_due_instances();
            self.serve_timers();
            if self.stopping
                && self
                    .instances
                    .iter()
                    .all(|r| r.fsm.state() != State::Master)
            {
                break;
            }
            self.arm_timer();
            // SAFETY: ready is a valid array of epoll_event.
            let count = unsafe {
                libc::epoll_wait(
                    self.epoll.as_raw_fd(),
                    ready.as_mut_ptr(),
                    ready.len() as i32,
                    1000,
                )
            };
            for event in ready.iter().take(count.max(0) as usize) {
                let fd = event.u64 as i32;
                if fd == self.wake.as_raw_fd() {
                    drain(fd);
                    self.commands();
                } else if fd == self.timer.as_raw_fd() {
                    drain(fd);
                } else if self.events.as_ref().is_some_and(|e| e.as_raw_fd() == fd) {
                    self.ring_events();
                } else {
                    self.socket_adverts(fd);
                }
            }
            if self.stopping
                && self
                    .instances
                    .iter()
                    .all(|r| r.fsm.state() != State::Master)
            {
                break;
            }
        }
        let _ = self.outcomes.send(Outcome::Stopped);
    }

    /// Instances start after `vrrp_startup_delay`.
    fn start_due_instances(&mut self) {
        let now = monotonic_ns();
        for index in 0..self.instances.len() {
            let running = &self.instances[index];
            if running.started || self.stopping {
                continue;
            }
            if now < self.start_ns + running.plan.startup_delay.as_nanos() as u64 {
                continue;
            }
            self.instances[index].started = true;
            self.input(index, Input::Startup, now);
        }
    }

    /// Arms the timerfd for the earliest thing to do: a pending start, an advert or GARP
    /// deadline, or `EARLY_WAKE_NS` before a master-down deadline.
    fn arm_timer(&self) {
        let mut wake_at: Option<u64> = None;
        for running in &self.instances {
            let candidate = if !running.started {
                self.start_ns + running.plan.startup_delay.as_nanos() as u64
            } else if let Some(next) = running.fsm.next_deadline() {
                if running.fsm.master_down_deadline() == Some(next) {
                    next.saturating_sub(EARLY_WAKE_NS)
                } else {
                    next
                }
            } else {
                continue;
            };
            wake_at = Some(wake_at.map_or(candidate, |w| w.min(candidate)));
        }
        // An absolute time of zero would disarm the timer; 1 ns means "now".
        let value = wake_at.map_or(0, |t| t.max(1));
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
    /// less than `EARLY_WAKE_NS` away and still stands after reading the kernel's record.
    fn serve_timers(&mut self) {
        loop {
            let mut now = monotonic_ns();
            let mut spin_until: Option<u64> = None;
            for index in 0..self.instances.len() {
                if let Some(down) = self.instances[index].fsm.master_down_deadline()
                    && down <= now + EARLY_WAKE_NS + REFRESH_WINDOW_NS
                {
                    self.refresh_liveness(index);
                    if let Some(down) = self.instances[index].fsm.master_down_deadline()
                        && down > now
                        && down <= now + EARLY_WAKE_NS
                    {
                        spin_until = Some(spin_until.map_or(down, |s| s.min(down)));
                    }
                }
                let Some(next) = self.instances[index].fsm.next_deadline() else {
                    continue;
                };
                let is_master_down = self.instances[index].fsm.master_down_deadline() == Some(next);
                if next <= now {
                    let input = if is_master_down && !self.group_may_take_over(index, now) {
                        Input::Sync(fsm::SyncEvent::Hold)
                    } else {
                        Input::Timer
                    };
                    self.input(index, input, now);
                    now = monotonic_ns();
                } else if !is_master_down && next <= now + COALESCE_NS {
                    // Served at its own deadline's time, a moment early.
                    self.input(index, Input::Timer, next);
                }
            }
            let Some(until) = spin_until else {
                return;
            };
            while monotonic_ns() < until {
                std::hint::spin_loop();
            }
        }
    }

    /// A sync-group member may become master only when every other member could too: none is
    /// in FAULT, and every backup among them has stopped hearing a better master.
    fn group_may_take_over(&mut self, index: usize, now: u64) -> bool {
        let Some(group) = self.instances[index].plan.sync_group.clone() else {
            return true;
        };
        let members: Vec<usize> = (0..self.instances.len())
            .filter(|&i| {
                i != index && self.instances[i].plan.sync_group.as_deref() == Some(group.as_str())
            })
            .collect();
        for member in members {
            self.refresh_liveness(member);
            let fsm = &self.instances[member].fsm;
            match fsm.state() {
                State::Fault => return false,
                State::Backup
                    if fsm
                        .master_down_deadline()
                        .is_some_and(|d| d > now + EARLY_WAKE_NS) =>
                {
                    return false;
                }
                _ => {}
            }
        }
        true
    }

    /// XDP mode: hand the state machine the kernel's record of the adverts it saw.
    fn refresh_liveness(&mut self, index: usize) {
        let key = self.instances[index].plan.key;
        let live = self.xdp().and_then(|datapath| datapath.liveness(&key));
        if let Some(live) = live {
            let now = monotonic_ns();
            self.input(index, Input::Liveness(live), now);
        }
    }

    fn commands(&mut self) {
        while let Ok(command) = self.commands.try_recv() {
            let now = monotonic_ns();
            match command {
                Command::Health {
                    instance,
                    weight,
                    fault,
                } => {
                    if let Some(index) = self
                        .instances
                        .iter()
                        .position(|r| r.plan.name() == instance)
                    {
                        self.input(index, Input::Health { weight, fault }, now);
                    }
                }
                Command::Reload(plans) => self.reload(plans),
                Command::Snapshot(reply) => {
                    let _ = reply.send(self.snapshot());
                }
                Command::Shutdown => {
                    self.stopping = true;
                    for index in 0..self.instances.len() {
                        self.input(index, Input::Shutdown, now);
                    }
                }
            }
        }
    }

    /// Keeps instances whose plan did not change (with their state); stops the others and
    /// starts the new ones.
    fn reload(&mut self, plans: Vec<InstancePlan>) {
        let now = monotonic_ns();
        let mut kept = Vec::new();
        let old = std::mem::take(&mut self.instances);
        let mut stopping = Vec::new();
        for running in old {
            if plans.iter().any(|p| p.same_as(running.plan.as_ref())) {
                kept.push(running);
            } else {
                stopping.push(running);
            }
        }
        self.instances = stopping;
        for index in 0..self.instances.len() {
            info!(
                "({}) removed or changed by the reload; stopping it",
                self.instances[index].plan.name()
            );
            self.input(index, Input::Shutdown, now);
            let key = self.instances[index].plan.key;
            if let Some(mut datapath) = self.xdp() {
                datapath.remove_instance(&key);
            }
        }
        self.instances = kept;
        for plan in plans {
            if self.instances.iter().any(|r| r.plan.same_as(&plan)) {
                continue;
            }
            info!("({}) added by the reload", plan.name());
            if let Err(error) = self.add_instance(plan) {
                warn!("reload: cannot start an instance: {error}");
            }
        }
    }

    fn snapshot(&self) -> Vec<InstanceSnapshot> {
        self.instances
            .iter()
            .map(|running| {
                let live = running.fsm.liveness();
                let family = running.plan.config.family;
                InstanceSnapshot {
                    name: running.plan.name().to_string(),
                    interface: running.plan.config.interface.clone(),
                    vrid: running.plan.config.vrid,
                    family,
                    state: running.fsm.state(),
                    base_priority: running.plan.config.priority,
                    effective_priority: running.fsm.effective_priority(),
                    master: match running.fsm.state() {
                        State::Master => {
                            Some((running.plan.source, running.fsm.effective_priority()))
                        }
                        _ if live.last_reset_ns != 0 => Some((
                            vrrp_common::wire::raw_to_ip(family, &live.master),
                            live.master_priority,
                        )),
                        _ => None,
                    },
                    last_transition: running
                        .fsm
                        .last_transition()
                        .map(|(at, reason)| (*at, reason.describe(family))),
                    counters: *running.fsm.counters(),
                    adverts_seen: self
                        .xdp()
                        .and_then(|d| d.liveness(&running.plan.key))
                        .map_or(live.adverts, |l| l.adverts),
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

    /// XDP mode: records of changes the kernel saw.
    fn ring_events(&mut self) {
        let mut batch: Vec<Event> = Vec::new();
        if let Some(events) = self.events.as_mut() {
            while let Some(item) = events.next() {
                if item.len() >= std::mem::size_of::<Event>() {
                    // SAFETY: the program writes whole Event records; read_unaligned copes with
                    // the ring buffer's alignment.
                    batch.push(unsafe { std::ptr::read_unaligned(item.as_ptr().cast::<Event>()) });
                }
            }
        }
        for event in batch {
            self.on_event(&event);
        }
    }

    fn on_event(&mut self, event: &Event) {
        let Some(index) = self.instances.iter().position(|r| r.plan.key == event.key) else {
            return;
        };
        let kind = EventKind::from_u8(event.kind);
        let family = self.instances[index].plan.config.family;
        if kind == Some(EventKind::AuthFailure) {
            warn!(
                "({}) received an invalid passwd! (from {}; further failures counted, logged once a second)",
                self.instances[index].plan.name(),
                vrrp_common::wire::raw_to_ip(family, &event.source)
            );
            return;
        }
        debug!(
            "({}) datapath event {kind:?} priority {}",
            self.instances[index].plan.name(),
            event.priority
        );
        let advert = rules::Advert {
            source: event.source,
            priority: event.priority,
            interval_cs: event.interval_cs,
        };
        self.input(index, Input::Advert(advert), event.timestamp_ns.max(1));
    }

    /// Socket mode: read every queued advert from the socket behind `fd`.
    fn socket_adverts(&mut self, fd: i32) {
        let Some((&(ifindex, _), _)) = self.sockets.iter().find(|(_, s)| s.raw_fd() == fd) else {
            return;
        };
        let mut buffer = [0u8; 2048];
        loop {
            let received = match self
                .sockets
                .values()
                .find(|s| s.raw_fd() == fd)
                .map(|s| s.receive(&mut buffer))
            {
                Some(Ok(Some(received))) => received,
                _ => return,
            };
            let now = monotonic_ns();
            let meta = received.meta;
            let payload = buffer
                .get(meta.payload_offset..meta.payload_offset + meta.payload_len)
                .unwrap_or(&[]);
            // The instance this message would be for, looked up once, without allocating: the
            // socket path runs once per received frame.
            let vrid = payload.get(1).copied().unwrap_or(0);
            let wanted = InstanceKey::new(ifindex, meta.family, vrid);
            let config = self
                .instances
                .iter()
                .find(|r| r.plan.key == wanted)
                .map(|r| r.fsm.datapath_config(r.plan.datapath_base));
            let instances = &self.instances;
            let reception = rules::receive_advert(
                ifindex,
                &meta,
                payload,
                |key| config.as_ref().filter(|_| *key == wanted),
                |key, source| {
                    instances
                        .iter()
                        .filter(|r| r.plan.key == *key)
                        .flat_map(|r| &r.plan.config.unicast_peers)
                        .find(|p| raw_from_ip(p.address).1 == *source)
                        .map(|p| p.ttl_range())
                },
            );
            let counter = match reception.verdict {
                Ok(_) => Counter::AdvertsValid,
                Err(counter) => counter,
            };
            if let Ok(mut counters) = self.socket_counters.lock() {
                counters[Counter::FramesSeen as usize] += 1;
                counters[counter as usize] += 1;
            }
            if let (Some((key, _)), Ok(advert)) = (reception.instance, reception.verdict)
                && let Some(index) = self.instances.iter().position(|r| r.plan.key == key)
            {
                self.input(index, Input::Advert(advert), now);
            }
        }
    }

    /// Feeds an input to one state machine and carries out what it asks; a transition of a
    /// sync-group member is passed on to the other members.
    fn input(&mut self, index: usize, input: Input, now: u64) {
        let mut actions = Vec::new();
        self.instances[index].fsm.handle(input, now, &mut actions);
        if actions.is_empty() {
            return;
        }
        let mut sync = Vec::new();
        for action in &actions {
            if let Action::Transition { from, to, reason } = action
                && *reason != Reason::SyncGroup
                && *reason != Reason::Shutdown
            {
                match (from, to) {
                    (_, State::Master) => sync.push(fsm::SyncEvent::Master),
                    (State::Master, State::Backup) => sync.push(fsm::SyncEvent::Backup),
                    (_, State::Fault) => sync.push(fsm::SyncEvent::Fault(true)),
                    (State::Fault, _) => sync.push(fsm::SyncEvent::Fault(false)),
                    _ => {}
                }
            }
        }
        let mut config_changed = false;
        for action in actions {
            config_changed |= self.act(index, action, now);
        }
        if let Some(group) = self.instances[index].plan.sync_group.clone() {
            for event in sync {
                let members: Vec<usize> = (0..self.instances.len())
                    .filter(|&i| {
                        i != index
                            && self.instances[i].plan.sync_group.as_deref() == Some(group.as_str())
                    })
                    .collect();
                for member in members {
                    self.input(member, Input::Sync(event), now);
                }
            }
        }
        if config_changed {
            let running = &self.instances[index];
            let config = running.fsm.datapath_config(running.plan.datapath_base);
            let key = running.plan.key;
            if let Some(mut datapath) = self.xdp() {
                let _ = datapath.write_config(&key, &config);
            }
        }
    }

    /// Carries out one action; says whether the datapath's CONFIG entry must be rewritten.
    fn act(&mut self, index: usize, action: Action, now: u64) -> bool {
        let name = self.instances[index].plan.name().to_string();
        match action {
            Action::SendAdvert { priority } => {
                let running = &mut self.instances[index];
                if let Some(socket) = self.sockets.get(&running.socket)
                    && let Err(error) = running.template.send(socket, priority)
                {
                    debug!("({name}) sending advert: {error}");
                }
                if priority == PRIORITY_STOP {
                    info!("({name}) sent 0 priority");
                }
                false
            }
            Action::Transition { from, to, reason } => {
                let family = self.instances[index].plan.config.family;
                let reason_text = reason.describe(family);
                log_transition(
                    &name,
                    to,
                    &reason,
                    &reason_text,
                    family,
                    self.instances[index].fsm.effective_priority(),
                );
                let _ = self.outcomes.send(Outcome::Transition {
                    plan: Arc::clone(&self.instances[index].plan),
                    from,
                    to,
                    reason: reason_text,
                    priority: self.instances[index].fsm.effective_priority(),
                    at_ns: now,
                });
                true
            }
            Action::AddAddresses | Action::RemoveAddresses => {
                let _ = self.outcomes.send(Outcome::Addresses {
                    plan: Arc::clone(&self.instances[index].plan),
                    install: action == Action::AddAddresses,
                });
                false
            }
            Action::SendGratuitous { count } => {
                let _ = self.outcomes.send(Outcome::Gratuitous {
                    plan: Arc::clone(&self.instances[index].plan),
                    count,
                });
                false
            }
            Action::LowerPriorityHeard { source, priority } => {
                let running = &self.instances[index];
                info!(
                    "({name}) Master received advert from {} with lower priority {priority}, ours {}, forcing new election",
                    vrrp_common::wire::raw_to_ip(running.plan.config.family, &source),
                    running.fsm.effective_priority()
                );
                false
            }
            Action::PriorityChanged { from, to } => {
                info!("({name}) Changing effective priority from {from} to {to}");
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

fn drain(fd: i32) {
    let mut buffer = [0u8; 8];
    // SAFETY: reading into a local buffer from a descriptor we own.
    unsafe { libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len()) };
}

/// How long a clean shutdown waits for the thread.
pub const SHUTDOWN_WAIT: Duration = Duration::from_millis(500);
