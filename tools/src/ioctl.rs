//! The VexFS vector ioctls (ffi/include/vexfs_uapi.h): request numbers and
//! thin safe wrappers, plus what each errno means for VexFS.
//!
//! The request numbers are `_IOW`/`_IOWR`/`_IO` macros that bindgen cannot
//! evaluate, so they are computed here with the Linux `_IOC` encoding
//! (`dir << 30 | size << 16 | type << 8 | nr` on most architectures) from the
//! sizes of the bindgen-generated structs. tools/tests/vexctl.rs checks them
//! against the real macros compiled by the C compiler.

use crate::uapi::{
    vexfs_ioc_batch, vexfs_ioc_hit, vexfs_ioc_info, vexfs_ioc_path_fixed, vexfs_ioc_query,
    vexfs_ioc_query_fixed, vexfs_ioc_vector, vexfs_ioc_vector_fixed, VEXFS_FIXED_MAX_K,
    VEXFS_IOC_MAGIC, VEXFS_IOC_PATH_FIXED_SIZE, VEXFS_IOC_QUERY_FIXED_SIZE,
    VEXFS_IOC_VECTOR_FIXED_SIZE, VEXFS_MAX_BATCH, VEXFS_MAX_DIM, VEXFS_MAX_EF, VEXFS_MAX_K,
    VEXFS_METRIC_COSINE, VEXFS_METRIC_IP, VEXFS_METRIC_L2, VEXFS_QUERY_EXACT,
};
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, RawFd};

/// The `_IOC` bit layout (asm-generic/ioctl.h, or the arch's override).
#[cfg(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "mips32r6",
    target_arch = "mips64r6",
    target_arch = "sparc",
    target_arch = "sparc64"
))]
mod enc {
    pub const NONE: u32 = 1;
    pub const READ: u32 = 2;
    pub const WRITE: u32 = 4;
    pub const SIZEBITS: u32 = 13;
}
#[cfg(not(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "mips32r6",
    target_arch = "mips64r6",
    target_arch = "sparc",
    target_arch = "sparc64"
)))]
mod enc {
    pub const NONE: u32 = 0;
    pub const WRITE: u32 = 1;
    pub const READ: u32 = 2;
    pub const SIZEBITS: u32 = 14;
}

pub use enc::{NONE as IOC_NONE, READ as IOC_READ, WRITE as IOC_WRITE};

const IOC_NRSHIFT: u32 = 0;
const IOC_TYPESHIFT: u32 = 8;
const IOC_SIZESHIFT: u32 = 16;
const IOC_DIRSHIFT: u32 = IOC_SIZESHIFT + enc::SIZEBITS;

/// `_IOC(dir, type, nr, size)`. `size` must fit the size field: checked at
/// compile time for every request below.
pub const fn ioc(dir: u32, ty: u32, nr: u32, size: usize) -> u32 {
    (dir << IOC_DIRSHIFT)
        | ((size as u32) << IOC_SIZESHIFT)
        | (ty << IOC_TYPESHIFT)
        | (nr << IOC_NRSHIFT)
}

const fn fits(size: usize) -> usize {
    assert!(size < (1 << enc::SIZEBITS), "ioctl argument too large");
    size
}

/// `_IOW(VEXFS_IOC_MAGIC, 1, struct vexfs_ioc_vector)`
pub const VEXFS_IOC_SET_VECTOR: u32 = ioc(
    IOC_WRITE,
    VEXFS_IOC_MAGIC,
    1,
    fits(size_of::<vexfs_ioc_vector>()),
);
/// `_IOWR(VEXFS_IOC_MAGIC, 2, struct vexfs_ioc_vector)`
pub const VEXFS_IOC_GET_VECTOR: u32 = ioc(
    IOC_READ | IOC_WRITE,
    VEXFS_IOC_MAGIC,
    2,
    fits(size_of::<vexfs_ioc_vector>()),
);
/// `_IO(VEXFS_IOC_MAGIC, 3)`
pub const VEXFS_IOC_DEL_VECTOR: u32 = ioc(IOC_NONE, VEXFS_IOC_MAGIC, 3, 0);
/// `_IOWR(VEXFS_IOC_MAGIC, 4, struct vexfs_ioc_query)`
pub const VEXFS_IOC_QUERY: u32 = ioc(
    IOC_READ | IOC_WRITE,
    VEXFS_IOC_MAGIC,
    4,
    fits(size_of::<vexfs_ioc_query>()),
);
/// `_IOWR(VEXFS_IOC_MAGIC, 5, struct vexfs_ioc_batch)`
pub const VEXFS_IOC_BATCH_SET: u32 = ioc(
    IOC_READ | IOC_WRITE,
    VEXFS_IOC_MAGIC,
    5,
    fits(size_of::<vexfs_ioc_batch>()),
);
/// `_IOWR(VEXFS_IOC_MAGIC, 6, struct vexfs_ioc_info)`
pub const VEXFS_IOC_INFO: u32 = ioc(
    IOC_READ | IOC_WRITE,
    VEXFS_IOC_MAGIC,
    6,
    fits(size_of::<vexfs_ioc_info>()),
);

