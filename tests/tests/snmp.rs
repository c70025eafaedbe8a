//! SNMP over AgentX, side by side with keepalived 2.2.7 under the same net-snmp snmpd: the
//! router under test runs keepalived, then vrrpd, with the same file; `snmpwalk` of
//! KEEPALIVED-MIB, VRRP-MIB (RFC 2787) and VRRPV3-MIB (RFC 6527) gives the same OIDs with the
//! same values, except what differs by nature (`ALLOWED`); a failover sends the same
//! notifications to snmptrapd; and vrrpd's subagent survives snmpd being down at its start and
//! restarted under it.

use std::collections::BTreeMap;
use std::time::Duration;

use vrrp_harness::daemons::{Vrrpd, seed_config};
use vrrp_harness::process::Scratch;
use vrrp_harness::side_by_side::{
    Daemon, Implementation, add_tracked_link, prepare_tracking, sync_group_with_ipv6_and_tracking,
};
use vrrp_harness::snmp::Snmpd;
use vrrp_harness::topology::Segment;
use vrrp_harness::wait_until;

const WAIT: Duration = Duration::from_secs(20);
const SUBTREES: [&str; 3] = [
    ".1.3.6.1.4.1.9586.100.5",
    ".1.3.6.1.2.1.68",
    ".1.3.6.1.2.1.207",
];
/// Objects whose values differ by nature, by OID prefix: the daemon's version string, the
/// virtual routers' up times (since each daemon started) and the advert counters (how many went
/// by before the walk).
const ALLOWED: [&str; 5] = [
    ".1.3.6.1.4.1.9586.100.5.1.1.0",
    ".1.3.6.1.2.1.68.1.3.1.13.",
    ".1.3.6.1.2.1.207.1.1.1.1.12.",
    ".1.3.6.1.2.1.68.2.4.1.2.",
    ".1.3.6.1.2.1.207.1.2.5.1.3.",
];

/// The global_defs lines that enable every MIB and the notifications on `snmpd`'s socket.
fn snmp_lines(snmpd: &Snmpd) -> String {
    format!(
        "   enable_snmp_vrrp\n   enable_snmp_rfcv2\n   enable_snmp_rfcv3\n   enable_traps\n   \
         snmp_socket {}\n",
        snmpd.agentx_socket()
    )
}

/// The seed's DR1 file with SNMP enabled in its global_defs.
fn seed_with_snmp(snmpd: &Snmpd, scratch: &Scratch) -> String {
    seed_config("dr1-keepalived.conf", scratch)
        .expect("seed")
        .replacen(
            "global_defs {\n",
            &format!("global_defs {{\n{}", snmp_lines(snmpd)),
            1,
        )
}

/// An instance with virtual routes (through a gateway; out of an interface with a source,
/// a metric and a table; a blackhole) and virtual rules, one without a priority (keepalived
/// numbers those from 16384 down, and vrrpd does the same).
fn routes_and_rules(snmpd: &Snmpd) -> String {
    format!(
        "global_defs {{\n   router_id DR1\n{}}}\n\
         vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  \
         advert_int 1\n  virtual_ipaddress {{\n    192.0.2.99/24\n  }}\n  virtual_routes {{\n    \
         198.51.100.0/24 via 192.0.2.254 dev eth0\n    \
         203.0.113.0/24 src 192.0.2.99 dev eth0 metric 10 table 100\n    \
         blackhole 198.51.100.128/25\n  }}\n  virtual_rules {{\n    \
         from 192.0.2.99 table 100\n    \
         to 203.0.113.0/24 table 100 priority 200\n  }}\n}}\n",
        snmp_lines(snmpd)
    )
}

/// VI_1 on eth0, VRID 51, 1 s adverts, VIP 192.0.2.99, with `password` (PASS) if any and
/// `snmp` in global_defs (router_id R<priority>).
fn vi_1(priority: u8, password: Option<&str>, snmp: &str) -> String {
    let authentication = password.map_or(String::new(), |password| {
        format!("  authentication {{\n    auth_type PASS\n    auth_pass {password}\n  }}\n")
    });
    format!(
        "global_defs {{\n   router_id R{priority}\n{snmp}}}\n\
         vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {priority}\n  \
         advert_int 1\n{authentication}  virtual_ipaddress {{\n    192.0.2.99/24\n  }}\n}}\n"
    )
}

