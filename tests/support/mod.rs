//! The helpers the integration tests share, in one module (`mod support;`). Each test binary
//! uses part of it, hence `dead_code` is allowed here.
#![allow(dead_code)]

pub mod bbolt_writer;
pub mod dockerd;
#[cfg(target_arch = "wasm32")]
pub mod js;
pub mod list_compare;
pub mod tar;

#[cfg(not(target_arch = "wasm32"))]
pub mod docker_fixture;
#[cfg(not(target_arch = "wasm32"))]
pub mod import;

/// A store or database name no other test run uses: `<prefix>-<fresh id>`. In wasm it installs
/// the platform host first (the bindings do when a store opens; a test may want a name before).
pub fn unique_name(prefix: &str) -> String {
    #[cfg(target_arch = "wasm32")]
    imagestore::wasm::install_host();
    format!("{prefix}-{}", imagestore::storage::fresh_id())
}

/// `data` gzipped (fast level), as a test input.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}
