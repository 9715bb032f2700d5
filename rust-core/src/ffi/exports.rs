//! `vexfs_rust_*`: what the kernel shim calls.

#![allow(non_camel_case_types)]

use super::shim_dev::ShimDevice;
use super::shim_sys::{self as sys, vexfs_shim_sb};
use crate::dev::Timespec;
use crate::format::{NAME_MAX, ROOT_INO};
use crate::fs::MAX_FILE_SIZE;
use crate::inode::Attr;
use crate::{Errno, Fs, Result};
use alloc::boxed::Box;
use core::cell::UnsafeCell;

fn shim_resched() {
    // SAFETY: plain FFI call without arguments.
    unsafe { sys::vexfs_shim_resched() }
}

/// Mount read-only.
pub const VEXFS_MOUNT_RDONLY: u32 = 1;
/// rename flags, same values as the kernel's RENAME_*.
pub const VEXFS_RENAME_NOREPLACE: u32 = 1;
pub const VEXFS_RENAME_EXCHANGE: u32 = 2;
pub const VEXFS_RENAME_WHITEOUT: u32 = 4;
/// statfs f_type.
pub const VEXFS_SUPER_MAGIC: u32 = 0x5645_5846;
pub const VEXFS_BLOCK_SIZE: u32 = 4096;
pub const VEXFS_NAME_MAX: u32 = 255;
const HANDLE_MAGIC: u64 = 0x7665_7866_7368_646c;

/// Opaque per-mount handle.
pub struct vexfs_fs {
    magic: u64,
    sb: *mut vexfs_shim_sb,
    fs: UnsafeCell<Option<Box<Fs<ShimDevice>>>>,
}

/// Inode attributes crossing the boundary. `blocks` is in 512-byte units (i_blocks).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct vexfs_attr {
    pub ino: u64,
    pub size: u64,
    pub blocks: u64,
    pub atime_sec: i64,
    pub mtime_sec: i64,
    pub ctime_sec: i64,
    pub atime_nsec: u32,
    pub mtime_nsec: u32,
    pub ctime_nsec: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub rdev: u32,
    pub generation: u32,
    /// Inode flags (VEXFS_FL_*, the FS_*_FL values): out only, the core's.
    pub flags: u32,
    /// Birth time (statx btime): out only.
    pub crtime_sec: i64,
    pub crtime_nsec: u32,
    pub pad: u32,
}

/// Inode flags of `vexfs_attr.flags`, the values of FS_*_FL.
pub const VEXFS_FL_IMMUTABLE: u32 = 0x10;
pub const VEXFS_FL_APPEND: u32 = 0x20;
pub const VEXFS_FL_NODUMP: u32 = 0x40;
pub const VEXFS_FL_NOATIME: u32 = 0x80;
/// A hash-indexed directory (FS_INDEX_FL): the core's own, kept by
/// vexfs_rust_set_flags whatever the caller passes.
pub const VEXFS_FL_INDEX: u32 = 0x1000;
/// Every flag vexfs_rust_set_flags accepts.
pub const VEXFS_FL_KNOWN: u32 = 0x10f0;
const _: () = assert!(VEXFS_FL_IMMUTABLE == crate::format::INODE_FL_IMMUTABLE);
const _: () = assert!(VEXFS_FL_APPEND == crate::format::INODE_FL_APPEND);
const _: () = assert!(VEXFS_FL_NODUMP == crate::format::INODE_FL_NODUMP);
const _: () = assert!(VEXFS_FL_NOATIME == crate::format::INODE_FL_NOATIME);
const _: () = assert!(VEXFS_FL_INDEX == crate::format::INODE_FLAG_DIR_INDEX);
const _: () = assert!(VEXFS_FL_KNOWN == crate::format::INODE_FL_KNOWN);

/// fallocate modes vexfs_rust_fallocate takes (the FALLOC_FL_* values).
pub const VEXFS_FALLOC_KEEP_SIZE: u32 = 0x01;
pub const VEXFS_FALLOC_PUNCH_HOLE: u32 = 0x02;
pub const VEXFS_FALLOC_ZERO_RANGE: u32 = 0x10;
const _: () = assert!(VEXFS_FALLOC_KEEP_SIZE == crate::extent::FALLOC_FL_KEEP_SIZE);
const _: () = assert!(VEXFS_FALLOC_PUNCH_HOLE == crate::extent::FALLOC_FL_PUNCH_HOLE);
const _: () = assert!(VEXFS_FALLOC_ZERO_RANGE == crate::extent::FALLOC_FL_ZERO_RANGE);

/// Result of one vexfs_rust_fallocate step.
#[repr(C)]
pub struct vexfs_falloc {
    /// Byte offset up to which the range is done (the end when finished).
    pub done: u64,
    /// File size after the step.
    pub size: u64,
    /// The inode's i_blocks (512-byte units) after the step.
    pub blocks: u64,
}

/// `vexfs_extent.flags`: the blocks are unwritten (read as zeros).
pub const VEXFS_EXTENT_UNWRITTEN: u32 = 1;
/// `vexfs_extent.flags`: the file's last extent.
pub const VEXFS_EXTENT_LAST: u32 = 2;
/// Most extents one vexfs_rust_fiemap call returns.
pub const VEXFS_FIEMAP_BATCH: u32 = 64;

/// One extent from vexfs_rust_fiemap, in blocks.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct vexfs_extent {
    pub logical: u64,
    pub pblock: u64,
    pub len: u64,
    pub flags: u32,
    pub pad: u32,
}

/// vexfs_rust_seek whence values (SEEK_DATA, SEEK_HOLE).
pub const VEXFS_SEEK_DATA: u32 = 3;
pub const VEXFS_SEEK_HOLE: u32 = 4;
const _: () = assert!(VEXFS_SEEK_DATA == crate::extent::SEEK_DATA);
const _: () = assert!(VEXFS_SEEK_HOLE == crate::extent::SEEK_HOLE);

