//! The vector store: slots in the vector area hold each file's embedding
//! (checksummed blocks, read on demand through a bounded cache of decoded
//! blocks, `vector::cache`); the HNSW graph over them lives on disk too, as
//! rows addressed by slot number after the slot blocks (`GraphLayout`),
//! read on demand through a bounded cache (`vector::rows`) and written in
//! place before the journal commit that makes the inserted vectors live
//! (`Fs::commit`). Mount reads nothing of either: the superblock names the
//! entry point, the free and dead slot lists and the high-water mark.
//!
//! Slots carry a tag per incarnation; a row is a node's when its tag is
//! the slot's. A deleted slot goes on the dead list in the delete's
//! transaction (no graph change); once that is committed its node is
//! unlinked from the graph and the slot moves to the free list
//! (`reap_dead`), so a crash never leaves a committed vector without the
//! links an uncommitted delete removed.

use crate::dev::{new_block, BlockBuf, Device, LogLevel};
use crate::format::*;
use crate::vector::cache::{CacheStats, Entry, VecCache};
use crate::vector::distance::{is_finite_vector, Metric};
use crate::vector::hnsw::{
    exact_search, level_of, rep_of, GraphStore, Hnsw, HnswError, HnswParams, Vectors,
};
use crate::vector::rows::RowCache;
use crate::{Errno, Fs, Result};
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use hashbrown::{HashMap, HashSet};
use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, IntoBytes};

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

/// Dead slots unlinked after one commit; more are left for the next (the
/// device is asked to commit soon).
const REAP_BATCH: usize = 64;

/// Memory for the caches of a mount by default (the kernel sets it from
/// `vec_cache_mb`): slot blocks and graph row blocks together.
const DEFAULT_CACHE_BUDGET: usize = 32 << 20;

/// The graph rows' share of a cache budget (a third).
fn row_budget(total: usize) -> usize {
    total / 3
}

/// The slot blocks' share of a cache budget.
fn slot_budget(total: usize) -> usize {
    total - row_budget(total)
}

