#!/usr/bin/env bash
# VexFS in-kernel test harness: boots the distribution kernel under qemu (TCG)
# with a busybox initramfs holding vexfs.ko, mkfs.vexfs and the guest test
# suite (tests/vm/cases/*.sh), then judges the serial log on the host.
#
# usage: tests/vm/run.sh [--demo|--bench] [--filter PATTERN] [--fstype vexfs|ext4] [--timeout SECS]
#   --demo          run tests/vm/demo.sh in the guest instead of the suite
#   --bench         run tests/vm/bench.sh (in-VM benchmarks) instead of the suite
#   --filter PAT    run only cases whose file name matches the egrep PATTERN
#   --fstype ext4   run the suite against ext4 (validates the cases themselves;
#                   needs neither vexfs.ko nor mkfs.vexfs)
#   --timeout S     wall-clock bound for qemu (default 900)
# env: KVER (kernel version; default: newest /boot/vmlinuz-* with /lib/modules),
#      VEXFS_KO (default build/vexfs.ko), MKFS_VEXFS (default build/bin/mkfs.vexfs, from `make tools`),
#      MKFS_VEXFS_ARGS (extra mkfs.vexfs arguments), CASE_TIMEOUT (per case, default 240 s),
#      VM_MEM (default 1G), VM_SMP (default 2), VM_OUT (work dir, default build/vm;
#      give parallel runs different ones)
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
	--demo) MODE=demo ;;
	--bench) MODE=bench ;;
	--filter) FILTER=$2; shift ;;
	--filter=*) FILTER=${1#*=} ;;
	--fstype) FSTYPE=$2; shift ;;
	--fstype=*) FSTYPE=${1#*=} ;;
	--timeout) TIMEOUT=$2; shift ;;
	-h|--help) sed -n "2,17p" "$0" | sed "s/^# \{0,1\}//"; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

harness_fail() {
	echo "HARNESS FAILURE: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

# ---------- inputs ----------
if [ -z "${KVER:-}" ]; then
	for k in $(ls /boot/vmlinuz-* 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V -r); do
		if [ -d "/lib/modules/$k/kernel" ]; then KVER=$k; break; fi
	done
fi
[ -n "${KVER:-}" ] || harness_fail "no /boot/vmlinuz-* with a matching /lib/modules (run scripts/install-deps.sh)"
KERNEL=/boot/vmlinuz-$KVER
[ -r "$KERNEL" ] || harness_fail "$KERNEL not readable"
for t in qemu-system-x86_64 qemu-img cpio modinfo modprobe gcc mkfs.ext4 timeout; do
	command -v "$t" >/dev/null || harness_fail "$t not found (run scripts/install-deps.sh)"
done
BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] && ! ldd "$BUSYBOX" >/dev/null 2>&1 || harness_fail "need a static busybox (apt-get install busybox-static)"

VEXFS_KO=${VEXFS_KO:-$ROOT/build/vexfs.ko}
MKFS_VEXFS=${MKFS_VEXFS:-$ROOT/build/bin/mkfs.vexfs}
if [ "$FSTYPE" = vexfs ]; then
	[ -f "$VEXFS_KO" ] || harness_fail "$VEXFS_KO missing (build the kernel module first)"
	[ -x "$MKFS_VEXFS" ] || harness_fail "$MKFS_VEXFS missing (run: make tools)"
	modv=$(modinfo -F vermagic "$VEXFS_KO" | awk '{print $1}')
	[ "$modv" = "$KVER" ] || harness_fail "$VEXFS_KO is built for '$modv', VM kernel is $KVER"
elif [ "$FSTYPE" != ext4 ]; then
	harness_fail "unknown --fstype $FSTYPE"
fi

