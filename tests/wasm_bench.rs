//! Hashing throughput of the wasm build, run by `make bench` (scripts/bench.sh) in Node:
//! ignored in normal test runs, selected with `--include-ignored`.
#![cfg(target_arch = "wasm32")]

use imagestore::digest::Sha256Hasher;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

const MIB: usize = 1 << 20;
const TOTAL_MIB: usize = 256;

#[wasm_bindgen_test]
#[ignore = "benchmark: run by scripts/bench.sh"]
fn bench_sha256_streaming() {
    let chunk: Vec<u8> = (0..MIB).map(|i| (i * 31 % 251) as u8).collect();
    let mut hasher = Sha256Hasher::new();
    let start = js_sys::Date::now();
    for _ in 0..TOTAL_MIB {
        hasher.update(&chunk);
    }
    let digest = hasher.finish();
    let secs = (js_sys::Date::now() - start) / 1000.0;
    let mb = (TOTAL_MIB * MIB) as f64 / 1e6;
    console_log!("BENCH wasm sha256: {:.0} MB/s ({TOTAL_MIB} MiB in {secs:.2} s) {digest}", mb / secs);
}
