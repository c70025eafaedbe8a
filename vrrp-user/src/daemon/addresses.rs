//! The address side of a transition, per instance and in order: install the virtual addresses
//! and routes and mark them active for the XDP responder, then announce them with gratuitous
//! ARPs / unsolicited NAs; or mark them inactive and remove them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;
use tracing::{info, warn};
use vrrp_common::maps::{VipKey, VipValue};
use vrrp_common::wire::raw_from_ip;

use super::plan::InstancePlan;
use crate::config::model::VirtualRoute;
use crate::datapath::xdp::VipTable;
use crate::net::gratuitous::GratuitousSender;
use crate::net::netlink::Netlink;
use crate::track::{Observation, Source};

/// One piece of address work.
#[derive(Clone, Debug)]
pub enum Work {
    Install(Arc<InstancePlan>),
    Remove(Arc<InstancePlan>),
    Announce(Arc<InstancePlan>, u32),
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

/// The workers, one per instance, started on first use. The protocol thread queues an
/// instance's work here itself, so that a takeover's addresses and gratuitous ARPs follow its
/// advert without a hop through the main loop (issue 20, target 3); the daemon tells the
/// workers when the XDP program came up and waits for them at a stop or an upgrade.
pub struct Workers {
    context: Context,
    runtime: tokio::runtime::Handle,
    queues: Mutex<HashMap<String, UnboundedSender<Work>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// keepalived's `-V` (`--dont-release-vrrp`) at a stop: removals are not carried out.
    keep_installed: AtomicBool,
}

impl Workers {
    /// Workers that run on the current tokio runtime.
    pub fn new(context: Context) -> Arc<Workers> {
        Arc::new(Workers {
            context,
            runtime: tokio::runtime::Handle::current(),
            queues: Mutex::new(HashMap::new()),
            tasks: Mutex::new(Vec::new()),
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
            Work::Install(plan) | Work::Remove(plan) | Work::Announce(plan, _) => {
                plan.name().to_string()
            }
            Work::MarkVips => return self.mark_vips(),
        };
        let Ok(mut queues) = self.queues.lock() else {
            return;
        };
        let queue = queues.entry(name).or_insert_with(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            let task = self.runtime.spawn(worker(self.context.clone(), receiver));
            if let Ok(mut tasks) = self.tasks.lock() {
                tasks.push(task);
            }
            sender
        });
        let _ = queue.send(work);
    }

    /// The XDP program came up: each worker tells its VIPS map what it last did, in order with
    /// its other work.
    pub fn mark_vips(&self) {
        if let Ok(queues) = self.queues.lock() {
            for queue in queues.values() {
                let _ = queue.send(Work::MarkVips);
            }
        }
    }

    /// From now on, removals are left undone (keepalived's `-V` at a stop).
    pub fn keep_installed(&self) {
        self.keep_installed.store(true, Ordering::Relaxed);
    }

