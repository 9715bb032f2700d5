// SPDX-License-Identifier: GPL-2.0
/*
 * VexFS: the vector ioctls (ffi/include/vexfs_uapi.h).
 *
 * The shim copies arguments from and to user space, checks what only the
 * VFS knows (open modes, immutable flags, read-only mounts, the caller's
 * permission to read a query hit) and leaves everything about vectors to
 * the core (vexfs_rust_vec_*), which sees vectors as IEEE-754 bits in
 * kernel buffers.  Validation comes before any change: an error means
 * nothing was changed.
 */

#include <linux/blkdev.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/mount.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/compat.h>

#include "vexfs.h"
#include "vexfs_uapi.h"

/* ioctl numbers are matched without their size bits: the size field decides */
#define VEXFS_IOC_BASE(cmd)	((cmd) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT))

/* The core never returns more than this many hits per call. */
#define VEXFS_QUERY_MAX_N	VEXFS_VEC_MAX_QUERY

/*
 * Copy an argument struct that starts with its own size, as
 * copy_struct_from_user does: an older, smaller struct (at least @minsize,
 * the first version's size) is zero-extended to the @ksize bytes this
 * kernel knows, a smaller one is -EINVAL; a larger one is -E2BIG unless
 * the extra bytes are zero; absurdly large (over a page) is -E2BIG.
 */
static int vexfs_get_arg(void *dst, size_t ksize, size_t minsize,
			 void __user *uarg)
{
	u32 usize;

	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < minsize)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	return copy_struct_from_user(dst, ksize, uarg, usize);
}

/* Vector changes are inode changes, like an xattr change. */
static void vexfs_vec_touch(struct inode *inode)
{
	inode->i_ctime = current_time(inode);
	mark_inode_dirty(inode);
}

/* May @file change the vector of its inode?  0 or -errno. */
static int vexfs_vec_may_write(struct file *file)
{
	struct inode *inode = file_inode(file);

	if (S_ISDIR(inode->i_mode))
		return -EISDIR;
	if (!S_ISREG(inode->i_mode))
		return -EINVAL;
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (IS_IMMUTABLE(inode) || IS_APPEND(inode))
		return -EPERM;
	return 0;
}

/* The filesystem's vector space: -EOPNOTSUPP when it has none. */
static int vexfs_vec_space(struct super_block *sb, struct vexfs_vec_info *info)
{
	int err;

	err = vexfs_rust_vec_info(VEXFS_FS(sb), info);
	if (err)
		return err;
	return info->dim ? 0 : -EOPNOTSUPP;
}

/*
 * Change the vector of @file's inode: set it from @vec (kernel buffer, @dim
 * floats), or delete it when @vec is NULL.
 */
static int vexfs_vec_change(struct file *file, const u32 *vec, u32 dim)
{
	struct inode *inode = file_inode(file);
	struct vexfs_fs *fs = VEXFS_FS(inode->i_sb);
	int err;

	err = vexfs_vec_may_write(file);
	if (err)
		return err;
	err = mnt_want_write_file(file);
	if (err)
		return err;
	vexfs_txn_begin(inode->i_sb);
	inode_lock(inode);
	if (vec)
		err = vexfs_rust_vec_set(fs, inode->i_ino, vec, dim);
	else
		err = vexfs_rust_vec_delete(fs, inode->i_ino);
	if (!err)
		vexfs_vec_touch(inode);
	inode_unlock(inode);
	mnt_drop_write_file(file);
	return err;
}

static long vexfs_ioc_set(struct file *file, void __user *uarg)
{
	struct super_block *sb = file_inode(file)->i_sb;
	struct vexfs_ioc_vector arg;
	struct vexfs_vec_info info;
	u32 *vec;
	int err;

	err = vexfs_vec_may_write(file);
	if (err)
		return err;
	err = vexfs_get_arg(&arg, sizeof(arg), sizeof(arg), uarg);
	if (err)
		return err;
	err = vexfs_vec_space(sb, &info);
	if (err)
		return err;
	if (arg.dim != info.dim || arg.dim > VEXFS_MAX_DIM)
		return -EMSGSIZE;
	vec = kvmalloc_array(arg.dim, sizeof(*vec), GFP_KERNEL);
	if (!vec)
		return -ENOMEM;
	if (copy_from_user(vec, u64_to_user_ptr(arg.data),
			   (size_t)arg.dim * sizeof(*vec)))
		err = -EFAULT;
	else
		err = vexfs_vec_change(file, vec, arg.dim);
	kvfree(vec);
	return err;
}

