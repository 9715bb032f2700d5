//! The fuzz targets' shared code: the harness of the seeded corpus run in
//! cargo test (rust-core/tests/fuzzing/), included as it is.

#[path = "../../rust-core/tests/fuzzing/mod.rs"]
pub mod fuzzing;

/// Run target `name` on one input; a broken invariant is a crash.
pub fn run(name: &str, data: &[u8]) {
    if let Err(e) = fuzzing::targets::run(name, data) {
        panic!("fuzz target {}: {}", name, e);
    }
}
