//! From the syntax tree to the typed [`Config`], validating as keepalived does: unknown keywords
//! are warnings and parsing goes on; invalid values are located errors (or keepalived's
//! documented fallback, with a warning).

//!
//! One file per block of keepalived.conf: `global_defs`, `instance` (vrrp_instance), `tracking`
//! (vrrp_script, vrrp_track_file and the track_* lists), `sync_group` (vrrp_sync_group),
//! `addresses` (virtual_ipaddress, virtual_routes, virtual_rules, unicast_peer); `garp` holds the
//! gratuitous-ARP keywords both global_defs and vrrp_instance take, and `values` the readers of
//! every repeated construct (numbers, seconds, addresses, flags, blocks, commands).

mod addresses;
mod garp;
mod global_defs;
mod instance;
mod sync_group;
mod tracking;
mod values;

use std::collections::HashMap;
use std::net::IpAddr;

use vrrp_common::wire::Family;

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
    // keepalived settles unset smtp_alert from global_defs once the whole file is read.
    let alert = config.global.vrrp_smtp_alert();
    for instance in &mut config.instances {
        instance.smtp_alert.get_or_insert(alert);
    }
    for group in &mut config.sync_groups {
        group.smtp_alert.get_or_insert(alert);
    }
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
    pub(super) fn error(&mut self, at: &Location, message: impl Into<String>) {
        self.errors.push(Diagnostic::new(at, message));
    }

    pub(super) fn warn(&mut self, word: &Word, message: impl Into<String>) {
        self.warnings.push(Diagnostic::new(&word.location, message));
    }

    pub(super) fn unknown(&mut self, keyword: &Word) {
        self.warn(keyword, format!("unknown keyword '{}'", keyword.text));
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
