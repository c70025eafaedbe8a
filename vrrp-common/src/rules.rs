//! The protocol's decision rules, as pure functions shared by the XDP program, socket mode and
//! the state machine, so that all three decide identically:
//!
//! - [`classify_frame_error`] / [`check_advert`]: is this advert valid for this instance
//!   (RFC 5798 section 7.1, with keepalived's extra checks), and if not, why.
//! - [`observe_advert`]: does it reset the Master_Down_Timer (RFC 5798 sections 6.4.2 and
//!   6.4.3), and does userspace need to hear about it.
//! - [`master_down_deadline_ns`]: when the backup takes over, given what was observed.

use crate::maps::{EventKind, InstanceConfig, InstanceKey, Liveness, PeerTtl, State, flags};
use crate::stats::Counter;
use crate::time::{interval_ns, master_down_interval_after_ns, skew_time_ns};
use crate::wire::ah;
use crate::wire::checksum::PseudoHeader;
use crate::wire::ip::{IpMeta, VRRP_TTL};
use crate::wire::vrrp::{self, Auth, Packet, Version};
use crate::wire::{Family, RawAddress};

/// What the checksum of an advert received with `ip` covers: v2 over IPv4 the message alone;
/// v3 over IPv4 the IPv4 pseudo-header too (unless `v3_checksum_as_v2`); over IPv6 always the
/// IPv6 pseudo-header (keepalived has the kernel compute it, for v2 as well).
#[inline(always)]
pub fn pseudo_header(version: Version, ip: &IpMeta, style: V3Checksum) -> PseudoHeader {
    match (ip.family, version, style) {
        (Family::Ipv6, _, _) => PseudoHeader::Ipv6 {
            source: ip.source,
            destination: ip.destination,
        },
        (Family::Ipv4, Version::V3, V3Checksum::Standard | V3Checksum::OldUnicast) => {
            let destination = if style == V3Checksum::OldUnicast {
                OLD_UNICAST_CHECKSUM_GROUP
            } else {
                [
                    ip.destination[0],
                    ip.destination[1],
                    ip.destination[2],
                    ip.destination[3],
                ]
            };
            PseudoHeader::Ipv4 {
                source: [ip.source[0], ip.source[1], ip.source[2], ip.source[3]],
                destination,
            }
        }
        (Family::Ipv4, _, _) => PseudoHeader::None,
    }
}

/// How a VRRPv3 message over IPv4 is checksummed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V3Checksum {
    /// RFC 5798 section 5.2.8: with the IPv4 pseudo-header.
    Standard,
    /// keepalived's `v3_checksum_as_v2`: without a pseudo-header.
    AsV2,
    /// keepalived's `old_unicast_checksum` (its checksum before 1.3.6): the pseudo-header's
    /// destination is the multicast group, whatever the advert's destination.
    OldUnicast,
}

impl V3Checksum {
    /// The style an instance's flags ask for.
    #[inline(always)]
    pub fn of(config_flags: u8) -> V3Checksum {
        if config_flags & flags::V3_CHECKSUM_AS_V2 != 0 {
            V3Checksum::AsV2
        } else if config_flags & flags::OLD_UNICAST_CHECKSUM != 0 {
            V3Checksum::OldUnicast
        } else {
            V3Checksum::Standard
        }
    }
}

/// The group keepalived's old unicast checksum puts in the pseudo-header (its default
/// `vrrp_mcast_group4`).
pub const OLD_UNICAST_CHECKSUM_GROUP: [u8; 4] = [224, 0, 0, 18];

/// The summary of a valid advert that the rules work on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Advert {
    pub source: RawAddress,
    pub priority: u8,
    pub interval_cs: u16,
}

/// The counter a wire-format error is dropped under.
pub const fn classify_frame_error(error: vrrp::Error) -> Counter {
    match error {
        vrrp::Error::Truncated => Counter::DropTruncated,
        vrrp::Error::LengthMismatch | vrrp::Error::BufferSize => Counter::DropLengthMismatch,
        vrrp::Error::BadVersion => Counter::DropBadVersion,
        vrrp::Error::BadType => Counter::DropBadType,
        vrrp::Error::BadChecksum => Counter::DropBadChecksum,
        vrrp::Error::BadAuthType => Counter::DropAuthTypeMismatch,
        vrrp::Error::BadInterval => Counter::DropIntervalMismatch,
    }
}

