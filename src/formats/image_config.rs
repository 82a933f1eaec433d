//! The image config JSON (`imagedb/content/sha256/<id>`) as moby's `image.NewFromJSON` reads it.
//!
//! Decoding follows Go's `encoding/json` into moby's structs: unknown keys are ignored, object
//! keys match field names exactly or case-insensitively, `null` leaves a field at its zero
//! value, and a value of the wrong type is an error. Go keeps the difference between an empty
//! list/map and a missing one (`[]` vs `null`), and so do these types (`Option`), because the
//! Engine API shows it. Then moby's own check: `rootfs` must be present. The history check of
//! `image.Store.Create` (no more non-empty layers than `rootfs.diff_ids`) is separate,
//! [`ImageConfig::check_history_layers`]: dockerd's startup `restore()` does not apply it.
//!
//! The raw bytes are kept: the image ID is the sha256 of exactly those bytes.
//! One deviation: Go does not validate `diff_ids` strings; here they must be valid digests (an
//! image with a bad one could never be restored by dockerd anyway, its layer lookup fails).

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::formats::gotime::GoTime;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A parsed image config plus its raw bytes.
#[derive(Debug, Clone)]
pub struct ImageConfig {
    raw: Vec<u8>,
    created: Option<(GoTime, String)>,
    parent: String,
    comment: String,
    container: String,
    docker_version: String,
    author: String,
    architecture: String,
    variant: String,
    os: String,
    os_version: String,
    os_features: Option<Vec<String>>,
    config: Option<ContainerConfig>,
    container_config: ContainerConfig,
    rootfs: RootFs,
    history: Vec<HistoryEntry>,
}

/// `rootfs`: `{type, diff_ids}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RootFs {
    /// Normally `layers`; moby never checks it.
    pub fs_type: String,
    pub diff_ids: Vec<Digest>,
}

/// One `history[]` entry (all fields optional in the JSON).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryEntry {
    pub created: Option<GoTime>,
    pub author: String,
    pub created_by: String,
    pub comment: String,
    pub empty_layer: bool,
}

/// Go's `container.Config` (API v1.41 fields). `None` = Go `nil` (shown as `null`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerConfig {
    pub hostname: String,
    pub domainname: String,
    pub user: String,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    /// Keys of `ExposedPorts` (`"8080/tcp"`), sorted.
    pub exposed_ports: Option<Vec<String>>,
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    pub env: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub healthcheck: Option<HealthConfig>,
    pub args_escaped: bool,
    pub image: String,
    /// Keys of `Volumes`, sorted.
    pub volumes: Option<Vec<String>>,
    pub working_dir: String,
    pub entrypoint: Option<Vec<String>>,
    pub network_disabled: bool,
    pub mac_address: String,
    pub on_build: Option<Vec<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    pub stop_signal: String,
    pub stop_timeout: Option<i64>,
    pub shell: Option<Vec<String>>,
}

/// Go's `container.HealthConfig`; durations in nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthConfig {
    pub test: Option<Vec<String>>,
    pub interval: i64,
    pub timeout: i64,
    pub start_period: i64,
    pub retries: i64,
}

impl ImageConfig {
    /// Parses config bytes as `image.NewFromJSON` does (what dockerd's `restore()` and every
    /// image read go through). Errors are `invalid_argument` and say which key was wrong.
    pub fn parse(raw: Vec<u8>) -> Result<ImageConfig> {
        let value: Value =
            serde_json::from_slice(&raw).map_err(|e| Error::invalid(format!("invalid image JSON: {e}")))?;
        let top = match &value {
            Value::Object(m) => GoObject { map: m, at: String::new() },
            Value::Null => return Err(Error::invalid("invalid image JSON, no RootFS key")),
            _ => return Err(Error::invalid("invalid image JSON: not a JSON object")),
        };
        let rootfs = match top.object("rootfs")? {
            Some(r) => RootFs { fs_type: r.string("type")?, diff_ids: r.digests("diff_ids")? },
            None => return Err(Error::invalid("invalid image JSON, no RootFS key")),
        };
        let history = top.objects("history")?.iter().map(history_entry).collect::<Result<Vec<_>>>()?;
        Ok(ImageConfig {
            created: top.time("created")?,
            parent: top.string("parent")?,
            comment: top.string("comment")?,
            container: top.string("container")?,
            docker_version: top.string("docker_version")?,
            author: top.string("author")?,
            architecture: top.string("architecture")?,
            variant: top.string("variant")?,
            os: top.string("os")?,
            os_version: top.string("os.version")?,
            os_features: top.strings("os.features")?,
            config: top.object("config")?.map(|c| container_config(&c)).transpose()?,
            container_config: top
                .object("container_config")?
                .map(|c| container_config(&c))
                .transpose()?
                .unwrap_or_default(),
            rootfs,
            history,
            raw,
        })
    }