/// Every object of the three subtrees, OID -> "TYPE: value".
fn walk(snmpd: &Snmpd) -> BTreeMap<String, String> {
    let mut objects = BTreeMap::new();
    for subtree in SUBTREES {
        for line in snmpd.walk(subtree).expect("snmpwalk") {
            if let Some((oid, value)) = line.split_once(" = ") {
                objects.insert(oid.to_string(), value.to_string());
            }
        }
    }
    objects
}

/// Runs `implementation` on router 1 with `config` until every instance in `masters` is
/// master and the tracking has settled, and walks the MIBs.
fn walk_under(
    implementation: Implementation,
    config: &str,
    masters: &[&str],
    segment: &Segment,
    scratch: &Scratch,
    snmpd: &Snmpd,
) -> BTreeMap<String, String> {
    let label = format!("{implementation:?}").to_lowercase();
    let mut daemon = Daemon::start(
        implementation,
        segment.router(1),
        &label,
        config,
        scratch,
        &[],
    )
    .expect("the daemon");
    daemon.wait_for_masters(masters);
    if implementation == Implementation::Vrrpd {
        daemon.wait_for("AgentX subagent connected");
    }
    std::thread::sleep(Duration::from_millis(3500));
    let objects = walk(snmpd);
    // snmpd drops the session of a daemon that stopped; the next one registers afresh.
    daemon.stop();
    objects
}

/// Every difference outside `ALLOWED`, as "OID: keepalived | vrrpd".
fn differences(theirs: &BTreeMap<String, String>, ours: &BTreeMap<String, String>) -> Vec<String> {
    let oids: std::collections::BTreeSet<&String> = theirs.keys().chain(ours.keys()).collect();
    oids.into_iter()
        .filter(|oid| !ALLOWED.iter().any(|allowed| oid.starts_with(allowed)))
        .filter(|oid| theirs.get(*oid) != ours.get(*oid))
        .map(|oid| format!("{oid}: {:?} | {:?}", theirs.get(oid), ours.get(oid)))
        .collect()
}

#[test]
fn snmpwalk_of_the_three_mibs_matches_keepalived_for_the_seed_and_a_sync_group_with_ipv6() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    add_tracked_link(segment.router(1));
    let scratch = Scratch::new("snmp-walk").expect("scratch");
    let folder = prepare_tracking(&scratch);
    let snmpd = Snmpd::start(&scratch).expect("snmpd");
    let cases = [
        (
            "the seed's DR1",
            seed_with_snmp(&snmpd, &scratch),
            vec!["VI_1"],
        ),
        (
            "a sync group with IPv6 and tracking",
            sync_group_with_ipv6_and_tracking(&folder, &snmp_lines(&snmpd)),
            vec!["VI_4", "VI_6"],
        ),
        (
            "virtual routes and rules",
            routes_and_rules(&snmpd),
            vec!["VI_1"],
        ),
    ];
    for (what, config, masters) in cases {
        let theirs = walk_under(
            Implementation::Keepalived,
            &config,
            &masters,
            &segment,
            &scratch,
            &snmpd,
        );
        let ours = walk_under(
            Implementation::Vrrpd,
            &config,
            &masters,
            &segment,
            &scratch,
            &snmpd,
        );
        println!(
            "{what}: keepalived served {} objects, vrrpd {}",
            theirs.len(),
            ours.len()
        );
        assert!(
            theirs.len() > 60,
            "{what}: keepalived's walk is too short to compare: {theirs:#?}"
        );
        for subtree in SUBTREES {
            assert!(
                ours.keys().any(|oid| oid.starts_with(subtree)),
                "{what}: vrrpd serves nothing under {subtree}"
            );
        }
        let found = differences(&theirs, &ours);
        assert!(
            found.is_empty(),
            "{what}: the walks differ (keepalived | vrrpd):\n{}",
            found.join("\n")
        );
    }
}

/// The notifications of a failover: the router under test is backup beside a vrrpd master of
/// priority 200 (no SNMP), which stops (priority 0); the router takes over.
fn failover_traps(
    implementation: Implementation,
    segment: &Segment,
    scratch: &Scratch,
) -> Vec<String> {
    let snmpd = Snmpd::start(scratch).expect("snmpd");
    let mut master = Vrrpd::start_until(
        segment.router(2),
        "master",
        &vi_1(200, None, ""),
        scratch,
        &[],
        "(VI_1) Entering MASTER STATE",
    )
    .expect("master");
    let text = vi_1(100, None, &snmp_lines(&snmpd));
    let label = format!("{implementation:?}").to_lowercase();
    let mut daemon = Daemon::start(
        implementation,
        segment.router(1),
        &label,
        &text,
        scratch,
        &[],
    )
    .expect("the daemon");
    daemon.wait_for("(VI_1) Entering BACKUP STATE");
    if implementation == Implementation::Vrrpd {
        daemon.wait_for("AgentX subagent connected");
    }
    // The start-up notifications (BACKUP) have gone by; the failover's are the ones compared.
    std::thread::sleep(Duration::from_secs(2));
    snmpd.clear_traps();
    let _ = master.process.stop(libc::SIGTERM, Duration::from_secs(5));
    wait_until("the failover's notifications", WAIT, || {
        snmpd.traps().len() >= 3
    });
    std::thread::sleep(Duration::from_secs(2));
    let mut traps = snmpd.traps();
    daemon.stop();
    traps.sort();
    traps
}

