//! keepalived's IPsec Authentication Header for VRRPv2 (`auth_type AH`): sealing our adverts
//! and opening received ones, wire-compatible with keepalived (keepalived/vrrp/vrrp.c,
//! `vrrp_update_pkt`, `vrrp_in_chk_ipsecah`; the header and what its ICV covers are in
//! [`vrrp_common::wire::ah`]).
//!
//! The sequence number follows keepalived, RFC 2402's anti-replay reduced to one counter per
//! instance that serves both directions: a sent advert carries the counter plus one; a received
//! one is taken only if its number is above the counter, which then becomes that number. So a
//! backup that becomes master goes on from the last number it heard, above what its peers hold.

use hmac::{Hmac, Mac};
use md5::Md5;
use vrrp_common::wire::ah::{self, ICV_LEN, IPPROTO_AH};
use vrrp_common::wire::checksum::IPPROTO_VRRP;

/// Where the VRRP message starts in an advert we send: a 20-byte IPv4 header, then the AH.
pub const MESSAGE_OFFSET: usize = 20 + ah::HEADER_LEN;
/// keepalived stops counting here (and would leave master, after some 136 years at 1 s).
const LAST_SEQUENCE: u32 = 0xffff_fffd;

/// Why a received packet was refused, with keepalived's wording in `Display`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("IPSEC-AH : malformed header ({0:?})")]
    Malformed(ah::Error),
    /// An Authentication Header over something other than VRRP: not ours to judge.
    #[error("IPSEC-AH : next header {0} is not VRRP")]
    NotVrrp(u8),
    #[error("IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !")]
    BadIcv,
    #[error("IPSEC AH : invalid IPSEC SPI value. {spi:?} and expect {sender:?}")]
    BadSpi { spi: [u8; 4], sender: [u8; 4] },
    #[error(
        "IPSEC-AH : sequence number {received} already processed. Packet dropped. Local({local})"
    )]
    Replayed { received: u32, local: u32 },
}

/// A packet whose Authentication Header checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// Where the VRRP message starts in the packet.
    pub message_offset: usize,
    pub sequence: u32,
}

/// One instance's AH state: its key, whether it is unicast (the TTL is then outside the ICV),
/// and keepalived's sequence counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AhSession {
    key: [u8; 8],
    unicast: bool,
    sequence: u32,
}

impl AhSession {
    /// `key` is the instance's `auth_pass`, zero-padded to 8 bytes as keepalived keeps it.
    pub fn new(key: [u8; 8], unicast: bool, sequence: u32) -> AhSession {
        AhSession {
            key,
            unicast,
            sequence,
        }
    }

    /// The counter, for the next image of the daemon to go on from.
    pub fn sequence(&self) -> u32 {
        self.sequence
    }

    /// A reload's settings; the counter stays.
    pub fn reconfigure(&mut self, key: [u8; 8], unicast: bool) {
        self.key = key;
        self.unicast = unicast;
    }

    /// The number the next advert carries (one per advert, whatever the number of peers).
    pub fn next_sequence(&mut self) -> u32 {
        if self.sequence < LAST_SEQUENCE {
            self.sequence += 1;
        }
        self.sequence
    }

    /// Seals an advert we send: `packet` is a 20-byte IPv4 header (protocol 51, the
    /// identification our own, since the ICV covers it), the AH header, the VRRP message.
    /// Writes the sequence number, the identification and the ICV.
    pub fn seal(&self, packet: &mut [u8], sequence: u32) -> Result<(), ah::Error> {
        if packet.len() < MESSAGE_OFFSET {
            return Err(ah::Error::Truncated);
        }
        // The kernel would fill a zero identification in after we computed the ICV; keepalived
        // numbers its packets itself too.
        let identification = (sequence as u16).max(1);
        packet[4..6].copy_from_slice(&identification.to_be_bytes());
        let (ip_header, rest) = packet.split_at_mut(20);
        let mut header = ah::Packet::new_checked(&mut *rest)?;
        header.set_sequence(sequence);
        header.set_icv(&[0; ICV_LEN]);
        let icv = self.icv(ip_header, rest)?;
        ah::Packet::new_checked(rest)?.set_icv(&icv);
        Ok(())
    }

