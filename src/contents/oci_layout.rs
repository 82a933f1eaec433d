//! An OCI image layout as Docker 25's graphdriver `docker save` writes it (moby
//! `image/tarexport/save.go` from v25.0), which Docker ≤ 24
//! loads too (it reads `manifest.json`):
//!
//! - `blobs/sha256/<hex>`: each config (exact bytes), each layer tar once (named by DiffID),
//!   the legacy v1 JSON of each layer (unreferenced, as Docker writes it) and one OCI
//!   manifest per image (config `application/vnd.oci.image.config.v1+json` with the image's
//!   platform, layers `application/vnd.oci.image.layer.v1.tar` by DiffID);
//! - `index.json`: one manifest descriptor per tag, annotated with
//!   `io.containerd.image.name` (full reference) and `org.opencontainers.image.ref.name` (the
//!   tag); an untagged image gets a descriptor without annotations only while the index is
//!   still empty (moby's `len(manifestDescriptors) == 0` quirk);
//! - `manifest.json` (`Config`/`Layers` as `blobs/sha256/<hex>` paths, `LayerSources` for
//!   every layer), `repositories` (top layer's DiffID hex per tag) and `oci-layout`.
//!
//! Checked byte for byte against a real Docker 25.0 archive (go-containerregistry's
//! `hello-world-v25.tar`; tests/contents_save.rs): JSON in Go's field order and escaping,
//! Docker 25's tar headers (no type bits, no owner names), blobs dated with the image's
//! creation time, manifests, `manifest.json` and `oci-layout` with the epoch, `index.json` and
//! `blobs/sha256/` with the time of the save, `blobs/` with the last image's creation time.

use super::archive::{Body, Entry};
use super::docker_save::{missing_error, missing_layers, SaveItem};
use super::legacy_v1::v1_layers;
use super::tar_writer::Header;
use crate::digest::{chain_id, Digest};
use crate::error::{Error, Result};
use crate::formats::go_json;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

