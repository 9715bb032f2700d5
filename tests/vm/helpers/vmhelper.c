/* vmhelper: tiny static syscall driver for the VexFS guest test suite.
 *
 * busybox cannot issue some syscalls (renameat2) nor report errno exactly,
 * so the guest cases call this helper. Every subcommand prints "OK" (or the
 * value it was asked for) on success and the errno NAME (e.g. "ENOTEMPTY")
 * on failure, on stdout, and exits 0 on success, 1 on a syscall failure,
 * 2 on a usage error.
 *
 * Built on the host by tests/vm/run.sh: gcc -static -O2 -o vmhelper vmhelper.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../../../ffi/include/vexfs_uapi.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static const char *errname(int e)
{
	switch (e) {
#define E(x) case x: return #x;
	E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG)
	E(ENOEXEC) E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES)
	E(EFAULT) E(ENOTBLK) E(EBUSY) E(EEXIST) E(EXDEV) E(ENODEV)
	E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY)
	E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK)
	E(EPIPE) E(EDOM) E(ERANGE) E(EDEADLK) E(ENAMETOOLONG) E(ENOLCK)
	E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(ENODATA) E(EOVERFLOW)
	E(EUCLEAN) E(EOPNOTSUPP) E(EDQUOT) E(ESTALE) E(EBADMSG)
	E(EMSGSIZE)
#undef E
	default: {
		static char buf[32];
		snprintf(buf, sizeof buf, "E#%d", e);
		return buf;
	}
	}
}

static int report(long rc)
{
	if (rc < 0) {
		printf("%s\n", errname(errno));
		return 1;
	}
	printf("OK\n");
	return 0;
}

static int fail(void)
{
	printf("%s\n", errname(errno));
	return 1;
}

static int parse_flags(const char *s)
{
	int f = 0;
	char *dup = strdup(s), *save = NULL, *tok;
	int acc = O_RDONLY;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "rdonly")) acc = O_RDONLY;
		else if (!strcmp(tok, "wronly")) acc = O_WRONLY;
		else if (!strcmp(tok, "rdwr")) acc = O_RDWR;
		else if (!strcmp(tok, "creat")) f |= O_CREAT;
		else if (!strcmp(tok, "excl")) f |= O_EXCL;
		else if (!strcmp(tok, "trunc")) f |= O_TRUNC;
		else if (!strcmp(tok, "append")) f |= O_APPEND;
		else if (!strcmp(tok, "directory")) f |= O_DIRECTORY;
		else if (!strcmp(tok, "nofollow")) f |= O_NOFOLLOW;
		else if (!strcmp(tok, "direct")) f |= O_DIRECT;
		else { fprintf(stderr, "bad flag %s\n", tok); exit(2); }
	}
	free(dup);
	return f | acc;
}

/* A small fsx: random writes, truncates, reads and reopen/fsync against a
 * model. File sizes stay below FSX_MAX so the model fits in memory.
 * EXTRA (comma list) adds operations: falloc (modes 0 and KEEP_SIZE),
 * punch (PUNCH_HOLE|KEEP_SIZE), zero (ZERO_RANGE, with and without
 * KEEP_SIZE), direct (O_DIRECT reads and writes, 512-byte aligned, on a
 * second descriptor). */
#define FSX_MAX (3u << 20)
static unsigned long long rng_state;
static unsigned rnd(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(rng_state >> 33);
}
static int fsx(const char *path, long nops, unsigned long seed, const char *modelout,
	       const char *extra)
{
	unsigned char *model = calloc(FSX_MAX, 1), *buf = malloc(FSX_MAX), *dbuf = NULL;
	size_t size = 0;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644), dfd = -1;
	int falloc = extra && strstr(extra, "falloc"), punch = extra && strstr(extra, "punch");
	int zero = extra && strstr(extra, "zero"), direct = extra && strstr(extra, "direct");
	long counts[6] = { 0 };
	rng_state = seed;
	if (fd < 0 || !model || !buf) return fail();
	if (direct) {
		if (posix_memalign((void **)&dbuf, 4096, 256 << 10)) return fail();
		dfd = open(path, O_RDWR | O_DIRECT);
		if (dfd < 0) { printf("open O_DIRECT: %s\n", errname(errno)); return 1; }
	}
	for (long op = 0; op < nops; op++) {
		unsigned kind = rnd() % (direct || falloc || punch || zero ? 22 : 16);
		size_t off = rnd() % FSX_MAX, len;
		if (kind >= 16 && kind < 18 && !falloc) kind = 0;
		if (kind == 18 && !punch) kind = 1;
		if (kind == 19 && !zero) kind = 2;
		if (kind >= 20 && !direct) kind = 9;
		if (kind < 7) { /* write, often near or past EOF, sometimes tiny */
			if (kind < 2 && size) off = size - (rnd() % (size < 8192 ? size : 8192));
			len = 1 + rnd() % (kind == 6 ? 16 : 65536);
			if (off + len > FSX_MAX) len = FSX_MAX - off;
			for (size_t i = 0; i < len; i++) buf[i] = (unsigned char)rnd();
			if (pwrite(fd, buf, len, off) != (ssize_t)len) { printf("op %ld: pwrite(%zu,%zu) %s\n", op, off, len, errname(errno)); return 1; }
			memcpy(model + off, buf, len);
			if (off + len > size) size = off + len;
		} else if (kind < 9) { /* truncate down or up */
			size_t ns = kind == 7 ? (size ? rnd() % size : 0) : rnd() % FSX_MAX;
			if (ftruncate(fd, ns) < 0) { printf("op %ld: ftruncate(%zu) %s\n", op, ns, errname(errno)); return 1; }
			if (ns < size) memset(model + ns, 0, size - ns);
			size = ns;
		} else if (kind < 14) { /* read and compare */
			len = 1 + rnd() % 131072;
			if (size && kind < 12) off = rnd() % size;
			if (off + len > FSX_MAX) len = FSX_MAX - off;
			ssize_t n = pread(fd, buf, len, off);
			size_t want = off >= size ? 0 : (off + len > size ? size - off : len);
			if (n != (ssize_t)want) { printf("op %ld: pread(%zu,%zu) returned %zd, want %zu (size %zu)\n", op, off, len, n, want, size); return 1; }
			for (size_t i = 0; i < want; i++)
				if (buf[i] != model[off + i]) { printf("op %ld: data mismatch at %zu: %02x != %02x (size %zu)\n", op, off + i, buf[i], model[off + i], size); return 1; }
		} else if (kind == 14) {
			struct stat s;
			if (fstat(fd, &s) < 0 || (size_t)s.st_size != size) { printf("op %ld: st_size %lld, want %zu\n", op, (long long)s.st_size, size); return 1; }
			if (rnd() % 4 == 0 && fsync(fd) < 0) { printf("op %ld: fsync %s\n", op, errname(errno)); return 1; }
		} else if (kind == 15) { /* reopen, sometimes after dropping the page cache */
			close(fd);
			if (rnd() % 4 == 0) { int d = open("/proc/sys/vm/drop_caches", O_WRONLY); sync(); if (d >= 0) { if (write(d, "3", 1) < 0) {} close(d); } }
			fd = open(path, O_RDWR);
			if (fd < 0) return fail();
		} else if (kind < 20) { /* fallocate: 16 mode 0, 17 KEEP_SIZE, 18 punch, 19 zero range */
			int mode = kind == 16 ? 0 : kind == 17 ? FALLOC_FL_KEEP_SIZE :
				   kind == 18 ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE :
				   FALLOC_FL_ZERO_RANGE | (rnd() % 2 ? FALLOC_FL_KEEP_SIZE : 0);
			if (kind >= 18 && size && rnd() % 4) off = rnd() % size;
			len = 1 + rnd() % 262144;
			if (off + len > FSX_MAX) len = FSX_MAX - off;
			if (fallocate(fd, mode, off, len) < 0) { printf("op %ld: fallocate(%#x,%zu,%zu) %s\n", op, mode, off, len, errname(errno)); return 1; }
			counts[kind - 16]++;
			if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE) && off < size)
				memset(model + off, 0, (off + len > size ? size : off + len) - off);
			if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > size) size = off + len;
		} else { /* O_DIRECT: 20 write, 21 read; 512-byte aligned */
			off &= ~511ul;
			len = (1 + rnd() % 512) * 512;
			if (kind == 20 && size && rnd() % 2) off = (rnd() % size) & ~511ul;
			if (off + len > FSX_MAX) len = FSX_MAX - off;
			if (!len) continue;
			counts[kind - 16]++;
			if (kind == 20) {
				for (size_t i = 0; i < len; i++) dbuf[i] = (unsigned char)rnd();
				if (pwrite(dfd, dbuf, len, off) != (ssize_t)len) { printf("op %ld: O_DIRECT pwrite(%zu,%zu) %s\n", op, off, len, errname(errno)); return 1; }
				memcpy(model + off, dbuf, len);
				if (off + len > size) size = off + len;
			} else {
				ssize_t n = pread(dfd, dbuf, len, off);
				size_t want = off >= size ? 0 : (off + len > size ? size - off : len);
				if (n != (ssize_t)want) { printf("op %ld: O_DIRECT pread(%zu,%zu) returned %zd (%s), want %zu (size %zu)\n", op, off, len, n, n < 0 ? errname(errno) : "-", want, size); return 1; }
				for (size_t i = 0; i < want; i++)
					if (dbuf[i] != model[off + i]) { printf("op %ld: O_DIRECT data mismatch at %zu: %02x != %02x (size %zu)\n", op, off + i, dbuf[i], model[off + i], size); return 1; }
			}
		}
	}
	close(fd);
	if (dfd >= 0) close(dfd);
	int m = open(modelout, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (m < 0 || write(m, model, size) != (ssize_t)size || close(m) < 0) return fail();
	if (extra)
		fprintf(stderr, "fsx: falloc %ld keep %ld punch %ld zero %ld dwrite %ld dread %ld\n",
			counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]);
	printf("OK\n");
	return 0;
}

static int usage(void);

/* ---------- vector ioctls (ffi/include/vexfs_uapi.h) ---------- */

/* "1,2.5,nan" -> floats; returns the count */
static unsigned parse_vec(const char *s, float *out, unsigned max)
{
	unsigned n = 0;
	char *end;
	while (*s && n < max) {
		out[n++] = strtof(s, &end);
		if (end == s) { fprintf(stderr, "bad vector at '%s'\n", s); exit(2); }
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',') { fprintf(stderr, "bad vector at '%s'\n", end); exit(2); }
	}
	return n;
}

static void print_vec(const float *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		printf("%s%.9g", i ? "," : "", v[i]);
	printf("\n");
}

/* Deterministic test vector I of a generated set (vimport, vgen). */
static void gen_vec(unsigned long seed, unsigned long i, float *v, unsigned dim)
{
	rng_state = seed * 1000003ULL + i * 7919ULL + 1;
	rnd(); rnd();
	for (unsigned j = 0; j < dim; j++)
		v[j] = (float)((double)(rnd() % 20001) / 100.0 - 100.0);
}

static int vinfo_fd(int fd, struct vexfs_ioc_info *inf)
{
	memset(inf, 0, sizeof *inf);
	inf->size = sizeof *inf;
	return ioctl(fd, VEXFS_IOC_INFO, inf);
}

static int open_any(const char *path, int flags)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return open(path, O_RDONLY | O_DIRECTORY);
	return open(path, flags);
}

static int do_query(int fd, const float *v, unsigned dim, unsigned k, unsigned ef, unsigned flags)
{
	struct vexfs_ioc_hit *hits = calloc(k ? k : 1, sizeof *hits);
	struct vexfs_ioc_query q = { .size = sizeof q, .dim = dim, .vector = (uintptr_t)v,
				     .k = k, .ef = ef, .hits = (uintptr_t)hits, .flags = flags };
	if (ioctl(fd, VEXFS_IOC_QUERY, &q) < 0) return fail();
	for (unsigned i = 0; i < q.count; i++)
		printf("%llu %.9g\n", (unsigned long long)hits[i].ino, hits[i].distance);
	free(hits);
	return 0;
}

/*
 * QUERY with paths: one 'ino distance path' line per hit ("" paths print
 * as '-'), into a paths buffer of ROOM bytes (0: k * PATH_MAX).  On
 * EOVERFLOW prints 'EOVERFLOW paths_used=N'.
 */
static int do_query_paths(int fd, const float *v, unsigned dim, unsigned k, unsigned ef,
			  unsigned long room)
{
	struct vexfs_ioc_hit *hits = calloc(k ? k : 1, sizeof *hits);
	char *paths;
	if (!room) room = (unsigned long)(k ? k : 1) * 4096;
	paths = malloc(room + 1);
	memset(paths, 0x5a, room + 1);
	struct vexfs_ioc_query q = { .size = sizeof q, .dim = dim, .vector = (uintptr_t)v,
				     .k = k, .ef = ef, .hits = (uintptr_t)hits,
				     .paths = (uintptr_t)paths, .paths_len = room,
				     .paths_used = 0xdeadbeef };
	if (ioctl(fd, VEXFS_IOC_QUERY, &q) < 0) {
		if (errno == EOVERFLOW) {
			printf("EOVERFLOW paths_used=%u\n", q.paths_used);
			return 1;
		}
		return fail();
	}
	if (q.paths_used > room || paths[room] != 0x5a) {
		printf("paths_used %u, room %lu: written past the buffer\n", q.paths_used, room);
		return 1;
	}
	unsigned long at = 0;
	for (unsigned i = 0; i < q.count; i++) {
		const char *p = paths + at;
		size_t n = strnlen(p, q.paths_used - at);
		if (at + n >= q.paths_used) {
			printf("hit %u: path not NUL-terminated within paths_used %u\n", i, q.paths_used);
			return 1;
		}
		printf("%llu %.9g %s\n", (unsigned long long)hits[i].ino, hits[i].distance, n ? p : "-");
		at += n + 1;
	}
	if (at != q.paths_used) {
		printf("paths_used %u, but %u paths take %lu bytes\n", q.paths_used, q.count, at);
		return 1;
	}
	free(paths);
	free(hits);
	return 0;
}

