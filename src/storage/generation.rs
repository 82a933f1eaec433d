//! The store's generation: one record in [`Space::Meta`] that changes with every metadata
//! commit, whoever makes it (another tab, window, worker, or another `Store` object on the same
//! database). It is what makes "every decision a commit makes is made on the current data" hold
//! across tabs:
//!
//! * a reader notes the generation before it reads ([`read`]), and a view built from several
//!   reads is consistent if the generation is the same after them;
//! * a writer that decided on data read at generation `g` commits with [`guard`]`(g)` in the
//!   same atomic commit: if anyone committed since, the commit fails as a whole
//!   ([`commit_at`] answers [`Committed::Stale`]) and the writer re-reads and decides again.
//!
//! The value is an opaque token ([`crate::storage::fresh_id`]), never a counter: an unguarded
//! commit ([`stamp`]) can then change it without reading it first, and two commits can never
//! leave the same value behind.

use super::{fresh_id, Backend, Op, Space};
use crate::error::Result;

/// The generation record's key.
pub const KEY: &str = crate::schema::GENERATION;

/// The generation a reader saw: the record's value, `None` for a store never written.
pub type Generation = Option<String>;

/// The current generation.
pub async fn read<B: Backend>(b: &B) -> Result<Generation> {
    Ok(b.get(Space::Meta, KEY).await?.map(|v| String::from_utf8_lossy(&v).into_owned()))
}

/// The operations that make a commit conditional on generation `at` and give it a new
/// generation, which they return. They go first in the commit.
pub fn guard(at: &Generation) -> (Vec<Op>, String) {
    let next = fresh_id();
    let ops = vec![
        Op::RequireValue {
            space: Space::Meta,
            key: KEY.to_string(),
            value: at.as_ref().map(|g| g.as_bytes().to_vec()),
        },
        Op::put_meta(KEY, next.as_str()),
    ];
    (ops, next)
}

/// What the backends' `commit` does first (see the `Backend` contract): a commit that touches
/// [`Space::Meta`] and does not set the generation itself gets a new one.
pub fn stamp(ops: &mut Vec<Op>) {
    // Session markers say who may still be writing chunks; no view reads them, so writing
    // one makes nobody re-read. A saved list answer names the generation it lists.
    let touches_meta = ops.iter().any(|op| match op {
        Op::Put { space, key, .. } | Op::Delete { space, key } => {
            *space == Space::Meta && !crate::schema::keeps_generation(key)
        }
        Op::DeletePrefix { space, .. } => *space == Space::Meta,
        Op::RequireAbsent { .. } | Op::RequireValue { .. } => false,
    });
    let sets_generation = ops.iter().any(|op| matches!(op, Op::Put { space: Space::Meta, key, .. } if key == KEY));
    if touches_meta && !sets_generation {
        ops.push(Op::put_meta(KEY, fresh_id()));
    }
}

/// The outcome of [`commit_at`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// Committed; the store is now at this generation.
    At(String),
    /// Someone committed since generation `at`: nothing was written. Re-read and decide again.
    Stale,
}

/// Commits `ops` only if the store is still at generation `at`. Any other failure is an error.
pub async fn commit_at<B: Backend>(b: &B, at: &Generation, ops: Vec<Op>) -> Result<Committed> {
    let (mut all, next) = guard(at);
    all.extend(ops);
    match b.commit(all).await {
        Ok(()) => Ok(Committed::At(next)),
        // The guard's failure and any other one look alike from here (a backend may report an
        // aborted transaction either way): the generation says which it was.
        Err(e) => match read(b).await {
            Ok(now) if now != *at => Ok(Committed::Stale),
            _ => Err(e),
        },
    }
}

/// How many times an operation is decided again after losing a race before it gives up. Each
/// retry means another commit landed in between, so this is only reached under a storm of
/// writes from elsewhere.
pub const MAX_ATTEMPTS: usize = 16;

/// The error after [`MAX_ATTEMPTS`] stale attempts.
pub fn too_busy(what: &str) -> crate::error::Error {
    crate::error::Error::unavailable(format!(
        "{what}: the store kept changing underneath (another tab or window writes to it); \
         gave up after {MAX_ATTEMPTS} attempts, nothing was changed"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::memory::MemoryBackend;
    use futures::executor::block_on;

    #[test]
    fn guarded_commit_fails_as_a_whole_once_anyone_committed() {
        block_on(async {
            let b = MemoryBackend::new();
            let g0 = read(&b).await.unwrap();
            assert_eq!(g0, None);
            // Another writer (an unguarded metadata commit) moves the generation.
            b.commit(vec![Op::put_meta("x", "1")]).await.unwrap();
            let g1 = read(&b).await.unwrap();
            assert!(g1.is_some());
            assert_eq!(commit_at(&b, &g0, vec![Op::put_meta("y", "2")]).await.unwrap(), Committed::Stale);
            assert_eq!(b.get(Space::Meta, "y").await.unwrap(), None, "a stale commit writes nothing");
            let Committed::At(g2) = commit_at(&b, &g1, vec![Op::put_meta("y", "2")]).await.unwrap() else {
                panic!("current generation must commit")
            };
            assert_eq!(read(&b).await.unwrap(), Some(g2));
            assert_eq!(b.get(Space::Meta, "y").await.unwrap(), Some(b"2".to_vec()));
        });
    }

    #[test]
    fn chunk_only_commits_leave_the_generation_alone() {
        block_on(async {
            let b = MemoryBackend::new();
            b.commit(vec![Op::put_meta("x", "1")]).await.unwrap();
            let g = read(&b).await.unwrap();
            b.commit(vec![Op::put(Space::Chunks, "set/0", vec![1])]).await.unwrap();
            assert_eq!(read(&b).await.unwrap(), g, "staging chunks is invisible: nobody needs to re-read");
        });
    }
}
