//! The keyword table (`config::keywords`) and the parser agree, so that vrrpd.conf(5) and
//! `vrrpd -t --report`, both generated from the table, say what the parser does: every keyword
//! the table lists as read is read (never "unknown", never "ignored"), every keyword it lists as
//! ignored is a notice saying why, and every keyword of keepalived.conf(5) that the parser reads
//! is in the table.

use std::collections::BTreeSet;
use std::path::Path;

use vrrp_user::config::keywords::{Block, KEYWORDS, Treatment, lookup};
use vrrp_user::config::{self, LexOptions};

/// The diagnostics (errors, warnings, notices) of a file holding `keyword` in `block`.
fn diagnostics(block: Block, keyword: &str) -> Vec<String> {
    let instance = |extra: &str| {
        format!(
            "vrrp_instance VI_1 {{\n  interface lo\n  virtual_router_id 5\n  priority 100\n  virtual_ipaddress {{\n    192.0.2.5/24\n  }}\n{extra}}}\n"
        )
    };
    let text = match block {
        Block::Top => format!("{keyword} NAME {{\n}}\n{}", instance("")),
        Block::GlobalDefs => format!("global_defs {{\n  {keyword} 1\n}}\n{}", instance("")),
        Block::Instance if matches!(keyword, "auth_type" | "auth_pass") => {
            instance(&format!("  authentication {{\n    {keyword} PASS\n  }}\n"))
        }
        Block::Instance => instance(&format!("  {keyword} 1\n")),
        Block::Script => format!(
            "vrrp_script chk {{\n  script /bin/true\n  {keyword} 1\n}}\n{}",
            instance("")
        ),
        Block::TrackFile => format!(
            "vrrp_track_file f {{\n  file /tmp/f\n  {keyword} 1\n}}\n{}",
            instance("")
        ),
        Block::TrackProcess => format!(
            "vrrp_track_process p {{\n  process haproxy\n  {keyword} 1\n}}\n{}",
            instance("")
        ),
        Block::SyncGroup => format!(
            "vrrp_sync_group G {{\n  group {{\n    VI_1\n  }}\n  {keyword} 1\n}}\n{}",
            instance("")
        ),
    };
    // Tests run in parallel: a file of its own for each call, removed when it is dropped.
    let file = tempfile::Builder::new()
        .prefix("vrrpd-keywords-")
        .suffix(".conf")
        .tempfile()
        .expect("scratch file");
    std::fs::write(file.path(), text).expect("write");
    let options = LexOptions { config_id: None };
    let loaded = config::load(file.path(), &options);
    match loaded {
        Ok(loaded) => loaded
            .warnings
            .iter()
            .chain(&loaded.notices)
            .map(ToString::to_string)
            .collect(),
        Err(error) => error
            .diagnostics()
            .iter()
            .map(ToString::to_string)
            .collect(),
    }
}

fn unknown(diagnostics: &[String], keyword: &str) -> bool {
    diagnostics
        .iter()
        .any(|d| d.contains(&format!("unknown keyword '{keyword}'")))
}

fn ignored(diagnostics: &[String], keyword: &str) -> bool {
    diagnostics
        .iter()
        .any(|d| d.contains(&format!(" {keyword} ignored: ")))
}

#[test]
fn every_keyword_the_table_lists_is_treated_as_it_says() {
    for keyword in KEYWORDS {
        let found = diagnostics(keyword.block, keyword.name);
        assert!(
            !unknown(&found, keyword.name),
            "{} {}: unknown to the parser: {found:?}",
            keyword.block.name(),
            keyword.name
        );
        assert_eq!(
            ignored(&found, keyword.name),
            !keyword.treatment.is_read(),
            "{} {} is {:?} in the table: {found:?}",
            keyword.block.name(),
            keyword.name,
            keyword.treatment
        );
    }
}

#[test]
fn the_table_has_each_keyword_once_and_says_what_read_keywords_do() {
    let mut seen = BTreeSet::new();
    for keyword in KEYWORDS {
        assert!(
            seen.insert((keyword.block, keyword.name)),
            "{} {} twice",
            keyword.block.name(),
            keyword.name
        );
        if keyword.treatment.is_read() {
            assert!(!keyword.what.is_empty(), "{} says nothing", keyword.name);
        }
        if let Treatment::Different(how) | Treatment::Ignored(how) = keyword.treatment {
            assert!(!how.is_empty(), "{} says no difference", keyword.name);
        }
    }
}

/// The keywords keepalived.conf(5) documents, taken from the man page keepalived installs: each
/// word that starts an indented line in a section, by the block it documents.
fn keepalived_keywords() -> Vec<(Block, String)> {
    let page = Path::new("/usr/share/man/man5/keepalived.conf.5.gz");
    assert!(
        page.exists(),
        "keepalived's manual is missing: `cargo xtask setup` installs keepalived"
    );
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "zcat {} | groff -t -e -mandoc -Tascii 2>/dev/null | col -bx",
            page.display()
        ))
        .output()
        .expect("render keepalived.conf(5)");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut section = None;
    let mut found = Vec::new();
    for line in text.lines() {
        match line.trim_end() {
            "GLOBAL CONFIGURATION" => section = Some(Block::GlobalDefs),
            "VRRPD CONFIGURATION" => section = Some(Block::Instance),
            "BFD CONFIGURATION" | "LVS CONFIGURATION" | "ADVANCED CONFIGURATION" => section = None,
            _ => {}
        }
        let Some(block) = section else { continue };
        if !line.starts_with(' ') {
            continue;
        }
        if let Some(word) = line.split_whitespace().next()
            && word.len() > 3
            && word.contains('_')
            && word
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            found.push((block, word.to_string()));
        }
    }
    found
}

#[test]
fn every_keepalived_keyword_the_parser_reads_is_in_the_table() {
    let mut missing = Vec::new();
    for (block, keyword) in keepalived_keywords() {
        let found = diagnostics(block, &keyword);
        if !unknown(&found, &keyword) && lookup(block, &keyword).is_none() {
            missing.push(format!("{} {keyword}", block.name()));
        }
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "read but not in the table: {missing:?}");
}
