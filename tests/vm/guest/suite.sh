# Runs every /tests/cases/*.sh (filtered by $FILTER, an egrep pattern on the
# case file name) in its own shell, bounded by a per-case timeout; dumps the
# kernel log of each case to the console so the host can scan it.
. /etc/vmtest.conf
export PATH=/usr/local/sbin:/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
: "${CASE_TIMEOUT:=240}"
for c in /tests/cases/*.sh; do
	name=${c##*/}; name=${name%.sh}
	if [ -n "$FILTER" ] && ! echo "$name" | grep -qE "$FILTER"; then continue; fi
	echo "=== CASE $name"
	t0=$(cut -d' ' -f1 /proc/uptime)
	( timeout "$CASE_TIMEOUT" sh -c "cd /; . /tests/lib.sh; . $c; end"; echo $? >/tmp/case.rc ) 2>&1 | tee /tmp/case.out
	rc=$(cat /tmp/case.rc 2>/dev/null)
	if ! grep -qE '^(PASS|FAIL|SKIP) ' /tmp/case.out; then
		echo "FAIL $name: case script printed no result (rc=$rc)" | tee -a /tmp/case.out
	elif [ "$rc" != 0 ]; then
		echo "FAIL $name.script: case script exited with rc=$rc (143 = killed by the ${CASE_TIMEOUT}s timeout)" | tee -a /tmp/case.out
	fi
	grep -E '^(PASS|FAIL|SKIP) ' /tmp/case.out >>/tmp/results
	# A case may leave its filesystems mounted, but nothing may hold them:
	# a reference kept by an error path (inode, dentry, file) shows up as
	# EBUSY here, or as "Busy inodes" from the VFS (judged on the host).
	cd /
	for m in $(awk '$2 ~ "^/mnt/" {print $2}' /proc/mounts | sort -r); do
		umount "$m" 2>/tmp/umount.err && continue
		echo "FAIL $name.umount: $m could not be unmounted after the case: $(cat /tmp/umount.err)" | tee -a /tmp/results
		umount -l "$m" 2>/dev/null
	done
	t1=$(cut -d' ' -f1 /proc/uptime)
	echo "--- $name took $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')s; kernel log:"
	dmesg -c | grep -v 'drop_caches: ' | sed 's/^/  kmsg: /'
done
# Every inode and superblock reference is gone once the module unloads:
# rmmod fails while anything still holds one.
if [ "$FSTYPE" = vexfs ] && grep -qw vexfs /proc/filesystems && grep -q '^vexfs ' /proc/modules; then
	if rmmod vexfs 2>/tmp/rmmod.err; then
		echo "PASS suite.rmmod" >>/tmp/results
	else
		echo "FAIL suite.rmmod: rmmod vexfs after the last case: $(cat /tmp/rmmod.err); $(grep '^vexfs ' /proc/modules)" | tee -a /tmp/results
	fi
	dmesg -c | sed 's/^/  kmsg: /'
fi
# all results again in one block, so console interleaving cannot garble the count
echo "=== RESULTS BEGIN"
cat /tmp/results 2>/dev/null
echo "=== RESULTS END"
