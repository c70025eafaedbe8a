//! The implementations under test, started the same way, and the configurations they share.

use std::time::Duration;

use anyhow::{Context, Result};

use vrrp_common::wire::vrrp::Version;
use vrrp_harness::daemons::{Keepalived, Vrrpd, XDP_TAKEN_OVER};
use vrrp_harness::frr::{Frr, FrrInstance};
use vrrp_harness::loadgen::process_tree_pss_kib;
use vrrp_harness::process::{LogTally, Scratch, Spawned};
use vrrp_harness::topology::Host;

use super::takeover::TAKEOVER_TIMING;

/// The `VRRPD_LOG` directive that logs the adverts the kernel refused to send.
const SEND_FAILURES: &str = "vrrp_user::daemon::protocol::actions=debug";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Implementation {
    Xdp,
    Socket,
    Keepalived,
    /// FRR's vrrpd (Debian `frr`): VRRPv3 only, without authentication, its virtual address on
    /// a macvlan with the virtual MAC.
    Frr,
}

impl Implementation {
    pub const ALL: [Implementation; 3] = [
        Implementation::Xdp,
        Implementation::Socket,
        Implementation::Keepalived,
    ];

    /// The scenarios FRR can take part in (VRRPv3 pairs without authentication) run it too.
    pub const WITH_FRR: [Implementation; 4] = [
        Implementation::Xdp,
        Implementation::Socket,
        Implementation::Keepalived,
        Implementation::Frr,
    ];

    /// Those of `candidates` that `VRRP_BENCH_IMPL` (a comma list of xdp, socket, keepalived,
    /// frr) asks for, all of them when it is unset: for profiling one implementation alone.
    pub fn selected(candidates: &[Implementation]) -> Vec<Implementation> {
        let wanted = std::env::var("VRRP_BENCH_IMPL").ok();
        candidates
            .iter()
            .copied()
            .filter(|implementation| {
                wanted
                    .as_deref()
                    .is_none_or(|list| list.split(',').any(|w| w == implementation.key()))
            })
            .collect()
    }

    /// vrrpd, in either datapath.
    pub fn is_vrrpd(self) -> bool {
        matches!(self, Implementation::Xdp | Implementation::Socket)
    }

    fn key(self) -> &'static str {
        match self {
            Implementation::Xdp => "xdp",
            Implementation::Socket => "socket",
            Implementation::Keepalived => "keepalived",
            Implementation::Frr => "frr",
        }
    }

    /// Skew_Time in ms as the implementation computes it: FRR in whole centiseconds
    /// (vrrpd/vrrp.c, vrrp_recalculate_timers, integer division), the others exactly.
    pub fn skew_ms(self, priority: u8, interval_cs: u16) -> f64 {
        match self {
            Implementation::Frr => {
                f64::from((256 - u32::from(priority)) * u32::from(interval_cs) / 256) * 10.0
            }
            _ => vrrp_common::time::skew_time_ns(Version::V3, priority, interval_cs) as f64 / 1e6,
        }
    }

    /// Master_Down_Interval in ms (3 intervals and [`Implementation::skew_ms`]).
    pub fn master_down_ms(self, priority: u8, interval_cs: u16) -> f64 {
        match self {
            Implementation::Frr => {
                3.0 * f64::from(interval_cs) * 10.0 + self.skew_ms(priority, interval_cs)
            }
            _ => {
                vrrp_common::time::master_down_interval_ns(Version::V3, priority, interval_cs)
                    as f64
                    / 1e6
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Implementation::Xdp => "vrrpd (XDP)",
            Implementation::Socket => "vrrpd (socket)",
            Implementation::Keepalived => "keepalived 2.2.7",
            Implementation::Frr => "FRR vrrpd",
        }
    }
}

/// A running daemon of any implementation.
pub enum Daemon {
    Vrrpd(Vrrpd),
    Keepalived(Keepalived, std::path::PathBuf),
    /// FRR's zebra and vrrpd, and where in their shared log the running vrrpd's lines begin
    /// (a restarted vrrpd appends to the same file).
    Frr(Frr, usize),
}

