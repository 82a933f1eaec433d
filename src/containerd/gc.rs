//! Garbage collection, containerd style (core/metadata/gc.go): mark from the roots of every
//! namespace along label references, sweep what was not reached, then delete the blobs that no
//! namespace and no caller-named root (the Docker view's blobs) still uses.
//!
//! GC never parses blobs: a manifest's config and layers survive only through the
//! `containerd.io/gc.ref.content.*` labels on the manifest's content record.

use super::content::{self, Info, IngestRecord};
use super::images::{self, Image};
use super::labels::{self, Labels};
use super::Containerd;
use crate::digest::Digest;
use crate::error::Result;
use crate::formats::gotime::GoTime;
use crate::schema::{self, containerd as keys};
use crate::storage::blob_packs;
use crate::storage::blobs::{self, BlobRecord};
use crate::storage::generation::{self, Committed, Generation};
use crate::storage::{decode_record, Backend, Op, Space};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// What a collection removed (JavaScript sees the camelCase names).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GcResult {
    /// Bytes deleted from storage: no namespace and no extra root used them.
    pub deleted_blobs: Vec<Digest>,
    /// Content records removed, per namespace.
    pub deleted_content: BTreeMap<String, Vec<Digest>>,
    /// Images removed because their `containerd.io/gc.expire` time passed, per namespace.
    pub deleted_images: BTreeMap<String, Vec<String>>,
    /// Expired ingests removed, per namespace.
    pub deleted_ingests: BTreeMap<String, Vec<String>>,
    /// Chunk sets of failed or abandoned writes that were swept.
    pub swept_chunk_sets: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Node {
    Image(String, String),
    Content(String, Digest),
}

/// Everything GC looks at, read once.
#[derive(Default)]
struct Snapshot {
    images: Vec<(String, Image)>,
    content: Vec<(String, Info)>,
    ingests: Vec<(String, String, IngestRecord)>,
}

async fn read_snapshot<B: Backend>(b: &B) -> Result<Snapshot> {
    let mut snap = Snapshot::default();
    for (key, value) in b.scan(Space::Meta, keys::DATA).await? {
        let Some((ns, kind, name)) = keys::split(&key) else { continue };
        let ns = ns.to_string();
        match kind {
            keys::IMAGE => snap.images.push((ns, images::to_image(name, decode_record(&key, &value)?))),
            keys::CONTENT => {
                if let Ok(d) = Digest::parse(name) {
                    snap.content.push((ns, content::to_info(d, decode_record(&key, &value)?)));
                }
            }
            keys::INGEST => snap.ingests.push((ns, name.to_string(), decode_record(&key, &value)?)),
            _ => {}
        }
    }
    Ok(snap)
}

/// True if `key` is `base` exactly or `base` followed by `.` or `/` and more (containerd's
/// rule for reference labels such as `containerd.io/gc.ref.content.l.0`).
fn names_ref(key: &str, base: &str) -> bool {
    key.strip_prefix(base).is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('/'))
}

/// Adds the edges that an object's labels declare: references from it, and back-references
/// (`gc.bref.*`) that make another object point at it.
fn label_edges(ns: &str, from: &Node, labels: &Labels, edges: &mut HashMap<Node, Vec<Node>>) {
    for (k, v) in labels {
        let content = || Digest::parse(v).ok().map(|d| Node::Content(ns.to_string(), d));
        let image = || Some(Node::Image(ns.to_string(), v.clone()));
        if names_ref(k, labels::GC_REF_CONTENT) {
            if let Some(to) = content() {
                edges.entry(from.clone()).or_default().push(to);
            }
        } else if names_ref(k, labels::GC_REF_IMAGE) {
            edges.entry(from.clone()).or_default().extend(image());
        } else if names_ref(k, labels::GC_BREF_CONTENT) {
            if let Some(parent) = content() {
                edges.entry(parent).or_default().push(from.clone());
            }
        } else if names_ref(k, labels::GC_BREF_IMAGE) {
            if let Some(parent) = image() {
                edges.entry(parent).or_default().push(from.clone());
            }
        }
    }
}

fn image_expired(labels: &Labels, now: &GoTime) -> bool {
    // An unparsable expiry is ignored (the image stays a root), as in containerd.
    labels.get(labels::GC_EXPIRE).and_then(|v| GoTime::parse_rfc3339(v).ok()).is_some_and(|exp| *now > exp)
}

/// The nodes reachable from the roots.
fn mark(snap: &Snapshot, now: &GoTime) -> HashSet<Node> {
    let mut edges: HashMap<Node, Vec<Node>> = HashMap::new();
    let mut roots = Vec::new();
    for (ns, img) in &snap.images {
        let node = Node::Image(ns.clone(), img.name.clone());
        if !image_expired(&img.labels, now) {
            roots.push(node.clone());
        }
        if let Ok(d) = img.target_digest() {
            edges.entry(node.clone()).or_default().push(Node::Content(ns.clone(), d));
        }
        label_edges(ns, &node, &img.labels, &mut edges);
    }
    for (ns, info) in &snap.content {
        let node = Node::Content(ns.clone(), info.digest.clone());
        if info.labels.keys().any(|k| k.starts_with(labels::GC_ROOT)) {
            roots.push(node.clone());
        }
        label_edges(ns, &node, &info.labels, &mut edges);
    }
    let mut marked = HashSet::new();
    while let Some(n) = roots.pop() {
        if marked.insert(n.clone()) {
            roots.extend(edges.get(&n).into_iter().flatten().cloned());
        }
    }
    marked
}

