//! Crash consistency of the metadata journal, by exhaustive and randomised
//! crash states.
//!
//! A recording device logs every write and flush a workload issues. A crash
//! state is the image before the workload, plus every write issued before
//! some flush (durable), plus any subset of the writes issued after that
//! flush and before the next one (in flight: the device may have completed
//! any of them; a block written twice may hold either version). Every crash
//! state must mount (replaying the journal) and unmount, and then check
//! clean with `fsck -n`. What the workload made durable with fsync/sync and
//! did not touch afterwards must read back exactly, and no file may ever
//! show bytes that were not written to it, at that offset, under that name.
#![allow(
    clippy::disallowed_methods,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;
use common::{DIR, REG, ROOT};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;
use vexfs_core::dev::{host_now, LogLevel, MemDevice, Timespec};
use vexfs_core::format::{
    crc32c, seal_block, Superblock, BLOCK_MAGIC_BBITMAP, BLOCK_MAGIC_DIR, BLOCK_MAGIC_EXTENT,
    BLOCK_MAGIC_IBITMAP, BLOCK_MAGIC_JCOMMIT, BLOCK_MAGIC_JDESC, BLOCK_MAGIC_JSUPER,
    BLOCK_MAGIC_VINDEX, BLOCK_MAGIC_VROWS, BLOCK_MAGIC_VSLOT, BLOCK_SIZE, HEADER_SIZE,
};
use vexfs_core::fsck::{check, Mode, Options};
use vexfs_core::journal::{self, JournalEntry, JournalRecord, ENTRY_REVOKE};
use vexfs_core::mkfs::{format, MkfsOptions, VectorOptions};
use vexfs_core::{Device, Errno, Fs};
use zerocopy::FromBytes;

/// Image size: small enough to copy and check thousands of times, and it
/// gets the smallest journal (64 blocks), so workloads wrap the log often.
const BLOCKS: u64 = 4096;
const DIM: u32 = 4;
const L2: u32 = 1;
const BS: usize = BLOCK_SIZE;

type Block = Box<[u8; BLOCK_SIZE]>;

fn boxed(buf: &[u8; BLOCK_SIZE]) -> Block {
    Box::new(*buf)
}

// ---------------------------------------------------------------------------
// Devices

#[derive(Clone)]
enum Ev {
    Write(u64, Block),
    Flush,
}

/// Applies writes to the inner device and logs every write and flush.
struct Recorder<D: Device> {
    inner: D,
    events: Vec<Ev>,
}

impl<D: Device> Recorder<D> {
    fn new(inner: D) -> Self {
        Recorder {
            inner,
            events: Vec::new(),
        }
    }
}

impl<D: Device> Device for Recorder<D> {
    fn block_count(&self) -> u64 {
        self.inner.block_count()
    }
    fn read_block(&mut self, blocknr: u64, buf: &mut [u8; BLOCK_SIZE]) -> vexfs_core::Result<()> {
        self.inner.read_block(blocknr, buf)
    }
    fn write_block(&mut self, blocknr: u64, buf: &[u8; BLOCK_SIZE]) -> vexfs_core::Result<()> {
        self.inner.write_block(blocknr, buf)?;
        self.events.push(Ev::Write(blocknr, boxed(buf)));
        Ok(())
    }
    fn flush(&mut self) -> vexfs_core::Result<()> {
        self.inner.flush()?;
        self.events.push(Ev::Flush);
        Ok(())
    }
    fn now(&self) -> Timespec {
        self.inner.now()
    }
    fn log(&self, level: LogLevel, msg: core::fmt::Arguments<'_>) {
        self.inner.log(level, msg)
    }
}

/// A crash image: the durable image plus the in-flight writes that landed
/// (and whatever the mount under test writes), without copying the image.
struct Overlay<'a> {
    base: &'a MemDevice,
    over: HashMap<u64, Block>,
}

impl Device for Overlay<'_> {
    fn block_count(&self) -> u64 {
        self.base.blocks
    }
    fn read_block(&mut self, blocknr: u64, buf: &mut [u8; BLOCK_SIZE]) -> vexfs_core::Result<()> {
        if let Some(b) = self.over.get(&blocknr) {
            buf.copy_from_slice(&b[..]);
            return Ok(());
        }
        let start = usize::try_from(blocknr).map_err(|_| Errno::EIO)? * BS;
        buf.copy_from_slice(self.base.data.get(start..start + BS).ok_or(Errno::EIO)?);
        Ok(())
    }
    fn write_block(&mut self, blocknr: u64, buf: &[u8; BLOCK_SIZE]) -> vexfs_core::Result<()> {
        if blocknr >= self.base.blocks {
            return Err(Errno::EIO);
        }
        match self.over.get_mut(&blocknr) {
            Some(b) => b.copy_from_slice(buf),
            None => {
                self.over.insert(blocknr, boxed(buf));
            }
        }
        Ok(())
    }
    fn flush(&mut self) -> vexfs_core::Result<()> {
        Ok(())
    }
    fn now(&self) -> Timespec {
        host_now()
    }
    fn log(&self, level: LogLevel, msg: core::fmt::Arguments<'_>) {
        if level == LogLevel::Err {
            eprintln!("vexfs (crash image): {}", msg);
        }
    }
}

fn put(dev: &mut MemDevice, blk: u64, data: &[u8; BLOCK_SIZE]) {
    dev.write_block(blk, data).unwrap();
}

fn materialize(ov: &Overlay<'_>) -> MemDevice {
    let mut dev = ov.base.clone();
    for (&b, d) in &ov.over {
        put(&mut dev, b, d);
    }
    dev
}

fn format_image(vectors: bool) -> MemDevice {
    let mut dev = MemDevice::new(BLOCKS);
    let opts = MkfsOptions {
        vectors: vectors.then(|| VectorOptions::new(DIM, L2)),
        label: b"crash".to_vec(),
        inodes: 0,
        uuid: [5; 16],
        blocks: 0,
    };
    format(&mut dev, &opts).unwrap();
    dev
}

fn sb_of(dev: &MemDevice) -> Superblock {
    Superblock::read_from_prefix(&dev.data[..]).unwrap().0
}

/// Where things are, to describe blocks in failure reports.
struct Geo {
    jstart: u64,
    jblocks: u64,
    itable: (u64, u64),
}

impl Geo {
    fn of(dev: &MemDevice) -> Geo {
        let sb = sb_of(dev);
        Geo {
            jstart: sb.journal_start.get(),
            jblocks: sb.journal_blocks.get(),
            itable: (sb.inode_table_start.get(), sb.inode_table_blocks.get()),
        }
    }
    fn in_log(&self, blk: u64) -> bool {
        blk > self.jstart && blk < self.jstart + self.jblocks
    }
    fn kind(&self, blk: u64, data: &[u8]) -> String {
        let magic = u32::from_le_bytes(data[..4].try_into().unwrap());
        let what = match magic {
            BLOCK_MAGIC_JDESC => "log-desc",
            BLOCK_MAGIC_JCOMMIT => "log-commit",
            BLOCK_MAGIC_JSUPER => "journal-super",
            BLOCK_MAGIC_DIR => "dir",
            BLOCK_MAGIC_EXTENT => "extent",
            BLOCK_MAGIC_IBITMAP => "inode-bitmap",
            BLOCK_MAGIC_BBITMAP => "block-bitmap",
            BLOCK_MAGIC_VSLOT => "vec-slots",
            BLOCK_MAGIC_VINDEX => "vec-index",
            BLOCK_MAGIC_VROWS => "vec-rows",
            _ if blk == 0 => "superblock",
            _ if blk >= self.itable.0 && blk < self.itable.0 + self.itable.1 => "inodes",
            _ => "data",
        };
        let what = if self.in_log(blk) && !what.starts_with("log-") {
            "log-copy"
        } else {
            what
        };
        format!("{blk}:{what}")
    }
}

// ---------------------------------------------------------------------------
// Recognisable file data: 16-byte units naming the file (tag), the unit's
// offset in the file and the write (version) that put them there.

fn unit_check(tag: u32, idx: u32, ver: u32) -> u32 {
    tag ^ idx.rotate_left(7) ^ ver.rotate_left(19) ^ 0x5a17_c3e5
}

fn pattern(tag: u32, ver: u32, off: u64, len: usize) -> Vec<u8> {
    assert!(off.is_multiple_of(16) && len.is_multiple_of(16));
    let mut out = Vec::with_capacity(len);
    for u in 0..len / 16 {
        let idx = (off / 16) as u32 + u as u32;
        for w in [tag, idx, ver, unit_check(tag, idx, ver)] {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    out
}

/// (tag, unit index, version, check word valid) of a nonzero unit.
fn parse_unit(u: &[u8]) -> (u32, u32, u32, bool) {
    let w = |i: usize| u32::from_le_bytes(u[i * 4..i * 4 + 4].try_into().unwrap());
    let (tag, idx, ver) = (w(0), w(1), w(2));
    (tag, idx, ver, w(3) == unit_check(tag, idx, ver))
}

fn vector(tag: u32, ver: u32) -> Vec<f32> {
    vec![tag as f32, ver as f32, 0.5, -1.25]
}

// ---------------------------------------------------------------------------
// The model of the workload.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    Dir(u64),
    File(u32),
}

struct Obj {
    ino: u64,
    data: Vec<u8>,
    vec: Option<Vec<f32>>,
    links: usize,
    pinned: bool,
}

#[derive(Clone, PartialEq)]
enum Snap {
    Dir,
    File {
        data: Vec<u8>,
        vec: Option<Vec<f32>>,
    },
}

impl std::fmt::Debug for Snap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Snap::Dir => write!(f, "dir"),
            Snap::File { data, vec } => {
                let tag = data
                    .chunks(16)
                    .find(|u| u.iter().any(|&b| b != 0))
                    .map(|u| parse_unit(u).0);
                write!(
                    f,
                    "file({} bytes, tag {:?}, vec {:?})",
                    data.len(),
                    tag,
                    vec
                )
            }
        }
    }
}

