//! The fuzzing harness shared by the seeded corpus run in `cargo test`
//! (rust-core/tests/fuzz_corpus.rs) and the cargo-fuzz targets in fuzz/.
//!
//! A small populated image is built once; each case mutates a few fields or
//! bytes of one of its metadata blocks, reseals what the mutation broke
//! (block crc32c, inode and superblock checksums, the HNSW payload's own
//! crc and the index head's, journal copy CRCs and commit crcs) so that the
//! checks behind the checksums are exercised, then runs the decoders, a
//! mount with operations, and fsck -n, -y, -n. The only acceptable
//! outcomes are Ok or Err(errno); a panic fails the case, and so does a
//! repair run that leaves a filesystem the next check does not call clean.
//! The fuzz targets' entries and seeds are in targets.rs.
#![allow(
    clippy::disallowed_methods,
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::mem::offset_of;
use std::sync::OnceLock;
use vexfs_core::dev::{Device, LogLevel, Timespec};
use vexfs_core::format::*;
use vexfs_core::fsck::{self, Mode, Options, Report};
use vexfs_core::journal::{self, JournalEntry, JournalRecord, JournalSuper, ENTRY_REVOKE};
use vexfs_core::mkfs::{format, MkfsOptions, VectorOptions};
use vexfs_core::{Errno, Fs};
use zerocopy::{FromBytes, IntoBytes};

pub mod targets;

pub const ROOT: u64 = 1;
pub const REG: u32 = 0o100644;
pub const DIR: u32 = 0o040755;
pub const LNK: u32 = 0o120777;
pub const DIM: usize = 4;
pub const BLOCKS: u64 = 1024;

// ---- a quiet, deterministic memory device ----

/// A memory device that logs nothing (the core logs every corruption it
/// meets) and has a fixed clock (cases replay exactly).
#[derive(Clone, PartialEq, Eq)]
pub struct Img {
    pub data: Vec<u8>,
}

impl Img {
    pub fn new(blocks: u64) -> Self {
        Img {
            data: vec![0; blocks as usize * BLOCK_SIZE],
        }
    }
    pub fn block(&self, blk: u64) -> &[u8] {
        &self.data[blk as usize * BLOCK_SIZE..][..BLOCK_SIZE]
    }
    pub fn block_mut(&mut self, blk: u64) -> &mut [u8] {
        &mut self.data[blk as usize * BLOCK_SIZE..][..BLOCK_SIZE]
    }
    pub fn get(&self, blk: u64) -> Box<[u8; BLOCK_SIZE]> {
        let mut b = Box::new([0u8; BLOCK_SIZE]);
        b.copy_from_slice(self.block(blk));
        b
    }
    pub fn put(&mut self, blk: u64, b: &[u8; BLOCK_SIZE]) {
        self.block_mut(blk).copy_from_slice(b);
    }
    pub fn sb(&self) -> Superblock {
        Superblock::read_from_prefix(&self.data[..]).unwrap().0
    }
    pub fn blocks(&self) -> u64 {
        (self.data.len() / BLOCK_SIZE) as u64
    }
}

impl Device for Img {
    fn block_count(&self) -> u64 {
        self.blocks()
    }
    fn read_block(&mut self, blk: u64, buf: &mut [u8; BLOCK_SIZE]) -> vexfs_core::Result<()> {
        if blk >= self.blocks() {
            return Err(Errno::EIO);
        }
        buf.copy_from_slice(self.block(blk));
        Ok(())
    }
    fn write_block(&mut self, blk: u64, buf: &[u8; BLOCK_SIZE]) -> vexfs_core::Result<()> {
        if blk >= self.blocks() {
            return Err(Errno::EIO);
        }
        self.block_mut(blk).copy_from_slice(buf);
        Ok(())
    }
    fn flush(&mut self) -> vexfs_core::Result<()> {
        Ok(())
    }
    fn now(&self) -> Timespec {
        Timespec {
            sec: 1_800_000_000,
            nsec: 12345,
        }
    }
    fn log(&self, _level: LogLevel, _msg: core::fmt::Arguments<'_>) {
        if std::env::var_os("FUZZ_LOG").is_some() {
            eprintln!("vexfs: {}", _msg);
        }
    }
}

// ---- randomness: seeded, or drawn from a fuzzer's input ----

pub trait Src {
    fn next(&mut self) -> u64;
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
}

/// xorshift64*, seeded.
pub struct Rng(pub u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
}

impl Src for Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// The bytes of a fuzzer's input, eight at a time (zeros when used up).
pub struct Bytes<'a>(pub &'a [u8]);

impl Src for Bytes<'_> {
    fn next(&mut self) -> u64 {
        let mut a = [0u8; 8];
        let n = self.0.len().min(8);
        a[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        u64::from_le_bytes(a)
    }
}

// ---- the base images ----

