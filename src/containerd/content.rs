//! The content store of one namespace (containerd core/metadata/content.go over the local
//! store): per-namespace info records over blobs shared by digest, and ingests (writers that
//! stream a blob in and commit it under its digest).
//!
//! Differences forced by the platform, kept small: ingest locks live in memory (as in
//! containerd's local store), and an ingest left behind by a closed writer cannot be resumed
//! (its hash state is gone): a new writer on the same ref starts again from offset 0.

use super::errdefs::{self, go_quote};
use super::labels::{self, Labels};
use super::{ensure_namespace_ops, read_record, IngestLock, IngestLocks};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::formats::gotime::GoTime;
use crate::schema::containerd as schema;
use crate::storage::blobs::{self, BlobWriter};
use crate::storage::{decode_record, Backend, Op, Space};
use serde::{Deserialize, Serialize};

/// How long an ingest stays a GC root after it was opened (containerd: 24 hours).
const INGEST_EXPIRY_SECS: i64 = 24 * 3600;

/// What the store knows about one blob in a namespace (containerd's `content.Info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Info {
    pub digest: Digest,
    pub size: i64,
    pub created_at: GoTime,
    pub updated_at: GoTime,
    #[serde(default)]
    pub labels: Labels,
}

impl Info {
    /// The filter-language fields of content (containerd's `AdaptInfo`): `digest` and
    /// `labels.<k>`; `size` is recognised but never present.
    pub fn field(&self, path: &[String]) -> Option<String> {
        match path.first()?.as_str() {
            "digest" => Some(self.digest.to_string()),
            "labels" => labels::lookup(&self.labels, &path[1..]),
            _ => None,
        }
    }
}

impl crate::formats::filters::Adaptor for Info {
    fn field(&self, path: &[String]) -> Option<String> {
        Info::field(self, path)
    }
}

/// The progress of an ingest (containerd's `content.Status`). `expected` stays empty, as the
/// local store never fills it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    #[serde(rename = "ref")]
    pub reference: String,
    pub offset: u64,
    pub total: u64,
    pub expected: Option<Digest>,
    pub started_at: GoTime,
    pub updated_at: GoTime,
}

impl Status {
    /// The one filter field of ingests: `ref`.
    pub fn field(&self, path: &[String]) -> Option<String> {
        match path {
            [f] if f == "ref" => Some(self.reference.clone()),
            _ => None,
        }
    }
}

impl crate::formats::filters::Adaptor for Status {
    fn field(&self, path: &[String]) -> Option<String> {
        Status::field(self, path)
    }
}

/// Stored under `ctrd/<ns>/content/<digest>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContentRecord {
    size: i64,
    pub(crate) created_at: GoTime,
    updated_at: GoTime,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub(crate) labels: Labels,
}

/// Stored under `ctrd/<ns>/ingest/<ref>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IngestRecord {
    pub offset: u64,
    pub total: u64,
    pub started_at: GoTime,
    pub updated_at: GoTime,
    pub expire_at: GoTime,
}

fn content_key(ns: &str, d: &Digest) -> String {
    schema::content(ns, d)
}
fn ingest_key(ns: &str, reference: &str) -> String {
    schema::ingest(ns, reference)
}

/// The operation that stores `info` in namespace `ns` as is (timestamps included): for
/// importers, which commit it together with the blob's staged operations.
pub fn put_info_op(ns: &str, info: &Info) -> Op {
    let rec = ContentRecord {
        size: info.size,
        created_at: info.created_at,
        updated_at: info.updated_at,
        labels: labels::without_empty(info.labels.clone()),
    };
    Op::put_record(content_key(ns, &info.digest), &rec)
}

fn not_found_digest(d: &Digest) -> Error {
    errdefs::not_found(format!("content digest {d}"))
}
fn not_found_ref(reference: &str) -> Error {
    errdefs::not_found(format!("reference {reference}"))
}

/// The content store of one namespace.
#[derive(Clone)]
pub struct ContentStore<B> {
    backend: B,
    ns: String,
    locks: IngestLocks,
}

impl<B: Backend + Clone> ContentStore<B> {
    pub(crate) fn new(backend: B, ns: String, locks: IngestLocks) -> Self {
        ContentStore { backend, ns, locks }
    }

