//! SIGHUP: the configuration re-read and applied (a file that cannot be used is refused and the
//! running one kept); a re-created interface re-planned; the SIGUSR1/SIGUSR2 dumps.

use std::time::Duration;

use tracing::{error, info, warn};

use super::plan::InstancePlan;
use super::protocol::Command;
use super::{Daemon, load_config, open_fifos, plan, systemd};
use crate::control::Reporter;
use crate::datapath::attach::AttachPolicy;

impl Daemon {
    /// SIGHUP, told to systemd as a reload.
    pub(super) async fn reload(&mut self) {
        systemd::notify("RELOADING=1");
        self.reload_config().await;
        systemd::notify("READY=1");
    }

    /// A bad file is refused with its located error and the running config stays.
    pub(super) async fn reload_config(&mut self) {
        info!("Reloading configuration {}", self.cli.file.display());
        let Some(config) = load_config(&self.cli) else {
            error!("reload failed; keeping the running configuration");
            return;
        };
        let plans = match plan::resolve(&config, &self.netlink).await {
            Ok(plans) => plans,
            Err(error) => {
                error!("reload failed ({error}); keeping the running configuration");
                return;
            }
        };
        let fifos_changed = (&config.global.notify_fifo, &config.global.vrrp_notify_fifo)
            != (
                &self.config.global.notify_fifo,
                &self.config.global.vrrp_notify_fifo,
            );
        self.config = config;
        if fifos_changed {
            self.fifos.close();
            self.fifos = open_fifos(&self.config);
        }
        self.apply_plans(plans);
        info!("Configuration reloaded");
    }

    /// Attaches XDP where the plans need it and hands them to the protocol thread, which keeps
    /// unchanged instances and replaces the rest.
    pub(super) fn apply_plans(&mut self, plans: Vec<InstancePlan>) {
        self.plans = plans.clone();
        if let Some(datapath) = &self.shared.datapath
            && let Ok(mut datapath) = datapath.lock()
        {
            for plan in &plans {
                if let Err(error) =
                    datapath.attach(&plan.config.interface, plan.ifindex, AttachPolicy::Auto)
                {
                    warn!("{error}");
                }
            }
        }
        self.shared.protocol.send(Command::Reload(plans));
    }

    /// An interface came back (new index): plan its instances again once it has an address.
    pub(super) async fn replan(&mut self, interface: &str) {
        for _ in 0..40 {
            match plan::resolve(&self.config, &self.netlink).await {
                Ok(plans) => {
                    info!("{interface}: instances re-planned on the new interface");
                    self.apply_plans(plans);
                    return;
                }
                Err(error) => {
                    info!("{interface}: waiting for the interface to be usable ({error})");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
        warn!("{interface}: gave up re-planning its instances; they stay in FAULT");
    }

    /// SIGUSR1 / SIGUSR2: keepalived-like data and stats dumps.
    pub(super) fn write_dump(&self, stats: bool) {
        let path = if stats {
            &self.cli.stats_file
        } else {
            &self.cli.dump_file
        };
        let text = if stats {
            crate::control::render::stats_text(&self.shared.stats())
        } else {
            crate::control::render::status_text(&self.shared.status())
        };
        match std::fs::write(path, text) {
            Ok(()) => info!("wrote {}", path.display()),
            Err(error) => warn!("{}: {error}", path.display()),
        }
    }
}
