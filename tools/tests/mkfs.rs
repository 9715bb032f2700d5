//! mkfs.vexfs as a user runs it: on image files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::Command;
use vexfs_core::dev::FileDevice;
use vexfs_core::Fs;

fn mkfs(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mkfs-vexfs"))
        .args(args)
        .output()
        .expect("run mkfs")
}

fn image(dir: &tempfile::TempDir, name: &str, bytes: u64) -> String {
    let p = dir.path().join(name);
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(bytes).unwrap();
    p.to_string_lossy().into_owned()
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

#[test]
fn formats_with_label_and_inode_count() {
    let d = tempfile::tempdir().unwrap();
    let img = image(&d, "a.img", 64 << 20);
    let out = mkfs(&["-L", "mylabel", "-N", "1000", &img]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("16384 4k blocks"), "{}", text);
    let fs = mount(&img);
    assert_eq!(fs.sb.label_str(), "mylabel");
    assert_eq!(fs.sb.inode_count.get(), 1008);
}

#[test]
fn refuses_existing_signature_unless_forced() {
    let d = tempfile::tempdir().unwrap();
    let img = image(&d, "b.img", 16 << 20);
    assert!(mkfs(&["-q", &img]).status.success());
    let again = mkfs(&["-q", &img]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("contains a vexfs signature"));
    // An ext4 superblock magic is recognised too.
    let img2 = image(&d, "c.img", 16 << 20);
    let mut data = std::fs::read(&img2).unwrap();
    data[1080] = 0x53;
    data[1081] = 0xef;
    std::fs::write(&img2, &data).unwrap();
    let e = mkfs(&["-q", &img2]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("ext2/ext3/ext4"));
    assert!(mkfs(&["-q", "-f", &img2]).status.success());
    let fs = mount(&img2);
    assert_eq!(fs.sb.block_count.get(), 4096);
}

#[test]
fn dry_run_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let img = image(&d, "d.img", 16 << 20);
    let out = mkfs(&["-n", &img]);
    assert!(out.status.success());
    assert!(std::fs::read(&img).unwrap().iter().all(|&b| b == 0));
}

#[test]
fn too_small_and_missing_devices_fail_cleanly() {
    let d = tempfile::tempdir().unwrap();
    let img = image(&d, "e.img", 64 << 10);
    let out = mkfs(&[&img]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("too small"));
    let out = mkfs(&["/nonexistent/x.img"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open"));
}

#[test]
fn formats_a_256_gib_sparse_image_quickly_and_sparsely() {
    let d = tempfile::tempdir().unwrap();
    let img = image(&d, "big.img", 256 << 30);
    let out = mkfs(&["-q", &img]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    use std::os::unix::fs::MetadataExt;
    let allocated = std::fs::metadata(&img).unwrap().blocks() * 512;
    assert!(
        allocated < 64 << 20,
        "only metadata is written: {} bytes",
        allocated
    );
    let mut fs = mount(&img);
    assert_eq!(fs.sb.block_count.get(), 1 << 26);
    let f = fs.create(1, b"far", 0o100644, 0, 0, 0).unwrap();
    fs.write(f, 100 << 30, b"a block 100 GiB into the file")
        .unwrap();
    let mut b = [0u8; 29];
    fs.read(f, 100 << 30, &mut b).unwrap();
    assert_eq!(&b, b"a block 100 GiB into the file");
}

#[test]
fn vector_space_options() {
    let d = tempfile::tempdir().unwrap();
    let img = image(&d, "v.img", 64 << 20);
    let out = mkfs(&[
        "--dim",
        "384",
        "--metric",
        "cosine",
        "--max-vectors",
        "500",
        &img,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("dimension 384, metric cosine"));
    let fs = mount(&img);
    let info = fs.vec_info().unwrap();
    assert_eq!(
        (info.dim, info.metric, info.capacity, info.m),
        (384, 2, 500, 16)
    );
    let bad = mkfs(&["-f", "--dim", "2000", &img]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("out of range"));
    let bad = mkfs(&["-f", "--dim", "8", "--metric", "manhattan", &img]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown metric"));
    let bad = mkfs(&["-f", "--metric", "l2", &img]);
    assert_eq!(bad.status.code(), Some(2), "--metric needs --dim");
}
