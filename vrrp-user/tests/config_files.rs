//! keepalived.conf compatibility: the seed's files parse to the expected model; each broken file
//! gives its expected located error (and `vrrpd -t` exits 4); what keepalived reports and runs
//! anyway is a located warning with keepalived's fallback applied; and no input makes the
//! parser panic.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use vrrp_common::wire::vrrp::Version;
use vrrp_user::config::model::{Authentication, InitialState};
use vrrp_user::config::{self, Config, LexOptions};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn load(path: &str) -> Config {
    let loaded = config::load(&fixture(path), &LexOptions::default())
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    loaded.config
}

#[test]
fn seed_dr1_parses_to_the_walkthroughs_master() {
    let config = load("seed/dr1-keepalived.conf");
    assert_eq!(config.global.router_id.as_deref(), Some("DR1"));
    assert_eq!(config.global.mcast_group4.to_string(), "224.0.1.11");
    assert_eq!(config.global.garp.master_repeat, 1);
    assert_eq!(config.global.notification_email, vec!["root@localhost"]);
    assert_eq!(
        config.global.notification_email_from.as_deref(),
        Some("keepalive@localhost")
    );
    assert_eq!(
        config.global.smtp_server,
        Some(("127.0.0.1".to_string(), 25))
    );
    assert_eq!(config.global.smtp_connect_timeout, Duration::from_secs(30));
    let vi1 = &config.instances[0];
    assert_eq!(vi1.name, "VI_1");
    assert_eq!(vi1.state, Some(InitialState::Master));
    assert_eq!(
        (vi1.interface.as_str(), vi1.vrid, vi1.priority),
        ("ens33", 51, 100)
    );
    assert_eq!(vi1.advert_interval_cs, 100);
    assert_eq!(vi1.version, Version::V2);
    assert_eq!(
        vi1.authentication,
        Some(Authentication::Pass(*b"abc123\0\0"))
    );
    let vip = &vi1.addresses[0];
    assert_eq!(vip.address.to_string(), "172.16.1.99");
    assert_eq!(vip.prefix, 24);
    assert_eq!(vip.device.as_deref(), Some("ens33"));
    assert_eq!(vip.label.as_deref(), Some("ens33:0"));
}

#[test]
fn seed_dr2_parses_to_the_walkthroughs_backup() {
    let config = load("seed/dr2-keepalived.conf");
    assert_eq!(config.global.router_id.as_deref(), Some("DR2"));
    assert_eq!(config.global.garp_interval, Duration::ZERO);
    assert_eq!(config.global.gna_interval, Duration::ZERO);
    let vi1 = &config.instances[0];
    assert_eq!((vi1.state, vi1.priority), (Some(InitialState::Backup), 96));
}

#[test]
fn seed_dual_master_blocks() {
    let dr1 = load("seed/dr1-dual-master-vi2.conf");
    let script = &dr1.scripts[0];
    assert_eq!(script.name, "chk_down");
    assert_eq!(script.command.argv, vec!["/etc/keepalived/chk_down.sh"]);
    assert_eq!(script.interval, Duration::from_secs(1));
    assert_eq!(script.weight, -5);
    let vi2 = &dr1.instances[0];
    assert_eq!(
        (vi2.vrid, vi2.priority, vi2.state),
        (52, 96, Some(InitialState::Backup))
    );
    assert_eq!(
        vi2.authentication,
        Some(Authentication::Pass(*b"ABC123\0\0"))
    );
    assert_eq!(vi2.addresses[0].label.as_deref(), Some("ens33:1"));
    assert_eq!(vi2.track_scripts[0].name, "chk_down");
    // The commented-out notify lines stay comments.
    assert_eq!(vi2.notify.master, None);
    let dr2 = load("seed/dr2-dual-master-vi2.conf");
    assert_eq!(
        (dr2.instances[0].priority, dr2.instances[0].state),
        (100, Some(InitialState::Master))
    );
}