/// `_IOW(VEXFS_IOC_MAGIC, 7, struct vexfs_ioc_vector_fixed)`
pub const VEXFS_IOC_SET_FIXED: u32 = ioc(
    IOC_WRITE,
    VEXFS_IOC_MAGIC,
    7,
    fits(size_of::<vexfs_ioc_vector_fixed>()),
);
/// `_IOR(VEXFS_IOC_MAGIC, 8, struct vexfs_ioc_vector_fixed)`
pub const VEXFS_IOC_GET_FIXED: u32 = ioc(
    IOC_READ,
    VEXFS_IOC_MAGIC,
    8,
    fits(size_of::<vexfs_ioc_vector_fixed>()),
);
/// `_IOWR(VEXFS_IOC_MAGIC, 9, struct vexfs_ioc_query_fixed)`
pub const VEXFS_IOC_QUERY_FIXED: u32 = ioc(
    IOC_READ | IOC_WRITE,
    VEXFS_IOC_MAGIC,
    9,
    fits(size_of::<vexfs_ioc_query_fixed>()),
);
/// `_IOWR(VEXFS_IOC_MAGIC, 10, struct vexfs_ioc_path_fixed)`
pub const VEXFS_IOC_PATH_FIXED: u32 = ioc(
    IOC_READ | IOC_WRITE,
    VEXFS_IOC_MAGIC,
    10,
    fits(size_of::<vexfs_ioc_path_fixed>()),
);
const _: () = assert!(size_of::<vexfs_ioc_vector_fixed>() == VEXFS_IOC_VECTOR_FIXED_SIZE as usize);
const _: () = assert!(size_of::<vexfs_ioc_query_fixed>() == VEXFS_IOC_QUERY_FIXED_SIZE as usize);
const _: () = assert!(size_of::<vexfs_ioc_path_fixed>() == VEXFS_IOC_PATH_FIXED_SIZE as usize);

/// Whether a pointer request's error means "use the fixed-size one": FUSE
/// mounts (vexfs-fuse) answer the pointer requests with ENOTTY; EINVAL is
/// what a FUSE kernel without ioctl support for the node gives.
fn fall_back(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOTTY) | Some(libc::EINVAL))
}

/// `VEXCTL_FIXED=1`: use the fixed-size requests only (tests of the
/// module's fixed requests; what a FUSE mount is served with).
fn fixed_only() -> bool {
    std::env::var_os("VEXCTL_FIXED").is_some_and(|v| v == "1")
}

/// The pointer request's error as if it were not understood (VEXCTL_FIXED).
fn not_tried() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOTTY)
}

/// VEXFS_IOC_SET_FIXED: the vector inline.
pub fn set_vector_fixed(f: &impl AsRawFd, v: &[f32]) -> io::Result<()> {
    let mut arg = vexfs_ioc_vector_fixed {
        size: size_u32::<vexfs_ioc_vector_fixed>(),
        dim: u32::try_from(v.len()).map_err(|_| too_long("vector", v.len()))?,
        ..Default::default()
    };
    if v.len() > arg.data.len() {
        return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
    }
    for (d, x) in arg.data.iter_mut().zip(v) {
        *d = *x;
    }
    // SAFETY: arg is a vexfs_ioc_vector_fixed (no pointers inside).
    unsafe { raw_ioctl(f.as_raw_fd(), VEXFS_IOC_SET_FIXED, &mut arg) }
}

