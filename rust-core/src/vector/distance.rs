//! Distance kernels for vector search.
//!
//! Every metric is expressed as "smaller is nearer" so the index and the exact
//! search can rank by one ordering:
//!
//! * [`Metric::L2`]: squared Euclidean distance.
//! * [`Metric::Cosine`]: `1 - cos(a, b)`, in `[0, 2]`; a zero vector is at
//!   distance 1 from everything (cosine similarity taken as 0).
//! * [`Metric::Ip`]: the negated inner product `-dot(a, b)`.
//!
//! The kernels are plain scalar Rust written in fixed-width chunks of 8 lanes
//! with independent accumulators, so that the host compiler vectorises them
//! (SSE2/AVX) while the kernel build (soft-float, no SIMD registers) gets the
//! same results from straight-line scalar code. No `std`: the square root
//! comes from `libm`.
//!
//! Vectors of different lengths are compared over their common prefix; the
//! callers (the vector store) check dimensions before calling.

/// The distance function of a vector space. The values are the
/// `VEXFS_METRIC_*` constants of `ffi/include/vexfs_uapi.h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Metric {
    /// Squared Euclidean distance.
    L2 = 1,
    /// One minus the cosine similarity.
    Cosine = 2,
    /// Negative inner product.
    Ip = 3,
}

impl Metric {
    /// The metric with the given `VEXFS_METRIC_*` value.
    pub fn from_u32(v: u32) -> Option<Metric> {
        match v {
            1 => Some(Metric::L2),
            2 => Some(Metric::Cosine),
            3 => Some(Metric::Ip),
            _ => None,
        }
    }

    /// The `VEXFS_METRIC_*` value.
    pub fn as_u32(self) -> u32 {
        self as u32
    }
}

/// Lanes per chunk: 8 independent accumulators (two SSE registers, one AVX).
const LANES: usize = 8;

/// Sum of the 8 accumulators, in a fixed (pairwise) order so results do not
/// depend on how the loop was compiled.
#[inline(always)]
fn hsum(acc: &[f32; LANES]) -> f32 {
    let [a0, a1, a2, a3, a4, a5, a6, a7] = *acc;
    ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7))
}

/// Returns from the calling function with the widest host kernel `f`
/// the CPU runs (AVX-512F, else AVX2/FMA); falls through to the caller's
/// portable code otherwise and in the kernel build.
macro_rules! simd {
    ($f:ident($($arg:expr),*)) => {
        #[cfg(all(feature = "std", target_arch = "x86_64", not(feature = "kernel")))]
        match x86::choice() {
            // SAFETY: the CPU has AVX-512F (checked at run time).
            x86::AVX512 => return unsafe { x86::avx512::$f($($arg),*) },
            // SAFETY: the CPU has AVX2 and FMA (checked at run time).
            x86::AVX2 => return unsafe { x86::$f($($arg),*) },
            _ => {}
        }
    };
}

/// Inner product over the common prefix of `a` and `b`.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    simd!(dot(a, b));
    dot_scalar(a, b)
}

/// [`dot`] in portable code (the reference of the SIMD kernels).
#[inline]
fn dot_scalar(a: &[f32], b: &[f32]) -> f32 {
    fold_scalar(a, b, |x, y| x * y)
}

/// The sum of `term(a[i], b[i])` over the common prefix, in `LANES`
/// independent accumulators (which the compiler vectorises) summed by
/// [`hsum`]: the fixed order the SIMD kernels are checked against.
#[inline(always)]
fn fold_scalar(a: &[f32], b: &[f32], term: impl Fn(f32, f32) -> f32) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (a.get(..n).unwrap_or(&[]), b.get(..n).unwrap_or(&[]));
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| term(x, y))
        .sum();
    let mut acc = [0.0f32; LANES];
    for (x, y) in ca.zip(cb) {
        if let (Ok(x), Ok(y)) = (<&[f32; LANES]>::try_from(x), <&[f32; LANES]>::try_from(y)) {
            for ((s, &x), &y) in acc.iter_mut().zip(x).zip(y) {
                *s += term(x, y);
            }
        }
    }
    hsum(&acc) + tail
}

