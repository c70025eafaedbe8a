//! The scenarios. Each builds its own namespaces, runs every implementation in turn on the same
//! topology, and adds rows to the report.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use vrrp_common::wire::arp;
use vrrp_common::wire::frame::AdvertFrame;
use vrrp_common::wire::vrrp::{Auth, Repr, Version};
use vrrp_common::wire::{Family, raw_from_ipv4};

use super::BenchOptions;
use super::daemon::{
    Daemon, Implementation, global, instance, require_pid, v2_pair_config, v3_pair_config,
    worker_pid_within,
};
use super::report::{ChangeRow, Report, StartupRow, percentile};
use super::takeover;
use vrrp_harness::capture::Capture;
use vrrp_harness::cpus::{spawning_on, steer_receive};
use vrrp_harness::daemons::{Vrrpd, XDP_TAKEN_OVER};
use vrrp_harness::fixtures;
use vrrp_harness::loadgen::{
    Flood, Injection, Sending, machine_busy_seconds, machine_softirq_seconds, process_cpu_seconds,
    raw_socket_drops,
};
use vrrp_harness::netns::Netns;
use vrrp_harness::pinger::Pinger;
use vrrp_harness::process::Scratch;
use vrrp_harness::topology::{BRIDGE, Segment};
use vrrp_harness::wire;

const MASTER: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 11));
const BACKUP: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 12));
const WAIT: Duration = Duration::from_secs(30);
const MASTER_LINE: &str = "(VI_1) Entering MASTER STATE";
const BACKUP_LINE: &str = "(VI_1) Entering BACKUP STATE";

fn wall_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// A v3 advert frame from the client (the flood's building block).
fn advert_frame(
    mac: [u8; 6],
    vrid: u8,
    priority: u8,
    version: Version,
    interval_cs: u16,
    auth: Auth,
    destination: [u8; 4],
) -> Vec<u8> {
    let frame = AdvertFrame {
        source_mac: mac,
        destination_mac: None,
        source: raw_from_ipv4([192, 0, 2, 100]),
        destination: raw_from_ipv4(destination),
        ttl: 255,
        identification: 1,
        v3_checksum_as_v2: false,
        advert: Repr {
            version,
            vrid,
            priority,
            interval_cs,
            auth,
            family: Family::Ipv4,
            addresses: &[192, 0, 2, 99],
        },
    };
    let mut bytes = vec![0u8; frame.len()];
    let _ = frame.emit(&mut bytes);
    bytes
}

/// The kinds of flood the bench sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloodKind {
    OtherVrid,
    SameVridLowerPriority,
    SameVridBadAuth,
}

impl FloodKind {
    fn name(self) -> &'static str {
        match self {
            FloodKind::OtherVrid => "other-VRID adverts",
            FloodKind::SameVridLowerPriority => "same-VRID, lower priority",
            FloodKind::SameVridBadAuth => "same-VRID, bad auth (v2, 1 s)",
        }
    }

    fn frames(self, mac: [u8; 6]) -> Vec<Vec<u8>> {
        match self {
            FloodKind::OtherVrid => (60..124u8)
                .map(|vrid| {
                    advert_frame(mac, vrid, 200, Version::V3, 1, Auth::None, [224, 0, 0, 18])
                })
                .collect(),
            FloodKind::SameVridLowerPriority => vec![advert_frame(
                mac,
                51,
                50,
                Version::V3,
                1,
                Auth::None,
                [224, 0, 0, 18],
            )],
            FloodKind::SameVridBadAuth => vec![advert_frame(
                mac,
                51,
                200,
                Version::V2,
                100,
                Auth::SimpleText(*b"guess\0\0\0"),
                [224, 0, 0, 18],
            )],
        }
    }
}

/// A master (priority 100) and a backup (96) of one implementation on a fresh segment, the
/// capture running on the bridge (only the routers' frames: floods come from the client).
struct Pair {
    segment: Segment,
    scratch: Scratch,
    master: Daemon,
    backup: Daemon,
    capture: Capture,
    /// keepalived masters started anew so far (each gets a log of its own).
    restarts: usize,
}

impl Pair {
    fn start(
        implementation: Implementation,
        config: impl Fn(u8) -> String,
        label: &str,
    ) -> Result<Pair> {
        let segment = Segment::new(2)?;
        let scratch = Scratch::new(label)?;
        let capture = Capture::start(
            &segment.switch,
            BRIDGE,
            // The routers' frames only (floods come from the client), and gratuitous ARPs (sent
            // from the VIP's address).
            "src host 192.0.2.11 or src host 192.0.2.12 or arp",
            scratch.path(),
        )?;
        let master = Daemon::start(
            implementation,
            segment.router(1),
            "master",
            &config(100),
            &scratch,
        )?;
        master.wait_count(MASTER_LINE, 1, WAIT)?;
        let backup = Daemon::start(
            implementation,
            segment.router(2),
            "backup",
            &config(96),
            &scratch,
        )?;
        backup.wait_count(BACKUP_LINE, 1, WAIT)?;
        std::thread::sleep(Duration::from_millis(300));
        Ok(Pair {
            segment,
            scratch,
            master,
            backup,
            capture,
            restarts: 0,
        })
    }
}

