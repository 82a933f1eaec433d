//! The image list's saved answers: the unfiltered `GET /images/json` rows (all images, or the
//! top-level ones) kept in the store as columns ([`ListColumns`]) with the generation they
//! list. Two readers:
//! - a page reloading a large store shows its first rows from one record before the store has
//!   finished opening (`Store.savedListImages`: opening rebuilds the whole Docker state);
//! - an opened store's first unfiltered list of each kind reads it, and takes it when it lists
//!   the state loaded, instead of walking every image (the façade's
//!   `list_images_columns_or_saved`; at 10,000 images the walk was half of the first
//!   `listImages` after a reload).
//!
//! Derived data: the image records stay the source of truth. An answer is used only when its
//! frame (magic, version, checksum), the package version that wrote it, its kind, its
//! generation and its shape (whole rows) all match; a missing, stale, corrupt or other-version
//! record is never used, and saving again rewrites it. Every metadata commit gives the store a
//! new generation ([`crate::storage::generation`]), so an answer saved at one generation is
//! never taken for another state; the package version keeps a build whose list differs from
//! taking an older build's rows. Saving an answer changes no generation (see
//! [`crate::schema::LIST_ANSWERS`]): it is a cache write, and other tabs have nothing to re-read.
//!
//! Record (little-endian), in the core's [`RecordFrame`] (`isLI`, `u32` [`VERSION`], `u32`
//! CRC-32 of the rest); the rest: `u32` length and the generation (UTF-8), `u32` length and
//! the package version, `u8` all (1) or top-level (0), `u32` length and the columns' text, `u32`
//! count and the `ints` (`i32` each), then the `numbers` (`f64` each) to the end.

use super::list_columns::ListColumns;
use crate::error::Result;
use crate::schema;
use crate::storage::record_frame::{FrameError, RecordFrame};
use crate::storage::{generation, Backend, Op, Space};

/// Bumped whenever the layout changes: a record of another version is not used. (Version 1
/// held the answer's JSON text.)
pub const VERSION: u32 = 2;
const FRAME: RecordFrame = RecordFrame::with_u32_version(b"isLI", VERSION);
/// The build that writes and reads answers.
const WRITER: &str = env!("CARGO_PKG_VERSION");

/// Why a saved answer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// Not a whole record of this version (another kind, another version, checksum mismatch).
    Frame(FrameError),
    /// The frame is whole but its body is cut short, not UTF-8 where text is due, or its rows
    /// are not whole.
    Malformed,
    /// It lists another state of the store.
    Stale,
    /// Another package version wrote it.
    OtherWriter,
    /// It is the answer for the other `all`.
    OtherKind,
}

/// The record of `columns`, the answer for `all` at store generation `generation`.
pub fn encode(generation: &str, all: bool, columns: &ListColumns) -> Vec<u8> {
    encode_by(WRITER, generation, all, columns)
}

fn encode_by(writer: &str, generation: &str, all: bool, columns: &ListColumns) -> Vec<u8> {
    let len = 4 + generation.len() + 4 + writer.len() + 1 + 4 + columns.text.len() + 4;
    let mut record = FRAME.begin(len + 4 * columns.ints.len() + 8 * columns.numbers.len());
    let text = |record: &mut Vec<u8>, s: &str| {
        record.extend_from_slice(&(s.len() as u32).to_le_bytes());
        record.extend_from_slice(s.as_bytes());
    };
    text(&mut record, generation);
    text(&mut record, writer);
    record.push(u8::from(all));
    text(&mut record, &columns.text);
    record.extend_from_slice(&(columns.ints.len() as u32).to_le_bytes());
    record.extend(columns.ints.iter().flat_map(|i| i.to_le_bytes()));
    record.extend(columns.numbers.iter().flat_map(|n| n.to_le_bytes()));
    FRAME.seal(&mut record);
    record
}

/// Reads a record's body front to back; `None` when it is cut short.
struct Body<'r>(&'r [u8]);

impl<'r> Body<'r> {
    fn take(&mut self, n: usize) -> Option<&'r [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
    fn u32(&mut self) -> Option<usize> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize)
    }
    /// A length-prefixed field.
    fn field(&mut self) -> Option<&'r [u8]> {
        let len = self.u32()?;
        self.take(len)
    }
}

/// The columns in `record` if it is a whole record of this version and package version, for
/// `all`, at `generation`.
pub fn decode(record: &[u8], generation: &str, all: bool) -> std::result::Result<ListColumns, Unusable> {
    let mut body = Body(FRAME.open(record).map_err(Unusable::Frame)?);
    if body.field().ok_or(Unusable::Malformed)? != generation.as_bytes() {
        return Err(Unusable::Stale);
    }
    if body.field().ok_or(Unusable::Malformed)? != WRITER.as_bytes() {
        return Err(Unusable::OtherWriter);
    }
    if *body.take(1).ok_or(Unusable::Malformed)? != [u8::from(all)] {
        return Err(Unusable::OtherKind);
    }
    let text = body.field().and_then(|t| std::str::from_utf8(t).ok()).ok_or(Unusable::Malformed)?;
    let count = body.u32().ok_or(Unusable::Malformed)?;
    let ints = body.take(count.checked_mul(4).ok_or(Unusable::Malformed)?).ok_or(Unusable::Malformed)?;
    let numbers = body.0;
    if numbers.len() % 8 != 0 {
        return Err(Unusable::Malformed);
    }
    let columns = ListColumns {
        text: text.to_string(),
        ints: ints.chunks_exact(4).map(|i| i32::from_le_bytes(i.try_into().expect("4 bytes"))).collect(),
        numbers: numbers.chunks_exact(8).map(|n| f64::from_le_bytes(n.try_into().expect("8 bytes"))).collect(),
    };
    // Checksummed, but the rows' counts drive loops in JS: only whole rows are used.
    if !columns.has_whole_rows() {
        return Err(Unusable::Malformed);
    }
    Ok(columns)
}

