#![cfg(not(target_arch = "wasm32"))]
//! A [`HostBytes`] (the browser's WebCrypto over a slice of the uploaded File) hashes large
//! entries from the upload's own bytes instead of wasm hashing them as they stream: the import
//! must come out the same, each range must be exactly the entry's data, a digest that does not
//! match the name the archive gives the blob is refused, a failed hash fails the import leaving
//! nothing behind, and a gzipped upload (whose offsets are not the upload's) is never asked.

mod support;

use imagestore::digest::{Digest, PendingDigest};
use imagestore::error::Error;
use imagestore::import::{Finished, ImportOptions, Imported};
use imagestore::storage::memory::MemoryBackend;
use imagestore::storage::{blobs, Backend, HostBytes, HostValue, Op, Space};
use imagestore::ErrorCode;
use std::cell::RefCell;
use std::io::Read;
use std::rc::Rc;
use support::import::*;

#[derive(Clone, Copy)]
enum Answer {
    /// The SHA-256 of the range, as the host works it out.
    True,
    /// A digest of other bytes.
    Wrong,
    /// The host failed (e.g. the File could not be read any more).
    Fails,
}

/// Hashes ranges of `upload` of at least 1 MiB, recording each range asked for.
struct RangeHasher {
    upload: Vec<u8>,
    answer: Answer,
    asked: RefCell<Vec<(u64, u64)>>,
    /// The slices handed to a backend that stores them.
    slices: RefCell<Vec<(u64, u64)>>,
}

impl RangeHasher {
    fn new(upload: &[u8], answer: Answer) -> Rc<RangeHasher> {
        let (asked, slices) = (RefCell::default(), RefCell::default());
        Rc::new(RangeHasher { upload: upload.to_vec(), answer, asked, slices })
    }
}

impl HostBytes for RangeHasher {
    fn sha256_of_range(&self, start: u64, end: u64) -> Option<PendingDigest> {
        if end - start < 1 << 20 {
            return None;
        }
        self.asked.borrow_mut().push((start, end));
        let digest = match self.answer {
            Answer::True => Ok(Digest::sha256_of(&self.upload[start as usize..end as usize])),
            Answer::Wrong => Ok(Digest::sha256_of(b"other bytes")),
            Answer::Fails => {
                Err(Error::unavailable(format!("hashing bytes {start}..{end} of the upload: NotReadableError")))
            }
        };
        Some(Box::pin(async move { digest }))
    }

    fn slice(&self, start: u64, end: u64) -> HostValue {
        self.slices.borrow_mut().push((start, end));
        Rc::new(self.upload[start as usize..end as usize].to_vec())
    }
}

/// A memory backend that also stores host values (the upload's bytes, as [`RangeHasher`]
/// slices them), as IndexedDB stores File slices.
#[derive(Clone)]
struct TakesHostChunks(MemoryBackend);

impl Backend for TakesHostChunks {
    async fn get(&self, space: Space, key: &str) -> imagestore::Result<Option<Vec<u8>>> {
        self.0.get(space, key).await
    }
    async fn scan(&self, space: Space, prefix: &str) -> imagestore::Result<Vec<(String, Vec<u8>)>> {
        self.0.scan(space, prefix).await
    }
    async fn keys(&self, space: Space, prefix: &str) -> imagestore::Result<Vec<String>> {
        self.0.keys(space, prefix).await
    }
    async fn commit(&self, ops: Vec<Op>) -> imagestore::Result<()> {
        self.0.commit(ops).await
    }
    fn takes_host_chunks(&self) -> bool {
        true
    }
    async fn put_host_chunk(&self, key: String, value: HostValue) -> imagestore::Result<()> {
        let bytes = value.downcast_ref::<Vec<u8>>().expect("the test's host values are bytes").clone();
        self.0.put_chunk(Op::put(Space::Chunks, key, bytes)).await
    }
}

