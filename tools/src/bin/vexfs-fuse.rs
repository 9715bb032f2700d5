//! vexfs-fuse [-o OPTIONS] IMAGE_OR_DEVICE MOUNTPOINT
//!
//! Mounts a VexFS image or device in userspace (FUSE, no libfuse) with the
//! same core as the kernel module. Runs in the foreground until the
//! filesystem is unmounted (`fusermount3 -u`, `umount`) or it gets SIGTERM,
//! SIGINT or SIGHUP (it then unmounts itself); either way the core is
//! unmounted cleanly (commit, checkpoint, clean superblock).
//!
//! Exit status: 0 clean unmount, 1 the unmount of the core failed,
//! 2 usage, 16 the device or image is in use (mounted elsewhere),
//! 32 the mount failed.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use fuser::MountOption;
use vexfs_core::dev::FileDevice;
use vexfs_core::Fs;
use vexfs_tools::fuse::{Shared, VexFuse};

const EXIT_UNMOUNT: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_BUSY: u8 = 16;
const EXIT_MOUNT: u8 = 32;

#[derive(Parser)]
#[command(
    name = "vexfs-fuse",
    about = "Mount a VexFS image or device in userspace (FUSE)"
)]
struct Args {
    /// Mount options, comma-separated: ro, rw, allow_other, allow_root,
    /// dev, nodev, suid, nosuid, exec, noexec, atime, noatime, sync, async,
    /// dirsync, fsname=NAME. default_permissions is always on.
    #[arg(short = 'o', value_name = "OPTIONS")]
    options: Vec<String>,
    /// Accepted for compatibility: vexfs-fuse always runs in the foreground.
    #[arg(short = 'f')]
    foreground: bool,
    /// The image file or block device.
    device: PathBuf,
    /// Where to mount it.
    mountpoint: PathBuf,
}

struct Opts {
    ro: bool,
    mount: Vec<MountOption>,
}

fn parse_opts(list: &[String], device: &Path) -> Result<Opts, String> {
    let mut ro = false;
    let mut mount = vec![MountOption::DefaultPermissions];
    let mut fsname = None;
    for o in list
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.is_empty())
    {
        let m = match o {
            "ro" => {
                ro = true;
                continue;
            }
            "rw" => {
                ro = false;
                continue;
            }
            "default_permissions" => continue,
            "allow_other" => MountOption::AllowOther,
            "allow_root" => MountOption::AllowRoot,
            "dev" => MountOption::Dev,
            "nodev" => MountOption::NoDev,
            "suid" => MountOption::Suid,
            "nosuid" => MountOption::NoSuid,
            "exec" => MountOption::Exec,
            "noexec" => MountOption::NoExec,
            "atime" => MountOption::Atime,
            "noatime" => MountOption::NoAtime,
            "sync" => MountOption::Sync,
            "async" => MountOption::Async,
            "dirsync" => MountOption::DirSync,
            _ => match o.strip_prefix("fsname=") {
                Some(n) => {
                    fsname = Some(n.to_owned());
                    continue;
                }
                None => return Err(format!("unknown mount option '{}'", o)),
            },
        };
        mount.push(m);
    }
    mount.push(MountOption::FSName(
        fsname.unwrap_or_else(|| device.display().to_string()),
    ));
    mount.push(MountOption::Subtype("vexfs".into()));
    Ok(Opts { ro, mount })
}

enum OpenErr {
    Busy(String),
    Other(String),
}

const BLKGETSIZE64: libc::c_ulong = 0x8008_1272;

/// A loop device backed by `path` that is mounted: the kernel module has
/// the image (flock cannot see that).
fn loop_mounted(path: &Path) -> Option<String> {
    let want = std::fs::canonicalize(path).ok()?;
    for e in std::fs::read_dir("/sys/block").ok()?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("loop") {
            continue;
        }
        let Ok(b) = std::fs::read_to_string(e.path().join("loop/backing_file")) else {
            continue;
        };
        if std::fs::canonicalize(b.trim()).ok().as_ref() == Some(&want) {
            let dev = PathBuf::from("/dev").join(&name);
            if let Some(at) = vexfs_tools::mounted_at(&dev) {
                return Some(format!("{} (through {})", at.display(), dev.display()));
            }
        }
    }
    None
}

