//! An image's config as the image store holds it: either parsed (a `docker load` hands over
//! what it parsed while streaming) or only the facts the image list and the layer walks need
//! (created, labels, DiffIDs, top layer): for a store reopened from its summary
//! ([`super::summary`]), and for a Docker root import, which checks each config in one scan
//! ([`crate::formats::image_config_scan`]) instead of parsing it whole.
//! The config itself is read from its blob when something asks for more (inspect, history,
//! export, dive's commands). Reopening 10,000 images then reads and parses no config, and
//! keeps none of their bytes in memory.

use crate::digest::{chain_id, Digest};
use crate::formats::go_json;
use crate::formats::gotime::GoTime;
use crate::formats::image_config::ImageConfig;
use crate::formats::image_config_scan::ScannedConfig;
use crate::storage::SharedBytes;
use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::ops::Range;
use std::rc::Rc;

/// What the image list and its filters need of a config (and the ChainID of its top layer),
/// known without parsing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFacts {
    /// `created` (or Go's zero time) as seconds and nanoseconds since the epoch.
    pub created: (i64, u32),
    /// Whether the config has a `config` object (a `label` filter never matches without one).
    pub has_container_config: bool,
    /// `config.Labels`, as [`ImageConfig::labels`] gives them.
    pub labels: LazyLabels,
    /// ChainID of the top layer (of `rootfs.diff_ids`); `None` without layers.
    pub top_layer: Option<Digest>,
    /// `rootfs.diff_ids`.
    pub diff_ids: Vec<Digest>,
}

impl ConfigFacts {
    /// The facts of a parsed config.
    pub fn of(config: &ImageConfig) -> ConfigFacts {
        let created = config.created_or_zero();
        ConfigFacts {
            created: (created.unix(), created.nanos()),
            has_container_config: config.config().is_some(),
            labels: LazyLabels::decoded(config.labels().cloned()),
            top_layer: chain_id(config.diff_ids()),
            diff_ids: config.diff_ids().to_vec(),
        }
    }

    /// The facts of a config [`scan`](crate::formats::image_config_scan::scan)ned at import:
    /// the same values [`ConfigFacts::of`] takes from the whole parse.
    pub fn scanned(scanned: ScannedConfig) -> ConfigFacts {
        let created = scanned.created.unwrap_or(GoTime::ZERO);
        ConfigFacts {
            created: (created.unix(), created.nanos()),
            has_container_config: scanned.has_config,
            labels: LazyLabels::decoded(scanned.labels),
            top_layer: chain_id(&scanned.diff_ids),
            diff_ids: scanned.diff_ids,
        }
    }
}

/// An image's labels, or their JSON text as a summary record holds it: a reopened store parses
/// them only when a filter or an inspect first asks (10,000 images' labels are most of what the
/// summary holds, and the list writes them as they are).
#[derive(Clone)]
pub struct LazyLabels {
    decoded: OnceCell<Option<BTreeMap<String, String>>>,
    /// The labels of a shard's images as JSON objects, one after another, and where this
    /// image's object is: checked by [`go_json::is_api_string_map`] when the shard was read.
    encoded: Option<(Rc<str>, Range<usize>)>,
}

impl LazyLabels {
    pub fn decoded(labels: Option<BTreeMap<String, String>>) -> LazyLabels {
        LazyLabels { decoded: OnceCell::from(labels), encoded: None }
    }

    /// Labels that [`super::summary`] checked at `range` in `text`, parsed on first use.
    pub(super) fn encoded(text: Rc<str>, range: Range<usize>) -> LazyLabels {
        LazyLabels { decoded: OnceCell::new(), encoded: Some((text, range)) }
    }

    /// Appends the labels as the image list's `Labels` writes them: `null` when the config has
    /// none (not the same as `{}`, for a config whose `Labels` is empty), else an object in key
    /// order with the API's string escapes. Labels read from a summary are copied as they are:
    /// the list of 10,000 images after an open neither parses nor escapes them again.
    pub fn write_json(&self, out: &mut String) {
        if let Some(decoded) = self.decoded.get() {
            match decoded {
                Some(labels) => go_json::write_api_string_map(out, labels),
                None => out.push_str("null"),
            }
            return;
        }
        out.push_str(self.encoded_text());
    }

