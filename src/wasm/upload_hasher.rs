//! [`HostBytes`] for a Blob or File upload: WebCrypto hashes a slice of it, in a worker where
//! one can be made, while wasm streams the same bytes into storage. The browser reads the slice
//! from its own storage and hashes it with native SHA-256: in a 200 MB `docker load` in
//! Chromium, sha2 in wasm had been a third of the page's time; WebCrypto on the page's thread
//! took a third of what sha2 took there, and in a worker none of it is the page's.

use crate::digest::{Digest, PendingDigest};
use crate::error::Error;
use crate::storage::HostBytes;
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// Smaller ranges are hashed as they stream: a round trip to the browser costs about what sha2
/// takes for a few hundred KiB.
const MIN_RANGE: u64 = 1 << 20;
/// Larger ranges are hashed as they stream too: WebCrypto hashes one buffer, so the whole range
/// is in memory at once.
const MAX_RANGE: u64 = 128 << 20;

// The JS side (`plain_blob_hasher`, `blob_slice`, `sha256_of_blob_range`) is in the inline
// module of `super::input`, not a module of its own: with a fifth snippet module,
// wasm-bindgen's test page in Chromium stalled in one load of five (the module requests
// queued behind the wasm download, whose reading waits for them: six connections per host),
// where four gave 0 stalls in 37 loads.
use super::input::{blob_slice, plain_blob_hasher, sha256_of_blob_range};

/// Hashes ranges of a Blob upload with WebCrypto.
pub(super) struct BlobRangeHasher {
    blob: JsValue,
    subtle: JsValue,
}

impl BlobRangeHasher {
    /// A hasher for `blob`, if it is a plain Blob or File and `crypto.subtle` exists (in a
    /// browser only in a secure context: https or a local address).
    /// Not where the host hashes streams natively (Node's `crypto`): there the bytes are hashed
    /// as they stream, and a second read of the File for WebCrypto made a 200 MB `docker load`
    /// slower (94–97 against 101–121 MB/s) and 75 MB larger.
    pub(super) fn for_blob(blob: &JsValue) -> Option<BlobRangeHasher> {
        if crate::host::sha256_engine().is_some() {
            return None;
        }
        let subtle = plain_blob_hasher(blob);
        (!subtle.is_null()).then(|| BlobRangeHasher { blob: blob.clone(), subtle })
    }
}

impl HostBytes for BlobRangeHasher {
    fn sha256_of_range(&self, start: u64, end: u64) -> Option<PendingDigest> {
        if !(MIN_RANGE..=MAX_RANGE).contains(&end.saturating_sub(start)) {
            return None;
        }
        #[cfg(debug_assertions)]
        HOST_HASHED.with(|n| n.set(n.get() + 1));
        // Blob offsets are exact in f64 up to 2^53 bytes. Asked for now: it runs while the
        // entry streams.
        let pending = JsFuture::from(sha256_of_blob_range(&self.subtle, &self.blob, start as f64, end as f64));
        Some(Box::pin(async move {
            let failed =
                |what: String| Error::unavailable(format!("hashing bytes {start}..{end} of the upload: {what}"));
            let hash = pending.await.map_err(|e| failed(super::convert::js_error_message(&e)))?;
            let bytes: [u8; 32] = hash
                .dyn_into::<ArrayBuffer>()
                .ok()
                .map(|b| Uint8Array::new(&b).to_vec())
                .and_then(|v| v.try_into().ok())
                .ok_or_else(|| failed("WebCrypto gave no 32-byte digest".into()))?;
            Ok(Digest::from_sha256_bytes(&bytes))
        }))
    }

    fn slice(&self, start: u64, end: u64) -> crate::storage::HostValue {
        std::rc::Rc::new(blob_slice(&self.blob, start as f64, end as f64))
    }
}

#[cfg(debug_assertions)]
thread_local! {
    /// Ranges handed to WebCrypto so far (the tests' builds only: they check the path ran).
    pub(super) static HOST_HASHED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}
