//! keepalived's notify extras, side by side with keepalived 2.2.7 on the same files: each
//! scenario runs once under vrrpd and once under keepalived, and both must write the same
//! notify FIFO lines in the same order and run the same scripts.
//! - `notify_priority_changes` writes MASTER_PRIORITY when a tracked file lowers the master's
//!   priority; `notify_master_rx_lower_pri` runs its script (and writes MASTER_RX_LOWER_PRI)
//!   when the master hears a lower priority.
//! - A reload that removes instances announces each as FAULT, or as DELETED (running the
//!   `notify_deleted` script) when the instance says `notify_deleted`.
//! - `fifo_write_vrrp_states_on_reload` writes every instance's and sync group's state to the
//!   FIFO again after a reload.

use std::time::Duration;

use vrrp_common::wire::vrrp::Auth;
use vrrp_harness::fixtures::Forged;
use vrrp_harness::packet_socket::PacketSocket;
use vrrp_harness::side_by_side::{Implementation, Run};
use vrrp_harness::wait_until;

const WAIT: Duration = Duration::from_secs(20);

fn instance(name: &str, vrid: u8, vip: &str, extra: &str) -> String {
    format!(
        "vrrp_instance {name} {{\n  interface eth0\n  virtual_router_id {vrid}\n  priority 100\n  \
         advert_int 1\n  authentication {{\n    auth_type PASS\n    auth_pass abc123\n  }}\n  \
         virtual_ipaddress {{\n    {vip}/24\n  }}\n{extra}}}\n"
    )
}

fn global(folder: &str) -> String {
    format!(
        "global_defs {{\n  vrrp_mcast_group4 224.0.1.11\n  vrrp_notify_fifo {folder}/notify.fifo\n  \
         vrrp_notify_fifo_script {folder}/fifo-reader.sh\n  vrrp_garp_master_delay 0\n}}\n"
    )
}

fn priority_and_lower_priority(implementation: Implementation) -> (Vec<String>, String) {
    let run = Run::start(implementation, "notify-priority", |folder| {
        format!(
            "{}vrrp_track_file offset {{\n  file {folder}/offset\n  weight 1\n}}\n{}",
            global(folder),
            instance(
                "VI_1",
                51,
                "192.0.2.99",
                &format!(
                    "  track_file {{\n    offset\n  }}\n  notify_priority_changes\n  \
                     notify_master_rx_lower_pri {folder}/record.sh\n"
                ),
            )
        )
    });
    run.fifo_has("\"VI_1\" MASTER 100");
    // The tracked file lowers the priority by 5.
    std::fs::write(run.scratch.join("offset"), "-5\n").expect("offset");
    run.fifo_has("MASTER_PRIORITY 95");
    // A lower priority is heard.
    let lower = Forged {
        vrid: 51,
        priority: 50,
        ttl: 255,
        auth: Auth::SimpleText(*b"abc123\0\0"),
    }
    .frame(run.segment.client.mac().expect("mac"));
    run.segment
        .client
        .ns
        .enter(|| PacketSocket::open("eth0").and_then(|socket| socket.send(&lower)))
        .expect("enter")
        .expect("send");
    run.fifo_has("MASTER_RX_LOWER_PRI 95");
    wait_until("the script", WAIT, || !run.read("scripts.log").is_empty());
    run.finish()
}

#[test]
fn priority_changes_and_lower_priorities_are_notified_as_keepalived_notifies_them() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let ours = priority_and_lower_priority(Implementation::Vrrpd);
    let theirs = priority_and_lower_priority(Implementation::Keepalived);
    println!("vrrpd: {ours:?}\nkeepalived: {theirs:?}");
    assert_eq!(
        ours.0,
        vec![
            "INSTANCE \"VI_1\" MASTER 100",
            "INSTANCE \"VI_1\" MASTER_PRIORITY 95",
            "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 95",
        ]
    );
    assert_eq!(ours.1, "record \n", "the script, with no arguments");
    assert_eq!(ours, theirs, "the same lines and scripts as keepalived");
}

