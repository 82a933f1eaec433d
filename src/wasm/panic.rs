//! What happens if Rust panics (or an allocation fails) despite the limits that are meant to
//! make it impossible. wasm32 on stable Rust cannot unwind: a panic runs the hook, then traps
//! (`unreachable`), and the trap unwinds the wasm frames like a JS exception, without running
//! any destructor. Left alone, that trap ends in whatever JS called into wasm — the microtask
//! runner of `wasm-bindgen-futures`, which then reports an uncaught `RuntimeError` (it kills a
//! Node process) and never settles the call's promise.
//!
//! So every call's future is polled through [`guarded`]: the poll goes out to a JS `try`/`catch`
//! and back in, so a trap (or any JS exception thrown through our frames) ends at that `catch`.
//! The call is then *abandoned*: its future is leaked, never touched or dropped again (its state
//! is whatever the trap left, so dropping it could free things twice), its IndexedDB transaction
//! still being filled is aborted (nothing half-written commits), and the promise rejects with
//! code `internal`. What the abandoned call held stays held; the one lock that matters, the
//! store's façade, is taken over by the next call, which reloads the state from the backend
//! first ([`super::facade_lock`]). The instance stays usable.
//!
//! The synchronous part of every entry point (argument conversion, setting up the promise) runs
//! through [`entry`]: inside the same kind of JS `try`/`catch`, so a trap there makes that call
//! reject with `internal` (a coded `Error`, not a `RuntimeError` thrown at the caller) while the
//! method's own frame, and with it wasm-bindgen's borrow of the JS object, returns normally: the
//! object and the instance stay usable. A panic outside both (in code no entry point guards)
//! marks the instance, and from then on every entry point rejects at once with `internal`
//! ([`check_healthy`]), instead of running on inconsistent state.

use crate::error::{Error, ErrorCode, Result};
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = "export function imagestore_guard(f) {
    try { f(); return null; } catch (e) { return e === null || e === undefined ? new Error(String(e)) : e; }
}")]
extern "C" {
    /// Calls `f`; `null` if it returned, else what it threw (a trap is a `RuntimeError`).
    #[wasm_bindgen(js_name = imagestore_guard)]
    fn guard_call(f: &mut dyn FnMut()) -> JsValue;
}

thread_local! {
    /// A panic outside any guarded call: the instance is not trusted any more.
    static PANICKED: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The call being polled (0: none).
    static CURRENT_CALL: Cell<u64> = const { Cell::new(0) };
    static NEXT_CALL: Cell<u64> = const { Cell::new(1) };
    /// The panic message of the guarded call being polled, for its rejection.
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Calls abandoned after a trap (what they hold is never released by them).
    static ABANDONED: RefCell<HashSet<u64>> = RefCell::new(HashSet::new());
    /// Tasks waiting for a lock, woken when a call is abandoned so they can take it over.
    static ABANDON_WAITERS: RefCell<Vec<Waker>> = const { RefCell::new(Vec::new()) };
    static ABANDON_COUNT: Cell<u64> = const { Cell::new(0) };
}

/// Installs the hook once (called by every `Store.open`).
pub(super) fn install_hook() {
    use std::sync::Once;
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Only this crate's own code can leave its state half-changed; a panic elsewhere
            // (a test's failed assertion calling in) goes to the previous hook alone.
            if !info.location().is_some_and(|l| l.file().starts_with("src/")) {
                return previous(info);
            }
            let message = info.to_string();
            // `try_with`/`try_borrow_mut`: the hook must not panic itself.
            let in_call = CURRENT_CALL.try_with(Cell::get).unwrap_or(0) != 0;
            let slot = if in_call { &CAUGHT } else { &PANICKED };
            let _ = slot.try_with(|p| {
                if let Ok(mut p) = p.try_borrow_mut() {
                    p.get_or_insert_with(|| message.clone());
                }
            });
            web_sys::console::error_1(&format!("imagestore: internal error (a bug): {message}").into());
        }));
    });
}

/// Runs an entry point's synchronous part: its promise, or, if that part trapped, a promise
/// rejected with `internal` (see the module docs).
pub(super) fn entry(f: impl FnOnce() -> js_sys::Promise) -> js_sys::Promise {
    guarded_sync(f).unwrap_or_else(|e| js_sys::Promise::reject(&super::convert::to_js_error(e)))
}

/// [`entry`] for an entry point that returns (or throws) at once.
pub(super) fn entry_sync<T>(f: impl FnOnce() -> std::result::Result<T, JsValue>) -> std::result::Result<T, JsValue> {
    guarded_sync(f).unwrap_or_else(|e| Err(super::convert::to_js_error(e)))
}

