//! Docker image references with the semantics of `distribution/reference` as vendored in moby:
//! parsing and normalisation (`busybox` → `docker.io/library/busybox`), familiar forms (what
//! `repositories.json` and the Engine API show), `TagNameOnly`, `ParseAnyReference`, and
//! `FamiliarMatch` (the `reference=` filter of `docker images`).
//!
//! Grammar (distribution/reference regexp.go):
//! ```text
//! reference  := name [ ":" tag ] [ "@" digest ]
//! name       := [domain "/"] component ("/" component)*        total length ≤ 255
//! domain     := host-part ("." host-part)* [":" port]           host-part = [A-Za-z0-9] | [A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]
//! component  := [a-z0-9]+ (([._] | "__" | "-"+) [a-z0-9]+)*
//! tag        := [\w][\w.-]{0,127}
//! ```

use crate::digest::Digest;
use crate::error::{Error, Result};
use std::fmt;

const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
const DEFAULT_TAG: &str = "latest";
const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// A named reference: repository name (domain + path), optional tag, optional digest.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// What `reference.ParseAnyReference` returns: an image ID or a named reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnyReference {
    /// A bare 64-hex string (taken as `sha256:<hex>`) or a full digest string.
    Id(Digest),
    Named(Reference),
}

/// `reference.ParseAnyReference`: a 64-hex string or a valid digest is an ID, anything else
/// must be a normalised name.
pub fn parse_any_reference(s: &str) -> Result<AnyReference> {
    if is_identifier(s) {
        return Ok(AnyReference::Id(Digest::from_sha256_hex(s)?));
    }
    if let Ok(d) = Digest::parse(s) {
        return Ok(AnyReference::Id(d));
    }
    Reference::parse_normalized_named(s).map(AnyReference::Named)
}

/// `reference.FamiliarMatch`: Go `path.Match` of `pattern` against the familiar string
/// (`local/edge:latest`), then against the familiar name (`local/edge`). A malformed pattern
/// is an error (Go's `path.ErrBadPattern`), as dockerd reports it.
pub fn familiar_match(pattern: &str, reference: &Reference) -> Result<bool> {
    let bad = || Error::invalid(format!("invalid reference filter {pattern:?}: syntax error in pattern"));
    let matched = path_match(pattern, &reference.familiar_string()).map_err(|_| bad())?;
    if matched {
        return Ok(true);
    }
    Ok(path_match(pattern, &reference.familiar_name()).unwrap_or(false))
}

impl Reference {
    /// `reference.ParseNormalizedNamed`: adds `docker.io` (and `library/` for single-component
    /// names on Docker Hub), rejects uppercase repository names and 64-hex strings. The tag is
    /// not defaulted: see [`Reference::with_default_tag`].
    pub fn parse_normalized_named(s: &str) -> Result<Reference> {
        let fail = |why: &str| Error::invalid(format!("invalid reference {s:?}: {why}"));
        if is_identifier(s) {
            return Err(fail("invalid repository name, cannot specify 64-byte hexadecimal strings"));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote_name = remainder.split_once(':').map_or(remainder.as_str(), |(n, _)| n);
        if remote_name.to_lowercase() != remote_name {
            return Err(fail("invalid reference format: repository name must be lowercase"));
        }
        Reference::parse(&format!("{domain}/{remainder}")).map_err(|why| fail(&why.message))
    }

    /// `reference.Parse` (no normalisation: `busybox` has no domain), with Go's error
    /// messages; for tests against docker/distribution's own tables.
    pub fn parse_reference(s: &str) -> Result<Reference> {
        Reference::parse(s)
    }

    /// `reference.Parse` on an already-normalised string; the error is Go's message.
    fn parse(s: &str) -> Result<Reference> {
        match parse_parts(s) {
            Some(r) => r,
            None if s.is_empty() => Err(Error::invalid("repository name must have at least one component")),
            None if parse_parts(&s.to_lowercase()).is_some() => {
                Err(Error::invalid("invalid reference format: repository name must be lowercase"))
            }
            None => Err(Error::invalid("invalid reference format")),
        }
    }

    /// The domain (`docker.io`, `127.0.0.1:5000`); empty only for odd names whose first
    /// component is not a valid domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }
    /// The path after the domain (`library/busybox`).
    pub fn path(&self) -> &str {
        &self.path
    }
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }
    /// True when the reference has neither tag nor digest.
    pub fn is_name_only(&self) -> bool {
        self.tag.is_none() && self.digest.is_none()
    }

