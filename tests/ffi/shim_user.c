// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace implementation of every service in ffi/include/vexfs_shim.h,
 * for the FFI contract tests. Besides doing the job, it checks the core's
 * side of the contract: the lock is never taken recursively and only released
 * by its owner (violations abort: they would deadlock or corrupt in the
 * kernel), block I/O happens only under the mount's lock, buffers are whole
 * blocks, frees match allocations.
 */
#define _GNU_SOURCE
#include "shim_user.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

unsigned long shim_log_count;
char shim_last_log[SHIM_LOG_MAX];
int shim_last_log_level;
int shim_log_quiet;

long shim_live_allocs;
unsigned long shim_alloc_fail_at;
int shim_alloc_fail_sticky;
unsigned long shim_alloc_failed;
unsigned long shim_resched_calls;
unsigned long shim_total_allocs;
unsigned long shim_alloc_violations;
static pthread_mutex_t alloc_mu = PTHREAD_MUTEX_INITIALIZER;

static void violation(struct vexfs_shim_sb *sb, const char *fmt, ...)
{
	va_list ap;

	sb->violations++;
	va_start(ap, fmt);
	vsnprintf(sb->last_violation, sizeof(sb->last_violation), fmt, ap);
	va_end(ap);
	fprintf(stderr, "shim: CONTRACT VIOLATION (%s): %s\n", sb->name,
		sb->last_violation);
}

static void shim_init_common(struct vexfs_shim_sb *sb, const char *name)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	/* ERRORCHECK: a recursive lock or a foreign unlock is reported, not a hang. */
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&sb->mu, &a);
	pthread_mutexattr_destroy(&a);
	snprintf(sb->name, sizeof(sb->name), "%s", name);
}

int shim_open_file(struct vexfs_shim_sb *sb, const char *path)
{
	struct stat st;

	memset(sb, 0, sizeof(*sb));
	sb->fd = open(path, O_RDWR | O_CLOEXEC);
	if (sb->fd < 0)
		return -errno;
	if (fstat(sb->fd, &st) < 0) {
		int e = -errno;

		close(sb->fd);
		return e;
	}
	sb->nblocks = (uint64_t)st.st_size / VEXFS_SHIM_BLOCK_SIZE;
	shim_init_common(sb, "file");
	return 0;
}

void shim_open_mem(struct vexfs_shim_sb *sb, uint8_t *mem, uint64_t nblocks)
{
	memset(sb, 0, sizeof(*sb));
	sb->fd = -1;
	sb->mem = mem;
	sb->nblocks = nblocks;
	shim_init_common(sb, "mem");
}

void shim_close(struct vexfs_shim_sb *sb)
{
	if (sb->held)
		violation(sb, "device closed with the lock held");
	if (sb->fd >= 0)
		close(sb->fd);
	sb->fd = -1;
	pthread_mutex_destroy(&sb->mu);
}

void shim_inject(struct vexfs_shim_sb *sb, int reads, int writes, int flushes)
{
	sb->fail_reads = reads;
	sb->fail_writes = writes;
	sb->fail_flushes = flushes;
	sb->skip_reads = 0;
	sb->skip_writes = 0;
}

void shim_inject_write_after(struct vexfs_shim_sb *sb, int skip, int writes)
{
	sb->fail_writes = writes;
	sb->skip_writes = skip;
}

static int owned(struct vexfs_shim_sb *sb)
{
	return sb->held && pthread_equal(sb->owner, pthread_self());
}

static int check_io(struct vexfs_shim_sb *sb, const char *what, uint64_t blocknr,
		    const void *buf)
{
	if (!sb) {
		fprintf(stderr, "shim: %s with a NULL sb\n", what);
		abort();
	}
	if (!owned(sb))
		violation(sb, "%s of block %llu without the mount lock", what,
			  (unsigned long long)blocknr);
	if (!buf && strcmp(what, "flush") != 0 && strcmp(what, "commit_soon") != 0 &&
	    strcmp(what, "discard") != 0) {
		violation(sb, "%s of block %llu with a NULL buffer", what,
			  (unsigned long long)blocknr);
		return -EFAULT;
	}
	return 0;
}