/// Scenario 1 and 3: crash failovers (link cut), idle and under an other-VRID flood.
pub fn failover(options: &BenchOptions, report: &mut Report) -> Result<()> {
    let cycles = options.scale(1, 30) as usize;
    for flooded in [false, true] {
        for implementation in Implementation::selected(&Implementation::WITH_FRR) {
            let master_down = implementation.master_down_ms(96, 1);
            let pair = Pair::start(implementation, v3_pair_config, "bench-failover")?;
            let flood = if flooded {
                let mac = pair.segment.client.mac()?;
                Some(Flood::start(
                    &pair.segment.client.ns,
                    "eth0",
                    FloodKind::OtherVrid.frames(mac),
                    Duration::from_secs(cycles as u64 * 3 + 20),
                    u64::MAX,
                )?)
            } else {
                None
            };
            // A client of the VIP, for issue 20's client view of a takeover.
            let pinger = Pinger::start(
                &pair.segment.client.ns,
                std::net::Ipv4Addr::new(192, 0, 2, 99),
                Duration::from_millis(1),
                Duration::from_secs(cycles as u64 * 5 + 60),
            )?;
            std::thread::sleep(Duration::from_millis(300));
            let started = Instant::now();
            let mut cuts = Vec::new();
            let mut client_windows = Vec::new();
            for cycle in 0..cycles {
                cuts.push(wall_now());
                let cut_at = pinger.started.elapsed();
                pair.segment.cut(pair.segment.router(1))?;
                pair.backup.wait_count(MASTER_LINE, cycle + 1, WAIT)?;
                std::thread::sleep(Duration::from_millis(150));
                client_windows.push((cut_at, pinger.started.elapsed()));
                pair.segment.restore(pair.segment.router(1))?;
                // The master preempts and the backup steps down (FRR's master never left: it
                // does not react to the carrier going down).
                pair.backup.wait_count(BACKUP_LINE, cycle + 2, WAIT)?;
                std::thread::sleep(Duration::from_millis(300));
            }
            let elapsed = started.elapsed();
            let pings = pinger.stop()?;
            let client_gap: Vec<f64> = client_windows
                .iter()
                .map(|(from, to)| pings.max_gap_between(*from, *to).as_secs_f64() * 1e3)
                .collect();
            let rate = flood.map(|f| f.stop()).transpose()?.map(|r| r.rate());
            let frames = pair.capture.finish()?;
            let adverts = wire::adverts(&frames);
            let garps = wire::garps(&frames);
            // FRR announces from its macvlan, with the virtual MAC (VRID 51).
            let backup_mac = match implementation {
                Implementation::Frr => [0x00, 0x00, 0x5e, 0x00, 0x01, 51],
                _ => pair.segment.router(2).mac()?,
            };
            let mut excess = Vec::new();
            let mut garp_delay = Vec::new();
            let logged = takeover::logged(&pair.backup.log());
            let clock_offset = takeover::realtime_minus_monotonic_ns();
            let mut parts = Vec::new();
            for cut in &cuts {
                let Some(first) = wire::from(&adverts, BACKUP, 51)
                    .into_iter()
                    .find(|a| a.time_ns > *cut)
                else {
                    continue;
                };
                let Some(last) = wire::from(&adverts, MASTER, 51)
                    .into_iter()
                    .filter(|a| a.time_ns < first.time_ns)
                    .map(|a| a.time_ns)
                    .max()
                else {
                    continue;
                };
                excess.push(wire::seconds(last, first.time_ns) * 1e3 - master_down);
                parts.extend(takeover::parts(
                    &logged,
                    clock_offset,
                    master_down,
                    last,
                    first.time_ns,
                ));
                if let Some(garp) = garps
                    .iter()
                    .find(|g| g.source_mac == backup_mac && g.time_ns >= first.time_ns)
                {
                    garp_delay.push(wire::seconds(first.time_ns, garp.time_ns) * 1e3);
                }
            }
            let condition = match rate {
                Some(rate) => format!("flood {:.0}k pps", rate / 1e3),
                None => "idle".to_string(),
            };
            report.failover(super::report::FailoverRow {
                implementation,
                condition,
                excess_ms: excess,
                client_gap_ms: client_gap,
                takeover_parts: parts,
                elapsed,
            });
            if !flooded {
                report.garp(implementation, garp_delay);
            }
        }
    }
    Ok(())
}

/// Scenario 2: planned handover (priority 0) — stop the master, restart it, again.
pub fn handover(options: &BenchOptions, report: &mut Report) -> Result<()> {
    let cycles = options.scale(1, 10) as usize;
    for implementation in Implementation::selected(&Implementation::WITH_FRR) {
        let skew = implementation.skew_ms(96, 1);
        let mut pair = Pair::start(implementation, v3_pair_config, "bench-handover")?;
        let mut stops = Vec::new();
        for cycle in 0..cycles {
            stops.push(wall_now());
            pair.master.stop(libc::SIGTERM)?;
            pair.backup.wait_count(MASTER_LINE, cycle + 1, WAIT)?;
            std::thread::sleep(Duration::from_millis(100));
            pair.master.start_again(
                implementation,
                pair.segment.router(1),
                &format!("master-{cycle}"),
                &v3_pair_config(100),
                &pair.scratch,
            )?;
            pair.master.wait_count(MASTER_LINE, 1, WAIT)?;
            std::thread::sleep(Duration::from_millis(300));
        }
        let adverts = wire::adverts(&pair.capture.finish()?);
        let mut excess = Vec::new();
        for stop in &stops {
            let Some(resign) = wire::from(&adverts, MASTER, 51)
                .into_iter()
                .find(|a| a.time_ns > *stop && a.priority == 0)
            else {
                continue;
            };
            if let Some(first) = wire::from(&adverts, BACKUP, 51)
                .into_iter()
                .find(|a| a.time_ns > resign.time_ns)
            {
                excess.push(wire::seconds(resign.time_ns, first.time_ns) * 1e3 - skew);
            }
        }
        report.handover(implementation, excess);
    }
    Ok(())
}

/// Scenario 4: the master alive, a flood at the highest rate the sender reaches.
pub fn floods(options: &BenchOptions, report: &mut Report) -> Result<()> {
    let duration = options.seconds(0.5, 15.0);
    for kind in [
        FloodKind::OtherVrid,
        FloodKind::SameVridBadAuth,
        FloodKind::SameVridLowerPriority,
    ] {
        // FRR has no VRRPv2 authentication: it takes part in the v3 floods.
        let (config, implementations): (fn(u8) -> String, &[Implementation]) =
            if kind == FloodKind::SameVridBadAuth {
                (v2_pair_config, &Implementation::ALL)
            } else {
                (v3_pair_config, &Implementation::WITH_FRR)
            };
        for implementation in Implementation::selected(implementations) {
            let pair = Pair::start(implementation, config, "bench-flood")?;
            let backup_pid = require_pid(&pair.backup)?;
            let takeovers_before = pair.backup.count(MASTER_LINE);
            // FRR's counters are not read: its lost adverts are not known.
            let counts_adverts = implementation != Implementation::Frr;
            let counted_before = pair.backup.adverts_counted().unwrap_or(0);
            let drops_before = raw_socket_drops(&pair.segment.router(2).ns, 112);
            let cpu_before = process_cpu_seconds(backup_pid).unwrap_or(0.0);
            let window_start = wall_now();
            let mac = pair.segment.client.mac()?;
            let flood = Flood::start(
                &pair.segment.client.ns,
                "eth0",
                kind.frames(mac),
                duration,
                50_000_000,
            )?;
            std::thread::sleep(duration);
            let flooded = flood.stop()?;
            let window_end = wall_now();
            std::thread::sleep(Duration::from_millis(200));
            let cpu = process_cpu_seconds(backup_pid).unwrap_or(0.0) - cpu_before;
            let drops =
                raw_socket_drops(&pair.segment.router(2).ns, 112).saturating_sub(drops_before);
            let takeovers = pair.backup.count(MASTER_LINE) - takeovers_before;
            let counted = pair
                .backup
                .adverts_counted()
                .unwrap_or(0)
                .saturating_sub(counted_before);
            let frames = pair.capture.finish()?;
            let sent = wire::from(&wire::adverts(&frames), MASTER, 51)
                .iter()
                .filter(|a| a.time_ns >= window_start && a.time_ns <= window_end + 150_000_000)
                .count() as u64;
            // A lower-priority flood is valid traffic for the same VRID: counts say nothing
            // about the master's adverts there.
            let lost = (kind != FloodKind::SameVridLowerPriority && counts_adverts)
                .then(|| sent.saturating_sub(counted));
            report.flood(super::report::FloodRow {
                kind: kind.name().to_string(),
                implementation,
                rate: flooded.rate(),
                false_takeovers_per_minute: takeovers as f64 * 60.0 / duration.as_secs_f64(),
                master_adverts: sent,
                master_adverts_lost: lost,
                socket_drops: drops,
                cpu_seconds_per_million: cpu * 1e6 / flooded.sent.max(1) as f64,
            });
        }
    }
    Ok(())
}

