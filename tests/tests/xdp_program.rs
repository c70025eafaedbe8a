//! The XDP program, frame by frame through BPF_PROG_TEST_RUN: every drop reason with its
//! counter, LIVENESS and EVENTS for valid adverts, the ARP responder byte for byte, IPv6, and
//! truncation at every length.

use std::time::Duration;

use vrrp_common::maps::{
    Event, EventKind, InstanceConfig, InstanceKey, Liveness, PeerKey, PeerTtl, State, VipKey,
    VipValue, flags,
};
use vrrp_common::rules::address_digest;
use vrrp_common::stats::{Counter, ReceiveError, ReceiveErrors};
use vrrp_common::wire::frame::AdvertFrame;
use vrrp_common::wire::vrrp::{Auth, Repr, Version};
use vrrp_common::wire::{Family, raw_from_ipv4};
use vrrp_harness::bpf_run::{Verdict, XdpUnderTest};
use vrrp_harness::fixtures;

/// BPF_PROG_TEST_RUN reports ifindex 1 (loopback) as the ingress interface.
const TEST_IFINDEX: u32 = 1;
const MASTER: [u8; 4] = [192, 0, 2, 11];
const US: [u8; 4] = [192, 0, 2, 12];
const VIP: [u8; 4] = [192, 0, 2, 99];
const MASTER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x11];

fn key() -> InstanceKey {
    InstanceKey::new(TEST_IFINDEX, Family::Ipv4, 51)
}

/// DR2 of the seed, receiving as US.
fn backup_config() -> InstanceConfig {
    fixtures::seed_dr2_config(US)
}

fn loaded(config: InstanceConfig) -> XdpUnderTest {
    vrrp_harness::require_root();
    let mut xdp = XdpUnderTest::load().expect("load");
    xdp.hash_map::<InstanceKey, InstanceConfig>("CONFIG")
        .expect("CONFIG")
        .insert(key(), config, 0)
        .expect("insert");
    xdp.create_receive_errors(key()).expect("INSTANCE_ERRORS");
    xdp
}

/// A v2 advert as DR1 sends it, after `edit` changes the fields.
struct Advert {
    vrid: u8,
    priority: u8,
    version: Version,
    interval_cs: u16,
    auth: Auth,
    addresses: Vec<u8>,
    source: [u8; 4],
    ttl: u8,
}

impl Default for Advert {
    fn default() -> Self {
        Advert {
            vrid: 51,
            priority: 100,
            version: Version::V2,
            interval_cs: 100,
            auth: Auth::SimpleText(*b"abc123\0\0"),
            addresses: VIP.to_vec(),
            source: MASTER,
            ttl: 255,
        }
    }
}

impl Advert {
    fn frame(&self) -> Vec<u8> {
        let frame = AdvertFrame {
            source_mac: MASTER_MAC,
            destination_mac: None,
            source: raw_from_ipv4(self.source),
            destination: raw_from_ipv4(fixtures::SEED_GROUP),
            ttl: self.ttl,
            identification: 1,
            v3_checksum_as_v2: false,
            advert: Repr {
                version: self.version,
                vrid: self.vrid,
                priority: self.priority,
                interval_cs: self.interval_cs,
                auth: self.auth,
                family: Family::Ipv4,
                addresses: &self.addresses,
            },
        };
        let mut bytes = vec![0u8; frame.len()];
        frame.emit(&mut bytes).expect("emit");
        bytes
    }
}

/// A VRRPv3 advert for VRID 53 from `source` to ff02::12 carrying `addresses`.
fn ipv6_advert(source: [u8; 16], addresses: &[u8]) -> Vec<u8> {
    let frame = AdvertFrame {
        source_mac: MASTER_MAC,
        destination_mac: None,
        source,
        destination: vrrp_common::wire::frame::VRRP_GROUP_IPV6,
        ttl: 255,
        identification: 0,
        v3_checksum_as_v2: false,
        advert: Repr {
            version: Version::V3,
            vrid: 53,
            priority: 100,
            interval_cs: 100,
            auth: Auth::None,
            family: Family::Ipv6,
            addresses,
        },
    };
    let mut bytes = vec![0u8; frame.len()];
    frame
        .emit(&mut bytes)
        .expect("the builder carries the advert");
    bytes
}