fn deletion(implementation: Implementation) -> (Vec<String>, String) {
    let three = |folder: &str| {
        format!(
            "{}{}{}{}",
            global(folder),
            instance("VI_1", 51, "192.0.2.99", ""),
            instance(
                "VI_2",
                52,
                "192.0.2.98",
                &format!("  notify_deleted {folder}/record.sh\n")
            ),
            instance("VI_3", 53, "192.0.2.97", "")
        )
    };
    let mut run = Run::start(implementation, "notify-deleted", three);
    for name in ["VI_1", "VI_2", "VI_3"] {
        run.fifo_has(&format!("\"{name}\" MASTER 100"));
    }
    let folder = run.scratch.path().display().to_string();
    let one = format!(
        "{}{}",
        global(&folder),
        instance("VI_1", 51, "192.0.2.99", "")
    );
    run.reload(&one);
    run.fifo_has("\"VI_3\" FAULT 100");
    run.fifo_has("\"VI_2\" DELETED 100");
    wait_until("the notify_deleted script", WAIT, || {
        !run.read("scripts.log").is_empty()
    });
    let (mut lines, scripts) = run.finish();
    // The three start-up MASTER lines come in whatever order the instances took over.
    lines[..3].sort();
    (lines, scripts)
}

#[test]
fn a_reload_announces_removed_instances_as_keepalived_does() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let ours = deletion(Implementation::Vrrpd);
    let theirs = deletion(Implementation::Keepalived);
    println!("vrrpd: {ours:?}\nkeepalived: {theirs:?}");
    assert_eq!(
        &ours.0[3..],
        [
            "INSTANCE \"VI_2\" DELETED 100",
            "INSTANCE \"VI_3\" FAULT 100"
        ]
    );
    assert_eq!(
        ours.1, "record \n",
        "notify_deleted's script, with no arguments"
    );
    assert_eq!(ours, theirs, "the same lines and scripts as keepalived");
}

fn states_on_reload(implementation: Implementation) -> Vec<String> {
    let text = |folder: &str| {
        format!(
            "{}{}{}{}vrrp_sync_group G {{\n  group {{\n    VI_1\n    VI_2\n  }}\n}}\n",
            global(folder).replace(
                "global_defs {\n",
                "global_defs {\n  fifo_write_vrrp_states_on_reload\n"
            ),
            instance("VI_1", 51, "192.0.2.99", ""),
            instance("VI_2", 52, "192.0.2.98", ""),
            instance("VI_3", 53, "192.0.2.97", ""),
        )
    };
    let mut run = Run::start(implementation, "fifo-states", text);
    run.fifo_has("GROUP \"G\" MASTER");
    run.fifo_has("\"VI_3\" MASTER");
    let folder = run.scratch.path().display().to_string();
    run.reload(&text(&folder));
    wait_until("the states written again", WAIT, || {
        run.read("fifo.log").matches("GROUP \"G\" MASTER").count() >= 2
    });
    // Whatever else a reload writes comes at once with them.
    std::thread::sleep(Duration::from_millis(500));
    let (mut lines, _) = run.finish();
    // The start-up lines come in whatever order the instances took over.
    lines[..4].sort();
    lines
}

#[test]
fn a_reload_writes_every_state_to_the_fifo_again_when_asked_as_keepalived_does() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let ours = states_on_reload(Implementation::Vrrpd);
    let theirs = states_on_reload(Implementation::Keepalived);
    println!("vrrpd: {ours:?}\nkeepalived: {theirs:?}");
    // A sync group stands for its members; an instance outside one says its own state.
    assert_eq!(
        ours,
        [
            "GROUP \"G\" MASTER 0",
            "INSTANCE \"VI_1\" MASTER 100",
            "INSTANCE \"VI_2\" MASTER 100",
            "INSTANCE \"VI_3\" MASTER 100",
            "INSTANCE \"VI_3\" MASTER 100",
            "GROUP \"G\" MASTER 0",
        ]
    );
    // keepalived 2.2.7 restarts its FIFO reader on a reload, and that reader sees only the group
    // line; what it sees after the reload must be among vrrpd's lines (whose reader runs on).
    assert_eq!(
        ours[..4],
        theirs[..4],
        "the same start-up lines as keepalived"
    );
    for line in &theirs[4..] {
        assert!(
            ours[4..].contains(line),
            "keepalived's {line} is written by vrrpd too"
        );
    }
}