/// The frames `interface` of `ns` has received.
fn rx_packets(ns: &Netns, interface: &str) -> u64 {
    let counter = format!("/sys/class/net/{interface}/statistics/rx_packets");
    ns.run_ok(["cat", counter.as_str()])
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

/// What one responder did over all rounds of the ARP scenario.
#[derive(Default)]
struct ArpTotals {
    requests: u64,
    replies: u64,
    flood_seconds: f64,
    busy_seconds: f64,
    softirq_seconds: f64,
    latency_us: Vec<f64>,
}

/// Scenario 5: an ARP request flood for the VIP — XDP responder versus the kernel, in rounds
/// that alternate between the two (each on a fresh segment), so that the machine's drift
/// between runs falls on both alike; the totals make the row.
pub fn arp(options: &BenchOptions, report: &mut Report) -> Result<()> {
    let duration = options.seconds(1.0, 5.0);
    let rounds = options.scale(1, 3);
    let responders = Implementation::selected(&[
        Implementation::Xdp,
        Implementation::Socket,
        Implementation::Frr,
    ]);
    let mut totals: Vec<ArpTotals> = responders.iter().map(|_| ArpTotals::default()).collect();
    for _ in 0..rounds {
        for (implementation, total) in responders.iter().zip(totals.iter_mut()) {
            arp_round(*implementation, options, duration, total)?;
        }
    }
    arp_in_driver_mode(duration, rounds, report)?;
    for (implementation, total) in responders.iter().zip(&totals) {
        let per_million = |seconds: f64| seconds * 1e6 / total.replies.max(1) as f64;
        report.arp(super::report::ArpRow {
            responder: match implementation {
                Implementation::Xdp => "XDP responder (skb mode)",
                Implementation::Frr => "kernel ARP (FRR's macvlan)",
                _ => "kernel ARP (socket mode)",
            }
            .into(),
            requests: total.requests,
            replies: total.replies,
            replies_per_second: total.replies as f64 / total.flood_seconds.max(1e-9),
            cpu_seconds_per_million_replies: per_million(total.busy_seconds),
            softirq_seconds_per_million_replies: per_million(total.softirq_seconds),
            latency_p50_us: percentile(&total.latency_us, 50.0),
            latency_p99_us: percentile(&total.latency_us, 99.0),
        });
    }
    Ok(())
}

/// One round of the ARP scenario for one responder, added to its totals.
fn arp_round(
    implementation: Implementation,
    options: &BenchOptions,
    duration: Duration,
    total: &mut ArpTotals,
) -> Result<()> {
    let segment = Segment::new(1)?;
    let scratch = Scratch::new("bench-arp")?;
    let owner = Daemon::start(
        implementation,
        segment.router(1),
        "owner",
        &v3_pair_config(100),
        &scratch,
    )?;
    owner.wait_count(MASTER_LINE, 1, WAIT)?;
    std::thread::sleep(Duration::from_millis(500));
    let mac = segment.client.mac()?;
    total
        .latency_us
        .extend(arp_latency(&segment, mac, options.scale(50, 200) as usize)?);
    let rx_before = rx_packets(&segment.client.ns, "eth0");
    let busy_before = machine_busy_seconds().unwrap_or(0.0);
    let softirq_before = machine_softirq_seconds().unwrap_or(0.0);
    let flooded = flood_the_vip_with_arp(
        &segment,
        (&segment.client.ns, "eth0"),
        duration,
        Sending::default(),
    )?;
    total.busy_seconds += machine_busy_seconds().unwrap_or(0.0) - busy_before;
    total.softirq_seconds += machine_softirq_seconds().unwrap_or(0.0) - softirq_before;
    total.replies += rx_packets(&segment.client.ns, "eth0").saturating_sub(rx_before);
    total.requests += flooded.sent;
    total.flood_seconds += flooded.elapsed.as_secs_f64();
    drop(owner);
    Ok(())
}

/// The client's ARP requests for the VIP, as fast as they go for `duration`, out of
/// `interface` of `ns` and sent as `sending` says; then a moment for the last replies to
/// arrive.
fn flood_the_vip_with_arp(
    segment: &Segment,
    (ns, interface): (&Netns, &str),
    duration: Duration,
    sending: Sending,
) -> Result<vrrp_harness::loadgen::FloodReport> {
    let request = fixtures::arp_request(
        segment.client.mac()?,
        fixtures::CLIENT_IP,
        fixtures::SEED_VIP,
    );
    let flood = Flood::start_sending(ns, interface, vec![request], duration, 50_000_000, sending)?;
    std::thread::sleep(duration);
    let flooded = flood.stop()?;
    std::thread::sleep(Duration::from_millis(200));
    Ok(flooded)
}

/// The CPU the router's receive path is pinned to in the driver-mode rows; the load generator,
/// the daemon and the switch's side of the link run on [`OTHER_CPU`].
pub(super) const ROUTER_CPU: usize = 1;
pub(super) const OTHER_CPU: usize = 0;

/// What one responder did over the driver-mode rounds.
#[derive(Default)]
struct DriverArpTotals {
    requests: u64,
    replies: u64,
    flood_seconds: f64,
    router_busy_seconds: f64,
    router_softirq_seconds: f64,
    /// How the requests entered the router's link (the last round's; every round asks the
    /// same of the same kernel).
    injection: Injection,
}

/// Issue 20, target 6: the ARP flood with the XDP program in driver mode, and the router's own
/// CPU per reply. The requests enter the router's link as live XDP frames (as a NIC's driver
/// receives them; from a packet socket where the kernel refuses live frames), the switch's end
/// of the link counts and drops the replies (veth hands a driver-mode program's XDP_TX frames
/// only to a peer with a program of its own). The router's receive path runs in threaded NAPI
/// pinned to [`ROUTER_CPU`], everything else on [`OTHER_CPU`], so that ROUTER_CPU's busy time
/// is the router's cost alone. The kernel's row has the same setup: a pass-through program in
/// driver mode on the router's interface too (it is what gives a veth the NAPI that threaded
/// NAPI needs), vrrpd in socket mode, the kernel answering. Rounds alternate, as in the
/// skb-mode rows.
fn arp_in_driver_mode(duration: Duration, rounds: u32, report: &mut Report) -> Result<()> {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    if cpus <= ROUTER_CPU {
        println!("ARP in driver mode: skipped, it needs a second CPU for the router");
        return Ok(());
    }
    let responders = Implementation::selected(&[Implementation::Xdp, Implementation::Socket]);
    let mut totals: Vec<DriverArpTotals> = responders
        .iter()
        .map(|_| DriverArpTotals::default())
        .collect();
    for _ in 0..rounds {
        for (implementation, total) in responders.iter().zip(totals.iter_mut()) {
            arp_driver_round(*implementation, duration, total)?;
        }
    }
    for (implementation, total) in responders.iter().zip(&totals) {
        let per_reply_us = |seconds: f64| seconds * 1e6 / total.replies.max(1) as f64;
        report.arp_driver(super::report::DriverArpRow {
            implementation: *implementation,
            requests: total.requests,
            replies: total.replies,
            replies_per_second: total.replies as f64 / total.flood_seconds.max(1e-9),
            router_cpu_us_per_reply: per_reply_us(total.router_busy_seconds),
            router_softirq_us_per_reply: per_reply_us(total.router_softirq_seconds),
            injection: total.injection,
        });
    }
    Ok(())
}

fn arp_driver_round(
    implementation: Implementation,
    duration: Duration,
    total: &mut DriverArpTotals,
) -> Result<()> {
    use vrrp_harness::cpus::{pin_process, run_before_normal_tasks};
    use vrrp_harness::driver_mode::{
        DriverModeProgram, cpu_busy_and_softirq_seconds, pin_receive_path,
    };
    let segment = Segment::new(1)?;
    let scratch = Scratch::new("bench-arp-driver")?;
    let router = segment.router(1);
    // The replies end at the switch's end of the router's link, counted there and dropped.
    // That end's receive path runs before the load generator on their shared CPU, so that
    // every reply the router sends is taken off its ring: none of the router's work is lost.
    let _switch_side = DriverModeProgram::drop_all(&segment.switch, &router.port)?;
    for thread in pin_receive_path(&segment.switch, &router.port, OTHER_CPU)? {
        run_before_normal_tasks(thread)?;
    }
    let (arguments, _router_side): (&[&str], Option<DriverModeProgram>) = match implementation {
        Implementation::Xdp => (&["--xdp-mode", "driver"], None),
        _ => (
            &["--datapath", "socket"],
            Some(DriverModeProgram::pass(&router.ns, router.ifname)?),
        ),
    };
    let mut owner = Daemon::Vrrpd(Vrrpd::start(
        router,
        "owner",
        &v3_pair_config(100),
        &scratch,
        arguments,
    )?);
    owner.wait_for_its_datapath(implementation)?;
    if implementation == Implementation::Xdp {
        owner
            .running()?
            .wait_for_log("XDP program attached in driver mode", WAIT)?;
    }
    owner.wait_count(MASTER_LINE, 1, WAIT)?;
    pin_receive_path(&router.ns, router.ifname, ROUTER_CPU)?;
    pin_process(owner.root_pid(), OTHER_CPU)?;
    std::thread::sleep(Duration::from_millis(300));
    let replies_before = rx_packets(&segment.switch, &router.port);
    let cpu_before = cpu_busy_and_softirq_seconds(ROUTER_CPU).context("/proc/stat")?;
    // The requests reach the router's driver as a NIC's would: as frames, with no socket
    // buffer for veth to copy first (see LiveFrames), where the kernel allows live frames;
    // from a packet socket where it does not. They are transmitted on the switch's end of the
    // router's link.
    let flooded = flood_the_vip_with_arp(
        &segment,
        (&segment.switch, &router.port),
        duration,
        Sending {
            cpu: Some(OTHER_CPU),
            injection: Injection::XdpLiveFrames,
        },
    )?;
    let cpu_after = cpu_busy_and_softirq_seconds(ROUTER_CPU).context("/proc/stat")?;
    total.router_busy_seconds += cpu_after.0 - cpu_before.0;
    total.router_softirq_seconds += cpu_after.1 - cpu_before.1;
    total.replies += rx_packets(&segment.switch, &router.port).saturating_sub(replies_before);
    total.requests += flooded.sent;
    total.flood_seconds += flooded.elapsed.as_secs_f64();
    total.injection = flooded.injection;
    Ok(())
}

/// Issue 20, target 6: spoofed-source floods. ARP requests for an IPv4 VIP from every sender
/// address of the documentation ranges, and neighbour solicitations for an IPv6 VIP from
/// thousands of random 2001:db8::/32 sources. A kernel that answers creates a neighbour entry
/// per sender, and the neighbour tables (gc_thresh3, 1024 on this kernel) are shared by every
/// namespace of the host; the XDP responders answer without touching them. Measured: the
/// router's neighbour entries during the flood, the kernel's "neighbour table overflow" lines,
/// and a client new to the router (router 2, no daemon) pinging the VIP meanwhile.
pub fn spoofed(options: &BenchOptions, report: &mut Report) -> Result<()> {
    let duration = options.seconds(1.5, 4.0);
    const SOLICITATION_SOURCES: usize = 4096;
    let vip4 = std::net::Ipv4Addr::from(fixtures::SEED_VIP);
    let vip6 = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x99);
    let ipv4 = global(true) + &instance("VI_1", 51, 100, "0.1", &[format!("{vip4}/24")], &[], None);
    let both = ipv4 + &instance("VI_6", 52, 100, "0.1", &[format!("{vip6}/64")], &[], None);
    for implementation in Implementation::selected(&Implementation::WITH_FRR) {
        let segment = Segment::new(2)?;
        let scratch = Scratch::new("bench-spoofed")?;
        let owner = Daemon::start(implementation, segment.router(1), "owner", &both, &scratch)?;
        owner.wait_count(MASTER_LINE, 1, WAIT)?;
        // FRR's lines name no instance: both of its virtual routers' are counted.
        let masters = if implementation == Implementation::Frr {
            2
        } else {
            1
        };
        owner.wait_count("(VI_6) Entering MASTER STATE", masters, WAIT)?;
        std::thread::sleep(Duration::from_millis(300));
        let mac = segment.client.mac()?;
        let floods = vec![
            (
                "ARP, 746 senders",
                fixtures::arp_requests_from_documentation_ranges(mac, fixtures::SEED_VIP),
                std::net::IpAddr::V4(vip4),
            ),
            (
                "NS, 4096 sources",
                fixtures::neighbor_solicitations_from_random_sources(
                    mac,
                    vip6,
                    SOLICITATION_SOURCES,
                ),
                std::net::IpAddr::V6(vip6),
            ),
        ];
        for (kind, frames, vip) in floods {
            report.spoofed(spoofed_flood(
                implementation,
                kind,
                &segment,
                frames,
                vip,
                duration,
            )?);
            // Bounded in time, and nothing left behind for the next flood or namespace.
            for host in [segment.router(1), segment.router(2)] {
                let _ = host.ns.run(["ip", "neigh", "flush", "all"]);
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        drop(owner);
    }
    Ok(())
}

/// One spoofed-source flood at the router, with the router's neighbour entries sampled and a
/// client new to the router pinging `vip` meanwhile.
fn spoofed_flood(
    implementation: Implementation,
    kind: &'static str,
    segment: &Segment,
    frames: Vec<Vec<u8>>,
    vip: std::net::IpAddr,
    duration: Duration,
) -> Result<super::report::SpoofedRow> {
    let family = if vip.is_ipv4() { "-4" } else { "-6" };
    let router = segment.router(1);
    let client = segment.router(2);
    // On every interface: FRR's VIP, and the entries its replies make, are on its macvlan.
    let neighbours = || {
        router
            .ns
            .run_ok(["ip", family, "neigh", "show"])
            .map_or(0, |text| text.lines().count())
    };
    let log_end = kernel_log_end();
    let flood = Flood::start(&segment.client.ns, "eth0", frames, duration, u64::MAX)?;
    let started = Instant::now();
    // A quarter of the flood in: the tables have filled, if they fill.
    std::thread::sleep(duration / 4);
    let pinger = Pinger::start(
        &client.ns,
        vip,
        Duration::from_millis(10),
        duration.saturating_sub(started.elapsed()),
    )?;
    let mut most = 0;
    while started.elapsed() < duration {
        most = most.max(neighbours());
        std::thread::sleep(Duration::from_millis(200));
    }
    let pings = pinger.stop()?;
    let flooded = flood.stop()?;
    Ok(super::report::SpoofedRow {
        implementation,
        kind,
        requests: flooded.sent,
        requests_per_second: flooded.rate(),
        neighbours_most: most,
        overflows_logged: log_end.and_then(kernel_neighbour_overflows_since),
        pings_sent: pings.sent,
        pings_answered: pings.received,
    })
}

/// The kernel's log as (seconds since boot, line) pairs (None if it cannot be read).
fn kernel_log() -> Option<Vec<(f64, String)>> {
    let output = std::process::Command::new("dmesg").output().ok()?;
    output.status.success().then(|| {
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| {
                let (stamp, text) = line.strip_prefix('[')?.split_once(']')?;
                Some((stamp.trim().parse().ok()?, text.to_string()))
            })
            .collect()
    })
}

/// When the kernel's last log line was written (0 for an empty log).
fn kernel_log_end() -> Option<f64> {
    kernel_log().map(|log| log.last().map_or(0.0, |(at, _)| *at))
}

/// The kernel's "neighbor table overflow!" lines since `since` (its own timestamps).
fn kernel_neighbour_overflows_since(since: f64) -> Option<usize> {
    kernel_log().map(|log| {
        log.iter()
            .filter(|(at, text)| *at > since && text.contains("neighbor table overflow"))
            .count()
    })
}

/// Round trips of single ARP requests (µs), one every 2 ms.
fn arp_latency(segment: &Segment, mac: [u8; 6], count: usize) -> Result<Vec<f64>> {
    segment.client.ns.enter(|| -> Result<Vec<f64>> {
        let socket = vrrp_harness::packet_socket::PacketSocket::open("eth0")?;
        let request = fixtures::arp_request(mac, fixtures::CLIENT_IP, fixtures::SEED_VIP);
        let mut samples = Vec::new();
        for _ in 0..count {
            let sent = Instant::now();
            socket.send(&request)?;
            while let Some(frame) = socket.recv_timeout(Duration::from_millis(100))? {
                if let Ok(reply) = arp::Repr::parse_bytes(frame.get(14..).unwrap_or(&[]))
                    && reply.operation == arp::Operation::Reply
                    && reply.sender_ip.octets() == fixtures::SEED_VIP
                {
                    samples.push(sent.elapsed().as_secs_f64() * 1e6);
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(samples)
    })?
}

/// `vrids` instances on one interface (255 in the full bench: about 1000 virtual addresses).
fn scale_config(priority: u8, vrids: u8) -> String {
    let mut config = global(true);
    for vrid in 1..=vrids {
        let (vips, excluded) = if vrid <= 250 {
            (
                vec![
                    format!("198.51.100.{vrid}/24"),
                    format!("203.0.113.{vrid}/24"),
                ],
                vec![
                    format!("2001:db8:1::{vrid:x}/64"),
                    format!("2001:db8:2::{vrid:x}/64"),
                ],
            )
        } else {
            (
                vec![format!("192.0.2.{}/24", 200 + u16::from(vrid - 250))],
                Vec::new(),
            )
        };
        config.push_str(&instance(
            &format!("VI_{vrid}"),
            vrid,
            priority,
            "0.01",
            &vips,
            &excluded,
            None,
        ));
    }
    config
}

/// Issue 20's large setup: `per_lan` IPv6 instances (VRIDs 1 up) on each of `lans`
/// interfaces eth0.., each with 4 virtual addresses of its own, at 10 ms. IPv6, because the
/// documentation ranges hold 768 IPv4 addresses and 1000 instances need 4000.
fn lans_config(priority: u8, lans: usize, per_lan: u8) -> String {
    let mut config = global(true);
    for lan in 0..lans {
        for vrid in 1..=per_lan {
            config.push_str(&format!(
                "vrrp_instance VI_{lan}_{vrid} {{\n  state BACKUP\n  interface eth{lan}\n  \
                 virtual_router_id {vrid}\n  priority {priority}\n  advert_int 0.01\n  \
                 virtual_ipaddress {{\n"
            ));
            for host in 1..=4 {
                config.push_str(&format!(
                    "    2001:db8:a{lan}:{vrid:x}::{host}/64 dev eth{lan}\n"
                ));
            }
            config.push_str("  }\n}\n");
        }
    }
    config
}

/// One setup of the scale scenario.
struct ScaleSetup {
    name: String,
    instances: usize,
    /// Interfaces eth0.. the instances are spread over.
    lans: usize,
    config: Box<dyn Fn(u8) -> String>,
    /// What the master's virtual addresses (and only they) contain.
    vip_marker: &'static [&'static str],
}

/// Scenario 6: 255 VRIDs at 10 ms on one interface for every implementation; then issue 20's
/// 1000 instances on 4 interfaces for vrrpd, against keepalived at 100 (it collapses at 255),
/// compared per advert sent, and FRR at 100 too (a macvlan per instance and family; it runs
/// the IPv4 addresses of the 255 VRIDs, having no excluded ones).
pub fn scale(options: &BenchOptions, report: &mut Report) -> Result<()> {
    // The quick bench (the suite's check that the scenario runs) takes 40: at 255, keepalived
    // churns through its addresses for minutes on a machine with a slow disk.
    let count = |quick, full| u8::try_from(options.scale(quick, full)).unwrap_or(u8::MAX);
    let vrids = count(40, 255);
    let one_lan = || ScaleSetup {
        name: format!("{vrids} VRIDs on 1 interface"),
        instances: usize::from(vrids),
        lans: 1,
        config: Box::new(move |priority| scale_config(priority, vrids)),
        vip_marker: &["198.51.100.", "203.0.113.", "2001:db8:"],
    };
    let four_lans = |per_lan: u8| ScaleSetup {
        name: format!("{} instances on 4 interfaces", 4 * usize::from(per_lan)),
        instances: 4 * usize::from(per_lan),
        lans: 4,
        config: Box::new(move |priority| lans_config(priority, 4, per_lan)),
        vip_marker: &["2001:db8:a"],
    };
    for implementation in Implementation::selected(&Implementation::WITH_FRR) {
        scale_run(options, report, implementation, &one_lan())?;
    }
    for implementation in Implementation::selected(&Implementation::WITH_FRR) {
        // The quick bench (the suite's check that the scenario runs) takes 40 and 20.
        let per_lan = match implementation {
            Implementation::Keepalived | Implementation::Frr => count(5, 25),
            _ => count(10, 250),
        };
        scale_run(options, report, implementation, &four_lans(per_lan))?;
    }
    Ok(())
}

/// Frames the host's receive backlogs have dropped since boot, all CPUs together: the second
/// column of /proc/net/softnet_stat (hexadecimal, one line per CPU). 0 if it cannot be read.
fn host_backlog_drops() -> u64 {
    std::fs::read_to_string("/proc/net/softnet_stat")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_whitespace().nth(1))
        .filter_map(|dropped| u64::from_str_radix(dropped, 16).ok())
        .sum()
}

/// The packets sent on interfaces eth0..eth(lans-1) of the namespace process `pid` runs in (at
/// this scale, its adverts), from /proc/PID/net/dev: no process is started, since `ip netns
/// exec` (which remounts /sys) can take minutes while keepalived churns through its addresses.
fn tx_packets(pid: Option<i32>, lans: usize) -> Option<u64> {
    let table = std::fs::read_to_string(format!("/proc/{}/net/dev", pid?)).ok()?;
    let wanted: Vec<String> = (0..lans).map(|lan| format!("eth{lan}")).collect();
    let mut total = 0;
    for line in table.lines() {
        let Some((name, counters)) = line.split_once(':') else {
            continue;
        };
        if wanted.iter().any(|w| w == name.trim()) {
            // Receive: bytes packets errs drop fifo frame compressed multicast; then transmit.
            total += counters.split_whitespace().nth(9)?.parse::<u64>().ok()?;
        }
    }
    Some(total)
}

/// The lines of `ip -o addr show` in a host's namespace for the addresses it serves: not those
/// of a link in protodown (FRR keeps a backup's virtual addresses on its macvlans, down so).
/// The namespace is entered without `ip netns exec` (see [`tx_packets`]).
fn served_addresses_of(host: &vrrp_harness::topology::Host) -> Vec<String> {
    let ip = |args: &[&str]| {
        host.ns
            .command_in_network("ip")
            .args(args)
            .output()
            .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
            .unwrap_or_default()
    };
    // "3: vrrp4-eth0-5@eth0: <...> ... protodown on ...": the names before any "@".
    let links = ip(&["-o", "-d", "link", "show"]);
    let protodown: Vec<&str> = links
        .lines()
        .filter(|line| line.contains("protodown on"))
        .filter_map(|line| line.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name))
        .collect();
    // "4: vrrp4-eth0-5    inet 198.51.100.5/24 ...".
    ip(&["-o", "addr", "show"])
        .lines()
        .filter(|line| {
            line.split_whitespace()
                .nth(1)
                .is_none_or(|name| !protodown.contains(&name))
        })
        .map(str::to_string)
        .collect()
}

/// From convergence to the scale scenario's window (see `scale_run`).
const SCALE_SETTLE_SECONDS: f64 = 10.0;

/// Where the scale scenario's two routers run on one host: each on a CPU of its own, and the
/// kernel's receive processing with them (receive packet steering), the switch's with the
/// backup. Left alone, veth carries every frame through the switch's bridge and into the
/// backup's receive path within the master's send, on the master's CPU: at 1000 instances
/// that CPU carried all three's work for 100,000 adverts a second, the master's protocol
/// thread (SCHED_FIFO) and the kernel's normal-priority work there (ksoftirqd, which waited
/// up to 84 ms) starved each other, the thread itself waited 40-52 ms at a time while the
/// kernel ran that work, and the backup took over hundreds of instances at once (issue 20,
/// target 5: 2546 to 10148 false transitions in 60 s; with this placement 0 to 422 in the
/// runs BENCHMARKS.md lists, from the backlog overflow `steer` describes). Two routers do not
/// share a CPU, and a switch does its own switching.
#[derive(Clone, Copy)]
struct ScaleCpus {
    master: usize,
    /// The backup's CPU, which the switch shares.
    backup: usize,
}

impl ScaleCpus {
    /// The placement, on a machine of two CPUs or more; none on one CPU.
    fn of_this_machine() -> Option<ScaleCpus> {
        let count = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        (count >= 2).then_some(ScaleCpus {
            master: 1,
            backup: 0,
        })
    }

    /// Router 1 (the master) receives on its CPU; the switch and router 2 on the backup's
    /// (receive packet steering). Left on the sender's CPU, the switch's forwarding alone took
    /// the master back to 89% of its CPU and 14718 false transitions in one run. What this
    /// placement still loses: the backup's CPU processes some 400,000 packets/s of the
    /// switch's and the backup's, and when it falls behind its backlog of 1000 frames
    /// (net.core.netdev_max_backlog, a host-wide setting the bench leaves alone) overflows and
    /// drops adverts (the report counts them); the master's adverts spread over the interval
    /// in bursts of 64 instead of 1000, tried, did not prevent it. Driver-mode rings on the switch's ports with a queue on
    /// the master's interfaces instead (veth stops a queue at a full ring) held the adverts
    /// in the master's socket until its sends failed.
    fn steer(self, segment: &Segment) -> Result<()> {
        steer_receive(&segment.router(1).ns, self.master)?;
        steer_receive(&segment.router(2).ns, self.backup)?;
        steer_receive(&segment.switch, self.backup)
    }
}

/// Runs `start` so that what it spawns runs on `cpu` (anywhere if none).
fn on_cpu<T>(cpu: Option<usize>, start: impl FnOnce() -> Result<T>) -> Result<T> {
    match cpu {
        Some(cpu) => spawning_on(cpu, start),
        None => start(),
    }
}

fn scale_run(
    options: &BenchOptions,
    report: &mut Report,
    implementation: Implementation,
    setup: &ScaleSetup,
) -> Result<()> {
    let window = options.seconds(1.0, 60.0);
    let segment = Segment::new(2)?;
    segment.add_lans(setup.lans - 1)?;
    let scratch = Scratch::new("bench-scale")?;
    let cpus = ScaleCpus::of_this_machine();
    if let Some(cpus) = cpus {
        cpus.steer(&segment)?;
    }
    let (master_cpu, backup_cpu) = (cpus.map(|c| c.master), cpus.map(|c| c.backup));
    // Both routers start together, and convergence counts from there (the protocol starts
    // on the sockets; XDP is waited for after it, before the window; FRR's zebra and
    // macvlans are up before, as FRR's service has them).
    let prepare = |router: usize, label: &'static str, priority: u8, cpu: Option<usize>| {
        on_cpu(cpu, || {
            Daemon::prepare(
                implementation,
                segment.router(router),
                label,
                &(setup.config)(priority),
                &scratch,
            )
        })
    };
    let master = prepare(1, "master", 100, master_cpu)?;
    let backup = prepare(2, "backup", 96, backup_cpu)?;
    let started = Instant::now();
    let mut master = on_cpu(master_cpu, || master.start())?;
    let mut backup = on_cpu(backup_cpu, || backup.start())?;
    let converge_limit = Duration::from_secs(if options.quick { 8 } else { 60 });
    let instances = setup.instances as i64;
    let mut converged = None;
    // keepalived floods its log at this scale: the logs are read as they grow. An instance
    // that leaves MASTER enters BACKUP (vrrpd and keepalived alike) with a line other than its
    // first, "(init)" one.
    const LINES: [&str; 4] = [
        "Entering MASTER STATE",
        "Entering BACKUP STATE",
        "Entering BACKUP STATE (init)",
        "Entering FAULT STATE",
    ];
    let (mut on_master, mut on_backup) = (master.tally(&LINES), backup.tally(&LINES));
    let holding_master = |counts: &[usize]| counts[0] as i64 - (counts[1] - counts[2]) as i64;
    while started.elapsed() < converge_limit {
        let masters = holding_master(on_master.update());
        let backup_counts = on_backup.update();
        // Converged: the master holds every instance, and the backup has started all of its
        // own (each logs its BACKUP (init)) with none left as master.
        if masters >= instances
            && backup_counts[2] as i64 >= instances
            && holding_master(backup_counts) <= 0
        {
            converged = Some(started.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    master.wait_for_its_datapath(implementation)?;
    backup.wait_for_its_datapath(implementation)?;
    // The window measures the steady state: started together, the backup wins some of the
    // start-up race and its address work (VIPs installed and removed again, the gratuitous
    // ARPs and NAs of garp_master_delay, 5 s) runs on for seconds after convergence.
    std::thread::sleep(options.seconds(0.5, SCALE_SETTLE_SECONDS));
    let mut transitions = || {
        let (a, b) = (on_master.update(), on_backup.update());
        a[0] + a[1] + a[3] + b[0] + b[1] + b[3]
    };
    // keepalived's VRRP child may be gone at this scale (it collapses at 255 instances):
    // its row then says so (no CPU or memory figure) rather than ending the bench.
    let pid = |daemon: &Daemon| worker_pid_within(daemon, Duration::from_secs(5));
    let (master_pid, backup_pid) = (pid(&master), pid(&backup));
    let cpu_seconds = |pid: Option<i32>| pid.and_then(process_cpu_seconds);
    // The counters first, at a known time: counting transitions reads the logs.
    let sample = || {
        (
            Instant::now(),
            cpu_seconds(master_pid),
            cpu_seconds(backup_pid),
            tx_packets(master_pid, setup.lans),
            host_backlog_drops(),
        )
    };
    let before = sample();
    let transitions_before = transitions();
    std::thread::sleep(window);
    let after = sample();
    let transitions_after = transitions();
    let measured = after.0.duration_since(before.0).as_secs_f64();
    let vips_up = served_addresses_of(segment.router(1))
        .iter()
        .filter(|l| setup.vip_marker.iter().any(|marker| l.contains(marker)))
        .count();
    let cpu_used = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => b - a,
        _ => f64::NAN,
    };
    let master_cpu = cpu_used(before.1, after.1);
    let adverts_sent = match (before.3, after.3) {
        (Some(before), Some(after)) => after.saturating_sub(before),
        _ => 0,
    };
    report.scale(super::report::ScaleRow {
        implementation,
        setup: setup.name.clone(),
        converge: converged,
        vips_up,
        false_transitions: transitions_after.saturating_sub(transitions_before),
        backlog_drops: after.4.saturating_sub(before.4),
        window,
        master_cpu_percent: master_cpu / measured * 100.0,
        backup_cpu_percent: cpu_used(before.2, after.2) / measured * 100.0,
        master_cpu_us_per_advert: master_cpu * 1e6 / adverts_sent.max(1) as f64,
        master_pss_kib: master.pss_kib().unwrap_or(0),
        backup_pss_kib: backup.pss_kib().unwrap_or(0),
    });
    Ok(())
}

/// Scenario 7: start-up — process start to first advert (alone, v3 10 ms), and to steady
/// BACKUP with a master present.
pub fn startup(options: &BenchOptions, report: &mut Report) -> Result<()> {
    let runs = options.scale(1, 5) as usize;
    for implementation in Implementation::selected(&Implementation::WITH_FRR) {
        let master_down = implementation.master_down_ms(100, 1);
        let mut to_first_advert = Vec::new();
        let mut to_backup = Vec::new();
        let mut to_xdp = Vec::new();
        for run in 0..runs {
            let segment = Segment::new(2)?;
            let scratch = Scratch::new("bench-startup")?;
            let capture = Capture::start(
                &segment.switch,
                BRIDGE,
                "src host 192.0.2.11",
                scratch.path(),
            )?;
            let (spawned, master) = Daemon::launch_timed(
                implementation,
                segment.router(1),
                &format!("alone-{run}"),
                &v3_pair_config(100),
                &scratch,
                wall_now,
            )?;
            master.wait_count(MASTER_LINE, 1, WAIT)?;
            std::thread::sleep(Duration::from_millis(100));
            let first = wire::from(&wire::adverts(&capture.finish()?), MASTER, 51)
                .first()
                .map(|a| a.time_ns)
                .context("no advert")?;
            to_first_advert.push(wire::seconds(spawned, first) * 1e3 - master_down);
            let (spawned, mut backup) = Daemon::launch_timed(
                implementation,
                segment.router(2),
                &format!("join-{run}"),
                &v3_pair_config(96),
                &scratch,
                Instant::now,
            )?;
            backup.wait_count(BACKUP_LINE, 1, WAIT)?;
            to_backup.push(spawned.elapsed().as_secs_f64() * 1e3);
            if implementation == Implementation::Xdp {
                backup.running()?.wait_for_log(XDP_TAKEN_OVER, WAIT)?;
                to_xdp.push(spawned.elapsed().as_secs_f64() * 1e3);
            }
        }
        report.startup(StartupRow {
            implementation,
            to_first_advert_ms: to_first_advert,
            to_backup_ms: to_backup,
            to_xdp_ms: to_xdp,
        });
    }
    Ok(())
}

/// What the changes scenario does to the master, in order, each cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    AddVip,
    Priority,
    Interval,
    Restart,
    Upgrade,
}

impl Change {
    const ALL: [Change; 5] = [
        Change::AddVip,
        Change::Priority,
        Change::Restart,
        Change::Upgrade,
        Change::Interval,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Change::AddVip => "a VIP added (master, then backup)",
            Change::Priority => "master's priority 100 -> 98",
            Change::Interval => "advert_int doubled (master, then backup)",
            Change::Restart => "master restarted (vrrpd: `vrrpd upgrade`)",
            Change::Upgrade => "master upgraded (vrrpd: `vrrpd upgrade --binary` another file)",
        }
    }
}

