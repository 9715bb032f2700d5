# insmod/rmmod of the filesystem module; rmmod refused while mounted.
# (delete_module returns EAGAIN/EWOULDBLOCK for a module in use; that is
# what rmmod gets for a mounted ext4 as well.)
begin module_insmod_rmmod
MODNAME=$FSTYPE
if [ -z "$FS_MODULE" ]; then
	skip "$FSTYPE is built into the kernel"
else
	if fs_module_loaded; then errno OK "rmmod (unused)" delmod "$MODNAME"; fi
	if grep -qw "$FSTYPE" /proc/filesystems; then note "$FSTYPE still in /proc/filesystems after rmmod"; fi
	ok "insmod" insmod "$FS_MODULE"
	grep -qw "$FSTYPE" /proc/filesystems || note "$FSTYPE not in /proc/filesystems after insmod"
	grep -q "^$MODNAME " /proc/modules || note "$MODNAME not in /proc/modules"
	nok "second insmod must fail" insmod "$FS_MODULE"
	errno OK "rmmod after insmod" delmod "$MODNAME"
	ok "insmod again" insmod "$FS_MODULE"
	end

	begin module_rmmod_busy_while_mounted
	if fresh; then
		errno EAGAIN "rmmod while mounted" delmod "$MODNAME"
		grep -q "^$MODNAME " /proc/modules || note "module gone while mounted"
		echo data >"$MNT/f" || note "fs unusable after refused rmmod"
		content "$MNT/f" data
		umount_dir "$MNT"
		errno OK "rmmod after umount" delmod "$MODNAME"
		ok "insmod after rmmod" insmod "$FS_MODULE"
		fresh && absent "$MNT/f"
		umount "$MNT"
	fi
fi
end
