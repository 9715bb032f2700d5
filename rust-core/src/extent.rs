//! Extent maps: which device blocks hold which file blocks.
//!
//! The inode holds up to four entries. Small maps are stored inline; larger
//! ones in a tree of at most two levels of extent blocks below the inode
//! (4 x 169 leaves of 169 extents). The whole map is kept sorted in memory
//! while the inode is cached and written back when it changes.

use crate::alloc_map::Map;
use crate::dev::{new_block, Device};
use crate::format::*;
use crate::fs::MAX_FILE_BLOCKS;
use crate::{Errno, Fs, Result};
use alloc::vec::Vec;
use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, IntoBytes};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    pub logical: u64,
    pub start: u64,
    pub len: u32,
    /// Allocated by fallocate, never written: reads as zeros.
    pub unwritten: bool,
}

impl Extent {
    pub fn end(&self) -> u64 {
        self.logical + u64::from(self.len)
    }

    /// `next` continues this extent on disk and in the file with the same
    /// state, so the two can be one (written and unwritten never merge).
    fn joins(&self, next: &Extent) -> bool {
        self.end() == next.logical
            && self.start + u64::from(self.len) == next.start
            && self.unwritten == next.unwritten
            && self.len.checked_add(next.len).is_some()
    }

    fn from_disk(e: &DiskExtent) -> Self {
        Extent {
            logical: e.logical.get(),
            start: e.start.get(),
            len: e.len.get(),
            unwritten: e.unwritten(),
        }
    }
}

/// One extent as FIEMAP reports it (blocks; `last`: no extent follows).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapExtent {
    pub logical: u64,
    pub start: u64,
    pub len: u64,
    pub unwritten: bool,
    pub last: bool,
}

/// `lseek` whence values for [`Fs::seek_data_hole`] (the Linux values).
pub const SEEK_DATA: u32 = 3;
pub const SEEK_HOLE: u32 = 4;

/// fallocate modes, the Linux FALLOC_FL_* values.
pub const FALLOC_FL_KEEP_SIZE: u32 = 0x01;
pub const FALLOC_FL_PUNCH_HOLE: u32 = 0x02;
pub const FALLOC_FL_ZERO_RANGE: u32 = 0x10;
/// Blocks one fallocate step handles: the kernel commits between steps, so
/// one operation's bitmap and extent blocks always fit in the journal.
pub const FALLOC_STEP_BLOCKS: u64 = 1 << 15;

/// Result of mapping file blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mapping {
    /// First device block (0 for a hole).
    pub pblock: u64,
    /// Blocks mapped contiguously from the requested one (0 for a hole).
    pub len: u32,
    /// The blocks were allocated by this call (the caller must initialise them).
    pub new: bool,
}

const MAX_DEPTH: u16 = 2;

fn to_disk(e: &Extent) -> DiskExtent {
    DiskExtent {
        logical: U64::new(e.logical),
        start: U64::new(e.start),
        len: U32::new(e.len),
        flags: U32::new(if e.unwritten { EXTENT_UNWRITTEN } else { 0 }),
    }
}

/// Make `at` an extent boundary: the extent spanning it is cut in two.
fn split_at(exts: &mut Vec<Extent>, at: u64) -> Result<()> {
    let idx = exts.partition_point(|e| e.end() <= at);
    let Some(e) = exts.get(idx).copied() else {
        return Ok(());
    };
    if e.logical >= at {
        return Ok(());
    }
    let head = (at - e.logical) as u32;
    let tail = Extent {
        logical: at,
        start: e.start + u64::from(head),
        len: e.len - head,
        unwritten: e.unwritten,
    };
    crate::mem::insert(exts, idx + 1, tail)?;
    if let Some(h) = exts.get_mut(idx) {
        h.len = head;
    }
    Ok(())
}

