#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make test-vm-debug`: the VM tests on a debug kernel (KASAN, KFENCE,
# lockdep, DEBUG_ATOMIC_SLEEP, failslab, soft-lockup and hung-task detectors;
# tests/vm/debug-kernel.config). Builds that kernel (cached:
# scripts/build-debug-kernel.sh), vexfs.ko against it (build/debug/vexfs.ko,
# from the Rust libraries of the normal build), then runs the whole VM suite
# (its 30-failslab case runs only here), and the power-cut test. Any kernel
# report fails the run. Costs: tests/vm/README.md, "Debug kernel".
#
# env: DEBUG_VM_TIMEOUT  bound for the suite's boot (default 14400 s)
#      CASE_TIMEOUT      per case (default 2400 s)
#      DEBUG_CRASH_ROUNDS  power-cut boots (default 4)
#      DEBUG_VM_APPEND   kernel command line added for the debug boots
#      DEBUG_ONLY=suite|crash  run one part only; FILTER=PAT  suite cases
# output: each part's "N passed, N failed", then a summary; exit 0 only if
#      every part passed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

t0=$(date +%s)
TREE=$(sh scripts/build-debug-kernel.sh | tee /dev/stderr | tail -n 1) || exit 1
[ -f "$TREE/arch/x86/boot/bzImage" ] || { echo "test-vm-debug: no kernel from build-debug-kernel.sh" >&2; exit 1; }
t1=$(date +%s)
KERNEL_TREE=$TREE KMOD_OUT=build/debug sh scripts/build-kmod.sh || exit 1
t2=$(date +%s)

export KERNEL_TREE=$TREE
export VEXFS_KO=$ROOT/build/debug/vexfs.ko
export CASE_TIMEOUT=${CASE_TIMEOUT:-2400}
# no_timer_check: TCG on a loaded host may fail the IO-APIC timer check.
# tsc=reliable: under TCG the vCPUs' TSCs look unsynchronized and the
# clocksource watchdog sees skew whenever the host is busy; the kernel then
# falls back to the HPET (an emulated MMIO read per clock read, very slow
# with lockdep) and, with a TSC marked unstable that early, was seen to
# hang in boot. The lockup and hung-task detectors keep their defaults.
# slub_debug=A,vexfs_inode_cache: the inode cache may be picked out by
# failslab's cache-filter (6.1 sets the flag only at cache creation).
export VM_APPEND=${DEBUG_VM_APPEND:-no_timer_check tsc=reliable slub_debug=A,vexfs_inode_cache}

mkdir -p "$ROOT/build"
rc=0
summary=()
if [ "${DEBUG_ONLY:-suite}" = suite ]; then
	s0=$(date +%s)
	VM_OUT=$ROOT/build/vm-debug bash tests/vm/run.sh --timeout "${DEBUG_VM_TIMEOUT:-14400}" ${FILTER:+--filter "$FILTER"} |
		tee "$ROOT/build/vm-debug.out"
	r=${PIPESTATUS[0]}
	[ "$r" = 0 ] || rc=1
	summary+=("suite: $(tail -n 1 "$ROOT/build/vm-debug.out") in $(($(date +%s) - s0)) s")
fi
if [ "${DEBUG_ONLY:-crash}" = crash ]; then
	s0=$(date +%s)
	VM_OUT=$ROOT/build/vm-debug-crash bash tests/vm/run.sh --crash --rounds "${DEBUG_CRASH_ROUNDS:-4}" --timeout 1200 |
		tee "$ROOT/build/vm-debug-crash.out"
	r=${PIPESTATUS[0]}
	[ "$r" = 0 ] || rc=1
	summary+=("power cut: $(tail -n 1 "$ROOT/build/vm-debug-crash.out") in $(($(date +%s) - s0)) s")
fi
echo "==== test-vm-debug ($(cat "$TREE/include/config/kernel.release"))"
echo "kernel: $((t1 - t0)) s (cached: $TREE), module: $((t2 - t1)) s"
for l in "${summary[@]}"; do echo "$l"; done
[ "$rc" = 0 ] && echo "test-vm-debug: all passed" || echo "test-vm-debug: FAILED"
exit "$rc"
