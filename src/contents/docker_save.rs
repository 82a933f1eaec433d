//! `docker save` as Docker 20.10 writes it (moby `image/tarexport/save.go`, read at v20.10):
//!
//! - names are resolved like `parseNames`: a tag or `name:tag` → that image with that tag; a
//!   bare repository name → every tag of it (sorted by full reference); an ID or short ID →
//!   the image without tags. Images keep the order in which they were first named (dockerd
//!   uses a Go map, so its order is random; this one is the caller's).
//! - per image, per layer (base first): `<v1 id>/` with `VERSION` ("1.0"), `json` (the legacy
//!   v1 image, [`super::legacy_v1`]) and `layer.tar`. A v1 ID seen before is written once; a
//!   DiffID seen before under another v1 ID becomes a symlink `../<first v1 id>/layer.tar`.
//!   The folder and its files carry the image's creation time; folders whose `layer.tar` is
//!   a symlink carry the time of the export (dockerd leaves them at "now" too).
//! - `<image id hex>.json`: the config's exact bytes, with the image's creation time.
//! - `manifest.json` (`[{Config, RepoTags, Layers, Parent?}]`, Parent only when the parent is
//!   saved too) and `repositories` (`{name: {tag: top v1 id}}`, only when something is
//!   tagged), both with a newline as Go's `json.Encoder` writes, dated the Unix epoch.
//! - the tar lists the folder as `filepath.Walk` does: sorted by name, a folder's contents
//!   right after it; USTAR headers, root-owned ([`super::tar_writer`]).
//!
//! Not written: `LayerSources` (foreign layers' descriptors; none on Linux stores).

use super::archive::{Body, Entry};
use super::legacy_v1::v1_layers;
use super::tar_writer::Header;
use crate::digest::{chain_id, Digest};
use crate::docker::images::Image;
use crate::error::{Error, Result};
use crate::formats::go_json;
use crate::formats::reference::{parse_any_reference, AnyReference, Reference};
use crate::store::DockerState;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// An image to export and the tags it is exported with.
#[derive(Debug, Clone)]
pub struct SaveItem {
    pub id: Digest,
    /// Tagged references, in the order they were named.
    pub tags: Vec<Reference>,
}

/// `parseNames`: the images `names` select, in first-named order, with their tags.
pub fn resolve_names(d: &DockerState, names: &[String]) -> Result<Vec<SaveItem>> {
    let mut items: Vec<SaveItem> = Vec::new();
    let mut add = |id: Digest, tag: Option<Reference>| -> Result<()> {
        d.images.get(&id).map_err(|_| Error::not_found(format!("No such image: {id}")))?;
        let pos = match items.iter().position(|i| i.id == id) {
            Some(p) => p,
            None => {
                items.push(SaveItem { id, tags: Vec::new() });
                items.len() - 1
            }
        };
        if let Some(t) = tag.filter(|t| t.digest().is_none()) {
            let t = t.with_default_tag();
            if !items[pos].tags.iter().any(|x| x.to_string() == t.to_string()) {
                items[pos].tags.push(t);
            }
        }
        Ok(())
    };
    if names.is_empty() {
        return Err(Error::invalid("save: no image names given"));
    }
    for name in names {
        let named = match parse_any_reference(name)? {
            AnyReference::Id(id) => {
                add(id, None)?;
                continue;
            }
            AnyReference::Named(n) => n,
        };
        if named.familiar_name() == "sha256" {
            add(d.images.search(name)?, None)?;
            continue;
        }
        if named.is_name_only() {
            let mut refs: Vec<(Reference, Digest)> = d
                .references
                .repositories()
                .get(&named.familiar_name())
                .into_iter()
                .flatten()
                .filter_map(|(familiar, id)| Some((Reference::parse_normalized_named(familiar).ok()?, id.clone())))
                .collect();
            refs.sort_by_cached_key(|(r, _)| r.to_string());
            if refs.is_empty() {
                add(d.images.search(name).map_err(|_| Error::not_found(format!("No such image: {name}")))?, None)?;
            }
            for (r, id) in refs {
                add(id, Some(r))?;
            }
            continue;
        }
        let id =
            d.references.get(&named).ok_or_else(|| Error::not_found(format!("reference does not exist: {name}")))?;
        add(id, Some(named))?;
    }
    Ok(items)
}

/// The DiffIDs of `items` whose layer tars are not in the store, with the images needing them.
pub fn missing_layers(d: &DockerState, items: &[SaveItem]) -> Result<BTreeMap<Digest, Vec<Digest>>> {
    let mut missing: BTreeMap<Digest, Vec<Digest>> = BTreeMap::new();
    for item in items {
        let img = d.images.get(&item.id)?;
        for diff in img.config.diff_ids() {
            if !d.contents.contains(diff) {
                let users = missing.entry(diff.clone()).or_default();
                if !users.contains(&item.id) {
                    users.push(item.id.clone());
                }
            }
        }
    }
    Ok(missing)
}

