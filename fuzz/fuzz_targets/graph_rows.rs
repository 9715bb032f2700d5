#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vexfs_fuzz::run("graph_rows", data));
