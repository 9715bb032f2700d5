//! Directories. A directory of one block is a list of variable-length
//! entries, as in ext2. One that outgrows its block becomes hash-indexed,
//! as ext4's htree: block 0 turns into an index root, interior index blocks
//! are added as it grows (at most `DX_MAX_LEVEL` levels below the root),
//! and the leaves are ordinary directory blocks, each holding the names of
//! one range of hashes. A lookup reads the index path and one leaf (two
//! when a run of equal hashes continues across a split).
//!
//! readdir positions are hash cookies (`hash_cookie`) in every directory,
//! indexed or not, so they stay valid when entries move (a leaf split, the
//! conversion to an index): an entry is returned after every entry with a
//! smaller (cookie, name). Names are unique, so a position inside a run of
//! equal cookies is (cookie, last name returned).

use crate::dev::{new_block, BlockBuf, Device};
use crate::format::*;
use crate::{Errno, Fs, Result};
use alloc::vec::Vec;
use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, IntoBytes};

/// A live directory entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub ino: u64,
    pub file_type: u8,
    pub name: Vec<u8>,
}

/// One entry handed out by [`Fs::readdir_from`].
#[derive(Clone, Copy, Debug)]
pub struct ReadEntry<'a> {
    pub ino: u64,
    pub file_type: u8,
    pub name: &'a [u8],
    /// Position to resume after this entry.
    pub next: u64,
    /// The next entry has the same cookie: resuming at `next` needs this
    /// entry's name as `after` (else entries would be returned twice).
    pub mid_run: bool,
}

/// Where an entry was found: file block index, byte offset in the block.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    pub iblock: u64,
    pub off: usize,
    pub ino: u64,
    pub file_type: u8,
    /// `parent_pos` naming this entry: `PARENT_POS_HASH` | its name's cookie.
    pub hint: u64,
}

impl Slot {
    /// Whether `parent_pos` value `pp` names this entry (by its hash, or by
    /// its byte offset plus one as images before the index recorded it).
    pub fn hinted_by(&self, pp: u64) -> bool {
        pp == self.hint || pp == self.iblock * BLOCK_SIZE as u64 + self.off as u64 + 1
    }
}

/// The directory hash of a filesystem: its seed, and a hook tests use to
/// force collisions.
#[derive(Clone, Copy)]
pub(crate) struct Hasher {
    seed: [u8; 16],
    hook: Option<fn(&[u8]) -> u64>,
}

impl Hasher {
    pub fn hash(&self, name: &[u8]) -> (u32, u32) {
        match self.hook {
            Some(f) => split_hash(f(name)),
            None => dir_hash(&self.seed, name),
        }
    }
    pub fn cookie(&self, name: &[u8]) -> u64 {
        let (a, b) = self.hash(name);
        hash_cookie(a, b)
    }
}

