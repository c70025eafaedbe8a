//! The raw IP socket (protocol 112) of one interface and family: sends our adverts, joins the
//! VRRP group so the NIC accepts the group's frames, and in socket mode receives adverts. In XDP
//! mode a drop-everything socket filter keeps the kernel from queueing what XDP passed up for
//! tcpdump, while the socket's existence keeps unicast adverts from drawing ICMP errors.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use vrrp_common::maps::MAX_INSTANCES;
use vrrp_common::wire::checksum::IPPROTO_VRRP;
use vrrp_common::wire::ip::{self, IpMeta};
use vrrp_common::wire::{Family, raw_from_ip};

use super::sys;

/// The send buffer of a VRRP socket: [`MAX_INSTANCES`] adverts of the largest size, at the
/// kernel's accounting of about 2 KiB a packet (it doubles the value given).
const SEND_BUFFER_BYTES: i32 = MAX_INSTANCES as i32 * 1024;

pub struct VrrpSocket {
    fd: OwnedFd,
    family: Family,
    ifindex: u32,
}

/// One received advert: the IP facts and where the VRRP message lies in the buffer.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    pub meta: IpMeta,
    pub length: usize,
}

impl VrrpSocket {
    /// Opens the socket for `interface`, sending from `source`.
    pub fn open(
        family: Family,
        interface: &str,
        ifindex: u32,
        source: IpAddr,
    ) -> io::Result<VrrpSocket> {
        VrrpSocket::open_for_protocol(family, interface, ifindex, source, IPPROTO_VRRP)
    }

