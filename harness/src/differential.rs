//! The XDP program against the host, frame by frame: the same frames (fixtures, every byte and
//! bit of them flipped, every length cut, header fields swept, then random mutations) run
//! through the real program (BPF_PROG_TEST_RUN) and through [`expected`], the host build of the
//! shared parsers and rules composed the way the program composes them. Both must give the same
//! verdict, and count the same reason.
//!
//! A disagreement means the kernel-side code does something the host code does not: a read past
//! what it copied, an offset the verifier made it compute differently, a path the host lacks.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use vrrp_common::maps::{InstanceConfig, InstanceKey};
use vrrp_common::rules::{self};
use vrrp_common::stats::Counter;
use vrrp_common::wire::checksum::IPPROTO_VRRP;
use vrrp_common::wire::frame::{AdvertFrame, VRRP_GROUP_IPV6};
use vrrp_common::wire::icmpv6::NEXT_HEADER_ICMPV6;
use vrrp_common::wire::vrrp::{self, Auth, Repr, Version};
use vrrp_common::wire::{Family, ethernet, ip, raw_from_ipv4};

use crate::bpf_run::{Verdict, XdpUnderTest};
use crate::fixtures;

/// BPF_PROG_TEST_RUN reports ifindex 1 (loopback) as the ingress interface.
pub const TEST_IFINDEX: u32 = 1;
const MASTER: [u8; 4] = [192, 0, 2, 11];
const US: [u8; 4] = [192, 0, 2, 12];
const MASTER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x11];
use fixtures::MASTER6;
const VIP6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53,
];

/// What a frame should come to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Not a VRRP advert the program handles: passed untouched, nothing counted.
    Pass,
    /// A valid advert (counted as such; passed, or dropped over the pass budget).
    Valid,
    /// An advert for another group or host: passed untouched, counted as not for us.
    NotForUs,
    /// Dropped and counted under this reason.
    Dropped(Counter),
}

/// The instances the differential run configures: the seed's DR2 (v2, IPv4, VRID 51) and a v3
/// IPv6 backup (VRID 53).
pub fn configs() -> [(InstanceKey, InstanceConfig); 2] {
    let v6 = fixtures::ipv6_backup_config(&VIP6);
    [
        (
            InstanceKey::new(TEST_IFINDEX, Family::Ipv4, 51),
            fixtures::seed_dr2_config(US),
        ),
        (InstanceKey::new(TEST_IFINDEX, Family::Ipv6, 53), v6),
    ]
}

/// The frames every mutation starts from: a valid advert for each configured instance, one of
/// another version, an ARP request and a neighbour solicitation.
pub fn fixtures() -> Vec<Vec<u8>> {
    let v2 = advert_frame(Version::V2, Family::Ipv4, 51, &fixtures::SEED_VIP);
    let v3_ipv4 = advert_frame(Version::V3, Family::Ipv4, 51, &fixtures::SEED_VIP);
    let v3_ipv6 = advert_frame(Version::V3, Family::Ipv6, 53, &VIP6);
    vec![
        v2,
        v3_ipv4,
        v3_ipv6,
        fixtures::arp_request(
            [2, 0, 0, 0, 0, 0x64],
            fixtures::CLIENT_IP,
            fixtures::SEED_VIP,
        ),
        fixtures::neighbor_solicitation([2, 0, 0, 0, 0, 0x64], MASTER6.into(), VIP6.into()),
    ]
}

fn advert_frame(version: Version, family: Family, vrid: u8, addresses: &[u8]) -> Vec<u8> {
    let (source, destination, auth) = match (family, version) {
        (Family::Ipv4, Version::V2) => (
            raw_from_ipv4(MASTER),
            raw_from_ipv4(fixtures::SEED_GROUP),
            Auth::SimpleText(*b"abc123\0\0"),
        ),
        (Family::Ipv4, Version::V3) => (
            raw_from_ipv4(MASTER),
            raw_from_ipv4(fixtures::SEED_GROUP),
            Auth::None,
        ),
        (Family::Ipv6, _) => (MASTER6, VRRP_GROUP_IPV6, Auth::None),
    };
    let frame = AdvertFrame {
        source_mac: MASTER_MAC,
        destination_mac: None,
        source,
        destination,
        ttl: 255,
        identification: 1,
        v3_checksum_as_v2: false,
        advert: Repr {
            version,
            vrid,
            priority: 100,
            interval_cs: 100,
            auth,
            family,
            addresses,
        },
    };
    let mut bytes = vec![0u8; frame.len()];
    // The buffer is the frame's own length and the fixtures are valid adverts.
    let _ = frame.emit(&mut bytes);
    bytes
}

