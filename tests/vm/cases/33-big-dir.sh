# One directory of 20,000 names (VexFS: a hashed index), against ext4 too:
# lookups hit and miss, readdir and ls, telldir/seekdir, unlink of half,
# readdir while names come and go.
begin big_dir
if fresh; then
	mkdir "$MNT/big"
	eq "create 20000" "$(vmhelper names create $MNT/big f 0 20000)" 20000
	eq "create again: EEXIST" "$(vmhelper names create $MNT/big f 0 1 2>/dev/null)" 0
	eq "readdir count" "$(vmhelper countdir $MNT/big)" 20000
	eq "ls unique" "$(ls $MNT/big | sort -u | wc -l)" 20000
	eq "lookup hits" "$(vmhelper names stat $MNT/big f 0 20000)" 20000
	eq "lookup misses" "$(vmhelper names miss $MNT/big f 20000 22000)" 2000
	remount
	eq "cold lookup hits" "$(vmhelper names stat $MNT/big f 0 20000)" 20000
	eq "cold lookup misses" "$(vmhelper names miss $MNT/big g 0 2000)" 2000
	eq "telldir/seekdir" "$(vmhelper dirseek $MNT/big)" "20002 0"
	eq "unlink half" "$(vmhelper names unlink $MNT/big f 0 10000)" 10000
	eq "half left" "$(vmhelper countdir $MNT/big)" 10000
	eq "unlinked are gone" "$(vmhelper names miss $MNT/big f 0 10000)" 10000
	eq "the rest stays" "$(vmhelper names stat $MNT/big f 10000 20000)" 10000
	remount
	eq "ls after remount" "$(ls $MNT/big | wc -l)" 10000
	eq "create into the holes" "$(vmhelper names create $MNT/big f 0 5000)" 5000
	eq "ls unique 15000" "$(ls $MNT/big | sort -u | wc -l)" 15000
	ok "rm -rf" rm -rf "$MNT/big"
	absent "$MNT/big"
	remount
	eq "root empty" "$(ls -A $MNT | wc -l)" 0
fi
end

begin readdir_while_changing
if fresh; then
	mkdir "$MNT/c"
	eq "create 3000" "$(vmhelper names create $MNT/c s 0 3000)" 3000
	# getdents64 in 512-byte steps, 8 names added and 4 removed between
	# calls (leaves split under the reader): each stable name exactly once.
	eq "stable names once each" "$(vmhelper dirchurn $MNT/c 3000)" "3000 0 1"
	eq "telldir/seekdir after the churn" "$(vmhelper dirseek $MNT/c | cut -d' ' -f2)" 0
	remount
	eq "stable names after remount" "$(vmhelper names stat $MNT/c s 0 3000)" 3000
fi
end
