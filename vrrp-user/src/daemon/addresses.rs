//! The address side of a transition, per instance and in order: install the virtual addresses
//! and routes and mark them active for the XDP responder, then announce them with gratuitous
//! ARPs / unsolicited NAs; or mark them inactive and remove them.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;
use tracing::{info, warn};
use vrrp_common::maps::{VipKey, VipValue};
use vrrp_common::wire::raw_from_ip;

use super::plan::InstancePlan;
use crate::config::model::{VirtualAddress, VirtualRoute};
use crate::datapath::xdp::VipTable;
use crate::net::gratuitous::GratuitousSender;
use crate::net::netlink::{Netlink, NetlinkError};
use crate::track::{Observation, Source};

/// One piece of address work.
#[derive(Clone, Debug)]
pub enum Work {
    Install(Arc<InstancePlan>),
    Remove(Arc<InstancePlan>),
    /// Rounds of gratuitous ARPs / NAs.
    Announce(Arc<InstancePlan>, u32),
    /// The rounds that follow a first one sent at once (`Workers::announce_at_once`), whose
    /// "Sending/queueing" lines were said with it.
    AnnounceRest(Arc<InstancePlan>, u32),
    /// The XDP program came up after the addresses were installed or removed: its VIPS map
    /// learns what this worker last did, in order with the work around it.
    MarkVips,
}

/// What the workers share.
#[derive(Clone)]
pub struct Context {
    pub netlink: Netlink,
    /// The XDP program's VIPS map (None in socket mode, and until the program loaded in the
    /// background is attached; every worker shares the slot).
    pub vips: Arc<Mutex<Option<VipTable>>>,
    pub tracking: UnboundedSender<(Source, Observation)>,
    /// Gratuitous ARPs / NAs sent, per instance.
    pub announced: Arc<Mutex<HashMap<String, u64>>>,
    pub total_announced: Arc<AtomicU64>,
}

/// The workers: one per instance while it has work, ended when its queue is empty. The
/// protocol thread queues an instance's work here itself, so that a takeover's addresses and
/// gratuitous ARPs follow its advert without a hop through the main loop, or does a takeover's
/// work at once when the instance's worker is idle (issue 20, target 3); the daemon tells the
/// workers when the XDP program came up and waits for them at a stop or an upgrade.
pub struct Workers {
    context: Arc<Context>,
    runtime: tokio::runtime::Handle,
    lanes: Mutex<HashMap<String, Arc<Lane>>>,
    /// The workers at work, each draining one lane's queue.
    working: Mutex<JoinSet<()>>,
    /// keepalived's `-V` (`--dont-release-vrrp`) at a stop: removals are not carried out.
    keep_installed: AtomicBool,
}

/// One instance's way to its worker: the queue, and what the worker shares with the work done
/// at once on the protocol thread. A worker runs only while the queue holds work, so an idle
/// instance costs its state alone, no task and no channel: at 1000 instances a task and a
/// channel for each held ~1.7 MiB for good (heaptrack, issue 20, target 5).
struct Lane {
    queue: Mutex<Queue>,
    /// Held by whoever does the instance's work: the worker, item by item, or the protocol
    /// thread doing a takeover's at once.
    state: Arc<tokio::sync::Mutex<LaneState>>,
}

#[derive(Default)]
struct Queue {
    work: VecDeque<Work>,
    /// A worker drains the queue (and may be at work on the item it took last).
    draining: bool,
}

#[derive(Default)]
struct LaneState {
    /// What was done last: the plan, and whether its addresses are installed.
    last: Option<(Arc<InstancePlan>, bool)>,
    /// The instance's gratuitous ARP / NA sockets, per interface index.
    senders: HashMap<u32, GratuitousSender>,
}

impl Lane {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        // The queue's contents stay whole whatever panicked while it was held.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The lane's state, if nothing is queued on it and no worker is at work: what is done
    /// with it then comes in order with the instance's other work.
    fn idle(&self) -> Option<tokio::sync::OwnedMutexGuard<LaneState>> {
        {
            let queue = self.queue();
            if queue.draining || !queue.work.is_empty() {
                return None;
            }
        }
        Arc::clone(&self.state).try_lock_owned().ok()
    }

