# Allocation failures (failslab; the debug kernel of `make test-vm-debug`,
# SKIP on a kernel without /sys/kernel/debug/failslab). Slab allocations fail
# at random in the processes marked with /proc/PID/make-it-fail (task-filter),
# GFP_KERNEL/GFP_NOFS ones included (ignore-gfp-wait=N): every vexfs
# allocation made in a system call of those processes (the shim's kmalloc,
# the core's Vec/HashMap through it, the inode cache) and the VFS's own.
# Mount, create/write/rename/unlink, symlinks, fsync/syncfs, vector set,
# batch set and query run under it. Expected: errors (ENOMEM and the like),
# never a kernel report (judged on the host); afterwards the filesystem works,
# unmounts, fsck.vexfs -n is clean, and mounts again with the same content.
FSL=/sys/kernel/debug/failslab
fsl_available() {
	[ "$FSTYPE" = vexfs ] || { skip "failslab runs on vexfs only"; return 1; }
	[ -d $FSL ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	[ -d $FSL ] || { skip "no $FSL (kernel without CONFIG_FAILSLAB/FAULT_INJECTION_DEBUG_FS: make test-vm-debug)"; return 1; }
}
# fsl_on PERCENT [CACHE]: fail that share of the marked processes' slab
# allocations (with CACHE, only that cache's)
fsl_on() {
	echo 0 >$FSL/probability
	echo Y >$FSL/task-filter
	echo N >$FSL/ignore-gfp-wait
	echo 1 >$FSL/interval
	echo -1 >$FSL/times
	echo 0 >$FSL/space
	echo 1 >$FSL/verbose # one line per failure, no stack dump (ratelimited)
	if [ -n "${2:-}" ]; then
		# read-only in 6.1: set at cache creation by slub_debug=A,CACHE
		[ "$(cat /sys/kernel/slab/$2/failslab 2>/dev/null)" = 1 ] ||
			echo 1 >/sys/kernel/slab/$2/failslab 2>/dev/null ||
			{ note "/sys/kernel/slab/$2/failslab is not 1 (boot with slub_debug=A,$2)"; return 1; }
		echo Y >$FSL/cache-filter
	else
		echo N >$FSL/cache-filter
	fi
	echo "$1" >$FSL/probability
}
fsl_off() {
	echo 0 >$FSL/probability
	echo N >$FSL/cache-filter
	return 0
}
# inject CMD...: CMD runs marked (its allocations may fail); its output is
# dropped, its status returned
inject() { sh -c 'echo 1 >/proc/self/make-it-fail && exec "$@"' inject "$@" >/dev/null 2>&1; }
# injected: allocations failed since fsl_mark (counted in the kernel log,
# which the suite dumps after the case: never cleared here)
fsl_count() { dmesg | grep -c 'FAULT_INJECTION: forcing a failure'; }
fsl_mark() { FSL_BASE=$(fsl_count); }
injected() { echo $(($(fsl_count) - FSL_BASE)); }
V1=1,0,0,0,0,0,0,0

# mount and umount under failures: a failed mount leaves nothing behind
begin failslab.mount
if fsl_available; then
	load_fs && mkfs.vexfs -f -q $MKFS_VEXFS_ARGS --dim 8 --metric l2 "$DEV_SECOND" >/tmp/mkfs.out 2>&1 ||
		note "mkfs: $(tail -n 2 /tmp/mkfs.out)"
	fsl_mark
	ok=0 bad=0
	fsl_on 5
	for i in $(seq 40); do
		if inject mount -t vexfs "$DEV_SECOND" "$MNT2"; then
			ok=$((ok + 1))
			inject ls -l "$MNT2"
			umount "$MNT2" || { note "umount after mount $i failed"; break; }
		else
			bad=$((bad + 1))
			grep -q " $MNT2 " /proc/mounts && { note "mount $i failed but $MNT2 is mounted"; umount "$MNT2"; }
		fi
	done
	fsl_off
	n=$(injected)
	echo "  mount under failslab 5%: $ok mounted, $bad failed, $n allocations failed"
	[ "$n" -gt 0 ] || note "no allocation failed (failslab not effective)"
	mount_dev "$DEV_SECOND" "$MNT2" && umount_dir "$MNT2"
fi
end

# the workload under failures, three rates; then everything is checked
begin failslab.ops
if fsl_available && vfresh "$DEV_MAIN" "$MNT"; then
	mkdir -p "$MNT/keep" "$MNT/d" "$MNT/v"
	echo kept >"$MNT/keep/file"
	vmhelper vset "$MNT/keep/file" "$V1" >/dev/null
	sync
	fsl_mark
	aborts=$(dmesg | grep -c 'journal aborted')
	for p in 1 5 20; do
		fsl_on $p
		inject vmhelper churn files "$MNT/d" 2 "p$p"
		inject vmhelper churn symlinks "$MNT/d" 2 "p$p"
		inject vmhelper churn fsync "$MNT/d" 2 "p$p"
		inject vmhelper vimport "$MNT/v" $((p * 100)) 60 $p
		for i in $(seq 12); do
			inject mkdir "$MNT/d/dir$p-$i"
			inject sh -c "echo data$p-$i >$MNT/d/f$p-$i"
			inject mv "$MNT/d/f$p-$i" "$MNT/d/dir$p-$i/g"
			inject mv "$MNT/d/dir$p-$i" "$MNT/d/moved$p-$i"
			inject ln "$MNT/keep/file" "$MNT/d/link$p-$i"
			inject vmhelper vset "$MNT/d/moved$p-$i/g" "$i,$p,0,0,0,0,0,1"
			inject vmhelper vquery "$MNT" 5 16 "$i,0,0,0,0,0,0,0"
			inject vmhelper vquery "$MNT" 5 16 "$i,0,0,0,0,0,0,0" exact
			inject rm -rf "$MNT/d/moved$((p))-$((i - 1))" "$MNT/d/link$p-$((i - 1))"
		done
		inject sync
		fsl_off
		echo "  failslab $p%: $(injected) allocations failed so far"
	done
	fsl_off
	[ "$(injected)" -gt 0 ] || note "no allocation failed (failslab not effective)"
	# failed allocations roll operations back: they never abort the journal
	[ "$(dmesg | grep -c 'journal aborted')" = "$aborts" ] ||
		note "allocation failures aborted the journal: $(dmesg | grep 'journal aborted' | tail -n 1)"
	# the filesystem works as before: everything readable, new files, vectors
	find "$MNT" >/tmp/fsl.find 2>&1 || note "find: $(head -c 200 /tmp/fsl.find)"
	find "$MNT" -type f | while read -r f; do cat "$f" >/dev/null || echo "$f"; done >/tmp/fsl.unreadable 2>&1
	[ -s /tmp/fsl.unreadable ] && note "unreadable after the failures: $(head -c 200 /tmp/fsl.unreadable)"
	content "$MNT/keep/file" kept
	echo after >"$MNT/after" || note "cannot create a file after the failures"
	vmhelper vset "$MNT/after" "0,1,0,0,0,0,0,0" >/tmp/fsl.v 2>&1; eq "vset after" "$(cat /tmp/fsl.v)" OK
	eq "nearest after" "$(vmhelper vquery "$MNT" 1 16 "$V1" exact 2>&1 | awk '{print $1}')" "$(ino "$MNT/keep/file")"
	rm -rf "$MNT/d" || note "rm -rf after the failures failed"
	find "$MNT" | sort >/tmp/fsl.before
	cd /
	umount_dir "$MNT" # fsck.vexfs -n must be clean
	mount_dev "$DEV_MAIN" "$MNT" && {
		find "$MNT" | sort >/tmp/fsl.after2
		cmp -s /tmp/fsl.before /tmp/fsl.after2 || note "tree differs after remount"
		content "$MNT/keep/file" kept
		umount_dir "$MNT"
	}
fi
end

# only the inode cache fails: inode allocation in lookup, create, mkdir
begin failslab.inode_cache
if fsl_available && vfresh "$DEV_MAIN" "$MNT"; then
	for i in $(seq 30); do echo $i >"$MNT/f$i"; done
	mkdir "$MNT/sub"
	sync
	echo 3 >/proc/sys/vm/drop_caches # lookups allocate inodes again
	fsl_mark
	if fsl_on 30 vexfs_inode_cache; then
		for i in $(seq 30); do
			inject cat "$MNT/f$i"
			inject touch "$MNT/sub/n$i"
			inject mkdir "$MNT/sub/d$i"
			inject ln -s "f$i" "$MNT/sub/s$i"
		done
	fi
	fsl_off
	n=$(injected)
	echo "  vexfs_inode_cache failslab 30%: $n allocations failed"
	[ "$n" -gt 0 ] || note "no inode allocation failed"
	for i in $(seq 30); do content "$MNT/f$i" "$i" || break; done
	ls -l "$MNT/sub" >/dev/null || note "ls sub failed"
	cd /
	umount_dir "$MNT"
fi
end
