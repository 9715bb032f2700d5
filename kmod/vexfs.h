/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VexFS kernel shim: declarations shared by the C files of the module.
 *
 * The shim is thin on purpose: it translates between the VFS and the Rust
 * core (vexfs_rust_* in vexfs_core.h) and implements the services the core
 * needs (vexfs_shim_* in vexfs_shim.h).  No filesystem logic lives here.
 */
#ifndef VEXFS_KMOD_H
#define VEXFS_KMOD_H

#include <linux/fs.h>
#include <linux/mutex.h>
#include <linux/shrinker.h>
#include <linux/rwsem.h>
#include <linux/workqueue.h>
#include <linux/buffer_head.h>

#include "vexfs_core.h"

/* Per-mount state of the shim (sb->s_fs_info). */
struct vexfs_sb_info {
	struct vexfs_fs *fs;		/* the core's handle */
	struct mutex lock;		/* vexfs_shim_lock(): core metadata lock */
	unsigned int nofs_flags;	/* memalloc_nofs_save() of the lock holder */
	u64 dev_blocks;			/* device size in VEXFS_BLOCK_SIZE blocks */
	bool core_ro;			/* the core forced a read-only mount */
	struct super_block *sb;		/* back pointer for the commit worker */
	struct rw_semaphore txn_sem;	/* write_begin..write_end (read) vs. commit */
	struct mutex commit_lock;	/* one commit at a time */
	struct delayed_work commit_work; /* periodic and on-demand commits */
	bool stopping;			/* unmounting: no new commit work */
	struct shrinker vec_shrinker;	/* frees the core's vector slot cache */
	bool vec_shrinker_on;		/* vec_shrinker is registered */
};

/* In-core inode. */
struct vexfs_inode_info {
	bool pinned;			/* the core pinned this inode: evict unpins */
	u32 flags;			/* VEXFS_FL_* (FS_IOC_GETFLAGS), the core's */
	struct timespec64 crtime;	/* birth time (statx btime) */
	struct inode vfs_inode;
};

static inline struct vexfs_sb_info *VEXFS_SB(struct super_block *sb)
{
	return sb->s_fs_info;
}

static inline struct vexfs_fs *VEXFS_FS(struct super_block *sb)
{
	return VEXFS_SB(sb)->fs;
}

static inline struct vexfs_inode_info *VEXFS_I(struct inode *inode)
{
	return container_of(inode, struct vexfs_inode_info, vfs_inode);
}

/* The core sees the super_block as its opaque struct vexfs_shim_sb. */
static inline struct vexfs_shim_sb *vexfs_shim_sb(struct super_block *sb)
{
	return (struct vexfs_shim_sb *)sb;
}

static inline struct super_block *vexfs_sb_of(struct vexfs_shim_sb *ssb)
{
	return (struct super_block *)ssb;
}

/* inode.c */
struct inode *vexfs_iget(struct super_block *sb, u64 ino);
int vexfs_insert_new(struct inode *inode, const struct vexfs_attr *attr);
void vexfs_attr_to_inode(struct inode *inode, const struct vexfs_attr *attr);
void vexfs_inode_to_attr(struct inode *inode, struct vexfs_attr *attr);
int vexfs_refresh_inode(struct inode *inode);
int vexfs_getattr(struct user_namespace *mnt_userns, const struct path *path,
		  struct kstat *stat, u32 request_mask, unsigned int flags);
int vexfs_setattr(struct user_namespace *mnt_userns, struct dentry *dentry,
		  struct iattr *iattr);
int vexfs_fileattr_get(struct dentry *dentry, struct fileattr *fa);
int vexfs_fileattr_set(struct user_namespace *mnt_userns,
		       struct dentry *dentry, struct fileattr *fa);
extern const struct inode_operations vexfs_special_inode_operations;

/* dir.c */
extern const struct file_operations vexfs_dir_operations;

/* namei.c */
extern const struct inode_operations vexfs_dir_inode_operations;
extern const struct inode_operations vexfs_symlink_inode_operations;

/* file.c */
extern const struct address_space_operations vexfs_aops;
extern const struct file_operations vexfs_file_operations;
extern const struct inode_operations vexfs_file_inode_operations;
int vexfs_get_block(struct inode *inode, sector_t iblock,
		    struct buffer_head *bh, int create);
int vexfs_fsync(struct file *file, loff_t start, loff_t end, int datasync);

/* ioctl.c */
long vexfs_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/* simd.c */
void vexfs_simd_init(void);

/* commit.c */
int vexfs_commit(struct super_block *sb, u32 flags);
void vexfs_txn_begin(struct super_block *sb);
void vexfs_commit_start(struct super_block *sb);
void vexfs_commit_stop(struct super_block *sb);

#endif /* VEXFS_KMOD_H */
