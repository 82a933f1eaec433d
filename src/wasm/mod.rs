//! The JavaScript surface (`#[wasm_bindgen]`) and the platform code under it: JS values and
//! errors in and out, the runtime choice of backend, the IndexedDB backend, and the host the
//! core asks for time, randomness, locks and Node's SHA-256 ([`host`]). Store logic lives in
//! the layers below; only this folder names `js_sys` / `web_sys` (scripts/check-layers.sh).

mod analysis;
mod args;
mod backend;
mod containerd;
mod contents;
mod convert;
mod docker;
mod docker_types;
mod facade_lock;
mod heap;
mod host;
pub mod indexeddb;
mod input;
mod js_backend;
mod list_answers;
mod options;
mod panic;
mod rows;
mod store;
#[cfg(debug_assertions)]
mod test_hooks;
mod types;
mod units;
mod upload_hasher;

pub use backend::{AnyBackend, BackendKind};
pub use containerd::{Content, ContentWriter, Namespace};
pub use convert::to_js_error;
pub use host::install_host;
pub use js_backend::{JsBackend, JsStorageAdapter};
pub use rows::{image_rows_js, truncate_id_js};
pub use store::Store;
pub use types::StoreOptions;
pub use units::{
    created_since_span_js, human_duration_js, human_durations_js, human_size, human_size_js, human_sizes_js,
};
