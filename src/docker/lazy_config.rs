//! An image's config as the image store holds it: either parsed (an import hands over what it
//! parsed while streaming) or, for a store reopened from its summary ([`super::summary`]), the
//! exact bytes plus the few facts the image list needs, parsed only when something asks for
//! more (inspect, history, layers, analyses). Reopening 10,000 images then parses no JSON.

use crate::digest::{chain_id, Digest};
use crate::formats::image_config::ImageConfig;
use std::cell::OnceCell;
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
    pub labels: Option<BTreeMap<String, String>>,
    /// ChainID of the top layer (of `rootfs.diff_ids`); `None` without layers.
    pub top_layer: Option<Digest>,
}

impl ConfigFacts {
    /// The facts of a parsed config.
    pub fn of(config: &ImageConfig) -> ConfigFacts {
        let created = config.created_or_zero();
        ConfigFacts {
            created: (created.unix(), created.nanos()),
            has_container_config: config.config().is_some(),
            labels: config.labels().cloned(),
            top_layer: chain_id(config.diff_ids()),
        }
    }
}

/// Bytes inside a shared buffer (a summary record read whole), without copying them out.
#[derive(Debug, Clone)]
pub struct SharedBytes {
    buffer: Rc<Vec<u8>>,
    range: Range<usize>,
}

impl SharedBytes {
    /// `range` of `buffer`; panics if it is out of bounds (callers check it while decoding).
    pub fn new(buffer: Rc<Vec<u8>>, range: Range<usize>) -> SharedBytes {
        assert!(range.end <= buffer.len() && range.start <= range.end, "slice inside its buffer");
        SharedBytes { buffer, range }
    }
    pub fn as_slice(&self) -> &[u8] {
        &self.buffer[self.range.clone()]
    }
}

#[derive(Debug)]
enum Source {
    Parsed(Rc<ImageConfig>),
    /// Bytes from a summary record whose checksum matched; they were parsed and verified
    /// against the image ID when the image was stored.
    Summarized {
        raw: SharedBytes,
        facts: ConfigFacts,
        parsed: OnceCell<Rc<ImageConfig>>,
    },
}

/// An image config, parsed now or on first use. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct LazyConfig(Rc<(Source, OnceCell<ConfigFacts>)>);

impl LazyConfig {
    pub fn parsed(config: Rc<ImageConfig>) -> LazyConfig {
        LazyConfig(Rc::new((Source::Parsed(config), OnceCell::new())))
    }

    /// Config bytes from a valid summary record with the facts stored beside them.
    pub fn summarized(raw: SharedBytes, facts: ConfigFacts) -> LazyConfig {
        LazyConfig(Rc::new((Source::Summarized { raw, facts, parsed: OnceCell::new() }, OnceCell::new())))
    }

    /// The exact config bytes (the image ID is their sha256).
    pub fn raw(&self) -> &[u8] {
        match &self.0 .0 {
            Source::Parsed(c) => c.raw(),
            Source::Summarized { raw, .. } => raw.as_slice(),
        }
    }

    /// What the list needs, without parsing.
    pub fn facts(&self) -> &ConfigFacts {
        match &self.0 .0 {
            Source::Parsed(c) => self.0 .1.get_or_init(|| ConfigFacts::of(c)),
            Source::Summarized { facts, .. } => facts,
        }
    }

    /// Whether the config has been parsed (memory figures and tests).
    pub fn is_parsed(&self) -> bool {
        match &self.0 .0 {
            Source::Parsed(_) => true,
            Source::Summarized { parsed, .. } => parsed.get().is_some(),
        }
    }

    /// The parsed config, parsing it on first use.
    pub fn get(&self) -> &ImageConfig {
        match &self.0 .0 {
            Source::Parsed(c) => c,
            Source::Summarized { raw, parsed, .. } => parsed.get_or_init(|| {
                // These bytes parsed when the image was stored, and the summary's checksum and
                // version say they are those bytes and this parser's rules: failing here would
                // be a bug, not bad data.
                Rc::new(ImageConfig::parse(raw.as_slice().to_vec()).expect("a summarized config parses"))
            }),
        }
    }
}

impl std::ops::Deref for LazyConfig {
    type Target = ImageConfig;
    fn deref(&self) -> &ImageConfig {
        self.get()
    }
}
