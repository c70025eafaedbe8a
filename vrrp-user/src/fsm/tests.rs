//! Scenarios on the simulated segment, each named after what it shows. Times are checked to the
//! nanosecond: the virtual clock has no jitter, so the RFC's formulas must hold exactly.

use std::time::Duration;

use vrrp_common::maps::State;
use vrrp_common::time::Instant;
use vrrp_common::wire::vrrp::Version;
use vrrp_common::wire::{Family, raw_from_ipv4};

use super::sim::{Delivery, Record, Segment};
use super::*;
use vrrp_common::rules::Advert;

const SECOND: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;
const BOTH: [Delivery; 2] = [Delivery::EveryAdvert, Delivery::KernelFiltered];

fn params(last_octet: u8, priority: u8, version: Version, interval_cs: u16) -> Params {
    Params {
        name: format!("VI_{last_octet}"),
        version,
        family: Family::Ipv4,
        vrid: 51,
        base_priority: priority,
        interval_cs,
        preempt: true,
        preempt_delay: Duration::ZERO,
        source: raw_from_ipv4([192, 0, 2, last_octet]),
        garp: GarpSchedule::default(),
        lower_prio_no_advert: false,
        higher_prio_send_advert: false,
        down_timer_adverts: 3,
        timer_expired_backup: None,
    }
}

/// The seed's pair: DR1 (priority 100) and DR2 (priority 96), v2 with 1 s adverts, no delay
/// on the wire so that times are exact.
fn seed_pair(delivery: Delivery) -> Segment {
    let mut segment = Segment::new(7);
    segment.delay_ns = 0;
    segment.add(params(11, 100, Version::V2, 100), delivery);
    segment.add(params(12, 96, Version::V2, 100), delivery);
    segment.start(0);
    segment.start(1);
    segment.run_for(10 * SECOND);
    segment
}

fn v3_pair(delivery: Delivery) -> Segment {
    let mut segment = Segment::new(7);
    segment.delay_ns = 0;
    segment.add(params(11, 100, Version::V3, 1), delivery);
    segment.add(params(12, 96, Version::V3, 1), delivery);
    segment.start(0);
    segment.start(1);
    segment.run_for(SECOND);
    segment
}

#[test]
fn the_higher_priority_router_wins_the_startup_election() {
    for delivery in BOTH {
        let segment = seed_pair(delivery);
        assert_eq!(segment.masters(), vec![0], "{delivery:?}");
        assert_eq!(segment.state(1), State::Backup);
        assert!(segment.routers[0].addresses_installed);
        assert!(!segment.routers[1].addresses_installed);
    }
}

#[test]
fn state_master_below_255_still_waits_master_down_interval_at_startup() {
    // keepalived: `state MASTER` with priority < 255 waits 3-4 advert intervals first.
    let mut segment = Segment::new(1);
    segment.delay_ns = 0;
    let start = segment.now;
    segment.add(params(11, 100, Version::V2, 100), Delivery::EveryAdvert);
    segment.start(0);
    segment.run_for(10 * SECOND);
    assert_eq!(
        segment.entries(0, State::Master),
        vec![start + 3 * SECOND + 156 * SECOND / 256]
    );
}

#[test]
fn the_address_owner_becomes_master_at_once() {
    let mut segment = Segment::new(1);
    let start = segment.now;
    segment.add(params(11, 255, Version::V3, 100), Delivery::EveryAdvert);
    segment.start(0);
    segment.run_for(SECOND);
    assert_eq!(segment.entries(0, State::Master), vec![start]);
    assert_eq!(segment.first_advert_since(0, start), Some(start));
}

