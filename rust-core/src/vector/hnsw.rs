//! HNSW approximate nearest-neighbour index (Malkov & Yashunin, 2016). The
//! graph holds ids only and reads vectors through [`Vectors`]; its links
//! live in a [`GraphStore`]: [`MemGraph`] (arrays in memory, for tools,
//! benchmarks and tests) or the mounted filesystem's rows on disk. The
//! algorithm is one and the same over both, so the same inserts give the
//! same graph.
//!
//! # Layout
//!
//! Ids are dense slot numbers below a capacity fixed up front; a node's
//! top level follows from its id ([`level_of`]), so a store needs no level
//! table. [`MemGraph`] keeps one level byte per slot, `M0 = 2*M` level-0
//! links per slot in one flat array and the (about 1 in M) upper rows in a
//! map. 100k nodes at M=16 take about 13.3 MB in memory (32 x 4 bytes of
//! level-0 links + 1 level byte per node, plus about 7% for the upper
//! levels) and the visited stamps another 4 bytes per slot.
//!
//! # Algorithms
//!
//! * Levels are stratified by slot number ([`level_of`]): exactly one slot
//!   in every aligned group of `M^l` slots has level >= l, picked by a
//!   seeded hash, so the fraction at each level is the `M^-l` of the paper
//!   exactly (not just in expectation), in integers.
//! * Insertion is Algorithm 1 with the neighbour-selection heuristic
//!   (Algorithm 4) without `keepPrunedConnections`, as hnswlib: a node gets
//!   at most `M` links at insertion on every level, and a neighbour whose
//!   list overflows (`M0` at level 0, `M` above) is shrunk with the same
//!   heuristic. (Keeping the pruned links fills every row: each later link
//!   to the node then pays the heuristic, and every search expands more
//!   links; measured: build 0.67x and queries 0.75x of this at equal ef.)
//! * Deletion is real: the node's in-links are looked for among the nodes
//!   within two hops of it (O(M^2) rows, never a scan of the graph), each
//!   in-neighbour drops the link and refills its free slots from the removed
//!   node's out-neighbours, again with the heuristic against the links it
//!   keeps. Out-neighbours left with no in-link at all are re-attached to
//!   their nearest live nodes by a search from the entry point. A new entry
//!   point is chosen among the highest remaining nodes.
//! * The visited set is a generation-stamped `Vec<u32>` (reset = one
//!   increment). Searches take `&self`: the shared stamps sit behind a
//!   `spin::Mutex` taken with `try_lock`; a concurrent search that finds it
//!   busy uses a fresh zeroed set instead of waiting.
//!
//! Everything is deterministic given the seed and the sequence of calls
//! (ties are broken by id; the upper-level map uses a fixed hasher), and
//! the same whatever the store.
//! No recursion, no large stack arrays, no floating-point transcendental
//! functions.

use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::{Ordering, Reverse};
use core::hash::{BuildHasherDefault, Hasher};

use super::distance::{distance, distances, is_finite_vector, is_nan, prefetch, Metric, BATCH};

/// Default search breadth (`ef`) when the caller passes none. Chosen from the
/// recall tests (tests/hnsw_recall.rs): on 10k clustered 128-d vectors of
/// fairly high intrinsic dimension, with the default M=16 and
/// ef_construction=200, ef=64 gives recall@10 of 0.990 (L2), 0.998 (cosine)
/// and 0.991 (inner product), and 0.992 after deleting 30% of the nodes
/// (ef=32 drops to about 0.97, ef=16 to about 0.9).
pub const DEFAULT_EF_SEARCH: u32 = 64;

/// Smallest and largest accepted `M`.
pub const MIN_M: u32 = crate::format::VEC_MIN_M;
/// Largest accepted `M` (so `M0 = 2*M <= 256`).
pub const MAX_M: u32 = crate::format::VEC_MAX_M;
/// Largest accepted `ef_construction` (larger values are clamped).
pub const MAX_EF_CONSTRUCTION: u32 = crate::format::VEC_MAX_EF_CONSTRUCTION;
/// Highest level a node may have (levels are clamped there).
pub const MAX_LEVEL: u32 = 24;

/// Padding of link rows; also "no entry point".
const NONE: u32 = u32::MAX;
/// `levels` value of an empty slot.
const ABSENT: u8 = 0xFF;

/// The vector store as the index sees it.
pub trait Vectors {
    /// The vector of slot `id`, if that slot holds one.
    fn get(&self, id: u32) -> Option<&[f32]>;
}

/// Vectors laid out contiguously, `dim` floats per id (tests, tools, benches).
#[derive(Clone, Copy, Debug)]
pub struct SliceVectors<'a> {
    /// `count * dim` floats.
    pub data: &'a [f32],
    /// Floats per vector (must be > 0).
    pub dim: usize,
}

impl Vectors for SliceVectors<'_> {
    fn get(&self, id: u32) -> Option<&[f32]> {
        let start = (id as usize).checked_mul(self.dim)?;
        let end = start.checked_add(self.dim)?;
        if self.dim == 0 {
            return None;
        }
        self.data.get(start..end)
    }
}

/// Construction parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HnswParams {
    /// Links per node on levels >= 1 (`2*M` on level 0).
    pub m: u32,
    /// Candidate list breadth while inserting.
    pub ef_construction: u32,
    /// Seed of the level generator.
    pub seed: u64,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            m: 16,
            ef_construction: 200,
            seed: 0x5645_5846_5348_4E53,
        }
    }
}

/// Index errors.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum HnswError {
    /// The id is not below the capacity, or memory for it could not be had.
    Full,
    /// The id is already in the index.
    Exists,
    /// The id is not in the index, or the store has no vector for it.
    Missing,
    /// Inconsistent input: undecodable bytes, or a non-finite vector.
    Corrupt(&'static str),
    /// Memory for the operation could not be had; the graph is unchanged
    /// (insert, search) or still consistent (remove: see there).
    NoMemory,
}

use HnswError::NoMemory;

fn oom<T>(r: Result<T, crate::Errno>) -> Result<T, HnswError> {
    r.map_err(|_| NoMemory)
}

fn hpush<T: Ord>(h: &mut BinaryHeap<T>, x: T) -> Result<(), HnswError> {
    oom(crate::mem::heap_push(h, x))
}

fn vpush<T>(v: &mut Vec<T>, x: T) -> Result<(), HnswError> {
    oom(crate::mem::push(v, x))
}

/// Fixed (unseeded) hasher for the u32 keys of the upper-level map, so that
/// the index is deterministic.
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u32(&mut self, i: u32) {
        // Fibonacci hashing; hashbrown uses the top 7 bits as tag and the low
        // bits as index, both well mixed by the multiply + fold.
        let h = (u64::from(i) ^ self.0).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 32);
    }
}

type UpperMap = hashbrown::HashMap<u32, Vec<u32>, BuildHasherDefault<IdHasher>>;
/// New rows for some nodes at one level: (node, row).
type RowChanges = Vec<(u32, Vec<u32>)>;
/// Per level: the new node's row, and its neighbours' rows with the link to it.
type LinkPlan = Vec<(u32, Vec<u32>, RowChanges)>;

/// A candidate: distance to the query, then id (the tie-break).
#[derive(Clone, Copy, Debug)]
struct Cand {
    d: f32,
    id: u32,
}

