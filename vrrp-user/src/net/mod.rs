//! The network edge: netlink (interfaces, virtual addresses and routes, link events), the
//! VRRP sockets that send adverts (and receive them in socket mode), and gratuitous ARP /
//! unsolicited neighbour advertisements.

pub mod accept;
pub mod advert;
pub mod gratuitous;
pub mod netlink;
pub mod sys;
pub mod vrrp_socket;