    /// The full repository name, `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        let mut out = String::new();
        self.push_name(&mut out);
        out
    }

    /// [`Self::name`] appended to `out`.
    fn push_name(&self, out: &mut String) {
        if !self.domain.is_empty() {
            out.push_str(&self.domain);
            out.push('/');
        }
        out.push_str(&self.path);
    }

    /// The short name Docker shows: `docker.io/` dropped, and `library/` too when nothing
    /// else follows it (`busybox`, `local/demo`, `127.0.0.1:5000/team/edge`).
    pub fn familiar_name(&self) -> String {
        let mut out = String::new();
        self.push_familiar_name(&mut out);
        out
    }

    /// [`Self::familiar_name`] appended to `out` (the list writes thousands: no allocation).
    fn push_familiar_name(&self, out: &mut String) {
        if self.domain != DEFAULT_DOMAIN {
            self.push_name(out);
            return;
        }
        match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
            Some(rest) if !rest.contains('/') => out.push_str(rest),
            _ => out.push_str(&self.path),
        }
    }

    /// Familiar name plus `:tag` and `@digest`: the keys of `repositories.json`, and what
    /// RepoTags/RepoDigests list.
    pub fn familiar_string(&self) -> String {
        let mut out = String::new();
        self.push_familiar_string(&mut out);
        out
    }

    /// [`Self::familiar_string`] appended to `out`.
    pub fn push_familiar_string(&self, out: &mut String) {
        self.push_familiar_name(out);
        self.push_tag_and_digest(out);
    }

    /// `reference.TagNameOnly`: adds `:latest` when there is neither tag nor digest.
    pub fn with_default_tag(mut self) -> Reference {
        if self.is_name_only() {
            self.tag = Some(DEFAULT_TAG.to_string());
        }
        self
    }

    /// The same name with a new tag (validated) and no digest.
    pub fn with_tag(&self, tag: &str) -> Result<Reference> {
        if !is_tag(tag) {
            return Err(Error::invalid(format!("invalid tag {tag:?}: invalid tag format")));
        }
        Ok(Reference { tag: Some(tag.to_string()), digest: None, ..self.clone() })
    }

    /// The same name with a digest and no tag.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference { tag: None, digest: Some(digest), ..self.clone() }
    }

    /// The name without tag or digest.
    pub fn name_only(&self) -> Reference {
        Reference { tag: None, digest: None, ..self.clone() }
    }

    fn push_tag_and_digest(&self, s: &mut String) {
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d.as_str());
        }
    }
}

/// The full string `docker.io/library/busybox:latest` (what `ref.String()` gives); refstore
/// sorts references by this text.
impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        self.push_name(&mut text);
        self.push_tag_and_digest(&mut text);
        f.write_str(&text)
    }
}
impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({self})")
    }
}
impl std::str::FromStr for Reference {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Reference::parse_normalized_named(s)
    }
}

/// `splitDockerDomain` of docker/distribution v2.8 (what Docker 20.10 uses): the first
/// component is a domain when it contains `.` or `:` or is `localhost`; otherwise the name is
/// on Docker Hub. (Later versions also take a first component with uppercase letters for a
/// domain; 20.10 rejects such names as not lowercase.)
fn split_docker_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (first.to_string(), rest.to_string())
        }
        _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.to_string();
    }
    if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        remainder = format!("{OFFICIAL_REPO_PREFIX}{remainder}");
    }
    (domain, remainder)
}

