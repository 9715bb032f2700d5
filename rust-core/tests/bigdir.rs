//! Hash-indexed directories: many names in one directory, forced hash
//! collisions, readdir positions across changes, old linear directories.
#![allow(
    clippy::disallowed_methods,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;
use common::*;
use std::collections::{BTreeMap, BTreeSet};
use vexfs_core::dev::MemDevice;
use vexfs_core::fsck::{check, Mode, Options};
use vexfs_core::{Errno, Fs};

fn name(i: usize) -> Vec<u8> {
    format!("file-{i:07}").into_bytes()
}

/// Read the whole directory in batches of at most `batch` entries,
/// resuming each time from the last position returned; `between` runs
/// between batches.
fn read_batched(
    fs: &mut Fs<MemDevice>,
    dir: u64,
    batch: usize,
    mut between: impl FnMut(&mut Fs<MemDevice>),
) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let (mut cookie, mut after) = (0u64, Vec::new());
    loop {
        let mut got = 0;
        let mut pos = (cookie, after.clone());
        let done = fs
            .readdir_from(dir, cookie, &after, &mut |e| {
                if got == batch {
                    return false;
                }
                got += 1;
                out.push(e.name.to_vec());
                pos = (
                    e.next,
                    if e.mid_run {
                        e.name.to_vec()
                    } else {
                        Vec::new()
                    },
                );
                true
            })
            .unwrap();
        (cookie, after) = pos;
        if done {
            return out;
        }
        between(fs);
    }
}

#[test]
fn hundred_thousand_names_in_one_directory() {
    let n = 100_000;
    let mut fs = fresh_with(40_000, 120_000);
    let d = fs.create(ROOT, b"big", DIR, 0, 0, 0).unwrap();
    let mut inos = Vec::with_capacity(n);
    for i in 0..n {
        inos.push(fs.create(d, &name(i), REG, 0, 0, 0).unwrap());
    }
    assert!(fs.dir_indexed(d).unwrap());
    assert_eq!(
        fs.create(d, &name(77), REG, 0, 0, 0),
        Err(Errno::EEXIST),
        "a name is found before the create"
    );
    let mut fs = remount(fs);
    for (i, &ino) in inos.iter().enumerate() {
        assert_eq!(fs.lookup(d, &name(i)), Ok(ino), "{i}");
    }
    for i in n..n + 2000 {
        assert_eq!(fs.lookup(d, &name(i)), Err(Errno::ENOENT));
    }
    let all = read_batched(&mut fs, d, 1000, |_| {});
    assert_eq!(all.len(), n);
    let set: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(set.len(), n, "each name exactly once");
    // Query paths: every hint is found through the index, no scan.
    for &ino in inos.iter().step_by(97) {
        let (p, nm) = fs.link_name(ino).unwrap();
        assert_eq!(p, d);
        assert_eq!(fs.lookup(d, &nm), Ok(ino));
    }
    assert_eq!(fs.link_scans, 0);
    for i in (0..n).step_by(2) {
        fs.unlink(d, &name(i)).unwrap();
    }
    let mut fs = fsck_clean(fs);
    for (i, &ino) in inos.iter().enumerate() {
        let want = if i % 2 == 0 {
            Err(Errno::ENOENT)
        } else {
            Ok(ino)
        };
        assert_eq!(fs.lookup(d, &name(i)), want, "{i}");
    }
    assert_eq!(fs.list_dir(d).unwrap().len(), n / 2);
    for i in (1..n).step_by(2) {
        fs.unlink(d, &name(i)).unwrap();
    }
    assert!(fs.list_dir(d).unwrap().is_empty());
    fs.rmdir(ROOT, b"big").unwrap();
    fsck_clean(fs);
}

fn all_collide(_: &[u8]) -> u64 {
    0x1234_5678_9abc_def0
}

fn three_hashes(name: &[u8]) -> u64 {
    let s: u64 = name.iter().map(|&b| u64::from(b)).sum();
    [
        0x1000_0000_0000_0001u64,
        0x1000_0000_0000_0002,
        0x7000_0000_0000_0000,
    ][(s % 3) as usize]
}

#[test]
fn forced_hash_collisions() {
    for hook in [all_collide as fn(&[u8]) -> u64, three_hashes] {
        let mut fs = fresh_with(8192, 4096);
        fs.dir_hash_hook = Some(hook);
        let d = fs.create(ROOT, b"c", DIR, 0, 0, 0).unwrap();
        let n = 3000;
        let mut inos = Vec::new();
        for i in 0..n {
            inos.push(fs.create(d, &name(i), REG, 0, 0, 0).unwrap());
        }
        assert!(fs.dir_indexed(d).unwrap());
        for (i, &ino) in inos.iter().enumerate() {
            assert_eq!(fs.lookup(d, &name(i)), Ok(ino));
        }
        assert_eq!(fs.lookup(d, b"nope"), Err(Errno::ENOENT));
        for batch in [1, 7, 500] {
            let got = read_batched(&mut fs, d, batch, |_| {});
            let set: BTreeSet<_> = got.iter().cloned().collect();
            assert_eq!((got.len(), set.len()), (n, n), "batch {batch}");
        }
        for i in (0..n).step_by(3) {
            fs.unlink(d, &name(i)).unwrap();
        }
        let got = read_batched(&mut fs, d, 13, |_| {});
        assert_eq!(got.len(), n - n.div_ceil(3));
        for i in 0..n {
            assert_eq!(fs.lookup(d, &name(i)).is_ok(), i % 3 != 0);
        }
    }
}

