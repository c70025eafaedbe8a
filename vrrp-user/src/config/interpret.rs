//! From the syntax tree to the typed [`Config`], validating as keepalived does: unknown keywords
//! are warnings and parsing goes on; invalid values are located errors (or keepalived's
//! documented fallback, with a warning).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use vrrp_common::wire::Family;
use vrrp_common::wire::vrrp::Version;

use super::model::*;
use super::syntax::{Diagnostic, Location, Node, Word};

/// The configuration and the warnings found on the way.
#[derive(Debug)]
pub struct Interpreted {
    pub config: Config,
    pub warnings: Vec<Diagnostic>,
}

/// Builds the configuration; on failure, every error found (in file order).
pub fn interpret(nodes: &[Node]) -> Result<Interpreted, Vec<Diagnostic>> {
    let mut context = Context::default();
    let mut global = GlobalDefs::default();
    // global_defs first, wherever it is: instances take their defaults from it.
    for node in nodes.iter().filter(|n| n.keyword.text == "global_defs") {
        context.global_defs(node, &mut global);
    }
    let mut config = Config {
        global,
        instances: Vec::new(),
        scripts: Vec::new(),
        track_files: Vec::new(),
        sync_groups: Vec::new(),
    };
    for node in nodes {
        match node.keyword.text.as_str() {
            "global_defs" => {}
            "vrrp_instance" => {
                if let Some(instance) = context.instance(node, &config.global) {
                    config.instances.push(instance);
                }
            }
            "vrrp_script" => {
                if let Some(script) = context.script(node) {
                    config.scripts.push(script);
                }
            }
            "vrrp_track_file" | "track_file" => {
                if let Some(file) = context.track_file(node) {
                    config.track_files.push(file);
                }
            }
            "vrrp_sync_group" => {
                if let Some(group) = context.sync_group(node) {
                    config.sync_groups.push(group);
                }
            }
            "virtual_server"
            | "virtual_server_group"
            | "static_ipaddress"
            | "static_routes"
            | "static_rules"
            | "linkbeat_use_polling"
            | "net_namespace"
            | "bfd_instance" => {
                context.warn(
                    &node.keyword,
                    format!(
                        "{} ignored: vrrpd implements keepalived's VRRP side only",
                        node.keyword.text
                    ),
                );
            }
            _ => context.unknown(&node.keyword),
        }
    }
    context.cross_check(&config);
    let known: Vec<String> = config.scripts.iter().map(|s| s.name.clone()).collect();
    for instance in &mut config.instances {
        instance.track_scripts.retain(|t| known.contains(&t.name));
    }
    context.drop_weighted_tracking_in_sync_groups(&mut config);
    if context.errors.is_empty() {
        Ok(Interpreted {
            config,
            warnings: context.warnings,
        })
    } else {
        Err(context.errors)
    }
}

#[derive(Default)]
struct Context {
    warnings: Vec<Diagnostic>,
    errors: Vec<Diagnostic>,
}

impl Context {
    fn error(&mut self, at: &Location, message: impl Into<String>) {
        self.errors.push(Diagnostic::new(at, message));
    }

    fn warn(&mut self, word: &Word, message: impl Into<String>) {
        self.warnings.push(Diagnostic::new(&word.location, message));
    }

    fn unknown(&mut self, keyword: &Word) {
        self.warn(keyword, format!("unknown keyword '{}'", keyword.text));
    }

