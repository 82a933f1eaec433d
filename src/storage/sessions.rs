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
//!
//! So that opening a store costs nothing when there is nothing to sweep, a session marks the
//! store while it has chunks there that are not published ([`marker_ops`]): the marker
//! (`crate::schema::staging_marker`) is written in the commit of a set's first chunk and deleted
//! in the commit after which this session stages nothing; a failed discard ([`leaked`]) keeps
//! it. Opening a store sweeps only when another session's marker is there
//! (`super::blobs::sweep_if_marked`).

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
