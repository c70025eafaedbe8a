//! `vrrpd upgrade`'s stand-in: while the daemon execs its next image, a child forked by the
//! protocol thread sends every master's adverts on their schedule, so that the time the next
//! image takes to come up (the loader, the configuration, the XDP adoption: 5 ms on an idle
//! machine of this kind, 12 ms and more on a loaded one, against 10 ms adverts) never shows on
//! the wire. The next image relieves it the moment its own protocol thread is about to run
//! (SIGKILL, then reaped) and goes on from the last advert it sent.
//!
//! The child is forked from a multi-threaded process, so it runs only code that allocates
//! nothing and takes no lock: everything it needs ([`Schedule`]) is built before the fork, and
//! it calls the kernel directly. It first closes every descriptor but its sockets and its
//! record (the pid file's lock, the control socket and the metrics port belong to the next
//! image), and it ends by itself after [`LIFETIME`] if no image relieves it.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use vrrp_common::time::{Instant, next_advert_due};

use crate::net::advert::Frame;
use crate::net::sys::{self, monotonic_now};

/// How long a stand-in sends if no image relieves it: an image that never comes up leaves the
/// election to the backups after this, as a crash does.
const LIFETIME: Duration = Duration::from_secs(3);
/// How long the protocol thread waits for the child to let go of the other descriptors.
const READY_WAIT_MS: i32 = 100;
/// Names the stand-in for the next image, as "PID DESCRIPTOR" (plain text, so that an image
/// that cannot read the hand-over still relieves it).
pub const VARIABLE: &str = "VRRPD_STAND_IN";
/// The memfd the child records its adverts in.
const RECORD_NAME: &CStr = c"vrrpd-stand-in";
/// A record slot per schedule: the adverts sent, and when the last one left (CLOCK_MONOTONIC
/// nanoseconds), each a native-endian u64.
const SLOT: usize = 16;

/// One master's adverts, as its protocol thread would have gone on sending them.
pub struct Schedule {
    /// The raw socket they leave by, and its interface (the scope of link-local destinations).
    pub socket: RawFd,
    pub scope: u32,
    pub frames: Vec<Frame>,
    pub next_due: Instant,
    pub interval: Duration,
}

/// What the stand-in sent for one schedule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sent {
    pub count: u64,
    pub last: Instant,
}

/// A running stand-in: the old image's handle, then the next image's. Dropped without
/// [`StandIn::relieve`] (an upgrade that failed, an image that cannot go on), it is stopped.
#[derive(Debug)]
pub struct StandIn {
    pid: libc::pid_t,
    record: OwnedFd,
    slots: usize,
}

