//! Running vrrpd and keepalived inside the test network, with configurations derived from the
//! seed's files (interface and addresses mapped to the namespaces and documentation ranges).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::process::{Scratch, Spawned};
use crate::topology::Host;

/// The vrrpd binary under test, as cargo built it: `cargo xtask test` (and lab, bench, soak)
/// read its path from cargo's build messages and pass it in `VRRPD_BIN`. Run by hand, set it
/// yourself (`VRRPD_BIN=/path/to/vrrpd cargo test ...`); nothing here guesses a target directory.
pub fn vrrpd_binary() -> PathBuf {
    match std::env::var_os("VRRPD_BIN") {
        Some(path) => PathBuf::from(path),
        None => panic!(
            "VRRPD_BIN is not set: run the tests through `cargo xtask test` (it builds vrrpd and \
             passes the path cargo reports), or set VRRPD_BIN to a vrrpd built with \
             `cargo build --release --bins`"
        ),
    }
}

/// The seed file with its own names replaced: `ens33` -> `eth0`, 172.16.1.99/98 ->
/// 192.0.2.99/98, /etc/keepalived/... -> files in `scratch`.
pub fn seed_config(name: &str, scratch: &Scratch) -> Result<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vrrp-user/tests/fixtures/seed")
        .join(name);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    Ok(localise(&text, scratch))
}

/// Maps the seed's interface, addresses and paths into the test network.
pub fn localise(text: &str, scratch: &Scratch) -> String {
    text.replace("ens33", "eth0")
        .replace("172.16.1.99", "192.0.2.99")
        .replace("172.16.1.98", "192.0.2.98")
        .replace(
            "/etc/keepalived/",
            &format!("{}/", scratch.path().display()),
        )
}

/// The seed's `chk_down.sh`, reading the `down` file of `scratch`.
pub fn write_chk_down(scratch: &Scratch) -> Result<PathBuf> {
    let script = format!(
        "#!/bin/sh\n[ -f {}/down ] && exit 1 || exit 0\n",
        scratch.path().display()
    );
    let path = scratch.write("chk_down.sh", &script)?;
    make_executable(&path)?;
    Ok(path)
}

/// A notify script that appends its arguments, one call per line, to `notify.log`.
pub fn write_notify_recorder(scratch: &Scratch, name: &str) -> Result<PathBuf> {
    let log = scratch.join("notify.log");
    let script = format!("#!/bin/sh\necho \"{name} $*\" >> {}\n", log.display());
    let path = scratch.write(name, &script)?;
    make_executable(&path)?;
    Ok(path)
}

pub fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// What vrrpd logs once the XDP program, loaded behind the socket path after a start, has taken
/// the instances over (vrrp-user/src/daemon/xdp_lifecycle.rs).
pub const XDP_TAKEN_OVER: &str = "datapath: the instances moved to the XDP program";

/// A vrrpd running in a router's namespace.
#[derive(Debug)]
pub struct Vrrpd {
    pub process: Spawned,
    pub control: PathBuf,
    pub config: PathBuf,
}

impl Vrrpd {
    /// Starts vrrpd on `host` with `config` (text), plus extra arguments.
    pub fn start(
        host: &Host,
        label: &str,
        config: &str,
        scratch: &Scratch,
        extra: &[&str],
    ) -> Result<Vrrpd> {
        Vrrpd::start_with(host, label, config, scratch, extra, false)
    }

    /// As [`Vrrpd::start`]; with `host_mounts` the daemon enters only the network namespace
    /// (nsenter), keeping the host's mounts (bpffs) that `ip netns exec` hides.
    pub fn start_with(
        host: &Host,
        label: &str,
        config: &str,
        scratch: &Scratch,
        extra: &[&str],
        host_mounts: bool,
    ) -> Result<Vrrpd> {
        Vrrpd::launch(host, label, config, scratch, extra, host_mounts, &[])
    }

    /// As [`Vrrpd::start`], run through `wrapper` (a command that execs its arguments, such as
    /// `setpriv` with the capabilities of the packaged unit, or `env` with a log filter).
    pub fn start_under(
        host: &Host,
        label: &str,
        config: &str,
        scratch: &Scratch,
        extra: &[&str],
        wrapper: &[String],
    ) -> Result<Vrrpd> {
        Vrrpd::launch(host, label, config, scratch, extra, false, wrapper)
    }