    /// The next piece of work for the lane's worker; none (and the worker ends) when the
    /// queue is empty.
    fn next(&self) -> Option<Work> {
        let mut queue = self.queue();
        let work = queue.work.pop_front();
        queue.draining = work.is_some();
        work
    }
}

impl Workers {
    /// Workers that run on the current tokio runtime.
    pub fn new(context: Context) -> Arc<Workers> {
        Arc::new(Workers {
            context: Arc::new(context),
            runtime: tokio::runtime::Handle::current(),
            lanes: Mutex::new(HashMap::new()),
            working: Mutex::new(JoinSet::new()),
            keep_installed: AtomicBool::new(false),
        })
    }

    pub fn context(&self) -> &Context {
        &self.context
    }

    /// Queues work on the instance's own worker (from any thread).
    pub fn queue(&self, work: Work) {
        let name = match &work {
            Work::Remove(_) if self.keep_installed.load(Ordering::Relaxed) => return,
            Work::Install(plan)
            | Work::Remove(plan)
            | Work::Announce(plan, _)
            | Work::AnnounceRest(plan, _) => plan.name(),
            Work::MarkVips => return self.mark_vips(),
        };
        if let Some(lane) = self.lane(name) {
            self.send(&lane, work);
        }
    }

    /// Queues work on a lane, and starts its worker unless one drains it already.
    fn send(&self, lane: &Arc<Lane>, work: Work) {
        {
            let mut queue = lane.queue();
            queue.work.push_back(work);
            if std::mem::replace(&mut queue.draining, true) {
                return;
            }
        }
        let mut working = self.working.lock().unwrap_or_else(PoisonError::into_inner);
        // The workers that ended since (their results are nothing to keep).
        while working.try_join_next().is_some() {}
        working.spawn_on(
            worker(Arc::clone(&self.context), Arc::clone(lane)),
            &self.runtime,
        );
    }

    /// The instance's lane with its state held, if it is idle (see [`Lane::idle`]).
    fn idle_lane(
        &self,
        name: &str,
    ) -> Option<(Arc<Lane>, tokio::sync::OwnedMutexGuard<LaneState>)> {
        let lane = self.lane(name)?;
        let state = lane.idle()?;
        Some((lane, state))
    }

    /// The instance's lane, made on first use.
    fn lane(&self, name: &str) -> Option<Arc<Lane>> {
        let mut lanes = self.lanes.lock().ok()?;
        if let Some(lane) = lanes.get(name) {
            return Some(Arc::clone(lane));
        }
        let lane = Arc::new(Lane {
            queue: Mutex::default(),
            state: Arc::default(),
        });
        lanes.insert(name.to_string(), Arc::clone(&lane));
        Some(lane)
    }

    /// A takeover's addresses installed on the caller's thread (the protocol thread's), as
    /// keepalived does it in its one thread: the worker's wake-up is saved (0.09 ms p50
    /// between the advert and the first gratuitous ARP in the failover bench). Done only when
    /// the instance's worker is idle, so that it stays in order with the instance's other
    /// work, and when nothing in it waits: no no_accept (an nft process) and every address
    /// taken at the first attempt. False when it was not done (or not wholly: the worker
    /// then does it all, its retries included) and the work is to be queued.
    pub fn install_at_once(&self, plan: &Arc<InstancePlan>) -> bool {
        if !plan.accept {
            return false;
        }
        let Some((_, mut state)) = self.idle_lane(plan.name()) else {
            return false;
        };
        if !add_addresses(&self.context, plan).is_empty() {
            return false;
        }
        complete_install(&self.context, plan, true);
        state.last = Some((Arc::clone(plan), true));
        true
    }

    /// After `install_at_once`: the first round of gratuitous ARPs / NAs sent on the caller's
    /// thread, the later rounds queued. False when it cannot be done so (a `garp_interval`
    /// between the messages, or the worker at work since) and the whole is to be queued.
    pub fn announce_at_once(&self, plan: &Arc<InstancePlan>, rounds: u32) -> bool {
        if rounds == 0 || !plan.garp_interval.is_zero() {
            return false;
        }
        let Some((lane, mut state)) = self.idle_lane(plan.name()) else {
            return false;
        };
        let Some(sender) = sender_for(plan, &mut state.senders) else {
            return false;
        };
        let addresses = addresses_of(plan);
        let mut announcing = Announcing::new(plan, &addresses, true);
        for &address in &addresses {
            announcing.send(sender, address);
        }
        announcing.finish(&self.context);
        drop(state);
        if rounds > 1 {
            self.send(&lane, Work::AnnounceRest(Arc::clone(plan), rounds - 1));
        }
        true
    }