/// Imports `upload` by 64 KiB pieces with a [`RangeHasher`] over it; also the chunks left.
fn import_hashed(upload: &[u8], answer: Answer) -> (imagestore::Result<Finished>, Rc<RangeHasher>, usize) {
    let hasher = RangeHasher::new(upload, answer);
    let options = ImportOptions { host_upload: Some(hasher.clone()), ..Default::default() };
    let (result, backend) = import_with(upload, 64 << 10, options);
    (result, hasher, chunk_count(&backend))
}

/// The data of every regular file of `tar` of at least 1 MiB, with its offset.
fn large_entries(tar: &[u8]) -> Vec<(String, u64, Vec<u8>)> {
    let mut out = Vec::new();
    for e in tar::Archive::new(tar).entries().unwrap() {
        let mut e = e.unwrap();
        if e.header().entry_type().is_file() && e.size() >= 1 << 20 {
            let (path, at) = (e.path().unwrap().to_string_lossy().into_owned(), e.raw_file_position());
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            out.push((path, at, data));
        }
    }
    out
}

fn loaded(f: &Finished) -> &imagestore::docker::model::DockerImport {
    match &f.imported {
        Imported::DockerLoad(d) => d,
        other => panic!("not a docker load: {}", other.format()),
    }
}

#[test]
fn a_docker_save_hashed_by_the_host_loads_exactly_as_one_hashed_while_streaming() {
    let tar = fixture("docker20/basic/docker-save.tar");
    let (hashed, hasher, _) = import_hashed(&tar, Answer::True);
    let (streamed, _) = import_chunked(&tar, 64 << 10);
    let (hashed, streamed) = (hashed.unwrap(), streamed.unwrap());
    assert_eq!(summary(loaded(&hashed)), summary(loaded(&streamed)));
    let blobs = |f: &Finished| -> Vec<(Digest, u64)> {
        loaded(f).layer_blobs.iter().map(|(_, b)| (b.digest.clone(), b.size)).collect()
    };
    assert_eq!(blobs(&hashed), blobs(&streamed));

    // Asked once per entry of 1 MiB or more, for exactly its data.
    let large = large_entries(&tar);
    assert_eq!(large.len(), 2, "the fixture has two layers over 1 MiB");
    let asked = hasher.asked.borrow().clone();
    let want: Vec<(u64, u64)> = large.iter().map(|(_, at, data)| (*at, *at + data.len() as u64)).collect();
    assert_eq!(asked, want);
    for (path, _, data) in &large {
        let digest = Digest::sha256_of(data);
        assert!(blobs(&hashed).iter().any(|(d, _)| *d == digest), "{path}'s blob is staged under its digest");
    }
}

#[test]
fn a_host_digest_that_differs_from_the_blobs_name_is_refused_and_nothing_is_left() {
    // An OCI archive names its blobs by digest: a host answer that differs is a mismatch.
    let tar = fixture("docker20/basic/oci-archive.tar");
    let (result, hasher, chunks) = import_hashed(&tar, Answer::Wrong);
    let e = result.unwrap_err();
    assert_eq!(e.code, ErrorCode::DataCorrupt, "{e}");
    assert!(e.message.contains("entry \"blobs/sha256/"), "names the entry: {e}");
    assert!(e.message.contains(&Digest::sha256_of(b"other bytes").to_string()), "names what was found: {e}");
    assert_eq!(hasher.asked.borrow().len(), 1, "the first large blob fails the import");
    assert_eq!(chunks, 0, "every staged chunk is discarded");

    // The same archive with true answers imports.
    let (result, hasher, _) = import_hashed(&tar, Answer::True);
    result.unwrap();
    assert_eq!(hasher.asked.borrow().len(), large_entries(&tar).len());
}

