//! `vrrpd -t` side by side with `keepalived -t` (2.2.7), in one namespace that has the
//! interfaces the files name: keepalived's own sample configurations (committed fixtures, see
//! their ORIGIN.md) and every fixture of vrrp-user's configuration tests. vrrpd exits with
//! keepalived's code (core/main.c, `config_test_exit`: 0 fine, 4 cannot run, 5 errors reported
//! but it runs with its fallbacks, 6 scripts without script security) for every file, except the
//! known differences listed here with the reason.

use std::path::{Path, PathBuf};

use vrrp_harness::daemons::vrrpd_binary;
use vrrp_harness::netns::Netns;

/// Files on which vrrpd's code differs from keepalived's, with both codes and why. The test
/// fails if one of them starts to agree (then remove it here) or if any other file differs.
const KNOWN_DIFFERENCES: [(&str, i32, i32, &str); 4] = [
    (
        "duplicate-vrid.conf",
        5,
        4,
        "two instances with one VRID on one interface: keepalived reports it; vrrpd refuses, \
         since both cannot run",
    ),
    (
        "include-missing.conf",
        0,
        0,
        "(agrees; listed to check that a missing include is only a notice, as keepalived logs it)",
    ),
    (
        "virtual-rules.conf",
        5,
        0,
        "keepalived 2.2.7 does not know `pref` in virtual_rules (later versions do); vrrpd reads it",
    ),
    (
        "keepalived.conf.fwmark",
        5,
        0,
        "keepalived's own report is about its LVS virtual_server, which vrrpd does not read \
         (a notice)",
    ),
];

fn exit_code(ns: &Netns, program: &str, args: &[&str]) -> (i32, String) {
    let output = ns
        .command(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let code = output.status.code().unwrap_or_else(|| {
        128 + std::os::unix::process::ExitStatusExt::signal(&output.status).unwrap_or(0)
    });
    (code, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Every file to compare: keepalived's samples and vrrp-user's fixtures.
fn files() -> Vec<PathBuf> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vrrp-user/tests/fixtures");
    let mut files = Vec::new();
    for folder in [
        "keepalived-samples",
        "broken",
        "fallbacks",
        "skipped",
        "warnings",
        "features",
        "seed",
    ] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(fixtures.join(folder))
            .unwrap_or_else(|e| panic!("{folder}: {e}"))
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                name.is_some_and(|n| n.starts_with("keepalived.conf") || n.ends_with(".conf"))
            })
            .collect();
        found.sort();
        files.extend(found);
    }
    files
}

#[test]
fn vrrpd_t_exits_with_keepalived_code_for_every_file() {
    vrrp_harness::require_root();
    let ns = Netns::new("samples").expect("namespace");
    // The interfaces the files name, so that both judge the files rather than this host.
    for pair in [("eth0", "eth1"), ("eth2", "eth3")] {
        ns.run_ok([
            "ip", "link", "add", pair.0, "type", "veth", "peer", "name", pair.1,
        ])
        .expect("veth");
        for name in [pair.0, pair.1] {
            ns.run_ok(["ip", "link", "set", name, "up"]).expect("up");
        }
    }
    let vrrpd = vrrpd_binary().display().to_string();
    let files = files();
    let mut differing = Vec::new();
    let mut agreeing_now = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = path.display().to_string();
        let (keepalived, _) = exit_code(&ns, "keepalived", &["-t", "-n", "-l", "-f", &file]);
        let (ours, stderr) = exit_code(&ns, &vrrpd, &["-t", "-f", &file]);
        println!("{name}: keepalived -t {keepalived}, vrrpd -t {ours}");
        match KNOWN_DIFFERENCES.iter().find(|known| known.0 == name) {
            Some(&(_, theirs, mine, why)) if (keepalived, ours) != (theirs, mine) => {
                agreeing_now.push(format!(
                    "{name}: keepalived {keepalived}, vrrpd {ours}, listed as {theirs}/{mine} ({why})"
                ))
            }
            Some(_) => {}
            None if keepalived != ours => differing.push(format!(
                "{name}: keepalived -t {keepalived}, vrrpd -t {ours}\n{stderr}"
            )),
            None => {}
        }
    }
    assert!(files.len() >= 50, "only {} files found", files.len());
    assert!(
        agreeing_now.is_empty(),
        "known differences that changed (update KNOWN_DIFFERENCES):\n{}",
        agreeing_now.join("\n")
    );
    assert!(
        differing.is_empty(),
        "vrrpd -t and keepalived -t disagree:\n{}",
        differing.join("\n")
    );
}
