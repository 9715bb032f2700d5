// SPDX-License-Identifier: GPL-2.0
/*
 * FFI contract tests: every vexfs_rust_* function of ffi/include/vexfs_core.h,
 * called from C against the generated header, with the userspace shim of
 * tests/ffi/shim_user.c underneath, on images made by the real mkfs.vexfs.
 *
 * Usage: contract [path/to/mkfs-vexfs]   (default: $VEXFS_MKFS, then
 * target/release/mkfs-vexfs). Prints "PASS name" / "FAIL name: why" per test
 * and a last line "N passed, N failed"; exits 1 on any failure.
 */
#define _GNU_SOURCE
#include "vexfs_core.h"
#include "shim_user.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Tiny test framework                                                 */

static int n_pass, n_fail;
static const char *cur_test;
static int cur_failed;
static char cur_why[1024];

static void fail_at(int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (cur_failed)
		return;
	cur_failed = 1;
	n = snprintf(cur_why, sizeof(cur_why), "line %d: ", line);
	va_start(ap, fmt);
	vsnprintf(cur_why + n, sizeof(cur_why) - (size_t)n, fmt, ap);
	va_end(ap);
}

static const char *en(long long r)
{
	static char buf[4][32];
	static int i;
	char *b = buf[i++ & 3];

	switch (-r) {
#define E(x) case x: return #x;
	E(EPERM) E(ENOENT) E(EIO) E(EBADF) E(ENOMEM) E(EFAULT) E(EEXIST)
	E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENOSPC) E(EROFS) E(EMLINK)
	E(ENAMETOOLONG) E(ENOTEMPTY) E(ESTALE) E(EUCLEAN) E(EFBIG)
	E(EOPNOTSUPP) E(EMSGSIZE) E(EDOM) E(ENODATA) E(ERANGE)
	E(ENXIO) E(ENODEV)
#undef E
	default:
		snprintf(b, 32, "%lld", r);
		return b;
	}
}

#define FAILF(...) do { fail_at(__LINE__, __VA_ARGS__); return; } while (0)
#define CHECK(c) do { if (!(c)) FAILF("check failed: %s", #c); } while (0)
#define EQ(a, b) do {							\
	long long a_ = (long long)(a), b_ = (long long)(b);		\
	if (a_ != b_)							\
		FAILF("%s = %lld, expected %s = %lld", #a, a_, #b, b_);	\
} while (0)
#define UEQ(a, b) do {							\
	unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
	if (a_ != b_)							\
		FAILF("%s = %llu, expected %s = %llu", #a, a_, #b, b_);	\
} while (0)
/* A call returning 0 / -errno; `want` is 0 or -EXXX. */
#define ERR(call, want) do {						\
	long long r_ = (long long)(call), w_ = (long long)(want);	\
	if (r_ != w_)							\
		FAILF("%s returned %s, expected %s", #call, en(r_), en(w_)); \
} while (0)
#define OK(call) ERR(call, 0)

/* ------------------------------------------------------------------ */
/* Fixture: one image in memory per test, formatted once by mkfs.vexfs */

#define BS VEXFS_BLOCK_SIZE
#define NBLOCKS 4096ULL	/* 16 MiB */
#define ROOT 1ULL
#define MAX_FILE_BLOCKS (1ULL << 32)
#define DT_DIR_ 4
#define DT_REG_ 8

/* Superblock byte offsets (rust-core/src/format.rs, struct Superblock). */
#define SB_STATE 20
#define SB_INCOMPAT 32
#define SB_RO_COMPAT 40
#define SB_LABEL 64
#define SB_BLOCK_COUNT 128
#define SB_INODE_COUNT 136
#define SB_FREE_BLOCKS 144
#define SB_FREE_INODES 152
#define SB_INODE_TABLE 200
#define SB_DATA_START 248
#define SB_CSUM 416
#define STATE_CLEAN 1
#define STATE_ERRORS 2
/* Inode byte offsets (struct DiskInode, 256 bytes). */
#define INODE_SIZE 256
#define DI_MODE 0
#define DI_UID 4
#define DI_CSUM 252

static const char *mkfs_path;
static char golden_path[256];
static uint8_t *golden;
/* mkfs --dim 4 --metric l2, and the same with --max-vectors 4. */
static uint8_t *golden_vec, *golden_vec4;
/* The image the next run() starts from (NULL: golden). */
static const uint8_t *fixture;

static struct {
	struct vexfs_shim_sb sb;
	uint8_t *img;
	struct vexfs_fs *fs;
	struct vexfs_mount_info info;
} F;

#define NM(s) (const uint8_t *)(s), strlen(s)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78U & (0U - (crc & 1)));
	}
	return ~crc;
}

static void reseal_super(uint8_t *img)
{
	uint32_t c = crc32c(0, img, SB_CSUM);

	for (int i = 0; i < 4; i++)
		img[SB_CSUM + i] = (uint8_t)(c >> (8 * i));
}

static uint8_t *inode_ptr(uint8_t *img, uint64_t ino)
{
	uint64_t its = le64(img + SB_INODE_TABLE);

	return img + (its + (ino - 1) / (BS / INODE_SIZE)) * BS +
	       ((ino - 1) % (BS / INODE_SIZE)) * INODE_SIZE;
}

static void reseal_inode(uint8_t *img, uint64_t ino)
{
	uint8_t *d = inode_ptr(img, ino);
	uint8_t n[8];
	uint32_t c;

	put_le64(n, ino);
	c = crc32c(0, n, 8);
	c = crc32c(c, d, INODE_SIZE - 4);
	for (int i = 0; i < 4; i++)
		d[DI_CSUM + i] = (uint8_t)(c >> (8 * i));
}

static int mount_f(uint32_t flags)
{
	return vexfs_rust_mount(&F.sb, NBLOCKS, flags, &F.info, &F.fs);
}

#define MOUNT() OK(mount_f(0))
#define UNMOUNT() do { struct vexfs_fs *f_ = F.fs; F.fs = NULL; OK(vexfs_rust_unmount(f_)); } while (0)
#define REMOUNT() do { UNMOUNT(); MOUNT(); } while (0)

static int mk(uint64_t dir, const char *name, uint32_t mode, struct vexfs_attr *out)
{
	struct vexfs_attr tmp;

	return vexfs_rust_create(F.fs, dir, NM(name), mode, 0, 0, 0, out ? out : &tmp);
}

static int lk(uint64_t dir, const char *name, uint64_t *ino)
{
	uint64_t tmp;

	return vexfs_rust_lookup(F.fs, dir, NM(name), ino ? ino : &tmp);
}

static struct vexfs_statfs stfs(void)
{
	struct vexfs_statfs s;

	memset(&s, 0xff, sizeof(s));
	if (vexfs_rust_statfs(F.fs, &s) != 0)
		memset(&s, 0xff, sizeof(s));
	return s;
}

/* A zeroed "handle" of plausible size: the wrong magic must give -EBADF. */
static struct vexfs_fs *bad_handle(void)
{
	return calloc(1, 4096);
}

static char long_name[257];	/* 256 bytes */
static char max_name[256];	/* 255 bytes */

typedef void (*test_fn)(void);

