//! The IP Authentication Header as keepalived uses it for VRRPv2's authentication type 2
//! (RFC 2338 section 5.3.6.3; RFC 3768 removed it, keepalived still implements it, IPv4 only):
//! RFC 2402's header, with an ICV of HMAC-MD5-96 (RFC 2403) keyed with the instance's 8-byte
//! `auth_pass`.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! | Next Header   |  Payload Len  |          RESERVED             |
//! |                 Security Parameters Index (SPI)               |
//! |                    Sequence Number Field                      |
//! |          Authentication Data (12 bytes: the ICV)              |
//! ```
//!
//! keepalived's choices, which a peer must share to interoperate (keepalived/vrrp/vrrp.c,
//! `vrrp_update_pkt` and `vrrp_in_chk_ipsecah`): the SPI is the sender's IPv4 address; the ICV
//! covers the IPv4 header with its mutable fields zeroed (type of service, flags and fragment
//! offset, header checksum, and the TTL when the instance has unicast peers, which routers
//! between may decrement), then this header with the authentication data zeroed, then the VRRP
//! message. The HMAC itself is computed in userspace (`vrrp-user`'s `net::ipsec_ah`).

/// IP protocol number of the Authentication Header.
pub const IPPROTO_AH: u8 = 51;
/// The header with its 96-bit ICV.
pub const HEADER_LEN: usize = 24;
/// HMAC-MD5 truncated to 96 bits (RFC 2403 section 2).
pub const ICV_LEN: usize = 12;
/// The Payload Len field: the header's length in 32-bit words, minus 2 (RFC 2402 section 2.2).
pub const PAYLOAD_LEN_WORDS: u8 = (HEADER_LEN / 4 - 2) as u8;
/// The longest IPv4 header (IHL 15) whose copy the ICV covers.
pub const MAX_IPV4_HEADER_LEN: usize = 60;

mod field {
    use core::ops::Range;
    pub const NEXT_HEADER: usize = 0;
    pub const PAYLOAD_LEN: usize = 1;
    pub const SPI: Range<usize> = 4..8;
    pub const SEQUENCE: Range<usize> = 8..12;
    pub const ICV: Range<usize> = 12..24;
}

/// Why bytes are not an Authentication Header keepalived would accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than the header.
    Truncated,
    /// A Payload Len other than a 96-bit ICV's.
    BadPayloadLength,
    /// An IPv4 header too short or too long to be one.
    BadIpHeader,
}

/// A read/write view of an Authentication Header at the start of `buffer` (which may go on with
/// the payload it protects).
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps after checking the length and the Payload Len field, so that the accessors never
    /// go out of bounds.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let bytes = buffer.as_ref();
        if bytes.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if bytes[field::PAYLOAD_LEN] != PAYLOAD_LEN_WORDS {
            return Err(Error::BadPayloadLength);
        }
        Ok(Packet { buffer })
    }

    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NEXT_HEADER]
    }

    fn word(&self, range: core::ops::Range<usize>) -> u32 {
        let bytes = &self.buffer.as_ref()[range];
        u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    }

    /// The Security Parameters Index, as its four bytes on the wire.
    pub fn spi(&self) -> [u8; 4] {
        let bytes = &self.buffer.as_ref()[field::SPI];
        [bytes[0], bytes[1], bytes[2], bytes[3]]
    }

    pub fn sequence(&self) -> u32 {
        self.word(field::SEQUENCE)
    }

    pub fn icv(&self) -> [u8; ICV_LEN] {
        let mut icv = [0; ICV_LEN];
        icv.copy_from_slice(&self.buffer.as_ref()[field::ICV]);
        icv
    }

    /// What follows the header (the protected payload).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_sequence(&mut self, sequence: u32) {
        self.buffer.as_mut()[field::SEQUENCE].copy_from_slice(&sequence.to_be_bytes());
    }

    pub fn set_icv(&mut self, icv: &[u8; ICV_LEN]) {
        self.buffer.as_mut()[field::ICV].copy_from_slice(icv);
    }
}

/// The fields of a header we send; the ICV is filled in by whoever holds the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub next_header: u8,
    /// keepalived puts the sender's IPv4 address here.
    pub spi: [u8; 4],
    pub sequence: u32,
}

