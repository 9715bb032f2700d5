//! The vector store: slots in the vector area hold each file's embedding
//! (checksummed blocks, read back at mount), the HNSW graph over them lives
//! in memory while mounted and is stored in the rest of the vector area at
//! sync and unmount, so an intact graph is loaded, not rebuilt.

use crate::dev::{new_block, Device, LogLevel};
use crate::format::*;
use crate::vector::distance::{is_finite_vector, Metric};
use crate::vector::hnsw::{exact_search, Hnsw, HnswError, HnswParams, Vectors};
use crate::{Errno, Fs, Result};
use alloc::boxed::Box;
use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Reverse;
use hashbrown::{HashMap, HashSet};
use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// The errno of a graph operation that failed.
fn hnsw_errno(e: HnswError) -> Errno {
    match e {
        HnswError::NoMemory => Errno::ENOMEM,
        HnswError::Full => Errno::ENOSPC,
        HnswError::Corrupt(_) => Errno::EUCLEAN,
        HnswError::Exists | HnswError::Missing => Errno::EIO,
    }
}

/// Largest candidate list one query may ask for.
pub const MAX_QUERY: u32 = 65536;

/// Nodes a subtree query's graph search may expand, per unit of ef, before
/// it gives way to a walk of the subtree.
const SUBTREE_BUDGET: usize = 32;

/// Longest parent chain a subtree membership test follows (deeper counts
/// as outside, as in the kernel's permission walk).
const MAX_DEPTH: usize = 4096;

/// One subtree query's memo: directories found below `within` or not.
struct Ancestry {
    within: u64,
    root: u64,
    memo: HashMap<u64, bool>,
    err: Option<Errno>,
}

/// Slot contents in memory, indexed by slot number.
pub struct SlotTable {
    dim: usize,
    data: Vec<f32>,
    /// Owning inode of each slot (0 = free).
    owner: Vec<u64>,
    /// Known free slots, lowest handed out first (the rest lie past `owner`).
    free: BinaryHeap<Reverse<u32>>,
}

impl Vectors for SlotTable {
    fn get(&self, id: u32) -> Option<&[f32]> {
        let i = id as usize;
        if *self.owner.get(i)? == 0 {
            return None;
        }
        self.data.get(i * self.dim..(i + 1) * self.dim)
    }
}

impl SlotTable {
    /// Room for `slot` and for one more free slot: after this, `put` and
    /// `clear` of it do not allocate.
    fn reserve(&mut self, slot: u32) -> Result<()> {
        let i = slot as usize;
        if self.owner.len() <= i {
            let want = (i + 1).checked_mul(self.dim).ok_or(Errno::ENOMEM)?;
            self.owner
                .try_reserve(i + 1 - self.owner.len())
                .map_err(|_| Errno::ENOMEM)?;
            self.data
                .try_reserve(want - self.data.len())
                .map_err(|_| Errno::ENOMEM)?;
        }
        self.free.try_reserve(1).map_err(|_| Errno::ENOMEM)
    }

    fn put(&mut self, slot: u32, ino: u64, v: &[f32]) -> Result<()> {
        let i = slot as usize;
        if self.owner.len() <= i {
            self.reserve(slot)?;
            crate::mem::resize(&mut self.owner, i + 1, 0)?;
            crate::mem::resize(&mut self.data, (i + 1) * self.dim, 0.0)?;
        }
        if let Some(o) = self.owner.get_mut(i) {
            *o = ino;
        }
        self.data
            .get_mut(i * self.dim..(i + 1) * self.dim)
            .ok_or(Errno::EIO)?
            .copy_from_slice(v);
        Ok(())
    }

    fn clear(&mut self, slot: u32) -> Result<()> {
        if let Some(o) = self.owner.get_mut(slot as usize) {
            *o = 0;
        }
        crate::mem::heap_push(&mut self.free, Reverse(slot))
    }

    fn used(&self) -> impl Iterator<Item = u32> + '_ {
        self.owner
            .iter()
            .enumerate()
            .filter(|(_, &o)| o != 0)
            .map(|(i, _)| i as u32)
    }
}

/// The mounted vector space.
pub struct VecSpace {
    pub dim: u32,
    pub metric: Metric,
    pub ef_search: u32,
    pub capacity: u32,
    pub slots: SlotTable,
    pub graph: Hnsw,
    /// The vector set changed since the graph was stored.
    dirty: bool,
    /// A change could not be made to the graph (out of memory): it is not
    /// used or stored any more; queries search exactly until the next mount
    /// rebuilds it.
    pub stale: bool,
    /// The graph came from disk at mount (not rebuilt).
    pub loaded: bool,
}

