//! The protocol's timers as functions of priority and interval, in nanoseconds of
//! CLOCK_MONOTONIC (the clock both `bpf_ktime_get_ns` and `clock_gettime` read).

use core::ops::{Add, Sub};
use core::time::Duration;

use crate::wire::vrrp::Version;

/// A moment of CLOCK_MONOTONIC, in nanoseconds since boot: the clock `bpf_ktime_get_ns` and
/// `clock_gettime(CLOCK_MONOTONIC)` both read, so the kernel's timestamps and userspace's
/// compare directly. The maps store the raw nanoseconds ([`Instant::as_ns`]); the state machine
/// and the daemon work with this type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Instant(u64);

impl Instant {
    pub const fn from_ns(ns: u64) -> Instant {
        Instant(ns)
    }

    pub const fn as_ns(self) -> u64 {
        self.0
    }

    /// How long after `earlier` this is; zero if it is not after.
    pub const fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// This moment moved `span` back, or the clock's zero.
    pub const fn saturating_sub(self, span: Duration) -> Instant {
        Instant(self.0.saturating_sub(nanos(span)))
    }
}

/// A span in nanoseconds as the maps count them (spans here are far below 584 years).
const fn nanos(span: Duration) -> u64 {
    span.as_nanos() as u64
}

impl Add<Duration> for Instant {
    type Output = Instant;

    fn add(self, span: Duration) -> Instant {
        Instant(self.0.saturating_add(nanos(span)))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// The span between two moments (zero if `earlier` is the later one).
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_since(earlier)
    }
}

/// When a master's next advert falls due, the one due at `due` having gone out at `now`: on
/// the grid of `due`, so the cadence does not drift; or, if the sender fell a whole interval
/// behind, an interval from now.
pub fn next_advert_due(due: Instant, interval: Duration, now: Instant) -> Instant {
    let next = due + interval;
    if next > now { next } else { now + interval }
}

/// An advertisement interval as a span.
pub const fn interval(interval_cs: u16) -> Duration {
    Duration::from_nanos(interval_ns(interval_cs))
}

/// [`master_down_interval_ns`] as a span.
pub const fn master_down_interval(
    version: Version,
    priority: u8,
    master_interval_cs: u16,
) -> Duration {
    Duration::from_nanos(master_down_interval_ns(
        version,
        priority,
        master_interval_cs,
    ))
}

pub const NANOS_PER_CENTISECOND: u64 = 10_000_000;
pub const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// An advertisement interval in nanoseconds.
pub const fn interval_ns(interval_cs: u16) -> u64 {
    interval_cs as u64 * NANOS_PER_CENTISECOND
}

/// Skew_Time: how much longer a lower-priority backup waits, so that the best backup wins.
///
/// v2 (RFC 3768 section 6.1): `(256 - Priority) / 256` seconds, whatever the interval.
/// v3 (RFC 5798 / RFC 9568 section 6.1): `((256 - Priority) * Master_Adver_Interval) / 256`.
pub const fn skew_time_ns(version: Version, priority: u8, master_interval_cs: u16) -> u64 {
    let weight = 256 - priority as u64;
    match version {
        Version::V2 => weight * NANOS_PER_SECOND / 256,
        Version::V3 => weight * interval_ns(master_interval_cs) / 256,
    }
}

/// The RFCs' count of advert intervals in Master_Down_Interval.
pub const RFC_DOWN_TIMER_ADVERTS: u8 = 3;

/// Master_Down_Interval: `3 * Master_Adver_Interval + Skew_Time` (RFC 3768 / RFC 5798
/// section 6.1). For v2 the master's interval is our own (a mismatch is dropped).
pub const fn master_down_interval_ns(
    version: Version,
    priority: u8,
    master_interval_cs: u16,
) -> u64 {
    master_down_interval_after_ns(
        RFC_DOWN_TIMER_ADVERTS,
        version,
        priority,
        master_interval_cs,
    )
}

/// Master_Down_Interval with keepalived's `down_timer_adverts` in place of the RFCs' 3 (a
/// deviation keepalived offers; every router of the virtual router must use the same count).
pub const fn master_down_interval_after_ns(
    adverts: u8,
    version: Version,
    priority: u8,
    master_interval_cs: u16,
) -> u64 {
    adverts as u64 * interval_ns(master_interval_cs)
        + skew_time_ns(version, priority, master_interval_cs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adverts_keep_their_grid_unless_a_whole_interval_was_missed() {
        let ten = Duration::from_millis(10);
        let due = Instant::from_ns(1_000_000_000);
        // Sent 3 ms late: the next stays on the grid.
        let late = due + Duration::from_millis(3);
        assert_eq!(next_advert_due(due, ten, late), due + ten);
        // Sent 12 ms late: a new grid from now.
        let missed = due + Duration::from_millis(12);
        assert_eq!(next_advert_due(due, ten, missed), missed + ten);
    }

    #[test]
    fn the_figures_the_rfc_formulas_give() {
        // v2, priority 96, 1 s: 3 + 160/256 = 3.625 s.
        assert_eq!(master_down_interval_ns(Version::V2, 96, 100), 3_625_000_000);
        assert_eq!(skew_time_ns(Version::V2, 96, 100), 625_000_000);
        // v3, priority 96, 10 ms: 30 + 6.25 = 36.25 ms.
        assert_eq!(master_down_interval_ns(Version::V3, 96, 1), 36_250_000);
        // v2's skew does not scale with the interval; v3's does.
        assert_eq!(skew_time_ns(Version::V2, 96, 300), 625_000_000);
        assert_eq!(skew_time_ns(Version::V3, 96, 300), 1_875_000_000);
        // The owner's skew is a single 256th.
        assert_eq!(skew_time_ns(Version::V3, 255, 100), 3_906_250);
    }

    #[test]
    fn instants_add_spans_and_subtract_to_spans_without_wrapping() {
        let start = Instant::from_ns(1_000);
        let later = start + interval(1);
        assert_eq!(later.as_ns(), 10_001_000);
        assert_eq!(later - start, Duration::from_millis(10));
        assert_eq!(start - later, Duration::ZERO);
        assert_eq!(
            start.saturating_sub(Duration::from_secs(1)),
            Instant::default()
        );
    }
}