/// The saved answer for `all` if it lists the store as it is now; `None` when there is none
/// that can be used (or the store was never written).
pub async fn read<B: Backend>(b: &B, all: bool) -> Result<Option<ListColumns>> {
    let Some(now) = generation::read(b).await? else {
        return Ok(None);
    };
    let Some(record) = b.get(Space::Meta, &schema::list_answer(all)).await? else {
        return Ok(None);
    };
    Ok(decode(&record, &now, all).ok())
}

/// The saved answer's record for `all`, not checked yet ([`decode`] checks it). A read that
/// fails gives `None` as well: the caller has the images to walk instead.
pub async fn read_record<B: Backend>(b: &B, all: bool) -> Option<Vec<u8>> {
    b.get(Space::Meta, &schema::list_answer(all)).await.ok()?
}

/// Both saved answers' records, `[all, top-level]`, read at once (see [`read_record`]).
pub async fn read_records<B: Backend>(b: &B) -> [Option<Vec<u8>>; 2] {
    let (all, top) = futures::future::join(read_record(b, true), read_record(b, false)).await;
    [all, top]
}

/// Whether the store holds a usable answer for `all` saved at generation `at`.
pub async fn is_saved<B: Backend>(b: &B, at: &str, all: bool) -> Result<bool> {
    let record = b.get(Space::Meta, &schema::list_answer(all)).await?;
    Ok(record.is_some_and(|r| decode(&r, at, all).is_ok()))
}

/// The commit that saves `columns` as the answer for `all` at generation `at`.
pub fn save_ops(at: &str, all: bool, columns: &ListColumns) -> Vec<Op> {
    vec![Op::put(Space::Meta, schema::list_answer(all), encode(at, all, columns))]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One image with a tag, a parent not listed and labels.
    fn columns() -> ListColumns {
        ListColumns {
            text: r#"[["<none>:<none>","<none>@<none>","sha256:ab","sha256:cd","a:1"],[{"k":"v"}]]"#.to_string(),
            ints: vec![2, 3, 1, 4, 0, 0],
            numbers: vec![1.7e9, 42.0],
        }
    }

    #[test]
    fn an_answer_is_used_only_for_its_generation_kind_and_writer_whole_and_of_this_version() {
        let record = encode("g1", true, &columns());
        assert_eq!(decode(&record, "g1", true), Ok(columns()));
        assert_eq!(decode(&record, "g2", true), Err(Unusable::Stale));
        assert_eq!(decode(&record, "g1", false), Err(Unusable::OtherKind));
        assert_eq!(decode(&encode_by("0.0.1", "g1", true, &columns()), "g1", true), Err(Unusable::OtherWriter));
        let mut flipped = record.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(decode(&flipped, "g1", true), Err(Unusable::Frame(FrameError::Checksum)));
        assert_eq!(decode(&record[..record.len() - 1], "g1", true), Err(Unusable::Frame(FrameError::Checksum)));
        let other = RecordFrame::with_u32_version(b"isLI", VERSION + 1).encode(&record[12..]);
        assert_eq!(decode(&other, "g1", true), Err(Unusable::Frame(FrameError::Version(VERSION + 1))));
        // Version 1 (the JSON text) is not read as columns.
        let v1 = RecordFrame::with_u32_version(b"isLI", 1).encode(b"\x02\0\0\0g1\x01[]");
        assert_eq!(decode(&v1, "g1", true), Err(Unusable::Frame(FrameError::Version(1))));
    }

    #[test]
    fn a_body_cut_short_or_with_rows_not_whole_is_not_used_checksum_and_all() {
        // A body that claims a longer generation than it holds.
        assert_eq!(decode(&FRAME.encode(&[200, 0, 0, 0, b'g']), "g", true), Err(Unusable::Malformed));
        let body = |c: &ListColumns| encode("g", true, c)[12..].to_vec();
        let whole = body(&columns());
        // Cut inside the ints, or with the numbers not whole f64s.
        for cut in [whole.len() - 20, whole.len() - 3] {
            assert_eq!(decode(&FRAME.encode(&whole[..cut]), "g", true), Err(Unusable::Malformed), "cut at {cut}");
        }
        let mut not_text = columns();
        not_text.text = "\u{80}".to_string();
        let mut bytes = body(&not_text);
        let at = bytes.len() - 16 - 4 * 6 - 4 - 2;
        bytes[at] = 0xff;
        assert_eq!(decode(&FRAME.encode(&bytes), "g", true), Err(Unusable::Malformed));
        // Rows whose counts run past the ints, or more numbers than rows.
        for ints in [vec![2, 3, 1_000_000, 4, 0, 0], vec![2, 3, 1, 4, 0], vec![2, 3, 1, 4, 0, 0, 7]] {
            let c = ListColumns { ints, ..columns() };
            assert_eq!(decode(&encode("g", true, &c), "g", true), Err(Unusable::Malformed), "{:?}", c.ints);
        }
        let c = ListColumns { numbers: vec![1.0, 2.0, 3.0, 4.0], ..columns() };
        assert_eq!(decode(&encode("g", true, &c), "g", true), Err(Unusable::Malformed));
    }
}
