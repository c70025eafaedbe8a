//! `vrrp_track_process` on the machine: the kernel's process events (the netlink proc
//! connector, as keepalived listens to them) and /proc, fed to the sans-IO [`Census`]. /proc is
//! scanned once at the start (and again if the kernel dropped events); after that only the
//! events count, and /proc/PID is read only for a process that has just exec'd or renamed
//! itself.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;
use tracing::{info, warn};

use super::process::{Census, Change, ProcessFacts};
use super::{Observation, Source};
use crate::config::model::TrackProcess;
use crate::net::sys;

/// netlink's connector family, and the proc connector's address on it (linux/connector.h).
const NETLINK_CONNECTOR: i32 = 11;
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
/// linux/cn_proc.h: the subscription, and the events read.
const PROC_CN_MCAST_LISTEN: u32 = 1;
const PROC_EVENT_FORK: u32 = 0x0000_0001;
const PROC_EVENT_EXEC: u32 = 0x0000_0002;
const PROC_EVENT_COMM: u32 = 0x0000_0200;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;
const NLMSG_HEADER_LEN: usize = 16;
const CN_MSG_LEN: usize = 20;
/// How long the fallback (no process events here) waits between two scans of /proc.
const FALLBACK_SCAN: Duration = Duration::from_secs(1);

/// One process event, reduced to what the census needs (thread events are left out: a thread
/// is not a process).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcEvent {
    Fork {
        parent: i32,
        child: i32,
    },
    /// An exec, or a change of name: the process must be looked at again.
    Changed {
        pid: i32,
    },
    Exit {
        pid: i32,
    },
}

fn word(bytes: &[u8], at: usize) -> Option<u32> {
    let slice = bytes.get(at..at + 4)?;
    Some(u32::from_ne_bytes([slice[0], slice[1], slice[2], slice[3]]))
}

/// The events in one datagram of the proc connector (netlink messages holding a `cn_msg`
/// holding a `proc_event`). Anything short or foreign is skipped.
pub fn parse_events(datagram: &[u8]) -> Vec<ProcEvent> {
    let mut events = Vec::new();
    let mut offset = 0;
    while let Some(length) = word(datagram, offset) {
        let length = length as usize;
        if length < NLMSG_HEADER_LEN || offset + length > datagram.len() {
            break;
        }
        let message = &datagram[offset..offset + length];
        offset += (length + 3) & !3;
        let connector = NLMSG_HEADER_LEN;
        if word(message, connector) != Some(CN_IDX_PROC)
            || word(message, connector + 4) != Some(CN_VAL_PROC)
        {
            continue;
        }
        let event = connector + CN_MSG_LEN;
        let data = event + 16;
        let (Some(what), Some(first), Some(second)) = (
            word(message, event),
            word(message, data),
            word(message, data + 4),
        ) else {
            continue;
        };
        let (pid, tgid) = (first as i32, second as i32);
        match what {
            PROC_EVENT_FORK => {
                let (Some(child), Some(child_tgid)) =
                    (word(message, data + 8), word(message, data + 12))
                else {
                    continue;
                };
                if child == child_tgid {
                    events.push(ProcEvent::Fork {
                        parent: tgid,
                        child: child as i32,
                    });
                }
            }
            PROC_EVENT_EXEC | PROC_EVENT_COMM if pid == tgid => {
                events.push(ProcEvent::Changed { pid: tgid })
            }
            PROC_EVENT_EXIT if pid == tgid => events.push(ProcEvent::Exit { pid: tgid }),
            _ => {}
        }
    }
    events
}

/// A process's name and (when `cmdline`) command line from /proc; `None` for one that is gone
/// or a zombie (keepalived, unlike pgrep, does not count zombies).
fn read_process(pid: i32, cmdline: bool) -> Option<(String, Option<Vec<u8>>)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_string();
    if stat.get(close + 2..close + 3) == Some("Z") {
        return None;
    }
    let line = if cmdline {
        Some(std::fs::read(format!("/proc/{pid}/cmdline")).ok()?)
    } else {
        None
    };
    Some((comm, line))
}

fn look_at(census: &mut Census, pid: i32) -> Vec<Change> {
    match read_process(pid, census.needs_cmdline()) {
        Some((comm, cmdline)) => census.seen(
            pid,
            &ProcessFacts {
                comm: &comm,
                cmdline: cmdline.as_deref(),
            },
        ),
        None => census.exited(pid),
    }
}

