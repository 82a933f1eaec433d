//! The JavaScript surface (`#[wasm_bindgen]`), and nothing else: JS values and errors in and
//! out, the runtime choice of backend. Store logic lives in the layers below.

mod analysis;
mod args;
mod backend;
mod containerd;
mod contents;
mod convert;
mod docker;
mod docker_types;
mod facade_lock;
mod input;
mod js_backend;
mod list_answers;
mod options;
mod panic;
mod store;
#[cfg(debug_assertions)]
mod test_hooks;
mod types;
mod units;

pub use backend::{AnyBackend, BackendKind};
pub use containerd::{Content, ContentWriter, Namespace};
pub use convert::to_js_error;
pub use js_backend::{JsBackend, JsStorageAdapter};
pub use store::Store;
pub use types::StoreOptions;
pub use units::{human_size, human_size_js};
