//! keepalived's JSON dump (SIGJSON), side by side with keepalived 2.2.7 on the same file: the
//! router under test runs keepalived, then vrrpd, once as master alone and once as backup beside
//! a master (a vrrpd of priority 200 on the other router); each writes /tmp/keepalived.json, and
//! the two documents have the same keys with the same values, except what differs by nature:
//! the time of the last transition and the advert counters (`ALLOWED`).

use std::time::Duration;

use serde_json::Value;
use vrrp_harness::daemons::{Keepalived, Vrrpd, make_executable, seed_config};
use vrrp_harness::process::Scratch;
use vrrp_harness::side_by_side::{
    Daemon, Implementation, add_tracked_link, prepare_tracking, sync_group_with_ipv6_and_tracking,
};
use vrrp_harness::topology::Segment;
use vrrp_harness::wait_until;

const WAIT: Duration = Duration::from_secs(20);
const DUMP: &str = "/tmp/keepalived.json";
const KEEPALIVED_STATS_DUMP: &str = "/tmp/keepalived.stats";
const KEEPALIVED_DATA_DUMP: &str = "/tmp/keepalived.data";
/// Keys whose values differ by nature: when the transition happened, how many adverts went by.
const ALLOWED: [&str; 3] = ["last_transition", "advert_sent", "advert_rcvd"];

fn config(priority: u8, folder: &str) -> String {
    format!(
        "vrrp_script chk {{\n  script \"{folder}/check.sh\"\n  interval 1\n  weight -5\n}}\n\
         vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {priority}\n  \
         advert_int 1\n  authentication {{\n    auth_type PASS\n    auth_pass abc123\n  }}\n  \
         virtual_ipaddress {{\n    192.0.2.99/24 dev eth0 label eth0:0\n  }}\n  \
         virtual_ipaddress_excluded {{\n    192.0.2.98/24\n  }}\n  \
         track_interface {{\n    eth0\n  }}\n  track_script {{\n    chk\n  }}\n  \
         notify_master \"{folder}/check.sh master\"\n  garp_master_refresh 60\n}}\n"
    )
}

/// Waits for a fresh dump after `signal` and reads it.
fn dump(mut signal: impl FnMut()) -> Value {
    let _ = std::fs::remove_file(DUMP);
    signal();
    wait_until("the JSON dump", WAIT, || {
        std::fs::read_to_string(DUMP)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .is_some()
    });
    serde_json::from_str(&std::fs::read_to_string(DUMP).expect("dump")).expect("json")
}

