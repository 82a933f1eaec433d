//! One pass over an image config's JSON that checks it as [`ImageConfig::parse`] would and
//! keeps only what an import needs (created, `os`, whether it has a `config` object, its
//! labels, the DiffIDs, how many history entries add a layer), without building a JSON tree
//! or copying the strings it only checks. Importing a 10,000-image store parsed every config
//! whole, which was half of the import's CPU; the whole parse now happens when an image is
//! inspected ([`crate::docker::lazy_config`]).
//!
//! The scan only answers for the plain case: every known key written exactly once, in its own
//! spelling. Anything else — a key that only matches a field case-insensitively (Go's rule), a
//! key given twice, any value [`ImageConfig::parse`] would refuse — makes it answer `None`,
//! and the caller parses whole, which decides (and words the error). In the plain case both
//! read the same values with the same type checks, and values of keys neither knows are parsed
//! into a JSON value exactly as the whole parse does (so the same inputs are refused: numbers
//! out of range, lone surrogates, nesting limits). `tests` compares the two.
//!
//! [`ImageConfig::parse`]: super::image_config::ImageConfig::parse

use super::gotime::GoTime;
use crate::digest::Digest;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// What an import needs of a config, read by [`scan`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScannedConfig {
    /// `created`, `None` when absent or null.
    pub created: Option<GoTime>,
    /// `os` as written (may be empty).
    pub os: String,
    /// Whether `config` is an object (not absent, not null).
    pub has_config: bool,
    /// `config.Labels`.
    pub labels: Option<BTreeMap<String, String>>,
    /// `rootfs.diff_ids`.
    pub diff_ids: Vec<Digest>,
    /// History entries without `empty_layer` (what `check_history_layers` counts).
    pub non_empty_history: usize,
}

/// Scans `raw`; `None` when the plain case does not hold or the config is not valid (the
/// whole parse then decides).
pub fn scan(raw: &[u8]) -> Option<ScannedConfig> {
    let mut state = State { out: ScannedConfig::default(), empty_layer: false };
    let mut de = serde_json::Deserializer::from_slice(raw);
    let found = Field { kind: Kind::Object(Role::Top), state: &mut state }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    // `rootfs` is required (absent or null: "no RootFS key").
    found.then_some(state.out)
}

/// Which object a field table belongs to; captures depend on it (`config.Labels` is kept,
/// `container_config.Labels` only checked).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Top,
    Config,
    ContainerConfig,
    Healthcheck,
    RootFs,
    History,
}

/// The type [`ImageConfig::parse`](super::image_config::ImageConfig::parse) requires of a
/// field, and what to keep of it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A string or null.
    Str,
    /// `os`: a string or null, kept.
    Os,
    Bool,
    /// An integer that fits `i64` (no fraction, no exponent) or null.
    Int,
    /// An RFC 3339 time string or null.
    Time,
    /// `created` at the top: a time, kept.
    Created,
    /// `[]string`: a list of strings (or nulls), or null.
    Strings,
    /// `strslice.StrSlice`: a string, or [`Kind::Strings`].
    StrSlice,
    /// `map[string]string`: an object of strings (or nulls), or null.
    StringMap,
    /// `config.Labels`: a [`Kind::StringMap`], kept.
    Labels,
    /// `history[].empty_layer`: a boolean or null, noted.
    EmptyLayer,
    /// `map[string]struct{}`: an object whose values are objects (or null), or null.
    KeySet,
    /// `rootfs.diff_ids`: a list of digests, kept.
    Digests,
    /// An object with the role's fields, or null.
    Object(Role),
    /// A list of objects (or nulls) with the role's fields, or null.
    Objects(Role),
}

