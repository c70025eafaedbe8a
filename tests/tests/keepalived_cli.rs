//! keepalived's command line, as wrappers, packaging and monitoring use it:
//! `--config-test=FILE`, `--signum` prints
//! keepalived's numbers (checked against keepalived 2.2.7 itself), `-v` is the version and `-V`
//! is --dont-release-vrrp, `-r` writes the VRRP process's pid file, and keepalived's real-time
//! signals (SIGJSON, SIGSTATS_CLEAR), which monitoring sends, never stop the daemon.

use std::process::Command;
use std::time::Duration;

use vrrp_harness::daemons::{Vrrpd, vrrpd_binary};
use vrrp_harness::process::Scratch;
use vrrp_harness::topology::Segment;

const WAIT: Duration = Duration::from_secs(20);

fn stdout_of(program: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
    )
}

#[test]
fn signum_prints_keepalived_s_numbers_and_v_is_the_version() {
    let keepalived = std::path::Path::new("/usr/sbin/keepalived");
    for function in ["STOP", "RELOAD", "DATA", "STATS", "STATS_CLEAR", "JSON"] {
        let argument = format!("--signum={function}");
        let theirs = stdout_of(keepalived, &[&argument]);
        let ours = stdout_of(&vrrpd_binary(), &[&argument]);
        assert_eq!(ours, theirs, "{function}");
    }
    let (code, version) = stdout_of(&vrrpd_binary(), &["-v"]);
    assert_eq!(code, Some(0));
    assert!(version.starts_with("vrrpd "), "{version}");
}

/// keepalived's `--config-test=FILE` writes the diagnostics to FILE: both programs do, and
/// agree on the code of a file that runs with a reported error (5).
#[test]
fn config_test_writes_its_diagnostics_where_keepalived_does() {
    let scratch = Scratch::new("config-test-file").expect("scratch");
    let file = scratch
        .write(
            "unknown-keyword.conf",
            "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  bogus 1\n  \
             virtual_ipaddress {\n    192.0.2.9/24 dev eth0\n  }\n}\n",
        )
        .expect("write");
    let file = file.display().to_string();
    let keepalived = std::path::Path::new("/usr/sbin/keepalived");
    for (program, log) in [
        (keepalived, "keepalived.log"),
        (&*vrrpd_binary(), "vrrpd.log"),
    ] {
        let log = scratch.join(log);
        let argument = format!("--config-test={}", log.display());
        let (code, _) = stdout_of(program, &[&argument, "-f", &file]);
        assert_eq!(code, Some(5), "{}", program.display());
        let written = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            written.contains("bogus"),
            "{}: the diagnostics in {}: {written}",
            program.display(),
            log.display()
        );
    }
}

#[test]
fn dont_release_vrrp_keeps_the_vips_and_monitoring_signals_do_not_stop_the_daemon() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("keepalived-cli").expect("scratch");
    let config = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    192.0.2.99/24 dev eth0\n  }\n}\n";
    let vrrp_pid = scratch.join("keepalived_vrrp.pid");
    let vrrp_pid_arg = vrrp_pid.display().to_string();
    let mut daemon = Vrrpd::start_until(
        segment.router(1),
        "r1",
        config,
        &scratch,
        &["-V", "-r", &vrrp_pid_arg],
        "(VI_1) Entering MASTER STATE",
    )
    .expect("master");
    let pid = daemon.process.pid();
    assert_eq!(
        std::fs::read_to_string(&vrrp_pid)
            .expect("-r pid file")
            .trim(),
        pid.to_string()
    );
    for function in ["JSON", "STATS_CLEAR"] {
        let (_, number) = stdout_of(&vrrpd_binary(), &[&format!("--signum={function}")]);
        let number: i32 = number.parse().expect("a number");
        daemon.process.signal(number);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(daemon.process.is_running(), "{}", daemon.log());
    // Both acted on: the JSON dump written, the statistics cleared.
    assert!(
        daemon.log().contains("wrote /tmp/keepalived.json")
            && daemon.log().contains("statistics cleared (SIGSTATS_CLEAR)"),
        "{}",
        daemon.log()
    );
    let _ = std::fs::remove_file("/tmp/keepalived.json");
    daemon
        .process
        .stop(libc::SIGTERM, WAIT)
        .expect("stops on SIGTERM");
    assert!(
        segment.router(1).has_address("192.0.2.99"),
        "-V leaves the VIP in place:\n{}",
        daemon.log()
    );
}

/// The flags keepalived's packaging and wrappers pass (its systemd unit's `--dont-fork`,
/// `-D -S 0 -G -X -R` from /etc/default/keepalived, keepalived's long `--pid=FILE`,
/// `--vrrp_pid=FILE`, `--use-file=FILE`): vrrpd starts with them, writes both pid files and
/// runs its instance, where clap would refuse an unknown flag.
#[test]
fn the_flags_packaging_passes_start_the_daemon_as_they_start_keepalived() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new("packaging-flags").expect("scratch");
    let config = scratch
        .write(
            "keepalived.conf",
            "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  \
             advert_int 1\n  virtual_ipaddress {\n    192.0.2.99/24 dev eth0\n  }\n}\n",
        )
        .expect("config");
    let path = |name: &str| scratch.join(name).display().to_string();
    let argv = [
        vrrpd_binary().display().to_string(),
        "--dont-fork".into(),
        "-D".into(),
        "-S".into(),
        "0".into(),
        "-G".into(),
        "-X".into(),
        "-R".into(),
        "-l".into(),
        format!("--use-file={}", config.display()),
        format!("--pid={}", path("keepalived.pid")),
        format!("--vrrp_pid={}", path("vrrp.pid")),
        "--control".into(),
        path("vrrpd.sock"),
        "--dump-file".into(),
        path("keepalived.data"),
        "--stats-file".into(),
        path("keepalived.stats"),
    ];
    let mut daemon = vrrp_harness::process::Spawned::start(
        &segment.router(1).ns,
        &argv,
        &scratch.join("daemon.log"),
    )
    .expect("vrrpd starts");
    daemon
        .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
        .expect("the instance runs");
    for file in ["keepalived.pid", "vrrp.pid"] {
        assert_eq!(
            std::fs::read_to_string(scratch.join(file))
                .unwrap_or_default()
                .trim(),
            daemon.pid().to_string(),
            "{file}"
        );
    }
    daemon.stop(libc::SIGTERM, WAIT).expect("stops on SIGTERM");
}
