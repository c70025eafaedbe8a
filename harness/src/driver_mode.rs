//! What measuring XDP in driver mode on veth needs (issue 20, target 6): a pass-through program
//! on the other end of the link (veth delivers driver-mode XDP_TX frames only to a peer with
//! a program of its own), the receive path of an interface on a CPU of its own (threaded NAPI,
//! its kernel thread pinned), and processes kept off that CPU.

use std::os::fd::{FromRawFd, OwnedFd};

use anyhow::{Context, Result, bail};

use crate::netns::Netns;

/// `enum bpf_cmd` (include/uapi/linux/bpf.h).
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_LINK_CREATE: libc::c_long = 28;
/// `enum bpf_prog_type`: BPF_PROG_TYPE_XDP.
const BPF_PROG_TYPE_XDP: u32 = 6;
/// `enum bpf_attach_type`: BPF_XDP.
const BPF_XDP: u32 = 37;
/// XDP_FLAGS_DRV_MODE (include/uapi/linux/if_link.h).
const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;

/// `r0 = XDP_PASS; exit`: two instructions of 8 bytes (opcode, registers, offset, immediate).
const PASS_PROGRAM: [u64; 2] = [
    // BPF_ALU64 | BPF_MOV | BPF_K (0xb7), dst r0, imm 2 (XDP_PASS).
    0xb7 | (2 << 32),
    // BPF_JMP | BPF_EXIT (0x95).
    0x95,
];

/// The load attributes of `union bpf_attr` up to `expected_attach_type`.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The link attributes of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_ifindex: u32,
    attach_type: u32,
    flags: u32,
}

fn bpf<T>(command: libc::c_long, attr: &mut T) -> std::io::Result<OwnedFd> {
    // SAFETY: bpf(2) with an attribute block of the size passed, whose pointers (if any) point
    // to memory that lives across the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            command,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a descriptor bpf(2) just returned, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// A program that passes every frame, attached in driver mode to one interface; detached when
/// dropped (the attachment is a bpf_link held here).
pub struct PassProgram {
    _link: OwnedFd,
    _program: OwnedFd,
}

impl PassProgram {
    /// Attaches it to `interface` of `ns`, in driver mode.
    pub fn attach_driver_mode(ns: &Netns, interface: &str) -> Result<PassProgram> {
        let name = std::ffi::CString::new(interface)?;
        ns.enter(|| -> Result<PassProgram> {
            // SAFETY: a valid C string.
            let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
            if ifindex == 0 {
                bail!("no interface {interface}");
            }
            let license = c"GPL";
            let mut load = ProgLoadAttr {
                prog_type: BPF_PROG_TYPE_XDP,
                insn_cnt: PASS_PROGRAM.len() as u32,
                insns: PASS_PROGRAM.as_ptr() as u64,
                license: license.as_ptr() as u64,
                expected_attach_type: BPF_XDP,
                ..ProgLoadAttr::default()
            };
            let program = bpf(BPF_PROG_LOAD, &mut load).context("loading the pass program")?;
            let mut link = LinkCreateAttr {
                prog_fd: std::os::fd::AsRawFd::as_raw_fd(&program) as u32,
                target_ifindex: ifindex,
                attach_type: BPF_XDP,
                flags: XDP_FLAGS_DRV_MODE,
            };
            let link = bpf(BPF_LINK_CREATE, &mut link)
                .with_context(|| format!("attaching the pass program to {interface}"))?;
            Ok(PassProgram {
                _link: link,
                _program: program,
            })
        })?
    }
}

/// The kernel threads serving NAPI (threaded NAPI names them `napi/DEVICE-ID`).
fn napi_threads() -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.starts_with("napi/"))
        })
        .collect()
}

/// Moves `interface`'s receive processing (its NAPI polls: the XDP program in driver mode,
/// the stack above it) to kernel threads of its own and pins them to `cpu`. The interface
/// must have NAPI instances already (on veth: a driver-mode XDP program attached).
pub fn pin_receive_path(ns: &Netns, interface: &str, cpu: usize) -> Result<()> {
    let before = napi_threads();
    ns.run_ok([
        "sh",
        "-c",
        &format!("echo 1 > /sys/class/net/{interface}/threaded"),
    ])
    .with_context(|| format!("threaded NAPI on {interface}"))?;
    let created: Vec<i32> = napi_threads()
        .into_iter()
        .filter(|pid| !before.contains(pid))
        .collect();
    if created.is_empty() {
        bail!("no NAPI thread appeared for {interface}");
    }
    for pid in created {
        pin_task(pid, cpu)?;
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

fn pin_task(tid: i32, cpu: usize) -> Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        bail!("no CPU {cpu}");
    }
    // SAFETY: an all-zero cpu_set_t is an empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: cpu is below CPU_SETSIZE, within the set.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: sched_setaffinity with a valid set of its size.
    let rc = unsafe { libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc != 0 {
        bail!(
            "pinning task {tid} to CPU {cpu}: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// Busy time of one CPU (everything but idle and iowait), in seconds, from /proc/stat's tick
/// counts; and of that, the time in softirq.
pub fn cpu_busy_and_softirq_seconds(cpu: usize) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let label = format!("cpu{cpu}");
    let line = stat
        .lines()
        .find(|line| line.split_whitespace().next() == Some(label.as_str()))?;
    crate::loadgen::busy_and_softirq_seconds_of(line)
}
