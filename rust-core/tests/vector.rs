//! The vector store over the core: embeddings belong to files, survive
//! remounts, are checked, and queries answer nearest first.
#![allow(
    clippy::disallowed_methods,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;
use common::*;
use vexfs_core::dev::MemDevice;
use vexfs_core::format::BLOCK_SIZE;
use vexfs_core::fsck::{check, Mode, Options};
use vexfs_core::{Errno, Fs};

const L2: u32 = 1;

fn v(x: f32, dim: usize) -> Vec<f32> {
    (0..dim).map(|i| x + i as f32 * 0.01).collect()
}

fn files(fs: &mut Fs<MemDevice>, dir: u64, n: usize, dim: usize) -> Vec<u64> {
    (0..n)
        .map(|i| {
            let ino = fs
                .create(dir, format!("f{i}").as_bytes(), REG, 0, 0, 0)
                .unwrap();
            fs.vec_set(ino, &v(i as f32, dim)).unwrap();
            ino
        })
        .collect()
}

#[test]
fn no_vector_space_is_eopnotsupp() {
    let mut fs = fresh(4096);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    assert_eq!(fs.vec_set(f, &[1.0]), Err(Errno::EOPNOTSUPP));
    assert_eq!(fs.vec_info().err(), Some(Errno::EOPNOTSUPP));
}

#[test]
fn set_get_delete_and_validation() {
    let mut fs = fresh_vec(8192, 4, L2);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    let d = fs.create(ROOT, b"d", DIR, 0, 0, 0).unwrap();
    assert_eq!(fs.vec_get(f), Err(Errno::ENODATA));
    assert_eq!(fs.vec_set(f, &[1.0, 2.0, 3.0]), Err(Errno::EMSGSIZE));
    assert_eq!(fs.vec_set(f, &[1.0, f32::NAN, 3.0, 4.0]), Err(Errno::EDOM));
    assert_eq!(
        fs.vec_set(f, &[1.0, f32::INFINITY, 3.0, 4.0]),
        Err(Errno::EDOM)
    );
    assert_eq!(fs.vec_set(d, &[1.0, 2.0, 3.0, 4.0]), Err(Errno::EINVAL));
    fs.vec_set(f, &[1.0, 2.0, 3.0, 4.0]).unwrap();
    assert_eq!(fs.vec_get(f).unwrap(), vec![1.0, 2.0, 3.0, 4.0]);
    fs.vec_set(f, &[4.0, 3.0, 2.0, 1.0]).unwrap();
    assert_eq!(fs.vec_get(f).unwrap(), vec![4.0, 3.0, 2.0, 1.0]);
    assert_eq!(fs.vec_info().unwrap().count, 1);
    fs.vec_delete(f).unwrap();
    assert_eq!(fs.vec_get(f), Err(Errno::ENODATA));
    assert_eq!(fs.vec_delete(f), Err(Errno::ENODATA));
    assert_eq!(fs.vec_info().unwrap().count, 0);
}

#[test]
fn vectors_and_index_survive_remount_without_rebuild() {
    let mut fs = fresh_vec(16384, 8, L2);
    let inos = files(&mut fs, ROOT, 300, 8);
    let q = v(42.2, 8);
    let before = fs.vec_query(&q, ROOT, 5, 0, false).unwrap();
    assert_eq!(before[0].0, inos[42]);
    let mut fs = remount(fs);
    let info = fs.vec_info().unwrap();
    assert_eq!(info.count, 300);
    assert!(info.index_bytes > 0);
    assert_eq!(fs.vec_query(&q, ROOT, 5, 0, false).unwrap(), before);
    assert_eq!(fs.vec_get(inos[7]).unwrap(), v(7.0, 8));
}

/// A mount reads nothing proportional to the vector count: a few blocks
/// (superblock, journal, root), the same for 60 and 600 vectors.
#[test]
fn a_mount_reads_a_constant_number_of_blocks() {
    let mut reads = Vec::new();
    for n in [60, 600] {
        let mut fs = fresh_vec(16384, 8, L2);
        files(&mut fs, ROOT, n, 8);
        let (mut dev, r) = fs.unmount();
        r.unwrap();
        dev.reads = 0;
        let fs = Fs::mount(dev, false).expect("mount");
        reads.push(fs.dev.reads);
        let (dev, r) = fs.unmount();
        r.unwrap();
        drop(dev);
    }
    assert_eq!(reads[0], reads[1], "reads at mount: {reads:?}");
    assert!(reads[0] < 16, "reads at mount: {reads:?}");
}

/// A mount after a clean unmount reads no slot or graph block and no
/// inode per vector; queries afterwards are the same.
#[test]
fn a_clean_mount_reads_no_inode_per_vector() {
    let n = 600;
    let mut fs = fresh_vec(16384, 8, L2);
    let inos = files(&mut fs, ROOT, n, 8);
    let q = v(42.2, 8);
    let before = fs.vec_query(&q, ROOT, 5, 0, false).unwrap();
    let (mut dev, r) = fs.unmount();
    r.unwrap();
    dev.reads = 0;
    let fs = Fs::mount(dev, false).expect("mount");
    let info = fs.vec_info().unwrap();
    let (mut dev, r) = fs.unmount();
    r.unwrap();
    // Slot blocks (8-d: 85 slots a block) and graph blocks, plus the
    // superblock, journal and root: far below one read per vector.
    let slot_blocks = n.div_ceil(85) as u64;
    let index_blocks = info.index_bytes.div_ceil(4000) + 1;
    assert!(
        dev.reads < slot_blocks + index_blocks + 40,
        "{} reads at mount for {} vectors ({} slot, {} index blocks)",
        dev.reads,
        n,
        slot_blocks,
        index_blocks
    );
    dev.reads = 0;
    let mut fs = Fs::mount(dev, false).expect("mount");
    assert_eq!(fs.vec_query(&q, ROOT, 5, 0, false).unwrap(), before);
    assert_eq!(fs.vec_get(inos[7]).unwrap(), v(7.0, 8));
}