pub struct Base {
    pub img: Img,
    /// Metadata blocks worth mutating.
    pub targets: Vec<(u64, Kind)>,
}

fn mkfs() -> Img {
    let mut img = Img::new(BLOCKS);
    let opts = MkfsOptions {
        vectors: Some(VectorOptions::new(DIM as u32, 1)),
        label: b"fuzz".to_vec(),
        inodes: 0,
        uuid: [0x5a; 16],
        blocks: 0,
    };
    format(&mut img, &opts).expect("format");
    img
}

/// Dirs (one of several blocks), files, a hard link, a symlink, a fifo, two
/// interleaved big files (extent trees), vectors with a stored graph, and an
/// inode unlinked while open (on the orphan list).
fn populate(fs: &mut Fs<Img>) {
    let docs = fs.create(ROOT, b"docs", DIR, 0, 0, 0).unwrap();
    let sub = fs.create(docs, b"sub", DIR, 0, 0, 0).unwrap();
    let a = fs.create(docs, b"a.txt", REG, 0, 0, 0).unwrap();
    let data: Vec<u8> = (0..20000u32).map(|i| (i * 7 + 3) as u8).collect();
    fs.write(a, 0, &data).unwrap();
    let b = fs.create(sub, b"b.txt", REG, 0, 0, 0).unwrap();
    fs.write(b, 0, b"hello b").unwrap();
    fs.link(ROOT, b"b-again", b).unwrap();
    let l = fs.create(ROOT, b"sym", LNK, 0, 0, 0).unwrap();
    fs.write(l, 0, b"docs/a.txt").unwrap();
    fs.create(ROOT, b"fifo", 0o010644, 0, 0, 0).unwrap();
    fs.create(docs, b"tty", 0o020600, 0, 0, 0x0401).unwrap();
    let big = fs.create(ROOT, b"big", REG, 0, 0, 0).unwrap();
    let big2 = fs.create(ROOT, b"big2", REG, 0, 0, 0).unwrap();
    let chunk = vec![0x5au8; BLOCK_SIZE];
    for i in 0..24u64 {
        fs.write(big, i * 2 * BLOCK_SIZE as u64, &chunk).unwrap();
        fs.write(big2, i * BLOCK_SIZE as u64, &chunk).unwrap();
    }
    let many = fs.create(ROOT, b"many", DIR, 0, 0, 0).unwrap();
    for i in 0..100u32 {
        let name = format!("entry-with-a-longish-name-{:04}", i);
        fs.create(many, name.as_bytes(), REG, 0, 0, 0).unwrap();
    }
    for i in 0..24u32 {
        let f = fs
            .create(docs, format!("v{}", i).as_bytes(), REG, 0, 0, 0)
            .unwrap();
        let x = i as f32;
        fs.vec_set(f, &[x, 1.0, 2.0 - x, x * 0.5]).unwrap();
    }
    let t = fs.create(ROOT, b"open-unlinked", REG, 0, 0, 0).unwrap();
    fs.write(t, 0, &[3u8; 9000]).unwrap();
    fs.vec_set(t, &[9.0, 9.0, 9.0, 9.0]).unwrap();
    fs.iget(t).unwrap();
    fs.unlink(ROOT, b"open-unlinked").unwrap();
}

/// Cleanly unmounted (the orphan stays on the list).
fn build_clean() -> Img {
    let mut fs = Fs::mount(mkfs(), false).unwrap();
    populate(&mut fs);
    let (img, r) = fs.unmount();
    r.unwrap();
    img
}

/// Power loss after a commit: the journal holds transactions to replay.
fn build_journal(clean: &Img) -> Img {
    let mut fs = Fs::mount(clean.clone(), false).unwrap();
    let late = fs.create(ROOT, b"late", REG, 0, 0, 0).unwrap();
    fs.write(late, 0, b"journaled data").unwrap();
    fs.vec_set(late, &[0.5, 0.5, 0.5, 0.5]).unwrap();
    assert!(fs.commit().unwrap());
    let docs = fs.lookup(ROOT, b"docs").unwrap();
    fs.create(docs, b"newdir", DIR, 0, 0, 0).unwrap();
    fs.unlink(docs, b"v3").unwrap();
    fs.rename(docs, b"a.txt", ROOT, b"a-moved", 0).unwrap();
    let big = fs.lookup(ROOT, b"big").unwrap();
    fs.truncate(big, 9 * BLOCK_SIZE as u64).unwrap();
    assert!(fs.commit().unwrap());
    let img = fs.dev.clone();
    drop(fs);
    img
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Super,
    InodeBitmap,
    BlockBitmap,
    InodeTable,
    JournalSuper,
    /// A block of the log: descriptor, commit, or the copy of `home`.
    JournalLog,
    VecSlot,
    /// A block of graph rows.
    VecRows,
    Dir,
    Extent,
}

