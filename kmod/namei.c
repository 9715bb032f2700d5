// SPDX-License-Identifier: GPL-2.0
/*
 * VexFS: directory inode operations (namespace).
 *
 * The core does the work; afterwards the in-core inodes it touched (the
 * directories, the victim, the moved inode) are refreshed from it, since it
 * owns link counts, block counts and directory sizes.
 */

#include <linux/fs.h>
#include <linux/cred.h>
#include <linux/pagemap.h>

#include "vexfs.h"

static struct dentry *vexfs_lookup(struct inode *dir, struct dentry *dentry,
				   unsigned int flags)
{
	struct inode *inode = NULL;
	u64 ino;
	int err;

	if (dentry->d_name.len > VEXFS_NAME_MAX)
		return ERR_PTR(-ENAMETOOLONG);
	err = vexfs_rust_lookup(VEXFS_FS(dir->i_sb), dir->i_ino,
				dentry->d_name.name, dentry->d_name.len, &ino);
	if (!err)
		inode = vexfs_iget(dir->i_sb, ino);
	else if (err != -ENOENT)
		inode = ERR_PTR(err);
	return d_splice_alias(inode, dentry);
}

/* Owner of a new inode, as inode_init_owner() would set it. */
static void vexfs_new_owner(struct inode *dir, umode_t *mode, u32 *uid,
			    u32 *gid)
{
	*uid = from_kuid(i_user_ns(dir), current_fsuid());
	if (dir->i_mode & S_ISGID) {
		*gid = i_gid_read(dir);
		if (S_ISDIR(*mode))
			*mode |= S_ISGID;
	} else {
		*gid = from_kgid(i_user_ns(dir), current_fsgid());
	}
}

/* Create any kind of inode; returns it I_NEW (not yet instantiated). */
static struct inode *vexfs_new(struct inode *dir, struct dentry *dentry,
			       umode_t mode, dev_t rdev)
{
	struct vexfs_attr attr;
	struct inode *inode;
	u32 uid, gid;
	int err;

	/* memory first: a failure after the core's create would leave a name */
	inode = new_inode(dir->i_sb);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	vexfs_new_owner(dir, &mode, &uid, &gid);
	vexfs_txn_begin(dir->i_sb);
	err = vexfs_rust_create(VEXFS_FS(dir->i_sb), dir->i_ino,
				dentry->d_name.name, dentry->d_name.len,
				mode, uid, gid, new_encode_dev(rdev), &attr);
	if (err) {
		iput(inode);	/* not pinned: the core never knew it */
		return ERR_PTR(err);
	}
	err = vexfs_insert_new(inode, &attr);
	vexfs_refresh_inode(dir);
	return err ? ERR_PTR(err) : inode;
}

static int vexfs_mknod(struct user_namespace *mnt_userns, struct inode *dir,
		       struct dentry *dentry, umode_t mode, dev_t rdev)
{
	struct inode *inode;

	inode = vexfs_new(dir, dentry, mode, rdev);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	d_instantiate_new(dentry, inode);
	return 0;
}

static int vexfs_create(struct user_namespace *mnt_userns, struct inode *dir,
			struct dentry *dentry, umode_t mode, bool excl)
{
	return vexfs_mknod(mnt_userns, dir, dentry, mode, 0);
}

static int vexfs_mkdir(struct user_namespace *mnt_userns, struct inode *dir,
		       struct dentry *dentry, umode_t mode)
{
	return vexfs_mknod(mnt_userns, dir, dentry, S_IFDIR | mode, 0);
}

static int vexfs_symlink(struct user_namespace *mnt_userns, struct inode *dir,
			 struct dentry *dentry, const char *symname)
{
	size_t len = strlen(symname) + 1;
	struct inode *inode;
	int err;

	if (len > dir->i_sb->s_blocksize)
		return -ENAMETOOLONG;
	inode = vexfs_new(dir, dentry, S_IFLNK | 0777, 0);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	err = page_symlink(inode, symname, len);
	if (err) {
		/* take the new name away again; evict frees the inode */
		vexfs_rust_unlink(VEXFS_FS(dir->i_sb), dir->i_ino,
				  dentry->d_name.name, dentry->d_name.len);
		vexfs_refresh_inode(dir);
		vexfs_refresh_inode(inode);
		discard_new_inode(inode);
		return err;
	}
	d_instantiate_new(dentry, inode);
	return 0;
}

