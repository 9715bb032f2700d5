# vexctl (tools/src/bin/vexctl.rs) as a user runs it: info/stats, set/get/rm,
# import of .fvecs/.npy (f4 and f8)/.json files generated here, search with
# paths (HNSW, --exact, JSON, subtrees), and the messages of its errors.
# Distances are checked against a brute force in awk: the generated vectors
# are halves in [-10, 10], so every float32 distance here is exact.
# --- vector helpers (local to this case; the suite's fresh() makes no vector space)
vexfs_only() { [ "$FSTYPE" = vexfs ] || { skip "vexctl is VexFS-only"; return 1; }; }
have_vexctl() { command -v vexctl >/dev/null || { note "vexctl is not in the guest (make tools builds build/bin/vexctl)"; return 1; }; }
# vfresh [DEV [MNT]]: mkfs with an 8-dimensional L2 vector space, mount
vfresh() {
	_dev=${1:-$DEV_MAIN} _mnt=${2:-$MNT}
	umount "$_mnt" 2>/dev/null
	load_fs || return 1
	mkfs.vexfs -f -q $MKFS_VEXFS_ARGS --dim 8 --metric l2 "$_dev" >/tmp/mkfs.out 2>&1 ||
		{ note "mkfs --dim 8 $_dev failed: $(tail -n 3 /tmp/mkfs.out)"; return 1; }
	mount_dev "$_dev" "$_mnt"
}
ino() { stat -c %i "$1"; }

