//! `vrrpd upgrade`: the daemon replaces its own image and nothing moves. At 10 ms adverts, the
//! master and the backup are each upgraded twice (with the binary they run, and with another
//! binary file copied elsewhere), and the master once more with an image that takes 50 ms to
//! come up (its stand-in keeps the adverts going): no transition on either router, no
//! priority 0, no gap between the master's adverts longer than an interval plus 2 ms (for the
//! time the machine ran the daemon, in one of three attempts: see `vrrp_harness::stall`), the
//! VIP on the master and the XDP program on both routers at every 5 ms sample, the PID
//! unchanged. A binary that does not run is refused and the daemon runs on; one that cannot
//! take the state gets keepalived's safe restart: priority 0, the backup takes over at
//! Skew_Time. The scripts an image leaves running are reaped by the next, and the FIFO's reader
//! makes way for the next image's.

use std::path::Path;
use std::time::Duration;

use vrrp_harness::capture::{Capture, wall_clock_ns};
use vrrp_harness::daemons::{
    Vrrpd, make_executable, master_and_backup, master_held_throughout, vrrpd_binary,
};
use vrrp_harness::process::{Scratch, stat_field};
use vrrp_harness::sampler::Sampler;
use vrrp_harness::stall::{StallWitness, within_bound_in_one_of_the_attempts};
use vrrp_harness::topology::{BRIDGE, Segment};
use vrrp_harness::wire;
use vrrp_user::host::process_ids;

const VIP: &str = "192.0.2.99";
/// How long each step is left to run before the next.
const STEP: Duration = Duration::from_millis(800);

/// VRRPv3 at `interval` seconds with the given priority.
fn config(priority: u8, interval: &str) -> String {
    format!(
        "global_defs {{\n  vrrp_version 3\n  vrrp_garp_master_delay 0\n}}\nvrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {priority}\n  advert_int {interval}\n  virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n"
    )
}

/// As [`config`], with a failing tracking script of weight -2 (its health must survive the
/// upgrade: the new image starts with the previous image's observations).
fn tracked_config(priority: u8, interval: &str) -> String {
    config(priority, interval).replacen(
        "vrrp_instance VI_1 {",
        "vrrp_script failing {\n  script /bin/false\n  interval 1\n  weight -2\n}\nvrrp_instance VI_1 {\n  track_script {\n    failing\n  }",
        1,
    )
}

