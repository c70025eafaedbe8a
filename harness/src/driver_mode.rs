//! What measuring XDP in driver mode on veth needs (issue 20, target 6): a pass-through program
//! on the other end of the link (veth delivers driver-mode XDP_TX frames only to a peer with
//! a program of its own), frames that arrive the way a NIC's driver receives them (as
//! xdp_frames, with no socket buffer: [`LiveFrames`]), the receive path of an interface on a
//! CPU of its own (threaded NAPI, its kernel thread pinned), and processes kept off that CPU.

use std::os::fd::{FromRawFd, OwnedFd};

use anyhow::{Context, Result, bail};

use crate::netns::Netns;
use crate::packet_socket::interface_index;

/// `enum bpf_cmd` (include/uapi/linux/bpf.h).
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_TEST_RUN: libc::c_long = 10;
const BPF_LINK_CREATE: libc::c_long = 28;
/// `enum bpf_prog_type`: BPF_PROG_TYPE_XDP.
const BPF_PROG_TYPE_XDP: u32 = 6;
/// `enum bpf_attach_type`: BPF_XDP.
const BPF_XDP: u32 = 37;
/// XDP_FLAGS_DRV_MODE (include/uapi/linux/if_link.h).
const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;
/// BPF_F_TEST_XDP_LIVE_FRAMES (include/uapi/linux/bpf.h).
const BPF_F_TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;
/// `enum xdp_action`.
const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;
const XDP_TX: u32 = 3;

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

/// The test-run attributes of `union bpf_attr` (BPF_PROG_TEST_RUN).
#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    /// Explicit, so that it is zero: the kernel refuses attributes with bytes set past the
    /// command's last field.
    _padding: u32,
}

