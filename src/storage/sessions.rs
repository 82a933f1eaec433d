//! Who is writing: a session is one running copy of this module (a tab, a worker, a Node
//! process). Chunk sets are named after the session that writes them ([`super::fresh_id`]), and
//! orphan sweeping ([`super::blobs::sweep_orphans`]) asks this module whether a set may still be
//! in use:
//!
//! * sets of this session: only the ones still being written or waiting for their commit
//!   ([`staging`]; a set leaves that list when it is published or discarded);
//! * sets of another session: while that session lives. In browsers every session holds a Web
//!   Lock named after it for as long as it runs (the browser releases it when the tab closes or
//!   crashes), so `navigator.locks.query()` says which sessions live. Where there are no Web
//!   Locks (Node) liveness is unknown and sets younger than a grace period are left alone.
//!
//! So that opening a store costs nothing when there is nothing to sweep, a session marks the
//! store while it has chunks there that are not published ([`marker_ops`]): the marker
//! (`crate::schema::staging_marker`) is written in the commit of a set's first chunk and deleted
//! in the commit after which this session stages nothing. A set is settled only by a commit
//! that published or deleted it, and a failed discard ([`leaked`]) keeps the marker. Opening a store sweeps
//! only when another session's marker is there (`super::blobs::sweep_if_marked`).

use super::{Op, Space};
use std::cell::RefCell;
use std::collections::HashSet;

/// The prefix of the Web Lock each session holds.
pub const LOCK_PREFIX: &str = "imagestore-session:";

thread_local! {
    static SESSION: String = format!("{:08x}{:08x}", super::noise(), super::noise().rotate_left(13) ^ 0x5bd1_e995);
    static STAGING: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
    /// Whether a marker of this session may be in a store (it is deleted once nothing stages).
    static MARKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Set when a discard failed: orphans of this session may be left, so its marker stays.
    static LEAKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// This session's id (hex, no `-`).
pub fn this_session() -> String {
    SESSION.with(|s| s.clone())
}

/// The session that wrote chunk set `set` (`<millis>-<session>-<n>`), if the name says.
pub fn session_of(set: &str) -> Option<&str> {
    set.split('-').nth(1)
}

/// When chunk set `set` was started, in milliseconds since the epoch (0 if the name is odd).
pub fn born_of(set: &str) -> u64 {
    set.split('-').next().and_then(|t| t.parse().ok()).unwrap_or(0)
}

/// Notes that this session writes chunk set `set` and has not published or discarded it yet.
pub fn staging(set: &str) {
    STAGING.with(|s| s.borrow_mut().insert(set.to_string()));
}

/// Notes that `set` is published (a blob record points to it) or deleted.
pub fn settled(set: &str) {
    STAGING.with(|s| s.borrow_mut().remove(set));
}

/// The marker operations a commit of `ops` needs (see the module text), given the chunk sets
/// it settles: the marker with a staging set's first chunk, its deletion once nothing stages.
pub fn marker_ops(ops: &[Op], settled: &[String]) -> Vec<Op> {
    let first_chunk_of_staging_set = ops.iter().any(|op| match op {
        Op::Put { space: Space::Chunks, key, .. } => {
            key.rsplit_once('/').is_some_and(|(set, index)| index.bytes().all(|b| b == b'0') && is_staging(set))
        }
        _ => false,
    });
    let key = crate::schema::staging_marker(&this_session());
    if first_chunk_of_staging_set {
        return vec![Op::put_meta(key, super::now_millis().to_string())];
    }
    let nothing_left = STAGING.with(|s| s.borrow().iter().all(|set| settled.iter().any(|done| done == set)));
    if nothing_left && MARKED.with(|m| m.get()) && !LEAKED.with(|l| l.get()) {
        return vec![Op::delete_meta(key)];
    }
    Vec::new()
}

/// Notes that deleting chunk sets failed: they are orphans now, which only a sweep removes, so
/// this session's marker stays for the next session that opens the store.
pub fn leaked() {
    LEAKED.with(|l| l.set(true));
}

/// Notes that a commit carrying `marker_ops` succeeded.
pub fn marker_committed(ops: &[Op]) {
    for op in ops {
        match op {
            Op::Put { .. } => MARKED.with(|m| m.set(true)),
            Op::Delete { .. } => MARKED.with(|m| m.set(false)),
            _ => {}
        }
    }
}

/// Whether this session may still publish `set`.
pub fn is_staging(set: &str) -> bool {
    STAGING.with(|s| s.borrow().contains(set))
}

/// The sessions alive now (in browsers, from the Web Locks they hold), or `None` where that
/// cannot be known.
pub async fn live_sessions() -> Option<HashSet<String>> {
    #[cfg(target_arch = "wasm32")]
    {
        web_locks::held_sessions().await
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

/// Takes this session's Web Lock (once; later calls return at once) so that other tabs see it
/// alive. Call it before writing anything.
pub async fn announce() {
    #[cfg(target_arch = "wasm32")]
    web_locks::hold_own_lock().await;
}

#[cfg(target_arch = "wasm32")]
mod web_locks {
    use super::{this_session, LOCK_PREFIX};
    use js_sys::{Array, Function, Promise, Reflect};
    use std::cell::RefCell;
    use std::collections::HashSet;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    thread_local! {
        /// Resolves once this session holds its lock (None: not requested yet).
        static HELD: RefCell<Option<Promise>> = const { RefCell::new(None) };
    }

    fn get(target: &JsValue, key: &str) -> Option<JsValue> {
        Reflect::get(target, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined() && !v.is_null())
    }

    /// `navigator.locks`, where the environment has Web Locks.
    fn locks() -> Option<JsValue> {
        get(&get(&js_sys::global(), "navigator")?, "locks")
    }

    pub(super) async fn hold_own_lock() {
        let Some(locks) = locks() else { return };
        let held = HELD.with(|h| {
            h.borrow_mut()
                .get_or_insert_with(|| {
                    let name = JsValue::from_str(&format!("{LOCK_PREFIX}{}", this_session()));
                    Promise::new(&mut |granted, _| {
                        // The callback runs once the lock is granted; the promise it returns
                        // never settles, so the lock is held until the session ends.
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

    pub(super) async fn held_sessions() -> Option<HashSet<String>> {
        let locks = locks()?;
        let query: Function = get(&locks, "query")?.dyn_into().ok()?;
        let snapshot = JsFuture::from(query.call0(&locks).ok()?.dyn_into::<Promise>().ok()?).await.ok()?;
        let held: Array = get(&snapshot, "held")?.dyn_into().ok()?;
        let mut out = HashSet::new();
        for lock in held.iter() {
            if let Some(name) = get(&lock, "name").and_then(|n| n.as_string()) {
                if let Some(session) = name.strip_prefix(LOCK_PREFIX) {
                    out.insert(session.to_string());
                }
            }
        }
        // This session counts as alive even before its lock was granted.
        out.insert(this_session());
        Some(out)
    }
}
