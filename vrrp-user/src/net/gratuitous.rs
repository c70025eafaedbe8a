//! Gratuitous ARP (IPv4) and unsolicited neighbour advertisements (IPv6) that tell the segment
//! where the virtual addresses now live (RFC 5798 section 6.4.1), in keepalived's exact format.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, OwnedFd};

use vrrp_common::wire::arp;
use vrrp_common::wire::ethernet::Mac;
use vrrp_common::wire::icmpv6::NeighborAdvert;

use super::sys;

/// An AF_PACKET socket bound to one interface.
pub struct GratuitousSender {
    fd: OwnedFd,
    ifindex: u32,
}

impl GratuitousSender {
    pub fn open(ifindex: u32) -> io::Result<GratuitousSender> {
        let fd = sys::socket(libc::AF_PACKET, libc::SOCK_RAW, 0)?;
        Ok(GratuitousSender { fd, ifindex })
    }

    /// Announces `address` at `mac`: an ARP request for IPv4, an unsolicited NA for IPv6.
    pub fn announce(&self, mac: Mac, address: IpAddr) -> io::Result<()> {
        let mut frame = [0u8; 128];
        let length = match address {
            IpAddr::V4(v4) => arp::Repr::gratuitous(mac, v4)
                .emit_frame(&mut frame)
                .map_err(|error| io::Error::other(format!("building the ARP: {error:?}")))?,
            IpAddr::V6(v6) => NeighborAdvert::unsolicited(mac, v6)
                .emit_frame(&mut frame)
                .map_err(|error| io::Error::other(format!("building the NA: {error:?}")))?,
        };
        // SAFETY: all-zero sockaddr_ll is valid; we fill in what the kernel needs.
        let mut destination: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        destination.sll_family = libc::AF_PACKET as u16;
        destination.sll_ifindex = self.ifindex as i32;
        destination.sll_halen = 6;
        destination.sll_addr[..6].copy_from_slice(&frame[..6]);
        // SAFETY: the frame and the address are valid for the lengths given.
        let sent = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                length,
                0,
                (&destination as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}
