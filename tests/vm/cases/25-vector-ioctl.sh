# Vector ioctls (ffi/include/vexfs_uapi.h) through vmhelper: SET/GET/DEL/QUERY/
# BATCH_SET/INFO, every error they document, and subtree queries.
# (vector helpers: vexfs_only, vfresh, vinfo_field, vcount, ino, unit are in lib.sh)

begin vector_set_get_del
if vexfs_only && vfresh; then
	eq "info" "$(vmhelper vinfo $MNT | cut -d' ' -f1,2,6)" "dim=8 metric=1 count=0"
	[ "$(vinfo_field capacity $MNT)" -ge 1000 ] || note "capacity $(vinfo_field capacity $MNT) < 1000"
	echo data >"$MNT/f"
	errno ENODATA "get without vector" vget "$MNT/f"
	errno ENODATA "del without vector" vdel "$MNT/f"
	c0=$(st %Z "$MNT/f"); m0=$(st %Y "$MNT/f")
	sleep 1
	errno OK "set" vset "$MNT/f" 1,2,3,4,5,6,7,8
	eq "get" "$(vmhelper vget $MNT/f)" "1,2,3,4,5,6,7,8"
	eq "count after set" "$(vcount)" 1
	[ "$(st %Z $MNT/f)" -gt "$c0" ] || note "set did not update ctime"
	eq "set leaves mtime" "$(st %Y $MNT/f)" "$m0"
	content "$MNT/f" data
	errno OK "overwrite" vset "$MNT/f" -1.5,0.25,3e3,-4e-3,0,0,1e-30,8
	eq "get after overwrite" "$(vmhelper vget $MNT/f)" "-1.5,0.25,3000,-0.00400000019,0,0,1e-30,8"
	eq "count after overwrite" "$(vcount)" 1
	eq "get with O_RDWR" "$(vmhelper vget $MNT/f rdwr)" "-1.5,0.25,3000,-0.00400000019,0,0,1e-30,8"
	eq "query itself" "$(vmhelper vquery $MNT 1 0 -1.5,0.25,3e3,-4e-3,0,0,1e-30,8)" "$(ino $MNT/f) 0"
	c0=$(st %Z "$MNT/f")
	sleep 1
	errno OK "del" vdel "$MNT/f"
	[ "$(st %Z $MNT/f)" -gt "$c0" ] || note "del did not update ctime"
	errno ENODATA "get after del" vget "$MNT/f"
	errno ENODATA "del twice" vdel "$MNT/f"
	eq "count after del" "$(vcount)" 0
	eq "query empty fs" "$(vmhelper vquery $MNT 5 0 1,2,3,4,5,6,7,8)" ""
	errno OK "set again" vset "$MNT/f" 8,7,6,5,4,3,2,1
	eq "get again" "$(vmhelper vget $MNT/f)" "8,7,6,5,4,3,2,1"
	content "$MNT/f" data
	# directories have no vectors
	mkdir "$MNT/d"
	errno EISDIR "get on a directory" vget "$MNT/d"
	errno EISDIR "del on a directory" vdel "$MNT/d"
	errno EISDIR "set on a directory (open)" vset "$MNT/d" 1,2,3,4,5,6,7,8
	# special files never reach the filesystem's ioctl
	mkfifo "$MNT/fifo"
	errno ENOTTY "ioctl on a fifo" vget "$MNT/fifo" rdwr
fi
end

