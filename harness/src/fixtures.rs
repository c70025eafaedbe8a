//! Frames and map entries that the tests and the bench build again and again, built once here
//! with the project's own wire code.

use std::net::Ipv6Addr;
use vrrp_common::maps::{InstanceConfig, State, flags};
use vrrp_common::rules::address_digest;
use vrrp_common::wire::frame::AdvertFrame;
use vrrp_common::wire::vrrp::{Auth, Repr, Version};

use vrrp_common::wire::{Family, arp, ethernet, icmpv6, ip, raw_from_ipv4};

/// The seed's VIP (172.16.1.99 in the seed, mapped to the documentation range).
pub const SEED_VIP: [u8; 4] = [192, 0, 2, 99];
/// The seed's multicast group (its `vrrp_mcast_group4`).
pub const SEED_GROUP: [u8; 4] = [224, 0, 1, 11];
/// The client's address on the test segment.
pub const CLIENT_IP: [u8; 4] = [192, 0, 2, 100];

/// An advert as the client forges it: v2, 1 s, from the client's address to the seed's group
/// (224.0.1.11), listing the seed's VIP.
pub struct Forged {
    pub vrid: u8,
    pub priority: u8,
    pub ttl: u8,
    pub auth: Auth,
}

impl Forged {
    /// The whole Ethernet frame, from `mac`.
    pub fn frame(&self, mac: [u8; 6]) -> Vec<u8> {
        let frame = AdvertFrame {
            source_mac: mac,
            destination_mac: None,
            source: raw_from_ipv4(CLIENT_IP),
            destination: raw_from_ipv4(SEED_GROUP),
            ttl: self.ttl,
            identification: 7,
            v3_checksum_as_v2: false,
            advert: Repr {
                version: Version::V2,
                vrid: self.vrid,
                priority: self.priority,
                interval_cs: 100,
                auth: self.auth,
                family: Family::Ipv4,
                addresses: &SEED_VIP,
            },
        };
        let mut bytes = vec![0u8; frame.len()];
        // The buffer is exactly the frame's length.
        let _ = frame.emit(&mut bytes);
        bytes
    }
}

/// The CONFIG entry of the seed's DR2 as vrrpd writes it: v2, PASS `abc123`, 1 s adverts to
/// the seed's group, VIP 192.0.2.99, priority 96, backup, preempting, adverts from `source`.
pub fn seed_dr2_config(source: [u8; 4]) -> InstanceConfig {
    InstanceConfig {
        source: raw_from_ipv4(source),
        group: raw_from_ipv4(SEED_GROUP),
        auth_data: *b"abc123\0\0",
        address_digest: address_digest(Family::Ipv4, &SEED_VIP, 0, 1),
        priority: 96,
        state: State::Backup as u8,
        version: 2,
        auth_type: Auth::TYPE_SIMPLE_TEXT,
        interval_cs: 100,
        address_count: 1,
        flags: flags::PREEMPT | flags::CHECK_ADDRESSES,
        ..InstanceConfig::default()
    }
}

/// Our link-local address in the IPv6 fixtures, and the master's.
pub const US6: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12];
pub const MASTER6: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11];

/// The CONFIG entry of a VRRPv3 IPv6 backup (priority 96, 1 s, preempting, adverts from
/// [`US6`] to ff02::12) advertising `addresses` (IPv6 addresses in wire order).
pub fn ipv6_backup_config(addresses: &[u8]) -> InstanceConfig {
    let count = addresses.len() / 16;
    InstanceConfig {
        source: US6,
        group: vrrp_common::wire::frame::VRRP_GROUP_IPV6,
        address_digest: address_digest(Family::Ipv6, addresses, 0, count),
        address_count: count as u8,
        priority: 96,
        state: State::Backup as u8,
        version: 3,
        interval_cs: 100,
        flags: flags::PREEMPT | flags::CHECK_ADDRESSES,
        ..InstanceConfig::default()
    }
}

/// A broadcast ARP request from `sender_mac` / `sender_ip` for `target_ip`.
pub fn arp_request(sender_mac: [u8; 6], sender_ip: [u8; 4], target_ip: [u8; 4]) -> Vec<u8> {
    let request = arp::Repr {
        operation: arp::Operation::Request,
        sender_mac,
        sender_ip: sender_ip.into(),
        target_mac: [0; 6],
        target_ip: target_ip.into(),
    };
    let mut frame = vec![0u8; ethernet::HEADER_LEN + arp::LEN];
    // The buffer is exactly a frame's length, so emitting cannot fail.
    let _ = request.emit_frame(&mut frame);
    frame
}