/// Join neighbours that continue each other (same state, contiguous).
fn coalesce(exts: &mut Vec<Extent>) {
    let mut w = 0usize;
    for r in 0..exts.len() {
        let (Some(cur), Some(prev)) = (exts.get(r).copied(), w.checked_sub(1)) else {
            w = 1;
            continue;
        };
        match exts.get_mut(prev) {
            Some(p) if p.joins(&cur) => p.len += cur.len,
            _ => {
                if let Some(slot) = exts.get_mut(w) {
                    *slot = cur;
                }
                w += 1;
            }
        }
    }
    exts.truncate(w);
}

/// Index range of the extents lying inside `first..end` once both are boundaries.
fn inside(exts: &[Extent], first: u64, end: u64) -> core::ops::Range<usize> {
    let a = exts.partition_point(|e| e.end() <= first);
    let b = exts.partition_point(|e| e.logical < end);
    a..b.max(a)
}

impl<D: Device> Fs<D> {
    /// Read the extent map of an inode being loaded.
    pub(crate) fn load_extents(
        &mut self,
        ino: u64,
        d: &DiskInode,
    ) -> Result<(Vec<Extent>, Vec<u64>)> {
        let depth = d.extent_depth.get();
        let count = d.extent_count.get() as usize;
        if depth > MAX_DEPTH || count > INLINE_EXTENTS {
            return Err(self.corrupt(format_args!(
                "inode {}: bad extent header (depth {}, count {})",
                ino, depth, count
            )));
        }
        let mut extents = Vec::new();
        let mut tree = Vec::new();
        let roots = d.extents.get(..count).ok_or(Errno::EIO)?;
        for e in roots {
            if !e.in_bounds(&self.sb, depth == 0) {
                return Err(self.corrupt(format_args!("inode {}: extent out of bounds", ino)));
            }
            if depth == 0 {
                crate::mem::push(&mut extents, Extent::from_disk(e))?;
            } else {
                self.load_extent_block(ino, e.start.get(), depth - 1, &mut extents, &mut tree)?;
            }
        }
        let mut prev_end = 0u64;
        let mut total = tree.len() as u64;
        for e in &extents {
            if e.logical < prev_end {
                return Err(self.corrupt(format_args!(
                    "inode {}: overlapping or unsorted extents",
                    ino
                )));
            }
            prev_end = e.end();
            total += u64::from(e.len);
        }
        if total != d.blocks.get() {
            return Err(self.corrupt(format_args!(
                "inode {}: block count {} but extents hold {}",
                ino,
                d.blocks.get(),
                total
            )));
        }
        Ok((extents, tree))
    }

    fn load_extent_block(
        &mut self,
        ino: u64,
        blk: u64,
        level: u16,
        out: &mut Vec<Extent>,
        tree: &mut Vec<u64>,
    ) -> Result<()> {
        if tree.len() > 4 + 4 * EXTENTS_PER_BLOCK {
            return Err(self.corrupt(format_args!("inode {}: extent tree too large", ino)));
        }
        let mut buf = new_block()?;
        self.read_blk(blk, &mut buf)?;
        let h = match verify_block(&buf, BLOCK_MAGIC_EXTENT, blk, Some(ino)) {
            Ok(h) => h,
            Err(why) => {
                return Err(
                    self.corrupt(format_args!("inode {}: extent block {}: {}", ino, blk, why))
                )
            }
        };
        let count = h.count.get() as usize;
        if h.level.get() != level || count == 0 || count > EXTENTS_PER_BLOCK {
            return Err(self.corrupt(format_args!(
                "inode {}: extent block {} has bad level/count",
                ino, blk
            )));
        }
        crate::mem::push(tree, blk)?;
        let body = buf
            .get(HEADER_SIZE..HEADER_SIZE + count * EXTENT_SIZE)
            .ok_or(Errno::EIO)?;
        let entries = <[DiskExtent]>::ref_from_bytes(body).map_err(|_| Errno::EIO)?;
        let entries: Vec<DiskExtent> = crate::mem::vec_from_slice(entries)?;
        for e in &entries {
            if !e.in_bounds(&self.sb, level == 0) {
                return Err(self.corrupt(format_args!(
                    "inode {}: extent out of bounds in block {}",
                    ino, blk
                )));
            }
            if level == 0 {
                crate::mem::push(out, Extent::from_disk(e))?;
            } else {
                self.load_extent_block(ino, e.start.get(), level - 1, out, tree)?;
            }
        }
        Ok(())
    }

