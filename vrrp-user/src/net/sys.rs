//! Thin, checked wrappers over the socket system calls the network edge uses.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

pub fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

pub fn socket(
    domain: libc::c_int,
    kind: libc::c_int,
    protocol: libc::c_int,
) -> io::Result<OwnedFd> {
    // SAFETY: plain socket creation; the descriptor is owned below.
    let fd = check(unsafe { libc::socket(domain, kind | libc::SOCK_CLOEXEC, protocol) })?;
    // SAFETY: fd is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn set_option<T>(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: value points to a live T of the size passed.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    })
    .map(drop)
}

pub fn set_int(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    set_option(fd, level, name, &value)
}

pub fn bind_to_device(fd: &OwnedFd, interface: &str) -> io::Result<()> {
    // SAFETY: the name bytes are valid for their length.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            interface.as_ptr().cast(),
            interface.len() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// A socket address for `address` (with `scope` for IPv6 link-local addresses).
pub fn socket_address(address: IpAddr, scope: u32) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match address {
        IpAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is large enough and suitably aligned for sockaddr_in.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            (
                storage,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        }
        IpAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.octets(),
                },
                sin6_scope_id: scope,
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            (
                storage,
                std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            )
        }
    }
}

/// The address in a sockaddr filled in by the kernel.
pub fn from_socket_address(storage: &libc::sockaddr_storage) -> Option<IpAddr> {
    match i32::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this is a sockaddr_in.
            let sin: libc::sockaddr_in =
                unsafe { std::ptr::read((storage as *const libc::sockaddr_storage).cast()) };
            Some(IpAddr::V4(Ipv4Addr::from(
                sin.sin_addr.s_addr.to_ne_bytes(),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this is a sockaddr_in6.
            let sin6: libc::sockaddr_in6 =
                unsafe { std::ptr::read((storage as *const libc::sockaddr_storage).cast()) };
            Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

pub fn bind(fd: &OwnedFd, address: IpAddr, scope: u32) -> io::Result<()> {
    let (storage, length) = socket_address(address, scope);
    // SAFETY: storage holds a valid address of the given length.
    check(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&storage as *const libc::sockaddr_storage).cast(),
            length,
        )
    })
    .map(drop)
}

/// Sends one packet on a raw socket; an IPv6 `hop_limit` applies to this packet alone.
///
/// Allocates nothing and takes no lock, so that `vrrpd upgrade`'s forked stand-in may call it
/// (daemon/stand_in.rs).
pub fn send_packet(
    fd: BorrowedFd<'_>,
    bytes: &[u8],
    destination: IpAddr,
    scope: u32,
    hop_limit: Option<u8>,
) -> io::Result<()> {
    match hop_limit {
        Some(hops) => send_to_with_hop_limit(fd, bytes, destination, scope, hops),
        None => send_to(fd, bytes, destination, scope),
    }
}

fn send_to(fd: BorrowedFd<'_>, bytes: &[u8], destination: IpAddr, scope: u32) -> io::Result<()> {
    let (storage, length) = socket_address(destination, scope);
    // SAFETY: bytes and storage are valid for the lengths given.
    let sent = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            bytes.as_ptr().cast(),
            bytes.len(),
            0,
            (&storage as *const libc::sockaddr_storage).cast(),
            length,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// As [`send_to`] to an IPv6 destination, with this packet's hop limit given as ancillary data
/// (IPV6_HOPLIMIT): keepalived's `unicast_ttl` on a socket that the interface's instances share.
fn send_to_with_hop_limit(
    fd: BorrowedFd<'_>,
    bytes: &[u8],
    destination: IpAddr,
    scope: u32,
    hop_limit: u8,
) -> io::Result<()> {
    let (mut storage, length) = socket_address(destination, scope);
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    let mut control = HopLimitControl::default();
    // SAFETY: all-zero msghdr is valid; the pointers set below outlive the call.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_name = (&mut storage as *mut libc::sockaddr_storage).cast();
    message.msg_namelen = length;
    message.msg_iov = &mut iov;
    message.msg_iovlen = 1;
    control.attach(&mut message, hop_limit)?;
    // SAFETY: message and everything it points at are valid for the call.
    let sent = unsafe { libc::sendmsg(fd.as_raw_fd(), &message, 0) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The ancillary data of one packet's IPv6 hop limit (IPV6_HOPLIMIT).
#[derive(Default)]
struct HopLimitControl([u64; 4]);

impl HopLimitControl {
    /// Points `message`'s control data at this buffer, holding `hop_limit`.
    fn attach(&mut self, message: &mut libc::msghdr, hop_limit: u8) -> io::Result<()> {
        message.msg_control = self.0.as_mut_ptr().cast();
        // SAFETY: CMSG_SPACE is a pure computation.
        message.msg_controllen =
            unsafe { libc::CMSG_SPACE(std::mem::size_of::<i32>() as u32) } as usize;
        // SAFETY: the buffer holds one header and an int (32 bytes >= CMSG_SPACE(4)).
        unsafe {
            let header = libc::CMSG_FIRSTHDR(message);
            if header.is_null() {
                return Err(io::Error::from_raw_os_error(libc::ENOBUFS));
            }
            (*header).cmsg_level = libc::IPPROTO_IPV6;
            (*header).cmsg_type = libc::IPV6_HOPLIMIT;
            (*header).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<i32>() as u32) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(header).cast::<i32>(), i32::from(hop_limit));
        }
        Ok(())
    }
}

/// One packet of a batch for [`send_packets`].
#[derive(Clone, Copy, Debug)]
pub struct Outgoing<'a> {
    /// IPv4: header and message; IPv6: the message.
    pub bytes: &'a [u8],
    pub destination: IpAddr,
    /// IPv6: this packet's hop limit, where it is not the socket's.
    pub hop_limit: Option<u8>,
}

/// Packets in one sendmmsg call at most.
const BATCH: usize = 64;

/// Sends packets on a raw socket in as few system calls as batches of `BATCH` (sendmmsg),
/// each with its own destination and hop limit. A packet the kernel refuses does not hold
/// back the ones after it; the last refusal is returned. Allocates nothing.
pub fn send_packets(fd: BorrowedFd<'_>, packets: &[Outgoing<'_>], scope: u32) -> io::Result<()> {
    let mut refused = None;
    let mut offset = 0;
    while offset < packets.len() {
        let chunk = &packets[offset..packets.len().min(offset + BATCH)];
        // SAFETY: all-zero is valid for these plain C structs.
        let mut names: [libc::sockaddr_storage; BATCH] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut iovecs: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut headers: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        let mut controls: [HopLimitControl; BATCH] = std::array::from_fn(|_| Default::default());
        for (index, packet) in chunk.iter().enumerate() {
            let (storage, length) = socket_address(packet.destination, scope);
            names[index] = storage;
            iovecs[index] = libc::iovec {
                iov_base: packet.bytes.as_ptr() as *mut libc::c_void,
                iov_len: packet.bytes.len(),
            };
            let message = &mut headers[index].msg_hdr;
            message.msg_name = (&mut names[index] as *mut libc::sockaddr_storage).cast();
            message.msg_namelen = length;
            message.msg_iov = &mut iovecs[index];
            message.msg_iovlen = 1;
            if let Some(hop_limit) = packet.hop_limit {
                controls[index].attach(message, hop_limit)?;
            }
        }
        // SAFETY: each header points at a name, an iovec and control data that live until the
        // call returns, and the iovecs at the caller's packets.
        let taken =
            unsafe { libc::sendmmsg(fd.as_raw_fd(), headers.as_mut_ptr(), chunk.len() as u32, 0) };
        // The call fails only when the first packet is refused: that one is skipped. After a
        // partial batch, the next call starts at the refused packet and reports it.
        match usize::try_from(taken) {
            Ok(taken) if taken > 0 => offset += taken,
            _ => {
                refused = Some(io::Error::last_os_error());
                offset += 1;
            }
        }
    }
    refused.map_or(Ok(()), Err)
}

