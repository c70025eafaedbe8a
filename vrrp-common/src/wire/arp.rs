//! ARP for IPv4 over Ethernet (RFC 826), and gratuitous ARP (RFC 5227 section 3 calls the
//! request form an "ARP Announcement").

use super::ethernet::{self, Mac};

/// An Ethernet/IPv4 ARP packet is always this long.
pub const LEN: usize = 28;
pub const OPERATION_REQUEST: u16 = 1;
pub const OPERATION_REPLY: u16 = 2;
const HARDWARE_ETHERNET: u16 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    Truncated,
    /// Not Ethernet hardware with IPv4 protocol addresses.
    Unsupported,
    /// Operation other than request or reply.
    BadOperation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Request,
    Reply,
}

/// A parsed Ethernet/IPv4 ARP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Repr {
    pub operation: Operation,
    pub sender_mac: Mac,
    pub sender_ip: [u8; 4],
    pub target_mac: Mac,
    pub target_ip: [u8; 4],
}

impl Repr {
    pub fn parse(bytes: &[u8]) -> Result<Repr, Error> {
        let packet = bytes.get(..LEN).ok_or(Error::Truncated)?;
        let word = |at: usize| u16::from_be_bytes([packet[at], packet[at + 1]]);
        if word(0) != HARDWARE_ETHERNET
            || word(2) != ethernet::ETHERTYPE_IPV4
            || packet[4] != 6
            || packet[5] != 4
        {
            return Err(Error::Unsupported);
        }
        let operation = match word(6) {
            OPERATION_REQUEST => Operation::Request,
            OPERATION_REPLY => Operation::Reply,
            _ => return Err(Error::BadOperation),
        };
        let mut repr = Repr {
            operation,
            sender_mac: [0; 6],
            sender_ip: [0; 4],
            target_mac: [0; 6],
            target_ip: [0; 4],
        };
        repr.sender_mac.copy_from_slice(&packet[8..14]);
        repr.sender_ip.copy_from_slice(&packet[14..18]);
        repr.target_mac.copy_from_slice(&packet[18..24]);
        repr.target_ip.copy_from_slice(&packet[24..28]);
        Ok(repr)
    }

    /// Writes the 28 bytes into `buffer`; `None` if it is shorter.
    pub fn emit(&self, buffer: &mut [u8]) -> Option<()> {
        let packet = buffer.get_mut(..LEN)?;
        packet[0..2].copy_from_slice(&HARDWARE_ETHERNET.to_be_bytes());
        packet[2..4].copy_from_slice(&ethernet::ETHERTYPE_IPV4.to_be_bytes());
        packet[4] = 6;
        packet[5] = 4;
        let operation = match self.operation {
            Operation::Request => OPERATION_REQUEST,
            Operation::Reply => OPERATION_REPLY,
        };
        packet[6..8].copy_from_slice(&operation.to_be_bytes());
        packet[8..14].copy_from_slice(&self.sender_mac);
        packet[14..18].copy_from_slice(&self.sender_ip);
        packet[18..24].copy_from_slice(&self.target_mac);
        packet[24..28].copy_from_slice(&self.target_ip);
        Some(())
    }

    /// The gratuitous ARP a new master broadcasts for each VIP (RFC 5798 section 6.4.1): a request
    /// whose sender and target are the VIP, as keepalived sends it.
    pub const fn gratuitous(mac: Mac, ip: [u8; 4]) -> Repr {
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
        self.sender_ip == [0; 4]
    }

    /// Writes the whole Ethernet frame (broadcast for requests, unicast to the target for replies)
    /// into `frame`; returns its length.
    pub fn emit_frame(&self, frame: &mut [u8]) -> Option<usize> {
        let destination = match self.operation {
            Operation::Request => ethernet::BROADCAST,
            Operation::Reply => self.target_mac,
        };
        ethernet::write_header(
            frame,
            &destination,
            &self.sender_mac,
            ethernet::ETHERTYPE_ARP,
        )?;
        self.emit(frame.get_mut(ethernet::HEADER_LEN..)?)?;
        Some(ethernet::HEADER_LEN + LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_swaps_the_parties() {
        let request = Repr {
            operation: Operation::Request,
            sender_mac: [2, 0, 0, 0, 0, 1],
            sender_ip: [192, 0, 2, 100],
            target_mac: [0; 6],
            target_ip: [192, 0, 2, 99],
        };
        let reply = request.reply_from([2, 0, 0, 0, 0, 2]);
        assert_eq!(reply.operation, Operation::Reply);
        assert_eq!(reply.sender_ip, [192, 0, 2, 99]);
        assert_eq!(reply.target_mac, [2, 0, 0, 0, 0, 1]);
        let mut buffer = [0u8; LEN];
        reply.emit(&mut buffer).expect("room");
        assert_eq!(Repr::parse(&buffer), Ok(reply));
    }

    #[test]
    fn gratuitous_and_probe_are_recognised() {
        assert!(Repr::gratuitous([2, 0, 0, 0, 0, 1], [192, 0, 2, 99]).is_gratuitous());
        let probe = Repr {
            operation: Operation::Request,
            sender_mac: [2, 0, 0, 0, 0, 1],
            sender_ip: [0; 4],
            target_mac: [0; 6],
            target_ip: [192, 0, 2, 99],
        };
        assert!(probe.is_probe());
    }
}