#[repr(C)]
pub struct vexfs_mount_info {
    pub root_ino: u64,
    pub max_file_size: u64,
    pub magic: u64,
    pub block_size: u32,
    pub name_max: u32,
    /// 1 when the core decided to mount read-only (unknown ro_compat features).
    pub read_only: u32,
    pub pad: u32,
    pub uuid: [u8; 16],
    pub label: [u8; 64],
}

#[repr(C)]
pub struct vexfs_statfs {
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub fsid: u64,
    pub bsize: u32,
    pub namelen: u32,
}

/// Result of vexfs_rust_get_block. `len` 0 is a hole.
#[repr(C)]
pub struct vexfs_map {
    pub pblock: u64,
    pub len: u32,
    /// 1 when the blocks were just allocated.
    pub new_blocks: u32,
    /// The inode's i_blocks (512-byte units) after the call.
    pub blocks: u64,
}

/// One directory entry from vexfs_rust_readdir.
#[repr(C)]
pub struct vexfs_dirent {
    pub ino: u64,
    pub next_pos: u64,
    pub name_len: u32,
    /// DT_* value.
    pub file_type: u32,
    pub name: [u8; 256],
}

/// One entry in a vexfs_rust_readdir_batch buffer: the name follows
/// (`name_len` bytes and a NUL), the record is padded to 8 bytes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct vexfs_dirent_rec {
    pub ino: u64,
    /// Position to resume after this entry.
    pub next_pos: u64,
    /// Bytes from this record's start to the next one's.
    pub rec_len: u16,
    pub name_len: u8,
    /// DT_* value.
    pub file_type: u8,
    /// 1 when the next entry has the same position: resuming at `next_pos`
    /// then takes this entry's name as `after` (else 0).
    pub mid_run: u32,
}

/// Largest record: a buffer of this many bytes holds at least one.
pub const VEXFS_DIRENT_REC_MAX: u32 = 288;
const _: () =
    assert!(core::mem::size_of::<vexfs_dirent_rec>() + NAME_MAX < VEXFS_DIRENT_REC_MAX as usize);

fn to_c(a: &Attr) -> vexfs_attr {
    vexfs_attr {
        ino: a.ino,
        size: a.size,
        blocks: a.blocks * 8,
        atime_sec: a.atime.sec,
        mtime_sec: a.mtime.sec,
        ctime_sec: a.ctime.sec,
        atime_nsec: a.atime.nsec,
        mtime_nsec: a.mtime.nsec,
        ctime_nsec: a.ctime.nsec,
        mode: a.mode,
        uid: a.uid,
        gid: a.gid,
        nlink: a.nlink,
        rdev: a.rdev,
        generation: a.generation,
        flags: a.flags,
        crtime_sec: a.crtime.sec,
        crtime_nsec: a.crtime.nsec,
        pad: 0,
    }
}

fn from_c(c: &vexfs_attr) -> Attr {
    Attr {
        ino: c.ino,
        mode: c.mode,
        uid: c.uid,
        gid: c.gid,
        nlink: c.nlink,
        size: c.size,
        blocks: c.blocks / 8,
        atime: Timespec {
            sec: c.atime_sec,
            nsec: c.atime_nsec,
        },
        mtime: Timespec {
            sec: c.mtime_sec,
            nsec: c.mtime_nsec,
        },
        ctime: Timespec {
            sec: c.ctime_sec,
            nsec: c.ctime_nsec,
        },
        rdev: c.rdev,
        generation: c.generation,
        // Out only: setattr never changes these.
        flags: 0,
        crtime: Timespec::default(),
    }
}

/// Holds the mount's shim mutex; the core is reachable only through it.
struct Locked<'a> {
    h: &'a vexfs_fs,
}

impl Locked<'_> {
    fn fs(&mut self) -> Result<&mut Fs<ShimDevice>> {
        // SAFETY: the shim mutex is held for the guard's lifetime, so no other
        // caller can reach the cell; the guard is not shared.
        unsafe { (*self.h.fs.get()).as_deref_mut() }.ok_or(Errno::EBADF)
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // SAFETY: sb is the live context this handle was created with.
        unsafe { sys::vexfs_shim_unlock(self.h.sb) };
    }
}

/// Validate a handle and lock its mount.
///
/// # Safety
/// `fs` is NULL or a pointer returned by vexfs_rust_mount and not yet unmounted.
unsafe fn lock<'a>(fs: *mut vexfs_fs) -> Result<Locked<'a>> {
    // SAFETY: per the contract above.
    let h = unsafe { fs.as_ref() }.ok_or(Errno::EINVAL)?;
    if h.magic != HANDLE_MAGIC {
        return Err(Errno::EBADF);
    }
    // SAFETY: sb is the live context this handle was created with.
    unsafe { sys::vexfs_shim_lock(h.sb) };
    Ok(Locked { h })
}

/// # Safety
/// `name` is NULL or points to `len` readable bytes.
unsafe fn name_arg<'a>(name: *const u8, len: usize) -> Result<&'a [u8]> {
    if name.is_null() {
        return Err(Errno::EINVAL);
    }
    if len > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    // SAFETY: per the contract above.
    Ok(unsafe { core::slice::from_raw_parts(name, len) })
}

/// Early return of a negative errno from an export.
macro_rules! try_c {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Errno::to_neg(e),
        }
    };
}

fn ret(r: Result<()>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_neg(),
    }
}