/// A neighbour solicitation (RFC 4861 section 4.3) from `source` at `sender_mac` for `target`,
/// to the target's solicited-node group, with the source link-layer address option.
pub fn neighbor_solicitation(sender_mac: [u8; 6], source: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    neighbor_solicitation_with(sender_mac, source, target, &[])
}

/// As [`neighbor_solicitation`], with `leading` options (whole 8-byte units, such as a nonce)
/// before the source link-layer address option.
pub fn neighbor_solicitation_with(
    sender_mac: [u8; 6],
    source: Ipv6Addr,
    target: Ipv6Addr,
    leading: &[[u8; 8]],
) -> Vec<u8> {
    let target = target.octets();
    let mut group = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0];
    group[13..].copy_from_slice(&target[13..]);
    let message_len = icmpv6::ND_LEN + icmpv6::LINK_LAYER_OPTION_LEN * (1 + leading.len());
    let mut frame = vec![0u8; ethernet::HEADER_LEN + ip::IPV6_HEADER_LEN + message_len];
    // The buffer is exactly the frame's length: neither header can fail to fit.
    let _ = ethernet::Repr {
        destination: ethernet::ipv6_multicast_mac(&group),
        source: sender_mac,
        ethertype: ethernet::ETHERTYPE_IPV6,
    }
    .emit(&mut frame);
    let _ = ip::Ipv6Repr {
        source,
        destination: group.into(),
        next_header: icmpv6::NEXT_HEADER_ICMPV6,
        hop_limit: 255,
        traffic_class: 0,
        payload_len: message_len,
    }
    .emit(&mut frame[ethernet::HEADER_LEN..]);
    let message = &mut frame[ethernet::HEADER_LEN + ip::IPV6_HEADER_LEN..];
    message[icmpv6::field::TYPE] = icmpv6::TYPE_NEIGHBOR_SOLICITATION;
    message[icmpv6::field::TARGET].copy_from_slice(&target);
    let mut options = message[icmpv6::field::OPTIONS..].chunks_exact_mut(8);
    // `leading` first: zip asks it before taking a unit, so no unit is skipped when it ends.
    for (bytes, option) in leading.iter().zip(options.by_ref()) {
        option.copy_from_slice(bytes);
    }
    if let Some(option) = options.next() {
        option[icmpv6::field::OPTION_TYPE] = 1; // source link-layer address
        option[icmpv6::field::OPTION_LEN] = 1;
        option[icmpv6::field::OPTION_MAC].copy_from_slice(&sender_mac);
    }
    let checksum = icmpv6::checksum(&source.octets(), &group, message);
    message[icmpv6::field::CHECKSUM].copy_from_slice(&checksum.to_be_bytes());
    frame
}

/// ARP requests for `target_ip`, one from every address of the three IPv4 documentation
/// ranges (RFC 5737) except those the lab's hosts use (192.0.2.0 to .20, .99 and .100): a
/// spoofed-source flood, each sender a new neighbour for a kernel that answers.
pub fn arp_requests_from_documentation_ranges(
    sender_mac: [u8; 6],
    target_ip: [u8; 4],
) -> Vec<Vec<u8>> {
    let used = |prefix: [u8; 3], host: u8| {
        prefix == [192, 0, 2] && (host <= 20 || host == 99 || host == 100)
    };
    [[192, 0, 2], [198, 51, 100], [203, 0, 113]]
        .into_iter()
        .flat_map(|prefix| (0..=255u8).map(move |host| (prefix, host)))
        .filter(|&(prefix, host)| !used(prefix, host))
        .map(|([a, b, c], host)| arp_request(sender_mac, [a, b, c, host], target_ip))
        .collect()
}

/// `count` neighbour solicitations for `target` from sources spread at random over
/// 2001:db8::/32 (RFC 3849) outside 2001:db8::/64, the lab's own prefix (a fixed seed: the
/// same sources every run).
pub fn neighbor_solicitations_from_random_sources(
    sender_mac: [u8; 6],
    target: Ipv6Addr,
    count: usize,
) -> Vec<Vec<u8>> {
    // xorshift64: enough spread for addresses, no dependency.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|_| {
            let (high, low) = (next(), next());
            let mut octets = [0u8; 16];
            octets[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
            octets[4..8].copy_from_slice(&((high >> 32) as u32 | 1).to_be_bytes());
            octets[8..].copy_from_slice(&low.to_be_bytes());
            neighbor_solicitation(sender_mac, Ipv6Addr::from(octets), target)
        })
        .collect()
}
