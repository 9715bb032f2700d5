# Corrupted metadata (random garbage and single flipped bytes in blocks near
NO_FSCK=1 # this case damages disks on purpose
# the start of the disk, where metadata and the first data live; the
# superblock is kept) must give errors, never an oops, panic or warning.
# Errors from individual operations are expected and ignored here; the host
# fails the run on any Oops/BUG/WARNING in the kernel log.
for seed in 11 22 33; do
	begin "corrupt_metadata_seed$seed"
	if fresh; then
		cd "$MNT"
		i=0
		while [ $i -lt 8 ]; do
			mkdir -p "d$i/sub"
			j=0; while [ $j -lt 40 ]; do echo "file $i $j" >"d$i/f$j"; j=$((j + 1)); done
			dd if=/dev/urandom of="d$i/sub/big" bs=64k count=8 2>/dev/null
			ln -s "../d$i/f1" "d$i/sub/link"
			i=$((i + 1))
		done
		cd /
		sync
		used=$(( $(sfs 2 $MNT) - $(sfs 3 $MNT) ))
		umount_dir "$MNT"
		if [ "$FSTYPE" = vexfs ]; then
			# aim at what is in use: bitmaps + the used part of the inode table,
			# and the first $used blocks of the data area (directories, extents, data)
			u64() { od -An -tu8 -j"$1" -N8 "$DEV_MAIN" | tr -d ' '; }
			itab=$(u64 200); dstart=$(u64 248)
			blocks="$(vmhelper scribble "$DEV_MAIN" $seed 16 1 $((itab + 24)))"
			blocks="$blocks$(vmhelper scribble "$DEV_MAIN" $((seed + 1)) 32 "$dstart" $((dstart + used + 1)))"
		else
			blocks=$(vmhelper scribble "$DEV_MAIN" $seed 48 1 6144)
		fi
		echo "  seed $seed: corrupted 4K blocks: $blocks"
		dmesg -c >/dev/null
		if vmhelper mount "$DEV_MAIN" "$MNT" "$FSTYPE" >/tmp/m.out 2>&1; then
			ls -lR "$MNT" >/dev/null 2>&1
			find "$MNT" -type f -exec cat {} + >/dev/null 2>&1
			find "$MNT" -exec stat {} + >/dev/null 2>&1
			for k in 0 1 2 3 4 5 6 7; do
				echo new >"$MNT/d$k/new" 2>/dev/null
				mv "$MNT/d$k/f2" "$MNT/d$k/f2.moved" 2>/dev/null
				mkdir "$MNT/d$k/nd" 2>/dev/null
				truncate -s 1000 "$MNT/d$k/sub/big" 2>/dev/null
			done
			dd if=/dev/zero of="$MNT/fresh" bs=64k count=16 2>/dev/null
			rm -rf "$MNT"/* 2>/dev/null
			sync
			umount "$MNT" 2>/tmp/u.out || note "umount after corruption failed: $(cat /tmp/u.out)"
			echo "  seed $seed: mounted; kernel reported $(dmesg | grep -ciE "$FSTYPE|error") error lines"
		else
			echo "  seed $seed: mount refused with $(cat /tmp/m.out)"
		fi
		grep -q " $MNT " /proc/mounts && umount -l "$MNT"
		# the disk is usable again after mkfs
		fresh && { echo ok >"$MNT/g"; content "$MNT/g" ok; umount_dir "$MNT"; }
	fi
	end
done