#[test]
fn losing_the_master_means_a_takeover_at_master_down_interval_to_the_nanosecond() {
    type Pair = fn(Delivery) -> Segment;
    type Loss = fn(&mut Segment);
    // v2, priority 96, 1 s: 3 + 160/256 = 3.625 s (RFC 3768 section 6.1).
    // v3, priority 96, 10 ms: 30 + 160 * 10 / 256 = 36.25 ms (RFC 5798 section 6.1).
    let cases: [(&str, Pair, Loss, u64, u64); 4] = [
        (
            "v2 crash",
            seed_pair,
            |s| s.crash(0),
            10 * SECOND,
            3_625_000_000,
        ),
        ("v3 crash", v3_pair, |s| s.crash(0), SECOND, 36_250_000),
        (
            "v2 link cut",
            seed_pair,
            |s| s.set_link(0, false),
            10 * SECOND,
            3_625_000_000,
        ),
        (
            "v3 link cut",
            v3_pair,
            |s| s.set_link(0, false),
            SECOND,
            36_250_000,
        ),
    ];
    for (case, pair, lose_the_master, run, expected) in cases {
        for delivery in BOTH {
            let mut segment = pair(delivery);
            lose_the_master(&mut segment);
            let cut = segment.now;
            segment.run_for(run);
            let last = segment
                .last_advert_before(0, cut)
                .expect("master advertised");
            let first = segment
                .first_advert_since(1, cut)
                .expect("backup took over");
            assert_eq!(first - last, expected, "{case}, {delivery:?}");
            assert!(segment.masters().contains(&1), "{case}, {delivery:?}");
        }
    }
}

/// keepalived's `down_timer_adverts`: Master_Down_Interval counts that many intervals instead
/// of the RFCs' 3 (10 x 10 ms + 6.25 ms here), from the start and after the master is lost.
#[test]
fn down_timer_adverts_sets_the_intervals_in_master_down_interval() {
    for delivery in BOTH {
        let mut segment = Segment::new(7);
        segment.delay_ns = 0;
        let mut patient = params(12, 96, Version::V3, 1);
        patient.down_timer_adverts = 10;
        segment.add(patient.clone(), delivery);
        segment.start(0);
        let started = segment.now;
        segment.run_for(SECOND);
        let first = segment
            .first_advert_since(0, started)
            .expect("alone, it takes over");
        assert_eq!(first - started, 106_250_000, "alone, {delivery:?}");

        let mut segment = Segment::new(7);
        segment.delay_ns = 0;
        segment.add(params(11, 100, Version::V3, 1), delivery);
        segment.add(patient, delivery);
        segment.start(0);
        segment.start(1);
        segment.run_for(SECOND);
        segment.crash(0);
        let cut = segment.now;
        segment.run_for(SECOND);
        let last = segment
            .last_advert_before(0, cut)
            .expect("master advertised");
        let first = segment
            .first_advert_since(1, cut)
            .expect("backup took over");
        assert_eq!(first - last, 106_250_000, "crash, {delivery:?}");
    }
}

#[test]
fn stop_sends_priority_zero_and_the_backup_takes_over_after_skew_time() {
    // Skew_Time for priority 96: v2 160/256 s = 0.625 s (RFC 3768 section 6.1); v3 scales it by
    // the master's interval, 160/256 x 10 ms = 6.25 ms (RFC 5798 section 6.1).
    type Pair = fn(Delivery) -> Segment;
    let cases: [(&str, Pair, u64, u64); 2] = [
        ("v2", seed_pair, 5 * SECOND, 625_000_000),
        ("v3", v3_pair, SECOND, 6_250_000),
    ];
    for (case, pair, run, skew) in cases {
        for delivery in BOTH {
            let mut segment = pair(delivery);
            segment.stop(0);
            let stop = segment.now;
            segment.run_for(run);
            let priority_zero = Record::Advert {
                router: 0,
                priority: 0,
            };
            let released = Record::Addresses {
                router: 0,
                installed: false,
            };
            assert!(segment.records.contains(&(stop, priority_zero)), "{case}");
            assert!(segment.records.contains(&(stop, released)), "{case}");
            let first = segment
                .first_advert_since(1, stop)
                .expect("backup took over");
            assert_eq!(first - stop, skew, "{case}, {delivery:?}");
            assert_eq!(segment.masters(), vec![1], "{case}, {delivery:?}");
        }
    }
}

