# Guest-side helpers for the VexFS VM test suite (busybox ash). Sourced by
# every case script. Parameterised by FSTYPE (vexfs | ext4) so the same
# cases can be validated against ext4, the reference behaviour.
#
# Result protocol (judged on the host by tests/vm/run.sh):
#   PASS <name>            FAIL <name>: <reason>          SKIP <name>: <why>
# A case script reports one or more named results:
#   begin NAME; ...checks that call note "reason" on failure...; end

[ -f /etc/vmtest.conf ] && . /etc/vmtest.conf
: "${FSTYPE:=vexfs}"
MNT=/mnt/a
MNT2=/mnt/b
mkdir -p "$MNT" "$MNT2" /mnt/c

# Disks are identified by their virtio serial (set by run.sh), not by order.
disk_by_serial() {
	for s in /sys/block/vd*; do
		[ "$(cat "$s/serial" 2>/dev/null)" = "$1" ] && { echo "/dev/${s##*/}"; return 0; }
	done
	echo "/dev/MISSING-$1"
	return 1
}
DEV_MAIN=$(disk_by_serial vx-main)      # 512 MiB, /dev/vdb
DEV_SECOND=$(disk_by_serial vx-second)  # 256 MiB, /dev/vdc
DEV_EXT4=$(disk_by_serial vx-ext4)      # small ext4 image made on the host, /dev/vdd
DEV_SMALL=$(disk_by_serial vx-small)    # 32 MiB, for ENOSPC, /dev/vda
DEV_ZERO=$(disk_by_serial vx-zero)      # 8 MiB of zeroes, /dev/vde
DEV_GIVEN=$(disk_by_serial vx-given || true)  # VM_IMAGE from the host, if any

# ---------- result bookkeeping ----------
_T=
_R=
begin() { _T=$1; _R=; }
note() {
	_r=$(printf '%s' "$*" | tr '\n\t' '  ' | cut -c1-300)
	_R="${_R:+$_R; }$_r"
}
end() {
	[ -n "$_T" ] || return 0
	if [ -z "$_R" ]; then echo "PASS $_T"; else echo "FAIL $_T: $_R"; fi
	_T=
}
skip() { echo "SKIP $_T: $*"; _T=; }
failed() { [ -n "$_R" ]; }

