# filling a small (32 MiB) filesystem gives ENOSPC; it works again after deleting
begin enospc
if fresh "$DEV_SMALL" "$MNT"; then
	bs=$(sfs 1 $MNT)
	free0=$(sfs 3 $MNT)
	r=$(vmhelper fill "$MNT/fill" 65536)
	case "$r" in ENOSPC*) ;; *) note "fill: expected ENOSPC, got '$r'" ;; esac
	written=${r#* }
	[ "$written" -gt $((free0 * bs / 2)) ] || note "only $written bytes written before ENOSPC (free was $((free0 * bs)))"
	[ "$(sfs 4 $MNT)" -lt 64 ] || note "bavail not ~0 when full: $(sfs 4 $MNT)"
	eq "file size = bytes written" "$(st %s $MNT/fill)" "$written"
	# metadata operations that need no new blocks still work; new data fails
	r=$(dd if=/dev/zero of="$MNT/more" bs=64k count=16 2>&1) && note "write on a full fs succeeded"
	echo "$r" | grep -q "No space left" || note "second write error: $r"
	sync
	ok "ls on full fs" ls -l "$MNT"
	rm -f "$MNT/fill" "$MNT/more"
	sync
	free1=$(sfs 3 $MNT)
	[ $((free0 - free1)) -le 8 ] && [ $((free0 - free1)) -ge -8 ] || note "space not back after delete: bfree $free0 -> $free1"
	ok "write 4 MiB after delete" dd if=/dev/zero of="$MNT/again" bs=1M count=4
	eq "new file size" "$(st %s $MNT/again)" 4194304
	remount "$DEV_SMALL" "$MNT"
	eq "size after remount" "$(st %s $MNT/again)" 4194304
	r=$(vmhelper fill "$MNT/fill2" 1048576)
	case "$r" in ENOSPC*) ;; *) note "second fill: expected ENOSPC, got '$r'" ;; esac
	rm -f "$MNT"/*
	umount "$MNT"
fi
end

begin enospc_inodes
if fresh "$DEV_SMALL" "$MNT"; then
	files=$(sfs 6 $MNT)
	if [ "$files" -gt 20000 ]; then
		skip "$files free inodes: too many to exhaust under TCG"
	else
		mkdir "$MNT/d"
		i=0; err=
		while [ $i -le "$files" ]; do
			if ! printf '' 2>/tmp/e >"$MNT/d/$i"; then err=$(cat /tmp/e); break; fi
			i=$((i + 1))
		done
		echo "$err" | grep -q "No space left" || note "creating $i files: expected ENOSPC, got '$err'"
		[ "$(sfs 6 $MNT)" -eq 0 ] || note "ffree not 0 when out of inodes: $(sfs 6 $MNT)"
		rm -rf "$MNT/d"
		sync
		ok "create after freeing inodes" touch "$MNT/ok"
		[ "$(sfs 6 $MNT)" -ge $((files - 4)) ] || note "inodes not freed: ffree $(sfs 6 $MNT) < $files"
	fi
fi
end
