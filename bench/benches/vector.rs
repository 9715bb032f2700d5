//! Vector search in userspace: HNSW insert throughput, query QPS (k=10 at the
//! default ef) and brute-force search for comparison, on 10k clustered 128-d
//! vectors (the same generator as rust-core/tests/hnsw_recall.rs). Recall of
//! the measured configuration is printed on stderr so figures are comparable.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use vexfs_core::vector::distance::{distance, Metric};
use vexfs_core::vector::hnsw::{exact_search, Hnsw, HnswParams, SliceVectors, DEFAULT_EF_SEARCH};

const DIM: usize = 128;
const N: usize = 10_000;
const QUERIES: usize = 200;
const K: usize = 10;

struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f32 {
        let u1 = self.unit().max(1e-300);
        let u2 = self.unit();
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }
}

/// `n` vectors in 16 overlapping clusters, each a centre plus a 48-direction
/// latent subspace plus isotropic noise.
fn clustered(n: usize, seed: u64) -> Vec<f32> {
    const CLUSTERS: usize = 16;
    const LATENT: usize = 48;
    let mut rng = Rng(seed);
    let centres: Vec<f32> = (0..CLUSTERS * DIM)
        .map(|_| rng.unit() as f32 * 2.0 - 1.0)
        .collect();
    let bases: Vec<f32> = (0..CLUSTERS * LATENT * DIM)
        .map(|_| 0.3 * rng.normal())
        .collect();
    let mut out = Vec::with_capacity(n * DIM);
    for _ in 0..n {
        let c = (rng.next_u64() % CLUSTERS as u64) as usize;
        let z: Vec<f32> = (0..LATENT).map(|_| rng.normal()).collect();
        let centre = centres.get(c * DIM..(c + 1) * DIM).unwrap_or(&[]);
        for (d, &cd) in centre.iter().enumerate() {
            let mut x = cd;
            for (j, zj) in z.iter().enumerate() {
                let at = (c * LATENT + j) * DIM + d;
                x += zj * bases.get(at).copied().unwrap_or(0.0);
            }
            out.push(x + 0.5 * rng.normal());
        }
    }
    out
}

fn build(metric: Metric, vecs: &SliceVectors<'_>) -> Hnsw {
    let mut g = Hnsw::new(HnswParams::default(), metric, N as u32);
    for id in 0..N as u32 {
        if g.insert(id, vecs).is_err() {
            std::process::abort();
        }
    }
    g
}

fn queries(data: &[f32]) -> Vec<&[f32]> {
    data.chunks_exact(DIM).skip(N).take(QUERIES).collect()
}

fn report_recall(metric: Metric, g: &Hnsw, vecs: &SliceVectors<'_>, qs: &[&[f32]]) {
    let ef = DEFAULT_EF_SEARCH as usize;
    let mut hit = 0usize;
    for q in qs {
        let truth = exact_search(metric, q, K, 0..N as u32, vecs, &mut |_| true).unwrap();
        let got = g.search(q, K, ef, vecs, &mut |_| true).unwrap();
        hit += got
            .iter()
            .filter(|(id, _)| truth.iter().any(|(t, _)| t == id))
            .count();
    }
    eprintln!(
        "vector/{metric:?}: {N} x {DIM}-d, M={} efC={} ef={ef}: recall@{K} = {:.4}, {} levels, graph {} KiB, on-disk rows {} KiB",
        g.params().m,
        g.params().ef_construction,
        hit as f64 / (qs.len() * K) as f64,
        g.levels(),
        g.memory_bytes() / 1024,
        vexfs_core::format::GraphLayout::new(g.params().m, N as u32).blocks * 4,
    );
}

fn vector(c: &mut Criterion) {
    let data = clustered(N + QUERIES, 0x00C0_FFEE);
    let vecs = SliceVectors {
        data: data.get(..N * DIM).unwrap_or(&[]),
        dim: DIM,
    };
    let qs = queries(&data);

    let mut g = c.benchmark_group("vector/distance");
    g.throughput(Throughput::Elements(1));
    let (a, b) = (
        qs.first().copied().unwrap_or(&[]),
        qs.get(1).copied().unwrap_or(&[]),
    );
    for metric in [Metric::L2, Metric::Cosine, Metric::Ip] {
        g.bench_function(format!("{metric:?}/128d"), |bch| {
            bch.iter(|| distance(metric, black_box(a), black_box(b)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("vector/hnsw_insert");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("L2/10k", |bch| {
        bch.iter_batched(
            || (),
            |()| build(Metric::L2, &vecs),
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("vector/query_k10");
    g.throughput(Throughput::Elements(1));
    for metric in [Metric::L2, Metric::Cosine, Metric::Ip] {
        let idx = build(metric, &vecs);
        report_recall(metric, &idx, &vecs, &qs);
        let mut i = 0usize;
        g.bench_function(format!("hnsw/{metric:?}/ef{DEFAULT_EF_SEARCH}"), |bch| {
            bch.iter(|| {
                i = (i + 1) % qs.len();
                let q = qs.get(i).copied().unwrap_or(&[]);
                idx.search(q, K, DEFAULT_EF_SEARCH as usize, &vecs, &mut |_| true)
                    .unwrap()
            })
        });
        let mut i = 0usize;
        g.bench_function(format!("exact/{metric:?}"), |bch| {
            bch.iter(|| {
                i = (i + 1) % qs.len();
                let q = qs.get(i).copied().unwrap_or(&[]);
                exact_search(metric, q, K, 0..N as u32, &vecs, &mut |_| true).unwrap()
            })
        });
    }
    g.finish();

    // Delete + repair cost: remove 1,000 nodes from a fresh 10k graph.
    let mut g = c.benchmark_group("vector/hnsw_remove");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1000));
    let base = build(Metric::L2, &vecs);
    g.bench_function("L2/1k_of_10k", |bch| {
        bch.iter_batched(
            || base.clone(),
            |mut idx| {
                for id in (0..N as u32).step_by(10) {
                    let _ = idx.remove(id, &vecs);
                }
                idx
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, vector);
criterion_main!(benches);
