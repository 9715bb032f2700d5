//! vexfs-fuse mounted for real on /dev/fuse: every POSIX operation and its
//! errnos, orphans, a crash after fsync, signals, read-only and busy
//! images, vectors through vexctl, and images shared with the core as the
//! kernel module uses it. Each test prints why and skips when FUSE cannot
//! be mounted here (no /dev/fuse, no privilege).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use vexfs_core::dev::FileDevice;
use vexfs_core::Fs;

const FUSE_BIN: &str = env!("CARGO_BIN_EXE_vexfs-fuse");
const VEXCTL: &str = env!("CARGO_BIN_EXE_vexctl");

fn mkfs(img: &Path, dim: u32) {
    let f = File::create(img).unwrap();
    f.set_len(64 << 20).unwrap();
    let mut args = vec!["-q".to_string()];
    if dim > 0 {
        args.extend([
            "--dim".into(),
            dim.to_string(),
            "--metric".into(),
            "l2".into(),
        ]);
    }
    args.push(img.to_str().unwrap().into());
    let o = Command::new(env!("CARGO_BIN_EXE_mkfs-vexfs"))
        .args(&args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn fsck_clean(img: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_fsck-vexfs"))
        .args(["-n", img.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "fsck -n: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn is_mounted(mp: &Path) -> bool {
    let m = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let want = mp.to_str().unwrap();
    m.lines().any(|l| l.split_whitespace().nth(1) == Some(want))
}

/// One vexfs-fuse daemon on an image.
struct Mount {
    mp: PathBuf,
    child: Option<Child>,
}

/// Why FUSE cannot be used here, if it cannot.
fn fuse_unusable() -> Option<String> {
    if !Path::new("/dev/fuse").exists() {
        return Some("no /dev/fuse".into());
    }
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let fusermount = ["fusermount3", "fusermount"].iter().any(|b| {
        Command::new(b)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    });
    if !root && !fusermount {
        return Some("not root and no fusermount3 (apt install fuse3)".into());
    }
    None
}

macro_rules! need_fuse {
    () => {
        if let Some(why) = fuse_unusable() {
            eprintln!("SKIP: FUSE cannot be mounted here: {}", why);
            return;
        }
    };
}

impl Mount {
    fn start(img: &Path, mp: &Path, opts: &[&str]) -> Result<Mount, (Option<i32>, String)> {
        fs::create_dir_all(mp).unwrap();
        let mut cmd = Command::new(FUSE_BIN);
        for o in opts {
            cmd.args(["-o", o]);
        }
        let mut child = cmd
            .arg(img)
            .arg(mp)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(20) {
            if is_mounted(mp) {
                return Ok(Mount {
                    mp: mp.into(),
                    child: Some(child),
                });
            }
            if let Some(st) = child.try_wait().unwrap() {
                let mut e = String::new();
                child.stderr.take().unwrap().read_to_string(&mut e).unwrap();
                return Err((st.code(), e));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        Err((None, "timed out waiting for the mount".into()))
    }

    fn new(img: &Path, mp: &Path, opts: &[&str]) -> Mount {
        match Mount::start(img, mp, opts) {
            Ok(m) => m,
            Err((c, e)) => panic!("vexfs-fuse failed ({:?}): {}", c, e),
        }
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.mp.join(rel)
    }

    /// umount(2) and wait for the daemon: its exit status and stderr.
    fn unmount(mut self) -> (Option<i32>, String) {
        let c = CString::new(self.mp.as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        let r = unsafe { libc::umount2(c.as_ptr(), 0) };
        assert_eq!(r, 0, "umount: {}", std::io::Error::last_os_error());
        self.wait()
    }

    fn wait(&mut self) -> (Option<i32>, String) {
        let mut child = self.child.take().unwrap();
        let t = Instant::now();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                let mut e = String::new();
                child.stderr.take().unwrap().read_to_string(&mut e).unwrap();
                return (st.code(), e);
            }
            assert!(t.elapsed() < Duration::from_secs(30), "daemon did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&mut self, sig: i32) {
        let pid = self.child.as_ref().unwrap().id() as i32;
        // SAFETY: kill of our own child.
        unsafe { libc::kill(pid, sig) };
    }

    /// kill -9 the daemon; the dead mount is detached.
    fn crash(mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.take().unwrap().wait();
        let c = CString::new(self.mp.as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if self.child.is_some() {
            let c = CString::new(self.mp.as_os_str().as_bytes()).unwrap();
            // SAFETY: a NUL-terminated path.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
            if let Some(mut ch) = self.child.take() {
                let _ = ch.kill();
                let _ = ch.wait();
            }
        }
    }
}

fn setup(dim: u32) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let img = d.path().join("img");
    mkfs(&img, dim);
    let mp = d.path().join("mnt");
    (d, img, mp)
}

fn errno_of<T>(r: std::io::Result<T>) -> i32 {
    match r {
        Ok(_) => 0,
        Err(e) => e.raw_os_error().unwrap_or(-1),
    }
}

fn cpath(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

fn sys(r: i32) -> i32 {
    if r == 0 {
        0
    } else {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(-1)
    }
}

fn renameat2(a: &Path, b: &Path, flags: u32) -> i32 {
    let (a, b) = (cpath(a), cpath(b));
    // SAFETY: NUL-terminated paths.
    sys(unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            flags,
        )
    })
}

fn mknod(p: &Path, mode: u32, dev: u64) -> i32 {
    let c = cpath(p);
    // SAFETY: a NUL-terminated path.
    sys(unsafe { libc::mknod(c.as_ptr(), mode, dev) })
}

#[test]
fn posix_operations_and_errnos() {
    need_fuse!();
    let (_d, img, mp) = setup(0);
    let m = Mount::new(&img, &mp, &[]);

    // files: create, write, read, append, truncate both ways
    fs::write(m.p("a"), b"hello").unwrap();
    assert_eq!(fs::read(m.p("a")).unwrap(), b"hello");
    OpenOptions::new()
        .append(true)
        .open(m.p("a"))
        .unwrap()
        .write_all(b" world")
        .unwrap();
    assert_eq!(fs::read(m.p("a")).unwrap(), b"hello world");
    let f = OpenOptions::new().write(true).open(m.p("a")).unwrap();
    f.set_len(5).unwrap();
    f.set_len(9000).unwrap();
    drop(f);
    let data = fs::read(m.p("a")).unwrap();
    assert_eq!(data.len(), 9000);
    assert_eq!(&data[..5], b"hello");
    assert!(data[5..].iter().all(|&b| b == 0), "extension reads zeros");
    // a sparse write past the end, read back at an offset
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(m.p("a"))
        .unwrap();
    f.seek(SeekFrom::Start(1 << 20)).unwrap();
    f.write_all(b"far").unwrap();
    f.seek(SeekFrom::Start((1 << 20) - 2)).unwrap();
    let mut b = [0u8; 5];
    f.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"\0\0far");
    f.sync_all().unwrap();
    f.sync_data().unwrap();
    drop(f);
    assert_eq!(fs::metadata(m.p("a")).unwrap().len(), (1 << 20) + 3);

    // attributes: chmod, chown, utimens with UTIME_NOW and UTIME_OMIT
    fs::set_permissions(m.p("a"), fs::Permissions::from_mode(0o4751)).unwrap();
    assert_eq!(fs::metadata(m.p("a")).unwrap().mode() & 0o7777, 0o4751);
    std::os::unix::fs::chown(m.p("a"), Some(1234), Some(5678)).unwrap();
    let md = fs::metadata(m.p("a")).unwrap();
    assert_eq!((md.uid(), md.gid()), (1234, 5678));
    let c = cpath(&m.p("a"));
    let ts = [
        libc::timespec {
            tv_sec: 1_000_000,
            tv_nsec: 5,
        },
        libc::timespec {
            tv_sec: 2_000_000,
            tv_nsec: 7,
        },
    ];
    // SAFETY: a path and two timespecs.
    assert_eq!(
        sys(unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), ts.as_ptr(), 0) }),
        0
    );
    let md = fs::metadata(m.p("a")).unwrap();
    assert_eq!((md.atime(), md.atime_nsec()), (1_000_000, 5));
    assert_eq!((md.mtime(), md.mtime_nsec()), (2_000_000, 7));
    let ts = [
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_NOW,
        },
    ];
    // SAFETY: as above.
    assert_eq!(
        sys(unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), ts.as_ptr(), 0) }),
        0
    );
    let md = fs::metadata(m.p("a")).unwrap();
    assert_eq!(md.atime(), 1_000_000, "UTIME_OMIT keeps atime");
    assert!(md.mtime() > 1_700_000_000, "UTIME_NOW sets mtime");

    // directories and their errnos
    fs::create_dir(m.p("d")).unwrap();
    fs::create_dir(m.p("d/e")).unwrap();
    assert_eq!(fs::metadata(m.p("d")).unwrap().nlink(), 3);
    assert_eq!(errno_of(fs::create_dir(m.p("d"))), libc::EEXIST);
    assert_eq!(errno_of(fs::remove_dir(m.p("d"))), libc::ENOTEMPTY);
    assert_eq!(errno_of(fs::remove_file(m.p("d"))), libc::EISDIR);
    assert_eq!(errno_of(fs::remove_dir(m.p("a"))), libc::ENOTDIR);
    assert_eq!(errno_of(fs::metadata(m.p("a/x"))), libc::ENOTDIR);
    assert_eq!(errno_of(fs::metadata(m.p("nope"))), libc::ENOENT);
    assert_eq!(errno_of(fs::remove_file(m.p("nope"))), libc::ENOENT);
    let long = "n".repeat(256);
    assert_eq!(errno_of(fs::write(m.p(&long), b"")), libc::ENAMETOOLONG);
    let ok = "n".repeat(255);
    fs::write(m.p(&ok), b"x").unwrap();
    fs::remove_file(m.p(&ok)).unwrap();
    assert_eq!(
        errno_of(
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(m.p("a"))
        ),
        libc::EEXIST
    );

    // links
    fs::hard_link(m.p("a"), m.p("d/a2")).unwrap();
    assert_eq!(fs::metadata(m.p("a")).unwrap().nlink(), 2);
    assert_eq!(
        fs::metadata(m.p("a")).unwrap().ino(),
        fs::metadata(m.p("d/a2")).unwrap().ino()
    );
    assert_eq!(errno_of(fs::hard_link(m.p("d"), m.p("dlink"))), libc::EPERM);
    fs::remove_file(m.p("d/a2")).unwrap();
    assert_eq!(fs::metadata(m.p("a")).unwrap().nlink(), 1);

    // symlinks: the target exactly, the size without the NUL
    std::os::unix::fs::symlink("/some/where/else", m.p("sl")).unwrap();
    assert_eq!(
        fs::read_link(m.p("sl")).unwrap(),
        Path::new("/some/where/else")
    );
    assert_eq!(fs::symlink_metadata(m.p("sl")).unwrap().len(), 16);
    let t4095 = "t".repeat(4095);
    std::os::unix::fs::symlink(&t4095, m.p("sl2")).unwrap();
    assert_eq!(fs::read_link(m.p("sl2")).unwrap(), Path::new(&t4095));
    let t4096 = "t".repeat(4096);
    assert_eq!(
        errno_of(std::os::unix::fs::symlink(&t4096, m.p("sl3"))),
        libc::ENAMETOOLONG
    );

    // special files
    assert_eq!(mknod(&m.p("fifo"), libc::S_IFIFO | 0o644, 0), 0);
    assert_eq!(mknod(&m.p("sock"), libc::S_IFSOCK | 0o644, 0), 0);
    assert_eq!(
        mknod(&m.p("chr"), libc::S_IFCHR | 0o600, libc::makedev(1, 3)),
        0
    );
    assert_eq!(
        mknod(&m.p("blk"), libc::S_IFBLK | 0o600, libc::makedev(7, 9)),
        0
    );
    assert!(fs::metadata(m.p("fifo")).unwrap().file_type().is_fifo());
    assert!(fs::metadata(m.p("sock")).unwrap().file_type().is_socket());
    let chr = fs::metadata(m.p("chr")).unwrap();
    assert!(chr.file_type().is_char_device());
    assert_eq!(chr.rdev(), libc::makedev(1, 3));
    assert_eq!(
        fs::metadata(m.p("blk")).unwrap().rdev(),
        libc::makedev(7, 9)
    );

    // rename: replace, NOREPLACE, EXCHANGE, into its own subtree, over a non-empty dir
    fs::write(m.p("r1"), b"one").unwrap();
    fs::write(m.p("r2"), b"two").unwrap();
    assert_eq!(
        renameat2(&m.p("r1"), &m.p("r2"), libc::RENAME_NOREPLACE),
        libc::EEXIST
    );
    assert_eq!(renameat2(&m.p("r1"), &m.p("r2"), libc::RENAME_EXCHANGE), 0);
    assert_eq!(fs::read(m.p("r1")).unwrap(), b"two");
    assert_eq!(fs::read(m.p("r2")).unwrap(), b"one");
    assert_eq!(
        renameat2(
            &m.p("r1"),
            &m.p("r2"),
            libc::RENAME_EXCHANGE | libc::RENAME_NOREPLACE
        ),
        libc::EINVAL
    );
    assert_eq!(
        renameat2(&m.p("r1"), &m.p("r3"), libc::RENAME_WHITEOUT),
        libc::EINVAL
    );
    fs::rename(m.p("r1"), m.p("r2")).unwrap();
    assert_eq!(fs::read(m.p("r2")).unwrap(), b"two");
    assert_eq!(errno_of(fs::metadata(m.p("r1"))), libc::ENOENT);
    fs::rename(m.p("r2"), m.p("d/e/r")).unwrap();
    assert_eq!(errno_of(fs::rename(m.p("d"), m.p("d/e/sub"))), libc::EINVAL);
    fs::create_dir(m.p("x")).unwrap();
    assert_eq!(errno_of(fs::rename(m.p("x"), m.p("d"))), libc::ENOTEMPTY);
    fs::rename(m.p("x"), m.p("d/e/x")).unwrap();
    assert_eq!(fs::metadata(m.p("d/e")).unwrap().nlink(), 3);

    // readdir: every name once, offsets stable while entries go
    fs::create_dir(m.p("many")).unwrap();
    for i in 0..300 {
        fs::write(m.p(&format!("many/f{:03}", i)), b"").unwrap();
    }
    let mut names: Vec<String> = fs::read_dir(m.p("many"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 300);
    assert_eq!(names[0], "f000");
    // telldir/seekdir: the position of an entry still leads to the same next entries
    let dc = cpath(&m.p("many"));
    // SAFETY: opendir/readdir/telldir/seekdir/closedir on a stream we own.
    unsafe {
        let dir = libc::opendir(dc.as_ptr());
        assert!(!dir.is_null());
        let mut seen = Vec::new();
        let mut pos_at_100 = 0;
        let mut removed = 0;
        loop {
            if seen.len() == 100 {
                pos_at_100 = libc::telldir(dir);
            }
            let e = libc::readdir(dir);
            if e.is_null() {
                break;
            }
            let n = std::ffi::CStr::from_ptr((*e).d_name.as_ptr())
                .to_string_lossy()
                .into_owned();
            seen.push(n);
        }
        assert_eq!(seen.len(), 302, "300 names and . and ..");
        // remove some entries before the position: the rest is unchanged
        for n in seen.iter().take(60).filter(|n| n.starts_with('f')) {
            fs::remove_file(m.p(&format!("many/{}", n))).unwrap();
            removed += 1;
        }
        libc::seekdir(dir, pos_at_100);
        let e = libc::readdir(dir);
        assert!(!e.is_null());
        let n = std::ffi::CStr::from_ptr((*e).d_name.as_ptr()).to_string_lossy();
        assert_eq!(n, seen[100]);
        libc::closedir(dir);
        assert_eq!(fs::read_dir(m.p("many")).unwrap().count(), 300 - removed);
    }

    // statfs and access
    // SAFETY: statvfs into a zeroed struct.
    let mut sv: libc::statvfs = unsafe { std::mem::zeroed() };
    let c = cpath(&mp);
    // SAFETY: as above.
    assert_eq!(sys(unsafe { libc::statvfs(c.as_ptr(), &mut sv) }), 0);
    assert_eq!(sv.f_bsize, 4096);
    assert_eq!(sv.f_namemax, 255);
    assert!(sv.f_bfree > 0 && sv.f_bfree < sv.f_blocks);
    assert!(sv.f_ffree > 0 && sv.f_ffree < sv.f_files);
    let c = cpath(&m.p("a"));
    // SAFETY: access on a path.
    assert_eq!(sys(unsafe { libc::access(c.as_ptr(), libc::R_OK) }), 0);

    let (code, err) = m.unmount();
    assert_eq!(code, Some(0), "{}", err);
    fsck_clean(&img);

    // everything is there after a remount
    let m = Mount::new(&img, &mp, &[]);
    assert_eq!(fs::read(m.p("d/e/r")).unwrap(), b"two");
    assert_eq!(
        fs::read_link(m.p("sl")).unwrap(),
        Path::new("/some/where/else")
    );
    assert_eq!(fs::read_dir(m.p("many")).unwrap().count(), 242);
    let (code, err) = m.unmount();
    assert_eq!(code, Some(0), "{}", err);
    fsck_clean(&img);
}

