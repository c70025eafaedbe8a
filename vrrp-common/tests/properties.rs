//! Property tests: emit then parse gives back what was emitted; parsing arbitrary bytes never
//! panics, whatever the family or pseudo-header.

use proptest::prelude::*;
use vrrp_common::rules;
use vrrp_common::wire::checksum::PseudoHeader;
use vrrp_common::wire::ip;
use vrrp_common::wire::vrrp::{AUTH_DATA_LEN, Auth, Packet, Repr, Version};
use vrrp_common::wire::{Family, arp, ethernet, icmpv6};

fn family() -> impl Strategy<Value = Family> {
    prop_oneof![Just(Family::Ipv4), Just(Family::Ipv6)]
}

fn pseudo() -> impl Strategy<Value = PseudoHeader> {
    prop_oneof![
        Just(PseudoHeader::None),
        (any::<[u8; 4]>(), any::<[u8; 4]>()).prop_map(|(source, destination)| PseudoHeader::Ipv4 {
            source,
            destination
        }),
        (any::<[u8; 16]>(), any::<[u8; 16]>()).prop_map(|(source, destination)| {
            PseudoHeader::Ipv6 {
                source,
                destination,
            }
        }),
    ]
}

proptest! {
    #[test]
    fn emit_then_parse_is_identity(
        v3 in any::<bool>(),
        family in family(),
        vrid in 1u8..=255,
        priority in any::<u8>(),
        seconds in 1u16..=255,
        centiseconds in 1u16..=4095,
        password in proptest::option::of(any::<[u8; AUTH_DATA_LEN]>()),
        count in 0usize..=20,
        seed in any::<u8>(),
        pseudo in pseudo(),
    ) {
        let addresses: Vec<u8> = (0..count * family.address_len()).map(|i| (i as u8).wrapping_mul(seed)).collect();
        let version = if v3 { Version::V3 } else { Version::V2 };
        // v2 carries a password only over IPv4 (keepalived's v2-over-IPv6 has no data field).
        let auth = match (version, family, password) {
            (Version::V2, Family::Ipv4, Some(data)) => Auth::SimpleText(data),
            _ => Auth::None,
        };
        let repr = Repr {
            version,
            vrid,
            priority,
            interval_cs: if v3 { centiseconds } else { seconds * 100 },
            auth,
            family,
            addresses: &addresses,
        };
        let mut buffer = vec![0u8; repr.buffer_len()];
        repr.emit(&mut buffer, &pseudo).expect("emit");
        let view = Packet::new_checked(&buffer[..], family).expect("length");
        prop_assert_eq!(Repr::parse(&view, &pseudo), Ok(repr));
    }

    #[test]
    fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1200), family in family(), pseudo in pseudo()) {
        if let Ok(view) = Packet::new_checked(&bytes[..], family) {
            let _ = Repr::parse(&view, &pseudo);
            let _ = view.validate(&pseudo);
        }
        if let Ok(view) = Packet::new_checked(&bytes[..], family) {
            let _ = (view.priority(), view.interval_cs(), view.addresses().len(), view.auth_data());
        }
        let _ = ip::parse_ipv4(&bytes);
        let _ = ip::parse_ipv6(&bytes);
        let _ = arp::Repr::parse_bytes(&bytes);
        let _ = ethernet::Repr::parse_bytes(&bytes);
        let _ = icmpv6::NeighborSolicit::parse_bytes(&bytes);
        let _ = rules::address_digest(family, &bytes, 8, 300);
    }

    #[test]
    fn a_changed_priority_keeps_the_checksum_valid(priority in any::<u8>(), other in any::<u8>()) {
        let repr = Repr {
            version: Version::V2,
            vrid: 7,
            priority,
            interval_cs: 100,
            auth: Auth::None,
            family: Family::Ipv4,
            addresses: &[192, 0, 2, 1],
        };
        let mut buffer = vec![0u8; repr.buffer_len()];
        repr.emit(&mut buffer, &PseudoHeader::None).expect("emit");
        let mut view = Packet::new_unchecked(&mut buffer[..], Family::Ipv4);
        view.set_priority(other);
        prop_assert!(view.verify_checksum(&PseudoHeader::None));
    }
}
