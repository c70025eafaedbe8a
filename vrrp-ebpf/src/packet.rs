//! Access to the frame: bounds-checked pointers for fixed offsets (read and written in place),
//! and copies out for the shared parsers of variable-length headers.

use aya_ebpf::helpers::generated::bpf_xdp_load_bytes;
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

/// The frame's first `N` bytes, in place, if it is that long: read and rewritten directly,
/// with no copy in or out (the ARP responder's whole frame).
// The frame is not memory the context owns in Rust's sense: the kernel hands this program run
// the frame, and the context is only the handle to it, so a shared context gives a mutable view.
#[allow(clippy::mut_from_ref)]
#[inline(always)]
pub fn head_mut<const N: usize>(ctx: &XdpContext) -> Option<&mut [u8; N]> {
    let start: *const [u8; N] = ptr_at(ctx, 0)?;
    // SAFETY: ptr_at checked the N bytes lie inside the frame, which this program run owns.
    Some(unsafe { &mut *start.cast_mut() })
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

pub const L3_OFFSET: usize = ethernet::HEADER_LEN;