const TOP: &[(&str, Kind)] = &[
    ("created", Kind::Created),
    ("parent", Kind::Str),
    ("comment", Kind::Str),
    ("container", Kind::Str),
    ("docker_version", Kind::Str),
    ("author", Kind::Str),
    ("architecture", Kind::Str),
    ("variant", Kind::Str),
    ("os", Kind::Os),
    ("os.version", Kind::Str),
    ("os.features", Kind::Strings),
    ("config", Kind::Object(Role::Config)),
    ("container_config", Kind::Object(Role::ContainerConfig)),
    ("rootfs", Kind::Object(Role::RootFs)),
    ("history", Kind::Objects(Role::History)),
];

const CONTAINER_CONFIG: &[(&str, Kind)] = &[
    ("Hostname", Kind::Str),
    ("Domainname", Kind::Str),
    ("User", Kind::Str),
    ("AttachStdin", Kind::Bool),
    ("AttachStdout", Kind::Bool),
    ("AttachStderr", Kind::Bool),
    ("ExposedPorts", Kind::KeySet),
    ("Tty", Kind::Bool),
    ("OpenStdin", Kind::Bool),
    ("StdinOnce", Kind::Bool),
    ("Env", Kind::Strings),
    ("Cmd", Kind::StrSlice),
    ("Healthcheck", Kind::Object(Role::Healthcheck)),
    ("ArgsEscaped", Kind::Bool),
    ("Image", Kind::Str),
    ("Volumes", Kind::KeySet),
    ("WorkingDir", Kind::Str),
    ("Entrypoint", Kind::StrSlice),
    ("NetworkDisabled", Kind::Bool),
    ("MacAddress", Kind::Str),
    ("OnBuild", Kind::Strings),
    ("Labels", Kind::StringMap),
    ("StopSignal", Kind::Str),
    ("StopTimeout", Kind::Int),
    ("Shell", Kind::StrSlice),
];

const HEALTHCHECK: &[(&str, Kind)] = &[
    ("Test", Kind::Strings),
    ("Interval", Kind::Int),
    ("Timeout", Kind::Int),
    ("StartPeriod", Kind::Int),
    ("Retries", Kind::Int),
];

const ROOTFS: &[(&str, Kind)] = &[("type", Kind::Str), ("diff_ids", Kind::Digests)];

const HISTORY: &[(&str, Kind)] = &[
    ("created", Kind::Time),
    ("author", Kind::Str),
    ("created_by", Kind::Str),
    ("comment", Kind::Str),
    ("empty_layer", Kind::EmptyLayer),
];

/// The field `key` names in an object of `role` (its index in the table, its kind), by its
/// exact spelling; `Err` when it only matches one case-insensitively (not the plain case),
/// `Ok(None)` for a key no field has.
fn field(role: Role, key: &str) -> Result<Option<(usize, Kind)>, ()> {
    let table = match role {
        Role::Top => TOP,
        Role::Config | Role::ContainerConfig => CONTAINER_CONFIG,
        Role::Healthcheck => HEALTHCHECK,
        Role::RootFs => ROOTFS,
        Role::History => HISTORY,
    };
    if let Some(index) = table.iter().position(|(name, _)| *name == key) {
        let kind = match table[index].1 {
            Kind::StringMap if role == Role::Config => Kind::Labels,
            other => other,
        };
        return Ok(Some((index, kind)));
    }
    if table.iter().any(|(name, _)| name.len() == key.len() && name.eq_ignore_ascii_case(key)) {
        return Err(());
    }
    Ok(None)
}

/// Gives up on the plain case; the message is never shown (the whole parse words errors).
fn give_up<E: serde::de::Error>() -> E {
    E::custom("not the plain case")
}

/// What the scan has kept so far, and the flag of the history entry being read.
struct State {
    out: ScannedConfig,
    empty_layer: bool,
}

/// One field's value (or the top-level object). Answers whether it was there and not null.
struct Field<'s> {
    kind: Kind,
    state: &'s mut State,
}