/// What VEXFS_IOC_INFO reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VecInfo {
    pub dim: u32,
    pub metric: u32,
    pub m: u32,
    pub ef_construction: u32,
    pub ef_search: u32,
    pub levels: u32,
    pub count: u64,
    pub capacity: u64,
    pub index_bytes: u64,
}

/// First block of the stored graph.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Clone, Debug)]
#[repr(C)]
struct IndexHead {
    len: U64,
    generation: U64,
    nodes: U64,
    checksum: U32,
    pad: U32,
}

const PAYLOAD: usize = BLOCK_SIZE - HEADER_SIZE;

impl<D: Device> Fs<D> {
    fn slot_location(&self, slot: u32) -> (u64, usize) {
        let per = u64::from(self.sb.vec_slots_per_block.get().max(1));
        let size = self.sb.vec_slot_size.get() as usize;
        let blk = self.sb.vector_start.get() + u64::from(slot) / per;
        (blk, HEADER_SIZE + (u64::from(slot) % per) as usize * size)
    }

    fn index_region(&self) -> (u64, u64) {
        let start = self.sb.vector_start.get() + self.sb.vec_slot_blocks.get();
        (
            start,
            self.sb.vector_blocks.get() - self.sb.vec_slot_blocks.get(),
        )
    }

    /// Read the slots and the stored graph (or rebuild it) at mount.
    #[inline(never)]
    pub(crate) fn load_vectors(&mut self) -> Result<()> {
        let dim = self.sb.vec_dim.get();
        if dim == 0 {
            return Ok(());
        }
        let Some(metric) = Metric::from_u32(self.sb.vec_metric.get()) else {
            return Err(self.corrupt(format_args!("unknown vector metric")));
        };
        let capacity = self.sb.vec_capacity.get() as u32;
        let params = HnswParams {
            m: self.sb.hnsw_m.get(),
            ef_construction: self.sb.hnsw_ef_construction.get(),
            seed: u64::from_le_bytes(
                self.sb
                    .uuid
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .unwrap_or([0; 8]),
            ),
        };
        let (slots, count, stored) = self.slots_and_graph(dim, capacity)?;
        if count != self.sb.vec_count.get() {
            self.dev.log(
                LogLevel::Warn,
                format_args!(
                    "vector count {} in superblock, {} in slots: using slots",
                    self.sb.vec_count.get(),
                    count
                ),
            );
            self.sb.vec_count.set(count);
        }
        let (graph, loaded, rebuilt) =
            self.index_for(params, metric, capacity, count, &slots, stored)?;
        // A rebuilt graph is stored at the next sync.
        self.vec = Some(crate::mem::boxed(VecSpace {
            dim,
            metric,
            ef_search: self.sb.hnsw_ef_search.get(),
            capacity,
            slots,
            graph,
            dirty: rebuilt,
            stale: false,
            loaded,
        })?);
        Ok(())
    }

    /// The slots, their count and the stored graph if it is current.
    ///
    /// A stored graph that is current was written after the vector set last
    /// changed, by a clean sync: slots and inodes then agree (the journal
    /// committed them together) and need no cross-check, which costs an
    /// inode read per vector. Any disagreement between graph and slots
    /// falls back to the checked read and a rebuild. (Apart from
    /// `load_vectors` to keep kernel stack frames small.)
    #[inline(never)]
    fn slots_and_graph(
        &mut self,
        dim: u32,
        capacity: u32,
    ) -> Result<(SlotTable, u64, Option<Box<Hnsw>>)> {
        let mut stored = self.load_graph(capacity, self.sb.vec_count.get());
        let (mut slots, mut count) = self.read_slots(dim, capacity, stored.as_deref())?;
        if let (Some(g), Some(_)) = (stored.as_ref(), slots.as_ref()) {
            // Every live slot is in the graph (checked while reading): equal
            // counts make the sets equal.
            if g.len() as u64 != count {
                self.dev.log(
                    LogLevel::Warn,
                    format_args!("vector index does not match the vector slots: rebuilding"),
                );
                stored = None;
                slots = None;
            }
        }
        let slots = match slots {
            Some(t) => t,
            None => {
                stored = None;
                let (t, c) = self.read_slots(dim, capacity, None)?;
                count = c;
                t.ok_or(Errno::EIO)?
            }
        };
        Ok((slots, count, stored))
    }

