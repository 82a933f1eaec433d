//! Scans a staged archive file as a `docker load` layer while it streams, so that nothing is
//! read back from storage afterwards: the bytes are inflated when they are gzip, the
//! uncompressed tar is hashed (its DiffID) and turned into a `tar-split.json.gz`, written
//! into a blob of its own, and its regular-file bytes are counted (the layer size).
//!
//! Which files are layers is known only once `manifest.json` has been read, which may come
//! after them, so every staged file is scanned speculatively. A file that is not a layer (a
//! config, a manifest) fails the scan within its first 512 bytes (no valid tar header) and
//! costs nothing more; the reason is kept for the error message should `manifest.json` name
//! it as a layer. Memory is bounded: the inflater's buffer, one tar header block (plus
//! capped extension headers) and the tar-split blob's chunk buffer.

use crate::digest::{Digest, Sha256Hasher};
use crate::error::{Error, Result};
use crate::formats::docker_save::{self, Compression};
use crate::formats::tar_split_writer::TarSplitWriter;
use crate::import::stream::gzip::Decompressor;
use crate::storage::blobs::{self, BlobWriter, StagedBlob};
use crate::storage::Backend;

/// Bytes that [`docker_save::detect_compression`] looks at.
pub(crate) const HEAD_LEN: usize = 10;

/// What a scanned layer file is, as `docker load` registers it.
#[derive(Debug, Clone)]
pub(crate) struct LayerFacts {
    /// sha256 of the uncompressed tar.
    pub diff_id: Digest,
    /// Bytes of regular files (what the graph driver reports).
    pub size: i64,
    /// Length of the (uncompressed) tar.
    pub tar_size: u64,
    /// Whether the file was gzip (else it is the tar itself).
    pub gzip: bool,
    /// The generated `tar-split.json.gz`, staged.
    pub tar_split: StagedBlob,
}

/// The outcome of scanning one file: `Err` says why it is not a usable layer (reported only
/// if `manifest.json` names the file as one).
pub(crate) type LayerScan = std::result::Result<LayerFacts, Error>;

/// The first bytes of a file, kept to sniff its compression.
#[derive(Default)]
pub(crate) struct Head(Vec<u8>);

impl Head {
    /// Keeps what is still missing of the first [`HEAD_LEN`] bytes; returns how many of
    /// `bytes` that took.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> usize {
        let take = (HEAD_LEN - self.0.len()).min(bytes.len());
        self.0.extend_from_slice(&bytes[..take]);
        take
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.0.len() == HEAD_LEN
    }

    pub(crate) fn compression(&self) -> Compression {
        docker_save::detect_compression(&self.0)
    }
}

enum State {
    /// Waiting for the first [`HEAD_LEN`] bytes (held in `head`).
    Sniffing,
    Scanning(Box<Scan>),
    /// Given up: not a tar, an unsupported compression, or corrupt data.
    Failed(Error),
}

struct Scan {
    inflate: Decompressor,
    /// Hashes the uncompressed tar; `None` when the file is the tar itself (its stored digest
    /// is the DiffID: no second hash).
    diff: Option<Sha256Hasher>,
    split: TarSplitWriter,
    out: BlobWriter,
}

/// Fed the bytes of one staged file, in order; see the module docs.
pub(crate) struct LayerScanner {
    head: Head,
    state: State,
}

impl Default for LayerScanner {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerScanner {
    pub(crate) fn new() -> Self {
        LayerScanner { head: Head::default(), state: State::Sniffing }
    }

    /// Takes the next piece of the file. Errors are storage errors only; a file that is not
    /// a layer ends the scan quietly.
    pub(crate) async fn feed<B: Backend>(&mut self, b: &B, bytes: &[u8]) -> Result<()> {
        match self.state {
            State::Failed(_) => Ok(()),
            State::Scanning(_) => self.scan(b, bytes).await,
            State::Sniffing => {
                let taken = self.head.feed(bytes);
                if !self.head.is_complete() {
                    return Ok(());
                }
                self.start();
                // The head and what follows it in this piece are the first bytes to scan.
                let head = std::mem::take(&mut self.head.0);
                self.scan(b, &head).await?;
                self.scan(b, &bytes[taken..]).await
            }
        }
    }