/// The two paces issue 18 measures the changes at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// VRRPv3 at 10 ms adverts.
    V3Fast,
    /// VRRPv2 at 1 s adverts.
    V2Slow,
}

impl Pace {
    pub fn name(self) -> &'static str {
        match self {
            Pace::V3Fast => "v3, 10 ms",
            Pace::V2Slow => "v2, 1 s",
        }
    }

    /// The advert interval before and after the interval change.
    fn intervals(self) -> (&'static str, &'static str) {
        match self {
            Pace::V3Fast => ("0.01", "0.02"),
            Pace::V2Slow => ("1", "2"),
        }
    }

    /// How long each change is left before the next: a few adverts at the doubled interval.
    fn settle(self, quick: bool) -> Duration {
        match (self, quick) {
            (Pace::V3Fast, _) => Duration::from_millis(1500),
            // The quick bench only runs the scenario through: one advert per change.
            (Pace::V2Slow, true) => Duration::from_millis(1200),
            (Pace::V2Slow, false) => Duration::from_secs(5),
        }
    }

    /// A router's file at this pace.
    fn config(self, priority: u8, interval: &str, vips: &[String]) -> String {
        global(self == Pace::V3Fast) + &instance("VI_1", 51, priority, interval, vips, &[], None)
    }
}

