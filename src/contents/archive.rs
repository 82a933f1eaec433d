//! The one tar writer stream every tar this crate hands out goes through (`docker save`, OCI
//! layouts, `docker cp` of a folder): members planned up front, each a header and where its
//! bytes are (in memory, a whole stored layer tar, or a file's range inside one), streamed in
//! bounded chunks while the stream is pulled, layer bytes read from storage as it goes.

use super::files::FileReader;
use super::layer_reader::LayerReader;
use super::tar_writer::{padding, Header, TRAILER};
use crate::docker::layer_blobs::LayerBlobRecord;
use crate::error::{Error, Result};
use crate::storage::Backend;
use std::collections::VecDeque;

/// What follows a planned export header.
#[derive(Debug, Clone)]
pub enum Body {
    None,
    Bytes(Vec<u8>),
    /// A stored layer tar (the header's size is its length).
    Layer(LayerBlobRecord),
}

/// One planned export entry: a header as Docker writes it, and its body.
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

/// Where a member's bytes are.
#[derive(Debug, Clone)]
pub enum Source {
    None,
    Bytes(Vec<u8>),
    /// A whole stored layer tar of `size` bytes.
    Layer {
        record: LayerBlobRecord,
        size: u64,
    },
    /// `size` bytes at `offset` of a stored layer tar (a file inside it).
    File {
        record: LayerBlobRecord,
        offset: u64,
        size: u64,
    },
}

impl Source {
    fn len(&self) -> u64 {
        match self {
            Source::None => 0,
            Source::Bytes(b) => b.len() as u64,
            Source::Layer { size, .. } | Source::File { size, .. } => *size,
        }
    }
}

/// One member of the stream: its encoded header blocks (an extension header first, if any)
/// and its bytes.
#[derive(Debug, Clone)]
pub struct Member {
    pub header: Vec<u8>,
    pub body: Source,
}

/// A stored body being read.
enum Reading {
    Layer(LayerReader),
    File(FileReader),
}

impl Reading {
    async fn next<B: Backend>(&mut self, b: &B) -> Result<Option<Vec<u8>>> {
        match self {
            Reading::Layer(r) => r.next(b).await,
            Reading::File(r) => r.next(b).await,
        }
    }
}

/// Chunks are cut at about this size (headers and small files are gathered up to it).
const CHUNK: usize = 1 << 20;

/// The archive as a pull stream: each [`ArchiveStream::next_chunk`] call returns up to about
/// 1 MiB. Total length is known up front ([`ArchiveStream::len`]).
pub struct ArchiveStream {
    members: VecDeque<Member>,
    reading: Option<(Reading, usize)>,
    len: u64,
    ended: bool,
}

impl ArchiveStream {
    /// The stream of planned export entries (headers encoded now; a body of bytes must be as
    /// long as its header says).
    pub fn new(entries: Vec<Entry>) -> Result<ArchiveStream> {
        let members = entries
            .into_iter()
            .map(|Entry { header, body }| {
                let size = header.size();
                let body = match body {
                    Body::None => Source::None,
                    Body::Bytes(bytes) if bytes.len() as u64 != size => {
                        return Err(Error::corrupt(format!("tar entry {:?}: size mismatch", header.name)))
                    }
                    Body::Bytes(bytes) => Source::Bytes(bytes),
                    Body::Layer(record) => Source::Layer { record, size },
                };
                Ok(Member { header: header.encode()?.to_vec(), body })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ArchiveStream::of_members(members))
    }

    /// The stream of members whose headers are already encoded.
    pub fn of_members(members: Vec<Member>) -> ArchiveStream {
        let len =
            members.iter().map(|m| m.header.len() as u64 + m.body.len() + padding(m.body.len()) as u64).sum::<u64>()
                + TRAILER.len() as u64;
        ArchiveStream { members: members.into(), reading: None, len, ended: false }
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
            if let Some((reader, pad)) = &mut self.reading {
                match reader.next(b).await? {
                    Some(bytes) => {
                        out.extend_from_slice(&bytes);
                        continue;
                    }
                    None => {
                        out.resize(out.len() + *pad, 0);
                        self.reading = None;
                    }
                }
            }
            let Some(member) = self.members.pop_front() else {
                out.extend_from_slice(&TRAILER);
                self.ended = true;
                break;
            };
            out.extend_from_slice(&member.header);
            let pad = padding(member.body.len());
            match member.body {
                Source::None => {}
                Source::Bytes(bytes) => {
                    out.extend_from_slice(&bytes);
                    out.resize(out.len() + pad, 0);
                }
                Source::Layer { record, size } => {
                    self.reading = Some((Reading::Layer(LayerReader::new(record, Some(size))), pad))
                }
                Source::File { record, offset, size } => {
                    self.reading = Some((Reading::File(FileReader::new(record, offset, size)), pad))
                }
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