pub const KINDS: [Kind; 10] = [
    Kind::Super,
    Kind::InodeBitmap,
    Kind::BlockBitmap,
    Kind::InodeTable,
    Kind::JournalSuper,
    Kind::JournalLog,
    Kind::VecSlot,
    Kind::VecRows,
    Kind::Dir,
    Kind::Extent,
];

fn magic_of(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().unwrap())
}

fn catalogue(img: &Img) -> Vec<(u64, Kind)> {
    let sb = img.sb();
    let mut t = vec![(0, Kind::Super)];
    for i in 0..sb.inode_bitmap_blocks.get() {
        t.push((sb.inode_bitmap_start.get() + i, Kind::InodeBitmap));
    }
    for i in 0..sb.block_bitmap_blocks.get() {
        t.push((sb.block_bitmap_start.get() + i, Kind::BlockBitmap));
    }
    for i in 0..sb.inode_table_blocks.get() {
        let blk = sb.inode_table_start.get() + i;
        if img.block(blk).iter().any(|&b| b != 0) {
            t.push((blk, Kind::InodeTable));
        }
    }
    let js = sb.journal_start.get();
    t.push((js, Kind::JournalSuper));
    for p in 1..sb.journal_blocks.get() {
        let m = magic_of(img.block(js + p));
        if m == BLOCK_MAGIC_JDESC || m == BLOCK_MAGIC_JCOMMIT {
            t.push((js + p, Kind::JournalLog));
            // and the copies after a descriptor
            if m == BLOCK_MAGIC_JDESC {
                for q in 1..4 {
                    if p + q < sb.journal_blocks.get() {
                        t.push((js + p + q, Kind::JournalLog));
                    }
                }
            }
        }
    }
    let vs = sb.vector_start.get();
    for i in 0..sb.vec_slot_blocks_inited.get() {
        t.push((vs + i, Kind::VecSlot));
    }
    let area = vs + sb.vec_slot_blocks.get();
    for blk in area..vs + sb.vector_blocks.get() {
        if magic_of(img.block(blk)) == BLOCK_MAGIC_VROWS {
            t.push((blk, Kind::VecRows));
        }
    }
    for blk in sb.data_start.get()..sb.block_count.get() {
        let b = img.block(blk);
        let at_home = u64::from_le_bytes(b[8..16].try_into().unwrap()) == blk;
        match magic_of(b) {
            BLOCK_MAGIC_DIR if at_home => t.push((blk, Kind::Dir)),
            BLOCK_MAGIC_EXTENT if at_home => t.push((blk, Kind::Extent)),
            _ => {}
        }
    }
    t
}

pub fn bases() -> &'static [Base; 2] {
    static B: OnceLock<[Base; 2]> = OnceLock::new();
    B.get_or_init(|| {
        let clean = build_clean();
        let jour = build_journal(&clean);
        let mk = |img: Img| Base {
            targets: catalogue(&img),
            img,
        };
        [mk(clean), mk(jour)]
    })
}

// ---- mutation ----

fn interesting(src: &mut dyn Src, old: u64, sb: &Superblock) -> u64 {
    let bc = sb.block_count.get();
    let ic = sb.inode_count.get();
    let ds = sb.data_start.get();
    let pick = [
        0,
        1,
        2,
        3,
        4,
        7,
        8,
        16,
        0x7f,
        0x80,
        0xff,
        0x100,
        0xfff,
        0x1000,
        0xffff,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        0x1_0000_0000,
        u64::MAX,
        i64::MAX as u64,
        bc.wrapping_sub(1),
        bc,
        bc.wrapping_add(1),
        ic,
        ic.wrapping_add(1),
        ds,
        ds.wrapping_sub(1),
        old.wrapping_add(1),
        old.wrapping_sub(1),
        old ^ (1 << src.below(64)),
        old.wrapping_mul(2),
        src.next(),
        src.below(64),
        src.below(bc),
        src.below(ic.saturating_add(2)),
    ];
    pick[src.below(pick.len() as u64) as usize]
}

fn put_uint(buf: &mut [u8], off: usize, width: usize, v: u64) {
    if off + width <= buf.len() {
        buf[off..off + width].copy_from_slice(&v.to_le_bytes()[..width]);
    }
}

fn get_uint(buf: &[u8], off: usize, width: usize) -> u64 {
    let mut a = [0u8; 8];
    if off + width <= buf.len() {
        a[..width].copy_from_slice(&buf[off..off + width]);
    }
    u64::from_le_bytes(a)
}

fn set_field(src: &mut dyn Src, buf: &mut [u8], off: usize, width: usize, sb: &Superblock) {
    let old = get_uint(buf, off, width);
    let v = interesting(src, old, sb);
    put_uint(buf, off, width, v);
}

macro_rules! fields {
    ($t:ty; $($f:ident: $w:expr),* $(,)?) => {
        &[$((offset_of!($t, $f), $w)),*]
    };
}