/// Mount the filesystem on the shim's device of `dev_blocks` 4 KiB blocks.
///
/// # Safety
/// `sb` is a live shim context; `info` and `out` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_mount(
    sb: *mut vexfs_shim_sb,
    dev_blocks: u64,
    flags: u32,
    info: *mut vexfs_mount_info,
    out: *mut *mut vexfs_fs,
) -> i32 {
    if sb.is_null() || info.is_null() || out.is_null() || flags & !VEXFS_MOUNT_RDONLY != 0 {
        return Errno::EINVAL.to_neg();
    }
    let dev = ShimDevice {
        sb,
        blocks: dev_blocks,
    };
    crate::dev::set_resched_hook(shim_resched);
    // SAFETY: sb is live per the contract.
    unsafe { sys::vexfs_shim_lock(sb) };
    let res = Fs::mount_boxed(dev, flags & VEXFS_MOUNT_RDONLY != 0);
    // SAFETY: as above.
    unsafe { sys::vexfs_shim_unlock(sb) };
    let fs = match res {
        Ok(fs) => fs,
        Err(e) => return e.to_neg(),
    };
    let mut label = [0u8; 64];
    label.copy_from_slice(&fs.sb.label);
    let i = vexfs_mount_info {
        root_ino: ROOT_INO,
        max_file_size: MAX_FILE_SIZE,
        magic: u64::from(VEXFS_SUPER_MAGIC),
        block_size: VEXFS_BLOCK_SIZE,
        name_max: VEXFS_NAME_MAX,
        read_only: u32::from(fs.read_only()),
        pad: 0,
        uuid: fs.sb.uuid,
        label,
    };
    let h = match crate::mem::boxed(vexfs_fs {
        magic: HANDLE_MAGIC,
        sb,
        fs: UnsafeCell::new(None),
    }) {
        Ok(h) => h,
        Err(e) => {
            // SAFETY: sb is live per the contract.
            unsafe { sys::vexfs_shim_lock(sb) };
            let _ = fs.unmount();
            // SAFETY: as above.
            unsafe { sys::vexfs_shim_unlock(sb) };
            return e.to_neg();
        }
    };
    // SAFETY: the handle is not shared yet.
    unsafe { *h.fs.get() = Some(fs) };
    // SAFETY: info and out are writable per the contract.
    unsafe {
        info.write(i);
        out.write(Box::into_raw(h));
    }
    0
}

/// Write the superblock clean, flush, and free the handle (always, even on error).
///
/// # Safety
/// `fs` is NULL or a live handle; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_unmount(fs: *mut vexfs_fs) -> i32 {
    let r = {
        // SAFETY: per the contract.
        let mut g = match unsafe { lock(fs) } {
            Ok(g) => g,
            Err(e) => return e.to_neg(),
        };
        // SAFETY: the lock is held (see Locked::fs).
        let taken = unsafe { (*g.h.fs.get()).take() };
        let _ = g.fs();
        match taken {
            Some(f) => f.unmount().1,
            None => Err(Errno::EBADF),
        }
    };
    // SAFETY: fs came from Box::into_raw in vexfs_rust_mount; the lock is released.
    let mut h = unsafe { Box::from_raw(fs) };
    h.magic = 0;
    drop(h);
    ret(r)
}

/// Run `op` on the core of a validated, locked handle.
///
/// # Safety
/// `fs` is NULL or a live handle.
unsafe fn with_fs_fn<T>(
    fs: *mut vexfs_fs,
    op: impl FnOnce(&mut Fs<ShimDevice>) -> Result<T>,
) -> Result<T> {
    // SAFETY: per the contract.
    let mut g = unsafe { lock(fs) }?;
    op(g.fs()?)
}

macro_rules! with_fs {
    ($fs:expr, |$f:ident| $body:expr) => {{
        let op = |$f: &mut Fs<ShimDevice>| $body;
        // SAFETY: the handle contract is the caller's (see each function).
        unsafe { with_fs_fn($fs, op) }
    }};
}

/// Switch the mount between read-only (`VEXFS_MOUNT_RDONLY`) and read-write.
///
/// # Safety
/// `fs` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_remount(fs: *mut vexfs_fs, flags: u32) -> i32 {
    if flags & !VEXFS_MOUNT_RDONLY != 0 {
        return Errno::EINVAL.to_neg();
    }
    ret(with_fs!(fs, |f| f.remount(flags & VEXFS_MOUNT_RDONLY != 0)))
}

/// Write the superblock and flush the device.
///
/// # Safety
/// `fs` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_sync(fs: *mut vexfs_fs) -> i32 {
    ret(with_fs!(fs, |f| f.sync()))
}

/// `vexfs_rust_commit` flag: flush the device even when there is no
/// metadata to commit (fsync: the data just written must be durable).
pub const VEXFS_COMMIT_FLUSH: u32 = 1;
/// `vexfs_rust_commit` flag: store the vector index too (syncfs, unmount).
pub const VEXFS_COMMIT_INDEX: u32 = 2;

/// Hand out up to `max` inodes that got new data blocks in the running
/// transaction; the caller writes their data back, then commits. `*count`
/// is how many were written to `inos`.
///
/// # Safety
/// `fs` is NULL or a live handle; `inos` is NULL or has room for `max`
/// entries; `count` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_ordered_take(
    fs: *mut vexfs_fs,
    inos: *mut u64,
    max: u32,
    count: *mut u32,
) -> i32 {
    if inos.is_null() || count.is_null() || max == 0 {
        return Errno::EINVAL.to_neg();
    }
    ret(with_fs!(fs, |f| {
        let taken = f.journal.take_ordered(max as usize)?;
        for (i, ino) in taken.iter().enumerate() {
            // SAFETY: i < taken.len() <= max, and inos has room for max entries.
            unsafe { inos.add(i).write(*ino) };
        }
        // SAFETY: count is writable per the contract.
        unsafe { count.write(taken.len() as u32) };
        Ok(())
    }))
}

/// 1 when the running transaction should be committed before the next
/// operation that changes metadata (the shim then commits with ordered
/// data), 0 when not, or -errno.
///
/// # Safety
/// `fs` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_commit_due(fs: *mut vexfs_fs) -> i32 {
    match with_fs!(fs, |f| Ok(f.commit_due())) {
        Ok(due) => i32::from(due),
        Err(e) => e.to_neg(),
    }
}

