# Vectors, the index (graph rows on disk) and query results survive
# umount/mount (which reads no vector block) and
# rmmod/insmod; a 1,000-vector batch import; queries from several processes
# while another one inserts.
# (vector helpers: vexfs_only, vfresh, vinfo_field, vcount, ino, unit are in lib.sh)
# vsnapshot OUT: vectors of some files and the answers to some queries
vsnapshot() {
	{
		# the cache figures (bytes held, hits, misses) change with every read
		vmhelper vinfo "$MNT" | sed 's/ cache_bytes=.*//'
		for n in 0 1 17 99 150 199; do
			echo "v$n $(vmhelper vget $MNT/p/v$(printf %05d $n) 2>&1)"
		done
		for n in 3 42 77 123; do
			v=$(vmhelper vgen 8 5 $((n + 1000)))
			echo "q$n"; vmhelper vquery "$MNT" 10 0 "$v"
			echo "q$n exact"; vmhelper vquery "$MNT" 10 0 "$v" exact
			echo "q$n ef 200"; vmhelper vquery "$MNT" 25 200 "$v"
			echo "q$n sub"; vmhelper vquery "$MNT/p/sub" 5 0 "$v"
		done
	} >"$1" 2>&1
}

begin vector_persist
if vexfs_only && vfresh; then
	mkdir -p "$MNT/p/sub"
	eq "import" "$(vmhelper vimport $MNT/p 0 200 5)" "done=200"
	eq "import sub" "$(vmhelper vimport $MNT/p/sub 200 50 5)" "done=50"
	for n in 5 6 7 8 9 60 61; do rm "$MNT/p/v$(printf %05d $n)"; done
	vmhelper vdel "$MNT/p/v00010" >/dev/null
	vmhelper vset "$MNT/p/v00011" 1,2,3,4,5,6,7,8 >/dev/null
	vsnapshot /tmp/s1
	eq "count" "$(vcount)" 242
	remount
	# the mount reads nothing of the vector area (slots or graph rows)
	eq "no vector block read at mount" "$(vinfo_field cache_misses $MNT)" 0
	eq "nothing cached at mount" "$(vinfo_field cache_bytes $MNT)" 0
	vsnapshot /tmp/s2
	diff /tmp/s1 /tmp/s2 >/tmp/sdiff || note "differs after remount: $(head -c 250 /tmp/sdiff)"
	cd /
	umount_dir "$MNT"
	errno OK "rmmod" delmod vexfs
	ok "insmod" insmod "$FS_MODULE"
	mount_dev "$DEV_MAIN" "$MNT"
	vsnapshot /tmp/s3
	diff /tmp/s1 /tmp/s3 >/tmp/sdiff || note "differs after rmmod/insmod: $(head -c 250 /tmp/sdiff)"
	eq "v11" "$(vmhelper vget $MNT/p/v00011)" "1,2,3,4,5,6,7,8"
	errno ENODATA "v10 deleted" vget "$MNT/p/v00010"
	# more changes on the reloaded index, then once more
	eq "import more" "$(vmhelper vimport $MNT/p/sub 300 100 5)" "done=100"
	vsnapshot /tmp/s4
	eq "count" "$(vcount)" 342
	remount
	eq "no vector block read at the second mount" "$(vinfo_field cache_misses $MNT)" 0
	vsnapshot /tmp/s5
	diff /tmp/s4 /tmp/s5 >/tmp/sdiff || note "differs after the second remount: $(head -c 250 /tmp/sdiff)"
	grep -q "^q42 sub" /tmp/s5 || note "snapshot incomplete: $(head -c 200 /tmp/s5)"
fi
end