/// FRR logs its transitions as "[VRID 5] [IPv4] Backup -> Master" (vrrpd/vrrp.c,
/// vrrp_change_state; Initialize is its state before start and after shutdown); the bench's
/// keepalived lines map onto them, an instance's first BACKUP ("(init)") onto the one from
/// Initialize, FAULT onto a return to Initialize.
fn frr_needle(needle: &str) -> &str {
    if needle.ends_with("Entering MASTER STATE") {
        "-> Master"
    } else if needle.ends_with("Entering BACKUP STATE") {
        "-> Backup"
    } else if needle.ends_with("Entering BACKUP STATE (init)") {
        "Initialize -> Backup"
    } else if needle.ends_with("Entering FAULT STATE") {
        "-> Initialize"
    } else {
        needle
    }
}

/// The instances of a keepalived.conf as FRR is told them: the bench gives every
/// implementation the same file, and FRR reads what it can run of it.
fn frr_instances(path: &std::path::Path) -> Result<Vec<FrrInstance>> {
    let loaded = vrrp_user::config::load(path, &vrrp_user::config::LexOptions::default())
        .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
    loaded
        .config
        .instances
        .iter()
        .map(|instance| {
            anyhow::ensure!(
                instance.version == Version::V3 && instance.authentication.is_none(),
                "FRR runs VRRPv3 without authentication only ({})",
                instance.name
            );
            anyhow::ensure!(
                !instance.addresses.is_empty(),
                "{} has no virtual address",
                instance.name
            );
            Ok(FrrInstance {
                interface: instance.interface.clone(),
                vrid: instance.vrid,
                priority: instance.priority,
                // FRR has no excluded addresses: those of virtual_ipaddress_excluded stay off.
                addresses: instance
                    .addresses
                    .iter()
                    .map(|vip| format!("{}/{}", vip.address, vip.prefix))
                    .collect(),
                interval_ms: u32::from(instance.advert_interval_cs) * 10,
            })
        })
        .collect()
}

/// A daemon prepared by [`Daemon::prepare`], its process not started yet.
pub struct Pending<'a> {
    implementation: Implementation,
    host: &'a Host,
    label: String,
    config: String,
    scratch: &'a Scratch,
    /// FRR's zebra, running, and the instances its vrrpd is to be told.
    frr: Option<(Frr, Vec<FrrInstance>)>,
}

impl Pending<'_> {
    /// Starts the daemon's process and returns at once.
    pub fn start(self) -> Result<Daemon> {
        let Pending {
            implementation,
            host,
            label,
            config,
            scratch,
            frr,
        } = self;
        // vrrpd logs each takeover's timing against its deadline, for the failover scenario's
        // breakdown of the excess (one line per takeover, written after its advert left), and
        // every advert the kernel refused to send (none in a sound run; with VRRP_TEST_KEEP,
        // the kept logs then tell a master that did not send from adverts that were lost).
        let log_directives = [
            "env".to_string(),
            format!("VRRPD_LOG=info,{TAKEOVER_TIMING},{SEND_FAILURES}"),
        ];
        Ok(match (implementation, frr) {
            (Implementation::Xdp, _) => Daemon::Vrrpd(Vrrpd::start_under(
                host,
                &label,
                &config,
                scratch,
                &[],
                &log_directives,
            )?),
            (Implementation::Socket, _) => Daemon::Vrrpd(Vrrpd::start_under(
                host,
                &label,
                &config,
                scratch,
                &["--datapath", "socket"],
                &log_directives,
            )?),
            (Implementation::Keepalived, _) => Daemon::Keepalived(
                Keepalived::start(host, &label, &config, scratch)?,
                scratch.join(&format!("{label}-vrrp.pid")),
            ),
            (Implementation::Frr, Some((mut frr, instances))) => {
                frr.start_vrrpd(host, &instances)?;
                Daemon::Frr(frr, 0)
            }
            (Implementation::Frr, None) => anyhow::bail!("FRR was not prepared"),
        })
    }
}

impl Daemon {
    /// Starts a daemon and, for vrrpd (XDP), waits until the XDP program (loaded behind the
    /// socket path) has taken its instances over, so that a scenario measures the datapath it
    /// names.
    pub fn start(
        implementation: Implementation,
        host: &Host,
        label: &str,
        config: &str,
        scratch: &Scratch,
    ) -> Result<Daemon> {
        let mut daemon = Daemon::launch(implementation, host, label, config, scratch)?;
        daemon.wait_for_its_datapath(implementation)?;
        Ok(daemon)
    }