    /// Lets the workers finish what they were given (by `deadline` at the latest); work
    /// queued afterwards starts new ones.
    pub async fn finish(&self, deadline: tokio::time::Instant) {
        if let Ok(mut queues) = self.queues.lock() {
            queues.clear();
        }
        let tasks = match self.tasks.lock() {
            Ok(mut tasks) => std::mem::take(&mut *tasks),
            Err(_) => return,
        };
        for task in tasks {
            let _ = tokio::time::timeout_at(deadline, task).await;
        }
    }
}

/// Attempts before a refused address faults the instance.
const INSTALL_ATTEMPTS: u32 = 3;

/// Serves one instance's queue until it closes.
pub async fn worker(context: Context, mut queue: UnboundedReceiver<Work>) {
    let mut senders: HashMap<u32, GratuitousSender> = HashMap::new();
    // What this worker last did: the plan, and whether its addresses are installed.
    let mut last: Option<(Arc<InstancePlan>, bool)> = None;
    while let Some(work) = queue.recv().await {
        match work {
            Work::Install(plan) => {
                install(&context, &plan).await;
                last = Some((plan, true));
            }
            Work::Remove(plan) => {
                remove(&context, &plan).await;
                last = Some((plan, false));
            }
            Work::Announce(plan, count) => announce(&context, &plan, count, &mut senders).await,
            Work::MarkVips => {
                if let Some((plan, installed)) = &last {
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

async fn install(context: &Context, plan: &InstancePlan) {
    let mut refused = false;
    // keepalived's line, written once the first address is in: a log write costs some tens
    // of µs, and the address is what the gratuitous ARP waits for (issue 20, target 3).
    let mut said_setting = false;
    for vip in plan
        .config
        .addresses
        .iter()
        .chain(&plan.config.excluded_addresses)
    {
        let ifindex = plan.vip_ifindex(vip);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let added = context.netlink.add_address(ifindex, vip).await;
            if !said_setting {
                info!("({}) setting VIPs.", plan.name());
                said_setting = true;
            }
            match added {
                Ok(()) => break,
                Err(error) if attempt < INSTALL_ATTEMPTS => {
                    warn!(
                        "({}) adding {}/{} failed ({error}); retrying",
                        plan.name(),
                        vip.address,
                        vip.prefix
                    );
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                }
                Err(error) => {
                    warn!(
                        "({}) adding {}/{} failed ({error}); giving up",
                        plan.name(),
                        vip.address,
                        vip.prefix
                    );
                    refused = true;
                    break;
                }
            }
        }
    }
    if !said_setting {
        info!("({}) setting VIPs.", plan.name());
    }
    for route in &plan.config.routes {
        if let Err(error) = context
            .netlink
            .route(route_ifindex(plan, route), route, true)
            .await
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
        if let Err(error) = context.netlink.rule(rule, plan.config.family, true).await {
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
        Observation::Ok(!refused),
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
        let _ = netlink.rule(rule, plan.config.family, false).await;
    }
    for route in &plan.config.routes {
        let _ = netlink
            .route(route_ifindex(plan, route), route, false)
            .await;
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
            .await
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

/// `count` rounds of one message per address, `garp_interval` apart (keepalived's wording).
async fn announce(
    context: &Context,
    plan: &InstancePlan,
    count: u32,
    senders: &mut HashMap<u32, GratuitousSender>,
) {
    let interface = &plan.config.interface;
    let sender = match senders.entry(plan.ifindex) {
        std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
        std::collections::hash_map::Entry::Vacant(entry) => {
            match GratuitousSender::open(plan.ifindex) {
                Ok(sender) => entry.insert(sender),
                Err(error) => {
                    warn!(
                        "({}) gratuitous ARP socket on {interface}: {error}",
                        plan.name()
                    );
                    return;
                }
            }
        }
    };
    let addresses: Vec<std::net::IpAddr> = plan
        .config
        .addresses
        .iter()
        .chain(&plan.config.excluded_addresses)
        .map(|a| a.address)
        .collect();
    let say_queueing = || {
        for address in &addresses {
            info!(
                "({}) Sending/queueing gratuitous ARPs on {interface} for {address}",
                plan.name()
            );
        }
    };
    // keepalived's lines come once the first message has left: it is what moves the
    // clients, and a log write costs some tens of µs (issue 20, target 3).
    let mut said_queueing = false;
    let mut sent = 0u64;
    for round in 0..count {
        for address in &addresses {
            // No timer for keepalived's default interval of 0: tokio's timer has millisecond
            // ticks, and the rest of the round would trail the first message by one each.
            if (round > 0 || sent > 0) && !plan.garp_interval.is_zero() {
                tokio::time::sleep(plan.garp_interval).await;
            }
            let announced = sender.announce(plan.mac, *address);
            if !said_queueing {
                say_queueing();
                said_queueing = true;
            }
            match announced {
                Ok(()) => {
                    sent += 1;
                    let what = if address.is_ipv4() {
                        "gratuitous ARP"
                    } else {
                        "unsolicited Neighbour Advert"
                    };
                    info!("Sending {what} on {interface} for {address}");
                }
                Err(error) => warn!(
                    "({}) announcing {address} on {interface}: {error}",
                    plan.name()
                ),
            }
        }
    }
    if !said_queueing {
        say_queueing();
    }
    if let Ok(mut announced) = context.announced.lock() {
        *announced.entry(plan.name().to_string()).or_default() += sent;
    }
    context.total_announced.fetch_add(sent, Ordering::Relaxed);
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
                let _ = netlink
                    .del_address(plan.ifindex, vip.address, vip.prefix)
                    .await;
            }
        }
    }
}