/*
 * QUERY as a binary built with the first header did it: a 40-byte struct
 * (VEXFS_IOC_QUERY_SIZE_VER0) and the request number that size gave.
 */
struct vexfs_ioc_query_v0 {
	__u32 size, dim;
	__u64 vector;
	__u32 k, ef;
	__u64 hits;
	__u32 count, flags;
};

static int do_query_v0(int fd, const float *v, unsigned dim, unsigned k, unsigned ef)
{
	_Static_assert(sizeof(struct vexfs_ioc_query_v0) == VEXFS_IOC_QUERY_SIZE_VER0, "v0 size");
	struct vexfs_ioc_hit *hits = calloc(k ? k : 1, sizeof *hits);
	/* the struct then 16 bytes the kernel must not touch */
	struct { struct vexfs_ioc_query_v0 q; unsigned char after[16]; } u;
	memset(&u, 0x77, sizeof u);
	u.q = (struct vexfs_ioc_query_v0){ .size = sizeof u.q, .dim = dim, .vector = (uintptr_t)v,
					   .k = k, .ef = ef, .hits = (uintptr_t)hits };
	if (ioctl(fd, _IOWR(VEXFS_IOC_MAGIC, 4, struct vexfs_ioc_query_v0), &u) < 0) return fail();
	for (unsigned i = 0; i < sizeof u.after; i++)
		if (u.after[i] != 0x77) { printf("wrote past the v0 struct (byte %u)\n", i); return 1; }
	for (unsigned i = 0; i < u.q.count; i++)
		printf("%llu %.9g\n", (unsigned long long)hits[i].ino, hits[i].distance);
	free(hits);
	return 0;
}

/* Set vectors for NPATH files with one BATCH_SET; prints done and per-file results. */
static int do_batch(int onfd, unsigned dim, unsigned count, const int *fds, const float *vecs, int verbose)
{
	int *errs = calloc(count, sizeof *errs);
	struct vexfs_ioc_batch b = { .size = sizeof b, .dim = dim, .count = count,
				     .fds = (uintptr_t)fds, .vectors = (uintptr_t)vecs,
				     .errors = (uintptr_t)errs };
	if (ioctl(onfd, VEXFS_IOC_BATCH_SET, &b) < 0) return fail();
	printf("done=%u", b.done);
	if (verbose)
		for (unsigned i = 0; i < count; i++)
			printf(" %s", errs[i] ? errname(-errs[i]) : "OK");
	printf("\n");
	free(errs);
	return b.done == count ? 0 : 1;
}

/* Raw error probes: each builds one deliberately bad (or edge) request. */
static int vprobe(const char *what, const char *path)
{
	int fd = open_any(path, O_RDWR);
	struct vexfs_ioc_info inf;
	if (fd < 0) return fail();
	if (vinfo_fd(fd, &inf) < 0) return fail();
	unsigned dim = inf.dim ? inf.dim : 8;
	float v[VEXFS_MAX_DIM + 8];
	for (unsigned i = 0; i < VEXFS_MAX_DIM + 8; i++) v[i] = (float)i;
	/* a struct followed by 64 more bytes, for the size-field probes */
	union { struct vexfs_ioc_vector vec; struct vexfs_ioc_query q; struct vexfs_ioc_batch b;
		struct vexfs_ioc_info i; unsigned char raw[256]; } u;
	memset(&u, 0, sizeof u);
	struct vexfs_ioc_hit hits[4];
	int fds[2] = { fd, fd };
	int errs[2];
	void *bad = (void *)16;
	unsigned long cmd;

	if (!strncmp(what, "set-", 4) || !strncmp(what, "get-", 4)) {
		cmd = what[0] == 's' ? VEXFS_IOC_SET_VECTOR : VEXFS_IOC_GET_VECTOR;
		u.vec.size = sizeof u.vec; u.vec.dim = dim; u.vec.data = (uintptr_t)v;
		if (!strcmp(what + 4, "size-small")) u.vec.size = sizeof u.vec - 8;
		else if (!strcmp(what + 4, "size-zero")) u.vec.size = 0;
		else if (!strcmp(what + 4, "size-big-zero")) u.vec.size = sizeof u.vec + 64;
		else if (!strcmp(what + 4, "size-big-nonzero")) { u.vec.size = sizeof u.vec + 64; u.raw[sizeof u.vec + 40] = 1; }
		else if (!strcmp(what + 4, "size-huge")) u.vec.size = 1u << 20;
		else if (!strcmp(what + 4, "newer-cmd")) { /* a newer header: bigger struct, its size in the number */
			u.vec.size = sizeof u.vec + 64;
			cmd = _IOC(what[0] == 's' ? _IOC_WRITE : _IOC_READ | _IOC_WRITE, VEXFS_IOC_MAGIC,
				   _IOC_NR(cmd), sizeof u.vec + 64);
		}
		else if (!strcmp(what + 4, "badptr")) u.vec.data = (uintptr_t)bad;
		else if (!strcmp(what + 4, "badarg")) return report(ioctl(fd, cmd, bad));
		else if (!strcmp(what + 4, "dim-huge")) u.vec.dim = 1u << 30;
		else if (!strcmp(what + 4, "dim-max")) u.vec.dim = VEXFS_MAX_DIM + 1;
		else if (!strcmp(what + 4, "dim-zero")) u.vec.dim = 0;
		else if (!strcmp(what + 4, "small-room")) {
			u.vec.dim = 1;
			int r = ioctl(fd, cmd, &u.vec);
			printf("%s dim=%u\n", r < 0 ? errname(errno) : "OK", u.vec.dim);
			return r < 0;
		} else if (strcmp(what + 4, "plain")) return usage();
		return report(ioctl(fd, cmd, &u));
	}
	if (!strncmp(what, "query-", 6)) {
		u.q.size = sizeof u.q; u.q.dim = dim; u.q.vector = (uintptr_t)v; u.q.k = 4;
		u.q.hits = (uintptr_t)hits;
		memset(hits, 0xff, sizeof hits);
		if (!strcmp(what + 6, "size-small")) u.q.size = VEXFS_IOC_QUERY_SIZE_VER0 - 4;
		else if (!strcmp(what + 6, "size-ver0")) u.q.size = VEXFS_IOC_QUERY_SIZE_VER0;
		else if (!strcmp(what + 6, "size-between")) u.q.size = VEXFS_IOC_QUERY_SIZE_VER0 + 4;
		else if (!strcmp(what + 6, "paths-len-only")) u.q.paths_len = 16;
		else if (!strcmp(what + 6, "badpaths")) { u.q.paths = (uintptr_t)bad; u.q.paths_len = 4096; }
		else if (!strcmp(what + 6, "size-big-zero")) u.q.size = sizeof u.q + 64;
		else if (!strcmp(what + 6, "size-big-nonzero")) { u.q.size = sizeof u.q + 64; u.raw[sizeof u.q + 63] = 0x80; }
		else if (!strcmp(what + 6, "badvec")) u.q.vector = (uintptr_t)bad;
		else if (!strcmp(what + 6, "badhits")) u.q.hits = (uintptr_t)bad;
		else if (!strcmp(what + 6, "badarg")) return report(ioctl(fd, VEXFS_IOC_QUERY, bad));
		else if (!strcmp(what + 6, "flags")) u.q.flags = 2;
		else if (!strcmp(what + 6, "exact")) u.q.flags = VEXFS_QUERY_EXACT;
		else if (!strcmp(what + 6, "k0")) u.q.k = 0;
		else if (!strcmp(what + 6, "k1025")) u.q.k = VEXFS_MAX_K + 1;
		else if (!strcmp(what + 6, "dim")) u.q.dim = dim + 1;
		else if (!strcmp(what + 6, "dim-huge")) u.q.dim = 1u << 30;
		else if (!strcmp(what + 6, "nan")) v[1] = __builtin_nanf("");
		else if (!strcmp(what + 6, "inf")) v[1] = -__builtin_inff();
		else if (!strcmp(what + 6, "reserved")) {
			/* every returned hit has reserved == 0, nothing past count is written */
			if (ioctl(fd, VEXFS_IOC_QUERY, &u.q) < 0) return fail();
			for (unsigned i = 0; i < 4; i++) {
				if (i < u.q.count && hits[i].reserved) { printf("reserved %u = %u\n", i, hits[i].reserved); return 1; }
				if (i >= u.q.count && hits[i].ino != ~0ULL) { printf("hit %u written past count %u\n", i, u.q.count); return 1; }
			}
			printf("OK\n");
			return 0;
		} else if (strcmp(what + 6, "plain")) return usage();
		return report(ioctl(fd, VEXFS_IOC_QUERY, &u));
	}
	if (!strncmp(what, "batch-", 6)) {
		u.b.size = sizeof u.b; u.b.dim = dim; u.b.count = 2; u.b.fds = (uintptr_t)fds;
		u.b.vectors = (uintptr_t)v; u.b.errors = (uintptr_t)errs;
		if (!strcmp(what + 6, "size-small")) u.b.size = sizeof u.b - 4;
		else if (!strcmp(what + 6, "too-large")) u.b.count = VEXFS_MAX_BATCH + 1;
		else if (!strcmp(what + 6, "zero")) u.b.count = 0;
		else if (!strcmp(what + 6, "flags")) u.b.flags = 1;
		else if (!strcmp(what + 6, "reserved")) u.b.reserved = 1;
		else if (!strcmp(what + 6, "dim")) u.b.dim = dim - 1;
		else if (!strcmp(what + 6, "badfds")) u.b.fds = (uintptr_t)bad;
		else if (!strcmp(what + 6, "badvecs")) u.b.vectors = (uintptr_t)bad;
		else if (!strcmp(what + 6, "baderrors")) u.b.errors = (uintptr_t)bad;
		else if (!strcmp(what + 6, "badfd")) fds[1] = 9999;
		else if (strcmp(what + 6, "plain")) return usage();
		int r = ioctl(fd, VEXFS_IOC_BATCH_SET, &u);
		if (r < 0) return fail();
		printf("done=%u %s %s\n", u.b.done, errs[0] ? errname(-errs[0]) : "OK",
		       errs[1] ? errname(-errs[1]) : "OK");
		return 0;
	}
	if (!strncmp(what, "info-", 5)) {
		u.i.size = sizeof u.i;
		if (!strcmp(what + 5, "size-small")) u.i.size = VEXFS_IOC_INFO_SIZE_VER0 - 8;
		else if (!strcmp(what + 5, "ver0")) {
			/* the old struct: its fields filled, nothing written past it */
			u.i.size = VEXFS_IOC_INFO_SIZE_VER0;
			memset(u.raw + VEXFS_IOC_INFO_SIZE_VER0, 0x5a, sizeof u.raw - VEXFS_IOC_INFO_SIZE_VER0);
			int r = ioctl(fd, VEXFS_IOC_INFO, &u);
			for (unsigned i = VEXFS_IOC_INFO_SIZE_VER0; r == 0 && i < sizeof u.raw; i++)
				if (u.raw[i] != 0x5a) {
					printf("byte %u past the VER0 struct written\n", i);
					return 1;
				}
			if (r == 0 && (u.i.dim != inf.dim || u.i.count != inf.count)) {
				printf("VER0 fields differ\n");
				return 1;
			}
			return report(r);
		}
		else if (!strcmp(what + 5, "size-big-zero")) u.i.size = sizeof u.i + 64;
		else if (!strcmp(what + 5, "size-big-nonzero")) { u.i.size = sizeof u.i + 64; u.raw[sizeof u.i] = 1; }
		else if (!strcmp(what + 5, "badarg")) return report(ioctl(fd, VEXFS_IOC_INFO, bad));
		else if (strcmp(what + 5, "plain")) return usage();
		int r = ioctl(fd, VEXFS_IOC_INFO, &u);
		if (r == 0 && u.i.size != sizeof u.i + (strcmp(what + 5, "size-big-zero") ? 0 : 64)) {
			printf("size field changed to %u\n", u.i.size);
			return 1;
		}
		return report(r);
	}
	if (!strcmp(what, "unknown-cmd"))
		return report(ioctl(fd, _IOWR(VEXFS_IOC_MAGIC, 99, struct vexfs_ioc_info), &u));
	return usage();
}

