//! The legacy v1 image JSON of `docker save` (moby 20.10 `image/tarexport/save.go` and
//! `image/v1/imagev1.go`): every layer of an image gets a v1 ID and a `<v1 id>/json` file.
//!
//! - The top layer's v1 image is the image's own `V1Image` (its config decoded into Go's
//!   struct and encoded again, so unknown keys are gone and keys are in struct order); every
//!   lower layer's is an empty `V1Image` created at the Unix epoch.
//! - `v1.CreateID`: the v1 image without its `id`, as a JSON object whose keys are sorted, plus
//!   `layer_id` (the layer's ChainID) and `parent` (the v1 ID below, as a digest); the ID is
//!   the sha256 of that.
//! - The `json` file is the v1 image with `id` and `parent` (hex, no algorithm) set and `os`
//!   taken from the image (for lower layers `os` is set after the ID was computed, so it
//!   does not count in their ID).

use crate::digest::Digest;
use crate::docker::render::container_config_json;
use crate::formats::go_json;
use crate::formats::gotime::GoTime;
use crate::formats::image_config::{ContainerConfig, ImageConfig};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// One layer's v1 identity: its ID and its `json` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Layer {
    pub id: Digest,
    pub json: Vec<u8>,
}

/// The v1 layers of an image whose ChainIDs (one per DiffID, base first) are `chain_ids`.
pub fn v1_layers(config: &ImageConfig, chain_ids: &[Digest]) -> Vec<V1Layer> {
    let mut out: Vec<V1Layer> = Vec::with_capacity(chain_ids.len());
    for (i, chain) in chain_ids.iter().enumerate() {
        let top = i + 1 == chain_ids.len();
        let mut v1 = if top { image_v1(config) } else { empty_v1() };
        let parent = out.last().map(|l| l.id.clone());
        let id = create_id(&v1, chain, parent.as_ref());
        let mut file = Map::new();
        file.insert("id".into(), json!(id.hex()));
        if let Some(p) = &parent {
            file.insert("parent".into(), json!(p.hex()));
        }
        if !top && !config.os_raw().is_empty() {
            // `v1Img.OS = img.OS` after CreateID; struct order puts it before `Size`.
            v1.insert("os".into(), json!(config.os_raw()));
        }
        file.extend(v1.into_iter().filter(|(k, _)| k != "parent"));
        let order = ["id", "parent", "comment", "created", "container", "container_config", "docker_version"];
        let order_rest = ["author", "config", "architecture", "variant", "os", "Size"];
        let mut ordered = Map::new();
        for k in order.iter().chain(order_rest.iter()) {
            if let Some(v) = file.remove(*k) {
                ordered.insert((*k).to_string(), v);
            }
        }
        out.push(V1Layer { id, json: go_json::marshal(&Value::Object(ordered)) });
    }
    out
}

/// `v1.CreateID`: sorted keys of the v1 image (without `id`), `layer_id` and `parent`.
fn create_id(v1: &Map<String, Value>, layer_id: &Digest, parent: Option<&Digest>) -> Digest {
    let mut sorted: BTreeMap<&str, Value> = v1.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    sorted.insert("layer_id", json!(layer_id.as_str()));
    if let Some(p) = parent {
        sorted.insert("parent", json!(p.as_str()));
    }
    let text = go_json::html_escape(serde_json::to_string(&sorted).expect("JSON values serialise"));
    Digest::sha256_of(text.as_bytes())
}

/// `image.V1Image{Created: time.Unix(0, 0)}` without id (the daemon runs in UTC).
fn empty_v1() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("created".into(), json!("1970-01-01T00:00:00Z"));
    m.insert("container_config".into(), container_config_json(&ContainerConfig::default()));
    m
}

/// The image's `V1Image` as Go re-encodes it, without id (and without `parent`: the `Image`
/// struct's own `parent` field shadows the embedded one when decoding).
fn image_v1(c: &ImageConfig) -> Map<String, Value> {
    let mut m = Map::new();
    let opt = |m: &mut Map<String, Value>, k: &str, v: &str| {
        if !v.is_empty() {
            m.insert(k.into(), json!(v));
        }
    };
    opt(&mut m, "comment", c.comment());
    m.insert("created".into(), json!(c.created().unwrap_or(GoTime::ZERO).to_rfc3339_nano()));
    opt(&mut m, "container", c.container());
    m.insert("container_config".into(), container_config_json(c.container_config()));
    opt(&mut m, "docker_version", c.docker_version());
    opt(&mut m, "author", c.author());
    if let Some(cfg) = c.config() {
        m.insert("config".into(), container_config_json(cfg));
    }
    opt(&mut m, "architecture", c.architecture());
    opt(&mut m, "variant", c.variant());
    opt(&mut m, "os", c.os_raw());
    if let Some(size) = size_field(c.raw()).filter(|s| *s != 0) {
        m.insert("Size".into(), json!(size));
    }
    m
}

/// `V1Image.Size` (`json:",omitempty"`): Go matches the key `Size` exactly or, failing that,
/// case-insensitively.
fn size_field(raw: &[u8]) -> Option<i64> {
    let Ok(Value::Object(top)) = serde_json::from_slice::<Value>(raw) else { return None };
    let v = top.get("Size").or_else(|| top.iter().find(|(k, _)| k.eq_ignore_ascii_case("size")).map(|(_, v)| v))?;
    v.as_i64()
}
