//! keepalived's unicast extras, side by side with keepalived 2.2.7: with `unicast_fault_no_peer`
//! an instance whose unicast_peer list is empty stays in FAULT instead of falling back to
//! multicast (and taking the VIP); without it, both fall back to multicast and become master.
//! `unicast_ttl` sets the TTL (IPv6 hop limit) of the adverts to unicast peers.

use std::collections::BTreeSet;
use std::time::Duration;

use vrrp_harness::capture::Capture;
use vrrp_harness::side_by_side::{Implementation, Run};
use vrrp_harness::topology::BRIDGE;
use vrrp_harness::wire;

fn scenario(implementation: Implementation, fault_no_peer: bool) -> Vec<String> {
    let label = if fault_no_peer {
        "unicast-fault-no-peer"
    } else {
        "unicast-no-peer"
    };
    let run = Run::start(implementation, label, |folder| {
        format!(
            "global_defs {{\n  vrrp_notify_fifo {folder}/notify.fifo\n  \
             vrrp_notify_fifo_script {folder}/fifo-reader.sh\n}}\n\
             vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  \
             advert_int 0.2\n  version 3\n  unicast_peer {{\n  }}\n{}  \
             virtual_ipaddress {{\n    192.0.2.99/24\n  }}\n}}\n",
            if fault_no_peer {
                "  unicast_fault_no_peer\n"
            } else {
                ""
            }
        )
    });
    let expected = if fault_no_peer { "FAULT" } else { "MASTER" };
    run.fifo_has(&format!("\"VI_1\" {expected}"));
    // Long past Master_Down_Interval (0.6 s + skew): a faulted instance has not moved on.
    std::thread::sleep(Duration::from_millis(1500));
    let vip = run.segment.router(1).has_address("192.0.2.99");
    assert_eq!(vip, !fault_no_peer, "{implementation:?}: the VIP");
    run.finish().0
}

#[test]
fn unicast_fault_no_peer_keeps_a_peerless_instance_in_fault_as_keepalived_does() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    for fault_no_peer in [true, false] {
        let ours = scenario(Implementation::Vrrpd, fault_no_peer);
        let theirs = scenario(Implementation::Keepalived, fault_no_peer);
        println!("unicast_fault_no_peer {fault_no_peer}: vrrpd {ours:?}, keepalived {theirs:?}");
        assert_eq!(ours, theirs, "unicast_fault_no_peer {fault_no_peer}");
    }
}

/// The TTLs (IPv6: hop limits) of the adverts one implementation sends to its unicast peer (the
/// client) with `unicast_ttl 64`, over IPv4 and over IPv6; and whether they were valid.
fn unicast_ttls(implementation: Implementation, ipv6: bool) -> (BTreeSet<u8>, bool) {
    let (source, peer, vip) = if ipv6 {
        ("2001:db8::11", "2001:db8::100", "2001:db8::99/64")
    } else {
        ("192.0.2.11", "192.0.2.100", "192.0.2.99/24")
    };
    let run = Run::start(implementation, "unicast-ttl", |_| {
        format!(
            "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  \
             advert_int 0.1\n  version 3\n  unicast_src_ip {source}\n  unicast_ttl 64\n  \
             unicast_peer {{\n    {peer}\n  }}\n  virtual_ipaddress {{\n    {vip}\n  }}\n}}\n"
        )
    });
    let capture = Capture::start(
        &run.segment.switch,
        BRIDGE,
        "ip proto 112 or ip6 proto 112",
        run.scratch.path(),
    )
    .expect("capture");
    std::thread::sleep(Duration::from_millis(1500));
    let frames = capture.finish().expect("capture");
    let adverts = wire::from(
        &wire::adverts(&frames),
        source.parse().expect("address"),
        51,
    );
    run.finish();
    assert!(
        adverts.len() >= 5,
        "{implementation:?}: {} adverts",
        adverts.len()
    );
    (
        adverts.iter().map(|a| a.ttl).collect(),
        adverts.iter().all(|a| a.checksum_ok),
    )
}

#[test]
fn unicast_ttl_sets_the_ttl_of_unicast_adverts_as_keepalived_does() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    for ipv6 in [false, true] {
        let ours = unicast_ttls(Implementation::Vrrpd, ipv6);
        let theirs = unicast_ttls(Implementation::Keepalived, ipv6);
        println!("unicast_ttl 64 (IPv6 {ipv6}): vrrpd {ours:?}, keepalived {theirs:?}");
        assert_eq!(ours, (BTreeSet::from([64]), true), "IPv6 {ipv6}");
        assert_eq!(ours, theirs, "IPv6 {ipv6}");
    }
}
