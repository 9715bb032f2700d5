//! The vector store: slots in the vector area hold each file's embedding
//! (checksummed blocks, read on demand through a bounded cache of decoded
//! blocks, `vector::cache`), the HNSW graph over them lives in memory while
//! mounted and is stored in the rest of the vector area at sync and
//! unmount, so an intact graph is loaded, not rebuilt.

use crate::dev::{new_block, BlockBuf, Device, LogLevel};
use crate::format::*;
use crate::vector::cache::{CacheStats, Entry, UsedSlots, VecCache};
use crate::vector::distance::{is_finite_vector, Metric};
use crate::vector::hnsw::{exact_search, Hnsw, HnswError, HnswParams, Vectors};
use crate::{Errno, Fs, Result};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
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

/// Slots one exact scan reads per view: the cache may exceed its budget by
/// the blocks a view pins, so long scans are cut into views this size.
const EXACT_CHUNK: usize = 256;

/// Where the slots are, from the superblock (fixed while a view lives).
#[derive(Clone, Copy)]
struct SlotLayout {
    start: u64,
    inited: u64,
    per: u32,
    size: usize,
    dim: usize,
    capacity: u32,
    max_ino: u64,
}

/// The vectors as the graph sees them during one operation: slot blocks
/// read on demand through the mount's cache.
///
/// It holds the rest of the filesystem (`fs`, with `vec` taken out) in a
/// RefCell so that a miss can read the block with the journal-aware
/// `read_blk` while the graph and the cache are borrowed, and a search
/// filter can read inodes. The core is single-threaded under the mount's
/// lock; the borrows never nest (a miss and a filter call run in turn).
pub(crate) struct SlotView<'a, D: Device> {
    fs: RefCell<&'a mut Fs<D>>,
    cache: &'a VecCache,
    used: &'a UsedSlots,
    lay: SlotLayout,
    buf: RefCell<Option<BlockBuf>>,
    /// The first error a read met (the vector then counts as unreadable;
    /// the operation returns this when the graph call is done).
    err: Cell<Option<Errno>>,
}

impl<D: Device> Vectors for SlotView<'_, D> {
    fn get(&self, id: u32) -> Option<&[f32]> {
        self.slot(id).map(|(_, v)| v)
    }
}

impl<'a, D: Device> SlotView<'a, D> {
    fn new(
        fs: &'a mut Fs<D>,
        cache: &'a mut VecCache,
        used: &'a UsedSlots,
        lay: SlotLayout,
    ) -> Self {
        cache.begin();
        SlotView {
            fs: RefCell::new(fs),
            cache,
            used,
            lay,
            buf: RefCell::new(None),
            err: Cell::new(None),
        }
    }

    fn fail(&self, e: Errno) {
        if self.err.get().is_none() {
            self.err.set(Some(e));
        }
    }

    /// The owner and vector of a slot in use (None: free, or unreadable,
    /// with the error noted).
    fn slot(&self, id: u32) -> Option<(u64, &[f32])> {
        if !self.used.contains(id) {
            return None;
        }
        let per = self.lay.per.max(1);
        let (b, j) = (u64::from(id / per), (id % per) as usize);
        if let Some(x) = self.cache.get(b, j) {
            return Some(x);
        }
        self.cache.miss();
        if let Err(e) = self.load(b) {
            self.fail(e);
            return None;
        }
        self.cache.get(b, j)
    }

    /// The owner of a slot in use.
    fn owner(&self, id: u32) -> Option<u64> {
        self.slot(id).map(|(o, _)| o)
    }

    /// Whether `ino` is below the subtree `a` describes (see `Fs::below`).
    fn below(&self, ino: u64, a: &mut Ancestry) -> bool {
        match self.fs.try_borrow_mut() {
            Ok(mut fs) => fs.below(ino, a),
            Err(_) => {
                a.err.get_or_insert(Errno::EIO);
                false
            }
        }
    }