/// A router's file after the changes so far (the second VIP, then the master's priority, then
/// after the restart and the upgrade the interval); `None` where the change leaves this
/// router's file alone.
fn changed_config(pace: Pace, change: Change, backup: bool) -> Option<String> {
    let priority = match (backup, change) {
        (true, _) => 96,
        (false, Change::AddVip) => 100,
        (false, _) => 98,
    };
    let (interval, doubled) = pace.intervals();
    let interval = match change {
        Change::Interval => doubled,
        _ => interval,
    };
    if backup && matches!(change, Change::Priority | Change::Restart | Change::Upgrade) {
        return None;
    }
    Some(pace.config(
        priority,
        interval,
        &["192.0.2.99/24".into(), "192.0.2.98/24".into()],
    ))
}

/// Time within `[from, to)` in which both routers advertised as master: each advert with a
/// non-zero priority stands for 1.5 of its interval.
fn dual_master_ms(
    master: &[wire::SeenAdvert],
    backup: &[wire::SeenAdvert],
    from: u64,
    to: u64,
) -> f64 {
    let spans = |adverts: &[wire::SeenAdvert]| -> Vec<(u64, u64)> {
        let mut spans: Vec<(u64, u64)> = Vec::new();
        for advert in adverts
            .iter()
            .filter(|a| a.priority > 0 && (from..to).contains(&a.time_ns))
        {
            let end = advert.time_ns + u64::from(advert.interval_cs) * 15_000_000;
            match spans.last_mut() {
                Some(last) if advert.time_ns <= last.1 => last.1 = last.1.max(end),
                _ => spans.push((advert.time_ns, end)),
            }
        }
        spans
    };
    let (ours, theirs) = (spans(master), spans(backup));
    let mut overlap = 0u64;
    for (a0, a1) in &ours {
        for (b0, b1) in &theirs {
            overlap += a1.min(b1).saturating_sub(*a0.max(b0));
        }
    }
    overlap as f64 / 1e6
}