/// Every difference between the two documents outside `ALLOWED`, as "path: ours != theirs".
fn differences(path: &str, ours: &Value, theirs: &Value, out: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                if ALLOWED.contains(&key.as_str()) {
                    continue;
                }
                let (x, y) = (a.get(key), b.get(key));
                match (x, y) {
                    (Some(x), Some(y)) => differences(&format!("{path}.{key}"), x, y, out),
                    _ => out.push(format!("{path}.{key}: {x:?} != {y:?}")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                differences(&format!("{path}[{index}]"), x, y, out);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        _ if ours == theirs => {}
        _ => out.push(format!("{path}: {ours} != {theirs}")),
    }
}

/// The dump of the router under test (router 1) running `implementation`'s daemon, as master
/// alone (`with_master` false) or as backup beside a vrrpd master of priority 200.
fn run(keepalived: bool, with_master: bool, segment: &Segment, scratch: &Scratch) -> Value {
    let folder = scratch.path().display().to_string();
    let _master = with_master.then(|| {
        Vrrpd::start_until(
            segment.router(2),
            &format!("master-{keepalived}"),
            &config(200, &folder),
            scratch,
            &[],
            "(VI_1) Entering MASTER STATE",
        )
        .expect("the master")
    });
    let entered = if with_master {
        "(VI_1) Entering BACKUP STATE"
    } else {
        "(VI_1) Entering MASTER STATE"
    };
    let label = format!("test-{keepalived}-{with_master}");
    let text = config(100, &folder);
    let document = if keepalived {
        let mut daemon =
            Keepalived::start(segment.router(1), &label, &text, scratch).expect("keepalived");
        daemon.process.wait_for_log(entered, WAIT).expect("state");
        std::thread::sleep(Duration::from_millis(2500));
        let document = dump(|| daemon.signal_vrrp_child(libc::SIGRTMIN() + 2));
        let _ = daemon.process.stop(libc::SIGTERM, Duration::from_secs(5));
        document
    } else {
        let mut daemon =
            Vrrpd::start(segment.router(1), &label, &text, scratch, &[]).expect("vrrpd");
        daemon.wait_for(entered, WAIT).expect("state");
        std::thread::sleep(Duration::from_millis(2500));
        let document = dump(|| daemon.process.signal(libc::SIGRTMIN() + 2));
        let _ = daemon.process.stop(libc::SIGTERM, Duration::from_secs(5));
        document
    };
    std::thread::sleep(Duration::from_millis(500));
    document
}

#[test]
fn sigjson_writes_keepalived_s_dump_with_keepalived_s_keys_and_values() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("keepalived-json").expect("scratch");
    let check = scratch
        .write("check.sh", "#!/bin/sh\nexit 0\n")
        .expect("script");
    make_executable(&check).expect("chmod");
    let signum = |program: &std::path::Path| {
        let output = std::process::Command::new(program)
            .arg("--signum=JSON")
            .output()
            .expect("--signum");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };
    assert_eq!(
        signum(&vrrp_harness::daemons::vrrpd_binary()),
        signum(std::path::Path::new("keepalived")),
        "vrrpd --signum=JSON says keepalived's number"
    );
    assert_eq!(
        signum(&vrrp_harness::daemons::vrrpd_binary()),
        (libc::SIGRTMIN() + 2).to_string()
    );
    for with_master in [false, true] {
        let theirs = run(true, with_master, &segment, &scratch);
        let ours = run(false, with_master, &segment, &scratch);
        println!("keepalived: {theirs}\nvrrpd:      {ours}");
        let mut found = Vec::new();
        differences("", &ours, &theirs, &mut found);
        assert!(
            found.is_empty(),
            "as master alone: {}; the dumps differ:\n{}",
            !with_master,
            found.join("\n")
        );
        let state = if with_master { 1 } else { 2 };
        assert_eq!(ours[0]["data"]["state"], state);
    }
    let _ = std::fs::remove_file(DUMP);
}

/// The dump of router 1 running `text` under keepalived or vrrpd, once every instance of
/// `masters` is master and the tracking has settled.
fn dump_under(
    keepalived: bool,
    text: &str,
    masters: &[&str],
    segment: &Segment,
    scratch: &Scratch,
) -> Value {
    let label = format!("pair-{keepalived}");
    let implementation = if keepalived {
        Implementation::Keepalived
    } else {
        Implementation::Vrrpd
    };
    let mut daemon = Daemon::start(
        implementation,
        segment.router(1),
        &label,
        text,
        scratch,
        &[],
    )
    .expect("the daemon");
    daemon.wait_for_masters(masters);
    std::thread::sleep(Duration::from_millis(3500));
    let document = dump(|| daemon.signal(libc::SIGRTMIN() + 2));
    daemon.stop();
    document
}

/// The configurations the SNMP test compares too: the seed's DR1, and a sync group of an IPv4
/// VRRPv2 and an IPv6 VRRPv3 instance with tracked interfaces, scripts and files.
#[test]
fn sigjson_of_the_seed_and_of_a_sync_group_with_ipv6_and_tracking_matches_keepalived() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    add_tracked_link(segment.router(1));
    let scratch = Scratch::new("keepalived-json-pair").expect("scratch");
    let folder = prepare_tracking(&scratch);
    let cases = [
        (
            "the seed's DR1",
            seed_config("dr1-keepalived.conf", &scratch).expect("seed"),
            vec!["VI_1"],
        ),
        (
            "a sync group with IPv6 and tracking",
            sync_group_with_ipv6_and_tracking(&folder, ""),
            vec!["VI_4", "VI_6"],
        ),
    ];
    for (what, text, masters) in cases {
        let theirs = dump_under(true, &text, &masters, &segment, &scratch);
        let ours = dump_under(false, &text, &masters, &segment, &scratch);
        println!(
            "{what}:
keepalived: {theirs}
vrrpd:      {ours}"
        );
        let mut found = Vec::new();
        differences("", &ours, &theirs, &mut found);
        assert!(
            found.is_empty(),
            "{what}: the dumps differ:\n{}",
            found.join("\n")
        );
        assert_eq!(
            ours.as_array().map(Vec::len),
            Some(masters.len()),
            "{what}: {ours}"
        );
    }
    let _ = std::fs::remove_file(DUMP);
}

