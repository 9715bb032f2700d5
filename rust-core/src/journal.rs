//! The metadata journal: physical block journaling with ordered data.
//!
//! Every metadata block the core changes goes into the running transaction
//! (an in-memory map from home block to its new contents) instead of to its
//! home. Commit writes the transaction to the circular log in the journal
//! area as descriptor blocks (home block numbers and a checksum of each block)
//! and copies of the blocks; a flush makes them and the file data written
//! before the commit durable (ordered mode); then the commit block, whose
//! checksum covers the descriptors, and a second flush. Only then are the
//! blocks written home. A torn commit fails its checks (a copy's checksum,
//! the commit block) and is ignored at replay.
//!
//! Blocks freed in the running transaction are not handed out again until
//! it commits: new file data written to them before the commit would land in
//! a block the committed metadata still gives to its old owner.
//!
//! The journal superblock names the oldest transaction that may not be home
//! yet (the tail). A checkpoint makes every home write durable (flush) and
//! moves the tail to the head; it happens when the log would overflow, and
//! at unmount, so a cleanly unmounted filesystem has nothing to replay.
//!
//! A block freed while it has a copy in the log gets a revoke record, so a
//! replay never writes an old metadata copy over what the block holds after
//! reuse (file data).
//!
//! Ordered data: file data reaches the device outside the journal. In the
//! userspace data path it is written before the commit; in the kernel the
//! shim writes back the data of every inode that got new blocks in the
//! transaction (`ordered_inodes`) before asking for the commit.

use crate::dev::{new_block, BlockBuf, Device, LogLevel};
use crate::format::{
    crc32c, crc32c_u32s, seal_block, verify_block, BlockHeader, DiskInode, Superblock,
    BLOCK_MAGIC_BBITMAP, BLOCK_MAGIC_DIR, BLOCK_MAGIC_EXTENT, BLOCK_MAGIC_IBITMAP,
    BLOCK_MAGIC_JCOMMIT, BLOCK_MAGIC_JDESC, BLOCK_MAGIC_JSUPER, BLOCK_MAGIC_VSLOT, BLOCK_SIZE,
    HEADER_SIZE, INODES_PER_BLOCK, INODE_SIZE,
};
use crate::{Errno, Result};
use alloc::vec::Vec;
use hashbrown::{HashMap, HashSet};
use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Payload of the journal superblock (first block of the journal area).
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Clone, Debug)]
#[repr(C)]
pub struct JournalSuper {
    /// Log position (0-based, after the journal superblock) of the tail.
    pub tail_pos: U64,
    /// Sequence number of the transaction expected at the tail.
    pub tail_seq: U64,
    /// `Superblock::fs_tag()`: a log left by an earlier filesystem never replays.
    pub fs_tag: U32,
    pub pad: U32,
}

/// Fixed part of descriptor and commit blocks, after the block header.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Clone, Debug)]
#[repr(C)]
pub struct JournalRecord {
    pub seq: U64,
    pub fs_tag: U32,
    /// Descriptor: entries that follow. Commit: crc32c of all the
    /// transaction's descriptor blocks.
    pub value: U32,
}

/// One descriptor entry: a block copy (which follows in the log) or a revoke.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Clone, Debug)]
#[repr(C)]
pub struct JournalEntry {
    pub home: U64,
    /// `copy_crc` of the block copy (0 for revokes).
    pub crc: U32,
    pub flags: U32,
}

pub const ENTRY_REVOKE: u32 = 1;
const RECORD_SIZE: usize = core::mem::size_of::<JournalRecord>();
const ENTRY_SIZE: usize = core::mem::size_of::<JournalEntry>();
/// Entries in one descriptor block.
pub const ENTRIES_PER_DESC: usize = (BLOCK_SIZE - HEADER_SIZE - RECORD_SIZE) / ENTRY_SIZE;

/// Checksum of a block copy in the log: CRC-32 (ISO-HDLC, not crc32c) of
/// the transaction's sequence number, the home block number and the copy.
/// Not crc32c: a block made of records that each end in their own crc32c
/// (the superblock, inode table blocks) has the same crc32c as a whole
/// whatever it holds (the CRC residue), so a stale copy of such a block,
/// left at that log position by an earlier transaction, would pass for the
/// one a torn commit never wrote, and replay would write it home.
/// Slice-by-16 tables: the same values as the byte-wise table, several
/// times faster; every block of every commit is summed (many per commit
/// once creates spread over the leaves of a big directory).
static COPY_CRC: crc::Crc<u32, crc::Table<16>> =
    crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISO_HDLC);

pub fn copy_crc(seq: u64, home: u64, data: &[u8]) -> u32 {
    let mut d = COPY_CRC.digest();
    d.update(&seq.to_le_bytes());
    d.update(&home.to_le_bytes());
    d.update(data);
    d.finalize()
}

