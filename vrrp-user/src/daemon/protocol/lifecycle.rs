//! Instances joining the thread (socket opened or shared, datapath entries written), starting
//! after `vrrp_startup_delay`, and a reload keeping, stopping or adding them.

use std::io;
use std::sync::Arc;

use tracing::{info, warn};
use vrrp_common::maps::PeerKey;
use vrrp_common::wire::raw_from_ip;

use std::os::fd::AsRawFd;

use super::{Receive, Running, Thread};
use crate::datapath::xdp::XdpDatapath;

/// How often instances waiting for their address try again.
pub(super) const RETRY_WAITING: std::time::Duration = std::time::Duration::from_millis(100);

/// The bind failed because the address is not (yet) usable: tentative, or not there.
fn not_usable_yet(error: &io::Error) -> bool {
    error.raw_os_error() == Some(libc::EADDRNOTAVAIL)
}
use crate::daemon::addresses::Work;
use crate::daemon::plan::InstancePlan;
use crate::daemon::stand_in::StandIn;
use crate::fsm::{self, Input};
use crate::net::advert::AdvertTemplate;
use crate::net::sys::monotonic_now;
use crate::net::vrrp_socket::VrrpSocket;
use vrrp_common::maps::State;
use vrrp_common::time::Instant;
use vrrp_common::wire::ah::IPPROTO_AH;

impl Thread {
    /// Adds the instance; or, while its address cannot be bound yet (an IPv6 link-local address
    /// still tentative: duplicate address detection takes a second or more after the link
    /// comes up, the normal case at boot), keeps it waiting and tries again every
    /// [`RETRY_WAITING`], without holding up the other instances.
    pub(super) fn admit(&mut self, plan: Arc<InstancePlan>) -> io::Result<()> {
        match self.add_instance(&plan) {
            Err(error) if not_usable_yet(&error) => {
                info!(
                    "({}) {} on {} is not usable yet ({error}); waiting for it",
                    plan.name(),
                    plan.source,
                    plan.config.interface
                );
                self.waiting.push(plan);
                Ok(())
            }
            other => other,
        }
    }

    /// Relieves the previous image's stand-in: the resumed masters count its adverts and go on
    /// from the last one it sent.
    pub(super) fn take_over_from(&mut self, stand_in: StandIn, stood_in: &[(String, usize)]) {
        let sent = stand_in.relieve();
        let mut total = 0;
        for (name, slot) in stood_in {
            let (Some(running), Some(sent)) = (
                self.instances.iter_mut().find(|r| r.plan.name() == name),
                sent.get(*slot),
            ) else {
                continue;
            };
            running.fsm.adverts_sent_meanwhile(sent.count, sent.last);
            total += sent.count;
        }
        info!(
            "upgrade: the stand-in sent {total} adverts for {} masters while this image came up",
            stood_in.len()
        );
    }

    /// The XDP program loaded after the thread started: every instance goes into its maps
    /// (with no record of adverts yet: the state machines keep what the sockets told them) and
    /// the ring buffer is read from now on. The sockets go on receiving until the program is
    /// attached ([`Thread::quiet_sockets`]); an advert both paths report meanwhile only
    /// restarts a timer twice.
    pub(super) fn use_xdp(&mut self, datapath: Arc<std::sync::Mutex<XdpDatapath>>) {
        let Ok(mut locked) = datapath.lock() else {
            return;
        };
        for running in &mut self.instances {
            running.liveness_slot = register(&mut locked, &running.plan, &running.fsm, true);
        }
        let events = locked.take_events();
        let liveness = locked.liveness_view();
        drop(locked);
        if let Some(events) = &events
            && let Err(error) = self.watch(events.as_raw_fd())
        {
            warn!("XDP: the ring buffer cannot be watched ({error}); staying in socket mode");
            return;
        }
        self.events = events;
        self.receive = Receive::Xdp { datapath, liveness };
    }