const SB_FIELDS: &[(usize, usize)] = fields!(Superblock;
    magic: 8, version_major: 4, version_minor: 4, block_size: 4, state: 2, errors: 2,
    feature_compat: 8, feature_incompat: 8, feature_ro_compat: 8,
    block_count: 8, inode_count: 8, free_blocks: 8, free_inodes: 8, root_ino: 8,
    inode_bitmap_start: 8, inode_bitmap_blocks: 8, block_bitmap_start: 8,
    block_bitmap_blocks: 8, inode_table_start: 8, inode_table_blocks: 8,
    journal_start: 8, journal_blocks: 8, vector_start: 8, vector_blocks: 8, data_start: 8,
    mount_count: 4, vec_dim: 4, vec_metric: 4, hnsw_m: 4, hnsw_ef_construction: 4,
    hnsw_ef_search: 4, vec_slot_size: 4, vec_slots_per_block: 4, vec_pad: 4,
    vec_capacity: 8, vec_count: 8, vec_slot_blocks: 8, vec_tag_next: 8,
    vec_slot_blocks_inited: 8, orphan_head: 8, vec_free_head: 8, vec_dead_head: 8,
    vec_slot_high: 8, vec_entry: 4, vec_top_level: 4,
);

const INODE_FIELDS: &[(usize, usize)] = fields!(DiskInode;
    mode: 2, extent_depth: 2, uid: 4, gid: 4, nlink: 4, size: 8, blocks: 8,
    atime: 8, mtime_nsec: 4, generation: 4, flags: 4, rdev: 4, extent_count: 4, parent: 8,
    vec_slot: 8, fs_tag: 4, next_orphan: 8,
);

const HEADER_FIELDS: &[(usize, usize)] = fields!(BlockHeader;
    magic: 4, blocknr: 8, owner: 8, count: 4, level: 2, pad: 2,
);

/// Mutate a few things in block `blk` of kind `kind`, then (usually) reseal.
pub fn mutate(img: &mut Img, blk: u64, kind: Kind, src: &mut dyn Src) {
    let sb = img.sb();
    let mut buf = img.get(blk);
    let edits = 1 + src.below(3);
    for _ in 0..edits {
        edit(&mut buf[..], blk, kind, &sb, src);
    }
    img.put(blk, &buf);
    if !src.chance(1, 10) {
        reseal(img, blk, kind);
    }
}