impl<'de> DeserializeSeed<'de> for Field<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Field<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an image config value")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<bool, E> {
        Ok(false) // null: the field keeps its zero value, as in Go
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<bool, E> {
        match self.kind {
            Kind::Bool => Ok(true),
            Kind::EmptyLayer => {
                self.state.empty_layer = v;
                Ok(true)
            }
            _ => Err(give_up()),
        }
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<bool, E> {
        match self.kind {
            Kind::Int => Ok(true),
            _ => Err(give_up()),
        }
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<bool, E> {
        match self.kind {
            Kind::Int if i64::try_from(v).is_ok() => Ok(true),
            _ => Err(give_up()),
        }
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<bool, E> {
        Err(give_up())
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<bool, E> {
        match self.kind {
            Kind::Str | Kind::StrSlice => Ok(true),
            Kind::Os => {
                self.state.out.os = v.to_string();
                Ok(true)
            }
            Kind::Time | Kind::Created => {
                let t = GoTime::parse_rfc3339(v).map_err(|_| give_up::<E>())?;
                if self.kind == Kind::Created {
                    self.state.out.created = Some(t);
                }
                Ok(true)
            }
            _ => Err(give_up()),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        match self.kind {
            Kind::Strings | Kind::StrSlice => while seq.next_element_seed(Text(None))?.is_some() {},
            Kind::Digests => {
                let mut text = String::new();
                while seq.next_element_seed(Text(Some(&mut text)))?.is_some() {
                    // A null element reads as "", which is no digest: the whole parse refuses it.
                    self.state.out.diff_ids.push(Digest::parse(&text).map_err(|_| give_up::<A::Error>())?);
                    text.clear();
                }
            }
            Kind::Objects(role) => loop {
                self.state.empty_layer = false;
                // A null element is an empty object (Go's zero value).
                match seq.next_element_seed(Field { kind: Kind::Object(role), state: self.state })? {
                    None => break,
                    Some(_) => self.state.out.non_empty_history += usize::from(!self.state.empty_layer),
                }
            },
            _ => return Err(give_up()),
        }
        Ok(true)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        match self.kind {
            Kind::Object(role) => {
                if role == Role::Config {
                    self.state.out.has_config = true;
                }
                let mut seen = 0u64;
                let mut found_rootfs = false;
                while let Some(key) = map.next_key_seed(Key)? {
                    match field(role, &key).map_err(|()| give_up::<A::Error>())? {
                        Some((index, kind)) => {
                            if seen & (1u64 << index) != 0 {
                                return Err(give_up()); // a key given twice: the last one counts in Go
                            }
                            seen |= 1u64 << index;
                            let present = map.next_value_seed(Field { kind, state: self.state })?;
                            found_rootfs |= role == Role::Top && key == "rootfs" && present;
                        }
                        // Unknown keys are parsed as the whole parse parses them (and dropped).
                        None => drop(map.next_value::<serde_json::Value>()?),
                    }
                }
                Ok(role != Role::Top || found_rootfs)
            }
            Kind::StringMap | Kind::Labels => {
                let mut labels = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    let mut value = String::new();
                    map.next_value_seed(Text(Some(&mut value)))?;
                    // Later duplicates win, as in the whole parse.
                    labels.insert(key, value);
                }
                if self.kind == Kind::Labels {
                    self.state.out.labels = Some(labels);
                }
                Ok(true)
            }
            Kind::KeySet => {
                while map.next_key_seed(Key)?.is_some() {
                    match map.next_value::<serde_json::Value>()? {
                        serde_json::Value::Object(_) | serde_json::Value::Null => {}
                        _ => return Err(give_up()),
                    }
                }
                Ok(true)
            }
            _ => Err(give_up()),
        }
    }
}

/// An object key, borrowed from the input unless it has escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_string()))
    }
}

/// A string or null (read as ""), copied into the `String` given, if any.
struct Text<'t>(Option<&'t mut String>);

impl<'de> DeserializeSeed<'de> for Text<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Text<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        if let Some(out) = self.0 {
            out.push_str(v);
        }
        Ok(())
    }
    // Anything else is refused by the default visit_* methods.
}
