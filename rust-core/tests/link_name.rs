//! `Fs::link_name`: the name of an inode's hinted link, read at its
//! `parent_pos` (one directory block). Every namespace operation keeps the
//! position current (no fallback scan is ever needed on an image this core
//! wrote); images without positions (0) and damaged positions fall back to a
//! scan of the hinted directory and never panic.
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
use vexfs_core::format::*;
use vexfs_core::namei::RENAME_EXCHANGE;
use vexfs_core::{Errno, Fs};
use zerocopy::{FromBytes, IntoBytes};

/// Parent hint and name of `ino`'s hinted link, as a string.
fn ln(fs: &mut Fs<MemDevice>, ino: u64) -> (u64, String) {
    let (p, n) = fs.link_name(ino).unwrap();
    (p, String::from_utf8(n).unwrap())
}

/// `ino`'s path from the root, built from link names as the kernel does.
fn path(fs: &mut Fs<MemDevice>, mut ino: u64) -> String {
    let mut parts = Vec::new();
    while ino != ROOT {
        let (p, n) = ln(fs, ino);
        assert!(p != 0 && !n.is_empty(), "inode {} has no hinted link", ino);
        parts.push(n);
        ino = p;
    }
    parts.reverse();
    parts.join("/")
}

/// The name must come from `parent_pos`, without a scan.
fn fast(fs: &mut Fs<MemDevice>, ino: u64) -> String {
    let before = fs.link_scans;
    let p = path(fs, ino);
    assert_eq!(fs.link_scans, before, "{}: parent_pos was not current", p);
    p
}

fn mk(fs: &mut Fs<MemDevice>, dir: u64, name: &str) -> u64 {
    fs.create(dir, name.as_bytes(), REG, 0, 0, 0).unwrap()
}

fn mkd(fs: &mut Fs<MemDevice>, dir: u64, name: &str) -> u64 {
    fs.create(dir, name.as_bytes(), DIR, 0, 0, 0).unwrap()
}

fn sb(dev: &MemDevice) -> Superblock {
    Superblock::read_from_prefix(&dev.data[..]).unwrap().0
}

fn edit_inode(dev: &mut MemDevice, ino: u64, f: impl FnOnce(&mut DiskInode)) {
    let (blk, off) = inode_location(&sb(dev), ino).unwrap();
    let o = blk as usize * BLOCK_SIZE + off;
    let mut d = DiskInode::read_from_bytes(&dev.data[o..o + INODE_SIZE]).unwrap();
    f(&mut d);
    d.seal(ino);
    dev.data[o..o + INODE_SIZE].copy_from_slice(d.as_bytes());
}

fn disk_inode(dev: &MemDevice, ino: u64) -> DiskInode {
    let (blk, off) = inode_location(&sb(dev), ino).unwrap();
    let o = blk as usize * BLOCK_SIZE + off;
    DiskInode::read_from_bytes(&dev.data[o..o + INODE_SIZE]).unwrap()
}

/// Unmount, change the image, mount again.
fn edit(fs: Fs<MemDevice>, f: impl FnOnce(&mut MemDevice)) -> Fs<MemDevice> {
    let (mut dev, r) = fs.unmount();
    r.unwrap();
    f(&mut dev);
    Fs::mount(dev, false).unwrap()
}

#[test]
fn create_mkdir_symlink_node_have_positions() {
    let mut fs = fresh(8192);
    let a = mkd(&mut fs, ROOT, "a");
    let b = mkd(&mut fs, a, "b");
    // enough long names for several directory blocks
    let mut files = Vec::new();
    for i in 0..200 {
        let name = format!("file-{:03}-{}", i, "x".repeat(40));
        files.push((mk(&mut fs, b, &name), name));
    }
    let sym = fs.create(a, b"sym", 0o120777, 0, 0, 0).unwrap();
    let fifo = fs.create(ROOT, b"fifo", 0o010644, 0, 0, 0).unwrap();
    assert!(fs.getattr(b).unwrap().size >= 3 * BLOCK_SIZE as u64);
    assert_eq!(fast(&mut fs, a), "a");
    assert_eq!(fast(&mut fs, b), "a/b");
    for (ino, name) in &files {
        assert_eq!(fast(&mut fs, *ino), format!("a/b/{}", name));
    }
    assert_eq!(fast(&mut fs, sym), "a/sym");
    assert_eq!(fast(&mut fs, fifo), "fifo");
    assert_eq!(ln(&mut fs, ROOT), (ROOT, String::new()));
    // positions are on disk
    let mut fs = remount(fs);
    for (ino, name) in &files {
        assert_eq!(fast(&mut fs, *ino), format!("a/b/{}", name));
    }
}

