//! vexctl without a VexFS mount: the ioctl ABI against the C header, the
//! vector file readers, and the command line's error paths (on the host
//! filesystem every vector ioctl is ENOTTY).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::mem::{offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;
use vexfs_tools::ioctl;
use vexfs_tools::uapi::*;
use vexfs_tools::vecfile::{read_one, Format, VecReader};

// ---------------------------------------------------------------- ABI

/// Compiles a C program printing the header's request numbers, sizes and
/// offsets, and compares with what Rust computed.
#[test]
fn ioctl_numbers_and_layout_match_the_c_header() {
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ffi/include");
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("abi.c");
    std::fs::write(
        &src,
        r#"
#include <stdio.h>
#include <stddef.h>
#include "vexfs_uapi.h"
#define P(x) printf("%s %lu\n", #x, (unsigned long)(x))
int main(void) {
    P(VEXFS_IOC_SET_VECTOR); P(VEXFS_IOC_GET_VECTOR); P(VEXFS_IOC_DEL_VECTOR);
    P(VEXFS_IOC_QUERY); P(VEXFS_IOC_BATCH_SET); P(VEXFS_IOC_INFO);
    P(sizeof(struct vexfs_ioc_vector)); P(sizeof(struct vexfs_ioc_hit));
    P(sizeof(struct vexfs_ioc_query)); P(sizeof(struct vexfs_ioc_batch));
    P(sizeof(struct vexfs_ioc_info));
    P(offsetof(struct vexfs_ioc_vector, data));
    P(offsetof(struct vexfs_ioc_hit, distance));
    P(offsetof(struct vexfs_ioc_query, hits)); P(offsetof(struct vexfs_ioc_query, count));
    P(offsetof(struct vexfs_ioc_query, flags)); P(offsetof(struct vexfs_ioc_query, paths));
    P(offsetof(struct vexfs_ioc_query, paths_len)); P(offsetof(struct vexfs_ioc_query, paths_used));
    P(offsetof(struct vexfs_ioc_batch, errors)); P(offsetof(struct vexfs_ioc_batch, done));
    P(offsetof(struct vexfs_ioc_info, count)); P(offsetof(struct vexfs_ioc_info, index_bytes));
    P(offsetof(struct vexfs_ioc_info, levels));
    P(VEXFS_IOC_SET_FIXED); P(VEXFS_IOC_GET_FIXED); P(VEXFS_IOC_QUERY_FIXED);
    P(VEXFS_IOC_PATH_FIXED);
    P(sizeof(struct vexfs_ioc_vector_fixed)); P(sizeof(struct vexfs_ioc_query_fixed));
    P(sizeof(struct vexfs_ioc_path_fixed));
    P(offsetof(struct vexfs_ioc_query_fixed, vector));
    P(offsetof(struct vexfs_ioc_query_fixed, hits));
    P(offsetof(struct vexfs_ioc_path_fixed, path));
    return 0;
}
"#,
    )
    .unwrap();
    let exe = d.path().join("abi");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let st = Command::new(&cc)
        .arg("-I")
        .arg(&include)
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .status()
        .expect("run the C compiler (cc)");
    assert!(st.success(), "cc failed");
    let out = Command::new(&exe).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let c: std::collections::HashMap<&str, u64> = text
        .lines()
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k, v.parse().unwrap())
        })
        .collect();
    let rust: &[(&str, u64)] = &[
        ("VEXFS_IOC_SET_VECTOR", ioctl::VEXFS_IOC_SET_VECTOR.into()),
        ("VEXFS_IOC_GET_VECTOR", ioctl::VEXFS_IOC_GET_VECTOR.into()),
        ("VEXFS_IOC_DEL_VECTOR", ioctl::VEXFS_IOC_DEL_VECTOR.into()),
        ("VEXFS_IOC_QUERY", ioctl::VEXFS_IOC_QUERY.into()),
        ("VEXFS_IOC_BATCH_SET", ioctl::VEXFS_IOC_BATCH_SET.into()),
        ("VEXFS_IOC_INFO", ioctl::VEXFS_IOC_INFO.into()),
        ("VEXFS_IOC_SET_FIXED", ioctl::VEXFS_IOC_SET_FIXED.into()),
        ("VEXFS_IOC_GET_FIXED", ioctl::VEXFS_IOC_GET_FIXED.into()),
        ("VEXFS_IOC_QUERY_FIXED", ioctl::VEXFS_IOC_QUERY_FIXED.into()),
        ("VEXFS_IOC_PATH_FIXED", ioctl::VEXFS_IOC_PATH_FIXED.into()),
        (
            "sizeof(struct vexfs_ioc_vector_fixed)",
            size_of::<vexfs_tools::uapi::vexfs_ioc_vector_fixed>() as u64,
        ),
        (
            "sizeof(struct vexfs_ioc_query_fixed)",
            size_of::<vexfs_tools::uapi::vexfs_ioc_query_fixed>() as u64,
        ),
        (
            "sizeof(struct vexfs_ioc_path_fixed)",
            size_of::<vexfs_tools::uapi::vexfs_ioc_path_fixed>() as u64,
        ),
        (
            "offsetof(struct vexfs_ioc_query_fixed, vector)",
            offset_of!(vexfs_tools::uapi::vexfs_ioc_query_fixed, vector) as u64,
        ),
        (
            "offsetof(struct vexfs_ioc_query_fixed, hits)",
            offset_of!(vexfs_tools::uapi::vexfs_ioc_query_fixed, hits) as u64,
        ),
        (
            "offsetof(struct vexfs_ioc_path_fixed, path)",
            offset_of!(vexfs_tools::uapi::vexfs_ioc_path_fixed, path) as u64,
        ),
        (
            "sizeof(struct vexfs_ioc_vector)",
            size_of::<vexfs_ioc_vector>() as u64,
        ),
        (
            "sizeof(struct vexfs_ioc_hit)",
            size_of::<vexfs_ioc_hit>() as u64,
        ),
        (
            "sizeof(struct vexfs_ioc_query)",
            size_of::<vexfs_ioc_query>() as u64,
        ),
        (
            "sizeof(struct vexfs_ioc_batch)",
            size_of::<vexfs_ioc_batch>() as u64,
        ),
        (
            "sizeof(struct vexfs_ioc_info)",
            size_of::<vexfs_ioc_info>() as u64,
        ),
        (
            "offsetof(struct vexfs_ioc_vector, data)",
            offset_of!(vexfs_ioc_vector, data) as u64,
        ),
        (
            "offsetof(struct vexfs_ioc_hit, distance)",
            offset_of!(vexfs_ioc_hit, distance) as u64,
        ),
        (
            "offsetof(struct vexfs_ioc_query, hits)",
            offset_of!(vexfs_ioc_query, hits) as u64,
        ),
        (
            "offsetof(struct vexfs_ioc_query, count)",
            offset_of!(vexfs_ioc_query, count) as u64,
        ),
        (
            "offsetof(struct vexfs_ioc_query, flags)",
            offset_of!(vexfs_ioc_query, flags) as u64,
        ),
        (
            "offsetof(struct vexfs_ioc_query, paths)",
            offset_of!(vexfs_ioc_query, paths) as u64,
        ),
        (
            "offsetof(struct vexfs_ioc_query, paths_len)",
            offset_of!(vexfs_ioc_query, paths_len) as u64,
        ),
        (
            "offsetof(struct vexfs_ioc_query, paths_used)",
            offset_of!(vexfs_ioc_query, paths_used) as u64,
        ),
        (
            "offsetof(struct vexfs_ioc_batch, errors)",
            offset_of!(vexfs_ioc_batch, errors) as u64,
        ),
        (
            "offsetof(struct vexfs_ioc_batch, done)",
            offset_of!(vexfs_ioc_batch, done) as u64,
        ),
        (
            "offsetof(struct vexfs_ioc_info, count)",
            offset_of!(vexfs_ioc_info, count) as u64,
        ),
        (
            "offsetof(struct vexfs_ioc_info, index_bytes)",
            offset_of!(vexfs_ioc_info, index_bytes) as u64,
        ),
        (
            "offsetof(struct vexfs_ioc_info, levels)",
            offset_of!(vexfs_ioc_info, levels) as u64,
        ),
    ];
    for (name, v) in rust {
        assert_eq!(
            c.get(name),
            Some(v),
            "{}: C says {:?}, Rust {}",
            name,
            c.get(name),
            v
        );
    }
    assert_eq!(c.len(), rust.len());
}