    /// Opens a socket that receives IP `protocol` (keepalived's `auth_type AH` adverts come as
    /// protocol 51, the Authentication Header, with VRRP behind it).
    pub fn open_for_protocol(
        family: Family,
        interface: &str,
        ifindex: u32,
        source: IpAddr,
        protocol: u8,
    ) -> io::Result<VrrpSocket> {
        let domain = match family {
            Family::Ipv4 => libc::AF_INET,
            Family::Ipv6 => libc::AF_INET6,
        };
        let fd = sys::socket(
            domain,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK,
            i32::from(protocol),
        )?;
        sys::bind_to_device(&fd, interface)?;
        // A master sends the adverts that fall due together in one sendmmsg per interface
        // (issue 20, target 5): at 250 IPv6 instances on an interface they outgrow the default
        // send buffer (net.core.wmem_default), and this non-blocking socket would refuse the
        // tail of the batch, its backups then taking over. Room for every instance the
        // datapath takes; SO_SNDBUFFORCE (CAP_NET_ADMIN) passes net.core.wmem_max.
        if sys::set_int(
            &fd,
            libc::SOL_SOCKET,
            libc::SO_SNDBUFFORCE,
            SEND_BUFFER_BYTES,
        )
        .is_err()
        {
            let _ = sys::set_int(&fd, libc::SOL_SOCKET, libc::SO_SNDBUF, SEND_BUFFER_BYTES);
        }
        match family {
            Family::Ipv4 => {
                // We write the IP header ourselves: TTL 255 and TOS 0xc0 like keepalived, and the
                // source address of our choosing (RFC 5798 section 5.1.1).
                sys::set_int(&fd, libc::IPPROTO_IP, libc::IP_HDRINCL, 1)?;
                sys::set_int(&fd, libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, 0)?;
                sys::set_int(&fd, libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, 255)?;
                let request = libc::ip_mreqn {
                    imr_multiaddr: libc::in_addr { s_addr: 0 },
                    imr_address: libc::in_addr { s_addr: 0 },
                    imr_ifindex: ifindex as i32,
                };
                sys::set_option(&fd, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &request)?;
                sys::set_int(&fd, libc::IPPROTO_IP, libc::IP_PKTINFO, 1)?;
            }
            Family::Ipv6 => {
                sys::set_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, 255)?;
                sys::set_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, 255)?;
                sys::set_int(
                    &fd,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_MULTICAST_IF,
                    ifindex as i32,
                )?;
                sys::set_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, 0)?;
                sys::set_int(
                    &fd,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_TCLASS,
                    i32::from(ip::TRAFFIC_CLASS_VRRP),
                )?;
                sys::set_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)?;
                sys::set_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
                sys::bind(&fd, source, ifindex)?;
            }
        }
        Ok(VrrpSocket {
            fd,
            family,
            ifindex,
        })
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// The interface the socket sends on (the scope of link-local destinations).
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Joins a multicast group on our interface.
    pub fn join(&self, group: IpAddr) -> io::Result<()> {
        match group {
            IpAddr::V4(v4) => {
                let request = libc::ip_mreqn {
                    imr_multiaddr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(v4.octets()),
                    },
                    imr_address: libc::in_addr { s_addr: 0 },
                    imr_ifindex: self.ifindex as i32,
                };
                sys::set_option(
                    &self.fd,
                    libc::IPPROTO_IP,
                    libc::IP_ADD_MEMBERSHIP,
                    &request,
                )
            }
            IpAddr::V6(v6) => {
                let request = libc::ipv6_mreq {
                    ipv6mr_multiaddr: libc::in6_addr {
                        s6_addr: v6.octets(),
                    },
                    ipv6mr_interface: self.ifindex,
                };
                sys::set_option(
                    &self.fd,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_ADD_MEMBERSHIP,
                    &request,
                )
            }
        }
    }

    /// XDP mode: the kernel never queues anything on this socket.
    pub fn drop_all_incoming(&self) -> io::Result<()> {
        let mut program = [libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k: 0,
        }];
        let filter = libc::sock_fprog {
            len: 1,
            filter: program.as_mut_ptr(),
        };
        sys::set_option(&self.fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &filter)
    }

    /// Sends one packet: for IPv4 the IP header and the message, for IPv6 the message.
    /// Sends `packet`; an IPv6 `hop_limit` applies to this packet alone (the socket's is 255).
    pub fn send(
        &self,
        packet: &[u8],
        destination: IpAddr,
        hop_limit: Option<u8>,
    ) -> io::Result<()> {
        sys::send_packet(
            self.fd.as_fd(),
            packet,
            destination,
            self.ifindex,
            hop_limit,
        )
    }

    /// Sends several packets in as few system calls as can be (sendmmsg).
    pub fn send_batch(&self, packets: &[sys::Outgoing<'_>]) -> io::Result<()> {
        sys::send_packets(self.fd.as_fd(), packets, self.ifindex)
    }

    /// Receives one advert into `buffer` (socket mode). `Ok(None)` when nothing is queued.
    /// For IPv4 the buffer holds the IP header too (`meta.payload_offset` says where the message
    /// starts); for IPv6 the kernel strips the header and we rebuild its facts from ancillary
    /// data (hop limit, destination).
    pub fn receive(&self, buffer: &mut [u8]) -> io::Result<Option<Received>> {
        let Some(message) = sys::receive_message(self.fd.as_fd(), buffer, libc::MSG_DONTWAIT)?
        else {
            return Ok(None);
        };
        let length = message.length;
        let bytes = &buffer[..length.min(buffer.len())];
        let meta = match self.family {
            Family::Ipv4 => match ip::parse_ipv4(bytes) {
                Ok(meta) => meta,
                Err(_) => {
                    return Ok(Some(Received {
                        meta: empty_meta(self.family),
                        length: 0,
                    }));
                }
            },
            Family::Ipv6 => {
                let mut meta = empty_meta(Family::Ipv6);
                if let Some(address) = message.source() {
                    meta.source = raw_from_ip(address).1;
                }
                for (level, kind, data) in message.control_messages() {
                    match (level, kind) {
                        (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                            if let Some(hop_limit) =
                                native_int(data).and_then(|value| u8::try_from(value).ok())
                            {
                                meta.ttl = hop_limit;
                            }
                        }
                        // in6_pktinfo: the destination address first, then the interface.
                        (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                            if let Some(address) = data.get(..16) {
                                meta.destination.copy_from_slice(address);
                            }
                        }
                        _ => {}
                    }
                }
                meta.payload_len = length;
                meta
            }
        };
        Ok(Some(Received { meta, length }))
    }
}

/// A C `int` in a control message's data.
fn native_int(data: &[u8]) -> Option<libc::c_int> {
    Some(libc::c_int::from_ne_bytes(data.get(..4)?.try_into().ok()?))
}

fn empty_meta(family: Family) -> IpMeta {
    IpMeta {
        family,
        source: [0; 16],
        destination: [0; 16],
        ttl: 0,
        protocol: IPPROTO_VRRP,
        payload_offset: 0,
        payload_len: 0,
    }
}