/// VEXFS_IOC_GET_FIXED: the vector inline.
pub fn get_vector_fixed(f: &impl AsRawFd) -> io::Result<Vec<f32>> {
    let mut arg = vexfs_ioc_vector_fixed::default();
    // SAFETY: arg is a vexfs_ioc_vector_fixed (no pointers inside).
    unsafe { raw_ioctl(f.as_raw_fd(), VEXFS_IOC_GET_FIXED, &mut arg)? };
    let n = (arg.dim as usize).min(arg.data.len());
    Ok(arg.data.get(..n).unwrap_or(&[]).to_vec())
}

/// VEXFS_IOC_QUERY_FIXED: up to VEXFS_FIXED_MAX_K hits, no paths.
pub fn query_fixed(
    f: &impl AsRawFd,
    v: &[f32],
    k: u32,
    ef: u32,
    exact: bool,
) -> io::Result<Vec<vexfs_ioc_hit>> {
    let mut arg = vexfs_ioc_query_fixed {
        size: size_u32::<vexfs_ioc_query_fixed>(),
        dim: u32::try_from(v.len()).map_err(|_| too_long("vector", v.len()))?,
        k,
        ef,
        flags: if exact { VEXFS_QUERY_EXACT } else { 0 },
        ..Default::default()
    };
    if v.len() > arg.vector.len() {
        return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
    }
    for (d, x) in arg.vector.iter_mut().zip(v) {
        *d = *x;
    }
    // SAFETY: arg is a vexfs_ioc_query_fixed (no pointers inside).
    unsafe { raw_ioctl(f.as_raw_fd(), VEXFS_IOC_QUERY_FIXED, &mut arg)? };
    let n = (arg.count as usize).min(arg.hits.len());
    Ok(arg.hits.get(..n).unwrap_or(&[]).to_vec())
}

/// VEXFS_IOC_PATH_FIXED: the path of hit `ino` relative to the directory
/// `f` is open on; Ok(None) when it has none to give, ENOENT when the
/// caller may not see it (any more).
pub fn path_fixed(f: &impl AsRawFd, ino: u64) -> io::Result<Option<std::path::PathBuf>> {
    use std::os::unix::ffi::OsStrExt;
    let mut arg = vexfs_ioc_path_fixed {
        size: size_u32::<vexfs_ioc_path_fixed>(),
        ino,
        ..Default::default()
    };
    // SAFETY: arg is a vexfs_ioc_path_fixed (no pointers inside).
    unsafe { raw_ioctl(f.as_raw_fd(), VEXFS_IOC_PATH_FIXED, &mut arg)? };
    let n = (arg.len as usize).min(arg.path.len());
    let bytes: Vec<u8> = arg
        .path
        .get(..n)
        .unwrap_or(&[])
        .iter()
        .map(|&c| c as u8)
        .collect();
    Ok((!bytes.is_empty()).then(|| std::ffi::OsStr::from_bytes(&bytes).into()))
}

/// [`set_vector`], or the fixed-size request where pointers do not pass (FUSE).
pub fn set_vector_any(f: &impl AsRawFd, v: &[f32]) -> io::Result<()> {
    let first = if fixed_only() {
        Err(not_tried())
    } else {
        set_vector(f, v)
    };
    match first {
        Err(e) if fall_back(&e) => set_vector_fixed(f, v).map_err(|e2| pick(e, e2)),
        r => r,
    }
}

/// [`get_vector`], or the fixed-size request (FUSE).
pub fn get_vector_any(f: &impl AsRawFd) -> io::Result<Vec<f32>> {
    let first = if fixed_only() {
        Err(not_tried())
    } else {
        get_vector(f)
    };
    match first {
        Err(e) if fall_back(&e) => get_vector_fixed(f).map_err(|e2| pick(e, e2)),
        r => r,
    }
}

