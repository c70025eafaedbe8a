//! Every keepalived keyword vrrpd knows of, by block: what it does in vrrpd and how that
//! compares with keepalived. The parser consults this table for every keyword it does not read
//! itself (a keyword the table marks ignored is a notice, one it does not list an unknown
//! keyword), vrrpd.conf(5) is generated from it, and `vrrpd -t --report` reports an operator's
//! file against it. A test holds the table and the parser to each other (every keyword the
//! parser reads is listed as read, and every keyword listed as read is read), so none of the
//! three can drift.

/// Where a keyword is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Block {
    /// The file's top level (the blocks themselves, the static sections).
    Top,
    GlobalDefs,
    Instance,
    Script,
    TrackFile,
    TrackProcess,
    SyncGroup,
}

impl Block {
    pub const ALL: [Block; 7] = [
        Block::Top,
        Block::GlobalDefs,
        Block::Instance,
        Block::Script,
        Block::TrackFile,
        Block::TrackProcess,
        Block::SyncGroup,
    ];

    /// keepalived's name for the block.
    pub fn name(self) -> &'static str {
        match self {
            Block::Top => "top level",
            Block::GlobalDefs => "global_defs",
            Block::Instance => "vrrp_instance",
            Block::Script => "vrrp_script",
            Block::TrackFile => "vrrp_track_file",
            Block::TrackProcess => "vrrp_track_process",
            Block::SyncGroup => "vrrp_sync_group",
        }
    }
}

