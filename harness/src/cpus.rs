//! Where the lab's processes and the kernel's work for them run: tasks pinned to a CPU or made
//! real-time, processes started on a CPU, and an interface's receive processing steered to one
//! (on one host, so that two routers' work does not land on one CPU as it would on no pair of
//! real routers).

use anyhow::{Context, Result, bail};

use crate::netns::Netns;

/// Makes task `tid` run before every normal task of its CPU (SCHED_FIFO, the lowest real-time
/// priority).
pub fn run_before_normal_tasks(tid: i32) -> Result<()> {
    run_at_real_time(tid, 1)
}

/// Makes task `tid` (0: the calling thread) SCHED_FIFO at `priority`.
pub fn run_at_real_time(tid: i32, priority: i32) -> Result<()> {
    let parameters = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: sched_setscheduler with a valid sched_param.
    if unsafe { libc::sched_setscheduler(tid, libc::SCHED_FIFO, &parameters) } != 0 {
        bail!(
            "SCHED_FIFO {priority} for task {tid}: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// Pins every thread of process `pid` to `cpu`.
pub fn pin_process(pid: i32, cpu: usize) -> Result<()> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .with_context(|| format!("the threads of {pid}"))?;
    for task in tasks.flatten() {
        if let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) {
            pin_task(tid, cpu)?;
        }
    }
    Ok(())
}

/// Pins the calling thread to `cpu`.
pub fn pin_this_thread(cpu: usize) -> Result<()> {
    pin_task(0, cpu)
}

pub(crate) fn pin_task(tid: i32, cpu: usize) -> Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        bail!("no CPU {cpu}");
    }
    // SAFETY: an all-zero cpu_set_t is an empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: cpu is below CPU_SETSIZE, within the set.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    set_cpus(tid, &set).with_context(|| format!("pinning task {tid} to CPU {cpu}"))
}

/// Lets task `tid` (0: the calling thread) run on the CPUs of `set` only.
fn set_cpus(tid: i32, set: &libc::cpu_set_t) -> std::io::Result<()> {
    // SAFETY: sched_setaffinity with a valid set of its size.
    let rc = unsafe { libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), set) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Runs `start` with the calling thread pinned to `cpu`, then puts the thread's CPUs back: the
/// processes `start` spawns inherit the CPU, and every thread they start after it.
pub fn spawning_on<T>(cpu: usize, start: impl FnOnce() -> Result<T>) -> Result<T> {
    // SAFETY: an all-zero cpu_set_t is an empty set, filled by sched_getaffinity.
    let mut before: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: sched_getaffinity on the calling thread into a set of its size.
    let rc =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut before) };
    if rc != 0 {
        bail!(
            "the CPUs of this thread: {}",
            std::io::Error::last_os_error()
        );
    }
    pin_this_thread(cpu)?;
    let started = start();
    // Left on `cpu`, the caller's thread, and everything it starts later, would run there: an
    // error, not a bench that quietly measures something else (what `start` returned is
    // dropped, a daemon with it).
    set_cpus(0, &before).context("putting this thread's CPUs back")?;
    started
}

/// Steers the receive processing of every interface in `ns` to `cpu` (receive packet steering:
/// what a veth's peer hands it is processed there, not within the sender's system call on
/// the sender's CPU).
pub fn steer_receive(ns: &Netns, cpu: usize) -> Result<()> {
    if cpu >= 64 {
        bail!("no CPU {cpu} in an RPS mask this helper writes");
    }
    let mask = format!("{:x}", 1u64 << cpu);
    ns.run_ok([
        "sh",
        "-c",
        &format!(
            "for queue in /sys/class/net/*/queues/rx-*/rps_cpus; do echo {mask} > $queue; done"
        ),
    ])
    .with_context(|| format!("receive steering to CPU {cpu} in {}", ns.name()))
    .map(drop)
}
