//! The masters' periodic adverts of one pass over the timers, queued as the state machines ask
//! and sent together at the end of the pass, one sendmmsg per socket.
//!
//! A master at scale queues some hundred thousand adverts a second: the outbox keeps the
//! frames' buffers from one pass to the next and copies each advert into one, rather than
//! allocating a frame per advert.

use vrrp_common::wire::Family;

use crate::net::advert::Frame;
use crate::net::sys::Outgoing;

/// The socket an advert leaves by: its interface's index and the family.
pub type SocketKey = (u32, Family);

/// A copy of an advert packet waiting to be sent, and the socket it leaves by.
struct QueuedAdvert {
    socket: SocketKey,
    frame: Frame,
}

#[derive(Default)]
pub struct Outbox {
    /// The first `len` are queued; the rest are buffers kept for the next pass.
    queued: Vec<QueuedAdvert>,
    len: usize,
}

impl Outbox {
    /// Queues a copy of `packet` to leave by `socket`.
    pub fn queue(&mut self, socket: SocketKey, packet: Outgoing<'_>) {
        match self.queued.get_mut(self.len) {
            Some(spare) => {
                spare.socket = socket;
                spare.frame.copy_from(packet);
            }
            None => self.queued.push(QueuedAdvert {
                socket,
                frame: Frame::copy_of(packet),
            }),
        }
        self.len += 1;
    }

    /// Hands `send` the queued adverts of each socket (in the order they were queued) and
    /// empties the outbox.
    pub fn send_by_socket(&mut self, mut send: impl FnMut(SocketKey, &[Outgoing<'_>])) {
        let queued = &mut self.queued[..self.len];
        // A stable sort: each socket's adverts stay in their order.
        queued.sort_by_key(|queued| queued.socket);
        for same_socket in queued.chunk_by(|a, b| a.socket == b.socket) {
            let packets: Vec<Outgoing<'_>> = same_socket
                .iter()
                .map(|queued| queued.frame.outgoing())
                .collect();
            send(same_socket[0].socket, &packets);
        }
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn packet(bytes: &[u8]) -> Outgoing<'_> {
        Outgoing {
            bytes,
            destination: IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
            hop_limit: None,
        }
    }

    fn sent(outbox: &mut Outbox) -> Vec<(SocketKey, Vec<Vec<u8>>)> {
        let mut sent = Vec::new();
        outbox.send_by_socket(|socket, packets| {
            sent.push((socket, packets.iter().map(|p| p.bytes.to_vec()).collect()));
        });
        sent
    }

    #[test]
    fn adverts_leave_grouped_by_socket_in_queue_order() {
        let mut outbox = Outbox::default();
        let (a, b) = ((2, Family::Ipv4), (3, Family::Ipv4));
        outbox.queue(b, packet(&[1]));
        outbox.queue(a, packet(&[2]));
        outbox.queue(b, packet(&[3]));
        outbox.queue(a, packet(&[4]));
        assert_eq!(
            sent(&mut outbox),
            vec![(a, vec![vec![2], vec![4]]), (b, vec![vec![1], vec![3]])]
        );
        assert!(sent(&mut outbox).is_empty());
    }

    #[test]
    fn a_pass_reuses_the_buffers_of_the_last_and_sends_only_its_own() {
        let mut outbox = Outbox::default();
        let socket = (2, Family::Ipv6);
        outbox.queue(socket, packet(&[1, 1, 1, 1]));
        outbox.queue(socket, packet(&[2, 2, 2, 2]));
        sent(&mut outbox);
        let buffer = outbox.queued[0].frame.bytes.as_ptr();
        // A shorter advert in a kept buffer carries no bytes of the longer one before it.
        outbox.queue(socket, packet(&[3]));
        assert_eq!(outbox.queued[0].frame.bytes.as_ptr(), buffer);
        assert_eq!(sent(&mut outbox), vec![(socket, vec![vec![3]])]);
    }
}
