//! Ethernet II frames (IEEE 802.3 with an EtherType) and the MAC addresses VRRP uses.

use core::ops::{Range, RangeFrom};

use super::Family;

/// A MAC address.
pub type Mac = [u8; 6];

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const BROADCAST: Mac = [0xff; 6];

/// Where each field lies in the frame.
pub mod field {
    use super::{Range, RangeFrom};

    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const PAYLOAD: RangeFrom<usize> = 14..;
}

/// The header's length: everything before the payload.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than an Ethernet header.
    Truncated,
}

/// A view of an Ethernet frame. [`Frame::new_checked`] makes sure the header is there; the
/// accessors then read and write it in place.
#[derive(Debug, Clone)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wraps without checking: call [`Frame::check_len`] before any accessor.
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Frame<T>, Error> {
        let frame = Frame::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    pub fn check_len(&self) -> Result<(), Error> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    fn mac(&self, range: Range<usize>) -> Mac {
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&self.buffer.as_ref()[range]);
        mac
    }

    pub fn destination(&self) -> Mac {
        self.mac(field::DESTINATION)
    }

    pub fn source(&self) -> Mac {
        self.mac(field::SOURCE)
    }

    pub fn ethertype(&self) -> u16 {
        let bytes = &self.buffer.as_ref()[field::ETHERTYPE];
        u16::from_be_bytes([bytes[0], bytes[1]])
    }

    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    pub fn set_destination(&mut self, mac: &Mac) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(mac);
    }

    pub fn set_source(&mut self, mac: &Mac) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(mac);
    }

    pub fn set_ethertype(&mut self, ethertype: u16) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&ethertype.to_be_bytes());
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// An Ethernet header's contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub destination: Mac,
    pub source: Mac,
    pub ethertype: u16,
}

impl Repr {
    /// Reads the header of a checked frame.
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Repr {
        Repr {
            destination: frame.destination(),
            source: frame.source(),
            ethertype: frame.ethertype(),
        }
    }

    /// Reads the header at the start of `bytes`.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Repr, Error> {
        Frame::new_checked(bytes).map(|frame| Repr::parse(&frame))
    }

    /// Writes the header into the start of `buffer`.
    pub fn emit(&self, buffer: &mut [u8]) -> Result<(), Error> {
        let mut frame = Frame::new_checked(buffer)?;
        frame.set_destination(&self.destination);
        frame.set_source(&self.source);
        frame.set_ethertype(self.ethertype);
        Ok(())
    }
}

/// The virtual router MAC address (RFC 5798 section 7.3): 00-00-5E-00-01-{VRID} for IPv4,
/// 00-00-5E-00-02-{VRID} for IPv6.
pub const fn virtual_mac(family: Family, vrid: u8) -> Mac {
    let family_byte = match family {
        Family::Ipv4 => 0x01,
        Family::Ipv6 => 0x02,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_round_trips_and_a_short_frame_is_refused() {
        let repr = Repr {
            destination: BROADCAST,
            source: [2, 0, 0, 0, 0, 1],
            ethertype: ETHERTYPE_ARP,
        };
        let mut buffer = [0u8; 20];
        repr.emit(&mut buffer).expect("room");
        assert_eq!(Repr::parse_bytes(&buffer), Ok(repr));
        assert_eq!(&buffer[12..14], &[0x08, 0x06]);
        assert_eq!(Repr::parse_bytes(&buffer[..13]), Err(Error::Truncated));
        assert_eq!(repr.emit(&mut buffer[..13]), Err(Error::Truncated));
    }
}
