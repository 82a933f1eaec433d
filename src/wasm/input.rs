//! What `store.import(input, { onProgress, signal })` accepts, turned into a stream of byte
//! chunks for [`crate::store::stream_import`]. Large inputs are never copied whole: typed
//! arrays and Blobs are read by slices, ReadableStreams chunk by chunk.

use super::convert::js_error_message;
use crate::error::{Error, Result};
use futures::stream::{self, Stream};
use js_sys::{ArrayBuffer, Function, Reflect, Uint8Array};
use std::pin::Pin;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ReadableStreamDefaultReader};

/// The size of the chunks handed to the importer (it gives the event loop a turn between two).
const PIECE: u64 = 1 << 20;
/// The size of the slices a Blob is read by: each `arrayBuffer()` of a slice is a round trip to
/// the browser's blob storage, so fewer, larger reads (a 73 MB Blob read 1.4–1.8 times faster
/// in Chromium by 4 MiB than by 1 MiB slices); they are handed on a piece at a time.
const BLOB_SLICE: u64 = 4 << 20;
/// Slices asked for beyond the one being handed on. A read makes progress only when the event
/// loop turns, and the import gives it a turn only between pieces: with one slice ahead, a
/// 10,000-image import in Node sat idle a fifth of its streaming waiting for the next slice;
/// several in flight at once read in parallel (a 73 MB Blob alone: 110–170 ms one slice at a
/// time, 52–58 ms three at a time).
const BLOB_SLICES_AHEAD: usize = 3;

/// The chunks of an import input.
pub(super) type Chunks = Pin<Box<dyn Stream<Item = Result<Vec<u8>>>>>;

/// An import input, recognised by shape (so Node's Blob and streams from other realms work).
pub(super) enum ImportInput {
    Bytes(Uint8Array),
    Blob(Blob),
    Stream(ReadableStreamDefaultReader),
}

fn has_method(v: &JsValue, name: &str) -> bool {
    Reflect::get(v, &JsValue::from_str(name)).is_ok_and(|f| f.is_function())
}

/// `target[name](...args)`, with a missing method or a thrown exception as `Err`.
fn call_method(target: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f = Reflect::get(target, &JsValue::from_str(name))?;
    let f = f.dyn_into::<Function>().map_err(|_| JsValue::from_str(&format!("{name} is not a function")))?;
    f.apply(target, &args.iter().collect::<js_sys::Array>())
}

/// Tells a stream's source to stop (after a failed import). A reader without `cancel`, or one
/// whose `cancel` throws or rejects, is fine: the import's own error is what the caller gets.
pub(super) fn cancel_reader(reader: &ReadableStreamDefaultReader) {
    if let Ok(pending) = call_method(reader, "cancel", &[]) {
        if let Ok(p) = pending.dyn_into::<js_sys::Promise>() {
            // Await it, so that a rejection is handled rather than reported as unhandled.
            wasm_bindgen_futures::spawn_local(async move {
                let _ = JsFuture::from(p).await;
            });
        }
    }
}