#[test]
fn a_returning_higher_priority_router_preempts() {
    for delivery in BOTH {
        let mut segment = seed_pair(delivery);
        segment.stop(0);
        segment.run_for(5 * SECOND);
        segment.start(0);
        let back = segment.now;
        segment.run_for(10 * SECOND);
        assert_eq!(segment.masters(), vec![0], "{delivery:?}");
        assert_eq!(segment.state(1), State::Backup);
        // DR1 ignores DR2's lower adverts and takes over at its own Master_Down_Interval.
        let taken = segment
            .entries(0, State::Master)
            .into_iter()
            .find(|&t| t > back)
            .expect("preempted");
        assert_eq!(taken - back, 3 * SECOND + 156 * SECOND / 256);
    }
}

#[test]
fn nopreempt_keeps_the_current_master() {
    for delivery in BOTH {
        let mut segment = Segment::new(3);
        let mut dr1 = params(11, 100, Version::V2, 100);
        dr1.preempt = false;
        segment.add(dr1, delivery);
        segment.add(params(12, 96, Version::V2, 100), delivery);
        segment.start(1);
        segment.run_for(10 * SECOND);
        segment.start(0);
        segment.run_for(30 * SECOND);
        assert_eq!(segment.masters(), vec![1], "{delivery:?}");
    }
}

#[test]
fn preempt_delay_postpones_the_preemption() {
    for delivery in BOTH {
        let mut segment = Segment::new(3);
        segment.delay_ns = 0;
        let mut dr1 = params(11, 100, Version::V2, 100);
        dr1.preempt_delay = Duration::from_nanos(10 * SECOND);
        segment.add(dr1, delivery);
        segment.add(params(12, 96, Version::V2, 100), delivery);
        segment.start(1);
        segment.run_for(10 * SECOND);
        segment.start(0);
        let back = segment.now;
        segment.run_for(30 * SECOND);
        assert_eq!(segment.masters(), vec![0], "{delivery:?}");
        let taken = segment
            .entries(0, State::Master)
            .into_iter()
            .find(|&t| t > back)
            .expect("preempted");
        // The first lower-priority advert arrives within a second, starts the delay; adverts keep
        // resetting the timer for 10 s; then Master_Down_Interval runs out.
        let waited = taken - back;
        assert!(
            waited >= 10 * SECOND + 3 * SECOND,
            "{delivery:?}: took over after {waited} ns"
        );
        assert!(
            waited <= 11 * SECOND + 4 * SECOND,
            "{delivery:?}: took over after {waited} ns"
        );
    }
}

#[test]
fn equal_priorities_elect_the_higher_address() {
    for delivery in BOTH {
        let mut segment = Segment::new(5);
        segment.add(params(11, 100, Version::V3, 10), delivery);
        segment.add(params(12, 100, Version::V3, 10), delivery);
        segment.start(0);
        segment.start(1);
        segment.run_for(5 * SECOND);
        assert_eq!(
            segment.masters(),
            vec![1],
            "{delivery:?}: 192.0.2.12 > 192.0.2.11"
        );
    }
}

fn advert_from_12(priority: u8) -> Input {
    Input::Advert(Advert {
        source: raw_from_ipv4([192, 0, 2, 12]),
        priority,
        interval_cs: 100,
    })
}

#[test]
fn a_master_answers_lower_priority_and_priority_zero_at_once() {
    let mut instance = Instance::new(params(11, 255, Version::V3, 100));
    let mut actions = Vec::new();
    instance.handle(Input::Startup, at(SECOND), &mut actions);
    assert_eq!(instance.state(), State::Master);
    actions.clear();
    // Lower priority: an advert at once, and keepalived's garp_lower_prio_repeat burst
    // (default: garp_master_repeat, 5).
    instance.handle(advert_from_12(90), at(2 * SECOND), &mut actions);
    assert_eq!(
        actions,
        vec![
            Action::SendAdvert { priority: 255 },
            Action::LowerPriorityHeard {
                source: raw_from_ipv4([192, 0, 2, 12]),
                priority: 90
            },
            Action::SendGratuitous { count: 5 }
        ]
    );
    actions.clear();
    // Priority 0: an advert at once, nothing more.
    instance.handle(advert_from_12(0), at(3 * SECOND), &mut actions);
    assert_eq!(actions, vec![Action::SendAdvert { priority: 255 }]);
}

