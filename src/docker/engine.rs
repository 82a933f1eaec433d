//! The Engine API's image operations over the Docker stores, with dockerd 20.10's rules
//! (daemon/images/{image.go, images.go, image_inspect.go, image_history.go, image_delete.go,
//! image_tag.go}). Reads take the state; writes take a scratch copy of it and a [`Tx`]
//! (the store façade commits it and wraps both).
//! Answers are `serde_json::Value`s in the exact Engine API v1.41 shapes.

use super::images::Image;
use super::render::{self, HistoryImage, ImageFacts};
use super::state::DockerState;
use super::tx::Tx;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::formats::gotime::GoTime;
use crate::formats::reference::{parse_any_reference, AnyReference, Reference};
use serde_json::{json, Value};

pub use super::list::{list_images, Filters};

/// `GetImage`: resolves what the docker CLI accepts — a full ID (with or without `sha256:`),
/// a reference from the reference store, or else a partial ID.
pub fn get_image<'a>(d: &'a DockerState, ref_or_id: &str) -> Result<&'a Image> {
    let named = match parse_any_reference(ref_or_id)? {
        AnyReference::Id(id) => {
            return d.images.get(&id).map_err(|_| Error::not_found(format!("No such image: {id}")));
        }
        AnyReference::Named(n) => n,
    };
    if let Some(img) = d.references.get(&named).and_then(|id| d.images.get(&id).ok()) {
        return Ok(img);
    }
    if let Ok(img) = d.images.search(ref_or_id).and_then(|id| d.images.get(&id)) {
        return Ok(img);
    }
    Err(Error::not_found(format!("No such image: {}", named.with_default_tag().familiar_string())))
}

fn image_size(d: &DockerState, img: &Image) -> Result<i64> {
    d.images.size(img, &d.layers)
}

/// What the render views need about one image, with the given references.
fn facts<'a>(d: &'a DockerState, img: &'a Image, references: &'a [Reference]) -> Result<ImageFacts<'a>> {
    facts_with(d, img, references, true)
}

/// [`facts`]; `read_last_tag` false leaves `last_tag_time` out (dockerd's list never reads
/// it, so one bad record cannot fail the list).
fn facts_with<'a>(
    d: &'a DockerState,
    img: &'a Image,
    references: &'a [Reference],
    read_last_tag: bool,
) -> Result<ImageFacts<'a>> {
    let recorded = if read_last_tag { d.images.get_last_updated(img.id())? } else { None };
    let last_tag_time = match recorded {
        // moby's GetLastUpdated parses the text and fails the request when it cannot.
        Some(text) => Some(
            GoTime::parse_rfc3339(&text)
                .map_err(|e| Error::corrupt(format!("image {}: lastUpdated: {}", img.id(), e.message)))?,
        ),
        None => None,
    };
    Ok(ImageFacts {
        id: img.id(),
        config: &img.config,
        parent: img.record.parent.as_ref(),
        size: image_size(d, img)?,
        references,
        last_tag_time,
        graph_driver: &d.graph_driver,
    })
}

/// `GET /images/{name}/json`.
pub fn inspect_image(d: &DockerState, name: &str) -> Result<Value> {
    let img = get_image(d, name).map_err(|e| Error::new(e.code, format!("no such image: {name}: {}", e.message)))?;
    let references = d.references.references(img.id());
    render::image_inspect(&facts(d, img, &references)?)
}

/// `GET /images/{name}/history`: one row per history entry, newest first; the rows are
/// labelled with the image IDs found by walking the parent chain, the rest `<missing>`.
/// Each layer's own size comes from the layer store (a missing layer is an error, as in moby).
pub fn image_history(d: &DockerState, name: &str) -> Result<Value> {
    let img = get_image(d, name)?;
    let diff_ids = img.config.diff_ids();
    let mut layer_sizes = Vec::with_capacity(diff_ids.len());
    for chain in crate::digest::chain_ids(diff_ids) {
        match d.layers.get(&chain) {
            Some(layer) => layer_sizes.push(layer.size),
            None => break,
        }
    }
    let references = d.references.references(img.id());
    let lookup = |id: &Digest| {
        let parent = d.images.get(id).ok()?;
        Some(HistoryImage { parent: parent.record.parent.clone(), references: d.references.references(id) })
    };
    render::image_history(&facts(d, img, &references)?, &layer_sizes, lookup)
}

/// `docker image search`-free ID search: `image.Store.Search` (not_found / ambiguous).
pub fn search(d: &DockerState, partial: &str) -> Result<Digest> {
    d.images.search(partial)
}

/// The parent of an image (a name or ID), if it has one.
pub fn image_parent(d: &DockerState, name: &str) -> Result<Option<Digest>> {
    Ok(get_image(d, name)?.record.parent.clone())
}

/// The images whose parent is the given image.
pub fn image_children(d: &DockerState, name: &str) -> Result<Vec<Digest>> {
    Ok(d.images.children(get_image(d, name)?.id()))
}

/// Images without children, in ID order.
pub fn image_heads(d: &DockerState) -> Vec<Digest> {
    d.images.heads().map(|i| i.id().clone()).collect()
}

/// `POST /images/{name}/tag`: tags (with force) and records the tag time. Returns the
/// familiar form of the new tag.
pub fn tag_image(d: &mut DockerState, tx: &mut Tx, name: &str, repo: &str, tag: &str, now: String) -> Result<String> {
    let id = get_image(d, name)?.id().clone();
    let mut new_tag = Reference::parse_normalized_named(repo)?;
    if !tag.is_empty() {
        new_tag = new_tag.with_tag(tag)?;
    }
    d.references.add_tag(tx, &new_tag, &id, true)?;
    d.images.set_last_updated(tx, &id, now)?;
    Ok(new_tag.familiar_string())
}

