//! The two ICMPv6 neighbour-discovery messages VRRP needs (RFC 4861 section 4.3 / 4.4): the
//! unsolicited neighbour advertisement a new master sends for each IPv6 VIP (RFC 5798 section
//! 6.4.1), and the solicitation the datapath answers for active VIPs.

use core::net::Ipv6Addr;
use core::ops::Range;

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
/// Options are counted in units of 8 bytes (RFC 4861 section 4.6).
const OPTION_UNIT: usize = 8;
/// The most option bytes a solicitation may carry for the XDP responder to read it: room for
/// the source link-layer option among a few others (a nonce, RFC 7527, is what Linux adds).
/// A longer one is left to the kernel, which answers it as well.
pub const MAX_SOLICITATION_OPTIONS_LEN: usize = 8 * OPTION_UNIT;
/// The longest solicitation message the responder reads.
pub const MAX_SOLICITATION_LEN: usize = ND_LEN + MAX_SOLICITATION_OPTIONS_LEN;
const OPTION_SOURCE_LINK_LAYER: u8 = 1;
const OPTION_TARGET_LINK_LAYER: u8 = 2;
pub const FLAG_ROUTER: u8 = 0x80;
pub const FLAG_SOLICITED: u8 = 0x40;
pub const FLAG_OVERRIDE: u8 = 0x20;
/// All-nodes multicast (ff02::1).
pub const ALL_NODES: RawAddress = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/// Where each field of a neighbour solicitation or advertisement lies (RFC 4861 sections 4.3,
/// 4.4), and of the link-layer address option after it (section 4.6.1).
pub mod field {
    use super::Range;

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    /// Advertisements: Router, Solicited, Override in the top bits; solicitations: reserved.
    pub const FLAGS: usize = 4;
    pub const RESERVED: Range<usize> = 5..8;
    pub const TARGET: Range<usize> = 8..24;
    pub const OPTIONS: usize = 24;
    pub const OPTION_TYPE: usize = 0;
    pub const OPTION_LEN: usize = 1;
    pub const OPTION_MAC: Range<usize> = 2..8;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    Truncated,
    /// Not a neighbour solicitation (type 135, code 0).
    NotASolicitation,
    /// An option of length zero, or one that runs past the message (RFC 4861 section 7.1.1:
    /// the kernel discards such a message), or a source link-layer option that is not
    /// Ethernet's 8 bytes (the kernel's "NS: invalid link-layer address length").
    BadOption,
    /// More options than [`MAX_SOLICITATION_OPTIONS_LEN`] bytes: not read here.
    TooLong,
    /// `emit` was given a buffer too short.
    BufferSize,
}

impl From<ethernet::Error> for Error {
    fn from(_: ethernet::Error) -> Error {
        Error::BufferSize
    }
}

impl From<ip::Error> for Error {
    fn from(_: ip::Error) -> Error {
        Error::BufferSize
    }
}

/// The ICMPv6 checksum over the IPv6 pseudo-header and the message.
pub fn checksum(source: &RawAddress, destination: &RawAddress, message: &[u8]) -> u16 {
    let length = message.len() as u32;
    let mut sum = accumulate(0, source);
    sum = accumulate(sum, destination);
    sum = accumulate(sum, &length.to_be_bytes());
    sum = accumulate(sum, &[0, 0, 0, NEXT_HEADER_ICMPV6]);
    finish(accumulate(sum, message))
}

/// Whether the ICMPv6 message of an IPv6 packet (a header without extension headers, then the
/// `message_len`-byte message) has a correct checksum. The pseudo-header's addresses lie just
/// before the message, so one sum covers both, plus the length and next header (RFC 8200
/// section 8.1): no copies, which the XDP program's stack could not hold.
#[inline(always)]
pub fn verify_checksum(packet: &[u8], message_len: usize) -> bool {
    let Some(covered) = packet.get(8..ip::IPV6_HEADER_LEN + message_len) else {
        return false;
    };
    let pseudo = message_len as u32 + u32::from(NEXT_HEADER_ICMPV6);
    finish(accumulate(pseudo, covered)) == 0
}