    /// For vrrpd (XDP): waits until the XDP program has taken the instances over from the
    /// socket path it starts on.
    pub fn wait_for_its_datapath(&mut self, implementation: Implementation) -> Result<()> {
        if implementation == Implementation::Xdp {
            self.running()?
                .wait_for_log(XDP_TAKEN_OVER, Duration::from_secs(20))?;
        }
        Ok(())
    }

    /// Starts a daemon and returns at once (the start-up scenario times what follows).
    pub fn launch(
        implementation: Implementation,
        host: &Host,
        label: &str,
        config: &str,
        scratch: &Scratch,
    ) -> Result<Daemon> {
        Daemon::prepare(implementation, host, label, config, scratch)?.start()
    }

    /// What a daemon needs before its process starts: for FRR, zebra and the instances'
    /// macvlans, as FRR's service has them up (seconds, with hundreds of macvlans); nothing
    /// for the others. [`Pending::start`] then starts the daemon itself, so that a scenario
    /// times, or starts together, the daemons alone.
    pub fn prepare<'a>(
        implementation: Implementation,
        host: &'a Host,
        label: &str,
        config: &str,
        scratch: &'a Scratch,
    ) -> Result<Pending<'a>> {
        let frr = if implementation == Implementation::Frr {
            let path = scratch.write(&format!("{label}.conf"), config)?;
            let instances = frr_instances(&path)?;
            Some((Frr::prepare(host, label, &instances, scratch)?, instances))
        } else {
            None
        };
        Ok(Pending {
            implementation,
            host,
            label: label.to_string(),
            config: config.to_string(),
            scratch,
            frr,
        })
    }

    /// [`Daemon::launch`], reading `clock` just before the daemon's process starts (after
    /// [`Daemon::prepare`]).
    pub fn launch_timed<T>(
        implementation: Implementation,
        host: &Host,
        label: &str,
        config: &str,
        scratch: &Scratch,
        clock: impl Fn() -> T,
    ) -> Result<(T, Daemon)> {
        let pending = Daemon::prepare(implementation, host, label, config, scratch)?;
        let started = clock();
        Ok((started, pending.start()?))
    }

    /// Stops the daemon with `signal` (SIGTERM: its own shutdown, priority 0 from a master).
    /// FRR's zebra keeps running, as when an operator restarts vrrpd alone.
    pub fn stop(&mut self, signal: i32) -> Result<()> {
        match self {
            Daemon::Frr(frr, _) => frr.stop_vrrpd(signal),
            _ => self
                .running()?
                .stop(signal, Duration::from_secs(5))
                .map(drop),
        }
    }

    /// Starts the daemon again on `host` after [`Daemon::stop`], with `config`.
    pub fn start_again(
        &mut self,
        implementation: Implementation,
        host: &Host,
        label: &str,
        config: &str,
        scratch: &Scratch,
    ) -> Result<()> {
        match self {
            Daemon::Frr(frr, log_start) => {
                *log_start = frr.log().len();
                let path = scratch.write(&format!("{label}.conf"), config)?;
                frr.start_vrrpd(host, &frr_instances(&path)?)
            }
            _ => {
                *self = Daemon::start(implementation, host, label, config, scratch)?;
                Ok(())
            }
        }
    }

    /// The daemon's process (FRR: vrrpd), while it runs.
    pub fn process(&mut self) -> Option<&mut Spawned> {
        match self {
            Daemon::Vrrpd(v) => Some(&mut v.process),
            Daemon::Keepalived(k, _) => Some(&mut k.process),
            Daemon::Frr(frr, _) => frr.vrrpd_process(),
        }
    }

    pub fn running(&mut self) -> Result<&mut Spawned> {
        self.process().context("the daemon is not running")
    }

    /// The process started (vrrpd; keepalived's parent, above its VRRP child; FRR's vrrpd).
    pub fn root_pid(&self) -> i32 {
        match self {
            Daemon::Vrrpd(v) => v.process.pid(),
            Daemon::Keepalived(k, _) => k.process.pid(),
            Daemon::Frr(..) => self.worker_pid().unwrap_or(0),
        }
    }

    /// The proportional set size in KiB summed over the daemon's processes: vrrpd's one,
    /// keepalived's parent and VRRP child, FRR's vrrpd and the zebra it cannot run without.
    pub fn pss_kib(&self) -> Option<u64> {
        let daemon = process_tree_pss_kib(self.root_pid())?;
        match self {
            Daemon::Frr(frr, _) => Some(daemon + process_tree_pss_kib(frr.zebra_pid())?),
            _ => Some(daemon),
        }
    }

    pub fn log(&self) -> String {
        match self {
            Daemon::Vrrpd(v) => v.log(),
            Daemon::Keepalived(k, _) => k.log(),
            Daemon::Frr(frr, log_start) => frr.log().get(*log_start..).unwrap_or("").to_string(),
        }
    }

    /// The process doing the VRRP work (keepalived's VRRP child, FRR's vrrpd).
    pub fn worker_pid(&self) -> Option<i32> {
        match self {
            Daemon::Vrrpd(v) => Some(v.process.pid()),
            Daemon::Keepalived(_, pidfile) => {
                std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()
            }
            Daemon::Frr(frr, _) => frr.vrrpd_pid(),
        }
    }

    /// A configuration change as an operator makes it: the file rewritten, then SIGHUP (to
    /// keepalived's parent, which reloads its VRRP child). FRR is changed through vtysh, each
    /// change to the running instance ([`Frr::reconfigure`]), from what it can run of the file.
    pub fn reload(&mut self, host: &Host, config: &str) -> Result<()> {
        let path = match self {
            Daemon::Vrrpd(v) => v.config.clone(),
            Daemon::Keepalived(k, _) => k.config.clone(),
            Daemon::Frr(frr, _) => {
                let path = frr.config_path().with_extension("keepalived.conf");
                std::fs::write(&path, config)
                    .with_context(|| format!("writing {}", path.display()))?;
                return frr.reconfigure(host, &frr_instances(&path)?);
            }
        };
        std::fs::write(&path, config).with_context(|| format!("writing {}", path.display()))?;
        self.running()?.signal(libc::SIGHUP);
        Ok(())
    }

    /// How often `needle` (a keepalived log line; FRR's transitions stand in for VI_1's)
    /// appears in the log.
    pub fn count(&self, needle: &str) -> usize {
        let needle = match self {
            Daemon::Frr(..) => frr_needle(needle),
            _ => needle,
        };
        self.log().matches(needle).count()
    }

    /// A tally of `needles` (keepalived's log lines, FRR's in their place) in the daemon's log,
    /// read as it grows.
    pub fn tally(&self, needles: &[&str]) -> LogTally {
        match self {
            Daemon::Vrrpd(v) => LogTally::new(v.process.log_path(), needles),
            Daemon::Keepalived(k, _) => LogTally::new(k.process.log_path(), needles),
            Daemon::Frr(frr, _) => {
                let needles: Vec<&str> = needles.iter().map(|n| frr_needle(n)).collect();
                LogTally::new(frr.log_path(), &needles)
            }
        }
    }

    /// Waits until `needle` appears at least `count` times in the log.
    pub fn wait_count(&self, needle: &str, count: usize, timeout: Duration) -> Result<()> {
        let started = std::time::Instant::now();
        while self.count(needle) < count {
            if started.elapsed() > timeout {
                anyhow::bail!("timed out waiting for {needle:?} x{count}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// Valid adverts of the instance the daemon has counted (keepalived: from its SIGUSR2
    /// statistics; vrrpd: the datapath's count).
    pub fn adverts_counted(&self) -> Result<u64> {
        match self {
            Daemon::Vrrpd(v) => {
                let stats: serde_json::Value = serde_json::from_str(
                    &vrrp_user::control::client::request(&v.control, "stats")?,
                )?;
                let xdp = stats["datapath"]["mode"] == "xdp";
                Ok(if xdp {
                    stats["instances"][0]["adverts_seen"].as_u64().unwrap_or(0)
                } else {
                    stats["datapath"]["counters"]["adverts_valid"]
                        .as_u64()
                        .unwrap_or(0)
                })
            }
            Daemon::Frr(..) => anyhow::bail!("FRR's counters are not read"),
            Daemon::Keepalived(k, _) => {
                let _ = std::fs::remove_file("/tmp/keepalived.stats");
                // keepalived's parent passes SIGUSR2 on to its VRRP child, which writes the file.
                k.process.signal(libc::SIGUSR2);
                let started = std::time::Instant::now();
                loop {
                    if let Ok(text) = std::fs::read_to_string("/tmp/keepalived.stats")
                        && let Some(received) = keepalived_received(&text)
                    {
                        return Ok(received);
                    }
                    if started.elapsed() > Duration::from_secs(3) {
                        anyhow::bail!("keepalived wrote no statistics");
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
}

/// `Advertisements: ... Received: N` from keepalived's statistics dump.
fn keepalived_received(text: &str) -> Option<u64> {
    let after = &text[text.find("Advertisements:")?..];
    let line = after
        .lines()
        .find(|l| l.trim_start().starts_with("Received:"))?;
    line.split(':').nth(1)?.trim().parse().ok()
}

/// `global_defs` for a version (v3 or the default v2).
/// `global_defs`: VRRPv3 or v2, and with `VRRP_BENCH_RT_PRIORITY=N` keepalived's
/// `vrrp_rt_priority N` for every implementation (a tuned comparison; the default is untuned).
pub fn global(v3: bool) -> String {
    let mut text = String::from("global_defs {\n");
    if v3 {
        text.push_str("  vrrp_version 3\n");
    }
    if let Some(priority) = std::env::var("VRRP_BENCH_RT_PRIORITY")
        .ok()
        .and_then(|p| p.parse::<u8>().ok())
    {
        text.push_str(&format!("  vrrp_rt_priority {priority}\n"));
    }
    text.push_str("}\n");
    text
}

/// One `vrrp_instance` block.
pub fn instance(
    name: &str,
    vrid: u8,
    priority: u8,
    advert_int: &str,
    vips: &[String],
    excluded: &[String],
    password: Option<&str>,
) -> String {
    let mut text = format!(
        "vrrp_instance {name} {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {vrid}\n  priority {priority}\n  advert_int {advert_int}\n"
    );
    if let Some(password) = password {
        text.push_str(&format!(
            "  authentication {{\n    auth_type PASS\n    auth_pass {password}\n  }}\n"
        ));
    }
    text.push_str("  virtual_ipaddress {\n");
    for vip in vips {
        text.push_str(&format!("    {vip} dev eth0\n"));
    }
    text.push_str("  }\n");
    if !excluded.is_empty() {
        text.push_str("  virtual_ipaddress_excluded {\n");
        for vip in excluded {
            text.push_str(&format!("    {vip} dev eth0\n"));
        }
        text.push_str("  }\n");
    }
    text.push_str("}\n");
    text
}

/// The failover pair's configuration: v3, 10 ms adverts, VIP 192.0.2.99.
pub fn v3_pair_config(priority: u8) -> String {
    global(true)
        + &instance(
            "VI_1",
            51,
            priority,
            "0.01",
            &["192.0.2.99/24".into()],
            &[],
            None,
        )
}

/// A v2 pair with PASS auth at 1 s (for the bad-authentication flood).
pub fn v2_pair_config(priority: u8) -> String {
    global(false)
        + &instance(
            "VI_1",
            51,
            priority,
            "1",
            &["192.0.2.99/24".into()],
            &[],
            Some("secret"),
        )
}

/// The worker's pid, waiting up to `timeout` for it: keepalived writes its VRRP child's pid
/// file late under load, or anew after respawning a child that died.
pub fn worker_pid_within(daemon: &Daemon, timeout: Duration) -> Option<i32> {
    let started = std::time::Instant::now();
    loop {
        if let Some(pid) = daemon.worker_pid() {
            return Some(pid);
        }
        if started.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn require_pid(daemon: &Daemon) -> Result<i32> {
    worker_pid_within(daemon, Duration::from_secs(5)).context("the daemon's pid")
}
