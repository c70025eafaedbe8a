//! Network namespaces for tests, the lab and the benchmarks.
//!
//! Every namespace this module creates is named `vt-<pid>-<n>-<role>`: unique per process and
//! per use, recognisable, and removed when its [`Netns`] is dropped — which also happens while a
//! panicking test unwinds. Namespaces left by a process that was killed outright are swept the
//! next time a namespace is created (their pid no longer runs).

use std::ffi::OsStr;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result, bail};

const PREFIX: &str = "vt-";
static SEQUENCE: AtomicU32 = AtomicU32::new(0);
static SWEEP: std::sync::Once = std::sync::Once::new();

/// A network namespace owned by this process.
#[derive(Debug)]
pub struct Netns {
    name: String,
    /// Left in place on drop (the lab's `--keep`).
    persistent: bool,
}

impl Netns {
    /// Creates `vt-<pid>-<n>-<role>` with loopback up.
    pub fn new(role: &str) -> Result<Netns> {
        SWEEP.call_once(sweep_dead_namespaces);
        let name = format!(
            "{PREFIX}{}-{}-{role}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        );
        Netns::create(name)
    }

    /// Creates `<prefix><role>`, a name that survives this process (not swept as stale): for
    /// the lab, whose `--keep` leaves its namespaces running.
    pub fn with_prefix(prefix: &str, role: &str) -> Result<Netns> {
        let name = format!("{prefix}{role}");
        if list_namespaces().contains(&name) {
            bail!(
                "namespace {name} already exists (a kept lab? remove it with `ip netns del {name}`)"
            );
        }
        Netns::create(name)
    }

    fn create(name: String) -> Result<Netns> {
        run_checked(Command::new("ip").args(["netns", "add", &name]))?;
        let netns = Netns {
            name,
            persistent: false,
        };
        netns.run_ok(["ip", "link", "set", "lo", "up"])?;
        Ok(netns)
    }

    /// Keeps the namespace (and what runs in it) after this value is dropped.
    pub fn persist(&mut self) {
        self.persistent = true;
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that will run inside the namespace.
    pub fn command<S: AsRef<OsStr>>(&self, program: S) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name]).arg(program);
        command
    }

    /// A command that will run in the namespace's network only, with the host's mounts:
    /// `ip netns exec` remounts /sys, which hides the host's bpffs and can take minutes while
    /// a daemon churns through addresses.
    pub fn command_in_network<S: AsRef<OsStr>>(&self, program: S) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg(format!("--net=/run/netns/{}", self.name))
            .arg(program);
        command
    }

    /// Runs a command inside the namespace and returns its output, whatever its exit status.
    pub fn run<I, S>(&self, argv: I) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut argv = argv.into_iter();
        let program = argv.next().context("empty command")?;
        let mut command = self.command(program);
        command.args(argv);
        command
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {command:?}"))
    }

    /// Runs a command inside the namespace, failing unless it exits 0; returns its stdout.
    pub fn run_ok<I, S>(&self, argv: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let argv: Vec<std::ffi::OsString> =
            argv.into_iter().map(|s| s.as_ref().to_owned()).collect();
        let output = self.run(&argv)?;
        if !output.status.success() {
            bail!(
                "in {}: {:?} failed ({}): {}",
                self.name,
                argv,
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs `f` on a thread that has entered this namespace: sockets it opens, interface names it
    /// resolves and XDP attachments it makes belong to the namespace.
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| -> Result<T> {
                    vrrp_user::host::enter_network_namespace(&self.name)
                        .with_context(|| format!("entering {}", self.name))?;
                    Ok(f())
                })
                .join()
                .map_err(|panic| anyhow::anyhow!("thread in {} panicked: {panic:?}", self.name))?
        })
    }

    /// Sets a sysctl inside the namespace (e.g. `net.ipv6.conf.all.accept_dad=0`).
    pub fn sysctl(&self, key_value: &str) -> Result<()> {
        self.run_ok(["sysctl", "-q", "-w", key_value]).map(drop)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if self.persistent {
            return;
        }
        kill_processes_in(&self.name);
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stderr(Stdio::null())
            .status();
    }
}

/// Kills whatever still runs in a namespace, so deleting it also ends its processes.
fn kill_processes_in(name: &str) {
    let Ok(output) = Command::new("ip").args(["netns", "pids", name]).output() else {
        return;
    };
    for pid in String::from_utf8_lossy(&output.stdout).split_whitespace() {
        if let Ok(pid) = pid.parse::<i32>() {
            // SAFETY: sending a signal has no memory-safety preconditions.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// Removes `vt-<pid>-...` namespaces whose creating process is gone.
fn sweep_dead_namespaces() {
    for name in list_namespaces() {
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            kill_processes_in(&name);
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
    }
}

/// Names of all network namespaces (`ip netns list`).
pub fn list_namespaces() -> Vec<String> {
    Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|output| {
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .filter_map(|line| line.split_whitespace().next().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Namespaces created by the current process that still exist.
pub fn own_namespaces() -> Vec<String> {
    let own = format!("{PREFIX}{}-", std::process::id());
    list_namespaces()
        .into_iter()
        .filter(|name| name.starts_with(&own))
        .collect()
}

pub(crate) fn run_checked(command: &mut Command) -> Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
