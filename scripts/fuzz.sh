#!/usr/bin/env bash
# Coverage-guided fuzzing of the core: every cargo-fuzz target in fuzz/ for
# FUZZ_SECONDS (default 60) each, seeded from the mkfs-built images of the
# harness (rust-core/tests/fuzzing/). Installs cargo-fuzz (and a C++
# compiler for libFuzzer) if missing. Fails if any target finds a crash; the
# input is left in fuzz/artifacts/<target>/ (replay it with
# `cargo fuzz run -s none <target> <file>`, keep it as a regression in
# fuzz/regressions/<target>/).
#
# FUZZ_TARGETS="a b" picks targets; FUZZ_JOBS=N runs N fuzzing processes per
# target (default 1); FUZZ_SANITIZER=address fuzzes under ASan with the
# nightly toolchain (default none: the core is safe Rust, and stable
# compiles the coverage instrumentation); FUZZ_ARGS adds libFuzzer flags.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECONDS_PER=${FUZZ_SECONDS:-60}
SAN=${FUZZ_SANITIZER:-none}
JOBS=${FUZZ_JOBS:-1}
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
die() { echo "fuzz: $*" >&2; exit 1; }

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
	export PATH=$HOME/.cargo/bin:$PATH
fi
command -v cargo >/dev/null 2>&1 || die "no cargo (make deps installs rustup)"
if ! command -v c++ >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends g++ >/dev/null ||
		die "apt-get install g++ failed"
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
	echo "fuzz: installing cargo-fuzz"
	cargo install -q cargo-fuzz --locked || die "cargo install cargo-fuzz failed"
fi
TC=()
# Each sanitizer builds in its own directory (a build with other flags would
# replace the binaries of the other).
TD=(--target-dir "fuzz/target")
if [ "$SAN" != none ]; then
	TD=(--target-dir "fuzz/target/$SAN")
	rustup toolchain list | grep -q '^nightly' ||
		rustup toolchain install nightly --profile minimal >/dev/null || die "no nightly toolchain"
	TC=(+nightly)
fi

# Seeds: the harness writes every target's seed inputs (and checks that they pass).
mkdir -p build/fuzz-logs
echo "fuzz: writing seeds to fuzz/corpus/"
FUZZ_SEED_DIR=$PWD/fuzz/corpus cargo test -q -p vexfs-core --features std --test fuzz_corpus fuzz_targets \
	>build/fuzz-logs/seed.log 2>&1 || { tail -n 40 build/fuzz-logs/seed.log >&2; die "seed step failed"; }

cargo "${TC[@]}" fuzz build -s "$SAN" "${TD[@]}" || die "building the fuzz targets failed"
TARGETS=${FUZZ_TARGETS:-$(cargo fuzz list)}
PAR=()
[ "$JOBS" -gt 1 ] && PAR=(-jobs="$JOBS" -workers="$JOBS")
summary=()
failed=0
for t in $TARGETS; do
	log=build/fuzz-logs/$t.log
	mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
	echo "=== fuzz $t (${SECONDS_PER}s)"
	# -timeout: a case the seeded run allows 5 s for, here instrumented.
	cargo "${TC[@]}" fuzz run -s "$SAN" "${TD[@]}" "$t" "fuzz/corpus/$t" -- \
		-max_total_time="$SECONDS_PER" -timeout=30 -rss_limit_mb=2560 -print_final_stats=1 \
		"${PAR[@]}" ${FUZZ_ARGS:-} >"$log" 2>&1
	rc=$?
	[ "$JOBS" -gt 1 ] && cat fuzz-*.log >>"$log" 2>/dev/null && rm -f fuzz-*.log
	runs=$(awk '/stat::number_of_executed_units/{s += $2} END {print s + 0}' "$log")
	rate=$(awk '/stat::average_exec_per_sec/{s += $2} END {print s + 0}' "$log")
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
	if [ "$rc" -eq 0 ]; then
		line="$t: ok, $runs runs, $rate execs/s, $cov"
	else
		failed=$((failed + 1))
		line="$t: FAILED (exit $rc), $runs runs; $(grep -m1 -oE 'Test unit written to [^ ]+' "$log")"
		grep -m1 -B2 -A12 -E 'panicked at|ERROR: libFuzzer|SUMMARY' "$log" >&2
	fi
	echo "$line"
	summary+=("$line")
done
echo
printf '%s\n' "${summary[@]}"
echo "logs in build/fuzz-logs"
[ "$failed" -eq 0 ] || die "$failed target(s) failed"
