//! Throughput of the core's metadata and data paths in userspace, on an
//! in-memory device (the same code the kernel module runs).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use vexfs_core::dev::MemDevice;
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::Fs;

const ROOT: u64 = 1;
const REG: u32 = 0o100644;

fn fresh(blocks: u64) -> Fs<MemDevice> {
    let mut dev = MemDevice::new(blocks);
    let opts = MkfsOptions {
        vectors: None,
        label: Vec::new(),
        inodes: 0,
        uuid: [0; 16],
        blocks: 0,
    };
    if format(&mut dev, &opts).is_err() {
        std::process::abort();
    }
    match Fs::mount(dev, false) {
        Ok(fs) => fs,
        Err(_) => std::process::abort(),
    }
}

fn create_files(c: &mut Criterion) {
    let mut g = c.benchmark_group("metadata");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("create 1000 files in one directory", |b| {
        b.iter_batched(
            || fresh(16384),
            |mut fs| {
                for i in 0..1000 {
                    let _ = fs.create(ROOT, format!("f{i}").as_bytes(), REG, 0, 0, 0);
                }
                fs
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("lookup in a 1000-entry directory", |b| {
        let mut fs = fresh(16384);
        for i in 0..1000 {
            let _ = fs.create(ROOT, format!("f{i}").as_bytes(), REG, 0, 0, 0);
        }
        let mut i = 0;
        b.iter(|| {
            i = (i + 7) % 1000;
            fs.lookup(ROOT, format!("f{i}").as_bytes())
        })
    });
    g.finish();
}

fn write_file(c: &mut Criterion) {
    let mut g = c.benchmark_group("data");
    let chunk = vec![0xabu8; 1 << 20];
    g.throughput(Throughput::Bytes(16 << 20));
    g.bench_function("sequential write 16 MiB", |b| {
        b.iter_batched(
            || fresh(16384),
            |mut fs| {
                if let Ok(f) = fs.create(ROOT, b"big", REG, 0, 0, 0) {
                    for i in 0..16u64 {
                        let _ = fs.write(f, i << 20, &chunk);
                    }
                }
                fs
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("map_blocks on a 16 MiB file", |b| {
        let mut fs = fresh(16384);
        let f = fs.create(ROOT, b"big", REG, 0, 0, 0).unwrap_or(0);
        for i in 0..16u64 {
            let _ = fs.write(f, i << 20, &chunk);
        }
        let mut blk = 0;
        b.iter(|| {
            blk = (blk + 13) % 4096;
            fs.map_blocks(f, blk, 1, false)
        })
    });
    g.finish();
}

criterion_group!(benches, create_files, write_file);
criterion_main!(benches);