    /// The `index`th argument, or an error at the keyword.
    fn arg<'n>(&mut self, node: &'n Node, index: usize) -> Option<&'n Word> {
        let word = node.args.get(index);
        if word.is_none() {
            let what = if index == 0 { "a value" } else { "more values" };
            self.error(
                &node.keyword.location,
                format!("{} needs {what}", node.keyword.text),
            );
        }
        word
    }

    fn number<T>(
        &mut self,
        word: &Word,
        what: &str,
        range: std::ops::RangeInclusive<T>,
    ) -> Option<T>
    where
        T: Copy + std::fmt::Display + Into<i128> + TryFrom<i128>,
    {
        let (low, high): (i128, i128) = ((*range.start()).into(), (*range.end()).into());
        match word.text.parse::<i128>() {
            Ok(value) if (low..=high).contains(&value) => T::try_from(value).ok(),
            Ok(value) => {
                self.error(
                    &word.location,
                    format!(
                        "{what} {value} is out of range {}..{}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
            Err(_) => {
                self.error(
                    &word.location,
                    format!("{what} '{}' is not a number", word.text),
                );
                None
            }
        }
    }

    fn number_arg<T>(&mut self, node: &Node, range: std::ops::RangeInclusive<T>) -> Option<T>
    where
        T: Copy + std::fmt::Display + Into<i128> + TryFrom<i128>,
    {
        let word = self.arg(node, 0)?;
        self.number(word, &node.keyword.text, range)
    }

    /// Seconds, possibly fractional (keepalived accepts e.g. `0.01` and `0.001`).
    fn seconds(&mut self, node: &Node, max: f64) -> Option<Duration> {
        let word = self.arg(node, 0)?;
        match word.text.parse::<f64>() {
            Ok(value) if value.is_finite() && (0.0..=max).contains(&value) => {
                Some(Duration::from_secs_f64(value))
            }
            Ok(_) => {
                self.error(
                    &word.location,
                    format!(
                        "{} {} is out of range 0..{max}",
                        node.keyword.text, word.text
                    ),
                );
                None
            }
            Err(_) => {
                self.error(
                    &word.location,
                    format!(
                        "{} '{}' is not a number of seconds",
                        node.keyword.text, word.text
                    ),
                );
                None
            }
        }
    }

    fn ip(&mut self, word: &Word, what: &str) -> Option<IpAddr> {
        match word.text.parse::<IpAddr>() {
            Ok(address) => Some(address),
            Err(_) => {
                self.error(
                    &word.location,
                    format!("{what} '{}' is not an IP address", word.text),
                );
                None
            }
        }
    }

    /// An optional boolean argument (`smtp_alert`, `strict_mode` ...): absent means true.
    fn flag(&mut self, node: &Node) -> bool {
        match node.args.first().map(|w| w.text.to_ascii_lowercase()) {
            None => true,
            Some(value) if matches!(value.as_str(), "on" | "true" | "yes" | "1") => true,
            Some(value) if matches!(value.as_str(), "off" | "false" | "no" | "0") => false,
            Some(_) => {
                let word = &node.args[0];
                self.error(
                    &word.location,
                    format!(
                        "{} takes on|off|true|false|yes|no, not '{}'",
                        node.keyword.text, word.text
                    ),
                );
                false
            }
        }
    }

    fn block<'n>(&mut self, node: &'n Node) -> &'n [Node] {
        match &node.block {
            Some(block) => block,
            None => {
                self.error(
                    &node.keyword.location,
                    format!("{} needs a {{ }} block", node.keyword.text),
                );
                &[]
            }
        }
    }

    fn name(&mut self, node: &Node) -> Option<Word> {
        self.arg(node, 0).cloned()
    }

    fn run_as(&mut self, node: &Node) -> Option<RunAs> {
        let user = self.arg(node, 0)?.text.clone();
        Some(RunAs {
            user,
            group: node.args.get(1).map(|w| w.text.clone()),
        })
    }

    fn command(&mut self, node: &Node) -> Option<Command> {
        let first = self.arg(node, 0)?;
        let line = node
            .args
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        match split_command(&line) {
            Some(argv) if !argv.is_empty() => Some(Command {
                line,
                argv,
                location: first.location.clone(),
            }),
            _ => {
                self.error(
                    &first.location,
                    format!(
                        "{}: cannot split '{line}' into a command",
                        node.keyword.text
                    ),
                );
                None
            }
        }
    }

    fn global_defs(&mut self, node: &Node, global: &mut GlobalDefs) {
        for item in self.block(node) {
            match item.keyword.text.as_str() {
                "router_id" => {
                    if let Some(word) = self.arg(item, 0) {
                        global.router_id = Some(word.text.clone());
                    }
                }
                "vrrp_mcast_group4" => {
                    if let Some(word) = self.arg(item, 0) {
                        match word.text.parse::<Ipv4Addr>() {
                            Ok(group) if group.is_multicast() => global.mcast_group4 = group,
                            _ => self.error(
                                &word.location,
                                format!(
                                    "vrrp_mcast_group4 '{}' is not an IPv4 multicast address",
                                    word.text
                                ),
                            ),
                        }
                    }
                }
                "vrrp_mcast_group6" => {
                    if let Some(word) = self.arg(item, 0) {
                        match word.text.parse::<Ipv6Addr>() {
                            Ok(group) if group.is_multicast() => global.mcast_group6 = group,
                            _ => self.error(
                                &word.location,
                                format!(
                                    "vrrp_mcast_group6 '{}' is not an IPv6 multicast address",
                                    word.text
                                ),
                            ),
                        }
                    }
                }
                "vrrp_garp_master_delay" => {
                    if let Some(value) = self.number_arg::<u64>(item, 0..=1000) {
                        global.garp_master_delay = Duration::from_secs(value);
                    }
                }
                "vrrp_garp_master_repeat" => {
                    if let Some(value) = self.number_arg(item, 1..=255) {
                        global.garp_master_repeat = value;
                    }
                }
                "vrrp_garp_master_refresh" => {
                    if let Some(value) = self.number_arg::<u64>(item, 0..=86400) {
                        global.garp_master_refresh = Duration::from_secs(value);
                    }
                }
                "vrrp_garp_master_refresh_repeat" => {
                    if let Some(value) = self.number_arg(item, 1..=255) {
                        global.garp_master_refresh_repeat = value;
                    }
                }
                "vrrp_garp_lower_prio_repeat" => {
                    if let Some(value) = self.number_arg(item, 0..=255) {
                        global.garp_lower_prio_repeat = Some(value);
                    }
                }
                "vrrp_garp_lower_prio_delay" => {
                    if let Some(value) = self.number_arg::<u64>(item, 0..=1000) {
                        global.garp_lower_prio_delay = Some(Duration::from_secs(value));
                    }
                }
                "vrrp_lower_prio_no_advert" => global.lower_prio_no_advert = self.flag(item),
                "vrrp_higher_prio_send_advert" => global.higher_prio_send_advert = self.flag(item),
                "vrrp_garp_interval" => {
                    if let Some(value) = self.seconds(item, 1.0) {
                        global.garp_interval = value;
                    }
                }
                "vrrp_gna_interval" => {
                    if let Some(value) = self.seconds(item, 1.0) {
                        global.gna_interval = value;
                    }
                }
                "vrrp_version" => {
                    if let Some(value) = self.number_arg::<u8>(item, 2..=3) {
                        global.vrrp_version = if value == 3 { Version::V3 } else { Version::V2 };
                    }
                }
                "vrrp_skip_check_adv_addr" => global.skip_check_adv_addr = self.flag(item),
                "vrrp_strict" => global.vrrp_strict = self.flag(item),
                "vrrp_startup_delay" => {
                    if let Some(value) = self.seconds(item, 3600.0) {
                        global.startup_delay = value;
                    }
                }
                "enable_script_security" => global.enable_script_security = self.flag(item),
                "script_user" => global.script_user = self.run_as(item),
                "notification_email" => {
                    let emails: Vec<String> = self
                        .block(item)
                        .iter()
                        .map(|n| n.keyword.text.clone())
                        .collect();
                    global.notification_email = emails;
                }
                "notification_email_from" => {
                    if let Some(word) = self.arg(item, 0) {
                        global.notification_email_from = Some(word.text.clone());
                    }
                }
                "smtp_server" => {
                    if let Some(host) = self.arg(item, 0).cloned() {
                        let port = match item.args.get(1) {
                            Some(word) => self
                                .number(word, "smtp_server port", 1..=65535)
                                .unwrap_or(25),
                            None => 25,
                        };
                        global.smtp_server = Some((host.text, port));
                    }
                }
                "vrrp_priority" => {
                    if let Some(value) = self.number_arg::<i32>(item, -20..=19) {
                        global.scheduling.nice = Some(value);
                    }
                }
                "vrrp_no_swap" => global.scheduling.no_swap = true,
                "vrrp_rt_priority" => {
                    if let Some(value) = self.number_arg::<u32>(item, 1..=99) {
                        global.scheduling.rt_priority = Some(value);
                    }
                }
                // keepalived's spelling, and its deprecated one.
                "vrrp_rlimit_rttime" | "vrrp_rlimit_rtime" => {
                    if let Some(value) = self.number_arg::<u64>(item, 1..=u64::from(u32::MAX)) {
                        global.scheduling.rlimit_rttime_us = Some(value);
                    }
                }
                "vrrp_cpu_affinity" => {
                    let mut cpus = Vec::new();
                    for word in &item.args {
                        if let Some(cpu) = self.number::<u32>(word, "vrrp_cpu_affinity", 0..=1023) {
                            cpus.push(cpu as usize);
                        }
                    }
                    global.scheduling.cpu_affinity = cpus;
                }
                "smtp_connect_timeout" => {
                    if let Some(value) = self.number_arg::<u64>(item, 1..=3600) {
                        global.smtp_connect_timeout = Duration::from_secs(value);
                    }
                }
                "notify_fifo" | "vrrp_notify_fifo" => {
                    if let Some(word) = self.arg(item, 0) {
                        let fifo = NotifyFifo {
                            path: PathBuf::from(&word.text),
                            script: None,
                        };
                        if item.keyword.text == "notify_fifo" {
                            global.notify_fifo = Some(fifo);
                        } else {
                            global.vrrp_notify_fifo = Some(fifo);
                        }
                    }
                }
                "notify_fifo_script" | "vrrp_notify_fifo_script" => {
                    let command = self.command(item);
                    let target = if item.keyword.text == "notify_fifo_script" {
                        &mut global.notify_fifo
                    } else {
                        &mut global.vrrp_notify_fifo
                    };
                    match target {
                        Some(fifo) => fifo.script = command,
                        None => self.error(
                            &item.keyword.location,
                            format!("{} comes after its fifo is declared", item.keyword.text),
                        ),
                    }
                }
                _ => self.unknown(&item.keyword),
            }
        }
    }

    fn instance(&mut self, node: &Node, global: &GlobalDefs) -> Option<Instance> {
        let name = self.name(node)?;
        let errors_before = self.errors.len();
        let mut instance = Instance {
            name: name.text.clone(),
            location: name.location.clone(),
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
            preempt: true,
            preempt_delay: Duration::ZERO,
            use_vmac: None,
            vmac_xmit_base: false,
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            track_files: Vec::new(),
            notify: Notify::none(),
            smtp_alert: false,
            accept: None,
            garp_master_delay: global.garp_master_delay,
            garp_master_repeat: global.garp_master_repeat,
            garp_master_refresh: global.garp_master_refresh,
            garp_master_refresh_repeat: global.garp_master_refresh_repeat,
            // keepalived: unset, the lower-priority bursts follow the global garp_master ones.
            garp_lower_prio_repeat: global
                .garp_lower_prio_repeat
                .unwrap_or(global.garp_master_repeat),
            garp_lower_prio_delay: global
                .garp_lower_prio_delay
                .unwrap_or(global.garp_master_delay),
            lower_prio_no_advert: global.lower_prio_no_advert,
            higher_prio_send_advert: global.higher_prio_send_advert,
            dont_track_primary: false,
            strict_mode: global.vrrp_strict,
            v3_checksum_as_v2: false,
            skip_check_adv_addr: global.skip_check_adv_addr,
        };
        let mut interval: Option<(f64, Location)> = None;
        let mut vrid_word: Option<Word> = None;
        let mut auth_location: Option<Location> = None;
        for item in self.block(node) {
            match item.keyword.text.as_str() {
                "state" => {
                    if let Some(word) = self.arg(item, 0) {
                        instance.state = match word.text.to_ascii_uppercase().as_str() {
                            "MASTER" => Some(InitialState::Master),
                            "BACKUP" => Some(InitialState::Backup),
                            _ => {
                                self.error(
                                    &word.location,
                                    format!("state must be MASTER or BACKUP, not '{}'", word.text),
                                );
                                None
                            }
                        };
                    }
                }
                "interface" => {
                    if let Some(word) = self.arg(item, 0) {
                        if word.text.is_empty() || word.text.len() >= 16 || word.text.contains('/')
                        {
                            self.error(
                                &word.location,
                                format!("'{}' is not a valid interface name", word.text),
                            );
                        }
                        instance.interface = word.text.clone();
                    }
                }
                "virtual_router_id" => {
                    vrid_word = item.args.first().cloned();
                    if let Some(vrid) = self.number_arg(item, 1..=255) {
                        instance.vrid = vrid;
                    }
                }
                "priority" => {
                    if let Some(priority) = self.number_arg(item, 1..=255) {
                        instance.priority = priority;
                    }
                }
                "advert_int" => {
                    if let Some(word) = self.arg(item, 0) {
                        match word.text.parse::<f64>() {
                            Ok(value) if value.is_finite() && value > 0.0 => {
                                interval = Some((value, word.location.clone()));
                            }
                            _ => self.error(
                                &word.location,
                                format!(
                                    "advert_int '{}' is not a positive number of seconds",
                                    word.text
                                ),
                            ),
                        }
                    }
                }
                "version" => {
                    if let Some(value) = self.number_arg::<u8>(item, 2..=3) {
                        instance.version = if value == 3 { Version::V3 } else { Version::V2 };
                    }
                }
                "authentication" => {
                    auth_location = Some(item.keyword.location.clone());
                    instance.authentication = self.authentication(item);
                }
                "virtual_ipaddress" => {
                    for entry in self.block(item) {
                        if let Some(address) = self.virtual_address(entry) {
                            instance.addresses.push(address);
                        }
                    }
                }
                "virtual_ipaddress_excluded" => {
                    for entry in self.block(item) {
                        if let Some(address) = self.virtual_address(entry) {
                            instance.excluded_addresses.push(address);
                        }
                    }
                }
                "virtual_routes" => {
                    for entry in self.block(item) {
                        if let Some(route) = self.virtual_route(entry) {
                            instance.routes.push(route);
                        }
                    }
                }
                "virtual_rules" => {
                    for entry in self.block(item) {
                        if let Some(rule) = self.virtual_rule(entry) {
                            instance.rules.push(rule);
                        }
                    }
                }
                "mcast_src_ip" => {
                    if let Some(word) = self.arg(item, 0) {
                        instance.mcast_src_ip = self.ip(word, "mcast_src_ip");
                    }
                }
                "unicast_src_ip" => {
                    if let Some(word) = self.arg(item, 0) {
                        instance.unicast_src_ip = self.ip(word, "unicast_src_ip");
                    }
                }
                "unicast_peer" => {
                    for entry in self.block(item) {
                        if let Some(peer) = self.unicast_peer(entry) {
                            instance.unicast_peers.push(peer);
                        }
                    }
                }
                "nopreempt" => instance.preempt = false,
                "preempt" => instance.preempt = true,
                "preempt_delay" => {
                    if let Some(value) = self.seconds(item, 1000.0) {
                        instance.preempt_delay = value;
                    }
                }
                "use_vmac" => {
                    instance.use_vmac = Some(
                        item.args
                            .first()
                            .map(|w| w.text.clone())
                            .unwrap_or_default(),
                    );
                }
                "vmac_xmit_base" => instance.vmac_xmit_base = true,
                "track_interface" => {
                    for entry in self.block(item) {
                        if let Some(tracked) = self.tracked(entry) {
                            instance.track_interfaces.push(tracked);
                        }
                    }
                }
                "track_script" => {
                    for entry in self.block(item) {
                        if let Some(tracked) = self.tracked(entry) {
                            instance.track_scripts.push(tracked);
                        }
                    }
                }
                "track_file" => {
                    for entry in self.block(item) {
                        if let Some(tracked) = self.tracked(entry) {
                            instance.track_files.push(tracked);
                        }
                    }
                }
                "notify_master" => instance.notify.master = self.command(item),
                "notify_backup" => instance.notify.backup = self.command(item),
                "notify_fault" => instance.notify.fault = self.command(item),
                "notify_stop" => instance.notify.stop = self.command(item),
                "notify" => instance.notify.any = self.command(item),
                "smtp_alert" => instance.smtp_alert = self.flag(item),
                "accept" => instance.accept = Some(true),
                "no_accept" => instance.accept = Some(false),
                "garp_master_delay" => {
                    if let Some(value) = self.number_arg::<u64>(item, 0..=1000) {
                        instance.garp_master_delay = Duration::from_secs(value);
                    }
                }
                "garp_master_repeat" => {
                    if let Some(value) = self.number_arg(item, 1..=255) {
                        instance.garp_master_repeat = value;
                    }
                }
                "garp_master_refresh" => {
                    if let Some(value) = self.number_arg::<u64>(item, 0..=86400) {
                        instance.garp_master_refresh = Duration::from_secs(value);
                    }
                }
                "garp_master_refresh_repeat" => {
                    if let Some(value) = self.number_arg(item, 1..=255) {
                        instance.garp_master_refresh_repeat = value;
                    }
                }
                "garp_lower_prio_repeat" => {
                    if let Some(value) = self.number_arg(item, 0..=255) {
                        instance.garp_lower_prio_repeat = value;
                    }
                }
                "garp_lower_prio_delay" => {
                    if let Some(value) = self.number_arg::<u64>(item, 0..=1000) {
                        instance.garp_lower_prio_delay = Duration::from_secs(value);
                    }
                }
                "lower_prio_no_advert" => instance.lower_prio_no_advert = self.flag(item),
                "higher_prio_send_advert" => instance.higher_prio_send_advert = self.flag(item),
                "dont_track_primary" => instance.dont_track_primary = true,
                "strict_mode" => instance.strict_mode = self.flag(item),
                "v3_checksum_as_v2" => instance.v3_checksum_as_v2 = true,
                "skip_check_adv_addr" => instance.skip_check_adv_addr = self.flag(item),
                "debug" | "lvs_sync_daemon_interface" => {}
                _ => self.unknown(&item.keyword),
            }
        }
        let mut missing = Vec::new();
        if instance.interface.is_empty() {
            missing.push("interface");
        }
        if vrid_word.is_none() {
            missing.push("virtual_router_id");
        }
        if !missing.is_empty() {
            instance.incomplete = true;
            self.warnings.push(Diagnostic::new(
                &name.location,
                format!(
                    "({}) has no {}: incomplete, it will not run",
                    instance.name,
                    missing.join(" and no ")
                ),
            ));
        }
        self.settle_interval(&mut instance, interval);
        self.settle_authentication(&mut instance, auth_location.as_ref());
        self.settle_family(&mut instance);
        if instance.state == Some(InitialState::Master) && !instance.preempt {
            self.warnings.push(Diagnostic::new(
                &name.location,
                format!("({}) nopreempt with state MASTER: the instance starts as BACKUP, as keepalived does", instance.name),
            ));
        }
        if instance.strict_mode && instance.addresses.is_empty() {
            self.error(
                &name.location,
                format!(
                    "({}) strict mode needs at least one virtual_ipaddress",
                    instance.name
                ),
            );
        }
        if instance.strict_mode && !instance.preempt_delay.is_zero() {
            self.warnings.push(Diagnostic::new(
                &name.location,
                format!(
                    "({}) preempt_delay is incompatible with strict mode; resetting it (RFC 5798 has no such delay)",
                    instance.name
                ),
            ));
            instance.preempt_delay = Duration::ZERO;
        }
        if instance.strict_mode
            && instance.version == Version::V2
            && instance.accept == Some(true)
            && instance.priority != vrrp_common::wire::vrrp::PRIORITY_OWNER
        {
            self.warnings.push(Diagnostic::new(
                &name.location,
                format!(
                    "({}) accept mode does not comply with RFC 3768 (VRRPv2); resetting it",
                    instance.name
                ),
            ));
            instance.accept = Some(false);
        }
        if instance.strict_mode && !instance.unicast_peers.is_empty() {
            self.error(
                &name.location,
                format!(
                    "({}) strict mode does not allow unicast peers",
                    instance.name
                ),
            );
        }
        (self.errors.len() == errors_before).then_some(instance)
    }

    /// advert_int: v2 carries whole seconds (keepalived rounds and warns), v3 centiseconds up to
    /// 40.95 s.
    fn settle_interval(&mut self, instance: &mut Instance, interval: Option<(f64, Location)>) {
        let Some((seconds, location)) = interval else {
            return;
        };
        match instance.version {
            Version::V2 => {
                let whole = seconds.round().clamp(1.0, 255.0);
                if (whole - seconds).abs() > f64::EPSILON {
                    self.warnings.push(Diagnostic::new(
                        &location,
                        format!(
                            "({}) VRRPv2 advert_int must be whole seconds; using {whole}",
                            instance.name
                        ),
                    ));
                }
                instance.advert_interval_cs = (whole as u16) * 100;
            }
            Version::V3 => {
                let centiseconds = (seconds * 100.0).round();
                if !(1.0..=4095.0).contains(&centiseconds) {
                    self.error(
                        &location,
                        format!("advert_int {seconds} is out of range 0.01..40.95 for VRRPv3"),
                    );
                } else {
                    instance.advert_interval_cs = centiseconds as u16;
                }
            }
        }
    }

    fn settle_authentication(&mut self, instance: &mut Instance, location: Option<&Location>) {
        let (Some(auth), Some(location)) = (instance.authentication, location) else {
            return;
        };
        if instance.strict_mode {
            self.error(
                location,
                format!(
                    "({}) strict mode does not allow authentication (RFC 3768 section 5.3.6 removed it)",
                    instance.name
                ),
            );
        } else if instance.version == Version::V3 {
            self.error(
                location,
                format!(
                    "({}) authentication is not allowed with VRRP version 3 (RFC 5798 removed it)",
                    instance.name
                ),
            );
        } else if let Authentication::Ah(_) = auth {
            self.error(location, format!("({}) auth_type AH is not supported by vrrpd (RFC 3768 deprecated it); use PASS or none", instance.name));
        }
    }

    /// The instance's family is its first address's; addresses of the other family go to the
    /// excluded list (keepalived does the same, with a warning).
    fn settle_family(&mut self, instance: &mut Instance) {
        let Some(first) = instance.addresses.first() else {
            instance.family = match instance.unicast_src_ip.or(instance.mcast_src_ip) {
                Some(IpAddr::V6(_)) => Family::Ipv6,
                _ => Family::Ipv4,
            };
            return;
        };
        instance.family = family_of(&first.address);
        let (same, other): (Vec<_>, Vec<_>) = instance
            .addresses
            .drain(..)
            .partition(|a| family_of(&a.address) == instance.family);
        for address in &other {
            self.warnings.push(Diagnostic::new(
                &address.location,
                format!(
                    "({}) {} is not of the instance's family; treated as excluded",
                    instance.name, address.address
                ),
            ));
        }
        instance.addresses = same;
        instance.excluded_addresses.extend(other);
        if instance.family == Family::Ipv6 && instance.version == Version::V2 {
            self.error(
                &instance.location,
                format!("({}) IPv6 needs VRRP version 3", instance.name),
            );
        }
        if instance.addresses.len() > 255 {
            self.error(&instance.location, format!("({}) more than 255 addresses cannot be advertised; use virtual_ipaddress_excluded", instance.name));
        }
    }

    fn authentication(&mut self, node: &Node) -> Option<Authentication> {
        let mut kind: Option<Word> = None;
        let mut password: Option<Word> = None;
        for item in self.block(node) {
            match item.keyword.text.as_str() {
                "auth_type" => kind = self.arg(item, 0).cloned(),
                "auth_pass" => password = self.arg(item, 0).cloned(),
                _ => self.unknown(&item.keyword),
            }
        }
        let kind = kind.or_else(|| {
            self.error(&node.keyword.location, "authentication needs auth_type");
            None
        })?;
        let password = password.or_else(|| {
            self.error(&node.keyword.location, "authentication needs auth_pass");
            None
        })?;
        let bytes = password.text.as_bytes();
        if bytes.len() > 8 {
            self.warn(
                &password,
                format!(
                    "auth_pass is longer than 8 characters; truncated to '{}'",
                    String::from_utf8_lossy(&bytes[..8])
                ),
            );
        }
        let mut data = [0u8; 8];
        let len = bytes.len().min(8);
        data[..len].copy_from_slice(&bytes[..len]);
        match kind.text.to_ascii_uppercase().as_str() {
            "PASS" => Some(Authentication::Pass(data)),
            "AH" => Some(Authentication::Ah(data)),
            _ => {
                self.error(
                    &kind.location,
                    format!("auth_type must be PASS or AH, not '{}'", kind.text),
                );
                None
            }
        }
    }

    /// `<IP>[/mask] [brd X] [dev X] [scope X] [label X] [no_track]`
    fn virtual_address(&mut self, entry: &Node) -> Option<VirtualAddress> {
        let word = &entry.keyword;
        let (address, prefix) = self.prefixed_address(word, "virtual address")?;
        let mut result = VirtualAddress {
            address,
            prefix,
            broadcast: None,
            device: None,
            scope: None,
            label: None,
            no_track: false,
            location: word.location.clone(),
        };
        let mut options = entry.args.iter();
        while let Some(option) = options.next() {
            let mut value = |context: &mut Context| -> Option<&Word> {
                let value = options.next();
                if value.is_none() {
                    context.error(&option.location, format!("'{}' needs a value", option.text));
                }
                value
            };
            match option.text.as_str() {
                "brd" | "broadcast" => {
                    let value = value(self)?;
                    match value.text.parse::<Ipv4Addr>() {
                        Ok(broadcast) if address.is_ipv4() => result.broadcast = Some(broadcast),
                        _ => self.error(
                            &value.location,
                            format!(
                                "brd '{}' is not an IPv4 address (or the VIP is IPv6)",
                                value.text
                            ),
                        ),
                    }
                }
                "dev" => result.device = Some(value(self)?.text.clone()),
                "label" => result.label = Some(value(self)?.text.clone()),
                "scope" => {
                    let value = value(self)?;
                    result.scope = Some(match value.text.as_str() {
                        "global" | "0" => Scope::Global,
                        "site" | "200" => Scope::Site,
                        "link" | "253" => Scope::Link,
                        "host" | "254" => Scope::Host,
                        "nowhere" | "255" => Scope::Nowhere,
                        _ => {
                            self.error(
                                &value.location,
                                format!(
                                    "scope '{}' is not global, site, link, host or nowhere",
                                    value.text
                                ),
                            );
                            return None;
                        }
                    });
                }
                "no_track" => result.no_track = true,
                "home" | "nodad" | "noprefixroute" | "autojoin" | "-" => {}
                _ => self.warn(
                    option,
                    format!("unknown address option '{}' ignored", option.text),
                ),
            }
        }
        Some(result)
    }

    fn prefixed_address(&mut self, word: &Word, what: &str) -> Option<(IpAddr, u8)> {
        let (address_text, prefix_text) = match word.text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (word.text.as_str(), None),
        };
        let Ok(address) = address_text.parse::<IpAddr>() else {
            self.error(
                &word.location,
                format!("{what} '{}' is not an IP address", word.text),
            );
            return None;
        };
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_text {
            None => max,
            Some(text) => match text.parse::<u8>() {
                Ok(prefix) if prefix <= max => prefix,
                _ => {
                    self.error(
                        &word.location,
                        format!("{what} '{}' has an invalid prefix length", word.text),
                    );
                    return None;
                }
            },
        };
        Some((address, prefix))
    }

    /// `<dest>[/len] [src X] [via|gw X] [dev X] [metric N] [table N]`, or `blackhole <dest>`.
    fn virtual_route(&mut self, entry: &Node) -> Option<VirtualRoute> {
        let mut words: Vec<&Word> = std::iter::once(&entry.keyword)
            .chain(entry.args.iter())
            .collect();
        let blackhole = words.first().is_some_and(|w| w.text == "blackhole");
        if blackhole {
            words.remove(0);
        }
        let destination_word = *words.first().or_else(|| {
            self.error(&entry.keyword.location, "blackhole needs a destination");
            None
        })?;
        let (destination, prefix) = if destination_word.text == "default" {
            (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)
        } else {
            self.prefixed_address(destination_word, "route destination")?
        };
        let mut route = VirtualRoute {
            destination,
            prefix,
            source: None,
            gateway: None,
            device: None,
            metric: None,
            table: None,
            blackhole,
            location: destination_word.location.clone(),
        };
        let mut rest = words[1..].iter();
        while let Some(option) = rest.next() {
            let Some(value) = rest.next() else {
                self.error(&option.location, format!("'{}' needs a value", option.text));
                return None;
            };
            match option.text.as_str() {
                "src" => route.source = Some(self.ip(value, "src")?),
                "via" | "gw" => route.gateway = Some(self.ip(value, "via")?),
                "dev" | "oif" => route.device = Some(value.text.clone()),
                "metric" | "preference" => {
                    route.metric = Some(self.number(value, "metric", 0..=u32::MAX)?)
                }
                "table" => route.table = Some(self.number(value, "table", 0..=u32::MAX)?),
                _ => self.warn(
                    option,
                    format!("unknown route option '{}' ignored", option.text),
                ),
            }
        }
        Some(route)
    }

    /// One `virtual_rules` line, as `ip rule` reads it. A selector vrrpd does not implement is
    /// an error rather than a warning: a rule installed without it would match more traffic
    /// than the operator wrote.
    fn virtual_rule(&mut self, entry: &Node) -> Option<VirtualRule> {
        let mut rule = VirtualRule {
            family: None,
            from: None,
            to: None,
            invert: false,
            input_interface: None,
            output_interface: None,
            fwmark: None,
            tos: None,
            priority: None,
            target: RuleTarget::Table(254),
            location: entry.keyword.location.clone(),
        };
        let mut families = Vec::new();
        let words: Vec<&Word> = std::iter::once(&entry.keyword)
            .chain(entry.args.iter())
            .collect();
        let mut rest = words.into_iter();
        while let Some(option) = rest.next() {
            let flag_target = match option.text.as_str() {
                "not" => {
                    rule.invert = true;
                    continue;
                }
                "no_track" => continue,
                "blackhole" => Some(RuleTarget::Blackhole),
                "unreachable" => Some(RuleTarget::Unreachable),
                "prohibit" => Some(RuleTarget::Prohibit),
                _ => None,
            };
            if let Some(target) = flag_target {
                rule.target = target;
                continue;
            }
            let Some(value) = rest.next() else {
                self.error(&option.location, format!("'{}' needs a value", option.text));
                return None;
            };
            match option.text.as_str() {
                "from" | "to" => {
                    let selector = if value.text == "all" {
                        None
                    } else {
                        let (address, prefix) = self.prefixed_address(value, &option.text)?;
                        families.push(if address.is_ipv4() {
                            Family::Ipv4
                        } else {
                            Family::Ipv6
                        });
                        Some((address, prefix))
                    };
                    if option.text == "from" {
                        rule.from = selector;
                    } else {
                        rule.to = selector;
                    }
                }
                "iif" | "dev" => rule.input_interface = Some(value.text.clone()),
                "oif" => rule.output_interface = Some(value.text.clone()),
                "fwmark" => {
                    let (mark, mask) = match value.text.split_once('/') {
                        Some((mark, mask)) => (mark, Some(mask)),
                        None => (value.text.as_str(), None),
                    };
                    let (Some(mark), Some(mask)) = (
                        parse_u32_any_base(mark),
                        mask.map(parse_u32_any_base)
                            .map_or(Some(None), |m| m.map(Some)),
                    ) else {
                        self.error(
                            &value.location,
                            format!("fwmark '{}' is not MARK[/MASK]", value.text),
                        );
                        return None;
                    };
                    rule.fwmark = Some((mark, mask));
                }
                "tos" | "dsfield" => rule.tos = Some(self.number(value, "tos", 0..=255)?),
                "priority" | "preference" | "pref" => {
                    rule.priority = Some(self.number(value, "priority", 0..=u32::MAX)?)
                }
                "table" | "lookup" => {
                    let table = match value.text.as_str() {
                        "main" => 254,
                        "local" => 255,
                        "default" => 253,
                        _ => self.number(value, "table", 1..=u32::MAX)?,
                    };
                    rule.target = RuleTarget::Table(table);
                }
                "goto" => {
                    rule.target = RuleTarget::Goto(self.number(value, "goto", 0..=u32::MAX)?)
                }
                _ => {
                    self.error(
                        &option.location,
                        format!(
                            "virtual_rules option '{}' is not supported by vrrpd",
                            option.text
                        ),
                    );
                    return None;
                }
            }
        }
        families.dedup();
        match families.as_slice() {
            [] => {}
            [family] => rule.family = Some(*family),
            _ => {
                self.error(
                    &entry.keyword.location,
                    "virtual_rules: from and to are of different address families",
                );
                return None;
            }
        }
        Some(rule)
    }

    fn unicast_peer(&mut self, entry: &Node) -> Option<UnicastPeer> {
        let address = self.ip(&entry.keyword, "unicast_peer")?;
        let mut peer = UnicastPeer {
            address,
            min_ttl: None,
            max_ttl: None,
        };
        let mut options = entry.args.iter();
        while let Some(option) = options.next() {
            let Some(value) = options.next() else {
                self.error(&option.location, format!("'{}' needs a value", option.text));
                return None;
            };
            match option.text.as_str() {
                "min_ttl" => peer.min_ttl = Some(self.number(value, "min_ttl", 0..=255)?),
                "max_ttl" => peer.max_ttl = Some(self.number(value, "max_ttl", 0..=255)?),
                _ => self.warn(
                    option,
                    format!("unknown unicast_peer option '{}' ignored", option.text),
                ),
            }
        }
        Some(peer)
    }

    /// `NAME [weight N [reverse]]`
    fn tracked(&mut self, entry: &Node) -> Option<Tracked> {
        let mut tracked = Tracked {
            name: entry.keyword.text.clone(),
            weight: None,
            reverse: false,
            location: entry.keyword.location.clone(),
        };
        let mut options = entry.args.iter();
        while let Some(option) = options.next() {
            match option.text.as_str() {
                "weight" => {
                    let Some(value) = options.next() else {
                        self.error(&option.location, "weight needs a value");
                        return None;
                    };
                    tracked.weight = Some(self.number(value, "weight", -254..=254)?);
                }
                "reverse" => tracked.reverse = true,
                "noreverse" => tracked.reverse = false,
                _ => self.warn(
                    option,
                    format!("unknown tracking option '{}' ignored", option.text),
                ),
            }
        }
        Some(tracked)
    }

    fn script(&mut self, node: &Node) -> Option<Script> {
        let name = self.name(node)?;
        let errors_before = self.errors.len();
        let mut command = None;
        let mut script = Script {
            name: name.text.clone(),
            location: name.location.clone(),
            command: Command {
                line: String::new(),
                argv: Vec::new(),
                location: name.location.clone(),
            },
            interval: Duration::from_secs(1),
            timeout: None,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            user: None,
            init_fail: false,
        };
        for item in self.block(node) {
            match item.keyword.text.as_str() {
                "script" => command = self.command(item),
                "interval" => {
                    if let Some(value) = self.seconds(item, 86400.0) {
                        script.interval = value.max(Duration::from_millis(1));
                    }
                }
                "timeout" => script.timeout = self.seconds(item, 86400.0),
                "weight" => {
                    if let Some(value) = self.number_arg(item, -254..=254) {
                        script.weight = value;
                    }
                    script.weight_reverse = item.args.get(1).is_some_and(|w| w.text == "reverse");
                }
                "rise" => {
                    if let Some(value) = self.number_arg(item, 1..=u32::MAX) {
                        script.rise = value;
                    }
                }
                "fall" => {
                    if let Some(value) = self.number_arg(item, 1..=u32::MAX) {
                        script.fall = value;
                    }
                }
                "user" => script.user = self.run_as(item),
                "init_fail" => script.init_fail = true,
                _ => self.unknown(&item.keyword),
            }
        }
        match command {
            Some(command) => script.command = command,
            None => self.error(
                &name.location,
                format!("vrrp_script {} has no script", script.name),
            ),
        }
        (self.errors.len() == errors_before).then_some(script)
    }

    fn track_file(&mut self, node: &Node) -> Option<TrackFile> {
        let name = self.name(node)?;
        let mut path = None;
        let mut file = TrackFile {
            name: name.text.clone(),
            location: name.location.clone(),
            path: PathBuf::new(),
            weight: 1,
            weight_reverse: false,
            init_value: None,
        };
        for item in self.block(node) {
            match item.keyword.text.as_str() {
                "file" => path = self.arg(item, 0).map(|w| PathBuf::from(&w.text)),
                "weight" => {
                    if let Some(value) = self.number_arg(item, -254..=254) {
                        file.weight = value;
                    }
                    file.weight_reverse = item.args.get(1).is_some_and(|w| w.text == "reverse");
                }
                "init_file" => {
                    file.init_value = Some(match item.args.first() {
                        Some(word) if word.text != "overwrite" => {
                            self.number(word, "init_file", i64::MIN..=i64::MAX)?
                        }
                        _ => 0,
                    });
                }
                _ => self.unknown(&item.keyword),
            }
        }
        match path {
            Some(path) => file.path = path,
            None => {
                self.error(
                    &name.location,
                    format!("vrrp_track_file {} has no file", file.name),
                );
                return None;
            }
        }
        Some(file)
    }

    fn sync_group(&mut self, node: &Node) -> Option<SyncGroup> {
        let name = self.name(node)?;
        let mut group = SyncGroup {
            name: name.text.clone(),
            location: name.location.clone(),
            members: Vec::new(),
            notify: Notify::none(),
            smtp_alert: false,
            track_scripts: Vec::new(),
            tracking_weight: false,
        };
        for item in self.block(node) {
            match item.keyword.text.as_str() {
                "group" => {
                    group.members = self
                        .block(item)
                        .iter()
                        .map(|n| n.keyword.text.clone())
                        .collect();
                }
                "notify_master" => group.notify.master = self.command(item),
                "notify_backup" => group.notify.backup = self.command(item),
                "notify_fault" => group.notify.fault = self.command(item),
                "notify_stop" => group.notify.stop = self.command(item),
                "notify" => group.notify.any = self.command(item),
                "smtp_alert" => group.smtp_alert = self.flag(item),
                "sync_group_tracking_weight" => group.tracking_weight = true,
                "global_tracking" => {
                    self.warn(&item.keyword, format!("({}) global_tracking is deprecated; use sync_group_tracking_weight or track_script on the sync group", group.name));
                    group.tracking_weight = true;
                }
                "track_script" => {
                    for entry in self.block(item) {
                        if let Some(tracked) = self.tracked(entry) {
                            group.track_scripts.push(tracked);
                        }
                    }
                }
                _ => self.unknown(&item.keyword),
            }
        }
        Some(group)
    }

    /// keepalived ignores a member's weighted track_script unless the group says
    /// `sync_group_tracking_weight`: a weight moves one member's priority, and a sync group whose
    /// members disagree about who should be master cannot move together. Unweighted tracking
    /// (a failure means FAULT) still applies, and FAULT moves the whole group.
    fn drop_weighted_tracking_in_sync_groups(&mut self, config: &mut Config) {
        for group in config.sync_groups.iter().filter(|g| !g.tracking_weight) {
            for instance in config
                .instances
                .iter_mut()
                .filter(|i| group.members.contains(&i.name))
            {
                let scripts = &config.scripts;
                let weight_of = |tracked: &Tracked| {
                    tracked.weight.unwrap_or_else(|| {
                        scripts
                            .iter()
                            .find(|s| s.name == tracked.name)
                            .map_or(0, |s| s.weight)
                    })
                };
                let (weighted, kept): (Vec<Tracked>, Vec<Tracked>) = instance
                    .track_scripts
                    .drain(..)
                    .partition(|t| weight_of(t) != 0);
                for tracked in weighted {
                    self.warnings.push(Diagnostic::new(
                        &tracked.location,
                        format!(
                            "({}) ignoring tracked script {} with weights due to SYNC group {} (add sync_group_tracking_weight to keep them)",
                            instance.name, tracked.name, group.name
                        ),
                    ));
                }
                instance.track_scripts = kept;
            }
        }
    }

    /// Checks that need the whole file: references and duplicates.
    fn cross_check(&mut self, config: &Config) {
        let mut seen: HashMap<(String, Family, u8), &Instance> = HashMap::new();
        let mut names: HashMap<&str, &Location> = HashMap::new();
        for instance in config.instances.iter().filter(|i| !i.incomplete) {
            if let Some(first) = names.insert(&instance.name, &instance.location) {
                self.error(
                    &instance.location,
                    format!(
                        "vrrp_instance {} is defined twice (first at {first})",
                        instance.name
                    ),
                );
            }
            let key = (instance.interface.clone(), instance.family, instance.vrid);
            if let Some(other) = seen.insert(key, instance) {
                self.error(
                    &instance.location,
                    format!(
                        "({}) virtual_router_id {} is already used on {} by ({}) at {}",
                        instance.name,
                        instance.vrid,
                        instance.interface,
                        other.name,
                        other.location
                    ),
                );
            }
            // keepalived's documented fallback for an unknown track_script: a warning, and the
            // reference is ignored (the seed's dr2 fragment relies on it).
            for tracked in &instance.track_scripts {
                if !config.scripts.iter().any(|s| s.name == tracked.name) {
                    self.warnings.push(Diagnostic::new(
                        &tracked.location,
                        format!(
                            "({}) track_script {} is not a defined vrrp_script; ignored",
                            instance.name, tracked.name
                        ),
                    ));
                }
            }
            for tracked in &instance.track_files {
                if !config.track_files.iter().any(|f| f.name == tracked.name) {
                    self.error(
                        &tracked.location,
                        format!(
                            "({}) track_file {} is not a defined vrrp_track_file",
                            instance.name, tracked.name
                        ),
                    );
                }
            }
        }
        for group in &config.sync_groups {
            for member in &group.members {
                if !config.instances.iter().any(|i| &i.name == member) {
                    self.error(
                        &group.location,
                        format!(
                            "vrrp_sync_group {}: {member} is not a vrrp_instance",
                            group.name
                        ),
                    );
                }
            }
            for tracked in &group.track_scripts {
                if !config.scripts.iter().any(|s| s.name == tracked.name) {
                    self.error(
                        &tracked.location,
                        format!(
                            "vrrp_sync_group {}: track_script {} is not a defined vrrp_script",
                            group.name, tracked.name
                        ),
                    );
                }
            }
        }
    }
}

fn family_of(address: &IpAddr) -> Family {
    match address {
        IpAddr::V4(_) => Family::Ipv4,
        IpAddr::V6(_) => Family::Ipv6,
    }
}

/// Splits a command line into arguments as keepalived does: on whitespace, with single or double
/// quotes grouping. `None` for an unterminated quote.
pub fn split_command(line: &str) -> Option<Vec<String>> {
    let mut argv = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => current.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    argv.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            None => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return None;
    }
    if in_word {
        argv.push(current);
    }
    Some(argv)
}

/// A 32-bit number in decimal or, with `0x`, hexadecimal (how `ip rule` writes marks).
fn parse_u32_any_base(text: &str) -> Option<u32> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}
