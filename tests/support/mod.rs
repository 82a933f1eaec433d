//! The helpers the integration tests share, in one module (`mod support;`). Each test binary
//! uses part of it, hence `dead_code` is allowed here.
#![allow(dead_code)]

pub mod bbolt_writer;
pub mod dockerd;
pub mod list_compare;

#[cfg(not(target_arch = "wasm32"))]
pub mod docker_fixture;
#[cfg(not(target_arch = "wasm32"))]
pub mod import;
