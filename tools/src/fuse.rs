//! vexfs-fuse: a VexFS image mounted in userspace through FUSE, on the same
//! core (host build) as the kernel module: the same journal, replay at
//! mount, orphan list and vector index. Mirrors kmod/: the kernel's inode
//! references become the core's pins (a FUSE lookup count going from 0 to 1
//! is `iget`, its forget back to 0 is `evict`), the commit work is a thread
//! committing every 5 s, fsync commits, unmount checkpoints.
//!
//! Locking: one Mutex around the core (the module's mount mutex); fuser
//! serves requests one at a time, the commit thread takes the same lock.

use fuser::{
    FileAttr, FileType, Filesystem, KernelConfig, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyIoctl, ReplyOpen, ReplyStatfs, ReplyWrite,
    Request, TimeOrNow,
};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use vexfs_core::dev::{FileDevice, Timespec};
use vexfs_core::format::{
    NAME_MAX, ROOT_INO, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK,
};
use vexfs_core::inode::Attr;
use vexfs_core::{Errno, Fs};

/// How long the kernel may cache attributes and names: this daemon is the
/// only writer of the image (it holds it exclusively).
const TTL: Duration = Duration::from_secs(1);
/// The module's commit interval (kmod/commit.c VEXFS_COMMIT_INTERVAL).
pub const COMMIT_INTERVAL: Duration = Duration::from_secs(5);
/// readdir positions 0 and 1 are "." and ".."; p >= 2 is the core's p - 2
/// (as kmod/dir.c).
const DIR_POS_BASE: i64 = 2;
const BLOCK_SIZE: u32 = 4096;

type Result<T> = std::result::Result<T, Errno>;

/// An open file or directory.
struct Handle {
    ino: u64,
    /// open(2) flags.
    flags: i32,
}

/// Everything behind the one lock.
pub struct Core {
    fs: Option<Fs<FileDevice>>,
    /// FUSE lookup counts: an inode with a count holds one pin in the core.
    lookups: HashMap<u64, u64>,
    handles: HashMap<u64, Handle>,
    next_fh: u64,
    /// Set when the commit thread should stop.
    stopping: bool,
    /// The result of the core's unmount, once done.
    unmounted: Option<std::result::Result<(), Errno>>,
}

/// The shared state: the core under its Mutex, and the commit thread's wakeup.
pub struct Shared {
    core: Mutex<Core>,
    wake: Condvar,
}

