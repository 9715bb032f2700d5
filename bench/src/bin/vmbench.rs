//! vexfs-vmbench: query throughput and recall of the vector ioctls on a
//! mounted filesystem, against the same core in userspace on the same data
//! and the same machine. Run inside the VM by `make bench-vm`. DIR should
//! be the mount root: a query on a subdirectory also walks that subtree.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use vexfs_core::dev::MemDevice;
use vexfs_core::mkfs::{format, MkfsOptions, VectorOptions};
use vexfs_core::Fs;
use vexfs_tools::ioctl;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}

/// `n` vectors around `clusters` centres, deterministic.
fn dataset(n: usize, dim: usize, clusters: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng(seed | 1);
    let centres: Vec<f32> = (0..clusters * dim).map(|_| r.next() * 4.0).collect();
    let mut out = Vec::with_capacity(n * dim);
    for i in 0..n {
        let c = (i * 7919) % clusters;
        for j in 0..dim {
            out.push(centres.get(c * dim + j).copied().unwrap_or(0.0) + r.next() * 0.6);
        }
    }
    out
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn recall(got: &[u64], truth: &[u64]) -> f64 {
    let hit = got.iter().filter(|g| truth.contains(g)).count();
    hit as f64 / truth.len().max(1) as f64
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("meta") {
        let Some(dir) = args.get(2).map(PathBuf::from) else {
            eprintln!("usage: vexfs-vmbench meta DIR [--n N]");
            return ExitCode::from(2);
        };
        return match run_meta(&dir, arg(&args, "--n", 500)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("vexfs-vmbench: {e}");
                ExitCode::from(1)
            }
        };
    }
    let Some(dir) = args.get(1).map(PathBuf::from) else {
        eprintln!("usage: vexfs-vmbench DIR [--n N] [--queries Q] [--k K] | meta DIR [--n N]");
        return ExitCode::from(2);
    };
    let (n, nq, k) = (
        arg(&args, "--n", 4000),
        arg(&args, "--queries", 100),
        arg(&args, "--k", 10),
    );
    match run(&dir, n, nq, k) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vexfs-vmbench: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(dir: &std::path::Path, n: usize, nq: usize, k: usize) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let d = File::open(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let info = ioctl::info(&d).map_err(|e| format!("INFO: {e}"))?;
    let dim = info.dim as usize;
    if dim == 0 {
        return Err("the filesystem has no vector space (mkfs.vexfs --dim)".into());
    }
    let data = dataset(n, dim, 32, 42);
    let queries = dataset(nq, dim, 32, 4242);

    // Kernel: files, batch import, queries through the ioctl.
    let t = Instant::now();
    let mut inos = Vec::with_capacity(n);
    for (c, chunk) in data.chunks(dim * 256).enumerate() {
        let files: Vec<File> = (0..chunk.len() / dim)
            .map(|i| File::create(dir.join(format!("b-{:06}", c * 256 + i))))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("create: {e}"))?;
        for f in &files {
            inos.push(f.metadata().map_err(|e| e.to_string())?.ino());
        }
        let fds: Vec<i32> = files.iter().map(|f| f.as_raw_fd()).collect();
        let out = ioctl::batch_set(&d, &fds, dim, chunk);
        out.result.map_err(|e| format!("BATCH_SET: {e}"))?;
        if out.done as usize != fds.len() {
            return Err(format!("BATCH_SET set {} of {}", out.done, fds.len()));
        }
    }
    let insert_s = t.elapsed().as_secs_f64();

    let mut truth: Vec<Vec<u64>> = Vec::new();
    for q in queries.chunks(dim) {
        let hits =
            ioctl::query(&d, q, k as u32, 0, true).map_err(|e| format!("QUERY exact: {e}"))?;
        truth.push(hits.iter().map(|h| h.ino).collect());
    }
    let t = Instant::now();
    let mut kernel_recall = 0.0;
    for (q, tr) in queries.chunks(dim).zip(&truth) {
        let hits = ioctl::query(&d, q, k as u32, 0, false).map_err(|e| format!("QUERY: {e}"))?;
        let got: Vec<u64> = hits.iter().map(|h| h.ino).collect();
        kernel_recall += recall(&got, tr);
    }
    let kernel_qps = nq as f64 / t.elapsed().as_secs_f64();
    kernel_recall /= nq as f64;

    // The same core in userspace, same data, same machine.
    let blocks = 65536;
    let mut dev = MemDevice::new(blocks);
    let mut vo = VectorOptions::new(info.dim, info.metric);
    vo.m = info.m;
    vo.ef_construction = info.ef_construction;
    vo.ef_search = info.ef_search;
    vo.capacity = n as u64;
    let opts = MkfsOptions {
        label: Vec::new(),
        vectors: Some(vo),
        inodes: (n + 64) as u64,
        uuid: [3; 16],
        blocks: 0,
    };
    format(&mut dev, &opts).map_err(|e| format!("userspace mkfs: {e}"))?;
    let mut fs = Fs::mount(dev, false).map_err(|e| format!("userspace mount: {e}"))?;
    let mut uinos = Vec::with_capacity(n);
    let t = Instant::now();
    for (i, v) in data.chunks(dim).enumerate() {
        let ino = fs
            .create(1, format!("b-{i:06}").as_bytes(), 0o100644, 0, 0, 0)
            .map_err(|e| e.to_string())?;
        fs.vec_set(ino, v).map_err(|e| e.to_string())?;
        uinos.push(ino);
    }
    let user_insert_s = t.elapsed().as_secs_f64();
    // Map userspace inode numbers to the kernel's through the dataset index.
    let to_kernel = |u: u64| {
        uinos
            .iter()
            .position(|&x| x == u)
            .and_then(|i| inos.get(i))
            .copied()
    };
    let t = Instant::now();
    let mut user_recall = 0.0;
    for (q, tr) in queries.chunks(dim).zip(&truth) {
        let hits = fs
            .vec_query(q, 1, k as u32, 0, false)
            .map_err(|e| e.to_string())?;
        let got: Vec<u64> = hits.iter().filter_map(|(u, _)| to_kernel(*u)).collect();
        user_recall += recall(&got, tr);
    }
    let user_qps = nq as f64 / t.elapsed().as_secs_f64();
    user_recall /= nq as f64;

    println!(
        "vexfs-vmbench: {n} vectors, dim {dim}, metric {}, {nq} queries, k {k}, ef {}",
        ioctl::metric_name(info.metric).unwrap_or("?"),
        info.ef_search
    );
    println!("  insert: kernel batch ioctl {:.0} vectors/s, userspace core {:.0} vectors/s (ratio {:.2})", n as f64 / insert_s, n as f64 / user_insert_s, user_insert_s / insert_s);
    println!("  query:  kernel ioctl {kernel_qps:.1} QPS recall@{k} {kernel_recall:.3}; userspace core {user_qps:.1} QPS recall@{k} {user_recall:.3}");
    println!("  ratio kernel/userspace QPS: {:.2}", kernel_qps / user_qps);
    // A sanity bound only: the figures are the benchmark's output.
    if kernel_recall < 0.5 {
        return Err(format!(
            "kernel recall@{k} {kernel_recall:.3} is implausibly low"
        ));
    }
    Ok(())
}