/// An order-independent digest of an address list, so the program can compare the advert's
/// list with ours in one step whatever the order (keepalived checks each configured address is
/// present and the counts match; equal digests of equal-count lists mean the same).
///
/// Why a digest, not the list, and why a collision cannot matter: the comparison is
/// keepalived's misconfiguration check (two routers of one VRID configured with different
/// addresses), not a defence. Two lists an operator writes collide with probability 2^-64.
/// A sender who crafts a colliding list gains nothing: VRRP's checks are all public, and anyone
/// who can put an advert on the link can copy the real list from the master's adverts and send
/// an advert that passes this check without any collision.
///
/// Reads `count` addresses starting at `offset` of `bytes` (addresses past the end are left
/// out). Indexing from the buffer's start, rather than taking a sub-slice, keeps the pointer the
/// verifier tracks the buffer's own.
#[inline(always)]
pub fn address_digest(family: Family, bytes: &[u8], offset: usize, count: usize) -> u64 {
    // One loop per family, each taking a whole address per step, bounded by the most addresses
    // a VRRP message can carry: no branch inside a step but the loop's exits, which keeps the
    // verifier's work to one pass per step.
    let mut digest: u64 = 0;
    match family {
        Family::Ipv4 => {
            for index in 0..(vrrp::MAX_LEN - vrrp::HEADER_LEN) / 4 {
                if index >= count {
                    break;
                }
                let Some(word) = read_word(bytes, offset + 4 * index) else {
                    break;
                };
                digest = digest.wrapping_add(mix(DIGEST_SEED ^ word));
            }
        }
        Family::Ipv6 => {
            for index in 0..(vrrp::MAX_LEN - vrrp::HEADER_LEN) / 16 {
                if index >= count {
                    break;
                }
                let at = offset + 16 * index;
                let (Some(w0), Some(w1), Some(w2), Some(w3)) = (
                    read_word(bytes, at),
                    read_word(bytes, at + 4),
                    read_word(bytes, at + 8),
                    read_word(bytes, at + 12),
                ) else {
                    break;
                };
                let address = mix(mix(mix(mix(DIGEST_SEED ^ w0) ^ w1) ^ w2) ^ w3);
                digest = digest.wrapping_add(address);
            }
        }
    }
    digest
}

const DIGEST_SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// The big-endian 32-bit word at `at`, if `bytes` holds it.
#[inline(always)]
fn read_word(bytes: &[u8], at: usize) -> Option<u64> {
    let word = bytes.get(at..at + 4)?;
    Some(u64::from(u32::from_be_bytes([
        word[0], word[1], word[2], word[3],
    ])))
}

/// splitmix64's finaliser: a cheap, well-spread 64-bit mix.
#[inline(always)]
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Compares two passwords without an early exit, so the time taken says nothing about how much
/// of a guess was right.
#[inline(always)]
pub fn constant_time_eq(a: &[u8; 8], b: &[u8; 8]) -> bool {
    let mut difference = 0u8;
    for i in 0..8 {
        difference |= a[i] ^ b[i];
    }
    difference == 0
}

/// The receive checks that depend on our configuration (RFC 5798 section 7.1; RFC 3768
/// section 7.1 for v2's authentication and interval), after the wire format was validated.
/// `peer` is the source's TTL range when it is one of our unicast peers (only consulted when the
/// instance has any). The address list is not among them: see [`address_list_matches`].
#[inline(always)]
pub fn check_advert(
    config: &InstanceConfig,
    ip: &IpMeta,
    advert: &Packet<&[u8]>,
    auth: &Auth,
    peer: Option<PeerTtl>,
) -> Result<Advert, Counter> {
    let unicast = config.flags & flags::UNICAST != 0;
    // RFC 5798 section 7.1: multicast adverts arrive with TTL 255. Unicast peers may be routed,
    // so keepalived checks their TTL against the peer's own min_ttl..max_ttl instead (below).
    if !unicast && ip.ttl != VRRP_TTL {
        return Err(Counter::DropBadTtl);
    }
    // keepalived: an Authentication Header exactly when the instance uses AH ("Received AH
    // header but auth type not AH", "No AH header but auth type is AH"). The XDP program only
    // sees protocol 112, so it refuses every advert of an AH instance: those come through
    // userspace's AH socket, which checks the header's ICV before handing the message here.
    if (ip.protocol == ah::IPPROTO_AH) != (config.auth_type == Auth::TYPE_IP_AH) {
        return Err(Counter::DropAuthTypeMismatch);
    }
    let version = advert.version_raw();
    if version != config.version {
        return Err(Counter::DropVersionMismatch);
    }
    let interval_cs = advert.interval_cs();
    if version == Version::V2 as u8 {
        if auth.type_code() != config.auth_type {
            return Err(Counter::DropAuthTypeMismatch);
        }
        if let Auth::SimpleText(data) = auth
            && !constant_time_eq(data, &config.auth_data)
        {
            return Err(Counter::DropAuthFailure);
        }
        // RFC 3768 section 7.1: a v2 advert with another interval is discarded.
        if interval_cs != config.interval_cs {
            return Err(Counter::DropIntervalMismatch);
        }
    }
    if ip.source == config.source {
        return Err(Counter::DropOwnAddress);
    }
    if unicast && config.flags & flags::CHECK_UNICAST_SRC != 0 {
        let Some(ttl_range) = peer else {
            return Err(Counter::DropUnknownPeer);
        };
        if !ttl_range.allows(ip.ttl) {
            return Err(Counter::DropBadTtl);
        }
    }
    Ok(Advert {
        source: ip.source,
        priority: advert.priority(),
        interval_cs,
    })
}

