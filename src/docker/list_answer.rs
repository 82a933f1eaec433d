//! The image list's saved answers: the unfiltered `GET /images/json` text (all images, or the
//! top-level ones) kept in the store with the generation it lists, so that a page reloading a
//! large store can show its first rows from one record before the store has finished opening
//! (opening rebuilds the whole Docker state from its records).
//!
//! Derived data: the image records stay the source of truth. An answer is used only when its
//! frame (magic, version, checksum), its kind and its generation all match the store as it is
//! now; a missing, stale, corrupt or other-version record is never used, and saving again
//! rewrites it. Every metadata commit gives the store a new generation
//! ([`crate::storage::generation`]), so an answer saved at one generation is never taken for
//! another state. Saving an answer changes no generation (see [`crate::schema::LIST_ANSWERS`]):
//! it is a cache write, and other tabs have nothing to re-read.
//!
//! Record (little-endian), in the core's [`RecordFrame`] (`isLI`, `u32` [`VERSION`], `u32`
//! CRC-32 of the rest); the rest: `u32` generation length, the generation (UTF-8), `u8` all (1)
//! or top-level (0), then the answer text (UTF-8) to the end.

use crate::error::Result;
use crate::schema;
use crate::storage::record_frame::{FrameError, RecordFrame};
use crate::storage::{generation, Backend, Op, Space};

/// Bumped whenever the layout changes: a record of another version is not used.
pub const VERSION: u32 = 1;
const FRAME: RecordFrame = RecordFrame::with_u32_version(b"isLI", VERSION);

/// Why a saved answer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// Not a whole record of this version (another kind, another version, checksum mismatch).
    Frame(FrameError),
    /// The frame is whole but its body is cut short or not UTF-8.
    Malformed,
    /// It lists another state of the store.
    Stale,
    /// It is the answer for the other `all`.
    OtherKind,
}

/// The record of `text`, the answer for `all` at store generation `generation`.
pub fn encode(generation: &str, all: bool, text: &str) -> Vec<u8> {
    let mut record = FRAME.begin(4 + generation.len() + 1 + text.len());
    record.extend_from_slice(&(generation.len() as u32).to_le_bytes());
    record.extend_from_slice(generation.as_bytes());
    record.push(u8::from(all));
    record.extend_from_slice(text.as_bytes());
    FRAME.seal(&mut record);
    record
}

/// The answer text in `record` if it is a whole record of this version for `all` at
/// `generation`.
pub fn decode<'r>(record: &'r [u8], generation: &str, all: bool) -> std::result::Result<&'r str, Unusable> {
    let body = FRAME.open(record).map_err(Unusable::Frame)?;
    let len = body.get(..4).ok_or(Unusable::Malformed)?;
    let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
    let kind_at = 4usize.checked_add(len).ok_or(Unusable::Malformed)?;
    let (saved_at, kind) =
        (body.get(4..kind_at).ok_or(Unusable::Malformed)?, body.get(kind_at).ok_or(Unusable::Malformed)?);
    if saved_at != generation.as_bytes() {
        return Err(Unusable::Stale);
    }
    if *kind != u8::from(all) {
        return Err(Unusable::OtherKind);
    }
    std::str::from_utf8(&body[kind_at + 1..]).map_err(|_| Unusable::Malformed)
}

/// The saved answer for `all` if it lists the store as it is now; `None` when there is none
/// that can be used (or the store was never written).
pub async fn read<B: Backend>(b: &B, all: bool) -> Result<Option<String>> {
    let Some(now) = generation::read(b).await? else {
        return Ok(None);
    };
    let Some(record) = b.get(Space::Meta, &schema::list_answer(all)).await? else {
        return Ok(None);
    };
    Ok(decode(&record, &now, all).ok().map(str::to_string))
}

/// Whether the store holds a usable answer for `all` saved at generation `at`.
pub async fn is_saved<B: Backend>(b: &B, at: &str, all: bool) -> Result<bool> {
    let record = b.get(Space::Meta, &schema::list_answer(all)).await?;
    Ok(record.is_some_and(|r| decode(&r, at, all).is_ok()))
}

/// The commit that saves `text` as the answer for `all` at generation `at`.
pub fn save_ops(at: &str, all: bool, text: &str) -> Vec<Op> {
    vec![Op::put(Space::Meta, schema::list_answer(all), encode(at, all, text))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_used_only_for_its_generation_and_kind_whole_and_of_this_version() {
        let text = r#"[{"Id":"sha256:ab"}]"#;
        let record = encode("g1", true, text);
        assert_eq!(decode(&record, "g1", true), Ok(text));
        assert_eq!(decode(&record, "g2", true), Err(Unusable::Stale));
        assert_eq!(decode(&record, "g1", false), Err(Unusable::OtherKind));
        assert_eq!(decode(&encode("g1", false, "[]"), "g1", false), Ok("[]"));
        let mut flipped = record.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(decode(&flipped, "g1", true), Err(Unusable::Frame(FrameError::Checksum)));
        assert_eq!(decode(&record[..record.len() - 1], "g1", true), Err(Unusable::Frame(FrameError::Checksum)));
        let older = RecordFrame::with_u32_version(b"isLI", VERSION + 1).encode(&record[12..]);
        assert_eq!(decode(&older, "g1", true), Err(Unusable::Frame(FrameError::Version(VERSION + 1))));
        // A body that claims a longer generation than it holds, checksum and all.
        let short = FRAME.encode(&[200, 0, 0, 0, b'g']);
        assert_eq!(decode(&short, "g", true), Err(Unusable::Malformed));
        let not_text = FRAME.encode(&[1, 0, 0, 0, b'g', 1, 0xff]);
        assert_eq!(decode(&not_text, "g", true), Err(Unusable::Malformed));
    }
}