fn free_inodes(mp: &Path) -> u64 {
    // SAFETY: statvfs into a zeroed struct.
    let mut sv: libc::statvfs = unsafe { std::mem::zeroed() };
    let c = cpath(mp);
    // SAFETY: as above.
    assert_eq!(sys(unsafe { libc::statvfs(c.as_ptr(), &mut sv) }), 0);
    sv.f_ffree
}

#[test]
fn unlinked_open_file_lives_until_close() {
    need_fuse!();
    let (_d, img, mp) = setup(0);
    let m = Mount::new(&img, &mp, &[]);
    let before = free_inodes(&mp);
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(m.p("orphan"))
        .unwrap();
    fs::remove_file(m.p("orphan")).unwrap();
    assert_eq!(errno_of(fs::metadata(m.p("orphan"))), libc::ENOENT);
    f.write_all(&vec![7u8; 100_000]).unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    let mut back = Vec::new();
    f.read_to_end(&mut back).unwrap();
    assert_eq!(back.len(), 100_000);
    assert_eq!(free_inodes(&mp), before - 1, "still allocated while open");
    drop(f);
    let t = Instant::now();
    while free_inodes(&mp) != before && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(free_inodes(&mp), before, "freed at the last close");
    let (code, err) = m.unmount();
    assert_eq!(code, Some(0), "{}", err);
    fsck_clean(&img);

    // open + unlink + fsync, then the daemon dies: the next mount frees it
    let m = Mount::new(&img, &mp, &[]);
    let mut f = File::create(m.p("o2")).unwrap();
    f.write_all(b"doomed").unwrap();
    fs::remove_file(m.p("o2")).unwrap();
    f.sync_all().unwrap();
    m.crash();
    drop(f);
    let m = Mount::new(&img, &mp, &[]);
    assert_eq!(free_inodes(&mp), before);
    let (code, err) = m.unmount();
    assert_eq!(code, Some(0), "{}", err);
    fsck_clean(&img);
}

