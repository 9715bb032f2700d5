//! fsck.vexfs's checker on in-memory images: clean images stay clean, each
//! class of corruption is found with -n (writing nothing) and repaired with
//! -y, after which the image checks clean, mounts and reads back.
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
use vexfs_core::fsck::{check, Mode, Options, Report};
use vexfs_core::Fs;
use zerocopy::{FromBytes, IntoBytes};

const LNK: u32 = 0o120777;

fn run(dev: &mut MemDevice, mode: Mode) -> Report {
    check(
        dev,
        &Options {
            mode,
            verbose: true,
        },
    )
}

fn show(r: &Report) -> String {
    r.lines.join("\n")
}

fn assert_clean(dev: &mut MemDevice) {
    let before = dev.data.clone();
    let r = run(dev, Mode::No);
    assert_eq!(r.exit_code(), 0, "{}", show(&r));
    assert!(r.findings.is_empty(), "{}", show(&r));
    assert!(dev.data == before, "a -n check wrote to the device");
}

/// -n finds `code` (exit 4) without writing; -y repairs it (exit 1); then clean.
fn detect_and_repair(dev: &mut MemDevice, code: &str) -> Report {
    let before = dev.data.clone();
    let r = run(dev, Mode::No);
    assert!(r.has(code), "-n did not report {}:\n{}", code, show(&r));
    assert_eq!(r.exit_code() & 4, 4, "{}", show(&r));
    assert!(dev.data == before, "-n wrote to the device");
    let r = run(dev, Mode::Yes);
    if std::env::var("FSCK_SHOW").is_ok() {
        eprintln!("---- {} ----\n{}", code, show(&r));
    }
    assert!(r.has(code), "-y did not report {}:\n{}", code, show(&r));
    assert_eq!(r.exit_code(), 1, "{}", show(&r));
    assert_clean(dev);
    r
}

fn sb(dev: &MemDevice) -> Superblock {
    Superblock::read_from_prefix(&dev.data[..]).unwrap().0
}

fn put_sb(dev: &mut MemDevice, mut s: Superblock) {
    s.seal();
    dev.data[..SUPERBLOCK_SIZE].copy_from_slice(s.as_bytes());
}

fn inode_off(dev: &MemDevice, ino: u64) -> usize {
    let (blk, off) = inode_location(&sb(dev), ino).unwrap();
    blk as usize * BLOCK_SIZE + off
}

fn edit_inode(dev: &mut MemDevice, ino: u64, f: impl FnOnce(&mut DiskInode)) {
    let o = inode_off(dev, ino);
    let mut d = DiskInode::read_from_bytes(&dev.data[o..o + INODE_SIZE]).unwrap();
    f(&mut d);
    d.seal(ino);
    dev.data[o..o + INODE_SIZE].copy_from_slice(d.as_bytes());
}

fn get_inode(dev: &MemDevice, ino: u64) -> DiskInode {
    let o = inode_off(dev, ino);
    DiskInode::read_from_bytes(&dev.data[o..o + INODE_SIZE]).unwrap()
}

fn block(dev: &mut MemDevice, blk: u64) -> &mut [u8] {
    let b = blk as usize * BLOCK_SIZE;
    &mut dev.data[b..b + BLOCK_SIZE]
}

fn reseal(dev: &mut MemDevice, blk: u64) {
    let mut buf = [0u8; BLOCK_SIZE];
    buf.copy_from_slice(block(dev, blk));
    seal_block(&mut buf);
    block(dev, blk).copy_from_slice(&buf);
}

/// First directory block of `dir`, and the offset of the entry named `name`.
fn find_entry(dev: &MemDevice, dir: u64, name: &[u8]) -> (u64, usize) {
    let d = get_inode(dev, dir);
    assert_eq!(d.extent_depth.get(), 0);
    for e in &d.extents[..d.extent_count.get() as usize] {
        for i in 0..u64::from(e.len.get()) {
            let blk = e.start.get() + i;
            let b = &dev.data[blk as usize * BLOCK_SIZE..][..BLOCK_SIZE];
            let mut off = HEADER_SIZE;
            while off < BLOCK_SIZE {
                let (h, _) = DirEntryHead::read_from_prefix(&b[off..]).unwrap();
                let nl = h.name_len as usize;
                if h.ino.get() != 0 && &b[off + DIRENT_HEAD..off + DIRENT_HEAD + nl] == name {
                    return (blk, off);
                }
                off += h.rec_len.get() as usize;
            }
        }
    }
    panic!("no entry {:?}", String::from_utf8_lossy(name));
}

fn set_entry(dev: &mut MemDevice, dir: u64, name: &[u8], ino: Option<u64>, ft: Option<u8>) {
    let (blk, off) = find_entry(dev, dir, name);
    let b = block(dev, blk);
    if let Some(i) = ino {
        b[off..off + 8].copy_from_slice(&i.to_le_bytes());
    }
    if let Some(t) = ft {
        b[off + 11] = t;
    }
    reseal(dev, blk);
}

fn set_bitmap_bit(dev: &mut MemDevice, start: u64, n: u64, on: bool) {
    let blk = start + n / BITS_PER_BITMAP_BLOCK;
    let bit = n % BITS_PER_BITMAP_BLOCK;
    let b = block(dev, blk);
    let byte = &mut b[HEADER_SIZE + (bit / 8) as usize];
    if on {
        *byte |= 1 << (bit % 8);
    } else {
        *byte &= !(1 << (bit % 8));
    }
    reseal(dev, blk);
}

struct Pop {
    dev: MemDevice,
    docs: u64,
    sub: u64,
    a: u64,
    b: u64,
    link: u64,
    big: u64,
    big2: u64,
    vecs: Vec<u64>,
}

fn data_a() -> Vec<u8> {
    (0..20000u32).map(|i| (i * 7 + 3) as u8).collect()
}