    /// Write the in-memory extent map of `ino` back: inline when it fits,
    /// else as a tree, reusing the tree blocks it had.
    pub(crate) fn store_extents(&mut self, ino: u64) -> Result<()> {
        let inode = self.inodes.get(&ino).ok_or(Errno::EIO)?;
        let extents: Vec<DiskExtent> = crate::mem::collect(inode.extents.iter().map(to_disk))?;
        let mut old_tree = crate::mem::vec_from_slice(&inode.tree)?;
        let n = extents.len();
        let epb = EXTENTS_PER_BLOCK;
        let (depth, leaves, index_blocks) = if n <= INLINE_EXTENTS {
            (0u16, 0, 0)
        } else if n <= INLINE_EXTENTS * epb {
            (1, n.div_ceil(epb), 0)
        } else if n <= INLINE_EXTENTS * epb * epb {
            let leaves = n.div_ceil(epb);
            (2, leaves, leaves.div_ceil(epb))
        } else {
            return Err(Errno::EFBIG);
        };
        let need = leaves + index_blocks;
        // Reuse old tree blocks first; allocate or free the difference.
        let mut blocks: Vec<u64> = Vec::new();
        while blocks.len() < need {
            if let Some(b) = old_tree.pop() {
                crate::mem::push(&mut blocks, b)?;
                continue;
            }
            let goal = blocks.last().copied().unwrap_or(self.sb.data_start.get());
            match self
                .alloc_bits(Map::Blocks, goal, 1)
                .and_then(|(b, _)| crate::mem::push(&mut blocks, b).map(|_| b))
            {
                Ok(_) => {}
                Err(e) => {
                    // Give back what this call took beyond the old tree.
                    let had = self.inodes.get(&ino).map(|i| i.tree.len()).unwrap_or(0);
                    for b in blocks.iter().skip(had) {
                        let _ = self.free_bits(Map::Blocks, *b, 1);
                    }
                    return Err(e);
                }
            }
        }
        for b in old_tree {
            self.free_bits(Map::Blocks, b, 1)?;
        }
        let mut roots: Vec<DiskExtent> = Vec::new();
        let leaf_blocks = crate::mem::vec_from_slice(blocks.get(..leaves).ok_or(Errno::EIO)?)?;
        let index_list = crate::mem::vec_from_slice(blocks.get(leaves..).ok_or(Errno::EIO)?)?;
        let mut leaf_refs = Vec::new();
        for (chunk, &blk) in extents.chunks(epb).zip(leaf_blocks.iter()) {
            self.write_extent_block(ino, blk, 0, chunk)?;
            crate::mem::push(&mut leaf_refs, index_entry(chunk, blk))?;
        }
        match depth {
            0 => roots = extents,
            1 => roots = leaf_refs,
            _ => {
                for (chunk, &blk) in leaf_refs.chunks(epb).zip(index_list.iter()) {
                    self.write_extent_block(ino, blk, 1, chunk)?;
                    crate::mem::push(&mut roots, index_entry(chunk, blk))?;
                }
            }
        }
        let inode = self.inodes.get_mut(&ino).ok_or(Errno::EIO)?;
        let data: u64 = inode.extents.iter().map(|e| u64::from(e.len)).sum();
        inode.tree = blocks;
        inode.d.blocks = U64::new(data + inode.tree.len() as u64);
        inode.d.extent_depth = U16::new(depth);
        inode.d.extent_count = U32::new(roots.len() as u32);
        inode.d.extents = Default::default();
        for (slot, e) in inode.d.extents.iter_mut().zip(roots.iter()) {
            *slot = *e;
        }
        self.store_inode(ino)
    }