/// Runs one collection over every namespace. `extra_roots` are blobs that must be kept even
/// if no namespace uses them (the Docker view's configs and tar-split blobs); `is_locked`
/// says whether an ingest (`<ns>/<ref>`) has an open writer, which keeps it.
pub async fn collect<B: Backend>(
    b: &B,
    extra_roots: &HashSet<Digest>,
    is_locked: impl Fn(&str) -> bool,
) -> Result<GcResult> {
    for _ in 0..generation::MAX_ATTEMPTS {
        let at = generation::read(b).await?;
        if let Some(result) = collect_at(b, extra_roots, &is_locked, &at).await? {
            return Ok(result);
        }
    }
    Err(generation::too_busy("garbage collection"))
}

/// One collection decided on the data at generation `at` (read before anything GC looks at,
/// including `extra_roots`): `None`, with nothing deleted, if anyone committed since. Without
/// that guard a blob another tab just imported could be swept as unreferenced.
pub async fn collect_at<B: Backend>(
    b: &B,
    extra_roots: &HashSet<Digest>,
    is_locked: impl Fn(&str) -> bool,
    at: &Generation,
) -> Result<Option<GcResult>> {
    let now = crate::storage::now();
    let snap = read_snapshot(b).await?;
    let marked = mark(&snap, &now);
    let mut result = GcResult::default();
    let mut ops = Vec::new();

    for (ns, img) in &snap.images {
        if !marked.contains(&Node::Image(ns.clone(), img.name.clone())) {
            ops.push(Op::delete_meta(keys::image(ns, &img.name)));
            result.deleted_images.entry(ns.clone()).or_default().push(img.name.clone());
        }
    }
    let mut live_blobs: BTreeSet<&Digest> = extra_roots.iter().collect();
    for (ns, info) in &snap.content {
        let d = &info.digest;
        if marked.contains(&Node::Content(ns.clone(), d.clone())) {
            live_blobs.insert(d);
        } else {
            ops.push(Op::delete_meta(keys::content(ns, d)));
            result.deleted_content.entry(ns.clone()).or_default().push(d.clone());
        }
    }
    for (ns, reference, rec) in &snap.ingests {
        if rec.expire_at < now && !is_locked(&format!("{ns}/{reference}")) {
            ops.push(Op::delete_meta(keys::ingest(ns, reference)));
            result.deleted_ingests.entry(ns.clone()).or_default().push(reference.clone());
        }
    }
    let (singles, packs) =
        futures::future::try_join(b.scan(Space::Meta, schema::BLOBS), b.scan(Space::Meta, schema::BLOB_PACKS)).await?;
    let mut dead: BTreeSet<Digest> = BTreeSet::new();
    for (key, value) in singles {
        let Some(d) = schema::blob_digest(&key) else { continue };
        if live_blobs.contains(&d) {
            continue;
        }
        let rec = BlobRecord::decode(&key, &value)?;
        ops.extend(blobs::delete_ops(&d, &rec));
        dead.insert(d);
    }
    for (key, value) in packs {
        for (d, _) in blob_packs::digests(&key, &value)? {
            if !live_blobs.contains(&d) && !dead.contains(&d) {
                // Its pack entry goes in `pack_commit`, with the packs' rewrites.
                ops.push(Op::delete_meta(schema::blob(&d)));
                dead.insert(d);
            }
        }
    }
    result.deleted_blobs.extend(dead);
    blob_packs::pack_commit(b, &mut ops).await?;
    if !ops.is_empty() {
        if generation::commit_at(b, at, ops).await? == Committed::Stale {
            return Ok(None);
        }
    } else if generation::read(b).await? != *at {
        return Ok(None);
    }
    result.swept_chunk_sets = blobs::sweep_orphans(b).await?;
    Ok(Some(result))
}

impl<B: Backend + Clone> Containerd<B> {
    /// Garbage-collects all namespaces; see [`collect`]. Ingests with an open writer are kept.
    pub async fn gc(&self, extra_roots: &HashSet<Digest>) -> Result<GcResult> {
        collect(&self.backend, extra_roots, |key| self.locks.is_locked(key)).await
    }

    /// [`collect_at`] with this view's open ingests.
    pub async fn gc_at(&self, extra_roots: &HashSet<Digest>, at: &Generation) -> Result<Option<GcResult>> {
        collect_at(&self.backend, extra_roots, |key| self.locks.is_locked(key), at).await
    }
}