/// Dirs, files, a hard link, a symlink, two interleaved (fragmented) big
/// files with extent trees, and vectors.
fn populated() -> Pop {
    let mut fs = fresh_vec(8192, 4, 1);
    let docs = fs.create(ROOT, b"docs", DIR, 0, 0, 0).unwrap();
    let sub = fs.create(docs, b"sub", DIR, 0, 0, 0).unwrap();
    let a = fs.create(docs, b"a.txt", REG, 0, 0, 0).unwrap();
    fs.write(a, 0, &data_a()).unwrap();
    let b = fs.create(sub, b"b.txt", REG, 0, 0, 0).unwrap();
    fs.write(b, 0, b"hello b").unwrap();
    fs.link(ROOT, b"b-again", b).unwrap();
    let link = fs.create(ROOT, b"sym", LNK, 0, 0, 0).unwrap();
    fs.write(link, 0, b"docs/a.txt").unwrap();
    let big = fs.create(ROOT, b"big", REG, 0, 0, 0).unwrap();
    let big2 = fs.create(ROOT, b"big2", REG, 0, 0, 0).unwrap();
    let chunk = vec![0x5au8; BLOCK_SIZE];
    for i in 0..40u64 {
        fs.write(big, i * 2 * BLOCK_SIZE as u64, &chunk).unwrap();
        fs.write(big2, i * BLOCK_SIZE as u64, &chunk).unwrap();
    }
    let mut vecs = Vec::new();
    for i in 0..20u32 {
        let f = fs
            .create(ROOT, format!("v{}", i).as_bytes(), REG, 0, 0, 0)
            .unwrap();
        fs.vec_set(f, &[i as f32, 1.0, 2.0, -(i as f32)]).unwrap();
        vecs.push(f);
    }
    let (dev, r) = fs.unmount();
    r.unwrap();
    assert!(
        get_inode(&dev, big).extent_depth.get() > 0,
        "big has an extent tree"
    );
    Pop {
        dev,
        docs,
        sub,
        a,
        b,
        link,
        big,
        big2,
        vecs,
    }
}

/// The repaired image mounts and its surviving data reads back.
fn mounts_and_reads(dev: MemDevice, p: &Pop) -> Fs<MemDevice> {
    let mut fs = Fs::mount(dev, false).expect("repaired image mounts");
    let mut buf = vec![0u8; 20000];
    if fs.getattr(p.a).is_ok() {
        assert_eq!(fs.read(p.a, 0, &mut buf).unwrap(), 20000);
        assert_eq!(buf, data_a());
    }
    // Every directory lists.
    let mut stack = vec![ROOT];
    let mut n = 0;
    while let Some(d) = stack.pop() {
        for e in fs.list_dir(d).unwrap() {
            if e.file_type == DT_DIR {
                stack.push(e.ino);
            }
            n += 1;
        }
    }
    assert!(n > 0);
    fs
}

#[test]
fn fresh_fs_is_clean() {
    let fs = fresh(4096);
    let (mut dev, _) = fs.unmount();
    assert_clean(&mut dev);
    let r = run(&mut dev, Mode::Yes);
    assert_eq!(r.exit_code(), 0, "{}", show(&r));
    assert!(!r.modified);
    assert_eq!(r.stats.inodes_used, 1);
    let fs = fresh_vec(4096, 8, 2);
    let (mut dev, _) = fs.unmount();
    assert_clean(&mut dev);
}

#[test]
fn populated_fs_is_clean() {
    let mut p = populated();
    assert_clean(&mut p.dev);
    let before = p.dev.data.clone();
    for mode in [Mode::Yes, Mode::Preen, Mode::Check] {
        let r = run(&mut p.dev, mode);
        assert_eq!(r.exit_code(), 0, "{}", show(&r));
    }
    assert!(p.dev.data == before, "a clean -y/-p run wrote");
    let r = run(&mut p.dev, Mode::No);
    assert_eq!(r.stats.vectors, 20);
    assert_eq!(r.stats.directories, 3);
    assert_eq!(r.stats.symlinks, 1);
    let _ = (p.docs, p.sub, p.link, p.big2);
}

#[test]
fn mounted_but_not_unmounted_is_clean() {
    // Synced but never unmounted (as after a crash right after sync).
    let mut fs = fresh_vec(4096, 4, 1);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    fs.vec_set(f, &[1.0, 2.0, 3.0, 4.0]).unwrap();
    fs.sync().unwrap();
    let mut dev = fs.dev.clone();
    let r = run(&mut dev, Mode::No);
    assert_eq!(r.uncorrected(), 0, "{}", show(&r));
}

#[test]
fn link_count() {
    let mut p = populated();
    edit_inode(&mut p.dev, p.b, |d| d.nlink.set(5));
    edit_inode(&mut p.dev, p.docs, |d| d.nlink.set(2));
    let r = detect_and_repair(&mut p.dev, "link_count");
    assert!(show(&r).contains(&format!("inode {} link count is 5, should be 2", p.b)));
    assert_eq!(get_inode(&p.dev, p.b).nlink.get(), 2);
    assert_eq!(get_inode(&p.dev, p.docs).nlink.get(), 3);
    mounts_and_reads(p.dev.clone(), &p);
}

#[test]
fn preen_fixes_counts_but_not_data_loss() {
    let mut p = populated();
    edit_inode(&mut p.dev, p.b, |d| d.nlink.set(5));
    // Two files claiming the same block: fixing that clears one (data loss).
    let a_start = get_inode(&p.dev, p.a).extents[0].start.get();
    edit_inode(&mut p.dev, p.link, |d| d.extents[0].start.set(a_start));
    let r = run(&mut p.dev, Mode::Preen);
    assert!(r.has("link_count") && r.has("dup_blocks"), "{}", show(&r));
    assert_eq!(r.exit_code(), 5, "{}", show(&r));
    assert_eq!(get_inode(&p.dev, p.b).nlink.get(), 2);
    // -y finishes the job.
    let r = run(&mut p.dev, Mode::Yes);
    assert!(r.has("dup_blocks"), "{}", show(&r));
    assert_eq!(r.exit_code(), 1, "{}", show(&r));
    assert_clean(&mut p.dev);
    let mut fs = mounts_and_reads(p.dev.clone(), &p);
    assert!(
        fs.getattr(p.link).is_err(),
        "the second claimant was cleared"
    );
}

