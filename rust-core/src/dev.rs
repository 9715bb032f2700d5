//! The block device the core runs on: the kernel shim in the module, a file or
//! memory buffer in userspace.

use crate::format::BLOCK_SIZE;
use crate::Result;
use core::sync::atomic::{AtomicPtr, Ordering};

/// One filesystem block, heap-allocated so it never lands on a 16 KiB kernel stack.
pub type BlockBuf = alloc::boxed::Box<[u8; BLOCK_SIZE]>;

/// A zeroed block buffer (ENOMEM under memory pressure).
pub fn new_block() -> Result<BlockBuf> {
    crate::mem::zeroed_block()
}

/// The scheduling point of the environment: the kernel shim's (set by the
/// FFI mount), nothing in userspace. A hook rather than a direct call, so
/// host binaries that never mount through the shim do not link it.
static RESCHED: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

pub fn set_resched_hook(f: fn()) {
    RESCHED.store(f as *mut (), Ordering::Relaxed);
}

/// A scheduling point for loops whose length grows with the data (the
/// kernel's cond_resched(): may sleep, so never call it under a spinlock).
/// Cheap: call it once per block, node or a few hundred vectors.
#[inline]
pub fn resched() {
    let p = RESCHED.load(Ordering::Relaxed);
    if !p.is_null() {
        // SAFETY: only set_resched_hook stores here, always a `fn()`.
        let f: fn() = unsafe { core::mem::transmute::<*mut (), fn()>(p) };
        f();
    }
}

/// `resched` every `every` iterations of a tight loop (`i` counts them).
#[inline]
pub fn resched_every(i: usize, every: usize) {
    if every != 0 && i % every == every - 1 {
        resched();
    }
}

/// Seconds and nanoseconds since the epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Err = 3,
    Warn = 4,
    Info = 6,
}

/// Block I/O and environment services.
pub trait Device {
    /// Blocks addressable on the device.
    fn block_count(&self) -> u64;
    fn read_block(&mut self, blocknr: u64, buf: &mut [u8; BLOCK_SIZE]) -> Result<()>;
    fn write_block(&mut self, blocknr: u64, buf: &[u8; BLOCK_SIZE]) -> Result<()>;
    /// Make all completed writes durable.
    fn flush(&mut self) -> Result<()>;
    fn now(&self) -> Timespec;
    fn log(&self, level: LogLevel, msg: core::fmt::Arguments<'_>);
    /// The running transaction has grown: the kernel shim schedules a commit
    /// (with the ordered data writeback only it can do). Nothing elsewhere.
    fn commit_soon(&self) {}
    /// Tell the device blocks `start..start+count` hold nothing (FITRIM).
    /// EOPNOTSUPP where it cannot.
    fn discard(&mut self, _start: u64, _count: u64) -> Result<()> {
        Err(crate::Errno::EOPNOTSUPP)
    }
}

/// A borrowed device (fsck mounts the core on the device it checked).
impl<D: Device + ?Sized> Device for &mut D {
    fn block_count(&self) -> u64 {
        (**self).block_count()
    }
    fn read_block(&mut self, blocknr: u64, buf: &mut [u8; BLOCK_SIZE]) -> Result<()> {
        (**self).read_block(blocknr, buf)
    }
    fn write_block(&mut self, blocknr: u64, buf: &[u8; BLOCK_SIZE]) -> Result<()> {
        (**self).write_block(blocknr, buf)
    }
    fn flush(&mut self) -> Result<()> {
        (**self).flush()
    }
    fn now(&self) -> Timespec {
        (**self).now()
    }
    fn log(&self, level: LogLevel, msg: core::fmt::Arguments<'_>) {
        (**self).log(level, msg)
    }
    fn commit_soon(&self) {
        (**self).commit_soon()
    }
    fn discard(&mut self, start: u64, count: u64) -> Result<()> {
        (**self).discard(start, count)
    }
}

#[cfg(feature = "std")]
mod host {
    use super::*;
    use crate::Errno;
    use std::fs::File;
    use std::os::unix::fs::FileExt;