/// [`query_paths`], or QUERY_FIXED and one PATH_FIXED per hit (FUSE; k at
/// most VEXFS_FIXED_MAX_K there, ERANGE beyond). A hit whose path request
/// fails with ENOENT (hidden or gone since the query) is dropped.
pub fn query_paths_any(
    f: &impl AsRawFd,
    v: &[f32],
    k: u32,
    ef: u32,
    exact: bool,
) -> io::Result<Vec<PathHit>> {
    let first = if fixed_only() {
        Err(not_tried())
    } else {
        query_paths(f, v, k, ef, exact)
    };
    match first {
        Err(e) if fall_back(&e) => {
            if k > VEXFS_FIXED_MAX_K {
                // try anyway so a non-VexFS file keeps its ENOTTY
                if let Err(e2) = query_fixed(f, v, 1, ef, exact) {
                    return Err(pick(e, e2));
                }
                return Err(io::Error::from_raw_os_error(libc::ERANGE));
            }
            let hits = query_fixed(f, v, k, ef, exact).map_err(|e2| pick(e, e2))?;
            let mut out = Vec::with_capacity(hits.len());
            for h in hits {
                match path_fixed(f, h.ino) {
                    Ok(path) => out.push(PathHit {
                        ino: h.ino,
                        distance: h.distance,
                        path,
                    }),
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        }
        r => r,
    }
}

/// The error to report when both requests failed: the fixed request's,
/// unless it was not understood either (then the first one's).
fn pick(first: io::Error, fixed: io::Error) -> io::Error {
    if fall_back(&fixed) && first.raw_os_error() == Some(libc::ENOTTY) {
        first
    } else {
        fixed
    }
}

/// Name of a `VEXFS_METRIC_*` value, as mkfs.vexfs --metric spells it.
pub fn metric_name(metric: u32) -> Option<&'static str> {
    match metric {
        VEXFS_METRIC_L2 => Some("l2"),
        VEXFS_METRIC_COSINE => Some("cosine"),
        VEXFS_METRIC_IP => Some("ip"),
        _ => None,
    }
}

fn size_u32<T>() -> u32 {
    // Every argument struct is a few dozen bytes (checked by `fits`).
    size_of::<T>() as u32
}

fn ptr_u64<T>(p: *const T) -> u64 {
    p as usize as u64
}

fn too_long(what: &str, n: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{} of {} is too large", what, n),
    )
}

