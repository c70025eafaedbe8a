//! The typed configuration: what keepalived.conf means, with keepalived's defaults filled in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use vrrp_common::wire::Family;
use vrrp_common::wire::vrrp::Version;

use super::syntax::Location;

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub global: GlobalDefs,
    /// Shared with the daemon's plans (`InstancePlan::config`), which held a copy each: a lone
    /// daemon with 1000 instances had 15280 kB of anonymous PSS with the copies, 12844 and
    /// 13200 kB without (issue 20, target 5).
    pub instances: Vec<Arc<Instance>>,
    pub scripts: Vec<Script>,
    pub track_files: Vec<TrackFile>,
    pub track_processes: Vec<TrackProcess>,
    pub sync_groups: Vec<SyncGroup>,
    pub statics: Statics,
}

/// `static_ipaddress`, `static_routes` and `static_rules`: installed while the daemon runs,
/// whatever the instances' states; a reload installs what is new and removes what is gone, and
/// a stop removes them all (keepalived 2.2.7 does all three; routes and rules as its own).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Statics {
    pub addresses: Vec<VirtualAddress>,
    pub routes: Vec<VirtualRoute>,
    pub rules: Vec<VirtualRule>,
}

impl Config {
    /// Every command the file configures: what keepalived's config test checks for script
    /// security.
    pub fn commands(&self) -> Vec<ConfiguredCommand<'_>> {
        let other = |what: String, command| ConfiguredCommand {
            what,
            command,
            tracking: false,
        };
        let fifos = [&self.global.notify_fifo, &self.global.vrrp_notify_fifo]
            .into_iter()
            .flatten()
            .filter_map(|fifo| fifo.script.as_ref())
            .map(|command| other("notify_fifo_script".to_string(), command));
        let scripts = self.scripts.iter().map(|script| ConfiguredCommand {
            what: format!("track script {}", script.name),
            command: &script.command,
            tracking: true,
        });
        let notifies = self
            .instances
            .iter()
            .map(|instance| (&instance.name, &instance.notify))
            .chain(
                self.sync_groups
                    .iter()
                    .map(|group| (&group.name, &group.notify)),
            )
            .flat_map(|(owner, notify)| {
                notify
                    .commands()
                    .map(move |(keyword, command)| other(format!("({owner}) {keyword}"), command))
            });
        fifos.chain(scripts).chain(notifies).collect()
    }
}

/// One command of the file, and what it is ("track script chk", "(VI_1) notify_master", ...).
#[derive(Debug)]
pub struct ConfiguredCommand<'a> {
    pub what: String,
    pub command: &'a Command,
    /// A `vrrp_script`'s: keepalived disables such a script when it cannot run it.
    pub tracking: bool,
}

/// A user (and optional group) scripts run as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunAs {
    pub user: String,
    pub group: Option<String>,
}

/// `notify_fifo` / `vrrp_notify_fifo`: a FIFO that receives one line per transition, and an
/// optional script keepalived starts to read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyFifo {
    pub path: PathBuf,
    pub script: Option<Command>,
}

/// keepalived's gratuitous ARP / unsolicited NA settings, and the two that say how a master
/// answers other priorities: in `global_defs` as `vrrp_garp_*` (the defaults), per instance as
/// `garp_*` (the same keywords without `vrrp_`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Garp {
    /// Second burst this long after becoming master (0: none).
    pub master_delay: Duration,
    /// Messages per burst.
    pub master_repeat: u32,
    /// Periodic refresh while master (0: none).
    pub master_refresh: Duration,
    pub master_refresh_repeat: u32,
    /// Gratuitous ARPs a master sends on hearing a lower-priority advert, and the delay of
    /// their second burst; unset, keepalived takes the (global) garp_master values.
    pub lower_prio_repeat: Option<u32>,
    pub lower_prio_delay: Option<Duration>,
    /// A master answers a lower-priority advert without an advert of its own.
    pub lower_prio_no_advert: bool,
    /// A master sends one more advert before stepping down for a higher priority.
    pub higher_prio_send_advert: bool,
    /// `garp_extra_if [all] SECS`: periodic messages for the addresses on the instance's
    /// virtual-MAC interface (or, with `all`, on any interface) other than the one adverts leave
    /// by, to keep switches' MAC tables fresh (0: none).
    pub extra_if_interval: Duration,
    pub extra_if_all: bool,
}