/// Runs `frame` on a fresh program with `config`; returns the verdict and the counter.
fn verdict_and_count(config: InstanceConfig, frame: &[u8], counter: Counter) -> (Verdict, u64) {
    let mut xdp = loaded(config);
    let run = xdp.run(frame).expect("run");
    (run.verdict, xdp.counter(counter).expect("counter"))
}

/// `frame` is dropped for `reason`, and counted against the instance as keepalived counts it
/// (`None`: refused before its instance was found, or not a per-instance error).
fn assert_dropped(frame: &[u8], config: InstanceConfig, reason: Counter) {
    let counted = match reason {
        // Refused before the VRID is looked up (an unknown version has no length to check).
        Counter::DropTruncated
        | Counter::DropLengthMismatch
        | Counter::DropBadIpHeader
        | Counter::DropBadVersion => None,
        _ => ReceiveError::of(reason),
    };
    let mut xdp = loaded(config);
    let run = xdp.run(frame).expect("run");
    let count = xdp.counter(reason).expect("counter");
    assert_eq!((run.verdict, count), (Verdict::Drop, 1), "{reason:?}");
    let mut expected = ReceiveErrors::default();
    if let Some(error) = counted {
        expected.counts[error as usize] = 1;
    }
    assert_eq!(
        xdp.receive_errors(key()).expect("INSTANCE_ERRORS"),
        expected,
        "{reason:?} against the instance"
    );
}

#[test]
fn a_valid_advert_is_counted_and_passed() {
    let (verdict, valid) = verdict_and_count(
        backup_config(),
        &Advert::default().frame(),
        Counter::AdvertsValid,
    );
    assert_eq!((verdict, valid), (Verdict::Pass, 1));
}

/// An advert whose address list differs from ours is valid all the same, as keepalived 2.3.3
/// and later take it: counted as such, recorded in LIVENESS (with the count it carried, for the
/// log), and it resets the Master_Down_Timer like any other.
#[test]
fn an_advert_with_another_address_list_is_counted_and_processed() {
    let mut xdp = loaded(backup_config());
    for (addresses, mismatches) in [
        (vec![192, 0, 2, 98], 1),
        (vec![192, 0, 2, 99, 192, 0, 2, 98], 2),
        (vec![192, 0, 2, 99], 2),
    ] {
        let run = xdp
            .run(
                &Advert {
                    addresses,
                    ..Advert::default()
                }
                .frame(),
            )
            .expect("run");
        // Passed to the stack or not is the pass budget's business; valid it is.
        assert_ne!(run.verdict, Verdict::Aborted);
        assert_eq!(
            xdp.counter(Counter::AddressListMismatch).expect("counter"),
            mismatches
        );
        // keepalived's addr_list_err, against the instance.
        assert_eq!(
            xdp.receive_errors(key())
                .expect("INSTANCE_ERRORS")
                .get(ReceiveError::AddressList),
            mismatches
        );
    }
    assert_eq!(xdp.counter(Counter::AdvertsValid).expect("counter"), 3);
    let live = xdp.liveness(0).expect("entry");
    assert_eq!(
        (
            live.adverts,
            live.address_list_mismatches,
            live.mismatched_address_count
        ),
        (3, 2, 2)
    );
    assert_ne!(live.last_reset_ns, 0, "the adverts reset the timer");
    let mut skip = backup_config();
    skip.flags &= !flags::CHECK_ADDRESSES;
    let mut unchecked = loaded(skip);
    let other = Advert {
        addresses: vec![192, 0, 2, 98],
        ..Advert::default()
    };
    assert_eq!(
        unchecked.run(&other.frame()).expect("run").verdict,
        Verdict::Pass
    );
    assert_eq!(
        unchecked
            .counter(Counter::AddressListMismatch)
            .expect("counter"),
        0,
        "skip_check_adv_addr compares nothing"
    );
}

