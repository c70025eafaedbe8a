//! Frames and map entries that the tests and the bench build again and again, built once here
//! with the project's own wire code.

use vrrp_common::maps::{InstanceConfig, State, flags};
use vrrp_common::rules::address_digest;
use vrrp_common::wire::vrrp::Auth;
use vrrp_common::wire::{Family, arp, ethernet, raw_from_ipv4};

/// The seed's VIP (172.16.1.99 in the seed, mapped to the documentation range).
pub const SEED_VIP: [u8; 4] = [192, 0, 2, 99];
/// The client's address on the test segment.
pub const CLIENT_IP: [u8; 4] = [192, 0, 2, 100];

/// The CONFIG entry of the seed's DR2 as vrrpd writes it: v2, PASS `abc123`, 1 s adverts,
/// VIP 192.0.2.99, priority 96, backup, preempting, adverts from `source`.
pub fn seed_dr2_config(source: [u8; 4]) -> InstanceConfig {
    InstanceConfig {
        source: raw_from_ipv4(source),
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

/// A broadcast ARP request from `sender_mac` / `sender_ip` for `target_ip`.
pub fn arp_request(sender_mac: [u8; 6], sender_ip: [u8; 4], target_ip: [u8; 4]) -> Vec<u8> {
    let request = arp::Repr {
        operation: arp::Operation::Request,
        sender_mac,
        sender_ip,
        target_mac: [0; 6],
        target_ip,
    };
    let mut frame = vec![0u8; ethernet::HEADER_LEN + arp::LEN];
    // The buffer is exactly a frame's length, so emitting cannot fail.
    let _ = request.emit_frame(&mut frame);
    frame
}