/// ioctl(fd, req, arg): Ok on 0, the errno otherwise.
///
/// # Safety
/// `arg` must be what `req` expects: null for `_IO`, else a valid pointer to
/// the request's struct, whose user pointers are valid for what they claim.
unsafe fn raw_ioctl<T>(fd: RawFd, req: u32, arg: *mut T) -> io::Result<()> {
    // `as _`: the request is c_ulong on glibc and c_int on musl; the bits are
    // the same (all our numbers fit in 32 bits).
    let r = libc::ioctl(fd, req as _, arg);
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// VEXFS_IOC_SET_VECTOR on a file open for writing.
pub fn set_vector(f: &impl AsRawFd, v: &[f32]) -> io::Result<()> {
    let mut arg = vexfs_ioc_vector {
        size: size_u32::<vexfs_ioc_vector>(),
        dim: u32::try_from(v.len()).map_err(|_| too_long("vector", v.len()))?,
        data: ptr_u64(v.as_ptr()),
    };
    // SAFETY: arg is a vexfs_ioc_vector whose data points to dim floats.
    unsafe { raw_ioctl(f.as_raw_fd(), VEXFS_IOC_SET_VECTOR, &mut arg) }
}

/// VEXFS_IOC_GET_VECTOR on a file open for reading: its vector.
pub fn get_vector(f: &impl AsRawFd) -> io::Result<Vec<f32>> {
    let mut buf = vec![0f32; VEXFS_MAX_DIM as usize];
    let mut arg = vexfs_ioc_vector {
        size: size_u32::<vexfs_ioc_vector>(),
        dim: VEXFS_MAX_DIM,
        data: ptr_u64(buf.as_mut_ptr()),
    };
    // SAFETY: data points to VEXFS_MAX_DIM writable floats, the room in dim.
    unsafe { raw_ioctl(f.as_raw_fd(), VEXFS_IOC_GET_VECTOR, &mut arg)? };
    buf.truncate(arg.dim as usize);
    Ok(buf)
}

/// VEXFS_IOC_DEL_VECTOR on a file open for writing.
pub fn del_vector(f: &impl AsRawFd) -> io::Result<()> {
    // SAFETY: _IO takes no argument.
    unsafe { raw_ioctl::<u8>(f.as_raw_fd(), VEXFS_IOC_DEL_VECTOR, std::ptr::null_mut()) }
}

/// VEXFS_IOC_QUERY: the `k` nearest vectors to `v` under the file or
/// directory `f`, nearest first. `ef` 0 is the filesystem's default.
/// Without paths (the request as the first version of the ABI made it).
pub fn query(
    f: &impl AsRawFd,
    v: &[f32],
    k: u32,
    ef: u32,
    exact: bool,
) -> io::Result<Vec<vexfs_ioc_hit>> {
    match query_into(f, v, k, ef, exact, None) {
        Ok((h, _)) => Ok(h),
        Err(QueryErr::Io(e)) => Err(e),
        // without paths there is nothing to overflow
        Err(QueryErr::Overflow(_)) => Err(io::Error::from_raw_os_error(libc::EOVERFLOW)),
    }
}

/// One hit of [`query_paths`].
#[derive(Clone, Debug, PartialEq)]
pub struct PathHit {
    pub ino: u64,
    pub distance: f32,
    /// Relative to the directory queried (the filesystem's root when `f`
    /// is not a directory); None when the kernel could not give one (a
    /// file whose hinted link was removed while it kept others, a path
    /// longer than PATH_MAX - 1, a tree renamed under the query).
    pub path: Option<std::path::PathBuf>,
}

/// [`query`] with each hit's path, computed by the kernel (no walk of the
/// tree). A paths buffer that is too small (EOVERFLOW) is grown to what
/// the kernel says it needs and the query asked again.
pub fn query_paths(
    f: &impl AsRawFd,
    v: &[f32],
    k: u32,
    ef: u32,
    exact: bool,
) -> io::Result<Vec<PathHit>> {
    use std::os::unix::ffi::OsStrExt;
    // Most paths are short; each is at most PATH_MAX bytes.
    let most = (k.clamp(1, VEXFS_MAX_K) as usize) * libc::PATH_MAX as usize;
    let mut room = (k.clamp(1, VEXFS_MAX_K) as usize * 128).min(most);
    for _ in 0..8 {
        let mut buf = vec![0u8; room];
        match query_into(f, v, k, ef, exact, Some(&mut buf)) {
            Ok((hits, used)) => {
                let used = buf.get(..used).unwrap_or(&[]);
                let mut names = used.split(|&b| b == 0);
                return Ok(hits
                    .into_iter()
                    .map(|h| {
                        let p = names.next().unwrap_or(&[]);
                        PathHit {
                            ino: h.ino,
                            distance: h.distance,
                            path: (!p.is_empty()).then(|| std::ffi::OsStr::from_bytes(p).into()),
                        }
                    })
                    .collect());
            }
            Err(QueryErr::Overflow(need)) => room = need.clamp(room + 1, most.max(room + 1)),
            Err(QueryErr::Io(e)) => return Err(e),
        }
    }
    Err(io::Error::from_raw_os_error(libc::EOVERFLOW))
}

enum QueryErr {
    /// EOVERFLOW: the paths need this many bytes.
    Overflow(usize),
    Io(io::Error),
}

impl From<io::Error> for QueryErr {
    fn from(e: io::Error) -> Self {
        QueryErr::Io(e)
    }
}

/// The query, with paths into `paths` when given: the hits and the bytes
/// of `paths` used.
fn query_into(
    f: &impl AsRawFd,
    v: &[f32],
    k: u32,
    ef: u32,
    exact: bool,
    paths: Option<&mut [u8]>,
) -> Result<(Vec<vexfs_ioc_hit>, usize), QueryErr> {
    // The kernel refuses k outside 1..=VEXFS_MAX_K (ERANGE); never allocate
    // more room than it may fill.
    let room = k.clamp(1, VEXFS_MAX_K) as usize;
    let mut hits = vec![vexfs_ioc_hit::default(); room];
    let (pptr, plen) = match paths {
        Some(p) => (
            ptr_u64(p.as_mut_ptr()),
            u32::try_from(p.len()).map_err(|_| too_long("paths buffer", p.len()))?,
        ),
        None => (0, 0),
    };
    let mut arg = vexfs_ioc_query {
        size: size_u32::<vexfs_ioc_query>(),
        dim: u32::try_from(v.len()).map_err(|_| too_long("vector", v.len()))?,
        vector: ptr_u64(v.as_ptr()),
        k,
        ef,
        hits: ptr_u64(hits.as_mut_ptr()),
        count: 0,
        flags: if exact { VEXFS_QUERY_EXACT } else { 0 },
        paths: pptr,
        paths_len: plen,
        paths_used: 0,
    };
    if k as usize > room {
        return Err(io::Error::from_raw_os_error(libc::ERANGE).into());
    }
    // SAFETY: vector points to dim floats, hits to k (<= room) hit structs,
    // paths (when set) to paths_len writable bytes.
    if let Err(e) = unsafe { raw_ioctl(f.as_raw_fd(), VEXFS_IOC_QUERY, &mut arg) } {
        if pptr != 0 && e.raw_os_error() == Some(libc::EOVERFLOW) {
            return Err(QueryErr::Overflow(arg.paths_used as usize));
        }
        return Err(e.into());
    }
    hits.truncate(arg.count as usize);
    let used = if pptr != 0 {
        arg.paths_used as usize
    } else {
        0
    };
    Ok((hits, used.min(plen as usize)))
}

/// Marks an `errors` entry the kernel did not write.
pub const BATCH_NOT_DONE: i32 = i32::MIN;

/// What one VEXFS_IOC_BATCH_SET did.
#[derive(Debug)]
pub struct BatchOutcome {
    /// The ioctl's own result.
    pub result: io::Result<()>,
    /// Vectors set (the struct's `done`).
    pub done: u32,
    /// Per file: 0, -errno, or [`BATCH_NOT_DONE`] if the kernel left it.
    pub errors: Vec<i32>,
}

/// VEXFS_IOC_BATCH_SET, issued on `on` (any descriptor in the filesystem):
/// sets `vectors[i*dim..(i+1)*dim]` on `fds[i]`.
pub fn batch_set(on: &impl AsRawFd, fds: &[RawFd], dim: usize, vectors: &[f32]) -> BatchOutcome {
    let mut errors = vec![BATCH_NOT_DONE; fds.len()];
    let fail = |e: io::Error, errors: Vec<i32>| BatchOutcome {
        result: Err(e),
        done: 0,
        errors,
    };
    if fds.len() > VEXFS_MAX_BATCH as usize {
        return fail(io::Error::from_raw_os_error(libc::E2BIG), errors);
    }
    if u32::try_from(dim).is_err() {
        return fail(too_long("dimension", dim), errors);
    }
    if dim.checked_mul(fds.len()) != Some(vectors.len()) {
        return fail(
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "batch vectors do not match the descriptors",
            ),
            errors,
        );
    }
    let mut arg = vexfs_ioc_batch {
        size: size_u32::<vexfs_ioc_batch>(),
        dim: dim as u32,         // fits, checked above
        count: fds.len() as u32, // <= VEXFS_MAX_BATCH, checked above
        flags: 0,
        fds: ptr_u64(fds.as_ptr()),
        vectors: ptr_u64(vectors.as_ptr()),
        errors: ptr_u64(errors.as_mut_ptr()),
        done: 0,
        reserved: 0,
    };
    // SAFETY: fds points to count ints, vectors to count*dim floats, errors
    // to count writable ints.
    let result = unsafe { raw_ioctl(on.as_raw_fd(), VEXFS_IOC_BATCH_SET, &mut arg) };
    BatchOutcome {
        result,
        done: arg.done,
        errors,
    }
}

