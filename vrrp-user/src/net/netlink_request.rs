//! The rtnetlink requests that change something (an address, a route, a rule), made on a
//! blocking socket of their own and acknowledged before the next step.
//!
//! The kernel carries out such a request inside the `sendmsg` system call and queues its
//! acknowledgement before the call returns (`netlink_rcv_skb` acks each message as it is
//! done), so the reply is read at once. Through rtnetlink's async connection, the same
//! reply waited for the runtime's reactor to see the socket readable and hand the wake-up
//! to the connection's task, a hop between a takeover's advert and its first gratuitous ARP
//! (issue 20, target 3; seen in `perf trace` of a backup in the failover bench). A request
//! holds the socket for one system call's work, which the kernel serialises under the rtnl
//! lock anyway.

use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::packet_core::{NLM_F_ACK, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload};
use rtnetlink::sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use super::netlink::NetlinkError;

/// How long a reply may take before the request is given up. The acknowledgement is queued
/// before `sendmsg` returns, so this only keeps a worker from waiting forever on a kernel
/// that would not answer.
const REPLY_TIMEOUT: Duration = Duration::from_secs(1);

/// A netlink socket for acknowledged requests, shared by every address worker.
#[derive(Debug)]
pub struct Requests {
    connection: Mutex<Connection>,
    sequence: AtomicU32,
}

/// The socket, and the buffer its replies are read into (kept, not allocated per request).
#[derive(Debug)]
struct Connection {
    socket: Socket,
    reply: Vec<u8>,
}

/// Room for any acknowledgement: an error carries the request back, and requests are small.
const REPLY_BUFFER: usize = 8192;

impl Requests {
    pub fn open() -> io::Result<Requests> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        let timeout = libc::timeval {
            tv_sec: REPLY_TIMEOUT.as_secs() as libc::time_t,
            tv_usec: 0,
        };
        super::sys::set_option(&socket, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &timeout)?;
        Ok(Requests {
            connection: Mutex::new(Connection {
                socket,
                reply: Vec::with_capacity(REPLY_BUFFER),
            }),
            sequence: AtomicU32::new(1),
        })
    }

    /// Sends `message` with `flags` (besides REQUEST and ACK) and waits for the kernel's
    /// answer: `Ok` for an acknowledgement, `NetlinkError::Refused` with the kernel's error.
    pub fn acknowledged(
        &self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<(), NetlinkError> {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let mut request = NetlinkMessage::from(message);
        request.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        request.header.sequence_number = sequence;
        request.finalize();
        let mut bytes = vec![0; request.buffer_len()];
        request.serialize(&mut bytes);
        // A poisoned lock only means another worker panicked mid-request; the socket itself
        // is still sound.
        let mut connection = self
            .connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Connection { socket, reply } = &mut *connection;
        socket.send(&bytes, 0)?;
        loop {
            reply.clear();
            socket.recv(reply, 0)?;
            // A reply to an earlier request that timed out is passed over.
            if let Some(answer) = answer_to(sequence, reply)? {
                return answer;
            }
        }
    }
}

/// The answer to request `sequence` among the messages of one datagram, if it is there.
fn answer_to(
    sequence: u32,
    mut datagram: &[u8],
) -> Result<Option<Result<(), NetlinkError>>, NetlinkError> {
    while !datagram.is_empty() {
        let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(datagram)
            .map_err(|error| NetlinkError::Reply(error.to_string()))?;
        // Messages are 4-byte aligned in a datagram; a length below the header's would not
        // have parsed.
        let length = usize::try_from(message.header.length).unwrap_or(usize::MAX);
        datagram = datagram.get(length.next_multiple_of(4)..).unwrap_or(&[]);
        if message.header.sequence_number != sequence {
            continue;
        }
        if let NetlinkPayload::Error(error) = message.payload {
            return Ok(Some(match error.code {
                None => Ok(()),
                Some(_) => Err(NetlinkError::Refused(error.to_io())),
            }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::address::AddressMessage;

    /// The kernel refuses an address on an interface that does not exist, and says why: the
    /// answer to the request, read straight after it, and no hang.
    #[test]
    fn a_refused_request_comes_back_with_the_kernel_s_error() {
        let requests = Requests::open().expect("netlink socket");
        let mut message = AddressMessage::default();
        message.header.family = netlink_packet_route::AddressFamily::Inet;
        message.header.index = u32::MAX;
        message.header.prefix_len = 32;
        let address = std::net::IpAddr::from([192, 0, 2, 1]);
        message
            .attributes
            .push(netlink_packet_route::address::AddressAttribute::Local(
                address,
            ));
        let error = requests
            .acknowledged(RouteNetlinkMessage::NewAddress(message), 0)
            .expect_err("no interface has index u32::MAX");
        match error {
            NetlinkError::Refused(io) => assert_eq!(io.raw_os_error(), Some(libc::ENODEV)),
            other => panic!("unexpected {other}"),
        }
        // The socket still answers the next request in order.
        let mut again = AddressMessage::default();
        again.header.family = netlink_packet_route::AddressFamily::Inet;
        again.header.index = u32::MAX;
        again.header.prefix_len = 32;
        let refused = requests.acknowledged(RouteNetlinkMessage::DelAddress(again), 0);
        assert!(matches!(refused, Err(NetlinkError::Refused(_))));
    }
}
