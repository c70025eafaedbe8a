//! IPv4 (RFC 791) and IPv6 (RFC 8200) headers as VRRP meets them: a checked view and a `Repr`
//! for each, and [`IpMeta`], the family-independent summary a VRRP receiver works from.

use core::net::{Ipv4Addr, Ipv6Addr};
use core::ops::Range;

use super::checksum::{accumulate, finish, fold};
use super::{Family, RawAddress, raw_from_ipv4};

pub const IPV4_MIN_HEADER_LEN: usize = 20;
/// IHL is four bits of 32-bit words.
pub const IPV4_MAX_HEADER_LEN: usize = 60;
pub const IPV6_HEADER_LEN: usize = 40;
/// RFC 5798 section 5.1.1.3 / 5.1.2.3: VRRP is sent with TTL / hop limit 255 and a receiver
/// discards anything else, which proves the sender is on the link.
pub const VRRP_TTL: u8 = 255;
/// keepalived sends VRRP as internetwork control: TOS 0xc0 (IPv4), traffic class 0xc0 (IPv6).
pub const TRAFFIC_CLASS_VRRP: u8 = 0xc0;

/// Why bytes are not an IP packet this module can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    Truncated,
    BadVersion,
    /// IPv4 IHL below 5 or total length inconsistent with the header.
    BadHeaderLength,
    /// The IPv4 header checksum is wrong (the kernel drops such a packet).
    BadChecksum,
    /// An IPv4 fragment (more-fragments set or an offset): VRRP cannot be checked without the
    /// whole packet, and the kernel would reassemble it first.
    Fragment,
    /// IPv6 extension headers beyond what VRRP can meet, or an IPv6 fragment.
    UnsupportedExtension,
    /// `emit` was given a buffer too short, or a payload too long for the length field.
    BufferSize,
}

/// Where each field of the IPv4 header lies.
pub mod ipv4_field {
    use super::Range;

    pub const VERSION_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const IDENTIFICATION: Range<usize> = 4..6;
    pub const FLAGS_FRAGMENT: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SOURCE: Range<usize> = 12..16;
    pub const DESTINATION: Range<usize> = 16..20;
}

/// A view of an IPv4 header. [`Ipv4Packet::new_checked`] makes sure the fixed 20 bytes are
/// there; options (IHL above 5) are skipped through [`Ipv4Packet::header_len`].
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps without checking: call [`Ipv4Packet::check_len`] before any accessor.
    pub const fn new_unchecked(buffer: T) -> Ipv4Packet<T> {
        Ipv4Packet { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Ipv4Packet<T>, Error> {
        let packet = Ipv4Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// The fixed header is there and says version 4.
    pub fn check_len(&self) -> Result<(), Error> {
        let bytes = self.buffer.as_ref();
        if bytes.len() < IPV4_MIN_HEADER_LEN {
            return Err(Error::Truncated);
        }
        if bytes[ipv4_field::VERSION_IHL] >> 4 != 4 {
            return Err(Error::BadVersion);
        }
        Ok(())
    }

    fn word(&self, range: Range<usize>) -> u16 {
        let bytes = &self.buffer.as_ref()[range];
        u16::from_be_bytes([bytes[0], bytes[1]])
    }

    fn address(&self, range: Range<usize>) -> Ipv4Addr {
        let bytes = &self.buffer.as_ref()[range];
        Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])
    }

    /// The header's length with options (IHL x 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[ipv4_field::VERSION_IHL] & 0x0f) * 4
    }

    pub fn total_len(&self) -> usize {
        usize::from(self.word(ipv4_field::LENGTH))
    }

    pub fn identification(&self) -> u16 {
        self.word(ipv4_field::IDENTIFICATION)
    }

    /// More fragments follow, or this is not the first (RFC 791 section 3.1).
    pub fn is_fragment(&self) -> bool {
        self.word(ipv4_field::FLAGS_FRAGMENT) & 0x3fff != 0
    }

    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[ipv4_field::TTL]
    }

    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[ipv4_field::PROTOCOL]
    }

    pub fn source(&self) -> Ipv4Addr {
        self.address(ipv4_field::SOURCE)
    }

    pub fn destination(&self) -> Ipv4Addr {
        self.address(ipv4_field::DESTINATION)
    }

    /// The header checksum over the whole header (options included) is correct; false when the
    /// buffer does not hold the whole header.
    ///
    /// Summed word by word up to the largest header (60 bytes), a constant bound: in XDP the
    /// buffer is a 128-byte scratch and the verifier checks each read against that bound.
    /// ([`accumulate`] bounds its reads by the longest VRRP message instead.)
    #[inline(always)]
    pub fn verify_checksum(&self) -> bool {
        let bytes = self.buffer.as_ref();
        let words = self.header_len() / 2;
        if bytes.len() < 2 * words {
            return false;
        }
        let mut sum = 0u64;
        for word in 0..IPV4_MAX_HEADER_LEN / 2 {
            if word >= words {
                break;
            }
            // Opaque, so that the bounds check stays on the offset the read uses (see
            // `crate::opaque`).
            let at = crate::opaque(2 * word);
            let Some(pair) = bytes.get(at..at + 2) else {
                return false;
            };
            sum += u64::from(u16::from_be_bytes([pair[0], pair[1]]));
        }
        fold(sum) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    fn set(&mut self, range: Range<usize>, value: &[u8]) {
        self.buffer.as_mut()[range].copy_from_slice(value);
    }

    /// Recomputes the header checksum (a header without options).
    pub fn fill_checksum(&mut self) {
        self.set(ipv4_field::CHECKSUM, &[0, 0]);
        let checksum = finish(accumulate(0, &self.buffer.as_ref()[..IPV4_MIN_HEADER_LEN]));
        self.set(ipv4_field::CHECKSUM, &checksum.to_be_bytes());
    }
}

