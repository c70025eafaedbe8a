//! Ethernet II headers and the MAC addresses VRRP uses.

pub const HEADER_LEN: usize = 14;
pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const BROADCAST: [u8; 6] = [0xff; 6];

pub type Mac = [u8; 6];

/// Writes a header into the first 14 bytes of `frame`; `None` if it is shorter.
pub fn write_header(
    frame: &mut [u8],
    destination: &Mac,
    source: &Mac,
    ethertype: u16,
) -> Option<()> {
    let header = frame.get_mut(..HEADER_LEN)?;
    header[..6].copy_from_slice(destination);
    header[6..12].copy_from_slice(source);
    header[12..14].copy_from_slice(&ethertype.to_be_bytes());
    Some(())
}

/// The destination, source and EtherType of a frame; `None` if shorter than a header.
pub fn read_header(frame: &[u8]) -> Option<(Mac, Mac, u16)> {
    let header = frame.get(..HEADER_LEN)?;
    let mut destination = [0u8; 6];
    let mut source = [0u8; 6];
    destination.copy_from_slice(&header[..6]);
    source.copy_from_slice(&header[6..12]);
    Some((
        destination,
        source,
        u16::from_be_bytes([header[12], header[13]]),
    ))
}

/// The virtual router MAC address (RFC 5798 section 7.3): 00-00-5E-00-01-{VRID} for IPv4,
/// 00-00-5E-00-02-{VRID} for IPv6.
pub const fn virtual_mac(family: super::Family, vrid: u8) -> Mac {
    let family_byte = match family {
        super::Family::Ipv4 => 0x01,
        super::Family::Ipv6 => 0x02,
    };
    [0x00, 0x00, 0x5e, 0x00, family_byte, vrid]
}

/// The Ethernet group address an IPv4 multicast group maps to (RFC 1112 section 6.4).
pub const fn ipv4_multicast_mac(group: [u8; 4]) -> Mac {
    [0x01, 0x00, 0x5e, group[1] & 0x7f, group[2], group[3]]
}

/// The Ethernet group address an IPv6 multicast group maps to (RFC 2464 section 7).
pub const fn ipv6_multicast_mac(group: &[u8; 16]) -> Mac {
    [0x33, 0x33, group[12], group[13], group[14], group[15]]
}
