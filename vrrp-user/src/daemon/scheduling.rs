//! keepalived's scheduling settings, applied where they matter in vrrpd: the nice value, memory
//! locking and CPU affinity to the whole process (before any thread starts, so every thread
//! inherits them), the real-time priority to the protocol thread alone — the thread whose
//! deadlines are the takeover times; address work, scripts and the control socket stay normal.
//! The protocol thread is real-time by default (see [`apply_to_protocol_thread`]).
//!
//! A setting the kernel refuses is logged and the daemon goes on, as keepalived does.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::{info, warn};

use crate::config::model::Scheduling;

/// Nice value, memory lock and CPU affinity for the process; call before starting threads.
pub fn apply_to_process(scheduling: &Scheduling) {
    if let Some(nice) = scheduling.nice {
        // SAFETY: setpriority on our own process has no memory-safety preconditions.
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } == 0 {
            info!("vrrp_priority: nice {nice}");
        } else {
            warn!("vrrp_priority {nice}: {}", std::io::Error::last_os_error());
        }
    }
    if scheduling.no_swap {
        // SAFETY: mlockall has no memory-safety preconditions.
        if unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) } == 0 {
            info!("vrrp_no_swap: memory locked");
        } else {
            warn!("vrrp_no_swap: {}", std::io::Error::last_os_error());
        }
    }
    if !scheduling.cpu_affinity.is_empty() {
        match set_affinity(&scheduling.cpu_affinity) {
            Ok(()) => info!("vrrp_cpu_affinity: CPUs {:?}", scheduling.cpu_affinity),
            Err(error) => warn!("vrrp_cpu_affinity {:?}: {error}", scheduling.cpu_affinity),
        }
    }
}

/// The priority the protocol thread takes when no `vrrp_rt_priority` is configured.
const DEFAULT_PROTOCOL_PRIORITY: i32 = 1;

/// The protocol thread's scheduling: `vrrp_rt_priority` (SCHED_RR) and `vrrp_rlimit_rttime` as
/// keepalived applies them, or else vrrpd's default, SCHED_FIFO at priority 1.
///
/// vrrpd deviates from keepalived here, which runs at normal priority unless told otherwise:
/// this thread's deadlines are the takeover times and the master's adverts, and on a busy
/// machine a normal-priority thread is woken a millisecond or more late (an advert gap of
/// 11-13 ms at 10 ms adverts while another process loads an XDP program). The thread does a
/// bounded amount of work per wake-up and sleeps in epoll, so priority 1, the lowest real-time
/// one, preempts only normal tasks; the kernel's real-time throttling
/// (`kernel.sched_rt_runtime_us`) still leaves them their share if it ever spun. Without
/// CAP_SYS_NICE the thread stays at normal priority.
pub fn apply_to_protocol_thread(thread: libc::pthread_t, scheduling: &Scheduling) {
    let Some(priority) = scheduling.rt_priority else {
        // SCHED_RESET_ON_FORK: nothing this thread might start inherits the priority.
        let policy = libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK;
        match set_thread_scheduling(thread, policy, DEFAULT_PROTOCOL_PRIORITY) {
            Ok(()) => {
                info!("the protocol thread runs SCHED_FIFO at priority {DEFAULT_PROTOCOL_PRIORITY}")
            }
            Err(error) => info!("the protocol thread runs at normal priority: {error}"),
        }
        return;
    };
    if let Some(limit_us) = scheduling.rlimit_rttime_us {
        let limit = libc::rlimit {
            rlim_cur: limit_us,
            rlim_max: limit_us,
        };
        // SAFETY: setrlimit reads a valid rlimit.
        if unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &limit) } != 0 {
            warn!(
                "vrrp_rlimit_rttime {limit_us}: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    match set_thread_scheduling(thread, libc::SCHED_RR, priority as i32) {
        Ok(()) => {
            info!("vrrp_rt_priority: the protocol thread runs SCHED_RR at priority {priority}")
        }
        Err(error) => warn!("vrrp_rt_priority {priority}: {error}"),
    }
}

