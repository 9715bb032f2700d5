# Guest side of the crash test (tests/vm/crash.sh on the host; /init runs it
# as /tests/crash.sh in MODE=crash). One boot = one round:
#   1. mount the disk (this replays the journal the killed boot left), check
#      that the orphan the previous round held open was freed, that every file
#      the host recorded as fsync'd is intact, that no file holds garbage;
#   2. umount, fsck.vexfs -n must be clean;
#   3. unless this is the last round: mount again and run a workload until the
#      host kills qemu (SIGKILL: a power cut).
# The host hands over, in /etc/vmtest.conf: ROUND LAST CRASH_SEED EXPECT_ORPHAN;
# in /etc/crash.fsynced one line per durable file: PATH MD5 VECTOR PENDING
# (PATH relative to the mount; '-' for none; PENDING: an atomic replacement
# was under way at the kill, so the new content is valid too).
# The guest reports PASS/FAIL lines and, for the host's bookkeeping:
#   CRASH-FSYNCED PATH MD5 VECTOR   printed only after fsync returned
#   CRASH-PENDING PATH MD5          a rename-over replacement is about to start
#   CRASH-ORPHAN-DURABLE R          an unlinked file is held open and the unlink is synced
#   CRASH-WORKLOAD-STARTED R        the host may kill from now on
#   CRASH-VERIFIED N ...            fsync'd files found intact
#   CRASH-PROGRESS W I NOSPC        worker W reached iteration I (NOSPC commands got ENOSPC)
#   CRASH-OP W I OP COMMAND         trace of every workload command
#   CRASH-WORKLOAD-ERROR W ...      a workload command failed (not with ENOSPC)
. /tests/lib.sh
export PATH=/usr/local/sbin:/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
: "${ROUND:=1}" "${LAST:=1}" "${CRASH_SEED:=1}" "${EXPECT_ORPHAN:=0}"
DEV=$(disk_by_serial vx-crash)
M=$MNT
R=r$ROUND
STATE=/etc/crash.fsynced
[ -f $STATE ] || printf '' >$STATE
DIM=8
# Warnings reach the console as they happen (a killed boot never dumps its
# kernel log): "WARNING:" splats and vexfs warnings are KERN_WARNING.
dmesg -n 5

finish() {
	echo "CRASH-GUEST-END $R"
	exit 0
}
# every check's result also counts for the round: no workload after a failure
ANYFAIL=
end_check() {
	failed && ANYFAIL=1
	end
}
kmsg() { dmesg -c | grep -v 'drop_caches: ' | sed 's/^/  kmsg: /'; }
up() { cut -d' ' -f1 /proc/uptime; }

echo "=== CRASH ROUND $ROUND (last=$LAST, seed=$CRASH_SEED) on $DEV"
begin $R-mount-replay
if ! insmod "$FS_MODULE" >/tmp/insmod.out 2>&1; then
	note "insmod $FS_MODULE: $(cat /tmp/insmod.out)"
	end_check
	finish
fi
t0=$(cut -d' ' -f1 /proc/uptime)
if ! mount -t vexfs "$DEV" "$M" >/tmp/mount.out 2>&1; then
	note "mount $DEV failed: $(cat /tmp/mount.out) / $(dmesg | tail -n 3)"
	end_check
	kmsg
	finish
fi
t1=$(cut -d' ' -f1 /proc/uptime)
end_check
echo "  mount took $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')s"
dmesg >/tmp/mount.kmsg
kmsg

if [ "$EXPECT_ORPHAN" = 1 ]; then
	# The previous round held an unlinked file open and synced the unlink
	# before the kill: the mount must free it (and fsck below must not find it).
	begin $R-orphan-freed
	grep -qE 'freed [1-9][0-9]* orphan inode' /tmp/mount.kmsg ||
		note "the previous round held an unlinked file open at the kill, but the mount freed no orphan (kernel: $(grep -i vexfs /tmp/mount.kmsg | tail -n 3))"
	end_check
fi