/// The host's verdict on `frame`: the dispatch of vrrp-ebpf (main.rs, advert.rs) over the host
/// build of `vrrp_common`'s parsers and rules, given only the bytes the frame really has.
pub fn expected(frame: &[u8], configs: &[(InstanceKey, InstanceConfig)]) -> Outcome {
    let Ok(ethernet_frame) = ethernet::Frame::new_checked(frame) else {
        return Outcome::Pass;
    };
    let packet = ethernet_frame.payload();
    // The program reads two fields of the IP header before it parses anything: the protocol
    // (IPv4) or next header (IPv6), and the length.
    let (family, ip_len) = match ethernet_frame.ethertype() {
        ethernet::ETHERTYPE_IPV4 => {
            let Some(header) = packet.get(..ip::IPV4_MIN_HEADER_LEN) else {
                return Outcome::Pass;
            };
            if header[ip::ipv4_field::PROTOCOL] != IPPROTO_VRRP {
                return Outcome::Pass;
            }
            (
                Family::Ipv4,
                usize::from(word(&header[ip::ipv4_field::LENGTH])),
            )
        }
        ethernet::ETHERTYPE_IPV6 => {
            let Some(header) = packet.get(..ip::IPV6_HEADER_LEN) else {
                return Outcome::Pass;
            };
            let next = header[ip::ipv6_field::NEXT_HEADER];
            if next == NEXT_HEADER_ICMPV6 {
                // The ND responder: with no active VIP configured it answers nothing.
                return Outcome::Pass;
            }
            // IPv6 extension headers that may precede VRRP.
            if next != IPPROTO_VRRP && ![0, 43, 44, 60].contains(&next) {
                return Outcome::Pass;
            }
            let payload_len = usize::from(word(&header[ip::ipv6_field::PAYLOAD_LENGTH]));
            (Family::Ipv6, ip::IPV6_HEADER_LEN + payload_len)
        }
        // ARP: with no active VIP configured the responder answers nothing.
        _ => return Outcome::Pass,
    };
    vrrp_outcome(packet, family, ip_len, configs)
}

fn word(bytes: &[u8]) -> u16 {
    u16::from_be_bytes([bytes[0], bytes[1]])
}

fn vrrp_outcome(
    packet: &[u8],
    family: Family,
    ip_len: usize,
    configs: &[(InstanceKey, InstanceConfig)],
) -> Outcome {
    let available = packet.len();
    if available < ip_len {
        return Outcome::Dropped(Counter::DropTruncated);
    }
    let header_len = available.min(ip::MAX_IPV6_HEADERS_LEN);
    if header_len < ip::IPV4_MIN_HEADER_LEN {
        return Outcome::Dropped(Counter::DropTruncated);
    }
    let header = &packet[..header_len];
    let parsed = match family {
        Family::Ipv4 => ip::parse_ipv4_header(header, available),
        Family::Ipv6 => ip::parse_ipv6_header(header, available),
    };
    let meta = match parsed {
        Ok(meta) => meta,
        Err(ip::Error::Truncated) => return Outcome::Dropped(Counter::DropTruncated),
        Err(ip::Error::UnsupportedExtension) => return Outcome::Dropped(Counter::DropUnsupported),
        Err(ip::Error::Fragment) => return Outcome::Dropped(Counter::DropFragment),
        Err(ip::Error::BadChecksum) => return Outcome::Dropped(Counter::DropBadIpChecksum),
        Err(_) => return Outcome::Dropped(Counter::DropBadIpHeader),
    };
    if meta.protocol != IPPROTO_VRRP {
        return Outcome::Pass;
    }
    let length = meta.payload_len;
    if length > vrrp::MAX_LEN {
        return Outcome::Dropped(Counter::DropLengthMismatch);
    }
    if length < vrrp::HEADER_LEN {
        return Outcome::Dropped(Counter::DropTruncated);
    }
    let Some(payload) = packet.get(meta.payload_offset..meta.payload_offset + length) else {
        return Outcome::Dropped(Counter::DropTruncated);
    };
    let reception = rules::receive_advert(
        TEST_IFINDEX,
        &meta,
        payload,
        |key| configs.iter().find(|(k, _)| k == key).map(|(_, c)| c),
        |_, _| None,
    );
    match (reception.instance, reception.verdict) {
        (Some(_), Ok(_)) => Outcome::Valid,
        (_, Err(Counter::AdvertsNotForUs)) => Outcome::NotForUs,
        (_, Err(counter)) => Outcome::Dropped(counter),
        (None, Ok(_)) => Outcome::Dropped(Counter::DropUnknownVrid),
    }
}

