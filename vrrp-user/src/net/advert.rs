//! Prepared adverts: built once per instance and destination, then re-sent with only the
//! priority patched (and the checksum fixed incrementally), so a send is one system call.
//! Under `auth_type AH` each send also takes the next sequence number and a new ICV.

use std::io;
use std::net::IpAddr;

use vrrp_common::rules;
use vrrp_common::wire::ah::{self, IPPROTO_AH};
use vrrp_common::wire::checksum::IPPROTO_VRRP;
use vrrp_common::wire::frame::EmitError;
use vrrp_common::wire::ip::{self, IpMeta};
use vrrp_common::wire::vrrp::{Auth, Packet, Repr, Version};
use vrrp_common::wire::{Family, raw_from_ip};

use super::ipsec_ah::AhSession;
use super::sys::Outgoing;
use super::vrrp_socket::VrrpSocket;

/// What every advert of an instance carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdvertSpec {
    pub family: Family,
    pub version: Version,
    pub vrid: u8,
    pub interval_cs: u16,
    pub auth: Auth,
    /// The advertised virtual addresses, in wire order.
    pub addresses: Vec<u8>,
    pub source: IpAddr,
    /// The multicast group, or each unicast peer.
    pub destinations: Vec<IpAddr>,
    /// How a v3 message over IPv4 is checksummed (keepalived's `v3_checksum_as_v2`, and its
    /// old unicast checksum).
    pub v3_checksum: rules::V3Checksum,
    /// The TTL (IPv6: hop limit) of adverts to unicast peers (keepalived's `unicast_ttl`);
    /// multicast adverts always carry 255 (RFC 5798 section 5.1.1.3).
    pub unicast_ttl: u8,
}

struct Prepared {
    destination: IpAddr,
    /// IPv6 to a unicast peer: the hop limit to send with (IPv4 carries it in the header).
    hop_limit: Option<u8>,
    /// IPv4: header and message; IPv6: the message.
    bytes: Vec<u8>,
    message_offset: usize,
}

/// One advert packet as [`AdvertTemplate::send`] puts it on a socket.
#[derive(Clone, Debug)]
pub struct Frame {
    /// IPv4: header and message; IPv6: the message.
    pub bytes: Vec<u8>,
    pub destination: IpAddr,
    pub hop_limit: Option<u8>,
}

impl Frame {
    /// A copy of a packet as [`AdvertTemplate::stamp`] hands it out.
    pub fn copy_of(packet: Outgoing<'_>) -> Frame {
        Frame {
            bytes: packet.bytes.to_vec(),
            destination: packet.destination,
            hop_limit: packet.hop_limit,
        }
    }

    /// Makes this frame a copy of `packet`, in the buffer it has.
    pub fn copy_from(&mut self, packet: Outgoing<'_>) {
        self.bytes.clear();
        self.bytes.extend_from_slice(packet.bytes);
        self.destination = packet.destination;
        self.hop_limit = packet.hop_limit;
    }

    /// The frame as a packet for [`super::sys::send_packets`].
    pub fn outgoing(&self) -> Outgoing<'_> {
        Outgoing {
            bytes: &self.bytes,
            destination: self.destination,
            hop_limit: self.hop_limit,
        }
    }
}

/// The adverts of one instance, ready to send.
pub struct AdvertTemplate {
    family: Family,
    prepared: Vec<Prepared>,
}