/// [`batch_set`], or one VEXFS_IOC_SET_FIXED per file where the batch's
/// pointers do not pass (FUSE). When no file takes the fixed request
/// either, the batch's own outcome is returned.
pub fn batch_set_any(
    on: &impl AsRawFd,
    fds: &[RawFd],
    dim: usize,
    vectors: &[f32],
) -> BatchOutcome {
    let o = if fixed_only() {
        BatchOutcome {
            result: Err(not_tried()),
            done: 0,
            errors: vec![BATCH_NOT_DONE; fds.len()],
        }
    } else {
        batch_set(on, fds, dim, vectors)
    };
    match &o.result {
        Err(e) if fall_back(e) && o.done == 0 => {}
        _ => return o,
    }
    if dim == 0 || dim.checked_mul(fds.len()) != Some(vectors.len()) {
        return o;
    }
    let mut errors = vec![BATCH_NOT_DONE; fds.len()];
    let mut done = 0u32;
    for ((fd, v), slot) in fds.iter().zip(vectors.chunks(dim)).zip(errors.iter_mut()) {
        *slot = match set_vector_fixed(fd, v) {
            Ok(()) => {
                done += 1;
                0
            }
            Err(e) => -e.raw_os_error().unwrap_or(libc::EIO),
        };
    }
    if done == 0 && errors.iter().all(|&e| e == -libc::ENOTTY) {
        return o;
    }
    BatchOutcome {
        result: Ok(()),
        done,
        errors,
    }
}

