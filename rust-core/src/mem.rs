//! Fallible allocation. In the kernel an allocation can fail at any time
//! (memory pressure, a hostile size), and Rust's infallible collections
//! would then abort, which in a module is a kernel panic. Every allocation of
//! the core goes through these helpers (or `try_reserve` directly) and fails
//! with ENOMEM instead. Clippy's `disallowed_methods` (rust-core/clippy.toml)
//! refuses the infallible ones everywhere else in the core.
#![allow(clippy::disallowed_methods)]

use crate::{Errno, Result};
use alloc::boxed::Box;
use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::hash::{BuildHasher, Hash};

/// An empty vector with room for `n` elements.
pub fn vec_with_capacity<T>(n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Errno::ENOMEM)?;
    Ok(v)
}

/// `n` copies of `x`.
pub fn vec_filled<T: Clone>(n: usize, x: T) -> Result<Vec<T>> {
    let mut v = vec_with_capacity(n)?;
    v.resize(n, x);
    Ok(v)
}

/// A copy of `s`.
pub fn vec_from_slice<T: Clone>(s: &[T]) -> Result<Vec<T>> {
    let mut v = vec_with_capacity(s.len())?;
    v.extend_from_slice(s);
    Ok(v)
}

/// Append `x`.
pub fn push<T>(v: &mut Vec<T>, x: T) -> Result<()> {
    v.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    v.push(x);
    Ok(())
}

/// Insert `x` at `at` (at most `v.len()`).
pub fn insert<T>(v: &mut Vec<T>, at: usize, x: T) -> Result<()> {
    if at > v.len() {
        return Err(Errno::EINVAL);
    }
    v.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    v.insert(at, x);
    Ok(())
}

/// Append a copy of `s`.
pub fn extend_from_slice<T: Clone>(v: &mut Vec<T>, s: &[T]) -> Result<()> {
    v.try_reserve(s.len()).map_err(|_| Errno::ENOMEM)?;
    v.extend_from_slice(s);
    Ok(())
}

/// Grow or shrink to `n` elements, filling with `x`.
pub fn resize<T: Clone>(v: &mut Vec<T>, n: usize, x: T) -> Result<()> {
    v.try_reserve(n.saturating_sub(v.len()))
        .map_err(|_| Errno::ENOMEM)?;
    v.resize(n, x);
    Ok(())
}

/// Collect an iterator (growing as it goes).
pub fn collect<T>(it: impl IntoIterator<Item = T>) -> Result<Vec<T>> {
    let it = it.into_iter();
    let mut v = vec_with_capacity(it.size_hint().0)?;
    for x in it {
        push(&mut v, x)?;
    }
    Ok(v)
}

/// Collect an iterator of results, stopping at the first error.
pub fn try_collect<T>(it: impl IntoIterator<Item = Result<T>>) -> Result<Vec<T>> {
    let mut v = Vec::new();
    for x in it {
        push(&mut v, x?)?;
    }
    Ok(v)
}

/// A heap-allocated `x`, built in place (never on the stack first when
/// the compiler can help it: callers pass small values or zeroed blocks).
pub fn boxed<T>(x: T) -> Result<Box<T>> {
    // Box::try_new is unstable; a one-element vector turned into a box
    // allocates exactly one T with its layout.
    let mut v = vec_with_capacity(1)?;
    v.push(x);
    let b: Box<[T]> = v.into_boxed_slice();
    let raw = Box::into_raw(b).cast::<T>();
    // SAFETY: `raw` points to a live allocation of exactly one T with T's
    // layout (a boxed slice of length 1), which Box<T> may own and free.
    Ok(unsafe { Box::from_raw(raw) })
}

/// A zeroed 4 KiB block on the heap, allocated without a stack copy.
pub fn zeroed_block() -> Result<Box<[u8; crate::format::BLOCK_SIZE]>> {
    let v = vec_filled(crate::format::BLOCK_SIZE, 0u8)?;
    let b: Box<[u8]> = v.into_boxed_slice();
    b.try_into().map_err(|_| Errno::EIO)
}

/// Room for `n` more entries in a hash map.
pub fn map_reserve<K: Eq + Hash, V, S: BuildHasher>(
    m: &mut hashbrown::HashMap<K, V, S>,
    n: usize,
) -> Result<()> {
    m.try_reserve(n).map_err(|_| Errno::ENOMEM)
}

/// Insert into a hash map; returns the previous value.
pub fn map_insert<K: Eq + Hash, V, S: BuildHasher>(
    m: &mut hashbrown::HashMap<K, V, S>,
    k: K,
    v: V,
) -> Result<Option<V>> {
    m.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    Ok(m.insert(k, v))
}

/// Insert into a hash set; whether it was new.
pub fn set_insert<K: Eq + Hash, S: BuildHasher>(
    m: &mut hashbrown::HashSet<K, S>,
    k: K,
) -> Result<bool> {
    m.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    Ok(m.insert(k))
}

/// A binary heap with room for `n` elements.
pub fn heap_with_capacity<T: Ord>(n: usize) -> Result<BinaryHeap<T>> {
    let mut h = BinaryHeap::new();
    h.try_reserve(n).map_err(|_| Errno::ENOMEM)?;
    Ok(h)
}

/// Push onto a binary heap.
pub fn heap_push<T: Ord>(h: &mut BinaryHeap<T>, x: T) -> Result<()> {
    h.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    h.push(x);
    Ok(())
}

fn sift<T>(v: &mut [T], mut root: usize, end: usize, less: &mut impl FnMut(&T, &T) -> bool) {
    loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if let (Some(a), Some(b)) = (v.get(child), v.get(child + 1)) {
            if child + 1 < end && less(a, b) {
                child += 1;
            }
        }
        match (v.get(root), v.get(child)) {
            (Some(r), Some(c)) if less(r, c) => v.swap(root, child),
            _ => return,
        }
        root = child;
    }
}

/// In-place heapsort (O(n log n), not stable): no scratch space, so no
/// large kernel stack frame (the standard sorts keep element buffers of
/// up to 4 KiB on the stack).
pub fn heapsort_by<T>(v: &mut [T], mut less: impl FnMut(&T, &T) -> bool) {
    let n = v.len();
    for i in (0..n / 2).rev() {
        sift(v, i, n, &mut less);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift(v, 0, end, &mut less);
    }
}