/// An IPv4 header without options, as vrrpd sends one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub source: Ipv4Addr,
    pub destination: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    pub tos: u8,
    pub identification: u16,
    /// The payload's length (the header adds its 20 bytes to the total).
    pub payload_len: usize,
}

impl Ipv4Repr {
    /// Writes the 20-byte header, with its checksum, into the start of `buffer`.
    pub fn emit(&self, buffer: &mut [u8]) -> Result<(), Error> {
        let total =
            u16::try_from(IPV4_MIN_HEADER_LEN + self.payload_len).map_err(|_| Error::BufferSize)?;
        let header = buffer
            .get_mut(..IPV4_MIN_HEADER_LEN)
            .ok_or(Error::BufferSize)?;
        let mut packet = Ipv4Packet::new_unchecked(header);
        packet.buffer[ipv4_field::VERSION_IHL] = 0x45;
        packet.buffer[ipv4_field::TOS] = self.tos;
        packet.set(ipv4_field::LENGTH, &total.to_be_bytes());
        packet.set(
            ipv4_field::IDENTIFICATION,
            &self.identification.to_be_bytes(),
        );
        packet.set(ipv4_field::FLAGS_FRAGMENT, &[0, 0]);
        packet.buffer[ipv4_field::TTL] = self.ttl;
        packet.buffer[ipv4_field::PROTOCOL] = self.protocol;
        packet.set(ipv4_field::SOURCE, &self.source.octets());
        packet.set(ipv4_field::DESTINATION, &self.destination.octets());
        packet.fill_checksum();
        Ok(())
    }
}

/// Where each field of the IPv6 header lies.
pub mod ipv6_field {
    use super::Range;

    pub const VERSION_CLASS_FLOW: Range<usize> = 0..4;
    pub const PAYLOAD_LENGTH: Range<usize> = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SOURCE: Range<usize> = 8..24;
    pub const DESTINATION: Range<usize> = 24..40;
}

