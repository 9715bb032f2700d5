# Query hits carry their paths (VEXFS_IOC_QUERY paths, VER1): relative to the
# directory queried, built in the kernel from each level's hinted link; they
# follow renames of directories; a file whose hinted link was removed has
# none (vexctl prints <ino N>); paths longer than PATH_MAX - 1 are ""; a
# too-small paths buffer is EOVERFLOW with the bytes needed; the first ABI's
# 40-byte struct (and its request number) still works and gets no paths.
# vexctl search prints the kernel's paths (it no longer walks the tree).

# qp PATH [K]: the paths of an exact query for unit(0) at PATH, space-separated
qp() { vmhelper vqpaths "$1" "${2:-10}" 0 "$(unit 0)" | cut -d' ' -f3 | tr '\n' ' '; }
# vxp PATH [K]: the paths vexctl search prints, space-separated
vxp() { vexctl search "$1" -k "${2:-10}" --exact --vector "$(unit 0)" | awk '{ print $3 }' | tr '\n' ' '; }

begin query_paths
if vexfs_only && vfresh; then
	mkdir -p "$MNT/a/b/c" "$MNT/x"
	for f in a/b/c/deep:1 a/b/mid:2 a/top:3 root1:4 x/y:5; do
		echo "${f%%:*}" >"$MNT/${f%%:*}"
		vmhelper vset "$MNT/${f%%:*}" "$(unit ${f##*:})" >/dev/null || note "vset $f"
	done
	eq "paths at the root" "$(qp $MNT)" "a/b/c/deep a/b/mid a/top root1 x/y "
	eq "paths in a/" "$(qp $MNT/a)" "b/c/deep b/mid top "
	eq "paths in a/b/" "$(qp $MNT/a/b)" "c/deep mid "
	eq "paths in a/b/c/" "$(qp $MNT/a/b/c)" "deep "
	eq "HNSW search, paths in a/" "$(vmhelper vqpaths $MNT/a 10 0 $(unit 0) | cut -d' ' -f3 | tr '\n' ' ')" "b/c/deep b/mid top "
	# a query on a file searches (and names paths from) the root
	eq "paths through a file" "$(qp $MNT/a/top 2)" "a/b/c/deep a/b/mid "
	# the hits are those of a query without paths
	eq "same hits as without paths" "$(vmhelper vqpaths $MNT 10 0 $(unit 0) | cut -d' ' -f1,2)" "$(vmhelper vquery $MNT 10 0 $(unit 0) exact)"
	if command -v vexctl >/dev/null; then
		eq "vexctl search a/" "$(vxp $MNT/a)" "$MNT/a/b/c/deep $MNT/a/b/mid $MNT/a/top "
		eq "vexctl search on a file" "$(vxp $MNT/x/y 1)" "$MNT/a/b/c/deep "
	else
		note "vexctl is not in the guest"
	fi
	# a renamed directory: the paths follow, at once and after a remount
	mv "$MNT/a/b" "$MNT/x/bb"
	eq "after mv a/b x/bb, root" "$(qp $MNT)" "x/bb/c/deep x/bb/mid a/top root1 x/y "
	eq "after mv a/b x/bb, x/" "$(qp $MNT/x)" "bb/c/deep bb/mid y "
	eq "after mv a/b x/bb, a/" "$(qp $MNT/a)" "top "
	mv "$MNT/x/bb/c/deep" "$MNT/x/bb/c/deeper"
	remount "$DEV_MAIN" "$MNT"
	drop_caches
	eq "after a rename and a remount" "$(qp $MNT/x)" "bb/c/deeper bb/mid y "
	# hard links: removing a link that is not the hinted one keeps the path;
	# removing the hinted one leaves none (root sees "", uid 1000 nothing)
	ln "$MNT/a/top" "$MNT/x/t2"
	rm "$MNT/x/t2"
	eq "other link removed" "$(qp $MNT/a)" "top "
	ln "$MNT/root1" "$MNT/a/r1link"
	rm "$MNT/root1"
	eq "hinted link removed, root" "$(qp $MNT)" "x/bb/c/deeper x/bb/mid a/top - x/y "
	# (a small subtree is searched over its own entries: a/r1link is found)
	eq "hinted link removed, a/" "$(qp $MNT/a)" "top - "
	eq "hinted link removed, uid 1000" "$(vmhelper --uid 1000 vqpaths $MNT 10 0 $(unit 0) | cut -d' ' -f3 | tr '\n' ' ')" "x/bb/c/deeper x/bb/mid a/top x/y "
	r1=$(ino "$MNT/a/r1link")
	if command -v vexctl >/dev/null; then
		vexctl search "$MNT" -k 4 --exact --vector "$(unit 0)" >/tmp/qp.out 2>&1
		eq "vexctl prints <ino N> for it" "$(sed -n 4p /tmp/qp.out | awk '{ print $3, $4 }')" "<ino $r1>"
	fi
	# a new link of such a file gives it a path again
	ln "$MNT/a/r1link" "$MNT/x/r1again"
	eq "relinked" "$(qp $MNT/x)" "bb/c/deeper bb/mid r1again y "
	# paths hidden from uid 1000 by a directory it may not search
	chmod 700 "$MNT/x/bb"
	eq "uid 1000, x/bb unsearchable" "$(vmhelper --uid 1000 vqpaths $MNT/x 10 0 $(unit 0) | cut -d' ' -f3 | tr '\n' ' ')" "r1again y "
	chmod 755 "$MNT/x/bb"
	umount_dir "$MNT"