impl PartialEq for Cand {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Cand {}
impl PartialOrd for Cand {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Cand {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        self.d.total_cmp(&other.d).then(self.id.cmp(&other.id))
    }
}

/// Visited set: generation stamps, one per slot (in memory: reset = one
/// increment), or a hash set of the ids met (a store of unbounded size on
/// disk: memory bounded by the traversal, not by the slot count).
#[derive(Default)]
struct Visited {
    gen: u32,
    marks: Vec<u32>,
    dense: bool,
    sparse: hashbrown::HashSet<u32, BuildHasherDefault<IdHasher>>,
    /// The sparse set could not grow: the traversal is incomplete.
    failed: bool,
}

impl Visited {
    /// Starts a new traversal over ids `< slots`.
    fn begin(&mut self, slots: usize, dense: bool) -> Result<(), HnswError> {
        self.dense = dense;
        self.failed = false;
        if !dense {
            self.sparse.clear();
            return Ok(());
        }
        if self.marks.len() < slots {
            oom(crate::mem::resize(&mut self.marks, slots, 0))?;
        }
        self.gen = self.gen.wrapping_add(1);
        if self.gen == 0 {
            self.marks.iter_mut().for_each(|m| *m = 0);
            self.gen = 1;
        }
        Ok(())
    }

    /// Marks `id`; true when it was not marked yet. Out-of-range ids count as
    /// visited (never traversed).
    #[inline]
    fn insert(&mut self, id: u32) -> bool {
        if !self.dense {
            return match crate::mem::set_insert(&mut self.sparse, id) {
                Ok(new) => new,
                Err(_) => {
                    self.failed = true;
                    false
                }
            };
        }
        match self.marks.get_mut(id as usize) {
            Some(m) if *m != self.gen => {
                *m = self.gen;
                true
            }
            _ => false,
        }
    }

    /// NoMemory when the set could not hold every id met.
    fn check(&self) -> Result<(), HnswError> {
        if self.failed {
            Err(NoMemory)
        } else {
            Ok(())
        }
    }
}

/// `a < b` for distances (never NaN here: NaN is mapped to +inf) by their
/// bits, as `Cand`'s order: the kernel build is soft-float, where a float
/// comparison is a library call and this is two integer operations.
#[inline(always)]
fn lt(a: f32, b: f32) -> bool {
    a.total_cmp(&b).is_lt()
}

/// NaN mapped to +inf, so corrupt data sorts last.
#[inline(always)]
fn nan_inf(d: f32) -> f32 {
    if is_nan(d) {
        f32::INFINITY
    } else {
        d
    }
}

/// Distance with NaN mapped to +inf.
#[inline]
fn dist(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    nan_inf(distance(metric, a, b))
}

/// `f(id, distance to q)` for each of `ids` that has a vector, in order.
/// The distances are computed a batch at a time (in the kernel: one FPU
/// section per batch instead of one per distance).
fn each_dist<V: Vectors, E>(
    metric: Metric,
    q: &[f32],
    ids: impl Iterator<Item = u32>,
    vecs: &V,
    mut f: impl FnMut(u32, f32) -> Result<(), E>,
) -> Result<(), E> {
    let mut bid = [0u32; BATCH];
    let mut bv: [&[f32]; BATCH] = [&[]; BATCH];
    let mut bd = [0f32; BATCH];
    let mut len = 0usize;
    let mut flush = |bid: &[u32; BATCH], bv: &[&[f32]; BATCH], len: usize| -> Result<(), E> {
        let (Some(vs), Some(ds)) = (bv.get(..len), bd.get_mut(..len)) else {
            return Ok(());
        };
        distances(metric, q, vs, ds);
        for (&id, &d) in bid.iter().zip(ds.iter()) {
            f(id, nan_inf(d))?;
        }
        Ok(())
    };
    for id in ids {
        let Some(v) = vecs.get(id) else { continue };
        // The batch's vectors are fetched from memory in parallel.
        prefetch(v);
        if let (Some(i), Some(s)) = (bid.get_mut(len), bv.get_mut(len)) {
            *i = id;
            *s = v;
            len += 1;
        }
        if len == BATCH {
            flush(&bid, &bv, len)?;
            len = 0;
        }
    }
    flush(&bid, &bv, len)
}

/// The ids of a `NONE`-padded row.
#[inline]
fn live(row: &[u32]) -> impl Iterator<Item = u32> + '_ {
    row.iter().copied().take_while(|&n| n != NONE)
}

/// Writes `ids` at the front of `row` and pads with `NONE`.
fn fill_row(row: &mut [u32], ids: &[u32]) {
    let mut src = ids.iter();
    for slot in row.iter_mut() {
        *slot = src.next().copied().unwrap_or(NONE);
    }
}

/// The level of slot `id`, deterministic from the slot number (so that a
/// graph stored by slot needs no level table, and every store agrees):
/// stratified. Among each group of `M^l` consecutive slots exactly one has
/// level >= l: of the group's `M` subgroups (of `M^(l-1)` slots each, each
/// holding exactly one slot of level >= l-1) a hash of `(seed, l, group)`
/// picks one, whose level >= l-1 slot rises. O(levels) arithmetic.
pub fn level_of(seed: u64, m: u32, id: u32) -> u32 {
    let m = u64::from(m.clamp(MIN_M, MAX_M));
    let id = u64::from(id);
    // `span` = M^(l-1): the size of the subgroups at level l.
    let mut span = 1u64;
    let mut level = 0;
    while level < MAX_LEVEL {
        let Some(group_len) = span.checked_mul(m) else {
            break;
        };
        let group = id / group_len;
        let sub = (id / span) % m;
        if pick(seed, level + 1, group, m) != sub {
            break;
        }
        level += 1;
        span = group_len;
    }
    level
}

/// The highest level a graph of `capacity` slots uses (see
/// `format::graph_top_level`).
pub fn top_level(m: u32, capacity: u32) -> u32 {
    crate::format::graph_top_level(m, capacity)
}

/// The slot of level >= `level` in group `group` of that level (the
/// inverse of `level_of`: `level_of(rep_of(l, g)) >= l`).
pub fn rep_of(seed: u64, m: u32, level: u32, group: u64) -> u64 {
    let m = u64::from(m.clamp(MIN_M, MAX_M));
    let mut g = group;
    for l in (1..=level).rev() {
        g = g.saturating_mul(m).saturating_add(pick(seed, l, g, m));
    }
    g
}

/// The subgroup (`0..m`) of `group` whose representative reaches `level`.
#[inline]
fn pick(seed: u64, level: u32, group: u64, m: u64) -> u64 {
    let mut s = seed ^ (u64::from(level) << 58) ^ group.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    splitmix64(&mut s) % m
}

/// Where a graph's links live. The algorithm ([`Hnsw`]) is the same for
/// every store: arrays in memory ([`MemGraph`]: tools, benchmarks, tests)
/// or rows on disk addressed by slot (the mounted filesystem). A store
/// reports read errors (I/O, corruption, memory) through `row`, or by
/// counting a node it cannot read as absent and noting why itself.
pub trait GraphStore {
    /// A row as read: borrowed (memory) or a small copy (disk).
    type Row<'a>: core::ops::Deref<Target = [u32]>
    where
        Self: 'a;
    /// Top level of `id` when it is a node.
    fn node_level(&self, id: u32) -> Option<u32>;
    /// `id`'s `NONE`-padded row at `level` (empty when it has none).
    fn row(&self, id: u32, level: u32) -> Result<Self::Row<'_>, HnswError>;
    /// Replace `id`'s row at `level` with `ids`.
    fn set_row(&mut self, id: u32, level: u32, ids: &[u32]) -> Result<(), HnswError>;
    /// Make `id` a node of top level `level` with empty rows; on failure
    /// nothing changed.
    fn add_node(&mut self, id: u32, level: u32) -> Result<(), HnswError>;
    /// `id` (of top level `level`) is no node any more.
    fn remove_node(&mut self, id: u32, level: u32) -> Result<(), HnswError>;
    /// Whether the graph may hold nodes that route searches but are no
    /// result (deleted, not unlinked yet): then `is_live` tells them apart.
    const ROUTES_DEAD: bool = false;
    /// Whether node `id` may be a result or a new link's target.
    fn is_live(&self, _id: u32) -> bool {
        true
    }
    /// Whether `id` is in the graph already (insert refuses it). A store
    /// whose nodes are made present by something else (a slot write on
    /// disk, with a new tag no row has) says false.
    fn has_node(&self, id: u32) -> bool {
        self.node_level(id).is_some()
    }
    /// Ids a traversal may meet are below this (the visited set's size).
    fn slots(&self) -> usize;
    /// Whether traversals mark visited ids in a per-slot array (fast, 4
    /// bytes per slot) rather than a set sized by the traversal.
    fn dense_visited(&self) -> bool {
        true
    }
    /// False when no node but `not` can have top level `level` (lets a
    /// store that counts nodes per level skip a scan).
    fn may_hold_top(&self, _level: u32, _not: u32) -> bool {
        true
    }
    /// The lowest node but `not` of top level `level`, if any.
    fn find_top(&self, level: u32, not: u32) -> Result<Option<u32>, HnswError>;
}