/// Metadata-heavy work: create, write 4 KiB, fsync, then unlink `n` small
/// files. Prints operations per second for each phase; the caller runs it on
/// VexFS and on ext4 on the same disk and compares.
fn run_meta(dir: &std::path::Path, n: usize) -> Result<(), String> {
    use std::io::Write;
    let sub = dir.join("meta");
    std::fs::create_dir_all(&sub).map_err(|e| format!("{}: {e}", sub.display()))?;
    let block = vec![0x5au8; 4096];
    let t = Instant::now();
    for i in 0..n {
        let mut f =
            File::create(sub.join(format!("m-{i:06}"))).map_err(|e| format!("create: {e}"))?;
        f.write_all(&block).map_err(|e| format!("write: {e}"))?;
        f.sync_all().map_err(|e| format!("fsync: {e}"))?;
    }
    let create_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for i in 0..n {
        std::fs::remove_file(sub.join(format!("m-{i:06}"))).map_err(|e| format!("unlink: {e}"))?;
    }
    File::open(&sub)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("fsync dir: {e}"))?;
    let unlink_s = t.elapsed().as_secs_f64();
    println!(
        "meta: {n} files: create+write+fsync {:.1} files/s, unlink {:.1} files/s",
        n as f64 / create_s,
        n as f64 / unlink_s
    );
    Ok(())
}
