//! The neighbour-discovery responder: a solicitation for an active IPv6 virtual address is
//! answered in place with a solicited neighbour advertisement (RFC 4861 section 7.2.4).

use aya_ebpf::bindings::xdp_action::{XDP_PASS, XDP_TX};
use vrrp_common::maps::VipKey;
use vrrp_common::stats::Counter;
use vrrp_common::wire::icmpv6::{self, NeighborAdvert, NeighborSolicit};
use vrrp_common::wire::{Family, ethernet, ip};

use crate::maps::{self, VIPS};
use crate::packet::Frame;

/// A solicitation with the asker's link-layer address option, the only kind answered: one
/// without it is a duplicate-address probe (or a frame we would have to grow to answer).
const FRAME_LEN: usize = NeighborAdvert::FRAME_LEN;
const ND_OFFSET: usize = ethernet::HEADER_LEN + ip::IPV6_HEADER_LEN;

pub fn on_icmpv6(frame: &mut Frame) -> u32 {
    // Parsed and rewritten in place, as the ARP responder does. The bounds check comes before
    // the exact-length test: after that test the compiler would know the check passes and drop
    // it, and the verifier needs to see it.
    let ifindex = frame.ingress_ifindex();
    let frame_len = frame.len();
    let Some(frame) = frame.head_mut::<FRAME_LEN>() else {
        return XDP_PASS;
    };
    if frame_len != FRAME_LEN {
        return XDP_PASS;
    }
    let Ok(solicit) = NeighborSolicit::parse_bytes(&frame[ND_OFFSET..]) else {
        return XDP_PASS;
    };
    let Ok(header) = ip::Ipv6Packet::new_checked(&frame[ethernet::HEADER_LEN..]) else {
        return XDP_PASS;
    };
    // RFC 4861 section 7.1.1, as the kernel's ndisc_rcv checks it: hop limit 255, the IPv6
    // payload exactly the message, a correct ICMPv6 checksum. Anything else is the kernel's to
    // judge (it drops it). The source is unspecified only for DAD (and a DAD probe carries no
    // source link-layer option to answer to).
    if header.hop_limit() != 255 || header.payload_len() != FRAME_LEN - ND_OFFSET {
        return XDP_PASS;
    }
    let asker = header.source();
    if !icmpv6::verify_checksum(&frame[ethernet::HEADER_LEN..], FRAME_LEN - ND_OFFSET) {
        return XDP_PASS;
    }
    let Some(asker_mac) = solicit.source_mac else {
        return XDP_PASS;
    };
    if asker.is_unspecified() {
        return XDP_PASS;
    }
    let key = VipKey::new(ifindex, Family::Ipv6, solicit.target.octets());
    let Some(vip) = VIPS.get_ptr(key) else {
        return XDP_PASS;
    };
    // SAFETY: VIPS values are plain data written whole by userspace.
    let vip = unsafe { *vip };
    if vip.active == 0 {
        return XDP_PASS;
    }
    let advert = NeighborAdvert {
        source_mac: vip.mac,
        destination_mac: asker_mac,
        source: solicit.target,
        destination: asker,
        target: solicit.target,
        flags: icmpv6::FLAG_SOLICITED | icmpv6::FLAG_OVERRIDE,
    };
    if advert.emit_frame(frame).is_err() {
        return XDP_PASS;
    }
    maps::count(Counter::NeighborAdvertsSent);
    XDP_TX
}
