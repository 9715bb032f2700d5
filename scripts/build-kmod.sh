#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Build the VexFS kernel module: the Rust static library (kmod/rust, built
# with build-std for x86_64-unknown-none) and then the C shim through kbuild.
# Result: vexfs.ko at the repository root, copied to build/vexfs.ko.
#
# Environment:
#   KVER     kernel release to build for (default: newest /boot/vmlinuz-*
#            that has matching headers in /lib/modules/$KVER/build)
#   PROFILE  cargo profile for the Rust library: release (default) or dev
#   VEXFS_CORE_H  header with the Rust exports (default ffi/include/vexfs_core.h)
#   V=1      verbose kbuild output
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

die() {
	echo "build-kmod: $*" >&2
	exit 1
}

detect_kver() {
	for img in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -rV); do
		if [ -e "/lib/modules/$img/build/Makefile" ] &&
		   [ -d "/usr/src/linux-headers-$img" ]; then
			echo "$img"
			return 0
		fi
	done
	return 1
}

KVER=${KVER:-$(detect_kver)} ||
	die "no /boot/vmlinuz-* with matching headers" \
	    "(apt-get install linux-image-amd64 linux-headers-amd64)"
KDIR=/lib/modules/$KVER/build
[ -e "$KDIR/Makefile" ] || die "no kernel build tree at $KDIR"

PROFILE=${PROFILE:-release}
case $PROFILE in
release) PROFDIR=release ;;
dev) PROFDIR=debug ;;
*) die "PROFILE must be release or dev" ;;
esac

TARGET=x86_64-unknown-none
export CARGO_TARGET_DIR="$ROOT/target/kernel"
# Flags that make Rust code loadable in (and objtool-clean for) the kernel:
# kernel code model, no PLT/GOT, retpoline/return thunks like the C side.
# build-std is required: the prebuilt core/alloc for this target use GOTPCREL
# relocations that the module loader rejects ("Unknown rela relocation: 9").
export RUSTFLAGS="-C code-model=kernel -C relocation-model=static -Zplt=yes \
-Zretpoline-external-thunk -Zfunction-return=thunk-extern \
-Zindirect-branch-cs-prefix -C force-unwind-tables=no"
export RUSTC_BOOTSTRAP=1

echo "build-kmod: rust staticlib ($PROFILE, $TARGET)"
cargo build --manifest-path kmod/rust/Cargo.toml --profile "$PROFILE" \
	--target "$TARGET" -Zbuild-std=core,alloc

RUST_LIB="$CARGO_TARGET_DIR/$TARGET/$PROFDIR/libvexfs_kmod.a"
[ -f "$RUST_LIB" ] || die "cargo did not produce $RUST_LIB"

# The SIMD kernels: hard-float target (x86_64-unknown-none is soft-float and
# silently drops #[target_feature] SIMD), kernel code model, no red zone.
SIMD_TARGET=x86_64-unknown-linux-gnu
echo "build-kmod: simd staticlib ($PROFILE, $SIMD_TARGET)"
CARGO_TARGET_DIR="$ROOT/target/kernel-simd" \
RUSTFLAGS="$RUSTFLAGS -C no-redzone=yes -C panic=abort" \
cargo build --manifest-path kmod/simd/Cargo.toml --features kernel --lib \
	--profile "$PROFILE" --target "$SIMD_TARGET" -Zbuild-std=core
SIMD_LIB="$ROOT/target/kernel-simd/$SIMD_TARGET/$PROFDIR/libvexfs_simd.a"
[ -f "$SIMD_LIB" ] || die "cargo did not produce $SIMD_LIB"

echo "build-kmod: kbuild against $KVER"
make -j"$(nproc)" -C "$KDIR" M="$ROOT" VEXFS_RUST_LIB="$RUST_LIB" \
	VEXFS_SIMD_LIB="$SIMD_LIB" \
	${VEXFS_CORE_H:+VEXFS_CORE_H="$VEXFS_CORE_H"} ${V:+V=$V} modules

# every stack frame of the module (Rust and C) under the bound
sh scripts/check-stack.sh vexfs.ko

mkdir -p build
cp vexfs.ko build/vexfs.ko
echo "build-kmod: build/vexfs.ko ($KVER)"
