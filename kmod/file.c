// SPDX-License-Identifier: GPL-2.0
/*
 * VexFS: regular file data over buffer heads.
 *
 * The page cache and the generic buffer-head helpers do all the data work;
 * the core only maps file blocks to device blocks (vexfs_get_block).
 */

#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
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

/*
 * O_DIRECT maps only blocks that are allocated and written: a direct write
 * that reaches a hole or an unwritten extent ends there (-ENOTBLK inside
 * the generic code) and the rest is written through the page cache, then
 * written back and invalidated by generic_file_write_iter, as ext4 did
 * before iomap.  So a direct write never allocates: no block becomes
 * reachable before its data is on disk.  Reads of holes and unwritten
 * blocks give zeros.
 */
static int vexfs_get_block_dio(struct inode *inode, sector_t iblock,
			       struct buffer_head *bh, int create)
{
	return vexfs_get_block(inode, iblock, bh, 0);
}

static ssize_t vexfs_direct_IO(struct kiocb *iocb, struct iov_iter *iter)
{
	struct inode *inode = file_inode(iocb->ki_filp);

	return blockdev_direct_IO(iocb, inode, iter, vexfs_get_block_dio);
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
	.direct_IO		= vexfs_direct_IO,
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

/*
 * Zero @from..@to (inside one block, below EOF) through the page cache
 * when the block holds written data; holes and unwritten blocks read as
 * zeros already.
 */
static int vexfs_zero_partial(struct inode *inode, loff_t from, loff_t to)
{
	struct address_space *mapping = inode->i_mapping;
	struct vexfs_map map = {};
	struct page *page;
	void *fsdata;
	unsigned int len;
	int err;

	to = min_t(loff_t, to, i_size_read(inode));
	if (from >= to)
		return 0;
	err = vexfs_rust_get_block(VEXFS_FS(inode->i_sb), inode->i_ino,
				   from >> inode->i_blkbits, 1, 0, &map);
	if (err || !map.len)
		return err;
	len = to - from;
	err = vexfs_write_begin(NULL, mapping, from, len, &page, &fsdata);
	if (err)
		return err;
	zero_user(page, offset_in_page(from), len);
	err = vexfs_write_end(NULL, mapping, from, len, len, page, fsdata);
	return err < 0 ? err : 0;
}

/* The partial blocks at the edges of @start..@end. */
static int vexfs_zero_edges(struct inode *inode, loff_t start, loff_t end)
{
	loff_t bs = i_blocksize(inode);
	loff_t head_end = min(end, round_down(start, bs) + bs);
	int err = 0;

	if (start & (bs - 1) || head_end - start < bs)
		err = vexfs_zero_partial(inode, start, head_end);
	if (!err && end & (bs - 1) && round_down(end, bs) >= head_end)
		err = vexfs_zero_partial(inode, round_down(end, bs), end);
	return err;
}

/*
 * fallocate: preallocate (unwritten extents: no data is written), punch a
 * hole, zero a range.  The page cache drops the range first (and zeroes
 * the partial blocks at its edges); the core then changes the extents in
 * steps, each one operation, with a commit between them when due.
 */
static long vexfs_fallocate(struct file *file, int mode, loff_t offset,
			    loff_t len)
{
	struct inode *inode = file_inode(file);
	struct super_block *sb = inode->i_sb;
	struct address_space *mapping = inode->i_mapping;
	loff_t end = offset + len;
	struct vexfs_falloc out = {};
	u64 pos = offset;
	int err;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
		     FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if (!S_ISREG(inode->i_mode))
		return -EOPNOTSUPP;
	inode_lock(inode);
	inode_dio_wait(inode);
	err = file_modified(file);
	if (err)
		goto out_unlock;
	filemap_invalidate_lock(mapping);
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		err = vexfs_zero_edges(inode, offset, end);
		if (err)
			goto out_invalidate;
		truncate_pagecache_range(inode, offset, end - 1);
	}
	do {
		vexfs_txn_begin(sb);
		err = vexfs_rust_fallocate(VEXFS_FS(sb), inode->i_ino, mode,
					   offset, len, pos, i_size_read(inode),
					   &out);
		if (err)
			break;
		inode->i_blocks = out.blocks;
		pos = out.done;
		cond_resched();
	} while (pos < end);
	if (!err) {
		inode->i_ctime = current_time(inode);
		if (out.size > i_size_read(inode)) {
			i_size_write(inode, out.size);
			inode->i_mtime = inode->i_ctime;
		}
		if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
			inode->i_mtime = inode->i_ctime;
		mark_inode_dirty(inode);
		if (file->f_flags & O_SYNC || IS_SYNC(inode))
			err = vexfs_commit(sb, VEXFS_COMMIT_FLUSH);
	}
out_invalidate:
	filemap_invalidate_unlock(mapping);
out_unlock:
	inode_unlock(inode);
	return err;
}

