# Vectors follow files: unlink frees them (no inheritance by a reused inode),
# truncate/rewrite/rename/hard links keep them; queries only show files the
# caller may read.
# (vector helpers: vexfs_only, vfresh, vinfo_field, vcount, ino, unit are in lib.sh)

begin vector_unlink_reuse
if vexfs_only && vfresh; then
	for i in 1 2 3 4; do echo $i >"$MNT/f$i"; vmhelper vset "$MNT/f$i" "$(unit $i)" >/dev/null || note "vset f$i"; done
	eq "count" "$(vcount)" 4
	i2=$(ino "$MNT/f2")
	rm "$MNT/f2"
	eq "count after unlink" "$(vcount)" 3
	vmhelper vquery "$MNT" 10 0 "$(unit 2)" >/tmp/q || note "query after unlink failed"
	grep -q "^$i2 " /tmp/q && note "unlinked inode $i2 still returned: $(cat /tmp/q | tr '\n' ' ')"
	eq "hits after unlink" "$(wc -l </tmp/q)" 3
	vmhelper vquery "$MNT" 10 0 "$(unit 2)" exact | grep -q "^$i2 " && note "unlinked inode returned by exact query"
	# new files: one of them very likely reuses inode $i2; none has a vector
	reused=
	for n in 1 2 3 4 5 6; do
		echo n >"$MNT/n$n"
		[ "$(ino $MNT/n$n)" = "$i2" ] && reused=n$n
		errno ENODATA "new file n$n has no vector" vget "$MNT/n$n"
	done
	echo "  inode $i2 reused by: ${reused:-none}"
	eq "count after creates" "$(vcount)" 3
	vmhelper vquery "$MNT" 10 0 "$(unit 2)" exact | grep -q "^$i2 " && note "reused inode $i2 returned by a query"
	if [ -n "$reused" ]; then
		errno OK "vector on the reused inode" vset "$MNT/$reused" "$(unit 20)"
		eq "query finds the new owner" "$(vmhelper vquery $MNT 1 0 $(unit 20))" "$i2 0"
	fi
	# rm -rf of a tree drops every vector in it
	mkdir -p "$MNT/t/u"
	for i in 1 2 3; do echo $i >"$MNT/t/u/g$i"; vmhelper vset "$MNT/t/u/g$i" "$(unit 5$i)" >/dev/null; done
	c=$(vcount)
	rm -rf "$MNT/t"
	eq "count after rm -rf" "$(vcount)" $((c - 3))
	# an open unlinked file keeps its vector until closed, but is never a hit
	echo h >"$MNT/held"
	vmhelper vset "$MNT/held" "$(unit 77)" >/dev/null
	ih=$(ino "$MNT/held")
	( exec 3<"$MNT/held"; rm "$MNT/held"; vmhelper vquery "$MNT" 3 0 "$(unit 77)" >/tmp/qh; sleep 1 )
	grep -q "^$ih " /tmp/qh && note "open unlinked file returned by a query"
	remount
	eq "count after remount" "$(vcount)" $((c - 3))
fi
end