begin vector_ioctl_errors
if vexfs_only && vfresh; then
	echo x >"$MNT/f"; echo y >"$MNT/g"
	errno OK "set g" vset "$MNT/g" 1,1,1,1,1,1,1,1
	# dimension, NaN/Inf
	errno EMSGSIZE "dim 3" vset "$MNT/f" 1,2,3
	errno EMSGSIZE "dim 9" vset "$MNT/f" 1,2,3,4,5,6,7,8,9
	errno EMSGSIZE "dim 7 over an existing vector" vset "$MNT/g" 1,2,3,4,5,6,7
	errno EDOM "NaN" vset "$MNT/f" 1,nan,3,4,5,6,7,8
	errno EDOM "+Inf" vset "$MNT/f" inf,2,3,4,5,6,7,8
	errno EDOM "-Inf over an existing vector" vset "$MNT/g" 1,2,3,4,5,6,7,-inf
	errno EDOM "overflowing literal (inf)" vset "$MNT/f" 1,2,3,4,5,6,7,1e39
	# open modes
	errno EBADF "set on O_RDONLY" vset "$MNT/f" 1,2,3,4,5,6,7,8 rdonly
	errno EBADF "del on O_RDONLY" vdel "$MNT/g" rdonly
	errno EACCES "get on O_WRONLY" vget "$MNT/g" wronly
	# size fields
	errno EINVAL "set size small" vprobe set-size-small "$MNT/f"
	errno EINVAL "set size 0" vprobe set-size-zero "$MNT/f"
	errno E2BIG "set size big, nonzero tail" vprobe set-size-big-nonzero "$MNT/f"
	errno E2BIG "set size huge" vprobe set-size-huge "$MNT/f"
	errno EFAULT "set bad data pointer" vprobe set-badptr "$MNT/f"
	errno EFAULT "set bad struct pointer" vprobe set-badarg "$MNT/f"
	errno EMSGSIZE "set dim 2^30" vprobe set-dim-huge "$MNT/f"
	errno EMSGSIZE "set dim MAX+1" vprobe set-dim-max "$MNT/f"
	errno EMSGSIZE "set dim 0" vprobe set-dim-zero "$MNT/f"
	errno EINVAL "get size small" vprobe get-size-small "$MNT/g"
	errno EFAULT "get bad data pointer" vprobe get-badptr "$MNT/g"
	errno EFAULT "get bad struct pointer" vprobe get-badarg "$MNT/g"
	eq "get room too small" "$(vmhelper vprobe get-small-room $MNT/g)" "EMSGSIZE dim=8"
	errno OK "get with room 2^30" vprobe get-dim-huge "$MNT/g"
	errno ERANGE "query k=0" vprobe query-k0 "$MNT"
	errno ERANGE "query k=1025" vprobe query-k1025 "$MNT"
	errno ERANGE "vquery k=0" vquery "$MNT" 0 0 1,1,1,1,1,1,1,1
	errno ERANGE "vquery k=1025" vquery "$MNT" 1025 0 1,1,1,1,1,1,1,1
	errno EINVAL "query unknown flag" vprobe query-flags "$MNT"
	errno EMSGSIZE "query dim 9" vprobe query-dim "$MNT"
	errno EMSGSIZE "query dim 2^30" vprobe query-dim-huge "$MNT"
	errno EMSGSIZE "vquery dim 2" vquery "$MNT" 1 0 1,1
	errno EDOM "query NaN" vprobe query-nan "$MNT"
	errno EDOM "query -Inf" vprobe query-inf "$MNT"
	errno EDOM "vquery NaN" vquery "$MNT" 1 0 nan,1,1,1,1,1,1,1
	errno EFAULT "query bad vector pointer" vprobe query-badvec "$MNT"
	errno EFAULT "query bad hits pointer" vprobe query-badhits "$MNT"
	errno EFAULT "query bad struct pointer" vprobe query-badarg "$MNT"
	errno EINVAL "query size small" vprobe query-size-small "$MNT"
	errno E2BIG "query size big, nonzero tail" vprobe query-size-big-nonzero "$MNT"
	errno EINVAL "batch size small" vprobe batch-size-small "$MNT"
	errno E2BIG "batch count 1025" vprobe batch-too-large "$MNT"
	errno E2BIG "batch count 0" vprobe batch-zero "$MNT"
	errno EINVAL "batch flags" vprobe batch-flags "$MNT"
	errno EINVAL "batch reserved" vprobe batch-reserved "$MNT"
	errno EMSGSIZE "batch dim 7" vprobe batch-dim "$MNT"
	errno EFAULT "batch bad fds pointer" vprobe batch-badfds "$MNT/f"
	errno EFAULT "batch bad vectors pointer" vprobe batch-badvecs "$MNT/f"
	errno EFAULT "batch bad errors pointer" vprobe batch-baderrors "$MNT/f"
	errno EINVAL "info size small" vprobe info-size-small "$MNT"
	errno E2BIG "info size big, nonzero tail" vprobe info-size-big-nonzero "$MNT"
	errno EFAULT "info bad struct pointer" vprobe info-badarg "$MNT"
	errno ENOTTY "unknown vexfs ioctl" vprobe unknown-cmd "$MNT"
	# none of that changed anything
	errno ENODATA "f still has no vector" vget "$MNT/f"
	eq "g unchanged" "$(vmhelper vget $MNT/g)" "1,1,1,1,1,1,1,1"
	eq "count unchanged" "$(vcount)" 1
	# edge requests that are fine
	errno OK "set size big, zero tail" vprobe set-size-big-zero "$MNT/f"
	eq "vector of the padded set" "$(vmhelper vget $MNT/f)" "0,1,2,3,4,5,6,7"
	errno OK "set with a newer header's ioctl number" vprobe set-newer-cmd "$MNT/f"
	errno OK "get with a newer header's ioctl number" vprobe get-newer-cmd "$MNT/f"
	errno OK "query size big, zero tail" vprobe query-size-big-zero "$MNT"
	errno OK "query hits: reserved 0, nothing past count" vprobe query-reserved "$MNT"
	errno OK "query exact" vprobe query-exact "$MNT"
	errno OK "info size big, zero tail" vprobe info-size-big-zero "$MNT"
	errno OK "info plain (size field kept)" vprobe info-plain "$MNT"
	errno OK "info VER0 struct (nothing written past it)" vprobe info-ver0 "$MNT"
	eq "batch with a bad fd" "$(vmhelper vprobe batch-badfd $MNT/g)" "done=1 OK EBADF"
	eq "g from the batch" "$(vmhelper vget $MNT/g)" "0,1,2,3,4,5,6,7"
	# a filesystem without a vector space
	if fresh "$DEV_SECOND" "$MNT2"; then
		echo z >"$MNT2/z"
		eq "info without vector space" "$(vmhelper vinfo $MNT2 | cut -d' ' -f1,6)" "dim=0 count=0"
		errno EOPNOTSUPP "set, no vector space" vset "$MNT2/z" 1,2,3,4,5,6,7,8
		errno EOPNOTSUPP "query, no vector space" vquery "$MNT2" 1 0 1,2,3,4,5,6,7,8
		errno EOPNOTSUPP "batch, no vector space" vprobe batch-plain "$MNT2/z"
		errno EOPNOTSUPP "get, no vector space" vget "$MNT2/z"
		errno EOPNOTSUPP "del, no vector space" vdel "$MNT2/z"
		umount_dir "$MNT2"
	fi
	# read-only: the mount refuses writers, queries still work
	mount -o remount,ro "$MNT" || note "remount ro failed"
	errno EROFS "set on a read-only mount" vset "$MNT/f" 1,2,3,4,5,6,7,8
	eq "query on a read-only mount" "$(vmhelper vquery $MNT 1 0 0,1,2,3,4,5,6,7 | cut -d' ' -f2)" "0"
	mount -o remount,rw "$MNT" || note "remount rw failed"
