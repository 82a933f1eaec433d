//! Reads a stored layer's tar back, chunk by chunk: plain blobs by range, gzip blobs through
//! a streaming inflater. Memory stays at one stored chunk plus what it inflates to.

use crate::docker::layer_blobs::{Compression, LayerBlobRecord};
use crate::error::{Error, Result};
use crate::storage::blobs::{self, BlobRecord, CHUNK_SIZE};
use crate::storage::Backend;
use std::io::Write;

/// A pull reader over one layer's tar.
pub struct LayerReader {
    record: LayerBlobRecord,
    /// Bytes of the stored blob read so far.
    offset: u64,
    /// The stored blob's record, read on the first call.
    blob: Option<BlobRecord>,
    inflate: Option<flate2::write::MultiGzDecoder<Vec<u8>>>,
    /// Bytes of tar handed out so far.
    produced: u64,
    /// The tar's length, when known up front; checked at the end.
    expected: Option<u64>,
    done: bool,
}

impl LayerReader {
    pub fn new(record: LayerBlobRecord, expected: Option<u64>) -> LayerReader {
        let inflate = (record.compression == Compression::Gzip).then(|| flate2::write::MultiGzDecoder::new(Vec::new()));
        LayerReader { record, offset: 0, blob: None, inflate, produced: 0, expected, done: false }
    }

    /// The next piece of the tar, or `None` at its end.
    pub async fn next<B: Backend>(&mut self, b: &B) -> Result<Option<Vec<u8>>> {
        let blob = &self.record.blob;
        let at = || format!("layer {} (blob {blob})", self.record.diff_id);
        loop {
            if self.done {
                return Ok(None);
            }
            if self.blob.is_none() {
                let rec = blobs::stat(b, blob)
                    .await?
                    .ok_or_else(|| Error::not_found(format!("{}: the blob is no longer stored", at())))?;
                self.blob = Some(rec);
            }
            let rec = self.blob.as_ref().expect("read above");
            let size = rec.size;
            let piece = if self.offset < size {
                let p = blobs::read_range_of(b, blob, rec, self.offset, CHUNK_SIZE as u64).await?;
                if p.is_empty() {
                    return Err(Error::corrupt(format!("{}: blob ends at {} of {size} bytes", at(), self.offset)));
                }
                self.offset += p.len() as u64;
                p
            } else {
                Vec::new()
            };
            let out = match &mut self.inflate {
                None => piece,
                Some(gz) => {
                    // The inflater keeps output buffered until flushed.
                    let inflated =
                        if piece.is_empty() { gz.try_finish() } else { gz.write_all(&piece).and_then(|()| gz.flush()) };
                    inflated.map_err(|e| Error::corrupt(format!("{}: gzip: {e}", at())))?;
                    std::mem::take(gz.get_mut())
                }
            };
            if self.offset >= size && (self.inflate.is_none() || out.is_empty()) {
                self.done = true;
            }
            self.produced += out.len() as u64;
            if self.done {
                if let Some(want) = self.expected.filter(|w| *w != self.produced) {
                    return Err(Error::corrupt(format!("{}: {} bytes of tar, expected {want}", at(), self.produced)));
                }
            }
            if !out.is_empty() {
                return Ok(Some(out));
            }
        }
    }
}