    fn write_extent_block(
        &mut self,
        ino: u64,
        blk: u64,
        level: u16,
        entries: &[DiskExtent],
    ) -> Result<()> {
        let mut buf = new_block()?;
        let mut h = BlockHeader::new(BLOCK_MAGIC_EXTENT, blk, ino);
        h.count = U32::new(entries.len() as u32);
        h.level = U16::new(level);
        buf.get_mut(..HEADER_SIZE)
            .ok_or(Errno::EIO)?
            .copy_from_slice(h.as_bytes());
        let body = entries.as_bytes();
        buf.get_mut(HEADER_SIZE..HEADER_SIZE + body.len())
            .ok_or(Errno::EIO)?
            .copy_from_slice(body);
        seal_block(&mut buf);
        self.write_blk(blk, &buf)
    }

    /// Map file block `iblock` of `ino`; with `create`, fill a hole with up to
    /// `max` newly allocated blocks (never past the next mapped extent), or
    /// turn up to `max` unwritten blocks into written ones. Either way the
    /// mapping comes back `new`: the caller initialises the blocks, and the
    /// change is in the running transaction, which the kernel commits only
    /// after that data is written (ordered), so a crash before the commit
    /// leaves them unwritten (zeros). Without `create`, unwritten blocks
    /// are a hole: they read as zeros.
    pub fn map_blocks(&mut self, ino: u64, iblock: u64, max: u32, create: bool) -> Result<Mapping> {
        if iblock >= MAX_FILE_BLOCKS {
            return Err(Errno::EFBIG);
        }
        let max = max.clamp(1, 1 << 16);
        let inode = self.inode(ino)?;
        let exts = &inode.extents;
        // Index of the first extent ending after iblock.
        let idx = exts.partition_point(|e| e.end() <= iblock);
        let next = exts.get(idx).copied();
        let prev = idx.checked_sub(1).and_then(|p| exts.get(p)).copied();
        if let Some(e) = next {
            if e.logical <= iblock {
                let off = iblock - e.logical;
                let len = (u64::from(e.len) - off).min(u64::from(max)) as u32;
                if !e.unwritten {
                    return Ok(Mapping {
                        pblock: e.start + off,
                        len,
                        new: false,
                    });
                }
                if !create {
                    return Ok(Mapping::default());
                }
                self.check_writable()?;
                return self.convert_unwritten(ino, iblock, len);
            }
        }
        if !create {
            return Ok(Mapping::default());
        }
        self.check_writable()?;
        // Hole: allocate, bounded by the next extent and the file size limit.
        let mut want = u64::from(max).min(MAX_FILE_BLOCKS - iblock);
        if let Some(e) = next {
            want = want.min(e.logical - iblock);
        }
        let goal = match prev {
            Some(p) => p.start + (iblock - p.logical),
            None => self.sb.data_start.get() + (ino % 64) * 4096,
        };
        let (start, got) = self.alloc_bits(Map::Blocks, goal, want as u32)?;
        let inode = self.inode(ino)?;
        let new = Extent {
            logical: iblock,
            start,
            len: got,
            unwritten: false,
        };
        let merged = match prev {
            Some(p) if p.joins(&new) => {
                if let Some(pe) = inode.extents.get_mut(idx - 1) {
                    pe.len += got;
                }
                true
            }
            _ => false,
        };
        if !merged {
            if let Err(err) = crate::mem::insert(&mut inode.extents, idx, new) {
                let _ = self.free_bits(Map::Blocks, start, u64::from(got));
                return Err(err);
            }
        }
        if let Err(e) = self.store_extents(ino) {
            // Undo: forget the new blocks and give them back.
            if let Ok(inode) = self.inode(ino) {
                if merged {
                    if let Some(pe) = inode.extents.get_mut(idx - 1) {
                        pe.len -= got;
                    }
                } else {
                    inode.extents.remove(idx);
                }
            }
            let _ = self.free_bits(Map::Blocks, start, u64::from(got));
            return Err(e);
        }
        Ok(Mapping {
            pblock: start,
            len: got,
            new: true,
        })
    }

