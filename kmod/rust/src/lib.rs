//! Kernel-side Rust glue of the VexFS module.
//!
//! This crate is linked as a static library into `vexfs.ko`. It owns the two
//! pieces of runtime that only the final binary may define, the panic handler
//! and the global allocator, and re-exports `vexfs_core` so that the core's
//! `#[no_mangle] extern "C"` entry points (`vexfs_rust_*`) end up in the
//! archive. Everything else lives in `vexfs-core`.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

pub use vexfs_core;

use core::alloc::{GlobalAlloc, Layout};
use core::fmt::{self, Write};
use core::panic::PanicInfo;

/// Services of the C shim (ffi/include/vexfs_shim.h), through the core's
/// bindgen bindings.
use vexfs_core::ffi::shim_sys as shim;

/// Global allocator backed by the shim (kmalloc/kvmalloc in the kernel).
struct ShimAllocator;

// SAFETY: the shim returns memory that is valid for `layout.size()` bytes and
// aligned to `layout.align()`, or NULL; it frees only what it returned.
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

#[global_allocator]
static ALLOCATOR: ShimAllocator = ShimAllocator;

/// Fixed-size buffer the panic message is formatted into (no allocation
/// inside the panic handler).
struct PanicBuf {
    buf: [u8; 256],
    len: usize,
}

impl Write for PanicBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        if let (Some(dst), Some(src)) = (
            self.buf.get_mut(self.len..self.len + n),
            s.as_bytes().get(..n),
        ) {
            dst.copy_from_slice(src);
            self.len += n;
        }
        Ok(())
    }
}

#[panic_handler]
fn vexfs_panic_handler(info: &PanicInfo<'_>) -> ! {
    let mut out = PanicBuf {
        buf: [0; 256],
        len: 0,
    };
    // Truncation is fine: the handler never fails on a long message.
    let _ = write!(out, "rust panic: {info}");
    let msg = out.buf.get(..out.len).unwrap_or(&[]);
    // SAFETY: `msg` is valid for `msg.len()` bytes; the shim calls the
    // kernel's panic() and never comes back.
    unsafe { shim::vexfs_shim_panic(msg.as_ptr(), msg.len()) }
}