/// The error of a journal read that ran out of memory (not damage).
pub const OUT_OF_MEMORY: &str = "out of memory reading the journal";

/// The errno for a journal error: ENOMEM for want of memory, else damage.
pub fn errno_of(why: &str) -> Errno {
    if why == OUT_OF_MEMORY {
        Errno::ENOMEM
    } else {
        Errno::EUCLEAN
    }
}

/// Smallest journal area: the superblock plus a log that holds any single
/// operation's transaction (mkfs never makes a smaller one).
pub const MIN_JOURNAL_BLOCKS: u64 = 64;

/// What an operation changed in the running transaction, to undo it when
/// the operation fails half-way (`Fs::op`).
struct Undo {
    /// Block -> its copy in the running transaction before the operation
    /// first touched it (None: it had none).
    blocks: HashMap<u64, Option<BlockBuf>>,
    freed_len: usize,
    freed_count: u64,
    revoked_added: Vec<u64>,
    ordered_added: Vec<u64>,
    /// Something could not be recorded (or was committed): no rollback.
    broken: bool,
}

/// The in-memory journal of a mounted filesystem.
pub struct Journal {
    /// Device block of the journal superblock; the log follows it.
    start: u64,
    /// Log positions.
    len: u64,
    fs_tag: u32,
    tail_pos: u64,
    tail_seq: u64,
    head_pos: u64,
    next_seq: u64,
    /// Positions between tail and head.
    used: u64,
    /// The running transaction: home block -> new contents.
    running: HashMap<u64, BlockBuf>,
    /// Blocks freed in the running transaction that have copies in the log.
    revoked: HashSet<u64>,
    /// Home blocks with a copy in the log since the tail.
    logged: HashSet<u64>,
    /// Inodes that got new data blocks in the running transaction.
    ordered: HashSet<u64>,
    /// Block ranges freed in the running transaction (first, count): not
    /// allocatable until it commits.
    freed: Vec<(u64, u64)>,
    freed_count: u64,
    /// The tail moved: the journal superblock must be written before the log is reused.
    super_dirty: bool,
    /// Commits and blocks written since mount (statistics, tests).
    pub commits: u64,
    pub blocks_logged: u64,
    pub checkpoints: u64,
    /// Transactions too large for the log, written home unjournaled.
    pub unlogged: u64,
    /// The last commit got as far as writing (an error then is fatal to
    /// the journal; before it, the transaction is still running).
    pub io_started: bool,
    /// The savepoint of the operation in progress.
    undo: Option<Undo>,
}

/// What recovery found (and, unless only scanning, replayed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    pub transactions: u64,
    pub blocks: u64,
    pub revoked: u64,
    /// Where the next transaction goes, and its sequence number.
    pub end_pos: u64,
    pub next_seq: u64,
}

/// Device block of log position `pos`.
fn log_block(start: u64, len: u64, pos: u64) -> u64 {
    start + 1 + pos % len
}

/// Read and validate the journal superblock of the filesystem described by `sb`.
pub fn read_super<D: Device>(
    dev: &mut D,
    sb: &Superblock,
) -> core::result::Result<JournalSuper, &'static str> {
    let start = sb.journal_start.get();
    if sb.journal_blocks.get() < MIN_JOURNAL_BLOCKS {
        return Err("journal area too small");
    }
    // The callers' arithmetic on log positions (start + 1 + pos % len, the
    // end of the area) stays inside the filesystem: no overflow, even for
    // a superblock that was not decoded.
    match start.checked_add(sb.journal_blocks.get()) {
        Some(end) if end <= sb.block_count.get() => {}
        _ => return Err("journal area outside the filesystem"),
    }
    let mut buf = new_block().map_err(|_| OUT_OF_MEMORY)?;
    dev.read_block(start, &mut buf)
        .map_err(|_| "read error on the journal superblock")?;
    verify_block(&buf, BLOCK_MAGIC_JSUPER, start, Some(0))?;
    let js = JournalSuper::read_from_prefix(buf.get(HEADER_SIZE..).unwrap_or(&[]))
        .map_err(|_| "short journal superblock")?
        .0;
    if js.fs_tag.get() != sb.fs_tag() {
        return Err("journal belongs to another filesystem");
    }
    if js.tail_pos.get() >= sb.journal_blocks.get() - 1 || js.tail_seq.get() == 0 {
        return Err("journal tail out of range");
    }
    Ok(js)
}

