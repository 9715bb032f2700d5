//! A bounded cache of graph row blocks (the HNSW graph on disk).
//!
//! The graph is not held in memory while mounted: its rows are read a
//! block at a time, on demand, and kept here as read until evicted (a
//! clock, second chance, within a byte budget; the kernel's shrinker frees
//! blocks too). A block an operation changed is dirty: pinned until the
//! next commit writes it in place (before the commit block, see
//! `Fs::commit`), then clean and evictable again. Eviction only runs
//! between operations (`trim`), so a block read while planning an insert
//! is still here when the insert writes it.

use crate::dev::BlockBuf;
use crate::format::BLOCK_SIZE;
use crate::{Errno, Result};
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use hashbrown::HashMap;

/// Bytes counted per block (the buffer and bookkeeping).
const BLOCK_BYTES: usize = BLOCK_SIZE + 64;

/// Damaged blocks remembered for re-linking; more are found again later
/// (each read of one logs and queues it).
const MAX_DAMAGED: usize = 64;

struct RowBlock {
    buf: BlockBuf,
    dirty: bool,
    referenced: bool,
    ticket: u64,
}

/// Row blocks keyed by their index in the graph area.
pub struct RowCache {
    map: HashMap<u64, RowBlock>,
    ring: VecDeque<(u64, u64)>,
    next_ticket: u64,
    budget: usize,
    dirty: usize,
    peak: usize,
    pub(crate) hits: u64,
    pub(crate) misses: u64,
    /// Blocks found damaged whose live nodes are still to be linked again.
    pub(crate) damaged: Vec<u64>,
    /// Damage reports logged (rate limit).
    pub(crate) logged: u64,
}

impl RowCache {
    pub fn new(budget: usize) -> Self {
        RowCache {
            map: HashMap::new(),
            ring: VecDeque::new(),
            next_ticket: 1,
            budget,
            dirty: 0,
            peak: 0,
            hits: 0,
            misses: 0,
            damaged: Vec::new(),
            logged: 0,
        }
    }

    pub fn bytes(&self) -> usize {
        self.map.len() * BLOCK_BYTES
    }

    pub fn count(&self) -> usize {
        self.map.len()
    }

    /// Blocks `shrink` may free (the clean ones).
    pub fn clean_count(&self) -> usize {
        self.map.len().saturating_sub(self.dirty)
    }

    pub fn peak(&self) -> usize {
        self.peak
    }

    /// Bytes of dirty blocks (pinned until the next commit).
    pub fn dirty_bytes(&self) -> usize {
        self.dirty * BLOCK_BYTES
    }

    /// Whether dirty blocks hold half the budget: time to commit.
    pub fn wants_commit(&self) -> bool {
        self.dirty_bytes() > self.budget / 2
    }

    pub fn get(&mut self, blk: u64) -> Option<&[u8; BLOCK_SIZE]> {
        let b = self.map.get_mut(&blk)?;
        b.referenced = true;
        self.hits += 1;
        Some(&b.buf)
    }

    /// The block to change: it becomes dirty.
    pub fn get_mut(&mut self, blk: u64) -> Option<&mut [u8; BLOCK_SIZE]> {
        let b = self.map.get_mut(&blk)?;
        if !b.dirty {
            b.dirty = true;
            self.dirty += 1;
        }
        b.referenced = true;
        Some(&mut b.buf)
    }

    /// Cache block `blk` (clean). Nothing is evicted here (see the module).
    pub fn insert(&mut self, blk: u64, buf: BlockBuf) -> Result<()> {
        if self.map.contains_key(&blk) {
            return Ok(());
        }
        if self.ring.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.ring
                .retain(|(b, t)| map.get(b).is_some_and(|e| e.ticket == *t));
        }
        crate::mem::map_reserve(&mut self.map, 1)?;
        self.ring.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.ring.push_back((blk, ticket));
        crate::mem::map_insert(
            &mut self.map,
            blk,
            RowBlock {
                buf,
                dirty: false,
                referenced: true,
                ticket,
            },
        )?;
        self.peak = self.peak.max(self.bytes());
        Ok(())
    }

    /// Free one clean block by the clock; false when none can go.
    fn evict_one(&mut self) -> bool {
        let mut rounds = self.ring.len() * 2;
        while rounds > 0 {
            rounds -= 1;
            let Some((blk, ticket)) = self.ring.pop_front() else {
                return false;
            };
            let Some(e) = self.map.get_mut(&blk).filter(|e| e.ticket == ticket) else {
                continue;
            };
            if e.dirty || e.referenced {
                e.referenced = false;
                if self.ring.try_reserve(1).is_err() {
                    return false;
                }
                self.ring.push_back((blk, ticket));
                continue;
            }
            self.map.remove(&blk);
            return true;
        }
        false
    }

    /// Evict clean blocks down to the budget (between operations).
    pub fn trim(&mut self) {
        while self.bytes() > self.budget {
            if !self.evict_one() {
                break;
            }
        }
    }

    /// Free up to `nr` clean blocks (memory pressure); how many went.
    pub fn shrink(&mut self, nr: usize) -> usize {
        let mut freed = 0;
        while freed < nr && self.evict_one() {
            freed += 1;
        }
        if self.map.is_empty() {
            self.ring = VecDeque::new();
        }
        freed
    }

    pub fn set_budget(&mut self, bytes: usize) {
        self.budget = bytes;
        self.trim();
    }

    pub fn budget(&self) -> usize {
        self.budget
    }

    /// The dirty blocks, ascending.
    pub fn dirty_list(&self) -> Result<Vec<u64>> {
        let mut v: Vec<u64> =
            crate::mem::collect(self.map.iter().filter(|(_, b)| b.dirty).map(|(&k, _)| k))?;
        v.sort_unstable();
        Ok(v)
    }

    /// Block `blk` as it is to be written.
    pub fn block_mut_for_write(&mut self, blk: u64) -> Option<&mut [u8; BLOCK_SIZE]> {
        self.map.get_mut(&blk).map(|b| &mut *b.buf)
    }

    /// Block `blk` was written home: clean again.
    pub fn mark_clean(&mut self, blk: u64) {
        if let Some(b) = self.map.get_mut(&blk) {
            if b.dirty {
                b.dirty = false;
                self.dirty = self.dirty.saturating_sub(1);
            }
        }
    }

    /// Remember damaged block `blk` for re-linking (bounded).
    pub fn note_damaged(&mut self, blk: u64) {
        if self.damaged.len() < MAX_DAMAGED && !self.damaged.contains(&blk) {
            // Not remembered when memory is short: found again when read.
            let _ = crate::mem::push(&mut self.damaged, blk);
        }
    }
}