/// keepalived's `timer_expired_backup`: a master that wakes after a stall longer than the
/// other router's Master_Down_Interval (at the configured priority) steps down before it looks
/// at what arrived meanwhile; a shorter stall, or none configured, and it answers as master.
#[test]
fn timer_expired_backup_steps_a_stalled_master_down() {
    // v3 at 1 s from priority 200; the master's first advert after taking over at 4 s is due
    // at 5 s. Master_Down_Interval at priority 254: 3 s + 2/256 s; at priority 100: 3 s +
    // 156/256 s. A stall of 2.5 s past the due advert means 3.5 s without an advert.
    let cases = [
        (None, 2_500 * MS, State::Master),
        (Some(254), 1_500 * MS, State::Master),
        (Some(254), 2_500 * MS, State::Backup),
        (Some(100), 2_500 * MS, State::Master),
    ];
    for (other_priority, stall, expected) in cases {
        let mut configured = params(11, 200, Version::V3, 100);
        configured.timer_expired_backup = other_priority;
        let mut instance = Instance::new(configured);
        let mut actions = Vec::new();
        instance.handle(Input::Startup, at(0), &mut actions);
        instance.handle(Input::Timer, at(4 * SECOND), &mut actions);
        assert_eq!(instance.state(), State::Master);
        actions.clear();
        instance.handle(advert_from_12(100), at(5 * SECOND + stall), &mut actions);
        assert_eq!(
            instance.state(),
            expected,
            "{other_priority:?} after {stall} ns"
        );
        let answered = actions.contains(&Action::SendAdvert { priority: 200 });
        assert_eq!(answered, expected == State::Master, "{actions:?}");
        if expected == State::Backup {
            assert!(actions.contains(&Action::RemoveAddresses), "{actions:?}");
            assert!(actions.iter().any(|a| matches!(
                a,
                Action::Transition {
                    reason: Reason::TimerExpired { silent_ms: 3_500 },
                    ..
                }
            )));
        }
    }
}

/// Fires every timer the instance asks for up to `until`, returning (time, action) pairs.
fn run_timers(instance: &mut Instance, until: u64) -> Vec<(u64, Action)> {
    let mut fired = Vec::new();
    while let Some(due) = instance.next_deadline().filter(|&due| due <= at(until)) {
        let mut actions = Vec::new();
        instance.handle(Input::Timer, due, &mut actions);
        fired.extend(actions.into_iter().map(|action| (due.as_ns(), action)));
    }
    fired
}

/// The state machine's time for a moment given in nanoseconds, as these tests count.
fn at(ns: u64) -> Instant {
    Instant::from_ns(ns)
}

#[test]
fn lower_priority_garps_repeat_after_their_delay_and_are_rate_limited() {
    let mut instance = Instance::new(params(11, 255, Version::V3, 100));
    let mut actions = Vec::new();
    instance.handle(Input::Startup, at(0), &mut actions);
    // Past the start-up bursts (the second after garp_master_delay, 5 s).
    run_timers(&mut instance, 9 * SECOND);
    actions.clear();
    instance.handle(advert_from_12(90), at(9 * SECOND + 500 * MS), &mut actions);
    assert!(actions.contains(&Action::SendGratuitous { count: 5 }));
    // Another lower-priority advert half a second later: an advert, no second burst.
    actions.clear();
    instance.handle(advert_from_12(90), at(10 * SECOND), &mut actions);
    assert_eq!(actions, vec![Action::SendAdvert { priority: 255 }]);
    // garp_lower_prio_delay (default garp_master_delay, 5 s) after the first: the second burst,
    // and no other.
    let bursts: Vec<u64> = run_timers(&mut instance, 20 * SECOND)
        .into_iter()
        .filter(|(_, action)| matches!(action, Action::SendGratuitous { .. }))
        .map(|(at, _)| at)
        .collect();
    assert_eq!(bursts, vec![14 * SECOND + 500 * MS]);
}