fn blob_path(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

/// Plans the layout for `items` (resolved as for `docker save`).
pub fn plan(d: &crate::store::DockerState, items: &[SaveItem], now: i64) -> Result<Vec<Entry>> {
    let missing = missing_layers(d, items)?;
    if !missing.is_empty() {
        return Err(missing_error(&missing));
    }
    let mut blobs: BTreeMap<String, Entry> = BTreeMap::new();
    let mut manifest_json: Vec<Value> = Vec::new();
    let mut descriptors: Vec<Value> = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut last_created = 0;
    for item in items {
        let img = d.images.get(&item.id)?;
        let config = &img.config;
        let diff_ids = config.diff_ids();
        if diff_ids.is_empty() {
            return Err(Error::unsupported(format!("image {}: empty export - not implemented", item.id)));
        }
        let created = config.created().map_or(0, |t| t.unix());
        last_created = created;
        let chains: Vec<Digest> = (1..=diff_ids.len()).map(|n| chain_id(&diff_ids[..n]).expect("n ≥ 1")).collect();
        let mut layer_descs = Vec::new();
        let mut sources = Map::new();
        for (v1, diff) in v1_layers(config, &chains).into_iter().zip(diff_ids) {
            let v1_path = blob_path(&Digest::sha256_of(&v1.json));
            blobs
                .entry(v1_path.clone())
                .or_insert_with(|| Entry::bytes(Header::file(v1_path, v1.json.len() as u64, created), v1.json));
            let record = d.contents.get(diff).expect("checked above").clone();
            let size = record.size;
            let path = blob_path(diff);
            blobs
                .entry(path.clone())
                .or_insert_with(|| Entry { header: Header::file(path, size, created), body: Body::Layer(record) });
            layer_descs.push(json!({"mediaType": OCI_LAYER, "digest": diff.as_str(), "size": size}));
            sources.insert(diff.to_string(), json!({"mediaType": OCI_LAYER, "size": size, "digest": diff.as_str()}));
        }
        let config_path = blob_path(&item.id);
        blobs.insert(
            config_path.clone(),
            Entry::bytes(Header::file(config_path.clone(), config.raw().len() as u64, created), config.raw().to_vec()),
        );
        let mut platform = Map::new();
        platform.insert("architecture".into(), json!(config.architecture()));
        platform.insert("os".into(), json!(config.os_raw()));
        if !config.os_version().is_empty() {
            platform.insert("os.version".into(), json!(config.os_version()));
        }
        if let Some(f) = config.os_features().filter(|f| !f.is_empty()) {
            platform.insert("os.features".into(), json!(f));
        }
        if !config.variant().is_empty() {
            platform.insert("variant".into(), json!(config.variant()));
        }
        let platform = Value::Object(platform);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": item.id.as_str(), "size": config.raw().len(), "platform": platform},
            "layers": layer_descs,
        });
        let manifest = go_json::marshal(&manifest);
        let manifest_digest = Digest::sha256_of(&manifest);
        let manifest_size = manifest.len();
        let mpath = blob_path(&manifest_digest);
        blobs.insert(mpath.clone(), Entry::bytes(Header::file(mpath, manifest_size as u64, 0), manifest));

        let top = diff_ids.last().expect("not empty").hex().to_string();
        let mut repo_tags = Vec::new();
        for t in &item.tags {
            let tag = t.tag().unwrap_or("latest").to_string();
            repositories.entry(t.familiar_name()).or_default().insert(tag.clone(), top.clone());
            repo_tags.push(t.familiar_string());
            descriptors.push(json!({
                "mediaType": OCI_MANIFEST, "digest": manifest_digest.as_str(), "size": manifest_size,
                "annotations": {"io.containerd.image.name": t.to_string(), "org.opencontainers.image.ref.name": tag},
                "platform": platform,
            }));
        }
        if item.tags.is_empty() && descriptors.is_empty() {
            descriptors.push(json!({
                "mediaType": OCI_MANIFEST, "digest": manifest_digest.as_str(), "size": manifest_size, "platform": platform,
            }));
        }
        let mut m = Map::new();
        m.insert("Config".into(), json!(blob_path(&item.id)));
        m.insert("RepoTags".into(), if repo_tags.is_empty() { Value::Null } else { json!(repo_tags) });
        m.insert("Layers".into(), json!(diff_ids.iter().map(blob_path).collect::<Vec<_>>()));
        if let Some(p) = img.record.parent.as_ref().filter(|p| items.iter().any(|i| &i.id == *p && i.id != item.id)) {
            m.insert("Parent".into(), json!(p.as_str()));
        }
        m.insert("LayerSources".into(), Value::Object(sources));
        manifest_json.push(Value::Object(m));
    }
    let mut tree: BTreeMap<Vec<String>, Entry> = BTreeMap::new();
    // `blobs/` was last dated with the last image's creation time; files written into
    // `blobs/sha256/` after its last Chtimes leave it at the time of the save.
    tree.insert(vec!["blobs".into()], Entry { header: Header::dir("blobs/", last_created), body: Body::None });
    tree.insert(
        vec!["blobs".into(), "sha256".into()],
        Entry { header: Header::dir("blobs/sha256/", now), body: Body::None },
    );
    for (path, entry) in blobs {
        tree.insert(path.split('/').map(String::from).collect(), entry);
    }
    let index = go_json::marshal(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}));
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        ("index.json", index),
        ("manifest.json", go_json::encoder_line(&Value::Array(manifest_json))),
        ("oci-layout", br#"{"imageLayoutVersion": "1.0.0"}"#.to_vec()),
    ];
    if !repositories.is_empty() {
        files.push(("repositories", go_json::encoder_line(&json!(repositories))));
    }
    for (name, bytes) in files {
        // index.json is the one file dockerd does not date: it keeps the time of the save.
        let time = if name == "index.json" { now } else { 0 };
        tree.insert(vec![name.to_string()], Entry::bytes(Header::file(name, bytes.len() as u64, time), bytes));
    }
    Ok(tree.into_values().map(|e| Entry { header: e.header.docker25(), body: e.body }).collect())
}