/// Encode the journal superblock of the journal area starting at `start`.
pub fn encode_super(start: u64, tail_pos: u64, tail_seq: u64, fs_tag: u32) -> Result<BlockBuf> {
    let js = JournalSuper {
        tail_pos: U64::new(tail_pos),
        tail_seq: U64::new(tail_seq),
        fs_tag: U32::new(fs_tag),
        pad: U32::new(0),
    };
    let mut buf = new_block()?;
    let h = BlockHeader::new(BLOCK_MAGIC_JSUPER, start, 0);
    put(&mut buf, 0, h.as_bytes());
    put(&mut buf, HEADER_SIZE, js.as_bytes());
    seal_block(&mut buf);
    Ok(buf)
}

/// A fresh, empty journal superblock (mkfs, fsck repair).
pub fn fresh_super(sb: &Superblock) -> Result<BlockBuf> {
    encode_super(sb.journal_start.get(), 0, 1, sb.fs_tag())
}

fn put(buf: &mut [u8; BLOCK_SIZE], off: usize, bytes: &[u8]) {
    if let Some(dst) = buf.get_mut(off..off + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// One transaction found in the log.
struct Found {
    pos: u64,
    seq: u64,
    positions: u64,
}

/// Walks the log from the tail, validating whole transactions.
struct Scanner<'a, D: Device> {
    dev: &'a mut D,
    start: u64,
    len: u64,
    fs_tag: u32,
    /// The filesystem's layout: where each kind of journaled block may go.
    sb: &'a Superblock,
    /// Buffers allocated once, before the scan: with room for the largest
    /// transaction the log can hold, the scan itself never allocates (an
    /// allocation failure must not look like the end of the log).
    buf: BlockBuf,
    data: BlockBuf,
    desc_crc: Vec<u32>,
    /// (home, log position of the copy, flags)
    entries: Vec<(u64, u64, u32)>,
    /// A buffer could not grow: the scan stopped for want of memory, not
    /// at the end of the log.
    oom: bool,
}

/// Read log position `pos` into `buf`; its device block, or None.
fn read_log<D: Device>(
    dev: &mut D,
    start: u64,
    len: u64,
    pos: u64,
    buf: &mut BlockBuf,
) -> Option<u64> {
    let blk = log_block(start, len, pos);
    dev.read_block(blk, buf).ok()?;
    Some(blk)
}

/// Whether `copy` may be written to `home` by a replay: every journaled
/// block lies in the area of its kind and says so itself (the superblock
/// keeps this filesystem's layout, checksummed blocks name their home), so
/// a transaction that passes its checksums but names a wrong home (a bug,
/// a crafted image) never overwrites the superblock, the journal or
/// anything past the device.
pub fn home_ok(sb: &Superblock, home: u64, copy: &BlockBuf) -> bool {
    let area = |start: u64, len: u64| home >= start && home - start < len;
    let hdr = |magic: u32| verify_block(copy, magic, home, None).is_ok();
    if home == 0 {
        return Superblock::decode(copy, sb.block_count.get()).is_ok_and(|n| {
            n.fs_tag() == sb.fs_tag()
                && n.block_count.get() == sb.block_count.get()
                && n.journal_start.get() == sb.journal_start.get()
                && n.journal_blocks.get() == sb.journal_blocks.get()
                && n.data_start.get() == sb.data_start.get()
        });
    }
    if area(sb.inode_bitmap_start.get(), sb.inode_bitmap_blocks.get()) {
        return hdr(BLOCK_MAGIC_IBITMAP);
    }
    if area(sb.block_bitmap_start.get(), sb.block_bitmap_blocks.get()) {
        return hdr(BLOCK_MAGIC_BBITMAP);
    }
    if area(sb.inode_table_start.get(), sb.inode_table_blocks.get()) {
        // Inodes carry their own checksums (slots never written by this
        // filesystem may hold anything): at least the one written must be
        // sealed for its place.
        let first = (home - sb.inode_table_start.get()) * INODES_PER_BLOCK + 1;
        return copy
            .chunks_exact(INODE_SIZE)
            .zip(first..)
            .any(|(raw, ino)| {
                DiskInode::read_from_bytes(raw)
                    .is_ok_and(|d| d.checksum.get() == d.compute_checksum(ino))
            });
    }
    if area(sb.vector_start.get(), sb.vec_slot_blocks.get()) {
        return hdr(BLOCK_MAGIC_VSLOT);
    }
    if home >= sb.data_start.get() && home < sb.block_count.get() {
        return hdr(BLOCK_MAGIC_DIR) || hdr(BLOCK_MAGIC_EXTENT);
    }
    // The journal itself, the stored vector index (written in place).
    false
}

impl<D: Device> Scanner<'_, D> {
    fn oom_check(&mut self, f: impl FnOnce(&mut Self) -> Result<()>) -> Option<()> {
        if f(self).is_err() {
            self.oom = true;
            return None;
        }
        Some(())
    }

    /// A sealed transaction names a home it may not write: corrupt. It and
    /// everything after it are left unreplayed, like a torn tail, but said.
    fn refuse(&self, seq: u64, home: u64) {
        self.dev.log(
            LogLevel::Err,
            format_args!(
                "journal transaction {} names block {} as a home it may not write: not replayed",
                seq, home
            ),
        );
    }

    /// Validate the transaction `seq` at `pos`; for each valid entry call
    /// `each(home, copy_pos, flags)`. None when it is missing, torn or damaged.
    fn transaction(
        &mut self,
        pos: u64,
        seq: u64,
        each: &mut dyn FnMut(&mut Self, u64, u64, u32) -> Option<()>,
    ) -> Option<u64> {
        let mut n = 0u64;
        self.desc_crc.clear();
        self.entries.clear();
        loop {
            crate::dev::resched();
            if n >= self.len {
                return None;
            }
            let blk = read_log(self.dev, self.start, self.len, pos + n, &mut self.buf)?;
            let buf = &self.buf;
            let magic = u32::from_le_bytes(buf.get(..4)?.try_into().ok()?);
            if magic == BLOCK_MAGIC_JCOMMIT {
                let h = verify_block(buf, BLOCK_MAGIC_JCOMMIT, blk, Some(seq)).ok()?;
                let rec = JournalRecord::read_from_prefix(buf.get(HEADER_SIZE..)?)
                    .ok()?
                    .0;
                if rec.seq.get() != seq
                    || rec.fs_tag.get() != self.fs_tag
                    || u64::from(h.count.get()) != n
                    || rec.value.get() != crc32c_u32s(&self.desc_crc)
                {
                    return None;
                }
                break;
            }
            let h = verify_block(buf, BLOCK_MAGIC_JDESC, blk, Some(seq)).ok()?;
            let rec = JournalRecord::read_from_prefix(buf.get(HEADER_SIZE..)?)
                .ok()?
                .0;
            let count = rec.value.get() as usize;
            if rec.seq.get() != seq
                || rec.fs_tag.get() != self.fs_tag
                || count > ENTRIES_PER_DESC
                || h.count.get() as usize != count
            {
                return None;
            }
            let c = crc32c(&[buf.as_slice()]);
            self.oom_check(|s| crate::mem::push(&mut s.desc_crc, c))?;
            n += 1;
            for i in 0..count {
                let off = HEADER_SIZE + RECORD_SIZE + i * ENTRY_SIZE;
                let e = JournalEntry::read_from_prefix(self.buf.get(off..)?).ok()?.0;
                let home = e.home.get();
                let (flags, crc) = (e.flags.get(), e.crc.get());
                let journal_end = self.start + self.len + 1;
                if home >= self.sb.block_count.get()
                    || (home >= self.start && home < journal_end)
                    || flags & !ENTRY_REVOKE != 0
                {
                    self.refuse(seq, home);
                    return None;
                }
                if flags & ENTRY_REVOKE != 0 {
                    self.oom_check(|s| crate::mem::push(&mut s.entries, (home, 0, flags)))?;
                    continue;
                }
                if n >= self.len {
                    return None;
                }
                read_log(self.dev, self.start, self.len, pos + n, &mut self.data)?;
                if copy_crc(seq, home, self.data.as_slice()) != crc {
                    return None;
                }
                if !home_ok(self.sb, home, &self.data) {
                    self.refuse(seq, home);
                    return None;
                }
                self.oom_check(|s| crate::mem::push(&mut s.entries, (home, pos + n, flags)))?;
                n += 1;
            }
        }
        let entries = core::mem::take(&mut self.entries);
        let mut r = Some(n + 1);
        for &(home, at, flags) in &entries {
            if each(self, home, at, flags).is_none() {
                r = None;
                break;
            }
        }
        self.entries = entries;
        r
    }

    /// All complete transactions from the tail, oldest first.
    fn scan(&mut self, js: &JournalSuper, revokes: &mut HashMap<u64, u64>, found: &mut Vec<Found>) {
        let mut pos = js.tail_pos.get();
        let mut seq = js.tail_seq.get();
        let mut scanned = 0u64;
        while scanned < self.len {
            let this = seq;
            let mut note = |s: &mut Self, home: u64, _: u64, flags: u32| {
                if flags & ENTRY_REVOKE != 0 {
                    let r = revokes.get(&home).copied().unwrap_or(0);
                    if crate::mem::map_insert(revokes, home, core::cmp::max(r, this)).is_err() {
                        s.oom = true;
                        return None;
                    }
                }
                Some(())
            };
            let Some(positions) = self.transaction(pos, seq, &mut note) else {
                break;
            };
            if scanned + positions > self.len {
                break;
            }
            if crate::mem::push(
                found,
                Found {
                    pos,
                    seq,
                    positions,
                },
            )
            .is_err()
            {
                self.oom = true;
                break;
            }
            scanned += positions;
            pos = (pos + positions) % self.len;
            seq = seq.wrapping_add(1);
        }
    }
}

