//! Keys and values of the BPF maps, laid out identically for the kernel and the host: `repr(C)`,
//! explicit padding fields (so no byte is uninitialised), sizes asserted at compile time.
//!
//! - `CONFIG`   (hash, [`InstanceKey`] -> [`InstanceConfig`]): written by userspace.
//! - `LIVENESS` (array, [`InstanceConfig::liveness_slot`] -> [`Liveness`], mapped by userspace):
//!   written by the program.
//! - `PEERS`    (hash, [`PeerKey`] -> [`PeerTtl`]): unicast peers allowed to advertise.
//! - `VIPS`     (hash, [`VipKey`] -> [`VipValue`]): addresses the ARP/ND responder answers.
//! - `EVENTS`   (ring buffer of [`Event`]): what changed, when it changed.
//! - `STATS`    (per-CPU array of u64, indexed by [`crate::stats::Counter`]).
//! - `INSTANCE_ERRORS` (per-CPU hash, [`InstanceKey`] -> [`crate::stats::ReceiveErrors`]):
//!   entries created by userspace, counted by the program.

use crate::wire::{Family, RawAddress};

pub const MAX_INSTANCES: u32 = 1024;
pub const MAX_PEERS: u32 = 4096;
pub const MAX_VIPS: u32 = 16384;
pub const EVENTS_BYTES: u32 = 256 * 1024;

/// The VRRP state as userspace last wrote it (the program's decisions depend on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum State {
    Initialize = 0,
    Backup = 1,
    Master = 2,
    Fault = 3,
}

impl State {
    pub const fn from_u8(value: u8) -> State {
        match value {
            1 => State::Backup,
            2 => State::Master,
            3 => State::Fault,
            _ => State::Initialize,
        }
    }

    /// keepalived's wording in logs ("Entering MASTER STATE").
    pub const fn keepalived_name(self) -> &'static str {
        match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }
}

/// A virtual router as the datapath sees it: VRRP instances are independent per interface and
/// per address family (RFC 5798 section 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(C)]
pub struct InstanceKey {
    pub ifindex: u32,
    pub vrid: u8,
    /// [`Family`] as u8 (4 or 6).
    pub family: u8,
    pub _pad: [u8; 2],
}

impl InstanceKey {
    pub const fn new(ifindex: u32, family: Family, vrid: u8) -> InstanceKey {
        InstanceKey {
            ifindex,
            vrid,
            family: family as u8,
            _pad: [0; 2],
        }
    }
}

/// Bits of [`InstanceConfig::flags`].
pub mod flags {
    /// Preemption on (keepalived's default; `nopreempt` clears it).
    pub const PREEMPT: u8 = 1 << 0;
    /// Compare the advert's address list with ours (cleared by `skip_check_adv_addr`).
    pub const CHECK_ADDRESSES: u8 = 1 << 1;
    /// v3 over IPv4 checksummed without the pseudo-header (`v3_checksum_as_v2`).
    pub const V3_CHECKSUM_AS_V2: u8 = 1 << 2;
    /// Unicast peers configured: the multicast TTL of 255 does not apply (adverts may be
    /// routed).
    pub const UNICAST: u8 = 1 << 3;
    /// With [`UNICAST`]: sources must be in PEERS, and their TTL within the peer's
    /// `min_ttl`..`max_ttl` (keepalived's `check_unicast_src`; without it any source is
    /// accepted, as keepalived accepts it).
    pub const CHECK_UNICAST_SRC: u8 = 1 << 4;
    /// v3 over IPv4 to unicast peers checksummed as keepalived before 1.3.6 did: with the
    /// multicast group 224.0.0.18 as the pseudo-header's destination (`old_unicast_checksum`,
    /// or seen from a peer).
    pub const OLD_UNICAST_CHECKSUM: u8 = 1 << 5;
    /// `old_unicast_checksum never`: an advert with the old checksum is a bad checksum.
    pub const NEVER_OLD_UNICAST_CHECKSUM: u8 = 1 << 6;
}