/// Scenario: the changes an operator makes to a running pair, at 10 ms (v3) and 1 s (v2)
/// adverts, as a rolling change (the master's file first, the backup's 300 ms later, each
/// reloaded by SIGHUP), a restart of the master and an upgrade to another binary file; each
/// left to settle: did mastership move, did the adverts stop, did a client pinging the VIP
/// every 1 ms see a gap?
pub fn changes(options: &BenchOptions, report: &mut Report) -> Result<()> {
    let cycles = options.scale(1, 3) as usize;
    let rolling = Duration::from_millis(300);
    for pace in [Pace::V3Fast, Pace::V2Slow] {
        let settle = pace.settle(options.quick);
        let (interval, _) = pace.intervals();
        let initial = |priority: u8| pace.config(priority, interval, &["192.0.2.99/24".into()]);
        // FRR runs VRRPv3 only: the v2 pace is not its.
        let implementations = match pace {
            Pace::V3Fast => &Implementation::WITH_FRR[..],
            Pace::V2Slow => &Implementation::ALL[..],
        };
        for implementation in Implementation::selected(implementations) {
            let mut pair = Pair::start(implementation, initial, "bench-changes")?;
            // Another binary file, as a package upgrade puts a new file where the old one was.
            let other_binary = pair.scratch.join("vrrpd-other");
            std::fs::copy(vrrp_harness::daemons::vrrpd_binary(), &other_binary)?;
            vrrp_harness::daemons::make_executable(&other_binary)?;
            let pinger = Pinger::start(
                &pair.segment.client.ns,
                std::net::Ipv4Addr::new(192, 0, 2, 99),
                Duration::from_millis(1),
                Duration::from_secs(600),
            )?;
            let mut windows = Vec::new();
            for cycle in 0..cycles {
                for change in Change::ALL {
                    let takeovers = pair.backup.count(MASTER_LINE);
                    let entered = pair.master.count(MASTER_LINE);
                    let from = (wall_now(), pinger.started.elapsed());
                    let master_config = changed_config(pace, change, false).unwrap_or_default();
                    // keepalived's restart starts a new process with a log of its own.
                    let mut replaced = false;
                    match change {
                        Change::Restart => {
                            replaced = restart(&mut pair, implementation, &master_config, None)?
                        }
                        Change::Upgrade => {
                            replaced = restart(
                                &mut pair,
                                implementation,
                                &master_config,
                                Some(&other_binary),
                            )?
                        }
                        _ => pair.master.reload(pair.segment.router(1), &master_config)?,
                    }
                    if let Some(config) = changed_config(pace, change, true) {
                        std::thread::sleep(rolling);
                        pair.backup.reload(pair.segment.router(2), &config)?;
                    }
                    std::thread::sleep(settle);
                    let entered_since = if replaced {
                        pair.master.count(MASTER_LINE)
                    } else {
                        pair.master.count(MASTER_LINE) - entered
                    };
                    windows.push(ChangeWindow {
                        change,
                        from,
                        to: (wall_now(), pinger.started.elapsed()),
                        takeovers: pair.backup.count(MASTER_LINE) - takeovers,
                        reelections: entered_since,
                    });
                }
                // Back to the start for the next cycle (not measured).
                if cycle + 1 < cycles {
                    pair.master.reload(pair.segment.router(1), &initial(100))?;
                    pair.backup.reload(pair.segment.router(2), &initial(96))?;
                    std::thread::sleep(settle);
                }
            }
            let pings = pinger.stop()?;
            let adverts = wire::adverts(&pair.capture.finish()?);
            let master = wire::from(&adverts, MASTER, 51);
            let backup = wire::from(&adverts, BACKUP, 51);
            let speaking: Vec<wire::SeenAdvert> =
                master.iter().filter(|a| a.priority > 0).cloned().collect();
            for change in Change::ALL {
                let mut row = ChangeRow {
                    implementation,
                    pace: pace.name(),
                    change: change.name(),
                    takeovers: 0,
                    master_reelections: 0,
                    dual_master_ms: 0.0,
                    longest_gap_ms: 0.0,
                    client_gap_ms: 0.0,
                };
                for window in windows.iter().filter(|w| w.change == change) {
                    row.takeovers += window.takeovers;
                    row.master_reelections += window.reelections;
                    row.dual_master_ms +=
                        dual_master_ms(&master, &backup, window.from.0, window.to.0);
                    let gap = wire::longest_gap(&speaking, window.from.0, window.to.0);
                    row.longest_gap_ms = row.longest_gap_ms.max(gap.as_secs_f64() * 1e3);
                    let client = pings.max_gap_between(window.from.1, window.to.1);
                    row.client_gap_ms = row.client_gap_ms.max(client.as_secs_f64() * 1e3);
                }
                report.change(row);
            }
        }
    }
    Ok(())
}

