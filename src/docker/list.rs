//! `GET /images/json` (dockerd 20.10's daemon/images/images.go): the filters, and the rows
//! written straight to the Engine API's JSON text (what dockerd's encoder sends: compact, Go's
//! string escapes) or, by the same walk, as columns for JS ([`super::list_columns`]);
//! remembered per state of the store in a [`ListMemo`].
//!
//! The list is what the page asks on every keystroke and what `docker images` asks first, over
//! stores of thousands of images: a row costs its chain size (kept per image and per layer, see
//! [`super::layers::LayerStore::size`]) and its references (walked beside the images, see
//! [`super::references::ReferenceStore::by_image`]), and no JSON value is built.

use super::engine::get_image;
use super::images::{Image, ImageStore};
use super::layers::LayerStore;
use super::lazy_config::ConfigFacts;
use super::list_columns::ListColumns;
use super::references::ReferenceStore;
use super::state::DockerState;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::formats::go_json;
use crate::formats::reference::{familiar_match, Reference};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Engine API image filters: name → values (`{"dangling": ["true"], "label": ["a=b"]}`).
pub type Filters = BTreeMap<String, Vec<String>>;

/// The filters `GET /images/json` accepts in 20.10 (no `until` yet).
const ACCEPTED_FILTERS: [&str; 5] = ["before", "dangling", "label", "reference", "since"];

/// `filters.Args.MatchKVList`: every `key` or `key=value` must be in the labels (no labels
/// at all never match).
fn labels_match(wanted: &[String], labels: Option<&BTreeMap<String, String>>) -> bool {
    let Some(labels) = labels.filter(|l| !l.is_empty()) else {
        return false;
    };
    wanted.iter().all(|w| match w.split_once('=') {
        Some((k, v)) => labels.get(k).map(String::as_str) == Some(v),
        None => labels.contains_key(w.as_str()),
    })
}

/// `FamiliarMatch` against each pattern until one matches; a bad pattern is an error.
fn matches_any(patterns: &[String], r: &Reference) -> Result<bool> {
    for p in patterns {
        if familiar_match(p, r)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `created` with full precision, for `before`/`since` (Go compares `time.Time`s).
fn created_instant(img: &Image) -> (i64, u32) {
    img.config.facts().created
}

/// The image a `before`/`since` filter names (the last value wins, as any does in dockerd).
fn filter_image<'a>(d: &'a DockerState, filters: &Filters, name: &str) -> Result<Option<&'a Image>> {
    let mut found = None;
    for v in filters.get(name).into_iter().flatten() {
        found = Some(get_image(d, v)?);
    }
    Ok(found)
}

/// What the filters ask of a row, worked out once for the list.
struct Wanted<'f> {
    all: bool,
    dangling_only: bool,
    /// `dangling=false`: untagged images are left out.
    dangling_false: bool,
    before: Option<(i64, u32)>,
    since: Option<(i64, u32)>,
    labels: Option<&'f [String]>,
    patterns: Option<&'f [String]>,
}

impl Wanted<'_> {
    /// Whether `img` is listed, showing `shown` (its references that the `reference` filter
    /// keeps, in `References(id)` order).
    fn lists(&self, d: &DockerState, img: &Image, shown: &[&Reference]) -> bool {
        if shown.is_empty() && self.patterns.is_some() {
            return false;
        }
        let created = created_instant(img);
        if self.before.is_some_and(|b| created >= b) || self.since.is_some_and(|s| created <= s) {
            return false;
        }
        if let Some(wanted) = self.labels {
            let facts = img.config.facts();
            if !facts.has_container_config || !labels_match(wanted, facts.labels.get()) {
                return false;
            }
        }
        if shown.is_empty() {
            // Untagged: listed with `<none>` placeholders if it is a head or `all` is set,
            // unless `dangling=false` or a reference filter excludes it.
            let excluded = self.dangling_false || self.patterns.is_some();
            !excluded && (self.all || !d.images.has_children(img.id()))
        } else {
            !(self.dangling_only && shown.iter().any(|r| r.tag().is_some()))
        }
    }
}

