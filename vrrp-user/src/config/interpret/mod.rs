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

use super::keywords::{Block, Treatment};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use vrrp_common::wire::Family;

use super::model::*;
use super::syntax::{Diagnostic, Location, Node, Word};

/// The configuration and the warnings found on the way.
#[derive(Debug)]
pub struct Interpreted {
    pub config: Config,
    pub warnings: Vec<Diagnostic>,
    pub notices: Vec<Diagnostic>,
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
        track_processes: Vec::new(),
        sync_groups: Vec::new(),
        statics: Statics::default(),
    };
    for node in nodes {
        match node.keyword.text.as_str() {
            "global_defs" => {}
            "vrrp_instance" => {
                if let Some(instance) = context.instance(node, &config.global)
                    && !context.is_duplicate_instance(&config, &instance)
                {
                    config.instances.push(Arc::new(instance));
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
            "vrrp_track_process" => {
                if let Some(process) = context.track_process(node) {
                    config.track_processes.push(process);
                }
            }
            "vrrp_sync_group" => {
                if let Some(group) = context.sync_group(node) {
                    config.sync_groups.push(group);
                }
            }
            "static_ipaddress" => config
                .statics
                .addresses
                .extend(context.list_skipping_invalid(node, Context::virtual_address)),
            "static_routes" => config
                .statics
                .routes
                .extend(context.list_skipping_invalid(node, Context::virtual_route)),
            "static_rules" => config
                .statics
                .rules
                .extend(context.list_skipping_invalid(node, Context::virtual_rule)),
            _ => context.unhandled(Block::Top, &node.keyword),
        }
    }
    context.cross_check(&config);
    context.drop_dangling_references(&mut config);
    context.drop_weighted_tracking_in_sync_groups(&mut config);
    number_rules_without_priority(&mut config);
    // keepalived settles unset smtp_alert from global_defs once the whole file is read.
    let alert = config.global.vrrp_smtp_alert();
    for instance in &mut config.instances {
        Arc::make_mut(instance).smtp_alert.get_or_insert(alert);
    }
    for group in &mut config.sync_groups {
        group.smtp_alert.get_or_insert(alert);
    }
    if context.errors.is_empty() {
        Ok(Interpreted {
            config,
            warnings: context.warnings,
            notices: context.notices,
        })
    } else {
        Err(context.errors)
    }
}

/// keepalived gives every rule written without a priority one of its own: 16384 for the first
/// (the static rules first, then each instance's, in the file's order), one less for each
/// next (seen with keepalived 2.2.7's `ip rule`), so that its rules sit ahead of the kernel's
/// main table and in the file's order, whatever else is installed.
fn number_rules_without_priority(config: &mut Config) {
    let mut next = 16384u32;
    let rules = config.statics.rules.iter_mut().chain(
        config
            .instances
            .iter_mut()
            .flat_map(|i| Arc::make_mut(i).rules.iter_mut()),
    );
    for rule in rules.filter(|rule| rule.priority.is_none()) {
        rule.priority = Some(next);
        next = next.saturating_sub(1);
    }
}

/// What a demoted error says happened.
const IGNORED: &str = "ignored, as keepalived ignores it";

#[derive(Default)]
struct Context {
    warnings: Vec<Diagnostic>,
    /// Reported, not counted as errors (see [`super::Loaded::notices`]).
    notices: Vec<Diagnostic>,
    errors: Vec<Diagnostic>,
}

impl Context {
    pub(super) fn error(&mut self, at: &Location, message: impl Into<String>) {
        self.errors.push(Diagnostic::new(at, message));
    }

    pub(super) fn warn(&mut self, word: &Word, message: impl Into<String>) {
        self.warnings.push(Diagnostic::new(&word.location, message));
    }

    /// keepalived's policy for what it cannot use (lib/parser.c and each keyword handler): the
    /// error is reported and the file runs without it. The errors found since `errors_before`
    /// become warnings, each told what happened instead (`consequence`).
    pub(super) fn demote_errors_since(&mut self, errors_before: usize, consequence: &str) {
        let demoted: Vec<Diagnostic> = self.errors.drain(errors_before..).collect();
        for mut diagnostic in demoted {
            diagnostic.message.push_str(" - ");
            diagnostic.message.push_str(consequence);
            self.warnings.push(diagnostic);
        }
    }

    /// A keyword whose value is unusable is ignored: the setting keeps its default (or what an
    /// earlier line gave it), as keepalived's handlers do ("... - ignoring", "Using default").
    pub(super) fn ignore_errors_since(&mut self, errors_before: usize) {
        self.demote_errors_since(errors_before, IGNORED);
    }

    /// A keyword the block's reader does not read: one the keyword table lists as ignored is
    /// a notice (keepalived would act on it, vrrpd does not, and says why); any other is
    /// unknown, as keepalived reports it.
    pub(super) fn unhandled(&mut self, block: Block, keyword: &Word) {
        match super::keywords::lookup(block, &keyword.text).map(|k| k.treatment) {
            Some(Treatment::Ignored(why)) => self.notices.push(Diagnostic::new(
                &keyword.location,
                format!("{} ignored: {why}", keyword.text),
            )),
            _ => self.warn(keyword, format!("unknown keyword '{}'", keyword.text)),
        }
    }

    /// A second vrrp_instance of the same name: keepalived reports it ("vrrp instance VI_1
    /// already defined") and keeps the first.
    fn is_duplicate_instance(&mut self, config: &Config, instance: &Instance) -> bool {
        let Some(first) = config.instances.iter().find(|i| i.name == instance.name) else {
            return false;
        };
        self.warnings.push(Diagnostic::new(
            &instance.location,
            format!(
                "vrrp_instance {} is defined twice (first at {}) - ignored, as keepalived ignores it",
                instance.name, first.location
            ),
        ));
        true
    }

    /// Two instances with one VRID on one interface and family cannot both run: refused.
    fn cross_check(&mut self, config: &Config) {
        let mut seen: HashMap<(String, Family, u8), &Instance> = HashMap::new();
        for instance in config.instances.iter().filter(|i| !i.incomplete) {
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
        }
    }

    /// References to what the file does not define: keepalived reports each and goes on
    /// without it (an unknown track_script or track_file is ignored, a sync group member that
    /// is no vrrp_instance is left out of the group).
    fn drop_dangling_references(&mut self, config: &mut Config) {
        let scripts: Vec<String> = config.scripts.iter().map(|s| s.name.clone()).collect();
        let files: Vec<String> = config.track_files.iter().map(|f| f.name.clone()).collect();
        let processes: Vec<String> = config
            .track_processes
            .iter()
            .map(|p| p.name.clone())
            .collect();
        let instances: Vec<String> = config.instances.iter().map(|i| i.name.clone()).collect();
        let mut dangling = Vec::new();
        // Each kind of tracked object, with the names the file defines of it.
        let kinds = [
            (&scripts, "vrrp_script"),
            (&files, "vrrp_track_file"),
            (&processes, "vrrp_track_process"),
        ];
        for instance in &mut config.instances {
            let instance = Arc::make_mut(instance);
            let owner = format!("({})", instance.name);
            let lists = [
                &mut instance.track_scripts,
                &mut instance.track_files,
                &mut instance.track_processes,
            ];
            for (tracked, (defined, kind)) in lists.into_iter().zip(kinds) {
                keep_defined(tracked, defined, &owner, kind, &mut dangling);
            }
        }
        for group in &mut config.sync_groups {
            let owner = format!("vrrp_sync_group {}:", group.name);
            let lists = [
                &mut group.track_scripts,
                &mut group.track_files,
                &mut group.track_processes,
            ];
            for (tracked, (defined, kind)) in lists.into_iter().zip(kinds) {
                keep_defined(tracked, defined, &owner, kind, &mut dangling);
            }
            let location = group.location.clone();
            group.members.retain(|member| {
                let defined = instances.contains(member);
                if !defined {
                    dangling.push(Diagnostic::new(
                        &location,
                        format!("Virtual router {member} specified in sync group {} doesn't exist - {IGNORED}", group.name),
                    ));
                }
                defined
            });
            if group.members.len() == 1 {
                dangling.push(Diagnostic::new(
                    &location,
                    format!(
                        "Sync group {} has only 1 virtual router(s) - this probably isn't what you want",
                        group.name
                    ),
                ));
            }
        }
        self.warnings.extend(dangling);
    }
}

/// Keeps the tracked objects whose name is `defined` (a `kind` block of the file), reporting
/// each other one as ignored.
fn keep_defined(
    tracked: &mut Vec<Tracked>,
    defined: &[String],
    owner: &str,
    kind: &str,
    dropped: &mut Vec<Diagnostic>,
) {
    let keyword = match kind {
        "vrrp_script" => "track_script",
        "vrrp_track_process" => "track_process",
        _ => "track_file",
    };
    tracked.retain(|t| {
        let known = defined.contains(&t.name);
        if !known {
            dropped.push(Diagnostic::new(
                &t.location,
                format!(
                    "{owner} {keyword} {} is not a defined {kind} - {IGNORED}",
                    t.name
                ),
            ));
        }
        known
    });
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
