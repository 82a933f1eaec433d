//! `Sha256Hasher` in the wasm build gives sha2's digests for every way of chunking an input, in
//! Node (where it runs on `node:crypto`) and in Chromium (sha2): empty input, one byte, inputs
//! around the engine's 64 KiB batch and across 1 MiB boundaries, many tiny pieces, clones taken
//! mid-stream. The bindings install the platform host (Node's crypto) when a store opens;
//! these tests use no store, so they install it themselves.
#![cfg(target_arch = "wasm32")]

use imagestore::digest::{sha256_engine, Sha256Hasher};
use imagestore::Digest;
use sha2::Digest as _;
use wasm_bindgen_test::wasm_bindgen_test;

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

fn data(len: usize) -> Vec<u8> {
    // Not periodic at any power of two, so a dropped or repeated batch changes the digest.
    (0..len).map(|i| ((i * 131 + i / 997) % 251) as u8).collect()
}

fn reference(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

fn chunked(bytes: &[u8], sizes: &[usize]) -> Digest {
    let mut h = Sha256Hasher::new();
    let mut rest = bytes;
    for &n in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at(n.min(rest.len()));
        h.update(piece);
        rest = tail;
    }
    assert_eq!(h.len(), bytes.len() as u64);
    h.finish()
}

#[wasm_bindgen_test]
fn the_engine_is_the_platform_one_under_node_and_sha2_in_browsers() {
    imagestore::wasm::install_host();
    let under_node = js_sys::Reflect::get(&js_sys::global(), &"process".into())
        .ok()
        .filter(|p| !p.is_undefined())
        .and_then(|p| js_sys::Reflect::get(&p, &"versions".into()).ok())
        .is_some_and(|v| !v.is_undefined());
    assert_eq!(sha256_engine(), if under_node { "node:crypto" } else { "sha2" });
}

#[wasm_bindgen_test]
fn known_answers() {
    imagestore::wasm::install_host();
    assert_eq!(
        Sha256Hasher::new().finish().as_str(),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let mut one = Sha256Hasher::new();
    one.update(b"a");
    assert_eq!(one.finish().as_str(), "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb");
}

#[wasm_bindgen_test]
fn every_chunking_gives_sha2s_digest() {
    imagestore::wasm::install_host();
    let sizes_list: [&[usize]; 7] =
        [&[1], &[511, 1, 512], &[64 * KIB - 1], &[64 * KIB], &[64 * KIB + 1, 3], &[MIB], &[MIB - 7, 13, 100_003]];
    // Around 1 KiB the one-shot and the ended-while-buffered hashes change engine (the host's from
    // there on); around 64 KiB a stream starts handing batches to the host.
    for len in [
        0,
        1,
        KIB - 1,
        KIB,
        KIB + 1,
        3 * KIB,
        64 * KIB - 1,
        64 * KIB,
        64 * KIB + 1,
        MIB - 1,
        MIB,
        MIB + 1,
        3 * MIB + 12_345,
    ] {
        let bytes = data(len);
        let want = reference(&bytes);
        for sizes in sizes_list {
            // One-byte pieces over megabytes would only be slow, not more telling.
            if sizes == [1] && len > 2 * 64 * KIB {
                continue;
            }
            assert_eq!(chunked(&bytes, sizes).as_str(), want, "len {len}, chunks {sizes:?}");
        }
        assert_eq!(Digest::sha256_of(&bytes).as_str(), want, "one shot, len {len}");
    }
}

#[wasm_bindgen_test]
fn a_clone_forks_the_stream() {
    imagestore::wasm::install_host();
    let bytes = data(2 * MIB + 5);
    for split in [10, 64 * KIB + 3, MIB + 1] {
        let mut h = Sha256Hasher::new();
        h.update(&bytes[..split]);
        let fork = h.clone();
        h.update(&bytes[split..]);
        assert_eq!(fork.finish().as_str(), reference(&bytes[..split]), "fork at {split}");
        assert_eq!(h.finish().as_str(), reference(&bytes), "after fork at {split}");
    }
}

#[wasm_bindgen_test]
fn io_write_feeds_the_same_stream() {
    imagestore::wasm::install_host();
    use std::io::Write;
    let bytes = data(MIB + 99);
    let mut h = Sha256Hasher::new();
    for piece in bytes.chunks(70_000) {
        h.write_all(piece).unwrap();
    }
    assert_eq!(h.finish().as_str(), reference(&bytes));
}