#[test]
fn deleting_a_file_deletes_its_vector_and_reuse_does_not_inherit() {
    let mut fs = fresh_vec(8192, 4, L2);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    fs.vec_set(f, &[1.0, 1.0, 1.0, 1.0]).unwrap();
    fs.link(ROOT, b"g", f).unwrap();
    fs.unlink(ROOT, b"f").unwrap();
    assert_eq!(fs.vec_get(f).unwrap(), vec![1.0; 4], "a hard link keeps it");
    fs.rename(ROOT, b"g", ROOT, b"h", 0).unwrap();
    fs.truncate(f, 0).unwrap();
    fs.write(f, 0, b"new contents").unwrap();
    assert_eq!(
        fs.vec_get(f).unwrap(),
        vec![1.0; 4],
        "rename, truncate and rewrite keep it"
    );
    fs.unlink(ROOT, b"h").unwrap();
    assert_eq!(fs.vec_info().unwrap().count, 0);
    assert!(fs
        .vec_query(&[1.0; 4], ROOT, 3, 0, false)
        .unwrap()
        .is_empty());
    let g = fs.create(ROOT, b"again", REG, 0, 0, 0).unwrap();
    assert_eq!(g, f, "the inode number is reused");
    assert_eq!(fs.vec_get(g), Err(Errno::ENODATA));
    let mut fs = remount(fs);
    assert_eq!(fs.vec_get(g), Err(Errno::ENODATA));
}

#[test]
fn query_is_nearest_first_and_subtree_restricted() {
    let mut fs = fresh_vec(16384, 4, L2);
    let a = fs.create(ROOT, b"a", DIR, 0, 0, 0).unwrap();
    let b = fs.create(ROOT, b"b", DIR, 0, 0, 0).unwrap();
    let sub = fs.create(a, b"sub", DIR, 0, 0, 0).unwrap();
    let in_a = files(&mut fs, a, 20, 4);
    let in_b = files(&mut fs, b, 20, 4);
    let in_sub = files(&mut fs, sub, 5, 4);
    let q = v(3.1, 4);
    let all = fs.vec_query(&q, ROOT, 10, 0, false).unwrap();
    assert_eq!(all.len(), 10);
    assert!(all.windows(2).all(|w| w[0].1 <= w[1].1));
    let exact = fs.vec_query(&q, ROOT, 10, 0, true).unwrap();
    assert_eq!(all, exact);
    let only_b = fs.vec_query(&q, b, 10, 0, false).unwrap();
    assert!(only_b.iter().all(|(i, _)| in_b.contains(i)));
    assert_eq!(only_b[0].0, in_b[3]);
    let only_a = fs.vec_query(&q, a, 50, 0, false).unwrap();
    assert_eq!(only_a.len(), 25, "a's files and its subdirectory's");
    assert!(only_a
        .iter()
        .all(|(i, _)| in_a.contains(i) || in_sub.contains(i)));
    assert_eq!(fs.vec_query(&q, in_a[0], 5, 0, false), Err(Errno::ENOTDIR));
    assert_eq!(fs.vec_query(&q, ROOT, 0, 0, false), Err(Errno::ERANGE));
}

#[test]
fn a_late_change_is_findable_after_power_loss() {
    let mut fs = fresh_vec(16384, 4, L2);
    let inos = files(&mut fs, ROOT, 50, 4);
    fs.sync().unwrap();
    // A change committed after the sync, then "power loss": the device as it
    // is now (the journal holds the change, the stored graph predates it).
    fs.vec_set(inos[0], &[100.0, 100.0, 100.0, 100.0]).unwrap();
    assert!(fs.commit().unwrap());
    let dev = fs.dev.clone();
    drop(fs);
    let mut fs = Fs::mount(dev, false).unwrap();
    let hit = fs.vec_query(&[100.0; 4], ROOT, 1, 0, false).unwrap();
    assert_eq!(hit[0].0, inos[0], "the graph on disk knows the late change");
    let hit = fs.vec_query(&v(7.0, 4), ROOT, 1, 0, false).unwrap();
    assert_eq!(hit[0].0, inos[7]);
}

