# llseek: SEEK_END, writes past EOF leave holes that read as zeros
begin llseek_holes
if fresh; then
	dd if=/dev/urandom of=/tmp/blk bs=4096 count=1 2>/dev/null
	dd if=/tmp/blk of="$MNT/h" bs=4096 seek=100 count=1 2>/dev/null
	eq "size" "$(st %s $MNT/h)" 413696
	eq "SEEK_END" "$(vmhelper seekend $MNT/h)" 413696
	errno OK "hole reads as zeros" zerocheck "$MNT/h" 0 409600
	eq "data after the hole" "$(dd if=$MNT/h bs=4096 skip=100 count=1 2>/dev/null | md5sum)" "$(md5sum </tmp/blk)"
	# unaligned write far past EOF, then a write into the middle of the hole
	errno OK "pwrite at 1 MiB + 3" pwrite "$MNT/h" 1048579 tail
	eq "size 2" "$(st %s $MNT/h)" 1048583
	errno OK "gap zero" zerocheck "$MNT/h" 413696 634883
	errno OK "pwrite into hole" pwrite "$MNT/h" 200001 mid
	eq "mid" "$(vmhelper pread $MNT/h 200001 3)" mid
	errno OK "around mid zero" zerocheck "$MNT/h" 196608 3393
	errno OK "after mid zero" zerocheck "$MNT/h" 200004 209596
	eq "SEEK_END 2" "$(vmhelper seekend $MNT/h)" 1048583
	remount
	errno OK "hole zero after remount" zerocheck "$MNT/h" 0 200001
	eq "mid after remount" "$(vmhelper pread $MNT/h 200001 3)" mid
	eq "tail after remount" "$(vmhelper pread $MNT/h 1048579 10)" tail
	eq "block after remount" "$(dd if=$MNT/h bs=4096 skip=100 count=1 2>/dev/null | md5sum)" "$(md5sum </tmp/blk)"
	eq "SEEK_END after remount" "$(vmhelper seekend $MNT/h)" 1048583
fi
end

begin sparse_allocation
if fresh; then
	dd if=/dev/zero of="$MNT/s" bs=4096 seek=25600 count=1 2>/dev/null
	eq "size" "$(st %s $MNT/s)" 104861696
	b=$(st %b "$MNT/s")
	[ "$b" -le 64 ] || note "a 100 MiB file with one written block uses $b sectors (holes allocated?)"
	errno OK "zeros" zerocheck "$MNT/s" 104853504 8192
fi
end
