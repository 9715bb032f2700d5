# a 64 MiB file of random data read back intact (cache, drop_caches, remount)
begin bigfile_64m
if fresh; then
	sum=$(dd if=/dev/urandom bs=1M count=64 2>/dev/null | tee "$MNT/big" | md5sum | cut -d' ' -f1)
	eq "size" "$(st %s $MNT/big)" 67108864
	eq "md5 (page cache)" "$(md5sum <$MNT/big | cut -d' ' -f1)" "$sum"
	drop_caches
	eq "md5 after drop_caches" "$(md5sum <$MNT/big | cut -d' ' -f1)" "$sum"
	remount
	eq "md5 after remount" "$(md5sum <$MNT/big | cut -d' ' -f1)" "$sum"
	blocks=$(st %b "$MNT/big")
	[ "$blocks" -ge 131072 ] || note "st_blocks $blocks < 131072 for a 64 MiB file"
	# overwrite a middle range in place, check only that range changed
	dd if=/dev/zero of="$MNT/big" bs=4096 seek=1000 count=3 conv=notrunc 2>/dev/null
	eq "size after overwrite" "$(st %s $MNT/big)" 67108864
	errno OK "overwritten range zero" zerocheck "$MNT/big" 4096000 12288
	s2=$(md5sum <"$MNT/big" | cut -d' ' -f1)
	remount
	eq "md5 after overwrite+remount" "$(md5sum <$MNT/big | cut -d' ' -f1)" "$s2"
fi
end
