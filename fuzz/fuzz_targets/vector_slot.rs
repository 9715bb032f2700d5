#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vexfs_fuzz::run("vector_slot", data));