fi
end

begin vector_batch
if vexfs_only && vfresh; then
	mkdir "$MNT/d"
	for f in a b c e; do echo $f >"$MNT/$f"; done
	eq "batch of 3" "$(vmhelper vbatch $MNT $MNT/a=$(unit 1) $MNT/b=$(unit 2) $MNT/c=$(unit 3))" "done=3 OK OK OK"
	eq "a" "$(vmhelper vget $MNT/a)" "$(unit 1)"
	eq "c" "$(vmhelper vget $MNT/c)" "$(unit 3)"
	eq "count" "$(vcount)" 3
	# per-file errors; the others still go in
	if vfresh "$DEV_SECOND" "$MNT2"; then
		echo o >"$MNT2/other"
		eq "mixed batch" "$(vmhelper vbatch $MNT/d $MNT/a=$(unit 5) $MNT2/other=$(unit 6) $MNT/b@rdonly=$(unit 7) $MNT/d@rdonly=$(unit 8) $MNT/e=nan,0,0,0,0,0,0,0 $MNT/c=$(unit 9))" \
			"done=2 OK EXDEV EBADF EISDIR EDOM OK"
		errno ENODATA "fd on another fs untouched" vget "$MNT2/other"
		eq "other fs count" "$(vcount $MNT2)" 0
		umount_dir "$MNT2"
	fi
	eq "a updated" "$(vmhelper vget $MNT/a)" "$(unit 5)"
	eq "b (read-only fd) unchanged" "$(vmhelper vget $MNT/b)" "$(unit 2)"
	eq "c updated" "$(vmhelper vget $MNT/c)" "$(unit 9)"
	errno ENODATA "e (NaN) unchanged" vget "$MNT/e"
	eq "count after mixed" "$(vcount)" 3
	# the same file twice: the later vector wins
	eq "same file twice" "$(vmhelper vbatch $MNT $MNT/e=$(unit 1) $MNT/e=$(unit 4))" "done=2 OK OK"
	eq "e" "$(vmhelper vget $MNT/e)" "$(unit 4)"
	eq "count" "$(vcount)" 4
	# the ioctl descriptor may be any file of the fs, also one open read-only
	eq "batch through a file fd" "$(vmhelper vbatch $MNT/a $MNT/b=$(unit 11))" "done=1 OK"
