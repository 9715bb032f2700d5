//! vexctl: set, read, remove and search the vectors of files on VexFS, import
//! vector files, and show the filesystem's vector space.
//!
//! Errors are printed as `vexctl: <path>: <strerror> (<what it means>)` and
//! exit with status 1 (usage errors: 2).

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};
use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vexfs_tools::ioctl::{self, describe, Ctx, Op};
use vexfs_tools::uapi::{vexfs_ioc_info, VEXFS_MAX_BATCH, VEXFS_MAX_K};
use vexfs_tools::vecfile::{self, Format, VecReader};

#[derive(Parser)]
#[command(
    name = "vexctl",
    version,
    about = "Set, get, remove and search the vectors of files on VexFS"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OutFormat {
    Text,
    Json,
}

/// Where a vector comes from: the command line or a vector file.
#[derive(Args)]
struct VectorSource {
    /// The vector: numbers separated by commas (or spaces), e.g. "0.1,0.2,0.3".
    #[arg(long, allow_hyphen_values = true, conflicts_with = "from")]
    vector: Option<String>,
    /// Read the vector from a vector file (.f32, .fvecs, .npy, .json).
    #[arg(long, value_name = "VECFILE")]
    from: Option<PathBuf>,
    /// Which vector of --from, counting from 0.
    #[arg(long, default_value_t = 0, requires = "from")]
    index: u64,
    /// Format of --from (default: from its extension).
    #[arg(long, value_enum, requires = "from")]
    input_format: Option<Format>,
    /// Dimension of a .f32 file (default: the filesystem's).
    #[arg(long, requires = "from")]
    dim: Option<usize>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Set the vector of FILE.
    Set {
        /// A file on VexFS (opened for writing; its contents are not touched).
        file: PathBuf,
        #[command(flatten)]
        src: VectorSource,
    },
    /// Print the vector of FILE.
    Get {
        /// A file on VexFS.
        file: PathBuf,
        /// text: numbers separated by commas (what --vector takes); json: an array.
        #[arg(long, value_enum, default_value_t = OutFormat::Text)]
        format: OutFormat,
    },
    /// Remove the vector of FILE (the file itself stays).
    Rm {
        /// A file on VexFS (opened for writing; its contents are not touched).
        file: PathBuf,
    },
    /// The k nearest files to a vector, under PATH (a directory, or the mount root).
    Search {
        /// Directory whose subtree to search (the mount root: everything).
        path: PathBuf,
        /// Results wanted (1..=1024).
        #[arg(short, long, default_value_t = 10)]
        k: u32,
        /// Search breadth, 1..=8192 (default or 0: the filesystem's).
        #[arg(long, default_value_t = 0,
              value_parser = clap::value_parser!(u32).range(0..=i64::from(vexfs_tools::uapi::VEXFS_MAX_EF)))]
        ef: u32,
        /// Exact search over every vector instead of the HNSW graph.
        #[arg(long)]
        exact: bool,
        #[command(flatten)]
        src: VectorSource,
        #[arg(long, value_enum, default_value_t = OutFormat::Text)]
        format: OutFormat,
    },
    /// Create one empty file per vector of VECFILE in DIR, named
    /// <prefix>-<index> (zero-padded) or as --names says, and set their
    /// vectors.
    ///
    /// The files stay empty: the vectors live in the filesystem's vector
    /// area. An existing file of the same name is reused (its contents are
    /// kept, its vector replaced).
    Import {
        /// Directory on VexFS to create the files in.
        dir: PathBuf,
        /// Vector file (.f32, .fvecs, .npy, .json).
        vecfile: PathBuf,
        /// File name prefix.
        #[arg(long, default_value = "vec")]
        prefix: String,
        /// The files' names instead, one per line of LIST: the Nth vector
        /// goes to the file on line N, a path relative to DIR whose
        /// directory must exist (existing files keep their contents).
        #[arg(long, value_name = "LIST", conflicts_with = "prefix")]
        names: Option<PathBuf>,
        /// Vectors per BATCH_SET request (1..=1024).
        #[arg(long, default_value_t = 1024)]
        batch: usize,
        /// Format of VECFILE (default: from its extension).
        #[arg(long, value_enum)]
        input_format: Option<Format>,
        /// Dimension of a .f32 file (default: the filesystem's).
        #[arg(long)]
        dim: Option<usize>,
    },
    /// The filesystem's vector space: dimension, metric, HNSW parameters, counts.
    Info {
        /// Any file or directory on the filesystem.
        path: PathBuf,
        #[arg(long, value_enum, default_value_t = OutFormat::Text)]
        format: OutFormat,
    },
    /// Info plus derived figures: fill, free slots, bytes.
    Stats {
        /// Any file or directory on the filesystem.
        path: PathBuf,
        #[arg(long, value_enum, default_value_t = OutFormat::Text)]
        format: OutFormat,
    },
}

