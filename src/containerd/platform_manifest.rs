//! The manifest an image runs as on linux/amd64: containerd's `images.Manifest(ctx, cs,
//! image, platforms.Default())`: a manifest target is the manifest itself; an index (or a
//! Docker manifest list) gives its best-matching entry, descending through nested indexes.

use super::content::ContentStore;
use super::images::Image;
use super::ls_view::{default_less, default_match, target_descriptor, MAX_WALK_DEPTH};
use crate::error::{Error, Result};
use crate::formats::oci::{self, Manifest};
use crate::storage::Backend;

/// The image's manifest for the default platform, read from the namespace's content store.
pub async fn default_manifest<B: Backend + Clone>(cs: &ContentStore<B>, img: &Image) -> Result<Manifest> {
    let mut desc = target_descriptor(img)?;
    for _ in 0..=MAX_WALK_DEPTH {
        let at = |e: Error| e.context(format!("image {:?}: {}", img.name, desc.digest));
        if oci::is_manifest(&desc.media_type) {
            let blob = cs.read_all(&desc.digest).await.map_err(at)?;
            return oci::parse_manifest(&blob, &desc.media_type).map_err(at);
        }
        if !oci::is_index(&desc.media_type) {
            return Err(Error::unsupported(format!(
                "image {:?}: target {} is a {} (not a manifest or an index)",
                img.name, desc.digest, desc.media_type
            )));
        }
        let blob = cs.read_all(&desc.digest).await.map_err(at)?;
        let index = oci::parse_index(&blob, &desc.media_type).map_err(at)?;
        let mut best = None;
        for m in index.manifests {
            if !m.platform.as_ref().is_none_or(default_match) {
                continue;
            }
            // The first best match wins; platform-less entries only when nothing else matches.
            let better = match (&best, &m.platform) {
                (None, _) => true,
                (Some(oci::Descriptor { platform: None, .. }), Some(_)) => true,
                (Some(oci::Descriptor { platform: Some(b), .. }), Some(p)) => default_less(p, b),
                _ => false,
            };
            if better {
                best = Some(m);
            }
        }
        desc = best.ok_or_else(|| {
            Error::not_found(format!(
                "image {:?}: no match for platform linux/amd64 in manifest {}",
                img.name, desc.digest
            ))
        })?;
    }
    Err(Error::exhausted(format!("image {:?}: indexes nested deeper than {MAX_WALK_DEPTH} levels", img.name)))
}
