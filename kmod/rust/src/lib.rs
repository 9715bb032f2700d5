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

use core::fmt::{self, Write};
use core::panic::PanicInfo;


/// Rust's heap is the shim's (kmalloc/kvmalloc in the kernel).
#[global_allocator]
static ALLOCATOR: vexfs_core::ffi::ShimAllocator = vexfs_core::ffi::ShimAllocator;

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
    let len = core::ffi::c_int::try_from(msg.len()).unwrap_or(0);
    // The kernel's panic() directly, not vexfs_shim_panic: objtool knows
    // panic() does not return, and would otherwise flag this handler as
    // falling through.
    // SAFETY: the format consumes an int and a pointer to that many bytes.
    unsafe { panic(c"vexfs: %.*s\n".as_ptr(), len, msg.as_ptr()) }
}

extern "C" {
    /// The kernel's panic(): prints, stops the machine, never returns.
    fn panic(fmt: *const core::ffi::c_char, ...) -> !;
}