/// State the workload made durable: after the flush at `durable_from - 1`,
/// the paths in `covers` (all, for sync) are as in `all`.
struct SyncPoint {
    durable_from: usize,
    ret: usize,
    covers: Option<BTreeSet<String>>,
    all: BTreeMap<String, Snap>,
}

/// What was ever written where: every crash state must be explained by it.
#[derive(Default)]
struct History {
    /// Path -> (inode, tag) pairs ever linked there.
    ever: HashMap<String, BTreeSet<(u64, u32)>>,
    ever_dirs: BTreeSet<String>,
    max_version: HashMap<u32, u32>,
    max_size: HashMap<u32, u64>,
    max_vec: HashMap<u32, u32>,
}

#[derive(Default)]
struct Model {
    nodes: BTreeMap<String, Node>,
    objs: BTreeMap<u32, Obj>,
    next_tag: u32,
    hist: History,
    syncs: Vec<SyncPoint>,
    /// (event index at the start of an operation, paths it changed)
    touches: Vec<(usize, Vec<String>)>,
    /// (event index at the start, description) of every operation.
    ops: Vec<(usize, String)>,
    /// Writes a sync made after its commit flush (the commit's home writes).
    home_ranges: Vec<(usize, usize)>,
    vectors: bool,
}

impl Model {
    fn paths_of(&self, tag: u32) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, n)| **n == Node::File(tag))
            .map(|(p, _)| p.clone())
            .collect()
    }

    fn snapshot(&self) -> BTreeMap<String, Snap> {
        self.nodes
            .iter()
            .map(|(p, n)| {
                let s = match n {
                    Node::Dir(_) => Snap::Dir,
                    Node::File(t) => {
                        let o = &self.objs[t];
                        Snap::File {
                            data: o.data.clone(),
                            vec: o.vec.clone(),
                        }
                    }
                };
                (p.clone(), s)
            })
            .collect()
    }

    /// What every crash state made of the durable events `..start` plus
    /// some of the events `start..end` must show: for each path, the state
    /// of the latest sync point covering it that is durable, unless an
    /// operation that may have reached the device changed it since.
    fn expectations(&self, start: usize, end: usize) -> Vec<(String, Option<Snap>)> {
        let mut paths: BTreeSet<&String> = self.hist.ever.keys().collect();
        paths.extend(self.hist.ever_dirs.iter());
        let mut out = Vec::new();
        for p in paths {
            let Some(sp) = self.syncs.iter().rev().find(|sp| {
                sp.durable_from <= start && !matches!(&sp.covers, Some(c) if !c.contains(p))
            }) else {
                continue;
            };
            let touched = self
                .touches
                .iter()
                .any(|(s, ps)| *s >= sp.ret && *s < end && ps.contains(p));
            if !touched {
                out.push((p.clone(), sp.all.get(p).cloned()));
            }
        }
        out
    }

    /// The last operations started before event `end`.
    fn ops_before(&self, end: usize, n: usize) -> String {
        let before: Vec<String> = self
            .ops
            .iter()
            .filter(|(s, _)| *s < end)
            .map(|(s, d)| format!("  [event {s}] {d}"))
            .collect();
        before[before.len().saturating_sub(n)..].join("\n")
    }
}

fn split(path: &str) -> (&str, &str) {
    let i = path.rfind('/').unwrap();
    (if i == 0 { "/" } else { &path[..i] }, &path[i + 1..])
}

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// A workload on a recorded device, kept in step with its model.
struct Work {
    fs: Fs<Recorder<MemDevice>>,
    m: Model,
}

impl Work {
    fn new(base: &MemDevice, vectors: bool) -> Work {
        let fs = Fs::mount(Recorder::new(base.clone()), false).unwrap();
        let m = Model {
            next_tag: 1,
            vectors,
            ..Model::default()
        };
        let mut w = Work { fs, m };
        w.m.ops.push((0, "mount".into()));
        w
    }

    fn at(&self) -> usize {
        self.fs.dev.events.len()
    }

    fn begin(&mut self, what: String) -> usize {
        let s = self.at();
        self.m.ops.push((s, what));
        s
    }

    fn touch(&mut self, s: usize, paths: Vec<String>) {
        self.m.touches.push((s, paths));
    }

    fn dir_ino(&self, dir: &str) -> u64 {
        if dir == "/" {
            return ROOT;
        }
        match self.m.nodes.get(dir) {
            Some(Node::Dir(i)) => *i,
            other => panic!("{dir} is not a directory in the model: {other:?}"),
        }
    }

    fn ino(&self, tag: u32) -> u64 {
        self.m.objs[&tag].ino
    }

    fn bind(&mut self, path: &str, tag: u32) {
        let o = self.m.objs.get_mut(&tag).unwrap();
        o.links += 1;
        let ino = o.ino;
        self.m.nodes.insert(path.to_string(), Node::File(tag));
        self.m
            .hist
            .ever
            .entry(path.to_string())
            .or_default()
            .insert((ino, tag));
    }

    fn unbind(&mut self, path: &str) {
        let Some(Node::File(tag)) = self.m.nodes.remove(path) else {
            panic!("{path} is not a file in the model");
        };
        let o = self.m.objs.get_mut(&tag).unwrap();
        o.links -= 1;
        if o.links == 0 && !o.pinned {
            self.m.objs.remove(&tag);
        }
    }

    fn create(&mut self, path: &str) -> u32 {
        let s = self.begin(format!("create {path}"));
        let (dir, name) = split(path);
        let d = self.dir_ino(dir);
        let ino = self
            .fs
            .create(d, name.as_bytes(), REG, 0, 0, 0)
            .unwrap_or_else(|e| panic!("create {path}: {e}"));
        let tag = self.m.next_tag;
        self.m.next_tag += 1;
        self.m.objs.insert(
            tag,
            Obj {
                ino,
                data: Vec::new(),
                vec: None,
                links: 0,
                pinned: false,
            },
        );
        self.m.hist.max_size.insert(tag, 0);
        self.bind(path, tag);
        self.touch(s, vec![path.to_string()]);
        tag
    }

    fn mkdir(&mut self, path: &str) {
        let s = self.begin(format!("mkdir {path}"));
        let (dir, name) = split(path);
        let d = self.dir_ino(dir);
        let ino = self
            .fs
            .create(d, name.as_bytes(), DIR, 0, 0, 0)
            .unwrap_or_else(|e| panic!("mkdir {path}: {e}"));
        self.m.nodes.insert(path.to_string(), Node::Dir(ino));
        self.m.hist.ever_dirs.insert(path.to_string());
        self.touch(s, vec![path.to_string()]);
    }

    fn rmdir(&mut self, path: &str) {
        let s = self.begin(format!("rmdir {path}"));
        let (dir, name) = split(path);
        let d = self.dir_ino(dir);
        self.fs
            .rmdir(d, name.as_bytes())
            .unwrap_or_else(|e| panic!("rmdir {path}: {e}"));
        self.m.nodes.remove(path);
        self.touch(s, vec![path.to_string()]);
    }

    fn write(&mut self, tag: u32, off: u64, len: usize) {
        let paths = self.m.paths_of(tag);
        let s = self.begin(format!("write {paths:?} (tag {tag}) bytes {off}+{len}"));
        let ver = {
            let v = self.m.hist.max_version.entry(tag).or_insert(0);
            *v += 1;
            *v
        };
        let data = pattern(tag, ver, off, len);
        let ino = self.ino(tag);
        let n = self
            .fs
            .write(ino, off, &data)
            .unwrap_or_else(|e| panic!("write tag {tag}: {e}"));
        assert_eq!(n, len);
        let o = self.m.objs.get_mut(&tag).unwrap();
        let end = off as usize + len;
        if o.data.len() < end {
            o.data.resize(end, 0);
        }
        o.data[off as usize..end].copy_from_slice(&data);
        let size = o.data.len() as u64;
        let m = self.m.hist.max_size.entry(tag).or_insert(0);
        *m = (*m).max(size);
        self.touch(s, paths);
    }

