//! Many small (key, value) entries in one record: the layout shared by the Docker view's
//! packed record shards ([`crate::docker::packed`]) and the blob packs ([`super::blob_packs`]).
//! IndexedDB's cost is mostly per record, so a store of 10,000 images keeps its small things a
//! few hundred to a record.
//!
//! Layout (little-endian): the kind's record frame ([`RecordFrame`]), then the body: `u32
//! count` and per entry, in key order, `u32 len, key` and `u32 len, value`.

use crate::error::{Error, Result};
use crate::storage::record_frame::{FrameError, RecordFrame};
use std::collections::BTreeMap;

/// One kind of entry pack: its frame and the name its errors give it.
#[derive(Debug, Clone, Copy)]
pub struct EntryPack {
    pub frame: RecordFrame,
    /// What a record of this kind is called in a `data_corrupt` message ("packed record shard").
    pub what: &'static str,
}

impl EntryPack {
    /// Encodes one record from its entries.
    pub fn encode<V: AsRef<[u8]>>(&self, entries: &BTreeMap<String, V>) -> Vec<u8> {
        let size: usize = entries.iter().map(|(k, v)| 8 + k.len() + v.as_ref().len()).sum();
        let mut out = self.frame.begin(4 + size);
        out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
        for (k, v) in entries {
            let v = v.as_ref();
            out.extend_from_slice(&(k.len() as u32).to_le_bytes());
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            out.extend_from_slice(v);
        }
        self.frame.seal(&mut out);
        out
    }

    /// Decodes record `key` into its entries, in stored order; a record that is not of this
    /// kind and version, fails its checksum or is truncated is `data_corrupt`, naming `key`.
    pub fn decode<'r>(&self, key: &str, record: &'r [u8]) -> Result<Vec<(&'r str, &'r [u8])>> {
        let bad = |why: &str| Error::corrupt(format!("record {key:?} is unreadable: {why}"));
        let body = self.frame.open(record).map_err(|why| match why {
            FrameError::Foreign => bad(&format!("not a {}", self.what)),
            FrameError::Version(v) => {
                bad(&format!("{} version {v}, this build reads {}", self.what, self.frame.version))
            }
            FrameError::Checksum => bad("checksum mismatch"),
        })?;
        let u32_at =
            |at: usize| -> Option<usize> { Some(u32::from_le_bytes(body.get(at..at + 4)?.try_into().ok()?) as usize) };
        let count = u32_at(0).ok_or_else(|| bad(&format!("not a {}", self.what)))?;
        let mut at = 4;
        let mut out = Vec::with_capacity(count.min(body.len() / 8));
        let take = |at: &mut usize| -> Option<&[u8]> {
            let len = u32_at(*at)?;
            let bytes = body.get(*at + 4..(*at + 4).checked_add(len)?)?;
            *at += 4 + len;
            Some(bytes)
        };
        for _ in 0..count {
            let k = take(&mut at).ok_or_else(|| bad("truncated entry"))?;
            let k = std::str::from_utf8(k).map_err(|_| bad("a key is not UTF-8"))?;
            let v = take(&mut at).ok_or_else(|| bad("truncated entry"))?;
            out.push((k, v));
        }
        if at != body.len() {
            return Err(bad("trailing bytes"));
        }
        Ok(out)
    }

    /// Decodes record `key` into owned entries (see [`EntryPack::decode`]).
    pub fn decode_owned(&self, key: &str, record: &[u8]) -> Result<BTreeMap<String, Vec<u8>>> {
        Ok(self.decode(key, record)?.into_iter().map(|(k, v)| (k.to_string(), v.to_vec())).collect())
    }
}