static long vexfs_ioc_get(struct file *file, void __user *uarg)
{
	struct vexfs_ioc_vector __user *uvec = uarg;
	struct inode *inode = file_inode(file);
	struct vexfs_ioc_vector arg;
	u32 cap, dim = 0;
	u32 *vec;
	int err;

	if (S_ISDIR(inode->i_mode))
		return -EISDIR;
	if (!S_ISREG(inode->i_mode))
		return -EINVAL;
	if (!(file->f_mode & FMODE_READ))
		return -EACCES;
	err = vexfs_get_arg(&arg, sizeof(arg), sizeof(arg), uarg);
	if (err)
		return err;
	cap = min_t(u32, arg.dim, VEXFS_MAX_DIM);
	vec = kvmalloc_array(max_t(u32, cap, 1), sizeof(*vec), GFP_KERNEL);
	if (!vec)
		return -ENOMEM;
	err = vexfs_rust_vec_get(VEXFS_FS(inode->i_sb), inode->i_ino, vec, cap,
				 &dim);
	if (!err && WARN_ON_ONCE(dim > cap))
		err = -EIO;
	if (!err && copy_to_user(u64_to_user_ptr(arg.data), vec,
				 (size_t)dim * sizeof(*vec)))
		err = -EFAULT;
	/* the dimension goes out on success and when the room was too small */
	if ((!err || err == -EMSGSIZE) && dim && put_user(dim, &uvec->dim))
		err = -EFAULT;
	kvfree(vec);
	return err;
}

static long vexfs_ioc_del(struct file *file)
{
	return vexfs_vec_change(file, NULL, 0);
}

/* Longest parent chain walked for one hit (deeper is treated as unreachable). */
#define VEXFS_HIT_MAX_DEPTH	4096

/*
 * A hit's path, built from the leaf up at the end of @path (PATH_MAX bytes,
 * NUL last); @name takes one link's name from the core.
 */
struct vexfs_path_buf {
	char path[PATH_MAX];
	char name[NAME_MAX + 1];
};

/*
 * Put @name (@len bytes) and a '/' before the path that starts at *@pos
 * of @pb (*@pos == PATH_MAX - 1: still empty).  False when it would not
 * fit in PATH_MAX - 1 bytes.
 */
static bool vexfs_path_prepend(struct vexfs_path_buf *pb, u32 *pos,
			       const char *name, u32 len)
{
	u32 sep = *pos != PATH_MAX - 1;

	if (len + sep > *pos)
		return false;
	if (sep)
		pb->path[--*pos] = '/';
	*pos -= len;
	memcpy(pb->path + *pos, name, len);
	return true;
}

/*
 * The parent hint of @ino into @parent.  With @pb, the name of the link
 * the hint names goes before the path in @pb (O(1): the core reads the one
 * directory block at the inode's parent_pos); *@named is cleared when
 * there is no name to give or the path grows too long.
 */
static int vexfs_hint_step(struct super_block *sb, u64 ino, u64 *parent,
			   struct vexfs_path_buf *pb, u32 *pos, bool *named)
{
	u32 len = 0;

	if (!pb || !*named)
		return vexfs_rust_parent(VEXFS_FS(sb), ino, parent);
	if (vexfs_rust_link_name(VEXFS_FS(sb), ino, parent, pb->name,
				 sizeof(pb->name), &len)) {
		/* the directory could not be read: no path, the hint still counts */
		*named = false;
		return vexfs_rust_parent(VEXFS_FS(sb), ino, parent);
	}
	if (!len || len > NAME_MAX || !vexfs_path_prepend(pb, pos, pb->name, len))
		*named = false;
	return 0;
}

/*
 * May the caller search directory @ino (MAY_EXEC, as a path walk checks)?
 * @next gets its parent; with @pb, its name goes before the path.
 */
static bool vexfs_dir_searchable(struct file *file, u64 ino, u64 *next,
				 struct vexfs_path_buf *pb, u32 *pos,
				 bool *named)
{
	struct super_block *sb = file_inode(file)->i_sb;
	struct inode *dir;
	bool ok;

	dir = vexfs_iget(sb, ino);
	if (IS_ERR(dir))
		return false;
	ok = S_ISDIR(dir->i_mode) &&
	     !inode_permission(file_mnt_user_ns(file), dir, MAY_EXEC) &&
	     !vexfs_hint_step(sb, ino, next, pb, pos, named);
	iput(dir);
	return ok;
}

