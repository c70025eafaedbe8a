//! The running daemon: loads the configuration, resolves it against the interfaces, starts the
//! datapath and the protocol thread, and runs everything asynchronous (address work,
//! notification, tracking, link events, signals, control socket) on tokio.

pub mod addresses;
mod inherited_children;
pub mod keepalived_json;
pub mod logging;
mod notices;
pub mod pidfile;
pub mod plan;
pub mod protocol;
mod reload;
pub mod scheduling;
pub mod shared;
mod snmp;
pub mod stand_in;
mod statics;
pub mod systemd;
pub mod upgrade;
mod watch;
mod xdp_lifecycle;

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tracing::{error, info, warn};

use crate::cli::{Cli, Exit};
use crate::config::{self, Config, LexOptions};
use crate::control::Reporter;
use crate::datapath::xdp::XdpDatapath;
use crate::net::netlink::Netlink;
use crate::notify::fifo::Fifos;
use crate::notify::{Notice, Notifier};
use crate::track::{InstanceTracking, Observation, Source};
use plan::InstancePlan;
use protocol::{Command, Outcome, Receive};
use shared::Shared;

fn lex_options(cli: &Cli) -> LexOptions {
    LexOptions {
        config_id: cli.config_id.clone().or_else(crate::host::host_name),
    }
}

/// Loads the configuration, logging warnings; `None` (after logging each located error) if it
/// cannot be used.
fn load_config(cli: &Cli) -> Option<Config> {
    match config::load(&cli.file, &lex_options(cli)) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                warn!("{warning}");
            }
            for notice in &loaded.notices {
                info!("{notice}");
            }
            if crate::script::writable_by_others(&cli.file) {
                warn!(
                    "{} is writable by group or others; anyone who can write it controls vrrpd",
                    cli.file.display()
                );
            }
            Some(loaded.config)
        }
        Err(errors) => {
            for diagnostic in errors.diagnostics() {
                error!("{diagnostic}");
            }
            None
        }
    }
}

