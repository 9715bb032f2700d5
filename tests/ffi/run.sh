#!/usr/bin/env bash
# FFI contract tests: build the host staticlib (tests/ffi/lib) and mkfs.vexfs,
# compile the userspace shim and the C tests against the generated headers
# with ASan/UBSan, check every export is covered, run them.
# Usage: bash tests/ffi/run.sh   (from anywhere; exits non-zero on failure)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

CC="${CC:-gcc}"
target_dir="$(cargo metadata --format-version 1 --no-deps 2>/dev/null \
	| sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
target_dir="${target_dir:-$root/target}"
out="$target_dir/ffi-contract"
mkdir -p "$out"

echo "== coverage"
bash "$here/check_coverage.sh"

echo "== cargo build -p vexfs-ffi-host, -p vexfs-tools (release)"
cargo build -q -p vexfs-ffi-host
cargo build -q --release -p vexfs-tools
lib="$target_dir/debug/libvexfs_ffi_host.a"
mkfs="$target_dir/release/mkfs-vexfs"
[ -f "$lib" ] || { echo "run.sh: $lib was not built" >&2; exit 1; }
[ -x "$mkfs" ] || { echo "run.sh: $mkfs was not built" >&2; exit 1; }

echo "== $CC (ASan + UBSan)"
"$CC" -std=gnu11 -Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-I "$root/ffi/include" -I "$here" \
	"$here/shim_user.c" "$here/contract.c" "$lib" \
	-lpthread -ldl -lm -o "$out/contract"

echo "== contract"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
set +e
TMPDIR="${TMPDIR:-/tmp}" "$out/contract" "$mkfs" 2>"$out/contract.log" | tee "$out/contract.out"
rc=${PIPESTATUS[0]}
set -e
summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out/contract.out" | tail -1 || true)"
if [ "$rc" -ne 0 ] || [ -z "$summary" ]; then
	echo "--- stderr of the contract binary (last 40 lines; all in $out/contract.log):" >&2
	tail -n 40 "$out/contract.log" >&2
	if [ -z "$summary" ]; then
		echo "run.sh: the contract binary died (status $rc) before its summary" >&2
		summary="0 passed, 1 failed"
	fi
	grep '^FAIL ' "$out/contract.out" >&2 || true
	echo "$summary"
	exit 1
fi
echo "$summary"