/// The dump's stats after SIGSTATS_CLEAR, under `keepalived` or vrrpd: a master at 100 ms
/// adverts, cleared after a second.
fn cleared_stats(keepalived: bool, segment: &Segment, scratch: &Scratch) -> Value {
    let text = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  \
                advert_int 0.1\n  version 3\n  virtual_ipaddress {\n    192.0.2.99/24\n  }\n}\n";
    let label = format!("clear-{keepalived}");
    let clear = libc::SIGRTMAX() - 1;
    let json = libc::SIGRTMIN() + 2;
    let (before, after) = if keepalived {
        let mut daemon =
            Keepalived::start(segment.router(1), &label, text, scratch).expect("keepalived");
        daemon
            .process
            .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
            .expect("master");
        std::thread::sleep(Duration::from_secs(1));
        let before = dump(|| daemon.signal_vrrp_child(json));
        daemon.signal_vrrp_child(clear);
        std::thread::sleep(Duration::from_millis(50));
        let after = dump(|| daemon.signal_vrrp_child(json));
        let _ = daemon.process.stop(libc::SIGTERM, Duration::from_secs(5));
        (before, after)
    } else {
        let mut daemon =
            Vrrpd::start(segment.router(1), &label, text, scratch, &[]).expect("vrrpd");
        daemon
            .wait_for("(VI_1) Entering MASTER STATE", WAIT)
            .expect("master");
        std::thread::sleep(Duration::from_secs(1));
        let before = dump(|| daemon.process.signal(json));
        daemon.process.signal(clear);
        std::thread::sleep(Duration::from_millis(50));
        let after = dump(|| daemon.process.signal(json));
        let _ = daemon.process.stop(libc::SIGTERM, Duration::from_secs(5));
        (before, after)
    };
    std::thread::sleep(Duration::from_millis(500));
    let sent = |document: &Value| document[0]["stats"]["advert_sent"].as_u64().unwrap_or(0);
    assert!(sent(&before) >= 5, "{keepalived}: {before}");
    assert!(
        sent(&after) <= 3,
        "{keepalived}: counted from zero again: {after}"
    );
    after[0]["stats"].clone()
}

#[test]
fn sigstats_clear_counts_from_zero_again_as_keepalived_does() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("stats-clear").expect("scratch");
    let theirs = cleared_stats(true, &segment, &scratch);
    let ours = cleared_stats(false, &segment, &scratch);
    println!("keepalived: {theirs}\nvrrpd:      {ours}");
    let mut found = Vec::new();
    differences("", &ours, &theirs, &mut found);
    assert!(found.is_empty(), "{}", found.join("\n"));
    assert_eq!(ours["become_master"], 0);
    let _ = std::fs::remove_file(DUMP);
}

/// keepalived's later `json_version 2` (the array under "vrrp") and the dump-file keywords,
/// which keepalived 2.2.7 does not have: each dump goes where its keyword says.
#[test]
fn json_version_2_and_the_dump_file_keywords_choose_the_layout_and_the_paths() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("json-v2").expect("scratch");
    let folder = scratch.path().display().to_string();
    let text = format!(
        "global_defs {{\n  json_version 2\n  json_dump_file {folder}/dump.json\n  \
         state_dump_file {folder}/dump.data\n  stats_dump_file {folder}/dump.stats\n}}\n\
         vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  \
         advert_int 0.1\n  version 3\n  virtual_ipaddress {{\n    192.0.2.99/24\n  }}\n}}\n"
    );
    let mut daemon = Vrrpd::start(segment.router(1), "v2", &text, &scratch, &[]).expect("vrrpd");
    daemon
        .wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("master");
    for (signal, file) in [
        (libc::SIGRTMIN() + 2, "dump.json"),
        (libc::SIGUSR1, "dump.data"),
        (libc::SIGUSR2, "dump.stats"),
    ] {
        daemon.process.signal(signal);
        wait_until(file, WAIT, || scratch.join(file).exists());
    }
    let document: Value =
        serde_json::from_str(&std::fs::read_to_string(scratch.join("dump.json")).expect("read"))
            .expect("json");
    assert_eq!(document["vrrp"][0]["data"]["iname"], "VI_1", "{document}");
    assert!(
        std::fs::read_to_string(scratch.join("dump.data"))
            .expect("read")
            .contains("VI_1")
    );
}

