//! The chaos soak (`cargo xtask soak --minutes N`): four routers on one segment running three
//! VRRP implementations on the same two VRIDs (vrrpd on routers 1 and 4, keepalived 2.2.7 on
//! router 2, FRR's vrrpd on router 3), and for a bounded time random stops, crashes (SIGKILL),
//! link cuts and tracking changes. Checked continuously:
//!
//! - on the wire: never two routers advertising as master of one VRID for longer than
//!   Master_Down_Interval + one advert interval, and every advert valid (TTL 255, VRRPv3, a
//!   correct checksum);
//! - in `ip addr` (FRR: its macvlan out of protodown): whenever the segment has been stable that
//!   long (plus the time to install and announce addresses and to run a tracking script), every
//!   VIP is served by exactly one running router.
//!
//! What the three have in common decides the setup: VRRPv3 at 100 ms to 224.0.0.18, no
//! authentication. vrrpd and keepalived read the same keepalived.conf; FRR gets the same
//! instances in its own syntax, and a tracked failure becomes a priority change through vtysh
//! (FRR has no tracking scripts).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use vrrp_common::time::master_down_interval_ns;
use vrrp_common::wire::vrrp::Version;

use vrrp_harness::capture::Capture;
use vrrp_harness::daemons::{Keepalived, Vrrpd, make_executable};
use vrrp_harness::frr::{self, Frr, FrrInstance};
use vrrp_harness::process::Scratch;
use vrrp_harness::topology::{BRIDGE, Host, Segment};
use vrrp_harness::wire;

/// Which implementation each router runs (router `i` is `IMPLEMENTATIONS[i - 1]`).
const IMPLEMENTATIONS: [Implementation; 4] = [
    Implementation::Vrrpd,
    Implementation::Keepalived,
    Implementation::Frr,
    Implementation::Vrrpd,
];
const ROUTERS: usize = IMPLEMENTATIONS.len();
/// Adverts every 100 ms (VRRPv3): Master_Down_Interval about 0.35 s.
const ADVERT_INT: &str = "0.1";
const INTERVAL_NS: u64 = 100_000_000;
/// (VRID, VIP, priorities of routers 1..4).
const INSTANCES: [(u8, &str, [u8; ROUTERS]); 2] = [
    (51, "192.0.2.99", [100, 90, 80, 70]),
    (52, "192.0.2.98", [80, 100, 90, 70]),
];
/// What a failing tracking script takes off the priority.
const TRACK_WEIGHT: u8 = 30;
/// keepalived runs scripts at whole seconds only (it refuses 0.2: "invalid number"), so every
/// router polls its script every second; a tracking change settles within that.
const SCRIPT_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Implementation {
    Vrrpd,
    Keepalived,
    Frr,
}