pub fn run(mut cli: Cli) -> ExitCode {
    // First, while this is the only thread, so that every thread inherits the mask: a request
    // that comes before the main loop answers it waits for it (see `hold_requests`).
    hold_requests(Hold::Block);
    // Also while this is the only thread: the environment is read and cleaned here.
    let arrival = upgrade::arrival();
    scheduling::note_upgrade_boost();
    logging::init(&cli);
    info!(
        "Starting vrrpd {} (keepalived-compatible VRRP)",
        env!("CARGO_PKG_VERSION")
    );
    log_arrival(&arrival);
    let Some(config) = load_config(&cli) else {
        return Exit::Config.into();
    };
    tracing::debug!("configuration loaded");
    // keepalived's net_namespace (or -s): entered now, while this is the only thread, so that
    // every thread, socket and netlink request of the daemon lives there.
    let namespace = cli
        .namespace
        .clone()
        .or_else(|| config.global.net_namespace.clone());
    if let Some(name) = &namespace {
        if let Err(error) = crate::host::enter_network_namespace(name) {
            error!("network namespace {name}: {error}");
            return ExitCode::FAILURE;
        }
        info!("running in network namespace {name}");
    }
    if let Some(name) = config.global.instance_name.as_ref().or(namespace.as_ref()) {
        cli.name_runtime_files(name);
    }
    if config.instances.iter().all(|i| i.incomplete) {
        error!("{}: no vrrp_instance to run", cli.file.display());
        return Exit::Config.into();
    }
    // Before any thread starts, so that every thread inherits them.
    scheduling::apply_to_process(&config.global.scheduling);
    let _pid = match pidfile::PidFile::acquire(&cli.pid_file) {
        Ok(pid) => pid,
        Err(error) => {
            error!("{error}");
            return ExitCode::FAILURE;
        }
    };
    // keepalived's VRRP child pid file: the same process here.
    let _vrrp_pid = match cli.vrrp_pid_file.as_deref().map(pidfile::PidFile::acquire) {
        Some(Err(error)) => {
            error!("{error}");
            return ExitCode::FAILURE;
        }
        other => other,
    };
    // keepalived's default pid files too, for a daemon without a name that was given none of
    // its own (a named one runs beside others, each in its namespace).
    let unnamed = config.global.instance_name.is_none() && namespace.is_none();
    let _keepalived_pids: Vec<pidfile::PidFile> =
        if unnamed && cli.pid_file == std::path::Path::new(crate::cli::DEFAULT_PID_FILE) {
            pidfile::KEEPALIVED_PID_FILES
                .iter()
                .filter(|path| cli.vrrp_pid_file.as_deref() != Some(std::path::Path::new(path)))
                .filter_map(|path| {
                    pidfile::PidFile::acquire_keepalived_compatible(std::path::Path::new(path))
                })
                .collect()
        } else {
            Vec::new()
        };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("vrrpd-async")
        .on_thread_start(scheduling::boost_thread_if_upgrading)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            error!("tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(cli, config, arrival))
}

fn log_arrival(arrival: &upgrade::Arrival) {
    match arrival {
        upgrade::Arrival::Fresh => {}
        upgrade::Arrival::Upgrade(hand_over) => info!(
            "upgrade: taking over from vrrpd {} (image generation {}): {} instances",
            hand_over.from_version,
            hand_over.generation,
            hand_over.instances.len()
        ),
        upgrade::Arrival::SafeRestart(generation, reason) => warn!(
            "upgrade: a safe restart (image generation {generation}): the previous image released its instances because {reason}"
        ),
        upgrade::Arrival::Unreadable(reason) => error!(
            "upgrade: the previous image's hand-over cannot be used ({reason}); starting as after a crash"
        ),
    }
}

async fn serve(cli: Cli, config: Config, arrival: upgrade::Arrival) -> ExitCode {
    let netlink = match Netlink::connect() {
        Ok(netlink) => netlink,
        Err(error) => {
            error!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let after_an_exec = !matches!(arrival, upgrade::Arrival::Fresh);
    // Before the plans: they set sysctls whose originals a previous image may have carried.
    let upgrade::TakenOver {
        instances: carried,
        xdp: handed_xdp,
        observations,
        status: daemon_status,
        stand_in,
    } = upgrade::taken_over(arrival);
    // Before this image starts a child of its own: whatever child the process has now, an
    // earlier image started (the stand-in aside, which is stopped and reaped on its own). A
    // fresh start has none, and does not spend the /proc scan.
    if after_an_exec {
        inherited_children::reap_in_background(stand_in.as_ref().map(|stand_in| stand_in.pid()));
    }
    let resolved = match plan::resolve(&config, &netlink).await {
        Ok(resolved) => resolved,
        Err(error) => {
            error!("{error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::debug!("instances resolved against the interfaces");
    let waiting = reload::log_waiting(&[], &resolved.waiting);
    let plans = resolved.plans;
    let upgraded = daemon_status.came_by == "upgrade";
    // A master resumed from the previous image keeps its addresses where they are.
    let fresh_plans: Vec<Arc<InstancePlan>> = plans
        .iter()
        .filter(|plan| {
            !carried.iter().any(|c| {
                c.fsm.state == vrrp_common::maps::State::Master as u8 && c.name == plan.name()
            })
        })
        .cloned()
        .collect();
    addresses::remove_stale(&netlink, &fresh_plans).await;
    drop(fresh_plans);
    statics::apply(&netlink, &Default::default(), &config.statics);
    let no_accept = plans.iter().any(|p| !p.accept);
    if no_accept
        && !upgraded
        && let Err(error) = crate::net::accept::reset()
    {
        warn!("no_accept needs nftables: {error}");
    }
    // An upgraded image adopts the previous one's XDP program at once; otherwise the protocol
    // starts on the sockets and XDP follows when the program has loaded (xdp_lifecycle.rs).
    let datapath = handed_xdp.as_ref().and_then(xdp_lifecycle::adopt);
    let (xdp_loaded_tx, xdp_loaded) = mpsc::unbounded_channel();
    if handed_xdp.is_none() {
        xdp_lifecycle::load_in_background(&cli, xdp_loaded_tx);
    }
    let published = Arc::new(protocol::Published::default());
    // Status, stats, metrics and the address workers get map handles of their own, so that
    // none of them takes the lock the protocol thread takes on the datapath.
    let (reader, vip_table) = datapath
        .as_ref()
        .and_then(xdp_lifecycle::map_handles)
        .unzip();
    let (outcomes_tx, mut outcomes) = mpsc::unbounded_channel();
    let receive = match &datapath {
        Some(datapath) => Receive::xdp(Arc::clone(datapath)),
        None => Receive::Sockets,
    };
    let (tracking_tx, tracking_rx) = mpsc::unbounded_channel();
    let announced = Arc::new(Mutex::new(HashMap::new()));
    let total_announced = Arc::new(AtomicU64::new(0));
    let address_workers = addresses::Workers::new(addresses::Context {
        netlink: netlink.clone(),
        vips: Arc::new(Mutex::new(vip_table)),
        tracking: tracking_tx.clone(),
        announced: Arc::clone(&announced),
        total_announced: Arc::clone(&total_announced),
    });
    let protocol = match protocol::spawn(
        plans.clone(),
        receive,
        Arc::clone(&published),
        outcomes_tx,
        Arc::clone(&address_workers),
        config.global.scheduling.clone(),
        protocol::Handed {
            instances: carried.clone(),
            stand_in,
        },
    ) {
        Ok(protocol) => protocol,
        Err(error) => {
            error!("starting the protocol thread: {error}");
            return ExitCode::FAILURE;
        }
    };
    // An image that came by `vrrpd upgrade` ran its start-up at real-time priority; the
    // protocol thread runs now.
    scheduling::end_upgrade_boost();
    let (upgrades_tx, upgrades) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        daemon: Mutex::new(daemon_status),
        upgrades: upgrades_tx,
        protocol,
        datapath: arc_swap::ArcSwapOption::from(reader.map(Arc::new)),
        published,
        announced,
        total_announced,
        observations: Mutex::new(observations.into_iter().collect()),
        started: std::time::Instant::now(),
        cleared: Mutex::new(Default::default()),
        configured: Default::default(),
        proto_errors: Default::default(),
    });
    let fifos = open_fifos(&config);
    let mut daemon = Daemon {
        cli,
        config: Arc::new(config),
        netlink,
        shared: Arc::clone(&shared),
        xdp: datapath,
        address_workers,
        tracking_tx,
        notices: start_notifier(),
        fifos,
        background: Vec::new(),
        tracked_sources: Vec::new(),
        tracking_plan: None,
        plans,
        waiting,
        announced: notices::Announced::resumed(&carried),
        binary: own_binary(),
        snmp: None,
    };
    daemon.publish_configured();
    daemon.apply_snmp_settings();
    // The configuration's text and the resolving of the plans are done with.
    crate::host::return_freed_memory();
    daemon.start_tracking(tracking_rx, upgraded);
    let (recreated_tx, recreated) = mpsc::unbounded_channel();
    daemon.start_link_watch(recreated_tx);
    let removed = match crate::net::netlink::watch_removals() {
        Ok(removed) => removed,
        Err(error) => {
            warn!("address watch: {error}; a removed virtual address goes unnoticed");
            mpsc::unbounded_channel().1
        }
    };
    daemon
        .background
        .push(tokio::spawn(crate::control::server::serve(
            daemon.cli.control.clone(),
            Arc::clone(&shared) as Arc<dyn Reporter>,
        )));
    if let Some(address) = daemon.cli.metrics {
        daemon
            .background
            .push(tokio::spawn(crate::control::metrics::serve(
                address,
                Arc::clone(&shared) as Arc<dyn Reporter>,
            )));
    }
    let mode = shared.datapath_name();
    systemd::notify(&format!(
        "READY=1\nSTATUS=running {} instances, {mode} datapath",
        daemon.plans.len()
    ));
    let mut events = Events {
        recreated,
        upgrades,
        removed,
        xdp_loaded,
    };
    daemon.main_loop(&mut outcomes, &mut events).await
}

/// What the main loop hears besides the protocol thread's outcomes and the signals.
struct Events {
    /// An interface we use was deleted and created again (its name).
    recreated: UnboundedReceiver<String>,
    /// `vrrpd upgrade` requests (the new binary, or this image's own).
    upgrades: UnboundedReceiver<Option<std::path::PathBuf>>,
    /// Addresses removed from interfaces (a master's tracked VIP among them steps it down).
    removed: UnboundedReceiver<crate::net::netlink::Removed>,
    /// The XDP program, loaded in the background after a start.
    xdp_loaded: UnboundedReceiver<XdpDatapath>,
}

/// The path this image was started from: `vrrpd upgrade` runs the binary now at that path.
fn own_binary() -> std::path::PathBuf {
    let path = std::env::current_exe().unwrap_or_else(|_| "/usr/sbin/vrrpd".into());
    // Replaced on disk since this image started (a package upgrade): the path still names it.
    match path.to_str().and_then(|p| p.strip_suffix(" (deleted)")) {
        Some(original) => original.into(),
        None => path,
    }
}

struct Daemon {
    cli: Cli,
    /// Shared with the status readers (`Shared::configured`), not copied.
    config: Arc<Config>,
    netlink: Netlink,
    shared: Arc<Shared>,
    /// The XDP datapath, shared with the protocol thread (attaching on reload).
    xdp: Option<Arc<Mutex<XdpDatapath>>>,
    /// The address workers (the protocol thread queues their work).
    address_workers: Arc<addresses::Workers>,
    tracking_tx: UnboundedSender<(Source, Observation)>,
    notices: UnboundedSender<(Notifier, Notice)>,
    fifos: Arc<Fifos>,
    background: Vec<tokio::task::JoinHandle<()>>,
    /// The tracked scripts and files running now (restarted by a reload).
    tracked_sources: Vec<tokio::task::JoinHandle<()>>,
    /// The tracker's plan: which sources each instance's health is made of.
    tracking_plan: Option<tokio::sync::watch::Sender<Vec<InstanceTracking>>>,
    /// The plans running now (for what exit must undo, such as macvlans), shared with the
    /// protocol thread and the status readers.
    plans: Vec<Arc<InstancePlan>>,
    /// Instances waiting for their interface or its address (see `plan::Resolved`).
    waiting: Vec<String>,
    /// Each instance's and each sync group's state as last announced (a group is announced
    /// once all its members are in its new state, as keepalived does).
    announced: notices::Announced,
    /// The path this image was started from (what `vrrpd upgrade` runs by default).
    binary: std::path::PathBuf,
    /// The AgentX subagent, when the configuration enables SNMP.
    snmp: Option<crate::snmp::subagent::Subagent>,
}

/// The requests that come as signals: reload (SIGHUP), dumps (SIGUSR1, SIGUSR2) and keepalived's
/// real-time JSON and STATS_CLEAR. SIGTERM and SIGINT are not among them: their default action,
/// to stop, is right at any time.
fn request_signals() -> impl Iterator<Item = i32> {
    [libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2]
        .into_iter()
        .chain(unanswered_signals())
}

pub(crate) enum Hold {
    Block,
    Release,
}

/// Blocks or releases the request signals on the calling thread. From the start until the main
/// loop's handlers are installed (after the configuration loads and the sockets open), they are
/// blocked: the default action of all of them is to terminate, and monitoring sends them at any
/// time (keepalived-exporter sends SIGJSON), so they must not stop the daemon; blocked rather than
/// ignored, a reload asked for meanwhile is kept pending and done once the main loop runs, not
/// lost. keepalived 2.2.7 deviates here, and by timing: a SIGHUP sent 2 or 20 ms after its start
/// killed it (status 129), a later one was ignored or done late (tried side by side on this
/// machine kind); vrrpd neither stops nor loses the reload, whenever it comes.
pub(crate) fn hold_requests(hold: Hold) {
    let how = match hold {
        Hold::Block => libc::SIG_BLOCK,
        Hold::Release => libc::SIG_UNBLOCK,
    };
    // SAFETY: a zeroed sigset_t is initialised by sigemptyset before use; sigemptyset,
    // sigaddset and pthread_sigmask are async-signal-safe (the stand-in calls this after fork).
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in request_signals() {
            libc::sigaddset(&mut set, signal);
        }
        libc::pthread_sigmask(how, &set, std::ptr::null_mut());
    }
}

/// keepalived's SIGJSON (the JSON dump) and SIGSTATS_CLEAR (the statistics from zero), which
/// have no name of their own.
fn unanswered_signals() -> [i32; 2] {
    [
        crate::host::SignalFunction::Json.number(),
        crate::host::SignalFunction::StatsClear.number(),
    ]
}

/// Who scripts run as (`script_user`; root when unset or unknown).
fn script_identity(config: &Config) -> crate::script::Identity {
    crate::script::identity(config.global.script_user.as_ref()).unwrap_or_default()
}

/// The notify FIFOs the configuration names, opened (and their scripts started).
fn open_fifos(config: &Config) -> Arc<Fifos> {
    let global = &config.global;
    let configured: Vec<_> = global
        .notify_fifo
        .iter()
        .chain(&global.vrrp_notify_fifo)
        .collect();
    Arc::new(Fifos::open(
        &configured,
        script_identity(config),
        global.enable_script_security,
    ))
}

/// Notifications run from one task, in transition order.
fn start_notifier() -> UnboundedSender<(Notifier, Notice)> {
    let (sender, mut receiver) = mpsc::unbounded_channel::<(Notifier, Notice)>();
    tokio::spawn(async move {
        while let Some((notifier, notice)) = receiver.recv().await {
            notifier.announce(&notice).await;
        }
    });
    sender
}

impl Daemon {
    async fn main_loop(
        &mut self,
        outcomes: &mut UnboundedReceiver<Outcome>,
        events: &mut Events,
    ) -> ExitCode {
        let signals = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
            signal(SignalKind::user_defined1()),
            signal(SignalKind::user_defined2()),
        );
        let [json, stats_clear] = unanswered_signals().map(|n| signal(SignalKind::from_raw(n)));
        let (Ok(mut term), Ok(mut int), Ok(mut hup), Ok(mut usr1), Ok(mut usr2)) = signals else {
            error!("cannot install signal handlers");
            return ExitCode::FAILURE;
        };
        let (Ok(mut json), Ok(mut stats_clear)) = (json, stats_clear) else {
            error!("cannot install signal handlers");
            return ExitCode::FAILURE;
        };
        // The handlers are in place: a request held since the start is delivered now (to
        // this thread; the others keep them blocked, which is all one thread needs).
        hold_requests(Hold::Release);
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = hup.recv() => self.reload().await,
                _ = usr1.recv() => self.write_dump(false),
                _ = usr2.recv() => self.write_dump(true),
                _ = json.recv() => self.write_json_dump(),
                _ = stats_clear.recv() => {
                    self.shared.clear_statistics();
                    info!("statistics cleared (SIGSTATS_CLEAR)");
                }
                Some(interface) = events.recreated.recv() => self.replan(&interface).await,
                Some(removed) = events.removed.recv() => self.entry_removed(&removed),
                Some(datapath) = events.xdp_loaded.recv() => self.bring_up_xdp(datapath).await,
                Some(binary) = events.upgrades.recv() => {
                    if let Some(exit) = self.upgrade(binary, outcomes).await {
                        return exit;
                    }
                }
                _ = tokio::time::sleep(reload::RETRY_WAITING), if !self.waiting.is_empty() => {
                    self.retry_waiting().await
                }
                outcome = outcomes.recv() => match outcome {
                    Some(Outcome::Stopped) | None => break,
                    Some(outcome) => self.dispatch(outcome),
                },
            }
        }
        self.shutdown(outcomes).await
    }

    /// Priority 0 from every master, addresses removed, XDP detached; within a second.
    async fn shutdown(&mut self, outcomes: &mut UnboundedReceiver<Outcome>) -> ExitCode {
        info!("Stopping");
        systemd::notify("STOPPING=1");
        self.release(outcomes).await;
        info!("Stopped vrrpd");
        ExitCode::SUCCESS
    }

    /// What a stop does on the wire and on the host: priority 0 from every master, the
    /// addresses, static and virtual routes released, macvlans removed, sysctls restored.
    async fn release(&mut self, outcomes: &mut UnboundedReceiver<Outcome>) {
        // keepalived's -V: the VIPs and virtual routes stay where they are.
        if self.cli.dont_release_vrrp {
            self.address_workers.keep_installed();
        }
        self.shared.protocol.send(Command::Shutdown);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(600);
        while let Ok(Some(outcome)) = tokio::time::timeout_at(deadline, outcomes.recv()).await {
            if matches!(outcome, Outcome::Stopped) {
                break;
            }
            self.dispatch(outcome);
        }
        self.address_workers
            .finish(deadline + Duration::from_millis(300))
            .await;
        // Give the notifier a moment to start notify_stop scripts and write the FIFO lines.
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.fifos.close();
        for task in self.background.iter().chain(&self.tracked_sources) {
            task.abort();
        }
        let _ = std::fs::remove_file(&self.cli.control);
        crate::net::accept::remove();
        if !self.cli.dont_release_vrrp {
            statics::remove(&self.netlink, &self.config.statics);
        }
        for vmac in self.plans.iter().filter_map(|p| p.vmac.as_ref()) {
            match self.netlink.delete_link(vmac.ifindex).await {
                Ok(()) => info!("{}: macvlan removed", vmac.name),
                Err(error) => warn!("{}: {error}", vmac.name),
            }
        }
        crate::net::sysctl::restore_all();
    }

    /// keepalived tracks a master's virtual addresses: one removed from its interface by
    /// someone else (not marked `no_track`) makes the instance step down, and the election that
    /// follows reinstalls it (keepalived 2.2.7's behaviour, checked side by side). The protocol
    /// thread acts only on a master, so vrrpd's own removals (a step down, a reload) pass.
    /// A master's tracked virtual address, route or rule removed by someone else: keepalived
    /// steps the master down so that the election reinstalls it (`no_track` entries excepted;
    /// keepalived 2.2.7 does not track routes that name no interface, see config).
    fn entry_removed(&mut self, removed: &crate::net::netlink::Removed) {
        use crate::net::netlink::Removed;
        for plan in &self.plans {
            let config = &plan.config;
            let what = match removed {
                Removed::Address { ifindex, address } => config
                    .addresses
                    .iter()
                    .chain(&config.excluded_addresses)
                    .any(|vip| {
                        vip.address == *address
                            && !vip.no_track
                            && plan.vip_ifindex(vip) == *ifindex
                    })
                    // An interface being deleted takes its addresses with it: that is the link
                    // watch's business (FAULT), not a removed VIP.
                    .then(|| crate::net::sys::interface_name(*ifindex))
                    .flatten()
                    .map(|interface| format!("IP {address} removed from {interface}")),
                Removed::Route {
                    destination,
                    prefix,
                    table,
                    oif,
                } => config
                    .routes
                    .iter()
                    .any(|route| !route.no_track && removed.is_route(route))
                    // Routes go with their interface too.
                    .then_some(())
                    .filter(|()| {
                        oif.is_none_or(|index| crate::net::sys::interface_name(index).is_some())
                    })
                    .map(|()| format!("route {destination}/{prefix} (table {table}) removed")),
                Removed::Rule { .. } => config
                    .rules
                    .iter()
                    .any(|rule| !rule.no_track && removed.is_rule(rule))
                    .then(|| "a virtual rule removed".to_string()),
            };
            let Some(what) = what else {
                continue;
            };
            let is_master = self
                .shared
                .published
                .snapshots()
                .iter()
                .any(|s| s.name == plan.name() && s.state == vrrp_common::maps::State::Master);
            if is_master {
                info!("Netlink reflector reports {what}");
                self.shared.protocol.send(Command::AddressRemoved {
                    instance: plan.name().to_string(),
                });
            }
        }
    }
}
