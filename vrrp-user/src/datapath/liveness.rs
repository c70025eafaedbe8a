//! LIVENESS mapped into the daemon's memory, and the slots the instances have in it.
//!
//! The program writes each instance's record in an array map created with BPF_F_MMAPABLE
//! ([`vrrp_common::maps::LIVENESS_FLAGS`]); the daemon maps the array read-only and reads a
//! record with a plain memory read. A backup with a thousand instances reads every record
//! before each of its deadlines, some forty times a second: by system call (a lookup each, or
//! one batch lookup walking a hash table) that was most of its CPU (issue 20, target 5).
//!
//! A record may be read while the program writes it: each field is a latest timestamp, value
//! or count, so a record with some fields from before a write and some from after is as good
//! as either (the program itself tolerates overlapping writes the same way; see
//! `vrrp-ebpf/src/advert.rs`, `LivenessSlot`).

use std::os::fd::{AsFd, AsRawFd};
use std::ptr::NonNull;

use aya::maps::MapData;
use vrrp_common::maps::{InstanceKey, Liveness, MAX_INSTANCES};

/// The whole LIVENESS array, mapped read-only.
pub struct LivenessView {
    records: NonNull<Liveness>,
    length: usize,
}

// SAFETY: a read-only shared mapping that lives as long as the view; reads are volatile
// copies, so any thread may make them.
unsafe impl Send for LivenessView {}
// SAFETY: as above.
unsafe impl Sync for LivenessView {}

impl LivenessView {
    /// Maps the array `map` (LIVENESS, created mmapable with [`MAX_INSTANCES`] records).
    pub fn map(map: &MapData) -> std::io::Result<LivenessView> {
        // The kernel lays an mmapable array's values out back to back, each rounded up to 8
        // bytes (Liveness is a multiple of 8 already), from the start of the mapping.
        let length = std::mem::size_of::<Liveness>() * MAX_INSTANCES as usize;
        // SAFETY: a fresh read-only shared mapping of the map's descriptor; the kernel checks
        // the length against the map's size.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                length,
                libc::PROT_READ,
                libc::MAP_SHARED,
                map.fd().as_fd().as_raw_fd(),
                0,
            )
        };
        if address == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let records = NonNull::new(address.cast::<Liveness>())
            .ok_or_else(|| std::io::Error::other("mmap returned a null mapping"))?;
        Ok(LivenessView { records, length })
    }

    /// The record in `slot` (None past the array's end).
    pub fn read(&self, slot: u32) -> Option<Liveness> {
        if slot >= MAX_INSTANCES {
            return None;
        }
        // SAFETY: slot is within the mapping, which is aligned (page) and lives as long as
        // self; a volatile read, as the program writes the record meanwhile.
        Some(unsafe { std::ptr::read_volatile(self.records.as_ptr().add(slot as usize)) })
    }
}

impl Drop for LivenessView {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, unmapped once.
        unsafe { libc::munmap(self.records.as_ptr().cast(), self.length) };
    }
}

/// Which LIVENESS slot each instance has: given out when an instance first needs one, taken
/// back when it is removed.
#[derive(Debug, Default)]
pub struct Slots {
    /// foldhash: the protocol thread looks a thousand instances up before a deadline; std's
    /// SipHash would cost more than the reads.
    by_key: foldhash::HashMap<InstanceKey, u32>,
    /// Slots given back, reused first.
    free: Vec<u32>,
    /// Slots below this have been given out at some time.
    next: u32,
}

impl Slots {
    pub fn of(&self, key: &InstanceKey) -> Option<u32> {
        self.by_key.get(key).copied()
    }

    /// The instance's slot, given now if it has none (None: every slot is taken).
    pub fn give(&mut self, key: &InstanceKey) -> Option<u32> {
        if let Some(slot) = self.of(key) {
            return Some(slot);
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None if self.next < MAX_INSTANCES => {
                self.next += 1;
                self.next - 1
            }
            None => return None,
        };
        self.by_key.insert(*key, slot);
        Some(slot)
    }

    /// Records a slot given by a previous image of the daemon (read from its CONFIG entries).
    pub fn claim(&mut self, key: &InstanceKey, slot: u32) {
        if slot >= MAX_INSTANCES {
            return;
        }
        self.by_key.insert(*key, slot);
        self.free.retain(|&free| free != slot);
        while self.next <= slot {
            if self.next != slot && !self.by_key.values().any(|&taken| taken == self.next) {
                self.free.push(self.next);
            }
            self.next += 1;
        }
    }

    /// Takes the instance's slot back.
    pub fn take_back(&mut self, key: &InstanceKey) -> Option<u32> {
        let slot = self.by_key.remove(key)?;
        self.free.push(slot);
        Some(slot)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&InstanceKey, &u32)> {
        self.by_key.iter()
    }
}

#[cfg(test)]
mod tests {
    use vrrp_common::wire::Family;

    use super::*;

    fn key(vrid: u8) -> InstanceKey {
        InstanceKey::new(2, Family::Ipv4, vrid)
    }

    #[test]
    fn slots_are_given_once_taken_back_and_reused() {
        let mut slots = Slots::default();
        assert_eq!(slots.give(&key(1)), Some(0));
        assert_eq!(slots.give(&key(2)), Some(1));
        assert_eq!(
            slots.give(&key(1)),
            Some(0),
            "the same instance keeps its slot"
        );
        assert_eq!(slots.take_back(&key(1)), Some(0));
        assert_eq!(slots.of(&key(1)), None);
        assert_eq!(slots.give(&key(3)), Some(0), "a slot given back is reused");
        assert_eq!(slots.give(&key(4)), Some(2));
    }

    #[test]
    fn every_slot_can_be_given_and_no_more() {
        let mut slots = Slots::default();
        for index in 0..MAX_INSTANCES {
            let key = InstanceKey::new(index / 255 + 1, Family::Ipv6, (index % 255 + 1) as u8);
            assert_eq!(slots.give(&key), Some(index));
        }
        assert_eq!(slots.give(&InstanceKey::new(999, Family::Ipv4, 1)), None);
    }

    #[test]
    fn slots_claimed_from_a_previous_image_are_not_given_again() {
        let mut slots = Slots::default();
        slots.claim(&key(7), 3);
        slots.claim(&key(8), 0);
        let given: Vec<u32> = [9, 10, 11]
            .iter()
            .filter_map(|&vrid| slots.give(&key(vrid)))
            .collect();
        assert_eq!(given, vec![2, 1, 4]);
        assert_eq!(slots.of(&key(7)), Some(3));
    }
}
