//! Every options object and loosely typed argument of the JS API, read into Rust values, with
//! `invalid_argument` errors that name the method and the option. The methods themselves (in
//! [`super::store`], [`super::docker`], [`super::containerd`]) only call these.

use super::args;
use super::backend::BackendKind;
use super::convert::{js_error_message, to_js_value};
use super::input::is_aborted;
use super::types::StoreOptions;
use crate::analysis::changes::ChangeKind;
use crate::analysis::dive::CiRules;
use crate::containerd::Labels;
use crate::contents::ExportFormat;
use crate::digest::Digest;
use crate::docker::layer_files::LayerSelector;
use crate::docker::list::Filters;
use crate::error::{Error, Result};
use crate::formats::image_rows::RowOptions;
use crate::import::{CancelCheck, CtrOptions, ImportOptions, Progress, ProgressCallback};
use crate::store_analysis::ImageRef;
use js_sys::{Function, Reflect};
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};

// ---- shared readers ------------------------------------------------------------------------

fn is_nullish(v: &JsValue) -> bool {
    v.is_undefined() || v.is_null()
}

/// The options object of a method, or `None` for `undefined`/`null`.
fn options_object(method: &str, options: &JsValue) -> Result<Option<JsValue>> {
    args::conversion_point(method);
    if is_nullish(options) {
        return Ok(None);
    }
    if !options.is_object() {
        return Err(Error::invalid(format!("{method}: options must be an object, got {}", args::js_type(options))));
    }
    Ok(Some(options.clone()))
}

