//! vexfs-bench: approximate nearest-neighbour benchmarks of VexFS following
//! the ann-benchmarks conventions (base set, query set, ground-truth
//! neighbour ids; recall@k and queries per second per search breadth).
//!
//! `vexfs-bench ann --base B.fvecs --queries Q.fvecs [--gt G.ivecs] --k 10
//! --ef 16,32,64,128,256 [--m 16 --ef-construction 200] [--metric l2|cosine|ip]`
//! builds the core's HNSW index in userspace (single thread) over the base
//! set and times it, then runs every query once per ef (best of `--runs`).
//! With `--mount DIR` the same goes through the ioctls of a mounted VexFS:
//! one file per base vector in a new directory under DIR (one subdirectory
//! per batch of 1024), imported with BATCH_SET, queried through one
//! descriptor open on DIR; the files are left there.
//!
//! Input formats: `.fvecs` and `.npy` (float32/float64, shape (n, d)) for
//! vectors; `.ivecs` and `.npy` (integer, shape (n, w)) for ground truth.
//! Without `--gt` the ground truth is computed by brute force with the
//! core's exact search (and the output says so).
//!
//! Output: header lines start with `#`; then one `build` line and one line
//! per ef, `key=value` fields separated by spaces. Exit code 2 for bad
//! arguments or input files, 1 when the benchmark itself fails.

use std::fs::File;
use std::io::{BufReader, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use vexfs_core::vector::distance::{self, Metric};
use vexfs_core::vector::hnsw::{exact_search, Hnsw, HnswParams, SliceVectors};
use vexfs_tools::ioctl;
use vexfs_tools::uapi::{VEXFS_MAX_BATCH, VEXFS_MAX_EF, VEXFS_MAX_K};
use vexfs_tools::vecfile::{self, VecReader};

#[derive(Parser)]
#[command(name = "vexfs-bench", version, about = "VexFS benchmarks")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Recall@k and QPS per ef on an ann-benchmarks style data set.
    Ann(AnnArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum MetricArg {
    L2,
    Cosine,
    Ip,
}

impl MetricArg {
    fn core(self) -> Metric {
        match self {
            MetricArg::L2 => Metric::L2,
            MetricArg::Cosine => Metric::Cosine,
            MetricArg::Ip => Metric::Ip,
        }
    }
    fn from_core(m: Metric) -> MetricArg {
        match m {
            Metric::L2 => MetricArg::L2,
            Metric::Cosine => MetricArg::Cosine,
            Metric::Ip => MetricArg::Ip,
        }
    }
    fn name(self) -> &'static str {
        match self {
            MetricArg::L2 => "l2",
            MetricArg::Cosine => "cosine",
            MetricArg::Ip => "ip",
        }
    }
}

#[derive(clap::Args)]
struct AnnArgs {
    /// Base vectors (.fvecs or .npy).
    #[arg(long)]
    base: PathBuf,
    /// Query vectors (.fvecs or .npy), same dimension as the base.
    #[arg(long)]
    queries: PathBuf,
    /// Ground truth: per query the ids (base row numbers) of its nearest
    /// neighbours, nearest first (.ivecs or integer .npy). Brute force when absent.
    #[arg(long)]
    gt: Option<PathBuf>,
    /// Neighbours per query (recall@k).
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Search breadths, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "16,32,64,128,256")]
    ef: Vec<usize>,
    /// HNSW links per node (userspace build; a mounted VexFS has its own, from mkfs).
    #[arg(long, default_value_t = 16)]
    m: u32,
    /// HNSW construction breadth (userspace build; a mounted VexFS has its own).
    #[arg(long, default_value_t = 200)]
    ef_construction: u32,
    /// Distance (default l2; with --mount, the filesystem's).
    #[arg(long, value_enum)]
    metric: Option<MetricArg>,
    /// Use at most this many base vectors (0: all).
    #[arg(long, default_value_t = 0)]
    limit: usize,
    /// Runs of the query set per ef; the best QPS is reported.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Benchmark a mounted VexFS through its ioctls instead of the core in userspace.
    #[arg(long)]
    mount: Option<PathBuf>,
}