/// Commit the running transaction (`VEXFS_COMMIT_*` flags). -EAGAIN while
/// inodes given new blocks have not been handed out by
/// `vexfs_rust_ordered_take`: their data must reach the disk first.
///
/// # Safety
/// `fs` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_commit(fs: *mut vexfs_fs, flags: u32) -> i32 {
    if flags & !(VEXFS_COMMIT_FLUSH | VEXFS_COMMIT_INDEX) != 0 {
        return Errno::EINVAL.to_neg();
    }
    ret(with_fs!(fs, |f| f.commit_ordered(
        flags & VEXFS_COMMIT_FLUSH != 0,
        flags & VEXFS_COMMIT_INDEX != 0
    )))
}

/// # Safety
/// `fs` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_statfs(fs: *mut vexfs_fs, out: *mut vexfs_statfs) -> i32 {
    if out.is_null() {
        return Errno::EINVAL.to_neg();
    }
    ret(with_fs!(fs, |f| {
        let s = f.statfs();
        // SAFETY: out is writable per the contract.
        unsafe {
            out.write(vexfs_statfs {
                blocks: s.blocks,
                bfree: s.bfree,
                bavail: s.bavail,
                files: s.files,
                ffree: s.ffree,
                fsid: s.fsid,
                bsize: s.bsize,
                namelen: s.namelen,
            })
        };
        Ok(())
    }))
}

fn put_attr(out: *mut vexfs_attr, a: Result<Attr>) -> Result<()> {
    let a = a?;
    // SAFETY: callers checked out for NULL; it is writable per their contract.
    unsafe { out.write(to_c(&a)) };
    Ok(())
}

/// Load inode `ino` and pin it for the kernel's inode cache.
///
/// # Safety
/// `fs` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_iget(fs: *mut vexfs_fs, ino: u64, out: *mut vexfs_attr) -> i32 {
    if out.is_null() {
        return Errno::EINVAL.to_neg();
    }
    ret(with_fs!(fs, |f| put_attr(out, f.iget(ino))))
}

/// Current attributes of `ino` (link and block counts are the core's).
///
/// # Safety
/// `fs` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_getattr(
    fs: *mut vexfs_fs,
    ino: u64,
    out: *mut vexfs_attr,
) -> i32 {
    if out.is_null() {
        return Errno::EINVAL.to_neg();
    }
    ret(with_fs!(fs, |f| put_attr(out, f.getattr(ino))))
}

/// Store mode, owner, size and times from the VFS inode.
///
/// # Safety
/// `fs` is NULL or a live handle; `attr` is NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_write_inode(fs: *mut vexfs_fs, attr: *const vexfs_attr) -> i32 {
    // SAFETY: attr is readable per the contract.
    let Some(a) = (unsafe { attr.as_ref() }) else {
        return Errno::EINVAL.to_neg();
    };
    let a = from_c(a);
    ret(with_fs!(fs, |f| f.setattr(&a)))
}

/// Drop the kernel's reference to `ino`; free it if it has no links left.
///
/// # Safety
/// `fs` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_evict(fs: *mut vexfs_fs, ino: u64, delete_inode: u32) -> i32 {
    ret(with_fs!(fs, |f| f.evict(ino, delete_inode != 0)))
}

/// The parent hint of `ino` into `*parent`: a directory's parent; for other
/// files a directory that holds a link to it, or 0 when that is not known.
/// The shim walks these to check search permission on query hits.
///
/// # Safety
/// `fs` is NULL or a live handle; `parent` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_parent(fs: *mut vexfs_fs, ino: u64, parent: *mut u64) -> i32 {
    if parent.is_null() {
        return Errno::EINVAL.to_neg();
    }
    ret(with_fs!(fs, |f| f.parent_of(ino).map(|p| {
        // SAFETY: parent is writable per the contract.
        unsafe { parent.write(p) }
    })))
}

/// The hinted link of `ino`: its parent hint into `*parent` (as
/// vexfs_rust_parent) and the link's name in that directory into `name`
/// (room for `cap` bytes, no NUL added), its length into `*name_len`.
/// `*name_len` is 0 when there is no name to give: the hint is unknown
/// (`*parent` 0), `ino` is the root, or the hinted directory holds no link
/// to it. The entry is read at the inode's `parent_pos`, one directory
/// block; only an unknown or stale position (images made before the field)
/// makes it scan the directory. Nothing is written to the filesystem.
/// -ERANGE when the name is longer than `cap` (NAME_MAX bytes always fit).
/// The shim builds query hits' paths from these, one level at a time.
///
/// # Safety
/// `fs` is NULL or a live handle; `parent` and `name_len` are NULL or
/// writable; `name` is NULL or points to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_link_name(
    fs: *mut vexfs_fs,
    ino: u64,
    parent: *mut u64,
    name: *mut u8,
    cap: usize,
    name_len: *mut u32,
) -> i32 {
    if parent.is_null() || name.is_null() || name_len.is_null() {
        return Errno::EINVAL.to_neg();
    }
    // No name is longer than NAME_MAX: never take a larger slice.
    // SAFETY: name points to cap (>= this) writable bytes per the contract.
    let out = unsafe { core::slice::from_raw_parts_mut(name, cap.min(NAME_MAX)) };
    ret(with_fs!(fs, |f| f.link_name_into(ino, out).map(
        |(p, n)| {
            // SAFETY: parent and name_len are writable per the contract; n <= cap.
            unsafe {
                parent.write(p);
                name_len.write(n as u32);
            }
        }
    )))
}

/// # Safety
/// `fs` is NULL or a live handle; `name` points to `len` bytes; `ino` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_lookup(
    fs: *mut vexfs_fs,
    dir: u64,
    name: *const u8,
    len: usize,
    ino: *mut u64,
) -> i32 {
    if ino.is_null() {
        return Errno::EINVAL.to_neg();
    }
    // SAFETY: per the contract.
    let name = try_c!(unsafe { name_arg(name, len) });
    ret(with_fs!(fs, |f| f.lookup(dir, name).map(|i| {
        // SAFETY: ino is writable per the contract.
        unsafe { ino.write(i) }
    })))
}