int vexfs_shim_read_block(struct vexfs_shim_sb *sb, uint64_t blocknr, uint8_t *buf)
{
	int err = check_io(sb, "read", blocknr, buf);

	if (err)
		return err;
	sb->reads++;
	if (sb->fail_reads > 0 && sb->skip_reads > 0) {
		sb->skip_reads--;
	} else if (sb->fail_reads > 0) {
		sb->fail_reads--;
		sb->injected++;
		return -EIO;
	}
	if (blocknr >= sb->nblocks)
		return -EIO;
	if (sb->mem) {
		memcpy(buf, sb->mem + blocknr * VEXFS_SHIM_BLOCK_SIZE, VEXFS_SHIM_BLOCK_SIZE);
		return 0;
	}
	ssize_t n = pread(sb->fd, buf, VEXFS_SHIM_BLOCK_SIZE,
			  (off_t)(blocknr * VEXFS_SHIM_BLOCK_SIZE));
	if (n < 0)
		return -errno;
	return n == VEXFS_SHIM_BLOCK_SIZE ? 0 : -EIO;
}

int vexfs_shim_write_block(struct vexfs_shim_sb *sb, uint64_t blocknr, const uint8_t *buf)
{
	int err = check_io(sb, "write", blocknr, buf);

	if (err)
		return err;
	sb->writes++;
	if (sb->fail_writes > 0 && sb->skip_writes > 0) {
		sb->skip_writes--;
	} else if (sb->fail_writes > 0) {
		sb->fail_writes--;
		sb->injected++;
		return -EIO;
	}
	if (blocknr >= sb->nblocks)
		return -EIO;
	if (sb->mem) {
		memcpy(sb->mem + blocknr * VEXFS_SHIM_BLOCK_SIZE, buf, VEXFS_SHIM_BLOCK_SIZE);
		return 0;
	}
	ssize_t n = pwrite(sb->fd, buf, VEXFS_SHIM_BLOCK_SIZE,
			   (off_t)(blocknr * VEXFS_SHIM_BLOCK_SIZE));
	if (n < 0)
		return -errno;
	return n == VEXFS_SHIM_BLOCK_SIZE ? 0 : -EIO;
}

int vexfs_shim_flush(struct vexfs_shim_sb *sb)
{
	check_io(sb, "flush", 0, NULL);
	sb->flushes++;
	if (sb->fail_flushes > 0) {
		sb->fail_flushes--;
		sb->injected++;
		return -EIO;
	}
	if (!sb->mem && fdatasync(sb->fd) < 0)
		return -errno;
	return 0;
}

/* Discarded blocks of a memory device read back as 0xd5 afterwards. */
int vexfs_shim_discard(struct vexfs_shim_sb *sb, uint64_t start, uint64_t count)
{
	check_io(sb, "discard", 0, NULL);
	if (!sb->discard_ok)
		return -EOPNOTSUPP;
	if (start + count > sb->nblocks || start + count < start)
		return -EIO;
	if (sb->mem)
		memset(sb->mem + start * VEXFS_SHIM_BLOCK_SIZE, 0xd5,
		       count * VEXFS_SHIM_BLOCK_SIZE);
	sb->discarded += count;
	return 0;
}

void vexfs_shim_commit_soon(struct vexfs_shim_sb *sb)
{
	/* Called by the core under its lock; the kernel queues work here. */
	check_io(sb, "commit_soon", 0, NULL);
	sb->commit_hints++;
}

void vexfs_shim_lock(struct vexfs_shim_sb *sb)
{
	int err;

	if (!sb) {
		fprintf(stderr, "shim: vexfs_shim_lock(NULL)\n");
		abort();
	}
	if (owned(sb)) {
		/* In the kernel this is a self-deadlock. */
		fprintf(stderr, "shim: vexfs_shim_lock taken recursively (%s)\n", sb->name);
		abort();
	}
	err = pthread_mutex_lock(&sb->mu);
	if (err) {
		fprintf(stderr, "shim: pthread_mutex_lock: %s\n", strerror(err));
		abort();
	}
	sb->owner = pthread_self();
	sb->held = 1;
	sb->locks++;
}

int vexfs_shim_trylock(struct vexfs_shim_sb *sb)
{
	if (!sb) {
		fprintf(stderr, "shim: vexfs_shim_trylock(NULL)\n");
		abort();
	}
	/* The kernel's mutex_trylock fails for its owner too. */
	if (owned(sb) || pthread_mutex_trylock(&sb->mu) != 0) {
		sb->trylock_busy++;
		return 0;
	}
	sb->owner = pthread_self();
	sb->held = 1;
	sb->locks++;
	return 1;
}

