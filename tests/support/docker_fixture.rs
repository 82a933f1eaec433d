//! TEST ONLY: reads a tar of a clean Docker `image/<driver>/` folder into a `DockerImport`,
//! without dockerd's restore rules (the real importer lives in `src/import/`). Enough for the
//! fixtures, which a real dockerd wrote and which hold no broken entries.

use imagestore::digest::Digest;
use imagestore::docker::model::{DistributionRecords, DockerImport, ImageRecord, LayerRecord, RepositoryMap, V2Metadata};
use imagestore::storage::blobs;
use imagestore::storage::memory::MemoryBackend;
use std::collections::BTreeMap;
use std::io::Read;

/// Every regular file of the tar under the folder that holds `imagedb/`, by path relative to
/// it. `pick` selects among several `image/<driver>/` folders (e.g. `"image/overlay2/"`).
pub fn read_store_files(tar_path: &str, pick: Option<&str>) -> (String, BTreeMap<String, Vec<u8>>) {
    let bytes = std::fs::read(tar_path).unwrap_or_else(|e| panic!("{tar_path}: {e}"));
    let reader: Box<dyn Read> = if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(&bytes[..]))
    } else {
        Box::new(&bytes[..])
    };
    let mut all = BTreeMap::new();
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().unwrap().to_string_lossy().trim_start_matches("./").to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        all.insert(path, data);
    }
    let root = all
        .keys()
        .filter_map(|p| p.find("imagedb/content/").map(|i| p[..i].to_string()))
        .find(|root| pick.map_or(true, |want| root.ends_with(want)))
        .unwrap_or_else(|| panic!("{tar_path}: no imagedb/ folder"));
    let files = all.into_iter().filter_map(|(p, d)| p.strip_prefix(&root).map(|rel| (rel.to_string(), d))).collect();
    (root, files)
}

fn text(files: &BTreeMap<String, Vec<u8>>, path: &str) -> Option<String> {
    files.get(path).map(|b| String::from_utf8_lossy(b).trim().to_string())
}

fn sha256_names<'a>(files: &'a BTreeMap<String, Vec<u8>>, dir: &'a str, leaf: &'a str) -> impl Iterator<Item = String> + 'a {
    files.keys().filter_map(move |p| {
        let rest = p.strip_prefix(dir)?;
        let (hex, tail) = rest.split_once('/').unwrap_or((rest, ""));
        (tail == leaf && Digest::from_sha256_hex(hex).is_ok()).then(|| hex.to_string())
    })
}

/// Builds the import (staging config and tar-split blobs in `backend`).
pub async fn load_import(backend: &MemoryBackend, tar_path: &str, pick: Option<&str>) -> DockerImport {
    let (root, files) = read_store_files(tar_path, pick);
    let mut import = DockerImport { source_dir: root, ..Default::default() };
    for hex in sha256_names(&files, "imagedb/content/sha256/", "").collect::<Vec<_>>() {
        let raw = &files[&format!("imagedb/content/sha256/{hex}")];
        let meta = |k: &str| text(&files, &format!("imagedb/metadata/sha256/{hex}/{k}"));
        let record = ImageRecord {
            id: Digest::from_sha256_hex(&hex).unwrap(),
            parent: meta("parent").map(|p| Digest::parse(&p).unwrap()),
            last_updated: meta("lastUpdated"),
            built_locally: files.get(&format!("imagedb/metadata/sha256/{hex}/builtLocally")).is_some_and(|b| b.first() == Some(&1)),
        };
        import.images.push((record, blobs::stage_bytes(backend, raw).await.unwrap()));
    }
    for hex in sha256_names(&files, "layerdb/sha256/", "diff").collect::<Vec<_>>() {
        let at = |k: &str| format!("layerdb/sha256/{hex}/{k}");
        let tar_split = match files.get(&at("tar-split.json.gz")) {
            Some(b) => {
                let staged = blobs::stage_bytes(backend, b).await.unwrap();
                let d = staged.digest.clone();
                import.tar_splits.push(staged);
                Some(d)
            }
            None => None,
        };
        import.layers.push(LayerRecord {
            chain_id: Digest::from_sha256_hex(&hex).unwrap(),
            diff_id: Digest::parse(&text(&files, &at("diff")).unwrap()).unwrap(),
            size: text(&files, &at("size")).unwrap().parse().unwrap(),
            cache_id: text(&files, &at("cache-id")).unwrap_or_default(),
            parent: text(&files, &at("parent")).map(|p| Digest::parse(&p).unwrap()),
            tar_split,
            descriptor: files.get(&at("descriptor.json")).map(|b| serde_json::from_slice(b).unwrap()),
        });
    }
    if let Some(b) = files.get("repositories.json") {
        #[derive(serde::Deserialize)]
        struct Repos {
            #[serde(rename = "Repositories")]
            repositories: Option<RepositoryMap>,
        }
        import.repositories = serde_json::from_slice::<Repos>(b).unwrap().repositories.unwrap_or_default();
    }
    let mut dist = DistributionRecords::default();
    for (p, b) in &files {
        if let Some(hex) = p.strip_prefix("distribution/diffid-by-digest/sha256/") {
            let diff = Digest::parse(String::from_utf8_lossy(b).trim()).unwrap();
            dist.diffid_by_digest.insert(Digest::from_sha256_hex(hex).unwrap(), diff);
        } else if let Some(hex) = p.strip_prefix("distribution/v2metadata-by-diffid/sha256/") {
            let metas: Vec<V2Metadata> = serde_json::from_slice(b).unwrap();
            dist.v2metadata_by_diffid.insert(Digest::from_sha256_hex(hex).unwrap(), metas);
        }
    }
    import.distribution = dist;
    import
}
