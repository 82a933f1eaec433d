//! OCI image-spec types (descriptor, manifest, index, platform) with their exact JSON field
//! names, the OCI and Docker schema2 media types, and containerd's media-type predicates and
//! blob checks (core/images/mediatypes.go, image.go validateMediaType).
//!
//! Field names are matched exactly (Go's encoding/json would also accept other letter cases;
//! no real producer writes those). Unknown fields are ignored, as in Go.

use crate::digest::Digest;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// OCI image-spec media types.
pub const OCI_DESCRIPTOR: &str = "application/vnd.oci.descriptor.v1+json";
pub const OCI_LAYOUT_HEADER: &str = "application/vnd.oci.layout.header.v1+json";
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// Deprecated by the spec, still recognised.
pub const OCI_LAYER_NONDISTRIBUTABLE: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar";
pub const OCI_LAYER_NONDISTRIBUTABLE_GZIP: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
pub const OCI_LAYER_NONDISTRIBUTABLE_ZSTD: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

// Docker image manifest v2 schema 2 media types.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const DOCKER_LAYER_ZSTD: &str = "application/vnd.docker.image.rootfs.diff.tar.zstd";
pub const DOCKER_LAYER_FOREIGN: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar";
pub const DOCKER_LAYER_FOREIGN_GZIP: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// Schema 1 (signed JSON): recognised only to be refused.
pub const DOCKER_SCHEMA1_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

// Other media types containerd knows.
pub const CONTAINERD_CHECKPOINT: &str = "application/vnd.containerd.container.criu.checkpoint.criu.tar";
pub const CONTAINERD_CHECKPOINT_CONFIG: &str = "application/vnd.containerd.container.checkpoint.config.v1+proto";
pub const EROFS_LAYER: &str = "application/vnd.erofs.layer.v1";
pub const IN_TOTO: &str = "application/vnd.in-toto+json";

// Annotations.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const ANNOTATION_CONTAINERD_IMAGE_NAME: &str = "io.containerd.image.name";
pub const ANNOTATION_MANIFEST_SUBJECT: &str = "io.containerd.manifest.subject";

pub type Annotations = BTreeMap<String, String>;

/// A content descriptor (image-spec descriptor.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: Digest,
    #[serde(default)]
    pub size: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Embedded content (base64 in JSON).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "base64_bytes")]
    pub data: Option<Vec<u8>>,
    #[serde(rename = "artifactType", default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

impl Descriptor {
    /// An annotation's value, if present.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }
}

/// A platform (image-spec image-index.md).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(rename = "os.version", default, skip_serializing_if = "String::is_empty")]
    pub os_version: String,
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

/// An image manifest (OCI or Docker schema2; same shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(rename = "schemaVersion", default)]
    pub schema_version: i64,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(rename = "artifactType", default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
}

/// An image index / Docker manifest list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    #[serde(rename = "schemaVersion", default)]
    pub schema_version: i64,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(rename = "artifactType", default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Go decodes `null` as an empty list (a `docker save` of an untagged image writes it).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Base64 (standard, padded) for `Descriptor::data`, as Go's `[]byte` JSON encoding.
mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else { return Ok(None) };
        base64::engine::general_purpose::STANDARD.decode(text).map(Some).map_err(serde::de::Error::custom)
    }
}

/// containerd IsManifestType: Docker schema2 or OCI manifest.
pub fn is_manifest(media_type: &str) -> bool {
    matches!(media_type, DOCKER_MANIFEST | OCI_MANIFEST)
}

/// containerd IsIndexType: OCI index or Docker manifest list.
pub fn is_index(media_type: &str) -> bool {
    matches!(media_type, OCI_INDEX | DOCKER_MANIFEST_LIST)
}

/// containerd IsConfigType: Docker or OCI image config.
pub fn is_config(media_type: &str) -> bool {
    matches!(media_type, DOCKER_CONFIG | OCI_CONFIG)
}

/// containerd IsKnownConfig: image configs plus checkpoint configs (they get the
/// `containerd.io/gc.ref.content.config` label).
pub fn is_known_config(media_type: &str) -> bool {
    is_config(media_type) || matches!(media_type, CONTAINERD_CHECKPOINT | CONTAINERD_CHECKPOINT_CONFIG)
}

/// containerd IsLayerType: any `application/vnd.oci.image.layer.*`, the Docker layer types
/// (with any `+suffix`), and EROFS layers.
pub fn is_layer(media_type: &str) -> bool {
    if media_type.starts_with("application/vnd.oci.image.layer.") {
        return true;
    }
    matches!(
        base_and_suffixes(media_type).0,
        DOCKER_LAYER
            | DOCKER_LAYER_GZIP
            | DOCKER_LAYER_FOREIGN
            | DOCKER_LAYER_FOREIGN_GZIP
            | DOCKER_LAYER_ZSTD
            | EROFS_LAYER
    )
}