static void run(const char *name, test_fn fn)
{
	cur_test = name;
	cur_failed = 0;
	cur_why[0] = '\0';
	F.img = malloc(NBLOCKS * BS);
	if (!F.img) {
		perror("malloc");
		exit(2);
	}
	memcpy(F.img, fixture ? fixture : golden, NBLOCKS * BS);
	shim_open_mem(&F.sb, F.img, NBLOCKS);
	F.fs = NULL;
	fn();
	if (F.fs) {
		vexfs_rust_unmount(F.fs);
		F.fs = NULL;
	}
	if (!cur_failed) {
		if (F.sb.held || F.sb.locks != F.sb.unlocks)
			fail_at(0, "lock left held (locks %lu, unlocks %lu)",
				F.sb.locks, F.sb.unlocks);
		else if (F.sb.violations)
			fail_at(0, "shim contract violation: %s", F.sb.last_violation);
	}
	shim_close(&F.sb);
	free(F.img);
	F.img = NULL;
	if (cur_failed) {
		n_fail++;
		printf("FAIL %s: %s\n", name, cur_why);
	} else {
		n_pass++;
		printf("PASS %s\n", name);
	}
	fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* mount / unmount                                                     */

static void t_mount_info(void)
{
	struct vexfs_attr a;

	MOUNT();
	CHECK(F.fs != NULL);
	UEQ(F.info.root_ino, ROOT);
	UEQ(F.info.block_size, 4096);
	UEQ(F.info.name_max, 255);
	UEQ(F.info.magic, VEXFS_SUPER_MAGIC);
	UEQ(F.info.max_file_size, MAX_FILE_BLOCKS * BS);
	UEQ(F.info.read_only, 0);
	CHECK(memcmp(F.info.label, "contract", 9) == 0);
	CHECK(memcmp(F.info.uuid, golden + 48, 16) == 0);
	/* Root is a directory with two links. */
	OK(vexfs_rust_iget(F.fs, F.info.root_ino, &a));
	UEQ(a.ino, ROOT);
	UEQ(a.mode & S_IFMT, S_IFDIR);
	UEQ(a.nlink, 2);
	OK(vexfs_rust_evict(F.fs, ROOT, 0));
	UNMOUNT();
	/* A clean unmount leaves the superblock clean. */
	UEQ(F.img[SB_STATE], STATE_CLEAN);
}

static void t_mount_bad_args(void)
{
	struct vexfs_mount_info info;
	struct vexfs_fs *out = (struct vexfs_fs *)0x1;

	ERR(vexfs_rust_mount(NULL, NBLOCKS, 0, &info, &out), -EINVAL);
	ERR(vexfs_rust_mount(&F.sb, NBLOCKS, 0, NULL, &out), -EINVAL);
	ERR(vexfs_rust_mount(&F.sb, NBLOCKS, 0, &info, NULL), -EINVAL);
	ERR(vexfs_rust_mount(&F.sb, NBLOCKS, 0x2, &info, &out), -EINVAL);
	ERR(vexfs_rust_mount(&F.sb, NBLOCKS, 0x80000000u, &info, &out), -EINVAL);
	CHECK(out == (struct vexfs_fs *)0x1);	/* untouched on failure */
	UEQ(F.sb.reads, 0);			/* argument checks come first */
	/* A device smaller than the filesystem, or empty. */
	CHECK(vexfs_rust_mount(&F.sb, 100, 0, &info, &out) < 0);
	CHECK(vexfs_rust_mount(&F.sb, 0, 0, &info, &out) < 0);
	CHECK(out == (struct vexfs_fs *)0x1);
}

static void t_mount_zeroed_image(void)
{
	struct vexfs_mount_info info;
	struct vexfs_fs *out = NULL;

	memset(F.img, 0, NBLOCKS * BS);
	ERR(vexfs_rust_mount(&F.sb, NBLOCKS, 0, &info, &out), -EINVAL);
	CHECK(out == NULL);
	ERR(vexfs_rust_mount(&F.sb, NBLOCKS, VEXFS_MOUNT_RDONLY, &info, &out), -EINVAL);
	/* Nothing was written to a device that is not ours. */
	UEQ(F.sb.writes, 0);
}

static void t_mount_corrupt_superblock(void)
{
	struct vexfs_mount_info info;
	struct vexfs_fs *out = NULL;
	unsigned long logs = shim_log_count;

	F.img[SB_LABEL + 3] ^= 0x40;	/* one byte, checksum now wrong */
	ERR(vexfs_rust_mount(&F.sb, NBLOCKS, 0, &info, &out), -EUCLEAN);
	CHECK(out == NULL);
	CHECK(shim_log_count > logs);
	UEQ(shim_last_log_level, VEXFS_LOG_ERR);
	CHECK(strstr(shim_last_log, "checksum") != NULL);
	UEQ(F.sb.writes, 0);
	/* A consistent but impossible layout is damage too. */
	F.img[SB_LABEL + 3] ^= 0x40;
	put_le64(F.img + SB_DATA_START, le64(F.img + SB_DATA_START) + 1);
	reseal_super(F.img);
	logs = shim_log_count;
	ERR(vexfs_rust_mount(&F.sb, NBLOCKS, 0, &info, &out), -EUCLEAN);
	CHECK(shim_log_count > logs);
}

static void t_mount_features(void)
{
	struct vexfs_mount_info info;
	struct vexfs_fs *out = NULL;
	unsigned long logs = shim_log_count;

	/* Unknown incompat feature: refuse. */
	put_le64(F.img + SB_INCOMPAT, 1ULL << 17);
	reseal_super(F.img);
	ERR(vexfs_rust_mount(&F.sb, NBLOCKS, 0, &info, &out), -EINVAL);
	CHECK(shim_log_count > logs);
	/* The unwritten-extent feature (1 << 2) is known: it mounts. */
	put_le64(F.img + SB_INCOMPAT, 1ULL << 2);
	reseal_super(F.img);
	MOUNT();
	UEQ(F.info.read_only, 0);
	UNMOUNT();
	put_le64(F.img + SB_INCOMPAT, (1ULL << 2) | (1ULL << 3));
	reseal_super(F.img);
	ERR(vexfs_rust_mount(&F.sb, NBLOCKS, 0, &info, &out), -EINVAL);
	/* Unknown ro_compat feature: mount read-only and say so. */
	put_le64(F.img + SB_INCOMPAT, 0);
	put_le64(F.img + SB_RO_COMPAT, 1ULL << 9);
	reseal_super(F.img);
	logs = shim_log_count;
	MOUNT();
	UEQ(F.info.read_only, 1);
	CHECK(shim_log_count > logs);
	CHECK(strstr(shim_last_log, "read-only") != NULL);
	ERR(mk(ROOT, "x", S_IFREG | 0644, NULL), -EROFS);
	UNMOUNT();
}

static void t_mount_rdonly(void)
{
	struct vexfs_attr a;
	struct vexfs_map m;
	uint64_t ino;

	/* Put a file there first. */
	MOUNT();
	OK(mk(ROOT, "file", S_IFREG | 0644, &a));
	OK(vexfs_rust_get_block(F.fs, a.ino, 0, 1, 1, &m));
	UNMOUNT();
	uint8_t *before = malloc(NBLOCKS * BS);
	CHECK(before != NULL);
	memcpy(before, F.img, NBLOCKS * BS);
	unsigned long writes = F.sb.writes;

	OK(mount_f(VEXFS_MOUNT_RDONLY));
	UEQ(F.info.read_only, 1);
	OK(lk(ROOT, "file", &ino));
	UEQ(ino, a.ino);
	OK(vexfs_rust_getattr(F.fs, ino, &a));
	ERR(mk(ROOT, "new", S_IFREG | 0644, NULL), -EROFS);
	ERR(mk(ROOT, "newdir", S_IFDIR | 0755, NULL), -EROFS);
	ERR(vexfs_rust_link(F.fs, ROOT, NM("l"), ino), -EROFS);
	ERR(vexfs_rust_unlink(F.fs, ROOT, NM("file")), -EROFS);
	ERR(vexfs_rust_rename(F.fs, ROOT, NM("file"), ROOT, NM("f2"), 0), -EROFS);
	ERR(vexfs_rust_write_inode(F.fs, &a), -EROFS);
	ERR(vexfs_rust_truncate(F.fs, ino, 0), -EROFS);
	/* Mapping works, allocating does not. */
	OK(vexfs_rust_get_block(F.fs, ino, 0, 1, 0, &m));
	CHECK(m.len == 1);
	OK(vexfs_rust_get_block(F.fs, ino, 5, 1, 0, &m));
	UEQ(m.len, 0);
	ERR(vexfs_rust_get_block(F.fs, ino, 5, 1, 1, &m), -EROFS);
	OK(vexfs_rust_sync(F.fs));
	UNMOUNT();
	/* Read-only means nothing written, not even the superblock. */
	UEQ(F.sb.writes, writes);
	CHECK(memcmp(before, F.img, NBLOCKS * BS) == 0);
	free(before);
}

static void t_unmount_errors(void)
{
	struct vexfs_fs *bad = bad_handle();
	long live;

	ERR(vexfs_rust_unmount(NULL), -EINVAL);
	ERR(vexfs_rust_unmount(bad), -EBADF);
	free(bad);	/* the core must not have freed it (ASan double free otherwise) */
	/* Mount + unmount gives back every allocation (the handle, the core). */
	live = shim_live_allocs;
	MOUNT();
	OK(mk(ROOT, "a", S_IFREG | 0644, NULL));
	CHECK(shim_live_allocs > live);
	UNMOUNT();
	EQ(shim_live_allocs, live);
	/* Unmount frees the handle even when the final write fails. */
	MOUNT();
	shim_inject(&F.sb, 0, 100, 100);
	ERR(vexfs_rust_unmount(F.fs), -EIO);
	F.fs = NULL;
	shim_inject(&F.sb, 0, 0, 0);
	EQ(shim_live_allocs, live);
}

static void t_remount(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a;
	unsigned long writes;

	MOUNT();
	ERR(vexfs_rust_remount(NULL, VEXFS_MOUNT_RDONLY), -EINVAL);
	ERR(vexfs_rust_remount(bad, VEXFS_MOUNT_RDONLY), -EBADF);
	free(bad);
	ERR(vexfs_rust_remount(F.fs, 2), -EINVAL);
	ERR(vexfs_rust_remount(F.fs, 0x80000001u), -EINVAL);
	OK(vexfs_rust_remount(F.fs, 0));	/* rw -> rw: nothing to do */
	OK(mk(ROOT, "a", S_IFREG | 0644, &a));
	/* rw -> ro: the superblock is written clean, then nothing more. */
	OK(vexfs_rust_remount(F.fs, VEXFS_MOUNT_RDONLY));
	UEQ(F.img[SB_STATE], STATE_CLEAN);
	writes = F.sb.writes;
	OK(vexfs_rust_remount(F.fs, VEXFS_MOUNT_RDONLY));
	ERR(mk(ROOT, "b", S_IFREG | 0644, NULL), -EROFS);
	ERR(vexfs_rust_truncate(F.fs, a.ino, 0), -EROFS);
	OK(lk(ROOT, "a", NULL));
	OK(vexfs_rust_sync(F.fs));
	UEQ(F.sb.writes, writes);
	/* ro -> rw: writable again. */
	OK(vexfs_rust_remount(F.fs, 0));
	OK(mk(ROOT, "b", S_IFREG | 0644, NULL));
	UNMOUNT();
	/* Mounted read-only, then remounted read-write. */
	OK(mount_f(VEXFS_MOUNT_RDONLY));
	ERR(mk(ROOT, "c", S_IFREG | 0644, NULL), -EROFS);
	OK(vexfs_rust_remount(F.fs, 0));
	OK(mk(ROOT, "c", S_IFREG | 0644, NULL));
	UNMOUNT();
	MOUNT();
	OK(lk(ROOT, "c", NULL));
	UNMOUNT();
	/* Unknown ro_compat features: read-write is refused. */
	put_le64(F.img + SB_RO_COMPAT, 1ULL << 9);
	reseal_super(F.img);
	shim_log_quiet = 1;
	MOUNT();
	shim_log_quiet = 0;
	UEQ(F.info.read_only, 1);
	ERR(vexfs_rust_remount(F.fs, 0), -EROFS);
	OK(vexfs_rust_remount(F.fs, VEXFS_MOUNT_RDONLY));
	UNMOUNT();
}

static void t_remount_after_corruption(void)
{
	struct vexfs_attr v, r;

	MOUNT();
	OK(mk(ROOT, "victim", S_IFREG | 0644, &v));
	UNMOUNT();
	inode_ptr(F.img, v.ino)[DI_UID] ^= 0x01;
	MOUNT();
	shim_log_quiet = 1;
	ERR(vexfs_rust_iget(F.fs, v.ino, &r), -EUCLEAN);
	shim_log_quiet = 0;
	/* Going read-only is fine and records the error; back to rw is not. */
	OK(vexfs_rust_remount(F.fs, VEXFS_MOUNT_RDONLY));
	UEQ(F.img[SB_STATE], STATE_ERRORS);
	ERR(vexfs_rust_remount(F.fs, 0), -EROFS);
	ERR(mk(ROOT, "new", S_IFREG | 0644, NULL), -EROFS);
	UNMOUNT();
}

/* ------------------------------------------------------------------ */
/* journal commits                                                     */

/* Mount a copy of the image as it is now (what a crash would leave) and
 * look @name up: 1 found, 0 not, -1 the copy did not mount. */
static int crash_copy_has(const char *name)
{
	struct vexfs_shim_sb sb;
	struct vexfs_mount_info info;
	struct vexfs_fs *fs;
	uint8_t *img = malloc(NBLOCKS * BS);
	uint64_t ino;
	int found = -1;

	if (!img)
		return -1;
	memcpy(img, F.img, NBLOCKS * BS);
	shim_open_mem(&sb, img, NBLOCKS);
	if (vexfs_rust_mount(&sb, NBLOCKS, 0, &info, &fs) == 0) {
		found = vexfs_rust_lookup(fs, ROOT, NM(name), &ino) == 0;
		if (vexfs_rust_unmount(fs))
			found = -1;
	}
	shim_close(&sb);
	free(img);
	return found;
}

/* A commit whose first write fails: the journal aborts. */
static int commit_with_failing_write(void)
{
	int err;

	shim_log_quiet = 1;
	shim_inject(&F.sb, 0, 1, 0);
	err = vexfs_rust_commit(F.fs, 0);
	shim_inject(&F.sb, 0, 0, 0);
	shim_log_quiet = 0;
	return err;
}

static void t_commit(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a;
	struct vexfs_map m;
	uint64_t inos[4];
	uint32_t n = 99;
	unsigned long flushes, writes;
	int i;

	MOUNT();
	ERR(vexfs_rust_commit(NULL, 0), -EINVAL);
	ERR(vexfs_rust_commit(bad, 0), -EBADF);
	ERR(vexfs_rust_ordered_take(NULL, inos, 4, &n), -EINVAL);
	ERR(vexfs_rust_ordered_take(bad, inos, 4, &n), -EBADF);
	ERR(vexfs_rust_commit_due(NULL), -EINVAL);
	ERR(vexfs_rust_commit_due(bad), -EBADF);
	free(bad);
	EQ(vexfs_rust_commit_due(F.fs), 0);
	ERR(vexfs_rust_commit(F.fs, 4), -EINVAL);
	ERR(vexfs_rust_ordered_take(F.fs, NULL, 4, &n), -EINVAL);
	ERR(vexfs_rust_ordered_take(F.fs, inos, 0, &n), -EINVAL);
	ERR(vexfs_rust_ordered_take(F.fs, inos, 4, NULL), -EINVAL);
	/* Nothing pending: no flush unless asked for one (fsync). */
	OK(vexfs_rust_commit(F.fs, 0));
	flushes = F.sb.flushes;
	OK(vexfs_rust_commit(F.fs, 0));
	UEQ(F.sb.flushes, flushes);
	OK(vexfs_rust_commit(F.fs, VEXFS_COMMIT_FLUSH));
	UEQ(F.sb.flushes, flushes + 1);

	/* A create is in no crash image until it commits. */
	OK(mk(ROOT, "j", S_IFREG | 0644, &a));
	EQ(crash_copy_has("j"), 0);
	/* New data blocks: the commit waits until the inode is handed out. */
	OK(vexfs_rust_get_block(F.fs, a.ino, 0, 1, 1, &m));
	UEQ(m.new_blocks, 1);
	ERR(vexfs_rust_commit(F.fs, 0), -EAGAIN);
	EQ(crash_copy_has("j"), 0);
	OK(vexfs_rust_ordered_take(F.fs, inos, 4, &n));
	UEQ(n, 1);
	UEQ(inos[0], a.ino);
	OK(vexfs_rust_ordered_take(F.fs, inos, 4, &n));
	UEQ(n, 0);
	flushes = F.sb.flushes;
	OK(vexfs_rust_commit(F.fs, 0));
	UEQ(F.sb.flushes, flushes + 2);	/* log (and data), then the commit block */
	EQ(crash_copy_has("j"), 1);
	/* Mapping an existing block is not an allocation. */
	OK(vexfs_rust_get_block(F.fs, a.ino, 0, 1, 1, &m));
	UEQ(m.new_blocks, 0);
	OK(vexfs_rust_ordered_take(F.fs, inos, 4, &n));
	UEQ(n, 0);

	/* A growing transaction asks the shim for a commit, once. */
	F.sb.commit_hints = 0;
	for (i = 0; i < 400 && !F.sb.commit_hints; i++) {
		char name[16];

		snprintf(name, sizeof(name), "d%d", i);
		OK(mk(ROOT, name, S_IFDIR | 0755, NULL));
	}
	UEQ(F.sb.commit_hints, 1);
	EQ(vexfs_rust_commit_due(F.fs), 1);
	OK(vexfs_rust_commit(F.fs, VEXFS_COMMIT_INDEX));
	EQ(crash_copy_has("d0"), 1);
	EQ(vexfs_rust_commit_due(F.fs), 0);

	/* Freeing most of the free space makes a commit due: freed blocks are
	 * not allocatable until their transaction commits. */
	OK(vexfs_rust_get_block(F.fs, a.ino, 1, 3000, 1, &m));
	CHECK(m.len > 2000);
	OK(vexfs_rust_ordered_take(F.fs, inos, 4, &n));
	OK(vexfs_rust_commit(F.fs, 0));
	EQ(vexfs_rust_commit_due(F.fs), 0);
	OK(vexfs_rust_truncate(F.fs, a.ino, 0));
	EQ(vexfs_rust_commit_due(F.fs), 1);
	OK(vexfs_rust_commit(F.fs, 0));
	EQ(vexfs_rust_commit_due(F.fs), 0);
	/* A failed commit refuses further changes. */
	OK(mk(ROOT, "k", S_IFREG | 0644, NULL));
	EQ(commit_with_failing_write(), -EIO);
	ERR(mk(ROOT, "l", S_IFREG | 0644, NULL), -EROFS);
	/* The unmount reports the aborted journal; "k" never reached the disk. */
	ERR(vexfs_rust_unmount(F.fs), -EIO);
	F.fs = NULL;
	MOUNT();
	OK(mk(ROOT, "m", S_IFREG | 0644, NULL));
	EQ(commit_with_failing_write(), -EIO);
	/* After an abort, going read-only still works and writes nothing. */
	writes = F.sb.writes;
	OK(vexfs_rust_remount(F.fs, VEXFS_MOUNT_RDONLY));
	UNMOUNT();
	UEQ(F.sb.writes, writes);
	MOUNT();
	ERR(lk(ROOT, "m", NULL), -ENOENT);
	ERR(lk(ROOT, "k", NULL), -ENOENT);
	OK(lk(ROOT, "d0", NULL));
	UNMOUNT();
}

/* ------------------------------------------------------------------ */
/* sync / statfs                                                       */

static void t_sync(void)
{
	struct vexfs_fs *bad = bad_handle();
	unsigned long flushes;

	MOUNT();
	ERR(vexfs_rust_sync(NULL), -EINVAL);
	ERR(vexfs_rust_sync(bad), -EBADF);
	free(bad);
	flushes = F.sb.flushes;
	OK(vexfs_rust_sync(F.fs));
	CHECK(F.sb.flushes > flushes);
	shim_inject(&F.sb, 0, 0, 1);
	ERR(vexfs_rust_sync(F.fs), -EIO);
	OK(vexfs_rust_sync(F.fs));
	UNMOUNT();
}

static void t_statfs(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_statfs s, s2;

	MOUNT();
	ERR(vexfs_rust_statfs(NULL, &s), -EINVAL);
	ERR(vexfs_rust_statfs(F.fs, NULL), -EINVAL);
	ERR(vexfs_rust_statfs(bad, &s), -EBADF);
	free(bad);
	OK(vexfs_rust_statfs(F.fs, &s));
	UEQ(s.bsize, 4096);
	UEQ(s.namelen, 255);
	UEQ(s.blocks, le64(golden + SB_BLOCK_COUNT) - le64(golden + SB_DATA_START));
	UEQ(s.files, le64(golden + SB_INODE_COUNT));
	UEQ(s.ffree, s.files - 1);	/* only the root */
	CHECK(s.bfree > 0 && s.bfree <= s.blocks);
	UEQ(s.bavail, s.bfree);
	CHECK(s.fsid != 0);
	OK(mk(ROOT, "f", S_IFREG | 0644, NULL));
	OK(vexfs_rust_statfs(F.fs, &s2));
	UEQ(s2.ffree, s.ffree - 1);
	UEQ(s2.fsid, s.fsid);
	UNMOUNT();
}

/* ------------------------------------------------------------------ */
/* iget / getattr / write_inode / evict                                */

static void t_iget_getattr(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a, c, g;

	MOUNT();
	ERR(vexfs_rust_iget(NULL, ROOT, &a), -EINVAL);
	ERR(vexfs_rust_iget(F.fs, ROOT, NULL), -EINVAL);
	ERR(vexfs_rust_iget(bad, ROOT, &a), -EBADF);
	ERR(vexfs_rust_getattr(NULL, ROOT, &a), -EINVAL);
	ERR(vexfs_rust_getattr(F.fs, ROOT, NULL), -EINVAL);
	ERR(vexfs_rust_getattr(bad, ROOT, &a), -EBADF);
	free(bad);
	/* A free inode is stale (NFS handles, races with unlink). */
	ERR(vexfs_rust_iget(F.fs, 77, &a), -ESTALE);
	ERR(vexfs_rust_getattr(F.fs, 77, &a), -ESTALE);
	OK(vexfs_rust_create(F.fs, ROOT, NM("f"), S_IFREG | 0640, 1000, 100, 0, &c));
	CHECK(c.ino > ROOT);
	UEQ(c.mode, S_IFREG | 0640);
	UEQ(c.uid, 1000);
	UEQ(c.gid, 100);
	UEQ(c.nlink, 1);
	UEQ(c.size, 0);
	UEQ(c.blocks, 0);
	CHECK(c.mtime_sec > 1600000000 && c.mtime_nsec < 1000000000u);
	OK(vexfs_rust_iget(F.fs, c.ino, &a));
	OK(vexfs_rust_getattr(F.fs, c.ino, &g));
	CHECK(memcmp(&a, &c, sizeof(a)) == 0);
	CHECK(memcmp(&g, &c, sizeof(g)) == 0);
	/* Root's link count follows subdirectories. */
	OK(mk(ROOT, "d", S_IFDIR | 0755, &c));
	UEQ(c.nlink, 2);
	OK(vexfs_rust_getattr(F.fs, ROOT, &g));
	UEQ(g.nlink, 3);
	UNMOUNT();
}

/* Inode numbers from the caller (NFS file handles, a confused shim) are not
 * on-disk references: a bad one must fail that call, not flag the whole
 * filesystem as corrupt and turn it read-only. */
static void t_iget_out_of_range_is_not_corruption(void)
{
	struct vexfs_attr a;
	uint64_t count = le64(golden + SB_INODE_COUNT);
	int r0, r1;

	MOUNT();
	r0 = vexfs_rust_iget(F.fs, 0, &a);
	r1 = vexfs_rust_getattr(F.fs, count + 1, &a);
	CHECK(r0 < 0 && r1 < 0);
	/* The filesystem must still be writable. */
	if (mk(ROOT, "after", S_IFREG | 0644, NULL) != 0)
		FAILF("iget(0) = %s, getattr(inode_count + 1) = %s, and afterwards "
		      "create = %s: an out-of-range inode number from the caller "
		      "marked the filesystem corrupt",
		      en(r0), en(r1), en(mk(ROOT, "after2", S_IFREG | 0644, NULL)));
	UNMOUNT();
	UEQ(F.img[SB_STATE], STATE_CLEAN);
}

static void t_write_inode(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a, g;

	MOUNT();
	OK(mk(ROOT, "f", S_IFREG | 0644, &a));
	ERR(vexfs_rust_write_inode(NULL, &a), -EINVAL);
	ERR(vexfs_rust_write_inode(F.fs, NULL), -EINVAL);
	ERR(vexfs_rust_write_inode(bad, &a), -EBADF);
	free(bad);
	a.mode = S_IFREG | 04711;
	a.uid = 1234;
	a.gid = 5678;
	a.size = 12345;
	a.atime_sec = 1000000001;
	a.atime_nsec = 5;
	a.mtime_sec = 1000000002;
	a.mtime_nsec = 6;
	a.ctime_sec = 1000000003;
	a.ctime_nsec = 999999999;
	a.nlink = 42;	/* the core's: ignored */
	a.blocks = 800;	/* the core's: ignored */
	OK(vexfs_rust_write_inode(F.fs, &a));
	OK(vexfs_rust_evict(F.fs, a.ino, 0));
	UNMOUNT();
	MOUNT();
	OK(vexfs_rust_getattr(F.fs, a.ino, &g));
	UEQ(g.mode, S_IFREG | 04711);
	UEQ(g.uid, 1234);
	UEQ(g.gid, 5678);
	UEQ(g.size, 12345);
	EQ(g.atime_sec, 1000000001);
	UEQ(g.atime_nsec, 5);
	EQ(g.mtime_sec, 1000000002);
	UEQ(g.mtime_nsec, 6);
	EQ(g.ctime_sec, 1000000003);
	UEQ(g.ctime_nsec, 999999999);
	UEQ(g.nlink, 1);
	UEQ(g.blocks, 0);
	UEQ(g.generation, a.generation);
	/* The file type cannot change; the size is bounded. */
	g.mode = S_IFDIR | 0755;
	ERR(vexfs_rust_write_inode(F.fs, &g), -EINVAL);
	g.mode = S_IFREG | 0644;
	g.size = MAX_FILE_BLOCKS * BS + 1;
	ERR(vexfs_rust_write_inode(F.fs, &g), -EFBIG);
	g.size = MAX_FILE_BLOCKS * BS;
	OK(vexfs_rust_write_inode(F.fs, &g));
	/* A free inode. */
	g.ino = 77;
	ERR(vexfs_rust_write_inode(F.fs, &g), -ESTALE);
	UNMOUNT();
}

static void t_evict(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a, g;
	struct vexfs_statfs s0, s1;
	struct vexfs_map m;
	uint64_t ino;

	MOUNT();
	ERR(vexfs_rust_evict(NULL, ROOT, 0), -EINVAL);
	ERR(vexfs_rust_evict(bad, ROOT, 0), -EBADF);
	free(bad);
	/* Evicting an inode nobody holds is a no-op. */
	OK(vexfs_rust_evict(F.fs, 77, 0));
	OK(vexfs_rust_evict(F.fs, 77, 1));
	OK(mk(ROOT, "first", S_IFREG | 0644, NULL));	/* root's first block */
	s0 = stfs();
	/* Unlinked while the kernel holds it: lives until evict. */
	OK(mk(ROOT, "f", S_IFREG | 0644, &a));
	OK(vexfs_rust_get_block(F.fs, a.ino, 0, 4, 1, &m));
	CHECK(m.len >= 1);
	OK(vexfs_rust_unlink(F.fs, ROOT, NM("f")));
	ERR(lk(ROOT, "f", NULL), -ENOENT);
	OK(vexfs_rust_getattr(F.fs, a.ino, &g));
	UEQ(g.nlink, 0);
	s1 = stfs();
	UEQ(s1.ffree, s0.ffree - 1);
	OK(vexfs_rust_evict(F.fs, a.ino, 1));
	s1 = stfs();
	UEQ(s1.ffree, s0.ffree);
	UEQ(s1.bfree, s0.bfree);
	ERR(vexfs_rust_getattr(F.fs, a.ino, &g), -ESTALE);
	/* A linked inode survives eviction (delete_inode = 0). */
	OK(mk(ROOT, "keep", S_IFREG | 0644, &a));
	OK(vexfs_rust_evict(F.fs, a.ino, 0));
	OK(lk(ROOT, "keep", &ino));
	UEQ(ino, a.ino);
	/* Two pins need two evicts. */
	OK(mk(ROOT, "two", S_IFREG | 0644, &a));
	OK(vexfs_rust_iget(F.fs, a.ino, &g));
	OK(vexfs_rust_unlink(F.fs, ROOT, NM("two")));
	OK(vexfs_rust_evict(F.fs, a.ino, 1));
	OK(vexfs_rust_getattr(F.fs, a.ino, &g));
	OK(vexfs_rust_evict(F.fs, a.ino, 1));
	ERR(vexfs_rust_getattr(F.fs, a.ino, &g), -ESTALE);
	UNMOUNT();
}

/* The header: "free it if it has no links left". An inode with links must
 * survive evict whatever delete_inode says. */
static void t_evict_delete_keeps_linked_inode(void)
{
	struct vexfs_attr a, g;
	uint64_t ino = 0;
	int r;

	MOUNT();
	OK(mk(ROOT, "linked", S_IFREG | 0644, &a));
	OK(vexfs_rust_evict(F.fs, a.ino, 1));
	OK(vexfs_rust_getattr(F.fs, a.ino, &g));
	r = lk(ROOT, "linked", &ino);
	if (r != 0)
		FAILF("evict(ino, delete_inode=1) freed inode %" PRIu64 " that still has "
		      "nlink %u; lookup of its name now returns %s",
		      a.ino, g.nlink, en(r));
	UEQ(ino, a.ino);
	UNMOUNT();
}

/* ------------------------------------------------------------------ */
/* lookup / create                                                     */

static void t_lookup(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a;
	uint64_t ino = 0;

	MOUNT();
	OK(mk(ROOT, "file", S_IFREG | 0644, &a));
	OK(lk(ROOT, "file", &ino));
	UEQ(ino, a.ino);
	ERR(lk(ROOT, "nope", &ino), -ENOENT);
	ERR(lk(ROOT, "fil", &ino), -ENOENT);
	ERR(lk(ROOT, "file2", &ino), -ENOENT);
	ERR(lk(ROOT, long_name, &ino), -ENAMETOOLONG);
	ERR(lk(ROOT, max_name, &ino), -ENOENT);
	ERR(vexfs_rust_lookup(F.fs, ROOT, (const uint8_t *)"x", 0, &ino), -EINVAL);
	ERR(vexfs_rust_lookup(F.fs, ROOT, NULL, 1, &ino), -EINVAL);
	ERR(vexfs_rust_lookup(F.fs, ROOT, NM("file"), NULL), -EINVAL);
	ERR(vexfs_rust_lookup(NULL, ROOT, NM("file"), &ino), -EINVAL);
	ERR(vexfs_rust_lookup(bad, ROOT, NM("file"), &ino), -EBADF);
	free(bad);
	ERR(lk(a.ino, "x", &ino), -ENOTDIR);
	ERR(lk(77, "x", &ino), -ESTALE);
	/* The name is bytes with a length: no NUL needed, none honoured. */
	ERR(vexfs_rust_lookup(F.fs, ROOT, (const uint8_t *)"file\0junk", 9, &ino), -ENOENT);
	OK(vexfs_rust_lookup(F.fs, ROOT, (const uint8_t *)"filejunk", 4, &ino));
	UEQ(ino, a.ino);
	UNMOUNT();
}

static void t_create(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a, d, g;
	uint64_t ino;

	MOUNT();
	ERR(vexfs_rust_create(NULL, ROOT, NM("a"), S_IFREG | 0644, 0, 0, 0, &a), -EINVAL);
	ERR(vexfs_rust_create(bad, ROOT, NM("a"), S_IFREG | 0644, 0, 0, 0, &a), -EBADF);
	free(bad);
	ERR(vexfs_rust_create(F.fs, ROOT, NM("a"), S_IFREG | 0644, 0, 0, 0, NULL), -EINVAL);
	ERR(vexfs_rust_create(F.fs, ROOT, NULL, 1, S_IFREG | 0644, 0, 0, 0, &a), -EINVAL);
	ERR(vexfs_rust_create(F.fs, ROOT, (const uint8_t *)"a", 0, S_IFREG | 0644, 0, 0, 0, &a), -EINVAL);
	ERR(mk(ROOT, long_name, S_IFREG | 0644, &a), -ENAMETOOLONG);
	ERR(mk(ROOT, ".", S_IFREG | 0644, &a), -EINVAL);
	ERR(mk(ROOT, "..", S_IFDIR | 0755, &a), -EINVAL);
	ERR(mk(ROOT, "a/b", S_IFREG | 0644, &a), -EINVAL);
	ERR(vexfs_rust_create(F.fs, ROOT, (const uint8_t *)"a\0b", 3, S_IFREG | 0644, 0, 0, 0, &a), -EINVAL);
	ERR(mk(ROOT, "nomode", 0644, &a), -EINVAL);
	ERR(mk(77, "a", S_IFREG | 0644, &a), -ESTALE);
	/* Every file type. */
	OK(mk(ROOT, max_name, S_IFREG | 0644, &a));
	OK(lk(ROOT, max_name, &ino));
	UEQ(ino, a.ino);
	OK(mk(ROOT, "dir", S_IFDIR | 0755, &d));
	UEQ(d.mode, S_IFDIR | 0755);
	UEQ(d.nlink, 2);
	OK(mk(ROOT, "lnk", S_IFLNK | 0777, &g));
	UEQ(g.mode & S_IFMT, S_IFLNK);
	OK(mk(ROOT, "fifo", S_IFIFO | 0600, &g));
	OK(mk(ROOT, "sock", S_IFSOCK | 0600, &g));
	OK(vexfs_rust_create(F.fs, ROOT, NM("chr"), S_IFCHR | 0600, 0, 0, (1u << 20) | 3, &g));
	UEQ(g.rdev, (1u << 20) | 3);
	OK(mk(ROOT, "blk", S_IFBLK | 0600, &g));
	/* Errors. */
	ERR(mk(ROOT, "dir", S_IFREG | 0644, &g), -EEXIST);
	ERR(mk(ROOT, max_name, S_IFDIR | 0755, &g), -EEXIST);
	ERR(mk(a.ino, "x", S_IFREG | 0644, &g), -ENOTDIR);
	/* In a subdirectory. */
	OK(mk(d.ino, "inner", S_IFREG | 0644, &g));
	OK(lk(d.ino, "inner", &ino));
	ERR(lk(ROOT, "inner", &ino), -ENOENT);
	/* All of it persists. */
	REMOUNT();
	OK(lk(ROOT, "chr", &ino));
	OK(vexfs_rust_getattr(F.fs, ino, &g));
	UEQ(g.rdev, (1u << 20) | 3);
	UEQ(g.mode, S_IFCHR | 0600);
	OK(lk(d.ino, "inner", &ino));
	UNMOUNT();
}

static void t_create_enospc(void)
{
	struct vexfs_statfs s;
	struct vexfs_attr a;
	char name[32];
	uint64_t n = 0, ffree;
	int r = 0;

	MOUNT();
	shim_log_quiet = 1;
	ffree = stfs().ffree;
	for (;;) {
		snprintf(name, sizeof(name), "f%05" PRIu64, n);
		r = mk(ROOT, name, S_IFREG | 0644, &a);
		if (r != 0)
			break;
		OK(vexfs_rust_evict(F.fs, a.ino, 0));
		if (++n > ffree + 10)
			break;
	}
	shim_log_quiet = 0;
	ERR(r, -ENOSPC);
	UEQ(n, ffree);
	s = stfs();
	UEQ(s.ffree, 0);
	/* The failed create left nothing behind. */
	ERR(lk(ROOT, name, NULL), -ENOENT);
	OK(vexfs_rust_unlink(F.fs, ROOT, NM("f00007")));
	UEQ(stfs().ffree, 1);
	OK(mk(ROOT, "again", S_IFREG | 0644, NULL));
	REMOUNT();
	UEQ(stfs().ffree, 0);
	UNMOUNT();
}

/* ------------------------------------------------------------------ */
/* link / unlink / rmdir                                               */

/* Parent hints: what the shim walks to check search permission on query hits. */
static uint64_t par(uint64_t ino)
{
	uint64_t p = 0xdeadbeef;

	if (vexfs_rust_parent(F.fs, ino, &p) != 0)
		return 0xdeadbeef;
	return p;
}

static void t_parent(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a, b, d, e, s;
	uint64_t p;

	MOUNT();
	ERR(vexfs_rust_parent(NULL, ROOT, &p), -EINVAL);
	ERR(vexfs_rust_parent(bad, ROOT, &p), -EBADF);
	free(bad);
	ERR(vexfs_rust_parent(F.fs, ROOT, NULL), -EINVAL);
	ERR(vexfs_rust_parent(F.fs, 0, &p), -ESTALE);
	ERR(vexfs_rust_parent(F.fs, 77, &p), -ESTALE);
	ERR(vexfs_rust_parent(F.fs, UINT64_MAX, &p), -ESTALE);
	OK(mk(ROOT, "d", S_IFDIR | 0755, &d));
	OK(mk(ROOT, "e", S_IFDIR | 0755, &e));
	OK(mk(d.ino, "a", S_IFREG | 0644, &a));
	OK(mk(d.ino, "b", S_IFREG | 0644, &b));
	OK(mk(e.ino, "s", S_IFLNK | 0777, &s));
	/* every kind of file starts with its directory */
	UEQ(par(d.ino), ROOT);
	UEQ(par(a.ino), d.ino);
	UEQ(par(s.ino), e.ino);
	/* a second link keeps the hint; unlinking the hinted one clears it */
	OK(vexfs_rust_link(F.fs, e.ino, NM("a2"), a.ino));
	UEQ(par(a.ino), d.ino);
	OK(vexfs_rust_unlink(F.fs, d.ino, NM("a")));
	UEQ(par(a.ino), 0);
	/* a link made while unknown sets it again */
	OK(vexfs_rust_link(F.fs, ROOT, NM("a3"), a.ino));
	UEQ(par(a.ino), ROOT);
	/* unlinking another name leaves it */
	OK(vexfs_rust_unlink(F.fs, e.ino, NM("a2")));
	UEQ(par(a.ino), ROOT);
	/* rename moves it, exchange swaps */
	OK(vexfs_rust_rename(F.fs, d.ino, NM("b"), e.ino, NM("b"), 0));
	UEQ(par(b.ino), e.ino);
	OK(vexfs_rust_rename(F.fs, e.ino, NM("b"), ROOT, NM("a3"), VEXFS_RENAME_EXCHANGE));
	UEQ(par(b.ino), ROOT);
	UEQ(par(a.ino), e.ino);
	OK(vexfs_rust_rename(F.fs, ROOT, NM("d"), e.ino, NM("d"), 0));
	UEQ(par(d.ino), e.ino);
	/* a replaced target whose hinted link is gone: unknown */
	OK(vexfs_rust_link(F.fs, d.ino, NM("bl"), b.ino));
	OK(vexfs_rust_rename(F.fs, e.ino, NM("s"), ROOT, NM("a3"), 0));
	UEQ(par(b.ino), 0);
	UEQ(par(s.ino), ROOT);
	REMOUNT();
	UEQ(par(b.ino), 0);
	UEQ(par(s.ino), ROOT);
	UEQ(par(a.ino), e.ino);
	UNMOUNT();
}

/* The hinted link's name: what the shim builds query paths from. */
static const char *lname(uint64_t ino, uint64_t *parent)
{
	static char buf[256];
	uint32_t n = 0xdead;

	*parent = 0xdeadbeef;
	memset(buf, 0, sizeof(buf));
	if (vexfs_rust_link_name(F.fs, ino, parent, (uint8_t *)buf, 255, &n) != 0 || n > 255)
		return "<error>";
	buf[n] = '\0';
	return buf;
}

#define LNAME(ino, want_parent, want_name) do {				\
	uint64_t p_;							\
	const char *n_ = lname(ino, &p_);				\
	UEQ(p_, want_parent);						\
	if (strcmp(n_, want_name))					\
		FAILF("link name of %llu: '%s', want '%s'",		\
		      (unsigned long long)(ino), n_, want_name);	\
} while (0)