#[test]
fn lower_prio_no_advert_and_a_zero_repeat_answer_nothing() {
    let mut quiet = params(11, 255, Version::V3, 100);
    quiet.lower_prio_no_advert = true;
    quiet.garp.lower_prio_repeat = 0;
    let mut instance = Instance::new(quiet);
    let mut actions = Vec::new();
    instance.handle(Input::Startup, at(SECOND), &mut actions);
    actions.clear();
    instance.handle(advert_from_12(90), at(2 * SECOND), &mut actions);
    assert!(
        actions
            .iter()
            .all(|a| matches!(a, Action::LowerPriorityHeard { .. })),
        "only the log line: {actions:?}"
    );
}

#[test]
fn higher_prio_send_advert_sends_one_before_stepping_down() {
    let mut loud = params(11, 100, Version::V3, 100);
    loud.higher_prio_send_advert = true;
    let mut instance = Instance::new(loud);
    let mut actions = Vec::new();
    instance.handle(Input::Startup, at(0), &mut actions);
    instance.handle(Input::Timer, at(4 * SECOND), &mut actions);
    assert_eq!(instance.state(), State::Master);
    actions.clear();
    instance.handle(advert_from_12(110), at(5 * SECOND), &mut actions);
    assert_eq!(actions.first(), Some(&Action::SendAdvert { priority: 100 }));
    assert_eq!(instance.state(), State::Backup);
}

#[test]
fn a_master_hearing_a_higher_priority_steps_down() {
    let mut instance = Instance::new(params(11, 100, Version::V3, 100));
    let mut actions = Vec::new();
    instance.handle(Input::Startup, at(0), &mut actions);
    instance.handle(Input::Timer, at(4 * SECOND), &mut actions);
    assert_eq!(instance.state(), State::Master);
    actions.clear();
    let source = raw_from_ipv4([192, 0, 2, 12]);
    let advert = Advert {
        source,
        priority: 110,
        interval_cs: 100,
    };
    instance.handle(Input::Advert(advert), at(5 * SECOND), &mut actions);
    assert_eq!(
        actions,
        vec![
            Action::Transition {
                from: State::Master,
                to: State::Backup,
                reason: Reason::HigherPriority {
                    source,
                    priority: 110
                },
            },
            Action::RemoveAddresses,
        ]
    );
}

#[test]
fn a_healed_partition_converges_to_one_master_and_stays() {
    for delivery in BOTH {
        let mut segment = Segment::new(11);
        for (i, priority) in [100u8, 96, 90].iter().enumerate() {
            segment.add(params(11 + i as u8, *priority, Version::V3, 10), delivery);
        }
        for i in 0..3 {
            segment.start(i);
        }
        segment.run_for(5 * SECOND);
        segment.partition(0, 1);
        segment.partition(0, 2);
        segment.run_for(5 * SECOND);
        assert_eq!(
            segment.masters(),
            vec![0, 1],
            "{delivery:?}: split brain while partitioned"
        );
        segment.heal();
        segment.run_for(2 * SECOND);
        assert_eq!(segment.masters(), vec![0], "{delivery:?}");
        let settled = segment.now;
        segment.run_for(60 * SECOND);
        assert_eq!(
            segment.transitions_since(settled),
            0,
            "{delivery:?}: no flapping"
        );
    }
}

