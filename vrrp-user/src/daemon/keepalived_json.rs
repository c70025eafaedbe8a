//! keepalived's JSON dump (SIGJSON): /tmp/keepalived.json in keepalived's schema
//! (keepalived/vrrp/vrrp_json.c, JSON version 1: an array with one object per instance, its
//! "data" and its "stats"), so that what reads keepalived's dump (keepalived-exporter, checkmk's
//! plugin) reads vrrpd's. Sans-IO: [`dump`] builds the document from the plans and the protocol
//! thread's snapshots; the daemon writes it.
//!
//! vrrpd counts receive errors per reason for the whole datapath (`vrrpd stats`), not per
//! instance: the per-instance error counters keepalived keeps are written as 0.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use vrrp_common::maps::State;
use vrrp_common::stats::ReceiveError;

use super::plan::InstancePlan;
use crate::config::model::{Config, Scope, VirtualAddress};
use crate::control::model::InstanceSnapshot;
use crate::fsm::keepalived_state_number;
use crate::script::command_string;

/// Where keepalived writes it (its tmp_dir, /tmp).
pub const PATH: &str = "/tmp/keepalived.json";

fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Global => "global",
        Scope::Site => "site",
        Scope::Link => "link",
        Scope::Host => "host",
        Scope::Nowhere => "nowhere",
    }
}

/// An address as keepalived's `format_ipaddress` writes it, with " set" when installed.
fn address_string(plan: &InstancePlan, vip: &VirtualAddress, installed: bool) -> String {
    let device = plan
        .config
        .shown_device(vip, plan.vmac.as_ref().map(|v| v.name.as_str()));
    // keepalived leaves a host prefix (/32, /128) out.
    let host_prefix = if vip.address.is_ipv4() { 32 } else { 128 };
    let mut text = if vip.prefix == host_prefix {
        vip.address.to_string()
    } else {
        format!("{}/{}", vip.address, vip.prefix)
    };
    if let Some(broadcast) = vip.broadcast {
        text.push_str(&format!(" brd {broadcast}"));
    }
    text.push_str(&format!(" dev {device}"));
    text.push_str(&format!(
        " scope {}",
        scope_name(vip.scope.unwrap_or(Scope::Global))
    ));
    if let Some(label) = &vip.label {
        text.push_str(&format!(" label {label}"));
    }
    // An IPv6 address's preferred lifetime, which vrrpd leaves at the kernel's default.
    if vip.address.is_ipv6() {
        text.push_str(" preferred_lft forever");
    }
    if installed {
        text.push_str(" set");
    }
    text
}

