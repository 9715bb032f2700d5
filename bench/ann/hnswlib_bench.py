#!/usr/bin/env python3
"""hnswlib under the protocol of `vexfs-bench ann`, for a ratio in the same run.

    hnswlib_bench.py --base B.fvecs --queries Q.fvecs [--gt G.ivecs] --k 10
                     --ef 10,20,40,80,160 [--m 16 --ef-construction 200]
                     [--metric l2|cosine|ip] [--limit N] [--runs R] [--seed S]

Same files, same k, same ef list, same output lines as vexfs-bench:
`#` header lines, one `build vectors=N seconds=S vec_per_s=R` line, then one
`ef=E k=K recall=R qps=Q` line per ef. One thread throughout
(`set_num_threads(1)`, `num_threads=1` on every call). The index is built
by one `add_items` call over the base set in order (ids = row numbers) and
timed around that call; each ef runs the whole query set as one
`knn_query(queries, k, num_threads=1)` call (a C++ loop over the queries, no
Python per query), best of --runs. Recall@k counts the returned ids found
among the first k ids of the ground truth row, as vexfs-bench does. Without
--gt the ground truth is computed by brute force (numpy, exact).

The metric names map to hnswlib spaces: l2 -> 'l2' (squared Euclidean, as in
VexFS), cosine -> 'cosine', ip -> 'ip' (1 - inner product; the order is that
of VexFS's negative inner product).
Exit status 2 for bad arguments or input files, 1 when the run fails.
"""
import argparse
import os
import sys
import time

import numpy as np


def fail(msg, code=2):
    print(f"hnswlib_bench: {msg}", file=sys.stderr)
    sys.exit(code)


def read_xvecs(path, dtype, what):
    """.fvecs / .ivecs: rows of (int32 d, d values)."""
    raw = np.fromfile(path, dtype="<i4")
    if raw.size == 0:
        fail(f"{what} {path}: empty file")
    d = int(raw[0])
    if d <= 0 or raw.size % (d + 1) != 0:
        fail(f"{what} {path}: not a {dtype} vecs file of constant dimension")
    rows = raw.reshape(-1, d + 1)
    if not (rows[:, 0] == d).all():
        fail(f"{what} {path}: rows of different dimensions")
    return np.ascontiguousarray(rows[:, 1:]).view(dtype)


def read_vectors(path, what, limit=0):
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".fvecs":
            a = read_xvecs(path, "<f4", what)
        elif ext == ".npy":
            a = np.load(path)
            if a.ndim != 2 or a.dtype.kind != "f":
                fail(f"{what} {path}: expected a float array of shape (n, d)")
        else:
            fail(f"{what} {path}: unsupported file type (expected .fvecs or .npy)")
    except OSError as e:
        fail(f"{what} {path}: {e}")
    if limit:
        a = a[:limit]
    a = np.ascontiguousarray(a, dtype=np.float32)
    if a.shape[0] == 0 or a.shape[1] == 0:
        fail(f"{what} {path}: no vectors")
    if not np.isfinite(a).all():
        bad = int(np.argwhere(~np.isfinite(a))[0][0])
        fail(f"{what} {path}: vector {bad} has a non-finite component (NaN or infinity)")
    return a


def read_truth(path):
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".ivecs":
            t = read_xvecs(path, "<i4", "ground truth")
        elif ext == ".npy":
            t = np.load(path)
            if t.ndim != 2 or t.dtype.kind not in "iu":
                fail(f"ground truth {path}: expected an integer array of shape (queries, neighbours)")
        else:
            fail(f"ground truth {path}: unsupported file type (expected .ivecs or .npy)")
    except OSError as e:
        fail(f"ground truth {path}: {e}")
    if (t < 0).any():
        fail(f"ground truth {path}: negative id")
    return t.astype(np.int64)


def brute_force(base, queries, k, metric):
    out = np.empty((queries.shape[0], k), dtype=np.int64)
    b = base.astype(np.float64)
    if metric == "cosine":
        b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-30)
    bn = (b ** 2).sum(1)
    for s in range(0, queries.shape[0], 256):
        q = queries[s:s + 256].astype(np.float64)
        if metric == "cosine":
            q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-30)
        if metric == "l2":
            d = bn[None, :] - 2.0 * (q @ b.T)
        else:
            d = -(q @ b.T)
        ids = np.arange(b.shape[0])
        for i in range(q.shape[0]):
            out[s + i] = np.lexsort((ids, d[i]))[:k]
    return out