/// VEXFS_IOC_INFO on any descriptor in the filesystem.
pub fn info(f: &impl AsRawFd) -> io::Result<vexfs_ioc_info> {
    let mut arg = vexfs_ioc_info {
        size: size_u32::<vexfs_ioc_info>(),
        ..Default::default()
    };
    // SAFETY: arg is a vexfs_ioc_info.
    unsafe { raw_ioctl(f.as_raw_fd(), VEXFS_IOC_INFO, &mut arg)? };
    Ok(arg)
}

/// Which request an errno came from: the same errno means different things.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Set,
    Get,
    Del,
    Query,
    Batch,
    Info,
}

/// What the filesystem's dimension is, for the EMSGSIZE explanation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ctx {
    /// Dimension of the vector vexctl sent.
    pub dim: Option<usize>,
    /// The filesystem's dimension (from INFO), if known.
    pub fs_dim: Option<u32>,
    /// k of a query.
    pub k: Option<u32>,
    /// Files in a batch.
    pub count: Option<usize>,
}

/// What `errno`, returned by `op`, means for VexFS (uapi header's table).
pub fn explain(op: Op, errno: i32, ctx: Ctx) -> Option<String> {
    let s = match errno {
        libc::EINVAL => "the kernel refused the request's layout or flags: vexctl and the vexfs module disagree on the ABI".into(),
        libc::EFAULT => "the kernel could not read or write vexctl's buffers".into(),
        libc::EMSGSIZE => match (ctx.dim, ctx.fs_dim) {
            (Some(d), Some(m)) => format!("vector has {} dimensions, the filesystem expects {}", d, m),
            (None, Some(m)) => format!("the filesystem expects {} dimensions", m),
            (Some(d), None) => format!("vector has {} dimensions, which is not the filesystem's", d),
            (None, None) => "the vector's dimension is not the filesystem's".into(),
        },
        libc::EDOM => "the vector holds a NaN or an infinity".into(),
        libc::ERANGE => match ctx.k {
            Some(k) if (1..=VEXFS_MAX_K).contains(&k) => {
                format!("the search breadth (ef) must be at most {}", VEXFS_MAX_EF)
            }
            Some(k) => format!("k is {}, it must be between 1 and {}", k, VEXFS_MAX_K),
            None => format!(
                "k must be between 1 and {} and ef at most {}",
                VEXFS_MAX_K, VEXFS_MAX_EF
            ),
        },
        libc::E2BIG if op == Op::Batch => match ctx.count {
            Some(n) => format!("a batch of {} files is more than the {} the filesystem takes", n, VEXFS_MAX_BATCH),
            None => format!("a batch is at most {} files", VEXFS_MAX_BATCH),
        },
        libc::E2BIG => "the vexfs module is older than vexctl and does not know some of its request's fields".into(),
        libc::ENODATA => "the file has no vector".into(),
        libc::EOPNOTSUPP => "the filesystem was made without a vector space (mkfs.vexfs --dim)".into(),
        libc::ENOSPC => "the filesystem's vector area is full".into(),
        libc::EBADF | libc::EACCES => match op {
            Op::Set | Op::Del | Op::Batch => "setting or removing a vector needs the file open for writing".into(),
            Op::Get => "reading a vector needs the file open for reading".into(),
            _ => return None,
        },
        libc::EXDEV => "a file of the batch is on another filesystem".into(),
        libc::EOVERFLOW if op == Op::Query => "the hits' paths did not fit in vexctl's buffer (the tree kept changing)".into(),
        libc::ENOTTY => "not on a VexFS filesystem (or the vexfs module does not know this request)".into(),
        _ => return None,
    };
    Some(s)
}

