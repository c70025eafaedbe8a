//! A load generator inside a namespace: AF_PACKET + sendmmsg (or XDP live frames), cycling
//! through prepared frames, bounded in packets and in seconds.

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::netns::Netns;
use crate::packet_socket::PacketSocket;

/// What a flood achieved.
#[derive(Clone, Copy, Debug, Default)]
pub struct FloodReport {
    pub sent: u64,
    pub elapsed: Duration,
    /// CPU time (user + system) of the sending thread.
    pub sender_cpu_seconds: f64,
    /// How the frames entered the interface: as asked, or from a packet socket where the
    /// kernel refused live frames.
    pub injection: Injection,
}

impl FloodReport {
    pub fn rate(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// How a flood's sending thread runs and hands its frames to the interface.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sending {
    /// The CPU the sending thread is pinned to, if any.
    pub cpu: Option<usize>,
    pub injection: Injection,
}

/// How the frames enter the interface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Injection {
    /// sendmmsg on an AF_PACKET socket: socket buffers, as a host's own traffic.
    #[default]
    PacketSocket,
    /// XDP live frames ([`crate::driver_mode::LiveFrames`]): a veth peer receives them as a
    /// NIC's driver receives frames, with no socket buffer.
    XdpLiveFrames,
}

/// A running flood.
pub struct Flood {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<Result<FloodReport>>>,
}

impl Flood {
    /// Sends `frames` round-robin out of `interface` in `netns` as fast as the socket takes
    /// them, until `duration` passes, `max_frames` are sent, or [`Flood::stop`].
    pub fn start(
        netns: &Netns,
        interface: &str,
        frames: Vec<Vec<u8>>,
        duration: Duration,
        max_frames: u64,
    ) -> Result<Flood> {
        Flood::start_sending(
            netns,
            interface,
            frames,
            duration,
            max_frames,
            Sending::default(),
        )
    }

    /// [`Flood::start`], with the sending thread run and the frames injected as `sending` says.
    pub fn start_sending(
        netns: &Netns,
        interface: &str,
        frames: Vec<Vec<u8>>,
        duration: Duration,
        max_frames: u64,
        sending: Sending,
    ) -> Result<Flood> {
        if frames.is_empty() {
            bail!("no frames to send");
        }
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let (flag, counter) = (Arc::clone(&stop), Arc::clone(&sent));
        let path = format!("/run/netns/{}", netns.name());
        let interface = interface.to_string();
        let thread = std::thread::spawn(move || -> Result<FloodReport> {
            let file = std::fs::File::open(&path)?;
            // SAFETY: entering a namespace on this thread only.
            if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                bail!("setns: {}", std::io::Error::last_os_error());
            }
            if let Some(cpu) = sending.cpu {
                crate::cpus::pin_this_thread(cpu)?;
            }
            let injection = usable_injection(&interface, &frames, sending.injection)?;
            let mut send_some = batch_sender(&interface, &frames, injection)?;
            let started = Instant::now();
            while !flag.load(Ordering::Relaxed)
                && started.elapsed() < duration
                && counter.load(Ordering::Relaxed) < max_frames
            {
                counter.fetch_add(send_some()?, Ordering::Relaxed);
            }
            Ok(FloodReport {
                sent: counter.load(Ordering::Relaxed),
                elapsed: started.elapsed(),
                sender_cpu_seconds: thread_cpu_seconds(),
                injection,
            })
        });
        Ok(Flood {
            stop,
            sent,
            thread: Some(thread),
        })
    }

    /// Frames sent so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub fn stop(mut self) -> Result<FloodReport> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(report)) => report,
            _ => bail!("flood thread failed"),
        }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `wanted`, or the packet socket where it is live frames and the kernel refuses them (tried
/// with one of `frames`).
fn usable_injection(interface: &str, frames: &[Vec<u8>], wanted: Injection) -> Result<Injection> {
    match (wanted, frames.first()) {
        (Injection::XdpLiveFrames, Some(frame))
            if !crate::driver_mode::LiveFrames::allowed(interface, frame)? =>
        {
            eprintln!(
                "this kernel refuses BPF_PROG_TEST_RUN's live frames (EPERM): sending from a \
                 packet socket instead"
            );
            Ok(Injection::PacketSocket)
        }
        _ => Ok(wanted),
    }
}

/// What sends the next batch of `frames` (in turn: a spoofed-source flood has thousands) out of
/// `interface`, returning how many it sent. Opened in the calling thread's namespace.
fn batch_sender<'a>(
    interface: &str,
    frames: &'a [Vec<u8>],
    injection: Injection,
) -> Result<Box<dyn FnMut() -> Result<u64> + 'a>> {
    Ok(match injection {
        Injection::PacketSocket => {
            let socket = PacketSocket::open(interface)?;
            let batch: Vec<&[u8]> = frames
                .iter()
                .map(Vec::as_slice)
                .cycle()
                .take(frames.len().max(256))
                .collect();
            Box::new(move || Ok(socket.send_batch(&batch)? as u64))
        }
        Injection::XdpLiveFrames => {
            /// Each frame is repeated this often per call: a call sets up a page pool for its
            /// frames and tears it down after, and the teardown waits for an RCU grace period
            /// (tens of ms here), so that a call carries many frames.
            const REPEAT: u32 = 65536;
            let senders = frames
                .iter()
                .map(|frame| crate::driver_mode::LiveFrames::open(interface, frame))
                .collect::<Result<Vec<_>>>()?;
            let mut turn = 0;
            Box::new(move || {
                if let Some(live) = senders.get(turn % senders.len()) {
                    live.transmit(REPEAT)?;
                }
                turn += 1;
                Ok(u64::from(REPEAT))
            })
        }
    })
}