/* Returns -1 when argv is not a vector subcommand. */
static int vec_main(int argc, char **argv)
{
	const char *c = argv[1];
	float v[VEXFS_MAX_DIM + 1];

	if (!strcmp(c, "vset") && (argc == 4 || argc == 5)) { /* vset FILE VEC [OPENFLAGS] */
		unsigned n = parse_vec(argv[3], v, VEXFS_MAX_DIM + 1);
		int fd = open(argv[2], argc == 5 ? parse_flags(argv[4]) : O_WRONLY);
		if (fd < 0) return fail();
		struct vexfs_ioc_vector a = { .size = sizeof a, .dim = n, .data = (uintptr_t)v };
		return report(ioctl(fd, VEXFS_IOC_SET_VECTOR, &a));
	}
	if (!strcmp(c, "vget") && (argc == 3 || argc == 4)) { /* vget FILE [OPENFLAGS] */
		int fd = open_any(argv[2], argc == 4 ? parse_flags(argv[3]) : O_RDONLY);
		if (fd < 0) return fail();
		struct vexfs_ioc_vector a = { .size = sizeof a, .dim = VEXFS_MAX_DIM + 1, .data = (uintptr_t)v };
		if (ioctl(fd, VEXFS_IOC_GET_VECTOR, &a) < 0) return fail();
		print_vec(v, a.dim);
		return 0;
	}
	if (!strcmp(c, "vdel") && (argc == 3 || argc == 4)) { /* vdel FILE [OPENFLAGS] */
		int fd = open_any(argv[2], argc == 4 ? parse_flags(argv[3]) : O_WRONLY);
		if (fd < 0) return fail();
		return report(ioctl(fd, VEXFS_IOC_DEL_VECTOR));
	}
	if (!strcmp(c, "vquery") && (argc == 6 || argc == 7)) { /* vquery PATH K EF VEC [exact] */
		unsigned n = parse_vec(argv[5], v, VEXFS_MAX_DIM + 1);
		int fd = open_any(argv[2], O_RDONLY);
		if (fd < 0) return fail();
		if (argc == 7 && strcmp(argv[6], "exact")) return usage();
		return do_query(fd, v, n, strtoul(argv[3], NULL, 0), strtoul(argv[4], NULL, 0),
				argc == 7 ? VEXFS_QUERY_EXACT : 0);
	}
	if (!strcmp(c, "vqpaths") && (argc == 6 || argc == 7)) { /* vqpaths PATH K EF VEC [ROOM] */
		unsigned n = parse_vec(argv[5], v, VEXFS_MAX_DIM + 1);
		int fd = open_any(argv[2], O_RDONLY);
		if (fd < 0) return fail();
		return do_query_paths(fd, v, n, strtoul(argv[3], NULL, 0), strtoul(argv[4], NULL, 0),
				      argc == 7 ? strtoul(argv[6], NULL, 0) : 0);
	}
	if (!strcmp(c, "vquery0") && argc == 6) { /* vquery0 PATH K EF VEC */
		unsigned n = parse_vec(argv[5], v, VEXFS_MAX_DIM + 1);
		int fd = open_any(argv[2], O_RDONLY);
		if (fd < 0) return fail();
		return do_query_v0(fd, v, n, strtoul(argv[3], NULL, 0), strtoul(argv[4], NULL, 0));
	}
	if (!strcmp(c, "vinfo") && argc == 3) {
		struct vexfs_ioc_info inf;
		int fd = open_any(argv[2], O_RDONLY);
		if (fd < 0) return fail();
		if (vinfo_fd(fd, &inf) < 0) return fail();
		printf("dim=%u metric=%u m=%u ef_construction=%u ef_search=%u count=%llu capacity=%llu index_bytes=%llu levels=%u cache_bytes=%llu cache_budget=%llu cache_hits=%llu cache_misses=%llu\n",
		       inf.dim, inf.metric, inf.m, inf.ef_construction, inf.ef_search,
		       (unsigned long long)inf.count, (unsigned long long)inf.capacity,
		       (unsigned long long)inf.index_bytes, inf.levels,
		       (unsigned long long)inf.cache_bytes, (unsigned long long)inf.cache_budget,
		       (unsigned long long)inf.cache_hits, (unsigned long long)inf.cache_misses);
		return 0;
	}
	if (!strcmp(c, "vbatch") && argc >= 4) { /* vbatch ONPATH PATH[@ro]=VEC ... */
		unsigned count = argc - 3, dim = 0;
		int onfd = open_any(argv[2], O_RDONLY);
		int *fds = calloc(count, sizeof *fds);
		float *vecs = calloc((size_t)count * (VEXFS_MAX_DIM + 1), sizeof *vecs);
		if (onfd < 0) return fail();
		for (unsigned i = 0; i < count; i++) {
			char *spec = strdup(argv[3 + i]), *eq = strchr(spec, '=');
			if (!eq) return usage();
			*eq = 0;
			char *at = strchr(spec, '@');
			int fl = O_WRONLY;
			if (at) { *at = 0; fl = parse_flags(at + 1); }
			fds[i] = open_any(spec, fl);
			if (fds[i] < 0) return fail();
			float tmp[VEXFS_MAX_DIM + 1];
			unsigned n = parse_vec(eq + 1, tmp, VEXFS_MAX_DIM + 1);
			if (i && n != dim) { fprintf(stderr, "vectors of different dimensions\n"); return 2; }
			dim = n;
			memcpy(vecs + (size_t)i * dim, tmp, n * sizeof *tmp);
		}
		return do_batch(onfd, dim, count, fds, vecs, 1);
	}
	if (!strcmp(c, "vimport") && argc == 6) { /* vimport DIR FIRST N SEED: files DIR/vNNNNN, BATCH_SET per 1024 */
		unsigned long first = strtoul(argv[3], NULL, 0), n = strtoul(argv[4], NULL, 0);
		unsigned long seed = strtoul(argv[5], NULL, 0);
		struct vexfs_ioc_info inf;
		int dfd = open(argv[2], O_RDONLY | O_DIRECTORY);
		if (dfd < 0 || vinfo_fd(dfd, &inf) < 0) return fail();
		unsigned dim = inf.dim;
		int *fds = calloc(VEXFS_MAX_BATCH, sizeof *fds);
		int *errs = calloc(VEXFS_MAX_BATCH, sizeof *errs);
		float *vecs = calloc((size_t)VEXFS_MAX_BATCH * dim, sizeof *vecs);
		unsigned long done = 0;
		struct rlimit rl = { VEXFS_MAX_BATCH + 64, VEXFS_MAX_BATCH + 64 };
		setrlimit(RLIMIT_NOFILE, &rl); /* a batch holds up to 1024 descriptors */
		for (unsigned long i = first; i < first + n; ) {
			unsigned cnt = 0;
			for (; cnt < VEXFS_MAX_BATCH && i < first + n; cnt++, i++) {
				char name[64];
				snprintf(name, sizeof name, "v%05lu", i);
				fds[cnt] = openat(dfd, name, O_WRONLY | O_CREAT, 0644);
				if (fds[cnt] < 0) return fail();
				if (write(fds[cnt], name, strlen(name)) < 0) return fail();
				gen_vec(seed, i, vecs + (size_t)cnt * dim, dim);
			}
			struct vexfs_ioc_batch b = { .size = sizeof b, .dim = dim, .count = cnt,
						     .fds = (uintptr_t)fds, .vectors = (uintptr_t)vecs,
						     .errors = (uintptr_t)errs };
			if (ioctl(dfd, VEXFS_IOC_BATCH_SET, &b) < 0) return fail();
			for (unsigned j = 0; j < cnt; j++) {
				if (errs[j]) { printf("file %lu: %s\n", i - cnt + j, errname(-errs[j])); return 1; }
				close(fds[j]);
			}
			done += b.done;
		}
		printf("done=%lu\n", done);
		return 0;
	}
	if (!strcmp(c, "vgen") && argc == 5) { /* vgen DIM SEED I: the vector vimport gives file I */
		unsigned dim = strtoul(argv[2], NULL, 0);
		if (dim > VEXFS_MAX_DIM) return usage();
		gen_vec(strtoul(argv[3], NULL, 0), strtoul(argv[4], NULL, 0), v, dim);
		print_vec(v, dim);
		return 0;
	}
	if (!strcmp(c, "vprobe") && argc == 4) /* vprobe WHAT PATH */
		return vprobe(argv[2], argv[3]);
	return -1;
}

/* ---------- ioctlfuzz: random ioctls against the files of a tree ----------
 *
 * ioctlfuzz DIR SEED COUNT [trace]: COUNT ioctl calls on descriptors of DIR
 * and the entries below it (regular files and directories, opened O_RDONLY,
 * O_WRONLY, O_RDWR or O_PATH), in batches of FZ_BATCH calls, each in a
 * forked child with its own descriptors (the tree changes under it: another
 * process may mutate it). A call is one of: a real VEXFS_IOC_* command, the
 * same with other size or direction bits, a random number in the 0xF5 type,
 * a foreign read-only ioctl (FS_IOC_GETFLAGS, FIEMAP, FIONREAD, TCGETS, ...)
 * or a random number outside the types whose ioctls change a filesystem's
 * state ('f', 'X', 0x94: freeze, shutdown, setflags, resize...). Arguments:
 * NULL, small integers, kernel and non-canonical addresses, an unmapped
 * page, the last bytes before a PROT_NONE page, a read-only page, random
 * bytes, and for the vector commands structs with edge values (sizes, dims,
 * k, ef, counts, flags, NaN/Inf/denormal/huge floats, bad inner pointers).
 *
 * Only what the uapi header makes certain is checked: a vector command
 * never succeeds with an argument it documents as an error (struct not
 * readable in full, size field out of range or a nonzero tail, dim not the
 * filesystem's, NaN/Inf, k/ef/count/flags out of range, wrong open mode,
 * an output it cannot write); a success leaves consistent outputs (INFO
 * keeps the size field, GET gives the fs dimension, QUERY writes count <= k
 * hits and nothing after them, BATCH_SET's done counts its zero errors);
 * an unknown 0xF5 number is ENOTTY (any 0xF5 number on another
 * filesystem); any ioctl on an O_PATH descriptor is EBADF.
 *
 * With IOCTLFUZZ_HIDDEN=INO,... no QUERY hit may be one of those inodes
 * (files the caller may not read or reach).
 *
 * Batch B runs from seed fz_mix(SEED, B) whatever happened before, so
 * "trace" (one line per call) replays the calls of a failing run. Prints
 * per-class and per-errno counts; exits 1 when a check failed or a child
 * died. */

#define FZ_BATCH 250
#define FZ_MAXFD 48
#define FZ_SLOT (16 * 4096)	/* RW bytes of a slot, a PROT_NONE page after */
#define FZ_NERR 160		/* errno buckets; the last is "other" */
#define FZ_NCLASS 6
#define FZ_NBASE 11		/* 0 (none) and VEXFS_IOC_* numbers 1..10 */

static const char *const fz_class_name[FZ_NCLASS] = {
	"vexfs", "vexfs-size", "vexfs-dir", "vexfs-type", "foreign", "random"
};

struct fz_shared {
	unsigned long long n[FZ_NCLASS][FZ_NERR];
	unsigned long long opens, open_err[FZ_NERR];
	unsigned long long bad;		/* failed checks */
	unsigned long long refused;	/* calls with a documented error condition (all refused) */
	unsigned long long checked;	/* vector command successes whose outputs were checked */
	unsigned long long calls;
	unsigned long long ns[FZ_NBASE], maxns[FZ_NBASE], nb[FZ_NBASE];	/* time per VEXFS_IOC_* (0: others) */
};

static struct fz_shared *fzs;
static int fz_trace;
static unsigned fz_dim;			/* the filesystem's vector dimension (0: none) */
static int fz_isvx;			/* VEXFS_IOC_INFO works: a vexfs */
static unsigned long long fz_seed, fz_call;
static unsigned long long fz_hidden[64];	/* inodes no QUERY of this caller may return */
static int fz_nhidden;

static unsigned long long fz_mix(unsigned long long a, unsigned long long b)
{
	unsigned long long z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned long long fz_state;
static unsigned fz_r(void)
{
	fz_state = fz_mix(fz_state, 0);
	return (unsigned)(fz_state >> 32);
}
static unsigned fz_below(unsigned n) { return n ? fz_r() % n : 0; }
static int fz_pct(unsigned p) { return fz_below(100) < p; }
static unsigned fz_pick(const unsigned *v, unsigned n) { return v[fz_below(n)]; }
#define FZ_PICK(a) fz_pick(a, sizeof(a) / sizeof(a[0]))

/* A region handed to the kernel: its address and how many bytes at it are
 * readable (r) and writable (w). */
struct fz_reg { unsigned long addr; unsigned long r, w; const char *kind; };

/* four RW slots and four read-only slots, each followed by a PROT_NONE page */
static unsigned char *fz_rw[4], *fz_ro[4];
static unsigned long fz_unmapped;

static unsigned char *fz_map_slot(int prot)
{
	unsigned char *p = mmap(NULL, FZ_SLOT + 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + FZ_SLOT, 4096, PROT_NONE) < 0) { perror("mmap"); exit(2); }
	if (prot != (PROT_READ | PROT_WRITE) && mprotect(p, FZ_SLOT, prot) < 0) { perror("mprotect"); exit(2); }
	return p;
}