/// Whether an advert carries our address list (always, under `skip_check_adv_addr`).
///
/// RFC 3768 / 5798 section 7.1 say a router MAY drop an advert whose list differs, and
/// keepalived 2.2.7 did. keepalived 2.3.3 and later (vrrp.c, `vrrp_check_packet`) log it
/// ("(VI_1) expected N VIPs but received M"), count it (`addr_list_err`) and then process the
/// advert as usual: dropping it makes a backup whose list is older or newer than its master's
/// take over, and the segment has two masters for as long as a rolling change of the list
/// takes. vrrpd follows current keepalived, and counts such adverts as
/// [`Counter::AddressListMismatch`].
#[inline(always)]
pub fn address_list_matches(config: &InstanceConfig, advert: &Packet<&[u8]>) -> bool {
    if config.flags & flags::CHECK_ADDRESSES == 0 {
        return true;
    }
    advert.address_count() == config.address_count
        && advert_address_digest(advert) == config.address_digest
}

/// Notes in the instance's record a valid advert whose address list differs from ours; returns
/// whether it did (the caller counts [`Counter::AddressListMismatch`]).
#[inline(always)]
pub fn note_address_list(live: &mut Liveness, reception: &Reception) -> bool {
    if !reception.address_list_differs {
        return false;
    }
    live.address_list_mismatches += 1;
    live.mismatched_address_count = reception.address_count;
    true
}

/// The [`address_digest`] of the address list an advert carries.
#[inline(always)]
pub fn advert_address_digest(advert: &Packet<&[u8]>) -> u64 {
    address_digest(
        advert.family(),
        advert.as_bytes(),
        vrrp::HEADER_LEN,
        usize::from(advert.address_count()),
    )
}

/// The outcome of receiving a VRRP message on an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reception<'c> {
    /// The instance it is for, once the VRID was readable and configured, with the configuration
    /// it was checked against: the one lookup whose entry the caller then acts on.
    pub instance: Option<(InstanceKey, &'c InstanceConfig)>,
    /// The advert's priority, interval and address count as sent (for records of rejected
    /// adverts too).
    pub priority: u8,
    pub interval_cs: u16,
    pub address_count: u8,
    /// A valid advert whose address list differs from ours ([`address_list_matches`]): counted
    /// and reported, and processed all the same.
    pub address_list_differs: bool,
    /// Refused for its checksum, which is keepalived's old unicast one (see
    /// [`V3Checksum::OldUnicast`]): the instance should switch to it.
    pub old_checksum: bool,
    pub verdict: Result<Advert, Counter>,
}

/// The whole receive path for one VRRP message, shared by the XDP program and socket mode:
/// length, instance lookup, format (type, checksum, auth type), then [`check_advert`].
/// `config_for` finds our instance for a key; `peer_ttl` gives a source's TTL range when it is
/// one of the instance's unicast peers.
#[inline(always)]
pub fn receive_advert<'c>(
    ifindex: u32,
    meta: &IpMeta,
    payload: &[u8],
    config_for: impl FnOnce(&InstanceKey) -> Option<&'c InstanceConfig>,
    peer_ttl: impl FnOnce(&InstanceKey, &RawAddress) -> Option<PeerTtl>,
) -> Reception<'c> {
    let packet = Packet::new_unchecked(payload, meta.family);
    if let Err(error) = packet.check_len() {
        return Reception {
            instance: None,
            priority: 0,
            interval_cs: 0,
            address_count: 0,
            address_list_differs: false,
            old_checksum: false,
            verdict: Err(classify_frame_error(error)),
        };
    }
    let mut reception = Reception {
        instance: None,
        priority: packet.priority(),
        interval_cs: packet.interval_cs(),
        address_count: packet.address_count(),
        address_list_differs: false,
        old_checksum: false,
        verdict: Err(Counter::DropTruncated),
    };
    let key = InstanceKey::new(ifindex, meta.family, packet.vrid());
    let Some(config) = config_for(&key) else {
        // A multicast advert of a VRID we do not serve is dropped (one VRRP daemon per
        // interface); a unicast one may be another host's, so it is none of our business.
        reception.verdict = Err(if is_multicast(meta) {
            Counter::DropUnknownVrid
        } else {
            Counter::AdvertsNotForUs
        });
        return reception;
    };
    // The kernel delivers to a VRRP socket only what is addressed to a group it joined or to
    // one of the host's addresses: an advert to another group or another host (seen in
    // promiscuous mode) is passed untouched, not validated. The program knows the instance's
    // group and its own address (the primary address, or unicast_src_ip).
    if meta.destination != config.group && meta.destination != config.source {
        reception.verdict = Err(Counter::AdvertsNotForUs);
        return reception;
    }
    reception.instance = Some((key, config));
    let Some(version) = packet.version() else {
        reception.verdict = Err(Counter::DropBadVersion);
        return reception;
    };
    let style = V3Checksum::of(config.flags);
    let pseudo = pseudo_header(version, meta, style);
    let auth = match packet.validate(&pseudo) {
        Ok(auth) => auth,
        Err(error) => {
            // keepalived detects a unicast peer that still sends its old checksum and follows
            // it, unless told `old_unicast_checksum never`. Such an advert is refused like any
            // bad checksum (the check stays off the valid path, which the XDP verifier walks
            // for every advert); the caller switches the instance, and the next one passes.
            let detect = style == V3Checksum::Standard
                && version == Version::V3
                && config.flags & (flags::UNICAST | flags::NEVER_OLD_UNICAST_CHECKSUM)
                    == flags::UNICAST;
            reception.old_checksum = detect
                && error == vrrp::Error::BadChecksum
                && packet.verify_checksum(&pseudo_header(version, meta, V3Checksum::OldUnicast));
            reception.verdict = Err(classify_frame_error(error));
            return reception;
        }
    };
    let checked = flags::UNICAST | flags::CHECK_UNICAST_SRC;
    let peer = if config.flags & checked == checked {
        peer_ttl(&key, &meta.source)
    } else {
        None
    };
    reception.verdict = check_advert(config, meta, &packet, &auth, peer);
    reception.address_list_differs =
        reception.verdict.is_ok() && !address_list_matches(config, &packet);
    reception
}

