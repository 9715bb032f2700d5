#!/usr/bin/env python3
"""The table of `make bench-ann`: VexFS (vexfs-bench ann) against hnswlib
(hnswlib_bench.py) on the same sets, from their outputs of the same run.

    compare.py SET=VEXFS_OUT,HNSWLIB_OUT [SET=...]

One markdown table. Per set: a row with the build rate (vectors/s) of each
and VexFS/hnswlib; then a row per ef of the list: recall@k and QPS of each at
that ef (and their ratio at equal ef), and the ratio at equal recall: VexFS's
QPS at hnswlib's recall of that row (interpolated log-linearly in recall
between the two VexFS points around it; the first VexFS point reaching it
when recall saturates) over hnswlib's best QPS at that recall or better (so
a larger ef that gains no recall is not counted against hnswlib). Where
hnswlib's recall is below VexFS's at its smallest ef the ratio is a lower
bound (">="); above VexFS's best recall there is none ("-"). Standard
library only.
"""
import math
import re
import sys

LINE_BUILD = re.compile(r"^build vectors=(\d+) seconds=([\d.]+) vec_per_s=([\d.]+)")
LINE_EF = re.compile(r"^ef=(\d+) k=(\d+) recall=([\d.]+) qps=([\d.]+)")


def parse(path):
    build, points, dim = None, [], None
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            m = LINE_BUILD.match(line)
            if m:
                build = (int(m.group(1)), float(m.group(3)))
                continue
            m = LINE_EF.match(line)
            if m:
                points.append((int(m.group(1)), float(m.group(3)), float(m.group(4))))
                continue
            m = re.search(r"\((\d+) x (\d+)\)", line)
            if line.startswith("#") and m:
                dim = int(m.group(2))
    if build is None or not points:
        sys.exit(f"compare.py: {path}: no build line or no ef lines (did the run fail?)")
    return build, points, dim


def qps_at(points, r):
    """VexFS's QPS at recall r: (qps, exact?) or None when out of reach."""
    pts = sorted(points, key=lambda p: p[0])  # by ef
    if r <= pts[0][1]:
        return pts[0][2], False
    for (_, r0, q0), (_, r1, q1) in zip(pts, pts[1:]):
        if r0 <= r <= r1:
            if r1 == r0:
                return q0, True
            f = (r - r0) / (r1 - r0)
            return math.exp(math.log(q0) + f * (math.log(q1) - math.log(q0))), True
    return None


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rows = []
    builds = []
    for arg in sys.argv[1:]:
        name, _, files = arg.partition("=")
        vf, _, hf = files.partition(",")
        (vn, vrate), vpts, dim = parse(vf)
        (hn, hrate), hpts, _ = parse(hf)
        if vn != hn:
            sys.exit(f"compare.py: {name}: VexFS built {vn} vectors, hnswlib {hn}")
        builds.append((name, vn, dim, vrate, hrate))
        hby = {ef: (r, q) for ef, r, q in hpts}
        for ef, vr, vq in vpts:
            if ef not in hby:
                continue
            hr, hq = hby[ef]
            # hnswlib's best QPS at this recall or better (a larger ef that
            # gains no recall is compared at the cheapest ef reaching it)
            hbest = max(q for _, r, q in hpts if r >= hr)
            at = qps_at(vpts, hr)
            if at is None:
                eq = "-"
            else:
                eq = f"{at[0] / hbest:.2f}" if at[1] else f">={at[0] / hbest:.2f}"
            rows.append((name, ef, vr, hr, vq, hq, vq / hq, eq))

    # One table: per set a build row (rates in vectors/s in the QPS columns), then a row per ef.
    print("| set | ef | recall@k VexFS | recall@k hnswlib | QPS VexFS | QPS hnswlib | VexFS/hnswlib at equal ef | VexFS/hnswlib at hnswlib's recall |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, n, dim, vrate, hrate in builds:
        print(f"| {name} ({n} x {dim}) | build | | | {vrate:.0f} vec/s | {hrate:.0f} vec/s | **{vrate / hrate:.2f}** (build rate) | |")
        for rname, ef, vr, hr, vq, hq, ratio, eq in rows:
            if rname == name:
                print(f"| {name} | {ef} | {vr:.4f} | {hr:.4f} | {vq:.0f} | {hq:.0f} | {ratio:.2f} | **{eq}** |")

if __name__ == "__main__":
    main()
