// SPDX-License-Identifier: GPL-2.0
/*
 * VexFS: regular file data over buffer heads.
 *
 * The page cache and the generic buffer-head helpers do all the data work;
 * the core only maps file blocks to device blocks (vexfs_get_block).
 */

#include <linux/fs.h>
#include <linux/mpage.h>
#include <linux/pagemap.h>
#include <linux/writeback.h>
#include <linux/uio.h>

#include "vexfs.h"

/*
 * get_block_t callback.  @bh->b_size says how many bytes the caller could
 * use; the core may map several contiguous blocks at once.  A mapping comes
 * back either entirely new (map.new_blocks set: freshly allocated, the page
 * cache zeroes what is not written) or entirely old.
 */
int vexfs_get_block(struct inode *inode, sector_t iblock,
		    struct buffer_head *bh, int create)
{
	unsigned int bits = inode->i_blkbits;
	u32 max_blocks = max_t(size_t, bh->b_size >> bits, 1);
	struct vexfs_map map = {};
	int err;

	err = vexfs_rust_get_block(VEXFS_FS(inode->i_sb), inode->i_ino, iblock,
				   max_blocks, create ? 1 : 0, &map);
	if (err)
		return err;
	if (create && map.new_blocks)
		inode->i_blocks = map.blocks;
	if (!map.len)
		return 0;	/* hole */
	if (WARN_ON_ONCE(map.len > max_blocks))
		return -EIO;
	map_bh(bh, inode->i_sb, map.pblock);
	bh->b_size = (size_t)map.len << bits;
	if (map.new_blocks)
		set_buffer_new(bh);
	return 0;
}

static int vexfs_read_folio(struct file *file, struct folio *folio)
{
	return mpage_read_folio(folio, vexfs_get_block);
}

static void vexfs_readahead(struct readahead_control *rac)
{
	mpage_readahead(rac, vexfs_get_block);
}

static int vexfs_writepage(struct page *page, struct writeback_control *wbc)
{
	return block_write_full_page(page, vexfs_get_block, wbc);
}

static int vexfs_writepages(struct address_space *mapping,
			    struct writeback_control *wbc)
{
	return mpage_writepages(mapping, wbc, vexfs_get_block);
}

/* A failed write may have allocated blocks past EOF: give them back. */
static void vexfs_write_failed(struct address_space *mapping, loff_t to)
{
	struct inode *inode = mapping->host;
	loff_t size = i_size_read(inode);

	if (to <= size)
		return;
	truncate_pagecache(inode, size);
	if (!vexfs_rust_truncate(VEXFS_FS(inode->i_sb), inode->i_ino, size))
		vexfs_refresh_inode(inode);
}

/*
 * From write_begin to write_end the page holds blocks the running
 * transaction may have just allocated but is not dirty yet: a commit waits
 * (txn_sem) until it is, so that its ordered writeback sees it.
 */
static int vexfs_write_begin(struct file *file, struct address_space *mapping,
			     loff_t pos, unsigned int len, struct page **pagep,
			     void **fsdata)
{
	struct super_block *sb = mapping->host->i_sb;
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	int err;

	vexfs_txn_begin(sb);
	down_read(&sbi->txn_sem);
	err = block_write_begin(mapping, pos, len, pagep, vexfs_get_block);
	if (err) {
		vexfs_write_failed(mapping, pos + len);
		up_read(&sbi->txn_sem);
	}
	return err;
}

static int vexfs_write_end(struct file *file, struct address_space *mapping,
			   loff_t pos, unsigned int len, unsigned int copied,
			   struct page *page, void *fsdata)
{
	int ret;

	ret = generic_write_end(file, mapping, pos, len, copied, page, fsdata);
	if (ret < len)
		vexfs_write_failed(mapping, pos + len);
	up_read(&VEXFS_SB(mapping->host->i_sb)->txn_sem);
	return ret;
}

static sector_t vexfs_bmap(struct address_space *mapping, sector_t block)
{
	return generic_block_bmap(mapping, block, vexfs_get_block);
}

const struct address_space_operations vexfs_aops = {
	.dirty_folio		= block_dirty_folio,
	.invalidate_folio	= block_invalidate_folio,
	.read_folio		= vexfs_read_folio,
	.readahead		= vexfs_readahead,
	.writepage		= vexfs_writepage,
	.writepages		= vexfs_writepages,
	.write_begin		= vexfs_write_begin,
	.write_end		= vexfs_write_end,
	.bmap			= vexfs_bmap,
	.migrate_folio		= buffer_migrate_folio,
	.is_partially_uptodate	= block_is_partially_uptodate,
	.error_remove_page	= generic_error_remove_page,
};

/*
 * Data through the page cache, the inode through write_inode into the
 * running transaction, then commit it (or, with nothing to commit, flush
 * the device cache so the data is durable).
 */
int vexfs_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	struct inode *inode = file->f_mapping->host;
	struct super_block *sb = inode->i_sb;
	int err;

	err = file_write_and_wait_range(file, start, end);
	if (err)
		return err;
	if (sb_rdonly(sb))
		return 0;
	err = sync_inode_metadata(inode, 1);
	if (err)
		return err;
	return vexfs_commit(sb, VEXFS_COMMIT_FLUSH);
}

const struct file_operations vexfs_file_operations = {
	.llseek		= generic_file_llseek,
	.read_iter	= generic_file_read_iter,
	.write_iter	= generic_file_write_iter,
	.mmap		= generic_file_mmap,
	.open		= generic_file_open,
	.fsync		= vexfs_fsync,
	.unlocked_ioctl	= vexfs_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.splice_read	= generic_file_splice_read,
	.splice_write	= iter_file_splice_write,
};

const struct inode_operations vexfs_file_inode_operations = {
	.getattr	= vexfs_getattr,
	.setattr	= vexfs_setattr,
};
