//! Vector search: distance kernels, the HNSW graph, and the on-disk vector
//! store in the vector area.

pub mod cache;
pub mod distance;
pub mod hnsw;
pub mod rows;
pub mod store;
