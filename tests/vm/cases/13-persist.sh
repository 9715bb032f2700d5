# data and metadata intact after umount/mount: tree, modes, sizes, link
# counts, symlink targets, mtimes, owners, contents
begin persist_tree
if fresh; then
	cd "$MNT"
	mkdir -p a/b/c a/e x
	echo one >a/one; echo two >a/b/two
	dd if=/dev/urandom of=a/b/c/rand bs=1024 count=300 2>/dev/null
	dd if=/dev/urandom of=x/tiny bs=1 count=1 2>/dev/null
	printf '' >a/e/empty
	seq 1 30000 >x/seq
	ln a/one a/e/one-link
	ln -s ../a/b/two x/sym
	ln -s "$(printf 'L%.0s' $(seq 1 300))" x/longsym
	mkfifo x/fifo
	chmod 0751 a/b; chmod 0600 a/one; chmod 2775 a/e
	chown 7:8 a/b/two; chown 1000:1000 x
	touch -d '2010-10-10 10:10:10' a/b/c/rand
	touch -d '1999-12-31 23:59:59' a/b/c
	cd /
	manifest "$MNT" >/tmp/m1
	remount
	manifest "$MNT" >/tmp/m2
	diff /tmp/m1 /tmp/m2 >/tmp/mdiff || note "tree differs after remount: $(head -c 250 /tmp/mdiff)"
	[ "$(wc -l </tmp/m1)" -eq 15 ] || note "manifest has $(wc -l </tmp/m1) entries, expected 15"
	eq "hard link count" "$(st %h $MNT/a/one)" 2
	eq "seq tail" "$(tail -n1 $MNT/x/seq)" 30000
	# once more, after changes made on the remounted fs
	rm "$MNT/a/one"; mv "$MNT/x/seq" "$MNT/a/b/c/seq"; echo changed >"$MNT/a/b/two"
	manifest "$MNT" >/tmp/m3
	remount
	manifest "$MNT" >/tmp/m4
	diff /tmp/m3 /tmp/m4 >/tmp/mdiff || note "tree differs after 2nd remount: $(head -c 250 /tmp/mdiff)"
	eq "link count after unlink" "$(st %h $MNT/a/e/one-link)" 1
	content "$MNT/x/sym" changed
fi
end
