//! The SHA-256 engine of the wasm build: Node's native `crypto.createHash("sha256")` when running
//! under Node (several times faster than sha2 compiled to wasm), the Rust sha2 elsewhere. Browsers
//! keep sha2: WebCrypto's `digest` is one-shot and asynchronous, so it cannot stream.
//!
//! Small inputs never reach JS: the first [`BATCH`] bytes are buffered, and an input that ends
//! before filling the buffer (IDs, chain IDs, small records) is hashed by sha2, which is cheaper
//! than creating a Node hash object. Past that, bytes go to Node in batches of at least
//! [`BATCH`] bytes, one JS call per batch, passed as a view on wasm memory (no copy on our side;
//! Node consumes it before returning, so a later memory growth cannot detach it under Node).

use js_sys::{Function, Reflect};
use sha2::Digest as _;
use std::cell::OnceCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Bytes gathered before a call into Node: large enough that the call's fixed cost vanishes
/// beside the hashing, small enough to be a fixed buffer.
pub(super) const BATCH: usize = 64 << 10;

#[wasm_bindgen]
extern "C" {
    /// A Node `crypto.Hash`.
    #[derive(Clone)]
    type NodeHash;
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
    let get = |obj: &JsValue, name: &str| {
        Reflect::get(obj, &JsValue::from_str(name)).ok().filter(|v| !v.is_undefined() && !v.is_null())
    };
    let process = get(&js_sys::global(), "process")?;
    get(&get(&process, "versions")?, "node")?;
    let get_builtin: Function = get(&process, "getBuiltinModule")?.dyn_into().ok()?;
    let crypto = get_builtin.call1(&process, &JsValue::from_str("node:crypto")).ok()?;
    get(&crypto, "createHash")?.dyn_into().ok()
}

fn new_node_hash() -> Option<NodeHash> {
    let create = CREATE_HASH.with(|cell| cell.get_or_init(find_create_hash).clone())?;
    create.call1(&JsValue::NULL, &JsValue::from_str("sha256")).ok().map(JsCast::unchecked_into)
}

/// Whether hashers made now use Node's native SHA-256.
pub(super) fn uses_node_crypto() -> bool {
    CREATE_HASH.with(|cell| cell.get_or_init(find_create_hash).is_some())
}

#[derive(Clone)]
enum State {
    /// Under Node, before [`BATCH`] bytes arrived: everything so far.
    Buffering(Vec<u8>),
    /// Node's hash, with the bytes not yet passed to it (fewer than [`BATCH`]).
    Node {
        hash: NodeHash,
        batch: Vec<u8>,
    },
    Rust(sha2::Sha256),
}

/// Streaming SHA-256 on the best engine available (see the module comment).
pub(super) struct Engine(State);

impl Default for Engine {
    fn default() -> Self {
        Engine(if uses_node_crypto() { State::Buffering(Vec::new()) } else { State::Rust(sha2::Sha256::new()) })
    }
}

impl Clone for Engine {
    fn clone(&self) -> Self {
        Engine(match &self.0 {
            // `copy()` forks the hash state; cloning the JS handle would share it.
            State::Node { hash, batch } => State::Node { hash: hash.copy(), batch: batch.clone() },
            other => other.clone(),
        })
    }
}

impl Engine {
    pub(super) fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            State::Rust(h) => h.update(data),
            State::Buffering(buf) if buf.len() + data.len() < BATCH => buf.extend_from_slice(data),
            State::Buffering(buf) => {
                let buffered = std::mem::take(buf);
                self.0 = match new_node_hash() {
                    Some(hash) => State::Node { hash, batch: buffered },
                    None => State::Rust(sha2::Sha256::new_with_prefix(&buffered)),
                };
                self.update(data);
            }
            State::Node { hash, batch } => {
                if batch.len() + data.len() < BATCH {
                    batch.extend_from_slice(data);
                    return;
                }
                if !batch.is_empty() {
                    hash.update(batch);
                    batch.clear();
                }
                if data.len() >= BATCH {
                    hash.update(data);
                } else {
                    batch.extend_from_slice(data);
                }
            }
        }
    }

    pub(super) fn finish_hex(self) -> String {
        match self.0 {
            State::Buffering(buf) => hex::encode(sha2::Sha256::digest(&buf)),
            State::Rust(h) => hex::encode(h.finalize()),
            State::Node { hash, batch } => {
                if !batch.is_empty() {
                    hash.update(&batch);
                }
                hash.digest("hex")
            }
        }
    }
}