    /// A device kept in memory; tests and fuzzers run the core on it.
    /// (Host only: its allocation is the test's, not the core's.)
    #[derive(Clone)]
    pub struct MemDevice {
        pub data: std::vec::Vec<u8>,
        pub blocks: u64,
        /// Writes seen so far (for tests that count I/O).
        pub writes: u64,
        /// Reads seen so far.
        pub reads: u64,
    }

    impl MemDevice {
        pub fn new(blocks: u64) -> Self {
            let len = usize::try_from(blocks)
                .unwrap_or(0)
                .saturating_mul(BLOCK_SIZE);
            MemDevice {
                #[allow(clippy::disallowed_methods)]
                data: std::vec![0u8; len],
                blocks,
                writes: 0,
                reads: 0,
            }
        }

        fn range(&self, blocknr: u64) -> Result<core::ops::Range<usize>> {
            if blocknr >= self.blocks {
                return Err(Errno::EIO);
            }
            let start = usize::try_from(blocknr).map_err(|_| Errno::EIO)? * BLOCK_SIZE;
            Ok(start..start + BLOCK_SIZE)
        }
    }

    impl Device for MemDevice {
        fn block_count(&self) -> u64 {
            self.blocks
        }
        fn read_block(&mut self, blocknr: u64, buf: &mut [u8; BLOCK_SIZE]) -> Result<()> {
            let r = self.range(blocknr)?;
            buf.copy_from_slice(self.data.get(r).ok_or(Errno::EIO)?);
            self.reads += 1;
            Ok(())
        }
        fn write_block(&mut self, blocknr: u64, buf: &[u8; BLOCK_SIZE]) -> Result<()> {
            let r = self.range(blocknr)?;
            self.data.get_mut(r).ok_or(Errno::EIO)?.copy_from_slice(buf);
            self.writes += 1;
            Ok(())
        }
        fn flush(&mut self) -> Result<()> {
            Ok(())
        }
        fn now(&self) -> Timespec {
            host_now()
        }
        fn log(&self, level: LogLevel, msg: core::fmt::Arguments<'_>) {
            if level == LogLevel::Err {
                std::eprintln!("vexfs: {}", msg);
            }
        }
        /// Discarded blocks read back as 0xd5 (a thin device might return
        /// anything): a test sees any live block that was discarded.
        fn discard(&mut self, start: u64, count: u64) -> Result<()> {
            for b in start..start.checked_add(count).ok_or(Errno::EIO)? {
                let r = self.range(b)?;
                self.data.get_mut(r).ok_or(Errno::EIO)?.fill(0xd5);
            }
            Ok(())
        }
    }

    /// A device backed by an image file or a block device node.
    pub struct FileDevice {
        file: File,
        blocks: u64,
    }

    impl FileDevice {
        pub fn new(file: File, bytes: u64) -> Self {
            FileDevice {
                file,
                blocks: bytes / BLOCK_SIZE as u64,
            }
        }
    }

    impl Device for FileDevice {
        fn block_count(&self) -> u64 {
            self.blocks
        }
        fn read_block(&mut self, blocknr: u64, buf: &mut [u8; BLOCK_SIZE]) -> Result<()> {
            if blocknr >= self.blocks {
                return Err(Errno::EIO);
            }
            self.file
                .read_exact_at(buf, blocknr * BLOCK_SIZE as u64)
                .map_err(|_| Errno::EIO)
        }
        fn write_block(&mut self, blocknr: u64, buf: &[u8; BLOCK_SIZE]) -> Result<()> {
            if blocknr >= self.blocks {
                return Err(Errno::EIO);
            }
            self.file
                .write_all_at(buf, blocknr * BLOCK_SIZE as u64)
                .map_err(|_| Errno::EIO)
        }
        fn flush(&mut self) -> Result<()> {
            self.file.sync_all().map_err(|_| Errno::EIO)
        }
        fn now(&self) -> Timespec {
            host_now()
        }
        fn log(&self, _level: LogLevel, msg: core::fmt::Arguments<'_>) {
            std::eprintln!("vexfs: {}", msg);
        }
    }

    pub fn host_now() -> Timespec {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timespec {
            sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nsec: d.subsec_nanos(),
        }
    }
}

#[cfg(feature = "std")]
pub use host::{host_now, FileDevice, MemDevice};