static void t_link_name(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a, b, d, e, t;
	char longname[256];
	uint8_t buf[256];
	uint64_t p;
	uint32_t n;
	int i;

	MOUNT();
	ERR(vexfs_rust_link_name(NULL, ROOT, &p, buf, sizeof(buf), &n), -EINVAL);
	ERR(vexfs_rust_link_name(bad, ROOT, &p, buf, sizeof(buf), &n), -EBADF);
	free(bad);
	ERR(vexfs_rust_link_name(F.fs, ROOT, NULL, buf, sizeof(buf), &n), -EINVAL);
	ERR(vexfs_rust_link_name(F.fs, ROOT, &p, NULL, sizeof(buf), &n), -EINVAL);
	ERR(vexfs_rust_link_name(F.fs, ROOT, &p, buf, sizeof(buf), NULL), -EINVAL);
	ERR(vexfs_rust_link_name(F.fs, 0, &p, buf, sizeof(buf), &n), -ESTALE);
	ERR(vexfs_rust_link_name(F.fs, 77, &p, buf, sizeof(buf), &n), -ESTALE);
	ERR(vexfs_rust_link_name(F.fs, UINT64_MAX, &p, buf, sizeof(buf), &n), -ESTALE);
	/* the root has no name */
	LNAME(ROOT, ROOT, "");
	OK(mk(ROOT, "dir", S_IFDIR | 0755, &d));
	OK(mk(ROOT, "e", S_IFDIR | 0755, &e));
	OK(mk(d.ino, "a", S_IFREG | 0644, &a));
	memset(longname, 'n', 255);
	longname[255] = '\0';
	OK(mk(d.ino, longname, S_IFREG | 0644, &b));
	LNAME(d.ino, ROOT, "dir");
	LNAME(a.ino, d.ino, "a");
	LNAME(b.ino, d.ino, longname);
	/* room for less than the name: ERANGE; a huge cap is fine */
	ERR(vexfs_rust_link_name(F.fs, a.ino, &p, buf, 0, &n), -ERANGE);
	ERR(vexfs_rust_link_name(F.fs, b.ino, &p, buf, 254, &n), -ERANGE);
	OK(vexfs_rust_link_name(F.fs, b.ino, &p, buf, SIZE_MAX, &n));
	UEQ(n, 255);
	/* many entries before and after: still found */
	for (i = 0; i < 150; i++) {
		char nm[64];

		snprintf(nm, sizeof(nm), "pad-%03d-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", i);
		OK(mk(d.ino, nm, S_IFREG | 0644, &t));
	}
	OK(mk(d.ino, "late", S_IFREG | 0644, &t));
	LNAME(t.ino, d.ino, "late");
	OK(vexfs_rust_unlink(F.fs, d.ino, NM("pad-000-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")));
	LNAME(a.ino, d.ino, "a");
	LNAME(t.ino, d.ino, "late");
	/* rename follows, for a file and a directory */
	OK(vexfs_rust_rename(F.fs, d.ino, NM("a"), e.ino, NM("a-moved"), 0));
	LNAME(a.ino, e.ino, "a-moved");
	OK(vexfs_rust_rename(F.fs, ROOT, NM("dir"), e.ino, NM("sub"), 0));
	LNAME(d.ino, e.ino, "sub");
	/* hard links: the hint stays; removing the hinted link leaves no name */
	OK(vexfs_rust_link(F.fs, ROOT, NM("a-link"), a.ino));
	LNAME(a.ino, e.ino, "a-moved");
	OK(vexfs_rust_unlink(F.fs, e.ino, NM("a-moved")));
	LNAME(a.ino, 0, "");
	REMOUNT();
	LNAME(d.ino, e.ino, "sub");
	LNAME(t.ino, d.ino, "late");
	LNAME(a.ino, 0, "");
	UNMOUNT();
}

static void t_link(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a, d, g;
	uint64_t ino;

	MOUNT();
	OK(mk(ROOT, "f", S_IFREG | 0644, &a));
	OK(mk(ROOT, "d", S_IFDIR | 0755, &d));
	ERR(vexfs_rust_link(NULL, ROOT, NM("l"), a.ino), -EINVAL);
	ERR(vexfs_rust_link(bad, ROOT, NM("l"), a.ino), -EBADF);
	free(bad);
	ERR(vexfs_rust_link(F.fs, ROOT, NULL, 1, a.ino), -EINVAL);
	ERR(vexfs_rust_link(F.fs, ROOT, (const uint8_t *)"l", 0, a.ino), -EINVAL);
	ERR(vexfs_rust_link(F.fs, ROOT, NM(long_name), a.ino), -ENAMETOOLONG);
	OK(vexfs_rust_link(F.fs, d.ino, NM("l"), a.ino));
	OK(lk(d.ino, "l", &ino));
	UEQ(ino, a.ino);
	OK(vexfs_rust_getattr(F.fs, a.ino, &g));
	UEQ(g.nlink, 2);
	ERR(vexfs_rust_link(F.fs, d.ino, NM("l"), a.ino), -EEXIST);
	ERR(vexfs_rust_link(F.fs, ROOT, NM("d"), a.ino), -EEXIST);
	ERR(vexfs_rust_link(F.fs, ROOT, NM("d2"), d.ino), -EPERM);
	ERR(vexfs_rust_link(F.fs, a.ino, NM("x"), a.ino), -ENOTDIR);
	ERR(vexfs_rust_link(F.fs, ROOT, NM("x"), 77), -ESTALE);
	/* Unlinking one name keeps the other. */
	OK(vexfs_rust_unlink(F.fs, ROOT, NM("f")));
	OK(vexfs_rust_getattr(F.fs, a.ino, &g));
	UEQ(g.nlink, 1);
	REMOUNT();
	OK(lk(d.ino, "l", &ino));
	UEQ(ino, a.ino);
	UNMOUNT();
}

static void t_unlink(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a, d;
	struct vexfs_statfs s0;

	MOUNT();
	OK(mk(ROOT, "first", S_IFREG | 0644, NULL));	/* root's first block */
	s0 = stfs();
	OK(mk(ROOT, "f", S_IFREG | 0644, &a));
	OK(mk(ROOT, "d", S_IFDIR | 0755, &d));
	ERR(vexfs_rust_unlink(NULL, ROOT, NM("f")), -EINVAL);
	ERR(vexfs_rust_unlink(bad, ROOT, NM("f")), -EBADF);
	free(bad);
	ERR(vexfs_rust_unlink(F.fs, ROOT, NULL, 1), -EINVAL);
	ERR(vexfs_rust_unlink(F.fs, ROOT, (const uint8_t *)"f", 0), -EINVAL);
	ERR(vexfs_rust_unlink(F.fs, ROOT, NM(long_name)), -ENAMETOOLONG);
	ERR(vexfs_rust_unlink(F.fs, ROOT, NM("nope")), -ENOENT);
	ERR(vexfs_rust_unlink(F.fs, ROOT, NM("d")), -EISDIR);
	ERR(vexfs_rust_unlink(F.fs, a.ino, NM("x")), -ENOTDIR);
	OK(vexfs_rust_unlink(F.fs, ROOT, NM("f")));
	ERR(vexfs_rust_unlink(F.fs, ROOT, NM("f")), -ENOENT);
	ERR(lk(ROOT, "f", NULL), -ENOENT);
	OK(vexfs_rust_evict(F.fs, a.ino, 1));
	OK(vexfs_rust_rmdir(F.fs, ROOT, NM("d")));
	OK(vexfs_rust_evict(F.fs, d.ino, 1));
	UEQ(stfs().ffree, s0.ffree);
	UEQ(stfs().bfree, s0.bfree);
	UNMOUNT();
}

static void t_rmdir(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a, d, e, g;

	MOUNT();
	OK(mk(ROOT, "d", S_IFDIR | 0755, &d));
	OK(mk(ROOT, "e", S_IFDIR | 0755, &e));
	OK(mk(d.ino, "inner", S_IFREG | 0644, &a));
	OK(vexfs_rust_getattr(F.fs, ROOT, &g));
	UEQ(g.nlink, 4);
	ERR(vexfs_rust_rmdir(NULL, ROOT, NM("d")), -EINVAL);
	ERR(vexfs_rust_rmdir(bad, ROOT, NM("d")), -EBADF);
	free(bad);
	ERR(vexfs_rust_rmdir(F.fs, ROOT, NULL, 1), -EINVAL);
	ERR(vexfs_rust_rmdir(F.fs, ROOT, (const uint8_t *)"d", 0), -EINVAL);
	ERR(vexfs_rust_rmdir(F.fs, ROOT, NM(long_name)), -ENAMETOOLONG);
	ERR(vexfs_rust_rmdir(F.fs, ROOT, NM("nope")), -ENOENT);
	ERR(vexfs_rust_rmdir(F.fs, ROOT, NM("d")), -ENOTEMPTY);
	ERR(vexfs_rust_rmdir(F.fs, d.ino, NM("inner")), -ENOTDIR);
	ERR(vexfs_rust_rmdir(F.fs, a.ino, NM("x")), -ENOTDIR);
	OK(vexfs_rust_rmdir(F.fs, ROOT, NM("e")));
	OK(vexfs_rust_getattr(F.fs, ROOT, &g));
	UEQ(g.nlink, 3);
	OK(vexfs_rust_getattr(F.fs, e.ino, &g));	/* pinned: still there */
	UEQ(g.nlink, 0);
	ERR(mk(e.ino, "x", S_IFREG | 0644, NULL), -ENOENT);	/* dead directory */
	OK(vexfs_rust_evict(F.fs, e.ino, 1));
	OK(vexfs_rust_unlink(F.fs, d.ino, NM("inner")));
	OK(vexfs_rust_rmdir(F.fs, ROOT, NM("d")));
	ERR(lk(ROOT, "d", NULL), -ENOENT);
	REMOUNT();
	OK(vexfs_rust_getattr(F.fs, ROOT, &g));
	UEQ(g.nlink, 2);
	UNMOUNT();
}

/* ------------------------------------------------------------------ */
/* rename                                                              */

static void t_rename(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a, b, d, e, g;
	uint64_t ino;

	MOUNT();
	OK(mk(ROOT, "a", S_IFREG | 0644, &a));
	OK(mk(ROOT, "b", S_IFREG | 0644, &b));
	OK(mk(ROOT, "d", S_IFDIR | 0755, &d));
	OK(mk(ROOT, "e", S_IFDIR | 0755, &e));
	ERR(vexfs_rust_rename(NULL, ROOT, NM("a"), ROOT, NM("c"), 0), -EINVAL);
	ERR(vexfs_rust_rename(bad, ROOT, NM("a"), ROOT, NM("c"), 0), -EBADF);
	free(bad);
	ERR(vexfs_rust_rename(F.fs, ROOT, NULL, 1, ROOT, NM("c"), 0), -EINVAL);
	ERR(vexfs_rust_rename(F.fs, ROOT, NM("a"), ROOT, NULL, 1, 0), -EINVAL);
	ERR(vexfs_rust_rename(F.fs, ROOT, (const uint8_t *)"a", 0, ROOT, NM("c"), 0), -EINVAL);
	ERR(vexfs_rust_rename(F.fs, ROOT, NM("a"), ROOT, (const uint8_t *)"c", 0, 0), -EINVAL);
	ERR(vexfs_rust_rename(F.fs, ROOT, NM(long_name), ROOT, NM("c"), 0), -ENAMETOOLONG);
	ERR(vexfs_rust_rename(F.fs, ROOT, NM("a"), ROOT, NM(long_name), 0), -ENAMETOOLONG);
	ERR(vexfs_rust_rename(F.fs, ROOT, NM("nope"), ROOT, NM("c"), 0), -ENOENT);
	ERR(vexfs_rust_rename(F.fs, ROOT, NM("a"), a.ino, NM("c"), 0), -ENOTDIR);
	/* Flags. */
	ERR(vexfs_rust_rename(F.fs, ROOT, NM("a"), ROOT, NM("c"), VEXFS_RENAME_WHITEOUT), -EINVAL);
	ERR(vexfs_rust_rename(F.fs, ROOT, NM("a"), ROOT, NM("c"),
			      VEXFS_RENAME_NOREPLACE | VEXFS_RENAME_EXCHANGE), -EINVAL);
	ERR(vexfs_rust_rename(F.fs, ROOT, NM("a"), ROOT, NM("c"), 8), -EINVAL);
	ERR(vexfs_rust_rename(F.fs, ROOT, NM("a"), ROOT, NM("b"), VEXFS_RENAME_NOREPLACE), -EEXIST);
	ERR(vexfs_rust_rename(F.fs, ROOT, NM("a"), ROOT, NM("c"), VEXFS_RENAME_EXCHANGE), -ENOENT);
	OK(lk(ROOT, "a", &ino));
	UEQ(ino, a.ino);
	/* Type mismatches and non-empty targets. */
	ERR(vexfs_rust_rename(F.fs, ROOT, NM("a"), ROOT, NM("d"), 0), -EISDIR);
	ERR(vexfs_rust_rename(F.fs, ROOT, NM("d"), ROOT, NM("a"), 0), -ENOTDIR);
	OK(mk(e.ino, "x", S_IFREG | 0644, NULL));
	ERR(vexfs_rust_rename(F.fs, ROOT, NM("d"), ROOT, NM("e"), 0), -ENOTEMPTY);
	/* A directory into its own subtree. */
	OK(mk(d.ino, "sub", S_IFDIR | 0755, &g));
	ERR(vexfs_rust_rename(F.fs, ROOT, NM("d"), g.ino, NM("loop"), 0), -EINVAL);
	ERR(vexfs_rust_rename(F.fs, ROOT, NM("d"), d.ino, NM("self"), 0), -EINVAL);
	/* Plain move, NOREPLACE to a free name, onto itself. */
	OK(vexfs_rust_rename(F.fs, ROOT, NM("a"), ROOT, NM("c"), VEXFS_RENAME_NOREPLACE));
	ERR(lk(ROOT, "a", NULL), -ENOENT);
	OK(lk(ROOT, "c", &ino));
	UEQ(ino, a.ino);
	OK(vexfs_rust_rename(F.fs, ROOT, NM("c"), ROOT, NM("c"), 0));
	OK(lk(ROOT, "c", &ino));
	/* Replace a file: the old target loses its link. */
	OK(vexfs_rust_rename(F.fs, ROOT, NM("c"), ROOT, NM("b"), 0));
	OK(lk(ROOT, "b", &ino));
	UEQ(ino, a.ino);
	ERR(lk(ROOT, "c", NULL), -ENOENT);
	OK(vexfs_rust_getattr(F.fs, b.ino, &g));
	UEQ(g.nlink, 0);
	OK(vexfs_rust_evict(F.fs, b.ino, 1));
	/* Move a directory across: link counts of both parents. */
	OK(vexfs_rust_rename(F.fs, ROOT, NM("d"), e.ino, NM("d2"), 0));
	OK(vexfs_rust_getattr(F.fs, ROOT, &g));
	UEQ(g.nlink, 3);	/* root: ., .., e */
	OK(vexfs_rust_getattr(F.fs, e.ino, &g));
	UEQ(g.nlink, 3);	/* e: ., its entry, d2's .. */
	OK(lk(e.ino, "d2", &ino));
	UEQ(ino, d.ino);
	/* Replace an empty directory by a directory. */
	OK(mk(ROOT, "empty", S_IFDIR | 0755, &g));
	OK(vexfs_rust_rename(F.fs, e.ino, NM("d2"), ROOT, NM("empty"), 0));
	OK(lk(ROOT, "empty", &ino));
	UEQ(ino, d.ino);
	OK(vexfs_rust_getattr(F.fs, g.ino, &g));
	UEQ(g.nlink, 0);
	OK(vexfs_rust_evict(F.fs, g.ino, 1));
	OK(vexfs_rust_getattr(F.fs, ROOT, &g));
	UEQ(g.nlink, 4);	/* ., .., e, empty(=d) */
	REMOUNT();
	OK(lk(ROOT, "empty", &ino));
	UEQ(ino, d.ino);
	OK(lk(d.ino, "sub", &ino));
	UNMOUNT();
}

static void t_rename_exchange(void)
{
	struct vexfs_attr f, d, s, g;
	uint64_t ino;

	MOUNT();
	OK(mk(ROOT, "f", S_IFREG | 0644, &f));
	OK(mk(ROOT, "d", S_IFDIR | 0755, &d));
	OK(mk(ROOT, "s", S_IFDIR | 0755, &s));
	OK(mk(s.ino, "in", S_IFREG | 0644, &g));
	/* Same directory: names swap. */
	OK(vexfs_rust_rename(F.fs, ROOT, NM("f"), ROOT, NM("d"), VEXFS_RENAME_EXCHANGE));
	OK(lk(ROOT, "f", &ino));
	UEQ(ino, d.ino);
	OK(lk(ROOT, "d", &ino));
	UEQ(ino, f.ino);
	/* Across directories, a directory with a file: parents' link counts move. */
	OK(vexfs_rust_rename(F.fs, ROOT, NM("f"), s.ino, NM("in"), VEXFS_RENAME_EXCHANGE));
	OK(lk(ROOT, "f", &ino));
	UEQ(ino, g.ino);
	OK(lk(s.ino, "in", &ino));
	UEQ(ino, d.ino);
	OK(vexfs_rust_getattr(F.fs, ROOT, &g));
	UEQ(g.nlink, 3);	/* ., .., s */
	OK(vexfs_rust_getattr(F.fs, s.ino, &g));
	UEQ(g.nlink, 3);	/* ., entry, in(=d)'s .. */
	/* Exchanging a directory with its own descendant's parent is refused. */
	ERR(vexfs_rust_rename(F.fs, ROOT, NM("s"), s.ino, NM("in"), VEXFS_RENAME_EXCHANGE), -EINVAL);
	REMOUNT();
	OK(lk(s.ino, "in", &ino));
	UEQ(ino, d.ino);
	UNMOUNT();
}

/* ------------------------------------------------------------------ */
/* readdir                                                             */

#define NDIRENTS 150