/// Find the complete transactions in the log after the tail and hand each
/// block copy that is not revoked by a later transaction to `sink`, oldest
/// first. Nothing is written: the caller applies (mount, fsck -y) or
/// overlays (fsck -n) what it gets. Bounded: at most one pass over the log
/// to validate and one to deliver.
pub fn recover<D: Device>(
    dev: &mut D,
    sb: &Superblock,
    sink: &mut dyn FnMut(&mut D, u64, &BlockBuf) -> Result<()>,
) -> core::result::Result<Recovery, &'static str> {
    let js = read_super(dev, sb)?;
    let start = sb.journal_start.get();
    let len = sb.journal_blocks.get() - 1;
    const OOM: &str = OUT_OF_MEMORY;
    let mut revokes: HashMap<u64, u64> = HashMap::new();
    let cap = usize::try_from(len).map_err(|_| OOM)?;
    let mut found = crate::mem::vec_with_capacity(cap.min(4096)).map_err(|_| OOM)?;
    let mut sc = Scanner {
        dev,
        start,
        len,
        fs_tag: sb.fs_tag(),
        sb,
        buf: new_block().map_err(|_| OOM)?,
        data: new_block().map_err(|_| OOM)?,
        desc_crc: crate::mem::vec_with_capacity(cap.min(4096)).map_err(|_| OOM)?,
        entries: crate::mem::vec_with_capacity(cap.min(65536)).map_err(|_| OOM)?,
        oom: false,
    };
    sc.scan(&js, &mut revokes, &mut found);
    if sc.oom {
        return Err(OOM);
    }
    let mut rec = Recovery {
        transactions: found.len() as u64,
        end_pos: js.tail_pos.get(),
        next_seq: js.tail_seq.get(),
        ..Recovery::default()
    };
    let mut failed = false;
    for f in &found {
        let mut blocks = 0u64;
        let mut skipped = 0u64;
        let mut apply = |s: &mut Scanner<'_, D>, home: u64, at: u64, flags: u32| {
            if flags & ENTRY_REVOKE != 0 {
                return Some(());
            }
            if revokes.get(&home).is_some_and(|&r| r > f.seq) {
                skipped += 1;
                return Some(());
            }
            read_log(s.dev, s.start, s.len, at, &mut s.data)?;
            if sink(s.dev, home, &s.data).is_err() {
                failed = true;
                return None;
            }
            blocks += 1;
            Some(())
        };
        // Validated by the scan: failing now is a write or read error, not
        // a torn tail, and the transactions before it are already applied.
        if sc.transaction(f.pos, f.seq, &mut apply).is_none() {
            return Err(if failed {
                "write error while replaying the journal"
            } else {
                "journal changed or became unreadable during replay"
            });
        }
        rec.blocks += blocks;
        rec.revoked += skipped;
        rec.end_pos = (f.pos + f.positions) % len;
        rec.next_seq = f.seq.wrapping_add(1);
    }
    Ok(rec)
}

