//! Debug builds only (the tests' builds; `scripts/build.sh` builds the package in release, where
//! none of this exists): a way to make a call panic, so that tests can check what a panic does
//! to the call and to the store (see [`super::panic`]).

use super::args;
use super::convert::promise;
use super::panic::entry;
use super::store::Store;
use crate::error::{Error, Result};
use js_sys::Promise;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl Store {
    /// Makes the next argument conversion of any entry point panic (see
    /// [`super::args::conversion_point`]).
    #[wasm_bindgen(js_name = __panicInNextArgumentForTests)]
    pub fn panic_in_next_argument_for_tests() {
        args::PANIC_IN_NEXT_CONVERSION.with(|p| p.set(true));
    }

    /// Disarms [`Store::panic_in_next_argument_for_tests`]; whether it was still armed (no
    /// conversion ran since).
    #[wasm_bindgen(js_name = __disarmPanicInNextArgumentForTests)]
    pub fn disarm_panic_in_next_argument_for_tests() -> bool {
        args::PANIC_IN_NEXT_CONVERSION.with(|p| p.replace(false))
    }

    /// How many byte ranges of uploads WebCrypto was asked to hash so far (see
    /// [`super::upload_hasher`]).
    #[wasm_bindgen(js_name = __hostHashedRangesForTests)]
    pub fn host_hashed_ranges_for_tests() -> u32 {
        super::upload_hasher::HOST_HASHED.with(|n| n.get())
    }

    /// Panics inside a call: `"locked"` while holding the store's lock (after letting other
    /// calls queue for it), `"alloc"` as a failed allocation does there, `"unlocked"` holding
    /// nothing, `"sync"` before its promise exists (while converting the arguments).
    #[wasm_bindgen(js_name = __panicForTests)]
    pub fn panic_for_tests(&self, #[wasm_bindgen(unchecked_param_type = "string")] kind: JsValue) -> Promise {
        entry(|| {
            let prepared = args::string(&kind, "__panicForTests: kind").and_then(|k| Ok((k, self.facade_for("test")?)));
            if prepared.as_ref().is_ok_and(|(k, _)| k == "sync") {
                panic!("__panicForTests(\"sync\") panicked in the call's synchronous part, as asked");
            }
            promise(async move {
                let (kind, facade) = prepared?;
                let held = match kind.as_str() {
                    "locked" | "alloc" => Some(facade.lock().await?),
                    "unlocked" => None,
                    _ => return Err(Error::invalid(format!("__panicForTests: unknown kind {kind:?}"))),
                };
                // Let the calls started after this one queue for the lock.
                wasm_bindgen_futures::JsFuture::from(Promise::resolve(&JsValue::UNDEFINED)).await.ok();
                if kind == "alloc" {
                    std::alloc::handle_alloc_error(
                        std::alloc::Layout::from_size_align(1 << 31, 8).expect("a valid layout"),
                    );
                }
                let _ = held.is_some();
                panic!("__panicForTests({kind:?}) panicked as asked");
                #[allow(unreachable_code)]
                Result::<JsValue>::Ok(JsValue::UNDEFINED)
            })
        })
    }
}
