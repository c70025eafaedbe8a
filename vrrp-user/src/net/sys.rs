//! Thin, checked wrappers over the socket system calls the network edge uses.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

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
    fd: impl AsFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: value points to a live T of the size passed.
    check(unsafe {
        libc::setsockopt(
            fd.as_fd().as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    })
    .map(drop)
}

pub fn set_int(
    fd: impl AsFd,
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
    let packet = Outgoing {
        bytes,
        destination,
        hop_limit,
    };
    let mut parts = MessageParts::of(&packet, scope);
    let message = parts.header()?;
    // SAFETY: the header points at `parts` and the caller's packet, both alive for the call.
    let sent = unsafe { libc::sendmsg(fd.as_raw_fd(), &message, 0) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// One datagram taken by [`receive_message`]: its length, its sender and the ancillary data
/// the socket was asked for.
pub struct ReceivedMessage {
    /// What recvmsg returned: the bytes placed in the buffer (a datagram's whole length
    /// where the flags held MSG_TRUNC).
    pub length: usize,
    source: libc::sockaddr_storage,
    /// Room for a few control messages (a timestamp, a hop limit and a packet-info record
    /// take 96 bytes with their headers), 8-byte aligned as the CMSG macros require.
    control: [u64; 16],
    control_len: usize,
}

impl ReceivedMessage {
    /// The sender's address, as the kernel gave it.
    pub fn source(&self) -> Option<IpAddr> {
        from_socket_address(&self.source)
    }

    /// The control messages as (level, type, data), in the kernel's order.
    pub fn control_messages(&self) -> ControlMessages<'_> {
        // SAFETY: all-zero msghdr is valid; the CMSG macros read only its control fields.
        let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
        message.msg_control = self.control.as_ptr() as *mut libc::c_void;
        message.msg_controllen = self.control_len;
        // SAFETY: the header describes the control buffer recvmsg filled.
        let next = unsafe { libc::CMSG_FIRSTHDR(&message) };
        ControlMessages {
            message,
            next,
            received: self,
        }
    }
}

/// The control messages of a [`ReceivedMessage`]; allocates nothing.
pub struct ControlMessages<'a> {
    message: libc::msghdr,
    next: *mut libc::cmsghdr,
    received: &'a ReceivedMessage,
}

impl<'a> Iterator for ControlMessages<'a> {
    type Item = (libc::c_int, libc::c_int, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.next.is_null() {
            return None;
        }
        let header = self.next;
        let control_end = self.received.control_len;
        // SAFETY: `header` came from CMSG_FIRSTHDR/CMSG_NXTHDR over the buffer recvmsg filled
        // (`control_len` bytes of `received.control`, borrowed for 'a); the data slice is cut
        // to the end of that buffer.
        unsafe {
            let start = self.received.control.as_ptr().cast::<u8>();
            let data = libc::CMSG_DATA(header);
            let offset = usize::try_from(data.offset_from(start)).ok()?;
            let declared = (*header)
                .cmsg_len
                .saturating_sub(libc::CMSG_LEN(0) as usize);
            let data_len = declared.min(control_end.saturating_sub(offset));
            let item = (
                (*header).cmsg_level,
                (*header).cmsg_type,
                std::slice::from_raw_parts(data, data_len),
            );
            self.next = libc::CMSG_NXTHDR(&self.message, header);
            Some(item)
        }
    }
}

/// Receives one datagram into `buffer` with its sender and ancillary data (recvmsg with
/// `flags`). `Ok(None)` when nothing is queued on a non-blocking call.
pub fn receive_message(
    fd: BorrowedFd<'_>,
    buffer: &mut [u8],
    flags: libc::c_int,
) -> io::Result<Option<ReceivedMessage>> {
    let mut received = ReceivedMessage {
        length: 0,
        // SAFETY: all-zero is a valid sockaddr_storage.
        source: unsafe { std::mem::zeroed() },
        control: [0; 16],
        control_len: 0,
    };
    let mut iov = libc::iovec {
        iov_base: buffer.as_mut_ptr().cast(),
        iov_len: buffer.len(),
    };
    // SAFETY: all-zero msghdr is valid; the pointers set below outlive the call.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_name = (&mut received.source as *mut libc::sockaddr_storage).cast();
    message.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    message.msg_iov = &mut iov;
    message.msg_iovlen = 1;
    message.msg_control = received.control.as_mut_ptr().cast();
    message.msg_controllen = std::mem::size_of_val(&received.control);
    // SAFETY: every buffer the header points to is valid for the length given.
    let length = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut message, flags) };
    let Ok(length) = usize::try_from(length) else {
        let error = io::Error::last_os_error();
        return if error.kind() == io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(error)
        };
    };
    received.length = length;
    received.control_len = message
        .msg_controllen
        .min(std::mem::size_of_val(&received.control));
    Ok(Some(received))
}

/// One packet of a batch for [`send_packets`].
#[derive(Clone, Copy, Debug)]
pub struct Outgoing<'a> {
    /// IPv4: header and message; IPv6: the message.
    pub bytes: &'a [u8],
    pub destination: IpAddr,
    /// IPv6: this packet's hop limit, where it is not the socket's; given as ancillary data
    /// (IPV6_HOPLIMIT): keepalived's `unicast_ttl` on a socket that the interface's instances
    /// share.
    pub hop_limit: Option<u8>,
}

/// What a message header of one packet points at: the destination, the packet, and the
/// ancillary data of its hop limit. A header from [`MessageParts::header`] is valid while the
/// parts stay where they are.
struct MessageParts {
    name: libc::sockaddr_storage,
    name_len: libc::socklen_t,
    iov: libc::iovec,
    hop_limit: Option<u8>,
    control: [u64; 4],
}

