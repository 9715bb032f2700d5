//! AVX2/FMA float kernels for vector distances in the kernel.
//!
//! The core's kernel build is soft-float (`x86_64-unknown-none`), where
//! `#[target_feature]` silently yields no SIMD. These few functions are built
//! for the hard-float `x86_64-unknown-linux-gnu` target instead, with the
//! kernel code model, and the shim calls them only between
//! `kernel_fpu_begin()` and `kernel_fpu_end()` on CPUs with AVX2, FMA and
//! OSXSAVE. Across the boundary only pointers and integers travel (floats as
//! their IEEE-754 bits), so the soft- and hard-float ABIs never meet.
#![cfg_attr(feature = "kernel", no_std)]
#![forbid(unsafe_op_in_unsafe_fn)]

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

/// Horizontal sum of the eight lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn hsum(v: __m256) -> f32 {
    let lo = _mm256_castps256_ps128(v);
    let hi = _mm256_extractf128_ps(v, 1);
    let s = _mm_add_ps(lo, hi);
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
    _mm_cvtss_f32(s)
}

/// Squared Euclidean distance of `a` and `b` (`n` floats each).
///
/// # Safety
/// The CPU has AVX2 and FMA; `a` and `b` point to `n` readable f32.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn l2sq(a: *const f32, b: *const f32, n: usize) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, so both loads are in bounds.
        let (x, y) = unsafe { (_mm256_loadu_ps(a.add(i)), _mm256_loadu_ps(b.add(i))) };
        let d = _mm256_sub_ps(x, y);
        acc = _mm256_fmadd_ps(d, d, acc);
        i += 8;
    }
    let mut s = hsum(acc);
    while i < n {
        // SAFETY: i < n.
        let d = unsafe { *a.add(i) - *b.add(i) };
        s += d * d;
        i += 1;
    }
    s
}

/// a·b, a·a and b·b in one pass.
///
/// # Safety
/// As `l2sq`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot3(a: *const f32, b: *const f32, n: usize) -> [f32; 3] {
    let (mut ab, mut aa, mut bb) = (
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
    );
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n.
        let (x, y) = unsafe { (_mm256_loadu_ps(a.add(i)), _mm256_loadu_ps(b.add(i))) };
        ab = _mm256_fmadd_ps(x, y, ab);
        aa = _mm256_fmadd_ps(x, x, aa);
        bb = _mm256_fmadd_ps(y, y, bb);
        i += 8;
    }
    let mut r = [hsum(ab), hsum(aa), hsum(bb)];
    while i < n {
        // SAFETY: i < n.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        r[0] += x * y;
        r[1] += x * x;
        r[2] += y * y;
        i += 1;
    }
    r
}

/// Squared L2 distance; returns its IEEE-754 bits.
///
/// # Safety
/// Called inside kernel_fpu_begin()/end() on a CPU with AVX2 and FMA; `a`
/// and `b` point to `n` readable f32.
#[cfg(target_arch = "x86_64")]
#[no_mangle]
pub unsafe extern "C" fn vexfs_simd_l2sq(a: *const u32, b: *const u32, n: usize) -> u32 {
    // SAFETY: per the contract.
    unsafe { l2sq(a.cast(), b.cast(), n) }.to_bits()
}

/// a·b, a·a, b·b into `out[0..3]` as IEEE-754 bits.
///
/// # Safety
/// As `vexfs_simd_l2sq`; `out` points to 3 writable u32.
#[cfg(target_arch = "x86_64")]
#[no_mangle]
pub unsafe extern "C" fn vexfs_simd_dot3(a: *const u32, b: *const u32, n: usize, out: *mut u32) {
    // SAFETY: per the contract.
    let r = unsafe { dot3(a.cast(), b.cast(), n) };
    for (k, v) in r.iter().enumerate() {
        // SAFETY: out has room for 3.
        unsafe { out.add(k).write(v.to_bits()) };
    }
}

