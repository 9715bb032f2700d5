//! File contents: block mapping for the kernel's page cache, truncation, and
//! a direct read/write path for the userspace tools and tests.

use crate::dev::{new_block, Device};
use crate::format::*;
use crate::fs::MAX_FILE_SIZE;
use crate::{Errno, Fs, Result};
use zerocopy::little_endian::U64;

impl<D: Device> Fs<D> {
    /// Set the size of `ino`, releasing blocks past the new end and zeroing
    /// the tail of the new last block.
    pub fn truncate(&mut self, ino: u64, size: u64) -> Result<()> {
        self.op(|fs| fs.truncate_inner(ino, size, true))
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
        if self.inode_ref(ino)?.is_dir() {
            return Err(Errno::EISDIR);
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
