//! Where an entry of the tarball sits relative to a Docker image store (`image/<driver>/`).
//!
//! The store may be at any depth (a tar of `image/<driver>/`, of `/var/lib/docker`, or of a
//! folder above it), so every path is split at its first store marker (`imagedb`, `layerdb`,
//! `distribution`, `repositories.json`): what comes before is the candidate store folder,
//! what comes after says which file it is. Paths are only compared, never used to touch
//! anything.

/// A file of the store that the importer reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreFile {
    /// `imagedb/content/sha256/<hex>`: an image config.
    ImageConfig { hex: String },
    /// `imagedb/metadata/sha256/<hex>/<key>`.
    ImageMeta { hex: String, key: ImageMetaKey },
    /// `layerdb/sha256/<chain hex>/` itself (a layer exists even if its files are missing).
    LayerDir { hex: String },
    /// `layerdb/sha256/<chain hex>/<file>`.
    LayerFile { hex: String, file: LayerFileKind },
    /// `repositories.json`.
    Repositories,
    /// `distribution/diffid-by-digest/sha256/<blob digest hex>`.
    DiffIdByDigest { hex: String },
    /// `distribution/v2metadata-by-diffid/sha256/<diff id hex>`.
    V2MetadataByDiffId { hex: String },
    /// Anything else under `imagedb/` or `layerdb/` (folders, mounts, tmp, temp files): it only
    /// tells that the folder exists.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ImageMetaKey {
    Parent,
    LastUpdated,
    BuiltLocally,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum LayerFileKind {
    Diff,
    Size,
    CacheId,
    Parent,
    Descriptor,
    TarSplit,
}

impl LayerFileKind {
    pub(crate) fn file_name(self) -> &'static str {
        match self {
            LayerFileKind::Diff => "diff",
            LayerFileKind::Size => "size",
            LayerFileKind::CacheId => "cache-id",
            LayerFileKind::Parent => "parent",
            LayerFileKind::Descriptor => "descriptor.json",
            LayerFileKind::TarSplit => "tar-split.json.gz",
        }
    }
}

/// Which top-level store folder a path is under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Area {
    ImageDb,
    LayerDb,
    Elsewhere,
}

/// A path inside a candidate store folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StorePath {
    /// The candidate store folder: `""` for the archive's top level, else ending in `/`.
    pub root: String,
    pub area: Area,
    pub file: StoreFile,
}

/// Why a path is not looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// It has a `..` component: refused rather than resolved.
    DotDot,
    /// It is not inside any store folder.
    Outside,
}

/// Splits a tar entry name into components: leading `/` and `./`, empty and `.` parts dropped.
pub(crate) fn components(path: &str) -> Result<Vec<&str>, Unusable> {
    let parts: Vec<&str> = path.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    if parts.contains(&"..") {
        return Err(Unusable::DotDot);
    }
    Ok(parts)
}

/// Classifies a tar entry name.
pub(crate) fn classify(path: &str) -> Result<StorePath, Unusable> {
    let parts = components(path)?;
    let at = parts
        .iter()
        .enumerate()
        .position(|(i, c)| {
            matches!(*c, "imagedb" | "layerdb" | "distribution") || (*c == "repositories.json" && i + 1 == parts.len())
        })
        .ok_or(Unusable::Outside)?;
    let root = if at == 0 { String::new() } else { format!("{}/", parts[..at].join("/")) };
    let rel = &parts[at..];
    let area = match rel[0] {
        "imagedb" => Area::ImageDb,
        "layerdb" => Area::LayerDb,
        _ => Area::Elsewhere,
    };
    Ok(StorePath { root, area, file: store_file(rel) })
}

