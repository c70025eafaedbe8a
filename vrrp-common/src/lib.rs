//! Shared between the XDP program (`vrrp-ebpf`, bpfel-unknown-none) and the host (`vrrp-user`):
//! wire formats, the types of the BPF maps, the counters, and the protocol's decision rules.
//!
//! Everything here is `no_std`, allocation-free and panic-free on any input, because the same
//! code runs inside the kernel's verifier-checked program. The `user` feature adds host-only
//! trait impls (`aya::Pod`).
#![no_std]

pub mod maps;
pub mod rules;
pub mod stats;
pub mod time;
pub mod wire;

/// Returns `value` unchanged, but the optimiser cannot see through it.
///
/// In the XDP program the kernel's verifier checks every memory access against the bound checks
/// it sees on the same register. LLVM sometimes rewrites a check in terms of another value
/// (say, a length field instead of the offset computed from it), which the verifier cannot
/// relate back. Passing the offset through here keeps the check on the offset itself.
#[inline(always)]
pub fn opaque(value: usize) -> usize {
    // SAFETY: a volatile read of a local that is initialised.
    unsafe { core::ptr::read_volatile(&value) }
}