fi
end

begin vector_query
if vexfs_only && vfresh; then
	cd "$MNT"
	mkdir -p d1/sub d2
	i=0
	for f in a b c d1/p d1/q d1/sub/r d1/sub/s d2/t; do
		echo "$f" >"$f"
		vmhelper vset "$f" "$(unit $i)" >/dev/null || note "vset $f"
		i=$((i + 1))
	done
	cd /
	eq "count" "$(vcount)" 8
	want="$(ino $MNT/a) 0
$(ino $MNT/b) 1
$(ino $MNT/c) 4"
	eq "top 3 (HNSW)" "$(vmhelper vquery $MNT 3 0 0,0,0,0,0,0,0,0)" "$want"
	eq "top 3 (exact)" "$(vmhelper vquery $MNT 3 0 0,0,0,0,0,0,0,0 exact)" "$want"
	eq "top 3 (ef 500)" "$(vmhelper vquery $MNT 3 500 0,0,0,0,0,0,0,0)" "$want"
	eq "top 3 through a file fd" "$(vmhelper vquery $MNT/d2/t 3 0 0,0,0,0,0,0,0,0)" "$want"
	eq "k larger than the count" "$(vmhelper vquery $MNT 1024 0 0,0,0,0,0,0,0,0 | wc -l)" 8
	eq "nearest to 7.5" "$(vmhelper vquery $MNT 2 0 $(unit 7.5) exact)" "$(ino $MNT/d2/t) 0.25
$(ino $MNT/d1/sub/s) 2.25"
	# subtrees
	eq "subtree d1" "$(vmhelper vquery $MNT/d1 10 0 0,0,0,0,0,0,0,0 | cut -d' ' -f1 | tr '\n' ' ')" \
		"$(ino $MNT/d1/p) $(ino $MNT/d1/q) $(ino $MNT/d1/sub/r) $(ino $MNT/d1/sub/s) "
	eq "subtree d1 exact" "$(vmhelper vquery $MNT/d1 10 0 0,0,0,0,0,0,0,0 exact | cut -d' ' -f1 | tr '\n' ' ')" \
		"$(ino $MNT/d1/p) $(ino $MNT/d1/q) $(ino $MNT/d1/sub/r) $(ino $MNT/d1/sub/s) "
	eq "subtree d1/sub, k=1" "$(vmhelper vquery $MNT/d1/sub 1 0 $(unit 100))" "$(ino $MNT/d1/sub/s) $((94 * 94))"
	eq "subtree d2" "$(vmhelper vquery $MNT/d2 5 0 0,0,0,0,0,0,0,0)" "$(ino $MNT/d2/t) 49"
	mkdir "$MNT/empty"
	eq "empty subtree" "$(vmhelper vquery $MNT/empty 5 0 0,0,0,0,0,0,0,0)" ""
	ok "empty subtree is not an error" vmhelper vquery "$MNT/empty" 5 0 0,0,0,0,0,0,0,0
fi
end
