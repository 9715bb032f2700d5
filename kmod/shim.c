// SPDX-License-Identifier: GPL-2.0
/*
 * VexFS: the kernel implementation of the services the Rust core calls
 * (ffi/include/vexfs_shim.h).
 */

#include <linux/fs.h>
#include <linux/blkdev.h>
#include <linux/buffer_head.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "vexfs.h"

static_assert(VEXFS_SHIM_BLOCK_SIZE == VEXFS_BLOCK_SIZE);

static int vexfs_shim_check_block(struct super_block *sb, u64 blocknr)
{
	if (likely(blocknr < VEXFS_SB(sb)->dev_blocks))
		return 0;
	pr_err("vexfs (%s): block %llu beyond end of device (%llu blocks)\n",
	       sb->s_id, blocknr, VEXFS_SB(sb)->dev_blocks);
	return -EIO;
}

int vexfs_shim_read_block(struct vexfs_shim_sb *ssb, u64 blocknr, u8 *buf)
{
	struct super_block *sb = vexfs_sb_of(ssb);
	struct buffer_head *bh;
	int err;

	err = vexfs_shim_check_block(sb, blocknr);
	if (err)
		return err;
	bh = sb_bread(sb, blocknr);
	if (!bh)
		return -EIO;
	memcpy(buf, bh->b_data, VEXFS_SHIM_BLOCK_SIZE);
	brelse(bh);
	return 0;
}

int vexfs_shim_write_block(struct vexfs_shim_sb *ssb, u64 blocknr,
			   const u8 *buf)
{
	struct super_block *sb = vexfs_sb_of(ssb);
	struct buffer_head *bh;
	int err;

	err = vexfs_shim_check_block(sb, blocknr);
	if (err)
		return err;
	if (bdev_read_only(sb->s_bdev))
		return -EROFS;
	bh = sb_getblk(sb, blocknr);
	if (!bh)
		return -ENOMEM;
	lock_buffer(bh);
	memcpy(bh->b_data, buf, VEXFS_SHIM_BLOCK_SIZE);
	set_buffer_uptodate(bh);
	unlock_buffer(bh);
	mark_buffer_dirty(bh);
	brelse(bh);
	return 0;
}

int vexfs_shim_flush(struct vexfs_shim_sb *ssb)
{
	struct super_block *sb = vexfs_sb_of(ssb);
	int err;

	err = sync_blockdev(sb->s_bdev);
	if (err)
		return err;
	return blkdev_issue_flush(sb->s_bdev);
}

int vexfs_shim_discard(struct vexfs_shim_sb *ssb, u64 start, u64 count)
{
	struct super_block *sb = vexfs_sb_of(ssb);
	unsigned int shift = sb->s_blocksize_bits - SECTOR_SHIFT;

	if (!bdev_max_discard_sectors(sb->s_bdev))
		return -EOPNOTSUPP;
	if (start + count > VEXFS_SB(sb)->dev_blocks)
		return -EIO;
	return blkdev_issue_discard(sb->s_bdev, start << shift, count << shift,
				    GFP_NOFS);
}

/*
 * The core allocates while holding this lock; reclaim must not re-enter the
 * filesystem then (the inode shrinker would evict, which takes the lock).
 */
void vexfs_shim_lock(struct vexfs_shim_sb *ssb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(vexfs_sb_of(ssb));

	mutex_lock(&sbi->lock);
	sbi->nofs_flags = memalloc_nofs_save();
}

/* The memory shrinker's way in: it must not wait for a lock holder. */
int vexfs_shim_trylock(struct vexfs_shim_sb *ssb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(vexfs_sb_of(ssb));

	if (!mutex_trylock(&sbi->lock))
		return 0;
	sbi->nofs_flags = memalloc_nofs_save();
	return 1;
}

void vexfs_shim_unlock(struct vexfs_shim_sb *ssb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(vexfs_sb_of(ssb));

	memalloc_nofs_restore(sbi->nofs_flags);
	mutex_unlock(&sbi->lock);
}

/*
 * kmalloc() aligns power-of-two sizes naturally and everything else to
 * ARCH_KMALLOC_MINALIGN; allocations above PAGE_SIZE (kmalloc from the page
 * allocator, or vmalloc) are page aligned.
 */
void *vexfs_shim_alloc(size_t size, size_t align)
{
	if (!size)
		size = 1;
	if (align <= ARCH_KMALLOC_MINALIGN)
		return kvmalloc(size, GFP_KERNEL);
	if (align > PAGE_SIZE) {
		pr_warn_once("vexfs: allocation alignment %zu not supported\n",
			     align);
		return NULL;
	}
	if (size > PAGE_SIZE)
		return kvmalloc(size, GFP_KERNEL);
	return kmalloc(roundup_pow_of_two(max(size, align)), GFP_KERNEL);
}

void vexfs_shim_free(void *ptr, size_t size, size_t align)
{
	kvfree(ptr);
}

void vexfs_shim_resched(void)
{
	cond_resched();
}

void vexfs_shim_now(s64 *sec, u32 *nsec)
{
	struct timespec64 ts;

	ktime_get_real_ts64(&ts);
	*sec = ts.tv_sec;
	*nsec = ts.tv_nsec;
}

/* "vexfs (vdb)", or just "vexfs" for messages about no mount in particular */
static void vexfs_shim_prefix(struct vexfs_shim_sb *ssb, char *buf, size_t size)
{
	if (ssb)
		snprintf(buf, size, "vexfs (%s)", vexfs_sb_of(ssb)->s_id);
	else
		strscpy(buf, "vexfs", size);
}

void vexfs_shim_log(struct vexfs_shim_sb *ssb, int level, const u8 *msg,
		    size_t len)
{
	int n = min_t(size_t, len, INT_MAX);
	char prefix[48];

	vexfs_shim_prefix(ssb, prefix, sizeof(prefix));
	switch (level) {
	case VEXFS_LOG_ERR:
		pr_err("%s: %.*s\n", prefix, n, msg);
		break;
	case VEXFS_LOG_WARN:
		pr_warn("%s: %.*s\n", prefix, n, msg);
		break;
	case VEXFS_LOG_INFO:
		pr_info("%s: %.*s\n", prefix, n, msg);
		break;
	default:
		pr_debug("%s: %.*s\n", prefix, n, msg);
		break;
	}
}

void __noreturn vexfs_shim_panic(const u8 *msg, size_t len)
{
	panic("vexfs: %.*s\n", (int)min_t(size_t, len, INT_MAX), msg);
}
