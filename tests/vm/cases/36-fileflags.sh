# File flags through FS_IOC_GETFLAGS/SETFLAGS (chattr, lsattr): immutable,
# append-only, nodump, noatime, stored on disk and enforced; who may set
# them (CAP_LINUX_IMMUTABLE for i and a); statx birth time and attributes.
# ext4 is the reference (it also shows its own e "extents" flag, 0x80000,
# so flags are compared masked to the four bits).
flags4() { printf '%#x' $(($(vmhelper getflags "$1") & 0xf0)); }
lsa() { lsattr -d "$1" 2>&1 | cut -d' ' -f1 | tr -d 'e-'; }

begin fileflags_chattr
if ! command -v chattr >/dev/null; then
	skip "no chattr in the VM"
elif fresh; then
	echo data >"$MNT/f"
	eq "new file" "$(flags4 $MNT/f)" 0
	ok "chattr +i" chattr +i "$MNT/f"
	eq "getflags" "$(flags4 $MNT/f)" 0x10
	eq "lsattr" "$(lsa $MNT/f)" i
	errno EPERM "open for write" open "$MNT/f" wronly
	errno EPERM "unlink" unlink "$MNT/f"
	errno EPERM "rename" rename "$MNT/f" "$MNT/g"
	errno EPERM "link" link "$MNT/f" "$MNT/l"
	errno EPERM "truncate" truncate "$MNT/f" 0
	nok "chmod" chmod 600 "$MNT/f"
	eq "statx attributes" "$(vmhelper btime $MNT/f | cut -d' ' -f2)" 1
	errno EPERM "not the owner" --uid 1000 setflags "$MNT/f" 0
	ok "chattr -i" chattr -i "$MNT/f"
	errno OK "writable again" open "$MNT/f" wronly
	ok "chattr +a" chattr +a "$MNT/f"
	eq "lsattr a" "$(lsa $MNT/f)" a
	errno EPERM "open without O_APPEND" open "$MNT/f" wronly
	errno OK "open O_APPEND" open "$MNT/f" wronly,append
	echo more >>"$MNT/f"
	eq "appended" "$(cat $MNT/f | tr '\n' ' ')" "data more "
	errno EPERM "truncate append-only" truncate "$MNT/f" 0
	errno EPERM "unlink append-only" unlink "$MNT/f"
	ok "chattr -a +d +A" chattr -a +d +A "$MNT/f"
	eq "lsattr dA" "$(lsa $MNT/f)" dA
	eq "getflags dA" "$(flags4 $MNT/f)" 0xc0
	# noatime: reading does not move an old atime
	ok "old times" touch -d '2001-01-01 00:00:00' "$MNT/f"
	cat "$MNT/f" >/dev/null
	eq "atime kept (noatime)" "$(st %X $MNT/f)" "$(st %Y $MNT/f)"
	# the owner may set nodump, only CAP_LINUX_IMMUTABLE immutable
	echo u >"$MNT/u"; chown 1000 "$MNT/u"
	errno OK "owner sets nodump" --uid 1000 setflags "$MNT/u" 0x40
	errno EPERM "owner sets immutable" --uid 1000 setflags "$MNT/u" 0x10
	errno EPERM "owner sets append" --uid 1000 setflags "$MNT/u" 0x20
	# directories: immutable refuses new entries
	mkdir "$MNT/d"
	ok "chattr +i dir" chattr +i "$MNT/d"
	errno EPERM "create in immutable dir" open "$MNT/d/x" wronly,creat
	ok "chattr -i dir" chattr -i "$MNT/d"
	ok "chattr +i again" chattr +i "$MNT/f"
	remount
	eq "flags after remount" "$(flags4 $MNT/f)" 0xd0
	eq "lsattr after remount" "$(lsa $MNT/f)" idA
	errno EPERM "immutable after remount" open "$MNT/f" wronly
	eq "u after remount" "$(flags4 $MNT/u)" 0x40
	ok "clear" chattr -i -d -A "$MNT/f"
	eq "cleared" "$(flags4 $MNT/f)" 0
	if [ "$FSTYPE" = vexfs ]; then
		# flags VexFS does not keep are refused (ext4 has more of them)
		errno EOPNOTSUPP "unsupported flag" setflags "$MNT/f" 0x4000
	fi
fi
end

begin statx_btime
if fresh; then
	t0=$(date +%s)
	echo x >"$MNT/b"
	b=$(vmhelper btime "$MNT/b" | cut -d' ' -f1)
	[ "$b" -ge $((t0 - 1)) ] 2>/dev/null && [ "$b" -le $((t0 + 5)) ] || note "btime $b, created at $t0"
	eq "no attributes" "$(vmhelper btime $MNT/b | cut -d' ' -f2)" 0
	sleep 1
	echo y >>"$MNT/b"
	ok "touch" touch -d '2001-01-01 00:00:00' "$MNT/b"
	eq "btime unchanged by writes and utimes" "$(vmhelper btime $MNT/b | cut -d' ' -f1)" "$b"
	mkdir "$MNT/bd"
	[ "$(vmhelper btime $MNT/bd)" != NOBTIME ] || note "directory has no btime"
	remount
	eq "btime after remount" "$(vmhelper btime $MNT/b | cut -d' ' -f1)" "$b"
fi
end
