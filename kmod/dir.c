// SPDX-License-Identifier: GPL-2.0
/*
 * VexFS: directory file operations.
 *
 * Directory positions: 0 and 1 are "." and ".."; position p >= 2 is the
 * core's opaque cookie p - 2 (cookies start at 0).
 */

#include <linux/fs.h>

#include "vexfs.h"

#define VEXFS_DIR_POS_BASE 2

static int vexfs_readdir(struct file *file, struct dir_context *ctx)
{
	struct inode *dir = file_inode(file);
	struct vexfs_fs *fs = VEXFS_FS(dir->i_sb);
	struct vexfs_dirent de;
	int ret;

	if (!dir_emit_dots(file, ctx))
		return 0;
	for (;;) {
		ret = vexfs_rust_readdir(fs, dir->i_ino,
					 ctx->pos - VEXFS_DIR_POS_BASE, &de);
		if (ret <= 0)
			return ret;
		if (WARN_ON_ONCE(de.name_len > VEXFS_NAME_MAX))
			return -EUCLEAN;
		if (!dir_emit(ctx, (const char *)de.name, de.name_len, de.ino,
			      de.file_type))
			return 0;
		ctx->pos = de.next_pos + VEXFS_DIR_POS_BASE;
	}
}

const struct file_operations vexfs_dir_operations = {
	.llseek		= generic_file_llseek,
	.read		= generic_read_dir,
	.iterate_shared	= vexfs_readdir,
	.fsync		= vexfs_fsync,
	.unlocked_ioctl	= vexfs_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};
