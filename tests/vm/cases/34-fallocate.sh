# fallocate: preallocation (unwritten extents read as zeros, also from
# blocks that held other data), KEEP_SIZE, punch hole, zero range,
# posix_fallocate, FIEMAP and SEEK_DATA/SEEK_HOLE over the result, the
# errors; ext4 is the reference. filefrag/xfs_io must work on the files.
fmap() { vmhelper fiemap "$@" | awk '{printf "%s%s %s %s", (NR > 1 ? ";" : ""), $1, $3, $4}'; }

begin fallocate_preallocate
if fresh; then
	# stale bytes in the free space: preallocated blocks must not show them
	dd if=/dev/urandom of="$MNT/junk" bs=1M count=16 2>/dev/null
	sync; rm "$MNT/junk"; sync
	printf '' >"$MNT/f"
	errno OK "mode 0" falloc "$MNT/f" 0 0 4194304
	eq "size" "$(st %s $MNT/f)" 4194304
	eq "blocks" "$(st %b $MNT/f)" 8192
	drop_caches
	eq "fiemap" "$(fmap $MNT/f)" "0 4194304 0x801"
	eq "SEEK_DATA in unwritten" "$(vmhelper seekdata $MNT/f 0)" ENXIO
	eq "SEEK_HOLE in unwritten" "$(vmhelper seekhole $MNT/f 0)" 0
	errno OK "reads zeros" zerocheck "$MNT/f" 0 4194304
	# a write in the middle converts one block: three extents
	errno OK "pwrite mid" pwrite "$MNT/f" 1048576 hello
	eq "fiemap after write" "$(fmap $MNT/f)" "0 1048576 0x800;1048576 4096 0;1052672 3141632 0x801"
	errno OK "zeros around" zerocheck "$MNT/f" 1048581 4091
	eq "data" "$(vmhelper pread $MNT/f 1048576 5)" hello
	# punch whole blocks: freed, size kept
	errno OK "punch" falloc "$MNT/f" punch,keep 2097152 1048576
	eq "size after punch" "$(st %s $MNT/f)" 4194304
	eq "blocks after punch" "$(st %b $MNT/f)" 6144
	drop_caches
	eq "fiemap after punch" "$(fmap $MNT/f)" "0 1048576 0x800;1048576 4096 0;1052672 1044480 0x800;3145728 1048576 0x801"
	eq "SEEK_DATA" "$(vmhelper seekdata $MNT/f 0)" 1048576
	eq "SEEK_HOLE" "$(vmhelper seekhole $MNT/f 1048576)" 1052672
	eq "SEEK_DATA past data" "$(vmhelper seekdata $MNT/f 1052672)" ENXIO
	eq "SEEK_HOLE at EOF" "$(vmhelper seekhole $MNT/f 4194304)" ENXIO
	eq "fiemap range" "$(fmap $MNT/f 1048576 8192)" "1048576 4096 0;1052672 4096 0x801"
	# KEEP_SIZE: blocks past EOF
	echo data >"$MNT/k"
	errno OK "keep size" falloc "$MNT/k" keep 0 1048576
	eq "keep: size" "$(st %s $MNT/k)" 5
	eq "keep: blocks" "$(st %b $MNT/k)" 2048
	errno OK "posix_fallocate" pfalloc "$MNT/k" 0 2097152
	eq "posix_fallocate: size" "$(st %s $MNT/k)" 2097152
	eq "k head" "$(head -c 5 $MNT/k)" data
	errno OK "k tail zeros" zerocheck "$MNT/k" 5 2097147
	remount
	errno OK "zeros after remount" zerocheck "$MNT/f" 0 1048576
	eq "data after remount" "$(vmhelper pread $MNT/f 1048576 5)" hello
	eq "fiemap after remount" "$(fmap $MNT/f)" "0 1048576 0x800;1048576 4096 0;1052672 1044480 0x800;3145728 1048576 0x801"
	eq "blocks after remount" "$(st %b $MNT/f)" 6144
	if command -v filefrag >/dev/null; then
		filefrag -v "$MNT/f" >/tmp/ff 2>&1 || note "filefrag -v failed: $(head -c 200 /tmp/ff)"
		grep -q unwritten /tmp/ff || note "filefrag shows no unwritten extent: $(tr '\n' ' ' </tmp/ff | head -c 300)"
		grep -q last /tmp/ff || note "filefrag shows no last extent"
		grep -q "extents\? found" /tmp/ff || note "filefrag: $(tail -n 1 /tmp/ff)"
	fi
	if command -v xfs_io >/dev/null; then
		printf '' >"$MNT/x"
		xfs_io -c "falloc 0 1m" -c "pwrite -q 8k 4k" -c "fpunch 64k 64k" -c "fzero 128k 8k" \
			-c "seek -d 0" -c "seek -h 8k" -c "fiemap" "$MNT/x" >/tmp/xio 2>&1 ||
			note "xfs_io failed: $(head -c 300 /tmp/xio)"
		grep -q "DATA.*8192" /tmp/xio || note "xfs_io seek -d: $(tr '\n' ' ' </tmp/xio | head -c 300)"
		grep -q "HOLE.*12288" /tmp/xio || note "xfs_io seek -h: $(tr '\n' ' ' </tmp/xio | head -c 300)"
		grep -q "hole" /tmp/xio || note "xfs_io fiemap shows no hole: $(tr '\n' ' ' </tmp/xio | head -c 300)"
		grep -qi "error\|not supported" /tmp/xio && note "xfs_io: $(tr '\n' ' ' </tmp/xio | head -c 300)"
	fi
