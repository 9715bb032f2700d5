// SPDX-License-Identifier: GPL-2.0
/*
 * VexFS: directory file operations.
 *
 * Directory positions: 0 and 1 are "." and ".."; position p >= 2 is the
 * core's cookie p - 2 (hash cookies below 2^62, stable while entries come
 * and go). The core hands out many entries per call; entries sharing one
 * cookie (a hash collision) are resumed inside with the name of the last
 * one emitted, kept per open file.
 */

#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "vexfs.h"

#define VEXFS_DIR_POS_BASE 2
/* Largest position: the core's cookies stay below 2^62. */
#define VEXFS_DIR_POS_MAX ((loff_t)(1ULL << 62) + VEXFS_DIR_POS_BASE)
#define VEXFS_READDIR_BUF 4096

/* file->private_data of an open directory. */
struct vexfs_dir_file {
	/* Position the name below belongs to (name_len 0: none). */
	loff_t pos;
	u32 name_len;
	u8 name[VEXFS_NAME_MAX];
	u8 buf[VEXFS_READDIR_BUF] __aligned(8);
};

static int vexfs_dir_open(struct inode *inode, struct file *file)
{
	file->private_data = kzalloc(sizeof(struct vexfs_dir_file), GFP_KERNEL);
	return file->private_data ? 0 : -ENOMEM;
}

static int vexfs_dir_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static loff_t vexfs_dir_llseek(struct file *file, loff_t offset, int whence)
{
	return generic_file_llseek_size(file, offset, whence, VEXFS_DIR_POS_MAX,
					VEXFS_DIR_POS_MAX);
}

static int vexfs_readdir(struct file *file, struct dir_context *ctx)
{
	struct inode *dir = file_inode(file);
	struct vexfs_fs *fs = VEXFS_FS(dir->i_sb);
	struct vexfs_dir_file *df = file->private_data;
	const struct vexfs_dirent_rec *r;
	const u8 *after;
	u32 count, after_len, i;
	size_t off;
	int ret;

	if (!df)
		return -ENOMEM;
	if (!dir_emit_dots(file, ctx))
		return 0;
	for (;;) {
		after = NULL;
		after_len = 0;
		if (df->name_len && df->pos == ctx->pos) {
			after = df->name;
			after_len = df->name_len;
		}
		ret = vexfs_rust_readdir_batch(fs, dir->i_ino,
					       ctx->pos - VEXFS_DIR_POS_BASE,
					       after, after_len, df->buf,
					       sizeof(df->buf), &count);
		if (ret < 0)
			return ret;
		off = 0;
		for (i = 0; i < count; i++) {
			r = (const struct vexfs_dirent_rec *)(df->buf + off);
			if (WARN_ON_ONCE(off + sizeof(*r) > sizeof(df->buf) ||
					 r->rec_len < sizeof(*r) + r->name_len ||
					 off + r->rec_len > sizeof(df->buf)))
				return -EUCLEAN;
			if (!dir_emit(ctx, (const char *)(r + 1), r->name_len,
				      r->ino, r->file_type))
				return 0;
			ctx->pos = r->next_pos + VEXFS_DIR_POS_BASE;
			df->name_len = 0;
			if (r->mid_run) {
				df->pos = ctx->pos;
				df->name_len = r->name_len;
				memcpy(df->name, r + 1, r->name_len);
			}
			off += r->rec_len;
		}
		if (ret == 1)
			return 0;
		if (WARN_ON_ONCE(!count))
			return -EIO;
	}
}

const struct file_operations vexfs_dir_operations = {
	.open		= vexfs_dir_open,
	.release	= vexfs_dir_release,
	.llseek		= vexfs_dir_llseek,
	.read		= generic_read_dir,
	.iterate_shared	= vexfs_readdir,
	.fsync		= vexfs_fsync,
	.unlocked_ioctl	= vexfs_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};
