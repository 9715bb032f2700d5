//! Namespace operations: lookup, create, link, unlink, rmdir, rename.
//! Each keeps link counts, parent pointers and directory times consistent;
//! the kernel shim only refreshes its in-core inodes from the result.

use crate::dev::Device;
use crate::dir::{check_name, Slot};
use crate::format::*;
use crate::fs::LINK_MAX;
use crate::{Errno, Fs, Result};
use zerocopy::little_endian::{U32, U64};

pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;
pub const RENAME_WHITEOUT: u32 = 4;

impl<D: Device> Fs<D> {
    pub fn lookup(&mut self, dir: u64, name: &[u8]) -> Result<u64> {
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let slot = self.dir_find(dir, name)?.ok_or(Errno::ENOENT)?;
        match self.inode_ref(slot.ino) {
            Ok(_) => Ok(slot.ino),
            Err(Errno::ESTALE) => Err(self.corrupt(format_args!(
                "directory {} entry for inode {} points to a free inode",
                dir, slot.ino
            ))),
            Err(e) => Err(e),
        }
    }

    fn touch_dir(&mut self, dir: u64) -> Result<()> {
        let now = self.dev.now();
        let i = self.inode(dir)?;
        i.set_mtime(now);
        i.set_ctime(now);
        self.store_inode(dir)
    }

    fn add_links(&mut self, ino: u64, delta: i32) -> Result<()> {
        let now = self.dev.now();
        let i = self.inode(ino)?;
        let n = i.d.nlink.get().saturating_add_signed(delta);
        i.d.nlink = U32::new(n);
        i.set_ctime(now);
        self.store_inode(ino)
    }

    /// Create a node of any type in `dir`. Directories start with two links
    /// and add one to their parent.
    pub fn create(
        &mut self,
        dir: u64,
        name: &[u8],
        mode: u32,
        uid: u32,
        gid: u32,
        rdev: u32,
    ) -> Result<u64> {
        self.op(|fs| fs.create_op(dir, name, mode, uid, gid, rdev))
    }