static void t_readdir(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_dirent de;
	struct vexfs_attr a;
	uint64_t inos[NDIRENTS];
	int seen[NDIRENTS];
	char name[64];
	uint64_t pos = 0, mid_pos = 0, prev = 0;
	int n = 0, r;

	MOUNT();
	ERR(vexfs_rust_readdir(NULL, ROOT, 0, &de), -EINVAL);
	ERR(vexfs_rust_readdir(F.fs, ROOT, 0, NULL), -EINVAL);
	ERR(vexfs_rust_readdir(bad, ROOT, 0, &de), -EBADF);
	free(bad);
	/* An empty directory: no entries ("." and ".." are the VFS's). */
	ERR(vexfs_rust_readdir(F.fs, ROOT, 0, &de), 0);
	for (int i = 0; i < NDIRENTS; i++) {
		snprintf(name, sizeof(name), "entry-%03d-padding-to-span-several-blocks", i);
		OK(mk(ROOT, name, (i % 10 == 0 ? S_IFDIR | 0755 : S_IFREG | 0644), &a));
		inos[i] = a.ino;
		seen[i] = 0;
	}
	for (;;) {
		memset(&de, 0xa5, sizeof(de));
		r = vexfs_rust_readdir(F.fs, ROOT, pos, &de);
		if (r == 0)
			break;
		EQ(r, 1);
		int i;

		CHECK(de.name_len > 0 && de.name_len <= 255);
		CHECK(sscanf((const char *)de.name, "entry-%03d", &i) == 1);
		CHECK(i >= 0 && i < NDIRENTS);
		snprintf(name, sizeof(name), "entry-%03d-padding-to-span-several-blocks", i);
		UEQ(de.name_len, strlen(name));
		CHECK(memcmp(de.name, name, de.name_len) == 0);
		UEQ(de.name[de.name_len], 0);
		UEQ(de.ino, inos[i]);
		UEQ(de.file_type, i % 10 == 0 ? DT_DIR_ : DT_REG_);
		CHECK(de.next_pos > pos);
		CHECK(de.next_pos > prev);
		prev = de.next_pos;
		EQ(seen[i], 0);
		seen[i] = 1;
		pos = de.next_pos;
		if (++n == NDIRENTS / 2)
			mid_pos = pos;
		CHECK(n <= NDIRENTS);
	}
	EQ(n, NDIRENTS);
	OK(vexfs_rust_getattr(F.fs, ROOT, &a));
	CHECK(a.size > 2 * BS);	/* really spans blocks (an indexed directory) */
	/* At the end, and past it, stays at the end. */
	ERR(vexfs_rust_readdir(F.fs, ROOT, pos, &de), 0);
	ERR(vexfs_rust_readdir(F.fs, ROOT, pos + 1000000, &de), 0);
	ERR(vexfs_rust_readdir(F.fs, ROOT, UINT64_MAX, &de), 0);
	/* Resuming from a returned position gives the rest. */
	n = 0;
	for (pos = mid_pos; (r = vexfs_rust_readdir(F.fs, ROOT, pos, &de)) == 1; pos = de.next_pos)
		n++;
	EQ(r, 0);
	EQ(n, NDIRENTS - NDIRENTS / 2);
	/* Deleting entries mid-walk: a position stays valid. */
	OK(vexfs_rust_unlink(F.fs, ROOT, NM("entry-001-padding-to-span-several-blocks")));
	n = 0;
	for (pos = 0; (r = vexfs_rust_readdir(F.fs, ROOT, pos, &de)) == 1; pos = de.next_pos)
		n++;
	EQ(n, NDIRENTS - 1);
	ERR(vexfs_rust_readdir(F.fs, inos[1], 0, &de), -ENOTDIR);
	ERR(vexfs_rust_readdir(F.fs, 1000, 0, &de), -ESTALE);
	UNMOUNT();
}

/* Many entries per call: records packed in the buffer, each name once
 * across calls and buffer sizes, positions valid across changes. */
static void t_readdir_batch(void)
{
	struct vexfs_fs *bad = bad_handle();
	static uint64_t buf[4096 / 8];
	uint8_t *b = (uint8_t *)buf;
	struct vexfs_attr a;
	int seen[NDIRENTS];
	char name[64];
	uint32_t count;
	uint64_t pos;
	int r, n, calls;

	MOUNT();
	ERR(vexfs_rust_readdir_batch(NULL, ROOT, 0, NULL, 0, b, sizeof(buf), &count), -EINVAL);
	ERR(vexfs_rust_readdir_batch(bad, ROOT, 0, NULL, 0, b, sizeof(buf), &count), -EBADF);
	free(bad);
	ERR(vexfs_rust_readdir_batch(F.fs, ROOT, 0, NULL, 0, NULL, sizeof(buf), &count), -EINVAL);
	ERR(vexfs_rust_readdir_batch(F.fs, ROOT, 0, NULL, 0, b, sizeof(buf), NULL), -EINVAL);
	/* Too small for the longest record, misaligned, bad `after`. */
	ERR(vexfs_rust_readdir_batch(F.fs, ROOT, 0, NULL, 0, b, VEXFS_DIRENT_REC_MAX - 1, &count), -EINVAL);
	ERR(vexfs_rust_readdir_batch(F.fs, ROOT, 0, NULL, 0, b + 4, 1024, &count), -EINVAL);
	ERR(vexfs_rust_readdir_batch(F.fs, ROOT, 0, NULL, 3, b, sizeof(buf), &count), -EINVAL);
	ERR(vexfs_rust_readdir_batch(F.fs, ROOT, 0, NM("x"), b, sizeof(buf), NULL), -EINVAL);
	/* Empty: the end at once, no records. */
	count = 99;
	ERR(vexfs_rust_readdir_batch(F.fs, ROOT, 0, NULL, 0, b, sizeof(buf), &count), 1);
	UEQ(count, 0);
	for (int i = 0; i < NDIRENTS; i++) {
		snprintf(name, sizeof(name), "entry-%03d-padding-to-span-several-blocks", i);
		OK(mk(ROOT, name, S_IFREG | 0644, &a));
		seen[i] = 0;
	}
	for (size_t cap = VEXFS_DIRENT_REC_MAX; cap <= sizeof(buf); cap *= 4) {
		memset(seen, 0, sizeof(seen));
		pos = 0;
		n = 0;
		calls = 0;
		do {
			const struct vexfs_dirent_rec *rec;
			size_t off = 0;
			int i;

			memset(b, 0xa5, sizeof(buf));
			r = vexfs_rust_readdir_batch(F.fs, ROOT, pos, NULL, 0, b, cap, &count);
			CHECK(r == 0 || r == 1);
			CHECK(count > 0 || r == 1);
			calls++;
			for (uint32_t k = 0; k < count; k++) {
				rec = (const struct vexfs_dirent_rec *)(b + off);
				CHECK(rec->rec_len % 8 == 0 && off + rec->rec_len <= cap);
				CHECK(rec->rec_len >= sizeof(*rec) + rec->name_len + 1);
				UEQ(((const char *)(rec + 1))[rec->name_len], 0);
				CHECK(sscanf((const char *)(rec + 1), "entry-%03d", &i) == 1);
				CHECK(i >= 0 && i < NDIRENTS);
				EQ(seen[i], 0);
				seen[i] = 1;
				UEQ(rec->file_type, DT_REG_);
				UEQ(rec->mid_run, 0);
				CHECK(rec->next_pos > pos);
				pos = rec->next_pos;
				off += rec->rec_len;
				n++;
			}
		} while (r == 0);
		EQ(n, NDIRENTS);
		CHECK(cap < 4096 ? calls > 1 : calls < 10);
		/* Past the end stays at the end. */
		ERR(vexfs_rust_readdir_batch(F.fs, ROOT, pos, NULL, 0, b, cap, &count), 1);
		UEQ(count, 0);
	}
	ERR(vexfs_rust_readdir_batch(F.fs, ROOT, UINT64_MAX, NULL, 0, b, sizeof(buf), &count), 1);
	OK(mk(ROOT, "plain", S_IFREG | 0644, &a));
	ERR(vexfs_rust_readdir_batch(F.fs, a.ino, 0, NULL, 0, b, sizeof(buf), &count), -ENOTDIR);
	ERR(vexfs_rust_readdir_batch(F.fs, 1000, 0, NULL, 0, b, sizeof(buf), &count), -ESTALE);
	UNMOUNT();
}

/* ------------------------------------------------------------------ */
/* get_block / truncate                                                */

static void t_get_block(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a, d, g;
	struct vexfs_map m, m2;
	struct vexfs_statfs s0, s1;
	uint64_t data_start = le64(golden + SB_DATA_START);

	MOUNT();
	OK(mk(ROOT, "f", S_IFREG | 0644, &a));
	OK(mk(ROOT, "d", S_IFDIR | 0755, &d));
	ERR(vexfs_rust_get_block(NULL, a.ino, 0, 1, 0, &m), -EINVAL);
	ERR(vexfs_rust_get_block(F.fs, a.ino, 0, 1, 0, NULL), -EINVAL);
	ERR(vexfs_rust_get_block(bad, a.ino, 0, 1, 0, &m), -EBADF);
	free(bad);
	s0 = stfs();
	/* A hole. */
	memset(&m, 0xa5, sizeof(m));
	OK(vexfs_rust_get_block(F.fs, a.ino, 0, 1, 0, &m));
	UEQ(m.len, 0);
	UEQ(m.new_blocks, 0);
	UEQ(m.blocks, 0);
	/* Allocate one block. */
	OK(vexfs_rust_get_block(F.fs, a.ino, 0, 1, 1, &m));
	UEQ(m.len, 1);
	UEQ(m.new_blocks, 1);
	UEQ(m.blocks, 8);
	CHECK(m.pblock >= data_start && m.pblock < NBLOCKS);
	s1 = stfs();
	UEQ(s1.bfree, s0.bfree - 1);
	/* Mapped now: same block, not new, with or without create. */
	OK(vexfs_rust_get_block(F.fs, a.ino, 0, 1, 0, &m2));
	UEQ(m2.pblock, m.pblock);
	UEQ(m2.len, 1);
	UEQ(m2.new_blocks, 0);
	OK(vexfs_rust_get_block(F.fs, a.ino, 0, 1, 1, &m2));
	UEQ(m2.pblock, m.pblock);
	UEQ(m2.new_blocks, 0);
	UEQ(stfs().bfree, s1.bfree);
	/* A run of blocks, up to max_blocks, contiguous. */
	OK(vexfs_rust_get_block(F.fs, a.ino, 1, 8, 1, &m2));
	CHECK(m2.len >= 1 && m2.len <= 8);
	UEQ(m2.new_blocks, 1);
	UEQ(m2.blocks, 8 * (1 + m2.len));
	UEQ(stfs().bfree, s1.bfree - m2.len);
	OK(vexfs_rust_get_block(F.fs, a.ino, 0, 64, 0, &m2));
	CHECK(m2.len >= 1 && m2.pblock == m.pblock);
	/* max_blocks 0 is treated as 1. */
	OK(vexfs_rust_get_block(F.fs, a.ino, 0, 0, 0, &m2));
	UEQ(m2.len, 1);
	/* Far blocks: the last one is allowed, past it is EFBIG. */
	OK(vexfs_rust_get_block(F.fs, a.ino, MAX_FILE_BLOCKS - 1, 16, 1, &m2));
	UEQ(m2.len, 1);
	UEQ(m2.new_blocks, 1);
	ERR(vexfs_rust_get_block(F.fs, a.ino, MAX_FILE_BLOCKS, 1, 0, &m2), -EFBIG);
	ERR(vexfs_rust_get_block(F.fs, a.ino, MAX_FILE_BLOCKS, 1, 1, &m2), -EFBIG);
	ERR(vexfs_rust_get_block(F.fs, a.ino, UINT64_MAX, 1, 1, &m2), -EFBIG);
	ERR(vexfs_rust_get_block(F.fs, 77, 0, 1, 0, &m2), -ESTALE);
	/* Mappings persist. */
	OK(vexfs_rust_getattr(F.fs, a.ino, &g));
	REMOUNT();
	OK(vexfs_rust_get_block(F.fs, a.ino, 0, 1, 0, &m2));
	UEQ(m2.pblock, m.pblock);
	UEQ(m2.blocks, g.blocks);
	UNMOUNT();
}

static void t_get_block_enospc(void)
{
	struct vexfs_attr a, g;
	struct vexfs_map m;
	struct vexfs_statfs s0;
	uint64_t iblock = 0;
	int r, rounds = 0;

	MOUNT();
	OK(mk(ROOT, "big", S_IFREG | 0644, &a));
	s0 = stfs();
	shim_log_quiet = 1;
	while ((r = vexfs_rust_get_block(F.fs, a.ino, iblock, 65535, 1, &m)) == 0) {
		CHECK(m.len >= 1);
		iblock += m.len;
		if (++rounds > 100000)
			break;
	}
	shim_log_quiet = 0;
	ERR(r, -ENOSPC);
	CHECK(iblock > 0);
	CHECK(stfs().bfree < 16);
	/* Allocation failure left a consistent inode. */
	OK(vexfs_rust_getattr(F.fs, a.ino, &g));
	CHECK(g.blocks >= 8 * iblock);
	g.size = iblock * BS;
	OK(vexfs_rust_write_inode(F.fs, &g));
	/* And truncate gives every block back, extent tree included. */
	OK(vexfs_rust_truncate(F.fs, a.ino, 0));
	UEQ(stfs().bfree, s0.bfree);
	OK(vexfs_rust_getattr(F.fs, a.ino, &g));
	UEQ(g.blocks, 0);
	UEQ(g.size, 0);
	UNMOUNT();
}

static void t_truncate(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a, d, g;
	struct vexfs_map m;
	struct vexfs_statfs s0;

	MOUNT();
	OK(mk(ROOT, "f", S_IFREG | 0644, &a));
	OK(mk(ROOT, "d", S_IFDIR | 0755, &d));
	ERR(vexfs_rust_truncate(NULL, a.ino, 0), -EINVAL);
	ERR(vexfs_rust_truncate(bad, a.ino, 0), -EBADF);
	free(bad);
	s0 = stfs();
	/* 16 blocks, with a hole in the middle. */
	for (uint64_t b = 0; b < 16; b++)
		OK(vexfs_rust_get_block(F.fs, a.ino, b, 1, 1, &m));
	OK(vexfs_rust_get_block(F.fs, a.ino, 100, 4, 1, &m));
	UEQ(stfs().bfree, s0.bfree - 16 - m.len);
	/* Shrink to one block and a half: two blocks stay. */
	OK(vexfs_rust_truncate(F.fs, a.ino, BS + 100));
	OK(vexfs_rust_getattr(F.fs, a.ino, &g));
	UEQ(g.size, BS + 100);
	UEQ(g.blocks, 16);
	UEQ(stfs().bfree, s0.bfree - 2);
	OK(vexfs_rust_get_block(F.fs, a.ino, 1, 1, 0, &m));
	UEQ(m.len, 1);
	OK(vexfs_rust_get_block(F.fs, a.ino, 2, 1, 0, &m));
	UEQ(m.len, 0);
	/* Growing allocates nothing. */
	OK(vexfs_rust_truncate(F.fs, a.ino, 1ULL << 30));
	OK(vexfs_rust_getattr(F.fs, a.ino, &g));
	UEQ(g.size, 1ULL << 30);
	UEQ(stfs().bfree, s0.bfree - 2);
	OK(vexfs_rust_truncate(F.fs, a.ino, MAX_FILE_BLOCKS * BS));
	ERR(vexfs_rust_truncate(F.fs, a.ino, MAX_FILE_BLOCKS * BS + 1), -EFBIG);
	OK(vexfs_rust_truncate(F.fs, a.ino, 0));
	UEQ(stfs().bfree, s0.bfree);
	OK(vexfs_rust_getattr(F.fs, a.ino, &g));
	UEQ(g.size, 0);
	UEQ(g.blocks, 0);
	ERR(vexfs_rust_truncate(F.fs, d.ino, 0), -EISDIR);
	ERR(vexfs_rust_truncate(F.fs, 77, 0), -ESTALE);
	REMOUNT();
	UEQ(stfs().bfree, s0.bfree);
	UNMOUNT();
}

/* ------------------------------------------------------------------ */
/* Corruption and I/O errors                                           */

static void t_corrupt_inode(void)
{
	struct vexfs_attr a, v, r;
	struct vexfs_map m;
	unsigned long logs;
	uint64_t ino = 0;

	MOUNT();
	OK(mk(ROOT, "victim", S_IFREG | 0644, &v));
	OK(mk(ROOT, "other", S_IFREG | 0644, &a));
	UNMOUNT();
	inode_ptr(F.img, v.ino)[DI_UID] ^= 0x01;	/* checksum now wrong */
	MOUNT();
	logs = shim_log_count;
	shim_log_quiet = 1;
	ERR(lk(ROOT, "victim", &ino), -EUCLEAN);
	shim_log_quiet = 0;
	CHECK(shim_log_count > logs);
	UEQ(shim_last_log_level, VEXFS_LOG_ERR);
	CHECK(strstr(shim_last_log, "vexfs (mem): ") == shim_last_log);
	ERR(vexfs_rust_iget(F.fs, v.ino, &r), -EUCLEAN);
	ERR(vexfs_rust_getattr(F.fs, v.ino, &r), -EUCLEAN);
	/* Reads of healthy metadata still work... */
	OK(lk(ROOT, "other", &ino));
	OK(vexfs_rust_getattr(F.fs, ROOT, &r));
	/* ...every change is refused. */
	ERR(mk(ROOT, "new", S_IFREG | 0644, NULL), -EROFS);
	ERR(vexfs_rust_write_inode(F.fs, &r), -EROFS);
	ERR(vexfs_rust_truncate(F.fs, a.ino, 0), -EROFS);
	ERR(vexfs_rust_unlink(F.fs, ROOT, NM("other")), -EROFS);
	ERR(vexfs_rust_link(F.fs, ROOT, NM("l"), a.ino), -EROFS);
	ERR(vexfs_rust_rename(F.fs, ROOT, NM("other"), ROOT, NM("x"), 0), -EROFS);
	ERR(vexfs_rust_rmdir(F.fs, ROOT, NM("other")), -EROFS);
	ERR(vexfs_rust_get_block(F.fs, a.ino, 0, 1, 1, &m), -EROFS);
	OK(vexfs_rust_sync(F.fs));
	UNMOUNT();
	/* The error is recorded on disk and reported at the next mount. */
	UEQ(F.img[SB_STATE], STATE_ERRORS);
	logs = shim_log_count;
	MOUNT();
	CHECK(shim_log_count > logs);
	CHECK(strstr(shim_last_log, "errors") != NULL);
	UNMOUNT();
	UEQ(F.img[SB_STATE], STATE_ERRORS);
}

static void t_corrupt_inode_resealed(void)
{
	struct vexfs_attr v, r;
	uint8_t *d;

	MOUNT();
	OK(mk(ROOT, "victim", S_IFREG | 0644, &v));
	UNMOUNT();
	/* Valid checksum, impossible content: no file type. */
	d = inode_ptr(F.img, v.ino);
	d[DI_MODE] = 0;
	d[DI_MODE + 1] = 0;
	reseal_inode(F.img, v.ino);
	MOUNT();
	shim_log_quiet = 1;
	ERR(vexfs_rust_iget(F.fs, v.ino, &r), -EUCLEAN);
	shim_log_quiet = 0;
	CHECK(strstr(shim_last_log, "corruption") != NULL ||
	      strstr(shim_last_log, "EROFS") != NULL);
	ERR(mk(ROOT, "new", S_IFREG | 0644, NULL), -EROFS);
	UNMOUNT();
}

static void t_corrupt_dir_block(void)
{
	struct vexfs_map m;
	struct vexfs_dirent de;

	MOUNT();
	OK(mk(ROOT, "a", S_IFREG | 0644, NULL));
	OK(vexfs_rust_get_block(F.fs, ROOT, 0, 1, 0, &m));
	UEQ(m.len, 1);
	UNMOUNT();
	F.img[m.pblock * BS + 40] ^= 0xff;	/* inside the first entry */
	MOUNT();
	shim_log_quiet = 1;
	ERR(lk(ROOT, "a", NULL), -EUCLEAN);
	ERR(vexfs_rust_readdir(F.fs, ROOT, 0, &de), -EUCLEAN);
	shim_log_quiet = 0;
	ERR(mk(ROOT, "b", S_IFREG | 0644, NULL), -EROFS);
	UNMOUNT();
}

static void t_io_errors(void)
{
	struct vexfs_mount_info info;
	struct vexfs_fs *out = NULL;
	struct vexfs_attr a, g;
	struct vexfs_map m;
	struct vexfs_dirent de;

	/* Mount: the superblock read fails. */
	shim_inject(&F.sb, 1, 0, 0);
	ERR(vexfs_rust_mount(&F.sb, NBLOCKS, 0, &info, &out), -EIO);
	CHECK(out == NULL);
	/* Mount: the superblock write fails. */
	shim_inject(&F.sb, 0, 1, 0);
	ERR(vexfs_rust_mount(&F.sb, NBLOCKS, 0, &info, &out), -EIO);
	shim_inject(&F.sb, 0, 0, 0);
	MOUNT();
	OK(mk(ROOT, "f", S_IFREG | 0644, &a));
	OK(vexfs_rust_evict(F.fs, a.ino, 0));
	REMOUNT();
	/* Reads. */
	shim_inject(&F.sb, 1, 0, 0);
	ERR(lk(ROOT, "f", NULL), -EIO);
	shim_inject(&F.sb, 1, 0, 0);
	ERR(vexfs_rust_readdir(F.fs, ROOT, 0, &de), -EIO);
	shim_inject(&F.sb, 1, 0, 0);
	ERR(vexfs_rust_iget(F.fs, a.ino, &g), -EIO);
	shim_inject(&F.sb, 0, 0, 0);
	/* An I/O error is not corruption: the filesystem stays writable. */
	OK(vexfs_rust_iget(F.fs, a.ino, &g));
	/* Writes. */
	shim_inject(&F.sb, 0, 1000, 0);
	/* Metadata goes to the running transaction; its commit meets the error.
	 * Like ext4 after a journal abort, the mount then refuses changes and
	 * commits nothing more: "g" is lost, the disk stays consistent. */
	OK(mk(ROOT, "g", S_IFREG | 0644, NULL));
	ERR(vexfs_rust_commit(F.fs, 0), -EIO);
	ERR(vexfs_rust_commit(F.fs, 0), -EIO);
	ERR(vexfs_rust_write_inode(F.fs, &g), -EROFS);
	ERR(vexfs_rust_get_block(F.fs, a.ino, 0, 1, 1, &m), -EROFS);
	shim_inject(&F.sb, 0, 0, 0);
	CHECK(F.sb.injected > 0);
	ERR(mk(ROOT, "h", S_IFREG | 0644, NULL), -EROFS);
	OK(lk(ROOT, "f", NULL));	/* reads still work */
	ERR(vexfs_rust_remount(F.fs, 0), 0);	/* already rw: no-op */
	ERR(vexfs_rust_unmount(F.fs), -EIO);	/* reports the aborted journal */
	F.fs = NULL;
	MOUNT();
	ERR(lk(ROOT, "g", NULL), -ENOENT);
	OK(mk(ROOT, "h", S_IFREG | 0644, NULL));
	UNMOUNT();
}

