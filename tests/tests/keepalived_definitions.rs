//! keepalived's parameter language side by side with keepalived 2.2.7 itself: the fixture
//! `features/definitions.conf` (a multi-line definition used twice, conditional lines inside
//! it, recursive substitution at the time of use, `~SEQ` and `~LST`) is run by keepalived with
//! `-i high`, whose SIGUSR1 dump says which instances, interfaces, VRIDs, priorities and
//! virtual addresses it made; vrrpd's reading of the same file with the same config id must be
//! the same.

use std::path::Path;
use std::time::Duration;

use vrrp_harness::netns::Netns;
use vrrp_harness::process::Scratch;
use vrrp_harness::wait_until;
use vrrp_user::config::{self, LexOptions};

/// (instance, interface, VRID, priority, virtual addresses).
type Reading = Vec<(String, String, u8, u8, Vec<String>)>;

/// keepalived writes its SIGUSR1 dump here (its tmp_dir, not configurable in 2.2.7).
const DUMP: &str = "/tmp/keepalived.data";

/// The instances of keepalived's "VRRP Topology" dump.
fn keepalived_reading(dump: &str) -> Reading {
    let mut reading: Reading = Vec::new();
    let mut in_topology = false;
    for line in dump.lines() {
        if line.starts_with("------<") {
            in_topology = line.contains("VRRP Topology");
            continue;
        }
        if !in_topology {
            continue;
        }
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix("VRRP Instance = ") {
            reading.push((name.to_string(), String::new(), 0, 0, Vec::new()));
            continue;
        }
        let Some(current) = reading.last_mut() else {
            continue;
        };
        if let Some(interface) = trimmed.strip_prefix("Interface = ") {
            if current.1.is_empty() {
                current.1 = interface.to_string();
            }
        } else if let Some(vrid) = trimmed.strip_prefix("Virtual Router ID = ") {
            current.2 = vrid.parse().unwrap_or(0);
        } else if let Some(priority) = trimmed.strip_prefix("Priority = ") {
            current.3 = priority.parse().unwrap_or(0);
        } else if trimmed.contains(" dev ")
            && let Some((address, _)) = trimmed.split_once('/')
        {
            current.4.push(address.to_string());
        }
    }
    reading
}

#[test]
fn vrrpd_expands_definitions_sequences_and_lists_as_keepalived_does() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vrrp-user/tests/fixtures/features/definitions.conf");
    let ns = Netns::new("definitions").expect("namespace");
    for (index, (name, address)) in [
        ("eth0", "192.0.2.1/24"),
        ("eth1", "198.51.100.1/24"),
        ("eth2", "203.0.113.1/24"),
    ]
    .into_iter()
    .enumerate()
    {
        let peer = format!("peer{index}");
        ns.run_ok([
            "ip", "link", "add", name, "type", "veth", "peer", "name", &peer,
        ])
        .expect("veth");
        ns.run_ok(["ip", "link", "set", name, "up"]).expect("up");
        ns.run_ok(["ip", "link", "set", &peer, "up"]).expect("up");
        ns.run_ok(["ip", "addr", "add", address, "dev", name])
            .expect("address");
    }
    let scratch = Scratch::new("definitions").expect("scratch");
    let pid_file = scratch.join("keepalived.pid");
    let _ = std::fs::remove_file(DUMP);
    let mut keepalived = ns
        .command("keepalived")
        .args(["-n", "-l", "-P", "-i", "high", "-f"])
        .arg(&fixture)
        .arg("-p")
        .arg(&pid_file)
        .arg("-r")
        .arg(scratch.join("keepalived-vrrp.pid"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("keepalived");
    wait_until("keepalived's pid file", Duration::from_secs(10), || {
        std::fs::read_to_string(&pid_file).is_ok_and(|t| !t.trim().is_empty())
    });
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    let mut dump = String::new();
    wait_until("keepalived's dump", Duration::from_secs(10), || {
        // SAFETY: sending a signal has no memory-safety preconditions.
        unsafe { libc::kill(pid, libc::SIGUSR1) };
        std::thread::sleep(Duration::from_millis(200));
        dump = std::fs::read_to_string(DUMP).unwrap_or_default();
        keepalived_reading(&dump).len() == 3
    });
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let _ = keepalived.wait();
    let _ = std::fs::remove_file(DUMP);

    let loaded = config::load(
        &fixture,
        &LexOptions {
            config_id: Some("high".into()),
        },
    )
    .expect("vrrpd reads the file");
    let ours: Reading = loaded
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
    let theirs = keepalived_reading(&dump);
    println!("keepalived: {theirs:?}");
    assert_eq!(ours, theirs, "keepalived's dump:\n{dump}");
}