# ---------- checks (each records a reason and returns non-zero on failure) ----------
# ok DESC CMD...: CMD must succeed.
ok() {
	_d=$1; shift
	if "$@" >/tmp/ok.out 2>&1; then return 0; fi
	note "$_d: '$*' failed: $(head -c 200 /tmp/ok.out)"
	return 1
}
# nok DESC CMD...: CMD must fail.
nok() {
	_d=$1; shift
	if "$@" >/tmp/ok.out 2>&1; then note "$_d: '$*' unexpectedly succeeded"; return 1; fi
	return 0
}
# eq DESC GOT EXPECTED
eq() {
	[ "$2" = "$3" ] && return 0
	note "$1: got '$2', expected '$3'"
	return 1
}
# errno EXPECTED DESC VMHELPER-ARGS...: vmhelper prints OK or the errno name.
errno() {
	_e=$1 _d=$2; shift 2
	_g=$(vmhelper "$@" 2>&1 | head -n1)
	[ "$_g" = "$_e" ] && return 0
	note "$_d: vmhelper $*: got $_g, expected $_e"
	return 1
}
# exists / absent
exists() { [ -e "$1" ] || [ -L "$1" ] || { note "$1 should exist"; return 1; }; }
absent() { if [ -e "$1" ] || [ -L "$1" ]; then note "$1 should not exist"; return 1; fi; }
# content FILE EXPECTED: whole file content equals the string
content() {
	_c=$(cat "$1" 2>&1)
	[ "$_c" = "$2" ] && return 0
	note "content of $1: got '$(printf '%s' "$_c" | head -c 80)', expected '$(printf '%s' "$2" | head -c 80)'"
	return 1
}
# st FMT PATH: busybox stat field(s) of a path (no follow)
st() { stat -c "$1" "$2" 2>&1; }
# refused_mount DEV DESC: mount(2) of DEV as $FSTYPE must fail; prints the errno
refused_mount() {
	_g=$(vmhelper mount "$1" "$MNT" "$FSTYPE" 2>&1 | head -n1)
	if [ "$_g" = OK ]; then note "$2: mount of $1 succeeded"; umount "$MNT"; return 1; fi
	echo "  $2: mount refused with $_g; kernel said: $(dmesg | tail -n 1)"
}
# dmesg_has REGEX: the kernel log since the case started has a matching line
dmesg_has() { dmesg | grep -qiE "$1"; }
# statfs field: 1 bsize 2 blocks 3 bfree 4 bavail 5 files 6 ffree 7 namelen
sfs() { vmhelper statfs "$2" | awk -v f="$1" '{print $f}'; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# ---------- filesystem helpers ----------
fs_module_loaded() { grep -qw "$FSTYPE" /proc/filesystems; }
load_fs() {
	fs_module_loaded && return 0
	insmod "$FS_MODULE" >/tmp/insmod.out 2>&1 || { note "insmod $FS_MODULE: $(cat /tmp/insmod.out)"; return 1; }
}
mkfs_dev() {
	case "$FSTYPE" in
	vexfs) mkfs.vexfs -f -q $MKFS_VEXFS_ARGS "$1" ;;
	ext4) mkfs.ext4 -q -F -m 0 "$1" ;;
	*) echo "unknown FSTYPE $FSTYPE"; return 1 ;;
	esac >/tmp/mkfs.out 2>&1 || { note "mkfs $1 failed: $(tail -n 3 /tmp/mkfs.out)"; return 1; }
}
mount_dev() {
	mount -t "$FSTYPE" ${3:+-o "$3"} "$1" "$2" >/tmp/mount.out 2>&1 && return 0
	note "mount $1 $2 failed: $(cat /tmp/mount.out) / $(dmesg | tail -n 2)"
	return 1
}
umount_dir() {
	_udev=$(awk -v m="$1" '$2 == m && $3 == "vexfs" {print $1}' /proc/mounts | tail -n 1)
	if ! umount "$1" >/tmp/umount.out 2>&1; then
		note "umount $1 failed: $(cat /tmp/umount.out)"
		return 1
	fi
	fsck_clean "$_udev"
}
# fsck_clean DEV: after every unmount the checker must find nothing (cases
# that damage a disk on purpose set NO_FSCK=1).
fsck_clean() {
	[ "$FSTYPE" = vexfs ] && [ -z "$NO_FSCK" ] && [ -n "$1" ] && command -v fsck.vexfs >/dev/null || return 0
	fsck.vexfs -n "$1" >/tmp/fsck.out 2>&1 && return 0
	note "fsck.vexfs -n $1 after umount (exit $?): $(grep -v '^Pass' /tmp/fsck.out | head -n 4)"
	return 1
}
# fresh [DEV [MNT]]: make a new filesystem and mount it. Non-zero on failure.
fresh() {
	_dev=${1:-$DEV_MAIN} _mnt=${2:-$MNT}
	umount "$_mnt" 2>/dev/null
	load_fs || return 1
	mkfs_dev "$_dev" || return 1
	mount_dev "$_dev" "$_mnt" || return 1
	rm -rf "$_mnt/lost+found" # ext4 only: keep the root listing comparable
	return 0
}
# remount [DEV [MNT]]: umount + mount (data must come from disk afterwards)
remount() {
	_dev=${1:-$DEV_MAIN} _mnt=${2:-$MNT}
	cd /
	sync
	umount_dir "$_mnt" || return 1
	echo 3 >/proc/sys/vm/drop_caches
	mount_dev "$_dev" "$_mnt"
}
# manifest DIR: one line per entry: path type mode nlink size mtime uid gid [target|sha256]
manifest() {
	(cd "$1" && find . | sort | while IFS= read -r p; do
		[ "$p" = . ] && continue
		_l=$(stat -c '%F %a %h %u %g %Y' "$p")
		case "$_l" in
		directory*) echo "$p $_l" ;;
		"symbolic link"*) echo "$p $_l -> $(readlink "$p")" ;;
		"regular"*) echo "$p $_l $(stat -c %s "$p") $(sha256sum <"$p" | cut -c1-16)" ;;
		*) echo "$p $_l" ;;
		esac
	done)
}

# ---------- vector helpers (the suite's fresh() makes no vector space) ----------
vexfs_only() { [ "$FSTYPE" = vexfs ] || { skip "vector ioctls are VexFS-only"; return 1; }; }
# vfresh [DEV [MNT]]: mkfs with an 8-dimensional L2 vector space, mount
vfresh() {
	_dev=${1:-$DEV_MAIN} _mnt=${2:-$MNT}
	umount "$_mnt" 2>/dev/null
	load_fs || return 1
	mkfs.vexfs -f -q $MKFS_VEXFS_ARGS --dim 8 --metric l2 "$_dev" >/tmp/mkfs.out 2>&1 ||
		{ note "mkfs --dim 8 $_dev failed: $(tail -n 3 /tmp/mkfs.out)"; return 1; }
	mount_dev "$_dev" "$_mnt"
}
vinfo_field() { vmhelper vinfo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
vcount() { vinfo_field count "${1:-$MNT}"; }
ino() { stat -c %i "$1"; }
unit() { echo "$1,0,0,0,0,0,0,0"; } # unit X: X along the first axis
