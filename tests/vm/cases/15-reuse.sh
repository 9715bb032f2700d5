# freed inodes and blocks are reused: create/delete cycles do not leak
begin reuse_blocks_inodes
if fresh; then
	sync
	b0=$(sfs 3 $MNT); i0=$(sfs 6 $MNT)
	round=1
	while [ $round -le 3 ]; do
		mkdir "$MNT/r"
		n=0; while [ $n -lt 100 ]; do echo "$round $n" >"$MNT/r/f$n"; n=$((n + 1)); done
		dd if=/dev/urandom of="$MNT/r/big" bs=1M count=16 2>/dev/null
		sync
		[ "$(sfs 3 $MNT)" -lt $((b0 - 4096)) ] || note "round $round: 16 MiB written but bfree $(sfs 3 $MNT) vs $b0"
		[ "$(sfs 6 $MNT)" -le $((i0 - 101)) ] || note "round $round: 102 inodes made but ffree $(sfs 6 $MNT) vs $i0"
		rm -rf "$MNT/r"
		sync
		b=$(sfs 3 $MNT); i=$(sfs 6 $MNT)
		d=$((b0 - b)); [ $d -lt 0 ] && d=$((-d))
		[ $d -le 8 ] || note "round $round: bfree $b0 -> $b after delete"
		[ "$i" -eq "$i0" ] || note "round $round: ffree $i0 -> $i after delete"
		round=$((round + 1))
	done
	remount
	b=$(sfs 3 $MNT); i=$(sfs 6 $MNT)
	d=$((b0 - b)); [ $d -lt 0 ] && d=$((-d))
	[ $d -le 8 ] || note "after remount: bfree $b0 -> $b"
	[ "$i" -eq "$i0" ] || note "after remount: ffree $i0 -> $i"
fi
end
