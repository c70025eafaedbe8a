//! `vrrp_track_process`, sans-IO: which processes match, how many of each tracker run, and when
//! a tracker goes up or down (keepalived's core/track_process.c). [`Census`] is fed what the
//! kernel reports (a process seen at the start-up scan or after an exec or a change of name, a
//! fork, an exit) and answers with the trackers whose state changed and how long to wait
//! before believing it (`fork_delay` after a fork, `terminate_delay` after an exit).

use std::collections::HashMap;
use std::time::Duration;

use crate::config::model::{ParamMatch, TrackProcess};

/// What is known of one process.
#[derive(Clone, Copy, Debug)]
pub struct ProcessFacts<'a> {
    /// The name the kernel keeps (/proc/PID/comm, at most 15 characters).
    pub comm: &'a str,
    /// The command line as /proc/PID/cmdline holds it (NUL-terminated elements), when some
    /// tracker needs it.
    pub cmdline: Option<&'a [u8]>,
}

/// Whether `process` matches a tracker's `process` (and parameters), as keepalived compares
/// them: the name exactly (the process name, or under `full_command` or with parameters the
/// command line's first element), then the parameters as `param_match` says.
pub fn matches(tracker: &TrackProcess, process: &ProcessFacts) -> bool {
    let uses_cmdline = tracker.full_command || tracker.param_match.is_some();
    let mut elements = process
        .cmdline
        .unwrap_or_default()
        .split(|byte| *byte == 0)
        .map(|element| String::from_utf8_lossy(element).into_owned())
        .collect::<Vec<_>>();
    // /proc/PID/cmdline ends with a NUL: the split leaves an empty last element.
    if elements.last().is_some_and(String::is_empty) {
        elements.pop();
    }
    let name = if tracker.full_command {
        elements.first().map(String::as_str).unwrap_or_default()
    } else {
        process.comm
    };
    if name != tracker.process {
        return false;
    }
    let Some(how) = tracker.param_match else {
        return true;
    };
    if uses_cmdline && process.cmdline.is_none() {
        return false;
    }
    let given = elements.get(1..).unwrap_or_default();
    let wanted = &tracker.parameters;
    match how {
        ParamMatch::Exact => given == wanted.as_slice(),
        ParamMatch::Partial => given.len() >= wanted.len() && given[..wanted.len()] == wanted[..],
        ParamMatch::Initial => {
            let Some((last, first)) = wanted.split_last() else {
                return true;
            };
            given.len() >= wanted.len()
                && given[..first.len()] == first[..]
                && given[first.len()].starts_with(last.as_str())
        }
    }
}

/// Why a count changed: it decides the delay before the new state is believed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The start-up scan, an exec or a change of name: believed at once.
    Seen,
    /// A fork of a counted process: up only after `fork_delay`.
    Fork,
    /// A process ended: down only after `terminate_delay`.
    Exit,
}

/// A tracker whose state changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub tracker: usize,
    pub up: bool,
    /// How long the new state must last before it is reported (0: at once).
    pub delay: Duration,
}

/// The running count of every tracker, and which processes count for which.
#[derive(Clone, Debug)]
pub struct Census {
    trackers: Vec<TrackProcess>,
    counts: Vec<u32>,
    /// For each counted process (a thread group id), the trackers it counts for.
    members: HashMap<i32, Vec<usize>>,
}

impl Census {
    pub fn new(trackers: Vec<TrackProcess>) -> Census {
        let counts = vec![0; trackers.len()];
        Census {
            trackers,
            counts,
            members: HashMap::new(),
        }
    }

    pub fn trackers(&self) -> &[TrackProcess] {
        &self.trackers
    }

    /// Whether some tracker compares command lines (/proc/PID/cmdline must then be read).
    pub fn needs_cmdline(&self) -> bool {
        self.trackers
            .iter()
            .any(|t| t.full_command || t.param_match.is_some())
    }

    /// keepalived's rule: up while the count is within `quorum..=quorum_max`.
    pub fn is_up(&self, tracker: usize) -> bool {
        let count = self.counts[tracker];
        let rule = &self.trackers[tracker];
        count >= rule.quorum && count <= rule.quorum_max
    }

    pub fn count(&self, tracker: usize) -> u32 {
        self.counts[tracker]
    }

    /// A process seen at the scan, or after an exec or a change of name: it counts for the
    /// trackers it matches now, and no longer for the others.
    pub fn seen(&mut self, pid: i32, process: &ProcessFacts) -> Vec<Change> {
        let now: Vec<usize> = (0..self.trackers.len())
            .filter(|&t| matches(&self.trackers[t], process))
            .collect();
        self.set_membership(pid, now, Cause::Seen)
    }

    /// A fork: the child counts for what its parent counts for, until it execs.
    pub fn forked(&mut self, parent: i32, child: i32) -> Vec<Change> {
        let Some(trackers) = self.members.get(&parent).cloned() else {
            return Vec::new();
        };
        self.set_membership(child, trackers, Cause::Fork)
    }

    pub fn exited(&mut self, pid: i32) -> Vec<Change> {
        self.set_membership(pid, Vec::new(), Cause::Exit)
    }

