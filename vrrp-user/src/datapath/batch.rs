//! Reading a whole BPF hash map in one system call (BPF_MAP_LOOKUP_BATCH, Linux 5.6).
//!
//! aya reads a map one key at a time. Status and metrics read every instance's CONFIG entry
//! (which names its LIVENESS slot) this way: at a thousand instances, one call rather than two
//! thousand.

use std::os::fd::{AsFd, AsRawFd};

use aya::Pod;
use aya::maps::MapData;

/// `union bpf_attr`'s `batch` member (include/uapi/linux/bpf.h).
#[repr(C)]
#[derive(Default)]
struct BatchAttr {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
    flags: u64,
}

/// `enum bpf_cmd`'s BPF_MAP_LOOKUP_BATCH.
const BPF_MAP_LOOKUP_BATCH: libc::c_long = 24;

/// Every entry of the hash map `map` (keys `K`, values `V`, at most `capacity` entries), read
/// with as few system calls as the kernel allows (one when they fit in `capacity`).
pub fn lookup_all<K: Pod, V: Pod>(map: &MapData, capacity: usize) -> std::io::Result<Vec<(K, V)>> {
    let capacity = capacity.max(1);
    let fd = map.fd().as_fd().as_raw_fd();
    let mut keys: Vec<K> = vec![zeroed(); capacity];
    let mut values: Vec<V> = vec![zeroed(); capacity];
    let mut entries = Vec::new();
    // The kernel's position in the hash table between calls (a bucket index, u32 for hash
    // maps; room for a u64 is given).
    let mut position = 0u64;
    let mut first = true;
    loop {
        let mut attr = BatchAttr {
            in_batch: if first {
                0
            } else {
                &position as *const u64 as u64
            },
            out_batch: &mut position as *mut u64 as u64,
            keys: keys.as_mut_ptr() as u64,
            values: values.as_mut_ptr() as u64,
            count: u32::try_from(capacity).unwrap_or(u32::MAX),
            map_fd: fd as u32,
            ..BatchAttr::default()
        };
        // SAFETY: bpf(2) with an attribute block of the size passed; the key and value
        // buffers hold `count` elements of the map's key and value sizes (K and V are the
        // map's types), and the kernel writes at most `count` of each.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_MAP_LOOKUP_BATCH,
                &mut attr as *mut BatchAttr,
                std::mem::size_of::<BatchAttr>() as libc::c_uint,
            )
        };
        // ENOENT: the end of the map; `count` still says how many this call wrote.
        let at_end = rc < 0;
        if at_end {
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::ENOENT) {
                return Err(error);
            }
        }
        let written = (attr.count as usize).min(capacity);
        entries.extend(
            keys[..written]
                .iter()
                .copied()
                .zip(values[..written].iter().copied()),
        );
        if at_end || written == 0 {
            return Ok(entries);
        }
        first = false;
    }
}

fn zeroed<T: Pod>() -> T {
    // SAFETY: Pod types are plain data, valid for any bit pattern, zeros included.
    unsafe { std::mem::zeroed() }
}