#[inline]
fn dot_self(a: &[f32]) -> f32 {
    dot_scalar(a, a)
}

/// Squared Euclidean distance over the common prefix of `a` and `b`.
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    simd!(l2_squared(a, b));
    l2_squared_scalar(a, b)
}

/// [`l2_squared`] in portable code.
#[inline]
fn l2_squared_scalar(a: &[f32], b: &[f32]) -> f32 {
    fold_scalar(a, b, |x, y| (x - y) * (x - y))
}

/// `1 - cos(a, b)` over the common prefix, clamped to `[0, 2]`; 1 when either
/// vector is zero.
#[inline]
pub fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    simd!(cosine_distance(a, b));
    cosine_distance_scalar(a, b)
}

/// [`cosine_distance`] in portable code.
#[inline]
fn cosine_distance_scalar(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (a.get(..n).unwrap_or(&[]), b.get(..n).unwrap_or(&[]));
    // Three vectorised passes beat one fused loop, which the compiler leaves
    // scalar (measured: ~100 ns against ~190 ns at 128-d).
    cosine_finish(dot_scalar(a, b), dot_self(a), dot_self(b), a, b)
}

/// The cosine distance from the f32 sums `a·b`, `a·a`, `b·b` of the
/// (equal-length) `a` and `b`: redone in f64 when a sum overflowed.
#[inline]
fn cosine_finish(dot: f32, na: f32, nb: f32, a: &[f32], b: &[f32]) -> f32 {
    let mut dot = f64::from(dot);
    let mut na = f64::from(na);
    let mut nb = f64::from(nb);
    if na.is_nan() || nb.is_nan() || dot.is_nan() {
        return f32::NAN;
    }
    if na.is_infinite() || nb.is_infinite() || dot.is_infinite() {
        // Components beyond ~1e19 overflow the f32 sums: redo in f64.
        (dot, na, nb) = (0.0, 0.0, 0.0);
        for (&x, &y) in a.iter().zip(b) {
            let (x, y) = (f64::from(x), f64::from(y));
            dot += x * y;
            na += x * x;
            nb += y * y;
        }
    }
    if na <= 0.0 || nb <= 0.0 {
        return 1.0;
    }
    // The product of the squared norms in f64: it overflows f32 early.
    let denom = libm::sqrt(na * nb);
    if denom <= 0.0 || !denom.is_finite() {
        return 1.0;
    }
    let d = 1.0 - dot / denom;
    // Rounding can leave |cos| slightly above 1.
    d.clamp(0.0, 2.0) as f32
}

/// The distance between `a` and `b` under `metric`; smaller is nearer. NaN in
/// either input gives NaN (callers reject non-finite vectors up front with
/// [`is_finite_vector`]).
#[inline]
pub fn distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    let mut d = [f32::NAN];
    distances(metric, a, &[b], &mut d);
    let [d] = d;
    d
}

/// The distance kernels this process uses: "AVX-512F", "AVX2/FMA" or
/// "scalar" (host builds choose at run time; the kernel build reports
/// "scalar": its SIMD is the shim's).
pub fn kernels() -> &'static str {
    #[cfg(all(feature = "std", target_arch = "x86_64", not(feature = "kernel")))]
    match x86::choice() {
        x86::AVX512 => return "AVX-512F",
        x86::AVX2 => return "AVX2/FMA",
        _ => {}
    }
    "scalar"
}

/// `x.is_nan()` by its bits: in the soft-float kernel build a float
/// comparison is a library call.
#[inline(always)]
pub fn is_nan(x: f32) -> bool {
    x.to_bits() & 0x7fff_ffff > 0x7f80_0000
}

