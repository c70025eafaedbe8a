//! What an operator reaches for: `vrrpd status` (table and JSON, schema snapshot), `vrrpd
//! stats` with counters that move, Prometheus metrics over HTTP, the control socket's
//! permissions, SIGUSR1/SIGUSR2 dumps, pinned maps for bpftool, and the systemd unit.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;
use std::time::Duration;

use vrrp_common::wire::frame::AdvertFrame;
use vrrp_common::wire::vrrp::{Auth, Repr, Version};
use vrrp_common::wire::{Family, raw_from_ipv4};
use vrrp_harness::daemons::{Vrrpd, seed_config, vrrpd_binary};
use vrrp_harness::packet_socket::PacketSocket;
use vrrp_harness::process::{Scratch, stat_field};
use vrrp_harness::seed_pair::{Dr2Options, SeedPair};
use vrrp_harness::topology::Segment;

const WAIT: Duration = Duration::from_secs(15);

/// Every key path of a JSON value with its type, e.g. `instances[].state: string`.
fn schema(value: &serde_json::Value, path: &str, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                schema(value, &child, out);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                schema(item, &format!("{path}[]"), out);
            }
        }
        serde_json::Value::String(_) => {
            out.insert(format!("{path}: string"));
        }
        serde_json::Value::Number(_) => {
            out.insert(format!("{path}: number"));
        }
        serde_json::Value::Bool(_) => {
            out.insert(format!("{path}: bool"));
        }
        serde_json::Value::Null => {
            out.insert(format!("{path}: null"));
        }
    }
}

#[test]
fn status_table_json_schema_stats_and_dumps() {
    let _serial = vrrp_harness::serial();
    let SeedPair {
        segment: _segment,
        scratch,
        dr1,
        dr2,
    } = SeedPair::start("ops-status", Dr2Options::default()).expect("pair");
    std::thread::sleep(Duration::from_millis(2500));
    // The table.
    let table = Command::new(vrrpd_binary())
        .args(["status", "--control"])
        .arg(&dr2.control)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.status.success(),
        "{}",
        String::from_utf8_lossy(&table.stderr)
    );
    assert!(
        text.contains("INSTANCE") && text.contains("LAST TRANSITION"),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| l.starts_with("VI_1"))
        .expect("a row for VI_1");
    for field in [
        "eth0",
        "51",
        "BACKUP",
        "96/96",
        "192.0.2.11 (100)",
        "192.0.2.99/24",
    ] {
        assert!(row.contains(field), "{field} in {row}");
    }
    // The JSON, against the documented schema (vrrp-user/src/control/model.rs).
    let status = dr2.status_json().expect("json");
    let mut keys = BTreeSet::new();
    schema(&status, "", &mut keys);
    let expected: BTreeSet<String> = [
        "build.aya: string",
        "build.commit: string",
        "build.version: string",
        "build.xdp_build_id: string",
        "daemon.came_by: string",
        "daemon.generation: number",
        "daemon.last_upgrade: null",
        "daemon.pid: number",
        "daemon.upgrades_refused: number",
        "datapath: string",
        "instances[].base_priority: number",
        "instances[].effective_priority: number",
        "instances[].family: string",
        "instances[].interface: string",
        "instances[].last_transition.reason: string",
        "instances[].last_transition.seconds_ago: number",
        "instances[].master.address: string",
        "instances[].master.priority: number",
        "instances[].name: string",
        "instances[].state: string",
        "instances[].vips[]: string",
        "instances[].vrid: number",
        "schema: number",
        "uptime_seconds: number",
        "version: string",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(keys, expected, "status --json schema");
    assert_eq!(status["schema"], 1);
    assert_eq!(status["datapath"], "xdp");
    // The running image is what `vrrpd --version` says this build is.
    let version = Command::new(vrrpd_binary())
        .arg("--version")
        .output()
        .expect("run");
    let version = String::from_utf8_lossy(&version.stdout);
    for (label, key) in [
        ("commit ", "commit"),
        ("aya ", "aya"),
        ("XDP program build id ", "xdp_build_id"),
    ] {
        let value = status["build"][key].as_str().expect("a build field");
        assert!(
            !value.is_empty() && version.contains(&format!("{label}{value}")),
            "{key} {value} in {version}"
        );
    }
    assert_eq!(status["daemon"]["generation"], 1);
    assert_eq!(status["daemon"]["came_by"], "start");
    assert_eq!(dr1.state_of("VI_1").expect("dr1"), "MASTER");
    // Stats: the backup's datapath has seen the master's adverts.
    let stats: serde_json::Value = serde_json::from_str(
        &vrrp_user::control::client::request(&dr2.control, "stats").expect("stats"),
    )
    .expect("json");
    assert!(
        stats["datapath"]["counters"]["adverts_valid"]
            .as_u64()
            .expect("count")
            >= 2,
        "{stats}"
    );
    assert!(
        stats["instances"][0]["adverts_seen"]
            .as_u64()
            .expect("count")
            >= 2,
        "{stats}"
    );
    // The control socket is root's and 0600.
    let meta = std::fs::metadata(&dr2.control).expect("socket");
    assert_eq!((meta.uid(), meta.permissions().mode() & 0o777), (0, 0o600));
    // SIGUSR1 / SIGUSR2 dumps.
    dr2.process.signal(libc::SIGUSR1);
    dr2.process.signal(libc::SIGUSR2);
    std::thread::sleep(Duration::from_millis(500));
    let data = std::fs::read_to_string(scratch.join("dr2.data")).expect("SIGUSR1 dump");
    assert!(
        data.contains("VRRP Instance = VI_1") && data.contains("State = BACKUP"),
        "{data}"
    );
    let stats_dump = std::fs::read_to_string(scratch.join("dr2.stats")).expect("SIGUSR2 dump");
    assert!(stats_dump.contains("VRRP Instance: VI_1"), "{stats_dump}");
}

