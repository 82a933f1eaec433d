//! What happens if Rust panics (or an allocation fails) despite the limits that are meant to
//! make it impossible. wasm32 on stable Rust aborts on panic: the failing call ends in a
//! `RuntimeError` and the instance is left with borrowed cells and held locks, so later calls
//! would misbehave in unpredictable ways. The hook below records the panic; from then on every
//! entry point rejects at once with code `internal` and a message saying what happened and
//! that the data already committed (IndexedDB) is intact, instead of corrupting anything.

use crate::error::{Error, Result};
use std::cell::RefCell;

thread_local! {
    static PANICKED: RefCell<Option<String>> = const { RefCell::new(None) };
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
            let _ = PANICKED.try_with(|p| {
                if let Ok(mut p) = p.try_borrow_mut() {
                    p.get_or_insert_with(|| message.clone());
                }
            });
            web_sys::console::error_1(&format!("imagestore: internal error (a bug): {message}").into());
        }));
    });
}

/// `internal` once a panic happened in this instance.
pub(super) fn check_healthy() -> Result<()> {
    let panicked = PANICKED.try_with(|p| p.try_borrow().ok().and_then(|p| p.clone())).ok().flatten();
    match panicked {
        None => Ok(()),
        Some(message) => Err(Error::new(
            crate::error::ErrorCode::Internal,
            format!(
                "an earlier call hit an internal error ({message}); this module instance cannot be used any more: \
                 reload the page or restart the process (data already committed to IndexedDB is intact)"
            ),
        )),
    }
}
