//! VRRP adverts over IPv4 and IPv6: validate, update LIVENESS, wake userspace on change.

use aya_ebpf::bindings::xdp_action::{XDP_DROP, XDP_PASS};
use aya_ebpf::helpers::generated::bpf_ktime_get_ns;
use vrrp_common::maps::{
    Event, EventKind, InstanceConfig, InstanceKey, Liveness, PeerKey, PeerTtl,
};
use vrrp_common::rules;
use vrrp_common::stats::Counter;
use vrrp_common::wire::checksum::IPPROTO_VRRP;
use vrrp_common::wire::icmpv6::NEXT_HEADER_ICMPV6;
use vrrp_common::wire::ip::{self, IpMeta};
use vrrp_common::wire::vrrp;
use vrrp_common::wire::{Family, RawAddress};

use crate::maps::{
    self, CONFIG, IP_HEADER_SCRATCH, IP_HEADER_SCRATCH_LEN, LIVENESS, LIVENESS_SCRATCH, PEERS,
    VRRP_SCRATCH,
};
use crate::packet::{Frame, L3_OFFSET};

/// IPv6 next-header values that may precede VRRP (hop-by-hop, routing, fragment, destination
/// options).
const IPV6_EXTENSIONS: [u8; 4] = [0, 43, 44, 60];

pub fn on_ipv4(frame: &Frame) -> u32 {
    let Some(header) = frame.read::<[u8; ip::IPV4_MIN_HEADER_LEN]>(L3_OFFSET) else {
        return XDP_PASS;
    };
    if header[9] != IPPROTO_VRRP {
        return XDP_PASS;
    }
    let total_len = u16::from_be_bytes([header[2], header[3]]);
    on_vrrp(frame, Family::Ipv4, usize::from(total_len))
}

pub fn on_ipv6(frame: &mut Frame) -> u32 {
    let Some(header) = frame.read::<[u8; ip::IPV6_HEADER_LEN]>(L3_OFFSET) else {
        return XDP_PASS;
    };
    let next = header[6];
    if next == NEXT_HEADER_ICMPV6 {
        return crate::nd::on_icmpv6(frame);
    }
    if next != IPPROTO_VRRP && !IPV6_EXTENSIONS.contains(&next) {
        return XDP_PASS;
    }
    let payload_len = u16::from_be_bytes([header[4], header[5]]);
    on_vrrp(
        frame,
        Family::Ipv6,
        ip::IPV6_HEADER_LEN + usize::from(payload_len),
    )
}

fn is_auth_failure(counter: Counter) -> bool {
    matches!(
        counter,
        Counter::DropAuthFailure | Counter::DropAuthTypeMismatch
    )
}

fn drop(counter: Counter) -> u32 {
    maps::count(counter);
    XDP_DROP
}