/*
 * SEEK_DATA / SEEK_HOLE from the extent map: written extents are data,
 * holes and unwritten extents holes.  Buffered writes map their blocks at
 * write time, so dirty pages are data too (as ext4 reports them); only a
 * page dirtied through mmap over a hole is mapped at writeback.
 */
static loff_t vexfs_llseek(struct file *file, loff_t offset, int whence)
{
	struct inode *inode = file->f_mapping->host;
	u64 res;
	int err;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return generic_file_llseek(file, offset, whence);
	inode_lock_shared(inode);
	if (offset < 0 || offset >= i_size_read(inode))
		err = -ENXIO;
	else
		err = vexfs_rust_seek(VEXFS_FS(inode->i_sb), inode->i_ino,
				      offset, whence, i_size_read(inode), &res);
	inode_unlock_shared(inode);
	if (err)
		return err;
	return vfs_setpos(file, res, inode->i_sb->s_maxbytes);
}

#define VEXFS_FIEMAP_STEP	8

/* Report @e clipped to blocks @first..@last, as ext4's report mapping does. */
static int vexfs_fiemap_fill(struct fiemap_extent_info *fi,
			     const struct vexfs_extent *e, u64 first, u64 last,
			     unsigned int bits, u32 flags)
{
	u64 lo = max(e->logical, first);
	u64 hi = min(e->logical + e->len - 1, last);

	if (e->flags & VEXFS_EXTENT_UNWRITTEN)
		flags |= FIEMAP_EXTENT_UNWRITTEN;
	return fiemap_fill_next_extent(fi, lo << bits,
				       (e->pblock + (lo - e->logical)) << bits,
				       (hi - lo + 1) << bits, flags);
}

/*
 * FIEMAP in batches from the core.  As iomap_fiemap (ext4), the last
 * extent reported for the range is flagged FIEMAP_EXTENT_LAST.
 */
static int vexfs_fiemap(struct inode *inode, struct fiemap_extent_info *fi,
			u64 start, u64 len)
{
	struct vexfs_extent ext[VEXFS_FIEMAP_STEP];
	unsigned int bits = inode->i_blkbits;
	struct vexfs_extent prev = {};
	bool have = false;
	u64 first, from, last;
	u32 n, i;
	int err;

	err = fiemap_prep(inode, fi, start, &len, FIEMAP_FLAG_SYNC);
	if (err)
		return err;
	if (!len)
		return 0;
	first = from = start >> bits;
	last = (start + len - 1) >> bits;
	for (;;) {
		err = vexfs_rust_fiemap(VEXFS_FS(inode->i_sb), inode->i_ino,
					from, ext, ARRAY_SIZE(ext), &n);
		if (err)
			return err;
		for (i = 0; i < n; i++) {
			if (ext[i].logical > last)
				goto done;
			if (have) {
				err = vexfs_fiemap_fill(fi, &prev, first, last,
							bits, 0);
				if (err)
					return err < 0 ? err : 0;
			}
			prev = ext[i];
			have = true;
			from = ext[i].logical + ext[i].len;
		}
		if (!n || prev.flags & VEXFS_EXTENT_LAST || from > last)
			break;
		cond_resched();
	}
done:
	if (!have)
		return 0;
	err = vexfs_fiemap_fill(fi, &prev, first, last, bits,
				FIEMAP_EXTENT_LAST);
	return err < 0 ? err : 0;
}

const struct file_operations vexfs_file_operations = {
	.llseek		= vexfs_llseek,
	.read_iter	= generic_file_read_iter,
	.write_iter	= generic_file_write_iter,
	.mmap		= generic_file_mmap,
	.open		= generic_file_open,
	.fsync		= vexfs_fsync,
	.unlocked_ioctl	= vexfs_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.splice_read	= generic_file_splice_read,
	.splice_write	= iter_file_splice_write,
	.fallocate	= vexfs_fallocate,
};

const struct inode_operations vexfs_file_inode_operations = {
	.getattr	= vexfs_getattr,
	.setattr	= vexfs_setattr,
	.fiemap		= vexfs_fiemap,
	.fileattr_get	= vexfs_fileattr_get,
	.fileattr_set	= vexfs_fileattr_set,
};