#[test]
fn every_drop_reason_has_its_counter() {
    let config = backup_config();
    assert_dropped(
        &Advert {
            vrid: 52,
            ..Advert::default()
        }
        .frame(),
        config,
        Counter::DropUnknownVrid,
    );
    assert_dropped(
        &Advert {
            ttl: 254,
            ..Advert::default()
        }
        .frame(),
        config,
        Counter::DropBadTtl,
    );
    assert_dropped(
        &Advert {
            source: US,
            ..Advert::default()
        }
        .frame(),
        config,
        Counter::DropOwnAddress,
    );
    assert_dropped(
        &Advert {
            auth: Auth::SimpleText(*b"wrong\0\0\0"),
            ..Advert::default()
        }
        .frame(),
        config,
        Counter::DropAuthFailure,
    );
    assert_dropped(
        &Advert {
            auth: Auth::None,
            ..Advert::default()
        }
        .frame(),
        config,
        Counter::DropAuthTypeMismatch,
    );
    assert_dropped(
        &Advert {
            interval_cs: 200,
            ..Advert::default()
        }
        .frame(),
        config,
        Counter::DropIntervalMismatch,
    );
    assert_dropped(
        &Advert {
            version: Version::V3,
            interval_cs: 100,
            auth: Auth::None,
            ..Advert::default()
        }
        .frame(),
        config,
        Counter::DropVersionMismatch,
    );
    let mut unicast = config;
    unicast.flags |= flags::UNICAST | flags::CHECK_UNICAST_SRC;
    assert_dropped(
        &Advert::default().frame(),
        unicast,
        Counter::DropUnknownPeer,
    );
    let good = Advert::default().frame();
    // VRRP starts at 14 + 20.
    let mut bad_checksum = good.clone();
    bad_checksum[34 + 6] ^= 0xff;
    assert_dropped(&bad_checksum, config, Counter::DropBadChecksum);
    let mut bad_version = good.clone();
    bad_version[34] = 0x41;
    assert_dropped(&bad_version, config, Counter::DropBadVersion);
    let mut bad_type = good.clone();
    bad_type[34] = 0x22;
    assert_dropped(&bad_type, config, Counter::DropBadType);
    let mut bad_ihl = good.clone();
    bad_ihl[14] = 0x44;
    assert_dropped(&bad_ihl, config, Counter::DropBadIpHeader);
    // The IP header claims 8 bytes more than the frame holds.
    let mut truncated = good.clone();
    truncated[16..18].copy_from_slice(&48u16.to_be_bytes());
    assert_dropped(&truncated, config, Counter::DropTruncated);
    // Four bytes of VRRP more than the address count allows (IP length grown to cover them).
    let mut longer = good.clone();
    longer.extend_from_slice(&[0; 4]);
    longer[16..18].copy_from_slice(&44u16.to_be_bytes());
    let header_checksum = {
        longer[24] = 0;
        longer[25] = 0;
        vrrp_common::wire::checksum::finish(vrrp_common::wire::checksum::accumulate(
            0,
            &longer[14..34],
        ))
    };
    longer[24..26].copy_from_slice(&header_checksum.to_be_bytes());
    assert_dropped(&longer, config, Counter::DropLengthMismatch);
}

/// An advert addressed to another host (seen in promiscuous mode) or to a group we did not
/// join is passed untouched and counted as not for us, as the kernel would not deliver it to a
/// VRRP socket; one to our own address is checked as any other.
#[test]
fn adverts_for_other_hosts_and_groups_pass_untouched() {
    let config = backup_config();
    let to = |destination: [u8; 4]| {
        let mut frame = Advert::default().frame();
        frame[14 + 16..14 + 20].copy_from_slice(&destination);
        vrrp_common::wire::ip::Ipv4Packet::new_unchecked(&mut frame[14..34]).fill_checksum();
        frame
    };
    for other in [[192, 0, 2, 77], [224, 0, 0, 19]] {
        let frame = to(other);
        let mut xdp = loaded(config);
        let run = xdp.run(&frame).expect("run");
        assert_eq!(
            (run.verdict, run.output),
            (Verdict::Pass, frame),
            "{other:?}"
        );
        assert_eq!(xdp.counter(Counter::AdvertsNotForUs).expect("counter"), 1);
        assert_eq!(xdp.counter(Counter::AdvertsValid).expect("counter"), 0);
    }
    let (verdict, valid) = verdict_and_count(config, &to(US), Counter::AdvertsValid);
    assert_eq!((verdict, valid), (Verdict::Pass, 1), "to our own address");
}