/// Calls `f` inside a JS `try`/`catch`, as one call of its own for the panic hook.
fn guarded_sync<T>(f: impl FnOnce() -> T) -> Result<T> {
    let id = NEXT_CALL.with(|n| n.replace(n.get() + 1));
    let outer = CURRENT_CALL.with(|c| c.replace(id));
    let mut f = Some(f);
    let mut out = None;
    let thrown = guard_call(&mut || {
        if let Some(f) = f.take() {
            out = Some(f());
        }
    });
    CURRENT_CALL.with(|c| c.set(outer));
    if thrown.is_null() {
        if let Some(out) = out {
            return Ok(out);
        }
    }
    let message = CAUGHT.with(|c| c.borrow_mut().take()).unwrap_or_else(|| describe(&thrown));
    Err(Error::new(
        ErrorCode::Internal,
        format!(
            "internal error (a bug) while the call checked its arguments: {message}; the call was refused before it \
             started, and the store stays usable"
        ),
    ))
}

/// `internal` once a panic happened outside a guarded call in this instance.
pub(super) fn check_healthy() -> Result<()> {
    let panicked = PANICKED.try_with(|p| p.try_borrow().ok().and_then(|p| p.clone())).ok().flatten();
    match panicked {
        None => Ok(()),
        Some(message) => Err(Error::new(
            ErrorCode::Internal,
            format!(
                "an earlier call hit an internal error outside any call's guard ({message}); this module instance \
                 cannot be used any more: reload the page or restart the process (data already committed is intact)"
            ),
        )),
    }
}

/// The call whose future is being polled (0 outside any guarded call).
pub(super) fn current_call() -> u64 {
    CURRENT_CALL.with(Cell::get)
}

/// Whether call `id` was abandoned after a trap.
pub(super) fn is_abandoned(id: u64) -> bool {
    id != 0 && ABANDONED.with(|a| a.borrow().contains(&id))
}

/// How many calls were abandoned so far (see [`abandoned_since`]).
pub(super) fn abandon_count() -> u64 {
    ABANDON_COUNT.with(Cell::get)
}

/// Resolves once a call is abandoned after `count` ([`abandon_count`]) was read.
pub(super) fn abandoned_since(count: u64) -> impl Future<Output = ()> {
    std::future::poll_fn(move |cx| {
        if abandon_count() != count {
            return Poll::Ready(());
        }
        ABANDON_WAITERS.with(|w| w.borrow_mut().push(cx.waker().clone()));
        Poll::Pending
    })
}

/// A call's future, behind one pointer type: [`Guarded`] is compiled once for every method.
pub(super) type CallFuture = Pin<Box<dyn Future<Output = Result<JsValue>>>>;

/// `fut` polled so that a trap inside it rejects this call with `internal` (see the module
/// docs) instead of escaping into the JS event loop.
pub(super) fn guarded(fut: CallFuture) -> Guarded {
    let id = NEXT_CALL.with(|n| n.replace(n.get() + 1));
    Guarded { id, inner: Some(fut) }
}

pub(super) struct Guarded {
    id: u64,
    inner: Option<CallFuture>,
}

impl Future for Guarded {
    type Output = Result<JsValue>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.id;
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(Err(Error::new(ErrorCode::Internal, "a finished call was polled again")));
        };
        let outer = CURRENT_CALL.with(|c| c.replace(id));
        let outer_owner = crate::wasm::indexeddb::set_owner(id);
        let mut out = None;
        let thrown = guard_call(&mut || out = Some(inner.as_mut().poll(cx)));
        crate::wasm::indexeddb::set_owner(outer_owner);
        CURRENT_CALL.with(|c| c.set(outer));
        if thrown.is_null() {
            if let Some(Poll::Ready(_)) = &out {
                self.inner = None;
            }
            return out.unwrap_or(Poll::Pending);
        }
        // Abandon the call: its future's state is whatever the trap left. Leak it.
        std::mem::forget(self.inner.take());
        crate::wasm::indexeddb::abort_transactions_of(id);
        ABANDONED.with(|a| a.borrow_mut().insert(id));
        ABANDON_COUNT.with(|c| c.set(c.get() + 1));
        for w in ABANDON_WAITERS.with(|w| std::mem::take(&mut *w.borrow_mut())) {
            w.wake();
        }
        let message = CAUGHT.with(|c| c.borrow_mut().take()).unwrap_or_else(|| describe(&thrown));
        Poll::Ready(Err(Error::new(
            ErrorCode::Internal,
            format!(
                "internal error (a bug): {message}; this call was abandoned and nothing it was writing was \
                 committed; the store stays usable"
            ),
        )))
    }
}

fn describe(thrown: &JsValue) -> String {
    let text = js_sys::Reflect::get(thrown, &"message".into()).ok().and_then(|m| m.as_string());
    let name = js_sys::Reflect::get(thrown, &"name".into()).ok().and_then(|m| m.as_string());
    match (name, text) {
        (Some(n), Some(t)) => format!("{n}: {t}"),
        (_, Some(t)) => t,
        _ => format!("{thrown:?}"),
    }
}