#[test]
fn corrupt_graph_block_is_relinked_and_corrupt_slot_is_reported() {
    let mut fs = fresh_vec(16384, 4, L2);
    // A 9 x 9 grid (a line would make every repair a chain).
    let grid = |i: usize| vec![(i % 9) as f32, (i / 9) as f32, 0.5, 1.0];
    let inos: Vec<u64> = (0..80)
        .map(|i| {
            let f = fs
                .create(ROOT, format!("g{i}").as_bytes(), REG, 0, 0, 0)
                .unwrap();
            fs.vec_set(f, &grid(i)).unwrap();
            f
        })
        .collect();
    let (vstart, slot_blocks) = (fs.sb.vector_start.get(), fs.sb.vec_slot_blocks.get());
    let (mut dev, r) = fs.unmount();
    r.unwrap();
    // Flip a byte in level-0 graph block 1 (the rows of slots 29..57 at
    // M=16): logged, its rows read empty, queries still right.
    let idx = (vstart + slot_blocks + 1) as usize * BLOCK_SIZE + 100;
    dev.data[idx] ^= 0xff;
    let rep = check(
        &mut dev,
        &Options {
            mode: Mode::No,
            verbose: false,
        },
    );
    assert!(rep.errors() > 0, "fsck -n reports the bad rows");
    let mut fs = Fs::mount(dev, false).unwrap();
    for i in [9usize, 30, 40, 56, 70] {
        assert_eq!(
            fs.vec_query(&grid(i), ROOT, 1, 0, false).unwrap()[0].0,
            inos[i]
        );
    }
    assert!(!fs.has_errors(), "a damaged graph block is no error state");
    // The next commit links the nodes it held again.
    let f = fs.create(ROOT, b"more", REG, 0, 0, 0).unwrap();
    fs.vec_set(f, &v(1000.0, 4)).unwrap();
    fs.commit().unwrap();
    let (mut dev, r) = fs.unmount();
    r.unwrap();
    let rep = check(
        &mut dev,
        &Options {
            mode: Mode::No,
            verbose: false,
        },
    );
    assert!(rep.errors() == 0, "relinked: {:?}", rep.lines);
    // The nodes were inserted again and the links into them given back
    // (a scan of the level-0 rows): every vector is found again.
    let mut fs = Fs::mount(dev, false).unwrap();
    let missed: Vec<usize> = (0..80)
        .filter(|&i| fs.vec_query(&grid(i), ROOT, 1, 0, false).unwrap()[0].0 != inos[i])
        .collect();
    assert!(missed.is_empty(), "missed after relinking: {missed:?}");
    let (mut dev, _) = fs.unmount();
    // Flip a byte in a slot block: that is corruption of user data. The
    // mount reads no slot block; the first read of that one reports it.
    dev.data[vstart as usize * BLOCK_SIZE + 200] ^= 0x01;
    let mut fs = Fs::mount(dev, false).expect("the mount reads no slot block");
    assert!(!fs.has_errors());
    assert_eq!(fs.vec_get(inos[3]), Err(Errno::EUCLEAN));
    assert!(fs.has_errors(), "the damage is recorded");
    assert_eq!(
        fs.vec_query(&v(9.0, 4), ROOT, 1, 0, false),
        Err(Errno::EUCLEAN)
    );
    assert_eq!(
        fs.vec_query(&v(9.0, 4), ROOT, 1, 0, true),
        Err(Errno::EUCLEAN)
    );
}

/// A slot that names the wrong inode (damage resealed with a good checksum)
/// after a clean unmount: the mount does not check owners, so the query
/// does; the hit is dropped and reported, never returned as that file's.
#[test]
fn a_slot_naming_the_wrong_inode_is_no_hit() {
    let mut fs = fresh_vec(16384, 4, L2);
    let inos = files(&mut fs, ROOT, 50, 4);
    let vstart = fs.sb.vector_start.get();
    let (mut dev, r) = fs.unmount();
    r.unwrap();
    // Slot 9 (block 0; a slot is 16 + 4 x 4 bytes after the 32-byte
    // header) now claims file 30's inode.
    let blk = vstart as usize * BLOCK_SIZE;
    let at = blk + 32 + 9 * 32;
    dev.data[at..at + 8].copy_from_slice(&inos[30].to_le_bytes());
    let b: &mut [u8; BLOCK_SIZE] = (&mut dev.data[blk..blk + BLOCK_SIZE]).try_into().unwrap();
    vexfs_core::format::seal_block(b);
    let mut fs = Fs::mount(dev, false).unwrap();
    let hits = fs.vec_query(&v(9.0, 4), ROOT, 3, 0, false).unwrap();
    assert!(
        !hits.iter().any(|&(ino, d)| ino == inos[30] && d == 0.0),
        "slot 9's vector returned as file 30's: {hits:?}"
    );
    assert!(!hits.iter().any(|&(ino, _)| ino == inos[9]));
}

#[test]
fn full_vector_area_is_enospc() {
    let mut dev = MemDevice::new(4096);
    let mut vo = vexfs_core::mkfs::VectorOptions::new(4, L2);
    vo.capacity = 10;
    let opts = vexfs_core::mkfs::MkfsOptions {
        vectors: Some(vo),
        label: vec![],
        inodes: 0,
        uuid: [1; 16],
        blocks: 0,
    };
    vexfs_core::mkfs::format(&mut dev, &opts).unwrap();
    let mut fs = Fs::mount(dev, false).unwrap();
    let inos: Vec<u64> = (0..11)
        .map(|i| {
            fs.create(ROOT, format!("f{i}").as_bytes(), REG, 0, 0, 0)
                .unwrap()
        })
        .collect();
    for &i in &inos[..10] {
        fs.vec_set(i, &[1.0; 4]).unwrap();
    }
    assert_eq!(fs.vec_set(inos[10], &[1.0; 4]), Err(Errno::ENOSPC));
    fs.vec_delete(inos[3]).unwrap();
    fs.vec_set(inos[10], &[2.0; 4]).unwrap();
    let mut fs = remount(fs);
    assert_eq!(fs.vec_info().unwrap().count, 10);
    assert_eq!(fs.vec_get(inos[10]).unwrap(), vec![2.0; 4]);
}

/// A device whose writes fail after a budget runs out (a torn update).
#[derive(Clone)]
struct Failing {
    inner: MemDevice,
    budget: u64,
}

