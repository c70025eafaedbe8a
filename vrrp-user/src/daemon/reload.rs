//! SIGHUP: the configuration re-read and applied (a file that cannot be used is refused and the
//! running one kept); a re-created interface re-planned; the SIGUSR1/SIGUSR2 dumps.

use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info, warn};

use super::plan::InstancePlan;
use super::protocol::Command;
use super::{Daemon, load_config, open_fifos, plan, systemd};
use crate::control::Reporter;

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
        let Some(mut config) = load_config(&self.cli) else {
            error!("reload failed; keeping the running configuration");
            return;
        };
        // keepalived: "the namespace cannot be changed on a configuration reload".
        if config.global.net_namespace != self.config.global.net_namespace {
            warn!(
                "net_namespace cannot be changed by a reload; staying in {}",
                self.config
                    .global
                    .net_namespace
                    .as_deref()
                    .unwrap_or("the namespace vrrpd started in")
            );
            config.global.net_namespace = self.config.global.net_namespace.clone();
        }
        let resolved = match plan::resolve(&config, &self.netlink).await {
            Ok(resolved) => resolved,
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
        super::statics::apply(&self.netlink, &self.config.statics, &config.statics);
        self.config = Arc::new(config);
        if fifos_changed {
            self.fifos.close();
            self.fifos = open_fifos(&self.config);
        }
        self.apply(resolved);
        self.apply_snmp_settings();
        crate::host::return_freed_memory();
        self.restart_tracking();
        if self.config.global.fifo_write_states_on_reload {
            self.write_states_to_fifos();
        }
        info!("Configuration reloaded");
    }

    /// Attaches XDP where the plans need it and hands them to the protocol thread, which keeps
    /// unchanged instances and replaces the rest.
    pub(super) fn apply_plans(&mut self, plans: Vec<Arc<InstancePlan>>) {
        self.plans = plans.clone();
        self.publish_configured();
        if let Some(datapath) = &self.xdp {
            super::xdp_lifecycle::load_kept_program_for(datapath, &plans);
        }
        if let Some(datapath) = &self.xdp {
            for failure in super::xdp_lifecycle::attach_for(datapath, &plans, &self.cli) {
                warn!("{failure}");
            }
        }
        self.shared.protocol.send(Command::Reload(plans));
    }

    /// What status, the JSON dump and SNMP read of the configuration: the daemon's own, shared.
    pub(super) fn publish_configured(&self) {
        self.shared
            .configured
            .store(Arc::new(super::shared::Configured {
                config: Some(Arc::clone(&self.config)),
                plans: self.plans.clone(),
            }));
    }

    /// Applies a resolution: the plans that can run go to the protocol thread, the others wait.
    fn apply(&mut self, resolved: plan::Resolved) {
        self.waiting = log_waiting(&self.waiting, &resolved.waiting);
        self.apply_plans(resolved.plans);
    }

    /// An interface came back (new index): plan its instances again.
    pub(super) async fn replan(&mut self, interface: &str) {
        match plan::resolve(&self.config, &self.netlink).await {
            Ok(resolved) => {
                info!("{interface}: instances re-planned on the new interface");
                self.apply(resolved);
            }
            Err(error) => warn!("{interface}: re-planning its instances: {error}"),
        }
    }

    /// Resolves again while instances wait; starts those that can run now.
    pub(super) async fn retry_waiting(&mut self) {
        let Ok(resolved) = plan::resolve(&self.config, &self.netlink).await else {
            return;
        };
        let still: Vec<&str> = resolved.waiting.iter().map(|(n, _)| n.as_str()).collect();
        let ready: Vec<String> = self
            .waiting
            .iter()
            .filter(|name| !still.contains(&name.as_str()))
            .cloned()
            .collect();
        if ready.is_empty() {
            return;
        }
        for name in &ready {
            info!("({name}) its interface is usable now; starting");
        }
        self.apply(resolved);
    }

    /// SIGJSON: keepalived's JSON dump, written where keepalived writes it.
    pub(super) fn write_json_dump(&self) {
        let global = &self.config.global;
        let instances = self.shared.keepalived_dump();
        let document = if global.json_version == 2 {
            serde_json::json!({ "vrrp": instances })
        } else {
            instances
        };
        let path = global
            .json_dump_file
            .as_deref()
            .unwrap_or(std::path::Path::new(super::keepalived_json::PATH));
        match write_dump_file(path, &document.to_string()) {
            Ok(()) => info!("wrote {}", path.display()),
            Err(error) => warn!("{}: {error}", path.display()),
        }
    }

    /// SIGUSR1 / SIGUSR2: the data and stats dumps, in keepalived's layout.
    pub(super) fn write_dump(&self, stats: bool) {
        let global = &self.config.global;
        let path = if stats {
            global
                .stats_dump_file
                .as_ref()
                .unwrap_or(&self.cli.stats_file)
        } else {
            global
                .state_dump_file
                .as_ref()
                .unwrap_or(&self.cli.dump_file)
        };
        let text = if stats {
            super::keepalived_json::stats_text(&self.shared.keepalived_dump())
        } else {
            super::keepalived_json::data_text(&self.shared.keepalived_dump())
        };
        match write_dump_file(path, &text) {
            Ok(()) => info!("wrote {}", path.display()),
            Err(error) => warn!("{}: {error}", path.display()),
        }
    }
}

/// How often instances waiting for their interface or its address are resolved again.
pub(super) const RETRY_WAITING: Duration = Duration::from_millis(200);

/// Logs, once, each instance that starts waiting (not those that were waiting already), and
/// returns the names now waiting.
pub(super) fn log_waiting(before: &[String], now: &[(String, plan::PlanError)]) -> Vec<String> {
    for (name, reason) in now {
        if !before.contains(name) {
            warn!("{reason}; ({name}) waits for it and starts when it is there");
        }
    }
    now.iter().map(|(name, _)| name.clone()).collect()
}

/// Writes a dump where anyone may have put something first (/tmp): a symbolic link there is
/// refused rather than followed, as keepalived's `fopen_safe` refuses it, so that root's dump
/// cannot be pointed at another file.
fn write_dump_file(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    file.write_all(text.as_bytes())
}
