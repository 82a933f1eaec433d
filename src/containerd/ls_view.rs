//! What `ctr images ls` and `ctr content ls` print (containerd 1.6 cmd/ctr): the rows, the
//! size formats (go-units' are in [`crate::formats::go_units`]), and the tabwriter layout of
//! `ctr images ls`.
//!
//! SIZE walks from the image's target like `image.Size(ctx, cs, platforms.Default())` on a
//! linux/amd64 host: the index, the one best-matching manifest, its config and its layers.
//! PLATFORMS is `images.Platforms`. Both read manifests, indexes and configs from the
//! namespace's content store; a missing blob or a bad document ends the walk, and (as ctr,
//! which logs the error and prints the row anyway) the row keeps what was found so far.

use super::content::{ContentStore, Info};
use super::images::Image;
use super::labels;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::formats::go_units::{self, human_size};
use crate::formats::gotime::GoTime;
use crate::formats::oci::{self, Descriptor, Platform};
use crate::storage::Backend;
use std::collections::HashSet;

// ---- the platform rules of containerd/platforms for the default linux/amd64 ----------------

pub(crate) fn normalize(p: &Platform) -> Platform {
    let mut os = p.os.to_lowercase();
    if os.is_empty() {
        os = "linux".into(); // runtime.GOOS of the ctr that made the expected output
    } else if os == "macos" {
        os = "darwin".into();
    }
    let (mut arch, mut variant) = (p.architecture.to_lowercase(), p.variant.to_lowercase());
    match arch.as_str() {
        "i386" => (arch, variant) = ("386".into(), String::new()),
        "x86_64" | "x86-64" | "amd64" => {
            arch = "amd64".into();
            if variant == "v1" {
                variant.clear();
            }
        }
        "aarch64" | "arm64" => {
            arch = "arm64".into();
            match variant.as_str() {
                "8" | "v8" | "v8.0" => variant.clear(),
                "9" | "9.0" | "v9.0" => variant = "v9".into(),
                _ => {}
            }
        }
        "armhf" => (arch, variant) = ("arm".into(), "v7".into()),
        "armel" => (arch, variant) = ("arm".into(), "v6".into()),
        "arm" => match variant.as_str() {
            "" | "7" => variant = "v7".into(),
            "5" | "6" | "8" => variant = format!("v{variant}"),
            _ => {}
        },
        _ => {}
    }
    let mut os_features = p.os_features.clone();
    os_features.sort();
    os_features.dedup();
    Platform { architecture: arch, os, os_features, variant, ..p.clone() }
}

/// `platforms.Default()` on linux/amd64: `Only(linux/amd64)` = linux/amd64, then linux/386.
const DEFAULT_VECTOR: [(&str, &str); 2] = [("linux", "amd64"), ("linux", "386")];

fn matches_one(want: (&str, &str), p: &Platform) -> bool {
    let n = normalize(p);
    n.os == want.0 && n.architecture == want.1 && n.variant.is_empty() && n.os_features.is_empty()
}

pub(crate) fn default_match(p: &Platform) -> bool {
    DEFAULT_VECTOR.iter().any(|w| matches_one(*w, p))
}

/// The default comparer's order: the earlier matcher in the vector wins.
pub(crate) fn default_less(a: &Platform, b: &Platform) -> bool {
    for w in DEFAULT_VECTOR {
        let (am, bm) = (matches_one(w, a), matches_one(w, b));
        if am && !bm {
            return true;
        }
        if am || bm {
            return false;
        }
    }
    false
}