/// Entries present throughout a readdir are returned exactly once, while
/// names are added (splitting leaves) and removed between its calls.
#[test]
fn readdir_positions_survive_concurrent_changes() {
    for hook in [None, Some(three_hashes as fn(&[u8]) -> u64)] {
        let mut fs = fresh_with(20_000, 40_000);
        fs.dir_hash_hook = hook;
        let d = fs.create(ROOT, b"d", DIR, 0, 0, 0).unwrap();
        let stable = 5000;
        for i in 0..stable {
            fs.create(d, &name(i), REG, 0, 0, 0).unwrap();
        }
        // Names 1_000_000.. come and go during the read.
        let mut next = 1_000_000usize;
        let mut live: Vec<usize> = Vec::new();
        let mut round = 0usize;
        let got = read_batched(&mut fs, d, 37, |fs| {
            round += 1;
            for _ in 0..60 {
                fs.create(d, &name(next), REG, 0, 0, 0).unwrap();
                live.push(next);
                next += 1;
            }
            for _ in 0..25 {
                let k = (round * 7919) % live.len();
                let v = live.swap_remove(k);
                fs.unlink(d, &name(v)).unwrap();
            }
        });
        let mut count: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
        for g in &got {
            *count.entry(g.clone()).or_default() += 1;
        }
        assert!(count.values().all(|&c| c == 1), "an entry returned twice");
        for i in 0..stable {
            assert_eq!(count.get(&name(i)), Some(&1), "stable entry {i}");
        }
        assert!(round > 100);
    }
}

/// telldir/seekdir: any position handed out resumes to the same rest.
#[test]
fn telldir_seekdir_resume() {
    let mut fs = fresh_with(8192, 8192);
    let d = fs.create(ROOT, b"d", DIR, 0, 0, 0).unwrap();
    for i in 0..4000 {
        fs.create(d, &name(i), REG, 0, 0, 0).unwrap();
    }
    let mut seq = Vec::new();
    fs.readdir_from(d, 0, &[], &mut |e| {
        seq.push((e.name.to_vec(), e.next, e.mid_run));
        true
    })
    .unwrap();
    assert_eq!(seq.len(), 4000);
    for k in [0usize, 1, 150, 1999, 3998] {
        let (ref nm, next, mid) = seq[k];
        let after = if mid { nm.clone() } else { Vec::new() };
        let mut rest = Vec::new();
        fs.readdir_from(d, next, &after, &mut |e| {
            rest.push(e.name.to_vec());
            true
        })
        .unwrap();
        let want: Vec<_> = seq[k + 1..].iter().map(|s| s.0.clone()).collect();
        assert_eq!(rest, want, "resume after {k}");
    }
    // Positions are in increasing order; the single-entry API agrees.
    assert!(seq.windows(2).all(|w| w[0].1 <= w[1].1));
    let (e, _) = fs.readdir(d, seq[10].1).unwrap().unwrap();
    assert_eq!(e.name, seq[11].0);
}

/// A multi-block directory without the index flag (how directories grew
/// before the index: every block scanned) keeps working and is indexed at
/// its next insert.
#[test]
fn old_linear_multi_block_directory_is_converted_on_insert() {
    let mut fs = fresh_with(8192, 8192);
    let d = fs.create(ROOT, b"old", DIR, 0, 0, 0).unwrap();
    let n = 2000;
    for i in 0..n {
        fs.create(d, &name(i), REG, 0, 0, 0).unwrap();
    }
    assert!(fs.dir_indexed(d).unwrap());
    fs.test_clear_dir_index(d).unwrap();
    let mut fs = remount(fs);
    assert!(!fs.dir_indexed(d).unwrap());
    for i in 0..n {
        assert!(fs.lookup(d, &name(i)).is_ok(), "{i}");
    }
    assert_eq!(fs.list_dir(d).unwrap().len(), n);
    fs.create(d, b"new", REG, 0, 0, 0).unwrap();
    assert!(fs.dir_indexed(d).unwrap());
    for i in 0..n {
        assert!(fs.lookup(d, &name(i)).is_ok(), "{i}");
    }
    assert_eq!(fs.list_dir(d).unwrap().len(), n + 1);
    fsck_clean(fs);
}