/// The refused adverts the client sends: three with TTL 254, two with a wrong password, one
/// without authentication, one of type 2 (its checksum mended).
fn refused_adverts(mac: [u8; 6]) -> Vec<Vec<u8>> {
    use vrrp_common::wire::vrrp::Auth;
    use vrrp_harness::fixtures::Forged;
    let forged = |ttl: u8, auth: Auth| {
        Forged {
            vrid: 51,
            priority: 50,
            ttl,
            auth,
        }
        .frame(mac)
    };
    let good = Auth::SimpleText(*b"abc123\0\0");
    let mut frames = vec![forged(254, good); 3];
    frames.extend(vec![forged(255, Auth::SimpleText(*b"wrong\0\0\0")); 2]);
    frames.push(forged(255, Auth::None));
    // Ethernet 14 + IPv4 20: the VRRP message; type 2 in the low nibble of its first byte.
    let mut bad_type = forged(255, good);
    bad_type[34] = 0x22;
    bad_type[40..42].copy_from_slice(&[0, 0]);
    let checksum = vrrp_common::wire::checksum::finish(vrrp_common::wire::checksum::accumulate(
        0,
        &bad_type[34..],
    ));
    bad_type[40..42].copy_from_slice(&checksum.to_be_bytes());
    frames.push(bad_type);
    frames
}

/// Waits for a fresh text dump at `path` after `signal` (until it holds `complete`) and reads
/// it.
fn text_dump(path: &std::path::Path, complete: &str, mut signal: impl FnMut()) -> String {
    let _ = std::fs::remove_file(path);
    signal();
    wait_until("the dump", WAIT, || {
        std::fs::read_to_string(path).is_ok_and(|text| text.contains(complete))
    });
    let text = std::fs::read_to_string(path).expect("dump");
    let _ = std::fs::remove_file(path);
    text
}

/// The statistics dump (SIGUSR2), the advert counts (which differ by nature) left out.
fn stats_dump(path: &std::path::Path, signal: impl FnMut()) -> String {
    let text = text_dump(path, "Priority Zero", signal);
    let mut lines: Vec<&str> = text.lines().collect();
    // "  Advertisements:" is followed by Received and Sent.
    if let Some(at) = lines.iter().position(|l| *l == "  Advertisements:") {
        lines.drain(at + 1..(at + 3).min(lines.len()));
    }
    lines.join("\n")
}

/// The "VRRP Topology" lines of the data dump (SIGUSR1), the time of the last transition left
/// out.
fn topology(path: &std::path::Path, signal: impl FnMut()) -> Vec<String> {
    let text = text_dump(path, "Virtual IP", signal);
    let mut in_topology = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        if line.starts_with("------<") {
            in_topology = line.contains("VRRP Topology");
        } else if in_topology && !line.contains("Last transition") {
            lines.push(line.to_string());
        }
    }
    lines
}

