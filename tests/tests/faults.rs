//! Fault injection, one test each: the interface going down and up, deleted and re-created; a
//! tracking script that hangs, one that is missing or not executable; SIGKILL of the master and
//! its restart; a second vrrpd on the same configuration; netlink refusing a VIP; bpffs absent.

use std::time::Duration;

use vrrp_harness::capture::Capture;
use vrrp_harness::daemons::{
    Vrrpd, make_executable, seed_config, vrrpd_binary, write_notify_recorder,
};
use vrrp_harness::process::{Scratch, stat_field};
use vrrp_harness::seed_pair::{Dr2Options, SeedPair};
use vrrp_harness::topology::{BRIDGE, Segment};
use vrrp_harness::wait_until;
use vrrp_harness::wire;

const WAIT: Duration = Duration::from_secs(20);
const VIP: &str = "192.0.2.99";

#[test]
fn interface_down_means_fault_and_notify_fault_then_back_to_backup() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("fault-ifdown").expect("scratch");
    let recorder = write_notify_recorder(&scratch, "notify.sh").expect("recorder");
    let dr1_config = seed_config("dr1-keepalived.conf", &scratch)
        .expect("dr1")
        .replacen(
            "    virtual_ipaddress {",
            &format!(
                "    notify {}\n    virtual_ipaddress {{",
                recorder.display()
            ),
            1,
        );
    let mut dr1 = Vrrpd::start(segment.router(1), "dr1", &dr1_config, &scratch, &[]).expect("dr1");
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("master");
    let mut dr2 = Vrrpd::start(
        segment.router(2),
        "dr2",
        &seed_config("dr2-keepalived.conf", &scratch).expect("dr2"),
        &scratch,
        &[],
    )
    .expect("dr2");
    dr2.wait_for("(VI_1) Entering BACKUP STATE", WAIT)
        .expect("backup");
    segment
        .router(1)
        .ns
        .run_ok(["ip", "link", "set", "eth0", "down"])
        .expect("down");
    dr1.wait_for("(VI_1) Entering FAULT STATE", WAIT)
        .expect("fault");
    dr2.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("DR2 takes over");
    wait_until("notify_fault", WAIT, || {
        std::fs::read_to_string(scratch.join("notify.log"))
            .is_ok_and(|t| t.contains("INSTANCE VI_1 FAULT 100"))
    });
    segment
        .router(1)
        .ns
        .run_ok(["ip", "link", "set", "eth0", "up"])
        .expect("up");
    dr1.wait_for("(VI_1) Entering BACKUP STATE (fault cleared)", WAIT)
        .expect("back to backup");
    wait_until("DR1 preempts again", WAIT, || {
        dr1.log().matches("(VI_1) Entering MASTER STATE").count() == 2
    });
}

#[test]
fn an_interface_deleted_and_recreated_gets_xdp_again_and_recovers() {
    let _serial = vrrp_harness::serial();
    let SeedPair {
        segment,
        scratch: _scratch,
        mut dr1,
        mut dr2,
    } = SeedPair::start("fault-recreate", Dr2Options::default()).expect("pair");
    let router = segment.router(1);
    segment
        .switch
        .run_ok(["ip", "link", "del", &router.port])
        .expect("delete the veth pair");
    dr1.wait_for("(VI_1) Entering FAULT STATE", WAIT)
        .expect("fault");
    dr2.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("DR2 takes over");
    segment
        .switch
        .run_ok([
            "ip",
            "link",
            "add",
            &router.port,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            router.ns.name(),
        ])
        .expect("recreate");
    segment
        .switch
        .run_ok(["ip", "link", "set", &router.port, "master", "br0", "up"])
        .expect("port up");
    router
        .ns
        .run_ok(["ip", "addr", "add", "192.0.2.11/24", "dev", "eth0"])
        .expect("address");
    router
        .ns
        .run_ok(["ip", "link", "set", "eth0", "up"])
        .expect("up");
    dr1.wait_for("eth0: instances re-planned on the new interface", WAIT)
        .expect("re-planned");
    wait_until("XDP attached to the new eth0", WAIT, || {
        router
            .ns
            .run_ok(["ip", "link", "show", "dev", "eth0"])
            .is_ok_and(|t| t.contains("xdp"))
    });
    wait_until("DR1 master again with the VIP", WAIT, || {
        dr1.log().matches("(VI_1) Entering MASTER STATE").count() >= 2 && router.has_address(VIP)
    });
    wait_until("DR2 back to backup", WAIT, || {
        !segment.router(2).has_address(VIP)
    });
}