# ---------- initramfs ----------
rm -rf "$OUT/initramfs"
mkdir -p "$OUT"
IR=$OUT/initramfs
mkdir -p "$IR"/{bin,sbin,etc,lib,lib64,proc,sys,dev,tmp,mnt,tests/cases}
cp "$BUSYBOX" "$IR/bin/busybox"
install -m755 "$VM/guest/init.sh" "$IR/init"
install -m644 "$VM/guest/lib.sh" "$IR/tests/lib.sh"
install -m644 "$VM/guest/suite.sh" "$IR/tests/suite.sh"
install -m644 "$VM/demo.sh" "$IR/tests/demo.sh"
install -m644 "$VM/bench.sh" "$IR/tests/bench.sh"
if [ -n "$(ls "$VM"/cases/*.sh 2>/dev/null)" ]; then
	install -m644 "$VM"/cases/*.sh "$IR/tests/cases/"
fi

# the errno/syscall helper, static
gcc -static -O2 -Wall -o "$OUT/vmhelper" "$VM/helpers/vmhelper.c" || harness_fail "building vmhelper failed"
install -D -m755 "$OUT/vmhelper" "$IR/usr/local/bin/vmhelper"

# copy a dynamically linked host binary plus the libraries ldd resolves
copy_dyn() { # SRC DEST-IN-INITRAMFS
	install -D -m755 "$1" "$IR/$2"
	ldd "$1" | grep -oE '/[^ ]+' | while read -r lib; do
		[ -e "$IR$lib" ] || install -D -m755 "$(readlink -f "$lib")" "$IR$lib"
	done
}
copy_dyn "$(command -v mke2fs)" usr/local/sbin/mkfs.ext4 # busybox has its own mke2fs applet
[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$IR/etc/"
FS_MODULE=
if [ "$FSTYPE" = vexfs ]; then
	# mkfs.vexfs is a glibc binary: ship it with its loader/libs (from ldd)
	# rather than require a musl target; works for static builds too.
	copy_dyn "$MKFS_VEXFS" usr/local/sbin/mkfs.vexfs
	# vexctl and the in-VM benchmark sit next to mkfs.vexfs when built.
	for t in vexctl vexfs-vmbench fsck.vexfs; do
		[ -x "$(dirname "$MKFS_VEXFS")/$t" ] && copy_dyn "$(dirname "$MKFS_VEXFS")/$t" usr/local/bin/$t
	done
	cp "$VEXFS_KO" "$IR/lib/vexfs.ko"
	FS_MODULE=/lib/vexfs.ko
fi

# kernel modules: virtio block over PCI, ext4 (reference mounts), resolved by modprobe
: >"$IR/etc/modules.list"
for m in virtio_pci virtio_blk ext4; do
	modprobe -S "$KVER" --show-depends "$m" || harness_fail "modprobe --show-depends $m failed"
done | awk '$1 == "insmod" {print $2}' | awk '!seen[$0]++' | while read -r ko; do
	install -D -m644 "$ko" "$IR$ko"
	echo "$ko" >>"$IR/etc/modules.list"
done
EXT4_KO=$(modinfo -k "$KVER" -n ext4)
case "$EXT4_KO" in (/*) ;; (*) EXT4_KO= ;; esac # built in
[ "$FSTYPE" = ext4 ] && FS_MODULE=$EXT4_KO
if [ "$FSTYPE" = ext4 ] && [ -n "$EXT4_KO" ]; then
	# in ext4 mode the module cases insmod/rmmod ext4 themselves
	grep -v "/ext4.ko" "$IR/etc/modules.list" >"$IR/etc/modules.list.new" || true
	mv "$IR/etc/modules.list.new" "$IR/etc/modules.list"
fi

cat >"$IR/etc/vmtest.conf" <<EOF
FSTYPE=$FSTYPE
MODE=$MODE
FILTER='$FILTER'
FS_MODULE=$FS_MODULE
KVER=$KVER
CASE_TIMEOUT=${CASE_TIMEOUT:-240}
MKFS_VEXFS_ARGS='${MKFS_VEXFS_ARGS:-}'
EOF
(cd "$IR" && find . | cpio -o -H newc --quiet) | gzip -1 >"$OUT/initramfs.cpio.gz"

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

drive() { # FILE SERIAL
	echo "-drive file=$1,format=raw,if=none,id=$2,cache=unsafe -device virtio-blk-pci,drive=$2,serial=$2"
}
# PCI order gives vda=small vdb=main vdc=second vdd=ext4 vde=zero (guest also maps by serial)
DRIVES="$(drive "$OUT/small.img" vx-small) $(drive "$OUT/main.img" vx-main) $(drive "$OUT/second.img" vx-second) $(drive "$OUT/ext4.img" vx-ext4) $(drive "$OUT/zero.img" vx-zero)"

# ---------- boot ----------
LOG=$OUT/serial.log
rm -f "$LOG"
echo "vm: kernel $KVER, fstype $FSTYPE, mode $MODE${FILTER:+, filter '$FILTER'}; log $LOG"
start=$(date +%s)
set +e
# shellcheck disable=SC2086
timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max \
	-m "${VM_MEM:-1G}" -smp "${VM_SMP:-2}" -nographic -no-reboot -monitor none \
	-kernel "$KERNEL" -initrd "$OUT/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 oops=panic loglevel=4 quiet" \
	$DRIVES -serial "file:$LOG" </dev/null >"$OUT/qemu.out" 2>&1
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
BAD='Oops|BUG:|WARNING:|Call Trace|general protection|Kernel panic|hung_task|blocked for more than|KASAN|UBSAN|refcount_t|list_add corruption|list_del corruption|kernel BUG|HARNESS:'
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