#[test]
fn block_bitmap() {
    let mut p = populated();
    let s = sb(&p.dev);
    let a_start = get_inode(&p.dev, p.a).extents[0].start.get();
    set_bitmap_bit(&mut p.dev, s.block_bitmap_start.get(), a_start, false);
    set_bitmap_bit(
        &mut p.dev,
        s.block_bitmap_start.get(),
        s.block_count.get() - 3,
        true,
    );
    let r = detect_and_repair(&mut p.dev, "block_bitmap");
    assert!(show(&r).contains(&format!("+{}", a_start)), "{}", show(&r));
    mounts_and_reads(p.dev.clone(), &p);
}

#[test]
fn inode_bitmap_and_free_counts() {
    let mut p = populated();
    let s = sb(&p.dev);
    set_bitmap_bit(&mut p.dev, s.inode_bitmap_start.get(), p.a - 1, false);
    set_bitmap_bit(&mut p.dev, s.inode_bitmap_start.get(), 200, true);
    let mut s2 = sb(&p.dev);
    s2.free_blocks.set(s2.free_blocks.get() - 7);
    put_sb(&mut p.dev, s2);
    let r = detect_and_repair(&mut p.dev, "inode_bitmap");
    assert!(r.has("free_blocks"), "{}", show(&r));
    mounts_and_reads(p.dev.clone(), &p);
}

#[test]
fn free_counts_beyond_totals() {
    let mut p = populated();
    let mut s = sb(&p.dev);
    s.free_inodes.set(s.inode_count.get() + 5);
    put_sb(&mut p.dev, s);
    assert!(Fs::mount(p.dev.clone(), false).is_err());
    detect_and_repair(&mut p.dev, "free_inodes");
    mounts_and_reads(p.dev.clone(), &p);
}

#[test]
fn file_type_and_parent() {
    let mut p = populated();
    set_entry(&mut p.dev, p.docs, b"a.txt", None, Some(DT_LNK));
    edit_inode(&mut p.dev, p.sub, |d| d.parent.set(ROOT));
    let r = detect_and_repair(&mut p.dev, "dir_file_type");
    assert!(r.has("dotdot"), "{}", show(&r));
    assert_eq!(get_inode(&p.dev, p.sub).parent.get(), p.docs);
    let mut fs = mounts_and_reads(p.dev.clone(), &p);
    let e = fs.list_dir(p.docs).unwrap();
    assert!(e
        .iter()
        .any(|e| e.name == b"a.txt" && e.file_type == DT_REG));
}

#[test]
fn parent_hint_of_a_file() {
    let mut p = populated();
    // a.txt lives in docs; a hint naming sub (which holds no link to it)
    // would filter query results by the wrong directory's permissions.
    edit_inode(&mut p.dev, p.a, |d| d.parent.set(p.sub));
    detect_and_repair(&mut p.dev, "parent_hint");
    assert_eq!(get_inode(&p.dev, p.a).parent.get(), p.docs);
    // Unknown (0, and so without a position) is allowed; a hint naming a
    // non-directory is not.
    edit_inode(&mut p.dev, p.b, |d| {
        d.parent.set(0);
        d.parent_pos.set(0)
    });
    assert_clean(&mut p.dev);
    edit_inode(&mut p.dev, p.b, |d| d.parent.set(p.big));
    detect_and_repair(&mut p.dev, "parent_hint");
    let hint = get_inode(&p.dev, p.b).parent.get();
    assert!(hint == p.sub || hint == ROOT, "hint {}", hint);
    let mut fs = mounts_and_reads(p.dev.clone(), &p);
    assert_eq!(fs.parent_of(p.a).unwrap(), p.docs);
}

#[test]
fn lost_file_hint_is_lost_found() {
    let mut p = populated();
    set_entry(&mut p.dev, p.docs, b"a.txt", Some(0), None);
    let r = detect_and_repair(&mut p.dev, "unattached");
    // the positions of what fsck itself moved are set, not reported
    assert!(!r.has("parent_pos"), "{}", show(&r));
    let mut fs = mounts_and_reads(p.dev.clone(), &p);
    let lf = fs.lookup(ROOT, b"lost+found").unwrap();
    assert_eq!(get_inode(&p.dev, p.a).parent.get(), lf);
    assert_ne!(get_inode(&p.dev, p.a).parent_pos.get(), 0);
    assert_ne!(get_inode(&p.dev, lf).parent_pos.get(), 0);
    let name = format!("#{}", p.a).into_bytes();
    assert_eq!(fs.link_name(p.a).unwrap(), (lf, name));
    assert_eq!(fs.link_name(lf).unwrap(), (ROOT, b"lost+found".to_vec()));
    assert_eq!(fs.link_scans, 0);
}

#[test]
fn parent_pos_of_files_and_directories() {
    let mut p = populated();
    let a_pos = get_inode(&p.dev, p.a).parent_pos.get();
    let sub_pos = get_inode(&p.dev, p.sub).parent_pos.get();
    let b_pos = get_inode(&p.dev, p.b).parent_pos.get();
    assert!(a_pos != 0 && sub_pos != 0 && b_pos != 0);
    // inside a.txt's record: no entry starts there
    edit_inode(&mut p.dev, p.a, |d| d.parent_pos.set(a_pos + 8));
    detect_and_repair(&mut p.dev, "parent_pos");
    assert_eq!(get_inode(&p.dev, p.a).parent_pos.get(), a_pos);
    // another live entry of the same directory (sub's)
    edit_inode(&mut p.dev, p.a, |d| d.parent_pos.set(sub_pos));
    detect_and_repair(&mut p.dev, "parent_pos");
    assert_eq!(get_inode(&p.dev, p.a).parent_pos.get(), a_pos);
    // a directory, far past its parent's size
    edit_inode(&mut p.dev, p.sub, |d| d.parent_pos.set(1 << 40));
    detect_and_repair(&mut p.dev, "parent_pos");
    assert_eq!(get_inode(&p.dev, p.sub).parent_pos.get(), sub_pos);
    // the root has no entry; an unknown hint has no position
    edit_inode(&mut p.dev, ROOT, |d| d.parent_pos.set(33));
    detect_and_repair(&mut p.dev, "parent_pos");
    assert_eq!(get_inode(&p.dev, ROOT).parent_pos.get(), 0);
    edit_inode(&mut p.dev, p.b, |d| {
        d.parent.set(0);
        d.parent_pos.set(b_pos)
    });
    detect_and_repair(&mut p.dev, "parent_pos");
    assert_eq!(get_inode(&p.dev, p.b).parent_pos.get(), 0);
    // unknown (0: images made before the field) is not an error
    edit_inode(&mut p.dev, p.a, |d| d.parent_pos.set(0));
    assert_clean(&mut p.dev);
    let mut fs = mounts_and_reads(p.dev.clone(), &p);
    assert_eq!(fs.link_name(p.sub).unwrap(), (p.docs, b"sub".to_vec()));
    assert_eq!(fs.link_scans, 0);
    assert_eq!(fs.link_name(p.a).unwrap(), (p.docs, b"a.txt".to_vec()));
    assert_eq!(fs.link_scans, 1);
}