// ---------------------------------------------------------------- files

fn write(d: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = d.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn vectors(n: usize, d: usize) -> Vec<Vec<f32>> {
    (0..n)
        .map(|i| (0..d).map(|j| (i * 100 + j) as f32 * 0.5).collect())
        .collect()
}

fn fvecs_bytes(vs: &[Vec<f32>]) -> Vec<u8> {
    let mut b = Vec::new();
    for v in vs {
        b.extend_from_slice(&(v.len() as i32).to_le_bytes());
        b.extend_from_slice(&f32_bytes(v));
    }
    b
}

/// A .npy file of `version` with header dict `dict` and `data`.
fn npy(version: u8, dict: &str, data: &[u8]) -> Vec<u8> {
    let lenbytes = if version == 1 { 2 } else { 4 };
    let pre = 6 + 2 + lenbytes;
    let mut h = dict.to_string();
    while !(pre + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut b = b"\x93NUMPY".to_vec();
    b.push(version);
    b.push(0);
    if version == 1 {
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
    } else {
        b.extend_from_slice(&(h.len() as u32).to_le_bytes());
    }
    b.extend_from_slice(h.as_bytes());
    b.extend_from_slice(data);
    b
}

fn read_all(p: &Path, fmt: Option<Format>, dim: Option<usize>) -> Result<Vec<Vec<f32>>, String> {
    let mut r = VecReader::open(p, fmt, dim).map_err(|e| e.0)?;
    let mut all = Vec::new();
    let mut v = Vec::new();
    while r.read_into(&mut v).map_err(|e| e.0)? {
        all.push(std::mem::take(&mut v));
    }
    assert_eq!(all.len() as u64, r.len());
    Ok(all)
}

#[test]
fn f32_files() {
    let d = tempfile::tempdir().unwrap();
    let vs = vectors(5, 3);
    let flat: Vec<f32> = vs.concat();
    let p = write(d.path(), "a.f32", &f32_bytes(&flat));
    assert_eq!(read_all(&p, None, Some(3)).unwrap(), vs);
    // Another dimension that divides the size reads as that: the file does
    // not say.
    assert_eq!(read_all(&p, None, Some(5)).unwrap().len(), 3);
    let e = read_all(&p, None, Some(4)).unwrap_err();
    assert!(
        e.contains("60 bytes") && e.contains("4-dimensional"),
        "{}",
        e
    );
    let e = read_all(&p, None, None).unwrap_err();
    assert!(e.contains("--dim"), "{}", e);
    assert!(read_all(&p, None, Some(0)).is_err());
    // Truncated by a byte.
    let mut b = f32_bytes(&flat);
    b.pop();
    let p = write(d.path(), "b.f32", &b);
    assert!(read_all(&p, None, Some(3))
        .unwrap_err()
        .contains("truncated"));
    // Empty: no vectors.
    let p = write(d.path(), "c.f32", &[]);
    assert!(read_all(&p, None, Some(3)).unwrap().is_empty());
    // Random access.
    let p = write(d.path(), "a.f32", &f32_bytes(&flat));
    assert_eq!(read_one(&p, None, Some(3), 4).unwrap(), vs[4]);
    let e = read_one(&p, None, Some(3), 5).unwrap_err().0;
    assert!(
        e.contains("5 vectors") && e.contains("no vector 5"),
        "{}",
        e
    );
}

#[test]
fn fvecs_files() {
    let d = tempfile::tempdir().unwrap();
    let vs = vectors(4, 7);
    let p = write(d.path(), "a.fvecs", &fvecs_bytes(&vs));
    assert_eq!(read_all(&p, None, None).unwrap(), vs);
    assert_eq!(read_all(&p, None, Some(7)).unwrap(), vs);
    assert!(read_all(&p, None, Some(8))
        .unwrap_err()
        .contains("7 dimensions"));
    assert_eq!(read_one(&p, None, None, 2).unwrap(), vs[2]);

    // A record declaring another dimension, same total size.
    let mut mixed = fvecs_bytes(&vs);
    mixed[2 * 32..2 * 32 + 4].copy_from_slice(&6i32.to_le_bytes());
    let p = write(d.path(), "mixed.fvecs", &mixed);
    let e = read_all(&p, None, None).unwrap_err();
    assert!(e.contains("vector 2 declares dimension 6"), "{}", e);

    let mut t = fvecs_bytes(&vs);
    t.truncate(t.len() - 3);
    let p = write(d.path(), "t.fvecs", &t);
    assert!(read_all(&p, None, None).unwrap_err().contains("truncated"));

    let p = write(d.path(), "neg.fvecs", &(-3i32).to_le_bytes());
    assert!(read_all(&p, None, None)
        .unwrap_err()
        .contains("dimension -3"));
    let p = write(d.path(), "short.fvecs", &[1, 0]);
    assert!(read_all(&p, None, None).unwrap_err().contains("truncated"));
    // A huge declared dimension in a small file: an error, not an allocation.
    let p = write(d.path(), "huge.fvecs", &i32::MAX.to_le_bytes());
    assert!(read_all(&p, None, None).is_err());
    let p = write(d.path(), "empty.fvecs", &[]);
    assert!(read_all(&p, None, None).unwrap().is_empty());
}

#[test]
fn npy_files() {
    let d = tempfile::tempdir().unwrap();
    let vs = vectors(3, 4);
    let flat: Vec<f32> = vs.concat();
    let hdr = |descr: &str, fortran: &str, shape: &str| {
        format!(
            "{{'descr': '{}', 'fortran_order': {}, 'shape': {}, }}",
            descr, fortran, shape
        )
    };
    for version in [1, 2, 3] {
        let p = write(
            d.path(),
            &format!("v{}.npy", version),
            &npy(version, &hdr("<f4", "False", "(3, 4)"), &f32_bytes(&flat)),
        );
        assert_eq!(read_all(&p, None, None).unwrap(), vs, "version {}", version);
        assert_eq!(read_one(&p, None, None, 1).unwrap(), vs[1]);
    }
    // float64, converted.
    let f64b: Vec<u8> = flat
        .iter()
        .flat_map(|&x| f64::from(x).to_le_bytes())
        .collect();
    let p = write(
        d.path(),
        "f8.npy",
        &npy(1, &hdr("<f8", "False", "(3, 4)"), &f64b),
    );
    assert_eq!(read_all(&p, None, None).unwrap(), vs);
    // One vector, shape (d,); Fortran order is the same layout in 1-D.
    let p = write(
        d.path(),
        "one.npy",
        &npy(1, &hdr("<f4", "True", "(4,)"), &f32_bytes(&vs[0])),
    );
    assert_eq!(read_all(&p, None, None).unwrap(), vec![vs[0].clone()]);
    // Empty (0, 4).
    let p = write(
        d.path(),
        "empty.npy",
        &npy(1, &hdr("<f4", "False", "(0, 4)"), &[]),
    );
    assert!(read_all(&p, None, None).unwrap().is_empty());

    let bad = |name: &str, bytes: Vec<u8>, want: &str| {
        let p = write(d.path(), name, &bytes);
        let e = read_all(&p, None, None).unwrap_err();
        assert!(e.contains(want), "{}: {:?} lacks {:?}", name, e, want);
    };
    bad(
        "fortran.npy",
        npy(1, &hdr("<f4", "True", "(3, 4)"), &f32_bytes(&flat)),
        "Fortran order",
    );
    bad(
        "be.npy",
        npy(1, &hdr(">f4", "False", "(3, 4)"), &f32_bytes(&flat)),
        "big-endian",
    );
    bad(
        "int.npy",
        npy(1, &hdr("<i4", "False", "(3, 4)"), &f32_bytes(&flat)),
        "dtype '<i4' is not supported",
    );
    bad(
        "3d.npy",
        npy(1, &hdr("<f4", "False", "(1, 3, 4)"), &f32_bytes(&flat)),
        "neither",
    );
    bad(
        "scalar.npy",
        npy(1, &hdr("<f4", "False", "()"), &f32_bytes(&flat[..1])),
        "neither",
    );
    bad(
        "zerodim.npy",
        npy(1, &hdr("<f4", "False", "(3, 0)"), &[]),
        "0 dimensions",
    );
    bad(
        "short.npy",
        npy(1, &hdr("<f4", "False", "(3, 4)"), &f32_bytes(&flat[..11])),
        "truncated",
    );
    let mut long = f32_bytes(&flat);
    long.extend_from_slice(&[0; 4]);
    bad(
        "long.npy",
        npy(1, &hdr("<f4", "False", "(3, 4)"), &long),
        "trailing",
    );
    bad(
        "huge.npy",
        npy(
            1,
            &hdr(
                "<f4",
                "False",
                "(18446744073709551615, 18446744073709551615)",
            ),
            &[],
        ),
        "too many",
    );
    bad(
        "nokey.npy",
        npy(1, "{'descr': '<f4', 'shape': (3, 4), }", &f32_bytes(&flat)),
        "lacks",
    );
    bad(
        "garbage.npy",
        npy(
            1,
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4) junk",
            &f32_bytes(&flat),
        ),
        "expected",
    );
    let mut magic = npy(1, &hdr("<f4", "False", "(3, 4)"), &f32_bytes(&flat));
    magic[1] = b'X';
    bad("magic.npy", magic, "magic");
    let mut ver = npy(1, &hdr("<f4", "False", "(3, 4)"), &f32_bytes(&flat));
    ver[6] = 9;
    bad("ver.npy", ver, "version 9.0");
    // Header length past the end of the file.
    let mut cut = npy(1, &hdr("<f4", "False", "(3, 4)"), &[]);
    cut.truncate(40);
    bad("cut.npy", cut, "truncated");
    bad("tiny.npy", b"\x93NUM".to_vec(), "too short");
}

#[test]
fn json_files() {
    let d = tempfile::tempdir().unwrap();
    let ok = |name: &str, text: &str| read_all(&write(d.path(), name, text.as_bytes()), None, None);
    assert_eq!(
        ok("flat.json", " [1, 2.5, -3e-1]\n").unwrap(),
        vec![vec![1.0, 2.5, -0.3]]
    );
    assert_eq!(
        ok("nested.json", "[[1,2],\n [3, 4] ,[5,6]]").unwrap(),
        vec![vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]]
    );
    assert!(ok("empty.json", "[ ]").unwrap().is_empty());
    let p = write(d.path(), "n.json", b"[[1,2],[3,4],[5,6]]");
    assert_eq!(read_one(&p, None, None, 2).unwrap(), vec![5.0, 6.0]);
    let mut r = VecReader::open(&p, None, None).unwrap();
    assert_eq!(r.nth(1).unwrap(), vec![3.0, 4.0]);
    assert_eq!(r.nth(0).unwrap(), vec![1.0, 2.0]);
    assert_eq!(r.nth(2).unwrap(), vec![5.0, 6.0]);

    let bad = |name: &str, text: &str, want: &str| {
        let e = ok(name, text).unwrap_err();
        assert!(e.contains(want), "{}: {:?} lacks {:?}", name, e, want);
    };
    bad(
        "ragged.json",
        "[[1,2],[3]]",
        "has 1 numbers, the first one 2",
    );
    bad("ragged2.json", "[[1,2],[3,4,5]]", "more than 2");
    bad("emptyvec.json", "[[]]", "empty vector");
    bad("deep.json", "[[[1]]]", "expected a number");
    bad("mixed.json", "[1, [2]]", "expected a number");
    bad("open.json", "[[1,2],[3,4]", "the end of the file");
    bad("open2.json", "[1, 2", "the end of the file");
    bad("trail.json", "[1, 2] x", "expected the end of the file");
    bad("trail2.json", "[[1]] [[2]]", "expected the end of the file");
    bad("comma.json", "[1,,2]", "expected a number");
    bad("tcomma.json", "[1,2,]", "expected a number");
    bad("nocomma.json", "[1 2]", "',' or ']'");
    bad("str.json", "[\"1\"]", "expected a number");
    bad("nan.json", "[NaN]", "expected a number");
    bad("num.json", "[01]", "not a number");
    bad("num2.json", "[1.5.2]", "not a number");
    bad("big.json", "[1e39]", "out of float32 range");
    bad("obj.json", "{\"a\": 1}", "expected '['");
    bad("nothing.json", "", "expected '['");
    let long = format!("[{}]", "1".repeat(1000));
    bad("long.json", &long, "too long");
}

