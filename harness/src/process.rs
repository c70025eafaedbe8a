//! Long-running processes started inside a namespace (daemons, tcpdump, load generators).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::netns::Netns;

/// A child process whose stdout and stderr go to a log file; killed (SIGKILL) on drop.
#[derive(Debug)]
pub struct Spawned {
    child: Child,
    log: PathBuf,
    label: String,
}

impl Spawned {
    /// Starts `argv` inside `netns`, output appended to `log`.
    pub fn start<S: AsRef<std::ffi::OsStr>>(
        netns: &Netns,
        argv: &[S],
        log: &Path,
    ) -> Result<Spawned> {
        let (program, args) = argv.split_first().context("empty command")?;
        let mut command = netns.command(program);
        command.args(args);
        Self::start_command(command, log)
    }

    /// Starts a prepared command, output appended to `log`.
    pub fn start_command(mut command: Command, log: &Path) -> Result<Spawned> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("open {}", log.display()))?;
        let label = format!("{command:?}");
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("spawn {label}"))?;
        Ok(Spawned {
            child,
            log: log.to_path_buf(),
            label,
        })
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends a signal (e.g. `libc::SIGTERM`).
    pub fn signal(&self, signal: i32) {
        // SAFETY: sending a signal to our own child has no memory-safety preconditions.
        unsafe { libc::kill(self.pid(), signal) };
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends `signal` and waits for the exit; fails if the process outlives `timeout`.
    pub fn stop(&mut self, signal: i32, timeout: Duration) -> Result<ExitStatus> {
        self.signal(signal);
        match self.wait_timeout(timeout)? {
            Some(status) => Ok(status),
            None => bail!(
                "{} still running {timeout:?} after signal {signal}",
                self.label
            ),
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Everything the process has written so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle`; returns the time it took.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> Result<Duration> {
        let started = Instant::now();
        loop {
            if self.log().contains(needle) {
                return Ok(started.elapsed());
            }
            if started.elapsed() > timeout {
                bail!(
                    "{:?} not in the log of {} after {timeout:?}; log:\n{}",
                    needle,
                    self.label,
                    tail(&self.log(), 40)
                );
            }
            if !self.is_running() {
                bail!(
                    "{} exited before logging {needle:?}; log:\n{}",
                    self.label,
                    tail(&self.log(), 40)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Spawned {
    /// Lets the process outlive this value (the lab's `--keep`).
    pub fn detach(self) {
        std::mem::forget(self);
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The last `lines` lines of a text.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A fresh scratch directory for one test (logs, configs, captures), removed on drop unless
/// `VRRP_TEST_KEEP` is set.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
    keep: bool,
}

impl Scratch {
    pub fn new(label: &str) -> Result<Scratch> {
        static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("vrrp-{label}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).with_context(|| format!("mkdir {}", path.display()))?;
        Ok(Scratch { path, keep: false })
    }

    /// A scratch directory at a fixed path (emptied first).
    pub fn at(path: &Path) -> Result<Scratch> {
        let _ = std::fs::remove_dir_all(path);
        std::fs::create_dir_all(path).with_context(|| format!("mkdir {}", path.display()))?;
        Ok(Scratch {
            path: path.to_path_buf(),
            keep: false,
        })
    }

    /// Leaves the directory in place on drop.
    pub fn keep(&mut self) {
        self.keep = true;
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes a file in the scratch directory and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> Result<PathBuf> {
        let path = self.join(name);
        std::fs::write(&path, contents).with_context(|| format!("write {}", path.display()))?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.keep && std::env::var_os("VRRP_TEST_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Field `index` (1-based, as proc(5) numbers them) of a `/proc/.../stat` line. The command
/// name in parentheses may hold spaces, so fields are counted after its closing parenthesis.
pub fn stat_field(stat: &str, index: usize) -> Option<i64> {
    let after_name = stat.rsplit_once(')')?.1;
    after_name
        .split_whitespace()
        .nth(index.checked_sub(3)?)?
        .parse()
        .ok()
}

/// Counts lines holding each of a set of needles in a log that keeps growing, reading only what
/// was appended since the last look: a daemon that floods its log (keepalived at scale logs
/// thousands of lines a second) would make reading the whole file each time ever slower.
#[derive(Debug)]
pub struct LogTally {
    path: PathBuf,
    needles: Vec<String>,
    counts: Vec<usize>,
    /// Bytes read so far (up to the last complete line).
    offset: u64,
}

impl LogTally {
    pub fn new(path: &Path, needles: &[&str]) -> LogTally {
        LogTally {
            path: path.to_path_buf(),
            needles: needles.iter().map(|n| n.to_string()).collect(),
            counts: vec![0; needles.len()],
            offset: 0,
        }
    }

    /// Reads what was appended and returns, per needle, how many lines so far contain it.
    pub fn update(&mut self) -> &[usize] {
        use std::io::{Read, Seek, SeekFrom};
        let mut appended = Vec::new();
        let read = std::fs::File::open(&self.path).and_then(|mut file| {
            file.seek(SeekFrom::Start(self.offset))?;
            file.read_to_end(&mut appended)
        });
        if read.is_err() {
            return &self.counts;
        }
        // A line still being written is left for the next look.
        let complete = appended
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(0, |at| at + 1);
        for line in String::from_utf8_lossy(&appended[..complete]).lines() {
            for (needle, count) in self.needles.iter().zip(self.counts.iter_mut()) {
                if line.contains(needle.as_str()) {
                    *count += 1;
                }
            }
        }
        self.offset += complete as u64;
        &self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_tally_counts_complete_lines_once_as_the_log_grows() {
        let scratch = Scratch::new("log-tally").expect("scratch");
        let path = scratch.join("daemon.log");
        let mut log = std::fs::File::create(&path).expect("log");
        let mut tally = LogTally::new(&path, &["MASTER", "BACKUP"]);
        write!(log, "a MASTER\nb BACKUP\nc MAS").expect("write");
        assert_eq!(tally.update(), &[1, 1]);
        // The line finished: counted once, with what follows.
        write!(log, "TER\nd BACKUP (init)\n").expect("write");
        assert_eq!(tally.update(), &[2, 2]);
        assert_eq!(tally.update(), &[2, 2]);
    }
}