/// Where [`list_rows`] writes the rows it lists: the Engine API's JSON text ([`JsonRows`]), or
/// columns for JS ([`super::list_columns::ColumnRows`]).
pub(super) trait RowWriter<'a> {
    type Answer;
    /// Makes room for about `rows` rows.
    fn reserve(&mut self, rows: usize);
    /// Writes the next listed image's row.
    fn row(&mut self, row: &Summary<'a, '_>);
    /// The answer: the rows in `order` (their indices in the order `row` was called).
    fn finish(self, order: impl ExactSizeIterator<Item = usize>) -> Self::Answer;
}

/// `GET /images/json` as a JSON value (see [`list_images_json`]).
pub fn list_images(d: &DockerState, all: bool, _digests: bool, filters: &Filters) -> Result<Value> {
    let text = list_images_json(d, all, filters)?;
    Ok(serde_json::from_str(&text).expect("the list's own JSON text parses"))
}

/// `GET /images/json` as the JSON text dockerd sends. `all` shows intermediate images
/// (`digests` changes nothing in the API's answer: the CLI uses it for its columns). Sorted by
/// `Created` descending; images created in the same second come in ID order (dockerd's order
/// among them is that of a Go map, i.e. arbitrary).
pub fn list_images_json(d: &DockerState, all: bool, filters: &Filters) -> Result<String> {
    list_rows(d, all, filters, JsonRows::default())
}

/// The images `GET /images/json` lists, newest first, each written by `writer` (see
/// [`list_images_json`] for the order).
pub(super) fn list_rows<'a, W: RowWriter<'a>>(
    d: &'a DockerState,
    all: bool,
    filters: &'a Filters,
    mut writer: W,
) -> Result<W::Answer> {
    if let Some(bad) = filters.keys().find(|k| !ACCEPTED_FILTERS.contains(&k.as_str())) {
        return Err(Error::invalid(format!("Invalid filter '{bad}'")));
    }
    let dangling_only = match filters.get("dangling") {
        None => false,
        Some(v) if v.is_empty() || v.iter().any(|x| x == "true") => true,
        Some(v) if v.iter().any(|x| x == "false") => false,
        Some(v) => return Err(Error::invalid(format!("Invalid filter 'dangling=[{}]'", v.join(" ")))),
    };
    let wanted = Wanted {
        all,
        dangling_only,
        dangling_false: filters.contains_key("dangling") && !dangling_only,
        before: filter_image(d, filters, "before")?.map(created_instant),
        since: filter_image(d, filters, "since")?.map(created_instant),
        labels: filters.get("label").map(Vec::as_slice),
        patterns: filters.get("reference").map(Vec::as_slice),
    };
    let patterns = wanted.patterns;

    // Each row is written as it is found, in image ID order (the order the state keeps the
    // images in memory), then the rows are joined newest first: written in that order
    // instead, each row's reads land anywhere in memory, and a 10,000-image list spent most
    // of its time waiting for them.
    let capacity = if dangling_only { 0 } else { d.images.len() };
    let mut created: Vec<i64> = Vec::with_capacity(capacity);
    writer.reserve(capacity);
    let mut shown: Vec<&Reference> = Vec::new();
    let candidates: Box<dyn Iterator<Item = &Image>> =
        if dangling_only { Box::new(d.images.heads()) } else { Box::new(d.images.map()) };
    // Both in image ID order: each image's references are found by walking beside it.
    let mut referenced = d.references.by_image().peekable();
    for img in candidates {
        let mut references = None;
        while let Some((id, _)) = referenced.peek() {
            match (*id).cmp(img.id()) {
                std::cmp::Ordering::Less => {
                    referenced.next();
                }
                std::cmp::Ordering::Equal => {
                    references = referenced.next().map(|(_, refs)| refs);
                    break;
                }
                std::cmp::Ordering::Greater => break,
            }
        }
        // With a `reference` filter only the matching references are shown (and an image
        // without any is not listed: see below).
        shown.clear();
        for r in references.into_iter().flatten() {
            if let Some(pats) = patterns {
                if !matches_any(pats, r)? {
                    continue;
                }
            }
            shown.push(r);
        }
        if !wanted.lists(d, img, &shown) {
            continue;
        }
        let size = d.images.size(img, &d.layers)?;
        let facts = img.config.facts();
        writer.row(&Summary { id: img.id(), facts, parent: img.record.parent.as_ref(), size, references: &shown });
        created.push(facts.created.0);
    }
    // Newest first; ties keep ID order (the rows' order), which the row's index in the key
    // keeps: a sort of small keys, not of the rows.
    let mut order: Vec<(std::cmp::Reverse<i64>, u32)> =
        created.iter().enumerate().map(|(i, &c)| (std::cmp::Reverse(c), i as u32)).collect();
    order.sort_unstable();
    Ok(writer.finish(order.into_iter().map(|(_, i)| i as usize)))
}