    /// Checks a received packet (IPv4 header, AH, VRRP message) as keepalived does: the ICV
    /// (constant time), the SPI against the source address, then the sequence number, which
    /// is taken when it is new.
    pub fn open(&mut self, packet: &[u8]) -> Result<Opened, Refused> {
        let header_len = packet
            .first()
            .map(|first| usize::from(first & 0x0f) * 4)
            .ok_or(Refused::Malformed(ah::Error::BadIpHeader))?;
        let (ip_header, rest) = packet
            .split_at_checked(header_len)
            .ok_or(Refused::Malformed(ah::Error::BadIpHeader))?;
        if ip_header.len() < 20 || ip_header[9] != IPPROTO_AH {
            return Err(Refused::Malformed(ah::Error::BadIpHeader));
        }
        let header = ah::Packet::new_checked(rest).map_err(Refused::Malformed)?;
        if header.next_header() != IPPROTO_VRRP {
            return Err(Refused::NotVrrp(header.next_header()));
        }
        let mut zeroed = [0u8; ah::HEADER_LEN];
        zeroed.copy_from_slice(&rest[..ah::HEADER_LEN]);
        ah::Packet::new_checked(&mut zeroed[..])
            .map_err(Refused::Malformed)?
            .set_icv(&[0; ICV_LEN]);
        let expected = self
            .icv_parts(ip_header, &zeroed, header.payload())
            .map_err(Refused::Malformed)?;
        let received = header.icv();
        // Constant time, as keepalived's memcmp_constant_time.
        let difference = expected
            .iter()
            .zip(received.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if difference != 0 {
            return Err(Refused::BadIcv);
        }
        let sender = [ip_header[12], ip_header[13], ip_header[14], ip_header[15]];
        if header.spi() != sender {
            return Err(Refused::BadSpi {
                spi: header.spi(),
                sender,
            });
        }
        let sequence = header.sequence();
        if sequence <= self.sequence {
            return Err(Refused::Replayed {
                received: sequence,
                local: self.sequence,
            });
        }
        self.sequence = sequence;
        Ok(Opened {
            message_offset: header_len + ah::HEADER_LEN,
            sequence,
        })
    }

    /// The ICV of a packet whose AH header (with a zero ICV) and message are `rest`.
    fn icv(&self, ip_header: &[u8], rest: &[u8]) -> Result<[u8; ICV_LEN], ah::Error> {
        let (header, message) = rest
            .split_at_checked(ah::HEADER_LEN)
            .ok_or(ah::Error::Truncated)?;
        self.icv_parts(ip_header, header, message)
    }

    /// HMAC-MD5 over the IPv4 header with its mutable fields zeroed, the AH header with a zero
    /// ICV and the message, truncated to 96 bits (RFC 2403).
    fn icv_parts(
        &self,
        ip_header: &[u8],
        zeroed_header: &[u8],
        message: &[u8],
    ) -> Result<[u8; ICV_LEN], ah::Error> {
        let (covered, length) = ah::icv_ip_header(ip_header, self.unicast)?;
        // An HMAC takes a key of any length; this cannot fail.
        let Ok(mut mac) = Hmac::<Md5>::new_from_slice(&self.key) else {
            return Err(ah::Error::Truncated);
        };
        mac.update(&covered[..length]);
        mac.update(zeroed_header);
        mac.update(message);
        let digest = mac.finalize().into_bytes();
        let mut icv = [0u8; ICV_LEN];
        icv.copy_from_slice(&digest[..ICV_LEN]);
        Ok(icv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vrrp_common::wire::ip::Ipv4Repr;

    /// An AH advert from 192.0.2.1 to the group: IPv4 header, AH, an 8-byte VRRP stand-in.
    fn advert(ttl: u8) -> Vec<u8> {
        let mut bytes = vec![0u8; MESSAGE_OFFSET + 8];
        Ipv4Repr {
            source: [192, 0, 2, 1].into(),
            destination: [224, 0, 0, 18].into(),
            protocol: IPPROTO_AH,
            ttl,
            tos: 0xc0,
            identification: 0,
            payload_len: ah::HEADER_LEN + 8,
        }
        .emit(&mut bytes)
        .expect("header");
        ah::Repr {
            next_header: IPPROTO_VRRP,
            spi: [192, 0, 2, 1],
            sequence: 0,
        }
        .emit(&mut bytes[20..])
        .expect("ah");
        bytes[MESSAGE_OFFSET..].copy_from_slice(&[0x21, 51, 100, 1, 2, 1, 0, 0]);
        bytes
    }

    #[test]
    fn hmac_md5_matches_rfc_2104s_example() {
        // RFC 2104 section "Sample code", second test vector.
        let mut mac = Hmac::<Md5>::new_from_slice(b"Jefe").expect("key");
        mac.update(b"what do ya want for nothing?");
        let digest = mac.finalize().into_bytes();
        assert_eq!(
            digest[..],
            [
                0x75, 0x0c, 0x78, 0x3e, 0x6a, 0xb0, 0xb5, 0x03, 0xea, 0xa8, 0x6e, 0x31, 0x0a, 0x5d,
                0xb7, 0x38
            ]
        );
    }

    #[test]
    fn a_sealed_advert_opens_once_and_survives_the_mutable_fields() {
        let mut sender = AhSession::new(*b"secret\0\0", false, 0);
        let mut receiver = AhSession::new(*b"secret\0\0", false, 0);
        let mut packet = advert(255);
        let sequence = sender.next_sequence();
        sender.seal(&mut packet, sequence).expect("seal");
        // A router may change the type of service and the header checksum on the way.
        let mut mutated = packet.clone();
        mutated[1] = 0x00;
        mutated[10] = 0x12;
        let opened = receiver.open(&mutated).expect("authentic");
        assert_eq!(opened.message_offset, MESSAGE_OFFSET);
        assert_eq!(opened.sequence, 1);
        assert_eq!(
            receiver.open(&packet),
            Err(Refused::Replayed {
                received: 1,
                local: 1
            })
        );
        // The receiver goes on from what it heard when it sends.
        assert_eq!(receiver.next_sequence(), 2);
    }

    #[test]
    fn a_changed_byte_or_key_is_refused() {
        let sender = AhSession::new(*b"secret\0\0", false, 0);
        let mut packet = advert(255);
        sender.seal(&mut packet, 5).expect("seal");
        let mut priority = packet.clone();
        priority[MESSAGE_OFFSET + 2] = 255;
        let mut receiver = AhSession::new(*b"secret\0\0", false, 0);
        assert_eq!(receiver.open(&priority), Err(Refused::BadIcv));
        // A multicast advert's TTL is covered; a unicast instance's is not.
        let mut hop = packet.clone();
        hop[8] = 254;
        assert_eq!(receiver.open(&hop), Err(Refused::BadIcv));
        let mut other_key = AhSession::new(*b"other\0\0\0", false, 0);
        assert_eq!(other_key.open(&packet), Err(Refused::BadIcv));
        let unicast = AhSession::new(*b"secret\0\0", true, 0);
        let mut routed = advert(64);
        unicast.seal(&mut routed, 9).expect("seal");
        routed[8] = 60;
        let mut unicast_receiver = AhSession::new(*b"secret\0\0", true, 0);
        assert!(unicast_receiver.open(&routed).is_ok());
        assert!(matches!(
            receiver.open(&packet[..30]),
            Err(Refused::Malformed(_))
        ));
    }
}