/// The largest adverts the configuration lets through (255 IPv4 addresses with v2's
/// authentication data, 64 IPv6 ones) are carried by the builder, the checksum, the address
/// digest and the program's length limit alike: valid, not truncated or mismatched.
#[test]
fn the_largest_adverts_the_configuration_allows_are_valid_end_to_end() {
    use vrrp_common::wire::vrrp::max_addresses;
    let ipv4: Vec<u8> = (0..max_addresses(Version::V2, Family::Ipv4))
        .flat_map(|i| [198, 51, 100 + (i / 250) as u8, 1 + (i % 250) as u8])
        .collect();
    let mut config = backup_config();
    config.address_count = 255;
    config.address_digest = address_digest(Family::Ipv4, &ipv4, 0, 255);
    let frame = Advert {
        addresses: ipv4,
        ..Advert::default()
    }
    .frame();
    assert_eq!(frame.len(), 14 + 20 + 8 + 255 * 4 + 8);
    let (verdict, valid) = verdict_and_count(config, &frame, Counter::AdvertsValid);
    assert_eq!((verdict, valid), (Verdict::Pass, 1), "255 IPv4 addresses");

    let room = max_addresses(Version::V3, Family::Ipv6);
    assert_eq!(room, 64);
    let ipv6: Vec<u8> = (0..room)
        .flat_map(|i| {
            let mut address = [0u8; 16];
            address[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
            address[15] = i as u8 + 1;
            address
        })
        .collect();
    let config6 = fixtures::ipv6_backup_config(&ipv6);
    let bytes = ipv6_advert(fixtures::MASTER6, &ipv6);
    let mut xdp = XdpUnderTest::load().expect("load");
    xdp.hash_map::<InstanceKey, InstanceConfig>("CONFIG")
        .expect("map")
        .insert(InstanceKey::new(TEST_IFINDEX, Family::Ipv6, 53), config6, 0)
        .expect("insert");
    assert_eq!(xdp.run(&bytes).expect("run").verdict, Verdict::Pass);
    assert_eq!(
        xdp.counter(Counter::AdvertsValid).expect("counter"),
        1,
        "64 IPv6 addresses"
    );
    // One more address than the room is what the receivers refuse: the configuration never
    // lets it be built.
    let too_many = vrrp_common::wire::vrrp::message_len(Version::V3, Family::Ipv6, 65);
    assert!(too_many > vrrp_common::wire::vrrp::MAX_LEN);
}

/// The program parses IPv4 as the kernel would: a header with a wrong checksum and a fragment
/// (more-fragments set, or an offset) are dropped under their own reasons, not validated.
#[test]
fn ipv4_fragments_and_bad_header_checksums_are_dropped_as_the_kernel_would() {
    let config = backup_config();
    let good = Advert::default().frame();
    let mut bad_header_checksum = good.clone();
    bad_header_checksum[14 + 10] ^= 0x01;
    assert_dropped(&bad_header_checksum, config, Counter::DropBadIpChecksum);
    for flags_and_offset in [[0x20, 0x00], [0x00, 0x02], [0x20, 0x02]] {
        let mut fragment = good.clone();
        fragment[14 + 6..14 + 8].copy_from_slice(&flags_and_offset);
        vrrp_common::wire::ip::Ipv4Packet::new_unchecked(&mut fragment[14..34]).fill_checksum();
        assert_dropped(&fragment, config, Counter::DropFragment);
    }
    // Don't-fragment is no fragment.
    let mut dont_fragment = good;
    dont_fragment[14 + 6] = 0x40;
    vrrp_common::wire::ip::Ipv4Packet::new_unchecked(&mut dont_fragment[14..34]).fill_checksum();
    let (verdict, valid) = verdict_and_count(config, &dont_fragment, Counter::AdvertsValid);
    assert_eq!((verdict, valid), (Verdict::Pass, 1));
}

#[test]
fn an_ipv6_fragment_is_unsupported() {
    let mut frame = vec![0u8; 14 + 40 + 8 + 8];
    vrrp_common::wire::ethernet::Repr {
        destination: [0x33, 0x33, 0, 0, 0, 0x12],
        source: MASTER_MAC,
        ethertype: 0x86dd,
    }
    .emit(&mut frame)
    .expect("eth");
    vrrp_common::wire::ip::Ipv6Repr {
        source: [0xfe; 16].into(),
        destination: [0xff; 16].into(),
        next_header: 44,
        hop_limit: 255,
        traffic_class: 0,
        payload_len: 16,
    }
    .emit(&mut frame[14..])
    .expect("ipv6");
    frame[54] = 112;
    assert_dropped(&frame, backup_config(), Counter::DropUnsupported);
}

#[test]
fn a_steady_master_updates_liveness_and_wakes_userspace_only_on_change() {
    let mut xdp = loaded(backup_config());
    let gap = Duration::from_millis(3); // beyond the 1 ms event rate limit
    for _ in 0..5 {
        // Passed or dropped by the pass budget; counted either way.
        assert_ne!(
            xdp.run(&Advert::default().frame()).expect("run").verdict,
            Verdict::Aborted
        );
        std::thread::sleep(gap);
    }
    let live: Liveness = xdp.liveness(0).expect("entry");
    assert_eq!(live.adverts, 5);
    assert_eq!(live.master, raw_from_ipv4(MASTER));
    assert_eq!(
        (live.master_priority, live.master_interval_cs, live.resigned),
        (100, 100, 0)
    );
    assert!(live.last_reset_ns > 0 && live.last_reset_ns == live.last_advert_ns);
    let kinds = |events: Vec<Event>| {
        events
            .iter()
            .map(|e| EventKind::from_u8(e.kind))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(xdp.events().expect("events")),
        vec![Some(EventKind::NewMaster)],
        "one event for five adverts"
    );
    // Each change is one event.
    xdp.run(
        &Advert {
            priority: 101,
            ..Advert::default()
        }
        .frame(),
    )
    .expect("run");
    std::thread::sleep(gap);
    xdp.run(
        &Advert {
            priority: 101,
            ..Advert::default()
        }
        .frame(),
    )
    .expect("run");
    std::thread::sleep(gap);
    xdp.run(
        &Advert {
            priority: 0,
            ..Advert::default()
        }
        .frame(),
    )
    .expect("run");
    let events = xdp.events().expect("events");
    assert_eq!(
        kinds(events.clone()),
        vec![
            Some(EventKind::MasterPriorityChanged),
            Some(EventKind::MasterResigned)
        ]
    );
    assert_eq!(events[1].key, key());
    assert_eq!(events[1].source, raw_from_ipv4(MASTER));
    // A lower-priority master that we may preempt resets nothing and wakes nobody.
    let before = xdp.liveness(0).expect("entry");
    std::thread::sleep(gap);
    xdp.run(
        &Advert {
            priority: 90,
            ..Advert::default()
        }
        .frame(),
    )
    .expect("run");
    let after = xdp.liveness(0).expect("entry");
    assert_eq!(after.last_reset_ns, before.last_reset_ns);
    assert!(xdp.events().expect("events").is_empty());
}

#[test]
fn a_master_is_woken_by_a_higher_priority_advert() {
    let mut config = backup_config();
    config.state = State::Master as u8;
    config.priority = 100;
    let mut xdp = loaded(config);
    xdp.run(
        &Advert {
            priority: 110,
            ..Advert::default()
        }
        .frame(),
    )
    .expect("run");
    let events = xdp.events().expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(
        EventKind::from_u8(events[0].kind),
        Some(EventKind::HigherPriorityWhileMaster)
    );
    assert_eq!(events[0].priority, 110);
}

#[test]
fn valid_adverts_beyond_the_pass_budget_are_dropped_but_counted() {
    let mut xdp = loaded(backup_config());
    let mut verdicts = Vec::new();
    for _ in 0..20 {
        verdicts.push(xdp.run(&Advert::default().frame()).expect("run").verdict);
    }
    assert_eq!(verdicts[0], Verdict::Pass);
    assert!(
        verdicts[1..].iter().all(|v| *v == Verdict::Drop),
        "a burst within a quarter interval: {verdicts:?}"
    );
    assert_eq!(xdp.counter(Counter::AdvertsValid).expect("counter"), 20);
    assert_eq!(
        xdp.counter(Counter::AdvertsOverPassBudget)
            .expect("counter"),
        19
    );
}

#[test]
fn an_ipv6_v3_advert_updates_liveness() {
    let key6 = InstanceKey::new(TEST_IFINDEX, Family::Ipv6, 53);
    let master6 = fixtures::MASTER6;
    let vips: Vec<u8> = [[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53], {
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        a[15] = 0x53;
        a
    }]
    .concat();
    let config = fixtures::ipv6_backup_config(&vips);
    vrrp_harness::require_root();
    let mut xdp = XdpUnderTest::load().expect("load");
    xdp.hash_map::<InstanceKey, InstanceConfig>("CONFIG")
        .expect("map")
        .insert(key6, config, 0)
        .expect("insert");
    let bytes = ipv6_advert(master6, &vips);
    assert_eq!(xdp.run(&bytes).expect("run").verdict, Verdict::Pass);
    let live = xdp.liveness(0).expect("entry");
    assert_eq!(
        (live.master, live.master_priority, live.adverts),
        (master6, 100, 1)
    );
}

#[test]
fn a_frame_cut_at_any_length_never_aborts() {
    let mut xdp = with_vip(true);
    let frame = Advert::default().frame();
    // The kernel refuses test frames shorter than an Ethernet header. A cut advert is never
    // aborted, never counted valid, and never moves LIVENESS.
    for length in 14..frame.len() {
        let run = xdp.run(&frame[..length]).expect("run");
        assert_ne!(run.verdict, Verdict::Aborted, "cut at {length}");
    }
    assert_eq!(xdp.counter(Counter::AdvertsValid).expect("counter"), 0);
    let live = xdp.liveness(0).ok();
    assert!(
        live.is_none_or(|l| l.adverts == 0 && l.last_reset_ns == 0),
        "LIVENESS moved: {live:?}"
    );
    // A cut ARP request for an active VIP is never answered.
    let arp = arp_request([192, 0, 2, 100], VIP);
    for length in 14..arp.len() {
        let run = xdp.run(&arp[..length]).expect("run");
        assert_eq!(run.verdict, Verdict::Pass, "ARP cut at {length}");
    }
    assert_eq!(xdp.counter(Counter::ArpRepliesSent).expect("counter"), 0);
}

const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x64];
const ROUTER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x12];