/// Damage reports logged in full per mount; later ones are counted.
const DAMAGE_LOG_LIMIT: u64 = 16;

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
    /// Slots at or above this were never used.
    high: u32,
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
    fn new(fs: &'a mut Fs<D>, cache: &'a mut VecCache, lay: SlotLayout) -> Self {
        cache.begin();
        SlotView {
            fs: RefCell::new(fs),
            cache,
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

    /// Block and index of slot `id`, if it was ever used.
    fn place(&self, id: u32) -> Option<(u64, usize)> {
        if id >= self.lay.high || id >= self.lay.capacity {
            return None;
        }
        let per = self.lay.per.max(1);
        Some((u64::from(id / per), (id % per) as usize))
    }

    /// The owner (0: deleted) and vector of a slot holding one: in use, or
    /// freed with its vector kept for routing until it is unlinked (None:
    /// never used, no vector, or unreadable, with the error noted).
    fn slot(&self, id: u32) -> Option<(u64, &[f32])> {
        let (b, j) = self.place(id)?;
        if self.cache.head(b, j).is_none() {
            self.cache.miss();
            if let Err(e) = self.load(b) {
                self.fail(e);
                return None;
            }
        }
        let (_, tag) = self.cache.head(b, j)?;
        self.cache.get(b, j).filter(|(o, _)| *o != 0 || tag != 0)
    }

    /// Owner (0: free) and tag of slot `id`.
    fn head(&self, id: u32) -> Option<(u64, u32)> {
        let (b, j) = self.place(id)?;
        if let Some(h) = self.cache.head(b, j) {
            return Some(h);
        }
        self.cache.miss();
        if let Err(e) = self.load(b) {
            self.fail(e);
            return None;
        }
        self.cache.head(b, j)
    }

    /// The tag of slot `id` when it holds a vector.
    fn live_tag(&self, id: u32) -> Option<u32> {
        self.head(id).filter(|h| h.0 != 0).map(|h| h.1)
    }

    /// The owner of a slot in use.
    fn owner(&self, id: u32) -> Option<u64> {
        self.head(id).map(|h| h.0).filter(|&o| o != 0)
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
                "vector slot block {} is below the high-water mark but was never written",
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
        let mut tags: Vec<u32> = crate::mem::vec_filled(per, 0)?;
        for j in 0..per {
            let slot = b * u64::from(lay.per) + j as u64;
            if slot >= u64::from(lay.capacity) {
                break;
            }
            let off = HEADER_SIZE + j * lay.size;
            let raw = buf.get(off..off + lay.size).ok_or(Errno::EIO)?;
            let (head, body) = VecSlotHead::read_from_prefix(raw).map_err(|_| Errno::EIO)?;
            let ino = head.ino.get();
            let mut tag = head.tag.get();
            if ino == 0 && tag == 0 {
                continue;
            }
            let v = floats
                .get_mut(j * lay.dim..(j + 1) * lay.dim)
                .ok_or(Errno::EIO)?;
            for (x, c) in v.iter_mut().zip(body.chunks_exact(4)) {
                *x = f32::from_le_bytes(c.try_into().unwrap_or([0; 4]));
            }
            if ino == 0 {
                // A freed slot's vector routes only while sound.
                if !is_finite_vector(v) {
                    tag = 0;
                }
                if let Some(t) = tags.get_mut(j) {
                    *t = tag;
                }
                continue;
            }
            if let Some(t) = tags.get_mut(j) {
                *t = tag;
            }
            if ino > lay.max_ino || !is_finite_vector(v) {
                return Err(fs.corrupt(format_args!(
                    "vector slot {}: bad owner {} or values",
                    slot, ino
                )));
            }
            if let Some(o) = owners.get_mut(j) {
                *o = ino;
            }
        }
        self.cache.insert(b, Entry::new(floats, owners, tags))
    }
}

/// Where the graph rows are and what a node is (fixed while mounted).
#[derive(Clone, Copy)]
pub(crate) struct GraphGeom {
    lay: GraphLayout,
    /// First block of the graph area.
    area: u64,
    /// `owner` of row block headers: this filesystem's tag, so rows left
    /// by an earlier filesystem read as never written.
    owner: u64,
    params: HnswParams,
}

impl GraphGeom {
    /// Top level of slot `id` (as `Hnsw::level_for`).
    fn level(&self, id: u32) -> u32 {
        level_of(self.params.seed, self.params.m, id).min(self.lay.top)
    }

    /// Record index of slot `id`'s row at `level`.
    fn record(&self, id: u32, level: u32) -> u64 {
        u64::from(id) / u64::from(self.lay.m).saturating_pow(level).max(1)
    }
}

/// The graph's rows on disk: a [`GraphStore`] over the row cache, for one
/// operation. A node is a slot holding a vector; its rows are its when
/// their tag is the slot's (else they read empty).
pub(crate) struct DiskRows<'v, 'a, D: Device> {
    view: &'v SlotView<'a, D>,
    rows: &'v RefCell<RowCache>,
    geom: GraphGeom,
    /// A row was written (the operation can no longer be rolled back).
    changed: bool,
    /// Deleted nodes not unlinked yet route searches (queries, inserts);
    /// not while dead nodes are being unlinked: each repair then sees the
    /// graph as it will be once they are all gone.
    route_dead: bool,
}

impl<D: Device> DiskRows<'_, '_, D> {
    /// Make sure graph block `blk` is cached: read and checked, or empty
    /// when never written (another magic or owner) or damaged (logged and
    /// queued: its live nodes are linked again at the next change).
    fn ensure(&self, blk: u64) -> core::result::Result<(), HnswError> {
        {
            let mut rows = self
                .rows
                .try_borrow_mut()
                .map_err(|_| HnswError::NoMemory)?;
            if rows.get(blk).is_some() {
                return Ok(());
            }
            rows.misses += 1;
        }
        let abs = self.geom.area + blk;
        let mut buf = new_block().map_err(|_| HnswError::NoMemory)?;
        let mut damaged = None;
        {
            let mut fs = self
                .view
                .fs
                .try_borrow_mut()
                .map_err(|_| HnswError::NoMemory)?;
            if let Err(e) = fs.dev.read_block(abs, &mut buf) {
                self.view.fail(e);
                return Err(HnswError::Corrupt("graph block unreadable"));
            }
            if let Err(why) = verify_block(&buf, BLOCK_MAGIC_VROWS, abs, Some(self.geom.owner)) {
                let (h, _) = BlockHeader::read_from_prefix(buf.as_slice())
                    .map_err(|_| HnswError::Corrupt("short block"))?;
                if h.magic.get() == BLOCK_MAGIC_VROWS && h.owner.get() == self.geom.owner {
                    damaged = Some(why);
                }
                buf.fill(0);
            }
            if let Some(why) = damaged {
                let mut rows = self
                    .rows
                    .try_borrow_mut()
                    .map_err(|_| HnswError::NoMemory)?;
                rows.logged += 1;
                if rows.logged <= DAMAGE_LOG_LIMIT {
                    fs.dev.log(
                        LogLevel::Err,
                        format_args!(
                            "vector graph block {}: {}: its rows are dropped and its nodes linked again",
                            abs, why
                        ),
                    );
                }
                rows.note_damaged(blk);
            }
        }
        let mut rows = self
            .rows
            .try_borrow_mut()
            .map_err(|_| HnswError::NoMemory)?;
        rows.insert(blk, buf).map_err(|_| HnswError::NoMemory)
    }

    /// The tag stored in `id`'s level-0 row (None: unreadable).
    fn row_tag(&self, id: u32) -> Option<u32> {
        let (blk, off, _) = self.locate(id, 0)?;
        self.ensure(blk).ok()?;
        let mut rows = self.rows.try_borrow_mut().ok()?;
        let buf = rows.get(blk)?;
        let b = buf.get(off..off + 4)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    }

    /// Where `id`'s record at `level` is (block, offset, links).
    fn locate(&self, id: u32, level: u32) -> Option<(u64, usize, usize)> {
        let (blk, off) = self.geom.lay.locate(level, self.geom.record(id, level))?;
        let m = self.geom.lay.m as usize;
        Some((blk, off, if level == 0 { 2 * m } else { m }))
    }

    /// Write `id`'s record at `level`: `tag` and `ids`, padded.
    fn put(
        &mut self,
        id: u32,
        level: u32,
        tag: u32,
        ids: &[u32],
    ) -> core::result::Result<(), HnswError> {
        let Some((blk, off, width)) = self.locate(id, level) else {
            return Ok(());
        };
        self.ensure(blk)?;
        let mut rows = self
            .rows
            .try_borrow_mut()
            .map_err(|_| HnswError::NoMemory)?;
        let buf = rows.get_mut(blk).ok_or(HnswError::NoMemory)?;
        let head = if level == 0 {
            GRAPH_ROW_HEAD
        } else {
            GRAPH_UPPER_HEAD
        };
        let rec = buf
            .get_mut(off..off + head + 4 * width)
            .ok_or(HnswError::Corrupt("graph record out of block"))?;
        let (h, links) = rec.split_at_mut(head);
        if level == 0 {
            let rh = GraphRowHead {
                tag: U32::new(tag),
                count: U16::new(ids.len().min(width) as u16),
                flags: U16::new(0),
            };
            h.copy_from_slice(rh.as_bytes());
        } else {
            h.copy_from_slice(&tag.to_le_bytes());
        }
        let mut src = ids.iter();
        for c in links.chunks_exact_mut(4) {
            let v = src.next().copied().unwrap_or(u32::MAX);
            c.copy_from_slice(&v.to_le_bytes());
        }
        self.changed = true;
        Ok(())
    }
}

impl<D: Device> GraphStore for DiskRows<'_, '_, D> {
    type Row<'r>
        = Vec<u32>
    where
        Self: 'r;

    /// Deleted slots still route searches until they are unlinked (their
    /// vector and rows stay; their row's tag is still the slot's).
    const ROUTES_DEAD: bool = true;

    fn is_live(&self, id: u32) -> bool {
        self.view.live_tag(id).is_some()
    }

    fn node_level(&self, id: u32) -> Option<u32> {
        let (owner, tag) = self.view.head(id)?;
        if owner != 0 {
            return Some(self.geom.level(id));
        }
        if tag == 0 || !self.route_dead {
            return None;
        }
        // On the dead list (or free): a node while its row is its own.
        (self.row_tag(id) == Some(tag)).then(|| self.geom.level(id))
    }

    fn row(&self, id: u32, level: u32) -> core::result::Result<Vec<u32>, HnswError> {
        let Some((_, tag)) = self.view.head(id) else {
            return Ok(Vec::new());
        };
        if tag == 0 || level > self.geom.level(id) {
            return Ok(Vec::new());
        }
        let Some((blk, off, width)) = self.locate(id, level) else {
            return Ok(Vec::new());
        };
        self.ensure(blk)?;
        let mut rows = self
            .rows
            .try_borrow_mut()
            .map_err(|_| HnswError::NoMemory)?;
        let buf = rows.get(blk).ok_or(HnswError::NoMemory)?;
        let head = if level == 0 {
            GRAPH_ROW_HEAD
        } else {
            GRAPH_UPPER_HEAD
        };
        let rec = buf
            .get(off..off + head + 4 * width)
            .ok_or(HnswError::Corrupt("graph record out of block"))?;
        let stored = u32::from_le_bytes(
            rec.get(..4)
                .and_then(|b| b.try_into().ok())
                .unwrap_or([0; 4]),
        );
        if stored != tag {
            return Ok(Vec::new());
        }
        let cap = u64::from(self.geom.lay.capacity);
        let mut out: Vec<u32> =
            crate::mem::vec_with_capacity(width).map_err(|_| HnswError::NoMemory)?;
        for c in rec.get(head..).unwrap_or(&[]).chunks_exact(4) {
            let n = u32::from_le_bytes(c.try_into().unwrap_or([0xff; 4]));
            // A link out of range reads as padding (fsck reports it).
            let n = if u64::from(n) < cap { n } else { u32::MAX };
            crate::mem::push(&mut out, n).map_err(|_| HnswError::NoMemory)?;
        }
        Ok(out)
    }

    fn set_row(&mut self, id: u32, level: u32, ids: &[u32]) -> core::result::Result<(), HnswError> {
        let Some((_, tag)) = self.view.head(id) else {
            return Ok(());
        };
        if tag == 0 {
            return Ok(());
        }
        self.put(id, level, tag, ids)
    }

    fn add_node(&mut self, id: u32, level: u32) -> core::result::Result<(), HnswError> {
        let tag = self.view.live_tag(id).ok_or(HnswError::Missing)?;
        for l in 0..=level {
            self.put(id, l, tag, &[])?;
        }
        Ok(())
    }

    fn remove_node(&mut self, id: u32, level: u32) -> core::result::Result<(), HnswError> {
        for l in 0..=level {
            self.put(id, l, 0, &[])?;
        }
        Ok(())
    }

    fn has_node(&self, _id: u32) -> bool {
        // A slot holding a vector is a node; inserting it writes its rows.
        false
    }

    fn slots(&self) -> usize {
        self.geom.lay.capacity as usize
    }

    fn dense_visited(&self) -> bool {
        false
    }

    fn find_top(&self, level: u32, not: u32) -> core::result::Result<Option<u32>, HnswError> {
        let high = u64::from(self.view.lay.high);
        let m = self.geom.params.m;
        let span = u64::from(self.geom.lay.m).saturating_pow(level).max(1);
        for g in 0..high.div_ceil(span) {
            crate::dev::resched_every(g as usize, 256);
            let rep = rep_of(self.geom.params.seed, m, level, g);
            let Ok(rep) = u32::try_from(rep) else { break };
            if u64::from(rep) >= high {
                continue;
            }
            if rep != not && self.is_live(rep) && self.geom.level(rep) == level {
                return Ok(Some(rep));
            }
        }
        Ok(None)
    }
}

/// The mounted vector space.
pub struct VecSpace {
    pub dim: u32,
    pub metric: Metric,
    pub ef_search: u32,
    pub capacity: u32,
    /// Decoded slot blocks read so far (bounded, reclaimable).
    pub cache: VecCache,
    /// Graph row blocks read or changed (bounded, reclaimable when clean).
    pub rows: RefCell<RowCache>,
    geom: GraphGeom,
    /// Slot blocks written by the running operation: their cached copies
    /// are dropped again if it is rolled back. None: too many to note.
    op_blocks: Option<Vec<u64>>,
    /// An image without on-disk rows mounted read-only (or whose area is
    /// too small for them): queries search exactly, changes are refused.
    pub exact_only: bool,
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

/// What a graph operation did: its result, the first read error, and
/// whether it wrote rows.
type GraphOut<R> = (R, Option<Errno>, bool);

impl<D: Device> Fs<D> {
    fn slot_location(&self, slot: u32) -> (u64, usize) {
        let per = u64::from(self.sb.vec_slots_per_block.get().max(1));
        let size = self.sb.vec_slot_size.get() as usize;
        let blk = self.sb.vector_start.get() + u64::from(slot) / per;
        (blk, HEADER_SIZE + (u64::from(slot) % per) as usize * size)
    }

    fn slot_layout(&self, capacity: u32, exact_only: bool) -> SlotLayout {
        let per = self.sb.vec_slots_per_block.get().max(1);
        let inited = self.sb.vec_slot_blocks_inited.get();
        let high = if exact_only {
            // Images without the lists: every slot of a written block.
            inited.saturating_mul(u64::from(per))
        } else {
            self.sb.vec_slot_high.get()
        };
        SlotLayout {
            start: self.sb.vector_start.get(),
            inited,
            per,
            size: self.sb.vec_slot_size.get() as usize,
            dim: self.sb.vec_dim.get() as usize,
            capacity,
            high: u32::try_from(high.min(u64::from(capacity))).unwrap_or(capacity),
            max_ino: self.sb.inode_count.get(),
        }
    }

    /// Run `f` over a view of the slots; with the first error a slot read
    /// met. The cache is trimmed to its budget afterwards.
    fn with_view<R>(
        &mut self,
        f: impl FnOnce(&SlotView<'_, D>) -> R,
    ) -> Result<(R, Option<Errno>)> {
        let mut vs = self.vec.take().ok_or(Errno::EOPNOTSUPP)?;
        let lay = self.slot_layout(vs.capacity, vs.exact_only);
        let out = {
            let view = SlotView::new(self, &mut vs.cache, lay);
            let r = f(&view);
            (r, view.err.get())
        };
        vs.cache.trim();
        self.vec = Some(vs);
        Ok(out)
    }

    /// Run `f` over the graph on disk (entry point and top level from the
    /// superblock, written back when they change) and a view of the slots.
    fn with_graph<R>(
        &mut self,
        f: impl FnOnce(&mut Hnsw<DiskRows<'_, '_, D>>, &SlotView<'_, D>) -> R,
    ) -> Result<GraphOut<R>> {
        self.with_graph_as(true, f)
    }

    /// `with_graph`, with deleted nodes routing or not (`route_dead`).
    #[inline(never)]
    fn with_graph_as<R>(
        &mut self,
        route_dead: bool,
        f: impl FnOnce(&mut Hnsw<DiskRows<'_, '_, D>>, &SlotView<'_, D>) -> R,
    ) -> Result<GraphOut<R>> {
        let mut vs = self.vec.take().ok_or(Errno::EOPNOTSUPP)?;
        let lay = self.slot_layout(vs.capacity, vs.exact_only);
        let entry = self.sb.vec_entry.get().checked_sub(1).unwrap_or(u32::MAX);
        let top = self.sb.vec_top_level.get();
        let count = self.sb.vec_count.get() as usize;
        let (metric, capacity, geom) = (vs.metric, vs.capacity, vs.geom);
        let (r, err, changed, ends) = {
            let VecSpace { cache, rows, .. } = &mut *vs;
            let view = SlotView::new(self, cache, lay);
            let store = DiskRows {
                view: &view,
                rows,
                geom,
                changed: false,
                route_dead,
            };
            let mut g = Hnsw::with_store(geom.params, metric, capacity, store, entry, top, count);
            let r = f(&mut g, &view);
            let ends = (g.entry_point(), g.levels().saturating_sub(1));
            let changed = g.store().changed;
            drop(g);
            (r, view.err.get(), changed, ends)
        };
        vs.cache.trim();
        if let Ok(mut rows) = vs.rows.try_borrow_mut() {
            rows.trim();
        }
        let wants = vs.rows.try_borrow().is_ok_and(|r| r.wants_commit());
        self.vec = Some(vs);
        let new_entry = ends.0.map_or(0, |e| e + 1);
        if new_entry != self.sb.vec_entry.get() || ends.1 != top {
            self.sb.vec_entry.set(new_entry);
            self.sb
                .vec_top_level
                .set(if new_entry == 0 { 0 } else { ends.1 });
            self.sb_dirty = true;
        }
        if wants && !self.commit_hinted {
            self.commit_hinted = true;
            self.dev.commit_soon();
        }
        Ok((r, err, changed))
    }

    /// The vector space at mount: from the superblock alone (no slot or
    /// graph block is read). An image without on-disk rows is converted on
    /// a read-write mount (O(N), once) and searched exactly when read-only.
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
        let lay = GraphLayout::new(params.m, capacity);
        let area = self.sb.vector_start.get() + self.sb.vec_slot_blocks.get();
        let room = self.sb.vector_blocks.get() - self.sb.vec_slot_blocks.get();
        let converted = self.sb.feature_ro_compat.get() & FEATURE_RO_COMPAT_VEC_ROWS != 0;
        if converted && lay.blocks > room {
            return Err(self.corrupt(format_args!(
                "vector graph needs {} blocks, its area has {}",
                lay.blocks, room
            )));
        }
        let geom = GraphGeom {
            lay,
            area,
            owner: u64::from(self.sb.fs_tag()),
            params,
        };
        let exact_only = !converted && (self.read_only || lay.blocks > room);
        if !converted && lay.blocks > room && !self.read_only {
            self.dev.log(
                LogLevel::Warn,
                format_args!(
                    "vector graph rows need {} blocks, the area has {}: vectors are searched exactly and cannot change",
                    lay.blocks, room
                ),
            );
        }
        self.vec = Some(crate::mem::boxed(VecSpace {
            dim,
            metric,
            ef_search: self.sb.hnsw_ef_search.get(),
            capacity,
            cache: VecCache::new(dim as usize, slot_budget(DEFAULT_CACHE_BUDGET)),
            rows: RefCell::new(RowCache::new(row_budget(DEFAULT_CACHE_BUDGET))),
            geom,
            op_blocks: None,
            exact_only,
        })?);
        if converted {
            let high = self.sb.vec_slot_high.get();
            let bad = high > u64::from(capacity)
                || self.sb.vec_free_head.get() > high
                || self.sb.vec_dead_head.get() > high
                || u64::from(self.sb.vec_entry.get()) > high
                || self.sb.vec_top_level.get() > lay.top
                || high.div_ceil(u64::from(self.sb.vec_slots_per_block.get().max(1)))
                    > self.sb.vec_slot_blocks_inited.get();
            if bad {
                return Err(self.corrupt(format_args!(
                    "vector slot lists or entry point out of range"
                )));
            }
            return Ok(());
        }
        if !exact_only {
            let r = self.convert_vectors();
            if r.is_err() {
                self.vec = None;
            }
            r?;
        }
        Ok(())
    }

    /// Convert an image of the format without graph rows: tag the slots in
    /// use (orphans torn between slot and inode are freed), chain the free
    /// ones, insert every vector into the graph on disk, then set
    /// `FEATURE_RO_COMPAT_VEC_ROWS`. O(N); committed in pieces, and started
    /// over from the slots if interrupted (the bit is set last).
    #[inline(never)]
    fn convert_vectors(&mut self) -> Result<()> {
        let capacity = self.space()?.capacity;
        let per = u64::from(self.sb.vec_slots_per_block.get().max(1));
        let high = self
            .sb
            .vec_slot_blocks_inited
            .get()
            .saturating_mul(per)
            .min(u64::from(capacity)) as u32;
        self.dev.log(
            LogLevel::Info,
            format_args!(
                "converting the vector area to graph rows on disk ({} slots)",
                high
            ),
        );
        // Tags continue the old generation counter: rows a crashed attempt
        // left never match the tags of this one.
        let next = self.sb.vec_tag_next.get().wrapping_add(u64::from(high)) | 1;
        self.sb.vec_tag_next.set(next);
        self.sb.vec_slot_high.set(u64::from(high));
        self.sb.vec_free_head.set(0);
        self.sb.vec_dead_head.set(0);
        self.sb.vec_entry.set(0);
        self.sb.vec_top_level.set(0);
        self.sb_dirty = true;
        let mut live: Vec<u32> = Vec::new();
        for slot in (0..high).rev() {
            crate::dev::resched_every(slot as usize, 256);
            let head = self.read_slot_head(slot)?;
            let ino = head.ino.get();
            let keep = ino != 0
                && ino <= self.sb.inode_count.get()
                && self.owner_names_slot(ino, Some(head.generation.get()), slot)?;
            if keep {
                let tag = self.next_tag();
                self.write_slot_head(slot, ino, head.generation.get(), tag)?;
                crate::mem::push(&mut live, slot)?;
            } else {
                if ino != 0 {
                    self.dev.log(
                        LogLevel::Warn,
                        format_args!(
                            "vector slot {} claims inode {} which does not name it: freed",
                            slot, ino
                        ),
                    );
                }
                let free = self.sb.vec_free_head.get() as u32;
                self.write_slot_head(slot, 0, free, 0)?;
                self.sb.vec_free_head.set(u64::from(slot) + 1);
            }
            if self.journal.wants_commit() {
                self.commit()?;
            }
        }
        self.sb.vec_count.set(live.len() as u64);
        live.reverse();
        for (i, chunk) in live.chunks(EXACT_CHUNK).enumerate() {
            crate::dev::resched_every(i, 1);
            let (r, err, _) = self.with_graph(|g, view| {
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
            if self.rows_want_commit() || self.journal.wants_commit() {
                self.commit()?;
            }
        }
        self.sb
            .feature_ro_compat
            .set(self.sb.feature_ro_compat.get() | FEATURE_RO_COMPAT_VEC_ROWS);
        self.sb_dirty = true;
        self.commit()?;
        Ok(())
    }

    fn rows_want_commit(&self) -> bool {
        self.vec
            .as_ref()
            .is_some_and(|vs| vs.rows.try_borrow().is_ok_and(|r| r.wants_commit()))
    }

    /// The next slot tag (nonzero).
    fn next_tag(&mut self) -> u32 {
        let mut t = self.sb.vec_tag_next.get();
        if t as u32 == 0 {
            t = t.wrapping_add(1);
        }
        self.sb.vec_tag_next.set(t.wrapping_add(1));
        self.sb_dirty = true;
        t as u32
    }

    /// Write the graph blocks the running transaction changed, in place:
    /// called by the commit before the journal writes (its flush before
    /// the commit block covers them). True when anything was written.
    #[inline(never)]
    pub(crate) fn flush_rows(&mut self) -> Result<bool> {
        let Some(vs) = self.vec.as_ref() else {
            return Ok(false);
        };
        let (area, owner) = (vs.geom.area, vs.geom.owner);
        let list = vs.rows.try_borrow().map_err(|_| Errno::EIO)?.dirty_list()?;
        if list.is_empty() {
            return Ok(false);
        }
        let mut buf = new_block()?;
        for (i, &blk) in list.iter().enumerate() {
            crate::dev::resched_every(i, 64);
            let level = {
                let vs = self.vec.as_ref().ok_or(Errno::EIO)?;
                let mut rows = vs.rows.try_borrow_mut().map_err(|_| Errno::EIO)?;
                let level = vs.geom.lay.block_level(blk).map_or(0, |l| l.0);
                let b = rows.block_mut_for_write(blk).ok_or(Errno::EIO)?;
                let mut h = BlockHeader::new(BLOCK_MAGIC_VROWS, area + blk, owner);
                h.level = U16::new(level as u16);
                b.get_mut(..HEADER_SIZE)
                    .ok_or(Errno::EIO)?
                    .copy_from_slice(h.as_bytes());
                seal_block(b);
                buf.copy_from_slice(b.as_slice());
                level
            };
            let _ = level;
            self.write_raw(area + blk, &buf)?;
            if let Some(vs) = self.vec.as_ref() {
                if let Ok(mut rows) = vs.rows.try_borrow_mut() {
                    rows.mark_clean(blk);
                }
            }
        }
        if let Some(vs) = self.vec.as_ref() {
            if let Ok(mut rows) = vs.rows.try_borrow_mut() {
                rows.trim();
            }
        }
        Ok(true)
    }

    /// After a commit: unlink up to `REAP_BATCH` dead slots (their deletes
    /// are durable now) from the graph and move them to the free list, in
    /// the new running transaction; and link again the live nodes of
    /// graph blocks found damaged. Asks for another commit when work is
    /// left. Failures leave the rest for later (re-running an unlink is
    /// harmless).
    pub(crate) fn reap_dead(&mut self) {
        if self.read_only || self.errored || self.journal_aborted {
            return;
        }
        let Some(vs) = self.vec.as_ref() else {
            return;
        };
        if vs.exact_only {
            return;
        }
        let r = self.reap_some().and_then(|()| self.relink_damaged());
        if let Err(e) = r {
            if e != Errno::ENOMEM {
                self.dev.log(
                    LogLevel::Warn,
                    format_args!(
                        "vector graph upkeep stopped ({}): retried after the next commit",
                        e
                    ),
                );
            }
        }
        if self.sb.vec_dead_head.get() != 0 && !self.commit_hinted {
            self.commit_hinted = true;
            self.dev.commit_soon();
        }
    }

    #[inline(never)]
    fn reap_some(&mut self) -> Result<()> {
        for _ in 0..REAP_BATCH {
            let head = self.sb.vec_dead_head.get();
            let Some(slot) = head.checked_sub(1) else {
                return Ok(());
            };
            if slot >= self.sb.vec_slot_high.get() {
                return Err(self.corrupt(format_args!("dead slot list names slot {}", slot)));
            }
            let slot = slot as u32;
            let h = self.read_slot_head(slot)?;
            let next = u64::from(h.generation.get());
            if h.ino.get() != 0 || next > self.sb.vec_slot_high.get() {
                return Err(self.corrupt(format_args!(
                    "dead slot list: slot {} is in use or links out of range",
                    slot
                )));
            }
            let (r, err, _) = self.with_graph_as(true, |g, view| g.unlink(slot, view))?;
            if let Some(e) = err {
                return Err(e);
            }
            r.map_err(hnsw_errno)?;
            let free = self.sb.vec_free_head.get() as u32;
            self.write_slot_head(slot, 0, free, h.tag.get())?;
            self.sb.vec_free_head.set(u64::from(slot) + 1);
            self.sb.vec_dead_head.set(next);
            self.sb_dirty = true;
        }
        Ok(())
    }

    /// Give the live nodes among `ids` fresh rows and link them again as
    /// an insert would (damaged rows; fsck's repair). Committed.
    pub fn vec_relink(&mut self, ids: &[u32]) -> Result<()> {
        self.check_writable()?;
        self.vec_writable()?;
        for chunk in ids.chunks(EXACT_CHUNK) {
            // A fresh tag: no row anywhere is taken for the new rows' node.
            for &id in chunk {
                if u64::from(id) >= self.sb.vec_slot_high.get() {
                    continue;
                }
                let h = self.read_slot_head(id)?;
                if h.ino.get() != 0 {
                    let tag = self.next_tag();
                    self.write_slot_head(id, h.ino.get(), h.generation.get(), tag)?;
                }
            }
            self.relink_slots(chunk)?;
            self.commit()?;
        }
        Ok(())
    }

    #[inline(never)]
    fn relink_slots(&mut self, ids: &[u32]) -> Result<()> {
        let (r, err, _) = self.with_graph(|g, view| {
            // Fresh rows with the slots' tags for all first (a later reset
            // would drop the back-links an earlier one's linking added),
            // then links as an insert.
            for &id in ids {
                if g.store().is_live(id) {
                    let top = g.level_for(id);
                    g.store_mut().add_node(id, top)?;
                }
            }
            for &id in ids {
                crate::dev::resched();
                if g.store().is_live(id) {
                    g.relink_node(id, view)?;
                }
            }
            Ok::<(), HnswError>(())
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        r.map_err(hnsw_errno)
    }

    /// The damaged rows of `ids` lost their out-links, and nodes that only
    /// they linked to may be reached from nowhere: give each `d` of `ids` the
    /// link `d -> t` back for every live `t` whose level-0 row links to `d`
    /// (links are mostly mutual). A scan of the level-0 rows, O(N) block
    /// reads in views of `EXACT_CHUNK` slots: only after damage.
    #[inline(never)]
    fn restore_back_links(&mut self, ids: &[u32]) -> Result<()> {
        let mut set: Vec<u32> = crate::mem::vec_from_slice(ids)?;
        set.sort_unstable();
        let high = self.sb.vec_slot_high.get() as u32;
        let mut start = 0u32;
        while start < high {
            let end = start.saturating_add(EXACT_CHUNK as u32).min(high);
            let (r, err, _) = self.with_graph(|g, view| {
                for t in start..end {
                    crate::dev::resched_every(t as usize, 64);
                    if !g.store().is_live(t) || set.binary_search(&t).is_ok() {
                        continue;
                    }
                    let row = g.store().row(t, 0)?;
                    for &d in row.iter().filter(|d| set.binary_search(d).is_ok()) {
                        g.add_link_to(d, t, 0, view)?;
                    }
                }
                Ok::<(), HnswError>(())
            })?;
            if let Some(e) = err {
                return Err(e);
            }
            r.map_err(hnsw_errno)?;
            start = end;
        }
        Ok(())
    }

    /// Link again the live nodes of graph blocks found damaged.
    #[inline(never)]
    fn relink_damaged(&mut self) -> Result<()> {
        loop {
            let blk = {
                let vs = self.space()?;
                let mut rows = vs.rows.try_borrow_mut().map_err(|_| Errno::EIO)?;
                match rows.damaged.pop() {
                    Some(b) => b,
                    None => return Ok(()),
                }
            };
            let vs = self.space()?;
            let geom = vs.geom;
            let Some((level, first)) = geom.lay.block_level(blk) else {
                continue;
            };
            let per = if level == 0 {
                geom.lay.rows_per_block
            } else {
                geom.lay.uppers_per_block
            };
            let high = self.sb.vec_slot_high.get();
            let mut ids: Vec<u32> = Vec::new();
            for rec in first..first + per {
                let id = if level == 0 {
                    rec
                } else {
                    rep_of(geom.params.seed, geom.params.m, level, rec)
                };
                if id < high {
                    crate::mem::push(&mut ids, id as u32)?;
                }
            }
            self.relink_slots(&ids)?;
            self.restore_back_links(&ids)?;
            self.dev.log(
                LogLevel::Info,
                format_args!("vector graph block {}: nodes linked again", geom.area + blk),
            );
        }
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

    fn space(&self) -> Result<&VecSpace> {
        self.vec.as_deref().ok_or(Errno::EOPNOTSUPP)
    }

    /// Refuse vector changes on an image searched exactly.
    fn vec_writable(&self) -> Result<()> {
        if self.space()?.exact_only {
            return Err(Errno::EROFS);
        }
        Ok(())
    }

    /// The slot block holding `slot`, read (journal-aware) and checked.
    fn slot_block(&mut self, slot: u32) -> Result<(u64, usize, BlockBuf)> {
        let (blk, off) = self.slot_location(slot);
        let mut buf = new_block()?;
        let index = blk - self.sb.vector_start.get();
        if index >= self.sb.vec_slot_blocks_inited.get() {
            // First use of this block (the high-water mark only grows).
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
        Ok((blk, off, buf))
    }

    /// The head of `slot`.
    fn read_slot_head(&mut self, slot: u32) -> Result<VecSlotHead> {
        let (_, off, buf) = self.slot_block(slot)?;
        let raw = buf.get(off..off + VEC_SLOT_HEAD).ok_or(Errno::EIO)?;
        VecSlotHead::read_from_bytes(raw).map_err(|_| Errno::EIO)
    }

    /// Write `slot`: its head, and its vector when `v` is given (else the
    /// floats stay as they are).
    fn put_slot(&mut self, slot: u32, head: VecSlotHead, v: Option<&[f32]>) -> Result<()> {
        let (blk, off, mut buf) = self.slot_block(slot)?;
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
        let size = self.sb.vec_slot_size.get() as usize;
        let dst = buf.get_mut(off..off + size).ok_or(Errno::EIO)?;
        let (h, body) = dst.split_at_mut(VEC_SLOT_HEAD);
        h.copy_from_slice(head.as_bytes());
        if let Some(v) = v {
            body.fill(0);
            for (c, x) in body.chunks_exact_mut(4).zip(v.iter()) {
                c.copy_from_slice(&x.to_le_bytes());
            }
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

    fn write_slot(
        &mut self,
        slot: u32,
        ino: u64,
        generation: u32,
        tag: u32,
        v: &[f32],
    ) -> Result<()> {
        let head = VecSlotHead {
            ino: U64::new(ino),
            generation: U32::new(generation),
            tag: U32::new(tag),
        };
        self.put_slot(slot, head, Some(v))
    }

    fn write_slot_head(&mut self, slot: u32, ino: u64, generation: u32, tag: u32) -> Result<()> {
        let head = VecSlotHead {
            ino: U64::new(ino),
            generation: U32::new(generation),
            tag: U32::new(tag),
        };
        self.put_slot(slot, head, None)
    }

    /// A slot for a new vector: the head of the free list, else the next
    /// never used (`vec_slot_high`). O(1).
    #[inline(never)]
    fn alloc_slot(&mut self) -> Result<u32> {
        let high = self.sb.vec_slot_high.get();
        if let Some(slot) = self.sb.vec_free_head.get().checked_sub(1) {
            if slot >= high {
                return Err(self.corrupt(format_args!("free slot list names slot {}", slot)));
            }
            let h = self.read_slot_head(slot as u32)?;
            let next = u64::from(h.generation.get());
            if h.ino.get() != 0 || next > high {
                return Err(self.corrupt(format_args!(
                    "free slot list: slot {} is in use or links out of range",
                    slot
                )));
            }
            self.sb.vec_free_head.set(next);
            self.sb_dirty = true;
            return Ok(slot as u32);
        }
        let capacity = u64::from(self.space()?.capacity);
        if high >= capacity {
            return Err(Errno::ENOSPC);
        }
        self.sb.vec_slot_high.set(high + 1);
        self.sb_dirty = true;
        Ok(high as u32)
    }

    /// A full vector area: the new vector of `ino` goes into its own slot
    /// (a new tag, the node inserted again; links into the slot stay and
    /// lead to the new vector). The one case where a crash before the
    /// commit can leave the old vector without its own rows (it keeps its
    /// in-links, and fsck relinks it).
    #[inline(never)]
    fn replace_in_place(&mut self, slot: u32, ino: u64, generation: u32, v: &[f32]) -> Result<()> {
        if self.sb.vec_entry.get() == slot + 1 {
            let (r, err, _) = self.with_graph(|g, _| g.retire_entry(slot))?;
            if let Some(e) = err {
                return Err(e);
            }
            r.map_err(hnsw_errno)?;
        }
        let tag = self.next_tag();
        self.write_slot(slot, ino, generation, tag, v)?;
        let now = self.dev.now();
        self.inode(ino)?.set_ctime(now);
        self.store_inode(ino)?;
        let (r, read_err, changed) = self.with_graph(|g, view| g.insert(slot, view))?;
        self.vec_touched |= changed;
        if let Some(e) = read_err {
            return Err(e);
        }
        r.map_err(hnsw_errno)
    }

    /// Free `slot` onto the dead list (in the running transaction; no graph
    /// change but the entry point moving off it).
    #[inline(never)]
    fn kill_slot(&mut self, slot: u32) -> Result<()> {
        let h = self.read_slot_head(slot)?;
        let dead = self.sb.vec_dead_head.get() as u32;
        self.write_slot_head(slot, 0, dead, h.tag.get())?;
        self.sb.vec_dead_head.set(u64::from(slot) + 1);
        self.sb
            .vec_count
            .set(self.sb.vec_count.get().saturating_sub(1));
        self.sb_dirty = true;
        if self.sb.vec_entry.get() == slot + 1 {
            let (r, err, _) = self.with_graph(|g, _| g.retire_entry(slot))?;
            if let Some(e) = err {
                return Err(e);
            }
            r.map_err(hnsw_errno)?;
        }
        Ok(())
    }

    /// An operation starts (`begin_op`): no slot block written yet.
    pub(crate) fn vec_op_begin(&mut self) {
        if let Some(vs) = self.vec.as_mut() {
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

    /// Whether graph blocks found damaged await the re-linking of their
    /// nodes (queries search exactly meanwhile).
    fn graph_damaged(&self) -> bool {
        self.vec
            .as_ref()
            .is_some_and(|vs| vs.rows.try_borrow().is_ok_and(|r| !r.damaged.is_empty()))
    }

    /// Whether the graph rows changed in memory hold enough to commit.
    pub(crate) fn vec_wants_commit(&self) -> bool {
        self.rows_want_commit()
    }

    pub fn vec_info(&self) -> Result<VecInfo> {
        let vs = self.space()?;
        let lay = vs.geom.lay;
        let high = self.sb.vec_slot_high.get();
        let mut blocks = 0u64;
        for l in 0..=lay.top {
            let span = u64::from(lay.m).saturating_pow(l).max(1);
            let per = if l == 0 {
                lay.rows_per_block
            } else {
                lay.uppers_per_block
            };
            blocks += high.div_ceil(span).div_ceil(per);
        }
        Ok(VecInfo {
            dim: vs.dim,
            metric: vs.metric as u32,
            m: self.sb.hnsw_m.get(),
            ef_construction: self.sb.hnsw_ef_construction.get(),
            ef_search: vs.ef_search,
            levels: if self.sb.vec_entry.get() == 0 {
                0
            } else {
                self.sb.vec_top_level.get() + 1
            },
            count: self.sb.vec_count.get(),
            capacity: u64::from(vs.capacity),
            index_bytes: blocks * BLOCK_SIZE as u64,
            cache: self.vec_cache_stats()?,
        })
    }

    /// The caches' figures: slot blocks and graph blocks together.
    pub fn vec_cache_stats(&self) -> Result<CacheStats> {
        let vs = self.space()?;
        let mut s = vs.cache.stats();
        if let Ok(r) = vs.rows.try_borrow() {
            s.bytes += r.bytes() as u64;
            s.entries += r.count() as u64;
            s.budget += r.budget() as u64;
            s.hits += r.hits;
            s.misses += r.misses;
            s.peak += r.peak() as u64;
        }
        Ok(s)
    }

    /// Set the caches' budget in bytes (evicting down to it): two thirds
    /// for slot blocks, a third for graph blocks.
    pub fn vec_cache_set_budget(&mut self, bytes: usize) -> Result<()> {
        let vs = self.vec.as_mut().ok_or(Errno::EOPNOTSUPP)?;
        vs.cache.set_budget(slot_budget(bytes));
        vs.rows.get_mut().set_budget(row_budget(bytes));
        Ok(())
    }

    /// Entries the caches hold that `vec_cache_shrink` may free (graph
    /// blocks changed by the running transaction stay until it commits).
    pub fn vec_cache_count(&self) -> usize {
        self.vec.as_ref().map_or(0, |vs| {
            vs.cache.count() + vs.rows.try_borrow().map_or(0, |r| r.clean_count())
        })
    }

    /// Free up to `nr` cached blocks (memory pressure); how many went.
    pub fn vec_cache_shrink(&mut self, nr: usize) -> usize {
        self.vec.as_mut().map_or(0, |vs| {
            let a = vs.cache.shrink(nr);
            a + vs.rows.get_mut().shrink(nr.saturating_sub(a))
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
        // Slots on the dead list become free only after a commit.
        if self.vec.is_some()
            && self.sb.vec_free_head.get() == 0
            && self.sb.vec_dead_head.get() != 0
            && self.sb.vec_slot_high.get() >= self.sb.vec_capacity.get()
            && !self.in_op()
        {
            self.commit()?;
        }
        self.op(|fs| fs.vec_set_op(ino, v))
    }

    fn vec_set_op(&mut self, ino: u64, v: &[f32]) -> Result<()> {
        self.check_vector(v)?;
        self.vec_writable()?;
        self.begin_op()?;
        let i = self.inode_ref(ino)?;
        if i.mode() & S_IFMT != S_IFREG {
            return Err(Errno::EINVAL);
        }
        let generation = i.d.generation.get();
        // A new vector takes a new slot (with a new tag): the old one goes
        // on the dead list, so until this commits the old vector keeps its
        // node and rows untouched.
        if let Some(old) = i.d.vec_slot.get().checked_sub(1) {
            let old = u32::try_from(old).map_err(|_| Errno::EUCLEAN)?;
            if self.sb.vec_free_head.get() == 0
                && self.sb.vec_slot_high.get() >= self.sb.vec_capacity.get()
            {
                return self.replace_in_place(old, ino, generation, v);
            }
            self.kill_slot(old)?;
        }
        let slot = self.alloc_slot()?;
        let tag = self.next_tag();
        self.write_slot(slot, ino, generation, tag, v)?;
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
        self.sb.vec_count.set(self.sb.vec_count.get() + 1);
        self.sb_dirty = true;
        let (r, read_err, changed) = self.with_graph(|g, view| g.insert(slot, view))?;
        // Rows written: the operation can no longer be rolled back.
        self.vec_touched |= changed;
        if let Some(e) = read_err {
            return Err(e);
        }
        match r {
            Ok(()) => Ok(()),
            Err(HnswError::Corrupt(_)) => {
                Err(self.corrupt(format_args!("vector index rejected slot {}", slot)))
            }
            Err(e) => Err(hnsw_errno(e)),
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
        let (r, err) = self.with_view(|view| match view.slot(slot) {
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
        self.vec_drop(ino)?;
        let now = self.dev.now();
        let i = self.inode(ino)?;
        i.set_ctime(now);
        self.store_inode(ino)
    }

    /// Free the slot of `ino` (file deletion, vec_delete): onto the dead
    /// list, in the running transaction. No-op without one.
    pub(crate) fn vec_drop(&mut self, ino: u64) -> Result<Option<u32>> {
        let Some(slot) = self.inode_ref(ino)?.d.vec_slot.get().checked_sub(1) else {
            return Ok(None);
        };
        let slot = u32::try_from(slot).map_err(|_| Errno::EUCLEAN)?;
        let Some(vs) = self.vec.as_ref() else {
            return Err(self.corrupt(format_args!(
                "inode {} has a vector but the filesystem has no vector space",
                ino
            )));
        };
        if vs.exact_only {
            // No lists on such an image: a free slot is one without owner.
            self.write_slot_head(slot, 0, 0, 0)?;
            self.sb
                .vec_count
                .set(self.sb.vec_count.get().saturating_sub(1));
            self.sb_dirty = true;
        } else {
            self.kill_slot(slot)?;
        }
        let i = self.inode(ino)?;
        i.d.vec_slot = U64::new(0);
        Ok(Some(slot))
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
            if exact || vs.exact_only {
                let high = self.slot_layout(vs.capacity, vs.exact_only).high;
                let slots: Vec<u32> = crate::mem::collect(0..high)?;
                self.exact_among(q, n, &slots)?
            } else {
                let (r, err, _) = self.with_graph(|g, view| {
                    // Every node the graph reaches holds a vector.
                    let mut live = |_: u32| true;
                    let r = g.search(q, n, ef, view, &mut live);
                    r.map(|hits| owners_of(view, hits))
                })?;
                if let Some(e) = err {
                    return Err(e);
                }
                let hits = r.map_err(hnsw_errno)??;
                if self.graph_damaged() {
                    // Rows are missing until their nodes are linked again:
                    // the graph may miss them, an exact search does not.
                    let vs = self.space()?;
                    let high = self.slot_layout(vs.capacity, vs.exact_only).high;
                    let slots: Vec<u32> = crate::mem::collect(0..high)?;
                    self.exact_among(q, n, &slots)?
                } else {
                    hits
                }
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
        if !exact && !self.space()?.exact_only {
            let mut a = Ancestry {
                within,
                root,
                memo: HashMap::new(),
                err: None,
            };
            let (r, err, _) = self.with_graph(|g, view| {
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
            if !cut && !self.graph_damaged() {
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
            let (r, err) = self.with_view(|view| {
                let mut live = |slot: u32| view.owner(slot).is_some();
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