/// Create a node of any type; the new inode comes back pinned.
///
/// # Safety
/// `fs` is NULL or a live handle; `name` points to `len` bytes; `out` is NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn vexfs_rust_create(
    fs: *mut vexfs_fs,
    dir: u64,
    name: *const u8,
    len: usize,
    mode: u32,
    uid: u32,
    gid: u32,
    rdev: u32,
    out: *mut vexfs_attr,
) -> i32 {
    if out.is_null() {
        return Errno::EINVAL.to_neg();
    }
    // SAFETY: per the contract.
    let name = try_c!(unsafe { name_arg(name, len) });
    ret(with_fs!(fs, |f| {
        let ino = f.create(dir, name, mode, uid, gid, rdev)?;
        put_attr(out, f.iget(ino))
    }))
}

/// # Safety
/// `fs` is NULL or a live handle; `name` points to `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_link(
    fs: *mut vexfs_fs,
    dir: u64,
    name: *const u8,
    len: usize,
    ino: u64,
) -> i32 {
    // SAFETY: per the contract.
    let name = try_c!(unsafe { name_arg(name, len) });
    ret(with_fs!(fs, |f| f.link(dir, name, ino)))
}

/// # Safety
/// `fs` is NULL or a live handle; `name` points to `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_unlink(
    fs: *mut vexfs_fs,
    dir: u64,
    name: *const u8,
    len: usize,
) -> i32 {
    // SAFETY: per the contract.
    let name = try_c!(unsafe { name_arg(name, len) });
    ret(with_fs!(fs, |f| f.unlink(dir, name)))
}

/// # Safety
/// `fs` is NULL or a live handle; `name` points to `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_rmdir(
    fs: *mut vexfs_fs,
    dir: u64,
    name: *const u8,
    len: usize,
) -> i32 {
    // SAFETY: per the contract.
    let name = try_c!(unsafe { name_arg(name, len) });
    ret(with_fs!(fs, |f| f.rmdir(dir, name)))
}

/// Rename, replacing the target as POSIX says; NOREPLACE and EXCHANGE supported.
///
/// # Safety
/// `fs` is NULL or a live handle; the names point to their lengths in bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn vexfs_rust_rename(
    fs: *mut vexfs_fs,
    odir: u64,
    oname: *const u8,
    olen: usize,
    ndir: u64,
    nname: *const u8,
    nlen: usize,
    flags: u32,
) -> i32 {
    // SAFETY: per the contract.
    let (o, n) = unsafe { (try_c!(name_arg(oname, olen)), try_c!(name_arg(nname, nlen))) };
    ret(with_fs!(fs, |f| f.rename(odir, o, ndir, n, flags)))
}

/// The first entry at or after `pos`: returns 1 and fills `out`, 0 at the end.
///
/// # Safety
/// `fs` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_readdir(
    fs: *mut vexfs_fs,
    dir: u64,
    pos: u64,
    out: *mut vexfs_dirent,
) -> i32 {
    if out.is_null() {
        return Errno::EINVAL.to_neg();
    }
    let r = with_fs!(fs, |f| f.readdir(dir, pos));
    match r {
        Ok(None) => 0,
        Ok(Some((e, next))) => {
            let mut name = [0u8; 256];
            let n = e.name.len().min(NAME_MAX);
            if let (Some(dst), Some(src)) = (name.get_mut(..n), e.name.get(..n)) {
                dst.copy_from_slice(src);
            }
            // SAFETY: out is writable per the contract.
            unsafe {
                out.write(vexfs_dirent {
                    ino: e.ino,
                    next_pos: next,
                    name_len: n as u32,
                    file_type: u32::from(e.file_type),
                    name,
                })
            };
            1
        }
        Err(e) => e.to_neg(),
    }
}

/// Map file block `iblock` (up to `max_blocks` contiguous); allocate on a hole if `create`.
///
/// # Safety
/// `fs` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_get_block(
    fs: *mut vexfs_fs,
    ino: u64,
    iblock: u64,
    max_blocks: u32,
    create: u32,
    out: *mut vexfs_map,
) -> i32 {
    if out.is_null() {
        return Errno::EINVAL.to_neg();
    }
    ret(with_fs!(fs, |f| {
        let mut m = f.map_blocks(ino, iblock, max_blocks, false)?;
        if m.len == 0 && create != 0 {
            // A hole to fill: an operation of its own, whose new blocks
            // get their data written before the transaction commits.
            m = f.op(|f| {
                f.begin_op()?;
                // Room to note the inode first: new blocks not in the
                // ordered set would commit before their data.
                f.journal.reserve_ordered()?;
                let m = f.map_blocks(ino, iblock, max_blocks, true)?;
                if m.new {
                    f.journal.add_ordered(ino)?;
                }
                Ok(m)
            })?;
        }
        let blocks = f.getattr(ino)?.blocks * 8;
        // SAFETY: out is writable per the contract.
        unsafe {
            out.write(vexfs_map {
                pblock: m.pblock,
                len: m.len,
                new_blocks: u32::from(m.new),
                blocks,
            })
        };
        Ok(())
    }))
}

/// Set the size, freeing blocks past it (the page cache zeroes the tail).
///
/// # Safety
/// `fs` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_truncate(fs: *mut vexfs_fs, ino: u64, new_size: u64) -> i32 {
    ret(with_fs!(fs, |f| f.truncate_meta(ino, new_size)))
}

/// The vector space, as VEXFS_IOC_INFO reports it.
/// Block bitmap bits per bitmap block: FITRIM's largest minimum length.
pub const VEXFS_BITS_PER_BITMAP_BLOCK: u64 = 32512;
const _: () = assert!(VEXFS_BITS_PER_BITMAP_BLOCK == crate::format::BITS_PER_BITMAP_BLOCK);