fn edit(buf: &mut [u8], _blk: u64, kind: Kind, sb: &Superblock, src: &mut dyn Src) {
    // A fifth of the edits are blind: a bit flip, a byte, or a copied run.
    match src.below(10) {
        0 => {
            let at = src.below(BLOCK_SIZE as u64) as usize;
            buf[at] ^= 1 << src.below(8);
            return;
        }
        1 => {
            let len = 1 + src.below(64) as usize;
            let from = src.below((BLOCK_SIZE - len) as u64) as usize;
            let to = src.below((BLOCK_SIZE - len) as u64) as usize;
            buf.copy_within(from..from + len, to);
            return;
        }
        _ => {}
    }
    let checksummed = !matches!(kind, Kind::Super | Kind::InodeTable);
    if checksummed && src.chance(1, 6) {
        let (off, w) = HEADER_FIELDS[src.below(HEADER_FIELDS.len() as u64) as usize];
        set_field(src, buf, off, w, sb);
        return;
    }
    match kind {
        Kind::Super => {
            let (off, w) = SB_FIELDS[src.below(SB_FIELDS.len() as u64) as usize];
            set_field(src, buf, off, w, sb);
        }
        Kind::InodeTable => {
            // Prefer inodes in use.
            let used: Vec<usize> = (0..INODES_PER_BLOCK as usize)
                .filter(|&k| {
                    buf[k * INODE_SIZE..][..INODE_SIZE - 4]
                        .iter()
                        .any(|&b| b != 0)
                })
                .collect();
            let k = if !used.is_empty() && !src.chance(1, 8) {
                used[src.below(used.len() as u64) as usize]
            } else {
                src.below(INODES_PER_BLOCK) as usize
            };
            let base = k * INODE_SIZE;
            if src.chance(1, 3) {
                // An extent field.
                let e = src.below(INLINE_EXTENTS as u64) as usize;
                let off = base + offset_of!(DiskInode, extents) + e * EXTENT_SIZE;
                let (fo, w) = [(0, 8), (8, 8), (16, 4), (20, 4)][src.below(4) as usize];
                set_field(src, buf, off + fo, w, sb);
            } else {
                let (off, w) = INODE_FIELDS[src.below(INODE_FIELDS.len() as u64) as usize];
                set_field(src, buf, base + off, w, sb);
            }
        }
        Kind::Dir => {
            // Walk the records, pick one.
            let mut recs = Vec::new();
            let mut off = HEADER_SIZE;
            while off + DIRENT_HEAD <= BLOCK_SIZE && recs.len() < 512 {
                recs.push(off);
                let rl = get_uint(buf, off + 8, 2) as usize;
                if rl < DIRENT_HEAD {
                    break;
                }
                off += rl;
            }
            let at = recs[src.below(recs.len() as u64) as usize];
            match src.below(5) {
                0 => set_field(src, buf, at, 8, sb),
                1 => set_field(src, buf, at + 8, 2, sb),
                2 => set_field(src, buf, at + 10, 1, sb),
                3 => set_field(src, buf, at + 11, 1, sb),
                _ => {
                    let nl = (buf[at + 10] as usize).max(1);
                    let i = at + DIRENT_HEAD + src.below(nl as u64) as usize;
                    if i < BLOCK_SIZE {
                        buf[i] = [b'/', 0, b'.', b'x', 0xff][src.below(5) as usize];
                    }
                }
            }
        }
        Kind::Extent => {
            let count = get_uint(buf, 24, 4).min(EXTENTS_PER_BLOCK as u64);
            let e = src.below(count + 1) as usize;
            let off = HEADER_SIZE + e * EXTENT_SIZE;
            let (fo, w) = [(0, 8), (8, 8), (16, 4), (20, 4)][src.below(4) as usize];
            set_field(src, buf, off + fo, w, sb);
        }
        Kind::VecSlot => {
            let size = sb.vec_slot_size.get().max(1) as usize;
            let per = sb.vec_slots_per_block.get().max(1) as u64;
            let j = src.below(per.min(40)) as usize;
            let off = HEADER_SIZE + j * size;
            match src.below(4) {
                0 => set_field(src, buf, off, 8, sb),
                1 => set_field(src, buf, off + 8, 4, sb),
                2 => set_field(src, buf, off + 12, 4, sb),
                _ => {
                    let k = src.below(DIM as u64) as usize;
                    let v = [f32::NAN, f32::INFINITY, -0.0, f32::MAX, 1e-40, 3.5]
                        [src.below(6) as usize];
                    put_uint(buf, off + 16 + 4 * k, 4, u64::from(v.to_bits()));
                }
            }
        }
        Kind::VecRows => {
            // A u32 of a row: its tag, count, or a link.
            let off =
                HEADER_SIZE + 4 * src.below(((BLOCK_SIZE - HEADER_SIZE) / 4) as u64 / 8) as usize;
            let old = get_uint(buf, off, 4);
            let v = match src.below(4) {
                0 => old.wrapping_add(1),
                1 => old.wrapping_sub(1),
                2 => src.below(64),
                _ => interesting(src, old, sb),
            };
            put_uint(buf, off, 4, v);
        }
        Kind::JournalSuper => {
            let off = HEADER_SIZE
                + [
                    offset_of!(JournalSuper, tail_pos),
                    offset_of!(JournalSuper, tail_seq),
                    offset_of!(JournalSuper, fs_tag),
                ][src.below(3) as usize];
            let w = if off == HEADER_SIZE + offset_of!(JournalSuper, fs_tag) {
                4
            } else {
                8
            };
            set_field(src, buf, off, w, sb);
        }
        Kind::JournalLog => match magic_of(buf) {
            BLOCK_MAGIC_JDESC => {
                let count = get_uint(buf, HEADER_SIZE + 12, 4).min(253);
                if src.chance(1, 3) {
                    let (off, w) = [(0, 8), (8, 4), (12, 4)][src.below(3) as usize];
                    set_field(src, buf, HEADER_SIZE + off, w, sb);
                } else {
                    let e = src.below(count + 1) as usize;
                    let off =
                        HEADER_SIZE + size_of::<JournalRecord>() + e * size_of::<JournalEntry>();
                    if src.chance(1, 3) {
                        put_uint(buf, off + 12, 4, u64::from(ENTRY_REVOKE));
                    } else {
                        set_field(src, buf, off, 8, sb);
                    }
                }
            }
            BLOCK_MAGIC_JCOMMIT => {
                let (off, w) = [(0, 8), (8, 4), (12, 4)][src.below(3) as usize];
                set_field(src, buf, HEADER_SIZE + off, w, sb);
            }
            _ => {
                // A copy: mutate it as what it is.
                let m = magic_of(buf);
                if m == BLOCK_MAGIC_DIR {
                    edit(buf, _blk, Kind::Dir, sb, src);
                } else if m == BLOCK_MAGIC_EXTENT {
                    edit(buf, _blk, Kind::Extent, sb, src);
                } else if get_uint(buf, 0, 8) == MAGIC {
                    edit(buf, _blk, Kind::Super, sb, src);
                } else if m == BLOCK_MAGIC_VSLOT {
                    edit(buf, _blk, Kind::VecSlot, sb, src);
                } else if checksummed_magic(m) {
                    let at = HEADER_SIZE + src.below((BLOCK_SIZE - HEADER_SIZE) as u64) as usize;
                    buf[at] ^= 1 << src.below(8);
                } else {
                    edit(buf, _blk, Kind::InodeTable, sb, src);
                }
            }
        },
        Kind::InodeBitmap | Kind::BlockBitmap => {
            // Flip a few bits of the map, near the start (where things are used).
            for _ in 0..1 + src.below(4) {
                let span = if src.chance(1, 2) { 2048 } else { 32512 };
                let bit = src.below(span);
                buf[HEADER_SIZE + (bit / 8) as usize] ^= 1 << (bit % 8);
            }
        }
    }
}