impl AdvertTemplate {
    /// Builds the advert for every destination; fails (and nothing is sent) where the spec
    /// cannot be carried, rather than putting a broken frame on the wire.
    pub fn new(spec: &AdvertSpec) -> Result<AdvertTemplate, EmitError> {
        let (_, source) = raw_from_ip(spec.source);
        let repr = Repr {
            version: spec.version,
            vrid: spec.vrid,
            priority: 0,
            interval_cs: spec.interval_cs,
            auth: spec.auth,
            family: spec.family,
            addresses: &spec.addresses,
        };
        let message_len = repr.buffer_len();
        // keepalived puts the Authentication Header only before IPv4 adverts.
        let with_ah = spec.auth == Auth::IpAh && spec.family == Family::Ipv4;
        let ah_len = if with_ah { ah::HEADER_LEN } else { 0 };
        let header_len = match spec.family {
            Family::Ipv4 => ip::IPV4_MIN_HEADER_LEN + ah_len,
            Family::Ipv6 => 0,
        };
        let prepared = spec
            .destinations
            .iter()
            .map(|&destination| {
                let (_, raw_destination) = raw_from_ip(destination);
                let ttl = if destination.is_multicast() {
                    ip::VRRP_TTL
                } else {
                    spec.unicast_ttl
                };
                let mut bytes = vec![0u8; header_len + message_len];
                if let (IpAddr::V4(source), IpAddr::V4(destination)) = (spec.source, destination) {
                    // The kernel fills in the identification and header checksum (IP_HDRINCL).
                    ip::Ipv4Repr {
                        source,
                        destination,
                        protocol: if with_ah { IPPROTO_AH } else { IPPROTO_VRRP },
                        ttl,
                        tos: ip::TRAFFIC_CLASS_VRRP,
                        identification: 0,
                        payload_len: ah_len + message_len,
                    }
                    .emit(&mut bytes)?;
                    if with_ah {
                        ah::Repr {
                            next_header: IPPROTO_VRRP,
                            spi: source.octets(),
                            sequence: 0,
                        }
                        .emit(&mut bytes[ip::IPV4_MIN_HEADER_LEN..])
                        .map_err(|_| EmitError::BufferSize)?;
                    }
                }
                let meta = IpMeta {
                    family: spec.family,
                    source,
                    destination: raw_destination,
                    ttl: ip::VRRP_TTL,
                    protocol: IPPROTO_VRRP,
                    payload_offset: header_len,
                    payload_len: message_len,
                };
                let pseudo = rules::pseudo_header(spec.version, &meta, spec.v3_checksum);
                repr.emit(&mut bytes[header_len..], &pseudo)?;
                Ok(Prepared {
                    destination,
                    hop_limit: (spec.family == Family::Ipv6 && ttl != ip::VRRP_TTL).then_some(ttl),
                    bytes,
                    message_offset: header_len,
                })
            })
            .collect::<Result<Vec<_>, EmitError>>()?;
        Ok(AdvertTemplate {
            family: spec.family,
            prepared,
        })
    }

    /// Sends the advert with `priority` to every destination; an instance under `auth_type AH`
    /// passes its session, which numbers and seals it.
    pub fn send(
        &mut self,
        socket: &VrrpSocket,
        priority: u8,
        ah: Option<&mut AhSession>,
    ) -> io::Result<()> {
        self.stamp(priority, ah, |packet| {
            socket.send(packet.bytes, packet.destination, packet.hop_limit)
        })
    }

    /// Sets `priority` in every destination's packet (numbered and sealed under AH) and hands
    /// each to `out`, which sends it or queues a copy; the last error is returned.
    pub fn stamp(
        &mut self,
        priority: u8,
        mut ah: Option<&mut AhSession>,
        mut out: impl FnMut(Outgoing<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut result = Ok(());
        // One sequence number per advert, whatever the number of peers (keepalived).
        let sequence = ah.as_mut().map(|session| session.next_sequence());
        for prepared in &mut self.prepared {
            Packet::new_unchecked(&mut prepared.bytes[prepared.message_offset..], self.family)
                .set_priority(priority);
            if let (Some(session), Some(sequence)) = (ah.as_ref(), sequence)
                && prepared.message_offset > ip::IPV4_MIN_HEADER_LEN
                && let Err(error) = session.seal(&mut prepared.bytes, sequence)
            {
                result = Err(io::Error::other(format!("sealing the advert: {error:?}")));
                continue;
            }
            if let Err(error) = out(Outgoing {
                bytes: &prepared.bytes,
                destination: prepared.destination,
                hop_limit: prepared.hop_limit,
            }) {
                result = Err(error);
            }
        }
        result
    }

    /// The packets [`AdvertTemplate::send`] would send with `priority` (without an
    /// Authentication Header's sequence, which only a send numbers): what `vrrpd upgrade`'s
    /// stand-in sends while the next image comes up.
    pub fn frames(&self, priority: u8) -> Vec<Frame> {
        self.prepared
            .iter()
            .map(|prepared| {
                let mut bytes = prepared.bytes.clone();
                Packet::new_unchecked(&mut bytes[prepared.message_offset..], self.family)
                    .set_priority(priority);
                Frame {
                    bytes,
                    destination: prepared.destination,
                    hop_limit: prepared.hop_limit,
                }
            })
            .collect()
    }

    /// The VRRP message of the first destination (for tests).
    pub fn message(&self) -> Option<&[u8]> {
        self.prepared.first().map(|p| &p.bytes[p.message_offset..])
    }
}