/// A view of an IPv6 header; [`Ipv6Packet::new_checked`] makes sure its 40 bytes are there.
#[derive(Debug, Clone)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wraps without checking: call [`Ipv6Packet::check_len`] before any accessor.
    pub const fn new_unchecked(buffer: T) -> Ipv6Packet<T> {
        Ipv6Packet { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Ipv6Packet<T>, Error> {
        let packet = Ipv6Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// The header is there and says version 6.
    pub fn check_len(&self) -> Result<(), Error> {
        let bytes = self.buffer.as_ref();
        if bytes.len() < IPV6_HEADER_LEN {
            return Err(Error::Truncated);
        }
        if bytes[0] >> 4 != 6 {
            return Err(Error::BadVersion);
        }
        Ok(())
    }

    fn address(&self, range: Range<usize>) -> RawAddress {
        let mut address = [0u8; 16];
        address.copy_from_slice(&self.buffer.as_ref()[range]);
        address
    }

    pub fn payload_len(&self) -> usize {
        let bytes = &self.buffer.as_ref()[ipv6_field::PAYLOAD_LENGTH];
        usize::from(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[ipv6_field::NEXT_HEADER]
    }

    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[ipv6_field::HOP_LIMIT]
    }

    pub fn source(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.address(ipv6_field::SOURCE))
    }

    pub fn destination(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.address(ipv6_field::DESTINATION))
    }
}

/// An IPv6 header (flow label 0), as vrrpd sends one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Repr {
    pub source: Ipv6Addr,
    pub destination: Ipv6Addr,
    pub next_header: u8,
    pub hop_limit: u8,
    pub traffic_class: u8,
    pub payload_len: usize,
}

impl Ipv6Repr {
    /// Writes the 40-byte header into the start of `buffer`.
    pub fn emit(&self, buffer: &mut [u8]) -> Result<(), Error> {
        let length = u16::try_from(self.payload_len).map_err(|_| Error::BufferSize)?;
        let header = buffer.get_mut(..IPV6_HEADER_LEN).ok_or(Error::BufferSize)?;
        header[ipv6_field::VERSION_CLASS_FLOW].copy_from_slice(&[
            0x60 | (self.traffic_class >> 4),
            self.traffic_class << 4,
            0,
            0,
        ]);
        header[ipv6_field::PAYLOAD_LENGTH].copy_from_slice(&length.to_be_bytes());
        header[ipv6_field::NEXT_HEADER] = self.next_header;
        header[ipv6_field::HOP_LIMIT] = self.hop_limit;
        header[ipv6_field::SOURCE].copy_from_slice(&self.source.octets());
        header[ipv6_field::DESTINATION].copy_from_slice(&self.destination.octets());
        Ok(())
    }
}

/// What a VRRP receiver needs from the IP header, for either family. Addresses are kept in the
/// maps' form ([`RawAddress`]), since the receive path looks them up there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpMeta {
    pub family: Family,
    pub source: RawAddress,
    pub destination: RawAddress,
    /// TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
    /// The upper-layer protocol after any extension headers.
    pub protocol: u8,
    /// Offset of the upper-layer payload from the start of the IP header.
    pub payload_offset: usize,
    /// Length of the upper-layer payload, from the IP header's own length fields.
    pub payload_len: usize,
}

/// Reads the IPv4 packet in `bytes` (options skipped via IHL).
pub fn parse_ipv4(bytes: &[u8]) -> Result<IpMeta, Error> {
    parse_ipv4_header(bytes, bytes.len())
}

/// Reads an IPv4 header from the start of `bytes`, for a packet of which `packet_len` bytes are
/// available, refusing what the kernel would not deliver as one packet: a bad header checksum
/// or a fragment. `bytes` may be longer than the packet (the XDP program passes its whole
/// fixed-size scratch buffer, so that every read is bounded by a constant the verifier can see)
/// or shorter (it holds the header only); reads never go past either.
#[inline(always)]
pub fn parse_ipv4_header(bytes: &[u8], packet_len: usize) -> Result<IpMeta, Error> {
    let packet = Ipv4Packet::new_checked(bytes)?;
    let header_len = packet.header_len();
    let total_len = packet.total_len();
    if header_len < IPV4_MIN_HEADER_LEN || total_len < header_len {
        return Err(Error::BadHeaderLength);
    }
    if bytes.len() < header_len || packet_len < total_len {
        return Err(Error::Truncated);
    }
    if !packet.verify_checksum() {
        return Err(Error::BadChecksum);
    }
    if packet.is_fragment() {
        return Err(Error::Fragment);
    }
    Ok(IpMeta {
        family: Family::Ipv4,
        source: raw_from_ipv4(packet.source().octets()),
        destination: raw_from_ipv4(packet.destination().octets()),
        ttl: packet.ttl(),
        protocol: packet.protocol(),
        payload_offset: header_len,
        payload_len: total_len - header_len,
    })
}

