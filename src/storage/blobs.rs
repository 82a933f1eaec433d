//! Content blobs stored by digest, in fixed-size chunks so that a large blob never needs one
//! huge allocation and can be read by range.
//!
//! Layout: the chunks of a blob live in [`Space::Chunks`] under `<set id>/<index>`, written in
//! their own small commits while the data streams in. The blob becomes visible only when its
//! record (`crate::schema::blob`, in [`Space::Meta`]) is committed, usually in the same transaction as
//! the metadata that refers to it. Chunk sets that no record points to are orphans from a
//! failed or cancelled write, or of a tab that was closed mid-import; [`sweep_orphans`] removes
//! them, asking [`super::sessions`] which sets may still be in use.
//!
//! A small blob staged in the commit that publishes it (an import's configs and tar-splits) has
//! no chunks ([`INLINE_MAX`]): it is staged as a record holding its bytes, which the commit
//! turns into an entry of a blob pack ([`super::blob_packs`]), many blobs to a record.
//! IndexedDB's cost is mostly per record, and an import of 10,000 images stages about 13,000
//! such blobs.
//!
//! A stored blob is never published again: publishing a digest that already has a record would
//! orphan the old record's chunks. Every commit that publishes or deletes blobs passes through
//! [`blob_packs::pack_commit`] on the current data (under a generation guard, see
//! [`super::generation`]), which drops such a copy so that its writer discards it.

use super::{blob_packs, fresh_id, generation, now_millis, sessions, Backend, HostBytes, Op, SharedBytes, Space};
use crate::digest::{Digest, PendingDigest, Sha256Hasher};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::rc::Rc;

/// Size of one stored chunk. Also the bound on the write buffer.
pub const CHUNK_SIZE: usize = 1 << 20;

/// Orphan chunk sets of another session younger than this are left alone where it cannot be
/// known whether that session still runs (no Web Locks): it may still be writing them.
pub const ORPHAN_GRACE_MILLIS: u64 = 60 * 60 * 1000;

/// Blobs up to this size staged in their commit ([`stage_in_commit`],
/// [`BlobWriter::finish_in_commit`]) are kept inside their record. Small enough that reading a
/// record to learn whether a blob is stored stays cheap.
pub const INLINE_MAX: usize = 64 << 10;

/// The first byte of a record that holds its blob's bytes; the bytes follow it. A JSON record
/// starts with `{`, so the two forms cannot be taken for each other.
pub(super) const INLINE_TAG: u8 = 0;

/// The committed record of a blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRecord {
    pub size: u64,
    /// The chunk set holding the bytes (`<set>/<index>` keys); empty for an empty blob and for
    /// one kept in its record.
    pub chunks: String,
    pub chunk_size: u64,
    /// The bytes themselves, for a blob kept in its record (not part of the JSON form).
    #[serde(skip)]
    pub inline: Option<Vec<u8>>,
}

impl BlobRecord {
    /// A record holding its blob's bytes.
    fn inline(bytes: Vec<u8>) -> BlobRecord {
        BlobRecord {
            size: bytes.len() as u64,
            chunks: String::new(),
            chunk_size: CHUNK_SIZE as u64,
            inline: Some(bytes),
        }
    }

    /// A record pointing at chunk set `set` (none for an empty blob).
    fn chunked(size: u64, set: &str) -> BlobRecord {
        let chunks = if size == 0 { String::new() } else { set.to_string() };
        BlobRecord { size, chunks, chunk_size: CHUNK_SIZE as u64, inline: None }
    }

    /// The stored form: JSON, or [`INLINE_TAG`] and the bytes.
    pub fn encode(&self) -> Vec<u8> {
        match &self.inline {
            Some(bytes) => inline_value(bytes),
            None => serde_json::to_vec(self).expect("records serialise"),
        }
    }

    /// Reads a stored record; a bad one is `data_corrupt`, naming `key`.
    pub fn decode(key: &str, value: &[u8]) -> Result<BlobRecord> {
        match value.split_first() {
            Some((&INLINE_TAG, bytes)) => Ok(BlobRecord::inline(bytes.to_vec())),
            _ => super::decode_record(key, value),
        }
    }

    /// The chunk set of a stored record, without copying an inline blob's bytes (`""` for none,
    /// `None` for a record that does not read).
    pub(super) fn chunk_set_of(value: &[u8]) -> Option<String> {
        match value.first() {
            Some(&INLINE_TAG) => Some(String::new()),
            _ => serde_json::from_slice::<BlobRecord>(value).ok().map(|r| r.chunks),
        }
    }
}

/// The stored form of a record holding `bytes` (see [`BlobRecord::encode`]).
fn inline_value(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + bytes.len());
    out.push(INLINE_TAG);
    out.extend_from_slice(bytes);
    out
}

pub fn record_key(d: &Digest) -> String {
    crate::schema::blob(d)
}

/// The operation that publishes `rec` as the record of `d`.
fn publish_op(d: &Digest, rec: &BlobRecord) -> Op {
    Op::put_meta(record_key(d), rec.encode())
}

fn chunk_key(set: &str, index: u64) -> String {
    format!("{set}/{index:010}")
}