/// An ARP request from the client, built byte by byte.
fn arp_request(sender: [u8; 4], target: [u8; 4]) -> Vec<u8> {
    fixtures::arp_request(CLIENT_MAC, sender, target)
}

fn with_vip(active: bool) -> XdpUnderTest {
    let mut xdp = loaded(backup_config());
    let vip = VipKey::new(TEST_IFINDEX, Family::Ipv4, raw_from_ipv4(VIP));
    let value = VipValue {
        mac: ROUTER_MAC,
        active: u8::from(active),
        vrid: 51,
    };
    xdp.hash_map::<VipKey, VipValue>("VIPS")
        .expect("map")
        .insert(vip, value, 0)
        .expect("insert");
    xdp
}

/// The ND responder answers a valid solicitation for an active IPv6 VIP and leaves everything
/// the kernel would refuse to the kernel: a wrong ICMPv6 checksum, an IPv6 payload length that
/// is not the message's, a hop limit below 255 (RFC 4861 section 7.1.1).
#[test]
fn the_nd_responder_answers_only_a_valid_solicitation() {
    let vip6: std::net::Ipv6Addr = "2001:db8::53".parse().expect("ip");
    let client6: std::net::Ipv6Addr = "2001:db8::100".parse().expect("ip");
    let mut xdp = loaded(backup_config());
    xdp.hash_map::<VipKey, VipValue>("VIPS")
        .expect("map")
        .insert(
            VipKey::new(TEST_IFINDEX, Family::Ipv6, vip6.octets()),
            VipValue {
                mac: ROUTER_MAC,
                active: 1,
                vrid: 53,
            },
            0,
        )
        .expect("insert");
    let valid = fixtures::neighbor_solicitation(CLIENT_MAC, client6, vip6);
    let run = xdp.run(&valid).expect("run");
    assert_eq!(run.verdict, Verdict::Tx, "a valid solicitation is answered");
    let answer = vrrp_common::wire::ethernet::Repr::parse_bytes(&run.output).expect("eth");
    assert_eq!(
        (answer.source, answer.destination),
        (ROUTER_MAC, CLIENT_MAC)
    );
    // A nonce option (RFC 7527, as Linux sends with enhanced DAD) before the source option:
    // options come in any order, and the answer is the same advertisement, the frame cut to it.
    const NONCE: [u8; 8] = [14, 1, 1, 2, 3, 4, 5, 6];
    let nonce_first = fixtures::neighbor_solicitation_with(CLIENT_MAC, client6, vip6, &[NONCE]);
    let with_nonce = xdp.run(&nonce_first).expect("run");
    assert_eq!(
        (with_nonce.verdict, &with_nonce.output),
        (Verdict::Tx, &run.output),
        "a source option after another option"
    );
    // Well summed, so that only the option is wrong (the kernel discards it: RFC 4861 7.1.1).
    let mut zero_length_option = nonce_first.clone();
    zero_length_option[14 + 40 + 24 + 1] = 0;
    zero_length_option[14 + 40 + 2..14 + 40 + 4].copy_from_slice(&[0, 0]);
    let sum = vrrp_common::wire::icmpv6::checksum(
        &zero_length_option[14 + 8..14 + 24]
            .try_into()
            .expect("source"),
        &zero_length_option[14 + 24..14 + 40]
            .try_into()
            .expect("destination"),
        &zero_length_option[14 + 40..],
    );
    zero_length_option[14 + 40 + 2..14 + 40 + 4].copy_from_slice(&sum.to_be_bytes());
    let mut bad_checksum = valid.clone();
    bad_checksum[14 + 40 + 2] ^= 0x01;
    let mut bad_length = valid.clone();
    bad_length[14 + 5] = 24;
    let mut low_hop_limit = valid.clone();
    low_hop_limit[14 + 7] = 254;
    for (what, frame) in [
        ("checksum", bad_checksum),
        ("payload length", bad_length),
        ("hop limit", low_hop_limit),
        ("option of length zero", zero_length_option),
    ] {
        let run = xdp.run(&frame).expect("run");
        assert_eq!((run.verdict, run.output), (Verdict::Pass, frame), "{what}");
    }
    assert_eq!(
        xdp.counter(Counter::NeighborAdvertsSent).expect("counter"),
        2
    );
}