    /// Every slot block read and checked: the vectors, with orphaned slots
    /// (torn between slot and inode) freed. With `current`, the graph
    /// stored by a clean sync, owners are not checked against their inodes
    /// and a slot the graph lacks ends the read with `None` (the caller
    /// reads again with the checks). (Split from `load_vectors` to keep
    /// kernel stack frames small.)
    #[inline(never)]
    fn read_slots(
        &mut self,
        dim: u32,
        capacity: u32,
        current: Option<&Hnsw>,
    ) -> Result<(Option<SlotTable>, u64)> {
        let mut slots = SlotTable {
            dim: dim as usize,
            data: Vec::new(),
            owner: Vec::new(),
            free: BinaryHeap::new(),
        };
        let per = self.sb.vec_slots_per_block.get();
        let size = self.sb.vec_slot_size.get() as usize;
        let mut buf = new_block()?;
        let mut v: Vec<f32> = crate::mem::vec_filled(dim as usize, 0.0)?;
        let mut count = 0u64;
        let mut orphans: Vec<u32> = Vec::new();
        let max_ino = self.sb.inode_count.get();
        for b in 0..self.sb.vec_slot_blocks_inited.get() {
            crate::dev::resched();
            let blk = self.sb.vector_start.get() + b;
            self.read_blk(blk, &mut buf)?;
            if let Err(why) = verify_block(&buf, BLOCK_MAGIC_VSLOT, blk, Some(0)) {
                return Err(self.corrupt(format_args!("vector slot block {}: {}", blk, why)));
            }
            for j in 0..per {
                let slot = b as u32 * per + j;
                if slot >= capacity {
                    break;
                }
                let off = HEADER_SIZE + j as usize * size;
                let raw = buf.get(off..off + size).ok_or(Errno::EIO)?;
                let (head, body) = VecSlotHead::read_from_prefix(raw).map_err(|_| Errno::EIO)?;
                let ino = head.ino.get();
                if ino == 0 {
                    crate::mem::heap_push(&mut slots.free, Reverse(slot))?;
                    continue;
                }
                for (x, c) in v.iter_mut().zip(body.chunks_exact(4)) {
                    *x = f32::from_le_bytes(c.try_into().unwrap_or([0; 4]));
                }
                if ino > max_ino || !is_finite_vector(&v) {
                    return Err(
                        self.corrupt(format_args!("vector slot {}: bad owner or values", slot))
                    );
                }
                if let Some(g) = current {
                    if !g.contains(slot) {
                        return Ok((None, count));
                    }
                    slots.put(slot, ino, &v)?;
                    count += 1;
                    continue;
                }
                // The slot must be the one its inode names: a write torn
                // between slot and inode leaves an orphan, which is freed.
                if !self.owner_names_slot(ino, Some(head.generation.get()), slot)? {
                    self.dev.log(
                        LogLevel::Warn,
                        format_args!(
                            "vector slot {} claims inode {} which does not name it: freed",
                            slot, ino
                        ),
                    );
                    crate::mem::push(&mut orphans, slot)?;
                    crate::mem::heap_push(&mut slots.free, Reverse(slot))?;
                    continue;
                }
                slots.put(slot, ino, &v)?;
                count += 1;
            }
        }
        if !self.read_only {
            let zeros: Vec<f32> = crate::mem::vec_filled(dim as usize, 0.0)?;
            for slot in orphans {
                self.write_slot(slot, 0, 0, &zeros)?;
            }
        }
        Ok((Some(slots), count))
    }

    /// The stored graph when it is intact and current, else one rebuilt
    /// from the slots; with (loaded, rebuilt).
    #[inline(never)]
    fn index_for(
        &mut self,
        params: HnswParams,
        metric: Metric,
        capacity: u32,
        count: u64,
        slots: &SlotTable,
        stored: Option<Box<Hnsw>>,
    ) -> Result<(Hnsw, bool, bool)> {
        let mut rebuilt = false;
        let loaded = stored.is_some();
        let graph = match stored {
            Some(g) => *g,
            None => {
                rebuilt = count > 0;
                if count > 0 {
                    self.dev.log(
                        LogLevel::Info,
                        format_args!("rebuilding vector index ({} vectors)", count),
                    );
                }
                let mut g = Hnsw::new(params, metric, capacity);
                let ids: Vec<u32> = crate::mem::collect(slots.used())?;
                for id in ids {
                    crate::dev::resched();
                    match g.insert(id, slots) {
                        Ok(()) => {}
                        Err(HnswError::NoMemory) => return Err(Errno::ENOMEM),
                        Err(_) => {
                            return Err(
                                self.corrupt(format_args!("vector slot {} cannot be indexed", id))
                            )
                        }
                    }
                }
                g
            }
        };
        Ok((graph, loaded, rebuilt))
    }

