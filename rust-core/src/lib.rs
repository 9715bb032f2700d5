//! VexFS core: the on-disk format, allocation, inodes, directories and extent
//! mapping, shared by the kernel module (no_std, through `ffi`) and by the
//! userspace tools and tests (feature `std`).
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod alloc_map;
pub mod dev;
pub mod dir;
pub mod errno;
pub mod extent;
pub mod ffi;
pub mod file;
pub mod format;
pub mod fs;
pub mod fsck;
pub mod inode;
pub mod journal;
pub mod mem;
pub mod mkfs;
pub mod namei;
pub mod vector;

pub use dev::Device;
pub use errno::{Errno, Result};
pub use fs::Fs;
