# The module's AVX2/FMA distance kernels (kmod/simd.c, kmod/simd): the load
# message, the simd= and simd_calls parameters, and the same answers with
# simd=Y and simd=N (scalar code) for 20 queries, HNSW and exact, under the
# l2, cosine and ip metrics. qemu's -cpu max has AVX2 and FMA under TCG.
# --- helpers (local to this case)
vexfs_only() { [ "$FSTYPE" = vexfs ] || { skip "the SIMD kernels are VexFS-only"; return 1; }; }
P=/sys/module/vexfs/parameters
calls() { cat $P/simd_calls 2>/dev/null || echo "no-simd_calls"; }
sections() { cat $P/simd_sections 2>/dev/null || echo "no-simd_sections"; }
ino() { stat -c %i "$1"; }
cpu_simd() { grep -m1 '^flags' /proc/cpuinfo | grep -qw avx2 && grep -m1 '^flags' /proc/cpuinfo | grep -qw fma; }
# same_hits A B: "ino distance" lists A and B agree: same length, distances
# equal within 1e-4 relative, same inode at each rank except swaps of
# neighbours whose distances are within 1e-4 relative. Prints the first
# difference and fails otherwise.
same_hits() {
	awk -v rel=1e-4 '
		function abs(x) { x += 0; return x < 0 ? -x : x } # (busybox awk: numbers, not strings)
		function near(x, y,   m) { x += 0; y += 0; m = abs(x) > abs(y) ? abs(x) : abs(y); return abs(x - y) <= rel * (m > 1e-6 ? m : 1e-6) }
		FNR == NR { ai[NR] = $1; ad[NR] = $2; na = NR; next }
		{ bi[FNR] = $1; bd[FNR] = $2; nb = FNR }
		END {
			if (na != nb) { print "lengths " na " and " nb; exit 1 }
			for (i = 1; i <= na; i++) {
				if (!near(ad[i], bd[i])) { print "rank " i ": distance " ad[i] " vs " bd[i]; exit 1 }
				if (ai[i] == bi[i]) continue
				if (i < na && ai[i] == bi[i + 1] && ai[i + 1] == bi[i] && near(ad[i], ad[i + 1])) { i++; continue }
				print "rank " i ": inode " ai[i] " (" ad[i] ") vs " bi[i] " (" bd[i] ")"; exit 1
			}
		}' "$1" "$2"
}
# ref_dist METRIC A B: l2/cosine/ip distance of two comma-separated vectors,
# in double precision (busybox awk has no sqrt: Newton's method)
ref_dist() {
	awk -v m="$1" -v a="$2" -v b="$3" '
	function root(x,   r, k) { r = x > 1 ? x : 1; for (k = 0; k < 200; k++) r = (r + x / r) / 2; return r }
	BEGIN {
		n = split(a, A, ","); split(b, B, ",")
		for (i = 1; i <= n; i++) { l2 += (A[i] - B[i]) * (A[i] - B[i]); ab += A[i] * B[i]; aa += A[i] * A[i]; bb += B[i] * B[i] }
		if (m == "l2") printf "%.9g\n", l2
		else if (m == "ip") printf "%.9g\n", -ab
		else printf "%.9g\n", 1 - ab / root(aa * bb)
	}'
}

