# The kernel memory the vectors take is reclaimable: slot blocks and graph
# row blocks are read on demand into bounded caches with a shrinker.
# drop_caches empties them, the answers stay the same, a mount reads no
# vector block, and the module's vec_cache_mb bounds them.
# (vector helpers: vexfs_only, vinfo_field, vcount are in lib.sh)
CDIM=64
CN=3000

csnapshot() {
	for n in 3 42 777 1500 2999; do
		v=$(vmhelper vgen $CDIM 7 $((n + 5000)))
		echo "q$n"; vmhelper vquery "$MNT" 10 0 "$v"
		echo "q$n exact"; vmhelper vquery "$MNT" 10 0 "$v" exact
	done >"$1" 2>&1
	for n in 0 1234 2999; do
		echo "v$n $(vmhelper vget $MNT/c/v$(printf %05d $n) 2>&1)"
	done >>"$1"
}

sunreclaim() { awk '/^SUnreclaim:/ {print $2}' /proc/meminfo; }

begin vector_cache_reclaim
if vexfs_only && load_fs; then
	umount "$MNT" 2>/dev/null
	mkfs.vexfs -f -q $MKFS_VEXFS_ARGS --dim $CDIM --metric l2 "$DEV_MAIN" >/tmp/mkfs.out 2>&1 ||
		note "mkfs --dim $CDIM failed: $(tail -n 3 /tmp/mkfs.out)"
	mount_dev "$DEV_MAIN" "$MNT"
	mkdir "$MNT/c"
	eq "import $CN" "$(vmhelper vimport $MNT/c 0 $CN 7)" "done=$CN"
	eq "count" "$(vcount)" $CN
	eq "budget (default 32 MiB)" "$(vinfo_field cache_budget $MNT)" $((32 << 20))
	csnapshot /tmp/c1
	raw=$((CN * CDIM * 4))
	b1=$(vinfo_field cache_bytes $MNT)
	s1=$(sunreclaim)
	# exact queries read every slot block: the cache holds them all now
	[ "$b1" -ge $((raw / 2)) ] || note "cache_bytes $b1 after exact queries, raw vectors $raw bytes"
	# committed first: graph blocks the running transaction changed are
	# pinned until its commit writes them
	sync
	drop_caches
	b2=$(vinfo_field cache_bytes $MNT)
	s2=$(sunreclaim)
	echo "  raw vectors $raw bytes; cache $b1 -> $b2 bytes after drop_caches" \
		"($(awk -v b=$b2 -v n=$CN 'BEGIN{printf "%.2f", b/n}') bytes/vector);" \
		"SUnreclaim ${s1} -> ${s2} kB; graph $(vinfo_field index_bytes $MNT) bytes"
	[ $((b2 * 20)) -lt "$b1" ] || note "cache $b1 -> $b2 bytes: drop_caches did not shrink it"
	csnapshot /tmp/c2
	diff /tmp/c1 /tmp/c2 >/tmp/cdiff || note "answers differ after drop_caches: $(head -c 250 /tmp/cdiff)"
	[ "$(vinfo_field cache_misses $MNT)" -gt 0 ] || note "no cache misses counted"
	remount
	eq "no vector block cached after mount" "$(vinfo_field cache_bytes $MNT)" 0
	eq "no slot or graph block read at mount" "$(vinfo_field cache_misses $MNT)" 0
	csnapshot /tmp/c3
	diff /tmp/c1 /tmp/c3 >/tmp/cdiff || note "answers differ after remount: $(head -c 250 /tmp/cdiff)"
	# a 1 MiB budget (module parameter, read at mount) bounds the cache
	echo 1 >/sys/module/vexfs/parameters/vec_cache_mb
	remount
	eq "budget 1 MiB" "$(vinfo_field cache_budget $MNT)" $((1 << 20))
	csnapshot /tmp/c4
	diff /tmp/c1 /tmp/c4 >/tmp/cdiff || note "answers differ with a 1 MiB cache: $(head -c 250 /tmp/cdiff)"
	b4=$(vinfo_field cache_bytes $MNT)
	[ "$b4" -le $((1 << 20)) ] || note "cache_bytes $b4 over the 1 MiB budget"
	echo 32 >/sys/module/vexfs/parameters/vec_cache_mb
	remount
fi
end
