//! Allocation-failure injection: the core must turn any failed allocation
//! into an error (ENOMEM), never an abort, and leave a filesystem that
//! checks clean. A test allocator fails the Nth allocation of the workload
//! (and, in a second sweep, every allocation from the Nth on) for every N up
//! to the workload's allocation count. In the kernel a failed infallible
//! allocation is a panic; here it aborts the test binary, which fails it.
#![allow(
    clippy::disallowed_methods,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use vexfs_core::dev::{LogLevel, MemDevice, Timespec};
use vexfs_core::format::BLOCK_SIZE;
use vexfs_core::fsck::{check, Mode, Options};
use vexfs_core::mkfs::{format, MkfsOptions, VectorOptions};
use vexfs_core::{Device, Errno, Fs};

thread_local! {
    /// Allocations left before the failing one (0: injection off).
    static LEFT: Cell<u64> = const { Cell::new(0) };
    /// Keep failing once the first failure happened.
    static STICKY: Cell<bool> = const { Cell::new(false) };
    /// Allocations seen while counting.
    static COUNT: Cell<u64> = const { Cell::new(0) };
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static FAILED: Cell<u64> = const { Cell::new(0) };
}

struct Failing;

// SAFETY: forwards to the system allocator, or returns NULL (allowed).
unsafe impl GlobalAlloc for Failing {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if should_fail() {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        if should_fail() {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if should_fail() {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract.
        unsafe { System.realloc(p, l, n) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract.
        unsafe { System.dealloc(p, l) }
    }
}

fn should_fail() -> bool {
    // try_with: TLS may be gone while a thread exits.
    let counting = COUNTING.try_with(|c| c.get()).unwrap_or(false);
    if counting {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
    }
    LEFT.try_with(|left| {
        let n = left.get();
        if n == 0 {
            return false;
        }
        if n == 1 {
            if !STICKY.with(|s| s.get()) {
                left.set(0);
            }
            FAILED.with(|f| f.set(f.get() + 1));
            return true;
        }
        left.set(n - 1);
        false
    })
    .unwrap_or(false)
}

#[global_allocator]
static ALLOC: Failing = Failing;

fn arm(n: u64, sticky: bool) {
    STICKY.with(|s| s.set(sticky));
    FAILED.with(|f| f.set(0));
    LEFT.with(|l| l.set(n));
}

fn disarm() -> u64 {
    LEFT.with(|l| l.set(0));
    FAILED.with(|f| f.get())
}

/// The device without log output (printing allocates, and a test's
/// captured output is a growing buffer).
struct Quiet(MemDevice);

impl Device for Quiet {
    fn block_count(&self) -> u64 {
        self.0.block_count()
    }
    fn read_block(&mut self, b: u64, buf: &mut [u8; BLOCK_SIZE]) -> vexfs_core::Result<()> {
        self.0.read_block(b, buf)
    }
    fn write_block(&mut self, b: u64, buf: &[u8; BLOCK_SIZE]) -> vexfs_core::Result<()> {
        self.0.write_block(b, buf)
    }
    fn flush(&mut self) -> vexfs_core::Result<()> {
        self.0.flush()
    }
    fn now(&self) -> Timespec {
        Timespec {
            sec: 1_700_000_000,
            nsec: 0,
        }
    }
    fn log(&self, _level: LogLevel, _msg: std::fmt::Arguments<'_>) {}
}

const DIM: u32 = 8;

fn image() -> MemDevice {
    let mut dev = MemDevice::new(4096);
    let opts = MkfsOptions {
        vectors: Some(VectorOptions::new(DIM, 1)),
        label: b"alloc".to_vec(),
        inodes: 2048,
        uuid: [3; 16],
        blocks: 0,
    };
    format(&mut dev, &opts).unwrap();
    // Some vectors and files already there, so the mount loads a graph.
    let mut fs = Fs::mount(dev, false).unwrap();
    let d = fs.create(1, b"pre", 0o040755, 0, 0, 0).unwrap();
    for i in 0..40u32 {
        let ino = fs
            .create(d, format!("p{i}").as_bytes(), 0o100644, 0, 0, 0)
            .unwrap();
        fs.vec_set(ino, &vector(i)).unwrap();
    }
    fs.sync().unwrap();
    let (dev, r) = fs.unmount();
    r.unwrap();
    dev
}

fn vector(i: u32) -> Vec<f32> {
    (0..DIM).map(|j| ((i * 7 + j * 3) % 11) as f32).collect()
}

/// Everything the workload does; the first error ends it. Buffers it uses
/// are made before injection starts.
fn workload(fs: &mut Fs<Quiet>, data: &[u8], q: &[f32], v: &[f32]) -> vexfs_core::Result<()> {
    let a = fs.create(1, b"a", 0o100644, 0, 0, 0)?;
    fs.write(a, 0, data)?;
    let d = fs.create(1, b"dir", 0o040755, 0, 0, 0)?;
    let b = fs.create(d, b"b", 0o100644, 0, 0, 0)?;
    fs.write(b, 3 * BLOCK_SIZE as u64, data)?;
    fs.vec_set(a, v)?;
    fs.vec_set(b, q)?;
    fs.vec_query(q, 1, 5, 0, false)?;
    fs.vec_query(q, d, 2, 16, false)?;
    fs.vec_query(q, 1, 3, 0, true)?;
    fs.rename(1, b"a", d, b"a2", 0)?;
    fs.link(d, b"a3", a)?;
    fs.commit()?;
    fs.vec_delete(b)?;
    fs.unlink(d, b"b")?;
    fs.truncate(a, 10)?;
    fs.vec_set(a, q)?;
    fs.unlink(d, b"a2")?;
    fs.sync()?;
    Ok(())
}

/// One run with the Nth allocation failing (0: none). Returns the
/// allocations the run made (when counting) and whether it failed.
fn run(base: &MemDevice, n: u64, sticky: bool, count: bool) -> (u64, bool) {
    let dev = Quiet(base.clone());
    let data = vec![0x5au8; 3 * BLOCK_SIZE + 100];
    let q = vector(3);
    let v = vector(17);
    let _ = writeln!(std::io::stderr(), "alloc_fail: N={n} sticky={sticky}");
    COUNT.with(|c| c.set(0));
    COUNTING.with(|c| c.set(count));
    arm(n, sticky);
    let mounted = Fs::mount(dev, false);
    let (res, fs) = match mounted {
        Ok(mut fs) => {
            let r = workload(&mut fs, &data, &q, &v);
            (r, Some(fs))
        }
        Err(e) => (Err(e), None),
    };
    // Unmount while still failing: it must not abort either.
    let (mut dev, unmounted) = match fs {
        Some(fs) => {
            let (d, r) = fs.unmount();
            (Some(d), r)
        }
        None => (None, Ok(())),
    };
    let failed = disarm();
    COUNTING.with(|c| c.set(false));
    let total = COUNT.with(|c| c.get());
    if failed == 0 {
        res.expect("no allocation failed, yet the workload failed");
        unmounted.expect("unmount");
    } else if let Err(e) = res {
        assert!(
            matches!(e, Errno::ENOMEM | Errno::EROFS | Errno::EIO),
            "N={n} sticky={sticky}: the workload failed with {e}, not ENOMEM"
        );
    }
    // Whatever happened, the device checks clean and mounts (the replayed
    // journal holds what was committed).
    let mut dev = dev.take().unwrap_or_else(|| Quiet(base.clone()));
    let rep = check(
        &mut dev,
        &Options {
            mode: Mode::No,
            verbose: false,
        },
    );
    assert!(
        rep.errors() == 0 && rep.fatal.is_none(),
        "N={n} sticky={sticky}: fsck -n after the failure: {} errors, fatal {:?}\n{}",
        rep.errors(),
        rep.fatal,
        rep.lines.join("\n")
    );
    let fs = Fs::mount(dev, false).unwrap_or_else(|e| panic!("N={n}: mount after: {e}"));
    let (mut dev, r) = fs.unmount();
    r.unwrap();
    let rep = check(
        &mut dev,
        &Options {
            mode: Mode::No,
            verbose: false,
        },
    );
    assert!(
        rep.errors() == 0 && rep.fatal.is_none(),
        "N={n}: fsck after remount"
    );
    (total, failed > 0)
}

#[test]
fn every_allocation_of_the_workload_may_fail() {
    let base = image();
    let (total, failed) = run(&base, 0, false, true);
    assert!(!failed);
    assert!(total > 100, "the workload allocates ({total})");
    let mut failures = 0;
    for n in 1..=total {
        if run(&base, n, false, false).1 {
            failures += 1;
        }
    }
    // Every N below the count hits an allocation.
    assert!(failures as u64 >= total * 9 / 10, "{failures} of {total}");
    eprintln!("alloc_fail: {total} allocations, each failed once");
}

#[test]
fn memory_that_stays_short_is_survived_too() {
    let base = image();
    let (total, _) = run(&base, 0, false, true);
    // Every allocation from the Nth on fails (memory pressure that lasts).
    let step = (total / 400).max(1) as usize;
    for n in (1..=total).step_by(step) {
        run(&base, n, true, false);
    }
}

fn fsck_clean(dev: &mut Quiet, what: &str) {
    let rep = check(
        dev,
        &Options {
            mode: Mode::No,
            verbose: false,
        },
    );
    assert!(
        rep.errors() == 0 && rep.fatal.is_none(),
        "{what}: fsck -n: {}",
        rep.lines.join("\n")
    );
}

/// An operation that fails half-way is rolled back: the filesystem stays
/// writable, shows nothing of it, and the operation then succeeds.
#[test]
fn a_failed_operation_is_rolled_back() {
    let base = image();
    let mut rolled_back = 0;
    let mut n = 1;
    loop {
        let mut fs = Fs::mount(Quiet(base.clone()), false).unwrap();
        let d = fs.lookup(1, b"pre").unwrap();
        let x = fs.create(d, b"x", 0o100644, 0, 0, 0).unwrap();
        fs.write(x, 0, &[7u8; 3 * BLOCK_SIZE]).unwrap();
        let e = fs.create(1, b"e", 0o040755, 0, 0, 0).unwrap();
        fs.commit().unwrap();
        arm(n, false);
        let r = fs.rename(d, b"x", e, b"y", 0);
        let failed = disarm();
        if failed == 0 {
            r.unwrap();
            break;
        }
        if r.is_ok() {
            // An allocation the core can do without (its undo notes).
            n += 1;
            continue;
        }
        assert_eq!(r, Err(Errno::ENOMEM), "N={n}");
        assert!(!fs.has_errors(), "N={n}: rolled back, not aborted");
        assert_eq!(fs.lookup(d, b"x"), Ok(x), "N={n}");
        assert_eq!(fs.lookup(e, b"y"), Err(Errno::ENOENT), "N={n}");
        fs.rename(d, b"x", e, b"y", 0).unwrap();
        let mut out = [0u8; 16];
        fs.read(x, 0, &mut out).unwrap();
        assert_eq!(out, [7u8; 16]);
        let (mut dev, r) = fs.unmount();
        r.unwrap();
        fsck_clean(&mut dev, "after rollback");
        rolled_back += 1;
        n += 1;
    }
    assert!(rolled_back > 3, "rename allocates ({rolled_back})");
}

/// Memory that stays short after an operation failed does not turn the
/// filesystem read-only: the rollback needs no memory (an inode the kernel
/// holds is read again at its next use), so the filesystem stays writable,
/// and once memory is back the held inode shows the committed state and
/// the operation succeeds.
#[test]
fn memory_short_during_the_rollback_does_not_abort() {
    let base = image();
    let mut rolled_back = 0;
    let mut n = 1;
    loop {
        let mut fs = Fs::mount(Quiet(base.clone()), false).unwrap();
        let d = fs.lookup(1, b"pre").unwrap();
        let p = fs.lookup(d, b"p5").unwrap();
        fs.iget(p).unwrap();
        fs.write(p, 0, &[1u8; 2 * BLOCK_SIZE]).unwrap();
        fs.commit().unwrap();
        arm(n, true);
        let r = fs.write(p, 2 * BLOCK_SIZE as u64, &[2u8; 4 * BLOCK_SIZE]);
        // Still short of memory: another change fails, no abort either.
        let again = fs.truncate(p, 0);
        let failed = disarm();
        if failed == 0 {
            r.unwrap();
            break;
        }
        if r.is_ok() {
            n += 1;
            continue;
        }
        assert_eq!(r, Err(Errno::ENOMEM), "N={n}");
        assert!(again.is_err(), "N={n}: truncate with no memory at all");
        assert!(!fs.has_errors(), "N={n}: rolled back, not aborted");
        rolled_back += 1;
        assert_eq!(fs.getattr(p).unwrap().size, 2 * BLOCK_SIZE as u64, "N={n}");
        let mut out = [0u8; 8];
        assert_eq!(fs.read(p, BLOCK_SIZE as u64, &mut out), Ok(8));
        assert_eq!(out, [1u8; 8]);
        fs.write(p, 2 * BLOCK_SIZE as u64, &[2u8; 4 * BLOCK_SIZE])
            .unwrap();
        fs.create(1, b"z", 0o100644, 0, 0, 0).unwrap();
        fs.evict(p, false).unwrap();
        let (dev, r) = fs.unmount();
        r.unwrap();
        let mut fs = Fs::mount(dev, false).unwrap();
        assert_eq!(fs.getattr(p).unwrap().size, 6 * BLOCK_SIZE as u64, "N={n}");
        assert_eq!(fs.vec_get(p).unwrap(), vector(5), "N={n}");
        let (mut dev, r) = fs.unmount();
        r.unwrap();
        fsck_clean(&mut dev, "after rollback");
        n += 1;
    }
    assert!(rolled_back > 3, "the write allocates ({rolled_back})");
}
