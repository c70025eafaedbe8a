//! The parts of IPv4 (RFC 791) and IPv6 (RFC 8200) headers that carry VRRP.

use super::checksum::{accumulate, finish};
use super::{Family, RawAddress, raw_from_ipv4, read_u16};

pub const IPV4_MIN_HEADER_LEN: usize = 20;
pub const IPV6_HEADER_LEN: usize = 40;
/// RFC 5798 section 5.1.1.3 / 5.1.2.3: VRRP is sent with TTL / hop limit 255 and a receiver
/// discards anything else, which proves the sender is on the link.
pub const VRRP_TTL: u8 = 255;

/// Why bytes are not an IP packet this module can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    Truncated,
    BadVersion,
    /// IPv4 IHL below 5 or total length inconsistent with the header.
    BadHeaderLength,
    /// IPv6 extension headers beyond what VRRP can meet, or a fragment.
    UnsupportedExtension,
}

/// What a VRRP receiver needs from the IP header, for either family.
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
/// available. `bytes` may be longer than the packet (the XDP program passes its whole fixed-size
/// scratch buffer, so that every read is bounded by a constant the verifier can see) or shorter
/// (it holds the header only); reads never go past either.
#[inline(always)]
pub fn parse_ipv4_header(bytes: &[u8], packet_len: usize) -> Result<IpMeta, Error> {
    let header = bytes.get(..IPV4_MIN_HEADER_LEN).ok_or(Error::Truncated)?;
    if header[0] >> 4 != 4 {
        return Err(Error::BadVersion);
    }
    let header_len = usize::from(header[0] & 0x0f) * 4;
    let total_len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if header_len < IPV4_MIN_HEADER_LEN || total_len < header_len {
        return Err(Error::BadHeaderLength);
    }
    if bytes.len() < header_len || packet_len < total_len {
        return Err(Error::Truncated);
    }
    let mut source = [0u8; 4];
    let mut destination = [0u8; 4];
    source.copy_from_slice(&header[12..16]);
    destination.copy_from_slice(&header[16..20]);
    Ok(IpMeta {
        family: Family::Ipv4,
        source: raw_from_ipv4(source),
        destination: raw_from_ipv4(destination),
        ttl: header[8],
        protocol: header[9],
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
    let header = bytes.get(..IPV6_HEADER_LEN).ok_or(Error::Truncated)?;
    if header[0] >> 4 != 6 {
        return Err(Error::BadVersion);
    }
    let payload_len = usize::from(u16::from_be_bytes([header[4], header[5]]));
    if packet_len < IPV6_HEADER_LEN + payload_len {
        return Err(Error::Truncated);
    }
    let mut source = [0u8; 16];
    let mut destination = [0u8; 16];
    source.copy_from_slice(&header[8..24]);
    destination.copy_from_slice(&header[24..40]);
    let mut next = header[6];
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
        source,
        destination,
        ttl: header[7],
        protocol: next,
        payload_offset: offset,
        payload_len: end - offset,
    })
}

/// Writes a 20-byte IPv4 header (no options) with a correct header checksum. keepalived sends
/// VRRP with TOS 0xc0 (internetwork control); so do we.
pub fn write_ipv4_header(
    buffer: &mut [u8],
    source: [u8; 4],
    destination: [u8; 4],
    protocol: u8,
    ttl: u8,
    payload_len: usize,
    identification: u16,
) -> Option<()> {
    let header = buffer.get_mut(..IPV4_MIN_HEADER_LEN)?;
    let total = u16::try_from(IPV4_MIN_HEADER_LEN + payload_len).ok()?;
    header[0] = 0x45;
    header[1] = 0xc0;
    header[2..4].copy_from_slice(&total.to_be_bytes());
    header[4..6].copy_from_slice(&identification.to_be_bytes());
    header[6] = 0;
    header[7] = 0;
    header[8] = ttl;
    header[9] = protocol;
    header[10] = 0;
    header[11] = 0;
    header[12..16].copy_from_slice(&source);
    header[16..20].copy_from_slice(&destination);
    let checksum = finish(accumulate(0, header));
    header[10..12].copy_from_slice(&checksum.to_be_bytes());
    Some(())
}

/// Traffic class of VRRP adverts (internetwork control, like IPv4's TOS 0xc0; keepalived's).
pub const TRAFFIC_CLASS_VRRP: u8 = 0xc0;

/// Writes a 40-byte IPv6 header (flow label 0).
pub fn write_ipv6_header(
    buffer: &mut [u8],
    source: &RawAddress,
    destination: &RawAddress,
    next_header: u8,
    hop_limit: u8,
    payload_len: usize,
    traffic_class: u8,
) -> Option<()> {
    let header = buffer.get_mut(..IPV6_HEADER_LEN)?;
    let length = u16::try_from(payload_len).ok()?;
    header[0] = 0x60 | (traffic_class >> 4);
    header[1] = traffic_class << 4;
    header[2] = 0;
    header[3] = 0;
    header[4..6].copy_from_slice(&length.to_be_bytes());
    header[6] = next_header;
    header[7] = hop_limit;
    header[8..24].copy_from_slice(source);
    header[24..40].copy_from_slice(destination);
    Some(())
}

/// Verifies an IPv4 header checksum.
pub fn ipv4_header_checksum_ok(bytes: &[u8]) -> bool {
    let Some(first) = bytes.first() else {
        return false;
    };
    let header_len = usize::from(first & 0x0f) * 4;
    bytes
        .get(..header_len)
        .is_some_and(|header| finish(accumulate(0, header)) == 0)
        && read_u16(bytes, 2).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_round_trip_with_options() {
        let mut packet = [0u8; 32];
        write_ipv4_header(
            &mut packet,
            [192, 0, 2, 1],
            [224, 0, 0, 18],
            112,
            255,
            12,
            7,
        )
        .expect("room");
        assert!(ipv4_header_checksum_ok(&packet));
        let meta = parse_ipv4(&packet).expect("valid");
        assert_eq!(meta.ttl, 255);
        assert_eq!(meta.protocol, 112);
        assert_eq!(meta.payload_offset, 20);
        assert_eq!(meta.payload_len, 12);
        // The same header with one 4-byte option (IHL 6).
        let mut with_option = [0u8; 36];
        with_option[..20].copy_from_slice(&packet[..20]);
        with_option[0] = 0x46;
        with_option[2..4].copy_from_slice(&36u16.to_be_bytes());
        let meta = parse_ipv4(&with_option).expect("valid");
        assert_eq!(meta.payload_offset, 24);
        assert_eq!(meta.payload_len, 12);
    }

    #[test]
    fn ipv6_walks_a_hop_by_hop_header() {
        let mut packet = [0u8; 40 + 8 + 8];
        write_ipv6_header(&mut packet, &[0xfe; 16], &[0xff; 16], 0, 255, 16, 0).expect("room");
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
        write_ipv6_header(&mut packet, &[0; 16], &[0; 16], 44, 255, 8, 0).expect("room");
        packet[40] = 112;
        assert_eq!(parse_ipv6(&packet), Err(Error::UnsupportedExtension));
        packet[40] = 17;
        assert_eq!(parse_ipv6(&packet).map(|m| m.protocol), Ok(44));
    }
}