    /// Read slot block `b`, check it, and cache it decoded.
    #[inline(never)]
    fn load(&self, b: u64) -> Result<()> {
        let lay = self.lay;
        let mut fs = self.fs.try_borrow_mut().map_err(|_| Errno::EIO)?;
        let blk = lay.start + b;
        if b >= lay.inited {
            return Err(fs.corrupt(format_args!(
                "vector slot block {} holds an indexed slot but was never written",
                blk
            )));
        }
        let mut bufs = self.buf.try_borrow_mut().map_err(|_| Errno::EIO)?;
        if bufs.is_none() {
            *bufs = Some(new_block()?);
        }
        let buf = bufs.as_mut().ok_or(Errno::ENOMEM)?;
        fs.read_blk(blk, buf)?;
        if let Err(why) = verify_block(buf, BLOCK_MAGIC_VSLOT, blk, Some(0)) {
            return Err(fs.corrupt(format_args!("vector slot block {}: {}", blk, why)));
        }
        let per = lay.per as usize;
        let mut floats: Vec<f32> = crate::mem::vec_filled(per * lay.dim, 0.0)?;
        let mut owners: Vec<u64> = crate::mem::vec_filled(per, 0)?;
        for j in 0..per {
            let slot = b * u64::from(lay.per) + j as u64;
            if slot >= u64::from(lay.capacity) {
                break;
            }
            let slot = slot as u32;
            let off = HEADER_SIZE + j * lay.size;
            let raw = buf.get(off..off + lay.size).ok_or(Errno::EIO)?;
            let (head, body) = VecSlotHead::read_from_prefix(raw).map_err(|_| Errno::EIO)?;
            let ino = head.ino.get();
            let used = self.used.contains(slot);
            if ino == 0 && !used {
                continue;
            }
            let v = floats
                .get_mut(j * lay.dim..(j + 1) * lay.dim)
                .ok_or(Errno::EIO)?;
            for (x, c) in v.iter_mut().zip(body.chunks_exact(4)) {
                *x = f32::from_le_bytes(c.try_into().unwrap_or([0; 4]));
            }
            if ino == 0 || !used || ino > lay.max_ino || !is_finite_vector(v) {
                return Err(fs.corrupt(format_args!(
                    "vector slot {}: bad owner {} or values (in use: {})",
                    slot, ino, used
                )));
            }
            if let Some(o) = owners.get_mut(j) {
                *o = ino;
            }
        }
        self.cache.insert(b, Entry::new(floats, owners))
    }
}

/// The mounted vector space.
pub struct VecSpace {
    pub dim: u32,
    pub metric: Metric,
    pub ef_search: u32,
    pub capacity: u32,
    /// The slots in use.
    pub used: UsedSlots,
    /// Decoded slot blocks read so far (bounded, reclaimable).
    pub cache: VecCache,
    pub graph: Hnsw,
    /// Slot blocks written by the running operation: their cached copies
    /// are dropped again if it is rolled back. None: too many to note.
    op_blocks: Option<Vec<u64>>,
    /// `dirty` when the running operation began (a rollback undoes the
    /// generation bump of `vec_begin_change`, so it restores this too).
    op_dirty: bool,
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
    pub cache: CacheStats,
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

    fn slot_layout(&self, capacity: u32) -> SlotLayout {
        SlotLayout {
            start: self.sb.vector_start.get(),
            inited: self.sb.vec_slot_blocks_inited.get(),
            per: self.sb.vec_slots_per_block.get().max(1),
            size: self.sb.vec_slot_size.get() as usize,
            dim: self.sb.vec_dim.get() as usize,
            capacity,
            max_ino: self.sb.inode_count.get(),
        }
    }

    /// Run `f` over the graph and a view of the slots; with the first error
    /// a slot read met. The cache is trimmed to its budget afterwards.
    fn with_view<R>(
        &mut self,
        f: impl FnOnce(&mut Hnsw, &SlotView<'_, D>) -> R,
    ) -> Result<(R, Option<Errno>)> {
        let mut vs = self.vec.take().ok_or(Errno::EOPNOTSUPP)?;
        let lay = self.slot_layout(vs.capacity);
        let out = {
            let VecSpace {
                graph, cache, used, ..
            } = &mut *vs;
            let view = SlotView::new(self, cache, used, lay);
            let r = f(graph, &view);
            (r, view.err.get())
        };
        vs.cache.trim();
        self.vec = Some(vs);
        Ok(out)
    }

    /// The vector space at mount: the stored graph when it is current (no
    /// slot block is read: the graph's nodes are the slots in use, and
    /// each block is checked when it is first read), else the slots read
    /// and checked and the graph rebuilt (O(N): after a crash or damage).
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
        // A stored graph that is current was written after the vector set
        // last changed, by a clean sync: slots and inodes then agree (the
        // journal committed them together). Its nodes are the slots in
        // use; a slot block that disagrees is reported as corrupt when it
        // is first read, and query hits are checked against their inodes.
        let mut stored = self.load_graph(capacity, self.sb.vec_count.get());
        let mut used = UsedSlots::default();
        if let Some(g) = stored.as_ref() {
            let limit = self
                .sb
                .vec_slot_blocks_inited
                .get()
                .saturating_mul(u64::from(self.sb.vec_slots_per_block.get()));
            for id in g.ids() {
                if u64::from(id) >= limit {
                    break;
                }
                used.set(id)?;
            }
            if used.count() != g.len() as u64 {
                self.dev.log(
                    LogLevel::Warn,
                    format_args!("vector index names slots never written: rebuilding"),
                );
                stored = None;
            }
        }
        if stored.is_none() {
            let (u, count) = self.read_slots(capacity)?;
            used = u;
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
        }
        let loaded = stored.is_some();
        self.install_space(metric, capacity, used, stored, params)?;
        if !loaded {
            let r = self.rebuild_index();
            if r.is_err() {
                self.vec = None;
            }
            r?;
        }
        Ok(())
    }