fn store_file(rel: &[&str]) -> StoreFile {
    let hex = |s: &str| is_sha256_hex(s).then(|| s.to_string());
    let found = match rel {
        ["imagedb", "content", "sha256", name] => hex(name).map(|hex| StoreFile::ImageConfig { hex }),
        ["imagedb", "metadata", "sha256", name, key] => {
            let key = match *key {
                "parent" => Some(ImageMetaKey::Parent),
                "lastUpdated" => Some(ImageMetaKey::LastUpdated),
                "builtLocally" => Some(ImageMetaKey::BuiltLocally),
                _ => None,
            };
            hex(name).zip(key).map(|(hex, key)| StoreFile::ImageMeta { hex, key })
        }
        // Only names that are digests are layers: `<hex>-<rand>-removing` dirs are ignored.
        ["layerdb", "sha256", name] => hex(name).map(|hex| StoreFile::LayerDir { hex }),
        ["layerdb", "sha256", name, file] => {
            let file = [
                LayerFileKind::Diff,
                LayerFileKind::Size,
                LayerFileKind::CacheId,
                LayerFileKind::Parent,
                LayerFileKind::Descriptor,
                LayerFileKind::TarSplit,
            ]
            .into_iter()
            .find(|k| k.file_name() == *file);
            hex(name).zip(file).map(|(hex, file)| StoreFile::LayerFile { hex, file })
        }
        ["repositories.json"] => Some(StoreFile::Repositories),
        ["distribution", "diffid-by-digest", "sha256", name] => hex(name).map(|hex| StoreFile::DiffIdByDigest { hex }),
        ["distribution", "v2metadata-by-diffid", "sha256", name] => {
            hex(name).map(|hex| StoreFile::V2MetadataByDiffId { hex })
        }
        _ => None,
    };
    found.unwrap_or(StoreFile::Other)
}

/// Exactly 64 lowercase hex characters, as go-digest's `Validate` requires for sha256.
pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// What a path that is not a store file suggests the archive is, for the "unsupported format"
/// message.
pub(crate) fn format_hint(path: &str) -> Option<String> {
    let parts = components(path).ok()?;
    let last = *parts.last()?;
    let n = parts.len();
    if n >= 3 && parts[n - 3] == "graph" && is_sha256_hex(parts[n - 2]) && last == "json" {
        return Some(format!("a pre-1.10 Docker graph/ store ({}/)", parts[..n - 2].join("/")));
    }
    if last.starts_with("repositories-") && n <= 3 {
        return Some(format!("a pre-1.10 Docker reference file ({})", parts.join("/")));
    }
    match (n, last) {
        (1, "manifest.json") => Some("a `docker save` archive (manifest.json)".into()),
        (1, "oci-layout") => Some("an OCI image layout (oci-layout)".into()),
        (_, "meta.db") if n >= 2 && parts[n - 2] == "io.containerd.metadata.v1.bolt" => {
            Some(format!("a containerd root ({})", parts.join("/")))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "8d851c0513d4c5b71eb620c4136f6ae99da5c520484abd95bbe96c29a245c13e";

    #[test]
    fn finds_the_store_at_any_depth() {
        let p = classify(&format!("./imagedb/content/sha256/{H}")).unwrap();
        assert_eq!((p.root.as_str(), p.area), ("", Area::ImageDb));
        assert_eq!(p.file, StoreFile::ImageConfig { hex: H.into() });
        let p = classify(&format!("/var/lib/docker/image/overlay2/layerdb/sha256/{H}/tar-split.json.gz")).unwrap();
        assert_eq!(p.root, "var/lib/docker/image/overlay2/");
        assert_eq!(p.file, StoreFile::LayerFile { hex: H.into(), file: LayerFileKind::TarSplit });
        let p = classify("docker/image/aufs/repositories.json").unwrap();
        assert_eq!((p.root.as_str(), p.file), ("docker/image/aufs/", StoreFile::Repositories));
    }

    #[test]
    fn ignores_what_dockerd_ignores() {
        for ignored in [
            format!("layerdb/sha256/{H}-1234-removing/diff"),
            format!("imagedb/content/sha256/.tmp-{H}123"),
            format!("layerdb/mounts/{H}/mount-id"),
            "layerdb/tmp/write-set-1/diff".to_string(),
            format!("imagedb/content/sha256/{}", H.to_uppercase()),
        ] {
            assert_eq!(classify(&ignored).unwrap().file, StoreFile::Other, "{ignored}");
        }
        assert_eq!(classify("docker/containers/x/config.v2.json"), Err(Unusable::Outside));
        assert_eq!(classify("a/../imagedb/content/sha256/x"), Err(Unusable::DotDot));
    }

    #[test]
    fn hints_name_other_formats() {
        assert!(format_hint(&format!("docker/graph/{H}/json")).unwrap().contains("pre-1.10"));
        assert!(format_hint("manifest.json").unwrap().contains("docker save"));
        assert!(format_hint("root/io.containerd.metadata.v1.bolt/meta.db").unwrap().contains("containerd"));
        assert_eq!(format_hint("etc/passwd"), None);
    }
}