    fn launch(
        host: &Host,
        label: &str,
        config: &str,
        scratch: &Scratch,
        extra: &[&str],
        host_mounts: bool,
        wrapper: &[String],
    ) -> Result<Vrrpd> {
        let config_path = scratch.write(&format!("{label}.conf"), config)?;
        let control = scratch.join(&format!("{label}.sock"));
        let mut argv: Vec<String> = wrapper.to_vec();
        argv.extend([
            vrrpd_binary().display().to_string(),
            "-l".into(),
            "-f".into(),
            config_path.display().to_string(),
            "--pid-file".into(),
            scratch.join(&format!("{label}.pid")).display().to_string(),
            "--control".into(),
            control.display().to_string(),
            "--dump-file".into(),
            scratch.join(&format!("{label}.data")).display().to_string(),
            "--stats-file".into(),
            scratch
                .join(&format!("{label}.stats"))
                .display()
                .to_string(),
        ]);
        argv.extend(extra.iter().map(|s| s.to_string()));
        let log = scratch.join(&format!("{label}.log"));
        let process = if host_mounts {
            let (program, args) = argv.split_first().context("empty command")?;
            let mut command = host.ns.command_in_network(program);
            command.args(args);
            Spawned::start_command(command, &log)?
        } else {
            Spawned::start(&host.ns, &argv, &log)?
        };
        Ok(Vrrpd {
            process,
            control,
            config: config_path,
        })
    }

    /// As [`Vrrpd::start`], then waits until its log says `needle` (say, "(VI_1) Entering
    /// MASTER STATE").
    pub fn start_until(
        host: &Host,
        label: &str,
        config: &str,
        scratch: &Scratch,
        extra: &[&str],
        needle: &str,
    ) -> Result<Vrrpd> {
        let mut daemon = Vrrpd::start(host, label, config, scratch, extra)?;
        daemon.wait_for(needle, Duration::from_secs(20))?;
        Ok(daemon)
    }

    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> Result<Duration> {
        self.process.wait_for_log(needle, timeout)
    }

    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Waits until the XDP program has taken the instances over from the sockets.
    pub fn wait_for_xdp(&mut self) -> Result<Duration> {
        self.wait_for(XDP_TAKEN_OVER, Duration::from_secs(20))
    }

    /// Waits until the datapath is settled: the XDP program has taken the instances over, or
    /// the daemon said it runs in socket mode (configured so, or XDP unavailable here).
    pub fn wait_for_datapath(&mut self) -> Result<()> {
        crate::wait_until_ok("a settled datapath", Duration::from_secs(20), || {
            let log = self.log();
            log.contains(XDP_TAKEN_OVER) || log.contains("socket mode")
        })
    }

