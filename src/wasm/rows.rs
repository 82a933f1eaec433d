//! The rows `docker images` prints ([`crate::formats::image_rows`]) for JS: the `imagestore`
//! command and the page ask for a whole list's rows in one call (a call per row cost ~5 µs,
//! 10,000 rows a twentieth of a second), and get them back as columns.

use super::args;
use super::convert::{js_object, to_js_error};
use super::units::string_array;
use crate::error::{Error, Result};
use crate::formats::image_rows::{truncate_id, RowColumns, RowOptions};
use js_sys::{Array, Object, Reflect, Uint32Array};
use wasm_bindgen::prelude::*;

/// The rows of `docker images` (docker CLI 20.10) for `images` (Engine API `ImageSummary`
/// objects, e.g. `listImages()`'s answer, or its JSON text, e.g. `listImagesJson()`'s; only
/// `Id`, `RepoTags` and `RepoDigests` are read),
/// as columns: row `k` is of `images[image[k]]`, with `repository[k]`, `tag[k]`, `digest[k]`
/// and `id[k]` (the ID as the CLI prints it: 12 characters, or whole with `noTrunc`). Options:
/// `digests` (`--digests`), `noTrunc` (`--no-trunc`).
#[wasm_bindgen(
    js_name = imageRows,
    unchecked_return_type = "{ image: Uint32Array; repository: string[]; tag: string[]; digest: string[]; id: string[] }"
)]
pub fn image_rows_js(
    #[wasm_bindgen(
        unchecked_param_type = "ArrayLike<{ Id: string; RepoTags?: string[] | null; RepoDigests?: string[] | null }>"
    )]
    images: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "{ digests?: boolean; noTrunc?: boolean }")] options: JsValue,
) -> std::result::Result<Object, JsValue> {
    super::panic::entry_sync(|| {
        let digests = flag(&options, "digests").map_err(to_js_error)?;
        let no_trunc = flag(&options, "noTrunc").map_err(to_js_error)?;
        let text = summaries_text(&images).map_err(to_js_error)?;
        let images: Vec<Summary> =
            serde_json::from_str(&text).map_err(|e| to_js_error(Error::invalid(format!("imageRows: images: {e}"))))?;
        let options = RowOptions { digests, no_trunc };
        let mut rows = RowColumns::default();
        for (k, summary) in images.iter().enumerate() {
            let tags = summary.repo_tags.as_deref().unwrap_or_default();
            let repo_digests = summary.repo_digests.as_deref().unwrap_or_default();
            rows.push_image(k as u32, summary.id.as_ref(), tags, repo_digests, options);
        }
        Ok(row_columns_js(rows))
    })
}

/// `rows` as the JS object `imageRows` answers.
pub(super) fn row_columns_js(rows: RowColumns) -> Object {
    js_object(&[
        ("image", Uint32Array::from(&rows.image[..]).into()),
        ("repository", string_array(rows.repository.into_iter()).into()),
        ("tag", string_array(rows.tag.into_iter()).into()),
        ("digest", string_array(rows.digest.into_iter()).into()),
        ("id", string_array(rows.id.into_iter()).into()),
    ])
}

/// `stringid.TruncateID` (12 characters of the ID without its `sha256:`), as `docker images`
/// and `docker history` print IDs. `id` a string, else `invalid_argument`.
#[wasm_bindgen(js_name = truncateId)]
pub fn truncate_id_js(
    #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
) -> std::result::Result<String, JsValue> {
    super::panic::entry_sync(|| {
        let id = args::string(&id, "truncateId: id").map_err(to_js_error)?;
        Ok(truncate_id(&id).to_string())
    })
}

/// A boolean option of `imageRows`: missing means false.
fn flag(options: &JsValue, name: &str) -> Result<bool> {
    args::conversion_point("imageRows: options");
    if options.is_undefined() || options.is_null() {
        return Ok(false);
    }
    if !options.is_object() {
        return Err(Error::invalid(format!("imageRows: options must be an object, got {}", args::js_type(options))));
    }
    let v = Reflect::get(options, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
    if v.is_undefined() || v.is_null() {
        return Ok(false);
    }
    v.as_bool().ok_or_else(|| {
        Error::invalid(format!("imageRows: options.{name} must be a boolean, got {}", args::js_type(&v)))
    })
}

/// What the rows need of an `ImageSummary`, its strings borrowed from the JSON text where
/// they have no escapes (always, for valid IDs and references): 10,000 summaries were 30,000
/// allocations, a fifth of the call.
#[derive(serde::Deserialize)]
struct Summary<'a> {
    #[serde(rename = "Id", borrow)]
    id: Text<'a>,
    #[serde(rename = "RepoTags", default, borrow)]
    repo_tags: Option<Vec<Text<'a>>>,
    #[serde(rename = "RepoDigests", default, borrow)]
    repo_digests: Option<Vec<Text<'a>>>,
}

/// A JSON string, borrowed unless it had escapes.
#[derive(serde::Deserialize)]
struct Text<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);

impl AsRef<str> for Text<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The summaries of `images`: an array (read as its JSON text, made by the engine in one call:
/// reading three fields of 10,000 objects across the boundary cost ~8 µs an image) or the JSON
/// text of one (`listImagesJson`'s answer). The text holds the three fields only: with every
/// field (labels and all) it was 2.9 times longer to write, copy and parse.
fn summaries_text(images: &JsValue) -> Result<String> {
    args::conversion_point("imageRows: images");
    let text = if let Some(text) = images.as_string() {
        text
    } else if Array::is_array(images) {
        let fields = Array::of3(&"Id".into(), &"RepoTags".into(), &"RepoDigests".into());
        js_sys::JSON::stringify_with_replacer(images, &fields)
            .ok()
            .and_then(|t| t.as_string())
            .ok_or_else(|| Error::invalid("imageRows: images cannot be read as JSON"))?
    } else {
        return Err(Error::invalid(format!(
            "imageRows: images must be an array or its JSON text, got {}",
            args::js_type(images)
        )));
    };
    Ok(text)
}
