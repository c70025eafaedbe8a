//! Access to the frame: bounds-checked pointers for fixed offsets, and copies in and out for
//! the shared parsers.

use aya_ebpf::helpers::generated::{bpf_xdp_load_bytes, bpf_xdp_store_bytes};
use aya_ebpf::programs::XdpContext;
use vrrp_common::wire::ethernet;

/// A pointer to a `T` at `offset`, if the frame is long enough (the check the verifier needs).
#[inline(always)]
pub fn ptr_at<T>(ctx: &XdpContext, offset: usize) -> Option<*const T> {
    let start = ctx.data();
    let end = ctx.data_end();
    if start + offset + core::mem::size_of::<T>() > end {
        return None;
    }
    Some((start + offset) as *const T)
}

/// The frame's EtherType.
#[inline(always)]
pub fn ethertype(ctx: &XdpContext) -> Option<u16> {
    let field: *const [u8; 2] = ptr_at(ctx, 12)?;
    // SAFETY: ptr_at checked the two bytes are inside the frame.
    Some(u16::from_be_bytes(unsafe { *field }))
}

/// Copies `len` bytes at `offset` of the frame into `buffer`; false if the frame is shorter.
#[inline(always)]
pub fn load(ctx: &XdpContext, offset: usize, buffer: &mut [u8], len: usize) -> bool {
    if len == 0 || len > buffer.len() {
        return false;
    }
    // SAFETY: buffer is valid for len bytes; the helper checks the frame side.
    let rc = unsafe {
        bpf_xdp_load_bytes(
            ctx.ctx,
            offset as u32,
            buffer.as_mut_ptr().cast(),
            len as u32,
        )
    };
    rc == 0
}

/// Copies `bytes` into the frame at `offset`; false if the frame is shorter.
#[inline(always)]
pub fn store(ctx: &XdpContext, offset: usize, bytes: &mut [u8]) -> bool {
    // SAFETY: bytes is valid for its length; the helper checks the frame side.
    let rc = unsafe {
        bpf_xdp_store_bytes(
            ctx.ctx,
            offset as u32,
            bytes.as_mut_ptr().cast(),
            bytes.len() as u32,
        )
    };
    rc == 0
}

pub const L3_OFFSET: usize = ethernet::HEADER_LEN;