#[test]
fn fsynced_data_survives_kill_9() {
    need_fuse!();
    let (_d, img, mp) = setup(0);
    let m = Mount::new(&img, &mp, &[]);
    fs::create_dir(m.p("dir")).unwrap();
    let mut f = File::create(m.p("dir/kept")).unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    f.write_all(&data).unwrap();
    f.sync_all().unwrap();
    // written after the fsync and not synced: may or may not be there
    fs::write(m.p("dir/maybe"), b"later").unwrap();
    m.crash();
    let m = Mount::new(&img, &mp, &[]);
    assert_eq!(fs::read(m.p("dir/kept")).unwrap(), data);
    let (code, err) = m.unmount();
    assert_eq!(code, Some(0), "{}", err);
    fsck_clean(&img);
}

#[test]
fn periodic_commit_makes_changes_durable() {
    need_fuse!();
    let (_d, img, mp) = setup(0);
    let m = Mount::new(&img, &mp, &[]);
    fs::write(m.p("committed"), b"by the timer").unwrap();
    std::thread::sleep(Duration::from_millis(6500));
    m.crash();
    let m = Mount::new(&img, &mp, &[]);
    assert_eq!(fs::read(m.p("committed")).unwrap(), b"by the timer");
    let (code, err) = m.unmount();
    assert_eq!(code, Some(0), "{}", err);
    fsck_clean(&img);
}