/// `struct xdp_md`, the context a test run starts from.
#[repr(C)]
#[derive(Default)]
struct XdpMd {
    data: u32,
    data_end: u32,
    data_meta: u32,
    ingress_ifindex: u32,
    rx_queue_index: u32,
    egress_ifindex: u32,
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

/// bpf(2): the kernel's return value, or its error.
fn bpf_call<T>(command: libc::c_long, attr: &mut T) -> std::io::Result<libc::c_long> {
    // SAFETY: bpf(2) with an attribute block of the size passed, whose pointers (if any) point
    // to memory the callers keep alive across the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            command,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(rc)
}

/// bpf(2) for a command that returns a new descriptor.
fn bpf<T>(command: libc::c_long, attr: &mut T) -> std::io::Result<OwnedFd> {
    let fd = bpf_call(command, attr)?;
    // SAFETY: a descriptor bpf(2) just returned, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// One eBPF instruction: opcode, destination and source registers, offset, immediate
/// (`struct bpf_insn`, little-endian).
fn instruction(opcode: u8, dst: u8, src: u8, offset: i16, immediate: i32) -> u64 {
    u64::from(opcode)
        | (u64::from(dst | (src << 4)) << 8)
        | (u64::from(offset as u16) << 16)
        | (u64::from(immediate as u32) << 32)
}

/// Opcodes used below (include/uapi/linux/bpf.h: class | size/op | mode/source).
const MOV64_IMM: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const MOV64_REG: u8 = 0xbf; // BPF_ALU64 | BPF_MOV | BPF_X
const ADD64_IMM: u8 = 0x07; // BPF_ALU64 | BPF_ADD | BPF_K
const LOAD_WORD: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const STORE_WORD_IMM: u8 = 0x62; // BPF_ST | BPF_MEM | BPF_W
const STORE_BYTE_IMM: u8 = 0x72; // BPF_ST | BPF_MEM | BPF_B
const JUMP_IF_GREATER_REG: u8 = 0x2d; // BPF_JMP | BPF_JGT | BPF_X
const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

/// Loads an XDP program.
fn load_program(instructions: &[u64]) -> Result<OwnedFd> {
    let license = c"GPL";
    let mut load = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_XDP,
        insn_cnt: instructions.len() as u32,
        insns: instructions.as_ptr() as u64,
        license: license.as_ptr() as u64,
        expected_attach_type: BPF_XDP,
        ..ProgLoadAttr::default()
    };
    bpf(BPF_PROG_LOAD, &mut load).context("loading an XDP program")
}

/// `r0 = verdict; exit`: every frame gets the same verdict.
fn load_verdict_program(verdict: u32) -> Result<OwnedFd> {
    load_program(&[
        instruction(MOV64_IMM, 0, 0, 0, verdict as i32),
        instruction(EXIT, 0, 0, 0, 0),
    ])
}

/// A program that writes `frame` over the start of the packet and transmits it (XDP_TX).
/// Live-frames mode recycles its pages without restoring their data, and a responder that
/// answers in place (XDP_TX) leaves its reply in them; writing the frame each time keeps every
/// frame sent the one asked for.
fn load_frame_writer(frame: &[u8]) -> Result<OwnedFd> {
    // Store offsets are 16 bits; a live frame fits in a page anyway.
    let length = i16::try_from(frame.len()).context("frame too long")?;
    let mut program = vec![
        // r2 = ctx->data, r3 = ctx->data_end (struct xdp_md).
        instruction(LOAD_WORD, 2, 1, 0, 0),
        instruction(LOAD_WORD, 3, 1, 4, 0),
        // if r2 + length > r3: too short a packet, send it as it is.
        instruction(MOV64_REG, 4, 2, 0, 0),
        instruction(ADD64_IMM, 4, 0, 0, i32::from(length)),
    ];
    let mut stores = Vec::new();
    let words = frame.chunks_exact(4);
    let tail_start = frame.len() - words.remainder().len();
    for (index, word) in words.enumerate() {
        let value = i32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        stores.push(instruction(STORE_WORD_IMM, 2, 0, (index * 4) as i16, value));
    }
    for (index, byte) in frame[tail_start..].iter().enumerate() {
        let offset = (tail_start + index) as i16;
        stores.push(instruction(STORE_BYTE_IMM, 2, 0, offset, i32::from(*byte)));
    }
    program.push(instruction(
        JUMP_IF_GREATER_REG,
        4,
        3,
        stores.len() as i16,
        0,
    ));
    program.extend(stores);
    program.push(instruction(MOV64_IMM, 0, 0, 0, XDP_TX as i32));
    program.push(instruction(EXIT, 0, 0, 0, 0));
    load_program(&program)
}

/// A program that gives every frame one verdict, attached in driver mode to one interface;
/// detached when dropped (the attachment is a bpf_link held here).
pub struct DriverModeProgram {
    _link: OwnedFd,
    _program: OwnedFd,
}

impl DriverModeProgram {
    /// One that passes every frame to the stack: on a veth, it gives the interface the NAPI
    /// instance driver-mode XDP_TX from its peer and threaded NAPI need.
    pub fn pass(ns: &Netns, interface: &str) -> Result<DriverModeProgram> {
        DriverModeProgram::attach(ns, interface, XDP_PASS)
    }

    /// One that drops every frame (still counted in the interface's rx_packets): a sink that
    /// costs its CPU as little as a frame can.
    pub fn drop_all(ns: &Netns, interface: &str) -> Result<DriverModeProgram> {
        DriverModeProgram::attach(ns, interface, XDP_DROP)
    }

    fn attach(ns: &Netns, interface: &str, verdict: u32) -> Result<DriverModeProgram> {
        ns.enter(|| -> Result<DriverModeProgram> {
            let ifindex = interface_index(interface)?;
            let program = load_verdict_program(verdict)?;
            let mut link = LinkCreateAttr {
                prog_fd: std::os::fd::AsRawFd::as_raw_fd(&program) as u32,
                target_ifindex: ifindex,
                attach_type: BPF_XDP,
                flags: XDP_FLAGS_DRV_MODE,
            };
            let link = bpf(BPF_LINK_CREATE, &mut link)
                .with_context(|| format!("attaching an XDP program to {interface}"))?;
            Ok(DriverModeProgram {
                _link: link,
                _program: program,
            })
        })?
    }
}

/// Transmits frames on an interface the way BPF_PROG_TEST_RUN's live-frames mode does: an
/// XDP program that returns XDP_TX runs on each frame, and the kernel turns that into a
/// transmit on the interface the run names as the frame's ingress. On a veth the peer then
/// receives xdp_frames, with no socket buffer, as a NIC's driver receives frames from its
/// ring; frames sent through a socket reach a veth peer's driver-mode program as socket
/// buffers, which veth first copies into a page of its own (veth_convert_skb_to_xdp_buff),
/// a cost no NIC has. The peer needs a program of its own (veth's NAPI), as for XDP_TX.
/// Opened in the namespace of the calling thread.
pub struct LiveFrames {
    program: OwnedFd,
    ifindex: u32,
    frame: Vec<u8>,
}

impl LiveFrames {
    /// The frames a batch of [`LiveFrames::transmit`] hands the interface's driver together
    /// (the kernel's default batch is NAPI_POLL_WEIGHT, 64).
    const BATCH: u32 = 64;

