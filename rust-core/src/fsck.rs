//! fsck.vexfs: check and repair a VexFS filesystem, as e2fsck does for ext4.
//!
//! The checker reads the device directly from the on-disk format
//! (`format.rs`), not through [`crate::Fs`] and its caches, so it can
//! analyse images the core would refuse to mount. Every value read from the
//! device is bounds-checked and every loop is bounded by the geometry, so no
//! input can make it panic or spin.
//!
//! Passes (the first five as e2fsck's):
//! 1. inodes, their extent maps and block counts (1B: blocks claimed twice);
//! 2. directory blocks and entries, directory indexes;
//! 3. directory connectivity and `..` (the `parent` field);
//! 4. link counts and inodes in no directory;
//! 5. block and inode bitmaps, free counts;
//! 6. vector slots, `vec_slot` fields, `vec_count`, the free and dead slot
//!    lists, the graph rows of the slots in use and the entry point (cost
//!    proportional to the slots used). Bad rows are repaired by linking the
//!    node again through the core (a mount after the other repairs).
//!
//! Repairs write whole blocks with correct checksums. In [`Mode::Check`] and
//! [`Mode::No`] nothing is ever written. A damaged directory index is the
//! one repair done through the core: the checker clears the index flag
//! (every name stays readable in the leaves), and at the end the core,
//! mounted on the repaired device, rebuilds the index from the leaves.

// Host tools: an allocation failure aborts the tool, not a kernel.
#![allow(clippy::disallowed_methods)]

use crate::dev::{BlockBuf, Device};
use crate::format::*;
use crate::fs::{LINK_MAX, MAX_FILE_SIZE};
use crate::journal;
use crate::vector::hnsw::level_of;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use zerocopy::little_endian::{I64, U16, U32, U64};
use zerocopy::{FromBytes, FromZeros, IntoBytes};

/// Exit codes, as e2fsck's (they are OR-ed together).
pub const EXIT_OK: i32 = 0;
pub const EXIT_CORRECTED: i32 = 1;
pub const EXIT_UNCORRECTED: i32 = 4;
pub const EXIT_OPERATIONAL: i32 = 8;
pub const EXIT_USAGE: i32 = 16;

/// How problems are answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No mode given: report like `-n`, and say that `-y` repairs.
    Check,
    /// `-n`: read-only, answer no to everything.
    No,
    /// `-y`: fix everything that can be fixed.
    Yes,
    /// `-p`: fix what is safe (counts, bitmaps, orphans, checksums of intact
    /// structures, links, vector bookkeeping); report what would lose data.
    Preen,
}

#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub mode: Mode,
    pub verbose: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// An inconsistency: the filesystem is not clean until it is fixed.
    Error,
    /// Advisory (a stale or damaged stored vector graph, rebuilt at mount).
    Info,
}

/// One problem found.
#[derive(Clone, Debug)]
pub struct Finding {
    /// Short class name (`link_count`, `block_bitmap`, ...), for tests and scripts.
    pub code: &'static str,
    pub msg: String,
    pub severity: Severity,
    pub fixed: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub inodes_used: u64,
    pub inodes_total: u64,
    pub blocks_used: u64,
    pub blocks_total: u64,
    pub regular: u64,
    pub directories: u64,
    pub symlinks: u64,
    pub special: u64,
    pub vectors: u64,
    pub hard_links: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Everything to print, in order: pass headers and findings.
    pub lines: Vec<String>,
    pub findings: Vec<Finding>,
    /// Why the check could not run (exit 8).
    pub fatal: Option<String>,
    /// Something was written to the device.
    pub modified: bool,
    pub stats: Stats,
    pub label: String,
}

impl Report {
    /// Errors not repaired.
    pub fn uncorrected(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error && !f.fixed)
            .count()
    }
    pub fn corrected(&self) -> usize {
        self.findings.iter().filter(|f| f.fixed).count()
    }
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }
    /// Whether a finding of class `code` was reported.
    pub fn has(&self, code: &str) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }
    pub fn exit_code(&self) -> i32 {
        if self.fatal.is_some() {
            return EXIT_OPERATIONAL;
        }
        let mut c = EXIT_OK;
        if self.modified {
            c |= EXIT_CORRECTED;
        }
        if self.uncorrected() > 0 {
            c |= EXIT_UNCORRECTED;
        }
        c
    }
}

#[derive(Clone, Copy, Debug)]
struct Ext {
    logical: u64,
    start: u64,
    len: u64,
    /// Unwritten (preallocated): reads as zeros.
    unwritten: bool,
}

struct Node {
    d: DiskInode,
    extents: Vec<Ext>,
    tree: Vec<u64>,
    /// Entries naming it (non-directories) found by the walk.
    links: u32,
    /// Subdirectories found by the walk (directories).
    subdirs: u32,
    reached: bool,
    /// Directory the walk found it in (0: not connected).
    found_in: u64,
    /// A non-directory's `parent` hint names a directory the walk found
    /// it in (query results are shown by the permissions along it).
    hint_seen: bool,
    /// Damaged beyond use and not cleared (answer was no).
    bad: bool,
}

impl Node {
    fn kind(&self) -> u32 {
        u32::from(self.d.mode.get()) & S_IFMT
    }
    fn is_dir(&self) -> bool {
        self.kind() == S_IFDIR
    }
    fn map(&self, lb: u64) -> Option<u64> {
        self.extents.iter().find_map(|e| {
            if lb >= e.logical && lb - e.logical < e.len {
                e.start.checked_add(lb - e.logical)
            } else {
                None
            }
        })
    }
}

#[derive(Clone, Debug)]
struct Entry {
    blk: u64,
    off: usize,
    /// Byte offset in the directory (file block * 4096 + `off`).
    pos: u64,
    ino: u64,
    ft: u8,
    name: Vec<u8>,
}

enum BlockCheck {
    Ok(BlockHeader),
    /// Magic, location and owner right, checksum wrong.
    BadSum(BlockHeader),
    Bad(&'static str),
}

fn check_block(buf: &[u8; BLOCK_SIZE], magic: u32, blk: u64, owner: Option<u64>) -> BlockCheck {
    match verify_block(buf, magic, blk, owner) {
        Ok(h) => BlockCheck::Ok(h),
        Err("block checksum mismatch") => match BlockHeader::read_from_prefix(buf.as_slice()) {
            Ok((h, _)) => BlockCheck::BadSum(h),
            Err(_) => BlockCheck::Bad("short block"),
        },
        Err(why) => BlockCheck::Bad(why),
    }
}

fn get_bit(bits: &[u8], n: u64) -> bool {
    usize::try_from(n / 8)
        .ok()
        .and_then(|i| bits.get(i))
        .is_some_and(|b| b & (1 << (n % 8)) != 0)
}

fn set_bit(bits: &mut [u8], n: u64, on: bool) {
    if let Some(b) = usize::try_from(n / 8).ok().and_then(|i| bits.get_mut(i)) {
        if on {
            *b |= 1 << (n % 8);
        } else {
            *b &= !(1 << (n % 8));
        }
    }
}

fn le_u64(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    if let Some(s) = off.checked_add(8).and_then(|e| b.get(off..e)) {
        a.copy_from_slice(s);
    }
    u64::from_le_bytes(a)
}

fn le_u32(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = off.checked_add(4).and_then(|e| b.get(off..e)) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}

fn name_ok(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= NAME_MAX
        && name != b"."
        && name != b".."
        && !name.iter().any(|&c| c == b'/' || c == 0)
}

fn show_name(name: &[u8]) -> String {
    let mut s = String::new();
    for &c in name.iter().take(NAME_MAX) {
        if (0x20..0x7f).contains(&c) {
            s.push(char::from(c));
        } else {
            s.push_str(&format!("\\x{:02x}", c));
        }
    }
    s
}

/// Compress a sorted list of numbers into "a-b c" ranges, as e2fsck prints
/// bitmap differences.
fn ranges(sign: char, v: &[u64]) -> String {
    let mut out = String::new();
    let mut shown = 0;
    let mut i = 0;
    while i < v.len() {
        let Some(&first) = v.get(i) else { break };
        let mut last = first;
        let mut j = i + 1;
        while let Some(&n) = v.get(j) {
            if n != last.saturating_add(1) {
                break;
            }
            last = n;
            j += 1;
        }
        if shown == 12 {
            out.push_str(" ...");
            break;
        }
        if first == last {
            out.push_str(&format!(" {}{}", sign, first));
        } else {
            out.push_str(&format!(" {}({}--{})", sign, first, last));
        }
        shown += 1;
        i = j;
    }
    out
}

/// Check (and with `Mode::Yes`/`Mode::Preen` repair) the filesystem on `dev`.
pub fn check<D: Device>(dev: &mut D, opts: &Options) -> Report {
    let mut ck = Checker {
        dev,
        mode: opts.mode,
        verbose: opts.verbose,
        sb: Superblock::new_zeroed(),
        sb_dirty: false,
        rep: Report::default(),
        nodes: BTreeMap::new(),
        dirs: BTreeMap::new(),
        used: Vec::new(),
        home: BTreeMap::new(),
        lost_found: None,
        own_blocks: BTreeSet::new(),
        own_inodes: BTreeSet::new(),
        overlay: BTreeMap::new(),
        orphan_list: BTreeSet::new(),
        orphan_chain: Vec::new(),
        freed: BTreeSet::new(),
        freed_slots: 0,
        reparented: BTreeSet::new(),
        reindex: Vec::new(),
        slot_heads: BTreeMap::new(),
        own_free_slots: BTreeSet::new(),
        relink: Vec::new(),
    };
    ck.run();
    let reindex = core::mem::take(&mut ck.reindex);
    let mut rep = ck.rep;
    if !reindex.is_empty() && rep.fatal.is_none() {
        rebuild_indexes(dev, &reindex, &mut rep);
    }
    rep
}

/// fsck's last step: rebuild the directory indexes it cleared, with the
/// core (mounted on the repaired device), from the names in the leaves.
/// A directory left without its index still works (scanned linearly) and
/// is indexed again at its next insert.
fn rebuild_indexes<D: Device>(dev: &mut D, dirs: &[u64], rep: &mut Report) {
    let mut fs = match crate::Fs::mount(&mut *dev, false) {
        Ok(fs) => fs,
        Err(e) => {
            rep.lines.push(format!(
                "could not mount to rebuild directory indexes ({}): the directories stay unindexed",
                e
            ));
            return;
        }
    };
    for &d in dirs {
        match fs.dir_reindex(d) {
            Ok(()) => rep.lines.push(format!("directory {}: index rebuilt", d)),
            Err(e) => rep.lines.push(format!(
                "directory {}: index not rebuilt ({}): it stays unindexed",
                d, e
            )),
        }
    }
    let (_, r) = fs.unmount();
    if let Err(e) = r {
        rep.lines
            .push(format!("unmount after rebuilding indexes: {}", e));
    }
}

struct Checker<'a, D: Device> {
    dev: &'a mut D,
    mode: Mode,
    verbose: bool,
    sb: Superblock,
    sb_dirty: bool,
    rep: Report,
    /// Inodes in use, with what the passes learned.
    nodes: BTreeMap<u64, Node>,
    /// Live, valid entries of each directory.
    dirs: BTreeMap<u64, Vec<Entry>>,
    /// Blocks in use as the checker sees them (the expected block bitmap).
    used: Vec<u8>,
    /// Directory whose entry is a directory's real link (its `parent`, when
    /// that directory names it).
    home: BTreeMap<u64, u64>,
    lost_found: Option<u64>,
    /// Bitmap bits this run changed itself (allocations for /lost+found,
    /// freed orphans): rewritten in pass 5 without being reported.
    own_blocks: BTreeSet<u64>,
    own_inodes: BTreeSet<u64>,
    /// `-n` on a filesystem whose journal needs recovery: the blocks the
    /// replay would write, so the check sees what the next mount will.
    overlay: BTreeMap<u64, BlockBuf>,
    /// Inodes on the superblock's orphan list (freed by the next mount).
    orphan_list: BTreeSet<u64>,
    /// The same, in list order (the head first).
    orphan_chain: Vec<u64>,
    /// Inodes this run freed (orphans, a replaced root): their vector
    /// slots are freed in pass 6 as part of the same repair.
    freed: BTreeSet<u64>,
    /// Slots pass 6 freed for them (the superblock's count included them).
    freed_slots: u64,
    /// Inodes whose `parent` this run changed: their `parent_pos` is set
    /// to match without being reported.
    reparented: BTreeSet<u64>,
    /// Directories whose index was cleared, to rebuild at the end.
    reindex: Vec<u64>,
    /// Pass 6: (owner, generation or list link, tag) of each slot of a
    /// written slot block, as left after its repairs.
    slot_heads: BTreeMap<u64, (u64, u32, u32)>,
    /// Slots this run freed with their inodes (put on a list unreported).
    own_free_slots: BTreeSet<u64>,
    /// Slots whose graph rows are to be linked again by the core.
    relink: Vec<u32>,
}