impl Default for Garp {
    fn default() -> Self {
        Garp {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
            lower_prio_repeat: None,
            lower_prio_delay: None,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            extra_if_interval: Duration::ZERO,
            extra_if_all: false,
        }
    }
}

impl Garp {
    /// The lower-priority burst: as set, or keepalived's default, the garp_master values.
    pub fn lower_prio_repeat(&self) -> u32 {
        self.lower_prio_repeat.unwrap_or(self.master_repeat)
    }

    pub fn lower_prio_delay(&self) -> Duration {
        self.lower_prio_delay.unwrap_or(self.master_delay)
    }

    /// An instance's starting point: the global settings, with the lower-priority defaults
    /// fixed from the global garp_master values (keepalived resolves them globally, so an
    /// instance's own garp_master_repeat does not move them).
    pub fn for_instance(&self) -> Garp {
        Garp {
            lower_prio_repeat: Some(self.lower_prio_repeat()),
            lower_prio_delay: Some(self.lower_prio_delay()),
            ..*self
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct GlobalDefs {
    pub router_id: Option<String>,
    /// `net_namespace NAME`: the network namespace (/run/netns/NAME) vrrpd runs in.
    pub net_namespace: Option<String>,
    /// `instance NAME`: names this daemon's runtime files (several daemons on one host).
    pub instance_name: Option<String>,
    pub mcast_group4: Ipv4Addr,
    pub mcast_group6: Ipv6Addr,
    /// The `vrrp_garp_*` defaults of every instance.
    pub garp: Garp,
    /// Pause between gratuitous ARPs of one burst.
    pub garp_interval: Duration,
    /// Pause between unsolicited neighbour adverts of one burst.
    pub gna_interval: Duration,
    pub vrrp_version: Version,
    /// `smtp_alert` / `smtp_alert_vrrp`: the default of every instance's and sync group's
    /// `smtp_alert` ([`GlobalDefs::vrrp_smtp_alert`]).
    pub smtp_alert: Option<bool>,
    pub smtp_alert_vrrp: Option<bool>,
    /// `no_email_faults`: no email for a transition to FAULT.
    pub no_email_faults: bool,
    /// `smtp_helo_name`: the name the SMTP conversation greets with (default: the host name).
    pub smtp_helo_name: Option<String>,
    pub skip_check_adv_addr: bool,
    /// `vrrp_check_unicast_src`: every unicast instance checks its sources (below).
    pub check_unicast_src: bool,
    pub vrrp_strict: bool,
    pub startup_delay: Duration,
    /// keepalived 2.4's `vrrp_delay_after_boot`: instances do not start before the system
    /// has been up this long (interfaces and switch ports that are still settling after a
    /// boot would make a backup miss its master's adverts and take over).
    pub delay_after_boot: Duration,
    pub enable_script_security: bool,
    pub script_user: Option<RunAs>,
    pub notification_email: Vec<String>,
    pub notification_email_from: Option<String>,
    pub smtp_server: Option<(String, u16)>,
    pub smtp_connect_timeout: Duration,
    pub notify_fifo: Option<NotifyFifo>,
    pub vrrp_notify_fifo: Option<NotifyFifo>,
    pub scheduling: Scheduling,
    /// `dynamic_interfaces`: an instance whose interface does not exist yet waits for it (and
    /// is in FAULT while it is deleted) instead of being dropped from the configuration.
    pub dynamic_interfaces: bool,
    /// `vrrp_down_timer_adverts`: the instances' default for `down_timer_adverts`.
    pub down_timer_adverts: u8,
    /// `vrrp_notify_priority_changes`: the instances' default for `notify_priority_changes`.
    pub notify_priority_changes: bool,
    /// `fifo_write_vrrp_states_on_reload`: after a reload, every instance's and sync group's
    /// state is written to the FIFOs again.
    pub fifo_write_states_on_reload: bool,
    /// `json_version 1|2`: the JSON dump a plain array (1, keepalived's default) or an object
    /// whose "vrrp" member is that array (2).
    pub json_version: u8,
    /// Where SIGUSR1's data dump, SIGUSR2's stats dump and SIGJSON's dump go instead of
    /// keepalived's /tmp files (`state_dump_file`, `stats_dump_file`, `json_dump_file`).
    pub state_dump_file: Option<PathBuf>,
    pub stats_dump_file: Option<PathBuf>,
    pub json_dump_file: Option<PathBuf>,
    /// `enable_snmp_*`, `enable_traps`, `snmp_socket`: the AgentX subagent.
    pub snmp: Snmp,
}

/// keepalived's SNMP settings for its VRRP process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snmp {
    /// `enable_snmp_vrrp` (or its older name `enable_snmp_keepalived`): KEEPALIVED-MIB.
    pub keepalived_mib: bool,
    /// `enable_snmp_rfcv2` (or `enable_snmp_rfc`): VRRP-MIB, RFC 2787.
    pub rfcv2: bool,
    /// `enable_snmp_rfcv3` (or `enable_snmp_rfc`): VRRPV3-MIB, RFC 6527.
    pub rfcv3: bool,
    /// `enable_traps`: the notifications of every enabled MIB.
    pub traps: bool,
    /// `snmp_socket`: the master agent (default unix:/var/agentx/master).
    pub socket: Option<String>,
}

/// keepalived's scheduling settings for its VRRP process (`vrrp_priority`, `vrrp_no_swap`,
/// `vrrp_rt_priority`, `vrrp_rlimit_rttime`, `vrrp_cpu_affinity`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scheduling {
    /// Nice value, -20..=19.
    pub nice: Option<i32>,
    /// Lock the daemon's memory so that it is never paged out.
    pub no_swap: bool,
    /// SCHED_RR priority, 1..=99, for the protocol thread (whose deadlines are the takeover).
    pub rt_priority: Option<u32>,
    /// RLIMIT_RTTIME in microseconds: real-time CPU time without blocking before the kernel
    /// stops the daemon.
    pub rlimit_rttime_us: Option<u64>,
    /// CPUs the daemon may run on.
    pub cpu_affinity: Vec<usize>,
}

impl GlobalDefs {
    /// `router_id`, or keepalived's default: the host's name.
    pub fn router_id_or<'a>(&'a self, hostname: &'a str) -> &'a str {
        self.router_id.as_deref().unwrap_or(hostname)
    }