/// The name of interface `index` (None if there is none).
pub fn interface_name(index: u32) -> Option<String> {
    let mut buffer = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: the buffer holds IF_NAMESIZE bytes, as if_indextoname requires.
    let name = unsafe { libc::if_indextoname(index, buffer.as_mut_ptr()) };
    if name.is_null() {
        return None;
    }
    // SAFETY: on success the buffer holds a NUL-terminated name.
    let name = unsafe { std::ffi::CStr::from_ptr(buffer.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

/// Interface index of `name` (0 if none).
pub fn interface_index(name: &str) -> u32 {
    let Ok(name) = std::ffi::CString::new(name) else {
        return 0;
    };
    // SAFETY: name is a valid C string.
    unsafe { libc::if_nametoindex(name.as_ptr()) }
}

/// CLOCK_MONOTONIC now, in nanoseconds: the clock `bpf_ktime_get_ns` reads.
/// Now, on CLOCK_MONOTONIC (the clock the XDP program's timestamps come from).
pub fn monotonic_now() -> vrrp_common::time::Instant {
    vrrp_common::time::Instant::from_ns(monotonic_ns())
}

pub fn monotonic_ns() -> u64 {
    // SAFETY: all-zero timespec is valid; clock_gettime fills it.
    let mut now: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: now is a valid timespec to write.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}
