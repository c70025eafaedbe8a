//! Raw Ethernet frames in and out through AF_PACKET, for tests and the load generator.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use anyhow::{Result, bail};

/// An AF_PACKET socket bound to one interface (of the namespace of the calling thread).
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: i32,
}

/// The index of `interface` in the calling thread's namespace (vrrpd's own lookup), or an
/// error when there is none.
pub fn interface_index(interface: &str) -> Result<u32> {
    match vrrp_user::net::sys::interface_index(interface) {
        0 => bail!("no interface {interface}"),
        index => Ok(index),
    }
}

impl PacketSocket {
    pub fn open(interface: &str) -> Result<PacketSocket> {
        let ifindex = interface_index(interface)? as i32;
        let protocol = (libc::ETH_P_ALL as u16).to_be() as i32;
        // SAFETY: plain socket creation.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol,
            )
        };
        if raw < 0 {
            bail!("socket(AF_PACKET): {}", std::io::Error::last_os_error());
        }
        // SAFETY: raw is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        address.sll_family = libc::AF_PACKET as u16;
        address.sll_protocol = protocol as u16;
        address.sll_ifindex = ifindex;
        // SAFETY: address is a valid sockaddr_ll of the size given.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&address as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc != 0 {
            bail!(
                "bind(AF_PACKET, {interface}): {}",
                std::io::Error::last_os_error()
            );
        }
        Ok(PacketSocket { fd, ifindex })
    }

    pub fn send(&self, frame: &[u8]) -> Result<()> {
        // SAFETY: frame is a valid buffer of frame.len() bytes.
        let sent =
            unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if sent < 0 {
            bail!("send: {}", std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Sends `frames` with as few syscalls as possible (sendmmsg, up to 64 per call); returns how
    /// many the kernel accepted.
    pub fn send_batch(&self, frames: &[&[u8]]) -> Result<usize> {
        let mut sent = 0;
        for chunk in frames.chunks(64) {
            let mut iovecs: Vec<libc::iovec> = chunk
                .iter()
                .map(|f| libc::iovec {
                    iov_base: f.as_ptr() as *mut libc::c_void,
                    iov_len: f.len(),
                })
                .collect();
            let mut headers: Vec<libc::mmsghdr> = iovecs
                .iter_mut()
                .map(|iov| {
                    // SAFETY: all-zero mmsghdr is valid; we set the iovec.
                    let mut header: libc::mmsghdr = unsafe { std::mem::zeroed() };
                    header.msg_hdr.msg_iov = iov;
                    header.msg_hdr.msg_iovlen = 1;
                    header
                })
                .collect();
            // SAFETY: headers point at iovecs that point at live frames.
            let n = unsafe {
                libc::sendmmsg(
                    self.fd.as_raw_fd(),
                    headers.as_mut_ptr(),
                    headers.len() as u32,
                    0,
                )
            };
            if n < 0 {
                let error = std::io::Error::last_os_error();
                if error.raw_os_error() == Some(libc::ENOBUFS)
                    || error.raw_os_error() == Some(libc::EAGAIN)
                {
                    continue;
                }
                bail!("sendmmsg: {error}");
            }
            sent += n as usize;
        }
        Ok(sent)
    }

    /// Receives one frame, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: std::time::Duration) -> Result<Option<Vec<u8>>> {
        let mut poll = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, timeout.as_millis() as i32) };
        if ready <= 0 {
            return Ok(None);
        }
        let mut buffer = vec![0u8; 65536];
        // SAFETY: buffer is valid for its length.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                0,
            )
        };
        if n < 0 {
            bail!("recv: {}", std::io::Error::last_os_error());
        }
        buffer.truncate(n as usize);
        Ok(Some(buffer))
    }

    pub fn ifindex(&self) -> i32 {
        self.ifindex
    }
}