#[test]
fn seed_notify_lines() {
    let loaded =
        config::load(&fixture("seed/notify-lines.conf"), &LexOptions::default()).expect("loads");
    let vi1 = &loaded.config.instances[0];
    assert!(vi1.incomplete, "no interface: a fragment");
    let master = vi1.notify.master.as_ref().expect("notify_master");
    assert_eq!(master.argv, vec!["/etc/keepalived", "master"]);
    assert_eq!(
        vi1.notify.backup.as_ref().expect("backup").argv[1],
        "backup"
    );
    assert_eq!(vi1.notify.fault.as_ref().expect("fault").argv[1], "fault");
}

/// Each file in tests/fixtures/broken starts with `! expect: LINE:COL: message`.
/// The fixtures of a folder, each with the `! expect: LINE:COL: message` of its first line.
fn expectations(folder: &str) -> Vec<(PathBuf, String, String)> {
    std::fs::read_dir(fixture(folder))
        .expect("dir")
        .map(|entry| {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("read");
            let expect = text
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("! expect: "))
                .expect("expect line")
                .to_string();
            let (position, message) = expect.split_at(expect.find(": ").expect("position"));
            (path.clone(), position.to_string(), message[2..].to_string())
        })
        .collect()
}

#[test]
fn each_broken_file_gives_its_located_error() {
    let broken = expectations("broken");
    for (path, position, message) in &broken {
        let error =
            config::load(path, &LexOptions::default()).expect_err(&path.display().to_string());
        let found = error.diagnostics().iter().any(|d| {
            format!("{}:{}", d.location.line, d.location.column) == *position
                && d.message.contains(message.as_str())
        });
        assert!(
            found,
            "{}: expected {position}: {message}, got:\n{error}",
            path.display()
        );
        assert!(
            error.to_string().starts_with(&path.display().to_string()),
            "file:line:col form"
        );
    }
    // Only what vrrpd cannot run is refused: two instances on one VRID and interface.
    assert!(!broken.is_empty());
}

