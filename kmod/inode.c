// SPDX-License-Identifier: GPL-2.0
/*
 * VexFS: in-core inodes and attribute transfer between struct inode and
 * struct vexfs_attr.
 *
 * Ownership of attributes: the core owns nlink and the block count (and,
 * for directories, size); the VFS side owns mode, uid, gid, size and times
 * and hands them to the core in write_inode.
 */

#include <linux/fs.h>
#include <linux/fileattr.h>
#include <linux/kdev_t.h>
#include <linux/pagemap.h>

#include "vexfs.h"

static struct timespec64 vexfs_ts(s64 sec, u32 nsec)
{
	struct timespec64 ts = { .tv_sec = sec, .tv_nsec = nsec };

	return ts;
}

/* The core's inode flags, and the VFS flags that make the VFS enforce them. */
static void vexfs_apply_flags(struct inode *inode, u32 flags)
{
	unsigned int f = 0;

	VEXFS_I(inode)->flags = flags & VEXFS_FL_KNOWN;
	if (flags & VEXFS_FL_IMMUTABLE)
		f |= S_IMMUTABLE;
	if (flags & VEXFS_FL_APPEND)
		f |= S_APPEND;
	if (flags & VEXFS_FL_NOATIME)
		f |= S_NOATIME;
	inode_set_flags(inode, f, S_IMMUTABLE | S_APPEND | S_NOATIME);
}

void vexfs_attr_to_inode(struct inode *inode, const struct vexfs_attr *attr)
{
	inode->i_mode = attr->mode;
	i_uid_write(inode, attr->uid);
	i_gid_write(inode, attr->gid);
	set_nlink(inode, attr->nlink);
	i_size_write(inode, attr->size);
	inode->i_blocks = attr->blocks;
	inode->i_atime = vexfs_ts(attr->atime_sec, attr->atime_nsec);
	inode->i_mtime = vexfs_ts(attr->mtime_sec, attr->mtime_nsec);
	inode->i_ctime = vexfs_ts(attr->ctime_sec, attr->ctime_nsec);
	inode->i_generation = attr->generation;
	VEXFS_I(inode)->crtime = vexfs_ts(attr->crtime_sec, attr->crtime_nsec);
	vexfs_apply_flags(inode, attr->flags);
}

void vexfs_inode_to_attr(struct inode *inode, struct vexfs_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	attr->ino = inode->i_ino;
	attr->mode = inode->i_mode;
	attr->uid = i_uid_read(inode);
	attr->gid = i_gid_read(inode);
	attr->nlink = inode->i_nlink;
	attr->size = i_size_read(inode);
	attr->blocks = inode->i_blocks;
	attr->atime_sec = inode->i_atime.tv_sec;
	attr->atime_nsec = inode->i_atime.tv_nsec;
	attr->mtime_sec = inode->i_mtime.tv_sec;
	attr->mtime_nsec = inode->i_mtime.tv_nsec;
	attr->ctime_sec = inode->i_ctime.tv_sec;
	attr->ctime_nsec = inode->i_ctime.tv_nsec;
	attr->generation = inode->i_generation;
	if (S_ISCHR(inode->i_mode) || S_ISBLK(inode->i_mode))
		attr->rdev = new_encode_dev(inode->i_rdev);
}

/*
 * Re-read what the core owns after it changed an in-core inode behind the
 * VFS (namespace operations): link count, block count and ctime; for
 * directories also size and mtime.  Mode, owner and the size of other files
 * may have in-core changes not written yet, so they are left alone.
 */
int vexfs_refresh_inode(struct inode *inode)
{
	struct vexfs_attr attr;
	int err;

	err = vexfs_rust_getattr(VEXFS_FS(inode->i_sb), inode->i_ino, &attr);
	if (err) {
		pr_err("vexfs (%s): getattr of inode %lu failed (%d)\n",
		       inode->i_sb->s_id, inode->i_ino, err);
		return err;
	}
	set_nlink(inode, attr.nlink);
	inode->i_blocks = attr.blocks;
	inode->i_ctime = vexfs_ts(attr.ctime_sec, attr.ctime_nsec);
	if (S_ISDIR(inode->i_mode)) {
		i_size_write(inode, attr.size);
		inode->i_mtime = vexfs_ts(attr.mtime_sec, attr.mtime_nsec);
	}
	/* a write_inode racing with the core's update must be redone */
	mark_inode_dirty(inode);
	return 0;
}

/* Operations and special-file setup according to the file type. */
static void vexfs_set_ops(struct inode *inode, u32 rdev)
{
	switch (inode->i_mode & S_IFMT) {
	case S_IFREG:
		inode->i_op = &vexfs_file_inode_operations;
		inode->i_fop = &vexfs_file_operations;
		inode->i_mapping->a_ops = &vexfs_aops;
		break;
	case S_IFDIR:
		inode->i_op = &vexfs_dir_inode_operations;
		inode->i_fop = &vexfs_dir_operations;
		break;
	case S_IFLNK:
		inode->i_op = &vexfs_symlink_inode_operations;
		inode_nohighmem(inode);
		inode->i_mapping->a_ops = &vexfs_aops;
		break;
	default:
		inode->i_op = &vexfs_special_inode_operations;
		init_special_inode(inode, inode->i_mode, new_decode_dev(rdev));
		break;
	}
}

static void vexfs_setup_new(struct inode *inode, const struct vexfs_attr *attr)
{
	VEXFS_I(inode)->pinned = true;
	vexfs_attr_to_inode(inode, attr);
	vexfs_set_ops(inode, attr->rdev);
}