impl vexfs_core::Device for Failing {
    fn block_count(&self) -> u64 {
        self.inner.block_count()
    }
    fn read_block(&mut self, b: u64, buf: &mut [u8; BLOCK_SIZE]) -> vexfs_core::Result<()> {
        self.inner.read_block(b, buf)
    }
    fn write_block(&mut self, b: u64, buf: &[u8; BLOCK_SIZE]) -> vexfs_core::Result<()> {
        if self.budget == 0 {
            return Err(Errno::EIO);
        }
        self.budget -= 1;
        self.inner.write_block(b, buf)
    }
    fn flush(&mut self) -> vexfs_core::Result<()> {
        Ok(())
    }
    fn now(&self) -> vexfs_core::dev::Timespec {
        self.inner.now()
    }
    fn log(&self, l: vexfs_core::dev::LogLevel, m: core::fmt::Arguments<'_>) {
        self.inner.log(l, m)
    }
}

#[test]
fn torn_vec_set_leaves_no_orphan_slot() {
    let mut fs = fresh_vec(8192, 4, L2);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    let (dev, r) = fs.unmount();
    r.unwrap();
    // vec_set and its commit get `budget` writes (the commit writes a
    // descriptor, the copies, the commit block, then the blocks home).
    for budget in 0..10 {
        let mut fs = Fs::mount(
            Failing {
                inner: dev.clone(),
                budget: u64::MAX,
            },
            false,
        )
        .unwrap();
        fs.dev.budget = budget;
        let _ = fs.vec_set(f, &[1.0, 2.0, 3.0, 4.0]);
        let _ = fs.commit();
        let Failing { inner, .. } = fs.dev.clone();
        drop(fs);
        let mut fs = Fs::mount(inner, false).unwrap_or_else(|e| panic!("budget {budget}: {e}"));
        let hits = fs
            .vec_query(&[1.0, 2.0, 3.0, 4.0], ROOT, 5, 0, true)
            .unwrap();
        let has = fs.vec_get(f).is_ok();
        assert_eq!(
            hits.len(),
            usize::from(has),
            "budget {budget}: query and the inode agree"
        );
        assert_eq!(fs.vec_info().unwrap().count, u64::from(has));
        fs.vec_set(f, &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(
            fs.vec_query(&[1.0, 2.0, 3.0, 4.0], ROOT, 5, 0, true)
                .unwrap()
                .len(),
            1
        );
        fs.vec_delete(f).unwrap();
        assert!(fs
            .vec_query(&[1.0, 2.0, 3.0, 4.0], ROOT, 5, 0, true)
            .unwrap()
            .is_empty());
    }
}

#[test]
fn subtree_queries_follow_namespace_changes() {
    let mut fs = fresh_vec(16384, 4, L2);
    let a = fs.create(ROOT, b"a", DIR, 0, 0, 0).unwrap();
    let inos = files(&mut fs, a, 300, 4);
    let q = v(5.0, 4);
    let first = fs.vec_query(&q, a, 3, 0, false).unwrap();
    assert_eq!(first[0].0, inos[5]);
    // Moving the nearest file out of the subtree must show at once.
    fs.rename(a, b"f5", ROOT, b"moved", 0).unwrap();
    let again = fs.vec_query(&q, a, 3, 0, false).unwrap();
    assert!(again.iter().all(|(i, _)| *i != inos[5]), "{again:?}");
    fs.rename(ROOT, b"moved", a, b"back", 0).unwrap();
    assert_eq!(fs.vec_query(&q, a, 3, 0, false).unwrap()[0].0, inos[5]);
}

/// The vector parameters mkfs stored are range-checked at mount like every
/// other superblock field (a crafted image with ef_search = 0xffffffff once
/// made the first query allocate without bound): each walked past its edges
/// with the checksum resealed.
#[test]
fn superblock_vector_parameters_are_range_checked() {
    use vexfs_core::format::{Superblock, VEC_MAX_EF, VEC_MAX_EF_CONSTRUCTION, VEC_MAX_M};
    use zerocopy::{FromBytes, IntoBytes};
    let mut fs = fresh_vec(2048, 4, 1);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    fs.vec_set(f, &[1.0, 2.0, 3.0, 4.0]).unwrap();
    let (base, r) = fs.unmount();
    r.unwrap();
    type Set = fn(&mut Superblock, u32);
    type Field<'a> = (&'a str, Set, &'a [(u32, bool)]);
    let fields: [Field<'_>; 4] = [
        (
            "hnsw_ef_search",
            |sb, v| sb.hnsw_ef_search.set(v),
            &[
                (0, false),
                (1, true),
                (VEC_MAX_EF, true),
                (VEC_MAX_EF + 1, false),
                (u32::MAX, false),
            ],
        ),
        (
            "hnsw_ef_construction",
            |sb, v| sb.hnsw_ef_construction.set(v),
            &[
                (0, false),
                (1, true),
                (VEC_MAX_EF_CONSTRUCTION, true),
                (VEC_MAX_EF_CONSTRUCTION + 1, false),
                (u32::MAX, false),
            ],
        ),
        (
            "hnsw_m",
            |sb, v| sb.hnsw_m.set(v),
            &[
                (0, false),
                (1, false),
                (2, true),
                // The graph rows of M=128 do not fit this image's area.
                (VEC_MAX_M, false),
                (VEC_MAX_M + 1, false),
                (u32::MAX, false),
            ],
        ),
        (
            "vec_metric",
            |sb, v| sb.vec_metric.set(v),
            &[
                (0, false),
                (1, true),
                (3, true),
                (4, false),
                (u32::MAX, false),
            ],
        ),
    ];
    for (name, set, cases) in fields {
        for &(v, ok) in cases {
            let mut dev = base.clone();
            let mut sb = Superblock::read_from_prefix(&dev.data[..]).unwrap().0;
            set(&mut sb, v);
            sb.seal();
            dev.data[..sb.as_bytes().len()].copy_from_slice(sb.as_bytes());
            match Fs::mount(dev, false) {
                Ok(mut fs) => {
                    assert!(ok, "{name} = {v:#x} mounted");
                    // The first query with the default breadth works.
                    let hits = fs.vec_query(&[1.0, 2.0, 3.0, 4.0], ROOT, 1, 0, false);
                    assert!(hits.is_ok(), "{name} = {v:#x}: {hits:?}");
                    let (_, r) = fs.unmount();
                    r.unwrap();
                }
                Err(e) => {
                    assert!(!ok, "{name} = {v:#x} refused: {e}");
                    assert_eq!(e, Errno::EUCLEAN, "{name} = {v:#x}");
                }
            }
        }
    }
}

/// A query's breadth is bounded by the core itself (the shim bounds it too).
#[test]
fn query_breadth_is_bounded() {
    use vexfs_core::format::VEC_MAX_EF;
    let mut fs = fresh_vec(2048, 4, 1);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    fs.vec_set(f, &[1.0, 2.0, 3.0, 4.0]).unwrap();
    let q = [0.0f32; 4];
    for exact in [false, true] {
        assert_eq!(
            fs.vec_query(&q, ROOT, 1, VEC_MAX_EF + 1, exact),
            Err(Errno::ERANGE)
        );
        assert_eq!(
            fs.vec_query(&q, ROOT, 1, u32::MAX, exact),
            Err(Errno::ERANGE)
        );
        assert_eq!(
            fs.vec_query(&q, ROOT, 1, VEC_MAX_EF, exact).unwrap().len(),
            1
        );
        assert_eq!(fs.vec_query(&q, ROOT, 1, 1, exact).unwrap().len(), 1);
    }
}

#[test]
fn query_breadth_below_k_is_raised_to_k() {
    let mut fs = fresh_vec(16384, 4, L2);
    files(&mut fs, ROOT, 400, 4);
    let q = v(123.4, 4);
    let narrow = fs.vec_query(&q, ROOT, 20, 1, false).unwrap();
    assert_eq!(narrow.len(), 20, "ef 1 with k 20 still gives 20 hits");
    assert_eq!(narrow, fs.vec_query(&q, ROOT, 20, 20, false).unwrap());
}

/// Vectors along a line through `dim` dimensions with a per-file wobble, so
/// that neighbours interleave between directories.
fn spread(i: usize, dim: usize) -> Vec<f32> {
    (0..dim)
        .map(|d| ((i * 7 + d * 13) % 101) as f32 * 0.1 + (i as f32) * 0.001)
        .collect()
}

/// A subtree larger than a walk is worth: searched in the graph with a
/// parent-chain filter; the hits are all below it and agree with the exact
/// answer; moving a file out shows at once; a dotted path (nested levels)
/// counts.
#[test]
fn large_subtree_is_searched_in_the_graph_by_ancestry() {
    let dim = 8;
    let mut fs = fresh_vec(65536, dim as u32, L2);
    let a = fs.create(ROOT, b"a", DIR, 0, 0, 0).unwrap();
    let deep = fs.create(a, b"x", DIR, 0, 0, 0).unwrap();
    let deep = fs.create(deep, b"y", DIR, 0, 0, 0).unwrap();
    let b = fs.create(ROOT, b"b", DIR, 0, 0, 0).unwrap();
    let mut in_a = Vec::new();
    for i in 0..1200 {
        // Every other file in a (a third of those deep below it), the rest in b.
        let dir = match i % 6 {
            0 | 2 => a,
            4 => deep,
            _ => b,
        };
        let f = fs
            .create(dir, format!("f{i}").as_bytes(), REG, 0, 0, 0)
            .unwrap();
        fs.vec_set(f, &spread(i, dim)).unwrap();
        if dir != b {
            in_a.push(f);
        }
    }
    for qi in [3usize, 500, 1001] {
        let q = spread(qi, dim);
        let got = fs.vec_query(&q, a, 10, 128, false).unwrap();
        let want = fs.vec_query(&q, a, 10, 0, true).unwrap();
        assert_eq!(got.len(), 10);
        assert!(got.iter().all(|(i, _)| in_a.contains(i)), "{got:?}");
        let common = got.iter().filter(|h| want.contains(h)).count();
        assert!(common >= 9, "graph {got:?} vs exact {want:?}");
    }
    // The nearest file of a moves to b: gone from a's answers at once.
    let q = spread(3, dim);
    let top = fs.vec_query(&q, a, 1, 128, false).unwrap()[0].0;
    let (dir, name) = if fs.lookup(a, b"f0").ok() == Some(top) {
        (a, "f0".to_string())
    } else {
        let name = (0..1200)
            .map(|i| format!("f{i}"))
            .find(|n| {
                fs.lookup(a, n.as_bytes()).ok() == Some(top)
                    || fs.lookup(deep, n.as_bytes()).ok() == Some(top)
            })
            .unwrap();
        let dir = if fs.lookup(a, name.as_bytes()).is_ok() {
            a
        } else {
            deep
        };
        (dir, name)
    };
    fs.rename(dir, name.as_bytes(), b, b"moved", 0).unwrap();
    let after = fs.vec_query(&q, a, 10, 128, false).unwrap();
    assert!(after.iter().all(|(i, _)| *i != top), "{after:?}");
}

/// A large subtree holding few vectors: the graph search gives way to a
/// walk of the subtree, and every vector in it is found.
#[test]
fn sparse_large_subtree_falls_back_to_a_walk() {
    let dim = 4;
    let mut fs = fresh_vec(65536, dim as u32, L2);
    let plain = fs.create(ROOT, b"plain", DIR, 0, 0, 0).unwrap();
    let others = fs.create(ROOT, b"others", DIR, 0, 0, 0).unwrap();
    files(&mut fs, others, 1500, dim);
    for i in 0..600 {
        fs.create(plain, format!("n{i}").as_bytes(), REG, 0, 0, 0)
            .unwrap();
    }
    let mut three = Vec::new();
    for i in 0..3 {
        let f = fs
            .create(plain, format!("v{i}").as_bytes(), REG, 0, 0, 0)
            .unwrap();
        fs.vec_set(f, &v(5000.0 + i as f32, dim)).unwrap();
        three.push(f);
    }
    // The query sits among the other directory's vectors, far from these.
    let got = fs.vec_query(&v(700.0, dim), plain, 10, 0, false).unwrap();
    let mut inos: Vec<u64> = got.iter().map(|h| h.0).collect();
    inos.sort_unstable();
    assert_eq!(inos, three);
    assert!(got.windows(2).all(|w| w[0].1 <= w[1].1));
}

/// A device that counts reads of the vector slot blocks.
struct SlotReads {
    dev: MemDevice,
    slots: std::ops::Range<u64>,
    slot_reads: u64,
}

impl vexfs_core::dev::Device for SlotReads {
    fn block_count(&self) -> u64 {
        self.dev.block_count()
    }
    fn read_block(&mut self, b: u64, buf: &mut [u8; BLOCK_SIZE]) -> vexfs_core::Result<()> {
        if self.slots.contains(&b) {
            self.slot_reads += 1;
        }
        self.dev.read_block(b, buf)
    }
    fn write_block(&mut self, b: u64, buf: &[u8; BLOCK_SIZE]) -> vexfs_core::Result<()> {
        self.dev.write_block(b, buf)
    }
    fn flush(&mut self) -> vexfs_core::Result<()> {
        self.dev.flush()
    }
    fn now(&self) -> vexfs_core::dev::Timespec {
        self.dev.now()
    }
    fn log(&self, level: vexfs_core::dev::LogLevel, msg: std::fmt::Arguments<'_>) {
        self.dev.log(level, msg)
    }
}

/// A clean mount with a current stored graph reads no slot block (the
/// vectors are read on demand); the first query reads some, not all.
#[test]
fn a_clean_mount_reads_no_slot_block() {
    let n = 1500;
    let dim = 64;
    let mut fs = fresh_vec(32768, dim as u32, L2);
    let inos = files(&mut fs, ROOT, n, dim);
    let q = v(420.2, dim);
    let before = fs.vec_query(&q, ROOT, 5, 0, false).unwrap();
    let start = fs.sb.vector_start.get();
    // The whole vector area: slot blocks and graph rows.
    let slots = start..start + fs.sb.vector_blocks.get();
    let inited = fs.sb.vec_slot_blocks_inited.get();
    assert!(inited > 100, "{inited} slot blocks in use");
    let (dev, r) = fs.unmount();
    r.unwrap();
    let dev = SlotReads {
        dev,
        slots,
        slot_reads: 0,
    };
    let mut fs = Fs::mount(dev, false).expect("mount");
    assert_eq!(fs.dev.slot_reads, 0, "vector area blocks read at mount");
    assert_eq!(fs.vec_info().unwrap().count, n as u64);
    assert_eq!(fs.vec_query(&q, ROOT, 5, 0, false).unwrap(), before);
    let after_query = fs.dev.slot_reads;
    assert!(
        after_query > 0 && after_query < inited / 2,
        "{after_query} of {inited} slot blocks read by one query"
    );
    assert_eq!(fs.vec_get(inos[7]).unwrap(), v(7.0, dim));
    // A new vector goes to the lowest free slot without a scan.
    fs.vec_delete(inos[3]).unwrap();
    let f = fs.create(ROOT, b"new", REG, 0, 0, 0).unwrap();
    fs.vec_set(f, &v(3.5, dim)).unwrap();
    assert_eq!(
        fs.vec_query(&v(3.5, dim), ROOT, 1, 0, false).unwrap()[0].0,
        f
    );
    assert!(fs.dev.slot_reads < inited / 2);
    let (dev, r) = fs.unmount();
    r.unwrap();
    let mut fs = Fs::mount(dev.dev, false).unwrap();
    assert_eq!(
        fs.vec_query(&v(3.5, dim), ROOT, 1, 0, true).unwrap()[0].0,
        f
    );
}

/// One workload on two filesystems, with a tiny cache and a large one:
/// every answer is the same, and the tiny cache never holds more than its
/// budget between operations.
#[test]
fn a_tiny_cache_gives_the_same_answers() {
    let dim = 16;
    // 16-d: 50 slots of 80 bytes a block; an entry is about 3.7 KiB.
    let tiny = 8 << 10;
    let run = |budget: usize| {
        let mut fs = fresh_vec(32768, dim as u32, L2);
        fs.vec_cache_set_budget(budget).unwrap();
        let mut log = Vec::new();
        // Between operations and after a commit (graph blocks changed by
        // the running transaction are pinned until it commits).
        let check = |fs: &mut Fs<MemDevice>| {
            // Twice: the unlinks of deletes after the first dirty rows.
            fs.commit().unwrap();
            fs.commit().unwrap();
            let st = fs.vec_cache_stats().unwrap();
            assert!(st.bytes <= budget as u64, "{st:?}");
        };
        let sub = fs.create(ROOT, b"sub", DIR, 0, 0, 0).unwrap();
        let mut inos = Vec::new();
        for i in 0..1200usize {
            let dir = if i % 7 == 0 { sub } else { ROOT };
            let ino = fs
                .create(dir, format!("f{i}").as_bytes(), REG, 0, 0, 0)
                .unwrap();
            let x: Vec<f32> = (0..dim)
                .map(|d| ((i * 31 + d * 17) % 97) as f32 + (i % 13) as f32 * 0.1)
                .collect();
            fs.vec_set(ino, &x).unwrap();
            check(&mut fs);
            inos.push(ino);
        }
        let queries: Vec<Vec<f32>> = (0..20)
            .map(|k| (0..dim).map(|d| ((k * 13 + d * 7) % 97) as f32).collect())
            .collect();
        let answers = |fs: &mut Fs<MemDevice>, log: &mut Vec<_>| {
            for q in &queries {
                log.push(fs.vec_query(q, ROOT, 10, 0, false).unwrap());
                log.push(fs.vec_query(q, ROOT, 10, 0, true).unwrap());
                log.push(fs.vec_query(q, sub, 5, 0, false).unwrap());
            }
        };
        answers(&mut fs, &mut log);
        check(&mut fs);
        for &ino in inos.iter().step_by(3) {
            fs.vec_delete(ino).unwrap();
            check(&mut fs);
        }
        answers(&mut fs, &mut log);
        check(&mut fs);
        let mut fs = remount(fs);
        fs.vec_cache_set_budget(budget).unwrap();
        answers(&mut fs, &mut log);
        check(&mut fs);
        (log, fs.vec_cache_stats().unwrap())
    };
    let (small, st_small) = run(tiny);
    let (large, st_large) = run(64 << 20);
    assert!(
        st_small.misses > st_large.misses,
        "{st_small:?} {st_large:?}"
    );
    assert_eq!(small.len(), large.len());
    for (i, (a, b)) in small.iter().zip(large.iter()).enumerate() {
        assert_eq!(a, b, "answer {i}");
    }
    // And the graph's answers are those of the exact search, mostly.
    let mut found = 0;
    let mut total = 0;
    for pair in small.chunks(3) {
        let (g, e) = (&pair[0], &pair[1]);
        total += e.len();
        found += e.iter().filter(|x| g.iter().any(|y| y.0 == x.0)).count();
    }
    assert!(found * 100 >= total * 90, "recall {found}/{total}");
}

/// The shrinker's entry point frees what it is asked to; queries read the
/// blocks again and answer the same.
#[test]
fn shrink_frees_entries_and_queries_still_work() {
    let dim = 8;
    let mut fs = fresh_vec(16384, dim as u32, L2);
    let inos = files(&mut fs, ROOT, 800, dim);
    let mut fs = remount(fs);
    let q = v(321.4, dim);
    let before = fs.vec_query(&q, ROOT, 5, 0, true).unwrap();
    assert_eq!(before[0].0, inos[321]);
    let n = fs.vec_cache_count();
    let st = fs.vec_cache_stats().unwrap();
    assert!(n > 4 && st.bytes > 0, "{n} {st:?}");
    assert_eq!(fs.vec_cache_shrink(2), 2);
    assert_eq!(fs.vec_cache_count(), n - 2);
    assert_eq!(fs.vec_cache_shrink(usize::MAX), n - 2);
    assert_eq!(fs.vec_cache_count(), 0);
    assert_eq!(fs.vec_cache_stats().unwrap().bytes, 0);
    assert_eq!(fs.vec_cache_shrink(10), 0);
    let misses = fs.vec_cache_stats().unwrap().misses;
    assert_eq!(fs.vec_query(&q, ROOT, 5, 0, true).unwrap(), before);
    assert!(fs.vec_cache_stats().unwrap().misses > misses);
    assert_eq!(fs.vec_query(&q, ROOT, 5, 0, false).unwrap()[0].0, inos[321]);
    assert_eq!(fs.vec_get(inos[5]).unwrap(), v(5.0, dim));
    // A budget of nothing caches nothing between operations.
    fs.vec_cache_set_budget(0).unwrap();
    assert_eq!(fs.vec_query(&q, ROOT, 5, 0, true).unwrap(), before);
    assert_eq!(fs.vec_cache_count(), 0);
}

/// A slot freed under the inode that names it (damage resealed with a good
/// checksum) is corruption found at its first read: an error and a log
/// line, no panic; queries never return it.
#[test]
fn a_slot_freed_under_its_inode_is_reported_at_first_read() {
    let mut fs = fresh_vec(16384, 4, L2);
    let inos = files(&mut fs, ROOT, 50, 4);
    let vstart = fs.sb.vector_start.get();
    let (mut dev, r) = fs.unmount();
    r.unwrap();
    // Slot 9 (block 0) is marked free on disk while its inode names it.
    let blk = vstart as usize * BLOCK_SIZE;
    let at = blk + 32 + 9 * 32;
    dev.data[at..at + 8].copy_from_slice(&0u64.to_le_bytes());
    let b: &mut [u8; BLOCK_SIZE] = (&mut dev.data[blk..blk + BLOCK_SIZE]).try_into().unwrap();
    vexfs_core::format::seal_block(b);
    let mut fs = Fs::mount(dev, false).unwrap();
    let hits = fs.vec_query(&v(9.0, 4), ROOT, 3, 0, false).unwrap();
    assert!(hits.iter().all(|h| h.0 != inos[9]), "{hits:?}");
    assert_eq!(fs.vec_get(inos[20]).unwrap(), v(20.0, 4));
    assert!(!fs.has_errors());
    assert_eq!(fs.vec_get(inos[9]), Err(Errno::EUCLEAN));
    assert!(fs.has_errors());
}

/// An image of the format before graph rows (no `VEC_ROWS` bit, slot tags
/// 0, no lists, a stored graph in the graph area): searched exactly when
/// mounted read-only, converted once by a read-write mount, clean after.
#[test]
fn an_image_without_graph_rows_is_converted_at_a_read_write_mount() {
    use vexfs_core::format::{seal_block, Superblock, FEATURE_RO_COMPAT_VEC_ROWS};
    use zerocopy::{FromBytes, IntoBytes};
    let mut fs = fresh_vec(16384, 4, L2);
    let inos = files(&mut fs, ROOT, 120, 4);
    for i in [5, 60, 119] {
        fs.vec_delete(inos[i]).unwrap();
    }
    let (mut dev, r) = fs.unmount();
    r.unwrap();
    let mut sb = Superblock::read_from_prefix(&dev.data[..]).unwrap().0;
    let per = sb.vec_slots_per_block.get() as usize;
    let size = sb.vec_slot_size.get() as usize;
    let vstart = sb.vector_start.get() as usize;
    for b in 0..sb.vec_slot_blocks_inited.get() as usize {
        let blk = (vstart + b) * BLOCK_SIZE;
        let buf: &mut [u8; BLOCK_SIZE] = (&mut dev.data[blk..blk + BLOCK_SIZE]).try_into().unwrap();
        for j in 0..per {
            let off = 32 + j * size;
            let ino = u64::from_le_bytes(buf[off..off + 8].try_into().unwrap());
            buf[off + 12..off + 16].fill(0);
            if ino == 0 {
                // The old format zeroed a deleted vector's whole slot.
                buf[off + 8..off + size].fill(0);
            }
        }
        seal_block(buf);
    }
    let graph = (vstart + sb.vec_slot_blocks.get() as usize) * BLOCK_SIZE;
    dev.data[graph..graph + 4 * BLOCK_SIZE].fill(0xa5);
    sb.feature_ro_compat
        .set(sb.feature_ro_compat.get() & !FEATURE_RO_COMPAT_VEC_ROWS);
    sb.vec_free_head.set(0);
    sb.vec_dead_head.set(0);
    sb.vec_slot_high.set(0);
    sb.vec_entry.set(0);
    sb.vec_top_level.set(0);
    sb.seal();
    dev.data[..sb.as_bytes().len()].copy_from_slice(sb.as_bytes());
    let mut fs = Fs::mount(dev, true).unwrap();
    assert_eq!(
        fs.vec_query(&v(7.0, 4), ROOT, 1, 0, false).unwrap()[0].0,
        inos[7]
    );
    let (dev, r) = fs.unmount();
    r.unwrap();
    let mut fs = Fs::mount(dev, false).unwrap();
    assert!(fs.sb.feature_ro_compat.get() & FEATURE_RO_COMPAT_VEC_ROWS != 0);
    assert_eq!(fs.vec_info().unwrap().count, 117);
    for i in (0..120).filter(|&i| ![5, 60, 119].contains(&i)) {
        let hit = fs.vec_query(&v(i as f32, 4), ROOT, 1, 0, false).unwrap();
        assert_eq!(hit[0].0, inos[i], "vector {i}");
    }
    let f = fs.create(ROOT, b"new", REG, 0, 0, 0).unwrap();
    fs.vec_set(f, &v(5.0, 4)).unwrap();
    let (mut dev, r) = fs.unmount();
    r.unwrap();
    let rep = check(
        &mut dev,
        &Options {
            mode: Mode::No,
            verbose: false,
        },
    );
    assert!(rep.errors() == 0, "{:?}", rep.lines);
    let mut fs = Fs::mount(dev, false).unwrap();
    assert_eq!(fs.vec_query(&v(5.0, 4), ROOT, 1, 0, false).unwrap()[0].0, f);
}

/// Random sets, replacements and deletes with commits now and then: after
/// every step each live vector is found through the graph by a query for
/// itself, and no deleted one is returned.
#[test]
fn every_live_vector_stays_findable_through_changes() {
    let mut fs = fresh_vec(16384, 4, L2);
    let mut rng = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut files: Vec<(u64, Option<Vec<f32>>)> = Vec::new();
    let nfiles: u64 = 8;
    for i in 0..nfiles {
        let f = fs
            .create(ROOT, format!("f{i}").as_bytes(), REG, 0, 0, 0)
            .unwrap();
        files.push((f, None));
    }
    let steps: u64 = 2000;
    for step in 0..steps {
        let k = (next() % files.len() as u64) as usize;
        let op = next() % 10;
        match op {
            0..=5 => {
                let x = (next() % 30) as f32;
                let y = (next() % 4) as f32;
                let vv = vec![x, y, 0.5, -1.25];
                fs.vec_set(files[k].0, &vv).unwrap();
                files[k].1 = Some(vv);
            }
            6 | 7 if files[k].1.take().is_some() => {
                fs.vec_delete(files[k].0).unwrap();
            }
            8 => {
                fs.commit().unwrap();
            }
            _ => {}
        }
        let live: Vec<u64> = files
            .iter()
            .filter(|f| f.1.is_some())
            .map(|f| f.0)
            .collect();
        let ef = (live.len() as u32).max(16);
        for (ino, vv) in files.iter().filter_map(|f| f.1.as_ref().map(|v| (f.0, v))) {
            let hits = fs.vec_query(vv, ROOT, 10, ef, false).unwrap();
            assert!(
                hits.iter().any(|h| h.0 == ino && h.1 == 0.0),
                "step {step}: inode {ino} {vv:?} not found: {hits:?}"
            );
            assert!(
                hits.iter().all(|h| live.contains(&h.0)),
                "step {step}: {hits:?}"
            );
        }
    }
}
