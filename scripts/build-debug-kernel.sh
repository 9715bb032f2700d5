#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Build the debug kernel of `make test-vm-debug` from Debian's linux-source-6.1:
# x86_64_defconfig + tests/vm/debug-kernel.config (KASAN, KFENCE, lockdep,
# DEBUG_ATOMIC_SLEEP, failslab, soft-lockup and hung-task detectors; virtio,
# ext4 and fuse built in). The build is cached outside the work tree, keyed by
# the fragment, the source package version and the compiler: a second run
# with the same key does nothing but print where the kernel is.
#
# usage: scripts/build-debug-kernel.sh [--print-dir]
#   --print-dir   only print the build tree (empty + exit 1 if not built yet)
# env: DEBUG_KERNEL_CACHE  cache root (default /var/cache/vexfs/debug-kernel)
#      DEBUG_KERNEL_CONFIG fragment (default tests/vm/debug-kernel.config)
#      JOBS                make -j (default nproc)
# output: the last line is the kernel tree: TREE/arch/x86/boot/bzImage is the
#      kernel, TREE/include/config/kernel.release its release, and external
#      modules build with `make -C TREE M=...`.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${DEBUG_KERNEL_CACHE:-/var/cache/vexfs/debug-kernel}
FRAG=${DEBUG_KERNEL_CONFIG:-$ROOT/tests/vm/debug-kernel.config}
JOBS=${JOBS:-$(nproc)}
PRINT_ONLY=
[ "${1:-}" = --print-dir ] && PRINT_ONLY=1

die() {
	echo "build-debug-kernel: $*" >&2
	exit 1
}
[ -f "$FRAG" ] || die "config fragment $FRAG not found"

# build dependencies, installed only when missing
need=
for p in linux-source-6.1 bc flex bison libelf-dev libssl-dev dwarves; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need="$need $p"
done
if [ -n "$need" ]; then
	[ -z "$PRINT_ONLY" ] || { echo; exit 1; }
	echo "build-debug-kernel: apt-get install$need"
	apt-get install -y -q $need >/dev/null ||
		{ apt-get update -q >/dev/null && apt-get install -y -q $need >/dev/null; } ||
		die "apt-get install$need failed"
fi
SRCVER=$(dpkg-query -W -f='${Version}' linux-source-6.1)
TARBALL=/usr/src/linux-source-6.1.tar.xz
[ -f "$TARBALL" ] || die "$TARBALL missing (linux-source-6.1 $SRCVER)"

KEY=$( { echo "linux-source-6.1 $SRCVER"; gcc --version | head -n 1; cat "$FRAG"; } |
	sha256sum | cut -c1-16)
DIR=$CACHE/$KEY
TREE=$DIR/linux-source-6.1
if [ -f "$DIR/done" ]; then
	[ -n "$PRINT_ONLY" ] || echo "build-debug-kernel: cached ($DIR), $(cat "$TREE/include/config/kernel.release")"
	echo "$TREE"
	exit 0
fi
[ -z "$PRINT_ONLY" ] || { echo; exit 1; }

echo "build-debug-kernel: building in $DIR (linux-source-6.1 $SRCVER, key $KEY)"
start=$(date +%s)
rm -rf "$DIR"
mkdir -p "$DIR"
tar -C "$DIR" -xf "$TARBALL"
[ -f "$TREE/Makefile" ] || die "$TARBALL did not unpack to $TREE"
cp "$FRAG" "$DIR/fragment.config"

cd "$TREE"
make -s x86_64_defconfig
scripts/kconfig/merge_config.sh -m .config "$DIR/fragment.config" >"$DIR/merge.log" 2>&1 ||
	{ cat "$DIR/merge.log"; die "merge_config.sh failed"; }
make -s olddefconfig

# every option the fragment asks for must be in the final config: kconfig
# silently drops what a dependency rules out
bad=
for opt in $(sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=.*/\1/p' "$DIR/fragment.config"); do
	want=$(grep "^$opt=" "$DIR/fragment.config")
	grep -qx "$want" .config || bad="$bad $want(got: $(grep -E "^$opt=|^# $opt is not set" .config || echo absent))"
done
for opt in $(sed -n 's/^# \(CONFIG_[A-Z0-9_]*\) is not set$/\1/p' "$DIR/fragment.config"); do
	! grep -q "^$opt=" .config || bad="$bad $opt-unset(got: $(grep "^$opt=" .config))"
done
[ -z "$bad" ] || die "options not in the final .config:$bad"

echo "build-debug-kernel: make -j$JOBS bzImage modules ($(nproc) CPUs; tens of minutes)"
make -j"$JOBS" bzImage modules >"$DIR/build.log" 2>&1 ||
	{ tail -n 40 "$DIR/build.log"; die "kernel build failed (log: $DIR/build.log)"; }
[ -f arch/x86/boot/bzImage ] && [ -f Module.symvers ] || die "no bzImage or Module.symvers after the build"
# the VM loads no module but vexfs.ko: everything it needs is built in
if [ -s modules.order ]; then
	echo "build-debug-kernel: note: modules built (not used by the VM):" $(wc -l <modules.order)
fi
end=$(date +%s)
echo "$((end - start))" >"$DIR/build-seconds"
touch "$DIR/done"
echo "build-debug-kernel: built $(cat include/config/kernel.release) in $((end - start)) s"
echo "build-debug-kernel: kernel $TREE/arch/x86/boot/bzImage"
echo "$TREE"
