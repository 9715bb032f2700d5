//! The core's `Device` over the shim services.

use super::shim_sys as sys;
use crate::dev::{Device, LogLevel, Timespec};
use crate::format::BLOCK_SIZE;
use crate::{Errno, Result};

pub struct ShimDevice {
    pub sb: *mut sys::vexfs_shim_sb,
    pub blocks: u64,
}

fn check(ret: core::ffi::c_int) -> Result<()> {
    if ret == 0 {
        Ok(())
    } else if ret < 0 {
        Err(Errno(-ret))
    } else {
        Err(Errno::EIO)
    }
}

impl Device for ShimDevice {
    fn block_count(&self) -> u64 {
        self.blocks
    }
    fn read_block(&mut self, blocknr: u64, buf: &mut [u8; BLOCK_SIZE]) -> Result<()> {
        if blocknr >= self.blocks {
            return Err(Errno::EIO);
        }
        // SAFETY: buf is BLOCK_SIZE bytes, the size the shim reads.
        check(unsafe { sys::vexfs_shim_read_block(self.sb, blocknr, buf.as_mut_ptr()) })
    }
    fn write_block(&mut self, blocknr: u64, buf: &[u8; BLOCK_SIZE]) -> Result<()> {
        if blocknr >= self.blocks {
            return Err(Errno::EIO);
        }
        // SAFETY: buf is BLOCK_SIZE bytes, the size the shim writes.
        check(unsafe { sys::vexfs_shim_write_block(self.sb, blocknr, buf.as_ptr()) })
    }
    fn flush(&mut self) -> Result<()> {
        // SAFETY: sb is the live shim context this device was made with.
        check(unsafe { sys::vexfs_shim_flush(self.sb) })
    }
    fn now(&self) -> Timespec {
        let mut t = Timespec::default();
        // SAFETY: both out-pointers are valid locals.
        unsafe { sys::vexfs_shim_now(&mut t.sec, &mut t.nsec) };
        t
    }
    fn log(&self, level: LogLevel, msg: core::fmt::Arguments<'_>) {
        log(self.sb, level, msg);
    }
    fn commit_soon(&self) {
        // SAFETY: sb is the live shim context this device was made with.
        unsafe { sys::vexfs_shim_commit_soon(self.sb) };
    }
    fn discard(&mut self, start: u64, count: u64) -> Result<()> {
        if start.checked_add(count).is_none_or(|end| end > self.blocks) {
            return Err(Errno::EIO);
        }
        // SAFETY: sb is the live shim context this device was made with.
        check(unsafe { sys::vexfs_shim_discard(self.sb, start, count) })
    }
}

/// A log line through the shim, formatted into a bounded buffer.
pub fn log(sb: *mut sys::vexfs_shim_sb, level: LogLevel, msg: core::fmt::Arguments<'_>) {
    struct Buf {
        b: [u8; 200],
        n: usize,
    }
    impl core::fmt::Write for Buf {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            for &c in s.as_bytes() {
                if let Some(slot) = self.b.get_mut(self.n) {
                    *slot = c;
                    self.n += 1;
                }
            }
            Ok(())
        }
    }
    let mut b = Buf { b: [0; 200], n: 0 };
    let _ = core::fmt::write(&mut b, msg);
    // SAFETY: the pointer and length describe the initialised part of b.
    unsafe { sys::vexfs_shim_log(sb, level as core::ffi::c_int, b.b.as_ptr(), b.n) };
}