    /// fallocate in `mode`; ENOSPC (the image is small) changes nothing.
    fn fallocate(&mut self, tag: u32, mode: u32, off: u64, len: u64) {
        use vexfs_core::extent::{FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE};
        let paths = self.m.paths_of(tag);
        let s = self.begin(format!(
            "fallocate {paths:?} (tag {tag}) mode {mode:#x} bytes {off}+{len}"
        ));
        let ino = self.ino(tag);
        match self.fs.fallocate(ino, mode, off, len) {
            Ok(()) => {}
            Err(Errno::ENOSPC) => {
                self.touch(s, paths);
                return;
            }
            Err(e) => panic!("fallocate tag {tag}: {e}"),
        }
        let o = self.m.objs.get_mut(&tag).unwrap();
        let (off, end) = (off as usize, (off + len) as usize);
        if mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE) != 0 {
            let z = end.min(o.data.len());
            if off < z {
                o.data[off..z].fill(0);
            }
        }
        if mode & FALLOC_FL_KEEP_SIZE == 0 && end > o.data.len() {
            o.data.resize(end, 0);
        }
        let size = o.data.len() as u64;
        let m = self.m.hist.max_size.entry(tag).or_insert(0);
        *m = (*m).max(size);
        self.touch(s, paths);
    }

    /// A random fallocate on a live file (all modes, offsets and lengths
    /// multiples of 16 so the model's sizes stay whole records).
    fn random_fallocate(&mut self, rng: &mut Rng) {
        use vexfs_core::extent::{FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE};
        let live: Vec<u32> = self.m.objs.keys().copied().collect();
        let Some(t) = rng.pick(&live) else { return };
        let mode = match rng.below(5) {
            0 => 0,
            1 => FALLOC_FL_KEEP_SIZE,
            2 | 3 => FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
            _ if rng.below(2) == 0 => FALLOC_FL_ZERO_RANGE,
            _ => FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
        };
        let off = if rng.below(2) == 0 {
            rng.below(10) * BS as u64
        } else {
            rng.below(10 * 256) * 16
        };
        let len = (1 + rng.below(6 * 256)) * 16;
        self.fallocate(t, mode, off, len);
    }

    fn truncate(&mut self, tag: u32, size: u64) {
        let paths = self.m.paths_of(tag);
        let s = self.begin(format!("truncate {paths:?} (tag {tag}) to {size}"));
        let ino = self.ino(tag);
        self.fs
            .truncate(ino, size)
            .unwrap_or_else(|e| panic!("truncate tag {tag}: {e}"));
        self.m
            .objs
            .get_mut(&tag)
            .unwrap()
            .data
            .resize(size as usize, 0);
        let m = self.m.hist.max_size.entry(tag).or_insert(0);
        *m = (*m).max(size);
        self.touch(s, paths);
    }

    fn unlink(&mut self, path: &str) {
        let s = self.begin(format!("unlink {path}"));
        let (dir, name) = split(path);
        let d = self.dir_ino(dir);
        self.fs
            .unlink(d, name.as_bytes())
            .unwrap_or_else(|e| panic!("unlink {path}: {e}"));
        self.unbind(path);
        self.touch(s, vec![path.to_string()]);
    }

    fn rename(&mut self, from: &str, to: &str) {
        let s = self.begin(format!("rename {from} -> {to}"));
        let Some(Node::File(tag)) = self.m.nodes.get(from).copied() else {
            panic!("rename of a non-file");
        };
        let (fd, fname) = split(from);
        let (td, tname) = split(to);
        let (fd, td) = (self.dir_ino(fd), self.dir_ino(td));
        self.fs
            .rename(fd, fname.as_bytes(), td, tname.as_bytes(), 0)
            .unwrap_or_else(|e| panic!("rename {from} -> {to}: {e}"));
        if self.m.nodes.contains_key(to) {
            self.unbind(to);
        }
        self.bind(to, tag);
        self.unbind(from);
        self.touch(s, vec![from.to_string(), to.to_string()]);
    }

    fn link(&mut self, tag: u32, to: &str) {
        let s = self.begin(format!("link tag {tag} at {to}"));
        let (td, tname) = split(to);
        let td = self.dir_ino(td);
        let ino = self.ino(tag);
        self.fs
            .link(td, tname.as_bytes(), ino)
            .unwrap_or_else(|e| panic!("link {to}: {e}"));
        self.bind(to, tag);
        self.touch(s, vec![to.to_string()]);
    }

    fn vec_set(&mut self, tag: u32) {
        let paths = self.m.paths_of(tag);
        let s = self.begin(format!("vec_set {paths:?} (tag {tag})"));
        let ver = {
            let v = self.m.hist.max_vec.entry(tag).or_insert(0);
            *v += 1;
            *v
        };
        let v = vector(tag, ver);
        let ino = self.ino(tag);
        self.fs
            .vec_set(ino, &v)
            .unwrap_or_else(|e| panic!("vec_set tag {tag}: {e}"));
        self.m.objs.get_mut(&tag).unwrap().vec = Some(v);
        self.touch(s, paths);
    }

    /// The kernel holds the inode (an open file).
    fn pin(&mut self, tag: u32) {
        self.begin(format!("iget tag {tag}"));
        let ino = self.ino(tag);
        self.fs.iget(ino).unwrap();
        self.m.objs.get_mut(&tag).unwrap().pinned = true;
    }

    /// The last close: an unlinked inode is freed.
    fn evict(&mut self, tag: u32) {
        self.begin(format!("evict tag {tag}"));
        let o = self.m.objs.get_mut(&tag).unwrap();
        o.pinned = false;
        let (ino, gone) = (o.ino, o.links == 0);
        self.fs.evict(ino, gone).unwrap();
        if gone {
            self.m.objs.remove(&tag);
        }
    }

    /// What the journal does when the log fills: every home write durable,
    /// the log emptied.
    fn checkpoint(&mut self) {
        self.begin("checkpoint".into());
        let fs = &mut self.fs;
        fs.journal.checkpoint(&mut fs.dev).unwrap();
    }

    fn sync(&mut self) {
        let s = self.begin("sync".into());
        self.fs.sync().unwrap();
        self.sync_point(s, None);
    }

    fn fsync(&mut self, tag: u32) {
        let paths = self.m.paths_of(tag);
        let s = self.begin(format!("fsync {paths:?} (tag {tag})"));
        let ino = self.ino(tag);
        self.fs.fsync(ino).unwrap();
        self.sync_point(s, Some(paths.into_iter().collect()));
    }

    fn sync_point(&mut self, s: usize, covers: Option<BTreeSet<String>>) {
        let ev = &self.fs.dev.events;
        let flush = (s..ev.len())
            .rev()
            .find(|&i| matches!(ev[i], Ev::Flush))
            .expect("a sync flushes");
        let ret = ev.len();
        self.m.home_ranges.push((flush + 1, ret));
        let all = self.m.snapshot();
        self.m.syncs.push(SyncPoint {
            durable_from: flush + 1,
            ret,
            covers,
            all,
        });
    }

    /// Random operations, all valid in the model's state.
    fn random_ops(&mut self, rng: &mut Rng, n: usize) {
        const MAX: u64 = 12 * BS as u64;
        for _ in 0..n {
            let live: Vec<u32> = self.m.objs.keys().copied().collect();
            let linked: Vec<u32> = live
                .iter()
                .copied()
                .filter(|t| self.m.objs[t].links > 0)
                .collect();
            let files: Vec<String> = self
                .m
                .nodes
                .iter()
                .filter(|(_, n)| matches!(n, Node::File(_)))
                .map(|(p, _)| p.clone())
                .collect();
            let dirs: Vec<String> = self
                .m
                .nodes
                .iter()
                .filter(|(_, n)| matches!(n, Node::Dir(_)))
                .map(|(p, _)| p.clone())
                .collect();
            let mut slots = Vec::new();
            for d in std::iter::once("/".to_string()).chain(dirs.iter().cloned()) {
                for i in 0..6 {
                    slots.push(join(&d, &format!("f{i}")));
                }
            }
            let free: Vec<String> = slots
                .iter()
                .filter(|p| !self.m.nodes.contains_key(*p))
                .cloned()
                .collect();
            let len = |rng: &mut Rng| -> usize {
                if rng.below(4) == 0 {
                    (1 + rng.below(3) as usize) * BS
                } else {
                    (1 + rng.below(3 * 256) as usize) * 16
                }
            };
            match rng.below(100) {
                0..=11 => {
                    if let Some(p) = rng.pick(&free) {
                        let t = self.create(&p);
                        if rng.below(10) < 7 {
                            let l = len(rng);
                            self.write(t, 0, l);
                        }
                    }
                }
                12..=29 => {
                    if let Some(t) = rng.pick(&live) {
                        let off = rng.below(6 * 256) * 16;
                        let l = len(rng);
                        self.write(t, off, l);
                    }
                }
                30..=36 => {
                    if let Some(t) = rng.pick(&live) {
                        let off = self.m.objs[&t].data.len() as u64;
                        let l = len(rng);
                        if off + l as u64 <= MAX {
                            self.write(t, off, l);
                        }
                    }
                }
                37..=44 => {
                    if let Some(t) = rng.pick(&live) {
                        let size = if rng.below(2) == 0 {
                            rng.below(10) * BS as u64
                        } else {
                            rng.below(10 * 256) * 16
                        };
                        self.truncate(t, size);
                    }
                }
                45..=51 => {
                    if let Some(p) = rng.pick(&files) {
                        self.unlink(&p);
                    }
                }
                52..=59 => {
                    if let (Some(from), Some(to)) = (rng.pick(&files), rng.pick(&slots)) {
                        let same = self.m.nodes.get(&to) == self.m.nodes.get(&from);
                        if !same {
                            self.rename(&from, &to);
                        }
                    }
                }
                60..=64 => {
                    if let (Some(t), Some(to)) = (rng.pick(&linked), rng.pick(&free)) {
                        self.link(t, &to);
                    }
                }
                65..=68 => {
                    let names: Vec<String> = (0..3)
                        .map(|i| format!("/d{i}"))
                        .filter(|p| !self.m.nodes.contains_key(p))
                        .collect();
                    if let Some(p) = rng.pick(&names) {
                        self.mkdir(&p);
                    }
                }
                69..=71 => {
                    let empty: Vec<String> = dirs
                        .iter()
                        .filter(|d| {
                            let pre = format!("{d}/");
                            !self.m.nodes.keys().any(|k| k.starts_with(&pre))
                        })
                        .cloned()
                        .collect();
                    if let Some(d) = rng.pick(&empty) {
                        self.rmdir(&d);
                    }
                }
                72..=79 => {
                    if let Some(t) = rng.pick(&live) {
                        if self.m.vectors {
                            self.vec_set(t);
                        } else {
                            let l = len(rng);
                            self.write(t, 0, l);
                        }
                    }
                }
                80..=83 => {
                    let single: Vec<u32> = linked
                        .iter()
                        .copied()
                        .filter(|t| self.m.objs[t].links == 1 && !self.m.objs[t].pinned)
                        .collect();
                    if let Some(t) = rng.pick(&single) {
                        self.pin(t);
                        let p = self.m.paths_of(t).remove(0);
                        self.unlink(&p);
                    }
                }
                84..=86 => {
                    let pinned: Vec<u32> = live
                        .iter()
                        .copied()
                        .filter(|t| self.m.objs[t].pinned)
                        .collect();
                    if let Some(t) = rng.pick(&pinned) {
                        self.evict(t);
                    }
                }
                87..=93 => {
                    if let Some(t) = rng.pick(&live) {
                        self.fsync(t);
                    }
                }
                _ => self.sync(),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Randomness (deterministic per seed).

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
    fn pick<T: Clone>(&mut self, v: &[T]) -> Option<T> {
        if v.is_empty() {
            None
        } else {
            Some(v[self.below(v.len() as u64) as usize].clone())
        }
    }
}

// ---------------------------------------------------------------------------
// Reading a mounted crash image back.

#[derive(Debug)]
struct Found {
    ino: u64,
    dir: bool,
}

fn walk<D: Device>(fs: &mut Fs<D>) -> Result<BTreeMap<String, Found>, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![("/".to_string(), ROOT)];
    while let Some((dir, ino)) = stack.pop() {
        if out.len() > 10_000 {
            return Err("directory tree does not end".into());
        }
        let entries = fs
            .list_dir(ino)
            .map_err(|e| format!("list_dir {dir}: {e}"))?;
        for e in entries {
            let name = String::from_utf8(e.name).map_err(|_| format!("bad name in {dir}"))?;
            let path = join(&dir, &name);
            let a = fs
                .getattr(e.ino)
                .map_err(|err| format!("getattr {path} (inode {}): {err}", e.ino))?;
            let is_dir = a.mode & 0o170000 == 0o040000;
            if is_dir {
                stack.push((path.clone(), e.ino));
            }
            out.insert(
                path,
                Found {
                    ino: e.ino,
                    dir: is_dir,
                },
            );
        }
    }
    Ok(out)
}

fn read_all<D: Device>(fs: &mut Fs<D>, ino: u64) -> Result<Vec<u8>, String> {
    let size = fs
        .getattr(ino)
        .map_err(|e| format!("getattr {ino}: {e}"))?
        .size;
    if size > 64 * BS as u64 {
        return Err(format!("inode {ino} has size {size}, never written"));
    }
    let mut buf = vec![0u8; size as usize];
    let n = fs
        .read(ino, 0, &mut buf)
        .map_err(|e| format!("read inode {ino}: {e}"))?;
    if n != buf.len() {
        return Err(format!("short read of inode {ino}: {n} of {size}"));
    }
    Ok(buf)
}

fn get_vec<D: Device>(fs: &mut Fs<D>, ino: u64) -> Result<Option<Vec<f32>>, String> {
    match fs.vec_get(ino) {
        Ok(v) => Ok(Some(v)),
        Err(Errno::ENODATA) | Err(Errno::EOPNOTSUPP) => Ok(None),
        Err(e) => Err(format!("vec_get inode {ino}: {e}")),
    }
}

/// The whole tree as snapshots (to compare mounts of the same image).
fn tree<D: Device>(fs: &mut Fs<D>) -> Result<BTreeMap<String, Snap>, String> {
    let found = walk(fs)?;
    let mut out = BTreeMap::new();
    for (p, f) in found {
        let s = if f.dir {
            Snap::Dir
        } else {
            Snap::File {
                data: read_all(fs, f.ino)?,
                vec: get_vec(fs, f.ino)?,
            }
        };
        out.insert(p, s);
    }
    Ok(out)
}

fn first_diff(a: &[u8], b: &[u8]) -> String {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => format!("first difference at byte {i}"),
        None => format!("sizes {} and {}", a.len(), b.len()),
    }
}

