//! How the XDP datapath comes to run in the daemon.
//!
//! After a start the protocol does not wait for it: the verifier takes 150-200 ms over the
//! program, against the 5 ms the socket path needs to send a master's first advert (keepalived
//! takes about 24 ms here). So the instances start on the sockets, the program loads on a
//! blocking thread ([`load_in_background`]), and [`Daemon::bring_up_xdp`] moves them over
//! without a gap: the protocol thread first writes every instance into the maps and reads the
//! ring buffer as well as the sockets, then the program is attached, and only then do the
//! sockets stop receiving. No advert goes unvalidated once the program is attached; until
//! then the sockets judge them by the same rules.
//!
//! After `vrrpd upgrade` the previous image's program and maps are adopted at once instead
//! ([`adopt`]), and this image's program replaces it on them in the background, unless it is
//! the same object (the same build upgraded, or restarted): then it stays as it runs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tracing::{error, info, warn};

use super::Daemon;
use super::plan::InstancePlan;
use super::protocol::Command;
use crate::cli::{Cli, DatapathChoice, XdpModeChoice};
use crate::datapath::attach::AttachPolicy;
use crate::datapath::xdp::{DatapathReader, HandedOver, VipTable, XdpDatapath};

/// How long the protocol thread may take to write the instances into the maps.
const REGISTER_WAIT: Duration = Duration::from_secs(2);

/// Loads the XDP program on a blocking thread and sends it to the main loop; nothing when
/// socket mode is configured, a warning (and socket mode) when it cannot load here.
pub fn load_in_background(cli: &Cli, loaded: UnboundedSender<XdpDatapath>) {
    if cli.datapath == DatapathChoice::Socket {
        info!("datapath: socket mode (as configured)");
        return;
    }
    info!("datapath: starting on the sockets; the XDP program loads in the background");
    tokio::task::spawn_blocking(move || match XdpDatapath::load() {
        Ok(datapath) => {
            let _ = loaded.send(datapath);
        }
        Err(error) => warn!("XDP unavailable ({error}); staying in socket mode"),
    });
}

/// Map handles of their own for status, stats and metrics, and for the address workers, so
/// that none of them takes the lock the protocol thread takes on the datapath.
pub fn map_handles(datapath: &Arc<Mutex<XdpDatapath>>) -> Option<(DatapathReader, VipTable)> {
    let datapath = datapath.lock().ok()?;
    match (datapath.reader(), datapath.vip_table()) {
        (Ok(reader), Ok(vips)) => Some((reader, vips)),
        (Err(error), _) | (_, Err(error)) => {
            error!("XDP map handles: {error}");
            None
        }
    }
}

fn attach_policy(cli: &Cli) -> AttachPolicy {
    match cli.xdp_mode {
        XdpModeChoice::Auto => AttachPolicy::Auto,
        XdpModeChoice::Driver => AttachPolicy::PreferDriver,
        XdpModeChoice::Skb => AttachPolicy::Skb,
    }
}

/// Attaches the program wherever `plans` need it, as `--xdp-mode` says, without holding the
/// datapath's lock during the kernel's attach (see [`XdpDatapath::attach_all`]). Returns a
/// line for each interface it could not attach to.
pub(super) fn attach_for(
    datapath: &Mutex<XdpDatapath>,
    plans: &[Arc<InstancePlan>],
    cli: &Cli,
) -> Vec<String> {
    let interfaces: Vec<(&str, u32)> = plans
        .iter()
        .map(|plan| (plan.config.interface.as_str(), plan.ifindex))
        .collect();
    XdpDatapath::attach_all(datapath, &interfaces, attach_policy(cli))
        .into_iter()
        .map(|(interface, error)| format!("{interface}: {error}"))
        .collect()
}