/// What the election rules need to know of our own instance. The XDP program reads it from the
/// instance's CONFIG entry ([`InstanceConfig`] implements it); the state machine has it first
/// hand and implements it on its own type, so neither builds the other's structures.
pub trait Standing {
    fn state(&self) -> State;
    /// Effective priority (base plus tracking weights).
    fn priority(&self) -> u8;
    /// The address our adverts come from (it breaks priority ties).
    fn source(&self) -> &RawAddress;
    fn version(&self) -> Version;
    /// Our advertisement interval, in centiseconds.
    fn interval_cs(&self) -> u16;
    fn preempt(&self) -> bool;
    /// keepalived's `preempt_delay`, 0 for none.
    fn preempt_delay_ns(&self) -> u64;
    /// Advert intervals in Master_Down_Interval: the RFCs' 3, or keepalived's
    /// `down_timer_adverts` (the XDP program never computes the deadline, so only the state
    /// machine's standing says otherwise).
    fn down_timer_adverts(&self) -> u8 {
        crate::time::RFC_DOWN_TIMER_ADVERTS
    }
}

impl Standing for InstanceConfig {
    #[inline(always)]
    fn state(&self) -> State {
        State::from_u8(self.state)
    }
    #[inline(always)]
    fn priority(&self) -> u8 {
        self.priority
    }
    #[inline(always)]
    fn source(&self) -> &RawAddress {
        &self.source
    }
    #[inline(always)]
    fn version(&self) -> Version {
        Version::from_u8(self.version).unwrap_or(Version::V2)
    }
    #[inline(always)]
    fn interval_cs(&self) -> u16 {
        self.interval_cs
    }
    #[inline(always)]
    fn preempt(&self) -> bool {
        self.flags & flags::PREEMPT != 0
    }
    #[inline(always)]
    fn preempt_delay_ns(&self) -> u64 {
        self.preempt_delay_ns
    }
}

/// An IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast destination.
#[inline(always)]
fn is_multicast(meta: &IpMeta) -> bool {
    match meta.family {
        Family::Ipv4 => meta.destination[0] & 0xf0 == 0xe0,
        Family::Ipv6 => meta.destination[0] == 0xff,
    }
}

/// What one valid advert means for the instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observation {
    /// The advert resets the Master_Down_Timer (LIVENESS was updated accordingly).
    pub resets_timer: bool,
    /// Userspace must hear about it (already rate-limited).
    pub wake: Option<EventKind>,
}

/// Minimum time between two EVENTS records of one instance; changes in between are deferred to
/// the next advert. Bounds userspace wake-ups under any flood to 1000/s per instance.
pub const MIN_EVENT_GAP_NS: u64 = 1_000_000;

/// Applies RFC 5798 sections 6.4.2 (Backup) and 6.4.3 (Master) to a valid advert, updating the
/// instance's [`Liveness`], and says whether userspace must wake.
///
/// Backup: priority 0 sets the timer to Skew_Time. Otherwise, if preemption is off, or the
/// advert's priority is at least ours, the timer is reset (v3: to the advert's interval) —
/// keepalived's `preempt_delay` also keeps lower-priority adverts resetting it until the delay
/// has run since such a master was first heard. A lower-priority advert that preemption lets us
/// ignore does not reset the timer: it runs out and we take over.
///
/// Master: a higher priority (or an equal one from a higher address) means stepping down; a
/// lower one or a priority 0 means advertising at once (RFC 9568 section 6.4.3 and keepalived).
///
/// Only changes wake userspace: a steady master's adverts update the timestamps and nothing else.
#[inline(always)]
pub fn observe_advert(
    config: &impl Standing,
    live: &mut Liveness,
    advert: &Advert,
    now_ns: u64,
) -> Observation {
    live.adverts = live.adverts.wrapping_add(1);
    live.last_advert_ns = now_ns;
    let (resets_timer, change) = match config.state() {
        State::Backup => observe_as_backup(config, live, advert, now_ns),
        State::Master => observe_as_master(config, live, advert, now_ns),
        State::Initialize | State::Fault => (false, None),
    };
    Observation {
        resets_timer,
        wake: rate_limit(live, change, now_ns),
    }
}