/// Every nonzero 16-byte unit of a file must be one its tag wrote at that
/// offset, and the size one it had.
fn check_content(p: &str, data: &[u8], allowed: &[u32], hist: &History, errs: &mut Vec<String>) {
    let max = allowed
        .iter()
        .map(|t| hist.max_size.get(t).copied().unwrap_or(0))
        .max()
        .unwrap_or(0);
    if data.len() as u64 > max || !data.len().is_multiple_of(16) {
        errs.push(format!(
            "{p}: size {} was never set (largest {max}, tags {allowed:?})",
            data.len()
        ));
    }
    let mut seen = None;
    for (u, chunk) in data.chunks(16).enumerate() {
        if chunk.iter().all(|&b| b == 0) {
            continue;
        }
        let (tag, idx, ver, ok) = parse_unit(chunk);
        let known = ok
            && idx as usize == u
            && allowed.contains(&tag)
            && ver >= 1
            && ver <= hist.max_version.get(&tag).copied().unwrap_or(0);
        if !known || seen.is_some_and(|t| t != tag) {
            errs.push(format!(
                "{p}: bytes {}..{} are garbage: {} (file tags {allowed:?}, earlier units tag {seen:?}; block {} of the file)",
                u * 16,
                u * 16 + 16,
                if ok {
                    format!("tag {tag} unit {idx} version {ver}")
                } else {
                    format!("{:02x?}", chunk)
                },
                u * 16 / BS
            ));
            return;
        }
        seen = Some(tag);
    }
}

/// Look at a mounted crash image: the durable state is there, nothing is
/// garbage, nothing leaked.
fn inspect<D: Device>(
    fs: &mut Fs<D>,
    exp: &[(String, Option<Snap>)],
    hist: &History,
    vectors: bool,
    errs: &mut Vec<String>,
) -> Result<(), String> {
    let found = walk(fs)?;
    for (p, e) in exp {
        match (e, found.get(p)) {
            (None, None) => {}
            (Some(Snap::Dir), Some(f)) if f.dir => {}
            (Some(Snap::File { data, vec }), Some(f)) if !f.dir => {
                let got = read_all(fs, f.ino)?;
                if got != *data {
                    errs.push(format!(
                        "{p}: synced contents lost: {} bytes, synced {} ({})",
                        got.len(),
                        data.len(),
                        first_diff(&got, data)
                    ));
                }
                if vectors {
                    let gv = get_vec(fs, f.ino)?;
                    if gv != *vec {
                        errs.push(format!("{p}: synced vector {vec:?}, found {gv:?}"));
                    }
                }
            }
            (e, f) => errs.push(format!("{p}: synced as {e:?}, found {f:?}")),
        }
    }
    let mut inos = BTreeSet::from([ROOT]);
    let mut with_vec = BTreeSet::new();
    let mut vecs_of: BTreeMap<u64, Vec<f32>> = BTreeMap::new();
    for (p, f) in &found {
        inos.insert(f.ino);
        if f.dir {
            if !hist.ever_dirs.contains(p) {
                errs.push(format!("{p}: a directory never created"));
            }
            continue;
        }
        let allowed: Vec<u32> = hist
            .ever
            .get(p)
            .map(|s| {
                s.iter()
                    .filter(|(i, _)| *i == f.ino)
                    .map(|(_, t)| *t)
                    .collect()
            })
            .unwrap_or_default();
        if allowed.is_empty() {
            errs.push(format!("{p}: inode {} was never linked there", f.ino));
            continue;
        }
        let data = read_all(fs, f.ino)?;
        check_content(p, &data, &allowed, hist, errs);
        if let Some(v) = get_vec(fs, f.ino)? {
            with_vec.insert(f.ino);
            vecs_of.insert(f.ino, v.clone());
            let tag = v[0] as u32;
            let ver = v[1] as u32;
            let known = v == vector(tag, ver)
                && allowed.contains(&tag)
                && ver >= 1
                && ver <= hist.max_vec.get(&tag).copied().unwrap_or(0);
            if !known {
                errs.push(format!(
                    "{p}: vector {v:?} never set for it (tags {allowed:?})"
                ));
            }
        }
    }
    let st = fs.statfs();
    if st.files - st.ffree != inos.len() as u64 {
        errs.push(format!(
            "{} inodes in use but {} reachable: {:?}",
            st.files - st.ffree,
            inos.len(),
            inos
        ));
    }
    if fs.sb.orphan_head.get() != 0 {
        errs.push(format!(
            "orphan list not empty after mount: head {}",
            fs.sb.orphan_head.get()
        ));
    }
    if vectors {
        // Every live vector is found through the graph by a query for
        // itself (ef = the vector count: every node reachable is seen), and
        // no hit is a deleted one.
        let ef = (with_vec.len() as u32).clamp(16, 8192);
        for (ino, v) in &vecs_of {
            let hits = fs
                .vec_query(v, ROOT, 10, ef, false)
                .map_err(|e| format!("query for inode {ino}'s vector: {e}"))?;
            if !hits.iter().any(|h| h.0 == *ino && h.1.abs() <= 1e-4) {
                errs.push(format!(
                    "inode {ino}'s vector {v:?} is not found through the graph: {hits:?} (entry {} top {} dead {} free {} high {} ro {})",
                    fs.sb.vec_entry.get(),
                    fs.sb.vec_top_level.get(),
                    fs.sb.vec_dead_head.get(),
                    fs.sb.vec_free_head.get(),
                    fs.sb.vec_slot_high.get(),
                    fs.read_only()
                ));
            }
            if let Some(h) = hits.iter().find(|h| !with_vec.contains(&h.0)) {
                errs.push(format!("query returned inode {} which has no vector", h.0));
            }
        }
        let count = fs.vec_info().map_err(|e| format!("vec_info: {e}"))?.count;
        if count != with_vec.len() as u64 {
            errs.push(format!(
                "vec_info counts {count} vectors, files hold {}",
                with_vec.len()
            ));
        }
    }
    Ok(())
}

