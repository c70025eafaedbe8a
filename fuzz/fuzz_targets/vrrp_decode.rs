//! Every decoder a received advert goes through, on arbitrary bytes: IPv4 and IPv6 headers,
//! the VRRP view and Repr, the receive checks and the rules. None may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vrrp_common::maps::{InstanceConfig, Liveness, flags};
use vrrp_common::rules;
use vrrp_common::wire::vrrp::{Packet, Repr};
use vrrp_common::wire::{Family, ip};

fuzz_target!(|data: &[u8]| {
    for parsed in [ip::parse_ipv4(data), ip::parse_ipv6(data)] {
        let Ok(meta) = parsed else { continue };
        let Some(message) = data.get(meta.payload_offset..meta.payload_offset + meta.payload_len) else {
            continue;
        };
        // The checked view, as receive_advert takes it: an unchecked view's accessors may only
        // be used after check_len (its contract; a fuzz input once broke it here).
        let Ok(packet) = Packet::new_checked(message, meta.family) else { continue };
        let Some(version) = packet.version() else { continue };
        let pseudo = rules::pseudo_header(
            version,
            &meta,
            if data.first() == Some(&0) {
                rules::V3Checksum::AsV2
            } else {
                rules::V3Checksum::Standard
            },
        );
        let Ok(auth) = packet.validate(&pseudo) else { continue };
        let _ = Repr::parse(&packet, &pseudo);
        let config = InstanceConfig {
            version: version as u8,
            priority: data.len() as u8,
            state: (data.len() % 4) as u8,
            interval_cs: 100,
            address_count: packet.address_count(),
            flags: flags::PREEMPT | flags::CHECK_ADDRESSES,
            ..InstanceConfig::default()
        };
        let _ = rules::address_list_matches(&config, &packet);
        if let Ok(advert) = rules::check_advert(&config, &meta, &packet, &auth, None) {
            let mut live = Liveness::default();
            let _ = rules::observe_advert(&config, &mut live, &advert, 1_000);
            let _ = rules::master_down_deadline_ns(&config, &live);
        }
    }
    let _ = Packet::new_checked(data, Family::Ipv4);
    let _ = Packet::new_checked(data, Family::Ipv6);
});
