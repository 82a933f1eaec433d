//! `docker save` archives: the `manifest.json` list (moby tarexport, read as both dockerd's
//! loader and containerd's importer read it), reference normalisation for RepoTags, and the
//! compression sniffing both use on layer files.

use crate::error::{Error, Result};
use crate::formats::reference::Reference;
use serde::Deserialize;

/// One item of `manifest.json`. Go's decoder matches keys case-insensitively; the spellings
/// seen in the wild are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ManifestItem {
    #[serde(rename = "Config", alias = "config")]
    pub config: String,
    #[serde(rename = "RepoTags", alias = "repoTags", alias = "repotags", default)]
    pub repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", alias = "layers", default)]
    pub layers: Option<Vec<String>>,
    /// The parent image ID (`sha256:...`), only written for images that had one.
    #[serde(rename = "Parent", alias = "parent", default)]
    pub parent: Option<String>,
}

impl ManifestItem {
    pub fn repo_tags(&self) -> &[String] {
        self.repo_tags.as_deref().unwrap_or_default()
    }
    pub fn layers(&self) -> &[String] {
        self.layers.as_deref().unwrap_or_default()
    }
}

/// Parses `manifest.json`. `null` is refused as dockerd refuses it; containerd's importer
/// calls an archive without items "unrecognized image format".
pub fn parse_manifest_json(bytes: &[u8]) -> Result<Vec<ManifestItem>> {
    let items: Option<Vec<ManifestItem>> =
        serde_json::from_slice(bytes).map_err(|e| Error::corrupt(format!("manifest.json: invalid JSON: {e}")))?;
    items.ok_or_else(|| Error::corrupt("invalid manifest.json: it is null"))
}

/// distribution/reference `ParseDockerRef`: normalised, `:latest` added to a bare name, and
/// the tag dropped when a digest is present (`docker.io/library/alpine:latest`).
pub fn parse_docker_ref(s: &str) -> Result<Reference> {
    let r = Reference::parse_normalized_named(s)?;
    Ok(match r.digest() {
        Some(d) if r.tag().is_some() => r.with_digest(d.clone()),
        _ => r.with_default_tag(),
    })
}

/// containerd's `ociReferenceName`: the tag part of a normalised name (`latest`), or the whole
/// name for a digest reference.
pub fn oci_reference_name(normalized: &str) -> String {
    // containerd pkg/reference: the object follows the first ':' or '@' of the path (after
    // the host); a digest object (starting with '@') is not a valid OCI ref name.
    if normalized.contains('@') {
        return normalized.to_string();
    }
    let last_slash = normalized.rfind('/').map_or(0, |i| i + 1);
    match normalized[last_slash..].rfind(':') {
        Some(i) => normalized[last_slash + i + 1..].to_string(),
        None => normalized.to_string(),
    }
}

/// What a layer file's first bytes say about its compression (moby/containerd
/// `compression.DetectCompression`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Uncompressed,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::Uncompressed => "none",
            Compression::Gzip => "gzip",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
        }
    }
}

/// Sniffs at most the first 10 bytes of a layer file.
pub fn detect_compression(head: &[u8]) -> Compression {
    const ZSTD_SKIPPABLE_MASK: u32 = 0xFFFF_FFF0;
    if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        return Compression::Gzip;
    }
    if head.starts_with(b"BZh") {
        return Compression::Bzip2;
    }
    if head.starts_with(&[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) {
        return Compression::Xz;
    }
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Compression::Zstd;
    }
    if head.len() >= 4 {
        let magic = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if magic & ZSTD_SKIPPABLE_MASK == 0x184D_2A50 {
            return Compression::Zstd;
        }
    }
    Compression::Uncompressed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_json_items() {
        let items = parse_manifest_json(
            br#"[{"Config":"a.json","RepoTags":["alpine:latest"],"Layers":["x/layer.tar"]},{"config":"b","RepoTags":null,"Layers":[]}]"#,
        )
        .unwrap();
        assert_eq!(items[0].repo_tags(), ["alpine:latest"]);
        assert_eq!(items[1].config, "b");
        assert!(items[1].repo_tags().is_empty());
        assert!(parse_manifest_json(b"null").is_err());
        assert!(parse_manifest_json(b"{").is_err());
    }

    #[test]
    fn docker_refs_normalise_like_containerd() {
        assert_eq!(parse_docker_ref("alpine").unwrap().to_string(), "docker.io/library/alpine:latest");
        assert_eq!(parse_docker_ref("local/base:1").unwrap().to_string(), "docker.io/local/base:1");
        assert_eq!(oci_reference_name("docker.io/local/base:1"), "1");
        assert_eq!(oci_reference_name("127.0.0.1:5000/team/edge"), "127.0.0.1:5000/team/edge");
        let d = format!("docker.io/library/a@sha256:{}", "0".repeat(64));
        assert_eq!(oci_reference_name(&d), d);
    }

    #[test]
    fn sniffs_compression() {
        assert_eq!(detect_compression(&[0x1f, 0x8b, 0x08, 0]), Compression::Gzip);
        assert_eq!(detect_compression(&[0x28, 0xb5, 0x2f, 0xfd]), Compression::Zstd);
        assert_eq!(detect_compression(b"BZh91AY"), Compression::Bzip2);
        assert_eq!(detect_compression(b"bin/\0\0\0"), Compression::Uncompressed);
        assert_eq!(detect_compression(b""), Compression::Uncompressed);
    }
}
