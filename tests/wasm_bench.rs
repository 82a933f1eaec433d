//! Hashing throughput of the wasm build, run by `make bench` (scripts/bench.sh) in Node and in
//! headless Chromium: ignored in normal test runs, selected with `--include-ignored`. Prints
//! `BENCH wasm sha256 <engine>: <MB/s> ...` for the Rust sha2 and for `Sha256Hasher` (which is
//! Node's native hash under Node, sha2 in browsers).
#![cfg(target_arch = "wasm32")]

use imagestore::digest::{sha256_engine, Sha256Hasher};
use sha2::Digest as _;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

const MIB: usize = 1 << 20;
const TOTAL_MIB: usize = 256;

/// Feeds `TOTAL_MIB` MiB in 1 MiB chunks (the JS Store's slice size) to `state` and prints the rate.
fn bench<H>(label: &str, mut state: H, update: impl Fn(&mut H, &[u8]), finish: impl FnOnce(H) -> String) {
    let chunk: Vec<u8> = (0..MIB).map(|i| (i * 31 % 251) as u8).collect();
    let start = js_sys::Date::now();
    for _ in 0..TOTAL_MIB {
        update(&mut state, &chunk);
    }
    let digest = finish(state);
    let secs = (js_sys::Date::now() - start) / 1000.0;
    let mb = (TOTAL_MIB * MIB) as f64 / 1e6;
    console_log!("BENCH wasm sha256 {label}: {:.0} MB/s ({TOTAL_MIB} MiB in {secs:.2} s) {digest}", mb / secs);
}

#[wasm_bindgen_test]
#[ignore = "benchmark: run by scripts/bench.sh"]
fn bench_sha256_streaming() {
    imagestore::wasm::install_host(); // Node's crypto, as the bindings use it
    bench("sha2", sha2::Sha256::new(), |h, c| h.update(c), |h| format!("sha256:{}", hex::encode(h.finalize())));
    bench(
        &format!("Sha256Hasher ({})", sha256_engine()),
        Sha256Hasher::new(),
        |h, c| h.update(c),
        |h| h.finish().to_string(),
    );
}
