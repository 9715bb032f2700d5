# an unlinked but open file stays readable until close; then its space is freed
begin unlinked_open
if fresh; then
	sync
	free0=$(sfs 3 $MNT)
	ffree0=$(sfs 6 $MNT)
	dd if=/dev/urandom of="$MNT/f" bs=1M count=8 2>/dev/null
	sum=$(md5sum <"$MNT/f" | cut -d' ' -f1)
	sync
	exec 3<"$MNT/f"
	rm "$MNT/f"
	absent "$MNT/f"
	eq "readable after unlink" "$(md5sum <&3 | cut -d' ' -f1)" "$sum"
	drop_caches
	eq "still readable after drop_caches" "$(cat /proc/self/fd/3 2>/dev/null | md5sum | cut -d' ' -f1)" "$sum"
	sync
	held=$(sfs 3 $MNT)
	bs=$(sfs 1 $MNT)
	[ $((free0 - held)) -ge $((8 * 1048576 / bs)) ] || note "space released before close: bfree $free0 -> $held"
	nok "umount while an unlinked file is open" umount "$MNT"
	exec 3<&-
	sync
	free1=$(sfs 3 $MNT)
	d=$((free0 - free1)); [ $d -lt 0 ] && d=$((-d))
	[ $d -le 8 ] || note "space not freed after close: bfree $free0 -> $held -> $free1"
	[ "$(sfs 6 $MNT)" -eq "$ffree0" ] || note "inode not freed after close: ffree $ffree0 -> $(sfs 6 $MNT)"
	remount
	free2=$(sfs 3 $MNT)
	d=$((free0 - free2)); [ $d -lt 0 ] && d=$((-d))
	[ $d -le 8 ] || note "space differs after remount: bfree $free0 -> $free2"
	eq "helper: open, unlink, read" "$(echo hello-held >$MNT/h; vmhelper holdread $MNT/h)" hello-held
	absent "$MNT/h"
	# a file replaced by rename stays readable through an open descriptor
	echo old-content >"$MNT/victim"; echo new-content >"$MNT/newer"
	exec 4<"$MNT/victim"
	errno OK "rename over an open file" rename "$MNT/newer" "$MNT/victim"
	eq "old inode still readable" "$(cat <&4)" old-content
	exec 4<&-
	content "$MNT/victim" new-content
	sync
	eq "inodes after replace" "$(sfs 6 $MNT)" $((ffree0 - 1))
fi
end
