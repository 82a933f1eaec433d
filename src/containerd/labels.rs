//! Labels on images, content and namespaces: containerd's size rule, the well-known keys, and
//! the lookups the filter language makes on them.

use super::errdefs;
use crate::error::Result;
use std::collections::BTreeMap;

/// Label maps, kept sorted so records and listings are deterministic.
pub type Labels = BTreeMap<String, String>;

/// Largest allowed `len(key) + len(value)`, in bytes (pkg/labels/validate.go).
pub const MAX_LABEL_SIZE: usize = 4096;
/// How much of an over-long key the error message shows.
const KEY_MAX_LEN_IN_ERROR: usize = 64;

/// Marks content (or snapshots) as a GC root.
pub const GC_ROOT: &str = "containerd.io/gc.root";
/// Prefix of the labels that make GC follow a reference to content.
pub const GC_REF_CONTENT: &str = "containerd.io/gc.ref.content";
pub const GC_REF_IMAGE: &str = "containerd.io/gc.ref.image";
pub const GC_BREF_CONTENT: &str = "containerd.io/gc.bref.content";
pub const GC_BREF_IMAGE: &str = "containerd.io/gc.bref.image";
/// RFC3339 time after which an image stops being a GC root.
pub const GC_EXPIRE: &str = "containerd.io/gc.expire";
/// On a compressed layer: the digest of its uncompressed tar.
pub const UNCOMPRESSED: &str = "containerd.io/uncompressed";

/// Checks one label like containerd's `labels.Validate`.
pub fn validate(key: &str, value: &str) -> Result<()> {
    let total = key.len() + value.len();
    if total > MAX_LABEL_SIZE {
        let shown = truncate_bytes(key, KEY_MAX_LEN_IN_ERROR);
        return Err(errdefs::invalid_argument(format!(
            "label key and value length ({total} bytes) greater than maximum size ({MAX_LABEL_SIZE} bytes), key: {shown}"
        )));
    }
    Ok(())
}

/// Checks every label; the error is prefixed by `what` (`image.Labels`, `info.Labels`, ...).
pub fn validate_all(labels: &Labels, what: &str) -> Result<()> {
    for (k, v) in labels {
        validate(k, v).map_err(|e| e.context(what))?;
    }
    Ok(())
}

/// Drops labels with empty values: containerd never writes them (boltutil writeMap), which is
/// how setting `labels.<k>` to "" deletes a label.
pub fn without_empty(labels: Labels) -> Labels {
    labels.into_iter().filter(|(_, v)| !v.is_empty()).collect()
}

/// The filter-language lookup on a map field: the rest of the path joined by `.` is the key
/// (`labels.a.b` and `labels."a.b"` both name key `a.b`). An empty map has no fields.
pub fn lookup(labels: &Labels, rest: &[String]) -> Option<String> {
    if labels.is_empty() {
        return None;
    }
    labels.get(&rest.join(".")).cloned()
}

/// `k=v` pairs sorted and comma-joined, or `-` (the LABELS column of `ctr images ls`).
pub fn display(labels: &Labels) -> String {
    if labels.is_empty() {
        return "-".into();
    }
    let mut pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.sort();
    pairs.join(",")
}

/// A child of a manifest or index, as [`child_gc_labels`] needs it.
pub struct Child<'a> {
    pub media_type: &'a str,
    pub digest: &'a crate::digest::Digest,
    /// The descriptor carries the `io.containerd.manifest.subject` annotation (a referrer).
    pub is_referrer: bool,
}