/// Mount a crash image read-write, inspect it, unmount, fsck -n.
fn check_state(
    dev: Overlay<'_>,
    exp: &[(String, Option<Snap>)],
    hist: &History,
    vectors: bool,
) -> Result<(), String> {
    let mut fs = Fs::mount(dev, false).map_err(|e| format!("mount failed: {e}"))?;
    let mut errs = Vec::new();
    if let Err(e) = inspect(&mut fs, exp, hist, vectors, &mut errs) {
        errs.push(e);
    }
    unmount_and_fsck(fs, errs)
}

/// Unmount, then `fsck -n` the result; all problems seen, joined.
fn unmount_and_fsck<D: Device>(fs: Fs<D>, mut errs: Vec<String>) -> Result<(), String> {
    let (mut dev, r) = fs.unmount();
    if let Err(e) = r {
        errs.push(format!("unmount failed: {e}"));
    }
    fsck_clean(&mut dev, &mut errs);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("\n"))
    }
}

fn fsck_clean<D: Device>(dev: &mut D, errs: &mut Vec<String>) {
    let rep = check(
        dev,
        &Options {
            mode: Mode::No,
            verbose: false,
        },
    );
    if rep.errors() > 0 || rep.fatal.is_some() {
        errs.push(format!(
            "fsck -n: {} errors, fatal {:?}:\n{}",
            rep.errors(),
            rep.fatal,
            rep.lines.join("\n")
        ));
    }
}

// ---------------------------------------------------------------------------
// Crash states.

/// Which in-flight writes landed.
fn masks(
    writes: &[(usize, u64, &Block)],
    geo: &Geo,
    rng: &mut Rng,
    random: usize,
) -> Vec<(String, Vec<bool>)> {
    let n = writes.len();
    let mut out = Vec::new();
    if n <= 5 {
        for bits in 0u32..(1 << n) {
            out.push((
                "exhaustive".to_string(),
                (0..n).map(|i| bits & (1 << i) != 0).collect(),
            ));
        }
        return out;
    }
    out.push(("none landed".into(), vec![false; n]));
    out.push(("all landed".into(), vec![true; n]));
    for _ in 0..3 {
        let k = 1 + rng.below(n as u64 - 1) as usize;
        out.push((
            format!("in order up to write {k}"),
            (0..n).map(|i| i < k).collect(),
        ));
    }
    for r in 0..random {
        let p = [200, 500, 800][r % 3];
        out.push((
            format!("random {p}/1000"),
            (0..n).map(|_| rng.chance(p)).collect(),
        ));
    }
    // Torn commit: the commit block landed, some of what it commits did not.
    let commit = writes.iter().rposition(|(_, blk, d)| {
        geo.in_log(*blk) && u32::from_le_bytes(d[..4].try_into().unwrap()) == BLOCK_MAGIC_JCOMMIT
    });
    if let Some(c) = commit {
        let mut first = c;
        while first > 0 && geo.in_log(writes[first - 1].1) {
            first -= 1;
        }
        if c > first {
            for variant in 0..3 {
                let mut m: Vec<bool> = (0..n)
                    .map(|i| variant == 0 || i == c || rng.chance(500))
                    .collect();
                for x in m.iter_mut().take(c).skip(first) {
                    if rng.chance(500) {
                        *x = false;
                    }
                }
                let victim = first + rng.below((c - first) as u64) as usize;
                m[victim] = false;
                m[c] = true;
                out.push((format!("torn commit (variant {variant})"), m));
            }
        }
    }
    out
}

struct Epoch {
    index: usize,
    /// Events `..start` are durable; `start..end` are in flight.
    start: usize,
    end: usize,
}

/// Run `check` on crash states of `events` over `base`: every flush
/// boundary, several subsets of the writes in flight after it. `prepare`
/// computes what an epoch's states must show. Returns the states checked.
#[allow(clippy::too_many_arguments)]
fn crash_states<T>(
    name: &str,
    base: &MemDevice,
    events: &[Ev],
    rng: &mut Rng,
    random: usize,
    prepare: &mut dyn FnMut(&Epoch) -> T,
    check: &mut dyn FnMut(&T, Overlay<'_>) -> Result<(), String>,
    context: &dyn Fn(&Epoch) -> String,
) -> Run {
    let geo = Geo::of(base);
    let mut durable = base.clone();
    let flushes: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Ev::Flush))
        .map(|(i, _)| i)
        .collect();
    let mut start = 0;
    let mut run = Run::default();
    for (index, end) in flushes
        .iter()
        .copied()
        .chain(std::iter::once(events.len()))
        .enumerate()
    {
        let ep = Epoch { index, start, end };
        let writes: Vec<(usize, u64, &Block)> = (start..end)
            .filter_map(|i| match &events[i] {
                Ev::Write(b, d) => Some((i, *b, d)),
                Ev::Flush => None,
            })
            .collect();
        let want = prepare(&ep);
        for (label, mask) in masks(&writes, &geo, rng, random) {
            let mut over = HashMap::new();
            for (k, &(_, blk, d)) in writes.iter().enumerate() {
                if mask[k] {
                    over.insert(blk, d.clone());
                }
            }
            let dev = Overlay {
                base: &durable,
                over,
            };
            run.states += 1;
            if let Err(why) = check(&want, dev) {
                run.failed += 1;
                if run.reports.len() >= 3 {
                    continue;
                }
                let show = |landed: bool| -> String {
                    writes
                        .iter()
                        .zip(&mask)
                        .filter(|(_, &m)| m == landed)
                        .map(|((i, b, d), _)| format!("#{i}={}", geo.kind(*b, &d[..])))
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                run.reports.push(format!(
                    "{name}: crash state failed\n\
                     epoch {} of {}: events ..{} durable, {} writes in flight before event {} ({label})\n\
                     landed:     {}\n\
                     not landed: {}\n\
                     {}\n\
                     problem:\n{why}",
                    ep.index,
                    flushes.len() + 1,
                    ep.start,
                    writes.len(),
                    ep.end,
                    show(true),
                    show(false),
                    context(&ep),
                ));
            }
        }
        for &(_, blk, d) in &writes {
            put(&mut durable, blk, d);
        }
        start = end + 1;
    }
    run
}

/// Crash states checked, how many failed, the first failures in full.
#[derive(Default)]
struct Run {
    states: usize,
    failed: usize,
    reports: Vec<String>,
}

impl Run {
    fn assert_ok(&self, name: &str) {
        assert!(
            self.failed == 0,
            "{name}: {} of {} crash states failed; the first:\n\n{}",
            self.failed,
            self.states,
            self.reports.join("\n\n")
        );
    }
}

/// Check every crash state of a workload against its model.
fn check_workload(
    name: &str,
    base: &MemDevice,
    events: &[Ev],
    m: &Model,
    seed: u64,
    random: usize,
) -> Run {
    let t = Instant::now();
    let mut rng = Rng::new(seed ^ 0xc0ff_ee00);
    let run = crash_states(
        name,
        base,
        events,
        &mut rng,
        random,
        &mut |ep| m.expectations(ep.start, ep.end),
        &mut |exp, dev| check_state(dev, exp, &m.hist, m.vectors),
        &|ep| {
            format!(
                "operations started before the crash (most recent last):\n{}",
                m.ops_before(ep.end, 8)
            )
        },
    );
    let flushes = events.iter().filter(|e| matches!(e, Ev::Flush)).count();
    eprintln!(
        "{name}: {} crash states checked, {} failed ({} events, {flushes} flush boundaries, {} operations, {} sync points) in {:.1?}",
        run.states,
        run.failed,
        events.len(),
        m.ops.len(),
        m.syncs.len(),
        t.elapsed()
    );
    run
}

/// The journal statistics of a workload: it must have wrapped the log.
fn assert_wrapped(name: &str, w: &Work) {
    eprintln!(
        "{name}: {} commits, {} blocks logged, {} checkpoints",
        w.fs.journal.commits, w.fs.journal.blocks_logged, w.fs.journal.checkpoints
    );
    assert!(
        w.fs.journal.checkpoints >= 1,
        "{name}: the workload must wrap the log and checkpoint"
    );
}

