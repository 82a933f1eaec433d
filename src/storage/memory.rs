//! In-memory backend: the reference implementation of [`Backend`], used natively and in wasm
//! (`{ backend: "memory" }`). Clones share the same data, which is how tests "close and
//! reopen" a memory store.

use super::{Backend, Op, Space};
use crate::error::{Error, Result};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

type Table = BTreeMap<String, Vec<u8>>;

/// What the memory backend holds at most by default, in bytes of keys and values. In wasm
/// everything it holds lives in the 4 GiB linear memory beside the working buffers, and
/// running out of it is a trap that kills the module; a commit that would pass this limit is
/// refused with `resource_exhausted` instead.
#[cfg(target_arch = "wasm32")]
pub const DEFAULT_CAPACITY: u64 = 2 << 30;
/// Natively the process's memory is the limit.
#[cfg(not(target_arch = "wasm32"))]
pub const DEFAULT_CAPACITY: u64 = u64::MAX;

#[derive(Clone)]
pub struct MemoryBackend {
    tables: Rc<RefCell<[Table; 2]>>,
    /// Bytes of keys and values held, and the most it may hold.
    used: Rc<Cell<u64>>,
    capacity: u64,
    /// Test hook: fail the next commit after applying this many operations, to prove that a
    /// failed commit leaves nothing behind.
    fail_after: Rc<RefCell<Option<usize>>>,
}

fn idx(space: Space) -> usize {
    match space {
        Space::Meta => 0,
        Space::Chunks => 1,
    }
}

