# interleaved appends fragment two files (many extents: beyond the inode's
# inline extents); contents survive remount, truncate into the middle, delete
begin fragmented_files
if fresh; then
	sync; free0=$(sfs 3 $MNT)
	dd if=/dev/urandom of=/tmp/c1 bs=4096 count=1 2>/dev/null
	dd if=/dev/urandom of=/tmp/c2 bs=4096 count=1 2>/dev/null
	rm -f /tmp/m1 /tmp/m2
	i=0
	while [ $i -lt 300 ]; do
		cat /tmp/c1 >>"$MNT/one"; cat /tmp/c1 >>/tmp/m1
		cat /tmp/c2 >>"$MNT/two"; cat /tmp/c2 >>/tmp/m2
		[ $((i % 50)) -eq 0 ] && sync
		i=$((i + 1))
	done
	printf 'odd tail' >>"$MNT/one"; printf 'odd tail' >>/tmp/m1
	cmp "$MNT/one" /tmp/m1 >/dev/null || note "one differs in cache"
	cmp "$MNT/two" /tmp/m2 >/dev/null || note "two differs in cache"
	remount
	cmp "$MNT/one" /tmp/m1 >/dev/null || note "one differs after remount"
	cmp "$MNT/two" /tmp/m2 >/dev/null || note "two differs after remount"
	errno OK "truncate one to 150.5 blocks" truncate "$MNT/one" 616448
	head -c 616448 /tmp/m1 >/tmp/m1t
	cmp "$MNT/one" /tmp/m1t >/dev/null || note "one differs after truncate"
	cat /tmp/c2 >>"$MNT/one"; cat /tmp/c2 >>/tmp/m1t
	remount
	cmp "$MNT/one" /tmp/m1t >/dev/null || note "one differs after truncate+append+remount"
	cmp "$MNT/two" /tmp/m2 >/dev/null || note "two damaged by truncating one"
	rm "$MNT/one" "$MNT/two"
	sync
	d=$((free0 - $(sfs 3 $MNT))); [ $d -lt 0 ] && d=$((-d))
	[ $d -le 8 ] || note "fragmented files' blocks not all freed: bfree $free0 -> $(sfs 3 $MNT)"
	rm -f /tmp/m1 /tmp/m2 /tmp/m1t
fi
end
