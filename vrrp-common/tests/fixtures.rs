//! Byte-for-byte fixtures: the adverts of the seed walkthrough's tcpdump lines, and frames
//! captured from keepalived 2.2.7 in a namespace (tests/fixtures/*.hex, one frame per file).

use vrrp_common::rules;
use vrrp_common::wire::arp;
use vrrp_common::wire::checksum::PseudoHeader;
use vrrp_common::wire::ethernet;
use vrrp_common::wire::frame::AdvertFrame;
use vrrp_common::wire::ip;
use vrrp_common::wire::vrrp::{Auth, Packet, Repr, Version};
use vrrp_common::wire::{Family, raw_from_ipv4};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}.hex", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let text = text.trim();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Parses a captured frame down to the VRRP message, checks it, and re-emits the whole frame
/// from the parsed fields: it must come out identical.
fn parse_and_rebuild(frame: &[u8]) -> (ip::IpMeta, Repr<'_>) {
    let ethernet::Repr {
        destination: destination_mac,
        source: source_mac,
        ethertype,
    } = ethernet::Repr::parse_bytes(frame).expect("ethernet");
    let packet = &frame[ethernet::HEADER_LEN..];
    let meta = match ethertype {
        ethernet::ETHERTYPE_IPV4 => ip::parse_ipv4(packet).expect("ipv4"),
        ethernet::ETHERTYPE_IPV6 => ip::parse_ipv6(packet).expect("ipv6"),
        other => panic!("ethertype {other:#x}"),
    };
    let message = &packet[meta.payload_offset..meta.payload_offset + meta.payload_len];
    let view = Packet::new_checked(message, meta.family).expect("length");
    let version = view.version().expect("version");
    let pseudo = rules::pseudo_header(version, &meta, rules::V3Checksum::Standard);
    let repr = Repr::parse(&view, &pseudo).expect("valid advert");
    let identification = u16::from_be_bytes([packet[4], packet[5]]);
    let rebuilt_frame = AdvertFrame {
        source_mac,
        destination_mac: Some(destination_mac),
        source: meta.source,
        destination: meta.destination,
        ttl: meta.ttl,
        identification,
        v3_checksum_as_v2: false,
        advert: repr,
    };
    let mut rebuilt = vec![0u8; rebuilt_frame.len()];
    rebuilt_frame.emit(&mut rebuilt).expect("room");
    if meta.family == Family::Ipv6 {
        // The kernel picks the IPv6 flow label per socket; it is not ours to reproduce.
        rebuilt[15] = (rebuilt[15] & 0xf0) | (frame[15] & 0x0f);
        rebuilt[16..18].copy_from_slice(&frame[16..18]);
    }
    assert_eq!(rebuilt, frame, "re-emitted frame differs");
    (meta, repr)
}

#[test]
fn keepalived_v2_pass_advert() {
    let frame = fixture("keepalived-v2-pass-prio100");
    let (meta, repr) = parse_and_rebuild(&frame);
    assert_eq!(meta.ttl, 255);
    assert_eq!(meta.destination, raw_from_ipv4([224, 0, 1, 11]));
    assert_eq!(repr.version, Version::V2);
    assert_eq!(repr.vrid, 51);
    assert_eq!(repr.priority, 100);
    assert_eq!(repr.interval_cs, 100);
    assert_eq!(repr.auth, Auth::SimpleText(*b"abc123\0\0"));
    assert_eq!(repr.addresses, &[192, 0, 2, 99]);
    assert_eq!(repr.buffer_len(), 20);
}

#[test]
fn keepalived_v2_priority_zero_on_stop() {
    let frame = fixture("keepalived-v2-pass-prio0");
    let (_, repr) = parse_and_rebuild(&frame);
    assert_eq!(repr.priority, 0);
}

