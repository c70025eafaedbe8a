//! The Internet checksum (RFC 1071) and the pseudo-headers VRRPv3 puts under it.

use super::RawAddress;

/// The longest input [`accumulate`] sums; longer input is cut here. Covers every VRRP message
/// (and every other checksum this project computes). Kept tight because the XDP program's
/// scratch buffer must hold this many bytes plus the few the tail reads look at.
pub const MAX_SUMMED_LEN: usize = 1040;

/// Adds `data` to a running one's-complement sum, as big-endian 16-bit words (an odd last byte
/// is padded with zero). The sum is folded by [`finish`].
///
/// The loop takes four bytes at a time, counts up to a constant bound and indexes from the start
/// of `data`: the shape the kernel's verifier can follow cheaply when this runs in XDP.
#[inline(always)]
pub fn accumulate(sum: u32, data: &[u8]) -> u32 {
    let mut wide = u64::from(sum);
    let quads = data.len() / 4;
    for quad in 0..MAX_SUMMED_LEN / 4 {
        if quad >= quads {
            break;
        }
        let at = 4 * quad;
        let Some(bytes) = data.get(at..at + 4) else {
            break;
        };
        wide += u64::from(u16::from_be_bytes([bytes[0], bytes[1]]));
        wide += u64::from(u16::from_be_bytes([bytes[2], bytes[3]]));
    }
    // Up to three bytes remain: a 16-bit word and/or a last byte padded with zero.
    let at = quads * 4;
    match (data.get(at), data.get(at + 1), data.get(at + 2)) {
        (Some(&hi), Some(&lo), last) => {
            wide += u64::from(u16::from_be_bytes([hi, lo]));
            if let Some(&last) = last {
                wide += u64::from(last) << 8;
            }
        }
        (Some(&last), None, _) => wide += u64::from(last) << 8,
        _ => {}
    }
    u32::from(fold(wide))
}

/// Folds a one's-complement sum of any width into 16 bits (RFC 1071: add the carries back in).
///
/// A fixed number of steps, with no loop or branch: in XDP the verifier would otherwise follow
/// a data-dependent `while sum > 0xffff` once per distinct bound it knows for the sum, and a
/// branch on the sum makes every such bound a separate state to verify from there on (the
/// checksum loop's exits multiplied the whole program's verification ~6 times). Each step keeps
/// the value modulo 0xffff and is the identity once the value fits 16 bits; four reach that
/// from any u64 (2^64 -> 2^33 -> 0x2fffe -> 0x10001 -> 0xffff).
#[inline(always)]
pub const fn fold(sum: u64) -> u16 {
    let sum = (sum & 0xffff_ffff) + (sum >> 32);
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = (sum & 0xffff) + (sum >> 16);
    sum as u16
}

/// Folds a running sum into the 16-bit one's-complement checksum value.
#[inline(always)]
pub fn finish(sum: u32) -> u16 {
    !fold(u64::from(sum))
}

/// What the checksum of a VRRP message covers besides the message itself.
///
/// RFC 3768 section 5.3.8: v2 sums the VRRP message alone. RFC 5798 section 5.2.8: v3 adds the
/// IPv4 or IPv6 pseudo-header. keepalived's `v3_checksum_as_v2` computes v3 over IPv4 without it,
/// for interoperation with implementations that got this wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PseudoHeader {
    None,
    Ipv4 {
        source: [u8; 4],
        destination: [u8; 4],
    },
    Ipv6 {
        source: RawAddress,
        destination: RawAddress,
    },
}

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;

impl PseudoHeader {
    /// The pseudo-header's contribution for a VRRP message of `length` bytes.
    #[inline(always)]
    pub fn sum(&self, length: u16) -> u32 {
        match self {
            PseudoHeader::None => 0,
            PseudoHeader::Ipv4 {
                source,
                destination,
            } => {
                let sum = accumulate(0, source);
                let sum = accumulate(sum, destination);
                accumulate(sum, &[0, IPPROTO_VRRP, (length >> 8) as u8, length as u8])
            }
            PseudoHeader::Ipv6 {
                source,
                destination,
            } => {
                let sum = accumulate(0, source);
                let sum = accumulate(sum, destination);
                // Upper-layer packet length (32 bits), three zero bytes, next header.
                accumulate(
                    sum,
                    &[
                        0,
                        0,
                        (length >> 8) as u8,
                        length as u8,
                        0,
                        0,
                        0,
                        IPPROTO_VRRP,
                    ],
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3's worked example sums to 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(finish(accumulate(0, &data)), !0xddf2);
    }

    #[test]
    fn a_message_carrying_its_own_checksum_sums_to_zero() {
        let mut data = [0x45u8, 0x00, 0x00, 0x1c, 0x12, 0x34, 0x00, 0x00, 0xff, 0x70];
        let checksum = finish(accumulate(0, &data));
        data[6..8].copy_from_slice(&checksum.to_be_bytes());
        assert_eq!(finish(accumulate(0, &data)), 0);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(accumulate(0, &[0x12]), 0x1200);
    }
}