    /// Whether inode `ino` is in use, has `generation` (when given) and
    /// names `slot`. Reads the inode without caching it.
    fn owner_names_slot(&mut self, ino: u64, generation: Option<u32>, slot: u32) -> Result<bool> {
        let gen_ok = |g: u32| generation.is_none_or(|want| want == g);
        if ino == 0 || !self.bit_is_set(crate::alloc_map::Map::Inodes, ino - 1)? {
            return Ok(false);
        }
        if let Some(i) = self.inodes.get(&ino).filter(|i| !i.stale) {
            return Ok(gen_ok(i.d.generation.get()) && i.d.vec_slot.get() == u64::from(slot) + 1);
        }
        let (blk, off) = inode_location(&self.sb, ino)?;
        let mut buf = new_block()?;
        self.read_blk(blk, &mut buf)?;
        let raw = buf.get(off..off + INODE_SIZE).ok_or(Errno::EIO)?;
        let d = DiskInode::read_from_bytes(raw).map_err(|_| Errno::EIO)?;
        if d.checksum.get() != d.compute_checksum(ino) {
            return Err(self.corrupt(format_args!("inode {} checksum mismatch", ino)));
        }
        Ok(gen_ok(d.generation.get()) && d.vec_slot.get() == u64::from(slot) + 1)
    }

    /// The stored graph, if it is intact and current.
    /// (Boxed: an `Hnsw` is large, and mount's kernel stack frames stay small.)
    fn load_graph(&mut self, capacity: u32, count: u64) -> Option<Box<Hnsw>> {
        let (start, blocks) = self.index_region();
        if blocks == 0 {
            return None;
        }
        let mut buf = new_block().ok()?;
        self.dev.read_block(start, &mut buf).ok()?;
        verify_block(&buf, BLOCK_MAGIC_VINDEX, start, Some(0)).ok()?;
        let (head, _) = IndexHead::read_from_prefix(buf.get(HEADER_SIZE..)?).ok()?;
        let len = usize::try_from(head.len.get()).ok()?;
        if head.generation.get() != self.sb.vec_generation.get() || head.nodes.get() != count {
            return None;
        }
        if len.div_ceil(PAYLOAD) as u64 + 1 > blocks {
            return None;
        }
        let mut bytes: Vec<u8> = Vec::new();
        bytes.try_reserve(len).ok()?;
        let mut b = start + 1;
        while bytes.len() < len {
            crate::dev::resched();
            self.dev.read_block(b, &mut buf).ok()?;
            if verify_block(&buf, BLOCK_MAGIC_VINDEX, b, Some(0)).is_err() {
                self.dev.log(
                    LogLevel::Warn,
                    format_args!("vector index block {} damaged: rebuilding", b),
                );
                return None;
            }
            let take = (len - bytes.len()).min(PAYLOAD);
            crate::mem::extend_from_slice(&mut bytes, buf.get(HEADER_SIZE..HEADER_SIZE + take)?)
                .ok()?;
            b += 1;
        }
        if crc32c(&[&bytes]) != head.checksum.get() {
            self.dev.log(
                LogLevel::Warn,
                format_args!("vector index checksum mismatch: rebuilding"),
            );
            return None;
        }
        match Hnsw::decode(&bytes, capacity) {
            Ok(g) if g.len() as u64 == count => crate::mem::boxed(g).ok(),
            _ => {
                self.dev.log(
                    LogLevel::Warn,
                    format_args!("vector index inconsistent: rebuilding"),
                );
                None
            }
        }
    }

    /// Store the graph if the vector set changed since it was last stored.
    pub(crate) fn store_vectors(&mut self) -> Result<()> {
        let Some(vs) = self.vec.as_ref() else {
            return Ok(());
        };
        if !vs.dirty || vs.stale || self.read_only || self.errored {
            return Ok(());
        }
        let bytes = vs.graph.encode().map_err(hnsw_errno)?;
        let nodes = vs.graph.len() as u64;
        let (start, blocks) = self.index_region();
        if bytes.len().div_ceil(PAYLOAD) as u64 + 1 > blocks {
            self.dev.log(
                LogLevel::Warn,
                format_args!(
                    "vector index ({} bytes) does not fit its area: it will be rebuilt at mount",
                    bytes.len()
                ),
            );
            if let Some(vs) = self.vec.as_mut() {
                vs.dirty = false;
            }
            return Ok(());
        }
        let mut buf = new_block()?;
        for (i, chunk) in bytes.chunks(PAYLOAD).enumerate() {
            crate::dev::resched();
            let blk = start + 1 + i as u64;
            buf.fill(0);
            let mut h = BlockHeader::new(BLOCK_MAGIC_VINDEX, blk, 0);
            h.count = U32::new(chunk.len() as u32);
            buf.get_mut(..HEADER_SIZE)
                .ok_or(Errno::EIO)?
                .copy_from_slice(h.as_bytes());
            buf.get_mut(HEADER_SIZE..HEADER_SIZE + chunk.len())
                .ok_or(Errno::EIO)?
                .copy_from_slice(chunk);
            seal_block(&mut buf);
            self.write_raw(blk, &buf)?;
        }
        // The head last: it names the generation the payload belongs to.
        buf.fill(0);
        let h = BlockHeader::new(BLOCK_MAGIC_VINDEX, start, 0);
        buf.get_mut(..HEADER_SIZE)
            .ok_or(Errno::EIO)?
            .copy_from_slice(h.as_bytes());
        let head = IndexHead {
            len: U64::new(bytes.len() as u64),
            generation: U64::new(self.sb.vec_generation.get()),
            nodes: U64::new(nodes),
            checksum: U32::new(crc32c(&[&bytes])),
            pad: U32::new(0),
        };
        let hb = head.as_bytes();
        buf.get_mut(HEADER_SIZE..HEADER_SIZE + hb.len())
            .ok_or(Errno::EIO)?
            .copy_from_slice(hb);
        seal_block(&mut buf);
        self.dev.flush()?;
        self.write_raw(start, &buf)?;
        if let Some(vs) = self.vec.as_mut() {
            vs.dirty = false;
        }
        Ok(())
    }

