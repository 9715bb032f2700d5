#!/usr/bin/env bash
# Installs everything VexFS needs to build and to run the VM tests, on Debian 12
# (root or sudo). Idempotent and quiet: apt-get update runs once, and only if a
# package is missing; prints nothing unless something fails.
#
# Debian: qemu-system-x86 qemu-utils busybox-static linux-image-amd64
#         linux-headers-amd64 cpio kmod e2fsprogs xfsprogs util-linux libclang-dev, plus gcc/make/libc6-dev
#         (libc.a: tests/vm builds a static helper), curl (rustup bootstrap) and
#         fuse3 (fusermount3 for vexfs-fuse as non-root; its tests mount /dev/fuse)
# rustup: target x86_64-unknown-none; components rust-src clippy rustfmt
set -euo pipefail

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
PKGS=(qemu-system-x86 qemu-utils busybox-static linux-image-amd64 linux-headers-amd64
	cpio kmod e2fsprogs xfsprogs util-linux libclang-dev gcc make libc6-dev gzip ca-certificates curl fuse3)
LOG=$(mktemp /tmp/install-deps.XXXXXX.log)
trap 'rm -f "$LOG"' EXIT
die() { echo "install-deps: $*" >&2; [ -s "$LOG" ] && tail -n 30 "$LOG" >&2; exit 1; }

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
# qemu-img must come from the same qemu as qemu-system-x86 (a newer backported
# qemu-utils "Breaks" bookworm's qemu-system-common, so pin it to that version).
if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq >"$LOG" 2>&1 || die "apt-get update failed"
	args=()
	for p in "${missing[@]}"; do
		if [ "$p" = qemu-utils ] || [ "$p" = qemu-system-x86 ]; then continue; fi
		args+=("$p")
	done
	qemu=()
	if printf '%s\n' "${missing[@]}" | grep -qx 'qemu-system-x86\|qemu-utils'; then
		v=$(apt-cache policy qemu-system-x86 | awk '/Candidate:/{print $2}')
		[ -n "$v" ] && [ "$v" != "(none)" ] || die "no qemu-system-x86 candidate in apt"
		qemu=(qemu-system-x86 "qemu-utils=$v")
	fi
	$SUDO apt-get install -y -qq --no-install-recommends --allow-downgrades "${qemu[@]}" "${args[@]}" >>"$LOG" 2>&1 ||
		die "apt-get install ${qemu[*]} ${args[*]} failed"
fi
# the kernel image and headers must match (the VM boots the newest installed kernel)
ls /boot/vmlinuz-* >/dev/null 2>&1 || die "no kernel image in /boot"
k=$(ls /boot/vmlinuz-* | sed 's|/boot/vmlinuz-||' | sort -V | tail -n1)
[ -d "/usr/src/linux-headers-$k" ] || [ -d "/lib/modules/$k/build" ] || die "headers for $k missing"

# Rust: rustup-managed toolchain (the repository's rust-toolchain file, if any, picks the version)
if ! command -v rustup >/dev/null 2>&1; then
	[ -x "$HOME/.cargo/bin/rustup" ] && export PATH=$HOME/.cargo/bin:$PATH
fi
if ! command -v rustup >/dev/null 2>&1; then
	curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal >"$LOG" 2>&1 || die "rustup install failed"
	export PATH=$HOME/.cargo/bin:$PATH
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
installed_targets=$(rustup target list --installed 2>/dev/null)
grep -qx x86_64-unknown-none <<<"$installed_targets" ||
	rustup target add x86_64-unknown-none >"$LOG" 2>&1 || die "rustup target add x86_64-unknown-none failed"
installed_components=$(rustup component list --installed 2>/dev/null)
need=()
for c in rust-src clippy rustfmt; do
	grep -q "^$c" <<<"$installed_components" || need+=("$c")
done
if [ ${#need[@]} -gt 0 ]; then
	rustup component add "${need[@]}" >"$LOG" 2>&1 || die "rustup component add ${need[*]} failed"
fi
exit 0