    /// An instance's or sync group's `smtp_alert` when it says none: `smtp_alert_vrrp`, else
    /// `smtp_alert`, else off (keepalived's vrrp.c, vrrp_complete_instance).
    pub fn vrrp_smtp_alert(&self) -> bool {
        self.smtp_alert_vrrp.or(self.smtp_alert).unwrap_or(false)
    }
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            net_namespace: None,
            instance_name: None,
            mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            garp: Garp::default(),
            garp_interval: Duration::ZERO,
            gna_interval: Duration::ZERO,
            vrrp_version: Version::V2,
            smtp_alert: None,
            smtp_alert_vrrp: None,
            no_email_faults: false,
            smtp_helo_name: None,
            skip_check_adv_addr: false,
            check_unicast_src: false,
            vrrp_strict: false,
            startup_delay: Duration::ZERO,
            delay_after_boot: Duration::ZERO,
            enable_script_security: false,
            script_user: None,
            scheduling: Scheduling::default(),
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_connect_timeout: Duration::from_secs(30),
            notify_fifo: None,
            vrrp_notify_fifo: None,
            dynamic_interfaces: false,
            down_timer_adverts: vrrp_common::time::RFC_DOWN_TIMER_ADVERTS,
            notify_priority_changes: false,
            fifo_write_states_on_reload: false,
            json_version: 1,
            state_dump_file: None,
            stats_dump_file: None,
            json_dump_file: None,
            snmp: Snmp::default(),
        }
    }
}

/// keepalived's `state`: only the owner's MASTER changes behaviour (see the state machine).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitialState {
    Master,
    Backup,
}

