//! Random operation sequences on the core over an in-memory device must
//! behave like a simple in-memory model of a POSIX tree, including across
//! unmount/mount.
#![allow(
    clippy::disallowed_methods,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;
use common::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap};
use vexfs_core::dev::MemDevice;
use vexfs_core::{Errno, Fs};

#[derive(Clone, Debug)]
enum Op {
    Create(u8, u8),
    Mkdir(u8, u8),
    Write(u8, u16, u16, u8),
    Truncate(u8, u16),
    Unlink(u8, u8),
    Rmdir(u8, u8),
    Rename(u8, u8, u8, u8),
    Link(u8, u8, u8),
    Remount,
}

const NAMES: [&str; 4] = ["a", "b", "c", "dd"];

#[derive(Default)]
struct Model {
    /// Directory ino -> name -> ino.
    dirs: BTreeMap<u64, BTreeMap<String, u64>>,
    files: HashMap<u64, Vec<u8>>,
    parent: HashMap<u64, u64>,
}

impl Model {
    fn dir_list(&self) -> Vec<u64> {
        self.dirs.keys().copied().collect()
    }
    fn file_list(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.files.keys().copied().collect();
        v.sort();
        v
    }
    fn links(&self, ino: u64) -> u32 {
        let mut n = 0;
        for (d, ents) in &self.dirs {
            for &i in ents.values() {
                if i == ino {
                    n += 1;
                }
                if self.dirs.contains_key(&i) && *d == ino {
                    n += 1; // subdirectory's ".."
                }
            }
        }
        if self.dirs.contains_key(&ino) {
            n += 1; // "."
            if ino == ROOT {
                n += 1;
            }
        }
        n
    }
    fn within(&self, mut d: u64, anc: u64) -> bool {
        loop {
            if d == anc {
                return true;
            }
            if d == ROOT {
                return false;
            }
            d = self.parent[&d];
        }
    }
    fn drop_if_unlinked(&mut self, ino: u64) {
        if self.files.contains_key(&ino) && self.links(ino) == 0 {
            self.files.remove(&ino);
        }
    }
}

fn pick<T: Copy>(v: &[T], i: u8) -> T {
    v[i as usize % v.len()]
}

fn check_tree(fs: &mut Fs<MemDevice>, m: &Model) {
    for (&d, ents) in &m.dirs {
        let mut got: BTreeMap<String, u64> = BTreeMap::new();
        for e in fs.list_dir(d).unwrap() {
            got.insert(String::from_utf8(e.name).unwrap(), e.ino);
        }
        assert_eq!(&got, ents, "directory {}", d);
        assert_eq!(fs.getattr(d).unwrap().nlink, m.links(d), "dir nlink {}", d);
    }
    for (&f, data) in &m.files {
        let a = fs.getattr(f).unwrap();
        assert_eq!(a.size, data.len() as u64, "size of {}", f);
        assert_eq!(a.nlink, m.links(f), "nlink of {}", f);
        let mut buf = vec![0u8; data.len()];
        fs.read(f, 0, &mut buf).unwrap();
        assert!(buf == *data, "contents of {}", f);
    }
}

