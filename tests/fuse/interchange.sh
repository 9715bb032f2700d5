#!/bin/bash
# Images interchangeable between vexfs-fuse and the kernel module, both ways:
#  1. host: mkfs.vexfs, files + symlink + vectors written through vexfs-fuse,
#     a MANIFEST (path md5 vector), unmount, fsck.vexfs -n clean;
#  2. VM: the module mounts that image (VM_IMAGE, case 33-fuse-image), checks
#     the MANIFEST, changes files and vectors, unmounts, fsck clean;
#  3. host: vexfs-fuse reads the module's changes, unmount, fsck clean.
# Needs build/bin (make tools) and build/vexfs.ko (make kmod); the VM boot
# takes the shared VM lock itself. Prints PASS/FAIL/SKIP lines and, last,
# "N passed, N failed". env: INTERCHANGE_DIR (default build/interchange),
# INTERCHANGE_NO_VM=1 (host steps only).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$ROOT/build/bin
W=${INTERCHANGE_DIR:-$ROOT/build/interchange}
IMG=$W/shared.img
MNT=$W/mnt
PASS=0
FAIL=0
pass() { echo "PASS $1"; PASS=$((PASS + 1)); }
fail() { echo "FAIL $1: $2"; FAIL=$((FAIL + 1)); }
finish() { echo "$PASS passed, $FAIL failed"; [ "$FAIL" -eq 0 ]; exit; }

if [ ! -e /dev/fuse ]; then
	echo "SKIP interchange: no /dev/fuse"; finish
fi
if [ "$(id -u)" != 0 ] && ! command -v fusermount3 >/dev/null && ! command -v fusermount >/dev/null; then
	echo "SKIP interchange: not root and no fusermount3 (apt install fuse3)"; finish
fi
for b in vexfs-fuse mkfs.vexfs fsck.vexfs vexctl; do
	[ -x "$BIN/$b" ] || { fail setup "$BIN/$b missing (make tools)"; finish; }
done
export PATH=$BIN:$PATH
mkdir -p "$MNT"
umount "$MNT" 2>/dev/null
rm -f "$IMG"

PID=
fuse_up() { # start vexfs-fuse on $IMG, wait for the mount
	vexfs-fuse "$IMG" "$MNT" 2>"$W/fuse.err" &
	PID=$!
	for _ in $(seq 100); do
		grep -q " $MNT fuse" /proc/self/mounts && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "vexfs-fuse did not mount: $(cat "$W/fuse.err")"
	return 1
}
fuse_down() { # unmount, the daemon must exit 0, fsck -n clean
	umount "$MNT" || return 1
	wait "$PID" || { echo "vexfs-fuse exited $?: $(cat "$W/fuse.err")"; return 1; }
	fsck.vexfs -n "$IMG" >"$W/fsck.out" 2>&1 || { echo "fsck -n: $(grep -v '^Pass' "$W/fsck.out" | head -n 5)"; return 1; }
}
md5() { md5sum "$1" | cut -d' ' -f1; }

# ---- 1. written through vexfs-fuse
step1() {
	truncate -s 64M "$IMG" && mkfs.vexfs -q --dim 4 --metric l2 "$IMG" || return 1
	fuse_up || return 1
	mkdir -p "$MNT/docs" "$MNT/empty"
	echo "first file" >"$MNT/docs/one"
	head -c 300000 /dev/urandom >"$MNT/docs/two"
	printf 'three\n' >"$MNT/docs/three"
	ln -s one "$MNT/docs/link"
	mkfifo "$MNT/docs/fifo"
	vexctl set --vector 1,2,3,4 "$MNT/docs/one" &&
		vexctl set --vector 4,3,2,1 "$MNT/docs/two" &&
		vexctl set --vector 0.5,0.5,0.5,0.5 "$MNT/docs/three" || return 1
	: >"$MNT/MANIFEST"
	for p in docs/one docs/two docs/three; do
		echo "$p $(md5 "$MNT/$p") $(vexctl get "$MNT/$p")" >>"$MNT/MANIFEST"
	done
	md5 "$MNT/docs/one" >"$W/one.md5"
	cp "$MNT/docs/one" "$W/one.orig"
	fuse_down
}
if out=$(step1 2>&1); then pass fuse-writes-image; else fail fuse-writes-image "$out"; finish; fi

# ---- 2. the module in the VM
if [ "${INTERCHANGE_NO_VM:-}" = 1 ]; then
	echo "SKIP module-reads-and-changes-image: INTERCHANGE_NO_VM=1"
	finish
fi
VM_IMAGE=$IMG VM_OUT=$W/vm bash "$ROOT/tests/vm/run.sh" --filter '33-fuse-image' >"$W/vm.out" 2>&1
if grep -q '^PASS fuse_image_in_kernel' "$W/vm.out"; then
	pass module-reads-and-changes-image
else
	fail module-reads-and-changes-image "$(grep -E '^(FAIL|SKIP)|passed, ' "$W/vm.out" | head -n 5 | tr '\n' ' ')"
	finish
fi
grep -q '^PASS fixed_ioctls_in_kernel' "$W/vm.out" && pass module-fixed-ioctls ||
	fail module-fixed-ioctls "$(grep -E 'fixed_ioctls' "$W/vm.out" | head -n 2)"

# ---- 3. vexfs-fuse reads the module's changes
step3() {
	fuse_up || return 1
	r=0
	chk() { [ "$2" = "$3" ] || { echo "$1: got '$2', expected '$3'"; r=1; }; }
	chk "new file" "$(cat "$MNT/vm/new")" "written by the module"
	chk "its vector" "$(vexctl get "$MNT/vm/new")" "5,6,7,8"
	chk "appended" "$(tail -n 1 "$MNT/docs/one")" "appended in the vm"
	chk "kept prefix" "$(head -n 1 "$MNT/docs/one")" "$(cat "$W/one.orig")"
	vexctl get "$MNT/docs/two" >/dev/null 2>&1 && { echo "docs/two still has a vector"; r=1; }
	chk "renamed" "$(cat "$MNT/vm/three")" "three"
	chk "renamed keeps its vector" "$(vexctl get "$MNT/vm/three")" "0.5,0.5,0.5,0.5"
	chk "symlink" "$(readlink "$MNT/vm/link")" "../docs/one"
	chk "search" "$(vexctl search --vector 5,6,7,8 -k 1 "$MNT" | awk '{print $3}')" "$MNT/vm/new"
	fuse_down || r=1
	return $r
}
if out=$(step3 2>&1); then pass fuse-reads-module-changes; else fail fuse-reads-module-changes "$out"; fi
finish