/// An advert for VI_1 with a wrong password, from the client.
fn bad_auth_frame(mac: [u8; 6]) -> Vec<u8> {
    let frame = AdvertFrame {
        source_mac: mac,
        destination_mac: None,
        source: raw_from_ipv4([192, 0, 2, 100]),
        destination: raw_from_ipv4([224, 0, 1, 11]),
        ttl: 255,
        identification: 1,
        v3_checksum_as_v2: false,
        advert: Repr {
            version: Version::V2,
            vrid: 51,
            priority: 200,
            interval_cs: 100,
            auth: Auth::SimpleText(*b"guess\0\0\0"),
            family: Family::Ipv4,
            addresses: &[192, 0, 2, 99],
        },
    };
    let mut bytes = vec![0u8; frame.len()];
    frame.emit(&mut bytes).expect("emit");
    bytes
}

fn scrape(segment: &Segment, router: usize, port: u16) -> String {
    segment
        .router(router)
        .ns
        .enter(|| {
            let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
            stream
                .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                .expect("request");
            let mut response = String::new();
            stream.read_to_string(&mut response).expect("response");
            response
        })
        .expect("enter")
}

fn metric(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name_and_labels))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn metrics_are_scraped_and_drop_counters_move_with_traffic() {
    let _serial = vrrp_harness::serial();
    let SeedPair {
        segment,
        scratch: _scratch,
        dr1: _dr1,
        dr2,
    } = SeedPair::start(
        "ops-metrics",
        Dr2Options {
            extra: &["--metrics", "127.0.0.1:9650"],
            ..Dr2Options::default()
        },
    )
    .expect("pair");
    std::thread::sleep(Duration::from_millis(1500));
    let first = scrape(&segment, 2, 9650);
    assert!(first.starts_with("HTTP/1.1 200 OK"), "{first}");
    assert!(first.contains("# TYPE vrrp_instance_state gauge"));
    assert_eq!(
        metric(&first, "vrrp_instance_state{instance=\"VI_1\""),
        Some(1.0),
        "backup is 1"
    );
    assert_eq!(
        metric(&first, "vrrp_instance_priority{instance=\"VI_1\"}"),
        Some(96.0)
    );
    // keepalived-exporter's series, as its dashboards query them: a backup (1) for each VIP,
    // with the master's adverts counted.
    assert!(first.contains("keepalived_up 1"), "{first}");
    assert_eq!(
        metric(
            &first,
            "keepalived_vrrp_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\""
        ),
        Some(1.0),
        "{first}"
    );
    assert!(
        metric(
            &first,
            "keepalived_advertisements_received_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",state=\"BACKUP\"}"
        )
        .is_some_and(|received| received >= 1.0),
        "{first}"
    );
    assert_eq!(
        metric(&first, "vrrp_xdp_drops_total{reason=\"auth_failure\""),
        Some(0.0)
    );
    let before_valid =
        metric(&first, "vrrp_adverts_received_total{reason=\"valid\"}").expect("valid adverts");
    // Ten adverts with a wrong password from the client.
    let mac = segment.client.mac().expect("mac");
    segment
        .client
        .ns
        .enter(|| {
            let socket = PacketSocket::open("eth0").expect("socket");
            for _ in 0..10 {
                socket.send(&bad_auth_frame(mac)).expect("send");
            }
        })
        .expect("enter");
    std::thread::sleep(Duration::from_millis(1500));
    let second = scrape(&segment, 2, 9650);
    assert_eq!(
        metric(&second, "vrrp_xdp_drops_total{reason=\"auth_failure\""),
        Some(10.0),
        "{second}"
    );
    assert!(
        metric(&second, "vrrp_adverts_received_total{reason=\"valid\"}").expect("valid")
            > before_valid
    );
    assert!(
        dr2.log().contains("received an invalid passwd"),
        "logged once per window"
    );
    assert_eq!(
        dr2.state_of("VI_1").expect("state"),
        "BACKUP",
        "the forged priority 200 changed nothing"
    );
}