/// The rows as the Engine API's JSON text: each row's text written in turn, then joined.
#[derive(Default)]
struct JsonRows {
    texts: String,
    /// Where each row's text ends in `texts`.
    ends: Vec<usize>,
    /// Room for one familiar reference string, reused from row to row.
    scratch: String,
}

impl RowWriter<'_> for JsonRows {
    type Answer = String;
    fn reserve(&mut self, rows: usize) {
        self.texts.reserve(rows * 480);
        self.ends.reserve(rows);
    }
    fn row(&mut self, row: &Summary<'_, '_>) {
        row.write(&mut self.texts, &mut self.scratch);
        self.ends.push(self.texts.len());
    }
    fn finish(self, order: impl ExactSizeIterator<Item = usize>) -> String {
        let mut out = String::with_capacity(self.texts.len() + order.len() + 2);
        out.push('[');
        for (n, i) in order.enumerate() {
            if n > 0 {
                out.push(',');
            }
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            out.push_str(&self.texts[start..self.ends[i]]);
        }
        out.push(']');
        out
    }
}

/// Whether a row shows `["<none>:<none>"]`/`["<none>@<none>"]` for its references: when none
/// of `references` (the ones to show) has a tag or a digest.
pub(super) fn shows_placeholders(references: &[&Reference]) -> bool {
    !references.iter().any(|r| r.digest().is_some() || r.tag().is_some())
}

/// One `types.ImageSummary`, fields in dockerd's order. `references` are the ones to show, in
/// `References(id)` order. When none has a tag or digest the lists are
/// `["<none>:<none>"]`/`["<none>@<none>"]` (whether such an image is listed at all is the
/// caller's decision); otherwise a list with no entries is `null`. image_list.go appends a
/// reference to RepoDigests if it has a digest and to RepoTags if it has a tag (both checks,
/// unlike inspect).
pub(super) struct Summary<'a, 's> {
    pub id: &'a Digest,
    pub facts: &'a ConfigFacts,
    pub parent: Option<&'a Digest>,
    pub size: i64,
    /// The references to show.
    pub references: &'s [&'a Reference],
}