impl StandIn {
    /// Forks the stand-in and waits until it has let go of every other descriptor.
    pub fn start(schedules: &[Schedule]) -> io::Result<StandIn> {
        // SAFETY: memfd_create with a valid C string; owned below.
        let record =
            sys::check(unsafe { libc::memfd_create(RECORD_NAME.as_ptr(), libc::MFD_CLOEXEC) })?;
        // SAFETY: a descriptor just created.
        let record = unsafe { OwnedFd::from_raw_fd(record) };
        let length = (schedules.len() * SLOT) as libc::off_t;
        // SAFETY: ftruncate on our memfd.
        sys::check(unsafe { libc::ftruncate(record.as_raw_fd(), length) })?;
        let mut pipe = [0; 2];
        // SAFETY: pipe2 fills two descriptors, owned below.
        sys::check(unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) })?;
        // SAFETY: as above.
        let (ready_read, ready_write) =
            unsafe { (OwnedFd::from_raw_fd(pipe[0]), OwnedFd::from_raw_fd(pipe[1])) };
        // Everything the child uses, allocated here.
        let mut keep: Vec<RawFd> = schedules
            .iter()
            .map(|s| s.socket)
            .chain([record.as_raw_fd(), ready_write.as_raw_fd()])
            .collect();
        keep.sort_unstable();
        keep.dedup();
        let mut next: Vec<Instant> = schedules.iter().map(|s| s.next_due).collect();
        let mut counts = vec![0u64; schedules.len()];
        let end = monotonic_now() + LIFETIME;
        // SAFETY: the child runs `stand_in` alone, which allocates nothing, takes no lock and
        // never returns.
        let pid = sys::check(unsafe { libc::fork() })?;
        if pid == 0 {
            let child = Child {
                schedules,
                next: &mut next,
                counts: &mut counts,
                record: record.as_raw_fd(),
                end,
            };
            child.run(&keep, ready_write.as_raw_fd());
        }
        drop(ready_write);
        let mut stand_in = StandIn {
            pid,
            record,
            slots: schedules.len(),
        };
        let mut poll = libc::pollfd {
            fd: ready_read.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let polled = unsafe { libc::poll(&mut poll, 1, READY_WAIT_MS) };
        let mut byte = 0u8;
        // SAFETY: reading one byte into a local.
        if polled != 1 || unsafe { libc::read(poll.fd, (&mut byte as *mut u8).cast(), 1) } != 1 {
            stand_in.stop();
            return Err(io::Error::other("the stand-in did not come up"));
        }
        Ok(stand_in)
    }

    /// What the next image finds in [`VARIABLE`].
    pub fn environment(&self) -> String {
        format!("{} {}", self.pid, self.record.as_raw_fd())
    }

    /// Lets the record's descriptor through the exec (it is close-on-exec until now, so that
    /// no script started meanwhile inherits it).
    pub fn keep_across_exec(&self) -> io::Result<()> {
        // SAFETY: fcntl on our own descriptor.
        sys::check(unsafe { libc::fcntl(self.record.as_raw_fd(), libc::F_SETFD, 0) }).map(drop)
    }

    /// The stand-in the previous image left this one, from [`VARIABLE`] (removed from the
    /// environment). Call while this is the only thread. `None` without one, or when the
    /// variable does not name a stand-in's record.
    pub fn from_environment() -> Option<StandIn> {
        let value = std::env::var(VARIABLE).ok();
        // SAFETY: called at start-up, before any other thread exists.
        unsafe { std::env::remove_var(VARIABLE) };
        let (pid, fd) = value?.split_once(' ').and_then(|(pid, fd)| {
            Some((pid.parse::<libc::pid_t>().ok()?, fd.parse::<RawFd>().ok()?))
        })?;
        // The descriptor must be a stand-in's record, not whatever a caller's environment names.
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
        let expected = format!("/memfd:{}", RECORD_NAME.to_string_lossy());
        if pid <= 0 || !link.to_string_lossy().starts_with(&expected) {
            return None;
        }
        // SAFETY: the descriptor was handed to this image for it alone (checked above).
        let record = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: fstat into a local.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let size = match unsafe { libc::fstat(record.as_raw_fd(), &mut stat) } {
            0 => stat.st_size as usize,
            _ => 0,
        };
        Some(StandIn {
            pid,
            record,
            slots: size / SLOT,
        })
    }

    /// Stops the stand-in and reads what it sent, slot by slot.
    pub fn relieve(mut self) -> Vec<Sent> {
        self.stop();
        let mut slots = vec![Sent::default(); self.slots];
        for (index, slot) in slots.iter_mut().enumerate() {
            let mut bytes = [0u8; SLOT];
            // SAFETY: reading SLOT bytes into a local buffer.
            let read = unsafe {
                libc::pread(
                    self.record.as_raw_fd(),
                    bytes.as_mut_ptr().cast(),
                    SLOT,
                    (index * SLOT) as libc::off_t,
                )
            };
            if read == SLOT as isize {
                *slot = decode(&bytes);
            }
        }
        slots
    }

    /// The stand-in's process (0 once stopped).
    pub fn pid(&self) -> libc::pid_t {
        self.pid
    }

    /// Stops and reaps the child, once: a reaped PID may be another process's.
    fn stop(&mut self) {
        if self.pid <= 0 {
            return;
        }
        // SAFETY: signalling and reaping our own child (the exec keeps the parent's PID).
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
        }
        self.pid = 0;
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop();
    }
}

fn encode(sent: Sent) -> [u8; SLOT] {
    let mut bytes = [0u8; SLOT];
    bytes[..8].copy_from_slice(&sent.count.to_ne_bytes());
    bytes[8..].copy_from_slice(&sent.last.as_ns().to_ne_bytes());
    bytes
}

fn decode(bytes: &[u8; SLOT]) -> Sent {
    let mut count = [0u8; 8];
    let mut last = [0u8; 8];
    count.copy_from_slice(&bytes[..8]);
    last.copy_from_slice(&bytes[8..]);
    Sent {
        count: u64::from_ne_bytes(count),
        last: Instant::from_ns(u64::from_ne_bytes(last)),
    }
}

