//! containerd roots (a tar of `/var/lib/containerd`, or of Docker's
//! `/var/lib/docker/containerd/daemon`): `meta.db` is read whole and every namespace's images,
//! content records (labels and timestamps kept) and namespace labels are stored; the content
//! blobs were verified against their names while they streamed.
//!
//! Not stored, and reported as skipped: content records whose blob is not in the archive
//! (nor already stored), leases and ingests (no lease store here; ingest data is not
//! portable), and the other buckets (containers, snapshots, sandboxes).

use super::archive::ctr_import::ContainerdImport;
use super::archive::files::ContainerdRoot;
use crate::containerd::meta_import::meta_db_ops;
use crate::docker::model::Skipped;
use crate::error::{Error, Result};
use crate::formats::containerd_meta::read_meta_db;
use crate::schema::containerd as schema;
use crate::storage::{blobs, Backend, Op};
use std::collections::BTreeSet;

pub(crate) async fn import_root<B: Backend>(b: &B, folder: &str, root: &ContainerdRoot) -> Result<ContainerdImport> {
    let where_ = if folder.is_empty() { "the archive's top level".to_string() } else { folder.to_string() };
    let bytes = root
        .meta_db
        .as_deref()
        .ok_or_else(|| Error::unsupported(format!("containerd root in {where_}: no meta.db")))?;
    let meta = read_meta_db(bytes).map_err(|e| e.context(format!("containerd root in {where_}")))?;
    let (ops, needed) = meta_db_ops(&meta);
    let invalid = crate::containerd::meta_import::invalid_namespaces(&meta);
    let mut out = ContainerdImport {
        namespaces: meta.namespaces.keys().filter(|ns| !invalid.iter().any(|(bad, _)| bad == *ns)).cloned().collect(),
        ..Default::default()
    };
    for (ns, why) in invalid {
        out.skipped.push(Skipped {
            subject: format!("namespace {ns:?}"),
            reason: format!("not a containerd namespace name, nothing of it imported: {}", why.message),
        });
    }

    let mut missing = BTreeSet::new();
    for d in &needed {
        if blobs::stat(b, d).await?.is_some() {
            continue;
        }
        match root.blobs.get(d) {
            Some(staged) => {
                out.ops.extend(staged.ops.iter().cloned());
                out.kept_sets.push(staged.set.clone());
            }
            None => {
                missing.insert(d.to_string());
            }
        }
    }
    for op in ops {
        if let Op::Put { key, .. } = &op {
            match schema::split(key) {
                Some((_, schema::CONTENT, digest)) => {
                    if missing.contains(digest) {
                        out.skipped.push(Skipped {
                            subject: key.clone(),
                            reason: "the blob is not in the archive's content store".to_string(),
                        });
                        continue;
                    }
                    out.blobs += 1;
                }
                Some((ns, schema::IMAGE, name)) => out.images.push((ns.to_string(), name.to_string())),
                _ => {}
            }
        }
        out.ops.push(op);
    }
    for (ns, data) in meta.namespaces.iter().filter(|(ns, _)| out.namespaces.contains(ns)) {
        for id in data.leases.keys() {
            out.skipped.push(Skipped {
                subject: format!("lease {id} (namespace {ns})"),
                reason: "leases are not stored here".into(),
            });
        }
        for r in data.ingests.keys() {
            out.skipped.push(Skipped {
                subject: format!("ingest {r} (namespace {ns})"),
                reason: "unfinished ingests are not portable".into(),
            });
        }
    }
    Ok(out)
}
