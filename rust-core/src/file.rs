//! File contents: block mapping for the kernel's page cache, truncation, and
//! a direct read/write path for the userspace tools and tests.

use crate::dev::{new_block, Device};
use crate::format::*;
use crate::fs::MAX_FILE_SIZE;
use crate::inode::Attr;
use crate::{Errno, Fs, Result};
use zerocopy::little_endian::{U32, U64};

impl<D: Device> Fs<D> {
    /// Set the size of `ino`, releasing blocks past the new end and zeroing
    /// the tail of the new last block.
    pub fn truncate(&mut self, ino: u64, size: u64) -> Result<()> {
        self.op(|fs| {
            // The VFS checks this in the kernel (truncate_meta).
            let i = fs.inode_ref(ino)?;
            if i.d.flags.get() & (INODE_FL_IMMUTABLE | INODE_FL_APPEND) != 0 {
                return Err(Errno::EPERM);
            }
            fs.truncate_inner(ino, size, true)
        })
    }

    /// As `truncate`, for the kernel: the page cache owns file data there and
    /// has already zeroed the tail, so the core must not write data blocks.
    pub fn truncate_meta(&mut self, ino: u64, size: u64) -> Result<()> {
        self.op(|fs| fs.truncate_meta_op(ino, size))
    }

    fn truncate_meta_op(&mut self, ino: u64, size: u64) -> Result<()> {
        self.truncate_inner(ino, size, false)
    }

    fn truncate_inner(&mut self, ino: u64, size: u64, zero: bool) -> Result<()> {
        self.begin_op()?;
        if size > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let i = self.inode_ref(ino)?;
        if i.is_dir() {
            return Err(Errno::EISDIR);
        }
        let old = i.d.size.get();
        let keep = size.div_ceil(BLOCK_SIZE as u64);
        self.truncate_blocks(ino, keep)?;
        if zero && size < old && !size.is_multiple_of(BLOCK_SIZE as u64) {
            // Zero the tail of the last block so a later extension reads zeros.
            self.zero_tail(ino, size)?;
        }
        let now = self.dev.now();
        let i = self.inode(ino)?;
        i.d.size = U64::new(size);
        i.set_mtime(now);
        i.set_ctime(now);
        self.store_inode(ino)
    }

    fn zero_tail(&mut self, ino: u64, size: u64) -> Result<()> {
        let m = self.map_blocks(ino, size / BLOCK_SIZE as u64, 1, false)?;
        if m.len == 0 {
            return Ok(());
        }
        let mut buf = new_block()?;
        self.read_blk(m.pblock, &mut buf)?;
        let from = (size % BLOCK_SIZE as u64) as usize;
        if let Some(t) = buf.get_mut(from..) {
            t.fill(0);
        }
        self.write_raw(m.pblock, &buf)
    }

    /// Read up to `out.len()` bytes at `off`; holes read as zeros.
    pub fn read(&mut self, ino: u64, off: u64, out: &mut [u8]) -> Result<usize> {
        let size = self.inode_ref(ino)?.d.size.get();
        if off >= size {
            return Ok(0);
        }
        let n = (size - off).min(out.len() as u64) as usize;
        let mut done = 0usize;
        let mut buf = new_block()?;
        while done < n {
            let pos = off + done as u64;
            let boff = (pos % BLOCK_SIZE as u64) as usize;
            let chunk = (BLOCK_SIZE - boff).min(n - done);
            let m = self.map_blocks(ino, pos / BLOCK_SIZE as u64, 1, false)?;
            let dst = out.get_mut(done..done + chunk).ok_or(Errno::EFAULT)?;
            if m.len == 0 {
                dst.fill(0);
            } else {
                self.read_blk(m.pblock, &mut buf)?;
                dst.copy_from_slice(buf.get(boff..boff + chunk).ok_or(Errno::EIO)?);
            }
            done += chunk;
        }
        Ok(n)
    }

    /// Write `data` at `off`, allocating blocks and growing the file.
    pub fn write(&mut self, ino: u64, off: u64, data: &[u8]) -> Result<usize> {
        self.op(|fs| fs.write_op(ino, off, data))
    }

