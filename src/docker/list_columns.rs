//! The image list's rows as columns, for JS to build `Store.listImages`' objects from: the
//! same rows as [`super::list::list_images_json`]'s text, but each distinct string and each
//! distinct `Labels` object written once, and numbers as numbers.
//!
//! Why: `JSON.parse` of a 10,000-image list (4 MB) took 16–18 ms in Chromium, most of it making
//! 50,000 strings and 10,000 label objects that repeat (a parent's ID is its child's
//! `ParentId`; images of one build share their labels). Built from columns, with shared
//! strings and label objects copied from one parsed template each, the same rows took 8–11 ms
//! on the same test page (4 ms for a later call, which parses nothing).

use super::list::{list_rows, shows_placeholders, Filters, RowWriter, Summary};
use super::state::DockerState;
use crate::bytes_hasher::BytesHasher;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::formats::go_json;
use crate::formats::image_rows::{RowColumns, RowOptions};
use crate::formats::reference::Reference;
use serde::de::IgnoredAny;
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// Index of `"<none>:<none>"` in [`ListColumns::text`]'s strings.
pub const NONE_TAG: i32 = 0;
/// Index of `"<none>@<none>"`.
pub const NONE_DIGEST: i32 = 1;

/// A list answer as columns. Each row, in the list's order (newest first), is in `ints`:
///
/// `Id`, `ParentId`, the `RepoTags` count and that many strings, the `RepoDigests` count and
/// that many strings, `Labels`
///
/// where a string is an index into the strings, `ParentId` is `-1` for `""`, a count is `-1`
/// for `null`, and `Labels` is an index into the label objects or `-1` for `null`. `Containers`
/// and `SharedSize` are always `-1` (20.10 does not count them for a list), and `VirtualSize`
/// is `Size`.
#[derive(Debug, PartialEq)]
pub struct ListColumns {
    /// `[[strings…],[label objects…]]` as JSON text.
    pub text: String,
    pub ints: Vec<i32>,
    /// Each row's `Created` and `Size`.
    pub numbers: Vec<f64>,
}

impl ListColumns {
    /// `GET /images/json`'s rows for `all` and `filters` (the same rows, in the same order, as
    /// [`super::list::list_images_json`]).
    pub fn of(d: &DockerState, all: bool, filters: &Filters) -> Result<ListColumns> {
        list_rows(d, all, filters, ColumnRows::default())
    }

    /// Whether `ints` and `numbers` hold whole rows, as many of each, and nothing else: no
    /// count or index below its `-1` or `0`, no list running past the end. (String and label
    /// indices are not checked against the text: one past it is an `undefined` in JS, while a
    /// bad count could make a loop run for billions of turns.)
    pub fn has_whole_rows(&self) -> bool {
        if self.numbers.len() % 2 != 0 {
            return false;
        }
        let mut ints = self.ints.iter().copied();
        let list = |ints: &mut dyn Iterator<Item = i32>| match ints.next() {
            Some(-1) => true,
            Some(n) if n >= 0 => (0..n).all(|_| ints.next().is_some_and(|i| i >= 0)),
            _ => false,
        };
        for _ in 0..self.numbers.len() / 2 {
            let (Some(id), Some(parent)) = (ints.next(), ints.next()) else { return false };
            if id < 0 || parent < -1 || !list(&mut ints) || !list(&mut ints) {
                return false;
            }
            if ints.next().is_none_or(|labels| labels < -1) {
                return false;
            }
        }
        ints.next().is_none()
    }

