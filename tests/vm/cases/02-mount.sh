# mkfs + mount + umount, read-only mounts, busy umount
begin mkfs_mount_umount
if fresh; then
	grep -q " $MNT $FSTYPE " /proc/mounts || note "not in /proc/mounts as $FSTYPE: $(grep " $MNT " /proc/mounts)"
	eq "root is a directory" "$(st %F $MNT)" directory
	eq "fresh root is empty" "$(ls -A $MNT | wc -l)" 0
	eq "root inode nlink" "$(st %h $MNT)" 2
	umount_dir "$MNT"
	grep -q " $MNT " /proc/mounts && note "still mounted after umount"
	mount_dev "$DEV_MAIN" "$MNT" && umount_dir "$MNT"
	mount_dev "$DEV_MAIN" "$MNT" && umount_dir "$MNT"
fi
end

begin mount_readonly
if fresh; then
	echo keep >"$MNT/file"
	umount_dir "$MNT"
	if mount_dev "$DEV_MAIN" "$MNT" ro; then
		content "$MNT/file" keep
		errno EROFS "create on ro mount" open "$MNT/new" wronly,creat
		errno EROFS "write-open on ro mount" open "$MNT/file" wronly
		errno EROFS "mkdir on ro mount" mkdir "$MNT/d"
		errno EROFS "unlink on ro mount" unlink "$MNT/file"
		errno EROFS "O_TRUNC on ro mount" open "$MNT/file" wronly,trunc
		nok "chmod on ro mount" chmod 600 "$MNT/file"
		content "$MNT/file" keep
		umount_dir "$MNT"
	fi
fi
end

begin remount_ro_to_rw
if fresh; then
	echo keep >"$MNT/file"
	ok "remount ro" mount -o remount,ro "$MNT"
	errno EROFS "create after remount,ro" open "$MNT/new" wronly,creat
	umount_dir "$MNT"
	if mount_dev "$DEV_MAIN" "$MNT" ro; then
		ok "remount rw" mount -o remount,rw "$MNT"
		echo more >>"$MNT/file" || note "append after remount,rw failed"
		content "$MNT/file" "keep
more"
		umount_dir "$MNT"
	fi
fi
end

begin umount_busy
if fresh; then
	mkdir "$MNT/d"
	cd "$MNT/d"
	nok "umount with cwd inside must fail" umount "$MNT"
	grep -q "Device or resource busy\|busy" /tmp/ok.out || note "umount error was: $(cat /tmp/ok.out)"
	cd /
	umount_dir "$MNT"
fi
end

begin mkfs_refuses_mounted_and_existing
if [ "$FSTYPE" != vexfs ]; then
	skip "mkfs.vexfs behaviour"
elif fresh; then
	echo keep >"$MNT/file"
	nok "mkfs on a mounted device" mkfs.vexfs -q "$DEV_MAIN"
	grep -q "is mounted on $MNT" /tmp/ok.out || note "mkfs said: $(cat /tmp/ok.out)"
	nok "mkfs -f on a mounted device" mkfs.vexfs -f -q "$DEV_MAIN"
	content "$MNT/file" keep
	umount_dir "$MNT"
	nok "mkfs over an existing vexfs without -f" mkfs.vexfs -q "$DEV_MAIN"
	grep -q "contains a vexfs signature" /tmp/ok.out || note "mkfs said: $(cat /tmp/ok.out)"
	ok "mkfs -n prints the layout" mkfs.vexfs -n "$DEV_MAIN"
	grep -q "Creating filesystem with" /tmp/ok.out || note "dry run said: $(cat /tmp/ok.out)"
	mount_dev "$DEV_MAIN" "$MNT" && content "$MNT/file" keep && umount_dir "$MNT"
	ok "mkfs -f -L over it" mkfs.vexfs -f -q -L relabeled "$DEV_MAIN"
	mount_dev "$DEV_MAIN" "$MNT" && eq "fresh root after -f" "$(ls -A $MNT | wc -l)" 0 && umount_dir "$MNT"
fi
end
