#!/bin/bash
# Runs every VexFS test suite and ends with one line "N passed, N failed".
# Each suite's own counts are summed; a step that is a check (generated
# files, formatting, lint, build) counts as one test.
set -u
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
PASS=0
FAIL=0
LOGDIR=build/test-logs
mkdir -p "$LOGDIR"

check() { # name, command...
	local name=$1; shift
	echo "=== $name"
	if "$@" >"$LOGDIR/$name.log" 2>&1; then
		PASS=$((PASS + 1)); echo "PASS $name"
	else
		FAIL=$((FAIL + 1)); echo "FAIL $name"; tail -n 40 "$LOGDIR/$name.log"
	fi
}

# A suite that prints its own counts: cargo's "test result:" lines or a
# final "N passed, N failed" line.
suite() { # name, command...
	local name=$1; shift
	echo "=== $name"
	"$@" >"$LOGDIR/$name.log" 2>&1
	local rc=$?
	local p f
	if grep -q '^test result:' "$LOGDIR/$name.log"; then
		p=$(grep '^test result:' "$LOGDIR/$name.log" | awk '{for (i = 1; i < NF; i++) if ($(i + 1) == "passed;") s += $i} END {print s + 0}')
		f=$(grep '^test result:' "$LOGDIR/$name.log" | awk '{for (i = 1; i < NF; i++) if ($(i + 1) == "failed;") s += $i} END {print s + 0}')
	else
		p=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$LOGDIR/$name.log" | tail -1 | sed -E 's/^([0-9]+) passed.*/\1/')
		f=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$LOGDIR/$name.log" | tail -1 | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
	fi
	p=${p:-0}; f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # the suite failed without a counted failure (build error, crash, timeout)
	fi
	PASS=$((PASS + p)); FAIL=$((FAIL + f))
	echo "$name: $p passed, $f failed (exit $rc)"
	if [ "$rc" -ne 0 ]; then
		tail -n 60 "$LOGDIR/$name.log"
	fi
}

check generated-files-current make -s check-gen
check rustfmt bash -c 'cargo fmt --all -- --check && cargo fmt --manifest-path fuzz/Cargo.toml -- --check'
check clippy bash -c 'cargo clippy --workspace --all-targets -- -D warnings && cargo clippy -p vexfs-core --features std,ffi -- -D warnings && cargo clippy -p vexfs-core --features kernel --target x86_64-unknown-none -- -D warnings'
suite unit-and-property cargo test --workspace
# The cargo-fuzz targets (fuzz/, outside the workspace) type-check and are lint-clean;
# `make fuzz` runs them (the seeds and regressions run in cargo test above).
check fuzz-targets cargo clippy --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings
check build-tools make -s tools
suite ffi-contract bash tests/ffi/run.sh
check build-kmod make -s kmod
# vexfs-fuse and the module on one image, both ways (host, then the VM, then the host).
suite fuse-interchange bash tests/fuse/interchange.sh
# The VM case scripts that apply, on the host against vexfs-fuse (the rest SKIP with the reason).
suite fuse-cases bash tests/fuse/run-cases.sh
suite vm bash tests/vm/run.sh
# Power cuts: qemu killed mid-workload, then replay, fsck -n and fsync'd files checked.
suite vm-crash bash tests/vm/run.sh --crash
# The same guest cases against ext4: proves the cases themselves are right.
suite vm-ext4-reference env VM_OUT=build/vm-ext4 bash tests/vm/run.sh --fstype ext4

echo
echo "logs in $LOGDIR"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
