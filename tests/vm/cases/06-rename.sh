# rename(2) and renameat2(2) semantics
begin rename_file
if fresh; then
	echo a >"$MNT/a"
	ino=$(st %i "$MNT/a")
	errno OK "rename a b" rename "$MNT/a" "$MNT/b"
	absent "$MNT/a"
	content "$MNT/b" a
	eq "inode kept" "$(st %i $MNT/b)" "$ino"
	errno OK "rename onto itself" rename "$MNT/b" "$MNT/b"
	content "$MNT/b" a
	errno ENOENT "rename missing" rename "$MNT/nope" "$MNT/x"
	mkdir "$MNT/d"
	errno OK "rename into subdir" rename "$MNT/b" "$MNT/d/b"
	content "$MNT/d/b" a
	errno OK "rename to a long name" rename "$MNT/d/b" "$MNT/d/$(printf 'n%.0s' $(seq 1 200))"
	eq "entries in d" "$(ls $MNT/d | wc -l)" 1
	remount && eq "after remount" "$(cat $MNT/d/nnnn* 2>&1)" a
fi
end

begin rename_dir_across_parents
if fresh; then
	mkdir -p "$MNT/p1/dir/sub" "$MNT/p2"
	echo inner >"$MNT/p1/dir/sub/f"
	errno OK "rename dir across parents" rename "$MNT/p1/dir" "$MNT/p2/dir"
	content "$MNT/p2/dir/sub/f" inner
	absent "$MNT/p1/dir"
	eq "old parent nlink" "$(st %h $MNT/p1)" 2
	eq "new parent nlink" "$(st %h $MNT/p2)" 3
	eq "dotdot follows" "$(st %i $MNT/p2/dir/..)" "$(st %i $MNT/p2)"
	remount
	eq "dotdot after remount" "$(st %i $MNT/p2/dir/..)" "$(st %i $MNT/p2)"
	eq "old parent nlink after remount" "$(st %h $MNT/p1)" 2
	eq "new parent nlink after remount" "$(st %h $MNT/p2)" 3
	content "$MNT/p2/dir/sub/f" inner
	errno OK "rmdir old parent" rmdir "$MNT/p1"
	errno EINVAL "move dir into its own subdir" rename "$MNT/p2" "$MNT/p2/dir/sub/x"
fi
end

begin rename_replace
if fresh; then
	echo src >"$MNT/s"; echo dst >"$MNT/t"
	sino=$(st %i "$MNT/s")
	errno OK "rename over existing file" rename "$MNT/s" "$MNT/t"
	content "$MNT/t" src
	absent "$MNT/s"
	eq "replaced by source inode" "$(st %i $MNT/t)" "$sino"
	eq "one entry" "$(ls $MNT | wc -l)" 1
	mkdir -p "$MNT/full/x" "$MNT/empty" "$MNT/src"
	echo f >"$MNT/file"
	errno ENOTEMPTY "dir onto non-empty dir" rename "$MNT/src" "$MNT/full"
	errno OK "dir onto empty dir" rename "$MNT/src" "$MNT/empty"
	absent "$MNT/src"
	errno EISDIR "file onto dir" rename "$MNT/file" "$MNT/full"
	errno ENOTDIR "dir onto file" rename "$MNT/empty" "$MNT/file"
	eq "root nlink" "$(st %h $MNT)" 4
	# the replaced file's space comes back
	dd if=/dev/zero of="$MNT/big" bs=1M count=8 2>/dev/null
	echo small >"$MNT/small"
	sync; before=$(sfs 3 $MNT)
	errno OK "small over big" rename "$MNT/small" "$MNT/big"
	sync; after=$(sfs 3 $MNT)
	[ $((after - before)) -ge $((8 * 1048576 / $(sfs 1 $MNT) - 16)) ] || note "space of replaced file not freed: bfree $before -> $after"
	remount && content "$MNT/big" small
fi
end

begin rename2_noreplace_exchange
if fresh; then
	echo a >"$MNT/a"; echo b >"$MNT/b"; mkdir "$MNT/d"; echo in >"$MNT/d/x"
	errno EEXIST "NOREPLACE onto existing" rename2 noreplace "$MNT/a" "$MNT/b"
	content "$MNT/a" a; content "$MNT/b" b
	errno OK "NOREPLACE to new name" rename2 noreplace "$MNT/a" "$MNT/c"
	absent "$MNT/a"; content "$MNT/c" a
	errno OK "EXCHANGE two files" rename2 exchange "$MNT/b" "$MNT/c"
	content "$MNT/b" a; content "$MNT/c" b
	errno ENOENT "EXCHANGE with missing" rename2 exchange "$MNT/b" "$MNT/zz"
	errno OK "EXCHANGE file and dir" rename2 exchange "$MNT/b" "$MNT/d"
	content "$MNT/d" a
	content "$MNT/b/x" in
	eq "dotdot of exchanged dir" "$(st %i $MNT/b/..)" "$(st %i $MNT)"
	remount
	content "$MNT/d" a; content "$MNT/b/x" in; content "$MNT/c" b
fi
end