/// One change of one cycle: when (wall clock for the capture, time since the pinger started
/// for the client) and what the logs said.
struct ChangeWindow {
    change: Change,
    from: (u64, Duration),
    to: (u64, Duration),
    takeovers: usize,
    reelections: usize,
}

/// The restart an operator does: vrrpd's hitless `vrrpd upgrade` (to `binary` when given);
/// keepalived's stop and start (its upgrade is the same: the new binary starts).
/// True when the master is a new process.
fn restart(
    pair: &mut Pair,
    implementation: Implementation,
    config: &str,
    binary: Option<&std::path::Path>,
) -> Result<bool> {
    match &pair.master {
        Daemon::Vrrpd(vrrpd) => {
            let mut command = std::process::Command::new(vrrp_harness::daemons::vrrpd_binary());
            command.arg("upgrade").arg("--control").arg(&vrrpd.control);
            if let Some(binary) = binary {
                command.arg("--binary").arg(binary);
            }
            let output = command.output()?;
            anyhow::ensure!(
                output.status.success(),
                "vrrpd upgrade: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            Ok(false)
        }
        Daemon::Keepalived(..) | Daemon::Frr(..) => {
            pair.master.stop(libc::SIGTERM)?;
            pair.master.start_again(
                implementation,
                pair.segment.router(1),
                &format!("master-restarted-{}", pair.restarts),
                config,
                &pair.scratch,
            )?;
            pair.restarts += 1;
            Ok(true)
        }
    }
}