/// containerd IsNonDistributable.
pub fn is_non_distributable(media_type: &str) -> bool {
    media_type.starts_with("application/vnd.oci.image.layer.nondistributable.")
        || media_type.starts_with("application/vnd.docker.image.rootfs.foreign.")
}

/// containerd IsDockerType.
pub fn is_docker_type(media_type: &str) -> bool {
    media_type.starts_with("application/vnd.docker.")
}

/// How a layer blob is compressed, per its media type (containerd DiffCompression).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerCompression {
    /// A plain tar, or a type with a suffix containerd does not decompress (e.g. `+encrypted`).
    Uncompressed,
    Gzip,
    Zstd,
    /// Docker's `...diff.tar`: historically used for compressed data too; sniff the bytes.
    Unknown,
}

/// containerd DiffCompression. Non-layer media types are `unsupported_format`.
pub fn layer_compression(media_type: &str) -> Result<LayerCompression> {
    let (base, suffixes) = base_and_suffixes(media_type);
    let plain = suffixes.is_empty();
    Ok(match base {
        DOCKER_LAYER | DOCKER_LAYER_FOREIGN if plain => LayerCompression::Unknown,
        DOCKER_LAYER_GZIP | DOCKER_LAYER_FOREIGN_GZIP if plain => LayerCompression::Gzip,
        DOCKER_LAYER_ZSTD if plain => LayerCompression::Zstd,
        DOCKER_LAYER | DOCKER_LAYER_FOREIGN | DOCKER_LAYER_GZIP | DOCKER_LAYER_FOREIGN_GZIP | DOCKER_LAYER_ZSTD => {
            LayerCompression::Uncompressed
        }
        OCI_LAYER | OCI_LAYER_NONDISTRIBUTABLE => match suffixes.last().map(String::as_str) {
            Some("gzip") => LayerCompression::Gzip,
            Some("zstd") => LayerCompression::Zstd,
            _ => LayerCompression::Uncompressed,
        },
        _ => return Err(Error::unsupported(format!("unrecognised mediatype {media_type}: not implemented"))),
    })
}

/// Splits `type+s1+s2` into the base type and its sorted suffixes (containerd parseMediaTypes).
fn base_and_suffixes(media_type: &str) -> (&str, Vec<String>) {
    match media_type.split_once('+') {
        None => (media_type, Vec::new()),
        Some((base, ext)) => {
            let mut suffixes: Vec<String> = ext.splitn(50, '+').map(String::from).collect();
            suffixes.sort();
            (base, suffixes)
        }
    }
}

/// containerd's validateMediaType: the blob must be a JSON object; schema 1 (`fsLayers`) is
/// refused; a blob fetched as a manifest must not look like an index and vice versa. Keys are
/// matched case-insensitively, as Go's decoder does.
pub fn validate_media_type(blob: &[u8], media_type: &str) -> Result<()> {
    let doc: serde_json::Value = serde_json::from_slice(blob)
        .map_err(|e| Error::corrupt(format!("{media_type} blob is not valid JSON: {e}")))?;
    let obj = match &doc {
        serde_json::Value::Object(o) => o,
        serde_json::Value::Null => return Ok(()),
        _ => return Err(Error::corrupt(format!("{media_type} blob is not a JSON object"))),
    };
    let has = |key: &str| obj.keys().any(|k| k.eq_ignore_ascii_case(key));
    let mut doc_media_type = "";
    for (k, v) in obj {
        if k.eq_ignore_ascii_case("mediaType") {
            match v {
                serde_json::Value::String(s) => doc_media_type = s,
                serde_json::Value::Null => {}
                _ => return Err(Error::corrupt(format!("{media_type} blob: mediaType is not a string"))),
            }
        }
    }
    if has("fsLayers") {
        return Err(Error::unsupported("media-type: schema 1 not supported"));
    }
    if is_manifest(media_type) && (has("manifests") || is_index(doc_media_type)) {
        return Err(Error::corrupt(format!("media-type: expected manifest but found index ({media_type})")));
    }
    if is_index(media_type) && (has("config") || has("layers") || is_manifest(doc_media_type)) {
        return Err(Error::corrupt(format!("media-type: expected index but found manifest ({media_type})")));
    }
    Ok(())
}

/// Parses a manifest blob fetched with `media_type`, after containerd's checks.
pub fn parse_manifest(blob: &[u8], media_type: &str) -> Result<Manifest> {
    validate_media_type(blob, media_type)?;
    serde_json::from_slice(blob).map_err(|e| Error::corrupt(format!("invalid manifest ({media_type}): {e}")))
}

