# unlink and its errors
begin unlink
if fresh; then
	echo x >"$MNT/f"
	mkdir "$MNT/d"
	errno OK "unlink file" unlink "$MNT/f"
	absent "$MNT/f"
	errno ENOENT "unlink again" unlink "$MNT/f"
	errno EISDIR "unlink a directory" unlink "$MNT/d"
	exists "$MNT/d"
	errno ENOENT "unlink missing" unlink "$MNT/none"
	echo x >"$MNT/g"
	errno ENOTDIR "path through a file" unlink "$MNT/g/y"
	# recreate the same name: a new, working file
	echo new >"$MNT/f"
	content "$MNT/f" new
	eq "ls after recreate" "$(ls $MNT | tr '\n' ' ')" "d f g "
fi
end
