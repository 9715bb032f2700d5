# name length limits and odd names
begin name_lengths
if fresh; then
	n255=$(printf 'a%.0s' $(seq 1 255))
	n256=${n255}b
	errno OK "create 255-byte name" open "$MNT/$n255" wronly,creat
	exists "$MNT/$n255"
	eq "ls shows it" "$(ls $MNT)" "$n255"
	echo data >"$MNT/$n255"
	errno ENAMETOOLONG "create 256-byte name" open "$MNT/$n256" wronly,creat
	errno ENAMETOOLONG "lookup 256-byte name" open "$MNT/$n256" rdonly
	errno ENAMETOOLONG "mkdir 256-byte name" mkdir "$MNT/$n256"
	errno ENAMETOOLONG "symlink 256-byte name" symlink x "$MNT/$n256"
	errno ENAMETOOLONG "rename to 256-byte name" rename "$MNT/$n255" "$MNT/$n256"
	d255=$(printf 'D%.0s' $(seq 1 255))
	errno OK "mkdir 255-byte name" mkdir "$MNT/$d255"
	errno OK "file in 255-byte dir" open "$MNT/$d255/$n255" wronly,creat
	remount
	content "$MNT/$n255" data
	exists "$MNT/$d255/$n255"
	errno OK "unlink 255" unlink "$MNT/$n255"
	eq "one entry left" "$(ls $MNT | wc -l)" 1
fi
end

begin odd_names
if fresh; then
	for n in ' space' 'tab	x' 'new
line' '-dash' '...' '.hidden' 'ünïcödé-€' "$(printf '\001\177\376')" '*?[' 'a\b'; do
		echo "$n" >"$MNT/$n" || note "create '$n' failed"
	done
	eq "count" "$(vmhelper countdir $MNT)" 10
	remount
	for n in ' space' 'tab	x' '...' '.hidden' 'ünïcödé-€' "$(printf '\001\177\376')" '*?[' 'a\b'; do
		[ "$(cat "$MNT/$n")" = "$n" ] || note "content of '$n' wrong after remount"
	done
	errno ENOENT "empty name" open "" rdonly
	errno EEXIST "mkdir ." mkdir "$MNT/."
fi
end