/// Reads a blob's record, or `None` if the blob is not stored: its single record (a chunked
/// blob, or a small one an earlier version kept in its record) or its entry in a pack (see
/// [`super::blob_packs`]), both asked at once.
pub async fn stat<B: Backend>(b: &B, d: &Digest) -> Result<Option<BlobRecord>> {
    let key = record_key(d);
    let (single, packed) = futures::future::try_join(b.get(Space::Meta, &key), blob_packs::find_packed(b, d)).await?;
    if let Some(v) = single {
        return BlobRecord::decode(&key, &v).map(Some);
    }
    Ok(packed.map(BlobRecord::inline))
}

/// Reads many whole blobs (a store-wide read of configs or tar-splits): like [`read_all`], but
/// a pack is read once for the blobs of it asked one after another (ask in
/// [`blob_packs::pack_order`]).
#[derive(Default)]
pub struct BulkReader {
    packs: blob_packs::PackReader,
}

impl BulkReader {
    pub fn new() -> BulkReader {
        BulkReader::default()
    }

    /// Blob `d`'s bytes (`not_found` if it is not stored).
    pub async fn read_all<B: Backend>(&self, b: &B, d: &Digest) -> Result<Vec<u8>> {
        // Either copy will do where a blob is both (the bytes are the same).
        match self.packs.get(b, d).await? {
            Some(bytes) => Ok(bytes),
            None => read_all(b, d).await,
        }
    }
}

/// Above this many questions, [`Stored`] lists every blob record key in one read instead of
/// one read per blob (an IndexedDB read is a transaction of its own).
const ONE_BY_ONE_MAX: usize = 32;

/// Which blobs are stored, asked for many at once (an import's configs and tar-splits).
pub enum Stored {
    /// Every single blob record key (`blob/<digest>`), read once, and the packs.
    All(std::collections::HashSet<String>, blob_packs::PackIndex),
    /// Few questions: each is one read.
    OneByOne,
}

impl Stored {
    /// Prepares to answer about `count` blobs.
    pub async fn prepare<B: Backend>(b: &B, count: usize) -> Result<Stored> {
        if count <= ONE_BY_ONE_MAX {
            return Ok(Stored::OneByOne);
        }
        let (keys, packs) =
            futures::future::try_join(b.keys(Space::Meta, crate::schema::BLOBS), blob_packs::PackIndex::list(b))
                .await?;
        Ok(Stored::All(keys.into_iter().collect(), packs))
    }

    /// Prepares to answer [`Stored::has_key`] only, for `count` keys (packs are not read).
    pub(super) async fn prepare_single_records<B: Backend>(b: &B, count: usize) -> Result<Stored> {
        if count <= ONE_BY_ONE_MAX {
            return Ok(Stored::OneByOne);
        }
        let keys = b.keys(Space::Meta, crate::schema::BLOBS).await?;
        Ok(Stored::All(keys.into_iter().collect(), blob_packs::PackIndex::none()))
    }

    /// Whether a single blob record `key` ([`record_key`]) exists (a blob kept in a pack has none).
    pub async fn has_key<B: Backend>(&self, b: &B, key: &str) -> Result<bool> {
        match self {
            Stored::All(keys, _) => Ok(keys.contains(key)),
            Stored::OneByOne => Ok(b.get(Space::Meta, key).await?.is_some()),
        }
    }

    /// Whether blob `d` is stored, as a single record or in a pack.
    pub async fn has<B: Backend>(&self, b: &B, d: &Digest) -> Result<bool> {
        match self {
            Stored::All(keys, packs) => Ok(keys.contains(&record_key(d)) || packs.contains(b, d).await?),
            Stored::OneByOne => Ok(stat(b, d).await?.is_some()),
        }
    }
}

/// Reads `len` bytes from `offset` (clamped to the blob's end).
pub async fn read_range<B: Backend>(b: &B, d: &Digest, offset: u64, len: u64) -> Result<Vec<u8>> {
    let rec = stat(b, d).await?.ok_or_else(|| Error::not_found(format!("content {d}: not found")))?;
    read_chunks(b, d, &rec, offset, len).await
}

/// Reads `len` bytes from `offset` of a blob that is staged but not yet published (importers
/// read back what they streamed in, e.g. to parse a manifest once they know it is one).
pub async fn read_staged<B: Backend>(b: &B, staged: &StagedBlob, offset: u64, len: u64) -> Result<Vec<u8>> {
    // A blob staged in its commit ([`stage_in_commit`], [`BlobWriter::finish_in_commit`]) has
    // its one chunk among its operations, not in storage.
    let in_commit = staged.ops.iter().find_map(|op| match op {
        Op::Put { space: Space::Chunks, key, value } if key == &chunk_key(&staged.set, 0) => Some(value),
        _ => None,
    });
    // One kept in its record has its bytes in the record's operation.
    let key = record_key(&staged.digest);
    let in_record = || {
        staged.ops.iter().find_map(|op| match op {
            Op::Put { space: Space::Meta, key: k, value } if *k == key && value.first() == Some(&INLINE_TAG) => {
                Some(&value[1..])
            }
            _ => None,
        })
    };
    if let Some(bytes) = in_commit.map(|c| &c[..]).or_else(in_record) {
        return Ok(slice_of(bytes, staged.size, offset, len).to_vec());
    }
    let rec = BlobRecord::chunked(staged.size, &staged.set);
    read_chunks(b, &staged.digest, &rec, offset, len).await
}

