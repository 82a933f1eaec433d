//! containerd's metadata database (`io.containerd.metadata.v1.bolt/meta.db`) mapped from the
//! bbolt tree to plain records (containerd core/metadata/buckets.go).
//!
//! ```text
//! v1/ version=<varint>  <namespace>/ labels/ images/<name>/ content/{blob,ingests}/ leases/<id>/
//! ```
//! Values are kept as containerd reads them: digests and media types are raw strings (the
//! stores validate them where containerd does), timestamps are Go `MarshalBinary` times (a
//! missing one is Go's zero time) and sizes zig-zag varints. Containers, snapshots and
//! sandboxes are not read: the image/content stores do not need them.

use crate::error::{Error, Result};
use crate::formats::bbolt::{Bucket, Db, Value};
use crate::formats::filters::Adaptor;
use crate::formats::gobinary::read_varint;
use crate::formats::gotime::GoTime;
use std::collections::BTreeMap;

/// The only schema containerd has written so far.
pub const SCHEMA_V1: &str = "v1";
/// The newest minor version this reader knows (containerd 2.x writes 4; 1.6 writes 3).
pub const LATEST_DB_VERSION: i64 = 4;

pub type Labels = BTreeMap<String, String>;

/// Everything read from a meta.db.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetaDb {
    /// The `version` key of the `v1` bucket (containerd's dbVersion).
    pub version: i64,
    pub namespaces: BTreeMap<String, NamespaceData>,
}

/// One namespace's objects, each map keyed as in the database (byte order = key order).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NamespaceData {
    pub labels: Labels,
    pub images: BTreeMap<String, ImageRecord>,
    /// Content blobs by digest string (`content/blob/<digest>`).
    pub content: BTreeMap<String, BlobRecord>,
    /// Open ingests by ingest reference (`content/ingests/<ref>`).
    pub ingests: BTreeMap<String, IngestRecord>,
    pub leases: BTreeMap<String, LeaseRecord>,
}

/// `images/<name>`: containerd's `images.Image`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImageRecord {
    pub name: String,
    pub labels: Labels,
    pub target: TargetRecord,
    pub created_at: GoTime,
    pub updated_at: GoTime,
}

/// The stored part of an image's target descriptor (platform, urls, data are never stored).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TargetRecord {
    pub digest: String,
    pub media_type: String,
    pub size: i64,
    /// From the image bucket's `annotations` sub-bucket.
    pub annotations: Labels,
}

/// `content/blob/<digest>`: containerd's `content.Info`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BlobRecord {
    pub digest: String,
    pub size: i64,
    pub created_at: GoTime,
    pub updated_at: GoTime,
    pub labels: Labels,
}

/// `content/ingests/<ref>`: a metadata-level ingest (the data lives in the backend's ingest dir).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IngestRecord {
    /// The client's ingest reference (the bucket key).
    pub reference: String,
    /// The backend ingest ref (`<ns>/<seq>/<ref>` in current containerd).
    pub backend_ref: String,
    pub expire_at: Option<GoTime>,
    /// Expected digest when the writer was opened with a descriptor.
    pub expected: Option<String>,
}

/// `leases/<id>`: a lease and the objects it holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LeaseRecord {
    pub id: String,
    pub created_at: GoTime,
    pub labels: Labels,
    pub content: Vec<String>,
    pub images: Vec<String>,
    pub ingests: Vec<String>,
    /// Snapshot keys by snapshotter.
    pub snapshots: BTreeMap<String, Vec<String>>,
}

/// Reads a whole meta.db file (its bytes) into records.
pub fn read_meta_db(bytes: &[u8]) -> Result<MetaDb> {
    let db = Db::open(bytes).map_err(|e| e.context("meta.db"))?;
    let v1 = db
        .root()
        .bucket(SCHEMA_V1.as_bytes())?
        .ok_or_else(|| Error::unsupported("meta.db: no \"v1\" schema bucket (not a containerd metadata database?)"))?;
    let version = match v1.get_data(b"version")? {
        Some(v) => read_varint(v).map_err(|e| e.context("meta.db v1/version"))?.0,
        None => 0,
    };
    let mut out = MetaDb { version, namespaces: BTreeMap::new() };
    for entry in v1.entries()? {
        // Non-bucket keys (only `version`) are not namespaces.
        let Value::Bucket(ns_bucket) = entry.value else { continue };
        let name = utf8(entry.key, "namespace name")?;
        let ns = read_namespace(ns_bucket, version).map_err(|e| e.context(format!("meta.db namespace {name:?}")))?;
        out.namespaces.insert(name, ns);
    }
    Ok(out)
}

