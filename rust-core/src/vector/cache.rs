//! A bounded cache of decoded vector slot blocks.
//!
//! Slot data is not kept in memory while mounted: the vectors are read on
//! demand, one slot block at a time, checked once when read and kept here
//! decoded (owner inode per slot, `per x dim` floats) until evicted. The
//! budget is in bytes; eviction is a clock (second chance) over the
//! entries. The kernel's shrinker frees entries too (`shrink`), so the
//! memory the vectors take is reclaimable.
//!
//! Searches read vectors through `&self` (the graph's `Vectors::get`) and
//! keep up to a batch of references at once. A miss then inserts while
//! other references are alive, so each entry's floats live in their own
//! heap allocation, held as a raw pointer: growing or rehashing the map
//! moves the entry, not its floats. An entry a reference was handed out
//! from during the current view is pinned (its `pinned` epoch is the
//! view's) and is freed only through `&mut self`, when no view exists.

use crate::{Errno, Result};
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::ptr::NonNull;
use hashbrown::HashMap;

/// Bookkeeping bytes counted per entry besides its floats and owners.
const ENTRY_OVERHEAD: usize = 96;

/// One slot block, decoded and checked.
pub(crate) struct Entry {
    /// `len` floats (`per x dim`) in an allocation of `cap` floats: the
    /// raw parts of a `Vec<f32>`, rebuilt and dropped in `Drop`.
    floats: NonNull<f32>,
    len: usize,
    cap: usize,
    /// Owning inode of each slot of the block (0 = free).
    owners: Vec<u64>,
    /// Tag of each slot (its incarnation; kept while free).
    tags: Vec<u32>,
    /// Epoch of the last view that handed out a reference into `floats`.
    pinned: Cell<u64>,
    /// Used since the clock hand last passed it.
    referenced: Cell<bool>,
    /// Unique per insertion: tells a ring position of this entry from a
    /// stale one of an entry since dropped.
    ticket: u64,
}

impl Entry {
    /// An entry owning `floats` (`per x dim`), `owners` and `tags` (`per`).
    pub(crate) fn new(floats: Vec<f32>, owners: Vec<u64>, tags: Vec<u32>) -> Self {
        let mut floats = core::mem::ManuallyDrop::new(floats);
        let (len, cap) = (floats.len(), floats.capacity());
        // A Vec's pointer is never null (dangling but aligned when empty).
        let floats = NonNull::new(floats.as_mut_ptr()).unwrap_or(NonNull::dangling());
        Entry {
            floats,
            len,
            cap,
            owners,
            tags,
            pinned: Cell::new(0),
            referenced: Cell::new(true),
            ticket: 0,
        }
    }

    fn bytes(&self) -> usize {
        self.cap * core::mem::size_of::<f32>()
            + self.owners.capacity() * core::mem::size_of::<u64>()
            + self.tags.capacity() * core::mem::size_of::<u32>()
            + ENTRY_OVERHEAD
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        // SAFETY: floats/len/cap are the raw parts of a Vec<f32> taken in
        // `new` and dropped only here, once.
        drop(unsafe { Vec::from_raw_parts(self.floats.as_ptr(), self.len, self.cap) });
    }
}

// SAFETY: an Entry owns its allocation exclusively (like the Vec it came
// from); the Cells are only touched under the mount's lock.
unsafe impl Send for Entry {}

struct Inner {
    map: HashMap<u64, Entry>,
    /// Clock order: (block, ticket); positions of dropped entries are
    /// skipped and compacted away.
    ring: VecDeque<(u64, u64)>,
    bytes: usize,
    peak: usize,
    next_ticket: u64,
}

/// What the cache reports (VEXFS_IOC_INFO, tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub bytes: u64,
    pub entries: u64,
    pub budget: u64,
    pub hits: u64,
    pub misses: u64,
    /// Most bytes ever held (a search may hold more than the budget: see
    /// `VecCache`).
    pub peak: u64,
}

/// Decoded slot blocks, keyed by slot block index, within a byte budget.
///
/// Between operations the cache holds at most `budget` bytes. Inside one
/// view (a search, an insert) the entries it handed out references into
/// are pinned and cannot be evicted, so a view may hold more: the blocks
/// one graph search touches (bounded by ef and M, not by the vector
/// count; exact scans are cut into chunks for that reason). `trim` brings
/// it back under the budget when the view ends.
pub struct VecCache {
    dim: usize,
    budget: usize,
    /// The current view's number (see `begin`).
    epoch: u64,
    inner: RefCell<Inner>,
    hits: Cell<u64>,
    misses: Cell<u64>,
}

impl VecCache {
    pub fn new(dim: usize, budget: usize) -> Self {
        VecCache {
            dim,
            budget,
            epoch: 1,
            inner: RefCell::new(Inner {
                map: HashMap::new(),
                ring: VecDeque::new(),
                bytes: 0,
                peak: 0,
                next_ticket: 1,
            }),
            hits: Cell::new(0),
            misses: Cell::new(0),
        }
    }

    /// A new view starts: no reference handed out before is alive any more
    /// (`&mut self` proves it), so nothing is pinned.
    pub(crate) fn begin(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
    }

