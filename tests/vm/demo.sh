# VexFS demo (runs in the guest: tests/vm/run.sh --demo). Every command is
# echoed; the tree written before umount is diffed against what is read after.
. /etc/vmtest.conf
export PATH=/usr/local/sbin:/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
: "${FSTYPE:=vexfs}"
DEV=/dev/vdb
for s in /sys/block/vd*; do [ "$(cat $s/serial)" = vx-main ] && DEV=/dev/${s##*/}; done
MNT=/mnt/demo
set -e
run() { echo; echo "# $*"; "$@"; }

echo "=============== VexFS demo ($FSTYPE on $DEV) ==============="
if [ "$FSTYPE" = vexfs ]; then
	run insmod /lib/vexfs.ko
	run sh -c 'grep vexfs /proc/filesystems'
	run mkfs.vexfs -f $MKFS_VEXFS_ARGS $DEV
else
	run mkfs.ext4 -q -F $DEV
fi
mkdir -p $MNT
run mount -t $FSTYPE $DEV $MNT
run sh -c "grep ' $MNT ' /proc/mounts"
run df -k $MNT

echo; echo "# creating a small tree"
cd $MNT
mkdir -p docs/notes src/lib empty
echo "VexFS: a vector-aware filesystem" > README
printf 'line one\nline two\nline three\n' > docs/notes/todo.txt
echo "fn main() { println!(\"hello\"); }" > src/main.rs
seq 1 2000 > src/lib/numbers.txt
dd if=/dev/urandom of=src/lib/blob.bin bs=4096 count=64 2>/dev/null
ln -s ../README docs/readme-link
ln src/main.rs src/main-hardlink.rs
chmod 0600 docs/notes/todo.txt
touch -d '2024-01-02 03:04:05' README
cd /
run ls -lR $MNT
run cat $MNT/README $MNT/docs/notes/todo.txt $MNT/src/main.rs
run sh -c "tail -n 3 $MNT/src/lib/numbers.txt"
run readlink $MNT/docs/readme-link

snapshot() {
	(cd $MNT && find . | sort | while read -r p; do
		case "$(stat -c %F "$p")" in
		"regular file"|"regular empty file") echo "$p $(stat -c '%a %h %s %Y' "$p") $(md5sum < "$p" | cut -d' ' -f1)" ;;
		"symbolic link") echo "$p -> $(readlink "$p")" ;;
		*) echo "$p $(stat -c '%F %a' "$p")" ;;
		esac
	done)
}
snapshot > /tmp/before.txt
echo; echo "# snapshot before umount:"; cat /tmp/before.txt
run sync
run umount $MNT
run sh -c 'echo 3 > /proc/sys/vm/drop_caches'
run mount -t $FSTYPE $DEV $MNT
run ls -lR $MNT
run cat $MNT/README $MNT/docs/notes/todo.txt $MNT/src/main.rs
snapshot > /tmp/after.txt
run diff -u /tmp/before.txt /tmp/after.txt
echo; echo "# tree and contents intact after umount/mount"
run df -k $MNT
run umount $MNT
[ "$FSTYPE" = vexfs ] && run rmmod vexfs
echo "=============== demo OK ==============="
