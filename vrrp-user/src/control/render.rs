//! Human-readable forms: the `vrrpd status` table, `vrrpd stats`, and the SIGUSR1 / SIGUSR2
//! dumps (keepalived's /tmp/keepalived.data and .stats roles).

use std::fmt::Write;

use super::model::{Stats, Status};

pub fn status_table(status: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "vrrpd {} ({} datapath, up {:.0} s)",
        status.version, status.datapath, status.uptime_seconds
    );
    if let Some(build) = &status.build {
        let _ = writeln!(
            out,
            "build: commit {}, aya {}, XDP program build id {}",
            build.commit, build.aya, build.xdp_build_id
        );
    }
    if let Some(daemon) = &status.daemon {
        let _ = writeln!(
            out,
            "process: PID {}, image generation {} (came by {})",
            daemon.pid, daemon.generation, daemon.came_by
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<12} {:<10} {:>4} {:<7} {:>9} {:<24} {:<40} VIPS",
        "INSTANCE", "INTERFACE", "VRID", "STATE", "PRIO", "MASTER", "LAST TRANSITION"
    );
    for i in &status.instances {
        let master = i
            .master
            .as_ref()
            .map(|m| format!("{} ({})", m.address, m.priority))
            .unwrap_or_else(|| "-".into());
        let transition = i
            .last_transition
            .as_ref()
            .map(|t| format!("{} ({:.1} s ago)", t.reason, t.seconds_ago))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "{:<12} {:<10} {:>4} {:<7} {:>4}/{:<4} {:<24} {:<40} {}",
            i.name,
            i.interface,
            i.vrid,
            i.state,
            i.effective_priority,
            i.base_priority,
            master,
            transition,
            i.vips.join(", ")
        );
    }
    out
}

pub fn stats_text(stats: &Stats) -> String {
    let mut out = String::new();
    for i in &stats.instances {
        let _ = writeln!(out, "VRRP Instance: {}", i.name);
        let _ = writeln!(
            out,
            "  Advertisements:\n    Received: {} (seen by the datapath: {})\n    Sent: {}",
            i.adverts_received, i.adverts_seen, i.adverts_sent
        );
        let _ = writeln!(
            out,
            "  Became master: {}\n  Released master: {}\n  Transitions: {}",
            i.became_master, i.released_master, i.transitions
        );
        let _ = writeln!(
            out,
            "  Priority Zero:\n    Received: {}\n    Sent: {}",
            i.priority_zero_received, i.priority_zero_sent
        );
        let _ = writeln!(out, "  Gratuitous ARP / NA sent: {}", i.gratuitous_sent);
    }
    let _ = writeln!(out, "Datapath ({}):", stats.datapath.mode);
    for (name, value) in &stats.datapath.counters {
        let _ = writeln!(out, "  {name}: {value}");
    }
    let _ = writeln!(out, "  Drops:");
    for (name, value) in &stats.datapath.drops {
        let _ = writeln!(out, "    {name}: {value}");
    }
    if !stats.tracking.is_empty() {
        let _ = writeln!(out, "Tracking:");
        for (source, state) in &stats.tracking {
            let _ = writeln!(out, "  {source}: {state}");
        }
    }
    out
}
