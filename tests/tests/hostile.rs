//! Hostile traffic against a live pair, at the highest rate the sender reaches: nothing changes
//! state, every dropped frame is counted under its reason, a real failover during a flood is not
//! missed, and the daemon's memory stays flat.

use std::time::Duration;

use vrrp_common::wire::vrrp::Auth;
use vrrp_harness::capture::Capture;
use vrrp_harness::daemons::Vrrpd;
use vrrp_harness::fixtures::{self, Forged};
use vrrp_harness::loadgen::{Flood, process_rss_kib};
use vrrp_harness::seed_pair::{Dr2Options, SeedPair};
use vrrp_harness::topology::BRIDGE;
use vrrp_harness::wire;

const WAIT: Duration = Duration::from_secs(15);
/// Frames per flood: bounded in packets (and by the flood's own time limit).
const FRAMES: u64 = 100_000;

fn valid_auth() -> Auth {
    Auth::SimpleText(*b"abc123\0\0")
}

fn counters(daemon: &Vrrpd) -> serde_json::Value {
    serde_json::from_str(
        &vrrp_user::control::client::request(&daemon.control, "stats").expect("stats"),
    )
    .expect("json")
}

fn counter(stats: &serde_json::Value, name: &str) -> u64 {
    stats["datapath"]["drops"][name]
        .as_u64()
        .or_else(|| stats["datapath"]["counters"][name].as_u64())
        .unwrap_or(0)
}

/// The seed pair, settled for two seconds (past DR2's start-up) before a flood starts.
fn pair(label: &str) -> SeedPair {
    let pair = SeedPair::start(label, Dr2Options::default()).expect("pair");
    std::thread::sleep(Duration::from_secs(2));
    pair
}

fn flood(pair: &SeedPair, frames: Vec<Vec<u8>>) -> u64 {
    let flood = Flood::start(
        &pair.segment.client.ns,
        "eth0",
        frames,
        Duration::from_secs(10),
        FRAMES,
    )
    .expect("flood");
    while flood.sent() < FRAMES {
        std::thread::sleep(Duration::from_millis(20));
    }
    let report = flood.stop().expect("flood report");
    std::thread::sleep(Duration::from_millis(500));
    report.sent
}

#[test]
fn hostile_floods_change_nothing_and_every_drop_is_counted() {
    let _serial = vrrp_harness::serial();
    let pair = pair("hostile-floods");
    let mac = pair.segment.client.mac().expect("mac");
    let rss_before = process_rss_kib(pair.dr2.process.pid()).expect("rss");
    let transitions = |d: &Vrrpd| d.log().matches("Entering").count();
    let (dr1_transitions, dr2_transitions) = (transitions(&pair.dr1), transitions(&pair.dr2));
    let truncated = {
        let mut frame = Forged {
            vrid: 51,
            priority: 200,
            ttl: 255,
            auth: valid_auth(),
        }
        .frame(mac);
        // The IP header claims 16 bytes more than the frame carries.
        frame[16..18].copy_from_slice(&56u16.to_be_bytes());
        frame
    };
    let bad_checksum = {
        let mut frame = Forged {
            vrid: 51,
            priority: 200,
            ttl: 255,
            auth: valid_auth(),
        }
        .frame(mac);
        frame[14 + 20 + 6] ^= 0x55;
        frame
    };
    let cases: Vec<(&str, Vec<Vec<u8>>, &str)> = vec![
        (
            "other VRIDs",
            (60..80)
                .map(|vrid| {
                    Forged {
                        vrid,
                        priority: 200,
                        ttl: 255,
                        auth: valid_auth(),
                    }
                    .frame(mac)
                })
                .collect(),
            "unknown_vrid",
        ),
        (
            "bad auth",
            vec![
                Forged {
                    vrid: 51,
                    priority: 200,
                    ttl: 255,
                    auth: Auth::SimpleText(*b"guess\0\0\0"),
                }
                .frame(mac),
            ],
            "auth_failure",
        ),
        (
            "bad TTL",
            vec![
                Forged {
                    vrid: 51,
                    priority: 200,
                    ttl: 64,
                    auth: valid_auth(),
                }
                .frame(mac),
            ],
            "bad_ttl",
        ),
        ("bad checksum", vec![bad_checksum], "bad_checksum"),
        ("truncated", vec![truncated], "truncated"),
        (
            "lower priority",
            vec![
                Forged {
                    vrid: 51,
                    priority: 50,
                    ttl: 255,
                    auth: valid_auth(),
                }
                .frame(mac),
            ],
            "adverts_valid",
        ),
    ];
    for (what, frames, reason) in cases {
        let before = counter(&counters(&pair.dr2), reason);
        let sent = flood(&pair, frames);
        let after = counter(&counters(&pair.dr2), reason);
        println!(
            "{what}: {sent} frames sent, {} counted as {reason}",
            after - before
        );
        if after - before != sent {
            println!("all counters: {}", counters(&pair.dr2)["datapath"]);
        }
        // Valid adverts also include the master's own, one a second.
        let counted = if reason == "adverts_valid" {
            (after - before).min(sent)
        } else {
            after - before
        };
        assert_eq!(
            counted, sent,
            "{what}: every frame accounted for under {reason}"
        );
        assert_eq!(
            transitions(&pair.dr1),
            dr1_transitions,
            "{what}: the master never moved"
        );
        assert_eq!(
            transitions(&pair.dr2),
            dr2_transitions,
            "{what}: the backup never moved"
        );
    }
    // An ARP request flood for the VIP, aimed at the master: answered by its XDP program.
    let request = fixtures::arp_request(mac, fixtures::CLIENT_IP, fixtures::SEED_VIP);
    let before = counter(&counters(&pair.dr1), "arp_replies_sent");
    let sent = flood(&pair, vec![request]);
    let replies = counter(&counters(&pair.dr1), "arp_replies_sent") - before;
    println!("ARP flood: {sent} requests, {replies} answered by XDP");
    assert_eq!(replies, sent, "every request answered");
    assert_eq!(transitions(&pair.dr1), dr1_transitions);
    let rss_after = process_rss_kib(pair.dr2.process.pid()).expect("rss");
    println!("backup RSS {rss_before} KiB -> {rss_after} KiB");
    assert!(
        rss_after <= rss_before + 1024,
        "memory flat: {rss_before} -> {rss_after} KiB"
    );
    let _ = &pair.scratch;
}

