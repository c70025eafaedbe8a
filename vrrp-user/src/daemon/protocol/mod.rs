//! The protocol thread: owns every state machine and runs them against CLOCK_MONOTONIC.
//!
//! It sleeps in epoll on a timerfd armed with the earliest absolute deadline, the EVENTS ring
//! buffer (XDP mode) or the VRRP sockets (socket mode), and an eventfd for commands from the
//! async side. Adverts are sent from here, synchronously: the moment a state machine asks,
//! except the masters' periodic adverts of one pass over the timers, which leave together at
//! the end of the pass (one sendmmsg per socket).
//!
//! Takeover precision: a master-down deadline is only real if the kernel saw no advert since
//! the state machine last looked, so the thread wakes `EARLY_WAKE_NS` before it, reads LIVENESS,
//! and if the deadline still stands, spins the last stretch and decides on time. Advert timers
//! need no such care and are served on the timerfd's wake-up.

//!
//! This file is the reactor: the thread's state, its epoll loop and the commands of the async
//! side. Around it: `lifecycle` (instances added, started, reloaded), `timers` (deadlines and
//! the spin before a takeover), `receive` (adverts from the ring buffer or the sockets),
//! `actions` (what a state machine asks for: adverts sent, transitions reported) and `sync`
//! (sync groups).

mod actions;
mod lifecycle;
mod outbox;
mod publish;
mod receive;
mod sync;
mod timers;

use std::collections::HashMap;

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::thread::JoinHandleExt;
use std::sync::{Arc, Mutex};
use vrrp_common::stats::ReceiveErrors;

pub use publish::Published;
use publish::Unpublished;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use vrrp_common::maps::State;
use vrrp_common::time::Instant;
use vrrp_common::wire::Family;

use super::addresses::Workers as AddressWorkers;
use super::plan::InstancePlan;
use super::stand_in::{self, StandIn};
use crate::config::model::Scheduling;
use crate::datapath::liveness::LivenessView;
use crate::datapath::xdp::XdpDatapath;
use crate::fsm::{self, FaultReason, Input};
use crate::net::advert::AdvertTemplate;
use crate::net::ipsec_ah::AhSession;
use crate::net::sys::{self, monotonic_now};
use crate::net::vrrp_socket::VrrpSocket;

/// Requests from the async side.
pub enum Command {
    /// Tracking changed for an instance.
    Health {
        instance: String,
        weight: i32,
        fault: Option<FaultReason>,
    },
    /// A new configuration: keep identical instances, replace the rest.
    Reload(Vec<Arc<InstancePlan>>),
    /// Priority 0 from masters, then stop.
    Shutdown,
    /// A master's tracked virtual address, route or rule was removed.
    AddressRemoved { instance: String },
    /// `vrrpd upgrade`: stop without a word on the wire, right after the next advert of a master
    /// (so that the next image has a whole interval to come up), and answer with where every
    /// instance stands and the stand-in that sends the masters' adverts meanwhile.
    HandOver(tokio::sync::oneshot::Sender<Handed>),
    /// The XDP program has loaded in the background (the thread started in socket mode, so
    /// that start-up does not wait for the verifier): register every instance in its maps and
    /// read its ring buffer, still reading the sockets; answered once the maps are ready for
    /// the program to be attached.
    UseXdp(Arc<Mutex<XdpDatapath>>, tokio::sync::oneshot::Sender<()>),
    /// The program is attached on every interface: the sockets stop receiving.
    XdpAttached,
    /// The program could not be attached: back to socket mode.
    UseSockets,
}

/// One instance as `vrrpd upgrade` carries it into the next image: its identity (the next image
/// resumes it only if its configuration still has an instance of that name on the same
/// interface, VRID and family) and its state machine's [`fsm::Carried`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CarriedInstance {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    pub ipv6: bool,
    pub fsm: fsm::Carried,
    /// `auth_type AH`: the sequence counter, so that peers do not take the next image's
    /// adverts for replays. Absent (0) from images before it was carried.
    #[serde(default)]
    pub ah_sequence: u32,
    /// A master whose adverts the stand-in sends across the exec: its slot in the stand-in's
    /// record.
    #[serde(default)]
    pub stand_in_slot: Option<usize>,
}

/// The protocol thread's answer to [`Command::HandOver`].
#[derive(Debug)]
pub struct Handed {
    pub instances: Vec<CarriedInstance>,
    /// Sending the masters' adverts until the next image relieves it (`None` when no master
    /// can be stood in for, or the fork failed: the next image then has until the next advert
    /// falls due).
    pub stand_in: Option<StandIn>,
}