#[test]
fn a_tracking_weight_moves_the_master_and_back() {
    // The seed's chk_down: weight -5 takes DR1 from 100 to 95, below DR2's 96.
    for delivery in BOTH {
        let mut segment = seed_pair(delivery);
        segment.set_health(0, -5, None);
        let touched = segment.now;
        segment.run_for(10 * SECOND);
        assert_eq!(segment.masters(), vec![1], "{delivery:?}");
        // DR1 advertises 95 at once; DR2 ignores it and takes over at Master_Down_Interval.
        assert!(segment.records.contains(&(
            touched,
            Record::Advert {
                router: 0,
                priority: 95
            }
        )));
        let last_accepted = segment
            .records
            .iter()
            .filter(|(t, r)| {
                *t < touched
                    && *r
                        == Record::Advert {
                            router: 0,
                            priority: 100,
                        }
            })
            .map(|(t, _)| *t)
            .max()
            .expect("DR1 advertised 100");
        let taken = segment.entries(1, State::Master)[0];
        assert_eq!(taken - last_accepted, 3_625_000_000);
        segment.set_health(0, 0, None);
        segment.run_for(10 * SECOND);
        assert_eq!(segment.masters(), vec![0], "{delivery:?}");
    }
}

#[test]
fn a_flapping_tracking_script_settles_to_one_master() {
    for delivery in BOTH {
        let mut segment = seed_pair(delivery);
        for flap in 0..40 {
            let weight = if flap % 2 == 0 { -5 } else { 0 };
            segment.set_health(0, weight, None);
            segment.run_for(700 * MS);
        }
        segment.set_health(0, 0, None);
        segment.run_for(10 * SECOND);
        assert_eq!(segment.masters(), vec![0], "{delivery:?}");
        let settled = segment.now;
        segment.run_for(30 * SECOND);
        assert_eq!(segment.transitions_since(settled), 0);
    }
}

#[test]
fn a_fault_releases_mastership_and_recovery_returns_to_backup() {
    let mut segment = seed_pair(Delivery::KernelFiltered);
    segment.set_health(0, 0, Some(FaultReason::InterfaceDown("eth0".into())));
    let fault = segment.now;
    assert_eq!(segment.state(0), State::Fault);
    assert!(segment.records.contains(&(
        fault,
        Record::Advert {
            router: 0,
            priority: 0
        }
    )));
    segment.run_for(5 * SECOND);
    assert_eq!(segment.masters(), vec![1]);
    segment.set_health(0, 0, None);
    assert_eq!(segment.state(0), State::Backup);
    segment.run_for(10 * SECOND);
    assert_eq!(segment.masters(), vec![0], "preempts again once healthy");
}

#[test]
fn a_v3_backup_adopts_the_masters_interval() {
    for delivery in BOTH {
        let mut segment = Segment::new(9);
        segment.delay_ns = 0;
        // The master advertises every 50 ms; the backup is configured for 10 ms.
        segment.add(params(11, 100, Version::V3, 5), delivery);
        segment.add(params(12, 96, Version::V3, 1), delivery);
        segment.start(0);
        segment.start(1);
        segment.run_for(2 * SECOND);
        assert_eq!(
            segment.masters(),
            vec![0],
            "{delivery:?}: no false takeover at 36 ms"
        );
        segment.crash(0);
        let cut = segment.now;
        segment.run_for(SECOND);
        let last = segment.last_advert_before(0, cut).expect("advert");
        let first = segment.first_advert_since(1, cut).expect("takeover");
        // 3 x 50 ms + (160 x 50 ms) / 256 = 181.25 ms.
        assert_eq!(first - last, 181_250_000, "{delivery:?}");
    }
}

#[test]
fn light_loss_never_leaves_two_masters_for_long() {
    for delivery in BOTH {
        let mut segment = Segment::new(42);
        segment.loss = 0.05;
        segment.add(params(11, 100, Version::V3, 10), delivery);
        segment.add(params(12, 96, Version::V3, 10), delivery);
        segment.start(0);
        segment.start(1);
        segment.run_for(60 * SECOND);
        segment.loss = 0.0;
        segment.run_for(5 * SECOND);
        assert_eq!(segment.masters(), vec![0], "{delivery:?}");
    }
}