#[test]
fn a_failover_sends_keepalived_s_notifications_to_snmptrapd() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let theirs = {
        let scratch = Scratch::new("snmp-traps-k").expect("scratch");
        failover_traps(Implementation::Keepalived, &segment, &scratch)
    };
    let ours = {
        let scratch = Scratch::new("snmp-traps-v").expect("scratch");
        failover_traps(Implementation::Vrrpd, &segment, &scratch)
    };
    println!(
        "keepalived:\n{}\nvrrpd:\n{}",
        theirs.join("\n"),
        ours.join("\n")
    );
    assert_eq!(ours, theirs, "the failover's notifications differ");
    let notifications = [
        ".1.3.6.1.4.1.9586.100.5.2.10.0.2",
        ".1.3.6.1.2.1.68.0.1",
        ".1.3.6.1.2.1.207.0.1",
    ];
    for notification in notifications {
        assert!(
            ours.iter()
                .any(|trap| trap.contains(&format!("OID: {notification}"))),
            "no {notification} in {ours:?}"
        );
    }
}

/// The notifications `snmptrapd` received of the kind `notification` (an OID).
fn traps_named(snmpd: &Snmpd, notification: &str) -> Vec<String> {
    snmpd
        .traps()
        .into_iter()
        .filter(|trap| trap.contains(&format!("OID: {notification}")))
        .collect()
}

/// vrrpd's two datapaths, as the command line chooses them.
const VRRPD_MODES: [(&str, &[&str]); 2] = [("XDP", &[]), ("socket", &["--datapath", "socket"])];

/// The vrrpTrapAuthFailure notifications router 1 (password abc123) sends while a master
/// with `stranger`'s password (None: no authentication) advertises beside it (`extra`:
/// vrrpd's command line).
fn auth_failure_traps(
    implementation: Implementation,
    extra: &[&str],
    stranger: Option<&str>,
    segment: &Segment,
    scratch: &Scratch,
) -> Vec<String> {
    let snmpd = Snmpd::start(scratch).expect("snmpd");
    let mut stranger = Vrrpd::start_until(
        segment.router(2),
        "stranger",
        &vi_1(200, stranger, ""),
        scratch,
        &[],
        "(VI_1) Entering MASTER STATE",
    )
    .expect("the other master");
    let text = vi_1(100, Some("abc123"), &snmp_lines(&snmpd));
    let label = format!("{implementation:?}").to_lowercase();
    let failures = |snmpd: &Snmpd| traps_named(snmpd, ".1.3.6.1.2.1.68.0.2");
    let daemon = Daemon::start(
        implementation,
        segment.router(1),
        &label,
        &text,
        scratch,
        extra,
    )
    .expect("the daemon");
    wait_until("vrrpTrapAuthFailure", WAIT, || !failures(&snmpd).is_empty());
    let traps = failures(&snmpd);
    daemon.stop();
    let _ = stranger.process.stop(libc::SIGTERM, Duration::from_secs(5));
    traps
}

/// A wrong password sends vrrpTrapAuthFailure with authFailure(3), another authentication type
/// with authTypeMismatch(2), as keepalived does.
#[test]
fn a_wrong_password_sends_vrrp_trap_auth_failure_as_keepalived_does() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    for (stranger, error_type) in [(Some("other"), "INTEGER: 3"), (None, "INTEGER: 2")] {
        let theirs = {
            let scratch = Scratch::new("snmp-auth-k").expect("scratch");
            auth_failure_traps(
                Implementation::Keepalived,
                &[],
                stranger,
                &segment,
                &scratch,
            )
        };
        println!("keepalived: {theirs:#?}");
        assert!(theirs[0].ends_with(error_type), "{}", theirs[0]);
        for (mode, extra) in VRRPD_MODES {
            let scratch = Scratch::new("snmp-auth-v").expect("scratch");
            let ours =
                auth_failure_traps(Implementation::Vrrpd, extra, stranger, &segment, &scratch);
            println!("vrrpd ({mode}): {ours:#?}");
            assert_eq!(
                ours[0], theirs[0],
                "{mode}: the first vrrpTrapAuthFailure differs"
            );
            assert!(ours[0].contains("IpAddress: 192.0.2.12"), "{}", ours[0]);
        }
    }
}

