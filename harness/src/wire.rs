//! Reading captured frames: the adverts and gratuitous ARPs on the wire, with their times.

use std::net::{IpAddr, Ipv4Addr};

use vrrp_common::rules;
use vrrp_common::wire::vrrp::{Packet, Repr, Version};
use vrrp_common::wire::{Family, arp, ethernet, ip, raw_to_ip};

use crate::capture::Frame;

/// One VRRP advert seen on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenAdvert {
    pub time_ns: u64,
    pub source_mac: [u8; 6],
    pub source: IpAddr,
    pub destination: IpAddr,
    pub ttl: u8,
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    pub interval_cs: u16,
    /// The checksum (with the right pseudo-header) was correct.
    pub checksum_ok: bool,
    /// It came behind an IP Authentication Header (keepalived's `auth_type AH`).
    pub behind_ah: bool,
}

/// One gratuitous ARP seen on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenGarp {
    pub time_ns: u64,
    pub source_mac: [u8; 6],
    pub address: Ipv4Addr,
}

pub fn adverts(frames: &[Frame]) -> Vec<SeenAdvert> {
    frames.iter().filter_map(advert).collect()
}

fn advert(frame: &Frame) -> Option<SeenAdvert> {
    let header = ethernet::Repr::parse_bytes(&frame.data).ok()?;
    let source_mac = header.source;
    let packet = frame.data.get(ethernet::HEADER_LEN..)?;
    let meta = match header.ethertype {
        ethernet::ETHERTYPE_IPV4 => ip::parse_ipv4(packet).ok()?,
        ethernet::ETHERTYPE_IPV6 => ip::parse_ipv6(packet).ok()?,
        _ => return None,
    };
    let (behind_ah, message_offset) = match meta.protocol {
        112 => (false, meta.payload_offset),
        vrrp_common::wire::ah::IPPROTO_AH => {
            let header =
                vrrp_common::wire::ah::Packet::new_checked(packet.get(meta.payload_offset..)?)
                    .ok()?;
            if header.next_header() != 112 {
                return None;
            }
            (
                true,
                meta.payload_offset + vrrp_common::wire::ah::HEADER_LEN,
            )
        }
        _ => return None,
    };
    let message_len = meta
        .payload_len
        .checked_sub(message_offset - meta.payload_offset)?;
    let message = packet.get(message_offset..message_offset + message_len)?;
    let view = Packet::new_checked(message, meta.family).ok()?;
    let version = view.version()?;
    let pseudo = rules::pseudo_header(version, &meta, rules::V3Checksum::Standard);
    let checksum_ok = Repr::parse(&view, &pseudo).is_ok();
    Some(SeenAdvert {
        time_ns: frame.time_ns,
        source_mac,
        source: raw_to_ip(meta.family, &meta.source),
        destination: raw_to_ip(meta.family, &meta.destination),
        ttl: meta.ttl,
        version,
        vrid: view.vrid(),
        priority: view.priority(),
        interval_cs: view.interval_cs(),
        checksum_ok,
        behind_ah,
    })
}

pub fn garps(frames: &[Frame]) -> Vec<SeenGarp> {
    frames
        .iter()
        .filter_map(|frame| {
            let header = ethernet::Repr::parse_bytes(&frame.data).ok()?;
            if header.ethertype != ethernet::ETHERTYPE_ARP {
                return None;
            }
            let parsed = arp::Repr::parse_bytes(frame.data.get(ethernet::HEADER_LEN..)?).ok()?;
            parsed.is_gratuitous().then_some(SeenGarp {
                time_ns: frame.time_ns,
                source_mac: header.source,
                address: parsed.sender_ip,
            })
        })
        .collect()
}

/// The adverts of one VRID from one source address.
pub fn from(adverts: &[SeenAdvert], source: IpAddr, vrid: u8) -> Vec<SeenAdvert> {
    adverts
        .iter()
        .filter(|a| a.source == source && a.vrid == vrid)
        .cloned()
        .collect()
}

/// Seconds between two capture times.
pub fn seconds(from_ns: u64, to_ns: u64) -> f64 {
    (to_ns as f64 - from_ns as f64) / 1e9
}

/// Family of an address.
pub fn family(address: &IpAddr) -> Family {
    match address {
        IpAddr::V4(_) => Family::Ipv4,
        IpAddr::V6(_) => Family::Ipv6,
    }
}

/// A silence between two consecutive adverts: when it began (the capture time of the advert
/// before it, wall clock ns) and how long it lasted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Gap {
    pub length: std::time::Duration,
    pub opened_ns: u64,
}

/// Every gap between two of `adverts` sent within `[from, to)` (wall clock ns), in order.
pub fn gaps(adverts: &[SeenAdvert], from: u64, to: u64) -> Vec<Gap> {
    let times: Vec<u64> = adverts
        .iter()
        .map(|a| a.time_ns)
        .filter(|t| (from..to).contains(t))
        .collect();
    times
        .windows(2)
        .map(|w| Gap {
            length: std::time::Duration::from_nanos(w[1] - w[0]),
            opened_ns: w[0],
        })
        .collect()
}

/// The longest gap between two of `adverts` sent within `[from, to)` (wall clock ns).
pub fn longest_gap(adverts: &[SeenAdvert], from: u64, to: u64) -> std::time::Duration {
    gaps(adverts, from, to)
        .into_iter()
        .map(|gap| gap.length)
        .max()
        .unwrap_or_default()
}