/// How vrrpd treats a keyword, against keepalived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Treatment {
    /// Read and applied as keepalived applies it.
    Same,
    /// Read and applied, with the difference said.
    Different(&'static str),
    /// Accepted and not acted on (the reason said): a notice, never an error.
    Ignored(&'static str),
}

impl Treatment {
    /// The word the report and the manual use.
    pub fn word(self) -> &'static str {
        match self {
            Treatment::Same => "implemented",
            Treatment::Different(_) => "implemented differently",
            Treatment::Ignored(_) => "ignored",
        }
    }

    /// Whether the parser reads the keyword.
    pub fn is_read(self) -> bool {
        !matches!(self, Treatment::Ignored(_))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keyword {
    pub block: Block,
    pub name: &'static str,
    /// What it sets, in a line.
    pub what: &'static str,
    pub treatment: Treatment,
}

const fn same(block: Block, name: &'static str, what: &'static str) -> Keyword {
    Keyword {
        block,
        name,
        what,
        treatment: Treatment::Same,
    }
}

const fn differs(
    block: Block,
    name: &'static str,
    what: &'static str,
    how: &'static str,
) -> Keyword {
    Keyword {
        block,
        name,
        what,
        treatment: Treatment::Different(how),
    }
}

const fn ignored(block: Block, name: &'static str, why: &'static str) -> Keyword {
    Keyword {
        block,
        name,
        what: "",
        treatment: Treatment::Ignored(why),
    }
}

const VRRP_ONLY: &str = "vrrpd implements keepalived's VRRP side only";
const NO_FIREWALL_SETS: &str =
    "vrrpd filters no_accept traffic with an nftables table of its own, `inet vrrpd`";
const KERNEL_BUFFERS: &str = "vrrpd sizes its netlink and socket buffers itself";
const ONE_PROCESS: &str = "vrrpd is one process without child processes";
const NOT_YET: &str = "not implemented by vrrpd yet";

use Block::{GlobalDefs, Instance, Script, SyncGroup, Top, TrackFile, TrackProcess};

/// The table. Keywords spelt two ways by keepalived are listed under both spellings.
pub static KEYWORDS: &[Keyword] = &[
    // The file's top level.
    same(
        Top,
        "global_defs",
        "daemon-wide settings and every instance's defaults",
    ),
    same(Top, "vrrp_instance", "a virtual router on one interface"),
    same(Top, "vrrp_script", "a tracking script"),
    same(Top, "vrrp_track_file", "a tracked file"),
    same(
        Top,
        "vrrp_track_process",
        "tracked processes, followed through the kernel's process events",
    ),
    same(
        Top,
        "track_file",
        "a tracked file (keepalived's newer spelling)",
    ),
    same(
        Top,
        "vrrp_sync_group",
        "instances that change state together",
    ),
    same(
        Top,
        "static_ipaddress",
        "addresses installed at start, whatever the VRRP state",
    ),
    same(
        Top,
        "static_routes",
        "routes installed at start, whatever the VRRP state",
    ),
    same(
        Top,
        "static_rules",
        "policy rules installed at start, whatever the VRRP state",
    ),
    ignored(Top, "virtual_server", VRRP_ONLY),
    ignored(Top, "virtual_server_group", VRRP_ONLY),
    ignored(Top, "bfd_instance", VRRP_ONLY),
    ignored(
        Top,
        "linkbeat_use_polling",
        "vrrpd follows links through netlink",
    ),
    ignored(Top, "net_namespace", NOT_YET),
    // global_defs
    same(
        GlobalDefs,
        "router_id",
        "this router's name in notifications and mail",
    ),
    differs(
        GlobalDefs,
        "net_namespace",
        "the network namespace vrrpd runs in (or -s/--namespace)",
        "vrrpd enters /run/netns/NAME at start; its pid file and control socket default to /run/vrrpd/NAME/ (keepalived mounts a private /run/keepalived)",
    ),
    differs(
        GlobalDefs,
        "instance",
        "names this daemon, for several on one host",
        "its pid file and control socket default to /run/vrrpd/NAME/",
    ),
    same(
        GlobalDefs,
        "vrrp_mcast_group4",
        "the IPv4 multicast group adverts go to",
    ),
    same(
        GlobalDefs,
        "vrrp_mcast_group6",
        "the IPv6 multicast group adverts go to",
    ),
    same(
        GlobalDefs,
        "vrrp_version",
        "the default VRRP version (2 or 3)",
    ),
    same(
        GlobalDefs,
        "vrrp_garp_interval",
        "the gap between gratuitous ARPs",
    ),
    same(
        GlobalDefs,
        "vrrp_gna_interval",
        "the gap between unsolicited neighbour adverts",
    ),
    same(
        GlobalDefs,
        "vrrp_min_garp",
        "one gratuitous ARP burst and no refresh by default",
    ),
    same(
        GlobalDefs,
        "vrrp_garp_master_delay",
        "the default garp_master_delay",
    ),
    same(
        GlobalDefs,
        "vrrp_garp_master_repeat",
        "the default garp_master_repeat",
    ),
    same(
        GlobalDefs,
        "vrrp_garp_master_refresh",
        "the default garp_master_refresh",
    ),
    same(
        GlobalDefs,
        "vrrp_garp_master_refresh_repeat",
        "the default garp_master_refresh_repeat",
    ),
    same(
        GlobalDefs,
        "vrrp_garp_lower_prio_delay",
        "the default garp_lower_prio_delay",
    ),
    same(
        GlobalDefs,
        "vrrp_garp_lower_prio_repeat",
        "the default garp_lower_prio_repeat",
    ),
    same(
        GlobalDefs,
        "vrrp_higher_prio_send_advert",
        "the default higher_prio_send_advert",
    ),
    same(
        GlobalDefs,
        "vrrp_lower_prio_no_advert",
        "the default lower_prio_no_advert",
    ),
    same(
        GlobalDefs,
        "vrrp_skip_check_adv_addr",
        "the default skip_check_adv_addr",
    ),
    same(
        GlobalDefs,
        "vrrp_check_unicast_src",
        "the default check_unicast_src",
    ),
    differs(
        GlobalDefs,
        "vrrp_strict",
        "RFC-strict mode",
        "as keepalived: authentication ignored, unicast instances not run, no_accept by default; the nftables rules are vrrpd's own table",
    ),
    differs(
        GlobalDefs,
        "dynamic_interfaces",
        "instances on missing interfaces wait for them",
        "`allow_if_changes` is what vrrpd always does (a new interface index is re-planned)",
    ),
    same(
        GlobalDefs,
        "vrrp_notify_priority_changes",
        "the default notify_priority_changes",
    ),
    same(
        GlobalDefs,
        "vrrp_down_timer_adverts",
        "the default down_timer_adverts",
    ),
    same(
        GlobalDefs,
        "vrrp_startup_delay",
        "how long instances wait after start",
    ),
    same(
        GlobalDefs,
        "vrrp_delay_after_boot",
        "instances wait until the system has been up this long (keepalived 2.4)",
    ),
    same(
        GlobalDefs,
        "enable_script_security",
        "refuse scripts that others can change",
    ),
    same(GlobalDefs, "script_user", "who scripts run as"),
    same(
        GlobalDefs,
        "notify_fifo",
        "a FIFO that gets every state change",
    ),
    same(
        GlobalDefs,
        "notify_fifo_script",
        "the script reading notify_fifo",
    ),
    same(
        GlobalDefs,
        "vrrp_notify_fifo",
        "a FIFO that gets every VRRP state change",
    ),
    same(
        GlobalDefs,
        "vrrp_notify_fifo_script",
        "the script reading vrrp_notify_fifo",
    ),
    same(
        GlobalDefs,
        "notification_email",
        "where smtp_alert mails go",
    ),
    same(
        GlobalDefs,
        "notification_email_from",
        "the sender of smtp_alert mails",
    ),
    same(GlobalDefs, "smtp_server", "the mail server for smtp_alert"),
    same(GlobalDefs, "smtp_helo_name", "the HELO name for smtp_alert"),
    same(
        GlobalDefs,
        "smtp_connect_timeout",
        "the mail server's connection time-out",
    ),
    same(GlobalDefs, "smtp_alert", "mail every transition"),
    same(GlobalDefs, "smtp_alert_vrrp", "mail every VRRP transition"),
    same(
        GlobalDefs,
        "no_email_faults",
        "no mail for FAULT transitions",
    ),
    same(GlobalDefs, "vrrp_priority", "the nice value of the daemon"),
    same(GlobalDefs, "vrrp_no_swap", "lock the daemon's memory"),
    same(
        GlobalDefs,
        "vrrp_cpu_affinity",
        "the CPUs the daemon runs on",
    ),
    differs(
        GlobalDefs,
        "vrrp_rt_priority",
        "real-time priority",
        "SCHED_RR for the protocol thread alone (the takeover deadlines); address work, scripts and the control socket stay normal",
    ),
    same(
        GlobalDefs,
        "vrrp_rlimit_rttime",
        "the real-time CPU limit with vrrp_rt_priority",
    ),
    same(
        GlobalDefs,
        "vrrp_rlimit_rtime",
        "keepalived's older spelling of vrrp_rlimit_rttime",
    ),
    same(
        GlobalDefs,
        "enable_snmp_vrrp",
        "serve KEEPALIVED-MIB's global scalars and VRRP tree as an AgentX subagent",
    ),
    same(
        GlobalDefs,
        "enable_snmp_keepalived",
        "keepalived's older name of enable_snmp_vrrp",
    ),
    same(
        GlobalDefs,
        "enable_snmp_rfc",
        "serve VRRP-MIB (RFC 2787) and VRRPV3-MIB (RFC 6527)",
    ),
    same(GlobalDefs, "enable_snmp_rfcv2", "serve VRRP-MIB (RFC 2787)"),
    same(
        GlobalDefs,
        "enable_snmp_rfcv3",
        "serve VRRPV3-MIB (RFC 6527)",
    ),
    ignored(
        GlobalDefs,
        "enable_snmp_checker",
        "vrrpd has no checker (keepalived's LVS side)",
    ),
    same(
        GlobalDefs,
        "enable_traps",
        "send the enabled MIBs' notifications on every transition",
    ),
    same(
        GlobalDefs,
        "snmp_socket",
        "the AgentX master agent's socket (unix:PATH or tcp:HOST:PORT)",
    ),
    ignored(GlobalDefs, "enable_dbus", "vrrpd has no D-Bus interface"),
    ignored(
        GlobalDefs,
        "dbus_service_name",
        "vrrpd has no D-Bus interface",
    ),
    ignored(GlobalDefs, "vrrp_iptables", NO_FIREWALL_SETS),
    ignored(GlobalDefs, "vrrp_ipsets", NO_FIREWALL_SETS),
    ignored(GlobalDefs, "nftables", NO_FIREWALL_SETS),
    ignored(GlobalDefs, "nftables_priority", NO_FIREWALL_SETS),
    ignored(GlobalDefs, "nftables_ifindex", NO_FIREWALL_SETS),
    ignored(GlobalDefs, "nftables_counters", NO_FIREWALL_SETS),
    ignored(GlobalDefs, "vrrp_netlink_cmd_rcv_bufs", KERNEL_BUFFERS),
    ignored(
        GlobalDefs,
        "vrrp_netlink_cmd_rcv_bufs_force",
        KERNEL_BUFFERS,
    ),
    ignored(GlobalDefs, "vrrp_netlink_monitor_rcv_bufs", KERNEL_BUFFERS),
    ignored(
        GlobalDefs,
        "vrrp_netlink_monitor_rcv_bufs_force",
        KERNEL_BUFFERS,
    ),
    ignored(GlobalDefs, "vrrp_rx_bufs_policy", KERNEL_BUFFERS),
    ignored(GlobalDefs, "vrrp_rx_bufs_multiplier", KERNEL_BUFFERS),
    ignored(GlobalDefs, "process_names", ONE_PROCESS),
    ignored(GlobalDefs, "process_name", ONE_PROCESS),
    ignored(GlobalDefs, "vrrp_process_name", ONE_PROCESS),
    ignored(GlobalDefs, "checker_process_name", VRRP_ONLY),
    ignored(GlobalDefs, "bfd_process_name", VRRP_ONLY),
    ignored(GlobalDefs, "child_wait_time", ONE_PROCESS),
    ignored(
        GlobalDefs,
        "max_auto_priority",
        "vrrpd's real-time priority is vrrp_rt_priority alone",
    ),
    ignored(
        GlobalDefs,
        "min_auto_priority_delay",
        "vrrpd's real-time priority is vrrp_rt_priority alone",
    ),
    ignored(GlobalDefs, "checker_priority", VRRP_ONLY),
    ignored(GlobalDefs, "checker_no_swap", VRRP_ONLY),
    ignored(GlobalDefs, "checker_rt_priority", VRRP_ONLY),
    ignored(GlobalDefs, "checker_cpu_affinity", VRRP_ONLY),
    ignored(GlobalDefs, "checker_rlimit_rttime", VRRP_ONLY),
    ignored(GlobalDefs, "checker_log_all_failures", VRRP_ONLY),
    ignored(GlobalDefs, "bfd_priority", VRRP_ONLY),
    ignored(GlobalDefs, "bfd_no_swap", VRRP_ONLY),
    ignored(GlobalDefs, "bfd_rt_priority", VRRP_ONLY),
    ignored(GlobalDefs, "bfd_cpu_affinity", VRRP_ONLY),
    ignored(GlobalDefs, "bfd_rlimit_rttime", VRRP_ONLY),
    ignored(GlobalDefs, "smtp_alert_checker", VRRP_ONLY),
    ignored(GlobalDefs, "no_checker_emails", VRRP_ONLY),
    ignored(GlobalDefs, "lvs_timeouts", VRRP_ONLY),
    ignored(GlobalDefs, "lvs_sync_daemon", VRRP_ONLY),
    ignored(GlobalDefs, "lvs_flush", VRRP_ONLY),
    ignored(GlobalDefs, "lvs_flush_on_stop", VRRP_ONLY),
    ignored(GlobalDefs, "lvs_notify_fifo", VRRP_ONLY),
    ignored(GlobalDefs, "lvs_notify_fifo_script", VRRP_ONLY),
    ignored(GlobalDefs, "lvs_netlink_cmd_rcv_bufs", VRRP_ONLY),
    ignored(GlobalDefs, "lvs_netlink_monitor_rcv_bufs", VRRP_ONLY),
    same(
        GlobalDefs,
        "vrrp_garp_extra_if",
        "every instance's default garp_extra_if",
    ),
    same(
        GlobalDefs,
        "fifo_write_vrrp_states_on_reload",
        "every state written to the FIFOs again after a reload",
    ),
    same(
        GlobalDefs,
        "json_version",
        "the JSON dump as an array (1) or under \"vrrp\" (2)",
    ),
    same(
        GlobalDefs,
        "state_dump_file",
        "where SIGUSR1's data dump goes",
    ),
    same(
        GlobalDefs,
        "stats_dump_file",
        "where SIGUSR2's stats dump goes",
    ),
    same(GlobalDefs, "json_dump_file", "where SIGJSON's dump goes"),
    ignored(GlobalDefs, "vmac_prefix", NOT_YET),
    ignored(GlobalDefs, "vmac_addr_prefix", NOT_YET),
    ignored(
        GlobalDefs,
        "log_unknown_vrids",
        "vrrpd counts adverts for unknown VRIDs (`vrrpd stats`) instead",
    ),
    ignored(GlobalDefs, "disable_local_igmp", NOT_YET),
    ignored(GlobalDefs, "startup_script", NOT_YET),
    ignored(GlobalDefs, "startup_script_timeout", NOT_YET),
    ignored(GlobalDefs, "shutdown_script", NOT_YET),
    ignored(GlobalDefs, "shutdown_script_timeout", NOT_YET),
    ignored(
        GlobalDefs,
        "reload_check_config",
        "`vrrpd -t` checks a file; a reload that cannot be run keeps the running configuration",
    ),
    ignored(GlobalDefs, "config_save_dir", NOT_YET),
    ignored(GlobalDefs, "tmp_config_directory", NOT_YET),
    ignored(GlobalDefs, "umask", NOT_YET),
    ignored(GlobalDefs, "random_seed", NOT_YET),
    ignored(
        GlobalDefs,
        "linkbeat_interfaces",
        "vrrpd follows links through netlink",
    ),
    ignored(
        GlobalDefs,
        "linkbeat_use_polling",
        "vrrpd follows links through netlink",
    ),
    ignored(GlobalDefs, "default_interface", NOT_YET),
    // vrrp_instance
    same(
        Instance,
        "state",
        "the initial state (MASTER below priority 255 still waits Master_Down_Interval)",
    ),
    same(Instance, "interface", "the interface the instance runs on"),
    same(Instance, "virtual_router_id", "the VRID, 1..255"),
    same(Instance, "priority", "the priority, 1..255"),
    same(Instance, "advert_int", "the advert interval in seconds"),
    same(Instance, "version", "the VRRP version, 2 or 3"),
    same(Instance, "virtual_ipaddress", "the virtual addresses"),
    same(
        Instance,
        "virtual_ipaddress_excluded",
        "virtual addresses not carried in adverts",
    ),
    same(Instance, "virtual_routes", "routes installed while master"),
    same(
        Instance,
        "virtual_rules",
        "policy rules installed while master",
    ),
    same(
        Instance,
        "authentication",
        "v2 authentication: PASS, or AH (IPsec AH with HMAC-MD5-96, IPv4)",
    ),
    same(Instance, "auth_type", "PASS or AH (inside authentication)"),
    same(
        Instance,
        "auth_pass",
        "the password (inside authentication)",
    ),
    same(
        Instance,
        "nopreempt",
        "a better router does not take over a running master",
    ),
    same(
        Instance,
        "preempt",
        "the default: a better router takes over",
    ),
    same(
        Instance,
        "preempt_delay",
        "how long a better router waits before taking over",
    ),
    same(
        Instance,
        "accept",
        "the master accepts traffic to its VIPs (RFC 5798 Accept_Mode)",
    ),
    differs(
        Instance,
        "no_accept",
        "the master drops traffic to its VIPs",
        "through vrrpd's nftables table `inet vrrpd` (needs nftables)",
    ),
    same(
        Instance,
        "unicast_src_ip",
        "the source address of unicast adverts",
    ),
    same(
        Instance,
        "mcast_src_ip",
        "the source address of multicast adverts",
    ),
    same(
        Instance,
        "unicast_peer",
        "unicast adverts to these peers ([min_ttl N] [max_ttl N])",
    ),
    same(
        Instance,
        "check_unicast_src",
        "drop unicast adverts from other sources",
    ),
    same(
        Instance,
        "unicast_fault_no_peer",
        "FAULT while no unicast peer is configured",
    ),
    same(
        Instance,
        "unicast_ttl",
        "the TTL (IPv6 hop limit) of unicast adverts, 255 by default",
    ),
    same(
        Instance,
        "use_vmac",
        "a macvlan with the virtual MAC carries the VIPs",
    ),
    same(
        Instance,
        "vmac_xmit_base",
        "adverts leave by the base interface under use_vmac",
    ),
    same(
        Instance,
        "track_interface",
        "interfaces whose state (or weight) counts",
    ),
    same(
        Instance,
        "track_script",
        "scripts whose result (or weight) counts",
    ),
    same(
        Instance,
        "track_file",
        "files whose number (times the weight) counts",
    ),
    same(
        Instance,
        "dont_track_primary",
        "the instance's own interface going down is not a fault",
    ),
    same(
        Instance,
        "skip_check_adv_addr",
        "adverts with another address list are not checked",
    ),
    same(Instance, "strict_mode", "RFC-strict mode for this instance"),
    same(
        Instance,
        "down_timer_adverts",
        "adverts in Master_Down_Interval (3 by default)",
    ),
    same(
        Instance,
        "timer_expired_backup",
        "a master that sent nothing for longer than another router needs to take over steps down (keepalived 2.3)",
    ),
    same(
        Instance,
        "thread_timer_expired",
        "timer_expired_backup's deprecated spelling",
    ),
    same(
        Instance,
        "garp_master_delay",
        "the second gratuitous ARP burst after taking over",
    ),
    same(Instance, "garp_master_repeat", "gratuitous ARPs per burst"),
    same(
        Instance,
        "garp_master_refresh",
        "gratuitous ARPs again every N seconds as master",
    ),
    same(
        Instance,
        "garp_master_refresh_repeat",
        "gratuitous ARPs per refresh",
    ),
    same(
        Instance,
        "garp_lower_prio_delay",
        "the second burst after a lower-priority advert",
    ),
    same(
        Instance,
        "garp_lower_prio_repeat",
        "gratuitous ARPs after a lower-priority advert",
    ),
    same(
        Instance,
        "higher_prio_send_advert",
        "advertise once before stepping down",
    ),
    same(
        Instance,
        "lower_prio_no_advert",
        "no advert in answer to a lower priority",
    ),
    same(Instance, "notify", "a script run on every state change"),
    same(Instance, "notify_master", "a script run on becoming master"),
    same(Instance, "notify_backup", "a script run on becoming backup"),
    same(Instance, "notify_fault", "a script run on entering FAULT"),
    same(
        Instance,
        "notify_stop",
        "a script run when the instance stops",
    ),
    same(
        Instance,
        "notify_deleted",
        "a reload's deletion announced as DELETED",
    ),
    same(
        Instance,
        "notify_master_rx_lower_pri",
        "a script run when a lower priority is heard",
    ),
    same(
        Instance,
        "notify_priority_changes",
        "priority changes announced to the FIFOs",
    ),
    same(Instance, "smtp_alert", "mail this instance's transitions"),
    same(
        Instance,
        "v3_checksum_as_v2",
        "IPv4 VRRPv3 checksums without the pseudo-header (old peers)",
    ),
    ignored(Instance, "debug", "vrrpd's detail is -D"),
    ignored(Instance, "lvs_sync_daemon_interface", VRRP_ONLY),
    same(
        Instance,
        "garp_extra_if",
        "periodic gratuitous ARPs on the other interfaces ([all] SECS)",
    ),
    same(
        Instance,
        "track_process",
        "processes whose count changes priority or faults",
    ),
    ignored(Instance, "track_bfd", VRRP_ONLY),
    same(
        Instance,
        "old_unicast_checksum",
        "keepalived's pre-1.3.6 VRRPv3 unicast checksum ([never])",
    ),
    ignored(Instance, "native_ipv6", NOT_YET),
    ignored(Instance, "use_ipvlan", NOT_YET),
    ignored(Instance, "use_vmac_addr", NOT_YET),
    ignored(Instance, "kernel_rx_buf_size", KERNEL_BUFFERS),
    ignored(Instance, "promote_secondaries", NOT_YET),
    ignored(Instance, "track_src_ip", NOT_YET),
    ignored(Instance, "mcast_dst_ip", NOT_YET),
    ignored(Instance, "interface_up_down_delays", NOT_YET),
    ignored(
        Instance,
        "linkbeat_use_polling",
        "vrrpd follows links through netlink",
    ),
    // vrrp_script
    same(Script, "script", "the command"),
    same(Script, "interval", "seconds between runs"),
    same(Script, "timeout", "seconds before a run counts as failed"),
    same(
        Script,
        "weight",
        "the priority it adds or takes away ([reverse])",
    ),
    same(Script, "rise", "successes before it counts as up"),
    same(Script, "fall", "failures before it counts as down"),
    same(Script, "user", "who it runs as"),
    same(Script, "init_fail", "it starts as failed"),
    // vrrp_track_file
    same(TrackFile, "file", "the file holding the number"),
    same(TrackFile, "weight", "the multiplier ([reverse])"),
    same(
        TrackFile,
        "init_file",
        "create it with this number if missing ([overwrite])",
    ),
    // vrrp_track_process
    same(
        TrackProcess,
        "process",
        "the process name (and parameters) to match",
    ),
    same(
        TrackProcess,
        "param_match",
        "parameters compared partially or initially",
    ),
    same(TrackProcess, "weight", "added while up ([reverse])"),
    same(
        TrackProcess,
        "quorum",
        "the fewest matching processes for up",
    ),
    same(
        TrackProcess,
        "quorum_max",
        "the most matching processes for up",
    ),
    same(
        TrackProcess,
        "fork_delay",
        "how long a fork's quorum must hold",
    ),
    same(
        TrackProcess,
        "terminate_delay",
        "how long a lost quorum is waited out",
    ),
    same(
        TrackProcess,
        "delay",
        "fork_delay and terminate_delay at once",
    ),
    same(
        TrackProcess,
        "full_command",
        "match the command line, not the process name",
    ),
    // vrrp_sync_group
    same(SyncGroup, "group", "the member instances"),
    same(
        SyncGroup,
        "track_interface",
        "interfaces whose state counts for the whole group",
    ),
    same(
        SyncGroup,
        "track_script",
        "scripts whose result counts for the whole group",
    ),
    same(
        SyncGroup,
        "track_file",
        "files whose number counts for the whole group",
    ),
    same(
        SyncGroup,
        "track_process",
        "processes whose count counts for the whole group",
    ),
    same(
        SyncGroup,
        "notify",
        "a script run on every group state change",
    ),
    same(
        SyncGroup,
        "notify_master",
        "a script run when the group becomes master",
    ),
    same(
        SyncGroup,
        "notify_backup",
        "a script run when the group becomes backup",
    ),
    same(
        SyncGroup,
        "notify_fault",
        "a script run when the group enters FAULT",
    ),
    same(
        SyncGroup,
        "notify_stop",
        "a script run when the group stops",
    ),
    same(SyncGroup, "smtp_alert", "mail the group's transitions"),
    same(
        SyncGroup,
        "global_tracking",
        "keepalived's older spelling of sync_group_tracking_weight",
    ),
    same(
        SyncGroup,
        "sync_group_tracking_weight",
        "members' weighted tracking applies",
    ),
];

/// The entry for `name` in `block`.
pub fn lookup(block: Block, name: &str) -> Option<&'static Keyword> {
    KEYWORDS.iter().find(|k| k.block == block && k.name == name)
}