impl ImportInput {
    /// Recognises `Uint8Array` (and Node's `Buffer`), `ArrayBuffer`, `Blob`/`File` and
    /// `ReadableStream<Uint8Array>`; anything else is `invalid_argument`.
    pub(super) fn from_js(input: &JsValue) -> Result<ImportInput> {
        if let Some(bytes) = input.dyn_ref::<Uint8Array>() {
            return Ok(ImportInput::Bytes(bytes.clone()));
        }
        if input.is_instance_of::<ArrayBuffer>() {
            return Ok(ImportInput::Bytes(Uint8Array::new(input)));
        }
        if input.is_object() && has_method(input, "getReader") {
            // Called by name, with its exception caught: a locked stream (or a stream-like object
            // whose getReader throws) must reject the import, not throw out of the bindings.
            let reader = call_method(input, "getReader", &[]).map_err(|e| {
                Error::invalid(format!("import: the stream's getReader() threw: {}", js_error_message(&e)))
            })?;
            if !has_method(&reader, "read") {
                return Err(Error::invalid("import: the stream's getReader() returned no reader with a read() method"));
            }
            return Ok(ImportInput::Stream(reader.unchecked_into()));
        }
        if input.is_object() && has_method(input, "slice") && has_method(input, "arrayBuffer") {
            let size = Reflect::get(input, &JsValue::from_str("size")).ok().and_then(|v| v.as_f64());
            if !size.is_some_and(|n| n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_992.0) {
                return Err(Error::invalid("import: the Blob-like input has no valid size"));
            }
            return Ok(ImportInput::Blob(input.clone().unchecked_into()));
        }
        let got = if input.is_null() { "null".to_string() } else { input.js_typeof().as_string().unwrap_or_default() };
        Err(Error::invalid(format!(
            "import: input must be a Uint8Array, ArrayBuffer, Blob/File or ReadableStream<Uint8Array>, got {got}"
        )))
    }

    /// The input's size when known up front.
    pub(super) fn size(&self) -> Option<u64> {
        match self {
            ImportInput::Bytes(b) => Some(u64::from(b.length())),
            ImportInput::Blob(b) => Some(b.size() as u64),
            ImportInput::Stream(_) => None,
        }
    }

    /// What hashes large entries from the input's own bytes: WebCrypto for a plain Blob or File
    /// (see [`super::upload_hasher`]).
    pub(super) fn host_upload(&self) -> Option<std::rc::Rc<dyn crate::storage::HostBytes>> {
        match self {
            ImportInput::Blob(blob) => super::upload_hasher::BlobRangeHasher::for_blob(blob)
                .map(|h| std::rc::Rc::new(h) as std::rc::Rc<dyn crate::storage::HostBytes>),
            _ => None,
        }
    }

    /// The reader to cancel if the import fails (only streams have one).
    pub(super) fn reader(&self) -> Option<ReadableStreamDefaultReader> {
        match self {
            ImportInput::Stream(r) => Some(r.clone()),
            _ => None,
        }
    }

    /// The input as a stream of chunks. `signal`, when aborted, ends it with `aborted`
    /// before the next read (the importer polls it too).
    pub(super) fn into_chunks(self, signal: Option<JsValue>) -> Chunks {
        let state = (self, 0u64, 0usize, None);
        Box::pin(stream::unfold(Some(state), move |state| {
            let signal = signal.clone();
            async move {
                let (input, offset, index, ahead) = state?;
                // Give the event loop a turn before every chunk, whatever the backend: without it
                // an import from memory into the memory backend never lets a timer (an
                // AbortSignal.timeout, a repaint) run until it ends.
                let _ = JsFuture::from(yield_task()).await;
                if signal.as_ref().is_some_and(is_aborted) {
                    return Some((Err(Error::aborted("import aborted by its AbortSignal")), None));
                }
                match input.read(offset, index, ahead).await {
                    Ok(Some((bytes, next, ahead))) => Some((Ok(bytes), Some((input, next, index + 1, ahead)))),
                    Ok(None) => None,
                    Err(e) => Some((Err(e), None)),
                }
            }
        }))
    }