/*
 * May the caller learn of inode @ino, a hit below directory @within?  It
 * must be readable and reachable: every directory from its parent up to
 * @within searchable, as for a path lookup.  The core keeps a parent hint
 * in each inode; a file whose hint is unknown (its hinted link was
 * removed while it had others) is shown only to CAP_DAC_READ_SEARCH.
 * Hits for inodes that are gone (or no longer linked) are dropped.
 *
 * With @pb, the same walk builds the hit's path relative to @within, one
 * name per level: O(depth).  It is left at pb->path + *@pos, NUL-terminated;
 * "" when it cannot be given (unknown hint, longer than PATH_MAX - 1, or a
 * walk that met the root and not @within, after a concurrent rename).
 */
static bool vexfs_hit_visible(struct file *file, u64 within, u64 ino,
			      struct vexfs_path_buf *pb, u32 *pos)
{
	struct super_block *sb = file_inode(file)->i_sb;
	u64 root = d_inode(sb->s_root)->i_ino;
	bool named = pb;
	struct inode *inode;
	u64 dir = 0;
	unsigned int depth;
	bool ok;

	if (pb) {
		*pos = PATH_MAX - 1;
		pb->path[*pos] = '\0';
	}
	inode = vexfs_iget(sb, ino);
	if (IS_ERR(inode))
		return false;
	ok = inode->i_nlink &&
	     !inode_permission(file_mnt_user_ns(file), inode, MAY_READ) &&
	     !vexfs_hint_step(sb, ino, &dir, pb, pos, &named);
	iput(inode);
	if (!ok)
		return false;
	if (!dir) {
		named = false;
		ok = capable(CAP_DAC_READ_SEARCH);
		goto done;
	}
	ok = false;
	for (depth = 0; depth < VEXFS_HIT_MAX_DEPTH; depth++) {
		bool last = dir == within || dir == root;
		u64 next = 0;

		/* only the directories below @within are named */
		if (!vexfs_dir_searchable(file, dir, &next, last ? NULL : pb,
					  pos, &named))
			return false;
		if (last) {
			named = named && dir == within;
			ok = true;
			break;
		}
		dir = next;
		cond_resched();
	}
done:
	if (pb && !named) {
		*pos = PATH_MAX - 1;
		pb->path[*pos] = '\0';
	}
	return ok;
}

/*
 * The @k nearest hits to @vec (@dim floats) below @within that the caller
 * may see, into @out (room for @k), nearest first; *@kept gets how many.
 * The core knows no credentials: ask it for k (searching with the caller's
 * ef), drop what the caller may not see, and ask again for more (a wider
 * search) while fewer than k survive and the core had more to give.
 */
static int vexfs_query_visible(struct file *file, u64 within, const u32 *vec,
			       u32 dim, u32 k, u32 ef, u32 flags, u64 count,
			       struct vexfs_ioc_hit *out, u32 *kept)
{
	struct super_block *sb = file_inode(file)->i_sb;
	struct vexfs_vec_hit *hits = NULL;
	u32 n, limit, got, i, pos = 0;
	int err;

	limit = min_t(u64, VEXFS_QUERY_MAX_N, max_t(u64, count, 1));
	n = k;
	for (;;) {
		kvfree(hits);
		hits = kvmalloc_array(n, sizeof(*hits), GFP_KERNEL);
		if (!hits)
			return -ENOMEM;
		got = 0;
		err = vexfs_rust_vec_query(VEXFS_FS(sb), vec, dim, within, n,
					   ef, flags, hits, &got);
		if (err)
			goto out;
		if (WARN_ON_ONCE(got > n)) {
			err = -EIO;
			goto out;
		}
		*kept = 0;
		for (i = 0; i < got && *kept < k; i++) {
			if (!vexfs_hit_visible(file, within, hits[i].ino, NULL, &pos))
				continue;
			out[*kept].ino = hits[i].ino;
			out[*kept].distance = hits[i].distance;
			out[*kept].reserved = 0;
			(*kept)++;
		}
		if (*kept >= k || got < n || n >= limit)
			break;
		n = min_t(u32, n * 4, VEXFS_QUERY_MAX_N);
	}
out:
	kvfree(hits);
	return err;
}

