//! KEEPALIVED-MIB's global scalars and VRRP tree, laid out as keepalived 2.2.7's VRRP process
//! serves them (keepalived/core/snmp.c and keepalived/vrrp/vrrp_snmp.c; the values checked
//! side by side against keepalived 2.2.7 by tests/tests/snmp.rs). Columns keepalived leaves out
//! when they have no value (a script not configured, no label) are left out here too.
//!
//! What vrrpd does not have is served as keepalived serves it without: no LVS (lvsFlush and the
//! LVS sync daemon disabled), no D-Bus, the link state from netlink.

use std::net::IpAddr;

use vrrp_common::maps::State;

use super::agentx::Value;
use super::mib::{Inputs, KEEPALIVED, Running, View, oid};
use crate::config::Config;
use crate::config::model::{
    Authentication, Command, InitialState, Instance, RuleTarget, Scope, SyncGroup, Tracked,
    VirtualAddress, VirtualRoute, VirtualRule,
};
use crate::fsm::keepalived_state_number;
use crate::script::command_string;
use crate::track::{Observation, Source};
use vrrp_common::wire::vrrp::Version;

fn global_oid(suffix: &[u32]) -> Vec<u32> {
    oid(&oid(&KEEPALIVED, &[1]), suffix)
}

fn vrrp(suffix: &[u32]) -> Vec<u32> {
    oid(&oid(&KEEPALIVED, &[2]), suffix)
}

/// TruthValue-like enumerations: enabled/true(1), disabled/false(2).
fn yes_no(value: bool) -> Value {
    Value::Integer(if value { 1 } else { 2 })
}

/// keepalived's three-valued smtp_alert settings: on(1), off(2), unset(3).
fn tri_state(value: Option<bool>) -> Value {
    Value::Integer(match value {
        Some(true) => 1,
        Some(false) => 2,
        None => 3,
    })
}

