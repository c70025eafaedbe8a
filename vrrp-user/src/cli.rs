//! Command-line interface: keepalived's flags (-f, -t, -l, -D, -n, -i, -P, -p, -r, -S, -G, -V,
//! -X, -R, -x, -v, --signum) plus vrrpd's own.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// vrrpd's exit statuses, with keepalived's numbers (keepalived/core/main.h,
/// `KEEPALIVED_EXIT_*`; `config_test_exit` in core/main.c picks among the last three for `-t`.
/// keepalived(8) lists them as 3/4/5, one less than its code returns: the code decides).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Ok = 0,
    /// The configuration cannot be run (a missing file, or one vrrpd refuses).
    Config = 4,
    /// `-t`: errors were reported, and the file runs after keepalived's fallbacks.
    ConfigTest = 5,
    /// `-t`: scripts would run while `enable_script_security` is off.
    ConfigTestSecurity = 6,
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}

/// vrrpd: keepalived's VRRP, with the hot path in XDP.
#[derive(Debug, Parser)]
#[command(
    name = "vrrpd",
    version = crate::version::DESCRIPTION,
    about,
    args_conflicts_with_subcommands = true,
    disable_version_flag = true
)]
pub struct Cli {
    /// Display the version number (keepalived's -v; -V is --dont-release-vrrp).
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    pub version: Option<bool>,
    /// Print the number of keepalived's signal for SIGFUNC (STOP, RELOAD, DATA, STATS,
    /// STATS_CLEAR, JSON) and exit, as `keepalived --signum` does.
    #[arg(long = "signum", value_name = "SIGFUNC")]
    pub signum: Option<String>,
    /// Don't remove the VRRP VIPs and virtual routes on daemon stop (keepalived's -V).
    #[arg(short = 'V', long = "dont-release-vrrp")]
    pub dont_release_vrrp: bool,
    /// keepalived's "drop VIP on transition from signal"; accepted, vrrpd always does.
    #[arg(short = 'X', long = "release-vips")]
    pub release_vips: bool,
    /// keepalived's "don't respawn child processes"; accepted (vrrpd has no child process).
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,
    /// keepalived's syslog facility; accepted, vrrpd logs to the journal / stderr.
    #[arg(short = 'S', long = "log-facility", value_name = "FACILITY")]
    pub log_facility: Option<String>,
    /// keepalived's "don't log via syslog"; accepted (vrrpd logs to stderr).
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,
    /// keepalived's SNMP subsystem: serve KEEPALIVED-MIB as an AgentX subagent (as
    /// `enable_snmp_vrrp` in global_defs).
    #[arg(short = 'x', long = "snmp")]
    pub snmp: bool,
    /// The AgentX master agent's socket (as `snmp_socket`; unix:PATH or tcp:HOST:PORT).
    #[arg(short = 'A', long = "snmp-agent-socket", value_name = "SOCKET")]
    pub snmp_agent_socket: Option<String>,
    /// Configuration file (keepalived.conf syntax).
    #[arg(
        short = 'f',
        long = "use-file",
        default_value = "/etc/keepalived/keepalived.conf"
    )]
    pub file: PathBuf,
    /// Check the configuration, print a summary and every diagnostic, and exit with
    /// keepalived's code: 0 valid, 4 cannot be run, 5 errors reported but it runs with
    /// keepalived's fallbacks, 6 scripts configured without enable_script_security. As
    /// keepalived's `--config-test=FILE`, the diagnostics go to FILE instead of stderr.
    #[arg(
        short = 't',
        long = "config-test",
        value_name = "FILE",
        num_args = 0..=1,
        require_equals = true
    )]
    pub config_test: Option<Option<PathBuf>>,
    /// With -t: the migration report instead of the summary. Every keyword of the file with its
    /// location and what vrrpd does with it (implemented, implemented differently and how,
    /// ignored and why, unknown), every diagnostic, and whether vrrpd runs the file; exits 4
    /// only when it cannot.
    #[arg(long, requires = "config_test")]
    pub report: bool,
    /// Log to the console with timestamps.
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,
    /// Detailed logging.
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,
    /// Stay in the foreground (vrrpd never forks; accepted for keepalived compatibility).
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,
    /// keepalived's config_id: selects `@id` conditional lines (default: the host name).
    #[arg(short = 'i', long = "config-id")]
    pub config_id: Option<String>,
    /// Run in network namespace NAME (/run/netns/NAME), as keepalived's -s; overrides
    /// global_defs' net_namespace. The pid file and control socket then default to
    /// /run/vrrpd/NAME/.
    #[arg(short = 's', long = "namespace", value_name = "NAME")]
    pub namespace: Option<String>,
    /// Only run VRRP (accepted for keepalived compatibility: vrrpd only does VRRP).
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp_only: bool,
    /// How adverts reach the state machine.
    #[arg(long, value_enum, default_value_t = DatapathChoice::Xdp)]
    pub datapath: DatapathChoice,
    /// XDP attach mode: auto picks skb mode for veth (its driver mode loses XDP_TX replies).
    #[arg(long, value_enum, default_value_t = XdpModeChoice::Auto)]
    pub xdp_mode: XdpModeChoice,
    /// Control socket for `vrrpd status` / `vrrpd stats`.
    #[arg(long, default_value = "/run/vrrpd/vrrpd.sock")]
    pub control: PathBuf,
    /// PID file, locked while vrrpd runs (a second vrrpd on it is refused); keepalived's -p.
    #[arg(
        short = 'p',
        long = "pid-file",
        visible_alias = "pid",
        default_value = "/run/vrrpd/vrrpd.pid"
    )]
    pub pid_file: PathBuf,
    /// keepalived's VRRP child pid file (-r): vrrpd is one process, so it writes its own PID
    /// there too, for tools that signal the VRRP process.
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    pub vrrp_pid_file: Option<PathBuf>,
    /// Where SIGUSR1 writes the state dump (keepalived's /tmp/keepalived.data).
    #[arg(long, default_value = "/tmp/keepalived.data")]
    pub dump_file: PathBuf,
    /// Where SIGUSR2 writes the statistics dump (keepalived's /tmp/keepalived.stats).
    #[arg(long, default_value = "/tmp/keepalived.stats")]
    pub stats_file: PathBuf,
    /// Serve Prometheus metrics on this address (e.g. 127.0.0.1:9650).
    #[arg(long)]
    pub metrics: Option<SocketAddr>,
    /// Pin the XDP maps under /sys/fs/bpf/vrrpd/ (for bpftool); removed on exit.
    #[arg(long)]
    pub pin_maps: bool,
    /// `vrrpd upgrade`'s check of a new binary: print the hand-over format it reads and exit.
    #[arg(long, hide = true)]
    pub upgrade_preflight: bool,
    /// Print a manual page or a shell completion script (for packaging) and exit.
    #[arg(long, hide = true, value_enum, value_name = "WHAT")]
    pub generate: Option<Generated>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The default pid file and control socket (see [`Cli::name_runtime_files`]).
