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
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

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
		"  holdread PATH                 (open, unlink, read back, print content)\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	const char *c = argv[1];
	setvbuf(stdout, NULL, _IONBF, 0);

	if (!strcmp(c, "rename2") && argc == 5) {
		unsigned fl = 0;
		if (!strcmp(argv[2], "noreplace")) fl = RENAME_NOREPLACE;
		else if (!strcmp(argv[2], "exchange")) fl = RENAME_EXCHANGE;
		else if (strcmp(argv[2], "none")) return usage();
		return report(syscall(SYS_renameat2, AT_FDCWD, argv[3], AT_FDCWD, argv[4], fl));
	}
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
	return usage();
}