fn checksummed_magic(m: u32) -> bool {
    [
        BLOCK_MAGIC_IBITMAP,
        BLOCK_MAGIC_BBITMAP,
        BLOCK_MAGIC_DIR,
        BLOCK_MAGIC_EXTENT,
        BLOCK_MAGIC_VSLOT,
        BLOCK_MAGIC_VROWS,
        BLOCK_MAGIC_JSUPER,
        BLOCK_MAGIC_JDESC,
        BLOCK_MAGIC_JCOMMIT,
    ]
    .contains(&m)
}

fn seal_inodes(buf: &mut [u8], first_ino: u64) {
    for k in 0..INODES_PER_BLOCK as usize {
        let raw = &mut buf[k * INODE_SIZE..][..INODE_SIZE];
        let mut d = DiskInode::read_from_bytes(raw).unwrap();
        d.seal(first_ino + k as u64);
        raw.copy_from_slice(d.as_bytes());
    }
}

fn seal_super(buf: &mut [u8]) {
    let mut s = Superblock::read_from_prefix(&buf[..]).unwrap().0;
    s.seal();
    buf[..SUPERBLOCK_SIZE].copy_from_slice(s.as_bytes());
}

/// Recompute every checksum the mutation of `blk` invalidated.
pub fn reseal(img: &mut Img, blk: u64, kind: Kind) {
    let sb = img.sb();
    let mut buf = img.get(blk);
    match kind {
        Kind::Super => seal_super(&mut buf[..]),
        Kind::InodeTable => {
            let first = (blk - sb.inode_table_start.get()) * INODES_PER_BLOCK + 1;
            seal_inodes(&mut buf[..], first);
        }
        Kind::JournalLog => {
            img.put(blk, &buf);
            reseal_journal(img);
            return;
        }
        _ => seal_block(&mut buf),
    }
    img.put(blk, &buf);
}

/// Walk the log from the tail as replay does and make every transaction
/// validate again: each copy sealed as what it is, its entry's copy CRC,
/// each descriptor's crc, each commit's crc of the descriptors.
fn reseal_journal(img: &mut Img) {
    let sb = img.sb();
    let start = sb.journal_start.get();
    let len = sb.journal_blocks.get() - 1;
    let js = JournalSuper::read_from_prefix(&img.block(start)[HEADER_SIZE..])
        .unwrap()
        .0;
    let mut pos = js.tail_pos.get() % len.max(1);
    let at = |p: u64| start + 1 + p % len;
    let mut walked = 0;
    'txn: while walked < len {
        let mut descs: Vec<u32> = Vec::new();
        loop {
            if walked >= len {
                break 'txn;
            }
            let blk = at(pos);
            let mut b = img.get(blk);
            match magic_of(&b[..]) {
                BLOCK_MAGIC_JCOMMIT => {
                    let all: Vec<u8> = descs.iter().flat_map(|c| c.to_le_bytes()).collect();
                    put_uint(&mut b[..], HEADER_SIZE + 12, 4, u64::from(crc32c(&[&all])));
                    seal_block(&mut b);
                    img.put(blk, &b);
                    pos += 1;
                    walked += 1;
                    continue 'txn;
                }
                BLOCK_MAGIC_JDESC => {
                    let seq = get_uint(&b[..], HEADER_SIZE, 8);
                    let count = (get_uint(&b[..], HEADER_SIZE + 12, 4) as usize).min(253);
                    pos += 1;
                    walked += 1;
                    for i in 0..count {
                        let off = HEADER_SIZE
                            + size_of::<JournalRecord>()
                            + i * size_of::<JournalEntry>();
                        let home = get_uint(&b[..], off, 8);
                        if get_uint(&b[..], off + 12, 4) & u64::from(ENTRY_REVOKE) != 0 {
                            continue;
                        }
                        if walked >= len {
                            break;
                        }
                        let cblk = at(pos);
                        let mut c = img.get(cblk);
                        seal_copy(&mut c, home, &sb);
                        img.put(cblk, &c);
                        let crc = journal::copy_crc(seq, home, &c[..]);
                        put_uint(&mut b[..], off + 8, 4, u64::from(crc));
                        pos += 1;
                        walked += 1;
                    }
                    seal_block(&mut b);
                    img.put(blk, &b);
                    descs.push(crc32c(&[&b[..]]));
                }
                _ => break 'txn,
            }
        }
    }
}