    /// `docker images`' rows of the answer's images ([`image_rows`](crate::formats::image_rows)),
    /// image number `k` being the answer's row `k`: what `imageRows` gives for the answer's
    /// objects, without writing them out and reading them back (at 10,000 images that round
    /// trip was most of the call). Reads only the strings of the columns' text.
    pub fn image_rows(&self, options: RowOptions) -> Result<RowColumns> {
        let bad = || Error::corrupt("the image list's columns do not hold whole rows");
        /// A string of the text, borrowed unless it has escapes.
        #[derive(serde::Deserialize)]
        struct Text<'a>(#[serde(borrow)] Cow<'a, str>);
        let (strings, _labels): (Vec<Text>, IgnoredAny) = serde_json::from_str(&self.text).map_err(|_| bad())?;
        let string =
            |i: i32| usize::try_from(i).ok().and_then(|i| strings.get(i)).map(|s| s.0.as_ref()).ok_or_else(bad);
        let mut ints = self.ints.iter().copied();
        let mut next = || ints.next().ok_or_else(bad);
        let list = |next: &mut dyn FnMut() -> Result<i32>| -> Result<Vec<&str>> {
            let count = next()?;
            (0..count.max(0)).map(|_| string(next()?)).collect()
        };
        let mut rows = RowColumns::default();
        for image in 0..self.numbers.len() / 2 {
            let id = string(next()?)?;
            next()?; // ParentId
            let tags = list(&mut next)?;
            let digests = list(&mut next)?;
            next()?; // Labels
            rows.push_image(image as u32, id, &tags, &digests, options);
        }
        Ok(rows)
    }

    /// The answer as the Engine API's JSON value, built as JS builds its objects (for checks:
    /// it equals the parse of [`super::list::list_images_json`]'s text).
    pub fn to_value(&self) -> serde_json::Value {
        use serde_json::{json, Value};
        let text: Value = serde_json::from_str(&self.text).expect("columns' text is JSON");
        let (strings, labels) = (&text[0], &text[1]);
        let mut ints = self.ints.iter().copied();
        let mut next = || ints.next().expect("a whole row");
        let list = |next: &mut dyn FnMut() -> i32| match next() {
            -1 => Value::Null,
            n => Value::Array((0..n).map(|_| strings[next() as usize].clone()).collect()),
        };
        let rows = self.numbers.chunks(2).map(|n| {
            let id = strings[next() as usize].clone();
            let parent = match next() {
                -1 => json!(""),
                i => strings[i as usize].clone(),
            };
            let tags = list(&mut next);
            let digests = list(&mut next);
            let labels = match next() {
                -1 => Value::Null,
                i => labels[i as usize].clone(),
            };
            json!({"Containers": -1, "Created": n[0] as i64, "Id": id, "Labels": labels, "ParentId": parent,
                "RepoDigests": digests, "RepoTags": tags, "SharedSize": -1, "Size": n[1] as i64, "VirtualSize": n[1] as i64})
        });
        Value::Array(rows.collect())
    }
}

/// The [`RowWriter`] of [`ListColumns`]: rows written in the walk's order, joined in the
/// list's.
struct ColumnRows<'a> {
    /// The strings' JSON texts, comma-separated.
    strings: String,
    string_count: i32,
    /// The label objects' JSON texts, comma-separated, and the index of each text.
    labels: String,
    label_index: HashMap<String, i32>,
    /// Each row's ints, rows one after another; a row ends where the next begins.
    ints: Vec<i32>,
    row_starts: Vec<usize>,
    sizes: Vec<f64>,
    created: Vec<f64>,
    /// The listed images' string indices by ID, and the rows' `ParentId` places in `ints` still
    /// to fill: a parent shown in the list shares its ID's string. (Found by hash: a binary
    /// search over the IDs read some 140,000 digests from all over memory, and took longer
    /// than the rest of the list.)
    ids: HashMap<&'a str, i32, BuildHasherDefault<BytesHasher>>,
    parents: Vec<(usize, &'a Digest)>,
    /// Room for one familiar reference or one `Labels` text.
    scratch: String,
}

impl Default for ColumnRows<'_> {
    fn default() -> Self {
        let mut rows = ColumnRows {
            strings: String::new(),
            string_count: 0,
            labels: String::new(),
            label_index: HashMap::new(),
            ints: Vec::new(),
            row_starts: Vec::new(),
            sizes: Vec::new(),
            created: Vec::new(),
            ids: HashMap::default(),
            parents: Vec::new(),
            scratch: String::new(),
        };
        assert_eq!(rows.push_string("<none>:<none>"), NONE_TAG);
        assert_eq!(rows.push_string("<none>@<none>"), NONE_DIGEST);
        rows
    }
}