/// What keepalived reports and runs anyway (an invalid value, a stray or missing brace, an
/// undefined `$NAME`, a missing include): a located warning (or, where keepalived only logs it,
/// a notice), keepalived's fallback applied, and the file runs.
#[test]
fn each_fallback_file_runs_with_its_located_warning() {
    let fallbacks = expectations("fallbacks");
    for (path, position, message) in &fallbacks {
        let loaded = config::load(path, &LexOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let found = loaded.warnings.iter().chain(&loaded.notices).any(|d| {
            format!("{}:{}", d.location.line, d.location.column) == *position
                && d.message.contains(message.as_str())
        });
        assert!(
            found,
            "{}: expected {position}: {message}, got {:#?}",
            path.display(),
            loaded.warnings
        );
    }
    assert!(fallbacks.len() >= 10);
}

/// keepalived's fallback for each invalid value is the default it would have had: the file
/// runs as if the line were not there, and an invalid VRID leaves the instance out.
#[test]
fn fallbacks_leave_keepalived_defaults() {
    let load = |name: &str| {
        config::load(&fixture("fallbacks").join(name), &LexOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .config
    };
    assert_eq!(load("priority-300.conf").instances[0].priority, 100);
    assert_eq!(load("bad-state.conf").instances[0].state, None);
    assert_eq!(load("bad-auth-type.conf").instances[0].authentication, None);
    assert_eq!(
        load("v3-interval.conf").instances[0].advert_interval_cs,
        4095
    );
    assert!(load("vrid-0.conf").instances[0].incomplete);
    // keepalived clears nopreempt and preempt_delay of an instance that starts as MASTER.
    let master = &load("nopreempt-state-master.conf").instances[0];
    assert!(master.preempt);
    assert!(master.preempt_delay.is_zero());
    assert_eq!(
        load("not-multicast.conf").global.mcast_group4,
        std::net::Ipv4Addr::new(224, 0, 0, 18)
    );
}

/// An address, route or rule that cannot be read is skipped with its located warning, as
/// keepalived skips it, and the rest of the file runs.
#[test]
fn each_invalid_entry_is_skipped_with_its_located_warning() {
    let skipped = expectations("skipped");
    for (path, position, message) in &skipped {
        let loaded = config::load(path, &LexOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let found = loaded.warnings.iter().any(|d| {
            format!("{}:{}", d.location.line, d.location.column) == *position
                && d.message.contains(message.as_str())
                && d.message.ends_with("entry skipped, as keepalived skips it")
        });
        assert!(found, "{}: {:#?}", path.display(), loaded.warnings);
        assert_eq!(loaded.config.instances.len(), 1, "{}", path.display());
    }
    assert!(skipped.len() >= 3);
}

/// keepalived 2.2.7 in a sync group without sync_group_tracking_weight: a weighted tracked
/// interface is kept with its weight ignored (down is a fault), a weighted script or file is
/// dropped.
#[test]
fn a_sync_group_ignores_its_members_tracking_weights_as_keepalived_does() {
    let loaded = config::load(
        &fixture("warnings/sync-group-ignored-weights.conf"),
        &LexOptions::default(),
    )
    .expect("valid");
    let messages: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    let has = |needle: &str| messages.iter().any(|m| m.contains(needle));
    assert!(
        has(":20:5: (VI_1) ignoring eth1 tracked interface weight due to SYNC group"),
        "{messages:#?}"
    );
    assert!(
        has(":23:5: (VI_1) ignoring tracked script chk with weights due to SYNC group G1"),
        "{messages:#?}"
    );
    assert!(
        has(":26:5: (VI_1) ignoring tracked file tf with weight -3 due to SYNC group"),
        "{messages:#?}"
    );
    let instance = &loaded.config.instances[0];
    assert_eq!(instance.track_interfaces.len(), 1);
    assert_eq!(instance.track_interfaces[0].weight, Some(0));
    assert!(instance.track_scripts.is_empty());
    assert!(instance.track_files.is_empty());
}

#[test]
fn keepalived_fallbacks_warn_and_go_on() {
    let loaded = config::load(
        &fixture("warnings/keepalived-fallbacks.conf"),
        &LexOptions::default(),
    )
    .expect("valid");
    let messages: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    let has = |needle: &str| messages.iter().any(|m| m.contains(needle));
    assert!(
        has(":4:14: (VI_1) VRRPv2 advert_int must be whole seconds; using 2"),
        "{messages:#?}"
    );
    assert!(has(":5:3: unknown keyword 'frobnicate'"), "{messages:#?}");
    assert!(
        has(":8:15: auth_pass is longer than 8 characters; truncated to '01234567'"),
        "{messages:#?}"
    );
    assert!(
        has(":11:5: (VI_1) track_script nosuch is not a defined vrrp_script - ignored"),
        "{messages:#?}"
    );
    let vi1 = &loaded.config.instances[0];
    assert_eq!(vi1.authentication, Some(Authentication::Pass(*b"01234567")));
    assert!(vi1.track_scripts.is_empty());
    let v3 = config::load(
        &fixture("warnings/pass-with-v3.conf"),
        &LexOptions::default(),
    )
    .expect("keepalived runs it");
    assert!(
        v3.warnings.iter().any(|w| w
            .to_string()
            .contains(":6:3: (VI_1) VRRP version 3 does not support authentication. Ignoring.")),
        "{:#?}",
        v3.warnings
    );
    assert_eq!(v3.config.instances[0].authentication, None);
}

/// keepalived's parameter language: a multi-line definition used twice, conditions inside it,
/// recursive substitution at the time of use, `~SEQ` and `~LST`.
#[test]
fn definitions_sequences_and_lists_expand_as_keepalived_expands_them() {
    let options = LexOptions {
        config_id: Some("high".into()),
    };
    let loaded =
        config::load(&fixture("features/definitions.conf"), &options).expect("the file loads");
    assert!(loaded.warnings.is_empty(), "{:#?}", loaded.warnings);
    let summary: Vec<(String, String, u8, u8, Vec<String>)> = loaded
        .config
        .instances
        .iter()
        .map(|i| {
            (
                i.name.clone(),
                i.interface.clone(),
                i.vrid,
                i.priority,
                i.addresses.iter().map(|a| a.address.to_string()).collect(),
            )
        })
        .collect();
    let owned = |v: &[&str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(
        summary,
        vec![
            (
                "VI_0".into(),
                "eth0".into(),
                51,
                130,
                owned(&["192.0.2.10", "192.0.2.15", "192.0.2.20"])
            ),
            (
                "VI_1".into(),
                "eth1".into(),
                52,
                130,
                owned(&["198.51.100.10", "198.51.100.15", "198.51.100.20"])
            ),
            (
                "VI_LIST".into(),
                "eth2".into(),
                53,
                100,
                owned(&["198.51.100.7", "203.0.113.9"])
            ),
        ]
    );
    // Another config id takes the other conditional line.
    let other = config::load(
        &fixture("features/definitions.conf"),
        &LexOptions {
            config_id: Some("low".into()),
        },
    )
    .expect("the file loads");
    assert_eq!(other.config.instances[0].priority, 120);
}

#[test]
fn includes_are_relative_to_the_including_file() {
    let dir = std::env::temp_dir().join(format!("vrrp-include-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("conf.d")).expect("dir");
    std::fs::write(
        dir.join("main.conf"),
        "global_defs {\n router_id R\n}\ninclude conf.d/*.conf\n",
    )
    .expect("write");
    for (name, vrid) in [("a.conf", 1), ("b.conf", 2)] {
        std::fs::write(
            dir.join("conf.d").join(name),
            format!("vrrp_instance VI_{vrid} {{\n interface eth0\n virtual_router_id {vrid}\n}}\n"),
        )
        .expect("write");
    }
    let loaded = config::load(&dir.join("main.conf"), &LexOptions::default());
    let _ = std::fs::remove_dir_all(&dir);
    let config = loaded.expect("valid").config;
    let vrids: Vec<u8> = config.instances.iter().map(|i| i.vrid).collect();
    assert_eq!(vrids, vec![1, 2]);
}

#[test]
fn vrrpd_t_prints_the_summary_or_the_error() {
    let vrrpd = env!("CARGO_BIN_EXE_vrrpd");
    for seed in [
        "dr1-keepalived.conf",
        "dr2-keepalived.conf",
        "dr1-dual-master-vi2.conf",
        "dr2-dual-master-vi2.conf",
        "notify-lines.conf",
    ] {
        let output = Command::new(vrrpd)
            .arg("-t")
            .arg("-f")
            .arg(fixture("seed").join(seed))
            .output()
            .expect("run");
        // 0, or 5/6 for what this host lacks (the seed's ens33) and its notify scripts: the
        // file runs. The exact code, side by side with keepalived's, is checked in a namespace
        // (tests/tests/keepalived_samples.rs).
        assert!(
            matches!(output.status.code(), Some(0 | 5 | 6)),
            "{seed}: {:?} {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("vrrp_instance VI_"), "{seed}: {stdout}");
    }
    let broken = fixture("broken/duplicate-vrid.conf");
    let output = Command::new(vrrpd)
        .args(["--config-test", "--use-file"])
        .arg(&broken)
        .output()
        .expect("run");
    assert_eq!(
        output.status.code(),
        Some(4),
        "keepalived's KEEPALIVED_EXIT_CONFIG"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "{}:6:15: (VI_2) virtual_router_id 51 is already used",
            broken.display()
        )),
        "{stderr}"
    );
}

mod arbitrary_input {
    use super::*;
    use proptest::prelude::*;

    fn words() -> impl Strategy<Value = String> {
        let word = prop_oneof![
            Just("{".to_string()),
            Just("}".to_string()),
            Just("\n".to_string()),
            Just("vrrp_instance".to_string()),
            Just("virtual_ipaddress".to_string()),
            Just("authentication".to_string()),
            Just("global_defs".to_string()),
            Just("include".to_string()),
            Just("priority".to_string()),
            Just("advert_int".to_string()),
            Just("\"".to_string()),
            Just("#".to_string()),
            Just("$X=1\n".to_string()),
            Just("@id".to_string()),
            "[ -~]{0,12}",
        ];
        proptest::collection::vec(word, 0..60).prop_map(|w| w.join(" "))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn the_parser_never_panics(text in words(), bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            // Removed with what is in it when the case ends.
            let dir = tempfile::Builder::new().prefix("vrrp-prop-").tempdir().expect("dir");
            for (name, contents) in [("t.conf", text.into_bytes()), ("b.conf", bytes)] {
                let path = dir.path().join(name);
                std::fs::write(&path, contents).expect("write");
                let _ = config::load(&path, &LexOptions::default());
            }
        }
    }
}

/// keepalived drops a sync-group member's weighted tracking (with a warning) unless the group
/// says `sync_group_tracking_weight`; unweighted tracking stays.
#[test]
fn sync_group_members_lose_weighted_tracking_unless_the_group_keeps_it() {
    let loaded = config::load(
        &fixture("warnings/sync-group-weights.conf"),
        &LexOptions::default(),
    )
    .expect("valid");
    let messages: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert!(
        messages.iter().any(|m| m.contains(
            ":25:5: (VI_1) ignoring tracked script chk_weighted with weights due to SYNC group G"
        )),
        "{messages:#?}"
    );
    let by_name = |name: &str| {
        loaded
            .config
            .instances
            .iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    let vi1 = by_name("VI_1");
    assert_eq!(vi1.track_scripts.len(), 1);
    assert_eq!(vi1.track_scripts[0].name, "chk_plain");
    let vi3 = by_name("VI_3");
    assert_eq!(
        vi3.track_scripts.len(),
        1,
        "sync_group_tracking_weight keeps it"
    );
    assert_eq!(vi3.track_scripts[0].weight, None);
}

/// keepalived's strict mode resets preempt_delay, and accept mode under VRRPv2, with warnings.
#[test]
fn strict_mode_resets_preempt_delay_and_v2_accept() {
    let loaded = config::load(
        &fixture("warnings/strict-resets.conf"),
        &LexOptions::default(),
    )
    .expect("valid");
    let messages: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    let has = |needle: &str| messages.iter().any(|m| m.contains(needle));
    assert!(
        has("(VI_1) preempt_delay is incompatible with strict mode"),
        "{messages:#?}"
    );
    assert!(
        has("(VI_1) accept mode does not comply with RFC 3768"),
        "{messages:#?}"
    );
    let vi1 = &loaded.config.instances[0];
    assert_eq!(vi1.preempt_delay, Duration::ZERO);
    assert_eq!(vi1.accept, Some(false));
}

#[test]
fn virtual_rules_parse_as_ip_rule_reads_them() {
    use std::net::IpAddr;
    use vrrp_common::wire::Family;
    use vrrp_user::config::model::RuleTarget;
    let config = load("features/virtual-rules.conf");
    let rules = &config.instances[0].rules;
    assert_eq!(rules.len(), 4);
    let ip = |text: &str| text.parse::<IpAddr>().expect("address");
    assert_eq!(rules[0].from, Some((ip("203.0.113.0"), 24)));
    assert_eq!(rules[0].target, RuleTarget::Table(100));
    assert_eq!(rules[0].priority, Some(1000));
    assert_eq!(rules[0].family, Some(Family::Ipv4));
    assert_eq!(rules[1].from, None);
    assert_eq!(rules[1].to, Some((ip("198.51.100.7"), 32)));
    assert_eq!(rules[1].fwmark, Some((0x10, Some(0xff))));
    assert_eq!(rules[1].target, RuleTarget::Table(101));
    assert!(rules[2].invert);
    assert_eq!(rules[2].input_interface.as_deref(), Some("eth0"));
    assert_eq!(rules[2].target, RuleTarget::Prohibit);
    assert_eq!(rules[2].family, None, "`all` takes the instance's family");
    assert_eq!(rules[3].family, Some(Family::Ipv6));
    assert_eq!(rules[3].target, RuleTarget::Goto(2000));
}

#[test]
fn lower_priority_answers_follow_keepalived_defaults() {
    let config = load("features/garp-lower-prio.conf");
    let defaults = &config.instances[0];
    assert_eq!(
        defaults.garp.lower_prio_repeat(),
        3,
        "the global garp_master_repeat"
    );
    assert_eq!(defaults.garp.lower_prio_delay(), Duration::from_secs(7));
    assert!(!defaults.garp.lower_prio_no_advert);
    assert!(!defaults.garp.higher_prio_send_advert);
    let quiet = &config.instances[1];
    assert_eq!(quiet.garp.lower_prio_repeat(), 0);
    assert_eq!(quiet.garp.lower_prio_delay(), Duration::ZERO);
    assert!(quiet.garp.lower_prio_no_advert);
    assert!(quiet.garp.higher_prio_send_advert);
}

/// keepalived's fallback for more VIPs than an advert carries: the excess becomes excluded
/// addresses (installed, not advertised) with its message; vrrpd's room is its datapath's (255
/// IPv4, 64 IPv6 addresses), so nothing the file says can make an advert the receivers refuse.
#[test]
fn vips_beyond_what_an_advert_carries_move_to_the_excluded_ones() {
    let dir = std::env::temp_dir().join(format!("vrrpd-vip-room-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    for (family, count, room) in [("4", 300usize, 255usize), ("6", 70, 64)] {
        let addresses: String = (0..count)
            .map(|i| match family {
                "4" => format!("    198.51.{}.{}/32\n", 100 + i / 250, 1 + i % 250),
                _ => format!("    2001:db8::{:x}/128\n", i + 1),
            })
            .collect();
        let version = if family == "6" { "  version 3\n" } else { "" };
        let first_address_line = 5 + version.lines().count();
        let text = format!(
            "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n{version}  virtual_ipaddress {{\n{addresses}  }}\n}}\n"
        );
        let path = dir.join(format!("room{family}.conf"));
        std::fs::write(&path, text).expect("write");
        let loaded = config::load(&path, &LexOptions::default()).expect("runs");
        let instance = &loaded.config.instances[0];
        assert_eq!(instance.addresses.len(), room, "IPv{family}");
        assert_eq!(
            instance.excluded_addresses.len(),
            count - room,
            "IPv{family}"
        );
        let warning = loaded
            .warnings
            .iter()
            .map(ToString::to_string)
            .find(|w| w.contains("exceeds maximum/space available in packet"))
            .expect("keepalived's message");
        assert!(
            warning.contains(&format!("(VI_1) Number of VIPs ({count})"))
                && warning.contains(&format!("(max {room} addresses) - excess moved to eVIPs")),
            "{warning}"
        );
        assert!(
            warning.starts_with(&format!(
                "{}:{}:",
                path.display(),
                first_address_line + room
            )),
            "located at the first address moved: {warning}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `check_unicast_src` from the global default and the instance keyword; that a peer's TTL
/// range implies it is the plan's rule (`daemon::plan`, unit-tested there).
#[test]
fn check_unicast_src_is_read_from_global_defs_and_the_instance() {
    let global = load("features/check-unicast-src.conf");
    assert!(global.instances[0].check_unicast_src);
    let local = load("features/unicast-any-source.conf");
    let checks: Vec<bool> = local
        .instances
        .iter()
        .map(|instance| instance.check_unicast_src)
        .collect();
    assert_eq!(checks, [false, true, false]);
    assert_eq!(local.instances[2].unicast_peers[0].min_ttl, Some(250));
}

/// keepalived's precedence for an unset `smtp_alert`: global `smtp_alert_vrrp`, then global
/// `smtp_alert`, then off; an instance or sync group that says it keeps its own.
#[test]
fn smtp_alert_defaults_come_from_global_defs_once_the_file_is_read() {
    let both = load("features/smtp-alert-both.conf");
    let alerts: Vec<Option<bool>> = both.instances.iter().map(|i| i.smtp_alert).collect();
    assert_eq!(
        alerts,
        [Some(false), Some(true)],
        "smtp_alert_vrrp wins; B says its own"
    );
    assert_eq!(both.sync_groups[0].smtp_alert, Some(false));
    assert!(both.global.no_email_faults);
    assert_eq!(
        both.global.smtp_helo_name.as_deref(),
        Some("helo.example.org")
    );
    let global = load("features/smtp-alert-global.conf");
    assert_eq!(global.instances[0].smtp_alert, Some(true));
    let none = load("features/garp-lower-prio.conf");
    assert_eq!(none.instances[0].smtp_alert, Some(false));
}

/// `vrrp_track_process` with every keyword, and its references from an instance (its own
/// weight) and a sync group.
#[test]
fn track_process_reads_keepalived_keywords() {
    use vrrp_user::config::model::ParamMatch;
    let config = load("features/track-process.conf");
    let haproxy = &config.track_processes[0];
    assert_eq!(haproxy.process, "haproxy");
    assert_eq!(haproxy.parameters, ["-f", "/etc/haproxy"]);
    assert_eq!(haproxy.param_match, Some(ParamMatch::Initial));
    assert_eq!((haproxy.weight, haproxy.weight_reverse), (10, true));
    assert_eq!((haproxy.quorum, haproxy.quorum_max), (2, 4));
    assert_eq!(haproxy.fork_delay, std::time::Duration::from_millis(500));
    assert_eq!(haproxy.terminate_delay, std::time::Duration::from_secs(2));
    let nginx = &config.track_processes[1];
    assert!(nginx.full_command && nginx.param_match.is_none());
    assert_eq!(nginx.quorum_max, u32::MAX);
    let tracked = &config.instances[0].track_processes;
    assert_eq!(tracked[0].weight, Some(-20));
    assert_eq!(tracked[1].weight, None);
    assert_eq!(config.sync_groups[0].track_processes[0].weight, Some(0));
}

/// `auth_type AH` is read and runs (keepalived's SSL_GET sample uses it).
#[test]
fn ah_authentication_is_read() {
    use vrrp_user::config::model::Authentication;
    let config = load("features/ah-auth.conf");
    assert_eq!(
        config.instances[0].authentication,
        Some(Authentication::Ah(*b"secret\0\0"))
    );
}

/// keepalived 2.3's `timer_expired_backup [PRIORITY]` (default 254, 1..254, its deprecated
/// spelling `thread_timer_expired` warned about) and 2.4's global `vrrp_delay_after_boot`.
#[test]
fn timer_expired_backup_and_delay_after_boot_read_as_keepalived_reads_them() {
    let loaded = config::load(
        &fixture("features/boot-and-stall-timers.conf"),
        &LexOptions::default(),
    )
    .expect("keepalived runs it");
    let config = &loaded.config;
    assert_eq!(
        config.global.delay_after_boot,
        Duration::from_millis(90_500)
    );
    let other: Vec<Option<u8>> = config
        .instances
        .iter()
        .map(|i| i.timer_expired_backup)
        .collect();
    // VI_3's 255 is out of range: the keyword is ignored, as keepalived's handler returns.
    assert_eq!(other, vec![Some(254), Some(200), None, Some(120)]);
    let messages: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    let has = |needle: &str| messages.iter().any(|m| m.contains(needle));
    assert!(
        has(":25:3: thread_timer_expired is deprecated - please use timer_expired_backup"),
        "{messages:#?}"
    );
    assert!(
        has(":25:24: timer_expired_backup highest_other_priority 255 is out of range 1..254"),
        "{messages:#?}"
    );
}