#[test]
fn a_hanging_tracking_script_is_killed_at_its_timeout_and_elections_go_on() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let scratch = Scratch::new("fault-hang").expect("scratch");
    let hang = scratch
        .write("hang.sh", "#!/bin/sh\nexec sleep 30\n")
        .expect("script");
    make_executable(&hang).expect("chmod");
    let config = seed_config("dr1-keepalived.conf", &scratch).expect("dr1").replacen(
        "vrrp_instance VI_1 {",
        &format!("vrrp_script hang {{\n    script \"{}\"\n    interval 1\n    timeout 1\n    weight -5\n}}\nvrrp_instance VI_1 {{\n    track_script {{\n        hang\n    }}", hang.display()),
        1,
    );
    let segment = Segment::new(2).expect("segment");
    let capture = Capture::start(
        &segment.switch,
        BRIDGE,
        "src host 192.0.2.11",
        scratch.path(),
    )
    .expect("capture");
    let mut dr1 = Vrrpd::start(segment.router(1), "dr1", &config, &scratch, &[]).expect("dr1");
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("master");
    dr1.wait_for("VRRP_Script(hang) timed out after 1s; killed", WAIT)
        .expect("timeout");
    dr1.wait_for("(VI_1) Changing effective priority from 100 to 95", WAIT)
        .expect("counted as a failure");
    // The daemon's own children running the hung command (the host's process table is shared
    // by every namespace, so a name alone would count other processes too), sampled for 3 s:
    // never more than the current run, and the current run is seen.
    let samples: Vec<usize> = (0..30)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(100));
            hung_children(dr1.process.pid(), "sleep\x0030\x00")
        })
        .collect();
    assert!(
        samples.iter().all(|&n| n <= 1) && samples.contains(&1),
        "hung scripts are killed, at most the current one runs: {samples:?}"
    );
    let adverts = wire::adverts(&capture.finish().expect("capture"));
    let times: Vec<u64> = adverts.iter().map(|a| a.time_ns).collect();
    let longest = times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    assert!(
        longest < 1_200_000_000,
        "adverts kept their 1 s cadence (longest gap {} ms)",
        longest / 1_000_000
    );
}

#[test]
fn a_missing_or_non_executable_script_is_a_clear_failure() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let scratch = Scratch::new("fault-missing").expect("scratch");
    let plain = scratch
        .write("plain.sh", "#!/bin/sh\nexit 0\n")
        .expect("not executable");
    let missing = scratch.join("missing.sh");
    let config = seed_config("dr1-keepalived.conf", &scratch).expect("dr1").replacen(
        "vrrp_instance VI_1 {",
        &format!(
            "vrrp_script missing {{\n    script \"{}\"\n    weight -5\n}}\nvrrp_script plain {{\n    script \"{}\"\n    weight -7\n}}\nvrrp_instance VI_1 {{\n    track_script {{\n        missing\n        plain\n    }}",
            missing.display(),
            plain.display()
        ),
        1,
    );
    let segment = Segment::new(1).expect("segment");
    let mut dr1 = Vrrpd::start(segment.router(1), "dr1", &config, &scratch, &[]).expect("dr1");
    dr1.wait_for("VRRP_Script(missing): cannot run", WAIT)
        .expect("missing named");
    dr1.wait_for("VRRP_Script(plain): cannot run", WAIT)
        .expect("not executable named");
    dr1.wait_for("to 88", WAIT)
        .expect("both count as failures (weights -5 and -7)");
    assert!(
        dr1.log().contains("not an executable file"),
        "{}",
        dr1.log()
    );
    assert!(dr1.process.is_running());
}

