//! A mounted filesystem: the superblock in memory, the inode cache, and the
//! error state. Every operation of the core is a method on `Fs`.

use crate::dev::{new_block, Device, LogLevel};
use crate::format::{
    Superblock, BLOCK_SIZE, FEATURE_INCOMPAT_SUPP, FEATURE_RO_COMPAT_SUPP, NAME_MAX, STATE_CLEAN,
    STATE_ERRORS,
};
use crate::inode::Inode;
use crate::journal::{self, Journal};
use crate::{Errno, Result};
use alloc::boxed::Box;
use hashbrown::HashMap;
use zerocopy::{FromZeros, IntoBytes};

/// Largest file: 2^32 blocks of 4 KiB (16 TiB).
pub const MAX_FILE_BLOCKS: u64 = 1 << 32;
pub const MAX_FILE_SIZE: u64 = MAX_FILE_BLOCKS * BLOCK_SIZE as u64;
/// Most hard links (and subdirectories + 2) an inode may have.
pub const LINK_MAX: u32 = 65000;
/// `begin_op` commits when fewer free blocks than this are usable because
/// the rest were freed in the running transaction (`commit_due` asks for a
/// commit much earlier).
const FREED_COMMIT_BLOCKS: u64 = 256;

/// The superblock, the journal and the savepoint live in their own heap
/// blocks so that `Fs` itself stays small: the kernel builds it on a
/// 16 KiB stack (see `mount_boxed`).
pub struct Fs<D: Device> {
    pub dev: D,
    pub sb: Box<Superblock>,
    pub(crate) inodes: HashMap<u64, Inode>,
    pub(crate) read_only: bool,
    /// Set when corruption was seen: further changes are refused with EROFS.
    pub(crate) errored: bool,
    pub(crate) sb_dirty: bool,
    pub(crate) next_generation: u32,
    /// The vector space, when mkfs gave the filesystem one.
    pub(crate) vec: Option<alloc::boxed::Box<crate::vector::store::VecSpace>>,
    /// The metadata journal: every metadata write goes to its running transaction.
    pub journal: Box<Journal>,
    /// The running transaction is big enough that the device was asked to commit soon.
    pub(crate) commit_hinted: bool,
    /// The orphan list in memory, in on-disk order (sb.orphan_head first).
    pub(crate) orphans: alloc::vec::Vec<u64>,
    /// A commit failed: like jbd2 after an abort, nothing more is committed
    /// (what is home is consistent; the lost transaction stays lost).
    pub(crate) journal_aborted: bool,
    /// Inside `op`: whether one runs, the savepoint, the inodes the operation
    /// may have changed in the cache (None: too many to note, reload all),
    /// and whether it changed the vectors in memory (no rollback then).
    in_op: bool,
    sp: Savepoint,
    touched: Option<alloc::vec::Vec<u64>>,
    pub(crate) vec_touched: bool,
    /// Directory scans `link_name` needed because an inode's `parent_pos`
    /// was unknown or stale (tests check that current images need none).
    pub link_scans: u64,
    /// Replaces the directory hash (tests force collisions with it; an
    /// index written under it is only valid under it).
    #[doc(hidden)]
    pub dir_hash_hook: Option<fn(&[u8]) -> u64>,
}

/// What `fail_op` restores besides the journal's running transaction.
/// Its buffers are allocated once per mount and reused by every operation.
struct Savepoint {
    held: bool,
    sb: Box<Superblock>,
    sb_dirty: bool,
    orphans: alloc::vec::Vec<u64>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatFs {
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub fsid: u64,
    pub bsize: u32,
    pub namelen: u32,
}

impl<D: Device> Fs<D> {
    /// Read and validate the superblock, mark the filesystem in use.
    pub fn mount(dev: D, read_only: bool) -> Result<Self> {
        Self::mount_boxed(dev, read_only).map(|fs| *fs)
    }

    /// `mount`, onto the heap: the kernel calls this on a 16 KiB stack, so
    /// the work is split into frames that each stay small (the build
    /// checks every frame of the module: scripts/check-stack.sh).
    #[inline(never)]
    pub fn mount_boxed(dev: D, read_only: bool) -> Result<Box<Self>> {
        let mut fs = Self::open(dev, read_only)?;
        fs.start()?;
        Ok(fs)
    }