    /// The XDP program came up: each worker tells its VIPS map what it last did, in order with
    /// its other work.
    pub fn mark_vips(&self) {
        let lanes: Vec<Arc<Lane>> = match self.lanes.lock() {
            Ok(lanes) => lanes.values().cloned().collect(),
            Err(_) => return,
        };
        for lane in &lanes {
            self.send(lane, Work::MarkVips);
        }
    }

    /// From now on, removals are left undone (keepalived's `-V` at a stop).
    pub fn keep_installed(&self) {
        self.keep_installed.store(true, Ordering::Relaxed);
    }

    /// Lets the workers finish what they were given (by `deadline` at the latest; those
    /// still at work then go on, unwaited); work queued afterwards starts new ones.
    pub async fn finish(&self, deadline: tokio::time::Instant) {
        if let Ok(mut lanes) = self.lanes.lock() {
            lanes.clear();
        }
        let mut working =
            std::mem::take(&mut *self.working.lock().unwrap_or_else(PoisonError::into_inner));
        let all_done = async { while working.join_next().await.is_some() {} };
        if tokio::time::timeout_at(deadline, all_done).await.is_err() {
            working.detach_all();
        }
    }
}

/// Attempts before a refused address faults the instance.
const INSTALL_ATTEMPTS: u32 = 3;

/// Drains one instance's queue and ends.
async fn worker(context: Arc<Context>, lane: Arc<Lane>) {
    loop {
        // The state is taken before the work, and the queue found empty while it is held:
        // the protocol thread finds the lane busy until the work is done.
        let mut state = lane.state.lock().await;
        let Some(work) = lane.next() else {
            return;
        };
        let LaneState { last, senders } = &mut *state;
        match work {
            Work::Install(plan) => {
                install(&context, &plan).await;
                *last = Some((plan, true));
            }
            Work::Remove(plan) => {
                remove(&context, &plan).await;
                *last = Some((plan, false));
            }
            Work::Announce(plan, rounds) => announce(&context, &plan, rounds, true, senders).await,
            Work::AnnounceRest(plan, rounds) => {
                announce(&context, &plan, rounds, false, senders).await;
            }
            Work::MarkVips => {
                if let Some((plan, installed)) = last {
                    set_active(&context, plan, *installed);
                }
            }
        }
    }
}

fn vip_key(plan: &InstancePlan, address: std::net::IpAddr) -> VipKey {
    let (family, raw) = raw_from_ip(address);
    VipKey::new(plan.ifindex, family, raw)
}

fn set_active(context: &Context, plan: &InstancePlan, active: bool) {
    let Ok(mut vips) = context.vips.lock() else {
        return;
    };
    let Some(vips) = vips.as_mut() else {
        return;
    };
    for vip in plan
        .config
        .addresses
        .iter()
        .chain(&plan.config.excluded_addresses)
    {
        let key = vip_key(plan, vip.address);
        let value = VipValue {
            mac: plan.mac,
            active: u8::from(active),
            vrid: plan.config.vrid,
        };
        if let Err(error) = vips.set(&key, &value) {
            warn!("({}) VIPS map: {error}", plan.name());
        }
    }
}

/// Installs the instance's addresses (a refused one is tried again, `INSTALL_ATTEMPTS` in
/// all), then its routes and rules.
async fn install(context: &Context, plan: &InstancePlan) {
    let mut refused = add_addresses(context, plan);
    let mut attempt = 1;
    while !refused.is_empty() && attempt < INSTALL_ATTEMPTS {
        for (vip, error) in &refused {
            warn!(
                "({}) adding {}/{} failed ({error}); retrying",
                plan.name(),
                vip.address,
                vip.prefix
            );
        }
        tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
        attempt += 1;
        refused = refused
            .into_iter()
            .filter_map(|(vip, _)| {
                let added = context.netlink.add_address(plan.vip_ifindex(vip), vip);
                added.err().map(|error| (vip, error))
            })
            .collect();
    }
    for (vip, error) in &refused {
        warn!(
            "({}) adding {}/{} failed ({error}); giving up",
            plan.name(),
            vip.address,
            vip.prefix
        );
    }
    complete_install(context, plan, refused.is_empty());
}