/// The "data" object of one instance.
fn data(config: &Config, plan: &InstancePlan, snapshot: &InstanceSnapshot, wall_now: f64) -> Value {
    let instance = &plan.config;
    let garp = &instance.garp;
    let installed = snapshot.state == State::Master;
    let master_interval =
        if snapshot.state == State::Backup && snapshot.liveness.master_interval_cs != 0 {
            snapshot.liveness.master_interval_cs
        } else {
            instance.advert_interval_cs
        };
    let last_transition = snapshot.last_transition.as_ref().map_or(0.0, |(at, _)| {
        let age = crate::net::sys::monotonic_now()
            .as_ns()
            .saturating_sub(at.as_ns());
        wall_now - age as f64 / 1e9
    });
    let mut data = Map::new();
    let mut put = |key: &str, value: Value| {
        data.insert(key.to_string(), value);
    };
    put("iname", json!(instance.name));
    put(
        "dont_track_primary",
        json!(u8::from(instance.dont_track_primary)),
    );
    put(
        "skip_check_adv_addr",
        json!(u8::from(instance.skip_check_adv_addr)),
    );
    put("strict_mode", json!(u8::from(instance.strict_mode)));
    put(
        "vmac_ifname",
        json!(plan.vmac.as_ref().map_or("", |v| v.name.as_str())),
    );
    put(
        "ifp_ifname",
        json!(
            plan.vmac
                .as_ref()
                .map_or(instance.interface.as_str(), |v| v.name.as_str())
        ),
    );
    put("master_priority", json!(snapshot.liveness.master_priority));
    put("last_transition", json!(last_transition));
    put("garp_delay", seconds(garp.master_delay.as_secs_f64()));
    put("garp_refresh", json!(garp.master_refresh.as_secs()));
    put("garp_rep", json!(garp.master_repeat));
    put("garp_refresh_rep", json!(garp.master_refresh_repeat));
    put(
        "garp_lower_prio_delay",
        json!(garp.lower_prio_delay().as_secs()),
    );
    put("garp_lower_prio_rep", json!(garp.lower_prio_repeat()));
    put(
        "lower_prio_no_advert",
        json!(u8::from(garp.lower_prio_no_advert)),
    );
    put(
        "higher_prio_send_advert",
        json!(u8::from(garp.higher_prio_send_advert)),
    );
    put("vrid", json!(instance.vrid));
    put("base_priority", json!(snapshot.base_priority));
    put("effective_priority", json!(snapshot.effective_priority));
    put("vipset", json!(installed));
    put("promote_secondaries", json!(false));
    put(
        "adver_int",
        seconds(f64::from(instance.advert_interval_cs) / 100.0),
    );
    put(
        "master_adver_int",
        seconds(f64::from(master_interval) / 100.0),
    );
    put("accept", json!(u8::from(plan.accept)));
    put("nopreempt", json!(!instance.preempt));
    put("preempt_delay", json!(instance.preempt_delay.as_secs()));
    put("state", json!(keepalived_state_number(snapshot.state)));
    put("wantstate", json!(keepalived_state_number(snapshot.state)));
    put("version", json!(instance.version as u8));
    put("smtp_alert", json!(instance.smtp_alert == Some(true)));
    put("notify_deleted", json!(instance.notify_deleted));
    let notify = &instance.notify;
    for (key, command) in [
        ("script_backup", &notify.backup),
        ("script_master", &notify.master),
        ("script_fault", &notify.fault),
        ("script_stop", &notify.stop),
        ("script_deleted", &notify.deleted),
        ("script", &notify.any),
        ("script_master_rx_lower_pri", &notify.master_rx_lower_pri),
    ] {
        if let Some(command) = command {
            put(key, json!(command_string(command)));
        }
    }
    let addresses = |list: &[VirtualAddress]| -> Value {
        list.iter()
            .map(|vip| address_string(plan, vip, installed))
            .collect()
    };
    if !instance.addresses.is_empty() {
        put("vips", addresses(&instance.addresses));
    }
    if !instance.excluded_addresses.is_empty() {
        put("evips", addresses(&instance.excluded_addresses));
    }
    // keepalived tracks the instance's own interface anyway (unless dont_track_primary) and
    // leaves it out of the list.
    let tracked: Vec<Value> = instance
        .track_interfaces
        .iter()
        .filter(|t| instance.dont_track_primary || t.name != instance.interface)
        .map(|t| json!(t.name))
        .collect();
    if !tracked.is_empty() {
        put("track_ifp", Value::Array(tracked));
    }
    let scripts: Vec<Value> = instance
        .track_scripts
        .iter()
        .filter_map(|tracked| config.scripts.iter().find(|s| s.name == tracked.name))
        .map(|script| json!(command_string(&script.command)))
        .collect();
    if !scripts.is_empty() {
        put("track_script", Value::Array(scripts));
    }
    if !instance.track_processes.is_empty() {
        put(
            "track_process",
            instance
                .track_processes
                .iter()
                .map(|t| json!(t.name))
                .collect(),
        );
    }
    let (auth_type, auth_data) = match instance.authentication {
        Some(crate::config::model::Authentication::Pass(data)) => (1, Some(data)),
        Some(crate::config::model::Authentication::Ah(data)) => (2, Some(data)),
        None => (0, None),
    };
    put("auth_type", json!(auth_type));
    if let Some(data) = auth_data {
        let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
        put(
            "auth_data",
            json!(String::from_utf8_lossy(&data[..end]).into_owned()),
        );
    }
    Value::Object(data)
}