/// Names must be 1..=255 bytes, without '/' or NUL, and not "." or "..".
pub fn check_name(name: &[u8]) -> Result<()> {
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.is_empty() || name == b"." || name == b".." || name.iter().any(|&c| c == b'/' || c == 0)
    {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

fn copy_name(name: &[u8], out: &mut [u8]) -> Result<usize> {
    out.get_mut(..name.len())
        .ok_or(Errno::ERANGE)?
        .copy_from_slice(name);
    Ok(name.len())
}

fn head_at(buf: &[u8], off: usize) -> Option<DirEntryHead> {
    DirEntryHead::read_from_prefix(buf.get(off..)?)
        .ok()
        .map(|(h, _)| h)
}

fn put_head(
    buf: &mut [u8],
    off: usize,
    ino: u64,
    rec_len: usize,
    name_len: usize,
    ft: u8,
) -> Result<()> {
    let h = DirEntryHead {
        ino: U64::new(ino),
        rec_len: U16::new(rec_len as u16),
        name_len: name_len as u8,
        file_type: ft,
    };
    buf.get_mut(off..off + DIRENT_HEAD)
        .ok_or(Errno::EIO)?
        .copy_from_slice(h.as_bytes());
    Ok(())
}

/// The one walker over a validated directory block: `f(off, head, name)`
/// for each live entry in block order, until it returns Some.
fn walk<'a, T>(
    buf: &'a [u8],
    mut f: impl FnMut(usize, &DirEntryHead, &'a [u8]) -> Option<T>,
) -> Option<T> {
    let mut off = HEADER_SIZE;
    while let Some(h) = head_at(buf, off) {
        let rl = h.rec_len.get() as usize;
        if h.ino.get() != 0 {
            let nl = h.name_len as usize;
            if let Some(name) = buf.get(off + DIRENT_HEAD..off + DIRENT_HEAD + nl) {
                if let Some(t) = f(off, &h, name) {
                    return Some(t);
                }
            }
        }
        if rl == 0 {
            break;
        }
        off += rl;
    }
    None
}

/// Put a record for `name` into the free space of `buf`: its offset, or
/// None when no record has room.
fn block_insert(buf: &mut [u8], name: &[u8], ino: u64, ft: u8) -> Result<Option<usize>> {
    let need = dirent_size(name.len());
    let mut off = HEADER_SIZE;
    while let Some(h) = head_at(buf, off) {
        let rl = h.rec_len.get() as usize;
        if rl == 0 {
            break;
        }
        let used = if h.ino.get() == 0 {
            0
        } else {
            dirent_size(h.name_len as usize)
        };
        if rl.saturating_sub(used) >= need {
            let at = if used == 0 {
                off
            } else {
                put_head(
                    buf,
                    off,
                    h.ino.get(),
                    used,
                    h.name_len as usize,
                    h.file_type,
                )?;
                off + used
            };
            put_head(buf, at, ino, rl - used, name.len(), ft)?;
            buf.get_mut(at + DIRENT_HEAD..at + DIRENT_HEAD + name.len())
                .ok_or(Errno::EIO)?
                .copy_from_slice(name);
            return Ok(Some(at));
        }
        off += rl;
    }
    Ok(None)
}

/// Header and one free record: an empty directory block at `pblock`.
fn init_dir_block(buf: &mut [u8; BLOCK_SIZE], pblock: u64, dir: u64) -> Result<()> {
    buf.fill(0);
    let h = BlockHeader::new(BLOCK_MAGIC_DIR, pblock, dir);
    buf.get_mut(..HEADER_SIZE)
        .ok_or(Errno::EIO)?
        .copy_from_slice(h.as_bytes());
    put_head(buf, HEADER_SIZE, 0, BLOCK_SIZE - HEADER_SIZE, 0, 0)
}

/// An entry being moved by a split or a conversion: its name lives in a
/// shared byte buffer.
#[derive(Clone, Copy)]
struct Moved {
    major: u32,
    ino: u64,
    ft: u8,
    name_at: usize,
    name_len: usize,
}

/// Write `ents` packed into a fresh leaf at `pblock`.
fn pack_leaf(
    buf: &mut [u8; BLOCK_SIZE],
    pblock: u64,
    dir: u64,
    ents: &[Moved],
    names: &[u8],
) -> Result<()> {
    init_dir_block(buf, pblock, dir)?;
    let mut off = HEADER_SIZE;
    let last = ents.len().saturating_sub(1);
    for (i, e) in ents.iter().enumerate() {
        let rl = if i == last {
            BLOCK_SIZE - off
        } else {
            dirent_size(e.name_len)
        };
        if off + rl > BLOCK_SIZE {
            return Err(Errno::EIO);
        }
        put_head(buf, off, e.ino, rl, e.name_len, e.ft)?;
        let name = names
            .get(e.name_at..e.name_at + e.name_len)
            .ok_or(Errno::EIO)?;
        buf.get_mut(off + DIRENT_HEAD..off + DIRENT_HEAD + e.name_len)
            .ok_or(Errno::EIO)?
            .copy_from_slice(name);
        off += rl;
    }
    Ok(())
}

// ---- index blocks ----

fn dx_head(buf: &[u8]) -> Option<DxHead> {
    DxHead::read_from_prefix(buf.get(DX_HEAD_OFF..)?)
        .ok()
        .map(|(h, _)| h)
}

fn dx_entry(buf: &[u8], i: usize) -> Option<DxEntry> {
    let at = DX_ENTRIES_OFF + i * DX_ENTRY_SIZE;
    DxEntry::read_from_prefix(buf.get(at..)?)
        .ok()
        .map(|(e, _)| e)
}

fn dx_set_entry(buf: &mut [u8], i: usize, hash: u32, block: u64) -> Result<()> {
    let e = DxEntry {
        hash: U32::new(hash),
        block: U32::new(u32::try_from(block).map_err(|_| Errno::EFBIG)?),
    };
    let at = DX_ENTRIES_OFF + i * DX_ENTRY_SIZE;
    buf.get_mut(at..at + DX_ENTRY_SIZE)
        .ok_or(Errno::EIO)?
        .copy_from_slice(e.as_bytes());
    Ok(())
}

fn dx_set_count(buf: &mut [u8], count: usize) -> Result<()> {
    let at = DX_HEAD_OFF + 8;
    buf.get_mut(at..at + 2)
        .ok_or(Errno::EIO)?
        .copy_from_slice(&(count as u16).to_le_bytes());
    Ok(())
}

/// An empty index block of height `level` at `pblock` (a directory block
/// whose one free record covers the index).
pub fn dx_init(buf: &mut [u8; BLOCK_SIZE], pblock: u64, dir: u64, level: u8) -> Result<()> {
    init_dir_block(buf, pblock, dir)?;
    let h = DxHead {
        magic: U32::new(DX_MAGIC),
        hash_version: DX_HASH_SIPHASH,
        level,
        pad: U16::new(0),
        count: U16::new(0),
        limit: U16::new(DX_LIMIT as u16),
        pad2: U32::new(0),
    };
    buf.get_mut(DX_HEAD_OFF..DX_ENTRIES_OFF)
        .ok_or(Errno::EIO)?
        .copy_from_slice(h.as_bytes());
    Ok(())
}

/// Check an index block's head and entries: what is wrong, if anything.
/// Shared with fsck. `nblocks` bounds the blocks named.
pub fn dx_check(buf: &[u8], nblocks: u64) -> core::result::Result<DxHead, &'static str> {
    let h = dx_check_head(buf)?;
    let mut prev = 0u32;
    for i in 0..h.count.get() as usize {
        let e = dx_entry(buf, i).ok_or("short index block")?;
        let b = u64::from(e.block.get());
        if b == 0 || b >= nblocks {
            return Err("index entry names a block outside the directory");
        }
        if i > 0 && e.hash.get() < prev {
            return Err("index hashes out of order");
        }
        if i > 0 {
            prev = e.hash.get();
        }
    }
    Ok(h)
}

/// The part of [`dx_check`] every lookup does (as ext4's dx_probe): the
/// head, count and limit; each entry taken is bounds-checked when used.
/// (Order is fsck's to check: a misordered index can only misdirect a
/// lookup, never make it read outside the directory.)
fn dx_check_head(buf: &[u8]) -> core::result::Result<DxHead, &'static str> {
    let h = dx_head(buf).ok_or("short index block")?;
    let fake = head_at(buf, DX_FAKE_OFF).ok_or("short index block")?;
    if fake.ino.get() != 0 || fake.rec_len.get() as usize != BLOCK_SIZE - HEADER_SIZE {
        return Err("index block is not one free record");
    }
    if h.magic.get() != DX_MAGIC {
        return Err("bad index magic");
    }
    if h.hash_version != DX_HASH_SIPHASH {
        return Err("unknown hash version");
    }
    if h.level > DX_MAX_LEVEL {
        return Err("index too deep");
    }
    let count = h.count.get() as usize;
    if h.limit.get() as usize != DX_LIMIT || count == 0 || count > DX_LIMIT {
        return Err("bad index count or limit");
    }
    Ok(h)
}