/// An error already worded for the user: `vexctl: <msg>`.
struct Fail(String);

type Res<T> = Result<T, Fail>;

fn at(path: &Path, msg: impl std::fmt::Display) -> Fail {
    Fail(format!("{}: {}", path.display(), msg))
}

fn io_at(path: &Path, e: &io::Error) -> Fail {
    at(path, ioctl::strerror_of(e))
}

fn open(path: &Path, write: bool) -> Res<File> {
    let mut o = OpenOptions::new();
    if write {
        o.write(true);
    } else {
        o.read(true);
    }
    o.open(path).map_err(|e| io_at(path, &e))
}

/// The filesystem's dimension, when INFO answers.
fn fs_dim(f: &File) -> Option<u32> {
    ioctl::info(f).ok().map(|i| i.dim)
}

/// An ioctl error on `path`, explained; EMSGSIZE asks INFO for the dimension.
fn ioctl_fail(path: &Path, f: &File, op: Op, e: &io::Error, mut ctx: Ctx) -> Fail {
    if e.raw_os_error() == Some(libc::EMSGSIZE) && ctx.fs_dim.is_none() {
        ctx.fs_dim = fs_dim(f);
    }
    at(path, describe(op, e, ctx))
}

/// The vector of `src`; `target` answers INFO for a .f32 file's dimension.
fn load_vector(src: &VectorSource, target: &File) -> Res<Vec<f32>> {
    if let Some(s) = &src.vector {
        return vecfile::parse_vector(s).map_err(|e| Fail(format!("--vector: {}", e)));
    }
    let Some(from) = &src.from else {
        return Err(Fail("give the vector with --vector or --from".into()));
    };
    let fmt = src.input_format.or_else(|| Format::from_path(from));
    let dim = match (src.dim, fmt) {
        (Some(d), _) => Some(d),
        (None, Some(Format::F32)) => fs_dim(target).filter(|&d| d > 0).map(|d| d as usize),
        _ => None,
    };
    vecfile::read_one(from, src.input_format, dim, src.index).map_err(|e| at(from, e))
}

/// A float as JSON: its shortest float32 spelling, not the float64 widening.
fn json_f32(x: f32) -> Value {
    format!("{}", x)
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

fn print_json(v: &Value) -> Res<()> {
    let s = serde_json::to_string_pretty(v).map_err(|e| Fail(e.to_string()))?;
    out(&s)
}

fn out(s: &str) -> Res<()> {
    let mut o = io::stdout().lock();
    match writeln!(o, "{}", s).and_then(|_| o.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Fail(format!("stdout: {}", ioctl::strerror_of(&e))))
        }
        _ => Ok(()),
    }
}

fn cmd_set(file: &Path, src: &VectorSource) -> Res<()> {
    let f = open(file, true)?;
    let v = load_vector(src, &f)?;
    ioctl::set_vector_any(&f, &v).map_err(|e| {
        ioctl_fail(
            file,
            &f,
            Op::Set,
            &e,
            Ctx {
                dim: Some(v.len()),
                ..Default::default()
            },
        )
    })
}

fn cmd_get(file: &Path, format: OutFormat) -> Res<()> {
    let f = open(file, false)?;
    let v =
        ioctl::get_vector_any(&f).map_err(|e| ioctl_fail(file, &f, Op::Get, &e, Ctx::default()))?;
    match format {
        OutFormat::Text => out(&format_vector(&v)),
        OutFormat::Json => out(&Value::Array(v.iter().map(|&x| json_f32(x)).collect()).to_string()),
    }
}