/// renameat2 with RENAME_WHITEOUT (optionally with NOREPLACE): as
/// vexfs_rust_rename, plus a whiteout (0:0 character device, owner
/// `uid`:`gid`) left at the old name in the same transaction.
///
/// # Safety
/// `fs` is NULL or a live handle; each name is NULL or readable for its length.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn vexfs_rust_rename_whiteout(
    fs: *mut vexfs_fs,
    odir: u64,
    oname: *const u8,
    olen: usize,
    ndir: u64,
    nname: *const u8,
    nlen: usize,
    flags: u32,
    uid: u32,
    gid: u32,
) -> i32 {
    // SAFETY: per the contract.
    let (o, n) = unsafe { (try_c!(name_arg(oname, olen)), try_c!(name_arg(nname, nlen))) };
    ret(with_fs!(fs, |f| f.rename_whiteout(odir, o, ndir, n, flags, uid, gid)))
}

/// FITRIM: discard the runs of at least `minlen` free blocks among blocks
/// `start..start+len`; `*trimmed` is how many blocks were discarded.
/// Blocks freed in the running transaction are skipped. -EOPNOTSUPP when
/// the device cannot discard.
///
/// # Safety
/// `fs` is NULL or a live handle; `trimmed` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_trim(
    fs: *mut vexfs_fs,
    start: u64,
    len: u64,
    minlen: u64,
    trimmed: *mut u64,
) -> i32 {
    if trimmed.is_null() {
        return Errno::EINVAL.to_neg();
    }
    ret(with_fs!(fs, |f| {
        let n = f.trim(start, len, minlen)?;
        // SAFETY: trimmed is writable per the contract.
        unsafe { trimmed.write(n) };
        Ok(())
    }))
}

/// Store the inode flags of `ino` (VEXFS_FL_KNOWN bits only, else
/// -EOPNOTSUPP; permission is the caller's to check) and return its
/// attributes.
///
/// # Safety
/// `fs` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_set_flags(
    fs: *mut vexfs_fs,
    ino: u64,
    flags: u32,
    out: *mut vexfs_attr,
) -> i32 {
    if out.is_null() {
        return Errno::EINVAL.to_neg();
    }
    ret(with_fs!(fs, |f| put_attr(out, f.set_flags(ino, flags))))
}

/// One step of fallocate of bytes `off..off+len` of `ino` in `mode`
/// (VEXFS_FALLOC_*), from byte `pos` of the range on, for a file whose
/// size is `size` (the VFS's i_size); the shim calls it again from
/// `out->done` until that is the end, committing between calls when due.
/// Partial blocks at the edges of a punch or zero range are the caller's
/// to zero (page cache). Errors as ext4's fallocate.
///
/// # Safety
/// `fs` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_fallocate(
    fs: *mut vexfs_fs,
    ino: u64,
    mode: u32,
    off: u64,
    len: u64,
    pos: u64,
    size: u64,
    out: *mut vexfs_falloc,
) -> i32 {
    if out.is_null() {
        return Errno::EINVAL.to_neg();
    }
    ret(with_fs!(fs, |f| {
        let s = f.fallocate_step(ino, mode, off, len, pos, false, Some(size))?;
        let blocks = f.getattr(ino)?.blocks * 8;
        // SAFETY: out is writable per the contract.
        unsafe {
            out.write(vexfs_falloc {
                done: s.done,
                size: s.size,
                blocks,
            })
        };
        Ok(())
    }))
}

/// Up to `max` (at most VEXFS_FIEMAP_BATCH) extents of `ino` from file
/// block `from` on into `out` (the first may start before it; neighbours
/// that continue each other are joined); `*count` is how many. O(log n + k).
///
/// # Safety
/// `fs` is NULL or a live handle; `out` is NULL or has room for `max`
/// entries; `count` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_fiemap(
    fs: *mut vexfs_fs,
    ino: u64,
    from: u64,
    out: *mut vexfs_extent,
    max: u32,
    count: *mut u32,
) -> i32 {
    if out.is_null() || count.is_null() || max == 0 {
        return Errno::EINVAL.to_neg();
    }
    let n = max.min(VEXFS_FIEMAP_BATCH) as usize;
    ret(with_fs!(fs, |f| {
        let mut got = 0usize;
        f.fiemap_each(ino, from, n, |e| {
            let mut flags = 0;
            if e.unwritten {
                flags |= VEXFS_EXTENT_UNWRITTEN;
            }
            if e.last {
                flags |= VEXFS_EXTENT_LAST;
            }
            // SAFETY: got < n <= max entries of out (fiemap_each stops at n).
            unsafe {
                out.add(got).write(vexfs_extent {
                    logical: e.logical,
                    pblock: e.start,
                    len: e.len,
                    flags,
                    pad: 0,
                })
            };
            got += 1;
            true
        })?;
        // SAFETY: count is writable per the contract.
        unsafe { count.write(got as u32) };
        Ok(())
    }))
}

/// lseek SEEK_DATA / SEEK_HOLE (`whence`) from byte `off` of `ino`, whose
/// size is `size` (the VFS's): the offset found in `*res`; -ENXIO at or
/// past the end or with no data after `off`. Unwritten extents are holes.
///
/// # Safety
/// `fs` is NULL or a live handle; `res` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_seek(
    fs: *mut vexfs_fs,
    ino: u64,
    off: u64,
    whence: u32,
    size: u64,
    res: *mut u64,
) -> i32 {
    if res.is_null() || (whence != VEXFS_SEEK_DATA && whence != VEXFS_SEEK_HOLE) {
        return Errno::EINVAL.to_neg();
    }
    ret(with_fs!(fs, |f| {
        let r = f.seek_data_hole(ino, off, whence, size)?;
        // SAFETY: res is writable per the contract.
        unsafe { res.write(r) };
        Ok(())
    }))
}

#[repr(C)]
pub struct vexfs_vec_info {
    pub dim: u32,
    pub metric: u32,
    pub m: u32,
    pub ef_construction: u32,
    pub ef_search: u32,
    pub levels: u32,
    pub count: u64,
    pub capacity: u64,
    pub index_bytes: u64,
    /// Bytes of decoded slot blocks cached, and the cache's budget.
    pub cache_bytes: u64,
    pub cache_budget: u64,
    /// Slot reads the cache answered, and those that read a block.
    pub cache_hits: u64,
    pub cache_misses: u64,
}

