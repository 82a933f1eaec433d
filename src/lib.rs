//! imagestore: Docker's (moby) and containerd's image stores, compiled to WebAssembly.
//!
//! Data flows one way: bytes → [`formats`] (pure parsing) → stores ([`docker`], [`containerd`])
//! over [`storage`] → views ([`docker::engine`]) → [`wasm`] bindings. Lower layers never
//! depend on higher ones, and nothing below [`wasm`] knows about JavaScript: what the platform
//! gives (clock, randomness, locks, a faster SHA-256) comes in through [`host`], and the
//! IndexedDB backend is platform code under [`wasm`].

// `pub` means part of the crate's API: an item only other modules use is `pub(crate)`.
#![warn(unreachable_pub)]

pub mod analysis;
pub mod bytes_hasher;
pub mod containerd;
pub mod contents;
pub mod digest;
pub mod docker;
pub mod error;
pub mod formats;
/// The bodies of the `make fuzz` targets (built for `cargo test` and `--cfg fuzzing` builds only).
#[cfg(any(all(test, not(target_arch = "wasm32")), fuzzing))]
pub mod fuzz_targets;
pub mod host;
pub mod import;
pub mod schema;
pub mod storage;
pub mod store;
pub mod store_analysis;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use digest::Digest;
pub use error::{Error, ErrorCode, Result};