# vecs N DIM SEED: N vectors, one per line, comma separated; halves in [-10, 10]
# (component 0 of vector i is distinct for i < 41)
vecs() {
	awk -v n="$1" -v d="$2" -v s="$3" 'BEGIN {
		for (i = 0; i < n; i++) {
			l = ""
			for (j = 0; j < d; j++) l = l (j ? "," : "") ((i * 31 + j * 17 + i * j * 7 + s * 11) % 41 - 20) / 2
			print l
		}
	}'
}
# binvecs f4|f8 [1]: comma-separated lines on stdin -> printf escapes of the
# little-endian IEEE-754 bytes of every number (exact for the halves vecs
# makes; busybox awk has no ^); with 1, an int32 dimension before each line.
binvecs() {
	awk -F, -v w="$1" -v fvecs="${2:-0}" '
	function hex(b) { return sprintf("\\x%02x", b) }
	function le(x, nb,   o, k) { o = ""; for (k = 0; k < nb; k++) { o = o hex(x % 256); x = int(x / 256) }; return o }
	function p2(n,   r) { r = 1; while (n-- > 0) r *= 2; return r }
	function f(x,   s, e, a, m, b, o) {
		if (x == 0) return w == "f4" ? le(0, 4) : le(0, 8)
		s = x < 0; a = s ? -x : x; e = 0
		while (a >= 2) { a /= 2; e++ }
		while (a < 1) { a *= 2; e-- }
		if (w == "f4") return le(s * p2(31) + (e + 127) * p2(23) + (a - 1) * p2(23), 4)
		m = (a - 1) * p2(52); b = e + 1023
		o = le(m % p2(48), 6)
		return o hex(int(m / p2(48)) + (b % 16) * 16) hex(s * 128 + int(b / 16))
	}
	{ if (fvecs) printf "%s", le(NF, 4); for (i = 1; i <= NF; i++) printf "%s", f($i + 0) }'
}
# mkvec FORMAT N DIM SEED OUT: a vector file holding `vecs N DIM SEED`
#   FORMAT: fvecs | npy4 (<f4) | npy8 (<f8) | json
mkvec() {
	case "$1" in
	fvecs) printf "$(vecs $2 $3 $4 | binvecs f4 1)" >"$5" ;;
	npy4|npy8)
		_h="{'descr': '<f${1#npy}', 'fortran_order': False, 'shape': ($2, $3), }"
		while [ $(( (10 + ${#_h} + 1) % 64 )) != 0 ]; do _h="$_h "; done
		_l=$((${#_h} + 1))
		{ printf '\223NUMPY\001\000'; printf "$(awk -v l=$_l 'BEGIN { printf "\\x%02x\\x%02x", l % 256, int(l / 256) }')"
		  printf '%s\n' "$_h"; printf "$(vecs $2 $3 $4 | binvecs f${1#npy})"; } >"$5" ;;
	json) vecs $2 $3 $4 | awk 'BEGIN { printf "[" } { printf "%s[%s]", (NR > 1 ? ",\n " : ""), $0 } END { print "]" }' >"$5" ;;
	esac
}
# vec N DIM SEED I: vector I of `vecs N DIM SEED`
vec() { vecs "$1" "$2" "$3" | sed -n "$(($4 + 1))p"; }
# nearest K Q N DIM SEED: "distance index" of the K nearest (squared L2) of
# `vecs N DIM SEED` to Q, nearest first (brute force)
nearest() {
	vecs "$3" "$4" "$5" | awk -F, -v q="$2" '
		BEGIN { nq = split(q, Q, ",") }
		{ s = 0; for (j = 1; j <= NF; j++) s += ($j - Q[j]) * ($j - Q[j]); printf "%.10g %d\n", s, NR - 1 }' |
		sort -g -k1,1 -k2,2 | head -n "$1"
}
# vx CMD...: run vexctl, stdout in /tmp/vx.out, stderr in /tmp/vx.err, status in $RC
vx() { vexctl "$@" >/tmp/vx.out 2>/tmp/vx.err; RC=$?; }
# vok DESC ARGS...: vexctl ARGS must exit 0
vok() {
	_d=$1; shift
	vx "$@"
	[ "$RC" = 0 ] && return 0
	note "$_d: vexctl $*: exit $RC: $(head -c 200 /tmp/vx.err)"
	return 1
}
# vfail DESC ERE ARGS...: vexctl ARGS must exit 1, print nothing on stdout and
# one line on stderr, "vexctl: ...", that matches ERE
vfail() {
	_d=$1 _re=$2; shift 2
	vx "$@"
	[ "$RC" = 1 ] || note "$_d: vexctl $*: exit $RC, expected 1 (stderr: $(head -c 150 /tmp/vx.err))"
	grep -q "^vexctl: " /tmp/vx.err || note "$_d: vexctl $*: stderr does not start with 'vexctl: ': $(head -c 200 /tmp/vx.err)"
	[ "$(wc -l </tmp/vx.err)" = 1 ] || note "$_d: vexctl $*: stderr is not one line: $(head -c 200 /tmp/vx.err)"
	grep -qE -e "$_re" /tmp/vx.err || note "$_d: vexctl $*: stderr '$(head -c 200 /tmp/vx.err)' does not match '$_re'"
	[ -s /tmp/vx.out ] && note "$_d: stdout not empty: $(head -c 100 /tmp/vx.out)"
	echo "  $_d: $(head -n 1 /tmp/vx.err)"
}
# field NAME: value of a "NAME:   value" line of /tmp/vx.out (text info/stats)
field() { sed -n "s/^$1: *//p" /tmp/vx.out; }
# hits: "distance path" per line of a text search in /tmp/vx.out
hits() { awk '{ print $2, $3 }' /tmp/vx.out; }

begin vexctl_set_get_rm
if vexfs_only && have_vexctl && vfresh; then
	vok "info" info "$MNT"
	eq "info dimension" "$(field dimension)" 8
	eq "info metric" "$(field metric)" l2
	eq "info vectors" "$(field vectors)" 0
	vok "info json" info "$MNT" --format json
	grep -qE '"dim": 8,?$' /tmp/vx.out || note "info json lacks \"dim\": 8: $(tr '\n' ' ' </tmp/vx.out | head -c 200)"
	grep -qE '"metric": "l2",?$' /tmp/vx.out || note "info json lacks \"metric\": \"l2\""
	grep -qE '"count": 0,?$' /tmp/vx.out || note "info json lacks \"count\": 0"
	echo hello >"$MNT/f"
	vok "set" set "$MNT/f" --vector 1.5,-2,0.25,3,4,5,6,-7.125
	vok "get" get "$MNT/f"
	eq "get prints the vector" "$(cat /tmp/vx.out)" "1.5,-2,0.25,3,4,5,6,-7.125"
	eq "the ioctl agrees" "$(vmhelper vget $MNT/f)" "1.5,-2,0.25,3,4,5,6,-7.125"
	vok "get json" get "$MNT/f" --format json
	eq "get json" "$(cat /tmp/vx.out)" "[1.5,-2.0,0.25,3.0,4.0,5.0,6.0,-7.125]"
	content "$MNT/f" hello
	vok "set, spaces and brackets" set "$MNT/f" --vector "[-1 0 1 2 3 4 5 1e-3]"
	vok "get" get "$MNT/f"
	eq "get after the second set" "$(cat /tmp/vx.out)" "-1,0,1,2,3,4,5,0.001"
	vok "info" info "$MNT/f"
	eq "info vectors after set (through a file)" "$(field vectors)" 1
	# wrong dimension, NaN: refused with the reason, vector unchanged
	vfail "set 3 dimensions" "Message too long \(vector has 3 dimensions, the filesystem expects 8\)$" set "$MNT/f" --vector 1,2,3
	vfail "set 9 dimensions" "Message too long \(vector has 9 dimensions, the filesystem expects 8\)$" set "$MNT/f" --vector 1,2,3,4,5,6,7,8,9
	vfail "set NaN" "the vector holds a NaN or an infinity" set "$MNT/f" --vector 1,nan,3,4,5,6,7,8
	vfail "set not a number" "--vector: element 2 \('x'\) is not a number" set "$MNT/f" --vector 1,2,x,4,5,6,7,8
	vfail "search 2 dimensions" "Message too long \(vector has 2 dimensions, the filesystem expects 8\)$" search "$MNT" --vector 1,2
	vfail "search -k 0" "k must be between 1 and 1024" search "$MNT" -k 0 --vector 1,2,3,4,5,6,7,8
	vfail "search -k 1025" "k must be between 1 and 1024" search "$MNT" -k 1025 --vector 1,2,3,4,5,6,7,8
	vok "get" get "$MNT/f"
	eq "unchanged by the refused sets" "$(cat /tmp/vx.out)" "-1,0,1,2,3,4,5,0.001"
	# rm: the vector goes, the file stays
	vok "rm" rm "$MNT/f"
	[ -s /tmp/vx.out ] && note "rm printed: $(cat /tmp/vx.out)"
	content "$MNT/f" hello
	vfail "get after rm" "^vexctl: $MNT/f: No data available \(the file has no vector\)$" get "$MNT/f"
	vfail "rm twice" "No data available \(the file has no vector\)$" rm "$MNT/f"
	errno ENODATA "ioctl agrees" vget "$MNT/f"
	vok "info" info "$MNT"
	eq "info vectors after rm" "$(field vectors)" 0
	vfail "get, no such file" "^vexctl: $MNT/nope: No such file or directory$" get "$MNT/nope"
	vfail "set, no vector given" "give the vector with --vector or --from" set "$MNT/f"
	mkdir "$MNT/dir"
	vfail "set on a directory" "Is a directory" set "$MNT/dir" --vector 1,2,3,4,5,6,7,8
	# usage errors are status 2
	vexctl set "$MNT/f" --bogus >/dev/null 2>&1; eq "unknown option exit status" $? 2
	vexctl >/dev/null 2>&1; eq "no subcommand exit status" $? 2
fi
end

begin vexctl_import_search
if vexfs_only && have_vexctl && vfresh; then
	mkdir -p "$MNT/imp" "$MNT/sub/np" "$MNT/sub/np8" "$MNT/js"
	mkvec fvecs 40 8 0 /tmp/a.fvecs
	mkvec npy4 40 8 1 /tmp/a.npy
	mkvec npy8 40 8 2 /tmp/b.npy
	mkvec json 40 8 3 /tmp/a.json
	eq "fvecs size" "$(stat -c %s /tmp/a.fvecs)" $((40 * 36))
	eq "npy size" "$(stat -c %s /tmp/a.npy)" $((128 + 40 * 32))
	# .fvecs
	vok "import fvecs" import "$MNT/imp" /tmp/a.fvecs
	eq "import message" "$(cat /tmp/vx.err)" "vexctl: /tmp/a.fvecs: 40 vectors imported into $MNT/imp"
	eq "files made" "$(ls $MNT/imp | wc -l)" 40
	eq "first and last name" "$(ls $MNT/imp | sed -n '1p;$p' | tr '\n' ' ')" "vec-000000 vec-000039 "
	eq "files stay empty" "$(stat -c %s $MNT/imp/vec-000017)" 0
	for i in 0 17 39; do
		vok "get $i" get "$MNT/imp/vec-$(printf %06d $i)"
		eq "fvecs vector $i" "$(cat /tmp/vx.out)" "$(vec 40 8 0 $i)"
	done
	vok "info" info "$MNT"
	eq "count after fvecs" "$(field vectors)" 40
	# search: vector 17 moved by 0.25 along axis 0; its file is the nearest
	q=$(vec 40 8 0 17 | awk -F, -v OFS=, '{ $1 += 0.25; print }')
	nearest 5 "$q" 40 8 0 >/tmp/want
	eq "brute force: vector 17 nearest, alone" "$(awk 'NR == 1 { print $2, $1 } NR == 2 { print ($1 > 0.0625) }' /tmp/want | tr '\n' ' ')" "17 0.0625 1 "
	for mode in "" --exact; do
		vok "search $mode" search "$MNT" -k 5 $mode --vector "$q"
		eq "search $mode: hits" "$(wc -l </tmp/vx.out)" 5
		eq "search $mode: ranks" "$(awk '{ printf "%s ", $1 }' /tmp/vx.out)" "1 2 3 4 5 "
		eq "search $mode: nearest" "$(hits | head -n 1)" "0.0625 $MNT/imp/vec-000017"
		eq "search $mode: distances, nearest first" "$(hits | cut -d' ' -f1 | tr '\n' ' ')" "$(cut -d' ' -f1 /tmp/want | tr '\n' ' ')"
		# every path is the file whose vector is at that distance
		hits | while read -r d p; do
			i=${p##*/vec-}
			w=$(nearest 40 "$q" 40 8 0 | awk -v i=$((1$i - 1000000)) '$2 == i { print $1 }')
			[ "$d" = "$w" ] || echo "$p at $d, brute force says $w"
		done >/tmp/bad
		[ -s /tmp/bad ] && note "search $mode: $(head -n 2 /tmp/bad | tr '\n' ' ')"
	done
	# JSON output (no jq in busybox: grep the pretty-printed fields)
	vok "search json" search "$MNT" -k 5 --format json --vector "$q"
	eq "json: ranks" "$(grep -c '"rank": ' /tmp/vx.out)" 5
	eq "json: first rank" "$(grep -m1 '"rank": ' /tmp/vx.out | tr -d ' ,')" '"rank":1'
	eq "json: first path" "$(grep -m1 '"path": ' /tmp/vx.out | sed 's/^ *//; s/,$//')" "\"path\": \"$MNT/imp/vec-000017\""
	eq "json: first ino" "$(grep -m1 '"ino": ' /tmp/vx.out | tr -d ' ,')" "\"ino\":$(ino $MNT/imp/vec-000017)"
	eq "json: first distance" "$(grep -m1 '"distance": ' /tmp/vx.out | tr -d ' ,')" '"distance":0.0625'
	eq "json: array" "$(head -c 1 /tmp/vx.out)$(tail -n 1 /tmp/vx.out)" "[]"
	eq "json: objects" "$(grep -c '^  {$' /tmp/vx.out) $(grep -cE '^  },?$' /tmp/vx.out)" "5 5"
	# .npy (float32 and float64), .json, with prefixes, in subdirectories
	vok "import npy <f4" import "$MNT/sub/np" /tmp/a.npy --prefix np
	vok "import npy <f8" import "$MNT/sub/np8" /tmp/b.npy --prefix d --batch 7
	vok "import json" import "$MNT/js" /tmp/a.json
	vok "get npy4 5" get "$MNT/sub/np/np-000005"
	eq "npy <f4 vector 5" "$(cat /tmp/vx.out)" "$(vec 40 8 1 5)"
	vok "get npy8 38" get "$MNT/sub/np8/d-000038"
	eq "npy <f8 vector 38" "$(cat /tmp/vx.out)" "$(vec 40 8 2 38)"
	vok "get json 21" get "$MNT/js/vec-000021"
	eq "json vector 21" "$(cat /tmp/vx.out)" "$(vec 40 8 3 21)"
	vok "info" info "$MNT"
	eq "count after 4 imports" "$(field vectors)" 160
	# subtrees: only paths below the searched directory
	v5=$(vec 40 8 1 5)
	vok "search sub/np" search "$MNT/sub/np" -k 3 --vector "$v5"
	eq "sub/np: nearest" "$(hits | head -n 1)" "0 $MNT/sub/np/np-000005"
	eq "sub/np: all below" "$(hits | grep -c " $MNT/sub/np/np-")" 3
	vok "search sub" search "$MNT/sub" -k 80 --exact --vector "$v5"
	eq "sub: hits" "$(wc -l </tmp/vx.out)" 80
	eq "sub: all below" "$(hits | grep -cE " $MNT/sub/(np/np|np8/d)-")" 80
	vok "search imp" search "$MNT/imp" -k 40 --vector "$v5"
	eq "imp: all below" "$(hits | grep -c " $MNT/imp/vec-")" 40
	vok "search whole fs" search "$MNT" -k 160 --exact --vector "$v5"
	eq "whole fs: hits" "$(wc -l </tmp/vx.out)" 160
	eq "whole fs: every path found" "$(grep -c '<ino' /tmp/vx.out)" 0
	eq "whole fs: distinct paths" "$(hits | cut -d' ' -f2 | sort -u | wc -l)" 160
	# the query vector from a file
	vok "search --from json" search "$MNT/js" -k 1 --from /tmp/a.json --index 7
	eq "--from json --index 7" "$(hits)" "0 $MNT/js/vec-000007"
	vok "search --from fvecs" search "$MNT" -k 1 --exact --from /tmp/a.fvecs --index 39
	eq "--from fvecs --index 39" "$(hits)" "0 $MNT/imp/vec-000039"
	vok "set --from npy" set "$MNT/sub/np/np-000000" --from /tmp/b.npy --index 3
	vok "get" get "$MNT/sub/np/np-000000"
	eq "set --from npy <f8 --index 3" "$(cat /tmp/vx.out)" "$(vec 40 8 2 3)"
	vfail "--index past the end" "/tmp/a.json: " search "$MNT" --from /tmp/a.json --index 40
	# stats
	vok "stats" stats "$MNT"
	eq "stats vectors" "$(field vectors)" 160
	eq "stats vector data" "$(field 'vector data' | sed 's/.*(//')" "5120 bytes)"
	cap=$(field capacity)
	eq "stats free slots" "$(field 'free slots')" $((cap - 160))
	eq "stats fill" "$(field fill)" "$(awk -v c=$cap 'BEGIN { printf "%.2f%%", 16000 / c }')"
	vok "stats json" stats "$MNT" --format json
	grep -qE '"vector_bytes": 5120,?$' /tmp/vx.out || note "stats json lacks \"vector_bytes\": 5120: $(tr '\n' ' ' </tmp/vx.out | head -c 300)"
	grep -qE "\"free\": $((cap - 160)),?\$" /tmp/vx.out || note "stats json: free is not $((cap - 160))"
	# importing again reuses the files and replaces their vectors
	echo kept >"$MNT/js/vec-000002"
	vok "re-import json" import "$MNT/js" /tmp/a.json
	content "$MNT/js/vec-000002" kept
	vok "info" info "$MNT"
	eq "count after re-import" "$(field vectors)" 160
	# broken input files
	mkvec fvecs 5 4 0 /tmp/d4.fvecs
	vfail "import 4-d vectors" "/tmp/d4.fvecs: vectors have 4 dimensions, the filesystem expects 8$" import "$MNT/imp" /tmp/d4.fvecs
	printf 'hello' >/tmp/bad.npy
	vfail "import a bad .npy" "^vexctl: /tmp/bad.npy: " import "$MNT/imp" /tmp/bad.npy
	head -c 1000 /tmp/a.fvecs >/tmp/cut.fvecs
	vfail "import a truncated .fvecs" "^vexctl: /tmp/cut.fvecs: " import "$MNT/imp" /tmp/cut.fvecs
	printf '[[1,2,3,4,5,6,7,8],[1,2' >/tmp/bad.json
	vfail "import bad JSON" "^vexctl: /tmp/bad.json: " import "$MNT/imp" /tmp/bad.json
	cp /tmp/a.json /tmp/a.vec
	vfail "import, unknown extension" "cannot tell the vector format" import "$MNT/imp" /tmp/a.vec
	vok "import --input-format json" import "$MNT/imp" /tmp/a.vec --input-format json --prefix x
	vfail "import into a missing dir" "^vexctl: $MNT/nodir: No such file or directory$" import "$MNT/nodir" /tmp/a.json
	vok "info" info "$MNT"
	eq "count after the failed imports" "$(field vectors)" 200
	# all of it on disk
	remount
	vok "search after remount" search "$MNT" -k 1 --vector "$q"
	eq "after remount: nearest" "$(hits)" "0.0625 $MNT/imp/vec-000017"
fi
end

begin vexctl_not_vexfs
if vexfs_only && have_vexctl; then
	mkvec json 3 8 0 /tmp/v.json
	# tmpfs
	echo x >/tmp/plain
	mkdir -p /tmp/pd
	nv="not on a VexFS filesystem"
	vfail "info on tmpfs" "^vexctl: /tmp: Inappropriate ioctl for device \($nv" info /tmp
	vfail "stats on tmpfs" "$nv" stats /tmp/plain
	vfail "get on tmpfs" "^vexctl: /tmp/plain: Inappropriate ioctl for device \($nv" get /tmp/plain
	vfail "set on tmpfs" "$nv" set /tmp/plain --vector 1,2,3,4,5,6,7,8
	vfail "rm on tmpfs" "$nv" rm /tmp/plain
	vfail "search on tmpfs" "$nv" search /tmp --vector 1,2,3,4,5,6,7,8
	vfail "import on tmpfs" "$nv" import /tmp/pd /tmp/v.json
	eq "import on tmpfs made no files" "$(ls /tmp/pd | wc -l)" 0
	content /tmp/plain x
	# ext4
	if mount -t ext4 "$DEV_EXT4" "$MNT2" 2>/tmp/m.err; then
		vfail "info on ext4" "^vexctl: $MNT2: Inappropriate ioctl for device \($nv" info "$MNT2"
		vfail "get on ext4" "$nv" get "$MNT2/hello.txt"
		vfail "set on ext4" "$nv" set "$MNT2/hello.txt" --vector 1,2,3,4,5,6,7,8
		vfail "search on ext4" "$nv" search "$MNT2" -k 3 --exact --vector 1,2,3,4,5,6,7,8
		content "$MNT2/hello.txt" "hello from the host"
		umount_dir "$MNT2"
	else
		note "mount of the ext4 disk failed: $(cat /tmp/m.err)"
	fi
	# vexfs made without --dim: no vector space
	if fresh "$DEV_SECOND" "$MNT2"; then
		echo z >"$MNT2/z"
		nd="the filesystem was made without a vector space \(mkfs.vexfs --dim\)"
		vok "info without vector space" info "$MNT2"
		eq "dimension without vector space" "$(field dimension)" "0 (no vector space: made without mkfs.vexfs --dim)"
		vfail "set without vector space" "^vexctl: $MNT2/z: Operation not supported \($nd\)$" set "$MNT2/z" --vector 1,2,3,4,5,6,7,8
		vfail "get without vector space" "$nd" get "$MNT2/z"
		vfail "search without vector space" "$nd" search "$MNT2" --vector 1,2,3,4,5,6,7,8
		mkdir "$MNT2/d"
		vfail "import without vector space" "$nd" import "$MNT2/d" /tmp/v.json
		eq "import made no files" "$(ls $MNT2/d | wc -l)" 0
		umount_dir "$MNT2"
	fi
	vfail "missing path" "^vexctl: /nonexistent: No such file or directory$" info /nonexistent
fi
end

# import --names: vectors for files of a tree, by a list of paths
begin vexctl_import_names
if vexfs_only && have_vexctl && vfresh; then
	mkdir -p "$MNT/kb/a/b" "$MNT/kb/c" "$MNT/other"
	echo "text of x" >"$MNT/kb/a/b/x.txt"
	mkvec fvecs 4 8 5 /tmp/n.fvecs
	printf 'a/b/x.txt\na/y.txt\nc/z.txt\ntop.txt\n' >/tmp/n.names
	vok "import --names" import "$MNT/kb" /tmp/n.fvecs --names /tmp/n.names
	eq "import message" "$(cat /tmp/vx.err)" "vexctl: /tmp/n.fvecs: 4 vectors imported into $MNT/kb"
	content "$MNT/kb/a/b/x.txt" "text of x"
	eq "new files are empty" "$(stat -c %s $MNT/kb/c/z.txt)" 0
	eq "no vec-* files" "$(ls $MNT/kb | tr '\n' ' ')" "a c top.txt "
	i=0
	for p in a/b/x.txt a/y.txt c/z.txt top.txt; do
		vok "get $p" get "$MNT/kb/$p"
		eq "vector of $p" "$(cat /tmp/vx.out)" "$(vec 4 8 5 $i)"
		vok "search vector $i" search "$MNT" -k 1 --exact --vector "$(vec 4 8 5 $i)"
		eq "nearest to vector $i" "$(awk '{print $2, $3}' /tmp/vx.out)" "0 $MNT/kb/$p"
		i=$((i + 1))
	done
	printf 'a\nb\n' >/tmp/n2.names
	vfail "names: wrong count" "/tmp/n2.names: 2 names for 4 vectors$" import "$MNT/other" /tmp/n.fvecs --names /tmp/n2.names
	printf 'a\n/b\nc\nd\n' >/tmp/n3.names
	vfail "names: absolute" "/tmp/n3.names: line 2: '/b': a name must be" import "$MNT/other" /tmp/n.fvecs --names /tmp/n3.names
	eq "refused lists made no files" "$(ls $MNT/other | wc -l)" 0
	vok "info" info "$MNT"
	eq "count" "$(field vectors)" 4
fi
end
