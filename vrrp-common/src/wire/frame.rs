//! Whole Ethernet frames carrying a VRRP advert, for senders that build frames themselves (the
//! load generator, the tests) and for checking frames byte for byte.

use core::net::{Ipv4Addr, Ipv6Addr};

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
    pub fn emit(&self, frame: &mut [u8]) -> Result<usize, EmitError> {
        let family = self.advert.family;
        let length = self.len();
        let frame = frame.get_mut(..length).ok_or(EmitError::BufferSize)?;
        let destination_mac = match (self.destination_mac, family) {
            (Some(mac), _) => mac,
            (None, Family::Ipv4) => ethernet::ipv4_multicast_mac(ipv4_of(&self.destination)),
            (None, Family::Ipv6) => ethernet::ipv6_multicast_mac(&self.destination),
        };
        let ethertype = match family {
            Family::Ipv4 => ethernet::ETHERTYPE_IPV4,
            Family::Ipv6 => ethernet::ETHERTYPE_IPV6,
        };
        ethernet::Repr {
            destination: destination_mac,
            source: self.source_mac,
            ethertype,
        }
        .emit(frame)
        .map_err(|_| EmitError::BufferSize)?;
        let packet = &mut frame[ethernet::HEADER_LEN..];
        let message_len = self.advert.buffer_len();
        let header_len = match family {
            Family::Ipv4 => {
                ip::Ipv4Repr {
                    source: Ipv4Addr::from(ipv4_of(&self.source)),
                    destination: Ipv4Addr::from(ipv4_of(&self.destination)),
                    protocol: IPPROTO_VRRP,
                    ttl: self.ttl,
                    tos: ip::TRAFFIC_CLASS_VRRP,
                    identification: self.identification,
                    payload_len: message_len,
                }
                .emit(packet)?;
                ip::IPV4_MIN_HEADER_LEN
            }
            Family::Ipv6 => {
                ip::Ipv6Repr {
                    source: Ipv6Addr::from(self.source),
                    destination: Ipv6Addr::from(self.destination),
                    next_header: IPPROTO_VRRP,
                    hop_limit: self.ttl,
                    traffic_class: ip::TRAFFIC_CLASS_VRRP,
                    payload_len: message_len,
                }
                .emit(packet)?;
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
        let style = if self.v3_checksum_as_v2 {
            crate::rules::V3Checksum::AsV2
        } else {
            crate::rules::V3Checksum::Standard
        };
        let pseudo = crate::rules::pseudo_header(self.advert.version, &meta, style);
        let message = packet
            .get_mut(header_len..header_len + message_len)
            .ok_or(EmitError::BufferSize)?;
        self.advert.emit(message, &pseudo)?;
        Ok(length)
    }
}

/// Why an advert frame could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmitError {
    /// The buffer is shorter than the frame.
    BufferSize,
    /// The IP header cannot carry the message (too long for its length field).
    Ip(ip::Error),
    /// The VRRP message cannot be built (see [`crate::wire::vrrp::Error`]).
    Vrrp(super::vrrp::Error),
}

impl From<ip::Error> for EmitError {
    fn from(error: ip::Error) -> EmitError {
        EmitError::Ip(error)
    }
}

impl From<super::vrrp::Error> for EmitError {
    fn from(error: super::vrrp::Error) -> EmitError {
        EmitError::Vrrp(error)
    }
}

/// The IPv4 address in the first four bytes of a [`RawAddress`].
const fn ipv4_of(raw: &RawAddress) -> [u8; 4] {
    [raw[0], raw[1], raw[2], raw[3]]
}

/// The VRRP multicast groups (RFC 5798 section 5.1.1.2 / 5.1.2.2).
pub const VRRP_GROUP_IPV4: [u8; 4] = [224, 0, 0, 18];
pub const VRRP_GROUP_IPV6: RawAddress = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12];
