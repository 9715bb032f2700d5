//! Block and inode allocation over the on-disk bitmaps.
//!
//! Bitmaps are read through the device on demand (the kernel's buffer cache
//! keeps hot ones in memory), so mounting a 256 GiB volume costs no bitmap I/O.

use crate::dev::{new_block, Device};
use crate::format::{
    seal_block, verify_block, BITS_PER_BITMAP_BLOCK, BLOCK_MAGIC_BBITMAP, BLOCK_MAGIC_IBITMAP,
    HEADER_SIZE,
};
use crate::{Errno, Fs, Result};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Map {
    Inodes,
    Blocks,
}

impl<D: Device> Fs<D> {
    fn map_geometry(&self, map: Map) -> (u64, u64, u32) {
        match map {
            Map::Inodes => (
                self.sb.inode_bitmap_start.get(),
                self.sb.inode_count.get(),
                BLOCK_MAGIC_IBITMAP,
            ),
            Map::Blocks => (
                self.sb.block_bitmap_start.get(),
                self.sb.block_count.get(),
                BLOCK_MAGIC_BBITMAP,
            ),
        }
    }

    fn read_bitmap(&mut self, map: Map, index: u64) -> Result<(u64, crate::dev::BlockBuf)> {
        let (start, _, magic) = self.map_geometry(map);
        let blk = start + index;
        let mut buf = new_block()?;
        self.read_blk(blk, &mut buf)?;
        if let Err(why) = verify_block(&buf, magic, blk, Some(0)) {
            return Err(self.corrupt(format_args!("bitmap block {}: {}", blk, why)));
        }
        Ok((blk, buf))
    }

    /// Whether bit `n` of `map` is set.
    pub fn bit_is_set(&mut self, map: Map, n: u64) -> Result<bool> {
        let (_, total, _) = self.map_geometry(map);
        if n >= total {
            return Err(Errno::EUCLEAN);
        }
        let (_, buf) = self.read_bitmap(map, n / BITS_PER_BITMAP_BLOCK)?;
        let bit = n % BITS_PER_BITMAP_BLOCK;
        let byte = buf
            .get(HEADER_SIZE + (bit / 8) as usize)
            .copied()
            .unwrap_or(0);
        Ok(byte & (1 << (bit % 8)) != 0)
    }

    /// Allocate up to `max` consecutive free bits, the first at or after
    /// `goal` (wrapping). Returns (first, count).
    pub fn alloc_bits(&mut self, map: Map, goal: u64, max: u32) -> Result<(u64, u32)> {
        let (_, total, _) = self.map_geometry(map);
        let free = match map {
            Map::Inodes => self.sb.free_inodes.get(),
            Map::Blocks => self.sb.free_blocks.get(),
        };
        if free == 0 || max == 0 {
            return Err(Errno::ENOSPC);
        }
        let goal = if goal >= total { 0 } else { goal };
        let nblocks = total.div_ceil(BITS_PER_BITMAP_BLOCK);
        let first_index = goal / BITS_PER_BITMAP_BLOCK;
        for step in 0..=nblocks {
            crate::dev::resched();
            let index = (first_index + step) % nblocks;
            let base = index * BITS_PER_BITMAP_BLOCK;
            let full = core::cmp::min(BITS_PER_BITMAP_BLOCK, total - base);
            // The last step revisits the goal's block below the goal.
            let (start_bit, limit) = if step == 0 {
                (goal - base, full)
            } else if step == nblocks {
                if goal == base {
                    break;
                }
                (0, core::cmp::min(goal - base, full))
            } else {
                (0, full)
            };
            let (blk, mut buf) = self.read_bitmap(map, index)?;
            // Blocks freed in the running transaction stay busy until it commits.
            let busy = if map == Map::Blocks && self.journal.freed_count() > 0 {
                let mut m = crate::mem::vec_from_slice(buf.get(HEADER_SIZE..).ok_or(Errno::EIO)?)?;
                self.journal.mask_freed(base, &mut m);
                Some(m)
            } else {
                None
            };
            let bits = buf.get_mut(HEADER_SIZE..).ok_or(Errno::EIO)?;
            let search: &[u8] = busy.as_deref().unwrap_or(bits);
            let Some(found) = find_zero(search, start_bit, limit) else {
                continue;
            };
            let mut count = 0u32;
            let mut b = found;
            while count < max && b < limit && !get_bit(search, b) {
                count += 1;
                b += 1;
            }
            for b in found..found + u64::from(count) {
                set_bit(bits, b, true);
            }
            seal_block(&mut buf);
            self.write_blk(blk, &buf)?;
            self.adjust_free(map, -(i64::from(count)));
            return Ok((base + found, count));
        }
        if map == Map::Blocks && self.journal.freed_count() >= free {
            // What is free was freed in the running transaction: usable
            // after the commit (begin_op commits early when space is low).
            return Err(Errno::ENOSPC);
        }
        // The free count said otherwise: the bitmap and superblock disagree.
        Err(self.corrupt(format_args!("free count {} but bitmap full", free)))
    }

