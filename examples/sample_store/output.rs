//! Writes a [`SampleStore`] as a tar of `/var/lib/docker/image/<driver>/`: `imagedb/`,
//! `layerdb/`, `repositories.json` and `distribution/`, laid out as dockerd leaves them.

use super::store::SampleStore;
use std::collections::BTreeMap;
use std::io::{self, Write};

pub fn write_store_tar<W: Write>(store: &SampleStore, out: W, mtime: u64) -> io::Result<W> {
    let mut t = TarOut { b: tar::Builder::new(out), mtime };
    for dir in
        ["imagedb/", "imagedb/content/", "imagedb/content/sha256/", "imagedb/metadata/", "imagedb/metadata/sha256/"]
    {
        t.dir(dir)?;
    }
    for img in &store.images {
        t.file(&format!("imagedb/content/sha256/{}", img.id.hex()), &img.config, 0o600)?;
    }
    for img in store.images.iter().filter(|i| i.parent.is_some() || i.last_updated.is_some()) {
        let dir = format!("imagedb/metadata/sha256/{}/", img.id.hex());
        t.dir(&dir)?;
        if let Some(p) = &img.parent {
            t.file(&format!("{dir}parent"), p.as_str().as_bytes(), 0o600)?;
        }
        if let Some(when) = &img.last_updated {
            t.file(&format!("{dir}lastUpdated"), when.as_bytes(), 0o600)?;
        }
    }
    t.dir("layerdb/")?;
    t.dir("layerdb/sha256/")?;
    t.dir("layerdb/tmp/")?;
    for (chain, layer) in &store.layers {
        let dir = format!("layerdb/sha256/{}/", chain.hex());
        t.dir(&dir)?;
        t.file(&format!("{dir}diff"), layer.diff_id.as_str().as_bytes(), 0o644)?;
        t.file(&format!("{dir}size"), layer.size.to_string().as_bytes(), 0o644)?;
        t.file(&format!("{dir}cache-id"), layer.cache_id.as_bytes(), 0o644)?;
        if let Some(p) = &layer.parent {
            t.file(&format!("{dir}parent"), p.as_str().as_bytes(), 0o644)?;
        }
        t.file(&format!("{dir}tar-split.json.gz"), &layer.tar_split_gz, 0o644)?;
    }
    t.file("repositories.json", &repositories_json(store), 0o600)?;
    t.dir("distribution/")?;
    t.dir("distribution/diffid-by-digest/")?;
    t.dir("distribution/diffid-by-digest/sha256/")?;
    for (blob_hex, diff) in &store.diffid_by_digest {
        t.file(&format!("distribution/diffid-by-digest/sha256/{blob_hex}"), diff.as_str().as_bytes(), 0o644)?;
    }
    t.b.into_inner()
}

/// `{"Repositories":{name:{ref:id}}}` with keys sorted, as Go marshals maps.
fn repositories_json(store: &SampleStore) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Repos<'a> {
        #[serde(rename = "Repositories")]
        repositories: &'a BTreeMap<String, BTreeMap<String, imagestore::Digest>>,
    }
    serde_json::to_vec(&Repos { repositories: &store.repositories }).expect("repositories serialize")
}

struct TarOut<W: Write> {
    b: tar::Builder<W>,
    mtime: u64,
}

impl<W: Write> TarOut<W> {
    fn header(&self, kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(self.mtime);
        h.set_uid(0);
        h.set_gid(0);
        h
    }

    fn dir(&mut self, path: &str) -> io::Result<()> {
        let mut h = self.header(tar::EntryType::Directory, 0, 0o700);
        self.b.append_data(&mut h, path, io::empty())
    }

    fn file(&mut self, path: &str, data: &[u8], mode: u32) -> io::Result<()> {
        let mut h = self.header(tar::EntryType::Regular, data.len() as u64, mode);
        self.b.append_data(&mut h, path, data)
    }
}