impl Daemon {
    /// The program has loaded: the instances move from the sockets to it (see the module's
    /// documentation). If it cannot be attached everywhere, they stay on the sockets.
    pub(super) async fn bring_up_xdp(&mut self, datapath: XdpDatapath) {
        let datapath = Arc::new(Mutex::new(datapath));
        let (reply, registered) = tokio::sync::oneshot::channel();
        self.shared
            .protocol
            .send(Command::UseXdp(Arc::clone(&datapath), reply));
        if !matches!(
            tokio::time::timeout(REGISTER_WAIT, registered).await,
            Ok(Ok(()))
        ) {
            warn!("XDP: the protocol thread did not take the maps; staying in socket mode");
            self.shared.protocol.send(Command::UseSockets);
            return;
        }
        let failed = attach_for(&datapath, &self.plans, &self.cli);
        if !failed.is_empty() {
            // Dropping the last handle detaches it wherever it was attached.
            warn!(
                "XDP cannot attach ({}); falling back to socket mode",
                failed.join("; ")
            );
            self.shared.protocol.send(Command::UseSockets);
            return;
        }
        self.shared.protocol.send(Command::XdpAttached);
        if let Some((reader, vips)) = map_handles(&datapath) {
            self.shared.datapath.store(Some(Arc::new(reader)));
            if let Ok(mut slot) = self.address_workers.context().vips.lock() {
                *slot = Some(vips);
            }
            self.address_workers.mark_vips();
        }
        if self.cli.pin_maps
            && let Ok(mut datapath) = datapath.lock()
            && let Err(error) = datapath.pin_maps(std::path::Path::new("/sys/fs/bpf/vrrpd"))
        {
            warn!("{error}");
        }
        let interfaces: std::collections::BTreeSet<u32> =
            self.plans.iter().map(|plan| plan.ifindex).collect();
        info!(
            "datapath: the instances moved to the XDP program on {} interfaces",
            interfaces.len()
        );
        self.xdp = Some(datapath);
        crate::host::return_freed_memory();
    }
}

/// Loads this image's copy of a kept program (see [`adopt`]) if `plans` need an interface it
/// is not attached to: the verifier runs here, without the datapath's lock, so that the
/// protocol thread never waits for it; then the copy replaces the kept program atomically.
pub fn load_kept_program_for(datapath: &Mutex<XdpDatapath>, plans: &[Arc<InstancePlan>]) {
    let directory = match datapath.lock() {
        Ok(datapath) => {
            let new_interface = plans
                .iter()
                .any(|plan| datapath.attached_mode(plan.ifindex).is_none());
            match datapath.kept_program_directory() {
                Some(directory) if new_interface => directory.to_path_buf(),
                _ => return,
            }
        }
        Err(_) => return,
    };
    let loaded =
        crate::datapath::program::load_on_pinned_maps(&directory, &crate::datapath::xdp::MAP_NAMES);
    let replaced = match (loaded, datapath.lock()) {
        (Ok(ebpf), Ok(mut datapath)) => datapath
            .take_over(ebpf, &directory)
            .map_err(|error| error.to_string()),
        (Err(error), _) => Err(error.to_string()),
        (_, Err(_)) => Err("the datapath lock is poisoned".into()),
    };
    match replaced {
        Ok(()) => {
            info!("XDP: this image's program loaded on the adopted maps, in place of the kept one")
        }
        Err(error) => error!("XDP: this image's program cannot replace the kept one: {error}"),
    }
}

/// The datapath of an image that came by `vrrpd upgrade`: the previous image's maps and
/// attachments, adopted at once; this image's program replaces it on them in the background.
/// If the adoption fails the instances still resume, in socket mode, so that nothing moves.
pub fn adopt(handed: &HandedOver) -> Option<Arc<Mutex<XdpDatapath>>> {
    let datapath = match XdpDatapath::adopt(handed) {
        Ok(mut datapath) if datapath.runs_own_program() => {
            // The same object: verifying it again would only cost the machine 150-200 ms of
            // kernel time, during which other threads (a master's adverts among them) wait.
            datapath.keep_adopted(&handed.directory);
            info!(
                "upgrade: the previous image's XDP program and maps adopted on {} interfaces; the program is this image's own, kept as it runs",
                handed.interfaces.len()
            );
            return Some(Arc::new(Mutex::new(datapath)));
        }
        Ok(datapath) => Arc::new(Mutex::new(datapath)),
        Err(error) => {
            error!(
                "upgrade: the XDP datapath cannot be adopted ({error}); running in socket mode until the next restart"
            );
            crate::datapath::xdp::remove_hand_over(&handed.directory);
            return None;
        }
    };
    info!(
        "upgrade: the previous image's XDP program and maps adopted on {} interfaces; loading this image's program",
        handed.interfaces.len()
    );
    let shared = Arc::clone(&datapath);
    let directory = handed.directory.clone();
    tokio::task::spawn_blocking(move || {
        let names = crate::datapath::xdp::MAP_NAMES;
        match crate::datapath::program::load_on_pinned_maps(&directory, &names) {
            Ok(ebpf) => match shared.lock() {
                Ok(mut datapath) => match datapath.take_over(ebpf, &directory) {
                    Ok(()) => info!(
                        "upgrade: this image's XDP program replaced the previous one atomically"
                    ),
                    Err(error) => error!("upgrade: {error}"),
                },
                Err(_) => error!("upgrade: the datapath lock is poisoned"),
            },
            Err(error) => {
                warn!(
                    "upgrade: this image's XDP program cannot be loaded on the adopted maps ({error}); the previous image's program stays attached"
                );
                crate::datapath::xdp::remove_hand_over(&directory);
            }
        }
    });
    Some(datapath)
}
