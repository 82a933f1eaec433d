//! The sample Docker image store generator, shared by `examples/sample_store.rs` (the command)
//! and `tests/sample_store.rs` (its checks).

pub mod config;
pub mod crc64;
pub mod layer;
pub mod members;
pub mod output;
pub mod plan;
pub mod rng;
pub mod store;

pub use output::write_store_tar;
pub use plan::{generate, Options};
