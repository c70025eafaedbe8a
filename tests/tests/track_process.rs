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

/// The instance `index` as `vrrpd status --json` reports it, through the control socket of a
/// daemon named after its namespace.
fn instance(control: &std::path::Path, index: usize) -> serde_json::Value {
    let output = Command::new(vrrpd_binary())
        .args(["status", "--json", "--control"])
        .arg(control)
        .output()
        .expect("status");
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    status["instances"][index].clone()
}

fn state(control: &std::path::Path) -> String {
    states(control, 1).pop().unwrap_or_default()
}

/// The states of the first `count` instances.
fn states(control: &std::path::Path, count: usize) -> Vec<String> {
    (0..count)
        .map(|index| {
            instance(control, index)["state"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

fn priority(control: &std::path::Path) -> i64 {
    instance(control, 0)["effective_priority"]
        .as_i64()
        .unwrap_or(-1)
}

/// A copy of sleep under a name no other process of the machine has (at most 15 characters,
/// the kernel's limit for a process name).
fn worker_binary(scratch: &Scratch) -> (String, PathBuf) {
    let name = format!("vrrptp{}", std::process::id() % 100_000);
    let binary = scratch.path().join(&name);
    std::fs::copy("/bin/sleep", &binary).expect("copy sleep");
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (name, binary)
}

/// vrrpd started in the host's namespace, entering router 1's with `-s`: the daemon, its
/// control socket and its runtime directory (removed by the caller).
fn start(segment: &Segment, scratch: &Scratch, config: &str) -> (Spawned, PathBuf, PathBuf) {
    let namespace = segment.router(1).ns.name().to_string();
    let runtime = PathBuf::from("/run/vrrpd").join(&namespace);
    let _ = std::fs::remove_dir_all(&runtime);
    let control = runtime.join("vrrpd.sock");
    let file = scratch.write("vrrpd.conf", config).expect("config");
    let mut command = Command::new(vrrpd_binary());
    command
        .args(["-l", "-f"])
        .arg(&file)
        .args(["-s", &namespace])
        .arg("--dump-file")
        .arg(scratch.join("vrrpd.data"))
        .arg("--stats-file")
        .arg(scratch.join("vrrpd.stats"));
    let daemon = Spawned::start_command(command, &scratch.join("vrrpd.log")).expect("vrrpd");
    (daemon, control, runtime)
}

#[test]
fn tracked_processes_fault_the_instance_and_move_its_priority() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let scratch = Scratch::new("track-process").expect("scratch");
    let (name, binary) = worker_binary(&scratch);
    let config = format!(
        "vrrp_track_process needed {{\n  process {name}\n  quorum 1\n  quorum_max 2\n  weight 0\n}}\n\
         vrrp_track_process bonus {{\n  process {name}\n  quorum 2\n  weight 10\n}}\n\
         vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n\
           track_process {{\n    needed\n    bonus\n  }}\n\
           virtual_ipaddress {{\n    192.0.2.99/24 dev eth0\n  }}\n}}\n"
    );
    let segment = Segment::new(1).expect("segment");
    let (mut daemon, control, runtime) = start(&segment, &scratch, &config);
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

/// A sync group's `track_process` acts on every member, as keepalived.conf(5) says of the
/// group's tracking: without the process both instances are in FAULT, with it both serve.
#[test]
fn a_sync_group_s_tracked_process_acts_on_every_member() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let scratch = Scratch::new("track-process-group").expect("scratch");
    let (name, binary) = worker_binary(&scratch);
    let instance = |name: &str, vrid: u8, vip: &str| {
        format!(
            "vrrp_instance {name} {{\n  interface eth0\n  virtual_router_id {vrid}\n  priority 100\n  \
             advert_int 1\n  virtual_ipaddress {{\n    {vip}/24 dev eth0\n  }}\n}}\n"
        )
    };
    let config = format!(
        "vrrp_track_process needed {{\n  process {name}\n  weight 0\n}}\n{}{}\
         vrrp_sync_group G {{\n  group {{\n    VI_1\n    VI_2\n  }}\n  track_process {{\n    needed\n  }}\n}}\n",
        instance("VI_1", 51, "192.0.2.99"),
        instance("VI_2", 52, "192.0.2.98"),
    );
    let segment = Segment::new(1).expect("segment");
    let (mut daemon, control, runtime) = start(&segment, &scratch, &config);
    wait_until("both in FAULT without the process", WAIT, || {
        states(&control, 2) == ["FAULT", "FAULT"]
    });
    let worker = Worker::start(&binary);
    wait_until("both MASTER with it", WAIT, || {
        states(&control, 2) == ["MASTER", "MASTER"]
    });
    drop(worker);
    wait_until("both in FAULT once it ended", WAIT, || {
        states(&control, 2) == ["FAULT", "FAULT"]
    });
    let _ = daemon.stop(libc::SIGTERM, Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&runtime);
}
