//! fsck.vexfs as a user runs it: exit codes 0/1/4/8/16 on image files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::Command;
use vexfs_core::dev::FileDevice;
use vexfs_core::format::{inode_location, DiskInode, Superblock, INODE_SIZE};
use vexfs_core::Fs;
use zerocopy::{FromBytes, IntoBytes};

fn fsck(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fsck-vexfs"))
        .args(args)
        .output()
        .expect("run fsck");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn image(dir: &tempfile::TempDir, name: &str) -> String {
    let p = dir.path().join(name);
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(32 << 20).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mkfs-vexfs"))
        .args(["-q", "--dim", "4", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let path = p.to_string_lossy().into_owned();
    let mut fs = mount(&path);
    let f = fs.create(1, b"file", 0o100644, 0, 0, 0).unwrap();
    fs.write(f, 0, b"contents").unwrap();
    fs.vec_set(f, &[1.0, 2.0, 3.0, 4.0]).unwrap();
    fs.unmount().1.unwrap();
    path
}

fn mount(path: &str) -> Fs<FileDevice> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let len = f.metadata().unwrap().len();
    Fs::mount(FileDevice::new(f, len), false).unwrap()
}

/// Set inode 2's link count to 7 (resealed: a pure count error).
fn break_link_count(path: &str) {
    let mut data = std::fs::read(path).unwrap();
    let sb = Superblock::read_from_prefix(&data[..]).unwrap().0;
    let (blk, off) = inode_location(&sb, 2).unwrap();
    let o = blk as usize * 4096 + off;
    let mut d = DiskInode::read_from_bytes(&data[o..o + INODE_SIZE]).unwrap();
    d.nlink.set(7);
    d.seal(2);
    data[o..o + INODE_SIZE].copy_from_slice(d.as_bytes());
    std::fs::write(path, data).unwrap();
}

#[test]
fn clean_image_exits_0() {
    let d = tempfile::tempdir().unwrap();
    let img = image(&d, "a.img");
    for args in [
        vec!["-n"],
        vec!["-fy"],
        vec!["-p"],
        vec![],
        vec!["-v", "-f", "-n"],
    ] {
        let mut a = args.clone();
        a.push(&img);
        let (code, out) = fsck(&a);
        assert_eq!(code, 0, "{:?}: {}", args, out);
        assert!(out.contains("Pass 5"), "{}", out);
        assert!(out.contains("2/"), "summary: {}", out);
    }
}

#[test]
fn errors_left_then_corrected() {
    let d = tempfile::tempdir().unwrap();
    let img = image(&d, "a.img");
    break_link_count(&img);
    let before = std::fs::read(&img).unwrap();
    let (code, out) = fsck(&["-n", &img]);
    assert_eq!(code, 4, "{}", out);
    assert!(out.contains("link count is 7, should be 1"), "{}", out);
    assert!(std::fs::read(&img).unwrap() == before, "-n wrote");
    let (code, out) = fsck(&[&img]);
    assert_eq!(code, 4, "{}", out);
    assert!(out.contains("fsck.vexfs -y"), "{}", out);
    let (code, out) = fsck(&["-p", &img]);
    assert_eq!(code, 1, "{}", out);
    assert!(out.contains("MODIFIED"), "{}", out);
    let (code, out) = fsck(&["-n", &img]);
    assert_eq!(code, 0, "{}", out);
    break_link_count(&img);
    let (code, out) = fsck(&["-y", &img]);
    assert_eq!(code, 1, "{}", out);
    let mut fs = mount(&img);
    let mut buf = [0u8; 8];
    fs.read(2, 0, &mut buf).unwrap();
    assert_eq!(&buf, b"contents");
}

#[test]
fn operational_errors_exit_8() {
    let d = tempfile::tempdir().unwrap();
    let (code, _) = fsck(&["-n", d.path().join("missing").to_str().unwrap()]);
    assert_eq!(code, 8);
    let p = d.path().join("zero.img");
    std::fs::File::create(&p).unwrap().set_len(4 << 20).unwrap();
    let (code, out) = fsck(&["-y", p.to_str().unwrap()]);
    assert_eq!(code, 8, "{}", out);
    assert!(out.contains("not a vexfs"), "{}", out);
}

#[test]
fn usage_errors_exit_16() {
    assert_eq!(fsck(&[]).0, 16);
    assert_eq!(fsck(&["-n", "-y", "x.img"]).0, 16);
    assert_eq!(fsck(&["-q", "x.img"]).0, 16);
    assert_eq!(fsck(&["a.img", "b.img"]).0, 16);
}

/// A superblock crafted with hnsw_ef_search = 0xffffffff (checksum resealed)
/// is unusable: -n and -y both exit 8 naming the field, and write nothing.
#[test]
fn crafted_ef_search_is_not_clean() {
    let d = tempfile::tempdir().unwrap();
    let img = image(&d, "a.img");
    let mut data = std::fs::read(&img).unwrap();
    let mut sb = Superblock::read_from_prefix(&data[..]).unwrap().0;
    sb.hnsw_ef_search.set(0xffff_ffff);
    sb.seal();
    data[..std::mem::size_of::<Superblock>()].copy_from_slice(sb.as_bytes());
    std::fs::write(&img, &data).unwrap();
    for mode in ["-n", "-y", "-p"] {
        let (code, out) = fsck(&[mode, &img]);
        assert_eq!(code, 8, "{}: {}", mode, out);
        assert!(
            out.contains("hnsw_ef_search is 4294967295, must be 1..=8192"),
            "{}: {}",
            mode,
            out
        );
    }
    assert!(std::fs::read(&img).unwrap() == data, "fsck wrote");
}
