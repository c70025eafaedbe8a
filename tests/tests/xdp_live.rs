//! The XDP program attached to veth in namespaces, with real traffic: a keepalived master's
//! adverts reach LIVENESS on the far end, and the ARP responder answers a client over veth
//! (attached in the mode `Auto` picks for veth) without the router's kernel seeing the request.

use std::time::Duration;

use vrrp_common::maps::{InstanceConfig, InstanceKey, Liveness, VipKey, VipValue};
use vrrp_common::wire::arp;
use vrrp_common::wire::{Family, raw_from_ipv4};
use vrrp_harness::bpf_run::XdpUnderTest;
use vrrp_harness::daemons::{Keepalived, seed_config};
use vrrp_harness::fixtures;
use vrrp_harness::packet_socket::PacketSocket;
use vrrp_harness::process::Scratch;
use vrrp_harness::topology::Segment;
use vrrp_user::datapath::attach::{AttachPolicy, AttachedMode, attach};

fn attach_to(
    segment: &Segment,
    router: usize,
    xdp: &mut XdpUnderTest,
    policy: AttachPolicy,
) -> AttachedMode {
    let host = segment.router(router);
    let ifindex = host.ifindex().expect("ifindex");
    let (link, mode) = host
        .ns
        .enter(|| {
            let program =
                vrrp_user::datapath::program::xdp_program(&mut xdp.ebpf).expect("program");
            attach(program, "eth0", ifindex, policy)
        })
        .expect("enter")
        .expect("attach");
    // The link belongs to the program: it is detached when `xdp` is dropped.
    let _ = link;
    mode
}

#[test]
fn a_keepalived_masters_adverts_update_liveness_on_the_far_end() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(2).expect("segment");
    let scratch = Scratch::new("xdp-live-liveness").expect("scratch");
    let mut xdp = XdpUnderTest::load().expect("load");
    let ifindex = segment.router(2).ifindex().expect("ifindex");
    let key = InstanceKey::new(ifindex, Family::Ipv4, 51);
    let config = fixtures::seed_dr2_config([192, 0, 2, 12]);
    xdp.hash_map::<InstanceKey, InstanceConfig>("CONFIG")
        .expect("map")
        .insert(key, config, 0)
        .expect("insert");
    attach_to(&segment, 2, &mut xdp, AttachPolicy::PreferDriver);
    let mut keepalived = Keepalived::start(
        segment.router(1),
        "ka",
        &seed_config("dr1-keepalived.conf", &scratch).expect("config"),
        &scratch,
    )
    .expect("keepalived");
    keepalived
        .process
        .wait_for_log("(VI_1) Entering MASTER STATE", Duration::from_secs(15))
        .expect("master");
    std::thread::sleep(Duration::from_millis(2500));
    let live: Liveness = xdp.liveness(0).expect("entry");
    assert!(live.adverts >= 2, "adverts counted: {live:?}");
    assert_eq!(live.master, raw_from_ipv4([192, 0, 2, 11]));
    assert_eq!((live.master_priority, live.master_interval_cs), (100, 100));
}

/// Sends an ARP request for the VIP from the client; returns the sender MAC of the reply.
fn ask(segment: &Segment) -> Option<[u8; 6]> {
    let client_mac = segment.client.mac().expect("mac");
    segment
        .client
        .ns
        .enter(|| {
            let socket = PacketSocket::open("eth0").expect("socket");
            socket
                .send(&fixtures::arp_request(
                    client_mac,
                    fixtures::CLIENT_IP,
                    fixtures::SEED_VIP,
                ))
                .expect("send");
            let deadline = std::time::Instant::now() + Duration::from_millis(500);
            while std::time::Instant::now() < deadline {
                if let Ok(Some(frame)) = socket.recv_timeout(Duration::from_millis(50))
                    && let Ok(reply) = arp::Repr::parse_bytes(&frame[14..])
                    && reply.operation == arp::Operation::Reply
                    && reply.sender_ip.octets() == fixtures::SEED_VIP
                {
                    return Some(reply.sender_mac);
                }
            }
            None
        })
        .expect("enter")
}

#[test]
fn the_arp_responder_answers_over_veth_and_the_router_kernel_never_sees_it() {
    let _serial = vrrp_harness::serial();
    vrrp_harness::require_root();
    let segment = Segment::new(1).expect("segment");
    let router = segment.router(1);
    let mut xdp = XdpUnderTest::load().expect("load");
    let mode = attach_to(&segment, 1, &mut xdp, AttachPolicy::Auto);
    assert_eq!(
        mode,
        AttachedMode::Skb,
        "veth: Auto picks the mode whose XDP_TX reaches the peer"
    );
    let router_mac = router.mac().expect("mac");
    let vip = VipKey::new(
        router.ifindex().expect("ifindex"),
        Family::Ipv4,
        raw_from_ipv4([192, 0, 2, 99]),
    );
    let active = VipValue {
        mac: router_mac,
        active: 1,
        vrid: 51,
    };
    xdp.hash_map::<VipKey, VipValue>("VIPS")
        .expect("map")
        .insert(vip, active, 0)
        .expect("insert");
    // The router does not hold 192.0.2.99: only the program can answer.
    assert!(!router.has_address("192.0.2.99"));
    assert_eq!(
        ask(&segment),
        Some(router_mac),
        "answered by the XDP program"
    );
    let neighbours = router
        .ns
        .run_ok(["ip", "neigh", "show", "dev", "eth0"])
        .expect("neigh");
    assert!(
        !neighbours.contains("192.0.2.100"),
        "the router's kernel learnt nothing: {neighbours}"
    );
    let inactive = VipValue {
        active: 0,
        ..active
    };
    xdp.hash_map::<VipKey, VipValue>("VIPS")
        .expect("map")
        .insert(vip, inactive, 0)
        .expect("insert");
    assert_eq!(ask(&segment), None, "no answer once the VIP is inactive");
}
