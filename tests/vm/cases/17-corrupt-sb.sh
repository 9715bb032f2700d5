# a corrupted superblock is refused (bad magic; bad checksum), with a kernel
NO_FSCK=1 # this case damages disks on purpose
# log line and no oops; mkfs makes the disk usable again
if [ "$FSTYPE" = ext4 ]; then
	MAGIC_OFF=1080   # s_magic
	CSUM_OFF=1144    # s_volume_name[0], covered by the metadata_csum superblock checksum
else
	MAGIC_OFF=0      # "VEXFSv1\0"
	CSUM_OFF=70      # label[6], covered by the superblock crc32c
fi
corrupt() { # OFFSET BYTE-OCTAL
	printf "\\$2" | dd of="$DEV_MAIN" bs=1 seek="$1" count=1 conv=notrunc 2>/dev/null
	sync; echo 3 >/proc/sys/vm/drop_caches
}
for kind in magic checksum; do
	begin "corrupt_superblock_$kind"
	if fresh; then
		echo keep >"$MNT/f"
		umount_dir "$MNT"
		if [ $kind = magic ]; then corrupt $MAGIC_OFF 132; else corrupt $CSUM_OFF 245; fi
		dmesg -c >/dev/null
		refused_mount "$DEV_MAIN" "superblock with bad $kind"
		dmesg_has "$FSTYPE|$(basename $DEV_MAIN)" || note "no kernel log line about the refused mount"
		nok "second attempt also refused" mount -t "$FSTYPE" "$DEV_MAIN" "$MNT"
		grep -q " $MNT " /proc/mounts && umount "$MNT"
		fresh && { echo ok >"$MNT/g"; content "$MNT/g" ok; }
	fi
	end
done