    /// Before the first change after the graph was stored: make the stored
    /// graph stale on disk, so a crash before the next store rebuilds it.
    fn vec_begin_change(&mut self) -> Result<()> {
        if self.vec.as_ref().is_some_and(|v| v.dirty) {
            return Ok(());
        }
        self.sb
            .vec_generation
            .set(self.sb.vec_generation.get().wrapping_add(1));
        self.write_super()?;
        if let Some(vs) = self.vec.as_mut() {
            vs.dirty = true;
        }
        Ok(())
    }

    fn space(&self) -> Result<&VecSpace> {
        self.vec.as_deref().ok_or(Errno::EOPNOTSUPP)
    }

    fn write_slot(&mut self, slot: u32, ino: u64, generation: u32, v: &[f32]) -> Result<()> {
        let (blk, off) = self.slot_location(slot);
        let mut buf = new_block()?;
        let index = blk - self.sb.vector_start.get();
        if index >= self.sb.vec_slot_blocks_inited.get() {
            // First use of this block (slots are handed out lowest first).
            let h = BlockHeader::new(BLOCK_MAGIC_VSLOT, blk, 0);
            buf.get_mut(..HEADER_SIZE)
                .ok_or(Errno::EIO)?
                .copy_from_slice(h.as_bytes());
        } else {
            self.read_blk(blk, &mut buf)?;
            if let Err(why) = verify_block(&buf, BLOCK_MAGIC_VSLOT, blk, Some(0)) {
                return Err(self.corrupt(format_args!("vector slot block {}: {}", blk, why)));
            }
        }
        let size = self.sb.vec_slot_size.get() as usize;
        let dst = buf.get_mut(off..off + size).ok_or(Errno::EIO)?;
        dst.fill(0);
        let head = VecSlotHead {
            ino: U64::new(ino),
            generation: U32::new(generation),
            flags: U32::new(0),
        };
        let (h, body) = dst.split_at_mut(VEC_SLOT_HEAD);
        h.copy_from_slice(head.as_bytes());
        for (c, x) in body.chunks_exact_mut(4).zip(v.iter()) {
            c.copy_from_slice(&x.to_le_bytes());
        }
        seal_block(&mut buf);
        self.write_blk(blk, &buf)?;
        if index >= self.sb.vec_slot_blocks_inited.get() {
            self.sb.vec_slot_blocks_inited.set(index + 1);
            self.sb_dirty = true;
            self.write_super()?;
        }
        Ok(())
    }

    /// Whether the mount loaded the stored graph rather than rebuilding it.
    pub fn vec_index_loaded(&self) -> bool {
        self.vec.as_ref().is_some_and(|v| v.loaded)
    }

    pub fn vec_info(&self) -> Result<VecInfo> {
        let vs = self.space()?;
        Ok(VecInfo {
            dim: vs.dim,
            metric: vs.metric as u32,
            m: self.sb.hnsw_m.get(),
            ef_construction: self.sb.hnsw_ef_construction.get(),
            ef_search: vs.ef_search,
            levels: vs.graph.levels(),
            count: self.sb.vec_count.get(),
            capacity: u64::from(vs.capacity),
            index_bytes: vs.graph.encoded_len() as u64,
        })
    }

    fn check_vector(&self, v: &[f32]) -> Result<()> {
        let vs = self.space()?;
        if v.len() != vs.dim as usize {
            return Err(Errno::EMSGSIZE);
        }
        if !is_finite_vector(v) {
            return Err(Errno::EDOM);
        }
        Ok(())
    }