/// What the seed's DR2 (a backup, alone) reports after the client's refused adverts, under
/// keepalived or vrrpd with `datapath`: the JSON dump's receive-error counters, the statistics
/// dump (SIGUSR2) and the topology of the data dump (SIGUSR1).
fn receive_errors(
    keepalived: bool,
    datapath: &str,
    segment: &Segment,
    scratch: &Scratch,
) -> (Value, String, Vec<String>) {
    let config = seed_config("dr2-keepalived.conf", scratch).expect("dr2");
    let label = format!("errors-{keepalived}-{datapath}");
    let backup = "(VI_1) Entering BACKUP STATE";
    let send = || {
        let mac = segment.client.mac().expect("mac");
        segment
            .client
            .ns
            .enter(|| -> anyhow::Result<()> {
                let socket = vrrp_harness::packet_socket::PacketSocket::open("eth0")?;
                for frame in refused_adverts(mac) {
                    socket.send(&frame)?;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(())
            })
            .expect("enter")
            .expect("send");
        std::thread::sleep(Duration::from_millis(300));
    };
    let json = libc::SIGRTMIN() + 2;
    let (document, text, data) = if keepalived {
        let mut daemon =
            Keepalived::start(segment.router(1), &label, &config, scratch).expect("keepalived");
        daemon.process.wait_for_log(backup, WAIT).expect("backup");
        send();
        let document = dump(|| daemon.signal_vrrp_child(json));
        let path = std::path::Path::new(KEEPALIVED_STATS_DUMP);
        let text = stats_dump(path, || daemon.signal_vrrp_child(libc::SIGUSR2));
        let path = std::path::Path::new(KEEPALIVED_DATA_DUMP);
        let data = topology(path, || daemon.signal_vrrp_child(libc::SIGUSR1));
        let _ = daemon.process.stop(libc::SIGTERM, Duration::from_secs(5));
        (document, text, data)
    } else {
        let mut daemon = Vrrpd::start(
            segment.router(1),
            &label,
            &config,
            scratch,
            &["--datapath", datapath],
        )
        .expect("vrrpd");
        daemon.wait_for(backup, WAIT).expect("backup");
        send();
        let document = dump(|| daemon.process.signal(json));
        // The harness gives each vrrpd a statistics file of its own (--stats-file).
        let path = scratch.join(&format!("{label}.stats"));
        let text = stats_dump(&path, || daemon.process.signal(libc::SIGUSR2));
        let path = scratch.join(&format!("{label}.data"));
        let data = topology(&path, || daemon.process.signal(libc::SIGUSR1));
        let _ = daemon.process.stop(libc::SIGTERM, Duration::from_secs(5));
        (document, text, data)
    };
    std::thread::sleep(Duration::from_millis(500));
    let stats = &document[0]["stats"];
    let counters = serde_json::json!({
        "ip_ttl_err": stats["ip_ttl_err"],
        "auth_failure": stats["auth_failure"],
        "authtype_mismatch": stats["authtype_mismatch"],
        "invalid_type_rcvd": stats["invalid_type_rcvd"],
        "packet_len_err": stats["packet_len_err"],
        "addr_list_err": stats["addr_list_err"],
    });
    (counters, text, data)
}

/// Refused adverts are counted against their instance as keepalived counts them (its JSON
/// dump's error counters, which keepalived-exporter and the SNMP statistics tables read too),
/// in XDP and socket mode alike; SIGUSR2's statistics dump shows them in keepalived's layout,
/// and SIGUSR1's data dump describes the instance in keepalived's words.
#[test]
fn refused_adverts_are_counted_per_instance_as_keepalived_counts_them() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("json-errors").expect("scratch");
    let (theirs, their_text, their_data) = receive_errors(true, "", &segment, &scratch);
    println!(
        "keepalived: {theirs}\n{their_text}\n{}",
        their_data.join("\n")
    );
    assert_eq!(
        theirs,
        serde_json::json!({
            "ip_ttl_err": 3,
            "auth_failure": 2,
            "authtype_mismatch": 1,
            "invalid_type_rcvd": 1,
            "packet_len_err": 0,
            "addr_list_err": 0,
        }),
        "what keepalived 2.2.7 counts for these adverts"
    );
    for datapath in ["xdp", "socket"] {
        let (ours, our_text, our_data) = receive_errors(false, datapath, &segment, &scratch);
        println!("vrrpd ({datapath}): {ours}\n{}", our_data.join("\n"));
        assert_eq!(ours, theirs, "{datapath}");
        assert_eq!(
            our_text, their_text,
            "{datapath}: the SIGUSR2 statistics dump"
        );
        // vrrpd prints the lines of keepalived's topology that it has, in keepalived's order:
        // every one of them is keepalived's, word for word.
        let mut theirs_left = their_data.iter();
        for line in &our_data {
            assert!(
                theirs_left.any(|their| their == line),
                "{datapath}: the SIGUSR1 data dump's line {line:?} is not keepalived's (in order): {their_data:#?}"
            );
        }
    }
    let _ = std::fs::remove_file(DUMP);
}