    /// Slot `j` of block `blk` if cached: its owner and floats. Pins the
    /// entry for the current view.
    pub(crate) fn get(&self, blk: u64, j: usize) -> Option<(u64, &[f32])> {
        let inner = self.inner.try_borrow().ok()?;
        let e = inner.map.get(&blk)?;
        let owner = *e.owners.get(j)?;
        let start = j.checked_mul(self.dim)?;
        if start.checked_add(self.dim)? > e.len {
            return None;
        }
        e.pinned.set(self.epoch);
        e.referenced.set(true);
        self.hits.set(self.hits.get().wrapping_add(1));
        // SAFETY: `floats` points to `len` initialised floats owned by the
        // entry, and start + dim <= len. The allocation is not moved when
        // the map moves the entry, and it is freed only when the entry is
        // dropped: by `evict_one` for entries not pinned by this epoch, or
        // by the `&mut self` methods (trim, shrink, invalidate, clear),
        // which cannot run while `&self` (and so the returned slice, whose
        // lifetime is that of `&self`) is borrowed. The entry was pinned
        // above, so this view never evicts it.
        let v = unsafe { core::slice::from_raw_parts(e.floats.as_ptr().add(start), self.dim) };
        Some((owner, v))
    }

    /// Owner and tag of slot `j` of block `blk` if cached (no pin: no
    /// reference into the floats is handed out).
    pub(crate) fn head(&self, blk: u64, j: usize) -> Option<(u64, u32)> {
        let inner = self.inner.try_borrow().ok()?;
        let e = inner.map.get(&blk)?;
        e.referenced.set(true);
        Some((*e.owners.get(j)?, *e.tags.get(j)?))
    }

    /// Count a miss (the caller loads the block and `insert`s it).
    pub(crate) fn miss(&self) {
        self.misses.set(self.misses.get().wrapping_add(1));
    }

    /// Insert the decoded block `blk`, pinned for the current view, then
    /// evict unpinned entries while over budget. ENOMEM when the map or
    /// the clock cannot grow (the entry is dropped: not cached).
    pub(crate) fn insert(&self, blk: u64, mut e: Entry) -> Result<()> {
        let mut inner = self.inner.try_borrow_mut().map_err(|_| Errno::EIO)?;
        let inner = &mut *inner;
        if inner.map.contains_key(&blk) {
            return Ok(());
        }
        if inner.ring.len() > 2 * inner.map.len() + 64 {
            let map = &inner.map;
            inner
                .ring
                .retain(|(b, t)| map.get(b).is_some_and(|e| e.ticket == *t));
        }
        crate::mem::map_reserve(&mut inner.map, 1)?;
        inner.ring.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        e.ticket = inner.next_ticket;
        inner.next_ticket = inner.next_ticket.wrapping_add(1);
        e.pinned.set(self.epoch);
        inner.bytes += e.bytes();
        inner.ring.push_back((blk, e.ticket));
        // Room was reserved: cannot fail.
        crate::mem::map_insert(&mut inner.map, blk, e)?;
        inner.peak = inner.peak.max(inner.bytes);
        let mut budget_rounds = inner.ring.len() * 2 + 1;
        while inner.bytes > self.budget && budget_rounds > 0 {
            budget_rounds -= 1;
            if !Self::evict_one(inner, Some(self.epoch)) {
                break;
            }
        }
        Ok(())
    }

    /// Advance the clock hand until one entry is freed: entries used since
    /// the last pass get a second chance, entries pinned by `keep` (the
    /// current view's epoch) are passed over. False when nothing can go.
    fn evict_one(inner: &mut Inner, keep: Option<u64>) -> bool {
        let mut rounds = inner.ring.len() * 2;
        while rounds > 0 {
            rounds -= 1;
            let Some((blk, ticket)) = inner.ring.pop_front() else {
                return false;
            };
            let Some(e) = inner.map.get(&blk).filter(|e| e.ticket == ticket) else {
                continue; // a stale position
            };
            let pinned = keep.is_some_and(|ep| e.pinned.get() == ep);
            if pinned || e.referenced.get() {
                e.referenced.set(false);
                // Popped just now: the room is there.
                if inner.ring.try_reserve(1).is_err() {
                    return false;
                }
                inner.ring.push_back((blk, ticket));
                continue;
            }
            if let Some(e) = inner.map.remove(&blk) {
                inner.bytes = inner.bytes.saturating_sub(e.bytes());
            }
            return true;
        }
        false
    }

    /// Evict down to the budget (after a view, or when it shrinks).
    pub(crate) fn trim(&mut self) {
        let inner = self.inner.get_mut();
        while inner.bytes > self.budget {
            if !Self::evict_one(inner, None) {
                break;
            }
        }
    }

    /// Free up to `nr` entries (the kernel's shrinker); how many went.
    pub fn shrink(&mut self, nr: usize) -> usize {
        let inner = self.inner.get_mut();
        let mut freed = 0;
        while freed < nr && Self::evict_one(inner, None) {
            freed += 1;
        }
        if inner.map.is_empty() {
            inner.ring = VecDeque::new();
        }
        freed
    }

    /// Drop the cached copy of block `blk` (it is being written).
    pub(crate) fn invalidate(&mut self, blk: u64) {
        let inner = self.inner.get_mut();
        if let Some(e) = inner.map.remove(&blk) {
            inner.bytes = inner.bytes.saturating_sub(e.bytes());
        }
    }

    /// Drop everything.
    pub(crate) fn clear(&mut self) {
        let inner = self.inner.get_mut();
        inner.map = HashMap::new();
        inner.ring = VecDeque::new();
        inner.bytes = 0;
    }

    pub fn set_budget(&mut self, bytes: usize) {
        self.budget = bytes;
        self.trim();
    }

    /// Entries held (what the shrinker may free).
    pub fn count(&self) -> usize {
        self.inner.try_borrow().map(|i| i.map.len()).unwrap_or(0)
    }

    pub fn stats(&self) -> CacheStats {
        let (bytes, entries, peak) = self
            .inner
            .try_borrow()
            .map(|i| (i.bytes, i.map.len(), i.peak))
            .unwrap_or((0, 0, 0));
        CacheStats {
            bytes: bytes as u64,
            entries: entries as u64,
            budget: self.budget as u64,
            hits: self.hits.get(),
            misses: self.misses.get(),
            peak: peak as u64,
        }
    }
}