    /// Attach `v` to regular file `ino`, replacing any vector it had.
    pub fn vec_set(&mut self, ino: u64, v: &[f32]) -> Result<()> {
        self.op(|fs| fs.vec_set_op(ino, v))
    }

    fn vec_set_op(&mut self, ino: u64, v: &[f32]) -> Result<()> {
        self.check_vector(v)?;
        self.begin_op()?;
        let i = self.inode_ref(ino)?;
        if i.mode() & S_IFMT != S_IFREG {
            return Err(Errno::EINVAL);
        }
        let generation = i.d.generation.get();
        let existing = i.d.vec_slot.get().checked_sub(1).map(|s| s as u32);
        let slot = match existing {
            Some(s) => s,
            None => {
                let vs = self.space()?;
                match vs.slots.free.peek() {
                    Some(&Reverse(s)) => s,
                    None if (vs.slots.owner.len() as u64) < u64::from(vs.capacity) => {
                        vs.slots.owner.len() as u32
                    }
                    None => return Err(Errno::ENOSPC),
                }
            }
        };
        // Everything that can fail comes first and goes into the running
        // transaction (undone if the operation fails); the vectors and the
        // graph in memory change last.
        self.vec
            .as_mut()
            .ok_or(Errno::EOPNOTSUPP)?
            .slots
            .reserve(slot)?;
        self.vec_begin_change()?;
        self.write_slot(slot, ino, generation, v)?;
        let now = self.dev.now();
        let i = self.inode(ino)?;
        let old_slot = i.d.vec_slot;
        i.d.vec_slot = U64::new(u64::from(slot) + 1);
        i.set_ctime(now);
        if let Err(e) = self.store_inode(ino) {
            if let Ok(i) = self.inode(ino) {
                i.d.vec_slot = old_slot;
            }
            return Err(e);
        }
        if existing.is_none() {
            self.sb.vec_count.set(self.sb.vec_count.get() + 1);
            self.sb_dirty = true;
        }
        self.vec_touched = true;
        let vs = self.vec.as_mut().ok_or(Errno::EOPNOTSUPP)?;
        let mut failed = None;
        if existing.is_some() {
            if let Err(e) = vs.graph.remove(slot, &vs.slots) {
                failed = Some(e);
            }
        } else if vs.slots.free.peek() == Some(&Reverse(slot)) {
            vs.slots.free.pop();
        }
        // Room was reserved: cannot fail.
        vs.slots.put(slot, ino, v)?;
        if failed.is_none() && !vs.stale {
            failed = vs.graph.insert(slot, &vs.slots).err();
        }
        match failed {
            None => Ok(()),
            Some(HnswError::Corrupt(_)) => {
                Err(self.corrupt(format_args!("vector index rejected slot {}", slot)))
            }
            // The vector is stored: only the index missed it.
            Some(e) => {
                self.index_stale(e);
                Ok(())
            }
        }
    }

    /// The graph missed a change (out of memory): stop using and storing
    /// it; queries search exactly until the next mount rebuilds it.
    fn index_stale(&mut self, e: HnswError) {
        if let Some(vs) = self.vec.as_mut() {
            if !vs.stale {
                vs.stale = true;
                self.dev.log(
                    LogLevel::Warn,
                    format_args!(
                        "vector index update failed ({}): exact search until it is rebuilt at the next mount",
                        hnsw_errno(e)
                    ),
                );
            }
        }
    }

    /// The vector of `ino`.
    pub fn vec_get(&mut self, ino: u64) -> Result<Vec<f32>> {
        self.space()?;
        let slot = self
            .inode_ref(ino)?
            .d
            .vec_slot
            .get()
            .checked_sub(1)
            .ok_or(Errno::ENODATA)?;
        let vs = self.space()?;
        match vs.slots.get(slot as u32) {
            Some(v) if vs.slots.owner.get(slot as usize) == Some(&ino) => {
                crate::mem::vec_from_slice(v)
            }
            _ => Err(self.corrupt_ro(format_args!(
                "inode {} names vector slot {} it does not own",
                ino, slot
            ))),
        }
    }

    fn corrupt_ro(&mut self, args: core::fmt::Arguments<'_>) -> Errno {
        self.corrupt(args)
    }

    /// Remove the vector of `ino`.
    pub fn vec_delete(&mut self, ino: u64) -> Result<()> {
        self.op(|fs| fs.vec_delete_op(ino))
    }

    fn vec_delete_op(&mut self, ino: u64) -> Result<()> {
        self.space()?;
        self.begin_op()?;
        if self.inode_ref(ino)?.d.vec_slot.get() == 0 {
            return Err(Errno::ENODATA);
        }
        let slot = self.vec_drop(ino)?;
        let now = self.dev.now();
        let i = self.inode(ino)?;
        i.set_ctime(now);
        self.store_inode(ino)?;
        if let Some(slot) = slot {
            self.vec_forget(ino, slot);
        }
        Ok(())
    }