/// A small, seedable generator (xorshift64*), so every run with the same seed is the same run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn coin(&mut self) -> bool {
        self.next_u64().is_multiple_of(2)
    }

    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound.max(1) as u64) as usize
    }
}

/// The systematic mutations of every fixture: each byte inverted, each bit flipped, every
/// length cut, and every value of each header byte up to the VRRP address list.
pub fn systematic(fixtures: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    for fixture in fixtures {
        frames.push(fixture.clone());
        for at in 0..fixture.len() {
            let mut inverted = fixture.clone();
            inverted[at] ^= 0xff;
            frames.push(inverted);
            for bit in 0..8 {
                let mut flipped = fixture.clone();
                flipped[at] ^= 1 << bit;
                frames.push(flipped);
            }
        }
        for len in 0..fixture.len() {
            frames.push(fixture[..len].to_vec());
        }
        // The Ethernet type, the IP header and the VRRP header, swept through every value.
        let swept = fixture
            .len()
            .min(ethernet::HEADER_LEN + ip::IPV6_HEADER_LEN + 8);
        for at in 12..swept {
            for value in 0..=255u8 {
                let mut frame = fixture.clone();
                frame[at] = value;
                frames.push(frame);
            }
        }
    }
    frames
}

/// A random mutation of a fixture: a few bytes changed, the length cut or grown, or a header
/// field set to an extreme; the IPv4 header checksum is sometimes fixed up after, so the
/// mutation reaches the checks behind it.
pub fn random(fixtures: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    let mut frame = fixtures[rng.below(fixtures.len())].clone();
    for _ in 0..1 + rng.below(4) {
        match rng.below(5) {
            0 | 1 => {
                let at = rng.below(frame.len());
                frame[at] = rng.next_u64() as u8;
            }
            2 => {
                let len = rng.below(frame.len() + 1);
                frame.truncate(len);
            }
            3 => {
                for _ in 0..1 + rng.below(16) {
                    frame.push(rng.next_u64() as u8);
                }
            }
            _ => {
                let at = rng.below(frame.len());
                frame[at] = if rng.coin() { 0 } else { 0xff };
            }
        }
        if frame.is_empty() {
            break;
        }
    }
    let ipv4 = frame.get(12..14) == Some(&[0x08, 0x00][..]);
    if ipv4 && rng.coin() && frame.len() >= ethernet::HEADER_LEN + 20 {
        let header_len = usize::from(frame[14] & 0x0f) * 4;
        if header_len >= 20 && frame.len() >= ethernet::HEADER_LEN + header_len {
            let header = &mut frame[ethernet::HEADER_LEN..ethernet::HEADER_LEN + header_len];
            header[10] = 0;
            header[11] = 0;
            let sum = vrrp_common::wire::checksum::finish(vrrp_common::wire::checksum::accumulate(
                0, header,
            ));
            header[10..12].copy_from_slice(&sum.to_be_bytes());
        }
    }
    frame
}

/// One frame the program and the host judged differently.
#[derive(Debug)]
pub struct Disagreement {
    pub frame: Vec<u8>,
    pub expected: Outcome,
    pub verdict: Verdict,
    /// The counters the program moved for this frame alone.
    pub counted: Vec<Counter>,
}

/// What a run compared.
#[derive(Debug, Default)]
pub struct Report {
    pub frames: u64,
    pub by_outcome: BTreeMap<Outcome, u64>,
    pub disagreements: Vec<Disagreement>,
}

