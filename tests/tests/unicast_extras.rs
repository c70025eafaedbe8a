//! keepalived's unicast extras, side by side with keepalived 2.2.7: with `unicast_fault_no_peer`
//! an instance whose unicast_peer list is empty stays in FAULT instead of falling back to
//! multicast (and taking the VIP); without it, both fall back to multicast and become master.

use std::time::Duration;

use vrrp_harness::side_by_side::{Implementation, Run};

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
