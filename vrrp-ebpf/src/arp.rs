//! The ARP responder: a request for an active virtual address is answered in place.

use aya_ebpf::bindings::xdp_action::{XDP_PASS, XDP_TX};
use vrrp_common::maps::VipKey;
use vrrp_common::stats::Counter;
use vrrp_common::wire::arp::{self, Operation, Repr};
use vrrp_common::wire::{Family, ethernet, raw_from_ipv4};

use crate::maps::{self, VIPS};
use crate::packet::Frame;

const FRAME_LEN: usize = ethernet::HEADER_LEN + arp::LEN;

pub fn on_arp(frame: &mut Frame) -> u32 {
    // The frame is parsed and rewritten where it lies: copying it out and back (and zeroing the
    // copy) was most of the responder's cost.
    let ifindex = frame.ingress_ifindex();
    let Some(frame) = frame.head_mut::<FRAME_LEN>() else {
        return XDP_PASS;
    };
    let Ok(request) = Repr::parse_bytes(&frame[ethernet::HEADER_LEN..]) else {
        return XDP_PASS;
    };
    // Gratuitous ARPs and probes are announcements and duplicate-address checks: never answer.
    if request.operation != Operation::Request || request.is_gratuitous() || request.is_probe() {
        return XDP_PASS;
    }
    let key = VipKey::new(
        ifindex,
        Family::Ipv4,
        raw_from_ipv4(request.target_ip.octets()),
    );
    let Some(vip) = VIPS.get_ptr(key) else {
        return XDP_PASS;
    };
    // SAFETY: VIPS values are plain data written whole by userspace.
    let vip = unsafe { *vip };
    if vip.active == 0 {
        return XDP_PASS;
    }
    if request.reply_from(vip.mac).emit_frame(frame).is_err() {
        return XDP_PASS;
    }
    maps::count(Counter::ArpRepliesSent);
    XDP_TX
}
