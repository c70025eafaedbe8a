//! `vrrp_track_process`, live: the processes are followed through the kernel's process events
//! (vrrpd starts in the host's namespace and enters the router's with `-s`, as a deployment with
//! `net_namespace` does; the events are received in the host's), the quorum and quorum_max
//! decide, a weight moves the priority and weight 0 faults, as keepalived.conf(5) describes it.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use vrrp_harness::daemons::vrrpd_binary;
use vrrp_harness::process::{Scratch, Spawned};
use vrrp_harness::topology::Segment;
use vrrp_harness::wait_until;

const WAIT: Duration = Duration::from_secs(20);

/// A process named `name` (a copy of sleep, so that the kernel's name for it is the file's).
struct Worker(Child);

impl Worker {
    fn start(binary: &std::path::Path) -> Worker {
        Worker(Command::new(binary).arg("600").spawn().expect("worker"))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The instance as `vrrpd status --json` reports it, through the control socket of a daemon
/// named after its namespace.
fn instance(control: &std::path::Path) -> serde_json::Value {
    let output = Command::new(vrrpd_binary())
        .args(["status", "--json", "--control"])
        .arg(control)
        .output()
        .expect("status");
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    status["instances"][0].clone()
}

fn state(control: &std::path::Path) -> String {
    instance(control)["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn priority(control: &std::path::Path) -> i64 {
    instance(control)["effective_priority"]
        .as_i64()
        .unwrap_or(-1)
}

#[test]
fn tracked_processes_fault_the_instance_and_move_its_priority() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let scratch = Scratch::new("track-process").expect("scratch");
    // A name no other process of the machine has, of at most 15 characters.
    let name = format!("vrrptp{}", std::process::id() % 100_000);
    let binary = scratch.path().join(&name);
    std::fs::copy("/bin/sleep", &binary).expect("copy sleep");
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let config = format!(
        "vrrp_track_process needed {{\n  process {name}\n  quorum 1\n  quorum_max 2\n  weight 0\n}}\n\
         vrrp_track_process bonus {{\n  process {name}\n  quorum 2\n  weight 10\n}}\n\
         vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n\
           track_process {{\n    needed\n    bonus\n  }}\n\
           virtual_ipaddress {{\n    192.0.2.99/24 dev eth0\n  }}\n}}\n"
    );
    let segment = Segment::new(1).expect("segment");
    let namespace = segment.router(1).ns.name().to_string();
    let runtime = PathBuf::from("/run/vrrpd").join(&namespace);
    let _ = std::fs::remove_dir_all(&runtime);
    let control = runtime.join("vrrpd.sock");
    let file = scratch.write("vrrpd.conf", &config).expect("config");
    let mut command = Command::new(vrrpd_binary());
    command
        .args(["-l", "-f"])
        .arg(&file)
        .args(["-s", &namespace])
        .arg("--dump-file")
        .arg(scratch.join("vrrpd.data"))
        .arg("--stats-file")
        .arg(scratch.join("vrrpd.stats"));
    let mut daemon = Spawned::start_command(command, &scratch.join("vrrpd.log")).expect("vrrpd");
    // No such process: below the quorum of a weight-0 tracker, the instance is in FAULT.
    daemon
        .wait_for_log("(VI_1) Entering FAULT STATE", WAIT)
        .expect("fault without the process");
    let first = Worker::start(&binary);
    daemon
        .wait_for_log("Track process needed now up (1 matching", WAIT)
        .expect("the exec seen");
    daemon
        .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
        .expect("out of fault, and master alone on the segment");
    assert_eq!(priority(&control), 100, "bonus needs two");
    let second = Worker::start(&binary);
    wait_until("bonus's weight added", WAIT, || priority(&control) == 110);
    // A third is over needed's quorum_max: FAULT again.
    let third = Worker::start(&binary);
    daemon
        .wait_for_log("Track process needed now down (3 matching", WAIT)
        .expect("quorum_max exceeded");
    wait_until("FAULT over quorum_max", WAIT, || state(&control) == "FAULT");
    drop(third);
    drop(second);
    wait_until("back within the quorum, without the bonus", WAIT, || {
        state(&control) == "MASTER" && priority(&control) == 100
    });
    drop(first);
    wait_until("FAULT once the last one ended", WAIT, || {
        state(&control) == "FAULT"
    });
    let log = daemon.log();
    assert!(
        !log.contains("cannot be received here"),
        "the process events were received, not polled:\n{log}"
    );
    let _ = daemon.stop(libc::SIGTERM, Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&runtime);
}
