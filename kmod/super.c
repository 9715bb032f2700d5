// SPDX-License-Identifier: GPL-2.0
/*
 * VexFS: module init/exit, mount, super_operations.
 */

#include <linux/module.h>
#include <linux/blkdev.h>
#include <linux/fs_context.h>
#include <linux/slab.h>
#include <linux/statfs.h>
#include <linux/writeback.h>

#include "vexfs.h"

static struct kmem_cache *vexfs_inode_cachep;

static struct inode *vexfs_alloc_inode(struct super_block *sb)
{
	struct vexfs_inode_info *vi;

	vi = alloc_inode_sb(sb, vexfs_inode_cachep, GFP_KERNEL);
	if (!vi)
		return NULL;
	vi->pinned = false;
	return &vi->vfs_inode;
}

static void vexfs_free_inode(struct inode *inode)
{
	kmem_cache_free(vexfs_inode_cachep, VEXFS_I(inode));
}

static int vexfs_write_inode(struct inode *inode, struct writeback_control *wbc)
{
	struct vexfs_attr attr;

	if (!VEXFS_I(inode)->pinned)
		return 0;
	vexfs_inode_to_attr(inode, &attr);
	return vexfs_rust_write_inode(VEXFS_FS(inode->i_sb), &attr);
}

static void vexfs_evict_inode(struct inode *inode)
{
	struct vexfs_inode_info *vi = VEXFS_I(inode);
	u32 delete = inode->i_nlink == 0 && !is_bad_inode(inode);
	int err;

	truncate_inode_pages_final(&inode->i_data);
	invalidate_inode_buffers(inode);
	clear_inode(inode);
	if (!vi->pinned)
		return;
	vi->pinned = false;
	err = vexfs_rust_evict(VEXFS_FS(inode->i_sb), inode->i_ino, delete);
	if (err)
		pr_err("vexfs (%s): evict of inode %lu failed (%d)\n",
		       inode->i_sb->s_id, inode->i_ino, err);
}

/* Budget of each mount's cache of decoded vector slot blocks. */
static unsigned int vec_cache_mb = 32;
module_param(vec_cache_mb, uint, 0644);
MODULE_PARM_DESC(vec_cache_mb,
		 "MiB of decoded vector slot blocks each mount keeps (default 32; read at mount)");

/*
 * The core's slot cache under memory pressure.  Both callbacks only try
 * the mount's lock: reclaim can run inside an allocation the core makes
 * while holding it (and the core never waits for reclaim), so a held lock
 * means SHRINK_STOP, never a wait.
 */
static unsigned long vexfs_vec_count(struct shrinker *s,
				     struct shrink_control *sc)
{
	struct vexfs_sb_info *sbi = container_of(s, struct vexfs_sb_info,
						 vec_shrinker);

	return vexfs_rust_vec_cache_count(sbi->fs);
}

static unsigned long vexfs_vec_scan(struct shrinker *s,
				    struct shrink_control *sc)
{
	struct vexfs_sb_info *sbi = container_of(s, struct vexfs_sb_info,
						 vec_shrinker);
	s64 freed = vexfs_rust_vec_cache_shrink(sbi->fs, sc->nr_to_scan);

	if (freed < 0)
		return SHRINK_STOP;
	return freed;
}

static void vexfs_vec_shrinker_start(struct super_block *sb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	int err;

	err = vexfs_rust_vec_cache_budget(sbi->fs, (u64)vec_cache_mb << 20);
	if (err == -EOPNOTSUPP)
		return;		/* no vector space */
	sbi->vec_shrinker.count_objects = vexfs_vec_count;
	sbi->vec_shrinker.scan_objects = vexfs_vec_scan;
	sbi->vec_shrinker.seeks = DEFAULT_SEEKS;
	err = register_shrinker(&sbi->vec_shrinker, "vexfs-vec:%s", sb->s_id);
	if (err)
		pr_warn("vexfs (%s): no shrinker for the vector cache (%d)\n",
			sb->s_id, err);
	else
		sbi->vec_shrinker_on = true;
}