#[test]
fn streaming_batches() {
    let d = tempfile::tempdir().unwrap();
    let vs = vectors(10, 3);
    for (name, bytes, dim) in [
        ("s.f32", f32_bytes(&vs.concat()), Some(3)),
        ("s.fvecs", fvecs_bytes(&vs), None),
        ("s.json", serde_json::to_vec(&vs).unwrap(), None),
        (
            "s.npy",
            npy(
                1,
                "{'descr': '<f4', 'fortran_order': False, 'shape': (10, 3), }",
                &f32_bytes(&vs.concat()),
            ),
            None,
        ),
    ] {
        let p = write(d.path(), name, &bytes);
        let mut r = VecReader::open(&p, None, dim).unwrap();
        assert_eq!((r.len(), r.dim()), (10, 3), "{}", name);
        let mut buf = Vec::new();
        let mut got = Vec::new();
        let mut sizes = Vec::new();
        loop {
            let n = r.read_batch(4, &mut buf).unwrap();
            if n == 0 {
                break;
            }
            sizes.push(n);
            assert_eq!(buf.len(), n * 3);
            got.extend_from_slice(&buf);
        }
        assert_eq!(sizes, vec![4, 4, 2], "{}", name);
        assert_eq!(got, vs.concat(), "{}", name);
    }
}

