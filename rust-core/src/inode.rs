//! Inodes: loading and validating them from the inode table, the in-memory
//! cache, allocation and release.

use crate::alloc_map::Map;
use crate::dev::{new_block, Device, Timespec};
use crate::extent::Extent;
use crate::format::*;
use crate::fs::LINK_MAX;
use crate::{Errno, Fs, Result};
use alloc::vec::Vec;
use zerocopy::little_endian::{I64, U16, U32, U64};
use zerocopy::{FromBytes, FromZeros, IntoBytes};

/// An inode as the core holds it while in use.
pub struct Inode {
    pub ino: u64,
    pub d: DiskInode,
    /// The whole extent map, sorted by logical block.
    pub extents: Vec<Extent>,
    /// Extent tree blocks (index and leaf), in the order they are written.
    pub tree: Vec<u64>,
    /// References held by the kernel's inode cache (iget/evict).
    pub pins: u32,
    /// A failed operation's changes were rolled back under this copy: it is
    /// read again before its next use (rolling back must not need memory).
    pub stale: bool,
}

/// Attributes exchanged with the VFS and the tools.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attr {
    pub ino: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub size: u64,
    /// Filesystem blocks owned.
    pub blocks: u64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
    pub rdev: u32,
    pub generation: u32,
    /// Inode flags (`INODE_FL_*`): the core's, never set through setattr.
    pub flags: u32,
    /// Birth time (statx btime): set at create, never changed.
    pub crtime: Timespec,
}

impl Inode {
    pub fn mode(&self) -> u32 {
        u32::from(self.d.mode.get())
    }
    pub fn is_dir(&self) -> bool {
        self.mode() & S_IFMT == S_IFDIR
    }
    pub fn attr(&self) -> Attr {
        let d = &self.d;
        Attr {
            ino: self.ino,
            mode: self.mode(),
            uid: d.uid.get(),
            gid: d.gid.get(),
            nlink: d.nlink.get(),
            size: d.size.get(),
            blocks: d.blocks.get(),
            atime: Timespec {
                sec: d.atime.get(),
                nsec: d.atime_nsec.get(),
            },
            mtime: Timespec {
                sec: d.mtime.get(),
                nsec: d.mtime_nsec.get(),
            },
            ctime: Timespec {
                sec: d.ctime.get(),
                nsec: d.ctime_nsec.get(),
            },
            rdev: d.rdev.get(),
            generation: d.generation.get(),
            flags: d.flags.get(),
            crtime: Timespec {
                sec: d.crtime.get(),
                nsec: d.crtime_nsec.get(),
            },
        }
    }
    pub(crate) fn set_ctime(&mut self, t: Timespec) {
        self.d.ctime = I64::new(t.sec);
        self.d.ctime_nsec = U32::new(t.nsec);
    }
    pub(crate) fn set_mtime(&mut self, t: Timespec) {
        self.d.mtime = I64::new(t.sec);
        self.d.mtime_nsec = U32::new(t.nsec);
    }
}

impl<D: Device> Fs<D> {
    /// The cached inode, loading it from disk if needed.
    pub(crate) fn inode(&mut self, ino: u64) -> Result<&mut Inode> {
        self.touch_inode(ino);
        self.cached_inode(ino)
    }

    pub(crate) fn inode_ref(&mut self, ino: u64) -> Result<&Inode> {
        self.cached_inode(ino).map(|i| &*i)
    }

    fn cached_inode(&mut self, ino: u64) -> Result<&mut Inode> {
        if let Some(pins) = self.inodes.get(&ino).filter(|i| i.stale).map(|i| i.pins) {
            let mut fresh = self.load_inode(ino)?;
            fresh.pins = pins;
            if let Some(i) = self.inodes.get_mut(&ino) {
                *i = fresh;
            }
        } else if !self.inodes.contains_key(&ino) {
            crate::mem::map_reserve(&mut self.inodes, 1)?;
            let inode = self.load_inode(ino)?;
            crate::mem::map_insert(&mut self.inodes, ino, inode)?;
        }
        self.inodes.get_mut(&ino).ok_or(Errno::EIO)
    }

    /// Forget the cached copy of `ino` after a rollback: an unpinned one is
    /// dropped, one the kernel holds is read again at its next use. Needs
    /// no memory, so a rollback under memory pressure does not fail.
    pub(crate) fn forget_inode(&mut self, ino: u64) {
        match self.inodes.get_mut(&ino) {
            Some(i) if i.pins > 0 => i.stale = true,
            Some(_) => {
                self.inodes.remove(&ino);
            }
            None => {}
        }
    }