void vexfs_shim_unlock(struct vexfs_shim_sb *sb)
{
	int err;

	if (!sb) {
		fprintf(stderr, "shim: vexfs_shim_unlock(NULL)\n");
		abort();
	}
	if (!owned(sb)) {
		fprintf(stderr, "shim: vexfs_shim_unlock by a non-owner (%s, held=%d)\n",
			sb->name, sb->held);
		abort();
	}
	sb->held = 0;
	sb->unlocks++;
	err = pthread_mutex_unlock(&sb->mu);
	if (err) {
		fprintf(stderr, "shim: pthread_mutex_unlock: %s\n", strerror(err));
		abort();
	}
}

void *vexfs_shim_alloc(size_t size, size_t align)
{
	void *p = NULL;

	if (align == 0 || (align & (align - 1)) != 0) {
		pthread_mutex_lock(&alloc_mu);
		shim_alloc_violations++;
		pthread_mutex_unlock(&alloc_mu);
		return NULL;
	}
	if (align < sizeof(void *))
		align = sizeof(void *);
	pthread_mutex_lock(&alloc_mu);
	if (shim_alloc_fail_at && --shim_alloc_fail_at == 0) {
		shim_alloc_failed++;
		if (shim_alloc_fail_sticky)
			shim_alloc_fail_at = 1;
		pthread_mutex_unlock(&alloc_mu);
		return NULL;
	}
	pthread_mutex_unlock(&alloc_mu);
	/* Zero-size requests still return a unique pointer, as kmalloc(0) does not; Rust never asks. */
	if (posix_memalign(&p, align, size ? size : 1) != 0)
		return NULL;
	pthread_mutex_lock(&alloc_mu);
	shim_live_allocs++;
	shim_total_allocs++;
	pthread_mutex_unlock(&alloc_mu);
	return p;
}

void vexfs_shim_free(void *ptr, size_t size, size_t align)
{
	if (!ptr)
		return;
	pthread_mutex_lock(&alloc_mu);
	if ((align && ((uintptr_t)ptr & (align - 1)) != 0) ||
	    malloc_usable_size(ptr) < size)
		shim_alloc_violations++;
	shim_live_allocs--;
	pthread_mutex_unlock(&alloc_mu);
	free(ptr);
}

void vexfs_shim_resched(void)
{
	__atomic_add_fetch(&shim_resched_calls, 1, __ATOMIC_RELAXED);
}

/* No vector unit in the test shim: the core computes in software. */
int vexfs_shim_simd(int op, const uint32_t *q, const uint32_t *const *vs,
		    size_t count, size_t n, uint32_t *out)
{
	(void)op; (void)q; (void)vs; (void)count; (void)n; (void)out;
	return -EOPNOTSUPP;
}

void vexfs_shim_now(int64_t *sec, uint32_t *nsec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (sec)
		*sec = ts.tv_sec;
	if (nsec)
		*nsec = (uint32_t)ts.tv_nsec;
}

static const char *level_name(int level)
{
	switch (level) {
	case VEXFS_LOG_ERR: return "err";
	case VEXFS_LOG_WARN: return "warn";
	case VEXFS_LOG_INFO: return "info";
	case VEXFS_LOG_DEBUG: return "debug";
	default: return "?";
	}
}

void vexfs_shim_log(struct vexfs_shim_sb *sb, int level, const uint8_t *msg, size_t len)
{
	size_t n = len < SHIM_LOG_MAX - 1 ? len : SHIM_LOG_MAX - 1;
	int off;

	off = snprintf(shim_last_log, SHIM_LOG_MAX, "vexfs (%s): ",
		       sb ? sb->name : "-");
	if (off < 0)
		off = 0;
	if (n > (size_t)(SHIM_LOG_MAX - 1 - off))
		n = SHIM_LOG_MAX - 1 - off;
	if (msg)
		memcpy(shim_last_log + off, msg, n);
	shim_last_log[off + n] = '\0';
	shim_last_log_level = level;
	shim_log_count++;
	if (!shim_log_quiet)
		fprintf(stderr, "[%s] %s\n", level_name(level), shim_last_log);
}

void vexfs_shim_panic(const uint8_t *msg, size_t len)
{
	fprintf(stderr, "vexfs: PANIC: %.*s\n", (int)len, msg ? (const char *)msg : "");
	abort();
}