    fn set_membership(&mut self, pid: i32, now: Vec<usize>, cause: Cause) -> Vec<Change> {
        let before: Vec<bool> = (0..self.trackers.len()).map(|t| self.is_up(t)).collect();
        let was = self.members.remove(&pid).unwrap_or_default();
        for &tracker in &was {
            self.counts[tracker] = self.counts[tracker].saturating_sub(1);
        }
        for &tracker in &now {
            self.counts[tracker] = self.counts[tracker].saturating_add(1);
        }
        if !now.is_empty() {
            self.members.insert(pid, now);
        }
        (0..self.trackers.len())
            .filter(|&t| self.is_up(t) != before[t])
            .map(|tracker| {
                let up = self.is_up(tracker);
                let rule = &self.trackers[tracker];
                let delay = match (cause, up) {
                    (Cause::Fork, true) => rule.fork_delay,
                    (Cause::Exit, false) => rule.terminate_delay,
                    _ => Duration::ZERO,
                };
                Change { tracker, up, delay }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::syntax::Location;

    fn tracker(process: &str) -> TrackProcess {
        let location = Location {
            file: std::sync::Arc::new(std::path::PathBuf::from("keepalived.conf")),
            line: 1,
            column: 1,
        };
        TrackProcess::new(format!("tp_{process}"), location, process.to_string())
    }

    fn facts<'a>(comm: &'a str, cmdline: &'a [u8]) -> ProcessFacts<'a> {
        ProcessFacts {
            comm,
            cmdline: Some(cmdline),
        }
    }

    #[test]
    fn names_match_exactly_not_as_pgrep_does() {
        let ssh = tracker("ssh");
        assert!(matches(&ssh, &facts("ssh", b"ssh\0host\0")));
        assert!(!matches(&ssh, &facts("sshd", b"/usr/sbin/sshd\0-D\0")));
        let full = TrackProcess {
            full_command: true,
            ..tracker("/usr/sbin/haproxy")
        };
        assert!(matches(
            &full,
            &facts("haproxy", b"/usr/sbin/haproxy\0-f\0x\0")
        ));
        assert!(!matches(&full, &facts("haproxy", b"haproxy\0")));
    }

    #[test]
    fn parameters_match_exactly_partially_or_initially() {
        let with = |how, parameters: &[&str]| TrackProcess {
            parameters: parameters.iter().map(|p| p.to_string()).collect(),
            param_match: Some(how),
            ..tracker("haproxy")
        };
        let line: &[u8] = b"haproxy\0-f\0/etc/haproxy.cfg\0-Ws\0";
        let process = facts("haproxy", line);
        assert!(!matches(&with(ParamMatch::Exact, &["-f"]), &process));
        assert!(matches(
            &with(ParamMatch::Exact, &["-f", "/etc/haproxy.cfg", "-Ws"]),
            &process
        ));
        assert!(matches(&with(ParamMatch::Partial, &["-f"]), &process));
        assert!(!matches(
            &with(ParamMatch::Partial, &["-f", "/etc"]),
            &process
        ));
        assert!(matches(
            &with(ParamMatch::Initial, &["-f", "/etc"]),
            &process
        ));
        // param_match without parameters, exact: a process without any.
        assert!(!matches(&with(ParamMatch::Exact, &[]), &process));
        assert!(matches(
            &with(ParamMatch::Exact, &[]),
            &facts("haproxy", b"haproxy\0")
        ));
    }

    #[test]
    fn the_count_decides_within_the_quorum_and_delays_follow_the_cause() {
        let rule = TrackProcess {
            quorum: 2,
            quorum_max: 3,
            fork_delay: Duration::from_secs(1),
            terminate_delay: Duration::from_secs(2),
            ..tracker("nginx")
        };
        let mut census = Census::new(vec![rule]);
        let nginx = facts("nginx", b"nginx\0");
        assert!(census.seen(10, &nginx).is_empty());
        assert!(!census.is_up(0));
        // The second process, a fork: up, but only after fork_delay.
        assert_eq!(
            census.forked(10, 11),
            vec![Change {
                tracker: 0,
                up: true,
                delay: Duration::from_secs(1)
            }]
        );
        // A fork of an untracked process changes nothing; a repeated report is idempotent.
        assert!(census.forked(99, 100).is_empty());
        assert!(census.seen(11, &nginx).is_empty());
        assert_eq!(census.count(0), 2);
        // Four is over quorum_max: down at once.
        census.seen(12, &nginx);
        assert_eq!(
            census.seen(13, &nginx),
            vec![Change {
                tracker: 0,
                up: false,
                delay: Duration::ZERO
            }]
        );
        census.exited(13);
        assert!(census.is_up(0));
        census.exited(12);
        // Below quorum through an exit: down after terminate_delay.
        assert_eq!(
            census.exited(11),
            vec![Change {
                tracker: 0,
                up: false,
                delay: Duration::from_secs(2)
            }]
        );
        // A counted process that execs into something else stops counting.
        census.seen(11, &nginx);
        census.seen(11, &facts("sleep", b"sleep\0"));
        assert_eq!(census.count(0), 1);
    }
}
