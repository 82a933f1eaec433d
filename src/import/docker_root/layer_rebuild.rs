//! Rebuilds the layer tars of a restored Docker image store from its tar-splits and the
//! graph driver folders of the upload, as dockerd does for `docker save` (the layer store's
//! `TarStream`: tar-split's assembler fed the files of the layer's folder). Headers, padding
//! and the trailer come from the tar-split; every member's data from the folder. overlay2
//! whiteouts (0:0 character devices) and opaque directories (an xattr) never need bytes:
//! their `.wh.` members are header-only in the tar-split.
//!
//! A layer counts only if the rebuilt tar hashes to its DiffID; it is then staged as a blob
//! by digest like the tars of a `docker load`. Otherwise the layer is reported (its DiffID,
//! the first path that is missing or differs, or the digest mismatch) and stays without
//! contents: its images are restored all the same.
//!
//! Memory: one layer's tar-split pieces at a time (headers, about 1.5 KiB a member) and one
//! chunk of file data.

use super::driver_dirs::{layer_dirs, missing_reason, Spool, DRIVERS};
use super::paths::components;
use crate::digest::Digest;
use crate::docker::layer_blobs::{Compression, LayerBlobRecord};
use crate::docker::model::{ContentProblem, DockerImport, LayerRecord};
use crate::error::Result;
use crate::formats::tar_split::{visit_pieces, Piece};
use crate::formats::tar_split_writer::crc64_update;
use crate::storage::blobs::{self, BlobWriter, StagedBlob, CHUNK_SIZE};
use crate::storage::Backend;
use std::collections::BTreeSet;

/// Rebuilds what it can of `import`'s layers (a store read from `root`, e.g.
/// `docker/image/overlay2/`) and adds them to `import.layer_blobs`. Returns the problems.
pub(crate) async fn rebuild_layers<B: Backend>(
    b: &B,
    import: &mut DockerImport,
    root: &str,
    spool: &Spool,
) -> Result<Vec<ContentProblem>> {
    let mut problems = Vec::new();
    let parts = components(root).unwrap_or_default();
    let [.., "image", driver] = parts.as_slice() else { return Ok(problems) };
    let docker_root: String = parts[..parts.len() - 2].iter().map(|p| format!("{p}/")).collect();
    // No folder of this root's driver in the upload: it holds the image store only.
    if !DRIVERS.contains(driver) || !spool.drivers.contains(&format!("{docker_root}{driver}")) {
        return Ok(problems);
    }
    let mut done: BTreeSet<Digest> = import.layer_blobs.iter().map(|(r, _)| r.diff_id.clone()).collect();
    let layers: Vec<LayerRecord> = import.layers.clone();
    for layer in &layers {
        if done.contains(&layer.diff_id) {
            continue;
        }
        let problem =
            |path: String, reason: String| ContentProblem { diff_id: layer.diff_id.to_string(), path, reason };
        let dirs: Vec<String> =
            layer_dirs(driver, &layer.cache_id).iter().map(|d| format!("{docker_root}{d}")).collect();
        if dirs.is_empty() {
            problems.push(problem(String::new(), format!("cache-id {:?} names no layer folder", layer.cache_id)));
            continue;
        }
        let Some(dir) = dirs.iter().find(|d| spool.dirs.contains(*d)).cloned() else {
            problems.push(problem(dirs[0].clone(), missing_reason(driver).into()));
            continue;
        };
        let Some(split) = layer.tar_split.as_ref().and_then(|d| import.tar_splits.iter().find(|s| &s.digest == d))
        else {
            problems.push(problem(dir, "the layer has no tar-split.json.gz to rebuild its tar from".into()));
            continue;
        };
        match rebuild_one(b, split, &dir, spool, &layer.diff_id).await? {
            Ok(staged) => {
                done.insert(layer.diff_id.clone());
                let record = LayerBlobRecord {
                    diff_id: layer.diff_id.clone(),
                    blob: layer.diff_id.clone(),
                    compression: Compression::None,
                    size: staged.size,
                };
                import.layer_blobs.push((record, staged));
            }
            Err((path, reason)) => problems.push(problem(path, reason)),
        }
    }
    // A DiffID shared by several layers is reported once, and not at all if one of them made it.
    let mut seen = BTreeSet::new();
    problems.retain(|p| {
        let d = Digest::parse(&p.diff_id).ok();
        d.is_none_or(|d| !done.contains(&d)) && seen.insert(p.diff_id.clone())
    });
    Ok(problems)
}

/// One layer: `Ok(Ok(blob))` when the tar hashes to `diff_id`, `Ok(Err((path, why)))` when
/// it cannot be rebuilt (nothing stays staged), `Err` on a storage failure.
async fn rebuild_one<B: Backend>(
    b: &B,
    split: &StagedBlob,
    dir: &str,
    spool: &Spool,
    diff_id: &Digest,
) -> Result<std::result::Result<StagedBlob, (String, String)>> {
    let gz = blobs::read_staged(b, split, 0, split.size).await?;
    let mut pieces = Vec::new();
    if let Err(e) = visit_pieces(gz.as_slice(), |p| {
        pieces.push(p);
        Ok(())
    }) {
        return Ok(Err(("tar-split.json.gz".into(), e.message)));
    }
    drop(gz);
    let mut w = BlobWriter::new();
    for piece in pieces {
        let failed = match piece {
            Piece::Segment(bytes) => {
                w.write(b, &bytes).await?;
                None
            }
            Piece::File { size: 0, .. } => None,
            Piece::File { name, size, crc64 } => copy_file(b, &mut w, dir, spool, &name, size, crc64).await?,
        };
        if let Some(why) = failed {
            w.abort(b).await?;
            return Ok(Err(why));
        }
    }
    let staged = w.finish(b, None, None).await?;
    if &staged.digest != diff_id {
        blobs::discard(b, &staged.set).await?;
        return Ok(Err((String::new(), format!("the rebuilt layer tar is {}, not its DiffID", staged.digest))));
    }
    Ok(Ok(staged))
}

/// Copies the data of member `name` from the layer folder; `Some((path, why))` if it is
/// missing or is not what the tar-split recorded.
async fn copy_file<B: Backend>(
    b: &B,
    w: &mut BlobWriter,
    dir: &str,
    spool: &Spool,
    name: &[u8],
    size: u64,
    crc64: Option<u64>,
) -> Result<Option<(String, String)>> {
    let shown = String::from_utf8_lossy(name).into_owned();
    let rel = components(&shown).map(|p| p.join("/")).unwrap_or_default();
    let (Some(loc), Some(blob)) = (spool.files.get(&format!("{dir}/{rel}")), spool.blob.as_ref()) else {
        return Ok(Some((shown, format!("missing from the layer folder {dir}"))));
    };
    if loc.len != size {
        return Ok(Some((shown, format!("{} bytes in the layer folder, {size} in the layer tar", loc.len))));
    }
    let mut crc = 0u64;
    let mut at = 0u64;
    while at < size {
        let n = (size - at).min(CHUNK_SIZE as u64);
        let bytes = blobs::read_staged(b, blob, loc.offset + at, n).await?;
        crc = crc64_update(crc, &bytes);
        w.write(b, &bytes).await?;
        at += n;
    }
    if crc64.is_some_and(|want| want != crc) {
        return Ok(Some((shown, "its bytes in the layer folder differ from the layer tar's (CRC-64)".into())));
    }
    Ok(None)
}
