# renameat2 RENAME_WHITEOUT (what overlayfs uses: a 0:0 character device
# left at the old name, in the same transaction) and FITRIM (fstrim): the
# free space is discarded, the files are untouched; ext4 is the reference.
begin rename_whiteout
if fresh; then
	echo a >"$MNT/a"
	errno OK "whiteout" rename2 whiteout "$MNT/a" "$MNT/b"
	content "$MNT/b" a
	eq "whiteout type" "$(st %F $MNT/a)" "character special file"
	eq "whiteout rdev" "$(st %t:%T $MNT/a)" 0:0
	eq "whiteout mode" "$(st %a $MNT/a)" 0
	errno EINVAL "whiteout and exchange" rename2 whiteout,exchange "$MNT/b" "$MNT/a"
	echo c >"$MNT/c"
	errno EEXIST "whiteout noreplace" rename2 whiteout,noreplace "$MNT/c" "$MNT/b"
	errno OK "whiteout over a file" rename2 whiteout "$MNT/c" "$MNT/b"
	content "$MNT/b" c
	eq "second whiteout" "$(st %F:%t:%T $MNT/c)" "character special file:0:0"
	mkdir "$MNT/d" "$MNT/e"
	echo x >"$MNT/d/x"
	errno OK "whiteout across directories" rename2 whiteout "$MNT/d/x" "$MNT/e/x"
	eq "whiteout in the old directory" "$(st %F $MNT/d/x)" "character special file"
	errno OK "whiteout of a directory" rename2 whiteout "$MNT/e" "$MNT/f"
	eq "directory moved" "$(st %F $MNT/f)" directory
	eq "directory whiteout" "$(st %F $MNT/e)" "character special file"
	eq "root links" "$(st %h $MNT)" 4
	mkdir "$MNT/u"; echo y >"$MNT/u/y"; chown -R 1000 "$MNT/u"
	# unprivileged since Linux 5.8; the whiteout is the caller's
	errno OK "as a user" --uid 1000 rename2 whiteout "$MNT/u/y" "$MNT/u/z"
	eq "user's whiteout" "$(st %F:%u $MNT/u/y)" "character special file:1000"
	remount
	eq "whiteout after remount" "$(st %F:%t:%T $MNT/a)" "character special file:0:0"
	content "$MNT/b" c
	content "$MNT/f/x" x
	ok "whiteouts can be removed" rm "$MNT/a" "$MNT/c" "$MNT/d/x" "$MNT/e"
fi
end

begin fitrim
if fresh; then
	dd if=/dev/urandom of="$MNT/big" bs=1M count=64 2>/dev/null
	echo keep >"$MNT/keep"
	sync; rm "$MNT/big"; sync
	r=$(vmhelper fitrim "$MNT" 0)
	case "$r" in
	EOPNOTSUPP) note "FITRIM: the disk has no discard" ;;
	*[!0-9]*|'') note "FITRIM: $r" ;;
	*) [ "$r" -ge 67108864 ] || note "FITRIM trimmed $r bytes, 64 MiB were freed" ;;
	esac
	errno EINVAL "minimum length past a group" fitrim "$MNT" 1073741824
	errno EPERM "as a user" --uid 1000 fitrim "$MNT" 0
	if command -v fstrim >/dev/null; then
		fstrim -v "$MNT" >/tmp/fstrim.out 2>&1 || note "fstrim failed: $(cat /tmp/fstrim.out)"
		grep -q trimmed /tmp/fstrim.out || note "fstrim: $(cat /tmp/fstrim.out)"
	fi
	content "$MNT/keep" keep
	remount
	content "$MNT/keep" keep
	echo new >"$MNT/new"
	content "$MNT/new" new
fi
end