begin vector_survives_data_changes
if vexfs_only && vfresh; then
	echo hello >"$MNT/f"
	errno OK "set" vset "$MNT/f" 1,2,3,4,5,6,7,8
	i=$(ino "$MNT/f")
	echo rewritten >"$MNT/f"
	eq "after O_TRUNC rewrite" "$(vmhelper vget $MNT/f)" "1,2,3,4,5,6,7,8"
	truncate -s 0 "$MNT/f"
	eq "after truncate 0" "$(vmhelper vget $MNT/f)" "1,2,3,4,5,6,7,8"
	dd if=/dev/urandom of="$MNT/f" bs=64k count=16 2>/dev/null
	truncate -s 12345 "$MNT/f"
	eq "after big write + truncate" "$(vmhelper vget $MNT/f)" "1,2,3,4,5,6,7,8"
	chmod 600 "$MNT/f"; chown 5:5 "$MNT/f"; touch "$MNT/f"
	eq "after chmod/chown/touch" "$(vmhelper vget $MNT/f)" "1,2,3,4,5,6,7,8"
	# rename, also across directories and over an existing file
	mkdir -p "$MNT/a" "$MNT/b"
	mv "$MNT/f" "$MNT/a/g"
	eq "after rename" "$(vmhelper vget $MNT/a/g)" "1,2,3,4,5,6,7,8"
	eq "query after rename" "$(vmhelper vquery $MNT 1 0 1,2,3,4,5,6,7,8)" "$i 0"
	eq "subtree a has it" "$(vmhelper vquery $MNT/a 1 0 1,2,3,4,5,6,7,8)" "$i 0"
	mv "$MNT/a/g" "$MNT/b/g"
	eq "subtree a after move to b" "$(vmhelper vquery $MNT/a 1 0 1,2,3,4,5,6,7,8)" ""
	eq "subtree b after move to b" "$(vmhelper vquery $MNT/b 1 0 1,2,3,4,5,6,7,8)" "$i 0"
	echo victim >"$MNT/b/v"
	errno OK "set victim" vset "$MNT/b/v" 9,9,9,9,9,9,9,9
	iv=$(ino "$MNT/b/v")
	mv "$MNT/b/g" "$MNT/b/v"
	eq "rename over a file keeps the moved vector" "$(vmhelper vget $MNT/b/v)" "1,2,3,4,5,6,7,8"
	eq "replaced file's vector gone" "$(vcount)" 1
	vmhelper vquery "$MNT" 5 0 9,9,9,9,9,9,9,9 | grep -q "^$iv " && note "replaced inode $iv still a hit"
	# directory rename moves the subtree
	mv "$MNT/b" "$MNT/a/b2"
	eq "subtree a after dir rename" "$(vmhelper vquery $MNT/a 1 0 1,2,3,4,5,6,7,8)" "$i 0"
	# hard links: one vector, one hit
	ln "$MNT/a/b2/v" "$MNT/l1"
	eq "via hard link" "$(vmhelper vget $MNT/l1)" "1,2,3,4,5,6,7,8"
	errno OK "set via link" vset "$MNT/l1" 2,2,2,2,2,2,2,2
	eq "seen via the other name" "$(vmhelper vget $MNT/a/b2/v)" "2,2,2,2,2,2,2,2"
	eq "one hit for two names" "$(vmhelper vquery $MNT 10 0 2,2,2,2,2,2,2,2)" "$i 0"
	rm "$MNT/a/b2/v"
	eq "after removing one name" "$(vmhelper vget $MNT/l1)" "2,2,2,2,2,2,2,2"
	eq "count" "$(vcount)" 1
	remount
	eq "after remount" "$(vmhelper vget $MNT/l1)" "2,2,2,2,2,2,2,2"
	# delete and re-insert
	errno OK "del" vdel "$MNT/l1"
	eq "no hit after del" "$(vmhelper vquery $MNT 10 0 2,2,2,2,2,2,2,2)" ""
	errno OK "re-insert" vset "$MNT/l1" 3,3,3,3,3,3,3,3
	eq "hit after re-insert" "$(vmhelper vquery $MNT 10 0 3,3,3,3,3,3,3,3)" "$i 0"
	eq "count after re-insert" "$(vcount)" 1
	for r in 1 2 3 4 5; do vmhelper vdel "$MNT/l1" >/dev/null; vmhelper vset "$MNT/l1" "$r,$r,0,0,0,0,0,0" >/dev/null; done
	eq "after 5 del/set rounds" "$(vmhelper vquery $MNT 10 0 5,5,0,0,0,0,0,0)" "$i 0"
	remount
	eq "rounds persisted" "$(vmhelper vquery $MNT 10 0 5,5,0,0,0,0,0,0)" "$i 0"
fi
end