    /// `image.Store.Create`'s check (for `docker load` and new images): the history may not
    /// have more non-empty layers than `rootfs.diff_ids`.
    pub fn check_history_layers(&self) -> Result<()> {
        let non_empty = self.history.iter().filter(|h| !h.empty_layer).count();
        if non_empty > self.rootfs.diff_ids.len() {
            return Err(Error::invalid("too many non-empty layers in History section"));
        }
        Ok(())
    }

    /// The exact bytes the config was parsed from.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }
    /// The image ID: sha256 of the raw bytes.
    pub fn id(&self) -> Digest {
        Digest::sha256_of(&self.raw)
    }
    /// `created`, if present and not null.
    pub fn created(&self) -> Option<GoTime> {
        self.created.as_ref().map(|(t, _)| *t)
    }
    /// `created` as written in the JSON.
    pub fn created_text(&self) -> Option<&str> {
        self.created.as_ref().map(|(_, s)| s.as_str())
    }
    /// `created`, or Go's zero time when absent (what dockerd shows then).
    pub fn created_or_zero(&self) -> GoTime {
        self.created().unwrap_or(GoTime::ZERO)
    }
    /// The `parent` key of the JSON. Note: dockerd ignores it and uses `metadata/<id>/parent`.
    pub fn parent(&self) -> &str {
        &self.parent
    }
    pub fn comment(&self) -> &str {
        &self.comment
    }
    pub fn container(&self) -> &str {
        &self.container
    }
    pub fn docker_version(&self) -> &str {
        &self.docker_version
    }
    pub fn author(&self) -> &str {
        &self.author
    }
    pub fn architecture(&self) -> &str {
        &self.architecture
    }
    pub fn variant(&self) -> &str {
        &self.variant
    }
    /// `os` as written (may be empty).
    pub fn os_raw(&self) -> &str {
        &self.os
    }
    /// `image.OperatingSystem()`: `os`, or the host's (`linux`) when empty.
    pub fn os(&self) -> &str {
        if self.os.is_empty() {
            "linux"
        } else {
            &self.os
        }
    }
    pub fn os_version(&self) -> &str {
        &self.os_version
    }
    pub fn os_features(&self) -> Option<&[String]> {
        self.os_features.as_deref()
    }
    /// The runtime config (`config`), `None` when absent or null.
    pub fn config(&self) -> Option<&ContainerConfig> {
        self.config.as_ref()
    }
    /// `container_config` (zero value when absent, as Go's non-pointer field).
    pub fn container_config(&self) -> &ContainerConfig {
        &self.container_config
    }
    pub fn rootfs(&self) -> &RootFs {
        &self.rootfs
    }
    pub fn diff_ids(&self) -> &[Digest] {
        &self.rootfs.diff_ids
    }
    pub fn history(&self) -> &[HistoryEntry] {
        &self.history
    }
    /// `config.Labels` (`None` when there is no config or its Labels are null).
    pub fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.config.as_ref().and_then(|c| c.labels.as_ref())
    }
}

fn history_entry(h: &GoObject) -> Result<HistoryEntry> {
    Ok(HistoryEntry {
        created: h.time("created")?.map(|(t, _)| t),
        author: h.string("author")?,
        created_by: h.string("created_by")?,
        comment: h.string("comment")?,
        empty_layer: h.bool("empty_layer")?,
    })
}