/// v2 authentication (`authentication { auth_type ...; auth_pass ... }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authentication {
    /// Simple text password, zero-padded to 8 bytes.
    Pass([u8; 8]),
    /// IPsec AH (keepalived's, RFC 2338's type 2): the key of its HMAC-MD5-96, zero-padded.
    Ah([u8; 8]),
}

/// keepalived's VRRPv3 unicast checksum before 1.3.6 put the multicast group in the
/// pseudo-header (`old_unicast_checksum`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OldUnicastChecksum {
    /// The current checksum, switching to the old one on hearing a peer that sends it
    /// (keepalived's default).
    Detect,
    /// `old_unicast_checksum`: the old checksum from the start.
    Use,
    /// `old_unicast_checksum never`: the current checksum only.
    Never,
}

/// `scope` of an address, as iproute2 names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Global,
    Site,
    Link,
    Host,
    Nowhere,
}

impl Scope {
    /// The rtnetlink value (RT_SCOPE_*).
    pub const fn rt_scope(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
        }
    }
}

/// An entry of a list in the file (a virtual address, route or rule) that carries where it was
/// written. A reload compares entries for what they install, not for where they stand: a line
/// moved or a comment added above it changes nothing on the router.
pub trait Located: Clone + PartialEq {
    fn location_mut(&mut self) -> &mut Location;

    fn location(&self) -> &Location;

    /// The same entry, wherever either was written.
    fn installs_as(&self, other: &Self) -> bool {
        let mut mine = self.clone();
        mine.location_mut().clone_from(other.location());
        mine == *other
    }
}

/// The entries of `mine` that `theirs` lacks, compared for what they install: what a reload
/// adds (`mine` the new list) or removes (`mine` the old one).
pub fn missing_from<T: Located>(mine: &[T], theirs: &[T]) -> Vec<T> {
    mine.iter()
        .filter(|entry| !theirs.iter().any(|other| entry.installs_as(other)))
        .cloned()
        .collect()
}

/// Implements [`Located`] for entries with a `location` field.
macro_rules! located {
    ($($entry:ty),*) => {$(
        impl Located for $entry {
            fn location_mut(&mut self) -> &mut Location {
                &mut self.location
            }

            fn location(&self) -> &Location {
                &self.location
            }
        }
    )*};
}

located!(VirtualAddress, VirtualRoute, VirtualRule);

/// One entry of `virtual_ipaddress` / `virtual_ipaddress_excluded`:
/// `<IP>[/mask] [brd X] [dev X] [scope X] [label X] [no_track]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualAddress {
    pub address: IpAddr,
    pub prefix: u8,
    pub broadcast: Option<Ipv4Addr>,
    pub device: Option<String>,
    pub scope: Option<Scope>,
    pub label: Option<String>,
    pub no_track: bool,
    pub location: Location,
}

/// One entry of `virtual_routes`: `<dest>/<len> [src X] [via|gw X] [dev X] [metric N]
/// [table N] [blackhole]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualRoute {
    pub destination: IpAddr,
    pub prefix: u8,
    pub source: Option<IpAddr>,
    pub gateway: Option<IpAddr>,
    pub device: Option<String>,
    pub metric: Option<u32>,
    pub table: Option<u32>,
    pub blackhole: bool,
    /// keepalived's `no_track`: its deletion by someone else does not move the instance.
    pub no_track: bool,
    pub location: Location,
}

/// One entry of `virtual_rules` (policy routing, as `ip rule` writes it):
/// `[not] [from PREFIX|all] [to PREFIX|all] [iif X] [oif X] [fwmark N[/M]] [tos N]
/// [priority|preference|pref N] [table|lookup N | goto N | blackhole | unreachable | prohibit]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualRule {
    /// From the addresses; `None` (only `all`) means the instance's own family.
    pub family: Option<Family>,
    pub from: Option<(IpAddr, u8)>,
    pub to: Option<(IpAddr, u8)>,
    /// `not`: the selector is inverted.
    pub invert: bool,
    pub input_interface: Option<String>,
    pub output_interface: Option<String>,
    pub fwmark: Option<(u32, Option<u32>)>,
    pub tos: Option<u8>,
    pub priority: Option<u32>,
    pub target: RuleTarget,
    /// keepalived's `no_track`, as for routes.
    pub no_track: bool,
    pub location: Location,
}

