# concurrent creators/writers/renamers (the VM has 2 CPUs)
begin concurrent_ops
if fresh; then
	mkdir "$MNT/shared"
	for w in 1 2 3 4; do
		(
			mkdir "$MNT/w$w"
			i=0
			while [ $i -lt 150 ]; do
				echo "$w $i" >"$MNT/w$w/f$i"
				echo "$w $i" >"$MNT/shared/w$w-$i"
				[ $((i % 3)) -eq 0 ] && mv "$MNT/shared/w$w-$i" "$MNT/shared/r$w-$i"
				[ $((i % 5)) -eq 0 ] && rm "$MNT/w$w/f$i"
				i=$((i + 1))
			done
			dd if=/dev/urandom of="$MNT/w$w/big" bs=64k count=32 2>/dev/null
		) &
	done
	wait
	for w in 1 2 3 4; do
		eq "w$w entries" "$(vmhelper countdir $MNT/w$w)" 121
		content "$MNT/w$w/f149" "$w 149"
		eq "w$w/big size" "$(st %s $MNT/w$w/big)" 2097152
	done
	eq "shared entries" "$(vmhelper countdir $MNT/shared)" 600
	eq "renamed entries" "$(ls $MNT/shared | grep -c '^r')" 200
	remount
	eq "shared entries after remount" "$(vmhelper countdir $MNT/shared)" 600
	content "$MNT/shared/r3-147" "3 147"
	content "$MNT/shared/w4-148" "4 148"
	# concurrent deletes
	for w in 1 2 3 4; do rm -rf "$MNT/w$w" & done
	rm -rf "$MNT/shared" &
	wait
	eq "all deleted" "$(vmhelper countdir $MNT)" 0
fi
end