fn seal_copy(c: &mut [u8; BLOCK_SIZE], home: u64, sb: &Superblock) {
    let its = sb.inode_table_start.get();
    if home == 0 && get_uint(&c[..], 0, 8) == MAGIC {
        seal_super(&mut c[..]);
    } else if home >= its && home < its + sb.inode_table_blocks.get() {
        seal_inodes(&mut c[..], (home - its) * INODES_PER_BLOCK + 1);
    } else if checksummed_magic(magic_of(&c[..])) {
        seal_block(c);
    }
}

// ---- running a case ----

/// The decoders called directly.
fn decoders(img: &Img) {
    let b0 = img.get(0);
    let _ = Superblock::decode(&b0, img.blocks());
    let sb = img.sb();
    let mut dev = img.clone();
    let mut n = 0u64;
    let _ = journal::recover(&mut dev, &sb, &mut |_: &mut Img, _, _| {
        n += 1;
        Ok(())
    });
}

/// Everything a user could do, every result ignored but for panics.
pub fn exercise(fs: &mut Fs<Img>, src: &mut dyn Src) {
    let rw = !fs.read_only();
    let mut files = Vec::new();
    let mut dirs = vec![ROOT];
    let mut i = 0;
    while i < dirs.len() && i < 32 {
        let d = dirs[i];
        i += 1;
        if let Ok(list) = fs.list_dir(d) {
            for (k, e) in list.into_iter().take(64).enumerate() {
                if k % 8 == 0 {
                    let _ = fs.lookup(d, &e.name);
                }
                if e.file_type == DT_DIR {
                    dirs.push(e.ino);
                } else {
                    files.push((d, e.ino, e.name));
                }
            }
        }
        // readdir from odd positions
        let _ = fs.readdir(d, src.below(8192));
    }
    let mut buf = vec![0u8; 3 * BLOCK_SIZE];
    for (_, f, _) in files.iter().take(40) {
        let _ = fs.getattr(*f);
        let _ = fs.read(*f, 0, &mut buf);
        let _ = fs.read(*f, src.below(200_000), &mut buf);
        let _ = fs.vec_get(*f);
    }
    let _ = fs.vec_info();
    let q = [1.0f32, 2.0, 0.5, -1.0];
    let _ = fs.vec_query(&q, ROOT, 5, 0, false);
    let _ = fs.vec_query(&q, ROOT, 3, 16, true);
    if let Some(&d) = dirs.get(1) {
        let _ = fs.vec_query(&q, d, 4, 0, false);
    }
    let _ = fs.statfs();
    if !rw {
        return;
    }
    let n = fs.create(ROOT, b"fz-new", REG, 0, 0, 0);
    if let Ok(n) = n {
        let _ = fs.write(n, 5000, &buf[..10000]);
        let _ = fs.vec_set(n, &q);
        let _ = fs.link(ROOT, b"fz-link", n);
    }
    if let Some((d, f, name)) = files.get(src.below(files.len() as u64) as usize).cloned() {
        let _ = fs.write(f, src.below(100_000), &buf[..777]);
        let _ = fs.truncate(f, src.below(50_000));
        let _ = fs.vec_set(f, &[3.0, 1.0, 4.0, 1.5]);
        let _ = fs.rename(d, &name, ROOT, b"fz-renamed", 0);
    }
    if let Some((_, f, _)) = files.get(src.below(files.len() as u64) as usize).cloned() {
        let _ = fs.vec_delete(f);
        let _ = fs.write(f, 64 * BLOCK_SIZE as u64, &buf[..100]);
    }
    if let Ok(d) = fs.create(ROOT, b"fz-dir", DIR, 0, 0, 0) {
        let _ = fs.create(d, b"inner", REG, 0, 0, 0);
        let _ = fs.unlink(d, b"inner");
        let _ = fs.rmdir(ROOT, b"fz-dir");
    }
    if let Ok(s) = fs.create(ROOT, b"fz-sym", LNK, 0, 0, 0) {
        let _ = fs.write(s, 0, b"docs/v1");
    }
    if let Some(&d) = dirs.get(src.below(dirs.len() as u64) as usize) {
        let _ = fs.create(d, b"fz-in-dir", REG, 0, 0, 0);
        let _ = fs.rename(d, b"fz-in-dir", ROOT, b"fz-new", 0);
    }
    if let Some((d, _, name)) = files.get(src.below(files.len() as u64) as usize).cloned() {
        let _ = fs.unlink(d, &name);
    }
    if let Ok(t) = fs.create(ROOT, b"fz-open", REG, 0, 0, 0) {
        let _ = fs.write(t, 0, &buf[..5000]);
        let _ = fs.iget(t);
        let _ = fs.unlink(ROOT, b"fz-open");
        let _ = fs.evict(t, true);
    }
    for i in 0..8u32 {
        let _ = fs.create(ROOT, format!("fz-many-{}", i).as_bytes(), REG, 0, 0, 0);
    }
    let _ = fs.vec_query(&q, ROOT, 5, 0, false);
    let _ = fs.sync();
    let _ = fs.rmdir(ROOT, b"many");
    let _ = fs.commit();
}

