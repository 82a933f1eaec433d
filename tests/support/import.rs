//! Helpers shared by the `import_*` integration tests.
#![allow(dead_code)]

use imagestore::digest::Digest;
use imagestore::docker::model::DockerImport;
use imagestore::import::{Finished, ImportOptions, Imported, Importer};
use imagestore::storage::memory::MemoryBackend;
use imagestore::storage::Space;
use imagestore::Result;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub fn fixture(rel: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn fixture_json(rel: &str) -> serde_json::Value {
    serde_json::from_slice(&fixture(rel)).unwrap()
}

/// Imports `input` pushed in `chunk`-byte pieces into a fresh memory backend.
pub fn import_chunked(input: &[u8], chunk: usize) -> (Result<Finished>, MemoryBackend) {
    import_with(input, chunk, ImportOptions::default())
}

pub fn import_with(input: &[u8], chunk: usize, options: ImportOptions) -> (Result<Finished>, MemoryBackend) {
    let backend = MemoryBackend::new();
    let result = futures::executor::block_on(async {
        let mut importer = Importer::new(options);
        for piece in input.chunks(chunk.max(1)) {
            importer.push(&backend, piece).await?;
        }
        importer.finish(&backend).await
    });
    (result, backend)
}

pub fn docker(f: &Finished) -> &DockerImport {
    match &f.imported {
        Imported::DockerImageStore(d) => d,
        #[allow(unreachable_patterns)]
        _ => panic!("not a Docker image store import"),
    }
}

/// Everything an import decided, without the staging ids (which differ run to run).
pub fn summary(d: &DockerImport) -> String {
    let images: Vec<_> = d.images.iter().map(|i| (&i.record, &i.blob.digest, i.blob.size)).collect();
    let splits: Vec<_> = d.tar_splits.iter().map(|b| (&b.digest, b.size)).collect();
    format!(
        "{images:?}\n{:?}\n{splits:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{}",
        d.layers, d.repositories, d.distribution, d.skipped, d.warnings, d.source_dir
    )
}

/// Commits every staged blob of the import, as the stores will.
pub fn commit_blobs(backend: &MemoryBackend, d: &DockerImport) {
    let ops = d.images.iter().map(|i| &i.blob).chain(&d.tar_splits).flat_map(|b| b.ops.clone()).collect();
    futures::executor::block_on(imagestore::storage::blobs::commit_packed(backend, ops)).unwrap();
}

pub fn chunk_count(backend: &MemoryBackend) -> usize {
    backend.len(Space::Chunks)
}

/// Every chain ID of every image's layer stack, from dockerd's inspect answers.
pub fn expected_chain_ids(inspect_dir: &str) -> std::collections::BTreeSet<Digest> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(inspect_dir);
    let mut out = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        let diffs: Vec<Digest> = v["RootFS"]["Layers"]
            .as_array()
            .map(|a| a.iter().map(|d| Digest::parse(d.as_str().unwrap()).unwrap()).collect())
            .unwrap_or_default();
        for n in 1..=diffs.len() {
            out.insert(imagestore::digest::chain_id(&diffs[..n]).unwrap());
        }
    }
    out
}

/// The chain ID of an image's top layer, read from its (committed) config blob.
pub fn top_layer(backend: &MemoryBackend, id: &Digest) -> Option<Digest> {
    let bytes = futures::executor::block_on(imagestore::storage::blobs::read_all(backend, id)).unwrap();
    assert_eq!(Digest::sha256_of(&bytes), *id, "stored config hashes to its ID");
    let config: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let diffs: Vec<Digest> = config["rootfs"]["diff_ids"]
        .as_array()
        .map(|a| a.iter().map(|d| Digest::parse(d.as_str().unwrap()).unwrap()).collect())
        .unwrap_or_default();
    imagestore::digest::chain_id(&diffs)
}

