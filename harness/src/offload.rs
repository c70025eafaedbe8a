//! Turning a veth's TCP segmentation offload (TSO) and generic receive offload (GRO) on or off,
//! with the ethtool ioctl's legacy commands (ETHTOOL_STSO, ETHTOOL_SGRO,
//! include/uapi/linux/ethtool.h), since the lab's machines have no `ethtool` program. veth
//! needs both to hand a frame to its peer's NAPI instead of receiving it inside the sender's
//! system call (drivers/net/veth.c, `veth_xmit`: the peer has a NAPI with GRO on, and the
//! sender's TSO is off, `veth_skb_is_eligible_for_gro`).

use anyhow::{Context, Result};

use crate::netns::Netns;

/// SIOCETHTOOL (include/uapi/linux/sockios.h).
const SIOCETHTOOL: libc::c_ulong = 0x8946;

#[derive(Clone, Copy, Debug)]
pub enum Offload {
    /// TCP segmentation offload (ETHTOOL_STSO).
    Segmentation,
    /// Generic receive offload (ETHTOOL_SGRO).
    ReceiveGrouping,
}

impl Offload {
    fn set_command(self) -> u32 {
        match self {
            Offload::Segmentation => 0x1f,
            Offload::ReceiveGrouping => 0x2c,
        }
    }
}

/// `struct ethtool_value`.
#[repr(C)]
struct EthtoolValue {
    command: u32,
    data: u32,
}

/// `struct ifreq` with its `ifr_data` member.
#[repr(C)]
struct InterfaceRequest {
    name: [libc::c_char; libc::IFNAMSIZ],
    data: *mut EthtoolValue,
    /// The rest of the union (`struct ifmap` is the largest member).
    _padding: [u8; 16],
}

/// Sets `offload` on `interface` in `ns`.
pub fn set(ns: &Netns, interface: &str, offload: Offload, on: bool) -> Result<()> {
    let name = interface.as_bytes();
    anyhow::ensure!(
        name.len() < libc::IFNAMSIZ,
        "interface name too long: {interface}"
    );
    ns.enter(|| -> std::io::Result<()> {
        let socket = vrrp_user::net::sys::socket(libc::AF_INET, libc::SOCK_DGRAM, 0)?;
        let mut value = EthtoolValue {
            command: offload.set_command(),
            data: u32::from(on),
        };
        let mut request = InterfaceRequest {
            name: [0; libc::IFNAMSIZ],
            data: &mut value,
            _padding: [0; 16],
        };
        for (to, &from) in request.name.iter_mut().zip(name) {
            *to = from as libc::c_char;
        }
        use std::os::fd::AsRawFd;
        // SAFETY: the request names a NUL-terminated interface and points at a live
        // ethtool_value, both outliving the call.
        vrrp_user::net::sys::check(unsafe {
            libc::ioctl(socket.as_raw_fd(), SIOCETHTOOL, &mut request)
        })
        .map(drop)
    })?
    .with_context(|| format!("{offload:?} {on} on {interface} in {}", ns.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_has_the_kernel_s_layout() {
        // struct ifreq is 40 bytes on 64-bit Linux, ifr_data at offset 16.
        assert_eq!(std::mem::size_of::<InterfaceRequest>(), 40);
        assert_eq!(std::mem::offset_of!(InterfaceRequest, data), 16);
    }
}