    /// The chunk at `offset` (slices) or the stream's next chunk (`index` is its number, for
    /// messages), with the offset after it; `None` at the end. A Blob's next slice is asked for
    /// as soon as one is read (`ahead`), so the browser reads it while the importer works on
    /// this one's pieces.
    async fn read(&self, offset: u64, index: usize, ahead: Option<Ahead>) -> Result<Option<ReadChunk>> {
        match self {
            ImportInput::Bytes(bytes) => {
                // A typed array's length fits in u32, so these conversions are exact.
                let len = u64::from(bytes.length());
                if offset >= len {
                    return Ok(None);
                }
                let end = (offset + PIECE).min(len);
                Ok(Some((bytes.subarray(offset as u32, end as u32).to_vec(), end, None)))
            }
            ImportInput::Blob(blob) => {
                let mut ahead = ahead.unwrap_or_default();
                let (bytes, at) = match ahead.current.take() {
                    Some(current) => current,
                    None => {
                        ahead.ask(blob, offset);
                        let Some(slice) = ahead.asked.pop_front() else { return Ok(None) };
                        (slice.finish().await?, 0)
                    }
                };
                // A slice is at most BLOB_SLICE bytes: these fit in u32.
                let piece_end = (at + PIECE as u32).min(bytes.length());
                let piece = bytes.subarray(at, piece_end).to_vec();
                let end = offset + u64::from(piece_end - at);
                // The slices after this one start where it ends.
                ahead.ask(blob, offset + u64::from(bytes.length() - at));
                if piece_end < bytes.length() {
                    ahead.current = Some((bytes, piece_end));
                }
                Ok(Some((piece, end, Some(ahead))))
            }
            ImportInput::Stream(reader) => {
                let pending = call_method(reader, "read", &[])
                    .map_err(|e| Error::unavailable(format!("import: reading the stream: {}", js_error_message(&e))))?;
                let result = JsFuture::from(js_sys::Promise::resolve(&pending))
                    .await
                    .map_err(|e| Error::unavailable(format!("import: reading the stream: {}", js_error_message(&e))))?;
                let done = Reflect::get(&result, &JsValue::from_str("done")).unwrap_or(JsValue::TRUE);
                if done.is_truthy() {
                    return Ok(None);
                }
                let value = Reflect::get(&result, &JsValue::from_str("value")).unwrap_or(JsValue::UNDEFINED);
                let chunk = value.dyn_ref::<Uint8Array>().ok_or_else(|| {
                    Error::invalid(format!("import: chunk {index} of the ReadableStream is not a Uint8Array"))
                })?;
                Ok(Some((chunk.to_vec(), offset, None)))
            }
        }
    }
}

/// A chunk read, the offset after it and what a Blob input has beyond it.
type ReadChunk = (Vec<u8>, u64, Option<Ahead>);

/// What a Blob input has read or asked for beyond the chunk handed on.
#[derive(Default)]
pub(super) struct Ahead {
    /// The rest of a slice read, from `at`.
    current: Option<(Uint8Array, u32)>,
    /// The slices after it, asked for, in order.
    asked: std::collections::VecDeque<BlobSlice>,
}

impl Ahead {
    /// Asks for slices until [`BLOB_SLICES_AHEAD`] are in flight; `from` is where the first
    /// slice after what is read starts (used only when none is asked for yet).
    fn ask(&mut self, blob: &Blob, from: u64) {
        while self.asked.len() < BLOB_SLICES_AHEAD {
            let at = self.asked.back().map_or(from, |s| s.end);
            match BlobSlice::start(blob, at) {
                Some(slice) => self.asked.push_back(slice),
                None => break,
            }
        }
    }
}

/// A Blob slice whose `arrayBuffer()` was called: the browser reads it meanwhile. A failure to
/// ask is kept and reported when the slice is awaited, in the order of the input.
pub(super) struct BlobSlice {
    offset: u64,
    end: u64,
    pending: Result<JsFuture>,
}

impl BlobSlice {
    /// Asks for the slice of `blob` at `offset`; `None` at the end.
    fn start(blob: &Blob, offset: u64) -> Option<BlobSlice> {
        // Blob sizes are exact in f64 up to 2^53 bytes.
        let size = blob.size() as u64;
        if offset >= size {
            return None;
        }
        let end = (offset + BLOB_SLICE).min(size);
        let pending = Self::ask(blob, offset, end);
        Some(BlobSlice { offset, end, pending })
    }