#[test]
fn an_arp_request_for_an_active_vip_is_answered_in_place() {
    let mut xdp = with_vip(true);
    let run = xdp.run(&arp_request([192, 0, 2, 100], VIP)).expect("run");
    assert_eq!(run.verdict, Verdict::Tx);
    let mut expected = CLIENT_MAC.to_vec();
    expected.extend_from_slice(&ROUTER_MAC);
    expected.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2]);
    expected.extend_from_slice(&ROUTER_MAC);
    expected.extend_from_slice(&VIP);
    expected.extend_from_slice(&CLIENT_MAC);
    expected.extend_from_slice(&[192, 0, 2, 100]);
    assert_eq!(run.output, expected, "the reply byte for byte");
    assert_eq!(xdp.counter(Counter::ArpRepliesSent).expect("counter"), 1);
}

#[test]
fn inactive_vips_gratuitous_arps_and_probes_pass_untouched() {
    let mut inactive = with_vip(false);
    let request = arp_request([192, 0, 2, 100], VIP);
    let run = inactive.run(&request).expect("run");
    assert_eq!((run.verdict, run.output), (Verdict::Pass, request));
    let mut active = with_vip(true);
    for frame in [
        arp_request(VIP, VIP),
        arp_request([0, 0, 0, 0], VIP),
        arp_request([192, 0, 2, 100], [192, 0, 2, 7]),
    ] {
        let run = active.run(&frame).expect("run");
        assert_eq!((run.verdict, run.output), (Verdict::Pass, frame));
    }
    assert_eq!(active.counter(Counter::ArpRepliesSent).expect("counter"), 0);
}