impl CarriedInstance {
    fn identifies(&self, plan: &InstancePlan) -> bool {
        self.name == plan.name()
            && self.interface == plan.config.interface
            && self.vrid == plan.config.vrid
            && self.ipv6 == (plan.config.family == Family::Ipv6)
    }
}

/// What the async side hears from the protocol thread.
#[derive(Clone, Debug)]
pub enum Outcome {
    Transition {
        plan: Arc<InstancePlan>,
        from: State,
        to: State,
        /// What the notifications announce: the state entered, or the deletion by a reload.
        event: crate::notify::Event,
        reason: String,
        priority: u8,
        at: Instant,
    },
    /// An event for the notify scripts and FIFOs that is not a transition.
    Notice {
        plan: Arc<InstancePlan>,
        event: crate::notify::Event,
        priority: u8,
    },
    /// Adverts with the wrong password or authentication type reached the instance (reported
    /// at most once a second per instance): keepalived's vrrpTrapAuthFailure.
    AuthFailure {
        plan: Arc<InstancePlan>,
        source: std::net::IpAddr,
        /// Another authentication type, rather than the wrong password.
        type_mismatch: bool,
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
    /// The XDP program (shared with the async side, which attaches it on reload; status and
    /// the address workers use map handles of their own), and its LIVENESS records, read
    /// without the datapath's lock (see [`Receive::xdp`]).
    Xdp {
        datapath: Arc<Mutex<XdpDatapath>>,
        liveness: Arc<LivenessView>,
    },
    /// Raw sockets, with counters kept here by the same reasons.
    Sockets,
}

impl Receive {
    /// XDP mode. The thread reads a thousand backups' records in each wake-up, and one record
    /// right before each takeover decision: from the mapped array they need no lock, so
    /// neither waits for the async side's work on the datapath (an attach, an upgrade's swap).
    pub fn xdp(datapath: Arc<Mutex<XdpDatapath>>) -> Receive {
        let liveness = datapath
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .liveness_view();
        Receive::Xdp { datapath, liveness }
    }
}

struct Running {
    plan: Arc<InstancePlan>,
    fsm: fsm::Instance,
    template: AdvertTemplate,
    /// `auth_type AH`: the key and keepalived's sequence counter.
    ah: Option<AhSession>,
    /// When an authentication refusal (a wrong password in socket mode, a failed AH check) was
    /// last logged (at most one a second per instance).
    refusal_logged_at: Option<Instant>,
    /// The socket adverts leave by (the macvlan's under `use_vmac`).
    socket: (u32, Family),
    started: bool,
    /// Adverts seen with another address list than ours, and what of them was logged.
    address_list: receive::AddressListReport,
    /// Adverts for this instance refused by the sockets (the XDP program counts its own in
    /// INSTANCE_ERRORS), as keepalived counts them per instance.
    receive_errors: ReceiveErrors,
    /// XDP mode: where the program writes this instance's record in LIVENESS (kept here, next
    /// to the state machine, for the thread reads it for a thousand backups before each wave
    /// of deadlines, and a hash lookup each missed the cache).
    liveness_slot: Option<u32>,
}

/// When an advert's send system call started and returned (CLOCK_MONOTONIC).
#[derive(Clone, Copy, Default)]
struct SpotSend {
    started: Instant,
    returned: Instant,
}

struct Thread {
    instances: Vec<Running>,
    sockets: HashMap<(u32, Family), VrrpSocket>,
    /// `auth_type AH`: a socket of protocol 51 per interface with such an instance, read in XDP
    /// and socket mode alike (the XDP program passes the Authentication Header up untouched).
    ah_sockets: HashMap<u32, VrrpSocket>,
    receive: Receive,
    events: Option<aya::maps::RingBuf<aya::maps::MapData>>,
    /// Snapshots and socket-mode counters, for status, stats and metrics.
    published: Arc<Published>,
    unpublished: Unpublished,
    last_published: Instant,
    commands: std::sync::mpsc::Receiver<Command>,
    wake: Arc<OwnedFd>,
    timer: OwnedFd,
    epoll: OwnedFd,
    outcomes: UnboundedSender<Outcome>,
    /// Where the instances' address work goes (addresses installed or removed, gratuitous
    /// ARPs), straight from here.
    addresses: Arc<AddressWorkers>,
    /// When the thread started (`vrrp_startup_delay` counts from here).
    started: Instant,
    /// When the system booted, on the thread's clock (`vrrp_delay_after_boot` counts from
    /// here).
    booted: Instant,
    stopping: bool,
    /// A reload is stopping the instances it removed: their stop is announced as a deletion.
    deleting: bool,
    /// Instances whose address cannot be bound yet (see `lifecycle`).
    waiting: Vec<Arc<InstancePlan>>,
    /// What the previous image of the daemon carried over, taken by each instance as it joins.
    carried: Vec<CarriedInstance>,
    /// An upgrade waiting for the next advert: who to answer, and since when.
    handing_over: Option<(tokio::sync::oneshot::Sender<Handed>, Instant)>,
    /// When the last advert left.
    last_advert_sent: Instant,
    /// When the send of the last advert sent on the spot (not batched) started and returned: a
    /// takeover's timing line reports them (`timers`).
    spot_send: SpotSend,
    /// A pass over the timers is serving masters' periodic adverts: they are queued in
    /// `outbox` and leave together at the end of the pass, one sendmmsg per socket (`timers`).
    batching: bool,
    outbox: outbox::Outbox,
    /// The instance whose takeover's addresses were just installed on this thread
    /// (`AddressWorkers::install_at_once`): its gratuitous ARPs may follow here too.
    installed_at_once: Option<usize>,
    /// When address work was last done on this thread.
    last_at_once: Instant,
    /// The transitions of the input being acted on, reported once its actions are done.
    transitions_reported: Vec<Outcome>,
}

/// Starts the protocol thread with the initial instances; `handed` is what the previous
/// image's protocol thread handed over (nothing on a fresh start).
pub fn spawn(
    plans: Vec<Arc<InstancePlan>>,
    receive: Receive,
    published: Arc<Published>,
    outcomes: UnboundedSender<Outcome>,
    addresses: Arc<AddressWorkers>,
    scheduling: Scheduling,
    handed: Handed,
) -> io::Result<ProtocolHandle> {
    let Handed {
        instances: carried,
        stand_in,
    } = handed;
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
        ah_sockets: HashMap::new(),
        events: match &receive {
            Receive::Xdp { datapath, .. } => datapath
                .lock()
                .map_err(|_| io::Error::other("datapath lock"))?
                .take_events(),
            Receive::Sockets => None,
        },
        receive,
        published,
        unpublished: Unpublished::State,
        last_published: Instant::from_ns(0),
        commands,
        wake: Arc::clone(&wake),
        timer,
        epoll,
        outcomes,
        addresses,
        started: monotonic_now(),
        booted: monotonic_now().saturating_sub(sys::since_boot()),
        stopping: false,
        deleting: false,
        waiting: Vec::new(),
        carried,
        handing_over: None,
        last_advert_sent: Instant::from_ns(0),
        spot_send: SpotSend::default(),
        batching: false,
        outbox: outbox::Outbox::default(),
        installed_at_once: None,
        last_at_once: Instant::from_ns(0),
        transitions_reported: Vec::new(),
    };
    thread.watch(thread.wake.as_raw_fd())?;
    thread.watch(thread.timer.as_raw_fd())?;
    if let Some(events) = &thread.events {
        thread.watch(events.as_raw_fd())?;
    }
    let stood_in: Vec<(String, usize)> = carried_slots(&thread.carried);
    for plan in plans {
        thread.admit(plan)?;
    }
    // As late as can be: the stand-in sends until this thread is about to run.
    if let Some(stand_in) = stand_in {
        thread.take_over_from(stand_in, &stood_in);
    }
    thread.log_startup_delay();
    let handle = std::thread::Builder::new()
        .name("vrrp-protocol".into())
        .spawn(move || thread.run())?;
    // From here rather than from the thread itself: a new thread starts at normal priority
    // (SCHED_RESET_ON_FORK during an upgrade), and on a loaded machine its first run could
    // wait for milliseconds, past the next advert's due time.
    super::scheduling::apply_to_protocol_thread(handle.as_pthread_t(), &scheduling);
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

