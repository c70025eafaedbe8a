//! The maps shared with userspace (types in `vrrp_common::maps`).

use aya_ebpf::macros::map;
use aya_ebpf::maps::{Array, HashMap, PerCpuArray, PerCpuHashMap, RingBuf};
use vrrp_common::maps::{
    EVENTS_BYTES, Event, InstanceConfig, InstanceKey, LIVENESS_FLAGS, Liveness, MAX_INSTANCES,
    MAX_PEERS, MAX_VIPS, PeerKey, PeerTtl, VipKey, VipValue,
};
use vrrp_common::stats::{Counter, ReceiveErrors};

#[map]
pub static CONFIG: HashMap<InstanceKey, InstanceConfig> =
    HashMap::with_max_entries(MAX_INSTANCES, 0);

#[map]
pub static LIVENESS: Array<Liveness> = Array::with_max_entries(MAX_INSTANCES, LIVENESS_FLAGS);

#[map]
pub static PEERS: HashMap<PeerKey, PeerTtl> = HashMap::with_max_entries(MAX_PEERS, 0);

#[map]
pub static VIPS: HashMap<VipKey, VipValue> = HashMap::with_max_entries(MAX_VIPS, 0);

#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(EVENTS_BYTES, 0);

#[map]
pub static STATS: PerCpuArray<u64> = PerCpuArray::with_max_entries(Counter::COUNT as u32, 0);

/// Each instance's receive errors, as keepalived counts them per instance.
#[map]
pub static INSTANCE_ERRORS: PerCpuHashMap<InstanceKey, ReceiveErrors> =
    PerCpuHashMap::with_max_entries(MAX_INSTANCES, 0);

/// Room for an IPv4 header with options, or an IPv6 header with the extension headers VRRP can
/// meet.
pub const IP_HEADER_SCRATCH_LEN: usize = vrrp_common::wire::ip::MAX_IPV6_HEADERS_LEN;
/// Room for the largest VRRP message (1036 bytes) with margin: the verifier bounds some offsets
/// by their bit patterns (a length under 1037 may be any value below 2048 to it), so the buffer
/// covers every offset below 2048 plus the few bytes read past one.
pub const VRRP_SCRATCH_LEN: usize = 2048 + 8;

/// Per-CPU scratch space: the IP header and the VRRP message are copied here so that the shared
/// `&[u8]` parsers can read them (the BPF stack holds only 512 bytes). Each starts at offset 0
/// of its own buffer, so the verifier can bound every access by the buffer's size.
#[map]
pub static IP_HEADER_SCRATCH: PerCpuArray<[u8; IP_HEADER_SCRATCH_LEN]> =
    PerCpuArray::with_max_entries(1, 0);

#[map]
pub static VRRP_SCRATCH: PerCpuArray<[u8; VRRP_SCRATCH_LEN]> = PerCpuArray::with_max_entries(1, 0);

/// Room for an IPv6 header and the longest solicitation the ND responder reads (128 bytes),
/// with the same margin as VRRP_SCRATCH: every offset below the next power of two, plus a few.
pub const ND_SCRATCH_LEN: usize = 256 + 8;

/// Per-CPU copy of a neighbour solicitation (header and message), read by the shared parsers.
#[map]
pub static ND_SCRATCH: PerCpuArray<[u8; ND_SCRATCH_LEN]> = PerCpuArray::with_max_entries(1, 0);

/// Per-CPU room for a run's working copy of a LIVENESS entry (too big for the BPF stack next to
/// the parsers' frames).
#[map]
pub static LIVENESS_SCRATCH: PerCpuArray<Liveness> = PerCpuArray::with_max_entries(1, 0);

#[inline(always)]
pub fn count(counter: Counter) {
    if let Some(slot) = STATS.get_ptr_mut(counter as u32) {
        // SAFETY: a per-CPU slot, touched only by this CPU while the program runs.
        unsafe { *slot += 1 };
    }
}

/// Counts `counter` against the instance it was for, if keepalived counts it per instance.
/// Userspace creates the entry with the instance; without it nothing is counted.
#[inline(always)]
pub fn count_for_instance(key: &InstanceKey, counter: Counter) {
    if let Some(errors) = INSTANCE_ERRORS.get_ptr_mut(key) {
        // SAFETY: this CPU's value, touched only by this CPU while the program runs.
        unsafe { (*errors).count(counter) };
    }
}

/// Writes an EVENTS record, counting a full ring buffer as a lost event.
#[inline(always)]
pub fn emit(event: &Event) {
    match EVENTS.output::<Event>(event, 0) {
        Ok(()) => count(Counter::EventsSent),
        Err(_) => count(Counter::EventsLost),
    }
}
