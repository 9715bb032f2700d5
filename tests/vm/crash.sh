#!/usr/bin/env bash
# VexFS crash test: boots the VM on one persistent disk again and again and
# kills qemu (SIGKILL: a power cut) at a random moment of a workload. Every
# boot mounts the disk (replaying the journal), checks that each file the
# previous boots fsync'd is intact, that the file held open after unlink at
# the kill was freed, that no file holds garbage, and that fsck.vexfs -n is
# clean; then it runs the next workload (every third one on a nearly full
# disk). The last boot only checks. Details: tests/vm/README.md.
#
# usage: tests/vm/crash.sh [--rounds N] [--seed S] [--timeout SECS]
#        (also: tests/vm/run.sh --crash [same options])
#   --rounds N      boots (default 6, env CRASH_ROUNDS): N-1 are killed, the last only checks
#   --seed S        workload and kill-time seed (default random, env CRASH_SEED; printed)
#   --timeout S     wall-clock bound for one boot (default 240)
# env: CRASH_KILL_MIN / CRASH_KILL_MAX (kill this many seconds after the workload
#      started, uniformly; default 2 and 12), VM_OUT (default build/vm-crash),
#      and run.sh's KVER KERNEL_TREE VM_APPEND VEXFS_KO MKFS_VEXFS MKFS_VEXFS_ARGS VM_MEM VM_SMP
# output: PASS/FAIL lines, the kill times, how many fsync'd files were verified,
#      and as the last line "N passed, N failed"; exit 0 only if all passed.
#      Serial logs: $VM_OUT/serial-rN.log.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VM=$ROOT/tests/vm
OUT=${VM_OUT:-$ROOT/build/vm-crash}
MODE=crash
FILTER=
FSTYPE=vexfs
ROUNDS=${CRASH_ROUNDS:-6}
SEED=${CRASH_SEED:-$(((RANDOM << 15 | RANDOM) % 1000000 + 1))}
TIMEOUT=240
KILL_MIN=${CRASH_KILL_MIN:-2}
KILL_MAX=${CRASH_KILL_MAX:-12}
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=$2; shift ;;
	--rounds=*) ROUNDS=${1#*=} ;;
	--seed) SEED=$2; shift ;;
	--seed=*) SEED=${1#*=} ;;
	--timeout) TIMEOUT=$2; shift ;;
	--timeout=*) TIMEOUT=${1#*=} ;;
	-h|--help) sed -n "2,20p" "$0" | sed "s/^# \{0,1\}//"; exit 0 ;;
	*) echo "crash.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
case "$ROUNDS$SEED$KILL_MIN$KILL_MAX" in (*[!0-9]*) echo "crash.sh: --rounds, --seed and CRASH_KILL_MIN/MAX take whole numbers" >&2; exit 2 ;; esac
[ "$KILL_MAX" -ge "$KILL_MIN" ] || { echo "crash.sh: CRASH_KILL_MAX < CRASH_KILL_MIN" >&2; exit 2; }
[ "$ROUNDS" -ge 2 ] || { echo "crash.sh: --rounds must be at least 2" >&2; exit 2; }

# shellcheck source=tests/vm/common.sh
. "$VM/common.sh"
vm_inputs
vm_initramfs
for t in fsck.vexfs vexctl; do
	[ -x "$IR/usr/local/bin/$t" ] || harness_fail "$(dirname "$MKFS_VEXFS")/$t missing (run: make tools)"
done

# One disk for every boot, formatted on the host, with an 8-dimensional
# vector space. cache=writeback: the guest sees a volatile write cache, so
# the module's flushes are exercised, and qemu honours them (fdatasync).
# Killing qemu loses what it had not written yet; what it wrote is in the
# host's page cache and survives, as on a disk that had acknowledged it.
DISK=$OUT/crash.img
rm -f "$DISK" "$OUT"/serial-r*.log "$OUT"/qemu-r*.out
qemu-img create -q -f raw "$DISK" 256M
"$MKFS_VEXFS" -f -q --dim 8 --metric l2 ${MKFS_VEXFS_ARGS:-} "$DISK" >"$OUT/mkfs.out" 2>&1 ||
	{ cat "$OUT/mkfs.out"; harness_fail "mkfs.vexfs $DISK failed"; }

STATE=$OUT/fsynced.txt # PATH MD5 VECTOR PENDING, what the next boot verifies
: >"$STATE"
: >"$OUT/results.txt"
RANDOM=$SEED
result() { echo "$1" | tee -a "$OUT/results.txt"; }

# complete lines of a serial log, without the carriage returns
clean_log() {
	tr -d '\r' <"$1" >"$1.tmp"
	if [ -s "$1.tmp" ] && [ -n "$(tail -c 1 "$1.tmp")" ]; then
		sed -i '$d' "$1.tmp" # cut off mid-line by the kill
	fi
	mv "$1.tmp" "$1"
}