    /// Ends the file whose bytes were staged as `stored`.
    pub(crate) async fn finish<B: Backend>(mut self, b: &B, stored: &StagedBlob) -> Result<LayerScan> {
        if matches!(self.state, State::Sniffing) {
            // A file shorter than the head.
            self.start();
            let head = std::mem::take(&mut self.head.0);
            self.scan(b, &head).await?;
        }
        let mut scan = match self.state {
            State::Failed(e) => return Ok(Err(e)),
            State::Sniffing => unreachable!("started above"),
            State::Scanning(scan) => scan,
        };
        let ended = match scan.inflate.finish() {
            Ok(tail) => {
                if let Some(d) = &mut scan.diff {
                    d.update(tail);
                }
                scan.split.write(tail)
            }
            Err(e) => Err(e),
        };
        let size = scan.split.regular_bytes();
        let Scan { diff, split, mut out, .. } = *scan;
        let gz = match ended.and_then(|()| split.finish()) {
            Ok(gz) => gz,
            Err(e) => {
                discard(b, out).await?;
                return Ok(Err(e));
            }
        };
        out.write(b, &gz).await?;
        let tar_split = out.finish(b, None, None).await?;
        let gzip = diff.is_some();
        let tar_size = diff.as_ref().map_or(stored.size, |d| d.len());
        let diff_id = match diff {
            Some(d) => d.finish(),
            None => stored.digest.clone(),
        };
        Ok(Ok(LayerFacts { diff_id, size, tar_size, gzip, tar_split }))
    }

    /// Gives up on the file (it was not staged): discards the tar-split written so far.
    pub(crate) async fn abandon<B: Backend>(self, b: &B) -> Result<()> {
        match self.state {
            State::Scanning(scan) => discard(b, scan.out).await,
            _ => Ok(()),
        }
    }

    /// Decides from the head whether and how to scan.
    fn start(&mut self) {
        self.state = match self.head.compression() {
            Compression::Uncompressed | Compression::Gzip => State::Scanning(Box::new(Scan {
                inflate: Decompressor::new(),
                // As the inflater decides: gzip's magic bytes, whatever follows them.
                diff: self.head.0.starts_with(&[0x1f, 0x8b]).then(Sha256Hasher::new),
                split: TarSplitWriter::new(),
                out: BlobWriter::new(),
            })),
            other => State::Failed(Error::unsupported(format!(
                "{} compression is not supported for docker save layers here (gzip and plain tar are)",
                other.name()
            ))),
        };
    }