    /// Mark `len` unwritten blocks from `iblock` written (they lie in one
    /// extent): split it, join the written part to a written neighbour.
    /// Runs inside an operation: a failure is rolled back by it.
    fn convert_unwritten(&mut self, ino: u64, iblock: u64, len: u32) -> Result<Mapping> {
        let end = iblock + u64::from(len);
        let inode = self.inode(ino)?;
        split_at(&mut inode.extents, iblock)?;
        split_at(&mut inode.extents, end)?;
        let range = inside(&inode.extents, iblock, end);
        let mut pblock = 0;
        for e in inode.extents.get_mut(range).unwrap_or(&mut []) {
            if pblock == 0 {
                pblock = e.start;
            }
            e.unwritten = false;
        }
        coalesce(&mut inode.extents);
        self.store_extents(ino)?;
        Ok(Mapping {
            pblock,
            len,
            new: true,
        })
    }

    /// Release every block at or past file block `from`.
    pub(crate) fn truncate_blocks(&mut self, ino: u64, from: u64) -> Result<()> {
        let inode = self.inode(ino)?;
        let mut to_free: Vec<(u64, u64)> = Vec::new();
        let mut kept = Vec::new();
        for e in inode.extents.iter() {
            if e.end() <= from {
                crate::mem::push(&mut kept, *e)?;
            } else if e.logical >= from {
                crate::mem::push(&mut to_free, (e.start, u64::from(e.len)))?;
            } else {
                let keep = (from - e.logical) as u32;
                crate::mem::push(
                    &mut kept,
                    Extent {
                        logical: e.logical,
                        start: e.start,
                        len: keep,
                        unwritten: e.unwritten,
                    },
                )?;
                crate::mem::push(
                    &mut to_free,
                    (e.start + u64::from(keep), u64::from(e.len - keep)),
                )?;
            }
        }
        if to_free.is_empty() && (from > 0 || inode.tree.is_empty()) {
            return Ok(());
        }
        inode.extents = kept;
        self.store_extents(ino)?;
        for (i, (start, len)) in to_free.into_iter().enumerate() {
            crate::dev::resched_every(i, 64);
            self.free_bits(Map::Blocks, start, len)?;
        }
        Ok(())
    }

    /// Blocks of `first..end` no extent maps.
    pub(crate) fn hole_blocks(&mut self, ino: u64, first: u64, end: u64) -> Result<u64> {
        let exts = &self.inode_ref(ino)?.extents;
        let mut mapped = 0u64;
        let from = exts.partition_point(|e| e.end() <= first);
        for (i, e) in exts.iter().skip(from).enumerate() {
            if e.logical >= end {
                break;
            }
            crate::dev::resched_every(i, 4096);
            mapped += e.end().min(end) - e.logical.max(first);
        }
        Ok((end - first).saturating_sub(mapped))
    }

