/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Services the C shim provides to the Rust core.
 *
 * This header is the single source of truth: the Rust side reaches these
 * declarations through bindgen (rust-core/src/ffi/shim_sys.rs is generated
 * from it), and both the kernel shim (kmod/) and the userspace test shim
 * (tests/ffi/) implement it.
 *
 * Rules: no floating point, fixed-width integers, explicit lengths,
 * negative errno on failure.
 */
#ifndef VEXFS_SHIM_H
#define VEXFS_SHIM_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#include <stddef.h>
#endif

/* Size of every block the core reads or writes through the shim. */
#define VEXFS_SHIM_BLOCK_SIZE 4096

/* Log levels for vexfs_shim_log, mapped to KERN_ERR/WARNING/INFO/DEBUG. */
#define VEXFS_LOG_ERR 3
#define VEXFS_LOG_WARN 4
#define VEXFS_LOG_INFO 6
#define VEXFS_LOG_DEBUG 7

/*
 * Per-mount context owned by the shim (the kernel's super_block).  The core
 * only passes it back; it never looks inside.
 */
struct vexfs_shim_sb;

/* Read block @blocknr (VEXFS_SHIM_BLOCK_SIZE bytes) into @buf. 0 or -errno. */
int vexfs_shim_read_block(struct vexfs_shim_sb *sb, uint64_t blocknr, uint8_t *buf);

/* Write @buf to block @blocknr (may be buffered until flush). 0 or -errno. */
int vexfs_shim_write_block(struct vexfs_shim_sb *sb, uint64_t blocknr, const uint8_t *buf);

/* Make every completed write durable (write back + cache flush). 0 or -errno. */
int vexfs_shim_flush(struct vexfs_shim_sb *sb);

/*
 * Discard blocks @start..@start+@count (FITRIM: they are free). May sleep.
 * 0, -EOPNOTSUPP when the device cannot, or -errno.
 */
int vexfs_shim_discard(struct vexfs_shim_sb *sb, uint64_t start, uint64_t count);

/*
 * The running journal transaction has grown: commit it soon, from another
 * context (the commit writes file data back first, which the core cannot
 * ask for while it holds its lock). Must not sleep.
 */
void vexfs_shim_commit_soon(struct vexfs_shim_sb *sb);

/*
 * Sleeping lock that serialises the core's metadata work for one mount.
 * Held across block I/O, so it must be a mutex, never a spinlock.
 */
void vexfs_shim_lock(struct vexfs_shim_sb *sb);
void vexfs_shim_unlock(struct vexfs_shim_sb *sb);

/*
 * Take the lock above only if it is free: 1 if taken (release it with
 * vexfs_shim_unlock), 0 if another holds it. Never sleeps (the memory
 * shrinker calls the core through this).
 */
int vexfs_shim_trylock(struct vexfs_shim_sb *sb);

/* Memory for the core's global allocator. NULL on failure. */
void *vexfs_shim_alloc(size_t size, size_t align);
void vexfs_shim_free(void *ptr, size_t size, size_t align);

/* Operations of vexfs_shim_simd. */
#define VEXFS_SIMD_L2SQ 1	/* out[0] = sum of (a[i] - b[i])^2 */
#define VEXFS_SIMD_DOT3 2	/* out[0..3] = a.b, a.a, b.b */
#define VEXFS_SIMD_COS 3	/* out[0] = 1 - a.b / sqrt(a.a * b.b), in 0..2; 1 for a zero
				 * vector; NaN when a sum overflowed */

/* Most vectors the core passes to one vexfs_shim_simd call. */
#define VEXFS_SIMD_BATCH 16

/*
 * Float kernels on the CPU's vector unit, for a batch: for each i < @count
 * (at most VEXFS_SIMD_BATCH), kernel @op over @n floats at @q and @vs[i],
 * with the results at @out[i] (L2SQ, COS) or @out[3i..3i+2] (DOT3); everything
 * as IEEE-754 bits. 0 with all results in @out, or -EOPNOTSUPP when no
 * vector unit is usable here (no AVX2/FMA, disabled, or the FPU is not
 * usable in this context): the core then computes in software. A batch
 * is one kernel_fpu_begin/end section, or a few when it is long, so that
 * preemption stays off for a bounded time.
 */
int vexfs_shim_simd(int op, const uint32_t *q, const uint32_t *const *vs, size_t count,
		    size_t n, uint32_t *out);

/*
 * A scheduling point (cond_resched() in the kernel), called by every loop
 * of the core whose length grows with the data (graph rebuild, exact
 * search, walks, scans). May sleep: the core calls it only with the mount
 * mutex or nothing held, never under a spinlock.
 */
void vexfs_shim_resched(void);

/* Wall-clock time (CLOCK_REALTIME). */
void vexfs_shim_now(int64_t *sec, uint32_t *nsec);

/*
 * One log line; @msg is not NUL-terminated. @sb may be NULL; otherwise the
 * shim prefixes the line with the device name ("vexfs (vdb): ...").
 */
void vexfs_shim_log(struct vexfs_shim_sb *sb, int level, const uint8_t *msg, size_t len);

/* Reports a fatal bug in the core; never returns. (The kernel module's panic
 * handler calls panic() itself, which objtool knows to be noreturn.) */
void vexfs_shim_panic(const uint8_t *msg, size_t len) __attribute__((noreturn));

#endif /* VEXFS_SHIM_H */
