//! The chaos soak (`cargo xtask soak --minutes N`): three routers running vrrpd with two
//! instances each, and for a bounded time random stops, crashes (SIGKILL), link cuts and
//! tracking changes. Checked continuously:
//!
//! - on the wire: never two routers advertising as master of one VRID for longer than
//!   Master_Down_Interval + one advert interval;
//! - in `ip addr`: whenever the segment has been stable that long (plus the time to install and
//!   announce addresses), every VIP is on exactly one running router.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use vrrp_common::time::master_down_interval_ns;
use vrrp_common::wire::vrrp::Version;

use vrrp_harness::capture::Capture;
use vrrp_harness::daemons::{Vrrpd, make_executable};
use vrrp_harness::process::Scratch;
use vrrp_harness::topology::{BRIDGE, Segment};
use vrrp_harness::wire;

const ROUTERS: usize = 3;
/// Adverts every 100 ms (VRRPv3): Master_Down_Interval about 0.35 s.
const ADVERT_INT: &str = "0.1";
const INTERVAL_NS: u64 = 100_000_000;
/// (VRID, VIP, priorities of routers 1..3).
const INSTANCES: [(u8, &str, [u8; 3]); 2] = [
    (51, "192.0.2.99", [100, 90, 80]),
    (52, "192.0.2.98", [80, 100, 90]),
];