static void fz_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fz_bad(const char *fmt, ...)
{
	va_list ap;
	__atomic_add_fetch(&fzs->bad, 1, __ATOMIC_SEQ_CST);
	if (fzs->bad > 30) return;
	printf("IOCTLFUZZ-BAD seed=%llu call=%llu: ", fz_seed, fz_call);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Place LEN bytes of CONTENT (NULL: leave the memory as it is) in slot S
 * somewhere: valid, tight against the guard page (maybe cut short), in the
 * read-only slot, or a bad pointer. PBAD: percent of bad placements. */
static struct fz_reg fz_place(int s, const void *content, unsigned long len, unsigned pbad)
{
	struct fz_reg g = { 0, 0, 0, "?" };
	static const unsigned long kaddr[] = {
		0xffffffff81000000UL, 0xffff888000000000UL, 0xffffffffffffffffUL,
		0x8000000000000000UL, 0xfffffffffffff000UL, 0x00007ffffffff000UL,
	};
	unsigned k = fz_below(100);
	if (len > FZ_SLOT) len = FZ_SLOT;
	if (k < pbad) {
		switch (fz_below(4)) {
		case 0: g.addr = 0; g.kind = "null"; break;
		case 1: g.addr = 1 + fz_below(4096); g.kind = "small"; break;
		case 2: g.addr = kaddr[fz_below(6)] - (fz_pct(50) ? 0 : fz_below(64)); g.kind = "kernel"; break;
		default: g.addr = fz_unmapped + fz_below(4096); g.kind = "unmapped"; break;
		}
		return g;
	}
	k = fz_below(100);
	if (k < 60) {
		g.addr = (unsigned long)fz_rw[s];
		g.r = g.w = FZ_SLOT;
		g.kind = "valid";
		if (content) memcpy(fz_rw[s], content, len);
	} else if (k < 85) {
		/* the last N bytes before the PROT_NONE page */
		unsigned long n = fz_pct(50) ? len : fz_below(len + 9);
		if (n > FZ_SLOT) n = FZ_SLOT;
		g.addr = (unsigned long)fz_rw[s] + FZ_SLOT - n;
		g.r = g.w = n;
		g.kind = n >= len ? "guard-tight" : "guard-short";
		if (content) memcpy((void *)g.addr, content, n < len ? n : len);
	} else {
		g.addr = (unsigned long)fz_ro[s];
		g.r = FZ_SLOT;
		g.w = 0;
		g.kind = "readonly";
		if (content) {
			mprotect(fz_ro[s], FZ_SLOT, PROT_READ | PROT_WRITE);
			memcpy(fz_ro[s], content, len);
			mprotect(fz_ro[s], FZ_SLOT, PROT_READ);
		}
	}
	return g;
}

/* one float: mostly ordinary, sometimes an edge value; *nonfinite set on NaN/Inf */
static float fz_float(int *nonfinite)
{
	union { float f; unsigned u; } x;
	static const unsigned edge[] = {
		0x00000000, 0x80000000, 0x00000001, 0x807fffff, 0x00800000, 0x7f7fffff,
		0xff7fffff, 0x7e967699 /* 1e38 */, 0x7fc00000, 0x7f800001, 0xffffffff,
		0x7f800000, 0xff800000, 0x3f800000,
	};
	unsigned k = fz_below(100);
	if (k < 85) x.f = (float)((double)fz_below(20001) / 100.0 - 100.0);
	else if (k < 97) x.u = FZ_PICK(edge);
	else x.u = fz_r();
	if ((x.u & 0x7f800000) == 0x7f800000) *nonfinite = 1;
	return x.f;
}

/* N floats into V; 1 when one of them is NaN or infinite */
static int fz_vector(float *v, unsigned long n)
{
	int nonfinite = 0, special = fz_pct(25);
	for (unsigned long i = 0; i < n; i++) {
		if (special) v[i] = fz_float(&nonfinite);
		else v[i] = (float)((double)fz_below(20001) / 100.0 - 100.0);
	}
	return nonfinite;
}

static unsigned fz_size(unsigned ksize)
{
	static const unsigned edge[] = { 0, 1, 4, 0xffffffff, 4096, 4097, 1u << 20 };
	unsigned k = fz_below(100);
	if (k < 70) return ksize;
	if (k < 78) return ksize - 4 * (1 + fz_below(ksize / 4));
	if (k < 90) return ksize + 4 * (1 + fz_below(16));
	return FZ_PICK(edge);
}

static unsigned fz_dimval(void)
{
	unsigned edge[] = { 0, 1, fz_dim ? fz_dim - 1 : 7, fz_dim + 1, VEXFS_MAX_DIM, VEXFS_MAX_DIM + 1,
			    0xffffffff, 1u << 30, 1u << 31, 16, 128 };
	return fz_pct(70) ? (fz_dim ? fz_dim : 8) : FZ_PICK(edge);
}

struct fz_fd { int fd; int dir; int rd, wr, path; };

/* What the checks know about one call. */
struct fz_call {
	unsigned long cmd;
	int base;		/* 1..10: the VEXFS_IOC_* it matches (size bits ignored), 0 none */
	int vxtype;		/* in the 0xF5 type */
	struct fz_reg arg;	/* the struct (or any argument) */
	unsigned usize;		/* size field as placed (when arg.r >= 4) */
	int tail_nonzero;	/* bytes between ksize and usize are not all zero */
	int impossible;		/* a documented error condition: success is wrong */
	const char *why;
	/* outputs to check after a success */
	struct fz_reg out;
	struct fz_reg pout;	/* QUERY paths buffer, when paths was set */
	unsigned paths_len;
	unsigned k, dim;
	unsigned long hits_len;
	int nan_at[VEXFS_MAX_BATCH];
	unsigned count;
};

static void fz_must_fail(struct fz_call *c, int cond, const char *why)
{
	if (cond && !c->impossible) { c->impossible = 1; c->why = why; }
}

/* 7..10: the fixed-size requests (data inline, size field == sizeof exactly);
 * they are only reached through random 0xF5 numbers and checked with random
 * arguments (fz_build makes structs for 1..6). */
static const unsigned long fz_real[FZ_NBASE] = {
	0, VEXFS_IOC_SET_VECTOR, VEXFS_IOC_GET_VECTOR, VEXFS_IOC_DEL_VECTOR,
	VEXFS_IOC_QUERY, VEXFS_IOC_BATCH_SET, VEXFS_IOC_INFO,
	VEXFS_IOC_SET_FIXED, VEXFS_IOC_GET_FIXED, VEXFS_IOC_QUERY_FIXED, VEXFS_IOC_PATH_FIXED,
};
static const unsigned fz_ksize[FZ_NBASE] = {
	0, sizeof(struct vexfs_ioc_vector), sizeof(struct vexfs_ioc_vector), 0,
	sizeof(struct vexfs_ioc_query), sizeof(struct vexfs_ioc_batch), sizeof(struct vexfs_ioc_info),
	sizeof(struct vexfs_ioc_vector_fixed), sizeof(struct vexfs_ioc_vector_fixed),
	sizeof(struct vexfs_ioc_query_fixed), sizeof(struct vexfs_ioc_path_fixed),
};
/* smallest size field taken: older, smaller structs are zero-extended */
static const unsigned fz_kmin[FZ_NBASE] = {
	0, sizeof(struct vexfs_ioc_vector), sizeof(struct vexfs_ioc_vector), 0,
	VEXFS_IOC_QUERY_SIZE_VER0, sizeof(struct vexfs_ioc_batch), VEXFS_IOC_INFO_SIZE_VER0,
	sizeof(struct vexfs_ioc_vector_fixed), 0,
	sizeof(struct vexfs_ioc_query_fixed), sizeof(struct vexfs_ioc_path_fixed),
};
/* bytes of the struct a successful call writes at least (7: none; 8: all;
 * 9: up to count; 10: len and the path's NUL) */
static const unsigned fz_fixed_out[FZ_NBASE] = {
	0, 0, 0, 0, 0, 0, 0,
	0, sizeof(struct vexfs_ioc_vector_fixed),
	offsetof(struct vexfs_ioc_query_fixed, count) + 4,
	offsetof(struct vexfs_ioc_path_fixed, path) + 1,
};
#define FZ_NOSIZE(c) ((c) & ~((unsigned long)_IOC_SIZEMASK << _IOC_SIZESHIFT))

static int fz_base_of(unsigned long cmd)
{
	for (int i = 1; i < FZ_NBASE; i++)
		if (FZ_NOSIZE(cmd) == FZ_NOSIZE(fz_real[i]))
			return i;
	return 0;
}

/* Build the struct of vector command BASE in BUF (ksize + slack bytes) and
 * place it; fills in the checks. */
static void fz_build(struct fz_call *c, struct fz_fd *t, struct fz_fd *pool, int npool)
{
	static unsigned char buf[4096 + 256] __attribute__((aligned(16)));
	static float vec[VEXFS_MAX_BATCH * 16 + VEXFS_MAX_DIM + 8];
	static int fds[VEXFS_MAX_BATCH];
	unsigned ks = fz_ksize[c->base], len;
	int nonfinite = 0;

	memset(buf, 0, sizeof buf);
	c->usize = fz_size(ks);
	len = c->usize < ks ? ks : c->usize;
	if (len > ks + 64) len = ks + 64; /* bytes we actually place */
	*(unsigned *)buf = c->usize;
	if (c->usize > ks && fz_pct(40)) {
		unsigned long tl = (c->usize < ks + 64 ? c->usize : ks + 64) - ks;
		buf[ks + fz_below(tl)] = 1 + fz_below(255);
		c->tail_nonzero = 1;
	}
	switch (c->base) {
	case 1: case 2: { /* SET, GET */
		struct vexfs_ioc_vector *a = (void *)buf;
		a->dim = fz_dimval();
		unsigned long n = a->dim < VEXFS_MAX_DIM + 8 ? a->dim : VEXFS_MAX_DIM + 8;
		struct fz_reg d;
		if (c->base == 1) {
			nonfinite = fz_vector(vec, n);
			d = fz_place(1, vec, n * 4, 15);
			fz_must_fail(c, !t->wr, "SET on a descriptor not open for writing");
			fz_must_fail(c, a->dim != fz_dim, "SET dim is not the filesystem's");
			fz_must_fail(c, d.r < (unsigned long)a->dim * 4, "SET data not readable");
			fz_must_fail(c, nonfinite && a->dim == n, "SET vector has NaN/Inf");
		} else {
			d = fz_place(1, NULL, n * 4, 15);
			fz_must_fail(c, !t->rd, "GET on a descriptor not open for reading");
			fz_must_fail(c, a->dim < fz_dim, "GET room below the dimension");
			fz_must_fail(c, d.w < (unsigned long)fz_dim * 4, "GET data not writable");
			c->dim = a->dim;
		}
		a->data = d.addr;
		fz_must_fail(c, t->dir, "SET/GET on a directory");
		break;
	}
	case 4: { /* QUERY */
		struct vexfs_ioc_query *q = (void *)buf;
		static const unsigned kv[] = { 0, 1, 2, 4, 10, VEXFS_MAX_K, VEXFS_MAX_K + 1, 0xffffffff, 1u << 31 };
		static const unsigned efv[] = { 0, 1, 16, VEXFS_MAX_EF, VEXFS_MAX_EF + 1, 0xffffffff };
		static const unsigned flv[] = { 0, 0, 0, VEXFS_QUERY_EXACT, VEXFS_QUERY_EXACT, 2, 3, 0xffffffff, 0x80000000 };
		q->dim = fz_dimval();
		q->k = fz_pct(60) ? 1 + fz_below(16) : FZ_PICK(kv);
		q->ef = fz_pct(50) ? 0 : fz_pct(50) ? fz_below(200) : FZ_PICK(efv);
		q->flags = FZ_PICK(flv);
		q->count = fz_pct(80) ? 0 : fz_r();
		unsigned long n = q->dim < VEXFS_MAX_DIM + 8 ? q->dim : VEXFS_MAX_DIM + 8;
		nonfinite = fz_vector(vec, n);
		struct fz_reg v = fz_place(1, vec, n * 4, 15);
		unsigned long hl = (unsigned long)(q->k <= VEXFS_MAX_K ? q->k : 16) * sizeof(struct vexfs_ioc_hit);
		c->out = fz_place(2, NULL, hl, 15);
		if (c->out.w) memset((void *)c->out.addr, 0xa5, c->out.w < hl ? c->out.w : hl);
		q->vector = v.addr;
		q->hits = c->out.addr;
		c->k = q->k;
		c->hits_len = hl;
		/* paths (only read when the size field covers them) */
		if (c->usize >= ks && fz_pct(30)) {
			unsigned long pl = fz_pct(70) ? 64 + fz_below(8192) : fz_below(64);
			c->pout = fz_place(3, NULL, pl, 15);
			/* all that the check after the call reads (paths_len may be random, > pl) */
			if (c->pout.w) memset((void *)c->pout.addr, 0xa5, c->pout.w < 8192 + 64 ? c->pout.w : 8192 + 64);
			q->paths = c->pout.addr;
			q->paths_len = fz_pct(95) ? pl : fz_r();
			if (!q->paths && q->paths_len)
				fz_must_fail(c, 1, "QUERY paths_len without paths");
			c->paths_len = q->paths && c->pout.w ? (q->paths_len < c->pout.w ? q->paths_len : c->pout.w) : 0;
		} else if (c->usize >= ks && fz_pct(3)) {
			q->paths_len = 1 + fz_below(100);
			fz_must_fail(c, 1, "QUERY paths_len without paths");
		}
		q->paths_used = fz_r();
		fz_must_fail(c, q->flags & ~VEXFS_QUERY_EXACT, "QUERY unknown flags");
		fz_must_fail(c, q->k == 0 || q->k > VEXFS_MAX_K, "QUERY k out of range");
		fz_must_fail(c, q->ef > VEXFS_MAX_EF, "QUERY ef out of range");
		fz_must_fail(c, q->dim != fz_dim, "QUERY dim is not the filesystem's");
		fz_must_fail(c, v.r < (unsigned long)q->dim * 4, "QUERY vector not readable");
		fz_must_fail(c, nonfinite && q->dim == n, "QUERY vector has NaN/Inf");
		break;
	}
	case 5: { /* BATCH_SET */
		struct vexfs_ioc_batch *b = (void *)buf;
		static const unsigned cv[] = { 0, 1, 2, 3, 16, 64, VEXFS_MAX_BATCH + 1, 0xffffffff, 1u << 31 };
		b->dim = fz_dimval();
		/* a full batch of valid files is up to 1024 HNSW inserts (~5 s under TCG): rare */
		b->count = fz_pct(60) ? 1 + fz_below(8) : fz_pct(97) ? FZ_PICK(cv) : VEXFS_MAX_BATCH - fz_below(2);
		b->flags = fz_pct(90) ? 0 : 1u << fz_below(32);
		b->reserved = fz_pct(90) ? 0 : fz_r() | 1;
		unsigned cnt = b->count <= VEXFS_MAX_BATCH ? b->count : 8;
		unsigned long d = b->dim <= 16 ? b->dim : 16;
		for (unsigned i = 0; i < cnt; i++) {
			unsigned k = fz_below(100);
			fds[i] = k < 80 && npool ? pool[fz_below(npool)].fd : k < 85 ? -1 : k < 90 ? 9999 : k < 95 ? (int)fz_below(3) : (int)fz_r();
			c->nan_at[i] = fz_vector(vec + (unsigned long)i * d, d);
		}
		struct fz_reg f = fz_place(1, fds, cnt * 4UL, 10);
		struct fz_reg v = fz_place(2, vec, cnt * d * 4, 10);
		c->out = fz_place(3, NULL, cnt * 4UL, 10);
		b->fds = f.addr;
		b->vectors = v.addr;
		b->errors = c->out.addr;
		b->done = fz_r();
		c->count = b->count;
		c->dim = b->dim;
		fz_must_fail(c, b->flags || b->reserved, "BATCH_SET flags/reserved nonzero");
		fz_must_fail(c, b->count == 0 || b->count > VEXFS_MAX_BATCH, "BATCH_SET count out of range");
		fz_must_fail(c, b->dim != fz_dim, "BATCH_SET dim is not the filesystem's");
		fz_must_fail(c, f.r < (unsigned long)b->count * 4, "BATCH_SET fds not readable");
		fz_must_fail(c, v.r < (unsigned long)b->count * b->dim * 4, "BATCH_SET vectors not readable");
		fz_must_fail(c, c->out.w < (unsigned long)b->count * 4, "BATCH_SET errors not writable");
		break;
	}
	case 6: { /* INFO: random output fields (the kernel overwrites them) */
		for (unsigned i = 4; i < ks && fz_pct(50); i++) buf[i] = fz_r();
		break;
	}
	}
	c->arg = fz_place(0, buf, len, 12);
	fz_must_fail(c, c->arg.r < (c->usize < ks ? c->usize : ks), "struct not readable in full");
	fz_must_fail(c, c->arg.r < fz_kmin[c->base], "struct not readable in full");
	fz_must_fail(c, c->usize < fz_kmin[c->base] || c->usize > 4096, "size field out of range");
	fz_must_fail(c, c->usize > c->arg.r, "size field beyond the readable struct");
	fz_must_fail(c, c->tail_nonzero, "nonzero bytes past the known struct");
	/* outputs written into the struct itself */
	fz_must_fail(c, c->base == 5 && c->arg.w < ks, "struct not writable");
	/* INFO writes the fields of the caller's size (an older struct gets fewer) */
	fz_must_fail(c, c->base == 6 && c->arg.w < (c->usize < ks ? c->usize : ks),
		     "struct not writable");
	fz_must_fail(c, c->base == 4 && c->arg.w < offsetof(struct vexfs_ioc_query, count) + 4,
		     "struct not writable");
}

static void fz_check(struct fz_call *c, struct fz_fd *t, long r, int e)
{
	if (t->path) {
		if (r >= 0 || e != EBADF) fz_bad("cmd %#lx on an O_PATH descriptor: %s, expected EBADF", c->cmd, r >= 0 ? "OK" : errname(e));
		return;
	}
	if (c->vxtype && (!fz_isvx || !c->base)) {
		/* no vexfs here (or not one of its commands): only ENOTTY; a foreign fs
		 * checks nothing before its ioctl gives up, vexfs neither */
		if (r >= 0 || e != ENOTTY) fz_bad("cmd %#lx (unknown here): %s, expected ENOTTY", c->cmd, r >= 0 ? "OK" : errname(e));
		return;
	}
	if (c->base && r < 0 && c->impossible)
		__atomic_add_fetch(&fzs->refused, 1, __ATOMIC_RELAXED);
	if (!c->base || r < 0)
		return;
	__atomic_add_fetch(&fzs->checked, 1, __ATOMIC_RELAXED);
	/* a vector command succeeded */
	if (c->base == 3) {
		if (!t->wr || t->dir) fz_bad("DEL succeeded on a %s descriptor", t->dir ? "directory" : "read-only");
		return;
	}
	if (c->impossible) {
		__atomic_add_fetch(&fzs->refused, 1, __ATOMIC_RELAXED);
		fz_bad("cmd %#lx succeeded although %s (arg %s, size %u)", c->cmd, c->why, c->arg.kind, c->usize);
		return;
	}
	if (c->base == 6) {
		struct vexfs_ioc_info i;
		/* a VER0-sized struct may be all that is readable */
		memset(&i, 0, sizeof i);
		memcpy(&i, (void *)c->arg.addr, c->arg.r < sizeof i ? c->arg.r : sizeof i);
		if (i.size != c->usize) fz_bad("INFO changed the size field %u -> %u", c->usize, i.size);
		if (i.dim != fz_dim) fz_bad("INFO dim %u, the filesystem's is %u", i.dim, fz_dim);
	} else if (c->base == 2) {
		struct vexfs_ioc_vector a;
		memcpy(&a, (void *)c->arg.addr, sizeof a);
		if (a.dim != fz_dim) fz_bad("GET returned dim %u, the filesystem's is %u", a.dim, fz_dim);
	} else if (c->base == 4) {
		struct vexfs_ioc_query qq, *q = &qq;
		/* an older, smaller struct may be all that is readable */
		memset(q, 0, sizeof qq);
		memcpy(q, (void *)c->arg.addr, c->arg.r < sizeof qq ? c->arg.r : sizeof qq);
		if (q->count > c->k) { fz_bad("QUERY count %u > k %u", q->count, c->k); return; }
		unsigned char *h = (void *)c->out.addr;
		unsigned long lim = c->out.w < c->hits_len ? c->out.w : c->hits_len;
		if ((unsigned long)q->count * sizeof(struct vexfs_ioc_hit) > c->out.w)
			fz_bad("QUERY gave %u hits into %lu writable bytes", q->count, c->out.w);
		for (unsigned long i = (unsigned long)q->count * sizeof(struct vexfs_ioc_hit); i < lim; i++)
			if (h[i] != 0xa5) { fz_bad("QUERY wrote past its %u hits (byte %lu)", q->count, i); break; }
		for (unsigned i = 0; i < q->count; i++) {
			struct vexfs_ioc_hit x;
			memcpy(&x, h + i * sizeof x, sizeof x);
			if (x.reserved) { fz_bad("QUERY hit %u reserved=%u", i, x.reserved); break; }
			for (int j = 0; j < fz_nhidden; j++)
				if (x.ino == fz_hidden[j]) fz_bad("QUERY returned inode %llu, which uid %u may not see", (unsigned long long)x.ino, getuid());
		}
		if (c->pout.addr && q->paths == c->pout.addr) {
			/* count NUL-terminated paths in paths_used bytes, nothing past them */
			const unsigned char *pp = (const void *)c->pout.addr;
			unsigned nul = 0;
			if (q->paths_used > c->paths_len) {
				fz_bad("QUERY paths_used %u > %u writable bytes of paths_len", q->paths_used, c->paths_len);
				return;
			}
			for (unsigned i = 0; i < q->paths_used; i++)
				nul += !pp[i];
			if (nul != q->count || (q->paths_used && pp[q->paths_used - 1]))
				fz_bad("QUERY %u hits but %u paths in paths_used %u", q->count, nul, q->paths_used);
			for (unsigned i = q->paths_used; i < c->paths_len && i < 8192 + 64; i++)
				if (pp[i] != 0xa5) { fz_bad("QUERY wrote paths past paths_used %u (byte %u)", q->paths_used, i); break; }
		}
	} else if (c->base == 5) {
		struct vexfs_ioc_batch bb, *b = &bb;
		int errs[VEXFS_MAX_BATCH];
		unsigned zeros = 0;
		memcpy(b, (void *)c->arg.addr, sizeof bb);
		memcpy(errs, (void *)c->out.addr, c->count * sizeof errs[0]);
		for (unsigned i = 0; i < c->count; i++) {
			if (errs[i] > 0 || errs[i] < -4095) fz_bad("BATCH_SET errors[%u] = %d", i, errs[i]);
			if (!errs[i]) zeros++;
			if (!errs[i] && c->nan_at[i] && c->dim <= 16) fz_bad("BATCH_SET set a NaN/Inf vector (file %u)", i);
		}
		if (b->done != zeros) fz_bad("BATCH_SET done=%u but %u zero errors", b->done, zeros);
	}
}

static void fz_count(int cls, long r, int e)
{
	int b = r >= 0 ? 0 : (e > 0 && e < FZ_NERR - 1 ? e : FZ_NERR - 1);
	__atomic_add_fetch(&fzs->n[cls][b], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&fzs->calls, 1, __ATOMIC_RELAXED);
}

/* Regular files and directories of DIR (depth <= 3), each opened in a random
 * mode; the first two are DIR itself (read-only and O_PATH). */
static int fz_open_all(const char *dir, struct fz_fd *pool)
{
	char path[4096];
	int n = 0;
	char *stack[64];
	int sp = 0;
	pool[n++] = (struct fz_fd){ open(dir, O_RDONLY | O_DIRECTORY), 1, 1, 0, 0 };
	pool[n++] = (struct fz_fd){ open(dir, O_PATH | O_DIRECTORY), 1, 0, 0, 1 };
	stack[sp++] = strdup(dir);
	while (sp && n < FZ_MAXFD) {
		char *d = stack[--sp];
		DIR *dp = opendir(d);
		struct dirent *de;
		while (dp && (de = readdir(dp)) && n < FZ_MAXFD) {
			struct stat st;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
			if (fz_pct(30)) continue;
			snprintf(path, sizeof path, "%s/%s", d, de->d_name);
			if (lstat(path, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) continue;
			int isdir = S_ISDIR(st.st_mode);
			if (isdir && sp < 64 && strlen(path) < 200 && fz_pct(60)) stack[sp++] = strdup(path);
			static const int fm[] = { O_RDONLY, O_WRONLY, O_RDWR, O_PATH, O_RDWR | O_APPEND };
			int m = isdir ? (fz_pct(75) ? O_RDONLY : O_PATH) : fm[fz_below(5)];
			int fd = open(path, m | O_NOFOLLOW | O_NONBLOCK);
			__atomic_add_fetch(&fzs->opens, 1, __ATOMIC_RELAXED);
			if (fd < 0) {
				__atomic_add_fetch(&fzs->open_err[errno < FZ_NERR - 1 ? errno : FZ_NERR - 1], 1, __ATOMIC_RELAXED);
				continue;
			}
			int acc = m & O_ACCMODE;
			pool[n++] = (struct fz_fd){ fd, isdir, !(m & O_PATH) && acc != O_WRONLY,
						    !(m & O_PATH) && acc != O_RDONLY, !!(m & O_PATH) };
		}
		if (dp) closedir(dp);
		free(d);
	}
	while (sp) free(stack[--sp]);
	return n;
}

static void fz_batch(const char *dir, unsigned long long b, unsigned long ncalls)
{
	static struct fz_fd pool[FZ_MAXFD];
	/* foreign commands that only read (or harmlessly set descriptor flags) */
	static const unsigned long foreign[] = {
		_IOR('f', 1, long), _IOR('f', 1, int) /* FS_IOC(32)_GETFLAGS */, _IOR('v', 1, long) /* GETVERSION */,
		_IOWR('f', 11, char[32]) /* FS_IOC_FIEMAP */, _IOR('X', 31, char[28]) /* FS_IOC_FSGETXATTR */,
		_IOWR('X', 59, char[128]) /* FS_IOC_GETFSMAP */, _IOR(0x94, 49, char[256]) /* FS_IOC_GETFSLABEL */,
		_IOR(0x15, 0, char[17]) /* FS_IOC_GETFSUUID */, _IOR(0x15, 1, char[129]) /* FS_IOC_GETFSSYSFSPATH */,
		_IOR('f', 44, char[8]) /* EXT4_IOC_GETFSUUID */, _IOW('f', 41, int) /* EXT4_IOC_GETSTATE */,
		_IOWR('f', 134, char[4]) /* FS_IOC_MEASURE_VERITY */, _IOWR('f', 21, char[12]) /* GET_ENCRYPTION_POLICY */,
		_IO(0x00, 1) /* FIBMAP */, _IO(0x00, 2) /* FIGETBSZ */, 0x541B /* FIONREAD */, 0x5460 /* FIOQSIZE */,
		0x5451, 0x5450 /* FIOCLEX, FIONCLEX */, 0x5421 /* FIONBIO */, 0x5452 /* FIOASYNC */,
		0x5401 /* TCGETS */, 0x5413 /* TIOCGWINSZ */, 0x540F /* TIOCGPGRP */, 0x8910 /* SIOCGIFNAME */,
		_IOR(0x12, 114, size_t) /* BLKGETSIZE64 */, _IO(0x12, 104) /* BLKSSZGET */, _IO(0x12, 94) /* BLKROGET */,
		_IO(0x12, 96) /* BLKGETSIZE */, _IOR('V', 0, char[104]) /* VIDIOC_QUERYCAP */,
	};
	fz_state = fz_mix(fz_seed, b);
	int npool = fz_open_all(dir, pool), nok = 0;
	struct fz_fd valid[FZ_MAXFD];
	for (int i = 0; i < npool; i++)
		if (pool[i].fd >= 0) valid[nok++] = pool[i];
	if (!nok) { fz_bad("batch %llu: cannot open %s", b, dir); return; }
	for (unsigned long i = 0; i < ncalls; i++) {
		static struct fz_call c;
		struct fz_fd *t = &valid[fz_below(nok)];
		if (t->path && fz_pct(70)) t = &valid[fz_below(nok)]; /* fewer O_PATH calls */
		unsigned k = fz_below(100);
		int cls;
		fz_call = b * FZ_BATCH + i;
		memset(&c, 0, sizeof c);
		if (k < 45) { cls = 0; c.cmd = fz_real[1 + fz_below(6)]; }
		else if (k < 55) { /* size bits: ignored by vexfs, the struct's size field decides */
			cls = 1;
			c.cmd = (fz_real[1 + fz_below(6)] & ~((unsigned long)_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
				((unsigned long)fz_below(_IOC_SIZEMASK + 1) << _IOC_SIZESHIFT);
		} else if (k < 62) { /* direction bits */
			cls = 2;
			c.cmd = fz_real[1 + fz_below(6)] ^ ((unsigned long)(1 + fz_below(3)) << _IOC_DIRSHIFT);
		} else if (k < 72) {
			cls = 3;
			c.cmd = _IOC(fz_below(4), VEXFS_IOC_MAGIC, fz_pct(70) ? fz_below(16) : fz_below(256), fz_below(_IOC_SIZEMASK + 1));
		} else if (k < 86) {
			cls = 4;
			c.cmd = foreign[fz_below(sizeof foreign / sizeof foreign[0])];
		} else {
			cls = 5;
			do c.cmd = fz_r();
			while (strchr("fX\x94", _IOC_TYPE(c.cmd)) && _IOC_TYPE(c.cmd));
		}
		c.vxtype = _IOC_TYPE(c.cmd) == VEXFS_IOC_MAGIC;
		c.base = c.vxtype ? fz_base_of(c.cmd) : 0;
		if (c.base && c.base != 3 && c.base <= 6 && fz_pct(80)) {
			fz_build(&c, t, valid, nok);
		} else {
			/* anything: bad pointers, random bytes, a random integer */
			static unsigned char rb[512];
			for (unsigned j = 0; j < sizeof rb; j++) rb[j] = fz_r();
			if (fz_pct(10)) { c.arg.addr = fz_pct(50) ? fz_below(16) : ((unsigned long)fz_r() << 32 | fz_r()); c.arg.kind = "int"; }
			else c.arg = fz_place(0, rb, sizeof rb, 35);
			if (c.arg.r >= 4) memcpy(&c.usize, (void *)c.arg.addr, 4);
			if (c.base >= 7) {
				/* fixed-size: the whole struct is read (GET_FIXED reads
				 * nothing), the size field must be sizeof exactly */
				unsigned ks = fz_ksize[c.base];
				if (c.base != 8) {
					fz_must_fail(&c, c.arg.r < ks, "struct not readable in full");
					fz_must_fail(&c, c.arg.r >= 4 && c.usize != ks, "fixed size field not sizeof");
				}
				fz_must_fail(&c, c.arg.w < fz_fixed_out[c.base], "struct not writable");
			} else if (c.base && c.base != 3) {
				unsigned ks = fz_ksize[c.base];
				/* INFO takes sizes from VER0 on and writes that many bytes */
				unsigned km = c.base == 6 ? fz_kmin[6] : ks;
				unsigned kw = c.base == 6 && c.usize < ks ? c.usize : ks;
				fz_must_fail(&c, c.arg.r < km, "struct not readable in full");
				fz_must_fail(&c, c.arg.r >= 4 && (c.usize < km || c.usize > 4096), "size field out of range");
				fz_must_fail(&c, c.arg.r >= 4 && c.usize > c.arg.r, "size field beyond the readable struct");
				fz_must_fail(&c, (c.base == 4 || c.base == 5 || c.base == 6) && c.arg.w < kw, "struct not writable");
			}
		}
		if (fz_trace)
			printf("call %llu fd=%d%s%s%s cmd=%#lx class=%s arg=%s:%#lx size=%u\n", fz_call, t->fd,
			       t->dir ? " dir" : "", t->rd ? " r" : "", t->path ? " path" : t->wr ? " w" : "",
			       c.cmd, fz_class_name[cls], c.arg.kind, c.arg.addr, c.usize);
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		long r = syscall(SYS_ioctl, t->fd, c.cmd, c.arg.addr);
		int e = errno;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		unsigned long long ns = (t1.tv_sec - t0.tv_sec) * 1000000000ULL + t1.tv_nsec - t0.tv_nsec;
		__atomic_add_fetch(&fzs->ns[c.base], ns, __ATOMIC_RELAXED);
		__atomic_add_fetch(&fzs->nb[c.base], 1, __ATOMIC_RELAXED);
		if (ns > fzs->maxns[c.base]) fzs->maxns[c.base] = ns;
		if (fz_trace) printf("  -> %s\n", r >= 0 ? "OK" : errname(e));
		fz_count(cls, r, e);
		fz_check(&c, t, r, e);
	}
	for (int i = 0; i < npool; i++)
		if (pool[i].fd >= 0) close(pool[i].fd);
}

static int ioctlfuzz(const char *dir, unsigned long long seed, unsigned long count, int trace)
{
	struct vexfs_ioc_info inf;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	unsigned long long nb = (count + FZ_BATCH - 1) / FZ_BATCH;
	int died = 0;

	if (dfd < 0) return fail();
	fz_isvx = vinfo_fd(dfd, &inf) == 0;
	fz_dim = fz_isvx ? inf.dim : 0;
	close(dfd);
	fz_seed = seed;
	fz_trace = trace;
	for (const char *h = getenv("IOCTLFUZZ_HIDDEN"); h && *h && fz_nhidden < 64; ) {
		char *end;
		fz_hidden[fz_nhidden++] = strtoull(h, &end, 0);
		h = *end ? end + 1 : end;
	}
	fzs = mmap(NULL, sizeof *fzs, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fzs == MAP_FAILED) return fail();
	memset(fzs, 0, sizeof *fzs);
	for (int i = 0; i < 4; i++) {
		fz_rw[i] = fz_map_slot(PROT_READ | PROT_WRITE);
		fz_ro[i] = fz_map_slot(PROT_READ);
	}
	void *u = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(u, 4096);
	fz_unmapped = (unsigned long)u;
	printf("ioctlfuzz: seed %llu, %lu calls on %s as uid %u, fs dim %u\n", seed, count, dir, getuid(), fz_dim);
	for (unsigned long long b = 0; b < nb && !died; b++) {
		unsigned long n = b + 1 < nb ? FZ_BATCH : count - b * FZ_BATCH;
		pid_t p = fork();
		if (p < 0) return fail();
		if (p == 0) {
			alarm(120);
			fz_batch(dir, b, n);
			_exit(0);
		}
		int st;
		if (waitpid(p, &st, 0) < 0) return fail();
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			printf("IOCTLFUZZ-BAD seed=%llu batch %llu: child %s %d (replay: vmhelper ioctlfuzz DIR %llu %llu trace)\n",
			       seed, b, WIFSIGNALED(st) ? "killed by signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
			       seed, (b + 1) * FZ_BATCH);
			died = 1;
		}
	}
	printf("ioctlfuzz: seed %llu calls %llu bad %llu documented-errors %llu successes-checked %llu opens %llu",
	       seed, fzs->calls, fzs->bad, fzs->refused, fzs->checked, fzs->opens);
	for (int e = 1; e < FZ_NERR; e++)
		if (fzs->open_err[e]) printf(" open-%s=%llu", e == FZ_NERR - 1 ? "other" : errname(e), fzs->open_err[e]);
	printf("\n");
	for (int cl = 0; cl < FZ_NCLASS; cl++) {
		printf("ioctlfuzz: %-10s", fz_class_name[cl]);
		for (int e = 0; e < FZ_NERR; e++)
			if (fzs->n[cl][e]) printf(" %s=%llu", e == 0 ? "OK" : e == FZ_NERR - 1 ? "other" : errname(e), fzs->n[cl][e]);
		printf("\n");
	}
	static const char *const bn[FZ_NBASE] = { "other", "SET", "GET", "DEL", "QUERY", "BATCH_SET", "INFO",
						  "SET_FIXED", "GET_FIXED", "QUERY_FIXED", "PATH_FIXED" };
	printf("ioctlfuzz: time");
	for (int i = 0; i < FZ_NBASE; i++)
		if (fzs->nb[i])
			printf(" %s=%llu/%.0fms/max%.1fms", bn[i], fzs->nb[i], fzs->ns[i] / 1e6, fzs->maxns[i] / 1e6);
	printf("\n");
	return fzs->bad || died ? 1 : 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: vmhelper CMD ARGS\n"
		"  rename2 none|noreplace|exchange|whiteout[,noreplace|,exchange] OLD NEW\n"
		"  falloc PATH MODE OFF LEN   (MODE: 0 or keep,punch,zero,collapse,insert,unshare)\n"
		"  pfalloc PATH OFF LEN       (posix_fallocate)\n"
		"  falloc_ro PATH             (fallocate on a read-only descriptor)\n"
		"  fiemap PATH [OFF LEN]      (one 'logical physical length flags' line per extent, bytes)\n"
		"  dio PATH w|r OFF LEN [MISALIGN]   (O_DIRECT pwrite of 0x5a bytes / pread: OK or errno)\n"
		"  getflags PATH | setflags PATH HEX   (FS_IOC_GETFLAGS / SETFLAGS)\n"
		"  btime PATH                 (statx: btime seconds, or NOBTIME)\n"
		"  fitrim PATH MINLEN         (FITRIM over the whole fs: trimmed bytes, or errno)\n"
		"  rename OLD NEW | link OLD NEW | symlink TARGET PATH | readlink PATH\n"
		"  mkdir PATH [MODE] | rmdir PATH | unlink PATH\n"
		"  open PATH FLAGS[,..] [MODE]   (flags: rdonly wronly rdwr creat excl trunc append directory nofollow)\n"
		"  mknod PATH fifo|sock|reg|chr|blk [MODE] [MAJ MIN]\n"
		"  truncate PATH LEN | ftruncate PATH LEN\n"
		"  utimes PATH ASEC MSEC          (sets atime/mtime, seconds)\n"
		"  fsync PATH | fdatasync PATH | syncfs PATH\n"
		"  pwrite PATH OFF STRING | pread PATH OFF LEN\n"
		"  seekend PATH | seekdata PATH OFF | seekhole PATH OFF\n"
		"  fill PATH CHUNK               (write until error; prints errno name and bytes written)\n"
		"  statfs PATH                   (bsize blocks bfree bavail files ffree namelen)\n"
		"  stat PATH                     (mode nlink uid gid size blocks mtime.nsec ino)\n"
		"  bindsock PATH                 (AF_UNIX bind = socket inode)\n"
		"  zerocheck PATH OFF LEN        (OK if all bytes in range are zero)\n"
		"  mount SRC DIR FSTYPE [DATA]   (mount(2) without MS_SILENT)\n"
		"  countdir DIR                  (number of readdir entries but . and ..)\n"
		"  names OP DIR PREFIX FROM TO   (create|stat|miss|unlink DIR/PREFIXi; prints how many went as asked)\n"
		"  dirseek DIR                   (telldir/seekdir back: prints entries and mismatches)\n"
		"  dirchurn DIR N                (getdents64 while names come and go: stable s0..sN-1 seen, dups, 1)\n"
		"  fsx PATH NOPS SEED MODELOUT [falloc,punch,zero,direct]   (random pwrite/truncate/pread vs an in-memory model;\n"
		"                                 the final model is written to MODELOUT for later cmp)\n"
		"  utimens PATH SEC[.NSEC]       (atime = mtime, nanoseconds)\n"
		"  mmapwrite PATH OFF STRING | mmapread PATH OFF LEN | mmappasteof PATH OFF\n"
		"  scribble DEV SEED N FIRST LAST (corrupt N random 4K blocks in [FIRST,LAST); prints them)\n"
		"  delmod NAME                   (delete_module(NAME, O_NONBLOCK), like rmmod)\n"
		"  holdread PATH                 (open, unlink, read back, print content)\n"
		"  say TEXT                      (print a line; return once the tty has transmitted it: tcdrain)\n"
		"  genwrite PATH SEED OFF LEN GEN [fsync]  (write generated 32-byte records at OFF..OFF+LEN,\n"
		"                                 both multiples of 32; fsync: then fsync the file and its directory)\n"
		"  gencheck PATH SEED            (every record is SEED's for its offset, any GEN, or all zero;\n"
		"                                 prints OK size=N zero=Z records, or BAD at OFF with the bytes)\n"
		"  churn files|symlinks|fsync|sync DIR SECS [ID]  (load until SECS are up; prints OK iterations)\n"
		"  ioctlfuzz DIR SEED COUNT [trace]  (COUNT random ioctls on DIR and the files and directories\n"
		"                                 below it; prints per-errno counts, IOCTLFUZZ-BAD lines; exit 1 on any;\n"
		"                                 env IOCTLFUZZ_HIDDEN=INO,INO..: inodes no QUERY may return)\n"
		"vector ioctls (VEXFS_IOC_*; VEC is comma-separated floats, nan/inf allowed):\n"
		"  vset FILE VEC [OPENFLAGS] | vget FILE [OPENFLAGS] (prints VEC) | vdel FILE [OPENFLAGS]\n"
		"  vquery PATH K EF VEC [exact]  (one 'ino distance' line per hit, nearest first)\n"
		"  vqpaths PATH K EF VEC [ROOM]  (with paths: 'ino distance path', '-' for none; ROOM bytes of\n"
		"                                 paths, default k*4096; 'EOVERFLOW paths_used=N' when too small)\n"
		"  vquery0 PATH K EF VEC         (vquery with the first ABI's 40-byte struct and request number)\n"
		"  vinfo PATH                    (dim= metric= m= ef_construction= ef_search= count= ...)\n"
		"  vbatch ONPATH FILE[@OPENFLAGS]=VEC ...  (one BATCH_SET; prints done=N and per-file results)\n"
		"  vimport DIR FIRST N SEED      (create DIR/vNNNNN FIRST..FIRST+N-1, BATCH_SET generated vectors)\n"
		"  vgen DIM SEED I               (the vector vimport gives file I)\n"
		"  vprobe WHAT PATH              (raw bad requests: set-|get-{size-small,size-zero,size-big-zero,\n"
		"                                 size-big-nonzero,size-huge,newer-cmd,badptr,badarg,dim-huge,dim-max,dim-zero,\n"
		"                                 small-room,plain}, query-{size-small,size-ver0,size-between,\n"
		"                                 size-big-zero,size-big-nonzero,paths-len-only,badpaths,\n"
		"                                 badvec,badhits,badarg,flags,exact,k0,k1025,dim,dim-huge,nan,inf,\n"
		"                                 reserved,plain}, batch-{size-small,too-large,zero,flags,reserved,dim,\n"
		"                                 badfds,badvecs,baderrors,badfd,plain}, info-{size-small,\n"
		"                                 size-big-zero,size-big-nonzero,badarg,plain}, unknown-cmd)\n"
		"options before CMD: --uid N     (setgroups(0), setresgid(N), setresuid(N) first)\n");
	return 2;
}

/* Generated file content for the crash test: 32-byte records, each naming
 * the file's seed and its own offset, so any block read back can be judged
 * on its own: it belongs to this file at this offset (any generation of
 * overwrites), or it is all zero (a hole, or a size extension whose data
 * never reached the disk), or it is garbage. */
#define GEN_REC 32
#define GEN_ID 22 /* "S%08lx@%010llx g": seed and offset */
static void gen_record(char *r, unsigned long seed, unsigned long long off, unsigned gen)
{
	int n = snprintf(r, GEN_REC + 1, "S%08lx@%010llx g%04x", seed & 0xffffffffUL, off, gen & 0xffff);
	memset(r + n, '.', GEN_REC - 1 - n);
	r[GEN_REC - 1] = '\n';
}

static int genwrite(const char *path, unsigned long seed, unsigned long long off,
		    unsigned long long len, unsigned gen, int dosync)
{
	static char buf[65536];
	if (off % GEN_REC || len % GEN_REC) return usage();
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd < 0) return fail();
	while (len) {
		size_t n = len < sizeof buf ? len : sizeof buf;
		for (size_t i = 0; i < n; i += GEN_REC)
			gen_record(buf + i, seed, off + i, gen);
		ssize_t w = pwrite(fd, buf, n, off);
		if (w < 0) return fail();
		if ((size_t)w != n) { errno = ENOSPC; return fail(); }
		off += n;
		len -= n;
	}
	if (dosync) {
		char dir[4096], *slash;
		snprintf(dir, sizeof dir, "%s", path);
		slash = strrchr(dir, '/');
		if (slash == dir) slash[1] = 0;
		else if (slash) *slash = 0;
		else strcpy(dir, ".");
		if (fsync(fd) < 0) return fail();
		int dfd = open(dir, O_RDONLY | O_DIRECTORY);
		if (dfd < 0 || fsync(dfd) < 0) return fail();
		close(dfd);
	}
	if (close(fd) < 0) return fail();
	printf("OK\n");
	return 0;
}

static int gencheck(const char *path, unsigned long seed)
{
	static char buf[65536];
	char want[GEN_REC + 1];
	unsigned long long off = 0, zero = 0;
	int fd = open(path, O_RDONLY);
	if (fd < 0) return fail();
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0) return fail();
		if (n == 0) break;
		for (ssize_t i = 0; i < n; i += GEN_REC, off += GEN_REC) {
			size_t m = n - i < GEN_REC ? (size_t)(n - i) : GEN_REC, z = 0, k;
			char *r = buf + i;
			while (z < m && !r[z]) z++;
			if (z == m) { zero++; continue; }
			gen_record(want, seed, off, 0);
			/* the id, then 4 hex digits of any generation, then the padding */
			for (k = 0; k < m; k++) {
				if (k >= GEN_ID && k < GEN_ID + 4 ? !strchr("0123456789abcdef", r[k]) || !r[k] : r[k] != want[k])
					break;
			}
			if (k < m) {
				printf("BAD at %llu (record byte %zu): '", off, k);
				for (k = 0; k < m; k++) putchar(r[k] >= 32 && r[k] < 127 ? r[k] : '?');
				printf("', expected '%.*s'\n", GEN_REC - 1, want);
				return 1;
			}
		}
		if (n % GEN_REC) {
			/* a short read that is not the end cannot be judged per record */
			off -= GEN_REC - n % GEN_REC;
			if (lseek(fd, 0, SEEK_CUR) != (off_t)off) { printf("BAD short read at %llu\n", off); return 1; }
		}
	}
	close(fd);
	printf("OK size=%llu zero=%llu\n", off, zero);
	return 0;
}