fn container_config(c: &GoObject) -> Result<ContainerConfig> {
    Ok(ContainerConfig {
        hostname: c.string("Hostname")?,
        domainname: c.string("Domainname")?,
        user: c.string("User")?,
        attach_stdin: c.bool("AttachStdin")?,
        attach_stdout: c.bool("AttachStdout")?,
        attach_stderr: c.bool("AttachStderr")?,
        exposed_ports: c.key_set("ExposedPorts")?,
        tty: c.bool("Tty")?,
        open_stdin: c.bool("OpenStdin")?,
        stdin_once: c.bool("StdinOnce")?,
        env: c.strings("Env")?,
        cmd: c.str_slice("Cmd")?,
        healthcheck: c
            .object("Healthcheck")?
            .map(|h| -> Result<HealthConfig> {
                Ok(HealthConfig {
                    test: h.strings("Test")?,
                    interval: h.int("Interval")?.unwrap_or(0),
                    timeout: h.int("Timeout")?.unwrap_or(0),
                    start_period: h.int("StartPeriod")?.unwrap_or(0),
                    retries: h.int("Retries")?.unwrap_or(0),
                })
            })
            .transpose()?,
        args_escaped: c.bool("ArgsEscaped")?,
        image: c.string("Image")?,
        volumes: c.key_set("Volumes")?,
        working_dir: c.string("WorkingDir")?,
        entrypoint: c.str_slice("Entrypoint")?,
        network_disabled: c.bool("NetworkDisabled")?,
        mac_address: c.string("MacAddress")?,
        on_build: c.strings("OnBuild")?,
        labels: c.string_map("Labels")?,
        stop_signal: c.string("StopSignal")?,
        stop_timeout: c.int("StopTimeout")?,
        shell: c.str_slice("Shell")?,
    })
}

/// A JSON object read with Go `encoding/json` rules; `at` is the key path for error messages.
struct GoObject<'a> {
    map: &'a Map<String, Value>,
    at: String,
}

impl<'a> GoObject<'a> {
    /// The value for a struct field: exact key first, else a case-insensitive match. `null`
    /// counts as absent (Go leaves the field untouched).
    fn get(&self, key: &str) -> Option<&'a Value> {
        let v = self.map.get(key).or_else(|| {
            self.map.iter().find(|(k, _)| k.len() == key.len() && k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
        })?;
        (!v.is_null()).then_some(v)
    }

