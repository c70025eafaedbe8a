//! The datapath's counters: one per-CPU slot each in the `STATS` map, the same indices in socket
//! mode. Every frame the program drops is counted under exactly one reason.

/// Index into the `STATS` per-CPU array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum Counter {
    /// Every frame the program ran on.
    FramesSeen = 0,
    /// Adverts that passed every check.
    AdvertsValid,
    /// Valid adverts handed to the kernel stack (within the per-VRID pass budget).
    AdvertsPassed,
    /// Valid adverts dropped because the pass budget was spent (already counted in LIVENESS).
    AdvertsOverPassBudget,
    /// Ring-buffer records written.
    EventsSent,
    /// Records that would have exceeded the per-VRID event rate; folded into a later one.
    EventsDeferred,
    /// Ring buffer full: record lost (userspace re-reads LIVENESS at its deadlines anyway).
    EventsLost,
    ArpRepliesSent,
    NeighborAdvertsSent,
    /// Adverts addressed to neither our group nor our address (another host's, seen in
    /// promiscuous mode): passed untouched, as the kernel would not deliver them to us.
    AdvertsNotForUs,
    /// Valid adverts whose address list differs from ours (keepalived's `addr_list_err`):
    /// counted, reported, and processed as usual (see `rules::address_list_matches`).
    AddressListMismatch,
    // Drop reasons, one per validation failure.
    DropTruncated,
    DropLengthMismatch,
    DropBadIpHeader,
    DropBadTtl,
    DropBadVersion,
    DropBadType,
    DropBadChecksum,
    DropUnknownVrid,
    DropVersionMismatch,
    DropAuthTypeMismatch,
    DropAuthFailure,
    DropIntervalMismatch,
    DropOwnAddress,
    DropUnknownPeer,
    /// Neither the XDP program nor socket mode handles this advert (e.g. IPv6 fragment).
    DropUnsupported,
    /// An IPv4 fragment of VRRP (the kernel would reassemble it; the program cannot check it).
    DropFragment,
    /// The IPv4 header checksum is wrong (the kernel drops such a packet).
    DropBadIpChecksum,
}

impl Counter {
    pub const COUNT: usize = Counter::DropBadIpChecksum as usize + 1;

    pub const ALL: [Counter; Counter::COUNT] = [
        Counter::FramesSeen,
        Counter::AdvertsValid,
        Counter::AdvertsPassed,
        Counter::AdvertsOverPassBudget,
        Counter::EventsSent,
        Counter::EventsDeferred,
        Counter::EventsLost,
        Counter::ArpRepliesSent,
        Counter::NeighborAdvertsSent,
        Counter::AdvertsNotForUs,
        Counter::AddressListMismatch,
        Counter::DropTruncated,
        Counter::DropLengthMismatch,
        Counter::DropBadIpHeader,
        Counter::DropBadTtl,
        Counter::DropBadVersion,
        Counter::DropBadType,
        Counter::DropBadChecksum,
        Counter::DropUnknownVrid,
        Counter::DropVersionMismatch,
        Counter::DropAuthTypeMismatch,
        Counter::DropAuthFailure,
        Counter::DropIntervalMismatch,
        Counter::DropOwnAddress,
        Counter::DropUnknownPeer,
        Counter::DropUnsupported,
        Counter::DropFragment,
        Counter::DropBadIpChecksum,
    ];

    /// The snake_case name used in `vrrpd stats` and as the `reason` label in metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Counter::FramesSeen => "frames_seen",
            Counter::AdvertsValid => "adverts_valid",
            Counter::AdvertsPassed => "adverts_passed",
            Counter::AdvertsOverPassBudget => "adverts_over_pass_budget",
            Counter::EventsSent => "events_sent",
            Counter::EventsDeferred => "events_deferred",
            Counter::EventsLost => "events_lost",
            Counter::ArpRepliesSent => "arp_replies_sent",
            Counter::NeighborAdvertsSent => "neighbor_adverts_sent",
            Counter::AdvertsNotForUs => "adverts_not_for_us",
            Counter::AddressListMismatch => "address_list_mismatch",
            Counter::DropTruncated => "truncated",
            Counter::DropLengthMismatch => "length_mismatch",
            Counter::DropBadIpHeader => "bad_ip_header",
            Counter::DropBadTtl => "bad_ttl",
            Counter::DropBadVersion => "bad_version",
            Counter::DropBadType => "bad_type",
            Counter::DropBadChecksum => "bad_checksum",
            Counter::DropUnknownVrid => "unknown_vrid",
            Counter::DropVersionMismatch => "version_mismatch",
            Counter::DropAuthTypeMismatch => "auth_type_mismatch",
            Counter::DropAuthFailure => "auth_failure",
            Counter::DropIntervalMismatch => "interval_mismatch",
            Counter::DropOwnAddress => "own_address",
            Counter::DropUnknownPeer => "unknown_peer",
            Counter::DropUnsupported => "unsupported",
            Counter::DropFragment => "fragment",
            Counter::DropBadIpChecksum => "bad_ip_checksum",
        }
    }

    /// Whether this counter is a drop reason.
    pub const fn is_drop(self) -> bool {
        self as u32 >= Counter::DropTruncated as u32
    }
}