/// `vrrpd upgrade` against `daemon`: (exit success, what it printed).
fn upgrade(daemon: &Vrrpd, binary: Option<&Path>) -> (bool, String) {
    let mut command = std::process::Command::new(vrrpd_binary());
    command.arg("upgrade").arg("--control").arg(&daemon.control);
    if let Some(binary) = binary {
        command.arg("--binary").arg(binary);
    }
    let output = command.output().expect("vrrpd upgrade runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The daemon's PID and image generation, as its status reports them.
fn pid_and_generation(daemon: &Vrrpd) -> (i64, i64) {
    let status = daemon.status_json().expect("status");
    (
        status["daemon"]["pid"].as_i64().unwrap_or(-1),
        status["daemon"]["generation"].as_i64().unwrap_or(-1),
    )
}

#[test]
fn upgrading_the_master_and_the_backup_moves_nothing() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    within_bound_in_one_of_the_attempts(five_upgrades);
}

/// One attempt: two routers, five upgrades. Its figures, `Err` when the master's longest
/// advert gap (the machine's stalls taken out) is over the bound.
fn five_upgrades() -> Result<String, String> {
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("upgrade").expect("scratch");
    // Another binary file: the same build copied elsewhere, as a package upgrade puts a new
    // file where the old one was.
    let copy = scratch.join("vrrpd-copy");
    std::fs::copy(vrrpd_binary(), &copy).expect("copy the binary");
    make_executable(&copy).expect("executable");
    // An image slow to come up: five advert intervals pass before vrrpd even starts.
    let slow = scratch
        .write(
            "slow-vrrpd",
            &format!(
                "#!/bin/sh\nsleep 0.05\nexec {} \"$@\"\n",
                vrrpd_binary().display()
            ),
        )
        .expect("the slow image");
    make_executable(&slow).expect("executable");
    let (mut master, mut backup) = master_and_backup(
        &segment,
        &scratch,
        &tracked_config(100, "0.01"),
        &config(96, "0.01"),
    )
    .expect("master and backup");
    master
        .wait_for(
            "(VI_1) Changing effective priority from 100 to 98",
            Duration::from_secs(5),
        )
        .expect("the failing script's weight");
    master
        .wait_for("XDP program attached", Duration::from_secs(5))
        .expect("XDP on the master");
    backup
        .wait_for("XDP program attached", Duration::from_secs(5))
        .expect("XDP on the backup");
    let capture =
        Capture::start(&segment.switch, BRIDGE, "ip proto 112", scratch.path()).expect("capture");
    let vip = Sampler::address(segment.router(1), VIP);
    let master_xdp = Sampler::xdp_attached(segment.router(1));
    let backup_xdp = Sampler::xdp_attached(segment.router(2));
    let witness = StallWitness::start().expect("stall witness");
    std::thread::sleep(STEP);
    let started = wall_clock_ns();
    let pids = (master.process.pid() as i64, backup.process.pid() as i64);

    // When each upgrade was asked for (wall clock ns), to say where a gap fell.
    let mut asked = Vec::new();
    for (step, daemon, binary) in [
        ("master, same binary", &master, None),
        ("backup, same binary", &backup, None),
        ("master, copied binary", &master, Some(copy.as_path())),
        ("backup, copied binary", &backup, Some(copy.as_path())),
        ("master, slow image", &master, Some(slow.as_path())),
    ] {
        asked.push((step, wall_clock_ns()));
        let (ok, text) = upgrade(daemon, binary);
        assert!(ok, "vrrpd upgrade: {text}\n{}", daemon.log());
        assert!(text.contains("upgraded in place"), "{text}");
        std::thread::sleep(STEP);
    }
    let ended = wall_clock_ns();
    let stalls = witness.finish();

    let vip = vip.finish();
    let master_xdp = master_xdp.finish();
    let backup_xdp = backup_xdp.finish();
    let frames = capture.finish().expect("capture");
    let adverts = wire::from(&wire::adverts(&frames), segment.router(1).ipv4.into(), 51);
    let master_log = master.log();
    let backup_log = backup.log();
    assert_eq!(pid_and_generation(&master), (pids.0, 4), "{master_log}");
    assert_eq!(pid_and_generation(&backup), (pids.1, 3), "{backup_log}");
    assert_eq!(master.state_of("VI_1").expect("state"), "MASTER");
    assert_eq!(backup.state_of("VI_1").expect("state"), "BACKUP");
    master_held_throughout(&master_log, &backup_log);
    assert_eq!(
        master_log.matches("resumed in MASTER state").count(),
        3,
        "{master_log}"
    );
    // The same build each time: the running program is kept, not verified again.
    assert_eq!(
        master_log
            .matches("the program is this image's own, kept as it runs")
            .count(),
        3,
        "{master_log}"
    );
    // The slow image's 50 ms were covered by the stand-in: at least four adverts.
    let stood_in: u64 = master_log
        .lines()
        .filter_map(|line| line.split("the stand-in sent ").nth(1))
        .filter_map(|rest| rest.split(' ').next()?.parse().ok())
        .max()
        .unwrap_or(0);
    assert!(stood_in >= 4, "{master_log}");
    assert!(
        adverts.iter().all(|a| a.priority == 98),
        "no priority-0 advert from the master, and the tracked priority kept throughout: {:?}\n{master_log}",
        adverts
            .iter()
            .map(|a| a.priority)
            .collect::<std::collections::BTreeSet<_>>()
    );
    assert_eq!(
        master_log.matches("Changing effective priority").count(),
        1,
        "{master_log}"
    );
    let gaps = wire::gaps(&adverts, started, ended);
    let longest = gaps.iter().max().copied().unwrap_or_default();
    let (gap, daemon_s) = stalls.longest_gap_of_the_daemon(&gaps).unwrap_or_default();
    let (step, since) = asked
        .iter()
        .rev()
        .find(|(_, at)| *at <= gap.opened_ns)
        .map(|(step, at)| (*step, (gap.opened_ns - at) as f64 / 1e6))
        .unwrap_or(("before the first upgrade", 0.0));
    for (what, samples) in [
        ("the VIP on the master", vip),
        ("XDP on the master", master_xdp),
        ("XDP on the backup", backup_xdp),
    ] {
        assert!(samples.taken > 200, "{what}: {samples:?}");
        assert_eq!(samples.missed, 0, "{what}: {samples:?}");
    }
    let figures = format!(
        "across 5 upgrades (the stand-in sent up to {stood_in} adverts): longest gap between the master's adverts {:.2} ms at 10 ms; the daemon's longest {:.2} ms once the machine's stalls are taken out, opened {since:.1} ms after the upgrade of the {step} was asked for (longest stall seen {:.2} ms); VIP present at {} of {} samples; XDP attached at {} of {} (master) and {} of {} (backup) samples",
        longest.length.as_secs_f64() * 1e3,
        daemon_s.as_secs_f64() * 1e3,
        stalls.longest().as_secs_f64() * 1e3,
        vip.taken - vip.missed,
        vip.taken,
        master_xdp.taken - master_xdp.missed,
        master_xdp.taken,
        backup_xdp.taken - backup_xdp.missed,
        backup_xdp.taken
    );
    // The bound, as in reload.rs, for the time this VM ran the daemon
    // (vrrp_harness::stall).
    if daemon_s <= Duration::from_millis(12) {
        Ok(figures)
    } else {
        Err(format!("{figures}; the gap {gap:?}, the stalls {stalls:?}"))
    }
}

#[test]
fn a_binary_that_cannot_take_the_state_gets_a_safe_restart_and_one_that_does_not_run_is_refused() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("upgrade-fallback").expect("scratch");
    // 100 ms adverts: the backup's Skew_Time (priority 96) is 62.5 ms, its
    // Master_Down_Interval 362.5 ms.
    let (mut master, mut backup) =
        master_and_backup(&segment, &scratch, &config(100, "0.1"), &config(96, "0.1"))
            .expect("master and backup");
    let pid = master.process.pid() as i64;

    // A binary that does not run: refused, and the daemon runs on untouched.
    let (ok, text) = upgrade(&master, Some(Path::new("/bin/false")));
    assert!(!ok, "{text}");
    assert!(text.contains("upgrade refused"), "{text}");
    assert_eq!(pid_and_generation(&master), (pid, 1));
    assert_eq!(master.state_of("VI_1").expect("state"), "MASTER");

    // A binary that speaks another hand-over format (a wrapper around this one that answers
    // the preflight with format 999): keepalived's restart.
    let other_format = scratch
        .write(
            "vrrpd-other-format",
            &format!(
                "#!/bin/sh\nif [ \"$1\" = --upgrade-preflight ]; then echo 'vrrpd hand-over format 999'; exit 0; fi\nexec {} \"$@\"\n",
                vrrpd_binary().display()
            ),
        )
        .expect("wrapper");
    make_executable(&other_format).expect("executable");
    let capture =
        Capture::start(&segment.switch, BRIDGE, "ip proto 112", scratch.path()).expect("capture");
    std::thread::sleep(Duration::from_millis(300));
    let (ok, text) = upgrade(&master, Some(&other_format));
    assert!(!ok, "a safe restart is not an upgrade: {text}");
    assert!(text.contains("safe restart"), "{text}");
    backup
        .wait_for("(VI_1) Entering MASTER STATE", Duration::from_secs(5))
        .expect("the backup takes over");
    master
        .wait_for("(VI_1) Entering MASTER STATE", Duration::from_secs(10))
        .expect("the restarted master preempts back");
    let frames = capture.finish().expect("capture");
    let all = wire::adverts(&frames);
    let from_master = wire::from(&all, segment.router(1).ipv4.into(), 51);
    let from_backup = wire::from(&all, segment.router(2).ipv4.into(), 51);
    let stop = from_master
        .iter()
        .find(|a| a.priority == 0)
        .expect("the master sent priority 0");
    let takeover = from_backup
        .iter()
        .find(|a| a.time_ns > stop.time_ns)
        .expect("the backup advertised");
    let after = Duration::from_nanos(takeover.time_ns - stop.time_ns);
    println!(
        "safe restart: the backup's first advert {:.2} ms after the priority 0 (Skew_Time 62.5 ms)",
        after.as_secs_f64() * 1e3
    );
    // Skew_Time, not Master_Down_Interval (362.5 ms): generous for a loaded machine.
    assert!(
        after >= Duration::from_millis(60) && after < Duration::from_millis(250),
        "{after:?}"
    );
    let status = master.status_json().expect("status");
    assert_eq!(status["daemon"]["pid"].as_i64(), Some(pid));
    assert_eq!(status["daemon"]["came_by"], "safe restart", "{status}");
    let mismatch = format!(
        "reads hand-over format \"999\", this one writes {}",
        vrrp_user::daemon::upgrade::FORMAT
    );
    assert!(master.log().contains(&mismatch), "{}", master.log());
}