/// One query result; `distance` is the IEEE-754 bits of an f32.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct vexfs_vec_hit {
    pub ino: u64,
    pub distance: u32,
    pub pad: u32,
}

/// Largest dimension a vector space may have.
pub const VEXFS_VEC_MAX_DIM: u32 = 1012;
/// Largest candidate list vexfs_rust_vec_query returns.
pub const VEXFS_VEC_MAX_QUERY: u32 = 65536;
const _: () = assert!(VEXFS_VEC_MAX_DIM == crate::format::VEC_MAX_DIM);
const _: () = assert!(VEXFS_VEC_MAX_QUERY == crate::vector::store::MAX_QUERY);
/// Largest query breadth (`ef`); 0 means the filesystem's default.
pub const VEXFS_VEC_MAX_EF: u32 = 8192;
const _: () = assert!(VEXFS_VEC_MAX_EF == crate::format::VEC_MAX_EF);
/// vexfs_rust_vec_query flag: exact (brute-force) search.
pub const VEXFS_VEC_EXACT: u32 = 1;

/// Floats from IEEE-754 bits in a caller's buffer.
///
/// # Safety
/// `bits` is NULL or points to `dim` readable u32.
unsafe fn floats_arg(bits: *const u32, dim: u32) -> Result<alloc::vec::Vec<f32>> {
    if bits.is_null() || dim == 0 {
        return Err(Errno::EINVAL);
    }
    if dim > VEXFS_VEC_MAX_DIM {
        return Err(Errno::EMSGSIZE);
    }
    // SAFETY: per the contract above.
    let raw = unsafe { core::slice::from_raw_parts(bits, dim as usize) };
    crate::mem::collect(raw.iter().map(|&b| f32::from_bits(b)))
}

/// # Safety
/// `fs` is NULL or a live handle; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_vec_info(fs: *mut vexfs_fs, out: *mut vexfs_vec_info) -> i32 {
    if out.is_null() {
        return Errno::EINVAL.to_neg();
    }
    ret(with_fs!(fs, |f| {
        let i = f.vec_info()?;
        // SAFETY: out is writable per the contract.
        unsafe {
            out.write(vexfs_vec_info {
                dim: i.dim,
                metric: i.metric,
                m: i.m,
                ef_construction: i.ef_construction,
                ef_search: i.ef_search,
                levels: i.levels,
                count: i.count,
                capacity: i.capacity,
                index_bytes: i.index_bytes,
                cache_bytes: i.cache.bytes,
                cache_budget: i.cache.budget,
                cache_hits: i.cache.hits,
                cache_misses: i.cache.misses,
            })
        };
        Ok(())
    }))
}

/// Lock a handle's mount only if the lock is free (the shrinker's way in).
///
/// # Safety
/// `fs` is NULL or a live handle.
unsafe fn try_lock<'a>(fs: *mut vexfs_fs) -> Result<Option<Locked<'a>>> {
    // SAFETY: per the contract above.
    let h = unsafe { fs.as_ref() }.ok_or(Errno::EINVAL)?;
    if h.magic != HANDLE_MAGIC {
        return Err(Errno::EBADF);
    }
    // SAFETY: sb is the live context this handle was created with.
    if unsafe { sys::vexfs_shim_trylock(h.sb) } == 0 {
        return Ok(None);
    }
    Ok(Some(Locked { h }))
}

/// Cached slot blocks the shrinker could free (its count_objects): 0 when
/// the mount's lock is held (never waits for it), the handle is bad, or
/// there is no vector space.
///
/// # Safety
/// `fs` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_vec_cache_count(fs: *mut vexfs_fs) -> u64 {
    // SAFETY: per the contract.
    match unsafe { try_lock(fs) } {
        Ok(Some(mut g)) => g.fs().map_or(0, |f| f.vec_cache_count() as u64),
        _ => 0,
    }
}

/// Free up to `nr` cached slot blocks (the shrinker's scan_objects): how
/// many were freed, or -EAGAIN when the mount's lock is held (never waits:
/// reclaim may run under that lock, in an allocation of the core).
///
/// # Safety
/// `fs` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_vec_cache_shrink(fs: *mut vexfs_fs, nr: u64) -> i64 {
    // SAFETY: per the contract.
    match unsafe { try_lock(fs) } {
        Ok(Some(mut g)) => match g.fs() {
            Ok(f) => f.vec_cache_shrink(usize::try_from(nr).unwrap_or(usize::MAX)) as i64,
            Err(e) => i64::from(e.to_neg()),
        },
        Ok(None) => i64::from(Errno::EAGAIN.to_neg()),
        Err(e) => i64::from(e.to_neg()),
    }
}

/// Set the slot cache's budget in bytes (evicting down to it).
/// -EOPNOTSUPP without a vector space.
///
/// # Safety
/// `fs` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_vec_cache_budget(fs: *mut vexfs_fs, bytes: u64) -> i32 {
    ret(with_fs!(fs, |f| f.vec_cache_set_budget(
        usize::try_from(bytes).unwrap_or(usize::MAX)
    )))
}

/// Attach a vector (`dim` IEEE-754 bit patterns) to regular file `ino`.
///
/// # Safety
/// `fs` is NULL or a live handle; `vec` is NULL or points to `dim` u32.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_vec_set(
    fs: *mut vexfs_fs,
    ino: u64,
    vec: *const u32,
    dim: u32,
) -> i32 {
    // SAFETY: per the contract.
    let v = try_c!(unsafe { floats_arg(vec, dim) });
    ret(with_fs!(fs, |f| {
        f.check_mutable(ino)?;
        f.vec_set(ino, &v)
    }))
}