    pub fn get(&self) -> Option<&BTreeMap<String, String>> {
        self.decoded
            .get_or_init(|| {
                Some(serde_json::from_str(self.encoded_text()).expect("checked as a map of strings when read"))
            })
            .as_ref()
    }

    fn encoded_text(&self) -> &str {
        let (text, range) = self.encoded.as_ref().expect("labels are decoded or encoded");
        &text[range.clone()]
    }
}

impl PartialEq for LazyLabels {
    fn eq(&self, other: &LazyLabels) -> bool {
        self.get() == other.get()
    }
}

impl Eq for LazyLabels {}

impl std::fmt::Debug for LazyLabels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

#[derive(Debug)]
enum Source {
    Parsed(Rc<ImageConfig>),
    /// From a summary record whose checksum matched, or an import's scan: the facts only. The
    /// config is parsed when something needs more than the list, from `raw` when the import
    /// kept its bytes (verified against the image ID when they were staged), else from its
    /// blob (read and verified by the façade; [`LazyConfig::fill`] then keeps it), once for
    /// every copy of the state.
    Summarized {
        facts: ConfigFacts,
        loaded: OnceCell<Rc<ImageConfig>>,
        raw: RefCell<Option<SharedBytes>>,
    },
}

/// An image config, parsed now, or summarized and read from its blob on first use. Cheap to
/// clone (shared).
#[derive(Debug, Clone)]
pub struct LazyConfig(Rc<(Source, OnceCell<ConfigFacts>)>);

impl LazyConfig {
    pub fn parsed(config: Rc<ImageConfig>) -> LazyConfig {
        LazyConfig(Rc::new((Source::Parsed(config), OnceCell::new())))
    }

    /// A config known by the facts a valid summary record stored.
    pub fn summarized(facts: ConfigFacts) -> LazyConfig {
        Self::summarized_with(facts, None)
    }

    /// A config an import scanned: its facts, and its bytes to parse on first use.
    pub fn scanned(facts: ConfigFacts, raw: SharedBytes) -> LazyConfig {
        Self::summarized_with(facts, Some(raw))
    }

    fn summarized_with(facts: ConfigFacts, raw: Option<SharedBytes>) -> LazyConfig {
        let source = Source::Summarized { facts, loaded: OnceCell::new(), raw: RefCell::new(raw) };
        LazyConfig(Rc::new((source, OnceCell::new())))
    }

    /// What the list needs, without the config.
    pub fn facts(&self) -> &ConfigFacts {
        match &self.0 .0 {
            Source::Parsed(c) => self.0 .1.get_or_init(|| ConfigFacts::of(c)),
            Source::Summarized { facts, .. } => facts,
        }
    }

    /// `rootfs.diff_ids`, without the config.
    pub fn diff_ids(&self) -> &[Digest] {
        &self.facts().diff_ids
    }

    /// The parsed config, if it is in memory ([`LazyConfig::fill`] brings it there) or its
    /// bytes are (it is parsed now).
    pub fn loaded(&self) -> Option<&ImageConfig> {
        match &self.0 .0 {
            Source::Parsed(c) => Some(c),
            Source::Summarized { loaded, raw, .. } => {
                if loaded.get().is_none() {
                    // The import's scan accepted exactly what this parse accepts.
                    if let Some(Ok(config)) = raw.borrow_mut().take().map(|raw| ImageConfig::parse(raw.into_vec())) {
                        let _ = loaded.set(Rc::new(config));
                    }
                }
                loaded.get().map(|c| &**c)
            }
        }
    }

    /// Whether the config is in memory (memory figures and tests).
    pub fn is_loaded(&self) -> bool {
        self.loaded().is_some()
    }

    /// Keeps `config` (read from the blob, verified against the image ID) for a summarized
    /// config; every copy of the state shares it.
    pub fn fill(&self, config: Rc<ImageConfig>) {
        if let Source::Summarized { loaded, .. } = &self.0 .0 {
            let _ = loaded.set(config);
        }
    }

    /// The parsed config. The store façade reads the configs a call needs before it runs
    /// (`Store::load_configs`); one that is not in memory here is a bug in that call, not bad
    /// data, and is reported as `internal`.
    pub fn get(&self) -> crate::error::Result<&ImageConfig> {
        self.loaded().ok_or_else(|| {
            crate::error::Error::internal(
                "an image config was needed before it was read from its blob (Store::load_configs)",
            )
        })
    }
}