#[test]
fn pinned_maps_are_visible_to_bpftool_and_removed_on_exit() {
    let _serial = vrrp_harness::serial();
    // nsenter rather than `ip netns exec`, so the daemon sees the host's bpffs.
    let SeedPair {
        segment: _segment,
        scratch: _scratch,
        dr1: _dr1,
        mut dr2,
    } = SeedPair::start(
        "ops-pin",
        Dr2Options {
            extra: &["--pin-maps"],
            host_mounts: true,
        },
    )
    .expect("pair");
    std::thread::sleep(Duration::from_millis(1500));
    let pinned = std::path::Path::new("/sys/fs/bpf/vrrpd/LIVENESS");
    assert!(pinned.exists(), "LIVENESS pinned");
    let dump = Command::new("bpftool")
        .args(["map", "dump", "pinned"])
        .arg(pinned)
        .output()
        .expect("bpftool");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    assert!(
        String::from_utf8_lossy(&dump.stdout).contains("key"),
        "an entry per instance"
    );
    dr2.process
        .stop(libc::SIGTERM, Duration::from_secs(2))
        .expect("stop");
    assert!(!pinned.exists(), "pins removed on exit");
}

#[test]
fn systemd_accepts_the_unit() {
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../packaging/vrrpd.service"
    ))
    .expect("unit");
    let scratch = Scratch::new("ops-unit").expect("scratch");
    // Verify against the binary this tree built (the unit names the installed path).
    let local = unit.replace("/usr/sbin/vrrpd", &vrrpd_binary().display().to_string());
    let path = scratch.write("vrrpd.service", &local).expect("write");
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let problems: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("vrrpd.service"))
        .collect();
    assert!(
        output.status.success() && problems.is_empty(),
        "systemd-analyze verify: {stderr}"
    );
}

/// The thread of `pid` named `name`, by its /proc entry.
fn thread_named(pid: i32, name: &str) -> Option<String> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .find(|task| {
            std::fs::read_to_string(task.join("comm")).is_ok_and(|comm| comm.trim() == name)
        })
        .map(|task| task.display().to_string())
}

/// The capability bounding set of the packaged unit, as setpriv's `--bounding-set` spells it.
fn unit_bounding_set() -> String {
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../packaging/vrrpd.service"
    ))
    .expect("unit");
    assert!(
        !unit.lines().any(|l| l.trim() == "RestrictRealtime=yes"),
        "the unit must let vrrp_rt_priority work"
    );
    let caps = unit
        .lines()
        .find_map(|l| l.strip_prefix("CapabilityBoundingSet="))
        .expect("CapabilityBoundingSet");
    let mut set = String::from("-all");
    for cap in caps.split_whitespace() {
        set.push_str(",+");
        set.push_str(&cap.trim_start_matches("CAP_").to_ascii_lowercase());
    }
    set
}