fn set_thread_scheduling(
    thread: libc::pthread_t,
    policy: i32,
    priority: i32,
) -> std::io::Result<()> {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: `thread` is a live thread of this process (its JoinHandle is held by the
    // caller) and param is a valid sched_param.
    match unsafe { libc::pthread_setschedparam(thread, policy, &param) } {
        0 => Ok(()),
        errno => Err(std::io::Error::from_raw_os_error(errno)),
    }
}

fn set_affinity(cpus: &[usize]) -> std::io::Result<()> {
    // SAFETY: an all-zero cpu_set_t is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        // SAFETY: CPU_SET writes inside the set; the parser bounds cpu below CPU_SETSIZE.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: sched_setaffinity on our own process with a valid set of its size.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `vrrpd upgrade`: the thread about to exec runs SCHED_FIFO (priority 1) with
/// SCHED_RESET_ON_FORK, and keeps it across the exec, so that the new image comes up within the
/// advert interval on a loaded machine; the threads the new image starts do not inherit it, and
/// [`end_upgrade_boost`] drops it once the protocol thread runs. Refused (no CAP_SYS_NICE): the
/// upgrade goes on at normal priority.
pub fn boost_for_upgrade() {
    let param = libc::sched_param { sched_priority: 1 };
    // SAFETY: sched_setscheduler on the calling thread (0) with a valid sched_param.
    let rc = unsafe {
        libc::sched_setscheduler(0, libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK, &param)
    };
    if rc != 0 {
        tracing::debug!(
            "upgrade: no real-time priority for the exec ({})",
            std::io::Error::last_os_error()
        );
    }
}

/// Whether this image came by `vrrpd upgrade` and still runs its start-up boosted: the main
/// thread kept SCHED_FIFO across the exec ([`boost_for_upgrade`]).
static BOOSTED: AtomicBool = AtomicBool::new(false);
/// The threads [`boost_thread_if_upgrading`] raised, put back by [`end_upgrade_boost`].
static BOOSTED_THREADS: Mutex<Vec<libc::pid_t>> = Mutex::new(Vec::new());

/// Notes, first thing in `main`, whether the image arrived boosted.
pub fn note_upgrade_boost() {
    // SAFETY: sched_getscheduler on the calling thread has no preconditions.
    let policy = unsafe { libc::sched_getscheduler(0) } & !libc::SCHED_RESET_ON_FORK;
    BOOSTED.store(policy == libc::SCHED_FIFO, Ordering::SeqCst);
}

/// For the async runtime's `on_thread_start`: while an arriving image starts up, its worker
/// threads run boosted too, since the start-up's netlink requests are answered on them; on a
/// loaded machine a normal-priority worker made the first advert of the new image 3-6 ms late.
pub fn boost_thread_if_upgrading() {
    if !BOOSTED.load(Ordering::SeqCst) {
        return;
    }
    let param = libc::sched_param { sched_priority: 1 };
    // SAFETY: sched_setscheduler on the calling thread (0) with a valid sched_param.
    let rc = unsafe {
        libc::sched_setscheduler(0, libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK, &param)
    };
    if rc == 0
        && let Ok(mut threads) = BOOSTED_THREADS.lock()
    {
        // SAFETY: gettid has no preconditions.
        threads.push(unsafe { libc::gettid() });
    }
}

/// The new image's threads back to normal scheduling once its protocol thread runs (see
/// [`boost_for_upgrade`]).
pub fn end_upgrade_boost() {
    BOOSTED.store(false, Ordering::SeqCst);
    let param = libc::sched_param { sched_priority: 0 };
    let boosted = BOOSTED_THREADS
        .lock()
        .map(|mut threads| std::mem::take(&mut *threads))
        .unwrap_or_default();
    for thread in boosted {
        // SAFETY: sched_setscheduler on one of this process's threads with a valid
        // sched_param; a thread that has ended since gives ESRCH, which is fine.
        unsafe { libc::sched_setscheduler(thread, libc::SCHED_OTHER, &param) };
    }
    // SAFETY: as above, on the calling thread.
    if unsafe { libc::sched_getscheduler(0) } & !libc::SCHED_RESET_ON_FORK == libc::SCHED_FIFO {
        // SAFETY: as above.
        unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER, &param) };
    }
}