/// The IP packet (header and VRRP message, `ip_len` bytes by its own header) of a frame that
/// looks like VRRP.
#[inline(always)]
fn on_vrrp(frame: &Frame, family: Family, ip_len: usize) -> u32 {
    let (Some(header), Some(message)) = (
        IP_HEADER_SCRATCH.get_ptr_mut(0),
        VRRP_SCRATCH.get_ptr_mut(0),
    ) else {
        return XDP_PASS;
    };
    // SAFETY: the per-CPU scratch slots belong to this program run.
    let (header, message) = unsafe { (&mut *header, &mut *message) };
    let available = frame.len().saturating_sub(L3_OFFSET);
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
    if !frame.load(L3_OFFSET, header, header_len) {
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
        Err(ip::Error::Fragment) => return drop(Counter::DropFragment),
        Err(ip::Error::BadChecksum) => return drop(Counter::DropBadIpChecksum),
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
    if !frame.load(L3_OFFSET + meta.payload_offset, message, length) {
        return drop(Counter::DropTruncated);
    }
    let Some(payload) = message.get(..length) else {
        return drop(Counter::DropTruncated);
    };
    on_advert(frame.ingress_ifindex(), &meta, payload)
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
    let Some((key, config)) = reception.instance else {
        let counter = reception.verdict.err().unwrap_or(Counter::DropUnknownVrid);
        if !counter.is_drop() {
            // Not for us (see rules::receive_advert): the kernel stack decides.
            maps::count(counter);
            return XDP_PASS;
        }
        return drop(counter);
    };
    if reception.old_checksum {
        // Userspace switches the instance to the peer's old unicast checksum; the adverts that
        // follow carry it and pass.
        // SAFETY: reading the monotonic clock has no preconditions.
        let now = unsafe { bpf_ktime_get_ns() };
        wake(
            &key,
            EventKind::OldUnicastChecksum,
            &meta.source,
            reception.priority,
            reception.interval_cs,
            now,
        );
        return drop(Counter::DropBadChecksum);
    }
    if let Err(counter) = reception.verdict {
        maps::count_for_instance(&key, counter);
        // Only a valid advert or an authentication failure (which may wake userspace) touches
        // LIVENESS; every other drop leaves it as other CPUs wrote it.
        if !is_auth_failure(counter) {
            return drop(counter);
        }
    }
    let (Some(slot), Some(copy)) = (LivenessSlot::of(config), LIVENESS_SCRATCH.get_ptr_mut(0))
    else {
        return XDP_PASS;
    };
    // SAFETY: the per-CPU scratch slot belongs to this program run (XDP runs neither migrate nor
    // nest on a CPU), and this is the run's only reference to it.
    let live = unsafe { &mut *copy };
    slot.load_into(live);
    // SAFETY: reading the monotonic clock has no preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    let verdict = act_on_advert(&key, config, live, &meta.source, &reception, now);
    slot.store(live);
    verdict
}

/// What a checked advert means: wake-ups, counters, and whether the kernel stack sees it.
/// `live` is this run's copy of the instance's LIVENESS entry.
#[inline(always)]
fn act_on_advert(
    key: &InstanceKey,
    config: &InstanceConfig,
    live: &mut Liveness,
    source: &RawAddress,
    reception: &rules::Reception,
    now: u64,
) -> u32 {
    let advert = match reception.verdict {
        Ok(advert) => advert,
        Err(counter) => {
            if is_auth_failure(counter) && rules::auth_failure_wakes(live, now) {
                // keepalived's vrrpTrapAuthErrorType tells the two apart.
                let kind = if counter == Counter::DropAuthTypeMismatch {
                    EventKind::AuthTypeMismatch
                } else {
                    EventKind::AuthFailure
                };
                wake(
                    key,
                    kind,
                    source,
                    reception.priority,
                    reception.interval_cs,
                    now,
                );
            }
            return drop(counter);
        }
    };
    maps::count(Counter::AdvertsValid);
    if rules::note_address_list(live, reception) {
        maps::count(Counter::AddressListMismatch);
        maps::count_for_instance(key, Counter::AddressListMismatch);
    }
    let observation = rules::observe_advert(config, live, &advert, now);
    if let Some(kind) = observation.wake {
        wake(
            key,
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

/// An instance's LIVENESS entry. The program may run on several CPUs at once for the same
/// instance, and userspace reads the entry meanwhile, so no Rust reference to it is ever made:
/// a run reads the entry whole into a copy, the rules work on the copy, and the copy is written
/// back whole. Two runs that overlap can lose one's update (the last writer wins); the rules
/// tolerate that, as every field is a latest timestamp, value or count.
struct LivenessSlot(*mut Liveness);

impl LivenessSlot {
    /// The instance's record: the slot its CONFIG entry names.
    #[inline(always)]
    fn of(config: &InstanceConfig) -> Option<LivenessSlot> {
        LIVENESS.get_ptr_mut(config.liveness_slot).map(LivenessSlot)
    }

    /// Copies the entry into this run's working copy.
    #[inline(always)]
    fn load_into(&self, live: &mut Liveness) {
        // SAFETY: a map value pointer stays valid for the program run and never overlaps the
        // per-CPU copy; the bytes are copied, never borrowed (see the type's comment).
        unsafe { core::ptr::copy_nonoverlapping(self.0, live, 1) }
    }

    /// Writes the working copy back whole.
    #[inline(always)]
    fn store(&self, live: &Liveness) {
        // SAFETY: as for `load_into`.
        unsafe { core::ptr::copy_nonoverlapping(live, self.0, 1) }
    }
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