#[inline(always)]
fn observe_as_backup(
    config: &impl Standing,
    live: &mut Liveness,
    advert: &Advert,
    now_ns: u64,
) -> (bool, Option<EventKind>) {
    if advert.priority == vrrp::PRIORITY_STOP {
        let change = (live.resigned == 0).then_some(EventKind::MasterResigned);
        live.last_reset_ns = now_ns;
        live.resigned = 1;
        return (true, change);
    }
    let preempt = config.preempt();
    let lower = advert.priority < config.priority();
    let preempt_delay_ns = config.preempt_delay_ns();
    let mut delay_started = false;
    let within_preempt_delay = preempt_delay_ns != 0
        && (live.lower_priority_since_ns == 0
            || now_ns
                < live
                    .lower_priority_since_ns
                    .saturating_add(preempt_delay_ns));
    if preempt && lower && !within_preempt_delay {
        // Lower priority and we may preempt: discard, so the timer runs out.
        return (false, None);
    }
    if preempt_delay_ns != 0 {
        if !lower {
            live.lower_priority_since_ns = 0;
        } else if live.lower_priority_since_ns == 0 {
            live.lower_priority_since_ns = now_ns;
            delay_started = preempt;
        }
    }
    let interval_cs = master_interval_cs(config, advert);
    let change = if live.master != advert.source || live.resigned != 0 || live.last_reset_ns == 0 {
        Some(EventKind::NewMaster)
    } else if live.master_priority != advert.priority {
        Some(EventKind::MasterPriorityChanged)
    } else if live.master_interval_cs != interval_cs {
        Some(EventKind::MasterIntervalChanged)
    } else if delay_started {
        Some(EventKind::PreemptDelayStarted)
    } else {
        None
    };
    live.last_reset_ns = now_ns;
    live.resigned = 0;
    live.master = advert.source;
    live.master_priority = advert.priority;
    live.master_interval_cs = interval_cs;
    (true, change)
}

#[inline(always)]
fn observe_as_master(
    config: &impl Standing,
    live: &mut Liveness,
    advert: &Advert,
    now_ns: u64,
) -> (bool, Option<EventKind>) {
    if advert.priority == vrrp::PRIORITY_STOP {
        return (false, Some(EventKind::ResignWhileMaster));
    }
    if outranks(
        advert.priority,
        &advert.source,
        config.priority(),
        config.source(),
    ) {
        live.last_reset_ns = now_ns;
        live.resigned = 0;
        live.master = advert.source;
        live.master_priority = advert.priority;
        live.master_interval_cs = master_interval_cs(config, advert);
        return (true, Some(EventKind::HigherPriorityWhileMaster));
    }
    (false, Some(EventKind::LowerPriorityWhileMaster))
}

/// The interval a backup times the master by: v3 adopts the master's (RFC 5798 section 6.4.2);
/// v2 keeps ours (an advert with another interval was dropped earlier).
#[inline(always)]
fn master_interval_cs(config: &impl Standing, advert: &Advert) -> u16 {
    match config.version() {
        Version::V3 => advert.interval_cs,
        Version::V2 => config.interval_cs(),
    }
}

/// Whether a router with `(priority, address)` wins the election against ours: higher priority,
/// or equal priority and a higher primary address (RFC 5798 section 6.4.3).
#[inline(always)]
pub fn outranks(
    priority: u8,
    address: &RawAddress,
    our_priority: u8,
    our_address: &RawAddress,
) -> bool {
    priority > our_priority || (priority == our_priority && address > our_address)
}

/// Lets a change through unless the instance had a record less than [`MIN_EVENT_GAP_NS`] ago;
/// a deferred change goes out with the next advert after the gap.
#[inline(always)]
fn rate_limit(live: &mut Liveness, change: Option<EventKind>, now_ns: u64) -> Option<EventKind> {
    let wanted = match change {
        Some(kind) => Some(kind),
        None if live.event_pending != 0 => Some(EventKind::Deferred),
        None => None,
    };
    let kind = wanted?;
    if live.last_event_ns != 0 && now_ns.saturating_sub(live.last_event_ns) < MIN_EVENT_GAP_NS {
        live.event_pending = 1;
        return None;
    }
    live.last_event_ns = now_ns;
    live.event_pending = 0;
    Some(kind)
}

