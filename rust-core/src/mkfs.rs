//! Creating a filesystem: layout computation and the initial metadata.
//! Only metadata regions are written (bitmaps, the root inode's table block
//! and the superblock), so formatting a large device takes seconds.

// Host tools: an allocation failure aborts the tool, not a kernel.
#![allow(clippy::disallowed_methods)]

use crate::dev::{new_block, Device};
use crate::format::*;
use crate::{Errno, Result};
use alloc::vec::Vec;
use zerocopy::little_endian::{I64, U16, U32, U64};
use zerocopy::{FromZeros, IntoBytes};

/// Smallest device we format: 2 MiB.
pub const MIN_BLOCKS: u64 = 512;
/// Default bytes per inode, as mke2fs's inode_ratio.
pub const DEFAULT_INODE_RATIO: u64 = 16384;

/// The vector space of a new filesystem (mkfs.vexfs --dim ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VectorOptions {
    pub dim: u32,
    /// VEXFS_METRIC_* (1 l2, 2 cosine, 3 ip).
    pub metric: u32,
    pub m: u32,
    pub ef_construction: u32,
    pub ef_search: u32,
    /// Vectors the area must hold (0: one per inode, within a quarter of the volume).
    pub capacity: u64,
}

impl VectorOptions {
    pub fn new(dim: u32, metric: u32) -> Self {
        VectorOptions {
            dim,
            metric,
            m: 16,
            ef_construction: 200,
            ef_search: 64,
            capacity: 0,
        }
    }
    pub fn slot_size(&self) -> u64 {
        VEC_SLOT_HEAD as u64 + 4 * u64::from(self.dim)
    }
    pub fn slots_per_block(&self) -> u64 {
        (BLOCK_SIZE - HEADER_SIZE) as u64 / self.slot_size()
    }
    /// Blocks for the graph rows of `capacity` slots (`GraphLayout`: about
    /// 141 bytes per slot at M=16).
    pub fn index_blocks(&self, capacity: u64) -> u64 {
        let cap = u32::try_from(capacity).unwrap_or(u32::MAX);
        GraphLayout::new(self.m, cap).blocks
    }
}

#[derive(Clone, Debug)]
pub struct MkfsOptions {
    pub label: Vec<u8>,
    pub vectors: Option<VectorOptions>,
    /// Inode count; 0 picks one inode per 16 KiB.
    pub inodes: u64,
    pub uuid: [u8; 16],
    /// Use only this many blocks of the device (0 = all).
    pub blocks: u64,
}

/// The computed layout, also shown by mkfs.vexfs -n.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub block_count: u64,
    pub inode_count: u64,
    pub inode_bitmap: (u64, u64),
    pub block_bitmap: (u64, u64),
    pub inode_table: (u64, u64),
    pub journal: (u64, u64),
    pub vectors: (u64, u64),
    pub data_start: u64,
    /// Vector slots, and the blocks of slots at the start of the vector area.
    pub vec_capacity: u64,
    pub vec_slot_blocks: u64,
}

