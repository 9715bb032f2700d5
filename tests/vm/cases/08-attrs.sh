# chmod, chown, timestamps, truncate
begin chmod_chown
if fresh; then
	echo x >"$MNT/f"; mkdir "$MNT/d"
	ok chmod chmod 0640 "$MNT/f"
	eq "mode" "$(st %a $MNT/f)" 640
	ok "chmod suid/sticky" chmod 4755 "$MNT/f"
	eq "suid mode" "$(st %a $MNT/f)" 4755
	ok "chmod dir" chmod 1777 "$MNT/d"
	eq "sticky dir" "$(st %a $MNT/d)" 1777
	ok chown chown 1234:5678 "$MNT/f"
	eq "uid:gid" "$(st %u:%g $MNT/f)" 1234:5678
	eq "chown clears suid" "$(st %a $MNT/f)" 755
	ok "chmod back" chmod 0640 "$MNT/f"
	ok "chown dir" chown 42:43 "$MNT/d"
	ok "chown large ids" chown 100000:200000 "$MNT/d"
	c0=$(st %Z "$MNT/f")
	remount
	eq "mode after remount" "$(st %a $MNT/f)" 640
	eq "ids after remount" "$(st %u:%g $MNT/f)" 1234:5678
	eq "dir ids after remount" "$(st %u:%g:%a $MNT/d)" 100000:200000:1777
	[ "$(st %Z $MNT/f)" -ge "$c0" ] || note "ctime went back"
fi
end

begin timestamps
if fresh; then
	echo x >"$MNT/f"
	ok "touch -d" touch -d '2001-02-03 04:05:06' "$MNT/f"
	eq "mtime from touch -d" "$(date -u -d @$(st %Y $MNT/f) '+%Y-%m-%d %H:%M:%S')" "2001-02-03 04:05:06"
	errno OK "utimes" utimes "$MNT/f" 1000000000 1234567890
	eq "mtime" "$(st %Y $MNT/f)" 1234567890
	eq "atime" "$(st %X $MNT/f)" 1000000000
	errno OK "utimes far future" utimes "$MNT/f" 4000000000 4102444800
	eq "mtime 2100" "$(st %Y $MNT/f)" 4102444800
	errno OK "utimes before 1970" utimes "$MNT/f" 0 -86400
	eq "mtime 1969" "$(st %Y $MNT/f)" -86400
	errno OK "utimes again" utimes "$MNT/f" 1000000000 1234567890
	mkdir "$MNT/d"
	errno OK "utimes dir" utimes "$MNT/d" 111 222
	# writing updates mtime/ctime to now
	now=$(date +%s)
	echo more >>"$MNT/f"
	[ "$(st %Y $MNT/f)" -ge "$now" ] || note "mtime not updated by write: $(st %Y $MNT/f) < $now"
	[ "$(st %Z $MNT/f)" -ge "$now" ] || note "ctime not updated by write"
	m=$(st %Y "$MNT/f")
	# creating an entry updates the directory mtime
	errno OK "utimes dir again" utimes "$MNT/d" 111 222
	printf '' >"$MNT/d/new"
	[ "$(st %Y $MNT/d)" -ge "$now" ] || note "dir mtime not updated by create"
	remount
	eq "mtime after remount" "$(st %Y $MNT/f)" "$m"
	errno OK "utimes" utimes "$MNT/f" 1000000000 1234567890
	errno OK "utimens with nanoseconds" utimens "$MNT/d/new" 1500000000.123456789
	remount
	eq "utimes after remount" "$(st %X:%Y $MNT/f)" 1000000000:1234567890
	eq "nanoseconds after remount" "$(vmhelper stat $MNT/d/new | cut -d' ' -f7)" 1500000000.123456789
fi
end

begin truncate
if fresh; then
	echo "hello world" >"$MNT/f"
	ok "truncate down" truncate -s 5 "$MNT/f"
	eq "size 5" "$(st %s $MNT/f)" 5
	content "$MNT/f" hello
	ok "truncate up" truncate -s 8192 "$MNT/f"
	eq "size 8192" "$(st %s $MNT/f)" 8192
	eq "head kept" "$(vmhelper pread $MNT/f 0 5)" hello
	errno OK "extended part is zero" zerocheck "$MNT/f" 5 8187
	# stale data must not reappear after truncate down + up
	dd if=/dev/urandom of="$MNT/g" bs=4096 count=16 2>/dev/null
	errno OK "ftruncate into a block" ftruncate "$MNT/g" 10000
	errno OK "truncate up again" truncate "$MNT/g" 65536
	errno OK "no stale data after down+up" zerocheck "$MNT/g" 10000 55536
	drop_caches
	errno OK "no stale data after drop_caches" zerocheck "$MNT/g" 10000 55536
	errno OK "truncate to 0" truncate "$MNT/g" 0
	eq "size 0" "$(st %s $MNT/g)" 0
	errno OK "truncate to 5 GiB (sparse)" truncate "$MNT/g" 5368709120
	eq "5 GiB size" "$(st %s $MNT/g)" 5368709120
	errno OK "tail of sparse file is zero" zerocheck "$MNT/g" 5368705024 4096
	errno EISDIR "truncate a dir" truncate "$MNT" 0
	errno EINVAL "truncate negative" truncate "$MNT/f" -1
	remount
	eq "size after remount" "$(st %s $MNT/f)" 8192
	eq "head after remount" "$(vmhelper pread $MNT/f 0 5)" hello
	errno OK "zero after remount" zerocheck "$MNT/f" 5 8187
	errno OK "big sparse truncated to 0" truncate "$MNT/g" 0
fi
end