static long vexfs_ioc_query(struct file *file, void __user *uarg)
{
	struct vexfs_ioc_query __user *uq = uarg;
	struct inode *inode = file_inode(file);
	struct super_block *sb = inode->i_sb;
	struct vexfs_ioc_hit *out = NULL;
	struct vexfs_path_buf *pb = NULL;
	struct vexfs_ioc_query arg;
	struct vexfs_vec_info info;
	char __user *upaths;
	u64 within;
	u32 *vec = NULL;
	u32 kept = 0, i, pos = 0, used = 0;
	int err;

	BUILD_BUG_ON(sizeof(arg) != VEXFS_IOC_QUERY_SIZE_VER1);
	BUILD_BUG_ON(offsetof(struct vexfs_ioc_query, paths) !=
		     VEXFS_IOC_QUERY_SIZE_VER0);
	err = vexfs_get_arg(&arg, sizeof(arg), VEXFS_IOC_QUERY_SIZE_VER0, uarg);
	if (err)
		return err;
	if (arg.flags & ~VEXFS_QUERY_EXACT)
		return -EINVAL;
	if (!arg.paths && arg.paths_len)
		return -EINVAL;
	upaths = u64_to_user_ptr(arg.paths);
	if (arg.k == 0 || arg.k > VEXFS_MAX_K || arg.ef > VEXFS_MAX_EF)
		return -ERANGE;
	err = vexfs_vec_space(sb, &info);
	if (err)
		return err;
	if (arg.dim != info.dim || arg.dim > VEXFS_MAX_DIM)
		return -EMSGSIZE;
	within = S_ISDIR(inode->i_mode) ? inode->i_ino : d_inode(sb->s_root)->i_ino;

	vec = kvmalloc_array(arg.dim, sizeof(*vec), GFP_KERNEL);
	out = kvmalloc_array(arg.k, sizeof(*out), GFP_KERNEL | __GFP_ZERO);
	if (arg.paths)
		pb = kvmalloc(sizeof(*pb), GFP_KERNEL);
	if (!vec || !out || (arg.paths && !pb)) {
		err = -ENOMEM;
		goto out;
	}
	if (copy_from_user(vec, u64_to_user_ptr(arg.vector),
			   (size_t)arg.dim * sizeof(*vec))) {
		err = -EFAULT;
		goto out;
	}

	err = vexfs_query_visible(file, within, vec, arg.dim, arg.k, arg.ef,
				  arg.flags, info.count, out, &kept);
	if (err)
		goto out;

	/*
	 * Paths only for the hits returned: a pass that was asked again must
	 * leave nothing in the caller's buffer.  The walk is repeated with the
	 * names; a hit that a racing rename or chmod hid since is dropped.
	 */
	if (pb) {
		u32 j = 0;

		for (i = 0; i < kept; i++) {
			u32 len;

			if (!vexfs_hit_visible(file, within, out[i].ino, pb, &pos))
				continue;
			out[j++] = out[i];
			/* the path and its NUL, while they fit */
			len = PATH_MAX - pos;
			if (used <= arg.paths_len &&
			    len <= arg.paths_len - used &&
			    copy_to_user(upaths + used, pb->path + pos, len)) {
				err = -EFAULT;
				goto out;
			}
			used += len;
		}
		kept = j;
	}

	if (pb && used > arg.paths_len) {
		err = put_user(used, &uq->paths_used) ? -EFAULT : -EOVERFLOW;
		goto out;
	}
	if (copy_to_user(u64_to_user_ptr(arg.hits), out,
			 (size_t)kept * sizeof(*out)) ||
	    put_user(kept, &uq->count) ||
	    (pb && put_user(used, &uq->paths_used)))
		err = -EFAULT;
out:
	kvfree(pb);
	kvfree(out);
	kvfree(vec);
	return err;
}

/* One file of a batch: 0 or -errno. */
static int vexfs_batch_one(struct super_block *sb, int fd, const u32 *vec,
			   u32 dim)
{
	struct fd f = fdget(fd);
	int err;

	if (!f.file)
		return -EBADF;
	if (file_inode(f.file)->i_sb != sb)
		err = -EXDEV;
	else
		err = vexfs_vec_change(f.file, vec, dim);
	fdput(f);
	return err;
}