/// The graph in memory: what host tools and benchmarks build and search.
///
/// * `levels`: one byte per slot, the node's top level or [`ABSENT`];
/// * level-0 links in one flat `Vec<u32>` of `M0 = 2*M` entries per slot;
/// * links of levels >= 1 (about 1 node in M) in a map from id to one
///   `Vec<u32>` of `level * M` entries, level by level.
///
/// All `NONE`-padded; the arrays grow lazily up to the largest id.
#[derive(Clone, Default)]
pub struct MemGraph {
    m: usize,
    m0: usize,
    capacity: u32,
    levels: Vec<u8>,
    links0: Vec<u32>,
    upper: UpperMap,
    /// Nodes per top level (`may_hold_top` without a scan).
    tops: [u32; MAX_LEVEL as usize + 1],
}

impl MemGraph {
    fn new(m: usize, capacity: u32) -> Self {
        MemGraph {
            m,
            m0: 2 * m,
            capacity,
            ..MemGraph::default()
        }
    }

    /// Grows the per-slot arrays to hold `id`.
    fn ensure_slot(&mut self, id: u32) -> Result<(), HnswError> {
        let need = id as usize + 1;
        if self.levels.len() >= need {
            return Ok(());
        }
        let links = need.checked_mul(self.m0).ok_or(HnswError::Full)?;
        // Amortised growth, never beyond the capacity.
        let target = need
            .max(self.levels.len().saturating_mul(2))
            .min(self.capacity as usize)
            .max(need);
        let target_links = target.checked_mul(self.m0).ok_or(HnswError::Full)?;
        if self
            .levels
            .try_reserve_exact(target - self.levels.len())
            .is_err()
            || self
                .links0
                .try_reserve_exact(target_links - self.links0.len())
                .is_err()
        {
            return Err(NoMemory);
        }
        oom(crate::mem::resize(&mut self.levels, need, ABSENT))?;
        oom(crate::mem::resize(&mut self.links0, links, NONE))?;
        Ok(())
    }

    /// The padded row (empty when there is none), borrowed.
    #[inline]
    fn row_ref(&self, id: u32, level: u32) -> &[u32] {
        if level == 0 {
            let start = (id as usize).saturating_mul(self.m0);
            self.links0
                .get(start..start.saturating_add(self.m0))
                .unwrap_or(&[])
        } else {
            let start = (level as usize - 1) * self.m;
            self.upper
                .get(&id)
                .and_then(|v| v.get(start..start + self.m))
                .unwrap_or(&[])
        }
    }

    fn row_mut(&mut self, id: u32, level: u32) -> Option<&mut [u32]> {
        if level == 0 {
            let start = (id as usize).checked_mul(self.m0)?;
            self.links0.get_mut(start..start.checked_add(self.m0)?)
        } else {
            let start = (level as usize - 1) * self.m;
            let m = self.m;
            self.upper
                .get_mut(&id)
                .and_then(|v| v.get_mut(start..start + m))
        }
    }

    /// Ids of the nodes, ascending.
    fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.levels
            .iter()
            .enumerate()
            .filter(|(_, &l)| l != ABSENT)
            .map(|(i, _)| i as u32)
    }
}

impl GraphStore for MemGraph {
    type Row<'a> = &'a [u32];

    #[inline]
    fn node_level(&self, id: u32) -> Option<u32> {
        match self.levels.get(id as usize) {
            Some(&l) if l != ABSENT => Some(u32::from(l)),
            _ => None,
        }
    }

    #[inline]
    fn row(&self, id: u32, level: u32) -> Result<&[u32], HnswError> {
        Ok(self.row_ref(id, level))
    }

    #[inline]
    fn set_row(&mut self, id: u32, level: u32, ids: &[u32]) -> Result<(), HnswError> {
        if let Some(row) = self.row_mut(id, level) {
            fill_row(row, ids);
        }
        Ok(())
    }

    fn add_node(&mut self, id: u32, level: u32) -> Result<(), HnswError> {
        self.ensure_slot(id)?;
        if level > 0 {
            let row = oom(crate::mem::vec_filled(level as usize * self.m, NONE))?;
            oom(crate::mem::map_reserve(&mut self.upper, 1))?;
            // Room was reserved: this does not allocate.
            let _ = crate::mem::map_insert(&mut self.upper, id, row);
        }
        if let Some(r) = self.row_mut(id, 0) {
            r.fill(NONE);
        }
        if let Some(slot) = self.levels.get_mut(id as usize) {
            *slot = level as u8;
        }
        if let Some(t) = self.tops.get_mut(level as usize) {
            *t += 1;
        }
        Ok(())
    }

    fn remove_node(&mut self, id: u32, level: u32) -> Result<(), HnswError> {
        if let Some(r) = self.row_mut(id, 0) {
            r.fill(NONE);
        }
        if let Some(slot) = self.levels.get_mut(id as usize) {
            *slot = ABSENT;
        }
        if let Some(t) = self.tops.get_mut(level as usize) {
            *t = t.saturating_sub(1);
        }
        self.upper.remove(&id);
        Ok(())
    }

    #[inline]
    fn slots(&self) -> usize {
        self.levels.len()
    }

    fn may_hold_top(&self, level: u32, not: u32) -> bool {
        let n = self.tops.get(level as usize).copied().unwrap_or(0);
        let own = self.node_level(not) == Some(level);
        n > u32::from(own)
    }

    fn find_top(&self, level: u32, not: u32) -> Result<Option<u32>, HnswError> {
        let is_top = |n: u32| n != not && self.node_level(n) == Some(level);
        Ok(if level > 0 {
            self.upper.keys().copied().filter(|&n| is_top(n)).min()
        } else {
            self.ids().find(|&n| is_top(n))
        })
    }
}

/// The HNSW graph over a store `S` (in memory by default).
pub struct Hnsw<S: GraphStore = MemGraph> {
    params: HnswParams,
    metric: Metric,
    capacity: u32,
    /// Links per node on levels >= 1.
    m: usize,
    /// Links per node on level 0.
    m0: usize,
    store: S,
    /// Entry point, `NONE` when empty.
    entry: u32,
    /// Level of the entry point (the highest level in use).
    max_level: u32,
    len: usize,
    visited: spin::Mutex<Visited>,
}

impl<S: GraphStore> core::fmt::Debug for Hnsw<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Hnsw")
            .field("params", &self.params)
            .field("metric", &self.metric)
            .field("capacity", &self.capacity)
            .field("len", &self.len)
            .field("levels", &self.levels())
            .field("entry", &self.entry)
            .finish()
    }
}

