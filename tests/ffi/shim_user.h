/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace implementation of vexfs_shim.h for the FFI contract tests, and
 * the test-only controls around it (device setup, fault injection, log
 * capture, contract-violation counters).
 */
#ifndef VEXFS_SHIM_USER_H
#define VEXFS_SHIM_USER_H

#include <pthread.h>
#include <stdint.h>
#include <stddef.h>

#include "vexfs_shim.h"

#define SHIM_LOG_MAX 512

struct vexfs_shim_sb {
	/* The device: an fd (pread/pwrite) or, if mem != NULL, a buffer. */
	int fd;
	uint8_t *mem;
	uint64_t nblocks;
	char name[32];

	/* vexfs_shim_lock(): a plain (non-recursive) mutex plus its owner. */
	pthread_mutex_t mu;
	pthread_t owner;
	int held;

	/* Fault injection: the next N reads / writes / flushes fail with -EIO. */
	int fail_reads;
	int fail_writes;
	int fail_flushes;
	/* ...after letting this many reads / writes through first. */
	int skip_reads;
	int skip_writes;

	/* Counters. */
	unsigned long reads, writes, flushes, locks, unlocks, commit_hints;
	/* discard: supported when set (else -EOPNOTSUPP); blocks discarded */
	int discard_ok;
	unsigned long discarded;
	unsigned long trylock_busy;	/* vexfs_shim_trylock found the lock held */
	unsigned long injected;
	/* Contract violations seen (block I/O without the lock, ...). */
	unsigned long violations;
	char last_violation[160];
};

/* Open a device on an image file (read-write). 0 or -errno. */
int shim_open_file(struct vexfs_shim_sb *sb, const char *path);
/* A device over a caller-owned buffer of nblocks blocks. */
void shim_open_mem(struct vexfs_shim_sb *sb, uint8_t *mem, uint64_t nblocks);
void shim_close(struct vexfs_shim_sb *sb);
void shim_inject(struct vexfs_shim_sb *sb, int reads, int writes, int flushes);
/* Fail `writes` writes after letting `skip` writes through. */
void shim_inject_write_after(struct vexfs_shim_sb *sb, int skip, int writes);

/* Log capture (all devices). */
extern unsigned long shim_log_count;
extern char shim_last_log[SHIM_LOG_MAX];
extern int shim_last_log_level;
/* Set to silence the stderr copy of log lines (they are still captured). */
extern int shim_log_quiet;

/* Allocator accounting (the Rust side's global allocator goes through the shim). */
extern long shim_live_allocs;
extern unsigned long shim_total_allocs;
extern unsigned long shim_alloc_violations;

/* Fault injection for the allocator: fail the Nth allocation from now (1 = the
 * next one), and every later one when shim_alloc_fail_sticky is set; 0 = off. */
extern unsigned long shim_alloc_fail_at;
extern int shim_alloc_fail_sticky;
extern unsigned long shim_alloc_failed;

/* Scheduling points the core offered (vexfs_shim_resched). */
extern unsigned long shim_resched_calls;

/* tests/ffi/lib: route Rust panics to vexfs_shim_panic. */
void vexfs_test_host_init(void);

#endif /* VEXFS_SHIM_USER_H */