/// Copy the vector of `ino` to `vec` (room for `cap`); `*dim` gets the dimension.
///
/// # Safety
/// `fs` is NULL or a live handle; `vec` is NULL or has room for `cap` u32; `dim` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_vec_get(
    fs: *mut vexfs_fs,
    ino: u64,
    vec: *mut u32,
    cap: u32,
    dim: *mut u32,
) -> i32 {
    if vec.is_null() || dim.is_null() {
        return Errno::EINVAL.to_neg();
    }
    ret(with_fs!(fs, |f| {
        let v = f.vec_get(ino)?;
        // SAFETY: dim is writable per the contract.
        unsafe { dim.write(v.len() as u32) };
        if v.len() > cap as usize {
            return Err(Errno::EMSGSIZE);
        }
        // SAFETY: vec has room for cap >= v.len() u32.
        let out = unsafe { core::slice::from_raw_parts_mut(vec, v.len()) };
        for (o, x) in out.iter_mut().zip(v.iter()) {
            *o = x.to_bits();
        }
        Ok(())
    }))
}

/// # Safety
/// `fs` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rust_vec_delete(fs: *mut vexfs_fs, ino: u64) -> i32 {
    ret(with_fs!(fs, |f| {
        f.check_mutable(ino)?;
        f.vec_delete(ino)
    }))
}

/// Up to `n` files nearest to `vec` below directory `within_dir`, nearest
/// first, into `hits`; `*count` gets how many. The shim filters by permission.
///
/// # Safety
/// `fs` is NULL or a live handle; `vec` points to `dim` u32; `hits` has room
/// for `n` entries; `count` is NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn vexfs_rust_vec_query(
    fs: *mut vexfs_fs,
    vec: *const u32,
    dim: u32,
    within_dir: u64,
    n: u32,
    ef: u32,
    flags: u32,
    hits: *mut vexfs_vec_hit,
    count: *mut u32,
) -> i32 {
    if hits.is_null() || count.is_null() || flags & !VEXFS_VEC_EXACT != 0 {
        return Errno::EINVAL.to_neg();
    }
    if n == 0 || n > VEXFS_VEC_MAX_QUERY || ef > VEXFS_VEC_MAX_EF {
        return Errno::ERANGE.to_neg();
    }
    // SAFETY: per the contract.
    let q = try_c!(unsafe { floats_arg(vec, dim) });
    ret(with_fs!(fs, |f| {
        let found = f.vec_query(&q, within_dir, n, ef, flags & VEXFS_VEC_EXACT != 0)?;
        // SAFETY: hits has room for n entries per the contract.
        let out = unsafe { core::slice::from_raw_parts_mut(hits, n as usize) };
        let mut written = 0u32;
        for (o, (ino, d)) in out.iter_mut().zip(found.iter()) {
            *o = vexfs_vec_hit {
                ino: *ino,
                distance: d.to_bits(),
                pad: 0,
            };
            written += 1;
        }
        // SAFETY: count is writable per the contract.
        unsafe { count.write(written) };
        Ok(())
    }))
}

/// readdir, many entries per call: the entries of `dir` after position
/// (`pos`, `after`) in order, as `vexfs_dirent_rec` records packed into
/// `buf` (`cap` bytes, at least VEXFS_DIRENT_REC_MAX, 8-byte aligned);
/// `*count` records were written. `after` (`after_len` bytes, NULL when 0)
/// is empty except to resume inside a run of entries with the same
/// position (a record's `mid_run`). Positions are hash cookies below 2^62,
/// valid across inserts and deletes: an entry present throughout is
/// returned once. Returns 1 when the records reach the end of the
/// directory, 0 when more entries follow, or a negative errno. Each
/// directory block read is validated once per call.
///
/// # Safety
/// `fs` is NULL or a live handle; `after` points to `after_len` bytes or
/// is NULL with `after_len` 0; `buf` is NULL or points to `cap` writable
/// bytes; `count` is NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn vexfs_rust_readdir_batch(
    fs: *mut vexfs_fs,
    dir: u64,
    pos: u64,
    after: *const u8,
    after_len: usize,
    buf: *mut u8,
    cap: usize,
    count: *mut u32,
) -> i32 {
    if buf.is_null()
        || count.is_null()
        || cap < VEXFS_DIRENT_REC_MAX as usize
        || !(buf as usize).is_multiple_of(8)
        || after_len > NAME_MAX
        || (after.is_null() && after_len != 0)
    {
        return Errno::EINVAL.to_neg();
    }
    let after: &[u8] = if after_len == 0 {
        &[]
    } else {
        // SAFETY: after points to after_len bytes per the contract.
        unsafe { core::slice::from_raw_parts(after, after_len) }
    };
    // SAFETY: buf points to cap writable bytes per the contract.
    let out = unsafe { core::slice::from_raw_parts_mut(buf, cap) };
    let head = core::mem::size_of::<vexfs_dirent_rec>();
    let (mut off, mut n) = (0usize, 0u32);
    let r = with_fs!(fs, |f| f.readdir_from(dir, pos, after, &mut |e| {
        let len = (head + e.name.len() + 1 + 7) & !7;
        let Some(dst) = out.get_mut(off..off + len) else {
            return false;
        };
        let rec = vexfs_dirent_rec {
            ino: e.ino,
            next_pos: e.next,
            rec_len: len as u16,
            name_len: e.name.len() as u8,
            file_type: e.file_type,
            mid_run: u32::from(e.mid_run),
        };
        dst.fill(0);
        // SAFETY: dst holds len >= size_of::<vexfs_dirent_rec>() bytes;
        // the write is unaligned-safe.
        unsafe { core::ptr::write_unaligned(dst.as_mut_ptr().cast::<vexfs_dirent_rec>(), rec) };
        if let Some(d) = dst.get_mut(head..head + e.name.len()) {
            d.copy_from_slice(e.name);
        }
        off += len;
        n += 1;
        true
    }));
    // SAFETY: count is writable per the contract.
    unsafe { count.write(n) };
    match r {
        Ok(true) => 1,
        Ok(false) => 0,
        Err(e) => e.to_neg(),
    }
}