fn format_vector(v: &[f32]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn cmd_rm(file: &Path) -> Res<()> {
    let f = open(file, true)?;
    ioctl::del_vector(&f).map_err(|e| ioctl_fail(file, &f, Op::Del, &e, Ctx::default()))
}

/// The directory the kernel's query paths are relative to: PATH itself when
/// it is a directory, else the root of its filesystem (found by going up
/// from PATH while the device stays the same: O(depth), no walk of the tree).
fn query_base(path: &Path) -> PathBuf {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => path.to_path_buf(),
        Ok(m) => {
            let Ok(abs) = path.canonicalize() else {
                return path.to_path_buf();
            };
            let mut base = abs.parent().map(Path::to_path_buf).unwrap_or(abs.clone());
            while let Some(up) = base.parent() {
                match std::fs::metadata(up) {
                    Ok(u) if u.dev() == m.dev() => base = up.to_path_buf(),
                    _ => break,
                }
            }
            base
        }
        Err(_) => path.to_path_buf(),
    }
}

fn cmd_search(
    path: &Path,
    k: u32,
    ef: u32,
    exact: bool,
    src: &VectorSource,
    format: OutFormat,
) -> Res<()> {
    if k == 0 || k > VEXFS_MAX_K {
        return Err(Fail(format!(
            "-k {}: k must be between 1 and {}",
            k, VEXFS_MAX_K
        )));
    }
    let f = open(path, false)?;
    let v = load_vector(src, &f)?;
    let hits = ioctl::query_paths_any(&f, &v, k, ef, exact).map_err(|e| {
        ioctl_fail(
            path,
            &f,
            Op::Query,
            &e,
            Ctx {
                dim: Some(v.len()),
                k: Some(k),
                ..Default::default()
            },
        )
    })?;
    // The kernel gives each hit's path relative to the directory queried.
    let base = query_base(path);
    let full = |h: &ioctl::PathHit| h.path.as_ref().map(|p| base.join(p));
    match format {
        OutFormat::Text => {
            let mut s = String::new();
            for (i, h) in hits.iter().enumerate() {
                let p = match full(h) {
                    Some(p) => p.display().to_string(),
                    None => format!("<ino {}>", h.ino),
                };
                s.push_str(&format!("{:>4}  {:<12}  {}\n", i + 1, h.distance, p));
            }
            if !s.is_empty() {
                s.pop();
                out(&s)?;
            }
            Ok(())
        }
        OutFormat::Json => {
            let arr = hits
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    json!({
                        "rank": i + 1,
                        "distance": json_f32(h.distance),
                        "ino": h.ino,
                        "path": full(h).map(|p| p.to_string_lossy().into_owned()),
                    })
                })
                .collect();
            print_json(&Value::Array(arr))
        }
    }
}

/// Raises the open file limit to its hard limit; the soft limit after.
fn raise_nofile() -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read/write one rlimit struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return 1024;
        }
        if r.rlim_cur < r.rlim_max {
            let want = libc::rlimit {
                rlim_cur: r.rlim_max,
                rlim_max: r.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                r.rlim_cur = r.rlim_max;
            }
        }
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
    let cur = r.rlim_cur as u64;
    cur
}

/// `<prefix>-<index>` with at least 6 digits, as many as the last index needs.
pub fn import_name(prefix: &str, index: u64, count: u64) -> String {
    let width = count.saturating_sub(1).to_string().len().max(6);
    format!("{}-{:0width$}", prefix, index, width = width)
}

struct ImportArgs<'a> {
    dir: &'a Path,
    vecfile: &'a Path,
    prefix: &'a str,
    names: Option<&'a Path>,
    batch: usize,
    input_format: Option<Format>,
    dim: Option<usize>,
}

/// The lines of `list`, which must name `n` files by paths relative to the
/// import directory.
fn read_names(list: &Path, n: u64) -> Res<Vec<String>> {
    let text = std::fs::read_to_string(list).map_err(|e| io_at(list, &e))?;
    let names: Vec<String> = text.lines().map(str::to_string).collect();
    for (i, s) in names.iter().enumerate() {
        if s.is_empty() || s.starts_with('/') {
            return Err(at(
                list,
                format!(
                    "line {}: '{}': a name must be a nonempty path relative to the directory",
                    i + 1,
                    s
                ),
            ));
        }
    }
    if names.len() as u64 != n {
        return Err(at(list, format!("{} names for {} vectors", names.len(), n)));
    }
    Ok(names)
}