/// Seconds as keepalived's JSON writer prints a double (`%g`): whole numbers without a
/// fraction.
fn seconds(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

/// The "stats" object of one instance.
fn stats(snapshot: &InstanceSnapshot) -> Value {
    let counters = &snapshot.counters;
    let errors = &snapshot.receive_errors;
    json!({
        // In XDP mode the state machine hears only changes; the kernel's record counts every
        // valid advert, as keepalived's advert_rcvd does.
        "advert_rcvd": counters.adverts_received.max(snapshot.adverts_seen()),
        "advert_sent": counters.adverts_sent,
        "become_master": counters.became_master,
        "release_master": counters.released_master,
        "packet_len_err": errors.get(ReceiveError::PacketLength),
        // keepalived never counts it (a VRRPv2 interval mismatch is dropped uncounted).
        "advert_interval_err": 0,
        "ip_ttl_err": errors.get(ReceiveError::IpTtl),
        "invalid_type_rcvd": errors.get(ReceiveError::InvalidType),
        "addr_list_err": errors.get(ReceiveError::AddressList),
        // An auth type other than 0, 1 or 2 is counted as a mismatch (vrrpd's rules do not
        // tell the two apart).
        "invalid_authtype": 0,
        "authtype_mismatch": errors.get(ReceiveError::AuthTypeMismatch),
        "auth_failure": errors.get(ReceiveError::AuthFailure),
        "pri_zero_rcvd": counters.priority_zero_received,
        "pri_zero_sent": counters.priority_zero_sent,
    })
}

/// The whole dump: every running instance, in the configuration's order. `wall_now` is the
/// time of day (seconds since the epoch) the transition times are reckoned from.
pub fn dump(
    config: &Config,
    plans: &[Arc<InstancePlan>],
    snapshots: &[InstanceSnapshot],
    wall_now: f64,
) -> Value {
    let instances = plans
        .iter()
        .filter_map(|plan| {
            let snapshot = snapshots.iter().find(|s| s.name == plan.name())?;
            Some(json!({
                "data": data(config, plan, snapshot, wall_now),
                "stats": stats(snapshot),
            }))
        })
        .collect();
    Value::Array(instances)
}

/// SIGUSR2's statistics dump (/tmp/keepalived.stats) in keepalived 2.2.7's text layout
/// (vrrp_print_stats), made from the JSON dump's `stats` objects (`dump`), so the two always
/// agree.
pub fn stats_text(dump: &Value) -> String {
    let mut out = String::new();
    for instance in dump.as_array().into_iter().flatten() {
        let name = instance["data"]["iname"].as_str().unwrap_or_default();
        let stats = &instance["stats"];
        let n = |key: &str| stats[key].as_u64().unwrap_or(0);
        out.push_str(&format!(
            "VRRP Instance: {name}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  \
             Became master: {}\n  Released master: {}\n  Packet Errors:\n    Length: {}\n    \
             TTL: {}\n    Invalid Type: {}\n    Advertisement Interval: {}\n    \
             Address List: {}\n  Authentication Errors:\n    Invalid Type: {}\n    \
             Type Mismatch: {}\n    Failure: {}\n  Priority Zero:\n    Received: {}\n    \
             Sent: {}\n",
            n("advert_rcvd"),
            n("advert_sent"),
            n("become_master"),
            n("release_master"),
            n("packet_len_err"),
            n("ip_ttl_err"),
            n("invalid_type_rcvd"),
            n("advert_interval_err"),
            n("addr_list_err"),
            n("invalid_authtype"),
            n("authtype_mismatch"),
            n("auth_failure"),
            n("pri_zero_rcvd"),
            n("pri_zero_sent"),
        ));
    }
    out
}

/// SIGUSR1's data dump (/tmp/keepalived.data): the "VRRP Topology" section of keepalived
/// 2.2.7's (dump_vrrp), the lines of it vrrpd has, in its order and wording, made from the JSON
/// dump's `data` objects (`dump`). keepalived's other sections (global definitions, socket
/// pools, interfaces) describe its own internals and are left out.
pub fn data_text(dump: &Value) -> String {
    let mut out = String::from("------< VRRP Topology >------\n");
    for instance in dump.as_array().into_iter().flatten() {
        let data = &instance["data"];
        let n = |key: &str| data[key].as_u64().unwrap_or(0);
        let flag = |key: &str, yes: &str, no: &str| {
            if data[key].as_u64().unwrap_or(0) != 0 || data[key].as_bool() == Some(true) {
                yes.to_string()
            } else {
                no.to_string()
            }
        };
        let state = |key: &str| match n(key) {
            1 => "BACKUP",
            2 => "MASTER",
            3 => "FAULT",
            _ => "INIT",
        };
        let mut line = |text: String| {
            out.push_str(&text);
            out.push('\n');
        };
        line(format!(
            " VRRP Instance = {}",
            data["iname"].as_str().unwrap_or_default()
        ));
        line(format!("   VRRP Version = {}", n("version")));
        line(format!("   State = {}", state("state")));
        if n("state") == 1 {
            line(format!("   Master priority = {}", n("master_priority")));
        }
        line(format!("   Wantstate = {}", state("wantstate")));
        line(format!(
            "   Last transition = {}",
            keepalived_time(data["last_transition"].as_f64().unwrap_or(0.0))
        ));
        line(format!(
            "   Interface = {}",
            data["ifp_ifname"].as_str().unwrap_or_default()
        ));
        for (label, key) in [
            ("Gratuitous ARP delay", "garp_delay"),
            ("Gratuitous ARP repeat", "garp_rep"),
            ("Gratuitous ARP refresh", "garp_refresh"),
            ("Gratuitous ARP refresh repeat", "garp_refresh_rep"),
            (
                "Gratuitous ARP lower priority delay",
                "garp_lower_prio_delay",
            ),
            (
                "Gratuitous ARP lower priority repeat",
                "garp_lower_prio_rep",
            ),
        ] {
            line(format!("   {label} = {}", data[key]));
        }
        // (label, key, what a set key reads as, what an unset one does)
        let flags = |line: &mut dyn FnMut(String), list: &[(&str, &str, &str, &str)]| {
            for (label, key, yes, no) in list {
                line(format!("   {label} = {}", flag(key, yes, no)));
            }
        };
        flags(
            &mut line,
            &[
                (
                    "Send advert after receive lower priority advert",
                    "lower_prio_no_advert",
                    "false",
                    "true",
                ),
                (
                    "Send advert after receive higher priority advert",
                    "higher_prio_send_advert",
                    "true",
                    "false",
                ),
            ],
        );
        line(format!("   Virtual Router ID = {}", n("vrid")));
        line(format!("   Priority = {}", n("base_priority")));
        line(format!(
            "   Effective priority = {}",
            n("effective_priority")
        ));
        let interval = data["adver_int"].as_f64().unwrap_or(0.0);
        line(if n("version") == 2 {
            format!("   Advert interval = {} sec", interval.round() as u64)
        } else {
            format!(
                "   Advert interval = {} milli-sec",
                (interval * 1000.0).round() as u64
            )
        });
        flags(
            &mut line,
            &[
                ("Accept", "accept", "enabled", "disabled"),
                ("Preempt", "nopreempt", "disabled", "enabled"),
                (
                    "Promote_secondaries",
                    "promote_secondaries",
                    "enabled",
                    "disabled",
                ),
            ],
        );
        match n("auth_type") {
            1 => line("   Authentication type = SIMPLE_PASSWORD".into()),
            2 => line("   Authentication type = IPSEC_AH".into()),
            _ => {}
        }
        if let Some(password) = data["auth_data"].as_str() {
            line(format!("   Password = {password}"));
        }
        for (label, key) in [("Virtual IP", "vips"), ("Virtual IP Excluded", "evips")] {
            if let Some(list) = data[key].as_array() {
                line(format!("   {label} ({}):", list.len()));
                for address in list {
                    line(format!("     {}", address.as_str().unwrap_or_default()));
                }
            }
        }
    }
    out
}

/// A time of day as keepalived's dumps print it: seconds and microseconds since the epoch,
/// then the local date (`1796462017.541398 (Sat Dec  5 09:13:37.541398 2026)`).
fn keepalived_time(seconds: f64) -> String {
    let whole = seconds.floor();
    let micros = ((seconds - whole) * 1e6).round().min(999_999.0) as u32;
    let time = whole as libc::time_t;
    // SAFETY: an all-zero tm is valid; localtime_r fills it from a valid time_t.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::localtime_r(&time, &mut tm) }.is_null() {
        return format!("{}.{micros:06}", whole as i64);
    }
    let format = |pattern: &std::ffi::CStr| -> String {
        let mut buffer = [0u8; 64];
        // SAFETY: the buffer and its length match, the pattern is NUL-terminated, tm is valid.
        let written = unsafe {
            libc::strftime(
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                pattern.as_ptr(),
                &tm,
            )
        };
        String::from_utf8_lossy(&buffer[..written]).into_owned()
    };
    format!(
        "{}.{micros:06} ({}.{micros:06} {})",
        whole as i64,
        format(c"%a %b %e %H:%M:%S"),
        format(c"%Y")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_dumps_follow_keepalived_s_wording() {
        let dump = json!([{
            "data": {
                "iname": "VI_6", "version": 3, "state": 2, "wantstate": 2,
                "last_transition": 1_796_462_017.541_398, "ifp_ifname": "eth0",
                "garp_delay": 5, "garp_rep": 5, "garp_refresh": 0, "garp_refresh_rep": 1,
                "garp_lower_prio_delay": 5, "garp_lower_prio_rep": 5,
                "lower_prio_no_advert": 1, "higher_prio_send_advert": 0, "vrid": 7,
                "base_priority": 100, "effective_priority": 90, "adver_int": 0.01,
                "accept": 0, "nopreempt": true, "promote_secondaries": false, "auth_type": 0,
                "vips": ["2001:db8::7 dev eth0 scope global"],
            },
            "stats": { "ip_ttl_err": 4, "auth_failure": 1 },
        }]);
        let data = data_text(&dump);
        for line in [
            " VRRP Instance = VI_6",
            "   State = MASTER",
            "   Advert interval = 10 milli-sec",
            "   Send advert after receive lower priority advert = false",
            "   Accept = disabled",
            "   Preempt = disabled",
            "   Virtual IP (1):\n     2001:db8::7 dev eth0 scope global",
        ] {
            assert!(data.contains(line), "{line:?} in\n{data}");
        }
        // A master has no master to describe; no authentication, no password.
        assert!(!data.contains("Master priority") && !data.contains("Authentication"));
        // "1796462017.541398 (Sat Dec  5 09:13:37.541398 2026)" in the local time zone.
        let transition = data
            .lines()
            .find_map(|l| l.strip_prefix("   Last transition = "))
            .expect("the transition");
        assert!(
            transition.starts_with("1796462017.541398 ("),
            "{transition}"
        );
        assert!(transition.ends_with(".541398 2026)"), "{transition}");
        let stats = stats_text(&dump);
        assert!(stats.starts_with("VRRP Instance: VI_6\n  Advertisements:\n    Received: 0\n"));
        assert!(stats.contains("    TTL: 4\n"), "{stats}");
        assert!(stats.contains("    Failure: 1\n") && stats.ends_with("    Sent: 0\n"));
    }
}
