//! A client that pings a virtual address at a fixed rate from its namespace and reports the
//! longest gap between replies: what a user of the VIP sees during a failover.

use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::netns::Netns;

/// The outcome of a ping run.
#[derive(Clone, Debug)]
pub struct PingReport {
    pub sent: u64,
    pub received: u64,
    /// Longest time without a reply, between the first and the last reply.
    pub max_gap: Duration,
    /// Reply times, relative to the start.
    pub replies: Vec<Duration>,
}

impl PingReport {
    /// The longest time without a reply within `[from, to]` (times since the pinger started),
    /// counting from the last reply before `from`.
    pub fn max_gap_between(&self, from: Duration, to: Duration) -> Duration {
        let mut previous = self
            .replies
            .iter()
            .rev()
            .find(|t| **t <= from)
            .copied()
            .unwrap_or(from);
        let mut longest = Duration::ZERO;
        for reply in self.replies.iter().filter(|t| **t > from && **t <= to) {
            longest = longest.max(*reply - previous);
            previous = *reply;
        }
        // Replies that stopped before `to` leave a gap running to the end of the window.
        longest.max(to.saturating_sub(previous))
    }
}

pub struct Pinger {
    stop: Arc<AtomicBool>,
    report: Arc<std::sync::Mutex<PingReport>>,
    /// When the pinger started (reply times are relative to it).
    pub started: Instant,
    thread: Option<std::thread::JoinHandle<Result<PingReport>>>,
}

impl Pinger {
    /// Pings `target` from `netns` every `interval` until stopped (at most `limit`).
    pub fn start(
        netns: &Netns,
        target: Ipv4Addr,
        interval: Duration,
        limit: Duration,
    ) -> Result<Pinger> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let path = format!("/run/netns/{}", netns.name());
        let started = Instant::now();
        let report = Arc::new(std::sync::Mutex::new(PingReport {
            sent: 0,
            received: 0,
            max_gap: Duration::ZERO,
            replies: Vec::new(),
        }));
        let shared = Arc::clone(&report);
        let thread = std::thread::spawn(move || -> Result<PingReport> {
            let file = std::fs::File::open(&path)?;
            // SAFETY: entering a namespace on this thread only.
            if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                bail!("setns: {}", std::io::Error::last_os_error());
            }
            run(target, interval, limit, &flag, started, &shared)
        });
        Ok(Pinger {
            stop,
            report,
            started,
            thread: Some(thread),
        })
    }

    /// The replies so far, without stopping.
    pub fn snapshot(&self) -> PingReport {
        self.report.lock().map(|r| r.clone()).unwrap_or(PingReport {
            sent: 0,
            received: 0,
            max_gap: Duration::ZERO,
            replies: Vec::new(),
        })
    }

    pub fn stop(mut self) -> Result<PingReport> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(report)) => report,
            _ => bail!("pinger thread failed"),
        }
    }
}

impl Drop for Pinger {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn run(
    target: Ipv4Addr,
    interval: Duration,
    limit: Duration,
    stop: &AtomicBool,
    started: Instant,
    shared: &std::sync::Mutex<PingReport>,
) -> Result<PingReport> {
    // SAFETY: plain socket creation, owned below.
    let raw = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK,
            libc::IPPROTO_ICMP,
        )
    };
    if raw < 0 {
        bail!("raw ICMP socket: {}", std::io::Error::last_os_error());
    }
    // SAFETY: raw is ours.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let identifier = (std::process::id() & 0xffff) as u16;
    let mut report = PingReport {
        sent: 0,
        received: 0,
        max_gap: Duration::ZERO,
        replies: Vec::new(),
    };
    let mut next = started;
    let mut sequence: u16 = 0;
    while !stop.load(Ordering::Relaxed) && started.elapsed() < limit {
        if Instant::now() >= next {
            send_echo(&fd, target, identifier, sequence)?;
            sequence = sequence.wrapping_add(1);
            report.sent += 1;
            next += interval;
        }
        let mut buffer = [0u8; 256];
        // SAFETY: buffer is valid for its length.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len(), 0) };
        if n > 28 {
            let header_len = usize::from(buffer[0] & 0x0f) * 4;
            let icmp = &buffer[header_len..n as usize];
            let from_target = buffer[12..16] == target.octets();
            if from_target
                && icmp.first() == Some(&0)
                && icmp.get(4..6) == Some(&identifier.to_be_bytes())
            {
                let at = started.elapsed();
                if let Some(last) = report.replies.last() {
                    report.max_gap = report.max_gap.max(at - *last);
                }
                report.replies.push(at);
                report.received += 1;
                if let Ok(mut shared) = shared.lock() {
                    *shared = report.clone();
                }
            }
        } else {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    Ok(report)
}

fn send_echo(fd: &OwnedFd, target: Ipv4Addr, identifier: u16, sequence: u16) -> Result<()> {
    let mut message = [0u8; 16];
    message[0] = 8;
    message[4..6].copy_from_slice(&identifier.to_be_bytes());
    message[6..8].copy_from_slice(&sequence.to_be_bytes());
    let checksum =
        vrrp_common::wire::checksum::finish(vrrp_common::wire::checksum::accumulate(0, &message));
    message[2..4].copy_from_slice(&checksum.to_be_bytes());
    let address = libc::sockaddr_in {
        sin_family: libc::AF_INET as u16,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(target.octets()),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: message and address are valid for the lengths given.
    unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            message.as_ptr().cast(),
            message.len(),
            0,
            (&address as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        )
    };
    Ok(())
}