/// One step of an index path: the index block, the entry taken, its count.
#[derive(Clone, Copy, Default, Debug)]
struct Frame {
    iblock: u64,
    at: usize,
    count: usize,
}

/// The path from the root to a leaf.
#[derive(Clone, Copy, Default, Debug)]
struct Path {
    frames: [Frame; DX_MAX_LEVEL as usize + 1],
    depth: usize,
    leaf: u64,
}

/// Candidates gathered for readdir: (cookie, ino, ft, name offset, len).
type Cand = (u64, u64, u8, usize, usize);

impl<D: Device> Fs<D> {
    pub(crate) fn dir_blocks(&mut self, dir: u64) -> Result<u64> {
        let i = self.inode_ref(dir)?;
        if !i.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(i.d.size.get() / BLOCK_SIZE as u64)
    }

    pub(crate) fn hasher(&self) -> Hasher {
        Hasher {
            seed: self.sb.uuid,
            hook: self.dir_hash_hook,
        }
    }

    /// Whether `dir` is hash-indexed.
    pub fn dir_indexed(&mut self, dir: u64) -> Result<bool> {
        Ok(self.inode_ref(dir)?.d.flags.get() & INODE_FLAG_DIR_INDEX != 0)
    }

    /// Read and fully validate directory block `iblock` of `dir`.
    fn read_dir_block(&mut self, dir: u64, iblock: u64) -> Result<(u64, BlockBuf)> {
        let m = self.map_blocks(dir, iblock, 1, false)?;
        if m.len == 0 {
            return Err(self.corrupt(format_args!(
                "directory {} has a hole at block {}",
                dir, iblock
            )));
        }
        let mut buf = new_block()?;
        // A copy this mount wrote (still in the running transaction) was
        // checked when it was read from disk: only its header is looked at.
        let fresh = self.read_blk_fresh(m.pblock, &mut buf)?;
        let checked = if fresh {
            match BlockHeader::read_from_prefix(buf.as_slice()) {
                Ok((h, _))
                    if h.magic.get() == BLOCK_MAGIC_DIR
                        && h.blocknr.get() == m.pblock
                        && h.owner.get() == dir =>
                {
                    Ok(h)
                }
                _ => Err("bad header in a block of the running transaction"),
            }
        } else {
            verify_block(&buf, BLOCK_MAGIC_DIR, m.pblock, Some(dir))
        };
        if let Err(why) = checked {
            return Err(self.corrupt(format_args!(
                "directory {} block {}: {}",
                dir, m.pblock, why
            )));
        }
        let max_ino = self.sb.inode_count.get();
        let mut off = HEADER_SIZE;
        while off < BLOCK_SIZE {
            let ok = match head_at(buf.as_slice(), off) {
                Some(h) => {
                    let rl = h.rec_len.get() as usize;
                    let nl = h.name_len as usize;
                    let live = h.ino.get() != 0;
                    let fits = rl >= DIRENT_HEAD && rl.is_multiple_of(8) && off + rl <= BLOCK_SIZE;
                    let name_ok =
                        !live || (nl > 0 && DIRENT_HEAD + nl <= rl && h.ino.get() <= max_ino);
                    if fits && name_ok {
                        off += rl;
                        true
                    } else {
                        false
                    }
                }
                None => false,
            };
            if !ok {
                return Err(self.corrupt(format_args!(
                    "directory {} block {}: bad entry at offset {}",
                    dir, m.pblock, off
                )));
            }
        }
        Ok((m.pblock, buf))
    }

    fn write_dir_block(&mut self, pblock: u64, buf: &mut BlockBuf) -> Result<()> {
        seal_block(buf);
        self.write_blk(pblock, buf)
    }

    /// Read index block `iblock` of `dir`, checked (of height `level`
    /// when given).
    fn read_dx(
        &mut self,
        dir: u64,
        iblock: u64,
        level: Option<u8>,
    ) -> Result<(u64, BlockBuf, DxHead)> {
        let (pb, buf) = self.read_dir_block(dir, iblock)?;
        match dx_check_head(buf.as_slice()) {
            Ok(h) if level.is_none_or(|l| l == h.level) => Ok((pb, buf, h)),
            Ok(_) => Err(self.corrupt(format_args!(
                "directory {} index block {}: wrong level",
                dir, iblock
            ))),
            Err(why) => Err(self.corrupt(format_args!(
                "directory {} index block {}: {}",
                dir, iblock, why
            ))),
        }
    }

    /// The child an index entry names, checked to be a block of `dir`
    /// other than the root.
    fn dx_child(&mut self, dir: u64, e: &DxEntry) -> Result<u64> {
        let b = u64::from(e.block.get());
        if b == 0 || b >= self.dir_blocks(dir)? {
            return Err(self.corrupt(format_args!(
                "directory {} index entry names block {} outside it",
                dir, b
            )));
        }
        Ok(b)
    }

