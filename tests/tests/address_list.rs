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

/// The instances, one per family (the IPv6 one is what proves socket mode's IPv6 receive path:
/// its hop limit and destination come from ancillary data), and the master's second VIP of each.
const INSTANCES: [(&str, u8); 2] = [("VI_1", 51), ("VI_6", 52)];
const SHARED_VIPS: [&str; 2] = ["192.0.2.99", "2001:db8::99"];
const MASTER_ONLY_VIPS: [&str; 2] = ["192.0.2.97", "2001:db8::97"];

/// VRRPv3 at 10 ms (keepalived.conf, for both daemons): VI_1 with the IPv4 VIPs, VI_6 with
/// the IPv6 ones: SHARED_VIPS, and with `with_second_vips` MASTER_ONLY_VIPS too.
fn config(priority: u8, with_second_vips: bool) -> String {
    let instance = |(name, vrid): (&str, u8), first: &str, prefix: u8, second: &str| {
        let mut vips = format!("    {first}/{prefix} dev eth0\n");
        if with_second_vips {
            vips.push_str(&format!("    {second}/{prefix} dev eth0\n"));
        }
        format!(
            "vrrp_instance {name} {{\n  interface eth0\n  virtual_router_id {vrid}\n  priority {priority}\n  advert_int 0.01\n  virtual_ipaddress {{\n{vips}  }}\n}}\n"
        )
    };
    format!(
        "global_defs {{\n  vrrp_version 3\n}}\n{}{}",
        instance(INSTANCES[0], SHARED_VIPS[0], 24, MASTER_ONLY_VIPS[0]),
        instance(INSTANCES[1], SHARED_VIPS[1], 64, MASTER_ONLY_VIPS[1]),
    )
}

/// Starts the backup vrrpd (priority 96, one VIP per family) beside a running master with
/// two, watches the wire, and checks that the backup never advertised, stayed backup, logged
/// the difference once per instance, and counted every master advert it judged.
fn backup_stays_backup(segment: &Segment, scratch: &Scratch, datapath: &str) {
    let capture = Capture::start(
        &segment.switch,
        BRIDGE,
        "ip proto 112 or ip6 proto 112",
        scratch.path(),
    )
    .expect("capture");
    let mut backup = Vrrpd::start_until(
        segment.router(2),
        &format!("backup-{datapath}"),
        &config(96, false),
        scratch,
        &["--datapath", datapath],
        "(VI_6) Entering BACKUP STATE",
    )
    .expect("backup");
    std::thread::sleep(WATCH);
    let log = backup.log();
    assert!(
        !log.contains("Entering MASTER STATE"),
        "{datapath}: the backup took over beside a live master:\n{log}"
    );
    for (name, _) in INSTANCES {
        assert_eq!(
            backup.state_of(name).expect("state"),
            "BACKUP",
            "{datapath} {name}"
        );
        assert_eq!(
            log.matches(&format!("({name}) expected 1 VIPs but received 2"))
                .count(),
            1,
            "{datapath} {name}: logged once, rate-limited:\n{log}"
        );
    }
    let adverts = wire::adverts(&capture.finish().expect("capture"));
    let master_mac = segment.router(1).mac().expect("the master's MAC");
    for (name, vrid) in INSTANCES {
        let adverts: Vec<_> = adverts
            .iter()
            .filter(|advert| advert.vrid == vrid)
            .collect();
        assert!(
            !adverts.is_empty(),
            "{datapath} {name}: the master's adverts"
        );
        assert!(
            adverts.iter().all(|advert| advert.source_mac == master_mac),
            "{datapath} {name}: the backup sent adverts"
        );
    }
    // XDP counts every advert it judged; socket mode every one it read: hundreds a family.
    let mismatches = backup.counter("address_list_mismatch");
    assert!(
        mismatches > 200,
        "{datapath}: {mismatches} adverts counted as address_list_mismatch"
    );
    for address in MASTER_ONLY_VIPS {
        assert!(
            segment.router(1).has_address(address),
            "the master keeps {address}"
        );
    }
    for address in SHARED_VIPS {
        assert!(!segment.router(2).has_address(address), "{address}");
    }
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
        &config(100, true),
        &scratch,
        &[],
        "(VI_6) Entering MASTER STATE",
    )
    .expect("master");
    for datapath in ["xdp", "socket"] {
        backup_stays_backup(&segment, &scratch, datapath);
    }
    assert_eq!(
        master.log().matches("Entering MASTER STATE").count(),
        2,
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
        &config(100, true),
        &scratch,
    )
    .expect("keepalived");
    for (name, _) in INSTANCES {
        master
            .process
            .wait_for_log(&format!("({name}) Entering MASTER STATE"), WAIT)
            .expect("keepalived master");
    }
    backup_stays_backup(&segment, &scratch, "xdp");
    assert_eq!(
        master.log().matches("Entering MASTER STATE").count(),
        2,
        "keepalived never stepped down:\n{}",
        master.log()
    );
}