    /// Allocate unwritten extents over the holes of `first..end`; mapped
    /// blocks stay as they are. All or nothing: too little free space is
    /// ENOSPC before anything changes, a later failure is rolled back by
    /// the operation this runs in.
    pub(crate) fn prealloc_blocks(&mut self, ino: u64, first: u64, end: u64) -> Result<()> {
        if end > MAX_FILE_BLOCKS {
            return Err(Errno::EFBIG);
        }
        let holes = self.hole_blocks(ino, first, end)?;
        if holes == 0 {
            return Ok(());
        }
        let usable = self
            .sb
            .free_blocks
            .get()
            .saturating_sub(self.journal.freed_count());
        if holes > usable {
            return Err(Errno::ENOSPC);
        }
        let mut added = false;
        let mut pos = first;
        let mut n = 0usize;
        while pos < end {
            crate::dev::resched_every(n, 64);
            n += 1;
            let exts = &self.inode_ref(ino)?.extents;
            let idx = exts.partition_point(|e| e.end() <= pos);
            let next = exts.get(idx).copied();
            if let Some(e) = next.filter(|e| e.logical <= pos) {
                pos = e.end();
                continue;
            }
            let hole_end = next.map_or(end, |e| e.logical.min(end));
            let prev = idx.checked_sub(1).and_then(|p| exts.get(p)).copied();
            let mut at = pos;
            let mut goal = match prev {
                Some(p) => p.start + u64::from(p.len),
                None => self.sb.data_start.get() + (ino % 64) * 4096,
            };
            let mut piece: Vec<Extent> = Vec::new();
            while at < hole_end {
                crate::dev::resched_every(piece.len(), 64);
                let want = (hole_end - at).min(1 << 16) as u32;
                let (start, got) = self.alloc_bits(Map::Blocks, goal, want)?;
                let e = Extent {
                    logical: at,
                    start,
                    len: got,
                    unwritten: true,
                };
                match piece.last_mut() {
                    Some(l) if l.joins(&e) => l.len += got,
                    _ => crate::mem::push(&mut piece, e)?,
                }
                at += u64::from(got);
                goal = start + u64::from(got);
            }
            added |= !piece.is_empty();
            // Insert this hole's extents now, so the next lookup sees them.
            let inode = self.inode(ino)?;
            let idx = inode.extents.partition_point(|e| e.end() <= pos);
            inode
                .extents
                .try_reserve(piece.len())
                .map_err(|_| Errno::ENOMEM)?;
            inode.extents.splice(idx..idx, piece);
            pos = hole_end;
        }
        if !added {
            return Ok(());
        }
        coalesce(&mut self.inode(ino)?.extents);
        self.note_unwritten();
        self.store_extents(ino)
    }

    /// Unwritten extents now exist: record the incompat feature.
    fn note_unwritten(&mut self) {
        let f = self.sb.feature_incompat.get();
        if f & FEATURE_INCOMPAT_UNWRITTEN == 0 {
            self.sb.feature_incompat.set(f | FEATURE_INCOMPAT_UNWRITTEN);
            self.sb_dirty = true;
        }
    }

    /// Free the blocks of `first..end` (splitting the extents at its
    /// edges); the freed blocks stay busy until the transaction commits.
    pub(crate) fn punch_blocks(&mut self, ino: u64, first: u64, end: u64) -> Result<()> {
        if first >= end {
            return Ok(());
        }
        let inode = self.inode(ino)?;
        let range = inside(&inode.extents, first, end);
        if range.is_empty() {
            return Ok(());
        }
        split_at(&mut inode.extents, first)?;
        split_at(&mut inode.extents, end)?;
        let range = inside(&inode.extents, first, end);
        let gone: Vec<(u64, u64)> = crate::mem::collect(
            inode
                .extents
                .get(range.clone())
                .unwrap_or(&[])
                .iter()
                .map(|e| (e.start, u64::from(e.len))),
        )?;
        inode.extents.drain(range);
        self.store_extents(ino)?;
        for (i, (start, len)) in gone.into_iter().enumerate() {
            crate::dev::resched_every(i, 64);
            self.free_bits(Map::Blocks, start, len)?;
        }
        Ok(())
    }

    /// Make every mapped block of `first..end` unwritten (they read as zeros
    /// from the commit on) and preallocate its holes: zeroing without writing.
    pub(crate) fn unwrite_blocks(&mut self, ino: u64, first: u64, end: u64) -> Result<()> {
        if first >= end {
            return Ok(());
        }
        let inode = self.inode(ino)?;
        if !inside(&inode.extents, first, end).is_empty() {
            split_at(&mut inode.extents, first)?;
            split_at(&mut inode.extents, end)?;
            let range = inside(&inode.extents, first, end);
            let mut any = false;
            for e in inode.extents.get_mut(range).unwrap_or(&mut []) {
                any |= !e.unwritten;
                e.unwritten = true;
            }
            coalesce(&mut inode.extents);
            if any {
                self.note_unwritten();
            }
            self.store_extents(ino)?;
        }
        self.prealloc_blocks(ino, first, end)
    }