static long vexfs_ioc_batch(struct file *file, void __user *uarg)
{
	struct vexfs_ioc_batch __user *ub = uarg;
	struct super_block *sb = file_inode(file)->i_sb;
	struct vexfs_ioc_batch arg;
	struct vexfs_vec_info info;
	s32 *fds = NULL, *errs = NULL;
	u32 *vecs = NULL;
	u32 i, done = 0;
	size_t nfloats;
	int err;

	err = vexfs_get_arg(&arg, sizeof(arg), sizeof(arg), uarg);
	if (err)
		return err;
	if (arg.flags || arg.reserved)
		return -EINVAL;
	if (arg.count == 0 || arg.count > VEXFS_MAX_BATCH)
		return -E2BIG;
	err = vexfs_vec_space(sb, &info);
	if (err)
		return err;
	if (arg.dim != info.dim || arg.dim > VEXFS_MAX_DIM)
		return -EMSGSIZE;

	nfloats = (size_t)arg.count * arg.dim;
	fds = kvmalloc_array(arg.count, sizeof(*fds), GFP_KERNEL);
	errs = kvmalloc_array(arg.count, sizeof(*errs), GFP_KERNEL);
	vecs = kvmalloc_array(nfloats, sizeof(*vecs), GFP_KERNEL);
	if (!fds || !errs || !vecs) {
		err = -ENOMEM;
		goto out;
	}
	/* every user buffer is checked (and the outputs cleared) before any change */
	if (copy_from_user(fds, u64_to_user_ptr(arg.fds),
			   (size_t)arg.count * sizeof(*fds)) ||
	    copy_from_user(vecs, u64_to_user_ptr(arg.vectors),
			   nfloats * sizeof(*vecs)) ||
	    clear_user(u64_to_user_ptr(arg.errors),
		       (size_t)arg.count * sizeof(*errs)) ||
	    put_user(0, &ub->done)) {
		err = -EFAULT;
		goto out;
	}

	for (i = 0; i < arg.count; i++) {
		errs[i] = vexfs_batch_one(sb, fds[i], vecs + (size_t)i * arg.dim,
					  arg.dim);
		if (!errs[i])
			done++;
		cond_resched();
	}

	if (copy_to_user(u64_to_user_ptr(arg.errors), errs,
			 (size_t)arg.count * sizeof(*errs)) ||
	    put_user(done, &ub->done))
		err = -EFAULT;
out:
	kvfree(vecs);
	kvfree(errs);
	kvfree(fds);
	return err;
}

static long vexfs_ioc_info(struct file *file, void __user *uarg)
{
	struct super_block *sb = file_inode(file)->i_sb;
	struct vexfs_ioc_info arg;
	struct vexfs_vec_info info = {};
	u32 usize;
	int err;

	static_assert(sizeof(arg) == VEXFS_IOC_INFO_SIZE_VER1);
	err = vexfs_get_arg(&arg, sizeof(arg), VEXFS_IOC_INFO_SIZE_VER0, uarg);
	if (err)
		return err;
	usize = min_t(u32, arg.size, sizeof(arg));
	err = vexfs_rust_vec_info(VEXFS_FS(sb), &info);
	if (err == -EOPNOTSUPP) {
		/* no vector space: dim 0 says so */
		memset(&info, 0, sizeof(info));
		err = 0;
	}
	if (err)
		return err;
	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.dim = info.dim;
	arg.metric = info.metric;
	arg.m = info.m;
	arg.ef_construction = info.ef_construction;
	arg.ef_search = info.ef_search;
	arg.count = info.count;
	arg.capacity = info.capacity;
	arg.index_bytes = info.index_bytes;
	arg.levels = info.levels;
	arg.cache_bytes = info.cache_bytes;
	arg.cache_budget = info.cache_budget;
	arg.cache_hits = info.cache_hits;
	arg.cache_misses = info.cache_misses;
	/* the caller's size field is left as it was; an older struct gets its fields */
	if (copy_to_user((u8 __user *)uarg + sizeof(arg.size),
			 (u8 *)&arg + sizeof(arg.size),
			 usize - sizeof(arg.size)))
		return -EFAULT;
	return 0;
}

/*
 * FITRIM (fstrim): the core walks the block bitmap and discards the free
 * runs; the limits and the minimum length are ext4's.
 */