    /// Free the slot of `ino` (file deletion, vec_delete). No-op without one.
    ///
    /// Only the running transaction and the cached inode change here (undone
    /// if the operation fails); the caller ends with `vec_forget(ino, slot)`
    /// for the returned slot once nothing else can fail.
    pub(crate) fn vec_drop(&mut self, ino: u64) -> Result<Option<u32>> {
        let Some(slot) = self.inode_ref(ino)?.d.vec_slot.get().checked_sub(1) else {
            return Ok(None);
        };
        let slot = slot as u32;
        if self.vec.is_none() {
            return Err(self.corrupt(format_args!(
                "inode {} has a vector but the filesystem has no vector space",
                ino
            )));
        }
        self.vec
            .as_mut()
            .ok_or(Errno::EOPNOTSUPP)?
            .slots
            .reserve(slot)?;
        self.vec_begin_change()?;
        let dim = self.sb.vec_dim.get() as usize;
        let zeros: Vec<f32> = crate::mem::vec_filled(dim, 0.0)?;
        self.write_slot(slot, 0, 0, &zeros)?;
        self.sb
            .vec_count
            .set(self.sb.vec_count.get().saturating_sub(1));
        self.sb_dirty = true;
        let i = self.inode(ino)?;
        i.d.vec_slot = U64::new(0);
        Ok(Some(slot))
    }

    /// The vectors in memory forget slot `slot` of `ino` (after `vec_drop`).
    /// Cannot fail: `vec_drop` reserved the room.
    pub(crate) fn vec_forget(&mut self, ino: u64, slot: u32) {
        self.vec_touched = true;
        let mut failed = None;
        if let Some(vs) = self.vec.as_mut() {
            if vs.slots.owner.get(slot as usize) == Some(&ino) {
                if !vs.stale {
                    failed = vs.graph.remove(slot, &vs.slots).err();
                }
                let _ = vs.slots.clear(slot);
            }
        }
        if let Some(e) = failed {
            self.index_stale(e);
        }
    }

    /// Whether `ino` is below `a.within`, by the parent hints of it and of
    /// the directories above it (a file whose hinted link is gone, hint 0,
    /// counts as outside, as for the permission walk in the kernel).
    fn below(&mut self, ino: u64, a: &mut Ancestry) -> bool {
        match self.below_walk(ino, a) {
            Ok(b) => b,
            Err(e) => {
                a.err.get_or_insert(e);
                false
            }
        }
    }

    fn below_walk(&mut self, ino: u64, a: &mut Ancestry) -> Result<bool> {
        let mut dir = self.peek_inode(ino)?.parent.get();
        let mut path: Vec<u64> = Vec::new();
        let mut inside = false;
        for _ in 0..MAX_DEPTH {
            if dir == a.within {
                inside = true;
                break;
            }
            if dir == 0 || dir == a.root {
                break;
            }
            if let Some(&b) = a.memo.get(&dir) {
                inside = b;
                break;
            }
            crate::mem::push(&mut path, dir)?;
            let d = self.peek_inode(dir)?;
            if u32::from(d.mode.get()) & S_IFMT != S_IFDIR {
                break;
            }
            dir = d.parent.get();
        }
        crate::mem::map_reserve(&mut a.memo, path.len())?;
        for d in path {
            crate::mem::map_insert(&mut a.memo, d, inside)?;
        }
        Ok(inside)
    }

    /// The vector slots of the files below `dir`, ascending; None when the
    /// walk meets more than `cap` entries first (the subtree is large).
    fn subtree_slots(&mut self, dir: u64, cap: Option<usize>) -> Result<Option<Vec<u32>>> {
        let mut slots: Vec<u32> = Vec::new();
        let mut dirs: HashSet<u64> = HashSet::new();
        crate::mem::set_insert(&mut dirs, dir)?;
        let mut stack = crate::mem::vec_filled(1, dir)?;
        let mut entries = 0usize;
        while let Some(d) = stack.pop() {
            let mut pos = 0;
            while let Some((e, next)) = self.readdir(d, pos)? {
                pos = next;
                entries += 1;
                if cap.is_some_and(|c| entries > c) {
                    return Ok(None);
                }
                if e.file_type == DT_DIR {
                    // A directory met twice (a corrupt image) is walked once.
                    if crate::mem::set_insert(&mut dirs, e.ino)? {
                        crate::mem::push(&mut stack, e.ino)?;
                    }
                } else if e.file_type == DT_REG {
                    if let Some(slot) = self.peek_inode(e.ino)?.vec_slot.get().checked_sub(1) {
                        let slot = u32::try_from(slot).map_err(|_| Errno::EIO)?;
                        crate::mem::push(&mut slots, slot)?;
                    }
                }
            }
        }
        // Hard links: a file met twice is one hit.
        slots.sort_unstable();
        slots.dedup();
        Ok(Some(slots))
    }