/// Counts every process of /proc afresh.
fn scan(trackers: &[TrackProcess]) -> Census {
    let mut census = Census::new(trackers.to_vec());
    for pid in crate::host::process_ids() {
        look_at(&mut census, pid);
    }
    census
}

/// The proc connector, subscribed, in the initial network namespace (the only one it answers
/// in).
fn open_connector() -> io::Result<OwnedFd> {
    crate::host::in_initial_network_namespace(|| {
        let fd = sys::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK,
            NETLINK_CONNECTOR,
        )?;
        // SAFETY: all-zero is a valid sockaddr_nl; family and group set below.
        let mut address: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        address.nl_family = libc::AF_NETLINK as u16;
        address.nl_groups = CN_IDX_PROC;
        // SAFETY: binding our socket to a valid sockaddr_nl.
        sys::check(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&address as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        })?;
        // Bursts of forks must not overflow the queue (keepalived enlarges it too).
        let _ = sys::set_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, 1 << 20);
        let mut request = Vec::with_capacity(NLMSG_HEADER_LEN + CN_MSG_LEN + 4);
        let total = (NLMSG_HEADER_LEN + CN_MSG_LEN + 4) as u32;
        request.extend_from_slice(&total.to_ne_bytes());
        request.extend_from_slice(&(libc::NLMSG_DONE as u16).to_ne_bytes());
        request.extend_from_slice(&0u16.to_ne_bytes());
        request.extend_from_slice(&0u32.to_ne_bytes());
        request.extend_from_slice(&std::process::id().to_ne_bytes());
        request.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
        request.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
        request.extend_from_slice(&0u32.to_ne_bytes());
        request.extend_from_slice(&0u32.to_ne_bytes());
        request.extend_from_slice(&4u16.to_ne_bytes());
        request.extend_from_slice(&0u16.to_ne_bytes());
        request.extend_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
        // SAFETY: sending our buffer on our socket.
        let sent = unsafe { libc::send(fd.as_raw_fd(), request.as_ptr().cast(), request.len(), 0) };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(fd)
    })
}

/// Follows the tracked processes for as long as the daemon runs, reporting each tracker's
/// state (`Source::Process`) at the start and whenever it changes, after the tracker's delay.
pub async fn watch_processes(
    trackers: Vec<TrackProcess>,
    updates: UnboundedSender<(Source, Observation)>,
) {
    if trackers.is_empty() {
        return;
    }
    // Subscribed before the scan, so that nothing between the two is missed (a process seen
    // twice is counted once).
    let connector = open_connector().and_then(|fd| {
        // SAFETY: the AsyncFd owns the descriptor; it is closed only when the AsyncFd is dropped.
        unsafe { AsyncFd::register(fd) }.map_err(|error| io::Error::other(format!("{error:?}")))
    });
    let mut census = scan(&trackers);
    let mut reported: Vec<bool> = Vec::new();
    for (index, tracker) in trackers.iter().enumerate() {
        let up = census.is_up(index);
        reported.push(up);
        info!(
            "Track process {}: {} matching process(es), {}",
            tracker.name,
            census.count(index),
            if up { "up" } else { "down" }
        );
        if updates
            .send((Source::Process(tracker.name.clone()), Observation::Ok(up)))
            .is_err()
        {
            return;
        }
    }
    let connector = match connector {
        Ok(connector) => connector,
        Err(error) => {
            warn!(
                "track_process: the kernel's process events cannot be received here ({error}); /proc is scanned every {FALLBACK_SCAN:?} instead"
            );
            loop {
                tokio::time::sleep(FALLBACK_SCAN).await;
                census = scan(&trackers);
                if !report(&census, &mut reported, &updates, &[]) {
                    return;
                }
            }
        }
    };
    // Trackers whose new state waits for its delay: when to believe it.
    let mut pending: HashMap<usize, Instant> = HashMap::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let next_due = pending.values().min().copied();
        let ready = tokio::select! {
            ready = connector.readable() => Some(ready),
            _ = async {
                match next_due {
                    Some(due) => tokio::time::sleep_until(due).await,
                    None => std::future::pending::<()>().await,
                }
            } => None,
        };
        let mut changes = Vec::new();
        if let Some(Ok(mut guard)) = ready {
            loop {
                // SAFETY: receiving into our buffer from our socket.
                let received = unsafe {
                    libc::recv(
                        connector.get_ref().as_raw_fd(),
                        buffer.as_mut_ptr().cast(),
                        buffer.len(),
                        0,
                    )
                };
                if received < 0 {
                    let error = io::Error::last_os_error();
                    if error.raw_os_error() == Some(libc::ENOBUFS) {
                        // The kernel dropped events: count afresh, as keepalived does.
                        warn!("track_process: process events were lost; rescanning /proc");
                        census = scan(&trackers);
                        changes.extend((0..trackers.len()).map(|tracker| Change {
                            tracker,
                            up: census.is_up(tracker),
                            delay: Duration::ZERO,
                        }));
                        continue;
                    }
                    guard.clear_ready();
                    break;
                }
                for event in parse_events(&buffer[..received as usize]) {
                    changes.extend(match event {
                        ProcEvent::Fork { parent, child } => census.forked(parent, child),
                        ProcEvent::Changed { pid } => look_at(&mut census, pid),
                        ProcEvent::Exit { pid } => census.exited(pid),
                    });
                }
            }
        }
        let now = Instant::now();
        for change in changes {
            if change.delay.is_zero() {
                pending.remove(&change.tracker);
            } else {
                pending.insert(change.tracker, now + change.delay);
            }
        }
        pending.retain(|_, due| *due > now);
        // What is due now is what the census says of the trackers that wait for nothing.
        let mut waiting: Vec<usize> = pending.keys().copied().collect();
        waiting.sort_unstable();
        if !report(&census, &mut reported, &updates, &waiting) {
            return;
        }
    }
}