#[test]
fn entry_to_free_inode() {
    let mut p = populated();
    // "sym" now names an unused inode; the symlink itself is then unattached.
    set_entry(&mut p.dev, ROOT, b"sym", Some(300), None);
    let r = detect_and_repair(&mut p.dev, "dir_free_inode");
    assert!(r.has("unattached"), "{}", show(&r));
    let mut fs = mounts_and_reads(p.dev.clone(), &p);
    let lf = fs.lookup(ROOT, b"lost+found").unwrap();
    assert_eq!(
        fs.lookup(lf, format!("#{}", p.link).as_bytes()).unwrap(),
        p.link
    );
    let mut buf = [0u8; 10];
    fs.read(p.link, 0, &mut buf).unwrap();
    assert_eq!(&buf, b"docs/a.txt");
}

#[test]
fn lost_file_goes_to_lost_found() {
    let mut p = populated();
    set_entry(&mut p.dev, p.docs, b"a.txt", Some(0), None);
    let r = detect_and_repair(&mut p.dev, "unattached");
    assert!(show(&r).contains(&format!("#{}", p.a)), "{}", show(&r));
    let mut fs = mounts_and_reads(p.dev.clone(), &p);
    let lf = fs.lookup(ROOT, b"lost+found").unwrap();
    assert_eq!(fs.lookup(lf, format!("#{}", p.a).as_bytes()).unwrap(), p.a);
    assert_eq!(fs.getattr(lf).unwrap().nlink, 2);
}

#[test]
fn disconnected_directory_is_reconnected() {
    let mut p = populated();
    set_entry(&mut p.dev, ROOT, b"docs", Some(0), None);
    let r = detect_and_repair(&mut p.dev, "disconnected_dir");
    assert!(
        !r.has("unattached"),
        "only the subtree top moves:\n{}",
        show(&r)
    );
    let mut fs = mounts_and_reads(p.dev.clone(), &p);
    let lf = fs.lookup(ROOT, b"lost+found").unwrap();
    let docs = fs.lookup(lf, format!("#{}", p.docs).as_bytes()).unwrap();
    assert_eq!(fs.lookup(docs, b"a.txt").unwrap(), p.a);
    assert_eq!(fs.getattr(lf).unwrap().nlink, 3);
    // The whole tree is usable again.
    fs.rename(lf, format!("#{}", p.docs).as_bytes(), ROOT, b"docs", 0)
        .unwrap();
    fs.create(docs, b"new", REG, 0, 0, 0).unwrap();
}

#[test]
fn second_link_to_directory_and_loop() {
    let mut p = populated();
    // "big" in the root now names docs/sub: a hard link to a directory.
    set_entry(&mut p.dev, ROOT, b"big", Some(p.sub), Some(DT_DIR));
    // and sub gets an entry naming its ancestor docs: a loop.
    set_entry(&mut p.dev, p.sub, b"b.txt", Some(p.docs), Some(DT_DIR));
    let r = detect_and_repair(&mut p.dev, "dir_hard_link");
    assert!(r.has("unattached"), "{}", show(&r));
    let mut fs = mounts_and_reads(p.dev.clone(), &p);
    assert_eq!(fs.lookup(p.docs, b"sub").unwrap(), p.sub);
    assert!(fs.lookup(ROOT, b"big").is_err());
    let lf = fs.lookup(ROOT, b"lost+found").unwrap();
    assert_eq!(
        fs.lookup(lf, format!("#{}", p.big).as_bytes()).unwrap(),
        p.big
    );
}

#[test]
fn orphan_unlinked_while_open() {
    let mut p = populated();
    let mut fs = Fs::mount(p.dev.clone(), false).unwrap();
    let f = fs.create(ROOT, b"tmp", REG, 0, 0, 0).unwrap();
    fs.write(f, 0, &[1u8; 30000]).unwrap();
    fs.vec_set(f, &[1.0, 1.0, 1.0, 1.0]).unwrap();
    fs.iget(f).unwrap();
    fs.unlink(ROOT, b"tmp").unwrap();
    // Crash while still open: the inode keeps its blocks and vector, and
    // is on the orphan list.
    let (dev, _) = fs.unmount();
    assert_eq!(sb(&dev).orphan_head.get(), f);
    p.dev = dev;
    // On the list it is the next mount's work: advisory for -n.
    let before = p.dev.data.clone();
    let r = run(&mut p.dev, Mode::No);
    assert!(r.has("orphan"), "{}", show(&r));
    assert_eq!(r.exit_code(), 0, "{}", show(&r));
    assert!(p.dev.data == before, "-n wrote to the device");
    // The mount frees it.
    let mut fs = mounts_and_reads(p.dev.clone(), &p);
    assert!(fs.getattr(f).is_err());
    assert_eq!(fs.vec_info().unwrap().count, 20);
    let (mut dev, r) = fs.unmount();
    r.unwrap();
    assert_eq!(sb(&dev).orphan_head.get(), 0);
    assert_clean(&mut dev);
    // fsck -y frees it as well, and empties the list.
    let r = run(&mut p.dev, Mode::Yes);
    assert!(r.has("orphan"), "{}", show(&r));
    assert_eq!(r.exit_code(), 1, "{}", show(&r));
    assert_eq!(sb(&p.dev).orphan_head.get(), 0);
    assert_clean(&mut p.dev);
}