static void vexfs_put_super(struct super_block *sb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	int err;

	/* before the core is freed: no scan may reach it afterwards */
	if (sbi->vec_shrinker_on) {
		unregister_shrinker(&sbi->vec_shrinker);
		sbi->vec_shrinker_on = false;
	}
	err = vexfs_rust_unmount(sbi->fs);
	if (err)
		pr_err("vexfs (%s): unmount failed (%d)\n", sb->s_id, err);
	sb->s_fs_info = NULL;
	kfree(sbi);
}

/* syncfs, sync, umount: data is written by now; commit with the index. */
static int vexfs_sync_fs(struct super_block *sb, int wait)
{
	if (!wait)
		return 0;
	return vexfs_commit(sb, VEXFS_COMMIT_FLUSH | VEXFS_COMMIT_INDEX);
}

static int vexfs_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct super_block *sb = dentry->d_sb;
	struct vexfs_statfs st;
	int err;

	err = vexfs_rust_statfs(VEXFS_FS(sb), &st);
	if (err)
		return err;
	buf->f_type = sb->s_magic;
	buf->f_bsize = st.bsize;
	buf->f_blocks = st.blocks;
	buf->f_bfree = st.bfree;
	buf->f_bavail = st.bavail;
	buf->f_files = st.files;
	buf->f_ffree = st.ffree;
	buf->f_namelen = st.namelen;
	buf->f_fsid = u64_to_fsid(st.fsid);
	return 0;
}

static const struct super_operations vexfs_super_ops = {
	.alloc_inode	= vexfs_alloc_inode,
	.free_inode	= vexfs_free_inode,
	.write_inode	= vexfs_write_inode,
	.evict_inode	= vexfs_evict_inode,
	.put_super	= vexfs_put_super,
	.sync_fs	= vexfs_sync_fs,
	.statfs		= vexfs_statfs,
};

static const char *vexfs_mount_strerror(int err)
{
	switch (err) {
	case -EINVAL:
		return "not a vexfs filesystem";
	case -EUCLEAN:
		return "filesystem is corrupt";
	case -EIO:
		return "I/O error";
	case -ENOMEM:
		return "out of memory";
	case -EROFS:
		return "cannot be mounted read-write";
	default:
		return "error";
	}
}

/* Apply what the core reported about the mounted filesystem. */
static int vexfs_setup_sb(struct super_block *sb,
			  const struct vexfs_mount_info *info)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);

	if (info->block_size != VEXFS_BLOCK_SIZE) {
		pr_err("vexfs (%s): unsupported block size %u\n",
		       sb->s_id, info->block_size);
		return -EINVAL;
	}
	if (info->read_only && !sb_rdonly(sb)) {
		pr_warn("vexfs (%s): mounted read-only as the filesystem requires\n",
			sb->s_id);
		sb->s_flags |= SB_RDONLY;
	}
	sbi->core_ro = info->read_only;
	sb->s_magic = info->magic;
	sb->s_maxbytes = min_t(u64, info->max_file_size, MAX_LFS_FILESIZE);
	sb->s_time_gran = 1;
	sb->s_op = &vexfs_super_ops;
	memcpy(&sb->s_uuid, info->uuid, sizeof(sb->s_uuid));
	return 0;
}

static int vexfs_make_root(struct super_block *sb, u64 root_ino)
{
	struct inode *root;

	root = vexfs_iget(sb, root_ino);
	if (IS_ERR(root))
		return PTR_ERR(root);
	if (!S_ISDIR(root->i_mode)) {
		iput(root);
		return -EUCLEAN;
	}
	sb->s_root = d_make_root(root);
	if (!sb->s_root)
		return -ENOMEM;
	return 0;
}