#[test]
fn entries_never_move_when_others_come_and_go() {
    let mut fs = fresh(8192);
    let d = mkd(&mut fs, ROOT, "d");
    let inos: Vec<u64> = (0..120)
        .map(|i| mk(&mut fs, d, &format!("f{:03}", i)))
        .collect();
    // remove every third (the first of a block too), then fill the holes
    for i in (0..120).step_by(3) {
        fs.unlink(d, format!("f{:03}", i).as_bytes()).unwrap();
    }
    let new: Vec<u64> = (0..40)
        .map(|i| mk(&mut fs, d, &format!("n{:03}", i)))
        .collect();
    for (i, &ino) in inos.iter().enumerate() {
        if i % 3 != 0 {
            assert_eq!(fast(&mut fs, ino), format!("d/f{:03}", i));
        }
    }
    for (i, &ino) in new.iter().enumerate() {
        assert_eq!(fast(&mut fs, ino), format!("d/n{:03}", i));
    }
}

#[test]
fn rename_follows_the_link() {
    let mut fs = fresh(8192);
    let a = mkd(&mut fs, ROOT, "a");
    let b = mkd(&mut fs, ROOT, "b");
    let sub = mkd(&mut fs, a, "sub");
    let f = mk(&mut fs, sub, "f");
    let g = mk(&mut fs, a, "g");
    for i in 0..30 {
        mk(&mut fs, b, &format!("pad{:02}-{}", i, "y".repeat(60)));
    }
    // a file within its directory, then across directories
    fs.rename(sub, b"f", sub, b"f2", 0).unwrap();
    assert_eq!(fast(&mut fs, f), "a/sub/f2");
    fs.rename(sub, b"f2", b, b"f3", 0).unwrap();
    assert_eq!(fast(&mut fs, f), "b/f3");
    // a directory: everything below follows
    let h = mk(&mut fs, sub, "h");
    fs.rename(a, b"sub", b, b"moved", 0).unwrap();
    assert_eq!(fast(&mut fs, sub), "b/moved");
    assert_eq!(fast(&mut fs, h), "b/moved/h");
    fs.rename(b, b"moved", b, b"moved2", 0).unwrap();
    assert_eq!(fast(&mut fs, h), "b/moved2/h");
    // over an existing file: the target's entry is reused
    fs.rename(a, b"g", b, b"f3", 0).unwrap();
    assert_eq!(fast(&mut fs, g), "b/f3");
    assert_eq!(fs.getattr(f).err(), Some(Errno::ESTALE));
    // over an existing empty directory
    let e = mkd(&mut fs, a, "e");
    fs.rename(b, b"moved2", a, b"e", 0).unwrap();
    assert_eq!(fast(&mut fs, sub), "a/e");
    assert_eq!(fast(&mut fs, h), "a/e/h");
    assert!(fs.getattr(e).is_err());
    let mut fs = remount(fs);
    assert_eq!(fast(&mut fs, h), "a/e/h");
}

