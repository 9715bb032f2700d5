# In-VM benchmarks (tests/vm/run.sh --bench, `make bench-vm`): vector query
# throughput and recall through the ioctls on a mounted VexFS, against the
# same core in userspace on the same data in the same guest; and
# metadata-heavy work on VexFS against ext4 on the same virtual disk.
# Figures are ratios measured in one run; under TCG absolute numbers mean little.
. /etc/vmtest.conf
export PATH=/usr/local/sbin:/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
DEV=/dev/vdb
for s in /sys/block/vd*; do [ "$(cat $s/serial)" = vx-main ] && DEV=/dev/${s##*/}; done
MNT=/mnt/bench
set -e
insmod /lib/vexfs.ko
mkdir -p $MNT
# BENCH_ONLY=dir (host environment) runs the big-directory part alone.
[ "${BENCH_ONLY:-}" = dir ] || {
# dim 64 with both metrics, and dim 384 (sentence-embedding size) with L2.
for run in "64 l2 ${BENCH_N:-3000}" "64 cosine ${BENCH_N:-3000}" "384 l2 ${BENCH_N384:-2000}"; do
	set -- $run
	mkfs.vexfs -f -q --dim $1 --metric $2 $DEV
	mount -t vexfs $DEV $MNT
	echo "=== vectors: dim $1, metric $2, simd=$(cat /sys/module/vexfs/parameters/simd)"
	vexfs-vmbench $MNT --n $3 --queries ${BENCH_Q:-100} --k 10
	echo "SIMD distances so far: $(cat /sys/module/vexfs/parameters/simd_calls)"
	umount $MNT
done
# Metadata-heavy work on the same disk: VexFS against ext4 (data=ordered).
for fs in vexfs ext4; do
	if [ $fs = vexfs ]; then mkfs.vexfs -f -q $DEV; else mkfs.ext4 -q -F $DEV; fi
	mount -t $fs $DEV $MNT
	echo "=== metadata: $fs"
	vexfs-vmbench meta $MNT --n ${BENCH_META_N:-300} | tee /tmp/meta.$fs
	umount $MNT
done
awk '/create\+write\+fsync/ {v[FILENAME] = $5} END {
	if (v["/tmp/meta.ext4"] > 0) printf "ratio vexfs/ext4 create+write+fsync: %.2f\n", v["/tmp/meta.vexfs"] / v["/tmp/meta.ext4"]
}' /tmp/meta.vexfs /tmp/meta.ext4
}
# One big directory, VexFS against ext4 on the same disk in the same boot:
# BENCH_DIR_N (100,000) creates, stat hits (cold: after a remount), stat
# misses, readdir, unlinks; each op's total, its vexfs/ext4 ratio, and its
# flatness (last tenth / first tenth of the run).
N=${BENCH_DIR_N:-100000}
for fs in vexfs ext4; do
	if [ $fs = vexfs ]; then mkfs.vexfs -f -q -N $((N + 1000)) $DEV; else mkfs.ext4 -q -F -N $((N + 1000)) $DEV; fi
	mount -t $fs $DEV $MNT
	mkdir $MNT/d
	for op in create stat miss readdir unlink; do
		if [ $op = stat ]; then sync; umount $MNT; echo 3 >/proc/sys/vm/drop_caches; mount -t $fs $DEV $MNT; fi
		case $op in
		miss) set -- miss g ;;
		readdir) set -- readdir f ;;
		*) set -- $op f ;;
		esac
		if [ $1 = readdir ]; then
			t0=$(cut -d' ' -f1 /proc/uptime)
			c=$(vmhelper countdir $MNT/d)
			t1=$(cut -d' ' -f1 /proc/uptime)
			awk -v a=$t0 -v b=$t1 'BEGIN { printf "tenth 0 %.3f\n", (b - a) * 1000 }' >/tmp/dir.$fs.$op
		else
			c=$(VMHELPER_TENTHS=1 vmhelper names $1 $MNT/d $2 0 $N 2>/tmp/dir.$fs.$op)
		fi
		echo "bigdir $fs $op: $c of $N"
	done
	umount $MNT
done
echo "=== big directory, $N names: vexfs/ext4 (ms total; flatness = last tenth / first tenth)"
for op in create stat miss readdir unlink; do
	awk -v op=$op '
	/^tenth/ { f = (FILENAME ~ /vexfs/) ? "v" : "e"; t[f] += $3; if ($2 == 0) first[f] = $3; last[f] = $3 }
	END {
		r = t["e"] > 0 ? t["v"] / t["e"] : 0
		fv = first["v"] > 0 ? last["v"] / first["v"] : 0
		fe = first["e"] > 0 ? last["e"] / first["e"] : 0
		printf "%-8s vexfs %10.1f ms  ext4 %10.1f ms  ratio %5.2f  flatness vexfs %5.2f ext4 %5.2f\n", op, t["v"], t["e"], r, fv, fe
	}' /tmp/dir.vexfs.$op /tmp/dir.ext4.$op
	for fs in vexfs ext4; do
		echo "  $op $fs ms per tenth: $(awk '/^tenth/ {printf "%.0f ", $3}' /tmp/dir.$fs.$op)"
	done
done
rmmod vexfs