/* Fail the k-th write of a sequence of operations, for every k: every call
 * returns 0 or a negative errno, nothing crashes, locks balance, the handle
 * is freed, and the image mounts again. */
static int sweep_ops(int *rc)
{
	struct vexfs_attr a, d;
	struct vexfs_map m;
	int n = 0;

	rc[n++] = mk(ROOT, "a", S_IFREG | 0644, &a);
	rc[n++] = mk(ROOT, "d", S_IFDIR | 0755, &d);
	rc[n++] = vexfs_rust_get_block(F.fs, rc[0] ? 1000 : a.ino, 0, 4, 1, &m);
	rc[n++] = vexfs_rust_rename(F.fs, ROOT, NM("a"), rc[1] ? ROOT : d.ino, NM("b"), 0);
	rc[n++] = vexfs_rust_link(F.fs, ROOT, NM("c"), rc[0] ? 1000 : a.ino);
	rc[n++] = vexfs_rust_rename(F.fs, ROOT, NM("c"), ROOT, NM("d"), VEXFS_RENAME_EXCHANGE);
	rc[n++] = vexfs_rust_truncate(F.fs, rc[0] ? 1000 : a.ino, 0);
	rc[n++] = vexfs_rust_unlink(F.fs, ROOT, NM("d"));	/* the file, after the exchange */
	rc[n++] = vexfs_rust_unlink(F.fs, rc[1] ? ROOT : d.ino, NM("b"));
	rc[n++] = vexfs_rust_rmdir(F.fs, ROOT, NM("c"));	/* the directory */
	/* As the kernel would: delete_inode only when the last link is gone. */
	if (rc[0] == 0 && vexfs_rust_getattr(F.fs, a.ino, &a) == 0)
		rc[n++] = vexfs_rust_evict(F.fs, a.ino, a.nlink == 0);
	else
		rc[n++] = vexfs_rust_evict(F.fs, 1000, 0);
	rc[n++] = vexfs_rust_sync(F.fs);
	return n;
}

/* After a fault: every entry of the root and its subdirectories names a live
 * inode of the type the entry says, and no directory has two names. */
static int check_tree(char *why, size_t len)
{
	uint64_t dirs[64], seen_dirs[64];
	int ndirs = 1, nseen = 0;

	dirs[0] = ROOT;
	for (int di = 0; di < ndirs; di++) {
		struct vexfs_dirent de;
		struct vexfs_attr a;
		uint64_t pos = 0;
		int r;

		while ((r = vexfs_rust_readdir(F.fs, dirs[di], pos, &de)) == 1) {
			pos = de.next_pos;
			r = vexfs_rust_getattr(F.fs, de.ino, &a);
			if (r != 0) {
				snprintf(why, len, "entry '%.*s' -> inode %" PRIu64 ": getattr %s",
					 (int)de.name_len, de.name, de.ino, en(r));
				return -1;
			}
			if ((de.file_type == DT_DIR_) != ((a.mode & S_IFMT) == S_IFDIR)) {
				snprintf(why, len, "entry '%.*s' (type %u) -> inode %" PRIu64
					 " of mode %o: a name aliases another inode",
					 (int)de.name_len, de.name, de.file_type, de.ino, a.mode);
				return -1;
			}
			if (de.file_type == DT_DIR_) {
				for (int i = 0; i < nseen; i++)
					if (seen_dirs[i] == de.ino) {
						snprintf(why, len, "directory %" PRIu64 " has two names", de.ino);
						return -1;
					}
				if (nseen < 64)
					seen_dirs[nseen++] = de.ino;
				if (ndirs < 64)
					dirs[ndirs++] = de.ino;
			}
		}
		if (r < 0 && r != -EUCLEAN && r != -EIO) {
			snprintf(why, len, "readdir of %" PRIu64 ": %s", dirs[di], en(r));
			return -1;
		}
	}
	return 0;
}

/* Fail the k-th block write of a sequence of operations, for every k: every
 * call returns 0 or a negative errno, nothing crashes, locks balance, the
 * handle is freed, the image mounts again, and the namespace is consistent
 * (check_tree). Reports the first bad fault point and how many there are. */
static void t_io_error_sweep(void)
{
	static const int allowed[] = { 0, -EIO, -EROFS, -EUCLEAN, -ENOENT, -EEXIST,
				       -ESTALE, -ENOTEMPTY, -ENOSPC, -EISDIR, -ENOTDIR };
	int rc[16], n, total, bad = 0;
	unsigned long w0;
	char first[600] = "", why[400];

	/* Clean run: everything succeeds; count the writes. */
	MOUNT();
	w0 = F.sb.writes;
	n = sweep_ops(rc);
	total = (int)(F.sb.writes - w0);
	for (int i = 0; i < n; i++)
		if (rc[i] != 0)
			FAILF("clean run: call %d returned %s", i, en(rc[i]));
	UNMOUNT();
	CHECK(total > 10);
	shim_log_quiet = 1;
	for (int k = 0; k < total; k++) {
		struct vexfs_fs *f;
		int r, errs = 0;

		why[0] = '\0';
		memcpy(F.img, fixture ? fixture : golden, NBLOCKS * BS);
		MOUNT();
		shim_inject_write_after(&F.sb, k, 1);
		n = sweep_ops(rc);
		CHECK(F.sb.injected > 0);
		F.sb.injected = 0;
		shim_inject(&F.sb, 0, 0, 0);
		for (int i = 0; i < n && !errs; i++) {
			int ok = 0;

			for (size_t j = 0; j < sizeof(allowed) / sizeof(allowed[0]); j++)
				ok |= rc[i] == allowed[j];
			if (!ok) {
				snprintf(why, sizeof(why), "call %d returned %s (calls 0-5: %s %s %s %s %s %s)",
					 i, en(rc[i]), en(rc[0]), en(rc[1]), en(rc[2]),
					 en(rc[3]), en(rc[4]), en(rc[5]));
				errs++;
			}
		}
		if (!errs && check_tree(why, sizeof(why)) != 0)
			errs++;
		f = F.fs;
		F.fs = NULL;
		r = vexfs_rust_unmount(f);
		if (!errs && r != 0 && r != -EIO) {
			snprintf(why, sizeof(why), "unmount returned %s", en(r));
			errs++;
		}
		if (F.sb.held || F.sb.locks != F.sb.unlocks) {
			shim_log_quiet = 0;
			FAILF("write %d failed: lock imbalance", k);
		}
		MOUNT();
		if (!errs && check_tree(why, sizeof(why)) != 0) {
			errs++;
		}
		UNMOUNT();
		if (errs) {
			fprintf(stderr, "io_error_sweep: write %d of %d: %s\n", k, total, why);
			if (!bad++)
				snprintf(first, sizeof(first), "write %d of %d failed: %s", k, total, why);
		}
	}
	shim_log_quiet = 0;
	if (bad)
		FAILF("%d of %d write-fault points misbehaved; first: %s", bad, total, first);
}

/* ------------------------------------------------------------------ */
/* The lock: each call takes it exactly once and releases it.          */

static void t_lock_once_per_call(void)
{
	struct vexfs_attr a, d;
	struct vexfs_map m;
	struct vexfs_dirent de;
	struct vexfs_statfs s;
	uint64_t ino;
	unsigned long l;

#define ONCE(call) do {							\
	l = F.sb.locks;							\
	(void)(call);							\
	if (F.sb.locks != l + 1 || F.sb.held)				\
		FAILF("%s took the lock %lu times (held after: %d)",	\
		      #call, F.sb.locks - l, F.sb.held);		\
} while (0)
#define NEVER(call) do {						\
	l = F.sb.locks;							\
	(void)(call);							\
	if (F.sb.locks != l)						\
		FAILF("%s took the lock on an invalid argument", #call); \
} while (0)
	l = F.sb.locks;
	MOUNT();
	UEQ(F.sb.locks, l + 1);
	ONCE(mk(ROOT, "f", S_IFREG | 0644, &a));
	ONCE(mk(ROOT, "d", S_IFDIR | 0755, &d));
	ONCE(vexfs_rust_sync(F.fs));
	ONCE(vexfs_rust_remount(F.fs, VEXFS_MOUNT_RDONLY));
	ONCE(vexfs_rust_remount(F.fs, 0));
	ONCE(vexfs_rust_statfs(F.fs, &s));
	ONCE(vexfs_rust_iget(F.fs, a.ino, &a));
	ONCE(vexfs_rust_getattr(F.fs, a.ino, &a));
	ONCE(vexfs_rust_write_inode(F.fs, &a));
	ONCE(vexfs_rust_evict(F.fs, a.ino, 0));
	ONCE(vexfs_rust_lookup(F.fs, ROOT, NM("f"), &ino));
	ONCE(vexfs_rust_link(F.fs, ROOT, NM("g"), a.ino));
	ONCE(vexfs_rust_unlink(F.fs, ROOT, NM("g")));
	ONCE(vexfs_rust_rename(F.fs, ROOT, NM("f"), ROOT, NM("h"), 0));
	ONCE(vexfs_rust_readdir(F.fs, ROOT, 0, &de));
	ONCE(vexfs_rust_get_block(F.fs, a.ino, 0, 1, 1, &m));
	ONCE(vexfs_rust_truncate(F.fs, a.ino, 0));
	ONCE(vexfs_rust_rmdir(F.fs, ROOT, NM("d")));
	/* Failing calls release it too. */
	ONCE(vexfs_rust_lookup(F.fs, ROOT, NM("nope"), &ino));
	ONCE(vexfs_rust_get_block(F.fs, a.ino, MAX_FILE_BLOCKS, 1, 1, &m));
	/* Argument errors never reach it. */
	NEVER(vexfs_rust_statfs(F.fs, NULL));
	NEVER(vexfs_rust_lookup(F.fs, ROOT, NM(long_name), &ino));
	NEVER(vexfs_rust_create(F.fs, ROOT, NULL, 1, S_IFREG, 0, 0, 0, &a));
	NEVER(vexfs_rust_readdir(F.fs, ROOT, 0, NULL));
	NEVER(vexfs_rust_rename(F.fs, ROOT, NM("h"), ROOT, (const uint8_t *)"", 0, 0));
	l = F.sb.locks;
	UNMOUNT();
	UEQ(F.sb.locks, l + 1);
#undef ONCE
#undef NEVER
}

/* Many threads on one mount: the shim mutex serialises the core. */
#define NTHREADS 4
#define PER_THREAD 40

struct thr {
	uint64_t dir;
	int errors;
};

static void *thread_main(void *p)
{
	struct thr *t = p;
	struct vexfs_attr a;
	struct vexfs_map m;
	char name[32];

	for (int i = 0; i < PER_THREAD; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		if (vexfs_rust_create(F.fs, t->dir, NM(name), S_IFREG | 0644, 0, 0, 0, &a) ||
		    vexfs_rust_get_block(F.fs, a.ino, 0, 1, 1, &m) ||
		    vexfs_rust_evict(F.fs, a.ino, 0))
			t->errors++;
		if (i % 2 && vexfs_rust_unlink(F.fs, t->dir, NM(name)))
			t->errors++;
	}
	return NULL;
}

static void t_threads(void)
{
	pthread_t th[NTHREADS];
	struct thr t[NTHREADS];
	struct vexfs_attr d;
	struct vexfs_dirent de;
	struct vexfs_statfs s0;
	char name[16];

	MOUNT();
	s0 = stfs();
	for (int i = 0; i < NTHREADS; i++) {
		snprintf(name, sizeof(name), "dir%d", i);
		OK(mk(ROOT, name, S_IFDIR | 0755, &d));
		t[i].dir = d.ino;
		t[i].errors = 0;
	}
	for (int i = 0; i < NTHREADS; i++)
		CHECK(pthread_create(&th[i], NULL, thread_main, &t[i]) == 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < NTHREADS; i++) {
		uint64_t pos = 0;
		int n = 0, r;

		EQ(t[i].errors, 0);
		while ((r = vexfs_rust_readdir(F.fs, t[i].dir, pos, &de)) == 1) {
			n++;
			pos = de.next_pos;
		}
		EQ(r, 0);
		EQ(n, PER_THREAD / 2);
	}
	UEQ(stfs().ffree, s0.ffree - NTHREADS - NTHREADS * PER_THREAD / 2);
	/* Root's first block, one directory block each, one data block per surviving file. */
	UEQ(stfs().bfree, s0.bfree - 1 - NTHREADS - NTHREADS * PER_THREAD / 2);
	UNMOUNT();
}

/* The pread/pwrite device path, on the image file mkfs.vexfs wrote. */
static void t_file_device(void)
{
	struct vexfs_shim_sb sb;
	struct vexfs_mount_info info;
	struct vexfs_fs *fs = NULL;
	struct vexfs_attr a;
	uint64_t ino;
	char path[300];
	int r;

	snprintf(path, sizeof(path), "%s.copy", golden_path);
	{
		int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);

		CHECK(fd >= 0);
		CHECK(write(fd, golden, NBLOCKS * BS) == (ssize_t)(NBLOCKS * BS));
		close(fd);
	}
	OK(shim_open_file(&sb, path));
	UEQ(sb.nblocks, NBLOCKS);
	OK(vexfs_rust_mount(&sb, sb.nblocks, 0, &info, &fs));
	r = vexfs_rust_create(fs, ROOT, NM("persisted"), S_IFREG | 0600, 7, 8, 0, &a);
	if (r == 0)
		r = vexfs_rust_unmount(fs);
	else
		vexfs_rust_unmount(fs);
	shim_close(&sb);
	OK(r);
	OK(shim_open_file(&sb, path));
	OK(vexfs_rust_mount(&sb, sb.nblocks, 0, &info, &fs));
	r = vexfs_rust_lookup(fs, ROOT, NM("persisted"), &ino);
	vexfs_rust_unmount(fs);
	CHECK(sb.flushes > 0);
	shim_close(&sb);
	unlink(path);
	OK(r);
	UEQ(ino, a.ino);
	/* Beyond the end of the file is -EIO from the shim itself. */
	{
		uint8_t buf[BS];

		OK(shim_open_file(&sb, golden_path));
		vexfs_shim_lock(&sb);
		r = vexfs_shim_read_block(&sb, NBLOCKS, buf);
		vexfs_shim_unlock(&sb);
		shim_close(&sb);
		ERR(r, -EIO);
	}
}

/* ------------------------------------------------------------------ */
/* vectors (images made with mkfs.vexfs --dim 4 --metric l2)          */

#define VDIM 4
/* Superblock byte offsets of the vector space (struct Superblock). */
#define SB_VECTOR_START 232
#define SB_VEC_DIM 288
#define SB_VEC_CAPACITY 320
#define SB_VEC_COUNT 328
#define SB_VEC_SLOT_BLOCKS 336
#define BLOCK_HEADER 32		/* struct BlockHeader */
#define VEC_SLOT_HEAD 16	/* struct VecSlotHead */
#define NAN_BITS 0x7fc00000u

static uint32_t fbits(float f)
{
	uint32_t b;

	memcpy(&b, &f, sizeof(b));
	return b;
}

static float bitsf(uint32_t b)
{
	float f;

	memcpy(&f, &b, sizeof(f));
	return f;
}

static void vbits(uint32_t *v, float a, float b, float c, float d)
{
	v[0] = fbits(a);
	v[1] = fbits(b);
	v[2] = fbits(c);
	v[3] = fbits(d);
}

static int vset(uint64_t ino, float a, float b, float c, float d)
{
	uint32_t v[VDIM];

	vbits(v, a, b, c, d);
	return vexfs_rust_vec_set(F.fs, ino, v, VDIM);
}

/* A new regular file `name` in `dir` carrying (a, b, c, d). */
static int mkvec(uint64_t dir, const char *name, float a, float b, float c, float d,
		 uint64_t *ino)
{
	struct vexfs_attr at;
	int r = mk(dir, name, S_IFREG | 0644, &at);

	if (r)
		return r;
	if (ino)
		*ino = at.ino;
	return vset(at.ino, a, b, c, d);
}

/* 1 when the vector of `ino` is exactly (a, b, c, d) bit for bit. */
static int vhas(uint64_t ino, float a, float b, float c, float d)
{
	uint32_t want[VDIM], got[VDIM];
	uint32_t dim = 0;

	vbits(want, a, b, c, d);
	if (vexfs_rust_vec_get(F.fs, ino, got, VDIM, &dim) != 0 || dim != VDIM)
		return 0;
	return memcmp(want, got, sizeof(got)) == 0;
}

static struct vexfs_vec_info vinfo(void)
{
	struct vexfs_vec_info i;

	memset(&i, 0xff, sizeof(i));
	if (vexfs_rust_vec_info(F.fs, &i) != 0)
		memset(&i, 0xff, sizeof(i));
	return i;
}

static int vq(uint64_t within, uint32_t n, uint32_t ef, uint32_t flags,
	      struct vexfs_vec_hit *h, uint32_t *count, float a, float b, float c, float d)
{
	uint32_t v[VDIM];

	vbits(v, a, b, c, d);
	return vexfs_rust_vec_query(F.fs, v, VDIM, within, n, ef, flags, h, count);
}

static int hits_have(const struct vexfs_vec_hit *h, uint32_t n, uint64_t ino)
{
	for (uint32_t i = 0; i < n; i++)
		if (h[i].ino == ino)
			return 1;
	return 0;
}

/* Nearest first, pads zero, no file twice. */
static int hits_sane(const struct vexfs_vec_hit *h, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (h[i].pad != 0 || h[i].ino == 0)
			return 0;
		if (!(bitsf(h[i].distance) >= 0.0f))	/* L2: never negative, never NaN */
			return 0;
		if (i && bitsf(h[i].distance) < bitsf(h[i - 1].distance))
			return 0;
		for (uint32_t j = 0; j < i; j++)
			if (h[j].ino == h[i].ino)
				return 0;
	}
	return 1;
}

static void t_vec_no_space(void)
{
	struct vexfs_vec_info vi;
	struct vexfs_vec_hit h[2];
	struct vexfs_attr a;
	uint32_t v[VDIM], out[VDIM], dim = 77, count = 77;

	vbits(v, 1, 2, 3, 4);
	UEQ(le64(F.img + SB_VEC_DIM) & 0xffffffffu, 0);
	MOUNT();
	OK(mk(ROOT, "f", S_IFREG | 0644, &a));
	memset(&vi, 0xa5, sizeof(vi));
	ERR(vexfs_rust_vec_info(F.fs, &vi), -EOPNOTSUPP);
	ERR(vexfs_rust_vec_set(F.fs, a.ino, v, VDIM), -EOPNOTSUPP);
	ERR(vexfs_rust_vec_get(F.fs, a.ino, out, VDIM, &dim), -EOPNOTSUPP);
	ERR(vexfs_rust_vec_delete(F.fs, a.ino), -EOPNOTSUPP);
	ERR(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, 1, 0, 0, h, &count), -EOPNOTSUPP);
	ERR(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, 1, 0, VEXFS_VEC_EXACT, h, &count),
	    -EOPNOTSUPP);
	UEQ(dim, 77);
	UEQ(count, 77);
	UEQ(vi.dim, 0xa5a5a5a5u);
	/* There is no dimension to mismatch: still "no vector space". */
	ERR(vexfs_rust_vec_set(F.fs, a.ino, v, 1), -EOPNOTSUPP);
	ERR(vexfs_rust_vec_query(F.fs, v, 3, ROOT, 1, 0, 0, h, &count), -EOPNOTSUPP);
	/* No cache to count, free or size. */
	UEQ(vexfs_rust_vec_cache_count(F.fs), 0);
	EQ(vexfs_rust_vec_cache_shrink(F.fs, 8), 0);
	ERR(vexfs_rust_vec_cache_budget(F.fs, 1), -EOPNOTSUPP);
	UNMOUNT();
	OK(mount_f(VEXFS_MOUNT_RDONLY));
	ERR(vexfs_rust_vec_info(F.fs, &vi), -EOPNOTSUPP);
	ERR(vexfs_rust_vec_set(F.fs, a.ino, v, VDIM), -EOPNOTSUPP);
	ERR(vexfs_rust_vec_get(F.fs, a.ino, out, VDIM, &dim), -EOPNOTSUPP);
	ERR(vexfs_rust_vec_delete(F.fs, a.ino), -EOPNOTSUPP);
	ERR(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, 1, 0, 0, h, &count), -EOPNOTSUPP);
	UNMOUNT();
}