impl Repr {
    /// Writes the header with a zero ICV into the first [`HEADER_LEN`] bytes of `buffer`.
    pub fn emit(&self, buffer: &mut [u8]) -> Result<(), Error> {
        let header = buffer.get_mut(..HEADER_LEN).ok_or(Error::Truncated)?;
        header.fill(0);
        header[field::NEXT_HEADER] = self.next_header;
        header[field::PAYLOAD_LEN] = PAYLOAD_LEN_WORDS;
        header[field::SPI].copy_from_slice(&self.spi);
        header[field::SEQUENCE].copy_from_slice(&self.sequence.to_be_bytes());
        Ok(())
    }
}

/// The IPv4 header as the ICV covers it: copied from `ip_header` (its whole length, options
/// included) with type of service, flags and fragment offset and the header checksum zeroed,
/// and the TTL too for an instance with unicast peers. Returns the copy and its length.
pub fn icv_ip_header(
    ip_header: &[u8],
    unicast: bool,
) -> Result<([u8; MAX_IPV4_HEADER_LEN], usize), Error> {
    let length = match ip_header.first() {
        Some(first) => usize::from(first & 0x0f) * 4,
        None => return Err(Error::BadIpHeader),
    };
    if !(20..=MAX_IPV4_HEADER_LEN).contains(&length) || ip_header.len() < length {
        return Err(Error::BadIpHeader);
    }
    let mut copy = [0u8; MAX_IPV4_HEADER_LEN];
    copy[..length].copy_from_slice(&ip_header[..length]);
    // Type of service.
    copy[1] = 0;
    // Flags and fragment offset.
    copy[6] = 0;
    copy[7] = 0;
    if unicast {
        copy[8] = 0;
    }
    // Header checksum.
    copy[10] = 0;
    copy[11] = 0;
    Ok((copy, length))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_emitted_reads_back() {
        let mut bytes = [0xffu8; HEADER_LEN + 4];
        Repr {
            next_header: 112,
            spi: [192, 0, 2, 1],
            sequence: 7,
        }
        .emit(&mut bytes)
        .expect("room");
        let packet = Packet::new_checked(&bytes[..]).expect("valid");
        assert_eq!(packet.next_header(), 112);
        assert_eq!(packet.spi(), [192, 0, 2, 1]);
        assert_eq!(packet.sequence(), 7);
        assert_eq!(packet.icv(), [0; ICV_LEN]);
        assert_eq!(packet.payload(), &[0xff; 4]);
        assert_eq!(bytes[1], 4, "payload length in words minus two");
    }

    #[test]
    fn short_or_odd_headers_are_refused() {
        assert_eq!(
            Packet::new_checked(&[0u8; 23][..]).err(),
            Some(Error::Truncated)
        );
        let mut bytes = [0u8; HEADER_LEN];
        bytes[1] = 6;
        assert_eq!(
            Packet::new_checked(&bytes[..]).err(),
            Some(Error::BadPayloadLength)
        );
    }

    #[test]
    fn the_icv_copy_zeroes_the_mutable_fields() {
        let header: [u8; 20] = [
            0x45, 0xc0, 0, 64, 0x12, 0x34, 0x40, 0, 255, 51, 0xab, 0xcd, 192, 0, 2, 1, 224, 0, 0,
            18,
        ];
        let (copy, length) = icv_ip_header(&header, false).expect("valid");
        assert_eq!(length, 20);
        assert_eq!(
            &copy[..20],
            &[
                0x45, 0, 0, 64, 0x12, 0x34, 0, 0, 255, 51, 0, 0, 192, 0, 2, 1, 224, 0, 0, 18
            ]
        );
        let (unicast, _) = icv_ip_header(&header, true).expect("valid");
        assert_eq!(
            unicast[8], 0,
            "the TTL of a unicast instance is not covered"
        );
        assert_eq!(icv_ip_header(&header[..19], false), Err(Error::BadIpHeader));
        assert_eq!(icv_ip_header(&[0x44], false), Err(Error::BadIpHeader));
    }
}
