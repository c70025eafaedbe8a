//! A client that pings a virtual address (IPv4 or IPv6) at a fixed rate from its namespace and
//! reports the longest gap between replies: what a user of the VIP sees during a failover.

use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use vrrp_user::net::sys;

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
        target: impl Into<IpAddr>,
        interval: Duration,
        limit: Duration,
    ) -> Result<Pinger> {
        let target = target.into();
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
    target: IpAddr,
    interval: Duration,
    limit: Duration,
    stop: &AtomicBool,
    started: Instant,
    shared: &std::sync::Mutex<PingReport>,
) -> Result<PingReport> {
    let (domain, protocol) = match target {
        IpAddr::V4(_) => (libc::AF_INET, libc::IPPROTO_ICMP),
        // The kernel fills in an ICMPv6 raw socket's checksum (RFC 3542 section 3.1).
        IpAddr::V6(_) => (libc::AF_INET6, libc::IPPROTO_ICMPV6),
    };
    // SAFETY: plain socket creation, owned below.
    let raw = unsafe { libc::socket(domain, libc::SOCK_RAW | libc::SOCK_NONBLOCK, protocol) };
    if raw < 0 {
        bail!("raw ICMP socket: {}", std::io::Error::last_os_error());
    }
    // SAFETY: raw is ours.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // A reply's time is when the kernel received it, not when this thread got round to reading
    // it: the thread's own wake-up lateness (hundreds of µs on this VM) would otherwise add
    // to, or take from, every gap.
    let on: libc::c_int = 1;
    // SAFETY: setting an int socket option on our socket.
    let set = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if set != 0 {
        bail!("SO_TIMESTAMPNS: {}", std::io::Error::last_os_error());
    }
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
        if let Some(age) = receive_reply(&fd, target, identifier) {
            let at = started.elapsed().saturating_sub(age);
            // In arrival order (the clocks are read apart, so keep them from crossing).
            let at = report.replies.last().map_or(at, |last| at.max(*last));
            if let Some(last) = report.replies.last() {
                report.max_gap = report.max_gap.max(at - *last);
            }
            report.replies.push(at);
            report.received += 1;
            if let Ok(mut shared) = shared.lock() {
                *shared = report.clone();
            }
        } else {
            // Until the next echo is due or a reply comes, whichever is first.
            wait_readable(&fd, next.saturating_duration_since(Instant::now()));
        }
    }
    Ok(report)
}

/// Waits until `fd` has a message to read, `timeout` at most (10 ms at most, so that a stop is
/// seen).
fn wait_readable(fd: &OwnedFd, timeout: Duration) {
    let mut poll = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let timeout = libc::timespec {
        tv_sec: 0,
        tv_nsec: timeout.min(Duration::from_millis(10)).subsec_nanos().into(),
    };
    // SAFETY: one valid pollfd and timespec; no signal mask change.
    unsafe { libc::ppoll(&mut poll, 1, &timeout, std::ptr::null()) };
}

/// Reads one message, if there is one. For an echo reply of ours from `target`: how long ago
/// the kernel received it.
fn receive_reply(fd: &OwnedFd, target: IpAddr, identifier: u16) -> Option<Duration> {
    let mut buffer = [0u8; 256];
    let message = sys::receive_message(fd.as_fd(), &mut buffer, 0).ok()??;
    // Without the kernel's time (it has always been given here), the time of reading.
    let age = received_age(&message).unwrap_or_default();
    let received = buffer.get(..message.length)?;
    let (source, icmp, echo_reply) = match target {
        // An IPv4 raw socket hands over the IP header too.
        IpAddr::V4(_) => {
            let header_len = usize::from(received.first().copied().unwrap_or(0) & 0x0f) * 4;
            let source = received
                .get(12..16)
                .and_then(|s| <[u8; 4]>::try_from(s).ok())
                .map(IpAddr::from);
            (source, received.get(header_len..), 0)
        }
        IpAddr::V6(_) => (message.source(), Some(received), 129),
    };
    let icmp = icmp?;
    let ours = source == Some(target)
        && icmp.first() == Some(&echo_reply)
        && icmp.get(4..6) == Some(&identifier.to_be_bytes());
    ours.then_some(age)
}

/// How long ago the kernel received `message`, from its SCM_TIMESTAMPNS (wall-clock time: a
/// timespec, two native 64-bit words on this platform).
fn received_age(message: &sys::ReceivedMessage) -> Option<Duration> {
    let (_, _, time) = message
        .control_messages()
        .find(|&(level, kind, _)| level == libc::SOL_SOCKET && kind == libc::SCM_TIMESTAMPNS)?;
    let word = |at: usize| Some(i64::from_ne_bytes(time.get(at..at + 8)?.try_into().ok()?));
    let stamp = Duration::new(u64::try_from(word(0)?).ok()?, u32::try_from(word(8)?).ok()?);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(now.saturating_sub(stamp))
}

fn send_echo(fd: &OwnedFd, target: IpAddr, identifier: u16, sequence: u16) -> Result<()> {
    let mut message = [0u8; 16];
    message[4..6].copy_from_slice(&identifier.to_be_bytes());
    message[6..8].copy_from_slice(&sequence.to_be_bytes());
    match target {
        IpAddr::V4(_) => {
            message[0] = 8;
            let checksum = vrrp_common::wire::checksum::finish(
                vrrp_common::wire::checksum::accumulate(0, &message),
            );
            message[2..4].copy_from_slice(&checksum.to_be_bytes());
        }
        // An ICMPv6 socket's checksum is the kernel's to fill in.
        IpAddr::V6(_) => message[0] = 128,
    }
    let (address, length) = sys::socket_address(target, 0);
    // A full socket buffer counts as a lost echo: the result is not looked at.
    // SAFETY: message and address are valid for the lengths given.
    unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            message.as_ptr().cast(),
            message.len(),
            0,
            (&address as *const libc::sockaddr_storage).cast(),
            length,
        )
    };
    Ok(())
}
