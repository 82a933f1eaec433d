//! The image list's answer as JS values, converted once per answer: the core remembers its
//! `GET /images/json` text while the store is unchanged and hands out the same `Rc` (see
//! [`crate::docker::list::ListMemo`]); here that text is decoded into a JS string once, and a
//! call asking again gets the same (immutable) string, or its own copy of the rows (a caller
//! may sort or change what it got). Copying 10,000 rows costs a few milliseconds; parsing their
//! 4 MB of JSON costs 5–30.
//!
//! The first call for an answer returns its own parse: copying it as well, in JS that has never
//! run on that page (V8 interprets it first), took longer than the parse. The rows later calls
//! copy from are parsed when the page is next idle, or kept from the next call's parse if that
//! call comes first.

use crate::error::{Error, Result};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function imagestore_rows_holder(text) {
  return { text, rows: null, asked: false };
}

export function imagestore_rows_of(holder) {
  if (holder.rows !== null) return imagestore_copy_summaries(holder.rows);
  const rows = JSON.parse(holder.text);
  if (holder.asked) {
    // Asked again before the page was idle (calls in a row): this parse is kept.
    holder.rows = rows;
    return imagestore_copy_summaries(rows);
  }
  holder.asked = true;
  const keep = () => {
    if (holder.rows === null) holder.rows = JSON.parse(holder.text);
  };
  if (typeof requestIdleCallback === "function") requestIdleCallback(keep);
  else setTimeout(keep, 0).unref?.(); // in Node it does not keep the process alive
  return rows;
}

function imagestore_copy_summaries(rows) {
  const out = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    out[i] = {
      Containers: r.Containers,
      Created: r.Created,
      Id: r.Id,
      Labels: r.Labels === null ? null : { ...r.Labels },
      ParentId: r.ParentId,
      RepoDigests: r.RepoDigests === null ? null : r.RepoDigests.slice(),
      RepoTags: r.RepoTags === null ? null : r.RepoTags.slice(),
      SharedSize: r.SharedSize,
      Size: r.Size,
      VirtualSize: r.VirtualSize,
    };
  }
  return out;
}
"#)]
extern "C" {
    /// What [`imagestore_rows_of`] keeps for one answer: its text, and the parsed rows once
    /// they are made.
    fn imagestore_rows_holder(text: &JsValue) -> JsValue;
    /// Rows of the answer `holder` keeps, as `JSON.parse` gives them (same keys in the same
    /// order, `null`s kept), sharing nothing mutable with any other call's: a copy of the kept
    /// rows; on the first call a parse of the text (the kept rows are parsed when the page is
    /// idle); on a later call before that, a copy of its parse, which is kept.
    #[wasm_bindgen(catch)]
    fn imagestore_rows_of(holder: &JsValue) -> std::result::Result<JsValue, JsValue>;
}

#[wasm_bindgen]
extern "C" {
    /// `JSON.parse` of a JS string (`js_sys::JSON::parse` takes a Rust string: one more copy).
    #[wasm_bindgen(js_namespace = JSON, js_name = parse, catch)]
    fn parse_json(text: &JsValue) -> std::result::Result<JsValue, JsValue>;
}

/// How many answers are kept converted (the core remembers as many).
const KEPT: usize = 4;

/// Converted answers of one `Store` object, by the identity of the core's text.
#[derive(Default)]
pub(super) struct ListAnswers {
    /// Each answer's text as a JS string.
    strings: RefCell<Vec<(Rc<String>, JsValue)>>,
    /// Each answer's rows holder (`imagestore_rows_holder`).
    holders: RefCell<Vec<(Rc<String>, JsValue)>>,
}

/// The entry converted from `text` (the same `Rc`), or a new one made by `convert`.
fn kept(
    cache: &RefCell<Vec<(Rc<String>, JsValue)>>,
    text: &Rc<String>,
    convert: impl FnOnce() -> Result<JsValue>,
) -> Result<JsValue> {
    let mut cache = cache.borrow_mut();
    // Answers of a previous state are never asked again (the core's texts are new ones): they
    // age out.
    if let Some(i) = cache.iter().position(|(t, _)| Rc::ptr_eq(t, text)) {
        // Last used last: the oldest use makes room first.
        let entry = cache.remove(i);
        let value = entry.1.clone();
        cache.push(entry);
        return Ok(value);
    }
    let value = convert()?;
    if cache.len() == KEPT {
        cache.remove(0);
    }
    cache.push((text.clone(), value.clone()));
    Ok(value)
}

/// The rows of a list answer's text, parsed in JS (no copy kept).
pub(super) fn parse_rows(text: &str) -> Result<JsValue> {
    parse_json(&JsValue::from_str(text)).map_err(|_| Error::invalid("cannot convert the result to a JS value"))
}

impl ListAnswers {
    /// The answer as one JS string (what `GET /images/json` sends).
    pub(super) fn text(&self, text: &Rc<String>) -> Result<JsValue> {
        kept(&self.strings, text, || Ok(JsValue::from_str(text)))
    }

    /// The answer as JS objects, rows of its own for each call.
    pub(super) fn rows(&self, text: &Rc<String>) -> Result<JsValue> {
        let holder = kept(&self.holders, text, || Ok(imagestore_rows_holder(&self.text(text)?)))?;
        imagestore_rows_of(&holder).map_err(|_| Error::invalid("cannot convert the result to a JS value"))
    }
}
