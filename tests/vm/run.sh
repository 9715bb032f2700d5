#!/usr/bin/env bash
# VexFS in-kernel test harness: boots the distribution kernel under qemu (TCG)
# with a busybox initramfs holding vexfs.ko, mkfs.vexfs and the guest test
# suite (tests/vm/cases/*.sh), then judges the serial log on the host.
#
# usage: tests/vm/run.sh [--demo|--bench] [--filter PATTERN] [--fstype vexfs|ext4] [--timeout SECS]
#        tests/vm/run.sh --crash [tests/vm/crash.sh options]
#   --demo          run tests/vm/demo.sh in the guest instead of the suite
#   --bench         run tests/vm/bench.sh (in-VM benchmarks) instead of the suite
#   --crash         the crash test instead (tests/vm/crash.sh: kill qemu mid-workload, replay, fsck)
#   --filter PAT    run only cases whose file name matches the egrep PATTERN
#   --fstype ext4   run the suite against ext4 (validates the cases themselves;
#                   needs neither vexfs.ko nor mkfs.vexfs)
#   --timeout S     wall-clock bound for qemu (default 900)
# env: KVER (kernel version; default: newest /boot/vmlinuz-* with /lib/modules),
#      KERNEL_TREE (boot DIR/arch/x86/boot/bzImage of a built kernel tree instead,
#      its drivers built in: the debug kernel of make test-vm-debug),
#      VM_APPEND (added to the kernel command line),
#      VEXFS_KO (default build/vexfs.ko), MKFS_VEXFS (default build/bin/mkfs.vexfs, from `make tools`),
#      MKFS_VEXFS_ARGS (extra mkfs.vexfs arguments), CASE_TIMEOUT (per case, default 240 s),
#      VM_MEM (default 1G), VM_SMP (default 2), VM_OUT (work dir, default build/vm;
#      give parallel runs different ones),
#      VM_IMAGE (an image prepared on the host, attached as serial vx-given and
#      changed in place: tests/fuse/interchange.sh, case 33-fuse-image)
# output: $VM_OUT/serial.log; last line "N passed, N failed"; exit 0 only if all passed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VM=$ROOT/tests/vm
OUT=${VM_OUT:-$ROOT/build/vm}
MODE=suite
FILTER=
FSTYPE=${FSTYPE:-vexfs}
TIMEOUT=900
while [ $# -gt 0 ]; do
	case "$1" in
	--crash) shift; exec bash "$VM/crash.sh" "$@" ;;
	--demo) MODE=demo ;;
	--bench) MODE=bench ;;
	--filter) FILTER=$2; shift ;;
	--filter=*) FILTER=${1#*=} ;;
	--fstype) FSTYPE=$2; shift ;;
	--fstype=*) FSTYPE=${1#*=} ;;
	--timeout) TIMEOUT=$2; shift ;;
	-h|--help) sed -n "2,22p" "$0" | sed "s/^# \{0,1\}//"; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

# shellcheck source=tests/vm/common.sh
. "$VM/common.sh"

# ---------- inputs ----------
vm_inputs

# ---------- initramfs ----------
vm_initramfs

# ---------- disks (fresh per run; qemu locks images, so never share them) ----------
rm -f "$OUT"/*.img
qemu-img create -q -f raw "$OUT/main.img" 512M
qemu-img create -q -f raw "$OUT/second.img" 256M
qemu-img create -q -f raw "$OUT/small.img" 32M
qemu-img create -q -f raw "$OUT/zero.img" 8M
truncate -s 16M "$OUT/ext4.img"
mkfs.ext4 -q -F -L vx-ref "$OUT/ext4.img"
# put a file on the reference ext4 image without mounting (debugfs)
echo "hello from the host" >"$OUT/hello.txt"
debugfs -w -R "write $OUT/hello.txt hello.txt" "$OUT/ext4.img" >/dev/null 2>&1 || true

# PCI order gives vda=small vdb=main vdc=second vdd=ext4 vde=zero (guest also maps by serial)
DRIVES="$(drive "$OUT/small.img" vx-small) $(drive "$OUT/main.img" vx-main) $(drive "$OUT/second.img" vx-second) $(drive "$OUT/ext4.img" vx-ext4) $(drive "$OUT/zero.img" vx-zero)"
if [ -n "${VM_IMAGE:-}" ]; then
	[ -f "$VM_IMAGE" ] || harness_fail "VM_IMAGE $VM_IMAGE is not a file"
	DRIVES="$DRIVES $(drive "$VM_IMAGE" vx-given writeback)"
fi

# ---------- boot ----------
LOG=$OUT/serial.log
rm -f "$LOG"
echo "vm: kernel $KVER, fstype $FSTYPE, mode $MODE${FILTER:+, filter '$FILTER'}; log $LOG"
start=$(date +%s)
set +e
# shellcheck disable=SC2086
vm_qemu "$TIMEOUT" "$OUT/initramfs.cpio.gz" "$LOG" "$OUT/qemu.out" $DRIVES
qrc=$?
set -e
echo "vm: qemu exited with $qrc after $(( $(date +%s) - start )) s"

# ---------- judge ----------
[ -f "$LOG" ] || { cat "$OUT/qemu.out"; harness_fail "no serial log"; }
tr -d '\r' <"$LOG" >"$LOG.tmp" && mv "$LOG.tmp" "$LOG"
if [ "$MODE" != suite ]; then
	sed -n '/VEXFS-VM-START/,$p' "$LOG"
fi
# results: the guest's final block if it got that far, else the running output
if grep -q '^=== RESULTS END' "$LOG"; then
	sed -n '/^=== RESULTS BEGIN/,/^=== RESULTS END/p' "$LOG" | grep -E '^(PASS|FAIL|SKIP) ' >"$OUT/results.txt" || true
else
	grep -E '^(PASS|FAIL|SKIP) ' "$LOG" >"$OUT/results.txt" || true
fi
npass=$(grep -cE '^PASS ' "$OUT/results.txt" || true)
nfail=$(grep -cE '^FAIL ' "$OUT/results.txt" || true)
problems=()
if ! grep -q '^VEXFS-VM-DONE' "$LOG"; then
	last=$(grep -E '^=== CASE ' "$LOG" | tail -n 1 | cut -d' ' -f3)
	[ "$qrc" = 124 ] && why="timed out after ${TIMEOUT}s" || why="crash or panic"
	problems+=("guest did not finish (no VEXFS-VM-DONE: $why, qemu rc=$qrc)${last:+ during case $last; later cases did not run}")
fi
if grep -qE "$BAD" "$LOG"; then
	problems+=("kernel log has: $(grep -oE "$BAD" "$LOG" | sort -u | tr '\n' ' ')")
fi
if [ "$MODE" != suite ]; then
	grep -q "^$MODE exit status 0" "$LOG" || problems+=("$MODE script failed")
fi

if [ "$MODE" = suite ]; then
	cat "$OUT/results.txt"
	echo "----"
fi
if [ "$nfail" -gt 0 ] || [ "${#problems[@]}" -gt 0 ]; then
	echo "==== failures ===="
	grep -E '^FAIL ' "$OUT/results.txt" || true
	for p in "${problems[@]}"; do echo "HARNESS: $p"; done
	if [ "${#problems[@]}" -gt 0 ]; then
		echo "==== serial log: kernel trouble and tail ($LOG) ===="
		grep -nE -A25 "$BAD" "$LOG" | head -n 80 || true
		echo "...."
		tail -n 40 "$LOG"
	fi
fi
[ "${#problems[@]}" -gt 0 ] && nfail=$((nfail + 1))
echo "$npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
