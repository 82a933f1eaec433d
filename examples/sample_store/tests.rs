//! Checks of the sample store generator (this example; run by `cargo test`, see Cargo.toml's
//! `[[example]]`): the tarball is a store dockerd could restore — configs hash to their names, layer directories are named by chain
//! ID, tar-split streams reassemble into valid tar archives — and it is deterministic.

use super::sample_store;
use base64::Engine as _;
use flate2::read::GzDecoder;
use imagestore::digest::{chain_id, Digest};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

fn generate(images: usize, seed: u64) -> Vec<u8> {
    let store = sample_store::generate(&sample_store::Options { images, seed, scale_percent: 2 });
    sample_store::write_store_tar(&store, Vec::new(), 1_761_868_800).unwrap()
}

/// path → contents of every regular file in the tarball.
fn files_of(tar_bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut archive = tar::Archive::new(tar_bytes);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.header().entry_type().is_file() {
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            out.insert(path, data);
        }
    }
    out
}

fn text(files: &BTreeMap<String, Vec<u8>>, path: &str) -> String {
    String::from_utf8(files.get(path).unwrap_or_else(|| panic!("{path} missing")).clone()).unwrap()
}

#[test]
fn configs_hash_to_their_names_and_reference_existing_layers() {
    let files = files_of(&generate(60, 7));
    let configs: Vec<(&String, &Vec<u8>)> =
        files.iter().filter(|(p, _)| p.starts_with("imagedb/content/sha256/")).collect();
    assert_eq!(configs.len(), 60, "one config per requested image");
    let ids: BTreeSet<String> = configs.iter().map(|(p, _)| format!("sha256:{}", &p[23..])).collect();
    let mut without_layers = 0;
    for (path, bytes) in &configs {
        let hex = &path["imagedb/content/sha256/".len()..];
        assert_eq!(Digest::sha256_of(bytes).hex(), hex, "{path}: the ID is the hash of the exact bytes");
        let config: Value = serde_json::from_slice(bytes).unwrap();
        let diff_ids: Vec<Digest> = config["rootfs"]["diff_ids"]
            .as_array()
            .map(|a| a.iter().map(|d| Digest::parse(d.as_str().unwrap()).unwrap()).collect())
            .unwrap_or_default();
        let non_empty =
            config["history"].as_array().unwrap().iter().filter(|h| h["empty_layer"] != Value::Bool(true)).count();
        assert_eq!(non_empty, diff_ids.len(), "{path}: one non-empty history entry per layer");
        match chain_id(&diff_ids) {
            None => without_layers += 1,
            Some(chain) => {
                let diff = text(&files, &format!("layerdb/sha256/{}/diff", chain.hex()));
                assert_eq!(&diff, diff_ids.last().unwrap().as_str(), "{path}: top layer's diff");
            }
        }
        if let Some(parent) = files.get(&format!("imagedb/metadata/sha256/{hex}/parent")) {
            assert!(ids.contains(std::str::from_utf8(parent).unwrap()), "{path}: parent is in the store");
        }
    }
    assert!(without_layers >= 1, "a FROM scratch image without layers");
}

#[test]
fn layer_records_chain_and_tar_splits_reassemble() {
    let files = files_of(&generate(600, 7));
    let layer_dirs: BTreeSet<&str> =
        files.keys().filter_map(|p| p.strip_prefix("layerdb/sha256/")).map(|p| p.split('/').next().unwrap()).collect();
    assert!(layer_dirs.len() > 10);
    let mut names_seen = BTreeSet::new();
    for hex in layer_dirs {
        let dir = format!("layerdb/sha256/{hex}");
        let diff = Digest::parse(&text(&files, &format!("{dir}/diff"))).unwrap();
        let expected_chain = match files.get(&format!("{dir}/parent")) {
            Some(p) => chain_id(&[Digest::parse(std::str::from_utf8(p).unwrap()).unwrap(), diff]).unwrap(),
            None => diff,
        };
        assert_eq!(expected_chain.hex(), hex, "{dir}: named by ChainID(parent, diff)");
        assert_eq!(text(&files, &format!("{dir}/cache-id")).len(), 64);
        let size: u64 = text(&files, &format!("{dir}/size")).parse().unwrap();
        let entries = reassemble_and_list(&files[&format!("{dir}/tar-split.json.gz")], &dir);
        assert_eq!(entries.iter().map(|(_, s)| s).sum::<u64>(), size, "{dir}: size = sum of file sizes");
        names_seen.extend(entries.into_iter().map(|(n, _)| n));
    }
    for odd in [
        "data/naïve-ファイル.txt",
        "data/<img src=x onerror=alert(1)>.txt",
        "data/a-very-long-directory-name-that-goes-on/and-on-and-on-past-the-old-tar-limit/of-one-hundred-bytes/file.txt",
        "etc/.wh.motd",
        "var/cache/misc/.wh..wh..opq",
    ] {
        assert!(names_seen.contains(odd), "some layer holds {odd:?}");
    }
}

