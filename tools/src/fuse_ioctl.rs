//! The vector ioctls of vexfs-fuse. FUSE hands the daemon an ioctl's
//! argument by the size and direction bits of its number and nothing the
//! argument points to, so only the pointer-free requests can be served:
//! INFO, DEL_VECTOR and the fixed-size ones (ffi/include/vexfs_uapi.h,
//! `*_FIXED`). The pointer requests (SET/GET_VECTOR, QUERY, BATCH_SET)
//! fail with ENOTTY, on which vexctl falls back to the fixed ones.
//! Checks and errnos are those of kmod/ioctl.c, in the same order.

use crate::fuse::Creds;
use crate::ioctl::{
    VEXFS_IOC_BATCH_SET, VEXFS_IOC_DEL_VECTOR, VEXFS_IOC_GET_FIXED, VEXFS_IOC_GET_VECTOR,
    VEXFS_IOC_INFO, VEXFS_IOC_PATH_FIXED, VEXFS_IOC_QUERY, VEXFS_IOC_QUERY_FIXED,
    VEXFS_IOC_SET_FIXED, VEXFS_IOC_SET_VECTOR,
};
use crate::uapi::*;
use vexfs_core::dev::FileDevice;
use vexfs_core::format::{ROOT_INO, S_IFDIR, S_IFMT, S_IFREG};
use vexfs_core::{Errno, Fs};

type Result<T> = std::result::Result<T, Errno>;

/// Longest parent chain walked for one query hit (kmod/ioctl.c).
const HIT_MAX_DEPTH: usize = 4096;
/// The core's largest candidate list (VEXFS_VEC_MAX_QUERY).
const QUERY_MAX_N: u32 = 65536;

/// Request numbers without their size bits (as kmod's VEXFS_IOC_BASE).
const fn base(cmd: u32) -> u32 {
    cmd & !(0x3fff << 16)
}

fn get_u32(b: &[u8], off: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(s) = b.get(off..off + 4) {
        w.copy_from_slice(s);
    }
    u32::from_ne_bytes(w)
}

fn get_u64(b: &[u8], off: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(s) = b.get(off..off + 8) {
        w.copy_from_slice(s);
    }
    u64::from_ne_bytes(w)
}

fn put(b: &mut [u8], off: usize, v: &[u8]) {
    if let Some(d) = b.get_mut(off..off + v.len()) {
        d.copy_from_slice(v);
    }
}

fn floats(b: &[u8], off: usize, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| f32::from_bits(get_u32(b, off + 4 * i)))
        .collect()
}

/// The argument as it came in, `size` bytes (zero-extended: an _IOR request
/// brings none).
fn arg(in_data: &[u8], size: usize) -> Vec<u8> {
    let mut out = vec![0u8; size];
    let n = in_data.len().min(size);
    if let (Some(d), Some(s)) = (out.get_mut(..n), in_data.get(..n)) {
        d.copy_from_slice(s);
    }
    out
}

fn is_write(flags: i32) -> bool {
    matches!(flags & libc::O_ACCMODE, libc::O_WRONLY | libc::O_RDWR)
}

fn is_read(flags: i32) -> bool {
    matches!(flags & libc::O_ACCMODE, libc::O_RDONLY | libc::O_RDWR)
}