    /// Up to `n` files nearest to `q` below `within` (the root: all), nearest
    /// first. `ef` 0 uses the filesystem's default breadth.
    ///
    /// Below another directory: a subtree of at most `4 x ef` entries is
    /// walked and searched exactly; a larger one is searched in the graph
    /// with a filter following parent hints (each directory resolved once
    /// per query), which stops after `SUBTREE_BUDGET x ef` expanded nodes;
    /// when that ends it (the subtree holds few of the vectors) or `exact`
    /// is asked, the whole subtree is walked and searched exactly.
    pub fn vec_query(
        &mut self,
        q: &[f32],
        within: u64,
        n: u32,
        ef: u32,
        exact: bool,
    ) -> Result<Vec<(u64, f32)>> {
        self.check_vector(q)?;
        if n == 0 || n > MAX_QUERY || ef > VEC_MAX_EF {
            return Err(Errno::ERANGE);
        }
        if !self.inode_ref(within)?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let n = n as usize;
        let ef = if ef == 0 { self.space()?.ef_search } else { ef } as usize;
        let ef = ef.max(n);
        let root = self.sb.root_ino.get();
        let hits = if within == root {
            let vs = self.space()?;
            let mut live = |slot: u32| vs.slots.owner.get(slot as usize).is_some_and(|&o| o != 0);
            if exact || vs.stale {
                exact_search(vs.metric, q, n, vs.slots.used(), &vs.slots, &mut live)
            } else {
                vs.graph.search(q, n, ef, &vs.slots, &mut live)
            }
            .map_err(hnsw_errno)?
        } else {
            self.subtree_query(q, within, root, n, ef, exact)?
        };
        let vs = self.space()?;
        let hits: Vec<(u32, u64, f32)> =
            crate::mem::collect(hits.into_iter().filter_map(|(slot, d)| {
                vs.slots.owner.get(slot as usize).map(|&ino| (slot, ino, d))
            }))?;
        // A clean mount does not check slot owners against their inodes
        // (see `load_vectors`): each hit is checked here instead, so a
        // damaged slot names no wrong file.
        let mut out = crate::mem::vec_with_capacity(hits.len())?;
        for (slot, ino, d) in hits {
            if self.owner_names_slot(ino, None, slot)? {
                crate::mem::push(&mut out, (ino, d))?;
            } else {
                self.corrupt(format_args!(
                    "vector slot {} claims inode {} which does not name it",
                    slot, ino
                ));
            }
        }
        Ok(out)
    }

    fn subtree_query(
        &mut self,
        q: &[f32],
        within: u64,
        root: u64,
        n: usize,
        ef: usize,
        exact: bool,
    ) -> Result<Vec<(u32, f32)>> {
        if let Some(slots) = self.subtree_slots(within, Some(ef.saturating_mul(4)))? {
            return self.exact_among(q, n, &slots);
        }
        if !exact && !self.space()?.stale {
            let vs = self.vec.take().ok_or(Errno::EOPNOTSUPP)?;
            let mut a = Ancestry {
                within,
                root,
                memo: HashMap::new(),
                err: None,
            };
            let r = {
                let mut inside = |slot: u32| match vs.slots.owner.get(slot as usize) {
                    Some(&ino) if ino != 0 => self.below(ino, &mut a),
                    _ => false,
                };
                let budget = ef.saturating_mul(SUBTREE_BUDGET);
                vs.graph
                    .search_bounded(q, n, ef, &vs.slots, &mut inside, budget)
            };
            self.vec = Some(vs);
            if let Some(e) = a.err {
                return Err(e);
            }
            let (hits, cut) = r.map_err(hnsw_errno)?;
            if !cut {
                return Ok(hits);
            }
        }
        let slots = self.subtree_slots(within, None)?.ok_or(Errno::EIO)?;
        self.exact_among(q, n, &slots)
    }

    fn exact_among(&mut self, q: &[f32], n: usize, slots: &[u32]) -> Result<Vec<(u32, f32)>> {
        let vs = self.space()?;
        let mut live = |slot: u32| vs.slots.owner.get(slot as usize).is_some_and(|&o| o != 0);
        exact_search(vs.metric, q, n, slots.iter().copied(), &vs.slots, &mut live)
            .map_err(hnsw_errno)
    }
}
