//! keepalived's notify extras, side by side with keepalived 2.2.7 on the same file:
//! `notify_priority_changes` writes MASTER_PRIORITY to the notify FIFO when a tracked file
//! lowers the master's priority, and `notify_master_rx_lower_pri` runs its script (and writes
//! MASTER_RX_LOWER_PRI) when the master hears a lower priority. Both daemons must write the
//! same FIFO lines in the same order and run the script.

use std::path::Path;
use std::time::Duration;

use vrrp_common::wire::vrrp::Auth;
use vrrp_harness::daemons::{Keepalived, Vrrpd, make_executable};
use vrrp_harness::fixtures::Forged;
use vrrp_harness::packet_socket::PacketSocket;
use vrrp_harness::process::{Scratch, Spawned};
use vrrp_harness::topology::Segment;
use vrrp_harness::wait_until;

const WAIT: Duration = Duration::from_secs(20);

fn config(scratch: &Path) -> String {
    let path = |name: &str| scratch.join(name).display().to_string();
    format!(
        "global_defs {{\n  vrrp_mcast_group4 224.0.1.11\n  vrrp_notify_fifo {fifo}\n  \
         vrrp_notify_fifo_script {reader}\n  vrrp_garp_master_delay 0\n}}\n\
         vrrp_track_file offset {{\n  file {offset}\n  weight 1\n}}\n\
         vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  \
         advert_int 1\n  authentication {{\n    auth_type PASS\n    auth_pass abc123\n  }}\n  \
         virtual_ipaddress {{\n    192.0.2.99/24\n  }}\n  track_file {{\n    offset\n  }}\n  \
         notify_priority_changes\n  notify_master_rx_lower_pri {rx}\n}}\n",
        fifo = path("notify.fifo"),
        reader = path("fifo-reader.sh"),
        offset = path("offset"),
        rx = path("rx.sh"),
    )
}

/// Runs one daemon (started by `start`) through the scenario; returns its FIFO lines and what
/// the notify_master_rx_lower_pri script recorded.
fn scenario(
    label: &str,
    start: impl FnOnce(&Segment, &Scratch, &str) -> (Spawned, String),
) -> (String, String) {
    let segment = Segment::new(1).expect("segment");
    let scratch = Scratch::new(label).expect("scratch");
    let received = scratch.join("fifo.log");
    let recorded = scratch.join("rx.log");
    let reader = scratch
        .write(
            "fifo-reader.sh",
            &format!("#!/bin/sh\ncat \"$1\" >> {}\n", received.display()),
        )
        .expect("reader");
    let rx = scratch
        .write(
            "rx.sh",
            &format!("#!/bin/sh\necho \"rx $*\" >> {}\n", recorded.display()),
        )
        .expect("rx");
    make_executable(&reader).expect("chmod");
    make_executable(&rx).expect("chmod");
    std::fs::write(scratch.join("offset"), "0\n").expect("offset");
    let (mut process, master_line) = start(&segment, &scratch, &config(scratch.path()));
    wait_until("MASTER", WAIT, || process.log().contains(&master_line));

    // The tracked file lowers the priority by 5.
    std::fs::write(scratch.join("offset"), "-5\n").expect("offset");
    wait_until("the MASTER_PRIORITY line", WAIT, || {
        std::fs::read_to_string(&received).is_ok_and(|t| t.contains("MASTER_PRIORITY"))
    });
    // A lower priority is heard.
    let lower = Forged {
        vrid: 51,
        priority: 50,
        ttl: 255,
        auth: Auth::SimpleText(*b"abc123\0\0"),
    }
    .frame(segment.client.mac().expect("mac"));
    segment
        .client
        .ns
        .enter(|| PacketSocket::open("eth0").and_then(|socket| socket.send(&lower)))
        .expect("enter")
        .expect("send");
    wait_until("the script for the lower priority", WAIT, || {
        std::fs::read_to_string(&recorded).is_ok_and(|t| !t.is_empty())
    });
    wait_until("the MASTER_RX_LOWER_PRI line", WAIT, || {
        std::fs::read_to_string(&received).is_ok_and(|t| t.contains("MASTER_RX_LOWER_PRI"))
    });
    let _ = process.stop(libc::SIGTERM, Duration::from_secs(5));
    (
        std::fs::read_to_string(&received).unwrap_or_default(),
        std::fs::read_to_string(&recorded).unwrap_or_default(),
    )
}

#[test]
fn priority_changes_and_lower_priorities_are_notified_as_keepalived_notifies_them() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let ours = scenario("notify-extras-vrrpd", |segment, scratch, config| {
        let daemon = Vrrpd::start(segment.router(1), "vrrpd", config, scratch, &[]).expect("vrrpd");
        (daemon.process, "(VI_1) Entering MASTER STATE".to_string())
    });
    let theirs = scenario("notify-extras-keepalived", |segment, scratch, config| {
        let daemon = Keepalived::start(segment.router(1), "keepalived", config, scratch)
            .expect("keepalived");
        (daemon.process, "(VI_1) Entering MASTER STATE".to_string())
    });
    println!(
        "vrrpd:\n{}{}keepalived:\n{}{}",
        ours.0, ours.1, theirs.0, theirs.1
    );
    let lines = |fifo: &str| -> Vec<String> {
        fifo.lines()
            .filter(|l| !l.contains(" STOP ") && !l.starts_with("INSTANCE \"VI_1\" BACKUP"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        lines(&ours.0),
        vec![
            "INSTANCE \"VI_1\" MASTER 100",
            "INSTANCE \"VI_1\" MASTER_PRIORITY 95",
            "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 95",
        ],
        "vrrpd's FIFO:\n{}",
        ours.0
    );
    assert_eq!(
        lines(&ours.0),
        lines(&theirs.0),
        "the same lines as keepalived"
    );
    assert_eq!(ours.1.trim(), "rx", "the script, with no arguments");
    assert_eq!(ours.1, theirs.1, "the script as keepalived runs it");
}