/// fsck finds a damaged index (resealed so only the index check sees it,
/// or with a bad checksum), rebuilds it from the leaves, and no name is lost.
#[test]
fn fsck_detects_and_rebuilds_a_damaged_index() {
    use vexfs_core::format::*;
    for damage in 0..3 {
        let mut fs = fresh_with(8192, 8192);
        let d = fs.create(ROOT, b"d", DIR, 0, 0, 0).unwrap();
        let n = 5000;
        for i in 0..n {
            fs.create(d, &name(i), REG, 0, 0, 0).unwrap();
        }
        let root = fs.map_blocks(d, 0, 1, false).unwrap().pblock as usize;
        let (mut dev, r) = fs.unmount();
        r.unwrap();
        let blk = &mut dev.data[root * BLOCK_SIZE..(root + 1) * BLOCK_SIZE];
        let at = DX_ENTRIES_OFF + DX_ENTRY_SIZE;
        match damage {
            // Hashes out of order.
            0 => blk[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes()),
            // A leaf named twice.
            1 => {
                let b = blk[at + 4..at + 8].to_vec();
                blk[at + 12..at + 16].copy_from_slice(&b);
            }
            // Garbage: the checksum no longer matches.
            _ => blk[at..at + 64].fill(0x5a),
        }
        if damage < 2 {
            let mut b = [0u8; BLOCK_SIZE];
            b.copy_from_slice(blk);
            seal_block(&mut b);
            blk.copy_from_slice(&b);
        }
        let ck = |dev: &mut MemDevice, mode| {
            check(
                dev,
                &Options {
                    mode,
                    verbose: false,
                },
            )
        };
        let rep = ck(&mut dev, Mode::No);
        assert!(
            rep.errors() > 0,
            "damage {damage} not seen: {:?}",
            rep.lines
        );
        let rep = ck(&mut dev, Mode::Yes);
        assert!(
            rep.lines.iter().any(|l| l.contains("index rebuilt")),
            "{:?}",
            rep.lines
        );
        let rep = ck(&mut dev, Mode::No);
        assert!(rep.errors() == 0, "damage {damage}: {:?}", rep.lines);
        let mut fs = Fs::mount(dev, false).unwrap();
        assert!(fs.dir_indexed(d).unwrap());
        for i in 0..n {
            assert!(fs.lookup(d, &name(i)).is_ok(), "damage {damage}: {i}");
        }
        assert_eq!(fs.list_dir(d).unwrap().len(), n);
    }
}

/// The directory hash is on disk: it must never change. SipHash-2-4
/// reference vectors (key 00..0f, messages 00.., from the SipHash paper).
#[test]
fn directory_hash_is_siphash24() {
    use vexfs_core::format::{hash_cookie, siphash24, split_hash};
    let key: [u8; 16] = core::array::from_fn(|i| i as u8);
    let msg: Vec<u8> = (0..15).collect();
    assert_eq!(siphash24(&key, &[]), 0x726f_db47_dd0e_0e31);
    assert_eq!(siphash24(&key, &msg), 0xa129_ca61_49be_45e5);
    let (major, minor) = split_hash(0xa129_ca61_49be_45e5);
    assert_eq!((major, minor), (0xa129_ca60, 0x49be_45e5));
    assert_eq!(
        hash_cookie(major, minor),
        (0xa129_ca60u64 >> 1) << 31 | (0x49be_45e5 >> 1)
    );
}

/// Not a test: per-tenth timings of creates, lookups and unlinks in one
/// directory on the host (`cargo test --release --test bigdir -- --ignored --nocapture`).
#[test]
#[ignore]
fn bench_tenths() {
    let n = 200_000;
    let mut fs = fresh_with(60_000, 210_000);
    let d = fs.create(ROOT, b"big", DIR, 0, 0, 0).unwrap();
    let tenths = |what: &str, fs: &mut Fs<MemDevice>, f: &dyn Fn(&mut Fs<MemDevice>, usize)| {
        let mut v = Vec::new();
        for t in 0..10 {
            let s = std::time::Instant::now();
            for i in t * n / 10..(t + 1) * n / 10 {
                f(fs, i);
            }
            v.push(s.elapsed().as_secs_f64() * 1e6 / (n / 10) as f64);
        }
        let s: Vec<String> = v.iter().map(|x| format!("{x:.1}")).collect();
        eprintln!("{what:8} us/op per tenth: {}", s.join(" "));
    };
    tenths("create", &mut fs, &|fs, i| {
        fs.create(d, &name(i), REG, 0, 0, 0).unwrap();
    });
    tenths("lookup", &mut fs, &|fs, i| {
        fs.lookup(d, &name(i)).unwrap();
    });
    tenths("miss", &mut fs, &|fs, i| {
        fs.lookup(d, &name(i + n)).unwrap_err();
    });
    tenths("unlink", &mut fs, &|fs, i| {
        fs.unlink(d, &name(i)).unwrap();
    });
}
