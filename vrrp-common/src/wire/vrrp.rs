//! VRRP advertisements, version 2 (RFC 3768 section 5) and version 3 (RFC 5798 / RFC 9568
//! section 5).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//! v2: |   Auth Type   |   Adver Int   |          Checksum         |
//! v3: |(rsvd) |     Max Adver Int     |          Checksum         |
//! |                IPvX Address(es) (Count of them)               |
//! v2 over IPv4 only: |        Authentication Data (8 bytes)       |
//! ```
//!
//! keepalived sends v2 over IPv6 without the authentication data; so do we.

use super::Family;
use super::checksum::{PseudoHeader, accumulate, finish};

/// The fixed part of every VRRP message.
pub const HEADER_LEN: usize = 8;
/// v2's trailing authentication data (RFC 3768 section 5.3.10).
pub const AUTH_DATA_LEN: usize = 8;
/// The only VRRP message type (RFC 5798 section 5.2.2).
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Priority of the address owner (RFC 5798 section 5.2.4).
pub const PRIORITY_OWNER: u8 = 255;
/// Priority a master sends when it stops (RFC 5798 section 5.2.4).
pub const PRIORITY_STOP: u8 = 0;
/// The largest VRRP message the datapath accepts: v2 with 255 IPv4 addresses and the
/// authentication data (1036 bytes); v3 over IPv6 fits up to 64 addresses.
pub const MAX_LEN: usize = HEADER_LEN + 255 * 4 + AUTH_DATA_LEN;
/// v3's Max Adver Int field is 12 bits of centiseconds (RFC 5798 section 5.2.7).
pub const MAX_V3_INTERVAL_CS: u16 = 0x0fff;

/// Protocol version (the high nibble of byte 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Version {
    V2 = 2,
    V3 = 3,
}

impl Version {
    pub const fn from_u8(value: u8) -> Option<Version> {
        match value {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }
}

/// v2 authentication (RFC 3768 section 5.3.6, and type 2 of RFC 2338 that keepalived keeps).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Auth {
    None,
    /// Type 1: up to 8 bytes of text, zero-padded.
    SimpleText([u8; AUTH_DATA_LEN]),
    /// Type 2: the IP Authentication Header before the message carries the proof (see
    /// [`super::ah`]); the message's own authentication data is zero.
    IpAh,
}

impl Auth {
    pub const TYPE_NONE: u8 = 0;
    pub const TYPE_SIMPLE_TEXT: u8 = 1;
    pub const TYPE_IP_AH: u8 = 2;

    pub const fn type_code(&self) -> u8 {
        match self {
            Auth::None => Auth::TYPE_NONE,
            Auth::SimpleText(_) => Auth::TYPE_SIMPLE_TEXT,
            Auth::IpAh => Auth::TYPE_IP_AH,
        }
    }

    /// The authentication data as it appears on the wire.
    pub const fn data(&self) -> [u8; AUTH_DATA_LEN] {
        match self {
            Auth::None | Auth::IpAh => [0; AUTH_DATA_LEN],
            Auth::SimpleText(data) => *data,
        }
    }
}

/// Why a byte string is not a usable VRRP advertisement. One reason per variant, so that the
/// datapath can count each separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// Shorter than the header, or than the header's own count of addresses says.
    Truncated,
    /// Longer than the header's count of addresses says.
    LengthMismatch,
    /// Version neither 2 nor 3.
    BadVersion,
    /// Type other than 1 (advertisement).
    BadType,
    BadChecksum,
    /// v2 auth type other than 0, 1 or 2.
    BadAuthType,
    /// An interval that the version cannot carry (v2: not whole seconds or over 255 s; v3: over
    /// 4095 centiseconds).
    BadInterval,
    /// `emit` was given a buffer of the wrong size.
    BufferSize,
}

/// The most addresses an advert of this version and family can carry within [`MAX_LEN`] (and the
/// 8-bit count): 255 IPv4 addresses, 64 IPv6 ones.
pub const fn max_addresses(version: Version, family: Family) -> usize {
    let room = (MAX_LEN - message_len(version, family, 0)) / family.address_len();
    if room < 255 { room } else { 255 }
}