/// Adds each of the instance's addresses once; the ones refused, with the kernel's reason.
/// keepalived's "setting VIPs." comes once the first address is in: a log write costs some
/// tens of µs, and the address is what the gratuitous ARP waits for (issue 20, target 3).
fn add_addresses<'a>(
    context: &Context,
    plan: &'a InstancePlan,
) -> Vec<(&'a VirtualAddress, NetlinkError)> {
    let mut refused = Vec::new();
    let mut said_setting = false;
    for vip in plan
        .config
        .addresses
        .iter()
        .chain(&plan.config.excluded_addresses)
    {
        let added = context.netlink.add_address(plan.vip_ifindex(vip), vip);
        if !said_setting {
            info!("({}) setting VIPs.", plan.name());
            said_setting = true;
        }
        if let Err(error) = added {
            refused.push((vip, error));
        }
    }
    if !said_setting {
        info!("({}) setting VIPs.", plan.name());
    }
    refused
}

/// The rest of an install, once the addresses are in (or given up on): routes, rules,
/// no_accept, the XDP responder, and the tracking of the install's outcome.
fn complete_install(context: &Context, plan: &InstancePlan, all_addresses_in: bool) {
    for route in &plan.config.routes {
        if let Err(error) = context
            .netlink
            .route(route_ifindex(plan, route), route, true)
        {
            warn!(
                "({}) adding route {}/{}: {error}",
                plan.name(),
                route.destination,
                route.prefix
            );
        }
    }
    for rule in &plan.config.rules {
        if let Err(error) = context.netlink.rule(rule, plan.config.family, true) {
            warn!(
                "({}) adding rule at {}: {error}",
                plan.name(),
                rule.location
            );
        }
    }
    if !plan.accept
        && let Err(error) = crate::net::accept::block(&addresses_of(plan))
    {
        warn!("({}) no_accept: {error}", plan.name());
    }
    set_active(context, plan, true);
    let _ = context.tracking.send((
        Source::Addresses(plan.name().to_string()),
        Observation::Ok(all_addresses_in),
    ));
}

/// The interface a virtual route goes out of: its `dev`, or the instance's interface.
fn route_ifindex(plan: &InstancePlan, route: &VirtualRoute) -> Option<u32> {
    route
        .device
        .as_deref()
        .map(crate::net::sys::interface_index)
        .or(Some(plan.ifindex))
}

/// Removes the instance's virtual rules and routes (those already gone are no error).
async fn remove_routes_and_rules(netlink: &Netlink, plan: &InstancePlan) {
    for rule in &plan.config.rules {
        let _ = netlink.rule(rule, plan.config.family, false);
    }
    for route in &plan.config.routes {
        let _ = netlink.route(route_ifindex(plan, route), route, false);
    }
}

fn addresses_of(plan: &InstancePlan) -> Vec<std::net::IpAddr> {
    plan.config
        .addresses
        .iter()
        .chain(&plan.config.excluded_addresses)
        .map(|a| a.address)
        .collect()
}

async fn remove(context: &Context, plan: &InstancePlan) {
    set_active(context, plan, false);
    if !plan.accept {
        crate::net::accept::unblock(&addresses_of(plan));
    }
    info!("({}) removing VIPs.", plan.name());
    remove_routes_and_rules(&context.netlink, plan).await;
    for vip in plan
        .config
        .addresses
        .iter()
        .chain(&plan.config.excluded_addresses)
    {
        let ifindex = plan.vip_ifindex(vip);
        if let Err(error) = context
            .netlink
            .del_address(ifindex, vip.address, vip.prefix)
        {
            warn!(
                "({}) removing {}/{}: {error}",
                plan.name(),
                vip.address,
                vip.prefix
            );
        }
    }
}