fn cmd_import(a: &ImportArgs) -> Res<()> {
    if a.batch == 0 || a.batch > VEXFS_MAX_BATCH as usize {
        return Err(Fail(format!(
            "--batch {}: a batch is 1 to {} vectors",
            a.batch, VEXFS_MAX_BATCH
        )));
    }
    if a.prefix.is_empty() || a.prefix.contains('/') {
        return Err(Fail(format!(
            "--prefix '{}': must be a nonempty file name part without '/'",
            a.prefix
        )));
    }
    let dirf = open(a.dir, false)?;
    let info =
        ioctl::info(&dirf).map_err(|e| ioctl_fail(a.dir, &dirf, Op::Info, &e, Ctx::default()))?;
    if info.dim == 0 {
        return Err(at(
            a.dir,
            ioctl::describe(
                Op::Info,
                &io::Error::from_raw_os_error(libc::EOPNOTSUPP),
                Ctx::default(),
            ),
        ));
    }
    // A .f32 file does not say its dimension: the filesystem's, unless given.
    let is_f32 = a.input_format.or_else(|| Format::from_path(a.vecfile)) == Some(Format::F32);
    let dim = a.dim.or(is_f32.then_some(info.dim as usize));
    let mut rd = VecReader::open(a.vecfile, a.input_format, dim).map_err(|e| at(a.vecfile, e))?;
    let n = rd.len();
    let names = match a.names {
        Some(list) => Some(read_names(list, n)?),
        None => None,
    };
    if n > 0 && rd.dim() != info.dim as usize {
        return Err(at(
            a.vecfile,
            format!(
                "vectors have {} dimensions, the filesystem expects {}",
                rd.dim(),
                info.dim
            ),
        ));
    }
    // Every file of a batch is open at once.
    let limit = raise_nofile().saturating_sub(64).max(1);
    let batch = a.batch.min(usize::try_from(limit).unwrap_or(usize::MAX));

    let pb = if io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} vectors  {per_sec}  eta {eta}")
    {
        pb.set_style(style);
    }
    let report = |msg: String| pb.suspend(|| eprintln!("vexctl: {}", msg));

    let mut vectors = Vec::with_capacity(batch.saturating_mul(rd.dim()));
    let mut set = 0u64;
    let mut failed = 0u64;
    let mut stop = false;
    while !stop {
        let first = rd.position();
        let got = rd.read_batch(batch, &mut vectors).map_err(|e| {
            pb.finish_and_clear();
            at(a.vecfile, e)
        })?;
        if got == 0 {
            break;
        }
        // Open (create) the files; a file that cannot be opened drops out.
        let mut files = Vec::with_capacity(got);
        let mut paths = Vec::with_capacity(got);
        let mut vecs = Vec::with_capacity(got * rd.dim());
        for (i, v) in vectors.chunks_exact(rd.dim()).enumerate() {
            let idx = first + i as u64;
            let p = match &names {
                Some(v) => a.dir.join(
                    usize::try_from(idx)
                        .ok()
                        .and_then(|j| v.get(j))
                        .map_or("", |s| s),
                ),
                None => a.dir.join(import_name(a.prefix, idx, n)),
            };
            match OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&p)
            {
                Ok(f) => {
                    files.push(f);
                    paths.push(p);
                    vecs.extend_from_slice(v);
                }
                Err(e) => {
                    report(format!("{}: {}", p.display(), ioctl::strerror_of(&e)));
                    failed += 1;
                }
            }
        }
        if !files.is_empty() {
            let fds: Vec<i32> = files.iter().map(|f| f.as_raw_fd()).collect();
            let o = ioctl::batch_set_any(&dirf, &fds, rd.dim(), &vecs);
            drop(files);
            let ctx = Ctx {
                dim: Some(rd.dim()),
                fs_dim: Some(info.dim),
                count: Some(fds.len()),
                k: None,
            };
            let mut per_file = 0u64;
            for (p, &e) in paths.iter().zip(&o.errors) {
                if e < 0 && e != ioctl::BATCH_NOT_DONE {
                    let err = io::Error::from_raw_os_error(-e);
                    report(format!("{}: {}", p.display(), describe(Op::Set, &err, ctx)));
                    per_file += 1;
                }
            }
            set += u64::from(o.done);
            failed += per_file;
            if let Err(e) = &o.result {
                if per_file == 0 {
                    let (Some(p0), Some(pn)) = (paths.first(), paths.last()) else {
                        break;
                    };
                    report(format!(
                        "{} .. {}: {}",
                        p0.display(),
                        pn.file_name()
                            .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
                        describe(Op::Batch, e, ctx)
                    ));
                    failed += paths.len() as u64;
                }
            }
            // Nothing of a whole batch could be set: the next ones would
            // fail alike.
            if o.done == 0 && (o.result.is_err() || per_file == paths.len() as u64) {
                stop = true;
            }
        }
        pb.inc(got as u64);
    }
    pb.finish_and_clear();
    if failed > 0 || stop {
        let left = n.saturating_sub(set + failed);
        return Err(Fail(format!(
            "{}: {} of {} vectors set, {} failed{}",
            a.dir.display(),
            set,
            n,
            failed,
            if stop && left > 0 {
                format!(
                    ", {} not tried: stopped after a batch of which nothing was set",
                    left
                )
            } else {
                String::new()
            }
        )));
    }
    eprintln!(
        "vexctl: {}: {} vectors imported into {}",
        a.vecfile.display(),
        set,
        a.dir.display()
    );
    Ok(())
}

