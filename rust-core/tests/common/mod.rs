#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
use vexfs_core::dev::MemDevice;
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::Fs;

pub const ROOT: u64 = 1;
pub const REG: u32 = 0o100644;
pub const DIR: u32 = 0o040755;

pub fn fresh(blocks: u64) -> Fs<MemDevice> {
    fresh_with(blocks, 0)
}

pub fn fresh_with(blocks: u64, inodes: u64) -> Fs<MemDevice> {
    let mut dev = MemDevice::new(blocks);
    let opts = MkfsOptions {
        vectors: None,
        label: b"test".to_vec(),
        inodes,
        uuid: [7; 16],
        blocks: 0,
    };
    format(&mut dev, &opts).expect("format");
    Fs::mount(dev, false).expect("mount")
}

pub fn remount(fs: Fs<MemDevice>) -> Fs<MemDevice> {
    let (dev, r) = fs.unmount();
    r.expect("unmount");
    Fs::mount(dev, false).expect("remount")
}

pub fn fresh_vec(blocks: u64, dim: u32, metric: u32) -> Fs<MemDevice> {
    let mut dev = MemDevice::new(blocks);
    let opts = MkfsOptions {
        vectors: Some(vexfs_core::mkfs::VectorOptions::new(dim, metric)),
        label: Vec::new(),
        inodes: 0,
        uuid: [9; 16],
        blocks: 0,
    };
    format(&mut dev, &opts).expect("format");
    Fs::mount(dev, false).expect("mount")
}

/// Unmount, `fsck -n` (no errors, nothing fatal), mount again.
pub fn fsck_clean(fs: Fs<MemDevice>) -> Fs<MemDevice> {
    use vexfs_core::fsck::{check, Mode, Options};
    let (mut dev, r) = fs.unmount();
    r.expect("unmount");
    let rep = check(
        &mut dev,
        &Options {
            mode: Mode::No,
            verbose: false,
        },
    );
    assert!(
        rep.errors() == 0 && rep.fatal.is_none(),
        "{:?}",
        &rep.lines[..rep.lines.len().min(30)]
    );
    Fs::mount(dev, false).expect("mount after fsck")
}