begin vector_batch_import_1000
if vexfs_only && vfresh; then
	mkdir "$MNT/imp"
	t0=$(cut -d' ' -f1 /proc/uptime)
	eq "import 1000" "$(vmhelper vimport $MNT/imp 0 1000 42)" "done=1000"
	t1=$(cut -d' ' -f1 /proc/uptime)
	echo "  1000 files + 1 BATCH_SET: $(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.1f", b-a}') s"
	eq "count" "$(vcount)" 1000
	eq "files" "$(vmhelper countdir $MNT/imp)" 1000
	echo "  $(vmhelper vinfo $MNT)"
	for n in 0 1 500 998 999; do
		eq "vector $n" "$(vmhelper vget $MNT/imp/v$(printf %05d $n))" "$(vmhelper vgen 8 42 $n)"
	done
	miss=0 recall=0
	for n in 0 13 137 256 511 600 777 999; do
		v=$(vmhelper vgen 8 42 $n)
		want=$(ino $MNT/imp/v$(printf %05d $n))
		eq "self query $n (exact)" "$(vmhelper vquery $MNT 1 0 $v exact)" "$want 0"
		[ "$(vmhelper vquery $MNT 1 0 $v)" = "$want 0" ] || miss=$((miss + 1))
		vmhelper vquery "$MNT" 10 0 "$v" exact | cut -d' ' -f1 | sort >/tmp/e.q
		vmhelper vquery "$MNT" 10 0 "$v" | cut -d' ' -f1 | sort >/tmp/h.q
		recall=$((recall + $(cat /tmp/e.q /tmp/h.q | sort | uniq -d | wc -l)))
	done
	echo "  HNSW: $miss/8 self-queries missed, recall@10 $recall/80"
	[ $miss -eq 0 ] || note "HNSW missed $miss of 8 self-queries"
	[ $recall -ge 72 ] || note "HNSW recall@10 $recall/80 < 90%"
	# distances are sorted
	vmhelper vquery "$MNT" 1024 0 0,0,0,0,0,0,0,0 >/tmp/all.q
	eq "k=1024 over 1000" "$(wc -l </tmp/all.q)" 1000
	cut -d' ' -f2 /tmp/all.q >/tmp/d1; sort -g /tmp/d1 >/tmp/d2
	cmp -s /tmp/d1 /tmp/d2 || note "k=1024 hits not sorted by distance"
	eq "distinct hits" "$(cut -d' ' -f1 /tmp/all.q | sort -u | wc -l)" 1000
	# a second batch over the same files replaces, does not add
	eq "re-import" "$(vmhelper vimport $MNT/imp 0 1000 43)" "done=1000"
	eq "count after re-import" "$(vcount)" 1000
	eq "vector 500 replaced" "$(vmhelper vget $MNT/imp/v00500)" "$(vmhelper vgen 8 43 500)"
	v=$(vmhelper vgen 8 42 500)
	vmhelper vquery "$MNT" 1 0 "$v" exact | grep -q " 0$" && note "old vector 500 still matches exactly"
fi
end

begin vector_concurrent
if vexfs_only && vfresh; then
	mkdir "$MNT/base" "$MNT/new"
	eq "import base" "$(vmhelper vimport $MNT/base 0 300 3)" "done=300"
	rm -f /tmp/qerr.*
	for w in 1 2 3; do
		(
			j=0
			while [ $j -lt 25 ]; do
				n=$(( (w * 97 + j * 31) % 300 ))
				v=$(vmhelper vgen 8 3 $n)
				want=$(ino $MNT/base/v$(printf %05d $n))
				out=$(vmhelper vquery "$MNT" 5 0 "$v" exact 2>&1) || echo "w$w q$j exact: $out" >>/tmp/qerr.$w
				[ "$(echo "$out" | head -n1)" = "$want 0" ] || echo "w$w q$j exact: want $want 0, got $(echo $out | head -c 80)" >>/tmp/qerr.$w
				[ "$(echo "$out" | wc -l)" = 5 ] || echo "w$w q$j: $(echo "$out" | wc -l) hits" >>/tmp/qerr.$w
				out=$(vmhelper vquery "$MNT/base" 5 0 "$v" 2>&1) || echo "w$w q$j hnsw: $out" >>/tmp/qerr.$w
				[ "$(echo "$out" | head -n1)" = "$want 0" ] || echo "w$w q$j hnsw: want $want 0, got $(echo $out | head -c 80)" >>/tmp/qerr.$w
				vmhelper vinfo "$MNT" >/dev/null || echo "w$w info failed" >>/tmp/qerr.$w
				j=$((j + 1))
			done
		) &
	done
	(
		b=0
		while [ $b -lt 10 ]; do
			vmhelper vimport "$MNT/new" $((b * 30)) 30 4 >/tmp/imp.out 2>&1 || echo "import $b: $(cat /tmp/imp.out)" >>/tmp/qerr.w
			b=$((b + 1))
		done
		i=0
		while [ $i -lt 30 ]; do
			echo s >"$MNT/new/s$i"
			vmhelper vset "$MNT/new/s$i" "$i,$i,$i,$i,-1,-1,-1,-1" >/dev/null || echo "vset s$i failed" >>/tmp/qerr.w
			i=$((i + 1))
		done
	) &
	wait
	errs=$(cat /tmp/qerr.* 2>/dev/null)
	[ -z "$errs" ] || note "concurrent errors: $(echo "$errs" | head -n 4)"
	eq "count" "$(vcount)" 630
	for n in 0 150 299; do
		v=$(vmhelper vgen 8 4 $n)
		eq "inserted $n found" "$(vmhelper vquery $MNT 1 0 $v)" "$(ino $MNT/new/v$(printf %05d $n)) 0"
	done
	eq "s29 found" "$(vmhelper vquery $MNT/new 1 0 29,29,29,29,-1,-1,-1,-1)" "$(ino $MNT/new/s29) 0"
	eq "base subtree excludes new" "$(vmhelper vquery $MNT/base 1 0 29,29,29,29,-1,-1,-1,-1 | cut -d' ' -f2 | grep -c '^0$')" 0
	remount
	eq "count after remount" "$(vcount)" 630
	eq "s29 after remount" "$(vmhelper vquery $MNT 1 0 29,29,29,29,-1,-1,-1,-1)" "$(ino $MNT/new/s29) 0"
fi
end