const NEXT_HOP_BY_HOP: u8 = 0;
const NEXT_ROUTING: u8 = 43;
const NEXT_FRAGMENT: u8 = 44;
const NEXT_DESTINATION_OPTIONS: u8 = 60;
/// The IPv6 header and the extension headers before VRRP may take at most this many bytes; more
/// is refused as unsupported. The XDP program copies this much, and a constant bound lets the
/// verifier check every offset the walk reads.
pub const MAX_IPV6_HEADERS_LEN: usize = 128;
/// How many extension headers we walk before giving up (VRRP meets at most a hop-by-hop or a
/// destination-options header in practice).
pub const MAX_EXTENSION_HEADERS: usize = 4;

/// Reads the IPv6 packet in `bytes`, walking hop-by-hop, routing and destination-options headers.
pub fn parse_ipv6(bytes: &[u8]) -> Result<IpMeta, Error> {
    parse_ipv6_header(bytes, bytes.len())
}

/// Reads an IPv6 header and its extension headers from the start of `bytes`, for a packet of which
/// `packet_len` bytes are available; `bytes` as for [`parse_ipv4_header`] (extension headers
/// reaching past it are unsupported).
#[inline(always)]
pub fn parse_ipv6_header(bytes: &[u8], packet_len: usize) -> Result<IpMeta, Error> {
    let packet = Ipv6Packet::new_checked(bytes)?;
    let payload_len = packet.payload_len();
    if packet_len < IPV6_HEADER_LEN + payload_len {
        return Err(Error::Truncated);
    }
    let mut next = packet.next_header();
    let mut offset = IPV6_HEADER_LEN;
    for _ in 0..MAX_EXTENSION_HEADERS {
        match next {
            NEXT_HOP_BY_HOP | NEXT_ROUTING | NEXT_DESTINATION_OPTIONS => {
                if offset + 2 > packet_len {
                    return Err(Error::Truncated);
                }
                if offset + 2 > MAX_IPV6_HEADERS_LEN {
                    return Err(Error::UnsupportedExtension);
                }
                let extension = bytes
                    .get(offset..offset + 2)
                    .ok_or(Error::UnsupportedExtension)?;
                next = extension[0];
                offset = crate::opaque(offset + (usize::from(extension[1]) + 1) * 8);
            }
            NEXT_FRAGMENT => {
                // A fragment of VRRP cannot be checked without reassembly: refused. Fragments
                // of anything else are none of our business.
                let fragment = bytes
                    .get(offset..offset + 1)
                    .ok_or(Error::UnsupportedExtension)?;
                if fragment[0] == super::checksum::IPPROTO_VRRP {
                    return Err(Error::UnsupportedExtension);
                }
                break;
            }
            _ => break,
        }
    }
    if matches!(
        next,
        NEXT_HOP_BY_HOP | NEXT_ROUTING | NEXT_DESTINATION_OPTIONS
    ) {
        return Err(Error::UnsupportedExtension);
    }
    let end = IPV6_HEADER_LEN + payload_len;
    if offset > end {
        return Err(Error::BadHeaderLength);
    }
    if offset > bytes.len() || offset > MAX_IPV6_HEADERS_LEN {
        return Err(Error::UnsupportedExtension);
    }
    Ok(IpMeta {
        family: Family::Ipv6,
        source: packet.source().octets(),
        destination: packet.destination().octets(),
        ttl: packet.hop_limit(),
        protocol: next,
        payload_offset: offset,
        payload_len: end - offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vrrp_header(payload_len: usize) -> [u8; 32] {
        let mut packet = [0u8; 32];
        Ipv4Repr {
            source: Ipv4Addr::new(192, 0, 2, 1),
            destination: Ipv4Addr::new(224, 0, 0, 18),
            protocol: 112,
            ttl: 255,
            tos: TRAFFIC_CLASS_VRRP,
            identification: 7,
            payload_len,
        }
        .emit(&mut packet)
        .expect("room");
        packet
    }

    #[test]
    fn ipv4_round_trip_with_options() {
        let packet = vrrp_header(12);
        assert!(
            Ipv4Packet::new_checked(&packet[..])
                .expect("v4")
                .verify_checksum()
        );
        let meta = parse_ipv4(&packet).expect("valid");
        assert_eq!(meta.ttl, 255);
        assert_eq!(meta.protocol, 112);
        assert_eq!(meta.payload_offset, 20);
        assert_eq!(meta.payload_len, 12);
        // The same header with one 4-byte option (IHL 6), its checksum fixed by hand.
        let mut with_option = [0u8; 36];
        with_option[..20].copy_from_slice(&packet[..20]);
        with_option[0] = 0x46;
        with_option[2..4].copy_from_slice(&36u16.to_be_bytes());
        with_option[10..12].copy_from_slice(&[0, 0]);
        let sum = finish(accumulate(0, &with_option[..24]));
        with_option[10..12].copy_from_slice(&sum.to_be_bytes());
        let meta = parse_ipv4(&with_option).expect("valid");
        assert_eq!(meta.payload_offset, 24);
        assert_eq!(meta.payload_len, 12);
    }

    #[test]
    fn ipv4_refuses_a_bad_checksum_and_fragments_as_the_kernel_does() {
        let mut packet = vrrp_header(12);
        packet[8] = 254; // TTL changed, checksum not
        assert_eq!(parse_ipv4(&packet), Err(Error::BadChecksum));
        for flags_offset in [[0x20, 0x00], [0x00, 0x01], [0x40, 0x00]] {
            let mut fragment = vrrp_header(12);
            fragment[6..8].copy_from_slice(&flags_offset);
            let mut view = Ipv4Packet::new_unchecked(&mut fragment[..]);
            view.fill_checksum();
            let dont_fragment = flags_offset == [0x40, 0x00];
            assert_eq!(
                parse_ipv4(&fragment).map(|m| m.protocol),
                if dont_fragment {
                    Ok(112)
                } else {
                    Err(Error::Fragment)
                },
                "flags/offset {flags_offset:?}"
            );
        }
    }

    fn ipv6_header(next_header: u8, payload_len: usize, packet: &mut [u8]) {
        Ipv6Repr {
            source: Ipv6Addr::from([0xfe; 16]),
            destination: Ipv6Addr::from([0xff; 16]),
            next_header,
            hop_limit: 255,
            traffic_class: 0,
            payload_len,
        }
        .emit(packet)
        .expect("room");
    }

    #[test]
    fn ipv6_walks_a_hop_by_hop_header() {
        let mut packet = [0u8; 40 + 8 + 8];
        ipv6_header(0, 16, &mut packet);
        packet[40] = 112; // hop-by-hop's next header: VRRP
        packet[41] = 0; // 8 bytes long
        let meta = parse_ipv6(&packet).expect("valid");
        assert_eq!(meta.protocol, 112);
        assert_eq!(meta.payload_offset, 48);
        assert_eq!(meta.payload_len, 8);
    }

    #[test]
    fn ipv6_fragments_of_vrrp_are_refused_and_others_left_alone() {
        let mut packet = [0u8; 48];
        ipv6_header(44, 8, &mut packet);
        packet[40] = 112;
        assert_eq!(parse_ipv6(&packet), Err(Error::UnsupportedExtension));
        packet[40] = 17;
        assert_eq!(parse_ipv6(&packet).map(|m| m.protocol), Ok(44));
    }

    #[test]
    fn emit_refuses_short_buffers_and_oversized_payloads() {
        let mut short = [0u8; 19];
        let repr = Ipv4Repr {
            source: Ipv4Addr::UNSPECIFIED,
            destination: Ipv4Addr::UNSPECIFIED,
            protocol: 112,
            ttl: 255,
            tos: 0,
            identification: 0,
            payload_len: 8,
        };
        assert_eq!(repr.emit(&mut short), Err(Error::BufferSize));
        let mut room = [0u8; 20];
        let too_long = Ipv4Repr {
            payload_len: 70_000,
            ..repr
        };
        assert_eq!(too_long.emit(&mut room), Err(Error::BufferSize));
    }
}