    fn write_op(&mut self, ino: u64, off: u64, data: &[u8]) -> Result<usize> {
        self.begin_op()?;
        let end = off.checked_add(data.len() as u64).ok_or(Errno::EFBIG)?;
        if end > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let i = self.inode_ref(ino)?;
        if i.is_dir() {
            return Err(Errno::EISDIR);
        }
        // As the VFS: nothing changes an immutable file, an append-only
        // one only grows at its end.
        let flags = i.d.flags.get();
        if flags & INODE_FL_IMMUTABLE != 0
            || (flags & INODE_FL_APPEND != 0 && off != i.d.size.get())
        {
            return Err(Errno::EPERM);
        }
        if data.is_empty() {
            // As write(2) of 0 bytes: neither the size nor the times change.
            return Ok(0);
        }
        let mut done = 0usize;
        let mut buf = new_block()?;
        while done < data.len() {
            let pos = off + done as u64;
            let boff = (pos % BLOCK_SIZE as u64) as usize;
            let chunk = (BLOCK_SIZE - boff).min(data.len() - done);
            let m = self.map_blocks(ino, pos / BLOCK_SIZE as u64, 1, true)?;
            if m.new || chunk == BLOCK_SIZE {
                buf.fill(0);
            } else {
                self.read_blk(m.pblock, &mut buf)?;
            }
            buf.get_mut(boff..boff + chunk)
                .ok_or(Errno::EIO)?
                .copy_from_slice(data.get(done..done + chunk).ok_or(Errno::EFAULT)?);
            self.write_raw(m.pblock, &buf)?;
            done += chunk;
        }
        let now = self.dev.now();
        let i = self.inode(ino)?;
        if end > i.d.size.get() {
            i.d.size = U64::new(end);
        }
        i.set_mtime(now);
        i.set_ctime(now);
        self.store_inode(ino)?;
        Ok(done)
    }
}

/// What one fallocate step did: how far it got and the file size after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FallocStep {
    /// Byte offset up to which the range is done.
    pub done: u64,
    pub size: u64,
}