fn prefix_range<'a>(t: &'a Table, prefix: &'a str) -> impl Iterator<Item = (&'a String, &'a Vec<u8>)> + 'a {
    t.range(prefix.to_string()..).take_while(move |(k, _)| k.starts_with(prefix))
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

fn entry_size(key: &str, value: &[u8]) -> u64 {
    (key.len() + value.len()) as u64
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty backend that refuses commits that would make it hold more than `capacity`
    /// bytes of keys and values (`resource_exhausted`).
    pub fn with_capacity(capacity: u64) -> Self {
        MemoryBackend { tables: Rc::default(), used: Rc::default(), capacity, fail_after: Rc::default() }
    }

    /// Bytes of keys and values held.
    pub fn used_bytes(&self) -> u64 {
        self.used.get()
    }

    /// Makes the next commit fail after `n` of its operations were applied (test hook).
    pub fn fail_next_commit_after(&self, n: usize) {
        *self.fail_after.borrow_mut() = Some(n);
    }

    /// Writes one record as it is, outside any commit and its contract (test hook: lays out a
    /// store as an earlier version wrote it).
    pub fn insert_unchecked(&self, space: Space, key: &str, value: Vec<u8>) {
        let mut tables = self.tables.borrow_mut();
        let old = tables[idx(space)].insert(key.to_string(), value.clone());
        let was = old.map_or(0, |v| entry_size(key, &v));
        self.used.set(self.used.get() - was + entry_size(key, &value));
    }

    /// Number of keys in a space (for tests and stats).
    pub fn len(&self, space: Space) -> usize {
        self.tables.borrow()[idx(space)].len()
    }
    pub fn is_empty(&self) -> bool {
        self.tables.borrow().iter().all(|t| t.is_empty())
    }
}

impl Backend for MemoryBackend {
    async fn get(&self, space: Space, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.tables.borrow()[idx(space)].get(key).cloned())
    }

    async fn scan(&self, space: Space, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let t = self.tables.borrow();
        Ok(prefix_range(&t[idx(space)], prefix).map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    async fn keys(&self, space: Space, prefix: &str) -> Result<Vec<String>> {
        let t = self.tables.borrow();
        Ok(prefix_range(&t[idx(space)], prefix).map(|(k, _)| k.clone()).collect())
    }

    async fn commit(&self, mut ops: Vec<Op>) -> Result<()> {
        let prepared = super::prepare_commit(&mut ops)?;
        // Apply in place with an undo log; on failure roll back, so the commit is all or
        // nothing without copying the tables.
        let mut tables = self.tables.borrow_mut();
        let fail_after = self.fail_after.borrow_mut().take();
        let mut undo: Vec<(usize, String, Option<Vec<u8>>)> = Vec::new();
        let mut outcome = Ok(());
        let before = self.used.get();
        // Signed, because deletes come before puts in some commits.
        let mut used = before as i128;
        for (i, op) in ops.into_iter().enumerate() {
            if fail_after == Some(i) {
                outcome = Err(Error::unavailable("memory backend: injected commit failure"));
                break;
            }
            match op {
                Op::Put { space, key, value } => {
                    used += entry_size(&key, &value) as i128;
                    let old = tables[idx(space)].insert(key.clone(), value.into_vec());
                    if let Some(old) = &old {
                        used -= entry_size(&key, old) as i128;
                    }
                    undo.push((idx(space), key, old));
                }
                Op::Delete { space, key } => {
                    if let Some(old) = tables[idx(space)].remove(&key) {
                        used -= entry_size(&key, &old) as i128;
                        undo.push((idx(space), key, Some(old)));
                    }
                }
                Op::DeletePrefix { space, prefix } => {
                    let t = &mut tables[idx(space)];
                    let doomed: Vec<String> = prefix_range(t, &prefix).map(|(k, _)| k.clone()).collect();
                    for k in doomed {
                        let old = t.remove(&k);
                        if let Some(old) = &old {
                            used -= entry_size(&k, old) as i128;
                        }
                        undo.push((idx(space), k, old));
                    }
                }
                Op::RequireAbsent { space, key } => {
                    if tables[idx(space)].contains_key(&key) {
                        outcome = Err(Error::already_exists(format!("{key:?} already exists")));
                        break;
                    }
                }
                Op::RequireValue { space, key, value } => {
                    if tables[idx(space)].get(&key) != value.as_ref() {
                        outcome = Err(changed_error(&key));
                        break;
                    }
                }
            }
        }
        let used = used.max(0) as u64;
        if outcome.is_ok() && used > self.capacity && used > before {
            outcome = Err(Error::exhausted(format!(
                "memory backend full: this write would make it hold {} MiB, more than its {} MiB; \
                 use the IndexedDB backend for stores this large",
                used >> 20,
                self.capacity >> 20
            )));
        }
        if outcome.is_err() {
            for (t, key, old) in undo.into_iter().rev() {
                match old {
                    Some(v) => tables[t].insert(key, v),
                    None => tables[t].remove(&key),
                };
            }
        } else {
            prepared.committed();
            self.used.set(used);
        }
        outcome
    }
}

/// The error of a failed [`Op::RequireValue`] guard (the same text on every backend).
pub fn changed_error(key: &str) -> Error {
    Error::precondition(format!("{key:?} changed since it was read (another tab or store wrote meanwhile)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn commit_is_all_or_nothing() {
        block_on(async {
            let b = MemoryBackend::new();
            b.commit(vec![Op::put_meta("a", "1")]).await.unwrap();
            b.fail_next_commit_after(1);
            let err = b.commit(vec![Op::put_meta("b", "2"), Op::put_meta("c", "3")]).await.unwrap_err();
            assert_eq!(err.code, crate::ErrorCode::Unavailable);
            assert_eq!(
                b.keys(Space::Meta, "").await.unwrap(),
                vec!["a".to_string(), super::super::generation::KEY.to_string()]
            );
            let err = b
                .commit(vec![Op::put_meta("d", "4"), Op::RequireAbsent { space: Space::Meta, key: "a".into() }])
                .await
                .unwrap_err();
            assert_eq!(err.code, crate::ErrorCode::AlreadyExists);
            assert_eq!(b.get(Space::Meta, "d").await.unwrap(), None);
        });
    }

    #[test]
    fn refuses_commits_past_its_capacity() {
        block_on(async {
            let b = MemoryBackend::with_capacity(1000);
            b.commit(vec![Op::put_meta("a", vec![0u8; 600])]).await.unwrap();
            // Every commit also keeps the generation record (same size each time).
            let generation = b.used_bytes() - 601;
            let err = b.commit(vec![Op::put_meta("b", vec![0u8; 600])]).await.unwrap_err();
            assert_eq!(err.code, crate::ErrorCode::ResourceExhausted);
            assert_eq!(b.get(Space::Meta, "b").await.unwrap(), None);
            assert_eq!(b.used_bytes(), 601 + generation);
            // Replacing and deleting give room back.
            b.commit(vec![Op::delete_meta("a"), Op::put_meta("b", vec![0u8; 900])]).await.unwrap();
            assert_eq!(b.used_bytes(), 901 + generation);
            b.commit(vec![Op::DeletePrefix { space: Space::Meta, prefix: String::new() }]).await.unwrap();
            assert_eq!(b.used_bytes(), generation);
        });
    }

    #[test]
    fn prefix_scan_and_delete() {
        block_on(async {
            let b = MemoryBackend::new();
            b.commit(vec![Op::put_meta("x/1", "a"), Op::put_meta("x/2", "b"), Op::put_meta("y/1", "c")]).await.unwrap();
            assert_eq!(b.scan(Space::Meta, "x/").await.unwrap().len(), 2);
            b.commit(vec![Op::DeletePrefix { space: Space::Meta, prefix: "x/".into() }]).await.unwrap();
            assert_eq!(
                b.keys(Space::Meta, "").await.unwrap(),
                vec![super::super::generation::KEY.to_string(), "y/1".to_string()]
            );
            // A clone sees the same data: this is "reopen" for the memory backend.
            assert_eq!(b.clone().get(Space::Meta, "y/1").await.unwrap(), Some(b"c".to_vec()));
        });
    }
}