static int vexfs_ioc_fitrim(struct file *file, void __user *uarg)
{
	struct super_block *sb = file_inode(file)->i_sb;
	unsigned int bits = sb->s_blocksize_bits;
	struct fstrim_range range;
	u64 trimmed = 0, minlen;
	int err;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (!bdev_max_discard_sectors(sb->s_bdev))
		return -EOPNOTSUPP;
	if (copy_from_user(&range, uarg, sizeof(range)))
		return -EFAULT;
	minlen = max_t(u64, range.minlen, bdev_discard_granularity(sb->s_bdev));
	minlen = DIV_ROUND_UP(minlen, sb->s_blocksize);
	if (minlen > VEXFS_BITS_PER_BITMAP_BLOCK ||
	    range.start >> bits >= VEXFS_SB(sb)->dev_blocks ||
	    range.len < sb->s_blocksize)
		return -EINVAL;
	err = vexfs_rust_trim(VEXFS_FS(sb), range.start >> bits,
			      range.len >> bits, minlen, &trimmed);
	if (err)
		return err;
	range.len = trimmed << bits;
	if (copy_to_user(uarg, &range, sizeof(range)))
		return -EFAULT;
	return 0;
}

/*
 * The fixed-size requests (ffi/include/vexfs_uapi.h, *_FIXED): what FUSE
 * can pass, taken here too so that one vexctl serves both mounts.  The
 * argument is copied whole; its size field must be the struct's.
 */
static long vexfs_ioc_set_fixed(struct file *file, void __user *uarg)
{
	struct super_block *sb = file_inode(file)->i_sb;
	struct vexfs_ioc_vector_fixed *arg;
	struct vexfs_vec_info info;
	int err;

	BUILD_BUG_ON(sizeof(*arg) != VEXFS_IOC_VECTOR_FIXED_SIZE);
	err = vexfs_vec_may_write(file);
	if (err)
		return err;
	arg = kvmalloc(sizeof(*arg), GFP_KERNEL);
	if (!arg)
		return -ENOMEM;
	if (copy_from_user(arg, uarg, sizeof(*arg))) {
		err = -EFAULT;
		goto out;
	}
	if (arg->size != sizeof(*arg)) {
		err = -EINVAL;
		goto out;
	}
	err = vexfs_vec_space(sb, &info);
	if (err)
		goto out;
	if (arg->dim != info.dim || arg->dim > VEXFS_MAX_DIM) {
		err = -EMSGSIZE;
		goto out;
	}
	err = vexfs_vec_change(file, arg->data, arg->dim);
out:
	kvfree(arg);
	return err;
}

static long vexfs_ioc_get_fixed(struct file *file, void __user *uarg)
{
	struct inode *inode = file_inode(file);
	struct vexfs_ioc_vector_fixed *arg;
	u32 dim = 0;
	int err;

	if (S_ISDIR(inode->i_mode))
		return -EISDIR;
	if (!S_ISREG(inode->i_mode))
		return -EINVAL;
	if (!(file->f_mode & FMODE_READ))
		return -EACCES;
	arg = kvzalloc(sizeof(*arg), GFP_KERNEL);
	if (!arg)
		return -ENOMEM;
	err = vexfs_rust_vec_get(VEXFS_FS(inode->i_sb), inode->i_ino, arg->data,
				 VEXFS_MAX_DIM, &dim);
	if (!err && WARN_ON_ONCE(dim > VEXFS_MAX_DIM))
		err = -EIO;
	if (!err) {
		arg->size = sizeof(*arg);
		arg->dim = dim;
		if (copy_to_user(uarg, arg, sizeof(*arg)))
			err = -EFAULT;
	}
	kvfree(arg);
	return err;
}

