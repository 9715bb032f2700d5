//! mkfs.vexfs: create a VexFS filesystem on a block device or image file.

use clap::Parser;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use vexfs_core::dev::FileDevice;
use vexfs_core::format::{BLOCK_SIZE, INODE_SIZE, LABEL_LEN, VEC_MAX_DIM};
use vexfs_core::mkfs::{format, Layout, MkfsOptions, VectorOptions};
use vexfs_tools::{detect_signature, human, mounted_at, open_target};

#[derive(Parser)]
#[command(name = "mkfs.vexfs", version, about = "Create a VexFS filesystem")]
struct Args {
    /// Volume label (at most 64 bytes).
    #[arg(short = 'L', long)]
    label: Option<String>,
    /// Number of inodes (default: one per 16 KiB).
    #[arg(short = 'N', long)]
    inodes: Option<u64>,
    /// Overwrite an existing filesystem or partition table signature.
    #[arg(short = 'f', long)]
    force: bool,
    /// Show what would be done; write nothing.
    #[arg(short = 'n', long = "dry-run")]
    dry_run: bool,
    /// Print only errors.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Dimension of the embedding vectors files may carry (default: no vector space).
    #[arg(long, value_name = "N")]
    dim: Option<u32>,
    /// Vector distance: l2, cosine or ip (inner product).
    #[arg(long, default_value = "l2", requires = "dim")]
    metric: String,
    /// HNSW links per node.
    #[arg(long = "hnsw-m", default_value_t = 16, requires = "dim")]
    hnsw_m: u32,
    /// HNSW construction breadth.
    #[arg(long, default_value_t = 200, requires = "dim")]
    ef_construction: u32,
    /// Default search breadth of queries.
    #[arg(long, default_value_t = vexfs_core::vector::hnsw::DEFAULT_EF_SEARCH, requires = "dim")]
    ef_search: u32,
    /// Vectors the vector area holds (default: one per inode, within a quarter of the volume).
    #[arg(long, requires = "dim")]
    max_vectors: Option<u64>,
    /// Block device or image file.
    device: PathBuf,
    /// Filesystem size in 4 KiB blocks (default: the whole device).
    blocks: Option<u64>,
}

fn fail(msg: String) -> ExitCode {
    eprintln!("mkfs.vexfs: {}", msg);
    ExitCode::from(1)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let dev = args.device.display().to_string();
    if let Some(m) = mounted_at(&args.device) {
        return fail(format!(
            "{} is mounted on {}; will not make a filesystem here!",
            dev,
            m.display()
        ));
    }
    let label = args.label.clone().unwrap_or_default().into_bytes();
    if label.len() > LABEL_LEN {
        return fail(format!(
            "label '{}' is longer than {} bytes",
            args.label.unwrap_or_default(),
            LABEL_LEN
        ));
    }
    let mut target = match open_target(&args.device, !args.dry_run) {
        Ok(t) => t,
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
            return fail(format!(
                "{} is apparently in use by the system; will not make a filesystem here!",
                dev
            ))
        }
        Err(e) => return fail(format!("cannot open {}: {}", dev, e)),
    };
    let mut head = vec![0u8; 68 * 1024];
    let n = target.file.read(&mut head).unwrap_or(0);
    head.truncate(n);
    if let Some(sig) = detect_signature(&head) {
        if !args.force && !args.dry_run {
            return fail(format!(
                "{} contains a {} signature\nUse -f to overwrite it.",
                dev, sig
            ));
        }
        if !args.quiet {
            println!("{} contains a {} signature: overwriting it", dev, sig);
        }
    }
    let dev_blocks = target.bytes / BLOCK_SIZE as u64;
    let blocks = match args.blocks {
        Some(b) if b > dev_blocks => {
            return fail(format!(
                "filesystem size {} blocks is larger than the device ({} blocks)",
                b, dev_blocks
            ))
        }
        Some(b) => b,
        None => dev_blocks,
    };
    let vectors = match vector_options(&args) {
        Ok(v) => v,
        Err(msg) => return fail(msg),
    };
    let layout = match Layout::compute(blocks, args.inodes.unwrap_or(0), vectors.as_ref()) {
        Ok(l) => l,
        Err(_) => {
            return fail(format!(
                "{}: device too small ({} blocks of 4 KiB) for this layout",
                dev, blocks
            ))
        }
    };
    let uuid = *uuid::Uuid::new_v4().as_bytes();
    if !args.quiet {
        summary(&layout, &uuid, &label);
        if let Some(v) = &vectors {
            println!(
                "Vector space: dimension {}, metric {}, HNSW M {} ef_construction {} ef_search {}, room for {} vectors",
                v.dim, args.metric, v.m, v.ef_construction, v.ef_search, layout.vec_capacity
            );
        }
    }
    if args.dry_run {
        return ExitCode::SUCCESS;
    }
    let mut fdev = FileDevice::new(target.file, blocks * BLOCK_SIZE as u64);
    let opts = MkfsOptions {
        label,
        vectors,
        inodes: layout.inode_count,
        uuid,
        blocks,
    };
    match format(&mut fdev, &opts) {
        Ok(_) => {
            if !args.quiet {
                println!("Writing superblock and filesystem metadata: done");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("formatting {} failed: {}", dev, e)),
    }
}