/* churn WHAT DIR SECONDS [ID]: one kind of load on DIR until the time is up
 * (the commit-race case runs several at once).  files: create, write 8 KiB,
 * close, unlink (the freed inode number is soon reused); symlinks: symlink
 * with a 200-byte target, readlink, unlink; fsync: rewrite DIR/fsync-ID and
 * fsync it; sync: syncfs.  Prints "OK N" (iterations) or the first errno. */
static int churn(const char *what, const char *dir, int secs, const char *id)
{
	static char buf[8192];
	char path[4096], target[256];
	time_t stop = time(NULL) + secs;
	unsigned long n = 0;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);

	if (dfd < 0) return fail();
	memset(buf, 'c', sizeof buf);
	memset(target, 't', 200);
	target[200] = 0;
	while (time(NULL) < stop) {
		snprintf(path, sizeof path, "%s/%s-%s-%lu", dir, what, id, n % 64);
		if (!strcmp(what, "files")) {
			int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0) return fail();
			if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) return fail();
			close(fd);
			if (unlink(path) < 0) return fail();
		} else if (!strcmp(what, "symlinks")) {
			char got[256];
			if (symlink(target, path) < 0) return fail();
			if (readlink(path, got, sizeof got) != 200) return fail();
			if (unlink(path) < 0) return fail();
		} else if (!strcmp(what, "fsync")) {
			snprintf(path, sizeof path, "%s/fsync-%s", dir, id);
			int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0) return fail();
			if (write(fd, buf, 4096) != 4096 || fsync(fd) < 0) return fail();
			close(fd);
		} else if (!strcmp(what, "sync")) {
			if (syncfs(dfd) < 0) return fail();
		} else {
			return usage();
		}
		n++;
	}
	close(dfd);
	printf("OK %lu\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "--uid")) {
		uid_t id = strtoul(argv[2], NULL, 0);
		if (setgroups(0, NULL) < 0 || setresgid(id, id, id) < 0 || setresuid(id, id, id) < 0)
			return fail();
		argc -= 2;
		argv += 2;
	}
	if (argc < 2)
		return usage();
	const char *c = argv[1];
	{
		int r = vec_main(argc, argv);
		if (r >= 0)
			return r;
	}

	if (!strcmp(c, "rename2") && argc == 5) {
		unsigned fl = 0;
		if (!strcmp(argv[2], "noreplace")) fl = RENAME_NOREPLACE;
		else if (!strcmp(argv[2], "exchange")) fl = RENAME_EXCHANGE;
		else if (!strcmp(argv[2], "whiteout")) fl = RENAME_WHITEOUT;
		else if (!strcmp(argv[2], "whiteout,noreplace")) fl = RENAME_WHITEOUT | RENAME_NOREPLACE;
		else if (!strcmp(argv[2], "whiteout,exchange")) fl = RENAME_WHITEOUT | RENAME_EXCHANGE;
		else if (strcmp(argv[2], "none")) return usage();
		return report(syscall(SYS_renameat2, AT_FDCWD, argv[3], AT_FDCWD, argv[4], fl));
	}
	if (!strcmp(c, "falloc") && argc == 6) {
		int mode = 0;
		char *dup = strdup(argv[3]), *save = NULL, *tok;
		for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (!strcmp(tok, "keep")) mode |= FALLOC_FL_KEEP_SIZE;
			else if (!strcmp(tok, "punch")) mode |= FALLOC_FL_PUNCH_HOLE;
			else if (!strcmp(tok, "zero")) mode |= FALLOC_FL_ZERO_RANGE;
			else if (!strcmp(tok, "collapse")) mode |= FALLOC_FL_COLLAPSE_RANGE;
			else if (!strcmp(tok, "insert")) mode |= FALLOC_FL_INSERT_RANGE;
			else if (!strcmp(tok, "unshare")) mode |= FALLOC_FL_UNSHARE_RANGE;
			else mode |= (int)strtol(tok, NULL, 0);
		}
		int fd = open(argv[2], O_RDWR);
		if (fd < 0) return fail();
		return report(fallocate(fd, mode, strtoll(argv[4], NULL, 0), strtoll(argv[5], NULL, 0)));
	}
	if (!strcmp(c, "falloc_ro") && argc == 3) {
		int fd = open(argv[2], O_RDONLY);
		if (fd < 0) return fail();
		return report(fallocate(fd, 0, 0, 4096));
	}
	if (!strcmp(c, "pfalloc") && argc == 5) {
		int fd = open(argv[2], O_RDWR), e;
		if (fd < 0) return fail();
		e = posix_fallocate(fd, strtoll(argv[3], NULL, 0), strtoll(argv[4], NULL, 0));
		printf("%s\n", e ? errname(e) : "OK");
		return !!e;
	}
	if (!strcmp(c, "fiemap") && (argc == 3 || argc == 5)) {
		int fd = open(argv[2], O_RDONLY);
		struct fiemap *fm = calloc(1, sizeof *fm + 256 * sizeof(struct fiemap_extent));
		if (fd < 0 || !fm) return fail();
		fm->fm_start = argc == 5 ? strtoull(argv[3], NULL, 0) : 0;
		fm->fm_length = argc == 5 ? strtoull(argv[4], NULL, 0) : FIEMAP_MAX_OFFSET;
		fm->fm_flags = FIEMAP_FLAG_SYNC;
		fm->fm_extent_count = 256;
		if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0) return fail();
		for (unsigned i = 0; i < fm->fm_mapped_extents; i++)
			printf("%llu %llu %llu %#x\n", (unsigned long long)fm->fm_extents[i].fe_logical,
			       (unsigned long long)fm->fm_extents[i].fe_physical,
			       (unsigned long long)fm->fm_extents[i].fe_length, fm->fm_extents[i].fe_flags);
		return 0;
	}
	if (!strcmp(c, "dio") && (argc == 6 || argc == 7)) {
		int w = !strcmp(argv[3], "w");
		int fd = open(argv[2], (w ? O_WRONLY : O_RDONLY) | O_DIRECT);
		size_t len = strtoull(argv[5], NULL, 0), mis = argc == 7 ? strtoull(argv[6], NULL, 0) : 0;
		char *buf;
		if (fd < 0) return fail();
		if (posix_memalign((void **)&buf, 4096, len + 4096)) return fail();
		memset(buf, w ? 0x5a : 0, len + 4096);
		ssize_t n = w ? pwrite(fd, buf + mis, len, strtoll(argv[4], NULL, 0))
			      : pread(fd, buf + mis, len, strtoll(argv[4], NULL, 0));
		if (n < 0) return fail();
		if (!w) {
			unsigned long long sum = 0;
			for (ssize_t i = 0; i < n; i++) sum = sum * 31 + (unsigned char)buf[mis + i];
			printf("OK %zd %llx\n", n, sum);
			return 0;
		}
		printf(n == (ssize_t)len ? "OK\n" : "SHORT %zd\n", n);
		return 0;
	}
	if (!strcmp(c, "getflags") && argc == 3) {
		int fd = open(argv[2], O_RDONLY | O_NONBLOCK), fl = 0;
		if (fd < 0) return fail();
		if (ioctl(fd, FS_IOC_GETFLAGS, &fl) < 0) return fail();
		printf("%#x\n", fl);
		return 0;
	}
	if (!strcmp(c, "setflags") && argc == 4) {
		int fd = open(argv[2], O_RDONLY | O_NONBLOCK), fl = (int)strtol(argv[3], NULL, 0);
		if (fd < 0) return fail();
		return report(ioctl(fd, FS_IOC_SETFLAGS, &fl));
	}
	if (!strcmp(c, "btime") && argc == 3) {
		struct statx sx;
		if (statx(AT_FDCWD, argv[2], AT_SYMLINK_NOFOLLOW, STATX_BTIME, &sx) < 0) return fail();
		if (!(sx.stx_mask & STATX_BTIME)) { printf("NOBTIME\n"); return 0; }
		printf("%lld %u\n", (long long)sx.stx_btime.tv_sec, sx.stx_attributes & (STATX_ATTR_IMMUTABLE | STATX_ATTR_APPEND | STATX_ATTR_NODUMP) ? 1u : 0u);
		return 0;
	}
	if (!strcmp(c, "fitrim") && argc == 4) {
		int fd = open(argv[2], O_RDONLY);
		struct fstrim_range r = { .start = 0, .len = ~0ULL, .minlen = strtoull(argv[3], NULL, 0) };
		if (fd < 0) return fail();
		if (ioctl(fd, FITRIM, &r) < 0) return fail();
		printf("%llu\n", (unsigned long long)r.len);
		return 0;
	}
	if (!strcmp(c, "ioctlfuzz") && (argc == 5 || (argc == 6 && !strcmp(argv[5], "trace"))))
		return ioctlfuzz(argv[2], strtoull(argv[3], NULL, 0), strtoul(argv[4], NULL, 0), argc == 6);
	if (!strcmp(c, "churn") && (argc == 5 || argc == 6))
		return churn(argv[2], argv[3], atoi(argv[4]), argc == 6 ? argv[5] : "0");
	if (!strcmp(c, "rename") && argc == 4)
		return report(rename(argv[2], argv[3]));
	if (!strcmp(c, "link") && argc == 4)
		return report(link(argv[2], argv[3]));
	if (!strcmp(c, "symlink") && argc == 4)
		return report(symlink(argv[2], argv[3]));
	if (!strcmp(c, "readlink") && argc == 3) {
		char buf[8192];
		ssize_t n = readlink(argv[2], buf, sizeof buf - 1);
		if (n < 0) return fail();
		buf[n] = 0;
		printf("%s\n", buf);
		return 0;
	}
	if (!strcmp(c, "mkdir") && (argc == 3 || argc == 4))
		return report(mkdir(argv[2], argc == 4 ? strtol(argv[3], NULL, 8) : 0755));
	if (!strcmp(c, "rmdir") && argc == 3)
		return report(rmdir(argv[2]));
	if (!strcmp(c, "unlink") && argc == 3)
		return report(unlink(argv[2]));
	if (!strcmp(c, "open") && (argc == 4 || argc == 5)) {
		int fd = open(argv[2], parse_flags(argv[3]), argc == 5 ? strtol(argv[4], NULL, 8) : 0644);
		if (fd < 0) return fail();
		close(fd);
		printf("OK\n");
		return 0;
	}
	if (!strcmp(c, "mknod") && argc >= 4) {
		mode_t m = argc >= 5 ? strtol(argv[4], NULL, 8) : 0644;
		dev_t d = 0;
		if (argc >= 7) d = makedev(atoi(argv[5]), atoi(argv[6]));
		if (!strcmp(argv[3], "fifo")) m |= S_IFIFO;
		else if (!strcmp(argv[3], "sock")) m |= S_IFSOCK;
		else if (!strcmp(argv[3], "reg")) m |= S_IFREG;
		else if (!strcmp(argv[3], "chr")) m |= S_IFCHR;
		else if (!strcmp(argv[3], "blk")) m |= S_IFBLK;
		else return usage();
		return report(mknod(argv[2], m, d));
	}
	if (!strcmp(c, "truncate") && argc == 4)
		return report(truncate(argv[2], strtoll(argv[3], NULL, 0)));
	if (!strcmp(c, "ftruncate") && argc == 4) {
		int fd = open(argv[2], O_WRONLY);
		if (fd < 0) return fail();
		int r = report(ftruncate(fd, strtoll(argv[3], NULL, 0)));
		close(fd);
		return r;
	}
	if (!strcmp(c, "utimes") && argc == 5) {
		struct timeval tv[2] = { { atoll(argv[3]), 0 }, { atoll(argv[4]), 0 } };
		return report(utimes(argv[2], tv));
	}
	if ((!strcmp(c, "fsync") || !strcmp(c, "fdatasync") || !strcmp(c, "syncfs")) && argc == 3) {
		int fd = open(argv[2], O_RDONLY);
		if (fd < 0) return fail();
		long r = !strcmp(c, "fsync") ? fsync(fd) : !strcmp(c, "fdatasync") ? fdatasync(fd) : syncfs(fd);
		int ret = report(r);
		close(fd);
		return ret;
	}
	if (!strcmp(c, "pwrite") && argc == 5) {
		int fd = open(argv[2], O_WRONLY | O_CREAT, 0644);
		if (fd < 0) return fail();
		ssize_t n = pwrite(fd, argv[4], strlen(argv[4]), strtoll(argv[3], NULL, 0));
		if (n < 0) return fail();
		if (close(fd) < 0) return fail();
		printf("OK\n");
		return 0;
	}
	if (!strcmp(c, "pread") && argc == 5) {
		int fd = open(argv[2], O_RDONLY);
		if (fd < 0) return fail();
		size_t len = strtoull(argv[4], NULL, 0);
		char *buf = malloc(len + 1);
		ssize_t n = pread(fd, buf, len, strtoll(argv[3], NULL, 0));
		if (n < 0) return fail();
		fwrite(buf, 1, n, stdout);
		printf("\n");
		return 0;
	}
	if ((!strcmp(c, "seekend") && argc == 3) ||
	    ((!strcmp(c, "seekdata") || !strcmp(c, "seekhole")) && argc == 4)) {
		int fd = open(argv[2], O_RDONLY);
		if (fd < 0) return fail();
		off_t r;
		if (!strcmp(c, "seekend")) r = lseek(fd, 0, SEEK_END);
		else r = lseek(fd, strtoll(argv[3], NULL, 0), !strcmp(c, "seekdata") ? SEEK_DATA : SEEK_HOLE);
		if (r < 0) return fail();
		printf("%lld\n", (long long)r);
		return 0;
	}
	if (!strcmp(c, "fill") && argc == 4) {
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) return fail();
		size_t chunk = strtoull(argv[3], NULL, 0);
		char *buf = malloc(chunk);
		memset(buf, 0xab, chunk);
		long long total = 0;
		int err = 0;
		for (;;) {
			ssize_t n = write(fd, buf, chunk);
			if (n < 0) { err = errno; break; }
			if (n == 0) { err = 0; break; }
			total += n;
		}
		if (close(fd) < 0 && !err) err = errno;
		printf("%s %lld\n", err ? errname(err) : "NOERR", total);
		return err == ENOSPC ? 0 : 1;
	}
	if (!strcmp(c, "statfs") && argc == 3) {
		struct statfs s;
		if (statfs(argv[2], &s) < 0) return fail();
		printf("%ld %llu %llu %llu %llu %llu %ld\n", (long)s.f_bsize,
		       (unsigned long long)s.f_blocks, (unsigned long long)s.f_bfree,
		       (unsigned long long)s.f_bavail, (unsigned long long)s.f_files,
		       (unsigned long long)s.f_ffree, (long)s.f_namelen);
		return 0;
	}
	if (!strcmp(c, "stat") && argc == 3) {
		struct stat s;
		if (lstat(argv[2], &s) < 0) return fail();
		printf("%o %lu %u %u %lld %lld %lld.%09ld %llu\n", s.st_mode, (unsigned long)s.st_nlink,
		       s.st_uid, s.st_gid, (long long)s.st_size, (long long)s.st_blocks,
		       (long long)s.st_mtim.tv_sec, s.st_mtim.tv_nsec, (unsigned long long)s.st_ino);
		return 0;
	}
	if (!strcmp(c, "bindsock") && argc == 3) {
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		if (s < 0) return fail();
		strncpy(a.sun_path, argv[2], sizeof a.sun_path - 1);
		int r = report(bind(s, (struct sockaddr *)&a, sizeof a));
		close(s);
		return r;
	}
	if (!strcmp(c, "zerocheck") && argc == 5) {
		int fd = open(argv[2], O_RDONLY);
		if (fd < 0) return fail();
		long long off = strtoll(argv[3], NULL, 0), len = strtoll(argv[4], NULL, 0);
		char buf[65536];
		while (len > 0) {
			ssize_t n = pread(fd, buf, len < (long long)sizeof buf ? len : (long long)sizeof buf, off);
			if (n < 0) return fail();
			if (n == 0) { printf("SHORT at %lld\n", off); return 1; }
			for (ssize_t i = 0; i < n; i++)
				if (buf[i]) { printf("NONZERO at %lld\n", off + i); return 1; }
			off += n;
			len -= n;
		}
		printf("OK\n");
		return 0;
	}
	if (!strcmp(c, "mount") && (argc == 5 || argc == 6)) /* plain mount(2): no MS_SILENT, unlike busybox mount */
		return report(mount(argv[2], argv[3], argv[4], 0, argc == 6 ? argv[5] : NULL));
	if (!strcmp(c, "names") && argc == 7) { /* names OP DIR PREFIX FROM TO: create|stat|miss|unlink each DIR/PREFIXi */
		const char *op = argv[2];
		long from = atol(argv[5]), to = atol(argv[6]), i, done = 0;
		char p[4096];
		struct stat st;
		/* VMHELPER_TENTHS set: the time of each tenth of the run on stderr (benchmarks) */
		int tenths = getenv("VMHELPER_TENTHS") != NULL;
		long span = (to - from) / 10, k = 0;
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (i = from; i < to; i++) {
			int r;
			if (tenths && span > 0 && i > from && (i - from) % span == 0 && k < 9) {
				clock_gettime(CLOCK_MONOTONIC, &t1);
				fprintf(stderr, "tenth %ld %.3f\n", k++, (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
				t0 = t1;
			}
			snprintf(p, sizeof p, "%s/%s%ld", argv[3], argv[4], i);
			if (!strcmp(op, "create")) {
				int fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0644);
				r = fd < 0 ? -1 : close(fd);
			} else if (!strcmp(op, "stat") || !strcmp(op, "miss")) {
				r = stat(p, &st);
				if (!strcmp(op, "miss")) {
					if (r == 0 || errno != ENOENT) { fprintf(stderr, "%s: found\n", p); break; }
					r = 0;
				}
			} else if (!strcmp(op, "unlink")) {
				r = unlink(p);
			} else {
				return usage();
			}
			if (r) { fprintf(stderr, "%s %s: %s\n", op, p, strerror(errno)); break; }
			done++;
		}
		if (tenths) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			fprintf(stderr, "tenth %ld %.3f\n", k, (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
		}
		printf("%ld\n", done);
		return 0;
	}
	if (!strcmp(c, "dirseek") && argc == 3) { /* telldir before each entry; seekdir back to some: same rest */
		DIR *d = opendir(argv[2]);
		struct dirent *e;
		static long pos[200000];
		static char nm[200000][64];
		long n = 0, k, bad = 0;
		if (!d) return fail();
		for (;;) {
			long t = telldir(d);
			if (!(e = readdir(d)) || n == 200000) break;
			pos[n] = t;
			snprintf(nm[n], sizeof nm[n], "%.63s", e->d_name);
			n++;
		}
		for (k = 0; k < n; k += n / 7 + 1) {
			long j;
			seekdir(d, pos[k]);
			for (j = k; j < n && j < k + 50; j++) {
				if (!(e = readdir(d)) || strcmp(e->d_name, nm[j])) { bad++; break; }
			}
		}
		closedir(d);
		printf("%ld %ld\n", n, bad);
		return 0;
	}
	if (!strcmp(c, "dirchurn") && argc == 4) { /* getdents64 in small steps while names come and go: stable names "s*" seen once */
		int fd = open(argv[2], O_RDONLY | O_DIRECTORY);
		long stable = atol(argv[3]), seen_stable = 0, dup = 0, made = 0, calls = 0;
		static unsigned char seen[1 << 20];
		char buf[512], p[4096];
		if (fd < 0 || stable > (long)sizeof seen) return fail();
		memset(seen, 0, sizeof seen);
		for (;;) {
			long n = syscall(SYS_getdents64, fd, buf, sizeof buf), off = 0;
			if (n < 0) return fail();
			if (n == 0) break;
			calls++;
			while (off < n) {
				struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *de = (void *)(buf + off);
				if (de->name[0] == 's') {
					long i = atol(de->name + 1);
					if (i >= 0 && i < stable) {
						if (seen[i]) dup++; else seen_stable++;
						seen[i] = 1;
					}
				}
				off += de->reclen;
			}
			/* churn: 8 new names, then remove the oldest 4 of them */
			for (int k = 0; k < 8; k++) {
				snprintf(p, sizeof p, "%s/c%ld", argv[2], made++);
				int f = open(p, O_CREAT | O_WRONLY, 0644);
				if (f < 0) return fail();
				close(f);
			}
			for (int k = 0; k < 4; k++) {
				snprintf(p, sizeof p, "%s/c%ld", argv[2], (made - 8) / 2 + k);
				unlink(p);
			}
		}
		close(fd);
		printf("%ld %ld %d\n", seen_stable, dup, calls > 10);
		return 0;
	}
	if (!strcmp(c, "countdir") && argc == 3) { /* readdir entries other than . and .. */
		DIR *d = opendir(argv[2]);
		struct dirent *e;
		long n = 0;
		if (!d) return fail();
		errno = 0;
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				n++;
		if (errno) return fail();
		closedir(d);
		printf("%ld\n", n);
		return 0;
	}
	if (!strcmp(c, "fsx") && (argc == 6 || argc == 7))
		return fsx(argv[2], atol(argv[3]), strtoul(argv[4], NULL, 0), argv[5],
			   argc == 7 ? argv[6] : NULL);
	if (!strcmp(c, "utimens") && argc == 4) { /* atime = mtime = SEC.NSEC */
		struct timespec ts[2];
		char *dot;
		ts[0].tv_sec = strtoll(argv[3], &dot, 10);
		ts[0].tv_nsec = *dot == '.' ? strtol(dot + 1, NULL, 10) : 0;
		ts[1] = ts[0];
		return report(utimensat(AT_FDCWD, argv[2], ts, AT_SYMLINK_NOFOLLOW));
	}
	if ((!strcmp(c, "mmapwrite") && argc == 5) || (!strcmp(c, "mmapread") && argc == 5)) {
		/* shared mapping of the whole file; write STRING at OFF, or print LEN bytes at OFF */
		int w = c[4] == 'w';
		int fd = open(argv[2], w ? O_RDWR : O_RDONLY);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) return fail();
		size_t off = strtoull(argv[3], NULL, 0);
		size_t len = w ? strlen(argv[4]) : strtoull(argv[4], NULL, 0);
		size_t maplen = (off + len + 4095) & ~4095UL;
		char *m = mmap(NULL, maplen, w ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) return fail();
		if (w) {
			memcpy(m + off, argv[4], len);
			if (msync(m, maplen, MS_SYNC) < 0) return fail();
			printf("OK\n");
		} else {
			fwrite(m + off, 1, len, stdout);
			printf("\n");
		}
		munmap(m, maplen);
		close(fd);
		return 0;
	}
	if (!strcmp(c, "mmappasteof") && argc == 4) {
		/* store a byte past EOF inside the file's last page (must never reach the file) */
		int fd = open(argv[2], O_RDWR);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) return fail();
		size_t off = strtoull(argv[3], NULL, 0);
		size_t maplen = (st.st_size + 4095) & ~4095UL;
		if (off < (size_t)st.st_size || off >= maplen) { printf("offset not past EOF in the last page\n"); return 2; }
		char *m = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) return fail();
		m[off] = 'X';
		if (msync(m, maplen, MS_SYNC) < 0) return fail();
		munmap(m, maplen);
		close(fd);
		printf("OK\n");
		return 0;
	}
	if (!strcmp(c, "scribble") && argc == 7) {
		/* corrupt NBLOCKS pseudo-random 4 KiB blocks in [FIRST, LAST) of DEV:
		 * even picks get random garbage, odd picks one flipped byte */
		int fd = open(argv[2], O_RDWR);
		if (fd < 0) return fail();
		rng_state = strtoul(argv[3], NULL, 0);
		long n = atol(argv[4]);
		unsigned long long first = strtoull(argv[5], NULL, 0), last = strtoull(argv[6], NULL, 0);
		unsigned char blk[4096];
		for (long i = 0; i < n; i++) {
			unsigned long long b = first + ((unsigned long long)rnd() << 16 ^ rnd()) % (last - first);
			if (pread(fd, blk, sizeof blk, b * 4096) != (ssize_t)sizeof blk) return fail();
			if (i % 2 == 0)
				for (size_t j = 0; j < sizeof blk; j++) blk[j] = (unsigned char)rnd();
			else
				blk[rnd() % sizeof blk] ^= (unsigned char)(1 + rnd() % 255);
			if (pwrite(fd, blk, sizeof blk, b * 4096) != (ssize_t)sizeof blk) return fail();
			printf("%llu ", b);
		}
		fsync(fd);
		close(fd);
		printf("\n");
		return 0;
	}
	if (!strcmp(c, "delmod") && argc == 3)
		return report(syscall(SYS_delete_module, argv[2], O_NONBLOCK));
	if (!strcmp(c, "holdread") && argc == 3) {
		int fd = open(argv[2], O_RDONLY);
		if (fd < 0) return fail();
		if (unlink(argv[2]) < 0) return fail();
		char buf[4096];
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0) return fail();
		fwrite(buf, 1, n, stdout);
		close(fd);
		return 0;
	}
	if (!strcmp(c, "say") && argc == 3) { /* a line on stdout, returning once a tty transmitted it */
		printf("%s\n", argv[2]);
		tcdrain(1);
		return 0;
	}
	if (!strcmp(c, "genwrite") && (argc == 7 || (argc == 8 && !strcmp(argv[7], "fsync"))))
		return genwrite(argv[2], strtoul(argv[3], NULL, 0), strtoull(argv[4], NULL, 0),
				strtoull(argv[5], NULL, 0), strtoul(argv[6], NULL, 0), argc == 8);
	if (!strcmp(c, "gencheck") && argc == 4)
		return gencheck(argv[2], strtoul(argv[3], NULL, 0));
	return usage();
}
