//! keepalived's `net_namespace` and `-s/--namespace`: two vrrpd started in the host's own
//! namespace run their instances in the routers' namespaces (one named by its file, the other on
//! its command line), elect a master between them there, and keep their pid files and control
//! sockets apart under /run/vrrpd/NAME/, as keepalived keeps its pid files per namespace.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use vrrp_harness::daemons::vrrpd_binary;
use vrrp_harness::process::{Scratch, Spawned};
use vrrp_harness::topology::Segment;

const VIP: &str = "192.0.2.99";
const WAIT: Duration = Duration::from_secs(20);

fn config(priority: u8, namespace: Option<&str>) -> String {
    let global = namespace
        .map(|name| format!("global_defs {{\n  net_namespace {name}\n}}\n"))
        .unwrap_or_default();
    format!(
        "{global}vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {priority}\n  advert_int 0.1\n  version 3\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
    )
}

/// vrrpd in the host's namespace with its default pid file and control socket.
fn start(scratch: &Scratch, label: &str, text: &str, extra: &[&str]) -> Spawned {
    let file = scratch
        .write(&format!("{label}.conf"), text)
        .expect("config");
    let mut command = Command::new(vrrpd_binary());
    command
        .args(["-l", "-f"])
        .arg(&file)
        .arg("--dump-file")
        .arg(scratch.join(&format!("{label}.data")))
        .arg("--stats-file")
        .arg(scratch.join(&format!("{label}.stats")))
        .args(extra);
    Spawned::start_command(command, &scratch.join(&format!("{label}.log"))).expect("vrrpd")
}

fn runtime_directory(namespace: &str) -> PathBuf {
    PathBuf::from("/run/vrrpd").join(namespace)
}

fn state(namespace: &str) -> String {
    let output = Command::new(vrrpd_binary())
        .args(["status", "--json", "--control"])
        .arg(runtime_directory(namespace).join("vrrpd.sock"))
        .output()
        .expect("status");
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    status["instances"][0]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn net_namespace_and_dash_s_run_each_daemon_in_its_namespace_with_runtime_files_of_its_own() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("namespaces").expect("scratch");
    let (first, second) = (
        segment.router(1).ns.name().to_string(),
        segment.router(2).ns.name().to_string(),
    );
    // Whatever a run before this one left (names are unique per run; this is belt and braces).
    let _ = std::fs::remove_dir_all(runtime_directory(&first));
    let _ = std::fs::remove_dir_all(runtime_directory(&second));
    let mut master = start(&scratch, "master", &config(100, Some(&first)), &[]);
    let mut backup = start(&scratch, "backup", &config(96, None), &["-s", &second]);
    master
        .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
        .expect("the master");
    backup
        .wait_for_log("(VI_1) Entering BACKUP STATE", WAIT)
        .expect("the backup");
    // Past Master_Down_Interval: the backup hears the master, in the routers' namespaces.
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        master
            .log()
            .contains(&format!("running in network namespace {first}"))
    );
    assert!(segment.router(1).has_address(VIP), "{}", master.log());
    assert!(!segment.router(2).has_address(VIP), "{}", backup.log());
    assert_eq!(state(&first), "MASTER");
    assert_eq!(state(&second), "BACKUP");
    for (namespace, daemon) in [(&first, &master), (&second, &backup)] {
        let pid = std::fs::read_to_string(runtime_directory(namespace).join("vrrpd.pid"))
            .expect("the pid file");
        assert_eq!(pid.trim(), daemon.pid().to_string());
    }
    // The master stops: priority 0 in its namespace, and the backup takes over in its own.
    master
        .stop(libc::SIGTERM, Duration::from_secs(5))
        .expect("stop");
    backup
        .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
        .expect("the backup takes over");
    backup
        .stop(libc::SIGTERM, Duration::from_secs(5))
        .expect("stop");
    for namespace in [&first, &second] {
        assert!(!runtime_directory(namespace).join("vrrpd.pid").exists());
        let _ = std::fs::remove_dir_all(runtime_directory(namespace));
    }
}
