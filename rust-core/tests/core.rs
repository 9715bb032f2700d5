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
use vexfs_core::format::*;
use vexfs_core::namei::{RENAME_EXCHANGE, RENAME_NOREPLACE};
use vexfs_core::{Errno, Fs};

fn names(fs: &mut Fs<MemDevice>, dir: u64) -> Vec<String> {
    let mut v: Vec<String> = fs
        .list_dir(dir)
        .unwrap()
        .into_iter()
        .map(|e| String::from_utf8(e.name).unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn format_and_mount_roundtrip() {
    let mut fs = fresh(4096);
    assert_eq!(fs.sb.label_str(), "test");
    let a = fs.getattr(ROOT).unwrap();
    assert_eq!(a.mode, DIR);
    assert_eq!(a.nlink, 2);
    let st = fs.statfs();
    assert_eq!(st.bfree, st.blocks);
    assert_eq!(st.ffree, st.files - 1);
    let fs = remount(fs);
    assert_eq!(fs.sb.uuid, [7; 16]);
}

#[test]
fn rejects_foreign_and_corrupt_superblocks() {
    let dev = MemDevice::new(1024);
    assert_eq!(Fs::mount(dev, false).err(), Some(Errno::EINVAL));
    let fs = fresh(1024);
    let (mut dev, _) = fs.unmount();
    dev.data[100] ^= 0xff;
    assert_eq!(Fs::mount(dev, false).err(), Some(Errno::EUCLEAN));
}

#[test]
fn create_lookup_write_read_persist() {
    let mut fs = fresh(8192);
    let d = fs.create(ROOT, b"docs", DIR, 0, 0, 0).unwrap();
    let f = fs.create(d, b"a.txt", REG, 1000, 1000, 0).unwrap();
    assert_eq!(fs.lookup(ROOT, b"docs").unwrap(), d);
    assert_eq!(fs.lookup(d, b"a.txt").unwrap(), f);
    assert_eq!(fs.lookup(d, b"missing"), Err(Errno::ENOENT));
    let data: Vec<u8> = (0..20000u32).map(|i| (i * 7) as u8).collect();
    fs.write(f, 100, &data).unwrap();
    assert_eq!(fs.getattr(f).unwrap().size, 20100);
    assert_eq!(fs.getattr(ROOT).unwrap().nlink, 3);
    let mut fs = remount(fs);
    let mut out = vec![0u8; 20100];
    assert_eq!(fs.read(f, 0, &mut out).unwrap(), 20100);
    assert!(out[..100].iter().all(|&b| b == 0));
    assert_eq!(&out[100..], &data[..]);
    let a = fs.getattr(f).unwrap();
    assert_eq!((a.uid, a.gid, a.mode), (1000, 1000, REG));
}

/// write(2) of 0 bytes past the end changes nothing (it used to set the
/// size to the offset).
#[test]
fn empty_write_past_the_end_changes_nothing() {
    let mut fs = fresh(8192);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    let before = fs.getattr(f).unwrap();
    assert_eq!(fs.write(f, 3, &[]).unwrap(), 0);
    assert_eq!(fs.write(f, 1 << 20, &[]).unwrap(), 0);
    let after = fs.getattr(f).unwrap();
    assert_eq!(after.size, 0);
    assert_eq!(after.blocks, before.blocks);
    let d = fs.create(ROOT, b"d", DIR, 0, 0, 0).unwrap();
    assert_eq!(fs.write(d, 0, &[]), Err(Errno::EISDIR));
}

#[test]
fn errors_match_posix() {
    let mut fs = fresh(4096);
    let d = fs.create(ROOT, b"d", DIR, 0, 0, 0).unwrap();
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    fs.create(d, b"inner", REG, 0, 0, 0).unwrap();
    assert_eq!(fs.create(ROOT, b"f", REG, 0, 0, 0), Err(Errno::EEXIST));
    assert_eq!(
        fs.create(ROOT, &[b'x'; 256], REG, 0, 0, 0),
        Err(Errno::ENAMETOOLONG)
    );
    assert!(fs.create(ROOT, &[b'x'; 255], REG, 0, 0, 0).is_ok());
    assert_eq!(fs.create(f, b"x", REG, 0, 0, 0), Err(Errno::ENOTDIR));
    assert_eq!(fs.rmdir(ROOT, b"d"), Err(Errno::ENOTEMPTY));
    assert_eq!(fs.rmdir(ROOT, b"f"), Err(Errno::ENOTDIR));
    assert_eq!(fs.unlink(ROOT, b"d"), Err(Errno::EISDIR));
    assert_eq!(fs.link(ROOT, b"dlink", d), Err(Errno::EPERM));
    assert_eq!(fs.rename(ROOT, b"f", ROOT, b"d", 0), Err(Errno::EISDIR));
    assert_eq!(fs.rename(ROOT, b"d", ROOT, b"f", 0), Err(Errno::ENOTDIR));
    assert_eq!(fs.rename(ROOT, b"d", d, b"sub", 0), Err(Errno::EINVAL));
    assert_eq!(fs.rename(ROOT, b"f", ROOT, b"g", 4), Err(Errno::EINVAL));
    assert_eq!(fs.write(d, 0, b"x"), Err(Errno::EISDIR));
}

#[test]
fn link_unlink_counts_and_space_reuse() {
    let mut fs = fresh(4096);
    let before = fs.statfs();
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    fs.write(f, 0, &vec![1u8; 100_000]).unwrap();
    fs.link(ROOT, b"g", f).unwrap();
    assert_eq!(fs.getattr(f).unwrap().nlink, 2);
    fs.unlink(ROOT, b"f").unwrap();
    assert_eq!(fs.getattr(f).unwrap().nlink, 1);
    assert!(fs.statfs().bfree < before.bfree);
    fs.unlink(ROOT, b"g").unwrap();
    let after = fs.statfs();
    // The root directory keeps its one block.
    assert_eq!(after.bfree + 1, before.bfree);
    assert_eq!(after.ffree, before.ffree);
    let g = fs.create(ROOT, b"again", REG, 0, 0, 0).unwrap();
    assert_eq!(g, f, "freed inode is reused");
}

#[test]
fn open_unlinked_file_lives_until_evict() {
    let mut fs = fresh(4096);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    fs.write(f, 0, b"still here").unwrap();
    fs.iget(f).unwrap();
    let free_before = fs.statfs().bfree;
    fs.unlink(ROOT, b"f").unwrap();
    let mut buf = [0u8; 10];
    fs.read(f, 0, &mut buf).unwrap();
    assert_eq!(&buf, b"still here");
    assert_eq!(fs.statfs().bfree, free_before);
    fs.evict(f, true).unwrap();
    assert_eq!(fs.statfs().bfree, free_before + 1);
}

#[test]
fn rename_variants() {
    let mut fs = fresh(4096);
    let a = fs.create(ROOT, b"a", DIR, 0, 0, 0).unwrap();
    let b = fs.create(ROOT, b"b", DIR, 0, 0, 0).unwrap();
    let x = fs.create(a, b"x", REG, 0, 0, 0).unwrap();
    let y = fs.create(b, b"y", REG, 0, 0, 0).unwrap();
    let sub = fs.create(a, b"sub", DIR, 0, 0, 0).unwrap();
    // Move a directory across parents: link counts follow.
    fs.rename(a, b"sub", b, b"sub2", 0).unwrap();
    assert_eq!(fs.getattr(a).unwrap().nlink, 2);
    assert_eq!(fs.getattr(b).unwrap().nlink, 3);
    assert_eq!(fs.lookup(b, b"sub2").unwrap(), sub);
    // Replace a file.
    fs.rename(a, b"x", b, b"y", 0).unwrap();
    assert_eq!(fs.lookup(b, b"y").unwrap(), x);
    assert_eq!(
        fs.getattr(y).err(),
        Some(Errno::ESTALE),
        "replaced file was freed"
    );
    assert!(!fs.has_errors());
    assert_eq!(names(&mut fs, a), Vec::<String>::new());
    // NOREPLACE and EXCHANGE.
    let z = fs.create(a, b"z", REG, 0, 0, 0).unwrap();
    assert_eq!(
        fs.rename(a, b"z", b, b"y", RENAME_NOREPLACE),
        Err(Errno::EEXIST)
    );
    fs.rename(a, b"z", b, b"sub2", RENAME_EXCHANGE).unwrap();
    assert_eq!(fs.lookup(a, b"z").unwrap(), sub);
    assert_eq!(fs.lookup(b, b"sub2").unwrap(), z);
    assert_eq!(fs.getattr(a).unwrap().nlink, 3);
    assert_eq!(fs.getattr(b).unwrap().nlink, 2);
    // Over an empty directory.
    let e = fs.create(b, b"empty", DIR, 0, 0, 0).unwrap();
    fs.rename(a, b"z", b, b"empty", 0).unwrap();
    assert_eq!(fs.lookup(b, b"empty").unwrap(), sub);
    assert_ne!(fs.lookup(b, b"empty").unwrap(), e);
    assert_eq!(fs.getattr(b).unwrap().nlink, 3);
    assert_eq!(fs.getattr(a).unwrap().nlink, 2);
    let mut fs = remount(fs);
    assert_eq!(names(&mut fs, b), vec!["empty", "sub2", "y"]);
}

#[test]
fn thousand_files_in_one_directory() {
    let mut fs = fresh(8192);
    for i in 0..1000 {
        fs.create(ROOT, format!("file-{:04}", i).as_bytes(), REG, 0, 0, 0)
            .unwrap();
    }
    let mut fs = remount(fs);
    assert_eq!(fs.list_dir(ROOT).unwrap().len(), 1000);
    for i in (0..1000).step_by(2) {
        fs.unlink(ROOT, format!("file-{:04}", i).as_bytes())
            .unwrap();
    }
    assert_eq!(fs.list_dir(ROOT).unwrap().len(), 500);
    assert!(fs.lookup(ROOT, b"file-0999").is_ok());
    assert_eq!(fs.lookup(ROOT, b"file-0998"), Err(Errno::ENOENT));
}

#[test]
fn fragmented_file_uses_extent_tree_and_survives() {
    let mut fs = fresh(16384);
    let f = fs.create(ROOT, b"frag", REG, 0, 0, 0).unwrap();
    let g = fs.create(ROOT, b"other", REG, 0, 0, 0).unwrap();
    // Interleave allocations so extents cannot merge.
    for i in 0..1500u64 {
        fs.write(f, i * 8192, &[i as u8; 10]).unwrap();
        fs.write(g, i * 4096, &[1; 10]).unwrap();
    }
    let mut fs = remount(fs);
    for i in (0..1500u64).step_by(97) {
        let mut b = [0u8; 10];
        fs.read(f, i * 8192, &mut b).unwrap();
        assert_eq!(b, [i as u8; 10]);
    }
    let blocks = fs.getattr(f).unwrap().blocks;
    assert!(blocks > 1500, "tree blocks are counted: {}", blocks);
    fs.truncate(f, 4096 * 3).unwrap();
    assert_eq!(fs.getattr(f).unwrap().blocks, 2);
    let mut fs = remount(fs);
    assert_eq!(fs.getattr(f).unwrap().size, 4096 * 3);
}

#[test]
fn truncate_down_then_up_reads_zeros() {
    let mut fs = fresh(4096);
    let f = fs.create(ROOT, b"t", REG, 0, 0, 0).unwrap();
    fs.write(f, 0, &[9u8; 10000]).unwrap();
    fs.truncate(f, 5000).unwrap();
    fs.truncate(f, 12000).unwrap();
    let mut b = vec![0u8; 12000];
    fs.read(f, 0, &mut b).unwrap();
    assert!(b[..5000].iter().all(|&x| x == 9));
    assert!(b[5000..].iter().all(|&x| x == 0));
}

#[test]
fn enospc_then_recovers() {
    let mut fs = fresh(600);
    let f = fs.create(ROOT, b"big", REG, 0, 0, 0).unwrap();
    let chunk = vec![5u8; 4096];
    let mut off = 0;
    let err = loop {
        match fs.write(f, off, &chunk) {
            Ok(_) => off += 4096,
            Err(e) => break e,
        }
    };
    assert_eq!(err, Errno::ENOSPC);
    assert_eq!(fs.statfs().bfree, 0);
    let h = fs.create(ROOT, b"more", REG, 0, 0, 0).unwrap();
    assert_eq!(fs.write(h, 0, b"x"), Err(Errno::ENOSPC));
    fs.unlink(ROOT, b"big").unwrap();
    assert!(fs.statfs().bfree > 0);
    let g = fs.create(ROOT, b"after", REG, 0, 0, 0).unwrap();
    fs.write(g, 0, &chunk).unwrap();
}

#[test]
fn inode_exhaustion_is_enospc() {
    let mut fs = fresh_with(2048, 16);
    let mut n = 0;
    let err = loop {
        match fs.create(ROOT, format!("f{}", n).as_bytes(), REG, 0, 0, 0) {
            Ok(_) => n += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(err, Errno::ENOSPC);
    assert_eq!(n, 15);
}

#[test]
fn corrupt_inode_is_reported_and_turns_fs_read_only() {
    let mut fs = fresh(4096);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    let it = fs.sb.inode_table_start.get();
    let (mut dev, _) = fs.unmount();
    let off = it as usize * BLOCK_SIZE + (f as usize - 1) * INODE_SIZE + 8;
    dev.data[off] ^= 0x40;
    let mut fs = Fs::mount(dev, false).unwrap();
    assert_eq!(fs.lookup(ROOT, b"f"), Err(Errno::EUCLEAN));
    assert_eq!(fs.getattr(f).err(), Some(Errno::EUCLEAN));
    assert!(fs.has_errors());
    assert_eq!(
        fs.create(ROOT, b"g", REG, 0, 0, 0).err(),
        Some(Errno::EROFS)
    );
}

#[test]
fn corrupt_directory_block_is_detected() {
    let mut fs = fresh(4096);
    fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    let data_start = fs.sb.data_start.get();
    let (mut dev, _) = fs.unmount();
    // Scribble over every data block: the root directory's block is among them.
    let mut buf = Box::new([0u8; BLOCK_SIZE]);
    for b in data_start..data_start + 8 {
        dev.read_block(b, &mut buf).unwrap();
        buf[40] ^= 1;
        dev.write_block(b, &buf).unwrap();
    }
    let mut fs = Fs::mount(dev, false).unwrap();
    assert_eq!(fs.lookup(ROOT, b"f"), Err(Errno::EUCLEAN));
}

#[test]
fn big_volume_formats_without_touching_data() {
    // 256 GiB would need a sparse file; a 1 GiB memory device shows the same
    // property: only metadata blocks are written.
    let mut dev = MemDevice::new(262_144);
    let l = vexfs_core::mkfs::format(
        &mut dev,
        &vexfs_core::mkfs::MkfsOptions {
            vectors: None,
            label: vec![],
            inodes: 0,
            uuid: [1; 16],
            blocks: 0,
        },
    )
    .unwrap();
    assert!(dev.writes < l.inode_bitmap.1 + l.block_bitmap.1 + 4);
}

#[test]
fn stale_directory_size_from_vfs_is_ignored() {
    let mut fs = fresh(4096);
    let d = fs.create(ROOT, b"d", DIR, 0, 0, 0).unwrap();
    let mut a = fs.getattr(d).unwrap();
    fs.create(d, b"x", REG, 0, 0, 0).unwrap();
    // The VFS writes back attributes it read before the directory grew.
    a.mode = DIR & !0o022;
    fs.setattr(&a).unwrap();
    assert_eq!(fs.lookup(d, b"x").map(|_| ()), Ok(()));
    assert_eq!(fs.getattr(d).unwrap().mode, DIR & !0o022);
    let mut fs = remount(fs);
    assert!(fs.lookup(d, b"x").is_ok());
}

#[test]
fn remount_read_only_and_back() {
    let mut fs = fresh(4096);
    fs.remount(true).unwrap();
    assert_eq!(fs.create(ROOT, b"f", REG, 0, 0, 0), Err(Errno::EROFS));
    fs.remount(false).unwrap();
    fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
}

/// Files freed at evict (the kernel's usual path: an unlinked file goes when
/// its inode leaves the cache) are operations of their own: the running
/// transaction never outgrows the log, however many are freed in a row.
#[test]
fn mass_evict_stays_journaled() {
    let mut fs = fresh(4096);
    let n = fs.statfs().ffree - 8;
    let mut inos = Vec::new();
    for i in 0..n {
        let ino = fs
            .create(ROOT, format!("f{i}").as_bytes(), REG, 0, 0, 0)
            .unwrap();
        fs.iget(ino).unwrap();
        inos.push(ino);
    }
    for i in 0..n {
        fs.unlink(ROOT, format!("f{i}").as_bytes()).unwrap();
    }
    let before = fs.journal.commits;
    for &ino in &inos {
        fs.evict(ino, true).unwrap();
    }
    fs.commit().unwrap();
    assert!(
        fs.journal.commits > before + 1,
        "the evicts committed as they went"
    );
    assert_eq!(fs.journal.unlogged, 0, "a transaction outgrew the log");
    let (dev, r) = fs.unmount();
    r.unwrap();
    let fs = Fs::mount(dev, false).unwrap();
    assert_eq!(fs.statfs().ffree, n + 8);
}