def recall(got, truth, k):
    hits = 0
    for g, t in zip(got, truth[:, :k]):
        hits += np.isin(g, t).sum()
    return hits / max(got.shape[0] * k, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--gt")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--ef", default="16,32,64,128,256")
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--metric", choices=["l2", "cosine", "ip"], default="l2")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=100, help="hnswlib random_seed (its default is 100)")
    a = ap.parse_args()

    try:
        efs = [int(x) for x in a.ef.split(",") if x.strip()]
    except ValueError:
        fail(f"--ef {a.ef}: not a comma-separated list of integers")
    if not efs or min(efs) < 1:
        fail("--ef must list search breadths of at least 1")
    if a.k < 1:
        fail("--k must be at least 1")

    try:
        import hnswlib
    except ImportError:
        fail("the hnswlib module is missing (pip install hnswlib==0.8.*)")

    base = read_vectors(a.base, "base", a.limit)
    queries = read_vectors(a.queries, "queries")
    n, dim = base.shape
    if queries.shape[1] != dim:
        fail(f"dimension mismatch: base vectors have {dim} dimensions, queries {queries.shape[1]}")
    if a.k > n:
        fail(f"--k {a.k} is more than the {n} base vectors")

    truth = None
    if a.gt:
        if a.limit:
            fail("--limit with --gt: the ground truth is that of the full set; leave out --gt to compute it")
        truth = read_truth(a.gt)
        if truth.shape[0] != queries.shape[0]:
            fail(f"ground truth {a.gt} has {truth.shape[0]} rows for {queries.shape[0]} queries")
        if a.k > truth.shape[1]:
            fail(f"--k {a.k} is more than the {truth.shape[1]} neighbours per query in the ground truth {a.gt}")
        if truth.max() >= n:
            fail(f"ground truth {a.gt} names base vector {truth.max()}, the base set has {n}: "
                 "not the ground truth of this set?")

    hnswlib_version = getattr(hnswlib, "__version__", None)
    if hnswlib_version is None:
        try:
            from importlib.metadata import version
            hnswlib_version = version("hnswlib")
        except Exception:  # noqa: BLE001
            hnswlib_version = "?"

    index = hnswlib.Index(space=a.metric, dim=dim)
    index.set_num_threads(1)
    index.init_index(max_elements=n, M=a.m, ef_construction=a.ef_construction, random_seed=a.seed)
    ids = np.arange(n, dtype=np.int64)
    t = time.perf_counter()
    index.add_items(base, ids, num_threads=1)
    build_s = time.perf_counter() - t

    if truth is not None:
        print(f"# ground truth: {a.gt} ({truth.shape[1]} neighbours per query)")
    else:
        t0 = time.perf_counter()
        truth = brute_force(base, queries, a.k, a.metric)
        print(f"# ground truth: none given, computed by brute force ({time.perf_counter() - t0:.1f} s)")
    print(f"# hnswlib_bench: hnswlib {hnswlib_version}, single thread, M {a.m}, ef_construction "
          f"{a.ef_construction}; base {a.base} ({n} x {dim}), queries {a.queries} ({queries.shape[0]}), "
          f"metric {a.metric}, k {a.k}")
    print(f"build vectors={n} seconds={build_s:.3f} vec_per_s={n / max(build_s, 1e-9):.1f}", flush=True)
    for ef in efs:
        index.set_ef(ef)
        best = float("inf")
        for _ in range(max(a.runs, 1)):
            t = time.perf_counter()
            labels, _ = index.knn_query(queries, k=a.k, num_threads=1)
            best = min(best, time.perf_counter() - t)
        print(f"ef={ef} k={a.k} recall={recall(labels, truth, a.k):.4f} "
              f"qps={queries.shape[0] / max(best, 1e-9):.1f}", flush=True)


if __name__ == "__main__":
    main()
