//! `vrrpd upgrade`: the daemon replaces its own image without moving a VIP.
//!
//! The image that goes checks the new binary first (`--upgrade-preflight`: does it run, and
//! does it read this image's hand-over format?), then lets the protocol thread stop right after
//! a master's advert, leaving a stand-in (`stand_in.rs`) to send the masters' adverts until the
//! next image's protocol thread runs; it pins the XDP maps and links (the program stays
//! attached and validating), writes the hand-over (every instance's state and timers,
//! [`HandOver`]) into a memfd and execs the new binary with the same arguments: same PID, so
//! systemd and the pid files see nothing. The image that comes ([`arrival`]) adopts the maps
//! and links, resumes every instance in its state with its next advert when it was due (after
//! the stand-in's last), and swaps its own XDP program in atomically in the background.
//!
//! What cannot be handed over falls back to keepalived's restart, never to a lost state: a
//! binary that does not run is refused (the daemon runs on); one that cannot read the format,
//! or an XDP hand-over that fails, gets a safe restart: priority 0 from every master, the
//! addresses released, then the new binary starts normally.

use std::io::{Read, Seek, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

use tokio::sync::mpsc::UnboundedReceiver;
use tracing::{error, info, warn};

use super::Daemon;
use super::protocol::{CarriedInstance, Command, Handed, Outcome};
use super::stand_in::{self, StandIn};
use crate::control::model::DaemonStatus;
use crate::datapath::xdp::{HandedOver, remove_hand_over};
use crate::track::{Observation, Source};

/// The hand-over's format. Bump it with any change an older or newer image could misread:
/// the preflight then sees the mismatch and the upgrade becomes a safe restart.
/// 2: the XDP maps include INSTANCE_ERRORS.
/// 3: a stand-in sends the masters' adverts across the exec (`CarriedInstance::stand_in_slot`);
/// an image that did not know it would advertise beside it.
pub const FORMAT: u32 = 3;

/// What `--upgrade-preflight` prints, followed by the format number.
pub const PREFLIGHT_ANSWER: &str = "vrrpd hand-over format";

/// The descriptor of the memfd holding the hand-over, in the new image's environment.
const STATE_VARIABLE: &str = "VRRPD_HANDOVER_FD";
/// A safe restart's generation and reason, in the new image's environment (plain text, so
/// that any image can read it whatever its format).
const SAFE_RESTART_VARIABLE: &str = "VRRPD_SAFE_RESTART";

/// How long the new binary's preflight may take.
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything the next image needs to go on from here.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct HandOver {
    pub format: u32,
    /// The generation of the image that comes.
    pub generation: u64,
    pub from_version: String,
    pub instances: Vec<CarriedInstance>,
    /// The XDP maps and attachments, pinned (none in socket mode).
    pub xdp: Option<HandedOver>,
    /// The interface sysctls the first image replaced and the values it found (put back at
    /// exit by whichever image stops).
    #[serde(default)]
    pub sysctls: Vec<(String, String)>,
    /// The latest observation of every tracked script, file and interface: the resumed
    /// instances' health is made of them until the sources report again.
    #[serde(default)]
    pub observations: Vec<(Source, Observation)>,
    /// The masters' adverts meanwhile (handed over in the environment, [`stand_in::VARIABLE`]).
    #[serde(skip)]
    pub stand_in: Option<StandIn>,
}

/// What an image takes over from how it came.
pub struct TakenOver {
    pub instances: Vec<CarriedInstance>,
    pub xdp: Option<HandedOver>,
    pub observations: Vec<(Source, Observation)>,
    pub status: DaemonStatus,
    /// The previous image's stand-in, for the protocol thread to relieve as it starts.
    pub stand_in: Option<StandIn>,
}

/// How this image came to run.
#[derive(Debug)]
pub enum Arrival {
    /// A normal start.
    Fresh,
    /// From a previous image, with its state.
    Upgrade(HandOver),
    /// From a previous image that released its instances first (generation, why).
    SafeRestart(u64, String),
    /// From a previous image whose hand-over cannot be read (generation unknown, why): started
    /// as after a crash.
    Unreadable(String),
}

#[derive(Debug, Error)]
pub enum UpgradeError {
    #[error("the new binary {binary} does not run: {reason}")]
    DoesNotRun { binary: PathBuf, reason: String },
    #[error("the new binary {binary} reads hand-over format {found:?}, this one writes {FORMAT}")]
    Incompatible { binary: PathBuf, found: String },
    #[error("the hand-over cannot be written: {0}")]
    Write(std::io::Error),
    #[error("executing {binary}: {error}")]
    Exec {
        binary: PathBuf,
        error: std::io::Error,
    },
}

/// Where the XDP maps and links are pinned across the exec (bpffs; one directory per daemon,
/// by PID, which the exec keeps).
pub fn pin_directory() -> PathBuf {
    PathBuf::from(format!("/sys/fs/bpf/vrrpd-upgrade-{}", std::process::id()))
}

/// The answer of `vrrpd --upgrade-preflight`.
pub fn preflight_answer() -> String {
    format!("{PREFLIGHT_ANSWER} {FORMAT}")
}

/// Runs the new binary's preflight: `Ok` if it runs and reads this image's format.
pub async fn preflight(binary: &Path) -> Result<(), UpgradeError> {
    let does_not_run = |reason: String| UpgradeError::DoesNotRun {
        binary: binary.to_path_buf(),
        reason,
    };
    let run = tokio::process::Command::new(binary)
        .arg("--upgrade-preflight")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(PREFLIGHT_TIMEOUT, run)
        .await
        .map_err(|_| does_not_run("its preflight did not answer within 5 s".into()))?
        .map_err(|error| does_not_run(error.to_string()))?;
    if !output.status.success() {
        return Err(does_not_run(format!(
            "its preflight exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let answer = String::from_utf8_lossy(&output.stdout).trim().to_string();
    match answer.strip_prefix(PREFLIGHT_ANSWER).map(str::trim) {
        Some(format) if format == FORMAT.to_string() => Ok(()),
        Some(format) => Err(UpgradeError::Incompatible {
            binary: binary.to_path_buf(),
            found: format.to_string(),
        }),
        None => Err(does_not_run(format!(
            "an unexpected preflight answer {answer:?}"
        ))),
    }
}

/// Replaces this image with `binary`, handing `state` over; returns only on failure.
pub fn exec_with_state(binary: &Path, state: &HandOver) -> UpgradeError {
    let memfd = match write_memfd(state) {
        Ok(memfd) => memfd,
        Err(error) => return UpgradeError::Write(error),
    };
    tracing::debug!("upgrade: exec {}", binary.display());
    let mut command = command(binary);
    command.env(STATE_VARIABLE, memfd.as_raw_fd().to_string());
    if let Some(stand_in) = &state.stand_in {
        match stand_in.keep_across_exec() {
            Ok(()) => {
                command.env(stand_in::VARIABLE, stand_in.environment());
            }
            Err(error) => return UpgradeError::Write(error),
        }
    }
    let error = command.exec();
    UpgradeError::Exec {
        binary: binary.to_path_buf(),
        error,
    }
}

/// Replaces this image with `binary` after a safe restart's release; returns only on failure.
pub fn exec_after_release(binary: &Path, generation: u64, reason: &str) -> UpgradeError {
    let error = command(binary)
        .env(SAFE_RESTART_VARIABLE, format!("{generation} {reason}"))
        .exec();
    UpgradeError::Exec {
        binary: binary.to_path_buf(),
        error,
    }
}

/// The new image's command: the same arguments as this one's.
fn command(binary: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(binary);
    command
        .args(std::env::args_os().skip(1))
        .env_remove(STATE_VARIABLE)
        .env_remove(SAFE_RESTART_VARIABLE)
        .env_remove(stand_in::VARIABLE);
    command
}

/// The hand-over in a memfd without close-on-exec (the only descriptor of ours the exec keeps).
fn write_memfd(state: &HandOver) -> std::io::Result<OwnedFd> {
    let json = serde_json::to_vec(state).map_err(std::io::Error::other)?;
    // SAFETY: memfd_create with a valid C string; the descriptor is owned below.
    let fd = unsafe { libc::memfd_create(c"vrrpd-handover".as_ptr(), 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a descriptor we just created and own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut file = std::fs::File::from(fd);
    file.write_all(&json)?;
    file.rewind()?;
    Ok(OwnedFd::from(file))
}

/// How this image came to run, read once from (and removed from) the environment.
pub fn arrival() -> Arrival {
    // Any other arrival drops (and so stops) a stand-in the environment names.
    let stand_in = StandIn::from_environment();
    let state = std::env::var(STATE_VARIABLE).ok();
    let restart = std::env::var(SAFE_RESTART_VARIABLE).ok();
    // SAFETY: called at start-up, before any other thread exists.
    unsafe {
        std::env::remove_var(STATE_VARIABLE);
        std::env::remove_var(SAFE_RESTART_VARIABLE);
    }
    if let Some(restart) = restart {
        let (generation, reason) = restart.split_once(' ').unwrap_or((&restart, ""));
        return Arrival::SafeRestart(generation.parse().unwrap_or(2), reason.to_string());
    }
    let Some(state) = state else {
        return Arrival::Fresh;
    };
    match read_state(&state) {
        Ok(hand_over) if hand_over.format == FORMAT => Arrival::Upgrade(HandOver {
            stand_in,
            ..hand_over
        }),
        Ok(hand_over) => Arrival::Unreadable(format!(
            "the hand-over has format {}, this image reads {FORMAT}",
            hand_over.format
        )),
        Err(reason) => Arrival::Unreadable(reason),
    }
}

fn read_state(variable: &str) -> Result<HandOver, String> {
    let fd: i32 = variable
        .parse()
        .map_err(|_| format!("{STATE_VARIABLE}={variable:?} is not a descriptor"))?;
    // The descriptor must be a memfd of ours, not whatever a caller's environment names.
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map_err(|error| format!("descriptor {fd}: {error}"))?;
    if !link.to_string_lossy().starts_with("/memfd:vrrpd-handover") {
        return Err(format!(
            "descriptor {fd} is {}, not a hand-over",
            link.display()
        ));
    }
    // SAFETY: the descriptor was handed to this image for it alone (checked above); owning it
    // closes it once read.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let mut json = Vec::new();
    file.read_to_end(&mut json)
        .map_err(|error| format!("reading the hand-over: {error}"))?;
    serde_json::from_slice(&json).map_err(|error| format!("the hand-over does not parse: {error}"))
}

/// What this image takes over from how it came.
pub fn taken_over(arrival: Arrival) -> TakenOver {
    let mut status = DaemonStatus {
        pid: std::process::id(),
        generation: 1,
        came_by: "start".into(),
        upgrades_refused: 0,
        last_upgrade: None,
    };
    let nothing = |status| TakenOver {
        instances: Vec::new(),
        xdp: None,
        observations: Vec::new(),
        status,
        stand_in: None,
    };
    match arrival {
        Arrival::Fresh => nothing(status),
        Arrival::Upgrade(hand_over) => {
            status.generation = hand_over.generation;
            status.came_by = "upgrade".into();
            status.last_upgrade = Some(format!(
                "adopted from vrrpd {}: {} instances resumed{}",
                hand_over.from_version,
                hand_over.instances.len(),
                if hand_over.xdp.is_some() {
                    ", the XDP program attached throughout"
                } else {
                    ""
                }
            ));
            crate::net::sysctl::remember(hand_over.sysctls);
            TakenOver {
                instances: hand_over.instances,
                xdp: hand_over.xdp,
                observations: hand_over.observations,
                status,
                stand_in: hand_over.stand_in,
            }
        }
        Arrival::SafeRestart(generation, reason) => {
            status.generation = generation;
            status.came_by = "safe restart".into();
            status.last_upgrade = Some(format!("safe restart: {reason}"));
            nothing(status)
        }
        Arrival::Unreadable(reason) => {
            // Whatever the previous image pinned goes, so that its program detaches.
            remove_hand_over(&pin_directory());
            status.generation = 2;
            status.came_by = "safe restart".into();
            status.last_upgrade = Some(format!("the hand-over could not be read: {reason}"));
            nothing(status)
        }
    }
}

/// How long the protocol thread may take to hand over (it waits for a master's next advert).
const HAND_OVER_WAIT: Duration = Duration::from_secs(5);

impl Daemon {
    /// `vrrpd upgrade`: replaces this image with `binary` (this image's own path when `None`).
    /// Returns only if this image must exit (the rest of the upgrade failed after the protocol
    /// thread let go); `None` when it runs on (a refusal, logged and reported in the status).
    pub(super) async fn upgrade(
        &mut self,
        binary: Option<PathBuf>,
        outcomes: &mut UnboundedReceiver<Outcome>,
    ) -> Option<std::process::ExitCode> {
        let binary = binary.unwrap_or_else(|| self.binary.clone());
        info!("upgrade: replacing this image with {}", binary.display());
        match preflight(&binary).await {
            Ok(()) => {}
            Err(incompatible @ UpgradeError::Incompatible { .. }) => {
                return Some(
                    self.safe_restart(&binary, &incompatible.to_string(), outcomes)
                        .await,
                );
            }
            Err(refusal) => {
                warn!("upgrade refused, running on: {refusal}");
                if let Ok(mut daemon) = self.shared.daemon.lock() {
                    daemon.upgrades_refused += 1;
                    daemon.last_upgrade = Some(refusal.to_string());
                }
                return None;
            }
        }
        // The address workers end here, while the protocol thread still runs: closing their
        // packet sockets waits for an RCU grace period (milliseconds), which must not fall
        // between the last advert of this image and the first of the next.
        self.address_workers
            .finish(tokio::time::Instant::now() + Duration::from_millis(500))
            .await;
        let xdp = match &self.xdp {
            None => None,
            Some(datapath) => {
                let handed = match datapath.lock() {
                    Ok(mut datapath) => datapath
                        .hand_over(&pin_directory())
                        .map_err(|error| error.to_string()),
                    Err(_) => Err("the datapath lock is poisoned".into()),
                };
                match handed {
                    Ok(handed) => Some(handed),
                    Err(reason) => {
                        let reason = format!("the XDP datapath cannot be handed over: {reason}");
                        return Some(self.safe_restart(&binary, &reason, outcomes).await);
                    }
                }
            }
        };
        // The FIFO readers go as at a stop, while the protocol thread still runs: the next
        // image opens the FIFOs again and starts its own readers, and two readers of one FIFO
        // would share its lines out between them. (Not before the datapath is handed over: a
        // safe restart writes its instances' last states to them.)
        self.fifos.close();
        let (reply, answer) = tokio::sync::oneshot::channel::<Handed>();
        self.shared.protocol.send(Command::HandOver(reply));
        let asked = std::time::Instant::now();
        let carried = tokio::time::timeout(HAND_OVER_WAIT, answer)
            .await
            .ok()
            .and_then(Result::ok);
        let Some(Handed {
            instances,
            stand_in,
        }) = carried
        else {
            let reason = "the protocol thread did not hand its instances over";
            return Some(self.safe_restart(&binary, reason, outcomes).await);
        };
        // What the protocol thread reported before it let go is carried out first: a master
        // that has just taken over has its addresses installed before the exec. (Only then:
        // the next image has one advert interval from now to send its first advert.)
        let mut pending = false;
        while let Ok(outcome) = outcomes.try_recv() {
            pending = true;
            self.dispatch(outcome);
        }
        if pending {
            self.address_workers
                .finish(tokio::time::Instant::now() + Duration::from_millis(500))
                .await;
        }
        let generation = self.shared.daemon.lock().map_or(1, |d| d.generation) + 1;
        let state = HandOver {
            format: FORMAT,
            generation,
            from_version: env!("CARGO_PKG_VERSION").to_string(),
            instances,
            xdp,
            sysctls: crate::net::sysctl::replaced(),
            observations: self
                .shared
                .observations
                .lock()
                .map(|o| o.iter().map(|(s, o)| (s.clone(), *o)).collect())
                .unwrap_or_default(),
            stand_in,
        };
        info!(
            "upgrade: handing {} instances over to {} (image generation {generation}; the protocol thread let go {:.1} ms after it was asked)",
            state.instances.len(),
            binary.display(),
            asked.elapsed().as_secs_f64() * 1e3
        );
        super::scheduling::boost_for_upgrade();
        let failure = exec_with_state(&binary, &state);
        error!("upgrade: {failure}; trying this image's own binary");
        let failure = exec_with_state(&self.binary, &state);
        super::scheduling::end_upgrade_boost();
        error!("upgrade: {failure}; exiting (the backups take over at Master_Down_Interval)");
        Some(std::process::ExitCode::FAILURE)
    }

    /// keepalived's restart, when the state cannot be handed over: priority 0 from every
    /// master and everything released as on a stop, then the new binary starts afresh.
    async fn safe_restart(
        &mut self,
        binary: &Path,
        reason: &str,
        outcomes: &mut UnboundedReceiver<Outcome>,
    ) -> std::process::ExitCode {
        warn!("upgrade: {reason}; falling back to a safe restart");
        remove_hand_over(&pin_directory());
        self.release(outcomes).await;
        let generation = self.shared.daemon.lock().map_or(1, |d| d.generation) + 1;
        let failure = exec_after_release(binary, generation, reason);
        error!("upgrade: {failure}; trying this image's own binary");
        let failure = exec_after_release(&self.binary, generation, reason);
        error!("upgrade: {failure}; exiting");
        std::process::ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hand_over_survives_its_memfd() {
        let state = HandOver {
            format: FORMAT,
            generation: 3,
            from_version: "0.1.0".into(),
            instances: Vec::new(),
            xdp: Some(HandedOver {
                directory: "/sys/fs/bpf/vrrpd-upgrade-1".into(),
                interfaces: vec![(4, false)],
                program_digest: Some("0123".into()),
            }),
            sysctls: vec![("/proc/sys/net/ipv4/conf/eth0/arp_ignore".into(), "0".into())],
            observations: vec![(Source::Script("chk".into()), Observation::Ok(false))],
            stand_in: None,
        };
        let memfd = write_memfd(&state).expect("memfd");
        let read = read_state(&memfd.as_raw_fd().to_string()).expect("read back");
        std::mem::forget(memfd); // read_state took ownership of the descriptor
        assert_eq!(read.generation, 3);
        assert_eq!(read.xdp, state.xdp);
        assert_eq!(read.sysctls, state.sysctls);
        assert_eq!(read.observations, state.observations);
    }

    #[test]
    fn a_descriptor_that_is_not_a_hand_over_is_refused() {
        let file = std::fs::File::open("/proc/self/status").expect("a file");
        let error = read_state(&file.as_raw_fd().to_string()).expect_err("refused");
        assert!(error.contains("not a hand-over"), "{error}");
        assert!(read_state("seven").is_err());
    }
}