/// vrrp_rt_priority 20 put the protocol thread of `pid` under SCHED_RR at priority 20, and
/// vrrp_priority -5 the process at nice -5 (proc(5): field 19 nice, 40 rt_priority, 41 policy;
/// SCHED_RR is 2).
fn assert_rt_priority_20_and_nice_minus_5(pid: i32) {
    let protocol = thread_named(pid, "vrrp-protocol").expect("the protocol thread");
    let stat = std::fs::read_to_string(format!("{protocol}/stat")).expect("stat");
    assert_eq!(stat_field(&stat, 41), Some(2), "SCHED_RR: {stat}");
    assert_eq!(stat_field(&stat, 40), Some(20), "rt priority 20: {stat}");
    let main = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    assert_eq!(stat_field(&main, 19), Some(-5), "nice -5: {main}");
}

/// Under exactly the unit's capability bounding set, keepalived's vrrp_rt_priority puts the
/// protocol thread under SCHED_RR (with the unit of the seed session, RestrictRealtime and the
/// missing CAP_SYS_NICE made it fail with only a warning).
#[test]
fn the_units_capabilities_let_vrrp_rt_priority_work() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("ops-unit-caps").expect("scratch");
    let config = seed_config("dr1-keepalived.conf", &scratch)
        .expect("dr1")
        .replacen(
            "global_defs {",
            "global_defs {\n   vrrp_rt_priority 20\n   vrrp_priority -5",
            1,
        );
    let wrapper = vec![
        "setpriv".to_string(),
        format!("--bounding-set={}", unit_bounding_set()),
    ];
    let mut dr1 = Vrrpd::start_under(segment.router(1), "dr1", &config, &scratch, &[], &wrapper)
        .expect("dr1");
    dr1.wait_for("(VI_1) Entering BACKUP STATE", WAIT)
        .expect("started");
    let pid = dr1.process.pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let bounding = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .expect("CapBnd");
    assert_ne!(
        bounding.trim(),
        "000001ffffffffff",
        "the bounding set was narrowed"
    );
    assert_rt_priority_20_and_nice_minus_5(pid);
    assert!(!dr1.log().contains("WARN"), "no warning: {}", dr1.log());
}

#[test]
fn keepalived_scheduling_settings_apply_where_they_matter() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("ops-sched").expect("scratch");
    let config = seed_config("dr1-keepalived.conf", &scratch)
        .expect("dr1")
        .replacen(
            "global_defs {",
            "global_defs {\n   vrrp_priority -5\n   vrrp_rt_priority 20\n   vrrp_no_swap\n   \
             vrrp_cpu_affinity 0",
            1,
        );
    let mut dr1 = Vrrpd::start(segment.router(1), "dr1", &config, &scratch, &[]).expect("dr1");
    dr1.wait_for("(VI_1) Entering BACKUP STATE", WAIT)
        .expect("started");
    let pid = dr1.process.pid();
    assert_rt_priority_20_and_nice_minus_5(pid);
    let main = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    assert_eq!(
        stat_field(&main, 41),
        Some(0),
        "the rest stays SCHED_OTHER: {main}"
    );
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let locked_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    assert!(locked_kib > 0, "vrrp_no_swap locks memory: {status}");
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("Cpus_allowed_list:") && l.trim_end().ends_with("\t0")),
        "vrrp_cpu_affinity 0: {status}"
    );
}

/// Without vrrp_rt_priority, vrrpd's default (unlike keepalived's): the protocol thread alone
/// runs SCHED_FIFO (policy 1) at priority 1, every other thread stays SCHED_OTHER.
#[test]
fn the_protocol_thread_is_real_time_by_default() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("ops-default-sched").expect("scratch");
    let config = seed_config("dr1-keepalived.conf", &scratch).expect("dr1");
    let mut dr1 = Vrrpd::start(segment.router(1), "dr1", &config, &scratch, &[]).expect("dr1");
    dr1.wait_for("(VI_1) Entering BACKUP STATE", WAIT)
        .expect("started");
    let pid = dr1.process.pid();
    let protocol = thread_named(pid, "vrrp-protocol").expect("the protocol thread");
    let stat = std::fs::read_to_string(format!("{protocol}/stat")).expect("stat");
    assert_eq!(stat_field(&stat, 41), Some(1), "SCHED_FIFO: {stat}");
    assert_eq!(stat_field(&stat, 40), Some(1), "rt priority 1: {stat}");
    let others: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("tasks")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("stat")).ok())
        .filter(|stat| !stat.contains("(vrrp-protocol)"))
        .collect();
    assert!(!others.is_empty());
    for stat in others {
        assert_eq!(stat_field(&stat, 41), Some(0), "SCHED_OTHER: {stat}");
    }
}