    /// Release `count` bits starting at `first`.
    pub fn free_bits(&mut self, map: Map, first: u64, count: u64) -> Result<()> {
        let (_, total, _) = self.map_geometry(map);
        let end = first.checked_add(count).ok_or(Errno::EUCLEAN)?;
        if end > total {
            return Err(self.corrupt(format_args!(
                "freeing bits {}..{} beyond {}",
                first, end, total
            )));
        }
        if map == Map::Blocks {
            self.journal.forget(first, count)?;
        }
        let mut n = first;
        while n < end {
            let index = n / BITS_PER_BITMAP_BLOCK;
            let (blk, mut buf) = self.read_bitmap(map, index)?;
            let bits = buf.get_mut(HEADER_SIZE..).ok_or(Errno::EIO)?;
            let block_end = core::cmp::min(end, (index + 1) * BITS_PER_BITMAP_BLOCK);
            let mut freed = 0i64;
            let mut double = false;
            while n < block_end {
                let b = n - index * BITS_PER_BITMAP_BLOCK;
                if get_bit(bits, b) {
                    set_bit(bits, b, false);
                    freed += 1;
                } else {
                    double = true;
                }
                n += 1;
            }
            seal_block(&mut buf);
            self.write_blk(blk, &buf)?;
            self.adjust_free(map, freed);
            if double {
                self.log_err(format_args!(
                    "{:?} bitmap: freeing already-free bits near {}",
                    map, n
                ));
                self.errored = true;
            }
        }
        Ok(())
    }

    /// FITRIM: discard the runs of at least `minlen` free blocks in
    /// `start..start+len` of the data region. Blocks freed in the running
    /// transaction count as used (the commit may still need their old
    /// contents if it never happens). Returns the blocks discarded.
    pub fn trim(&mut self, start: u64, len: u64, minlen: u64) -> Result<u64> {
        let total = self.sb.block_count.get();
        let first = start.max(self.sb.data_start.get());
        let end = start.saturating_add(len).min(total);
        let minlen = minlen.max(1);
        let mut trimmed = 0u64;
        let mut run: Option<(u64, u64)> = None;
        let mut b = first;
        while b < end {
            let index = b / BITS_PER_BITMAP_BLOCK;
            let base = index * BITS_PER_BITMAP_BLOCK;
            let (_, buf) = self.read_bitmap(Map::Blocks, index)?;
            let mut bits = crate::mem::vec_from_slice(buf.get(HEADER_SIZE..).ok_or(Errno::EIO)?)?;
            self.journal.mask_freed(base, &mut bits);
            let stop = end.min(base + BITS_PER_BITMAP_BLOCK);
            while b < stop {
                if get_bit(&bits, b - base) {
                    if let Some((s, n)) = run.take() {
                        trimmed += self.discard_run(s, n, minlen)?;
                    }
                } else {
                    run = match run {
                        Some((s, n)) => Some((s, n + 1)),
                        None => Some((b, 1)),
                    };
                }
                b += 1;
            }
            crate::dev::resched();
        }
        if let Some((s, n)) = run {
            trimmed += self.discard_run(s, n, minlen)?;
        }
        Ok(trimmed)
    }

    fn discard_run(&mut self, start: u64, count: u64, minlen: u64) -> Result<u64> {
        if count < minlen {
            return Ok(0);
        }
        self.dev.discard(start, count)?;
        Ok(count)
    }

    fn adjust_free(&mut self, map: Map, delta: i64) {
        let field = match map {
            Map::Inodes => &mut self.sb.free_inodes,
            Map::Blocks => &mut self.sb.free_blocks,
        };
        let v = field.get().saturating_add_signed(delta);
        field.set(v);
        self.sb_dirty = true;
    }
}

fn get_bit(bits: &[u8], b: u64) -> bool {
    bits.get((b / 8) as usize)
        .is_some_and(|x| x & (1 << (b % 8)) != 0)
}

fn set_bit(bits: &mut [u8], b: u64, on: bool) {
    if let Some(x) = bits.get_mut((b / 8) as usize) {
        if on {
            *x |= 1 << (b % 8);
        } else {
            *x &= !(1 << (b % 8));
        }
    }
}

/// First clear bit in `start..limit`, skipping full bytes quickly.
fn find_zero(bits: &[u8], start: u64, limit: u64) -> Option<u64> {
    let mut b = start;
    while b < limit {
        // Full 64-bit words, then full bytes, are skipped whole: creating
        // many files near one goal scans past every inode allocated there.
        if b.is_multiple_of(64) {
            let i = (b / 8) as usize;
            if bits
                .get(i..i + 8)
                .is_some_and(|w| w.iter().all(|&x| x == 0xff))
            {
                b += 64;
                continue;
            }
        }
        if b.is_multiple_of(8) && bits.get((b / 8) as usize) == Some(&0xff) {
            b += 8;
            continue;
        }
        if !get_bit(bits, b) {
            return Some(b);
        }
        b += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_zero_skips_full_bytes() {
        let mut bits = [0xffu8; 8];
        bits[5] = 0b1110_1111;
        assert_eq!(find_zero(&bits, 0, 64), Some(44));
        assert_eq!(find_zero(&bits, 45, 64), None);
        assert_eq!(find_zero(&bits, 0, 40), None);
        let mut words = [0xffu8; 32];
        words[21] = 0b0111_1111;
        assert_eq!(find_zero(&words, 0, 256), Some(175));
        assert_eq!(find_zero(&words, 0, 170), None);
        assert_eq!(find_zero(&words, 176, 256), None);
    }
}