fn info_json(i: &vexfs_ioc_info) -> Value {
    json!({
        "dim": i.dim,
        "metric": ioctl::metric_name(i.metric),
        "metric_id": i.metric,
        "m": i.m,
        "ef_construction": i.ef_construction,
        "ef_search": i.ef_search,
        "count": i.count,
        "capacity": i.capacity,
        "index_bytes": i.index_bytes,
        "levels": i.levels,
        "cache_bytes": i.cache_bytes,
        "cache_budget": i.cache_budget,
        "cache_hits": i.cache_hits,
        "cache_misses": i.cache_misses,
    })
}

fn info_lines(i: &vexfs_ioc_info) -> Vec<(&'static str, String)> {
    let metric = match ioctl::metric_name(i.metric) {
        Some(m) => m.to_string(),
        None => format!("unknown ({})", i.metric),
    };
    let dim = if i.dim == 0 {
        "0 (no vector space: made without mkfs.vexfs --dim)".to_string()
    } else {
        i.dim.to_string()
    };
    vec![
        ("dimension", dim),
        ("metric", metric),
        ("M", i.m.to_string()),
        ("ef_construction", i.ef_construction.to_string()),
        ("ef_search", i.ef_search.to_string()),
        ("vectors", i.count.to_string()),
        ("capacity", i.capacity.to_string()),
        (
            "index size",
            format!(
                "{} ({} bytes)",
                vexfs_tools::human(i.index_bytes),
                i.index_bytes
            ),
        ),
        ("levels", i.levels.to_string()),
        (
            "vector cache",
            format!(
                "{} ({} bytes) of {} budget",
                vexfs_tools::human(i.cache_bytes),
                i.cache_bytes,
                vexfs_tools::human(i.cache_budget)
            ),
        ),
        (
            "cache hits/misses",
            format!("{} / {}", i.cache_hits, i.cache_misses),
        ),
    ]
}

/// Figures derived from INFO for `stats`.
pub struct Derived {
    pub fill_percent: f64,
    pub free: u64,
    pub vector_bytes: u64,
    pub index_bytes_per_vector: f64,
}

fn derive(i: &vexfs_ioc_info) -> Derived {
    Derived {
        fill_percent: if i.capacity == 0 {
            0.0
        } else {
            i.count as f64 * 100.0 / i.capacity as f64
        },
        free: i.capacity.saturating_sub(i.count),
        vector_bytes: i.count.saturating_mul(u64::from(i.dim)).saturating_mul(4),
        index_bytes_per_vector: if i.count == 0 {
            0.0
        } else {
            i.index_bytes as f64 / i.count as f64
        },
    }
}

