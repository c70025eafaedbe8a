//! The benchmark's results: rows per scenario, rendered as the BENCHMARKS.md tables and a PNG
//! plot of failover precision.

use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use plotters::prelude::*;

use super::BenchOptions;
use super::daemon::Implementation;
use super::scenarios::{OTHER_CPU, ROUTER_CPU};
use super::takeover::Parts;

/// The `p`th percentile (nearest rank) of `values`; NaN for none.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NAN, f64::max)
}

pub struct FailoverRow {
    pub implementation: Implementation,
    pub condition: String,
    pub excess_ms: Vec<f64>,
    /// Per takeover, the longest time a client pinging the VIP every 1 ms went without a reply.
    pub client_gap_ms: Vec<f64>,
    /// vrrpd's takeovers split into where their excess went (empty for the others).
    pub takeover_parts: Vec<Parts>,
    pub elapsed: Duration,
}

pub struct FloodRow {
    pub kind: String,
    pub implementation: Implementation,
    pub rate: f64,
    pub false_takeovers_per_minute: f64,
    pub master_adverts: u64,
    pub master_adverts_lost: Option<u64>,
    pub socket_drops: u64,
    pub cpu_seconds_per_million: f64,
}

pub struct ArpRow {
    pub responder: String,
    pub requests: u64,
    pub replies: u64,
    pub replies_per_second: f64,
    pub cpu_seconds_per_million_replies: f64,
    /// Softirq time (the receive path, where both responders run) per million replies.
    pub softirq_seconds_per_million_replies: f64,
    pub latency_p50_us: f64,
    pub latency_p99_us: f64,
}

/// The ARP flood with the XDP program in driver mode, against the kernel on the same setup
/// (issue 20, target 6).
pub struct DriverArpRow {
    pub implementation: Implementation,
    pub requests: u64,
    pub replies: u64,
    pub replies_per_second: f64,
    /// Busy time of the router's pinned CPU per reply.
    pub router_cpu_us_per_reply: f64,
    /// Of which softirq.
    pub router_softirq_us_per_reply: f64,
    /// How the requests entered the router's link.
    pub injection: vrrp_harness::loadgen::Injection,
}

/// A spoofed-source flood (issue 20, target 6).
pub struct SpoofedRow {
    pub implementation: Implementation,
    pub kind: &'static str,
    pub requests: u64,
    pub requests_per_second: f64,
    /// The most neighbour entries of the flood's family the router held at one time.
    pub neighbours_most: usize,
    /// "neighbor table overflow!" lines the kernel logged during the flood.
    pub overflows_logged: Option<usize>,
    /// A client new to the router, pinging the VIP during the flood.
    pub pings_sent: u64,
    pub pings_answered: u64,
}

pub struct ScaleRow {
    pub implementation: Implementation,
    /// How many instances on how many interfaces.
    pub setup: String,
    pub converge: Option<Duration>,
    pub vips_up: usize,
    pub false_transitions: usize,
    /// Frames the host's receive backlogs dropped in the window (all CPUs, /proc/net/softnet_stat).
    pub backlog_drops: u64,
    pub window: Duration,
    pub master_cpu_percent: f64,
    pub backup_cpu_percent: f64,
    /// The master's CPU time over the packets it sent in the window (its adverts).
    pub master_cpu_us_per_advert: f64,
    /// Proportional set size summed over the daemon's processes (issue 20, target 5).
    pub master_pss_kib: u64,
    pub backup_pss_kib: u64,
}

/// One change's figures.
pub struct ChangeRow {
    pub implementation: Implementation,
    /// Version and advert interval.
    pub pace: &'static str,
    pub change: &'static str,
    /// The backup entered MASTER.
    pub takeovers: usize,
    /// The master entered MASTER again (a re-election, or its return after a restart).
    pub master_reelections: usize,
    /// Both routers advertising as master at once.
    pub dual_master_ms: f64,
    /// The longest gap between the master's (non-zero priority) adverts.
    pub longest_gap_ms: f64,
    /// The longest gap between the replies to a client pinging the VIP every 1 ms.
    pub client_gap_ms: f64,
}