    /// The XDP program is attached everywhere: the sockets stop receiving, as an XDP-mode
    /// socket does from its start.
    pub(super) fn quiet_sockets(&mut self) {
        for socket in self.sockets.values() {
            if let Err(error) = socket.drop_all_incoming() {
                warn!("XDP: a socket keeps receiving: {error}");
            }
            self.unwatch(socket.raw_fd());
        }
    }

    /// The XDP program could not be attached after [`Thread::use_xdp`]: socket mode again.
    pub(super) fn use_sockets(&mut self) {
        if let Some(events) = self.events.take() {
            self.unwatch(events.as_raw_fd());
        }
        self.receive = Receive::Sockets;
    }

    /// Tries the waiting instances again.
    pub(super) fn retry_waiting(&mut self) {
        for plan in std::mem::take(&mut self.waiting) {
            match self.add_instance(&plan) {
                Ok(()) => info!("({}) {} is usable now; starting", plan.name(), plan.source),
                Err(error) if not_usable_yet(&error) => self.waiting.push(plan),
                Err(error) => warn!("({}) cannot start: {error}", plan.name()),
            }
        }
    }

    /// Opens (or reuses) the interface's socket, registers the instance with the datapath.
    fn add_instance(&mut self, plan: &Arc<InstancePlan>) -> io::Result<()> {
        let socket_key = (plan.ifindex, plan.config.family);
        if !self.sockets.contains_key(&socket_key) {
            let socket = VrrpSocket::open(
                plan.config.family,
                &plan.config.interface,
                plan.ifindex,
                plan.source,
            )?;
            if matches!(self.receive, Receive::Xdp { .. }) {
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
        self.open_ah_socket(plan)?;
        let carried = self
            .carried
            .iter()
            .position(|c| c.identifies(plan))
            .map(|at| self.carried.swap_remove(at));
        let ah = plan.ah_session(carried.as_ref().map_or(0, |c| c.ah_sequence));
        let carried = carried.map(|c| c.fsm);
        let resumed = carried.is_some();
        let fsm = match carried {
            Some(carried) => {
                let fsm = fsm::Instance::resume(plan.params.clone(), carried, monotonic_now());
                info!(
                    "({}) resumed in {} state from the previous image",
                    plan.name(),
                    fsm.state().keepalived_name()
                );
                fsm
            }
            None => fsm::Instance::new(plan.params.clone()),
        };
        let started = resumed && fsm.state() != State::Initialize;
        // A resumed instance keeps the kernel's record of its master.
        let liveness_slot = self
            .xdp()
            .and_then(|mut datapath| register(&mut datapath, plan, &fsm, !resumed));
        let template = AdvertTemplate::new(&plan.advert).map_err(|error| {
            io::Error::other(format!(
                "({}) its advert cannot be built: {error:?}",
                plan.name()
            ))
        })?;
        self.instances.push(Running {
            plan: Arc::clone(plan),
            fsm,
            template,
            ah,
            refusal_logged_at: None,
            socket: send_key,
            started,
            address_list: Default::default(),
            receive_errors: Default::default(),
            liveness_slot,
        });
        self.changed(super::Unpublished::State);
        Ok(())
    }

    /// `auth_type AH`: the interface's socket of protocol 51, opened with its first such
    /// instance.
    fn open_ah_socket(&mut self, plan: &InstancePlan) -> io::Result<()> {
        if plan.ah_key().is_none() || self.ah_sockets.contains_key(&plan.ifindex) {
            return Ok(());
        }
        let socket = VrrpSocket::open_for_protocol(
            plan.config.family,
            &plan.config.interface,
            plan.ifindex,
            plan.source,
            IPPROTO_AH,
        )?;
        self.watch(socket.raw_fd())?;
        self.ah_sockets.insert(plan.ifindex, socket);
        Ok(())
    }

    /// When an instance starts: `vrrp_startup_delay` after the thread started, and not before
    /// the system has been up for `vrrp_delay_after_boot`.
    pub(super) fn start_time(&self, plan: &InstancePlan) -> Instant {
        (self.started + plan.startup_delay).max(self.booted + plan.delay_after_boot)
    }

    /// keepalived's "Delaying startup for N seconds", once, when the thread starts.
    pub(super) fn log_startup_delay(&self) {
        let latest = self
            .instances
            .iter()
            .filter(|running| !running.started)
            .map(|running| self.start_time(&running.plan))
            .max();
        if let Some(start) = latest
            && start > self.started
        {
            info!(
                "Delaying startup for {:.3} seconds",
                start.saturating_since(self.started).as_secs_f64()
            );
        }
    }

    /// Instances start after `vrrp_startup_delay` (and `vrrp_delay_after_boot`).
    pub(super) fn start_due_instances(&mut self) {
        let now = monotonic_now();
        for index in 0..self.instances.len() {
            let running = &self.instances[index];
            if running.started || self.stopping {
                continue;
            }
            if now < self.start_time(&running.plan) {
                continue;
            }
            self.instances[index].started = true;
            self.input(index, Input::Startup, now);
        }
    }

    /// Keeps instances whose plan did not change (with their state), applies new settings in
    /// place to those whose identity did not change, stops the others and starts the new ones.
    pub(super) fn reload(&mut self, plans: Vec<Arc<InstancePlan>>) {
        let now = monotonic_now();
        let mut plans: Vec<Option<Arc<InstancePlan>>> = plans.into_iter().map(Some).collect();
        let old = std::mem::take(&mut self.instances);
        let mut stopping = Vec::new();
        let mut reconfigured = Vec::new();
        for running in old {
            let same = plans
                .iter()
                .position(|p| p.as_ref().is_some_and(|p| p.same_as(&running.plan)));
            let changed = plans
                .iter()
                .position(|p| p.as_ref().is_some_and(|p| p.same_instance(&running.plan)));
            match (same, changed) {
                (Some(at), _) => {
                    plans[at] = None;
                    self.instances.push(running);
                }
                (None, Some(at)) => {
                    if let Some(plan) = plans[at].take() {
                        reconfigured.push((self.instances.len(), plan));
                    }
                    self.instances.push(running);
                }
                (None, None) => stopping.push(running),
            }
        }
        let kept = std::mem::replace(&mut self.instances, stopping);
        self.deleting = true;
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
        self.deleting = false;
        self.instances = kept;
        for (index, plan) in reconfigured {
            self.reconfigure(index, plan, now);
        }
        self.reload_waiting(&mut plans);
        for plan in plans.into_iter().flatten() {
            info!("({}) added by the reload", plan.name());
            if let Err(error) = self.admit(plan) {
                warn!("reload: cannot start an instance: {error}");
            }
        }
    }

    /// The instances still waiting for their address ([`Thread::admit`]) under a reload: one
    /// the reload keeps waits on, with the reload's settings, and is taken out of `plans`; one
    /// it drops waits no more. Without this, a reload during the wait (the async side's own,
    /// when another instance's interface became usable, or a SIGHUP) admitted the instance a
    /// second time, and both copies started: two state machines for one VRID, of which only
    /// one hears the datapath's adverts, so that the other could take over and never step down.
    fn reload_waiting(&mut self, plans: &mut [Option<Arc<InstancePlan>>]) {
        for waiting in std::mem::take(&mut self.waiting) {
            let reloaded = plans
                .iter_mut()
                .find(|p| p.as_ref().is_some_and(|p| p.same_instance(&waiting)))
                .and_then(Option::take);
            match reloaded {
                Some(plan) => self.waiting.push(plan),
                None => info!(
                    "({}) removed or changed by the reload while it waited for its address",
                    waiting.name()
                ),
            }
        }
    }

    /// A reload's new settings for a running instance, applied in place: a master installs the
    /// virtual addresses, routes and rules that were added (and announces the new addresses)
    /// and removes those that were dropped; the next advert carries the new list, priority and
    /// interval; the datapath's CONFIG entry is rewritten in place (the program stays attached
    /// and validating). The state machine keeps its state and timers ([`Input::Reconfigure`]).
    fn reconfigure(&mut self, index: usize, plan: Arc<InstancePlan>, now: Instant) {
        let name = plan.name().to_string();
        let template = match AdvertTemplate::new(&plan.advert) {
            Ok(template) => template,
            Err(error) => {
                warn!(
                    "({name}) reload: its new advert cannot be built ({error:?}); keeping the running settings"
                );
                return;
            }
        };
        if let Err(error) = self.open_ah_socket(&plan) {
            warn!(
                "({name}) reload: the AH socket cannot be opened ({error}); keeping the running settings"
            );
            return;
        }
        let running = &mut self.instances[index];
        // The AH sequence counter outlives a change of key, as in keepalived.
        let sequence = running.ah.as_ref().map_or(0, |session| session.sequence());
        running.ah = plan.ah_session(sequence);
        let old = std::mem::replace(&mut running.plan, plan);
        running.template = template;
        let new = Arc::clone(&running.plan);
        for change in describe_changes(&old, &new) {
            info!("({name}) reload: {change}");
        }
        if running.fsm.state() == State::Master {
            if let Some(removed) = old.entries_missing_from(&new) {
                self.addresses.queue(Work::Remove(Arc::new(removed)));
            }
            if let Some(added) = new.entries_missing_from(&old) {
                let added = Arc::new(added);
                self.addresses.queue(Work::Install(Arc::clone(&added)));
                let count = new.params.garp.repeat;
                self.addresses.queue(Work::Announce(added, count));
            }
        }
        self.input(index, Input::Reconfigure(Box::new(new.params.clone())), now);
        // The address list (digest and count) may have changed even if nothing else did.
        self.write_datapath_config(index);
        self.changed(super::Unpublished::State);
    }
}

/// What a reload changed in an instance, one line each, for the log.
fn describe_changes(old: &InstancePlan, new: &InstancePlan) -> Vec<String> {
    let mut changes = Vec::new();
    let addresses = |plan: &InstancePlan| -> Vec<String> {
        plan.config
            .addresses
            .iter()
            .chain(&plan.config.excluded_addresses)
            .map(|vip| format!("{}/{}", vip.address, vip.prefix))
            .collect()
    };
    let mut entries = |verb: &str, delta: Option<InstancePlan>| {
        let Some(delta) = delta else {
            return;
        };
        let list = addresses(&delta);
        if !list.is_empty() {
            changes.push(format!("{verb} VIPs {}", list.join(" ")));
        }
        if !delta.config.routes.is_empty() || !delta.config.rules.is_empty() {
            changes.push(format!(
                "{verb} {} virtual routes and {} rules",
                delta.config.routes.len(),
                delta.config.rules.len()
            ));
        }
    };
    entries("adding", new.entries_missing_from(old));
    entries("removing", old.entries_missing_from(new));
    let (was, is) = (&old.params, &new.params);
    if was.base_priority != is.base_priority {
        changes.push(format!(
            "priority {} -> {}",
            was.base_priority, is.base_priority
        ));
    }
    if was.interval_cs != is.interval_cs {
        changes.push(format!(
            "advert_int {} -> {} centiseconds, from the next advert",
            was.interval_cs, is.interval_cs
        ));
    }
    if was.version != is.version {
        changes.push(format!(
            "VRRP version {} -> {}, from the next advert",
            was.version as u8, is.version as u8
        ));
    }
    if (was.preempt, was.preempt_delay) != (is.preempt, is.preempt_delay) {
        changes.push(format!(
            "preempt {} (delay {:?}) -> {} (delay {:?})",
            was.preempt, was.preempt_delay, is.preempt, is.preempt_delay
        ));
    }
    if changes.is_empty() {
        changes.push("settings applied in place".to_string());
    }
    changes
}

/// Writes an instance's entries into the XDP maps: its configuration from its state machine,
/// its unicast peers, and (`fresh`) an empty record of adverts. Returns the instance's slot in
/// LIVENESS.
fn register(
    datapath: &mut XdpDatapath,
    plan: &InstancePlan,
    fsm: &fsm::Instance,
    fresh: bool,
) -> Option<u32> {
    if fresh {
        let _ = datapath.reset_liveness(&plan.key);
    }
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
    datapath.liveness_slot(&plan.key)
}