static int vexfs_link(struct dentry *old_dentry, struct inode *dir,
		      struct dentry *dentry)
{
	struct inode *inode = d_inode(old_dentry);
	int err;

	vexfs_txn_begin(dir->i_sb);
	err = vexfs_rust_link(VEXFS_FS(dir->i_sb), dir->i_ino,
			      dentry->d_name.name, dentry->d_name.len,
			      inode->i_ino);
	if (err)
		return err;
	vexfs_refresh_inode(dir);
	vexfs_refresh_inode(inode);
	ihold(inode);
	d_instantiate(dentry, inode);
	return 0;
}

static int vexfs_unlink(struct inode *dir, struct dentry *dentry)
{
	int err;

	vexfs_txn_begin(dir->i_sb);
	err = vexfs_rust_unlink(VEXFS_FS(dir->i_sb), dir->i_ino,
				dentry->d_name.name, dentry->d_name.len);
	if (err)
		return err;
	vexfs_refresh_inode(dir);
	vexfs_refresh_inode(d_inode(dentry));
	return 0;
}

static int vexfs_rmdir(struct inode *dir, struct dentry *dentry)
{
	int err;

	vexfs_txn_begin(dir->i_sb);
	err = vexfs_rust_rmdir(VEXFS_FS(dir->i_sb), dir->i_ino,
			       dentry->d_name.name, dentry->d_name.len);
	if (err)
		return err;
	vexfs_refresh_inode(dir);
	vexfs_refresh_inode(d_inode(dentry));
	return 0;
}

static int vexfs_rename(struct user_namespace *mnt_userns,
			struct inode *old_dir, struct dentry *old_dentry,
			struct inode *new_dir, struct dentry *new_dentry,
			unsigned int flags)
{
	struct inode *target = d_inode(new_dentry);
	int err;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	vexfs_txn_begin(old_dir->i_sb);
	if (flags & RENAME_WHITEOUT) {
		umode_t mode = S_IFCHR;
		u32 uid, gid;

		vexfs_new_owner(old_dir, &mode, &uid, &gid);
		err = vexfs_rust_rename_whiteout(VEXFS_FS(old_dir->i_sb),
				old_dir->i_ino, old_dentry->d_name.name,
				old_dentry->d_name.len,
				new_dir->i_ino, new_dentry->d_name.name,
				new_dentry->d_name.len, flags, uid, gid);
	} else {
		err = vexfs_rust_rename(VEXFS_FS(old_dir->i_sb),
				old_dir->i_ino, old_dentry->d_name.name,
				old_dentry->d_name.len,
				new_dir->i_ino, new_dentry->d_name.name,
				new_dentry->d_name.len, flags);
	}
	if (err)
		return err;
	vexfs_refresh_inode(old_dir);
	if (new_dir != old_dir)
		vexfs_refresh_inode(new_dir);
	vexfs_refresh_inode(d_inode(old_dentry));
	if (target)
		vexfs_refresh_inode(target);
	return 0;
}

const struct inode_operations vexfs_dir_inode_operations = {
	.lookup		= vexfs_lookup,
	.create		= vexfs_create,
	.link		= vexfs_link,
	.unlink		= vexfs_unlink,
	.symlink	= vexfs_symlink,
	.mkdir		= vexfs_mkdir,
	.rmdir		= vexfs_rmdir,
	.mknod		= vexfs_mknod,
	.rename		= vexfs_rename,
	.getattr	= vexfs_getattr,
	.setattr	= vexfs_setattr,
	.fileattr_get	= vexfs_fileattr_get,
	.fileattr_set	= vexfs_fileattr_set,
};

const struct inode_operations vexfs_symlink_inode_operations = {
	.get_link	= page_get_link,
	.getattr	= vexfs_getattr,
	.setattr	= vexfs_setattr,
};
