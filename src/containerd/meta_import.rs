//! Records read from a containerd `meta.db` ([`crate::formats::containerd_meta`]) turned into
//! this store's records, timestamps and labels kept: the metadata half of importing a
//! containerd root (the blobs are staged separately and committed with these operations).

use super::content::{put_info_op, Info};
use super::images::{put_image_op, Image, Target};
use super::namespaces::NamespaceRecord;
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
pub fn meta_db_ops(meta: &MetaDb) -> (Vec<Op>, Vec<Digest>) {
    let mut ops = Vec::new();
    let mut needed = Vec::new();
    for (ns, data) in &meta.namespaces {
        ops.push(Op::put_record(namespace_key(ns), &NamespaceRecord { labels: data.labels.clone() }));
        for img in data.images.values() {
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
            if !needed.contains(&digest) {
                needed.push(digest);
            }
        }
    }
    (ops, needed)
}