#[test]
fn a_unicast_peer_is_accepted_within_its_ttl_range() {
    let mut config = backup_config();
    config.flags |= flags::UNICAST | flags::CHECK_UNICAST_SRC;
    let mut xdp = loaded(config);
    let peer = PeerKey {
        instance: key(),
        address: raw_from_ipv4(MASTER),
    };
    // unicast_peer { 192.0.2.11 min_ttl 60 max_ttl 64 }: routed at most a few hops.
    xdp.hash_map::<PeerKey, PeerTtl>("PEERS")
        .expect("map")
        .insert(peer, PeerTtl { min: 60, max: 64 }, 0)
        .expect("insert");
    let with_ttl = |ttl: u8| {
        Advert {
            ttl,
            ..Advert::default()
        }
        .frame()
    };
    assert_eq!(xdp.run(&with_ttl(64)).expect("run").verdict, Verdict::Pass);
    let before = xdp.counter(Counter::DropBadTtl).expect("counter");
    assert_eq!(xdp.run(&with_ttl(255)).expect("run").verdict, Verdict::Drop);
    assert_eq!(xdp.run(&with_ttl(59)).expect("run").verdict, Verdict::Drop);
    assert_eq!(
        xdp.counter(Counter::DropBadTtl).expect("counter"),
        before + 2
    );
    let stranger = Advert {
        ttl: 64,
        source: [192, 0, 2, 66],
        ..Advert::default()
    };
    assert_eq!(
        xdp.run(&stranger.frame()).expect("run").verdict,
        Verdict::Drop
    );
    assert_eq!(xdp.counter(Counter::DropUnknownPeer).expect("counter"), 1);
}

