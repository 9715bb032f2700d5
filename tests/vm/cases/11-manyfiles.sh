# 1,000 files in one directory
begin thousand_files
if fresh; then
	mkdir "$MNT/d"
	i=0
	while [ $i -lt 1000 ]; do echo "content $i" >"$MNT/d/file-$i" || { note "create file-$i failed"; break; }; i=$((i + 1)); done
	eq "ls count" "$(ls $MNT/d | wc -l)" 1000
	eq "readdir count" "$(vmhelper countdir $MNT/d)" 1000
	eq "ls sorted unique" "$(ls $MNT/d | sort -u | wc -l)" 1000
	eq "stat all: sizes" "$(cd $MNT/d && stat -c %s file-* | sort -u | tr '\n' ' ')" "10 11 12 "
	eq "stat all: count" "$(cd $MNT/d && stat -c %i file-* | sort -u | wc -l)" 1000
	content "$MNT/d/file-0" "content 0"
	content "$MNT/d/file-999" "content 999"
	remount
	eq "ls count after remount" "$(ls $MNT/d | wc -l)" 1000
	content "$MNT/d/file-500" "content 500"
	eq "spot check" "$(cat $MNT/d/file-1 $MNT/d/file-10 $MNT/d/file-100 | tr '\n' ,)" "content 1,content 10,content 100,"
	# delete odd ones, check, then all
	i=1; while [ $i -lt 1000 ]; do rm "$MNT/d/file-$i" || { note "rm file-$i failed"; break; }; i=$((i + 2)); done
	eq "500 left" "$(ls $MNT/d | wc -l)" 500
	absent "$MNT/d/file-999"
	content "$MNT/d/file-998" "content 998"
	rm -f "$MNT"/d/file-*
	eq "empty" "$(ls -A $MNT/d | wc -l)" 0
	errno OK "rmdir emptied dir" rmdir "$MNT/d"
	# rm -rf interleaves readdir and unlink: no entry may be skipped
	mkdir "$MNT/r"
	i=0; while [ $i -lt 1500 ]; do printf '' >"$MNT/r/a-rather-long-file-name-to-fill-directory-blocks-quickly-$i"; i=$((i + 1)); done
	eq "1500 made" "$(vmhelper countdir $MNT/r)" 1500
	ok "rm -rf 1500 entries" rm -rf "$MNT/r"
	absent "$MNT/r"
	remount
	eq "root empty after remount" "$(ls -A $MNT | wc -l)" 0
fi
end