/// One implementation's start-up runs.
#[derive(Clone, Debug)]
pub struct StartupRow {
    pub implementation: Implementation,
    /// Start to the master's first advert, less Master_Down_Interval.
    pub to_first_advert_ms: Vec<f64>,
    /// Start to a joining router's BACKUP.
    pub to_backup_ms: Vec<f64>,
    /// vrrpd (XDP): start to the program validating the joining router's adverts (it loads
    /// behind the socket path); empty for the others.
    pub to_xdp_ms: Vec<f64>,
}

pub struct Report {
    command: String,
    quick: bool,
    failover: Vec<FailoverRow>,
    handover: Vec<(Implementation, Vec<f64>)>,
    garp: Vec<(Implementation, Vec<f64>)>,
    floods: Vec<FloodRow>,
    arp: Vec<ArpRow>,
    arp_driver: Vec<DriverArpRow>,
    spoofed: Vec<SpoofedRow>,
    scale: Vec<ScaleRow>,
    startup: Vec<StartupRow>,
    changes: Vec<ChangeRow>,
}

fn ms(value: f64) -> String {
    if value.is_nan() {
        "-".into()
    } else {
        format!("{value:.3}")
    }
}

impl Report {
    pub fn new(options: &BenchOptions) -> Report {
        Report {
            command: options.command.clone(),
            quick: options.quick,
            failover: Vec::new(),
            handover: Vec::new(),
            garp: Vec::new(),
            floods: Vec::new(),
            arp: Vec::new(),
            arp_driver: Vec::new(),
            spoofed: Vec::new(),
            scale: Vec::new(),
            startup: Vec::new(),
            changes: Vec::new(),
        }
    }

    pub fn failover(&mut self, row: FailoverRow) {
        println!(
            "failover, {} {}: {} samples, p50 {} ms",
            row.implementation.name(),
            row.condition,
            row.excess_ms.len(),
            ms(percentile(&row.excess_ms, 50.0))
        );
        self.failover.push(row);
    }

    pub fn handover(&mut self, implementation: Implementation, excess_ms: Vec<f64>) {
        self.handover.push((implementation, excess_ms));
    }

    pub fn garp(&mut self, implementation: Implementation, delay_ms: Vec<f64>) {
        self.garp.push((implementation, delay_ms));
    }

    pub fn flood(&mut self, row: FloodRow) {
        println!(
            "flood {}, {}: {:.0} pps, {:.1} false takeovers/min",
            row.kind,
            row.implementation.name(),
            row.rate,
            row.false_takeovers_per_minute
        );
        self.floods.push(row);
    }

    pub fn arp(&mut self, row: ArpRow) {
        self.arp.push(row);
    }

    pub fn arp_driver(&mut self, row: DriverArpRow) {
        println!(
            "ARP in driver mode, {}: {:.2} µs of the router's CPU per reply",
            row.implementation.name(),
            row.router_cpu_us_per_reply
        );
        self.arp_driver.push(row);
    }

    pub fn spoofed(&mut self, row: SpoofedRow) {
        println!(
            "spoofed {}, {}: {} neighbours at most, {}/{} pings answered",
            row.implementation.name(),
            row.kind,
            row.neighbours_most,
            row.pings_answered,
            row.pings_sent
        );
        self.spoofed.push(row);
    }

    pub fn spoofed_rows(&self) -> &[SpoofedRow] {
        &self.spoofed
    }

    pub fn scale(&mut self, row: ScaleRow) {
        self.scale.push(row);
    }

    pub fn scale_rows(&self) -> &[ScaleRow] {
        &self.scale
    }

    pub fn startup(&mut self, row: StartupRow) {
        self.startup.push(row);
    }

    pub fn change(&mut self, row: ChangeRow) {
        self.changes.push(row);
    }

    pub fn arp_rows(&self) -> &[ArpRow] {
        &self.arp
    }

    pub fn arp_driver_rows(&self) -> &[DriverArpRow] {
        &self.arp_driver
    }

    pub fn startup_rows(&self) -> &[StartupRow] {
        &self.startup
    }

    pub fn change_rows(&self) -> &[ChangeRow] {
        &self.changes
    }

    pub fn failover_rows(&self) -> &[FailoverRow] {
        &self.failover
    }