#[test]
fn exchange_swaps_positions() {
    let mut fs = fresh(8192);
    let a = mkd(&mut fs, ROOT, "a");
    let b = mkd(&mut fs, ROOT, "b");
    let x = mk(&mut fs, a, "x");
    let y = mk(&mut fs, b, "y");
    let da = mkd(&mut fs, a, "da");
    let inner = mk(&mut fs, da, "inner");
    // files across directories
    fs.rename(a, b"x", b, b"y", RENAME_EXCHANGE).unwrap();
    assert_eq!(fast(&mut fs, x), "b/y");
    assert_eq!(fast(&mut fs, y), "a/x");
    // a directory and a file in the same directory
    fs.rename(a, b"da", a, b"x", RENAME_EXCHANGE).unwrap();
    assert_eq!(fast(&mut fs, da), "a/x");
    assert_eq!(fast(&mut fs, inner), "a/x/inner");
    assert_eq!(fast(&mut fs, y), "a/da");
    // a directory and a file across directories
    fs.rename(a, b"x", b, b"y", RENAME_EXCHANGE).unwrap();
    assert_eq!(fast(&mut fs, inner), "b/y/inner");
    assert_eq!(fast(&mut fs, x), "a/x");
}

#[test]
fn hard_links_and_unlink_of_the_hinted_link() {
    let mut fs = fresh(8192);
    let a = mkd(&mut fs, ROOT, "a");
    let b = mkd(&mut fs, ROOT, "b");
    let f = mk(&mut fs, a, "f");
    fs.link(b, b"l1", f).unwrap();
    fs.link(a, b"l2", f).unwrap();
    // the hint stays on the first link
    assert_eq!(fast(&mut fs, f), "a/f");
    // removing a link in the hinted directory that is not the hinted one keeps it
    fs.unlink(a, b"l2").unwrap();
    assert_eq!(fast(&mut fs, f), "a/f");
    // renaming a link that is not the hinted one keeps it too
    fs.rename(b, b"l1", b, b"l1b", 0).unwrap();
    assert_eq!(fast(&mut fs, f), "a/f");
    // removing the hinted link: unknown, no name
    fs.unlink(a, b"f").unwrap();
    assert_eq!(ln(&mut fs, f), (0, String::new()));
    // a new link, or a rename, of a file whose hint is unknown gives it one
    fs.link(a, b"back", f).unwrap();
    assert_eq!(fast(&mut fs, f), "a/back");
    fs.unlink(a, b"back").unwrap();
    assert_eq!(ln(&mut fs, f).0, 0);
    fs.rename(b, b"l1b", a, b"again", 0).unwrap();
    assert_eq!(fast(&mut fs, f), "a/again");
}

#[test]
fn old_image_without_positions_scans() {
    let mut fs = fresh(8192);
    let d = mkd(&mut fs, ROOT, "d");
    for i in 0..100 {
        mk(&mut fs, d, &format!("pad{:03}-{}", i, "z".repeat(30)));
    }
    let f = mk(&mut fs, d, "last");
    let mut fs = edit(fs, |dev| {
        edit_inode(dev, f, |i| i.parent_pos.set(0));
        edit_inode(dev, d, |i| i.parent_pos.set(0));
    });
    let before = fs.link_scans;
    assert_eq!(path(&mut fs, f), "d/last");
    assert_eq!(fs.link_scans, before + 2);
    // a read never writes the position back
    let (dev, r) = fs.unmount();
    r.unwrap();
    assert_eq!(disk_inode(&dev, f).parent_pos.get(), 0);
    // a later rename of such a file records it
    let mut fs = Fs::mount(dev, false).unwrap();
    fs.rename(d, b"last", d, b"renamed", 0).unwrap();
    let before = fs.link_scans;
    assert_eq!(ln(&mut fs, f), (d, "renamed".into()));
    assert_eq!(fs.link_scans, before);
}

