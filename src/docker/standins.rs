//! TEMPORARY stand-ins for modules another helper is writing (`formats::reference`,
//! `formats::image_config`, `formats::gotime`, `docker::render`). They hold only what the Docker
//! stores need to work and be tested today; this file is deleted when those modules land and the
//! callers switch their `use` lines. Nothing outside `crate::docker` may use it.

pub(crate) mod reference {
    //! distribution/reference as vendored in moby 20.10: normalised names, familiar forms,
    //! `ParseAnyReference` and `FamiliarMatch`.
    use crate::digest::Digest;
    use crate::error::{Error, Result};
    use std::fmt;

    const DEFAULT_DOMAIN: &str = "docker.io";
    const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
    const OFFICIAL_REPO: &str = "library";
    const NAME_TOTAL_LENGTH_MAX: usize = 255;

    /// A normalised named reference: `domain/path[:tag][@digest]`.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct Named {
        pub domain: String,
        pub path: String,
        pub tag: Option<String>,
        pub digest: Option<Digest>,
    }

    /// What `ParseAnyReference` returns: a bare digest (an image ID) or a name.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum AnyReference {
        Digest(Digest),
        Named(Named),
    }

    impl Named {
        /// The full name `domain/path`.
        pub fn name(&self) -> String {
            format!("{}/{}", self.domain, self.path)
        }
        pub fn familiar_name(&self) -> String {
            if self.domain != DEFAULT_DOMAIN {
                return self.name();
            }
            match self.path.split_once('/') {
                Some((OFFICIAL_REPO, rest)) if !rest.contains('/') => rest.to_string(),
                _ => self.path.clone(),
            }
        }
        pub fn familiar_string(&self) -> String {
            self.suffixed(self.familiar_name())
        }
        fn suffixed(&self, mut s: String) -> String {
            if let Some(t) = &self.tag {
                s.push(':');
                s.push_str(t);
            }
            if let Some(d) = &self.digest {
                s.push('@');
                s.push_str(d.as_str());
            }
            s
        }
        pub fn is_canonical(&self) -> bool {
            self.digest.is_some()
        }
        pub fn is_tagged(&self) -> bool {
            self.tag.is_some()
        }
        /// `TagNameOnly`: a bare name gets `:latest`.
        pub fn tag_name_only(mut self) -> Named {
            if self.tag.is_none() && self.digest.is_none() {
                self.tag = Some("latest".into());
            }
            self
        }
        /// `favorDigest`: a reference with both tag and digest keeps only the digest.
        pub fn favor_digest(mut self) -> Named {
            if self.digest.is_some() {
                self.tag = None;
            }
            self
        }
        /// `WithTag(TrimNamed(self), tag)`.
        pub fn with_tag(&self, tag: &str) -> Result<Named> {
            if !valid_tag(tag) {
                return Err(Error::invalid("invalid tag format"));
            }
            Ok(Named { domain: self.domain.clone(), path: self.path.clone(), tag: Some(tag.into()), digest: None })
        }
    }

    impl fmt::Display for Named {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.suffixed(self.name()))
        }
    }

    fn is_full_hex_id(s: &str) -> bool {
        s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }

    pub fn parse_any_reference(s: &str) -> Result<AnyReference> {
        if is_full_hex_id(s) {
            return Ok(AnyReference::Digest(Digest::from_sha256_hex(s)?));
        }
        if let Ok(d) = Digest::parse(s) {
            return Ok(AnyReference::Digest(d));
        }
        parse_normalized_named(s).map(AnyReference::Named)
    }

    pub fn parse_normalized_named(s: &str) -> Result<Named> {
        if is_full_hex_id(s) {
            return Err(Error::invalid(format!(
                "invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"
            )));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote = remainder.split(':').next().unwrap_or("");
        if remote.to_lowercase() != remote {
            return Err(Error::invalid("invalid reference format: repository name must be lowercase"));
        }
        parse_split(&domain, &remainder)
    }

    fn split_docker_domain(s: &str) -> (String, String) {
        let (mut domain, mut rest) = match s.split_once('/') {
            Some((d, r)) if d.contains(['.', ':']) || d == "localhost" => (d.to_string(), r.to_string()),
            _ => (DEFAULT_DOMAIN.to_string(), s.to_string()),
        };
        if domain == LEGACY_DEFAULT_DOMAIN {
            domain = DEFAULT_DOMAIN.into();
        }
        if domain == DEFAULT_DOMAIN && !rest.contains('/') {
            rest = format!("{OFFICIAL_REPO}/{rest}");
        }
        (domain, rest)
    }

    fn invalid_format() -> Error {
        Error::invalid("invalid reference format")
    }

    fn parse_split(domain: &str, remainder: &str) -> Result<Named> {
        let (rest, digest) = match remainder.split_once('@') {
            Some((r, d)) => {
                let dg = Digest::parse(d).map_err(|_| invalid_format())?;
                (r, Some(dg))
            }
            None => (remainder, None),
        };
        let (path, tag) = match rest.rsplit_once(':') {
            Some((p, t)) if !t.contains('/') => (p, Some(t)),
            _ => (rest, None),
        };
        if !valid_domain(domain) || path.is_empty() || !path.split('/').all(valid_path_component) {
            return Err(invalid_format());
        }
        if let Some(t) = tag {
            if !valid_tag(t) {
                return Err(invalid_format());
            }
        }
        if domain.len() + 1 + path.len() > NAME_TOTAL_LENGTH_MAX {
            return Err(Error::invalid("repository name must not be more than 255 characters"));
        }
        Ok(Named { domain: domain.into(), path: path.into(), tag: tag.map(String::from), digest })
    }

    fn valid_domain(d: &str) -> bool {
        let (host, port) = match d.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        };
        let comp_ok = |c: &str| {
            let b = c.as_bytes();
            !b.is_empty()
                && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
        };
        host.split('.').all(comp_ok) && port.map_or(true, |p| !p.is_empty() && p.bytes().all(|x| x.is_ascii_digit()))
    }

    /// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`
    fn valid_path_component(c: &str) -> bool {
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        let b = c.as_bytes();
        if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
            return false;
        }
        let mut i = 0;
        while i < b.len() {
            if alnum(b[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && !alnum(b[i]) {
                i += 1;
            }
            let sep = &c[start..i];
            if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-')) {
                return false;
            }
        }
        true
    }

    /// `[\w][\w.-]{0,127}`
    fn valid_tag(t: &str) -> bool {
        let w = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let b = t.as_bytes();
        !b.is_empty() && b.len() <= 128 && w(b[0]) && b.iter().all(|&x| w(x) || x == b'.' || x == b'-')
    }

    /// `FamiliarMatch`: Go's `path.Match` against the familiar string, then the familiar name.
    pub fn familiar_match(pattern: &str, r: &Named) -> Result<bool> {
        let m = glob(pattern.as_bytes(), r.familiar_string().as_bytes())?;
        Ok(m || glob(pattern.as_bytes(), r.familiar_name().as_bytes()).unwrap_or(false))
    }

    /// Go `path.Match` subset: `*`, `?`, `[...]` (ranges, `^`), `\` escapes; `*` stops at `/`.
    fn glob(p: &[u8], s: &[u8]) -> Result<bool> {
        let bad = || Error::invalid("syntax error in pattern");
        match p.first() {
            None => Ok(s.is_empty()),
            Some(b'*') => {
                for i in 0..=s.len() {
                    if i > 0 && s[i - 1] == b'/' {
                        break;
                    }
                    if glob(&p[1..], &s[i..])? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Some(b'?') => Ok(!s.is_empty() && s[0] != b'/' && glob(&p[1..], &s[1..])?),
            Some(b'[') => {
                let end = p.iter().skip(2).position(|&c| c == b']').map(|i| i + 2).ok_or_else(bad)?;
                let (neg, class) = match p[1] {
                    b'^' => (true, &p[2..end]),
                    _ => (false, &p[1..end]),
                };
                let Some(&c) = s.first() else { return Ok(false) };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == b'-' {
                        hit |= class[i] <= c && c <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == c;
                        i += 1;
                    }
                }
                Ok(hit != neg && c != b'/' && glob(&p[end + 1..], &s[1..])?)
            }
            Some(b'\\') => {
                let &lit = p.get(1).ok_or_else(bad)?;
                Ok(s.first() == Some(&lit) && glob(&p[2..], &s[1..])?)
            }
            Some(&lit) => Ok(s.first() == Some(&lit) && glob(&p[1..], &s[1..])?),
        }
    }
}