#[derive(Clone, Debug, Default)]
pub struct SoakReport {
    pub events: BTreeMap<&'static str, usize>,
    pub checks: usize,
    /// Adverts captured on the switch (what the wire check judged).
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

fn config(router: usize, scratch: &Scratch) -> Result<String> {
    let script = scratch.write(
        &format!("chk-r{router}.sh"),
        &format!(
            "#!/bin/sh\n[ -f {}/down-r{router} ] && exit 1 || exit 0\n",
            scratch.path().display()
        ),
    )?;
    make_executable(&script)?;
    let mut text = format!(
        "global_defs {{\n  vrrp_version 3\n  vrrp_garp_master_delay 0\n}}\nvrrp_script chk {{\n  script \"{}\"\n  interval 0.2\n  weight -30\n}}\n",
        script.display()
    );
    for (vrid, vip, priorities) in INSTANCES {
        text.push_str(&format!(
            "vrrp_instance VI_{vrid} {{\n  interface eth0\n  virtual_router_id {vrid}\n  priority {}\n  advert_int {ADVERT_INT}\n  virtual_ipaddress {{\n    {vip}/24 dev eth0\n  }}\n  track_script {{\n    chk\n  }}\n}}\n",
            priorities[router - 1]
        ));
    }
    Ok(text)
}

/// Runs the soak for `duration`, with events every 0.5-2.5 s.
pub fn run(duration: Duration, seed: u64) -> Result<SoakReport> {
    let segment = Segment::new(ROUTERS)?;
    let scratch = Scratch::new("soak")?;
    let capture = Capture::start(&segment.switch, BRIDGE, "ip proto 112", scratch.path())?;
    let configs: Vec<String> = (1..=ROUTERS)
        .map(|r| config(r, &scratch))
        .collect::<Result<_>>()?;
    let mut daemons: Vec<Option<Vrrpd>> = Vec::new();
    for (index, config) in configs.iter().enumerate() {
        daemons.push(Some(Vrrpd::start(
            segment.router(index + 1),
            &format!("r{}-0", index + 1),
            config,
            &scratch,
            &[],
        )?));
    }
    let mut link_up = [true; ROUTERS];
    let mut random = Random(seed | 1);
    let mut report = SoakReport::default();
    let master_down = master_down_interval_ns(Version::V3, 80, 10);
    // Addresses follow a transition within the interval plus their installation.
    let settle = Duration::from_nanos(master_down + INTERVAL_NS) + Duration::from_millis(700);
    // A starting daemon first loads and verifies its XDP program, then waits Master_Down.
    let startup = Duration::from_secs(2);
    let started = Instant::now();
    let mut settled_at = started + startup + settle;
    let mut next_event = started + Duration::from_secs(3);
    let mut generation = 0;
    println!("soak: seed {seed}, {} s", duration.as_secs());
    let start = |router: usize, label: String| {
        Vrrpd::start(
            segment.router(router + 1),
            &label,
            &configs[router],
            &scratch,
            &[],
        )
    };
    while started.elapsed() < duration {
        if Instant::now() >= next_event {
            generation += 1;
            let router = random.below(ROUTERS as u64) as usize;
            let host = segment.router(router + 1);
            let label = || format!("r{}-{generation}", router + 1);
            let event = match random.below(4) {
                0 => {
                    if let Some(mut daemon) = daemons[router].take() {
                        let _ = daemon.process.stop(libc::SIGTERM, Duration::from_secs(3));
                        "stop"
                    } else {
                        daemons[router] = Some(start(router, label())?);
                        "start"
                    }
                }
                1 => {
                    if let Some(daemon) = daemons[router].take() {
                        daemon.process.signal(libc::SIGKILL);
                        std::thread::sleep(Duration::from_millis(50));
                        // A crash: restart at once (a supervisor would); stale VIPs are cleaned
                        // by the new process.
                        daemons[router] = Some(start(router, label())?);
                        "crash+restart"
                    } else {
                        daemons[router] = Some(start(router, label())?);
                        "start"
                    }
                }
                2 => {
                    if link_up[router] {
                        segment.cut(host)?;
                    } else {
                        segment.restore(host)?;
                    }
                    link_up[router] = !link_up[router];
                    if link_up[router] {
                        "link restored"
                    } else {
                        "link cut"
                    }
                }
                _ => {
                    let flag = scratch.join(&format!("down-r{}", router + 1));
                    if flag.exists() {
                        std::fs::remove_file(&flag)?;
                        "tracking recovers"
                    } else {
                        std::fs::write(&flag, "")?;
                        "tracking fails"
                    }
                }
            };
            *report.events.entry(event).or_default() += 1;
            let now = Instant::now();
            settled_at = now + settle;
            if matches!(event, "start" | "crash+restart") {
                settled_at += startup;
            }
            next_event = now + Duration::from_millis(500 + random.below(2000));
        }
        if Instant::now() > settled_at {
            report.checks += 1;
            check_addresses(&segment, &daemons, &link_up, started.elapsed(), &mut report);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    report.duration = started.elapsed();
    let frames = capture.finish()?;
    let adverts = wire::adverts(&frames);
    report.adverts = adverts.len();
    check_wire(&adverts, master_down + INTERVAL_NS, &mut report);
    Ok(report)
}

/// Every VIP on exactly one running router with its link up, when one is eligible.
fn check_addresses(
    segment: &Segment,
    daemons: &[Option<Vrrpd>],
    link_up: &[bool; ROUTERS],
    at: Duration,
    report: &mut SoakReport,
) {
    let eligible: Vec<usize> = (0..ROUTERS)
        .filter(|&r| daemons[r].is_some() && link_up[r])
        .collect();
    if eligible.is_empty() {
        return;
    }
    for (_, vip, _) in INSTANCES {
        let holders: Vec<usize> = (0..ROUTERS)
            .filter(|&r| daemons[r].is_some() && segment.router(r + 1).has_address(vip))
            .collect();
        let on_eligible = holders.iter().filter(|r| eligible.contains(r)).count();
        if on_eligible != 1 {
            report.violations.push(format!(
                "{:.1} s: {vip} on routers {:?} (eligible {:?})",
                at.as_secs_f64(),
                holders.iter().map(|r| r + 1).collect::<Vec<_>>(),
                eligible.iter().map(|r| r + 1).collect::<Vec<_>>()
            ));
        }
    }
}

/// Never two routers advertising (priority > 0) for one VRID at once for longer than `bound`.
fn check_wire(adverts: &[wire::SeenAdvert], bound: u64, report: &mut SoakReport) {
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