    /// `self.vec` from its parts (split from `load_vectors` to keep kernel
    /// stack frames small).
    #[inline(never)]
    fn install_space(
        &mut self,
        metric: Metric,
        capacity: u32,
        used: UsedSlots,
        stored: Option<Box<Hnsw>>,
        params: HnswParams,
    ) -> Result<()> {
        let dim = self.sb.vec_dim.get();
        let loaded = stored.is_some();
        let graph = match stored {
            Some(g) => *g,
            None => Hnsw::new(params, metric, capacity),
        };
        self.vec = Some(crate::mem::boxed(VecSpace {
            dim,
            metric,
            ef_search: self.sb.hnsw_ef_search.get(),
            capacity,
            used,
            cache: VecCache::new(dim as usize, crate::vector::cache::DEFAULT_BUDGET),
            graph,
            op_blocks: None,
            op_dirty: false,
            dirty: false,
            stale: false,
            loaded,
        })?);
        Ok(())
    }

    /// Every slot block read and checked: the slots in use and their
    /// count, with orphaned slots (torn between slot and inode) freed.
    /// O(N) block and inode reads: only when the stored graph is not
    /// current. (Split from `load_vectors` to keep kernel stack frames
    /// small.)
    #[inline(never)]
    fn read_slots(&mut self, capacity: u32) -> Result<(UsedSlots, u64)> {
        let mut used = UsedSlots::default();
        let dim = self.sb.vec_dim.get() as usize;
        let per = self.sb.vec_slots_per_block.get();
        let size = self.sb.vec_slot_size.get() as usize;
        let mut buf = new_block()?;
        let mut v: Vec<f32> = crate::mem::vec_filled(dim, 0.0)?;
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
                    continue;
                }
                used.set(slot)?;
            }
        }
        if !self.read_only {
            let zeros: Vec<f32> = crate::mem::vec_filled(dim, 0.0)?;
            for slot in orphans {
                self.write_slot(slot, 0, 0, &zeros)?;
            }
        }
        let count = used.count();
        Ok((used, count))
    }

    /// Build the graph from the slots in use (mount, when the stored one
    /// is not current); it is stored at the next sync.
    #[inline(never)]
    fn rebuild_index(&mut self) -> Result<()> {
        let vs = self.space()?;
        let count = vs.used.count();
        if count == 0 {
            return Ok(());
        }
        self.dev.log(
            LogLevel::Info,
            format_args!("rebuilding vector index ({} vectors)", count),
        );
        let ids: Vec<u32> = crate::mem::collect(vs.used.iter())?;
        // One view per batch of inserts, so the cache is trimmed between.
        for chunk in ids.chunks(EXACT_CHUNK) {
            let (r, err) = self.with_view(|g, view| {
                for &id in chunk {
                    crate::dev::resched();
                    if let Err(e) = g.insert(id, view) {
                        return Err((id, e));
                    }
                }
                Ok(())
            })?;
            if let Some(e) = err {
                return Err(e);
            }
            match r {
                Ok(()) => {}
                Err((_, HnswError::NoMemory)) => return Err(Errno::ENOMEM),
                Err((id, _)) => {
                    return Err(self.corrupt(format_args!("vector slot {} cannot be indexed", id)))
                }
            }
        }
        if let Some(vs) = self.vec.as_mut() {
            vs.dirty = true;
        }
        Ok(())
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
    ///
    /// Called after the journal commit that made the vector set durable:
    /// the generation stored with the graph was bumped before the first
    /// change since the last store, possibly in an earlier commit, so a
    /// graph written before the last changes committed could be taken as
    /// current for slots it does not match. Written after the commit, a
    /// crash before the head lands leaves the older head, whose generation
    /// no longer matches (the graph is rebuilt). The head is flushed.
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
        self.dev.flush()?;
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
        // The cache never holds a block older than the running
        // transaction's copy: drop it now (it is read again, from the
        // transaction, when next needed) and note it, so a rolled-back
        // operation drops what it read in between too.
        if let Some(vs) = self.vec.as_mut() {
            vs.cache.invalidate(index);
            if let Some(list) = vs.op_blocks.as_mut() {
                if !list.contains(&index) && crate::mem::push(list, index).is_err() {
                    vs.op_blocks = None;
                }
            }
        }
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

    /// An operation starts (`begin_op`): no slot block written yet.
    pub(crate) fn vec_op_begin(&mut self) {
        if let Some(vs) = self.vec.as_mut() {
            vs.op_dirty = vs.dirty;
            match vs.op_blocks.as_mut() {
                Some(list) => list.clear(),
                None => vs.op_blocks = Some(Vec::new()),
            }
        }
    }

    /// The running operation was rolled back: the slot blocks it wrote are
    /// as they were, so cached copies read since are dropped.
    pub(crate) fn vec_op_rolled_back(&mut self) {
        if let Some(vs) = self.vec.as_mut() {
            vs.dirty = vs.op_dirty;
            match vs.op_blocks.take() {
                Some(list) => {
                    for &b in &list {
                        vs.cache.invalidate(b);
                    }
                    vs.op_blocks = Some(list);
                }
                None => vs.cache.clear(),
            }
        }
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
            cache: vs.cache.stats(),
        })
    }

    /// The slot cache's figures.
    pub fn vec_cache_stats(&self) -> Result<CacheStats> {
        Ok(self.space()?.cache.stats())
    }

    /// Set the slot cache's budget in bytes (evicting down to it).
    pub fn vec_cache_set_budget(&mut self, bytes: usize) -> Result<()> {
        self.vec
            .as_mut()
            .ok_or(Errno::EOPNOTSUPP)?
            .cache
            .set_budget(bytes);
        Ok(())
    }

    /// Entries the slot cache holds (what `vec_cache_shrink` may free).
    pub fn vec_cache_count(&self) -> usize {
        self.vec.as_ref().map_or(0, |vs| vs.cache.count())
    }

    /// Free up to `nr` cached slot blocks (memory pressure); how many went.
    pub fn vec_cache_shrink(&mut self, nr: usize) -> usize {
        self.vec.as_mut().map_or(0, |vs| vs.cache.shrink(nr))
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
                let vs = self.vec.as_mut().ok_or(Errno::EOPNOTSUPP)?;
                vs.used.first_free(vs.capacity).ok_or(Errno::ENOSPC)?
            }
        };
        // Everything that can fail comes first and goes into the running
        // transaction (undone if the operation fails); the vectors and the
        // graph in memory change last.
        self.vec
            .as_mut()
            .ok_or(Errno::EOPNOTSUPP)?
            .used
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
        let stale = self.space()?.stale;
        // Room was reserved: cannot fail.
        self.vec.as_mut().ok_or(Errno::EOPNOTSUPP)?.used.set(slot)?;
        let (failed, read_err) = self.with_view(|g, view| {
            if existing.is_some() {
                if let Err(e) = g.remove(slot, view) {
                    return Some(e);
                }
            }
            if stale {
                return None;
            }
            g.insert(slot, view).err()
        })?;
        let failed = match (failed, read_err) {
            (_, Some(Errno::EUCLEAN)) => return Err(Errno::EUCLEAN),
            // A vector the graph needed could not be read (out of memory,
            // I/O): the graph may have missed links, so it goes stale.
            (None, Some(_)) => Some(HnswError::NoMemory),
            (f, _) => f,
        };
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
        let slot = u32::try_from(slot).unwrap_or(u32::MAX);
        let (r, err) = self.with_view(|_, view| match view.slot(slot) {
            Some((o, v)) if o == ino => Some(crate::mem::vec_from_slice(v)),
            _ => None,
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        match r {
            Some(v) => v,
            None => Err(self.corrupt_ro(format_args!(
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
    /// Cannot fail: a graph repair that cannot be made (out of memory, a
    /// vector unreadable) leaves the graph stale.
    pub(crate) fn vec_forget(&mut self, _ino: u64, slot: u32) {
        self.vec_touched = true;
        let Some(vs) = self.vec.as_mut() else {
            return;
        };
        if !vs.used.contains(slot) {
            return;
        }
        // The slot is free on disk now (vec_drop): free in memory first, so
        // its block reads back consistent while the graph is repaired.
        vs.used.clear(slot);
        if vs.stale || !vs.graph.contains(slot) {
            return;
        }
        let failed = match self.with_view(|g, view| g.remove(slot, view).err()) {
            Ok((None, None)) => None,
            Ok((Some(e), _)) => Some(e),
            Ok((None, Some(_))) | Err(_) => Some(HnswError::NoMemory),
        };
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
        let vs = self.space()?;
        let hits = if within == root {
            if exact || vs.stale {
                let slots: Vec<u32> = crate::mem::collect(vs.used.iter())?;
                self.exact_among(q, n, &slots)?
            } else {
                let (r, err) = self.with_view(|g, view| {
                    let mut live = |slot: u32| view.used.contains(slot);
                    let r = g.search(q, n, ef, view, &mut live);
                    r.map(|hits| owners_of(view, hits))
                })?;
                if let Some(e) = err {
                    return Err(e);
                }
                r.map_err(hnsw_errno)??
            }
        } else {
            self.subtree_query(q, within, root, n, ef, exact)?
        };
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
    ) -> Result<Vec<(u32, u64, f32)>> {
        if let Some(slots) = self.subtree_slots(within, Some(ef.saturating_mul(4)))? {
            return self.exact_among(q, n, &slots);
        }
        if !exact && !self.space()?.stale {
            let mut a = Ancestry {
                within,
                root,
                memo: HashMap::new(),
                err: None,
            };
            let (r, err) = self.with_view(|g, view| {
                let mut inside = |slot: u32| match view.owner(slot) {
                    Some(ino) if ino != 0 => view.below(ino, &mut a),
                    _ => false,
                };
                let budget = ef.saturating_mul(SUBTREE_BUDGET);
                let r = g.search_bounded(q, n, ef, view, &mut inside, budget);
                r.map(|(hits, cut)| (owners_of(view, hits), cut))
            })?;
            if let Some(e) = a.err.or(err) {
                return Err(e);
            }
            let (hits, cut) = r.map_err(hnsw_errno)?;
            if !cut {
                return hits;
            }
        }
        let slots = self.subtree_slots(within, None)?.ok_or(Errno::EIO)?;
        self.exact_among(q, n, &slots)
    }

    /// The `n` nearest of `slots` (those in use), with their owners: an
    /// exact scan, a view per `EXACT_CHUNK` slots so the cache stays near
    /// its budget however many there are.
    fn exact_among(&mut self, q: &[f32], n: usize, slots: &[u32]) -> Result<Vec<(u32, u64, f32)>> {
        let metric = self.space()?.metric;
        let mut best: Vec<(u32, u64, f32)> = Vec::new();
        for chunk in slots.chunks(EXACT_CHUNK) {
            let (r, err) = self.with_view(|_, view| {
                let mut live = |slot: u32| view.used.contains(slot);
                exact_search(metric, q, n, chunk.iter().copied(), view, &mut live)
                    .map(|hits| owners_of(view, hits))
            })?;
            if let Some(e) = err {
                return Err(e);
            }
            let hits = r.map_err(hnsw_errno)??;
            crate::mem::extend_from_slice(&mut best, &hits)?;
            // Nearest first, ties by slot: the order of one exact search.
            best.sort_unstable_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
            best.truncate(n);
        }
        Ok(best)
    }
}

/// Search hits with the owners of their slots (read in the same view).
fn owners_of<D: Device>(
    view: &SlotView<'_, D>,
    hits: Vec<(u32, f32)>,
) -> Result<Vec<(u32, u64, f32)>> {
    crate::mem::collect(
        hits.into_iter()
            .filter_map(|(slot, d)| view.owner(slot).map(|ino| (slot, ino, d))),
    )
}
