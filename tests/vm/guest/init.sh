#!/bin/busybox sh
# /init of the VexFS test VM (busybox-static initramfs built by tests/vm/run.sh).
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /mnt /run
/bin/busybox --install -s
export PATH=/usr/local/sbin:/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
. /etc/vmtest.conf
echo "VEXFS-VM-START kernel=$(uname -r) fstype=$FSTYPE mode=$MODE"
# Block/virtio (and, for reference mounts, ext4) modules, in dependency order.
while read -r m; do
	[ -n "$m" ] || continue
	insmod "$m" 2>/tmp/insmod.err || echo "HARNESS: insmod $m failed: $(cat /tmp/insmod.err)"
done </etc/modules.list
# give virtio-blk a moment to register the disks
i=0
while [ ! -e /sys/block/${WAIT_DISK:-vdb} ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
for d in /sys/block/vd*; do echo "disk ${d##*/} serial=$(cat $d/serial 2>/dev/null) sectors=$(cat $d/size)"; done
dmesg -n 4 2>/dev/null
# a hung case shows up as "blocked for more than 60 seconds" before its timeout
echo 60 >/proc/sys/kernel/hung_task_timeout_secs 2>/dev/null
# keep only trouble from the boot log; each case's kernel log is dumped later
dmesg -c >/tmp/boot.kmsg
grep -E 'Oops|BUG:|WARNING:|Call Trace|general protection|hung_task|KASAN|UBSAN' /tmp/boot.kmsg | sed 's/^/  boot-kmsg: /'

if [ "$MODE" = crash ]; then
	# tests/vm/crash.sh: verify after replay, then a workload until qemu is
	# killed; only the last boot gets past this line.
	sh /tests/crash.sh
elif [ "$MODE" = demo ] || [ "$MODE" = bench ]; then
	sh /tests/$MODE.sh
	rc=$?
	echo "$MODE exit status $rc"
	if [ $rc = 0 ]; then echo "PASS $MODE"; else echo "FAIL $MODE: $MODE.sh exited with $rc"; fi
else
	sh /tests/suite.sh
fi
sync
echo "--- remaining kernel log:"
dmesg -c | sed 's/^/  kmsg: /'
echo "VEXFS-VM-DONE"
poweroff -f