/// A neighbour advertisement for `target` with our link-layer address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighborAdvert {
    pub source_mac: Mac,
    pub destination_mac: Mac,
    pub source: Ipv6Addr,
    pub destination: Ipv6Addr,
    pub target: Ipv6Addr,
    /// [`FLAG_ROUTER`] | [`FLAG_SOLICITED`] | [`FLAG_OVERRIDE`].
    pub flags: u8,
}

impl NeighborAdvert {
    /// The unsolicited advertisement keepalived sends for a VIP: from the VIP to all nodes,
    /// Override set (the new master's MAC replaces the old one in every cache).
    pub const fn unsolicited(mac: Mac, address: Ipv6Addr) -> NeighborAdvert {
        NeighborAdvert {
            source_mac: mac,
            destination_mac: ethernet::ipv6_multicast_mac(&ALL_NODES),
            source: address,
            destination: Ipv6Addr::from_octets(ALL_NODES),
            target: address,
            flags: FLAG_OVERRIDE,
        }
    }

    pub const FRAME_LEN: usize =
        ethernet::HEADER_LEN + ip::IPV6_HEADER_LEN + ND_LEN + LINK_LAYER_OPTION_LEN;

    /// Writes the whole frame; returns its length.
    pub fn emit_frame(&self, frame: &mut [u8]) -> Result<usize, Error> {
        let frame = frame.get_mut(..Self::FRAME_LEN).ok_or(Error::BufferSize)?;
        ethernet::Repr {
            destination: self.destination_mac,
            source: self.source_mac,
            ethertype: ethernet::ETHERTYPE_IPV6,
        }
        .emit(frame)?;
        let message_len = ND_LEN + LINK_LAYER_OPTION_LEN;
        ip::Ipv6Repr {
            source: self.source,
            destination: self.destination,
            next_header: NEXT_HEADER_ICMPV6,
            hop_limit: 255,
            traffic_class: 0,
            payload_len: message_len,
        }
        .emit(&mut frame[ethernet::HEADER_LEN..])?;
        let message = &mut frame[ethernet::HEADER_LEN + ip::IPV6_HEADER_LEN..];
        message[field::TYPE] = TYPE_NEIGHBOR_ADVERTISEMENT;
        message[field::CODE] = 0;
        message[field::CHECKSUM].copy_from_slice(&[0, 0]);
        message[field::FLAGS] = self.flags;
        message[field::RESERVED].copy_from_slice(&[0, 0, 0]);
        message[field::TARGET].copy_from_slice(&self.target.octets());
        let option = &mut message[field::OPTIONS..];
        option[field::OPTION_TYPE] = OPTION_TARGET_LINK_LAYER;
        option[field::OPTION_LEN] = 1;
        option[field::OPTION_MAC].copy_from_slice(&self.source_mac);
        let sum = checksum(
            &self.source.octets(),
            &self.destination.octets(),
            &message[..message_len],
        );
        message[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
        Ok(Self::FRAME_LEN)
    }
}

/// A view of a neighbour-discovery message (solicitation or advertisement: the same fixed part);
/// [`Packet::new_checked`] makes sure it is there.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps without checking: call [`Packet::check_len`] before any accessor.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    pub fn check_len(&self) -> Result<(), Error> {
        if self.buffer.as_ref().len() < ND_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    pub fn target(&self) -> Ipv6Addr {
        let mut target = [0u8; 16];
        target.copy_from_slice(&self.buffer.as_ref()[field::TARGET]);
        Ipv6Addr::from(target)
    }