#[test]
fn orphan_off_the_list_is_an_error() {
    let mut p = populated();
    let mut fs = Fs::mount(p.dev.clone(), false).unwrap();
    let f = fs.create(ROOT, b"tmp", REG, 0, 0, 0).unwrap();
    fs.write(f, 0, &[1u8; 30000]).unwrap();
    fs.iget(f).unwrap();
    fs.unlink(ROOT, b"tmp").unwrap();
    let (dev, _) = fs.unmount();
    p.dev = dev;
    let mut s = sb(&p.dev);
    s.orphan_head.set(0);
    put_sb(&mut p.dev, s);
    let r = detect_and_repair(&mut p.dev, "orphan");
    assert!(!r.has("unattached"), "{}", show(&r));
    let mut fs = mounts_and_reads(p.dev.clone(), &p);
    assert!(fs.getattr(f).is_err());
}

#[test]
fn bad_orphan_list_is_emptied() {
    let mut p = populated();
    let mut s = sb(&p.dev);
    s.orphan_head.set(p.big); // a linked file
    put_sb(&mut p.dev, s);
    // The mount refuses changes rather than free a linked file.
    let mut fs = Fs::mount(p.dev.clone(), false).unwrap();
    assert!(fs.getattr(p.big).is_ok());
    assert!(fs.create(ROOT, b"x", REG, 0, 0, 0).is_err());
    drop(fs);
    detect_and_repair(&mut p.dev, "orphan_list");
    assert_eq!(sb(&p.dev).orphan_head.get(), 0);
    mounts_and_reads(p.dev.clone(), &p);
}

#[test]
fn extent_out_of_bounds_clears_inode() {
    let mut p = populated();
    edit_inode(&mut p.dev, p.link, |d| d.extents[0].start.set(2));
    let r = detect_and_repair(&mut p.dev, "extents");
    assert!(r.has("dir_free_inode"), "{}", show(&r));
    let mut fs = mounts_and_reads(p.dev.clone(), &p);
    assert!(fs.lookup(ROOT, b"sym").is_err());
}

#[test]
fn extent_tree_block_damage() {
    let mut p = populated();
    let d = get_inode(&p.dev, p.big);
    assert!(d.extent_depth.get() >= 1);
    let tb = d.extents[0].start.get();
    // Checksum only: resealed, nothing lost.
    block(&mut p.dev, tb)[BLOCK_SIZE - 1] ^= 1;
    detect_and_repair(&mut p.dev, "extent_block_checksum");
    let p2 = {
        let mut fs = Fs::mount(p.dev.clone(), false).unwrap();
        let mut buf = vec![0u8; BLOCK_SIZE];
        fs.read(p.big, 78 * BLOCK_SIZE as u64, &mut buf).unwrap();
        assert!(buf.iter().all(|&x| x == 0x5a));
        fs.unmount().0
    };
    p.dev = p2;
    // A wrong magic: the tree is unusable, the inode goes.
    block(&mut p.dev, tb)[0] ^= 0xff;
    detect_and_repair(&mut p.dev, "extents");
    mounts_and_reads(p.dev.clone(), &p);
}

#[test]
fn checksums_of_intact_structures_are_resealed() {
    let mut p = populated();
    let o = inode_off(&p.dev, p.a);
    p.dev.data[o + 210] ^= 1; // reserved bytes: only the checksum breaks
    let (blk, _) = find_entry(&p.dev, p.docs, b"a.txt");
    block(&mut p.dev, blk)[BLOCK_SIZE - 1] ^= 0x10; // free space of the block
    let r = detect_and_repair(&mut p.dev, "inode_checksum");
    assert!(r.has("dir_checksum"), "{}", show(&r));
    mounts_and_reads(p.dev.clone(), &p);
}

#[test]
fn corrupt_directory_block() {
    let mut p = populated();
    let (blk, off) = find_entry(&p.dev, p.sub, b"b.txt");
    // A rec_len that runs off the block.
    block(&mut p.dev, blk)[off + 8..off + 10].copy_from_slice(&5000u16.to_le_bytes());
    reseal(&mut p.dev, blk);
    let r = detect_and_repair(&mut p.dev, "dir_entry");
    let _ = r;
    let mut fs = mounts_and_reads(p.dev.clone(), &p);
    // b still has its root link "b-again".
    assert_eq!(fs.lookup(ROOT, b"b-again").unwrap(), p.b);
    assert_eq!(fs.getattr(p.b).unwrap().nlink, 1);
}

#[test]
fn superblock_checksum_and_error_state() {
    let mut p = populated();
    let mut s = sb(&p.dev);
    s.state.set(STATE_ERRORS);
    put_sb(&mut p.dev, s);
    let r = run(&mut p.dev, Mode::No);
    assert_eq!(r.exit_code(), 0, "no actual inconsistency: {}", show(&r));
    let r = run(&mut p.dev, Mode::Yes);
    assert_eq!(r.exit_code(), 1, "{}", show(&r));
    assert_eq!(sb(&p.dev).state.get(), STATE_CLEAN);
    p.dev.data[400] ^= 1; // inside the reserved words
    detect_and_repair(&mut p.dev, "sb_checksum");
    mounts_and_reads(p.dev.clone(), &p);
}

#[test]
fn not_vexfs_is_operational_error() {
    let mut dev = MemDevice::new(1024);
    let r = run(&mut dev, Mode::Yes);
    assert_eq!(r.exit_code(), 8);
    assert!(r.fatal.is_some());
    let mut p = populated();
    let mut s = sb(&p.dev);
    s.inode_table_start.set(s.inode_table_start.get() + 1);
    put_sb(&mut p.dev, s);
    assert_eq!(run(&mut p.dev, Mode::Yes).exit_code(), 8);
}

