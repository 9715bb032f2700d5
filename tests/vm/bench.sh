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
rmmod vexfs