/// The cosine distance `1 - a·b / sqrt(a·a × b·b)` as the core defines it
/// (`vector::distance::cosine_finish`): clamped to 0..=2, 1 for a zero
/// vector; NaN when an f32 sum is not finite (the core then redoes it in
/// f64 in software). Computed here, in hard float, because the core's
/// kernel build would do the division and square root in software floats.
///
/// # Safety
/// As `vexfs_simd_l2sq`.
#[cfg(target_arch = "x86_64")]
#[no_mangle]
pub unsafe extern "C" fn vexfs_simd_cos(a: *const u32, b: *const u32, n: usize) -> u32 {
    // SAFETY: per the contract.
    let [dot, na, nb] = unsafe { dot3(a.cast(), b.cast(), n) };
    // SAFETY: the caller's CPU has AVX2 (so SSE2).
    unsafe { cos_finish(dot, na, nb) }.to_bits()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn cos_finish(dot: f32, na: f32, nb: f32) -> f32 {
    if !(dot.is_finite() && na.is_finite() && nb.is_finite()) {
        return f32::NAN;
    }
    if na <= 0.0 || nb <= 0.0 {
        return 1.0;
    }
    // SSE2 is part of x86_64: the square root of the f64 product (which
    // overflows f32 early).
    let denom = _mm_cvtsd_f64(_mm_sqrt_pd(_mm_set_sd(f64::from(na) * f64::from(nb))));
    if !(denom > 0.0 && denom.is_finite()) {
        return 1.0;
    }
    (1.0 - f64::from(dot) / denom).clamp(0.0, 2.0) as f32
}

#[cfg(feature = "kernel")]
#[panic_handler]
fn simd_panic(_: &core::panic::PanicInfo<'_>) -> ! {
    extern "C" {
        fn panic(fmt: *const core::ffi::c_char, ...) -> !;
    }
    // SAFETY: a constant format without arguments.
    unsafe { panic(c"vexfs: panic in the SIMD kernels\n".as_ptr()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(a: &[f32], b: &[f32]) -> (f32, [f32; 3]) {
        let l2 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
        let d = [
            a.iter().zip(b).map(|(x, y)| x * y).sum(),
            a.iter().map(|x| x * x).sum(),
            b.iter().map(|y| y * y).sum(),
        ];
        (l2, d)
    }

    fn close(x: f32, y: f32) -> bool {
        (x - y).abs() <= 1e-4 * x.abs().max(y.abs()).max(1.0)
    }

    #[test]
    fn cosine_edges() {
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            return;
        }
        let z = [0.0f32; 9];
        let one = [1.0f32; 9];
        let big = [1e30f32; 9];
        // SAFETY: AVX2/FMA checked; 9 floats each.
        let cos = |a: &[f32], b: &[f32]| {
            f32::from_bits(unsafe { vexfs_simd_cos(a.as_ptr().cast(), b.as_ptr().cast(), 9) })
        };
        assert_eq!(cos(&z, &one), 1.0, "a zero vector");
        assert_eq!(cos(&one, &one), 0.0, "itself");
        let neg: Vec<f32> = one.iter().map(|x| -x).collect();
        assert_eq!(cos(&one, &neg), 2.0, "opposite");
        assert!(
            cos(&big, &one).is_nan(),
            "an overflowed sum: NaN, redone in software"
        );
    }

    #[test]
    fn matches_scalar_within_tolerance() {
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            eprintln!("no AVX2/FMA on this CPU: skipped");
            return;
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        for n in [0usize, 1, 7, 8, 9, 15, 16, 17, 100, 128, 384, 1012] {
            let a: Vec<f32> = (0..n).map(|_| rnd() * 10.0).collect();
            let b: Vec<f32> = (0..n).map(|_| rnd() * 10.0).collect();
            let (l2, d) = scalar(&a, &b);
            // SAFETY: AVX2/FMA checked above; the slices hold n floats.
            let got =
                f32::from_bits(unsafe { vexfs_simd_l2sq(a.as_ptr().cast(), b.as_ptr().cast(), n) });
            assert!(close(got, l2), "n {n}: {got} vs {l2}");
            let mut out = [0u32; 3];
            // SAFETY: as above; out has room for 3.
            unsafe { vexfs_simd_dot3(a.as_ptr().cast(), b.as_ptr().cast(), n, out.as_mut_ptr()) };
            for k in 0..3 {
                assert!(close(f32::from_bits(out[k]), d[k]), "n {n} k {k}");
            }
            // SAFETY: as above.
            let c =
                f32::from_bits(unsafe { vexfs_simd_cos(a.as_ptr().cast(), b.as_ptr().cast(), n) });
            let want = if d[1] <= 0.0 || d[2] <= 0.0 {
                1.0
            } else {
                (1.0 - f64::from(d[0]) / (f64::from(d[1]) * f64::from(d[2])).sqrt()).clamp(0.0, 2.0)
                    as f32
            };
            assert!((c - want).abs() <= 1e-5, "cos n {n}: {c} vs {want}");
        }
    }
}