impl<S: GraphStore + Clone> Clone for Hnsw<S> {
    fn clone(&self) -> Self {
        Hnsw {
            params: self.params,
            metric: self.metric,
            capacity: self.capacity,
            m: self.m,
            m0: self.m0,
            store: self.store.clone(),
            entry: self.entry,
            max_level: self.max_level,
            len: self.len,
            visited: spin::Mutex::new(Visited::default()),
        }
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Clamps user parameters into the supported range.
fn sanitize(params: HnswParams) -> HnswParams {
    HnswParams {
        m: params.m.clamp(MIN_M, MAX_M),
        ef_construction: params.ef_construction.clamp(1, MAX_EF_CONSTRUCTION),
        seed: params.seed,
    }
}

impl Hnsw<MemGraph> {
    /// An empty in-memory index for ids below `capacity`. `m` is clamped
    /// to `MIN_M..=MAX_M` and `ef_construction` to
    /// `1..=MAX_EF_CONSTRUCTION`; [`Hnsw::params`] reports the values in use.
    pub fn new(params: HnswParams, metric: Metric, capacity: u32) -> Self {
        let m = sanitize(params).m as usize;
        Hnsw::with_store(
            params,
            metric,
            capacity,
            MemGraph::new(m, capacity),
            NONE,
            0,
            0,
        )
    }

    /// Level-`level` out-links of `id` (empty when absent or above its level).
    pub fn neighbours(&self, id: u32, level: u32) -> impl Iterator<Item = u32> + '_ {
        live(self.store.row_ref(id, level)).filter(move |&n| self.linked(n, level))
    }

    /// Ids in the index, ascending.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.store.ids()
    }

    /// Bytes of heap memory held (approximate for the upper map).
    pub fn memory_bytes(&self) -> usize {
        let s = &self.store;
        let upper: usize = s
            .upper
            .values()
            .map(|v| v.capacity() * 4 + 32)
            .sum::<usize>()
            + s.upper.capacity() * 8;
        s.levels.capacity() + s.links0.capacity() * 4 + upper
    }
}

