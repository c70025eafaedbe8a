//! The live lab (`cargo xtask lab`): the seed's topology in namespaces — DR1 and DR2 running
//! the seed's configurations (VI_1 and the dual-master VI_2, tracking chk_down) and a client —
//! narrated step by step, with every failover measured on the wire and the client's view of it.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use vrrp_common::time::{master_down_interval_ns, skew_time_ns};
use vrrp_common::wire::vrrp::Version;

use vrrp_harness::capture::Capture;
use vrrp_harness::daemons::{
    Keepalived, Vrrpd, seed_config, write_chk_down, write_notify_recorder,
};
use vrrp_harness::pinger::Pinger;
use vrrp_harness::process::{Scratch, Spawned};
use vrrp_harness::topology::{BRIDGE, Segment};
use vrrp_harness::wire;

/// Set by the lab binary's SIGINT/SIGTERM handler; every wait checks it.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

pub const PREFIX: &str = "vrrplab-";
pub const SCRATCH: &str = "/tmp/vrrp-lab";

#[derive(Clone, Debug)]
pub struct LabOptions {
    /// Leave everything running at the end.
    pub keep: bool,
    /// Run DR2 as keepalived.
    pub peer_keepalived: bool,
    /// Advert interval in seconds: 1 (VRRPv2, the seed's) or below 1 (VRRPv3).
    pub advert_int: f64,
    pub colour: bool,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            keep: false,
            peer_keepalived: false,
            advert_int: 1.0,
            colour: false,
        }
    }
}

/// One row of the final table.
#[derive(Clone, Debug)]
pub struct Row {
    pub event: String,
    pub expected: Duration,
    pub measured: Duration,
    pub client_gap: Duration,
}

impl Row {
    /// Distance from the RFC's figure (positive: later).
    pub fn excess(&self) -> f64 {
        self.measured.as_secs_f64() - self.expected.as_secs_f64()
    }
}

#[derive(Clone, Debug, Default)]
pub struct LabReport {
    pub rows: Vec<Row>,
    /// Where the VIPs were at the start: (router, instance, address/prefix, label).
    pub vips: Vec<(String, String, String, String)>,
}

/// A router of the lab: vrrpd, or keepalived as DR2's peer.
enum Router {
    Vrrpd(Vrrpd),
    Keepalived(Keepalived),
}

impl Router {
    fn process(&mut self) -> &mut Spawned {
        match self {
            Router::Vrrpd(v) => &mut v.process,
            Router::Keepalived(k) => &mut k.process,
        }
    }

    fn log(&self) -> String {
        match self {
            Router::Vrrpd(v) => v.log(),
            Router::Keepalived(k) => k.log(),
        }
    }