    /// The superblock (after journal replay) and the journal, in memory.
    #[inline(never)]
    fn open(mut dev: D, read_only: bool) -> Result<Box<Self>> {
        let mut read_only = read_only;
        let sb = Self::read_super(&mut dev, &mut read_only)?;
        let journal = Self::open_journal(&mut dev, &sb)?;
        if sb.state.get() & STATE_ERRORS != 0 {
            dev.log(
                LogLevel::Warn,
                format_args!("filesystem has errors recorded: run fsck.vexfs"),
            );
        }
        let now = dev.now();
        let sp = Savepoint {
            held: false,
            sb: Superblock::new_box_zeroed().map_err(|_| Errno::ENOMEM)?,
            sb_dirty: false,
            orphans: alloc::vec::Vec::new(),
        };
        crate::mem::boxed(Fs {
            dev,
            sb,
            inodes: HashMap::new(),
            read_only,
            errored: false,
            sb_dirty: false,
            next_generation: (now.nsec ^ (now.sec as u32)) | 1,
            vec: None,
            journal,
            commit_hinted: false,
            orphans: alloc::vec::Vec::new(),
            journal_aborted: false,
            in_op: false,
            sp,
            touched: None,
            vec_touched: false,
            link_scans: 0,
            dir_hash_hook: None,
        })
    }

    /// Mark the filesystem mounted, load the vectors, free the orphans.
    #[inline(never)]
    fn start(&mut self) -> Result<()> {
        if !self.read_only {
            let now = self.dev.now();
            self.sb.mount_time.set(now.sec);
            self.sb
                .mount_count
                .set(self.sb.mount_count.get().wrapping_add(1));
            self.sb_dirty = true;
            self.write_super()?;
        }
        self.load_vectors()?;
        // A damaged orphan list is logged and leaves the mount refusing
        // changes (corrupt()); the files themselves stay readable.
        let orphans = self.load_orphans();
        if orphans.is_ok() && !self.read_only {
            let freed = self.free_orphans();
            if freed.is_ok() {
                self.commit()?;
            }
            freed.or_else(|e| if e == Errno::EUCLEAN { Ok(()) } else { Err(e) })?;
        }
        orphans.or_else(|e| if e == Errno::EUCLEAN { Ok(()) } else { Err(e) })
    }

    /// The superblock, checked, with its features; after journal replay.
    #[inline(never)]
    fn read_super(dev: &mut D, read_only: &mut bool) -> Result<Box<Superblock>> {
        let mut sb = Superblock::new_box_zeroed().map_err(|_| Errno::ENOMEM)?;
        Self::decode_super(dev, &mut sb, "can't mount")?;
        let incompat = sb.feature_incompat.get() & !FEATURE_INCOMPAT_SUPP;
        if incompat != 0 {
            dev.log(
                LogLevel::Err,
                format_args!(
                    "can't mount: unsupported incompatible features {:#x}",
                    incompat
                ),
            );
            return Err(Errno::EINVAL);
        }
        let ro_compat = sb.feature_ro_compat.get() & !FEATURE_RO_COMPAT_SUPP;
        if ro_compat != 0 && !*read_only {
            dev.log(
                LogLevel::Warn,
                format_args!(
                    "unsupported ro_compat features {:#x}: mounting read-only",
                    ro_compat
                ),
            );
            *read_only = true;
        }
        Self::recover_journal(dev, &mut sb)?;
        Ok(sb)
    }

    /// Read and check block 0 into `sb`. Not ours at all is EINVAL (like
    /// other filesystems' "can't find"); ours but damaged is EUCLEAN.
    fn decode_super(dev: &mut D, sb: &mut Superblock, what: &str) -> Result<()> {
        let mut buf = new_block()?;
        dev.read_block(0, &mut buf)?;
        match Superblock::decode(&buf, dev.block_count()) {
            Ok(decoded) => {
                *sb = decoded;
                Ok(())
            }
            Err(why) => {
                dev.log(LogLevel::Err, format_args!("{}: {}", what, why));
                let ours = buf.get(..8) == Some(crate::format::MAGIC.to_le_bytes().as_slice());
                Err(if ours { Errno::EUCLEAN } else { Errno::EINVAL })
            }
        }
    }

    #[inline(never)]
    fn open_journal(dev: &mut D, sb: &Superblock) -> Result<Box<Journal>> {
        match Journal::open(dev, sb) {
            Ok(j) => crate::mem::boxed(j),
            Err(why) => {
                dev.log(LogLevel::Err, format_args!("can't mount: journal: {}", why));
                Err(journal::errno_of(why))
            }
        }
    }

