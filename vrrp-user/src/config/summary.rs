//! The summary `vrrpd -t` prints: one block per instance, then scripts and groups.

use std::fmt::Write;

use vrrp_common::wire::vrrp::Version;

use super::model::{
    Authentication, Command, Config, InitialState, RuleTarget, Tracked, VirtualAddress,
    VirtualRoute, VirtualRule,
};

fn address(vip: &VirtualAddress) -> String {
    let mut text = format!("{}/{}", vip.address, vip.prefix);
    if let Some(device) = &vip.device {
        let _ = write!(text, " dev {device}");
    }
    if let Some(label) = &vip.label {
        let _ = write!(text, " label {label}");
    }
    if let Some(broadcast) = vip.broadcast {
        let _ = write!(text, " brd {broadcast}");
    }
    if vip.no_track {
        text.push_str(" no_track");
    }
    text
}

/// A tracked object: its weight (the reference's, else `default_weight`), or FAULT when 0.
fn tracked(item: &Tracked, default_weight: i32) -> String {
    match item.weight.unwrap_or(default_weight) {
        0 => format!("{} (fault on failure)", item.name),
        weight => format!(
            "{} (weight {weight}{})",
            item.name,
            if item.reverse { " reverse" } else { "" }
        ),
    }
}

fn command(label: &str, command: &Option<Command>, out: &mut String) {
    if let Some(command) = command {
        let _ = writeln!(out, "    {label:<16} {}", command.line);
    }
}

/// A human-readable description of what the configuration will run.
pub fn summary(config: &Config) -> String {
    let mut out = String::new();
    let global = &config.global;
    let _ = writeln!(
        out,
        "global: router_id {}, multicast {} / {}, garp repeat {} delay {:?} interval {:?}",
        global.router_id.as_deref().unwrap_or("(host name)"),
        global.mcast_group4,
        global.mcast_group6,
        global.garp.master_repeat,
        global.garp.master_delay,
        global.garp_interval,
    );
    for instance in &config.instances {
        let version = match instance.version {
            Version::V2 => 2,
            Version::V3 => 3,
        };
        let _ = writeln!(
            out,
            "\nvrrp_instance {}{}",
            instance.name,
            if instance.incomplete {
                " (incomplete: will not run)"
            } else {
                ""
            }
        );
        let _ = writeln!(out, "    interface        {}", instance.interface);
        let _ = writeln!(out, "    vrid             {}", instance.vrid);
        let _ = writeln!(
            out,
            "    priority         {}{}",
            instance.priority,
            match instance.state {
                Some(InitialState::Master) => " (state MASTER)",
                Some(InitialState::Backup) => " (state BACKUP)",
                None => "",
            }
        );
        let _ = writeln!(
            out,
            "    advert           VRRPv{version}, every {} ms, {}{}",
            u32::from(instance.advert_interval_cs) * 10,
            match instance.authentication {
                Some(Authentication::Pass(_)) => "PASS auth",
                Some(Authentication::Ah(_)) => "AH auth",
                None => "no auth",
            },
            if instance.preempt { "" } else { ", nopreempt" },
        );
        for vip in &instance.addresses {
            let _ = writeln!(out, "    vip              {}", address(vip));
        }
        for vip in &instance.excluded_addresses {
            let _ = writeln!(out, "    vip (excluded)   {}", address(vip));
        }
        for route in &instance.routes {
            let _ = writeln!(out, "    route            {}", route_text(route));
        }
        for rule in &instance.rules {
            let _ = writeln!(out, "    rule             {}", rule_text(rule));
        }
        for item in &instance.track_scripts {
            let weight = config
                .scripts
                .iter()
                .find(|s| s.name == item.name)
                .map_or(0, |s| s.weight);
            let _ = writeln!(out, "    track_script     {}", tracked(item, weight));
        }
        for item in &instance.track_interfaces {
            let _ = writeln!(out, "    track_interface  {}", tracked(item, 0));
        }
        for item in &instance.track_files {
            let weight = config
                .track_files
                .iter()
                .find(|f| f.name == item.name)
                .map_or(1, |f| f.weight);
            let _ = writeln!(out, "    track_file       {}", tracked(item, weight));
        }
        command("notify_master", &instance.notify.master, &mut out);
        command("notify_backup", &instance.notify.backup, &mut out);
        command("notify_fault", &instance.notify.fault, &mut out);
        command("notify_stop", &instance.notify.stop, &mut out);
        command("notify", &instance.notify.any, &mut out);
    }
    for script in &config.scripts {
        let _ = writeln!(
            out,
            "\nvrrp_script {}: '{}' every {:?}, weight {}, rise {}, fall {}",
            script.name,
            script.command.line,
            script.interval,
            script.weight,
            script.rise,
            script.fall
        );
    }
    for group in &config.sync_groups {
        let _ = writeln!(
            out,
            "\nvrrp_sync_group {}: {}",
            group.name,
            group.members.join(", ")
        );
    }
    let statics = &config.statics;
    if statics != &Default::default() {
        let _ = writeln!(out, "\nstatic (installed while vrrpd runs)");
        for vip in &statics.addresses {
            let _ = writeln!(out, "    address          {}", address(vip));
        }
        for route in &statics.routes {
            let _ = writeln!(out, "    route            {}", route_text(route));
        }
        for rule in &statics.rules {
            let _ = writeln!(out, "    rule             {}", rule_text(rule));
        }
    }
    out
}