/// Decodes a tar-split stream, rebuilds the tar it describes (file data as zeros: only the
/// structure is checked), parses that with the `tar` crate and returns (name, size) of every
/// member, after checking they agree with the FileType entries.
fn reassemble_and_list(gz: &[u8], dir: &str) -> Vec<(String, u64)> {
    let mut ndjson = String::new();
    GzDecoder::new(gz).read_to_string(&mut ndjson).unwrap();
    let mut tar_bytes = Vec::new();
    let mut file_entries = Vec::new();
    for (i, line) in ndjson.lines().enumerate() {
        let e: Value = serde_json::from_str(line).unwrap_or_else(|err| panic!("{dir}: line {i}: {err}"));
        assert_eq!(e["position"], i as u64, "{dir}: positions count up");
        match e["type"].as_u64() {
            Some(2) => {
                let payload = base64::engine::general_purpose::STANDARD.decode(e["payload"].as_str().unwrap()).unwrap();
                tar_bytes.extend_from_slice(&payload);
            }
            Some(1) => {
                let size = e["size"].as_u64().unwrap_or(0);
                assert_eq!(e["payload"].is_null(), size == 0, "{dir}: CRC payload only for data");
                if size > 0 {
                    let crc = base64::engine::general_purpose::STANDARD.decode(e["payload"].as_str().unwrap()).unwrap();
                    assert_eq!(crc.len(), 8, "{dir}: CRC-64 is 8 bytes");
                }
                tar_bytes.resize(tar_bytes.len() + size as usize, 0);
                file_entries.push((e["name"].as_str().unwrap().to_string(), size));
            }
            other => panic!("{dir}: unknown entry type {other:?}"),
        }
    }
    assert_eq!(tar_bytes.len() % 512, 0, "{dir}: reassembled tar is whole blocks");
    let mut unique = BTreeSet::new();
    for (name, _) in &file_entries {
        // tar-split's packer (and so dockerd) refuses a layer that names a path twice.
        assert!(unique.insert(name.trim_end_matches('/')), "{dir}: {name:?} appears twice");
    }
    let mut parsed = Vec::new();
    for entry in tar::Archive::new(tar_bytes.as_slice()).entries().unwrap() {
        let entry = entry.unwrap_or_else(|e| panic!("{dir}: reassembled tar: {e}"));
        let mut name = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
        if entry.header().entry_type().is_dir() && !name.ends_with('/') {
            name.push('/');
        }
        parsed.push((name, entry.header().size().unwrap()));
    }
    assert_eq!(parsed, file_entries, "{dir}: headers agree with FileType entries");
    parsed
}

#[test]
fn tags_digests_and_dangling_images() {
    let files = files_of(&generate(60, 7));
    let repos: Value = serde_json::from_slice(&files["repositories.json"]).unwrap();
    let mut tags_by_id: BTreeMap<String, usize> = BTreeMap::new();
    let mut digest_refs = 0;
    for (name, refs) in repos["Repositories"].as_object().unwrap() {
        for (reference, id) in refs.as_object().unwrap() {
            let id = id.as_str().unwrap();
            assert!(files.contains_key(&format!("imagedb/content/sha256/{}", &id[7..])), "{reference} -> {id} exists");
            assert!(reference.starts_with(&format!("{name}:")) || reference.starts_with(&format!("{name}@sha256:")));
            if reference.contains('@') {
                digest_refs += 1;
            } else {
                *tags_by_id.entry(id.to_string()).or_default() += 1;
                let last = files.get(&format!("imagedb/metadata/sha256/{}/lastUpdated", &id[7..]));
                assert!(last.is_some(), "tagged image {id} has lastUpdated");
            }
        }
    }
    assert!(digest_refs >= 3, "pulled bases keep name@digest references");
    assert!(tags_by_id.values().any(|&n| n >= 2), "an image with several tags");
    let parents: BTreeSet<String> = files
        .iter()
        .filter(|(p, _)| p.ends_with("/parent") && p.starts_with("imagedb/"))
        .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
        .collect();
    let dangling = files
        .keys()
        .filter_map(|p| p.strip_prefix("imagedb/content/sha256/"))
        .map(|hex| format!("sha256:{hex}"))
        .filter(|id| !tags_by_id.contains_key(id) && !parents.contains(id))
        .count();
    assert!(dangling >= 1, "a dangling image (untagged, no children)");
}

#[test]
fn output_is_deterministic_and_sized_as_asked() {
    let a = generate(12, 3);
    assert_eq!(a, generate(12, 3), "same seed, same bytes");
    assert_ne!(a, generate(12, 4), "another seed, another store");
    for n in [1, 5, 6, 23] {
        let files = files_of(&generate(n, 1));
        assert_eq!(files.keys().filter(|p| p.starts_with("imagedb/content/")).count(), n);
    }
}