    /// The source link-layer address among the options, wherever it stands, after checking
    /// every option as the kernel's `ndisc_parse_options` does: each has a length above zero and
    /// lies inside the message. A repeated source option is ignored after the first, as there.
    ///
    /// The loop has a constant bound (every option takes at least one 8-byte unit, so
    /// [`MAX_SOLICITATION_OPTIONS_LEN`] / 8 steps read every option of a message the responder
    /// accepts) and carries its offset through [`crate::opaque`], so the verifier can follow it.
    pub fn source_link_layer_option(&self) -> Result<Option<Mac>, Error> {
        let bytes = self.buffer.as_ref();
        if bytes.len() > MAX_SOLICITATION_LEN {
            return Err(Error::TooLong);
        }
        let mut source = None;
        let mut offset = field::OPTIONS;
        for _ in 0..MAX_SOLICITATION_OPTIONS_LEN / OPTION_UNIT {
            if offset >= bytes.len() {
                break;
            }
            let (Some(&kind), Some(&units)) = (
                bytes.get(offset + field::OPTION_TYPE),
                bytes.get(offset + field::OPTION_LEN),
            ) else {
                return Err(Error::BadOption);
            };
            let len = usize::from(units) * OPTION_UNIT;
            if len == 0 || offset + len > bytes.len() {
                return Err(Error::BadOption);
            }
            if kind == OPTION_SOURCE_LINK_LAYER && source.is_none() {
                let Some(address) = bytes.get(offset + field::OPTION_MAC.start..offset + len)
                else {
                    return Err(Error::BadOption);
                };
                let mut mac = [0u8; 6];
                if address.len() != mac.len() {
                    return Err(Error::BadOption);
                }
                mac.copy_from_slice(address);
                source = Some(mac);
            }
            offset = crate::opaque(offset + len);
        }
        Ok(source)
    }
}

/// What the responder needs from a neighbour solicitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighborSolicit {
    pub target: Ipv6Addr,
    /// The asker's link-layer address option, if present (absent for DAD probes).
    pub source_mac: Option<Mac>,
}