/// The length a message of this version, family and address count must have.
pub const fn message_len(version: Version, family: Family, count: u8) -> usize {
    let auth = match (version, family) {
        (Version::V2, Family::Ipv4) => AUTH_DATA_LEN,
        _ => 0,
    };
    HEADER_LEN + count as usize * family.address_len() + auth
}

/// A read/write view of a VRRP message. Construct with [`Packet::new_checked`]; the accessors
/// then never go out of bounds.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    family: Family,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps without checking: call [`Packet::check_len`] before any accessor (they index the
    /// fixed header directly).
    pub const fn new_unchecked(buffer: T, family: Family) -> Packet<T> {
        Packet { buffer, family }
    }

    /// Wraps after [`Packet::check_len`].
    pub fn new_checked(buffer: T, family: Family) -> Result<Packet<T>, Error> {
        let packet = Packet::new_unchecked(buffer, family);
        packet.check_len()?;
        Ok(packet)
    }

    /// The buffer must hold exactly the message its header describes: the header, `count`
    /// addresses of the family, and for v2 over IPv4 the authentication data.
    pub fn check_len(&self) -> Result<(), Error> {
        let bytes = self.buffer.as_ref();
        if bytes.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let version = Version::from_u8(bytes[0] >> 4).ok_or(Error::BadVersion)?;
        let expected = message_len(version, self.family, bytes[3]);
        if bytes.len() < expected {
            Err(Error::Truncated)
        } else if bytes.len() > expected {
            Err(Error::LengthMismatch)
        } else {
            Ok(())
        }
    }

    /// The whole message.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn family(&self) -> Family {
        self.family
    }

    fn byte(&self, at: usize) -> u8 {
        self.buffer.as_ref()[at]
    }

    fn word(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.byte(at), self.byte(at + 1)])
    }

    pub fn version_raw(&self) -> u8 {
        self.byte(0) >> 4
    }

    pub fn version(&self) -> Option<Version> {
        Version::from_u8(self.version_raw())
    }

    pub fn kind(&self) -> u8 {
        self.byte(0) & 0x0f
    }

    pub fn vrid(&self) -> u8 {
        self.byte(1)
    }

    pub fn priority(&self) -> u8 {
        self.byte(2)
    }

    pub fn address_count(&self) -> u8 {
        self.byte(3)
    }

    /// v2: the Auth Type field.
    pub fn auth_type(&self) -> u8 {
        self.byte(4)
    }

    /// The advertisement interval in centiseconds: v2 carries whole seconds in byte 5; v3
    /// carries 12 bits of centiseconds in bytes 4-5.
    pub fn interval_cs(&self) -> u16 {
        match self.version() {
            Some(Version::V2) => u16::from(self.byte(5)) * 100,
            _ => self.word(4) & MAX_V3_INTERVAL_CS,
        }
    }

    pub fn checksum(&self) -> u16 {
        self.word(6)
    }

    /// The address list, `count` addresses of the family, in wire order.
    pub fn addresses(&self) -> &[u8] {
        let bytes = self.buffer.as_ref();
        let end = HEADER_LEN + usize::from(self.address_count()) * self.family.address_len();
        bytes.get(HEADER_LEN..end).unwrap_or(&[])
    }

    /// v2 over IPv4: the 8 bytes of authentication data at the end.
    pub fn auth_data(&self) -> [u8; AUTH_DATA_LEN] {
        let bytes = self.buffer.as_ref();
        let mut data = [0u8; AUTH_DATA_LEN];
        if bytes.len() >= HEADER_LEN + AUTH_DATA_LEN {
            let start = bytes.len() - AUTH_DATA_LEN;
            data.copy_from_slice(&bytes[start..]);
        }
        data
    }

    /// Whether the message carries authentication data (v2 over IPv4).
    pub fn has_auth_data(&self) -> bool {
        self.version() == Some(Version::V2) && self.family == Family::Ipv4
    }

    /// Everything but the length (checked by [`Packet::check_len`]) that makes a message a
    /// well-formed advertisement: type 1, a correct checksum, and for v2 a known authentication
    /// type. Returns the authentication it carries.
    ///
    /// The XDP program works on the `Packet` view directly rather than on a [`Repr`]: a struct
    /// holding a slice, returned through memory, loses its pointer type in the verifier's eyes.
    #[inline(always)]
    pub fn validate(&self, pseudo: &PseudoHeader) -> Result<Auth, Error> {
        self.check_len()?;
        let version = self.version().ok_or(Error::BadVersion)?;
        if self.kind() != TYPE_ADVERTISEMENT {
            return Err(Error::BadType);
        }
        if !self.verify_checksum(pseudo) {
            return Err(Error::BadChecksum);
        }
        if version == Version::V3 {
            return Ok(Auth::None);
        }
        match self.auth_type() {
            Auth::TYPE_NONE => Ok(Auth::None),
            Auth::TYPE_SIMPLE_TEXT if self.has_auth_data() => {
                Ok(Auth::SimpleText(self.auth_data()))
            }
            // keepalived sends v2 over IPv6 without the data field; a PASS type there carries
            // no password to compare.
            Auth::TYPE_SIMPLE_TEXT => Ok(Auth::SimpleText([0; AUTH_DATA_LEN])),
            Auth::TYPE_IP_AH => Ok(Auth::IpAh),
            _ => Err(Error::BadAuthType),
        }
    }

    /// True when the checksum over the message (and the pseudo-header) is correct.
    pub fn verify_checksum(&self, pseudo: &PseudoHeader) -> bool {
        let bytes = self.buffer.as_ref();
        let sum = pseudo.sum(bytes.len() as u16);
        finish(accumulate(sum, bytes)) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_byte(&mut self, at: usize, value: u8) {
        self.buffer.as_mut()[at] = value;
    }

    /// Recomputes the checksum field over the whole buffer.
    pub fn fill_checksum(&mut self, pseudo: &PseudoHeader) {
        self.set_byte(6, 0);
        self.set_byte(7, 0);
        let bytes = self.buffer.as_ref();
        let checksum = finish(accumulate(pseudo.sum(bytes.len() as u16), bytes));
        let [hi, lo] = checksum.to_be_bytes();
        self.set_byte(6, hi);
        self.set_byte(7, lo);
    }

    /// Changes the priority and fixes the checksum incrementally (RFC 1624), so a prepared
    /// advert can be re-sent with another priority (priority 0 on stop) cheaply.
    pub fn set_priority(&mut self, priority: u8) {
        let old_word = u16::from_be_bytes([self.byte(2), self.byte(3)]);
        self.set_byte(2, priority);
        let new_word = u16::from_be_bytes([self.byte(2), self.byte(3)]);
        // HC' = ~(~HC + ~m + m')
        let sum = u32::from(!self.checksum()) + u32::from(!old_word) + u32::from(new_word);
        let [hi, lo] = finish(sum).to_be_bytes();
        self.set_byte(6, hi);
        self.set_byte(7, lo);
    }
}