    /// [`Fs::forget_inode`] for every cached inode.
    pub(crate) fn forget_all_inodes(&mut self) {
        self.inodes.retain(|_, i| i.pins > 0);
        for i in self.inodes.values_mut() {
            i.stale = true;
        }
    }

    fn load_inode(&mut self, ino: u64) -> Result<Inode> {
        let d = self.read_disk_inode(ino)?;
        let (extents, tree) = self.load_extents(ino, &d)?;
        Ok(Inode {
            ino,
            d,
            extents,
            tree,
            pins: 0,
            stale: false,
        })
    }

    /// The on-disk inode `ino`, checked, without its extents and without
    /// caching it: the cached copy when there is one.
    pub(crate) fn peek_inode(&mut self, ino: u64) -> Result<DiskInode> {
        match self.inodes.get(&ino).filter(|i| !i.stale) {
            Some(i) => Ok(i.d.clone()),
            None => self.read_disk_inode(ino),
        }
    }

    fn read_disk_inode(&mut self, ino: u64) -> Result<DiskInode> {
        if ino == 0 || ino > self.sb.inode_count.get() {
            // A bad number from a caller is not corruption; callers that
            // read it from disk report it as such.
            return Err(Errno::ESTALE);
        }
        if !self.bit_is_set(Map::Inodes, ino - 1)? {
            // Callers that followed an on-disk reference report this as corruption.
            return Err(Errno::ESTALE);
        }
        let (blk, off) = inode_location(&self.sb, ino)?;
        let mut buf = new_block()?;
        self.read_blk(blk, &mut buf)?;
        let raw = buf.get(off..off + INODE_SIZE).ok_or(Errno::EIO)?;
        let d = DiskInode::read_from_bytes(raw).map_err(|_| Errno::EIO)?;
        if d.checksum.get() != d.compute_checksum(ino) {
            return Err(self.corrupt(format_args!("inode {} checksum mismatch", ino)));
        }
        let mode = u32::from(d.mode.get());
        if !valid_file_type(mode) {
            return Err(self.corrupt(format_args!("inode {} has invalid mode {:o}", ino, mode)));
        }
        if d.nlink.get() > LINK_MAX {
            return Err(self.corrupt(format_args!(
                "inode {} link count {} too large",
                ino,
                d.nlink.get()
            )));
        }
        if d.size.get() > crate::fs::MAX_FILE_SIZE {
            return Err(self.corrupt(format_args!(
                "inode {} size {} too large",
                ino,
                d.size.get()
            )));
        }
        Ok(d)
    }

    /// Write the cached inode back to the inode table.
    pub(crate) fn store_inode(&mut self, ino: u64) -> Result<()> {
        let (blk, off) = inode_location(&self.sb, ino)?;
        let mut d = self.cached_inode(ino)?.d.clone();
        d.seal(ino);
        self.write_inode_raw(blk, off, &d)
    }

    fn write_inode_raw(&mut self, blk: u64, off: usize, d: &DiskInode) -> Result<()> {
        let mut buf = new_block()?;
        self.read_blk(blk, &mut buf)?;
        buf.get_mut(off..off + INODE_SIZE)
            .ok_or(Errno::EIO)?
            .copy_from_slice(d.as_bytes());
        self.write_blk(blk, &buf)
    }