/// Operations of every kind, with an orphan left on the list at the end.
fn scripted(w: &mut Work) {
    let a = w.create("/a");
    w.write(a, 0, 3 * BS + 512);
    w.fsync(a);
    w.write(a, BS as u64, BS); // overwrite in place
    w.write(a, 3 * BS as u64 + 512, 2 * BS); // append
    let b = w.create("/b");
    w.write(b, 0, 2 * BS);
    w.vec_set(a);
    w.sync();
    w.mkdir("/d0");
    let c = w.create("/d0/c");
    w.write(c, 0, 5 * BS);
    w.link(c, "/c-link");
    w.truncate(a, 2 * BS as u64 + 1024); // frees blocks, zeroes a tail
    w.vec_set(c);
    w.fsync(c);
    w.rename("/b", "/a"); // over an existing file: a's blocks and vector go
    w.unlink("/d0/c");
    w.fsync(b);
    let e = w.create("/d0/e");
    w.write(e, 0, 4 * BS);
    w.vec_set(e);
    w.mkdir("/d1");
    w.sync();
    w.rename("/d0/e", "/d1/e");
    w.rmdir("/d0");
    w.truncate(c, 0);
    w.write(c, 0, BS);
    w.vec_set(b);
    w.sync();
    // A directory block and a data block freed, and new data written
    // while the frees are not committed yet.
    w.mkdir("/dz");
    let z = w.create("/dz/z");
    w.write(z, 0, BS);
    w.sync();
    w.checkpoint(); // the log no longer holds /dz's directory block
    w.unlink("/dz/z");
    w.rmdir("/dz");
    let y = w.create("/y");
    w.write(y, 0, 3 * BS);
    w.sync();
    // Unlinked while open: an orphan, committed, then the crash comes
    // before the last close.
    let o = w.create("/open");
    w.write(o, 0, 3 * BS);
    w.vec_set(o);
    w.fsync(o);
    w.pin(o);
    w.unlink("/open");
    w.fsync(b);
    w.write(o, 3 * BS as u64, BS); // written after the unlink
    w.truncate(b, 16);
    w.sync();
}

#[test]
fn crash_states_scripted_workload() {
    let name = "scripted workload";
    let base = format_image(true);
    let mut w = Work::new(&base, true);
    scripted(&mut w);
    // More, to wrap the log several times, with the orphan still open.
    let mut rng = Rng::new(1);
    w.random_ops(&mut rng, 150);
    w.sync();
    assert_wrapped(name, &w);
    let run = check_workload(name, &base, &w.fs.dev.events, &w.m, 1, 30);
    run.assert_ok(name);
    assert!(run.states >= 1000, "{} crash states", run.states);
}

/// Preallocation, writes into it (converting unwritten blocks, splitting
/// extents), punched holes and zeroed ranges: in every crash state a
/// preallocated or punched range reads zeros or data written there, never
/// stale blocks, and fsync'd files are exact.
fn scripted_fallocate(w: &mut Work) {
    use vexfs_core::extent::{
        FALLOC_FL_KEEP_SIZE as KEEP, FALLOC_FL_PUNCH_HOLE as PUNCH, FALLOC_FL_ZERO_RANGE as ZERO,
    };
    // Blocks full of other data, freed: preallocation reuses them.
    let junk = w.create("/junk");
    w.write(junk, 0, 24 * BS);
    w.sync();
    w.unlink("/junk");
    w.sync();
    let a = w.create("/a");
    w.fallocate(a, 0, 0, 16 * BS as u64);
    w.fsync(a);
    w.write(a, 5 * BS as u64 + 32, 64); // converts one block mid-extent
    w.write(a, 6 * BS as u64, BS); // joins it
    w.fsync(a);
    let b = w.create("/b");
    w.fallocate(b, KEEP, 0, 8 * BS as u64);
    w.write(b, 0, 3 * BS + 48);
    w.fallocate(a, PUNCH | KEEP, 4 * BS as u64 + 16, 4 * BS as u64);
    w.write(b, 3 * BS as u64 + 48, 2 * BS);
    w.fsync(b);
    w.fallocate(b, ZERO, BS as u64 + 16, 2 * BS as u64);
    w.write(a, 0, 2 * BS);
    w.sync();
    w.fallocate(a, ZERO | KEEP, 10 * BS as u64, 8 * BS as u64);
    w.truncate(b, BS as u64 + 32);
    w.fallocate(b, 0, 0, 12 * BS as u64);
    w.write(b, 11 * BS as u64, 16);
    w.fsync(b);
    w.fallocate(a, PUNCH | KEEP, 0, 16 * BS as u64);
    w.sync();
}

#[test]
fn crash_states_fallocate_workloads() {
    let name = "fallocate workload";
    let base = format_image(false);
    let mut w = Work::new(&base, false);
    scripted_fallocate(&mut w);
    let mut rng = Rng::new(31);
    for _ in 0..400 {
        if rng.below(3) == 0 {
            w.random_fallocate(&mut rng);
        } else {
            w.random_ops(&mut rng, 1);
        }
    }
    w.sync();
    assert_wrapped(name, &w);
    let run = check_workload(name, &base, &w.fs.dev.events, &w.m, 31, 30);
    run.assert_ok(name);
    assert!(run.states >= 1000, "{} crash states", run.states);
}

#[test]
fn crash_states_random_workloads() {
    let mut runs = Vec::new();
    for (seed, vectors) in [(11u64, true), (12, false), (13, true), (14, false)] {
        let name = format!("random workload, seed {seed}, vectors {vectors}");
        let base = format_image(vectors);
        let mut w = Work::new(&base, vectors);
        let mut rng = Rng::new(seed);
        w.random_ops(&mut rng, 300);
        assert_wrapped(&name, &w);
        let run = check_workload(&name, &base, &w.fs.dev.events, &w.m, seed, 12);
        runs.push((name, run));
    }
    let total: usize = runs.iter().map(|(_, r)| r.states).sum();
    eprintln!("random workloads: {total} crash states checked in all");
    for (name, run) in &runs {
        run.assert_ok(name);
    }
    assert!(total >= 3000, "{total} crash states");
}

/// A directory that outgrows its block is converted to a hash index, then
/// its leaves split and the index gains entries, each in one transaction:
/// every crash state in between mounts clean, with the names the model
/// allows.
#[test]
fn crash_states_directory_splits() {
    let name = "directory splits";
    let base = format_image(false);
    let mut w = Work::new(&base, false);
    w.mkdir("/big");
    let path = |i: usize| format!("/big/a-name-long-enough-to-fill-blocks-{i:04}");
    let mut tags = Vec::new();
    for i in 0..420 {
        tags.push(w.create(&path(i)));
        if i % 12 == 11 {
            w.fsync(tags[i]);
        }
        if i % 7 == 3 && (i - 2) % 50 != 25 {
            w.unlink(&path(i - 2));
        }
        if i % 50 == 25 {
            w.rename(&path(i), &format!("/big/renamed-{i}"));
        }
    }
    w.sync();
    assert_wrapped(name, &w);
    let big = w.dir_ino("/big");
    assert!(
        w.fs.dir_indexed(big).unwrap(),
        "the directory was converted"
    );
    assert!(
        w.fs.getattr(big).unwrap().size >= 8 * BS as u64,
        "its leaves split"
    );
    let run = check_workload(name, &base, &w.fs.dev.events, &w.m, 5, 40);
    run.assert_ok(name);
    assert!(run.states >= 500, "{} crash states", run.states);
}

/// A clean unmount at the end of a workload: its commit and checkpoint
/// are crash states too, and the final image is the model.
#[test]
fn crash_states_through_unmount() {
    let name = "workload ending in unmount";
    let base = format_image(true);
    let mut w = Work::new(&base, true);
    let mut rng = Rng::new(21);
    w.random_ops(&mut rng, 120);
    assert_wrapped(name, &w);
    let s = w.begin("unmount".into());
    let Work { fs, mut m } = w;
    let (rec, r) = fs.unmount();
    r.unwrap();
    // The unmount is the last sync point.
    let flush = (s..rec.events.len())
        .rev()
        .find(|&i| matches!(rec.events[i], Ev::Flush))
        .unwrap();
    let all = m.snapshot();
    m.syncs.push(SyncPoint {
        durable_from: flush + 1,
        ret: rec.events.len(),
        covers: None,
        all: all.clone(),
    });
    let mut fs = Fs::mount(rec.inner.clone(), false).unwrap();
    assert_eq!(tree(&mut fs).unwrap(), all);
    drop(fs);
    let run = check_workload(name, &base, &rec.events, &m, 21, 10);
    run.assert_ok(name);
}

/// An inode unlinked while open, committed on the orphan list, and the
/// crash before its last close: the next mount frees it and everything it
/// holds.
#[test]
fn orphan_is_freed_at_mount_after_crash() {
    let name = "orphan workload";
    let base = format_image(true);
    let mut w = Work::new(&base, true);
    let keep = w.create("/keep");
    w.write(keep, 0, BS);
    w.sync();
    let free_before = w.fs.statfs();
    let o = w.create("/open");
    w.write(o, 0, 6 * BS);
    w.vec_set(o);
    w.pin(o);
    w.unlink("/open");
    w.fsync(keep);
    w.write(o, 6 * BS as u64, 2 * BS);
    w.truncate(o, BS as u64);
    let ino = w.ino(o);
    // Power loss: the device as it is (every write landed, none since lost).
    let dev = w.fs.dev.inner.clone();
    assert_eq!(
        sb_of(&dev).orphan_head.get(),
        ino,
        "the orphan list is on disk"
    );
    let mut fs = Fs::mount(dev, false).unwrap();
    assert_eq!(fs.sb.orphan_head.get(), 0);
    assert!(fs.getattr(ino).is_err(), "the orphan inode was freed");
    let st = fs.statfs();
    assert_eq!(
        (st.bfree, st.ffree),
        (free_before.bfree, free_before.ffree),
        "its blocks and inode are free again"
    );
    assert_eq!(fs.vec_info().unwrap().count, 0, "its vector is gone");
    let (mut dev, r) = fs.unmount();
    r.unwrap();
    let mut errs = Vec::new();
    fsck_clean(&mut dev, &mut errs);
    assert!(errs.is_empty(), "{}", errs.join("\n"));
    // And every crash state of the same workload.
    let run = check_workload(name, &base, &w.fs.dev.events, &w.m, 3, 40);
    run.assert_ok(name);
    assert!(run.states >= 100, "{} crash states", run.states);
}