#[test]
fn sigterm_and_sigint_unmount_cleanly() {
    need_fuse!();
    let (_d, img, mp) = setup(0);
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let mut m = Mount::new(&img, &mp, &[]);
        fs::write(m.p(&format!("f{}", sig)), b"x").unwrap();
        // a file kept open does not stop it (lazy unmount)
        let held = File::open(m.p(&format!("f{}", sig))).unwrap();
        m.signal(sig);
        std::thread::sleep(Duration::from_millis(300));
        assert!(!is_mounted(&mp), "detached at once");
        drop(held);
        let (code, err) = m.wait();
        assert_eq!(code, Some(0), "signal {}: {}", sig, err);
        assert!(!is_mounted(&mp));
        fsck_clean(&img);
    }
    // nothing to replay: the core's own mount finds both files
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&img)
        .unwrap();
    let len = f.metadata().unwrap().len();
    let mut fs = Fs::mount(FileDevice::new(f, len), true).unwrap();
    fs.lookup(1, format!("f{}", libc::SIGTERM).as_bytes())
        .unwrap();
    fs.lookup(1, format!("f{}", libc::SIGINT).as_bytes())
        .unwrap();
}

#[test]
fn read_only_mount_and_busy_image() {
    need_fuse!();
    let (_d, img, mp) = setup(0);
    let m = Mount::new(&img, &mp, &[]);
    fs::write(m.p("f"), b"data").unwrap();
    // the image is in use: a second daemon refuses it, exit 16
    let mp2 = mp.with_file_name("mnt2");
    match Mount::start(&img, &mp2, &[]) {
        Ok(_) => panic!("a busy image was mounted twice"),
        Err((code, e)) => {
            assert_eq!(code, Some(16), "{}", e);
            assert!(e.contains("in use"), "{}", e);
        }
    }
    let (code, err) = m.unmount();
    assert_eq!(code, Some(0), "{}", err);

    let m = Mount::new(&img, &mp, &["ro"]);
    assert_eq!(fs::read(m.p("f")).unwrap(), b"data");
    assert_eq!(errno_of(fs::write(m.p("g"), b"")), libc::EROFS);
    assert_eq!(errno_of(fs::remove_file(m.p("f"))), libc::EROFS);
    assert_eq!(
        errno_of(OpenOptions::new().write(true).open(m.p("f"))),
        libc::EROFS
    );
    let (code, err) = m.unmount();
    assert_eq!(code, Some(0), "{}", err);
    fsck_clean(&img);

    // bad usage, a missing image
    let o = Command::new(FUSE_BIN)
        .args(["-o", "bogus", img.to_str().unwrap(), mp.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = Command::new(FUSE_BIN)
        .args(["/nonexistent/img", mp.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(32));
}

fn vexctl(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(VEXCTL).args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn vectors_through_vexctl_on_fuse() {
    need_fuse!();
    let (_d, img, mp) = setup(4);
    let m = Mount::new(&img, &mp, &["allow_other"]);
    fs::create_dir_all(m.p("kb/sub")).unwrap();
    for i in 0..5 {
        let p = m.p(&format!("kb/f{}", i));
        fs::write(&p, format!("file {}", i)).unwrap();
        let (c, _, e) = vexctl(&[
            "set",
            "--vector",
            &format!("{},0,0,0", i),
            p.to_str().unwrap(),
        ]);
        assert_eq!(c, 0, "{}", e);
    }
    let deep = m.p("kb/sub/deep");
    fs::write(&deep, b"deep").unwrap();
    assert_eq!(
        vexctl(&["set", "--vector", "2.2,0,0,0", deep.to_str().unwrap()]).0,
        0
    );
    let (c, out, e) = vexctl(&["get", m.p("kb/f3").to_str().unwrap()]);
    assert_eq!(c, 0, "{}", e);
    assert_eq!(out.trim(), "3,0,0,0");
    // errnos as the module gives them
    let (c, _, e) = vexctl(&["set", "--vector", "1,2,3", m.p("kb/f1").to_str().unwrap()]);
    assert_ne!(c, 0);
    assert!(
        e.contains("dimension") || e.contains("Message too long"),
        "{}",
        e
    );
    let (c, _, e) = vexctl(&["set", "--vector", "1,0,0,0", m.p("kb").to_str().unwrap()]);
    assert_ne!(c, 0);
    assert!(e.contains("directory"), "{}", e);

    // search with paths, the whole tree and a subtree
    let (c, out, e) = vexctl(&[
        "search",
        "--vector",
        "2,0,0,0",
        "-k",
        "3",
        mp.to_str().unwrap(),
    ]);
    assert_eq!(c, 0, "{}", e);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out);
    assert!(lines[0].ends_with("kb/f2"), "{}", out);
    assert!(lines[1].ends_with("kb/sub/deep"), "{}", out);
    let (c, out, e) = vexctl(&[
        "search",
        "--vector",
        "2,0,0,0",
        "-k",
        "10",
        "--exact",
        "--format",
        "json",
        m.p("kb/sub").to_str().unwrap(),
    ]);
    assert_eq!(c, 0, "{}", e);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert!(
        v[0]["path"].as_str().unwrap().ends_with("sub/deep"),
        "{}",
        out
    );

    // permissions: another user does not see a private subtree's hits
    fs::set_permissions(m.p("kb/sub"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(m.p("kb/f2"), fs::Permissions::from_mode(0o600)).unwrap();
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", VEXCTL])
        .args([
            "search",
            "--vector",
            "2,0,0,0",
            "-k",
            "3",
            mp.to_str().unwrap(),
        ])
        .output();
    match o {
        Ok(o) if o.status.success() => {
            let out = String::from_utf8_lossy(&o.stdout);
            assert!(!out.contains("deep") && !out.contains("kb/f2\n"), "{}", out);
            assert_eq!(out.lines().count(), 3, "{}", out);
        }
        Ok(o) => panic!("search as nobody: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => eprintln!("setpriv not available ({}): permission part skipped", e),
    }

    // remove, import (the batch falls back to one fixed request per file)
    assert_eq!(vexctl(&["rm", m.p("kb/f4").to_str().unwrap()]).0, 0);
    let (c, _, e) = vexctl(&["get", m.p("kb/f4").to_str().unwrap()]);
    assert_ne!(c, 0);
    assert!(e.contains("no vector"), "{}", e);
    let vf = mp.with_file_name("v.json");
    fs::write(&vf, "[[9,9,9,9],[8,8,8,8]]").unwrap();
    fs::create_dir(m.p("imp")).unwrap();
    let (c, _, e) = vexctl(&["import", m.p("imp").to_str().unwrap(), vf.to_str().unwrap()]);
    assert_eq!(c, 0, "{}", e);
    let (c, out, e) = vexctl(&[
        "search",
        "--vector",
        "9,9,9,9",
        "-k",
        "1",
        m.p("imp").to_str().unwrap(),
    ]);
    assert_eq!(c, 0, "{}", e);
    assert_eq!(out.lines().count(), 1, "{}", out);
    let (c, out, _) = vexctl(&["info", mp.to_str().unwrap()]);
    assert_eq!(c, 0);
    assert!(out.contains("vectors:") && out.contains(" 7"), "{}", out);

    let (code, err) = m.unmount();
    assert_eq!(code, Some(0), "{}", err);
    fsck_clean(&img);
}

/// The host half of the interchange test: an image written through
/// vexfs-fuse is read by the core as the module drives it (and fsck'd),
/// changed there, and the changes are seen through vexfs-fuse again.
/// (tests/vm/cases/33-fuse-image.sh does the same with the real module.)
#[test]
fn images_written_by_fuse_and_by_the_core_are_the_same() {
    need_fuse!();
    let (_d, img, mp) = setup(4);
    let m = Mount::new(&img, &mp, &[]);
    fs::create_dir(m.p("docs")).unwrap();
    fs::write(m.p("docs/one"), b"first").unwrap();
    std::os::unix::fs::symlink("one", m.p("docs/link")).unwrap();
    assert_eq!(
        vexctl(&[
            "set",
            "--vector",
            "1,2,3,4",
            m.p("docs/one").to_str().unwrap()
        ])
        .0,
        0
    );
    let (code, err) = m.unmount();
    assert_eq!(code, Some(0), "{}", err);
    fsck_clean(&img);

    {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&img)
            .unwrap();
        let len = f.metadata().unwrap().len();
        let mut fs = Fs::mount(FileDevice::new(f, len), false).unwrap();
        let docs = fs.lookup(1, b"docs").unwrap();
        let one = fs.lookup(docs, b"one").unwrap();
        let mut b = [0u8; 16];
        let n = fs.read(one, 0, &mut b).unwrap();
        assert_eq!(&b[..n], b"first");
        assert_eq!(fs.vec_get(one).unwrap(), vec![1.0, 2.0, 3.0, 4.0]);
        let link = fs.lookup(docs, b"link").unwrap();
        let a = fs.getattr(link).unwrap();
        assert_eq!(a.size, 3);
        let n = fs.read(link, 0, &mut b).unwrap();
        assert_eq!(
            &b[..n],
            b"one",
            "page_symlink's layout: the size excludes the NUL"
        );
        let two = fs.create(docs, b"two", 0o100644, 0, 0, 0).unwrap();
        fs.write(two, 0, b"second").unwrap();
        fs.vec_set(two, &[4.0, 3.0, 2.0, 1.0]).unwrap();
        fs.vec_delete(one).unwrap();
        fs.unmount().1.unwrap();
    }
    fsck_clean(&img);

    let m = Mount::new(&img, &mp, &[]);
    assert_eq!(fs::read(m.p("docs/two")).unwrap(), b"second");
    let (c, out, _) = vexctl(&["get", m.p("docs/two").to_str().unwrap()]);
    assert_eq!((c, out.trim()), (0, "4,3,2,1"));
    assert_ne!(vexctl(&["get", m.p("docs/one").to_str().unwrap()]).0, 0);
    let (code, err) = m.unmount();
    assert_eq!(code, Some(0), "{}", err);
    fsck_clean(&img);
}
