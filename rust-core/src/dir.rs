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

/// Where an entry was found: file block index, device block, byte offset.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    pub iblock: u64,
    pub off: usize,
    pub ino: u64,
    pub file_type: u8,
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

    /// Add an entry; the caller has checked that the name is free.
    pub(crate) fn dir_add(&mut self, dir: u64, name: &[u8], ino: u64, ft: u8) -> Result<()> {
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
                    return self.write_dir_block(pblock, &mut buf);
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
        Ok(())
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