begin simd_module
if vexfs_only; then
	cd /
	for m in /mnt/c /mnt/b /mnt/a; do grep -q " $m " /proc/mounts && umount "$m"; done
	fs_module_loaded && errno OK "rmmod" delmod vexfs
	if cpu_simd; then want="AVX2/FMA"; else want="scalar code"; fi
	n0=$(dmesg | grep -c "vexfs: vector distances use $want\$")
	ok "insmod" insmod "$FS_MODULE"
	eq "load message 'vexfs: vector distances use $want'" "$(dmesg | grep -c "vexfs: vector distances use $want\$")" $((n0 + 1))
	eq "CPU has AVX2 and FMA (qemu -cpu max)" "$want" "AVX2/FMA"
	eq "simd parameter" "$(cat $P/simd 2>&1)" Y
	eq "simd parameter mode" "$(stat -c %a $P/simd)" 644
	eq "simd_calls mode" "$(stat -c %a $P/simd_calls)" 444
	eq "simd_sections mode" "$(stat -c %a $P/simd_sections)" 444
	eq "simd_calls after load" "$(calls)" 0
	mkfs.vexfs -f -q $MKFS_VEXFS_ARGS --dim 16 --metric l2 "$DEV_MAIN" >/tmp/mkfs.out 2>&1 || note "mkfs: $(cat /tmp/mkfs.out)"
	if mount_dev "$DEV_MAIN" "$MNT"; then
		for i in 1 2 3 4 5; do echo $i >"$MNT/f$i"; vmhelper vset "$MNT/f$i" "$(vmhelper vgen 16 1 $i)" >/dev/null || note "vset f$i"; done
		c0=$(calls) s0=$(sections)
		vmhelper vquery "$MNT" 3 0 "$(vmhelper vgen 16 1 3)" exact >/tmp/q || note "query failed"
		c1=$(calls) s1=$(sections)
		[ "$c1" -ge $((c0 + 5)) ] 2>/dev/null || note "simd_calls $c0 -> $c1 after an exact query over 5 vectors (expected +5 or more)"
		# the distances come in batches: one FPU section for several of them
		[ "$s1" -gt "$s0" ] && [ $((s1 - s0)) -lt $((c1 - c0)) ] 2>/dev/null ||
			note "simd_sections $s0 -> $s1 for $((c1 - c0)) distances (expected fewer sections than distances)"
		eq "nearest" "$(head -n 1 /tmp/q)" "$(ino $MNT/f3) 0"
		echo N >$P/simd || note "cannot write N to $P/simd"
		eq "simd parameter after writing N" "$(cat $P/simd)" N
		vmhelper vquery "$MNT" 3 0 "$(vmhelper vgen 16 1 3)" exact >/tmp/q2 || note "query failed (N)"
		eq "simd_calls with simd=N" "$(calls)" "$c1"
		eq "same answer with simd=N" "$(cat /tmp/q2)" "$(cat /tmp/q)"
		echo Y >$P/simd
		eq "simd parameter restored" "$(cat $P/simd)" Y
		umount_dir "$MNT"
	fi
	# only root may switch it
	vmhelper --uid 1000 open $P/simd wronly >/tmp/o 2>&1
	eq "uid 1000 opens simd for writing" "$(head -n 1 /tmp/o)" EACCES
fi
end