#[test]
fn format_detection_and_override() {
    let d = tempfile::tempdir().unwrap();
    assert_eq!(Format::from_path(Path::new("x.NPY")), Some(Format::Npy));
    assert_eq!(Format::from_path(Path::new("x.fvecs")), Some(Format::Fvecs));
    assert_eq!(Format::from_path(Path::new("x.bin")), None);
    let p = write(d.path(), "v.bin", b"[1,2,3]");
    let e = read_all(&p, None, None).unwrap_err();
    assert!(e.contains("--input-format"), "{}", e);
    assert_eq!(
        read_all(&p, Some(Format::Json), None).unwrap(),
        vec![vec![1.0, 2.0, 3.0]]
    );
    let e = read_all(&d.path().join("missing.json"), None, None).unwrap_err();
    assert!(e.contains("No such file"), "{}", e);
}

// ---------------------------------------------------------------- CLI

fn vexctl(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_vexctl"))
        .args(args)
        .output()
        .expect("run vexctl");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn cli_not_on_vexfs() {
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "plain", b"hello");
    let fs = f.to_str().unwrap();
    let want = format!(
        "vexctl: {}: Inappropriate ioctl for device (not on a VexFS filesystem",
        fs
    );
    for args in [
        vec!["get", fs],
        vec!["get", fs, "--format", "json"],
        vec!["set", fs, "--vector", "-0.5,1,2"],
        vec!["rm", fs],
        vec!["info", fs],
        vec!["stats", fs, "--format", "json"],
    ] {
        let (code, out, err) = vexctl(&args);
        assert_eq!(code, 1, "{:?}: {}", args, err);
        assert!(out.is_empty());
        assert!(err.starts_with(&want), "{:?}: {}", args, err);
    }
    let dir = d.path().to_str().unwrap();
    let (code, _, err) = vexctl(&["search", dir, "--vector", "1,2", "-k", "3"]);
    assert_eq!(code, 1);
    assert!(err.contains("Inappropriate ioctl"), "{}", err);
    // set does not change the file's contents when it fails.
    assert_eq!(std::fs::read(&f).unwrap(), b"hello");

    let v = write(d.path(), "v.json", b"[[1,2],[3,4]]");
    let sub = d.path().join("into");
    std::fs::create_dir(&sub).unwrap();
    let (code, _, err) = vexctl(&["import", sub.to_str().unwrap(), v.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("Inappropriate ioctl"), "{}", err);
    // Nothing created before the filesystem answered.
    assert_eq!(std::fs::read_dir(&sub).unwrap().count(), 0);
}

#[test]
fn cli_argument_errors() {
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "plain", b"");
    let fs = f.to_str().unwrap();
    let missing = d.path().join("nope");
    let ms = missing.to_str().unwrap();

    let (code, _, err) = vexctl(&["get", ms]);
    assert_eq!(code, 1);
    assert_eq!(err, format!("vexctl: {}: No such file or directory\n", ms));

    // Usage errors (clap): exit 2.
    assert_eq!(vexctl(&["set", fs, "--index", "3"]).0, 2);
    assert_eq!(
        vexctl(&["set", fs, "--vector", "1", "--from", "x.json"]).0,
        2
    );
    assert_eq!(vexctl(&["get", fs, "--format", "xml"]).0, 2);
    assert_eq!(vexctl(&[]).0, 2);

    let (code, _, err) = vexctl(&["set", fs]);
    assert_eq!(code, 1);
    assert!(err.contains("--vector or --from"), "{}", err);
    let (code, _, err) = vexctl(&["set", fs, "--vector", "1,zz"]);
    assert_eq!(code, 1);
    assert!(err.contains("--vector: element 1 ('zz')"), "{}", err);
    let bad = write(d.path(), "bad.json", b"[1,");
    let (code, _, err) = vexctl(&["set", fs, "--from", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with(&format!("vexctl: {}: JSON:", bad.display())),
        "{}",
        err
    );
    let v = write(d.path(), "v.json", b"[[1,2]]");
    let (code, _, err) = vexctl(&["set", fs, "--from", v.to_str().unwrap(), "--index", "1"]);
    assert_eq!(code, 1);
    assert!(err.contains("no vector 1"), "{}", err);

    let dir = d.path().to_str().unwrap();
    for k in ["0", "1025"] {
        let (code, _, err) = vexctl(&["search", dir, "-k", k, "--vector", "1"]);
        assert_eq!(code, 1);
        assert!(err.contains("between 1 and 1024"), "{}", err);
    }
    let (code, _, err) = vexctl(&["import", dir, v.to_str().unwrap(), "--batch", "2000"]);
    assert_eq!(code, 1);
    assert!(err.contains("1 to 1024"), "{}", err);
    let (code, _, err) = vexctl(&["import", dir, v.to_str().unwrap(), "--prefix", "a/b"]);
    assert_eq!(code, 1);
    assert!(err.contains("--prefix"), "{}", err);
}

// ---------------------------------------------------------------- fake kernel

/// An LD_PRELOAD stand-in for the kernel side of the vector ioctls (the real
/// one needs a VexFS mount): it keeps vectors per inode number in the file
/// $VEXFS_FAKE_STORE, decodes the requests with the header's own macros and
/// answers with the header's errnos. Exact L2 search, no subtree filter.
const FAKE_KERNEL: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "vexfs_uapi.h"

#define DIM 3
#define CAP 8192
struct rec { unsigned long long ino; float v[DIM]; char path[512]; };
static struct rec recs[CAP];
static unsigned n;

static void load(void) {
    FILE *f = fopen(getenv("VEXFS_FAKE_STORE"), "rb");
    n = 0;
    if (f) { n = fread(recs, sizeof(struct rec), CAP, f); fclose(f); }
}
static void save(void) {
    FILE *f = fopen(getenv("VEXFS_FAKE_STORE"), "wb");
    fwrite(recs, sizeof(struct rec), n, f);
    fclose(f);
}
static int find(unsigned long long ino) {
    for (unsigned i = 0; i < n; i++) if (recs[i].ino == ino) return i;
    return -1;
}
static int ino_of(int fd, unsigned long long *ino) {
    struct stat st;
    if (fstat(fd, &st)) return -EBADF;
    *ino = st.st_ino;
    return 0;
}
static void path_of(int fd, char *out, size_t len) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(proc, out, len - 1);
    out[n < 0 ? 0 : n] = 0;
}
static int writable(int fd) { int m = fcntl(fd, F_GETFL) & O_ACCMODE; return m == O_WRONLY || m == O_RDWR; }
static int set1(int fd, const float *v) {
    unsigned long long ino;
    if (!writable(fd)) return -EBADF;
    if (ino_of(fd, &ino)) return -EBADF;
    for (int j = 0; j < DIM; j++) if (!isfinite(v[j])) return -EDOM;
    int i = find(ino);
    if (i < 0) { if (n == CAP) return -ENOSPC; i = n++; }
    recs[i].ino = ino;
    memcpy(recs[i].v, v, sizeof(recs[i].v));
    path_of(fd, recs[i].path, sizeof(recs[i].path));
    return 0;
}