/// Why the benchmark stopped: bad input (exit 2) or a failure while running (exit 1).
enum Failure {
    Input(String),
    Run(String),
}

fn input<T>(msg: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::Input(msg.into()))
}

/// A set of vectors, `n * dim` floats.
struct VecSet {
    data: Vec<f32>,
    dim: usize,
    n: usize,
}

fn read_vectors(path: &Path, what: &str, limit: usize) -> Result<VecSet, Failure> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("fvecs") | Some("npy")) {
        return input(format!(
            "{what} {}: unsupported file type (expected .fvecs or .npy)",
            path.display()
        ));
    }
    let bad = |e: &dyn std::fmt::Display| Failure::Input(format!("{what} {}: {e}", path.display()));
    let mut r = VecReader::open(path, None, None).map_err(|e| bad(&e))?;
    let dim = r.dim();
    let mut n = usize::try_from(r.len()).map_err(|_| bad(&"too many vectors"))?;
    if limit > 0 {
        n = n.min(limit);
    }
    if n == 0 || dim == 0 {
        return input(format!("{what} {}: no vectors", path.display()));
    }
    let mut data = Vec::with_capacity(n.saturating_mul(dim));
    for _ in 0..n {
        if !r.read_into(&mut data).map_err(|e| bad(&e))? {
            return Err(bad(&"file ended early"));
        }
    }
    if let Some(i) = data.iter().position(|x| !x.is_finite()) {
        return Err(bad(&format!(
            "vector {} has a non-finite component (NaN or infinity)",
            i / dim
        )));
    }
    Ok(VecSet { data, dim, n })
}

/// Ground truth: `rows` of `width` ids each.
struct Truth {
    ids: Vec<u32>,
    width: usize,
}

impl Truth {
    fn row(&self, q: usize) -> &[u32] {
        self.ids
            .get(q * self.width..(q + 1) * self.width)
            .unwrap_or(&[])
    }
    fn rows(&self) -> usize {
        self.ids.len().checked_div(self.width).unwrap_or(0)
    }
}

fn read_all(path: &Path) -> Result<Vec<u8>, Failure> {
    let mut b = Vec::new();
    File::open(path)
        .and_then(|f| BufReader::new(f).read_to_end(&mut b))
        .map_err(|e| Failure::Input(format!("ground truth {}: {e}", path.display())))?;
    Ok(b)
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
}

fn read_ivecs(path: &Path) -> Result<Truth, Failure> {
    let b = read_all(path)?;
    let bad = |m: String| Failure::Input(format!("ground truth {}: {m}", path.display()));
    let mut ids = Vec::new();
    let mut width = None;
    let mut at = 0;
    let mut row = 0usize;
    while at < b.len() {
        let w = le_u32(&b, at).ok_or_else(|| bad(format!("truncated in row {row}")))? as i32;
        if w <= 0 {
            return Err(bad(format!(
                "row {row} declares {w} ids: not an .ivecs file?"
            )));
        }
        let w = w as usize;
        match width {
            None => width = Some(w),
            Some(x) if x != w => {
                return Err(bad(format!(
                    "row {row} has {w} ids, the rows before it {x}"
                )))
            }
            _ => {}
        }
        at += 4;
        for j in 0..w {
            let v = le_u32(&b, at + 4 * j).ok_or_else(|| bad(format!("truncated in row {row}")))?
                as i32;
            if v < 0 {
                return Err(bad(format!("row {row} has a negative id {v}")));
            }
            ids.push(v as u32);
        }
        at += 4 * w;
        row += 1;
    }
    let width = width.ok_or_else(|| bad("empty file".into()))?;
    Ok(Truth { ids, width })
}

fn read_truth(path: &Path) -> Result<Truth, Failure> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("ivecs") => read_ivecs(path),
        Some("npy") => vecfile::read_npy_ids(path)
            .map(|(ids, width)| Truth { ids, width })
            .map_err(|e| Failure::Input(format!("ground truth {}: {e}", path.display()))),
        _ => input(format!(
            "ground truth {}: unsupported file type (expected .ivecs or .npy)",
            path.display()
        )),
    }
}