impl MessageParts {
    fn of(packet: &Outgoing<'_>, scope: u32) -> MessageParts {
        let (name, name_len) = socket_address(packet.destination, scope);
        MessageParts {
            name,
            name_len,
            iov: libc::iovec {
                iov_base: packet.bytes.as_ptr() as *mut libc::c_void,
                iov_len: packet.bytes.len(),
            },
            hop_limit: packet.hop_limit,
            control: [0; 4],
        }
    }

    fn empty() -> MessageParts {
        MessageParts::of(
            &Outgoing {
                bytes: &[],
                destination: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                hop_limit: None,
            },
            0,
        )
    }

    fn header(&mut self) -> io::Result<libc::msghdr> {
        // SAFETY: all-zero msghdr is valid; the pointers set below are into `self`.
        let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
        message.msg_name = (&mut self.name as *mut libc::sockaddr_storage).cast();
        message.msg_namelen = self.name_len;
        message.msg_iov = &mut self.iov;
        message.msg_iovlen = 1;
        let Some(hop_limit) = self.hop_limit else {
            return Ok(message);
        };
        message.msg_control = self.control.as_mut_ptr().cast();
        // SAFETY: CMSG_SPACE is a pure computation.
        message.msg_controllen =
            unsafe { libc::CMSG_SPACE(std::mem::size_of::<i32>() as u32) } as usize;
        // SAFETY: the control buffer holds one header and an int (32 bytes >= CMSG_SPACE(4)).
        unsafe {
            let header = libc::CMSG_FIRSTHDR(&message);
            if header.is_null() {
                return Err(io::Error::from_raw_os_error(libc::ENOBUFS));
            }
            (*header).cmsg_level = libc::IPPROTO_IPV6;
            (*header).cmsg_type = libc::IPV6_HOPLIMIT;
            (*header).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<i32>() as u32) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(header).cast::<i32>(), i32::from(hop_limit));
        }
        Ok(message)
    }
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
        let mut parts: [MessageParts; BATCH] = std::array::from_fn(|_| MessageParts::empty());
        // SAFETY: all-zero is valid for this plain C struct.
        let mut headers: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        for (index, packet) in chunk.iter().enumerate() {
            parts[index] = MessageParts::of(packet, scope);
        }
        // Headers only once every part is in place: they point into `parts`.
        for (header, part) in headers.iter_mut().zip(parts.iter_mut()).take(chunk.len()) {
            header.msg_hdr = part.header()?;
        }
        // SAFETY: each header points into `parts` and at the caller's packets, which live
        // until the call returns.
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

/// How long the system has been up, suspended time included (CLOCK_BOOTTIME, what
/// /proc/uptime shows): keepalived's `vrrp_delay_after_boot` counts from the boot.
pub fn since_boot() -> std::time::Duration {
    std::time::Duration::from_nanos(clock_ns(libc::CLOCK_BOOTTIME))
}

pub fn monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// A clock's reading in nanoseconds.
fn clock_ns(clock: libc::clockid_t) -> u64 {
    // SAFETY: all-zero timespec is valid; clock_gettime fills it.
    let mut now: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: now is a valid timespec to write.
    unsafe { libc::clock_gettime(clock, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Unix datagram pair: no network, and the kernel adds the sender's credentials and the
    /// receive time as control messages, as it adds a hop limit or a timestamp on IP sockets.
    #[test]
    fn a_datagram_comes_with_its_control_messages_and_an_empty_queue_is_none() {
        let mut fds = [0; 2];
        // SAFETY: socketpair writes two descriptors into the array, owned below.
        check(unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        })
        .unwrap();
        // SAFETY: fresh descriptors nobody else owns.
        let (sender, receiver) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        set_int(&receiver, libc::SOL_SOCKET, libc::SO_PASSCRED, 1).unwrap();
        set_int(&receiver, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1).unwrap();
        let mut buffer = [0u8; 16];
        assert!(
            receive_message(receiver.as_fd(), &mut buffer, libc::MSG_DONTWAIT)
                .unwrap()
                .is_none()
        );
        // SAFETY: the bytes are valid for their length.
        let sent = unsafe { libc::send(sender.as_raw_fd(), b"advert".as_ptr().cast(), 6, 0) };
        assert_eq!(sent, 6);
        let message = receive_message(receiver.as_fd(), &mut buffer, libc::MSG_DONTWAIT)
            .unwrap()
            .expect("a datagram");
        assert_eq!(&buffer[..message.length], b"advert");
        assert_eq!(
            message.source(),
            None,
            "a Unix address is not an IP address"
        );
        let mut found: Vec<_> = message
            .control_messages()
            .map(|(level, kind, data)| (level, kind, data.len()))
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                (
                    libc::SOL_SOCKET,
                    libc::SCM_CREDENTIALS,
                    std::mem::size_of::<libc::ucred>()
                ),
                (
                    libc::SOL_SOCKET,
                    libc::SCM_TIMESTAMPNS,
                    std::mem::size_of::<libc::timespec>()
                ),
            ]
        );
        let (_, _, credentials) = message
            .control_messages()
            .find(|&(_, kind, _)| kind == libc::SCM_CREDENTIALS)
            .unwrap();
        let pid = i32::from_ne_bytes(credentials[..4].try_into().unwrap());
        assert_eq!(pid, std::process::id() as i32, "the sender is this process");
    }
}