static long vexfs_ioc_query_fixed(struct file *file, void __user *uarg)
{
	struct vexfs_ioc_query_fixed __user *uq = uarg;
	struct inode *inode = file_inode(file);
	struct super_block *sb = inode->i_sb;
	struct vexfs_ioc_query_fixed *arg;
	struct vexfs_vec_info info;
	u32 kept = 0;
	u64 within;
	int err;

	BUILD_BUG_ON(sizeof(*arg) != VEXFS_IOC_QUERY_FIXED_SIZE);
	arg = kvmalloc(sizeof(*arg), GFP_KERNEL);
	if (!arg)
		return -ENOMEM;
	if (copy_from_user(arg, uarg, sizeof(*arg))) {
		err = -EFAULT;
		goto out;
	}
	err = -EINVAL;
	if (arg->size != sizeof(*arg) || (arg->flags & ~VEXFS_QUERY_EXACT))
		goto out;
	err = -ERANGE;
	if (arg->k == 0 || arg->k > VEXFS_FIXED_MAX_K || arg->ef > VEXFS_MAX_EF)
		goto out;
	err = vexfs_vec_space(sb, &info);
	if (err)
		goto out;
	err = -EMSGSIZE;
	if (arg->dim != info.dim || arg->dim > VEXFS_MAX_DIM)
		goto out;
	within = S_ISDIR(inode->i_mode) ? inode->i_ino : d_inode(sb->s_root)->i_ino;
	err = vexfs_query_visible(file, within, arg->vector, arg->dim, arg->k,
				  arg->ef, arg->flags, info.count, arg->hits,
				  &kept);
	if (err)
		goto out;
	if (copy_to_user(uq->hits, arg->hits, (size_t)kept * sizeof(*arg->hits)) ||
	    put_user(kept, &uq->count))
		err = -EFAULT;
out:
	kvfree(arg);
	return err;
}

static long vexfs_ioc_path_fixed(struct file *file, void __user *uarg)
{
	struct vexfs_ioc_path_fixed __user *up = uarg;
	struct inode *inode = file_inode(file);
	struct super_block *sb = inode->i_sb;
	struct vexfs_path_buf *pb;
	u32 usize, len, pos = 0;
	u64 ino, within;
	int err = 0;

	BUILD_BUG_ON(sizeof(*up) != VEXFS_IOC_PATH_FIXED_SIZE);
	BUILD_BUG_ON(VEXFS_FIXED_PATH_MAX != PATH_MAX);
	if (get_user(usize, &up->size) || get_user(ino, &up->ino))
		return -EFAULT;
	if (usize != sizeof(*up))
		return -EINVAL;
	within = S_ISDIR(inode->i_mode) ? inode->i_ino : d_inode(sb->s_root)->i_ino;
	pb = kvmalloc(sizeof(*pb), GFP_KERNEL);
	if (!pb)
		return -ENOMEM;
	if (!vexfs_hit_visible(file, within, ino, pb, &pos)) {
		err = -ENOENT;
		goto out;
	}
	/* the path and its NUL ("" when there is none to give) */
	len = PATH_MAX - 1 - pos;
	if (copy_to_user(up->path, pb->path + pos, len + 1) ||
	    put_user(len, &up->len))
		err = -EFAULT;
out:
	kvfree(pb);
	return err;
}

long vexfs_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (cmd == FITRIM)
		return vexfs_ioc_fitrim(file, uarg);
	switch (VEXFS_IOC_BASE(cmd)) {
	case VEXFS_IOC_BASE(VEXFS_IOC_SET_VECTOR):
		return vexfs_ioc_set(file, uarg);
	case VEXFS_IOC_BASE(VEXFS_IOC_GET_VECTOR):
		return vexfs_ioc_get(file, uarg);
	case VEXFS_IOC_BASE(VEXFS_IOC_DEL_VECTOR):
		return vexfs_ioc_del(file);
	case VEXFS_IOC_BASE(VEXFS_IOC_QUERY):
		return vexfs_ioc_query(file, uarg);
	case VEXFS_IOC_BASE(VEXFS_IOC_BATCH_SET):
		return vexfs_ioc_batch(file, uarg);
	case VEXFS_IOC_BASE(VEXFS_IOC_INFO):
		return vexfs_ioc_info(file, uarg);
	case VEXFS_IOC_BASE(VEXFS_IOC_SET_FIXED):
		return vexfs_ioc_set_fixed(file, uarg);
	case VEXFS_IOC_BASE(VEXFS_IOC_GET_FIXED):
		return vexfs_ioc_get_fixed(file, uarg);
	case VEXFS_IOC_BASE(VEXFS_IOC_QUERY_FIXED):
		return vexfs_ioc_query_fixed(file, uarg);
	case VEXFS_IOC_BASE(VEXFS_IOC_PATH_FIXED):
		return vexfs_ioc_path_fixed(file, uarg);
	default:
		return -ENOTTY;
	}
}