// ---------------------------------------------------------------------------
// The journal's tail: torn or corrupt transactions, and replay.

/// An image that crashed right after event `cut` (a commit's flush) with
/// none of the synced commits' home writes done since the last checkpoint:
/// the log holds every transaction and replay must apply them all.
fn unreplayed_image(base: &MemDevice, w: &Work, cut: usize) -> MemDevice {
    let geo = Geo::of(base);
    let events = &w.fs.dev.events;
    let last_super = events[..=cut]
        .iter()
        .rposition(|e| matches!(e, Ev::Write(b, _) if *b == geo.jstart))
        .unwrap_or(0);
    let skip = |i: usize| {
        i > last_super
            && w.m
                .home_ranges
                .iter()
                .any(|&(from, to)| i >= from && i < to)
    };
    let mut dev = base.clone();
    let mut skipped = 0;
    for (i, e) in events[..=cut].iter().enumerate() {
        if let Ev::Write(b, d) = e {
            if skip(i) {
                skipped += 1;
            } else {
                put(&mut dev, *b, d);
            }
        }
    }
    assert!(skipped > 0);
    dev
}

fn transactions(dev: &MemDevice) -> u64 {
    let sb = sb_of(dev);
    let mut d = dev.clone();
    journal::recover(&mut d, &sb, &mut |_, _, _| Ok(()))
        .unwrap()
        .transactions
}

/// Log positions of one transaction: descriptors, copies, commit.
#[derive(Debug)]
struct TxLoc {
    descs: Vec<u64>,
    /// (home block, log block of its copy)
    copies: Vec<(u64, u64)>,
    commit: u64,
}

/// The transactions in the log from the tail, as device blocks.
fn log_transactions(dev: &MemDevice, count: u64) -> Vec<TxLoc> {
    let sb = sb_of(dev);
    let mut d = dev.clone();
    let js = journal::read_super(&mut d, &sb).unwrap();
    let start = sb.journal_start.get();
    let len = sb.journal_blocks.get() - 1;
    let blk = |pos: u64| start + 1 + pos % len;
    let block = |b: u64| &dev.data[b as usize * BS..(b as usize + 1) * BS];
    let (mut pos, mut seq) = (js.tail_pos.get(), js.tail_seq.get());
    let mut out = Vec::new();
    for _ in 0..count {
        let mut tx = TxLoc {
            descs: Vec::new(),
            copies: Vec::new(),
            commit: 0,
        };
        loop {
            let b = blk(pos);
            let data = block(b);
            let magic = u32::from_le_bytes(data[..4].try_into().unwrap());
            pos += 1;
            if magic == BLOCK_MAGIC_JCOMMIT {
                tx.commit = b;
                break;
            }
            assert_eq!(magic, BLOCK_MAGIC_JDESC, "descriptor expected at block {b}");
            tx.descs.push(b);
            let rec = JournalRecord::read_from_prefix(&data[HEADER_SIZE..])
                .unwrap()
                .0;
            assert_eq!(rec.seq.get(), seq);
            for i in 0..rec.value.get() as usize {
                let off = HEADER_SIZE
                    + std::mem::size_of::<JournalRecord>()
                    + i * std::mem::size_of::<JournalEntry>();
                let e = JournalEntry::read_from_prefix(&data[off..]).unwrap().0;
                if e.flags.get() & ENTRY_REVOKE == 0 {
                    tx.copies.push((e.home.get(), blk(pos)));
                    pos += 1;
                }
            }
        }
        out.push(tx);
        seq += 1;
    }
    out
}

/// The model's tree at sync point `i` (the way `tree` reads it back).
fn model_tree(m: &Model, i: usize) -> BTreeMap<String, Snap> {
    m.syncs[i].all.clone()
}

fn mount_tree(dev: MemDevice) -> (BTreeMap<String, Snap>, Vec<String>) {
    let mut fs = Fs::mount(dev, false).unwrap();
    let t = tree(&mut fs).unwrap();
    let (mut dev, r) = fs.unmount();
    r.unwrap();
    let mut errs = Vec::new();
    fsck_clean(&mut dev, &mut errs);
    (t, errs)
}

#[test]
fn corrupt_or_torn_journal_tail_is_ignored() {
    let base = format_image(true);
    let mut w = Work::new(&base, true);
    let a = w.create("/a");
    w.write(a, 0, 3 * BS + 32);
    w.vec_set(a);
    w.fsync(a);
    w.mkdir("/d");
    let b = w.create("/d/b");
    w.write(b, 0, 5008);
    w.fsync(b);
    w.link(a, "/d/a2");
    w.unlink("/a");
    let c = w.create("/c");
    w.write(c, 0, BS);
    // Block-aligned: no tail zeroed in place (data the crash would keep).
    w.truncate(b, BS as u64);
    w.vec_set(c);
    w.fsync(c);
    assert_eq!(w.fs.journal.checkpoints, 0);
    let events = &w.fs.dev.events;
    let cut = events.iter().rposition(|e| matches!(e, Ev::Flush)).unwrap();
    let image = unreplayed_image(&base, &w, cut);
    // The mount's commit and one per fsync.
    let n = transactions(&image);
    assert_eq!(n, w.fs.journal.commits);
    assert_eq!(n, 1 + w.m.syncs.len() as u64);
    let txs = log_transactions(&image, n);
    let last = txs.last().unwrap();
    assert!(last.copies.len() >= 2, "{last:?}");

    // Intact: everything is replayed.
    let (t, errs) = mount_tree(image.clone());
    assert!(errs.is_empty(), "{}", errs.join("\n"));
    assert_eq!(t, model_tree(&w.m, w.m.syncs.len() - 1));

    let mut cases = 0;
    let block = |dev: &MemDevice, b: u64| dev.data[b as usize * BS..(b as usize + 1) * BS].to_vec();
    let damage = |blk: u64, with: &dyn Fn(&mut [u8])| -> MemDevice {
        let mut dev = image.clone();
        with(&mut dev.data[blk as usize * BS..(blk as usize + 1) * BS]);
        dev
    };
    let flip = |at: usize| move |b: &mut [u8]| b[at] ^= 0x40;
    let torn = |b: &mut [u8]| b.fill(0);
    let first = last.copies[0].1;
    let final_copy = last.copies.last().unwrap().1;
    let mut damaged: Vec<(String, MemDevice)> = vec![
        (
            "a flipped byte in its first block copy".into(),
            damage(first, &flip(100)),
        ),
        (
            "a flipped byte in its last block copy".into(),
            damage(final_copy, &flip(BS - 1)),
        ),
        (
            "a block copy never written (zeros)".into(),
            damage(first, &torn),
        ),
        (
            "a flipped byte in its descriptor".into(),
            damage(last.descs[0], &flip(HEADER_SIZE + 20)),
        ),
        (
            "a flipped byte in its commit block".into(),
            damage(last.commit, &flip(HEADER_SIZE + 4)),
        ),
        (
            "its commit block never written".into(),
            damage(last.commit, &torn),
        ),
    ];
    // A copy never written, where the log still holds an older copy of the
    // same block: valid on its own (a superblock or inode table block with
    // its own checksums), but not the one the descriptor names.
    for &(home, at) in &last.copies {
        let older = txs[..txs.len() - 1]
            .iter()
            .flat_map(|t| t.copies.iter())
            .filter(|(h, _)| *h == home)
            .map(|(_, b)| block(&image, *b))
            .find(|old| *old != block(&image, at));
        if let Some(old) = older {
            let what = Geo::of(&base).kind(home, &old);
            damaged.push((
                format!("an older copy of block {what} where its copy belongs"),
                damage(at, &|b: &mut [u8]| b.copy_from_slice(&old)),
            ));
        }
    }
    assert!(
        damaged.len() > 7,
        "the last transaction shares blocks with earlier ones"
    );
    for (what, dev) in damaged {
        assert_eq!(transactions(&dev), n - 1, "last transaction with {what}");
        let (t, errs) = mount_tree(dev);
        assert!(errs.is_empty(), "{what}: {}", errs.join("\n"));
        assert_eq!(
            t,
            model_tree(&w.m, w.m.syncs.len() - 2),
            "last transaction with {what}: only it is ignored"
        );
        cases += 1;
    }
    // A transaction in the middle damaged: the log ends there.
    let dev = damage(txs[2].copies[0].1, &flip(7));
    assert_eq!(transactions(&dev), 2);
    let (t, errs) = mount_tree(dev);
    assert!(errs.is_empty(), "{}", errs.join("\n"));
    assert_eq!(t, model_tree(&w.m, 0));
    cases += 1;
    eprintln!("corrupt journal tail: {cases} damaged logs checked ({n} transactions)");
}