fn cmd_info(path: &Path, format: OutFormat, stats: bool) -> Res<()> {
    let f = open(path, false)?;
    let i = ioctl::info(&f).map_err(|e| ioctl_fail(path, &f, Op::Info, &e, Ctx::default()))?;
    let d = derive(&i);
    match format {
        OutFormat::Json => {
            let mut v = info_json(&i);
            if stats {
                if let Value::Object(m) = &mut v {
                    m.insert("fill_percent".into(), json!(d.fill_percent));
                    m.insert("free".into(), json!(d.free));
                    m.insert("vector_bytes".into(), json!(d.vector_bytes));
                    m.insert(
                        "index_bytes_per_vector".into(),
                        json!(d.index_bytes_per_vector),
                    );
                }
            }
            print_json(&v)
        }
        OutFormat::Text => {
            let mut lines = info_lines(&i);
            if stats {
                lines.push(("fill", format!("{:.2}%", d.fill_percent)));
                lines.push(("free slots", d.free.to_string()));
                lines.push((
                    "vector data",
                    format!(
                        "{} ({} bytes)",
                        vexfs_tools::human(d.vector_bytes),
                        d.vector_bytes
                    ),
                ));
                lines.push((
                    "index bytes/vector",
                    format!("{:.1}", d.index_bytes_per_vector),
                ));
            }
            let s: Vec<String> = lines
                .iter()
                .map(|(k, v)| format!("{:<19} {}", format!("{}:", k), v))
                .collect();
            out(&s.join("\n"))
        }
    }
}

fn run(cli: Cli) -> Res<()> {
    match cli.cmd {
        Cmd::Set { file, src } => cmd_set(&file, &src),
        Cmd::Get { file, format } => cmd_get(&file, format),
        Cmd::Rm { file } => cmd_rm(&file),
        Cmd::Search {
            path,
            k,
            ef,
            exact,
            src,
            format,
        } => cmd_search(&path, k, ef, exact, &src, format),
        Cmd::Import {
            dir,
            vecfile,
            prefix,
            names,
            batch,
            input_format,
            dim,
        } => cmd_import(&ImportArgs {
            dir: &dir,
            vecfile: &vecfile,
            prefix: &prefix,
            names: names.as_deref(),
            batch,
            input_format,
            dim,
        }),
        Cmd::Info { path, format } => cmd_info(&path, format, false),
        Cmd::Stats { path, format } => cmd_info(&path, format, true),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(msg)) => {
            eprintln!("vexctl: {}", msg);
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_names() {
        assert_eq!(import_name("vec", 0, 10), "vec-000000");
        assert_eq!(import_name("vec", 999_999, 1_000_000), "vec-999999");
        assert_eq!(import_name("e", 5, 1_000_001), "e-0000005");
        assert_eq!(import_name("vec", 0, 0), "vec-000000");
    }

    #[test]
    fn query_base_is_the_directory_or_the_filesystem_root() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/x"), b"").unwrap();
        assert_eq!(query_base(&root.join("a")), root.join("a"));
        // a file: the root of its filesystem, an ancestor of it
        let b = query_base(&root.join("a/b/x"));
        let canon = root.canonicalize().unwrap();
        assert!(canon.starts_with(&b), "{} {}", b.display(), canon.display());
        let dev = |p: &Path| std::fs::metadata(p).unwrap().dev();
        assert_eq!(dev(&b), dev(root));
        if let Some(up) = b.parent() {
            assert_ne!(dev(up), dev(&b));
        }
    }

    #[test]
    fn derived_figures() {
        let i = vexfs_ioc_info {
            dim: 4,
            metric: 2,
            count: 25,
            capacity: 100,
            index_bytes: 1000,
            ..Default::default()
        };
        let d = derive(&i);
        assert_eq!(d.fill_percent, 25.0);
        assert_eq!(d.free, 75);
        assert_eq!(d.vector_bytes, 400);
        assert_eq!(d.index_bytes_per_vector, 40.0);
        let z = derive(&vexfs_ioc_info::default());
        assert_eq!((z.fill_percent, z.index_bytes_per_vector), (0.0, 0.0));
        let j = info_json(&i);
        assert_eq!(j["metric"], "cosine");
        assert_eq!(j["count"], 25);
    }

    #[test]
    fn floats_in_json() {
        assert_eq!(json_f32(0.1).to_string(), "0.1");
        assert_eq!(json_f32(-2.0).to_string(), "-2.0");
        assert_eq!(format_vector(&[0.1, -2.0, 1e-7]), "0.1,-2,0.0000001");
        assert_eq!(
            vexfs_tools::vecfile::parse_vector(&format_vector(&[0.1, -2.0, 1e-7])).unwrap(),
            vec![0.1, -2.0, 1e-7]
        );
    }
}
