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
#include <fcntl.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/ioctl.h>
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
		else { fprintf(stderr, "bad flag %s\n", tok); exit(2); }
	}
	free(dup);
	return f | acc;
}

/* A small fsx: random writes, truncates, reads and reopen/fsync against a
 * model. File sizes stay below FSX_MAX so the model fits in memory. */
#define FSX_MAX (3u << 20)
static unsigned long long rng_state;
static unsigned rnd(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(rng_state >> 33);
}
static int fsx(const char *path, long nops, unsigned long seed, const char *modelout)
{
	unsigned char *model = calloc(FSX_MAX, 1), *buf = malloc(FSX_MAX);
	size_t size = 0;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	rng_state = seed;
	if (fd < 0 || !model || !buf) return fail();
	for (long op = 0; op < nops; op++) {
		unsigned kind = rnd() % 16;
		size_t off = rnd() % FSX_MAX, len;
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
		} else { /* reopen, sometimes after dropping the page cache */
			close(fd);
			if (rnd() % 4 == 0) { int d = open("/proc/sys/vm/drop_caches", O_WRONLY); sync(); if (d >= 0) { if (write(d, "3", 1) < 0) {} close(d); } }
			fd = open(path, O_RDWR);
			if (fd < 0) return fail();
		}
	}
	close(fd);
	int m = open(modelout, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (m < 0 || write(m, model, size) != (ssize_t)size || close(m) < 0) return fail();
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
		if (!strcmp(what + 6, "size-small")) u.q.size = sizeof u.q - 4;
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
		if (!strcmp(what + 5, "size-small")) u.i.size = sizeof u.i - 8;
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
	if (!strcmp(c, "vinfo") && argc == 3) {
		struct vexfs_ioc_info inf;
		int fd = open_any(argv[2], O_RDONLY);
		if (fd < 0) return fail();
		if (vinfo_fd(fd, &inf) < 0) return fail();
		printf("dim=%u metric=%u m=%u ef_construction=%u ef_search=%u count=%llu capacity=%llu index_bytes=%llu levels=%u\n",
		       inf.dim, inf.metric, inf.m, inf.ef_construction, inf.ef_search,
		       (unsigned long long)inf.count, (unsigned long long)inf.capacity,
		       (unsigned long long)inf.index_bytes, inf.levels);
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

static int usage(void)
{
	fprintf(stderr,
		"usage: vmhelper CMD ARGS\n"
		"  rename2 none|noreplace|exchange OLD NEW\n"
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
		"  fsx PATH NOPS SEED MODELOUT   (random pwrite/truncate/pread vs an in-memory model;\n"
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
		"vector ioctls (VEXFS_IOC_*; VEC is comma-separated floats, nan/inf allowed):\n"
		"  vset FILE VEC [OPENFLAGS] | vget FILE [OPENFLAGS] (prints VEC) | vdel FILE [OPENFLAGS]\n"
		"  vquery PATH K EF VEC [exact]  (one 'ino distance' line per hit, nearest first)\n"
		"  vinfo PATH                    (dim= metric= m= ef_construction= ef_search= count= ...)\n"
		"  vbatch ONPATH FILE[@OPENFLAGS]=VEC ...  (one BATCH_SET; prints done=N and per-file results)\n"
		"  vimport DIR FIRST N SEED      (create DIR/vNNNNN FIRST..FIRST+N-1, BATCH_SET generated vectors)\n"
		"  vgen DIM SEED I               (the vector vimport gives file I)\n"
		"  vprobe WHAT PATH              (raw bad requests: set-|get-{size-small,size-zero,size-big-zero,\n"
		"                                 size-big-nonzero,size-huge,newer-cmd,badptr,badarg,dim-huge,dim-max,dim-zero,\n"
		"                                 small-room,plain}, query-{size-small,size-big-zero,size-big-nonzero,\n"
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
		else if (strcmp(argv[2], "none")) return usage();
		return report(syscall(SYS_renameat2, AT_FDCWD, argv[3], AT_FDCWD, argv[4], fl));
	}
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
	if (!strcmp(c, "fsx") && argc == 6)
		return fsx(argv[2], atol(argv[3]), strtoul(argv[4], NULL, 0), argv[5]);
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
