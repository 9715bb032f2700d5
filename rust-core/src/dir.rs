//! Directories: blocks of variable-length entries, as in ext2, each block
//! checksummed and owned by its directory. Positions handed to readdir are
//! byte offsets into the directory, stable while entries come and go.

use crate::dev::{new_block, BlockBuf, Device};
use crate::format::*;
use crate::{Errno, Fs, Result};
use alloc::vec::Vec;
use zerocopy::little_endian::{U16, U64};
use zerocopy::{FromBytes, IntoBytes};

/// A live directory entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub ino: u64,
    pub file_type: u8,
    pub name: Vec<u8>,
}

/// Where an entry was found: file block index, byte offset in the block.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    pub iblock: u64,
    pub off: usize,
    pub ino: u64,
    pub file_type: u8,
}

impl Slot {
    /// The entry's byte offset in the directory (what `parent_pos` stores,
    /// minus one). Entries never move: insertion splits a record's free
    /// tail, removal merges a record into the one before it.
    pub fn pos(&self) -> u64 {
        self.iblock * BLOCK_SIZE as u64 + self.off as u64
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

impl<D: Device> Fs<D> {
    pub(crate) fn dir_blocks(&mut self, dir: u64) -> Result<u64> {
        let i = self.inode_ref(dir)?;
        if !i.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(i.d.size.get() / BLOCK_SIZE as u64)
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
        self.read_blk(m.pblock, &mut buf)?;
        if let Err(why) = verify_block(&buf, BLOCK_MAGIC_DIR, m.pblock, Some(dir)) {
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

    /// Find `name` in `dir`.
    pub(crate) fn dir_find(&mut self, dir: u64, name: &[u8]) -> Result<Option<Slot>> {
        let n = self.dir_blocks(dir)?;
        for iblock in 0..n {
            crate::dev::resched();
            let (_, buf) = self.read_dir_block(dir, iblock)?;
            let mut off = HEADER_SIZE;
            while let Some(h) = head_at(buf.as_slice(), off) {
                let nl = h.name_len as usize;
                if h.ino.get() != 0
                    && buf.get(off + DIRENT_HEAD..off + DIRENT_HEAD + nl) == Some(name)
                {
                    return Ok(Some(Slot {
                        iblock,
                        off,
                        ino: h.ino.get(),
                        file_type: h.file_type,
                    }));
                }
                off += h.rec_len.get() as usize;
            }
        }
        Ok(None)
    }

    /// Add an entry; the caller has checked that the name is free. Returns
    /// the entry's byte offset in the directory ([`Slot::pos`]).
    pub(crate) fn dir_add(&mut self, dir: u64, name: &[u8], ino: u64, ft: u8) -> Result<u64> {
        check_name(name)?;
        let need = dirent_size(name.len());
        let n = self.dir_blocks(dir)?;
        for iblock in 0..n {
            crate::dev::resched();
            let (pblock, mut buf) = self.read_dir_block(dir, iblock)?;
            let mut off = HEADER_SIZE;
            while let Some(h) = head_at(buf.as_slice(), off) {
                let rl = h.rec_len.get() as usize;
                let used = if h.ino.get() == 0 {
                    0
                } else {
                    dirent_size(h.name_len as usize)
                };
                if rl - used >= need {
                    let at = if used == 0 {
                        off
                    } else {
                        put_head(
                            buf.as_mut_slice(),
                            off,
                            h.ino.get(),
                            used,
                            h.name_len as usize,
                            h.file_type,
                        )?;
                        off + used
                    };
                    put_head(buf.as_mut_slice(), at, ino, rl - used, name.len(), ft)?;
                    buf.get_mut(at + DIRENT_HEAD..at + DIRENT_HEAD + name.len())
                        .ok_or(Errno::EIO)?
                        .copy_from_slice(name);
                    self.write_dir_block(pblock, &mut buf)?;
                    return Ok(iblock * BLOCK_SIZE as u64 + at as u64);
                }
                off += rl;
            }
        }
        // No room: grow the directory by one block.
        let m = self.map_blocks(dir, n, 1, true)?;
        let mut buf = new_block()?;
        let h = BlockHeader::new(BLOCK_MAGIC_DIR, m.pblock, dir);
        buf.get_mut(..HEADER_SIZE)
            .ok_or(Errno::EIO)?
            .copy_from_slice(h.as_bytes());
        put_head(
            buf.as_mut_slice(),
            HEADER_SIZE,
            ino,
            BLOCK_SIZE - HEADER_SIZE,
            name.len(),
            ft,
        )?;
        buf.get_mut(HEADER_SIZE + DIRENT_HEAD..HEADER_SIZE + DIRENT_HEAD + name.len())
            .ok_or(Errno::EIO)?
            .copy_from_slice(name);
        self.write_dir_block(m.pblock, &mut buf)?;
        let i = self.inode(dir)?;
        i.d.size = U64::new((n + 1) * BLOCK_SIZE as u64);
        if let Err(e) = self.store_inode(dir) {
            // Keep memory as the disk has it: the entry is not in the directory.
            if let Ok(i) = self.inode(dir) {
                i.d.size = U64::new(n * BLOCK_SIZE as u64);
            }
            return Err(e);
        }
        Ok(n * BLOCK_SIZE as u64 + HEADER_SIZE as u64)
    }

    /// Remove the entry at `slot`, merging its space into the previous entry.
    pub(crate) fn dir_remove(&mut self, dir: u64, slot: Slot) -> Result<()> {
        let (pblock, mut buf) = self.read_dir_block(dir, slot.iblock)?;
        let mut off = HEADER_SIZE;
        let mut prev: Option<usize> = None;
        while let Some(h) = head_at(buf.as_slice(), off) {
            if off == slot.off {
                let rl = h.rec_len.get() as usize;
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
            prev = Some(off);
            off += h.rec_len.get() as usize;
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
    /// `ino`, copied into `out`: its length, or None when `pos` is no
    /// entry's start (out of range, stale) or the entry names another
    /// inode. One directory block is read: O(1) in the directory's size.
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
        // Only a record boundary of the (validated) chain counts.
        let mut off = HEADER_SIZE;
        while off < want {
            match head_at(buf.as_slice(), off) {
                Some(h) => off += h.rec_len.get() as usize,
                None => return Ok(None),
            }
        }
        match head_at(buf.as_slice(), off) {
            Some(h) if off == want && h.ino.get() == ino => {
                let nl = h.name_len as usize;
                let name = buf
                    .get(off + DIRENT_HEAD..off + DIRENT_HEAD + nl)
                    .ok_or(Errno::EIO)?;
                copy_name(name, out).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The name of the first entry of `dir` naming `ino`, into `out`: a
    /// scan of the whole directory (O(its size)).
    fn dir_name_of(&mut self, dir: u64, ino: u64, out: &mut [u8]) -> Result<Option<usize>> {
        let n = self.dir_blocks(dir)?;
        for iblock in 0..n {
            crate::dev::resched();
            let (_, buf) = self.read_dir_block(dir, iblock)?;
            let mut off = HEADER_SIZE;
            while let Some(h) = head_at(buf.as_slice(), off) {
                if h.ino.get() == ino {
                    let nl = h.name_len as usize;
                    let name = buf
                        .get(off + DIRENT_HEAD..off + DIRENT_HEAD + nl)
                        .ok_or(Errno::EIO)?;
                    return copy_name(name, out).map(Some);
                }
                off += h.rec_len.get() as usize;
            }
        }
        Ok(None)
    }

    /// The link the parent hint of `ino` names: the hinted directory and
    /// the link's name in it, copied into `out` (its length). The length is
    /// 0 when there is no name to give: the hint is unknown (directory 0),
    /// `ino` is the root, or the hinted directory holds no link to it.
    /// The entry is read at the inode's `parent_pos` (one directory block);
    /// when that is unknown (images made before the field, 0) or does not
    /// hold the link, the directory is scanned (O(its size); counted in
    /// `link_scans`). Nothing is written. ERANGE when `out` is too small
    /// for the name (255 bytes always suffice).
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
        if pos != 0 {
            if let Some(n) = self.dir_name_at(parent, pos - 1, ino, out)? {
                return Ok((parent, n));
            }
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
        Ok(self.readdir(dir, 0)?.is_none())
    }

    /// The first live entry at or after `pos`, and the position after it.
    pub fn readdir(&mut self, dir: u64, pos: u64) -> Result<Option<(DirEntry, u64)>> {
        let n = self.dir_blocks(dir)?;
        let bs = BLOCK_SIZE as u64;
        let mut iblock = pos / bs;
        while iblock < n {
            crate::dev::resched();
            let (_, buf) = self.read_dir_block(dir, iblock)?;
            let mut off = HEADER_SIZE;
            let min = if iblock == pos / bs {
                (pos % bs) as usize
            } else {
                0
            };
            while let Some(h) = head_at(buf.as_slice(), off) {
                let rl = h.rec_len.get() as usize;
                if off >= min && h.ino.get() != 0 {
                    let nl = h.name_len as usize;
                    let name = buf
                        .get(off + DIRENT_HEAD..off + DIRENT_HEAD + nl)
                        .ok_or(Errno::EIO)?;
                    let e = DirEntry {
                        ino: h.ino.get(),
                        file_type: h.file_type,
                        name: crate::mem::vec_from_slice(name)?,
                    };
                    return Ok(Some((e, iblock * bs + (off + rl) as u64)));
                }
                off += rl;
            }
            iblock += 1;
        }
        Ok(None)
    }

    /// All entries of `dir` (tools and tests).
    pub fn list_dir(&mut self, dir: u64) -> Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some((e, next)) = self.readdir(dir, pos)? {
            crate::mem::push(&mut out, e)?;
            pos = next;
        }
        Ok(out)
    }
}