    async fn scan<B: Backend>(&mut self, b: &B, mut bytes: &[u8]) -> Result<()> {
        let State::Scanning(scan) = &mut self.state else { return Ok(()) };
        let mut fed = Ok(());
        while !bytes.is_empty() && fed.is_ok() {
            fed = scan.inflate.feed(bytes).and_then(|(used, tar)| {
                bytes = &bytes[used..];
                if let Some(d) = &mut scan.diff {
                    d.update(tar);
                }
                scan.split.write(tar)
            });
        }
        let output = scan.split.take_output();
        if let Err(e) = fed {
            let State::Scanning(scan) = std::mem::replace(&mut self.state, State::Failed(e)) else { unreachable!() };
            return discard(b, scan.out).await;
        }
        scan.out.write(b, &output).await
    }
}

/// Deletes a tar-split that will not be used.
async fn discard<B: Backend>(b: &B, out: BlobWriter) -> Result<()> {
    let staged = out.finish(b, None, None).await?;
    blobs::discard(b, &staged.set).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::memory::MemoryBackend;
    use crate::storage::Space;
    use futures::executor::block_on;
    use std::io::Write;

    fn layer_tar() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in
            [("etc/hosts", &b"127.0.0.1 localhost\n"[..]), ("bin/tool", &[9u8; 70_000][..]), ("empty", b"")]
        {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, name, data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Stages `file` pushed in `step`-byte pieces while scanning it.
    fn scan(b: &MemoryBackend, file: &[u8], step: usize) -> (StagedBlob, LayerScan) {
        block_on(async {
            let (mut writer, mut scanner) = (BlobWriter::new(), LayerScanner::new());
            for piece in file.chunks(step.max(1)) {
                writer.write(b, piece).await.unwrap();
                scanner.feed(b, piece).await.unwrap();
            }
            let stored = writer.finish(b, None, None).await.unwrap();
            let scan = scanner.finish(b, &stored).await.unwrap();
            (stored, scan)
        })
    }

    /// What the scan must give: the whole tar at once through the tar-split writer.
    fn reference(tar: &[u8]) -> (Digest, i64, Vec<u8>) {
        let mut split = TarSplitWriter::new();
        split.write(tar).unwrap();
        let size = split.regular_bytes();
        let mut gz = split.take_output();
        gz.extend(split.finish().unwrap());
        (Digest::sha256_of(tar), size, gz)
    }

    #[test]
    fn plain_and_gzip_layers_in_any_chunking_give_the_whole_file_answers() {
        let tar = layer_tar();
        let (diff_id, size, split) = reference(&tar);
        for file in [tar.clone(), gzip(&tar)] {
            for step in [1, 7, 512, 65_536, file.len()] {
                let b = MemoryBackend::new();
                let (stored, facts) = scan(&b, &file, step);
                let facts = facts.unwrap();
                assert_eq!((&facts.diff_id, facts.size), (&diff_id, size), "step {step}");
                assert_eq!(facts.tar_split.digest, Digest::sha256_of(&split), "step {step}");
                if file == tar {
                    assert_eq!(stored.digest, diff_id, "a plain layer's DiffID is its digest");
                }
            }
        }
    }

    #[test]
    fn files_that_are_not_layers_fail_the_scan_and_leave_no_tar_split() {
        let json = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.repeat(20);
        let mut zstd = vec![0x28, 0xb5, 0x2f, 0xfd];
        zstd.extend_from_slice(&[0; 600]);
        for (file, message) in
            [(&json[..], "invalid tar header"), (&json[..50], "truncated"), (&zstd[..], "zstd compression")]
        {
            let b = MemoryBackend::new();
            let (stored, facts) = scan(&b, file, 100);
            let e = facts.unwrap_err();
            assert!(e.message.contains(message), "{e}");
            // Only the staged file itself is left.
            let keys = block_on(b.keys(Space::Chunks, "")).unwrap();
            assert!(keys.iter().all(|k| k.starts_with(&stored.set)), "{keys:?}");
        }
    }

    #[test]
    fn an_empty_file_is_an_empty_layer() {
        let b = MemoryBackend::new();
        let (stored, facts) = scan(&b, b"", 1);
        let facts = facts.unwrap();
        assert_eq!((facts.diff_id, facts.size), (stored.digest, 0));
    }

    #[test]
    fn abandoning_a_scan_deletes_its_tar_split() {
        // Random bytes after the end of the archive go into the tar-split as they are: enough
        // of them fill more than one chunk of tar-split.
        let mut tar = layer_tar();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        tar.extend((0..3_000_000).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        }));
        let b = MemoryBackend::new();
        block_on(async {
            let mut scanner = LayerScanner::new();
            for piece in tar.chunks(1 << 16) {
                scanner.feed(&b, piece).await.unwrap();
            }
            assert!(b.len(Space::Chunks) > 0, "part of the tar-split was written");
            scanner.abandon(&b).await.unwrap();
        });
        assert!(b.is_empty());
    }
}
