# In-VM benchmarks (tests/vm/run.sh --bench, `make bench-vm`): vector query
# throughput and recall through the ioctls on a mounted VexFS, against the
# same core in userspace on the same data in the same guest. Figures are
# ratios measured in one run; under TCG absolute numbers mean little.
. /etc/vmtest.conf
export PATH=/usr/local/sbin:/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
DEV=/dev/vdb
for s in /sys/block/vd*; do [ "$(cat $s/serial)" = vx-main ] && DEV=/dev/${s##*/}; done
MNT=/mnt/bench
set -e
insmod /lib/vexfs.ko
mkdir -p $MNT
for metric in l2 cosine; do
	mkfs.vexfs -f -q --dim 64 --metric $metric $DEV
	mount -t vexfs $DEV $MNT
	echo "=== vectors: dim 64, metric $metric, simd=$(cat /sys/module/vexfs/parameters/simd)"
	vexfs-vmbench $MNT --n ${BENCH_N:-3000} --queries ${BENCH_Q:-100} --k 10
	echo "SIMD distances so far: $(cat /sys/module/vexfs/parameters/simd_calls)"
	umount $MNT
done
rmmod vexfs