impl<S: GraphStore> Hnsw<S> {
    /// An index over `store`, which holds a graph with entry point `entry`
    /// (`u32::MAX`: empty) of level `max_level` and `len` nodes.
    pub fn with_store(
        params: HnswParams,
        metric: Metric,
        capacity: u32,
        store: S,
        entry: u32,
        max_level: u32,
        len: usize,
    ) -> Self {
        let params = sanitize(params);
        let m = params.m as usize;
        Hnsw {
            params,
            metric,
            capacity,
            m,
            m0: 2 * m,
            store,
            entry,
            max_level: if entry == NONE { 0 } else { max_level },
            len,
            visited: spin::Mutex::new(Visited::default()),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, to change what it reads through between operations.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// The level slot `id` has (or would have) in this index: `level_of`,
    /// capped at the level with a single group (`top_level`).
    pub fn level_for(&self, id: u32) -> u32 {
        level_of(self.params.seed, self.params.m, id).min(top_level(self.params.m, self.capacity))
    }

    /// Whether `id` is in the index.
    pub fn contains(&self, id: u32) -> bool {
        self.node_level(id).is_some()
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the index has no node.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of levels in use (highest level + 1), 0 when empty.
    pub fn levels(&self) -> u32 {
        if self.entry == NONE {
            0
        } else {
            self.max_level + 1
        }
    }

    /// The parameters in use (after clamping).
    pub fn params(&self) -> HnswParams {
        self.params
    }

    /// The metric.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The capacity (ids are below it).
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// The entry point, if any.
    pub fn entry_point(&self) -> Option<u32> {
        (self.entry != NONE).then_some(self.entry)
    }

    /// Top level of `id`, if present.
    pub fn node_level(&self, id: u32) -> Option<u32> {
        self.store.node_level(id)
    }

    /// Whether a link to `n` at `level` leads anywhere. A removal repairs
    /// the in-links it finds near the node; the rest stay in their rows
    /// until those are rewritten, and every reader skips them.
    #[inline]
    fn linked(&self, n: u32, level: u32) -> bool {
        self.store.node_level(n).is_some_and(|l| l >= level)
    }

    /// The live links of `id` at `level`, collected.
    fn links_vec(&self, id: u32, level: u32) -> Result<Vec<u32>, HnswError> {
        let row = self.store.row(id, level)?;
        oom(crate::mem::collect(
            live(&row).filter(|&n| self.linked(n, level)),
        ))
    }

    fn max_links(&self, level: u32) -> usize {
        if level == 0 {
            self.m0
        } else {
            self.m
        }
    }

    fn take_visited(&mut self) -> Visited {
        core::mem::take(self.visited.get_mut())
    }

    /// Greedy descent at `level` (ef = 1).
    fn greedy<V: Vectors>(
        &self,
        q: &[f32],
        mut cur: Cand,
        level: u32,
        vecs: &V,
    ) -> Result<Cand, HnswError> {
        loop {
            let mut moved = false;
            let row = self.store.row(cur.id, level)?;
            let links = live(&row).filter(|&n| self.linked(n, level));
            let _ = each_dist(self.metric, q, links, vecs, |n, d| {
                if lt(d, cur.d) {
                    cur = Cand { d, id: n };
                    moved = true;
                }
                Ok::<(), core::convert::Infallible>(())
            });
            if !moved {
                return Ok(cur);
            }
        }
    }

    /// Greedy descent from the entry point (whose vector is `ev`) through
    /// the levels above `to`: the entry point for a search at `to`.
    fn descend<V: Vectors>(
        &self,
        q: &[f32],
        ev: &[f32],
        to: u32,
        vecs: &V,
    ) -> Result<Cand, HnswError> {
        let mut ep = Cand {
            d: dist(self.metric, q, ev),
            id: self.entry,
        };
        let mut level = self.max_level;
        while level > to {
            ep = self.greedy(q, ep, level, vecs)?;
            level -= 1;
        }
        Ok(ep)
    }

    /// Algorithm 2: the `ef` nearest to `q` reachable at `level` from `eps`,
    /// ascending. With a filter, every reached node is expanded but only
    /// those passing it are kept as results.
    #[allow(clippy::too_many_arguments)]
    fn search_layer<V: Vectors>(
        &self,
        q: &[f32],
        eps: &[Cand],
        ef: usize,
        level: u32,
        vecs: &V,
        vis: &mut Visited,
        filter: Option<&mut dyn FnMut(u32) -> bool>,
    ) -> Result<Vec<Cand>, HnswError> {
        self.search_layer_bounded(q, eps, ef, level, vecs, vis, filter, usize::MAX)
            .map(|(res, _)| res)
    }

    /// `search_layer` keeping only live nodes as results (new links never
    /// go to a deleted node that still routes); no filter in memory.
    #[allow(clippy::too_many_arguments)]
    fn search_layer_live<V: Vectors>(
        &self,
        q: &[f32],
        eps: &[Cand],
        ef: usize,
        level: u32,
        vecs: &V,
        vis: &mut Visited,
    ) -> Result<Vec<Cand>, HnswError> {
        if S::ROUTES_DEAD {
            let mut live = |n: u32| self.store.is_live(n);
            self.search_layer(q, eps, ef, level, vecs, vis, Some(&mut live))
        } else {
            self.search_layer(q, eps, ef, level, vecs, vis, None)
        }
    }

    /// `search_layer` expanding at most `budget` nodes; true when it
    /// stopped for the budget (a filter that rejects most nodes otherwise
    /// makes the search expand the whole graph).
    #[allow(clippy::too_many_arguments)]
    fn search_layer_bounded<V: Vectors>(
        &self,
        q: &[f32],
        eps: &[Cand],
        ef: usize,
        level: u32,
        vecs: &V,
        vis: &mut Visited,
        mut filter: Option<&mut dyn FnMut(u32) -> bool>,
        budget: usize,
    ) -> Result<(Vec<Cand>, bool), HnswError> {
        let ef = ef.max(1);
        let mut cands: BinaryHeap<Reverse<Cand>> =
            oom(crate::mem::heap_with_capacity(ef.saturating_mul(2)))?;
        let mut res: BinaryHeap<Cand> = oom(crate::mem::heap_with_capacity(ef + 1))?;
        for &ep in eps {
            if !vis.insert(ep.id) {
                continue;
            }
            hpush(&mut cands, Reverse(ep))?;
            let ok = match filter.as_mut() {
                Some(f) => f(ep.id),
                None => true,
            };
            if ok {
                hpush(&mut res, ep)?;
                if res.len() > ef {
                    res.pop();
                }
            }
        }
        let mut steps = 0usize;
        let mut cut = false;
        while let Some(Reverse(c)) = cands.pop() {
            if steps >= budget {
                cut = true;
                break;
            }
            steps += 1;
            crate::dev::resched_every(steps, 256);
            if res.len() >= ef {
                if let Some(worst) = res.peek() {
                    if lt(worst.d, c.d) {
                        break;
                    }
                }
            }
            let row = self.store.row(c.id, level)?;
            let fresh = live(&row).filter(|&n| self.linked(n, level) && vis.insert(n));
            each_dist(self.metric, q, fresh, vecs, |n, d| {
                let worst = res.peek().map_or(f32::INFINITY, |w| w.d);
                if res.len() < ef || lt(d, worst) {
                    let cand = Cand { d, id: n };
                    hpush(&mut cands, Reverse(cand))?;
                    let ok = match filter.as_mut() {
                        Some(f) => f(n),
                        None => true,
                    };
                    if ok {
                        hpush(&mut res, cand)?;
                        if res.len() > ef {
                            res.pop();
                        }
                    }
                }
                Ok(())
            })?;
        }
        vis.check()?;
        Ok((res.into_sorted_vec(), cut))
    }

    /// Algorithm 4 without keepPrunedConnections (as hnswlib): up to `m` of
    /// `cands` (sorted ascending by distance to the base), each nearer to
    /// the base than to any already selected. Rows left short take new
    /// links by a plain append later, and searches expand fewer links.
    fn select_neighbours<V: Vectors>(
        &self,
        cands: &[Cand],
        m: usize,
        vecs: &V,
    ) -> Result<Vec<u32>, HnswError> {
        let mut sel: Vec<u32> = oom(crate::mem::vec_with_capacity(m))?;
        let mut sel_v: Vec<&[f32]> = oom(crate::mem::vec_with_capacity(m))?;
        // The kernel computes a candidate's distances to all selected in one
        // batch (one FPU section, not one per distance); host builds stop
        // at the first selected one nearer than the base, as hnswlib.
        let mut ds: Vec<f32> = if cfg!(feature = "kernel") {
            oom(crate::mem::vec_filled(m, 0.0))?
        } else {
            Vec::new()
        };
        for c in cands {
            if sel.len() >= m {
                break;
            }
            let Some(cv) = vecs.get(c.id) else { continue };
            let good = match ds.get_mut(..sel_v.len()) {
                Some(out) if cfg!(feature = "kernel") => {
                    distances(self.metric, cv, &sel_v, out);
                    out.iter().all(|&d| !lt(nan_inf(d), c.d))
                }
                _ => sel_v.iter().all(|rv| !lt(dist(self.metric, cv, rv), c.d)),
            };
            if good {
                vpush(&mut sel, c.id)?;
                vpush(&mut sel_v, cv)?;
            }
        }
        Ok(sel)
    }

    /// `n`'s row at `level` once the link `n -> new` is added, shrunk with
    /// the heuristic when it is full; None when `n` has no such row or no
    /// vector (nothing to change). Reads only: the caller applies it.
    fn link_row<V: Vectors>(
        &self,
        n: u32,
        new: u32,
        level: u32,
        vecs: &V,
    ) -> Result<Option<Vec<u32>>, HnswError> {
        let mmax = self.max_links(level);
        let row = self.store.row(n, level)?;
        if row.is_empty() {
            return Ok(None);
        }
        let mut kept = oom(crate::mem::collect(
            live(&row).filter(|&s| s != new && self.linked(s, level)),
        ))?;
        drop(row);
        if kept.len() < mmax {
            vpush(&mut kept, new)?;
            return Ok(Some(kept));
        }
        let Some(nv) = vecs.get(n) else {
            return Ok(None);
        };
        // In batches (one FPU section each in the kernel); a link without a
        // vector is dropped, as the selection below would skip it.
        let mut cands: Vec<Cand> = oom(crate::mem::vec_with_capacity(mmax + 1))?;
        each_dist(
            self.metric,
            nv,
            kept.into_iter().chain(core::iter::once(new)),
            vecs,
            |id, d| vpush(&mut cands, Cand { d, id }),
        )?;
        cands.sort_unstable();
        self.select_neighbours(&cands, mmax, vecs).map(Some)
    }

    /// Adds the link `from -> to` at `level` as an insert would (the row
    /// shrunk with the heuristic when full): restores links lost with a
    /// damaged row.
    pub fn add_link_to<V: Vectors>(
        &mut self,
        from: u32,
        to: u32,
        level: u32,
        vecs: &V,
    ) -> Result<(), HnswError> {
        if from == to || !self.linked(to, level) {
            return Ok(());
        }
        self.add_link(from, to, level, vecs)
    }

    /// Adds the link `n -> new` at `level` (see `link_row`).
    fn add_link<V: Vectors>(
        &mut self,
        n: u32,
        new: u32,
        level: u32,
        vecs: &V,
    ) -> Result<(), HnswError> {
        if let Some(row) = self.link_row(n, new, level, vecs)? {
            self.store.set_row(n, level, &row)?;
        }
        Ok(())
    }

    /// The visited set's size for a traversal that may mark `id`.
    fn slots_with(&self, id: u32) -> usize {
        self.store.slots().max(id as usize + 1)
    }

    /// The links that join `id` to the graph from the entry point, on
    /// levels `0..=top`: per level its own row and its neighbours' new rows.
    /// Reads only (a search at one level never looks at another level's
    /// rows, so planning every level before linking any gives the same
    /// graph as linking level by level), so running out of memory here
    /// leaves the graph as it was.
    fn plan_links<V: Vectors>(
        &self,
        id: u32,
        v: &[f32],
        top: u32,
        vecs: &V,
        vis: &mut Visited,
    ) -> Result<LinkPlan, HnswError> {
        let mut plan: LinkPlan = Vec::new();
        let Some(ev) = vecs.get(self.entry) else {
            return Ok(plan);
        };
        let ep = self.descend(v, ev, top, vecs)?;
        let efc = (self.params.ef_construction as usize).max(self.m);
        let slots = self.slots_with(id);
        let mut eps = oom(crate::mem::vec_filled(1, ep))?;
        let mut l = top.min(self.max_level);
        loop {
            vis.begin(slots, self.store.dense_visited())?;
            // The node itself must not become its own neighbour.
            vis.insert(id);
            let w = self.search_layer_live(v, &eps, efc, l, vecs, vis)?;
            let nbrs = self.select_neighbours(&w, self.m, vecs)?;
            let mut rows = oom(crate::mem::vec_with_capacity(nbrs.len()))?;
            for &n in &nbrs {
                if let Some(row) = self.link_row(n, id, l, vecs)? {
                    vpush(&mut rows, (n, row))?;
                }
            }
            vpush(&mut plan, (l, nbrs, rows))?;
            if !w.is_empty() {
                eps = w;
            }
            if l == 0 {
                break;
            }
            l -= 1;
        }
        Ok(plan)
    }

    /// Applies `plan_links`' result (in memory: no allocation).
    fn apply_links(&mut self, id: u32, plan: &LinkPlan) -> Result<(), HnswError> {
        for (l, nbrs, rows) in plan {
            self.store.set_row(id, *l, nbrs)?;
            for (n, row) in rows {
                self.store.set_row(*n, *l, row)?;
            }
        }
        Ok(())
    }

    /// Inserts `id`, whose vector is `vecs.get(id)`, at its level
    /// (`level_for`). Memory or reads failing before the graph changes
    /// leave it as it was; a store write failing after leaves it
    /// consistent but with `id` partly linked.
    pub fn insert<V: Vectors>(&mut self, id: u32, vecs: &V) -> Result<(), HnswError> {
        if id >= self.capacity || id == NONE {
            return Err(HnswError::Full);
        }
        if self.store.has_node(id) {
            return Err(HnswError::Exists);
        }
        let v = vecs.get(id).ok_or(HnswError::Missing)?;
        if !is_finite_vector(v) {
            return Err(HnswError::Corrupt("vector is not finite"));
        }
        let level = self.level_for(id);
        // Everything that can fail first; then the graph changes.
        let plan = if self.entry == NONE {
            Vec::new()
        } else {
            let mut vis = self.take_visited();
            let plan = self.plan_links(id, v, level, vecs, &mut vis);
            *self.visited.get_mut() = vis;
            plan?
        };
        self.store.add_node(id, level)?;
        self.len += 1;
        if self.entry == NONE {
            self.entry = id;
            self.max_level = level;
            return Ok(());
        }
        if level > self.max_level {
            self.entry = id;
            self.max_level = level;
        }
        self.apply_links(id, &plan)
    }

    /// `p`'s row at `level` without `x`, refilled from `outs` (the removed
    /// node's out-links): heuristic against the kept links first, then the
    /// nearest pruned ones. Appends the ids added to `added`. Reads only.
    fn repaired_row<V: Vectors>(
        &self,
        p: u32,
        x: u32,
        level: u32,
        outs: &[u32],
        vecs: &V,
        added: &mut Vec<u32>,
    ) -> Result<Vec<u32>, HnswError> {
        let mmax = self.max_links(level);
        let mut cur: Vec<u32> = self.links_vec(p, level)?;
        cur.retain(|&n| n != x);
        if let Some(pv) = vecs.get(p) {
            let mut cands: Vec<Cand> = oom(crate::mem::vec_with_capacity(outs.len()))?;
            for &c in outs {
                if c == p || c == x || cur.contains(&c) || !self.store.is_live(c) {
                    continue;
                }
                if let Some(cv) = vecs.get(c) {
                    vpush(
                        &mut cands,
                        Cand {
                            d: dist(self.metric, pv, cv),
                            id: c,
                        },
                    )?;
                }
            }
            cands.sort_unstable();
            let mut pruned: Vec<u32> = Vec::new();
            for c in &cands {
                if cur.len() >= mmax {
                    break;
                }
                let Some(cv) = vecs.get(c.id) else { continue };
                let dominated = cur.iter().any(|&r| {
                    vecs.get(r)
                        .is_some_and(|rv| lt(dist(self.metric, cv, rv), c.d))
                });
                if dominated {
                    vpush(&mut pruned, c.id)?;
                } else {
                    vpush(&mut cur, c.id)?;
                    vpush(added, c.id)?;
                }
            }
            for c in pruned {
                if cur.len() >= mmax {
                    break;
                }
                vpush(&mut cur, c)?;
                vpush(added, c)?;
            }
        }
        Ok(cur)
    }

    /// Removes `id` and repairs the graph around it, in time bounded by
    /// the links (never by the graph's size): the nodes within two hops of
    /// `id` that link to it get rows refilled from its out-links, and an
    /// out-neighbour left with no in-link among those nodes is linked again
    /// from a search. In-links from farther away (rare: links are mostly
    /// mutual) are left dangling and skipped by every reader.
    ///
    /// `vecs` must still hold the vectors of the remaining nodes (and may
    /// still hold `id`'s). The repair is planned before anything changes,
    /// so running out of memory then leaves the graph as it was (NoMemory);
    /// the re-linking comes after and is best effort (a node it misses is
    /// only harder to reach).
    pub fn remove<V: Vectors>(&mut self, id: u32, vecs: &V) -> Result<(), HnswError> {
        let top = self.node_level(id).ok_or(HnswError::Missing)?;
        let mut vis = self.take_visited();
        let r = self.remove_with(id, top, vecs, &mut vis);
        *self.visited.get_mut() = vis;
        r
    }

    fn remove_with<V: Vectors>(
        &mut self,
        id: u32,
        top: u32,
        vecs: &V,
        vis: &mut Visited,
    ) -> Result<(), HnswError> {
        let mut lonely: Vec<(u32, u32)> = Vec::new();
        let mut added: Vec<u32> = Vec::new();
        // Per level: the in-neighbours' repaired rows.
        let mut plan: Vec<(u32, RowChanges)> = Vec::new();
        for level in 0..=top {
            let outs: Vec<u32> = self.links_vec(id, level)?;
            let near = self.near(id, &outs, level, vis)?;
            let mut sorted = oom(crate::mem::vec_from_slice(&outs))?;
            sorted.sort_unstable();
            let mut reached = oom(crate::mem::vec_filled(outs.len(), false))?;
            let mut mark = |t: u32| {
                if let Some(r) = sorted
                    .binary_search(&t)
                    .ok()
                    .and_then(|i| reached.get_mut(i))
                {
                    *r = true;
                }
            };
            added.clear();
            let mut rows = Vec::new();
            for (i, &p) in near.iter().enumerate() {
                crate::dev::resched_every(i, 64);
                let links_to = self.store.row(p, level)?.contains(&id);
                // Only a live node's links count as reaching a node: a
                // deleted one that still routes goes too, later.
                let counts = !S::ROUTES_DEAD || self.store.is_live(p);
                if links_to {
                    let row = self.repaired_row(p, id, level, &outs, vecs, &mut added)?;
                    if counts {
                        row.iter().for_each(|&t| mark(t));
                    }
                    vpush(&mut rows, (p, row))?;
                } else if counts {
                    let row = self.store.row(p, level)?;
                    live(&row)
                        .filter(|&n| self.linked(n, level))
                        .for_each(&mut mark);
                }
            }
            vpush(&mut plan, (level, rows))?;
            for (&n, &r) in sorted.iter().zip(reached.iter()) {
                // With deleted nodes still routing (on disk), "reached by a
                // node near it" is not enough: such a node may be reachable
                // only through deleted ones. Each out-neighbour is checked
                // by a search for it after the removal instead.
                if !r || S::ROUTES_DEAD {
                    vpush(&mut lonely, (n, level))?;
                }
            }
        }
        let entry = if self.entry == id {
            Some(self.successor(id, top)?)
        } else {
            None
        };
        for (level, rows) in &plan {
            self.store.set_row(id, *level, &[])?;
            for (p, row) in rows {
                self.store.set_row(*p, *level, row)?;
            }
        }
        self.store.remove_node(id, top)?;
        self.len = self.len.saturating_sub(1);
        if let Some((e, l)) = entry {
            self.entry = e;
            self.max_level = if e == NONE { 0 } else { l };
        }
        if self.entry != NONE {
            for (n, level) in lonely {
                if self.linked(n, level) && self.store.is_live(n) && n != self.entry {
                    if S::ROUTES_DEAD && self.reachable(n, level, vecs, vis)? {
                        continue;
                    }
                    match self.relink(n, level, vecs, vis) {
                        Err(NoMemory) | Ok(()) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(())
    }

    /// `id`'s out-neighbours at `level` and theirs, without `id`.
    fn near(
        &self,
        id: u32,
        outs: &[u32],
        level: u32,
        vis: &mut Visited,
    ) -> Result<Vec<u32>, HnswError> {
        vis.begin(self.slots_with(id), self.store.dense_visited())?;
        vis.insert(id);
        let mut near: Vec<u32> = oom(crate::mem::vec_with_capacity(
            outs.len().saturating_mul(self.max_links(level) + 1),
        ))?;
        for &n in outs {
            if vis.insert(n) {
                vpush(&mut near, n)?;
            }
        }
        for &n in outs {
            let row = self.store.row(n, level)?;
            for t in live(&row).filter(|&t| self.linked(t, level)) {
                if vis.insert(t) {
                    vpush(&mut near, t)?;
                }
            }
        }
        vis.check()?;
        Ok(near)
    }

    /// The entry point once `id` (the entry, at level `top`) is gone, and
    /// its level: a node of the highest level still in use, looked for
    /// among `id`'s links first (the top levels are small and their nodes
    /// linked to each other), in the store only when none of them is.
    fn successor(&self, id: u32, top: u32) -> Result<(u32, u32), HnswError> {
        for want in (0..=top).rev() {
            if !self.store.may_hold_top(want, id) {
                continue;
            }
            let is_top =
                |n: u32| n != id && self.store.node_level(n) == Some(want) && self.store.is_live(n);
            for level in (0..=top).rev() {
                let row = self.store.row(id, level)?;
                let found = live(&row)
                    .filter(|&n| self.linked(n, level))
                    .find(|&n| is_top(n));
                if let Some(n) = found {
                    return Ok((n, want));
                }
            }
            if let Some(n) = self.store.find_top(want, id)? {
                return Ok((n, want));
            }
        }
        Ok((NONE, 0))
    }

    /// Whether a search for `n`'s vector at `level` (breadth M) finds it.
    fn reachable<V: Vectors>(
        &self,
        n: u32,
        level: u32,
        vecs: &V,
        vis: &mut Visited,
    ) -> Result<bool, HnswError> {
        let (Some(v), Some(ev)) = (vecs.get(n), vecs.get(self.entry)) else {
            return Ok(true);
        };
        let ep = self.descend(v, ev, level, vecs)?;
        vis.begin(self.slots_with(n), self.store.dense_visited())?;
        let w = self.search_layer(v, &[ep], self.m.max(16), level, vecs, vis, None)?;
        Ok(w.iter().any(|c| c.id == n))
    }

    /// Gives `n` in-links at `level` from its nearest nodes found by a
    /// search, as an insert would.
    fn relink<V: Vectors>(
        &mut self,
        n: u32,
        level: u32,
        vecs: &V,
        vis: &mut Visited,
    ) -> Result<(), HnswError> {
        let (Some(v), Some(ev)) = (vecs.get(n), vecs.get(self.entry)) else {
            return Ok(());
        };
        let ep = self.descend(v, ev, level, vecs)?;
        vis.begin(self.slots_with(n), self.store.dense_visited())?;
        vis.insert(n);
        let efc = (self.params.ef_construction as usize).max(self.m);
        let w = self.search_layer_live(v, &[ep], efc, level, vecs, vis)?;
        let sel = self.select_neighbours(&w, self.m, vecs)?;
        for p in sel {
            self.add_link(p, n, level, vecs)?;
        }
        Ok(())
    }

    /// `id` is going (its slot is freed; the unlink comes later): when it
    /// is the entry point, move the entry to the highest node left, so
    /// searches never start from it. Reads only.
    pub fn retire_entry(&mut self, id: u32) -> Result<(), HnswError> {
        if self.entry != id {
            return Ok(());
        }
        let (e, l) = self.successor(id, self.level_for(id))?;
        self.entry = e;
        self.max_level = if e == NONE { 0 } else { l };
        Ok(())
    }

    /// Removes node `id` from the graph whether or not the store still
    /// counts it present (on disk, a deleted slot is no node any more but
    /// its rows and the links to it stay until this runs). Running it
    /// again after its rows were cleared is harmless: nothing is found to
    /// repair.
    #[inline(never)]
    pub fn unlink<V: Vectors>(&mut self, id: u32, vecs: &V) -> Result<(), HnswError> {
        let top = self.node_level(id).unwrap_or_else(|| self.level_for(id));
        let mut vis = self.take_visited();
        let r = self.remove_with(id, top, vecs, &mut vis);
        *self.visited.get_mut() = vis;
        r
    }

    /// Links `n` (already a node, e.g. one whose rows were lost) into the
    /// graph again on every level of it, as an insert would, keeping what
    /// its rows still hold.
    pub fn relink_node<V: Vectors>(&mut self, n: u32, vecs: &V) -> Result<(), HnswError> {
        let top = self.node_level(n).ok_or(HnswError::Missing)?;
        if self.entry == NONE {
            return Ok(());
        }
        let saved = (self.entry, self.max_level);
        if self.entry == n {
            // The entry point itself: searched for from the next highest.
            let (e, l) = self.successor(n, top)?;
            if e == NONE {
                return Ok(());
            }
            self.entry = e;
            self.max_level = l;
        }
        let v = vecs.get(n).ok_or(HnswError::Missing)?;
        let mut vis = self.take_visited();
        let plan = self.plan_links(n, v, top, vecs, &mut vis);
        *self.visited.get_mut() = vis;
        (self.entry, self.max_level) = saved;
        self.apply_links(n, &plan?)
    }

    /// The `k` nearest ids to `q` that pass `filter`, nearest first, with
    /// their distances; the search breadth is `max(ef, k)`. Nodes the filter
    /// rejects are still traversed. A non-finite query finds nothing.
    pub fn search<V: Vectors>(
        &self,
        q: &[f32],
        k: usize,
        ef: usize,
        vecs: &V,
        filter: &mut dyn FnMut(u32) -> bool,
    ) -> Result<Vec<(u32, f32)>, HnswError> {
        self.search_bounded(q, k, ef, vecs, filter, usize::MAX)
            .map(|(hits, _)| hits)
    }

    /// [`Hnsw::search`] expanding at most `budget` nodes at level 0; true
    /// when the budget ended it (the filter passed too few of the nodes
    /// reached: the caller may search another way).
    pub fn search_bounded<V: Vectors>(
        &self,
        q: &[f32],
        k: usize,
        ef: usize,
        vecs: &V,
        filter: &mut dyn FnMut(u32) -> bool,
        budget: usize,
    ) -> Result<(Vec<(u32, f32)>, bool), HnswError> {
        if k == 0 || self.entry == NONE || !is_finite_vector(q) {
            return Ok((Vec::new(), false));
        }
        let Some(ev) = vecs.get(self.entry) else {
            return Ok((Vec::new(), false));
        };
        let ep = self.descend(q, ev, 0, vecs)?;
        let ef = ef.max(k);
        let slots = self.store.slots();
        let mut live_filter = |n: u32| self.store.is_live(n) && filter(n);
        let filter: &mut dyn FnMut(u32) -> bool = if S::ROUTES_DEAD {
            &mut live_filter
        } else {
            filter
        };
        let (res, cut) = match self.visited.try_lock() {
            Some(mut guard) => {
                guard.begin(slots, self.store.dense_visited())?;
                self.search_layer_bounded(q, &[ep], ef, 0, vecs, &mut guard, Some(filter), budget)?
            }
            None => {
                let mut own = Visited::default();
                own.begin(slots, self.store.dense_visited())?;
                self.search_layer_bounded(q, &[ep], ef, 0, vecs, &mut own, Some(filter), budget)?
            }
        };
        let hits = oom(crate::mem::collect(
            res.into_iter().take(k).map(|c| (c.id, c.d)),
        ))?;
        Ok((hits, cut))
    }
}

/// Brute force: the `k` nearest of `ids` to `q` passing `filter`, nearest
/// first (ties by id). Ids without a vector are skipped.
pub fn exact_search<V: Vectors>(
    metric: Metric,
    q: &[f32],
    k: usize,
    ids: impl Iterator<Item = u32>,
    vecs: &V,
    filter: &mut dyn FnMut(u32) -> bool,
) -> Result<Vec<(u32, f32)>, HnswError> {
    if k == 0 || !is_finite_vector(q) {
        return Ok(Vec::new());
    }
    let mut heap: BinaryHeap<Cand> = oom(crate::mem::heap_with_capacity(k + 1))?;
    let ids = ids.enumerate().map(|(i, id)| {
        crate::dev::resched_every(i, 256);
        id
    });
    each_dist(metric, q, ids, vecs, |id, d| {
        if heap.len() >= k {
            if let Some(w) = heap.peek() {
                if (Cand { d, id }) >= *w {
                    return Ok(());
                }
            }
        }
        if !filter(id) {
            return Ok(());
        }
        hpush(&mut heap, Cand { d, id })?;
        if heap.len() > k {
            heap.pop();
        }
        Ok(())
    })?;
    oom(crate::mem::collect(
        heap.into_sorted_vec().into_iter().map(|c| (c.id, c.d)),
    ))
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use alloc::vec;

    fn grid(n: u32) -> Vec<f32> {
        (0..n)
            .flat_map(|i| [(i % 10) as f32, (i / 10) as f32])
            .collect()
    }

    #[test]
    fn levels_are_stratified() {
        for (seed, m) in [(1u64, 16u32), (0xdead_beef, 4), (7, 2), (99, 128)] {
            let n: u32 = 1 << 16;
            let levels: Vec<u32> = (0..n).map(|i| level_of(seed, m, i)).collect();
            let mut span = 1u64;
            for l in 1..=4u32 {
                span *= u64::from(m);
                if span > u64::from(n) {
                    break;
                }
                // Exactly one slot of level >= l in every full group of
                // M^l slots, and it is one of level >= l-1 (nested).
                for g in levels.chunks(span as usize) {
                    if g.len() as u64 == span {
                        assert_eq!(g.iter().filter(|&&x| x >= l).count(), 1);
                    }
                }
                let count = levels.iter().filter(|&&x| x >= l).count() as u64;
                assert_eq!(count, u64::from(n) / span, "seed {seed} m {m} level {l}");
            }
            assert!(levels.iter().all(|&l| l <= MAX_LEVEL));
            // The pick varies with the group (not always the same subgroup).
            let tops: Vec<u32> = (0..n)
                .filter(|&i| levels[i as usize] >= 1)
                .map(|i| i % m)
                .collect();
            assert!(tops.iter().any(|&t| t != tops[0]));
        }
        // Another seed, another choice; the same seed, the same levels.
        let a: Vec<u32> = (0..4096).map(|i| level_of(1, 16, i)).collect();
        let b: Vec<u32> = (0..4096).map(|i| level_of(2, 16, i)).collect();
        assert_ne!(a, b);
        assert_eq!(a, (0..4096).map(|i| level_of(1, 16, i)).collect::<Vec<_>>());
        // No overflow at the largest ids and smallest M.
        assert!(level_of(3, 2, u32::MAX) <= MAX_LEVEL);
    }

    /// A store that hands out owned copies of rows (as the on-disk store
    /// does) and keeps them in a map: the algorithm must build exactly the
    /// graph it builds in memory.
    #[derive(Default)]
    struct CopyStore {
        rows: hashbrown::HashMap<(u32, u32), Vec<u32>>,
        levels: hashbrown::HashMap<u32, u32>,
        m: usize,
        cap: u32,
    }

    impl GraphStore for CopyStore {
        type Row<'a> = Vec<u32>;
        fn node_level(&self, id: u32) -> Option<u32> {
            self.levels.get(&id).copied()
        }
        fn row(&self, id: u32, level: u32) -> Result<Vec<u32>, HnswError> {
            Ok(self.rows.get(&(id, level)).cloned().unwrap_or_default())
        }
        fn set_row(&mut self, id: u32, level: u32, ids: &[u32]) -> Result<(), HnswError> {
            if let Some(r) = self.rows.get_mut(&(id, level)) {
                fill_row(r, ids);
            }
            Ok(())
        }
        fn add_node(&mut self, id: u32, level: u32) -> Result<(), HnswError> {
            for l in 0..=level {
                let w = if l == 0 { 2 * self.m } else { self.m };
                self.rows.insert((id, l), vec![NONE; w]);
            }
            self.levels.insert(id, level);
            Ok(())
        }
        fn remove_node(&mut self, id: u32, level: u32) -> Result<(), HnswError> {
            for l in 0..=level {
                self.rows.remove(&(id, l));
            }
            self.levels.remove(&id);
            Ok(())
        }
        fn slots(&self) -> usize {
            self.cap as usize
        }
        fn find_top(&self, level: u32, not: u32) -> Result<Option<u32>, HnswError> {
            Ok(self
                .levels
                .iter()
                .filter(|&(&n, &l)| n != not && l == level)
                .map(|(&n, _)| n)
                .min())
        }
    }

    #[test]
    fn both_stores_build_the_same_graph() {
        let n = 600u32;
        let data: Vec<f32> = (0..n)
            .flat_map(|i| {
                let x = (i.wrapping_mul(2_654_435_761) % 1000) as f32;
                [x, (i % 37) as f32, (i % 11) as f32 * 3.0]
            })
            .collect();
        let vecs = SliceVectors {
            data: &data,
            dim: 3,
        };
        let params = HnswParams {
            m: 6,
            ef_construction: 40,
            seed: 42,
        };
        let mut a = Hnsw::new(params, Metric::L2, n);
        let store = CopyStore {
            m: 6,
            cap: n,
            ..CopyStore::default()
        };
        let mut b = Hnsw::with_store(params, Metric::L2, n, store, NONE, 0, 0);
        let same = |a: &Hnsw, b: &Hnsw<CopyStore>| {
            assert_eq!(a.len(), b.len());
            assert_eq!(a.entry_point(), b.entry_point());
            assert_eq!(a.levels(), b.levels());
            for id in 0..n {
                assert_eq!(a.node_level(id), b.node_level(id));
                for l in 0..=a.node_level(id).unwrap_or(0) {
                    let ra: Vec<u32> = a.neighbours(id, l).collect();
                    let rb = b.links_vec(id, l).unwrap();
                    if a.contains(id) {
                        assert_eq!(ra, rb, "row of {id} at {l}");
                    }
                }
            }
        };
        for id in 0..n {
            a.insert(id, &vecs).unwrap();
            b.insert(id, &vecs).unwrap();
            assert_eq!(a.node_level(id), Some(a.level_for(id)));
        }
        same(&a, &b);
        for id in (0..n).filter(|i| i % 3 == 0) {
            a.remove(id, &vecs).unwrap();
            b.remove(id, &vecs).unwrap();
        }
        same(&a, &b);
        for id in (0..n).filter(|i| i % 3 == 0 && i % 2 == 0) {
            a.insert(id, &vecs).unwrap();
            b.insert(id, &vecs).unwrap();
        }
        same(&a, &b);
        for id in 0..n {
            let q = vecs.get(id).unwrap();
            let ra = a.search(q, 5, 32, &vecs, &mut |_| true).unwrap();
            let rb = b.search(q, 5, 32, &vecs, &mut |_| true).unwrap();
            assert_eq!(ra, rb);
        }
    }

    #[test]
    fn small_graph_finds_exact() {
        let data = grid(100);
        let vecs = SliceVectors {
            data: &data,
            dim: 2,
        };
        let mut g = Hnsw::new(HnswParams::default(), Metric::L2, 100);
        for id in 0..100 {
            g.insert(id, &vecs).unwrap();
        }
        assert_eq!(g.insert(5, &vecs), Err(HnswError::Exists));
        assert_eq!(g.insert(100, &vecs), Err(HnswError::Full));
        let r = g.search(&[3.0, 4.0], 1, 16, &vecs, &mut |_| true).unwrap();
        assert_eq!(r, vec![(43, 0.0)]);
        for id in (0..100).step_by(2) {
            g.remove(id, &vecs).unwrap();
        }
        assert_eq!(g.remove(0, &vecs), Err(HnswError::Missing));
        assert_eq!(g.len(), 50);
        for id in (1..100).step_by(2) {
            let v = vecs.get(id).unwrap();
            let r = g.search(v, 1, 16, &vecs, &mut |_| true).unwrap();
            assert_eq!(r.first().map(|x| x.0), Some(id));
        }
        // No link to a removed node anywhere.
        for id in g.ids() {
            for l in 0..=g.node_level(id).unwrap() {
                assert!(g.neighbours(id, l).all(|n| g.contains(n)));
            }
        }
        for id in (1..100).step_by(2) {
            g.remove(id, &vecs).unwrap();
        }
        assert!(g.is_empty());
        assert_eq!(g.levels(), 0);
        assert!(g
            .search(&[0.0, 0.0], 3, 16, &vecs, &mut |_| true)
            .unwrap()
            .is_empty());
    }
}
