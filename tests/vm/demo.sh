# VexFS demo (runs in the guest: tests/vm/run.sh --demo). Every command is
# echoed. Part 1: a tree of files, diffed against what is read after
# umount/mount. Part 2 (vexfs only): a filesystem with a vector space holding
# a small knowledge base (tests/vm/demo-data: texts and their sentence
# embeddings), searched by meaning with vexctl, in a subtree, as another user,
# and again after umount/mount. Exits non-zero when an answer is not the
# expected one.
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
	# in ext4 mode the harness leaves ext4.ko to the script (its dependencies are loaded)
	if [ -n "$FS_MODULE" ]; then run insmod $FS_MODULE; fi
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
[ "$FSTYPE" = vexfs ] || { echo "=============== demo OK ($FSTYPE: no vector part) ==============="; exit 0; }

# ---------------------------------------------------------------------------
# Part 2: search by meaning. kb.tsv holds PATH<TAB>TEXT (first sentences of
# Python standard library docstrings), kb.fvecs their all-MiniLM-L6-v2
# embeddings (384-d, unit length), queries.tsv QUESTION<TAB>PATTERN and
# queries.fvecs the questions' embeddings; made by tests/vm/demo-data/make.py.
DATA=/tests/demo-data
DEV2=/dev/vdc
for s in /sys/block/vd*; do [ "$(cat $s/serial)" = vx-second ] && DEV2=/dev/${s##*/}; done
KB=$MNT/kb
TAB=$(printf '\t')
fail() { echo; echo "DEMO FAILED: $*"; exit 1; }
command -v vexctl >/dev/null || fail "vexctl is not in the guest (make tools builds build/bin/vexctl)"

echo
echo "=============== part 2: a filesystem that searches by meaning ==============="
run mkfs.vexfs -f -L kb --dim 384 --metric cosine $DEV2
run mount -t vexfs $DEV2 $MNT

echo
echo "# the knowledge base: $(wc -l <$DATA/kb.tsv) short texts (first sentences of Python"
echo "# standard library docstrings), one file each, kb/<module>/<name>.txt"
mkdir -p $KB
cut -f1 $DATA/kb.tsv | sed 's,/[^/]*$,,' | sort -u | (cd $KB && xargs mkdir -p)
while IFS="$TAB" read -r p t; do printf '%s\n' "$t" >"$KB/$p"; done <$DATA/kb.tsv
echo "# $(find $KB -type f | wc -l) files in $(find $KB -mindepth 1 -type d | wc -l) directories:"
ls $KB | tr '\n' ' ' | fold -s -w 78 | sed 's/^/#   /'; echo
run ls $KB/gzip
run cat $KB/gzip/compress.txt $KB/shutil/rmtree.txt

echo
echo "# their embeddings (all-MiniLM-L6-v2, 384-d), one per file, in the order of kb.tsv"
cut -f1 $DATA/kb.tsv >/tmp/kb.names
run head -n 3 /tmp/kb.names
# (stderr to a file: on the serial console vexctl would draw a progress bar)
run time vexctl import $KB $DATA/kb.fvecs --names /tmp/kb.names 2>/tmp/import.err || { cat /tmp/import.err; fail "import failed"; }
cat /tmp/import.err
run vexctl info $MNT

# search N PATH [USER]: vexctl search for question N (0-based) under PATH, as
# USER if given; prints the command, each hit (rank, distance, path) and the
# file's text below it; the hits' paths go to /tmp/hits.paths.
search() {
	n=$1 where=$2 user=${3:-}
	cmd="vexctl search $where -k 5 --from $DATA/queries.fvecs --index $n"
	echo
	echo "## \"$(sed -n "$((n + 1))p" $DATA/queries.tsv | cut -f1)\""
	if [ -n "$user" ]; then
		echo "# su $user -c '$cmd'"
		su "$user" -c "$cmd" >/tmp/hits || fail "search as $user failed"
	else
		echo "# $cmd"
		$cmd >/tmp/hits || fail "search failed"
	fi
	: >/tmp/hits.paths
	while read -r rank dist path; do
		printf '%4s  %-10s  %s\n' "$rank" "$dist" "$path"
		printf '      %s\n' "$(cat "$path")"
		echo "$path" >>/tmp/hits.paths
	done </tmp/hits
	[ -s /tmp/hits.paths ] || fail "no hits"
}
# expect_top N: the nearest hit is where queries.tsv says for question N
expect_top() {
	pat=$(sed -n "$(($1 + 1))p" $DATA/queries.tsv | cut -f2)
	top=$(head -n 1 /tmp/hits.paths)
	echo "${top#$KB/}" | grep -qE "$pat" || fail "nearest hit $top does not match $pat"
}

echo
echo "# ---- questions: their embeddings (made with the same model) against the files' ----"
nq=$(wc -l <$DATA/queries.tsv)
: >/tmp/answers.before
i=0
while [ $i -lt "$nq" ]; do
	search $i $KB
	expect_top $i
	cat /tmp/hits >>/tmp/answers.before
	i=$((i + 1))
done
echo
echo "# every nearest hit is in the module queries.tsv expects"

echo
echo "# ---- a subtree: the same question, only under kb/datetime ----"
search 1 $KB/datetime
grep -qv "^$KB/datetime/" /tmp/hits.paths && fail "a hit outside $KB/datetime"
echo "# only files under kb/datetime"

echo
echo "# ---- permissions: kb/bz2 private to root, the question asked by user demo ----"
echo 'demo:x:1000:1000:demo user:/tmp:/bin/sh' >>/etc/passwd
echo 'demo:x:1000:' >>/etc/group
search 0 $KB
grep -q "^$KB/bz2/" /tmp/hits.paths || fail "expected bz2 among root's hits"
run chmod 0700 $KB/bz2
run ls -ld $KB/bz2 $KB/gzip
echo; echo "# su demo -c 'cat $KB/bz2/compress.txt'"
su demo -c "cat $KB/bz2/compress.txt" && fail "user demo could read kb/bz2"
search 0 $KB demo
grep -q "^$KB/bz2/" /tmp/hits.paths && fail "user demo sees a file under kb/bz2"
[ "$(wc -l </tmp/hits.paths)" = 5 ] || fail "user demo got $(wc -l </tmp/hits.paths) hits, not 5"
echo "# nothing under kb/bz2 for user demo, still 5 hits"

echo
echo "# ---- umount, drop caches, mount: the same answers ----"
run umount $MNT
run sh -c 'echo 3 > /proc/sys/vm/drop_caches'
run mount -t vexfs $DEV2 $MNT
run vexctl info $MNT
: >/tmp/answers.after
i=0
while [ $i -lt "$nq" ]; do
	vexctl search $KB -k 5 --from $DATA/queries.fvecs --index $i >>/tmp/answers.after || fail "search $i failed after mount"
	i=$((i + 1))
done
search 0 $KB
run diff -u /tmp/answers.before /tmp/answers.after || fail "the answers changed"
echo "# no difference: all $nq questions: the same files at the same distances as before umount"
run umount $MNT
run rmmod vexfs
echo "=============== demo OK ==============="