fn address_octets(address: IpAddr) -> Vec<u8> {
    match address {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// InetAddressType: ipv4(1), ipv6(2).
fn address_type(address: IpAddr) -> Value {
    Value::Integer(if address.is_ipv4() { 1 } else { 2 })
}

/// keepalived's snmp_scope: the kernel's scope as an InetScopeType.
fn inet_scope(scope: Option<Scope>) -> i32 {
    match scope.unwrap_or(Scope::Global) {
        Scope::Global => 14,
        Scope::Site => 5,
        Scope::Link => 2,
        Scope::Host => 1,
        Scope::Nowhere => 0,
    }
}

/// The global scalars (KEEPALIVED-MIB::global).
fn fill_global(view: &mut View, inputs: &Inputs) {
    let global = &inputs.config.global;
    view.put(
        global_oid(&[1, 0]),
        Value::string(&format!(
            "vrrpd v{} (keepalived-compatible)",
            crate::version::VERSION
        )),
    );
    view.put(global_oid(&[2, 0]), Value::string(inputs.router_id()));
    let smtp = global
        .smtp_server
        .as_ref()
        .and_then(|(host, port)| Some((host.parse::<IpAddr>().ok()?, *port)));
    // keepalived 2.2.7 says ipv6(2) and four zero octets when no SMTP server is set.
    view.put(
        global_oid(&[3, 1, 0]),
        smtp.map_or(Value::Integer(2), |(address, _)| address_type(address)),
    );
    view.put(
        global_oid(&[3, 2, 0]),
        Value::OctetString(smtp.map_or(vec![0; 4], |(address, _)| address_octets(address))),
    );
    view.put(
        global_oid(&[3, 3, 0]),
        Value::Gauge32(smtp.map_or(0, |_| global.smtp_connect_timeout.as_secs() as u32)),
    );
    if let Some(from) = &global.notification_email_from {
        view.put(global_oid(&[3, 4, 0]), Value::string(from));
    }
    for (index, email) in global.notification_email.iter().enumerate() {
        view.put(
            global_oid(&[3, 5, 1, 2, index as u32 + 1]),
            Value::string(email),
        );
    }
    view.put(
        global_oid(&[3, 6, 0]),
        Value::Gauge32(smtp.map_or(0, |(_, port)| u32::from(port))),
    );
    view.put(global_oid(&[3, 7, 0]), yes_no(!global.no_email_faults));
    view.put(global_oid(&[3, 8, 0]), tri_state(global.smtp_alert));
    view.put(global_oid(&[3, 9, 0]), tri_state(global.smtp_alert_vrrp));
    // smtpEmailSmtpAlertChecker: vrrpd has no checker.
    view.put(global_oid(&[3, 10, 0]), tri_state(None));
    view.put(global_oid(&[4, 0]), yes_no(global.snmp.traps));
    // linkBeat: netlink(1), as vrrpd always watches links.
    view.put(global_oid(&[5, 0]), Value::Integer(1));
    // lvsFlush: disabled; ipvs64BitStats: true (Debian's keepalived is built with them).
    view.put(global_oid(&[6, 0]), Value::Integer(2));
    view.put(global_oid(&[7, 0]), Value::Integer(1));
    view.put(
        global_oid(&[8, 0]),
        Value::string(global.net_namespace.as_deref().unwrap_or("")),
    );
    // dbus: false; vrrpd has no D-Bus interface.
    view.put(global_oid(&[9, 0]), Value::Integer(2));
    view.put(global_oid(&[10, 0]), yes_no(global.dynamic_interfaces));
    // lvsFlushOnStop: disabled.
    view.put(global_oid(&[11, 0]), Value::Integer(2));
}

/// A sync group's state: its members' when they agree, FAULT if one is in FAULT, else BACKUP
/// (keepalived moves a group as a whole, so a split is the moment of a transition).
fn group_state(members: &[State]) -> State {
    if members.contains(&State::Fault) {
        State::Fault
    } else if let Some(first) = members.first()
        && members.iter().all(|s| s == first)
    {
        *first
    } else {
        State::Backup
    }
}

fn fill_sync_groups(view: &mut View, inputs: &Inputs) {
    let config = inputs.config;
    for (group_index, group) in config.sync_groups.iter().enumerate() {
        let g = group_index as u32 + 1;
        let states: Vec<State> = group
            .members
            .iter()
            .filter_map(|m| inputs.instances.iter().find(|(_, s)| &s.name == m))
            .map(|(_, s)| s)
            .map(|s| s.state)
            .collect();
        let column = |c: u32| vrrp(&[1, 1, c, g]);
        view.put(column(2), Value::string(&group.name));
        view.put(
            column(3),
            Value::Integer(i32::from(keepalived_state_number(group_state(&states)))),
        );
        view.put(
            column(4),
            yes_no(
                group
                    .smtp_alert
                    .unwrap_or_else(|| config.global.vrrp_smtp_alert()),
            ),
        );
        let notify = &group.notify;
        let any_script = script_columns(
            view,
            column,
            &[
                (6, &notify.master),
                (7, &notify.backup),
                (8, &notify.fault),
                (9, &notify.any),
            ],
        );
        view.put(column(5), yes_no(any_script));
        view.put(column(10), yes_no(group.tracking_weight));
        script_columns(view, column, &[(11, &notify.stop)]);
        fill_group_tracking(view, inputs, g, group);
        for (member_index, member) in group.members.iter().enumerate() {
            view.put(
                vrrp(&[2, 1, 2, g, member_index as u32 + 1]),
                Value::string(member),
            );
        }
    }
}

/// Rows of a tracked-interface table (4 for an instance, 14 for a sync group), by position in
/// the list (keepalived 2.2.7's index; the MIB says ifIndex): name, weight, reverse.
fn interface_rows<'a>(
    view: &mut View,
    table: u32,
    owner: u32,
    list: impl Iterator<Item = &'a Tracked>,
) {
    for (position, tracked) in list.enumerate() {
        let column = |c: u32| vrrp(&[table, 1, c, owner, position as u32 + 1]);
        view.put(column(1), Value::string(&tracked.name));
        view.put(column(2), Value::Integer(tracked.weight.unwrap_or(0)));
        view.put(column(3), yes_no(tracked.reverse));
    }
}

/// Rows of a tracked script, file or process table, by position: name, weight (the tracker's,
/// else the script's or file's own), reverse. `defaults` gives a tracked name's own weight and
/// reverse; a name it does not know (no such script) has no row, as in keepalived.
fn tracked_rows(
    view: &mut View,
    table: u32,
    owner: u32,
    list: &[Tracked],
    defaults: impl Fn(&str) -> Option<(i32, bool)>,
) {
    for (position, tracked) in list.iter().enumerate() {
        let Some((weight, reverse)) = defaults(&tracked.name) else {
            continue;
        };
        let column = |c: u32| vrrp(&[table, 1, c, owner, position as u32 + 1]);
        view.put(column(2), Value::string(&tracked.name));
        view.put(column(3), Value::Integer(tracked.weight.unwrap_or(weight)));
        view.put(
            column(4),
            yes_no(tracked.reverse || (tracked.weight.is_none() && reverse)),
        );
    }
}

/// vrrpSyncTrackedInterfaceTable (14), ...ScriptTable (15), ...FileTable (16) and
/// ...ProcessTable (22): a sync group's tracking.
fn fill_group_tracking(view: &mut View, inputs: &Inputs, g: u32, group: &SyncGroup) {
    let config = inputs.config;
    interface_rows(view, 14, g, group.track_interfaces.iter());
    tracked_rows(view, 15, g, &group.track_scripts, |name| {
        Tracks::Scripts.defaults(config, name)
    });
    tracked_rows(view, 16, g, &group.track_files, |name| {
        Tracks::Files.defaults(config, name)
    });
    tracked_rows(view, 22, g, &group.track_processes, |_| Some((0, false)));
}

/// The notify script columns that are set (keepalived leaves the others out), as keepalived's
/// `cmd_str`; whether any is.
fn script_columns(
    view: &mut View,
    column: impl Fn(u32) -> Vec<u32>,
    scripts: &[(u32, &Option<Command>)],
) -> bool {
    let mut any = false;
    for (c, command) in scripts {
        if let Some(command) = command {
            view.put(column(*c), Value::string(&command_string(command)));
            any = true;
        }
    }
    any
}

/// keepalived's init_state as a state.
pub fn initial_state(plan: &Running) -> State {
    match plan.config.initial_state() {
        InitialState::Master => State::Master,
        InitialState::Backup => State::Backup,
    }
}

fn fill_instance(
    view: &mut View,
    inputs: &Inputs,
    index: u32,
    plan: &Running,
    state: State,
    effective_priority: u8,
) {
    let instance = &plan.config;
    let global = &inputs.config.global;
    let column = |c: u32| vrrp(&[3, 1, c, index]);
    let state_value = |s: State| Value::Integer(i32::from(keepalived_state_number(s)));
    view.put(column(2), Value::string(&instance.name));
    view.put(column(3), Value::Gauge32(u32::from(instance.vrid)));
    view.put(column(4), state_value(state));
    view.put(column(5), state_value(initial_state(plan)));
    view.put(column(6), state_value(state));
    view.put(column(7), Value::Integer(i32::from(instance.priority)));
    view.put(column(8), Value::Integer(i32::from(effective_priority)));
    view.put(column(9), yes_no(state == State::Master));
    view.put(column(10), Value::string(&instance.interface));
    // vrrpInstanceTrackPrimaryIf: whether the instance tracks interfaces besides its own
    // (keepalived tests its list of tracked interfaces, which leaves the primary out).
    view.put(
        column(11),
        yes_no(tracked_interfaces(plan).next().is_some()),
    );
    // Seconds for VRRPv2, centiseconds for VRRPv3 (the MIB says so).
    let interval = match instance.version {
        Version::V2 => u32::from(instance.advert_interval_cs) / 100,
        Version::V3 => u32::from(instance.advert_interval_cs),
    };
    view.put(column(12), Value::Gauge32(interval));
    view.put(column(13), yes_no(instance.preempt));
    view.put(
        column(14),
        Value::Gauge32(instance.preempt_delay.as_secs() as u32),
    );
    let auth_type = match (instance.version, &instance.authentication) {
        (Version::V2, Some(Authentication::Pass(_))) => 1,
        (Version::V2, Some(Authentication::Ah(_))) => 2,
        _ => 0,
    };
    view.put(column(15), Value::Integer(auth_type));
    // vrrpInstanceLvsSyncDaemon: disabled (no LVS).
    view.put(column(16), Value::Integer(2));
    if let Some(group) = &plan.sync_group {
        view.put(column(18), Value::string(group));
    }
    view.put(
        column(19),
        Value::Gauge32(instance.garp.master_delay.as_secs() as u32),
    );
    view.put(
        column(20),
        yes_no(
            instance
                .smtp_alert
                .unwrap_or_else(|| global.vrrp_smtp_alert()),
        ),
    );
    let notify = &instance.notify;
    let notify_exec = script_columns(
        view,
        column,
        &[
            (22, &notify.master),
            (23, &notify.backup),
            (24, &notify.fault),
            (25, &notify.stop),
            (26, &notify.any),
            (31, &notify.master_rx_lower_pri),
            (32, &notify.deleted),
        ],
    );
    view.put(column(21), yes_no(notify_exec));
    // vrrpInstanceAccept: VRRPv3 only, 0 for VRRPv2 (keepalived's vrrp_snmp.c).
    view.put(
        column(27),
        Value::Integer(match instance.version {
            Version::V2 => 0,
            Version::V3 if plan.accept => 1,
            Version::V3 => 2,
        }),
    );
    // promote_secondaries and linkbeat polling: vrrpd has neither.
    view.put(column(28), Value::Integer(2));
    view.put(column(29), Value::Integer(2));
    view.put(
        column(30),
        Value::Integer(match instance.version {
            Version::V2 => 2,
            Version::V3 => 3,
        }),
    );
    view.put(column(33), yes_no(instance.notify_deleted));
    let group = match plan.family {
        vrrp_common::wire::Family::Ipv4 => IpAddr::V4(global.mcast_group4),
        vrrp_common::wire::Family::Ipv6 => IpAddr::V6(global.mcast_group6),
    };
    view.put(column(34), address_type(group));
    view.put(column(35), Value::OctetString(address_octets(group)));
}

/// One row of vrrpAddressTable: instance 0 holds the static addresses.
fn fill_address(
    view: &mut View,
    inputs: &Inputs,
    row: [u32; 2],
    vip: &VirtualAddress,
    device: &str,
    set: bool,
    advertised: bool,
) {
    let column = |c: u32| vrrp(&[6, 1, c, row[0], row[1]]);
    view.put(column(2), address_type(vip.address));
    view.put(column(3), Value::OctetString(address_octets(vip.address)));
    if vip.address.is_ipv4() {
        let broadcast = vip.broadcast.map_or([0; 4], |b| b.octets());
        view.put(column(4), Value::OctetString(broadcast.to_vec()));
    }
    view.put(column(5), Value::Gauge32(u32::from(vip.prefix)));
    view.put(column(6), Value::Integer(inet_scope(vip.scope)));
    view.put(
        column(7),
        Value::Integer((inputs.interface_index)(device) as i32),
    );
    view.put(column(8), Value::string(device));
    if let Some(label) = &vip.label {
        view.put(column(9), Value::string(label));
    }
    view.put(column(10), yes_no(set));
    view.put(column(11), yes_no(advertised));
}

/// The instance's tracked interfaces as keepalived lists them: it tracks the instance's own
/// interface anyway (unless dont_track_primary) and leaves it out of the list.
fn tracked_interfaces<'a>(plan: &'a Running<'a>) -> impl Iterator<Item = &'a Tracked> {
    let instance = &plan.config;
    instance
        .track_interfaces
        .iter()
        .filter(|t| instance.dont_track_primary || t.name != instance.interface)
}

fn fill_tracking(view: &mut View, inputs: &Inputs, index: u32, plan: &Running) {
    let config = inputs.config;
    interface_rows(view, 4, index, tracked_interfaces(plan));
    tracked_rows(view, 5, index, &plan.config.track_scripts, |name| {
        Tracks::Scripts.defaults(config, name)
    });
    tracked_rows(view, 12, index, &plan.config.track_files, |name| {
        Tracks::Files.defaults(config, name)
    });
}

/// The scripts or the files an instance or a sync group tracks.
#[derive(Clone, Copy)]
enum Tracks {
    Scripts,
    Files,
}

impl Tracks {
    fn of_instance(self, instance: &Instance) -> &[Tracked] {
        match self {
            Tracks::Scripts => &instance.track_scripts,
            Tracks::Files => &instance.track_files,
        }
    }

    /// The weight and reverse of the script or file `name` itself.
    fn defaults(self, config: &Config, name: &str) -> Option<(i32, bool)> {
        match self {
            Tracks::Scripts => config
                .scripts
                .iter()
                .find(|s| s.name == name)
                .map(|s| (s.weight, s.weight_reverse)),
            Tracks::Files => config
                .track_files
                .iter()
                .find(|f| f.name == name)
                .map(|f| (f.weight, f.weight_reverse)),
        }
    }

    fn of_group(self, group: &SyncGroup) -> &[Tracked] {
        match self {
            Tracks::Scripts => &group.track_scripts,
            Tracks::Files => &group.track_files,
        }
    }
}

/// keepalived lists only the scripts and files something tracks (it drops the others, "script
/// chk is not used"); a sync group member's weighted tracking is already gone from its plan.
fn used(inputs: &Inputs, name: &str, tracks: Tracks) -> bool {
    let by_instance = inputs.instances.iter().any(|(plan, _)| {
        tracks
            .of_instance(plan.config)
            .iter()
            .any(|t| t.name == name)
    });
    let by_group = inputs
        .config
        .sync_groups
        .iter()
        .any(|group| tracks.of_group(group).iter().any(|t| t.name == name));
    by_instance || by_group
}

/// vrrpScriptTable and vrrpFileTable: every vrrp_script and vrrp_track_file something tracks,
/// with its state.
fn fill_scripts_and_files(view: &mut View, inputs: &Inputs) {
    let config = inputs.config;
    let scripts = config
        .scripts
        .iter()
        .filter(|s| used(inputs, &s.name, Tracks::Scripts));
    for (position, script) in scripts.enumerate() {
        let column = |c: u32| vrrp(&[9, 1, c, position as u32 + 1]);
        view.put(column(2), Value::string(&script.name));
        view.put(column(3), Value::string(&command_string(&script.command)));
        view.put(
            column(4),
            Value::Integer(script.interval.as_secs().max(1) as i32),
        );
        view.put(column(5), Value::Integer(script.weight));
        // vrrpScriptResult: init(1), bad(2), good(3) (keepalived's vrrp_snmp_script).
        let result = match inputs
            .observations
            .get(&Source::Script(script.name.clone()))
        {
            Some(Observation::Ok(true)) => 3,
            Some(_) => 2,
            None => 1,
        };
        view.put(column(6), Value::Integer(result));
        view.put(column(7), Value::Gauge32(script.rise));
        view.put(column(8), Value::Gauge32(script.fall));
        view.put(column(9), yes_no(script.weight_reverse));
    }
    let files = config
        .track_files
        .iter()
        .filter(|f| used(inputs, &f.name, Tracks::Files));
    for (position, file) in files.enumerate() {
        let column = |c: u32| vrrp(&[13, 1, c, position as u32 + 1]);
        view.put(column(2), Value::string(&file.name));
        view.put(column(3), Value::string(&file.path.display().to_string()));
        let value = match inputs.observations.get(&Source::File(file.name.clone())) {
            Some(Observation::Value(value)) => *value as i32,
            _ => 0,
        };
        view.put(column(4), Value::Integer(value));
        view.put(column(5), Value::Integer(file.weight));
        view.put(column(6), yes_no(file.weight_reverse));
    }
}

/// vrrpRouteTable: a virtual (or, for instance 0, static) route as vrrpd installs it.
fn fill_route(view: &mut View, inputs: &Inputs, row: [u32; 2], route: &VirtualRoute, set: bool) {
    let column = |c: u32| vrrp(&[7, 1, c, row[0], row[1]]);
    view.put(column(2), address_type(route.destination));
    view.put(
        column(3),
        Value::OctetString(address_octets(route.destination)),
    );
    view.put(column(4), Value::Gauge32(u32::from(route.prefix)));
    if let Some(gateway) = route.gateway {
        view.put(column(5), Value::OctetString(address_octets(gateway)));
    }
    if let Some(source) = route.source {
        view.put(column(7), Value::OctetString(address_octets(source)));
    }
    view.put(column(8), Value::Gauge32(route.metric.unwrap_or(0)));
    // The scope vrrpd installs, as keepalived does: universe (global).
    view.put(column(9), Value::Integer(14));
    // vrrpRouteType: unicast(1), blackhole(3).
    view.put(
        column(10),
        Value::Integer(if route.blackhole { 3 } else { 1 }),
    );
    if let Some(device) = &route.device {
        view.put(
            column(11),
            Value::Integer((inputs.interface_index)(device) as i32),
        );
        view.put(column(12), Value::string(device));
    }
    view.put(column(13), Value::Gauge32(route.table.unwrap_or(254)));
    view.put(column(14), yes_no(set));
    // vrrpRouteProtocol: RTPROT_KEEPALIVED (18) + 1, as installed.
    view.put(column(18), Value::Integer(19));
    // vrrpRouteEcn and vrrpRouteQuickAck: off.
    view.put(column(19), Value::Integer(2));
    view.put(column(20), Value::Integer(2));
}

/// vrrpRuleTable: a virtual (or, for instance 0, static) rule.
fn fill_rule(view: &mut View, row: [u32; 2], rule: &VirtualRule, set: bool) {
    let column = |c: u32| vrrp(&[8, 1, c, row[0], row[1]]);
    let direction = match (rule.from, rule.to) {
        (Some(_), Some(_)) => "both",
        (None, Some(_)) => "to",
        (Some(_), None) => "from",
        (None, None) => "",
    };
    view.put(column(2), Value::string(direction));
    // The obsolete single-address columns: the destination if any, else the source.
    if let Some((address, prefix)) = rule.to.or(rule.from) {
        view.put(column(3), address_type(address));
        view.put(column(4), Value::OctetString(address_octets(address)));
        view.put(column(5), Value::Gauge32(u32::from(prefix)));
    }
    if let RuleTarget::Table(table) = rule.target {
        view.put(column(6), Value::Gauge32(table));
        view.put(column(24), Value::Gauge32(table));
    }
    view.put(column(7), yes_no(set));
    view.put(column(8), yes_no(rule.invert));
    for (first, selector) in [(9, rule.to), (12, rule.from)] {
        if let Some((address, prefix)) = selector {
            view.put(column(first), address_type(address));
            view.put(
                column(first + 1),
                Value::OctetString(address_octets(address)),
            );
            view.put(column(first + 2), Value::Gauge32(u32::from(prefix)));
        }
    }
    view.put(column(15), Value::Gauge32(u32::from(rule.tos.unwrap_or(0))));
    if let Some((mark, mask)) = rule.fwmark {
        view.put(column(16), Value::Gauge32(mark));
        if let Some(mask) = mask {
            view.put(column(17), Value::Gauge32(mask));
        }
    }
    if let Some(device) = &rule.input_interface {
        view.put(column(20), Value::string(device));
    }
    if let Some(device) = &rule.output_interface {
        view.put(column(21), Value::string(device));
    }
    if let RuleTarget::Goto(target) = rule.target {
        view.put(column(22), Value::Gauge32(target));
    }
    // The kernel's FR_ACT_* numbers.
    let action = match rule.target {
        RuleTarget::Table(_) => 1,
        RuleTarget::Goto(_) => 2,
        RuleTarget::Blackhole => 6,
        RuleTarget::Unreachable => 7,
        RuleTarget::Prohibit => 8,
    };
    view.put(column(23), Value::Integer(action));
    if let Some(priority) = rule.priority {
        view.put(column(25), Value::Gauge32(priority));
    }
}

/// The routes and rules of one row owner (instance 0: the static ones).
fn fill_routes_and_rules(
    view: &mut View,
    inputs: &Inputs,
    owner: u32,
    routes: &[VirtualRoute],
    rules: &[VirtualRule],
    set: bool,
) {
    for (position, route) in routes.iter().enumerate() {
        fill_route(view, inputs, [owner, position as u32 + 1], route, set);
    }
    for (position, rule) in rules.iter().enumerate() {
        fill_rule(view, [owner, position as u32 + 1], rule, set);
    }
}

/// The global scalars and the VRRP tree.
pub fn fill(view: &mut View, inputs: &Inputs) {
    fill_global(view, inputs);
    fill_sync_groups(view, inputs);
    let statics = &inputs.config.statics;
    fill_routes_and_rules(view, inputs, 0, &statics.routes, &statics.rules, true);
    for (position, vip) in statics.addresses.iter().enumerate() {
        let device = vip.device.as_deref().unwrap_or("");
        fill_address(
            view,
            inputs,
            [0, position as u32 + 1],
            vip,
            device,
            true,
            false,
        );
    }
    for (position, (plan, snapshot)) in inputs
        .instances
        .iter()
        .map(|(plan, snapshot)| (plan, *snapshot))
        .enumerate()
    {
        let index = position as u32 + 1;
        fill_instance(
            view,
            inputs,
            index,
            plan,
            snapshot.state,
            snapshot.effective_priority,
        );
        fill_tracking(view, inputs, index, plan);
        fill_routes_and_rules(
            view,
            inputs,
            index,
            &plan.config.routes,
            &plan.config.rules,
            snapshot.state == State::Master,
        );
        let set = snapshot.state == State::Master;
        let listed = plan.config.addresses.iter().map(|vip| (vip, true)).chain(
            plan.config
                .excluded_addresses
                .iter()
                .map(|vip| (vip, false)),
        );
        // keepalived 2.2.7's walk of vrrpAddressTable reports advertised(1) only for the first
        // instance's virtual addresses (its table search carries the list it started in over
        // to the next instances): every later instance's show notAdvertised(2), and so here.
        let listed = listed.map(|(vip, advertised)| (vip, advertised && index == 1));
        for (address_index, (vip, advertised)) in listed.enumerate() {
            fill_address(
                view,
                inputs,
                [index, address_index as u32 + 1],
                vip,
                plan.config.shown_device(vip, plan.vmac),
                set,
                advertised,
            );
        }
    }
    fill_scripts_and_files(view, inputs);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_group_is_in_its_members_state_or_fault_or_backup() {
        assert_eq!(group_state(&[State::Master, State::Master]), State::Master);
        assert_eq!(group_state(&[State::Master, State::Fault]), State::Fault);
        assert_eq!(group_state(&[State::Master, State::Backup]), State::Backup);
    }
}