int ioctl(int fd, unsigned long req, ...) {
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    int r = 0;
    load();
    switch (req) {
    case VEXFS_IOC_INFO: {
        struct vexfs_ioc_info *a = arg;
        if (a->size != sizeof(*a)) { r = -EINVAL; break; }
        a->dim = DIM; a->metric = VEXFS_METRIC_L2; a->m = 16; a->ef_construction = 200;
        a->ef_search = 64; a->count = n; a->capacity = CAP; a->index_bytes = 100ull * n;
        a->levels = n ? 1 : 0;
        break;
    }
    case VEXFS_IOC_SET_VECTOR: {
        struct vexfs_ioc_vector *a = arg;
        if (a->size != sizeof(*a)) { r = -EINVAL; break; }
        if (a->dim != DIM) { r = -EMSGSIZE; break; }
        r = set1(fd, (const float *)(unsigned long)a->data);
        break;
    }
    case VEXFS_IOC_GET_VECTOR: {
        struct vexfs_ioc_vector *a = arg;
        unsigned long long ino;
        if (a->size != sizeof(*a)) { r = -EINVAL; break; }
        ino_of(fd, &ino);
        int i = find(ino);
        if (i < 0) { r = -ENODATA; break; }
        if (a->dim < DIM) { r = -EMSGSIZE; break; }
        memcpy((void *)(unsigned long)a->data, recs[i].v, sizeof(recs[i].v));
        a->dim = DIM;
        break;
    }
    case VEXFS_IOC_DEL_VECTOR: {
        unsigned long long ino;
        if (!writable(fd)) { r = -EBADF; break; }
        ino_of(fd, &ino);
        int i = find(ino);
        if (i < 0) { r = -ENODATA; break; }
        recs[i] = recs[--n];
        break;
    }
    case VEXFS_IOC_QUERY: {
        struct vexfs_ioc_query *a = arg;
        if (a->size < VEXFS_IOC_QUERY_SIZE_VER0 || a->size > sizeof(*a) || a->flags & ~VEXFS_QUERY_EXACT) { r = -EINVAL; break; }
        char *paths = a->size >= VEXFS_IOC_QUERY_SIZE_VER1 ? (char *)(unsigned long)a->paths : NULL;
        if (a->dim != DIM) { r = -EMSGSIZE; break; }
        if (a->k == 0 || a->k > VEXFS_MAX_K) { r = -ERANGE; break; }
        /* paths relative to the directory queried; "" outside it (no subtree filter here) */
        char qdir[512];
        struct stat qst;
        path_of(fd, qdir, sizeof qdir);
        if (fstat(fd, &qst) || !S_ISDIR(qst.st_mode)) qdir[0] = 0;
        unsigned pused = 0;
        const float *q = (const float *)(unsigned long)a->vector;
        struct vexfs_ioc_hit *h = (void *)(unsigned long)a->hits;
        static float dist[CAP]; static int used[CAP];
        for (unsigned i = 0; i < n; i++) {
            float d = 0;
            for (int j = 0; j < DIM; j++) d += (recs[i].v[j] - q[j]) * (recs[i].v[j] - q[j]);
            dist[i] = d; used[i] = 0;
        }
        a->count = 0;
        while (a->count < a->k && a->count < n) {
            int best = -1;
            for (unsigned i = 0; i < n; i++)
                if (!used[i] && (best < 0 || dist[i] < dist[best])) best = i;
            used[best] = 1;
            h[a->count].ino = recs[best].ino; h[a->count].distance = dist[best];
            h[a->count].reserved = 0;
            a->count++;
            if (paths) {
                size_t ql = strlen(qdir);
                const char *rel = "";
                if (ql && !strncmp(recs[best].path, qdir, ql) && recs[best].path[ql] == '/')
                    rel = recs[best].path + ql + 1;
                size_t len = strlen(rel) + 1;
                if (pused + len <= a->paths_len) memcpy(paths + pused, rel, len);
                pused += len;
            }
        }
        if (paths) {
            a->paths_used = pused;
            if (pused > a->paths_len) r = -EOVERFLOW;
        }
        break;
    }
    case VEXFS_IOC_BATCH_SET: {
        struct vexfs_ioc_batch *a = arg;
        if (a->size != sizeof(*a) || a->flags) { r = -EINVAL; break; }
        if (a->count == 0 || a->count > VEXFS_MAX_BATCH) { r = -E2BIG; break; }
        if (a->dim != DIM) { r = -EMSGSIZE; break; }
        const int *fds = (const int *)(unsigned long)a->fds;
        const float *v = (const float *)(unsigned long)a->vectors;
        int *errs = (int *)(unsigned long)a->errors;
        a->done = 0;
        for (unsigned i = 0; i < a->count; i++) {
            errs[i] = set1(fds[i], v + (unsigned long)i * DIM);
            if (!errs[i]) a->done++;
        }
        break;
    }
    default: {
        int (*real)(int, unsigned long, ...) = dlsym(RTLD_NEXT, "ioctl");
        return real(fd, req, arg);
    }
    }
    save();
    if (r < 0) { errno = -r; return -1; }
    return 0;
}
"#;

