//! VRRP adverts over IPv4 and IPv6: validate, update LIVENESS, wake userspace on change.

use aya_ebpf::bindings::xdp_action::{XDP_DROP, XDP_PASS};
use aya_ebpf::helpers::generated::bpf_ktime_get_ns;
use aya_ebpf::programs::XdpContext;
use vrrp_common::maps::{Event, EventKind, InstanceKey, Liveness, PeerKey, PeerTtl};
use vrrp_common::rules;
use vrrp_common::stats::Counter;
use vrrp_common::wire::checksum::IPPROTO_VRRP;
use vrrp_common::wire::icmpv6::NEXT_HEADER_ICMPV6;
use vrrp_common::wire::ip::{self, IpMeta};
use vrrp_common::wire::vrrp;
use vrrp_common::wire::{Family, RawAddress};

use crate::maps::{
    self, CONFIG, IP_HEADER_SCRATCH, IP_HEADER_SCRATCH_LEN, LIVENESS, PEERS, VRRP_SCRATCH,
};
use crate::packet::{self, L3_OFFSET, ptr_at};

/// IPv6 next-header values that may precede VRRP (hop-by-hop, routing, fragment, destination
/// options).
const IPV6_EXTENSIONS: [u8; 4] = [0, 43, 44, 60];

pub fn on_ipv4(ctx: &XdpContext) -> u32 {
    let Some(header) = ptr_at::<[u8; ip::IPV4_MIN_HEADER_LEN]>(ctx, L3_OFFSET) else {
        return XDP_PASS;
    };
    // SAFETY: ptr_at checked the header lies inside the frame.
    let (protocol, total_len) = unsafe {
        (
            (*header)[9],
            u16::from_be_bytes([(*header)[2], (*header)[3]]),
        )
    };
    if protocol != IPPROTO_VRRP {
        return XDP_PASS;
    }
    on_vrrp(ctx, Family::Ipv4, usize::from(total_len))
}

pub fn on_ipv6(ctx: &XdpContext) -> u32 {
    let Some(header) = ptr_at::<[u8; ip::IPV6_HEADER_LEN]>(ctx, L3_OFFSET) else {
        return XDP_PASS;
    };
    // SAFETY: ptr_at checked the header lies inside the frame.
    let (next, payload_len) = unsafe {
        (
            (*header)[6],
            u16::from_be_bytes([(*header)[4], (*header)[5]]),
        )
    };
    if next == NEXT_HEADER_ICMPV6 {
        return crate::nd::on_icmpv6(ctx);
    }
    if next != IPPROTO_VRRP && !IPV6_EXTENSIONS.contains(&next) {
        return XDP_PASS;
    }
    on_vrrp(
        ctx,
        Family::Ipv6,
        ip::IPV6_HEADER_LEN + usize::from(payload_len),
    )
}

fn drop(counter: Counter) -> u32 {
    maps::count(counter);
    XDP_DROP
}

/// The IP packet (header and VRRP message, `ip_len` bytes by its own header) of a frame that
/// looks like VRRP.
#[inline(always)]
fn on_vrrp(ctx: &XdpContext, family: Family, ip_len: usize) -> u32 {
    let (Some(header), Some(message)) = (
        IP_HEADER_SCRATCH.get_ptr_mut(0),
        VRRP_SCRATCH.get_ptr_mut(0),
    ) else {
        return XDP_PASS;
    };
    // SAFETY: the per-CPU scratch slots belong to this program run.
    let (header, message) = unsafe { (&mut *header, &mut *message) };
    let available = ctx.data_end().saturating_sub(ctx.data() + L3_OFFSET);
    if available < ip_len {
        return drop(Counter::DropTruncated);
    }
    let header_len = if available < IP_HEADER_SCRATCH_LEN {
        available
    } else {
        IP_HEADER_SCRATCH_LEN
    };
    if header_len < ip::IPV4_MIN_HEADER_LEN {
        return drop(Counter::DropTruncated);
    }
    if !packet::load(ctx, L3_OFFSET, header, header_len) {
        return drop(Counter::DropTruncated);
    }
    // The whole scratch array goes to the parser, not a slice of `header_len`: its constant
    // length is what lets the verifier bound the parser's reads.
    let parsed = match family {
        Family::Ipv4 => ip::parse_ipv4_header(&header[..], available),
        Family::Ipv6 => ip::parse_ipv6_header(&header[..], available),
    };
    let meta = match parsed {
        Ok(meta) => meta,
        Err(ip::Error::Truncated) => return drop(Counter::DropTruncated),
        Err(ip::Error::UnsupportedExtension) => return drop(Counter::DropUnsupported),
        Err(_) => return drop(Counter::DropBadIpHeader),
    };
    if meta.protocol != IPPROTO_VRRP {
        return XDP_PASS;
    }
    let length = meta.payload_len;
    if length > vrrp::MAX_LEN {
        return drop(Counter::DropLengthMismatch);
    }
    if length < vrrp::HEADER_LEN {
        return drop(Counter::DropTruncated);
    }
    if !packet::load(ctx, L3_OFFSET + meta.payload_offset, message, length) {
        return drop(Counter::DropTruncated);
    }
    let Some(payload) = message.get(..length) else {
        return drop(Counter::DropTruncated);
    };
    let ifindex = ctx.ingress_ifindex() as u32;
    on_advert(ifindex, &meta, payload)
}