    fn read_error(offset: u64, e: &JsValue) -> Error {
        Error::unavailable(format!("import: reading the Blob at byte {offset}: {}", js_error_message(e)))
    }

    fn ask(blob: &Blob, offset: u64, end: u64) -> Result<JsFuture> {
        let read = |e: JsValue| Self::read_error(offset, &e);
        // A Blob-like object may hand back anything: call by name, check every result.
        let slice = call_method(blob, "slice", &[JsValue::from_f64(offset as f64), JsValue::from_f64(end as f64)])
            .map_err(read)?;
        if !has_method(&slice, "arrayBuffer") {
            return Err(Error::invalid(format!(
                "import: the Blob's slice({offset}, {end}) returned {}, not a Blob",
                super::args::js_type(&slice)
            )));
        }
        let pending = call_method(&slice, "arrayBuffer", &[]).map_err(read)?;
        Ok(JsFuture::from(js_sys::Promise::resolve(&pending)))
    }

    /// The slice's bytes, checked to be an `ArrayBuffer` of the length asked for.
    async fn finish(self) -> Result<Uint8Array> {
        let BlobSlice { offset, end, pending } = self;
        let buffer = pending?.await.map_err(|e| Self::read_error(offset, &e))?;
        if !buffer.is_instance_of::<ArrayBuffer>() {
            return Err(Error::invalid(format!(
                "import: the Blob's slice at byte {offset} gave {}, not an ArrayBuffer",
                super::args::js_type(&buffer)
            )));
        }
        let bytes = Uint8Array::new(&buffer);
        if u64::from(bytes.length()) != end - offset {
            return Err(Error::invalid(format!(
                "import: the Blob's slice({offset}, {end}) holds {} bytes, not {}",
                bytes.length(),
                end - offset
            )));
        }
        Ok(bytes)
    }
}

#[wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
export function yield_task() {
  return new Promise((resolve) => {
    if (typeof setImmediate === "function") {
      setImmediate(resolve);
    } else if (typeof MessageChannel === "function") {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => { channel.port1.close(); resolve(); };
      channel.port2.postMessage(null);
    } else {
      setTimeout(resolve, 0);
    }
  });
}

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
// on the thread that calls digest). Where no worker can be made (a CSP without blob: workers)
// the page's own crypto.subtle does it.
const WORKER_SOURCE = `onmessage = async ({ data: { id, slice, size } }) => {
  try {
    const buffer = await slice.arrayBuffer();
    if (buffer.byteLength !== size) throw new Error("the slice holds " + buffer.byteLength + " bytes, not " + size);
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
  return blob_slice(blob, start, end).arrayBuffer().then((buffer) => {
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
    w.postMessage({ id, slice: blob_slice(blob, start, end), size: end - start });
  });
}
"#)]
extern "C" {
    /// `crypto.subtle` if `blob` is a plain Blob or File and WebCrypto is there, else null.
    pub(super) fn plain_blob_hasher(blob: &JsValue) -> JsValue;
    /// `blob.slice(start, end)` by the platform's own `slice`.
    pub(super) fn blob_slice(blob: &JsValue, start: f64, end: f64) -> JsValue;
    /// The SHA-256 of `blob.slice(start, end)`, as an ArrayBuffer of 32 bytes.
    pub(super) fn sha256_of_blob_range(subtle: &JsValue, blob: &JsValue, start: f64, end: f64) -> js_sys::Promise;
    /// A promise that settles in a later task (not a microtask), so that timers and
    /// rendering get their turn: `setImmediate` in Node, a `MessageChannel` message in
    /// browsers (not clamped like nested `setTimeout`s).
    fn yield_task() -> js_sys::Promise;
}

/// `signal.aborted`, read by name so any AbortSignal-like object works.
pub(super) fn is_aborted(signal: &JsValue) -> bool {
    Reflect::get(signal, &JsValue::from_str("aborted")).is_ok_and(|v| v.is_truthy())
}