/// The program under test, configured with [`configs`].
pub fn loaded() -> Result<XdpUnderTest> {
    let mut xdp = XdpUnderTest::load()?;
    let mut config = xdp.hash_map::<InstanceKey, InstanceConfig>("CONFIG")?;
    for (key, value) in configs() {
        config.insert(key, value, 0).context("CONFIG")?;
    }
    Ok(xdp)
}

/// Whether a counter records a judgement of an advert.
fn judging(counter: Counter) -> bool {
    counter.is_drop() || matches!(counter, Counter::AdvertsValid | Counter::AdvertsNotForUs)
}

/// The counters that say how a frame was judged.
fn judged(counters: &[u64], before: &[u64]) -> Vec<Counter> {
    Counter::ALL
        .iter()
        .filter(|c| judging(**c))
        .filter(|c| counters[**c as usize] != before[**c as usize])
        .copied()
        .collect()
}

/// Runs `frames` through the program and the host, in batches: a batch's verdicts are compared
/// frame by frame and its counters as totals; a batch whose totals differ is run again frame by
/// frame to name the frames.
pub fn compare(
    xdp: &mut XdpUnderTest,
    frames: impl IntoIterator<Item = Vec<u8>>,
    report: &mut Report,
) -> Result<()> {
    let configs = configs();
    let mut batch: Vec<(Vec<u8>, Outcome)> = Vec::new();
    for frame in frames {
        // BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header (the kernel never
        // hands XDP one).
        if frame.len() < ethernet::HEADER_LEN {
            continue;
        }
        let outcome = expected(&frame, &configs);
        batch.push((frame, outcome));
        if batch.len() == 4096 {
            compare_batch(xdp, &batch, report)?;
            batch.clear();
        }
    }
    compare_batch(xdp, &batch, report)
}

fn compare_batch(
    xdp: &mut XdpUnderTest,
    batch: &[(Vec<u8>, Outcome)],
    report: &mut Report,
) -> Result<()> {
    let before = xdp.counters()?;
    let mut suspects = Vec::new();
    let mut expected_counts = vec![0u64; Counter::COUNT];
    for (frame, outcome) in batch {
        report.frames += 1;
        *report.by_outcome.entry(*outcome).or_default() += 1;
        let verdict = xdp.run(frame)?.verdict;
        let agrees = match outcome {
            Outcome::Pass | Outcome::NotForUs => verdict == Verdict::Pass,
            Outcome::Valid => matches!(verdict, Verdict::Pass | Verdict::Drop),
            Outcome::Dropped(_) => verdict == Verdict::Drop,
        };
        if !agrees {
            suspects.push((frame.clone(), *outcome, verdict));
        }
        match outcome {
            Outcome::Pass => {}
            Outcome::Valid => expected_counts[Counter::AdvertsValid as usize] += 1,
            Outcome::NotForUs => expected_counts[Counter::AdvertsNotForUs as usize] += 1,
            Outcome::Dropped(counter) => expected_counts[*counter as usize] += 1,
        }
    }
    let after = xdp.counters()?;
    let totals_agree = Counter::ALL
        .iter()
        .filter(|c| judging(**c))
        .all(|c| after[*c as usize] - before[*c as usize] == expected_counts[*c as usize]);
    if !totals_agree {
        // Name the frames: each alone, with its counters.
        for (frame, outcome) in batch {
            let before = xdp.counters()?;
            let verdict = xdp.run(frame)?.verdict;
            let counted = judged(&xdp.counters()?, &before);
            let wanted = match outcome {
                Outcome::Pass => vec![],
                Outcome::Valid => vec![Counter::AdvertsValid],
                Outcome::NotForUs => vec![Counter::AdvertsNotForUs],
                Outcome::Dropped(counter) => vec![*counter],
            };
            if counted != wanted {
                report.disagreements.push(Disagreement {
                    frame: frame.clone(),
                    expected: *outcome,
                    verdict,
                    counted,
                });
            }
        }
    }
    for (frame, expected, verdict) in suspects {
        report.disagreements.push(Disagreement {
            frame,
            expected,
            verdict,
            counted: Vec::new(),
        });
    }
    Ok(())
}