impl Summary<'_, '_> {
    /// Appends the row to `out`; `scratch` is room for one familiar reference string, reused
    /// from row to row.
    fn write(&self, out: &mut String, scratch: &mut String) {
        let references = self.references;
        let mut int = itoa::Buffer::new();
        out.push_str(r#"{"Containers":-1,"Created":"#);
        out.push_str(int.format(self.facts.created.0));
        out.push_str(r#","Id":"#);
        write_digest(out, Some(self.id));
        out.push_str(r#","Labels":"#);
        self.facts.labels.write_json(out);
        out.push_str(r#","ParentId":"#);
        write_digest(out, self.parent);
        if !shows_placeholders(references) {
            out.push_str(r#","RepoDigests":"#);
            write_list(out, references.iter().filter(|r| r.digest().is_some()), scratch);
            out.push_str(r#","RepoTags":"#);
            write_list(out, references.iter().filter(|r| r.tag().is_some()), scratch);
        } else {
            out.push_str(r#","RepoDigests":["<none>@<none>"],"RepoTags":["<none>:<none>"]"#);
        }
        // Size and VirtualSize are the same number (20.10): written once, copied.
        let size = int.format(self.size);
        out.push_str(r#","SharedSize":-1,"Size":"#);
        out.push_str(size);
        out.push_str(r#","VirtualSize":"#);
        out.push_str(size);
        out.push('}');
    }
}

/// A digest as a JSON string (`""` for none): a digest's characters never need escaping.
fn write_digest(out: &mut String, digest: Option<&Digest>) {
    out.push('"');
    out.push_str(digest.map_or("", Digest::as_str));
    out.push('"');
}

/// The familiar strings of `references` as a JSON list, `null` when there are none.
fn write_list<'r>(out: &mut String, references: impl Iterator<Item = &'r &'r Reference>, scratch: &mut String) {
    let mut any = false;
    for r in references {
        out.push(if any { ',' } else { '[' });
        any = true;
        scratch.clear();
        r.push_familiar_string(scratch);
        go_json::write_api_string(out, scratch);
    }
    out.push_str(if any { "]" } else { "null" });
}

/// What a remembered answer was computed from: copies of the persistent maps the list reads
/// (each copy is O(1) and shares everything). Holding them makes any later change to the
/// store's maps copy the node it changes, so a changed store never compares equal.
#[derive(Clone)]
struct Basis {
    images: ImageStore,
    layers: LayerStore,
    references: ReferenceStore,
}

impl Basis {
    fn of(d: &DockerState) -> Basis {
        Basis { images: d.images.clone(), layers: d.layers.clone(), references: d.references.clone() }
    }
    fn is(&self, d: &DockerState) -> bool {
        self.images.same_as(&d.images) && self.layers.same_as(&d.layers) && self.references.same_as(&d.references)
    }
}

/// How many answers are remembered: the page keeps asking for a few (`-a` and without, the
/// filter being typed). A filtered answer makes room first: each keystroke of a filter is a
/// new query, and should not push out the plain lists.
const REMEMBERED: usize = 4;

/// The last few list answers (JSON text, columns, or both) with the state they were computed
/// from: asked again on the same state, the answer is not computed again. Any change of the
/// state (a tag, an rmi, an import, a reload after another writer's commit) makes them
/// unusable, since they are only used while the maps they were computed from are the state's
/// maps.
#[derive(Default)]
pub struct ListMemo {
    remembered: RefCell<Option<(Basis, Vec<Remembered>)>>,
}

/// One remembered answer: its query (`all`, filters) and the forms of it asked so far.
struct Remembered {
    all: bool,
    filters: Filters,
    json: Option<Rc<String>>,
    columns: Option<Rc<ListColumns>>,
}

impl ListMemo {
    /// [`list_images_json`], remembered: the same `Rc` while the state stays the same.
    pub fn list_images_json(&self, d: &DockerState, all: bool, filters: &Filters) -> Result<Rc<String>> {
        self.remembered(d, all, filters, |r| &mut r.json, || list_images_json(d, all, filters))
    }

    /// [`ListColumns::of`], remembered like [`ListMemo::list_images_json`].
    pub fn list_images_columns(&self, d: &DockerState, all: bool, filters: &Filters) -> Result<Rc<ListColumns>> {
        self.remembered(d, all, filters, |r| &mut r.columns, || ListColumns::of(d, all, filters))
    }

    /// Takes `columns` as the unfiltered list's answer for `all` on `d`, unless one is
    /// remembered: a saved answer that lists the generation `d` was loaded at (see
    /// [`super::list_answer`]).
    pub fn remember_columns(&self, d: &DockerState, all: bool, columns: ListColumns) {
        let remembered = self.remembered(d, all, &Filters::new(), |r| &mut r.columns, || Ok(columns));
        debug_assert!(remembered.is_ok(), "nothing to fail");
    }

    /// The form `form` picks of the answer to (`all`, `filters`) on `d`, made by `make` unless
    /// remembered.
    fn remembered<T>(
        &self,
        d: &DockerState,
        all: bool,
        filters: &Filters,
        form: impl Fn(&mut Remembered) -> &mut Option<Rc<T>>,
        make: impl FnOnce() -> Result<T>,
    ) -> Result<Rc<T>> {
        let mut memo = self.remembered.borrow_mut();
        if !memo.as_ref().is_some_and(|(basis, _)| basis.is(d)) {
            *memo = Some((Basis::of(d), Vec::new()));
        }
        let (_, answers) = memo.as_mut().expect("set above");
        let i = match answers.iter().position(|r| r.all == all && &r.filters == filters) {
            // Last used last: the oldest use makes room first.
            Some(i) => {
                let hit = answers.remove(i);
                answers.push(hit);
                answers.len() - 1
            }
            None => {
                if answers.len() == REMEMBERED {
                    let oldest_filtered = answers.iter().position(|r| !r.filters.is_empty());
                    answers.remove(oldest_filtered.unwrap_or(0));
                }
                answers.push(Remembered { all, filters: filters.clone(), json: None, columns: None });
                answers.len() - 1
            }
        };
        if let Some(answer) = form(&mut answers[i]) {
            return Ok(answer.clone());
        }
        match make() {
            Ok(answer) => {
                let answer = Rc::new(answer);
                *form(&mut answers[i]) = Some(answer.clone());
                Ok(answer)
            }
            Err(e) => {
                // A query that fails (a bad filter) is not remembered.
                if answers[i].json.is_none() && answers[i].columns.is_none() {
                    answers.remove(i);
                }
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::lazy_config::LazyConfig;
    use crate::formats::image_config::ImageConfig;
    use serde_json::json;

    const DGST: &str = "sha256:a12f393f6889cd5a6a78e8f3d30590b0e4c2c25f7d74075501fbad53d3bb5606";

    fn config(json: &str) -> LazyConfig {
        LazyConfig::parsed(Rc::new(ImageConfig::parse(json.as_bytes().to_vec()).unwrap()))
    }
    /// The references in `References(id)` order (full string), as the reference store keeps them.
    fn refs(list: &[&str]) -> Vec<Reference> {
        let mut r: Vec<Reference> = list.iter().map(|s| Reference::parse_normalized_named(s).unwrap()).collect();
        r.sort_by_cached_key(|r| r.to_string());
        r
    }
    fn summary(c: &LazyConfig, parent: Option<&Digest>, r: &[Reference]) -> Value {
        let mut out = String::new();
        let shown: Vec<&Reference> = r.iter().collect();
        let id = c.get().unwrap().id();
        Summary { id: &id, facts: c.facts(), parent, size: 42, references: &shown }.write(&mut out, &mut String::new());
        serde_json::from_str(&out).unwrap()
    }

    #[test]
    fn summary_lists_and_placeholders() {
        let c = config(r#"{"created":"2026-11-23T13:52:39.5Z","rootfs":{},"config":{"Labels":{}}}"#);
        let r =
            refs(&["local/edge:latest", &format!("127.0.0.1:5000/team/edge@{DGST}"), "127.0.0.1:5000/team/edge:v2"]);
        let s = summary(&c, None, &r);
        let keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "Containers",
                "Created",
                "Id",
                "Labels",
                "ParentId",
                "RepoDigests",
                "RepoTags",
                "SharedSize",
                "Size",
                "VirtualSize"
            ]
        );
        assert_eq!(s["Id"], json!(c.get().unwrap().id().as_str()));
        assert_eq!(s["RepoTags"], json!(["127.0.0.1:5000/team/edge:v2", "local/edge:latest"]));
        assert_eq!(s["RepoDigests"], json!([format!("127.0.0.1:5000/team/edge@{DGST}")]));
        assert_eq!(s["Created"], json!(1_795_441_959));
        assert_eq!(s["Labels"], json!({}));
        assert_eq!(s["ParentId"], json!(""));
        assert_eq!((s["Containers"].clone(), s["SharedSize"].clone()), (json!(-1), json!(-1)));
        assert_eq!((s["Size"].clone(), s["VirtualSize"].clone()), (json!(42), json!(42)));
        let s = summary(&c, Some(&Digest::parse(DGST).unwrap()), &refs(&["busybox:latest"]));
        assert_eq!(s["RepoDigests"], Value::Null);
        assert_eq!(s["ParentId"], json!(DGST));
        let s = summary(&c, None, &[]);
        assert_eq!(s["RepoTags"], json!(["<none>:<none>"]));
        assert_eq!(s["RepoDigests"], json!(["<none>@<none>"]));
        let bare = config(r#"{"rootfs":{}}"#);
        let s = summary(&bare, None, &[]);
        assert_eq!(s["Labels"], Value::Null);
        assert_eq!(s["Created"], json!(-62_135_596_800i64));
        let labelled = config(r#"{"rootfs":{},"config":{"Labels":{"z":"1","a\"<&>":"line\nbreak\u2028"}}}"#);
        assert_eq!(summary(&labelled, None, &[])["Labels"], json!({"a\"<&>": "line\nbreak\u{2028}", "z": "1"}));
    }
}