impl Shared {
    pub fn new(fs: Fs<FileDevice>) -> Arc<Self> {
        Arc::new(Shared {
            core: Mutex::new(Core {
                fs: Some(fs),
                lookups: HashMap::new(),
                handles: HashMap::new(),
                next_fh: 1,
                stopping: false,
                unmounted: None,
            }),
            wake: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        // panic = abort: the lock is never poisoned, but never panic on it.
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The commit work: every COMMIT_INTERVAL, commit the running
    /// transaction (kmod/commit.c vexfs_commit_worker), until `finish`.
    pub fn commit_loop(&self) {
        let mut g = self.lock();
        loop {
            let (ng, _) = self
                .wake
                .wait_timeout(g, COMMIT_INTERVAL)
                .unwrap_or_else(|e| e.into_inner());
            g = ng;
            if g.stopping {
                return;
            }
            if let Some(fs) = g.fs.as_mut() {
                if !fs.read_only() {
                    if let Err(e) = fs.commit() {
                        log(format_args!("periodic commit failed: {}", e));
                    }
                }
            }
        }
    }

    /// Unmount the core once (destroy, session end, signal): drop the pins
    /// the kernel still held (an unlinked file is freed then, as evict_inodes
    /// does at umount), mark the filesystem clean, commit and checkpoint.
    pub fn finish(&self) -> std::result::Result<(), Errno> {
        let mut g = self.lock();
        g.stopping = true;
        self.wake.notify_all();
        if let Some(r) = g.unmounted {
            return r;
        }
        let lookups: Vec<u64> = g.lookups.drain().map(|(ino, _)| ino).collect();
        g.handles.clear();
        let r = match g.fs.take() {
            Some(mut fs) => {
                for ino in lookups {
                    evict(&mut fs, ino);
                }
                fs.unmount().1
            }
            None => Err(Errno::EIO),
        };
        if let Err(e) = r {
            log(format_args!("unmount failed: {}", e));
        }
        g.unmounted = Some(r);
        r
    }
}

fn log(msg: std::fmt::Arguments<'_>) {
    eprintln!("vexfs-fuse: {}", msg);
}

fn errno(e: Errno) -> i32 {
    e.0
}

/// Drop the kernel's reference to `ino` (kmod evict: delete when unlinked).
fn evict(fs: &mut Fs<FileDevice>, ino: u64) {
    let delete = fs.getattr(ino).map(|a| a.nlink == 0).unwrap_or(false);
    if let Err(e) = fs.evict(ino, delete) {
        log(format_args!("evict of inode {} failed: {}", ino, e));
    }
}

/// kmod's vexfs_txn_begin: commit first when the core asks for it.
fn txn_begin(fs: &mut Fs<FileDevice>) {
    if !fs.read_only() && fs.commit_due() {
        let _ = fs.commit(); // a failure is the operation's to meet
    }
}

fn systime(t: Timespec) -> SystemTime {
    let nsec = Duration::from_nanos(u64::from(t.nsec.min(999_999_999)));
    if t.sec >= 0 {
        UNIX_EPOCH + Duration::from_secs(t.sec as u64) + nsec
    } else {
        UNIX_EPOCH - Duration::from_secs(t.sec.unsigned_abs()) + nsec
    }
}

fn timespec(t: SystemTime) -> Timespec {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => Timespec {
            sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nsec: d.subsec_nanos(),
        },
        Err(e) => {
            let d = e.duration();
            let mut sec = -i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            let mut nsec = d.subsec_nanos();
            if nsec > 0 {
                sec -= 1;
                nsec = 1_000_000_000 - nsec;
            }
            Timespec { sec, nsec }
        }
    }
}

fn kind(mode: u32) -> FileType {
    match mode & S_IFMT {
        S_IFDIR => FileType::Directory,
        S_IFLNK => FileType::Symlink,
        S_IFCHR => FileType::CharDevice,
        S_IFBLK => FileType::BlockDevice,
        S_IFIFO => FileType::NamedPipe,
        S_IFSOCK => FileType::Socket,
        _ => FileType::RegularFile,
    }
}

fn dt_kind(dt: u8) -> FileType {
    match dt {
        1 => FileType::NamedPipe,
        2 => FileType::CharDevice,
        4 => FileType::Directory,
        6 => FileType::BlockDevice,
        10 => FileType::Symlink,
        12 => FileType::Socket,
        _ => FileType::RegularFile,
    }
}

fn file_attr(a: &Attr) -> FileAttr {
    FileAttr {
        ino: a.ino,
        size: a.size,
        blocks: a.blocks.saturating_mul(8),
        atime: systime(a.atime),
        mtime: systime(a.mtime),
        ctime: systime(a.ctime),
        crtime: systime(a.ctime),
        kind: kind(a.mode),
        perm: (a.mode & 0o7777) as u16,
        nlink: a.nlink,
        uid: a.uid,
        gid: a.gid,
        rdev: a.rdev,
        blksize: BLOCK_SIZE,
        flags: 0,
    }
}

/// The caller of a request, for the permission checks only the shim does
/// (query hits): its uid, gid and supplementary groups.
pub struct Creds {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

impl Creds {
    fn of(req: &Request<'_>) -> Creds {
        let groups = std::fs::read_to_string(format!("/proc/{}/status", req.pid()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Groups:").map(str::to_owned))
            })
            .map(|l| {
                l.split_whitespace()
                    .filter_map(|g| g.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        Creds {
            uid: req.uid(),
            gid: req.gid(),
            groups,
        }
    }

    /// generic_permission for `mask` (4 read, 1 exec/search) on `a`.
    pub fn may(&self, a: &Attr, mask: u32) -> bool {
        if self.uid == 0 {
            // CAP_DAC_OVERRIDE: search and read always, exec needs an x bit.
            return mask & 1 == 0 || a.mode & S_IFMT == S_IFDIR || a.mode & 0o111 != 0;
        }
        let bits = if a.uid == self.uid {
            a.mode >> 6
        } else if a.gid == self.gid || self.groups.contains(&a.gid) {
            a.mode >> 3
        } else {
            a.mode
        };
        bits & mask == mask
    }
}

/// The filesystem fuser calls.
pub struct VexFuse {
    shared: Arc<Shared>,
}

impl VexFuse {
    pub fn new(shared: Arc<Shared>) -> Self {
        VexFuse { shared }
    }

    /// Run `f` on the core under the lock (EIO once it is unmounted).
    fn with<T>(&self, f: impl FnOnce(&mut Core, &mut Fs<FileDevice>) -> Result<T>) -> Result<T> {
        let mut g = self.shared.lock();
        let core = &mut *g;
        let mut fs = core.fs.take().ok_or(Errno::EIO)?;
        let r = f(core, &mut fs);
        core.fs = Some(fs);
        r
    }

    /// A new reference from the kernel (an entry reply): the first pins
    /// the inode in the core (kmod vexfs_iget).
    fn pin(core: &mut Core, fs: &mut Fs<FileDevice>, ino: u64) -> Result<Attr> {
        let n = core.lookups.get(&ino).copied().unwrap_or(0);
        let a = if n == 0 {
            fs.iget(ino)?
        } else {
            fs.getattr(ino)?
        };
        core.lookups.insert(ino, n.saturating_add(1));
        Ok(a)
    }

    /// release/releasedir: the inode's reference goes with the kernel's
    /// forget (evict), not with the handle.
    fn drop_handle(&self, fh: u64) {
        let _ = self.with(|core, _| {
            core.handles.remove(&fh);
            Ok(())
        });
    }

    /// fsync/fsyncdir: commit (nothing to do read-only).
    fn sync_inode(&self, ino: u64) -> Result<()> {
        self.with(|_, fs| {
            if fs.read_only() {
                return Ok(());
            }
            fs.fsync(ino)
        })
    }

    fn new_handle(core: &mut Core, ino: u64, flags: i32) -> u64 {
        let fh = core.next_fh;
        core.next_fh = core.next_fh.wrapping_add(1).max(1);
        core.handles.insert(fh, Handle { ino, flags });
        fh
    }

    /// Create a node as kmod vexfs_new: the owner as inode_init_owner sets
    /// it (setgid directories pass on their group), pinned.
    #[allow(clippy::too_many_arguments)]
    fn make(
        core: &mut Core,
        fs: &mut Fs<FileDevice>,
        req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        rdev: u32,
    ) -> Result<(u64, Attr)> {
        let mut mode = mode;
        let p = fs.getattr(parent)?;
        let gid = if p.mode & 0o2000 != 0 {
            if mode & S_IFMT == S_IFDIR {
                mode |= 0o2000;
            }
            p.gid
        } else {
            req.gid()
        };
        txn_begin(fs);
        let ino = fs.create(parent, name.as_bytes(), mode, req.uid(), gid, rdev)?;
        let a = Self::pin(core, fs, ino)?;
        Ok((ino, a))
    }

    fn entry(&self, reply: ReplyEntry, r: Result<Attr>) {
        match r {
            Ok(a) => reply.entry(&TTL, &file_attr(&a), u64::from(a.generation)),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn attr(reply: ReplyAttr, r: Result<Attr>) {
        match r {
            Ok(a) => reply.attr(&TTL, &file_attr(&a)),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn data(reply: ReplyData, r: Result<Vec<u8>>) {
        match r {
            Ok(d) => reply.data(&d),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn opened(reply: ReplyOpen, r: Result<u64>) {
        match r {
            Ok(fh) => reply.opened(fh, 0),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn empty(reply: ReplyEmpty, r: Result<()>) {
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(errno(e)),
        }
    }
}

/// Up to `len` bytes of `ino` from `off` (fewer at the end of the file).
fn read_upto(fs: &mut Fs<FileDevice>, ino: u64, off: u64, len: u64) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; usize::try_from(len).map_err(|_| Errno::EINVAL)?];
    let n = fs.read(ino, off, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

/// Symlink targets as page_symlink stores them (kmod vexfs_symlink): the
/// target and a NUL in the file's data, the size without the NUL; at most
/// one block (ENAMETOOLONG).
fn symlink_op(fs: &mut Fs<FileDevice>, ino: u64, target: &[u8]) -> Result<()> {
    let mut data = Vec::with_capacity(target.len() + 1);
    data.extend_from_slice(target);
    data.push(0);
    fs.write(ino, 0, &data)?;
    let mut a = fs.getattr(ino)?;
    a.size = target.len() as u64;
    fs.setattr(&a)
}

impl Filesystem for VexFuse {
    fn init(
        &mut self,
        _req: &Request<'_>,
        _config: &mut KernelConfig,
    ) -> std::result::Result<(), i32> {
        Ok(())
    }

    fn destroy(&mut self) {
        let _ = self.shared.finish();
    }

    fn lookup(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEntry) {
        let r = self.with(|core, fs| {
            if name.len() > NAME_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            let ino = fs.lookup(parent, name.as_bytes())?;
            Self::pin(core, fs, ino)
        });
        self.entry(reply, r)
    }

    fn forget(&mut self, _req: &Request<'_>, ino: u64, nlookup: u64) {
        let _ = self.with(|core, fs| {
            let n = core.lookups.get(&ino).copied().unwrap_or(0);
            if n == 0 {
                return Ok(());
            }
            let left = n.saturating_sub(nlookup);
            if left > 0 {
                core.lookups.insert(ino, left);
            } else {
                core.lookups.remove(&ino);
                evict(fs, ino);
            }
            Ok(())
        });
    }

    fn getattr(&mut self, _req: &Request<'_>, ino: u64, _fh: Option<u64>, reply: ReplyAttr) {
        Self::attr(reply, self.with(|_, fs| fs.getattr(ino)))
    }

    fn setattr(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<u64>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<u32>,
        reply: ReplyAttr,
    ) {
        let r = self.with(|_, fs| {
            txn_begin(fs);
            fs.op(|fs| {
                // kmod vexfs_setattr: the size first (the core truncates),
                // then what setattr_copy copies; ctime is now.
                if let Some(size) = size {
                    let a = fs.getattr(ino)?;
                    if size != a.size {
                        if a.mode & S_IFMT != S_IFREG {
                            return Err(if a.mode & S_IFMT == S_IFDIR {
                                Errno::EISDIR
                            } else {
                                Errno::EINVAL
                            });
                        }
                        fs.truncate(ino, size)?;
                    }
                }
                let mut a = fs.getattr(ino)?;
                let now = vexfs_core::dev::host_now();
                let when = |t: TimeOrNow| match t {
                    TimeOrNow::Now => now,
                    TimeOrNow::SpecificTime(t) => timespec(t),
                };
                if let Some(m) = mode {
                    a.mode = (a.mode & S_IFMT) | (m & 0o7777);
                }
                if let Some(u) = uid {
                    a.uid = u;
                }
                if let Some(g) = gid {
                    a.gid = g;
                }
                if let Some(t) = atime {
                    a.atime = when(t);
                }
                if let Some(t) = mtime {
                    a.mtime = when(t);
                }
                a.ctime = now;
                fs.setattr(&a)?;
                fs.getattr(ino)
            })
        });
        Self::attr(reply, r)
    }

    fn readlink(&mut self, _req: &Request<'_>, ino: u64, reply: ReplyData) {
        let r = self.with(|_, fs| {
            let a = fs.getattr(ino)?;
            if a.mode & S_IFMT != S_IFLNK {
                return Err(Errno::EINVAL);
            }
            // page_get_link reads one page and ends the target at i_size.
            read_upto(fs, ino, 0, a.size.min(u64::from(BLOCK_SIZE) - 1))
        });
        Self::data(reply, r)
    }

    fn mknod(
        &mut self,
        req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        umask: u32,
        rdev: u32,
        reply: ReplyEntry,
    ) {
        let r = self.with(|core, fs| {
            let m = mode & !(umask & 0o7777);
            let rdev = if matches!(m & S_IFMT, S_IFCHR | S_IFBLK) {
                rdev
            } else {
                0
            };
            Self::make(core, fs, req, parent, name, m, rdev).map(|(_, a)| a)
        });
        self.entry(reply, r)
    }

    fn mkdir(
        &mut self,
        req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let r = self.with(|core, fs| {
            let m = S_IFDIR | (mode & !umask & 0o7777);
            Self::make(core, fs, req, parent, name, m, 0).map(|(_, a)| a)
        });
        self.entry(reply, r)
    }

    fn unlink(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        let r = self.with(|_, fs| {
            txn_begin(fs);
            fs.unlink(parent, name.as_bytes())
        });
        Self::empty(reply, r)
    }

    fn rmdir(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        let r = self.with(|_, fs| {
            txn_begin(fs);
            fs.rmdir(parent, name.as_bytes())
        });
        Self::empty(reply, r)
    }

    fn symlink(
        &mut self,
        req: &Request<'_>,
        parent: u64,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        let target = target.as_os_str().as_bytes();
        let r = self.with(|core, fs| {
            if target.len() + 1 > BLOCK_SIZE as usize {
                return Err(Errno::ENAMETOOLONG);
            }
            let (ino, _) = Self::make(core, fs, req, parent, link_name, S_IFLNK | 0o777, 0)?;
            if let Err(e) = symlink_op(fs, ino, target) {
                // take the new name away again; the forget frees the inode
                let _ = fs.unlink(parent, link_name.as_bytes());
                if let Some(n) = core.lookups.remove(&ino) {
                    if n > 0 {
                        evict(fs, ino);
                    }
                }
                return Err(e);
            }
            fs.getattr(ino)
        });
        self.entry(reply, r)
    }

    fn rename(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        newparent: u64,
        newname: &OsStr,
        flags: u32,
        reply: ReplyEmpty,
    ) {
        let r = self.with(|_, fs| {
            if flags & !(libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE) != 0 {
                return Err(Errno::EINVAL);
            }
            txn_begin(fs);
            fs.rename(
                parent,
                name.as_bytes(),
                newparent,
                newname.as_bytes(),
                flags,
            )
        });
        Self::empty(reply, r)
    }

    fn link(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        newparent: u64,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let r = self.with(|core, fs| {
            txn_begin(fs);
            fs.link(newparent, newname.as_bytes(), ino)?;
            Self::pin(core, fs, ino)
        });
        self.entry(reply, r)
    }

    fn open(&mut self, _req: &Request<'_>, ino: u64, flags: i32, reply: ReplyOpen) {
        let r = self.with(|core, fs| {
            fs.getattr(ino)?;
            Ok(Self::new_handle(core, ino, flags))
        });
        Self::opened(reply, r)
    }

    fn read(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        let r = self.with(|_, fs| {
            let off = u64::try_from(offset).map_err(|_| Errno::EINVAL)?;
            let a = fs.getattr(ino)?;
            if a.mode & S_IFMT == S_IFDIR {
                return Err(Errno::EISDIR);
            }
            read_upto(
                fs,
                ino,
                off,
                u64::from(size).min(a.size.saturating_sub(off)),
            )
        });
        Self::data(reply, r)
    }

    fn write(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        data: &[u8],
        _write_flags: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        let r = self.with(|_, fs| {
            let off = u64::try_from(offset).map_err(|_| Errno::EINVAL)?;
            txn_begin(fs);
            fs.write(ino, off, data)
        });
        match r {
            Ok(n) => reply.written(u32::try_from(n).unwrap_or(u32::MAX)),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn flush(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        _fh: u64,
        _lock_owner: u64,
        reply: ReplyEmpty,
    ) {
        // The module has no flush: close leaves the data to the commit work.
        reply.ok()
    }

    fn release(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        _flags: i32,
        _lock_owner: Option<u64>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.drop_handle(fh);
        reply.ok()
    }

    fn fsync(&mut self, _req: &Request<'_>, ino: u64, _fh: u64, _ds: bool, reply: ReplyEmpty) {
        Self::empty(reply, self.sync_inode(ino))
    }

    fn opendir(&mut self, _req: &Request<'_>, ino: u64, flags: i32, reply: ReplyOpen) {
        let r = self.with(|core, fs| {
            if fs.getattr(ino)?.mode & S_IFMT != S_IFDIR {
                return Err(Errno::ENOTDIR);
            }
            Ok(Self::new_handle(core, ino, flags))
        });
        Self::opened(reply, r)
    }

    fn readdir(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        mut reply: ReplyDirectory,
    ) {
        let r = self.with(|_, fs| {
            if offset < 1 && reply.add(ino, 1, FileType::Directory, ".") {
                return Ok(());
            }
            if offset < DIR_POS_BASE {
                let parent = if ino == ROOT_INO {
                    ino
                } else {
                    match fs.parent_of(ino)? {
                        0 => ino,
                        p => p,
                    }
                };
                if reply.add(parent, DIR_POS_BASE, FileType::Directory, "..") {
                    return Ok(());
                }
            }
            let mut pos = u64::try_from(offset.max(DIR_POS_BASE) - DIR_POS_BASE).unwrap_or(0);
            while let Some((e, next)) = fs.readdir(ino, pos)? {
                let off = i64::try_from(next)
                    .ok()
                    .and_then(|n| n.checked_add(DIR_POS_BASE))
                    .ok_or(Errno::EIO)?;
                if reply.add(e.ino, off, dt_kind(e.file_type), OsStr::from_bytes(&e.name)) {
                    break;
                }
                pos = next;
            }
            Ok(())
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn releasedir(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        _flags: i32,
        reply: ReplyEmpty,
    ) {
        self.drop_handle(fh);
        reply.ok()
    }

    fn fsyncdir(&mut self, _req: &Request<'_>, ino: u64, _fh: u64, _ds: bool, reply: ReplyEmpty) {
        Self::empty(reply, self.sync_inode(ino))
    }

    fn statfs(&mut self, _req: &Request<'_>, _ino: u64, reply: ReplyStatfs) {
        match self.with(|_, fs| Ok(fs.statfs())) {
            Ok(s) => reply.statfs(
                s.blocks, s.bfree, s.bavail, s.files, s.ffree, s.bsize, s.namelen, s.bsize,
            ),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn access(&mut self, _req: &Request<'_>, ino: u64, _mask: i32, reply: ReplyEmpty) {
        // default_permissions: the kernel checks the mode bits itself.
        Self::empty(reply, self.with(|_, fs| fs.getattr(ino).map(|_| ())))
    }

    fn create(
        &mut self,
        req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let r = self.with(|core, fs| {
            let m = S_IFREG | (mode & !umask & 0o7777);
            let (ino, a) = Self::make(core, fs, req, parent, name, m, 0)?;
            Ok((a, Self::new_handle(core, ino, flags)))
        });
        match r {
            Ok((a, fh)) => reply.created(&TTL, &file_attr(&a), u64::from(a.generation), fh, 0),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn ioctl(
        &mut self,
        req: &Request<'_>,
        ino: u64,
        fh: u64,
        _flags: u32,
        cmd: u32,
        in_data: &[u8],
        out_size: u32,
        reply: ReplyIoctl,
    ) {
        let creds = Creds::of(req);
        let r = self.with(|core, fs| {
            let flags = core.handles.get(&fh).map(|h| h.flags).unwrap_or(0);
            let ino = core.handles.get(&fh).map(|h| h.ino).unwrap_or(ino);
            crate::fuse_ioctl::ioctl(fs, &creds, ino, flags, cmd, in_data)
        });
        match r {
            Ok(out) => {
                let n = out.len().min(out_size as usize);
                reply.ioctl(0, out.get(..n).unwrap_or(&[]))
            }
            Err(e) => reply.error(errno(e)),
        }
    }
}
