# ioctl fuzzer (vmhelper ioctlfuzz): random VEXFS_IOC_* numbers, the same
# with other size and direction bits, random 0xF5 numbers, foreign read-only
# ioctls and random numbers, with NULL, kernel, unmapped, guard-page and
# read-only pointers and edge-valued structs (sizes, dims, k, ef, counts,
# NaN/Inf/huge floats), on files and directories of a tree opened in every
# mode, as root and as uid 1000 at once while a shell renames, unlinks,
# creates and re-vectors the tree under them. Never an oops or WARNING (the
# host judges the log), no documented error condition that succeeds, the
# filesystem still works and fsck finds nothing after, the inode slab cache
# is back at its starting count, and the module unloads.
# The seed changes daily (printed as "ioctlfuzz: seed N"); to replay a
# failure set FZ_SEED below to it (calls are a function of the seed, the
# tree is not: the mutator races them).
FZ_SEED=${FZ_SEED:-$(date +%Y%m%d)}
FZ_ROOT_CALLS=${FZ_ROOT_CALLS:-30000}
FZ_UID_CALLS=${FZ_UID_CALLS:-20000}

# in-use objects of slab cache $1, exact: shrinking flushes the per-CPU slabs
slab_objs() {
	[ -d "/sys/kernel/slab/$1" ] || { echo none; return; }
	echo 1 >"/sys/kernel/slab/$1/shrink" 2>/dev/null
	cut -d' ' -f1 "/sys/kernel/slab/$1/objects"
}
sunreclaim_kb() {
	for s in /sys/kernel/slab/*/shrink; do echo 1 >"$s" 2>/dev/null; done
	awk '$1 == "SUnreclaim:" {print $2}' /proc/meminfo
}
# the files' (and on vexfs their vectors') state changes all the time: the mutator
fz_mutator() {
	i=0
	while [ ! -e /tmp/fz.stop ]; do
		i=$((i + 1)); n=$((i % 12)); j=$((i % 200))
		printf 'm%d' "$i" >"$MNT/mut/f$n"
		vmhelper vset "$MNT/mut/f$n" "$(unit $i)" >/dev/null
		vmhelper rename "$MNT/mut/f$n" "$MNT/pub/m$n" >/dev/null
		vmhelper vdel "$MNT/pub/p$((i % 8))" >/dev/null
		vmhelper vset "$MNT/pub/p$((i % 8))" "$(unit $((i + 1000)))" >/dev/null
		mkdir -p "$MNT/mut/d$n/e" && rmdir "$MNT/mut/d$((n ^ 1))/e" "$MNT/mut/d$((n ^ 1))" 2>/dev/null
		vmhelper rename "$MNT/imp/v$j" "$MNT/deep/a/v$j" >/dev/null
		[ $((i % 3)) = 0 ] && vmhelper rename "$MNT/deep/a/v$j" "$MNT/imp/v$j" >/dev/null
		[ $((i % 5)) = 0 ] && vmhelper unlink "$MNT/pub/m$((n ^ 3))" >/dev/null
		[ $((i % 7)) = 0 ] && chmod $(((i % 2) ? 600 : 644)) "$MNT/pub/w$((i % 4))"
	done
	echo "$i" >/tmp/fz.mutations
}

begin ioctl_fuzz
if [ -n "$FS_MODULE" ] && ! fs_module_loaded; then load_fs; fi
case $FSTYPE in vexfs) CACHE=vexfs_inode_cache ;; *) CACHE=ext4_inode_cache ;; esac
drop_caches
inode0=$(slab_objs $CACHE)
su0=$(sunreclaim_kb)
if { [ "$FSTYPE" = vexfs ] && vfresh; } || { [ "$FSTYPE" != vexfs ] && fresh; }; then
	# the tree: readable, writable, foreign-owned and unreachable files for uid 1000
	mkdir -p "$MNT/pub" "$MNT/sec" "$MNT/own" "$MNT/mut" "$MNT/imp" "$MNT/deep/a/b/c"
	chmod 700 "$MNT/sec"
	chown 1000 "$MNT/own"
	for i in 0 1 2 3 4 5 6 7; do printf 'p%d' $i >"$MNT/pub/p$i"; printf 's%d' $i >"$MNT/sec/s$i"; done
	for i in 0 1 2 3; do
		printf 'w%d' $i >"$MNT/pub/w$i"; chmod 666 "$MNT/pub/w$i"
		printf 'o%d' $i >"$MNT/own/o$i"; chown 1000 "$MNT/own/o$i"
		printf 'f%d' $i >"$MNT/f$i"; chmod 600 "$MNT/f$i"
	done
	printf 'x' >"$MNT/deep/a/b/c/x"
	i=0; while [ $i -lt 200 ]; do printf 'v%05d' $i >"$MNT/imp/v$i"; i=$((i + 1)); done
	if [ "$FSTYPE" = vexfs ]; then
		eq "import" "$(vmhelper vimport $MNT/imp 0 200 29)" "done=200"
		for f in pub/p0 pub/p1 pub/p2 sec/s0 sec/s1 own/o0 f0 f1 deep/a/b/c/x; do
			vmhelper vset "$MNT/$f" "$(unit $(ino $MNT/$f))" >/dev/null || note "vset $f"
		done
	fi
	echo "  seed $FZ_SEED: $FZ_ROOT_CALLS calls as root, $FZ_UID_CALLS as uid 1000; $CACHE $inode0 objects, SUnreclaim $su0 kB"
	rm -f /tmp/fz.stop /tmp/fz.mutations
	t0=$(cut -d' ' -f1 /proc/uptime)
	fz_mutator >/tmp/fz.mut.out 2>&1 &
	mpid=$!
	vmhelper ioctlfuzz "$MNT" "$FZ_SEED" "$FZ_ROOT_CALLS" >/tmp/fz.root.out 2>&1 &
	rpid=$!
	# files uid 1000 may not see (0600 root files, sec/ is 0700; the mutator leaves them alone)
	hidden=$(for f in f0 f1 sec/s0 sec/s1; do ino "$MNT/$f"; done | tr '\n' , )
	IOCTLFUZZ_HIDDEN=$hidden vmhelper --uid 1000 ioctlfuzz "$MNT" "$((FZ_SEED + 1))" "$FZ_UID_CALLS" >/tmp/fz.uid.out 2>&1 &
	upid=$!
	# the fuzzers take 20-40 s under TCG; still running after 150 s: a hang
	t=0
	while [ $t -lt 300 ] && { kill -0 $rpid 2>/dev/null || kill -0 $upid 2>/dev/null; }; do
		sleep 0.5; t=$((t + 1))
	done
	if kill -0 $rpid 2>/dev/null || kill -0 $upid 2>/dev/null; then
		note "fuzzers still running after 150 s: hang"
		cat /tmp/fz.root.out /tmp/fz.uid.out | tail -n 20 | sed 's/^/  /'
		echo w >/proc/sysrq-trigger
		sleep 1
		dmesg | tail -n 120 | sed 's/^/  kmsg: /'
		end
		echo "HARNESS: 29-ioctl-fuzz hung; powering off (later cases cannot run)"
		poweroff -f -n
		sleep 30
	fi
	wait $rpid; rrc=$?
	wait $upid; urc=$?
	touch /tmp/fz.stop
	wait $mpid
	t1=$(cut -d' ' -f1 /proc/uptime)
	echo "  fuzzers done in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s; mutator: $(cat /tmp/fz.mutations 2>/dev/null) rounds"
	for w in root uid; do
		sed 's/^/  '$w': /' /tmp/fz.$w.out | grep -v ' call \| -> '
	done
	[ "$rrc" = 0 ] || note "root fuzzer exit $rrc: $(grep -m3 IOCTLFUZZ-BAD /tmp/fz.root.out)"
	[ "$urc" = 0 ] || note "uid 1000 fuzzer exit $urc: $(grep -m3 IOCTLFUZZ-BAD /tmp/fz.uid.out)"
	calls=$(cat /tmp/fz.root.out /tmp/fz.uid.out | awk '$1 == "ioctlfuzz:" && $4 == "calls" {n += $5} END {print n + 0}')
	eq "calls made" "$calls" $((FZ_ROOT_CALLS + FZ_UID_CALLS))

	# still a working filesystem
	cd /
	echo after >"$MNT/after" && content "$MNT/after" after
	if [ "$FSTYPE" = vexfs ]; then
		errno OK "set after the fuzz" vset "$MNT/after" 9,9,9,9,9,9,9,9
		eq "get after the fuzz" "$(vmhelper vget $MNT/after)" "9,9,9,9,9,9,9,9"
		eq "exact query finds it" "$(vmhelper vquery $MNT 1 0 9,9,9,9,9,9,9,9 exact)" "$(ino $MNT/after) 0"
		eq "HNSW query finds it" "$(vmhelper vquery $MNT 1 0 9,9,9,9,9,9,9,9)" "$(ino $MNT/after) 0"
		[ "$(vmhelper vquery $MNT 20 0 1,0,0,0,0,0,0,0 | wc -l)" = 20 ] || note "query k=20 gave fewer than 20 hits"
	fi
	remount # umount (fsck -n on vexfs), mount
	content "$MNT/after" after
	[ "$FSTYPE" = vexfs ] && eq "query after remount" "$(vmhelper vquery $MNT 1 0 9,9,9,9,9,9,9,9 exact)" "$(ino $MNT/after) 0"
	# the mutator moves imp/vN (no vector) between imp/ and deep/a/; vimport's imp/v0000N stay
	eq "v files in imp/ and deep/a/" "$(ls "$MNT/imp" "$MNT/deep/a" | grep -c '^v')" $([ "$FSTYPE" = vexfs ] && echo 400 || echo 200)
	umount_dir "$MNT"

	# no inode left behind, no unreclaimable slab growth (inodes are freed
	# after an RCU grace period: give the count a few seconds to settle)
	drop_caches
	inode1=$(slab_objs $CACHE)
	for _t in 1 2 3 4 5 6 7 8 9 10; do
		case $inode1$inode0 in *[!0-9]*) break ;; esac
		[ "$inode1" -le "$inode0" ] && break
		sleep 0.5; drop_caches
		inode1=$(slab_objs $CACHE)
	done
	su1=$(sunreclaim_kb)
	echo "  after: $CACHE $inode1 objects, SUnreclaim $su1 kB (before $su0 kB)"
	eq "$CACHE objects after umount" "$inode1" "$inode0"
	[ $((su1 - su0)) -le 2048 ] || note "SUnreclaim grew by $((su1 - su0)) kB"
	if [ -n "$FS_MODULE" ]; then
		errno OK "rmmod after the fuzz" delmod "$FSTYPE"
		ok "insmod again" insmod "$FS_MODULE"
	fi
fi
end