    pub fn namespace(&self) -> &str {
        &self.ns
    }

    async fn record(&self, d: &Digest) -> Result<Option<ContentRecord>> {
        read_record(&self.backend, &content_key(&self.ns, d)).await
    }

    pub async fn info(&self, d: &Digest) -> Result<Info> {
        let rec = self.record(d).await?.ok_or_else(|| not_found_digest(d))?;
        Ok(to_info(d.clone(), rec))
    }

    /// [`ContentStore::update`] given only the digest and the labels (what the JS API takes):
    /// the info's other fields are the stored ones; a missing blob is `not_found`.
    pub async fn update_labels(&self, d: &Digest, labels: Labels, fieldpaths: &[&str]) -> Result<Info> {
        let mut info = self.info(d).await?;
        info.labels = labels;
        self.update(&info, fieldpaths).await
    }

    /// Updates labels. `fieldpaths`: `labels` (replace all) or `labels.<k>` (one label; an
    /// empty value removes it); none = replace all labels; anything else is invalid. Decided on
    /// the record as stored when it commits (a compare-and-swap, decided again if another tab or
    /// call changed the record in between), so two callers changing different keys both keep theirs.
    pub async fn update(&self, info: &Info, fieldpaths: &[&str]) -> Result<Info> {
        let d = &info.digest;
        let key = content_key(&self.ns, d);
        let rec = super::label_merge::update_record(
            &self.backend,
            &key,
            || not_found_digest(d),
            |mut rec: ContentRecord| {
                if fieldpaths.is_empty() {
                    rec.labels = info.labels.clone();
                }
                for path in fieldpaths {
                    if let Some(key) = path.strip_prefix("labels.") {
                        rec.labels.insert(key.to_string(), info.labels.get(key).cloned().unwrap_or_default());
                    } else if *path == "labels" {
                        rec.labels = info.labels.clone();
                    } else {
                        return Err(errdefs::invalid_argument(format!(
                            "cannot update {} field on content info {}",
                            go_quote(path),
                            go_quote(d.as_str())
                        )));
                    }
                }
                labels::validate_all(&rec.labels, "info.Labels")?;
                rec.labels = labels::without_empty(rec.labels);
                rec.updated_at = crate::storage::now();
                Ok(rec)
            },
        )
        .await?;
        Ok(to_info(d.clone(), rec))
    }

    /// All content of the namespace that `keep` accepts, in digest (byte) order. Keys that are
    /// not digests are skipped, as containerd's Walk does.
    pub async fn walk(&self, keep: impl Fn(&Info) -> bool) -> Result<Vec<Info>> {
        let prefix = schema::contents(&self.ns);
        let mut out = Vec::new();
        for (key, value) in self.backend.scan(Space::Meta, &prefix).await? {
            let Ok(d) = Digest::parse(&key[prefix.len()..]) else { continue };
            let info = to_info(d, decode_record(&key, &value)?);
            if keep(&info) {
                out.push(info);
            }
        }
        Ok(out)
    }

    /// [`walk`](Self::walk) with containerd filter strings (any of them; none = all).
    pub async fn walk_filtered<S: AsRef<str>>(&self, filters: &[S]) -> Result<Vec<Info>> {
        let f = crate::formats::filters::parse_all(filters)?;
        self.walk(|info| f.matches(info)).await
    }

    /// Removes the content from this namespace. The bytes stay until GC finds no namespace
    /// (and no Docker record) using them.
    pub async fn delete(&self, d: &Digest) -> Result<()> {
        if self.record(d).await?.is_none() {
            return Err(not_found_digest(d));
        }
        self.backend.commit(vec![Op::delete_meta(content_key(&self.ns, d))]).await
    }

    /// Reads `len` bytes from `offset` (clamped to the end) of content in this namespace.
    pub async fn read(&self, d: &Digest, offset: u64, len: u64) -> Result<Vec<u8>> {
        if self.record(d).await?.is_none() {
            return Err(not_found_digest(d));
        }
        blobs::read_range(&self.backend, d, offset, len).await
    }