/// A parsed advertisement. `addresses` borrows the address list in wire order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Repr<'a> {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// Advertisement interval in centiseconds (v2: whole seconds x 100).
    pub interval_cs: u16,
    /// Always [`Auth::None`] for v3 and for v2 over IPv6.
    pub auth: Auth,
    pub family: Family,
    /// `count * family.address_len()` bytes.
    pub addresses: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Validates type, checksum and authentication type (see [`Packet::validate`]) and reads
    /// the fields.
    pub fn parse(packet: &Packet<&'a [u8]>, pseudo: &PseudoHeader) -> Result<Repr<'a>, Error> {
        let auth = packet.validate(pseudo)?;
        let version = packet.version().ok_or(Error::BadVersion)?;
        let bytes: &'a [u8] = packet.buffer;
        let end = HEADER_LEN + usize::from(packet.address_count()) * packet.family.address_len();
        let addresses = bytes.get(HEADER_LEN..end).ok_or(Error::Truncated)?;
        Ok(Repr {
            version,
            vrid: packet.vrid(),
            priority: packet.priority(),
            interval_cs: packet.interval_cs(),
            auth,
            family: packet.family,
            addresses,
        })
    }

    /// Number of addresses in the list.
    pub fn address_count(&self) -> usize {
        self.addresses.len() / self.family.address_len()
    }

    /// Length of the emitted message.
    pub fn buffer_len(&self) -> usize {
        message_len(self.version, self.family, self.address_count() as u8)
    }

    /// Writes the message into `buffer`, which must be exactly [`Repr::buffer_len`] bytes.
    pub fn emit(&self, buffer: &mut [u8], pseudo: &PseudoHeader) -> Result<(), Error> {
        let count = self.address_count();
        if count > 255
            || !self
                .addresses
                .len()
                .is_multiple_of(self.family.address_len())
        {
            return Err(Error::LengthMismatch);
        }
        if buffer.len() != self.buffer_len() {
            return Err(Error::BufferSize);
        }
        buffer[0] = ((self.version as u8) << 4) | TYPE_ADVERTISEMENT;
        buffer[1] = self.vrid;
        buffer[2] = self.priority;
        buffer[3] = count as u8;
        match self.version {
            Version::V2 => {
                if !self.interval_cs.is_multiple_of(100) || self.interval_cs / 100 > 255 {
                    return Err(Error::BadInterval);
                }
                buffer[4] = self.auth.type_code();
                buffer[5] = (self.interval_cs / 100) as u8;
            }
            Version::V3 => {
                if self.interval_cs > MAX_V3_INTERVAL_CS || self.auth != Auth::None {
                    return Err(Error::BadInterval);
                }
                buffer[4..6].copy_from_slice(&self.interval_cs.to_be_bytes());
            }
        }
        let addresses_end = HEADER_LEN + self.addresses.len();
        buffer[HEADER_LEN..addresses_end].copy_from_slice(self.addresses);
        if self.version == Version::V2 && self.family == Family::Ipv4 {
            buffer[addresses_end..].copy_from_slice(&self.auth.data());
        }
        Packet::new_unchecked(buffer, self.family).fill_checksum(pseudo);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_ADVERT: [u8; 20] = [
        0x21, 51, 100, 1, 1, 1, 0, 0, // v2 advert, vrid 51, prio 100, 1 addr, simple, 1 s
        172, 16, 1, 99, // the VIP
        b'a', b'b', b'c', b'1', b'2', b'3', 0, 0,
    ];

    fn with_checksum(mut bytes: [u8; 20]) -> [u8; 20] {
        Packet::new_unchecked(&mut bytes[..], Family::Ipv4).fill_checksum(&PseudoHeader::None);
        bytes
    }

    #[test]
    fn parses_the_seed_v2_advert() {
        let bytes = with_checksum(SEED_ADVERT);
        let packet = Packet::new_checked(&bytes[..], Family::Ipv4).expect("length");
        let repr = Repr::parse(&packet, &PseudoHeader::None).expect("valid");
        assert_eq!(repr.version, Version::V2);
        assert_eq!(repr.vrid, 51);
        assert_eq!(repr.priority, 100);
        assert_eq!(repr.interval_cs, 100);
        assert_eq!(repr.auth, Auth::SimpleText(*b"abc123\0\0"));
        assert_eq!(repr.addresses, &[172, 16, 1, 99]);
    }

    #[test]
    fn each_length_fault_has_its_reason() {
        let bytes = with_checksum(SEED_ADVERT);
        assert_eq!(
            Packet::new_checked(&bytes[..7], Family::Ipv4).err(),
            Some(Error::Truncated)
        );
        assert_eq!(
            Packet::new_checked(&bytes[..19], Family::Ipv4).err(),
            Some(Error::Truncated)
        );
        let mut longer = [0u8; 24];
        longer[..20].copy_from_slice(&bytes);
        assert_eq!(
            Packet::new_checked(&longer[..], Family::Ipv4).err(),
            Some(Error::LengthMismatch)
        );
        let mut v4 = bytes;
        v4[0] = 0x41;
        assert_eq!(
            Packet::new_checked(&v4[..], Family::Ipv4).err(),
            Some(Error::BadVersion)
        );
    }

    #[test]
    fn priority_change_keeps_the_checksum_valid() {
        let mut bytes = with_checksum(SEED_ADVERT);
        let mut packet = Packet::new_unchecked(&mut bytes[..], Family::Ipv4);
        packet.set_priority(0);
        assert!(packet.verify_checksum(&PseudoHeader::None));
        assert_eq!(packet.priority(), 0);
    }
}
