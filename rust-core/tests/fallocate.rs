//! Unwritten extents, fallocate modes, FIEMAP and SEEK_DATA/SEEK_HOLE,
//! inode flags: expected behaviour is ext4's (tests/vm/cases/34-fallocate.sh
//! runs the same cases in the kernel against ext4).
#![allow(
    clippy::disallowed_methods,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;
use common::*;
use vexfs_core::dev::{Device, MemDevice};
use vexfs_core::extent::{
    MapExtent, FALLOC_FL_KEEP_SIZE as KEEP, FALLOC_FL_PUNCH_HOLE as PUNCH,
    FALLOC_FL_ZERO_RANGE as ZERO, SEEK_DATA, SEEK_HOLE,
};
use vexfs_core::format::*;
use vexfs_core::fsck::{check, Mode, Options};
use vexfs_core::{Errno, Fs};

const BS: u64 = BLOCK_SIZE as u64;

fn read_all(fs: &mut Fs<MemDevice>, ino: u64) -> Vec<u8> {
    let size = fs.getattr(ino).unwrap().size as usize;
    let mut out = vec![0xeeu8; size];
    assert_eq!(fs.read(ino, 0, &mut out).unwrap(), size);
    out
}

fn map(fs: &mut Fs<MemDevice>, ino: u64) -> Vec<MapExtent> {
    let mut out = vec![MapExtent::default(); 64];
    let n = fs.fiemap(ino, 0, &mut out).unwrap();
    out.truncate(n);
    out
}

/// (logical, len, unwritten) of each extent.
fn shape(fs: &mut Fs<MemDevice>, ino: u64) -> Vec<(u64, u64, bool)> {
    map(fs, ino)
        .iter()
        .map(|e| (e.logical, e.len, e.unwritten))
        .collect()
}

/// Fill the free space with blocks of 0xab, then free them: later
/// allocations get blocks holding stale bytes.
fn dirty_free_space(fs: &mut Fs<MemDevice>, blocks: usize) {
    let junk = fs.create(ROOT, b"junk", REG, 0, 0, 0).unwrap();
    fs.write(junk, 0, &vec![0xab; blocks * BLOCK_SIZE]).unwrap();
    fs.unlink(ROOT, b"junk").unwrap();
    fs.commit().unwrap();
}

#[test]
fn preallocated_blocks_read_zeros_and_persist() {
    let mut fs = fresh(8192);
    dirty_free_space(&mut fs, 64);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    let free0 = fs.statfs().bfree;
    fs.fallocate(f, 0, 0, 40 * BS).unwrap();
    assert_eq!(fs.getattr(f).unwrap().size, 40 * BS);
    assert_eq!(free0 - fs.statfs().bfree, 40);
    assert_eq!(fs.getattr(f).unwrap().blocks, 40);
    assert!(read_all(&mut fs, f).iter().all(|&b| b == 0), "stale data");
    assert_ne!(fs.sb.feature_incompat.get() & FEATURE_INCOMPAT_UNWRITTEN, 0);
    assert!(shape(&mut fs, f).iter().all(|e| e.2));
    let mut fs = fsck_clean(fs);
    assert!(read_all(&mut fs, f).iter().all(|&b| b == 0));
    assert_eq!(shape(&mut fs, f), vec![(0, 40, true)]);
    // KEEP_SIZE: blocks past EOF, size unchanged.
    let g = fs.create(ROOT, b"g", REG, 0, 0, 0).unwrap();
    fs.write(g, 0, &[1u8; 100]).unwrap();
    fs.fallocate(g, KEEP, 0, 8 * BS).unwrap();
    assert_eq!(fs.getattr(g).unwrap().size, 100);
    assert_eq!(shape(&mut fs, g), vec![(0, 1, false), (1, 7, true)]);
    fsck_clean(fs);
}