    /// Replay what the journal holds (on read-only mounts too, as ext4 does:
    /// the device must be writable), then read the superblock again.
    fn recover_journal(dev: &mut D, sb: &mut Superblock) -> Result<()> {
        let rec = match journal::replay(dev, sb) {
            Ok(r) => r,
            Err(why) => {
                dev.log(LogLevel::Err, format_args!("can't mount: journal: {}", why));
                return Err(journal::errno_of(why));
            }
        };
        if rec.transactions == 0 {
            return Ok(());
        }
        dev.log(
            LogLevel::Info,
            format_args!(
                "recovered {} transactions ({} blocks, {} revoked) from the journal",
                rec.transactions, rec.blocks, rec.revoked
            ),
        );
        Self::decode_super(dev, sb, "can't mount: after journal replay").map_err(|_| Errno::EUCLEAN)
    }

    /// Switch between read-only and read-write. Going read-only writes the
    /// superblock clean; going read-write is refused (EROFS) after errors or
    /// with unsupported ro_compat features.
    pub fn remount(&mut self, read_only: bool) -> Result<()> {
        if read_only == self.read_only {
            return Ok(());
        }
        if read_only {
            let clean = self.sb.state.get() & STATE_ERRORS == 0 && !self.errored;
            self.sb
                .state
                .set(if clean { STATE_CLEAN } else { STATE_ERRORS });
            if !self.journal_aborted {
                // After an abort nothing more is written: just stop changes.
                self.write_super()?;
                self.commit()?;
                // What the unlinks after that commit changed.
                self.commit_once()?;
                self.journal.checkpoint(&mut self.dev)?;
            }
            self.read_only = true;
            return Ok(());
        }
        let ro_compat = self.sb.feature_ro_compat.get() & !FEATURE_RO_COMPAT_SUPP;
        if self.errored || ro_compat != 0 {
            return Err(Errno::EROFS);
        }
        self.read_only = false;
        self.sb.mount_time.set(self.dev.now().sec);
        self.write_super()
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    pub fn has_errors(&self) -> bool {
        self.errored
    }

    pub(crate) fn log_err(&self, args: core::fmt::Arguments<'_>) {
        self.dev.log(LogLevel::Err, args);
    }

    /// Record metadata corruption: log it (dmesg in the kernel), remember it
    /// so the filesystem turns read-only, and return EUCLEAN.
    pub(crate) fn corrupt(&mut self, args: core::fmt::Arguments<'_>) -> Errno {
        self.dev
            .log(LogLevel::Err, format_args!("corruption: {}", args));
        if !self.errored {
            self.errored = true;
            self.sb.state.set(self.sb.state.get() | STATE_ERRORS);
            self.sb_dirty = true;
            if !self.read_only {
                let _ = self.write_super();
            }
            self.dev.log(
                LogLevel::Err,
                format_args!("further changes refused (EROFS) until fsck.vexfs"),
            );
        }
        Errno::EUCLEAN
    }

    /// Read a metadata block: the running transaction's copy if it has one.
    pub(crate) fn read_blk(&mut self, blocknr: u64, buf: &mut [u8; BLOCK_SIZE]) -> Result<()> {
        match self.journal.get(blocknr) {
            Some(b) => {
                buf.copy_from_slice(b.as_slice());
                Ok(())
            }
            None => self.dev.read_block(blocknr, buf),
        }
    }

    /// [`Fs::read_blk`], saying whether the copy came from the running
    /// transaction: such a copy was written (sealed) by this mount, so it
    /// needs no checksum verification again.
    pub(crate) fn read_blk_fresh(
        &mut self,
        blocknr: u64,
        buf: &mut [u8; BLOCK_SIZE],
    ) -> Result<bool> {
        match self.journal.get(blocknr) {
            Some(b) => {
                buf.copy_from_slice(b.as_slice());
                Ok(true)
            }
            None => self.dev.read_block(blocknr, buf).map(|()| false),
        }
    }

    /// Write a metadata block: into the running transaction. A transaction
    /// grown past a quarter of the log asks the device (the kernel shim) to
    /// commit soon.
    pub(crate) fn write_blk(&mut self, blocknr: u64, buf: &[u8; BLOCK_SIZE]) -> Result<()> {
        self.journal.put(blocknr, buf)?;
        if !self.commit_hinted && self.journal.wants_commit() {
            self.commit_hinted = true;
            self.dev.commit_soon();
        }
        Ok(())
    }

    /// Write a block outside the journal: file data (the userspace data
    /// path) and the self-validating vector index. A failed write turns the
    /// mount read-only for changes, as ext4 does when its journal aborts.
    pub(crate) fn write_raw(&mut self, blocknr: u64, buf: &[u8; BLOCK_SIZE]) -> Result<()> {
        let r = self.dev.write_block(blocknr, buf);
        if let Err(e) = r {
            self.write_failed(e, blocknr);
        }
        r
    }

    fn write_failed(&mut self, e: Errno, blocknr: u64) {
        if !self.errored {
            self.errored = true;
            self.dev.log(
                LogLevel::Err,
                format_args!(
                    "write error {} on block {}: further changes refused (EROFS)",
                    e, blocknr
                ),
            );
        }
    }

    /// Refuse changes on a read-only or damaged filesystem.
    pub(crate) fn check_writable(&self) -> Result<()> {
        if self.read_only || self.errored {
            Err(Errno::EROFS)
        } else {
            Ok(())
        }
    }

    /// Start of every operation that changes metadata: refuse it on a
    /// read-only or damaged filesystem, and commit a running transaction that
    /// has grown large first, so that the operation's own blocks fit. (No
    /// operation is ever split across transactions.)
    pub fn begin_op(&mut self) -> Result<()> {
        self.check_writable()?;
        // The kernel shim commits (with ordered data) before an operation
        // when `commit_due` says so. This commit is the normal path in
        // userspace and a backstop in the kernel, where it cannot write the
        // data of newly allocated blocks first: there it waits until the
        // log would otherwise overflow (atomicity before ordering).
        let free = self.sb.free_blocks.get();
        let freed = self.journal.freed_count();
        let starved = freed > 0 && free.saturating_sub(freed) < FREED_COMMIT_BLOCKS;
        let (used, cap) = (self.journal.positions_used(), self.journal.capacity());
        let ordered = self.journal.has_ordered();
        let rows = self.vec_wants_commit();
        if (!ordered && (starved || rows || used > cap / 2)) || used > cap / 4 * 3 {
            self.commit()?;
        }
        if self.in_op && !self.sp.held {
            self.sp.orphans.clear();
            crate::mem::extend_from_slice(&mut self.sp.orphans, &self.orphans)?;
            self.sp.sb.clone_from(&self.sb);
            self.sp.sb_dirty = self.sb_dirty;
            self.sp.held = true;
            self.touched = Some(alloc::vec::Vec::new());
            self.vec_touched = false;
            self.vec_op_begin();
            self.journal.savepoint();
        }
        Ok(())
    }

    /// Run one operation that changes metadata: it completes, or leaves no
    /// trace. An operation that fails after it changed the running
    /// transaction is rolled back to the savepoint `begin_op` took (the
    /// transaction's blocks, the superblock, the orphan list; the inodes it
    /// touched are read again at their next use); when that cannot be done
    /// (it changed the vectors in memory, a commit ran inside it, or there
    /// was no room to put back what it dropped) the journal is
    /// aborted, as jbd2 does: the filesystem refuses further changes and
    /// the disk keeps the last committed state.
    pub fn op<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.in_op {
            return f(self);
        }
        self.in_op = true;
        let r = f(self);
        self.in_op = false;
        match &r {
            Ok(_) => self.end_op(),
            Err(e) => self.fail_op(*e),
        }
        r
    }