fn read_namespace(bkt: Bucket, version: i64) -> Result<NamespaceData> {
    let mut ns = NamespaceData { labels: read_map(bkt, "labels")?, ..Default::default() };
    if let Some(images) = bkt.bucket(b"images")? {
        for e in images.entries()? {
            let Value::Bucket(ib) = e.value else { continue };
            let name = utf8(e.key, "image name")?;
            let image = read_image(ib, &name).map_err(|err| err.context(format!("image {name:?}")))?;
            ns.images.insert(name, image);
        }
    }
    if let Some(content) = bkt.bucket(b"content")? {
        if let Some(blobs) = content.bucket(b"blob")? {
            for e in blobs.entries()? {
                let Value::Bucket(bb) = e.value else { continue };
                let digest = utf8(e.key, "blob digest")?;
                let blob = read_blob(bb, &digest).map_err(|err| err.context(format!("content blob {digest}")))?;
                ns.content.insert(digest, blob);
            }
        }
        read_ingests(content, version, &mut ns.ingests)?;
    }
    if let Some(leases) = bkt.bucket(b"leases")? {
        for e in leases.entries()? {
            let Value::Bucket(lb) = e.value else { continue };
            let id = utf8(e.key, "lease id")?;
            let lease = read_lease(lb, &id).map_err(|err| err.context(format!("lease {id:?}")))?;
            ns.leases.insert(id, lease);
        }
    }
    Ok(ns)
}

fn read_image(bkt: Bucket, name: &str) -> Result<ImageRecord> {
    let (created_at, updated_at) = read_timestamps(bkt)?;
    let target_bkt = bkt.bucket(b"target")?.ok_or_else(|| Error::corrupt("unable to read target bucket"))?;
    let mut target = TargetRecord { annotations: read_map(bkt, "annotations")?, ..Default::default() };
    for e in target_bkt.entries()? {
        let Value::Data(v) = e.value else { continue };
        match e.key {
            b"digest" => target.digest = utf8(v, "target digest")?,
            b"mediatype" => target.media_type = utf8(v, "target mediatype")?,
            b"size" => target.size = read_size(v).map_err(|err| err.context("target size"))?,
            _ => {}
        }
    }
    Ok(ImageRecord { name: name.to_string(), labels: read_map(bkt, "labels")?, target, created_at, updated_at })
}

fn read_blob(bkt: Bucket, digest: &str) -> Result<BlobRecord> {
    let (created_at, updated_at) = read_timestamps(bkt)?;
    let size = match bkt.get_data(b"size")? {
        Some(v) if !v.is_empty() => read_size(v).map_err(|e| e.context("size"))?,
        _ => 0,
    };
    Ok(BlobRecord { digest: digest.to_string(), size, created_at, updated_at, labels: read_map(bkt, "labels")? })
}

fn read_ingests(content: Bucket, version: i64, out: &mut BTreeMap<String, IngestRecord>) -> Result<()> {
    if let Some(ingests) = content.bucket(b"ingests")? {
        for e in ingests.entries()? {
            let Value::Bucket(ib) = e.value else { continue };
            let reference = utf8(e.key, "ingest ref")?;
            let rec = read_ingest(ib, &reference).map_err(|err| err.context(format!("ingest {reference:?}")))?;
            out.insert(reference, rec);
        }
    }
    // Before schema version 2 an ingest was a plain `ref -> backend ref` pair in `ingest`.
    if version < 2 {
        if let Some(old) = content.bucket(b"ingest")? {
            for e in old.entries()? {
                let Value::Data(v) = e.value else { continue };
                let reference = utf8(e.key, "ingest ref")?;
                let backend_ref = utf8(v, "ingest backend ref")?;
                out.insert(reference.clone(), IngestRecord { reference, backend_ref, ..Default::default() });
            }
        }
    }
    Ok(())
}

fn read_ingest(bkt: Bucket, reference: &str) -> Result<IngestRecord> {
    let backend_ref = bkt.get_data(b"ref")?.map(|v| utf8(v, "ref")).transpose()?.unwrap_or_default();
    let expire_at =
        bkt.get_data(b"expireat")?.map(|v| GoTime::from_binary(v).map_err(|e| e.context("expireat"))).transpose()?;
    let expected = bkt.get_data(b"expected")?.map(|v| utf8(v, "expected")).transpose()?;
    Ok(IngestRecord { reference: reference.to_string(), backend_ref, expire_at, expected })
}

