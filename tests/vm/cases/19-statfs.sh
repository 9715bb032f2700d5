# statfs numbers are sane and follow usage
begin statfs
if fresh; then
	set -- $(vmhelper statfs "$MNT")
	bsize=$1 blocks=$2 bfree=$3 bavail=$4 files=$5 ffree=$6 namelen=$7
	dev_bytes=$(($(cat /sys/block/${DEV_MAIN##*/}/size) * 512))
	[ "$bsize" -ge 512 ] && [ "$bsize" -le 65536 ] || note "bsize $bsize"
	[ $((blocks * bsize)) -le "$dev_bytes" ] || note "blocks*bsize $((blocks * bsize)) > device $dev_bytes"
	[ $((blocks * bsize)) -ge $((dev_bytes * 8 / 10)) ] || note "blocks*bsize $((blocks * bsize)) < 80% of device"
	[ "$bfree" -le "$blocks" ] || note "bfree $bfree > blocks $blocks"
	[ "$bfree" -ge $((blocks * 8 / 10)) ] || note "fresh fs has only $bfree of $blocks free"
	[ "$bavail" -le "$bfree" ] || note "bavail $bavail > bfree $bfree"
	[ "$files" -gt 100 ] || note "files $files"
	[ "$ffree" -le "$files" ] && [ "$ffree" -ge $((files - 16)) ] || note "ffree $ffree of $files on a fresh fs"
	eq "namelen" "$namelen" 255
	df -k "$MNT" >/tmp/df || note "df failed"
	eq "df shows the mount" "$(tail -n1 /tmp/df | awk '{print $6}')" "$MNT"
	eq "df size" "$(tail -n1 /tmp/df | awk '{print $2}')" "$((blocks * bsize / 1024))"
	dd if=/dev/zero of="$MNT/ten" bs=1M count=10 2>/dev/null; sync
	used=$((bfree - $(sfs 3 $MNT)))
	want=$((10 * 1048576 / bsize))
	[ "$used" -ge "$want" ] && [ "$used" -le $((want + want / 20 + 16)) ] || note "10 MiB file used $used blocks, expected ~$want"
	eq "ffree after one file" "$(sfs 6 $MNT)" $((ffree - 1))
	eq "blocks unchanged" "$(sfs 2 $MNT)" "$blocks"
	eq "st_blocks of 10 MiB (512-byte units)" "$(st %b $MNT/ten)" 20480
	remount
	eq "bfree after remount" "$(sfs 3 $MNT)" "$((bfree - used))"
fi
end
