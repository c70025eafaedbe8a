//! Where a vrrpd takeover's excess over Master_Down_Interval goes (issue 20, target 1: the
//! profile of the excess). vrrpd logs, per takeover, its master-down deadline and when it saw
//! the deadline due and when its advert's send started and returned (CLOCK_MONOTONIC, the clock
//! of the XDP program's records); the capture gives the master's last advert and the backup's
//! first on the wire (CLOCK_REALTIME). With the offset between the two clocks, the excess splits
//! into five parts that add up to it:
//!
//! 1. the master's advert on the wire -> the backup's record of it (deadline - Master_Down_Interval):
//!    the switch, the backup's receive path and, in socket mode, the thread's wake-up;
//! 2. the deadline -> the protocol thread seeing it due (its wake-up and spin);
//! 3. seen due -> the advert's send started (the record's last look, the state machine, the
//!    advert stamped from its template);
//! 4. the send system call, started -> returned (the kernel's output path; on veth and a bridge
//!    it carries the frame through the switch and to the other ports' queues itself);
//! 5. the send returned -> the advert on the wire at the switch (negative when the capture
//!    took the frame before the system call returned).

/// The `VRRPD_LOG` directive that turns the timing line on.
pub const TAKEOVER_TIMING: &str = "takeover=debug";

/// One takeover as vrrpd logged it, in CLOCK_MONOTONIC ns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Logged {
    pub deadline_ns: u64,
    pub seen_due_after_ns: u64,
    pub send_started_after_ns: u64,
    pub sent_after_ns: u64,
}

/// The five parts of one takeover's excess, in ms (see the module's comment).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Parts {
    pub receive_ms: f64,
    pub wake_ms: f64,
    pub decide_ms: f64,
    pub send_ms: f64,
    pub to_wire_ms: f64,
}

impl Parts {
    pub fn excess_ms(&self) -> f64 {
        self.receive_ms + self.wake_ms + self.decide_ms + self.send_ms + self.to_wire_ms
    }
}

/// Every takeover timing line of a vrrpd log ("(VI_1) takeover: deadline D ns, seen due +S ns,
/// send started +P ns, advert sent +A ns").
pub fn logged(log: &str) -> Vec<Logged> {
    log.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Logged> {
    let rest = line.split_once("takeover: deadline ")?.1;
    let (deadline, rest) = rest.split_once(" ns, seen due +")?;
    let (seen, rest) = rest.split_once(" ns, send started +")?;
    let (started, rest) = rest.split_once(" ns, advert sent +")?;
    let sent = rest.strip_suffix(" ns")?;
    Some(Logged {
        deadline_ns: deadline.trim().parse().ok()?,
        seen_due_after_ns: seen.parse().ok()?,
        send_started_after_ns: started.parse().ok()?,
        sent_after_ns: sent.parse().ok()?,
    })
}

/// CLOCK_REALTIME - CLOCK_MONOTONIC now, in ns (every namespace of the lab shares both clocks).
pub fn realtime_minus_monotonic_ns() -> i128 {
    let read = |clock| {
        let mut time = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes the timespec it is given.
        unsafe { libc::clock_gettime(clock, &mut time) };
        i128::from(time.tv_sec) * 1_000_000_000 + i128::from(time.tv_nsec)
    };
    let monotonic = read(libc::CLOCK_MONOTONIC);
    read(libc::CLOCK_REALTIME) - monotonic
}

/// The parts of the takeover whose adverts were captured at `last_master_ns` and
/// `first_backup_ns` (CLOCK_REALTIME): the logged takeover whose advert left closest to it.
pub fn parts(
    logged: &[Logged],
    offset_ns: i128,
    master_down_ms: f64,
    last_master_ns: u64,
    first_backup_ns: u64,
) -> Option<Parts> {
    let on_wire = i128::from(first_backup_ns);
    let sent_at = |l: &Logged| i128::from(l.deadline_ns + l.sent_after_ns) + offset_ns;
    let line = logged
        .iter()
        .min_by_key(|l| (on_wire - sent_at(l)).unsigned_abs())?;
    // Further from its advert than a master-down interval: not this takeover's line.
    if ((on_wire - sent_at(line)).unsigned_abs() as f64) > master_down_ms * 1e6 {
        return None;
    }
    let ms = |ns: i128| ns as f64 / 1e6;
    let deadline = i128::from(line.deadline_ns) + offset_ns;
    let recorded = deadline - (master_down_ms * 1e6).round() as i128;
    Some(Parts {
        receive_ms: ms(recorded - i128::from(last_master_ns)),
        wake_ms: ms(i128::from(line.seen_due_after_ns)),
        decide_ms: ms(i128::from(line.send_started_after_ns) - i128::from(line.seen_due_after_ns)),
        send_ms: ms(i128::from(line.sent_after_ns) - i128::from(line.send_started_after_ns)),
        to_wire_ms: ms(on_wire - sent_at(line)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timing_line_is_read_from_a_console_log() {
        let log = "2026-12-06T07:00:00.1Z DEBUG (VI_1) takeover: deadline 5000000000 ns, seen due +1200 ns, send started +3400 ns, advert sent +9800 ns\n\
                   2026-12-06T07:00:00.1Z  INFO (VI_1) Entering MASTER STATE\n";
        assert_eq!(
            logged(log),
            vec![Logged {
                deadline_ns: 5_000_000_000,
                seen_due_after_ns: 1200,
                send_started_after_ns: 3400,
                sent_after_ns: 9800
            }]
        );
    }

    #[test]
    fn the_parts_add_up_to_the_excess_on_the_wire() {
        let offset = 1_000_000_000_000;
        let line = Logged {
            deadline_ns: 10_000_000_000,
            seen_due_after_ns: 2_000,
            send_started_after_ns: 5_000,
            sent_after_ns: 12_000,
        };
        // The master's last advert 20 µs before the backup recorded it; the backup's advert on
        // the wire 3 µs after its send returned.
        let master_down_ms = 36.25;
        let recorded = 10_000_000_000 - 36_250_000 + offset as u64;
        let last = recorded - 20_000;
        let first = 10_000_000_000 + 12_000 + 3_000 + offset as u64;
        let parts = parts(&[line], offset, master_down_ms, last, first).expect("matched");
        let excess = (first - last) as f64 / 1e6 - master_down_ms;
        assert!((parts.excess_ms() - excess).abs() < 1e-9, "{parts:?}");
        assert!((parts.receive_ms - 0.020).abs() < 1e-9);
        assert!((parts.wake_ms - 0.002).abs() < 1e-9);
        assert!((parts.decide_ms - 0.003).abs() < 1e-9);
        assert!((parts.send_ms - 0.007).abs() < 1e-9);
        assert!((parts.to_wire_ms - 0.003).abs() < 1e-9);
        // A line from another takeover, seconds away, is not taken for this one.
        let elsewhere = Logged {
            deadline_ns: 20_000_000_000,
            ..line
        };
        assert_eq!(
            super::parts(&[elsewhere], offset, master_down_ms, last, first),
            None
        );
    }
}