#[test]
fn vector_slots() {
    let mut p = populated();
    let s = sb(&p.dev);
    let v0 = p.vecs[0];
    let v1 = p.vecs[1];
    let slot0 = get_inode(&p.dev, v0).vec_slot.get() - 1;
    let slot1 = get_inode(&p.dev, v1).vec_slot.get() - 1;
    let per = u64::from(s.vec_slots_per_block.get());
    let size = s.vec_slot_size.get() as usize;
    // Slot of v0 claims an inode not in use.
    let blk = s.vector_start.get() + slot0 / per;
    let off = HEADER_SIZE + (slot0 % per) as usize * size;
    block(&mut p.dev, blk)[off..off + 8].copy_from_slice(&400u64.to_le_bytes());
    reseal(&mut p.dev, blk);
    // v1 loses its slot reference; the count is off.
    edit_inode(&mut p.dev, v1, |d| d.vec_slot.set(0));
    let mut s2 = sb(&p.dev);
    s2.vec_count.set(33);
    put_sb(&mut p.dev, s2);
    let r = detect_and_repair(&mut p.dev, "vec_orphan_slot");
    for c in ["vec_dangling", "vec_count"] {
        assert!(r.has(c), "{}: {}", c, show(&r));
    }
    let _ = slot1;
    let mut fs = mounts_and_reads(p.dev.clone(), &p);
    assert_eq!(fs.vec_info().unwrap().count, 18);
    assert_eq!(fs.vec_get(p.vecs[5]).unwrap(), vec![5.0, 1.0, 2.0, -5.0]);
    assert!(fs.vec_get(v0).is_err());
    let hits = fs
        .vec_query(&[5.0, 1.0, 2.0, -5.0], ROOT, 1, 0, false)
        .unwrap();
    assert_eq!(hits[0].0, p.vecs[5]);
}

#[test]
fn damaged_graph_rows_are_relinked() {
    let mut p = populated();
    let s = sb(&p.dev);
    let head = s.vector_start.get() + s.vec_slot_blocks.get();
    // Damage the level-0 row block holding the first slots' rows.
    block(&mut p.dev, head)[100] ^= 0xff;
    let before = p.dev.data.clone();
    let r = run(&mut p.dev, Mode::No);
    assert!(r.has("vec_graph_row"), "{}", show(&r));
    assert!(r.exit_code() != 0, "{}", show(&r));
    assert!(p.dev.data == before, "-n writes nothing");
    let r = run(&mut p.dev, Mode::Yes);
    assert!(r.has("vec_graph_row"), "{}", show(&r));
    assert_clean(&mut p.dev);
    mounts_and_reads(p.dev.clone(), &p);
}

#[test]
fn slot_lists_and_entry_point_are_checked() {
    let mut p = populated();
    let mut s = sb(&p.dev);
    // The free list names a slot in use, and the entry point is off.
    s.vec_free_head.set(1);
    s.vec_entry.set(0);
    put_sb(&mut p.dev, s);
    let r = run(&mut p.dev, Mode::No);
    assert!(r.has("vec_slot_list") && r.has("vec_entry"), "{}", show(&r));
    let r = run(&mut p.dev, Mode::Yes);
    assert!(r.has("vec_slot_list") && r.has("vec_entry"), "{}", show(&r));
    assert_clean(&mut p.dev);
    let mut fs = mounts_and_reads(p.dev.clone(), &p);
    // Allocation works from the rebuilt lists.
    let f = fs.create(ROOT, b"after", REG, 0, 0, 0).unwrap();
    fs.vec_set(f, &[9.0, 9.0, 9.0, 9.0]).unwrap();
    assert_eq!(
        fs.vec_query(&[9.0, 9.0, 9.0, 9.0], ROOT, 1, 0, false)
            .unwrap()[0]
            .0,
        f
    );
}

#[test]
fn vectors_on_fs_without_vector_space() {
    let mut fs = fresh(4096);
    let f = fs.create(ROOT, b"f", REG, 0, 0, 0).unwrap();
    let (mut dev, _) = fs.unmount();
    edit_inode(&mut dev, f, |d| d.vec_slot.set(3));
    detect_and_repair(&mut dev, "vec_dangling");
    Fs::mount(dev, false).unwrap().vec_delete(f).unwrap_err();
}

#[test]
fn random_byte_flips_never_panic() {
    let p = populated();
    let s = sb(&p.dev);
    let meta_end = s.data_start.get() as usize * BLOCK_SIZE;
    // Metadata plus the first used data blocks (directories, extent blocks).
    let span = meta_end + 200 * BLOCK_SIZE;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for round in 0..60 {
        let mut dev = p.dev.clone();
        let flips = 1 + next() % 40;
        for _ in 0..flips {
            // Bias towards the blocks that matter: superblock-adjacent regions,
            // the inode table and the start of the data area.
            let pos = if next() % 3 == 0 {
                (next() as usize) % meta_end
            } else {
                meta_end + (next() as usize) % (span - meta_end)
            };
            let pos = if round % 10 == 0 {
                BLOCK_SIZE + pos % (meta_end - BLOCK_SIZE)
            } else {
                pos
            };
            dev.data[pos] ^= 1 << (next() % 8);
        }
        // Make flipped blocks pass their checksums half of the time, so
        // the structure checks behind them get exercised too.
        if round % 2 == 1 {
            for blk in s.data_start.get()..s.data_start.get() + 200 {
                let b = block(&mut dev, blk);
                if u32::from_le_bytes(b[..4].try_into().unwrap()) == BLOCK_MAGIC_DIR
                    || u32::from_le_bytes(b[..4].try_into().unwrap()) == BLOCK_MAGIC_EXTENT
                {
                    reseal(&mut dev, blk);
                }
            }
        }
        let before = dev.data.clone();
        let r = run(&mut dev, Mode::No);
        assert!(dev.data == before, "round {}: -n wrote", round);
        let found = r.findings.len();
        let _ = run(&mut dev, Mode::Preen);
        let r = run(&mut dev, Mode::Yes);
        if std::env::var("FSCK_SHOW").is_ok() {
            eprintln!(
                "round {}: fatal {:?}, -n found {}, -y {} findings, {} left",
                round,
                r.fatal.is_some(),
                found,
                r.findings.len(),
                r.uncorrected()
            );
        }
        if r.fatal.is_none() {
            // Whatever -y could not fix, a second pass must not make worse or panic on.
            let r2 = run(&mut dev, Mode::Yes);
            assert!(r2.fatal.is_none());
            if r.uncorrected() == 0 && r2.uncorrected() == 0 {
                let r3 = run(&mut dev, Mode::No);
                assert_eq!(
                    r3.exit_code(),
                    0,
                    "round {}: not clean after -y:\n{}",
                    round,
                    show(&r3)
                );
                let _ = Fs::mount(dev.clone(), false).map(|mut fs| fs.list_dir(ROOT));
            }
        }
    }
}