    fn end_op(&mut self) {
        self.journal.release();
        self.sp.held = false;
        self.touched = None;
        self.vec_touched = false;
    }

    /// Note that the operation in progress may change cached inode `ino`.
    /// (`touched` is Some only while a savepoint is held.)
    pub(crate) fn touch_inode(&mut self, ino: u64) {
        if let Some(t) = self.touched.as_mut() {
            if !t.contains(&ino) && crate::mem::push(t, ino).is_err() {
                self.touched = None;
            }
        }
    }

    fn fail_op(&mut self, e: Errno) {
        if !self.sp.held {
            self.end_op();
            return;
        }
        let touched = self.touched.take();
        if self.vec_touched || !self.journal.roll_back() {
            self.end_op();
            self.abort_op(e);
            return;
        }
        self.vec_op_rolled_back();
        let errors = self.sb.state.get() & STATE_ERRORS;
        self.sb.clone_from(&self.sp.sb);
        self.sb_dirty = self.sp.sb_dirty;
        core::mem::swap(&mut self.orphans, &mut self.sp.orphans);
        match touched {
            Some(list) => list.iter().for_each(|&ino| self.forget_inode(ino)),
            None => self.forget_all_inodes(),
        }
        self.end_op();
        if errors != 0 {
            // Corruption found by the operation stays recorded.
            self.sb.state.set(self.sb.state.get() | errors);
            self.sb_dirty = true;
            if !self.read_only {
                let _ = self.write_super();
            }
        }
    }

