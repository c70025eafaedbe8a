//! Access to the frame of one program run: bounds-checked pointers for fixed offsets (read and
//! written in place), and copies out for the shared parsers of variable-length headers.

use aya_ebpf::helpers::generated::{bpf_xdp_adjust_tail, bpf_xdp_load_bytes};
use aya_ebpf::programs::XdpContext;
use vrrp_common::wire::ethernet;

pub const L3_OFFSET: usize = ethernet::HEADER_LEN;

/// The frame the kernel handed this program run. Every view of its bytes, shared or mutable, is
/// borrowed from the one `Frame`, so the borrow checker keeps a mutable view from aliasing any
/// other.
pub struct Frame<'a> {
    ctx: &'a XdpContext,
}

impl<'a> Frame<'a> {
    /// # Safety
    /// Call once per program run, in the entry point: the frame's bytes are not memory Rust
    /// knows about, and the borrows of this one value are what keeps views of them from
    /// aliasing. A second `Frame` over the same context would break that.
    #[inline(always)]
    pub unsafe fn new(ctx: &'a XdpContext) -> Frame<'a> {
        Frame { ctx }
    }

    #[inline(always)]
    pub fn ingress_ifindex(&self) -> u32 {
        self.ctx.ingress_ifindex() as u32
    }

    /// The frame's length in bytes.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.ctx.data_end() - self.ctx.data()
    }

    /// A pointer to a `T` at `offset`, if the frame is long enough (the check the verifier needs).
    #[inline(always)]
    fn ptr_at<T>(&self, offset: usize) -> Option<*mut T> {
        let start = self.ctx.data();
        if start + offset + core::mem::size_of::<T>() > self.ctx.data_end() {
            return None;
        }
        Some((start + offset) as *mut T)
    }

    /// A copy of the `T` at `offset` (a header read in place), if the frame is long enough.
    #[inline(always)]
    pub fn read<T: Copy>(&self, offset: usize) -> Option<T> {
        let at = self.ptr_at::<T>(offset)?;
        // SAFETY: ptr_at checked the bytes lie inside the frame; no mutable view exists while
        // `self` is borrowed shared.
        Some(unsafe { at.read_unaligned() })
    }

    /// The frame's first `N` bytes, in place, if it is that long: read and rewritten directly,
    /// with no copy in or out (the responders' whole frame).
    #[inline(always)]
    pub fn head_mut<const N: usize>(&mut self) -> Option<&mut [u8; N]> {
        let start = self.ptr_at::<[u8; N]>(0)?;
        // SAFETY: ptr_at checked the N bytes lie inside the frame; the exclusive borrow of the
        // one Frame (see `new`) makes this the only view of them.
        Some(unsafe { &mut *start })
    }

    /// The frame's EtherType.
    #[inline(always)]
    pub fn ethertype(&self) -> Option<u16> {
        self.read::<[u8; 2]>(12).map(u16::from_be_bytes)
    }

    /// Shortens the frame to its first `len` bytes (a reply smaller than the request it
    /// replaces); false if it is shorter already or the kernel refuses. Views taken before are
    /// stale afterwards, which the borrow of `self` enforces.
    #[inline(always)]
    pub fn truncate(&mut self, len: usize) -> bool {
        let current = self.len();
        if len > current {
            return false;
        }
        if len == current {
            return true;
        }
        let delta = -((current - len) as i32);
        // SAFETY: the context is this run's; the helper only moves data_end back.
        unsafe { bpf_xdp_adjust_tail(self.ctx.ctx, delta) == 0 }
    }

    /// Copies `len` bytes at `offset` of the frame into `buffer`; false if the frame is shorter.
    #[inline(always)]
    pub fn load(&self, offset: usize, buffer: &mut [u8], len: usize) -> bool {
        if len == 0 || len > buffer.len() {
            return false;
        }
        // SAFETY: buffer is valid for len bytes; the helper checks the frame side.
        let rc = unsafe {
            bpf_xdp_load_bytes(
                self.ctx.ctx,
                offset as u32,
                buffer.as_mut_ptr().cast(),
                len as u32,
            )
        };
        rc == 0
    }
}