#[test]
fn keepalived_v3_ipv4_advert_at_10ms_uses_the_pseudo_header() {
    let frame = fixture("keepalived-v3-ipv4-10ms");
    let (meta, repr) = parse_and_rebuild(&frame);
    assert_eq!(repr.version, Version::V3);
    assert_eq!(repr.interval_cs, 1);
    assert_eq!(repr.buffer_len(), 12);
    // Without the pseudo-header the same bytes do not check out.
    let message = &frame[14 + meta.payload_offset..];
    let view = Packet::new_checked(message, Family::Ipv4).expect("length");
    assert!(!view.verify_checksum(&PseudoHeader::None));
}

#[test]
fn keepalived_v3_ipv6_advert() {
    for name in ["keepalived-v3-ipv6-prio100", "keepalived-v3-ipv6-prio0"] {
        let frame = fixture(name);
        let (meta, repr) = parse_and_rebuild(&frame);
        assert_eq!(meta.family, Family::Ipv6);
        assert_eq!(
            meta.source[..2],
            [0xfe, 0x80],
            "sent from the link-local address"
        );
        assert_eq!(meta.destination, vrrp_common::wire::frame::VRRP_GROUP_IPV6);
        assert_eq!(repr.vrid, 53);
        assert_eq!(repr.interval_cs, 100);
        assert_eq!(repr.address_count(), 2);
        assert_eq!(repr.buffer_len(), 40);
    }
}

#[test]
fn keepalived_gratuitous_arp_matches_ours() {
    let frame = fixture("keepalived-garp");
    let header = ethernet::Repr::parse_bytes(&frame).expect("ethernet");
    assert_eq!(header.ethertype, ethernet::ETHERTYPE_ARP);
    let parsed = arp::Repr::parse_bytes(&frame[14..]).expect("arp");
    let ours = arp::Repr::gratuitous(header.source, [192, 0, 2, 99].into());
    assert_eq!(parsed, ours);
    let mut built = [0u8; 42];
    ours.emit_frame(&mut built).expect("room");
    assert_eq!(&built[..], &frame[..42]);
}

/// The seed's tcpdump shows `VRRPv2, Advertisement, vrid 51, prio 100 / 0 / 96, authtype
/// simple, intvl 1s, length 20` for VIP 172.16.1.99 with password abc123.
#[test]
fn the_seed_walkthrough_adverts() {
    for priority in [100u8, 0, 96] {
        let repr = Repr {
            version: Version::V2,
            vrid: 51,
            priority,
            interval_cs: 100,
            auth: Auth::SimpleText(*b"abc123\0\0"),
            family: Family::Ipv4,
            addresses: &[172, 16, 1, 99],
        };
        assert_eq!(repr.buffer_len(), 20);
        let mut bytes = [0u8; 20];
        repr.emit(&mut bytes, &PseudoHeader::None).expect("emit");
        assert_eq!(bytes[0], 0x21, "version 2, type advertisement");
        assert_eq!(&bytes[1..6], &[51, priority, 1, 1, 1]);
        assert_eq!(&bytes[8..12], &[172, 16, 1, 99]);
        assert_eq!(&bytes[12..20], b"abc123\0\0");
        let view = Packet::new_checked(&bytes[..], Family::Ipv4).expect("length");
        assert_eq!(Repr::parse(&view, &PseudoHeader::None), Ok(repr));
    }
}

#[test]
fn keepalived_unsolicited_neighbour_advert_matches_ours() {
    use vrrp_common::wire::icmpv6::NeighborAdvert;
    let frame = fixture("keepalived-unsolicited-na");
    let source_mac = ethernet::Repr::parse_bytes(&frame)
        .expect("ethernet")
        .source;
    let mut target = [0u8; 16];
    target.copy_from_slice(&frame[14 + 8..14 + 24]);
    let mut built = [0u8; NeighborAdvert::FRAME_LEN];
    NeighborAdvert::unsolicited(source_mac, target.into())
        .emit_frame(&mut built)
        .expect("room");
    assert_eq!(&built[..], &frame[..]);
}