/// Authentication failures are logged once per this window per instance.
pub const AUTH_EVENT_WINDOW_NS: u64 = 1_000_000_000;

/// Whether an authentication failure should wake userspace (the first in its window).
#[inline(always)]
pub fn auth_failure_wakes(live: &mut Liveness, now_ns: u64) -> bool {
    if live.last_auth_event_ns != 0
        && now_ns.saturating_sub(live.last_auth_event_ns) < AUTH_EVENT_WINDOW_NS
    {
        return false;
    }
    live.last_auth_event_ns = now_ns;
    true
}

/// Whether a valid advert may also go up the kernel stack (so that tcpdump shows adverts as
/// operators expect): at most one per quarter of our interval, i.e. every advert of a steady
/// master and a trickle of any flood.
#[inline(always)]
pub fn pass_to_stack(config: &impl Standing, live: &mut Liveness, now_ns: u64) -> bool {
    let gap = interval_ns(config.interval_cs()) / 4;
    if live.last_pass_ns != 0 && now_ns.saturating_sub(live.last_pass_ns) < gap {
        return false;
    }
    live.last_pass_ns = now_ns;
    true
}

/// When a backup's Master_Down_Timer fires, given what was observed: the last reset plus
/// Master_Down_Interval (computed with the master's interval and our priority), or plus
/// Skew_Time when the master resigned. `None` when nothing reset it yet: the caller then uses
/// its own start time.
pub fn master_down_deadline_ns(config: &impl Standing, live: &Liveness) -> Option<u64> {
    if live.last_reset_ns == 0 {
        return None;
    }
    let interval_cs = if live.master_interval_cs != 0 {
        live.master_interval_cs
    } else {
        config.interval_cs()
    };
    let wait = if live.resigned != 0 {
        skew_time_ns(config.version(), config.priority(), interval_cs)
    } else {
        master_down_interval_after_ns(
            config.down_timer_adverts(),
            config.version(),
            config.priority(),
            interval_cs,
        )
    };
    Some(live.last_reset_ns.saturating_add(wait))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::raw_from_ipv4;
    use crate::wire::vrrp::Packet;

    const US: [u8; 4] = [192, 0, 2, 12];
    const PEER: [u8; 4] = [192, 0, 2, 11];

    fn backup(priority: u8, preempt: bool) -> InstanceConfig {
        InstanceConfig {
            source: raw_from_ipv4(US),
            priority,
            state: State::Backup as u8,
            version: 3,
            interval_cs: 1,
            flags: if preempt { flags::PREEMPT } else { 0 },
            ..InstanceConfig::default()
        }
    }

    fn advert(priority: u8) -> Advert {
        Advert {
            source: raw_from_ipv4(PEER),
            priority,
            interval_cs: 1,
        }
    }

    #[test]
    fn a_steady_master_resets_the_timer_and_wakes_only_once() {
        let config = backup(96, true);
        let mut live = Liveness::default();
        let first = observe_advert(&config, &mut live, &advert(100), 10_000_000);
        assert_eq!(
            first,
            Observation {
                resets_timer: true,
                wake: Some(EventKind::NewMaster)
            }
        );
        for i in 2..100u64 {
            let later = observe_advert(&config, &mut live, &advert(100), i * 10_000_000);
            assert_eq!(
                later,
                Observation {
                    resets_timer: true,
                    wake: None
                }
            );
        }
        assert_eq!(live.adverts, 99);
        assert_eq!(
            master_down_deadline_ns(&config, &live),
            Some(990_000_000 + 36_250_000)
        );
    }

    #[test]
    fn preempting_backup_ignores_lower_priority() {
        let config = backup(100, true);
        let mut live = Liveness::default();
        let seen = observe_advert(&config, &mut live, &advert(96), 1);
        assert!(!seen.resets_timer);
        assert_eq!(live.last_reset_ns, 0);
    }

    #[test]
    fn nopreempt_backup_accepts_lower_priority() {
        let config = backup(100, false);
        let mut live = Liveness::default();
        assert!(observe_advert(&config, &mut live, &advert(96), 1).resets_timer);
    }

    #[test]
    fn priority_zero_shortens_to_skew_time() {
        let config = backup(96, true);
        let mut live = Liveness::default();
        observe_advert(&config, &mut live, &advert(100), 5_000_000);
        let seen = observe_advert(&config, &mut live, &advert(0), 20_000_000);
        assert_eq!(seen.wake, Some(EventKind::MasterResigned));
        assert_eq!(
            master_down_deadline_ns(&config, &live),
            Some(20_000_000 + 6_250_000)
        );
    }

    #[test]
    fn changes_within_the_gap_are_deferred_not_lost() {
        let config = backup(96, true);
        let mut live = Liveness::default();
        observe_advert(&config, &mut live, &advert(100), 1_000_000);
        let quick = observe_advert(&config, &mut live, &advert(101), 1_100_000);
        assert_eq!(quick.wake, None);
        let later = observe_advert(&config, &mut live, &advert(101), 3_000_000);
        assert_eq!(later.wake, Some(EventKind::Deferred));
    }

    #[test]
    fn master_steps_down_for_higher_and_readvertises_for_lower() {
        let mut config = backup(100, true);
        config.state = State::Master as u8;
        let mut live = Liveness::default();
        let higher = observe_advert(&config, &mut live, &advert(110), 1);
        assert_eq!(higher.wake, Some(EventKind::HigherPriorityWhileMaster));
        let mut live = Liveness::default();
        let lower = observe_advert(&config, &mut live, &advert(90), 1);
        assert_eq!(lower.wake, Some(EventKind::LowerPriorityWhileMaster));
        // Equal priority: the higher address wins; the peer .11 is below us (.12).
        let mut live = Liveness::default();
        let equal = observe_advert(&config, &mut live, &advert(100), 1);
        assert_eq!(equal.wake, Some(EventKind::LowerPriorityWhileMaster));
    }

    #[test]
    fn preempt_delay_keeps_resetting_until_it_runs_out() {
        let mut config = backup(100, true);
        config.preempt_delay_ns = 1_000_000_000;
        let mut live = Liveness::default();
        let first = observe_advert(&config, &mut live, &advert(96), 10);
        assert!(first.resets_timer);
        assert!(observe_advert(&config, &mut live, &advert(96), 500_000_000).resets_timer);
        assert!(!observe_advert(&config, &mut live, &advert(96), 1_000_000_011).resets_timer);
    }

    /// A v2 instance with PASS auth "abc123", VIP 192.0.2.99, 1 s interval.
    fn v2_config() -> InstanceConfig {
        InstanceConfig {
            source: raw_from_ipv4(US),
            auth_data: *b"abc123\0\0",
            address_digest: address_digest(Family::Ipv4, &[192, 0, 2, 99], 0, 1),
            priority: 96,
            state: State::Backup as u8,
            version: 2,
            auth_type: Auth::TYPE_SIMPLE_TEXT,
            interval_cs: 100,
            address_count: 1,
            flags: flags::PREEMPT | flags::CHECK_ADDRESSES,
            ..InstanceConfig::default()
        }
    }

    fn v2_advert(edit: impl FnOnce(&mut [u8; 20])) -> [u8; 20] {
        let mut bytes = [
            0x21, 51, 100, 1, 1, 1, 0, 0, 192, 0, 2, 99, b'a', b'b', b'c', b'1', b'2', b'3', 0, 0,
        ];
        edit(&mut bytes);
        let mut packet = Packet::new_unchecked(&mut bytes[..], Family::Ipv4);
        packet.fill_checksum(&PseudoHeader::None);
        bytes
    }

    fn meta(source: [u8; 4], ttl: u8) -> IpMeta {
        IpMeta {
            family: Family::Ipv4,
            source: raw_from_ipv4(source),
            destination: raw_from_ipv4([224, 0, 0, 18]),
            ttl,
            protocol: 112,
            payload_offset: 20,
            payload_len: 20,
        }
    }

    fn check(
        config: &InstanceConfig,
        ip: &IpMeta,
        bytes: &[u8],
        peer: Option<PeerTtl>,
    ) -> Result<Advert, Counter> {
        let packet = Packet::new_checked(bytes, Family::Ipv4).expect("length");
        let auth = packet.validate(&PseudoHeader::None).expect("well formed");
        check_advert(config, ip, &packet, &auth, peer)
    }

    fn list_matches(config: &InstanceConfig, bytes: &[u8]) -> bool {
        let packet = Packet::new_checked(bytes, Family::Ipv4).expect("length");
        address_list_matches(config, &packet)
    }

    #[test]
    fn keepalived_s_old_unicast_checksum_is_detected_unless_never() {
        // A v3 unicast advert from PEER to US whose checksum took 224.0.0.18 as destination.
        let meta = IpMeta {
            destination: raw_from_ipv4(US),
            ..meta(PEER, 64)
        };
        let mut bytes = [0x31, 51, 100, 1, 0, 100, 0, 0, 192, 0, 2, 99];
        let old = pseudo_header(Version::V3, &meta, V3Checksum::OldUnicast);
        Packet::new_unchecked(&mut bytes[..], Family::Ipv4).fill_checksum(&old);
        let config_with = |extra: u8| InstanceConfig {
            version: 3,
            auth_type: Auth::TYPE_NONE,
            auth_data: [0; 8],
            interval_cs: 100,
            flags: flags::PREEMPT | flags::CHECK_ADDRESSES | flags::UNICAST | extra,
            ..v2_config()
        };
        let receive = |config: &InstanceConfig| {
            let reception = receive_advert(1, &meta, &bytes, |_| Some(config), |_, _| None);
            (reception.verdict.map(|_| ()), reception.old_checksum)
        };
        assert_eq!(
            receive(&config_with(0)),
            (Err(Counter::DropBadChecksum), true),
            "detected (and this one refused)"
        );
        assert_eq!(
            receive(&config_with(flags::OLD_UNICAST_CHECKSUM)),
            (Ok(()), false),
            "expected"
        );
        assert_eq!(
            receive(&config_with(flags::NEVER_OLD_UNICAST_CHECKSUM)).0,
            Err(Counter::DropBadChecksum)
        );
    }

    #[test]
    fn an_ah_instance_takes_adverts_only_from_behind_an_authentication_header() {
        let config = InstanceConfig {
            auth_type: Auth::TYPE_IP_AH,
            auth_data: [0; 8],
            ..v2_config()
        };
        let ah_advert = v2_advert(|b| {
            b[4] = Auth::TYPE_IP_AH;
            b[12..].fill(0);
        });
        let behind_ah = IpMeta {
            protocol: ah::IPPROTO_AH,
            ..meta(PEER, 255)
        };
        assert!(check(&config, &behind_ah, &ah_advert, None).is_ok());
        // The same message as plain protocol 112 (what the XDP program sees): no header, no
        // proof, refused as keepalived refuses it ("No AH header but auth type is AH").
        assert_eq!(
            check(&config, &meta(PEER, 255), &ah_advert, None),
            Err(Counter::DropAuthTypeMismatch)
        );
        // An Authentication Header at an instance without AH.
        let pass = v2_advert(|_| {});
        assert_eq!(
            check(&v2_config(), &behind_ah, &pass, None),
            Err(Counter::DropAuthTypeMismatch)
        );
    }

    #[test]
    fn each_receive_check_has_its_reason() {
        let config = v2_config();
        let good = v2_advert(|_| {});
        assert!(check(&config, &meta(PEER, 255), &good, None).is_ok());
        assert_eq!(
            check(&config, &meta(PEER, 254), &good, None),
            Err(Counter::DropBadTtl)
        );
        assert_eq!(
            check(&config, &meta(US, 255), &good, None),
            Err(Counter::DropOwnAddress)
        );
        let wrong_password = v2_advert(|b| b[12] = b'x');
        assert_eq!(
            check(&config, &meta(PEER, 255), &wrong_password, None),
            Err(Counter::DropAuthFailure)
        );
        let no_auth = v2_advert(|b| b[4] = 0);
        assert_eq!(
            check(&config, &meta(PEER, 255), &no_auth, None),
            Err(Counter::DropAuthTypeMismatch)
        );
        let slower = v2_advert(|b| b[5] = 2);
        assert_eq!(
            check(&config, &meta(PEER, 255), &slower, None),
            Err(Counter::DropIntervalMismatch)
        );
        // Another address list: valid all the same (keepalived 2.3.3 and later), but it does
        // not match ours, unless skip_check_adv_addr turns the comparison off.
        let other_vip = v2_advert(|b| b[11] = 98);
        assert!(check(&config, &meta(PEER, 255), &other_vip, None).is_ok());
        assert!(list_matches(&config, &good));
        assert!(!list_matches(&config, &other_vip));
        let mut skip = config;
        skip.flags &= !flags::CHECK_ADDRESSES;
        assert!(list_matches(&skip, &other_vip), "skip_check_adv_addr");
        let mut v3 = config;
        v3.version = 3;
        assert_eq!(
            check(&v3, &meta(PEER, 255), &good, None),
            Err(Counter::DropVersionMismatch)
        );
        // keepalived takes a unicast advert from any source, at any TTL, unless
        // check_unicast_src (or a peer's min_ttl / max_ttl) asks for a configured peer.
        let mut unicast = config;
        unicast.flags |= flags::UNICAST;
        assert!(check(&unicast, &meta(PEER, 64), &good, None).is_ok());
        unicast.flags |= flags::CHECK_UNICAST_SRC;
        assert_eq!(
            check(&unicast, &meta(PEER, 64), &good, None),
            Err(Counter::DropUnknownPeer)
        );
        assert!(
            check(&unicast, &meta(PEER, 64), &good, Some(PeerTtl::ANY)).is_ok(),
            "a unicast peer may be routed: TTL 255 is not required"
        );
        let near = PeerTtl { min: 250, max: 255 };
        assert!(check(&unicast, &meta(PEER, 254), &good, Some(near)).is_ok());
        assert_eq!(
            check(&unicast, &meta(PEER, 64), &good, Some(near)),
            Err(Counter::DropBadTtl),
            "outside the peer's min_ttl..max_ttl"
        );
    }

    #[test]
    fn digest_ignores_order() {
        let a = [192, 0, 2, 99, 192, 0, 2, 98];
        let b = [192, 0, 2, 98, 192, 0, 2, 99];
        assert_eq!(
            address_digest(Family::Ipv4, &a, 0, 2),
            address_digest(Family::Ipv4, &b, 0, 2)
        );
        assert_ne!(
            address_digest(Family::Ipv4, &a, 0, 2),
            address_digest(Family::Ipv4, &a, 0, 1)
        );
    }
}
