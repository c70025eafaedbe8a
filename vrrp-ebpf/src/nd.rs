//! The neighbour-discovery responder: a solicitation for an active IPv6 virtual address is
//! answered in place with a solicited neighbour advertisement (RFC 4861 section 7.2.4).

use aya_ebpf::bindings::xdp_action::{XDP_PASS, XDP_TX};
use vrrp_common::maps::VipKey;
use vrrp_common::stats::Counter;
use vrrp_common::wire::icmpv6::{self, NeighborAdvert, NeighborSolicit};
use vrrp_common::wire::{Family, ip};

use crate::maps::{self, ND_SCRATCH, VIPS};
use crate::packet::{Frame, L3_OFFSET};

/// The advertisement that answers: headers, the message and our target link-layer option.
const ANSWER_LEN: usize = NeighborAdvert::FRAME_LEN;

/// Answers a valid solicitation for an active VIP; passes everything else to the kernel, which
/// judges it as it would without us (and answers what we leave, for an address it holds).
pub fn on_icmpv6(frame: &mut Frame) -> u32 {
    let Some(scratch) = ND_SCRATCH.get_ptr_mut(0) else {
        return XDP_PASS;
    };
    // SAFETY: the per-CPU scratch slot belongs to this program run.
    let scratch = unsafe { &mut *scratch };
    let Some(fixed) = frame.read::<[u8; ip::IPV6_HEADER_LEN]>(L3_OFFSET) else {
        return XDP_PASS;
    };
    // The header's payload length says where the message ends (Ethernet may pad after it).
    let message_len = usize::from(u16::from_be_bytes([fixed[4], fixed[5]]));
    if message_len > icmpv6::MAX_SOLICITATION_LEN {
        return XDP_PASS;
    }
    // Through `opaque`: otherwise LLVM folds the sum into a 16-bit mask whose range the
    // verifier reads as possibly zero, which the load helper refuses.
    let packet_len = vrrp_common::opaque(ip::IPV6_HEADER_LEN + message_len);
    if !frame.load(L3_OFFSET, scratch, packet_len) {
        return XDP_PASS;
    }
    let Some(packet) = scratch.get(..packet_len) else {
        return XDP_PASS;
    };
    let Ok(header) = ip::Ipv6Packet::new_checked(packet) else {
        return XDP_PASS;
    };
    // RFC 4861 section 7.1.1, as the kernel's ndisc_rcv checks it: hop limit 255, a correct
    // ICMPv6 checksum, options well formed (in any order). Anything else is the kernel's to
    // judge (it drops it). The source is unspecified only for DAD, and a DAD probe carries no
    // source link-layer option to answer to.
    if header.hop_limit() != 255 || !icmpv6::verify_checksum(packet, message_len) {
        return XDP_PASS;
    }
    let asker = header.source();
    let Some(message) = packet.get(ip::IPV6_HEADER_LEN..) else {
        return XDP_PASS;
    };
    let Ok(solicit) = NeighborSolicit::parse_bytes(message) else {
        return XDP_PASS;
    };
    let Some(asker_mac) = solicit.source_mac else {
        return XDP_PASS;
    };
    if asker.is_unspecified() {
        return XDP_PASS;
    }
    let key = VipKey::new(
        frame.ingress_ifindex(),
        Family::Ipv6,
        solicit.target.octets(),
    );
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
    // The answer is rewritten in place over the request, which is at least as long (it carries
    // the source option, and perhaps others and padding): cut it to the answer's length first.
    if !frame.truncate(ANSWER_LEN) {
        return XDP_PASS;
    }
    let Some(bytes) = frame.head_mut::<ANSWER_LEN>() else {
        return XDP_PASS;
    };
    if advert.emit_frame(bytes).is_err() {
        return XDP_PASS;
    }
    maps::count(Counter::NeighborAdvertsSent);
    XDP_TX
}