    fn unwatch(&self, fd: i32) {
        // SAFETY: removing a descriptor from our epoll instance (a null event is allowed).
        unsafe {
            libc::epoll_ctl(
                self.epoll.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd,
                std::ptr::null_mut(),
            )
        };
    }

    fn xdp(&self) -> Option<std::sync::MutexGuard<'_, XdpDatapath>> {
        match &self.receive {
            Receive::Xdp { datapath, .. } => datapath.lock().ok(),
            Receive::Sockets => None,
        }
    }

    /// Stopping, and no instance is master any more (their priority-0 adverts are out).
    fn finished(&self) -> bool {
        self.stopping
            && self
                .instances
                .iter()
                .all(|r| r.fsm.state() != State::Master)
    }

    fn run(mut self) {
        // Timer precision: no slack on this thread's sleeps.
        // SAFETY: prctl with PR_SET_TIMERSLACK has no memory-safety preconditions.
        unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1, 0, 0, 0) };
        let mut ready = [libc::epoll_event { events: 0, u64: 0 }; 16];
        loop {
            if !self.waiting.is_empty() && !self.stopping {
                self.retry_waiting();
            }
            self.start_due_instances();
            self.serve_timers();
            if self.finished() {
                break;
            }
            if self.hand_over_if_due() {
                // Gone without a word: the next image goes on from here.
                return;
            }
            self.publish_if_due(monotonic_now());
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
            if self.finished() {
                break;
            }
        }
        let _ = self.outcomes.send(Outcome::Stopped);
    }

    fn commands(&mut self) {
        while let Ok(command) = self.commands.try_recv() {
            let now = monotonic_now();
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
                        self.changed(Unpublished::Counters);
                    }
                }
                Command::Reload(plans) => {
                    self.reload(plans);
                    self.changed(Unpublished::State);
                }
                Command::Shutdown => {
                    self.stopping = true;
                    for index in 0..self.instances.len() {
                        self.input(index, Input::Shutdown, now);
                    }
                }
                Command::HandOver(reply) => self.handing_over = Some((reply, now)),
                Command::UseXdp(datapath, reply) => {
                    self.use_xdp(datapath);
                    let _ = reply.send(());
                }
                Command::XdpAttached => self.quiet_sockets(),
                Command::UseSockets => self.use_sockets(),
                Command::AddressRemoved { instance } => {
                    if let Some(index) = self
                        .instances
                        .iter()
                        .position(|r| r.plan.name() == instance)
                    {
                        self.input(index, Input::AddressRemoved, now);
                    }
                }
            }
        }
    }

    /// Answers a pending [`Command::HandOver`] once a master has just advertised (or at once
    /// when no instance is master); true when the thread must end here.
    fn hand_over_if_due(&mut self) -> bool {
        let Some((_, asked)) = &self.handing_over else {
            return false;
        };
        let any_master = self
            .instances
            .iter()
            .any(|r| r.fsm.state() == State::Master);
        if any_master && self.last_advert_sent < *asked {
            return false;
        }
        let Some((reply, _)) = self.handing_over.take() else {
            return false;
        };
        let mut instances: Vec<CarriedInstance> = self
            .instances
            .iter()
            .map(|running| CarriedInstance {
                name: running.plan.name().to_string(),
                interface: running.plan.config.interface.clone(),
                vrid: running.plan.config.vrid,
                ipv6: running.plan.config.family == Family::Ipv6,
                fsm: running.fsm.carry(),
                ah_sequence: running.ah.as_ref().map_or(0, |session| session.sequence()),
                stand_in_slot: None,
            })
            .collect();
        let stand_in = self.start_stand_in(&mut instances);
        reply
            .send(Handed {
                instances,
                stand_in,
            })
            .is_ok()
    }

    /// Forks the stand-in for every master it can stand in for (not under `auth_type AH`,
    /// whose adverts each carry a new sequence number), noting each one's slot.
    fn start_stand_in(&self, instances: &mut [CarriedInstance]) -> Option<StandIn> {
        let mut schedules = Vec::new();
        for (running, carried) in self.instances.iter().zip(instances.iter_mut()) {
            let socket = self.sockets.get(&running.socket);
            let (Some(socket), Some(next_due), None) =
                (socket, carried.fsm.next_advert_ns, running.ah.as_ref())
            else {
                continue;
            };
            if running.fsm.state() != State::Master {
                continue;
            }
            carried.stand_in_slot = Some(schedules.len());
            schedules.push(stand_in::Schedule {
                socket: socket.raw_fd(),
                scope: socket.ifindex(),
                frames: running.template.frames(running.fsm.effective_priority()),
                next_due: Instant::from_ns(next_due),
                interval: vrrp_common::time::interval(running.fsm.params().interval_cs),
            });
        }
        if schedules.is_empty() {
            return None;
        }
        match StandIn::start(&schedules) {
            Ok(stand_in) => Some(stand_in),
            Err(error) => {
                tracing::warn!("upgrade: no stand-in for the masters' adverts: {error}");
                for carried in instances {
                    carried.stand_in_slot = None;
                }
                None
            }
        }
    }
}

/// The instances the previous image's stand-in sent for, with their slots.
fn carried_slots(carried: &[CarriedInstance]) -> Vec<(String, usize)> {
    carried
        .iter()
        .filter_map(|c| Some((c.name.clone(), c.stand_in_slot?)))
        .collect()
}

fn drain(fd: i32) {
    let mut buffer = [0u8; 8];
    // SAFETY: reading into a local buffer from a descriptor we own.
    unsafe { libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len()) };
}

/// How long a clean shutdown waits for the thread.
pub const SHUTDOWN_WAIT: Duration = Duration::from_millis(500);
