//! Whole Ethernet frames carrying a VRRP advert, for senders that build frames themselves (the
//! load generator, the tests) and for checking frames byte for byte.

use super::checksum::IPPROTO_VRRP;
use super::ethernet::{self, Mac};
use super::ip::{self, IpMeta};
use super::vrrp::Repr;
use super::{Family, RawAddress};

/// Everything an advert frame needs besides the VRRP message.
#[derive(Clone, Copy, Debug)]
pub struct AdvertFrame<'a> {
    pub source_mac: Mac,
    /// The destination MAC; `None` derives it from a multicast destination address.
    pub destination_mac: Option<Mac>,
    pub source: RawAddress,
    pub destination: RawAddress,
    pub ttl: u8,
    /// IPv4 identification field (ignored for IPv6).
    pub identification: u16,
    /// v3 over IPv4 without the pseudo-header (keepalived's `v3_checksum_as_v2`).
    pub v3_checksum_as_v2: bool,
    pub advert: Repr<'a>,
}

impl AdvertFrame<'_> {
    /// The frame's length.
    pub fn len(&self) -> usize {
        let ip_header = match self.advert.family {
            Family::Ipv4 => ip::IPV4_MIN_HEADER_LEN,
            Family::Ipv6 => ip::IPV6_HEADER_LEN,
        };
        ethernet::HEADER_LEN + ip_header + self.advert.buffer_len()
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the frame into the start of `frame`; returns its length.
    pub fn emit(&self, frame: &mut [u8]) -> Option<usize> {
        let family = self.advert.family;
        let length = self.len();
        let frame = frame.get_mut(..length)?;
        let destination_mac = match (self.destination_mac, family) {
            (Some(mac), _) => mac,
            (None, Family::Ipv4) => ethernet::ipv4_multicast_mac([
                self.destination[0],
                self.destination[1],
                self.destination[2],
                self.destination[3],
            ]),
            (None, Family::Ipv6) => ethernet::ipv6_multicast_mac(&self.destination),
        };
        let ethertype = match family {
            Family::Ipv4 => ethernet::ETHERTYPE_IPV4,
            Family::Ipv6 => ethernet::ETHERTYPE_IPV6,
        };
        ethernet::write_header(frame, &destination_mac, &self.source_mac, ethertype)?;
        let packet = &mut frame[ethernet::HEADER_LEN..];
        let message_len = self.advert.buffer_len();
        let header_len = match family {
            Family::Ipv4 => {
                let source = [
                    self.source[0],
                    self.source[1],
                    self.source[2],
                    self.source[3],
                ];
                let destination = [
                    self.destination[0],
                    self.destination[1],
                    self.destination[2],
                    self.destination[3],
                ];
                ip::write_ipv4_header(
                    packet,
                    source,
                    destination,
                    IPPROTO_VRRP,
                    self.ttl,
                    message_len,
                    self.identification,
                )?;
                ip::IPV4_MIN_HEADER_LEN
            }
            Family::Ipv6 => {
                ip::write_ipv6_header(
                    packet,
                    &self.source,
                    &self.destination,
                    IPPROTO_VRRP,
                    self.ttl,
                    message_len,
                    ip::TRAFFIC_CLASS_VRRP,
                )?;
                ip::IPV6_HEADER_LEN
            }
        };
        let meta = IpMeta {
            family,
            source: self.source,
            destination: self.destination,
            ttl: self.ttl,
            protocol: IPPROTO_VRRP,
            payload_offset: header_len,
            payload_len: message_len,
        };
        let pseudo =
            crate::rules::pseudo_header(self.advert.version, &meta, self.v3_checksum_as_v2);
        self.advert
            .emit(
                packet.get_mut(header_len..header_len + message_len)?,
                &pseudo,
            )
            .ok()?;
        Some(length)
    }
}

/// The VRRP multicast groups (RFC 5798 section 5.1.1.2 / 5.1.2.2).
pub const VRRP_GROUP_IPV4: [u8; 4] = [224, 0, 0, 18];
pub const VRRP_GROUP_IPV6: RawAddress = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12];