    /// `vrrpd status --json` against this daemon.
    pub fn status_json(&self) -> Result<serde_json::Value> {
        let output = std::process::Command::new(vrrpd_binary())
            .args(["status", "--json", "--control"])
            .arg(&self.control)
            .output()?;
        anyhow::ensure!(
            output.status.success(),
            "status: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(serde_json::from_slice(&output.stdout)?)
    }

    /// A datapath counter or drop reason as `vrrpd stats --json` reports it (0 when absent).
    pub fn counter(&self, name: &str) -> u64 {
        let stats: serde_json::Value = vrrp_user::control::client::request(&self.control, "stats")
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        let datapath = &stats["datapath"];
        datapath["counters"][name]
            .as_u64()
            .or(datapath["drops"][name].as_u64())
            .unwrap_or(0)
    }

    /// The state vrrpd reports for an instance ("MASTER", ...).
    pub fn state_of(&self, instance: &str) -> Result<String> {
        let status = self.status_json()?;
        let instances = status["instances"].as_array().context("instances")?;
        let entry = instances
            .iter()
            .find(|i| i["name"] == instance)
            .with_context(|| format!("no instance {instance}"))?;
        Ok(entry["state"].as_str().unwrap_or_default().to_string())
    }
}

/// The usual pair of a timing test: vrrpd on router 1 of `segment` with `master` (its file),
/// waited for until it is MASTER, then vrrpd on router 2 with `backup`, waited for until it is
/// BACKUP (instance VI_1, labels "master" and "backup").
pub fn master_and_backup(
    segment: &crate::topology::Segment,
    scratch: &Scratch,
    master: &str,
    backup: &str,
) -> Result<(Vrrpd, Vrrpd)> {
    let master = Vrrpd::start_until(
        segment.router(1),
        "master",
        master,
        scratch,
        &[],
        "(VI_1) Entering MASTER STATE",
    )?;
    let backup = Vrrpd::start_until(
        segment.router(2),
        "backup",
        backup,
        scratch,
        &[],
        "(VI_1) Entering BACKUP STATE",
    )?;
    Ok((master, backup))
}

/// What the hitless tests assert of a [`master_and_backup`] pair from their logs: the master
/// entered MASTER once and never left, the backup never took over.
pub fn master_held_throughout(master_log: &str, backup_log: &str) {
    assert_eq!(
        master_log.matches("Entering MASTER STATE").count(),
        1,
        "the master never left MASTER:\n{master_log}"
    );
    assert!(
        !backup_log.contains("Entering MASTER STATE"),
        "the backup never took over:\n{backup_log}"
    );
}

/// keepalived 2.2.7 running only its VRRP side in a router's namespace.
#[derive(Debug)]
pub struct Keepalived {
    pub process: Spawned,
    /// The configuration file it was started with (a reload rereads it).
    pub config: PathBuf,
    vrrp_pid_file: PathBuf,
}

impl Keepalived {
    pub fn start(host: &Host, label: &str, config: &str, scratch: &Scratch) -> Result<Keepalived> {
        let config_path = scratch.write(&format!("{label}.conf"), config)?;
        let pid = |kind: &str| {
            scratch
                .join(&format!("{label}-{kind}.pid"))
                .display()
                .to_string()
        };
        let argv = vec![
            "keepalived".to_string(),
            "-n".into(),
            "-l".into(),
            "-D".into(),
            "--vrrp".into(),
            "-f".into(),
            config_path.display().to_string(),
            "-p".into(),
            pid("main"),
            "-r".into(),
            pid("vrrp"),
            "-c".into(),
            pid("checkers"),
        ];
        let log = scratch.join(&format!("{label}.log"));
        Ok(Keepalived {
            process: Spawned::start(&host.ns, &argv, &log)?,
            config: config_path,
            vrrp_pid_file: PathBuf::from(pid("vrrp")),
        })
    }

    pub fn log(&self) -> String {
        self.process.log()
    }

    /// A crash of both processes: the parent is frozen first so that it cannot respawn the VRRP
    /// child, whose death (SIGKILL, no priority 0, addresses left behind) is the crash; then the
    /// parent is killed too. Killing the parent first would not do: the child would get its
    /// parent-death SIGTERM and shut down cleanly.
    pub fn crash(mut self) {
        self.process.signal(libc::SIGSTOP);
        if let Some(child) = self.vrrp_child() {
            // SAFETY: sending a signal has no memory-safety preconditions.
            unsafe { libc::kill(child, libc::SIGKILL) };
        }
        self.process.signal(libc::SIGKILL);
        let _ = self.process.wait_timeout(Duration::from_secs(3));
    }

    /// Sends `signal` to the VRRP child (where keepalived's SIGJSON, SIGUSR1, ... are served).
    pub fn signal_vrrp_child(&self, signal: i32) {
        if let Some(child) = self.vrrp_child() {
            // SAFETY: sending a signal has no memory-safety preconditions.
            unsafe { libc::kill(child, signal) };
        }
    }

    /// The VRRP child's PID, from its pid file.
    fn vrrp_child(&self) -> Option<i32> {
        let text = std::fs::read_to_string(&self.vrrp_pid_file).ok()?;
        text.trim().parse().ok()
    }

    /// Lines in keepalived's log that complain about received packets (its remarks on its own
    /// configuration file, "(Line N) ...", are not about the peer).
    pub fn complaints(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|line| !line.contains("(Line "))
            .filter(|line| {
                let lower = line.to_ascii_lowercase();
                [
                    "invalid",
                    "mismatch",
                    "bad ",
                    "error",
                    "not present",
                    "too short",
                ]
                .iter()
                .any(|word| lower.contains(word))
            })
            .map(str::to_string)
            .collect()
    }
}