/// One line of `DELETE /images/{name}`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteItem {
    Untagged(String),
    Deleted(String),
}

impl DeleteItem {
    pub fn to_json(&self) -> Value {
        match self {
            DeleteItem::Untagged(s) => json!({ "Untagged": s }),
            DeleteItem::Deleted(s) => json!({ "Deleted": s }),
        }
    }
}

/// What `checkImageDeleteConflict` looks at (containers are not modelled here).
#[derive(Clone, Copy)]
enum ConflictCheck {
    ChildrenOnly,
    ChildrenAndReferences,
}

fn short(id: &Digest) -> &str {
    id.short_id()
}

fn delete_conflict(d: &DockerState, id: &Digest, check: ConflictCheck) -> Option<Error> {
    let (hard, message) = if !d.images.children(id).is_empty() {
        (true, "image has dependent child images")
    } else if matches!(check, ConflictCheck::ChildrenAndReferences) && !d.references.references(id).is_empty() {
        (false, "image is referenced in multiple repositories")
    } else {
        return None;
    };
    let force = if hard { "cannot be forced" } else { "must be forced" };
    Some(Error::conflict(format!("conflict: unable to delete {} ({force}) - {message}", short(id))))
}

/// `isSingleReference`: all references in one repository, with at most one tag.
fn is_single_reference(refs: &[Reference]) -> bool {
    if refs.len() <= 1 {
        return refs.len() == 1;
    }
    let mut single: Option<&Reference> = None;
    let mut names = std::collections::BTreeSet::new();
    for r in refs {
        if r.digest().is_some() {
            names.insert(r.name());
        } else if single.is_none() {
            names.insert(r.name());
            single = Some(r);
        } else {
            return false;
        }
    }
    let single = single.unwrap_or(&refs[0]);
    names.len() == 1 && names.contains(&single.name())
}

/// `isImageIDPrefix`.
fn is_image_id_prefix(id: &Digest, s: &str) -> bool {
    id.as_str().starts_with(s) || id.hex().starts_with(s)
}

fn untag(d: &mut DockerState, tx: &mut Tx, r: &Reference, out: &mut Vec<DeleteItem>) -> Result<Reference> {
    let r = r.clone().with_default_tag();
    d.references.delete(tx, &r)?;
    out.push(DeleteItem::Untagged(r.familiar_string()));
    Ok(r)
}

/// `DELETE /images/{name}?force=&noprune=` with dockerd's `ImageDelete` rules: a name only
/// untags while other references remain; otherwise the image is deleted with its released
/// layers, then (unless `noprune`) its untagged parents, quietly stopping at the first one
/// that is still referenced or has other children.
pub fn remove_image(
    d: &mut DockerState,
    tx: &mut Tx,
    name: &str,
    force: bool,
    noprune: bool,
) -> Result<Vec<DeleteItem>> {
    let id = get_image(d, name)?.id().clone();
    let mut out = Vec::new();
    let mut repo_refs = d.references.references(&id);
    let mut removed_repository_ref = false;
    if !is_image_id_prefix(&id, name) {
        let parsed = untag(d, tx, &Reference::parse_normalized_named(name)?, &mut out)?;
        repo_refs = d.references.references(&id);
        if parsed.digest().is_none() {
            let tag_left = repo_refs.iter().any(|r| r.digest().is_none() && r.name() == parsed.name());
            if !tag_left {
                let mut remaining = Vec::new();
                for r in repo_refs {
                    if r.digest().is_some() && r.name() == parsed.name() {
                        d.references.delete(tx, &r)?;
                        out.push(DeleteItem::Untagged(r.familiar_string()));
                    } else {
                        remaining.push(r);
                    }
                }
                repo_refs = remaining;
            }
        }
        if !repo_refs.is_empty() {
            return Ok(out);
        }
        removed_repository_ref = true;
    } else if is_single_reference(&repo_refs) {
        if let Some(conflict) = delete_conflict(d, &id, ConflictCheck::ChildrenOnly) {
            return Err(conflict);
        }
        for r in &repo_refs {
            untag(d, tx, r, &mut out)?;
        }
    }
    delete_helper(d, tx, &id, &mut out, force, !noprune, removed_repository_ref)?;
    Ok(out)
}

/// `imageDeleteHelper`. dockerd recurses into the parent when pruning; an upload can make the
/// parent chain thousands deep, so this walks it in a loop (same steps, same order).
fn delete_helper(
    d: &mut DockerState,
    tx: &mut Tx,
    id: &Digest,
    out: &mut Vec<DeleteItem>,
    force: bool,
    prune: bool,
    quiet: bool,
) -> Result<()> {
    let (mut id, mut force, mut quiet) = (id.clone(), force, quiet);
    loop {
        let check = if force { ConflictCheck::ChildrenOnly } else { ConflictCheck::ChildrenAndReferences };
        if let Some(conflict) = delete_conflict(d, &id, check) {
            let dangling = d.references.references(&id).is_empty() && d.images.children(&id).is_empty();
            if quiet && !dangling {
                return Ok(());
            }
            return Err(conflict);
        }
        let parent = d.images.get_parent(&id).ok();
        for r in d.references.references(&id) {
            untag(d, tx, &r, out)?;
        }
        let removed = d.images.delete(tx, &mut d.layers, &id)?;
        out.push(DeleteItem::Deleted(id.to_string()));
        out.extend(removed.into_iter().map(|l| DeleteItem::Deleted(l.chain_id.to_string())));
        match parent {
            Some(p) if prune => (id, force, quiet) = (p, false, true),
            _ => return Ok(()),
        }
    }
}