/// Asks the CPU to bring `v` (its first 2 KiB) into the cache: a search
/// calls it for each vector of a batch before computing the batch, so
/// their memory reads overlap. A no-op where there is no prefetch.
#[inline(always)]
pub fn prefetch(v: &[f32]) {
    #[cfg(all(feature = "std", target_arch = "x86_64", not(feature = "kernel")))]
    for line in v.chunks(16).take(32) {
        // SAFETY: a prefetch is a hint; it never faults.
        unsafe {
            core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                line.as_ptr().cast(),
            )
        };
    }
    #[cfg(not(all(feature = "std", target_arch = "x86_64", not(feature = "kernel"))))]
    let _ = v;
}

/// Most vectors per [`distances`] call: one vector-unit section in the kernel.
pub const BATCH: usize = 16;

/// `out[i]` = the distance between `q` and `vs[i]`, for a batch of at most
/// [`BATCH`] (longer inputs are done in pieces). In the kernel the batch
/// runs on AVX2/FMA in one FPU section when the CPU allows it.
pub fn distances(metric: Metric, q: &[f32], vs: &[&[f32]], out: &mut [f32]) {
    simd!(distances(metric, q, vs, out));
    for (vs, out) in vs.chunks(BATCH).zip(out.chunks_mut(BATCH)) {
        #[cfg(feature = "kernel")]
        if crate::ffi::simd_distances(metric, q, vs, out) {
            for (v, o) in vs.iter().zip(out.iter_mut()) {
                if is_nan(*o) {
                    *o = scalar_distance(metric, q, v);
                }
            }
            continue;
        }
        for (v, o) in vs.iter().zip(out.iter_mut()) {
            *o = scalar_distance(metric, q, v);
        }
    }
}

#[inline]
fn scalar_distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    match metric {
        Metric::L2 => l2_squared_scalar(a, b),
        Metric::Cosine => cosine_distance_scalar(a, b),
        Metric::Ip => -dot_scalar(a, b),
    }
}

/// AVX-512F and AVX2/FMA kernels for host builds, chosen once at run time
/// (`is_x86_feature_detected!`): the widest the CPU has; the scalar code
/// above is the fallback and the reference. In the environment,
/// `VEXFS_NO_SIMD` forces the scalar code and `VEXFS_NO_AVX512` stops at
/// AVX2 (for comparisons). The kernel build never compiles this: it has its
/// own kernels (kmod/simd) behind one FPU section per batch.
#[cfg(all(feature = "std", target_arch = "x86_64", not(feature = "kernel")))]
mod x86 {
    use super::Metric;
    use core::arch::x86_64::*;
    use core::sync::atomic::{AtomicU8, Ordering};

    const UNKNOWN: u8 = 0;
    pub(super) const SCALAR: u8 = 1;
    pub(super) const AVX2: u8 = 2;
    pub(super) const AVX512: u8 = 3;
    static CHOICE: AtomicU8 = AtomicU8::new(UNKNOWN);

    /// The kernels in use: `SCALAR`, `AVX2` or `AVX512`.
    #[inline(always)]
    pub(super) fn choice() -> u8 {
        match CHOICE.load(Ordering::Relaxed) {
            UNKNOWN => detect(),
            c => c,
        }
    }

