# hard links, symlinks, special files
begin hardlink
if fresh; then
	echo data >"$MNT/f"
	errno OK "link" link "$MNT/f" "$MNT/g"
	eq "nlink 2" "$(st %h $MNT/f)" 2
	eq "same inode" "$(st %i $MNT/g)" "$(st %i $MNT/f)"
	echo more >>"$MNT/g"
	content "$MNT/f" "data
more"
	mkdir "$MNT/d"
	errno OK "link into subdir" link "$MNT/f" "$MNT/d/h"
	eq "nlink 3" "$(st %h $MNT/f)" 3
	errno EEXIST "link onto existing" link "$MNT/f" "$MNT/g"
	errno EPERM "link a directory" link "$MNT/d" "$MNT/d2"
	errno ENOENT "link missing" link "$MNT/nope" "$MNT/x"
	remount
	eq "nlink after remount" "$(st %h $MNT/d/h)" 3
	rm "$MNT/f"
	eq "nlink after unlink" "$(st %h $MNT/g)" 2
	rm "$MNT/g"
	content "$MNT/d/h" "data
more"
	eq "nlink 1" "$(st %h $MNT/d/h)" 1
fi
end

begin symlink
if fresh; then
	echo target >"$MNT/t"
	errno OK "symlink" symlink t "$MNT/l"
	eq "type" "$(st %F $MNT/l)" "symbolic link"
	eq "readlink" "$(vmhelper readlink $MNT/l)" t
	eq "size is target length" "$(st %s $MNT/l)" 1
	content "$MNT/l" target
	long=$(printf 'd%.0s' $(seq 1 100))/$(printf 'e%.0s' $(seq 1 150))/$(printf 'f%.0s' $(seq 1 200))
	errno OK "long symlink (452 bytes)" symlink "$long" "$MNT/long"
	eq "long readlink" "$(vmhelper readlink $MNT/long)" "$long"
	errno OK "dangling symlink" symlink /no/such/file "$MNT/dangle"
	errno ENOENT "open dangling" open "$MNT/dangle" rdonly
	errno EEXIST "symlink onto existing" symlink x "$MNT/t"
	mkdir "$MNT/dir"; echo in >"$MNT/dir/f"
	ln -s dir "$MNT/dl"
	content "$MNT/dl/f" in
	errno ENOTDIR "rmdir a symlink to dir" rmdir "$MNT/dl"
	errno ELOOP "O_NOFOLLOW on symlink" open "$MNT/l" rdonly,nofollow
	ln -s loop2 "$MNT/loop1"; ln -s loop1 "$MNT/loop2"
	errno ELOOP "symlink loop" open "$MNT/loop1" rdonly
	remount
	eq "readlink after remount" "$(vmhelper readlink $MNT/l)" t
	eq "long readlink after remount" "$(vmhelper readlink $MNT/long)" "$long"
	content "$MNT/dl/f" in
	errno OK "unlink symlink" unlink "$MNT/l"
	content "$MNT/t" target
fi
end

begin mknod_fifo_socket
if fresh; then
	errno OK "mknod fifo" mknod "$MNT/fifo" fifo 0644
	eq "fifo type" "$(st %F $MNT/fifo)" fifo
	ok "mkfifo" mkfifo "$MNT/fifo2"
	eq "mkfifo type" "$(st %F $MNT/fifo2)" fifo
	errno OK "mknod socket" mknod "$MNT/sock" sock 0644
	eq "socket type" "$(st %F $MNT/sock)" socket
	errno OK "bind AF_UNIX socket" bindsock "$MNT/bound"
	eq "bound socket type" "$(st %F $MNT/bound)" socket
	errno OK "mknod char dev 1:3" mknod "$MNT/null" chr 0666 1 3
	eq "chr type" "$(st %F $MNT/null)" "character special file"
	eq "chr major:minor" "$(st %t:%T $MNT/null)" "1:3"
	errno OK "mknod block dev 7:0" mknod "$MNT/blk" blk 0600 7 0
	eq "blk type" "$(st %F $MNT/blk)" "block special file"
	# data goes through a fifo on this fs
	(echo through-fifo >"$MNT/fifo") &
	eq "fifo read" "$(cat $MNT/fifo)" through-fifo
	wait
	echo zap >"$MNT/null" || note "write to /dev/null node failed"
	eq "chr node reads as /dev/null" "$(cat $MNT/null | wc -c)" 0
	remount
	eq "fifo after remount" "$(st %F $MNT/fifo)" fifo
	eq "socket after remount" "$(st %F $MNT/sock)" socket
	eq "chr after remount" "$(st %F:%t:%T $MNT/null)" "character special file:1:3"
	eq "blk after remount" "$(st %F:%t:%T:%a $MNT/blk)" "block special file:7:0:600"
	rm -f "$MNT/fifo" "$MNT/fifo2" "$MNT/sock" "$MNT/bound" "$MNT/null" "$MNT/blk"
	eq "all removed" "$(ls -A $MNT | wc -l)" 0
fi
end
