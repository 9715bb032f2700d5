# mkdir/rmdir and their errors; directory link counts (ext4 semantics)
begin mkdir_rmdir
if fresh; then
	ok "mkdir" mkdir "$MNT/d"
	eq "type" "$(st %F $MNT/d)" directory
	eq "new dir nlink" "$(st %h $MNT/d)" 2
	eq "root nlink after mkdir" "$(st %h $MNT)" 3
	ok "mkdir -p" mkdir -p "$MNT/d/e/f/g"
	eq "nlink of d with one subdir" "$(st %h $MNT/d)" 3
	eq "ls d" "$(ls -A $MNT/d)" e
	eq "dotdot resolves" "$(cd $MNT/d/e/f/g/.. && pwd)" "$MNT/d/e/f"
	eq "dot ino" "$(st %i $MNT/d/.)" "$(st %i $MNT/d)"
	eq "dotdot ino" "$(st %i $MNT/d/e/..)" "$(st %i $MNT/d)"
	ok "rmdir g" rmdir "$MNT/d/e/f/g"
	absent "$MNT/d/e/f/g"
	eq "nlink of f after rmdir" "$(st %h $MNT/d/e/f)" 2
	mkdir "$MNT/d2" && ok "mode 0700 mkdir" vmhelper mkdir "$MNT/d3" 0700
	eq "mkdir mode" "$(st %a $MNT/d3)" 700
	ok "rmdir d2" rmdir "$MNT/d2"
	eq "root nlink" "$(st %h $MNT)" 4
	# many subdirectories: parent nlink = 2 + subdirs
	mkdir "$MNT/many"
	i=0; while [ $i -lt 100 ]; do mkdir "$MNT/many/s$i" || break; i=$((i + 1)); done
	eq "nlink with 100 subdirs" "$(st %h $MNT/many)" 102
	# deep nesting
	p=$MNT/deep; i=0; while [ $i -lt 60 ]; do p=$p/level$i; i=$((i + 1)); done
	ok "mkdir -p 60 levels" mkdir -p "$p"
	echo bottom >"$p/f"
	remount
	content "$p/f" bottom
	eq "nlink with 100 subdirs after remount" "$(st %h $MNT/many)" 102
	ok "rm -rf deep" rm -rf "$MNT/deep"
	absent "$MNT/deep"
fi
end

begin rmdir_errors
if fresh; then
	mkdir -p "$MNT/d/sub"
	echo x >"$MNT/d/file"
	mkdir "$MNT/e"; echo y >"$MNT/e/only"
	errno ENOTEMPTY "rmdir dir with subdir" rmdir "$MNT/d"
	errno ENOTEMPTY "rmdir dir with only a file" rmdir "$MNT/e"
	errno ENOTDIR "rmdir a file" rmdir "$MNT/d/file"
	errno ENOENT "rmdir missing" rmdir "$MNT/nope"
	errno EEXIST "mkdir existing dir" mkdir "$MNT/d"
	errno EEXIST "mkdir over a file" mkdir "$MNT/d/file"
	errno ENOENT "mkdir in missing parent" mkdir "$MNT/x/y"
	errno ENOTDIR "mkdir under a file" mkdir "$MNT/d/file/z"
	errno EINVAL "rmdir ." rmdir "$MNT/d/."
	errno ENOTEMPTY "rmdir .." rmdir "$MNT/d/sub/.."
	exists "$MNT/d/sub"
	rm "$MNT/e/only"
	errno OK "rmdir after emptying" rmdir "$MNT/e"
	# a directory that had many entries, all removed, is empty again
	mkdir "$MNT/m"
	i=0; while [ $i -lt 200 ]; do printf '' >"$MNT/m/file-with-a-longish-name-$i"; i=$((i + 1)); done
	rm -f "$MNT"/m/*
	eq "emptied dir lists nothing" "$(ls -A $MNT/m | wc -l)" 0
	errno OK "rmdir emptied big dir" rmdir "$MNT/m"
fi
end