/// The verifier's work is what vrrpd's start-up waits for, and the kernel refuses a program
/// past 1,000,000 processed instructions. The checksum and address-digest loops are shaped so
/// that it follows them once per path (see `checksum::fold`); this keeps a change that breaks
/// that shape from going unnoticed until the program no longer loads.
#[test]
fn the_verifier_needs_well_under_its_limit() {
    let mut xdp = loaded(backup_config());
    let program = vrrp_user::datapath::program::xdp_program(&mut xdp.ebpf).expect("program");
    let processed = program
        .info()
        .expect("program info")
        .verified_instruction_count()
        .expect("this kernel reports the verifier's count");
    assert!(
        processed < 400_000,
        "the verifier processed {processed} instructions (limit 1,000,000)"
    );
}

/// Status reads every instance's CONFIG entry (which names its LIVENESS slot) in one
/// BPF_MAP_LOOKUP_BATCH (`datapath::batch`): 1000 entries come back, each with its own value,
/// whether they fit in one call or take several.
#[test]
fn a_batch_read_returns_every_config_entry() {
    vrrp_harness::require_root();
    let mut xdp = XdpUnderTest::load().expect("load");
    let key_of = |i: u32| InstanceKey::new(100 + i / 250, Family::Ipv6, (i % 250 + 1) as u8);
    let mut config = xdp
        .hash_map::<InstanceKey, InstanceConfig>("CONFIG")
        .expect("CONFIG");
    for i in 0..1000u32 {
        let entry = InstanceConfig {
            liveness_slot: 1023 - i,
            ..backup_config()
        };
        config.insert(key_of(i), entry, 0).expect("insert");
    }
    let Some(aya::maps::Map::HashMap(map)) = xdp.ebpf.map("CONFIG") else {
        panic!("CONFIG is not a hash map");
    };
    for capacity in [1024, 64] {
        let entries =
            vrrp_user::datapath::batch::lookup_all::<InstanceKey, InstanceConfig>(map, capacity)
                .expect("batch lookup");
        assert_eq!(entries.len(), 1000, "entries read with room for {capacity}");
        let mut seen: Vec<u32> = entries
            .iter()
            .map(|(key, entry)| {
                let i = (key.ifindex - 100) * 250 + u32::from(key.vrid) - 1;
                assert_eq!(entry.liveness_slot, 1023 - i, "the entry of {key:?}");
                i
            })
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..1000).collect::<Vec<u32>>());
    }
}

/// The program writes each instance's record in the LIVENESS slot its CONFIG entry names, and
/// the daemon reads it from its own mapping of the array (`datapath::liveness`), no system
/// call, the moment the program has written it.
#[test]
fn each_instance_s_record_is_written_in_its_slot_and_read_from_memory() {
    vrrp_harness::require_root();
    let mut xdp = XdpUnderTest::load().expect("load");
    let other = InstanceKey::new(TEST_IFINDEX, Family::Ipv4, 52);
    let mut config = xdp
        .hash_map::<InstanceKey, InstanceConfig>("CONFIG")
        .expect("CONFIG");
    let with_slot = |slot| InstanceConfig {
        liveness_slot: slot,
        ..backup_config()
    };
    config.insert(key(), with_slot(700), 0).expect("insert");
    config.insert(other, with_slot(5), 0).expect("insert");
    let Some(aya::maps::Map::Array(map)) = xdp.ebpf.map("LIVENESS") else {
        panic!("LIVENESS is not an array");
    };
    let view = vrrp_user::datapath::liveness::LivenessView::map(map).expect("mmap LIVENESS");
    assert_eq!(view.read(700).expect("slot 700").adverts, 0);
    let advert = |vrid, priority| {
        Advert {
            vrid,
            priority,
            ..Advert::default()
        }
        .frame()
    };
    for _ in 0..3 {
        xdp.run(&advert(51, 100)).expect("run");
    }
    xdp.run(&advert(52, 110)).expect("run");
    let (mine, theirs) = (
        view.read(700).expect("slot 700"),
        view.read(5).expect("slot 5"),
    );
    assert_eq!((mine.adverts, mine.master_priority), (3, 100));
    assert_eq!((theirs.adverts, theirs.master_priority), (1, 110));
    assert_eq!(view.read(0).expect("slot 0").adverts, 0, "no one's slot");
    assert_eq!(view.read(1024), None, "past the array");
}
