//! Bytes the host holds itself (the upload, as a browser File), and the work on them that the
//! host does better than wasm.
//!
//! A browser upload is usually a File. When the tarball is not gzipped, a tar entry's data is a
//! byte range of that File, and the browser can hash the range itself (WebCrypto's SHA-256 is
//! native code and runs off the page's thread) while wasm streams the same bytes into storage:
//! a layer's bytes then pass through wasm once, for its tar-split, instead of also through
//! sha2, which was the largest part of a `docker load`'s time in Chromium. A backend that can
//! store the host's slices as they are (IndexedDB stores a File slice without it passing
//! through the page) is handed those instead of the bytes for the blob's chunks after its
//! first ([`super::Backend::put_host_chunk`]). The importer hands it to [`super::blobs::BlobWriter`]
//! for each entry that is a range of the upload (`crate::import::ImportOptions::host_upload`).
//!
//! The host is trusted to hash what it was given; the upload is not: the digest is checked
//! against what the archive names as usual, and every other check reads the streamed bytes.

use super::HostValue;
use crate::digest::PendingDigest;

/// Hashes byte ranges of the upload as it was handed to the import (before any gunzip).
pub trait HostBytes {
    /// Starts hashing bytes `start..end` of the upload; `None` when the host will not (too
    /// small to be worth a round trip, too large to hold at once): the writer hashes as the
    /// bytes stream. The work starts at once, so it runs while the entry streams.
    fn sha256_of_range(&self, start: u64, end: u64) -> Option<PendingDigest>;

    /// Bytes `start..end` of the upload as a value the host holds (a File slice), for a backend
    /// that stores such values. Asked only for a range whose digest the host is working out.
    fn slice(&self, start: u64, end: u64) -> HostValue;
}
