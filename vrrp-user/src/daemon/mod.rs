//! The running daemon: loads the configuration, resolves it against the interfaces, starts the
//! datapath and the protocol thread, and runs everything asynchronous (address work,
//! notification, tracking, link events, signals, control socket) on tokio.

pub mod addresses;
pub mod logging;
mod notices;
pub mod pidfile;
pub mod plan;
pub mod protocol;
mod reload;
pub mod scheduling;
pub mod shared;
mod statics;
pub mod systemd;
mod watch;

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tracing::{error, info, warn};

use crate::cli::{Cli, DatapathChoice, Exit, XdpModeChoice};
use crate::config::{self, Config, LexOptions};
use crate::control::Reporter;
use crate::datapath::attach::AttachPolicy;
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

pub fn run(cli: Cli) -> ExitCode {
    // Until the handlers are installed (after the XDP program loads), a reload or dump request
    // must not kill the daemon with the signals' default action.
    // The same for keepalived's real-time signals (JSON, STATS_CLEAR), whose default action
    // is to terminate: monitoring that sends them (keepalived-exporter sends SIGJSON) must
    // never stop the daemon.
    for signal in [libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2]
        .into_iter()
        .chain(unanswered_signals())
    {
        // SAFETY: setting a signal's disposition to "ignore".
        unsafe { libc::signal(signal, libc::SIG_IGN) };
    }
    logging::init(&cli);
    info!(
        "Starting vrrpd {} (keepalived-compatible VRRP)",
        env!("CARGO_PKG_VERSION")
    );
    let Some(config) = load_config(&cli) else {
        return Exit::Config.into();
    };
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
    if cli.snmp {
        warn!("-x/--snmp: vrrpd has no SNMP agent yet; ignored");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("vrrpd-async")
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            error!("tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(cli, config))
}

/// Loads and attaches the XDP program on every interface the plans use; `None` (with the
/// reason logged) when that is impossible here, and socket mode takes over.
fn start_xdp(cli: &Cli, plans: &[InstancePlan]) -> Option<Arc<Mutex<XdpDatapath>>> {
    if cli.datapath == DatapathChoice::Socket {
        info!("datapath: socket mode (as configured)");
        return None;
    }
    let policy = match cli.xdp_mode {
        XdpModeChoice::Auto => AttachPolicy::Auto,
        XdpModeChoice::Driver => AttachPolicy::PreferDriver,
        XdpModeChoice::Skb => AttachPolicy::Skb,
    };
    let mut datapath = match XdpDatapath::load() {
        Ok(datapath) => datapath,
        Err(error) => {
            warn!("XDP unavailable ({error}); falling back to socket mode");
            return None;
        }
    };
    for plan in plans {
        if let Err(error) = datapath.attach(&plan.config.interface, plan.ifindex, policy) {
            warn!(
                "XDP cannot attach to {} ({error}); falling back to socket mode",
                plan.config.interface
            );
            return None;
        }
    }
    if cli.pin_maps
        && let Err(error) = datapath.pin_maps(std::path::Path::new("/sys/fs/bpf/vrrpd"))
    {
        warn!("{error}");
    }
    Some(Arc::new(Mutex::new(datapath)))
}

async fn serve(cli: Cli, config: Config) -> ExitCode {
    let netlink = match Netlink::connect() {
        Ok(netlink) => netlink,
        Err(error) => {
            error!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let resolved = match plan::resolve(&config, &netlink).await {
        Ok(resolved) => resolved,
        Err(error) => {
            error!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let waiting = reload::log_waiting(&[], &resolved.waiting);
    let plans = resolved.plans;
    addresses::remove_stale(&netlink, &plans).await;
    statics::apply(&netlink, &Default::default(), &config.statics).await;
    let no_accept = plans.iter().any(|p| !p.accept);
    if no_accept && let Err(error) = crate::net::accept::reset() {
        warn!("no_accept needs nftables: {error}");
    }
    let datapath = start_xdp(&cli, &plans);
    let published = Arc::new(protocol::Published::default());
    // Status, stats, metrics and the address workers get map handles of their own, so that
    // none of them takes the lock the protocol thread takes on the datapath.
    let handles = datapath.as_ref().and_then(|datapath| {
        let datapath = datapath.lock().ok()?;
        match (datapath.reader(), datapath.vip_table()) {
            (Ok(reader), Ok(vips)) => Some((reader, Arc::new(Mutex::new(vips)))),
            (Err(error), _) | (_, Err(error)) => {
                error!("XDP map handles: {error}");
                None
            }
        }
    });
    let (reader, vip_table) = handles.unzip();
    let (outcomes_tx, mut outcomes) = mpsc::unbounded_channel();
    let receive = match &datapath {
        Some(datapath) => Receive::Xdp(Arc::clone(datapath)),
        None => Receive::Sockets,
    };
    let protocol = match protocol::spawn(
        plans.clone(),
        receive,
        Arc::clone(&published),
        outcomes_tx,
        config.global.scheduling.clone(),
    ) {
        Ok(protocol) => protocol,
        Err(error) => {
            error!("starting the protocol thread: {error}");
            return ExitCode::FAILURE;
        }
    };
    let (tracking_tx, tracking_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        protocol,
        datapath: reader,
        published,
        announced: Arc::new(Mutex::new(HashMap::new())),
        total_announced: Arc::new(AtomicU64::new(0)),
        observations: Mutex::new(HashMap::new()),
        started: std::time::Instant::now(),
    });
    let address_context = addresses::Context {
        netlink: netlink.clone(),
        vips: vip_table,
        tracking: tracking_tx.clone(),
        announced: Arc::clone(&shared.announced),
        total_announced: Arc::clone(&shared.total_announced),
    };
    let fifos = open_fifos(&config);
    let mut daemon = Daemon {
        cli,
        config,
        netlink,
        shared: Arc::clone(&shared),
        xdp: datapath,
        address_context,
        address_queues: HashMap::new(),
        address_workers: Vec::new(),
        tracking_tx,
        notices: start_notifier(),
        fifos,
        background: Vec::new(),
        tracked_sources: Vec::new(),
        tracking_plan: None,
        plans: plans.clone(),
        waiting,
        announced: notices::Announced::default(),
    };
    daemon.start_tracking(tracking_rx);
    let (recreated_tx, mut recreated) = mpsc::unbounded_channel();
    daemon.start_link_watch(recreated_tx);
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
        plans.len()
    ));
    daemon.main_loop(&mut outcomes, &mut recreated).await
}

struct Daemon {
    cli: Cli,
    config: Config,
    netlink: Netlink,
    shared: Arc<Shared>,
    /// The XDP datapath, shared with the protocol thread (attaching on reload).
    xdp: Option<Arc<Mutex<XdpDatapath>>>,
    address_context: addresses::Context,
    address_queues: HashMap<String, UnboundedSender<addresses::Work>>,
    address_workers: Vec<tokio::task::JoinHandle<()>>,
    tracking_tx: UnboundedSender<(Source, Observation)>,
    notices: UnboundedSender<(Notifier, Notice)>,
    fifos: Arc<Fifos>,
    background: Vec<tokio::task::JoinHandle<()>>,
    /// The tracked scripts and files running now (restarted by a reload).
    tracked_sources: Vec<tokio::task::JoinHandle<()>>,
    /// The tracker's plan: which sources each instance's health is made of.
    tracking_plan: Option<tokio::sync::watch::Sender<Vec<InstanceTracking>>>,
    /// The plans running now (for what exit must undo, such as macvlans).
    plans: Vec<InstancePlan>,
    /// Instances waiting for their interface or its address (see `plan::Resolved`).
    waiting: Vec<String>,
    /// Each instance's and each sync group's state as last announced (a group is announced
    /// once all its members are in its new state, as keepalived does).
    announced: notices::Announced,
}

/// keepalived's signals that vrrpd does not act on yet (SIGJSON, SIGSTATS_CLEAR): received,
/// logged and otherwise ignored.
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
        recreated: &mut UnboundedReceiver<String>,
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
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = hup.recv() => self.reload().await,
                _ = usr1.recv() => self.write_dump(false),
                _ = usr2.recv() => self.write_dump(true),
                _ = json.recv() => warn!("SIGJSON (keepalived's JSON dump) is not implemented by vrrpd yet; ignored"),
                _ = stats_clear.recv() => warn!("SIGSTATS_CLEAR is not implemented by vrrpd yet; ignored"),
                Some(interface) = recreated.recv() => self.replan(&interface).await,
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
        self.shared.protocol.send(Command::Shutdown);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(600);
        while let Ok(Some(outcome)) = tokio::time::timeout_at(deadline, outcomes.recv()).await {
            if matches!(outcome, Outcome::Stopped) {
                break;
            }
            // keepalived's -V: the VIPs and virtual routes stay where they are.
            if self.cli.dont_release_vrrp
                && matches!(outcome, Outcome::Addresses { install: false, .. })
            {
                continue;
            }
            self.dispatch(outcome);
        }
        self.address_queues.clear();
        for worker in self.address_workers.drain(..) {
            let _ = tokio::time::timeout_at(deadline + Duration::from_millis(300), worker).await;
        }
        // Give the notifier a moment to start notify_stop scripts and write the FIFO lines.
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.fifos.close();
        for task in self.background.iter().chain(&self.tracked_sources) {
            task.abort();
        }
        let _ = std::fs::remove_file(&self.cli.control);
        crate::net::accept::remove();
        if !self.cli.dont_release_vrrp {
            statics::remove(&self.netlink, &self.config.statics).await;
        }
        for vmac in self.plans.iter().filter_map(|p| p.vmac.as_ref()) {
            match self.netlink.delete_link(vmac.ifindex).await {
                Ok(()) => info!("{}: macvlan removed", vmac.name),
                Err(error) => warn!("{}: {error}", vmac.name),
            }
        }
        crate::net::sysctl::restore_all();
        info!("Stopped vrrpd");
        ExitCode::SUCCESS
    }
}