/// Checks the import against dockerd's `GET /images/json?all=1` answer, field by field:
/// IDs, parents, sizes (sum of layer sizes along the chain), tags and digests. Commits the
/// staged blobs to read the configs.
pub fn assert_matches_images_all(backend: &MemoryBackend, d: &DockerImport, images_all: &serde_json::Value) {
    commit_blobs(backend, d);
    let expected = images_all.as_array().unwrap();
    assert_eq!(d.images.len(), expected.len(), "image count");
    let layers: BTreeMap<&Digest, _> = d.layers.iter().map(|l| (&l.chain_id, l)).collect();
    let mut refs: BTreeMap<&Digest, (Vec<&str>, Vec<&str>)> = BTreeMap::new();
    for repo in d.repositories.values() {
        for (key, id) in repo {
            let e = refs.entry(id).or_default();
            if key.contains('@') {
                e.1.push(key)
            } else {
                e.0.push(key)
            }
        }
    }
    for want in expected {
        let id = Digest::parse(want["Id"].as_str().unwrap()).unwrap();
        let image = d.images.iter().find(|i| i.record.id == id).unwrap_or_else(|| panic!("{id} missing"));
        let (rec, blob) = (&image.record, &image.blob);
        assert_eq!(blob.digest, id, "config blob digest is the image ID");
        let parent = rec.parent.as_ref().map(|p| p.to_string()).unwrap_or_default();
        assert_eq!(parent, want["ParentId"].as_str().unwrap(), "parent of {id}");
        let mut size = 0i64;
        let top = top_layer(backend, &id);
        let mut cur = top.as_ref();
        while let Some(c) = cur {
            let l = layers[c];
            size += l.size;
            cur = l.parent.as_ref();
        }
        assert_eq!(size, want["Size"].as_i64().unwrap(), "size of {id}");
        let (mut tags, mut digests) = refs.get(&id).cloned().unwrap_or_default();
        tags.sort();
        digests.sort();
        let list = |v: &serde_json::Value, none: &str| -> Vec<String> {
            let mut l: Vec<String> =
                v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect()).unwrap_or_default();
            l.retain(|s| s != none);
            l.sort();
            l
        };
        assert_eq!(tags, list(&want["RepoTags"], "<none>:<none>"), "tags of {id}");
        assert_eq!(digests, list(&want["RepoDigests"], "<none>@<none>"), "digests of {id}");
    }
}

/// One entry of a tar, kept whole (fixtures are small), with its full link target (a long one
/// is not in the header block).
#[derive(Clone)]
pub struct TarItem {
    pub header: tar::Header,
    pub path: String,
    pub link: Option<String>,
    pub data: Vec<u8>,
}

/// Reads every entry of a (plain) tar.
pub fn tar_items(tar: &[u8]) -> Vec<TarItem> {
    use std::io::Read;
    let mut archive = tar::Archive::new(tar);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = String::from_utf8(e.path_bytes().into_owned()).unwrap();
            let link = e.link_name_bytes().map(|l| String::from_utf8(l.into_owned()).unwrap());
            let header = e.header().clone();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            TarItem { header, path, link, data }
        })
        .collect()
}

/// Writes entries as a tar (long names and links get GNU extension headers), with the end blocks.
pub fn build_tar(items: &[TarItem]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for it in items {
        let mut h = it.header.clone();
        h.set_size(it.data.len() as u64);
        if it.path.split('/').any(|c| c == "..") {
            // The tar crate refuses such names; hostile archives have them, so write it raw.
            let name = &mut h.as_old_mut().name;
            name.fill(0);
            name[..it.path.len()].copy_from_slice(it.path.as_bytes());
            h.set_cksum();
            b.append(&h, &it.data[..]).unwrap();
        } else if let Some(link) = &it.link {
            b.append_link(&mut h, &it.path, link).unwrap();
        } else {
            b.append_data(&mut h, &it.path, &it.data[..]).unwrap();
        }
    }
    b.into_inner().unwrap()
}

/// A regular-file entry.
pub fn file_item(path: &str, data: &[u8]) -> TarItem {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o600);
    header.set_size(data.len() as u64);
    TarItem { header, path: path.to_string(), link: None, data: data.to_vec() }
}

/// `path` without its leading `./`.
pub fn plain_path(path: &str) -> &str {
    path.trim_start_matches("./")
}

#[allow(unused_imports)] // each test binary uses part of it
pub use super::{
    gzip,
    tar::{raw_entries, RawEntry},
};

/// The mtime of a folder whose layer.tar is a symlink in the real archive.
pub fn symlink_dir_time(tar: &[u8]) -> i64 {
    let entries = raw_entries(tar);
    let link = entries.iter().find(|e| e.header[156] == b'2').expect("a symlinked layer");
    i64::from_str_radix(String::from_utf8_lossy(&link.header[136..147]).trim_matches('\0'), 8).unwrap()
}
