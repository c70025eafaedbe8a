//! The two ICMPv6 neighbour-discovery messages VRRP needs (RFC 4861 section 4.3 / 4.4): the
//! unsolicited neighbour advertisement a new master sends for each IPv6 VIP (RFC 5798 section
//! 6.4.1), and the solicitation the datapath answers for active VIPs.

use super::RawAddress;
use super::checksum::{accumulate, finish};
use super::ethernet::{self, Mac};
use super::ip;

pub const NEXT_HEADER_ICMPV6: u8 = 58;
pub const TYPE_NEIGHBOR_SOLICITATION: u8 = 135;
pub const TYPE_NEIGHBOR_ADVERTISEMENT: u8 = 136;
/// Type, code, checksum, flags/reserved, target address.
pub const ND_LEN: usize = 24;
/// A link-layer address option for Ethernet.
pub const LINK_LAYER_OPTION_LEN: usize = 8;
const OPTION_SOURCE_LINK_LAYER: u8 = 1;
const OPTION_TARGET_LINK_LAYER: u8 = 2;
pub const FLAG_ROUTER: u8 = 0x80;
pub const FLAG_SOLICITED: u8 = 0x40;
pub const FLAG_OVERRIDE: u8 = 0x20;
/// All-nodes multicast (ff02::1).
pub const ALL_NODES: RawAddress = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/// The ICMPv6 checksum over the IPv6 pseudo-header and the message.
pub fn checksum(source: &RawAddress, destination: &RawAddress, message: &[u8]) -> u16 {
    let length = message.len() as u32;
    let mut sum = accumulate(0, source);
    sum = accumulate(sum, destination);
    sum = accumulate(sum, &length.to_be_bytes());
    sum = accumulate(sum, &[0, 0, 0, NEXT_HEADER_ICMPV6]);
    finish(accumulate(sum, message))
}

/// A neighbour advertisement for `target` with our link-layer address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighborAdvert {
    pub source_mac: Mac,
    pub destination_mac: Mac,
    pub source: RawAddress,
    pub destination: RawAddress,
    pub target: RawAddress,
    /// [`FLAG_ROUTER`] | [`FLAG_SOLICITED`] | [`FLAG_OVERRIDE`].
    pub flags: u8,
}

impl NeighborAdvert {
    /// The unsolicited advertisement keepalived sends for a VIP: from the VIP to all nodes,
    /// Override set (the new master's MAC replaces the old one in every cache).
    pub const fn unsolicited(mac: Mac, address: RawAddress) -> NeighborAdvert {
        NeighborAdvert {
            source_mac: mac,
            destination_mac: ethernet::ipv6_multicast_mac(&ALL_NODES),
            source: address,
            destination: ALL_NODES,
            target: address,
            flags: FLAG_OVERRIDE,
        }
    }

    pub const FRAME_LEN: usize =
        ethernet::HEADER_LEN + ip::IPV6_HEADER_LEN + ND_LEN + LINK_LAYER_OPTION_LEN;

    /// Writes the whole frame; returns its length.
    pub fn emit_frame(&self, frame: &mut [u8]) -> Option<usize> {
        let frame = frame.get_mut(..Self::FRAME_LEN)?;
        ethernet::write_header(
            frame,
            &self.destination_mac,
            &self.source_mac,
            ethernet::ETHERTYPE_IPV6,
        )?;
        let message_len = ND_LEN + LINK_LAYER_OPTION_LEN;
        ip::write_ipv6_header(
            &mut frame[ethernet::HEADER_LEN..],
            &self.source,
            &self.destination,
            NEXT_HEADER_ICMPV6,
            255,
            message_len,
            0,
        )?;
        let message = &mut frame[ethernet::HEADER_LEN + ip::IPV6_HEADER_LEN..];
        message[0] = TYPE_NEIGHBOR_ADVERTISEMENT;
        message[1] = 0;
        message[2] = 0;
        message[3] = 0;
        message[4] = self.flags;
        message[5..8].copy_from_slice(&[0, 0, 0]);
        message[8..24].copy_from_slice(&self.target);
        message[24] = OPTION_TARGET_LINK_LAYER;
        message[25] = 1;
        message[26..32].copy_from_slice(&self.source_mac);
        let sum = checksum(&self.source, &self.destination, &message[..message_len]);
        message[2..4].copy_from_slice(&sum.to_be_bytes());
        Some(Self::FRAME_LEN)
    }
}

/// What the responder needs from a neighbour solicitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighborSolicit {
    pub target: RawAddress,
    /// The asker's link-layer address option, if present (absent for DAD probes).
    pub source_mac: Option<Mac>,
}

impl NeighborSolicit {
    /// Parses an ICMPv6 message (the IPv6 payload) as a solicitation; `None` for anything else.
    pub fn parse(message: &[u8]) -> Option<NeighborSolicit> {
        let header = message.get(..ND_LEN)?;
        if header[0] != TYPE_NEIGHBOR_SOLICITATION || header[1] != 0 {
            return None;
        }
        let mut target = [0u8; 16];
        target.copy_from_slice(&header[8..24]);
        let mut source_mac = None;
        // Only the first option is examined: where a source link-layer option is sent, it
        // comes first in practice, and a bounded look keeps this verifier-friendly.
        if let Some(option) = message.get(ND_LEN..ND_LEN + LINK_LAYER_OPTION_LEN)
            && option[0] == OPTION_SOURCE_LINK_LAYER
            && option[1] == 1
        {
            let mut mac = [0u8; 6];
            mac.copy_from_slice(&option[2..8]);
            source_mac = Some(mac);
        }
        Some(NeighborSolicit { target, source_mac })
    }
}