/// strerror(errno) without Rust's " (os error N)" suffix.
pub fn strerror(errno: i32) -> String {
    let s = io::Error::from_raw_os_error(errno).to_string();
    match s.rfind(" (os error ") {
        Some(i) => s.get(..i).unwrap_or(&s).to_string(),
        None => s,
    }
}

/// strerror of an OS error, or the error's own text.
pub fn strerror_of(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(errno) => strerror(errno),
        None => e.to_string(),
    }
}

/// `<strerror> (<meaning>)` for an error of `op`, or the error as is.
pub fn describe(op: Op, e: &io::Error, ctx: Ctx) -> String {
    match e.raw_os_error() {
        Some(errno) => match explain(op, errno, ctx) {
            Some(m) => format!("{} ({})", strerror(errno), m),
            None => strerror(errno),
        },
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    ))]
    fn request_numbers_by_hand() {
        // Struct sizes on LP64: 16, 56, 48, 56 bytes (the query's first
        // version, 40 bytes, was 0xC028_F504: the kernel ignores the size bits).
        assert_eq!(VEXFS_IOC_SET_VECTOR, 0x4010_F501);
        assert_eq!(VEXFS_IOC_GET_VECTOR, 0xC010_F502);
        assert_eq!(VEXFS_IOC_DEL_VECTOR, 0x0000_F503);
        assert_eq!(VEXFS_IOC_QUERY, 0xC038_F504);
        assert_eq!(VEXFS_IOC_BATCH_SET, 0xC030_F505);
        assert_eq!(VEXFS_IOC_INFO, 0xC058_F506);
    }

    #[test]
    fn struct_sizes() {
        assert_eq!(size_of::<vexfs_ioc_vector>(), 16);
        assert_eq!(size_of::<vexfs_ioc_hit>(), 16);
        assert_eq!(size_of::<vexfs_ioc_query>(), 56);
        assert_eq!(
            size_of::<vexfs_ioc_query>(),
            crate::uapi::VEXFS_IOC_QUERY_SIZE_VER1 as usize
        );
        assert_eq!(
            std::mem::offset_of!(vexfs_ioc_query, paths),
            crate::uapi::VEXFS_IOC_QUERY_SIZE_VER0 as usize
        );
        assert_eq!(size_of::<vexfs_ioc_batch>(), 48);
        assert_eq!(size_of::<vexfs_ioc_info>(), 88);
    }

    #[test]
    fn explanations() {
        let ctx = Ctx {
            dim: Some(3),
            fs_dim: Some(384),
            ..Default::default()
        };
        assert_eq!(
            describe(Op::Set, &io::Error::from_raw_os_error(libc::EMSGSIZE), ctx),
            "Message too long (vector has 3 dimensions, the filesystem expects 384)"
        );
        assert_eq!(
            explain(Op::Get, libc::ENODATA, Ctx::default()).as_deref(),
            Some("the file has no vector")
        );
        assert!(explain(Op::Batch, libc::E2BIG, Ctx::default())
            .unwrap()
            .contains("1024"));
        assert!(explain(Op::Info, libc::E2BIG, Ctx::default())
            .unwrap()
            .contains("older"));
        assert_eq!(explain(Op::Info, libc::EIO, Ctx::default()), None);
        assert_eq!(strerror(libc::ENOENT), "No such file or directory");
        assert_eq!(metric_name(2), Some("cosine"));
        assert_eq!(metric_name(9), None);
    }

    #[test]
    fn not_vexfs_is_enotty() {
        // A regular file on the host filesystem does not know the requests.
        let f = tempfile::tempfile().unwrap();
        let e = info(&f).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOTTY));
        let e = get_vector(&f).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOTTY));
    }

    #[test]
    fn batch_checks_its_arguments() {
        let f = tempfile::tempfile().unwrap();
        let out = batch_set(&f, &[1, 2], 3, &[0.0; 5]);
        assert!(out.result.is_err());
        let fds = vec![0; VEXFS_MAX_BATCH as usize + 1];
        let out = batch_set(&f, &fds, 1, &vec![0.0; fds.len()]);
        assert_eq!(out.result.unwrap_err().raw_os_error(), Some(libc::E2BIG));
    }
}