    fn path(&self, key: &str) -> String {
        if self.at.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.at)
        }
    }

    fn type_error(&self, key: &str, want: &str) -> Error {
        Error::invalid(format!("invalid image JSON: {} must be {want}", self.path(key)))
    }

    fn string(&self, key: &str) -> Result<String> {
        match self.get(key) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(self.type_error(key, "a string")),
        }
    }

    fn bool(&self, key: &str) -> Result<bool> {
        match self.get(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.type_error(key, "a boolean")),
        }
    }

    fn int(&self, key: &str) -> Result<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| self.type_error(key, "an integer")),
        }
    }

    fn time(&self, key: &str) -> Result<Option<(GoTime, String)>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => GoTime::parse_rfc3339(s)
                .map(|t| Some((t, s.clone())))
                .map_err(|e| e.context(format!("invalid image JSON: {}", self.path(key)))),
            Some(_) => Err(self.type_error(key, "an RFC 3339 time string")),
        }
    }

    fn object(&self, key: &str) -> Result<Option<GoObject<'a>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(GoObject { map: m, at: self.path(key) })),
            Some(_) => Err(self.type_error(key, "an object")),
        }
    }

    /// A list of objects (`null` elements decode to empty objects, as in Go).
    fn objects(&self, key: &str) -> Result<Vec<GoObject<'a>>> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        let Some(v) = self.get(key) else { return Ok(vec![]) };
        let Value::Array(items) = v else { return Err(self.type_error(key, "a list")) };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(m) => Ok(GoObject { map: m, at: format!("{}[{i}]", self.path(key)) }),
                Value::Null => Ok(GoObject { map: EMPTY.get_or_init(Map::new), at: String::new() }),
                _ => Err(self.type_error(&format!("{key}[{i}]"), "an object")),
            })
            .collect()
    }

    /// `[]string`: `None` for null/absent, `null` elements become "".
    fn strings(&self, key: &str) -> Result<Option<Vec<String>>> {
        let Some(v) = self.get(key) else { return Ok(None) };
        let Value::Array(items) = v else { return Err(self.type_error(key, "a list of strings")) };
        items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                Value::Null => Ok(String::new()),
                _ => Err(self.type_error(key, "a list of strings")),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// `strslice.StrSlice`: a list of strings, or one string taken as a one-element list.
    fn str_slice(&self, key: &str) -> Result<Option<Vec<String>>> {
        match self.get(key) {
            Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
            _ => self.strings(key),
        }
    }

    fn digests(&self, key: &str) -> Result<Vec<Digest>> {
        let list = self.strings(key)?.unwrap_or_default();
        list.iter()
            .map(|s| Digest::parse(s).map_err(|e| e.context(format!("invalid image JSON: {}", self.path(key)))))
            .collect()
    }

    /// `map[string]string`; `null` values become "".
    fn string_map(&self, key: &str) -> Result<Option<BTreeMap<String, String>>> {
        let Some(v) = self.get(key) else { return Ok(None) };
        let Value::Object(m) = v else { return Err(self.type_error(key, "an object of strings")) };
        m.iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Null => Ok((k.clone(), String::new())),
                _ => Err(self.type_error(&format!("{key}.{k}"), "a string")),
            })
            .collect::<Result<BTreeMap<_, _>>>()
            .map(Some)
    }

    /// `map[string]struct{}` (Volumes, ExposedPorts): the keys; values must be objects.
    fn key_set(&self, key: &str) -> Result<Option<Vec<String>>> {
        let Some(v) = self.get(key) else { return Ok(None) };
        let Value::Object(m) = v else { return Err(self.type_error(key, "an object")) };
        m.iter()
            .map(|(k, v)| match v {
                Value::Object(_) | Value::Null => Ok(k.clone()),
                _ => Err(self.type_error(&format!("{key}.{k}"), "an object")),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L1: &str = "sha256:e100af7cf35b6cd513e8fe4dc94432aab1abdfeddecdc7f033a2a51db55e4d3b";
    const L2: &str = "sha256:51a143c55eb34b390b330f980d95e1051795b4fed6ccc30ee4e1ceab8fd5ea30";

    fn parse(json: &str) -> Result<ImageConfig> {
        ImageConfig::parse(json.as_bytes().to_vec())
    }

    #[test]
    fn reads_the_fields_moby_reads() {
        let json = format!(
            r#"{{"architecture":"amd64","author":"Jane","comment":"c","container":"abc",
            "created":"2026-11-23T13:52:42.28358756Z","docker_version":"20.10.24",
            "config":{{"Hostname":"h","Env":["A=1"],"Cmd":"echo hi","Labels":{{"k":"v","n":null}},
              "ExposedPorts":{{"80/tcp":{{}}}},"Volumes":null,"Healthcheck":{{"Test":["CMD","true"],"Interval":30000000000}},
              "StopTimeout":5,"Unknown":1}},
            "container_config":{{"hostname":"lower-case-key","Entrypoint":[]}},
            "os":"","variant":"v8","os.version":"10.0","os.features":["win32k"],
            "rootfs":{{"type":"layers","diff_ids":["{L1}","{L2}"]}},
            "history":[{{"created":"2026-11-23T13:52:40Z","created_by":"/bin/sh","empty_layer":true}},{{"comment":"x"}},null],
            "extra":{{"ignored":true}}}}"#
        );
        let c = parse(&json).unwrap();
        assert_eq!(c.id(), Digest::sha256_of(json.as_bytes()));
        assert_eq!(c.raw(), json.as_bytes());
        assert_eq!(c.architecture(), "amd64");
        assert_eq!(c.author(), "Jane");
        assert_eq!(c.comment(), "c");
        assert_eq!(c.container(), "abc");
        assert_eq!(c.docker_version(), "20.10.24");
        assert_eq!(c.created_text(), Some("2026-11-23T13:52:42.28358756Z"));
        assert_eq!(c.created().unwrap().unix(), 1_795_441_962);
        assert_eq!(c.os(), "linux");
        assert_eq!(c.os_raw(), "");
        assert_eq!(c.variant(), "v8");
        assert_eq!(c.os_version(), "10.0");
        assert_eq!(c.os_features(), Some(&["win32k".to_string()][..]));
        let cfg = c.config().unwrap();
        assert_eq!(cfg.hostname, "h");
        assert_eq!(cfg.env.as_deref(), Some(&["A=1".to_string()][..]));
        assert_eq!(cfg.cmd.as_deref(), Some(&["echo hi".to_string()][..]));
        assert_eq!(cfg.exposed_ports.as_deref(), Some(&["80/tcp".to_string()][..]));
        assert_eq!(cfg.volumes, None);
        assert_eq!(cfg.stop_timeout, Some(5));
        let hc = cfg.healthcheck.as_ref().unwrap();
        assert_eq!((hc.interval, hc.retries), (30_000_000_000, 0));
        let labels = c.labels().unwrap();
        assert_eq!(labels["k"], "v");
        assert_eq!(labels["n"], "");
        // Keys match case-insensitively; `[]` stays an empty list, not nil.
        assert_eq!(c.container_config().hostname, "lower-case-key");
        assert_eq!(c.container_config().entrypoint, Some(vec![]));
        assert_eq!(c.container_config().cmd, None);
        assert_eq!(c.diff_ids().len(), 2);
        assert_eq!(c.rootfs().fs_type, "layers");
        assert_eq!(c.history().len(), 3);
        assert!(c.history()[0].empty_layer);
        assert_eq!(c.history()[1].comment, "x");
        assert_eq!(c.history()[2], HistoryEntry::default());
    }

    #[test]
    fn minimal_config_defaults() {
        let c = parse(r#"{"rootfs":{}}"#).unwrap();
        assert_eq!(c.created(), None);
        assert!(c.created_or_zero().is_zero());
        assert!(c.config().is_none());
        assert_eq!(c.container_config(), &ContainerConfig::default());
        assert!(c.diff_ids().is_empty());
        assert!(c.labels().is_none());
        // Exact key wins over a case-insensitive one.
        let c = parse(r#"{"rootfs":{},"OS":"windows","os":"linux","Architecture":"arm64"}"#).unwrap();
        assert_eq!((c.os(), c.architecture()), ("linux", "arm64"));
    }

    #[test]
    fn moby_checks() {
        for (json, want) in [
            (r#"{"architecture":"amd64"}"#.to_string(), "invalid image JSON, no RootFS key"),
            (r#"{"rootfs":null}"#.to_string(), "invalid image JSON, no RootFS key"),
            ("null".to_string(), "invalid image JSON, no RootFS key"),
            ("{".to_string(), "invalid image JSON"),
            ("[]".to_string(), "not a JSON object"),
            (r#"{"rootfs":{},"created":"yesterday"}"#.to_string(), "created"),
            (r#"{"rootfs":{},"created":5}"#.to_string(), "created must be an RFC 3339 time string"),
            (r#"{"rootfs":{},"config":{"Tty":"yes"}}"#.to_string(), "config.Tty must be a boolean"),
            (r#"{"rootfs":{},"config":{"Env":[1]}}"#.to_string(), "config.Env must be a list of strings"),
            (r#"{"rootfs":{},"config":{"Healthcheck":{"Interval":1.5}}}"#.to_string(), "config.Healthcheck.Interval"),
            (r#"{"rootfs":{"diff_ids":["sha256:nope"]}}"#.to_string(), "rootfs.diff_ids"),
            (r#"{"rootfs":{},"history":[5]}"#.to_string(), "history[0] must be an object"),
        ] {
            let e = parse(&json).unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::InvalidArgument);
            assert!(e.message.contains(want), "{json}: {}", e.message);
        }
        // Too many non-empty history entries: fine for NewFromJSON (restore), refused by Create.
        let too_many = parse(&format!(r#"{{"rootfs":{{"diff_ids":["{L1}"]}},"history":[{{}},{{}}]}}"#)).unwrap();
        let e = too_many.check_history_layers().unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (crate::ErrorCode::InvalidArgument, "too many non-empty layers in History section")
        );
        // Fewer non-empty history entries than layers is fine; empty ones are not counted.
        let ok = format!(r#"{{"rootfs":{{"diff_ids":["{L1}","{L2}"]}},"history":[{{"empty_layer":true}},{{}}]}}"#);
        parse(&ok).unwrap().check_history_layers().unwrap();
        // Keys match case-insensitively at every level; empty_layer must be a boolean.
        let c =
            parse(&format!(r#"{{"RootFS":{{"Diff_IDs":["{L1}"]}},"history":[{{"empty_layer":true}},{{}}]}}"#)).unwrap();
        assert_eq!(c.diff_ids().len(), 1);
        let e = parse(r#"{"rootfs":{},"history":[{"empty_layer":"yes"}]}"#).unwrap_err();
        assert!(e.message.contains("history[0].empty_layer must be a boolean"), "{}", e.message);
        assert!(parse(r#"{"rootfs":{"diff_ids":"x"}}"#).unwrap_err().message.contains("rootfs.diff_ids"));
        assert!(parse(r#"{"rootfs":{},"os":3}"#).unwrap_err().message.contains("os must be a string"));
    }
}