echo "crash: kernel $KVER, $ROUNDS boots, seed $SEED, kill ${KILL_MIN}-${KILL_MAX} s into the workload; logs $OUT/serial-r*.log"
t_start=$(date +%s)
kills=()
verified=0
expect_orphan=0
stopped=
for ((r = 1; r <= ROUNDS; r++)); do
	last=0
	[ "$r" -eq "$ROUNDS" ] && last=1
	# this boot's settings and the durable-file list go in a second cpio archive
	# appended to the initramfs (the later copy of /etc/vmtest.conf wins)
	rm -rf "$OUT/overlay"
	mkdir -p "$OUT/overlay/etc"
	cp "$IR/etc/vmtest.conf" "$OUT/overlay/etc/vmtest.conf"
	cat >>"$OUT/overlay/etc/vmtest.conf" <<EOF
WAIT_DISK=vda
ROUND=$r
LAST=$last
CRASH_SEED=$SEED
EXPECT_ORPHAN=$expect_orphan
EOF
	cp "$STATE" "$OUT/overlay/etc/crash.fsynced"
	(cd "$OUT/overlay" && find . | cpio -o -H newc --quiet) | gzip -1 >"$OUT/overlay.cpio.gz"
	cat "$OUT/initramfs.cpio.gz" "$OUT/overlay.cpio.gz" >"$OUT/boot.cpio.gz"

	LOG=$OUT/serial-r$r.log
	rm -f "$OUT/qemu.pid"
	# the disk as the kill left it (before this boot's replay): evidence if this round fails
	rm -f "$OUT"/crash-before-r*.img
	[ "$r" -gt 1 ] && cp --sparse=always "$DISK" "$OUT/crash-before-r$r.img"
	b0=$(date +%s.%N)
	set +e
	# shellcheck disable=SC2046
	vm_qemu "$TIMEOUT" "$OUT/boot.cpio.gz" "$LOG" "$OUT/qemu-r$r.out" \
		$(drive "$DISK" vx-crash writeback) -pidfile "$OUT/qemu.pid" 2>/dev/null &
	bg=$!
	killed=
	started=
	if [ "$last" = 0 ]; then
		# wait for the workload, then kill qemu at a random moment of it
		while kill -0 "$bg" 2>/dev/null; do
			if grep -q '^CRASH-WORKLOAD-STARTED' "$LOG" 2>/dev/null; then started=1; break; fi
			sleep 0.1
		done
		if [ -n "$started" ]; then
			ms=$(( (KILL_MIN * 1000) + ((RANDOM << 15 | RANDOM) % ((KILL_MAX - KILL_MIN) * 1000 + 1)) ))
			delay=$((ms / 1000)).$(printf %03d $((ms % 1000)))
			sleep "$delay"
			qpid=$(cat "$OUT/qemu.pid" 2>/dev/null)
			if [ -n "$qpid" ] && [ "$(cat "/proc/$qpid/comm" 2>/dev/null)" = qemu-system-x86 ]; then
				kill -KILL "$qpid" && killed=$delay
			fi
		fi
	fi
	wait "$bg"
	qrc=$?
	set -e
	secs=$(awk -v a="$b0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
	[ -f "$LOG" ] || { cat "$OUT/qemu-r$r.out"; harness_fail "round $r: no serial log"; }
	clean_log "$LOG"

	# ---------- judge this boot ----------
	# the guest's checks (verification before the workload; workload failures)
	grep -E '^(PASS|FAIL) ' "$LOG" | tee -a "$OUT/results.txt" || true
	# the boot itself
	if [ "$last" = 1 ]; then
		if grep -q '^VEXFS-VM-DONE' "$LOG" && [ "$qrc" = 0 ]; then
			result "PASS r$r-clean-poweroff"
		else
			[ "$qrc" = 124 ] && why="timed out after ${TIMEOUT}s" || why="crash or panic, qemu rc=$qrc"
			result "FAIL r$r-clean-poweroff: the last boot did not finish ($why)"
		fi
	elif [ -n "$killed" ]; then
		kills+=("$killed")
		result "PASS r$r-killed-mid-workload"
	elif [ -n "$started" ]; then
		result "FAIL r$r-killed-mid-workload: qemu exited by itself during the workload (rc=$qrc, ${secs}s: panic?)"
	elif [ "$qrc" = 124 ]; then
		result "FAIL r$r-killed-mid-workload: the guest never started the workload (timed out after ${TIMEOUT}s)"
	elif grep -q '^FAIL ' "$LOG" && grep -q '^VEXFS-VM-DONE' "$LOG"; then
		echo "  (r$r: no workload: the guest stopped after its failed checks)"
	else
		result "FAIL r$r-killed-mid-workload: the guest never started the workload (qemu rc=$qrc)"
	fi
	# kernel trouble: oopses, warnings, and vexfs errors/warnings on the console
	# (the console shows KERN_WARNING and worse; a rebuilt vector index is the
	# designed outcome of a kill while it was being stored)
	trouble=$(grep -E "$BAD" "$LOG" | head -n 5 || true)
	vx=$(grep -E 'vexfs \([^)]*\): ' "$LOG" | grep -vE '^  kmsg: |vector index.*rebuil|rebuilding vector index' | head -n 5 || true)
	if [ -n "$trouble$vx" ]; then
		result "FAIL r$r-kernel-log: $(printf '%s\n%s' "$trouble" "$vx" | grep . | head -n 3 | tr '\n' '|' | cut -c1-300)"
	else
		result "PASS r$r-kernel-log"
	fi
	if grep -q '^CRASH-WORKLOAD-ERROR' "$LOG"; then
		result "FAIL r$r-workload-errors: $(grep '^CRASH-WORKLOAD-ERROR' "$LOG" | head -n 3 | cut -d' ' -f2- | tr '\n' '|' | cut -c1-300)"
	elif [ "$last" = 0 ] && [ -n "$started" ]; then
		result "PASS r$r-workload-errors"
	fi

	# ---------- what the next boot must find ----------
	awk 'FILENAME == ARGV[1] { st[$1] = $2; vec[$1] = $3; pend[$1] = $4; next }
	     function md5ok(s) { return length(s) == 32 && s ~ /^[0-9a-f]+$/ }
	     $1 == "CRASH-FSYNCED" && NF == 4 && md5ok($3) { st[$2] = $3; vec[$2] = $4; pend[$2] = "-" }
	     $1 == "CRASH-PENDING" && NF == 3 && md5ok($3) {
		if (!($2 in st)) { st[$2] = "-"; vec[$2] = "-" }
		pend[$2] = $3
	     }
	     END { for (p in st) print p, st[p], vec[p], pend[p] }' "$STATE" "$LOG" | sort >"$STATE.new"
	mv "$STATE.new" "$STATE"
	nrec=$(grep -c '^CRASH-FSYNCED' "$LOG" || true)
	nver=$(sed -n 's/^CRASH-VERIFIED \([0-9]*\) .*/\1/p' "$LOG" | tail -n 1)
	verified=$((verified + ${nver:-0}))
	expect_orphan=0
	grep -q '^CRASH-ORPHAN-DURABLE' "$LOG" && expect_orphan=1
	info="r$r: ${secs}s boot; verified ${nver:-0} fsync'd files"
	if [ "$last" = 0 ]; then
		ops=$(awk '$1 == "CRASH-PROGRESS" && $3 ~ /^[0-9]+$/ { n[$2] = $3; e[$2] = $4 }
			END { for (w in n) { s += n[w]; f += e[w] }; printf "~%d operations, %d ENOSPC", s, f }' "$LOG")
		if [ -n "$started" ]; then info="$info; workload killed after ${killed:-?}s ($ops)"; else info="$info; no workload"; fi
		grep -q '^  nearly full:' "$LOG" && info="$info; nearly full disk"
		info="$info; $nrec fsync'd files recorded"
		[ "$expect_orphan" = 1 ] && info="$info; an unlinked file was held open"
	fi
	echo "  $info; $(wc -l <"$STATE") durable files known"
	grep -E '^  kmsg: .*vexfs.*(recovered|orphan|rebuil)' "$LOG" | sed 's/^  kmsg: /  r'"$r"' kernel: /' || true

	nf=$(grep -c '^FAIL ' "$OUT/results.txt" || true)
	if [ "$nf" -gt 0 ]; then
		echo "==== r$r failed: evidence from $LOG ===="
		grep -nE -A25 "$BAD" "$LOG" | head -n 60 || true
		grep -E '^  fsck: ' "$LOG" | head -n 40 || true
		echo "...."
		sed -n '/^=== CRASH ROUND/,$p' "$LOG" | grep -vE '^CRASH-(FSYNCED|PENDING|OP|PROGRESS) ' | tail -n 40
		# the workload's history of the files a failure names (by seed: a file
		# keeps its seed through renames and links; BAD records name the seed in hex)
		seeds=$(grep -E '^FAIL ' "$OUT/results.txt" | grep -oE '\.s[0-9]+|S[0-9a-f]{8}@' |
			while read -r x; do case $x in .s*) echo "${x#.s}" ;; S*) x=${x#S}; echo $((16#${x%@})) ;; esac; done | sort -u | head -n 8)
		for sd in $seeds; do
			echo "---- workload commands on files of seed $sd (serial-r*.log):"
			grep -hE "^CRASH-OP .*\.s$sd( |/|$)|^CRASH-OP .* $sd " "$OUT"/serial-r*.log | tail -n 25 || true
		done
		[ "$r" -gt 1 ] && echo "disk as the kill left it (before this boot's journal replay): $OUT/crash-before-r$r.img"
		[ "$r" -lt "$ROUNDS" ] && stopped="stopped after round $r of $ROUNDS (a failed round would only compound)"
		break
	fi
done

npass=$(grep -c '^PASS ' "$OUT/results.txt" || true)
nfail=$(grep -c '^FAIL ' "$OUT/results.txt" || true)
echo "----"
[ -n "$stopped" ] && echo "crash: $stopped"
echo "crash: seed $SEED; ${#kills[@]} kills at ${kills[*]:-none} s into the workload; $verified fsync'd file checks passed; $(( $(date +%s) - t_start )) s"
if [ "$nfail" -gt 0 ]; then
	echo "==== failures ===="
	grep -E '^FAIL ' "$OUT/results.txt"
fi
echo "$npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
