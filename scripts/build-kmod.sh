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
#   KERNEL_TREE  build against this kernel tree instead (e.g. the debug kernel
#            of scripts/build-debug-kernel.sh); kbuild then runs in a shadow
#            source directory, $KMOD_OUT/kbuild, so that the objects of the two
#            builds never mix, and the result is $KMOD_OUT/vexfs.ko
#   KMOD_OUT output directory with KERNEL_TREE (default build/debug)
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

if [ -n "${KERNEL_TREE:-}" ]; then
	KDIR=$KERNEL_TREE
	[ -f "$KDIR/include/config/kernel.release" ] && [ -f "$KDIR/Module.symvers" ] ||
		die "$KDIR is not a built kernel tree (no kernel.release or Module.symvers)"
	KVER=$(cat "$KDIR/include/config/kernel.release")
else
	KVER=${KVER:-$(detect_kver)} ||
		die "no /boot/vmlinuz-* with matching headers" \
		    "(apt-get install linux-image-amd64 linux-headers-amd64)"
	KDIR=/lib/modules/$KVER/build
	[ -e "$KDIR/Makefile" ] || die "no kernel build tree at $KDIR"
fi

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
BASE_RUSTFLAGS=$RUSTFLAGS

# A kernel tree with generic KASAN: the Rust code is instrumented as well
# (rustc's kernel-address sanitizer, the kernel's shadow offset, inline
# checks, reports through the kernel's __asan_report_* and recovering like
# the C side), in a target directory of its own. Without it KASAN would see
# only the C shim's accesses; KFENCE covers both either way.
if [ -n "${KERNEL_TREE:-}" ] && grep -qx CONFIG_KASAN_GENERIC=y "$KDIR/.config"; then
	KASAN_OFF=$(sed -n 's/^CONFIG_KASAN_SHADOW_OFFSET=//p' "$KDIR/.config")
	[ -n "$KASAN_OFF" ] || die "$KDIR/.config: no CONFIG_KASAN_SHADOW_OFFSET"
	export CARGO_TARGET_DIR="$ROOT/target/kernel-kasan"
	RUSTFLAGS="$RUSTFLAGS -Zsanitizer=kernel-address -Zsanitizer-recover=kernel-address \
-Cllvm-args=-asan-mapping-offset=$KASAN_OFF \
-Cllvm-args=-asan-instrumentation-with-call-threshold=10000 \
-Cllvm-args=-asan-stack=1 -Cllvm-args=-asan-globals=0"
	echo "build-kmod: rust staticlib instrumented for KASAN (shadow offset $KASAN_OFF)"
fi

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
RUSTFLAGS="$BASE_RUSTFLAGS -C no-redzone=yes -C panic=abort" \
cargo build --manifest-path kmod/simd/Cargo.toml --features kernel --lib \
	--profile "$PROFILE" --target "$SIMD_TARGET" -Zbuild-std=core
SIMD_LIB="$ROOT/target/kernel-simd/$SIMD_TARGET/$PROFDIR/libvexfs_simd.a"
[ -f "$SIMD_LIB" ] || die "cargo did not produce $SIMD_LIB"

if [ -z "${KERNEL_TREE:-}" ]; then
	echo "build-kmod: kbuild against $KVER"
	make -j"$(nproc)" -C "$KDIR" M="$ROOT" VEXFS_RUST_LIB="$RUST_LIB" \
		VEXFS_SIMD_LIB="$SIMD_LIB" \
		${VEXFS_CORE_H:+VEXFS_CORE_H="$VEXFS_CORE_H"} ${V:+V=$V} modules

	# every stack frame of the module (Rust and C) under the bound
	sh scripts/check-stack.sh vexfs.ko

	mkdir -p build
	cp vexfs.ko build/vexfs.ko
	echo "build-kmod: build/vexfs.ko ($KVER)"
	exit 0
fi

# Against another kernel tree: kbuild writes its objects next to the sources
# (M=), so it gets a directory of its own whose sources are symlinks.
OUTD=${KMOD_OUT:-$ROOT/build/debug}
case $OUTD in /*) ;; *) OUTD=$ROOT/$OUTD ;; esac
SH=$OUTD/kbuild
mkdir -p "$SH/kmod/rust" "$SH/ffi"
ln -sfn "$ROOT/Kbuild" "$SH/Kbuild"
ln -sfn "$ROOT/ffi/include" "$SH/ffi/include"
ln -sfn "$ROOT/kmod/rust/vexfs_rust.lds" "$SH/kmod/rust/vexfs_rust.lds"
find "$SH/kmod" -maxdepth 1 -type l -delete
for f in "$ROOT"/kmod/*.c "$ROOT"/kmod/*.h; do
	ln -sfn "$f" "$SH/kmod/${f##*/}"
done
echo "build-kmod: kbuild against $KVER ($KDIR) in $SH"
make -j"$(nproc)" -C "$KDIR" M="$SH" VEXFS_RUST_LIB="$RUST_LIB" \
	VEXFS_SIMD_LIB="$SIMD_LIB" \
	VEXFS_CORE_H="${VEXFS_CORE_H:-$ROOT/ffi/include/vexfs_core.h}" ${V:+V=$V} modules

# KASAN (when the tree has it) pads the C shim's stack frames with redzones:
# the bound of the production build does not apply to that module; the Rust
# code is not instrumented, its frames are those of the production build.
if grep -qx CONFIG_KASAN=y "$KDIR/.config"; then
	STACK_FRAME_MAX=${STACK_FRAME_MAX_KASAN:-2048} sh scripts/check-stack.sh "$SH/vexfs.ko"
else
	sh scripts/check-stack.sh "$SH/vexfs.ko"
fi
cp "$SH/vexfs.ko" "$OUTD/vexfs.ko"
echo "build-kmod: $OUTD/vexfs.ko ($KVER)"