# simd_vs_scalar METRIC SEED: 300 files of dim 64, 20 queries (k=10, HNSW and
# exact) with simd=Y and simd=N
simd_vs_scalar() {
	_m=$1 _s=$2
	umount "$MNT" 2>/dev/null
	load_fs || return 1
	mkfs.vexfs -f -q $MKFS_VEXFS_ARGS --dim 64 --metric "$_m" "$DEV_MAIN" >/tmp/mkfs.out 2>&1 ||
		{ note "mkfs --dim 64 --metric $_m: $(tail -n 3 /tmp/mkfs.out)"; return 1; }
	mount_dev "$DEV_MAIN" "$MNT" || return 1
	mkdir "$MNT/d"
	echo Y >$P/simd
	eq "import" "$(vmhelper vimport $MNT/d 0 300 $_s)" "done=300" || return 1
	rm -rf /tmp/sq; mkdir /tmp/sq
	for mode in Y N; do
		echo $mode >$P/simd
		eq "simd=$mode" "$(cat $P/simd)" $mode
		c0=$(calls)
		q=0
		while [ $q -lt 20 ]; do
			v=$(vmhelper vgen 64 $((_s + 1000)) $q)
			vmhelper vquery "$MNT" 10 0 "$v" >/tmp/sq/$mode.h.$q 2>&1 || note "simd=$mode query $q: $(cat /tmp/sq/$mode.h.$q)"
			vmhelper vquery "$MNT" 10 0 "$v" exact >/tmp/sq/$mode.e.$q 2>&1 || note "simd=$mode exact query $q: $(cat /tmp/sq/$mode.e.$q)"
			q=$((q + 1))
		done
		c1=$(calls)
		if [ $mode = Y ]; then
			# every exact query computes 300 distances
			[ "$c1" -ge $((c0 + 20 * 300)) ] 2>/dev/null || note "simd=Y: simd_calls $c0 -> $c1, expected at least +6000"
			echo "  $_m: simd=Y: $((c1 - c0)) SIMD distance calls for 40 queries"
		else
			eq "simd=N: simd_calls unchanged" "$c1" "$c0"
		fi
	done
	echo Y >$P/simd
	bad=0 miss=0
	q=0
	while [ $q -lt 20 ]; do
		for t in h e; do
			eq "simd=Y $t.$q: 10 hits" "$(wc -l </tmp/sq/Y.$t.$q)" 10
			if ! same_hits /tmp/sq/Y.$t.$q /tmp/sq/N.$t.$q >/tmp/sq/diff; then
				bad=$((bad + 1))
				[ $bad -le 3 ] && note "$_m query $q ($t): simd=Y and N differ: $(cat /tmp/sq/diff)"
			fi
		done
		# distances sorted, and HNSW finds the exact nearest
		cut -d' ' -f2 /tmp/sq/Y.e.$q >/tmp/sq/d1; sort -g /tmp/sq/d1 >/tmp/sq/d2
		cmp -s /tmp/sq/d1 /tmp/sq/d2 || note "$_m query $q: exact hits not sorted"
		[ "$(head -n 1 /tmp/sq/Y.h.$q | cut -d' ' -f1)" = "$(head -n 1 /tmp/sq/Y.e.$q | cut -d' ' -f1)" ] || miss=$((miss + 1))
		q=$((q + 1))
	done
	echo "  $_m: $bad of 40 result lists differ between simd=Y and N; HNSW missed the nearest $miss/20 times"
	[ $bad -le 3 ] || note "$_m: $bad of 40 result lists differ between simd=Y and N"
	[ $miss -le 2 ] || note "$_m: HNSW missed the exact nearest in $miss of 20 queries"
	# the distances themselves, against double precision in awk
	for q in 0 7 19; do
		v=$(vmhelper vgen 64 $((_s + 1000)) $q)
		set -- $(head -n 1 /tmp/sq/Y.e.$q)
		i=$(ls -i "$MNT/d" | awk -v n="$1" '$1 == n { print $2 }')
		w=$(ref_dist "$_m" "$v" "$(vmhelper vgen 64 $_s $((1${i#v} - 100000)))")
		echo "$1 $w" >/tmp/sq/ref
		echo "$1 $2" >/tmp/sq/got
		same_hits /tmp/sq/ref /tmp/sq/got >/tmp/sq/diff || note "$_m query $q: nearest $i at $2, double precision says $w"
	done
	umount_dir "$MNT"
}

for metric in l2 cosine ip; do
	begin simd_vs_scalar_$metric
	vexfs_only && simd_vs_scalar $metric $(( ${#metric} + 10 ))
	end
done
# whatever happened: the module as it loads
[ -w $P/simd ] && echo Y >$P/simd

# The caller's ef is the breadth the kernel searches with (the shim once
# asked the core for at least 32 candidates, so any ef below 32 became 32):
# counted in distances (simd_calls).
begin query_breadth_honoured
if vexfs_only && cpu_simd; then
	cd /
	grep -q " $MNT " /proc/mounts && umount "$MNT"
	echo Y >$P/simd
	mkfs.vexfs -f -q $MKFS_VEXFS_ARGS --dim 16 --metric l2 "$DEV_MAIN" >/tmp/mkfs.out 2>&1 || note "mkfs: $(cat /tmp/mkfs.out)"
	if mount_dev "$DEV_MAIN" "$MNT"; then
		mkdir "$MNT/v"
		eq "import" "$(vmhelper vimport $MNT/v 0 600 5)" "done=600"
		q=$(vmhelper vgen 16 5 77)
		c0=$(calls)
		vmhelper vquery "$MNT" 1 1 "$q" >/dev/null || note "query ef=1"
		c1=$(calls)
		vmhelper vquery "$MNT" 1 32 "$q" >/dev/null || note "query ef=32"
		c2=$(calls)
		[ $((c1 - c0)) -lt $((c2 - c1)) ] ||
			note "ef=1 computed $((c1 - c0)) distances, ef=32 $((c2 - c1)): ef not honoured"
		eq "ef=1 answers k=1" "$(vmhelper vquery $MNT 1 1 $q | wc -l)" 1
		umount_dir "$MNT"
	fi
fi
end