/// Reports every tracker whose state differs from the last reported, except those `waiting`
/// (sorted) for their delay; false once nobody listens.
fn report(
    census: &Census,
    reported: &mut [bool],
    updates: &UnboundedSender<(Source, Observation)>,
    waiting: &[usize],
) -> bool {
    for (index, tracker) in census.trackers().iter().enumerate() {
        let up = census.is_up(index);
        if reported[index] == up || waiting.binary_search(&index).is_ok() {
            continue;
        }
        reported[index] = up;
        info!(
            "Track process {} now {} ({} matching process(es))",
            tracker.name,
            if up { "up" } else { "down" },
            census.count(index)
        );
        if updates
            .send((Source::Process(tracker.name.clone()), Observation::Ok(up)))
            .is_err()
        {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One netlink message holding a proc connector event of kind `what` with `data`.
    fn message(what: u32, data: &[u32]) -> Vec<u8> {
        let mut body = Vec::new();
        for value in [CN_IDX_PROC, CN_VAL_PROC, 0, 0] {
            body.extend_from_slice(&value.to_ne_bytes());
        }
        body.extend_from_slice(&((16 + data.len() * 4) as u16).to_ne_bytes());
        body.extend_from_slice(&0u16.to_ne_bytes());
        body.extend_from_slice(&what.to_ne_bytes());
        body.extend_from_slice(&0u32.to_ne_bytes());
        body.extend_from_slice(&0u64.to_ne_bytes());
        for value in data {
            body.extend_from_slice(&value.to_ne_bytes());
        }
        let mut out = Vec::new();
        out.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        out.extend_from_slice(&3u16.to_ne_bytes());
        out.extend_from_slice(&[0; 10]);
        out.extend_from_slice(&body);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out
    }

    #[test]
    fn process_events_are_read_and_threads_left_out() {
        let mut datagram = message(PROC_EVENT_FORK, &[10, 10, 11, 11]);
        datagram.extend(message(PROC_EVENT_FORK, &[10, 10, 12, 10]));
        datagram.extend(message(PROC_EVENT_EXEC, &[11, 11]));
        datagram.extend(message(PROC_EVENT_COMM, &[11, 11, 0, 0, 0, 0]));
        datagram.extend(message(PROC_EVENT_EXIT, &[12, 10, 0, 0]));
        datagram.extend(message(PROC_EVENT_EXIT, &[11, 11, 0, 0]));
        assert_eq!(
            parse_events(&datagram),
            vec![
                ProcEvent::Fork {
                    parent: 10,
                    child: 11
                },
                ProcEvent::Changed { pid: 11 },
                ProcEvent::Changed { pid: 11 },
                ProcEvent::Exit { pid: 11 },
            ]
        );
        // Truncated or foreign datagrams yield nothing and do not panic.
        assert!(parse_events(&datagram[..10]).is_empty());
        assert!(parse_events(&[0xff; 64]).is_empty());
    }

    #[test]
    fn this_process_is_found_in_proc() {
        let pid = std::process::id() as i32;
        let (comm, cmdline) = read_process(pid, true).expect("ourselves");
        assert!(!comm.is_empty());
        assert!(cmdline.is_some_and(|line| !line.is_empty()));
    }
}