    #[cold]
    fn detect() -> u8 {
        let env = |v: &str| std::env::var_os(v).is_some();
        let c = if env("VEXFS_NO_SIMD")
            || !(std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma"))
        {
            SCALAR
        } else if std::is_x86_feature_detected!("avx512f") && !env("VEXFS_NO_AVX512") {
            AVX512
        } else {
            AVX2
        };
        CHOICE.store(c, Ordering::Relaxed);
        c
    }

    /// Asks for the first cache lines of `v` (up to 512 bytes).
    #[inline(always)]
    fn prefetch(v: &[f32]) {
        for line in v.chunks(16).take(8) {
            // SAFETY: a prefetch is a hint and never faults; SSE is part
            // of x86_64.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) };
        }
    }

    /// `out[i]` = the distance from `q` to `vs[i]` by the kernels in
    /// scope; the next vector's first lines are prefetched while one is
    /// computed.
    macro_rules! batch {
        ($metric:ident, $q:ident, $vs:ident, $out:ident, $prefetch:path) => {{
            let mut next = $vs.iter().skip(1);
            for (v, o) in $vs.iter().zip($out.iter_mut()) {
                if let Some(n) = next.next() {
                    $prefetch(n);
                }
                // SAFETY: the caller's CPU has what the kernels need.
                *o = unsafe {
                    match $metric {
                        Metric::L2 => l2_squared($q, v),
                        Metric::Cosine => cosine_distance($q, v),
                        Metric::Ip => -dot($q, v),
                    }
                };
            }
        }};
    }

    /// 512-bit kernels: 16 floats a step, the tail by a masked load.
    pub(super) mod avx512 {
        use super::super::Metric;
        use core::arch::x86_64::*;

        /// `n` floats of `a` and `b` from `i` (at most 16; the rest read as 0).
        ///
        /// # Safety
        /// `a` and `b` hold at least `i + n` floats; the CPU has AVX-512F.
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn load2(a: &[f32], b: &[f32], i: usize, n: usize) -> (__m512, __m512) {
            let m: __mmask16 = if n >= 16 { 0xffff } else { (1u16 << n) - 1 };
            // SAFETY: lanes past `n` are masked off and not read.
            unsafe {
                (
                    _mm512_maskz_loadu_ps(m, a.as_ptr().add(i)),
                    _mm512_maskz_loadu_ps(m, b.as_ptr().add(i)),
                )
            }
        }

        /// The sum over the common prefix of `a` and `b` of what `step`
        /// folds into an accumulator (`$s`) from 16 floats of each (`$x`,
        /// `$y`): four accumulators, the tail by a masked load.
        macro_rules! fold16 {
            ($a:ident, $b:ident, |$x:ident, $y:ident, $s:ident| $step:expr) => {{
                let n = $a.len().min($b.len());
                let mut acc = [_mm512_setzero_ps(); 4];
                let mut i = 0;
                while i + 64 <= n {
                    for (k, $s) in acc.iter_mut().enumerate() {
                        // SAFETY: i + 16k + 16 <= n floats in both.
                        let ($x, $y) = unsafe { load2($a, $b, i + 16 * k, 16) };
                        *$s = $step;
                    }
                    i += 64;
                }
                while i < n {
                    // SAFETY: min(16, n - i) floats from i in both.
                    let ($x, $y) = unsafe { load2($a, $b, i, n - i) };
                    let $s = &mut acc[0];
                    *$s = $step;
                    i += 16;
                }
                let [a0, a1, a2, a3] = acc;
                _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)))
            }};
        }

        /// Squared L2 distance over the common prefix.
        ///
        /// # Safety
        /// The CPU has AVX-512F.
        #[inline]
        #[target_feature(enable = "avx512f")]
        pub(in super::super) unsafe fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
            fold16!(a, b, |x, y, s| {
                let d = _mm512_sub_ps(x, y);
                _mm512_fmadd_ps(d, d, *s)
            })
        }

        /// Inner product over the common prefix.
        ///
        /// # Safety
        /// The CPU has AVX-512F.
        #[inline]
        #[target_feature(enable = "avx512f")]
        pub(in super::super) unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
            fold16!(a, b, |x, y, s| _mm512_fmadd_ps(x, y, *s))
        }

        /// `1 - cos(a, b)` over the common prefix, as the scalar code defines it.
        ///
        /// # Safety
        /// The CPU has AVX-512F.
        #[inline]
        #[target_feature(enable = "avx512f")]
        pub(in super::super) unsafe fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
            let n = a.len().min(b.len());
            let z = _mm512_setzero_ps();
            let (mut ab, mut aa, mut bb) = ([z; 2], [z; 2], [z; 2]);
            let mut i = 0;
            while i + 32 <= n {
                for k in 0..2 {
                    // SAFETY: i + 16k + 16 <= n floats in both.
                    let (x, y) = unsafe { load2(a, b, i + 16 * k, 16) };
                    if let (Some(s), Some(t), Some(u)) =
                        (ab.get_mut(k), aa.get_mut(k), bb.get_mut(k))
                    {
                        *s = _mm512_fmadd_ps(x, y, *s);
                        *t = _mm512_fmadd_ps(x, x, *t);
                        *u = _mm512_fmadd_ps(y, y, *u);
                    }
                }
                i += 32;
            }
            while i < n {
                // SAFETY: min(16, n - i) floats from i in both.
                let (x, y) = unsafe { load2(a, b, i, n - i) };
                ab[0] = _mm512_fmadd_ps(x, y, ab[0]);
                aa[0] = _mm512_fmadd_ps(x, x, aa[0]);
                bb[0] = _mm512_fmadd_ps(y, y, bb[0]);
                i += 16;
            }
            let d = _mm512_reduce_add_ps(_mm512_add_ps(ab[0], ab[1]));
            let na = _mm512_reduce_add_ps(_mm512_add_ps(aa[0], aa[1]));
            let nb = _mm512_reduce_add_ps(_mm512_add_ps(bb[0], bb[1]));
            let (a, b) = (a.get(..n).unwrap_or(&[]), b.get(..n).unwrap_or(&[]));
            super::super::cosine_finish(d, na, nb, a, b)
        }

        /// `out[i]` = the distance from `q` to `vs[i]`.
        ///
        /// # Safety
        /// The CPU has AVX-512F.
        #[target_feature(enable = "avx512f")]
        pub(in super::super) unsafe fn distances(
            metric: Metric,
            q: &[f32],
            vs: &[&[f32]],
            out: &mut [f32],
        ) {
            batch!(metric, q, vs, out, super::prefetch)
        }
    }

    /// Sum of the 8 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
        _mm_cvtss_f32(s)
    }

    /// 8 floats of `p` from `i`.
    ///
    /// # Safety
    /// `p` points to at least `i + 8` readable f32.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn load(p: *const f32, i: usize) -> __m256 {
        // SAFETY: per the contract.
        unsafe { _mm256_loadu_ps(p.add(i)) }
    }

    /// The common prefix of `a` and `b`.
    #[inline(always)]
    fn prefix<'a>(a: &'a [f32], b: &'a [f32]) -> (&'a [f32], &'a [f32], usize) {
        let n = a.len().min(b.len());
        (a.get(..n).unwrap_or(&[]), b.get(..n).unwrap_or(&[]), n)
    }

    /// The sum over the common prefix of `a` and `b` of what `step` folds
    /// into an accumulator (`$s`) from 8 floats of each (`$x`, `$y`), four
    /// accumulators wide; the last `n % 8` by `tail` on single floats.
    macro_rules! fold8 {
        ($a:ident, $b:ident, |$x:ident, $y:ident, $s:ident| $step:expr, $tail:expr) => {{
            let (a, b, n) = prefix($a, $b);
            let (pa, pb) = (a.as_ptr(), b.as_ptr());
            let mut acc = [_mm256_setzero_ps(); 4];
            let mut i = 0;
            while i + 32 <= n {
                for (k, $s) in acc.iter_mut().enumerate() {
                    // SAFETY: i + 8k + 8 <= i + 32 <= n floats in both.
                    let ($x, $y) = unsafe { (load(pa, i + 8 * k), load(pb, i + 8 * k)) };
                    *$s = $step;
                }
                i += 32;
            }
            while i + 8 <= n {
                // SAFETY: i + 8 <= n floats in both.
                let ($x, $y) = unsafe { (load(pa, i), load(pb, i)) };
                let $s = &mut acc[0];
                *$s = $step;
                i += 8;
            }
            let [a0, a1, a2, a3] = acc;
            let s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
            let tail = a
                .get(i..)
                .unwrap_or(&[])
                .iter()
                .zip(b.get(i..).unwrap_or(&[]));
            s + tail.map(|(&x, &y)| $tail(x, y)).sum::<f32>()
        }};
    }

    /// Squared L2 distance over the common prefix.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
        fold8!(
            a,
            b,
            |x, y, s| {
                let d = _mm256_sub_ps(x, y);
                _mm256_fmadd_ps(d, d, *s)
            },
            |x: f32, y: f32| (x - y) * (x - y)
        )
    }

    /// Inner product over the common prefix.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
        fold8!(
            a,
            b,
            |x, y, s| _mm256_fmadd_ps(x, y, *s),
            |x: f32, y: f32| x * y
        )
    }

    /// `1 - cos(a, b)` over the common prefix, as the scalar code defines it.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
        let (a, b, n) = prefix(a, b);
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let z = _mm256_setzero_ps();
        let (mut ab, mut aa, mut bb) = ([z; 2], [z; 2], [z; 2]);
        let mut i = 0;
        while i + 16 <= n {
            for k in 0..2 {
                // SAFETY: i + 8k + 8 <= i + 16 <= n floats in both.
                let (x, y) = unsafe { (load(pa, i + 8 * k), load(pb, i + 8 * k)) };
                if let (Some(s), Some(t), Some(u)) = (ab.get_mut(k), aa.get_mut(k), bb.get_mut(k)) {
                    *s = _mm256_fmadd_ps(x, y, *s);
                    *t = _mm256_fmadd_ps(x, x, *t);
                    *u = _mm256_fmadd_ps(y, y, *u);
                }
            }
            i += 16;
        }
        if i + 8 <= n {
            // SAFETY: i + 8 <= n floats in both.
            let (x, y) = unsafe { (load(pa, i), load(pb, i)) };
            ab[0] = _mm256_fmadd_ps(x, y, ab[0]);
            aa[0] = _mm256_fmadd_ps(x, x, aa[0]);
            bb[0] = _mm256_fmadd_ps(y, y, bb[0]);
            i += 8;
        }
        let mut d = hsum(_mm256_add_ps(ab[0], ab[1]));
        let mut na = hsum(_mm256_add_ps(aa[0], aa[1]));
        let mut nb = hsum(_mm256_add_ps(bb[0], bb[1]));
        for (x, y) in a
            .get(i..)
            .unwrap_or(&[])
            .iter()
            .zip(b.get(i..).unwrap_or(&[]))
        {
            d += x * y;
            na += x * x;
            nb += y * y;
        }
        super::cosine_finish(d, na, nb, a, b)
    }

    /// `out[i]` = the distance from `q` to `vs[i]`.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn distances(metric: Metric, q: &[f32], vs: &[&[f32]], out: &mut [f32]) {
        batch!(metric, q, vs, out, prefetch)
    }
}