struct Fake {
    dir: tempfile::TempDir,
    so: PathBuf,
    store: PathBuf,
    fs: PathBuf,
}

impl Fake {
    fn new() -> Fake {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("fake.c");
        std::fs::write(&src, FAKE_KERNEL).unwrap();
        let so = d.path().join("fake.so");
        let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ffi/include");
        let st = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
            .args(["-shared", "-fPIC", "-O1", "-o"])
            .arg(&so)
            .arg("-I")
            .arg(&include)
            .arg(&src)
            .args(["-ldl", "-lm"])
            .status()
            .expect("run the C compiler (cc)");
        assert!(st.success());
        let fs = d.path().join("fs");
        std::fs::create_dir(&fs).unwrap();
        Fake {
            store: d.path().join("store"),
            so,
            fs,
            dir: d,
        }
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let o = Command::new(env!("CARGO_BIN_EXE_vexctl"))
            .args(args)
            .env("LD_PRELOAD", &self.so)
            .env("VEXFS_FAKE_STORE", &self.store)
            .output()
            .expect("run vexctl");
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    fn file(&self, name: &str) -> String {
        let p = self.fs.join(name);
        std::fs::write(&p, b"").unwrap();
        p.to_str().unwrap().to_string()
    }
}

/// LD_PRELOAD must reach vexctl's ioctl calls (it does for the usual
/// dynamically linked glibc build): fail loudly rather than test nothing.
fn fake_works(f: &Fake) -> bool {
    let dir = f.fs.to_str().unwrap();
    let (code, _, err) = f.run(&["info", dir]);
    assert_eq!(
        code, 0,
        "the LD_PRELOAD fake kernel is not in effect: {}",
        err
    );
    true
}

#[test]
fn fake_kernel_set_get_rm_search_info() {
    let f = Fake::new();
    if !fake_works(&f) {
        return;
    }
    let a = f.file("a");
    let b = f.file("b");
    let sub = f.fs.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let c = sub.join("c");
    std::fs::write(&c, b"").unwrap();
    let c = c.to_str().unwrap().to_string();
    let dir = f.fs.to_str().unwrap();

    assert_eq!(f.run(&["set", &a, "--vector", "1,0,0"]).0, 0);
    assert_eq!(f.run(&["set", &b, "--vector", "[0, 1, 0]"]).0, 0);
    let v = write(&f.fs, "q.json", b"[[9,9,9],[0,0,1.5]]");
    assert_eq!(
        f.run(&["set", &c, "--from", v.to_str().unwrap(), "--index", "1"])
            .0,
        0
    );
    assert_eq!(f.run(&["get", &c]).1, "0,0,1.5\n");
    assert_eq!(f.run(&["get", &a, "--format", "json"]).1, "[1.0,0.0,0.0]\n");

    // Errors, explained.
    let (code, _, err) = f.run(&["set", &a, "--vector", "1,2"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "vexctl: {}: Message too long (vector has 2 dimensions, the filesystem expects 3)\n",
            a
        )
    );
    let (code, _, err) = f.run(&["set", &a, "--vector", "1,nan,2"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("(the vector holds a NaN or an infinity)"),
        "{}",
        err
    );
    let e = f.file("e");
    let (code, _, err) = f.run(&["get", &e]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "vexctl: {}: No data available (the file has no vector)\n",
            e
        )
    );

    // Search: nearest first, paths from the ioctl, distances.
    let (code, out, err) = f.run(&["search", dir, "-k", "2", "--vector", "0.9,0.1,0"]);
    assert_eq!(code, 0, "{}", err);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out);
    assert!(
        lines[0].trim_start().starts_with("1 ") && lines[0].ends_with(&a),
        "{}",
        out
    );
    assert!(
        lines[1].trim_start().starts_with("2 ") && lines[1].ends_with(&b),
        "{}",
        out
    );
    let (_, out, _) = f.run(&[
        "search", dir, "-k", "5", "--vector", "0,0,1", "--format", "json",
    ]);
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    let hits = j.as_array().unwrap();
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[0]["path"], c.as_str());
    assert_eq!(hits[0]["rank"], 1);
    assert_eq!(hits[0]["distance"], 0.25);
    // A hit the kernel gives no path for shows as <ino N>.
    let (_, out, _) = f.run(&[
        "search",
        sub.to_str().unwrap(),
        "-k",
        "3",
        "--vector",
        "0,0,1",
    ]);
    assert!(out.lines().nth(1).unwrap().contains("<ino "), "{}", out);

    let (code, out, _) = f.run(&["info", dir]);
    assert_eq!(code, 0);
    assert!(out.contains("dimension:          3"), "{}", out);
    assert!(out.contains("metric:             l2"), "{}", out);
    assert!(out.contains("vectors:            3"), "{}", out);
    let (_, out, _) = f.run(&["stats", dir, "--format", "json"]);
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["count"], 3);
    assert_eq!(j["capacity"], 8192);
    assert_eq!(j["free"], 8189);
    assert_eq!(j["vector_bytes"], 36);

    assert_eq!(f.run(&["rm", &b]).0, 0);
    let (code, _, err) = f.run(&["rm", &b]);
    assert_eq!(code, 1);
    assert!(err.contains("the file has no vector"), "{}", err);
    let (_, out, _) = f.run(&["search", dir, "-k", "5", "--vector", "0,1,0"]);
    assert_eq!(out.lines().count(), 2);
}

