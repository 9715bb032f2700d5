// SPDX-License-Identifier: GPL-2.0
/*
 * VexFS: driving the core's journal commits.
 *
 * The core journals metadata; file data goes through the page cache.  Ordered
 * mode needs the data of every block a transaction makes reachable on disk
 * before the transaction commits, and only the VFS can write that data.  So
 * a commit is: keep new writes from allocating (txn_sem), write back the data
 * of the inodes the core names, then ask the core to commit.  The core
 * refuses (-EAGAIN) while it still has such inodes, e.g. when writeback
 * allocated more meanwhile.
 */

#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/workqueue.h>

#include "vexfs.h"

/* How often the running transaction is committed when nothing asks sooner. */
#define VEXFS_COMMIT_INTERVAL	(5 * HZ)
#define VEXFS_ORDERED_BATCH	32

/*
 * find_inode_nowait() match: take a reference without ever waiting.  The
 * commit holds txn_sem for writing, so it must not wait on an inode that
 * is I_NEW (its creator may be in write_begin, waiting on txn_sem: a new
 * symlink's page_symlink) nor on one being freed (ilookup does both).
 * An I_NEW inode is taken as it is: its creator holds a reference until
 * it clears I_NEW, so ours is never the last one while it is set, and a
 * new symlink's block may already be dirty in the page cache and must be
 * written before the commit that makes it reachable.  An inode being
 * freed is skipped: it has been unlinked (its blocks go with it) or it
 * has no dirty pages left (only clean inodes are evicted while mounted).
 */
static int vexfs_ordered_match(struct inode *inode, unsigned long ino,
			       void *data)
{
	if (inode->i_ino != ino)
		return 0;
	spin_lock(&inode->i_lock);
	if (inode->i_state & (I_FREEING | I_WILL_FREE)) {
		spin_unlock(&inode->i_lock);
		return 0;
	}
	__iget(inode);
	spin_unlock(&inode->i_lock);
	return 1;
}

static int vexfs_write_ordered(struct super_block *sb, const u64 *inos, u32 n)
{
	int err = 0;
	u32 i;

	for (i = 0; i < n; i++) {
		struct inode *inode;
		int ret;

		inode = find_inode_nowait(sb, inos[i], vexfs_ordered_match,
					  NULL);
		if (!inode)
			continue;	/* evicted: its pages were written then */
		ret = filemap_write_and_wait(inode->i_mapping);
		iput(inode);
		if (ret && !err)
			err = ret;
	}
	return err;
}

/*
 * Commit the core's running transaction with ordered data.  @flags are
 * VEXFS_COMMIT_FLUSH (make the data just written durable even when there is
 * no metadata to commit) and VEXFS_COMMIT_INDEX (store the vector index).
 */
int vexfs_commit(struct super_block *sb, u32 flags)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	u64 inos[VEXFS_ORDERED_BATCH];
	u32 n;
	int err;

	if (sb_rdonly(sb))
		return 0;
	mutex_lock(&sbi->commit_lock);
	down_write(&sbi->txn_sem);
	for (;;) {
		err = vexfs_rust_ordered_take(sbi->fs, inos, ARRAY_SIZE(inos), &n);
		if (!err && n)
			err = vexfs_write_ordered(sb, inos, n);
		if (err)
			break;
		if (n)
			continue;
		err = vexfs_rust_commit(sbi->fs, flags);
		if (err != -EAGAIN)
			break;
	}
	up_write(&sbi->txn_sem);
	mutex_unlock(&sbi->commit_lock);
	return err;	/* a failed commit is logged once, by the core */
}

/*
 * Before an operation that changes metadata: commit here, with ordered
 * data, when the core says the running transaction is due, rather than let
 * the core commit without the data writeback.  Callers hold no folio lock
 * and are not in writeback or evict.
 */
void vexfs_txn_begin(struct super_block *sb)
{
	if (!sb_rdonly(sb) && vexfs_rust_commit_due(VEXFS_FS(sb)) > 0)
		vexfs_commit(sb, 0);	/* a failure is the operation's to meet */
}

static void vexfs_commit_worker(struct work_struct *work)
{
	struct vexfs_sb_info *sbi = container_of(to_delayed_work(work),
						 struct vexfs_sb_info,
						 commit_work);

	vexfs_commit(sbi->sb, 0);
	if (!READ_ONCE(sbi->stopping))
		queue_delayed_work(system_long_wq, &sbi->commit_work,
				   VEXFS_COMMIT_INTERVAL);
}

void vexfs_commit_start(struct super_block *sb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);

	sbi->sb = sb;
	INIT_DELAYED_WORK(&sbi->commit_work, vexfs_commit_worker);
	queue_delayed_work(system_long_wq, &sbi->commit_work,
			   VEXFS_COMMIT_INTERVAL);
}

/* Before the final sync of an unmount: no commit may run after it. */
void vexfs_commit_stop(struct super_block *sb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);

	WRITE_ONCE(sbi->stopping, true);
	cancel_delayed_work_sync(&sbi->commit_work);
}

/* The core's running transaction has grown: commit it now, off this path. */
void vexfs_shim_commit_soon(struct vexfs_shim_sb *ssb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(vexfs_sb_of(ssb));

	if (sbi && !READ_ONCE(sbi->stopping) && sbi->sb)
		mod_delayed_work(system_long_wq, &sbi->commit_work, 0);
}