/// Matches `ReferenceRegexp`; `None` when the text does not match it at all, `Some(Err)` for
/// Go's post-match checks (name length, digest validity).
fn parse_parts(s: &str) -> Option<Result<Reference>> {
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if digest.is_some_and(|d| !is_digest_shaped(d)) {
        return None;
    }
    // A tag follows the last ':' unless a '/' comes after it (then the ':' is a port).
    let (name, tag) = match rest.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n, Some(t)),
        _ => (rest, None),
    };
    if tag.is_some_and(|t| !is_tag(t)) {
        return None;
    }
    let components: Vec<&str> = name.split('/').collect();
    let all_path = |c: &[&str]| !c.is_empty() && c.iter().all(|p| is_path_component(p));
    // The optional domain group is greedy: a first component that is a valid domain is one.
    let domain = if components.len() > 1 && is_domain(components[0]) && all_path(&components[1..]) {
        components[0]
    } else if all_path(&components) {
        ""
    } else {
        return None;
    };
    if name.len() > NAME_TOTAL_LENGTH_MAX {
        return Some(Err(Error::invalid("repository name must not be more than 255 characters")));
    }
    let digest = match digest.map(Digest::parse).transpose() {
        Ok(d) => d,
        Err(e) => return Some(Err(Error::invalid(go_digest_error(digest.unwrap_or_default(), &e.message)))),
    };
    let path = if domain.is_empty() { name } else { &name[domain.len() + 1..] };
    Some(Ok(Reference { domain: domain.to_string(), path: path.to_string(), tag: tag.map(str::to_string), digest }))
}

/// go-digest's error for a digest that `Digest::parse` refused (the message dockerd prints).
fn go_digest_error(d: &str, ours: &str) -> &'static str {
    let (alg, hex) = d.split_once(':').unwrap_or((d, ""));
    if ours.starts_with("unsupported digest algorithm") {
        "unsupported digest algorithm"
    } else if ["sha256", "sha384", "sha512"].contains(&alg) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        "invalid checksum digest length"
    } else {
        "invalid checksum digest format"
    }
}

/// `^[a-f0-9]{64}$`: an image ID written without its algorithm.
fn is_identifier(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        let sep_start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &s[sep_start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-')) {
            return false;
        }
    }
}

