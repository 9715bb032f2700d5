# random write/truncate/read/reopen sequences checked against a model (fsx-like)
begin fsx_random_io
if fresh; then
	for seed in 1 2 3; do
		r=$(vmhelper fsx "$MNT/fsx$seed" 1500 $seed /tmp/model$seed 2>&1)
		[ "$r" = OK ] || note "fsx seed $seed: $r"
	done
	remount
	for seed in 1 2 3; do
		cmp "$MNT/fsx$seed" /tmp/model$seed >/dev/null 2>&1 || note "fsx seed $seed: file differs from model after remount"
		rm -f /tmp/model$seed
	done
fi
end