/// The calling thread's CPU time (user + system) in seconds.
fn thread_cpu_seconds() -> f64 {
    // SAFETY: all-zero rusage is valid; getrusage fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: usage is a valid rusage to write.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Process CPU time (user + system) in seconds, from /proc.
pub fn process_cpu_seconds(pid: i32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line; 12 and 13 after the name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz)
}

/// Resident memory in KiB, from /proc.
pub fn process_rss_kib(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Proportional set size in KiB of a process and every process below it (its children,
/// theirs, ...), each from /proc/PID/smaps_rollup: what a daemon of several processes
/// (keepalived's parent and VRRP child) costs the machine, shared pages counted once.
pub fn process_tree_pss_kib(pid: i32) -> Option<u64> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let own: u64 = rollup
        .lines()
        .find(|l| l.starts_with("Pss:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())?;
    let below: u64 = children_of(pid)
        .into_iter()
        .filter_map(process_tree_pss_kib)
        .sum();
    Some(own + below)
}

/// The children of every thread of `pid` (/proc/PID/task/TID/children).
fn children_of(pid: i32) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|child| child.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect()
}

/// Time the whole machine was busy (user, nice, system, irq, softirq), in seconds, from the
/// tick sampling of /proc/stat.
pub fn machine_busy_seconds() -> Option<f64> {
    machine_busy_and_softirq().map(|(busy, _)| busy)
}

/// Time the machine spent in softirq (the network receive path), in seconds, from the tick
/// sampling of /proc/stat.
pub fn machine_softirq_seconds() -> Option<f64> {
    machine_busy_and_softirq().map(|(_, softirq)| softirq)
}

fn machine_busy_and_softirq() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    busy_and_softirq_seconds_of(stat.lines().next()?)
}

/// A `cpu` line of /proc/stat as (busy, softirq) seconds: busy is user, nice, system, irq and
/// softirq time.
pub fn busy_and_softirq_seconds_of(line: &str) -> Option<(f64, f64)> {
    let values: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal guest guest_nice: steal is the
    // hypervisor's, and guest time is counted in user and nice already.
    let busy: f64 = [0, 1, 2, 5, 6].iter().filter_map(|&i| values.get(i)).sum();
    let softirq = *values.get(6)?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((busy / hz, softirq / hz))
}

/// Drops counted on raw sockets of protocol `protocol` in the current network namespace
/// (`/proc/net/raw`'s last column), summed.
pub fn raw_socket_drops(netns: &Netns, protocol: u32) -> u64 {
    let Ok(text) = netns.run_ok(["cat", "/proc/net/raw"]) else {
        return 0;
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1)?;
            let port = u32::from_str_radix(local.split(':').nth(1)?, 16).ok()?;
            (port == protocol)
                .then(|| fields.last()?.parse::<u64>().ok())
                .flatten()
        })
        .sum()
}
