#!/bin/bash
# A rough performance note for vexfs-fuse (not part of make test): the same
# small workloads on a vexfs-fuse mount and, as the reference, in a plain
# directory of the host filesystem that holds the image (the kernel's own
# filesystem on the same disk). Prints rates and the ratio fuse/host.
# env: PERF_DIR (default build/fuse-perf), PERF_MB (default 128), PERF_FILES (1000)
set -eu
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$ROOT/build/bin
W=${PERF_DIR:-$ROOT/build/fuse-perf}
MB=${PERF_MB:-128}
N=${PERF_FILES:-1000}
mkdir -p "$W/mnt" "$W/host"
rm -rf "$W/host/"* "$W/img"
truncate -s 1G "$W/img"
"$BIN/mkfs.vexfs" -q "$W/img"
up() {
	"$BIN/vexfs-fuse" "$W/img" "$W/mnt" </dev/null >/dev/null 2>"$W/err" &
	for _ in $(seq 100); do grep -q " $W/mnt fuse" /proc/mounts && return; sleep 0.05; done
	cat "$W/err"; exit 1
}
down() { umount "$W/mnt"; while pgrep -f "vexfs-fuse $W/img" >/dev/null; do sleep 0.05; done; }
# workload DIR: prints "seqwrite_MBs seqread_MBs create_s stat_s unlink_s"
workload() {
	python3 - "$1" "$MB" "$N" <<'PY'
import os, sys, time
d, mb, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
buf = b"\xab" * (1 << 20)
t = time.time()
fd = os.open(os.path.join(d, "big"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
for _ in range(mb):
    os.write(fd, buf)
os.fsync(fd); os.close(fd)
w = mb / (time.time() - t)
os.system("sync")
t = time.time()
fd = os.open(os.path.join(d, "big"), os.O_RDONLY)
while os.read(fd, 1 << 20):
    pass
os.close(fd)
r = mb / (time.time() - t)
os.mkdir(os.path.join(d, "m"))
t = time.time()
for i in range(n):
    os.close(os.open(os.path.join(d, "m", "f%d" % i), os.O_WRONLY | os.O_CREAT, 0o644))
c = n / (time.time() - t)
t = time.time()
for i in range(n):
    os.stat(os.path.join(d, "m", "f%d" % i))
s = n / (time.time() - t)
t = time.time()
for i in range(n):
    os.unlink(os.path.join(d, "m", "f%d" % i))
u = n / (time.time() - t)
print("%.1f %.1f %.0f %.0f %.0f" % (w, r, c, s, u))
PY
}
up
f=$(workload "$W/mnt")
down
h=$(workload "$W/host")
rm -rf "$W/host/"*
echo "workload: $MB MiB sequential write (1 MiB writes, fsync) and read, $N creates, stats, unlinks"
echo "host filesystem: $(stat -f -c %T "$W/host")"
paste <(printf '%s\n' "seq write MB/s" "seq read MB/s" "create/s" "stat/s" "unlink/s") \
	<(echo "$f" | tr ' ' '\n') <(echo "$h" | tr ' ' '\n') |
	awk -F'\t' 'BEGIN {printf "%-16s %12s %12s %8s\n", "", "vexfs-fuse", "host fs", "ratio"}
		{printf "%-16s %12s %12s %8.2f\n", $1, $2, $3, ($3 > 0 ? $2 / $3 : 0)}'
