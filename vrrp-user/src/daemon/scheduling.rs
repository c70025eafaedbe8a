//! keepalived's scheduling settings, applied where they matter in vrrpd: the nice value, memory
//! locking and CPU affinity to the whole process (before any thread starts, so every thread
//! inherits them), the real-time priority to the protocol thread alone — the thread whose
//! deadlines are the takeover times; address work, scripts and the control socket stay normal.
//!
//! A setting the kernel refuses is logged and the daemon goes on, as keepalived does.

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

/// `vrrp_rt_priority` (SCHED_RR) and `vrrp_rlimit_rttime` for the calling thread.
pub fn apply_to_protocol_thread(scheduling: &Scheduling) {
    let Some(priority) = scheduling.rt_priority else {
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
    let param = libc::sched_param {
        sched_priority: priority as i32,
    };
    // SAFETY: sched_setscheduler on the calling thread (0) with a valid sched_param.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_RR, &param) } == 0 {
        info!("vrrp_rt_priority: the protocol thread runs SCHED_RR at priority {priority}");
    } else {
        warn!(
            "vrrp_rt_priority {priority}: {}",
            std::io::Error::last_os_error()
        );
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

/// The new image's main thread back to normal scheduling (see [`boost_for_upgrade`]).
pub fn end_upgrade_boost() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: as above.
    if unsafe { libc::sched_getscheduler(0) } & !libc::SCHED_RESET_ON_FORK == libc::SCHED_FIFO {
        // SAFETY: as above.
        unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER, &param) };
    }
}
