//! HNSW quality and robustness: recall against brute force on clustered data
//! for every metric, recall after heavy deletion and re-insertion, filters, and
//! the distance kernels against hand-computed values.
//!
//! Data: 10,000 (+200 query) 128-d vectors in 16 overlapping clusters. Each
//! cluster has a centre, a 48-direction latent subspace and isotropic noise,
//! so the data has a fairly high intrinsic dimension (hard enough that ef=16
//! only reaches ~0.9 recall) without being uniform noise, on which no ANN
//! index does well. Everything comes from a seeded splitmix64: no downloads,
//! identical on every run.

#![allow(
    clippy::disallowed_methods,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::OnceLock;

use vexfs_core::vector::distance::{distance, is_finite_vector, Metric};
use vexfs_core::vector::hnsw::{
    exact_search, Hnsw, HnswError, HnswParams, SliceVectors, Vectors, DEFAULT_EF_SEARCH,
};

const DIM: usize = 128;
const N: u32 = 10_000;
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
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit() as f32
    }
    fn normal(&mut self) -> f32 {
        let u1 = self.unit().max(1e-300);
        let u2 = self.unit();
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }
    fn below(&mut self, n: u32) -> u32 {
        (self.next_u64() % u64::from(n)) as u32
    }
}

/// `n` clustered vectors of `dim` floats.
fn clustered(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    const CLUSTERS: usize = 16;
    const LATENT: usize = 48;
    let mut rng = Rng(seed);
    let centres: Vec<f32> = (0..CLUSTERS * dim)
        .map(|_| rng.uniform(-1.0, 1.0))
        .collect();
    let bases: Vec<f32> = (0..CLUSTERS * LATENT * dim)
        .map(|_| 0.3 * rng.normal())
        .collect();
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let c = rng.below(CLUSTERS as u32) as usize;
        let z: Vec<f32> = (0..LATENT).map(|_| rng.normal()).collect();
        for d in 0..dim {
            let mut x = centres[c * dim + d];
            for (j, zj) in z.iter().enumerate() {
                x += zj * bases[(c * LATENT + j) * dim + d];
            }
            out.push(x + 0.5 * rng.normal());
        }
    }
    out
}

/// Base vectors (ids 0..N) followed by the queries.
fn data() -> &'static [f32] {
    static DATA: OnceLock<Vec<f32>> = OnceLock::new();
    DATA.get_or_init(|| clustered(N as usize + QUERIES, DIM, 0x00C0_FFEE))
}

fn base() -> SliceVectors<'static> {
    SliceVectors {
        data: &data()[..N as usize * DIM],
        dim: DIM,
    }
}

fn query(i: usize) -> &'static [f32] {
    let start = (N as usize + i) * DIM;
    &data()[start..start + DIM]
}

fn build(metric: Metric) -> Hnsw {
    let vecs = base();
    let mut g = Hnsw::new(HnswParams::default(), metric, N);
    for id in 0..N {
        g.insert(id, &vecs).unwrap();
    }
    g
}

/// The L2 index, built once and shared (cloned where a test mutates it).
fn l2_index() -> &'static Hnsw {
    static IDX: OnceLock<Hnsw> = OnceLock::new();
    IDX.get_or_init(|| build(Metric::L2))
}

/// Mean recall@K of `g` at breadth `ef` over the queries, against brute
/// force over the ids present in `g`.
fn recall(g: &Hnsw, vecs: &impl Vectors, ef: usize, filter: &dyn Fn(u32) -> bool) -> f64 {
    let mut hit = 0usize;
    let mut total = 0usize;
    for i in 0..QUERIES {
        let q = query(i);
        let truth = exact_search(g.metric(), q, K, 0..N, vecs, &mut |id| {
            g.contains(id) && filter(id)
        })
        .unwrap();
        let got = g.search(q, K, ef, vecs, &mut |id| filter(id)).unwrap();
        assert!(got.iter().all(|&(id, _)| g.contains(id) && filter(id)));
        assert!(got.windows(2).all(|w| w[0].1 <= w[1].1), "not sorted");
        total += truth.len();
        hit += got
            .iter()
            .filter(|(id, _)| truth.iter().any(|(t, _)| t == id))
            .count();
    }
    hit as f64 / total.max(1) as f64
}

