# Commits (fsync, syncfs, the 5 s worker) racing with create+write+unlink and
# symlink creation: inode numbers are freed and reused at once, and a new
# symlink's page_symlink takes txn_sem while its inode is still I_NEW. The
# commit holds txn_sem for writing while it looks up the inodes whose data
# it writes: waiting there on an I_NEW inode deadlocked (issue #8). A hang
# is reported after a deadline (with the blocked tasks in the kernel log)
# and ends the VM, since no later case could unmount.
begin commit_race
if fresh; then
	mkdir "$MNT/race"
	pids=
	for w in files:1 files:2 symlinks:1 symlinks:2 fsync:1 sync:1; do
		vmhelper churn "${w%:*}" "$MNT/race" 8 "${w#*:}" >"/tmp/churn-${w%:*}-${w#*:}.out" 2>&1 &
		pids="$pids $!"
	done
	# the workers stop after 8 s; still running 40 s later means they hang
	t=0 alive=1
	while [ $t -lt 96 ]; do
		alive=0
		for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.5
		t=$((t + 1))
	done
	if [ $alive = 1 ]; then
		note "churn workers still running 40 s after their 8 s: deadlock"
		echo w >/proc/sysrq-trigger # the blocked tasks, into the kernel log
		sleep 1
		dmesg | tail -n 120 | sed 's/^/  kmsg: /'
		end
		echo "HARNESS: 28-commit-race hung; powering off (later cases cannot run)"
		poweroff -f -n # no sync: it would hang too
		sleep 30
	fi
	wait
	for f in /tmp/churn-*.out; do
		r=$(cat "$f")
		case "$r" in
		"OK "*) echo "  ${f#/tmp/churn-}: $r iterations" ;;
		*) note "${f#/tmp/churn-}: $r" ;;
		esac
	done
	eq "entries left" "$(ls "$MNT/race" | tr '\n' ' ')" "fsync-1 "
	remount
	eq "entries left after remount" "$(ls "$MNT/race" | tr '\n' ' ')" "fsync-1 "
	eq "fsync-1 size" "$(st %s "$MNT/race/fsync-1")" 4096
fi
end
