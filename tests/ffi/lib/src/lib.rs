//! Userspace host of the VexFS C ABI, for the FFI contract tests.
//!
//! Linked as a static library into tests/ffi/contract.c together with the
//! userspace shim (tests/ffi/shim_user.c). It re-exports `vexfs_core` so its
//! `vexfs_rust_*` entry points land in the archive, and, like the kernel glue
//! (kmod/rust), routes the global allocator through `vexfs_shim_alloc` /
//! `vexfs_shim_free`, so the tests exercise that part of the shim contract too.
//! Nothing here is named `vexfs_rust_*`: those are the core's alone.
#![forbid(unsafe_op_in_unsafe_fn)]

pub use vexfs_core;

use vexfs_core::ffi::shim_sys as shim;

/// Rust's heap is the shim's (kmalloc/kvmalloc in the kernel).
#[global_allocator]
static ALLOCATOR: vexfs_core::ffi::ShimAllocator = vexfs_core::ffi::ShimAllocator;

/// Route Rust panics to `vexfs_shim_panic` (the profile aborts on panic; the
/// hook runs first). Call once before the first `vexfs_rust_*` call.
#[no_mangle]
pub extern "C" fn vexfs_test_host_init() {
    std::panic::set_hook(Box::new(|info| {
        let msg = format!("rust panic: {info}");
        // SAFETY: `msg` is valid for `msg.len()` bytes; the shim never returns.
        unsafe { shim::vexfs_shim_panic(msg.as_ptr(), msg.len()) };
    }));
}
