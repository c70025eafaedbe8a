//! `vrrpd -t --report`: the migration report. For an operator's keepalived.conf, every keyword
//! with its location and what vrrpd does with it (from the keyword table, the same one the
//! parser consults), then every diagnostic, then whether vrrpd runs the file. Sans-IO: it reads
//! the parsed statements and the diagnostics it is given.

use std::fmt::Write;

use super::keywords::{Block, Treatment, lookup};
use super::syntax::{Diagnostic, Node};

/// The blocks whose statements are keywords (the others hold values: addresses, routes,
/// instance names, ...).
fn block_of(parent: Option<Block>, keyword: &str) -> Option<Block> {
    match (parent, keyword) {
        (None, "global_defs") => Some(Block::GlobalDefs),
        (None, "vrrp_instance") => Some(Block::Instance),
        (None, "vrrp_script") => Some(Block::Script),
        (None, "vrrp_track_file" | "track_file") => Some(Block::TrackFile),
        (None, "vrrp_track_process") => Some(Block::TrackProcess),
        (None, "vrrp_sync_group") => Some(Block::SyncGroup),
        // auth_type and auth_pass are the instance's, written inside `authentication`.
        (Some(Block::Instance), "authentication") => Some(Block::Instance),
        _ => None,
    }
}

/// One line per keyword of `nodes`, in file order.
fn keyword_lines(nodes: &[Node], parent: Option<Block>, out: &mut String) {
    for node in nodes {
        let block = parent.unwrap_or(Block::Top);
        let name = &node.keyword.text;
        let verdict = match lookup(block, name).map(|k| k.treatment) {
            Some(Treatment::Same) => "implemented".to_string(),
            Some(Treatment::Different(how)) => format!("implemented differently: {how}"),
            Some(Treatment::Ignored(why)) => format!("ignored: {why}"),
            None => "unknown to vrrpd (reported as an unknown keyword)".to_string(),
        };
        let _ = writeln!(
            out,
            "{}: {} {name}: {verdict}",
            node.keyword.location,
            block.name()
        );
        if let (Some(children), Some(inner)) = (&node.block, block_of(parent, name)) {
            keyword_lines(children, Some(inner), out);
        }
    }
}

/// The report. `errors` empty means vrrpd runs the file (with the warnings' fallbacks).
pub fn report(
    nodes: &[Node],
    errors: &[&Diagnostic],
    warnings: &[&Diagnostic],
    notices: &[&Diagnostic],
) -> String {
    let mut out = String::new();
    keyword_lines(nodes, None, &mut out);
    for (kind, diagnostics) in [
        ("error", errors),
        ("warning", warnings),
        ("notice", notices),
    ] {
        for diagnostic in diagnostics {
            let _ = writeln!(out, "{diagnostic} ({kind})");
        }
    }
    let verdict = if errors.is_empty() {
        "vrrpd runs this file"
    } else {
        "vrrpd cannot run this file"
    };
    let _ = writeln!(out, "{verdict}");
    out
}