/// kmod vexfs_vec_may_write.
fn may_write(fs: &mut Fs<FileDevice>, ino: u64, flags: i32) -> Result<()> {
    let a = fs.getattr(ino)?;
    match a.mode & S_IFMT {
        S_IFDIR => Err(Errno::EISDIR),
        S_IFREG if !is_write(flags) => Err(Errno::EBADF),
        S_IFREG => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// The filesystem's dimension (EOPNOTSUPP without a vector space).
fn space_dim(fs: &mut Fs<FileDevice>) -> Result<u32> {
    let i = fs.vec_info()?;
    if i.dim == 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(i.dim)
}

/// kmod vexfs_vec_change: set or delete, then the inode's ctime (a vector
/// change is an inode change).
fn vec_change(fs: &mut Fs<FileDevice>, ino: u64, v: Option<&[f32]>) -> Result<()> {
    if fs.read_only() {
        return Err(Errno::EROFS);
    }
    match v {
        Some(v) => fs.vec_set(ino, v)?,
        None => fs.vec_delete(ino)?,
    }
    let mut a = fs.getattr(ino)?;
    a.ctime = vexfs_core::dev::host_now();
    fs.setattr(&a)
}

/// Serve one ioctl on `ino` (opened with `flags`): the bytes to copy out.
pub fn ioctl(
    fs: &mut Fs<FileDevice>,
    creds: &Creds,
    ino: u64,
    flags: i32,
    cmd: u32,
    in_data: &[u8],
) -> Result<Vec<u8>> {
    match cmd {
        VEXFS_IOC_SET_FIXED => set_fixed(fs, ino, flags, in_data),
        VEXFS_IOC_GET_FIXED => get_fixed(fs, ino, flags),
        VEXFS_IOC_QUERY_FIXED => query_fixed(fs, creds, ino, in_data),
        VEXFS_IOC_PATH_FIXED => path_fixed(fs, creds, ino, in_data),
        VEXFS_IOC_DEL_VECTOR => {
            may_write(fs, ino, flags)?;
            vec_change(fs, ino, None).map(|()| Vec::new())
        }
        c if base(c) == base(VEXFS_IOC_INFO) => info(fs, in_data),
        c if [
            VEXFS_IOC_SET_VECTOR,
            VEXFS_IOC_GET_VECTOR,
            VEXFS_IOC_QUERY,
            VEXFS_IOC_BATCH_SET,
        ]
        .iter()
        .any(|&p| base(p) == base(c)) =>
        {
            // Their data is behind user pointers FUSE does not pass.
            Err(Errno(libc::ENOTTY))
        }
        _ => Err(Errno(libc::ENOTTY)),
    }
}

fn info(fs: &mut Fs<FileDevice>, in_data: &[u8]) -> Result<Vec<u8>> {
    let usize_ = get_u32(in_data, 0);
    if in_data.len() < 4 || usize_ < VEXFS_IOC_INFO_SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    if usize_ > 4096 {
        return Err(Errno::E2BIG);
    }
    let mut out = arg(in_data, VEXFS_IOC_INFO_SIZE_VER1 as usize);
    let i = match fs.vec_info() {
        Ok(i) => Some(i),
        Err(Errno::EOPNOTSUPP) => None,
        Err(e) => return Err(e),
    };
    let u32s = |i: &vexfs_core::vector::store::VecInfo| {
        [i.dim, i.metric, i.m, i.ef_construction, i.ef_search]
    };
    if let Some(i) = i {
        for (n, v) in u32s(&i).iter().enumerate() {
            put(&mut out, 4 + 4 * n, &v.to_ne_bytes());
        }
        put(&mut out, 24, &i.count.to_ne_bytes());
        put(&mut out, 32, &i.capacity.to_ne_bytes());
        put(&mut out, 40, &i.index_bytes.to_ne_bytes());
        put(&mut out, 48, &i.levels.to_ne_bytes());
        put(&mut out, 52, &0u32.to_ne_bytes());
        put(&mut out, 56, &i.cache.bytes.to_ne_bytes());
        put(&mut out, 64, &i.cache.budget.to_ne_bytes());
        put(&mut out, 72, &i.cache.hits.to_ne_bytes());
        put(&mut out, 80, &i.cache.misses.to_ne_bytes());
    } else {
        out.iter_mut().skip(4).for_each(|b| *b = 0);
    }
    // the caller's size field is left as it was; a smaller struct gets its fields
    out.truncate((usize_ as usize).min(out.len()));
    Ok(out)
}

fn set_fixed(fs: &mut Fs<FileDevice>, ino: u64, flags: i32, in_data: &[u8]) -> Result<Vec<u8>> {
    may_write(fs, ino, flags)?;
    let a = arg(in_data, VEXFS_IOC_VECTOR_FIXED_SIZE as usize);
    if get_u32(&a, 0) != VEXFS_IOC_VECTOR_FIXED_SIZE {
        return Err(Errno::EINVAL);
    }
    let dim = get_u32(&a, 4);
    let fs_dim = space_dim(fs)?;
    if dim != fs_dim || dim > VEXFS_MAX_DIM {
        return Err(Errno::EMSGSIZE);
    }
    let v = floats(&a, 8, dim as usize);
    vec_change(fs, ino, Some(&v)).map(|()| Vec::new())
}

fn get_fixed(fs: &mut Fs<FileDevice>, ino: u64, flags: i32) -> Result<Vec<u8>> {
    let a = fs.getattr(ino)?;
    match a.mode & S_IFMT {
        S_IFDIR => return Err(Errno::EISDIR),
        S_IFREG => {}
        _ => return Err(Errno::EINVAL),
    }
    if !is_read(flags) {
        return Err(Errno(libc::EACCES));
    }
    let v = fs.vec_get(ino)?;
    if v.len() > VEXFS_MAX_DIM as usize {
        return Err(Errno::EIO);
    }
    let mut out = vec![0u8; VEXFS_IOC_VECTOR_FIXED_SIZE as usize];
    put(&mut out, 0, &VEXFS_IOC_VECTOR_FIXED_SIZE.to_ne_bytes());
    put(&mut out, 4, &(v.len() as u32).to_ne_bytes());
    for (i, x) in v.iter().enumerate() {
        put(&mut out, 8 + 4 * i, &x.to_bits().to_ne_bytes());
    }
    Ok(out)
}

const QF_VECTOR: usize = 24;
const QF_HITS: usize = QF_VECTOR + 4 * VEXFS_MAX_DIM as usize;

fn query_fixed(
    fs: &mut Fs<FileDevice>,
    creds: &Creds,
    ino: u64,
    in_data: &[u8],
) -> Result<Vec<u8>> {
    let mut a = arg(in_data, VEXFS_IOC_QUERY_FIXED_SIZE as usize);
    if get_u32(&a, 0) != VEXFS_IOC_QUERY_FIXED_SIZE {
        return Err(Errno::EINVAL);
    }
    let (dim, k, ef, flags) = (
        get_u32(&a, 4),
        get_u32(&a, 8),
        get_u32(&a, 12),
        get_u32(&a, 16),
    );
    if flags & !VEXFS_QUERY_EXACT != 0 {
        return Err(Errno::EINVAL);
    }
    if k == 0 || k > VEXFS_FIXED_MAX_K || ef > VEXFS_MAX_EF {
        return Err(Errno::ERANGE);
    }
    let info = fs.vec_info()?;
    if info.dim == 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if dim != info.dim || dim > VEXFS_MAX_DIM {
        return Err(Errno::EMSGSIZE);
    }
    let q = floats(&a, QF_VECTOR, dim as usize);
    let within = if fs.getattr(ino)?.mode & S_IFMT == S_IFDIR {
        ino
    } else {
        ROOT_INO
    };
    // As the module: ask for k, drop what the caller may not see, ask again
    // wider while fewer than k survive and the core had more to give.
    let limit = QUERY_MAX_N.min(u32::try_from(info.count.max(1)).unwrap_or(QUERY_MAX_N));
    let mut n = k;
    let mut kept: Vec<(u64, f32)>;
    loop {
        let found = fs.vec_query(&q, within, n, ef, flags & VEXFS_QUERY_EXACT != 0)?;
        kept = Vec::new();
        for &(hit, d) in &found {
            if kept.len() >= k as usize {
                break;
            }
            if visible(fs, creds, within, hit, false).is_some() {
                kept.push((hit, d));
            }
        }
        if kept.len() >= k as usize || found.len() < n as usize || n >= limit {
            break;
        }
        n = n.saturating_mul(4).min(QUERY_MAX_N);
    }
    put(&mut a, 20, &(kept.len() as u32).to_ne_bytes());
    for (i, (hit, d)) in kept.iter().enumerate() {
        let off = QF_HITS + 16 * i;
        put(&mut a, off, &hit.to_ne_bytes());
        put(&mut a, off + 8, &d.to_bits().to_ne_bytes());
        put(&mut a, off + 12, &0u32.to_ne_bytes());
    }
    Ok(a)
}

fn path_fixed(fs: &mut Fs<FileDevice>, creds: &Creds, ino: u64, in_data: &[u8]) -> Result<Vec<u8>> {
    let mut a = arg(in_data, VEXFS_IOC_PATH_FIXED_SIZE as usize);
    if get_u32(&a, 0) != VEXFS_IOC_PATH_FIXED_SIZE {
        return Err(Errno::EINVAL);
    }
    let target = get_u64(&a, 8);
    let within = if fs.getattr(ino)?.mode & S_IFMT == S_IFDIR {
        ino
    } else {
        ROOT_INO
    };
    let path = visible(fs, creds, within, target, true).ok_or(Errno::ENOENT)?;
    let path = path.unwrap_or_default();
    put(&mut a, 4, &(path.len() as u32).to_ne_bytes());
    let p = 16;
    a.iter_mut().skip(p).for_each(|b| *b = 0);
    put(&mut a, p, &path);
    Ok(a)
}

/// kmod vexfs_hit_visible: may the caller learn of `ino` below `within`?
/// Readable, and every directory from its parent up to `within`
/// searchable; an unknown parent hint is for the privileged only. With
/// `named`, also the path relative to `within` (None: none to give).
fn visible(
    fs: &mut Fs<FileDevice>,
    creds: &Creds,
    within: u64,
    ino: u64,
    named: bool,
) -> Option<Option<Vec<u8>>> {
    let a = fs.getattr(ino).ok()?;
    if a.nlink == 0 || !creds.may(&a, 4) {
        return None;
    }
    let mut named = named;
    let mut names: Vec<Vec<u8>> = Vec::new();
    fn step(
        fs: &mut Fs<FileDevice>,
        ino: u64,
        named: &mut bool,
        names: &mut Vec<Vec<u8>>,
    ) -> Option<u64> {
        if *named {
            match fs.link_name(ino) {
                Ok((p, n)) => {
                    if n.is_empty() {
                        *named = false;
                    } else {
                        names.push(n);
                    }
                    return Some(p);
                }
                Err(_) => *named = false,
            }
        }
        fs.parent_of(ino).ok()
    }
    let mut dir = step(fs, ino, &mut named, &mut names)?;
    if dir == 0 {
        return creds.uid.eq(&0).then_some(None);
    }
    for _ in 0..HIT_MAX_DEPTH {
        let last = dir == within || dir == ROOT_INO;
        let d = fs.getattr(dir).ok()?;
        if d.mode & S_IFMT != S_IFDIR || !creds.may(&d, 1) {
            return None;
        }
        if last {
            named = named && dir == within;
            if !named {
                return Some(None);
            }
            let mut path = Vec::new();
            for n in names.iter().rev() {
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(n);
            }
            return Some((path.len() < VEXFS_FIXED_PATH_MAX as usize).then_some(path));
        }
        dir = step(fs, dir, &mut named, &mut names)?;
    }
    None
}