/// Open the device exclusively, as the module's mount claims it: O_EXCL
/// for a block device (EBUSY while the kernel has it mounted), an
/// exclusive flock for an image file (another vexfs-fuse, mkfs or fsck).
fn open_exclusive(path: &Path, ro: bool) -> Result<(File, u64), OpenErr> {
    let other = |e: std::io::Error| OpenErr::Other(format!("{}: {}", path.display(), e));
    let meta = std::fs::metadata(path).map_err(other)?;
    let blockdev = meta.file_type().is_block_device();
    let mut o = OpenOptions::new();
    o.read(true).write(!ro);
    if blockdev {
        o.custom_flags(libc::O_EXCL);
    }
    let file = match o.open(path) {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
            let at = vexfs_tools::mounted_at(path)
                .map(|p| format!(": mounted on {}", p.display()))
                .unwrap_or_default();
            return Err(OpenErr::Busy(format!(
                "{} is in use{} (the kernel or another program has it open exclusively)",
                path.display(),
                at
            )));
        }
        Err(e) => return Err(other(e)),
    };
    let bytes = if blockdev {
        let mut size: u64 = 0;
        // SAFETY: BLKGETSIZE64 writes one u64 to the pointer passed.
        let r = unsafe { libc::ioctl(file.as_raw_fd(), BLKGETSIZE64, &mut size) };
        if r != 0 {
            return Err(other(std::io::Error::last_os_error()));
        }
        size
    } else {
        if let Some(at) = loop_mounted(path) {
            return Err(OpenErr::Busy(format!(
                "{} is mounted on {}",
                path.display(),
                at
            )));
        }
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(OpenErr::Busy(format!(
                    "{} is in use (locked by another vexfs-fuse or tool)",
                    path.display()
                )));
            }
            return Err(other(e));
        }
        meta.len()
    };
    Ok((file, bytes))
}

/// Block the termination signals in every thread; one thread waits for them.
fn block_signals() -> libc::sigset_t {
    // SAFETY: plain libc signal-set calls on a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGHUP);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// Unmount the FUSE mount at `mp`: the session loop then ends and the core
/// is unmounted. Busy (open files): lazily. Not root: through fusermount.
fn fuse_unmount(mp: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(mp.as_os_str().as_bytes()) else {
        return;
    };
    // SAFETY: umount2 with a NUL-terminated path.
    if unsafe { libc::umount2(c.as_ptr(), 0) } == 0 {
        return;
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EBUSY) {
        // SAFETY: as above.
        if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } == 0 {
            return;
        }
    }
    for bin in ["fusermount3", "fusermount"] {
        if std::process::Command::new(bin)
            .arg("-u")
            .arg("-z")
            .arg(mp)
            .status()
            .is_ok_and(|s| s.success())
        {
            return;
        }
    }
    eprintln!("vexfs-fuse: cannot unmount {}: {}", mp.display(), e);
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    let _ = args.foreground;
    let opts = match parse_opts(&args.options, &args.device) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("vexfs-fuse: {}", e);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mp = match std::fs::canonicalize(&args.mountpoint) {
        Ok(p) if p.is_dir() => p,
        Ok(p) => {
            eprintln!("vexfs-fuse: {}: not a directory", p.display());
            return ExitCode::from(EXIT_USAGE);
        }
        Err(e) => {
            eprintln!("vexfs-fuse: {}: {}", args.mountpoint.display(), e);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let (file, bytes) = match open_exclusive(&args.device, opts.ro) {
        Ok(x) => x,
        Err(OpenErr::Busy(m)) => {
            eprintln!("vexfs-fuse: {}", m);
            return ExitCode::from(EXIT_BUSY);
        }
        Err(OpenErr::Other(m)) => {
            eprintln!("vexfs-fuse: {}", m);
            return ExitCode::from(EXIT_MOUNT);
        }
    };
    // The core replays the journal even read-only (as ext4 does).
    let fs = match Fs::mount(FileDevice::new(file, bytes), opts.ro) {
        Ok(fs) => fs,
        Err(e) => {
            eprintln!("vexfs-fuse: cannot mount {}: {}", args.device.display(), e);
            return ExitCode::from(EXIT_MOUNT);
        }
    };
    let mut mount = opts.mount;
    if fs.read_only() {
        mount.push(MountOption::RO);
    }
    let sigs = block_signals();
    let shared = Shared::new(fs);

    let session = fuser::Session::new(VexFuse::new(Arc::clone(&shared)), &mp, &mount);
    let mut session = match session {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vexfs-fuse: cannot mount on {}: {}", mp.display(), e);
            let _ = shared.finish();
            return ExitCode::from(EXIT_MOUNT);
        }
    };

    let committer = {
        let s = Arc::clone(&shared);
        std::thread::spawn(move || s.commit_loop())
    };
    {
        let mp = mp.clone();
        std::thread::spawn(move || loop {
            let mut sig: libc::c_int = 0;
            // SAFETY: sigwait on the set blocked above.
            if unsafe { libc::sigwait(&sigs, &mut sig) } == 0 {
                fuse_unmount(&mp);
            }
        });
    }

    if let Err(e) = session.run() {
        eprintln!("vexfs-fuse: {}", e);
    }
    drop(session); // destroy: the core is unmounted
    let r = shared.finish();
    let _ = committer.join();
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "vexfs-fuse: unmount of {} failed: {}",
                args.device.display(),
                e
            );
            ExitCode::from(EXIT_UNMOUNT)
        }
    }
}
