//! The image list's answer as JS values. The core remembers its answers while the store is
//! unchanged and hands out the same `Rc` (see [`crate::docker::list::ListMemo`]); here each
//! one is converted once: `listImagesJson`'s text into one JS string, `listImages`' columns
//! (see [`crate::docker::list_columns`]) into typed arrays and their strings and label objects
//! parsed. Every `listImages` call then builds rows of its own from those (a caller may sort or
//! change what it got): the strings are shared (JS strings cannot be changed), each row's
//! lists and `Labels` are new objects.

use crate::docker::list_columns::ListColumns;
use crate::error::{Error, Result};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function imagestore_rows_holder(text, ints, numbers) {
  return { text, ints, numbers, strings: null, labels: null };
}

export function imagestore_rows_of(holder) {
  if (holder.strings === null) [holder.strings, holder.labels] = JSON.parse(holder.text);
  const { strings, labels, ints, numbers } = holder;
  const rows = new Array(numbers.length / 2);
  let at = 0;
  for (let row = 0; row < rows.length; row++) {
    const id = strings[ints[at]];
    const parent = ints[at + 1];
    let count = ints[at + 2];
    at += 3;
    // Nearly every list has one entry or none: written out, as the loop runs its first
    // thousands of rows in V8's slower tiers.
    let tags = null;
    if (count === 1) tags = [strings[ints[at++]]];
    else if (count >= 0) for (tags = []; count > 0; count--) tags.push(strings[ints[at++]]);
    count = ints[at++];
    let digests = null;
    if (count === 1) digests = [strings[ints[at++]]];
    else if (count >= 0) for (digests = []; count > 0; count--) digests.push(strings[ints[at++]]);
    const label = ints[at++];
    const size = numbers[2 * row + 1];
    // Keys in the order of dockerd's JSON (what JSON.parse of listImagesJson gives). A spread
    // copies own properties as JSON.parse makes them, a key named "__proto__" included.
    rows[row] = {
      Containers: -1,
      Created: numbers[2 * row],
      Id: id,
      Labels: label < 0 ? null : { ...labels[label] },
      ParentId: parent < 0 ? "" : strings[parent],
      RepoDigests: digests,
      RepoTags: tags,
      SharedSize: -1,
      Size: size,
      VirtualSize: size,
    };
  }
  return rows;
}
"#)]
extern "C" {
    /// What [`imagestore_rows_of`] builds one answer's rows from: the columns' text (parsed on
    /// first use), ints and numbers.
    fn imagestore_rows_holder(text: &JsValue, ints: &js_sys::Int32Array, numbers: &js_sys::Float64Array) -> JsValue;
    /// New rows of the answer `holder` keeps, as `JSON.parse` of its JSON text gives them (same
    /// keys in the same order, `null`s kept), sharing nothing mutable with any other call's.
    #[wasm_bindgen(catch)]
    fn imagestore_rows_of(holder: &JsValue) -> std::result::Result<JsValue, JsValue>;
}

/// How many answers are kept converted (the core remembers as many).
const KEPT: usize = 4;

/// Converted answers of one `Store` object, by the identity of the core's answer.
#[derive(Default)]
pub(super) struct ListAnswers {
    /// Each text answer as a JS string.
    strings: RefCell<Vec<(Rc<String>, JsValue)>>,
    /// Each columns answer's rows holder (`imagestore_rows_holder`).
    holders: RefCell<Vec<(Rc<ListColumns>, JsValue)>>,
}

/// The entry converted from `answer` (the same `Rc`), or a new one made by `convert`.
fn kept<T>(cache: &RefCell<Vec<(Rc<T>, JsValue)>>, answer: &Rc<T>, convert: impl FnOnce() -> JsValue) -> JsValue {
    let mut cache = cache.borrow_mut();
    // Answers of a previous state are never asked again (the core's answers are new ones):
    // they age out.
    if let Some(i) = cache.iter().position(|(a, _)| Rc::ptr_eq(a, answer)) {
        // Last used last: the oldest use makes room first.
        let entry = cache.remove(i);
        let value = entry.1.clone();
        cache.push(entry);
        return value;
    }
    let value = convert();
    if cache.len() == KEPT {
        cache.remove(0);
    }
    cache.push((answer.clone(), value.clone()));
    value
}

/// The JS values of `columns`, for [`imagestore_rows_of`].
fn holder(columns: &ListColumns) -> JsValue {
    imagestore_rows_holder(
        &JsValue::from_str(&columns.text),
        &js_sys::Int32Array::from(&columns.ints[..]),
        &js_sys::Float64Array::from(&columns.numbers[..]),
    )
}

fn rows_of(holder: &JsValue) -> Result<JsValue> {
    imagestore_rows_of(holder).map_err(|_| Error::invalid("cannot convert the result to a JS value"))
}

/// The rows of an answer asked for once (no JS values kept).
pub(super) fn rows_once(columns: &ListColumns) -> Result<JsValue> {
    rows_of(&holder(columns))
}

impl ListAnswers {
    /// The answer as one JS string (what `GET /images/json` sends).
    pub(super) fn text(&self, text: &Rc<String>) -> JsValue {
        kept(&self.strings, text, || JsValue::from_str(text))
    }

    /// The answer as JS objects, rows of its own for each call.
    pub(super) fn rows(&self, columns: &Rc<ListColumns>) -> Result<JsValue> {
        rows_of(&kept(&self.holders, columns, || holder(columns)))
    }
}
