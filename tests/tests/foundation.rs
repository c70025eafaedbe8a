//! The foundation: the XDP program loads, attaches to veth in a namespace and sees every frame;
//! the BPF test-run helper works; namespaces never outlive a test, even a panicking one.

use std::time::Duration;

use aya::maps::PerCpuArray;
use vrrp_harness::bpf_run::{Verdict, XdpUnderTest};
use vrrp_harness::driver_mode::{DriverModeProgram, LiveFrames};
use vrrp_harness::netns::{self, Netns};
use vrrp_harness::packet_socket::PacketSocket;
use vrrp_harness::topology::VethPair;
use vrrp_user::datapath::attach::{AttachPolicy, AttachedMode, attach};

const FRAMES: u64 = 1000;

/// A broadcast frame with the IEEE local-experimental EtherType: nothing in the kernel reacts.
fn experimental_frame(seq: u64) -> Vec<u8> {
    let mut frame = vec![0xff; 6];
    frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 1, 0x88, 0xb5]);
    frame.extend_from_slice(&seq.to_be_bytes());
    frame.resize(60, 0);
    frame
}

fn frames_seen(xdp: &XdpUnderTest) -> u64 {
    let map = xdp.ebpf.map("STATS").expect("STATS map");
    let stats: PerCpuArray<_, u64> = PerCpuArray::try_from(map).expect("per-CPU array");
    let index = vrrp_common::stats::Counter::FramesSeen as u32;
    stats.get(&index, 0).expect("read").iter().sum()
}

fn count_on_veth(policy: AttachPolicy) -> (AttachedMode, u64) {
    let pair = VethPair::new().expect("veth pair");
    let mut xdp = XdpUnderTest::load().expect("load");
    let ifindex: u32 = pair
        .b
        .run_ok(["cat", "/sys/class/net/veth1/ifindex"])
        .expect("ifindex")
        .trim()
        .parse()
        .expect("number");
    let (link, mode) = pair
        .b
        .enter(|| {
            let program =
                vrrp_user::datapath::program::xdp_program(&mut xdp.ebpf).expect("program");
            attach(program, "veth1", ifindex, policy)
        })
        .expect("enter")
        .expect("attach");
    let sent = pair
        .a
        .enter(|| {
            let socket = PacketSocket::open("veth0")?;
            let frames: Vec<Vec<u8>> = (0..FRAMES).map(experimental_frame).collect();
            let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
            socket.send_batch(&refs)
        })
        .expect("enter")
        .expect("send");
    assert_eq!(sent as u64, FRAMES, "the sender queued every frame");
    // Wait for the last frame to cross the link.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while frames_seen(&xdp) < FRAMES && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(50));
    let seen = frames_seen(&xdp);
    let program = vrrp_user::datapath::program::xdp_program(&mut xdp.ebpf).expect("program");
    program.detach(link).expect("detach");
    (mode, seen)
}

#[test]
fn xdp_counts_every_frame_on_veth_in_driver_mode() {
    vrrp_harness::require_root();
    let (mode, seen) = count_on_veth(AttachPolicy::PreferDriver);
    assert_eq!(mode, AttachedMode::Driver, "veth supports driver-mode XDP");
    assert_eq!(seen, FRAMES);
}

#[test]
fn xdp_counts_every_frame_on_veth_in_skb_mode() {
    vrrp_harness::require_root();
    let (mode, seen) = count_on_veth(AttachPolicy::Skb);
    assert_eq!(mode, AttachedMode::Skb);
    assert_eq!(seen, FRAMES);
}

#[test]
fn auto_policy_picks_skb_mode_on_veth() {
    vrrp_harness::require_root();
    let (mode, seen) = count_on_veth(AttachPolicy::Auto);
    assert_eq!(
        mode,
        AttachedMode::Skb,
        "driver-mode XDP_TX is lost on veth"
    );
    assert_eq!(seen, FRAMES);
}

/// The bench's driver-mode rows inject their requests as live XDP frames where the kernel
/// allows it; they must reach the peer as the frame given, every one of them. Where the
/// kernel refuses live frames (EPERM), the rows send from a packet socket instead, as every
/// other flood does, and there is nothing to test here.
#[test]
fn live_xdp_frames_reach_the_veth_peer_as_written() {
    vrrp_harness::require_root();
    // Few enough that the receiving packet socket's buffer holds them all (each arrives in a
    // page of its own).
    const COUNT: u32 = 16;
    let pair = VethPair::new().expect("veth pair");
    let _peer_program = DriverModeProgram::pass(&pair.b, "veth1").expect("pass program");
    let frame = experimental_frame(42);
    // Tried with another frame, which the count below leaves out.
    let allowed = pair
        .a
        .enter(|| LiveFrames::allowed("veth0", &experimental_frame(41)))
        .expect("enter")
        .expect("trying live frames");
    if !allowed {
        eprintln!("this kernel refuses BPF_PROG_TEST_RUN's live frames (EPERM): not tested");
        return;
    }
    let received = pair
        .b
        .enter(|| -> anyhow::Result<Vec<Vec<u8>>> {
            let socket = PacketSocket::open("veth1")?;
            pair.a
                .enter(|| LiveFrames::open("veth0", &frame)?.transmit(COUNT))??;
            let mut frames = Vec::new();
            while let Some(received) = socket.recv_timeout(Duration::from_millis(300))? {
                frames.push(received);
            }
            Ok(frames)
        })
        .expect("enter")
        .expect("transmit and receive");
    let as_written = received.iter().filter(|r| **r == frame).count();
    assert_eq!(
        as_written,
        COUNT as usize,
        "of {} frames received",
        received.len()
    );
}

#[test]
fn test_run_passes_an_unrelated_frame_untouched_and_counts_it() {
    vrrp_harness::require_root();
    let mut xdp = XdpUnderTest::load().expect("load");
    let frame = experimental_frame(7);
    let run = xdp.run(&frame).expect("test run");
    assert_eq!(run.verdict, Verdict::Pass);
    assert_eq!(run.output, frame);
    assert_eq!(frames_seen(&xdp), 1);
}

#[test]
fn a_panicking_namespace_test_leaves_no_namespace_behind() {
    vrrp_harness::require_root();
    let created = std::sync::Mutex::new(String::new());
    let outcome = std::panic::catch_unwind(|| {
        let ns = Netns::new("panics").expect("netns");
        *created.lock().expect("lock") = ns.name().to_string();
        assert!(netns::list_namespaces().contains(&ns.name().to_string()));
        panic!("a test failing inside a namespace");
    });
    assert!(outcome.is_err());
    let name = created.lock().expect("lock").clone();
    assert!(!name.is_empty());
    assert!(
        !netns::list_namespaces().contains(&name),
        "{name} survived the panic"
    );
}