/// What the program needs to know about one of our instances; written by userspace on start,
/// on every transition and on every priority change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(C)]
pub struct InstanceConfig {
    /// The address our adverts come from: adverts bearing it are not from a peer, and it breaks
    /// priority ties (RFC 5798 section 6.4.3).
    pub source: RawAddress,
    /// The multicast group our adverts go to and the peers' come to (all zero for a unicast
    /// instance): with `source`, the destinations an advert for us can have.
    pub group: RawAddress,
    /// v2 simple-text password, zero-padded.
    pub auth_data: [u8; 8],
    /// [`crate::rules::address_digest`] of our virtual addresses.
    pub address_digest: u64,
    /// keepalived's `preempt_delay`, 0 for none.
    pub preempt_delay_ns: u64,
    /// Our advertisement interval.
    pub interval_cs: u16,
    /// Effective priority (base + tracking weights).
    pub priority: u8,
    /// [`State`] as u8.
    pub state: u8,
    /// 2 or 3.
    pub version: u8,
    /// v2 auth type (0 none, 1 simple text).
    pub auth_type: u8,
    /// How many virtual addresses we advertise.
    pub address_count: u8,
    /// [`flags`] bits.
    pub flags: u8,
    /// The instance's record in LIVENESS, given by userspace (see [`LIVENESS_FLAGS`]).
    pub liveness_slot: u32,
    pub _pad: [u8; 4],
}

/// LIVENESS is an array that userspace maps into its memory (BPF_F_MMAPABLE, Linux 5.5): a
/// backup with a thousand instances reads every record before its deadlines without a system
/// call (issue 20, target 5: the backup's CPU). Each instance has a slot of it, named in its
/// CONFIG entry.
pub const LIVENESS_FLAGS: u32 = 1 << 10;

/// What the program has seen of the current master of one virtual router.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Liveness {
    /// When the last advert that resets the Master_Down_Timer arrived (0: never).
    pub last_reset_ns: u64,
    /// When the last valid advert of any kind arrived.
    pub last_advert_ns: u64,
    /// preempt_delay: when a lower-priority master was first heard (0: not now).
    pub lower_priority_since_ns: u64,
    /// When the last EVENTS record for this instance was written.
    pub last_event_ns: u64,
    /// When the last advert was passed to the kernel stack.
    pub last_pass_ns: u64,
    /// When the last authentication-failure record was written.
    pub last_auth_event_ns: u64,
    /// Valid adverts seen for this instance.
    pub adverts: u64,
    /// Of those, the ones whose address list differs from ours (processed all the same; see
    /// `rules::address_list_matches`).
    pub address_list_mismatches: u64,
    /// Source of the advert that last reset the timer.
    pub master: RawAddress,
    /// Its advertisement interval (v3: Master_Adver_Interval).
    pub master_interval_cs: u16,
    pub master_priority: u8,
    /// 1 when the last reset was a priority-0 advert: the timer runs for Skew_Time only.
    pub resigned: u8,
    /// 1 when a change was seen but its record deferred by the rate limit.
    pub event_pending: u8,
    /// How many addresses the last advert with a differing list carried.
    pub mismatched_address_count: u8,
    pub _pad: [u8; 2],
}

/// Why the program woke userspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EventKind {
    /// Backup: a different router is now master.
    NewMaster = 1,
    /// Backup: the master advertises another priority.
    MasterPriorityChanged = 2,
    /// Backup (v3): the master advertises another interval.
    MasterIntervalChanged = 3,
    /// Backup: the master sent priority 0; take over after Skew_Time.
    MasterResigned = 4,
    /// Master: a router with higher priority (or equal and higher address) advertises.
    HigherPriorityWhileMaster = 5,
    /// Master: a lower-priority router advertises; re-advertise at once.
    LowerPriorityWhileMaster = 6,
    /// Master: another router sent priority 0; re-advertise at once.
    ResignWhileMaster = 7,
    /// Backup: preempt_delay started (a lower-priority master was first heard).
    PreemptDelayStarted = 8,
    /// The first authentication failure in a window.
    AuthFailure = 9,
    /// A change whose record the rate limit had deferred.
    Deferred = 10,
    /// A unicast advert carried keepalived's old VRRPv3 checksum (see
    /// [`flags::OLD_UNICAST_CHECKSUM`]); ours must follow.
    OldUnicastChecksum = 11,
    /// As AuthFailure, for an advert with another authentication type.
    AuthTypeMismatch = 12,
}