    fn wait_for(&mut self, needle: &str) -> Result<()> {
        let started = Instant::now();
        while !self.log().contains(needle) {
            check_interrupt()?;
            if started.elapsed() > Duration::from_secs(20) {
                bail!(
                    "timed out waiting for {needle:?}; log:\n{}",
                    vrrp_harness::process::tail(&self.log(), 20)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Waits for `needle` to appear `count` times.
    fn wait_for_count(&mut self, needle: &str, count: usize) -> Result<()> {
        let started = Instant::now();
        while self.log().matches(needle).count() < count {
            check_interrupt()?;
            if started.elapsed() > Duration::from_secs(20) {
                bail!("timed out waiting for {needle:?} x{count}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }
}

fn check_interrupt() -> Result<()> {
    if INTERRUPTED.load(Ordering::Relaxed) {
        bail!("interrupted");
    }
    Ok(())
}

/// Sleeps, but gives up as soon as the lab is interrupted.
fn pause(duration: Duration) -> Result<()> {
    let until = Instant::now() + duration;
    while Instant::now() < until {
        check_interrupt()?;
        std::thread::sleep(
            Duration::from_millis(20).min(until.saturating_duration_since(Instant::now())),
        );
    }
    Ok(())
}

/// Output with optional colour.
struct Narrator {
    colour: bool,
}

impl Narrator {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn step(&self, text: &str) {
        println!("\n{} {}", self.paint("1;36", "==>"), self.paint("1", text));
        let _ = std::io::stdout().flush();
    }

    fn say(&self, text: &str) {
        println!("    {text}");
        let _ = std::io::stdout().flush();
    }

    fn good(&self, text: &str) {
        println!("    {} {text}", self.paint("32", "✓"));
        let _ = std::io::stdout().flush();
    }
}

/// The lab's configuration of one router: the seed's files, with VI_1 tracking chk_down
/// (the walkthrough's step 5), a `notify` recorder, and for v3 the interval changed.
fn router_config(scratch: &Scratch, dr: u8, options: &LabOptions) -> Result<String> {
    let base = seed_config(&format!("dr{dr}-keepalived.conf"), scratch)?;
    let vi2 = seed_config(&format!("dr{dr}-dual-master-vi2.conf"), scratch)?;
    let notify = write_notify_recorder(scratch, &format!("notify-dr{dr}.sh"))?;
    let mut config = base;
    if dr == 1 {
        config = config.replacen(
            "    virtual_ipaddress {",
            "    track_script {\n        chk_down\n    }\n    virtual_ipaddress {",
            1,
        );
        config.push_str(&vi2);
    } else {
        // DR2's fragment tracks chk_down but does not define it; the lab gives DR2 the script
        // too (always succeeding: DR2 has no `down` file of its own).
        let never_down = scratch.write("chk_down_dr2.sh", "#!/bin/sh\nexit 0\n")?;
        vrrp_harness::daemons::make_executable(&never_down)?;
        config.push_str(&format!(
            "vrrp_script chk_down {{\n    script \"{}\"\n    interval 1\n    weight -5\n}}\n",
            never_down.display()
        ));
        config.push_str(&vi2);
    }
    config = config.replace(
        "    virtual_ipaddress {",
        &format!("    notify {}\n    virtual_ipaddress {{", notify.display()),
    );
    if options.advert_int < 1.0 {
        config = config
            .replace(
                "advert_int 1",
                &format!("advert_int {}", options.advert_int),
            )
            .replacen("global_defs {", "global_defs {\n   vrrp_version 3", 1);
        // VRRPv3 has no authentication.
        while let Some(start) = config.find("    authentication {") {
            let Some(end) = config[start..].find("}\n") else {
                break;
            };
            config.replace_range(start..start + end + 2, "");
        }
    }
    Ok(config)
}

fn version(options: &LabOptions) -> Version {
    if options.advert_int < 1.0 {
        Version::V3
    } else {
        Version::V2
    }
}

fn interval_cs(options: &LabOptions) -> u16 {
    (options.advert_int * 100.0).round() as u16
}

fn skew(options: &LabOptions, priority: u8) -> Duration {
    Duration::from_nanos(skew_time_ns(
        version(options),
        priority,
        interval_cs(options),
    ))
}

fn master_down(options: &LabOptions, priority: u8) -> Duration {
    Duration::from_nanos(master_down_interval_ns(
        version(options),
        priority,
        interval_cs(options),
    ))
}

fn dr_ip(dr: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + dr))
}

/// The UTC timestamp at the start of a tracing log line, in nanoseconds since the epoch.
fn log_time(line: &str) -> Option<u64> {
    let stamp = line.split_whitespace().next()?.strip_suffix('Z')?;
    let (date, time) = stamp.split_once('T')?;
    let mut date = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut hms = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (hms.next()??, hms.next()??, hms.next()??);
    let nanos: i64 = format!("{fraction:0<9}")[..9].parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    u64::try_from(seconds * 1_000_000_000 + nanos).ok()
}

/// The time of the last log line containing `needle`.
fn last_log_time(log: &str, needle: &str) -> Option<u64> {
    log.lines()
        .filter(|l| l.contains(needle))
        .filter_map(log_time)
        .next_back()
}

/// CLOCK_REALTIME now, in nanoseconds (the clock of captures and log lines).
fn wall_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

struct Lab {
    options: LabOptions,
    narrator: Narrator,
    segment: Segment,
    scratch: Scratch,
    capture: Capture,
    dr1: Router,
    dr2: Router,
    pinger: Pinger,
    dr1_config: String,
    notify_seen: usize,
    report: LabReport,
}

/// Runs the whole lab and returns its table (also printed).
pub fn run(options: LabOptions) -> Result<LabReport> {
    let narrator = Narrator {
        colour: options.colour,
    };
    narrator.step("Building the seed's topology in network namespaces");
    let segment = Segment::with_prefix(PREFIX, 2)
        .context("creating the namespaces (a kept lab? run `cargo xtask lab --down`)")?;
    let scratch = Scratch::at(Path::new(SCRATCH))?;
    write_chk_down(&scratch)?;
    for (name, host) in [
        ("DR1", segment.router(1)),
        ("DR2", segment.router(2)),
        ("client", &segment.client),
    ] {
        narrator.say(&format!(
            "{name:<7} netns {:<14} eth0 {}/24",
            host.ns.name(),
            host.ipv4
        ));
    }
    narrator.say(&format!(
        "switch  netns {:<14} bridge {BRIDGE}",
        segment.switch.name()
    ));
    let dr1_config = router_config(&scratch, 1, &options)?;
    let dr2_config = router_config(&scratch, 2, &options)?;
    let capture = Capture::start(&segment.switch, BRIDGE, "", scratch.path())?;
    let peer = if options.peer_keepalived {
        "keepalived 2.2.7"
    } else {
        "vrrpd"
    };
    narrator.step(&format!(
        "Starting DR1 (vrrpd) and DR2 ({peer}) with the seed's configurations"
    ));
    let mut dr1 = Router::Vrrpd(Vrrpd::start(
        segment.router(1),
        "dr1",
        &dr1_config,
        &scratch,
        &[],
    )?);
    dr1.wait_for("(VI_1) Entering MASTER STATE")?;
    let dr2 = if options.peer_keepalived {
        Router::Keepalived(Keepalived::start(
            segment.router(2),
            "dr2",
            &dr2_config,
            &scratch,
        )?)
    } else {
        Router::Vrrpd(Vrrpd::start(
            segment.router(2),
            "dr2",
            &dr2_config,
            &scratch,
            &[],
        )?)
    };
    let pinger = Pinger::start(
        &segment.client.ns,
        Ipv4Addr::new(192, 0, 2, 99),
        Duration::from_millis(10),
        Duration::from_secs(600),
    )?;
    let mut lab = Lab {
        options,
        narrator,
        segment,
        scratch,
        capture,
        dr1,
        dr2,
        pinger,
        dr1_config,
        notify_seen: 0,
        report: LabReport::default(),
    };
    let result = lab.walkthrough();
    lab.finish(result)
}

impl Lab {
    fn walkthrough(&mut self) -> Result<()> {
        self.dr2.wait_for("(VI_2) Entering MASTER STATE")?;
        self.dr1.wait_for("(VI_2) Entering BACKUP STATE")?;
        pause(self.advert_pause())?;
        self.show_roles()?;
        self.show_adverts()?;
        self.stop_and_return()?;
        self.chk_down()?;
        self.cut_link()?;
        Ok(())
    }

    fn advert_pause(&self) -> Duration {
        Duration::from_secs_f64((self.options.advert_int * 2.5).max(0.3))
    }

    /// Who is master of each instance, and where each VIP lives (with its label).
    fn show_roles(&mut self) -> Result<()> {
        self.narrator.step("Who is master, and where the VIPs live");
        for (name, host) in [
            ("DR1", self.segment.router(1)),
            ("DR2", self.segment.router(2)),
        ] {
            for (address, label) in host.ipv4_labels()? {
                let instance = if address.starts_with("192.0.2.99/") {
                    "VI_1"
                } else if address.starts_with("192.0.2.98/") {
                    "VI_2"
                } else {
                    continue;
                };
                self.narrator.good(&format!(
                    "{name} is MASTER of {instance}: {address} label {label}"
                ));
                self.report
                    .vips
                    .push((name.into(), instance.into(), address, label));
            }
        }
        self.print_notifications()
    }

    /// A few adverts as tcpdump shows them.
    fn show_adverts(&mut self) -> Result<()> {
        self.narrator
            .step("The adverts on the wire (tcpdump -r, from the switch)");
        let output = std::process::Command::new("tcpdump")
            .args(["-n", "-r"])
            .arg(self.capture.path())
            .args(["-c", "4", "ip", "proto", "112"])
            .output()?;
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            self.narrator
                .say(line.split_once(' ').map_or(line, |(_, rest)| rest));
        }
        Ok(())
    }

    /// Prints the notify lines written since the last call.
    fn print_notifications(&mut self) -> Result<()> {
        let text = std::fs::read_to_string(self.scratch.join("notify.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for line in &lines[self.notify_seen.min(lines.len())..] {
            let (script, args) = line.split_once(' ').unwrap_or((line, ""));
            let router = script
                .trim_start_matches("notify-")
                .trim_end_matches(".sh")
                .to_uppercase();
            self.narrator.say(&format!("notify ({router}): {args}"));
        }
        self.notify_seen = lines.len();
        Ok(())
    }

    fn client_offset(&self) -> Duration {
        self.pinger.started.elapsed()
    }

    fn adverts(&self) -> Result<Vec<wire::SeenAdvert>> {
        Ok(wire::adverts(&self.capture.snapshot()?))
    }

    /// Polls the capture until `find` returns a time. `settled_after` makes it wait first
    /// until the capture holds an advert later than that time, so that a "last before" query
    /// sees everything before it.
    fn wait_on_wire(
        &self,
        what: &str,
        settled_after: Option<u64>,
        find: impl Fn(&[wire::SeenAdvert]) -> Option<u64>,
    ) -> Result<u64> {
        let started = Instant::now();
        loop {
            check_interrupt()?;
            let adverts = self.adverts()?;
            let settled =
                settled_after.is_none_or(|t| adverts.iter().any(|a| a.time_ns > t + 5_000_000));
            if settled && let Some(time) = find(&adverts) {
                return Ok(time);
            }
            if started.elapsed() > Duration::from_secs(20) {
                bail!("{what} not seen on the wire");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn record(
        &mut self,
        event: &str,
        expected: Duration,
        from_ns: u64,
        to_ns: u64,
        client_from: Duration,
    ) -> Result<()> {
        pause(Duration::from_millis(300))?;
        let measured = Duration::from_nanos(to_ns.saturating_sub(from_ns));
        let report = self.pinger.snapshot();
        let client_gap = report.max_gap_between(client_from, self.client_offset());
        self.narrator.good(&format!(
            "{event}: {:.4} s on the wire (RFC: {:.4} s); the client's longest gap: {:.3} s",
            measured.as_secs_f64(),
            expected.as_secs_f64(),
            client_gap.as_secs_f64()
        ));
        self.report.rows.push(Row {
            event: event.to_string(),
            expected,
            measured,
            client_gap,
        });
        self.print_notifications()
    }

    /// Stop DR1 (priority 0): DR2 takes over after Skew_Time; DR1 back: it preempts.
    fn stop_and_return(&mut self) -> Result<()> {
        self.narrator
            .step("Stopping DR1: it sends priority 0, DR2 takes over after Skew_Time");
        let client_from = self.client_offset();
        let stopped = wall_now();
        self.dr1
            .process()
            .stop(libc::SIGTERM, Duration::from_secs(3))?;
        let resign = self.wait_on_wire("DR1's priority 0", None, |a| {
            wire::from(a, dr_ip(1), 51)
                .iter()
                .find(|x| x.priority == 0 && x.time_ns >= stopped)
                .map(|x| x.time_ns)
        })?;
        let takeover = self.wait_on_wire("DR2's first advert", None, |a| {
            wire::from(a, dr_ip(2), 51)
                .iter()
                .find(|x| x.time_ns > resign)
                .map(|x| x.time_ns)
        })?;
        self.narrator
            .say("DR1: '(VI_1) sent 0 priority'; DR2: '(VI_1) Entering MASTER STATE'");
        self.record(
            "stop DR1 (priority 0)",
            skew(&self.options, 96),
            resign,
            takeover,
            client_from,
        )?;

        self.narrator
            .step("DR1 comes back: it preempts after its Master_Down_Interval");
        let client_from = self.client_offset();
        let mut dr1 = Vrrpd::start(
            self.segment.router(1),
            "dr1-back",
            &self.dr1_config,
            &self.scratch,
            &[],
        )?;
        dr1.wait_for("(VI_1) Entering BACKUP STATE", Duration::from_secs(10))?;
        let started = last_log_time(&dr1.log(), "(VI_1) Entering BACKUP STATE")
            .context("DR1's start in its log")?;
        self.dr1 = Router::Vrrpd(dr1);
        let first = self.wait_on_wire("DR1's first advert", None, |a| {
            wire::from(a, dr_ip(1), 51)
                .iter()
                .find(|x| x.time_ns > started && x.priority == 100)
                .map(|x| x.time_ns)
        })?;
        self.dr2.wait_for_count("(VI_1) Entering BACKUP STATE", 2)?;
        self.record(
            "DR1 back (preemption)",
            master_down(&self.options, 100),
            started,
            first,
            client_from,
        )
    }

    /// The seed's chk_down: `touch down` lowers DR1 by 5 below DR2; removing it raises it back.
    fn chk_down(&mut self) -> Result<()> {
        self.narrator
            .step("touch down: chk_down fails, weight -5 takes DR1 to 95 < 96");
        let client_from = self.client_offset();
        let touched = wall_now();
        std::fs::write(self.scratch.join("down"), "")?;
        self.dr1
            .wait_for("(VI_1) Changing effective priority from 100 to 95")?;
        let lowered = last_log_time(
            &self.dr1.log(),
            "(VI_1) Changing effective priority from 100 to 95",
        )
        .unwrap_or(touched);
        let last = self.wait_on_wire("DR1's last priority-100 advert", Some(lowered), |a| {
            wire::from(a, dr_ip(1), 51)
                .iter()
                .filter(|x| x.priority == 100 && x.time_ns <= lowered)
                .map(|x| x.time_ns)
                .max()
        })?;
        let takeover = self.wait_on_wire("DR2's takeover", None, |a| {
            wire::from(a, dr_ip(2), 51)
                .iter()
                .find(|x| x.time_ns > lowered)
                .map(|x| x.time_ns)
        })?;
        self.record(
            "touch down (weight -5)",
            master_down(&self.options, 96),
            last,
            takeover,
            client_from,
        )?;

        self.narrator
            .step("rm down: DR1 is back at 100 and preempts");
        let client_from = self.client_offset();
        std::fs::remove_file(self.scratch.join("down"))?;
        self.dr1
            .wait_for("(VI_1) Changing effective priority from 95 to 100")?;
        let raised = last_log_time(
            &self.dr1.log(),
            "(VI_1) Changing effective priority from 95 to 100",
        )
        .context("log")?;
        let first = self.wait_on_wire("DR1's takeover", None, |a| {
            wire::from(a, dr_ip(1), 51)
                .iter()
                .find(|x| x.time_ns > raised && x.priority == 100)
                .map(|x| x.time_ns)
        })?;
        let last_accepted = self.wait_on_wire("DR2's last advert before", Some(raised), |a| {
            wire::from(a, dr_ip(2), 51)
                .iter()
                .filter(|x| x.time_ns <= raised)
                .map(|x| x.time_ns)
                .max()
        })?;
        self.record(
            "rm down (preemption)",
            master_down(&self.options, 100),
            last_accepted,
            first,
            client_from,
        )
    }

    /// A crash: DR1's link is cut; DR2 takes over at Master_Down_Interval.
    fn cut_link(&mut self) -> Result<()> {
        self.narrator
            .step("Cutting DR1's link (a crash): DR2 takes over at Master_Down_Interval");
        pause(self.advert_pause())?;
        let client_from = self.client_offset();
        let cut = wall_now();
        self.segment.cut(self.segment.router(1))?;
        let takeover = self.wait_on_wire("DR2's takeover", None, |a| {
            wire::from(a, dr_ip(2), 51)
                .iter()
                .find(|x| x.time_ns > cut)
                .map(|x| x.time_ns)
        })?;
        // DR1's last advert that made it out before the cut (some may follow `cut` while the
        // port goes down).
        let last = self.wait_on_wire("DR1's last advert", None, |a| {
            wire::from(a, dr_ip(1), 51)
                .iter()
                .filter(|x| x.time_ns < takeover)
                .map(|x| x.time_ns)
                .max()
        })?;
        self.record(
            "cut DR1's link (crash)",
            master_down(&self.options, 96),
            last,
            takeover,
            client_from,
        )?;
        self.narrator
            .step("Restoring DR1's link: DR1 leaves FAULT and preempts");
        self.segment.restore(self.segment.router(1))?;
        self.dr2.wait_for_count("(VI_1) Entering BACKUP STATE", 4)?;
        self.narrator.good("DR1 is master of VI_1 again");
        self.print_notifications()
    }

    fn finish(mut self, result: Result<()>) -> Result<LabReport> {
        if let Err(error) = &result {
            self.narrator
                .step(&format!("The lab stopped early: {error:#}"));
        }
        print_table(&self.narrator, &self.report, &self.options);
        if self.options.keep && result.is_ok() {
            self.segment.persist();
            self.scratch.keep();
            let Lab { dr1, dr2, .. } = self;
            for router in [dr1, dr2] {
                match router {
                    Router::Vrrpd(v) => v.process.detach(),
                    Router::Keepalived(k) => k.process.detach(),
                }
            }
            print_cheat_sheet();
        } else {
            self.narrator.step("Tearing the lab down");
        }
        result.map(|()| self.report.clone())
    }
}

fn print_table(narrator: &Narrator, report: &LabReport, options: &LabOptions) {
    narrator.step(&format!(
        "Summary ({}, advert every {} s)",
        if options.advert_int < 1.0 {
            "VRRPv3"
        } else {
            "VRRPv2, PASS auth"
        },
        options.advert_int
    ));
    println!(
        "    {:<28} {:>14} {:>14} {:>10} {:>12}",
        "event", "RFC expected", "measured", "excess", "client gap"
    );
    for row in &report.rows {
        println!(
            "    {:<28} {:>12.4} s {:>12.4} s {:>7.2} ms {:>10.3} s",
            row.event,
            row.expected.as_secs_f64(),
            row.measured.as_secs_f64(),
            row.excess() * 1e3,
            row.client_gap.as_secs_f64()
        );
    }
}

fn print_cheat_sheet() {
    let vrrpd = vrrp_harness::daemons::vrrpd_binary();
    let vrrpd = vrrpd.display();
    println!(
        "
The lab keeps running. Explore it:
    ip netns exec {PREFIX}r1 {vrrpd} status --control {SCRATCH}/dr1-back.sock
    ip netns exec {PREFIX}r2 {vrrpd} stats --control {SCRATCH}/dr2.sock
    tail -f {SCRATCH}/dr1-back.log {SCRATCH}/dr2.log
    ip netns exec {PREFIX}sw tcpdump -ni br0 'ip proto 112 or arp'
    ip -n {PREFIX}r1 addr show dev eth0
    touch {SCRATCH}/down        # chk_down fails: DR1 drops to 95
Tear it down:
    cargo xtask lab --down"
    );
}

/// Removes a kept lab: its processes and namespaces.
pub fn teardown() -> Result<()> {
    for name in vrrp_harness::netns::list_namespaces()
        .into_iter()
        .filter(|n| n.starts_with(PREFIX))
    {
        let output = std::process::Command::new("ip")
            .args(["netns", "pids", &name])
            .output()?;
        for pid in String::from_utf8_lossy(&output.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<i32>() {
                // SAFETY: signalling a process of the kept lab.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
        std::thread::sleep(Duration::from_millis(300));
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &name])
            .status();
        println!("removed {name}");
    }
    let _ = std::fs::remove_dir_all(SCRATCH);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_times_parse() {
        assert_eq!(
            log_time("1970-01-01T00:00:01.5Z  INFO x"),
            Some(1_500_000_000)
        );
        assert_eq!(
            log_time("2026-11-25T16:27:37.850823Z  INFO x"),
            Some(1_795_624_057_850_823_000)
        );
    }
}