/// The error for layers without contents, naming every one.
pub fn missing_error(missing: &BTreeMap<Digest, Vec<Digest>>) -> Error {
    let list: Vec<String> = missing
        .iter()
        .map(|(diff, images)| {
            let imgs: Vec<&str> = images.iter().map(|i| i.short_id()).collect();
            format!("{diff} (image {})", imgs.join(", "))
        })
        .collect();
    Error::precondition(format!(
        "the store has no contents for {} layer(s): {} — import them with the images (a docker save or OCI archive, \
         or a /var/lib/docker tarball with its graph driver folders)",
        list.len(),
        list.join("; ")
    ))
}

/// Plans the archive; `now` (Unix seconds) dates folders whose layer is a symlink.
pub fn plan(d: &DockerState, items: &[SaveItem], now: i64) -> Result<Vec<Entry>> {
    let missing = missing_layers(d, items)?;
    if !missing.is_empty() {
        return Err(missing_error(&missing));
    }
    // Sort keys are path components: the order of `filepath.Walk`.
    let mut tree: BTreeMap<Vec<String>, Entry> = BTreeMap::new();
    let mut saved_v1: BTreeSet<Digest> = BTreeSet::new();
    let mut diff_paths: BTreeMap<Digest, String> = BTreeMap::new();
    let mut manifest: Vec<Value> = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for item in items {
        let img: &Image = d.images.get(&item.id)?;
        let config = img.config.get()?;
        let diff_ids = config.diff_ids();
        if diff_ids.is_empty() {
            return Err(Error::unsupported(format!("image {}: empty export - not implemented", item.id)));
        }
        let created = config.created().map_or(0, |t| t.unix());
        let chains: Vec<Digest> = (1..=diff_ids.len()).map(|n| chain_id(&diff_ids[..n]).expect("n ≥ 1")).collect();
        let v1 = v1_layers(config, &chains);
        for (layer, diff) in v1.iter().zip(diff_ids) {
            if !saved_v1.insert(layer.id.clone()) {
                continue;
            }
            let dir = layer.id.hex().to_string();
            let path = format!("{dir}/layer.tar");
            let (body, time) = match diff_paths.get(diff) {
                Some(first) => {
                    let target = format!("../{first}");
                    (Entry { header: Header::symlink(path.clone(), target, now), body: Body::None }, now)
                }
                None => {
                    let record = d.contents.get(diff).expect("checked above").clone();
                    let size = record.size;
                    diff_paths.insert(diff.clone(), path.clone());
                    (Entry { header: Header::file(path.clone(), size, created), body: Body::Layer(record) }, created)
                }
            };
            tree.insert(vec![dir.clone()], Entry { header: Header::dir(format!("{dir}/"), time), body: Body::None });
            let version = Header::file(format!("{dir}/VERSION"), 3, time);
            tree.insert(vec![dir.clone(), "VERSION".into()], Entry::bytes(version, b"1.0".to_vec()));
            let json_header = Header::file(format!("{dir}/json"), layer.json.len() as u64, time);
            tree.insert(vec![dir.clone(), "json".into()], Entry::bytes(json_header, layer.json.clone()));
            tree.insert(vec![dir, "layer.tar".into()], body);
        }
        let config_name = format!("{}.json", item.id.hex());
        let config_header = Header::file(config_name.clone(), config.raw().len() as u64, created);
        tree.insert(vec![config_name.clone()], Entry::bytes(config_header, config.raw().to_vec()));

        let top = v1.last().expect("diff_ids not empty").id.hex().to_string();
        let mut repo_tags = Vec::new();
        for t in &item.tags {
            let tag = t.tag().unwrap_or("latest").to_string();
            repositories.entry(t.familiar_name()).or_default().insert(tag, top.clone());
            repo_tags.push(t.familiar_string());
        }
        let mut m = serde_json::Map::new();
        m.insert("Config".into(), json!(config_name));
        m.insert("RepoTags".into(), if repo_tags.is_empty() { Value::Null } else { json!(repo_tags) });
        m.insert("Layers".into(), json!(v1.iter().map(|l| format!("{}/layer.tar", l.id.hex())).collect::<Vec<_>>()));
        // validatedParentLinks: the parent only if it is saved too.
        if let Some(p) = img.record.parent.as_ref().filter(|p| items.iter().any(|i| &i.id == *p && i.id != item.id)) {
            m.insert("Parent".into(), json!(p.as_str()));
        }
        manifest.push(Value::Object(m));
    }
    // manifest.json and repositories are written last into the same folder: Walk lists them
    // in name order with the rest.
    let mut tail: Vec<(&str, Vec<u8>)> = vec![("manifest.json", go_json::encoder_line(&Value::Array(manifest)))];
    if !repositories.is_empty() {
        tail.push(("repositories", go_json::encoder_line(&json!(repositories))));
    }
    for (name, bytes) in tail {
        tree.insert(vec![name.to_string()], Entry::bytes(Header::file(name, bytes.len() as u64, 0), bytes));
    }
    Ok(tree.into_values().collect())
}
