# Images shared with vexfs-fuse, and the fixed-size vector ioctls in the module.
# fuse_image_in_kernel: an image written through vexfs-fuse on the host
# (tests/fuse/interchange.sh passes it as VM_IMAGE, serial vx-given) is
# fsck'd, mounted, and its files, symlink and vectors checked against the
# MANIFEST the host wrote (path md5 vector); then changed here: the host
# reads the changes through vexfs-fuse again. SKIP without VM_IMAGE.
# fixed_ioctls_in_kernel: vexctl with VEXCTL_FIXED=1 (only the *_FIXED
# requests, as on a FUSE mount) gives what the pointer requests give.

begin fuse_image_in_kernel
if [ "$FSTYPE" != vexfs ]; then
	skip "VexFS only"
elif [ ! -b "$DEV_GIVEN" ]; then
	skip "no image from the host (VM_IMAGE: tests/fuse/interchange.sh)"
elif load_fs && ok "fsck of the host's image" fsck.vexfs -n "$DEV_GIVEN" &&
	mount_dev "$DEV_GIVEN" "$MNT"; then
	n=0
	while read -r p sum vec; do
		n=$((n + 1))
		eq "md5 of $p" "$(md5sum "$MNT/$p" | cut -d' ' -f1)" "$sum"
		[ "$vec" = - ] || eq "vector of $p" "$(vexctl get "$MNT/$p" 2>&1)" "$vec"
	done <"$MNT/MANIFEST"
	[ "$n" -ge 3 ] || note "MANIFEST lists $n files"
	eq "symlink" "$(readlink "$MNT/docs/link")" "one"
	eq "search" "$(vexctl search --vector 1,2,3,4 -k 1 "$MNT" | awk '{print $3}')" "$MNT/docs/one"
	# the changes the host checks
	ok "mkdir" mkdir "$MNT/vm"
	echo "written by the module" >"$MNT/vm/new"
	ok "set" vexctl set --vector 5,6,7,8 "$MNT/vm/new"
	echo "appended in the vm" >>"$MNT/docs/one"
	ok "rm vector" vexctl rm "$MNT/docs/two"
	ok "rename" mv "$MNT/docs/three" "$MNT/vm/three"
	ok "symlink" ln -s ../docs/one "$MNT/vm/link"
	umount_dir "$MNT"
fi
end

begin fixed_ioctls_in_kernel
if vexfs_only && command -v vexctl >/dev/null && vfresh; then
	v() { printf '%s,0,0,0,0,0,0,0' "$1"; }
	for i in 1 2 3 4; do
		echo "$i" >"$MNT/f$i"
		ok "set f$i" vexctl set --vector "$(v $i)" "$MNT/f$i"
	done
	mkdir -p "$MNT/d/e"
	echo x >"$MNT/d/e/g"
	ok "set fixed" env VEXCTL_FIXED=1 vexctl set --vector "$(v 2.5)" "$MNT/d/e/g"
	eq "get fixed" "$(VEXCTL_FIXED=1 vexctl get "$MNT/d/e/g")" "$(vexctl get "$MNT/d/e/g")"
	eq "get fixed value" "$(VEXCTL_FIXED=1 vexctl get "$MNT/d/e/g")" "$(v 2.5)"
	for k in 1 3 10; do
		eq "search k=$k" "$(VEXCTL_FIXED=1 vexctl search --vector "$(v 2)" -k $k "$MNT")" \
			"$(vexctl search --vector "$(v 2)" -k $k "$MNT")"
	done
	eq "subtree search" "$(VEXCTL_FIXED=1 vexctl search --vector "$(v 2)" -k 5 "$MNT/d")" \
		"$(vexctl search --vector "$(v 2)" -k 5 "$MNT/d")"
	eq "subtree path" "$(VEXCTL_FIXED=1 vexctl search --vector "$(v 2)" -k 1 "$MNT/d" | awk '{print $3}')" \
		"$MNT/d/e/g"
	# errors as the pointer requests give them
	nok "wrong dimension" env VEXCTL_FIXED=1 vexctl set --vector 1,2,3 "$MNT/f1"
	nok "set on a directory" env VEXCTL_FIXED=1 vexctl set --vector "$(v 1)" "$MNT/d"
	nok "k too large" env VEXCTL_FIXED=1 vexctl search --vector "$(v 1)" -k 257 "$MNT"
	ok "rm" env VEXCTL_FIXED=1 vexctl rm "$MNT/f4"
	nok "get after rm" env VEXCTL_FIXED=1 vexctl get "$MNT/f4"
	umount_dir "$MNT"
fi
end