    /// Descend the index of `dir` to the leaf for major hash `major`: the
    /// last entry at each level whose hash is <= `major` (as ext4's dx_probe).
    fn dx_probe(&mut self, dir: u64, major: u32) -> Result<Path> {
        let mut path = Path::default();
        let mut iblock = 0u64;
        let mut want = None;
        loop {
            let (_, buf, h) = self.read_dx(dir, iblock, want)?;
            let count = h.count.get() as usize;
            // First entry in 1..count above `major`, minus one.
            let (mut lo, mut hi) = (1usize, count);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                let e = dx_entry(buf.as_slice(), mid).ok_or(Errno::EIO)?;
                if e.hash.get() > major {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            let at = lo - 1;
            let e = dx_entry(buf.as_slice(), at).ok_or(Errno::EIO)?;
            let f = path.frames.get_mut(path.depth).ok_or(Errno::EIO)?;
            *f = Frame { iblock, at, count };
            path.depth += 1;
            let child = self.dx_child(dir, &e)?;
            if h.level == 0 {
                path.leaf = child;
                return Ok(path);
            }
            if path.depth > DX_MAX_LEVEL as usize {
                return Err(self.corrupt(format_args!("directory {} index too deep", dir)));
            }
            want = Some(h.level - 1);
            iblock = child;
        }
    }

    /// Move `path` to the next leaf in hash order: that leaf's start hash
    /// (bit 0: it continues the previous one's last run), None after the last.
    fn dx_next(&mut self, dir: u64, path: &mut Path) -> Result<Option<u32>> {
        let mut d = path.depth;
        while d > 0 {
            let f = path.frames.get(d - 1).ok_or(Errno::EIO)?;
            if f.at + 1 < f.count {
                break;
            }
            d -= 1;
        }
        if d == 0 {
            return Ok(None);
        }
        let f = path.frames.get_mut(d - 1).ok_or(Errno::EIO)?;
        f.at += 1;
        let (iblock, at) = (f.iblock, f.at);
        let (_, buf, h) = self.read_dx(dir, iblock, None)?;
        let e = dx_entry(buf.as_slice(), at).ok_or(Errno::EIO)?;
        let start = e.hash.get();
        let mut child = self.dx_child(dir, &e)?;
        let mut level = h.level;
        for lvl in d..path.depth {
            if level == 0 {
                return Err(self.corrupt(format_args!("directory {} index uneven", dir)));
            }
            level -= 1;
            let (_, buf, h) = self.read_dx(dir, child, Some(level))?;
            let f = path.frames.get_mut(lvl).ok_or(Errno::EIO)?;
            *f = Frame {
                iblock: child,
                at: 0,
                count: h.count.get() as usize,
            };
            let e0 = dx_entry(buf.as_slice(), 0).ok_or(Errno::EIO)?;
            child = self.dx_child(dir, &e0)?;
        }
        if level != 0 {
            return Err(self.corrupt(format_args!("directory {} index uneven", dir)));
        }
        path.leaf = child;
        Ok(Some(start))
    }

    /// The first live entry of `dir` `pred(head, name)` accepts. With
    /// `major` in an indexed directory only the leaves for that hash are
    /// read; otherwise every block.
    fn dir_search(
        &mut self,
        dir: u64,
        major: Option<u32>,
        mut pred: impl FnMut(&DirEntryHead, &[u8]) -> bool,
    ) -> Result<Option<(u64, usize, DirEntryHead)>> {
        let indexed = self.dir_indexed(dir)?;
        if let (true, Some(major)) = (indexed, major) {
            let mut path = self.dx_probe(dir, major)?;
            loop {
                let (_, buf) = self.read_dir_block(dir, path.leaf)?;
                if let Some((off, h)) = walk(buf.as_slice(), |off, h, n| {
                    pred(h, n).then(|| (off, h.clone()))
                }) {
                    return Ok(Some((path.leaf, off, h)));
                }
                match self.dx_next(dir, &mut path)? {
                    Some(s) if s & 1 == 1 && s & !1 == major => crate::dev::resched(),
                    _ => return Ok(None),
                }
            }
        }
        let n = self.dir_blocks(dir)?;
        for iblock in 0..n {
            crate::dev::resched();
            let (_, buf) = self.read_dir_block(dir, iblock)?;
            if let Some((off, h)) = walk(buf.as_slice(), |off, h, n| {
                pred(h, n).then(|| (off, h.clone()))
            }) {
                return Ok(Some((iblock, off, h)));
            }
        }
        Ok(None)
    }

    /// Find `name` in `dir`.
    pub(crate) fn dir_find(&mut self, dir: u64, name: &[u8]) -> Result<Option<Slot>> {
        let hs = self.hasher();
        let (major, minor) = hs.hash(name);
        let hint = PARENT_POS_HASH | hash_cookie(major, minor);
        Ok(self
            .dir_search(dir, Some(major), |_, n| n == name)?
            .map(|(iblock, off, h)| Slot {
                iblock,
                off,
                ino: h.ino.get(),
                file_type: h.file_type,
                hint,
            }))
    }

    /// Add an entry; the caller has checked that the name is free. Returns
    /// the `parent_pos` value naming it. A directory of one full block (or
    /// a multi-block one from before the index) is converted to an index
    /// first, in the same transaction.
    pub(crate) fn dir_add(&mut self, dir: u64, name: &[u8], ino: u64, ft: u8) -> Result<u64> {
        check_name(name)?;
        let (major, minor) = self.hasher().hash(name);
        let hint = PARENT_POS_HASH | hash_cookie(major, minor);
        if !self.dir_indexed(dir)? {
            let n = self.dir_blocks(dir)?;
            if n == 0 {
                let (_, pb) = self.dir_new_block(dir, &mut Vec::new())?;
                let mut buf = new_block()?;
                init_dir_block(&mut buf, pb, dir)?;
                block_insert(buf.as_mut_slice(), name, ino, ft)?.ok_or(Errno::EIO)?;
                self.write_dir_block(pb, &mut buf)?;
                return Ok(hint);
            }
            if n == 1 {
                let (pb, mut buf) = self.read_dir_block(dir, 0)?;
                if block_insert(buf.as_mut_slice(), name, ino, ft)?.is_some() {
                    self.write_dir_block(pb, &mut buf)?;
                    return Ok(hint);
                }
            }
            self.dx_convert(dir)?;
        }
        self.dx_add(dir, name, major, ino, ft, &mut Vec::new())?;
        Ok(hint)
    }

    /// A block for `dir`: one of `spare` (blocks a conversion emptied), or
    /// a new one at its end. (file block, device block)
    fn dir_new_block(&mut self, dir: u64, spare: &mut Vec<u64>) -> Result<(u64, u64)> {
        if let Some(b) = spare.pop() {
            let m = self.map_blocks(dir, b, 1, false)?;
            if m.len == 0 {
                return Err(Errno::EIO);
            }
            return Ok((b, m.pblock));
        }
        let n = self.dir_blocks(dir)?;
        if n >= u64::from(u32::MAX) {
            return Err(Errno::EFBIG);
        }
        let m = self.map_blocks(dir, n, 1, true)?;
        let i = self.inode(dir)?;
        i.d.size = U64::new((n + 1) * BLOCK_SIZE as u64);
        self.store_inode(dir)?;
        Ok((n, m.pblock))
    }

    /// Turn `dir` into an indexed directory: block 0 becomes the root,
    /// block 1 its one leaf, the other blocks are emptied, and every entry
    /// is inserted again through the index.
    fn dx_convert(&mut self, dir: u64) -> Result<()> {
        let n = self.dir_blocks(dir)?;
        let mut ents: Vec<Moved> = Vec::new();
        let mut names: Vec<u8> = Vec::new();
        for iblock in 0..n {
            crate::dev::resched();
            let (_, buf) = self.read_dir_block(dir, iblock)?;
            let mut err = Ok(());
            walk(buf.as_slice(), |_, h, name| {
                let e = Moved {
                    major: 0,
                    ino: h.ino.get(),
                    ft: h.file_type,
                    name_at: names.len(),
                    name_len: name.len(),
                };
                err = crate::mem::extend_from_slice(&mut names, name)
                    .and_then(|()| crate::mem::push(&mut ents, e));
                err.is_err().then_some(())
            });
            err?;
        }
        let mut spare = Vec::new();
        let leaf = if n >= 2 {
            for b in (2..n).rev() {
                crate::mem::push(&mut spare, b)?;
            }
            1
        } else {
            self.dir_new_block(dir, &mut spare)?.0
        };
        for b in 1..self.dir_blocks(dir)? {
            let m = self.map_blocks(dir, b, 1, false)?;
            let mut buf = new_block()?;
            init_dir_block(&mut buf, m.pblock, dir)?;
            self.write_dir_block(m.pblock, &mut buf)?;
        }
        let m = self.map_blocks(dir, 0, 1, false)?;
        let mut root = new_block()?;
        dx_init(&mut root, m.pblock, dir, 0)?;
        dx_set_entry(root.as_mut_slice(), 0, 0, leaf)?;
        dx_set_count(root.as_mut_slice(), 1)?;
        self.write_dir_block(m.pblock, &mut root)?;
        let i = self.inode(dir)?;
        i.d.flags = U32::new(i.d.flags.get() | INODE_FLAG_DIR_INDEX);
        self.store_inode(dir)?;
        if self.sb.feature_ro_compat.get() & FEATURE_RO_COMPAT_DIR_INDEX == 0 {
            let f = self.sb.feature_ro_compat.get() | FEATURE_RO_COMPAT_DIR_INDEX;
            self.sb.feature_ro_compat.set(f);
            self.sb_dirty = true;
        }
        let hs = self.hasher();
        for (k, e) in ents.iter().enumerate() {
            crate::dev::resched_every(k, 64);
            let name = names
                .get(e.name_at..e.name_at + e.name_len)
                .ok_or(Errno::EIO)?;
            let (major, _) = hs.hash(name);
            self.dx_add(dir, name, major, e.ino, e.ft, &mut spare)?;
        }
        Ok(())
    }

    /// Insert into the leaf for `major`, splitting it when full.
    fn dx_add(
        &mut self,
        dir: u64,
        name: &[u8],
        major: u32,
        ino: u64,
        ft: u8,
        spare: &mut Vec<u64>,
    ) -> Result<()> {
        let path = self.dx_probe(dir, major)?;
        let (pb, mut buf) = self.read_dir_block(dir, path.leaf)?;
        if block_insert(buf.as_mut_slice(), name, ino, ft)?.is_some() {
            return self.write_dir_block(pb, &mut buf);
        }
        // Split: sort the leaf's entries by hash, move the upper half.
        let hs = self.hasher();
        let mut ents: Vec<Moved> = Vec::new();
        let mut err = Ok(());
        walk(buf.as_slice(), |off, h, n| {
            let e = Moved {
                major: hs.hash(n).0,
                ino: h.ino.get(),
                ft: h.file_type,
                name_at: off + DIRENT_HEAD,
                name_len: n.len(),
            };
            err = crate::mem::push(&mut ents, e);
            err.is_err().then_some(())
        });
        err?;
        if ents.len() < 2 {
            return Err(self.corrupt(format_args!(
                "directory {} leaf {} is full with {} entries",
                dir,
                path.leaf,
                ents.len()
            )));
        }
        crate::mem::heapsort_by(&mut ents, |a, b| a.major < b.major);
        let mut cum: Vec<usize> = crate::mem::vec_with_capacity(ents.len() + 1)?;
        let mut total = 0usize;
        for e in &ents {
            crate::mem::push(&mut cum, total)?;
            total += dirent_size(e.name_len);
        }
        crate::mem::push(&mut cum, total)?;
        // Each half must keep room for the longest name.
        let cap = BLOCK_SIZE - HEADER_SIZE - dirent_size(NAME_MAX);
        let fits = |k: usize| {
            let lo = cum.get(k).copied().unwrap_or(total);
            lo <= cap && total - lo <= cap
        };
        let len = ents.len();
        let mid = cum
            .iter()
            .position(|&c| c * 2 >= total)
            .unwrap_or(len / 2)
            .clamp(1, len - 1);
        let boundary = |k: usize| matches!((ents.get(k.wrapping_sub(1)), ents.get(k)), (Some(a), Some(b)) if a.major != b.major);
        let mut split = None;
        for d in 0..len {
            for k in [mid.wrapping_sub(d), mid + d] {
                if (1..len).contains(&k) && boundary(k) && fits(k) {
                    split = Some(k);
                    break;
                }
            }
            if split.is_some() || (mid < d && mid + d >= len) {
                break;
            }
        }
        let k = split.unwrap_or(mid);
        let hash2 = ents.get(k).ok_or(Errno::EIO)?.major;
        let cont = !boundary(k);
        let new_hash = hash2 | u32::from(cont);
        let (nb, npb) = self.dir_new_block(dir, spare)?;
        let (lo_ents, hi_ents) = ents.split_at(k);
        let mut lo = new_block()?;
        let mut hi = new_block()?;
        pack_leaf(&mut lo, pb, dir, lo_ents, buf.as_slice())?;
        pack_leaf(&mut hi, npb, dir, hi_ents, buf.as_slice())?;
        let done = if major > hash2 || (major == hash2 && !cont) {
            block_insert(hi.as_mut_slice(), name, ino, ft)?.is_some()
        } else {
            block_insert(lo.as_mut_slice(), name, ino, ft)?.is_some()
                || (major == hash2 && block_insert(hi.as_mut_slice(), name, ino, ft)?.is_some())
        };
        if !done {
            return Err(Errno::ENOSPC);
        }
        self.write_dir_block(pb, &mut lo)?;
        self.write_dir_block(npb, &mut hi)?;
        self.dx_insert(dir, path, path.depth - 1, new_hash, nb, spare)
    }

    /// Insert index entry (`hash`, `block`) after the entry `path` took at
    /// level `lvl`, splitting full index blocks up the path; a full root
    /// grows the index by one level.
    fn dx_insert(
        &mut self,
        dir: u64,
        mut path: Path,
        lvl: usize,
        hash: u32,
        block: u64,
        spare: &mut Vec<u64>,
    ) -> Result<()> {
        let fr = *path.frames.get(lvl).ok_or(Errno::EIO)?;
        let (pb, mut buf, h) = self.read_dx(dir, fr.iblock, None)?;
        let count = h.count.get() as usize;
        let pos = fr.at + 1;
        let mut ents: Vec<(u32, u64)> = crate::mem::vec_with_capacity(count + 1)?;
        for i in 0..count {
            let e = dx_entry(buf.as_slice(), i).ok_or(Errno::EIO)?;
            crate::mem::push(&mut ents, (e.hash.get(), u64::from(e.block.get())))?;
        }
        if count < DX_LIMIT {
            crate::mem::insert(&mut ents, pos.min(count), (hash, block))?;
            for (i, &(hh, b)) in ents.iter().enumerate() {
                dx_set_entry(buf.as_mut_slice(), i, hh, b)?;
            }
            dx_set_count(buf.as_mut_slice(), ents.len())?;
            return self.write_dir_block(pb, &mut buf);
        }
        if lvl == 0 {
            if h.level >= DX_MAX_LEVEL {
                return Err(Errno::ENOSPC);
            }
            // Grow: the root's entries move to a new block below it.
            let (cb, cpb) = self.dir_new_block(dir, spare)?;
            let mut child = new_block()?;
            dx_init(&mut child, cpb, dir, h.level)?;
            for (i, &(hh, b)) in ents.iter().enumerate() {
                dx_set_entry(child.as_mut_slice(), i, hh, b)?;
            }
            dx_set_count(child.as_mut_slice(), count)?;
            self.write_dir_block(cpb, &mut child)?;
            dx_init(&mut buf, pb, dir, h.level + 1)?;
            dx_set_entry(buf.as_mut_slice(), 0, 0, cb)?;
            dx_set_count(buf.as_mut_slice(), 1)?;
            self.write_dir_block(pb, &mut buf)?;
            let mut np = Path {
                depth: path.depth + 1,
                leaf: path.leaf,
                ..Path::default()
            };
            *np.frames.get_mut(0).ok_or(Errno::EIO)? = Frame {
                iblock: 0,
                at: 0,
                count: 1,
            };
            for d in 0..path.depth {
                let mut f = *path.frames.get(d).ok_or(Errno::EIO)?;
                if d == 0 {
                    f.iblock = cb;
                }
                *np.frames.get_mut(d + 1).ok_or(Errno::ENOSPC)? = f;
            }
            return self.dx_insert(dir, np, 1, hash, block, spare);
        }
        // Split a full interior block in halves.
        crate::mem::insert(&mut ents, pos.min(count), (hash, block))?;
        let half = ents.len() / 2;
        let (lo, hi) = ents.split_at(half);
        let (nb, npb) = self.dir_new_block(dir, spare)?;
        let mut up = new_block()?;
        dx_init(&mut up, npb, dir, h.level)?;
        for (i, &(hh, b)) in hi.iter().enumerate() {
            dx_set_entry(up.as_mut_slice(), i, hh, b)?;
        }
        dx_set_count(up.as_mut_slice(), hi.len())?;
        let key = hi.first().ok_or(Errno::EIO)?.0;
        dx_init(&mut buf, pb, dir, h.level)?;
        for (i, &(hh, b)) in lo.iter().enumerate() {
            dx_set_entry(buf.as_mut_slice(), i, hh, b)?;
        }
        dx_set_count(buf.as_mut_slice(), lo.len())?;
        self.write_dir_block(pb, &mut buf)?;
        self.write_dir_block(npb, &mut up)?;
        path.depth = lvl;
        self.dx_insert(dir, path, lvl - 1, key, nb, spare)
    }

    /// Rebuild the index of `dir` from its leaves (fsck's repair, and a way
    /// to index a directory from before the index without adding a name).
    pub fn dir_reindex(&mut self, dir: u64) -> Result<()> {
        self.op(|fs| {
            fs.begin_op()?;
            if fs.dir_indexed(dir)? {
                let i = fs.inode(dir)?;
                i.d.flags = U32::new(i.d.flags.get() & !INODE_FLAG_DIR_INDEX);
                // Index blocks read as empty directory blocks.
                fs.store_inode(dir)?;
            }
            if fs.dir_blocks(dir)? > 0 {
                fs.dx_convert(dir)?;
            }
            Ok(())
        })
    }

    /// Tests: make `dir` a directory from before the index (the flag
    /// cleared; its index blocks read as blocks without entries).
    #[doc(hidden)]
    pub fn test_clear_dir_index(&mut self, dir: u64) -> Result<()> {
        self.op(|fs| {
            fs.begin_op()?;
            let i = fs.inode(dir)?;
            i.d.flags = U32::new(i.d.flags.get() & !INODE_FLAG_DIR_INDEX);
            fs.store_inode(dir)
        })
    }

    /// Remove the entry at `slot`, merging its space into the previous entry.
    pub(crate) fn dir_remove(&mut self, dir: u64, slot: Slot) -> Result<()> {
        let (pblock, mut buf) = self.read_dir_block(dir, slot.iblock)?;
        let mut off = HEADER_SIZE;
        let mut prev: Option<usize> = None;
        while let Some(h) = head_at(buf.as_slice(), off) {
            let rl = h.rec_len.get() as usize;
            if off == slot.off {
                match prev.and_then(|p| head_at(buf.as_slice(), p).map(|ph| (p, ph))) {
                    Some((p, ph)) => put_head(
                        buf.as_mut_slice(),
                        p,
                        ph.ino.get(),
                        ph.rec_len.get() as usize + rl,
                        ph.name_len as usize,
                        ph.file_type,
                    )?,
                    None => put_head(buf.as_mut_slice(), off, 0, rl, 0, 0)?,
                }
                return self.write_dir_block(pblock, &mut buf);
            }
            if rl == 0 {
                break;
            }
            prev = Some(off);
            off += rl;
        }
        Err(Errno::ENOENT)
    }

    /// Point the entry at `slot` to another inode (rename over an existing name).
    pub(crate) fn dir_set(&mut self, dir: u64, slot: Slot, ino: u64, ft: u8) -> Result<()> {
        let (pblock, mut buf) = self.read_dir_block(dir, slot.iblock)?;
        let h = head_at(buf.as_slice(), slot.off).ok_or(Errno::EIO)?;
        put_head(
            buf.as_mut_slice(),
            slot.off,
            ino,
            h.rec_len.get() as usize,
            h.name_len as usize,
            ft,
        )?;
        self.write_dir_block(pblock, &mut buf)
    }

    /// The name of the live entry at byte offset `pos` of `dir` if it names
    /// `ino` (hints written before the index), copied into `out`.
    fn dir_name_at(
        &mut self,
        dir: u64,
        pos: u64,
        ino: u64,
        out: &mut [u8],
    ) -> Result<Option<usize>> {
        let bs = BLOCK_SIZE as u64;
        let (iblock, want) = (pos / bs, (pos % bs) as usize);
        if iblock >= self.dir_blocks(dir)? || want < HEADER_SIZE {
            return Ok(None);
        }
        let (_, buf) = self.read_dir_block(dir, iblock)?;
        match walk(buf.as_slice(), |off, h, n| {
            (off == want && h.ino.get() == ino).then_some(n)
        }) {
            Some(name) => copy_name(name, out).map(Some),
            None => Ok(None),
        }
    }

    /// The name of the entry of `dir` naming `ino` whose cookie is
    /// `cookie`: the leaves for that hash only.
    fn dir_name_hashed(
        &mut self,
        dir: u64,
        cookie: u64,
        ino: u64,
        out: &mut [u8],
    ) -> Result<Option<usize>> {
        let hs = self.hasher();
        let mut len = None;
        let mut res = Ok(());
        self.dir_search(dir, Some(cookie_major(cookie)), |h, n| {
            if h.ino.get() == ino && hs.cookie(n) == cookie {
                res = copy_name(n, out).map(|l| len = Some(l));
                true
            } else {
                false
            }
        })?;
        res?;
        Ok(len)
    }

    /// The name of the first entry of `dir` naming `ino`, into `out`: a
    /// scan of the whole directory (O(its size)).
    fn dir_name_of(&mut self, dir: u64, ino: u64, out: &mut [u8]) -> Result<Option<usize>> {
        let mut len = None;
        let mut res = Ok(());
        self.dir_search(dir, None, |h, n| {
            if h.ino.get() == ino {
                res = copy_name(n, out).map(|l| len = Some(l));
                true
            } else {
                false
            }
        })?;
        res?;
        Ok(len)
    }

    /// The link the parent hint of `ino` names: the hinted directory and
    /// the link's name in it, copied into `out` (its length). The length is
    /// 0 when there is no name to give: the hint is unknown (directory 0),
    /// `ino` is the root, or the hinted directory holds no link to it.
    /// The entry is found from the inode's `parent_pos` (the index path
    /// and one leaf); when that is unknown or does not hold the link, the
    /// directory is scanned (O(its size); counted in `link_scans`).
    /// Nothing is written. ERANGE when `out` is too small for the name
    /// (255 bytes always suffice).
    pub fn link_name_into(&mut self, ino: u64, out: &mut [u8]) -> Result<(u64, usize)> {
        let (parent, pos) = {
            let i = self.inode_ref(ino)?;
            (i.d.parent.get(), i.d.parent_pos.get())
        };
        if parent == 0 || ino == self.sb.root_ino.get() {
            return Ok((parent, 0));
        }
        if !self.inode_ref(parent)?.is_dir() {
            return Ok((parent, 0));
        }
        let found = if pos & PARENT_POS_HASH != 0 {
            self.dir_name_hashed(parent, pos & !PARENT_POS_HASH, ino, out)?
        } else if pos != 0 {
            self.dir_name_at(parent, pos - 1, ino, out)?
        } else {
            None
        };
        if let Some(n) = found {
            return Ok((parent, n));
        }
        self.link_scans = self.link_scans.saturating_add(1);
        Ok((parent, self.dir_name_of(parent, ino, out)?.unwrap_or(0)))
    }

    /// [`Fs::link_name_into`] into a new buffer.
    pub fn link_name(&mut self, ino: u64) -> Result<(u64, Vec<u8>)> {
        let mut buf = [0u8; NAME_MAX];
        let (parent, n) = self.link_name_into(ino, &mut buf)?;
        Ok((
            parent,
            crate::mem::vec_from_slice(buf.get(..n).unwrap_or(&[]))?,
        ))
    }

    pub(crate) fn dir_is_empty(&mut self, dir: u64) -> Result<bool> {
        Ok(self.dir_search(dir, None, |_, _| true)?.is_none())
    }

    /// Gather the live entries of block `iblock` as readdir candidates.
    fn gather(
        &mut self,
        dir: u64,
        iblock: u64,
        cands: &mut Vec<Cand>,
        names: &mut Vec<u8>,
    ) -> Result<()> {
        let hs = self.hasher();
        let (_, buf) = self.read_dir_block(dir, iblock)?;
        let mut err = Ok(());
        walk(buf.as_slice(), |_, h, n| {
            let c = (hs.cookie(n), h.ino.get(), h.file_type, names.len(), n.len());
            err = crate::mem::extend_from_slice(names, n).and_then(|()| crate::mem::push(cands, c));
            err.is_err().then_some(())
        });
        err
    }

    /// Hand the candidates after (`cookie`, `after`) to `emit` in order:
    /// false when it refused one.
    fn emit_sorted(
        cands: &mut [Cand],
        names: &[u8],
        cookie: u64,
        after: &[u8],
        emit: &mut dyn FnMut(&ReadEntry<'_>) -> bool,
    ) -> bool {
        let name = |c: &Cand| names.get(c.3..c.3 + c.4).unwrap_or(&[]);
        crate::mem::heapsort_by(cands, |a, b| (a.0, name(a)) < (b.0, name(b)));
        let mut i = 0;
        while let Some(c) = cands.get(i) {
            let n = name(c);
            i += 1;
            if c.0 < cookie || (c.0 == cookie && n <= after) {
                continue;
            }
            let mid_run = cands.get(i).is_some_and(|d| d.0 == c.0);
            let e = ReadEntry {
                ino: c.1,
                file_type: c.2,
                name: n,
                next: if mid_run { c.0 } else { c.0 + 1 },
                mid_run,
            };
            if !emit(&e) {
                return false;
            }
        }
        true
    }

    /// readdir: the entries of `dir` after position (`cookie`, `after`),
    /// in (cookie, name) order, handed to `emit` until it returns false (that
    /// entry is not taken). `after` is empty except to resume inside a run
    /// of equal cookies (`ReadEntry::mid_run`). Ok(true) at the end of the
    /// directory. An indexed directory reads the leaves from the one for
    /// `cookie` on, each once per call (a run continued across leaves is
    /// read whole, so that it can be sorted); others read their blocks.
    pub fn readdir_from(
        &mut self,
        dir: u64,
        cookie: u64,
        after: &[u8],
        emit: &mut dyn FnMut(&ReadEntry<'_>) -> bool,
    ) -> Result<bool> {
        let n = self.dir_blocks(dir)?;
        if cookie >= COOKIE_END {
            return Ok(true);
        }
        let mut cands: Vec<Cand> = Vec::new();
        let mut names: Vec<u8> = Vec::new();
        if !self.dir_indexed(dir)? {
            for iblock in 0..n {
                crate::dev::resched();
                self.gather(dir, iblock, &mut cands, &mut names)?;
            }
            return Ok(Self::emit_sorted(&mut cands, &names, cookie, after, emit));
        }
        let mut path = self.dx_probe(dir, cookie_major(cookie))?;
        loop {
            crate::dev::resched();
            cands.clear();
            names.clear();
            self.gather(dir, path.leaf, &mut cands, &mut names)?;
            let more = loop {
                match self.dx_next(dir, &mut path)? {
                    Some(s) if s & 1 == 1 => {
                        crate::dev::resched();
                        self.gather(dir, path.leaf, &mut cands, &mut names)?;
                    }
                    Some(_) => break true,
                    None => break false,
                }
            };
            if !Self::emit_sorted(&mut cands, &names, cookie, after, emit) {
                return Ok(false);
            }
            if !more {
                return Ok(true);
            }
        }
    }

    /// The first live entry at or after cookie `pos`, and the position after
    /// it (one entry per call; a run of equal cookies needs
    /// [`Fs::readdir_from`] to be resumed inside).
    pub fn readdir(&mut self, dir: u64, pos: u64) -> Result<Option<(DirEntry, u64)>> {
        let mut got: Option<Result<(DirEntry, u64)>> = None;
        self.readdir_from(dir, pos, &[], &mut |e| {
            if got.is_some() {
                return false;
            }
            got = Some(crate::mem::vec_from_slice(e.name).map(|name| {
                (
                    DirEntry {
                        ino: e.ino,
                        file_type: e.file_type,
                        name,
                    },
                    e.next,
                )
            }));
            true
        })?;
        got.transpose()
    }

    /// All entries of `dir` in readdir order (tools and tests).
    pub fn list_dir(&mut self, dir: u64) -> Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        let mut err = Ok(());
        self.readdir_from(dir, 0, &[], &mut |e| {
            let r = crate::mem::vec_from_slice(e.name).and_then(|name| {
                crate::mem::push(
                    &mut out,
                    DirEntry {
                        ino: e.ino,
                        file_type: e.file_type,
                        name,
                    },
                )
            });
            if r.is_err() {
                err = r;
                return false;
            }
            true
        })?;
        err?;
        Ok(out)
    }
}