/// The GC labels containerd puts on a manifest or index for its children when it pulls or
/// imports (`SetChildrenMappedLabels` with `ChildGCLabels`): `…content.config`, `…content.l.<i>`
/// per layer, `…content.m.<i>` per manifest, `…content.referrer.sha256.<12 hex>`, and
/// `…content.<i>` for anything else; the counter runs per label kind.
pub fn child_gc_labels(children: &[Child<'_>]) -> Labels {
    let mut out = Labels::new();
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for ch in children {
        let base = child_label_base(ch);
        let idx = seen.entry(base).or_insert(0);
        let key = if base.ends_with(".sha256.") {
            format!("{base}{}", &ch.digest.hex()[..12])
        } else if *idx > 0 || base.ends_with('.') {
            format!("{base}{idx}")
        } else {
            base.to_string()
        };
        *idx += 1;
        out.insert(key, ch.digest.to_string());
    }
    out
}

fn child_label_base(ch: &Child<'_>) -> &'static str {
    use crate::formats::oci;
    let mt = ch.media_type;
    if ch.is_referrer {
        "containerd.io/gc.ref.content.referrer.sha256."
    } else if oci::is_known_config(mt) {
        "containerd.io/gc.ref.content.config"
    } else if oci::is_manifest(mt) {
        "containerd.io/gc.ref.content.m."
    } else if oci::is_layer(mt) {
        "containerd.io/gc.ref.content.l."
    } else {
        "containerd.io/gc.ref.content."
    }
}

/// Go slices strings by bytes; keep to a char boundary so we never split a UTF-8 sequence.
fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_limit_is_key_plus_value() {
        assert!(validate("k", &"v".repeat(4095)).is_ok());
        let e = validate("k", &"v".repeat(4096)).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::InvalidArgument);
        assert_eq!(
            e.message,
            "label key and value length (4097 bytes) greater than maximum size (4096 bytes), key: k: invalid argument"
        );
        let long_key = "x".repeat(5000);
        let e = validate(&long_key, "").unwrap_err();
        assert!(e.message.contains(&format!("key: {}: invalid", "x".repeat(64))), "{}", e.message);
        let mut m = Labels::new();
        m.insert("big".into(), "y".repeat(4094));
        assert!(validate_all(&m, "image.Labels")
            .unwrap_err()
            .message
            .starts_with("image.Labels: label key and value length (4097 bytes)"));
    }

    #[test]
    fn lookup_and_display() {
        let m: Labels = [("a.b".to_string(), "1".to_string()), ("team".to_string(), "x".to_string())].into();
        assert_eq!(lookup(&m, &["a".into(), "b".into()]), Some("1".into()));
        assert_eq!(lookup(&m, &["a.b".into()]), Some("1".into()));
        assert_eq!(lookup(&m, &[]), None);
        assert_eq!(lookup(&Labels::new(), &["a.b".into()]), None);
        assert_eq!(display(&m), "a.b=1,team=x");
        assert_eq!(display(&Labels::new()), "-");
        assert_eq!(without_empty([("a".to_string(), String::new())].into()), Labels::new());
    }

    #[test]
    fn child_labels_count_per_kind() {
        let d = |s: &[u8]| crate::digest::Digest::sha256_of(s);
        let (a, b, c, e) = (d(b"a"), d(b"b"), d(b"c"), d(b"e"));
        let ch = |media_type, digest, is_referrer| Child { media_type, digest, is_referrer };
        let got = child_gc_labels(&[
            ch("application/vnd.oci.image.manifest.v1+json", &a, false),
            ch("application/vnd.docker.distribution.manifest.v2+json", &b, false),
            ch("application/vnd.in-toto+json", &c, false),
            ch("application/vnd.oci.image.manifest.v1+json", &e, true),
            ch("application/vnd.docker.container.image.v1+json", &c, false),
            ch("application/vnd.docker.container.image.v1+json", &e, false),
        ]);
        let want: Labels = [
            ("containerd.io/gc.ref.content.m.0", &a),
            ("containerd.io/gc.ref.content.m.1", &b),
            ("containerd.io/gc.ref.content.0", &c),
            (&*format!("containerd.io/gc.ref.content.referrer.sha256.{}", &e.hex()[..12]), &e),
            ("containerd.io/gc.ref.content.config", &c),
            ("containerd.io/gc.ref.content.config1", &e),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
    }
}