    /// Allocate and initialise a new inode near `goal_ino`.
    pub(crate) fn new_inode(
        &mut self,
        goal_ino: u64,
        mode: u32,
        uid: u32,
        gid: u32,
        rdev: u32,
    ) -> Result<u64> {
        let (bit, _) = self.alloc_bits(Map::Inodes, goal_ino.saturating_sub(1), 1)?;
        let ino = bit + 1;
        let now = self.dev.now();
        let mut d = DiskInode::new_zeroed();
        d.mode = U16::new(mode as u16);
        d.uid = U32::new(uid);
        d.gid = U32::new(gid);
        d.nlink = U32::new(1);
        d.rdev = U32::new(rdev);
        for (s, n) in [
            (&mut d.atime, &mut d.atime_nsec),
            (&mut d.mtime, &mut d.mtime_nsec),
            (&mut d.ctime, &mut d.ctime_nsec),
            (&mut d.crtime, &mut d.crtime_nsec),
        ] {
            *s = I64::new(now.sec);
            *n = U32::new(now.nsec);
        }
        self.next_generation = self.next_generation.wrapping_add(1);
        d.generation = U32::new(self.next_generation);
        d.extent_depth = U16::new(0);
        d.parent = U64::new(0);
        d.fs_tag = U32::new(self.sb.fs_tag());
        if let Err(e) = crate::mem::map_reserve(&mut self.inodes, 1) {
            let _ = self.free_bits(Map::Inodes, bit, 1);
            return Err(e);
        }
        crate::mem::map_insert(
            &mut self.inodes,
            ino,
            Inode {
                ino,
                d,
                extents: Vec::new(),
                tree: Vec::new(),
                pins: 0,
                stale: false,
            },
        )?;
        if let Err(e) = self.store_inode(ino) {
            self.inodes.remove(&ino);
            let _ = self.free_bits(Map::Inodes, bit, 1);
            return Err(e);
        }
        Ok(ino)
    }

    /// Free an inode and everything it owns.
    pub(crate) fn delete_inode(&mut self, ino: u64) -> Result<()> {
        // The embedding belongs to the file: it goes with it (its slot on
        // the dead list; unlinked from the graph after the commit).
        self.vec_drop(ino)?;
        self.orphan_del(ino)?;
        self.truncate_blocks(ino, 0)?;
        // The number may be reused at once: a commit must not go looking
        // for this inode's data (the kernel would wait on a new inode).
        self.journal.drop_ordered(ino);
        let (blk, off) = inode_location(&self.sb, ino)?;
        self.inodes.remove(&ino);
        let mut d = DiskInode::new_zeroed();
        d.seal(ino);
        self.write_inode_raw(blk, off, &d)?;
        self.free_bits(Map::Inodes, ino - 1, 1)?;
        Ok(())
    }

    /// Delete an inode whose last link is gone, unless the kernel still holds it
    /// (an unlinked but open file lives until its last close).
    pub(crate) fn maybe_delete(&mut self, ino: u64) -> Result<()> {
        let i = self.inode_ref(ino)?;
        if i.d.nlink.get() == 0 {
            if i.pins == 0 {
                self.delete_inode(ino)?;
            } else {
                self.orphan_add(ino)?;
            }
        }
        Ok(())
    }

    /// Put an unlinked but open inode on the orphan list, in the same
    /// transaction as its last unlink: if the kernel never gets to free it
    /// (crash), the next mount does.
    fn orphan_add(&mut self, ino: u64) -> Result<()> {
        if self.orphans.contains(&ino) {
            return Ok(());
        }
        let head = self.sb.orphan_head.get();
        self.inode(ino)?.d.next_orphan = U64::new(head);
        self.store_inode(ino)?;
        self.sb.orphan_head = U64::new(ino);
        self.sb_dirty = true;
        crate::mem::insert(&mut self.orphans, 0, ino)?;
        Ok(())
    }

    /// Take `ino` off the orphan list (it is being freed).
    fn orphan_del(&mut self, ino: u64) -> Result<()> {
        let Some(at) = self.orphans.iter().position(|&o| o == ino) else {
            return Ok(());
        };
        let next = self.orphans.get(at + 1).copied().unwrap_or(0);
        match at.checked_sub(1).and_then(|p| self.orphans.get(p)).copied() {
            None => {
                self.sb.orphan_head = U64::new(next);
                self.sb_dirty = true;
            }
            Some(prev) => {
                self.inode(prev)?.d.next_orphan = U64::new(next);
                self.store_inode(prev)?;
            }
        }
        self.orphans.remove(at);
        Ok(())
    }

    /// Read the orphan list at mount. A list that names a free or linked
    /// inode, or loops, is corruption (fsck.vexfs rebuilds it).
    pub(crate) fn load_orphans(&mut self) -> Result<()> {
        let mut ino = self.sb.orphan_head.get();
        let limit = self.sb.inode_count.get();
        while ino != 0 {
            crate::dev::resched();
            if self.orphans.len() as u64 >= limit || self.orphans.contains(&ino) {
                return Err(self.corrupt(format_args!("orphan list loops at inode {}", ino)));
            }
            let i = match self.inode_ref(ino) {
                Ok(i) => i,
                Err(Errno::ESTALE) => {
                    return Err(self.corrupt(format_args!("orphan list names free inode {}", ino)))
                }
                Err(e) => return Err(e),
            };
            let (nlink, next) = (i.d.nlink.get(), i.d.next_orphan.get());
            if nlink != 0 {
                return Err(self.corrupt(format_args!("orphan inode {} has {} links", ino, nlink)));
            }
            crate::mem::push(&mut self.orphans, ino)?;
            ino = next;
        }
        Ok(())
    }