pub const DEFAULT_PID_FILE: &str = "/run/vrrpd/vrrpd.pid";
pub const DEFAULT_CONTROL: &str = "/run/vrrpd/vrrpd.sock";

impl Cli {
    /// A daemon with a name (its network namespace, or keepalived's `instance`) keeps its pid
    /// file and control socket in /run/vrrpd/NAME/, unless they were given: several daemons,
    /// one per namespace, on one host.
    pub fn name_runtime_files(&mut self, name: &str) {
        let directory = PathBuf::from("/run/vrrpd").join(name);
        if self.pid_file == std::path::Path::new(DEFAULT_PID_FILE) {
            self.pid_file = directory.join("vrrpd.pid");
        }
        if self.control == std::path::Path::new(DEFAULT_CONTROL) {
            self.control = directory.join("vrrpd.sock");
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show each instance: state, priorities, master, last transition, VIPs.
    Status {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value = "/run/vrrpd/vrrpd.sock")]
        control: PathBuf,
    },
    /// Show counters: adverts, transitions, drops by reason, gratuitous ARPs, tracking.
    Stats {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value = "/run/vrrpd/vrrpd.sock")]
        control: PathBuf,
    },
    /// Replace the running daemon's image with the binary at its path (or --binary) without
    /// moving a VIP: same PID, every instance resumed in its state, adverts on schedule, the
    /// XDP program attached throughout. With the same binary, a hitless restart. Waits for the
    /// new image and exits 0, or non-zero with what went wrong (a binary that does not run is
    /// refused and the daemon runs on; one that cannot take the state gets a safe restart:
    /// priority 0 from every master, then a normal start).
    Upgrade {
        #[arg(long, default_value = "/run/vrrpd/vrrpd.sock")]
        control: PathBuf,
        /// The new binary (default: the path the daemon was started from).
        #[arg(long)]
        binary: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DatapathChoice {
    /// The XDP program (falls back to socket mode when XDP cannot attach).
    Xdp,
    /// Raw sockets only.
    Socket,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum XdpModeChoice {
    Auto,
    Driver,
    Skb,
}

/// What `vrrpd --generate` prints (see `manual`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Generated {
    /// vrrpd(8)
    Man8,
    /// vrrpd.conf(5)
    Man5,
    Bash,
    Zsh,
    Fish,
}
