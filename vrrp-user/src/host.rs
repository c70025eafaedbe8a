//! Facts about the host vrrpd runs on, read where keepalived reads them.

/// The host name: keepalived's default `config_id`, `router_id` and SMTP HELO name.
pub fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
}

/// keepalived's signal functions, by the names `keepalived --signum=NAME` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalFunction {
    Stop,
    Reload,
    Data,
    Stats,
    StatsClear,
    Json,
}

impl SignalFunction {
    pub const ALL: [SignalFunction; 6] = [
        SignalFunction::Stop,
        SignalFunction::Reload,
        SignalFunction::Data,
        SignalFunction::Stats,
        SignalFunction::StatsClear,
        SignalFunction::Json,
    ];

    pub fn from_name(name: &str) -> Option<SignalFunction> {
        SignalFunction::ALL
            .into_iter()
            .find(|function| function.name().eq_ignore_ascii_case(name))
    }

    pub const fn name(self) -> &'static str {
        match self {
            SignalFunction::Stop => "STOP",
            SignalFunction::Reload => "RELOAD",
            SignalFunction::Data => "DATA",
            SignalFunction::Stats => "STATS",
            SignalFunction::StatsClear => "STATS_CLEAR",
            SignalFunction::Json => "JSON",
        }
    }

    /// The signal number keepalived uses for it, so that tools which ask `--signum` and signal
    /// the pid they read reach vrrpd the same way: the classic signals, and two real-time
    /// ones, SIGRTMIN + 2 for JSON and SIGRTMAX - 1 for STATS_CLEAR (36 and 63 with glibc, as
    /// `keepalived --signum` prints them).
    pub fn number(self) -> i32 {
        match self {
            SignalFunction::Stop => libc::SIGTERM,
            SignalFunction::Reload => libc::SIGHUP,
            SignalFunction::Data => libc::SIGUSR1,
            SignalFunction::Stats => libc::SIGUSR2,
            SignalFunction::StatsClear => libc::SIGRTMAX() - 1,
            SignalFunction::Json => libc::SIGRTMIN() + 2,
        }
    }
}

/// The network namespace vrrpd started in, when it then entered another (`net_namespace`,
/// `-s`): remembered so that what only the host's namespace offers can still be reached.
static STARTING_NAMESPACE: std::sync::OnceLock<std::fs::File> = std::sync::OnceLock::new();

/// Runs `make` on a thread that first joins the machine's initial network namespace, and
/// returns what it made: a socket made there stays there. The kernel's process events (the
/// proc connector) answer only in the initial namespace, while vrrpd may run in another. The
/// namespace tried first is the one vrrpd started in (when it moved by `net_namespace` or
/// `-s`), then PID 1's; where neither can be joined (vrrpd started by `ip netns exec` on a host
/// whose PID 1 is out of reach), `make` runs where vrrpd is.
pub fn in_initial_network_namespace<T: Send>(
    make: impl Fn() -> std::io::Result<T> + Send + Sync,
) -> std::io::Result<T> {
    use std::os::fd::AsRawFd;
    let pid_1 = std::fs::File::open("/proc/1/ns/net");
    let candidates = STARTING_NAMESPACE
        .get()
        .into_iter()
        .chain(pid_1.as_ref().ok());
    let mut last_error = None;
    for namespace in candidates {
        let made = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    // SAFETY: setns of this thread alone, with a descriptor held open.
                    if unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    make()
                })
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the namespace thread panicked")))
        });
        match made {
            Ok(made) => return Ok(made),
            Err(error) => last_error = Some(error),
        }
    }
    make().map_err(|error| last_error.unwrap_or(error))
}

/// The PIDs of every process /proc shows (the directories named by a number).
pub fn process_ids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Moves the calling thread (at start: the whole daemon, before any other thread exists) into
/// the network namespace /run/netns/NAME, as `ip netns exec` and keepalived's net_namespace do.
pub fn enter_network_namespace(name: &str) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(std::io::Error::other(format!(
            "'{name}' is not a network namespace name"
        )));
    }
    let file = std::fs::File::open(std::path::Path::new("/run/netns").join(name))?;
    if let Ok(starting) = std::fs::File::open("/proc/self/ns/net") {
        let _ = STARTING_NAMESPACE.set(starting);
    }
    // SAFETY: setns with a descriptor we hold open for the call.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Hands the heap memory freed since the start back to the kernel. glibc keeps freed memory
/// in its arenas (one per thread that allocated), so what start-up and a reload use once (the
/// configuration's text and model, the plans, the eBPF object and the kernel's BTF that aya
/// parses while loading the program on a blocking thread) otherwise stays in the daemon's
/// resident set for good: 4-6 MiB at 1000 instances (issue 20, target 5). vrrpd's own
/// allocator, jemalloc (main.rs), hands freed pages back at once: nothing to do then.
pub fn return_freed_memory() {
    #[cfg(not(feature = "jemalloc"))]
    // SAFETY: malloc_trim only walks and trims the allocator's own arenas.
    unsafe {
        libc::malloc_trim(0)
    };
}