/// What a matching rule does; without one, `ip rule` looks up the main table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleTarget {
    Table(u32),
    Goto(u32),
    Blackhole,
    Unreachable,
    Prohibit,
}

/// A command line as written (notify scripts, vrrp_script), split into arguments the way
/// keepalived splits them: the keyword's first word, or its quoted string, is the whole
/// command line (lib/notify.c, `set_script_params_array`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub line: String,
    pub argv: Vec<String>,
    /// A notify script's own `USER [GROUP]`, the words after the command line (keepalived's
    /// `notify_script_init`); `None` runs it as `script_user`.
    pub run_as: Option<RunAs>,
    pub location: Location,
}

impl Command {
    /// Whether the line uses shell syntax, in which case it runs through `/bin/sh -c`; otherwise
    /// it is executed directly, with no shell to interpret anything.
    pub fn needs_shell(&self) -> bool {
        self.line.chars().any(|c| {
            matches!(
                c,
                '|' | '&' | ';' | '<' | '>' | '$' | '`' | '(' | ')' | '*' | '?' | '~' | '\n'
            )
        })
    }
}

/// `unicast_peer { <IP> [min_ttl N] [max_ttl N] }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnicastPeer {
    pub address: IpAddr,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
}

impl UnicastPeer {
    /// The TTLs this peer's adverts are accepted with, for the XDP program and socket mode alike.
    pub fn ttl_range(&self) -> vrrp_common::maps::PeerTtl {
        let any = vrrp_common::maps::PeerTtl::ANY;
        vrrp_common::maps::PeerTtl {
            min: self.min_ttl.unwrap_or(any.min),
            max: self.max_ttl.unwrap_or(any.max),
        }
    }
}

/// A tracked object and its weight (None: failure means FAULT).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tracked {
    pub name: String,
    pub weight: Option<i32>,
    /// `reverse`: success lowers, failure raises.
    pub reverse: bool,
    pub location: Location,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notify {
    pub master: Option<Command>,
    pub backup: Option<Command>,
    pub fault: Option<Command>,
    pub stop: Option<Command>,
    /// `notify`: called with four arguments (INSTANCE|GROUP, name, state, priority).
    pub any: Option<Command>,
    /// `notify_master_rx_lower_pri`: as master, an advert with a lower priority was heard.
    pub master_rx_lower_pri: Option<Command>,
    /// `notify_deleted SCRIPT`: run when a reload removes the instance.
    pub deleted: Option<Command>,
}

impl Notify {
    pub const fn none() -> Notify {
        Notify {
            master: None,
            backup: None,
            fault: None,
            stop: None,
            any: None,
            master_rx_lower_pri: None,
            deleted: None,
        }
    }