#[test]
fn a_failover_during_a_flood_is_not_missed() {
    let _serial = vrrp_harness::serial();
    let mut pair = pair("hostile-failover");
    let mac = pair.segment.client.mac().expect("mac");
    let capture = Capture::start(
        &pair.segment.switch,
        BRIDGE,
        "src host 192.0.2.11 or src host 192.0.2.12",
        pair.scratch.path(),
    )
    .expect("capture");
    let frames: Vec<Vec<u8>> = (60..70)
        .map(|vrid| {
            Forged {
                vrid,
                priority: 200,
                ttl: 255,
                auth: valid_auth(),
            }
            .frame(mac)
        })
        .chain(std::iter::once(
            Forged {
                vrid: 51,
                priority: 200,
                ttl: 255,
                auth: Auth::SimpleText(*b"guess\0\0\0"),
            }
            .frame(mac),
        ))
        .collect();
    let flood = Flood::start(
        &pair.segment.client.ns,
        "eth0",
        frames,
        Duration::from_secs(12),
        3_000_000,
    )
    .expect("flood");
    std::thread::sleep(Duration::from_secs(2));
    pair.segment.cut(pair.segment.router(1)).expect("cut");
    pair.dr2
        .wait_for("(VI_1) Entering MASTER STATE", WAIT)
        .expect("takeover during the flood");
    std::thread::sleep(Duration::from_millis(500));
    let flooded = flood.stop().expect("flood");
    let adverts = wire::adverts(&capture.finish().expect("capture"));
    let master = "192.0.2.11".parse().expect("ip");
    let backup = "192.0.2.12".parse().expect("ip");
    let first = wire::from(&adverts, backup, 51)
        .first()
        .cloned()
        .expect("DR2 advertised");
    let last = wire::from(&adverts, master, 51)
        .into_iter()
        .filter(|a| a.time_ns < first.time_ns)
        .map(|a| a.time_ns)
        .max()
        .expect("DR1 advertised");
    let takeover = wire::seconds(last, first.time_ns);
    println!(
        "takeover under a {:.0} pps flood: {takeover:.4} s (Master_Down_Interval 3.625 s)",
        flooded.rate()
    );
    assert!((3.6..=3.625 + 0.1).contains(&takeover), "{takeover}");
    assert_eq!(
        pair.dr2.log().matches("Entering MASTER STATE").count(),
        1,
        "exactly one takeover, at the cut"
    );
}

/// keepalived's answer to a lower-priority router while master (a healed split segment): an
/// advert at once, the "forcing new election" line, and the VIP announced again with
/// `garp_lower_prio_repeat` gratuitous ARPs (by default `vrrp_garp_master_repeat`, 1 in the seed)
/// — one burst however many such adverts arrive within a second.
#[test]
fn a_master_hearing_a_lower_priority_answers_and_announces_its_vip_again() {
    let _serial = vrrp_harness::serial();
    let pair = pair("hostile-lower");
    // After DR1's second start-up burst (garp_master_delay, 5 s), so that only the answer to
    // the forged adverts can put a gratuitous ARP on the wire.
    let started = std::time::Instant::now();
    while pair
        .dr1
        .log()
        .matches("Sending gratuitous ARP on eth0 for 192.0.2.99")
        .count()
        < 2
    {
        assert!(
            started.elapsed() < WAIT,
            "DR1's second burst: {}",
            pair.dr1.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let capture =
        Capture::start(&pair.segment.switch, BRIDGE, "", pair.scratch.path()).expect("capture");
    let mac = pair.segment.client.mac().expect("mac");
    let lower = Forged {
        vrid: 51,
        priority: 50,
        ttl: 255,
        auth: valid_auth(),
    }
    .frame(mac);
    let sent_at = vrrp_harness::capture::wall_clock_ns();
    pair.segment
        .client
        .ns
        .enter(|| -> anyhow::Result<()> {
            let socket = vrrp_harness::packet_socket::PacketSocket::open("eth0")?;
            for _ in 0..3 {
                socket.send(&lower)?;
                std::thread::sleep(Duration::from_millis(300));
            }
            Ok(())
        })
        .expect("enter")
        .expect("send");
    std::thread::sleep(Duration::from_millis(500));
    let frames = capture.finish().expect("capture");
    let dr1_mac = pair.segment.router(1).mac().expect("mac");
    let garps: Vec<_> = wire::garps(&frames)
        .into_iter()
        .filter(|g| g.source_mac == dr1_mac && g.time_ns >= sent_at)
        .collect();
    assert_eq!(
        garps.len(),
        1,
        "one burst of garp_lower_prio_repeat (1) for 192.0.2.99: {garps:?}"
    );
    assert_eq!(garps[0].address.to_string(), "192.0.2.99");
    let log = pair.dr1.log();
    assert_eq!(
        log.matches("Master received advert from 192.0.2.100 with lower priority 50, ours 100, forcing new election")
            .count(),
        1,
        "{log}"
    );
    assert_eq!(pair.dr1.state_of("VI_1").expect("status"), "MASTER");
    assert_eq!(pair.dr2.state_of("VI_1").expect("status"), "BACKUP");
}