#[test]
fn sigkill_of_the_master_then_restart_cleans_up_and_preempts() {
    let _serial = vrrp_harness::serial();
    let SeedPair {
        segment,
        scratch,
        dr1,
        mut dr2,
    } = SeedPair::start("fault-sigkill", Dr2Options::default()).expect("pair");
    let router = segment.router(1);
    dr1.process.signal(libc::SIGKILL);
    drop(dr1);
    dr2.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("DR2 takes over");
    let link = router
        .ns
        .run_ok(["ip", "link", "show", "dev", "eth0"])
        .expect("link");
    assert!(
        !link.contains("xdp"),
        "no XDP program left by the dead process: {link}"
    );
    assert!(router.has_address(VIP), "a crash leaves its VIP behind");
    let mut dr1 = Vrrpd::start(
        router,
        "dr1-again",
        &seed_config("dr1-keepalived.conf", &scratch).expect("dr1"),
        &scratch,
        &[],
    )
    .expect("restart");
    dr1.wait_for("(VI_1) removing stale VIP 192.0.2.99", WAIT)
        .expect("stale VIP removed");
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("preempts");
    wait_until("the VIP on DR1 only", WAIT, || {
        router.has_address(VIP) && !segment.router(2).has_address(VIP)
    });
}

#[test]
fn a_second_vrrpd_on_the_same_configuration_is_refused() {
    let _serial = vrrp_harness::serial();
    let SeedPair {
        segment,
        scratch,
        dr1: _dr1,
        dr2: _dr2,
    } = SeedPair::start("fault-second", Dr2Options::default()).expect("pair");
    let output = segment
        .router(1)
        .ns
        .run([
            vrrpd_binary().display().to_string(),
            "-l".into(),
            "-f".into(),
            scratch.join("dr1.conf").display().to_string(),
            "--pid-file".into(),
            scratch.join("dr1.pid").display().to_string(),
            "--control".into(),
            scratch.join("second.sock").display().to_string(),
        ])
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("another vrrpd is running"), "{stderr}");
}

#[test]
fn a_vip_netlink_refuses_is_retried_then_faults() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("fault-netlink").expect("scratch");
    let config = seed_config("dr1-keepalived.conf", &scratch)
        .expect("dr1")
        .replace(
            "192.0.2.99/24 dev eth0 label eth0:0",
            "192.0.2.99/24 dev nosuch0",
        );
    let mut dr1 = Vrrpd::start(segment.router(1), "dr1", &config, &scratch, &[]).expect("dr1");
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("master");
    dr1.wait_for("failed", WAIT).expect("logged");
    dr1.wait_for("retrying", WAIT).expect("retried");
    dr1.wait_for("giving up", WAIT).expect("gave up");
    dr1.wait_for(
        "(VI_1) Entering FAULT STATE (fault: virtual addresses refused)",
        WAIT,
    )
    .expect("FAULT");
}

#[test]
fn without_bpffs_vrrpd_runs_and_mounts_it_for_pinning() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("fault-bpffs").expect("scratch");
    // `ip netns exec` gives the command a fresh /sys: no bpffs there.
    let mounts = segment
        .router(1)
        .ns
        .run_ok(["cat", "/proc/self/mounts"])
        .expect("mounts");
    assert!(
        !mounts.lines().any(|l| l.contains(" /sys/fs/bpf bpf")),
        "no bpffs in the test's view"
    );
    let mut dr1 = Vrrpd::start(
        segment.router(1),
        "dr1",
        &seed_config("dr1-keepalived.conf", &scratch).expect("dr1"),
        &scratch,
        &["--pin-maps"],
    )
    .expect("dr1");
    dr1.wait_for("bpffs is not mounted at /sys/fs/bpf; mounting it", WAIT)
        .expect("mounted on demand");
    dr1.wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("runs normally");
    assert!(dr1.log().contains("XDP program attached"), "{}", dr1.log());
}

/// How many children of `parent` have exactly `cmdline` (NUL-separated, as in /proc).
fn hung_children(parent: i32, cmdline: &str) -> usize {
    vrrp_user::host::process_ids()
        .into_iter()
        .filter(|pid| {
            // proc(5): field 4 is the parent's pid.
            let parent_matches = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| stat_field(&stat, 4))
                == Some(i64::from(parent));
            parent_matches
                && std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| c == cmdline.as_bytes())
        })
        .count()
}