/// Recall@k of `got` (per query, k ids; `u32::MAX` for an unknown hit).
fn recall(got: &[u32], truth: &Truth, k: usize) -> f64 {
    let nq = truth.rows();
    let mut hits = 0usize;
    for q in 0..nq {
        let t = truth.row(q).get(..k).unwrap_or(&[]);
        let g = got.get(q * k..(q + 1) * k).unwrap_or(&[]);
        hits += g.iter().filter(|id| t.contains(id)).count();
    }
    hits as f64 / (nq * k).max(1) as f64
}

/// The search side of a benchmark: fills `out` (k ids per query) for one ef.
trait Searcher {
    fn search_all(
        &mut self,
        queries: &VecSet,
        k: usize,
        ef: usize,
        out: &mut [u32],
    ) -> Result<(), Failure>;
}

struct Core<'a> {
    index: Hnsw,
    vecs: SliceVectors<'a>,
}

impl Searcher for Core<'_> {
    fn search_all(
        &mut self,
        queries: &VecSet,
        k: usize,
        ef: usize,
        out: &mut [u32],
    ) -> Result<(), Failure> {
        let mut all = |_: u32| true;
        for (q, o) in queries
            .data
            .chunks_exact(queries.dim)
            .zip(out.chunks_exact_mut(k))
        {
            let hits = self
                .index
                .search(q, k, ef, &self.vecs, &mut all)
                .map_err(|e| Failure::Run(format!("search: {e:?}")))?;
            o.fill(u32::MAX);
            for (slot, (id, _)) in o.iter_mut().zip(hits) {
                *slot = id;
            }
        }
        Ok(())
    }
}

struct Mounted {
    dir: File,
    /// Inode number to base row, sorted by inode.
    inos: Vec<(u64, u32)>,
}

impl Searcher for Mounted {
    fn search_all(
        &mut self,
        queries: &VecSet,
        k: usize,
        ef: usize,
        out: &mut [u32],
    ) -> Result<(), Failure> {
        for (q, o) in queries
            .data
            .chunks_exact(queries.dim)
            .zip(out.chunks_exact_mut(k))
        {
            let hits = ioctl::query(&self.dir, q, k as u32, ef as u32, false).map_err(|e| {
                Failure::Run(format!(
                    "QUERY: {}",
                    ioctl::describe(ioctl::Op::Query, &e, ioctl::Ctx::default())
                ))
            })?;
            o.fill(u32::MAX);
            for (slot, h) in o.iter_mut().zip(hits) {
                if let Ok(i) = self.inos.binary_search_by_key(&h.ino, |&(ino, _)| ino) {
                    if let Some(&(_, row)) = self.inos.get(i) {
                        *slot = row;
                    }
                }
            }
        }
        Ok(())
    }
}

fn brute_force(
    base: &VecSet,
    queries: &VecSet,
    k: usize,
    metric: Metric,
) -> Result<Truth, Failure> {
    let vecs = SliceVectors {
        data: &base.data,
        dim: base.dim,
    };
    let mut ids = Vec::with_capacity(queries.n * k);
    let mut all = |_: u32| true;
    for q in queries.data.chunks_exact(queries.dim) {
        let hits = exact_search(metric, q, k, 0..base.n as u32, &vecs, &mut all)
            .map_err(|e| Failure::Run(format!("exact search: {e:?}")))?;
        let mut row: Vec<u32> = hits.into_iter().map(|(id, _)| id).collect();
        row.resize(k, u32::MAX);
        ids.extend(row);
    }
    Ok(Truth { ids, width: k })
}

