//! The network edge: netlink (interfaces, virtual addresses and routes, link events), the
//! VRRP sockets that send adverts (and receive them in socket mode), and gratuitous ARP /
//! unsolicited neighbour advertisements; keepalived's IPsec AH for `auth_type AH`; the nftables table for no_accept and the interface
//! sysctls use_vmac changes.

pub mod accept;
pub mod advert;
pub mod gratuitous;
pub mod ipsec_ah;
pub mod netlink;
pub mod netlink_request;
pub mod sys;
pub mod sysctl;
pub mod vrrp_socket;
