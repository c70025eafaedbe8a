//! Frame capture with tcpdump inside a namespace, and a reader for the pcap files it writes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::netns::Netns;
use crate::process::Spawned;

/// One captured frame with its capture timestamp.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Seconds since the epoch, nanosecond resolution.
    pub time_ns: u64,
    pub data: Vec<u8>,
}

/// A running tcpdump writing a pcap file; [`Capture::finish`] stops it and returns the frames.
#[derive(Debug)]
pub struct Capture {
    process: Spawned,
    file: PathBuf,
}

impl Capture {
    /// Captures on `interface` inside `netns`, with an optional BPF filter expression.
    pub fn start(
        netns: &Netns,
        interface: &str,
        filter: &str,
        dir: &std::path::Path,
    ) -> Result<Capture> {
        static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let file = dir.join(format!("capture-{n}.pcap"));
        let log = dir.join(format!("capture-{n}.log"));
        let mut argv: Vec<String> = [
            "tcpdump",
            "-i",
            interface,
            "-n",
            "-U",
            "-s",
            "2048",
            "--time-stamp-precision=nano",
            "-w",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        argv.push(file.display().to_string());
        argv.extend(filter.split_whitespace().map(str::to_string));
        let mut process = Spawned::start(netns, &argv, &log)?;
        process.wait_for_log("listening on", Duration::from_secs(10))?;
        Ok(Capture { process, file })
    }

    /// Stops tcpdump (letting it flush) and reads every frame it wrote.
    pub fn finish(mut self) -> Result<Vec<Frame>> {
        // tcpdump can lag behind the wire by up to a libpcap block (a second): wait until the
        // file holds frames from the moment we were called (traffic permitting), and at least
        // a moment for what is in flight.
        let now = wall_clock_ns();
        let deadline = Instant::now() + Duration::from_millis(1500);
        std::thread::sleep(Duration::from_millis(50));
        while Instant::now() < deadline {
            let caught_up = self
                .snapshot()
                .ok()
                .and_then(|frames| frames.last().map(|f| f.time_ns))
                .is_some_and(|last| last + 20_000_000 >= now);
            if caught_up {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Under a flood it matches, tcpdump may still be writing its backlog when told to stop
        // (seen with keepalived answering a flood on a loaded machine): after 5 s it is killed.
        // It writes packet by packet (-U), so the file holds every frame it took in, and a
        // record cut short by the kill is ignored by read_pcap.
        if self
            .process
            .stop(libc::SIGINT, Duration::from_secs(5))
            .is_err()
        {
            self.process.stop(libc::SIGKILL, Duration::from_secs(5))?;
        }
        read_pcap(
            &std::fs::read(&self.file).with_context(|| format!("read {}", self.file.display()))?,
        )
    }

    /// Frames written so far, without stopping the capture.
    pub fn snapshot(&self) -> Result<Vec<Frame>> {
        let bytes = std::fs::read(&self.file).unwrap_or_default();
        if bytes.len() < 24 {
            return Ok(Vec::new());
        }
        read_pcap(&bytes)
    }

    /// Polls until `predicate` holds for the frames captured so far.
    pub fn wait_until(
        &self,
        timeout: Duration,
        predicate: impl Fn(&[Frame]) -> bool,
    ) -> Result<Vec<Frame>> {
        let started = Instant::now();
        loop {
            let frames = self.snapshot()?;
            if predicate(&frames) {
                return Ok(frames);
            }
            if started.elapsed() > timeout {
                bail!(
                    "capture condition not met within {timeout:?} ({} frames seen)",
                    frames.len()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.file
    }
}

/// CLOCK_REALTIME in nanoseconds (the clock of capture timestamps).
pub fn wall_clock_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Parses a classic pcap file (microsecond or nanosecond timestamps, either byte order). A
/// truncated last record (tcpdump still writing) is ignored.
pub fn read_pcap(bytes: &[u8]) -> Result<Vec<Frame>> {
    if bytes.len() < 24 {
        bail!("pcap file too short ({} bytes)", bytes.len());
    }
    let magic = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let (little, nanos) = match magic {
        0xa1b2_c3d4 => (true, false),
        0xa1b2_3c4d => (true, true),
        0xd4c3_b2a1 => (false, false),
        0x4d3c_b2a1 => (false, true),
        other => bail!("not a pcap file (magic {other:#x})"),
    };
    let word = |at: usize| -> u32 {
        let b = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let mut frames = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let seconds = u64::from(word(at));
        let fraction = u64::from(word(at + 4));
        let captured = word(at + 8) as usize;
        let start = at + 16;
        if start + captured > bytes.len() {
            break;
        }
        let time_ns = seconds * 1_000_000_000 + if nanos { fraction } else { fraction * 1000 };
        frames.push(Frame {
            time_ns,
            data: bytes[start..start + captured].to_vec(),
        });
        at = start + captured;
    }
    Ok(frames)
}
