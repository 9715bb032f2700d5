//! Seeded fuzzing of the decoders, the mount and fsck on mutated images with
//! checksums resealed (the harness is tests/fuzzing/mod.rs, shared with the
//! cargo-fuzz targets in fuzz/). Every case must end in Ok or Err(errno),
//! never a panic, and one fsck -y must leave a filesystem that -n calls
//! clean (unless -y said errors are left).
//!
//! FUZZ_CASES=N scales the cases per block kind (default 250); FUZZ_SEED=S
//! with FUZZ_KIND=K (an index into fuzzing::KINDS) runs one case;
//! FUZZ_TRACE=1 prints each seed before it runs (for a case that aborts);
//! FUZZ_STATS=1 prints each case's fsck exit codes and first error;
//! FUZZ_LOG=1 shows what the core logs; FUZZ_LAX=1 drops the check that
//! an image fsck calls clean mounts and stays clean through operations.
//!
//! `fuzz_targets` runs every coverage-guided target (fuzzing/targets.rs) on
//! its seeds and on the crashes it once found (fuzz/regressions/<target>/);
//! with FUZZ_SEED_DIR=dir it also writes the seeds to dir/<target>/ (the
//! seed step of `make fuzz`).
#![allow(
    clippy::disallowed_methods,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod fuzzing;
use fuzzing::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// Cases found by this fuzzer that once panicked or did not converge:
/// (kind index, seed). They run first, every time.
const REGRESSIONS: &[(usize, u64)] = &[
    // fsck -n called a superblock with free counts above the totals clean
    // when the journal needed recovery (its overlay hid them); the mount
    // refuses it before replaying.
    (0, 0x8c),
];

fn cases() -> u64 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(250)
}

fn seed_of(kind: usize, i: u64) -> u64 {
    ((kind as u64) << 32) | i
}

/// Run one case; Err says what went wrong (a panic included).
fn one(kind: usize, seed: u64) -> Result<(), String> {
    if std::env::var_os("FUZZ_TRACE").is_some() {
        eprintln!("fuzz case kind {} seed {:#x}", kind, seed);
    }
    guarded(|| run_case(&mut Rng::new(seed), Some(KINDS[kind])))
}

/// Run `f`, a panic or a case over 5 s being an Err too.
fn guarded(f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let t = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(f));
    let r = match r {
        Ok(r) => r,
        Err(p) => Err(format!(
            "panic: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    };
    let took = t.elapsed();
    if r.is_ok() && took > Duration::from_secs(5) {
        return Err(format!("took {:?}", took));
    }
    r
}

fn run_kinds(kinds: &[usize]) {
    bases();
    let mut failed = Vec::new();
    for &(k, seed) in REGRESSIONS {
        if kinds.contains(&k) {
            if let Err(e) = one(k, seed) {
                failed.push((k, seed, e));
            }
        }
    }
    for &k in kinds {
        for i in 0..cases() {
            let seed = seed_of(k, i);
            if let Err(e) = one(k, seed) {
                failed.push((k, seed, e));
            }
        }
    }
    for (k, seed, e) in &failed {
        eprintln!(
            "==== FUZZ_KIND={} FUZZ_SEED={:#x} ({:?}) ====\n{}",
            k, seed, KINDS[*k], e
        );
    }
    assert!(
        failed.is_empty(),
        "{} failing cases: {:?}",
        failed.len(),
        failed.iter().map(|f| (f.0, f.1)).collect::<Vec<_>>()
    );
}

#[test]
fn one_seed_from_env() {
    let (Some(k), Some(s)) = (
        std::env::var("FUZZ_KIND").ok(),
        std::env::var("FUZZ_SEED").ok(),
    ) else {
        return;
    };
    let k: usize = k.parse().unwrap();
    let s = s.trim_start_matches("0x");
    let seed = u64::from_str_radix(s, 16).unwrap();
    one(k, seed).unwrap();
}

#[test]
fn superblock() {
    run_kinds(&[0]);
}

#[test]
fn inode_bitmap() {
    run_kinds(&[1]);
}

#[test]
fn block_bitmap() {
    run_kinds(&[2]);
}

#[test]
fn inode_table() {
    run_kinds(&[3]);
}

#[test]
fn journal_superblock() {
    run_kinds(&[4]);
}

#[test]
fn journal_log() {
    run_kinds(&[5]);
}

#[test]
fn vector_slots() {
    run_kinds(&[6]);
}

#[test]
fn vector_index() {
    run_kinds(&[7]);
}

#[test]
fn directories() {
    run_kinds(&[8]);
}

#[test]
fn extents() {
    run_kinds(&[9]);
}

/// Every fuzz target on its seeds (they must pass as they are) and on the
/// inputs that once crashed it, kept in fuzz/regressions/<target>/.
#[test]
fn fuzz_targets() {
    bases();
    let out = std::env::var_os("FUZZ_SEED_DIR").map(std::path::PathBuf::from);
    let regressions = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let mut failed = Vec::new();
    for &(name, _) in targets::TARGETS {
        let seeds = targets::seeds(name, 24);
        assert!(!seeds.is_empty(), "no seeds for {}", name);
        if let Some(dir) = &out {
            let dir = dir.join(name);
            std::fs::create_dir_all(&dir).unwrap();
            for (i, s) in seeds.iter().enumerate() {
                std::fs::write(dir.join(format!("seed-{:03}", i)), s).unwrap();
            }
        }
        // A few seeds of each (all when writing them: they are checked before use).
        let step = if out.is_some() { 1 } else { 6 };
        let mut inputs: Vec<(String, Vec<u8>)> = seeds
            .into_iter()
            .enumerate()
            .step_by(step)
            .map(|(i, s)| (format!("seed {}", i), s))
            .collect();
        if let Ok(rd) = std::fs::read_dir(regressions.join(name)) {
            let mut files: Vec<_> = rd.map(|e| e.unwrap().path()).collect();
            files.sort();
            for f in files {
                inputs.push((f.display().to_string(), std::fs::read(&f).unwrap()));
            }
        }
        for (what, data) in inputs {
            if let Err(e) = guarded(|| targets::run(name, &data)) {
                failed.push(format!("{} {}: {}", name, what, e));
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
