/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * VexFS user API: vector ioctls.
 *
 * Single source of truth for the ABI: the kernel shim includes it, vexctl
 * reaches it through bindgen (tools/src/uapi.rs is generated from it and
 * checked by `make check-gen`).
 *
 * Every argument struct starts with a `size` field that the caller sets to
 * sizeof(struct); new fields are only ever appended.  As the kernel's
 * copy_struct_from_user(): a kernel that knows a smaller struct refuses a
 * larger one whose extra bytes are not zero (E2BIG) and takes one whose
 * extra bytes are zero; a kernel that knows a larger struct takes an older,
 * smaller one (from the first version's size on, VEXFS_IOC_*_SIZE_VER0)
 * as if the missing fields were zero, and refuses anything smaller (EINVAL).
 * The size bits of the request number are ignored (older binaries send the
 * number their header computed): the size field decides.
 *
 * Errors (each distinct, nothing is changed when one is returned):
 *   EINVAL      bad struct size, unknown flags, nonzero reserved fields
 *   EFAULT      a user pointer cannot be read or written
 *   EMSGSIZE    the vector's dimension is not the filesystem's
 *   EDOM        the vector holds a NaN or an infinity
 *   ERANGE      k is 0 or larger than VEXFS_MAX_K, ef larger than VEXFS_MAX_EF
 *   EOVERFLOW   query: the paths buffer is too small (paths_used says how
 *               much is needed)
 *   E2BIG       batch count larger than VEXFS_MAX_BATCH
 *   ENODATA     the file has no vector (get, delete)
 *   EOPNOTSUPP  the filesystem was made without a vector space (mkfs --dim)
 *   ENOSPC      the vector area is full
 *   EBADF/EACCES the file is not open for writing (set, delete) / reading (get)
 *   EXDEV       a batch descriptor is on another filesystem
 */
#ifndef VEXFS_UAPI_H
#define VEXFS_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VEXFS_IOC_MAGIC		0xF5

#define VEXFS_MAX_DIM		1012	/* one vector fits one 4 KiB slot block */
#define VEXFS_MAX_K		1024
#define VEXFS_MAX_BATCH		1024
#define VEXFS_MAX_EF		8192	/* largest search breadth (query ef) */

/* Distance metrics (mkfs.vexfs --metric). */
#define VEXFS_METRIC_L2		1	/* squared Euclidean distance */
#define VEXFS_METRIC_COSINE	2	/* 1 - cosine similarity */
#define VEXFS_METRIC_IP		3	/* negative inner product */

/* Kernel C never does floating point: it sees a float as its bits. */
#ifdef __KERNEL__
typedef __u32 vexfs_float_t;
#else
typedef float vexfs_float_t;
#endif

/* SET (on a file open for writing) and GET (open for reading). */
struct vexfs_ioc_vector {
	__u32 size;		/* sizeof(struct vexfs_ioc_vector) */
	__u32 dim;		/* SET: floats at data; GET: room at data in, dimension out */
	__u64 data;		/* user pointer to float[dim] */
};

/* One query result. */
struct vexfs_ioc_hit {
	__u64 ino;		/* inode number of the file */
	vexfs_float_t distance;	/* smaller is nearer, per the metric */
	__u32 reserved;
};

/*
 * QUERY, on any descriptor in the filesystem: the mount root searches
 * everything, a directory restricts the search to its subtree.
 *
 * Paths (since VER1): when `paths` is set, the kernel writes into it, for
 * each hit in order, the hit's path relative to the directory queried (the
 * mount root when the descriptor is not a directory), NUL-terminated, back
 * to back: hit i's path starts after the i-th NUL.  A path is built in the
 * kernel from each level's hinted link (docs/format.md, `parent` and
 * `parent_pos`): O(depth) per hit, no walk of the tree.  A hit whose path
 * cannot be given gets the empty string "": a file whose hinted link was
 * removed while it kept others (such hits are shown only to
 * CAP_DAC_READ_SEARCH), a path longer than PATH_MAX - 1 bytes, or a tree
 * renamed under the query.  `paths_used` is set to the bytes written,
 * NULs included.  When the paths do not fit in `paths_len` bytes the call
 * fails with EOVERFLOW and sets only `paths_used`, to the bytes needed
 * (count, the hits and the buffer's contents are then unspecified; the
 * tree may change before a retry, so retry in a loop).  Each hit needs at
 * most PATH_MAX bytes, so k * PATH_MAX always suffices.
 * With `paths` 0, no path is written and `paths_used` is left alone.
 */
struct vexfs_ioc_query {
	__u32 size;		/* sizeof(struct vexfs_ioc_query) */
	__u32 dim;		/* floats at vector */
	__u64 vector;		/* user pointer to float[dim] */
	__u32 k;		/* results wanted, 1..VEXFS_MAX_K */
	__u32 ef;		/* search breadth, 0 = the filesystem's default; below k: k */
	__u64 hits;		/* user pointer to struct vexfs_ioc_hit[k] */
	__u32 count;		/* out: hits written, nearest first */
	__u32 flags;		/* VEXFS_QUERY_EXACT: exact search instead of HNSW */
	/* end of VER0 */
	__u64 paths;		/* user pointer to char[paths_len], 0 = no paths */
	__u32 paths_len;	/* bytes at paths (0 when paths is 0, else EINVAL) */
	__u32 paths_used;	/* out: bytes written (EOVERFLOW: bytes needed) */
	/* end of VER1 */
};

#define VEXFS_IOC_QUERY_SIZE_VER0	40	/* hits without paths */
#define VEXFS_IOC_QUERY_SIZE_VER1	56	/* paths */

#define VEXFS_QUERY_EXACT	1

/* BATCH_SET: set vectors of many files (each open for writing) at once. */
struct vexfs_ioc_batch {
	__u32 size;		/* sizeof(struct vexfs_ioc_batch) */
	__u32 dim;		/* floats per vector */
	__u32 count;		/* files, 1..VEXFS_MAX_BATCH */
	__u32 flags;		/* 0 */
	__u64 fds;		/* user pointer to __s32[count] */
	__u64 vectors;		/* user pointer to float[count * dim] */
	__u64 errors;		/* user pointer to __s32[count]: 0 or -errno per file */
	__u32 done;		/* out: vectors set */
	__u32 reserved;
};

/* INFO, on any descriptor in the filesystem. */
struct vexfs_ioc_info {
	__u32 size;		/* sizeof(struct vexfs_ioc_info) */
	__u32 dim;		/* 0: no vector space */
	__u32 metric;		/* VEXFS_METRIC_* */
	__u32 m;		/* HNSW links per node */
	__u32 ef_construction;
	__u32 ef_search;	/* default search breadth */
	__u64 count;		/* vectors stored */
	__u64 capacity;		/* vectors the vector area holds */
	__u64 index_bytes;	/* size of the stored HNSW graph */
	__u32 levels;		/* HNSW levels in use */
	__u32 reserved;
	/* VER1: the cache of decoded vector slot blocks (kernel memory). */
	__u64 cache_bytes;	/* bytes held now */
	__u64 cache_budget;	/* most bytes kept between operations */
	__u64 cache_hits;	/* vector reads the cache answered */
	__u64 cache_misses;	/* vector reads that read a slot block */
};

/* Sizes of struct vexfs_ioc_info: a smaller caller gets the fields it has. */
#define VEXFS_IOC_INFO_SIZE_VER0	56
#define VEXFS_IOC_INFO_SIZE_VER1	88

#define VEXFS_IOC_SET_VECTOR	_IOW(VEXFS_IOC_MAGIC, 1, struct vexfs_ioc_vector)
#define VEXFS_IOC_GET_VECTOR	_IOWR(VEXFS_IOC_MAGIC, 2, struct vexfs_ioc_vector)
#define VEXFS_IOC_DEL_VECTOR	_IO(VEXFS_IOC_MAGIC, 3)
#define VEXFS_IOC_QUERY		_IOWR(VEXFS_IOC_MAGIC, 4, struct vexfs_ioc_query)
#define VEXFS_IOC_BATCH_SET	_IOWR(VEXFS_IOC_MAGIC, 5, struct vexfs_ioc_batch)
#define VEXFS_IOC_INFO		_IOWR(VEXFS_IOC_MAGIC, 6, struct vexfs_ioc_info)

/*
 * Fixed-size requests, for mounts that cannot follow user pointers: FUSE
 * (vexfs-fuse) passes an ioctl's argument by the size and direction in its
 * request number (_IOC_SIZE, at most 16383 bytes) and nothing it points to.
 * These carry their data inline; the kernel module takes them too, so one
 * vexctl works on both mounts (it falls back to them when the pointer
 * request fails with ENOTTY or EINVAL).  `size` must be sizeof(struct)
 * exactly (EINVAL otherwise): a new layout gets a new request number.
 * Errors as above.  Limits: one vector of up to VEXFS_MAX_DIM floats,
 * VEXFS_FIXED_MAX_K hits per query (no paths: VEXFS_IOC_PATH_FIXED gives
 * one hit's path per call), paths up to VEXFS_FIXED_PATH_MAX - 1 bytes.
 * INFO and DEL_VECTOR carry no pointer and work on both mounts as they are.
 */
#define VEXFS_FIXED_MAX_K	256
#define VEXFS_FIXED_PATH_MAX	4096	/* PATH_MAX, NUL included */

/* SET_FIXED (open for writing) and GET_FIXED (open for reading). */
struct vexfs_ioc_vector_fixed {
	__u32 size;		/* sizeof(struct vexfs_ioc_vector_fixed); GET: out */
	__u32 dim;		/* SET: floats in data; GET: out, the dimension */
	vexfs_float_t data[VEXFS_MAX_DIM];	/* the first dim are used */
};

/* QUERY_FIXED: as QUERY without paths, the vector and the hits inline. */
struct vexfs_ioc_query_fixed {
	__u32 size;		/* sizeof(struct vexfs_ioc_query_fixed) */
	__u32 dim;		/* floats in vector */
	__u32 k;		/* results wanted, 1..VEXFS_FIXED_MAX_K */
	__u32 ef;		/* search breadth, 0 = the filesystem's default */
	__u32 flags;		/* VEXFS_QUERY_EXACT */
	__u32 count;		/* out: hits written, nearest first */
	vexfs_float_t vector[VEXFS_MAX_DIM];
	struct vexfs_ioc_hit hits[VEXFS_FIXED_MAX_K];	/* out */
};

/*
 * PATH_FIXED: the path of a query hit, relative to the directory the
 * descriptor is open on (the mount root when it is not a directory), built
 * and permission-checked as QUERY builds its paths.  ENOENT when the caller
 * may not see the inode or it is not below that directory; `len` 0 (path
 * "") when it is visible but has no path to give (as QUERY's "").
 */
struct vexfs_ioc_path_fixed {
	__u32 size;		/* sizeof(struct vexfs_ioc_path_fixed) */
	__u32 len;		/* out: bytes in path, NUL not included */
	__u64 ino;		/* the inode (a hit's ino) */
	char path[VEXFS_FIXED_PATH_MAX];	/* out: NUL-terminated */
};

#define VEXFS_IOC_VECTOR_FIXED_SIZE	4056
#define VEXFS_IOC_QUERY_FIXED_SIZE	8168
#define VEXFS_IOC_PATH_FIXED_SIZE	4112

#define VEXFS_IOC_SET_FIXED	_IOW(VEXFS_IOC_MAGIC, 7, struct vexfs_ioc_vector_fixed)
#define VEXFS_IOC_GET_FIXED	_IOR(VEXFS_IOC_MAGIC, 8, struct vexfs_ioc_vector_fixed)
#define VEXFS_IOC_QUERY_FIXED	_IOWR(VEXFS_IOC_MAGIC, 9, struct vexfs_ioc_query_fixed)
#define VEXFS_IOC_PATH_FIXED	_IOWR(VEXFS_IOC_MAGIC, 10, struct vexfs_ioc_path_fixed)

#endif /* VEXFS_UAPI_H */