/// True when no component is NaN or infinite.
pub fn is_finite_vector(v: &[f32]) -> bool {
    v.iter().all(|x| x.is_finite())
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn metric_values() {
        assert_eq!(Metric::from_u32(1), Some(Metric::L2));
        assert_eq!(Metric::from_u32(2), Some(Metric::Cosine));
        assert_eq!(Metric::from_u32(3), Some(Metric::Ip));
        assert_eq!(Metric::from_u32(0), None);
        assert_eq!(Metric::from_u32(4), None);
        assert_eq!(Metric::Ip.as_u32(), 3);
    }

    #[test]
    fn chunked_equals_naive() {
        for n in [0usize, 1, 7, 8, 9, 16, 31, 128, 131] {
            let a: alloc::vec::Vec<f32> = (0..n)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0)
                .collect();
            let b: alloc::vec::Vec<f32> = (0..n)
                .map(|i| ((i * 59 % 97) as f32 - 48.0) / 13.0)
                .collect();
            let nd: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            let nl: f32 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            assert!((dot(&a, &b) - nd).abs() <= 1e-4 * (1.0 + nd.abs()));
            assert!((l2_squared(&a, &b) - nl).abs() <= 1e-4 * (1.0 + nl));
        }
    }

    /// Random, zero and large inputs of many lengths: every AVX2/FMA kernel
    /// agrees with the scalar code within a relative tolerance.
    #[cfg(all(feature = "std", target_arch = "x86_64", not(feature = "kernel")))]
    #[test]
    fn simd_kernels_match_scalar() {
        use alloc::vec::Vec;
        if !(std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")) {
            std::eprintln!("no AVX2/FMA on this CPU: SIMD kernels not tested");
            return;
        }
        let avx512 = std::is_x86_feature_detected!("avx512f");
        if !avx512 {
            std::eprintln!("no AVX-512F on this CPU: the 512-bit kernels not tested");
        }
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let mut dims: Vec<usize> = (0..=67).collect();
        dims.extend([96, 128, 384, 768, 1000, 1536]);
        // (scale, offset) of the components: small, typical, large (sums
        // near f32 range: cosine goes to f64), huge (sums overflow).
        let kinds: [(f32, f32); 6] = [
            (1.0, 0.0),
            (10.0, 0.0),
            (1.0, 3.0),
            (1e-20, 0.0),
            (1e15, 0.0),
            (1e20, 0.0),
        ];
        let close = |x: f32, y: f32, scale: f32, what: &str| {
            if !x.is_finite() || !y.is_finite() {
                // Overflowed sums: not finite in both (inf or NaN, by order).
                assert!(!x.is_finite() && !y.is_finite(), "{what}: {x} vs {y}");
                return;
            }
            let tol = 2e-5 * scale.max(x.abs()).max(y.abs()) + f32::MIN_POSITIVE;
            assert!(
                (x - y).abs() <= tol,
                "{what}: simd {x} scalar {y} (tol {tol})"
            );
        };
        for &n in &dims {
            for (kind, &(scale, off)) in kinds.iter().enumerate() {
                for case in 0..4 {
                    let a: Vec<f32> = (0..n).map(|_| rnd() * scale + off).collect();
                    let b: Vec<f32> = match case {
                        0 => (0..n).map(|_| rnd() * scale + off).collect(),
                        1 => alloc::vec![0.0; n],
                        2 => a.clone(),
                        _ => a.iter().map(|x| -x * 2.0).collect(),
                    };
                    let what = std::format!("n {n} kind {kind} case {case}");
                    let abs: f32 = a.iter().zip(&b).map(|(x, y)| (x * y).abs()).sum();
                    let sq: f32 = a.iter().zip(&b).map(|(x, y)| x * x + y * y).sum();
                    // SAFETY: AVX2 and FMA are present (checked above).
                    let (l2, d, c) = unsafe {
                        (
                            x86::l2_squared(&a, &b),
                            x86::dot(&a, &b),
                            x86::cosine_distance(&a, &b),
                        )
                    };
                    if avx512 {
                        // SAFETY: AVX-512F is present (checked above).
                        let (l2w, dw, cw) = unsafe {
                            (
                                x86::avx512::l2_squared(&a, &b),
                                x86::avx512::dot(&a, &b),
                                x86::avx512::cosine_distance(&a, &b),
                            )
                        };
                        close(
                            l2w,
                            l2_squared_scalar(&a, &b),
                            2.0 * sq,
                            &std::format!("avx512 l2 {what}"),
                        );
                        close(
                            dw,
                            dot_scalar(&a, &b),
                            abs,
                            &std::format!("avx512 dot {what}"),
                        );
                        let cs = cosine_distance_scalar(&a, &b);
                        assert!(
                            (cw - cs).abs() <= 1e-4 || (cw.is_nan() && cs.is_nan()),
                            "avx512 cosine {what}: simd {cw} scalar {cs}"
                        );
                    }
                    // What the dispatching entry points use.
                    let (l2, d, c) = if x86::choice() == x86::AVX512 {
                        // SAFETY: chosen only when AVX-512F is present.
                        unsafe {
                            (
                                x86::avx512::l2_squared(&a, &b),
                                x86::avx512::dot(&a, &b),
                                x86::avx512::cosine_distance(&a, &b),
                            )
                        }
                    } else {
                        (l2, d, c)
                    };
                    close(
                        l2,
                        l2_squared_scalar(&a, &b),
                        2.0 * sq,
                        &std::format!("l2 {what}"),
                    );
                    close(d, dot_scalar(&a, &b), abs, &std::format!("dot {what}"));
                    let cs = cosine_distance_scalar(&a, &b);
                    assert!(
                        (c - cs).abs() <= 1e-4 || (c.is_nan() && cs.is_nan()),
                        "cosine {what}: simd {c} scalar {cs}"
                    );
                    // The dispatching entry points and the batch give the same.
                    let same =
                        |x: f32, y: f32| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan());
                    assert!(same(l2_squared(&a, &b), l2), "{what}");
                    assert!(same(dot(&a, &b), d), "{what}");
                    assert!(same(cosine_distance(&a, &b), c), "{what}");
                    for m in [Metric::L2, Metric::Cosine, Metric::Ip] {
                        let vs: Vec<&[f32]> = alloc::vec![&b[..]; 19];
                        let mut out = alloc::vec![f32::NAN; 19];
                        distances(m, &a, &vs, &mut out);
                        let one = distance(m, &a, &b);
                        let want = scalar_distance(m, &a, &b);
                        for o in &out {
                            assert!(
                                o.to_bits() == one.to_bits() || (o.is_nan() && one.is_nan()),
                                "{m:?} {what}"
                            );
                        }
                        if m == Metric::Cosine {
                            assert!(
                                (one - want).abs() <= 1e-4 || (one.is_nan() && want.is_nan()),
                                "{m:?} {what}"
                            );
                        } else {
                            let s = if m == Metric::L2 { 2.0 * sq } else { abs };
                            close(one, want, s, &std::format!("{m:?} {what}"));
                        }
                    }
                }
            }
        }
        // Unequal lengths: the common prefix, as the scalar code.
        let a: Vec<f32> = (0..70).map(|_| rnd()).collect();
        let b: Vec<f32> = (0..45).map(|_| rnd()).collect();
        // SAFETY: AVX2 and FMA are present.
        let l2 = unsafe { x86::l2_squared(&a, &b) };
        assert!((l2 - l2_squared_scalar(&a, &b)).abs() <= 1e-5);
        if avx512 {
            // SAFETY: AVX-512F is present.
            let l2 = unsafe { x86::avx512::l2_squared(&a, &b) };
            assert!((l2 - l2_squared_scalar(&a, &b)).abs() <= 1e-5);
        }
        // NaN in, NaN out.
        let mut n = a.clone();
        n[3] = f32::NAN;
        // SAFETY: AVX2 and FMA are present.
        unsafe {
            assert!(x86::l2_squared(&n, &a).is_nan());
            assert!(x86::dot(&n, &a).is_nan());
            assert!(x86::cosine_distance(&n, &a).is_nan());
        }
        if avx512 {
            // SAFETY: AVX-512F is present.
            unsafe {
                assert!(x86::avx512::l2_squared(&n, &a).is_nan());
                assert!(x86::avx512::dot(&n, &a).is_nan());
                assert!(x86::avx512::cosine_distance(&n, &a).is_nan());
            }
        }
    }
}