static int vexfs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct vexfs_mount_info info = {};
	struct vexfs_sb_info *sbi;
	u32 flags = sb_rdonly(sb) ? VEXFS_MOUNT_RDONLY : 0;
	int err;

	sbi = kzalloc(sizeof(*sbi), GFP_KERNEL);
	if (!sbi)
		return -ENOMEM;
	mutex_init(&sbi->lock);
	mutex_init(&sbi->commit_lock);
	init_rwsem(&sbi->txn_sem);
	sb->s_fs_info = sbi;

	err = -EINVAL;
	if (!sb_set_blocksize(sb, VEXFS_BLOCK_SIZE)) {
		pr_err("vexfs (%s): device does not support %d-byte blocks\n",
		       sb->s_id, VEXFS_BLOCK_SIZE);
		goto out_free;
	}
	sbi->dev_blocks = bdev_nr_bytes(sb->s_bdev) >> sb->s_blocksize_bits;

	err = vexfs_rust_mount(vexfs_shim_sb(sb), sbi->dev_blocks, flags,
			       &info, &sbi->fs);
	if (err)
		goto out_msg;
	err = vexfs_setup_sb(sb, &info);
	if (!err)
		err = vexfs_make_root(sb, info.root_ino);
	if (err) {
		/* the root inode, if any, is already evicted: sb is not active */
		vexfs_rust_unmount(sbi->fs);
		goto out_msg;
	}
	vexfs_vec_shrinker_start(sb);
	vexfs_commit_start(sb);
	return 0;

out_msg:
	pr_err("vexfs (%s): mount failed: %s (%d)\n",
	       sb->s_id, vexfs_mount_strerror(err), err);
out_free:
	sb->s_fs_info = NULL;
	kfree(sbi);
	return err;
}

static int vexfs_get_tree(struct fs_context *fc)
{
	return get_tree_bdev(fc, vexfs_fill_super);
}

/*
 * Remount: rw -> ro after a full sync; ro -> rw unless the core refuses it
 * (errors seen, or unsupported ro_compat features).
 */
static int vexfs_reconfigure(struct fs_context *fc)
{
	struct super_block *sb = fc->root->d_sb;
	bool want_ro = fc->sb_flags & SB_RDONLY;
	int err;

	sync_filesystem(sb);
	if (want_ro == sb_rdonly(sb))
		return 0;
	err = vexfs_rust_remount(VEXFS_FS(sb), want_ro ? VEXFS_MOUNT_RDONLY : 0);
	if (err)
		pr_err("vexfs (%s): remount %s refused (%d)\n", sb->s_id,
		       want_ro ? "read-only" : "read-write", err);
	return err;
}

static const struct fs_context_operations vexfs_context_ops = {
	.get_tree	= vexfs_get_tree,
	.reconfigure	= vexfs_reconfigure,
};

static int vexfs_init_fs_context(struct fs_context *fc)
{
	fc->ops = &vexfs_context_ops;
	return 0;
}

/* The commit worker stops before the VFS's final sync and put_super. */
static void vexfs_kill_sb(struct super_block *sb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);

	if (sbi && sbi->sb)
		vexfs_commit_stop(sb);
	kill_block_super(sb);
}

static struct file_system_type vexfs_fs_type = {
	.owner			= THIS_MODULE,
	.name			= "vexfs",
	.init_fs_context	= vexfs_init_fs_context,
	.kill_sb		= vexfs_kill_sb,
	.fs_flags		= FS_REQUIRES_DEV,
};
MODULE_ALIAS_FS("vexfs");

static void vexfs_inode_init_once(void *obj)
{
	struct vexfs_inode_info *vi = obj;

	inode_init_once(&vi->vfs_inode);
}

static int __init vexfs_init(void)
{
	int err;

	vexfs_inode_cachep = kmem_cache_create("vexfs_inode_cache",
					       sizeof(struct vexfs_inode_info), 0,
					       SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT,
					       vexfs_inode_init_once);
	if (!vexfs_inode_cachep)
		return -ENOMEM;
	vexfs_simd_init();
	err = register_filesystem(&vexfs_fs_type);
	if (err)
		kmem_cache_destroy(vexfs_inode_cachep);
	return err;
}

static void __exit vexfs_exit(void)
{
	unregister_filesystem(&vexfs_fs_type);
	rcu_barrier();	/* free_inode runs after an RCU grace period */
	kmem_cache_destroy(vexfs_inode_cachep);
}

module_init(vexfs_init);
module_exit(vexfs_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VexFS vector-aware filesystem");
MODULE_AUTHOR("VexFS developers");