fn read_lease(bkt: Bucket, id: &str) -> Result<LeaseRecord> {
    let created_at = match bkt.get_data(b"createdat")? {
        Some(v) => GoTime::from_binary(v).map_err(|e| e.context("createdat"))?,
        None => GoTime::ZERO,
    };
    let mut snapshots = BTreeMap::new();
    if let Some(sb) = bkt.bucket(b"snapshots")? {
        for e in sb.entries()? {
            let Value::Bucket(keys) = e.value else { continue };
            snapshots.insert(utf8(e.key, "snapshotter")?, keys_of(Some(keys))?);
        }
    }
    Ok(LeaseRecord {
        id: id.to_string(),
        created_at,
        labels: read_map(bkt, "labels")?,
        content: keys_of(bkt.bucket(b"content")?)?,
        images: keys_of(bkt.bucket(b"images")?)?,
        ingests: keys_of(bkt.bucket(b"ingests")?)?,
        snapshots,
    })
}

/// `createdat`/`updatedat` as boltutil.ReadTimestamps: absent = zero time, bad bytes = error.
fn read_timestamps(bkt: Bucket) -> Result<(GoTime, GoTime)> {
    let read = |key: &str| -> Result<GoTime> {
        match bkt.get_data(key.as_bytes())? {
            Some(v) => GoTime::from_binary(v).map_err(|e| e.context(key)),
            None => Ok(GoTime::ZERO),
        }
    };
    Ok((read("createdat")?, read("updatedat")?))
}

fn read_size(v: &[u8]) -> Result<i64> {
    Ok(read_varint(v)?.0)
}

/// A `labels`/`annotations` sub-bucket as a map (absent = empty). Like containerd's readMap,
/// a nested bucket inside counts as an empty value.
fn read_map(bkt: Bucket, name: &str) -> Result<Labels> {
    let mut out = Labels::new();
    if let Some(m) = bkt.bucket(name.as_bytes())? {
        for e in m.entries()? {
            let value = match e.value {
                Value::Data(v) => utf8(v, name)?,
                Value::Bucket(_) => String::new(),
            };
            out.insert(utf8(e.key, name)?, value);
        }
    }
    Ok(out)
}

fn keys_of(bkt: Option<Bucket>) -> Result<Vec<String>> {
    let Some(bkt) = bkt else { return Ok(Vec::new()) };
    bkt.entries()?.into_iter().map(|e| utf8(e.key, "key")).collect()
}

/// Go strings may hold any bytes; ours are UTF-8, so non-UTF-8 names or values are reported.
fn utf8(bytes: &[u8], what: &str) -> Result<String> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| Error::unsupported(format!("{what} is not valid UTF-8: {:?}", String::from_utf8_lossy(bytes))))
}

/// Looks a dotted map key up as containerd's checkMap: an empty map has nothing.
fn map_field(path: &[String], map: &Labels) -> Option<String> {
    if map.is_empty() {
        return None;
    }
    map.get(&path.join(".")).cloned()
}

/// The filter fields of `ctr images ls` / images.List (containerd adaptImage).
impl Adaptor for ImageRecord {
    fn field(&self, path: &[String]) -> Option<String> {
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        match path.first()?.as_str() {
            "name" => non_empty(&self.name),
            "target" => match path.get(1)?.as_str() {
                "digest" => non_empty(&self.target.digest),
                "mediatype" => non_empty(&self.target.media_type),
                _ => None,
            },
            "labels" => map_field(&path[1..], &self.labels),
            "annotations" => map_field(&path[1..], &self.target.annotations),
            _ => None,
        }
    }
}

/// The filter fields of content Walk (containerd content.AdaptInfo): `size` is recognised but
/// never present.
impl Adaptor for BlobRecord {
    fn field(&self, path: &[String]) -> Option<String> {
        match path.first()?.as_str() {
            "digest" => Some(self.digest.clone()),
            "labels" => map_field(&path[1..], &self.labels),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> Vec<String> {
        s.split('.').map(String::from).collect()
    }

    #[test]
    fn image_adaptor_fields() {
        let img = ImageRecord {
            name: "docker.io/a:1".into(),
            labels: [("a.b".to_string(), "x".to_string())].into(),
            target: TargetRecord { digest: "sha256:00".into(), media_type: "m".into(), ..Default::default() },
            ..Default::default()
        };
        assert_eq!(img.field(&path("name")).as_deref(), Some("docker.io/a:1"));
        assert_eq!(img.field(&path("target.digest")).as_deref(), Some("sha256:00"));
        assert_eq!(img.field(&path("target")), None);
        assert_eq!(img.field(&path("labels.a.b")).as_deref(), Some("x"));
        assert_eq!(img.field(&path("annotations.x")), None);
        assert_eq!(img.field(&path("size")), None);
        let blob = BlobRecord { digest: "sha256:11".into(), size: 5, ..Default::default() };
        assert_eq!(blob.field(&path("digest")).as_deref(), Some("sha256:11"));
        assert_eq!(blob.field(&path("size")), None);
    }
}
