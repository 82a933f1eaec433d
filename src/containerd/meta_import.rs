//! Records read from a containerd `meta.db` ([`crate::formats::containerd_meta`]) turned into
//! this store's records, timestamps and labels kept: the metadata half of importing a
//! containerd root (the blobs are staged separately and committed with these operations).

use super::content::{put_info_op, Info};
use super::images::{put_image_op, Image, Target};
use super::namespaces::{validate_identifier, NamespaceRecord};
use crate::digest::Digest;
use crate::formats::containerd_meta::MetaDb;
use crate::formats::gotime::{GoTime, Zone};
use crate::schema::containerd::namespace as namespace_key;
use crate::storage::Op;

/// Records keep their times in UTC (as this store writes its own).
fn timestamp(t: &GoTime) -> GoTime {
    t.in_zone(Zone::Utc)
}

/// The operations that store every namespace, image and content record of `meta`, and the
/// digests whose bytes the caller must provide. Content keys that are not digests are skipped
/// (containerd's Walk skips them too); ingests are left out (their data is not portable).
/// Namespaces whose names are not containerd identifiers are left out (see
/// [`invalid_namespaces`]): containerd could not have made them, and a name with a `/` would
/// reach into another namespace's keys.
pub fn meta_db_ops(meta: &MetaDb) -> (Vec<Op>, Vec<Digest>) {
    let mut ops = Vec::new();
    let mut needed = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (ns, data) in &meta.namespaces {
        if validate_identifier(ns).is_err() {
            continue;
        }
        ops.push(Op::put_record(namespace_key(ns), &NamespaceRecord { labels: data.labels.clone() }));
        for img in data.images.values().filter(|img| !img.name.is_empty()) {
            let image = Image {
                name: img.name.clone(),
                labels: img.labels.clone(),
                target: Target {
                    media_type: img.target.media_type.clone(),
                    digest: img.target.digest.clone(),
                    size: img.target.size,
                    annotations: img.target.annotations.clone(),
                },
                created_at: timestamp(&img.created_at),
                updated_at: timestamp(&img.updated_at),
            };
            ops.push(put_image_op(ns, &image));
        }
        for blob in data.content.values() {
            let Ok(digest) = Digest::parse(&blob.digest) else { continue };
            let info = Info {
                digest: digest.clone(),
                size: blob.size,
                created_at: timestamp(&blob.created_at),
                updated_at: timestamp(&blob.updated_at),
                labels: blob.labels.clone(),
            };
            ops.push(put_info_op(ns, &info));
            if seen.insert(digest.clone()) {
                needed.push(digest);
            }
        }
    }
    (ops, needed)
}

/// The namespaces of `meta` that [`meta_db_ops`] leaves out, with why (containerd's
/// `identifiers.Validate`: `[A-Za-z0-9]+([._-][A-Za-z0-9]+)*`, at most 76 characters).
pub fn invalid_namespaces(meta: &MetaDb) -> Vec<(String, crate::error::Error)> {
    meta.namespaces.keys().filter_map(|ns| validate_identifier(ns).err().map(|e| (ns.clone(), e))).collect()
}
