//! A sync group's own tracking, side by side with keepalived 2.2.7 on the same file: the
//! group's `track_interface` and `track_file` act on every member (keepalived.conf(5)), so an
//! interface going down, or the tracked file saying failure, puts the whole group in FAULT
//! and its recovery brings it back; both daemons must write the same notify FIFO lines.

use vrrp_harness::side_by_side::{Implementation, Run};

fn instance(name: &str, vrid: u8, vip: &str) -> String {
    format!(
        "vrrp_instance {name} {{\n  interface eth0\n  virtual_router_id {vrid}\n  priority 100\n  \
         advert_int 1\n  virtual_ipaddress {{\n    {vip}/24\n  }}\n}}\n"
    )
}

fn scenario(implementation: Implementation) -> Vec<String> {
    let run = Run::start_after(
        implementation,
        "sync-group-tracking",
        |segment| {
            let ns = &segment.router(1).ns;
            ns.run_ok([
                "ip", "link", "add", "trk0", "type", "veth", "peer", "name", "trk1",
            ])
            .expect("veth");
            for name in ["trk0", "trk1"] {
                ns.run_ok(["ip", "link", "set", name, "up"]).expect("up");
            }
        },
        |folder| {
            format!(
                "global_defs {{\n  vrrp_notify_fifo {folder}/notify.fifo\n  \
                 vrrp_notify_fifo_script {folder}/fifo-reader.sh\n  vrrp_garp_master_delay 0\n}}\n\
                 vrrp_track_file flag {{\n  file {folder}/offset\n  weight 0\n}}\n\
                 {}{}\
                 vrrp_sync_group G {{\n  group {{\n    VI_1\n    VI_2\n  }}\n  \
                 track_interface {{\n    trk0\n  }}\n  track_file {{\n    flag\n  }}\n}}\n",
                instance("VI_1", 51, "192.0.2.99"),
                instance("VI_2", 52, "192.0.2.98"),
            )
        },
    );
    let count = |line: &str| run.read("fifo.log").matches(line).count();
    let reach = |line: &str, times: usize| {
        vrrp_harness::wait_until(
            &format!("{line} x{times}"),
            std::time::Duration::from_secs(20),
            || count(line) >= times,
        )
    };
    let tracked_link = |state: &str| {
        run.segment
            .router(1)
            .ns
            .run_ok(["ip", "link", "set", "trk0", state])
            .expect("trk0");
    };
    reach("GROUP \"G\" MASTER", 1);
    tracked_link("down");
    reach("GROUP \"G\" FAULT", 1);
    tracked_link("up");
    reach("GROUP \"G\" MASTER", 2);
    std::fs::write(run.scratch.join("offset"), "1\n").expect("flag");
    reach("GROUP \"G\" FAULT", 2);
    std::fs::write(run.scratch.join("offset"), "0\n").expect("flag");
    reach("GROUP \"G\" MASTER", 3);
    let (mut lines, _) = run.finish();
    // Instances and their group report in an order of their own within each step.
    lines.sort();
    lines
}

#[test]
fn the_groups_tracked_interface_and_file_move_every_member_as_keepalived_does() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let ours = scenario(Implementation::Vrrpd);
    let theirs = scenario(Implementation::Keepalived);
    println!("vrrpd: {ours:#?}\nkeepalived: {theirs:#?}");
    for member in ["INSTANCE \"VI_1\"", "INSTANCE \"VI_2\""] {
        assert_eq!(
            ours.iter()
                .filter(|l| l.starts_with(member) && l.contains(" FAULT "))
                .count(),
            2,
            "{member} in FAULT with its group, twice: {ours:#?}"
        );
    }
    assert_eq!(ours, theirs, "the same FIFO lines as keepalived");
}
