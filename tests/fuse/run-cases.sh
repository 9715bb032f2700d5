#!/bin/bash
# The VM case scripts (tests/vm/cases) on the host against vexfs-fuse: the
# guest's lib.sh with its filesystem helpers pointed at vexfs-fuse on image
# files (fresh/mount_dev/umount/remount/umount_dir), busybox applets first
# in PATH as in the guest, vmhelper built for the host. Cases that need the
# module itself (insmod, dmesg, the pointer ioctls that FUSE cannot pass,
# failslab, SIMD, damaged images judged by the kernel's messages) are
# reported SKIP with the reason. Last line "N passed, N failed".
# env: FUSE_CASES (egrep on case names, default: the ones that apply),
#      FUSE_CASES_DIR (work dir, default build/fuse-cases), CASE_TIMEOUT (240).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$ROOT/build/bin
W=${FUSE_CASES_DIR:-$ROOT/build/fuse-cases}
RUN=${FUSE_CASES:-'^(03-rw|04-dirs|05-unlink|06-rename|07-links|08-attrs|09-names|11-manyfiles|13-persist|14-unlinked-open|15-reuse|20-llseek|21-fragment|22-concurrency)$'}
: "${CASE_TIMEOUT:=240}"
declare -A WHY=(
	[01-module]="loads and unloads the kernel module"
	[02-mount]="mount(8) options and refusals of the module"
	[19-statfs]="sizes the device through /sys/block (an image file here)"
	[26-vexctl]="cross-checks vexctl against vmhelper's pointer ioctls and mounts the VM's ext4 disk"
	[10-enospc]="needs a 32 MiB block device and the module's ENOSPC paths under the page cache"
	[12-bigfile]="multi-GiB sparse files through the page cache: slow through FUSE's 128 KiB requests"
	[16-badfs]="refusals judged by the module's dmesg lines"
	[17-corrupt-sb]="refusals judged by the module's dmesg lines"
	[18-twofs]="two module mounts and ext4 side by side"
	[23-fsx]="mmap-heavy fsx run tuned for the module"
	[24-corrupt-meta]="corruption reports judged by the module's dmesg lines"
	[25-vector-files]="vmhelper's pointer ioctls (FUSE passes only the fixed-size ones)"
	[25-vector-ioctl]="vmhelper's pointer ioctls (FUSE passes only the fixed-size ones)"
	[25-vector-load]="vmhelper's pointer ioctls (FUSE passes only the fixed-size ones)"
	[27-simd]="the module's SIMD parameter"
	[28-commit-race]="the module's commit work against writeback"
	[29-ioctl-fuzz]="kernel oops/slab checks and the pointer ioctls"
	[30-failslab]="kernel fault injection"
	[31-query-paths]="vmhelper's pointer QUERY with paths"
	[32-vector-cache]="the module's vector cache and shrinker"
	[33-fuse-image]="the VM half of tests/fuse/interchange.sh"
)
PASS=0
FAIL=0
finish() { echo "$PASS passed, $FAIL failed"; [ "$FAIL" -eq 0 ]; exit; }
[ -e /dev/fuse ] || { echo "SKIP fuse-cases: no /dev/fuse"; finish; }
[ "$(id -u)" = 0 ] || { echo "SKIP fuse-cases: the cases run as root (chown, mknod, uid switches)"; finish; }
command -v busybox >/dev/null || { echo "SKIP fuse-cases: no busybox (apt install busybox-static)"; finish; }
for b in vexfs-fuse mkfs.vexfs fsck.vexfs vexctl; do
	[ -x "$BIN/$b" ] || { echo "FAIL fuse-cases.setup: $BIN/$b missing (make tools)"; FAIL=1; finish; }
done
mkdir -p "$W/bb" "$W/bin" "$W/mnt/a" "$W/mnt/b" "$W/mnt/c" "$W/pids"
gcc -O2 -Wall -I"$ROOT/ffi/include" -o "$W/bin/vmhelper" "$ROOT/tests/vm/helpers/vmhelper.c" ||
	{ echo "FAIL fuse-cases.setup: building vmhelper"; FAIL=1; finish; }
for a in $(busybox --list); do
	case "$a" in mount|umount|sh|ash) continue ;; esac
	ln -sf "$(command -v busybox)" "$W/bb/$a"
