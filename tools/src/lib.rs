//! Shared helpers of the VexFS userspace tools: opening devices and images,
//! sizing them, and recognising what is already on them.

pub mod fuse;
pub mod fuse_ioctl;
pub mod ioctl;
pub mod uapi;
pub mod vecfile;

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// An opened target: an image file or a block device.
pub struct Target {
    pub file: File,
    pub bytes: u64,
    pub is_blockdev: bool,
}

const BLKGETSIZE64: libc::c_ulong = 0x8008_1272;

/// Open `path` for read/write. Block devices are opened O_EXCL, which the
/// kernel refuses (EBUSY) while they are mounted or otherwise claimed.
pub fn open_target(path: &Path, write: bool) -> io::Result<Target> {
    let meta = std::fs::metadata(path)?;
    let is_blockdev = meta.file_type().is_block_device();
    let mut opts = OpenOptions::new();
    opts.read(true).write(write);
    if is_blockdev && write {
        opts.custom_flags(libc::O_EXCL);
    }
    let file = opts.open(path)?;
    let bytes = if is_blockdev {
        let mut size: u64 = 0;
        // SAFETY: BLKGETSIZE64 writes one u64 to the pointer we pass.
        let r = unsafe {
            libc::ioctl(
                std::os::fd::AsRawFd::as_raw_fd(&file),
                BLKGETSIZE64,
                &mut size,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        size
    } else {
        meta.len()
    };
    Ok(Target {
        file,
        bytes,
        is_blockdev,
    })
}

/// Where `path` is mounted, if anywhere (from /proc/self/mounts).
pub fn mounted_at(path: &Path) -> Option<PathBuf> {
    let want = std::fs::canonicalize(path).ok()?;
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    for line in mounts.lines() {
        let mut it = line.split_whitespace();
        let (Some(src), Some(dst)) = (it.next(), it.next()) else {
            continue;
        };
        if src.starts_with('/') && std::fs::canonicalize(src).ok().as_ref() == Some(&want) {
            return Some(PathBuf::from(dst));
        }
    }
    None
}

/// Name of a filesystem or partition table signature found in `head`
/// (the first 68 KiB of the device), as blkid would call it.
pub fn detect_signature(head: &[u8]) -> Option<&'static str> {
    let at = |off: usize, sig: &[u8]| head.get(off..off + sig.len()) == Some(sig);
    if at(0, b"VEXFSv1\0") {
        return Some("vexfs");
    }
    if at(1080, &[0x53, 0xef]) {
        return Some("ext2/ext3/ext4");
    }
    if at(0, b"XFSB") {
        return Some("xfs");
    }
    if at(65600, b"_BHRfS_M") {
        return Some("btrfs");
    }
    if at(4086, b"SWAPSPACE2") || at(4086, b"SWAP-SPACE") {
        return Some("swap");
    }
    if at(512, b"EFI PART") {
        return Some("gpt partition table");
    }
    if at(3, b"MSDOS") || at(3, b"mkfs.fat") || at(54, b"FAT") || at(82, b"FAT32") {
        return Some("vfat");
    }
    if at(510, &[0x55, 0xaa])
        && head
            .get(446..510)
            .is_some_and(|p| p.iter().any(|&b| b != 0))
    {
        return Some("dos partition table");
    }
    None
}

/// Human-readable size, as mke2fs prints it.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{:.1} {}", v, UNITS.get(u).copied().unwrap_or("B"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures() {
        let mut h = vec![0u8; 70000];
        assert_eq!(detect_signature(&h), None);
        h[1080] = 0x53;
        h[1081] = 0xef;
        assert_eq!(detect_signature(&h), Some("ext2/ext3/ext4"));
        h[..8].copy_from_slice(b"VEXFSv1\0");
        assert_eq!(detect_signature(&h), Some("vexfs"));
    }
}