    /// Reads a whole blob of this namespace.
    pub async fn read_all(&self, d: &Digest) -> Result<Vec<u8>> {
        self.read(d, 0, u64::MAX).await
    }

    /// Opens an ingest. `expected_digest`, if given, must not be in the namespace yet;
    /// `expected_size` (0 = unknown) is reported as the status total.
    pub async fn writer(
        &self,
        reference: &str,
        expected_digest: Option<&Digest>,
        expected_size: u64,
    ) -> Result<ContentWriter<B>> {
        if reference.is_empty() {
            return Err(errdefs::invalid_argument("ref must not be empty"));
        }
        if let Some(d) = expected_digest {
            if self.record(d).await?.is_some() {
                return Err(errdefs::already_exists(format!("content {d}")));
            }
        }
        let lock = self.locks.try_lock(&format!("{}/{reference}", self.ns))?;
        let now = crate::storage::now();
        let rec = IngestRecord {
            offset: 0,
            total: expected_size,
            started_at: now,
            updated_at: now,
            expire_at: now.plus_secs(INGEST_EXPIRY_SECS),
        };
        let mut ops = ensure_namespace_ops(&self.backend, &self.ns).await?;
        ops.push(Op::put_record(ingest_key(&self.ns, reference), &rec));
        self.backend.commit(ops).await?;
        Ok(ContentWriter {
            store: self.clone(),
            reference: reference.to_string(),
            rec,
            blob: BlobWriter::new(),
            _lock: lock,
        })
    }

    async fn ingest(&self, reference: &str) -> Result<Option<IngestRecord>> {
        read_record(&self.backend, &ingest_key(&self.ns, reference)).await
    }

    pub async fn status(&self, reference: &str) -> Result<Status> {
        let rec = self.ingest(reference).await?.ok_or_else(|| not_found_ref(reference))?;
        Ok(to_status(reference, &rec))
    }

    /// The ingests of the namespace that `keep` accepts (filter field: `ref`).
    pub async fn list_statuses(&self, keep: impl Fn(&Status) -> bool) -> Result<Vec<Status>> {
        let prefix = schema::ingests(&self.ns);
        let mut out = Vec::new();
        for (key, value) in self.backend.scan(Space::Meta, &prefix).await? {
            let status = to_status(&key[prefix.len()..], &decode_record(&key, &value)?);
            if keep(&status) {
                out.push(status);
            }
        }
        Ok(out)
    }

    /// [`list_statuses`](Self::list_statuses) with containerd filter strings (field `ref`).
    pub async fn list_statuses_filtered<S: AsRef<str>>(&self, filters: &[S]) -> Result<Vec<Status>> {
        let f = crate::formats::filters::parse_all(filters)?;
        self.list_statuses(|s| f.matches(s)).await
    }

    /// Drops an ingest. A writer still open on it fails on its next write or commit.
    pub async fn abort(&self, reference: &str) -> Result<()> {
        if self.ingest(reference).await?.is_none() {
            return Err(not_found_ref(reference));
        }
        self.backend.commit(vec![Op::delete_meta(ingest_key(&self.ns, reference))]).await
    }
}

/// Reads the info of `d` in namespace `ns` straight from the backend (for importers, which
/// merge into what is there).
pub(crate) async fn read_info<B: Backend>(b: &B, ns: &str, d: &Digest) -> Result<Option<Info>> {
    Ok(read_record::<B, ContentRecord>(b, &content_key(ns, d)).await?.map(|rec| to_info(d.clone(), rec)))
}

pub(crate) fn to_info(digest: Digest, rec: ContentRecord) -> Info {
    Info { digest, size: rec.size, created_at: rec.created_at, updated_at: rec.updated_at, labels: rec.labels }
}

fn to_status(reference: &str, rec: &IngestRecord) -> Status {
    Status {
        reference: reference.to_string(),
        offset: rec.offset,
        total: rec.total,
        expected: None,
        started_at: rec.started_at,
        updated_at: rec.updated_at,
    }
}

/// Drops a writer's chunks and returns `e`. If dropping fails the chunks are orphans that
/// `blobs::sweep_orphans` removes later, so `e` is still what the caller needs to see.
async fn drop_chunks_then_fail<B: Backend>(b: &B, set: &str, e: Error) -> Result<Info> {
    let _ = blobs::discard(b, set).await;
    Err(e)
}

