//! Command-line interface: keepalived's flags (-f, -t, -l, -D, -n, -i, -P) plus vrrpd's own.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// vrrpd: keepalived's VRRP, with the hot path in XDP.
#[derive(Debug, Parser)]
#[command(name = "vrrpd", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Configuration file (keepalived.conf syntax).
    #[arg(
        short = 'f',
        long = "use-file",
        default_value = "/etc/keepalived/keepalived.conf"
    )]
    pub file: PathBuf,
    /// Check the configuration, print a summary and exit (0: valid, 2: invalid).
    #[arg(short = 't', long = "config-test")]
    pub config_test: bool,
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
    /// PID file, locked while vrrpd runs (a second vrrpd on it is refused).
    #[arg(long, default_value = "/run/vrrpd/vrrpd.pid")]
    pub pid_file: PathBuf,
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
    #[command(subcommand)]
    pub command: Option<Command>,
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