#[test]
fn effective_priority_is_clamped_and_the_owner_does_not_move() {
    assert_eq!(effective_priority(100, -5), 95);
    assert_eq!(effective_priority(100, -200), 1);
    assert_eq!(effective_priority(100, 200), 254);
    assert_eq!(effective_priority(255, -50), 255);
}

#[test]
fn the_master_keeps_its_advert_cadence_without_drift() {
    let mut segment = v3_pair(Delivery::KernelFiltered);
    let start = segment.now;
    segment.run_for(SECOND);
    let sent: Vec<u64> = segment
        .records
        .iter()
        .filter_map(|(t, r)| matches!(r, Record::Advert { router: 0, .. }).then_some(*t))
        .filter(|&t| t >= start)
        .collect();
    assert_eq!(sent.len(), 100);
    assert!(sent.windows(2).all(|w| w[1] - w[0] == 10 * MS));
}

#[test]
fn the_state_machine_imports_no_io() {
    // The fsm module is sans-IO: no runtime, sockets or system clock.
    for source in [include_str!("mod.rs"), include_str!("sim.rs")] {
        for forbidden in [
            "tokio",
            "std::net",
            "std::time",
            "SystemTime",
            "Instant::now",
            "libc",
            "aya",
        ] {
            let uses = source
                .lines()
                .filter(|line| line.trim_start().starts_with("use ") && line.contains(forbidden))
                .count();
            assert_eq!(uses, 0, "fsm imports {forbidden}");
        }
    }
}

/// A reload applies new settings in place: a priority change that crosses no one moves nothing;
/// one that crosses makes exactly one handover, through the RFC's own rules (the master
/// advertises its lower priority at once and the better backup preempts; a backup raised above
/// its master stops resetting its timer on the master's adverts and takes over).
#[test]
fn a_reload_moves_the_master_only_when_the_new_priorities_say_so() {
    for delivery in BOTH {
        let mut segment = v3_pair(delivery);
        let since = segment.now;
        segment.reconfigure(0, params(11, 98, Version::V3, 1));
        segment.run_for(SECOND);
        assert_eq!(segment.masters(), vec![0], "{delivery:?}");
        assert_eq!(
            segment.transitions_since(since),
            0,
            "{delivery:?}: not crossing"
        );

        let since = segment.now;
        segment.reconfigure(0, params(11, 90, Version::V3, 1));
        segment.run_for(SECOND);
        assert_eq!(segment.masters(), vec![1], "{delivery:?}");
        assert_eq!(
            segment.transitions_since(since),
            2,
            "{delivery:?}: one handover (a master stepping down, a backup taking over)"
        );

        let since = segment.now;
        segment.reconfigure(0, params(11, 120, Version::V3, 1));
        segment.run_for(SECOND);
        assert_eq!(segment.masters(), vec![0], "{delivery:?}");
        assert_eq!(
            segment.transitions_since(since),
            2,
            "{delivery:?}: a backup raised above its master preempts once"
        );
    }
}

/// A new interval goes out with the next advert, and the state is kept.
#[test]
fn a_reload_with_a_new_interval_keeps_the_master() {
    for delivery in BOTH {
        let mut segment = v3_pair(delivery);
        let since = segment.now;
        segment.reconfigure(0, params(11, 100, Version::V3, 2));
        segment.run_for(SECOND);
        assert_eq!(segment.masters(), vec![0], "{delivery:?}");
        assert_eq!(segment.transitions_since(since), 0, "{delivery:?}");
        let late = segment.now - 100 * MS;
        let first = segment.first_advert_since(0, late).expect("adverts");
        let next = segment.first_advert_since(0, first + 1).expect("adverts");
        assert_eq!(next - first, 20 * MS, "{delivery:?}: the new interval");
    }
}

