# a disk that is not this filesystem is refused with a kernel log line, no oops
begin refuse_foreign_fs
load_fs
if [ "$FSTYPE" = ext4 ]; then
	# validating the case on ext4: a vfat disk plays the foreign filesystem
	ok "mkdosfs" mkdosfs "$DEV_SMALL"; foreign=$DEV_SMALL
else
	foreign=$DEV_EXT4
fi
dmesg -c >/dev/null
refused_mount "$foreign" "foreign filesystem"
dmesg_has "$FSTYPE|$(basename $foreign)" || note "no kernel log line about the refused mount: $(dmesg | tail -n 2)"
nok "busybox mount refuses too" mount -t "$FSTYPE" "$foreign" "$MNT"
grep -q " $MNT " /proc/mounts && umount "$MNT"
# the reference ext4 image is intact and mounts as ext4
dmesg -c >/dev/null
if mount -t ext4 -o ro "$DEV_EXT4" /mnt/c 2>/tmp/e; then
	content /mnt/c/hello.txt "hello from the host"
	umount /mnt/c
else
	note "reference ext4 mount failed: $(cat /tmp/e)"
fi
end

begin refuse_zeroed_disk
load_fs
dmesg -c >/dev/null
refused_mount "$DEV_ZERO" "zeroed disk"
dmesg_has "$FSTYPE|$(basename $DEV_ZERO)" || note "no kernel log line about the refused mount"
nok "mount a disk too small for anything" mount -t "$FSTYPE" -o ro /dev/null "$MNT"
grep -q " $MNT " /proc/mounts && umount "$MNT"
end