# ---------- fsync'd files: exact content, and the vector set before the fsync ----------
begin $R-fsynced-intact
n=0
nvec=0
while read -r p md5 vec pend; do
	[ -n "$p" ] || continue
	f=$M/$p
	if [ -f "$f" ]; then
		got=$(md5sum <"$f" | cut -c1-32)
		if [ "$got" = "$md5" ] || [ "$got" = "$pend" ]; then
			n=$((n + 1))
			# an atomic replacement settled one way or the other: that is durable now
			[ "$pend" = - ] || echo "CRASH-FSYNCED $p $got $vec"
		else
			exp=$md5
			[ "$pend" = - ] || exp="$md5 or $pend (replacement pending)"
			note "$p: md5 $got (size $(stat -c %s "$f")), fsync'd content has md5 $exp; $(vmhelper gencheck "$f" "${p##*.s}" | head -c 150)"
		fi
		if [ "$vec" != - ]; then
			g=$(vmhelper vget "$f" 2>&1)
			if [ "$g" = "$vec" ]; then nvec=$((nvec + 1)); else note "$p: vector '$g', fsync'd '$vec'"; fi
		fi
	elif [ "$md5" = - ]; then
		: # only a pending first version: absent is fine
	else
		note "$p: fsync'd file missing ($(ls "$(dirname "$f")" 2>&1 | wc -l) entries in its directory)"
	fi
done <$STATE
end_check
echo "CRASH-VERIFIED $n files $nvec vectors (uptime $(up))"

# ---------- every file: generated records of its own seed, or zeros ----------
begin $R-no-garbage
find "$M" >/tmp/find.out 2>/tmp/find.err || note "find: $(head -c 200 /tmp/find.err)"
nf=0
nd=0
while read -r f; do
	if [ -d "$f" ]; then nd=$((nd + 1)); continue; fi
	nf=$((nf + 1))
	case "$f" in
	*.s[0-9]*)
		vmhelper gencheck "$f" "${f##*.s}" >/tmp/gc.out 2>&1 || note "$f: $(head -c 200 /tmp/gc.out)" ;;
	"$M"/atomic/*) ;; # md5-checked above
	*) note "unexpected entry $f ($(stat -c %F "$f"))" ;;
	esac
done </tmp/find.out
end_check
echo "  tree: $nf files, $nd directories; $(df -k "$M" | awk 'NR==2{print $3 " KiB used, " $4 " KiB free"}') (uptime $(up))"

# ---------- vector search finds the fsync'd vectors ----------
awk '$3 != "-"' $STATE | tail -n 4 >/tmp/vq
if [ -s /tmp/vq ]; then
	begin $R-vector-query
	while read -r p md5 vec pend; do
		[ -f "$M/$p" ] || continue
		i=$(stat -c %i "$M/$p")
		hit=$(vmhelper vquery "$M" 1 64 "$vec" exact 2>&1 | head -n 1)
		[ "$hit" = "$i 0" ] || note "exact query for $p (ino $i): got '$hit'"
		vmhelper vquery "$M" 10 64 "$vec" >/tmp/vq.out 2>&1 || note "HNSW query: $(head -c 100 /tmp/vq.out)"
		grep -q "^$i " /tmp/vq.out || note "HNSW query for $p (ino $i) missed it: $(head -n 3 /tmp/vq.out | tr '\n' ' ')"
	done </tmp/vq
	end_check
fi

# ---------- umount; the checker must find nothing ----------
begin $R-fsck
cd /
if umount "$M" >/tmp/umount.out 2>&1; then
	fsck.vexfs -n "$DEV" >/tmp/fsck.out 2>&1
	rc=$?
	echo "  fsck.vexfs -n: exit $rc, $(tail -n 1 /tmp/fsck.out) (uptime $(up))"
	if [ $rc != 0 ]; then
		note "fsck.vexfs -n exit $rc: $(grep -v '^Pass' /tmp/fsck.out | head -n 3)"
		sed 's/^/  fsck: /' /tmp/fsck.out | head -n 60
	fi
else
	note "umount: $(cat /tmp/umount.out)"
fi
end_check
kmsg
if [ -n "$ANYFAIL" ] || [ "$LAST" = 1 ]; then finish; fi

# ---------- workload until the kill ----------
begin $R-workload-mount
mount -t vexfs "$DEV" "$M" >/tmp/mount.out 2>&1 || note "mount: $(cat /tmp/mount.out)"
end_check
[ -n "$ANYFAIL" ] && finish
mkdir -p "$M/keep" "$M/atomic" "$M/work"
rm -f "$M"/atomic/.tmp-*
vmhelper fsync "$M" >/dev/null
kmsg

# werr OP OUTPUT: a workload command failed. ENOSPC is expected when full.
NOSPC=0
werr() {
	case "$2" in *ENOSPC*|*"No space left"*) NOSPC=$((NOSPC + 1)); return 0 ;; esac
	echo "CRASH-WORKLOAD-ERROR $W $1: $(printf '%s' "$2" | tr '\n' ' ' | head -c 200)"
}
# run OP CMD...: run CMD (its output in _o), report its failure, return its
# status. Every command is traced (CRASH-OP worker iteration op command) so
# that a file found damaged later can be followed through the workload.
run() {
	_op=$1; shift
	echo "CRASH-OP ${W:--} ${i:-0} $_op $*"
	_o=$("$@" 2>&1) && return 0
	werr "$_op: $*" "$_o"
	return 1
}
# say LINE: on the console, returning only once it was transmitted: the
# host must have every marker printed before whatever follows it
say() { vmhelper say "$*"; }
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
# pick: F = some existing regular file of this worker (fNNN or a hard link)
pick() {
	_t=0
	while [ $_t -lt 4 ]; do
		_j=$((RANDOM % i + 1))
		for F in "$B"/d*/f$_j.s* "$B"/d*/h$_j-*.s* "$B"/t*/f$_j-*.s*; do
			[ -f "$F" ] && return 0
		done
		_t=$((_t + 1))
	done
	return 1
}
# Random numbers: $RANDOM only in this shell, never in a $(...) subshell
# (the subshell's draw would not advance this shell's sequence).
# rsize: SZ = a random multiple of 32, up to 64 KiB, one in 8 up to 1 MiB
rsize() {
	if [ $((RANDOM % 8)) = 0 ]; then SZ=$((32 * (RANDOM % 32768))); else SZ=$((32 * (RANDOM % 2048 + 1))); fi
}