#[test]
fn a_resumed_master_advertises_when_its_advert_was_due_with_no_transition_or_address_work() {
    let mut master = Instance::new(params(11, 255, Version::V3, 1));
    let mut actions = Vec::new();
    master.handle(Input::Startup, at(0), &mut actions);
    run_timers(&mut master, 25 * MS);
    let carried = master.carry();
    assert_eq!(carried.next_advert_ns, Some(30 * MS));
    // The new image comes up 4 ms later, between two adverts.
    let mut resumed = Instance::resume(params(11, 255, Version::V3, 1), carried, at(26 * MS));
    assert_eq!(resumed.state(), State::Master);
    assert_eq!(resumed.counters(), master.counters());
    let fired = run_timers(&mut resumed, 40 * MS);
    assert_eq!(
        fired,
        vec![
            (30 * MS, Action::SendAdvert { priority: 255 }),
            (40 * MS, Action::SendAdvert { priority: 255 }),
        ],
        "adverts on the old schedule, nothing else"
    );
}

#[test]
fn a_resumed_backup_waits_a_whole_master_down_interval_from_its_resumption() {
    let mut backup = Instance::new(params(12, 96, Version::V3, 1));
    let mut actions = Vec::new();
    backup.handle(Input::Startup, at(0), &mut actions);
    let carried = backup.carry();
    assert_eq!(carried.state, State::Backup as u8);
    let mut resumed = Instance::resume(params(12, 96, Version::V3, 1), carried, at(20 * MS));
    assert_eq!(resumed.state(), State::Backup);
    // Master_Down_Interval at 10 ms and priority 96: 3 * 10 ms + (256 - 96) * 10 ms / 256.
    let down = 30 * MS + 160 * 10 * MS / 256;
    assert_eq!(resumed.master_down_deadline(), Some(at(20 * MS + down)));
    assert!(run_timers(&mut resumed, 20 * MS + down - 1).is_empty());
}

#[test]
fn garp_extra_if_repeats_while_master_only() {
    let mut settings = params(11, 255, Version::V3, 100);
    settings.garp.extra_interval = Duration::from_secs(2);
    settings.garp.delay = Duration::ZERO;
    let mut instance = Instance::new(settings);
    let mut actions = Vec::new();
    instance.handle(Input::Startup, at(SECOND), &mut actions);
    assert_eq!(instance.state(), State::Master);
    let extra_at = |instance: &mut Instance, when: u64| {
        let mut actions = Vec::new();
        instance.handle(Input::Timer, at(when), &mut actions);
        actions.contains(&Action::SendExtraGratuitous)
    };
    assert!(
        !extra_at(&mut instance, 2 * SECOND),
        "not before its interval"
    );
    assert!(
        extra_at(&mut instance, 3 * SECOND),
        "2 s after becoming master"
    );
    assert!(!extra_at(&mut instance, 4 * SECOND));
    assert!(extra_at(&mut instance, 5 * SECOND), "and every 2 s after");
    // The master steps down (priority 0 from the owner's own stop): the repetition stops with
    // mastership.
    let mut actions = Vec::new();
    instance.handle(Input::Shutdown, at(6 * SECOND), &mut actions);
    assert_ne!(instance.state(), State::Master);
    assert!(!extra_at(&mut instance, 7 * SECOND));
    assert!(!extra_at(&mut instance, 9 * SECOND));
}

/// A sync-group member held back at its Master_Down_Timer (another member still waited) stays
/// ready to take over with the group, as keepalived's wantstate GOTO_MASTER does, until a
/// master is heard again: two members whose timers run out at different times must not hold
/// each other back for ever.
#[test]
fn a_held_sync_group_member_stays_ready_until_a_master_is_heard() {
    let mut instance = Instance::new(params(11, 150, Version::V2, 100));
    let mut actions = Vec::new();
    instance.handle(Input::Startup, at(SECOND), &mut actions);
    assert_eq!(instance.state(), State::Backup);
    assert!(!instance.ready_for_group());
    instance.handle(Input::Sync(SyncEvent::Hold), at(5 * SECOND), &mut actions);
    assert_eq!(instance.state(), State::Backup);
    assert!(instance.ready_for_group());
    instance.handle(advert_from_12(200), at(6 * SECOND), &mut actions);
    assert!(!instance.ready_for_group(), "a master was heard since");
}