/* In-core inode for @ino, loaded (and pinned) by the core if not cached. */
struct inode *vexfs_iget(struct super_block *sb, u64 ino)
{
	struct vexfs_attr attr;
	struct inode *inode;
	int err;

	inode = iget_locked(sb, ino);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	if (!(inode->i_state & I_NEW))
		return inode;

	err = vexfs_rust_iget(VEXFS_FS(sb), ino, &attr);
	if (err) {
		iget_failed(inode);
		return ERR_PTR(err);
	}
	vexfs_setup_new(inode, &attr);
	unlock_new_inode(inode);
	return inode;
}

/*
 * Give @inode, allocated with new_inode() before the core created the
 * inode (so that running out of memory cannot leave a name without an
 * in-core inode), the number and attributes the core chose.  Returns with
 * the inode locked (I_NEW): the caller finishes with d_instantiate_new()
 * or discard_new_inode().  On error @inode has been put.
 */
int vexfs_insert_new(struct inode *inode, const struct vexfs_attr *attr)
{
	struct super_block *sb = inode->i_sb;

	inode->i_ino = attr->ino;
	if (insert_inode_locked(inode) < 0) {
		/* a new inode number that is still in core: core bug */
		pr_err("vexfs (%s): new inode %llu is already in use\n",
		       sb->s_id, attr->ino);
		vexfs_rust_evict(VEXFS_FS(sb), attr->ino, 0);	/* its pin */
		iput(inode);
		return -EUCLEAN;
	}
	vexfs_setup_new(inode, attr);
	return 0;
}

int vexfs_getattr(struct user_namespace *mnt_userns, const struct path *path,
		  struct kstat *stat, u32 request_mask, unsigned int flags)
{
	struct inode *inode = d_inode(path->dentry);
	struct vexfs_inode_info *vi = VEXFS_I(inode);

	if (request_mask & STATX_BTIME) {
		stat->result_mask |= STATX_BTIME;
		stat->btime = vi->crtime;
	}
	if (vi->flags & VEXFS_FL_IMMUTABLE)
		stat->attributes |= STATX_ATTR_IMMUTABLE;
	if (vi->flags & VEXFS_FL_APPEND)
		stat->attributes |= STATX_ATTR_APPEND;
	if (vi->flags & VEXFS_FL_NODUMP)
		stat->attributes |= STATX_ATTR_NODUMP;
	stat->attributes_mask |= STATX_ATTR_IMMUTABLE | STATX_ATTR_APPEND |
				 STATX_ATTR_NODUMP;
	generic_fillattr(mnt_userns, inode, stat);
	return 0;
}

/* FS_IOC_GETFLAGS and FS_IOC_FSGETXATTR, through the VFS. */
int vexfs_fileattr_get(struct dentry *dentry, struct fileattr *fa)
{
	fileattr_fill_flags(fa, VEXFS_I(d_inode(dentry))->flags);
	return 0;
}

/*
 * FS_IOC_SETFLAGS (chattr).  The VFS holds the inode lock and has checked
 * ownership and CAP_LINUX_IMMUTABLE for immutable and append-only; the
 * core stores the flags (unknown ones are -EOPNOTSUPP).
 */
int vexfs_fileattr_set(struct user_namespace *mnt_userns,
		       struct dentry *dentry, struct fileattr *fa)
{
	struct inode *inode = d_inode(dentry);
	struct vexfs_attr attr;
	int err;

	if (fileattr_has_fsx(fa))
		return -EOPNOTSUPP;
	vexfs_txn_begin(inode->i_sb);
	err = vexfs_rust_set_flags(VEXFS_FS(inode->i_sb), inode->i_ino,
				   fa->flags, &attr);
	if (err)
		return err;
	vexfs_apply_flags(inode, attr.flags);
	inode->i_ctime = current_time(inode);
	mark_inode_dirty(inode);
	return 0;
}

/* Truncate (down or up) to @size: page cache first, then the core. */
static int vexfs_setsize(struct inode *inode, loff_t size)
{
	struct vexfs_fs *fs = VEXFS_FS(inode->i_sb);
	int err;

	if (!S_ISREG(inode->i_mode))
		return -EINVAL;
	inode_dio_wait(inode);
	vexfs_txn_begin(inode->i_sb);
	err = block_truncate_page(inode->i_mapping, size, vexfs_get_block);
	if (err)
		return err;
	truncate_setsize(inode, size);
	err = vexfs_rust_truncate(fs, inode->i_ino, size);
	if (err)
		return err;
	/* times come from the iattr (ATTR_MTIME | ATTR_CTIME) */
	return vexfs_refresh_inode(inode);
}

int vexfs_setattr(struct user_namespace *mnt_userns, struct dentry *dentry,
		  struct iattr *iattr)
{
	struct inode *inode = d_inode(dentry);
	int err;

	err = setattr_prepare(mnt_userns, dentry, iattr);
	if (err)
		return err;
	if ((iattr->ia_valid & ATTR_SIZE) && iattr->ia_size != i_size_read(inode)) {
		err = vexfs_setsize(inode, iattr->ia_size);
		if (err)
			return err;
	}
	setattr_copy(mnt_userns, inode, iattr);
	mark_inode_dirty(inode);
	return 0;
}

const struct inode_operations vexfs_special_inode_operations = {
	.getattr	= vexfs_getattr,
	.setattr	= vexfs_setattr,
};
