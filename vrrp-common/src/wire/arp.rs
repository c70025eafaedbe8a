//! ARP for IPv4 over Ethernet (RFC 826), and gratuitous ARP (RFC 5227 section 3 calls the
//! request form an "ARP Announcement").

use core::net::Ipv4Addr;
use core::ops::Range;

use super::ethernet::{self, Mac};

pub const OPERATION_REQUEST: u16 = 1;
pub const OPERATION_REPLY: u16 = 2;
const HARDWARE_ETHERNET: u16 = 1;

/// Where each field lies in an Ethernet/IPv4 ARP packet.
pub mod field {
    use super::Range;

    pub const HARDWARE_TYPE: Range<usize> = 0..2;
    pub const PROTOCOL_TYPE: Range<usize> = 2..4;
    pub const HARDWARE_LEN: usize = 4;
    pub const PROTOCOL_LEN: usize = 5;
    pub const OPERATION: Range<usize> = 6..8;
    pub const SENDER_MAC: Range<usize> = 8..14;
    pub const SENDER_IP: Range<usize> = 14..18;
    pub const TARGET_MAC: Range<usize> = 18..24;
    pub const TARGET_IP: Range<usize> = 24..28;
}

/// An Ethernet/IPv4 ARP packet is always this long.
pub const LEN: usize = field::TARGET_IP.end;
/// A whole ARP frame.
pub const FRAME_LEN: usize = ethernet::HEADER_LEN + LEN;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    Truncated,
    /// Not Ethernet hardware with IPv4 protocol addresses.
    Unsupported,
    /// Operation other than request or reply.
    BadOperation,
}

impl From<ethernet::Error> for Error {
    fn from(_: ethernet::Error) -> Error {
        Error::Truncated
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Request,
    Reply,
}

/// A view of an ARP packet; [`Packet::new_checked`] makes sure all 28 bytes are there.
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
        if self.buffer.as_ref().len() < LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    fn word(&self, range: Range<usize>) -> u16 {
        let bytes = &self.buffer.as_ref()[range];
        u16::from_be_bytes([bytes[0], bytes[1]])
    }

    fn mac(&self, range: Range<usize>) -> Mac {
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&self.buffer.as_ref()[range]);
        mac
    }

    fn ip(&self, range: Range<usize>) -> Ipv4Addr {
        let bytes = &self.buffer.as_ref()[range];
        Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])
    }

    /// Ethernet hardware addresses and IPv4 protocol addresses, the only kind VRRP meets.
    pub fn is_ethernet_ipv4(&self) -> bool {
        let bytes = self.buffer.as_ref();
        self.word(field::HARDWARE_TYPE) == HARDWARE_ETHERNET
            && self.word(field::PROTOCOL_TYPE) == ethernet::ETHERTYPE_IPV4
            && bytes[field::HARDWARE_LEN] == 6
            && bytes[field::PROTOCOL_LEN] == 4
    }

    pub fn operation(&self) -> u16 {
        self.word(field::OPERATION)
    }

    pub fn sender_mac(&self) -> Mac {
        self.mac(field::SENDER_MAC)
    }

    pub fn sender_ip(&self) -> Ipv4Addr {
        self.ip(field::SENDER_IP)
    }

    pub fn target_mac(&self) -> Mac {
        self.mac(field::TARGET_MAC)
    }

    pub fn target_ip(&self) -> Ipv4Addr {
        self.ip(field::TARGET_IP)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set(&mut self, range: Range<usize>, value: &[u8]) {
        self.buffer.as_mut()[range].copy_from_slice(value);
    }
}

/// A parsed Ethernet/IPv4 ARP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Repr {
    pub operation: Operation,
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_mac: Mac,
    pub target_ip: Ipv4Addr,
}