/// An open ingest: bytes stream into chunks while being hashed; [`ContentWriter::commit`]
/// publishes them under their digest. Holds the ref's lock until committed or dropped.
pub struct ContentWriter<B> {
    store: ContentStore<B>,
    reference: String,
    rec: IngestRecord,
    blob: BlobWriter,
    _lock: IngestLock,
}

impl<B: Backend + Clone> ContentWriter<B> {
    pub fn reference(&self) -> &str {
        &self.reference
    }

    pub fn status(&self) -> Status {
        to_status(&self.reference, &self.rec)
    }

    fn key(&self) -> String {
        ingest_key(&self.store.ns, &self.reference)
    }

    pub async fn write(&mut self, data: &[u8]) -> Result<()> {
        if self.store.ingest(&self.reference).await?.is_none() {
            return Err(not_found_ref(&self.reference));
        }
        self.blob.write(&self.store.backend, data).await?;
        self.rec.offset += data.len() as u64;
        self.rec.updated_at = crate::storage::now();
        self.store.backend.commit(vec![Op::put_record(self.key(), &self.rec)]).await
    }

    /// Commits the written bytes as content of the namespace, with `labels`. `size` (0 = don't
    /// check) and `expected` must match what was written, else `failed_precondition` and
    /// nothing is committed (the ingest's status stays, as in containerd). Content that is
    /// already in the namespace gives `already_exists` and ends the ingest.
    pub async fn commit(self, size: u64, expected: Option<&Digest>, labels: Labels) -> Result<Info> {
        let backend = self.store.backend.clone();
        let (ns, reference, key) = (self.store.ns.clone(), self.reference.clone(), self.key());
        let offset = self.rec.offset;
        let staged = self.blob.finish(&backend, None, None).await?;
        let fail = |e: Error| drop_chunks_then_fail(&backend, &staged.set, e);
        if let Err(e) = labels::validate_all(&labels, "info.Labels") {
            return fail(e).await;
        }
        if backend.get(Space::Meta, &key).await?.is_none() {
            return fail(not_found_ref(&reference)).await;
        }
        if size != 0 && size != offset {
            return fail(errdefs::failed_precondition(format!(
                "{} failed size validation: {offset} != {size}",
                go_quote(&reference)
            )))
            .await;
        }
        if let Some(want) = expected {
            if *want != staged.digest {
                return fail(errdefs::failed_precondition(format!(
                    "unexpected commit digest {}, expected {want}",
                    staged.digest
                )))
                .await;
            }
        }
        let d = staged.digest.clone();
        let ckey = content_key(&ns, &d);
        if backend.get(Space::Meta, &ckey).await?.is_some() {
            backend.commit(vec![Op::delete_meta(key)]).await?;
            return fail(errdefs::already_exists(format!("content {d}"))).await;
        }
        let now = crate::storage::now();
        let info = Info {
            digest: d.clone(),
            size: offset as i64,
            created_at: now,
            updated_at: now,
            labels: labels::without_empty(labels),
        };
        let mut ops = ensure_namespace_ops(&backend, &ns).await?;
        ops.push(Op::RequireAbsent { space: Space::Meta, key: ckey });
        // The bytes may already be stored (another namespace, the Docker view): then ours are
        // redundant and only the namespace's record is added.
        let blob_known = blobs::stat(&backend, &d).await?.is_some();
        if !blob_known {
            ops.extend(staged.ops.iter().cloned());
        }
        ops.push(put_info_op(&ns, &info));
        ops.push(Op::delete_meta(key));
        if let Err(e) = backend.commit(ops).await {
            return fail(e).await;
        }
        if blob_known {
            let _ = blobs::discard(&backend, &staged.set).await;
        }
        Ok(info)
    }

    /// Closes the writer without committing: the bytes are dropped, the ingest's status stays
    /// until it is aborted or expires.
    pub async fn close(self) -> Result<()> {
        let staged = self.blob.finish(&self.store.backend, None, None).await?;
        blobs::discard(&self.store.backend, &staged.set).await
    }
}