begin vector_permission_filter
if vexfs_only && vfresh; then
	chmod 755 "$MNT"
	mkdir -m 755 "$MNT/sec" "$MNT/pub"
	# 200 secrets (0600, root) nearer to the query than any public file:
	# the unprivileged query must look past all of them
	eq "import secrets" "$(vmhelper vimport $MNT/sec 0 200 11)" "done=200"
	chmod 600 "$MNT"/sec/*
	i=1
	for f in p1 p2 p3; do
		echo $f >"$MNT/pub/$f"
		chmod 644 "$MNT/pub/$f"
		vmhelper vset "$MNT/pub/$f" "$((300 + i)),300,300,300,300,300,300,300" >/dev/null || note "vset $f"
		i=$((i + 1))
	done
	echo g >"$MNT/pub/grp"; chmod 640 "$MNT/pub/grp"; chgrp 1000 "$MNT/pub/grp"
	vmhelper vset "$MNT/pub/grp" "310,300,300,300,300,300,300,300" >/dev/null
	echo o >"$MNT/pub/own"; chmod 600 "$MNT/pub/own"; chown 1000 "$MNT/pub/own"
	vmhelper vset "$MNT/pub/own" "320,300,300,300,300,300,300,300" >/dev/null
	ip1=$(ino $MNT/pub/p1) ip2=$(ino $MNT/pub/p2) ip3=$(ino $MNT/pub/p3)
	ig=$(ino $MNT/pub/grp) io=$(ino $MNT/pub/own)
	eq "count" "$(vcount)" 205
	q=0,0,0,0,0,0,0,0
	vmhelper vquery "$MNT" 3 0 $q >/tmp/root.q
	eq "root sees secrets" "$(cut -d' ' -f1 /tmp/root.q | while read -r n; do [ $n = $ip1 ] || [ $n = $ip2 ] || [ $n = $ip3 ] || echo s; done | wc -l)" 3
	for mode in "" exact; do
		eq "uid 1000 k=3 $mode" "$(vmhelper --uid 1000 vquery $MNT 3 0 $q $mode | cut -d' ' -f1 | tr '\n' ' ')" "$ip1 $ip2 $ip3 "
		eq "uid 1000 k=1 $mode" "$(vmhelper --uid 1000 vquery $MNT 1 0 $q $mode | cut -d' ' -f1)" "$ip1"
		eq "uid 1000 k=100 $mode" "$(vmhelper --uid 1000 vquery $MNT 100 0 $q $mode | cut -d' ' -f1 | tr '\n' ' ')" "$ip1 $ip2 $ip3 $ig $io "
		eq "uid 2000 (no group) k=100 $mode" "$(vmhelper --uid 2000 vquery $MNT 100 0 $q $mode | cut -d' ' -f1 | tr '\n' ' ')" "$ip1 $ip2 $ip3 "
		eq "uid 1000 in sec/" "$(vmhelper --uid 1000 vquery $MNT/sec 10 0 $q $mode)" ""
		ok "uid 1000 in sec/ succeeds" vmhelper --uid 1000 vquery "$MNT/sec" 10 0 $q $mode
	done
	eq "uid 1000 through a file fd" "$(vmhelper --uid 1000 vquery $MNT/pub/p2 2 0 $q | cut -d' ' -f1 | tr '\n' ' ')" "$ip1 $ip2 "
	# secrets never appear, whatever the query point
	for n in 0 50 199; do
		v=$(vmhelper vgen 8 11 $n)
		eq "root finds secret $n" "$(vmhelper vquery $MNT 1 0 $v | cut -d' ' -f2)" 0
		vmhelper --uid 1000 vquery "$MNT" 1024 0 "$v" >/tmp/u.q || note "uid 1000 query $n failed"
		eq "uid 1000 near secret $n" "$(wc -l </tmp/u.q)" 5
	done
	# writers need a descriptor open for writing, which permissions refuse
	errno EACCES "uid 1000 set on a 0644 root file" --uid 1000 vset "$MNT/pub/p1" 1,1,1,1,1,1,1,1
	errno EACCES "uid 1000 del on a 0644 root file" --uid 1000 vdel "$MNT/pub/p1"
	errno EACCES "uid 1000 get on a 0600 root file" --uid 1000 vget "$MNT/sec/v00000"
	eq "uid 1000 get on a 0644 file" "$(vmhelper --uid 1000 vget $MNT/pub/p1)" "301,300,300,300,300,300,300,300"
	errno OK "uid 1000 set on its own file" --uid 1000 vset "$MNT/pub/own" 1,1,1,1,1,1,1,1
	ok "uid 1000 info" vmhelper --uid 1000 vinfo "$MNT"
	eq "p1 unchanged" "$(vmhelper vget $MNT/pub/p1)" "301,300,300,300,300,300,300,300"
	eq "uid 1000 nearest is now its own file" "$(vmhelper --uid 1000 vquery $MNT 1 0 1,1,1,1,1,1,1,1)" "$io 0"
	# permission changes take effect at once
	chmod 644 "$MNT/sec/v00007"
	v=$(vmhelper vgen 8 11 7)
	eq "made readable" "$(vmhelper --uid 1000 vquery $MNT 1 0 $v)" "$(ino $MNT/sec/v00007) 0"
	chmod 600 "$MNT/pub/p1"
	vmhelper --uid 1000 vquery "$MNT" 1024 0 $q | grep -q "^$ip1 " && note "p1 visible after chmod 600"
fi
end

# A query shows a file only through directories the caller may search (x),
# as a path lookup would: a user who cannot enter a directory learns nothing
# of the files below it, not even their inode numbers.
begin vector_search_permission
if vexfs_only && vfresh; then
	chmod 755 "$MNT"
	mkdir -m 755 "$MNT/pub"
	mkdir -m 700 "$MNT/hid"
	mkdir -p -m 755 "$MNT/top/mid/low"
	chmod 700 "$MNT/top"
	for f in pub/a hid/b top/mid/low/c; do
		echo x >"$MNT/$f"; chmod 644 "$MNT/$f"
	done
	vmhelper vset "$MNT/pub/a" "$(unit 1)" >/dev/null
	vmhelper vset "$MNT/hid/b" "$(unit 2)" >/dev/null
	vmhelper vset "$MNT/top/mid/low/c" "$(unit 3)" >/dev/null
	a=$(ino $MNT/pub/a) b=$(ino $MNT/hid/b) c=$(ino $MNT/top/mid/low/c)
	q=0,0,0,0,0,0,0,0
	for mode in "" exact; do
		eq "root sees all $mode" "$(vmhelper vquery $MNT 10 0 $q $mode | cut -d' ' -f1 | tr '\n' ' ')" "$a $b $c "
		eq "uid 1000: only through searchable dirs $mode" "$(vmhelper --uid 1000 vquery $MNT 10 0 $q $mode | cut -d' ' -f1 | tr '\n' ' ')" "$a "
		# (it cannot even open a directory below one it may not search)
		errno EACCES "uid 1000: subtree below an unsearchable dir $mode" --uid 1000 vquery "$MNT/top/mid" 10 0 $q $mode
	done
	chmod 711 "$MNT/hid"
	eq "x on hid is enough" "$(vmhelper --uid 1000 vquery $MNT 10 0 $q | cut -d' ' -f1 | tr '\n' ' ')" "$a $b "
	chmod 701 "$MNT/top"
	eq "x on every level" "$(vmhelper --uid 1000 vquery $MNT 10 0 $q | cut -d' ' -f1 | tr '\n' ' ')" "$a $b $c "
	chmod 700 "$MNT/top/mid"
	eq "one level without x" "$(vmhelper --uid 1000 vquery $MNT 10 0 $q | cut -d' ' -f1 | tr '\n' ' ')" "$a $b "
	chmod 700 "$MNT/hid"
	# moves and links follow the file
	mv "$MNT/pub/a" "$MNT/hid/a"
	eq "moved into hid" "$(vmhelper --uid 1000 vquery $MNT 10 0 $q | cut -d' ' -f1 | tr '\n' ' ')" ""
	mv "$MNT/hid/a" "$MNT/pub/a"
	ln "$MNT/pub/a" "$MNT/hid/a2"
	rm "$MNT/hid/a2"
	eq "moved back, extra link gone" "$(vmhelper --uid 1000 vquery $MNT 10 0 $q | cut -d' ' -f1 | tr '\n' ' ')" "$a "
	echo y >"$MNT/pub/l"; chmod 644 "$MNT/pub/l"
	vmhelper vset "$MNT/pub/l" "$(unit 4)" >/dev/null
	l=$(ino $MNT/pub/l)
	ln "$MNT/pub/l" "$MNT/hid/l"
	rm "$MNT/pub/l"
	eq "last searchable link removed" "$(vmhelper --uid 1000 vquery $MNT 10 0 $q | cut -d' ' -f1 | tr '\n' ' ')" "$a "
	eq "root still finds it" "$(vmhelper vquery $MNT 10 0 $(unit 4) | head -n1 | cut -d' ' -f1)" "$l"
	remount
	eq "after remount" "$(vmhelper --uid 1000 vquery $MNT 10 0 $q | cut -d' ' -f1 | tr '\n' ' ')" "$a "
	# the breadth is bounded for everyone (VEXFS_MAX_EF); what is allowed is honoured
	errno ERANGE "uid 1000 ef=0xffffffff" --uid 1000 vquery "$MNT" 10 0xffffffff $q
	errno ERANGE "ef=8193" vquery "$MNT" 10 8193 $q
	ok "ef=8192" vmhelper vquery "$MNT" 10 8192 $q
	eq "uid 1000 ef=1" "$(vmhelper --uid 1000 vquery $MNT 1 1 $q | cut -d' ' -f1)" "$a"
	errno ERANGE "uid 1000 ef=0xffffffff exact" --uid 1000 vquery "$MNT" 10 0xffffffff $q exact
fi
end