#[test]
fn writes_convert_and_split_unwritten_extents() {
    let mut fs = fresh(8192);
    dirty_free_space(&mut fs, 64);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    fs.fallocate(f, 0, 0, 16 * BS).unwrap();
    let phys = map(&mut fs, f)[0].start;
    // Mid-extent, partial block: three extents, the block's rest zero.
    fs.write(f, 5 * BS + 100, &[7u8; 50]).unwrap();
    assert_eq!(
        shape(&mut fs, f),
        vec![(0, 5, true), (5, 1, false), (6, 10, true)]
    );
    // The neighbour block joins the written extent (same disk run).
    fs.write(f, 6 * BS, &[8u8; BLOCK_SIZE]).unwrap();
    assert_eq!(
        shape(&mut fs, f),
        vec![(0, 5, true), (5, 2, false), (7, 9, true)]
    );
    assert_eq!(map(&mut fs, f)[1].start, phys + 5);
    let data = read_all(&mut fs, f);
    let mut want = vec![0u8; 16 * BLOCK_SIZE];
    want[5 * BLOCK_SIZE + 100..5 * BLOCK_SIZE + 150].fill(7);
    want[6 * BLOCK_SIZE..7 * BLOCK_SIZE].fill(8);
    assert_eq!(data, want);
    // Writing everything makes one written extent again.
    fs.write(f, 0, &vec![9u8; 16 * BLOCK_SIZE]).unwrap();
    assert_eq!(shape(&mut fs, f), vec![(0, 16, false)]);
    assert_eq!(map(&mut fs, f)[0].start, phys);
    let mut fs = fsck_clean(fs);
    assert_eq!(read_all(&mut fs, f), vec![9u8; 16 * BLOCK_SIZE]);
}