/// `platforms.Format`: `os/arch[/variant]`, or `unknown` without an OS.
fn format_platform(p: &Platform) -> String {
    if p.os.is_empty() {
        return "unknown".into();
    }
    [p.os.as_str(), p.architecture.as_str(), p.variant.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join("/")
}

// ---- walking an image -------------------------------------------------------------------------

/// containerd's `images.Children`: a manifest's config and layers, an index's manifests,
/// nothing for anything else.
async fn children<B: Backend + Clone>(cs: &ContentStore<B>, desc: &Descriptor) -> Result<Vec<Descriptor>> {
    let at = |e: Error| e.context(&desc.digest);
    if oci::is_manifest(&desc.media_type) {
        let m = oci::parse_manifest(&cs.read_all(&desc.digest).await?, &desc.media_type).map_err(at)?;
        Ok(std::iter::once(m.config).chain(m.layers).collect())
    } else if oci::is_index(&desc.media_type) {
        Ok(oci::parse_index(&cs.read_all(&desc.digest).await?, &desc.media_type).map_err(at)?.manifests)
    } else {
        Ok(Vec::new())
    }
}

pub(crate) fn target_descriptor(img: &Image) -> Result<Descriptor> {
    Ok(Descriptor {
        media_type: img.target.media_type.clone(),
        digest: img.target_digest()?,
        size: img.target.size,
        urls: Vec::new(),
        annotations: None,
        data: None,
        artifact_type: None,
        platform: None,
    })
}

/// `image.Size` for the default platform. Returns the sum over the visited descriptors and the
/// error that stopped the walk early, if any.
async fn image_size<B: Backend + Clone>(cs: &ContentStore<B>, img: &Image) -> (i64, Option<Error>) {
    let mut size = 0i64;
    let mut stack = match target_descriptor(img) {
        Ok(d) => vec![(d, 0usize)],
        Err(e) => return (0, Some(e)),
    };
    let mut visits = 0usize;
    // Depth-first, each descriptor before its children, as containerd's images.Walk.
    while let Some((desc, depth)) = stack.pop() {
        visits += 1;
        if visits > MAX_WALK_VISITS || depth > MAX_WALK_DEPTH {
            return (size, Some(walk_too_large(img, visits, depth)));
        }
        if desc.size < 0 {
            return (
                size,
                Some(Error::corrupt(format!("invalid size {} in {} ({})", desc.size, desc.digest, desc.media_type))),
            );
        }
        size += desc.size;
        let mut kids = match children(cs, &desc).await {
            Ok(k) => k,
            Err(e) => return (size, Some(e)),
        };
        // FilterPlatforms, then LimitManifests(…, 1) on an index.
        kids.retain(|k| k.platform.as_ref().is_none_or(default_match));
        if oci::is_index(&desc.media_type) {
            // Stable sort, platform-less manifests last.
            kids.sort_by(|a, b| match (&a.platform, &b.platform) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(_), None) => std::cmp::Ordering::Less,
                (Some(pa), Some(pb)) if default_less(pa, pb) => std::cmp::Ordering::Less,
                (Some(pa), Some(pb)) if default_less(pb, pa) => std::cmp::Ordering::Greater,
                _ => std::cmp::Ordering::Equal,
            });
            if kids.is_empty() {
                return (size, Some(Error::not_found("no match for platform in manifest: not found")));
            }
            kids.truncate(1);
        }
        stack.extend(kids.into_iter().rev().map(|k| (k, depth + 1)));
    }
    (size, None)
}

/// `images.Platforms`: platforms of index entries (without descending into them, skipping
/// `unknown` attestation entries), else the normalized platform of each config reached.
///
/// The walk visits each descriptor once: the rows show the platforms sorted and deduplicated,
/// so a descriptor met again (an index DAG listing the same index many times) adds nothing.
/// It stops with an error past [`MAX_WALK_DEPTH`] levels or [`MAX_WALK_VISITS`] distinct
/// descriptors (ctr's walk has neither bound and runs for minutes on such graphs).
async fn image_platforms<B: Backend + Clone>(cs: &ContentStore<B>, img: &Image) -> Result<Vec<Platform>> {
    let mut found = Vec::new();
    let mut seen: HashSet<(String, Digest, Option<String>)> = HashSet::new();
    let mut stack = vec![(target_descriptor(img)?, 0usize)];
    while let Some((desc, depth)) = stack.pop() {
        let platform_key = desc.platform.as_ref().map(format_platform);
        if !seen.insert((desc.media_type.clone(), desc.digest.clone(), platform_key)) {
            continue;
        }
        if seen.len() > MAX_WALK_VISITS || depth > MAX_WALK_DEPTH {
            return Err(walk_too_large(img, seen.len(), depth));
        }
        if let Some(p) = &desc.platform {
            if p.os != "unknown" && p.architecture != "unknown" {
                found.push(p.clone());
            }
            continue;
        }
        if oci::is_config(&desc.media_type) {
            let bytes = cs.read_all(&desc.digest).await?;
            let p: Platform =
                serde_json::from_slice(&bytes).map_err(|e| Error::corrupt(format!("{}: {e}", desc.digest)))?;
            found.push(normalize(&p));
        }
        stack.extend(children(cs, &desc).await?.into_iter().rev().map(|k| (k, depth + 1)));
    }
    Ok(found)
}

/// Deepest descriptor nesting walked (real images: index → manifest → layers, 3 or 4).
pub const MAX_WALK_DEPTH: usize = 32;
/// Most descriptors visited for one image.
pub const MAX_WALK_VISITS: usize = 100_000;

fn walk_too_large(img: &Image, visits: usize, depth: usize) -> Error {
    Error::exhausted(format!(
        "image {:?}: its descriptor graph is too large to walk (more than {MAX_WALK_VISITS} descriptors \
         or deeper than {MAX_WALK_DEPTH} levels; stopped at {visits} descriptors, depth {depth})",
        img.name
    ))
}

// ---- rows and their text ----------------------------------------------------------------------