fn apply(fs: &mut Fs<MemDevice>, m: &mut Model, op: &Op) {
    let dirs = m.dir_list();
    match *op {
        Op::Create(d, n) | Op::Mkdir(d, n) => {
            let d = pick(&dirs, d);
            let name = pick(&NAMES, n);
            let is_dir = matches!(op, Op::Mkdir(..));
            let r = fs.create(d, name.as_bytes(), if is_dir { DIR } else { REG }, 0, 0, 0);
            if m.dirs[&d].contains_key(name) {
                assert_eq!(r, Err(Errno::EEXIST));
                return;
            }
            let ino = r.unwrap();
            m.dirs.get_mut(&d).unwrap().insert(name.to_string(), ino);
            if is_dir {
                m.dirs.insert(ino, BTreeMap::new());
                m.parent.insert(ino, d);
            } else {
                m.files.insert(ino, Vec::new());
            }
        }
        Op::Write(f, off, len, byte) => {
            let files = m.file_list();
            if files.is_empty() {
                return;
            }
            let f = pick(&files, f);
            let off = u64::from(off) * 3;
            let data = vec![byte; len as usize % 9000];
            fs.write(f, off, &data).unwrap();
            let v = m.files.get_mut(&f).unwrap();
            let end = off as usize + data.len();
            if !data.is_empty() && v.len() < end {
                v.resize(end, 0);
            }
            if !data.is_empty() {
                v[off as usize..end].copy_from_slice(&data);
            }
        }
        Op::Truncate(f, size) => {
            let files = m.file_list();
            if files.is_empty() {
                return;
            }
            let f = pick(&files, f);
            fs.truncate(f, u64::from(size) * 5).unwrap();
            m.files.get_mut(&f).unwrap().resize(size as usize * 5, 0);
        }
        Op::Unlink(d, n) | Op::Rmdir(d, n) => {
            let d = pick(&dirs, d);
            let name = pick(&NAMES, n);
            let rm_dir = matches!(op, Op::Rmdir(..));
            let r = if rm_dir {
                fs.rmdir(d, name.as_bytes())
            } else {
                fs.unlink(d, name.as_bytes())
            };
            let Some(&ino) = m.dirs[&d].get(name) else {
                assert_eq!(r, Err(Errno::ENOENT));
                return;
            };
            let is_dir = m.dirs.contains_key(&ino);
            match (rm_dir, is_dir) {
                (false, true) => assert_eq!(r, Err(Errno::EISDIR)),
                (true, false) => assert_eq!(r, Err(Errno::ENOTDIR)),
                (true, true) if !m.dirs[&ino].is_empty() => assert_eq!(r, Err(Errno::ENOTEMPTY)),
                _ => {
                    r.unwrap();
                    m.dirs.get_mut(&d).unwrap().remove(name);
                    if is_dir {
                        m.dirs.remove(&ino);
                        m.parent.remove(&ino);
                    }
                    m.drop_if_unlinked(ino);
                }
            }
        }
        Op::Link(f, d, n) => {
            let files = m.file_list();
            if files.is_empty() {
                return;
            }
            let f = pick(&files, f);
            let d = pick(&dirs, d);
            let name = pick(&NAMES, n);
            let r = fs.link(d, name.as_bytes(), f);
            if m.dirs[&d].contains_key(name) {
                assert_eq!(r, Err(Errno::EEXIST));
            } else {
                r.unwrap();
                m.dirs.get_mut(&d).unwrap().insert(name.to_string(), f);
            }
        }
        Op::Rename(sd, sn, dd, dn) => {
            let (sd, dd) = (pick(&dirs, sd), pick(&dirs, dd));
            let (sn, dn) = (pick(&NAMES, sn), pick(&NAMES, dn));
            let r = fs.rename(sd, sn.as_bytes(), dd, dn.as_bytes(), 0);
            let Some(&src) = m.dirs[&sd].get(sn) else {
                assert_eq!(r, Err(Errno::ENOENT));
                return;
            };
            let src_dir = m.dirs.contains_key(&src);
            if src_dir && m.within(dd, src) {
                assert_eq!(r, Err(Errno::EINVAL));
                return;
            }
            let dst = m.dirs[&dd].get(dn).copied();
            if let Some(dst) = dst {
                if dst == src {
                    r.unwrap();
                    return;
                }
                let dst_dir = m.dirs.contains_key(&dst);
                if src_dir && !dst_dir {
                    assert_eq!(r, Err(Errno::ENOTDIR));
                    return;
                }
                if !src_dir && dst_dir {
                    assert_eq!(r, Err(Errno::EISDIR));
                    return;
                }
                if dst_dir && !m.dirs[&dst].is_empty() {
                    assert_eq!(r, Err(Errno::ENOTEMPTY));
                    return;
                }
                r.unwrap();
                if dst_dir {
                    m.dirs.remove(&dst);
                    m.parent.remove(&dst);
                }
            } else {
                r.unwrap();
            }
            m.dirs.get_mut(&sd).unwrap().remove(sn);
            m.dirs.get_mut(&dd).unwrap().insert(dn.to_string(), src);
            if src_dir {
                m.parent.insert(src, dd);
            }
            if let Some(dst) = dst {
                m.drop_if_unlinked(dst);
            }
        }
        Op::Remount => {}
    }
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::Create(a, b)),
        2 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::Mkdir(a, b)),
        3 => (any::<u8>(), any::<u16>(), any::<u16>(), any::<u8>()).prop_map(|(a, b, c, d)| Op::Write(a, b, c, d)),
        1 => (any::<u8>(), any::<u16>()).prop_map(|(a, b)| Op::Truncate(a, b)),
        2 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::Unlink(a, b)),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::Rmdir(a, b)),
        2 => (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(a, b, c, d)| Op::Rename(a, b, c, d)),
        1 => (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(a, b, c)| Op::Link(a, b, c)),
        1 => Just(Op::Remount),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn random_ops_match_model(ops in proptest::collection::vec(op_strategy(), 1..80)) {
        let mut fs = fresh(4096);
        let mut m = Model::default();
        m.dirs.insert(ROOT, BTreeMap::new());
        m.parent.insert(ROOT, ROOT);
        let free0 = fs.statfs();
        for op in &ops {
            if let Op::Remount = op {
                fs = remount(fs);
            } else {
                apply(&mut fs, &mut m, op);
            }
            prop_assert!(!fs.has_errors());
        }
        check_tree(&mut fs, &m);
        let mut fs = remount(fs);
        check_tree(&mut fs, &m);
        // Remove everything: every block and inode comes back.
        let mut dirs: Vec<u64> = m.dirs.keys().copied().collect();
        dirs.sort_by_key(|d| std::cmp::Reverse(depth(&m, *d)));
        for d in dirs {
            for (name, ino) in m.dirs[&d].clone() {
                if m.dirs.contains_key(&ino) {
                    fs.rmdir(d, name.as_bytes()).unwrap();
                } else {
                    fs.unlink(d, name.as_bytes()).unwrap();
                }
            }
        }
        let end = fs.statfs();
        prop_assert_eq!(end.ffree, free0.ffree);
        // The root may keep directory blocks it grew.
        let root_blocks = fs.getattr(ROOT).unwrap().blocks;
        prop_assert_eq!(end.bfree + root_blocks, free0.bfree);
    }
}

fn depth(m: &Model, mut d: u64) -> usize {
    let mut n = 0;
    while d != ROOT {
        d = m.parent[&d];
        n += 1;
    }
    n
}