    /// An operation failed half-way and cannot be undone: abort the
    /// journal (nothing more is committed; the disk keeps the last commit).
    fn abort_op(&mut self, e: Errno) {
        if !self.journal_aborted {
            self.dev.log(
                LogLevel::Err,
                format_args!(
                    "operation failed half-way ({}): journal aborted, further changes refused (EROFS)",
                    e
                ),
            );
        }
        self.journal_aborted = true;
        self.errored = true;
    }

    /// Whether the running transaction should be committed before the next
    /// operation: it holds a quarter of the log, or blocks it freed (not
    /// allocatable until it commits) are a large part of the free space.
    pub fn commit_due(&self) -> bool {
        let free = self.sb.free_blocks.get();
        let freed = self.journal.freed_count();
        let usable = free.saturating_sub(freed);
        !self.read_only
            && !self.journal_aborted
            && (self.journal.wants_commit()
                || self.vec_wants_commit()
                || (freed > 0 && usable < core::cmp::max(freed, free / 2)))
    }

    /// Commit the running transaction (the superblock first, if it changed).
    /// Returns whether anything was committed. A failure leaves the mount
    /// refusing changes: what is home is consistent, the rest is lost.
    ///
    /// Afterwards, in the new running transaction, deleted vectors (now
    /// durably deleted) are unlinked from the graph (`reap_dead`).
    pub fn commit(&mut self) -> Result<bool> {
        let r = self.commit_once()?;
        self.reap_dead();
        Ok(r)
    }

    /// Whether an operation (`op`) is running.
    pub(crate) fn in_op(&self) -> bool {
        self.in_op
    }

    /// `commit` without the graph upkeep after it. Graph blocks changed in
    /// the transaction are written in place first: the journal's flush
    /// before the commit block makes them durable before the vectors they
    /// link become live.
    pub(crate) fn commit_once(&mut self) -> Result<bool> {
        if self.journal_aborted {
            return Err(Errno::EIO);
        }
        if self.read_only {
            return Ok(false);
        }
        if self.sb_dirty {
            self.write_super()?;
        }
        let rows = self.flush_rows()?;
        if self.journal.is_empty() {
            if rows {
                self.dev.flush()?;
            }
            return Ok(false);
        }
        self.commit_hinted = false;
        match self.journal.commit(&mut self.dev) {
            Ok(()) => Ok(true),
            Err(e) if !self.journal.io_started => Err(e),
            Err(e) => {
                self.journal_aborted = true;
                self.write_failed(e, self.sb.journal_start.get());
                Err(e)
            }
        }
    }

    /// The kernel's commit: refused with EAGAIN while inodes that got new
    /// blocks in the running transaction have not had their data written
    /// (ordered mode); `flush` makes completed data writes durable even
    /// when there is no metadata to commit (fsync). `index` (sync) asks
    /// for nothing more: the graph is written by every commit.
    pub fn commit_ordered(&mut self, flush: bool, index: bool) -> Result<()> {
        let _ = index;
        if self.journal.has_ordered() {
            return Err(Errno::EAGAIN);
        }
        if flush {
            self.commit_durable()?;
        } else {
            self.commit()?;
        }
        Ok(())
    }

    /// Commit; with nothing to commit, flush the device anyway, so that
    /// data written in place is durable too.
    fn commit_durable(&mut self) -> Result<()> {
        if !self.commit()? {
            self.dev.flush()?;
        }
        Ok(())
    }

    pub(crate) fn write_super(&mut self) -> Result<()> {
        let mut buf = new_block()?;
        self.sb.write_time.set(self.dev.now().sec);
        self.sb.seal();
        let bytes = self.sb.as_bytes();
        buf.get_mut(..bytes.len())
            .ok_or(Errno::EIO)?
            .copy_from_slice(bytes);
        // Still dirty if it could not be put in the transaction: a later
        // commit must not go without it.
        self.write_blk(0, &buf)?;
        self.sb_dirty = false;
        Ok(())
    }

