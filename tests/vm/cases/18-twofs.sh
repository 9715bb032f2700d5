# two filesystems mounted at once are independent
begin two_mounts
if fresh "$DEV_MAIN" "$MNT" && fresh "$DEV_SECOND" "$MNT2"; then
	echo on-a >"$MNT/only-a"; mkdir "$MNT/da"
	echo on-b >"$MNT2/only-b"; mkdir "$MNT2/db"
	echo A >"$MNT/same"; echo B >"$MNT2/same"
	absent "$MNT2/only-a"; absent "$MNT/only-b"
	content "$MNT/same" A; content "$MNT2/same" B
	sa=$(($(sfs 1 $MNT) * $(sfs 2 $MNT))); sb=$(($(sfs 1 $MNT2) * $(sfs 2 $MNT2)))
	[ "$sa" -gt "$sb" ] || note "512 MiB fs not bigger than 256 MiB fs: $sa vs $sb bytes"
	dd if=/dev/zero of="$MNT/big" bs=1M count=8 2>/dev/null; sync
	fb=$(sfs 3 $MNT2)
	rm "$MNT/big"; sync
	eq "b's free blocks unaffected by a's delete" "$(sfs 3 $MNT2)" "$fb"
	errno EXDEV "rename across filesystems" rename "$MNT/same" "$MNT2/x"
	errno EXDEV "link across filesystems" link "$MNT/same" "$MNT2/x"
	umount_dir "$MNT2"
	content "$MNT/same" A
	echo more >>"$MNT/same"
	mount_dev "$DEV_SECOND" "$MNT2"
	content "$MNT2/same" B
	remount "$DEV_MAIN" "$MNT"
	content "$MNT/same" "A
more"
	eq "a listing" "$(ls $MNT | tr '\n' ' ')" "da only-a same "
	eq "b listing" "$(ls $MNT2 | tr '\n' ' ')" "db only-b same "
	# the same fs at two mount points (bind) shares contents
	mount --bind "$MNT" /mnt/c && { content /mnt/c/only-a on-a; umount /mnt/c; } || note "bind mount failed"
	umount_dir "$MNT2"
fi
end