static void t_vec_bad_args(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_vec_info vi;
	struct vexfs_vec_hit h[4], *big;
	struct vexfs_attr a, d;
	uint32_t v[VDIM], out[VDIM], dim = 77, count = 77;

	vbits(v, 1, 2, 3, 4);
	MOUNT();
	OK(mk(ROOT, "f", S_IFREG | 0644, &a));
	OK(mk(ROOT, "d", S_IFDIR | 0755, &d));
	/* No handle. */
	ERR(vexfs_rust_vec_info(NULL, &vi), -EINVAL);
	ERR(vexfs_rust_vec_set(NULL, a.ino, v, VDIM), -EINVAL);
	ERR(vexfs_rust_vec_get(NULL, a.ino, out, VDIM, &dim), -EINVAL);
	ERR(vexfs_rust_vec_delete(NULL, a.ino), -EINVAL);
	ERR(vexfs_rust_vec_query(NULL, v, VDIM, ROOT, 1, 0, 0, h, &count), -EINVAL);
	/* Not a handle. */
	ERR(vexfs_rust_vec_info(bad, &vi), -EBADF);
	ERR(vexfs_rust_vec_set(bad, a.ino, v, VDIM), -EBADF);
	ERR(vexfs_rust_vec_get(bad, a.ino, out, VDIM, &dim), -EBADF);
	ERR(vexfs_rust_vec_delete(bad, a.ino), -EBADF);
	ERR(vexfs_rust_vec_query(bad, v, VDIM, ROOT, 1, 0, 0, h, &count), -EBADF);
	free(bad);
	UEQ(dim, 77);
	UEQ(count, 77);
	/* NULL out pointers. */
	ERR(vexfs_rust_vec_info(F.fs, NULL), -EINVAL);
	ERR(vexfs_rust_vec_get(F.fs, a.ino, NULL, VDIM, &dim), -EINVAL);
	ERR(vexfs_rust_vec_get(F.fs, a.ino, out, VDIM, NULL), -EINVAL);
	ERR(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, 1, 0, 0, NULL, &count), -EINVAL);
	ERR(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, 1, 0, 0, h, NULL), -EINVAL);
	/* Vectors belong to regular files only. */
	ERR(vexfs_rust_vec_set(F.fs, d.ino, v, VDIM), -EINVAL);
	ERR(vexfs_rust_vec_set(F.fs, ROOT, v, VDIM), -EINVAL);
	/* A file without a vector. */
	ERR(vexfs_rust_vec_get(F.fs, a.ino, out, VDIM, &dim), -ENODATA);
	ERR(vexfs_rust_vec_get(F.fs, d.ino, out, VDIM, &dim), -ENODATA);
	ERR(vexfs_rust_vec_delete(F.fs, a.ino), -ENODATA);
	ERR(vexfs_rust_vec_delete(F.fs, d.ino), -ENODATA);
	/* Query: candidate count, flags, scope. */
	ERR(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, 0, 0, 0, h, &count), -ERANGE);
	ERR(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, VEXFS_VEC_MAX_QUERY + 1, 0, 0, h, &count),
	    -ERANGE);
	ERR(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, UINT32_MAX, 0, 0, h, &count), -ERANGE);
	/* ef: 0 is the default, at most VEXFS_VEC_MAX_EF (the core never trusts the shim) */
	ERR(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, 1, VEXFS_VEC_MAX_EF + 1, 0, h, &count),
	    -ERANGE);
	ERR(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, 1, UINT32_MAX, 0, h, &count), -ERANGE);
	ERR(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, 1, UINT32_MAX, VEXFS_VEC_EXACT, h, &count),
	    -ERANGE);
	ERR(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, 1, 0, 2, h, &count), -EINVAL);
	ERR(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, 1, 0, VEXFS_VEC_EXACT | 2, h, &count),
	    -EINVAL);
	ERR(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, 1, 0, 0x80000000u, h, &count), -EINVAL);
	ERR(vexfs_rust_vec_query(F.fs, v, VDIM, a.ino, 1, 0, 0, h, &count), -ENOTDIR);
	ERR(vexfs_rust_vec_query(F.fs, v, VDIM, a.ino, 1, 0, VEXFS_VEC_EXACT, h, &count),
	    -ENOTDIR);
	UEQ(count, 77);
	/* The largest n is accepted; nothing to find yet. */
	big = calloc(VEXFS_VEC_MAX_QUERY, sizeof(*big));
	CHECK(big != NULL);
	OK(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, VEXFS_VEC_MAX_QUERY, 0, 0, big, &count));
	UEQ(count, 0);
	OK(vset(a.ino, 1, 2, 3, 4));
	OK(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, VEXFS_VEC_MAX_QUERY, 0, 0, big, &count));
	UEQ(count, 1);
	UEQ(big[0].ino, a.ino);
	OK(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, VEXFS_VEC_MAX_QUERY, VEXFS_VEC_MAX_EF, 0,
				big, &count));
	UEQ(count, 1);
	OK(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, 1, 1, 0, big, &count));
	UEQ(count, 1);
	UEQ(big[0].distance, fbits(0.0f));
	OK(vexfs_rust_vec_query(F.fs, v, VDIM, ROOT, VEXFS_VEC_MAX_QUERY, 0, VEXFS_VEC_EXACT,
				big, &count));
	UEQ(count, 1);
	free(big);
	UEQ(vinfo().count, 1);
	UNMOUNT();
}

/* Dimension and value checks, the same for set and query. */
static void t_vec_bad_vectors(void)
{
	static uint32_t wide[VEXFS_VEC_MAX_DIM + 1];
	static const uint32_t nonfinite[] = {
		NAN_BITS, 0xffc00000u, 0x7f800001u, 0x7fffffffu,	/* NaNs */
		0x7f800000u, 0xff800000u,				/* +-Inf */
	};
	struct vexfs_vec_hit h[2];
	struct vexfs_attr a;
	uint32_t v[VDIM], w[VDIM], out[VDIM], dim, count = 77;

	vbits(v, 1, 2, 3, 4);
	MOUNT();
	OK(mk(ROOT, "f", S_IFREG | 0644, &a));
	/* Wrong dimension. */
	ERR(vexfs_rust_vec_set(F.fs, a.ino, v, 3), -EMSGSIZE);
	ERR(vexfs_rust_vec_set(F.fs, a.ino, v, 1), -EMSGSIZE);
	ERR(vexfs_rust_vec_set(F.fs, a.ino, wide, VDIM + 1), -EMSGSIZE);
	ERR(vexfs_rust_vec_set(F.fs, a.ino, wide, VEXFS_VEC_MAX_DIM), -EMSGSIZE);
	ERR(vexfs_rust_vec_set(F.fs, a.ino, wide, VEXFS_VEC_MAX_DIM + 1), -EMSGSIZE);
	ERR(vexfs_rust_vec_query(F.fs, v, 3, ROOT, 1, 0, 0, h, &count), -EMSGSIZE);
	ERR(vexfs_rust_vec_query(F.fs, wide, VDIM + 1, ROOT, 1, 0, 0, h, &count), -EMSGSIZE);
	ERR(vexfs_rust_vec_query(F.fs, wide, VEXFS_VEC_MAX_DIM, ROOT, 1, 0, 0, h, &count),
	    -EMSGSIZE);
	ERR(vexfs_rust_vec_query(F.fs, wide, VEXFS_VEC_MAX_DIM + 1, ROOT, 1, 0, 0, h, &count),
	    -EMSGSIZE);
	/* No vector at all. */
	ERR(vexfs_rust_vec_set(F.fs, a.ino, v, 0), -EINVAL);
	ERR(vexfs_rust_vec_set(F.fs, a.ino, NULL, VDIM), -EINVAL);
	ERR(vexfs_rust_vec_set(F.fs, a.ino, NULL, 0), -EINVAL);
	ERR(vexfs_rust_vec_query(F.fs, v, 0, ROOT, 1, 0, 0, h, &count), -EINVAL);
	ERR(vexfs_rust_vec_query(F.fs, NULL, VDIM, ROOT, 1, 0, 0, h, &count), -EINVAL);
	/* NaN and infinity, in every position. */
	for (size_t k = 0; k < sizeof(nonfinite) / sizeof(nonfinite[0]); k++) {
		for (int p = 0; p < VDIM; p++) {
			memcpy(w, v, sizeof(w));
			w[p] = nonfinite[k];
			ERR(vexfs_rust_vec_set(F.fs, a.ino, w, VDIM), -EDOM);
			ERR(vexfs_rust_vec_query(F.fs, w, VDIM, ROOT, 1, 0, 0, h, &count), -EDOM);
			ERR(vexfs_rust_vec_query(F.fs, w, VDIM, ROOT, 1, 0, VEXFS_VEC_EXACT, h,
						 &count), -EDOM);
		}
	}
	UEQ(count, 77);
	/* Nothing was stored by any of that. */
	ERR(vexfs_rust_vec_get(F.fs, a.ino, out, VDIM, &dim), -ENODATA);
	UEQ(vinfo().count, 0);
	/* Extreme finite values are vectors: largest, subnormal, -0. */
	w[0] = 0x7f7fffffu;
	w[1] = 0x00000001u;
	w[2] = 0x80000000u;
	w[3] = 0xff7fffffu;
	OK(vexfs_rust_vec_set(F.fs, a.ino, w, VDIM));
	memset(out, 0, sizeof(out));
	OK(vexfs_rust_vec_get(F.fs, a.ino, out, VDIM, &dim));
	UEQ(dim, VDIM);
	CHECK(memcmp(out, w, sizeof(w)) == 0);
	UNMOUNT();
}

static void t_vec_set_get(void)
{
	struct vexfs_vec_info vi;
	struct vexfs_attr a, b, g;
	uint32_t v[VDIM], out[2 * VDIM], dim;

	MOUNT();
	vi = vinfo();
	UEQ(vi.dim, VDIM);
	UEQ(vi.metric, 1);		/* VEXFS_METRIC_L2 */
	UEQ(vi.m, 16);
	UEQ(vi.ef_construction, 200);
	UEQ(vi.ef_search, 64);
	UEQ(vi.count, 0);
	CHECK(vi.capacity > 0);
	UEQ(vi.capacity, le64(F.img + SB_VEC_CAPACITY));
	OK(mk(ROOT, "f", S_IFREG | 0644, &a));
	vbits(v, 1.5f, -0.0f, 0.0f, 3.0e38f);
	v[2] = 0x00000001u;	/* a subnormal survives as is */
	OK(vexfs_rust_vec_set(F.fs, a.ino, v, VDIM));
	UEQ(vinfo().count, 1);
	OK(vexfs_rust_getattr(F.fs, a.ino, &g));
	/* Room for more than the dimension: the rest is left alone. */
	memset(out, 0xa5, sizeof(out));
	dim = 0;
	OK(vexfs_rust_vec_get(F.fs, a.ino, out, 2 * VDIM, &dim));
	UEQ(dim, VDIM);
	CHECK(memcmp(out, v, sizeof(v)) == 0);
	UEQ(out[VDIM], 0xa5a5a5a5u);
	/* Too little room: -EMSGSIZE, the dimension, nothing copied. */
	memset(out, 0xa5, sizeof(out));
	dim = 0;
	ERR(vexfs_rust_vec_get(F.fs, a.ino, out, VDIM - 1, &dim), -EMSGSIZE);
	UEQ(dim, VDIM);
	UEQ(out[0], 0xa5a5a5a5u);
	dim = 0;
	ERR(vexfs_rust_vec_get(F.fs, a.ino, out, 0, &dim), -EMSGSIZE);
	UEQ(dim, VDIM);
	UEQ(out[0], 0xa5a5a5a5u);
	/* Replacing keeps one vector per file. */
	OK(vset(a.ino, 9, 8, 7, 6));
	UEQ(vinfo().count, 1);
	CHECK(vhas(a.ino, 9, 8, 7, 6));
	/* A second file is independent. */
	OK(mk(ROOT, "g", S_IFREG | 0644, &b));
	ERR(vexfs_rust_vec_get(F.fs, b.ino, out, VDIM, &dim), -ENODATA);
	OK(vset(b.ino, -1, -2, -3, -4));
	UEQ(vinfo().count, 2);
	CHECK(vhas(a.ino, 9, 8, 7, 6));
	CHECK(vhas(b.ino, -1, -2, -3, -4));
	/* The file itself is untouched (size, mode, links). */
	OK(vexfs_rust_getattr(F.fs, a.ino, &b));
	UEQ(b.size, g.size);
	UEQ(b.mode, g.mode);
	UEQ(b.nlink, g.nlink);
	UNMOUNT();
	UEQ(le64(F.img + SB_VEC_COUNT), 2);
}

static void t_vec_delete(void)
{
	struct vexfs_vec_hit h[4];
	uint32_t out[VDIM], dim, count;
	uint64_t f, g;

	MOUNT();
	OK(mkvec(ROOT, "f", 1, 1, 1, 1, &f));
	OK(mkvec(ROOT, "g", 2, 2, 2, 2, &g));
	UEQ(vinfo().count, 2);
	OK(vexfs_rust_vec_delete(F.fs, f));
	UEQ(vinfo().count, 1);
	ERR(vexfs_rust_vec_get(F.fs, f, out, VDIM, &dim), -ENODATA);
	ERR(vexfs_rust_vec_delete(F.fs, f), -ENODATA);
	CHECK(vhas(g, 2, 2, 2, 2));
	OK(vq(ROOT, 4, 0, 0, h, &count, 1, 1, 1, 1));
	UEQ(count, 1);
	UEQ(h[0].ino, g);
	OK(vq(ROOT, 4, 0, VEXFS_VEC_EXACT, h, &count, 1, 1, 1, 1));
	UEQ(count, 1);
	UEQ(h[0].ino, g);
	/* The file is still there and can take a vector again. */
	OK(lk(ROOT, "f", NULL));
	OK(vset(f, 3, 3, 3, 3));
	UEQ(vinfo().count, 2);
	OK(vexfs_rust_vec_delete(F.fs, g));
	REMOUNT();
	UEQ(vinfo().count, 1);
	ERR(vexfs_rust_vec_get(F.fs, g, out, VDIM, &dim), -ENODATA);
	CHECK(vhas(f, 3, 3, 3, 3));
	OK(vq(ROOT, 4, 0, 0, h, &count, 2, 2, 2, 2));
	UEQ(count, 1);
	UEQ(h[0].ino, f);
	UNMOUNT();
}

/* Ten files on a line: (i, 0, 0, 0) for i = 0..9; query at 3.25. */
static void t_vec_query(void)
{
	static const int order[10] = { 3, 4, 2, 5, 1, 6, 0, 7, 8, 9 };
	struct vexfs_vec_hit h[16], e[16];
	uint64_t ino[10];
	uint32_t count;
	char name[16];

	MOUNT();
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		OK(mkvec(ROOT, name, (float)i, 0, 0, 0, &ino[i]));
	}
	OK(mk(ROOT, "novec", S_IFREG | 0644, NULL));
	OK(mk(ROOT, "dir", S_IFDIR | 0755, NULL));
	memset(h, 0xa5, sizeof(h));
	count = 999;
	OK(vq(ROOT, 16, 0, 0, h, &count, 3.25f, 0, 0, 0));
	UEQ(count, 10);
	CHECK(hits_sane(h, count));
	for (int k = 0; k < 10; k++) {
		float d = ((float)order[k] - 3.25f) * ((float)order[k] - 3.25f);

		UEQ(h[k].ino, ino[order[k]]);
		/* The distance is the squared L2 distance, as f32 bits. */
		if (bitsf(h[k].distance) != d)
			FAILF("hit %d: distance %g, expected %g", k,
			      (double)bitsf(h[k].distance), (double)d);
	}
	UEQ(h[10].ino, 0xa5a5a5a5a5a5a5a5ULL);	/* past count: untouched */
	/* n limits the answer to the nearest n. */
	OK(vq(ROOT, 3, 0, 0, h, &count, 3.25f, 0, 0, 0));
	UEQ(count, 3);
	UEQ(h[0].ino, ino[3]);
	UEQ(h[1].ino, ino[4]);
	UEQ(h[2].ino, ino[2]);
	OK(vq(ROOT, 1, 0, 0, h, &count, 8.9f, 0, 0, 0));
	UEQ(count, 1);
	UEQ(h[0].ino, ino[9]);
	/* An exact match is at distance 0. */
	OK(vq(ROOT, 2, 0, 0, h, &count, 7, 0, 0, 0));
	UEQ(count, 2);
	UEQ(h[0].ino, ino[7]);
	UEQ(h[0].distance, fbits(0.0f));
	/* Any search breadth gives a valid answer; here, the exact one. */
	OK(vq(ROOT, 10, 0, VEXFS_VEC_EXACT, e, &count, 3.25f, 0, 0, 0));
	UEQ(count, 10);
	for (uint32_t ef = 1; ef <= 1024; ef *= 4) {
		OK(vq(ROOT, 5, ef, 0, h, &count, 3.25f, 0, 0, 0));
		UEQ(count, 5);
		CHECK(hits_sane(h, count));
		if (ef >= 16)
			for (int k = 0; k < 5; k++)
				UEQ(h[k].ino, e[k].ino);
	}
	UNMOUNT();
}

static uint32_t lcg_state;

static float lcg_float(void)
{
	lcg_state = lcg_state * 1103515245u + 12345u;
	/* Multiples of 1/64 in [-8, 8): exact in f32. */
	return (float)((int)((lcg_state >> 16) & 1023) - 512) / 64.0f;
}

/* The index and the exact scan agree on a small set; both match the host. */
static void t_vec_query_exact(void)
{
	enum { NF = 60, K = 8 };
	static float vecs[NF][VDIM];
	struct vexfs_vec_hit h[K], e[K];
	uint64_t ino[NF];
	uint32_t hc, ec;
	char name[16];

	lcg_state = 42;
	MOUNT();
	for (int i = 0; i < NF; i++) {
		for (int j = 0; j < VDIM; j++)
			vecs[i][j] = lcg_float();
		snprintf(name, sizeof(name), "r%d", i);
		OK(mkvec(ROOT, name, vecs[i][0], vecs[i][1], vecs[i][2], vecs[i][3], &ino[i]));
	}
	for (int q = 0; q < 20; q++) {
		float qv[VDIM], dist[NF], kth;
		int below = 0;

		for (int j = 0; j < VDIM; j++)
			qv[j] = lcg_float();
		OK(vq(ROOT, K, 0, 0, h, &hc, qv[0], qv[1], qv[2], qv[3]));
		OK(vq(ROOT, K, 0, VEXFS_VEC_EXACT, e, &ec, qv[0], qv[1], qv[2], qv[3]));
		UEQ(hc, K);
		UEQ(ec, K);
		CHECK(hits_sane(h, hc));
		CHECK(hits_sane(e, ec));
		for (int k = 0; k < K; k++) {
			/* Same distances rank by rank; same files unless tied. */
			UEQ(h[k].distance, e[k].distance);
			if ((k == 0 || e[k].distance != e[k - 1].distance) &&
			    (k == K - 1 || e[k].distance != e[k + 1].distance))
				UEQ(h[k].ino, e[k].ino);
		}
		/* Host brute force: every hit's distance is right (multiples of
		 * 1/4096 below 2^24/4096: exact), and nothing nearer was left out. */
		for (int i = 0; i < NF; i++) {
			dist[i] = 0;
			for (int j = 0; j < VDIM; j++)
				dist[i] += (vecs[i][j] - qv[j]) * (vecs[i][j] - qv[j]);
		}
		for (int k = 0; k < K; k++) {
			int i = 0;

			while (i < NF && ino[i] != e[k].ino)
				i++;
			CHECK(i < NF);
			if (bitsf(e[k].distance) != dist[i])
				FAILF("query %d hit %d: distance %g, host %g", q, k,
				      (double)bitsf(e[k].distance), (double)dist[i]);
		}
		kth = bitsf(e[K - 1].distance);
		for (int i = 0; i < NF; i++)
			below += dist[i] < kth;
		CHECK(below < K);
	}
	UNMOUNT();
}

static void t_vec_query_subtree(void)
{
	struct vexfs_vec_hit h[16];
	struct vexfs_attr sub, deep, other, empty;
	uint64_t r[3], s0, s1, t0, o0;
	uint32_t count;

	MOUNT();
	OK(mk(ROOT, "sub", S_IFDIR | 0755, &sub));
	OK(mk(sub.ino, "deep", S_IFDIR | 0755, &deep));
	OK(mk(ROOT, "other", S_IFDIR | 0755, &other));
	OK(mk(ROOT, "empty", S_IFDIR | 0755, &empty));
	/* The files nearest the query are outside sub/. */
	OK(mkvec(ROOT, "r0", 0, 0, 0, 0, &r[0]));
	OK(mkvec(ROOT, "r1", 1, 0, 0, 0, &r[1]));
	OK(mkvec(ROOT, "r2", 2, 0, 0, 0, &r[2]));
	OK(mkvec(sub.ino, "s0", 5, 0, 0, 0, &s0));
	OK(mkvec(sub.ino, "s1", 6, 0, 0, 0, &s1));
	OK(mkvec(deep.ino, "t0", 7, 0, 0, 0, &t0));
	OK(mkvec(other.ino, "o0", 5.5f, 0, 0, 0, &o0));
	OK(mk(sub.ino, "novec", S_IFREG | 0644, NULL));
	for (uint32_t fl = 0; fl <= VEXFS_VEC_EXACT; fl++) {
		/* sub/ and below only, nearest first. */
		OK(vq(sub.ino, 16, 0, fl, h, &count, 0, 0, 0, 0));
		UEQ(count, 3);
		UEQ(h[0].ino, s0);
		UEQ(h[1].ino, s1);
		UEQ(h[2].ino, t0);
		OK(vq(sub.ino, 2, 0, fl, h, &count, 0, 0, 0, 0));
		UEQ(count, 2);
		UEQ(h[0].ino, s0);
		UEQ(h[1].ino, s1);
		/* A subdirectory does not reach back up through "..". */
		OK(vq(deep.ino, 16, 0, fl, h, &count, 0, 0, 0, 0));
		UEQ(count, 1);
		UEQ(h[0].ino, t0);
		OK(vq(other.ino, 16, 0, fl, h, &count, 0, 0, 0, 0));
		UEQ(count, 1);
		UEQ(h[0].ino, o0);
		OK(vq(empty.ino, 16, 0, fl, h, &count, 0, 0, 0, 0));
		UEQ(count, 0);
		/* The root is everything. */
		OK(vq(ROOT, 16, 0, fl, h, &count, 0, 0, 0, 0));
		UEQ(count, 7);
		CHECK(hits_sane(h, count));
		UEQ(h[0].ino, r[0]);
		CHECK(hits_have(h, count, t0));
	}
	/* A hard link puts the file in a second subtree too. */
	OK(vexfs_rust_link(F.fs, other.ino, NM("s0link"), s0));
	OK(vq(other.ino, 16, 0, 0, h, &count, 0, 0, 0, 0));
	UEQ(count, 2);
	UEQ(h[0].ino, s0);
	UEQ(h[1].ino, o0);
	/* Moving a file moves it out of the subtree. */
	OK(vexfs_rust_rename(F.fs, deep.ino, NM("t0"), ROOT, NM("t0"), 0));
	OK(vq(sub.ino, 16, 0, 0, h, &count, 0, 0, 0, 0));
	UEQ(count, 2);
	CHECK(!hits_have(h, count, t0));
	UNMOUNT();
}