impl Layout {
    pub fn compute(blocks: u64, inodes: u64, vec: Option<&VectorOptions>) -> Result<Layout> {
        if blocks < MIN_BLOCKS {
            return Err(Errno::ENOSPC);
        }
        let mut ic = if inodes == 0 {
            (blocks * BLOCK_SIZE as u64 / DEFAULT_INODE_RATIO).max(64)
        } else {
            inodes
        };
        // Round up to fill the last inode table block.
        ic = ic.div_ceil(INODES_PER_BLOCK) * INODES_PER_BLOCK;
        let ib = ic.div_ceil(BITS_PER_BITMAP_BLOCK);
        let bb = blocks.div_ceil(BITS_PER_BITMAP_BLOCK);
        let it = ic / INODES_PER_BLOCK;
        let journal = (blocks / 64).clamp(64, 32768);
        let (vectors, vec_capacity, vec_slot_blocks) = match vec {
            None => (16, 0, 0),
            Some(v) => {
                if v.dim == 0
                    || v.dim > VEC_MAX_DIM
                    || !(1..=3).contains(&v.metric)
                    || !(2..=128).contains(&v.m)
                {
                    return Err(Errno::EINVAL);
                }
                let mut cap = if v.capacity == 0 {
                    ic.min(1 << 22)
                } else {
                    v.capacity
                };
                // The default keeps the area within a quarter of the volume.
                let budget = blocks / 4;
                let area = |cap: u64| cap.div_ceil(v.slots_per_block()) + v.index_blocks(cap);
                if v.capacity == 0 {
                    while cap > 16 && area(cap) > budget {
                        cap = cap * 3 / 4;
                    }
                }
                if cap > u64::from(u32::MAX) {
                    return Err(Errno::EINVAL);
                }
                let slot_blocks = cap.div_ceil(v.slots_per_block());
                (slot_blocks + v.index_blocks(cap), cap, slot_blocks)
            }
        };
        let mut next = 1;
        let mut take = |n: u64| {
            let r = (next, n);
            next += n;
            r
        };
        let inode_bitmap = take(ib);
        let block_bitmap = take(bb);
        let inode_table = take(it);
        let journal = take(journal);
        let vectors = take(vectors);
        let data_start = next;
        // Leave at least 16 data blocks, and no more inodes than data can use.
        if data_start + 16 > blocks {
            return Err(Errno::ENOSPC);
        }
        Ok(Layout {
            block_count: blocks,
            inode_count: ic,
            inode_bitmap,
            block_bitmap,
            inode_table,
            journal,
            vectors,
            data_start,
            vec_capacity,
            vec_slot_blocks,
        })
    }
}