fn field(options: &JsValue, name: &str) -> JsValue {
    Reflect::get(options, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// A boolean option: missing means false.
fn flag(method: &str, options: &Option<JsValue>, name: &str) -> Result<bool> {
    let Some(o) = options else { return Ok(false) };
    let v = field(o, name);
    if is_nullish(&v) {
        return Ok(false);
    }
    v.as_bool().ok_or_else(|| Error::invalid(format!("{method}: options.{name} must be a boolean, got {v:?}")))
}

/// A JS value deserialised into `T`; `what` names the argument in the error.
pub(super) fn from_js<T: for<'de> Deserialize<'de>>(what: &str, v: JsValue) -> Result<T> {
    args::conversion_point(what);
    serde_wasm_bindgen::from_value(v).map_err(|e| Error::invalid(format!("{what}: {e}")))
}

pub(super) fn digest(s: &str) -> Result<Digest> {
    Digest::parse(s)
}

// ---- Store.open ----------------------------------------------------------------------------

impl StoreOptions {
    /// `options.memoryLimit`, when given.
    pub fn memory_limit(options: Option<&StoreOptions>) -> Result<Option<u64>> {
        let Some(options) = options else { return Ok(None) };
        let options: &JsValue = options.as_ref();
        if !options.is_object() {
            return Ok(None);
        }
        args::opt_count(&field(options, "memoryLimit"), "Store.open: options.memoryLimit")
    }

    /// The backend asked for; the default when `options` or `options.backend` is missing.
    pub fn backend_kind(options: Option<&StoreOptions>) -> Result<BackendKind> {
        let Some(options) = options else { return Ok(BackendKind::default()) };
        let options: &JsValue = options.as_ref();
        if is_nullish(options) {
            return Ok(BackendKind::default());
        }
        if !options.is_object() {
            return Err(Error::invalid(format!("options: expected an object, got {options:?}")));
        }
        let backend = field(options, "backend");
        if backend.is_undefined() {
            return Ok(BackendKind::default());
        }
        match backend.as_string() {
            Some(s) => BackendKind::parse(&s),
            None => {
                Err(Error::invalid(format!("options.backend: expected \"indexeddb\" or \"memory\", got {backend:?}")))
            }
        }
    }
}

// ---- the Docker view -------------------------------------------------------------------------

/// `listImages({ all, digests, filters })`.
pub(super) fn list_images_options(options: &JsValue) -> Result<(bool, bool, Filters)> {
    list_images_options_for(options, "listImages")
}

/// The same options for method `M` (`listImagesJson`).
pub(super) fn list_images_options_for(options: &JsValue, method: &str) -> Result<(bool, bool, Filters)> {
    let o = options_object(method, options)?;
    let filters = match o.as_ref().map(|o| field(o, "filters")) {
        None => Filters::new(),
        Some(f) if is_nullish(&f) => Filters::new(),
        Some(f) => serde_wasm_bindgen::from_value(f).map_err(|e| {
            Error::invalid(format!("{method}: options.filters must map filter names to string arrays: {e}"))
        })?,
    };
    Ok((flag(method, &o, "all")?, flag(method, &o, "digests")?, filters))
}

/// `listImageRows({ all, digests, filters, noTrunc })`: the list's `all` and filters, and the
/// rows' options (`digests` is the CLI's `--digests` here).
pub(super) fn list_image_rows_options(options: &JsValue) -> Result<(bool, Filters, RowOptions)> {
    const M: &str = "listImageRows";
    let (all, digests, filters) = list_images_options_for(options, M)?;
    let no_trunc = flag(M, &options_object(M, options)?, "noTrunc")?;
    Ok((all, filters, RowOptions { digests, no_trunc }))
}

/// `{ all }` of `saveListAnswer` and `Store.savedListImages` (method `method`).
pub(super) fn list_answer_options(method: &str, options: &JsValue) -> Result<bool> {
    flag(method, &options_object(method, options)?, "all")
}

/// `removeImage(name, { force, noprune, dryRun })`.
pub(super) fn remove_image_options(options: &JsValue) -> Result<(bool, bool, bool)> {
    const M: &str = "removeImage";
    let o = options_object(M, options)?;
    Ok((flag(M, &o, "force")?, flag(M, &o, "noprune")?, flag(M, &o, "dryRun")?))
}

/// `tagImage(name, repo, tag, { dryRun })`.
pub(super) fn tag_image_options(options: &JsValue) -> Result<bool> {
    const M: &str = "tagImage";
    flag(M, &options_object(M, options)?, "dryRun")
}

/// `layerFiles(name, { layer, merged })`.
pub(super) fn layer_files_options(options: &JsValue) -> Result<(Option<LayerSelector>, bool)> {
    const M: &str = "layerFiles";
    let o = options_object(M, options)?;
    let layer = match o.as_ref().map(|o| field(o, "layer")) {
        None => None,
        Some(l) if is_nullish(&l) => None,
        Some(l) => Some(match (l.as_f64(), l.as_string()) {
            (Some(n), _) if n >= 0.0 && n.fract() == 0.0 && n <= u32::MAX as f64 => LayerSelector::Index(n as usize),
            (_, Some(s)) => LayerSelector::DiffId(
                Digest::parse(&s)
                    .map_err(|e| Error::invalid(format!("{M}: options.layer {s:?} is not a DiffID: {}", e.message)))?,
            ),
            _ => {
                return Err(Error::invalid(format!("{M}: options.layer must be a layer index or a DiffID, got {l:?}")))
            }
        }),
    };
    Ok((layer, flag(M, &o, "merged")?))
}

// ---- import ----------------------------------------------------------------------------------

/// `import(input, { onProgress, signal, namespace, baseName, indexName, digests, allPlatforms, dockerLoad })`.
pub(super) struct JsImportOptions {
    on_progress: Option<Function>,
    /// The `AbortSignal`, also watched while the input is read.
    pub(super) signal: Option<JsValue>,
    /// Send `docker save` archives and OCI layouts to this containerd namespace (like
    /// `ctr -n <ns> images import`); without it `docker save` archives are loaded into the
    /// Docker view like `docker load`, and OCI layouts go to namespace `default`.
    namespace: Option<String>,
    /// ctr's `--base-name`, `--index-name`, `--digests`, `--all-platforms`.
    ctr: CtrOptions,
    /// `dockerLoad: true`: refuse anything but a `docker save` archive, as `docker load` does.
    docker_load: bool,
}

pub(super) fn import_options(options: &JsValue) -> Result<JsImportOptions> {
    const M: &str = "import";
    let mut out = JsImportOptions {
        on_progress: None,
        signal: None,
        namespace: None,
        ctr: CtrOptions::default(),
        docker_load: false,
    };
    let Some(o) = options_object(M, options)? else { return Ok(out) };
    out.on_progress = match field(&o, "onProgress") {
        f if is_nullish(&f) => None,
        f => Some(
            f.dyn_into::<Function>()
                .map_err(|f| Error::invalid(format!("{M}: options.onProgress must be a function, got {f:?}")))?,
        ),
    };
    out.signal = match field(&o, "signal") {
        s if is_nullish(&s) => None,
        s if s.is_object() => Some(s),
        s => return Err(Error::invalid(format!("{M}: options.signal must be an AbortSignal, got {s:?}"))),
    };
    let text = |k: &str| -> Result<Option<String>> {
        let v = field(&o, k);
        if is_nullish(&v) {
            return Ok(None);
        }
        v.as_string().map(Some).ok_or_else(|| Error::invalid(format!("{M}: options.{k} must be a string")))
    };
    out.ctr.base_name = text("baseName")?;
    out.ctr.index_name = text("indexName")?;
    out.namespace = text("namespace")?;
    let lenient_flag = |k: &str| field(&o, k).as_bool().unwrap_or(false);
    out.ctr.digest_refs = lenient_flag("digests");
    out.ctr.all_platforms = lenient_flag("allPlatforms");
    out.docker_load = match field(&o, "dockerLoad") {
        v if is_nullish(&v) => false,
        v => v.as_bool().ok_or_else(|| Error::invalid(format!("{M}: options.dockerLoad must be a boolean")))?,
    };
    if out.docker_load && out.namespace.is_some() {
        return Err(Error::invalid(format!("{M}: options.dockerLoad and options.namespace exclude each other")));
    }
    Ok(out)
}

impl JsImportOptions {
    /// The importer's options: progress to `onProgress`, cancellation from `signal`.
    pub(super) fn into_core(self, bytes_total: Option<u64>) -> ImportOptions {
        let on_progress = self.on_progress.map(|f| -> ProgressCallback {
            Box::new(move |p: &Progress| {
                // A throwing callback ends the import (nothing is committed), and the rejection
                // says what it threw: swallowing it would hide the caller's bug.
                f.call1(&JsValue::NULL, &to_js_value(p)?)
                    .map(|_| ())
                    .map_err(|e| Error::aborted(format!("import: onProgress threw: {}", js_error_message(&e))))
            })
        });
        let is_cancelled = self.signal.map(|s| -> CancelCheck { Box::new(move || is_aborted(&s)) });
        ImportOptions {
            bytes_total,
            on_progress,
            is_cancelled,
            namespace: self.namespace,
            ctr: self.ctr,
            docker_load: self.docker_load,
            ..Default::default()
        }
    }
}

// ---- analyses ------------------------------------------------------------------------------

/// A dive rule limit: a number or a string (`"disabled"`, `"20MB"`), missing for dive's default.
fn rule_limit(o: &JsValue, name: &str) -> Result<Option<String>> {
    let v = field(o, name);
    if is_nullish(&v) {
        return Ok(None);
    }
    match (v.as_f64(), v.as_string()) {
        (Some(n), _) => Ok(Some(n.to_string())),
        (_, Some(s)) => Ok(Some(s)),
        _ => Err(Error::invalid(format!("efficiency: rules.{name} must be a number or a string, got {v:?}"))),
    }
}

/// `efficiency(name, { lowestEfficiency, highestWastedBytes, highestUserWastedPercent })`.
pub(super) fn dive_rules(options: &JsValue) -> Result<CiRules> {
    let Some(o) = options_object("efficiency", options)? else { return Ok(CiRules::default()) };
    Ok(CiRules {
        lowest_efficiency: rule_limit(&o, "lowestEfficiency")?,
        highest_wasted_bytes: rule_limit(&o, "highestWastedBytes")?,
        highest_user_wasted_percent: rule_limit(&o, "highestUserWastedPercent")?,
    })
}

/// `findFiles(pattern, { change })`.
pub(super) fn change_filter(options: &JsValue) -> Result<Option<ChangeKind>> {
    let Some(o) = options_object("findFiles", options)? else { return Ok(None) };
    let v = field(&o, "change");
    if is_nullish(&v) {
        return Ok(None);
    }
    match v.as_string().as_deref() {
        Some("added") => Ok(Some(ChangeKind::Added)),
        Some("modified") => Ok(Some(ChangeKind::Modified)),
        Some("removed") => Ok(Some(ChangeKind::Removed)),
        _ => Err(Error::invalid(format!(
            "findFiles: options.change must be \"added\", \"modified\" or \"removed\", got {v:?}"
        ))),
    }
}

/// An image to analyse: a string (a Docker name or ID) or `{ namespace, name }` (containerd).
pub(super) fn image_ref(v: &JsValue, what: &str) -> Result<ImageRef> {
    if v.is_string() {
        return args::string(v, what).map(ImageRef::Docker);
    }
    if v.is_object() && !v.is_array() {
        let namespace = args::string(&field(v, "namespace"), &format!("{what}.namespace"))?;
        let name = args::string(&field(v, "name"), &format!("{what}.name"))?;
        return Ok(ImageRef::Containerd { namespace, name });
    }
    Err(Error::invalid(format!(
        "{what}: expected an image name or ID (a string) or {{ namespace, name }}, got {}",
        args::js_type(v)
    )))
}

/// Files `largestFiles` and `storeLargestFiles` list by default.
const DEFAULT_FILE_LIMIT: usize = 100;

/// `largestFiles(image, { limit })`, `storeLargestFiles({ limit })`.
pub(super) fn file_limit(method: &str, options: &JsValue) -> Result<usize> {
    let Some(o) = options_object(method, options)? else { return Ok(DEFAULT_FILE_LIMIT) };
    let limit = args::opt_count(&field(&o, "limit"), &format!("{method}: options.limit"))?;
    Ok(limit.map_or(DEFAULT_FILE_LIMIT, |n| n as usize))
}

// ---- layer contents --------------------------------------------------------------------------

/// `save(names)`: one string or an array of strings.
pub(super) fn save_names(names: &JsValue) -> Result<Vec<String>> {
    if let Some(s) = names.as_string() {
        return Ok(vec![s]);
    }
    if js_sys::Array::is_array(names) {
        return js_sys::Array::from(names)
            .iter()
            .enumerate()
            .map(|(i, v)| v.as_string().ok_or_else(|| Error::invalid(format!("save: names[{i}] is not a string"))))
            .collect();
    }
    Err(Error::invalid("save: names must be a string or an array of strings"))
}

/// `save(names, { format })`.
pub(super) fn save_format(options: &JsValue) -> Result<ExportFormat> {
    let Some(o) = options_object("save", options)? else { return Ok(ExportFormat::Docker) };
    let f = field(&o, "format");
    if f.is_undefined() {
        return Ok(ExportFormat::Docker);
    }
    ExportFormat::parse(&f.as_string().ok_or_else(|| Error::invalid("save: options.format must be a string"))?)
}

// ---- the containerd view ---------------------------------------------------------------------

/// containerd filters (or field paths): `undefined`, a string, or an array of strings.
pub(super) fn strings(v: &JsValue) -> Result<Vec<String>> {
    args::conversion_point("strings");
    if is_nullish(v) {
        return Ok(Vec::new());
    }
    if let Some(s) = v.as_string() {
        return Ok(vec![s]);
    }
    serde_wasm_bindgen::from_value(v.clone())
        .map_err(|_| Error::invalid("filters must be a string or an array of strings"))
}

/// `content.update({ digest, labels }, fieldpaths)`'s first argument.
pub(super) fn content_update(info: JsValue) -> Result<(Digest, Labels)> {
    #[derive(Deserialize)]
    struct InfoArg {
        digest: String,
        #[serde(default)]
        labels: Labels,
    }
    let arg: InfoArg = from_js("update", info)?;
    Ok((digest(&arg.digest)?, arg.labels))
}

/// `options.expected` of `Content.writer`: the digest and size (0 = unchecked) to expect.
pub(super) fn writer_expected(options: &JsValue) -> Result<(Option<Digest>, u64)> {
    if options.is_undefined() || options.is_null() {
        return Ok((None, 0));
    }
    if !options.is_object() {
        return Err(Error::invalid(format!("writer: options must be an object, got {}", args::js_type(options))));
    }
    let expected = field(options, "expected");
    if expected.is_undefined() || expected.is_null() {
        return Ok((None, 0));
    }
    if !expected.is_object() {
        return Err(Error::invalid(format!(
            "writer: options.expected must be an object, got {}",
            args::js_type(&expected)
        )));
    }
    let d = args::opt_string(&field(&expected, "digest"), "writer: options.expected.digest")?;
    let size = args::opt_count(&field(&expected, "size"), "writer: options.expected.size")?;
    Ok((d.map(|d| digest(&d)).transpose()?, size.unwrap_or(0)))
}

/// Labels given to `writer.commit`: `undefined`/`null` for none.
pub(super) fn commit_labels(labels: JsValue) -> Result<Labels> {
    if is_nullish(&labels) {
        return Ok(Labels::new());
    }
    from_js("commit: labels", labels)
}