/// Replay the journal onto the device and make the result durable; the
/// journal is empty afterwards. Used at mount and by fsck's repair modes.
pub fn replay<D: Device>(
    dev: &mut D,
    sb: &Superblock,
) -> core::result::Result<Recovery, &'static str> {
    let rec = recover(dev, sb, &mut |d: &mut D, home, buf| {
        d.write_block(home, buf)
    })?;
    if rec.transactions == 0 {
        return Ok(rec);
    }
    dev.flush().map_err(|_| "flush failed after replay")?;
    let start = sb.journal_start.get();
    encode_super(start, rec.end_pos, rec.next_seq, sb.fs_tag())
        .and_then(|b| dev.write_block(start, &b))
        .and_then(|_| dev.flush())
        .map_err(|_| "cannot write the journal superblock")?;
    Ok(rec)
}

impl Journal {
    /// The journal of a filesystem whose log is empty (just replayed or clean).
    pub fn open<D: Device>(
        dev: &mut D,
        sb: &Superblock,
    ) -> core::result::Result<Self, &'static str> {
        let js = read_super(dev, sb)?;
        let len = sb.journal_blocks.get() - 1;
        Ok(Journal {
            start: sb.journal_start.get(),
            len,
            fs_tag: sb.fs_tag(),
            tail_pos: js.tail_pos.get(),
            tail_seq: js.tail_seq.get(),
            head_pos: js.tail_pos.get(),
            next_seq: js.tail_seq.get(),
            used: 0,
            running: HashMap::new(),
            revoked: HashSet::new(),
            logged: HashSet::new(),
            ordered: HashSet::new(),
            freed: Vec::new(),
            freed_count: 0,
            super_dirty: false,
            commits: 0,
            blocks_logged: 0,
            checkpoints: 0,
            unlogged: 0,
            io_started: false,
            undo: None,
        })
    }

    /// The running transaction's copy of `blocknr`, if it has one.
    pub fn get(&self, blocknr: u64) -> Option<&BlockBuf> {
        self.running.get(&blocknr)
    }

    /// Start recording what the running transaction gets, so that it can
    /// be put back as it is now.
    pub fn savepoint(&mut self) {
        self.undo = Some(Undo {
            blocks: HashMap::new(),
            freed_len: self.freed.len(),
            freed_count: self.freed_count,
            revoked_added: Vec::new(),
            ordered_added: Vec::new(),
            broken: false,
        });
    }

    /// The operation completed: keep what it did.
    pub fn release(&mut self) {
        self.undo = None;
    }

    /// Put the running transaction back as it was at the savepoint.
    /// Needs no memory. False (and nothing done) when it cannot.
    pub fn roll_back(&mut self) -> bool {
        let Some(u) = self.undo.take() else {
            return false;
        };
        // Copies the operation dropped (freed blocks) go back in: room first.
        let back = u
            .blocks
            .iter()
            .filter(|&(b, old)| old.is_some() && !self.running.contains_key(b))
            .count();
        if u.broken || self.running.try_reserve(back).is_err() {
            self.undo = Some(u);
            return false;
        }
        for (blk, old) in u.blocks {
            match old {
                Some(b) => {
                    // Room was reserved: does not allocate.
                    let _ = crate::mem::map_insert(&mut self.running, blk, b);
                }
                None => {
                    self.running.remove(&blk);
                }
            }
        }
        self.freed.truncate(u.freed_len);
        self.freed_count = u.freed_count;
        for b in u.revoked_added {
            self.revoked.remove(&b);
        }
        for i in u.ordered_added {
            self.ordered.remove(&i);
        }
        true
    }

    /// Record `blk`'s current copy before the operation changes it
    /// (ENOMEM before any change when that cannot be had).
    fn note(&mut self, blk: u64) -> Result<()> {
        let Some(u) = self.undo.as_mut() else {
            return Ok(());
        };
        if u.blocks.contains_key(&blk) {
            return Ok(());
        }
        let old = match self.running.get(&blk) {
            Some(b) => {
                let mut c = new_block()?;
                c.copy_from_slice(b.as_slice());
                Some(c)
            }
            None => None,
        };
        crate::mem::map_insert(&mut u.blocks, blk, old).map(|_| ())
    }

    /// Put a metadata block into the running transaction.
    pub fn put(&mut self, blocknr: u64, buf: &[u8; BLOCK_SIZE]) -> Result<()> {
        self.note(blocknr)?;
        match self.running.get_mut(&blocknr) {
            Some(b) => b.copy_from_slice(buf),
            None => {
                let mut b = new_block()?;
                b.copy_from_slice(buf);
                crate::mem::map_insert(&mut self.running, blocknr, b)?;
            }
        }
        Ok(())
    }

    /// Blocks freed in the running transaction (still busy for allocation).
    pub fn freed_count(&self) -> u64 {
        self.freed_count
    }

    /// Mark in `bits` (a bitmap block's bits, bit 0 = block `base`) the
    /// blocks freed in the running transaction, so an allocation skips them.
    pub fn mask_freed(&self, base: u64, bits: &mut [u8]) {
        let end = base + (bits.len() as u64) * 8;
        for &(first, count) in &self.freed {
            let lo = core::cmp::max(first, base);
            let hi = core::cmp::min(first.saturating_add(count), end);
            for b in lo..hi {
                let i = b - base;
                if let Some(x) = bits.get_mut((i / 8) as usize) {
                    *x |= 1 << (i % 8);
                }
            }
        }
    }

    /// Blocks `first..first+count` were freed: drop their pending copies,
    /// and revoke the ones the log holds.
    /// All memory is had before anything changes: a failure leaves the
    /// journal as it was.
    pub fn forget(&mut self, first: u64, count: u64) -> Result<()> {
        let end = first.saturating_add(count);
        let hit = |b: &u64| *b >= first && *b < end;
        let pending = self.running.len() + self.logged.len();
        let candidates: Vec<u64> = if (count as usize) <= pending {
            crate::mem::collect(
                (first..end).filter(|b| self.running.contains_key(b) || self.logged.contains(b)),
            )?
        } else {
            crate::mem::collect(
                self.running
                    .keys()
                    .chain(self.logged.iter())
                    .copied()
                    .filter(hit),
            )?
        };
        self.revoked
            .try_reserve(candidates.len())
            .map_err(|_| Errno::ENOMEM)?;
        for &b in &candidates {
            if self.running.contains_key(&b) {
                self.note(b)?;
            }
        }
        if let Some(u) = self.undo.as_mut() {
            u.revoked_added
                .try_reserve(candidates.len())
                .map_err(|_| Errno::ENOMEM)?;
        }
        crate::mem::push(&mut self.freed, (first, count))?;
        self.freed_count = self.freed_count.saturating_add(count);
        for b in candidates {
            self.running.remove(&b);
            if self.logged.contains(&b) && crate::mem::set_insert(&mut self.revoked, b)? {
                if let Some(u) = self.undo.as_mut() {
                    crate::mem::push(&mut u.revoked_added, b)?;
                }
            }
        }
        Ok(())
    }

    /// Note that inode `ino` got new data blocks in the running transaction.
    pub fn reserve_ordered(&mut self) -> Result<()> {
        self.ordered.try_reserve(1).map_err(|_| Errno::ENOMEM)
    }

    pub fn add_ordered(&mut self, ino: u64) -> Result<()> {
        if let Some(u) = self.undo.as_mut() {
            u.ordered_added.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        }
        if crate::mem::set_insert(&mut self.ordered, ino)? {
            if let Some(u) = self.undo.as_mut() {
                crate::mem::push(&mut u.ordered_added, ino)?;
            }
        }
        Ok(())
    }

    /// Inode `ino` was freed: its data needs no writeback any more.
    pub fn drop_ordered(&mut self, ino: u64) {
        self.ordered.remove(&ino);
    }

    pub fn has_ordered(&self) -> bool {
        !self.ordered.is_empty()
    }

    /// Hand out up to `max` inodes whose data must be written before the
    /// commit; they leave the set (the caller writes them).
    pub fn take_ordered(&mut self, max: usize) -> Result<Vec<u64>> {
        let taken: Vec<u64> = crate::mem::collect(self.ordered.iter().copied().take(max))?;
        for i in &taken {
            self.ordered.remove(i);
        }
        Ok(taken)
    }

    /// Log positions the running transaction would take.
    pub fn positions_used(&self) -> u64 {
        self.positions()
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty() && self.revoked.is_empty()
    }

    /// Blocks in the running transaction.
    pub fn pending(&self) -> usize {
        self.running.len() + self.revoked.len()
    }

    /// Log positions.
    pub fn capacity(&self) -> u64 {
        self.len
    }

    /// Log positions the running transaction would take.
    fn positions(&self) -> u64 {
        let entries = (self.running.len() + self.revoked.len()) as u64;
        let descs = core::cmp::max(1, entries.div_ceil(ENTRIES_PER_DESC as u64));
        descs + self.running.len() as u64 + 1
    }

    /// Whether the running transaction should be committed before another
    /// operation adds to it: a quarter of the log keeps any one operation's
    /// additions well inside what is left.
    pub fn wants_commit(&self) -> bool {
        self.positions() > self.len / 4
    }

    /// Make every home write durable and empty the log.
    pub fn checkpoint<D: Device>(&mut self, dev: &mut D) -> Result<()> {
        dev.flush()?;
        self.tail_pos = self.head_pos;
        self.tail_seq = self.next_seq;
        self.used = 0;
        self.logged.clear();
        self.super_dirty = true;
        self.checkpoints += 1;
        self.write_super(dev)
    }

    /// Write the journal superblock if the tail moved, durably: the log
    /// before the new tail is reused right after.
    fn write_super<D: Device>(&mut self, dev: &mut D) -> Result<()> {
        if !self.super_dirty {
            return Ok(());
        }
        let buf = encode_super(self.start, self.tail_pos, self.tail_seq, self.fs_tag)?;
        dev.write_block(self.start, &buf)?;
        dev.flush()?;
        self.super_dirty = false;
        Ok(())
    }

    /// Commit the running transaction: log it, flush, write it home.
    pub fn commit<D: Device>(&mut self, dev: &mut D) -> Result<()> {
        // An operation's changes that get committed can no longer be undone.
        if let Some(u) = self.undo.as_mut() {
            u.broken = true;
        }
        if self.is_empty() {
            self.ordered.clear();
            return Ok(());
        }
        self.io_started = false;
        let need = self.positions();
        if need > self.len {
            return self.commit_unlogged(dev);
        }
        // Every allocation before the first write: running out of memory
        // here leaves the transaction running, nothing lost (no abort).
        let mut homes: Vec<u64> = crate::mem::collect(self.running.keys().copied())?;
        homes.sort_unstable();
        let mut revokes: Vec<u64> = crate::mem::collect(self.revoked.iter().copied())?;
        revokes.sort_unstable();
        let seq = self.next_seq;
        let mut entries: Vec<(u64, u32, u32)> =
            crate::mem::vec_with_capacity(homes.len() + revokes.len())?;
        for &h in &revokes {
            crate::mem::push(&mut entries, (h, 0, ENTRY_REVOKE))?;
        }
        for &h in &homes {
            let crc = self
                .running
                .get(&h)
                .map_or(0, |b| copy_crc(seq, h, b.as_slice()));
            crate::mem::push(&mut entries, (h, crc, 0))?;
        }
        let mut desc_crcs: Vec<u32> =
            crate::mem::vec_with_capacity(entries.len().div_ceil(ENTRIES_PER_DESC).max(1))?;
        let mut desc = new_block()?;
        let mut cb = new_block()?;
        self.logged
            .try_reserve(homes.len())
            .map_err(|_| Errno::ENOMEM)?;
        self.io_started = true;
        if need > self.len - self.used {
            self.checkpoint(dev)?;
        }
        let mut pos = self.head_pos;
        let empty: [(u64, u32, u32); 0] = [];
        let mut chunks = entries.chunks(ENTRIES_PER_DESC);
        let mut first = true;
        while let Some(chunk) = chunks.next().or_else(|| first.then_some(empty.as_slice())) {
            first = false;
            crate::dev::resched();
            desc.fill(0);
            let blk = log_block(self.start, self.len, pos);
            let mut h = BlockHeader::new(BLOCK_MAGIC_JDESC, blk, seq);
            h.count = U32::new(chunk.len() as u32);
            put(&mut desc, 0, h.as_bytes());
            let rec = JournalRecord {
                seq: U64::new(seq),
                fs_tag: U32::new(self.fs_tag),
                value: U32::new(chunk.len() as u32),
            };
            put(&mut desc, HEADER_SIZE, rec.as_bytes());
            for (i, &(home, crc, flags)) in chunk.iter().enumerate() {
                let e = JournalEntry {
                    home: U64::new(home),
                    crc: U32::new(crc),
                    flags: U32::new(flags),
                };
                put(
                    &mut desc,
                    HEADER_SIZE + RECORD_SIZE + i * ENTRY_SIZE,
                    e.as_bytes(),
                );
            }
            seal_block(&mut desc);
            crate::mem::push(&mut desc_crcs, crc32c(&[desc.as_slice()]))?;
            dev.write_block(blk, &desc)?;
            pos += 1;
            for &(home, _, flags) in chunk {
                if flags & ENTRY_REVOKE != 0 {
                    continue;
                }
                let b = self.running.get(&home).ok_or(Errno::EIO)?;
                dev.write_block(log_block(self.start, self.len, pos), b)?;
                pos += 1;
            }
        }
        let blk = log_block(self.start, self.len, pos);
        let mut h = BlockHeader::new(BLOCK_MAGIC_JCOMMIT, blk, seq);
        h.count = U32::new((pos - self.head_pos) as u32);
        put(&mut cb, 0, h.as_bytes());
        let rec = JournalRecord {
            seq: U64::new(seq),
            fs_tag: U32::new(self.fs_tag),
            value: U32::new(crc32c_u32s(&desc_crcs)),
        };
        put(&mut cb, HEADER_SIZE, rec.as_bytes());
        seal_block(&mut cb);
        // Data (ordered mode) and the log before the commit block: the
        // device may reorder what one flush covers.
        dev.flush()?;
        dev.write_block(blk, &cb)?;
        pos += 1;
        dev.flush()?;
        // Committed: the blocks may go home now.
        for (i, &h) in homes.iter().enumerate() {
            crate::dev::resched_every(i, 64);
            if let Some(b) = self.running.get(&h) {
                dev.write_block(h, b)?;
            }
        }
        self.blocks_logged += homes.len() as u64;
        self.commits += 1;
        self.used += pos - self.head_pos;
        self.head_pos = pos % self.len;
        self.next_seq = seq.wrapping_add(1);
        for &h in &homes {
            crate::mem::set_insert(&mut self.logged, h)?;
        }
        self.reset_running();
        Ok(())
    }

    /// The running transaction is done with (committed or written home).
    fn reset_running(&mut self) {
        self.running.clear();
        self.revoked.clear();
        self.ordered.clear();
        self.freed.clear();
        self.freed_count = 0;
    }

    /// A transaction larger than the whole log (no operation makes one:
    /// this is the last resort). Checkpoint, then write it home between
    /// flushes; not atomic, so say so.
    fn commit_unlogged<D: Device>(&mut self, dev: &mut D) -> Result<()> {
        dev.log(
            LogLevel::Warn,
            format_args!(
                "transaction of {} blocks exceeds the journal ({} blocks): written without journaling",
                self.running.len(),
                self.len
            ),
        );
        let mut homes: Vec<u64> = crate::mem::collect(self.running.keys().copied())?;
        self.io_started = true;
        self.checkpoint(dev)?;
        self.unlogged += 1;
        homes.sort_unstable();
        for h in homes {
            if let Some(b) = self.running.get(&h) {
                dev.write_block(h, b)?;
            }
        }
        dev.flush()?;
        self.reset_running();
        Ok(())
    }
}
