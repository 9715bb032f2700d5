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
}

impl Extent {
    pub fn end(&self) -> u64 {
        self.logical + u64::from(self.len)
    }
}

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
        pad: U32::new(0),
    }
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
                crate::mem::push(
                    &mut extents,
                    Extent {
                        logical: e.logical.get(),
                        start: e.start.get(),
                        len: e.len.get(),
                    },
                )?;
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
                crate::mem::push(
                    out,
                    Extent {
                        logical: e.logical.get(),
                        start: e.start.get(),
                        len: e.len.get(),
                    },
                )?;
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
    /// `max` newly allocated blocks (never past the next mapped extent).
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
                return Ok(Mapping {
                    pblock: e.start + off,
                    len,
                    new: false,
                });
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
        let merged = match prev {
            Some(p)
                if p.end() == iblock
                    && p.start + u64::from(p.len) == start
                    && p.len.checked_add(got).is_some() =>
            {
                if let Some(pe) = inode.extents.get_mut(idx - 1) {
                    pe.len += got;
                }
                true
            }
            _ => false,
        };
        if !merged {
            let e = Extent {
                logical: iblock,
                start,
                len: got,
            };
            if let Err(err) = crate::mem::insert(&mut inode.extents, idx, e) {
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
}

/// The index entry naming block `blk`, which holds `chunk`.
fn index_entry(chunk: &[DiskExtent], blk: u64) -> DiskExtent {
    DiskExtent {
        logical: U64::new(chunk.first().map(|e| e.logical.get()).unwrap_or(0)),
        start: U64::new(blk),
        len: U32::new(0),
        pad: U32::new(0),
    }
}
