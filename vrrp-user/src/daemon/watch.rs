//! Watching the machine: tracked scripts, files and interfaces folded into each instance's
//! health, and link events (an interface down, up, deleted or re-created).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tracing::{info, warn};

use super::Daemon;
use super::protocol::Command;
use super::shared::Shared;
use crate::net::netlink;
use crate::track::{self, Health, InstanceTracking, Observation, Source};

impl Daemon {
    /// Starts the tracker (which folds observations into each instance's health) and the
    /// tracked scripts and files of the configuration.
    /// Starts the tracker and the tracked sources. `resumed`: the instances come from a
    /// previous image with the health its observations gave them (carried into
    /// `Shared::observations`), so only a change from that is sent.
    pub(super) fn start_tracking(
        &mut self,
        updates: UnboundedReceiver<(Source, Observation)>,
        resumed: bool,
    ) {
        let (plan, plans) = tokio::sync::watch::channel(track::plan(&self.config));
        let shared = Arc::clone(&self.shared);
        let mut sent = HashMap::new();
        if resumed && let Ok(observations) = shared.observations.lock() {
            for instance in plans.borrow().iter() {
                sent.insert(instance.name.clone(), Health::of(instance, &observations));
            }
        }
        self.background
            .push(tokio::spawn(tracker(plans, updates, shared, sent)));
        self.tracking_plan = Some(plan);
        self.start_tracked_sources();
    }

    /// A reload: the tracked scripts and files start again from the new configuration, and the
    /// tracker takes the new plan (and tells every instance its health again, so an instance
    /// the reload replaced starts with its tracking).
    pub(super) fn restart_tracking(&mut self) {
        for task in self.tracked_sources.drain(..) {
            task.abort();
        }
        self.start_tracked_sources();
        if let Some(plan) = &self.tracking_plan {
            plan.send_replace(track::plan(&self.config));
        }
    }

    fn start_tracked_sources(&mut self) {
        let identity = match crate::script::identity(self.config.global.script_user.as_ref()) {
            Ok(identity) => identity,
            Err(error) => {
                warn!("script_user: {error}; scripts run as root");
                Default::default()
            }
        };
        let secure = self.config.global.enable_script_security;
        let known = self
            .shared
            .observations
            .lock()
            .map(|o| o.clone())
            .unwrap_or_default();
        for script in self.config.scripts.clone() {
            let identity = match &script.user {
                Some(user) => crate::script::identity(Some(user)).unwrap_or(identity),
                None => identity,
            };
            let state = match known.get(&Source::Script(script.name.clone())) {
                Some(Observation::Ok(ok)) => Some(*ok),
                _ => None,
            };
            self.tracked_sources.push(tokio::spawn(track::run_script(
                script,
                identity,
                secure,
                state,
                self.tracking_tx.clone(),
            )));
        }
        for file in self.config.track_files.clone() {
            if let Some(value) = file.init_value
                && !file.path.exists()
            {
                let _ = std::fs::write(&file.path, format!("{value}\n"));
            }
            self.tracked_sources.push(tokio::spawn(track::watch_file(
                file.name,
                file.path,
                self.tracking_tx.clone(),
            )));
        }
        self.tracked_sources
            .push(tokio::spawn(track::proc_events::watch_processes(
                self.config.track_processes.clone(),
                self.tracking_tx.clone(),
            )));
    }

    /// Watches links: up/down feeds tracking; an interface we use that is deleted and
    /// created again (a new index) is re-planned through `recreated`.
    pub(super) fn start_link_watch(&mut self, recreated: UnboundedSender<String>) {
        let netlink = self.netlink.clone();
        let updates = self.tracking_tx.clone();
        let interfaces: Vec<String> = self.interfaces();
        self.background.push(tokio::spawn(async move {
            let mut events = match netlink::watch_links() {
                Ok(events) => events,
                Err(error) => {
                    warn!("link watch: {error}");
                    return;
                }
            };
            let mut known: HashMap<String, u32> = HashMap::new();
            // The last state logged per interface we use: a link message also comes for
            // changes that are not up/down (promiscuous mode when tcpdump starts, MTU, ...).
            let mut logged_up: HashMap<String, bool> = HashMap::new();
            if let Ok(links) = netlink.links().await {
                for link in &links {
                    known.insert(link.name.clone(), link.index);
                }
                for name in &interfaces {
                    let up = links.iter().any(|l| &l.name == name && l.up);
                    logged_up.insert(name.clone(), up);
                    let _ = updates.send((Source::Interface(name.clone()), Observation::Ok(up)));
                }
            }
            while let Some(event) = events.recv().await {
                let name = event.link.name.clone();
                let up = event.link.up && !event.removed;
                if event.removed {
                    known.remove(&name);
                } else if known.insert(name.clone(), event.link.index) != Some(event.link.index)
                    && interfaces.contains(&name)
                {
                    info!(
                        "Netlink reports {name} (re)created with index {}",
                        event.link.index
                    );
                    let _ = recreated.send(name.clone());
                }
                if interfaces.contains(&name) && logged_up.insert(name.clone(), up) != Some(up) {
                    info!("Netlink reports {name} {}", if up { "up" } else { "down" });
                }
                let _ = updates.send((Source::Interface(name), Observation::Ok(up)));
            }
        }));
    }

    pub(super) fn interfaces(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for instance in &self.config.instances {
            names.push(instance.interface.clone());
            names.extend(instance.track_interfaces.iter().map(|t| t.name.clone()));
        }
        for group in &self.config.sync_groups {
            names.extend(group.track_interfaces.iter().map(|t| t.name.clone()));
        }
        names.sort();
        names.dedup();
        names
    }
}

/// Keeps the latest observation of every tracked source; sends each instance's health to the
/// protocol thread whenever it changes, and every instance's health when the plan changes.
async fn tracker(
    mut plans: tokio::sync::watch::Receiver<Vec<InstanceTracking>>,
    mut updates: UnboundedReceiver<(Source, Observation)>,
    shared: Arc<Shared>,
    mut sent: HashMap<String, Health>,
) {
    loop {
        tokio::select! {
            update = updates.recv() => {
                let Some((source, observation)) = update else {
                    return;
                };
                let Ok(mut observations) = shared.observations.lock() else {
                    return;
                };
                observations.insert(source, observation);
            }
            changed = plans.changed() => {
                if changed.is_err() {
                    return;
                }
                sent.clear();
            }
        }
        let observations = match shared.observations.lock() {
            Ok(observations) => observations.clone(),
            Err(_) => return,
        };
        let tracking = plans.borrow_and_update().clone();
        for instance in &tracking {
            let health = Health::of(instance, &observations);
            let unchanged = sent.get(&instance.name) == Some(&health)
                || (!sent.contains_key(&instance.name)
                    && health
                        == Health {
                            weight: 0,
                            fault: None,
                        });
            if unchanged {
                continue;
            }
            sent.insert(instance.name.clone(), health.clone());
            shared.protocol.send(Command::Health {
                instance: instance.name.clone(),
                weight: health.weight,
                fault: health.fault,
            });
        }
    }
}