/// The forked child: nothing here allocates, locks or panics.
struct Child<'a> {
    schedules: &'a [Schedule],
    next: &'a mut [Instant],
    counts: &'a mut [u64],
    record: RawFd,
    end: Instant,
}

impl Child<'_> {
    fn run(mut self, keep: &[RawFd], ready: RawFd) -> ! {
        // The protocol thread's priority (SCHED_RESET_ON_FORK gave the child normal
        // scheduling): these sends are the master's adverts. Refused: it runs at normal
        // priority, as the thread then did.
        let param = libc::sched_param { sched_priority: 1 };
        // SAFETY: system calls on this process with valid arguments.
        unsafe {
            libc::sched_setscheduler(0, libc::SCHED_FIFO, &param);
            libc::prctl(libc::PR_SET_TIMERSLACK, 1, 0, 0, 0);
        }
        // The daemon's handlers (which write to descriptors closed below) do not apply here:
        // a stop signal ends the stand-in.
        for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            // SAFETY: restoring a signal's default action.
            unsafe { libc::signal(signal, libc::SIG_DFL) };
        }
        // The thread that forked may hold the daemon's requests blocked (its mask is ours).
        super::hold_requests(super::Hold::Release);
        close_all_but(keep);
        // SAFETY: writing one byte to our pipe, then closing it.
        unsafe {
            libc::write(ready, b"r".as_ptr().cast(), 1);
            libc::close(ready);
        }
        while let Some((index, due)) = self.next_due() {
            sleep_until(due);
            self.send(index, due);
        }
        // SAFETY: ending the child without running the parent's destructors.
        unsafe { libc::_exit(0) }
    }

    /// The schedule due first and when, while the stand-in's lifetime lasts.
    fn next_due(&self) -> Option<(usize, Instant)> {
        self.next
            .iter()
            .copied()
            .enumerate()
            .min_by_key(|&(_, due)| due)
            .filter(|&(_, due)| due < self.end)
    }

    fn send(&mut self, index: usize, due: Instant) {
        let (Some(schedule), Some(count), Some(next)) = (
            self.schedules.get(index),
            self.counts.get_mut(index),
            self.next.get_mut(index),
        ) else {
            return;
        };
        // SAFETY: the socket stays open in this process until it ends.
        let socket = unsafe { BorrowedFd::borrow_raw(schedule.socket) };
        for frame in &schedule.frames {
            let _ = sys::send_packet(
                socket,
                &frame.bytes,
                frame.destination,
                schedule.scope,
                frame.hop_limit,
            );
        }
        let now = monotonic_now();
        *count = count.saturating_add(1);
        // Recorded after the send: a stand-in stopped between the two makes the next image
        // send that advert again, never skip it.
        let bytes = encode(Sent {
            count: *count,
            last: now,
        });
        // SAFETY: writing SLOT bytes from a local buffer into our memfd.
        unsafe {
            libc::pwrite(
                self.record,
                bytes.as_ptr().cast(),
                SLOT,
                (index * SLOT) as libc::off_t,
            )
        };
        *next = next_advert_due(due, schedule.interval, now);
    }
}

/// Closes every descriptor of this process but `keep` (sorted).
fn close_all_but(keep: &[RawFd]) {
    let mut from: u32 = 0;
    for &fd in keep {
        let fd = fd.max(0) as u32;
        if fd > from {
            close_range(from, fd - 1);
        }
        from = fd.saturating_add(1);
    }
    close_range(from, u32::MAX);
}

fn close_range(first: u32, last: u32) {
    // SAFETY: closing descriptors of this process that nothing in it uses any more.
    unsafe { libc::syscall(libc::SYS_close_range, first, last, 0) };
}

/// Sleeps until `due` on CLOCK_MONOTONIC (through signals).
fn sleep_until(due: Instant) {
    let ns = due.as_ns();
    let at = libc::timespec {
        tv_sec: (ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (ns % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: a valid timespec; no remainder is asked for with TIMER_ABSTIME.
    while unsafe {
        libc::clock_nanosleep(
            libc::CLOCK_MONOTONIC,
            libc::TIMER_ABSTIME,
            &at,
            std::ptr::null_mut(),
        )
    } == libc::EINTR
    {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_slot_reads_back_as_written() {
        let sent = Sent {
            count: 7,
            last: Instant::from_ns(123_456_789_012),
        };
        assert_eq!(decode(&encode(sent)), sent);
    }
}