    /// Commit and make everything durable.
    pub fn sync(&mut self) -> Result<()> {
        self.commit_durable()
    }

    /// Make a file's changes durable: commit the running transaction (it
    /// holds every metadata change not yet committed, this file's among
    /// them); with nothing to commit, only flush the device so that data
    /// written in place is durable.
    pub fn fsync(&mut self, _ino: u64) -> Result<()> {
        self.commit_durable()
    }

    /// Mark the filesystem cleanly unmounted, leave the journal empty and
    /// hand the device back.
    pub fn unmount(mut self) -> (D, Result<()>) {
        let mut res = Ok(());
        if !self.read_only {
            let clean = self.sb.state.get() & STATE_ERRORS == 0 && !self.errored;
            self.sb
                .state
                .set(if clean { STATE_CLEAN } else { STATE_ERRORS });
            res = res.and(self.write_super());
            res = res.and(self.commit().map(|_| ()));
            // What the unlinks after that commit changed (dead slots left
            // over wait on their list for the next mount).
            res = res.and(self.commit_once().map(|_| ()));
            if !self.journal_aborted {
                res = res.and(self.journal.checkpoint(&mut self.dev));
            }
        }
        (self.dev, res)
    }

    pub fn statfs(&self) -> StatFs {
        let u = &self.sb.uuid;
        let mut fsid = 0u64;
        for (i, b) in u.iter().enumerate() {
            fsid ^= u64::from(*b) << ((i % 8) * 8);
        }
        StatFs {
            blocks: self.sb.block_count.get() - self.sb.data_start.get(),
            bfree: self.sb.free_blocks.get(),
            bavail: self.sb.free_blocks.get(),
            files: self.sb.inode_count.get(),
            ffree: self.sb.free_inodes.get(),
            fsid,
            bsize: BLOCK_SIZE as u32,
            namelen: NAME_MAX as u32,
        }
    }
}

#[cfg(all(test, feature = "std"))]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::dev::MemDevice;
    use crate::fsck::{check, Mode, Options};
    use crate::mkfs::{format, MkfsOptions};

    fn image() -> MemDevice {
        let mut dev = MemDevice::new(2048);
        let opts = MkfsOptions {
            vectors: None,
            label: b"abort".to_vec(),
            inodes: 256,
            uuid: [5; 16],
            blocks: 0,
        };
        format(&mut dev, &opts).unwrap();
        dev
    }

    /// An operation that fails after it can no longer be undone (here: it
    /// changed the vectors in memory, or a commit ran inside it) aborts the
    /// journal: changes are refused, what was committed before stays, the
    /// operation's writes never reach the disk, and fsck finds it clean.
    #[test]
    fn a_failed_operation_that_cannot_be_undone_aborts_the_journal() {
        for commit_inside in [false, true] {
            let mut fs = Fs::mount(image(), false).unwrap();
            let kept = fs.create(1, b"kept", 0o100644, 0, 0, 0).unwrap();
            fs.commit().unwrap();
            let r: Result<()> = fs.op(|fs| {
                fs.create(1, b"half", 0o100644, 0, 0, 0)?;
                if commit_inside {
                    fs.commit()?;
                    fs.create(1, b"half2", 0o100644, 0, 0, 0)?;
                } else {
                    fs.vec_touched = true;
                }
                Err(Errno::ENOMEM)
            });
            assert_eq!(r, Err(Errno::ENOMEM));
            assert!(fs.has_errors(), "commit inside {commit_inside}: aborted");
            assert_eq!(fs.create(1, b"later", 0o100644, 0, 0, 0), Err(Errno::EROFS));
            let (dev, _) = fs.unmount();
            let mut fs = Fs::mount(dev, false).unwrap();
            assert_eq!(fs.lookup(1, b"kept"), Ok(kept));
            assert_eq!(fs.lookup(1, b"later"), Err(Errno::ENOENT));
            // The committed half of the operation is all that is left of it.
            assert_eq!(fs.lookup(1, b"half").is_ok(), commit_inside);
            assert_eq!(fs.lookup(1, b"half2"), Err(Errno::ENOENT));
            let (mut dev, r) = fs.unmount();
            r.unwrap();
            let rep = check(
                &mut dev,
                &Options {
                    mode: Mode::No,
                    verbose: false,
                },
            );
            assert!(rep.errors() == 0 && rep.fatal.is_none(), "{:?}", rep.lines);
        }
    }
}