    /// Free the inodes that were unlinked while open when the filesystem
    /// went down (mount, read-write).
    pub(crate) fn free_orphans(&mut self) -> Result<()> {
        let n = self.orphans.len();
        while let Some(&ino) = self.orphans.first() {
            crate::dev::resched();
            self.delete_inode(ino)?;
        }
        if n > 0 {
            self.dev.log(
                crate::dev::LogLevel::Info,
                format_args!("freed {} orphan inode(s) unlinked while open", n),
            );
        }
        Ok(())
    }

    /// Current attributes of `ino`.
    pub fn getattr(&mut self, ino: u64) -> Result<Attr> {
        Ok(self.inode_ref(ino)?.attr())
    }

    /// Store the attributes the VFS owns (mode bits, owner, size of
    /// non-directories, times). Link count and block count stay the core's.
    pub fn setattr(&mut self, a: &Attr) -> Result<()> {
        self.op(|fs| fs.setattr_op(a))
    }

    fn setattr_op(&mut self, a: &Attr) -> Result<()> {
        self.begin_op()?;
        let i = self.inode(a.ino)?;
        if (a.mode & S_IFMT) != (i.mode() & S_IFMT) {
            return Err(Errno::EINVAL);
        }
        if a.size > crate::fs::MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        i.d.mode = U16::new(a.mode as u16);
        i.d.uid = U32::new(a.uid);
        i.d.gid = U32::new(a.gid);
        // A directory's size is the core's (it grows with its entries); a stale
        // VFS copy must never shrink it.
        if !i.is_dir() {
            i.d.size = U64::new(a.size);
        }
        i.d.atime = I64::new(a.atime.sec);
        i.d.atime_nsec = U32::new(a.atime.nsec);
        i.set_mtime(a.mtime);
        i.set_ctime(a.ctime);
        self.store_inode(a.ino)
    }

    /// Pin an inode for the kernel's inode cache.
    pub fn iget(&mut self, ino: u64) -> Result<Attr> {
        let i = self.inode(ino)?;
        if i.d.nlink.get() == 0 && i.pins == 0 {
            // Only the kernel can hold an unlinked inode (open, on the
            // orphan list): reached from a name or a handle, it is stale.
            let _ = self.corrupt(format_args!("deleted inode {} referenced", ino));
            return Err(Errno::ESTALE);
        }
        let i = self.inode(ino)?;
        i.pins = i.pins.saturating_add(1);
        Ok(i.attr())
    }

    /// Drop the kernel's reference; delete the inode if it has no links left.
    pub fn evict(&mut self, ino: u64, delete: bool) -> Result<()> {
        self.op(|fs| fs.evict_op(ino, delete))
    }

    fn evict_op(&mut self, ino: u64, delete: bool) -> Result<()> {
        let Some(i) = self.inodes.get_mut(&ino) else {
            return Ok(());
        };
        i.pins = i.pins.saturating_sub(1);
        if i.pins > 0 {
            return Ok(());
        }
        // A rolled-back copy: its link count is the disk's.
        let nlink = match self.cached_inode(ino) {
            Ok(i) => i.d.nlink.get(),
            Err(e) => {
                // Unpinned: dropping it is right; a file left unlinked
                // stays on the orphan list for the next mount.
                self.inodes.remove(&ino);
                return Err(e);
            }
        };
        // The core's link count decides: the VFS's view is only a hint.
        if delete && nlink != 0 {
            self.dev.log(
                crate::dev::LogLevel::Warn,
                format_args!(
                    "inode {} evicted for deletion but has {} links: kept",
                    ino, nlink
                ),
            );
        }
        if nlink == 0 && !self.read_only && !self.errored {
            // Freeing a file is an operation of its own (the kernel's
            // unlinks mostly free at evict).
            self.begin_op()?;
            self.delete_inode(ino)
        } else {
            self.inodes.remove(&ino);
            Ok(())
        }
    }
}
