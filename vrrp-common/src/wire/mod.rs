//! Wire formats, in the smoltcp style: a zero-copy view over bytes (`Packet<T>`) whose
//! `check_len` runs before any accessor, plus a `Repr` with `parse` and `emit`.

pub mod ah;
pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod frame;
pub mod icmpv6;
pub mod ip;
pub mod vrrp;

/// IP address family of a virtual router (RFC 5798 section 5: the family of the IP header
/// decides the family of the addresses in the advert).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Family {
    Ipv4 = 4,
    Ipv6 = 6,
}

impl Family {
    /// Size of one address of this family.
    pub const fn address_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }

    pub const fn from_u8(value: u8) -> Option<Family> {
        match value {
            4 => Some(Family::Ipv4),
            6 => Some(Family::Ipv6),
            _ => None,
        }
    }
}

/// An IPv4 or IPv6 address stored the way the maps store it: 16 bytes, IPv4 in the first four
/// (the rest zero). Comparisons are numeric in network order, which is what the RFC's "primary
/// IP address is higher" tie-break means.
pub type RawAddress = [u8; 16];

/// Stores an IPv4 address as a [`RawAddress`].
pub const fn raw_from_ipv4(octets: [u8; 4]) -> RawAddress {
    let mut raw = [0u8; 16];
    raw[0] = octets[0];
    raw[1] = octets[1];
    raw[2] = octets[2];
    raw[3] = octets[3];
    raw
}

/// Copies the first `family.address_len()` bytes of `bytes` into a [`RawAddress`]; `None` if
/// `bytes` is shorter.
pub fn raw_from_slice(family: Family, bytes: &[u8]) -> Option<RawAddress> {
    let len = family.address_len();
    let source = bytes.get(..len)?;
    let mut raw = [0u8; 16];
    raw[..len].copy_from_slice(source);
    Some(raw)
}

/// Converts to `core::net::IpAddr` for display and for the host side.
pub fn raw_to_ip(family: Family, raw: &RawAddress) -> core::net::IpAddr {
    match family {
        Family::Ipv4 => {
            core::net::IpAddr::V4(core::net::Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]))
        }
        Family::Ipv6 => core::net::IpAddr::V6(core::net::Ipv6Addr::from(*raw)),
    }
}

/// Converts from `core::net::IpAddr`.
pub fn raw_from_ip(address: core::net::IpAddr) -> (Family, RawAddress) {
    match address {
        core::net::IpAddr::V4(v4) => (Family::Ipv4, raw_from_ipv4(v4.octets())),
        core::net::IpAddr::V6(v6) => (Family::Ipv6, v6.octets()),
    }
}