fn check_links(g: &Hnsw) {
    let p = g.params();
    for id in g.ids() {
        let top = g.node_level(id).unwrap();
        for l in 0..=top {
            let row: Vec<u32> = g.neighbours(id, l).collect();
            let limit = if l == 0 { 2 * p.m } else { p.m } as usize;
            assert!(row.len() <= limit);
            for n in row {
                assert_ne!(n, id);
                assert!(g.node_level(n).is_some_and(|nl| nl >= l), "dangling link");
            }
        }
    }
    if let Some(e) = g.entry_point() {
        assert_eq!(g.node_level(e).unwrap() + 1, g.levels());
    }
}

fn recall_for(metric: Metric) -> f64 {
    let owned;
    let g = if metric == Metric::L2 {
        l2_index()
    } else {
        owned = build(metric);
        &owned
    };
    assert_eq!(g.len(), N as usize);
    check_links(g);
    let r = recall(g, &base(), DEFAULT_EF_SEARCH as usize, &|_| true);
    eprintln!(
        "{metric:?}: recall@{K} = {r:.4} at ef {DEFAULT_EF_SEARCH}, {} levels",
        g.levels()
    );
    r
}

#[test]
fn recall_l2() {
    assert!(recall_for(Metric::L2) >= 0.95);
}

#[test]
fn recall_cosine() {
    assert!(recall_for(Metric::Cosine) >= 0.95);
}

#[test]
fn recall_ip() {
    assert!(recall_for(Metric::Ip) >= 0.95);
}

#[test]
fn recall_after_deletes_and_reinserts() {
    let vecs = base();
    let mut g = l2_index().clone();
    let mut rng = Rng(42);
    let mut order: Vec<u32> = (0..N).collect();
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u32 + 1) as usize;
        order.swap(i, j);
    }
    let deleted = &order[..(N as usize * 3 / 10)];
    for &id in deleted {
        g.remove(id, &vecs).unwrap();
    }
    assert_eq!(g.len(), N as usize - deleted.len());
    assert!(deleted.iter().all(|&id| !g.contains(id)));
    check_links(&g);
    let r1 = recall(&g, &vecs, DEFAULT_EF_SEARCH as usize, &|_| true);
    eprintln!("L2 after deleting 30%: recall@{K} = {r1:.4}");
    // Re-insert a third of them.
    for &id in &deleted[..deleted.len() / 3] {
        g.insert(id, &vecs).unwrap();
    }
    check_links(&g);
    let r2 = recall(&g, &vecs, DEFAULT_EF_SEARCH as usize, &|_| true);
    eprintln!("L2 after re-inserting 10%: recall@{K} = {r2:.4}");
    assert!(r1 >= 0.95, "recall after deletes {r1}");
    assert!(r2 >= 0.95, "recall after re-inserts {r2}");
    assert_eq!(
        g.remove(deleted[deleted.len() - 1], &vecs),
        Err(HnswError::Missing)
    );
    assert_eq!(g.insert(deleted[0], &vecs), Err(HnswError::Exists));
}

#[test]
fn delete_everything_then_rebuild() {
    let dim = 16;
    let n = 600u32;
    let data = clustered(n as usize, dim, 7);
    let vecs = SliceVectors { data: &data, dim };
    let mut g = Hnsw::new(
        HnswParams {
            m: 6,
            ef_construction: 40,
            seed: 3,
        },
        Metric::Cosine,
        n,
    );
    for id in 0..n {
        g.insert(id, &vecs).unwrap();
    }
    // Delete from the top levels first, so the entry point keeps moving.
    let mut ids: Vec<u32> = g.ids().collect();
    ids.sort_by_key(|&id| (std::cmp::Reverse(g.node_level(id).unwrap()), id));
    for (i, &id) in ids.iter().enumerate() {
        g.remove(id, &vecs).unwrap();
        if i % 50 == 0 {
            check_links(&g);
        }
        if let Some(&next) = ids.get(i + 1) {
            let r = g
                .search(vecs.get(next).unwrap(), 1, 32, &vecs, &mut |_| true)
                .unwrap();
            assert_eq!(r.len(), 1);
        }
    }
    assert!(g.is_empty());
    assert_eq!(g.levels(), 0);
    assert_eq!(g.entry_point(), None);
    for id in 0..n {
        g.insert(id, &vecs).unwrap();
    }
    check_links(&g);
    assert_eq!(g.len(), n as usize);
}

