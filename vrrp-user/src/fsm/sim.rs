//! A deterministic simulator: N state machines on one virtual Ethernet segment with a virtual
//! clock, loss, delay and partitions. Test support for the protocol core; it uses no clock,
//! thread or socket, so every run with the same seed is the same run.
//!
//! Each router receives adverts in one of two ways, the two ways the daemon has:
//! - [`Delivery::EveryAdvert`] (socket mode): every advert becomes an [`Input::Advert`].
//! - [`Delivery::KernelFiltered`] (XDP mode): a simulated kernel applies the shared rule to every
//!   advert, keeps its own [`Liveness`], and passes only the adverts it flags as changes; before
//!   each timer check the state machine gets the kernel's record ([`Input::Liveness`]).
//!
//! Scenarios can run the same story in both modes and require the same outcome.

use std::collections::BinaryHeap;

use vrrp_common::maps::{InstanceConfig, Liveness, State};
use vrrp_common::rules::{self, Advert};
use vrrp_common::time::Instant;

use super::{Action, FaultReason, Input, Instance, Params};

/// How a router's state machine hears adverts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    EveryAdvert,
    KernelFiltered,
}

/// Something that happened, for assertions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A router put an advert on the wire.
    Advert { router: usize, priority: u8 },
    /// A router changed state.
    Transition {
        router: usize,
        from: State,
        to: State,
    },
    /// A router installed or removed its addresses.
    Addresses { router: usize, installed: bool },
    /// A router sent gratuitous ARPs.
    Gratuitous { router: usize, count: u32 },
}

/// One simulated router.
#[derive(Debug)]
pub struct SimRouter {
    pub instance: Instance,
    pub delivery: Delivery,
    /// The process runs (crash and stop clear it).
    pub running: bool,
    /// Its link to the segment carries frames.
    pub link_up: bool,
    /// Whether its virtual addresses are installed.
    pub addresses_installed: bool,
    kernel: Liveness,
    params: Params,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    /// Reversed so the heap pops the earliest first.
    at: std::cmp::Reverse<u64>,
    sequence: std::cmp::Reverse<u64>,
    to: usize,
    from: usize,
    priority: u8,
}

/// The segment: routers, the frames in flight and the clock.
#[derive(Debug)]
pub struct Segment {
    pub now: u64,
    pub routers: Vec<SimRouter>,
    pub records: Vec<(u64, Record)>,
    /// One-way delay of every frame.
    pub delay_ns: u64,
    /// Probability (0..1) that a frame is lost, drawn from a seeded generator.
    pub loss: f64,
    /// Pairs that cannot hear each other.
    blocked: Vec<(usize, usize)>,
    in_flight: BinaryHeap<InFlight>,
    sequence: u64,
    rng: u64,
}

impl Segment {
    pub fn new(seed: u64) -> Segment {
        Segment {
            now: 1_000_000_000,
            routers: Vec::new(),
            records: Vec::new(),
            delay_ns: 100_000,
            loss: 0.0,
            blocked: Vec::new(),
            in_flight: BinaryHeap::new(),
            sequence: 0,
            rng: seed | 1,
        }
    }

    /// Adds a router (not yet started); returns its index.
    pub fn add(&mut self, params: Params, delivery: Delivery) -> usize {
        self.routers.push(SimRouter {
            instance: Instance::new(params.clone()),
            delivery,
            running: false,
            link_up: true,
            addresses_installed: false,
            kernel: Liveness::default(),
            params,
        });
        self.routers.len() - 1
    }

    /// Starts (or restarts, with a fresh state machine) a router.
    pub fn start(&mut self, router: usize) {
        let params = self.routers[router].params.clone();
        let entry = &mut self.routers[router];
        entry.instance = Instance::new(params);
        entry.kernel = Liveness::default();
        entry.running = true;
        entry.addresses_installed = false;
        self.input(router, Input::Startup);
    }

    /// A clean stop: the state machine sends priority 0 and removes its addresses.
    pub fn stop(&mut self, router: usize) {
        self.input(router, Input::Shutdown);
        self.routers[router].running = false;
    }

    /// The process dies: nothing more is sent, addresses stay until a restart cleans them.
    pub fn crash(&mut self, router: usize) {
        self.routers[router].running = false;
    }

    pub fn set_link(&mut self, router: usize, up: bool) {
        self.routers[router].link_up = up;
    }

    /// Tracking changed on a router.
    pub fn set_health(&mut self, router: usize, weight: i32, fault: Option<FaultReason>) {
        self.input(router, Input::Health { weight, fault });
    }

    /// A reload gave a running router new settings (same identity): applied in place.
    pub fn reconfigure(&mut self, router: usize, params: Params) {
        self.routers[router].params = params.clone();
        self.input(router, Input::Reconfigure(Box::new(params)));
    }

    /// `a` and `b` stop hearing each other (both directions).
    pub fn partition(&mut self, a: usize, b: usize) {
        self.blocked.push((a, b));
    }

    pub fn heal(&mut self) {
        self.blocked.clear();
    }