/// `rounds` rounds of one message per address, `garp_interval` apart (keepalived's wording);
/// with `say_queueing`, keepalived's "Sending/queueing" lines too.
async fn announce(
    context: &Context,
    plan: &InstancePlan,
    rounds: u32,
    say_queueing: bool,
    senders: &mut HashMap<u32, GratuitousSender>,
) {
    let Some(sender) = sender_for(plan, senders) else {
        return;
    };
    let addresses = addresses_of(plan);
    let mut announcing = Announcing::new(plan, &addresses, say_queueing);
    for round in 0..rounds {
        for &address in &addresses {
            // No timer for keepalived's default interval of 0: tokio's timer has millisecond
            // ticks, and the rest of the round would trail the first message by one each.
            if (round > 0 || announcing.sent > 0) && !plan.garp_interval.is_zero() {
                tokio::time::sleep(plan.garp_interval).await;
            }
            announcing.send(sender, address);
        }
    }
    announcing.finish(context);
}

/// The instance's gratuitous ARP / NA socket on its interface, opened on first use.
fn sender_for<'a>(
    plan: &InstancePlan,
    senders: &'a mut HashMap<u32, GratuitousSender>,
) -> Option<&'a GratuitousSender> {
    match senders.entry(plan.ifindex) {
        std::collections::hash_map::Entry::Occupied(entry) => Some(entry.into_mut()),
        std::collections::hash_map::Entry::Vacant(entry) => {
            match GratuitousSender::open(plan.ifindex) {
                Ok(sender) => Some(entry.insert(sender)),
                Err(error) => {
                    warn!(
                        "({}) gratuitous ARP socket on {}: {error}",
                        plan.name(),
                        plan.config.interface
                    );
                    None
                }
            }
        }
    }
}

/// An instance's gratuitous ARPs / NAs being sent, said in keepalived's words: a line per
/// message, and its "Sending/queueing" lines for all the addresses (unless a first round
/// already said them) once the first message has left: that message is what moves the
/// clients, and a log write costs some tens of µs (issue 20, target 3).
struct Announcing<'a> {
    plan: &'a InstancePlan,
    addresses: &'a [std::net::IpAddr],
    say_queueing: bool,
    sent: u64,
}

impl<'a> Announcing<'a> {
    fn new(plan: &'a InstancePlan, addresses: &'a [std::net::IpAddr], say_queueing: bool) -> Self {
        Announcing {
            plan,
            addresses,
            say_queueing,
            sent: 0,
        }
    }

    fn send(&mut self, sender: &GratuitousSender, address: std::net::IpAddr) {
        let announced = sender.announce(self.plan.mac, address);
        self.say_queueing_lines();
        let interface = &self.plan.config.interface;
        match announced {
            Ok(()) => {
                self.sent += 1;
                let what = if address.is_ipv4() {
                    "gratuitous ARP"
                } else {
                    "unsolicited Neighbour Advert"
                };
                info!("Sending {what} on {interface} for {address}");
            }
            Err(error) => warn!(
                "({}) announcing {address} on {interface}: {error}",
                self.plan.name()
            ),
        }
    }

    fn say_queueing_lines(&mut self) {
        if !std::mem::take(&mut self.say_queueing) {
            return;
        }
        for address in self.addresses {
            info!(
                "({}) Sending/queueing gratuitous ARPs on {} for {address}",
                self.plan.name(),
                self.plan.config.interface
            );
        }
    }

    /// The lines not said yet, and the count of what was sent.
    fn finish(mut self, context: &Context) {
        self.say_queueing_lines();
        if let Ok(mut announced) = context.announced.lock() {
            *announced.entry(self.plan.name().to_string()).or_default() += self.sent;
        }
        context
            .total_announced
            .fetch_add(self.sent, Ordering::Relaxed);
    }
}

/// At start: removes our virtual addresses, routes and rules that a crashed run left
/// installed (every instance starts outside MASTER, so none of them should be there yet).
pub async fn remove_stale(netlink: &Netlink, plans: &[Arc<InstancePlan>]) {
    for plan in plans {
        remove_routes_and_rules(netlink, plan).await;
        let Ok(present) = netlink.addresses(plan.ifindex).await else {
            continue;
        };
        for vip in plan
            .config
            .addresses
            .iter()
            .chain(&plan.config.excluded_addresses)
        {
            if present.iter().any(|a| a.address == vip.address) {
                info!(
                    "({}) removing stale VIP {} left by an earlier run",
                    plan.name(),
                    vip.address
                );
                let _ = netlink.del_address(plan.ifindex, vip.address, vip.prefix);
            }
        }
    }
}
