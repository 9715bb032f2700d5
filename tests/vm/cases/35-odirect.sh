# O_DIRECT: aligned reads and writes (512-byte alignment, as ext4), EINVAL
# for misaligned ones, coherence with the page cache, writes into holes,
# unwritten extents and past EOF (VexFS finishes those through the page
# cache, written back before the call returns); fsx with fallocate, punch,
# zero range and O_DIRECT in its operation mix. ext4 is the reference.
Z4K=$(head -c 4096 /dev/zero | tr '\0' 'Z' | md5sum)

begin odirect_rw
if fresh; then
	dd if=/dev/urandom of="$MNT/d" bs=4096 count=64 2>/dev/null
	sync
	errno OK "open O_DIRECT" open "$MNT/d" rdonly,direct
	errno OK "aligned write" dio "$MNT/d" w 8192 16384
	errno OK "512-aligned write" dio "$MNT/d" w 66048 512
	errno EINVAL "misaligned offset" dio "$MNT/d" w 8193 4096
	errno EINVAL "misaligned buffer" dio "$MNT/d" w 8192 4096 1
	errno EINVAL "misaligned length" dio "$MNT/d" w 8192 1000
	errno EINVAL "misaligned read" dio "$MNT/d" r 100 4096
	# the page cache sees direct writes, direct reads see buffered writes
	eq "buffered read after direct write" "$(dd if=$MNT/d bs=4096 skip=3 count=1 2>/dev/null | md5sum)" "$Z4K"
	r0=$(vmhelper dio "$MNT/d" r 8192 4096)
	eq "direct read of direct write" "$(vmhelper dio $MNT/d r 12288 4096)" "$r0"
	errno OK "buffered write" pwrite "$MNT/d" 81920 "$(head -c 4096 /dev/zero | tr '\0' Z)"
	eq "direct read after buffered write" "$(vmhelper dio $MNT/d r 81920 4096)" "$r0"
	eq "direct read past EOF" "$(vmhelper dio $MNT/d r 262144 4096)" "OK 0 0"
	eq "short direct read at EOF" "$(vmhelper dio $MNT/d r 258048 8192 | cut -d' ' -f1-2)" "OK 4096"
	# holes, unwritten extents, past EOF
	printf '' >"$MNT/s"
	ok "sparse" truncate -s 1048576 "$MNT/s"
	errno OK "direct write into a hole" dio "$MNT/s" w 65536 8192
	ok "falloc" vmhelper falloc "$MNT/s" keep 1048576 65536
	errno OK "direct write into unwritten" dio "$MNT/s" w 1048576 4096
	eq "size" "$(st %s $MNT/s)" 1052672
	errno OK "direct write past EOF" dio "$MNT/s" w 2097152 4096
	eq "size after extending" "$(st %s $MNT/s)" 2101248
	eq "hole block" "$(dd if=$MNT/s bs=4096 skip=16 count=1 2>/dev/null | md5sum)" "$Z4K"
	errno OK "zeros before" zerocheck "$MNT/s" 0 65536
	errno OK "zeros between" zerocheck "$MNT/s" 73728 974848
	errno OK "fsync" fsync "$MNT/s"
	remount
	eq "direct write after remount" "$(dd if=$MNT/d bs=4096 skip=2 count=1 2>/dev/null | md5sum)" "$Z4K"
	eq "hole block after remount" "$(dd if=$MNT/s bs=4096 skip=17 count=1 2>/dev/null | md5sum)" "$Z4K"
	eq "unwritten block after remount" "$(dd if=$MNT/s bs=4096 skip=256 count=1 2>/dev/null | md5sum)" "$Z4K"
	eq "extending block after remount" "$(dd if=$MNT/s bs=4096 skip=512 count=1 2>/dev/null | md5sum)" "$Z4K"
	errno OK "zeros after remount" zerocheck "$MNT/s" 73728 974848
	errno OK "zeros past the unwritten write" zerocheck "$MNT/s" 1052672 1044480
	eq "direct read after remount" "$(vmhelper dio $MNT/d r 8192 4096)" "$r0"
fi
end

begin fsx_falloc_direct
if fresh; then
	for seed in 1 2; do
		r=$(vmhelper fsx "$MNT/fx$seed" 1500 $seed /tmp/fxm$seed falloc,punch,zero,direct 2>/tmp/fx.err)
		[ "$r" = OK ] || note "fsx seed $seed: $r"
		echo "  $(cat /tmp/fx.err)"
	done
	remount
	for seed in 1 2; do
		cmp "$MNT/fx$seed" /tmp/fxm$seed >/dev/null 2>&1 || note "fsx seed $seed: file differs from model after remount"
		rm -f /tmp/fxm$seed
	done
fi
end
