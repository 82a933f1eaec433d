//! [`HostUpload`] for a Blob or File upload: WebCrypto hashes a slice of it, in a worker where
//! one can be made, while wasm streams the same bytes into storage. The browser reads the slice
//! from its own storage and hashes it with native SHA-256: in a 200 MB `docker load` in
//! Chromium, sha2 in wasm had been a third of the page's time; WebCrypto on the page's thread
//! took a third of what sha2 took there, and in a worker none of it is the page's.

use crate::digest::{Digest, PendingDigest};
use crate::error::Error;
use crate::import::HostUpload;
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// Smaller ranges are hashed as they stream: a round trip to the browser costs about what sha2
/// takes for a few hundred KiB.
const MIN_RANGE: u64 = 1 << 20;
/// Larger ranges are hashed as they stream too: WebCrypto hashes one buffer, so the whole range
/// is in memory at once.
const MAX_RANGE: u64 = 128 << 20;

#[wasm_bindgen(inline_js = r#"
export function plain_blob_hasher(blob) {
  // Only a Blob or File of the platform's own, with nothing of its own overridden: its bytes
  // cannot change, so the slice hashed here is the bytes the import streams.
  const proto = Object.getPrototypeOf(blob);
  const plain = (typeof Blob === "function" && proto === Blob.prototype) ||
    (typeof File === "function" && proto === File.prototype);
  const subtle = globalThis.crypto?.subtle;
  if (!plain || typeof subtle?.digest !== "function" ||
      Object.hasOwn(blob, "slice") || Object.hasOwn(blob, "arrayBuffer")) {
    return null;
  }
  return subtle;
}
// Hashing in a worker keeps both the read and the hash off the page's thread (Chromium hashes
// on the thread that calls digest). Where no worker can be made (Node, a CSP without blob:
// workers) the page's own crypto.subtle does it.
const WORKER_SOURCE = `onmessage = async ({ data: { id, blob, start, end } }) => {
  try {
    const buffer = await blob.slice(start, end).arrayBuffer();
    if (buffer.byteLength !== end - start) throw new Error("the slice " + start + ".." + end + " holds " + buffer.byteLength + " bytes");
    const hash = await crypto.subtle.digest("SHA-256", buffer);
    postMessage({ id, hash }, [hash]);
  } catch (e) {
    postMessage({ id, error: String(e?.message ?? e) });
  }
};`;
let worker = null;
let idleTimer = null;
const waiting = new Map();
let nextId = 0;
function hashingWorker() {
  if (worker !== null) return worker;
  if (typeof Worker !== "function" || typeof URL?.createObjectURL !== "function") return null;
  try {
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    worker = new Worker(url);
    URL.revokeObjectURL(url);
  } catch {
    worker = false;
    return null;
  }
  worker.onmessage = ({ data: { id, hash, error } }) => {
    const w = waiting.get(id);
    waiting.delete(id);
    if (error === undefined) w.resolve(hash); else w.reject(new Error(error));
    if (waiting.size === 0) {
      // An idle worker goes after a while; the next import makes a new one.
      idleTimer = setTimeout(() => { if (waiting.size === 0 && worker) { worker.terminate(); worker = null; } }, 5000);
    }
  };
  worker.onerror = (e) => {
    // A worker that cannot run (a CSP that lets it be made but not load): fail what it holds
    // over to the page's own hashing, and stop using workers.
    e.preventDefault?.();
    const held = [...waiting.values()];
    waiting.clear();
    worker.terminate();
    worker = false;
    for (const w of held) w.fallback();
  };
  return worker;
}
function onThisThread(subtle, blob, start, end) {
  return Blob.prototype.slice.call(blob, start, end).arrayBuffer().then((buffer) => {
    if (buffer.byteLength !== end - start) {
      throw new Error(`the slice ${start}..${end} holds ${buffer.byteLength} bytes`);
    }
    return subtle.digest("SHA-256", buffer);
  });
}
export function blob_slice(blob, start, end) {
  return Blob.prototype.slice.call(blob, start, end);
}
export function sha256_of_blob_range(subtle, blob, start, end) {
  const w = worker === false ? null : hashingWorker();
  if (!w) return onThisThread(subtle, blob, start, end);
  clearTimeout(idleTimer);
  return new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject, fallback: () => onThisThread(subtle, blob, start, end).then(resolve, reject) });
    w.postMessage({ id, blob: Blob.prototype.slice.call(blob, start, end), start: 0, end: end - start });
  });
}
"#)]
extern "C" {
    /// `crypto.subtle` if `blob` is a plain Blob or File and WebCrypto is there, else null.
    fn plain_blob_hasher(blob: &JsValue) -> JsValue;
    /// `blob.slice(start, end)` by the platform's own `slice`.
    fn blob_slice(blob: &JsValue, start: f64, end: f64) -> JsValue;
    /// The SHA-256 of `blob.slice(start, end)`, as an ArrayBuffer of 32 bytes.
    fn sha256_of_blob_range(subtle: &JsValue, blob: &JsValue, start: f64, end: f64) -> js_sys::Promise;
}

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
        if crate::digest::sha256_engine() != "sha2" {
            return None;
        }
        let subtle = plain_blob_hasher(blob);
        (!subtle.is_null()).then(|| BlobRangeHasher { blob: blob.clone(), subtle })
    }
}

impl HostUpload for BlobRangeHasher {
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