fi
end

begin query_paths_buffer_and_old_abi
if vexfs_only && vfresh; then
	mkdir -p "$MNT/d/e"
	for f in d/e/one:1 d/two:2 three:3; do
		echo x >"$MNT/${f%%:*}"
		vmhelper vset "$MNT/${f%%:*}" "$(unit ${f##*:})" >/dev/null || note "vset $f"
	done
	# "d/e/one" "d/two" "three" and their NULs: 8 + 6 + 6 bytes
	eq "exact room" "$(vmhelper vqpaths $MNT 10 0 $(unit 0) 20 | cut -d' ' -f3 | tr '\n' ' ')" "d/e/one d/two three "
	eq "one byte short" "$(vmhelper vqpaths $MNT 10 0 $(unit 0) 19)" "EOVERFLOW paths_used=20"
	eq "no room" "$(vmhelper vqpaths $MNT 10 0 $(unit 0) 1)" "EOVERFLOW paths_used=20"
	eq "k=1 needs less" "$(vmhelper vqpaths $MNT 1 0 $(unit 0) 8 | cut -d' ' -f3)" "d/e/one"
	# the first ABI: 40-byte struct, its own request number, hits without paths
	eq "v0 struct and number" "$(vmhelper vquery0 $MNT 10 0 $(unit 0))" "$(vmhelper vquery $MNT 10 0 $(unit 0))"
	eq "v0 in a subtree" "$(vmhelper vquery0 $MNT/d 10 0 $(unit 0) | wc -l)" 2
	errno OK "size VER0 with this header's number" vprobe query-size-ver0 "$MNT"
	errno OK "size between VER0 and VER1" vprobe query-size-between "$MNT"
	errno EINVAL "size below VER0" vprobe query-size-small "$MNT"
	errno EINVAL "paths_len without paths" vprobe query-paths-len-only "$MNT"
	errno EFAULT "paths not writable" vprobe query-badpaths "$MNT"
	# a path longer than PATH_MAX - 1 is "": 17 levels of 250-byte names
	n=$(printf '%0250d' 0)
	# (built by moving a 9-level tree under an 8-level one: no path given to
	# a system call is longer than PATH_MAX)
	n8=$(i=0; while [ $i -lt 8 ]; do printf '%s/' "$n"; i=$((i + 1)); done)
	mkdir -p "$MNT/long/$n8" "$MNT/t/$n8$n" || note "mkdir -p failed"
	echo x >"$MNT/t/$n8$n/f"
	vmhelper vset "$MNT/t/$n8$n/f" "$(unit 50)" >/dev/null || note "vset the long file"
	mv "$MNT/t/$n" "$MNT/long/$n8" || note "mv into the long tree failed"
	eq "too long from the root" "$(vmhelper vqpaths $MNT 1 0 $(unit 50) | cut -d' ' -f3)" "-"
	# from two levels down it is 15 names and f: 15 * 251 + 1 bytes
	want=$(i=0; while [ $i -lt 15 ]; do printf '%s/' "$n"; i=$((i + 1)); done; printf f)
	got=$(cd "$MNT/long/$n/$n" && vmhelper vqpaths . 1 0 "$(unit 50)" | cut -d' ' -f3)
	eq "long path length" "${#got}" "${#want}"
	[ "$got" = "$want" ] || note "long path differs from the expected one"
	umount_dir "$MNT"
fi
end