#[test]
fn replay_is_idempotent_when_interrupted() {
    let base = format_image(true);
    let mut w = Work::new(&base, true);
    let mut rng = Rng::new(31);
    w.random_ops(&mut rng, 12);
    let a = w.create("/x");
    w.write(a, 0, 2 * BS);
    w.vec_set(a);
    w.fsync(a);
    w.pin(a);
    w.unlink("/x");
    w.mkdir("/dd");
    let b = w.create("/dd/y");
    w.write(b, 0, 3 * BS);
    w.vec_set(b);
    w.sync();
    let c = w.create("/dd/z");
    w.write(c, 16, 4000);
    w.rename("/dd/z", "/dd/y");
    w.fsync(c);
    let events = &w.fs.dev.events;
    let last_super = events
        .iter()
        .rposition(|e| matches!(e, Ev::Write(blk, _) if *blk == Geo::of(&base).jstart))
        .unwrap_or(0);
    let cut = events.iter().rposition(|e| matches!(e, Ev::Flush)).unwrap();
    let image = unreplayed_image(&base, &w, cut);
    let n = transactions(&image);
    assert!(
        n >= 2,
        "{n} transactions to replay (last checkpoint at {last_super})"
    );

    // Uninterrupted replay.
    let want = model_tree(&w.m, w.m.syncs.len() - 1);
    let mut fs = Fs::mount(image.clone(), false).unwrap();
    let st = fs.statfs();
    let counts = (st.bfree, st.ffree);
    assert_eq!(tree(&mut fs).unwrap(), want);
    let (mut dev, r) = fs.unmount();
    r.unwrap();
    let mut errs = Vec::new();
    fsck_clean(&mut dev, &mut errs);
    assert!(errs.is_empty(), "{}", errs.join("\n"));

    // The mount recorded, then crashed anywhere in it (the replay's home
    // writes, its flush, the journal superblock, the orphan's freeing).
    let fs = Fs::mount(Recorder::new(image.clone()), false).unwrap();
    let mevents = fs.dev.events.clone();
    drop(fs);
    let t = Instant::now();
    let mut crng = Rng::new(32);
    let run = crash_states(
        "interrupted replay",
        &image,
        &mevents,
        &mut crng,
        40,
        &mut |_| (),
        &mut |_, dev| {
            // Replay again, and once more after crashing in that one too.
            let mut errs = Vec::new();
            let mut fs = Fs::mount(dev, false).map_err(|e| format!("mount: {e}"))?;
            let st = fs.statfs();
            match tree(&mut fs) {
                Ok(t) if t == want => {}
                Ok(t) => errs.push(format!("tree differs: {t:?}\nwant {want:?}")),
                Err(e) => errs.push(e),
            }
            if (st.bfree, st.ffree) != counts {
                errs.push(format!(
                    "free counts {:?}, uninterrupted replay {:?}",
                    (st.bfree, st.ffree),
                    counts
                ));
            }
            unmount_and_fsck(fs, errs)
        },
        &|_| "crash during the mount of the unreplayed image".into(),
    );
    // Replaying an image whose replay already completed changes nothing.
    let mut once = image.clone();
    let sb = sb_of(&once);
    journal::replay(&mut once, &sb).unwrap();
    let mut twice = once.clone();
    let again = journal::replay(&mut twice, &sb).unwrap();
    assert_eq!(again.transactions, 0);
    assert!(once.data == twice.data);
    eprintln!(
        "interrupted replay: {} crash states checked, {} failed ({n} transactions, {} events in the mount) in {:.1?}",
        run.states,
        run.failed,
        mevents.len(),
        t.elapsed()
    );
    run.assert_ok("interrupted replay");
    assert!(run.states >= 100, "{} crash states", run.states);
}

#[test]
fn recording_device_and_overlay_agree() {
    // The crash-image machinery itself: all writes landed == the device.
    let base = format_image(false);
    let mut w = Work::new(&base, false);
    let mut rng = Rng::new(41);
    w.random_ops(&mut rng, 30);
    let mut img = base.clone();
    for e in &w.fs.dev.events {
        if let Ev::Write(b, d) = e {
            put(&mut img, *b, d);
        }
    }
    assert!(img.data == w.fs.dev.inner.data);
    let ov = Overlay {
        base: &base,
        over: HashMap::new(),
    };
    assert!(materialize(&ov).data == base.data);
}

/// Rewrite entry `idx` (among the block copies) of transaction `tx` to name
/// `home`, and reseal everything that covers it: the copy's CRC, the
/// descriptor and the commit block. The log then passes every checksum.
fn reseal_home(image: &MemDevice, tx: &TxLoc, seq: u64, idx: usize, home: u64) -> MemDevice {
    let mut dev = image.clone();
    let at = |b: u64| b as usize * BS..(b as usize + 1) * BS;
    let entry_size = std::mem::size_of::<JournalEntry>();
    let rec_size = std::mem::size_of::<JournalRecord>();
    let mut seen = 0;
    let mut desc_crcs = Vec::new();
    for &d in &tx.descs {
        let mut blk: [u8; BS] = dev.data[at(d)].try_into().unwrap();
        let count = JournalRecord::read_from_prefix(&blk[HEADER_SIZE..])
            .unwrap()
            .0
            .value
            .get() as usize;
        for i in 0..count {
            let off = HEADER_SIZE + rec_size + i * entry_size;
            let e = JournalEntry::read_from_prefix(&blk[off..]).unwrap().0;
            if e.flags.get() & ENTRY_REVOKE != 0 {
                continue;
            }
            if seen == idx {
                let copy = &dev.data[at(tx.copies[idx].1)];
                let crc = journal::copy_crc(seq, home, copy);
                blk[off..off + 8].copy_from_slice(&home.to_le_bytes());
                blk[off + 8..off + 12].copy_from_slice(&crc.to_le_bytes());
            }
            seen += 1;
        }
        seal_block(&mut blk);
        desc_crcs.extend_from_slice(&crc32c(&[&blk]).to_le_bytes());
        dev.data[at(d)].copy_from_slice(&blk);
    }
    let mut cb: [u8; BS] = dev.data[at(tx.commit)].try_into().unwrap();
    let value = HEADER_SIZE + 12;
    cb[value..value + 4].copy_from_slice(&crc32c(&[&desc_crcs]).to_le_bytes());
    seal_block(&mut cb);
    dev.data[at(tx.commit)].copy_from_slice(&cb);
    dev
}

#[test]
fn sealed_transaction_with_a_forbidden_home_is_not_replayed() {
    let base = format_image(true);
    let mut w = Work::new(&base, true);
    let a = w.create("/a");
    w.write(a, 0, 2 * BS);
    w.vec_set(a);
    w.fsync(a);
    let b = w.create("/b");
    w.write(b, 0, BS);
    w.fsync(b);
    let events = &w.fs.dev.events;
    let cut = events.iter().rposition(|e| matches!(e, Ev::Flush)).unwrap();
    let image = unreplayed_image(&base, &w, cut);
    let n = transactions(&image);
    let txs = log_transactions(&image, n);
    let last = txs.last().unwrap();
    let sb = sb_of(&image);
    let seq = journal::read_super(&mut image.clone(), &sb)
        .unwrap()
        .tail_seq
        .get()
        + n
        - 1;
    let geo = Geo::of(&base);
    let itable = last
        .copies
        .iter()
        .position(|&(h, _)| h >= geo.itable.0 && h < geo.itable.0 + geo.itable.1)
        .expect("the last transaction writes an inode table block");
    let dir = last
        .copies
        .iter()
        .position(|&(h, _)| h >= sb.data_start.get())
        .expect("the last transaction writes a directory block");
    // The resealing itself is right: the same home again replays everything.
    let same = reseal_home(&image, last, seq, itable, last.copies[itable].0);
    assert_eq!(transactions(&same), n);
    let index_area = sb.vector_start.get() + sb.vec_slot_blocks.get();
    let cases = [
        ("an inode table block over the superblock", itable, 0),
        (
            "an inode table block over the journal superblock",
            itable,
            sb.journal_start.get(),
        ),
        (
            "an inode table block into the log",
            itable,
            sb.journal_start.get() + 3,
        ),
        (
            "an inode table block past the device",
            itable,
            sb.block_count.get(),
        ),
        (
            "an inode table block into the data area",
            itable,
            sb.data_start.get() + 5,
        ),
        (
            "an inode table block over the block bitmap",
            itable,
            sb.block_bitmap_start.get(),
        ),
        ("a directory block into the inode table", dir, geo.itable.0),
        ("a directory block into the vector index", dir, index_area),
        (
            "a directory block to another data block",
            dir,
            last.copies[dir].0 + 1,
        ),
    ];
    for (what, idx, home) in cases {
        let dev = reseal_home(&image, last, seq, idx, home);
        assert_eq!(transactions(&dev), n - 1, "{what}: refused by the scan");
        let (t, errs) = mount_tree(dev);
        assert!(errs.is_empty(), "{what}: {}", errs.join("\n"));
        assert_eq!(t, model_tree(&w.m, w.m.syncs.len() - 2), "{what}");
    }
}

/// Recovery given a superblock whose journal area does not fit the
/// filesystem (one no decode checked) refuses it instead of overflowing
/// on log positions (found by the superblock fuzz target).
#[test]
fn journal_area_outside_the_filesystem_is_refused() {
    let mut dev = format_image(false);
    let good = sb_of(&dev);
    let count = good.block_count.get();
    for (start, blocks) in [
        (u64::MAX - 10, good.journal_blocks.get()),
        (good.journal_start.get(), u64::MAX - 3),
        (count - 10, good.journal_blocks.get()),
    ] {
        let mut sb = good.clone();
        sb.journal_start = zerocopy::little_endian::U64::new(start);
        sb.journal_blocks = zerocopy::little_endian::U64::new(blocks);
        let r = journal::recover(&mut dev, &sb, &mut |_: &mut MemDevice, _, _| Ok(()));
        assert_eq!(
            r.err(),
            Some("journal area outside the filesystem"),
            "start {start} blocks {blocks}"
        );
        assert!(journal::Journal::open(&mut dev, &sb).is_err());
    }
    assert!(journal::recover(&mut dev, &good, &mut |_: &mut MemDevice, _, _| Ok(())).is_ok());
}