    /// Each configured script with its keyword.
    pub fn commands(&self) -> impl Iterator<Item = (&'static str, &Command)> {
        [
            ("notify_master", &self.master),
            ("notify_backup", &self.backup),
            ("notify_fault", &self.fault),
            ("notify_stop", &self.stop),
            ("notify", &self.any),
            ("notify_master_rx_lower_pri", &self.master_rx_lower_pri),
            ("notify_deleted", &self.deleted),
        ]
        .into_iter()
        .filter_map(|(keyword, command)| command.as_ref().map(|c| (keyword, c)))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub name: String,
    pub location: Location,
    /// No interface or no virtual_router_id (a fragment meant for inclusion, like the seed's
    /// notify lines): kept for `vrrpd -t`, never run — keepalived drops such instances too.
    pub incomplete: bool,
    pub state: Option<InitialState>,
    pub interface: String,
    pub vrid: u8,
    pub priority: u8,
    /// Advertisement interval in centiseconds.
    pub advert_interval_cs: u16,
    pub version: Version,
    pub family: Family,
    pub authentication: Option<Authentication>,
    pub addresses: Vec<VirtualAddress>,
    pub excluded_addresses: Vec<VirtualAddress>,
    pub routes: Vec<VirtualRoute>,
    pub rules: Vec<VirtualRule>,
    pub mcast_src_ip: Option<IpAddr>,
    pub unicast_src_ip: Option<IpAddr>,
    pub unicast_peers: Vec<UnicastPeer>,
    /// keepalived's `unicast_ttl`: the TTL (IPv6 hop limit) of unicast adverts (255).
    pub unicast_ttl: u8,
    pub preempt: bool,
    pub preempt_delay: Duration,
    /// `use_vmac [name]`: the macvlan's name (default `vrrp.<vrid>`).
    pub use_vmac: Option<String>,
    pub vmac_xmit_base: bool,
    pub track_interfaces: Vec<Tracked>,
    pub track_scripts: Vec<Tracked>,
    pub track_files: Vec<Tracked>,
    pub track_processes: Vec<Tracked>,
    pub notify: Notify,
    /// `smtp_alert [BOOL]`; unset, global `smtp_alert_vrrp`, then `smtp_alert`, decide (see
    /// [`GlobalDefs::vrrp_smtp_alert`]), once the whole file is read.
    pub smtp_alert: Option<bool>,
    /// v3 Accept_Mode; `None` leaves keepalived's default (accept unless vrrp_strict).
    pub accept: Option<bool>,
    pub garp: Garp,
    pub dont_track_primary: bool,
    pub strict_mode: bool,
    pub v3_checksum_as_v2: bool,
    /// keepalived's `old_unicast_checksum [never]`.
    pub old_unicast_checksum: OldUnicastChecksum,
    pub skip_check_adv_addr: bool,
    /// `check_unicast_src` (or global `vrrp_check_unicast_src`, or a peer's `min_ttl` /
    /// `max_ttl`, which imply it as in keepalived's vrrp_parser.c): a unicast advert must come
    /// from a configured peer, with a TTL in its range. Without it keepalived accepts adverts
    /// from any source (vrrp.c, vrrp_check_packet).
    pub check_unicast_src: bool,
    /// keepalived's `down_timer_adverts`: advert intervals in Master_Down_Interval (RFC: 3;
    /// any other count deviates from the protocol, and every router must use the same).
    pub down_timer_adverts: u8,
    /// keepalived 2.3's `timer_expired_backup [PRIORITY]` (see `fsm::Params`).
    pub timer_expired_backup: Option<u8>,
    /// keepalived's `notify_priority_changes`: FIFO lines (MASTER_PRIORITY / BACKUP_PRIORITY)
    /// when the effective priority changes.
    pub notify_priority_changes: bool,
    /// keepalived's `notify_deleted [SCRIPT]`: a reload that removes the instance announces
    /// DELETED rather than FAULT.
    pub notify_deleted: bool,
    /// keepalived's `unicast_fault_no_peer`: a unicast instance without peers is in FAULT
    /// rather than falling back to multicast.
    pub unicast_fault_no_peer: bool,
}

impl Instance {
    /// The interface keepalived shows a virtual address on: its own `dev` when that names
    /// another interface, else the macvlan under `use_vmac` (`vmac`, its name), else the
    /// instance's interface (where the daemon installs it).
    pub fn shown_device<'a>(&'a self, vip: &'a VirtualAddress, vmac: Option<&'a str>) -> &'a str {
        match &vip.device {
            Some(device) if device != &self.interface => device.as_str(),
            _ => vmac.unwrap_or(self.interface.as_str()),
        }
    }

    /// keepalived's init_state: MASTER for `state MASTER` and for the address owner (its
    /// SNMP objects and notifications report it; the state machine starts every non-owner as
    /// BACKUP either way).
    pub fn initial_state(&self) -> InitialState {
        if self.state == Some(InitialState::Master) || self.priority == 255 {
            InitialState::Master
        } else {
            InitialState::Backup
        }
    }

    /// An instance before its block is read: keepalived's defaults, and global_defs' where it
    /// has them.
    pub fn with_defaults(name: &str, location: &Location, global: &GlobalDefs) -> Instance {
        Instance {
            name: name.to_string(),
            location: location.clone(),
            incomplete: false,
            state: None,
            interface: String::new(),
            vrid: 0,
            priority: 100,
            advert_interval_cs: 100,
            version: global.vrrp_version,
            family: Family::Ipv4,
            authentication: None,
            addresses: Vec::new(),
            excluded_addresses: Vec::new(),
            routes: Vec::new(),
            rules: Vec::new(),
            mcast_src_ip: None,
            unicast_src_ip: None,
            unicast_peers: Vec::new(),
            unicast_ttl: 255,
            preempt: true,
            preempt_delay: Duration::ZERO,
            use_vmac: None,
            vmac_xmit_base: false,
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            notify: Notify::none(),
            smtp_alert: None,
            accept: None,
            garp: global.garp.for_instance(),
            dont_track_primary: false,
            strict_mode: global.vrrp_strict,
            v3_checksum_as_v2: false,
            old_unicast_checksum: OldUnicastChecksum::Detect,
            skip_check_adv_addr: global.skip_check_adv_addr,
            check_unicast_src: global.check_unicast_src,
            down_timer_adverts: global.down_timer_adverts,
            timer_expired_backup: None,
            notify_priority_changes: global.notify_priority_changes,
            notify_deleted: false,
            unicast_fault_no_peer: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    pub name: String,
    pub location: Location,
    pub command: Command,
    pub interval: Duration,
    pub timeout: Option<Duration>,
    pub weight: i32,
    pub weight_reverse: bool,
    pub rise: u32,
    pub fall: u32,
    pub user: Option<RunAs>,
    pub init_fail: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackFile {
    pub name: String,
    pub location: Location,
    pub path: PathBuf,
    pub weight: i32,
    pub weight_reverse: bool,
    /// `init_file [VALUE] [overwrite]`: create the file with VALUE if missing.
    pub init_value: Option<i64>,
}

/// `vrrp_track_process`: up while the number of matching processes is within
/// `quorum..=quorum_max` (keepalived's core/track_process.c).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackProcess {
    pub name: String,
    pub location: Location,
    /// Matched exactly against the process name (/proc/PID/comm), or under `full_command` or
    /// with parameters against the command line's first element.
    pub process: String,
    /// The parameters that must follow, compared as `param_match` says.
    pub parameters: Vec<String>,
    /// None: the parameters are not looked at (no parameters configured, no `param_match`).
    pub param_match: Option<ParamMatch>,
    pub weight: i32,
    pub weight_reverse: bool,
    pub quorum: u32,
    pub quorum_max: u32,
    /// How long the quorum must hold after a fork before it counts as up.
    pub fork_delay: Duration,
    /// How long the quorum may be lost after a process ended before it counts as down.
    pub terminate_delay: Duration,
    pub full_command: bool,
}

impl TrackProcess {
    /// A tracker of `process` with keepalived's defaults: weight 1, quorum 1, no quorum_max,
    /// no delays, the process name compared, parameters not looked at.
    pub fn new(name: String, location: Location, process: String) -> TrackProcess {
        TrackProcess {
            name,
            location,
            process,
            parameters: Vec::new(),
            param_match: None,
            weight: 1,
            weight_reverse: false,
            quorum: 1,
            quorum_max: u32::MAX,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::ZERO,
            full_command: false,
        }
    }
}

/// How a tracked process's parameters are compared (keepalived's `param_match`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamMatch {
    /// Exactly these parameters (and with none configured: no parameters at all).
    Exact,
    /// These parameters first, others may follow.
    Partial,
    /// As partial, and the last one may be longer than configured.
    Initial,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroup {
    pub name: String,
    pub location: Location,
    pub members: Vec<String>,
    pub notify: Notify,
    /// As [`Instance::smtp_alert`].
    pub smtp_alert: Option<bool>,
    pub track_scripts: Vec<Tracked>,
    /// The group's `track_interface` and `track_file`: like its `track_script`, they act on
    /// every member.
    pub track_interfaces: Vec<Tracked>,
    pub track_files: Vec<Tracked>,
    pub track_processes: Vec<Tracked>,
    /// `sync_group_tracking_weight`: members keep their weighted tracking.
    pub tracking_weight: bool,
}