impl Repr {
    /// Reads a checked packet.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, Error> {
        if !packet.is_ethernet_ipv4() {
            return Err(Error::Unsupported);
        }
        let operation = match packet.operation() {
            OPERATION_REQUEST => Operation::Request,
            OPERATION_REPLY => Operation::Reply,
            _ => return Err(Error::BadOperation),
        };
        Ok(Repr {
            operation,
            sender_mac: packet.sender_mac(),
            sender_ip: packet.sender_ip(),
            target_mac: packet.target_mac(),
            target_ip: packet.target_ip(),
        })
    }

    /// Reads the packet at the start of `bytes` (an Ethernet frame's payload).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Repr, Error> {
        Repr::parse(&Packet::new_checked(bytes)?)
    }

    /// Writes the 28 bytes into the start of `buffer`.
    pub fn emit(&self, buffer: &mut [u8]) -> Result<(), Error> {
        let mut packet = Packet::new_checked(buffer)?;
        let operation = match self.operation {
            Operation::Request => OPERATION_REQUEST,
            Operation::Reply => OPERATION_REPLY,
        };
        packet.set(field::HARDWARE_TYPE, &HARDWARE_ETHERNET.to_be_bytes());
        packet.set(
            field::PROTOCOL_TYPE,
            &ethernet::ETHERTYPE_IPV4.to_be_bytes(),
        );
        packet.buffer[field::HARDWARE_LEN] = 6;
        packet.buffer[field::PROTOCOL_LEN] = 4;
        packet.set(field::OPERATION, &operation.to_be_bytes());
        packet.set(field::SENDER_MAC, &self.sender_mac);
        packet.set(field::SENDER_IP, &self.sender_ip.octets());
        packet.set(field::TARGET_MAC, &self.target_mac);
        packet.set(field::TARGET_IP, &self.target_ip.octets());
        Ok(())
    }

    /// The gratuitous ARP a new master broadcasts for each VIP (RFC 5798 section 6.4.1): a request
    /// whose sender and target are the VIP, as keepalived sends it.
    pub const fn gratuitous(mac: Mac, ip: Ipv4Addr) -> Repr {
        Repr {
            operation: Operation::Request,
            sender_mac: mac,
            sender_ip: ip,
            target_mac: ethernet::BROADCAST,
            target_ip: ip,
        }
    }

    /// The reply to this request, from `mac` owning the requested address.
    pub const fn reply_from(&self, mac: Mac) -> Repr {
        Repr {
            operation: Operation::Reply,
            sender_mac: mac,
            sender_ip: self.target_ip,
            target_mac: self.sender_mac,
            target_ip: self.sender_ip,
        }
    }

    /// A gratuitous ARP announces the sender's own address; nobody answers it.
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }

    /// An ARP probe (RFC 5227 section 2.1.1) has sender address 0.0.0.0; answering it would
    /// break the prober's duplicate address detection for the wrong reason.
    pub fn is_probe(&self) -> bool {
        self.sender_ip.is_unspecified()
    }

    /// Writes the whole Ethernet frame (broadcast for requests, unicast to the target for replies)
    /// into `frame`; returns its length.
    pub fn emit_frame(&self, frame: &mut [u8]) -> Result<usize, Error> {
        let destination = match self.operation {
            Operation::Request => ethernet::BROADCAST,
            Operation::Reply => self.target_mac,
        };
        let frame = frame.get_mut(..FRAME_LEN).ok_or(Error::Truncated)?;
        ethernet::Repr {
            destination,
            source: self.sender_mac,
            ethertype: ethernet::ETHERTYPE_ARP,
        }
        .emit(frame)?;
        self.emit(&mut frame[ethernet::HEADER_LEN..])?;
        Ok(FRAME_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
    const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 99);

    #[test]
    fn reply_swaps_the_parties() {
        let request = Repr {
            operation: Operation::Request,
            sender_mac: [2, 0, 0, 0, 0, 1],
            sender_ip: CLIENT,
            target_mac: [0; 6],
            target_ip: VIP,
        };
        let reply = request.reply_from([2, 0, 0, 0, 0, 2]);
        assert_eq!(reply.operation, Operation::Reply);
        assert_eq!(reply.sender_ip, VIP);
        assert_eq!(reply.target_mac, [2, 0, 0, 0, 0, 1]);
        let mut buffer = [0u8; LEN];
        reply.emit(&mut buffer).expect("room");
        assert_eq!(Repr::parse_bytes(&buffer), Ok(reply));
        assert_eq!(Repr::parse_bytes(&buffer[..LEN - 1]), Err(Error::Truncated));
        assert_eq!(reply.emit(&mut buffer[..LEN - 1]), Err(Error::Truncated));
    }

    #[test]
    fn gratuitous_and_probe_are_recognised() {
        assert!(Repr::gratuitous([2, 0, 0, 0, 0, 1], VIP).is_gratuitous());
        let probe = Repr {
            operation: Operation::Request,
            sender_mac: [2, 0, 0, 0, 0, 1],
            sender_ip: Ipv4Addr::UNSPECIFIED,
            target_mac: [0; 6],
            target_ip: VIP,
        };
        assert!(probe.is_probe());
    }

    #[test]
    fn a_frame_carries_the_header_and_other_hardware_is_unsupported() {
        let mut frame = [0u8; FRAME_LEN];
        let garp = Repr::gratuitous([2, 0, 0, 0, 0, 1], VIP);
        assert_eq!(garp.emit_frame(&mut frame), Ok(FRAME_LEN));
        assert_eq!(&frame[..6], &ethernet::BROADCAST);
        assert_eq!(Repr::parse_bytes(&frame[ethernet::HEADER_LEN..]), Ok(garp));
        frame[ethernet::HEADER_LEN + 1] = 6; // hardware type 6 (IEEE 802)
        assert_eq!(
            Repr::parse_bytes(&frame[ethernet::HEADER_LEN..]),
            Err(Error::Unsupported)
        );
        assert_eq!(
            garp.emit_frame(&mut frame[..FRAME_LEN - 1]),
            Err(Error::Truncated)
        );
    }
}