/// The vector space asked for on the command line, checked.
fn vector_options(args: &Args) -> Result<Option<VectorOptions>, String> {
    let Some(dim) = args.dim else {
        return Ok(None);
    };
    let metric = match args.metric.as_str() {
        "l2" => 1,
        "cosine" => 2,
        "ip" => 3,
        m => return Err(format!("unknown metric '{}' (use l2, cosine or ip)", m)),
    };
    if dim == 0 || dim > VEC_MAX_DIM {
        return Err(format!("--dim {} out of range (1..{})", dim, VEC_MAX_DIM));
    }
    use vexfs_core::format::{VEC_MAX_EF, VEC_MAX_EF_CONSTRUCTION, VEC_MAX_M, VEC_MIN_M};
    if !(VEC_MIN_M..=VEC_MAX_M).contains(&args.hnsw_m)
        || !(1..=VEC_MAX_EF_CONSTRUCTION).contains(&args.ef_construction)
        || !(1..=VEC_MAX_EF).contains(&args.ef_search)
    {
        return Err(format!(
            "--hnsw-m must be {VEC_MIN_M}..{VEC_MAX_M}, --ef-construction 1..{VEC_MAX_EF_CONSTRUCTION}, --ef-search 1..{VEC_MAX_EF}"
        ));
    }
    let mut v = VectorOptions::new(dim, metric);
    v.m = args.hnsw_m;
    v.ef_construction = args.ef_construction;
    v.ef_search = args.ef_search;
    v.capacity = args.max_vectors.unwrap_or(0);
    Ok(Some(v))
}

fn summary(l: &Layout, uuid: &[u8; 16], label: &[u8]) {
    let bytes = l.block_count * BLOCK_SIZE as u64;
    println!(
        "Creating filesystem with {} 4k blocks and {} inodes ({})",
        l.block_count,
        l.inode_count,
        human(bytes)
    );
    println!(
        "Filesystem UUID: {}",
        uuid::Uuid::from_bytes(*uuid).hyphenated()
    );
    if !label.is_empty() {
        println!("Filesystem label: {}", String::from_utf8_lossy(label));
    }
    println!(
        "Inode size: {} bytes; inode table: {} blocks at {}",
        INODE_SIZE, l.inode_table.1, l.inode_table.0
    );
    println!(
        "Bitmaps: inodes {} blocks at {}, blocks {} blocks at {}",
        l.inode_bitmap.1, l.inode_bitmap.0, l.block_bitmap.1, l.block_bitmap.0
    );
    println!("Journal: {} blocks at {}", l.journal.1, l.journal.0);
    println!("Vector area: {} blocks at {}", l.vectors.1, l.vectors.0);
    println!(
        "Data blocks: {} starting at {}",
        l.block_count - l.data_start,
        l.data_start
    );
}
