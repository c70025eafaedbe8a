//! An advert whose address list differs from ours is taken as keepalived 2.3.3 and later take
//! it: logged ("(VI_1) expected N VIPs but received M", at most once a minute), counted
//! (`address_list_mismatch`, keepalived's addr_list_err) and processed. A backup whose list is
//! older or newer than its master's (a rolling change of the list, half done) therefore stays
//! backup instead of taking over beside a live master. keepalived 2.2.7 still drops such adverts,
//! so with keepalived as the backup the reverse pairing gives two masters: keepalived's problem,
//! documented in the README.

use std::time::Duration;

use vrrp_harness::capture::Capture;
use vrrp_harness::daemons::{Keepalived, Vrrpd};
use vrrp_harness::process::Scratch;
use vrrp_harness::topology::{BRIDGE, Segment};
use vrrp_harness::wire;

const WAIT: Duration = Duration::from_secs(20);
/// How long the pair is watched once both run: hundreds of master adverts at 10 ms.
const WATCH: Duration = Duration::from_secs(3);

/// VRRPv3 at 10 ms with the given virtual addresses (keepalived.conf, for both daemons).
fn config(priority: u8, vips: &[&str]) -> String {
    let addresses: String = vips
        .iter()
        .map(|vip| format!("    {vip}/24 dev eth0\n"))
        .collect();
    format!(
        "global_defs {{\n  vrrp_version 3\n}}\nvrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {priority}\n  advert_int 0.01\n  virtual_ipaddress {{\n{addresses}  }}\n}}\n"
    )
}

/// Starts the backup vrrpd (priority 96, one VIP) beside a running master with two VIPs,
/// watches the wire, and checks that the backup never advertised, stayed backup, logged the
/// difference once, and counted every master advert it judged.
fn backup_stays_backup(segment: &Segment, scratch: &Scratch, datapath: &str) {
    let capture =
        Capture::start(&segment.switch, BRIDGE, "ip proto 112", scratch.path()).expect("capture");
    let mut backup = Vrrpd::start_until(
        segment.router(2),
        &format!("backup-{datapath}"),
        &config(96, &["192.0.2.99"]),
        scratch,
        &["--datapath", datapath],
        "(VI_1) Entering BACKUP STATE",
    )
    .expect("backup");
    std::thread::sleep(WATCH);
    let log = backup.log();
    assert!(
        !log.contains("Entering MASTER STATE"),
        "{datapath}: the backup took over beside a live master:\n{log}"
    );
    assert_eq!(
        backup.state_of("VI_1").expect("state"),
        "BACKUP",
        "{datapath}"
    );
    assert_eq!(
        log.matches("(VI_1) expected 1 VIPs but received 2").count(),
        1,
        "{datapath}: logged once, rate-limited:\n{log}"
    );
    let frames = capture.finish().expect("capture");
    let from_backup = wire::from(&wire::adverts(&frames), segment.router(2).ipv4.into(), 51);
    assert!(
        from_backup.is_empty(),
        "{datapath}: the backup sent {} adverts",
        from_backup.len()
    );
    // XDP counts every advert it judged; socket mode every one it read.
    let mismatches = backup.counter("address_list_mismatch");
    assert!(
        mismatches > 100,
        "{datapath}: {mismatches} adverts counted as address_list_mismatch"
    );
    assert!(
        segment.router(1).has_address("192.0.2.97"),
        "the master keeps its addresses"
    );
    assert!(!segment.router(2).has_address("192.0.2.99"));
    backup
        .process
        .stop(libc::SIGTERM, Duration::from_secs(5))
        .expect("the backup stops");
}

#[test]
fn a_vrrpd_backup_with_an_older_address_list_stays_backup_in_both_datapaths() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("addr-list").expect("scratch");
    let master = Vrrpd::start_until(
        segment.router(1),
        "master",
        &config(100, &["192.0.2.99", "192.0.2.97"]),
        &scratch,
        &[],
        "(VI_1) Entering MASTER STATE",
    )
    .expect("master");
    for datapath in ["xdp", "socket"] {
        backup_stays_backup(&segment, &scratch, datapath);
    }
    assert_eq!(
        master.log().matches("Entering MASTER STATE").count(),
        1,
        "the master never stepped down"
    );
}

#[test]
fn a_vrrpd_backup_of_a_keepalived_master_with_another_address_list_stays_backup() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("addr-list-ka").expect("scratch");
    let mut master = Keepalived::start(
        segment.router(1),
        "keepalived",
        &config(100, &["192.0.2.99", "192.0.2.97"]),
        &scratch,
    )
    .expect("keepalived");
    master
        .process
        .wait_for_log("(VI_1) Entering MASTER STATE", WAIT)
        .expect("keepalived master");
    backup_stays_backup(&segment, &scratch, "xdp");
    assert_eq!(
        master.log().matches("Entering MASTER STATE").count(),
        1,
        "keepalived never stepped down:\n{}",
        master.log()
    );
}