    /// Up to `out.len()` extents of `ino` from file block `from` on (the
    /// first one may start before it), neighbours that continue each other
    /// joined: a binary search, then one step per extent.
    pub fn fiemap(&mut self, ino: u64, from: u64, out: &mut [MapExtent]) -> Result<usize> {
        let mut n = 0usize;
        let mut slots = out.iter_mut();
        self.fiemap_each(ino, from, usize::MAX, |m| {
            if let Some(s) = slots.next() {
                *s = m;
                n += 1;
                true
            } else {
                false
            }
        })?;
        Ok(n)
    }

    /// [`Fs::fiemap`], each extent handed to `f` (which returns false to
    /// stop), at most `max` of them: no buffer on the caller's stack.
    pub fn fiemap_each(
        &mut self,
        ino: u64,
        from: u64,
        max: usize,
        mut f: impl FnMut(MapExtent) -> bool,
    ) -> Result<()> {
        let exts = &self.inode_ref(ino)?.extents;
        let mut i = exts.partition_point(|e| e.end() <= from);
        let mut n = 0usize;
        while let Some(e) = exts.get(i) {
            if n >= max {
                break;
            }
            let mut m = MapExtent {
                logical: e.logical,
                start: e.start,
                len: u64::from(e.len),
                unwritten: e.unwritten,
                last: false,
            };
            i += 1;
            while let Some(x) = exts.get(i) {
                if x.logical != m.logical + m.len
                    || x.start != m.start + m.len
                    || x.unwritten != m.unwritten
                {
                    break;
                }
                m.len += u64::from(x.len);
                i += 1;
            }
            m.last = i >= exts.len();
            n += 1;
            if !f(m) {
                break;
            }
        }
        Ok(())
    }

    /// lseek SEEK_DATA / SEEK_HOLE from byte `off` in a file of `size`
    /// bytes: data is what written extents map; unwritten extents and
    /// holes are holes, and the end of the file is one. ENXIO at or past
    /// the end, or when no data follows `off`.
    pub fn seek_data_hole(&mut self, ino: u64, off: u64, whence: u32, size: u64) -> Result<u64> {
        if off >= size {
            return Err(Errno::ENXIO);
        }
        let bs = BLOCK_SIZE as u64;
        let exts = &self.inode_ref(ino)?.extents;
        let blk = off / bs;
        let mut i = exts.partition_point(|e| e.end() <= blk);
        match whence {
            SEEK_DATA => {
                while let Some(e) = exts.get(i) {
                    if !e.unwritten {
                        let at = off.max(e.logical.saturating_mul(bs));
                        return if at < size { Ok(at) } else { Err(Errno::ENXIO) };
                    }
                    i += 1;
                }
                Err(Errno::ENXIO)
            }
            SEEK_HOLE => {
                let mut at = blk;
                while let Some(e) = exts.get(i) {
                    if e.logical > at || e.unwritten {
                        break;
                    }
                    at = e.end();
                    i += 1;
                }
                Ok(off.max(at.saturating_mul(bs)).min(size))
            }
            _ => Err(Errno::EINVAL),
        }
    }
}

/// The index entry naming block `blk`, which holds `chunk`.
fn index_entry(chunk: &[DiskExtent], blk: u64) -> DiskExtent {
    DiskExtent {
        logical: U64::new(chunk.first().map(|e| e.logical.get()).unwrap_or(0)),
        start: U64::new(blk),
        len: U32::new(0),
        flags: U32::new(0),
    }
}