pub(crate) mod gotime {
    //! RFC 3339 text ↔ Unix time, as Go's `time` formats and parses it (UTC output only).

    /// Go's zero `time.Time` as Unix seconds (0001-01-01T00:00:00Z).
    pub const ZERO_UNIX: i64 = -62_135_596_800;

    fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    fn civil_from_days(z: i64) -> (i64, i64, i64) {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        (yoe + era * 400 + i64::from(m <= 2), m, d)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` into Unix seconds (fraction dropped).
    pub fn parse_unix(s: &str) -> Option<i64> {
        parse_unix_nanos(s).map(|n| n.div_euclid(1_000_000_000) as i64)
    }

    /// Like [`parse_unix`] with the fraction kept: nanoseconds since the epoch.
    pub fn parse_unix_nanos(s: &str) -> Option<i128> {
        let b = s.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
        let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
        let mut i = 19;
        let mut nanos: i128 = 0;
        if b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let digits = &s[start..i.min(start + 9)];
            nanos = format!("{digits:0<9}").parse().ok()?;
        }
        let offset = match &s[i..] {
            "Z" => 0,
            z if z.len() == 6 && (z.starts_with('+') || z.starts_with('-')) => {
                let v = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
                if z.starts_with('-') { -v } else { v }
            }
            _ => return None,
        };
        let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset;
        Some(i128::from(secs) * 1_000_000_000 + nanos)
    }

    /// Go's `Format(time.RFC3339Nano)` of a UTC instant (trailing fraction zeros trimmed).
    pub fn format_rfc3339_nano(unix_nanos: i128) -> String {
        let secs = unix_nanos.div_euclid(1_000_000_000) as i64;
        let nanos = unix_nanos.rem_euclid(1_000_000_000) as u32;
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let t = secs.rem_euclid(86_400);
        let mut out = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
        if nanos > 0 {
            let frac = format!("{nanos:09}");
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        out.push('Z');
        out
    }
}

pub(crate) mod image_config {
    //! The few facts of an image config the stores and views need, read leniently.
    use super::gotime;
    use crate::digest::Digest;
    use crate::error::{Error, Result};
    use serde_json::Value;

    #[derive(Debug, Clone)]
    pub struct HistoryFacts {
        pub created_unix: i64,
        pub created_by: String,
        pub comment: String,
        pub empty_layer: bool,
    }

    #[derive(Debug, Clone)]
    pub struct ConfigFacts {
        pub json: Value,
        pub created_unix: i64,
        /// `created` with full precision, for the `before`/`since` filters.
        pub created_nanos: i128,
        pub diff_ids: Vec<Digest>,
        pub history: Vec<HistoryFacts>,
        pub os: String,
    }

    fn str_of(v: &Value, k: &str) -> String {
        v.get(k).and_then(Value::as_str).unwrap_or_default().to_string()
    }

    fn time_of(v: &Value, k: &str) -> i64 {
        v.get(k).and_then(Value::as_str).and_then(gotime::parse_unix).unwrap_or(gotime::ZERO_UNIX)
    }

    /// `image.NewFromJSON`: JSON must parse and have a `rootfs` key.
    pub fn parse(raw: &[u8]) -> Result<ConfigFacts> {
        let json: Value = serde_json::from_slice(raw).map_err(|e| Error::invalid(format!("invalid image JSON: {e}")))?;
        let rootfs = json.get("rootfs").filter(|r| !r.is_null()).ok_or_else(|| Error::invalid("invalid image JSON, no RootFS key"))?;
        let diff_ids = rootfs
            .get("diff_ids")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|d| Digest::parse(d.as_str().unwrap_or_default())).collect::<Result<Vec<_>>>())
            .transpose()?
            .unwrap_or_default();
        let history = json
            .get("history")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|h| HistoryFacts {
                        created_unix: time_of(h, "created"),
                        created_by: str_of(h, "created_by"),
                        comment: str_of(h, "comment"),
                        empty_layer: h.get("empty_layer").and_then(Value::as_bool).unwrap_or(false),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let created_nanos = json
            .get("created")
            .and_then(Value::as_str)
            .and_then(gotime::parse_unix_nanos)
            .unwrap_or(i128::from(gotime::ZERO_UNIX) * 1_000_000_000);
        Ok(ConfigFacts { created_unix: time_of(&json, "created"), created_nanos, os: str_of(&json, "os"), diff_ids, history, json })
    }

    impl ConfigFacts {
        /// `Config.Labels`, or `None` when the image has no `config` at all.
        pub fn labels(&self) -> Option<&Value> {
            self.json.get("config").filter(|c| !c.is_null()).map(|c| c.get("Labels").unwrap_or(&Value::Null))
        }
        pub fn string(&self, key: &str) -> String {
            str_of(&self.json, key)
        }
        pub fn value(&self, key: &str) -> Value {
            self.json.get(key).cloned().unwrap_or(Value::Null)
        }
    }
}

pub(crate) mod render {
    //! Engine API v1.41 JSON shapes (ImageSummary, ImageInspect, HistoryResponseItem) from the
    //! facts the stores know. Config objects are passed through as stored.
    use super::image_config::ConfigFacts;
    use serde_json::{json, Value};

    fn list_or_null(v: Vec<String>) -> Value {
        if v.is_empty() { Value::Null } else { json!(v) }
    }

    pub struct SummaryFacts<'a> {
        pub id: &'a str,
        pub parent: &'a str,
        pub config: &'a ConfigFacts,
        pub size: i64,
        pub repo_tags: Vec<String>,
        pub repo_digests: Vec<String>,
    }

    pub fn image_summary(f: SummaryFacts<'_>) -> Value {
        json!({
            "Containers": -1,
            "Created": f.config.created_unix,
            "Id": f.id,
            "Labels": f.config.labels().cloned().unwrap_or(Value::Null),
            "ParentId": f.parent,
            "RepoDigests": list_or_null(f.repo_digests),
            "RepoTags": list_or_null(f.repo_tags),
            "SharedSize": -1,
            "Size": f.size,
            "VirtualSize": f.size,
        })
    }

    pub struct InspectFacts<'a> {
        pub summary: SummaryFacts<'a>,
        pub last_tag_time: String,
        pub graph_driver: &'a str,
    }

    pub fn image_inspect(f: InspectFacts<'_>) -> Value {
        let c = f.summary.config;
        let mut comment = c.string("comment");
        if comment.is_empty() {
            comment = c.history.last().map(|h| h.comment.clone()).unwrap_or_default();
        }
        let os = match c.string("os") {
            os if os.is_empty() => "linux".to_string(),
            os => os,
        };
        let mut rootfs = json!({ "Type": c.json.get("rootfs").and_then(|r| r.get("type")).cloned().unwrap_or(json!("")) });
        if !c.diff_ids.is_empty() {
            rootfs["Layers"] = json!(c.diff_ids.iter().map(|d| d.as_str()).collect::<Vec<_>>());
        }
        let mut out = json!({
            "Id": f.summary.id,
            "RepoTags": f.summary.repo_tags,
            "RepoDigests": f.summary.repo_digests,
            "Parent": f.summary.parent,
            "Comment": comment,
            "Created": c.json.get("created").cloned().unwrap_or(json!("0001-01-01T00:00:00Z")),
            "Container": c.string("container"),
            "ContainerConfig": c.value("container_config"),
            "DockerVersion": c.string("docker_version"),
            "Author": c.string("author"),
            "Config": c.value("config"),
            "Architecture": c.string("architecture"),
            "Os": os,
            "Size": f.summary.size,
            "VirtualSize": f.summary.size,
            "GraphDriver": { "Data": null, "Name": f.graph_driver },
            "RootFS": rootfs,
            "Metadata": { "LastTagTime": f.last_tag_time },
        });
        for (api, key) in [("Variant", "variant"), ("OsVersion", "os.version")] {
            let v = c.string(key);
            if !v.is_empty() {
                out[api] = json!(v);
            }
        }
        out
    }

    pub struct HistoryItem {
        pub id: String,
        pub created: i64,
        pub created_by: String,
        pub comment: String,
        pub size: i64,
        pub tags: Vec<String>,
    }

    pub fn history(items: Vec<HistoryItem>) -> Value {
        Value::Array(
            items
                .into_iter()
                .map(|h| {
                    json!({
                        "Comment": h.comment,
                        "Created": h.created,
                        "CreatedBy": h.created_by,
                        "Id": h.id,
                        "Size": h.size,
                        "Tags": list_or_null(h.tags),
                    })
                })
                .collect(),
        )
    }
}