impl<D: Device> Checker<'_, D> {
    fn writable(&self) -> bool {
        matches!(self.mode, Mode::Yes | Mode::Preen)
    }

    /// Whether to repair a problem; `safe` repairs lose no data.
    fn decide(&self, safe: bool) -> bool {
        match self.mode {
            Mode::Yes => true,
            Mode::Preen => safe,
            Mode::No | Mode::Check => false,
        }
    }

    fn line(&mut self, s: String) {
        self.rep.lines.push(s);
    }

    fn finding(&mut self, code: &'static str, msg: String, severity: Severity, fixed: bool) {
        let suffix = if fixed {
            "fixed"
        } else if self.mode == Mode::Preen && severity == Severity::Error {
            "NOT fixed (run fsck.vexfs -y)"
        } else if severity == Severity::Info && !self.writable() {
            "left as is"
        } else {
            "not fixed"
        };
        self.rep.lines.push(format!("{}: {}.", msg, suffix));
        self.rep.findings.push(Finding {
            code,
            msg,
            severity,
            fixed,
        });
    }

    fn problem(&mut self, code: &'static str, msg: String, fixed: bool) {
        self.finding(code, msg, Severity::Error, fixed);
    }

    fn read(&mut self, blk: u64) -> Option<BlockBuf> {
        let mut buf = fsck_block();
        if blk >= self.dev.block_count() {
            return None;
        }
        if let Some(b) = self.overlay.get(&blk) {
            buf.copy_from_slice(b.as_slice());
            return Some(buf);
        }
        match self.dev.read_block(blk, &mut buf) {
            Ok(()) => Some(buf),
            Err(e) => {
                self.problem("io", format!("read error {} on block {}", e, blk), false);
                None
            }
        }
    }

    fn write(&mut self, blk: u64, buf: &[u8; BLOCK_SIZE]) -> bool {
        if !self.writable() {
            return false;
        }
        match self.dev.write_block(blk, buf) {
            Ok(()) => {
                self.rep.modified = true;
                true
            }
            Err(e) => {
                self.problem("io", format!("write error {} on block {}", e, blk), false);
                false
            }
        }
    }

    fn seal_write(&mut self, blk: u64, buf: &mut [u8; BLOCK_SIZE]) -> bool {
        seal_block(buf);
        self.write(blk, buf)
    }

    fn write_disk_inode(&mut self, ino: u64, d: &DiskInode) -> bool {
        let Ok((blk, off)) = inode_location(&self.sb, ino) else {
            return false;
        };
        let Some(mut buf) = self.read(blk) else {
            return false;
        };
        let mut d = d.clone();
        d.seal(ino);
        match off
            .checked_add(INODE_SIZE)
            .and_then(|e| buf.get_mut(off..e))
        {
            Some(dst) => dst.copy_from_slice(d.as_bytes()),
            None => return false,
        }
        self.write(blk, &buf)
    }

    fn write_node(&mut self, ino: u64) -> bool {
        let Some(d) = self.nodes.get(&ino).map(|n| n.d.clone()) else {
            return false;
        };
        self.write_disk_inode(ino, &d)
    }

    fn run(&mut self) {
        if !self.pass0() {
            return;
        }
        // The mount refuses a superblock whose free counts exceed the
        // totals before it replays the journal (pass 5 recounts them).
        let counts_bad = self.sb.free_blocks.get() > self.sb.block_count.get()
            || self.sb.free_inodes.get() > self.sb.inode_count.get();
        // After a replay (or with the replay overlaid) the superblock may differ.
        if self.journal() {
            if !self.pass0() {
                return;
            }
            let still = self.sb.free_blocks.get() > self.sb.block_count.get()
                || self.sb.free_inodes.get() > self.sb.inode_count.get();
            if counts_bad && !still && !self.writable() {
                // The replay would fix them, but the mount never gets there.
                self.problem(
                    "free_counts",
                    "superblock free counts exceed the totals (the mount refuses it before replaying the journal)".into(),
                    false,
                );
            }
        }
        self.pass1();
        self.load_orphan_list();
        self.pass2();
        self.pass3();
        self.pass4();
        self.settle_orphan_list();
        self.pass5();
        self.pass6();
        self.finish();
        self.relink_rows();
    }

    // ---- superblock ----

    fn pass0(&mut self) -> bool {
        let dev_blocks = self.dev.block_count();
        let buf = if dev_blocks == 0 { None } else { self.read(0) };
        let Some(buf) = buf else {
            self.rep.fatal = Some("cannot read the superblock".into());
            return false;
        };
        let Ok((sb, _)) = Superblock::read_from_prefix(buf.as_slice()) else {
            self.rep.fatal = Some("short superblock".into());
            return false;
        };
        if sb.magic.get() != MAGIC {
            self.rep.fatal = Some(
                "bad magic number in superblock: not a vexfs filesystem (or the superblock is corrupt)"
                    .into(),
            );
            return false;
        }
        if sb.version_major.get() != VERSION_MAJOR || sb.block_size.get() as usize != BLOCK_SIZE {
            self.rep.fatal = Some(format!(
                "unsupported format version {}.{} or block size {}",
                sb.version_major.get(),
                sb.version_minor.get(),
                sb.block_size.get()
            ));
            return false;
        }
        // Vector parameters out of range: refused by the mount, and not
        // something fsck can guess (mkfs.vexfs chose them).
        if let Some(why) = vec_param_problem(&sb) {
            self.rep.fatal = Some(format!(
                "superblock is corrupt: {}; the vector space parameters are unusable and cannot be repaired",
                why
            ));
            return false;
        }
        // The free counts are recomputed: do not let them fail the layout check.
        let mut probe = sb.clone();
        probe.free_blocks = U64::new(0);
        probe.free_inodes = U64::new(0);
        if let Err(why) = probe.check_layout(dev_blocks) {
            self.rep.fatal = Some(format!("superblock is corrupt: {}", why));
            return false;
        }
        let unknown = (sb.feature_incompat.get() & !FEATURE_INCOMPAT_SUPP)
            | (sb.feature_ro_compat.get() & !FEATURE_RO_COMPAT_SUPP);
        if unknown != 0 {
            self.rep.fatal = Some(format!(
                "filesystem has unsupported features {:#x}: this fsck.vexfs cannot check it",
                unknown
            ));
            return false;
        }
        self.sb = sb;
        self.rep.label = String::from(self.sb.label_str());
        if self.sb.checksum.get() != self.sb.compute_checksum() {
            let fix = self.decide(true);
            self.sb_dirty |= fix;
            self.problem(
                "sb_checksum",
                "superblock checksum mismatch (layout is valid): rewriting it".into(),
                fix,
            );
        }
        if self.sb.state.get() & STATE_ERRORS != 0 {
            self.line("filesystem has errors recorded: checking".into());
        }
        if self.sb.vec_dim.get() == 0 {
            // No vector space: mkfs leaves every vector parameter zero.
            let s = &self.sb;
            let stray = [
                ("vec_metric", s.vec_metric.get()),
                ("hnsw_m", s.hnsw_m.get()),
                ("hnsw_ef_construction", s.hnsw_ef_construction.get()),
                ("hnsw_ef_search", s.hnsw_ef_search.get()),
                ("vec_slot_size", s.vec_slot_size.get()),
                ("vec_slots_per_block", s.vec_slots_per_block.get()),
            ]
            .into_iter()
            .find(|&(_, v)| v != 0);
            let stray = stray.or_else(|| {
                [
                    ("vec_slot_blocks", s.vec_slot_blocks.get()),
                    ("vec_slot_blocks_inited", s.vec_slot_blocks_inited.get()),
                ]
                .into_iter()
                .find(|&(_, v)| v != 0)
                .map(|(n, v)| (n, u32::try_from(v).unwrap_or(u32::MAX)))
            });
            if let Some((name, v)) = stray {
                let fix = self.decide(true);
                if fix {
                    let s = &mut self.sb;
                    for f in [
                        &mut s.vec_metric,
                        &mut s.hnsw_m,
                        &mut s.hnsw_ef_construction,
                        &mut s.hnsw_ef_search,
                        &mut s.vec_slot_size,
                        &mut s.vec_slots_per_block,
                    ] {
                        *f = U32::new(0);
                    }
                    s.vec_slot_blocks = U64::new(0);
                    s.vec_slot_blocks_inited = U64::new(0);
                    self.sb_dirty = true;
                }
                self.problem(
                    "sb_vec_params",
                    format!(
                        "superblock has no vector space but {} is {}: clearing the vector parameters",
                        name, v
                    ),
                    fix,
                );
            }
        }
        if self.sb.root_ino.get() != ROOT_INO {
            self.rep.fatal = Some(format!(
                "root inode number is {}, expected {}",
                self.sb.root_ino.get(),
                ROOT_INO
            ));
            return false;
        }
        let bc = self.sb.block_count.get();
        let Ok(bytes) = usize::try_from(bc.div_ceil(8)) else {
            self.rep.fatal = Some("filesystem too large for this host".into());
            return false;
        };
        let mut used = Vec::new();
        if used.try_reserve_exact(bytes).is_err() {
            self.rep.fatal = Some("out of memory for the block map".into());
            return false;
        }
        used.resize(bytes, 0u8);
        self.used = used;
        true
    }

    // ---- pass 1: inodes ----

    fn read_inode_bitmap(&mut self) -> (Vec<u8>, Vec<bool>) {
        let nblk = self.sb.inode_bitmap_blocks.get();
        let mut bits = Vec::new();
        let mut bad = Vec::new();
        for i in 0..nblk {
            let blk = self.sb.inode_bitmap_start.get() + i;
            let mut ok = false;
            let mut chunk: Vec<u8> = alloc::vec![0u8; BLOCK_SIZE - HEADER_SIZE];
            if let Some(buf) = self.read(blk) {
                match check_block(&buf, BLOCK_MAGIC_IBITMAP, blk, Some(0)) {
                    BlockCheck::Ok(_) => ok = true,
                    BlockCheck::BadSum(_) | BlockCheck::Bad(_) => {
                        let why = match check_block(&buf, BLOCK_MAGIC_IBITMAP, blk, Some(0)) {
                            BlockCheck::Bad(w) => w,
                            _ => "block checksum mismatch",
                        };
                        // Rewritten from the inodes in pass 5.
                        let fix = self.decide(true);
                        self.problem(
                            "inode_bitmap_block",
                            format!(
                                "inode bitmap block {}: {}: rebuilding it from the inode table",
                                blk, why
                            ),
                            fix,
                        );
                    }
                }
                if let Some(b) = buf.get(HEADER_SIZE..) {
                    chunk.copy_from_slice(b);
                }
            }
            bits.extend_from_slice(&chunk);
            bad.push(!ok);
        }
        (bits, bad)
    }

    fn pass1(&mut self) {
        self.line("Pass 1: Checking inodes, blocks, and sizes".into());
        let ic = self.sb.inode_count.get();
        let (ibits, ibad) = self.read_inode_bitmap();
        for tb in 0..self.sb.inode_table_blocks.get() {
            let blk = self.sb.inode_table_start.get() + tb;
            let Some(buf) = self.read(blk) else { continue };
            for k in 0..INODES_PER_BLOCK {
                let ino = tb * INODES_PER_BLOCK + k + 1;
                if ino > ic {
                    break;
                }
                let off = k as usize * INODE_SIZE;
                let Some(raw) = buf.get(off..off + INODE_SIZE) else {
                    break;
                };
                if raw
                    .get(..INODE_SIZE - 4)
                    .is_some_and(|b| b.iter().all(|&x| x == 0))
                {
                    continue; // free
                }
                let Ok(d) = DiskInode::read_from_bytes(raw) else {
                    continue;
                };
                let csum_ok = d.checksum.get() == d.compute_checksum(ino);
                let bmblk = (ino - 1) / BITS_PER_BITMAP_BLOCK;
                let bit_known = !ibad
                    .get(usize::try_from(bmblk).unwrap_or(usize::MAX))
                    .copied()
                    .unwrap_or(true);
                let bit = get_bit(&ibits, ino - 1);
                let mode = u32::from(d.mode.get());
                if !bit_known || !bit {
                    // Not marked in use (or the bitmap is unreadable): only a
                    // sound inode of this filesystem counts; anything else is
                    // leftover garbage (mkfs does not clear the inode table).
                    let ours = d.fs_tag.get() == self.sb.fs_tag();
                    if !(csum_ok && ours && valid_file_type(mode)) {
                        if bit_known {
                            continue;
                        }
                    } else if bit_known && self.verbose {
                        self.line(format!("inode {} is in use but free in the bitmap", ino));
                    }
                }
                self.check_inode(ino, d, csum_ok);
            }
        }
        self.pass1b();
        // The block map as the checker sees it: metadata plus every extent.
        let ds = self.sb.data_start.get();
        for b in 0..ds {
            set_bit(&mut self.used, b, true);
        }
        let mut claims: Vec<(u64, u64)> = Vec::new();
        for n in self.nodes.values() {
            for e in &n.extents {
                claims.push((e.start, e.len));
            }
            for &t in &n.tree {
                claims.push((t, 1));
            }
        }
        for (s, l) in claims {
            for b in s..s.saturating_add(l) {
                set_bit(&mut self.used, b, true);
            }
        }
    }

    /// Clear an inode on disk and forget it (its entries go in pass 2).
    fn clear_inode(&mut self, ino: u64) -> bool {
        let d = DiskInode::new_zeroed();
        let ok = self.write_disk_inode(ino, &d);
        if ok {
            if let Some(n) = self.nodes.remove(&ino) {
                let mut blocks: Vec<u64> = n.tree.clone();
                for e in &n.extents {
                    blocks.extend(e.start..e.start.saturating_add(e.len));
                }
                for b in blocks {
                    if get_bit(&self.used, b) {
                        set_bit(&mut self.used, b, false);
                        self.own_blocks.insert(b);
                        self.sb.free_blocks = U64::new(self.sb.free_blocks.get().saturating_add(1));
                    }
                }
                self.own_inodes.insert(ino - 1);
                self.freed.insert(ino);
                self.sb.free_inodes = U64::new(self.sb.free_inodes.get().saturating_add(1));
                self.sb_dirty = true;
            }
            self.dirs.remove(&ino);
        }
        ok
    }

    fn check_inode(&mut self, ino: u64, mut d: DiskInode, csum_ok: bool) {
        let mode = u32::from(d.mode.get());
        let bad_node = |d: DiskInode| Node {
            d,
            extents: Vec::new(),
            tree: Vec::new(),
            links: 0,
            subdirs: 0,
            reached: false,
            found_in: 0,
            hint_seen: false,
            bad: true,
        };
        if !valid_file_type(mode) {
            let fix = self.decide(false);
            let done = fix && self.write_disk_inode(ino, &DiskInode::new_zeroed());
            self.problem(
                "inode_mode",
                format!(
                    "inode {} has invalid mode {:o}{}: clearing it",
                    ino,
                    mode,
                    if csum_ok { "" } else { " and a bad checksum" }
                ),
                done,
            );
            if !done {
                self.nodes.insert(ino, bad_node(d));
            }
            return;
        }
        let (extents, tree) = match self.walk_extents(ino, &d) {
            Ok(x) => x,
            Err(why) => {
                let fix = self.decide(false);
                let done = fix && self.write_disk_inode(ino, &DiskInode::new_zeroed());
                self.problem(
                    "extents",
                    format!("inode {}: {}: clearing the inode", ino, why),
                    done,
                );
                if !done {
                    self.nodes.insert(ino, bad_node(d));
                }
                return;
            }
        };
        let mut dirty = false;
        if !csum_ok {
            let fix = self.decide(true);
            dirty |= fix;
            self.problem(
                "inode_checksum",
                format!(
                    "inode {} checksum mismatch (contents look valid): resealing it",
                    ino
                ),
                fix,
            );
        }
        let data: u64 = extents.iter().map(|e| e.len).fold(0, u64::saturating_add);
        let total = data.saturating_add(tree.len() as u64);
        if d.blocks.get() != total {
            let fix = self.decide(true);
            self.problem(
                "blocks_count",
                format!(
                    "inode {}: block count is {}, extents hold {}",
                    ino,
                    d.blocks.get(),
                    total
                ),
                fix,
            );
            if fix {
                d.blocks = U64::new(total);
                dirty = true;
            }
        }
        let unknown = d.flags.get() & !INODE_FL_KNOWN;
        if unknown != 0 {
            let fix = self.decide(true);
            self.problem(
                "inode_flags",
                format!("inode {}: unknown flags {:#x}: clearing them", ino, unknown),
                fix,
            );
            if fix {
                d.flags = U32::new(d.flags.get() & INODE_FL_KNOWN);
                dirty = true;
            }
        }
        let is_dir = mode & S_IFMT == S_IFDIR;
        let size = d.size.get();
        let mapped_end = extents
            .iter()
            .map(|e| e.logical.saturating_add(e.len))
            .max()
            .unwrap_or(0);
        if size > MAX_FILE_SIZE || (is_dir && !size.is_multiple_of(BLOCK_SIZE as u64)) {
            let new = if is_dir {
                mapped_end.min(size / BLOCK_SIZE as u64) * BLOCK_SIZE as u64
            } else {
                mapped_end
                    .saturating_mul(BLOCK_SIZE as u64)
                    .min(MAX_FILE_SIZE)
            };
            let fix = self.decide(false);
            self.problem(
                "size",
                format!("inode {}: size {} is invalid, should be {}", ino, size, new),
                fix,
            );
            if fix {
                d.size = U64::new(new);
                dirty = true;
            }
        }
        let node = Node {
            d,
            extents,
            tree,
            links: 0,
            subdirs: 0,
            reached: false,
            found_in: 0,
            hint_seen: false,
            bad: false,
        };
        self.nodes.insert(ino, node);
        if dirty {
            self.write_node(ino);
        }
    }

    fn walk_extents(&mut self, ino: u64, d: &DiskInode) -> Result<(Vec<Ext>, Vec<u64>), String> {
        let depth = d.extent_depth.get();
        let count = d.extent_count.get() as usize;
        if depth > 2 || count > INLINE_EXTENTS {
            return Err(format!(
                "bad extent header (depth {}, count {})",
                depth, count
            ));
        }
        let mut out = Vec::new();
        let mut tree = Vec::new();
        let roots: Vec<DiskExtent> = d.extents.get(..count).unwrap_or(&[]).to_vec();
        for (i, e) in roots.iter().enumerate() {
            if !e.flags_ok(depth == 0) {
                return Err(format!(
                    "inline extent {} has unknown flags {:#x}",
                    i,
                    e.flags.get()
                ));
            }
            if !e.in_bounds(&self.sb, depth == 0) {
                return Err(format!(
                    "inline extent {} (start {}, length {}) is out of bounds",
                    i,
                    e.start.get(),
                    e.len.get()
                ));
            }
            if depth == 0 {
                out.push(Ext {
                    logical: e.logical.get(),
                    start: e.start.get(),
                    len: u64::from(e.len.get()),
                    unwritten: e.unwritten(),
                });
            } else {
                self.walk_block(ino, e.start.get(), depth - 1, &mut out, &mut tree)?;
            }
        }
        let mut prev_end = 0u64;
        for e in &out {
            if e.logical < prev_end {
                return Err(format!(
                    "extents unsorted or overlapping at file block {}",
                    e.logical
                ));
            }
            prev_end = e.logical.saturating_add(e.len);
        }
        if out.iter().any(|e| e.unwritten) {
            // Only fallocate makes them, and only on regular files; the
            // superblock must say so, or an older kernel reads stale data.
            if u32::from(d.mode.get()) & S_IFMT != S_IFREG {
                return Err("unwritten extent in a file that is not regular".into());
            }
            if self.sb.feature_incompat.get() & FEATURE_INCOMPAT_UNWRITTEN == 0 {
                let fix = self.decide(true);
                if fix {
                    let f = self.sb.feature_incompat.get();
                    self.sb.feature_incompat.set(f | FEATURE_INCOMPAT_UNWRITTEN);
                    self.sb_dirty = true;
                }
                self.problem(
                    "unwritten_feature",
                    format!(
                        "inode {}: unwritten extents, but the superblock lacks their feature bit: setting it",
                        ino
                    ),
                    fix,
                );
            }
        }
        Ok((out, tree))
    }

    fn walk_block(
        &mut self,
        ino: u64,
        blk: u64,
        level: u16,
        out: &mut Vec<Ext>,
        tree: &mut Vec<u64>,
    ) -> Result<(), String> {
        if tree.len() > INLINE_EXTENTS + INLINE_EXTENTS * EXTENTS_PER_BLOCK {
            return Err("extent tree too large".into());
        }
        let mut buf = self
            .read(blk)
            .ok_or_else(|| format!("extent block {} unreadable", blk))?;
        let mut bad_sum = false;
        let h = match check_block(&buf, BLOCK_MAGIC_EXTENT, blk, Some(ino)) {
            BlockCheck::Ok(h) => h,
            BlockCheck::BadSum(h) => {
                // Intact but for the checksum: resealed below once every
                // entry has been validated.
                bad_sum = true;
                h
            }
            BlockCheck::Bad(why) => return Err(format!("extent block {}: {}", blk, why)),
        };
        let count = h.count.get() as usize;
        if h.level.get() != level || count == 0 || count > EXTENTS_PER_BLOCK {
            return Err(format!(
                "extent block {} has bad level {} or count {}",
                blk,
                h.level.get(),
                count
            ));
        }
        tree.push(blk);
        let body = buf
            .get(HEADER_SIZE..HEADER_SIZE + count * EXTENT_SIZE)
            .ok_or_else(|| String::from("short extent block"))?;
        let entries: Vec<DiskExtent> = <[DiskExtent]>::ref_from_bytes(body)
            .map_err(|_| String::from("short extent block"))?
            .to_vec();
        for e in &entries {
            if !e.flags_ok(level == 0) {
                return Err(format!(
                    "extent in block {} has unknown flags {:#x}",
                    blk,
                    e.flags.get()
                ));
            }
            if !e.in_bounds(&self.sb, level == 0) {
                return Err(format!(
                    "extent (start {}, length {}) in block {} is out of bounds",
                    e.start.get(),
                    e.len.get(),
                    blk
                ));
            }
            if level == 0 {
                out.push(Ext {
                    logical: e.logical.get(),
                    start: e.start.get(),
                    len: u64::from(e.len.get()),
                    unwritten: e.unwritten(),
                });
            } else {
                self.walk_block(ino, e.start.get(), level - 1, out, tree)?;
            }
        }
        if bad_sum {
            let fix = self.decide(true);
            let done = fix && self.seal_write(blk, &mut buf);
            self.problem(
                "extent_block_checksum",
                format!(
                    "inode {}: extent block {} checksum mismatch (entries valid): resealing it",
                    ino, blk
                ),
                done,
            );
        }
        Ok(())
    }

    /// Pass 1B: blocks claimed by two extents (of one file or two).
    fn pass1b(&mut self) {
        let mut claims: Vec<(u64, u64, u64)> = Vec::new();
        for (&ino, n) in &self.nodes {
            for e in &n.extents {
                claims.push((e.start, e.start.saturating_add(e.len), ino));
            }
            for &t in &n.tree {
                claims.push((t, t.saturating_add(1), ino));
            }
        }
        claims.sort_unstable();
        let mut pairs: BTreeMap<(u64, u64), u64> = BTreeMap::new();
        // Open claims (end, ino) that the sweep has not passed yet.
        let mut open: Vec<(u64, u64)> = Vec::new();
        for &(s, e, ino) in &claims {
            open.retain(|&(end, _)| end > s);
            for &(_, other) in &open {
                let key = (other.min(ino), other.max(ino));
                pairs.entry(key).or_insert(s);
            }
            open.push((e, ino));
            if open.len() > 64 {
                // Pathological overlap: keep the sweep bounded.
                open.sort_unstable_by(|a, b| b.cmp(a));
                open.truncate(64);
            }
        }
        if pairs.is_empty() {
            return;
        }
        self.line("Pass 1B: Rescanning for blocks claimed more than once".into());
        let mut to_clear: BTreeSet<u64> = BTreeSet::new();
        for (&(a, b), &blk) in &pairs {
            let victim = if a == b || a == ROOT_INO {
                b
            } else if b == ROOT_INO {
                a
            } else {
                b
            };
            let msg = if a == b {
                format!("inode {} maps block {} twice", a, blk)
            } else {
                format!(
                    "block {} (and maybe more) is claimed by inodes {} and {}",
                    blk, a, b
                )
            };
            self.rep
                .lines
                .push(format!("{}: inode {} must go", msg, victim));
            to_clear.insert(victim);
        }
        for ino in to_clear {
            let fix = self.decide(false);
            let done = fix && {
                let d = DiskInode::new_zeroed();
                let ok = self.write_disk_inode(ino, &d);
                if ok {
                    self.nodes.remove(&ino);
                }
                ok
            };
            if !done {
                if let Some(n) = self.nodes.get_mut(&ino) {
                    n.bad = true;
                }
            }
            self.problem(
                "dup_blocks",
                format!(
                    "inode {} shares blocks with another inode: clearing inode {}",
                    ino, ino
                ),
                done,
            );
        }
    }

    // ---- pass 2: directories ----

    fn pass2(&mut self) {
        self.line("Pass 2: Checking directory structure".into());
        let dirs: Vec<u64> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.is_dir() && !n.bad)
            .map(|(&i, _)| i)
            .collect();
        for dir in dirs {
            let entries = self.scan_dir(dir);
            self.check_dir_index(dir, &entries);
            self.dirs.insert(dir, entries);
        }
        // Validate entries against the inodes.
        let dirs: Vec<u64> = self.dirs.keys().copied().collect();
        for dir in dirs {
            let entries = self.dirs.remove(&dir).unwrap_or_default();
            let mut keep = Vec::new();
            let mut names: BTreeSet<Vec<u8>> = BTreeSet::new();
            for e in entries {
                if self.check_entry(dir, &e, &mut names) {
                    keep.push(e);
                }
            }
            self.dirs.insert(dir, keep);
        }
    }

    /// The hash index of `dir`, when it has one: index blocks sound (the
    /// core's `dx_check`: head, count and limit, sorted hashes, blocks
    /// inside the directory), levels even and at most `DX_MAX_LEVEL`, each
    /// entry's hash inside its parent's range, no block named twice, every
    /// name's hash inside the range of the leaf holding it, no name in a
    /// block the index does not lead to. The repair clears the index flag
    /// (index blocks read as blocks without entries, so every name stays)
    /// and rebuilds the index from the leaves with the core at the end.
    fn check_dir_index(&mut self, dir: u64, entries: &[Entry]) {
        let Some(n) = self.nodes.get(&dir) else {
            return;
        };
        if n.d.flags.get() & INODE_FLAG_DIR_INDEX == 0 {
            return;
        }
        let Some(why) = self.dx_problem(dir, entries) else {
            return;
        };
        let fix = self.decide(true);
        if fix {
            if let Some(n) = self.nodes.get_mut(&dir) {
                n.d.flags = U32::new(n.d.flags.get() & !INODE_FLAG_DIR_INDEX);
            }
        }
        let done = fix && self.write_node(dir);
        if done {
            self.reindex.push(dir);
        }
        self.problem(
            "dir_index",
            format!("directory {}: index: {}: rebuilding it", dir, why),
            done,
        );
    }

    fn dx_problem(&mut self, dir: u64, entries: &[Entry]) -> Option<String> {
        let nblocks = self.nodes.get(&dir)?.d.size.get() / BLOCK_SIZE as u64;
        let seed = self.sb.uuid;
        let mut majors: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
        for e in entries {
            majors
                .entry(e.pos / BLOCK_SIZE as u64)
                .or_default()
                .push(dir_hash(&seed, &e.name).0);
        }
        let mut seen: BTreeSet<u64> = BTreeSet::new();
        seen.insert(0);
        // (leaf, start hash, next child's start hash)
        let mut leaves: Vec<(u64, u32, Option<u32>)> = Vec::new();
        // (index block, level wanted, start, end)
        let mut todo: Vec<(u64, Option<u8>, u32, Option<u32>)> = alloc::vec![(0, None, 0, None)];
        while let Some((lb, want, lo, hi)) = todo.pop() {
            let blk = self.nodes.get(&dir)?.map(lb)?;
            let buf = self.read(blk)?;
            let h = match crate::dir::dx_check(buf.as_slice(), nblocks) {
                Ok(h) => h,
                Err(why) => return Some(format!("block {}: {}", lb, why)),
            };
            if want.is_some_and(|w| w != h.level) {
                return Some(format!(
                    "block {}: level {} in a level {} slot",
                    lb,
                    h.level,
                    want.unwrap_or(0)
                ));
            }
            let count = h.count.get() as usize;
            let ents: Vec<(u32, u64)> = (0..count)
                .filter_map(|i| {
                    let at = DX_ENTRIES_OFF + i * DX_ENTRY_SIZE;
                    let e = DxEntry::read_from_prefix(buf.get(at..)?).ok()?.0;
                    Some((e.hash.get(), u64::from(e.block.get())))
                })
                .collect();
            for (i, &(hash, child)) in ents.iter().enumerate() {
                let start = if i == 0 { lo } else { hash };
                if i > 0 && (hash < lo || hi.is_some_and(|h| hash > h)) {
                    return Some(format!(
                        "block {}: hash {:#x} outside its parent's range",
                        lb, hash
                    ));
                }
                let end = ents.get(i + 1).map(|e| e.0).or(hi);
                if !seen.insert(child) {
                    return Some(format!("block {} is named twice", child));
                }
                if h.level == 0 {
                    leaves.push((child, start, end));
                } else {
                    todo.push((child, Some(h.level - 1), start, end));
                }
            }
        }
        for &(leaf, start, end) in &leaves {
            let lo = start & !1;
            let hi_excl = end.map(|e| {
                if e & 1 == 1 {
                    u64::from(e & !1) + 1
                } else {
                    u64::from(e)
                }
            });
            for &m in majors.get(&leaf).map(Vec::as_slice).unwrap_or(&[]) {
                if m < lo || hi_excl.is_some_and(|h| u64::from(m) >= h) {
                    return Some(format!(
                        "leaf {} holds a name of hash {:#x} outside its range",
                        leaf, m
                    ));
                }
            }
        }
        let leaf_set: BTreeSet<u64> = leaves.iter().map(|l| l.0).collect();
        if let Some(lb) = majors.keys().find(|lb| !leaf_set.contains(lb)) {
            return Some(format!("block {} holds names no index entry leads to", lb));
        }
        None
    }

    /// Read every block of `dir`, repairing what can be, and return its live entries.
    fn scan_dir(&mut self, dir: u64) -> Vec<Entry> {
        let mut out = Vec::new();
        let Some(n) = self.nodes.get(&dir) else {
            return out;
        };
        let nblocks = n.d.size.get() / BLOCK_SIZE as u64;
        let mut lb = 0u64;
        while lb < nblocks {
            let Some(phys) = self.nodes.get(&dir).and_then(|n| n.map(lb)) else {
                let fix = self.decide(false);
                if fix {
                    if let Some(n) = self.nodes.get_mut(&dir) {
                        n.d.size = U64::new(lb * BLOCK_SIZE as u64);
                    }
                }
                let done = fix && self.write_node(dir);
                self.problem(
                    "dir_hole",
                    format!(
                        "directory {} has a hole at block {}: truncating it to {} blocks",
                        dir, lb, lb
                    ),
                    done,
                );
                break;
            };
            self.scan_dir_block(dir, lb, phys, &mut out);
            lb += 1;
        }
        out
    }

    fn scan_dir_block(&mut self, dir: u64, lb: u64, blk: u64, out: &mut Vec<Entry>) {
        let Some(mut buf) = self.read(blk) else {
            return;
        };
        let bad_sum = match check_block(&buf, BLOCK_MAGIC_DIR, blk, Some(dir)) {
            BlockCheck::Ok(_) => false,
            BlockCheck::BadSum(_) => true,
            BlockCheck::Bad(why) => {
                let fix = self.decide(false);
                let done = fix && self.write_empty_dir_block(dir, blk);
                self.problem(
                    "dir_block",
                    format!(
                        "directory {} block {}: {}: reinitialising it (its entries are lost)",
                        dir, blk, why
                    ),
                    done,
                );
                return;
            }
        };
        let mut off = HEADER_SIZE;
        let mut prev: Option<usize> = None;
        let mut bad_at: Option<usize> = None;
        while off < BLOCK_SIZE {
            let h = buf
                .get(off..)
                .and_then(|b| DirEntryHead::read_from_prefix(b).ok())
                .map(|(h, _)| h);
            let Some(h) = h.filter(|h| {
                let rl = h.rec_len.get() as usize;
                let nl = h.name_len as usize;
                rl >= DIRENT_HEAD
                    && rl.is_multiple_of(8)
                    && off + rl <= BLOCK_SIZE
                    && (h.ino.get() == 0 || (nl > 0 && DIRENT_HEAD + nl <= rl))
            }) else {
                bad_at = Some(off);
                break;
            };
            let rl = h.rec_len.get() as usize;
            let nl = h.name_len as usize;
            if h.ino.get() != 0 {
                let name = buf
                    .get(off + DIRENT_HEAD..off + DIRENT_HEAD + nl)
                    .unwrap_or(&[])
                    .to_vec();
                out.push(Entry {
                    blk,
                    off,
                    pos: lb * BLOCK_SIZE as u64 + off as u64,
                    ino: h.ino.get(),
                    ft: h.file_type,
                    name,
                });
            }
            prev = Some(off);
            off += rl;
        }
        let mut rewrite = false;
        if let Some(off) = bad_at {
            let fix = self.decide(false);
            if fix {
                // Cut the block here: the previous record (or a free one) takes the rest.
                match prev {
                    Some(p) => {
                        let rl = (BLOCK_SIZE - p) as u16;
                        if let Some(dst) = buf.get_mut(p + 8..p + 10) {
                            dst.copy_from_slice(&rl.to_le_bytes());
                        }
                    }
                    None => {
                        let r = DirEntryHead {
                            ino: U64::new(0),
                            rec_len: U16::new((BLOCK_SIZE - off) as u16),
                            name_len: 0,
                            file_type: 0,
                        };
                        if let Some(dst) = buf.get_mut(off..off + DIRENT_HEAD) {
                            dst.copy_from_slice(r.as_bytes());
                        }
                    }
                }
                rewrite = true;
            }
            self.problem(
                "dir_entry",
                format!(
                    "directory {} block {}: corrupt entry at offset {}: dropping the rest of the block",
                    dir, blk, off
                ),
                fix,
            );
            if !fix {
                // Left broken: do not reseal it as if it were sound.
                return;
            }
        }
        if bad_sum {
            let fix = self.decide(bad_at.is_none());
            rewrite |= fix;
            self.problem(
                "dir_checksum",
                format!(
                    "directory {} block {} checksum mismatch: resealing it",
                    dir, blk
                ),
                fix,
            );
        }
        if rewrite {
            self.seal_write(blk, &mut buf);
        }
    }

    /// Patch one entry's inode number or file type in place.
    fn patch_entry(&mut self, dir: u64, e: &Entry, ino: Option<u64>, ft: Option<u8>) -> bool {
        let Some(mut buf) = self.read(e.blk) else {
            return false;
        };
        if let BlockCheck::Bad(_) = check_block(&buf, BLOCK_MAGIC_DIR, e.blk, Some(dir)) {
            return false;
        }
        if let Some(i) = ino {
            match buf.get_mut(e.off..e.off + 8) {
                Some(dst) => dst.copy_from_slice(&i.to_le_bytes()),
                None => return false,
            }
        }
        if let Some(t) = ft {
            match buf.get_mut(e.off + 11) {
                Some(dst) => *dst = t,
                None => return false,
            }
        }
        self.seal_write(e.blk, &mut buf)
    }

    fn clear_entry(&mut self, dir: u64, e: &Entry) -> bool {
        self.patch_entry(dir, e, Some(0), None)
    }

    /// Whether the entry stays.
    fn check_entry(&mut self, dir: u64, e: &Entry, names: &mut BTreeSet<Vec<u8>>) -> bool {
        let shown = show_name(&e.name);
        if !name_ok(&e.name) {
            let fix = self.decide(true);
            let done = fix && self.clear_entry(dir, e);
            self.problem(
                "dir_name",
                format!(
                    "directory {}: entry '{}' (inode {}) has an invalid name: clearing it",
                    dir, shown, e.ino
                ),
                done,
            );
            return !done;
        }
        if !names.insert(e.name.clone()) {
            let fix = self.decide(true);
            let done = fix && self.clear_entry(dir, e);
            self.problem(
                "dir_duplicate",
                format!(
                    "directory {}: duplicate entry '{}' (inode {}): clearing it",
                    dir, shown, e.ino
                ),
                done,
            );
            return !done;
        }
        let ic = self.sb.inode_count.get();
        let target = self
            .nodes
            .get(&e.ino)
            .map(|n| (n.bad, n.kind(), n.d.mode.get()));
        let Some((bad, _, mode)) = target else {
            let why = if e.ino > ic {
                format!("inode {} beyond the inode count {}", e.ino, ic)
            } else {
                format!("free inode {}", e.ino)
            };
            let fix = self.decide(true);
            let done = fix && self.clear_entry(dir, e);
            self.problem(
                "dir_free_inode",
                format!(
                    "directory {}: entry '{}' points to {}: clearing it",
                    dir, shown, why
                ),
                done,
            );
            return !done;
        };
        if bad {
            return true;
        }
        let want = dt_from_mode(u32::from(mode));
        if e.ft != want {
            let fix = self.decide(true);
            let done = fix && self.patch_entry(dir, e, None, Some(want));
            self.problem(
                "dir_file_type",
                format!(
                    "directory {}: entry '{}' (inode {}) has file type {}, should be {}",
                    dir, shown, e.ino, e.ft, want
                ),
                done,
            );
        }
        true
    }

    // ---- pass 3: connectivity ----

    /// Walk from `start` (already reached), counting links.
    fn walk(&mut self, start: u64) {
        let mut queue = VecDeque::new();
        queue.push_back(start);
        let limit = self.sb.inode_count.get().saturating_add(1);
        let mut steps = 0u64;
        while let Some(d) = queue.pop_front() {
            steps += 1;
            if steps > limit {
                break;
            }
            let entries = self.dirs.get(&d).cloned().unwrap_or_default();
            for e in entries {
                let Some(t) = self.nodes.get(&e.ino) else {
                    continue;
                };
                if t.bad {
                    continue;
                }
                if t.is_dir() {
                    let home = self.home.get(&e.ino).copied();
                    let accept = !t.reached && (home.is_none() || home == Some(d));
                    if accept {
                        if let Some(t) = self.nodes.get_mut(&e.ino) {
                            t.reached = true;
                            t.found_in = d;
                        }
                        if let Some(p) = self.nodes.get_mut(&d) {
                            p.subdirs = p.subdirs.saturating_add(1);
                        }
                        queue.push_back(e.ino);
                    } else {
                        let fix = self.decide(true);
                        let done = fix && self.clear_entry(d, &e);
                        self.problem(
                            "dir_hard_link",
                            format!(
                                "directory {}: entry '{}' is an extra link to directory {}: clearing it",
                                d,
                                show_name(&e.name),
                                e.ino
                            ),
                            done,
                        );
                        if done {
                            if let Some(list) = self.dirs.get_mut(&d) {
                                list.retain(|x| !(x.blk == e.blk && x.off == e.off));
                            }
                        }
                    }
                } else if let Some(t) = self.nodes.get_mut(&e.ino) {
                    t.reached = true;
                    t.links = t.links.saturating_add(1);
                    if t.found_in == 0 {
                        t.found_in = d;
                    }
                    t.hint_seen |= t.d.parent.get() == d;
                }
            }
        }
    }

    fn pass3(&mut self) {
        self.line("Pass 3: Checking directory connectivity".into());
        // A directory's real link is the one in its `parent`, when that names it.
        let mut home = BTreeMap::new();
        for (&d, entries) in &self.dirs {
            for e in entries {
                if e.ino == ROOT_INO {
                    continue;
                }
                if let Some(t) = self.nodes.get(&e.ino) {
                    if t.is_dir() && t.d.parent.get() == d && !home.contains_key(&e.ino) {
                        home.insert(e.ino, d);
                    }
                }
            }
        }
        self.home = home;
        let root_ok = self
            .nodes
            .get(&ROOT_INO)
            .is_some_and(|n| n.is_dir() && !n.bad);
        if !root_ok {
            let fix = self.decide(false);
            let done = fix && self.make_root();
            self.problem(
                "root",
                "root inode 1 is missing or not a directory: recreating it empty".into(),
                done,
            );
            if !done {
                return;
            }
        }
        if let Some(r) = self.nodes.get_mut(&ROOT_INO) {
            r.reached = true;
            r.found_in = ROOT_INO;
        }
        self.walk(ROOT_INO);
        // Disconnected directories: reconnect the top of each subtree.
        let dirs: Vec<u64> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.is_dir() && !n.bad)
            .map(|(&i, _)| i)
            .collect();
        for t in dirs {
            if !matches!(self.nodes.get(&t), Some(n) if !n.reached) {
                continue;
            }
            let mut top = t;
            let mut seen = BTreeSet::new();
            seen.insert(top);
            while let Some(&p) = self.home.get(&top) {
                let up = self.nodes.get(&p).is_some_and(|n| !n.reached && !n.bad);
                if !up || !seen.insert(p) {
                    break;
                }
                top = p;
            }
            let (nlink, empty) = (
                self.nodes.get(&top).map(|n| n.d.nlink.get()).unwrap_or(0),
                self.dirs.get(&top).map(Vec::len).unwrap_or(0) == 0,
            );
            if nlink == 0 && empty {
                let done =
                    self.free_orphan(top, format!("directory {} was removed but not freed", top));
                if done {
                    continue;
                }
            } else {
                let fix = self.decide(true);
                let name = format!("#{}", top).into_bytes();
                let lf = if fix { self.ensure_lost_found() } else { None };
                let done = match lf {
                    Some(lf) => self.add_entry(lf, &name, top, DT_DIR),
                    None => false,
                };
                self.problem(
                    "disconnected_dir",
                    format!(
                        "directory {} is not connected to the tree: reconnecting it to /lost+found as #{}",
                        top, top
                    ),
                    done,
                );
                if let (true, Some(lf)) = (done, lf) {
                    if let Some(n) = self.nodes.get_mut(&top) {
                        n.reached = true;
                        n.found_in = lf;
                        n.d.parent = U64::new(lf);
                    }
                    self.reparented.insert(top);
                    self.write_node(top);
                    if let Some(p) = self.nodes.get_mut(&lf) {
                        p.subdirs = p.subdirs.saturating_add(1);
                        p.d.nlink = U32::new(p.d.nlink.get().saturating_add(1));
                    }
                    self.write_node(lf);
                    self.home.insert(top, lf);
                    self.walk(top);
                    continue;
                }
            }
            // Not reconnected: count below it anyway so pass 4 stays accurate.
            if let Some(n) = self.nodes.get_mut(&top) {
                n.reached = true;
                n.found_in = 0;
            }
            self.walk(top);
        }
        // ".." of every connected directory.
        let fixes: Vec<(u64, u64, u64)> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.is_dir() && !n.bad && n.found_in != 0)
            .filter(|(_, n)| n.d.parent.get() != n.found_in)
            .map(|(&i, n)| (i, n.d.parent.get(), n.found_in))
            .collect();
        for (ino, was, want) in fixes {
            let fix = self.decide(true);
            if fix {
                if let Some(n) = self.nodes.get_mut(&ino) {
                    n.d.parent = U64::new(want);
                }
                self.reparented.insert(ino);
            }
            let done = fix && self.write_node(ino);
            self.problem(
                "dotdot",
                format!(
                    "directory {}: '..' (parent) is {}, should be {}",
                    ino, was, want
                ),
                done,
            );
        }
    }

    fn alloc_inode(&mut self) -> Option<u64> {
        let ic = self.sb.inode_count.get();
        (2..=ic).find(|i| !self.nodes.contains_key(i))
    }

    fn alloc_block(&mut self) -> Option<u64> {
        let ds = self.sb.data_start.get();
        let bc = self.sb.block_count.get();
        let mut b = ds;
        while b < bc {
            if b.is_multiple_of(8)
                && usize::try_from(b / 8).ok().and_then(|i| self.used.get(i)) == Some(&0xff)
            {
                b += 8;
                continue;
            }
            if !get_bit(&self.used, b) {
                set_bit(&mut self.used, b, true);
                self.own_blocks.insert(b);
                self.sb.free_blocks = U64::new(self.sb.free_blocks.get().saturating_sub(1));
                self.sb_dirty = true;
                return Some(b);
            }
            b += 1;
        }
        None
    }

    /// Write an empty directory block at `blk` owned by `dir`.
    fn write_empty_dir_block(&mut self, dir: u64, blk: u64) -> bool {
        let mut buf = fsck_block();
        let h = BlockHeader::new(BLOCK_MAGIC_DIR, blk, dir);
        if let Some(dst) = buf.get_mut(..HEADER_SIZE) {
            dst.copy_from_slice(h.as_bytes());
        }
        let r = DirEntryHead {
            ino: U64::new(0),
            rec_len: U16::new((BLOCK_SIZE - HEADER_SIZE) as u16),
            name_len: 0,
            file_type: 0,
        };
        if let Some(dst) = buf.get_mut(HEADER_SIZE..HEADER_SIZE + DIRENT_HEAD) {
            dst.copy_from_slice(r.as_bytes());
        }
        self.seal_write(blk, &mut buf)
    }

    /// A new empty directory `ino` (one block) with parent `parent`.
    fn make_dir(&mut self, ino: u64, parent: u64, perm: u32) -> bool {
        let Some(blk) = self.alloc_block() else {
            return false;
        };
        if !self.write_empty_dir_block(ino, blk) {
            set_bit(&mut self.used, blk, false);
            return false;
        }
        let now = self.dev.now();
        let mut d = DiskInode::new_zeroed();
        d.mode = U16::new((S_IFDIR | perm) as u16);
        d.nlink = U32::new(2);
        d.parent = U64::new(parent);
        d.size = U64::new(BLOCK_SIZE as u64);
        d.blocks = U64::new(1);
        d.generation = U32::new(now.nsec | 1);
        d.fs_tag = U32::new(self.sb.fs_tag());
        for (s, n) in [
            (&mut d.atime, &mut d.atime_nsec),
            (&mut d.mtime, &mut d.mtime_nsec),
            (&mut d.ctime, &mut d.ctime_nsec),
            (&mut d.crtime, &mut d.crtime_nsec),
        ] {
            *s = I64::new(now.sec);
            *n = U32::new(now.nsec);
        }
        d.extent_count = U32::new(1);
        if let Some(e) = d.extents.get_mut(0) {
            e.logical = U64::new(0);
            e.start = U64::new(blk);
            e.len = U32::new(1);
        }
        if !self.write_disk_inode(ino, &d) {
            set_bit(&mut self.used, blk, false);
            return false;
        }
        self.nodes.insert(
            ino,
            Node {
                d,
                extents: alloc::vec![Ext {
                    logical: 0,
                    start: blk,
                    len: 1,
                    unwritten: false,
                }],
                tree: Vec::new(),
                links: 0,
                subdirs: 0,
                reached: false,
                found_in: 0,
                hint_seen: false,
                bad: false,
            },
        );
        self.dirs.insert(ino, Vec::new());
        if self.own_inodes.insert(ino - 1) {
            self.sb.free_inodes = U64::new(self.sb.free_inodes.get().saturating_sub(1));
            self.sb_dirty = true;
        }
        true
    }

    fn make_root(&mut self) -> bool {
        if self.nodes.contains_key(&ROOT_INO) {
            // A bad or non-directory root: its entries are dropped with it.
            if !self.clear_inode(ROOT_INO) {
                return false;
            }
        }
        self.make_dir(ROOT_INO, ROOT_INO, 0o755)
    }

    fn ensure_lost_found(&mut self) -> Option<u64> {
        if let Some(lf) = self.lost_found {
            return Some(lf);
        }
        let existing = self
            .dirs
            .get(&ROOT_INO)
            .and_then(|v| v.iter().find(|e| e.name == b"lost+found").map(|e| e.ino));
        if let Some(ino) = existing {
            if self.nodes.get(&ino).is_some_and(|n| n.is_dir() && !n.bad) {
                self.lost_found = Some(ino);
                return Some(ino);
            }
            // The name is taken by something else: no lost+found.
            self.problem(
                "lost_found",
                "/lost+found exists but is not a directory: cannot reconnect".into(),
                false,
            );
            return None;
        }
        let ino = self.alloc_inode()?;
        if !self.make_dir(ino, ROOT_INO, 0o700) {
            return None;
        }
        if !self.add_entry(ROOT_INO, b"lost+found", ino, DT_DIR) {
            self.clear_inode(ino);
            return None;
        }
        self.reparented.insert(ino);
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.reached = true;
            n.found_in = ROOT_INO;
        }
        if let Some(r) = self.nodes.get_mut(&ROOT_INO) {
            r.subdirs = r.subdirs.saturating_add(1);
            r.d.nlink = U32::new(r.d.nlink.get().saturating_add(1));
        }
        self.write_node(ROOT_INO);
        self.home.insert(ino, ROOT_INO);
        self.line(format!("/lost+found created (inode {})", ino));
        self.lost_found = Some(ino);
        Some(ino)
    }

    /// Add an entry to `dir`, growing it by a block if needed.
    fn add_entry(&mut self, dir: u64, name: &[u8], ino: u64, ft: u8) -> bool {
        let need = dirent_size(name.len());
        let Some(n) = self.nodes.get(&dir) else {
            return false;
        };
        let nblocks = n.d.size.get() / BLOCK_SIZE as u64;
        for lb in 0..nblocks {
            let Some(blk) = self.nodes.get(&dir).and_then(|n| n.map(lb)) else {
                return false;
            };
            let Some(mut buf) = self.read(blk) else {
                continue;
            };
            if !matches!(
                check_block(&buf, BLOCK_MAGIC_DIR, blk, Some(dir)),
                BlockCheck::Ok(_)
            ) {
                continue;
            }
            let mut off = HEADER_SIZE;
            while off < BLOCK_SIZE {
                let Some((h, _)) = buf
                    .get(off..)
                    .and_then(|b| DirEntryHead::read_from_prefix(b).ok())
                else {
                    break;
                };
                let rl = h.rec_len.get() as usize;
                if rl < DIRENT_HEAD || off + rl > BLOCK_SIZE {
                    break;
                }
                let used = if h.ino.get() == 0 {
                    0
                } else {
                    dirent_size(h.name_len as usize)
                };
                if rl >= used && rl - used >= need {
                    let at = off + used;
                    if used != 0 {
                        if let Some(dst) = buf.get_mut(off + 8..off + 10) {
                            dst.copy_from_slice(&(used as u16).to_le_bytes());
                        }
                    }
                    if !put_entry(buf.as_mut_slice(), at, rl - used, ino, ft, name) {
                        return false;
                    }
                    if !self.seal_write(blk, &mut buf) {
                        return false;
                    }
                    self.dirs.entry(dir).or_default().push(Entry {
                        blk,
                        off: at,
                        pos: lb * BLOCK_SIZE as u64 + at as u64,
                        ino,
                        ft,
                        name: name.to_vec(),
                    });
                    return true;
                }
                off += rl;
            }
        }
        // Grow by one block. A block already mapped past the size is reused,
        // as the core does; otherwise only inline extent maps are extended.
        let Some(blk) = self
            .nodes
            .get(&dir)
            .and_then(|n| n.map(nblocks))
            .or_else(|| self.map_new_dir_block(dir, nblocks))
        else {
            return false;
        };
        let Some(n) = self.nodes.get_mut(&dir) else {
            return false;
        };
        n.d.size = U64::new((nblocks + 1) * BLOCK_SIZE as u64);
        let mut buf = fsck_block();
        let h = BlockHeader::new(BLOCK_MAGIC_DIR, blk, dir);
        if let Some(dst) = buf.get_mut(..HEADER_SIZE) {
            dst.copy_from_slice(h.as_bytes());
        }
        if !put_entry(
            buf.as_mut_slice(),
            HEADER_SIZE,
            BLOCK_SIZE - HEADER_SIZE,
            ino,
            ft,
            name,
        ) || !self.seal_write(blk, &mut buf)
            || !self.write_node(dir)
        {
            return false;
        }
        self.dirs.entry(dir).or_default().push(Entry {
            blk,
            off: HEADER_SIZE,
            pos: nblocks * BLOCK_SIZE as u64 + HEADER_SIZE as u64,
            ino,
            ft,
            name: name.to_vec(),
        });
        true
    }

    /// Allocate a block and map it at file block `lb` of an inline-mapped
    /// directory.
    fn map_new_dir_block(&mut self, dir: u64, lb: u64) -> Option<u64> {
        let blk = self.alloc_block()?;
        if self.insert_inline_extent(dir, lb, blk) {
            Some(blk)
        } else {
            set_bit(&mut self.used, blk, false);
            None
        }
    }

    /// Map `lb` -> `blk` in an inline extent map, keeping it sorted: extends
    /// the extent ending there, else takes a free inline slot.
    fn insert_inline_extent(&mut self, dir: u64, lb: u64, blk: u64) -> bool {
        let Some(n) = self.nodes.get_mut(&dir) else {
            return false;
        };
        let count = n.d.extent_count.get() as usize;
        if n.d.extent_depth.get() != 0 || count != n.extents.len() {
            return false;
        }
        let pos = n.extents.partition_point(|e| e.logical < lb);
        let prev = pos.checked_sub(1);
        let extend = prev.and_then(|i| n.d.extents.get_mut(i)).filter(|p| {
            let len = p.len.get();
            p.logical.get().saturating_add(u64::from(len)) == lb
                && p.start.get().saturating_add(u64::from(len)) == blk
                && len < u32::MAX
        });
        if let Some(p) = extend {
            p.len = U32::new(p.len.get() + 1);
            if let Some(e) = prev.and_then(|i| n.extents.get_mut(i)) {
                e.len += 1;
            }
        } else {
            let Some(slots) = n.d.extents.get_mut(pos..=count) else {
                return false; // all inline slots in use
            };
            slots.rotate_right(1);
            let Some(slot) = slots.first_mut() else {
                return false;
            };
            slot.logical = U64::new(lb);
            slot.start = U64::new(blk);
            slot.len = U32::new(1);
            slot.flags = U32::new(0);
            n.d.extent_count = U32::new(count as u32 + 1);
            n.extents.insert(
                pos,
                Ext {
                    logical: lb,
                    start: blk,
                    len: 1,
                    unwritten: false,
                },
            );
        }
        n.d.blocks = U64::new(n.d.blocks.get().saturating_add(1));
        true
    }

    // ---- journal and orphan list ----

    /// Check the journal superblock and bring in what the journal holds, as
    /// e2fsck does: replayed onto the device when repairing, overlaid on
    /// reads with `-n`. True when the superblock must be read again.
    fn journal(&mut self) -> bool {
        if let Err(why) = journal::read_super(self.dev, &self.sb) {
            // Nothing in a log whose superblock is unreadable can be replayed.
            let fix = self.decide(true);
            let done = fix
                && journal::fresh_super(&self.sb)
                    .is_ok_and(|buf| self.write(self.sb.journal_start.get(), &buf));
            self.problem(
                "journal_super",
                format!("journal superblock: {}: writing an empty journal", why),
                done,
            );
            return false;
        }
        if self.writable() {
            return match journal::replay(self.dev, &self.sb) {
                Ok(r) if r.transactions > 0 => {
                    self.rep.modified = true;
                    self.line(format!(
                        "recovering journal: {} transactions replayed ({} blocks, {} revoked)",
                        r.transactions, r.blocks, r.revoked
                    ));
                    true
                }
                Ok(_) => false,
                Err(why) => {
                    self.problem("journal", format!("journal replay failed: {}", why), false);
                    false
                }
            };
        }
        let mut overlay = BTreeMap::new();
        let rec = journal::recover(self.dev, &self.sb, &mut |_: &mut D, home, buf| {
            let mut b = fsck_block();
            b.copy_from_slice(buf.as_slice());
            overlay.insert(home, b);
            Ok(())
        });
        match rec {
            Ok(r) if r.transactions > 0 => {
                self.overlay = overlay;
                self.line(format!(
                    "journal needs recovery ({} transactions, {} blocks): checking the filesystem as the replay will leave it",
                    r.transactions, r.blocks
                ));
                true
            }
            Ok(_) => false,
            Err(why) => {
                self.problem("journal", format!("journal unreadable: {}", why), false);
                false
            }
        }
    }

    /// Walk the superblock's orphan list over the inodes pass 1 found in use.
    /// A list that names a free or linked inode, or loops, is emptied (the
    /// passes below free every orphan).
    fn load_orphan_list(&mut self) {
        let mut ino = self.sb.orphan_head.get();
        let limit = self.sb.inode_count.get();
        let mut bad = None;
        while ino != 0 {
            if self.orphan_list.len() as u64 >= limit || self.orphan_list.contains(&ino) {
                bad = Some(format!("loops at inode {}", ino));
                break;
            }
            match self.nodes.get(&ino).filter(|n| !n.bad).map(|n| &n.d) {
                Some(d) if d.nlink.get() == 0 => {
                    let next = d.next_orphan.get();
                    self.orphan_list.insert(ino);
                    self.orphan_chain.push(ino);
                    ino = next;
                }
                _ => {
                    bad = Some(format!(
                        "names inode {}, which is not an unlinked inode",
                        ino
                    ));
                    break;
                }
            }
        }
        if let Some(why) = bad {
            self.orphan_list.clear();
            self.orphan_chain.clear();
            let fix = self.decide(true);
            if fix {
                self.sb.orphan_head = U64::new(0);
                self.sb_dirty = true;
            }
            self.problem(
                "orphan_list",
                format!("orphan list {}: emptying it", why),
                fix,
            );
        }
    }

    /// An unlinked-but-open inode nobody freed: on the orphan list that is
    /// the next mount's work (advisory); off it, a leak. Repair frees it.
    fn free_orphan(&mut self, ino: u64, what: String) -> bool {
        let fix = self.decide(true);
        // The list itself is rebuilt after pass 4 (settle_orphan_list).
        let done = fix && self.clear_inode(ino);
        if self.orphan_list.remove(&ino) {
            let msg = format!("{} is on the orphan list (the next mount frees it)", what);
            if self.writable() {
                self.finding(
                    "orphan",
                    format!("{}: freeing it", msg),
                    Severity::Info,
                    done,
                );
            } else {
                self.finding("orphan", msg, Severity::Info, false);
            }
        } else {
            self.problem("orphan", format!("{} (orphan): freeing it", what), done);
        }
        done
    }

    /// After the repairs of passes 3 and 4 the orphan list may hold only
    /// inodes that are still unlinked (nlink 0, in no directory): one that a
    /// directory names (its link count restored) or that was freed comes off
    /// it, so that a single repair run leaves a list the mount accepts.
    fn settle_orphan_list(&mut self) {
        if !self.writable() || self.orphan_chain.is_empty() {
            return;
        }
        let chain = core::mem::take(&mut self.orphan_chain);
        let keep: Vec<u64> = chain
            .iter()
            .copied()
            .filter(|i| {
                self.nodes
                    .get(i)
                    .is_some_and(|n| !n.reached && !n.bad && n.d.nlink.get() == 0)
            })
            .collect();
        for &ino in &chain {
            if keep.contains(&ino) {
                continue;
            }
            let Some(n) = self.nodes.get_mut(&ino) else {
                continue; // freed
            };
            let (nlink, next) = (n.d.nlink.get(), n.d.next_orphan.get());
            n.d.next_orphan = U64::new(0);
            self.line(format!(
                "inode {} is linked (nlink {}): taking it off the orphan list",
                ino, nlink
            ));
            if next != 0 {
                self.write_node(ino);
            }
        }
        for (k, &ino) in keep.iter().enumerate() {
            let next = keep.get(k + 1).copied().unwrap_or(0);
            if let Some(n) = self.nodes.get_mut(&ino) {
                if n.d.next_orphan.get() != next {
                    n.d.next_orphan = U64::new(next);
                    self.write_node(ino);
                }
            }
        }
        let head = keep.first().copied().unwrap_or(0);
        if self.sb.orphan_head.get() != head {
            self.sb.orphan_head = U64::new(head);
            self.sb_dirty = true;
        }
        self.orphan_list = keep.iter().copied().collect();
        self.orphan_chain = keep;
    }

    // ---- pass 4: reference counts ----

    fn pass4(&mut self) {
        self.line("Pass 4: Checking reference counts".into());
        let lost: Vec<(u64, u32, u64, u8)> = self
            .nodes
            .iter()
            .filter(|(_, n)| !n.reached && !n.bad && !n.is_dir())
            .map(|(&i, n)| {
                (
                    i,
                    n.d.nlink.get(),
                    n.d.size.get(),
                    dt_from_mode(u32::from(n.d.mode.get())),
                )
            })
            .collect();
        for (ino, nlink, size, ft) in lost {
            if nlink == 0 {
                self.free_orphan(
                    ino,
                    format!(
                        "inode {} (size {}) was unlinked while open and never freed",
                        ino, size
                    ),
                );
            } else {
                let fix = self.decide(true);
                let lf = if fix { self.ensure_lost_found() } else { None };
                let name = format!("#{}", ino).into_bytes();
                let done = match lf {
                    Some(lf) => self.add_entry(lf, &name, ino, ft),
                    None => false,
                };
                self.problem(
                    "unattached",
                    format!(
                        "inode {} (nlink {}, size {}) is in no directory: reconnecting it to /lost+found as #{}",
                        ino, nlink, size, ino
                    ),
                    done,
                );
                if let (true, Some(lf)) = (done, lf) {
                    if let Some(n) = self.nodes.get_mut(&ino) {
                        n.reached = true;
                        n.links = 1;
                        n.found_in = lf;
                        n.hint_seen = true;
                        n.d.parent = U64::new(lf);
                    }
                    self.reparented.insert(ino);
                    self.write_node(ino);
                }
            }
        }
        self.check_parent_hints();
        self.check_parent_pos();
        let checks: Vec<(u64, u32, u64)> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.reached && !n.bad)
            .map(|(&i, n)| {
                let want = if n.is_dir() {
                    2u64.saturating_add(u64::from(n.subdirs))
                } else {
                    u64::from(n.links)
                };
                (i, n.d.nlink.get(), want)
            })
            .collect();
        for (ino, have, want) in checks {
            if u64::from(have) == want {
                continue;
            }
            let fix = self.decide(true) && want <= u64::from(LINK_MAX);
            if fix {
                if let Some(n) = self.nodes.get_mut(&ino) {
                    n.d.nlink = U32::new(want as u32);
                }
            }
            let done = fix && self.write_node(ino);
            self.problem(
                "link_count",
                format!("inode {} link count is {}, should be {}", ino, have, want),
                done,
            );
        }
    }

    /// A non-directory's parent hint must be 0 (unknown) or a directory
    /// that links to it: vector query results are filtered by search
    /// permission along the hint, so a wrong one could show a file in a
    /// directory the caller cannot search. The fix points it at a
    /// directory that does link to it.
    fn check_parent_hints(&mut self) {
        let wrong: Vec<(u64, u64, u64)> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.reached && !n.bad && !n.is_dir() && !n.hint_seen)
            .filter(|(_, n)| n.d.parent.get() != 0)
            .map(|(&i, n)| (i, n.d.parent.get(), n.found_in))
            .collect();
        for (ino, was, want) in wrong {
            let fix = self.decide(true);
            if fix {
                if let Some(n) = self.nodes.get_mut(&ino) {
                    n.d.parent = U64::new(want);
                    n.hint_seen = true;
                }
                self.reparented.insert(ino);
            }
            let done = fix && self.write_node(ino);
            self.problem(
                "parent_hint",
                format!(
                    "inode {}: parent hint is {}, which holds no link to it: setting it to {}",
                    ino, was, want
                ),
                done,
            );
        }
    }

    /// `parent_pos` must be 0 (unknown) or name an entry of the `parent`
    /// directory that links to the inode (by its name's hash, or by its
    /// byte offset plus one): query
    /// paths are built from the name found there (a stale one only costs a
    /// directory scan, but fsck keeps it exact). The fix points it at such
    /// an entry, or makes it unknown.
    fn check_parent_pos(&mut self) {
        let seed = self.sb.uuid;
        let hint = |e: &Entry| {
            let (a, b) = dir_hash(&seed, &e.name);
            PARENT_POS_HASH | hash_cookie(a, b)
        };
        // Both forms name an entry: by its name's hash, or (images before
        // the index) by its byte offset plus one.
        let mut at: BTreeMap<(u64, u64), u64> = BTreeMap::new();
        for (&d, entries) in &self.dirs {
            for e in entries {
                at.insert((d, e.pos + 1), e.ino);
                at.insert((d, hint(e)), e.ino);
            }
        }
        let first = |dirs: &BTreeMap<u64, Vec<Entry>>, d: u64, ino: u64| -> u64 {
            dirs.get(&d)
                .and_then(|v| v.iter().find(|e| e.ino == ino))
                .map_or(0, hint)
        };
        let check: Vec<(u64, u64, u64)> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.reached && !n.bad)
            .map(|(&i, n)| (i, n.d.parent.get(), n.d.parent_pos.get()))
            .collect();
        for (ino, parent, pp) in check {
            let own = self.reparented.contains(&ino);
            let ok = if own {
                pp != 0 && at.get(&(parent, pp)) == Some(&ino)
            } else {
                pp == 0 || at.get(&(parent, pp)) == Some(&ino)
            };
            if ok {
                continue;
            }
            let want = if ino == ROOT_INO {
                0
            } else {
                first(&self.dirs, parent, ino)
            };
            if own {
                // This run moved the parent: the position follows, unreported.
                if want != pp {
                    if let Some(n) = self.nodes.get_mut(&ino) {
                        n.d.parent_pos = U64::new(want);
                    }
                    self.write_node(ino);
                }
                continue;
            }
            let fix = self.decide(true);
            if fix {
                if let Some(n) = self.nodes.get_mut(&ino) {
                    n.d.parent_pos = U64::new(want);
                }
            }
            let done = fix && self.write_node(ino);
            self.problem(
                "parent_pos",
                format!(
                    "inode {}: parent_pos {} names no link to it in directory {}: setting it to {}",
                    ino, pp, parent, want
                ),
                done,
            );
        }
    }

    // ---- pass 5: bitmaps and counts ----

    fn pass5(&mut self) {
        self.line("Pass 5: Checking bitmaps and summary information".into());
        let bc = self.sb.block_count.get();
        let ic = self.sb.inode_count.get();
        let mut expected_i: Vec<u8> = Vec::new();
        let ibytes = usize::try_from(ic.div_ceil(8)).unwrap_or(0);
        if expected_i.try_reserve_exact(ibytes).is_err() {
            self.problem("memory", "out of memory for the inode map".into(), false);
            return;
        }
        expected_i.resize(ibytes, 0);
        for (&ino, _) in self.nodes.iter() {
            set_bit(&mut expected_i, ino - 1, true);
        }
        self.compare_bitmap(
            "inode_bitmap",
            "inode",
            self.sb.inode_bitmap_start.get(),
            self.sb.inode_bitmap_blocks.get(),
            BLOCK_MAGIC_IBITMAP,
            ic,
            1,
            &expected_i,
            &self.own_inodes.clone(),
        );
        let used = core::mem::take(&mut self.used);
        self.compare_bitmap(
            "block_bitmap",
            "block",
            self.sb.block_bitmap_start.get(),
            self.sb.block_bitmap_blocks.get(),
            BLOCK_MAGIC_BBITMAP,
            bc,
            0,
            &used,
            &self.own_blocks.clone(),
        );
        let blocks_used = used.iter().map(|b| u64::from(b.count_ones())).sum::<u64>();
        self.used = used;
        let inodes_used = self.nodes.len() as u64;
        let free_b = bc.saturating_sub(blocks_used);
        let free_i = ic.saturating_sub(inodes_used);
        if self.sb.free_blocks.get() != free_b {
            let fix = self.decide(true);
            self.sb_dirty |= fix;
            self.problem(
                "free_blocks",
                format!(
                    "free blocks count wrong ({}, counted {})",
                    self.sb.free_blocks.get(),
                    free_b
                ),
                fix,
            );
            if fix {
                self.sb.free_blocks = U64::new(free_b);
            }
        }
        if self.sb.free_inodes.get() != free_i {
            let fix = self.decide(true);
            self.sb_dirty |= fix;
            self.problem(
                "free_inodes",
                format!(
                    "free inodes count wrong ({}, counted {})",
                    self.sb.free_inodes.get(),
                    free_i
                ),
                fix,
            );
            if fix {
                self.sb.free_inodes = U64::new(free_i);
            }
        }
        let st = &mut self.rep.stats;
        st.inodes_used = inodes_used;
        st.inodes_total = ic;
        st.blocks_used = blocks_used;
        st.blocks_total = bc;
        for n in self.nodes.values() {
            match n.kind() {
                S_IFREG => {
                    st.regular += 1;
                    if n.d.nlink.get() > 1 {
                        st.hard_links += u64::from(n.d.nlink.get() - 1);
                    }
                }
                S_IFDIR => st.directories += 1,
                S_IFLNK => st.symlinks += 1,
                _ => st.special += 1,
            }
        }
    }

    /// Compare a bitmap region with the expected bits (bit n of `expected`
    /// is item n + `base`); bits past `total` must be set.
    #[allow(clippy::too_many_arguments)]
    fn compare_bitmap(
        &mut self,
        code: &'static str,
        what: &str,
        start: u64,
        nblk: u64,
        magic: u32,
        total: u64,
        base: u64,
        expected: &[u8],
        own: &BTreeSet<u64>,
    ) {
        let mut plus: Vec<u64> = Vec::new();
        let mut minus: Vec<u64> = Vec::new();
        let mut rewrite: Vec<u64> = Vec::new();
        let mut report = false;
        for i in 0..nblk {
            let blk = start + i;
            let (buf, sound) = match self.read(blk) {
                Some(b) => {
                    let s = matches!(check_block(&b, magic, blk, Some(0)), BlockCheck::Ok(_));
                    (Some(b), s)
                }
                None => (None, false),
            };
            let first = i * BITS_PER_BITMAP_BLOCK;
            let mut differs = !sound;
            report |= !sound;
            for b in 0..BITS_PER_BITMAP_BLOCK {
                let n = first + b;
                let want = n >= total || get_bit(expected, n);
                let have = buf
                    .as_ref()
                    .and_then(|buf| buf.get(HEADER_SIZE..))
                    .is_some_and(|bits| get_bit(bits, b));
                if want != have {
                    differs = true;
                    if own.contains(&n) {
                        continue;
                    }
                    report = true;
                    if n < total && plus.len() + minus.len() < 100_000 {
                        if want {
                            plus.push(n + base);
                        } else {
                            minus.push(n + base);
                        }
                    }
                }
            }
            if differs {
                rewrite.push(i);
            }
        }
        if rewrite.is_empty() {
            return;
        }
        let fix = self.decide(true);
        let mut done = fix;
        if fix {
            for i in rewrite.iter().copied() {
                let blk = start + i;
                let mut buf = fsck_block();
                let h = BlockHeader::new(magic, blk, 0);
                if let Some(dst) = buf.get_mut(..HEADER_SIZE) {
                    dst.copy_from_slice(h.as_bytes());
                }
                let first = i * BITS_PER_BITMAP_BLOCK;
                if let Some(bits) = buf.get_mut(HEADER_SIZE..) {
                    for b in 0..BITS_PER_BITMAP_BLOCK {
                        let n = first + b;
                        if n >= total || get_bit(expected, n) {
                            set_bit(bits, b, true);
                        }
                    }
                }
                done &= self.seal_write(blk, &mut buf);
            }
        }
        if !report {
            // Only this run's own allocations and frees.
        } else if plus.is_empty() && minus.is_empty() {
            // Only the padding bits or the block itself were wrong.
            self.problem(code, format!("{} bitmap blocks need rewriting", what), done);
        } else {
            self.problem(
                code,
                format!(
                    "{} bitmap differences:{}{}",
                    what,
                    ranges('+', &plus),
                    ranges('-', &minus)
                ),
                done,
            );
        }
    }

    // ---- pass 6: vectors ----

    fn pass6(&mut self) {
        let dim = self.sb.vec_dim.get();
        let with_slots: Vec<(u64, u64)> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.d.vec_slot.get() != 0 && !n.bad)
            .map(|(&i, n)| (i, n.d.vec_slot.get() - 1))
            .collect();
        if dim == 0 && with_slots.is_empty() {
            return;
        }
        self.line("Pass 6: Checking vector slots and index".into());
        // Valid slots: slot -> inode.
        let mut owners: BTreeMap<u64, u64> = BTreeMap::new();
        if dim != 0 {
            self.check_slots(&mut owners);
        }
        for (ino, slot) in with_slots {
            if owners.get(&slot) == Some(&ino) {
                continue;
            }
            let fix = self.decide(true);
            if fix {
                if let Some(n) = self.nodes.get_mut(&ino) {
                    n.d.vec_slot = U64::new(0);
                }
            }
            let done = fix && self.write_node(ino);
            self.problem(
                "vec_dangling",
                format!(
                    "inode {} names vector slot {} which does not hold its vector: clearing the reference",
                    ino, slot
                ),
                done,
            );
        }
        if dim == 0 {
            return;
        }
        let count = owners.len() as u64;
        self.rep.stats.vectors = count;
        if self.sb.vec_count.get() == count.saturating_add(self.freed_slots) {
            // Only the vectors of inodes this run freed.
            if self.sb.vec_count.get() != count {
                self.sb.vec_count = U64::new(count);
                self.sb_dirty = true;
            }
        } else if self.sb.vec_count.get() != count {
            let fix = self.decide(true);
            self.sb_dirty |= fix;
            self.problem(
                "vec_count",
                format!(
                    "vector count is {}, counted {}",
                    self.sb.vec_count.get(),
                    count
                ),
                fix,
            );
            if fix {
                self.sb.vec_count = U64::new(count);
            }
        }
        self.check_graph(&owners);
    }

    fn check_slots(&mut self, owners: &mut BTreeMap<u64, u64>) {
        let per = u64::from(self.sb.vec_slots_per_block.get());
        let size = self.sb.vec_slot_size.get() as usize;
        let cap = self.sb.vec_capacity.get();
        let dim = self.sb.vec_dim.get() as usize;
        for b in 0..self.sb.vec_slot_blocks_inited.get() {
            let blk = self.sb.vector_start.get() + b;
            let Some(mut buf) = self.read(blk) else {
                continue;
            };
            let mut reseal = false;
            let header = match check_block(&buf, BLOCK_MAGIC_VSLOT, blk, Some(0)) {
                BlockCheck::Ok(h) => Some(h),
                BlockCheck::BadSum(h) => {
                    let fix = self.decide(true);
                    reseal = fix;
                    self.problem(
                        "vec_slot_block",
                        format!("vector slot block {} checksum mismatch: resealing it", blk),
                        fix,
                    );
                    Some(h)
                }
                BlockCheck::Bad(why) => {
                    let fix = self.decide(false);
                    let done = fix && {
                        let mut z = fsck_block();
                        let h = BlockHeader::new(BLOCK_MAGIC_VSLOT, blk, 0);
                        if let Some(dst) = z.get_mut(..HEADER_SIZE) {
                            dst.copy_from_slice(h.as_bytes());
                        }
                        self.seal_write(blk, &mut z)
                    };
                    self.problem(
                        "vec_slot_block",
                        format!(
                            "vector slot block {}: {}: clearing it (its vectors are lost)",
                            blk, why
                        ),
                        done,
                    );
                    None
                }
            };
            let Some(header) = header else { continue };
            let mut changed = false;
            // The writer leaves count, level and pad zero (write_slot).
            let (hc, hl, hp) = (header.count.get(), header.level.get(), header.pad.get());
            if (hc, hl, hp) != (0, 0, 0) {
                let fix = self.decide(true);
                if fix {
                    let h = BlockHeader::new(BLOCK_MAGIC_VSLOT, blk, 0);
                    if let Some(dst) = buf.get_mut(..HEADER_SIZE) {
                        dst.copy_from_slice(h.as_bytes());
                    }
                    changed = true;
                }
                self.problem(
                    "vec_slot_header",
                    format!(
                        "vector slot block {} header has count {}, level {}, pad {} (all must be 0): clearing them",
                        blk, hc, hl, hp
                    ),
                    fix,
                );
            }
            for j in 0..per {
                let slot = b * per + j;
                if slot >= cap {
                    break;
                }
                let off = HEADER_SIZE + j as usize * size;
                let Some(raw) = buf.get(off..off + size).map(<[u8]>::to_vec) else {
                    break;
                };
                let raw = raw.as_slice();
                let ino = le_u64(raw, 0);
                let tag = le_u32(raw, 12);
                let rows = self.sb.feature_ro_compat.get() & FEATURE_RO_COMPAT_VEC_ROWS != 0;
                if !rows && tag != 0 {
                    // Before graph rows the word was flags, always 0.
                    let fix = self.decide(true);
                    if fix {
                        if let Some(dst) = buf.get_mut(off + 12..off + 16) {
                            dst.fill(0);
                        }
                        changed = true;
                    }
                    self.problem(
                        "vec_slot_flags",
                        format!(
                            "vector slot {} has flags {:#x} (none are defined): clearing them",
                            slot, tag
                        ),
                        fix,
                    );
                }
                self.slot_heads
                    .insert(slot, (ino, le_u32(raw, 8), if rows { tag } else { 0 }));
                if ino == 0 {
                    continue;
                }
                let generation = le_u32(raw, 8);
                let finite = (0..dim).all(|k| {
                    let bits = le_u32(raw, VEC_SLOT_HEAD + 4 * k);
                    (bits >> 23) & 0xff != 0xff
                });
                let owner_ok = self.nodes.get(&ino).is_some_and(|n| {
                    !n.bad
                        && n.d.generation.get() == generation
                        && n.d.vec_slot.get() == slot.saturating_add(1)
                });
                if owner_ok && finite {
                    owners.insert(slot, ino);
                    continue;
                }
                if self.writable() && !self.nodes.contains_key(&ino) && self.freed.contains(&ino) {
                    // The vector of an inode this run freed goes with it.
                    if let Some(dst) = buf.get_mut(off..off + size) {
                        dst.fill(0);
                    }
                    changed = true;
                    self.freed_slots += 1;
                    self.slot_heads.insert(slot, (0, 0, 0));
                    self.own_free_slots.insert(slot);
                    self.line(format!(
                        "vector slot {} of freed inode {}: freeing it",
                        slot, ino
                    ));
                    continue;
                }
                let why = if !owner_ok {
                    match self.nodes.get(&ino) {
                        None => format!("names inode {} which is not in use", ino),
                        Some(n) if n.d.generation.get() != generation => format!(
                            "names inode {} generation {}, the inode has {}",
                            ino,
                            generation,
                            n.d.generation.get()
                        ),
                        Some(_) => format!("names inode {} which does not name it", ino),
                    }
                } else {
                    "holds a non-finite value".into()
                };
                // An orphan slot is freed by mount anyway; a corrupt value is data loss.
                let fix = self.decide(!owner_ok);
                if fix {
                    if let Some(dst) = buf.get_mut(off..off + size) {
                        dst.fill(0);
                    }
                    changed = true;
                    self.slot_heads.insert(slot, (0, 0, 0));
                }
                self.problem(
                    "vec_orphan_slot",
                    format!("vector slot {} {}: freeing the slot", slot, why),
                    fix,
                );
            }
            if changed || reseal {
                self.seal_write(blk, &mut buf);
            }
        }
    }

    /// The graph on disk and the slot lists (images with
    /// `FEATURE_RO_COMPAT_VEC_ROWS`; older ones are converted by the next
    /// read-write mount).
    fn check_graph(&mut self, owners: &BTreeMap<u64, u64>) {
        if self.sb.feature_ro_compat.get() & FEATURE_RO_COMPAT_VEC_ROWS == 0 {
            if self.verbose {
                self.line(
                    "vector graph not on disk yet (the next read-write mount builds it)".into(),
                );
            }
            return;
        }
        let cap = self.sb.vec_capacity.get();
        let per = u64::from(self.sb.vec_slots_per_block.get());
        let limit = self
            .sb
            .vec_slot_blocks_inited
            .get()
            .saturating_mul(per)
            .min(cap);
        let max_live = owners.keys().next_back().map_or(0, |&s| s + 1);
        let mut high = self.sb.vec_slot_high.get();
        if high > limit || high < max_live {
            let fix = self.decide(true);
            let want = limit.max(max_live);
            self.problem(
                "vec_slot_high",
                format!(
                    "vector slot high-water mark is {}, the slots say {}",
                    high, want
                ),
                fix,
            );
            if fix {
                self.sb.vec_slot_high = U64::new(want);
                self.sb_dirty = true;
            }
            high = want;
        }
        self.check_lists(high);
        self.check_rows(owners);
    }

    fn check_lists(&mut self, high: u64) {
        let mut on_list: BTreeSet<u64> = BTreeSet::new();
        let mut why: Vec<String> = Vec::new();
        for (name, head) in [
            ("free", self.sb.vec_free_head.get()),
            ("dead", self.sb.vec_dead_head.get()),
        ] {
            let mut cur = head;
            while cur != 0 {
                let s = cur - 1;
                let bad = if s >= high {
                    Some(format!(
                        "names slot {} past the high-water mark {}",
                        s, high
                    ))
                } else if on_list.contains(&s) {
                    Some(format!("meets slot {} twice", s))
                } else {
                    match self.slot_heads.get(&s) {
                        Some(&(0, next, _)) => {
                            on_list.insert(s);
                            cur = u64::from(next);
                            None
                        }
                        _ => Some(format!("names slot {} which is in use", s)),
                    }
                };
                if let Some(b) = bad {
                    why.push(format!("the {} slot list {}", name, b));
                    break;
                }
            }
        }
        let free: Vec<u64> = (0..high)
            .filter(|s| self.slot_heads.get(s).is_none_or(|h| h.0 == 0))
            .collect();
        let missing: Vec<u64> = free
            .iter()
            .copied()
            .filter(|s| !on_list.contains(s) && !self.own_free_slots.contains(s))
            .collect();
        if let Some(first) = missing.first() {
            why.push(format!(
                "{} free vector slots are on no list (the first: {})",
                missing.len(),
                first
            ));
        }
        let own = free
            .iter()
            .any(|s| !on_list.contains(s) && self.own_free_slots.contains(s));
        if why.is_empty() {
            if own && self.writable() {
                // Part of freeing those inodes.
                self.rebuild_lists(&free);
            }
            return;
        }
        // Every free slot goes on the dead list: the core unlinks each from
        // the graph after the next commit (harmless when it was not linked).
        let fix = self.decide(true);
        let done = fix && self.rebuild_lists(&free);
        self.problem(
            "vec_slot_list",
            format!(
                "{}: rebuilding the free and dead slot lists",
                why.join("; ")
            ),
            done,
        );
    }

    /// Chain `free` (ascending) into the dead list; the free list empty.
    fn rebuild_lists(&mut self, free: &[u64]) -> bool {
        let per = u64::from(self.sb.vec_slots_per_block.get()).max(1);
        let size = self.sb.vec_slot_size.get() as usize;
        let start = self.sb.vector_start.get();
        let mut by_block: BTreeMap<u64, Vec<(u64, u32)>> = BTreeMap::new();
        for (i, &s) in free.iter().enumerate() {
            let next = free.get(i + 1).map_or(0, |&n| n + 1) as u32;
            by_block.entry(s / per).or_default().push((s, next));
        }
        for (b, list) in by_block {
            let blk = start + b;
            let Some(mut buf) = self.read(blk) else {
                return false;
            };
            for (s, next) in list {
                let off = HEADER_SIZE + (s % per) as usize * size;
                if let Some(dst) = buf.get_mut(off..off + 8) {
                    dst.fill(0);
                }
                if let Some(dst) = buf.get_mut(off + 8..off + 12) {
                    dst.copy_from_slice(&next.to_le_bytes());
                }
                self.slot_heads.insert(s, (0, next, 0));
            }
            if !self.seal_write(blk, &mut buf) {
                return false;
            }
        }
        self.sb.vec_free_head = U64::new(0);
        self.sb.vec_dead_head = U64::new(free.first().map_or(0, |&s| s + 1));
        self.sb_dirty = true;
        true
    }

    /// Each live slot's rows, at every level of it, and the entry point.
    fn check_rows(&mut self, owners: &BTreeMap<u64, u64>) {
        let cap = self.sb.vec_capacity.get();
        let m = self.sb.hnsw_m.get();
        let lay = GraphLayout::new(m, u32::try_from(cap).unwrap_or(u32::MAX));
        let area = self.sb.vector_start.get() + self.sb.vec_slot_blocks.get();
        let owner = u64::from(self.sb.fs_tag());
        let seed = u64::from_le_bytes(self.sb.uuid[..8].try_into().unwrap_or([0; 8]));
        let level = |s: u64| level_of(seed, m, s as u32).min(lay.top);
        // Per graph block: Some(contents) when intact, None when never
        // written or damaged (the reason is reported once).
        let mut blocks: BTreeMap<u64, Option<BlockBuf>> = BTreeMap::new();
        for &s in owners.keys() {
            let tag = self.slot_heads.get(&s).map_or(0, |h| h.2);
            let mut bad: Option<String> = None;
            if tag == 0 {
                bad = Some("has tag 0".into());
            }
            for l in 0..=level(s) {
                if bad.is_some() {
                    break;
                }
                let span = u64::from(lay.m).saturating_pow(l).max(1);
                let Some((blk, off)) = lay.locate(l, s / span) else {
                    bad = Some(format!("has no room for its level-{} row", l));
                    break;
                };
                if let alloc::collections::btree_map::Entry::Vacant(slot) = blocks.entry(blk) {
                    let got = self.read(area + blk);
                    let checked = match got {
                        Some(buf) => {
                            match check_block(&buf, BLOCK_MAGIC_VROWS, area + blk, Some(owner)) {
                                BlockCheck::Ok(_) => Some(buf),
                                BlockCheck::BadSum(_) => {
                                    self.finding(
                                        "vec_graph_block",
                                        format!(
                                            "vector graph block {} checksum mismatch",
                                            area + blk
                                        ),
                                        Severity::Error,
                                        false,
                                    );
                                    None
                                }
                                BlockCheck::Bad(_) => None,
                            }
                        }
                        None => None,
                    };
                    slot.insert(checked);
                }
                let Some(Some(buf)) = blocks.get(&blk) else {
                    bad = Some(format!(
                        "level-{} row is in a block never written or damaged",
                        l
                    ));
                    break;
                };
                let width = if l == 0 { 2 * m as usize } else { m as usize };
                let head = if l == 0 {
                    GRAPH_ROW_HEAD
                } else {
                    GRAPH_UPPER_HEAD
                };
                let rec = buf.get(off..off + head + 4 * width).unwrap_or(&[]);
                if le_u32(rec, 0) != tag {
                    bad = Some(format!(
                        "level-{} row has tag {}, the slot {}",
                        l,
                        le_u32(rec, 0),
                        tag
                    ));
                    break;
                }
                let mut seen: BTreeSet<u32> = BTreeSet::new();
                let mut pad = false;
                for k in 0..width {
                    let n = le_u32(rec, head + 4 * k);
                    if n == u32::MAX {
                        pad = true;
                        continue;
                    }
                    let why = if pad {
                        Some("a link after the padding")
                    } else if u64::from(n) >= cap {
                        Some("a link past the capacity")
                    } else if u64::from(n) == s {
                        Some("a link to itself")
                    } else if !seen.insert(n) {
                        Some("a link twice")
                    } else if owners.contains_key(&u64::from(n)) && level(u64::from(n)) < l {
                        Some("a link to a node below that level")
                    } else {
                        None
                    };
                    if let Some(why) = why {
                        bad = Some(format!("level-{} row has {} ({})", l, why, n));
                        break;
                    }
                }
            }
            if let Some(why) = bad {
                let fix = self.decide(true);
                self.problem(
                    "vec_graph_row",
                    format!("vector slot {}: {}: linking it again", s, why),
                    fix,
                );
                if fix {
                    self.relink.push(s as u32);
                }
            }
        }
        // The entry point: a live node of the highest level in use.
        let best = owners
            .keys()
            .map(|&s| (level(s), core::cmp::Reverse(s)))
            .max();
        let (entry, top) = (self.sb.vec_entry.get(), self.sb.vec_top_level.get());
        let ok = match best {
            None => entry == 0 && top == 0,
            Some((bl, _)) => {
                entry.checked_sub(1).is_some_and(|e| {
                    owners.contains_key(&u64::from(e)) && level(u64::from(e)) == top
                }) && top == bl
            }
        };
        if !ok {
            let fix = self.decide(true);
            let (e, t) = best.map_or((0, 0), |(l, core::cmp::Reverse(s))| (s as u32 + 1, l));
            self.problem(
                "vec_entry",
                format!(
                    "vector graph entry point is slot {} at level {}: setting slot {} at level {}",
                    i64::from(entry) - 1,
                    top,
                    i64::from(e) - 1,
                    t
                ),
                fix,
            );
            if fix {
                self.sb.vec_entry = U32::new(e);
                self.sb.vec_top_level = U32::new(t);
                self.sb_dirty = true;
            }
        }
    }

    /// Link again, through the core, the nodes whose rows were bad (after
    /// every other repair is on disk).
    fn relink_rows(&mut self) {
        if self.relink.is_empty() || !self.writable() {
            return;
        }
        let list = core::mem::take(&mut self.relink);
        let r = match crate::Fs::mount(&mut *self.dev, false) {
            Ok(mut fs) => {
                let r = fs.vec_relink(&list);
                let (_, u) = fs.unmount();
                r.and(u)
            }
            Err(e) => Err(e),
        };
        match r {
            Ok(()) => self.line(format!("{} vector graph nodes linked again", list.len())),
            Err(e) => self.problem(
                "vec_graph_row",
                format!(
                    "linking {} vector graph nodes again failed: {}",
                    list.len(),
                    e
                ),
                false,
            ),
        }
        self.rep.modified = true;
    }

    // ---- end ----

    fn finish(&mut self) {
        if self.writable() {
            let clean = self.rep.uncorrected() == 0;
            let state = if clean { STATE_CLEAN } else { STATE_ERRORS };
            if self.sb.state.get() != state {
                self.sb.state = U16::new(state);
                self.sb_dirty = true;
            }
            if self.sb_dirty {
                let Some(mut buf) = self.read(0) else { return };
                self.sb.seal();
                if let Some(dst) = buf.get_mut(..SUPERBLOCK_SIZE) {
                    dst.copy_from_slice(self.sb.as_bytes());
                }
                self.write(0, &buf);
            }
            if self.rep.modified && self.dev.flush().is_err() {
                self.problem("io", "flushing the device failed".into(), false);
            }
        }
    }
}