#[test]
fn damaged_positions_fall_back_and_never_panic() {
    let mut fs = fresh(8192);
    let d = mkd(&mut fs, ROOT, "d");
    let x = mk(&mut fs, d, "x");
    let y = mk(&mut fs, d, "yy");
    let other = mkd(&mut fs, ROOT, "other");
    let xpos = {
        let (dev, r) = fs.unmount();
        r.unwrap();
        let p = disk_inode(&dev, x).parent_pos.get();
        fs = Fs::mount(dev, false).unwrap();
        p
    };
    assert!(xpos > HEADER_SIZE as u64);
    let bad = [
        u64::MAX,                  // far past the directory
        1,                         // inside the block header
        xpos + 1,                  // inside x's record
        xpos + 8,                  // inside x's record, 8-aligned
        BLOCK_SIZE as u64 * 7 + 1, // a block the directory does not have
        xpos,                      // another live entry (x's)
    ];
    for (i, pos) in bad.into_iter().enumerate() {
        fs = edit(fs, |dev| edit_inode(dev, y, |n| n.parent_pos.set(pos)));
        let before = fs.link_scans;
        assert_eq!(ln(&mut fs, y), (d, "yy".into()), "case {}", i);
        assert_eq!(fs.link_scans, before + 1, "case {}", i);
    }
    // a hinted directory that holds no link: no name
    fs = edit(fs, |dev| edit_inode(dev, y, |n| n.parent.set(other)));
    assert_eq!(ln(&mut fs, y), (other, String::new()));
    // a hint naming a non-directory: no name
    fs = edit(fs, |dev| edit_inode(dev, y, |n| n.parent.set(x)));
    assert_eq!(ln(&mut fs, y), (x, String::new()));
    // a hint naming a free inode: the inode read fails, no panic
    fs = edit(fs, |dev| edit_inode(dev, y, |n| n.parent.set(300)));
    assert!(fs.link_name(y).is_err());
    // free or out-of-range inodes themselves
    assert_eq!(fs.link_name(0).err(), Some(Errno::ESTALE));
    assert_eq!(fs.link_name(u64::MAX).err(), Some(Errno::ESTALE));
}

#[test]
fn small_buffer_is_erange() {
    let mut fs = fresh(4096);
    let f = mk(&mut fs, ROOT, "abcdef");
    let mut buf = [0u8; 3];
    assert_eq!(fs.link_name_into(f, &mut buf).err(), Some(Errno::ERANGE));
    let mut buf = [0u8; 6];
    assert_eq!(fs.link_name_into(f, &mut buf), Ok((ROOT, 6)));
    assert_eq!(&buf, b"abcdef");
}

/// A long pseudo-random run of every namespace operation: after each, every
/// live inode's hinted link (when known) is found at its position and names
/// a real entry of its hinted directory.
#[test]
fn positions_stay_current_under_a_random_workload() {
    let mut fs = fresh(16384);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let dirs = [ROOT, mkd(&mut fs, ROOT, "d0"), mkd(&mut fs, ROOT, "d1")];
    let d2 = mkd(&mut fs, dirs[1], "d2");
    let dirs = [dirs[0], dirs[1], dirs[2], d2];
    let names: Vec<String> = (0..24)
        .map(|i| format!("n{}{}", i, "q".repeat(i * 9)))
        .collect();
    for step in 0..3000 {
        let d = dirs[rnd(4) as usize];
        let n = &names[rnd(24) as usize];
        let d2 = dirs[rnd(4) as usize];
        let n2 = &names[rnd(24) as usize];
        let _ = match rnd(6) {
            0 | 1 => fs.create(d, n.as_bytes(), REG, 0, 0, 0).map(|_| ()),
            2 => fs.unlink(d, n.as_bytes()),
            3 => match fs.lookup(d, n.as_bytes()) {
                Ok(ino) => fs.link(d2, n2.as_bytes(), ino),
                Err(e) => Err(e),
            },
            4 => fs.rename(d, n.as_bytes(), d2, n2.as_bytes(), 0),
            _ => fs.rename(d, n.as_bytes(), d2, n2.as_bytes(), RENAME_EXCHANGE),
        };
        if step % 50 != 0 {
            continue;
        }
        for &dir in &dirs {
            for e in fs.list_dir(dir).unwrap() {
                let before = fs.link_scans;
                let (p, name) = fs.link_name(e.ino).unwrap();
                assert_eq!(fs.link_scans, before, "step {}: inode {}", step, e.ino);
                if p != 0 {
                    let back = fs.lookup(p, &name).unwrap();
                    assert_eq!(back, e.ino, "step {}", step);
                }
            }
        }
    }
}