    fn create_op(
        &mut self,
        dir: u64,
        name: &[u8],
        mode: u32,
        uid: u32,
        gid: u32,
        rdev: u32,
    ) -> Result<u64> {
        self.begin_op()?;
        check_name(name)?;
        if !valid_file_type(mode) {
            return Err(Errno::EINVAL);
        }
        let is_dir = mode & S_IFMT == S_IFDIR;
        let parent = self.inode_ref(dir)?;
        if !parent.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if parent.d.nlink.get() == 0 {
            return Err(Errno::ENOENT);
        }
        if is_dir && parent.d.nlink.get() >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        if self.dir_find(dir, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        let ino = self.new_inode(dir, mode, uid, gid, rdev)?;
        let i = self.inode(ino)?;
        i.d.parent = U64::new(dir);
        if is_dir {
            i.d.nlink = U32::new(2);
        }
        self.store_inode(ino)?;
        let pos = match self.dir_add(dir, name, ino, dt_from_mode(mode)) {
            Ok(pos) => pos,
            Err(e) => {
                let _ = self.delete_inode(ino);
                return Err(e);
            }
        };
        let i = self.inode(ino)?;
        i.d.parent_pos = U64::new(pos);
        self.store_inode(ino)?;
        if is_dir {
            self.add_links(dir, 1)?;
        }
        self.touch_dir(dir)?;
        Ok(ino)
    }

    pub fn link(&mut self, dir: u64, name: &[u8], ino: u64) -> Result<()> {
        self.op(|fs| fs.link_op(dir, name, ino))
    }

    fn link_op(&mut self, dir: u64, name: &[u8], ino: u64) -> Result<()> {
        self.begin_op()?;
        check_name(name)?;
        let target = self.inode_ref(ino)?;
        if target.is_dir() {
            return Err(Errno::EPERM);
        }
        if target.d.nlink.get() >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        let ft = dt_from_mode(target.mode());
        if !self.inode_ref(dir)?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if self.dir_find(dir, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        let pos = self.dir_add(dir, name, ino, ft)?;
        let i = self.inode(ino)?;
        if i.d.parent.get() == 0 {
            i.d.parent = U64::new(dir);
            i.d.parent_pos = U64::new(pos);
        }
        self.add_links(ino, 1)?;
        self.touch_dir(dir)
    }

    /// A non-directory lost its link `s` in `dir`: when that was the
    /// hinted link (or the hint names `dir` without saying where), the hint
    /// becomes unknown (0). Query hits are shown only through directories
    /// the caller may search, found from the hint.
    fn unhint(&mut self, ino: u64, dir: u64, s: &Slot) -> Result<()> {
        let i = self.inode(ino)?;
        let pp = i.d.parent_pos.get();
        if !i.is_dir() && i.d.parent.get() == dir && (pp == 0 || s.hinted_by(pp)) {
            i.d.parent = U64::new(0);
            i.d.parent_pos = U64::new(0);
        }
        Ok(())
    }

    /// The link of `ino` at `old` in `odir` is now the entry `nhint` names
    /// in `ndir` (rename, exchange). A directory's hint always follows its
    /// one link; a non-directory's follows it when it was the hinted link
    /// (or the hint named `odir` without saying where), and an unknown hint
    /// becomes this link. The caller stores the inode.
    fn moved_link(&mut self, ino: u64, odir: u64, old: &Slot, ndir: u64, nhint: u64) -> Result<()> {
        let i = self.inode(ino)?;
        let (parent, pp) = (i.d.parent.get(), i.d.parent_pos.get());
        let hinted = parent == odir && (pp == 0 || old.hinted_by(pp));
        if i.is_dir() || hinted || parent == 0 {
            i.d.parent = U64::new(ndir);
            i.d.parent_pos = U64::new(nhint);
        }
        Ok(())
    }

    /// The parent hint of `ino`: the parent of a directory; for other files
    /// a directory holding a link to it, or 0 when that is not known.
    pub fn parent_of(&mut self, ino: u64) -> Result<u64> {
        Ok(self.inode_ref(ino)?.d.parent.get())
    }

    pub fn unlink(&mut self, dir: u64, name: &[u8]) -> Result<()> {
        self.op(|fs| fs.unlink_op(dir, name))
    }

    fn unlink_op(&mut self, dir: u64, name: &[u8]) -> Result<()> {
        self.begin_op()?;
        let slot = self.dir_find(dir, name)?.ok_or(Errno::ENOENT)?;
        if self.inode_ref(slot.ino)?.is_dir() {
            return Err(Errno::EISDIR);
        }
        self.dir_remove(dir, slot)?;
        self.unhint(slot.ino, dir, &slot)?;
        self.add_links(slot.ino, -1)?;
        self.touch_dir(dir)?;
        self.maybe_delete(slot.ino)
    }

    pub fn rmdir(&mut self, dir: u64, name: &[u8]) -> Result<()> {
        self.op(|fs| fs.rmdir_op(dir, name))
    }

    fn rmdir_op(&mut self, dir: u64, name: &[u8]) -> Result<()> {
        self.begin_op()?;
        let slot = self.dir_find(dir, name)?.ok_or(Errno::ENOENT)?;
        if !self.inode_ref(slot.ino)?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !self.dir_is_empty(slot.ino)? {
            return Err(Errno::ENOTEMPTY);
        }
        self.dir_remove(dir, slot)?;
        let i = self.inode(slot.ino)?;
        i.d.nlink = U32::new(0);
        self.store_inode(slot.ino)?;
        self.add_links(dir, -1)?;
        self.touch_dir(dir)?;
        self.maybe_delete(slot.ino)
    }

    /// Is `ino` the directory `anc` or below it?
    fn is_within(&mut self, mut ino: u64, anc: u64) -> Result<bool> {
        for _ in 0..4096 {
            if ino == anc {
                return Ok(true);
            }
            if ino == self.sb.root_ino.get() {
                return Ok(false);
            }
            ino = self.inode_ref(ino)?.d.parent.get();
        }
        Err(self.corrupt(format_args!("directory parent chain loops")))
    }

    pub fn rename(
        &mut self,
        odir: u64,
        oname: &[u8],
        ndir: u64,
        nname: &[u8],
        flags: u32,
    ) -> Result<()> {
        self.op(|fs| fs.rename_op(odir, oname, ndir, nname, flags))
    }

    /// rename with RENAME_WHITEOUT (and NOREPLACE): the rename, then a
    /// whiteout (a 0:0 character device owned by `uid`:`gid`) at the old
    /// name, in the same operation (one transaction).
    #[allow(clippy::too_many_arguments)]
    pub fn rename_whiteout(
        &mut self,
        odir: u64,
        oname: &[u8],
        ndir: u64,
        nname: &[u8],
        flags: u32,
        uid: u32,
        gid: u32,
    ) -> Result<()> {
        if flags & RENAME_WHITEOUT == 0 || flags & RENAME_EXCHANGE != 0 {
            return Err(Errno::EINVAL);
        }
        self.op(|fs| {
            fs.rename_op(odir, oname, ndir, nname, flags & !RENAME_WHITEOUT)?;
            let ino = fs.new_inode(odir, S_IFCHR, uid, gid, 0)?;
            let pos = fs.dir_add(odir, oname, ino, DT_CHR)?;
            let i = fs.inode(ino)?;
            i.d.parent = U64::new(odir);
            i.d.parent_pos = U64::new(pos);
            fs.store_inode(ino)?;
            fs.touch_dir(odir)
        })
    }

    fn rename_op(
        &mut self,
        odir: u64,
        oname: &[u8],
        ndir: u64,
        nname: &[u8],
        flags: u32,
    ) -> Result<()> {
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0
            || flags & (RENAME_NOREPLACE | RENAME_EXCHANGE) == (RENAME_NOREPLACE | RENAME_EXCHANGE)
        {
            return Err(Errno::EINVAL);
        }
        self.begin_op()?;
        check_name(nname)?;
        if !self.inode_ref(ndir)?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let src = self.dir_find(odir, oname)?.ok_or(Errno::ENOENT)?;
        let dst = self.dir_find(ndir, nname)?;
        let src_dir = self.inode_ref(src.ino)?.is_dir();
        if src_dir && odir != ndir && self.is_within(ndir, src.ino)? {
            return Err(Errno::EINVAL);
        }
        if flags & RENAME_EXCHANGE != 0 {
            let dst = dst.ok_or(Errno::ENOENT)?;
            return self.exchange(odir, src, ndir, dst);
        }
        if let Some(d) = dst {
            if flags & RENAME_NOREPLACE != 0 {
                return Err(Errno::EEXIST);
            }
            if d.ino == src.ino {
                return Ok(());
            }
            let dst_dir = self.inode_ref(d.ino)?.is_dir();
            if src_dir && !dst_dir {
                return Err(Errno::ENOTDIR);
            }
            if !src_dir && dst_dir {
                return Err(Errno::EISDIR);
            }
            if dst_dir && !self.dir_is_empty(d.ino)? {
                return Err(Errno::ENOTEMPTY);
            }
            if src_dir
                && odir != ndir
                && self.inode_ref(ndir)?.d.nlink.get() >= LINK_MAX
                && !dst_dir
            {
                return Err(Errno::EMLINK);
            }
            self.dir_set(ndir, d, src.ino, src.file_type)?;
            if dst_dir {
                let v = self.inode(d.ino)?;
                v.d.nlink = U32::new(0);
                self.store_inode(d.ino)?;
                self.add_links(ndir, -1)?;
            } else {
                self.unhint(d.ino, ndir, &d)?;
                self.add_links(d.ino, -1)?;
            }
            // dir_set moves nothing, but look the old name up again anyway.
            let src = self.dir_find(odir, oname)?.ok_or(Errno::EIO)?;
            self.dir_remove(odir, src)?;
            self.finish_move(odir, &src, ndir, d.hint, src.ino, src_dir)?;
            return self.maybe_delete(d.ino);
        }
        if src_dir && odir != ndir && self.inode_ref(ndir)?.d.nlink.get() >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        let npos = self.dir_add(ndir, nname, src.ino, src.file_type)?;
        // The add may have split a leaf of odir: find the old name again.
        let removed = match self.dir_find(odir, oname) {
            Ok(Some(s)) => self.dir_remove(odir, s).map(|()| s),
            Ok(None) => Err(Errno::EIO),
            Err(e) => Err(e),
        };
        let opos = match removed {
            Ok(p) => p,
            Err(e) => {
                // Undo the new name so the file keeps exactly one.
                if let Ok(Some(n)) = self.dir_find(ndir, nname) {
                    let _ = self.dir_remove(ndir, n);
                }
                return Err(e);
            }
        };
        self.finish_move(odir, &opos, ndir, npos, src.ino, src_dir)
    }

    /// Fix parent pointer, link counts and times after moving `ino` from
    /// entry `old` of `odir` to the one `nhint` names in `ndir`.
    fn finish_move(
        &mut self,
        odir: u64,
        old: &Slot,
        ndir: u64,
        nhint: u64,
        ino: u64,
        is_dir: bool,
    ) -> Result<()> {
        self.moved_link(ino, odir, old, ndir, nhint)?;
        if is_dir && odir != ndir {
            self.store_inode(ino)?;
            self.add_links(odir, -1)?;
            self.add_links(ndir, 1)?;
        }
        self.add_links(ino, 0)?;
        self.touch_dir(odir)?;
        if ndir != odir {
            self.touch_dir(ndir)?;
        }
        Ok(())
    }

    fn exchange(&mut self, odir: u64, a: Slot, ndir: u64, b: Slot) -> Result<()> {
        if a.ino == b.ino {
            return Ok(());
        }
        let a_dir = self.inode_ref(a.ino)?.is_dir();
        let b_dir = self.inode_ref(b.ino)?.is_dir();
        if odir != ndir && b_dir && self.is_within(odir, b.ino)? {
            return Err(Errno::EINVAL);
        }
        self.dir_set(odir, a, b.ino, b.file_type)?;
        if let Err(e) = self.dir_set(ndir, b, a.ino, a.file_type) {
            // Undo the first half so no inode is left with two names.
            let _ = self.dir_set(odir, a, a.ino, a.file_type);
            return Err(e);
        }
        if odir != ndir && a_dir != b_dir {
            let (gain, lose) = if a_dir { (ndir, odir) } else { (odir, ndir) };
            self.add_links(gain, 1)?;
            self.add_links(lose, -1)?;
        }
        // a's link is now b's entry and b's a's.
        self.moved_link(a.ino, odir, &a, ndir, b.hint)?;
        self.moved_link(b.ino, ndir, &b, odir, a.hint)?;
        self.add_links(a.ino, 0)?;
        self.add_links(b.ino, 0)?;
        self.touch_dir(odir)?;
        if ndir != odir {
            self.touch_dir(ndir)?;
        }
        Ok(())
    }
}