/// The per-instance receive errors keepalived keeps in `vrrp_stats` (its JSON dump's keys, the
/// RFC 2787 / RFC 6527 statistics columns), for adverts refused after their instance was found.
/// Index into a [`ReceiveErrors`] entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ReceiveError {
    /// `packet_len_err`.
    PacketLength = 0,
    /// `ip_ttl_err`.
    IpTtl,
    /// `invalid_type_rcvd`.
    InvalidType,
    /// `addr_list_err` (keepalived 2.3.3 and later count such adverts and process them).
    AddressList,
    /// `authtype_mismatch`.
    AuthTypeMismatch,
    /// `auth_failure`.
    AuthFailure,
    /// `vers_err` (RFC 2787 vrrpRouterVersionErrors, RFC 6527 vrrpv3RouterVersionErrors).
    Version,
    /// `chk_err` (the RFCs' router-wide checksum errors).
    Checksum,
}

impl ReceiveError {
    pub const COUNT: usize = ReceiveError::Checksum as usize + 1;

    /// The error a datapath verdict counts as for the instance it was for, as keepalived's
    /// `vrrp_check_packet` counts them. Not counted, as in keepalived: a VRRPv2 interval
    /// mismatch (dropped without a count, although RFC 2787 has vrrpStatsAdvertiseIntervalErrors),
    /// our own adverts, and sources that are not peers.
    pub const fn of(counter: Counter) -> Option<ReceiveError> {
        match counter {
            Counter::DropTruncated | Counter::DropLengthMismatch => {
                Some(ReceiveError::PacketLength)
            }
            Counter::DropBadTtl => Some(ReceiveError::IpTtl),
            Counter::DropBadType => Some(ReceiveError::InvalidType),
            Counter::AddressListMismatch => Some(ReceiveError::AddressList),
            Counter::DropAuthTypeMismatch => Some(ReceiveError::AuthTypeMismatch),
            Counter::DropAuthFailure => Some(ReceiveError::AuthFailure),
            Counter::DropBadVersion | Counter::DropVersionMismatch => Some(ReceiveError::Version),
            Counter::DropBadChecksum => Some(ReceiveError::Checksum),
            _ => None,
        }
    }
}

/// One instance's receive errors: the value of the XDP program's per-CPU `INSTANCE_ERRORS`
/// map (summed over CPUs by userspace), and socket mode's count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ReceiveErrors {
    pub counts: [u64; ReceiveError::COUNT],
}

impl ReceiveErrors {
    /// Counts `counter` if it is one of the instance's receive errors.
    #[inline(always)]
    pub fn count(&mut self, counter: Counter) {
        if let Some(slot) = ReceiveError::of(counter).and_then(|e| self.counts.get_mut(e as usize))
        {
            *slot = slot.wrapping_add(1);
        }
    }

    pub fn get(&self, error: ReceiveError) -> u64 {
        self.counts.get(error as usize).copied().unwrap_or(0)
    }

    /// Both counts together (the XDP program's and the sockets').
    pub fn plus(&self, other: &ReceiveErrors) -> ReceiveErrors {
        let mut sum = *self;
        for (slot, more) in sum.counts.iter_mut().zip(other.counts) {
            *slot = slot.wrapping_add(more);
        }
        sum
    }

    /// What was counted since `baseline` (keepalived's SIGSTATS_CLEAR).
    pub fn since(&self, baseline: &ReceiveErrors) -> ReceiveErrors {
        let mut since = *self;
        for (slot, before) in since.counts.iter_mut().zip(baseline.counts) {
            *slot = slot.saturating_sub(before);
        }
        since
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receive_errors_count_what_keepalived_counts_per_instance() {
        let mut errors = ReceiveErrors::default();
        for counter in Counter::ALL {
            errors.count(counter);
        }
        // Truncated and length mismatch are both packet_len_err; bad and mismatched versions
        // both vers_err; every other kind once.
        assert_eq!(errors.get(ReceiveError::PacketLength), 2);
        assert_eq!(errors.get(ReceiveError::Version), 2);
        for error in [
            ReceiveError::IpTtl,
            ReceiveError::InvalidType,
            ReceiveError::AddressList,
            ReceiveError::AuthTypeMismatch,
            ReceiveError::AuthFailure,
            ReceiveError::Checksum,
        ] {
            assert_eq!(errors.get(error), 1, "{error:?}");
        }
        assert_eq!(ReceiveError::of(Counter::DropIntervalMismatch), None);
        assert_eq!(ReceiveError::of(Counter::AdvertsValid), None);
        let later = errors.plus(&errors);
        assert_eq!(later.since(&errors), errors);
        assert_eq!(errors.since(&later), ReceiveErrors::default());
    }

    #[test]
    fn all_lists_every_counter_in_index_order() {
        for (index, counter) in Counter::ALL.iter().enumerate() {
            assert_eq!(*counter as usize, index);
        }
    }
}