/// mkfs does not clear the inode table: inodes of an earlier filesystem on
/// the same device (sound, checksummed, but not in the new bitmap) are
/// garbage, not orphans or claimants of blocks.
#[test]
fn stale_inodes_of_an_earlier_filesystem_are_ignored() {
    let p = populated();
    let mut dev = p.dev.clone();
    let opts = vexfs_core::mkfs::MkfsOptions {
        vectors: Some(vexfs_core::mkfs::VectorOptions::new(8, 2)),
        label: Vec::new(),
        inodes: 0,
        uuid: [0x42; 16],
        blocks: 0,
    };
    vexfs_core::mkfs::format(&mut dev, &opts).unwrap();
    assert_clean(&mut dev);
    let mut fs = Fs::mount(dev, false).unwrap();
    assert!(fs.list_dir(ROOT).unwrap().is_empty());
}

#[test]
fn journal_needing_recovery_is_checked_as_replayed() {
    let mut p = populated();
    let mut fs = Fs::mount(p.dev.clone(), false).unwrap();
    let f = fs.create(ROOT, b"late", REG, 0, 0, 0).unwrap();
    fs.write(f, 0, b"journaled").unwrap();
    assert!(fs.commit().unwrap());
    // Power loss right after the commit: the journal holds the change.
    let mut dev = fs.dev.clone();
    drop(fs);
    let before = dev.data.clone();
    let r = run(&mut dev, Mode::No);
    assert_eq!(r.exit_code(), 0, "{}", show(&r));
    assert!(
        r.lines.iter().any(|l| l.contains("journal needs recovery")),
        "{}",
        show(&r)
    );
    assert!(dev.data == before, "-n wrote to the device");
    // -y replays it, then the filesystem is clean and has the file.
    let r = run(&mut dev, Mode::Yes);
    assert!(
        r.lines.iter().any(|l| l.contains("recovering journal")),
        "{}",
        show(&r)
    );
    assert_eq!(r.exit_code(), 1, "{}", show(&r));
    assert_clean(&mut dev);
    let mut fs = mounts_and_reads(dev, &p);
    assert_eq!(fs.lookup(ROOT, b"late").unwrap(), f);
    p.dev = fs.unmount().0;
    assert_clean(&mut p.dev);
}

#[test]
fn damaged_journal_superblock() {
    let mut p = populated();
    let js = sb(&p.dev).journal_start.get();
    block(&mut p.dev, js)[40] ^= 0x5a;
    assert_eq!(
        Fs::mount(p.dev.clone(), false).err(),
        Some(vexfs_core::Errno::EUCLEAN)
    );
    detect_and_repair(&mut p.dev, "journal_super");
    mounts_and_reads(p.dev.clone(), &p);
}

/// An inode on the orphan list with nlink 0 that a directory still names:
/// one -y restores its link count and takes it off the list, so the next
/// -n is clean (it used to leave it on the list: -n exit 4, a second -y).
#[test]
fn linked_orphan_converges_in_one_pass() {
    let mut p = populated();
    // b has two links (docs/sub/b.txt, b-again); put it on the list with
    // nlink 0 (an unlink the crash cut short after the orphan add).
    edit_inode(&mut p.dev, p.b, |d| {
        d.nlink.set(0);
        d.next_orphan.set(0);
    });
    let mut s = sb(&p.dev);
    s.orphan_head.set(p.b);
    put_sb(&mut p.dev, s);
    let r = detect_and_repair(&mut p.dev, "link_count");
    assert_eq!(sb(&p.dev).orphan_head.get(), 0, "{}", show(&r));
    let mut fs = mounts_and_reads(p.dev.clone(), &p);
    assert_eq!(fs.getattr(p.b).unwrap().nlink, 2);
    // Same with a second, real orphan behind it on the list: that one is
    // freed, the linked one stays, and the list ends up empty.
    let mut p = populated();
    let mut fs = Fs::mount(p.dev.clone(), false).unwrap();
    let f = fs.create(ROOT, b"tmp", REG, 0, 0, 0).unwrap();
    fs.write(f, 0, &[1u8; 9000]).unwrap();
    fs.iget(f).unwrap();
    fs.unlink(ROOT, b"tmp").unwrap();
    let (dev, _) = fs.unmount();
    p.dev = dev;
    assert_eq!(sb(&p.dev).orphan_head.get(), f);
    edit_inode(&mut p.dev, p.a, |d| {
        d.nlink.set(0);
        d.next_orphan.set(f);
    });
    let mut s = sb(&p.dev);
    s.orphan_head.set(p.a);
    put_sb(&mut p.dev, s);
    detect_and_repair(&mut p.dev, "link_count");
    assert_eq!(sb(&p.dev).orphan_head.get(), 0);
    let mut fs = mounts_and_reads(p.dev.clone(), &p);
    assert!(fs.getattr(f).is_err());
    assert_eq!(fs.getattr(p.a).unwrap().nlink, 1);
}

/// Slot `flags` must be 0 (write_slot stores 0): -n reports, -y clears the
/// flags and keeps the vector.
#[test]
fn vector_slot_flags() {
    let mut p = populated();
    let s = sb(&p.dev);
    let v = p.vecs[3];
    let slot = get_inode(&p.dev, v).vec_slot.get() - 1;
    let per = u64::from(s.vec_slots_per_block.get());
    let size = s.vec_slot_size.get() as usize;
    let blk = s.vector_start.get() + slot / per;
    let off = HEADER_SIZE + (slot % per) as usize * size;
    block(&mut p.dev, blk)[off + 12..off + 16].copy_from_slice(&0x8000_0001u32.to_le_bytes());
    reseal(&mut p.dev, blk);
    // On an image with graph rows the word is the slot's tag: its rows no
    // longer match it, and the node is linked again (with a fresh tag).
    let r = detect_and_repair(&mut p.dev, "vec_graph_row");
    assert_eq!(r.findings.len(), 1, "{}", show(&r));
    let mut fs = mounts_and_reads(p.dev.clone(), &p);
    assert_eq!(fs.vec_get(v).unwrap(), vec![3.0, 1.0, 2.0, -3.0]);
    assert_eq!(fs.vec_info().unwrap().count, 20);
}