/// The vrrpv3ProtoError notifications router 1 sends, as a backup, for one advert with TTL 254
/// from the client (`extra`: vrrpd's command line).
fn proto_error_traps(
    implementation: Implementation,
    extra: &[&str],
    segment: &Segment,
    scratch: &Scratch,
) -> Vec<String> {
    let snmpd = Snmpd::start(scratch).expect("snmpd");
    // The client's forged adverts go to the seed's group.
    let lines = format!("{}   vrrp_mcast_group4 224.0.1.11\n", snmp_lines(&snmpd));
    let text = vi_1(100, None, &lines);
    let label = format!("proto-{implementation:?}").to_lowercase();
    let errors = |snmpd: &Snmpd| traps_named(snmpd, ".1.3.6.1.2.1.207.0.2");
    let mut daemon = Daemon::start(
        implementation,
        segment.router(1),
        &label,
        &text,
        scratch,
        extra,
    )
    .expect("the daemon");
    daemon.wait_for("(VI_1) Entering BACKUP STATE");
    let frame = vrrp_harness::fixtures::Forged {
        vrid: 51,
        priority: 50,
        ttl: 254,
        auth: vrrp_common::wire::vrrp::Auth::None,
    }
    .frame(segment.client.mac().expect("mac"));
    segment
        .client
        .ns
        .enter(|| vrrp_harness::packet_socket::PacketSocket::open("eth0")?.send(&frame))
        .expect("enter")
        .expect("send");
    wait_until("vrrpv3ProtoError", WAIT, || !errors(&snmpd).is_empty());
    let traps = errors(&snmpd);
    daemon.stop();
    traps
}

/// An advert with the wrong TTL sends RFC 6527's vrrpv3ProtoError with ipTtlError(1), as
/// keepalived does (vrrpd at most once a second per instance).
#[test]
fn a_wrong_ttl_sends_vrrpv3_proto_error_as_keepalived_does() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let theirs = {
        let scratch = Scratch::new("snmp-proto-k").expect("scratch");
        proto_error_traps(Implementation::Keepalived, &[], &segment, &scratch)
    };
    println!("keepalived: {theirs:#?}");
    for (mode, extra) in VRRPD_MODES {
        let scratch = Scratch::new("snmp-proto-v").expect("scratch");
        let ours = proto_error_traps(Implementation::Vrrpd, extra, &segment, &scratch);
        println!("vrrpd ({mode}): {ours:#?}");
        assert_eq!(ours, theirs, "{mode}");
    }
}

#[test]
fn the_subagent_waits_for_snmpd_and_registers_again_after_a_restart() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("snmp-restart").expect("scratch");
    let mut snmpd = Snmpd::start(&scratch).expect("snmpd");
    snmpd.stop();
    let config = vi_1(100, None, &snmp_lines(&snmpd));
    // snmpd is down: the protocol does not wait for it.
    let mut daemon =
        Vrrpd::start(segment.router(1), "daemon", &config, &scratch, &[]).expect("vrrpd");
    daemon
        .wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("master without snmpd");
    let name = ".1.3.6.1.4.1.9586.100.5.2.3.1.2.1";
    let served = |snmpd: &Snmpd| {
        snmpd
            .walk(".1.3.6.1.4.1.9586.100.5.2.3.1.2")
            .unwrap_or_default()
            .iter()
            .any(|line| line.starts_with(name) && line.ends_with("\"VI_1\""))
    };
    for round in ["snmpd started after vrrpd", "snmpd restarted"] {
        snmpd.restart().expect("snmpd");
        wait_until(round, Duration::from_secs(15), || served(&snmpd));
        println!("{round}: vrrpd's instance is served");
    }
    let connections = daemon.log().matches("AgentX subagent connected").count();
    assert!(connections >= 2, "{}", daemon.log());
    assert_eq!(
        daemon.state_of("VI_1").expect("state"),
        "MASTER",
        "snmpd coming and going moves nothing"
    );
    let _ = daemon.process.stop(libc::SIGTERM, Duration::from_secs(5));
}
