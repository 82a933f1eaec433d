//! The platform host of the wasm build ([`crate::host::Host`]): `Date.now`, `Math.random`, Web
//! Locks where the environment has them (browsers), and Node's native SHA-256 under Node.
//! [`install_host`] puts it in place; every way into a store calls it first.

use crate::host::{self, Host, HostSha256};
use futures::future::LocalBoxFuture;
use js_sys::{Array, Function, Promise, Reflect};
use std::cell::{OnceCell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Installs the browser's and Node's host (once; later calls return at once).
pub fn install_host() {
    if !host::installed() {
        host::install(Rc::new(WebHost));
    }
}

struct WebHost;

impl Host for WebHost {
    fn now_millis(&self) -> u64 {
        js_sys::Date::now() as u64
    }
    fn random_u32(&self) -> u32 {
        (js_sys::Math::random() * u32::MAX as f64) as u32
    }
    fn hold_lock(&self, name: String) -> LocalBoxFuture<'static, ()> {
        Box::pin(web_locks::hold(name))
    }
    fn held_locks(&self) -> LocalBoxFuture<'static, Option<Vec<String>>> {
        Box::pin(web_locks::held())
    }
    fn sha256_engine(&self) -> Option<&'static str> {
        node_crypto::create_hash().map(|_| "node:crypto")
    }
    fn new_sha256(&self) -> Option<Box<dyn HostSha256>> {
        node_crypto::new_hash().map(|h| Box::new(h) as Box<dyn HostSha256>)
    }
}

fn get(target: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(target, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

/// Node's streaming SHA-256: a hash object per hasher; bytes are passed as a view on wasm
/// memory (no copy on our side; Node consumes it before returning, so a later memory growth
/// cannot detach it under Node).
mod node_crypto {
    use super::*;

    #[wasm_bindgen]
    extern "C" {
        /// A Node `crypto.Hash`.
        pub(super) type NodeHash;
        #[wasm_bindgen(method)]
        fn update(this: &NodeHash, data: &[u8]);
        #[wasm_bindgen(method)]
        fn digest(this: &NodeHash, encoding: &str) -> String;
        #[wasm_bindgen(method)]
        fn copy(this: &NodeHash) -> NodeHash;
    }

    thread_local! {
        /// Node's `crypto.createHash`, looked up once; `None` outside Node (or before Node 20.16).
        static CREATE_HASH: OnceCell<Option<Function>> = const { OnceCell::new() };
    }

    /// `process.getBuiltinModule("node:crypto").createHash`, if this is Node and it has it.
    fn find_create_hash() -> Option<Function> {
        let process = get(&js_sys::global(), "process")?;
        get(&get(&process, "versions")?, "node")?;
        let get_builtin: Function = get(&process, "getBuiltinModule")?.dyn_into().ok()?;
        let crypto = get_builtin.call1(&process, &JsValue::from_str("node:crypto")).ok()?;
        get(&crypto, "createHash")?.dyn_into().ok()
    }

    pub(super) fn create_hash() -> Option<Function> {
        CREATE_HASH.with(|cell| cell.get_or_init(find_create_hash).clone())
    }

    pub(super) fn new_hash() -> Option<NodeHash> {
        create_hash()?.call1(&JsValue::NULL, &JsValue::from_str("sha256")).ok().map(JsCast::unchecked_into)
    }

    impl HostSha256 for NodeHash {
        fn update(&mut self, data: &[u8]) {
            NodeHash::update(self, data);
        }
        fn fork(&self) -> Box<dyn HostSha256> {
            // `copy()` forks the hash state; cloning the JS handle would share it.
            Box::new(self.copy())
        }
        fn finish_hex(self: Box<Self>) -> String {
            self.digest("hex")
        }
    }
}

/// Web Locks: each session holds one named after it while it runs (the browser releases it
/// when the tab closes or crashes), so `navigator.locks.query()` says which sessions live.
mod web_locks {
    use super::*;

    thread_local! {
        /// Resolves once this program holds its lock (None: not requested yet).
        static HELD: RefCell<Option<Promise>> = const { RefCell::new(None) };
    }

    /// `navigator.locks`, where the environment has Web Locks.
    fn locks() -> Option<JsValue> {
        get(&get(&js_sys::global(), "navigator")?, "locks")
    }

    pub(super) async fn hold(name: String) {
        let Some(locks) = locks() else { return };
        let held = HELD.with(|h| {
            h.borrow_mut()
                .get_or_insert_with(|| {
                    let name = JsValue::from_str(&name);
                    Promise::new(&mut |granted, _| {
                        // The callback runs once the lock is granted; the promise it returns
                        // never settles, so the lock is held until the program ends.
                        let grant = granted.clone();
                        let on_granted = Closure::once_into_js(move |_lock: JsValue| -> Promise {
                            let _ = grant.call0(&JsValue::UNDEFINED);
                            Promise::new(&mut |_, _| {})
                        });
                        let request: Option<Function> = get(&locks, "request").and_then(|f| f.dyn_into().ok());
                        match request {
                            Some(request) => {
                                if request.call2(&locks, &name, &on_granted).is_err() {
                                    let _ = granted.call0(&JsValue::UNDEFINED);
                                }
                            }
                            None => {
                                let _ = granted.call0(&JsValue::UNDEFINED);
                            }
                        }
                    })
                })
                .clone()
        });
        let _ = JsFuture::from(held).await;
    }

    pub(super) async fn held() -> Option<Vec<String>> {
        let locks = locks()?;
        let query: Function = get(&locks, "query")?.dyn_into().ok()?;
        let snapshot = JsFuture::from(query.call0(&locks).ok()?.dyn_into::<Promise>().ok()?).await.ok()?;
        let held: Array = get(&snapshot, "held")?.dyn_into().ok()?;
        Some(held.iter().filter_map(|lock| get(&lock, "name").and_then(|n| n.as_string())).collect())
    }
}
