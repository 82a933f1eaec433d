//! The tar entries of a layer kept only as a blob (a containerd image's layer: gzip or plain
//! tar), as a tar-split would list them: the blob is read chunk by chunk, inflated, and run
//! through the tar-split writer (which computes each file's CRC-64), then parsed back. The
//! uncompressed tar must hash to the DiffID the image config names.

use crate::digest::{Digest, Sha256Hasher};
use crate::error::{Error, Result};
use crate::formats::oci::{layer_compression, LayerCompression};
use crate::formats::tar_split::{parse_tar_split, TarEntry};
use crate::formats::tar_split_writer::TarSplitWriter;
use crate::import::stream::gzip::Decompressor;
use crate::storage::blobs::{self, CHUNK_SIZE};
use crate::storage::Backend;

/// The entries of layer blob `blob` (media type `media_type`) whose tar is `diff_id`.
pub(crate) async fn layer_blob_entries<B: Backend>(
    b: &B,
    blob: &Digest,
    media_type: &str,
    diff_id: &Digest,
) -> Result<Vec<TarEntry>> {
    let at = |e: Error| e.context(format!("layer {blob} (DiffID {diff_id})"));
    if layer_compression(media_type).map_err(at)? == LayerCompression::Zstd {
        return Err(at(Error::unsupported(format!(
            "{media_type}: zstd layers are not supported (gzip and plain tar are)"
        ))));
    }
    let record = blobs::stat(b, blob)
        .await?
        .ok_or_else(|| at(Error::not_found("the layer's blob is not in the store, so its files are unknown")))?;
    let (mut inflate, mut hash, mut split) = (Decompressor::new(), Sha256Hasher::new(), TarSplitWriter::new());
    let mut gz = Vec::new();
    let mut offset = 0u64;
    while offset < record.size {
        let chunk = blobs::read_range(b, blob, offset, CHUNK_SIZE as u64).await?;
        if chunk.is_empty() {
            return Err(at(Error::corrupt(format!("blob ends at {offset} of {} bytes", record.size))));
        }
        offset += chunk.len() as u64;
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            let (used, tar) = inflate.feed(rest).map_err(at)?;
            rest = &rest[used..];
            hash.update(tar);
            split.write(tar).map_err(at)?;
        }
        gz.extend(split.take_output());
    }
    let tail = inflate.finish().map_err(at)?;
    hash.update(tail);
    split.write(tail).map_err(at)?;
    gz.extend(split.take_output());
    gz.extend(split.finish().map_err(at)?);
    let got = hash.finish();
    if &got != diff_id {
        return Err(at(Error::corrupt(format!(
            "the uncompressed layer is {got}, not the DiffID its image config names"
        ))));
    }
    Ok(parse_tar_split(&gz[..]).map_err(at)?.entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::oci::{DOCKER_LAYER_GZIP, OCI_LAYER};
    use crate::storage::memory::MemoryBackend;
    use futures::executor::block_on;
    use std::io::Write;

    fn layer_tar() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in [("etc/hosts", &b"127.0.0.1 localhost\n"[..]), ("bin/tool", &[7u8; 3_000_000][..])] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o755);
            b.append_data(&mut h, name, data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn store(b: &MemoryBackend, bytes: &[u8]) -> Digest {
        block_on(async {
            let staged = blobs::stage_bytes(b, bytes).await.unwrap();
            let mut ops = staged.ops.clone();
            crate::storage::blob_packs::pack_commit(b, &mut ops).await.unwrap();
            b.commit(ops).await.unwrap();
            staged.digest
        })
    }

    #[test]
    fn gzip_and_plain_blobs_list_the_tar_split_entries_and_check_the_diff_id() {
        let b = MemoryBackend::new();
        let tar = layer_tar();
        let diff_id = Digest::sha256_of(&tar);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let (plain, gzip) = (store(&b, &tar), store(&b, &gz.finish().unwrap()));
        let mut want = TarSplitWriter::new();
        want.write(&tar).unwrap();
        let mut split = want.take_output();
        split.extend(want.finish().unwrap());
        let want = parse_tar_split(&split[..]).unwrap().entries;
        assert_eq!(want.len(), 2);
        assert!(want[1].crc64.is_some());
        assert_eq!(block_on(layer_blob_entries(&b, &plain, OCI_LAYER, &diff_id)).unwrap(), want);
        assert_eq!(block_on(layer_blob_entries(&b, &gzip, DOCKER_LAYER_GZIP, &diff_id)).unwrap(), want);
        let other = Digest::sha256_of(b"another tar");
        let e = block_on(layer_blob_entries(&b, &gzip, DOCKER_LAYER_GZIP, &other)).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::DataCorrupt);
        assert!(e.to_string().contains(&other.to_string()) && e.to_string().contains("DiffID"), "{e}");
        let e = block_on(layer_blob_entries(&b, &other, OCI_LAYER, &diff_id)).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::NotFound, "{e}");
        let e = block_on(layer_blob_entries(&b, &gzip, "application/vnd.oci.image.layer.v1.tar+zstd", &diff_id));
        assert_eq!(e.unwrap_err().code, crate::ErrorCode::UnsupportedFormat);
    }
}