/// `host-part ("." host-part)* (":" [0-9]+)?`
fn is_domain(s: &str) -> bool {
    let (host, port) = match s.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    let host_part = |p: &str| {
        let b = p.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    host.split('.').all(host_part) && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
}

/// `[\w][\w.-]{0,127}`
fn is_tag(s: &str) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = s.as_bytes();
    !b.is_empty() && b.len() <= 128 && word(b[0]) && b.iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}` (validity is checked
/// afterwards by [`Digest::parse`]).
fn is_digest_shaped(s: &str) -> bool {
    let Some((alg, hex)) = s.split_once(':') else { return false };
    let alg_ok = alg.split(['-', '_', '+', '.']).all(|c| {
        let b = c.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
    });
    alg_ok && hex.len() >= 32 && hex.bytes().all(|c| c.is_ascii_hexdigit())
}

/// Go's `path.Match(pattern, name)`: `*` (no `/`), `?`, `[...]`/`[^...]` classes with ranges,
/// `\` escapes. `Err(())` is `ErrBadPattern`.
pub(crate) fn path_match(pattern: &str, name: &str) -> std::result::Result<bool, ()> {
    let mut pattern: Vec<char> = pattern.chars().collect();
    let mut name: Vec<char> = name.chars().collect();
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(&pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(!name.contains(&'/'));
        }
        let (t, ok, err) = match_chunk(&chunk, &name);
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        err?;
        if star {
            let mut i = 0;
            while i < name.len() && name[i] != '/' {
                let (t, ok, err) = match_chunk(&chunk, &name[i + 1..]);
                if ok {
                    if pattern.is_empty() && !t.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = t;
                    continue 'pattern;
                }
                err?;
                i += 1;
            }
        }
        // Report a syntax error in the rest of the pattern even though the match failed.
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(&pattern);
            pattern = rest;
            match_chunk(&chunk, &[]).2?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Splits off the leading stars and the next chunk (up to an unbracketed `*`).
fn scan_chunk(pattern: &[char]) -> (bool, Vec<char>, Vec<char>) {
    let mut p = pattern;
    let mut star = false;
    while p.first() == Some(&'*') {
        p = &p[1..];
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' if i + 1 < p.len() => i += 1,
            '[' => in_range = true,
            ']' => in_range = false,
            '*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, p[..i].to_vec(), p[i..].to_vec())
}

/// Matches one chunk at the start of `s`: (rest of s, matched, syntax error). Keeps checking
/// the chunk's syntax after a mismatch, as Go does.
fn match_chunk(chunk: &[char], s: &[char]) -> (Vec<char>, bool, std::result::Result<(), ()>) {
    let mut chunk = chunk;
    let mut s = s;
    let mut failed = false;
    while !chunk.is_empty() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match chunk[0] {
            '[' => {
                let mut r = '\0';
                if !failed {
                    r = s[0];
                    s = &s[1..];
                }
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if chunk.first() == Some(&']') && ranges > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let Some((lo, rest)) = get_esc(chunk) else { return (vec![], false, Err(())) };
                    chunk = rest;
                    let mut hi = lo;
                    if chunk[0] == '-' {
                        let Some((h, rest)) = get_esc(&chunk[1..]) else { return (vec![], false, Err(())) };
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            '?' => {
                if !failed {
                    if s[0] == '/' {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
            c => {
                let c = if c == '\\' {
                    chunk = &chunk[1..];
                    match chunk.first() {
                        Some(&e) => e,
                        None => return (vec![], false, Err(())),
                    }
                } else {
                    c
                };
                if !failed {
                    if c != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    if failed {
        return (vec![], false, Ok(()));
    }
    (s.to_vec(), true, Ok(()))
}

/// One possibly escaped character inside a class; `None` is a syntax error.
fn get_esc(chunk: &[char]) -> Option<(char, &[char])> {
    let mut chunk = chunk;
    match chunk.first() {
        None | Some('-') | Some(']') => return None,
        Some('\\') => {
            chunk = &chunk[1..];
            chunk.first()?;
        }
        _ => {}
    }
    let r = chunk[0];
    let rest = &chunk[1..];
    if rest.is_empty() {
        return None;
    }
    Some((r, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DGST: &str = "sha256:a12f393f6889cd5a6a78e8f3d30590b0e4c2c25f7d74075501fbad53d3bb5606";

    fn parse(s: &str) -> Reference {
        Reference::parse_normalized_named(s).unwrap()
    }

    #[test]
    fn normalises_like_docker() {
        let cases = [
            // input, full string, familiar string, domain, path
            ("busybox", "docker.io/library/busybox", "busybox", "docker.io", "library/busybox"),
            ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36", "docker.io", "library/busybox"),
            ("library/busybox", "docker.io/library/busybox", "busybox", "docker.io", "library/busybox"),
            ("docker.io/busybox", "docker.io/library/busybox", "busybox", "docker.io", "library/busybox"),
            ("index.docker.io/busybox", "docker.io/library/busybox", "busybox", "docker.io", "library/busybox"),
            ("local/demo:1.0", "docker.io/local/demo:1.0", "local/demo:1.0", "docker.io", "local/demo"),
            ("library/a/b", "docker.io/library/a/b", "library/a/b", "docker.io", "library/a/b"),
            ("localhost/x", "localhost/x", "localhost/x", "localhost", "x"),
            ("localhost:5000/x", "localhost:5000/x", "localhost:5000/x", "localhost:5000", "x"),
            (
                "127.0.0.1:5000/team/edge:v2",
                "127.0.0.1:5000/team/edge:v2",
                "127.0.0.1:5000/team/edge:v2",
                "127.0.0.1:5000",
                "team/edge",
            ),
            ("ghcr.io/foo/bar:latest", "ghcr.io/foo/bar:latest", "ghcr.io/foo/bar:latest", "ghcr.io", "foo/bar"),
            // A '.' makes the first component a domain for splitDockerDomain, but it is not valid
            // domain syntax, so Parse takes the whole name as a path with no domain.
            ("a__b.c-d---e/f_g", "a__b.c-d---e/f_g", "a__b.c-d---e/f_g", "", "a__b.c-d---e/f_g"),
            ("b-c/d", "docker.io/b-c/d", "b-c/d", "docker.io", "b-c/d"),
        ];
        // docker/distribution v2.8 (Docker 20.10): an uppercase first component is not a domain.
        for upper in ["Foo/bar", "Docker/docker", "LOCALDOMAIN/debian", "FOO/bar:1"] {
            let e = Reference::parse_normalized_named(upper).unwrap_err();
            assert!(e.message.contains("invalid reference format: repository name must be lowercase"), "{e}");
        }
        for (input, full, familiar, domain, path) in cases {
            let r = parse(input);
            assert_eq!(r.to_string(), full, "{input}");
            assert_eq!(r.familiar_string(), familiar, "{input}");
            assert_eq!(r.domain(), domain, "{input}");
            assert_eq!(r.path(), path, "{input}");
        }
    }

    #[test]
    fn tags_and_digests() {
        let r = parse(&format!("127.0.0.1:5000/team/edge@{DGST}"));
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest().unwrap().as_str(), DGST);
        assert_eq!(r.familiar_string(), format!("127.0.0.1:5000/team/edge@{DGST}"));
        assert_eq!(r.name(), "127.0.0.1:5000/team/edge");
        assert_eq!(r.familiar_name(), "127.0.0.1:5000/team/edge");

        let both = parse(&format!("busybox:1@{DGST}"));
        assert_eq!(both.tag(), Some("1"));
        assert_eq!(both.to_string(), format!("docker.io/library/busybox:1@{DGST}"));
        assert_eq!(both.familiar_string(), format!("busybox:1@{DGST}"));

        assert_eq!(parse("busybox").with_default_tag().to_string(), "docker.io/library/busybox:latest");
        assert_eq!(parse("busybox:1").with_default_tag().tag(), Some("1"));
        assert_eq!(parse(&format!("busybox@{DGST}")).with_default_tag().tag(), None);
        assert_eq!(parse("busybox:1").name_only().to_string(), "docker.io/library/busybox");
        assert_eq!(parse("busybox").with_tag("x").unwrap().familiar_string(), "busybox:x");
        assert!(parse("busybox").with_tag(".x").is_err());

        let max_tag = "a".repeat(128);
        assert_eq!(parse(&format!("busybox:{max_tag}")).tag(), Some(max_tag.as_str()));
        assert_eq!(parse("busybox:_A.b-c").tag(), Some("_A.b-c"));
    }

    #[test]
    fn rejects_bad_names_with_gos_messages() {
        let cases = [
            ("Busybox", "repository name must be lowercase"),
            ("local/Demo:1", "repository name must be lowercase"),
            ("docker.io/Library/busybox", "repository name must be lowercase"),
            ("", "invalid reference format"),
            ("busybox:", "invalid reference format"),
            ("busybox:-x", "invalid reference format"),
            ("-busybox", "invalid reference format"),
            ("busy--box_", "invalid reference format"),
            ("a___b", "invalid reference format"),
            ("a//b", "invalid reference format"),
            ("a/b/", "invalid reference format"),
            ("busybox@sha256:abc", "invalid reference format"),
            ("busybox@md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported digest algorithm"),
            ("4a83ccda15950e8f72620fb409c3ded7366e35b4d0e525499a968efef9ee2a6a", "64-byte hexadecimal"),
        ];
        for (input, want) in cases {
            let e = Reference::parse_normalized_named(input).unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::InvalidArgument);
            assert!(e.message.contains(want), "{input:?}: {}", e.message);
            assert!(e.message.contains(&format!("{input:?}")), "{input:?}: {}", e.message);
        }
        let too_long_tag = format!("busybox:{}", "a".repeat(129));
        assert!(Reference::parse_normalized_named(&too_long_tag).is_err());
        let long_name = format!("x/{}", "a".repeat(250));
        let e = Reference::parse_normalized_named(&long_name).unwrap_err();
        assert!(e.message.contains("must not be more than 255 characters"), "{}", e.message);
    }

    #[test]
    fn any_reference() {
        let hex = "4a83ccda15950e8f72620fb409c3ded7366e35b4d0e525499a968efef9ee2a6a";
        assert_eq!(parse_any_reference(hex).unwrap(), AnyReference::Id(Digest::from_sha256_hex(hex).unwrap()));
        let full = format!("sha256:{hex}");
        assert_eq!(parse_any_reference(&full).unwrap(), AnyReference::Id(Digest::parse(&full).unwrap()));
        assert_eq!(parse_any_reference("busybox").unwrap(), AnyReference::Named(parse("busybox")));
        // A short hex prefix is a name, not an ID.
        assert_eq!(parse_any_reference("4a83cc").unwrap(), AnyReference::Named(parse("4a83cc")));
        assert!(parse_any_reference("4A83CC").is_err());
    }

    #[test]
    fn familiar_match_like_the_reference_filter() {
        let edge = parse("local/edge:latest");
        let reg = parse("127.0.0.1:5000/team/edge:v2");
        let base = parse("local/base:latest");
        let bb = parse("busybox:1.36");
        let digest = parse(&format!("127.0.0.1:5000/team/edge@{DGST}"));
        let m = |p: &str, r: &Reference| familiar_match(p, r).unwrap();
        assert!(m("local/*", &edge));
        assert!(!m("local/*", &reg));
        assert!(m("*/*:latest", &edge) && m("*/*:latest", &base));
        assert!(!m("*/*:latest", &reg));
        assert!(m("busybox", &bb) && m("busybox:1.*", &bb) && !m("docker.io/library/busybox", &bb));
        assert!(m("*/*/edge", &reg) && m("127.0.0.1:5000/team/edge@sha256:*", &digest));
        assert!(m("local/[a-e]dge", &edge) && !m("local/[^a-e]dge", &edge) && m("local/?dge:*", &edge));
        assert!(m("local/\\edge", &edge));
        assert!(familiar_match("local/[", &edge).is_err());
        assert!(familiar_match("x[", &edge).is_err());
    }

    #[test]
    fn go_path_match() {
        let ok = |p: &str, n: &str| path_match(p, n).unwrap();
        assert!(ok("abc", "abc") && ok("*", "abc") && ok("*c", "abc") && ok("a*", "a") && ok("a*/b", "abc/b"));
        assert!(!ok("a*", "ab/c") && !ok("a*/b", "a/c/b") && ok("a*b*c*d*e*/f", "axbxcxdxe/f"));
        assert!(ok("a*b?c*x", "abxbbxdbxebxczzx") && !ok("a*b?c*x", "abxbbxdbxebxczzy"));
        assert!(ok("ab[c]", "abc") && ok("ab[b-d]", "abc") && !ok("ab[e-g]", "abc") && ok("ab[^e-g]", "abc"));
        assert!(ok("a\\*b", "a*b") && !ok("a\\*b", "ab") && ok("a?b", "a☺b") && ok("a[^a]b", "a☺b"));
        assert!(ok("*x", "xxx") && !ok("a?b", "a/b") && !ok("a*b", "a/b"));
        for bad in ["[]a]", "[-]", "[x-]", "[", "[^", "[^bc", "a[", "\\", "[a-b-c]", "*x["] {
            assert!(path_match(bad, "a").is_err(), "{bad}");
        }
    }
}