fn fsck(img: &mut Img, mode: Mode) -> Report {
    fsck::check(
        img,
        &Options {
            mode,
            verbose: false,
        },
    )
}

fn show(r: &Report) -> String {
    let mut s = r.lines.join("\n");
    if let Some(f) = &r.fatal {
        s.push_str(&format!("\nfatal: {}", f));
    }
    s
}

/// Mount and operate on `img` (read-write and read-only), then check and
/// repair it: -n writes nothing, and after one -y that left nothing
/// uncorrected a -n is clean. Err describes a broken invariant (a panic
/// propagates).
pub fn run_image(img: &Img, src: &mut dyn Src) -> Result<(), String> {
    decoders(img);
    if let Ok(mut fs) = Fs::mount(img.clone(), false) {
        exercise(&mut fs, src);
        let _ = fs.unmount();
    }
    if let Ok(mut fs) = Fs::mount(img.clone(), true) {
        exercise(&mut fs, src);
        let _ = fs.unmount();
    }
    let mut dev = img.clone();
    let n1 = fsck(&mut dev, Mode::No);
    if dev != *img {
        return Err(format!("fsck -n wrote to the device:\n{}", show(&n1)));
    }
    if n1.exit_code() == 0 && strict() {
        // What fsck calls clean the core must take as it is.
        let mut fs = Fs::mount(img.clone(), false)
            .map_err(|e| format!("fsck -n calls it clean, the mount fails: {:?}", e))?;
        if fs.has_errors() {
            return Err("fsck -n calls it clean, the mount found corruption".into());
        }
        exercise(&mut fs, src);
        let errored = fs.has_errors();
        let (mut after, _) = fs.unmount();
        let n = fsck(&mut after, Mode::No);
        if errored || n.exit_code() != 0 {
            return Err(format!(
                "fsck -n called it clean; after mount and operations (errors seen: {}) -n exits {}:\n{}",
                errored,
                n.exit_code(),
                show(&n)
            ));
        }
    }
    let y = fsck(&mut dev, Mode::Yes);
    let code = y.exit_code();
    if std::env::var_os("FUZZ_STATS").is_some() {
        eprintln!(
            "stats: -n {} -y {} {}",
            n1.exit_code(),
            code,
            y.findings
                .iter()
                .find(|f| f.severity == vexfs_core::fsck::Severity::Error)
                .map(|f| f.code)
                .unwrap_or("")
        );
    }
    if code & 8 != 0 || code & 4 != 0 {
        return Ok(());
    }
    let n2 = fsck(&mut dev, Mode::No);
    if n2.exit_code() != 0 {
        return Err(format!(
            "-y exited {} but the next -n exits {}:\n--- -y:\n{}\n--- -n:\n{}",
            code,
            n2.exit_code(),
            show(&y),
            show(&n2)
        ));
    }
    // A filesystem fsck calls clean mounts, and operating on it keeps it clean.
    match Fs::mount(dev.clone(), false) {
        Ok(mut fs) => {
            exercise(&mut fs, src);
            let (mut after, r) = fs.unmount();
            if r.is_ok() {
                let n3 = fsck(&mut after, Mode::No);
                if n3.exit_code() != 0 && strict() {
                    return Err(format!(
                        "clean after -y, but not after mount and operations:\n{}",
                        show(&n3)
                    ));
                }
            }
        }
        Err(e) => {
            if strict() {
                return Err(format!("clean after -y, but the mount fails: {:?}", e));
            }
        }
    }
    Ok(())
}

/// Strict (the default): an image fsck calls clean must also mount and
/// stay clean through operations. FUZZ_LAX=1 checks only convergence.
fn strict() -> bool {
    std::env::var_os("FUZZ_LAX").is_none()
}

/// One case: base image, target block and mutations all drawn from `src`.
pub fn run_case(src: &mut dyn Src, kind: Option<Kind>) -> Result<(), String> {
    let bases = bases();
    let base = &bases[src.below(2) as usize];
    let kind = kind.unwrap_or(KINDS[src.below(KINDS.len() as u64) as usize]);
    let mut img = base.img.clone();
    let targets: Vec<u64> = base
        .targets
        .iter()
        .filter(|t| t.1 == kind)
        .map(|t| t.0)
        .collect();
    if targets.is_empty() {
        return Ok(());
    }
    let rounds = 1 + src.below(2);
    for _ in 0..rounds {
        let blk = targets[src.below(targets.len() as u64) as usize];
        mutate(&mut img, blk, kind, src);
    }
    run_image(&img, src)
}