impl<D: Device> Fs<D> {
    /// Refuse changes to the contents of an immutable file (EPERM, as the
    /// VFS does): for the paths that do not pass through it (the
    /// userspace tools, the vector ioctls).
    pub fn check_mutable(&mut self, ino: u64) -> Result<()> {
        if self.inode_ref(ino)?.d.flags.get() & INODE_FL_IMMUTABLE != 0 {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    /// fallocate(2) for the userspace tools: every step of
    /// [`Fs::fallocate_step`] in turn, partial blocks zeroed on disk.
    pub fn fallocate(&mut self, ino: u64, mode: u32, off: u64, len: u64) -> Result<()> {
        let end = off.checked_add(len).ok_or(Errno::EFBIG)?;
        let mut pos = off;
        loop {
            let s = self.fallocate_step(ino, mode, off, len, pos, true, None)?;
            pos = s.done;
            if pos >= end {
                return Ok(());
            }
        }
    }

    /// One step of fallocate(2) of `off..off+len` in `mode` (0,
    /// KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE, ZERO_RANGE[|KEEP_SIZE]), from byte
    /// `pos` of that range on, at most `FALLOC_STEP_BLOCKS` blocks, as one
    /// operation. Preallocated and zeroed blocks become unwritten extents:
    /// no data is written. With `zero_edges` the core zeroes the written
    /// partial blocks at the edges of a punch or zero range on disk; the
    /// kernel does that through its page cache and passes false. Errors as
    /// ext4 (EOPNOTSUPP for other modes, EFBIG past the file size limit,
    /// EPERM on immutable or append-only files, ENOSPC before any change).
    /// `vfs_size`: the kernel's i_size, which is ahead of the inode's
    /// until write_inode (None: the inode's).
    #[allow(clippy::too_many_arguments)]
    pub fn fallocate_step(
        &mut self,
        ino: u64,
        mode: u32,
        off: u64,
        len: u64,
        pos: u64,
        zero_edges: bool,
        vfs_size: Option<u64>,
    ) -> Result<FallocStep> {
        self.op(|fs| fs.fallocate_op(ino, mode, off, len, pos, zero_edges, vfs_size))
    }

    #[allow(clippy::too_many_arguments)]
    fn fallocate_op(
        &mut self,
        ino: u64,
        mode: u32,
        off: u64,
        len: u64,
        pos: u64,
        zero_edges: bool,
        vfs_size: Option<u64>,
    ) -> Result<FallocStep> {
        use crate::extent::{
            FALLOC_FL_KEEP_SIZE as KEEP, FALLOC_FL_PUNCH_HOLE as PUNCH,
            FALLOC_FL_ZERO_RANGE as ZERO, FALLOC_STEP_BLOCKS,
        };
        if mode & !(KEEP | PUNCH | ZERO) != 0 || (mode & PUNCH != 0 && mode != PUNCH | KEEP) {
            return Err(Errno::EOPNOTSUPP);
        }
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let end = off.checked_add(len).ok_or(Errno::EFBIG)?;
        if end > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        self.begin_op()?;
        let i = self.inode_ref(ino)?;
        let m = i.mode() & S_IFMT;
        if m == S_IFDIR {
            return Err(Errno::EISDIR);
        }
        if m != S_IFREG {
            return Err(Errno::ENODEV);
        }
        let flags = i.d.flags.get();
        let size = vfs_size.unwrap_or(i.d.size.get());
        if flags & INODE_FL_IMMUTABLE != 0
            || (flags & INODE_FL_APPEND != 0 && mode & (PUNCH | ZERO) != 0)
        {
            return Err(Errno::EPERM);
        }
        let bs = BLOCK_SIZE as u64;
        let pos = pos.max(off);
        let step_end = |first: u64, last: u64| (first + FALLOC_STEP_BLOCKS).min(last);
        let done = if mode & PUNCH != 0 {
            if off >= size {
                return Ok(FallocStep { done: end, size });
            }
            // As ext4: a range past EOF ends after the block holding it.
            let end = if end > size {
                size + bs - size % bs
            } else {
                end
            };
            if zero_edges && pos == off {
                self.zero_edges(ino, off, end)?;
            }
            let (first, last) = (pos.div_ceil(bs), end / bs);
            let stop = step_end(first, last.max(first));
            self.punch_blocks(ino, first, stop)?;
            if stop >= last {
                u64::MAX
            } else {
                stop * bs
            }
        } else {
            let (first, last) = (pos / bs, end.div_ceil(bs));
            if pos == off {
                // The whole range fits, or nothing is done (later steps
                // only find the space this check counted).
                let need = self.hole_blocks(ino, first, last)?;
                let usable = self.sb.free_blocks.get();
                if need > usable.saturating_sub(self.journal.freed_count()) {
                    return Err(Errno::ENOSPC);
                }
            }
            let stop = step_end(first, last);
            if mode & ZERO != 0 {
                if zero_edges && pos == off {
                    self.zero_edges(ino, off, end)?;
                }
                // Whole blocks inside the range read as zeros from now on.
                let (zf, zl) = (first.max(off.div_ceil(bs)), stop.min(end / bs));
                if zf < zl {
                    self.unwrite_blocks(ino, zf, zl)?;
                }
            }
            self.prealloc_blocks(ino, first, stop)?;
            if stop >= last {
                u64::MAX
            } else {
                stop * bs
            }
        };
        let now = self.dev.now();
        let i = self.inode(ino)?;
        let finished = done == u64::MAX;
        let mut size = size;
        if finished && mode & KEEP == 0 && end > size {
            size = end;
            i.d.size = U64::new(end);
            i.set_mtime(now);
        }
        if mode & (PUNCH | ZERO) != 0 {
            i.set_mtime(now);
        }
        i.set_ctime(now);
        self.store_inode(ino)?;
        Ok(FallocStep {
            done: if finished { end } else { done },
            size,
        })
    }

    /// Zero the parts of `off..end` in written partial blocks at its edges
    /// (userspace: straight to the disk, as `write` does).
    fn zero_edges(&mut self, ino: u64, off: u64, end: u64) -> Result<()> {
        let bs = BLOCK_SIZE as u64;
        let mut edges = [(off, end.min((off / bs + 1) * bs)), (0, 0)];
        if !end.is_multiple_of(bs) && end / bs != off / bs {
            edges[1] = (end / bs * bs, end);
        }
        for (a, b) in edges {
            if a >= b || (a % bs == 0 && b - a == bs) {
                continue;
            }
            let m = self.map_blocks(ino, a / bs, 1, false)?;
            if m.len == 0 {
                continue;
            }
            let mut buf = new_block()?;
            self.read_blk(m.pblock, &mut buf)?;
            let (x, y) = ((a % bs) as usize, (b - a / bs * bs) as usize);
            buf.get_mut(x..y).ok_or(Errno::EIO)?.fill(0);
            self.write_raw(m.pblock, &buf)?;
        }
        Ok(())
    }

    /// FS_IOC_SETFLAGS: store the user's inode flags (`INODE_FL_USER`);
    /// the filesystem's own (the directory index) are kept whatever the
    /// caller passes, as ext4 keeps its non-modifiable flags; unknown bits
    /// are EOPNOTSUPP. Who may change which bit is the VFS's to check
    /// (CAP_LINUX_IMMUTABLE for immutable and append-only).
    pub fn set_flags(&mut self, ino: u64, flags: u32) -> Result<Attr> {
        self.op(|fs| {
            if flags & !INODE_FL_KNOWN != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            fs.begin_op()?;
            let now = fs.dev.now();
            let i = fs.inode(ino)?;
            let own = i.d.flags.get() & !INODE_FL_USER;
            i.d.flags = U32::new(flags & INODE_FL_USER | own);
            i.set_ctime(now);
            fs.store_inode(ino)?;
            Ok(fs.inode_ref(ino)?.attr())
        })
    }
}