impl NeighborSolicit {
    /// Reads a checked message as a solicitation.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<NeighborSolicit, Error> {
        if packet.msg_type() != TYPE_NEIGHBOR_SOLICITATION || packet.code() != 0 {
            return Err(Error::NotASolicitation);
        }
        Ok(NeighborSolicit {
            target: packet.target(),
            source_mac: packet.source_link_layer_option()?,
        })
    }

    /// Reads the ICMPv6 message (an IPv6 payload) in `bytes` as a solicitation.
    pub fn parse_bytes(bytes: &[u8]) -> Result<NeighborSolicit, Error> {
        NeighborSolicit::parse(&Packet::new_checked(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_solicitation_with_its_source_option_is_read_and_others_refused() {
        let mut message = [0u8; ND_LEN + LINK_LAYER_OPTION_LEN];
        message[field::TYPE] = TYPE_NEIGHBOR_SOLICITATION;
        let target: Ipv6Addr = "2001:db8::53".parse().expect("ip");
        message[field::TARGET].copy_from_slice(&target.octets());
        message[field::OPTIONS..field::OPTIONS + 2].copy_from_slice(&[OPTION_SOURCE_LINK_LAYER, 1]);
        message[field::OPTIONS + 2..].copy_from_slice(&[2, 0, 0, 0, 0, 9]);
        let solicit = NeighborSolicit::parse_bytes(&message).expect("solicitation");
        assert_eq!(solicit.target, target);
        assert_eq!(solicit.source_mac, Some([2, 0, 0, 0, 0, 9]));
        assert_eq!(
            NeighborSolicit::parse_bytes(&message[..ND_LEN]).map(|s| s.source_mac),
            Ok(None)
        );
        assert_eq!(
            NeighborSolicit::parse_bytes(&message[..ND_LEN - 1]),
            Err(Error::Truncated)
        );
        message[field::TYPE] = TYPE_NEIGHBOR_ADVERTISEMENT;
        assert_eq!(
            NeighborSolicit::parse_bytes(&message),
            Err(Error::NotASolicitation)
        );
    }

    /// A solicitation for 2001:db8::53 carrying `options` (type, length in units, body).
    fn solicitation_with(options: &[(u8, u8, &[u8])]) -> ([u8; MAX_SOLICITATION_LEN + 16], usize) {
        let mut message = [0u8; MAX_SOLICITATION_LEN + 16];
        message[field::TYPE] = TYPE_NEIGHBOR_SOLICITATION;
        let target: Ipv6Addr = "2001:db8::53".parse().expect("ip");
        message[field::TARGET].copy_from_slice(&target.octets());
        let mut at = field::OPTIONS;
        for (kind, units, body) in options {
            message[at] = *kind;
            message[at + 1] = *units;
            message[at + 2..at + 2 + body.len()].copy_from_slice(body);
            at += 2 + body.len();
        }
        (message, at)
    }

    #[test]
    fn the_source_option_is_found_wherever_it_stands_and_every_option_is_checked() {
        const MAC: [u8; 6] = [2, 0, 0, 0, 0, 9];
        const NONCE: (u8, u8, &[u8]) = (14, 1, &[1, 2, 3, 4, 5, 6]);
        const SOURCE: (u8, u8, &[u8]) = (OPTION_SOURCE_LINK_LAYER, 1, &MAC);
        let source_of = |options: &[(u8, u8, &[u8])]| {
            let (message, len) = solicitation_with(options);
            NeighborSolicit::parse_bytes(&message[..len]).map(|s| s.source_mac)
        };
        assert_eq!(source_of(&[NONCE, SOURCE]), Ok(Some(MAC)), "after a nonce");
        assert_eq!(source_of(&[SOURCE, NONCE]), Ok(Some(MAC)), "first");
        assert_eq!(
            source_of(&[NONCE, (OPTION_SOURCE_LINK_LAYER, 1, &[7; 6]), SOURCE]),
            Ok(Some([7; 6])),
            "a repeated source option is ignored after the first, as the kernel does"
        );
        assert_eq!(source_of(&[NONCE]), Ok(None), "no source option");
        assert_eq!(
            source_of(&[SOURCE, (14, 0, &[0; 6])]),
            Err(Error::BadOption),
            "an option of length zero"
        );
        assert_eq!(
            source_of(&[NONCE, (OPTION_SOURCE_LINK_LAYER, 2, &MAC)]),
            Err(Error::BadOption),
            "an option running past the message"
        );
        assert_eq!(
            source_of(&[(OPTION_SOURCE_LINK_LAYER, 2, &[0; 14])]),
            Err(Error::BadOption),
            "a source option that is not Ethernet's"
        );
        let mut most = [NONCE; MAX_SOLICITATION_OPTIONS_LEN / OPTION_UNIT];
        most[7] = SOURCE;
        assert_eq!(source_of(&most), Ok(Some(MAC)), "the last of eight options");
        let (message, len) = solicitation_with(&[NONCE; 9]);
        assert_eq!(
            NeighborSolicit::parse_bytes(&message[..len]),
            Err(Error::TooLong)
        );
    }

    #[test]
    fn the_checksum_check_agrees_with_the_pseudo_header_sum() {
        let mut frame = [0u8; NeighborAdvert::FRAME_LEN];
        let mac = [2, 0, 0, 0, 0, 9];
        let vip: Ipv6Addr = "2001:db8::53".parse().expect("ip");
        NeighborAdvert::unsolicited(mac, vip)
            .emit_frame(&mut frame)
            .expect("room");
        let packet = &mut frame[ethernet::HEADER_LEN..];
        let message_len = ND_LEN + LINK_LAYER_OPTION_LEN;
        assert!(verify_checksum(packet, message_len));
        packet[ip::IPV6_HEADER_LEN + field::TARGET.start] ^= 1;
        assert!(!verify_checksum(packet, message_len));
        assert!(!verify_checksum(&packet[..50], message_len), "short");
    }
}
