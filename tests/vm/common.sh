# Host-side pieces shared by tests/vm/run.sh and tests/vm/crash.sh (sourced,
# bash). The caller sets ROOT, VM, OUT, FSTYPE, MODE and FILTER first.

harness_fail() {
	echo "HARNESS FAILURE: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

# Kernel, host tools, busybox, vexfs.ko and mkfs.vexfs. Sets KVER, KERNEL,
# KMODS (1: the guest loads virtio/ext4 modules from /lib/modules/$KVER),
# BUSYBOX, VEXFS_KO, MKFS_VEXFS.
# Default: the distribution kernel, /boot/vmlinuz-$KVER with its modules.
# KERNEL_TREE=DIR (a built kernel tree, e.g. scripts/build-debug-kernel.sh):
# DIR/arch/x86/boot/bzImage, KVER from DIR/include/config/kernel.release,
# and virtio-blk, virtio-pci and ext4 must be built in (no module copied).
vm_inputs() {
	KMODS=1
	if [ -n "${KERNEL_TREE:-}" ]; then
		KERNEL=$KERNEL_TREE/arch/x86/boot/bzImage
		[ -r "$KERNEL_TREE/include/config/kernel.release" ] || harness_fail "$KERNEL_TREE is not a built kernel tree"
		KVER=$(cat "$KERNEL_TREE/include/config/kernel.release")
		local opt
		for opt in CONFIG_VIRTIO_PCI CONFIG_VIRTIO_BLK CONFIG_EXT4_FS CONFIG_BLK_DEV_INITRD CONFIG_SERIAL_8250_CONSOLE; do
			grep -qx "$opt=y" "$KERNEL_TREE/.config" || harness_fail "$KERNEL_TREE: $opt is not built in (=y), the VM copies no modules from a kernel tree"
		done
		KMODS=
	fi
	if [ -z "${KVER:-}" ]; then
		for k in $(ls /boot/vmlinuz-* 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V -r); do
			if [ -d "/lib/modules/$k/kernel" ]; then KVER=$k; break; fi
		done
	fi
	[ -n "${KVER:-}" ] || harness_fail "no /boot/vmlinuz-* with a matching /lib/modules (run scripts/install-deps.sh)"
	if [ -n "$KMODS" ]; then KERNEL=/boot/vmlinuz-$KVER; fi
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
		local modv
		modv=$(modinfo -F vermagic "$VEXFS_KO" | awk '{print $1}')
		[ "$modv" = "$KVER" ] || harness_fail "$VEXFS_KO is built for '$modv', VM kernel is $KVER"
	elif [ "$FSTYPE" != ext4 ]; then
		harness_fail "unknown --fstype $FSTYPE"
	fi
}

# copy a dynamically linked host binary plus the libraries ldd resolves
copy_dyn() { # SRC DEST-IN-INITRAMFS
	install -D -m755 "$1" "$IR/$2"
	ldd "$1" | grep -oE '/[^ ]+' | while read -r lib; do
		[ -e "$IR$lib" ] || install -D -m755 "$(readlink -f "$lib")" "$IR$lib"
	done
}

# Builds $OUT/initramfs (IR) and $OUT/initramfs.cpio.gz.
vm_initramfs() {
	rm -rf "$OUT/initramfs"
	mkdir -p "$OUT"
	IR=$OUT/initramfs
	mkdir -p "$IR"/{bin,sbin,etc,lib,lib64,proc,sys,dev,tmp,mnt,tests/cases}
	cp "$BUSYBOX" "$IR/bin/busybox"
	install -m755 "$VM/guest/init.sh" "$IR/init"
	install -m644 "$VM/guest/lib.sh" "$IR/tests/lib.sh"
	install -m644 "$VM/guest/suite.sh" "$IR/tests/suite.sh"
	install -m644 "$VM/guest/crash.sh" "$IR/tests/crash.sh"
	install -m644 "$VM/demo.sh" "$IR/tests/demo.sh"
	install -m644 "$VM/bench.sh" "$IR/tests/bench.sh"
	if [ "$MODE" = demo ]; then # the demo's knowledge base (tests/vm/demo-data/make.py)
		mkdir -p "$IR/tests/demo-data"
		install -m644 "$VM"/demo-data/kb.tsv "$VM"/demo-data/kb.fvecs "$VM"/demo-data/queries.tsv \
			"$VM"/demo-data/queries.fvecs "$IR/tests/demo-data/"
	fi
	if [ -n "$(ls "$VM"/cases/*.sh 2>/dev/null)" ]; then
		install -m644 "$VM"/cases/*.sh "$IR/tests/cases/"
	fi

	# the errno/syscall helper, static
	gcc -static -O2 -Wall -o "$OUT/vmhelper" "$VM/helpers/vmhelper.c" || harness_fail "building vmhelper failed"
	install -D -m755 "$OUT/vmhelper" "$IR/usr/local/bin/vmhelper"

	copy_dyn "$(command -v mke2fs)" usr/local/sbin/mkfs.ext4 # busybox has its own mke2fs applet
	# real tools where busybox has none or a partial one (fallocate, FIEMAP,
	# file flags, FITRIM cases): xfs_io (xfsprogs), filefrag/chattr/lsattr
	# (e2fsprogs), fstrim (util-linux); a missing one makes its checks SKIP
	for t in xfs_io filefrag chattr lsattr fstrim; do
		p=$(PATH=$PATH:/usr/sbin:/sbin command -v $t) && copy_dyn "$p" usr/local/bin/$t
	done
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
	# (none with KERNEL_TREE: vm_inputs checked that they are built in)
	: >"$IR/etc/modules.list"
	EXT4_KO=
	if [ -n "$KMODS" ]; then
		for m in virtio_pci virtio_blk ext4; do
			modprobe -S "$KVER" --show-depends "$m" || harness_fail "modprobe --show-depends $m failed"
		done | awk '$1 == "insmod" {print $2}' | awk '!seen[$0]++' | while read -r ko; do
			install -D -m644 "$ko" "$IR$ko"
			echo "$ko" >>"$IR/etc/modules.list"
		done
		EXT4_KO=$(modinfo -k "$KVER" -n ext4)
		case "$EXT4_KO" in (/*) ;; (*) EXT4_KO= ;; esac # built in
	fi
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
BENCH_ONLY='${BENCH_ONLY:-}'
BENCH_DIR_N='${BENCH_DIR_N:-}'
EOF
	(cd "$IR" && find . | cpio -o -H newc --quiet) | gzip -1 >"$OUT/initramfs.cpio.gz"
}

drive() { # FILE SERIAL [CACHE (default unsafe)]
	echo "-drive file=$1,format=raw,if=none,id=$2,cache=${3:-unsafe} -device virtio-blk-pci,drive=$2,serial=$2"
}

# vm_qemu TIMEOUT INITRD LOG QEMU-OUT [more qemu arguments...]: one boot,
# serial console to LOG, bounded by timeout (exit status 124 on timeout).
vm_qemu() {
	local t=$1 initrd=$2 log=$3 qout=$4
	shift 4
	# one guest at a time on this machine (2 cores): concurrent runs queue here
	flock "${VM_LOCK:-/tmp/vexfs-vm.lock}" timeout --foreground -k 10 "$t" qemu-system-x86_64 -accel tcg -cpu max \
		-m "${VM_MEM:-1G}" -smp "${VM_SMP:-2}" -nographic -no-reboot -monitor none \
		-kernel "$KERNEL" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 oops=panic loglevel=4 quiet${VM_APPEND:+ $VM_APPEND}" \
		"$@" -serial "file:$log" </dev/null >"$qout" 2>&1
}

# Kernel trouble in a serial log (the run fails if any matches). Most reports
# of the debug kernel (tests/vm/README.md, "Debug kernel") start with BUG: or
# WARNING:; the lockdep, KFENCE, sleep-in-atomic, lockup and stall reports are
# named as well, so that a report printed without that prefix still counts.
BAD='Oops|BUG:|WARNING:|Call Trace|general protection|Kernel panic|hung_task|blocked for more than|KASAN|UBSAN|refcount_t|list_add corruption|list_del corruption|kernel BUG|Busy inodes|still has objects|HARNESS:'
BAD="$BAD|possible circular locking dependency|possible recursive locking|inconsistent lock state|lock held when returning|suspicious RCU usage|KFENCE: |sleeping function called from invalid context|INFO: task .* blocked|soft lockup|hard LOCKUP|rcu_.* detected stalls|self-detected stall|Memory leak|unreferenced object"
