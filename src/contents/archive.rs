//! A planned tar archive streamed in bounded chunks: headers and small files come from the
//! plan, layer tars are read from storage while the stream is pulled.

use super::layer_reader::LayerReader;
use super::tar_writer::{padding, Header, TRAILER};
use crate::docker::layer_blobs::LayerBlobRecord;
use crate::error::{Error, Result};
use crate::storage::Backend;
use std::collections::VecDeque;

/// What follows a header.
#[derive(Debug, Clone)]
pub enum Body {
    None,
    Bytes(Vec<u8>),
    /// A stored layer tar (the header's size is its length).
    Layer(LayerBlobRecord),
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub header: Header,
    pub body: Body,
}

impl Entry {
    pub fn bytes(header: Header, bytes: Vec<u8>) -> Entry {
        Entry { header, body: Body::Bytes(bytes) }
    }
}

/// Chunks are cut at about this size (headers and small files are gathered up to it).
const CHUNK: usize = 1 << 20;

/// The archive as a pull stream: each [`ArchiveStream::next_chunk`] call returns up to about
/// 1 MiB. Total length is known up front ([`ArchiveStream::len`]).
pub struct ArchiveStream {
    entries: VecDeque<Entry>,
    layer: Option<(LayerReader, usize)>,
    len: u64,
    ended: bool,
}

impl ArchiveStream {
    pub fn new(entries: Vec<Entry>) -> ArchiveStream {
        let len = entries.iter().map(|e| 512 + e.header.size() + padding(e.header.size()) as u64).sum::<u64>()
            + TRAILER.len() as u64;
        ArchiveStream { entries: entries.into(), layer: None, len, ended: false }
    }

    /// The archive's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The next chunk, or `None` after the trailer.
    pub async fn next_chunk<B: Backend>(&mut self, b: &B) -> Result<Option<Vec<u8>>> {
        if self.ended {
            return Ok(None);
        }
        let mut out: Vec<u8> = Vec::new();
        while out.len() < CHUNK {
            if let Some((reader, pad)) = &mut self.layer {
                match reader.next(b).await? {
                    Some(bytes) => {
                        out.extend_from_slice(&bytes);
                        continue;
                    }
                    None => {
                        out.resize(out.len() + *pad, 0);
                        self.layer = None;
                    }
                }
            }
            let Some(entry) = self.entries.pop_front() else {
                out.extend_from_slice(&TRAILER);
                self.ended = true;
                break;
            };
            out.extend_from_slice(&entry.header.encode()?);
            let size = entry.header.size();
            let pad = padding(size);
            match entry.body {
                Body::None => {}
                Body::Bytes(bytes) => {
                    if bytes.len() as u64 != size {
                        return Err(Error::corrupt(format!("tar entry {:?}: size mismatch", entry.header.name)));
                    }
                    out.extend_from_slice(&bytes);
                    out.resize(out.len() + pad, 0);
                }
                Body::Layer(record) => self.layer = Some((LayerReader::new(record, Some(size)), pad)),
            }
        }
        Ok(Some(out))
    }

    /// The whole archive in memory (tests and small exports).
    pub async fn read_all<B: Backend>(mut self, b: &B) -> Result<Vec<u8>> {
        let mut all = Vec::new();
        while let Some(c) = self.next_chunk(b).await? {
            all.extend_from_slice(&c);
        }
        Ok(all)
    }
}