impl Implementation {
    fn name(self) -> &'static str {
        match self {
            Implementation::Vrrpd => "vrrpd",
            Implementation::Keepalived => "keepalived",
            Implementation::Frr => "frr",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct SoakReport {
    /// Faults injected, by kind and implementation ("crash+restart keepalived": 4).
    pub events: BTreeMap<String, usize>,
    pub checks: usize,
    /// Adverts captured on the switch (what the wire check judged), by implementation.
    pub adverts_by: BTreeMap<&'static str, usize>,
    pub adverts: usize,
    pub violations: Vec<String>,
    pub duration: Duration,
}

impl SoakReport {
    pub fn total_events(&self) -> usize {
        self.events.values().sum()
    }
}

/// A small deterministic generator (xorshift), seeded per run and printed for replay.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The keepalived.conf that vrrpd and keepalived both run on `router`.
fn keepalived_conf(router: usize, scratch: &Scratch) -> Result<String> {
    let script = scratch.write(
        &format!("chk-r{router}.sh"),
        &format!(
            "#!/bin/sh\n[ -f {}/down-r{router} ] && exit 1 || exit 0\n",
            scratch.path().display()
        ),
    )?;
    make_executable(&script)?;
    let mut text = format!(
        "global_defs {{\n  vrrp_version 3\n  vrrp_garp_master_delay 0\n}}\nvrrp_script chk {{\n  script \"{}\"\n  interval {}\n  weight -{TRACK_WEIGHT}\n}}\n",
        script.display(),
        SCRIPT_INTERVAL.as_secs()
    );
    for (vrid, vip, priorities) in INSTANCES {
        text.push_str(&format!(
            "vrrp_instance VI_{vrid} {{\n  interface eth0\n  virtual_router_id {vrid}\n  priority {}\n  advert_int {ADVERT_INT}\n  virtual_ipaddress {{\n    {vip}/24 dev eth0\n  }}\n  track_script {{\n    chk\n  }}\n}}\n",
            priorities[router - 1]
        ));
    }
    Ok(text)
}

/// The same instances for FRR on `router`, at `tracking_down`'s priorities.
fn frr_instances(router: usize, tracking_down: bool) -> Vec<FrrInstance> {
    INSTANCES
        .iter()
        .map(|(vrid, vip, priorities)| FrrInstance {
            interface: "eth0".to_string(),
            vrid: *vrid,
            priority: effective_priority(priorities[router - 1], tracking_down),
            addresses: vec![format!("{vip}/24")],
            interval_ms: (INTERVAL_NS / 1_000_000) as u32,
        })
        .collect()
}

fn effective_priority(base: u8, tracking_down: bool) -> u8 {
    if tracking_down {
        base.saturating_sub(TRACK_WEIGHT).max(1)
    } else {
        base
    }
}

/// The daemon on one router.
enum Daemon {
    Vrrpd(Option<Vrrpd>),
    Keepalived(Option<Keepalived>),
    /// zebra runs throughout; stopping and crashing concern FRR's vrrpd.
    Frr(Frr),
}

/// One router of the soak: its implementation, its daemon and what the soak did to it.
struct Router<'a> {
    index: usize,
    host: &'a Host,
    daemon: Daemon,
    config: String,
    tracking_down: bool,
    link_up: bool,
}

impl<'a> Router<'a> {
    fn new(index: usize, host: &'a Host, scratch: &Scratch) -> Result<Router<'a>> {
        let implementation = IMPLEMENTATIONS[index];
        let config = keepalived_conf(index + 1, scratch)?;
        let daemon = match implementation {
            Implementation::Vrrpd => Daemon::Vrrpd(None),
            Implementation::Keepalived => Daemon::Keepalived(None),
            Implementation::Frr => Daemon::Frr(Frr::start(
                host,
                &format!("r{}-frr", index + 1),
                &frr_instances(index + 1, false),
                scratch,
            )?),
        };
        let mut router = Router {
            index,
            host,
            daemon,
            config,
            tracking_down: false,
            link_up: true,
        };
        if !matches!(router.daemon, Daemon::Frr(_)) {
            router.start(0, scratch)?;
        }
        Ok(router)
    }

    fn implementation(&self) -> Implementation {
        IMPLEMENTATIONS[self.index]
    }

    fn running(&mut self) -> bool {
        match &mut self.daemon {
            Daemon::Vrrpd(daemon) => daemon.is_some(),
            Daemon::Keepalived(daemon) => daemon.is_some(),
            Daemon::Frr(frr) => frr.vrrpd_running(),
        }
    }

    fn start(&mut self, generation: usize, scratch: &Scratch) -> Result<()> {
        let label = format!("r{}-{generation}", self.index + 1);
        match &mut self.daemon {
            Daemon::Vrrpd(daemon) => {
                *daemon = Some(Vrrpd::start(self.host, &label, &self.config, scratch, &[])?)
            }
            Daemon::Keepalived(daemon) => {
                *daemon = Some(Keepalived::start(self.host, &label, &self.config, scratch)?)
            }
            // A restarted FRR vrrpd reads its file again: written with the tracked priorities.
            Daemon::Frr(frr) => frr.start_vrrpd(
                self.host,
                &frr_instances(self.index + 1, self.tracking_down),
            )?,
        }
        Ok(())
    }

    /// SIGTERM: each implementation's own shutdown (priority 0, addresses released).
    fn stop(&mut self) -> Result<()> {
        match &mut self.daemon {
            Daemon::Vrrpd(daemon) => {
                if let Some(mut daemon) = daemon.take() {
                    let _ = daemon.process.stop(libc::SIGTERM, Duration::from_secs(3));
                }
            }
            Daemon::Keepalived(daemon) => {
                if let Some(mut daemon) = daemon.take() {
                    let _ = daemon.process.stop(libc::SIGTERM, Duration::from_secs(5));
                }
            }
            Daemon::Frr(frr) => frr.stop_vrrpd(libc::SIGTERM)?,
        }
        Ok(())
    }

    /// SIGKILL: no priority 0, addresses left behind for the restarted daemon to find.
    fn crash(&mut self) -> Result<()> {
        match &mut self.daemon {
            Daemon::Vrrpd(daemon) => {
                if let Some(daemon) = daemon.take() {
                    daemon.process.signal(libc::SIGKILL);
                }
            }
            Daemon::Keepalived(daemon) => {
                if let Some(daemon) = daemon.take() {
                    daemon.crash();
                }
            }
            Daemon::Frr(frr) => frr.stop_vrrpd(libc::SIGKILL)?,
        }
        Ok(())
    }

    /// Flips the tracked check: a flag file the script reads, or FRR's priorities (a stopped
    /// FRR vrrpd gets them when it starts).
    fn toggle_tracking(&mut self, scratch: &Scratch) -> Result<()> {
        self.tracking_down = !self.tracking_down;
        let instances = frr_instances(self.index + 1, self.tracking_down);
        match &mut self.daemon {
            Daemon::Frr(frr) => {
                if frr.vrrpd_running() {
                    for instance in instances {
                        frr.set_priority(instance.vrid, instance.priority)?;
                    }
                }
            }
            _ => {
                let flag = scratch.join(&format!("down-r{}", self.index + 1));
                if self.tracking_down {
                    std::fs::write(&flag, "")?;
                } else {
                    std::fs::remove_file(&flag)?;
                }
            }
        }
        Ok(())
    }

    /// Whether this router serves `vip` to clients.
    fn serves(&self, vrid: u8, vip: &str) -> bool {
        match &self.daemon {
            Daemon::Frr(_) => frr_instances(self.index + 1, false)
                .iter()
                .find(|instance| instance.vrid == vrid)
                .is_some_and(|instance| frr::serves(self.host, instance)),
            _ => self.host.has_address(vip),
        }
    }
}

/// Runs the soak for `duration`, with events every 0.5-2.5 s.
pub fn run(duration: Duration, seed: u64) -> Result<SoakReport> {
    let segment = Segment::new(ROUTERS)?;
    let scratch = Scratch::new("soak")?;
    let capture = Capture::start(&segment.switch, BRIDGE, "ip proto 112", scratch.path())?;
    let mut routers: Vec<Router> = (0..ROUTERS)
        .map(|index| Router::new(index, segment.router(index + 1), &scratch))
        .collect::<Result<_>>()?;
    let mut random = Random(seed | 1);
    let mut report = SoakReport::default();
    let master_down = master_down_interval_ns(Version::V3, 70, 10);
    // Addresses follow a transition within the interval plus their installation.
    let settle = Duration::from_nanos(master_down + INTERVAL_NS) + Duration::from_millis(700);
    // A starting daemon first loads and verifies its XDP program (vrrpd) or has zebra tell it
    // the interfaces (FRR), then waits Master_Down.
    let startup = Duration::from_secs(2);
    let started = Instant::now();
    let mut settled_at = started + startup + settle;
    let mut next_event = started + Duration::from_secs(3);
    let mut generation = 0;
    println!(
        "soak: seed {seed}, {} s, routers {:?}",
        duration.as_secs(),
        IMPLEMENTATIONS.map(Implementation::name)
    );
    while started.elapsed() < duration {
        if Instant::now() >= next_event {
            generation += 1;
            let router = &mut routers[random.below(ROUTERS as u64) as usize];
            let mut wait = settle;
            let event = match random.below(4) {
                0 if router.running() => {
                    router.stop()?;
                    "stop"
                }
                1 if router.running() => {
                    router.crash()?;
                    std::thread::sleep(Duration::from_millis(50));
                    // A crash: restart at once (a supervisor would); what the dead daemon left
                    // is the new one's to clean.
                    router.start(generation, &scratch)?;
                    wait += startup;
                    "crash+restart"
                }
                0 | 1 => {
                    router.start(generation, &scratch)?;
                    wait += startup;
                    "start"
                }
                2 => {
                    router.link_up = !router.link_up;
                    if router.link_up {
                        segment.restore(router.host)?;
                        "link restored"
                    } else {
                        segment.cut(router.host)?;
                        "link cut"
                    }
                }
                _ => {
                    router.toggle_tracking(&scratch)?;
                    wait += SCRIPT_INTERVAL;
                    if router.tracking_down {
                        "tracking fails"
                    } else {
                        "tracking recovers"
                    }
                }
            };
            let label = format!("{event} {}", router.implementation().name());
            *report.events.entry(label).or_default() += 1;
            let now = Instant::now();
            settled_at = settled_at.max(now + wait);
            next_event = now + Duration::from_millis(500 + random.below(2000));
        }
        if Instant::now() > settled_at {
            report.checks += 1;
            check_addresses(&mut routers, started.elapsed(), &mut report);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    report.duration = started.elapsed();
    let frames = capture.finish()?;
    let adverts = wire::adverts(&frames);
    report.adverts = adverts.len();
    for advert in &adverts {
        let router = segment
            .routers
            .iter()
            .position(|host| std::net::IpAddr::from(host.ipv4) == advert.source);
        let name = router.map_or("unknown source", |r| IMPLEMENTATIONS[r].name());
        *report.adverts_by.entry(name).or_default() += 1;
    }
    check_wire(&adverts, master_down + INTERVAL_NS, &mut report);
    Ok(report)
}

/// Every VIP served by exactly one running router with its link up, when one is eligible.
fn check_addresses(routers: &mut [Router], at: Duration, report: &mut SoakReport) {
    let eligible: Vec<usize> = routers
        .iter_mut()
        .filter_map(|r| (r.running() && r.link_up).then_some(r.index))
        .collect();
    if eligible.is_empty() {
        return;
    }
    for (vrid, vip, _) in INSTANCES {
        let holders: Vec<usize> = routers
            .iter_mut()
            .filter_map(|r| (r.running() && r.serves(vrid, vip)).then_some(r.index))
            .collect();
        let on_eligible = holders.iter().filter(|r| eligible.contains(r)).count();
        if on_eligible != 1 {
            let names = |list: &[usize]| {
                list.iter()
                    .map(|r| format!("r{} ({})", r + 1, IMPLEMENTATIONS[*r].name()))
                    .collect::<Vec<_>>()
            };
            report.violations.push(format!(
                "{:.1} s: {vip} on routers {:?} (eligible {:?})",
                at.as_secs_f64(),
                names(&holders),
                names(&eligible)
            ));
        }
    }
}

/// Every advert valid (VRRPv3, TTL 255, a correct checksum), and never two routers advertising
/// (priority > 0) for one VRID at once for longer than `bound`.
fn check_wire(adverts: &[wire::SeenAdvert], bound: u64, report: &mut SoakReport) {
    for advert in adverts {
        if !advert.checksum_ok || advert.ttl != 255 || advert.version != Version::V3 {
            report
                .violations
                .push(format!("an invalid advert on the wire: {advert:?}"));
        }
    }
    for (vrid, _, _) in INSTANCES {
        let mut mine: Vec<&wire::SeenAdvert> = adverts
            .iter()
            .filter(|a| a.vrid == vrid && a.priority > 0)
            .collect();
        mine.sort_by_key(|a| a.time_ns);
        // A router is advertising at t if it sent an advert within 1.5 intervals before t.
        let window = INTERVAL_NS * 3 / 2;
        let mut overlap_since: Option<u64> = None;
        for advert in &mine {
            let t = advert.time_ns;
            let mut sources: Vec<std::net::IpAddr> = mine
                .iter()
                .filter(|a| a.time_ns <= t && a.time_ns + window > t)
                .map(|a| a.source)
                .collect();
            sources.sort();
            sources.dedup();
            if sources.len() > 1 {
                let since = *overlap_since.get_or_insert(t);
                if t - since > bound {
                    report.violations.push(format!(
                        "VRID {vrid}: {} masters for {:.0} ms",
                        sources.len(),
                        (t - since) as f64 / 1e6
                    ));
                    overlap_since = Some(t);
                }
            } else {
                overlap_since = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advert(time_ms: u64, router: u8) -> wire::SeenAdvert {
        wire::SeenAdvert {
            time_ns: time_ms * 1_000_000,
            source_mac: [2, 0, 0, 0, 0, router],
            source: std::net::IpAddr::from([192, 0, 2, 10 + router]),
            destination: std::net::IpAddr::from([224, 0, 0, 18]),
            ttl: 255,
            version: Version::V3,
            vrid: 51,
            priority: 100,
            interval_cs: 10,
            checksum_ok: true,
            behind_ah: false,
        }
    }

    /// The wire check flags two masters that overlap for longer than the bound, and tolerates a
    /// handover's brief overlap.
    #[test]
    fn the_wire_check_sees_two_masters() {
        let bound = 450_000_000;
        let mut both: Vec<_> = (0..20).map(|i| advert(i * 100, 1)).collect();
        both.extend((0..20).map(|i| advert(i * 100 + 50, 2)));
        both.sort_by_key(|a| a.time_ns);
        let mut report = SoakReport::default();
        check_wire(&both, bound, &mut report);
        assert!(!report.violations.is_empty());

        let mut handover: Vec<_> = (0..10).map(|i| advert(i * 100, 1)).collect();
        handover.extend((0..10).map(|i| advert(950 + i * 100, 2)));
        let mut report = SoakReport::default();
        check_wire(&handover, bound, &mut report);
        assert!(report.violations.is_empty(), "{:?}", report.violations);
    }
}