/* A subtree too large for the exact fallback goes through the index filter. */
static void t_vec_query_subtree_large(void)
{
	enum { NB = 300 };
	struct vexfs_vec_hit h[8], e[8];
	struct vexfs_attr big;
	uint64_t ino;
	uint32_t hc, ec;
	char name[16];

	MOUNT();
	OK(mk(ROOT, "big", S_IFDIR | 0755, &big));
	for (int i = 0; i < NB; i++) {
		snprintf(name, sizeof(name), "b%d", i);
		OK(mkvec(big.ino, name, (float)i, 1, 0, 0, &ino));
		snprintf(name, sizeof(name), "o%d", i);
		OK(mkvec(ROOT, name, (float)i + 0.5f, 0, 0, 0, NULL));
	}
	for (float q = 0.25f; q < NB; q += 37.0f) {
		OK(vq(big.ino, 1, 0, 0, h, &hc, q, 0, 0, 0));
		OK(vq(big.ino, 1, 0, VEXFS_VEC_EXACT, e, &ec, q, 0, 0, 0));
		UEQ(hc, 1);
		UEQ(ec, 1);
		UEQ(h[0].ino, e[0].ino);
		OK(vq(big.ino, 8, 0, 0, h, &hc, q, 0, 0, 0));
		OK(vq(big.ino, 8, 0, VEXFS_VEC_EXACT, e, &ec, q, 0, 0, 0));
		UEQ(hc, 8);
		UEQ(ec, 8);
		CHECK(hits_sane(h, hc));
		for (int k = 0; k < 8; k++) {
			/* Every hit is in big/: its distance has the 1 of (x, 1, 0, 0). */
			CHECK(bitsf(h[k].distance) >= 1.0f);
			UEQ(h[k].distance, e[k].distance);
		}
	}
	/* Check membership by name too, for the nearest few. */
	OK(vq(big.ino, 8, 0, 0, h, &hc, 100.25f, 0, 0, 0));
	for (uint32_t k = 0; k < hc; k++) {
		int in = 0;

		for (int i = 95; i < 106 && !in; i++) {
			uint64_t b;

			snprintf(name, sizeof(name), "b%d", i);
			OK(lk(big.ino, name, &b));
			in = b == h[k].ino;
		}
		CHECK(in);
	}
	UNMOUNT();
}

/* Loops that grow with the data offer the kernel a scheduling point. */
static void t_vec_resched(void)
{
	enum { NF = 600 };
	struct vexfs_vec_hit h[4];
	unsigned long before;
	uint32_t count;
	char name[16];

	MOUNT();
	before = shim_resched_calls;
	for (int i = 0; i < NF; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		OK(mkvec(ROOT, name, (float)i, 1, (float)(i % 7), 2, NULL));
	}
	CHECK(shim_resched_calls > before);
	/* an exact search over every vector */
	before = shim_resched_calls;
	OK(vq(ROOT, 4, 0, VEXFS_VEC_EXACT, h, &count, 1, 1, 1, 1));
	UEQ(count, 4);
	CHECK(shim_resched_calls >= before + NF / 256);
	/* mount reads every slot block and loads (or rebuilds) the graph */
	UNMOUNT();
	before = shim_resched_calls;
	MOUNT();
	CHECK(shim_resched_calls > before);
	UNMOUNT();
}

static void t_vec_persist(void)
{
	enum { NF = 20 };
	struct vexfs_vec_info vi0, vi1;
	struct vexfs_vec_hit h0[NF], h1[NF];
	uint32_t c0, c1, out[VDIM], dim;
	uint64_t ino[NF], x;
	uint8_t *snap;
	unsigned long logs;
	char name[16];

	MOUNT();
	for (int i = 0; i < NF; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		OK(mkvec(ROOT, name, (float)i, (float)i * 0.5f, (float)-i, 1, &ino[i]));
	}
	OK(vexfs_rust_vec_delete(F.fs, ino[3]));
	OK(vset(ino[4], 40, 40, 40, 40));
	vi0 = vinfo();
	UEQ(vi0.count, NF - 1);
	CHECK(vi0.index_bytes > 0);
	OK(vq(ROOT, NF, 0, 0, h0, &c0, 2, 1, -2, 1));
	UEQ(c0, NF - 1);
	UNMOUNT();
	UEQ(le64(F.img + SB_VEC_COUNT), NF - 1);
	logs = shim_log_count;
	MOUNT();
	/* The graph stored at unmount is loaded, not rebuilt. */
	CHECK(shim_log_count == logs || strstr(shim_last_log, "rebuild") == NULL);
	vi1 = vinfo();
	UEQ(vi1.count, vi0.count);
	UEQ(vi1.capacity, vi0.capacity);
	UEQ(vi1.index_bytes, vi0.index_bytes);
	UEQ(vi1.levels, vi0.levels);
	for (int i = 0; i < NF; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		OK(lk(ROOT, name, &x));
		UEQ(x, ino[i]);
		if (i == 3)
			ERR(vexfs_rust_vec_get(F.fs, x, out, VDIM, &dim), -ENODATA);
		else if (i == 4)
			CHECK(vhas(x, 40, 40, 40, 40));
		else
			CHECK(vhas(x, (float)i, (float)i * 0.5f, (float)-i, 1));
	}
	OK(vq(ROOT, NF, 0, 0, h1, &c1, 2, 1, -2, 1));
	UEQ(c1, c0);
	CHECK(memcmp(h0, h1, c0 * sizeof(h0[0])) == 0);
	/* A crash after a change (no sync, no unmount): the graph rows were
	 * written before the commit, the mount replays the journal and reads
	 * nothing of the vector area. */
	OK(vset(ino[3], 3, 1.5f, -3, 1));
	OK(vexfs_rust_vec_delete(F.fs, ino[5]));
	OK(vexfs_rust_commit(F.fs, 0));	/* journaled, index not stored */
	snap = malloc(NBLOCKS * BS);
	CHECK(snap != NULL);
	memcpy(snap, F.img, NBLOCKS * BS);
	UNMOUNT();
	memcpy(F.img, snap, NBLOCKS * BS);
	free(snap);
	logs = shim_log_count;
	shim_log_quiet = 1;
	MOUNT();
	shim_log_quiet = 0;
	CHECK(shim_log_count > logs);
	CHECK(strstr(shim_last_log, "rebuilding vector index") == NULL);
	UEQ(vinfo().count, NF - 1);
	CHECK(vhas(ino[3], 3, 1.5f, -3, 1));
	ERR(vexfs_rust_vec_get(F.fs, ino[5], out, VDIM, &dim), -ENODATA);
	OK(vq(ROOT, NF, 0, 0, h1, &c1, 3, 1.5f, -3, 1));
	UEQ(c1, NF - 1);
	UEQ(h1[0].ino, ino[3]);
	CHECK(!hits_have(h1, c1, ino[5]));
	UNMOUNT();
}

static void t_vec_file_deletion(void)
{
	struct vexfs_vec_hit h[8];
	struct vexfs_attr g, n;
	uint32_t out[VDIM], dim, count;
	uint64_t keep, gone, victim, src;

	MOUNT();
	OK(mkvec(ROOT, "keep", 1, 0, 0, 0, &keep));
	OK(mkvec(ROOT, "gone", 0, 0, 0, 0, &gone));
	UEQ(vinfo().count, 2);
	/* Unlinked but still held: the file and its vector live on. */
	OK(vexfs_rust_unlink(F.fs, ROOT, NM("gone")));
	CHECK(vhas(gone, 0, 0, 0, 0));
	/* The last reference goes: so does the vector. */
	OK(vexfs_rust_evict(F.fs, gone, 1));
	ERR(vexfs_rust_getattr(F.fs, gone, &g), -ESTALE);
	UEQ(vinfo().count, 1);
	for (uint32_t fl = 0; fl <= VEXFS_VEC_EXACT; fl++) {
		OK(vq(ROOT, 8, 0, fl, h, &count, 0, 0, 0, 0));
		UEQ(count, 1);
		UEQ(h[0].ino, keep);
	}
	/* A new file (perhaps reusing the inode number) starts without one. */
	OK(mk(ROOT, "new", S_IFREG | 0644, &n));
	ERR(vexfs_rust_vec_get(F.fs, n.ino, out, VDIM, &dim), -ENODATA);
	OK(vset(n.ino, 2, 0, 0, 0));
	UEQ(vinfo().count, 2);
	/* Replaced by a rename: the old target's vector goes with it. */
	OK(mkvec(ROOT, "victim", 0.5f, 0, 0, 0, &victim));
	OK(vexfs_rust_evict(F.fs, victim, 0));	/* the kernel lets go of it */
	OK(mk(ROOT, "src", S_IFREG | 0644, NULL));
	OK(lk(ROOT, "src", &src));
	UEQ(vinfo().count, 3);
	OK(vexfs_rust_rename(F.fs, ROOT, NM("src"), ROOT, NM("victim"), 0));
	UEQ(vinfo().count, 2);
	OK(vq(ROOT, 8, 0, 0, h, &count, 0, 0, 0, 0));
	UEQ(count, 2);
	CHECK(!hits_have(h, count, victim));
	REMOUNT();
	UEQ(vinfo().count, 2);
	OK(vq(ROOT, 8, 0, 0, h, &count, 0, 0, 0, 0));
	UEQ(count, 2);
	UEQ(h[0].ino, keep);
	UEQ(h[1].ino, n.ino);
	UNMOUNT();
	UEQ(le64(F.img + SB_VEC_COUNT), 2);
}

static void t_vec_rdonly(void)
{
	struct vexfs_vec_hit h[4];
	uint64_t f, g;
	uint32_t count, out[VDIM], dim;
	unsigned long writes;
	uint8_t *snap;

	MOUNT();
	OK(mkvec(ROOT, "f", 1, 2, 3, 4, &f));
	OK(mk(ROOT, "g", S_IFREG | 0644, NULL));
	OK(lk(ROOT, "g", &g));
	UNMOUNT();
	writes = F.sb.writes;
	OK(mount_f(VEXFS_MOUNT_RDONLY));
	UEQ(F.info.read_only, 1);
	ERR(vset(f, 5, 5, 5, 5), -EROFS);
	ERR(vset(g, 5, 5, 5, 5), -EROFS);
	ERR(vexfs_rust_vec_delete(F.fs, f), -EROFS);
	CHECK(vhas(f, 1, 2, 3, 4));
	ERR(vexfs_rust_vec_get(F.fs, g, out, VDIM, &dim), -ENODATA);
	OK(vq(ROOT, 4, 0, 0, h, &count, 1, 2, 3, 4));
	UEQ(count, 1);
	UEQ(h[0].ino, f);
	OK(vq(ROOT, 4, 0, VEXFS_VEC_EXACT, h, &count, 1, 2, 3, 4));
	UEQ(count, 1);
	UEQ(vinfo().count, 1);
	UNMOUNT();
	UEQ(F.sb.writes, writes);
	/* Remounted read-only, likewise; and writable again after. */
	MOUNT();
	OK(vexfs_rust_remount(F.fs, VEXFS_MOUNT_RDONLY));
	ERR(vset(f, 5, 5, 5, 5), -EROFS);
	ERR(vexfs_rust_vec_delete(F.fs, f), -EROFS);
	CHECK(vhas(f, 1, 2, 3, 4));
	OK(vq(ROOT, 4, 0, 0, h, &count, 1, 2, 3, 4));
	UEQ(count, 1);
	OK(vexfs_rust_remount(F.fs, 0));
	OK(vset(f, 5, 5, 5, 5));
	CHECK(vhas(f, 5, 5, 5, 5));
	/* Crash (no unmount) after a committed change: a read-only mount
	 * replays the journal (as ext4 does), rebuilds the stale graph in
	 * memory, and writes nothing else. */
	OK(vset(g, 6, 6, 6, 6));
	OK(vexfs_rust_commit(F.fs, 0));
	snap = malloc(NBLOCKS * BS);
	CHECK(snap != NULL);
	memcpy(snap, F.img, NBLOCKS * BS);
	UNMOUNT();
	memcpy(F.img, snap, NBLOCKS * BS);
	free(snap);
	writes = F.sb.writes;
	shim_log_quiet = 1;
	OK(mount_f(VEXFS_MOUNT_RDONLY));
	shim_log_quiet = 0;
	UEQ(vinfo().count, 2);
	CHECK(vhas(g, 6, 6, 6, 6));
	OK(vq(ROOT, 4, 0, 0, h, &count, 6, 6, 6, 6));
	UEQ(count, 2);
	UEQ(h[0].ino, g);
	UEQ(h[1].ino, f);
	UNMOUNT();
	CHECK(F.sb.writes > writes);	/* the replay */
	writes = F.sb.writes;
	OK(mount_f(VEXFS_MOUNT_RDONLY));
	UEQ(vinfo().count, 2);
	CHECK(vhas(g, 6, 6, 6, 6));
	UNMOUNT();
	UEQ(F.sb.writes, writes);
}

static void t_vec_corrupt_slot(void)
{
	struct vexfs_vec_hit h[4];
	uint64_t f, vs, idx;
	uint32_t count;
	unsigned long logs;
	uint8_t *p;

	MOUNT();
	OK(mkvec(ROOT, "f", 1, 2, 3, 4, &f));
	UNMOUNT();
	vs = le64(F.img + SB_VECTOR_START);
	CHECK(vs > 0 && vs < NBLOCKS);
	/* Slot 0 holds f's vector: flip a bit of its second float. */
	p = F.img + vs * BS + BLOCK_HEADER + VEC_SLOT_HEAD + 4;
	UEQ(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24, fbits(2.0f));
	p[1] ^= 0x01;
	/*
	 * The mount reads no slot block (the stored graph is current): the
	 * damage is found, logged and returned at the block's first read.
	 */
	logs = shim_log_count;
	shim_log_quiet = 1;
	OK(mount_f(VEXFS_MOUNT_RDONLY));
	UEQ(shim_log_count, logs);
	{
		uint32_t got[VDIM], dim = 0;

		ERR(vexfs_rust_vec_get(F.fs, f, got, VDIM, &dim), -EUCLEAN);
	}
	CHECK(shim_log_count > logs);
	UEQ(shim_last_log_level, VEXFS_LOG_ERR);
	ERR(vq(ROOT, 4, 0, 0, h, &count, 1, 2, 3, 4), -EUCLEAN);
	ERR(vq(ROOT, 4, 0, VEXFS_VEC_EXACT, h, &count, 1, 2, 3, 4), -EUCLEAN);
	shim_log_quiet = 0;
	UNMOUNT();
	/* Put the byte back: mountable again, the vector intact. */
	p[1] ^= 0x01;
	shim_log_quiet = 1;
	MOUNT();
	shim_log_quiet = 0;
	CHECK(vhas(f, 1, 2, 3, 4));
	UNMOUNT();
	/* Graph rows: damage there is logged when first read, the rows read
	 * empty (queries search exactly until the nodes are linked again), no
	 * error state. */
	idx = vs + le64(F.img + SB_VEC_SLOT_BLOCKS);
	CHECK(idx > vs && idx < NBLOCKS);
	F.img[idx * BS + BLOCK_HEADER + 2] ^= 0x10;
	logs = shim_log_count;
	shim_log_quiet = 1;
	MOUNT();
	OK(vq(ROOT, 4, 0, 0, h, &count, 1, 2, 3, 4));
	shim_log_quiet = 0;
	CHECK(shim_log_count > logs);
	CHECK(strstr(shim_last_log, "vector graph block") != NULL);
	CHECK(vhas(f, 1, 2, 3, 4));
	OK(vq(ROOT, 4, 0, 0, h, &count, 1, 2, 3, 4));
	UEQ(count, 1);
	UEQ(h[0].ino, f);
	OK(mkvec(ROOT, "g", 0, 0, 0, 0, NULL));
	UEQ(vinfo().count, 2);
	UNMOUNT();
}

/* mkfs --max-vectors 4. */
static void t_vec_enospc(void)
{
	uint64_t f[6];
	uint32_t out[VDIM], dim;
	struct vexfs_attr a;
	char name[16];

	MOUNT();
	UEQ(vinfo().capacity, 4);
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		OK(mk(ROOT, name, S_IFREG | 0644, &a));
		f[i] = a.ino;
	}
	for (int i = 0; i < 4; i++)
		OK(vset(f[i], (float)i, 0, 0, 0));
	ERR(vset(f[4], 4, 0, 0, 0), -ENOSPC);
	UEQ(vinfo().count, 4);
	ERR(vexfs_rust_vec_get(F.fs, f[4], out, VDIM, &dim), -ENODATA);
	/* Replacing a vector needs no new room. */
	OK(vset(f[0], 10, 0, 0, 0));
	CHECK(vhas(f[0], 10, 0, 0, 0));
	/* Deleting one makes room for one. */
	OK(vexfs_rust_vec_delete(F.fs, f[1]));
	OK(vset(f[4], 4, 0, 0, 0));
	ERR(vset(f[5], 5, 0, 0, 0), -ENOSPC);
	UEQ(vinfo().count, 4);
	REMOUNT();
	UEQ(vinfo().count, 4);
	ERR(vset(f[1], 1, 0, 0, 0), -ENOSPC);
	/* So does deleting a file that has one. */
	OK(vexfs_rust_iget(F.fs, f[2], &a));
	OK(vexfs_rust_unlink(F.fs, ROOT, NM("f2")));
	OK(vexfs_rust_evict(F.fs, f[2], 1));
	UEQ(vinfo().count, 3);
	OK(vset(f[1], 1, 0, 0, 0));
	UEQ(vinfo().count, 4);
	ERR(vset(f[5], 5, 0, 0, 0), -ENOSPC);
	CHECK(vhas(f[0], 10, 0, 0, 0));
	CHECK(vhas(f[1], 1, 0, 0, 0));
	CHECK(vhas(f[3], 3, 0, 0, 0));
	CHECK(vhas(f[4], 4, 0, 0, 0));
	UNMOUNT();
}

/* Allocator traffic went through vexfs_shim_alloc/free, correctly. */
/*
 * The slot cache: vec_info reports it, the shrinker's entry points free
 * it (never waiting for a held lock), the budget bounds it, and queries
 * read the blocks again with the same answers.
 */
static void t_vec_cache(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_vec_hit h[8], e[8];
	struct vexfs_vec_info vi;
	uint64_t ino[40], n;
	uint32_t count;
	char name[16];

	MOUNT();
	/* No handle, not a handle: nothing to count or free. */
	UEQ(vexfs_rust_vec_cache_count(NULL), 0);
	UEQ(vexfs_rust_vec_cache_count(bad), 0);
	EQ(vexfs_rust_vec_cache_shrink(NULL, 1), -EINVAL);
	EQ(vexfs_rust_vec_cache_shrink(bad, 1), -EBADF);
	ERR(vexfs_rust_vec_cache_budget(NULL, 0), -EINVAL);
	ERR(vexfs_rust_vec_cache_budget(bad, 0), -EBADF);
	free(bad);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		OK(mkvec(ROOT, name, (float)i, 0, 0, 0, &ino[i]));
	}
	OK(vq(ROOT, 8, 0, VEXFS_VEC_EXACT, e, &count, 17.25f, 0, 0, 0));
	UEQ(count, 8);
	UEQ(e[0].ino, ino[17]);
	/* Committed: no graph block is pinned dirty, all can be freed. */
	OK(vexfs_rust_commit(F.fs, 0));
	OK(vexfs_rust_vec_info(F.fs, &vi));
	CHECK(vi.cache_bytes > 0);
	UEQ(vi.cache_budget, 32u << 20);
	CHECK(vi.cache_hits > 0);
	CHECK(vi.cache_misses > 0);
	n = vexfs_rust_vec_cache_count(F.fs);
	CHECK(n > 0);
	/* Held lock (here by this thread): no wait, nothing freed. */
	vexfs_shim_lock(&F.sb);
	UEQ(vexfs_rust_vec_cache_count(F.fs), 0);
	EQ(vexfs_rust_vec_cache_shrink(F.fs, n), -EAGAIN);
	vexfs_shim_unlock(&F.sb);
	CHECK(F.sb.trylock_busy >= 2);
	UEQ(vexfs_rust_vec_cache_count(F.fs), n);
	EQ(vexfs_rust_vec_cache_shrink(F.fs, 0), 0);
	EQ(vexfs_rust_vec_cache_shrink(F.fs, UINT64_MAX), (int64_t)n);
	UEQ(vexfs_rust_vec_cache_count(F.fs), 0);
	OK(vexfs_rust_vec_info(F.fs, &vi));
	UEQ(vi.cache_bytes, 0);
	/* Read again: the same answer. */
	OK(vq(ROOT, 8, 0, VEXFS_VEC_EXACT, h, &count, 17.25f, 0, 0, 0));
	UEQ(count, 8);
	for (int k = 0; k < 8; k++)
		UEQ(h[k].ino, e[k].ino);
	/* A zero budget keeps nothing between calls. */
	OK(vexfs_rust_vec_cache_budget(F.fs, 0));
	OK(vq(ROOT, 8, 0, 0, h, &count, 17.25f, 0, 0, 0));
	UEQ(h[0].ino, ino[17]);
	UEQ(vexfs_rust_vec_cache_count(F.fs), 0);
	OK(vexfs_rust_vec_info(F.fs, &vi));
	UEQ(vi.cache_budget, 0);
	UEQ(vi.cache_bytes, 0);
	UNMOUNT();
}

static void t_allocator(void)
{
	CHECK(shim_total_allocs > 0);
	UEQ(shim_alloc_violations, 0);
}