/// A single instance at 10 ms adverts on eth0, and with `second` an instance on eth1 too.
fn one_or_two_interfaces(second: bool) -> String {
    let mut text = config(100, "0.01");
    if second {
        text.push_str(
            "vrrp_instance VI_2 {\n  interface eth1\n  virtual_router_id 52\n  priority 100\n  advert_int 0.01\n  virtual_ipaddress {\n    198.51.100.99/24 dev eth1\n  }\n}\n",
        );
    }
    text
}

/// After an upgrade with the same build the running XDP program is kept, not verified again;
/// the image loads its own copy the first time it must attach somewhere new. A reload that adds
/// an instance on another interface gets the program attached there, in place of the kept one
/// on the first interface, and both instances run as masters.
#[test]
fn a_kept_program_is_loaded_when_a_reload_needs_another_interface() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("upgrade-kept").expect("scratch");
    let router = segment.router(1);
    router.add_eth1().expect("eth1");
    let mut daemon =
        Vrrpd::start(router, "kept", &one_or_two_interfaces(false), &scratch, &[]).expect("vrrpd");
    daemon
        .wait_for("(VI_1) Entering MASTER STATE", Duration::from_secs(10))
        .expect("master");
    daemon.wait_for_xdp().expect("XDP");
    let (ok, text) = upgrade(&daemon, None);
    assert!(ok, "{text}\n{}", daemon.log());
    assert!(
        daemon
            .log()
            .contains("the program is this image's own, kept as it runs"),
        "{}",
        daemon.log()
    );
    std::fs::write(&daemon.config, one_or_two_interfaces(true)).expect("write the file");
    daemon.process.signal(libc::SIGHUP);
    daemon
        .wait_for("(VI_2) Entering MASTER STATE", Duration::from_secs(10))
        .expect("the new instance");
    let log = daemon.log();
    assert!(
        log.contains("this image's program loaded on the adopted maps, in place of the kept one"),
        "{log}"
    );
    assert!(log.contains("eth1: XDP program attached"), "{log}");
    for interface in ["eth0", "eth1"] {
        let link = router
            .ns
            .run_ok(["ip", "link", "show", "dev", interface])
            .expect("ip link");
        assert!(link.contains("xdp"), "{interface}: {link}");
    }
    assert_eq!(daemon.state_of("VI_1").expect("state"), "MASTER");
    assert_eq!(daemon.state_of("VI_2").expect("state"), "MASTER");
}