#[test]
fn punch_hole_frees_blocks_and_keeps_size() {
    let mut fs = fresh(8192);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    fs.write(f, 0, &vec![5u8; 10 * BLOCK_SIZE]).unwrap();
    let free0 = fs.statfs().bfree;
    // Not block aligned: blocks 3..6 freed, the edges zeroed in place.
    fs.fallocate(f, PUNCH | KEEP, 2 * BS + 10, 4 * BS).unwrap();
    assert_eq!(fs.getattr(f).unwrap().size, 10 * BS);
    assert_eq!(shape(&mut fs, f), vec![(0, 3, false), (6, 4, false)]);
    fs.commit().unwrap();
    assert_eq!(fs.statfs().bfree - free0, 3);
    assert_eq!(fs.getattr(f).unwrap().blocks, 7);
    let data = read_all(&mut fs, f);
    let z0 = 2 * BLOCK_SIZE + 10;
    let z1 = 6 * BLOCK_SIZE + 10;
    assert!(data[..z0].iter().all(|&b| b == 5));
    assert!(data[z0..z1].iter().all(|&b| b == 0));
    assert!(data[z1..].iter().all(|&b| b == 5));
    assert_eq!(fs.seek_data_hole(f, 0, SEEK_HOLE, 10 * BS), Ok(3 * BS));
    assert_eq!(fs.seek_data_hole(f, 3 * BS, SEEK_DATA, 10 * BS), Ok(6 * BS));
    // Punch needs KEEP_SIZE; other modes are not supported.
    assert_eq!(fs.fallocate(f, PUNCH, 0, BS), Err(Errno::EOPNOTSUPP));
    assert_eq!(fs.fallocate(f, 0x8, 0, BS), Err(Errno::EOPNOTSUPP));
    assert_eq!(
        fs.fallocate(f, PUNCH | ZERO | KEEP, 0, BS),
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(fs.fallocate(f, 0, 0, 0), Err(Errno::EINVAL));
    assert_eq!(fs.fallocate(f, 0, 1 << 44, BS), Err(Errno::EFBIG));
    // A punch at or past EOF does nothing (ext4).
    fs.fallocate(f, PUNCH | KEEP, 20 * BS, BS).unwrap();
    fs.fallocate(f, PUNCH | KEEP, 0, 10 * BS).unwrap();
    assert_eq!(shape(&mut fs, f), vec![]);
    assert_eq!(fs.getattr(f).unwrap().size, 10 * BS);
    fsck_clean(fs);
}

#[test]
fn zero_range_unwrites_whole_blocks_and_zeroes_edges() {
    let mut fs = fresh(8192);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    fs.write(f, 0, &vec![3u8; 6 * BLOCK_SIZE]).unwrap();
    let free0 = fs.statfs().bfree;
    fs.fallocate(f, ZERO, BS + 1, 3 * BS).unwrap();
    // Blocks 2..4 are unwritten now, 1 and 4 zeroed in part; no block moved.
    assert_eq!(
        shape(&mut fs, f),
        vec![(0, 2, false), (2, 2, true), (4, 2, false)]
    );
    assert_eq!(fs.statfs().bfree, free0);
    let data = read_all(&mut fs, f);
    assert!(data[..BLOCK_SIZE + 1].iter().all(|&b| b == 3));
    assert!(data[BLOCK_SIZE + 1..4 * BLOCK_SIZE + 1]
        .iter()
        .all(|&b| b == 0));
    assert!(data[4 * BLOCK_SIZE + 1..].iter().all(|&b| b == 3));
    // Past EOF: allocates and grows the file (without KEEP_SIZE).
    fs.fallocate(f, ZERO, 6 * BS, 2 * BS).unwrap();
    assert_eq!(fs.getattr(f).unwrap().size, 8 * BS);
    fs.fallocate(f, ZERO | KEEP, 8 * BS, 2 * BS).unwrap();
    assert_eq!(fs.getattr(f).unwrap().size, 8 * BS);
    assert_eq!(shape(&mut fs, f).last(), Some(&(6, 4, true)));
    fsck_clean(fs);
}

#[test]
fn fiemap_and_seek_report_the_map() {
    let mut fs = fresh(8192);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    fs.write(f, 0, &vec![1u8; 2 * BLOCK_SIZE]).unwrap();
    fs.fallocate(f, 0, 4 * BS, 4 * BS).unwrap();
    fs.write(f, 10 * BS, &vec![1u8; BLOCK_SIZE]).unwrap();
    let size = 11 * BS;
    let m = map(&mut fs, f);
    assert_eq!(m.len(), 3);
    assert!(m[2].last && !m[1].last && !m[0].last);
    assert_eq!((m[1].logical, m[1].len, m[1].unwritten), (4, 4, true));
    // From a block inside the second extent: that extent first.
    let mut out = [MapExtent::default(); 1];
    assert_eq!(fs.fiemap(f, 6, &mut out), Ok(1));
    assert_eq!(out[0].logical, 4);
    assert_eq!(fs.seek_data_hole(f, 0, SEEK_DATA, size), Ok(0));
    assert_eq!(fs.seek_data_hole(f, 100, SEEK_HOLE, size), Ok(2 * BS));
    // Unwritten extents are holes.
    assert_eq!(fs.seek_data_hole(f, 2 * BS, SEEK_DATA, size), Ok(10 * BS));
    assert_eq!(fs.seek_data_hole(f, 10 * BS + 5, SEEK_HOLE, size), Ok(size));
    assert_eq!(
        fs.seek_data_hole(f, size, SEEK_DATA, size),
        Err(Errno::ENXIO)
    );
    assert_eq!(
        fs.seek_data_hole(f, size, SEEK_HOLE, size),
        Err(Errno::ENXIO)
    );
    fs.truncate(f, 9 * BS).unwrap();
    assert_eq!(
        fs.seek_data_hole(f, 3 * BS, SEEK_DATA, 9 * BS),
        Err(Errno::ENXIO)
    );
    // A long run of adjacent extents comes back joined.
    let g = fs.create(ROOT, b"g", REG, 0, 0, 0).unwrap();
    for i in 0..20 {
        fs.write(g, i * BS, &[2u8; BLOCK_SIZE]).unwrap();
    }
    let m = map(&mut fs, g);
    assert_eq!(m.iter().map(|e| e.len).sum::<u64>(), 20);
    assert!(m.len() < 20, "{m:?}");
    for w in m.windows(2) {
        let joinable =
            w[0].logical + w[0].len == w[1].logical && w[0].start + w[0].len == w[1].start;
        assert!(!joinable, "{m:?}");
    }
}

#[test]
fn enospc_changes_nothing() {
    let mut fs = fresh(2048);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    let free = fs.statfs().bfree;
    assert_eq!(fs.fallocate(f, 0, 0, (free + 1) * BS), Err(Errno::ENOSPC));
    assert_eq!(fs.statfs().bfree, free);
    assert_eq!(fs.getattr(f).unwrap().size, 0);
    assert_eq!(shape(&mut fs, f), vec![]);
    fs.fallocate(f, 0, 0, 100 * BS).unwrap();
    fsck_clean(fs);
}

#[test]
fn large_preallocation_in_steps_and_truncate() {
    let mut fs = fresh(1 << 17);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    // More than one step of FALLOC_STEP_BLOCKS.
    let n = (1u64 << 15) + 1000;
    fs.fallocate(f, KEEP, 0, n * BS).unwrap();
    assert_eq!(fs.getattr(f).unwrap().size, 0);
    let total: u64 = map(&mut fs, f).iter().map(|e| e.len).sum();
    assert_eq!(total, n);
    fs.write(f, 3 * BS, b"hello").unwrap();
    fs.truncate(f, 2 * BS + 7).unwrap();
    assert_eq!(shape(&mut fs, f), vec![(0, 3, true)]);
    fsck_clean(fs);
}

#[test]
fn inode_flags_are_stored_and_enforced_by_the_core() {
    let mut fs = fresh(8192);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    fs.write(f, 0, b"abc").unwrap();
    assert_eq!(fs.set_flags(f, 0x2000).err(), Some(Errno::EOPNOTSUPP));
    let a = fs.set_flags(f, INODE_FL_APPEND | INODE_FL_NODUMP).unwrap();
    assert_eq!(a.flags, INODE_FL_APPEND | INODE_FL_NODUMP);
    assert_eq!(fs.write(f, 0, b"x"), Err(Errno::EPERM));
    assert_eq!(fs.write(f, 3, b"def").unwrap(), 3);
    assert_eq!(fs.truncate(f, 0), Err(Errno::EPERM));
    assert_eq!(fs.fallocate(f, PUNCH | KEEP, 0, 1), Err(Errno::EPERM));
    fs.fallocate(f, KEEP, 0, BS * 2).unwrap();
    let mut fs = remount(fs);
    assert_eq!(
        fs.getattr(f).unwrap().flags,
        INODE_FL_APPEND | INODE_FL_NODUMP
    );
    fs.set_flags(f, INODE_FL_IMMUTABLE).unwrap();
    assert_eq!(fs.write(f, 6, b"x"), Err(Errno::EPERM));
    assert_eq!(fs.fallocate(f, 0, 0, 1), Err(Errno::EPERM));
    assert_eq!(fs.check_mutable(f), Err(Errno::EPERM));
    fs.set_flags(f, 0).unwrap();
    fs.write(f, 0, b"x").unwrap();
    let c = fs.getattr(f).unwrap().crtime;
    assert!(c.sec > 0);
    fsck_clean(fs);
}

/// chattr passes back what lsattr read, the directory index flag included;
/// SETFLAGS changes only the user's flags, so an indexed directory stays
/// indexed whatever the caller passes (as ext4 keeps EXT4_INDEX_FL).
#[test]
fn set_flags_keeps_the_directory_index() {
    let mut fs = fresh(8192);
    let d = fs.create(ROOT, b"d", DIR, 0, 0, 0).unwrap();
    for i in 0..400 {
        let name = format!("a-rather-long-file-name-to-fill-blocks-{i:04}");
        fs.create(d, name.as_bytes(), REG, 0, 0, 0).unwrap();
    }
    let flags = fs.getattr(d).unwrap().flags;
    assert_eq!(flags, INODE_FLAG_DIR_INDEX, "400 names index the directory");
    let a = fs.set_flags(d, INODE_FL_NODUMP).unwrap();
    assert_eq!(a.flags, INODE_FL_NODUMP | INODE_FLAG_DIR_INDEX);
    let a = fs.set_flags(d, INODE_FLAG_DIR_INDEX).unwrap();
    assert_eq!(a.flags, INODE_FLAG_DIR_INDEX);
    let mut fs = remount(fs);
    assert_eq!(fs.getattr(d).unwrap().flags, INODE_FLAG_DIR_INDEX);
    for i in (0..400).step_by(37) {
        let name = format!("a-rather-long-file-name-to-fill-blocks-{i:04}");
        fs.lookup(d, name.as_bytes()).unwrap();
    }
    assert_eq!(fs.lookup(d, b"missing"), Err(Errno::ENOENT));
    fsck_clean(fs);
}

/// An image with an unknown incompat bit is refused (EINVAL), one with
/// the unwritten-extent bit mounts.
#[test]
fn unknown_incompat_features_refuse_the_mount() {
    let mut fs = fresh(4096);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    fs.fallocate(f, 0, 0, BS).unwrap();
    let (mut dev, r) = fs.unmount();
    r.unwrap();
    let mut buf = [0u8; BLOCK_SIZE];
    dev.read_block(0, &mut buf).unwrap();
    let (mut sb, _) = {
        use zerocopy::FromBytes;
        Superblock::read_from_prefix(&buf[..]).unwrap()
    };
    assert_eq!(sb.feature_incompat.get(), FEATURE_INCOMPAT_UNWRITTEN);
    let good = dev.clone();
    sb.feature_incompat.set(FEATURE_INCOMPAT_UNWRITTEN | 1 << 9);
    sb.seal();
    {
        use zerocopy::IntoBytes;
        buf[..SUPERBLOCK_SIZE].copy_from_slice(sb.as_bytes());
    }
    dev.write_block(0, &buf).unwrap();
    assert_eq!(Fs::mount(dev, false).err(), Some(Errno::EINVAL));
    assert!(Fs::mount(good, false).is_ok());
}

/// fsck accepts unwritten extents and rejects unknown extent and inode
/// flag bits.
#[test]
fn fsck_checks_extent_flags() {
    let mut fs = fresh(4096);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    fs.fallocate(f, 0, 0, 3 * BS).unwrap();
    let g = fs.create(ROOT, b"g", REG, 0, 0, 0).unwrap();
    let fs = fsck_clean(fs);
    let (mut dev, r) = fs.unmount();
    r.unwrap();
    let sb = sb_of(&mut dev);
    for (ino, bad_extent) in [(f, true), (g, false)] {
        let (blk, off) = inode_location(&sb, ino).unwrap();
        let mut buf = [0u8; BLOCK_SIZE];
        dev.read_block(blk, &mut buf).unwrap();
        let mut d = {
            use zerocopy::FromBytes;
            DiskInode::read_from_bytes(&buf[off..off + INODE_SIZE]).unwrap()
        };
        if bad_extent {
            d.extents[0].flags.set(EXTENT_UNWRITTEN | 4);
        } else {
            d.flags.set(INODE_FL_IMMUTABLE | 0x100);
        }
        d.seal(ino);
        {
            use zerocopy::IntoBytes;
            buf[off..off + INODE_SIZE].copy_from_slice(d.as_bytes());
        }
        dev.write_block(blk, &buf).unwrap();
    }
    let rep = check(
        &mut dev,
        &Options {
            mode: Mode::No,
            verbose: false,
        },
    );
    assert!(rep.errors() >= 2, "{:?}", rep.lines);
    let all = rep.lines.join("\n");
    assert!(all.contains("unknown flags 0x5"), "{all}");
    assert!(all.contains("unknown flags 0x100"), "{all}");
}

fn sb_of(dev: &mut MemDevice) -> Superblock {
    use zerocopy::FromBytes;
    let mut buf = [0u8; BLOCK_SIZE];
    dev.read_block(0, &mut buf).unwrap();
    Superblock::read_from_prefix(&buf[..]).unwrap().0
}

/// FITRIM discards exactly the free blocks (MemDevice fills them with
/// 0xd5): never a live block, never one freed in the running transaction.
#[test]
fn trim_discards_only_free_blocks() {
    let mut fs = fresh(4096);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    fs.write(f, 0, &vec![7u8; 8 * BLOCK_SIZE]).unwrap();
    let g = fs.create(ROOT, b"g", REG, 0, 0, 0).unwrap();
    fs.write(g, 0, &vec![8u8; 4 * BLOCK_SIZE]).unwrap();
    fs.commit().unwrap();
    fs.truncate(g, 0).unwrap(); // freed, not committed
    let free = fs.statfs().bfree;
    let n = fs.trim(0, u64::MAX, 1).unwrap();
    assert_eq!(
        n,
        free - 4,
        "the 4 blocks freed in the running transaction are kept"
    );
    assert_eq!(read_all(&mut fs, f), vec![7u8; 8 * BLOCK_SIZE]);
    fs.commit().unwrap();
    assert_eq!(fs.trim(0, u64::MAX, 1).unwrap(), fs.statfs().bfree);
    assert_eq!(fs.trim(0, u64::MAX, 1 << 20).unwrap(), 0);
    let mut fs = fsck_clean(fs);
    assert_eq!(read_all(&mut fs, f), vec![7u8; 8 * BLOCK_SIZE]);
    let h = fs.create(ROOT, b"h", REG, 0, 0, 0).unwrap();
    fs.write(h, 0, b"after").unwrap();
    fsck_clean(fs);
}

#[test]
fn rename_whiteout_leaves_a_character_device() {
    use vexfs_core::namei::{RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT};
    let mut fs = fresh(4096);
    let a = fs.create(ROOT, b"a", REG, 0, 0, 0).unwrap();
    let b = fs.create(ROOT, b"b", REG, 0, 0, 0).unwrap();
    assert_eq!(
        fs.rename_whiteout(
            ROOT,
            b"a",
            ROOT,
            b"b",
            RENAME_WHITEOUT | RENAME_EXCHANGE,
            0,
            0
        ),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        fs.rename_whiteout(
            ROOT,
            b"a",
            ROOT,
            b"b",
            RENAME_WHITEOUT | RENAME_NOREPLACE,
            0,
            0
        ),
        Err(Errno::EEXIST)
    );
    fs.rename_whiteout(ROOT, b"a", ROOT, b"b", RENAME_WHITEOUT, 5, 6)
        .unwrap();
    assert_eq!(fs.lookup(ROOT, b"b"), Ok(a));
    let w = fs.lookup(ROOT, b"a").unwrap();
    // (b's inode, freed by the rename, may be the whiteout's now.)
    assert_ne!(w, a);
    let _ = b;
    let at = fs.getattr(w).unwrap();
    assert_eq!(
        (at.mode, at.rdev, at.uid, at.gid, at.nlink),
        (S_IFCHR, 0, 5, 6, 1)
    );
    let mut fs = fsck_clean(fs);
    assert_eq!(fs.lookup(ROOT, b"a"), Ok(w));
}