/* ------------------------------------------------------------------ */

/* Format a fresh image file with mkfs.vexfs `opts` and read it into *out. */
static int make_image(const char *opts, char *path, size_t pathlen, uint8_t **out)
{
	const char *tmp = getenv("TMPDIR");
	char cmd[1024];
	int fd, st;
	ssize_t n;

	snprintf(path, pathlen, "%s/vexfs-contract-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, (off_t)(NBLOCKS * BS)) < 0) {
		perror("contract: image");
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "'%s' -q -f -L contract %s '%s' >&2", mkfs_path, opts, path);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "contract: '%s' failed (status %d)\n", cmd, st);
		return -1;
	}
	*out = malloc(NBLOCKS * BS);
	fd = open(path, O_RDONLY);
	if (!*out || fd < 0)
		return -1;
	n = pread(fd, *out, NBLOCKS * BS, 0);
	close(fd);
	if (n != (ssize_t)(NBLOCKS * BS)) {
		fprintf(stderr, "contract: short image read\n");
		return -1;
	}
	return 0;
}

static int make_golden(void)
{
	char path[256];

	if (make_image("", golden_path, sizeof(golden_path), &golden) != 0)
		return -1;
	if (make_image("--dim 4 --metric l2", path, sizeof(path), &golden_vec) != 0)
		return -1;
	unlink(path);
	if (make_image("--dim 4 --metric l2 --max-vectors 4", path, sizeof(path),
		       &golden_vec4) != 0)
		return -1;
	unlink(path);
	return 0;
}


/* ------------------------------------------------------------------ */
/* File features: flags, fallocate, fiemap, seek, whiteout, trim       */

static void t_set_flags(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a, g;

	MOUNT();
	OK(mk(ROOT, "f", S_IFREG | 0644, &a));
	UEQ(a.flags, 0);
	CHECK(a.crtime_sec > 0);
	ERR(vexfs_rust_set_flags(NULL, a.ino, 0, &g), -EINVAL);
	ERR(vexfs_rust_set_flags(F.fs, a.ino, 0, NULL), -EINVAL);
	ERR(vexfs_rust_set_flags(bad, a.ino, 0, &g), -EBADF);
	free(bad);
	ERR(vexfs_rust_set_flags(F.fs, a.ino, 0x4000, &g), -EOPNOTSUPP);
	ERR(vexfs_rust_set_flags(F.fs, a.ino, VEXFS_FL_KNOWN | 1, &g), -EOPNOTSUPP);
	ERR(vexfs_rust_set_flags(F.fs, 999999, 0, &g), -ESTALE);
	OK(vexfs_rust_set_flags(F.fs, a.ino, VEXFS_FL_IMMUTABLE | VEXFS_FL_NOATIME, &g));
	UEQ(g.flags, VEXFS_FL_IMMUTABLE | VEXFS_FL_NOATIME);
	UEQ(g.crtime_sec, a.crtime_sec);
	UEQ(g.crtime_nsec, a.crtime_nsec);
	/* The core refuses changes the VFS would have refused (vectors). */
	{
		uint32_t v[4] = { 0 };
		int r = vexfs_rust_vec_set(F.fs, a.ino, v, 4);
		CHECK(r == -EPERM);
	}
	/* setattr (write_inode) never changes the flags. */
	g.flags = 0;
	OK(vexfs_rust_write_inode(F.fs, &g));
	OK(vexfs_rust_getattr(F.fs, a.ino, &g));
	UEQ(g.flags, VEXFS_FL_IMMUTABLE | VEXFS_FL_NOATIME);
	UNMOUNT();
	MOUNT();
	OK(vexfs_rust_iget(F.fs, a.ino, &g));
	UEQ(g.flags, VEXFS_FL_IMMUTABLE | VEXFS_FL_NOATIME);
	OK(vexfs_rust_set_flags(F.fs, a.ino, 0, &g));
	UEQ(g.flags, 0);
	OK(vexfs_rust_evict(F.fs, a.ino, 0));
	UNMOUNT();
}

/* Commit as the shim does: take the ordered inodes (their data is "written"), commit. */
static int commit_ordered(void)
{
	uint64_t inos[8];
	uint32_t n;
	int r;

	do {
		r = vexfs_rust_ordered_take(F.fs, inos, 8, &n);
	} while (!r && n);
	return r ? r : vexfs_rust_commit(F.fs, 0);
}

/* The VFS size handed to vexfs_rust_fallocate: the core's own here. */
#define SZ (vexfs_rust_getattr(F.fs, a.ino, &sz_) == 0 ? sz_.size : 0)

static void t_fallocate(void)
{
	struct vexfs_attr sz_;
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a, d;
	struct vexfs_falloc o;
	struct vexfs_map m;
	struct vexfs_statfs s0;

	MOUNT();
	OK(mk(ROOT, "f", S_IFREG | 0644, &a));
	OK(mk(ROOT, "d", S_IFDIR | 0755, &d));
	ERR(vexfs_rust_fallocate(NULL, a.ino, 0, 0, BS, 0, SZ, &o), -EINVAL);
	ERR(vexfs_rust_fallocate(F.fs, a.ino, 0, 0, BS, 0, SZ, NULL), -EINVAL);
	ERR(vexfs_rust_fallocate(bad, a.ino, 0, 0, BS, 0, SZ, &o), -EBADF);
	free(bad);
	ERR(vexfs_rust_fallocate(F.fs, a.ino, 0, 0, 0, 0, SZ, &o), -EINVAL);
	ERR(vexfs_rust_fallocate(F.fs, a.ino, VEXFS_FALLOC_PUNCH_HOLE, 0, BS, 0, SZ, &o), -EOPNOTSUPP);
	ERR(vexfs_rust_fallocate(F.fs, a.ino, 0x8, 0, BS, 0, SZ, &o), -EOPNOTSUPP);
	ERR(vexfs_rust_fallocate(F.fs, a.ino, 0, UINT64_MAX - 10, BS, 0, SZ, &o), -EFBIG);
	ERR(vexfs_rust_fallocate(F.fs, a.ino, 0, MAX_FILE_BLOCKS * BS, BS, 0, SZ, &o), -EFBIG);
	ERR(vexfs_rust_fallocate(F.fs, d.ino, 0, 0, BS, 0, SZ, &o), -EISDIR);
	ERR(vexfs_rust_fallocate(F.fs, 999999, 0, 0, BS, 0, SZ, &o), -ESTALE);
	s0 = stfs();
	ERR(vexfs_rust_fallocate(F.fs, a.ino, 0, 0, (s0.bfree + 1) * BS, 0, SZ, &o), -ENOSPC);
	UEQ(stfs().bfree, s0.bfree);
	/* 8 blocks: size set, blocks counted, read as a hole by get_block. */
	memset(&o, 0xa5, sizeof(o));
	OK(vexfs_rust_fallocate(F.fs, a.ino, 0, 0, 8 * BS, 0, SZ, &o));
	UEQ(o.done, 8 * BS);
	UEQ(o.size, 8 * BS);
	UEQ(o.blocks, 64);
	UEQ(stfs().bfree, s0.bfree - 8);
	OK(vexfs_rust_get_block(F.fs, a.ino, 3, 1, 0, &m));
	UEQ(m.len, 0);
	/* create converts: new, so the page cache zeroes what it does not write */
	OK(vexfs_rust_get_block(F.fs, a.ino, 3, 1, 1, &m));
	UEQ(m.len, 1);
	UEQ(m.new_blocks, 1);
	UEQ(m.blocks, 64);
	OK(vexfs_rust_get_block(F.fs, a.ino, 3, 1, 0, &m));
	UEQ(m.len, 1);
	UEQ(stfs().bfree, s0.bfree - 8);
	/* KEEP_SIZE past EOF, then punch: blocks freed, size kept */
	OK(vexfs_rust_fallocate(F.fs, a.ino, VEXFS_FALLOC_KEEP_SIZE, 8 * BS, 8 * BS, 0, SZ, &o));
	UEQ(o.size, 8 * BS);
	UEQ(o.blocks, 128);
	OK(vexfs_rust_fallocate(F.fs, a.ino, VEXFS_FALLOC_PUNCH_HOLE | VEXFS_FALLOC_KEEP_SIZE,
				0, 4 * BS, 0, SZ, &o));
	UEQ(o.size, 8 * BS);
	UEQ(o.blocks, 96);
	OK(vexfs_rust_get_block(F.fs, a.ino, 3, 1, 0, &m));
	UEQ(m.len, 0);
	/* zero range past EOF grows the file */
	OK(vexfs_rust_fallocate(F.fs, a.ino, VEXFS_FALLOC_ZERO_RANGE, 4 * BS, 16 * BS, 0, SZ, &o));
	UEQ(o.size, 20 * BS);
	/* a step from the middle of the range ends at its end */
	OK(vexfs_rust_fallocate(F.fs, a.ino, 0, 0, 24 * BS, 22 * BS, SZ, &o));
	UEQ(o.done, 24 * BS);
	OK(commit_ordered());
	UNMOUNT();
	CHECK(le64(F.img + SB_INCOMPAT) & (1ULL << 2));
	MOUNT();
	OK(vexfs_rust_getattr(F.fs, a.ino, &a));
	UEQ(a.size, 24 * BS);
	UNMOUNT();
}

static void t_fiemap_seek(void)
{
	struct vexfs_attr sz_;
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a;
	struct vexfs_falloc o;
	struct vexfs_map m;
	struct vexfs_extent e[VEXFS_FIEMAP_BATCH + 4];
	uint32_t n = 99;
	uint64_t r;
	int i;

	MOUNT();
	OK(mk(ROOT, "f", S_IFREG | 0644, &a));
	ERR(vexfs_rust_fiemap(NULL, a.ino, 0, e, 4, &n), -EINVAL);
	ERR(vexfs_rust_fiemap(F.fs, a.ino, 0, NULL, 4, &n), -EINVAL);
	ERR(vexfs_rust_fiemap(F.fs, a.ino, 0, e, 4, NULL), -EINVAL);
	ERR(vexfs_rust_fiemap(F.fs, a.ino, 0, e, 0, &n), -EINVAL);
	ERR(vexfs_rust_fiemap(bad, a.ino, 0, e, 4, &n), -EBADF);
	ERR(vexfs_rust_seek(bad, a.ino, 0, VEXFS_SEEK_DATA, 1, &r), -EBADF);
	free(bad);
	OK(vexfs_rust_fiemap(F.fs, a.ino, 0, e, 4, &n));
	UEQ(n, 0);
	/* blocks 0-1 written, 4-7 unwritten, 10 written */
	OK(vexfs_rust_get_block(F.fs, a.ino, 0, 2, 1, &m));
	OK(vexfs_rust_fallocate(F.fs, a.ino, 0, 4 * BS, 4 * BS, 0, SZ, &o));
	OK(vexfs_rust_get_block(F.fs, a.ino, 10, 1, 1, &m));
	OK(vexfs_rust_fiemap(F.fs, a.ino, 0, e, 4, &n));
	CHECK(n >= 3);
	UEQ(e[n - 1].logical, 10);
	CHECK(e[n - 1].flags & VEXFS_EXTENT_LAST);
	for (i = 0; i < (int)n; i++) {
		UEQ(e[i].pad, 0);
		if (e[i].logical == 4) {
			UEQ(e[i].len, 4);
			UEQ(e[i].flags, VEXFS_EXTENT_UNWRITTEN);
		}
	}
	/* at most max, from a block inside an extent */
	OK(vexfs_rust_fiemap(F.fs, a.ino, 5, e, 1, &n));
	UEQ(n, 1);
	UEQ(e[0].logical, 4);
	/* max above the batch limit is clamped, never overrun */
	OK(vexfs_rust_fiemap(F.fs, a.ino, 0, e, VEXFS_FIEMAP_BATCH + 4, &n));
	CHECK(n <= VEXFS_FIEMAP_BATCH);
	/* seek */
	ERR(vexfs_rust_seek(NULL, a.ino, 0, VEXFS_SEEK_DATA, 11 * BS, &r), -EINVAL);
	ERR(vexfs_rust_seek(F.fs, a.ino, 0, VEXFS_SEEK_DATA, 11 * BS, NULL), -EINVAL);
	ERR(vexfs_rust_seek(F.fs, a.ino, 0, 0, 11 * BS, &r), -EINVAL);
	OK(vexfs_rust_seek(F.fs, a.ino, 0, VEXFS_SEEK_HOLE, 11 * BS, &r));
	UEQ(r, 2 * BS);
	OK(vexfs_rust_seek(F.fs, a.ino, 2 * BS, VEXFS_SEEK_DATA, 11 * BS, &r));
	UEQ(r, 10 * BS);
	ERR(vexfs_rust_seek(F.fs, a.ino, 11 * BS, VEXFS_SEEK_DATA, 11 * BS, &r), -ENXIO);
	ERR(vexfs_rust_seek(F.fs, a.ino, 3 * BS, VEXFS_SEEK_DATA, 9 * BS, &r), -ENXIO);
	ERR(vexfs_rust_seek(F.fs, 999999, 0, VEXFS_SEEK_DATA, 9 * BS, &r), -ESTALE);
	UNMOUNT();
}

static void t_rename_whiteout(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a, b, w;
	uint64_t ino;

	MOUNT();
	OK(mk(ROOT, "a", S_IFREG | 0644, &a));
	OK(mk(ROOT, "b", S_IFREG | 0644, &b));
	ERR(vexfs_rust_rename_whiteout(NULL, ROOT, NM("a"), ROOT, NM("c"), VEXFS_RENAME_WHITEOUT, 0, 0), -EINVAL);
	ERR(vexfs_rust_rename_whiteout(bad, ROOT, NM("a"), ROOT, NM("c"), VEXFS_RENAME_WHITEOUT, 0, 0), -EBADF);
	free(bad);
	ERR(vexfs_rust_rename_whiteout(F.fs, ROOT, NULL, 1, ROOT, NM("c"), VEXFS_RENAME_WHITEOUT, 0, 0), -EINVAL);
	ERR(vexfs_rust_rename_whiteout(F.fs, ROOT, NM("a"), ROOT, NM("c"), 0, 0, 0), -EINVAL);
	ERR(vexfs_rust_rename_whiteout(F.fs, ROOT, NM("a"), ROOT, NM("b"),
				       VEXFS_RENAME_WHITEOUT | VEXFS_RENAME_EXCHANGE, 0, 0), -EINVAL);
	ERR(vexfs_rust_rename_whiteout(F.fs, ROOT, NM("a"), ROOT, NM("b"),
				       VEXFS_RENAME_WHITEOUT | VEXFS_RENAME_NOREPLACE, 0, 0), -EEXIST);
	ERR(vexfs_rust_rename_whiteout(F.fs, ROOT, NM("nope"), ROOT, NM("c"), VEXFS_RENAME_WHITEOUT, 0, 0), -ENOENT);
	/* a -> c, a whiteout (0:0 char device, owner 7:8) where a was */
	OK(vexfs_rust_rename_whiteout(F.fs, ROOT, NM("a"), ROOT, NM("c"), VEXFS_RENAME_WHITEOUT, 7, 8));
	OK(lk(ROOT, "c", &ino));
	UEQ(ino, a.ino);
	OK(lk(ROOT, "a", &ino));
	CHECK(ino != a.ino);
	OK(vexfs_rust_getattr(F.fs, ino, &w));
	UEQ(w.mode, S_IFCHR);
	UEQ(w.rdev, 0);
	UEQ(w.uid, 7);
	UEQ(w.gid, 8);
	UEQ(w.nlink, 1);
	/* over an existing file: it goes, the whiteout stays */
	OK(vexfs_rust_rename_whiteout(F.fs, ROOT, NM("c"), ROOT, NM("b"), VEXFS_RENAME_WHITEOUT, 0, 0));
	OK(lk(ROOT, "b", &ino));
	UEQ(ino, a.ino);
	OK(lk(ROOT, "c", &ino));
	OK(vexfs_rust_getattr(F.fs, ino, &w));
	UEQ(w.mode, S_IFCHR);
	UNMOUNT();
	MOUNT();
	OK(lk(ROOT, "a", &ino));
	OK(lk(ROOT, "c", &ino));
	UNMOUNT();
}

static void t_trim(void)
{
	struct vexfs_fs *bad = bad_handle();
	struct vexfs_attr a;
	struct vexfs_map m;
	uint64_t t = 99, data_start = le64(golden + SB_DATA_START);

	MOUNT();
	ERR(vexfs_rust_trim(NULL, 0, NBLOCKS, 1, &t), -EINVAL);
	ERR(vexfs_rust_trim(F.fs, 0, NBLOCKS, 1, NULL), -EINVAL);
	ERR(vexfs_rust_trim(bad, 0, NBLOCKS, 1, &t), -EBADF);
	free(bad);
	/* no discard on this device */
	F.sb.discard_ok = 0;
	ERR(vexfs_rust_trim(F.fs, 0, NBLOCKS, 1, &t), -EOPNOTSUPP);
	F.sb.discard_ok = 1;
	OK(mk(ROOT, "f", S_IFREG | 0644, &a));
	OK(vexfs_rust_get_block(F.fs, a.ino, 0, 4, 1, &m));
	OK(commit_ordered());
	OK(vexfs_rust_trim(F.fs, 0, NBLOCKS, 1, &t));
	UEQ(t, stfs().bfree);
	UEQ(F.sb.discarded, t);
	/* the file's block was not discarded */
	CHECK(F.img[m.pblock * BS] != 0xd5 || F.img[m.pblock * BS + 1] != 0xd5);
	/* freed in the running transaction: skipped until the commit */
	OK(vexfs_rust_truncate(F.fs, a.ino, 0));
	OK(vexfs_rust_trim(F.fs, 0, NBLOCKS, 1, &t));
	CHECK(t < stfs().bfree);
	OK(commit_ordered());
	OK(vexfs_rust_trim(F.fs, 0, NBLOCKS, 1, &t));
	UEQ(t, stfs().bfree);
	/* a range, a minimum longer than any run, nothing below the data */
	OK(vexfs_rust_trim(F.fs, NBLOCKS - 10, 10, 1, &t));
	UEQ(t, 10);
	OK(vexfs_rust_trim(F.fs, NBLOCKS - 10, 100, 1, &t));
	UEQ(t, 10);
	OK(vexfs_rust_trim(F.fs, 0, NBLOCKS, NBLOCKS, &t));
	UEQ(t, 0);
	OK(vexfs_rust_trim(F.fs, 0, data_start, 1, &t));
	UEQ(t, 0);
	F.sb.discard_ok = 0;
	UNMOUNT();
	/* metadata intact: it mounts and the file is there */
	MOUNT();
	OK(lk(ROOT, "f", NULL));
	UNMOUNT();
}

#define RUN(t) run(#t + 2, t)
/* A test on another image than the golden one. */
#define RUN_ON(img, t) do { fixture = (img); run(#t + 2, t); fixture = NULL; } while (0)

int main(int argc, char **argv)
{
	mkfs_path = argc > 1 ? argv[1] : getenv("VEXFS_MKFS");
	if (!mkfs_path || !*mkfs_path)
		mkfs_path = "target/release/mkfs-vexfs";
	memset(long_name, 'L', 256);
	memset(max_name, 'M', 255);
	setvbuf(stdout, NULL, _IOLBF, 0);
	vexfs_test_host_init();
	if (make_golden() != 0) {
		printf("0 passed, 1 failed\n");
		return 1;
	}

	RUN(t_mount_info);
	RUN(t_mount_bad_args);
	RUN(t_mount_zeroed_image);
	RUN(t_mount_corrupt_superblock);
	RUN(t_mount_features);
	RUN(t_mount_rdonly);
	RUN(t_unmount_errors);
	RUN(t_remount);
	RUN(t_remount_after_corruption);
	RUN(t_sync);
	RUN(t_commit);
	RUN(t_statfs);
	RUN(t_iget_getattr);
	RUN(t_iget_out_of_range_is_not_corruption);
	RUN(t_write_inode);
	RUN(t_evict);
	RUN(t_evict_delete_keeps_linked_inode);
	RUN(t_lookup);
	RUN(t_create);
	RUN(t_create_enospc);
	RUN(t_link);
	RUN(t_parent);
	RUN(t_link_name);
	RUN(t_unlink);
	RUN(t_rmdir);
	RUN(t_rename);
	RUN(t_rename_exchange);
	RUN(t_readdir);
	RUN(t_readdir_batch);
	RUN(t_get_block);
	RUN(t_get_block_enospc);
	RUN(t_set_flags);
	RUN(t_fallocate);
	RUN(t_fiemap_seek);
	RUN(t_rename_whiteout);
	RUN(t_trim);
	RUN(t_truncate);
	RUN(t_corrupt_inode);
	RUN(t_corrupt_inode_resealed);
	RUN(t_corrupt_dir_block);
	RUN(t_io_errors);
	RUN(t_io_error_sweep);
	RUN(t_lock_once_per_call);
	RUN(t_threads);
	RUN(t_file_device);
	RUN_ON(golden, t_vec_no_space);
	RUN_ON(golden_vec, t_vec_bad_args);
	RUN_ON(golden_vec, t_vec_bad_vectors);
	RUN_ON(golden_vec, t_vec_set_get);
	RUN_ON(golden_vec, t_vec_delete);
	RUN_ON(golden_vec, t_vec_query);
	RUN_ON(golden_vec, t_vec_query_exact);
	RUN_ON(golden_vec, t_vec_query_subtree);
	RUN_ON(golden_vec, t_vec_resched);
	RUN_ON(golden_vec, t_vec_query_subtree_large);
	RUN_ON(golden_vec, t_vec_persist);
	RUN_ON(golden_vec, t_vec_file_deletion);
	RUN_ON(golden_vec, t_vec_rdonly);
	RUN_ON(golden_vec, t_vec_corrupt_slot);
	RUN_ON(golden_vec4, t_vec_enospc);
	RUN_ON(golden_vec, t_vec_cache);
	RUN(t_allocator);

	unlink(golden_path);
	free(golden);
	free(golden_vec);
	free(golden_vec4);
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