/// The scripts an image leaves running become the next image's children (the exec keeps the
/// PID): each is reaped when it ends, no zombie stays. The FIFO's reader makes way for the next
/// image's, so that one reader, not two, shares the FIFO's lines, and it gets the lines written
/// after the upgrade.
#[test]
fn the_previous_image_s_scripts_are_reaped_and_its_fifo_reader_makes_way() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("upgrade-children").expect("scratch");
    let folder = scratch.path().display().to_string();
    // As keepalived's sample_notify_fifo.sh, the reader opens the FIFO again whenever its
    // writer closes it: an image that left it running would leave two readers.
    let reader = scratch
        .write(
            "fifo-reader.sh",
            &format!(
                "#!/bin/sh\nwhile true; do\n  while read line; do echo \"$line\" >> {folder}/fifo.log; done < \"$1\"\n  sleep 0.1\ndone\n"
            ),
        )
        .expect("reader");
    make_executable(&reader).expect("executable");
    let slow = scratch
        .write("slow-notify.sh", "#!/bin/sh\nsleep 1\nexit 0\n")
        .expect("notify script");
    make_executable(&slow).expect("executable");
    let text = config(100, "0.1")
        .replacen(
            "global_defs {\n",
            &format!(
                "global_defs {{\n  vrrp_notify_fifo {folder}/notify.fifo\n  vrrp_notify_fifo_script {}\n  fifo_write_vrrp_states_on_reload\n",
                reader.display()
            ),
            1,
        )
        .replacen(
            "  priority 100\n",
            &format!("  priority 100\n  notify_master {}\n", slow.display()),
            1,
        );
    let mut daemon =
        Vrrpd::start(segment.router(1), "children", &text, &scratch, &[]).expect("vrrpd");
    daemon
        .wait_for("(VI_1) Entering MASTER STATE", Duration::from_secs(10))
        .expect("master");
    let master_lines = || {
        std::fs::read_to_string(scratch.join("fifo.log"))
            .unwrap_or_default()
            .matches("INSTANCE \"VI_1\" MASTER")
            .count()
    };
    vrrp_harness::wait_until("the MASTER line read from the FIFO", STEP * 10, || {
        master_lines() == 1
    });
    let pid = daemon.process.pid();
    let notify_scripts = running("slow-notify.sh");
    assert_eq!(
        notify_scripts.len(),
        1,
        "the notify script runs for a second"
    );
    assert_eq!(running("fifo-reader.sh").len(), 1, "one reader");

    // The upgrade comes while the notify script runs.
    let (ok, text) = upgrade(&daemon, None);
    assert!(ok, "{text}\n{}", daemon.log());
    assert_eq!(pid_and_generation(&daemon), (i64::from(pid), 2));
    vrrp_harness::wait_until("the notify script ended and reaped", STEP * 5, || {
        notify_scripts
            .iter()
            .all(|script| !Path::new(&format!("/proc/{script}")).exists())
    });
    assert_eq!(zombie_children(pid), Vec::<i32>::new(), "{}", daemon.log());
    assert_eq!(
        running("fifo-reader.sh").len(),
        1,
        "the previous image's reader went, the next image's runs"
    );

    // The reader that runs is the one the daemon writes to: a reload writes the states again.
    daemon.process.signal(libc::SIGHUP);
    vrrp_harness::wait_until("the states written again on the reload", STEP * 10, || {
        master_lines() == 2
    });
    assert_eq!(zombie_children(pid), Vec::<i32>::new());
}

/// The processes whose command line holds `needle` (a zombie's is empty).
fn running(needle: &str) -> Vec<i32> {
    process_ids()
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|line| String::from_utf8_lossy(&line).contains(needle))
        })
        .collect()
}

/// The children of `parent` that have ended and wait to be reaped.
fn zombie_children(parent: i32) -> Vec<i32> {
    process_ids()
        .into_iter()
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, fields)| fields.split_whitespace().next());
            state == Some("Z") && stat_field(&stat, 4) == Some(i64::from(parent))
        })
        .collect()
}