impl EventKind {
    pub const fn from_u8(value: u8) -> Option<EventKind> {
        Some(match value {
            1 => EventKind::NewMaster,
            2 => EventKind::MasterPriorityChanged,
            3 => EventKind::MasterIntervalChanged,
            4 => EventKind::MasterResigned,
            5 => EventKind::HigherPriorityWhileMaster,
            6 => EventKind::LowerPriorityWhileMaster,
            7 => EventKind::ResignWhileMaster,
            8 => EventKind::PreemptDelayStarted,
            9 => EventKind::AuthFailure,
            10 => EventKind::Deferred,
            11 => EventKind::OldUnicastChecksum,
            12 => EventKind::AuthTypeMismatch,
            _ => return None,
        })
    }
}

/// One EVENTS record: the advert that changed the picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Event {
    /// Arrival time (CLOCK_MONOTONIC ns).
    pub timestamp_ns: u64,
    pub key: InstanceKey,
    pub source: RawAddress,
    /// [`EventKind`] as u8.
    pub kind: u8,
    pub priority: u8,
    pub interval_cs: u16,
    pub _pad: [u8; 4],
}

/// A unicast peer allowed to advertise for an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(C)]
pub struct PeerKey {
    pub instance: InstanceKey,
    pub address: RawAddress,
}

/// The TTLs a unicast peer's adverts may arrive with (`unicast_peer { IP min_ttl N max_ttl M }`;
/// keepalived's defaults 0 and 255 accept any).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct PeerTtl {
    pub min: u8,
    pub max: u8,
}

impl PeerTtl {
    pub const ANY: PeerTtl = PeerTtl { min: 0, max: 255 };

    #[inline(always)]
    pub const fn allows(&self, ttl: u8) -> bool {
        ttl >= self.min && ttl <= self.max
    }
}

/// A virtual address on an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(C)]
pub struct VipKey {
    pub ifindex: u32,
    pub family: u8,
    pub _pad: [u8; 3],
    pub address: RawAddress,
}

impl VipKey {
    pub const fn new(ifindex: u32, family: Family, address: RawAddress) -> VipKey {
        VipKey {
            ifindex,
            family: family as u8,
            _pad: [0; 3],
            address,
        }
    }
}

/// How the responder answers for a virtual address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(C)]
pub struct VipValue {
    /// The MAC to answer with: the interface's, or the virtual MAC under `use_vmac`.
    pub mac: [u8; 6],
    /// 1 while we are master and the address is installed.
    pub active: u8,
    pub vrid: u8,
}

const _: () = assert!(core::mem::size_of::<InstanceKey>() == 8);
const _: () = assert!(core::mem::size_of::<InstanceConfig>() == 72);
const _: () = assert!(core::mem::size_of::<Liveness>() == 88);
const _: () = assert!(core::mem::size_of::<Event>() == 40);
const _: () = assert!(core::mem::size_of::<PeerKey>() == 24);
const _: () = assert!(core::mem::size_of::<VipKey>() == 24);
const _: () = assert!(core::mem::size_of::<VipValue>() == 8);
const _: () = assert!(
    core::mem::size_of::<crate::stats::ReceiveErrors>() == 8 * crate::stats::ReceiveError::COUNT
);

#[cfg(feature = "user")]
mod pod {
    use super::*;
    // SAFETY: all are repr(C), Copy, made of integers and byte arrays, with every padding byte
    // an explicit field (the size asserts above would fail otherwise).
    unsafe impl aya::Pod for InstanceKey {}
    unsafe impl aya::Pod for InstanceConfig {}
    unsafe impl aya::Pod for Liveness {}
    unsafe impl aya::Pod for Event {}
    unsafe impl aya::Pod for PeerKey {}
    unsafe impl aya::Pod for PeerTtl {}
    unsafe impl aya::Pod for VipKey {}
    unsafe impl aya::Pod for VipValue {}
    unsafe impl aya::Pod for crate::stats::ReceiveErrors {}
}