/// Slot-block header fields the writer leaves zero (count, level, pad).
#[test]
fn vector_slot_block_header_fields() {
    for (at, val) in [(24usize, 7u8), (28, 1), (30, 0x40)] {
        let mut p = populated();
        let blk = sb(&p.dev).vector_start.get();
        block(&mut p.dev, blk)[at] = val;
        reseal(&mut p.dev, blk);
        let r = detect_and_repair(&mut p.dev, "vec_slot_header");
        assert_eq!(r.findings.len(), 1, "{}", show(&r));
        let fs = mounts_and_reads(p.dev.clone(), &p);
        assert_eq!(fs.vec_info().unwrap().count, 20);
    }
}

/// HNSW parameters out of range in a resealed superblock: the mount refuses
/// the superblock, so fsck says which field is wrong and stops (exit 8) in
/// every mode; nothing is written and nothing calls it clean.
#[test]
fn superblock_vector_parameters_out_of_range() {
    type Set = fn(&mut Superblock);
    let cases: [(Set, &str); 7] = [
        (
            |s| s.hnsw_ef_search.set(0xffff_ffff),
            "hnsw_ef_search is 4294967295",
        ),
        (|s| s.hnsw_ef_search.set(0), "hnsw_ef_search is 0"),
        (|s| s.hnsw_ef_search.set(VEC_MAX_EF + 1), "hnsw_ef_search"),
        (
            |s| s.hnsw_ef_construction.set(0),
            "hnsw_ef_construction is 0",
        ),
        (
            |s| s.hnsw_ef_construction.set(VEC_MAX_EF_CONSTRUCTION + 1),
            "hnsw_ef_construction",
        ),
        (|s| s.hnsw_m.set(VEC_MIN_M - 1), "hnsw_m is 1"),
        (|s| s.hnsw_m.set(VEC_MAX_M + 1), "hnsw_m is 129"),
    ];
    let p = populated();
    for (set, want) in cases {
        let mut dev = p.dev.clone();
        let mut s = sb(&dev);
        set(&mut s);
        put_sb(&mut dev, s);
        assert!(Fs::mount(dev.clone(), true).is_err());
        let before = dev.data.clone();
        for mode in [Mode::No, Mode::Check, Mode::Preen, Mode::Yes] {
            let r = run(&mut dev, mode);
            assert_eq!(r.exit_code(), 8, "{:?} {}: {}", mode, want, show(&r));
            let why = r.fatal.clone().unwrap();
            assert!(why.contains(want), "{}", why);
            assert!(why.contains("must be"), "{}", why);
        }
        assert!(dev.data == before, "{}: fsck wrote", want);
    }
    // The bounds themselves are accepted. (Not for hnsw_m here: it fixes
    // the layout of the graph rows, which would no longer match.)
    let mut dev = p.dev.clone();
    let mut s = sb(&dev);
    s.hnsw_ef_search.set(VEC_MAX_EF);
    s.hnsw_ef_construction.set(1);
    put_sb(&mut dev, s);
    assert_clean(&mut dev);
}

/// Without a vector space every vector parameter is zero: stray values are
/// cleared by -y (safe: nothing uses them).
#[test]
fn vector_parameters_without_vector_space() {
    let fs = fresh(4096);
    let (mut dev, _) = fs.unmount();
    let mut s = sb(&dev);
    s.hnsw_ef_search.set(0xffff_ffff);
    put_sb(&mut dev, s);
    let r = detect_and_repair(&mut dev, "sb_vec_params");
    assert!(r.findings.len() == 1, "{}", show(&r));
    assert_eq!(sb(&dev).hnsw_ef_search.get(), 0);
    Fs::mount(dev, false).unwrap();
}

/// The mount checks the superblock before it replays the journal: free
/// counts above the totals there are an error for -n even when the
/// journal's copy of the superblock (which -n checks as replayed) is fine.
#[test]
fn bad_free_counts_under_a_journal_needing_recovery() {
    let p = populated();
    let mut fs = Fs::mount(p.dev.clone(), false).unwrap();
    let f = fs.create(ROOT, b"late", REG, 0, 0, 0).unwrap();
    fs.write(f, 0, b"journaled").unwrap();
    assert!(fs.commit().unwrap());
    let mut dev = fs.dev.clone();
    drop(fs);
    let mut s = sb(&dev);
    s.free_blocks.set(s.block_count.get() + 1);
    put_sb(&mut dev, s);
    assert!(Fs::mount(dev.clone(), false).is_err());
    let r = run(&mut dev, Mode::No);
    assert!(r.has("free_counts"), "{}", show(&r));
    assert_eq!(r.exit_code(), 4, "{}", show(&r));
    let r = run(&mut dev, Mode::Yes);
    assert_eq!(r.exit_code(), 1, "{}", show(&r));
    assert_clean(&mut dev);
    let mut fs = mounts_and_reads(dev, &p);
    assert_eq!(fs.lookup(ROOT, b"late").unwrap(), f);
}

/// A directory whose size stops short of its mapped blocks (the kernel
/// reuses such a block when the directory grows): reconnecting files into
/// it must reuse the block, not map a second one over the same file block.
#[test]
fn reconnect_into_directory_with_blocks_past_its_size() {
    let mut fs = fresh_vec(8192, 4, 1);
    let lf = fs.create(ROOT, b"lost+found", DIR, 0, 0, 0).unwrap();
    // Equal-size entries pack block 0 with less slack than one more entry.
    let mut inos = Vec::new();
    for i in 0..400 {
        inos.push(
            fs.create(lf, format!("f{:03}", i).as_bytes(), REG, 0, 0, 0)
                .unwrap(),
        );
    }
    let (mut dev, r) = fs.unmount();
    r.unwrap();
    assert!(get_inode(&dev, lf).size.get() >= 2 * BLOCK_SIZE as u64);
    // Cut the directory back to its first block: the files listed in the
    // blocks past it are in no directory now.
    edit_inode(&mut dev, lf, |d| d.size.set(BLOCK_SIZE as u64));
    detect_and_repair(&mut dev, "unattached");
    let mut fs = Fs::mount(dev, false).unwrap();
    let names = fs.list_dir(lf).unwrap().len();
    assert_eq!(names, 400, "every file is listed once");
    for ino in inos {
        assert_eq!(fs.getattr(ino).unwrap().nlink, 1);
    }
}
