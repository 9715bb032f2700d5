#!/usr/bin/env bash
# Fails when a vexfs_rust_* function declared in the generated header
# (ffi/include/vexfs_core.h) is never called by tests/ffi/contract.c, or
# when a shim service declared in ffi/include/vexfs_shim.h (what the core
# imports) lacks a definition in the kernel shim (kmod/*.c) or in the
# userspace shim the contract tests link (tests/ffi/shim_user.c).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
header="${1:-$root/ffi/include/vexfs_core.h}"
tests="${2:-$here/contract.c}"

# Declarations: "<type> vexfs_rust_<name>(" (same rule as Kbuild's export list).
mapfile -t funcs < <(sed -n 's/^[A-Za-z_][A-Za-z0-9_ *]*[ *]\(vexfs_rust_[A-Za-z0-9_]*\) *(.*/\1/p' "$header" | sort -u)
if [ "${#funcs[@]}" -eq 0 ]; then
	echo "check_coverage: no vexfs_rust_* declarations found in $header" >&2
	exit 2
fi

# Calls: the name followed by "(" in the test source, comments stripped.
calls="$(sed -e 's://.*$::' "$tests" | perl -0pe 's:/\*.*?\*/::gs')"
missing=()
for f in "${funcs[@]}"; do
	if ! grep -Eq "(^|[^A-Za-z0-9_])$f[[:space:]]*\(" <<<"$calls"; then
		missing+=("$f")
	fi
done
if [ "${#missing[@]}" -ne 0 ]; then
	echo "check_coverage: FAIL: ${#missing[@]} of ${#funcs[@]} exported functions are not called in ${tests#$root/}:" >&2
	printf '  %s\n' "${missing[@]}" >&2
	exit 1
fi
echo "check_coverage: all ${#funcs[@]} vexfs_rust_* functions of ${header#$root/} are called in ${tests#$root/}"

# Shim services: "<type> vexfs_shim_<name>(" declarations, both implementations.
shim_header="$root/ffi/include/vexfs_shim.h"
mapfile -t services < <(sed -n 's/^[A-Za-z_][A-Za-z0-9_ *]*[ *]\(vexfs_shim_[A-Za-z0-9_]*\) *(.*/\1/p' "$shim_header" | sort -u)
if [ "${#services[@]}" -eq 0 ]; then
	echo "check_coverage: no vexfs_shim_* declarations found in $shim_header" >&2
	exit 2
fi
# A definition: the name at the start of a line's declarator, not static, followed by "(".
defined() { # NAME FILE...
	grep -Ehq "^[A-Za-z_][A-Za-z0-9_ *]*[ *]$1[[:space:]]*\(" "${@:2}" &&
		! grep -Ehq "^static[^;]*[ *]$1[[:space:]]*\(" "${@:2}"
}
missing=()
for f in "${services[@]}"; do
	defined "$f" "$root"/kmod/*.c || missing+=("$f (kernel: kmod/*.c)")
	defined "$f" "$here/shim_user.c" || missing+=("$f (userspace: tests/ffi/shim_user.c)")
done
if [ "${#missing[@]}" -ne 0 ]; then
	echo "check_coverage: FAIL: shim services declared in ${shim_header#$root/} without a definition:" >&2
	printf '  %s\n' "${missing[@]}" >&2
	exit 1
fi
echo "check_coverage: all ${#services[@]} vexfs_shim_* services of ${shim_header#$root/} are defined in kmod/ and tests/ffi/shim_user.c"