    /// Ready to transmit `frame` on `interface`.
    pub fn open(interface: &str, frame: &[u8]) -> Result<LiveFrames> {
        Ok(LiveFrames {
            program: load_frame_writer(frame)?,
            ifindex: interface_index(interface)?,
            frame: frame.to_vec(),
        })
    }

    /// Whether this kernel lets this process transmit live frames on `interface` (opened in
    /// the calling thread's namespace), tried with one `frame`. Some kernels refuse the
    /// live-frames mode with EPERM while running programs in the plain test mode (seen on
    /// 6.18.44-fc-v1300, as root, on 2026-12-07; the same kernel series' v1272 allowed it).
    pub fn allowed(interface: &str, frame: &[u8]) -> Result<bool> {
        match LiveFrames::open(interface, frame)?.transmit(1) {
            Ok(()) => Ok(true),
            Err(error)
                if error
                    .downcast_ref::<std::io::Error>()
                    .and_then(std::io::Error::raw_os_error)
                    == Some(libc::EPERM) =>
            {
                Ok(false)
            }
            Err(error) => Err(error),
        }
    }

    /// Transmits the frame `count` times; returns when they have been handed to the driver
    /// (which drops what its peer's ring cannot take).
    pub fn transmit(&self, count: u32) -> Result<()> {
        let frame = self.frame.as_slice();
        let context = XdpMd {
            data_end: frame.len() as u32,
            ingress_ifindex: self.ifindex,
            ..XdpMd::default()
        };
        let mut run = TestRunAttr {
            prog_fd: std::os::fd::AsRawFd::as_raw_fd(&self.program) as u32,
            data_size_in: frame.len() as u32,
            data_in: frame.as_ptr() as u64,
            repeat: count,
            ctx_size_in: std::mem::size_of::<XdpMd>() as u32,
            ctx_in: &context as *const XdpMd as u64,
            flags: BPF_F_TEST_XDP_LIVE_FRAMES,
            batch_size: Self::BATCH,
            ..TestRunAttr::default()
        };
        // `frame` and `context` outlive the call their addresses are passed to.
        bpf_call(BPF_PROG_TEST_RUN, &mut run).context("BPF_PROG_TEST_RUN in live-frames mode")?;
        Ok(())
    }
}

/// The kernel threads serving NAPI (threaded NAPI names them `napi/DEVICE-ID`).
fn napi_threads() -> Vec<i32> {
    vrrp_user::host::process_ids()
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.starts_with("napi/"))
        })
        .collect()
}

/// Moves `interface`'s receive processing (its NAPI polls: the XDP program in driver mode,
/// the stack above it) to kernel threads of its own and pins them to `cpu`. The interface
/// must have NAPI instances already (on veth: a driver-mode XDP program attached). Returns the
/// threads' ids.
pub fn pin_receive_path(ns: &Netns, interface: &str, cpu: usize) -> Result<Vec<i32>> {
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
    for &pid in &created {
        crate::cpus::pin_task(pid, cpu)?;
    }
    Ok(created)
}

/// Busy time of one CPU (user, nice, system, irq, softirq), in seconds, from /proc/stat's tick
/// counts; and of that, the time in softirq.
pub fn cpu_busy_and_softirq_seconds(cpu: usize) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let label = format!("cpu{cpu}");
    let line = stat
        .lines()
        .find(|line| line.split_whitespace().next() == Some(label.as_str()))?;
    crate::loadgen::busy_and_softirq_seconds_of(line)
}