/// Imports `base` into a new directory under the mounted VexFS at `root`.
fn import(
    root: &Path,
    base: &VecSet,
    metric: Option<MetricArg>,
) -> Result<(Mounted, f64, MetricArg), Failure> {
    let run = |m: String| Failure::Run(m);
    let dir =
        File::open(root).map_err(|e| Failure::Input(format!("--mount {}: {e}", root.display())))?;
    let info = ioctl::info(&dir).map_err(|e| {
        Failure::Input(format!(
            "--mount {}: not a VexFS mount? ({})",
            root.display(),
            ioctl::describe(ioctl::Op::Info, &e, ioctl::Ctx::default())
        ))
    })?;
    if info.dim as usize != base.dim {
        return input(format!(
            "--mount {}: the filesystem's vectors have dimension {}, the base set {}",
            root.display(),
            info.dim,
            base.dim
        ));
    }
    let fs_metric = Metric::from_u32(info.metric)
        .map(MetricArg::from_core)
        .ok_or_else(|| run(format!("unknown metric {} in INFO", info.metric)))?;
    if let Some(m) = metric {
        if m != fs_metric {
            return input(format!(
                "--metric {} but the filesystem at {} uses {}",
                m.name(),
                root.display(),
                fs_metric.name()
            ));
        }
    }
    if info.capacity.saturating_sub(info.count) < base.n as u64 {
        return input(format!(
            "the filesystem holds {} of {} vectors: no room for {} more",
            info.count, info.capacity, base.n
        ));
    }
    if info.count > 0 {
        eprintln!(
            "vexfs-bench: warning: the filesystem already holds {} vectors; they may take result slots",
            info.count
        );
    }
    println!(
        "# filesystem: dim {}, metric {}, M {}, ef_construction {} (from mkfs)",
        info.dim,
        fs_metric.name(),
        info.m,
        info.ef_construction
    );
    let sub = (0..)
        .map(|i| root.join(format!("ann-bench-{}-{i}", std::process::id())))
        .find(|p| !p.exists())
        .ok_or_else(|| run("no directory name".into()))?;
    std::fs::create_dir(&sub).map_err(|e| run(format!("{}: {e}", sub.display())))?;
    let batch = VEXFS_MAX_BATCH as usize;
    let mut inos = Vec::with_capacity(base.n);
    let t = Instant::now();
    for (c, chunk) in base.data.chunks(base.dim * batch).enumerate() {
        // One directory per batch: VexFS directories are searched linearly,
        // so one directory of all the files would make creation quadratic.
        let shard = sub.join(format!("b{c:06}"));
        std::fs::create_dir(&shard).map_err(|e| run(format!("{}: {e}", shard.display())))?;
        let files: Vec<File> = (0..chunk.len() / base.dim)
            .map(|i| File::create(shard.join(format!("v{:09}", c * batch + i))))
            .collect::<Result<_, _>>()
            .map_err(|e| run(format!("create in {}: {e}", shard.display())))?;
        for (i, f) in files.iter().enumerate() {
            let ino = f.metadata().map_err(|e| run(e.to_string()))?.ino();
            inos.push((ino, (c * batch + i) as u32));
        }
        let fds: Vec<i32> = files.iter().map(|f| f.as_raw_fd()).collect();
        let out = ioctl::batch_set(&dir, &fds, base.dim, chunk);
        out.result.map_err(|e| {
            run(format!(
                "BATCH_SET: {}",
                ioctl::describe(ioctl::Op::Batch, &e, ioctl::Ctx::default())
            ))
        })?;
        if out.done as usize != fds.len() {
            return Err(run(format!("BATCH_SET set {} of {}", out.done, fds.len())));
        }
    }
    let secs = t.elapsed().as_secs_f64();
    inos.sort_unstable();
    Ok((Mounted { dir, inos }, secs, fs_metric))
}