/// One row of `ctr images ls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRow {
    pub name: String,
    pub media_type: String,
    pub digest: String,
    /// Bytes summed by the SIZE walk (partial if `size_error` is set).
    pub size: i64,
    /// Why the SIZE walk stopped early (ctr logs this and prints the row anyway).
    pub size_error: Option<Error>,
    /// `os/arch[/variant]` sorted and comma-joined, or `-`.
    pub platforms: String,
    /// Sorted `k=v` comma-joined, or `-`.
    pub labels: String,
}

impl ImageRow {
    /// The six cells as ctr prints them.
    pub fn cells(&self) -> [String; 6] {
        [
            self.name.clone(),
            self.media_type.clone(),
            self.digest.clone(),
            format_size(self.size),
            self.platforms.clone(),
            self.labels.clone(),
        ]
    }
}

/// The `ctr images ls` rows of `images`, reading blobs from the namespace's content store.
pub async fn image_rows<B: Backend + Clone>(cs: &ContentStore<B>, images: &[Image]) -> Vec<ImageRow> {
    let mut rows = Vec::with_capacity(images.len());
    for img in images {
        let (size, size_error) = image_size(cs, img).await;
        let platforms = match image_platforms(cs, img).await {
            Ok(ps) if !ps.is_empty() => {
                let mut names: Vec<String> = ps.iter().map(format_platform).collect();
                names.sort();
                names.dedup();
                names.join(",")
            }
            _ => "-".into(),
        };
        rows.push(ImageRow {
            name: img.name.clone(),
            media_type: img.target.media_type.clone(),
            digest: img.target.digest.clone(),
            size,
            size_error,
            platforms,
            labels: labels::display(&img.labels),
        });
    }
    rows
}

/// The whole `ctr images ls` output: Go's tabwriter (minwidth 1, padding 1, pad with
/// spaces), every cell, the last one included, padded to its column's width.
pub fn render_images_table(rows: &[ImageRow]) -> String {
    let header = ["REF", "TYPE", "DIGEST", "SIZE", "PLATFORMS", "LABELS"].map(String::from);
    let lines: Vec<[String; 6]> = std::iter::once(header).chain(rows.iter().map(ImageRow::cells)).collect();
    let mut widths = [0usize; 6];
    for line in &lines {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count() + 1);
        }
    }
    let mut out = String::new();
    for line in &lines {
        for (w, cell) in widths.iter().zip(line) {
            out.push_str(cell);
            out.push_str(&" ".repeat(w - cell.chars().count()));
        }
        out.push('\n');
    }
    out
}

/// containerd's `progress.Bytes`: `units.CustomSize("%02.1f %s", size, 1024, B KiB MiB …)`.
pub fn format_size(bytes: i64) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    let (value, unit) = go_units::scale(bytes as f64, 1024.0, &UNITS);
    format!("{value:.1} {unit}")
}

/// One row of `ctr content ls` (AGE depends on the clock, so the row keeps the time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentRow {
    pub digest: String,
    /// `HumanSize` of the size.
    pub size: String,
    pub created_at: GoTime,
    /// `k=v` comma-joined (ctr's order is Go's random map order; ours is sorted), or `-`.
    pub labels: String,
}

pub fn content_rows(infos: &[Info]) -> Vec<ContentRow> {
    infos
        .iter()
        .map(|i| ContentRow {
            digest: i.digest.to_string(),
            size: human_size(i.size),
            created_at: i.created_at,
            labels: labels::display(&i.labels),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_formats() {
        assert_eq!(format_size(0), "0.0 B");
        assert_eq!(format_size(422), "422.0 B");
        assert_eq!(format_size(1024), "1.0 KiB");
        assert_eq!(format_size(1280), "1.2 KiB"); // a tie rounds to even, as Go's strconv
        assert_eq!(format_size(2_000_000), "1.9 MiB");
    }

    #[test]
    fn platform_rules() {
        let p = |os: &str, arch: &str, variant: &str| Platform {
            os: os.into(),
            architecture: arch.into(),
            variant: variant.into(),
            ..Default::default()
        };
        assert!(default_match(&p("linux", "amd64", "")));
        assert!(default_match(&p("Linux", "x86_64", "v1")));
        assert!(default_match(&p("", "386", "")));
        assert!(!default_match(&p("linux", "amd64", "v2")));
        assert!(!default_match(&p("linux", "arm64", "")));
        assert!(!default_match(&p("windows", "amd64", "")));
        assert!(default_less(&p("linux", "amd64", ""), &p("linux", "386", "")));
        assert!(!default_less(&p("linux", "386", ""), &p("linux", "amd64", "")));
        assert_eq!(format_platform(&p("linux", "arm", "v7")), "linux/arm/v7");
        assert_eq!(format_platform(&p("", "arm", "v7")), "unknown");
        assert_eq!(format_platform(&normalize(&p("linux", "arm", ""))), "linux/arm/v7");
    }
}
