//! Instances joining the thread (socket opened or shared, datapath entries written), starting
//! after `vrrp_startup_delay`, and a reload keeping, stopping or adding them.

use std::io;
use std::sync::Arc;

use tracing::{info, warn};
use vrrp_common::maps::PeerKey;
use vrrp_common::wire::raw_from_ip;

use super::{Receive, Running, Thread};

/// How often instances waiting for their address try again.
pub(super) const RETRY_WAITING: std::time::Duration = std::time::Duration::from_millis(100);

/// The bind failed because the address is not (yet) usable: tentative, or not there.
fn not_usable_yet(error: &io::Error) -> bool {
    error.raw_os_error() == Some(libc::EADDRNOTAVAIL)
}
use crate::daemon::plan::InstancePlan;
use crate::fsm::{self, Input};
use crate::net::advert::AdvertTemplate;
use crate::net::sys::monotonic_now;
use crate::net::vrrp_socket::VrrpSocket;

impl Thread {
    /// Adds the instance; or, while its address cannot be bound yet (an IPv6 link-local address
    /// still tentative: duplicate address detection takes a second or more after the link
    /// comes up, the normal case at boot), keeps it waiting and tries again every
    /// [`RETRY_WAITING`], without holding up the other instances.
    pub(super) fn admit(&mut self, plan: InstancePlan) -> io::Result<()> {
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
    fn add_instance(&mut self, plan: &InstancePlan) -> io::Result<()> {
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
        let template = AdvertTemplate::new(&plan.advert).map_err(|error| {
            io::Error::other(format!(
                "({}) its advert cannot be built: {error:?}",
                plan.name()
            ))
        })?;
        self.instances.push(Running {
            plan: Arc::new(plan.clone()),
            fsm,
            template,
            socket: send_key,
            started: false,
            address_list: Default::default(),
        });
        self.changed(super::Unpublished::State);
        Ok(())
    }

    /// Instances start after `vrrp_startup_delay`.
    pub(super) fn start_due_instances(&mut self) {
        let now = monotonic_now();
        for index in 0..self.instances.len() {
            let running = &self.instances[index];
            if running.started || self.stopping {
                continue;
            }
            if now < self.started + running.plan.startup_delay {
                continue;
            }
            self.instances[index].started = true;
            self.input(index, Input::Startup, now);
        }
    }

    /// Keeps instances whose plan did not change (with their state); stops the others and
    /// starts the new ones.
    pub(super) fn reload(&mut self, plans: Vec<InstancePlan>) {
        let now = monotonic_now();
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
            if let Err(error) = self.admit(plan) {
                warn!("reload: cannot start an instance: {error}");
            }
        }
    }
}
