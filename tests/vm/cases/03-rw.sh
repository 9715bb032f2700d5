# create/open/write/read, O_EXCL, open errors, fsync
begin create_write_read
if fresh; then
	echo "hello" >"$MNT/a"
	content "$MNT/a" hello
	eq "size" "$(st %s $MNT/a)" 6
	eq "type" "$(st %F $MNT/a)" "regular file"
	echo "world" >>"$MNT/a"
	content "$MNT/a" "hello
world"
	echo "over" >"$MNT/a"
	content "$MNT/a" over
	printf '' >"$MNT/empty"
	eq "empty size" "$(st %s $MNT/empty)" 0
	eq "empty type" "$(st %F $MNT/empty)" "regular empty file"
	errno OK "pwrite at 10000" pwrite "$MNT/a" 10000 XYZ
	eq "size after pwrite" "$(st %s $MNT/a)" 10003
	eq "pread back" "$(vmhelper pread $MNT/a 10000 3)" XYZ
	eq "pread start" "$(vmhelper pread $MNT/a 0 4)" over
	errno OK "zeros between" zerocheck "$MNT/a" 5 9995
	# multi-block, unaligned write through the page cache
	dd if=/dev/urandom of=/tmp/r bs=1000 count=777 2>/dev/null
	cp /tmp/r "$MNT/r"
	eq "unaligned multi-block copy" "$(sha256sum <$MNT/r)" "$(sha256sum </tmp/r)"
	errno OK fsync fsync "$MNT/r"
	errno OK fdatasync fdatasync "$MNT/r"
	errno OK syncfs syncfs "$MNT/r"
	drop_caches
	eq "after drop_caches" "$(sha256sum <$MNT/r)" "$(sha256sum </tmp/r)"
fi
end

begin open_errors
if fresh; then
	errno ENOENT "open missing" open "$MNT/missing" rdonly
	errno ENOENT "create in missing dir" open "$MNT/nodir/f" wronly,creat
	echo x >"$MNT/f"
	errno EEXIST "O_CREAT|O_EXCL on existing file" open "$MNT/f" wronly,creat,excl
	errno OK "O_CREAT|O_EXCL on new file" open "$MNT/g" wronly,creat,excl
	errno EEXIST "O_EXCL again" open "$MNT/g" wronly,creat,excl
	mkdir "$MNT/d"
	errno EISDIR "open dir for write" open "$MNT/d" wronly
	errno EEXIST "O_EXCL on a dir" open "$MNT/d" wronly,creat,excl
	errno ENOTDIR "O_DIRECTORY on file" open "$MNT/f" rdonly,directory
	errno ENOTDIR "file as path component" open "$MNT/f/x" rdonly
	errno OK "O_TRUNC" open "$MNT/f" wronly,trunc
	eq "size after O_TRUNC" "$(st %s $MNT/f)" 0
fi
end

begin mmap_io
if fresh; then
	dd if=/dev/zero of="$MNT/m" bs=4096 count=4 2>/dev/null
	errno OK "mmap write in page 0" mmapwrite "$MNT/m" 100 mapped-one
	errno OK "mmap write across pages 1/2" mmapwrite "$MNT/m" 8190 straddle
	eq "read() sees mmap write" "$(vmhelper pread $MNT/m 100 10)" mapped-one
	drop_caches
	eq "after drop_caches" "$(vmhelper pread $MNT/m 8190 8)" straddle
	echo "file-data" | dd of="$MNT/m" bs=1 seek=12000 conv=notrunc 2>/dev/null
	eq "mmap read sees write()" "$(vmhelper mmapread $MNT/m 12000 9)" file-data
	remount
	eq "mmap write after remount" "$(vmhelper pread $MNT/m 100 10)" mapped-one
	eq "straddle after remount" "$(vmhelper mmapread $MNT/m 8190 8)" straddle
	eq "size unchanged" "$(st %s $MNT/m)" 16384
	# a hole read through mmap is zero
	printf '' >"$MNT/h"
	errno OK "sparse for mmap" truncate "$MNT/h" 65536
	eq "mmap read of hole" "$(vmhelper mmapread $MNT/h 30000 4 | od -An -tx1 | tr -d " ")" 000000000a
fi
end

begin mmap_eof_zeroing
if fresh; then
	printf '0123456789' >"$MNT/e"
	errno OK "store past EOF in last page" mmappasteof "$MNT/e" 200
	eq "size still 10" "$(st %s $MNT/e)" 10
	errno OK "truncate up" truncate "$MNT/e" 4096
	errno OK "bytes past old EOF read as zero" zerocheck "$MNT/e" 10 4086
	remount
	errno OK "zero after remount" zerocheck "$MNT/e" 10 4086
	eq "head after remount" "$(vmhelper pread $MNT/e 0 10)" 0123456789
fi
end

begin fsync_dir_and_big_offsets
if fresh; then
	mkdir "$MNT/d"; echo x >"$MNT/d/f"
	errno OK "fsync a directory" fsync "$MNT/d"
	errno OK "pwrite at 4 GiB + 4097" pwrite "$MNT/far" 4294971393 far-away
	eq "size" "$(st %s $MNT/far)" 4294971401
	eq "read back" "$(vmhelper pread $MNT/far 4294971393 8)" far-away
	errno OK "pwrite at 1 TiB" pwrite "$MNT/far" 1099511627776 tera
	errno EFBIG "pwrite at 2^62" pwrite "$MNT/far" 4611686018427387904 x
	remount
	eq "4 GiB read after remount" "$(vmhelper pread $MNT/far 4294971393 8)" far-away
	eq "1 TiB read after remount" "$(vmhelper pread $MNT/far 1099511627776 4)" tera
	errno OK "hole below is zero" zerocheck "$MNT/far" 4294901760 69633
	blocks=$(st %b "$MNT/far")
	[ "$blocks" -le 256 ] || note "sparse 1 TiB file uses $blocks sectors"
	rm "$MNT/far"
fi
end