/// Parses an index / manifest-list blob fetched with `media_type`, after containerd's checks.
pub fn parse_index(blob: &[u8], media_type: &str) -> Result<Index> {
    validate_media_type(blob, media_type)?;
    serde_json::from_slice(blob).map_err(|e| Error::corrupt(format!("invalid index ({media_type}): {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates() {
        assert!(is_manifest(DOCKER_MANIFEST) && is_manifest(OCI_MANIFEST) && !is_manifest(OCI_INDEX));
        assert!(is_index(DOCKER_MANIFEST_LIST) && is_index(OCI_INDEX) && !is_index(OCI_MANIFEST));
        assert!(is_config(DOCKER_CONFIG) && is_config(OCI_CONFIG) && !is_config(OCI_EMPTY));
        assert!(is_known_config(CONTAINERD_CHECKPOINT_CONFIG));
        for l in [
            OCI_LAYER,
            OCI_LAYER_GZIP,
            OCI_LAYER_ZSTD,
            DOCKER_LAYER,
            DOCKER_LAYER_GZIP,
            DOCKER_LAYER_FOREIGN,
            EROFS_LAYER,
        ] {
            assert!(is_layer(l), "{l}");
        }
        assert!(is_layer("application/vnd.oci.image.layer.v1.tar+gzip+encrypted"));
        assert!(is_layer("application/vnd.docker.image.rootfs.diff.tar.gzip+encrypted"));
        assert!(!is_layer(OCI_CONFIG));
        assert!(is_non_distributable(DOCKER_LAYER_FOREIGN_GZIP) && is_non_distributable(OCI_LAYER_NONDISTRIBUTABLE));
        assert!(is_docker_type(DOCKER_CONFIG) && !is_docker_type(OCI_CONFIG));
    }

    #[test]
    fn compression_from_media_type() {
        use LayerCompression::*;
        let c = |m| layer_compression(m).unwrap();
        assert_eq!(c(OCI_LAYER), Uncompressed);
        assert_eq!(c(OCI_LAYER_GZIP), Gzip);
        assert_eq!(c(OCI_LAYER_ZSTD), Zstd);
        assert_eq!(c(OCI_LAYER_NONDISTRIBUTABLE_GZIP), Gzip);
        assert_eq!(c(DOCKER_LAYER), Unknown);
        assert_eq!(c(DOCKER_LAYER_GZIP), Gzip);
        assert_eq!(c(DOCKER_LAYER_ZSTD), Zstd);
        assert_eq!(c(DOCKER_LAYER_FOREIGN_GZIP), Gzip);
        assert_eq!(c("application/vnd.docker.image.rootfs.diff.tar.gzip+encrypted"), Uncompressed);
        // containerd sorts the suffixes and looks at the last: [encrypted, gzip] -> gzip.
        assert_eq!(c("application/vnd.oci.image.layer.v1.tar+gzip+encrypted"), Gzip);
        assert_eq!(c("application/vnd.oci.image.layer.v1.tar+zstd+zz"), Uncompressed);
        let e = layer_compression(OCI_CONFIG).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::UnsupportedFormat);
    }

    #[test]
    fn validation_rules() {
        let manifest = br#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":1},"layers":[]}"#;
        assert!(validate_media_type(manifest, OCI_MANIFEST).is_ok());
        let e = validate_media_type(manifest, OCI_INDEX).unwrap_err();
        assert_eq!(e.message, format!("media-type: expected index but found manifest ({OCI_INDEX})"));
        let index = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(validate_media_type(index, DOCKER_MANIFEST_LIST).is_ok());
        let e = validate_media_type(index, DOCKER_MANIFEST).unwrap_err();
        assert_eq!(e.message, format!("media-type: expected manifest but found index ({DOCKER_MANIFEST})"));
        // the blob's own mediaType counts too, and Go matches keys case-insensitively
        assert!(validate_media_type(format!(r#"{{"MediaType":"{OCI_INDEX}"}}"#).as_bytes(), OCI_MANIFEST).is_err());
        assert!(validate_media_type(br#"{"Manifests":null}"#, OCI_MANIFEST).is_err());
        let e = validate_media_type(br#"{"schemaVersion":1,"fsLayers":[]}"#, DOCKER_MANIFEST).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::UnsupportedFormat);
        assert_eq!(validate_media_type(b"[1]", OCI_MANIFEST).unwrap_err().code, crate::ErrorCode::DataCorrupt);
        assert_eq!(validate_media_type(b"{", OCI_MANIFEST).unwrap_err().code, crate::ErrorCode::DataCorrupt);
    }

    #[test]
    fn descriptor_json_round_trip_with_exact_names() {
        let text = r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":7,"urls":["https://x"],"annotations":{"a":"b"},"data":"aGVsbG8K","artifactType":"t","platform":{"architecture":"arm64","os":"linux","os.version":"1","os.features":["f"],"variant":"v8","features":["g"]}}"#;
        let d: Descriptor = serde_json::from_str(text).unwrap();
        assert_eq!(d.data.as_deref(), Some(&b"hello\n"[..]));
        assert_eq!(d.platform.as_ref().unwrap().os_version, "1");
        assert_eq!(d.annotation("a"), Some("b"));
        assert_eq!(serde_json::to_string(&d).unwrap(), text);
        let minimal = r#"{"mediaType":"m","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":0}"#;
        let d: Descriptor = serde_json::from_str(minimal).unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), minimal);
        assert!(serde_json::from_str::<Descriptor>(r#"{"mediaType":"m","digest":"sha256:00","size":1}"#).is_err());
    }
}