#[inline(always)]
fn on_advert(ifindex: u32, meta: &IpMeta, payload: &[u8]) -> u32 {
    // SAFETY: CONFIG values are plain data written whole by userspace.
    let reception = rules::receive_advert(
        ifindex,
        meta,
        payload,
        |key| unsafe { CONFIG.get(key) },
        peer_ttl,
    );
    let Some(key) = reception.key else {
        return drop(reception.verdict.err().unwrap_or(Counter::DropUnknownVrid));
    };
    // SAFETY: as above; the entry existed a moment ago and userspace never deletes a live one.
    let Some(config) = (unsafe { CONFIG.get(key) }) else {
        return XDP_PASS;
    };
    let Some(live) = liveness(&key) else {
        return XDP_PASS;
    };
    // SAFETY: reading the monotonic clock has no preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    let advert = match reception.verdict {
        Ok(advert) => advert,
        Err(counter) => {
            let auth = matches!(
                counter,
                Counter::DropAuthFailure | Counter::DropAuthTypeMismatch
            );
            if auth && rules::auth_failure_wakes(live, now) {
                wake(
                    &key,
                    EventKind::AuthFailure,
                    &meta.source,
                    reception.priority,
                    reception.interval_cs,
                    now,
                );
            }
            return drop(counter);
        }
    };
    maps::count(Counter::AdvertsValid);
    let observation = rules::observe_advert(config, live, &advert, now);
    if let Some(kind) = observation.wake {
        wake(
            &key,
            kind,
            &advert.source,
            advert.priority,
            advert.interval_cs,
            now,
        );
    } else if live.event_pending != 0 {
        maps::count(Counter::EventsDeferred);
    }
    if rules::pass_to_stack(config, live, now) {
        maps::count(Counter::AdvertsPassed);
        XDP_PASS
    } else {
        maps::count(Counter::AdvertsOverPassBudget);
        XDP_DROP
    }
}

/// The instance's LIVENESS entry, created on first use (userspace normally creates it).
#[inline(always)]
fn liveness(key: &InstanceKey) -> Option<&'static mut Liveness> {
    if LIVENESS.get_ptr_mut(key).is_none() {
        let _ = LIVENESS.insert(key, Liveness::default(), 0);
    }
    // SAFETY: hash map values are stable while the program runs; concurrent writers on other
    // CPUs can at worst interleave field updates, which the rules tolerate.
    LIVENESS
        .get_ptr_mut(key)
        .map(|entry| unsafe { &mut *entry })
}

fn peer_ttl(key: &InstanceKey, source: &RawAddress) -> Option<PeerTtl> {
    let peer = PeerKey {
        instance: *key,
        address: *source,
    };
    // SAFETY: PEERS values are plain data written whole by userspace.
    unsafe { PEERS.get(peer) }.copied()
}

#[inline(always)]
fn wake(
    key: &InstanceKey,
    kind: EventKind,
    source: &RawAddress,
    priority: u8,
    interval_cs: u16,
    now: u64,
) {
    maps::emit(&Event {
        timestamp_ns: now,
        key: *key,
        source: *source,
        kind: kind as u8,
        priority,
        interval_cs,
        _pad: [0; 4],
    });
}