/// `len` bytes from `offset` of a blob of `size` bytes held whole in `bytes`.
fn slice_of(bytes: &[u8], size: u64, offset: u64, len: u64) -> &[u8] {
    let end = size.min(bytes.len() as u64).min(offset.saturating_add(len));
    if offset >= end {
        &[]
    } else {
        &bytes[offset as usize..end as usize]
    }
}

/// Reads `len` bytes from `offset` of a blob whose record the caller already has (a reader that
/// pulls a blob piece by piece asks for the record once).
pub async fn read_range_of<B: Backend>(b: &B, d: &Digest, rec: &BlobRecord, offset: u64, len: u64) -> Result<Vec<u8>> {
    read_chunks(b, d, rec, offset, len).await
}

async fn read_chunks<B: Backend>(b: &B, d: &Digest, rec: &BlobRecord, offset: u64, len: u64) -> Result<Vec<u8>> {
    if let Some(bytes) = &rec.inline {
        return Ok(slice_of(bytes, rec.size, offset, len).to_vec());
    }
    let end = rec.size.min(offset.saturating_add(len));
    if offset >= end {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity((end - offset) as usize);
    let cs = rec.chunk_size;
    if cs == 0 {
        return Err(Error::corrupt(format!("content {d}: chunk size 0")));
    }
    for i in offset / cs..=(end - 1) / cs {
        let key = chunk_key(&rec.chunks, i);
        let chunk = b
            .get(Space::Chunks, &key)
            .await?
            .ok_or_else(|| Error::corrupt(format!("content {d}: chunk {i} is missing")))?;
        let c0 = i * cs;
        let from = offset.saturating_sub(c0) as usize;
        let to = ((end - c0) as usize).min(chunk.len());
        if from > to {
            return Err(Error::corrupt(format!("content {d}: chunk {i} is short")));
        }
        out.extend_from_slice(&chunk[from..to]);
    }
    Ok(out)
}

/// Reads a whole blob.
pub async fn read_all<B: Backend>(b: &B, d: &Digest) -> Result<Vec<u8>> {
    read_range(b, d, 0, u64::MAX).await
}

/// Streams bytes into chunks while hashing them. [`BlobWriter::finish`] checks the digest and
/// returns the operations that make the blob visible; the caller commits them together with
/// its metadata. Memory use is bounded by one chunk.
pub struct BlobWriter {
    set: String,
    buf: Vec<u8>,
    next_index: u64,
    written: u64,
    digest: Digesting,
    /// The upload, and where in it these bytes start, when the host holds them: chunks after
    /// the first are stored from its slices by a backend that takes them (the set's first goes
    /// as bytes, with the session marker every staging set's first chunk carries).
    host: Option<(Rc<dyn HostBytes>, u64)>,
}

/// Where a [`BlobWriter`]'s digest comes from.
enum Digesting {
    /// Hashed here, as the bytes are written.
    Streaming(Sha256Hasher),
    /// Worked out by the host from the same bytes (see [`HostBytes`]): the
    /// writer only counts them.
    Host(PendingDigest),
}

/// A blob whose bytes are written but not yet visible: commit `ops` to publish it.
#[derive(Debug, Clone)]
pub struct StagedBlob {
    pub digest: Digest,
    pub size: u64,
    pub ops: Vec<Op>,
    /// The chunk set, for [`discard`] if the caller gives up instead.
    pub set: String,
}

impl Default for BlobWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl BlobWriter {
    pub fn new() -> Self {
        let set = fresh_id();
        sessions::staging(&set);
        BlobWriter {
            set,
            buf: Vec::new(),
            next_index: 0,
            written: 0,
            digest: Digesting::Streaming(Sha256Hasher::new()),
            host: None,
        }
    }

    /// The writer of bytes `start..start + len` of the upload the host holds: if the host will
    /// hash them (see [`HostBytes`]), the writer does not, and [`finish`] waits for the host's
    /// digest (a failed one fails the blob); the chunks after the first then come from the
    /// host's slices for a backend that stores them. Otherwise a plain writer.
    ///
    /// [`finish`]: BlobWriter::finish
    pub fn for_upload_range(upload: &Rc<dyn HostBytes>, start: u64, len: u64) -> Self {
        match upload.sha256_of_range(start, start + len) {
            Some(digest) => {
                BlobWriter { digest: Digesting::Host(digest), host: Some((upload.clone(), start)), ..Self::new() }
            }
            None => Self::new(),
        }
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    pub async fn write<B: Backend>(&mut self, b: &B, mut data: &[u8]) -> Result<()> {
        if let Digesting::Streaming(hasher) = &mut self.digest {
            hasher.update(data);
        }
        while !data.is_empty() {
            if self.chunk_from_host(b) {
                // The bytes are only counted: each full chunk is stored from the upload.
                self.written += data.len() as u64;
                while self.written >= (self.next_index + 1) * CHUNK_SIZE as u64 {
                    self.put_host_chunk(b).await?;
                }
                return Ok(());
            }
            let take = (CHUNK_SIZE - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            self.written += take as u64;
            data = &data[take..];
            if self.buf.len() == CHUNK_SIZE {
                self.flush(b).await?;
            }
        }
        Ok(())
    }

    /// Whether the chunk being written comes from the host's slice of the upload.
    fn chunk_from_host<B: Backend>(&self, b: &B) -> bool {
        self.next_index > 0 && self.host.is_some() && b.takes_host_chunks()
    }

    /// Stores chunk `next_index` (full, or the last) from the upload's slice.
    async fn put_host_chunk<B: Backend>(&mut self, b: &B) -> Result<()> {
        let (upload, start) = self.host.as_ref().expect("a host writer");
        let from = self.next_index * CHUNK_SIZE as u64;
        let to = (from + CHUNK_SIZE as u64).min(self.written);
        b.put_host_chunk(chunk_key(&self.set, self.next_index), upload.slice(start + from, start + to)).await?;
        self.next_index += 1;
        Ok(())
    }

    async fn flush<B: Backend>(&mut self, b: &B) -> Result<()> {
        if self.chunk_from_host(b) {
            if self.written > self.next_index * CHUNK_SIZE as u64 {
                self.put_host_chunk(b).await?;
            }
            return Ok(());
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.buf);
        b.put_chunk(Op::put(Space::Chunks, chunk_key(&self.set, self.next_index), chunk)).await?;
        self.next_index += 1;
        Ok(())
    }

    /// Gives up: deletes the chunks written so far.
    pub async fn abort<B: Backend>(self, b: &B) -> Result<()> {
        // A failed chunk write of this set does not matter any more: the set goes.
        let _ = b.settle_chunks(&self.set).await;
        discard(b, &self.set).await
    }

    /// Flushes the last chunk and checks the content against `expected` (digest and/or size).
    /// On a mismatch the chunks are deleted and a `data_corrupt` error names both digests.
    pub async fn finish<B: Backend>(
        mut self,
        b: &B,
        expected: Option<&Digest>,
        expected_size: Option<u64>,
    ) -> Result<StagedBlob> {
        self.flush(b).await?;
        if let Err(e) = b.settle_chunks(&self.set).await {
            let _ = discard(b, &self.set).await;
            return Err(e);
        }
        let size = self.written;
        let digest = match self.digest.finish().await {
            Ok(d) => d,
            Err(e) => {
                let _ = discard(b, &self.set).await;
                return Err(e);
            }
        };
        let mismatch = match (expected, expected_size) {
            (Some(want), _) if *want != digest => Some(format!("content is {digest}, expected {want}")),
            (_, Some(want)) if want != size => Some(format!("content has {size} bytes, expected {want}")),
            _ => None,
        };
        if let Some(msg) = mismatch {
            discard(b, &self.set).await?;
            return Err(Error::corrupt(msg));
        }
        let ops = vec![publish_op(&digest, &BlobRecord::chunked(size, &self.set))];
        Ok(StagedBlob { digest, size, ops, set: self.set })
    }
}

impl Digesting {
    async fn finish(self) -> Result<Digest> {
        match self {
            Digesting::Streaming(hasher) => Ok(hasher.finish()),
            Digesting::Host(pending) => pending.await,
        }
    }
}

impl BlobWriter {
    /// Like [`BlobWriter::finish`] with no expectations, but a blob that fits in one chunk (none
    /// written yet) is not written now: it joins the returned publish operations, so it lands in
    /// the commit that publishes it, like [`stage_in_commit`] (an import of 10,000 tar-splits is
    /// one transaction, not 10,000). Larger blobs are finished as usual.
    pub async fn finish_in_commit<B: Backend>(mut self, b: &B) -> Result<StagedBlob> {
        if self.next_index > 0 {
            return self.finish(b, None, None).await;
        }
        let digest = match self.digest.finish().await {
            Ok(d) => d,
            Err(e) => {
                sessions::settled(&self.set);
                return Err(e);
            }
        };
        let chunk = std::mem::take(&mut self.buf);
        // Nothing of this set is in storage: it needs no sweeping protection any more.
        sessions::settled(&self.set);
        Ok(staged_in_commit(digest, chunk, self.set))
    }
}

/// The publish operations of a blob of at most one chunk that is not written yet: its record
/// holding the bytes, or its one chunk and its record when it is larger than [`INLINE_MAX`].
fn staged_in_commit(digest: Digest, bytes: Vec<u8>, set: String) -> StagedBlob {
    let size = bytes.len() as u64;
    if bytes.len() <= INLINE_MAX {
        return staged_inline(digest, &bytes);
    }
    let record = publish_op(&digest, &BlobRecord::chunked(size, &set));
    let ops = vec![Op::put(Space::Chunks, chunk_key(&set, 0), bytes), record];
    StagedBlob { digest, size, ops, set }
}

/// Writes a small in-memory blob and returns its staged publish operations.
pub async fn stage_bytes<B: Backend>(b: &B, bytes: &[u8]) -> Result<StagedBlob> {
    let mut w = BlobWriter::new();
    w.write(b, bytes).await?;
    w.finish(b, None, None).await
}

/// Stages a small blob (at most one chunk) whose digest the caller has just computed, without
/// writing anything: its chunk is one more of the returned publish operations, so it lands in
/// the commit that publishes it (an import of 10,000 configs is one transaction, not 10,000).
/// [`read_staged`] reads it from the operations.
pub fn stage_in_commit(digest: Digest, bytes: &[u8]) -> StagedBlob {
    assert!(bytes.len() <= CHUNK_SIZE, "stage_in_commit takes one chunk at most");
    if bytes.len() <= INLINE_MAX {
        // Straight into its record: the import's 10,000 configs are copied once here, not twice.
        return staged_inline(digest, bytes);
    }
    staged_in_commit(digest, bytes.to_vec(), fresh_id())
}

/// A small blob's bytes gathered behind the byte its record starts with, so that the record is
/// made without copying them: an import's 10,000 configs are copied once, from the upload.
pub struct RecordBuffer(Vec<u8>);

impl RecordBuffer {
    /// Room for `len` bytes (a hint: it grows as needed).
    pub fn with_capacity(len: usize) -> RecordBuffer {
        let mut record = Vec::with_capacity(len.saturating_add(1));
        record.push(INLINE_TAG);
        RecordBuffer(record)
    }

    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    /// The bytes gathered.
    pub fn bytes(&self) -> &[u8] {
        &self.0[1..]
    }

    /// The bytes gathered, shared.
    pub fn into_shared(self) -> SharedBytes {
        SharedBytes::from(self.0).tail(1)
    }
}

/// [`stage_in_commit`] of the bytes of `buf`, whose digest the caller has just computed; also
/// gives the bytes back, shared with the staged record when it holds them (not copied).
pub fn stage_buffer_in_commit(digest: Digest, buf: RecordBuffer) -> (StagedBlob, SharedBytes) {
    let size = buf.bytes().len();
    if size > INLINE_MAX {
        let bytes = buf.into_shared();
        return (stage_in_commit(digest, &bytes), bytes);
    }
    let record = SharedBytes::from(buf.0);
    let op = Op::Put { space: Space::Meta, key: record_key(&digest), value: record.clone() };
    (StagedBlob { digest, size: size as u64, ops: vec![op], set: String::new() }, record.tail(1))
}

/// The publish operation of a blob kept in its record.
fn staged_inline(digest: Digest, bytes: &[u8]) -> StagedBlob {
    let ops = vec![Op::put_meta(record_key(&digest), inline_value(bytes))];
    StagedBlob { digest, size: bytes.len() as u64, ops, set: String::new() }
}

/// Deletes a chunk set that will not be published. If this fails the set is an orphan, which
/// the next sweep removes. An empty set (an empty blob, or one kept in its record) has no chunks:
/// nothing is committed.
pub async fn discard<B: Backend>(b: &B, set: &str) -> Result<()> {
    discard_many(b, &[set.to_string()]).await
}

/// Discards chunk sets after a commit that did not need them. Failures leave orphans for
/// [`sweep_orphans`]: the commit is what matters.
pub async fn discard_all<B: Backend>(b: &B, sets: &[String]) {
    let _ = discard_many(b, sets).await;
}

/// Deletes chunk sets that will not be published, in one commit (an import's unused copies
/// can be thousands of sets).
pub async fn discard_many<B: Backend>(b: &B, sets: &[String]) -> Result<()> {
    let mut ops = Vec::new();
    for set in sets.iter().filter(|s| !s.is_empty()) {
        sessions::settled(set);
        ops.push(Op::DeletePrefix { space: Space::Chunks, prefix: format!("{set}/") });
    }
    if ops.is_empty() {
        return Ok(());
    }
    let result = b.commit(ops).await;
    if result.is_err() {
        sessions::leaked();
    }
    result
}

/// The chunk sets that committing `ops` publishes (blob records) or deletes.
pub fn sets_settled_by(ops: &[Op]) -> Vec<String> {
    let mut out = Vec::new();
    for op in ops {
        match op {
            Op::Put { space: Space::Meta, key, value } if key.starts_with(crate::schema::BLOBS) => {
                out.extend(BlobRecord::chunk_set_of(value));
            }
            Op::DeletePrefix { space: Space::Chunks, prefix } => {
                out.push(prefix.trim_end_matches('/').to_string());
            }
            _ => {}
        }
    }
    out
}

/// Every stored blob's digest, in digest order: single records and pack entries (a blob that
/// is both is listed once).
pub async fn stored_digests<B: Backend>(b: &B) -> Result<Vec<Digest>> {
    let (singles, packs) = futures::future::try_join(
        b.keys(Space::Meta, crate::schema::BLOBS),
        b.scan(Space::Meta, crate::schema::BLOB_PACKS),
    )
    .await?;
    let mut out: std::collections::BTreeSet<Digest> =
        singles.iter().filter_map(|k| crate::schema::blob_digest(k)).collect();
    for (key, record) in packs {
        out.extend(blob_packs::digests(&key, &record)?.into_iter().map(|(d, _)| d));
    }
    Ok(out.into_iter().collect())
}

/// Commits `ops` after [`blob_packs::pack_commit`] (unguarded): what tests and tools that write
/// blobs directly use.
pub async fn commit_packed<B: Backend>(b: &B, mut ops: Vec<Op>) -> Result<()> {
    let duplicates = blob_packs::pack_commit(b, &mut ops).await?;
    b.commit(ops).await?;
    discard_all(b, &duplicates).await;
    Ok(())
}

/// Operations that delete a published blob: its record and its chunks.
pub fn delete_ops(d: &Digest, rec: &BlobRecord) -> Vec<Op> {
    let mut ops = vec![Op::delete_meta(record_key(d))];
    if !rec.chunks.is_empty() {
        ops.push(Op::DeletePrefix { space: Space::Chunks, prefix: format!("{}/", rec.chunks) });
    }
    ops
}

/// Removes chunk sets that no blob record points to and that nobody may still publish:
/// this session's sets that are not staging any more, sets of sessions that ended (closed or
/// killed tabs, see [`sessions`]), and, where liveness is unknown, other sessions' sets older
/// than [`ORPHAN_GRACE_MILLIS`]. Returns how many sets were removed.
pub async fn sweep_orphans<B: Backend>(b: &B) -> Result<usize> {
    for _ in 0..generation::MAX_ATTEMPTS {
        if let Some(n) = try_sweep(b).await? {
            return Ok(n);
        }
    }
    Err(generation::too_busy("sweeping orphan chunk sets"))
}

/// What opening a store runs: [`sweep_orphans`], but only if another session's marker says it
/// may have left chunk sets behind (see [`sessions`]); otherwise nothing is read but the
/// markers' keys. Returns how many sets were removed.
pub async fn sweep_if_marked<B: Backend>(b: &B) -> Result<usize> {
    let me = sessions::this_session();
    let markers = b.keys(Space::Meta, crate::schema::STAGING_MARKERS).await?;
    if markers.iter().all(|k| crate::schema::staging_marker_session(k) == Some(me.as_str())) {
        return Ok(0);
    }
    sweep_orphans(b).await
}

/// One sweep, decided at one generation: `None` if a blob was published or deleted meanwhile.
async fn try_sweep<B: Backend>(b: &B) -> Result<Option<usize>> {
    let live_sessions = sessions::live_sessions().await;
    // Publishing a blob changes the generation, so a set published after these reads (and so
    // no longer staging) makes the deleting commit fail instead of deleting its chunks.
    let at = generation::read(b).await?;
    // Chunk keys first, records second: a set published in between is then seen as live.
    let keys = b.keys(Space::Chunks, "").await?;
    let mut live = std::collections::HashSet::new();
    for (_, v) in b.scan(Space::Meta, crate::schema::BLOBS).await? {
        live.extend(BlobRecord::chunk_set_of(&v));
    }
    let now = now_millis();
    let me = sessions::this_session();
    let mut doomed: Vec<String> = Vec::new();
    let mut still_staging = std::collections::HashSet::new();
    for key in keys {
        let Some((set, _)) = key.rsplit_once('/') else { continue };
        if live.contains(set) || doomed.last().is_some_and(|d| d == set) {
            continue;
        }
        let orphan = match sessions::session_of(set) {
            Some(s) if s == me => !sessions::is_staging(set),
            Some(s) if live_sessions.as_ref().is_some_and(|l| !l.contains(s)) => true,
            Some(_) if live_sessions.is_some() => false,
            _ => now.saturating_sub(sessions::born_of(set)) >= ORPHAN_GRACE_MILLIS,
        };
        if orphan {
            doomed.push(set.to_string());
        } else if let Some(s) = sessions::session_of(set) {
            still_staging.insert(s.to_string());
        }
    }
    // Markers of other sessions that have no unpublished set left, unless they still run.
    let done_markers: Vec<Op> = b
        .keys(Space::Meta, crate::schema::STAGING_MARKERS)
        .await?
        .into_iter()
        .filter(|key| {
            crate::schema::staging_marker_session(key).is_some_and(|s| {
                s != me && !still_staging.contains(s) && !live_sessions.as_ref().is_some_and(|l| l.contains(s))
            })
        })
        .map(Op::delete_meta)
        .collect();
    let n = doomed.len();
    if n == 0 {
        if !done_markers.is_empty() {
            b.commit(done_markers).await?;
        }
        return Ok(Some(0));
    }
    let mut ops: Vec<Op> =
        doomed.into_iter().map(|s| Op::DeletePrefix { space: Space::Chunks, prefix: format!("{s}/") }).collect();
    ops.extend(done_markers);
    Ok(match generation::commit_at(b, &at, ops).await? {
        generation::Committed::At(_) => Some(n),
        generation::Committed::Stale => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::memory::MemoryBackend;
    use futures::executor::block_on;

    #[test]
    fn large_blob_round_trip_and_ranges() {
        block_on(async {
            let b = MemoryBackend::new();
            let data: Vec<u8> = (0..(CHUNK_SIZE * 2 + 12345)).map(|i| (i * 7 % 256) as u8).collect();
            let mut w = BlobWriter::new();
            for piece in data.chunks(100_003) {
                w.write(&b, piece).await.unwrap();
            }
            let want = Digest::sha256_of(&data);
            let staged = w.finish(&b, Some(&want), Some(data.len() as u64)).await.unwrap();
            assert_eq!(b.len(Space::Chunks), 3);
            // Not visible before its record is committed.
            assert!(stat(&b, &want).await.unwrap().is_none());
            commit_packed(&b, staged.ops).await.unwrap();
            assert_eq!(read_all(&b, &want).await.unwrap(), data);
            let (off, len) = (CHUNK_SIZE as u64 - 10, 20u64);
            assert_eq!(read_range(&b, &want, off, len).await.unwrap(), &data[off as usize..(off + len) as usize]);
            assert_eq!(read_range(&b, &want, data.len() as u64 - 5, 100).await.unwrap(), &data[data.len() - 5..]);
            assert!(read_range(&b, &want, data.len() as u64 + 1, 1).await.unwrap().is_empty());
        });
    }

    #[test]
    fn a_small_blob_finished_in_commit_writes_nothing_until_its_commit() {
        block_on(async {
            let b = MemoryBackend::new();
            let data = b"tar-split bytes".repeat(100);
            let mut w = BlobWriter::new();
            for piece in data.chunks(7) {
                w.write(&b, piece).await.unwrap();
            }
            let staged = w.finish_in_commit(&b).await.unwrap();
            assert!(b.is_empty(), "nothing written before the commit");
            assert_eq!(staged.digest, Digest::sha256_of(&data));
            assert_eq!(read_staged(&b, &staged, 5, 10).await.unwrap(), &data[5..15]);
            commit_packed(&b, staged.ops.clone()).await.unwrap();
            assert_eq!(read_all(&b, &staged.digest).await.unwrap(), data);
            assert_eq!(b.len(Space::Chunks), 0, "kept in its record");
            // A blob larger than a chunk is written as it streams, as before.
            let mut w = BlobWriter::new();
            w.write(&b, &vec![3u8; CHUNK_SIZE + 1]).await.unwrap();
            let big = w.finish_in_commit(&b).await.unwrap();
            assert_eq!(b.len(Space::Chunks), 2);
            assert_eq!(read_staged(&b, &big, CHUNK_SIZE as u64, 5).await.unwrap(), vec![3u8]);
        });
    }

    #[test]
    fn blobs_up_to_inline_max_are_kept_in_their_record_and_larger_ones_in_a_chunk() {
        block_on(async {
            let b = MemoryBackend::new();
            let small: Vec<u8> = (0..INLINE_MAX).map(|i| (i % 251) as u8).collect();
            let large: Vec<u8> = (0..INLINE_MAX + 1).map(|i| (i % 241) as u8).collect();
            let (ds, dl) = (Digest::sha256_of(&small), Digest::sha256_of(&large));
            let s = stage_in_commit(ds.clone(), &small);
            let l = stage_in_commit(dl.clone(), &large);
            assert_eq!((s.ops.len(), s.set.as_str()), (1, ""), "one record, no chunk set");
            assert_eq!(l.ops.len(), 2, "a record and its chunk");
            assert_eq!(read_staged(&b, &s, 10, 3).await.unwrap(), &small[10..13]);
            assert_eq!(read_staged(&b, &s, INLINE_MAX as u64 - 1, 9).await.unwrap(), &small[INLINE_MAX - 1..]);
            assert!(read_staged(&b, &s, INLINE_MAX as u64, 1).await.unwrap().is_empty());
            commit_packed(&b, s.ops).await.unwrap();
            commit_packed(&b, l.ops).await.unwrap();
            assert_eq!(b.keys(Space::Meta, crate::schema::BLOBS).await.unwrap().len(), 1, "the large one");
            assert_eq!(stored_digests(&b).await.unwrap().len(), 2);
            assert_eq!(b.len(Space::Chunks), 1);
            let rec = stat(&b, &ds).await.unwrap().unwrap();
            assert_eq!((rec.size, rec.chunks.as_str()), (INLINE_MAX as u64, ""));
            assert_eq!(read_all(&b, &ds).await.unwrap(), small);
            assert_eq!(read_range(&b, &ds, 5, 5).await.unwrap(), &small[5..10]);
            assert_eq!(read_all(&b, &dl).await.unwrap(), large);
            // Stored as an entry of its pack; nothing else to sweep or delete.
            assert!(b.get(Space::Meta, &record_key(&ds)).await.unwrap().is_none());
            assert_eq!(blob_packs::find_packed(&b, &ds).await.unwrap(), Some(small.clone()));
            assert_eq!(sweep_orphans(&b).await.unwrap(), 0);
            assert_eq!(b.len(Space::Chunks), 1, "the large blob's chunk is live");
            commit_packed(&b, delete_ops(&ds, &rec)).await.unwrap();
            assert!(stat(&b, &ds).await.unwrap().is_none());
            assert!(b.keys(Space::Meta, crate::schema::BLOB_PACKS).await.unwrap().is_empty(), "an emptied pack goes");
            // An empty blob is kept in its record too.
            let empty = stage_in_commit(Digest::sha256_of(b""), b"");
            commit_packed(&b, empty.ops).await.unwrap();
            assert_eq!(read_all(&b, &Digest::sha256_of(b"")).await.unwrap(), Vec::<u8>::new());
            // Discarding a blob kept in its record (a replaced copy) has no chunks to delete and
            // commits nothing: the armed failure is still there for the next commit.
            let replaced = stage_in_commit(Digest::sha256_of(b"copy"), b"copy");
            b.fail_next_commit_after(0);
            discard(&b, &replaced.set).await.unwrap();
            assert!(b.commit(vec![Op::put_meta("probe", b"1".to_vec())]).await.is_err(), "discard committed nothing");
        });
    }

    #[test]
    fn json_records_of_earlier_versions_still_read_and_a_bad_record_is_named() {
        block_on(async {
            let b = MemoryBackend::new();
            let data = b"written by the previous version".to_vec();
            let d = Digest::sha256_of(&data);
            let json = br#"{"size":31,"chunks":"0000000000001-old-0","chunk_size":1048576}"#.to_vec();
            b.commit(vec![
                Op::put(Space::Chunks, "0000000000001-old-0/0000000000", data.clone()),
                Op::put_meta(record_key(&d), json.clone()),
            ])
            .await
            .unwrap();
            let rec = stat(&b, &d).await.unwrap().unwrap();
            assert_eq!((rec.chunks.as_str(), rec.inline.is_none()), ("0000000000001-old-0", true));
            assert_eq!(rec.encode(), json, "the JSON form is written as before");
            assert_eq!(read_all(&b, &d).await.unwrap(), data);
            assert_eq!(sweep_orphans(&b).await.unwrap(), 0, "its chunk set is live");
            let bad = Digest::sha256_of(b"bad");
            b.commit(vec![Op::put_meta(record_key(&bad), b"not a record".to_vec())]).await.unwrap();
            let e = stat(&b, &bad).await.unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::DataCorrupt);
            assert!(e.message.contains(&record_key(&bad)), "{}", e.message);
        });
    }

    #[test]
    fn digest_mismatch_leaves_nothing() {
        block_on(async {
            let b = MemoryBackend::new();
            let mut w = BlobWriter::new();
            w.write(&b, &vec![1u8; CHUNK_SIZE + 1]).await.unwrap();
            let wrong = Digest::sha256_of(b"something else");
            let e = w.finish(&b, Some(&wrong), None).await.unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::DataCorrupt);
            assert!(e.message.contains(wrong.as_str()));
            assert!(b.is_empty());
        });
    }

    #[test]
    fn a_marker_is_there_exactly_while_this_session_has_unpublished_chunks() {
        block_on(async {
            let b = MemoryBackend::new();
            let marker = crate::schema::staging_marker(&sessions::this_session());
            let mut w = BlobWriter::new();
            w.write(&b, &vec![7u8; CHUNK_SIZE + 5]).await.unwrap();
            assert!(b.get(Space::Meta, &marker).await.unwrap().is_some(), "written with the first chunk");
            let g = generation::read(&b).await.unwrap();
            assert_eq!(g, None, "the marker changes no generation");
            let staged = w.finish(&b, None, None).await.unwrap();
            commit_packed(&b, staged.ops).await.unwrap();
            assert!(b.get(Space::Meta, &marker).await.unwrap().is_none(), "gone once the set is published");
            // A discarded set takes the marker with it too.
            let staged = stage_bytes(&b, &[1u8; 10]).await.unwrap();
            assert!(b.get(Space::Meta, &marker).await.unwrap().is_some());
            discard(&b, &staged.set).await.unwrap();
            assert_eq!(b.keys(Space::Meta, crate::schema::STAGING_MARKERS).await.unwrap(), Vec::<String>::new());
            // Small blobs staged in their commit never need one.
            let small = stage_in_commit(Digest::sha256_of(b"x"), b"x");
            commit_packed(&b, small.ops).await.unwrap();
            assert_eq!(b.keys(Space::Meta, crate::schema::STAGING_MARKERS).await.unwrap(), Vec::<String>::new());
        });
    }

    #[test]
    fn opening_sweeps_only_what_a_marker_announces() {
        block_on(async {
            let b = MemoryBackend::new();
            // A session that died long ago left a set, and its marker.
            let dead = "0000000000001-deadbeef-0";
            b.commit(vec![
                Op::put(Space::Chunks, format!("{dead}/0000000000"), vec![1]),
                Op::put_meta(crate::schema::staging_marker("deadbeef"), "1"),
            ])
            .await
            .unwrap();
            assert_eq!(sweep_if_marked(&b).await.unwrap(), 1);
            assert!(b.keys(Space::Chunks, "").await.unwrap().is_empty());
            assert!(b.keys(Space::Meta, crate::schema::STAGING_MARKERS).await.unwrap().is_empty(), "marker done");
            // Without a marker, opening reads no chunk key; a full sweep (gc) still finds it.
            let unmarked = "0000000000001-cafe-0";
            b.commit(vec![Op::put(Space::Chunks, format!("{unmarked}/0000000000"), vec![1])]).await.unwrap();
            assert_eq!(sweep_if_marked(&b).await.unwrap(), 0);
            assert_eq!(b.keys(Space::Chunks, "").await.unwrap().len(), 1);
            assert_eq!(sweep_orphans(&b).await.unwrap(), 1);
            // A marker whose session still has a young set (liveness unknown) stays with it.
            let young = format!("{:013}-f00d-0", now_millis());
            b.commit(vec![
                Op::put(Space::Chunks, format!("{young}/0000000000"), vec![1]),
                Op::put_meta(crate::schema::staging_marker("f00d"), "1"),
            ])
            .await
            .unwrap();
            assert_eq!(sweep_if_marked(&b).await.unwrap(), 0);
            assert_eq!(b.keys(Space::Meta, crate::schema::STAGING_MARKERS).await.unwrap().len(), 1);
        });
    }

    #[test]
    fn empty_blob_and_orphan_sweep() {
        block_on(async {
            let b = MemoryBackend::new();
            let staged = stage_bytes(&b, b"").await.unwrap();
            commit_packed(&b, staged.ops).await.unwrap();
            assert_eq!(read_all(&b, &Digest::sha256_of(b"")).await.unwrap(), Vec::<u8>::new());
            // An old orphan chunk set is swept; a fresh one is kept.
            b.commit(vec![Op::put(Space::Chunks, "0000000000001-0-0/0000000000", vec![1])]).await.unwrap();
            let fresh = stage_bytes(&b, b"fresh").await.unwrap();
            assert_eq!(sweep_orphans(&b).await.unwrap(), 1);
            assert_eq!(b.keys(Space::Chunks, "").await.unwrap(), vec![format!("{}/0000000000", fresh.set)]);
        });
    }
}