done
for i in main:512M second:256M small:32M; do
	rm -f "$W/${i%%:*}.img"
	truncate -s "${i#*:}" "$W/${i%%:*}.img"
done

cat >"$W/fuse-lib.sh" <<'LIB'
# sourced after tests/vm/guest/lib.sh: its helpers on vexfs-fuse
MNT=$W/mnt/a
MNT2=$W/mnt/b
DEV_MAIN=$W/main.img
DEV_SECOND=$W/second.img
DEV_SMALL=$W/small.img
DEV_EXT4=/dev/MISSING-vx-ext4
DEV_ZERO=/dev/MISSING-vx-zero
load_fs() { return 0; }
fs_module_loaded() { return 0; }
drop_caches() { sync; }
_pidf() { echo "$W/pids/$(echo "$1" | tr / _)"; }
mount_dev() {
	# the module's mount defaults: device nodes and setuid honoured
	_o="-o dev,suid"
	[ -n "${3:-}" ] && _o="$_o -o $3"
	# shellcheck disable=SC2086
	# not a job of the case's shell: its "wait" waits for its own jobs only
	(vexfs-fuse $_o "$1" "$2" </dev/null >/dev/null 2>>"$W/fuse.err" &
		echo $! >"$(_pidf "$2")")
	_i=0
	while [ $_i -lt 200 ]; do
		awk -v m="$2" '$2 == m {f = 1} END {exit !f}' /proc/mounts && return 0
		kill -0 "$(cat "$(_pidf "$2")")" 2>/dev/null || break
		sleep 0.05; _i=$((_i + 1))
	done
	note "vexfs-fuse $1 $2 did not mount: $(tail -n 2 "$W/fuse.err")"
	return 1
}
# umount [-l] MNT: and wait for the daemon, which unmounts the core
umount() {
	_m=
	for _a in "$@"; do _m=$_a; done
	command umount "$@" || return $?
	_pf=$(_pidf "$_m")
	[ -f "$_pf" ] || return 0
	_p=$(cat "$_pf"); rm -f "$_pf"
	_i=0
	while kill -0 "$_p" 2>/dev/null && [ $_i -lt 600 ]; do sleep 0.05; _i=$((_i + 1)); done
	return 0
}
umount_dir() {
	_udev=$(awk -v m="$1" '$2 == m && $3 ~ /^fuse/ {print $1}' /proc/mounts | tail -n 1)
	if ! umount "$1" >/tmp/umount.out 2>&1; then
		note "umount $1 failed: $(cat /tmp/umount.out)"
		return 1
	fi
	fsck_clean "$_udev"
}
remount() {
	_dev=${1:-$DEV_MAIN} _mnt=${2:-$MNT}
	cd /
	sync
	umount_dir "$_mnt" || return 1
	mount_dev "$_dev" "$_mnt"
}
LIB

export W PATH="$W/bb:$W/bin:$BIN:$PATH" FSTYPE=vexfs
for c in "$ROOT"/tests/vm/cases/*.sh; do
	name=${c##*/}; name=${name%.sh}
	if ! echo "$name" | grep -qE "$RUN"; then
		echo "SKIP $name: ${WHY[$name]:-not in the FUSE selection (FUSE_CASES)}"
		continue
	fi
	echo "=== CASE $name"
	out=$( (cd /; timeout "$CASE_TIMEOUT" busybox sh -c ". '$ROOT/tests/vm/guest/lib.sh'; . '$W/fuse-lib.sh'; . '$c'; end") 2>&1; echo "rc=$?")
	rc=${out##*rc=}
	echo "$out" | grep -E '^(PASS|FAIL|SKIP) '
	p=$(echo "$out" | grep -c '^PASS ')
	f=$(echo "$out" | grep -c '^FAIL ')
	if [ "$rc" != 0 ]; then echo "FAIL $name.script: exit $rc"; f=$((f + 1)); fi
	PASS=$((PASS + p)); FAIL=$((FAIL + f))
	for m in $(awk -v w="$W/mnt/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null || { echo "FAIL $name.umount: $m busy after the case"; FAIL=$((FAIL + 1)); umount -l "$m"; }
	done
	# every daemon has unmounted its core before the next case's mkfs
	for pf in "$W"/pids/*; do
		[ -f "$pf" ] || continue
		p=$(cat "$pf"); rm -f "$pf"
		for _ in $(seq 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
	done
done
finish
