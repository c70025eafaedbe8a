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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_counter_in_index_order() {
        for (index, counter) in Counter::ALL.iter().enumerate() {
            assert_eq!(*counter as usize, index);
        }
    }
}