    /// Indices of routers currently in Master state (and running).
    pub fn masters(&self) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|&i| {
                self.routers[i].running && self.routers[i].instance.state() == State::Master
            })
            .collect()
    }

    pub fn state(&self, router: usize) -> State {
        self.routers[router].instance.state()
    }

    /// Advances the clock to `until`, processing every timer and delivery on the way.
    pub fn run_until(&mut self, until: u64) {
        loop {
            let next_timer = self
                .routers
                .iter()
                .enumerate()
                .filter(|(_, r)| r.running)
                .filter_map(|(i, r)| r.instance.next_deadline().map(|t| (t.as_ns(), i)))
                .min();
            let next_frame = self.in_flight.peek().map(|f| f.at.0);
            let next = match (next_timer, next_frame) {
                (Some((t, _)), Some(f)) => t.min(f),
                (Some((t, _)), None) => t,
                (None, Some(f)) => f,
                (None, None) => u64::MAX,
            };
            if next > until {
                self.now = until;
                return;
            }
            self.now = self.now.max(next);
            if next_frame == Some(next) {
                if let Some(frame) = self.in_flight.pop() {
                    self.deliver(frame);
                }
            } else if let Some((_, router)) = next_timer {
                self.fire_timer(router);
            }
        }
    }

    /// Advances the clock by `duration`.
    pub fn run_for(&mut self, duration: u64) {
        self.run_until(self.now + duration);
    }

    fn fire_timer(&mut self, router: usize) {
        let before = self.routers[router]
            .instance
            .next_deadline()
            .map(Instant::as_ns);
        if self.routers[router].delivery == Delivery::KernelFiltered {
            let kernel = self.routers[router].kernel;
            self.input(router, Input::Liveness(kernel));
        }
        self.input(router, Input::Timer);
        let after = self.routers[router]
            .instance
            .next_deadline()
            .map(Instant::as_ns);
        assert!(
            after != before || after.is_none_or(|t| t > self.now),
            "router {router} did nothing at its deadline {before:?} (now {})",
            self.now
        );
    }

    fn deliver(&mut self, frame: InFlight) {
        let to = frame.to;
        if !self.routers[to].running || !self.routers[to].link_up {
            return;
        }
        let advert = Advert {
            source: self.routers[frame.from].params.source,
            priority: frame.priority,
            interval_cs: self.routers[frame.from].params.interval_cs,
        };
        match self.routers[to].delivery {
            Delivery::EveryAdvert => self.input(to, Input::Advert(advert)),
            Delivery::KernelFiltered => {
                let config = self.routers[to]
                    .instance
                    .datapath_config(InstanceConfig::default());
                let wake =
                    rules::observe_advert(&config, &mut self.routers[to].kernel, &advert, self.now)
                        .wake;
                if wake.is_some() {
                    self.input(to, Input::Advert(advert));
                }
            }
        }
    }

    fn input(&mut self, router: usize, input: Input) {
        let mut actions = Vec::new();
        let now = Instant::from_ns(self.now);
        self.routers[router]
            .instance
            .handle(input, now, &mut actions);
        assert!(
            self.routers[router].instance.deadlines_are_current(),
            "router {router}'s cached deadlines are stale after an input"
        );
        for action in actions {
            self.apply(router, action);
        }
    }

    fn apply(&mut self, router: usize, action: Action) {
        let now = self.now;
        match action {
            Action::SendAdvert { priority } => {
                self.records
                    .push((now, Record::Advert { router, priority }));
                if !self.routers[router].link_up {
                    return;
                }
                for to in 0..self.routers.len() {
                    if to == router || self.is_blocked(router, to) || self.lost() {
                        continue;
                    }
                    self.sequence += 1;
                    self.in_flight.push(InFlight {
                        at: std::cmp::Reverse(now + self.delay_ns),
                        sequence: std::cmp::Reverse(self.sequence),
                        to,
                        from: router,
                        priority,
                    });
                }
            }
            Action::Transition { from, to, .. } => {
                self.records
                    .push((now, Record::Transition { router, from, to }));
            }
            Action::AddAddresses => {
                self.routers[router].addresses_installed = true;
                self.records.push((
                    now,
                    Record::Addresses {
                        router,
                        installed: true,
                    },
                ));
            }
            Action::RemoveAddresses => {
                self.routers[router].addresses_installed = false;
                self.records.push((
                    now,
                    Record::Addresses {
                        router,
                        installed: false,
                    },
                ));
            }
            Action::SendGratuitous { count } => {
                self.records
                    .push((now, Record::Gratuitous { router, count }));
            }
            Action::SendExtraGratuitous => {
                self.records
                    .push((now, Record::Gratuitous { router, count: 1 }));
            }
            Action::PriorityChanged { .. } | Action::LowerPriorityHeard { .. } => {}
        }
    }

    fn is_blocked(&self, a: usize, b: usize) -> bool {
        self.blocked
            .iter()
            .any(|&(x, y)| (x == a && y == b) || (x == b && y == a))
    }

    /// xorshift64*: deterministic loss decisions.
    fn lost(&mut self) -> bool {
        if self.loss <= 0.0 {
            return false;
        }
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let draw = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
        (draw as f64 / (1u64 << 53) as f64) < self.loss
    }

    /// Times at which `router` entered `state`.
    pub fn entries(&self, router: usize, state: State) -> Vec<u64> {
        self.records
            .iter()
            .filter_map(|(t, r)| match r {
                Record::Transition {
                    router: who, to, ..
                } if *who == router && *to == state => Some(*t),
                _ => None,
            })
            .collect()
    }

    /// Number of transitions of any router since `since`.
    pub fn transitions_since(&self, since: u64) -> usize {
        self.records
            .iter()
            .filter(|(t, r)| *t >= since && matches!(r, Record::Transition { .. }))
            .count()
    }

    /// Time of the last advert `router` sent before `before`.
    pub fn last_advert_before(&self, router: usize, before: u64) -> Option<u64> {
        self.records
            .iter()
            .filter_map(|(t, r)| match r {
                Record::Advert { router: who, .. } if *who == router && *t < before => Some(*t),
                _ => None,
            })
            .max()
    }

    /// Time of the first advert `router` sent at or after `since`.
    pub fn first_advert_since(&self, router: usize, since: u64) -> Option<u64> {
        self.records
            .iter()
            .filter_map(|(t, r)| match r {
                Record::Advert { router: who, .. } if *who == router && *t >= since => Some(*t),
                _ => None,
            })
            .min()
    }
}