#[test]
fn a_failed_host_hash_fails_the_import_naming_the_entry_and_leaves_nothing() {
    let tar = fixture("docker20/basic/docker-save.tar");
    let (result, _, chunks) = import_hashed(&tar, Answer::Fails);
    let e = result.unwrap_err();
    assert_eq!(e.code, ErrorCode::Unavailable, "{e}");
    assert!(e.message.contains("/layer.tar\"") && e.message.contains("NotReadableError"), "{e}");
    assert_eq!(chunks, 0, "every staged chunk is discarded");
}

#[test]
fn a_gzipped_upload_is_hashed_while_it_streams() {
    let tar = fixture("docker20/basic/docker-save.tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    let gz = gz.finish().unwrap();
    // Offsets into the tar are not offsets into the upload: the hasher must not be asked (it
    // would answer wrongly here: it hashes the gzip bytes).
    let (result, hasher, _) = import_hashed(&gz, Answer::True);
    let (streamed, _) = import_chunked(&tar, 64 << 10);
    assert_eq!(summary(loaded(&result.unwrap())), summary(loaded(&streamed.unwrap())));
    assert!(hasher.asked.borrow().is_empty());
}

#[test]
fn a_backend_that_takes_host_values_gets_each_chunk_after_the_first_as_the_uploads_slice() {
    let tar = fixture("docker20/basic/docker-save.tar");
    let hasher = RangeHasher::new(&tar, Answer::True);
    let backend = TakesHostChunks(MemoryBackend::new());
    // Pieces that do not fall on chunk boundaries.
    let finished = futures::executor::block_on(async {
        let options = ImportOptions { host_upload: Some(hasher.clone()), ..Default::default() };
        let mut importer = imagestore::import::Importer::new(options);
        for piece in tar.chunks(100_000) {
            importer.push(&backend, piece).await.unwrap();
        }
        importer.finish(&backend).await.unwrap()
    });

    // Each layer over 1 MiB: its second chunk on, from the upload, 1 MiB each but the last.
    let chunk = blobs::CHUNK_SIZE as u64;
    let mut want = Vec::new();
    for (_, at, data) in large_entries(&tar) {
        let end = at + data.len() as u64;
        let mut from = at + chunk;
        while from < end {
            want.push((from, (from + chunk).min(end)));
            from += chunk;
        }
    }
    assert!(!want.is_empty());
    assert_eq!(*hasher.slices.borrow(), want);

    // What was stored reads back as the layers' bytes, published under their digests.
    let d = loaded(&finished);
    futures::executor::block_on(async {
        let ops = d.layer_blobs.iter().flat_map(|(_, b)| b.ops.clone()).collect();
        blobs::commit_packed(&backend, ops).await.unwrap();
        for (path, _, data) in large_entries(&tar) {
            let digest = Digest::sha256_of(&data);
            let got = blobs::read_all(&backend, &digest).await.unwrap();
            assert!(got == data, "{path} reads back as written");
        }
    });
}

#[test]
fn an_import_abandoned_inside_an_entry_whose_host_hash_fails_leaves_nothing() {
    // Stop in the middle of the first layer of 1 MiB or more, whose hash the host fails:
    // abandoning the import still discards everything staged before it.
    let tar = fixture("docker20/basic/docker-save.tar");
    let (_, at, _) = large_entries(&tar).remove(0);
    let hasher = RangeHasher::new(&tar, Answer::Fails);
    let backend = MemoryBackend::new();
    futures::executor::block_on(async {
        let options = ImportOptions { host_upload: Some(hasher.clone()), ..Default::default() };
        let mut importer = imagestore::import::Importer::new(options);
        for piece in tar[..at as usize + (1 << 20) + 4096].chunks(64 << 10) {
            importer.push(&backend, piece).await.unwrap();
        }
        assert!(chunk_count(&backend) > 0, "files before the layer are staged");
        importer.abort(&backend).await.unwrap();
    });
    assert_eq!(hasher.asked.borrow().len(), 1);
    assert_eq!(chunk_count(&backend), 0, "every staged chunk is discarded");
}