/// A virtual route as `ip route` would print it.
fn route_text(route: &VirtualRoute) -> String {
    let mut text = if route.blackhole {
        format!("blackhole {}/{}", route.destination, route.prefix)
    } else {
        format!("{}/{}", route.destination, route.prefix)
    };
    if let Some(gateway) = route.gateway {
        let _ = write!(text, " via {gateway}");
    }
    if let Some(device) = &route.device {
        let _ = write!(text, " dev {device}");
    }
    if let Some(source) = route.source {
        let _ = write!(text, " src {source}");
    }
    if let Some(metric) = route.metric {
        let _ = write!(text, " metric {metric}");
    }
    if let Some(table) = route.table {
        let _ = write!(text, " table {table}");
    }
    text
}

/// A virtual rule as `ip rule` would print it.
fn rule_text(rule: &VirtualRule) -> String {
    let selector = |side: Option<(std::net::IpAddr, u8)>| {
        side.map_or("all".to_string(), |(address, prefix)| {
            format!("{address}/{prefix}")
        })
    };
    let mut text = String::new();
    if let Some(priority) = rule.priority {
        let _ = write!(text, "{priority}: ");
    }
    if rule.invert {
        text.push_str("not ");
    }
    let _ = write!(text, "from {}", selector(rule.from));
    if rule.to.is_some() {
        let _ = write!(text, " to {}", selector(rule.to));
    }
    if let Some(tos) = rule.tos {
        let _ = write!(text, " tos {tos}");
    }
    if let Some((mark, mask)) = rule.fwmark {
        let _ = write!(text, " fwmark {mark:#x}");
        if let Some(mask) = mask {
            let _ = write!(text, "/{mask:#x}");
        }
    }
    if let Some(name) = &rule.input_interface {
        let _ = write!(text, " iif {name}");
    }
    if let Some(name) = &rule.output_interface {
        let _ = write!(text, " oif {name}");
    }
    let _ = match rule.target {
        RuleTarget::Table(table) => write!(text, " lookup {table}"),
        RuleTarget::Goto(target) => write!(text, " goto {target}"),
        RuleTarget::Blackhole => write!(text, " blackhole"),
        RuleTarget::Unreachable => write!(text, " unreachable"),
        RuleTarget::Prohibit => write!(text, " prohibit"),
    };
    text
}