impl ColumnRows<'_> {
    /// Starts the next string (its separator); its index.
    fn next_string(&mut self) -> i32 {
        if self.string_count > 0 {
            self.strings.push(',');
        }
        self.string_count += 1;
        self.string_count - 1
    }

    /// Adds `s` to the strings; its index.
    fn push_string(&mut self, s: &str) -> i32 {
        let i = self.next_string();
        go_json::write_api_string(&mut self.strings, s);
        i
    }

    /// Adds a digest's text to the strings (a digest's characters never need escaping); its
    /// index.
    fn push_digest(&mut self, digest: &Digest) -> i32 {
        let i = self.next_string();
        self.strings.push('"');
        self.strings.push_str(digest.as_str());
        self.strings.push('"');
        i
    }

    /// The count and strings of the references `keep` picks (a count of `-1`: none).
    fn push_references(&mut self, references: &[&Reference], keep: impl Fn(&Reference) -> bool) {
        let count_at = self.ints.len();
        self.ints.push(-1);
        for r in references.iter().filter(|r| keep(r)) {
            let mut scratch = std::mem::take(&mut self.scratch);
            scratch.clear();
            r.push_familiar_string(&mut scratch);
            let i = self.push_string(&scratch);
            self.scratch = scratch;
            self.ints.push(i);
        }
        let count = (self.ints.len() - count_at - 1) as i32;
        if count > 0 {
            self.ints[count_at] = count;
        }
    }
}

impl<'a> RowWriter<'a> for ColumnRows<'a> {
    type Answer = ListColumns;

    fn reserve(&mut self, rows: usize) {
        self.strings.reserve(rows * 100);
        self.ints.reserve(rows * 7);
        self.row_starts.reserve(rows);
        self.sizes.reserve(rows);
        self.created.reserve(rows);
        self.ids.reserve(rows);
        self.parents.reserve(rows);
    }

    fn row(&mut self, row: &Summary<'a, '_>) {
        self.row_starts.push(self.ints.len());
        let id = self.push_digest(row.id);
        self.ids.insert(row.id.as_str(), id);
        self.ints.push(id);
        match row.parent {
            Some(parent) => {
                self.parents.push((self.ints.len(), parent));
                self.ints.push(-1);
            }
            None => self.ints.push(-1),
        }
        if shows_placeholders(row.references) {
            self.ints.extend([1, NONE_TAG, 1, NONE_DIGEST]);
        } else {
            self.push_references(row.references, |r| r.tag().is_some());
            self.push_references(row.references, |r| r.digest().is_some());
        }
        self.scratch.clear();
        row.facts.labels.write_json(&mut self.scratch);
        let labels = if self.scratch == "null" {
            -1
        } else if let Some(&i) = self.label_index.get(&self.scratch) {
            i
        } else {
            let i = self.label_index.len() as i32;
            if i > 0 {
                self.labels.push(',');
            }
            self.labels.push_str(&self.scratch);
            self.label_index.insert(self.scratch.clone(), i);
            i
        };
        self.ints.push(labels);
        self.created.push(row.facts.created.0 as f64);
        self.sizes.push(row.size as f64);
    }

    fn finish(mut self, order: impl ExactSizeIterator<Item = usize>) -> ListColumns {
        for (at, parent) in std::mem::take(&mut self.parents) {
            // A parent not listed is written once, however many children show it.
            let string = match self.ids.get(parent.as_str()) {
                Some(&i) => i,
                None => {
                    let i = self.push_digest(parent);
                    self.ids.insert(parent.as_str(), i);
                    i
                }
            };
            self.ints[at] = string;
        }
        let mut ints = Vec::with_capacity(self.ints.len());
        let mut numbers = Vec::with_capacity(order.len() * 2);
        for i in order {
            let end = self.row_starts.get(i + 1).copied().unwrap_or(self.ints.len());
            ints.extend_from_slice(&self.ints[self.row_starts[i]..end]);
            numbers.extend([self.created[i], self.sizes[i]]);
        }
        let mut text = String::with_capacity(self.strings.len() + self.labels.len() + 6);
        text.push_str("[[");
        text.push_str(&self.strings);
        text.push_str("],[");
        text.push_str(&self.labels);
        text.push_str("]]");
        ListColumns { text, ints, numbers }
    }
}
