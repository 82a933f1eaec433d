//! Labels merged per key when two writers change one record at once (two tabs, two imports):
//! each writer's keys survive, instead of the last commit replacing the record's whole label
//! map with the one its writer read earlier. The API's updates re-read the record at the
//! generation they commit at and retry when another commit came first ([`super::content`],
//! [`super::images`]); an import, whose records were decided while it streamed, has its
//! content and image records merged into the current ones just before its guarded commit
//! ([`merge_into_current`]).

use super::content::ContentRecord;
use super::images::ImageRecord;
use super::labels::Labels;
use super::read_record;
use crate::error::Result;
use crate::schema::containerd as schema;
use crate::storage::{decode_record, Backend, Op, Space};

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
        *value = merged_value.expect("records serialise");
    }
    Ok(())
}
