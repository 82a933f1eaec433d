//! Who is writing: a session is one running copy of this module (a tab, a worker, a Node
//! process). Chunk sets are named after the session that writes them ([`super::fresh_id`]), and
//! orphan sweeping ([`super::blobs::sweep_orphans`]) asks this module whether a set may still be
//! in use:
//!
//! * sets of this session: only the ones still being written or waiting for their commit
//!   ([`staging`]; a set leaves that list when it is published or discarded);
//! * sets of another session: while that session lives. Every session holds a lock named after
//!   it for as long as it runs ([`crate::host::Host::hold_lock`]; in browsers a Web Lock, which
//!   the browser releases when the tab closes or crashes), so the locks held say which sessions
//!   live. Where the host has no such locks (Node, native) liveness is unknown and sets younger
//!   than a grace period are left alone.

use std::cell::RefCell;
use std::collections::HashSet;

/// The prefix of the Web Lock each session holds.
pub const LOCK_PREFIX: &str = "imagestore-session:";

thread_local! {
    static SESSION: String = format!("{:08x}{:08x}", super::noise(), super::noise().rotate_left(13) ^ 0x5bd1_e995);
    static STAGING: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
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

/// Whether this session may still publish `set`.
pub fn is_staging(set: &str) -> bool {
    STAGING.with(|s| s.borrow().contains(set))
}

/// The sessions alive now (from the locks they hold), or `None` where that cannot be known.
pub async fn live_sessions() -> Option<HashSet<String>> {
    let held = crate::host::get().held_locks().await?;
    let mut out: HashSet<String> =
        held.iter().filter_map(|name| name.strip_prefix(LOCK_PREFIX)).map(str::to_string).collect();
    // This session counts as alive even before its lock was granted.
    out.insert(this_session());
    Some(out)
}

/// Takes this session's lock (once; later calls return at once) so that other programs see it
/// alive. Call it before writing anything.
pub async fn announce() {
    crate::host::get().hold_lock(format!("{LOCK_PREFIX}{}", this_session())).await;
}