/// Which vector parameter of a superblock with a vector space is outside
/// what mkfs.vexfs writes and the mount accepts (format::VEC_*).
fn vec_param_problem(sb: &Superblock) -> Option<String> {
    if sb.vec_dim.get() == 0 {
        return None;
    }
    let checks = [
        ("hnsw_m", sb.hnsw_m.get(), VEC_MIN_M, VEC_MAX_M),
        (
            "hnsw_ef_construction",
            sb.hnsw_ef_construction.get(),
            1,
            VEC_MAX_EF_CONSTRUCTION,
        ),
        ("hnsw_ef_search", sb.hnsw_ef_search.get(), 1, VEC_MAX_EF),
        ("vec_dim", sb.vec_dim.get(), 1, VEC_MAX_DIM),
        ("vec_metric", sb.vec_metric.get(), 1, 3),
    ];
    checks
        .into_iter()
        .find(|&(_, v, lo, hi)| !(lo..=hi).contains(&v))
        .map(|(name, v, lo, hi)| format!("{} is {}, must be {}..={}", name, v, lo, hi))
}

fn put_entry(buf: &mut [u8], at: usize, rec_len: usize, ino: u64, ft: u8, name: &[u8]) -> bool {
    let h = DirEntryHead {
        ino: U64::new(ino),
        rec_len: U16::new(rec_len as u16),
        name_len: name.len() as u8,
        file_type: ft,
    };
    let Some(dst) = buf.get_mut(at..at + DIRENT_HEAD) else {
        return false;
    };
    dst.copy_from_slice(h.as_bytes());
    let Some(dst) = buf.get_mut(at + DIRENT_HEAD..at + DIRENT_HEAD + name.len()) else {
        return false;
    };
    dst.copy_from_slice(name);
    true
}

/// A zeroed block for the checker (a host tool: allocation failure aborts it).
fn fsck_block() -> crate::dev::BlockBuf {
    alloc::boxed::Box::new([0u8; BLOCK_SIZE])
}
