//! Attaching the XDP program to an interface, in the mode that works for its driver.
//!
//! Driver (native) mode is the fast path on real NICs. On veth, frames a driver-mode program
//! sends with XDP_TX are dropped unless the peer veth also runs an XDP program, which the ARP
//! responder cannot rely on; generic (skb) mode has no such condition. So `Auto` picks skb mode
//! for veth and driver mode elsewhere, and any failure of driver mode falls back to skb mode.

use aya::programs::{Xdp, XdpMode, xdp::XdpLinkId};
use thiserror::Error;
use tracing::{info, warn};

/// How the operator asked us to attach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AttachPolicy {
    /// Driver mode unless the driver is known to lose XDP_TX frames; skb mode on failure.
    #[default]
    Auto,
    /// Driver mode, falling back to skb mode (with a log line) when the driver refuses.
    PreferDriver,
    /// Generic mode only.
    Skb,
}

/// The mode the program ended up attached in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachedMode {
    Driver,
    Skb,
}

impl std::fmt::Display for AttachedMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AttachedMode::Driver => "driver",
            AttachedMode::Skb => "skb (generic)",
        })
    }
}

#[derive(Debug, Error)]
pub enum AttachError {
    #[error("XDP attach to {interface} failed in driver and skb mode: {error}")]
    Failed {
        interface: String,
        error: aya::programs::ProgramError,
    },
}

/// Drivers whose driver-mode XDP_TX needs cooperation from the other end of the link.
const XDP_TX_NEEDS_PEER_PROGRAM: &[&str] = &["veth"];

/// Attaches `program` to `ifindex`, returning the link (detached on drop of the program or
/// explicitly) and the mode it runs in.
pub fn attach(
    program: &mut Xdp,
    interface: &str,
    ifindex: u32,
    policy: AttachPolicy,
) -> Result<(XdpLinkId, AttachedMode), AttachError> {
    let driver = crate::datapath::attach::driver_name(interface);
    let try_driver = match policy {
        AttachPolicy::Skb => false,
        AttachPolicy::PreferDriver => true,
        AttachPolicy::Auto => {
            let lossy = driver
                .as_deref()
                .is_some_and(|d| XDP_TX_NEEDS_PEER_PROGRAM.contains(&d));
            if lossy {
                info!(
                    "{interface}: driver {} drops driver-mode XDP_TX without a program on the peer; using skb mode",
                    driver.as_deref().unwrap_or("?")
                );
            }
            !lossy
        }
    };
    if try_driver {
        match program.attach_to_if_index(ifindex, XdpMode::Driver) {
            Ok(link) => return Ok((link, AttachedMode::Driver)),
            Err(error) => warn!(
                "{interface}: XDP driver mode unavailable ({error}); falling back to skb (generic) mode"
            ),
        }
    }
    program
        .attach_to_if_index(ifindex, XdpMode::Skb)
        .map(|link| (link, AttachedMode::Skb))
        .map_err(|error| AttachError::Failed {
            interface: interface.to_string(),
            error,
        })
}

/// The kernel driver behind an interface (ethtool's GDRVINFO), e.g. "veth", "ixgbe".
pub fn driver_name(interface: &str) -> Option<String> {
    const ETHTOOL_GDRVINFO: u32 = 0x0000_0003;
    #[repr(C)]
    struct DrvInfo {
        cmd: u32,
        driver: [u8; 32],
        version: [u8; 32],
        fw_version: [u8; 32],
        bus_info: [u8; 32],
        erom_version: [u8; 32],
        reserved2: [u8; 12],
        n_priv_flags: u32,
        n_stats: u32,
        testinfo_len: u32,
        eedump_len: u32,
        regdump_len: u32,
    }
    let name = interface.as_bytes();
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return None;
    }
    // SAFETY: all-zero is a valid value for these plain C structs.
    let mut info: DrvInfo = unsafe { std::mem::zeroed() };
    info.cmd = ETHTOOL_GDRVINFO;
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in request.ifr_name.iter_mut().zip(name) {
        *dst = *src as libc::c_char;
    }
    request.ifr_ifru.ifru_data = (&mut info as *mut DrvInfo).cast();
    // SAFETY: a plain datagram socket used only for the ioctl, closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: request points at a valid ifreq whose data points at a DrvInfo that outlives the call.
    let rc = unsafe { libc::ioctl(fd, libc::SIOCETHTOOL, &mut request) };
    // SAFETY: fd is ours.
    unsafe { libc::close(fd) };
    if rc < 0 {
        return None;
    }
    let end = info
        .driver
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(info.driver.len());
    std::str::from_utf8(&info.driver[..end])
        .ok()
        .map(str::to_string)
}