    pub fn flood_rows(&self) -> &[FloodRow] {
        &self.floods
    }

    /// The profile of vrrpd's takeovers: the excess split where it goes (`takeover`).
    fn write_takeover_parts(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\n### Where vrrpd's excess goes\n\nEach vrrpd takeover above, split into five parts that add up to its excess (vrrpd logs its deadline and its send on CLOCK_MONOTONIC, the capture gives the wire; lab/src/bench/takeover.rs): receive = the master's last advert on the wire → the backup's record of it (the deadline less Master_Down_Interval); wake = the deadline → the protocol thread seeing it due; decide = seen due → the advert's send system call started (the record's last look, the state machine, the advert stamped); send = the system call, started → returned (on veth and a bridge the kernel carries the frame through the switch within it); wire = the send returned → the advert at the switch's capture (negative: captured before the system call returned). p50 / p99 in µs, and the slowest takeover's parts.\n"
        );
        let _ = writeln!(
            out,
            "| implementation | condition | takeovers | excess | receive | wake | decide | send | wire | slowest: excess = receive + wake + decide + send + wire |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
        let us = |value: f64| format!("{:.0}", value * 1e3);
        for row in self
            .failover
            .iter()
            .filter(|r| !r.takeover_parts.is_empty())
        {
            let parts = &row.takeover_parts;
            let column = |part: fn(&Parts) -> f64| {
                let values: Vec<f64> = parts.iter().map(part).collect();
                format!(
                    "{} / {}",
                    us(percentile(&values, 50.0)),
                    us(percentile(&values, 99.0))
                )
            };
            let slowest = parts
                .iter()
                .max_by(|a, b| a.excess_ms().total_cmp(&b.excess_ms()))
                .map(|p| {
                    format!(
                        "{} = {} + {} + {} + {} + {}",
                        us(p.excess_ms()),
                        us(p.receive_ms),
                        us(p.wake_ms),
                        us(p.decide_ms),
                        us(p.send_ms),
                        us(p.to_wire_ms)
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                row.implementation.name(),
                row.condition,
                parts.len(),
                column(Parts::excess_ms),
                column(|p| p.receive_ms),
                column(|p| p.wake_ms),
                column(|p| p.decide_ms),
                column(|p| p.send_ms),
                column(|p| p.to_wire_ms),
                slowest
            );
        }
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "## Failover precision (v3, 10 ms adverts, backup priority 96, link cut)\n"
        );
        let _ = writeln!(
            out,
            "Excess = backup's first advert − master's last advert − Master_Down_Interval (36.25 ms), on the wire. Client gap: the longest time a client pinging the VIP every 1 ms went without a reply across the takeover (issue 20's target: Master_Down_Interval + 1 ms = 37.25 ms). FRR computes Skew_Time in whole centiseconds (vrrpd/vrrp.c, vrrp_recalculate_timers: (256 − 96) × 1 / 256 = 0), so its Master_Down_Interval is 30 ms, its Skew_Time 0, and its rows measure the excess over those. FRR's client gap is far below its Master_Down_Interval, so it says little of its takeover: FRR keeps the VIP configured on the backup's macvlan (in protodown) too, and the pings the bridge floods once the master's port is down are answered there; how, on veth, is not investigated.\n"
        );
        let _ = writeln!(
            out,
            "| implementation | condition | runs | p50 (ms) | p99 (ms) | max (ms) | client gap p50 (ms) | client gap max (ms) |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
        for row in &self.failover {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                row.implementation.name(),
                row.condition,
                row.excess_ms.len(),
                ms(percentile(&row.excess_ms, 50.0)),
                ms(percentile(&row.excess_ms, 99.0)),
                ms(max(&row.excess_ms)),
                ms(percentile(&row.client_gap_ms, 50.0)),
                ms(max(&row.client_gap_ms)),
            );
        }
        self.write_takeover_parts(&mut out);
        let _ = writeln!(
            out,
            "\n## Planned handover (priority 0 → new master's first advert − Skew_Time 6.25 ms)\n"
        );
        let _ = writeln!(out, "| implementation | runs | p50 (ms) | p99 (ms) |");
        let _ = writeln!(out, "|---|---|---|---|");
        for (implementation, excess) in &self.handover {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                implementation.name(),
                excess.len(),
                ms(percentile(excess, 50.0)),
                ms(percentile(excess, 99.0))
            );
        }
        let _ = writeln!(
            out,
            "\n## First gratuitous ARP after takeover (after the backup's first advert)\n"
        );
        let _ = writeln!(out, "| implementation | runs | p50 (ms) | p99 (ms) |");
        let _ = writeln!(out, "|---|---|---|---|");
        for (implementation, delay) in &self.garp {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                implementation.name(),
                delay.len(),
                ms(percentile(delay, 50.0)),
                ms(percentile(delay, 99.0))
            );
        }
        let _ = writeln!(
            out,
            "\n## Flood resistance (master alive; the backup is measured)\n"
        );
        let _ = writeln!(
            out,
            "| flood | implementation | rate (pps) | false takeovers / min | master adverts | lost | socket drops | backup CPU s / M frames |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
        for row in &self.floods {
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {:.1} | {} | {} | {} | {:.3} |",
                row.kind,
                row.implementation.name(),
                row.rate,
                row.false_takeovers_per_minute,
                row.master_adverts,
                row.master_adverts_lost
                    .map_or("n/a".into(), |l| l.to_string()),
                row.socket_drops,
                row.cpu_seconds_per_million,
            );
        }
        let _ = writeln!(out, "\n## ARP request flood for a VIP\n");
        let _ = writeln!(
            out,
            "Rounds alternating between the responders (vrrpd's XDP program; the kernel, under \
             vrrpd in socket mode; the kernel on FRR's macvlan), totals over all of them. The load \
             generator saturates a core first, and on veth the whole receive path (bridge, the \
             responder, the reply's way back, the client) runs in softirq on the sender's CPU: \
             the machine's cost per reply is mostly that shared path, so it differs little \
             between responders even where the responders' own work differs more (a perf \
             profile of the flood shows that work apart).\n"
        );
        let _ = writeln!(
            out,
            "| responder | requests | replies | replies / s | machine CPU s / M replies | softirq s / M replies | latency p50 (µs) | p99 (µs) |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
        for row in &self.arp {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.0} | {:.3} | {:.3} | {:.0} | {:.0} |",
                row.responder,
                row.requests,
                row.replies,
                row.replies_per_second,
                row.cpu_seconds_per_million_replies,
                row.softirq_seconds_per_million_replies,
                row.latency_p50_us,
                row.latency_p99_us
            );
        }
        let _ = writeln!(
            out,
            "\n## ARP request flood in driver mode: the router's own CPU\n"
        );
        let live_frames = self
            .arp_driver
            .iter()
            .all(|row| row.injection == vrrp_harness::loadgen::Injection::XdpLiveFrames);
        let requests = if live_frames {
            "The requests reach the router's driver as a NIC's would, as frames with no socket \
             buffer: an XDP program run in BPF_PROG_TEST_RUN's live-frames mode transmits them \
             on the switch's end of the router's link (a socket's frames reach a veth's \
             driver-mode program as socket buffers that veth copies first, a cost no NIC has)."
        } else {
            "This kernel refused BPF_PROG_TEST_RUN's live-frames mode (EPERM), so the requests \
             are sent from a packet socket on the switch's end of the router's link: they reach \
             the router's driver-mode program as socket buffers that veth copies into a page \
             first, a cost no NIC has, borne alike by both rows (the kernel's row runs a \
             driver-mode program too)."
        };
        let _ = writeln!(
            out,
            "The XDP program attached in driver mode (`--xdp-mode driver`), against the kernel's \
             ARP on the same setup (vrrpd in socket mode). {requests} That end counts the replies \
             and drops them, with a program in driver mode (veth hands XDP_TX frames only to a \
             peer with a program). For the kernel's row the router's interface runs a \
             pass-through program (it is what gives a veth the NAPI instance threaded NAPI \
             needs). The router's receive path runs in threaded NAPI pinned to CPU \
             {ROUTER_CPU}; the load generator, the daemon and the switch's side run on CPU \
             {OTHER_CPU}, the switch's side before the generator (SCHED_FIFO), so that no \
             reply is lost to the generator. The generator offers more than either responder \
             takes: what the router's receive ring cannot hold is dropped on the generator's \
             CPU, at no cost to the router. Router's CPU: CPU {ROUTER_CPU}'s user, system, irq \
             and softirq time (/proc/stat) per reply the switch received. Issue 20's target: \
             the XDP responder at most 1/3 of the kernel's cost.\n"
        );
        let _ = writeln!(
            out,
            "| responder | requests | replies | replies / s | router's CPU µs / reply | of which softirq | against the kernel |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|");
        let kernel = self
            .arp_driver
            .iter()
            .find(|row| row.implementation == Implementation::Socket)
            .map(|row| row.router_cpu_us_per_reply);
        for row in &self.arp_driver {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.0} | {:.3} | {:.3} | {} |",
                if row.implementation == Implementation::Xdp {
                    "XDP responder (driver mode)"
                } else {
                    "kernel ARP (socket mode)"
                },
                row.requests,
                row.replies,
                row.replies_per_second,
                row.router_cpu_us_per_reply,
                row.router_softirq_us_per_reply,
                kernel.map_or("-".into(), |kernel| format!(
                    "{:.2}",
                    row.router_cpu_us_per_reply / kernel
                )),
            );
        }
        let _ = writeln!(out, "\n## Spoofed-source floods for the VIPs\n");
        let _ = writeln!(
            out,
            "ARP requests for the IPv4 VIP from every address of the documentation ranges the lab does not use, and neighbour solicitations for the IPv6 VIP from 4096 random 2001:db8::/32 sources, at the router holding both VIPs. A kernel that answers makes a neighbour entry per sender, in tables every namespace of the host shares (gc_thresh3 1024). Neighbours: the most entries of that family the router held at once, on any of its interfaces (FRR's are on its macvlan). FRR's virtual routers for the two VIPs are two, one per family, each on its macvlan. Overflows: the kernel's \"neighbor table overflow!\" lines meanwhile (it limits their rate). Client: a host new to the router pinging the VIP every 10 ms from a quarter into the flood. The tables are flushed after each flood.\n"
        );
        let _ = writeln!(
            out,
            "| implementation | flood | requests | requests / s | router's neighbours (most) | overflows logged | client's pings answered |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|");
        for row in &self.spoofed {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.0} | {} | {} | {} of {} |",
                row.implementation.name(),
                row.kind,
                row.requests,
                row.requests_per_second,
                row.neighbours_most,
                row.overflows_logged
                    .map_or("-".to_string(), |n| n.to_string()),
                row.pings_answered,
                row.pings_sent,
            );
        }
        let _ = writeln!(out, "\n## Scale: many instances at 10 ms, two routers\n");
        let _ = writeln!(
            out,
            "255 VRIDs on 1 interface: ~1000 VIPs (IPv4, and IPv6 excluded), every implementation. Issue 20's setup: 1000 IPv6 instances on 4 interfaces (250 VRIDs each, 4 VIPs each) for vrrpd, keepalived and FRR at 100 (4 × 25; keepalived collapses at 255), compared per advert. FRR: a macvlan per instance (and family) on each router, up with zebra before the start; it runs the IPv4 addresses of the 255 VRIDs (it has no excluded addresses). In every run on this machine so far FRR's vrrpd logged \"Failed to send VRRP Advertisement: Invalid argument\" for a part of its IPv6 adverts at 100 instances, and its backup took over for the missing ones (its 25 IPv6 routers of a lone interface, tried by hand, sent without a failure; spread over 4 interfaces they fail). Converged in: from the two routers' start (together; vrrpd's XDP program is waited for after it, before the window) until the master holds every instance and the backup has started all of its own. CPU: the process that runs VRRP (keepalived's VRRP child, FRR's vrrpd), over the window, which starts 10 s after convergence (the start-up race's address work, VIPs installed and removed again and the gratuitous ARPs of garp_master_delay, is over by then). Per advert: the master's CPU time over the packets its interfaces sent in the window. Placement: the master runs on CPU 1, the backup on CPU 0, each started there with everything it spawns, and the kernel's receive processing is steered (RPS) to the receiver's CPU, the switch's to CPU 0 with the backup's: left alone, veth carries each frame through the switch's bridge and into the backup's receive path within the master's send, on the master's CPU, and at 1000 instances the master's protocol thread and the kernel's softirq thread starved each other there until the backup took hundreds of instances over at once (2546 to 10148 false transitions in 60 s in earlier runs). Two routers do not share a CPU and a switch does its own switching; the master's CPU still carries its own send of each frame to the switch's end of its link. Backlog drops: frames the host's receive backlogs dropped in the window (all CPUs, /proc/net/softnet_stat): the master's bursts, 250 adverts per interface at once, arrive at CPU 0's backlog faster than it drains, and its limit (net.core.netdev_max_backlog, host-wide, left as this machine has it) is what drops them; an instance whose adverts are dropped three times in a row is a false takeover. PSS: the proportional set size summed over all the daemon's processes (/proc/PID/smaps_rollup; keepalived's parent and its VRRP child; FRR's vrrpd and the zebra it needs, which holds the macvlans), at the end of the window.\n"
        );
        let _ = writeln!(
            out,
            "| setup | implementation | converged in | VIPs up on master | false transitions | backlog drops | window | master CPU % | master CPU µs / advert | backup CPU % | master PSS (MiB) | backup PSS (MiB) |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|");
        for row in &self.scale {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {:.0} s | {:.1} | {:.2} | {:.1} | {:.1} | {:.1} |",
                row.setup,
                row.implementation.name(),
                row.converge
                    .map_or("did not".into(), |d| format!("{:.2} s", d.as_secs_f64())),
                row.vips_up,
                row.false_transitions,
                row.backlog_drops,
                row.window.as_secs_f64(),
                row.master_cpu_percent,
                row.master_cpu_us_per_advert,
                row.backup_cpu_percent,
                row.master_pss_kib as f64 / 1024.0,
                row.backup_pss_kib as f64 / 1024.0,
            );
        }
        if !self.changes.is_empty() {
            let _ = writeln!(
                out,
                "\n## Configuration changes and restarts (v3 at 10 ms adverts, each left 1.5 s; v2 at 1 s, each left 5 s)\n"
            );
            let _ = writeln!(
                out,
                "Takeovers: the backup entered MASTER. Re-elections: the master entered MASTER again. Dual master: both advertising with a non-zero priority (an advert stands for 1.5 intervals). Gap: the longest between the master's adverts (the interval doubles in the last row of each pace). Client gap: the longest between the replies to a client pinging the VIP every 1 ms, counted from the last reply before the change (so a failover still going on shows in the next row too). The restart of vrrpd is `vrrpd upgrade` (the same binary), its upgrade `vrrpd upgrade --binary` with another binary file; keepalived's restart and upgrade are a stop and a start. FRR's vrrpd (v3 only) is changed as its operators change it, through vtysh (`vrrp 51 ip`, `vrrp 51 priority`, `vrrp 51 advertisement-interval`; an added address also goes onto its macvlan), and its restart and upgrade are a stop and a start of its vrrpd (zebra runs on).\n"
            );
            let _ = writeln!(
                out,
                "| pace | change | implementation | takeovers | re-elections | dual master (ms) | longest advert gap (ms) | client gap (ms) |"
            );
            let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
            for row in &self.changes {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {:.1} | {:.2} | {:.1} |",
                    row.pace,
                    row.change,
                    row.implementation.name(),
                    row.takeovers,
                    row.master_reelections,
                    row.dual_master_ms,
                    row.longest_gap_ms,
                    row.client_gap_ms
                );
            }
        }
        let _ = writeln!(out, "\n## Start-up\n");
        let _ = writeln!(
            out,
            "Start: the daemon's process is started (keepalived: its parent; FRR: vrrpd, with \
             zebra and the macvlans already up, as FRR's service has them). First advert: on \
             the wire, a lone router at priority 100, less its own Master_Down_Interval (FRR's \
             whole-centisecond one, 30 ms). Steady BACKUP: a second router at priority 96 \
             joining the first, until it logs BACKUP.\n"
        );
        let _ = writeln!(
            out,
            "| implementation | start → first advert − Master_Down_Interval (ms, p50) | start → steady BACKUP (ms, p50) | start → XDP program validating (ms, p50) |"
        );
        let _ = writeln!(out, "|---|---|---|---|");
        for row in &self.startup {
            let xdp = if row.to_xdp_ms.is_empty() {
                "—".to_string()
            } else {
                ms(percentile(&row.to_xdp_ms, 50.0))
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {xdp} |",
                row.implementation.name(),
                ms(percentile(&row.to_first_advert_ms, 50.0)),
                ms(percentile(&row.to_backup_ms, 50.0))
            );
        }
        out
    }

    /// Writes BENCHMARKS.md and benchmarks-failover.png into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let plot = dir.join("benchmarks-failover.png");
        self.plot(&plot)?;
        let machine = machine_description();
        let date = std::process::Command::new("date")
            .args(["-u", "+%Y-%m-%d %H:%M UTC"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        let text = format!(
            "# Benchmarks\n\nvrrpd in XDP mode, vrrpd in socket mode, keepalived 2.2.7 and, where it can take part (VRRPv3
without authentication), FRR's vrrpd 8.4, interleaved in one run on the same\nnamespace lab (veth pairs on a bridge; routers, client and load generator in their own namespaces).\n\n- Command: `{}`{}\n- Machine: {machine}\n- Date: {date}\n\n![failover precision](benchmarks-failover.png)\n\n{}",
            self.command,
            if self.quick {
                " (quick: a few runs per scenario)"
            } else {
                ""
            },
            self.markdown()
        );
        std::fs::write(dir.join("BENCHMARKS.md"), text).context("writing BENCHMARKS.md")?;
        Ok(())
    }

    fn plot(&self, path: &Path) -> Result<()> {
        let font = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
            .context("DejaVu font")?;
        let font: &'static [u8] = Box::leak(font.into_boxed_slice());
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, font);
        let root = BitMapBackend::new(path, (1000, 500)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
        let rows: Vec<&FailoverRow> = self.failover.iter().collect();
        let top = rows
            .iter()
            .map(|r| percentile(&r.excess_ms, 99.0))
            .filter(|v| v.is_finite())
            .fold(0.5f64, f64::max)
            * 1.2;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Failover excess over Master_Down_Interval (p50 bar, p99 whisker), ms",
                ("sans-serif", 20),
            )
            .margin(15)
            .x_label_area_size(60)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..rows.len() as f64, 0f64..top)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("ms")
            .draw()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        // Each bar named under itself (implementation, then condition), and its p99 above it.
        let label = ("sans-serif", 11).into_font().color(&BLACK);
        for (index, row) in rows.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(index as f64 + 0.5, 0.0));
            let (name, condition) = (row.implementation.name(), row.condition.as_str());
            for (line, text) in [name, condition].into_iter().enumerate() {
                let width = text.len() as i32 * 3;
                root.draw(&Text::new(
                    text.to_string(),
                    (x - width, y + 8 + 14 * line as i32),
                    label.clone(),
                ))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            let p99 = percentile(&row.excess_ms, 99.0);
            if p99.is_finite() {
                let (x, y) = chart.backend_coord(&(index as f64 + 0.5, p99.max(0.0)));
                root.draw(&Text::new(
                    format!("p99 {p99:.2}"),
                    (x - 22, y - 16),
                    label.clone(),
                ))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }
        for (index, row) in rows.iter().enumerate() {
            let colour = match row.implementation {
                Implementation::Xdp => RGBColor(31, 119, 180),
                Implementation::Socket => RGBColor(44, 160, 44),
                Implementation::Keepalived => RGBColor(214, 39, 40),
                Implementation::Frr => RGBColor(148, 103, 189),
            };
            let x = index as f64;
            let p50 = percentile(&row.excess_ms, 50.0).max(0.0);
            let p99 = percentile(&row.excess_ms, 99.0).max(0.0);
            if p50.is_finite() {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x + 0.2, 0.0), (x + 0.8, p50)],
                        colour.filled(),
                    )))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            if p99.is_finite() {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x + 0.5, p50), (x + 0.5, p99)],
                        colour.stroke_width(3),
                    )))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }
        root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    }
}

fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cores} cores ({cpu}), Linux {}", kernel.trim())
}