fn run(a: &AnnArgs) -> Result<(), Failure> {
    if a.k == 0 {
        return input("--k must be at least 1");
    }
    if a.ef.is_empty() || a.ef.contains(&0) {
        return input("--ef must list search breadths of at least 1");
    }
    if a.mount.is_some() {
        if a.k > VEXFS_MAX_K as usize {
            return input(format!(
                "--k {} is above the filesystem's limit of {VEXFS_MAX_K}",
                a.k
            ));
        }
        if let Some(&e) = a.ef.iter().find(|&&e| e > VEXFS_MAX_EF as usize) {
            return input(format!(
                "--ef {e} is above the filesystem's limit of {VEXFS_MAX_EF}"
            ));
        }
    }
    let base = read_vectors(&a.base, "base", a.limit)?;
    if base.n > u32::MAX as usize - 1 {
        return input("base set: too many vectors");
    }
    let queries = read_vectors(&a.queries, "queries", 0)?;
    if queries.dim != base.dim {
        return input(format!(
            "dimension mismatch: base vectors have {} dimensions, queries {}",
            base.dim, queries.dim
        ));
    }
    if a.k > base.n {
        return input(format!(
            "--k {} is more than the {} base vectors",
            a.k, base.n
        ));
    }
    if a.limit > 0 && a.gt.is_some() {
        // The neighbours of the full set are not those of its first rows.
        return input(
            "--limit with --gt: the ground truth is that of the full base set; leave out --gt to compute it",
        );
    }
    let truth = match &a.gt {
        Some(p) => {
            let t = read_truth(p)?;
            if t.rows() != queries.n {
                return input(format!(
                    "ground truth {} has {} rows for {} queries",
                    p.display(),
                    t.rows(),
                    queries.n
                ));
            }
            if a.k > t.width {
                return input(format!(
                    "--k {} is more than the {} neighbours per query in the ground truth {}",
                    a.k,
                    t.width,
                    p.display()
                ));
            }
            if let Some(&id) = t.ids.iter().find(|&&id| id as usize >= base.n) {
                return input(format!(
                    "ground truth {} names base vector {id}, the base set has {}: not the ground truth of this set?",
                    p.display(),
                    base.n
                ));
            }
            Some(t)
        }
        None => None,
    };

    let vecs = SliceVectors {
        data: &base.data,
        dim: base.dim,
    };
    let (mut searcher, build_s, metric, what): (Box<dyn Searcher>, f64, MetricArg, String) =
        match &a.mount {
            None => {
                let metric = a.metric.unwrap_or(MetricArg::L2);
                let params = HnswParams {
                    m: a.m,
                    ef_construction: a.ef_construction,
                    ..HnswParams::default()
                };
                let mut index = Hnsw::new(params, metric.core(), base.n as u32);
                let used = index.params();
                let t = Instant::now();
                for id in 0..base.n as u32 {
                    index
                        .insert(id, &vecs)
                        .map_err(|e| Failure::Run(format!("insert {id}: {e:?}")))?;
                }
                let secs = t.elapsed().as_secs_f64();
                (
                    Box::new(Core { index, vecs }),
                    secs,
                    metric,
                    format!(
                        "core in userspace, single thread, M {}, ef_construction {}",
                        used.m, used.ef_construction
                    ),
                )
            }
            Some(root) => {
                let (m, secs, metric) = import(root, &base, a.metric)?;
                (
                    Box::new(m),
                    secs,
                    metric,
                    format!("ioctls on {}", root.display()),
                )
            }
        };
    let truth = match truth {
        Some(t) => {
            println!(
                "# ground truth: {} ({} neighbours per query)",
                a.gt.as_deref().unwrap_or(Path::new("")).display(),
                t.width
            );
            t
        }
        None => {
            let t0 = Instant::now();
            let t = brute_force(&base, &queries, a.k, metric.core())?;
            println!(
                "# ground truth: none given, computed by brute force ({:.1} s)",
                t0.elapsed().as_secs_f64()
            );
            t
        }
    };
    println!(
        "# vexfs-bench ann: {what}; base {} ({} x {}), queries {} ({}), metric {}, k {}",
        a.base.display(),
        base.n,
        base.dim,
        a.queries.display(),
        queries.n,
        metric.name(),
        a.k
    );
    if a.mount.is_none() {
        println!("# distances: {} kernels", distance::kernels());
    }
    println!(
        "build vectors={} seconds={:.3} vec_per_s={:.1}",
        base.n,
        build_s,
        base.n as f64 / build_s.max(1e-9)
    );
    let mut out = vec![u32::MAX; queries.n * a.k];
    for &ef in &a.ef {
        let mut best = f64::INFINITY;
        for _ in 0..a.runs.max(1) {
            let t = Instant::now();
            searcher.search_all(&queries, a.k, ef, &mut out)?;
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "ef={ef} k={} recall={:.4} qps={:.1}",
            a.k,
            recall(&out, &truth, a.k),
            queries.n as f64 / best.max(1e-9)
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match &cli.cmd {
        Cmd::Ann(a) => run(a),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(m)) => {
            eprintln!("vexfs-bench: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Run(m)) => {
            eprintln!("vexfs-bench: {m}");
            ExitCode::from(1)
        }
    }
}
