//! What `store.import(input, { onProgress, signal })` accepts, turned into a stream of byte
//! chunks for [`crate::store::stream_import`]. Large inputs are never copied whole: typed
//! arrays and Blobs are read by slices, ReadableStreams chunk by chunk.

use crate::error::{Error, Result};
use futures::stream::{self, Stream};
use js_sys::{ArrayBuffer, Reflect, Uint8Array};
use std::pin::Pin;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ReadableStream, ReadableStreamDefaultReader};

/// Slice size for in-memory and Blob inputs.
const SLICE: u64 = 1 << 20;

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

fn js_error_message(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
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
            let stream: &ReadableStream = input.unchecked_ref();
            let reader = stream.get_reader().unchecked_into::<ReadableStreamDefaultReader>();
            return Ok(ImportInput::Stream(reader));
        }
        if input.is_object() && has_method(input, "slice") && has_method(input, "arrayBuffer") {
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
        let state = (self, 0u64, 0usize);
        Box::pin(stream::unfold(Some(state), move |state| {
            let signal = signal.clone();
            async move {
                let (input, offset, index) = state?;
                if signal.as_ref().is_some_and(is_aborted) {
                    return Some((Err(Error::aborted("import aborted by its AbortSignal")), None));
                }
                match input.read(offset, index).await {
                    Ok(Some((bytes, next))) => Some((Ok(bytes), Some((input, next, index + 1)))),
                    Ok(None) => None,
                    Err(e) => Some((Err(e), None)),
                }
            }
        }))
    }

    /// The chunk at `offset` (slices) or the stream's next chunk (`index` is its number, for
    /// messages); `None` at the end.
    async fn read(&self, offset: u64, index: usize) -> Result<Option<(Vec<u8>, u64)>> {
        match self {
            ImportInput::Bytes(bytes) => {
                // A typed array's length fits in u32, so these conversions are exact.
                let len = u64::from(bytes.length());
                if offset >= len {
                    return Ok(None);
                }
                let end = (offset + SLICE).min(len);
                Ok(Some((bytes.subarray(offset as u32, end as u32).to_vec(), end)))
            }
            ImportInput::Blob(blob) => {
                // Blob sizes are exact in f64 up to 2^53 bytes.
                let size = blob.size() as u64;
                if offset >= size {
                    return Ok(None);
                }
                let end = (offset + SLICE).min(size);
                let read = |e: JsValue| {
                    Error::unavailable(format!("import: reading the Blob at byte {offset}: {}", js_error_message(&e)))
                };
                let slice = blob.slice_with_f64_and_f64(offset as f64, end as f64).map_err(read)?;
                let buffer = JsFuture::from(slice.array_buffer()).await.map_err(read)?;
                Ok(Some((Uint8Array::new(&buffer).to_vec(), end)))
            }
            ImportInput::Stream(reader) => {
                let result = JsFuture::from(reader.read())
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
                Ok(Some((chunk.to_vec(), offset)))
            }
        }
    }
}

/// `signal.aborted`, read by name so any AbortSignal-like object works.
pub(super) fn is_aborted(signal: &JsValue) -> bool {
    Reflect::get(signal, &JsValue::from_str("aborted")).is_ok_and(|v| v.is_truthy())
}
