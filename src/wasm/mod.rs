//! The JavaScript surface (`#[wasm_bindgen]`), and nothing else: JS values and errors in and
//! out, the runtime choice of backend. Store logic lives in the layers below.

mod analysis;
mod args;
mod backend;
mod containerd;
mod contents;
mod docker;
mod docker_types;
mod error;
mod facade_lock;
mod input;
mod js_backend;
mod panic;
mod store;
#[cfg(debug_assertions)]
mod test_hooks;
mod types;
mod units;

pub use backend::{AnyBackend, BackendKind};
pub use containerd::{Content, ContentWriter, Namespace};
pub use error::to_js_error;
pub use js_backend::{JsBackend, JsStorageAdapter};
pub use store::Store;
pub use types::StoreOptions;
pub use units::{human_size, human_size_js};

/// A call's future as a JS promise: guarded against traps (see [`panic`]), rejecting with a
/// coded `Error`.
pub(crate) fn convert_promise(
    fut: impl std::future::Future<Output = crate::error::Result<wasm_bindgen::JsValue>> + 'static,
) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        panic::check_healthy().map_err(to_js_error)?;
        panic::guarded(fut).await.map_err(to_js_error)
    })
}
