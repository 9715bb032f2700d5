# VexFS top-level build. `make demo` and `make test` are the two entry points;
# both install what they need first (scripts/install-deps.sh).

CARGO ?= cargo
BUILD := build

.PHONY: all deps gen check-gen tools kmod lint test test-unit test-ffi test-fuse test-vm test-vm-crash test-vm-debug demo bench bench-vm bench-ann fuzz clean

all: tools kmod

deps:
	bash scripts/install-deps.sh

# Regenerate the cbindgen header and the bindgen bindings.
gen:
	$(CARGO) run -q -p vexfs-gen

# Fails when a checked-in generated file is stale.
check-gen:
	$(CARGO) run -q -p vexfs-gen -- --check

tools:
	$(CARGO) build --release -p vexfs-tools
	mkdir -p $(BUILD)/bin
	cp target/release/mkfs-vexfs $(BUILD)/bin/mkfs.vexfs
	cp target/release/fsck-vexfs $(BUILD)/bin/fsck.vexfs
	cp target/release/vexctl $(BUILD)/bin/vexctl
	cp target/release/vexfs-fuse $(BUILD)/bin/vexfs-fuse
	$(CARGO) build --release -p vexfs-bench --bin vexfs-vmbench
	cp target/release/vexfs-vmbench $(BUILD)/bin/vexfs-vmbench

kmod: check-gen
	bash scripts/build-kmod.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p vexfs-core --features std,ffi -- -D warnings
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml -- --check
	$(CARGO) clippy --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings

test-unit:
	$(CARGO) test --workspace

test-ffi: tools
	bash tests/ffi/run.sh

# Images shared by vexfs-fuse (host) and the module (VM), both ways.
test-fuse: tools kmod
	bash tests/fuse/interchange.sh

test-vm: tools kmod
	bash tests/vm/run.sh

# Kill qemu mid-workload, boot again: journal replay, fsck, fsync'd files intact.
test-vm-crash: tools kmod
	bash tests/vm/run.sh --crash

# The VM suite (with its failslab case) and the power-cut test on a debug
# kernel: KASAN, KFENCE, lockdep, DEBUG_ATOMIC_SLEEP, failslab, lockup and
# hung-task detectors. Builds that kernel from linux-source-6.1 the first time
# (~25 min on 2 cores; cached in /var/cache/vexfs/debug-kernel). Not part of
# `make test`. See tests/vm/README.md, "Debug kernel".
test-vm-debug: tools kmod
	bash scripts/test-vm-debug.sh

# Every test: generated-file check, lint, unit/property tests, FFI contract
# tests, the in-kernel VM suite. Ends with "N passed, N failed".
test: deps
	bash scripts/test-all.sh

demo: deps tools kmod
	bash tests/vm/run.sh --demo

bench:
	$(CARGO) bench -p vexfs-bench

# ANN benchmark in userspace: the core's HNSW (vexfs-bench ann) against
# hnswlib 0.8, one thread each, on a synthetic SIFT-like 128-d set, a
# synthetic 384-d set and real MiniLM sentence embeddings; prints one table of
# ratios. Venv, data and results under build/ann (ANN_DIR); sizes and
# parameters from the environment (see bench/ann/run.sh). Not part of `make test`.
bench-ann:
	bash bench/ann/run.sh

# Coverage-guided fuzzing (cargo-fuzz, installed if missing): every target in
# fuzz/ for FUZZ_SECONDS (default 60) each; fails on a crash. See fuzz/README.md.
fuzz:
	bash scripts/fuzz.sh

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
	find kmod -name '*.o' -o -name '.*.cmd' | xargs rm -f
	rm -f vexfs.ko vexfs.mod vexfs.mod.c modules.order Module.symvers .*.cmd

# In-VM benchmarks: vector ioctl QPS and recall vs the userspace core.
bench-vm: deps tools kmod
	bash tests/vm/run.sh --bench
