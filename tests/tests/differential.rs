//! The XDP program and the host agree frame by frame (see `vrrp_harness::differential`): the
//! systematic mutations of every fixture and random ones, over a million frames in all, with the
//! same verdict and the same counted reason for each. `cargo xtask fuzz` runs it longer.

use vrrp_harness::differential::{self, Outcome, Report, Rng};

/// A million frames: the systematic ones, then random mutations up to the count.
const FRAMES: u64 = 1_000_000;

#[test]
fn the_program_and_the_host_give_every_frame_the_same_verdict_and_reason() {
    vrrp_harness::require_root();
    let mut xdp = differential::loaded().expect("load");
    let fixtures = differential::fixtures();
    let mut report = Report::default();
    let systematic = differential::systematic(&fixtures);
    differential::compare(&mut xdp, systematic, &mut report).expect("systematic");
    let mut rng = Rng::new(0x5eed_d1ff);
    while report.frames < FRAMES {
        let random: Vec<Vec<u8>> = (0..(FRAMES - report.frames).min(65_536))
            .map(|_| differential::random(&fixtures, &mut rng))
            .collect();
        differential::compare(&mut xdp, random, &mut report).expect("random");
    }
    println!("{} frames compared: {:?}", report.frames, report.by_outcome);
    for disagreement in report.disagreements.iter().take(10) {
        println!("{disagreement:02x?}");
    }
    assert!(
        report.disagreements.is_empty(),
        "{} disagreements (first ten above)",
        report.disagreements.len()
    );
    // The run reached the checks behind the parsers, not only the parsers' refusals.
    for outcome in [
        Outcome::Valid,
        Outcome::Pass,
        Outcome::Dropped(vrrp_common::stats::Counter::DropAuthFailure),
        Outcome::Dropped(vrrp_common::stats::Counter::DropBadChecksum),
        Outcome::Dropped(vrrp_common::stats::Counter::DropBadIpChecksum),
        Outcome::Dropped(vrrp_common::stats::Counter::DropTruncated),
    ] {
        assert!(
            report.by_outcome.get(&outcome).is_some_and(|n| *n > 0),
            "no frame came to {outcome:?}: {:?}",
            report.by_outcome
        );
    }
}
