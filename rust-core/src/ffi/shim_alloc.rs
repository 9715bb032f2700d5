//! A global allocator over the shim's memory services (kmalloc/kvmalloc in
//! the kernel). The final binary (the kernel staticlib, the contract-test
//! library) installs it with `#[global_allocator]`.

use super::shim_sys as shim;
use core::alloc::{GlobalAlloc, Layout};

pub struct ShimAllocator;

// SAFETY: the shim returns memory valid for `layout.size()` bytes and aligned
// to `layout.align()`, or NULL; it frees only what it returned.
unsafe impl GlobalAlloc for ShimAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: plain FFI call; the shim handles any size and alignment
        // (returning NULL when it cannot satisfy them).
        unsafe { shim::vexfs_shim_alloc(layout.size(), layout.align()).cast() }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` with this `layout` (GlobalAlloc contract).
        unsafe { shim::vexfs_shim_free(ptr.cast(), layout.size(), layout.align()) }
    }
}