/// Write a new empty filesystem to `dev`.
pub fn format<D: Device>(dev: &mut D, opts: &MkfsOptions) -> Result<Layout> {
    let blocks = if opts.blocks == 0 {
        dev.block_count()
    } else {
        opts.blocks.min(dev.block_count())
    };
    let l = Layout::compute(blocks, opts.inodes, opts.vectors.as_ref())?;
    if opts.label.len() > LABEL_LEN {
        return Err(Errno::EINVAL);
    }
    let now = dev.now();
    // Root directory: inode 1, bit 0.
    let root = ROOT_INO;

    // Inode bitmap: only the root is in use; bits past the count stay set
    // so they can never be allocated.
    write_bitmap(
        dev,
        l.inode_bitmap,
        BLOCK_MAGIC_IBITMAP,
        l.inode_count,
        |bit| bit == root - 1,
    )?;
    // Block bitmap: every metadata block is in use.
    write_bitmap(
        dev,
        l.block_bitmap,
        BLOCK_MAGIC_BBITMAP,
        l.block_count,
        |bit| bit < l.data_start,
    )?;

    // Root inode.
    let mut d = DiskInode::new_zeroed();
    d.mode = U16::new((S_IFDIR | 0o755) as u16);
    d.nlink = U32::new(2);
    d.parent = U64::new(root);
    d.generation = U32::new(1);
    let mut tag_sb = Superblock::new_zeroed();
    tag_sb.uuid = opts.uuid;
    d.fs_tag = U32::new(tag_sb.fs_tag());
    for (s, n) in [
        (&mut d.atime, &mut d.atime_nsec),
        (&mut d.mtime, &mut d.mtime_nsec),
        (&mut d.ctime, &mut d.ctime_nsec),
        (&mut d.crtime, &mut d.crtime_nsec),
    ] {
        *s = I64::new(now.sec);
        *n = U32::new(now.nsec);
    }
    d.seal(root);
    let (blk, off) = (l.inode_table.0, 0usize);
    let mut buf = new_block()?;
    buf.get_mut(off..off + INODE_SIZE)
        .ok_or(Errno::EIO)?
        .copy_from_slice(d.as_bytes());
    dev.write_block(blk, &buf)?;

    // Superblock last, so a failed format never looks like a filesystem.
    let mut sb = Superblock::new_zeroed();
    sb.magic = U64::new(MAGIC);
    sb.version_major = U32::new(VERSION_MAJOR);
    sb.version_minor = U32::new(VERSION_MINOR);
    sb.block_size = U32::new(BLOCK_SIZE as u32);
    sb.state = U16::new(STATE_CLEAN);
    sb.uuid = opts.uuid;
    if let Some(dst) = sb.label.get_mut(..opts.label.len()) {
        dst.copy_from_slice(&opts.label);
    }
    sb.block_count = U64::new(l.block_count);
    sb.inode_count = U64::new(l.inode_count);
    sb.free_blocks = U64::new(l.block_count - l.data_start);
    sb.free_inodes = U64::new(l.inode_count - 1);
    sb.root_ino = U64::new(root);
    sb.inode_bitmap_start = U64::new(l.inode_bitmap.0);
    sb.inode_bitmap_blocks = U64::new(l.inode_bitmap.1);
    sb.block_bitmap_start = U64::new(l.block_bitmap.0);
    sb.block_bitmap_blocks = U64::new(l.block_bitmap.1);
    sb.inode_table_start = U64::new(l.inode_table.0);
    sb.inode_table_blocks = U64::new(l.inode_table.1);
    sb.journal_start = U64::new(l.journal.0);
    sb.journal_blocks = U64::new(l.journal.1);
    sb.vector_start = U64::new(l.vectors.0);
    sb.vector_blocks = U64::new(l.vectors.1);
    sb.data_start = U64::new(l.data_start);
    if let Some(v) = &opts.vectors {
        sb.vec_dim = U32::new(v.dim);
        sb.vec_metric = U32::new(v.metric);
        sb.hnsw_m = U32::new(v.m);
        sb.hnsw_ef_construction = U32::new(v.ef_construction.max(1));
        sb.hnsw_ef_search = U32::new(v.ef_search.max(1));
        sb.vec_slot_size = U32::new(v.slot_size() as u32);
        sb.vec_slots_per_block = U32::new(v.slots_per_block() as u32);
        sb.vec_capacity = U64::new(l.vec_capacity);
        sb.vec_slot_blocks = U64::new(l.vec_slot_blocks);
        // Graph rows left on the device by an earlier filesystem carry
        // another fs tag in their headers: they read as never written.
        sb.vec_tag_next = U64::new(1);
    }
    if opts.vectors.is_some() {
        sb.feature_ro_compat = U64::new(crate::format::FEATURE_RO_COMPAT_VEC_ROWS);
    }
    sb.mkfs_time = I64::new(now.sec);
    sb.write_time = I64::new(now.sec);
    sb.seal();
    // An empty journal: the old contents of the area never match this
    // filesystem's tag, so nothing there replays.
    let js = crate::journal::fresh_super(&sb)?;
    dev.write_block(l.journal.0, &js)?;
    let mut buf = new_block()?;
    buf.get_mut(..SUPERBLOCK_SIZE)
        .ok_or(Errno::EIO)?
        .copy_from_slice(sb.as_bytes());
    dev.flush()?;
    dev.write_block(0, &buf)?;
    dev.flush()?;
    Ok(l)
}

fn write_bitmap<D: Device>(
    dev: &mut D,
    region: (u64, u64),
    magic: u32,
    total: u64,
    used: impl Fn(u64) -> bool,
) -> Result<()> {
    let (start, count) = region;
    let mut buf = new_block()?;
    for i in 0..count {
        buf.fill(0);
        let blk = start + i;
        let h = BlockHeader::new(magic, blk, 0);
        buf.get_mut(..HEADER_SIZE)
            .ok_or(Errno::EIO)?
            .copy_from_slice(h.as_bytes());
        let base = i * BITS_PER_BITMAP_BLOCK;
        let bits = buf.get_mut(HEADER_SIZE..).ok_or(Errno::EIO)?;
        // Fast path for the common all-free block.
        // `used` is a prefix or a single bit at the start, so the ends tell.
        let last_used = base + BITS_PER_BITMAP_BLOCK > total
            || used(base)
            || used(base + BITS_PER_BITMAP_BLOCK - 1);
        if last_used {
            for b in 0..BITS_PER_BITMAP_BLOCK {
                let n = base + b;
                if n >= total || used(n) {
                    if let Some(x) = bits.get_mut((b / 8) as usize) {
                        *x |= 1 << (b % 8);
                    }
                }
            }
        }
        seal_block(&mut buf);
        dev.write_block(blk, &buf)?;
    }
    Ok(())
}