#[test]
fn fake_kernel_import() {
    let f = Fake::new();
    if !fake_works(&f) {
        return;
    }
    let n = 2500usize;
    let mut vs: Vec<Vec<f32>> = (0..n).map(|i| vec![i as f32, 0.0, 1.0]).collect();
    vs[1234][1] = f32::NAN; // refused per file (EDOM)
    let npyb = npy(
        1,
        &format!(
            "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, 3), }}",
            n
        ),
        &f32_bytes(&vs.concat()),
    );
    let vf = write(f.dir.path(), "vs.npy", &npyb);
    let into = f.fs.join("into");
    std::fs::create_dir(&into).unwrap();
    let (code, out, err) = f.run(&[
        "import",
        into.to_str().unwrap(),
        vf.to_str().unwrap(),
        "--batch",
        "1000",
    ]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    let bad = into.join("vec-001234");
    assert!(
        err.contains(&format!(
            "vexctl: {}: Numerical argument out of domain (the vector holds a NaN or an infinity)",
            bad.display()
        )),
        "{}",
        err
    );
    assert!(
        err.contains("2499 of 2500 vectors set, 1 failed"),
        "{}",
        err
    );
    assert_eq!(std::fs::read_dir(&into).unwrap().count(), n);
    assert_eq!(std::fs::metadata(into.join("vec-000000")).unwrap().len(), 0);
    let (_, out, _) = f.run(&["get", into.join("vec-002499").to_str().unwrap()]);
    assert_eq!(out, "2499,0,1\n");
    let (_, out, _) = f.run(&[
        "search",
        f.fs.to_str().unwrap(),
        "-k",
        "1",
        "--vector",
        "7,0,1",
    ]);
    assert!(out.trim_end().ends_with("vec-000007"), "{}", out);

    // Wrong dimension: refused before any file is created.
    let into2 = f.fs.join("into2");
    std::fs::create_dir(&into2).unwrap();
    let v4 = write(f.dir.path(), "v4.json", b"[[1,2,3,4]]");
    let (code, _, err) = f.run(&["import", into2.to_str().unwrap(), v4.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("vectors have 4 dimensions, the filesystem expects 3"),
        "{}",
        err
    );
    assert_eq!(std::fs::read_dir(&into2).unwrap().count(), 0);

    // .f32 takes the filesystem's dimension; a clean import says so.
    let raw = write(
        f.dir.path(),
        "r.f32",
        &f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
    );
    let (code, _, err) = f.run(&[
        "import",
        into2.to_str().unwrap(),
        raw.to_str().unwrap(),
        "--prefix",
        "r",
    ]);
    assert_eq!(code, 0, "{}", err);
    assert!(err.contains("2 vectors imported"), "{}", err);
    let (_, out, _) = f.run(&["get", into2.join("r-000001").to_str().unwrap()]);
    assert_eq!(out, "4,5,6\n");
}

#[test]
fn fake_kernel_long_paths_grow_the_buffer() {
    let f = Fake::new();
    if !fake_works(&f) {
        return;
    }
    // 2 x 200 bytes of directory names: more than vexctl's first buffer
    // (128 bytes per hit), so the kernel answers EOVERFLOW with the size
    // needed and vexctl asks again.
    let deep = f.fs.join("d".repeat(200)).join("e".repeat(200));
    std::fs::create_dir_all(&deep).unwrap();
    let file = deep.join("leaf");
    std::fs::write(&file, b"").unwrap();
    let file = file.to_str().unwrap().to_string();
    assert_eq!(f.run(&["set", &file, "--vector", "1,2,3"]).0, 0);
    let dir = f.fs.to_str().unwrap();
    let (code, out, err) = f.run(&["search", dir, "-k", "1", "--vector", "1,2,3"]);
    assert_eq!(code, 0, "{}", err);
    assert!(out.trim_end().ends_with(&file), "{}", out);
    let (_, out, _) = f.run(&[
        "search", dir, "-k", "1", "--vector", "1,2,3", "--format", "json",
    ]);
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j[0]["path"], file.as_str());
}

#[test]
fn fake_kernel_import_names() {
    let f = Fake::new();
    if !fake_works(&f) {
        return;
    }
    let kb = f.fs.join("kb");
    std::fs::create_dir_all(kb.join("gzip")).unwrap();
    std::fs::create_dir_all(kb.join("os/path")).unwrap();
    // An existing file keeps its contents and gets its vector.
    std::fs::write(kb.join("gzip/compress.txt"), b"Compress data.\n").unwrap();
    let v = write(f.dir.path(), "v.json", b"[[1,0,0],[0,1,0],[0,0,1]]");
    let vs = v.to_str().unwrap();
    let kbs = kb.to_str().unwrap();
    let list = write(
        f.dir.path(),
        "names",
        b"gzip/compress.txt\nos/path/join.txt\ntop.txt\n",
    );
    let (code, _, err) = f.run(&["import", kbs, vs, "--names", list.to_str().unwrap()]);
    assert_eq!(code, 0, "{}", err);
    assert!(err.contains("3 vectors imported"), "{}", err);
    assert_eq!(
        std::fs::read(kb.join("gzip/compress.txt")).unwrap(),
        b"Compress data.\n"
    );
    assert_eq!(
        std::fs::metadata(kb.join("os/path/join.txt"))
            .unwrap()
            .len(),
        0
    );
    let (_, out, _) = f.run(&["get", kb.join("os/path/join.txt").to_str().unwrap()]);
    assert_eq!(out, "0,1,0\n");
    let (_, out, _) = f.run(&["search", kbs, "-k", "1", "--vector", "0.9,0.1,0"]);
    assert!(out.trim_end().ends_with("gzip/compress.txt"), "{}", out);
    assert!(!kb.join("vec-000000").exists());

    // Refused before any file is created: wrong count, absolute or empty
    // names, a missing list; --prefix and --names together is a usage error.
    let into = f.fs.join("into");
    std::fs::create_dir(&into).unwrap();
    let is = into.to_str().unwrap();
    for (body, want) in [
        (&b"a\nb\n"[..], "2 names for 3 vectors"),
        (b"a\nb\nc\nd\n", "4 names for 3 vectors"),
        (
            b"a\n/etc/x\nc\n",
            "line 2: '/etc/x': a name must be a nonempty path relative",
        ),
        (b"a\n\nc\n", "line 2: '': a name must be"),
    ] {
        let l = write(f.dir.path(), "bad-names", body);
        let (code, _, err) = f.run(&["import", is, vs, "--names", l.to_str().unwrap()]);
        assert_eq!(code, 1, "{}", err);
        assert!(err.contains(want), "{}: {}", want, err);
        assert_eq!(std::fs::read_dir(&into).unwrap().count(), 0);
    }
    let missing = f.dir.path().join("no-such-list");
    let (code, _, err) = f.run(&["import", is, vs, "--names", missing.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("No such file or directory"), "{}", err);
    let (code, _, _) = f.run(&[
        "import",
        is,
        vs,
        "--names",
        list.to_str().unwrap(),
        "--prefix",
        "x",
    ]);
    assert_eq!(code, 2);
    // A name whose directory does not exist fails for that file only.
    let l = write(f.dir.path(), "names2", b"a\nnodir/b\nc\n");
    let (code, _, err) = f.run(&["import", is, vs, "--names", l.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("nodir/b: No such file or directory"),
        "{}",
        err
    );
    assert!(err.contains("2 of 3 vectors set, 1 failed"), "{}", err);
}