worker() { # W (A or B) NUM
	W=$1
	B=$M/work/$W
	RANDOM=$((CRASH_SEED * 7 + ROUND * 131 + $2))
	for k in 0 1 2 3 4 5 6 7; do mkdir -p "$B/d$k"; done
	i=0
	low=0
	while [ $i -lt 100000 ]; do
		i=$((i + 1))
		seed=$((ROUND * 10000000 + $2 * 1000000 + i))
		if [ $((i % 8)) = 0 ]; then
			echo "CRASH-PROGRESS $W $i $NOSPC"
			# keep a quarter of the disk free (a full round: 1 MiB): below that, delete more
			low=$(stat -f -c '%a %b' "$M" | awk -v full=$FULL '{print (full ? $1 < 256 : $1 * 4 < $2) ? 1 : 0}')
		fi
		op=$((RANDOM % 100))
		k=$((RANDOM % 8))
		g=$((RANDOM % 65536))
		rsize
		[ "$low" = 1 ] && [ "$op" -lt 40 ] && op=$((62 + op % 6))
		if [ "$op" -lt 22 ]; then # create
			run create vmhelper genwrite "$B/d$k/f$i.s$seed" $seed 0 $SZ 0
		elif [ "$op" -lt 34 ]; then # append
			pick && run append vmhelper genwrite "$F" "${F##*.s}" "$(size_of "$F")" $SZ $g
		elif [ "$op" -lt 44 ]; then # overwrite a range
			if pick; then
				s=$(size_of "$F")
				run overwrite vmhelper genwrite "$F" "${F##*.s}" $((32 * (RANDOM % (s / 32 + 1)))) $((32 * (RANDOM % 512 + 1))) $g
			fi
		elif [ "$op" -lt 49 ]; then # truncate down (sometimes up: a hole), or fallocate
			if pick; then
				s=$(size_of "$F")
				fo=$((32 * (RANDOM % (s / 32 + 1))))
				fl=$((32 * (RANDOM % 8192 + 1)))
				case $((RANDOM % 8)) in
				0) run falloc vmhelper falloc "$F" 0 $fo $fl ;;
				1) run falloc vmhelper falloc "$F" keep $fo $fl ;;
				2) run punch vmhelper falloc "$F" punch,keep $fo $fl ;;
				3) run zero vmhelper falloc "$F" zero $fo $fl ;;
				*)
					if [ $((RANDOM % 4)) = 0 ]; then s=$((s + 32 * (RANDOM % 4096))); else s=$((s / 64 * 32)); fi
					run truncate truncate -s $s "$F" ;;
				esac
			fi
		elif [ "$op" -lt 56 ]; then # rename to another directory
			pick && run rename mv "$F" "$B/d$k/"
		elif [ "$op" -lt 62 ]; then # hard link
			pick && run link ln "$F" "$B/d$k/h$i-$ROUND.s${F##*.s}"
		elif [ "$op" -lt 68 ]; then # unlink
			pick && run unlink rm -f "$F"
		elif [ "$op" -lt 72 ]; then # directories: make a tree, rename one, remove one
			case $((k % 4)) in
			0) t=$B/t$ROUND-$i
				run mkdir mkdir "$t" && run create vmhelper genwrite "$t/f$i-1.s$seed" $seed 0 $SZ 0 &&
					run create vmhelper genwrite "$t/f$i-2.s$seed" $seed 0 4096 0 ;;
			1) for d in "$B"/t*; do [ -d "$d" ] && run rmtree rm -rf "$d"; break; done ;;
			2) for d in "$B"/t*; do [ -d "$d" ] && run mvdir mv "$d" "$B/t$ROUND-$i-r"; break; done ;;
			3) run mkdir mkdir "$B/e$ROUND-$i" && run rmdir rmdir "$B/e$ROUND-$i" ;;
			esac
		elif [ "$op" -lt 82 ]; then # a durable file: written, maybe a vector, fsync'd, never touched again
			f=keep/$W-$ROUND-$i.s$seed
			vec=-
			if [ $((RANDOM % 3)) = 0 ]; then
				vec=$(vmhelper vgen $DIM $seed 0)
				run create vmhelper genwrite "$M/$f" $seed 0 $SZ 0 &&
					run vset vmhelper vset "$M/$f" "$vec" &&
					run fsync vmhelper fsync "$M/$f" &&
					run fsync vmhelper fsync "$M/keep" &&
					say "CRASH-FSYNCED $f $(md5sum <"$M/$f" | cut -c1-32) $vec"
			else
				run fsync vmhelper genwrite "$M/$f" $seed 0 $SZ 0 fsync &&
					say "CRASH-FSYNCED $f $(md5sum <"$M/$f" | cut -c1-32) $vec"
			fi
		elif [ "$op" -lt 86 ]; then # atomic replacement: write a temporary, fsync, rename over, fsync the directory
			f=atomic/$W-$((k % 4))
			t=atomic/.tmp-$W-$i.s$seed
			if run create vmhelper genwrite "$M/$t" $seed 0 $SZ $g fsync; then
				sum=$(md5sum <"$M/$t" | cut -c1-32)
				say "CRASH-PENDING $f $sum"
				run rename mv "$M/$t" "$M/$f" && run fsync vmhelper fsync "$M/atomic" &&
					say "CRASH-FSYNCED $f $sum -"
			fi
		elif [ "$op" -lt 92 ]; then # vectors on work files
			if pick; then
				case $((k % 4)) in
				0|1) run vexctl-set vexctl set "$F" --vector "$(vmhelper vgen $DIM $seed 1)" ;;
				2) echo "CRASH-OP $W $i vdel $F"; vmhelper vdel "$F" >/dev/null 2>&1 ;; # ENODATA when it has none
				3) run vexctl-search vexctl search -k 5 --vector "$(vmhelper vgen $DIM $seed 2)" "$M" ;;
				esac
			fi
		elif [ "$op" = 92 ]; then # rarely: a global sync writes every dirty page and hides ordering bugs
			run sync sync
		else
			pick && run fsync vmhelper fsync "$F"
		fi
	done
}