fi
end

begin fallocate_punch_zero_written
if fresh; then
	dd if=/dev/urandom of="$MNT/p" bs=4096 count=8 2>/dev/null
	cp "$MNT/p" /tmp/p.orig
	sync
	# unaligned punch: the edges are zeroed in place, whole blocks freed
	errno OK "punch unaligned" falloc "$MNT/p" punch,keep 6000 10000
	errno OK "punched zeros" zerocheck "$MNT/p" 6000 10000
	eq "head kept" "$(head -c 6000 $MNT/p | md5sum)" "$(head -c 6000 /tmp/p.orig | md5sum)"
	eq "tail kept" "$(tail -c +16001 $MNT/p | md5sum)" "$(tail -c +16001 /tmp/p.orig | md5sum)"
	eq "blocks after punch" "$(st %b $MNT/p)" 56
	eq "size after punch" "$(st %s $MNT/p)" 32768
	# past EOF: nothing happens
	errno OK "punch past EOF" falloc "$MNT/p" punch,keep 40960 4096
	eq "size after punch past EOF" "$(st %s $MNT/p)" 32768
	# zero range over written data: blocks stay allocated
	errno OK "zero range" falloc "$MNT/p" zero 20481 4096
	errno OK "zeroed" zerocheck "$MNT/p" 20481 4096
	eq "after zero range kept" "$(tail -c +24578 $MNT/p | md5sum)" "$(tail -c +24578 /tmp/p.orig | md5sum)"
	eq "blocks after zero range" "$(st %b $MNT/p)" 56
	errno OK "zero range past EOF" falloc "$MNT/p" zero 32768 8192
	eq "size after zero past EOF" "$(st %s $MNT/p)" 40960
	errno OK "zero range keep" falloc "$MNT/p" zero,keep 40960 8192
	eq "size after zero keep" "$(st %s $MNT/p)" 40960
	errno OK "zeros past old EOF" zerocheck "$MNT/p" 32768 8192
	remount
	errno OK "punched zeros after remount" zerocheck "$MNT/p" 6000 10000
	errno OK "zeroed after remount" zerocheck "$MNT/p" 20481 4096
	eq "head after remount" "$(head -c 6000 $MNT/p | md5sum)" "$(head -c 6000 /tmp/p.orig | md5sum)"
	rm -f /tmp/p.orig
fi
end

begin fallocate_errors
if fresh; then
	echo x >"$MNT/e"
	errno EOPNOTSUPP "punch without keep" falloc "$MNT/e" punch 0 4096
	errno EOPNOTSUPP "punch and zero" falloc "$MNT/e" punch,zero,keep 0 4096
	errno EOPNOTSUPP "unknown mode" falloc "$MNT/e" 0x100 0 4096
	errno EINVAL "length 0" falloc "$MNT/e" 0 0 0
	errno EINVAL "negative offset" falloc "$MNT/e" 0 -4096 4096
	errno EFBIG "past the size limit" falloc "$MNT/e" 0 17592186044416 4096
	errno EBADF "read-only descriptor" falloc_ro "$MNT/e"
	mkfifo "$MNT/fifo"
	errno ESPIPE "fifo" falloc "$MNT/fifo" 0 0 4096
	if [ "$FSTYPE" = vexfs ]; then
		# ext4 implements these three; VexFS does not
		errno EOPNOTSUPP "collapse range" falloc "$MNT/e" collapse 0 4096
		errno EOPNOTSUPP "insert range" falloc "$MNT/e" insert 0 4096
		errno EOPNOTSUPP "unshare range" falloc "$MNT/e" unshare 0 4096
	fi
fi
end

begin fallocate_enospc
if fresh "$DEV_SMALL" "$MNT"; then
	printf '' >"$MNT/big"
	free0=$(sfs 3 $MNT)
	errno ENOSPC "more than the disk" falloc "$MNT/big" 0 0 67108864
	if [ "$FSTYPE" = vexfs ]; then
		# all or nothing (ext4 keeps what it allocated)
		eq "size after ENOSPC" "$(st %s $MNT/big)" 0
		eq "blocks after ENOSPC" "$(st %b $MNT/big)" 0
		eq "free blocks after ENOSPC" "$(sfs 3 $MNT)" "$free0"
	fi
	rm -f "$MNT/big"
	printf '' >"$MNT/ok"
	errno OK "what fits" falloc "$MNT/ok" 0 0 8388608
	errno OK "zeros" zerocheck "$MNT/ok" 0 8388608
fi
end