#[test]
fn deterministic_given_seed() {
    let dim = 8;
    let data = clustered(800, dim, 11);
    let vecs = SliceVectors { data: &data, dim };
    let mk = |seed| {
        let mut g = Hnsw::new(
            HnswParams {
                seed,
                ..HnswParams::default()
            },
            Metric::L2,
            800,
        );
        for id in 0..800 {
            g.insert(id, &vecs).unwrap();
        }
        // The whole graph: every node's level and links.
        (0..800u32)
            .map(|id| {
                let top = g.node_level(id).unwrap();
                (0..=top)
                    .map(|l| g.neighbours(id, l).collect::<Vec<_>>())
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(mk(1), mk(1));
    assert_ne!(mk(1), mk(2));
}

#[test]
fn filter_is_respected() {
    let vecs = base();
    let g = l2_index();
    let third = |id: u32| id % 3 == 1;
    let r = recall(g, &vecs, DEFAULT_EF_SEARCH as usize, &third);
    eprintln!("L2 with a 1/3 filter: recall@{K} = {r:.4}");
    assert!(r >= 0.95);
    // A very selective filter still finds k results, all passing.
    let rare = |id: u32| id % 500 == 7;
    let r = recall(g, &vecs, DEFAULT_EF_SEARCH as usize, &rare);
    eprintln!("L2 with a 1/500 filter: recall@{K} = {r:.4}");
    assert!(r >= 0.9);
    let q = query(0);
    let got = g.search(q, K, 64, &vecs, &mut |id| rare(id)).unwrap();
    assert_eq!(got.len(), K);
    // Nothing passes: nothing returned.
    assert!(g
        .search(q, K, 64, &vecs, &mut |_| false)
        .unwrap()
        .is_empty());
    // The filter sees each node at most once per search.
    let mut seen = std::collections::HashSet::new();
    let mut twice = false;
    g.search(q, K, 64, &vecs, &mut |id| {
        twice |= !seen.insert(id);
        true
    })
    .unwrap();
    assert!(!twice);
}

#[test]
fn search_edge_cases() {
    let vecs = base();
    let g = l2_index();
    let q = query(3);
    assert!(g.search(q, 0, 64, &vecs, &mut |_| true).unwrap().is_empty());
    // k larger than ef: ef is raised to k.
    let r = g.search(q, 200, 10, &vecs, &mut |_| true).unwrap();
    assert_eq!(r.len(), 200);
    let mut nan = q.to_vec();
    nan[5] = f32::NAN;
    assert!(g
        .search(&nan, K, 64, &vecs, &mut |_| true)
        .unwrap()
        .is_empty());
    // The exact top-1 of a stored vector is itself.
    let r = g
        .search(vecs.get(1234).unwrap(), 1, 64, &vecs, &mut |_| true)
        .unwrap();
    assert_eq!(r, vec![(1234, 0.0)]);
    // An empty index finds nothing.
    let e = Hnsw::new(HnswParams::default(), Metric::L2, 10);
    assert!(e.search(q, K, 64, &vecs, &mut |_| true).unwrap().is_empty());
    assert_eq!(e.levels(), 0);
    assert!(e.is_empty());
    // Non-finite vectors and ids out of range are refused.
    let bad = [1.0f32, f32::INFINITY, 0.0];
    let bv = SliceVectors { data: &bad, dim: 3 };
    let mut h = Hnsw::new(HnswParams::default(), Metric::L2, 10);
    assert!(matches!(h.insert(0, &bv), Err(HnswError::Corrupt(_))));
    assert_eq!(h.insert(1, &bv), Err(HnswError::Missing));
    assert_eq!(h.insert(10, &bv), Err(HnswError::Full));
    assert!(h.is_empty());
    // Parameters are clamped to the supported range.
    let p = Hnsw::new(
        HnswParams {
            m: 0,
            ef_construction: 0,
            seed: 0,
        },
        Metric::L2,
        10,
    )
    .params();
    assert!(p.m >= 2 && p.ef_construction >= 1);
}

#[test]
fn exact_search_orders_and_filters() {
    let data = [0.0f32, 0.0, 3.0, 4.0, 1.0, 0.0, 0.0, 2.0];
    let vecs = SliceVectors {
        data: &data,
        dim: 2,
    };
    let r = exact_search(Metric::L2, &[0.0, 0.0], 3, 0..4, &vecs, &mut |_| true).unwrap();
    assert_eq!(r, vec![(0, 0.0), (2, 1.0), (3, 4.0)]);
    let r = exact_search(Metric::L2, &[0.0, 0.0], 2, 0..4, &vecs, &mut |id| id != 0).unwrap();
    assert_eq!(r, vec![(2, 1.0), (3, 4.0)]);
    let r = exact_search(Metric::Ip, &[1.0, 1.0], 1, 0..9, &vecs, &mut |_| true).unwrap();
    assert_eq!(r, vec![(1, -7.0)]);
}

#[test]
fn distance_hand_computed() {
    let a = [1.0f32, 2.0, 3.0];
    let b = [4.0f32, 6.0, 8.0];
    assert_eq!(distance(Metric::L2, &a, &b), 50.0);
    assert_eq!(distance(Metric::L2, &a, &a), 0.0);
    assert_eq!(distance(Metric::Ip, &a, &[4.0, 5.0, 6.0]), -32.0);
    let close = |x: f32, y: f32| (x - y).abs() < 1e-6;
    assert!(close(
        distance(Metric::Cosine, &[1.0, 0.0], &[0.0, 1.0]),
        1.0
    ));
    assert!(close(
        distance(Metric::Cosine, &[1.0, 1.0], &[2.0, 2.0]),
        0.0
    ));
    assert!(close(
        distance(Metric::Cosine, &[1.0, 0.0], &[-3.0, 0.0]),
        2.0
    ));
    // cos 60 degrees = 0.5
    assert!(close(
        distance(Metric::Cosine, &[1.0, 0.0], &[0.5, 0.75f32.sqrt()]),
        0.5
    ));
    // Same value however the lanes split: 19 components.
    let x: Vec<f32> = (0..19).map(|i| i as f32).collect();
    let y: Vec<f32> = (0..19).map(|i| (19 - i) as f32).collect();
    let dot: f32 = (0..19).map(|i| (i * (19 - i)) as f32).sum();
    let l2: f32 = (0..19).map(|i| ((2 * i - 19) * (2 * i - 19)) as f32).sum();
    assert_eq!(distance(Metric::Ip, &x, &y), -dot);
    assert_eq!(distance(Metric::L2, &x, &y), l2);
    // Large magnitudes do not overflow the cosine.
    assert!(close(
        distance(Metric::Cosine, &[1e30, 0.0], &[1e30, 0.0]),
        0.0
    ));
}

#[test]
fn distance_zero_vectors() {
    let z = [0.0f32; 5];
    let v = [1.0f32, -2.0, 0.5, 0.0, 3.0];
    assert_eq!(distance(Metric::Cosine, &z, &v), 1.0);
    assert_eq!(distance(Metric::Cosine, &v, &z), 1.0);
    assert_eq!(distance(Metric::Cosine, &z, &z), 1.0);
    assert_eq!(distance(Metric::L2, &z, &z), 0.0);
    assert_eq!(distance(Metric::Ip, &z, &v), 0.0);
    assert_eq!(distance(Metric::L2, &[], &[]), 0.0);
}

#[test]
fn nan_detection() {
    assert!(is_finite_vector(&[0.0, -1.0, f32::MAX, f32::MIN_POSITIVE]));
    assert!(is_finite_vector(&[]));
    assert!(!is_finite_vector(&[0.0, f32::NAN]));
    assert!(!is_finite_vector(&[f32::INFINITY]));
    assert!(!is_finite_vector(&[1.0, 2.0, f32::NEG_INFINITY]));
    for m in [Metric::L2, Metric::Cosine, Metric::Ip] {
        assert!(distance(m, &[1.0, f32::NAN], &[1.0, 2.0]).is_nan(), "{m:?}");
    }
    assert_eq!(Metric::from_u32(2), Some(Metric::Cosine));
    assert_eq!(Metric::from_u32(0), None);
}

thread_local! {
    static RESCHEDS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn count_resched() {
    RESCHEDS.with(|c| c.set(c.get() + 1));
}

/// Scheduling points (one per fixed amount of loop work) reached per
/// removal of 200 nodes from a graph of `n`.
fn resched_per_removal(n: u32) -> f64 {
    let dim = 4;
    let data = clustered(n as usize, dim, 11);
    let vecs = SliceVectors { data: &data, dim };
    let params = HnswParams {
        m: 4,
        ef_construction: 16,
        seed: 5,
    };
    let mut g = Hnsw::new(params, Metric::L2, n);
    for id in 0..n {
        g.insert(id, &vecs).unwrap();
    }
    let mut rng = Rng(9);
    let before = RESCHEDS.with(|c| c.get());
    let mut removed = 0;
    while removed < 200 {
        let id = rng.below(n);
        if g.contains(id) {
            g.remove(id, &vecs).unwrap();
            removed += 1;
        }
    }
    check_links(&g);
    (RESCHEDS.with(|c| c.get()) - before) as f64 / 200.0
}

/// A removal's loops are bounded by the links around the node, not by the
/// graph: 16x the nodes must not mean more work per removal (a scan of the
/// link arrays reaches a scheduling point every few thousand nodes).
#[test]
fn removal_work_does_not_grow_with_the_graph() {
    vexfs_core::dev::set_resched_hook(count_resched);
    let small = resched_per_removal(2_500);
    let big = resched_per_removal(40_000);
    eprintln!("scheduling points per removal: {small:.2} at 2,500 nodes, {big:.2} at 40,000");
    assert!(big <= small * 1.5 + 1.0, "{small} -> {big}");
}

/// A search whose filter passes almost nothing stops at its budget (and
/// says so) instead of expanding the whole graph; within the budget it is
/// the plain search.
#[test]
fn bounded_search_stops_at_its_budget() {
    let g = l2_index();
    let vecs = base();
    let q = query(0);
    let plain = g.search(q, K, 64, &vecs, &mut |_| true).unwrap();
    let (same, cut) = g
        .search_bounded(q, K, 64, &vecs, &mut |_| true, usize::MAX)
        .unwrap();
    assert_eq!((same, cut), (plain, false));
    let mut seen = 0usize;
    let (hits, cut) = g
        .search_bounded(
            q,
            K,
            64,
            &vecs,
            &mut |id| {
                seen += 1;
                id % 1000 == 7
            },
            200,
        )
        .unwrap();
    assert!(cut, "the budget ended the search");
    assert!(hits.iter().all(|&(id, _)| id % 1000 == 7));
    // 200 expansions of at most 2M neighbours each (plus the entry).
    let m0 = 2 * g.params().m as usize;
    assert!(seen <= 200 * m0 + 1, "{seen} nodes filtered");
}

/// Churn on a tiny graph (replacements and deletes): every live node stays
/// reachable by a self-query with ef = the node count.
#[test]
fn tiny_graph_churn_keeps_every_node_reachable() {
    let nfiles = 6usize;
    let steps = 3000usize;
    let mut data: Vec<f32> = Vec::new();
    let mut rng = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let cap = (steps + 10) as u32;
    let mut g = Hnsw::new(HnswParams::default(), Metric::L2, cap);
    let mut cur: Vec<Option<u32>> = vec![None; nfiles];
    for step in 0..steps {
        let nid = step as u32;
        let k = (next() % nfiles as u64) as usize;
        let op = next() % 10;
        let x = (next() % 30) as f32;
        let y = (next() % 4) as f32;
        data.extend_from_slice(&[x, y, 0.5, -1.25]);
        let vecs = SliceVectors {
            data: &data,
            dim: 4,
        };
        match op {
            0..=5 => {
                if let Some(old) = cur[k].take() {
                    g.remove(old, &vecs).unwrap();
                }
                g.insert(nid, &vecs).unwrap();
                cur[k] = Some(nid);
            }
            6 | 7 => {
                if let Some(old) = cur[k].take() {
                    g.remove(old, &vecs).unwrap();
                }
            }
            _ => {}
        }
        for &id in cur.iter().flatten() {
            let q = vecs.get(id).unwrap();
            let hits = g.search(q, 10, 16, &vecs, &mut |_| true).unwrap();
            assert!(
                hits.iter().any(|h| h.1 == 0.0),
                "step {step}: node {id} {q:?} not reachable: {hits:?}"
            );
        }
    }
}