# Every third round (2, 5, ...) runs on a nearly full disk: a file of zeros
# takes all but a few MiB, so allocations compete with blocks freed in the
# running transaction, and ENOSPC is common. The next round removes it.
FULL=0
[ $((ROUND % 3)) = 2 ] && FULL=1
rm -f "$M"/work/fill-*
if [ $FULL = 1 ]; then
	avail=$(stat -f -c '%a' "$M")
	n=$((avail / 256 - 6))
	[ $n -gt 0 ] && run fill dd if=/dev/zero of="$M/work/fill-$ROUND.s1" bs=1M count=$n
	echo "  nearly full: $n MiB of zeros written; $(df -k "$M" | awk 'NR==2{print $4}') KiB left (uptime $(up))"
fi

# an unlinked file held open at the kill: an orphan the next mount must free
o=$M/work/orphan-$ROUND.s$((ROUND * 10000000 + 999999))
run orphan vmhelper genwrite "$o" $((ROUND * 10000000 + 999999)) 0 1048576 0
(
	exec 3<"$o"
	rm -f "$o"
	sync
	say "CRASH-ORPHAN-DURABLE $R"
	printf '' >/tmp/orphan.held
	exec sleep 100000
) &
i=0
while [ $i -lt 600 ] && [ ! -e /tmp/orphan.held ]; do sleep 0.1; i=$((i + 1)); done
[ -e /tmp/orphan.held ] || echo "CRASH-WORKLOAD-ERROR orphan: the holder did not get ready in 60 s"
worker A 1 &
worker B 2 &
say "CRASH-WORKLOAD-STARTED $R"
wait
echo "FAIL $R-workload: the workload ended before the kill"
finish
