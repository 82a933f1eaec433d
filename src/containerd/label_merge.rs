//! Labels merged per key when two writers change one record at once (two tabs, two imports):
//! each writer's keys survive, instead of the last commit replacing the record's whole label
//! map with the one its writer read earlier. The API's updates are a compare-and-swap on the
//! record ([`update_record`]: the commit requires the bytes the change was decided on, and is
//! decided again on the new record when another writer changed it first), so only writers of
//! the same record ever retry; an import, whose records were decided while it streamed, has its
//! content and image records merged into the current ones just before its guarded commit
//! ([`merge_into_current`]).

use super::content::ContentRecord;
use super::images::ImageRecord;
use super::labels::Labels;
use super::read_record;
use crate::error::Result;
use crate::schema::containerd as schema;
use crate::storage::{decode_record, Backend, Op, Space};
use serde::{de::DeserializeOwned, Serialize};

/// `current`'s labels with `ours` over them: keys only `current` has are kept.
pub(crate) fn merged(current: &Labels, ours: Labels) -> Labels {
    let mut out = current.clone();
    out.extend(ours);
    out
}

/// Rewrites the content and image record puts of `ops` so that labels the stored records have
/// now (written by someone else since the ops were made) are kept, and the records' creation
/// times stay the stored ones. Call it at the generation the commit is guarded on.
pub(crate) async fn merge_into_current<B: Backend>(b: &B, ops: &mut [Op]) -> Result<()> {
    for op in ops.iter_mut() {
        let Op::Put { space: Space::Meta, key, value } = op else { continue };
        let Some((_, kind, _)) = schema::split(key) else { continue };
        let merged_value = match kind {
            schema::CONTENT => {
                let Some(current) = read_record::<_, ContentRecord>(b, key).await? else { continue };
                let mut ours: ContentRecord = decode_record(key, value)?;
                ours.labels = merged(&current.labels, std::mem::take(&mut ours.labels));
                ours.created_at = current.created_at;
                serde_json::to_vec(&ours)
            }
            schema::IMAGE => {
                let Some(current) = read_record::<_, ImageRecord>(b, key).await? else { continue };
                let mut ours: ImageRecord = decode_record(key, value)?;
                ours.labels = merged(&current.labels, std::mem::take(&mut ours.labels));
                ours.created_at = current.created_at;
                serde_json::to_vec(&ours)
            }
            _ => continue,
        };
        *value = merged_value.expect("records serialise").into();
    }
    Ok(())
}

/// How many times one record update is decided again after another writer changed the record
/// first. Each retry means a commit to this very record landed in between.
const MAX_ATTEMPTS: usize = 64;

/// Reads record `key` (`missing` when absent), applies `change`, and commits the result only if
/// the record is still the one read; otherwise decides again on the new one. Returns what was
/// committed.
pub(crate) async fn update_record<B: Backend, T: Serialize + DeserializeOwned>(
    b: &B,
    key: &str,
    missing: impl Fn() -> crate::Error,
    change: impl Fn(T) -> Result<T>,
) -> Result<T> {
    for _ in 0..MAX_ATTEMPTS {
        let raw = b.get(Space::Meta, key).await?.ok_or_else(&missing)?;
        let updated = change(decode_record(key, &raw)?)?;
        let ops = vec![
            Op::RequireValue { space: Space::Meta, key: key.to_string(), value: Some(raw.clone()) },
            Op::put_record(key, &updated),
        ];
        match b.commit(ops).await {
            Ok(()) => return Ok(updated),
            // The guard's failure and any other one look alike from here: the record says which.
            Err(e) => match b.get(Space::Meta, key).await? {
                Some(now) if now != raw => continue,
                None => return Err(missing()),
                _ => return Err(e),
            },
        }
    }
    Err(crate::Error::unavailable(format!(
        "{key}: other writers kept changing this record; gave up after {MAX_ATTEMPTS} attempts, nothing was changed"
    )))
}
