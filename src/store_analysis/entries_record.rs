//! The analysis entries of a layer, persisted (`analysis/entries/<digest>`, the digest of the
//! tar-split or layer blob they were read from): what the analyses and file listings read of
//! each tar member (name, typeflag, size, mode, owner ids and names, modification time, link
//! target, device numbers, CRC-64, data offset; not xattrs) in a compact binary form; reading a
//! file of an image builds its merged tree from these too, and `layerFiles` lists them. A
//! `tar-split.json.gz` spends ~850 bytes of JSON and base64 per member and must be inflated and
//! decoded whole; this record is ~40 bytes a member and decodes in one pass, so an analysis after
//! a reload does not re-read tar-splits. Derived data: a record that is missing, of another
//! version or fails its checksum is ignored and rewritten from the layer.
//!
//! A record is `ISEN`, a version byte, the CRC-32 of the body (4 bytes, little endian), then the
//! body: the member count, then per member (in tar order) the length of the name prefix shared
//! with the previous member's name, the rest of the name, the typeflag byte, size, mode, uid,
//! gid (zigzag varints), the user and group names (each 0 when the previous member's, else its
//! length + 1 and its bytes), the modification time (Unix seconds as a zigzag varint,
//! nanoseconds, then 0 for UTC or 1 and the zone's offset in seconds as a zigzag varint), the
//! link target (length + bytes), the device major and minor numbers (zigzag varints), a CRC
//! flag byte (0 none, 1 then 8 bytes big endian), and the data offset as a zigzag varint
//! difference from the previous member's. Lengths and counts are LEB128 varints. Version 1 had
//! no offsets, version 2 no names, times or device numbers (both are rewritten when met).

use crate::error::{Error, Result};
use crate::formats::gotime::{GoTime, Zone};
use crate::formats::tar_split::{EntryKind, TarEntry};
use crate::storage::record_frame::{FrameError, RecordFrame};
use crate::storage::varint::{put_ivarint, put_uvarint, VarintReader};
use std::collections::BTreeMap;
use std::rc::Rc;

const FRAME: RecordFrame = RecordFrame::with_u8_version(b"ISEN", 3);

/// A user or group name: 0 when it is the previous member's, else its length + 1 and bytes.
fn put_name(record: &mut Vec<u8>, name: &str, previous: &str) {
    if name == previous {
        record.push(0);
    } else {
        put_uvarint(record, name.len() as u64 + 1);
        record.extend_from_slice(name.as_bytes());
    }
}

/// Reads what [`put_name`] wrote into `name` (left as it is, shared, for the previous member's).
fn read_name(r: &mut VarintReader<'_>, name: &mut Rc<str>) -> Result<()> {
    if let n @ 1.. = r.length()? {
        *name = Rc::from(
            std::str::from_utf8(r.take(n - 1)?)
                .map_err(|_| Error::corrupt("analysis entries record: a user or group name is not UTF-8"))?,
        );
    }
    Ok(())
}

/// The record bytes of a layer's entries.
pub fn encode(entries: &[TarEntry]) -> Vec<u8> {
    let mut record = FRAME.begin(entries.len() * 48);
    put_uvarint(&mut record, entries.len() as u64);
    let mut previous: &[u8] = &[];
    let mut previous_offset = 0u64;
    let (mut uname, mut gname) = ("", "");
    for e in entries {
        let shared = previous.iter().zip(&e.name_bytes).take_while(|(a, b)| a == b).count();
        put_uvarint(&mut record, shared as u64);
        put_uvarint(&mut record, (e.name_bytes.len() - shared) as u64);
        record.extend_from_slice(&e.name_bytes[shared..]);
        record.push(e.typeflag);
        for v in [e.size, e.mode, e.uid, e.gid] {
            put_ivarint(&mut record, v);
        }
        put_name(&mut record, &e.uname, uname);
        put_name(&mut record, &e.gname, gname);
        (uname, gname) = (&e.uname, &e.gname);
        put_ivarint(&mut record, e.mtime.unix());
        put_uvarint(&mut record, u64::from(e.mtime.nanos()));
        match e.mtime.zone() {
            Zone::Utc => record.push(0),
            Zone::Fixed(offset) => {
                record.push(1);
                put_ivarint(&mut record, i64::from(offset));
            }
        }
        put_uvarint(&mut record, e.linkname_bytes.len() as u64);
        record.extend_from_slice(&e.linkname_bytes);
        put_ivarint(&mut record, e.devmajor);
        put_ivarint(&mut record, e.devminor);
        match e.crc64 {
            None => record.push(0),
            Some(crc) => {
                record.push(1);
                record.extend_from_slice(&crc.to_be_bytes());
            }
        }
        put_ivarint(&mut record, e.data_offset.wrapping_sub(previous_offset) as i64);
        previous_offset = e.data_offset;
        previous = &e.name_bytes;
    }
    FRAME.seal(&mut record);
    record
}

/// The entries a record holds (the fields [`encode`] keeps; xattrs are empty);
/// `data_corrupt` for anything but a whole record of this version.
pub fn decode(bytes: &[u8]) -> Result<Vec<TarEntry>> {
    let body = FRAME.open(bytes).map_err(|why| match why {
        FrameError::Checksum => Error::corrupt("analysis entries record: checksum mismatch"),
        _ => Error::corrupt("analysis entries record: not a version 3 record"),
    })?;
    let mut r = VarintReader::new(body, "analysis entries record");
    let count = r.length()?;
    // Each member takes at least 9 bytes: a bad count cannot make a huge allocation.
    let mut out = Vec::with_capacity(count.min(body.len() / 9));
    let mut previous: Vec<u8> = Vec::new();
    let mut previous_offset = 0u64;
    let (mut uname, mut gname): (Rc<str>, Rc<str>) = (Rc::from(""), Rc::from(""));
    for _ in 0..count {
        let shared = r.length()?;
        if shared > previous.len() {
            return Err(Error::corrupt("analysis entries record: bad name prefix"));
        }
        let rest = r.length()?;
        let mut name = Vec::with_capacity(shared + rest);
        name.extend_from_slice(&previous[..shared]);
        name.extend_from_slice(r.take(rest)?);
        let typeflag = r.byte()?;
        let (size, mode, uid, gid) = (r.ivarint()?, r.ivarint()?, r.ivarint()?, r.ivarint()?);
        read_name(&mut r, &mut uname)?;
        read_name(&mut r, &mut gname)?;
        let unix = r.ivarint()?;
        let nanos = u32::try_from(r.uvarint()?)
            .ok()
            .filter(|n| *n < 1_000_000_000)
            .ok_or_else(|| Error::corrupt("analysis entries record: bad nanoseconds"))?;
        let zone = match r.byte()? {
            0 => Zone::Utc,
            1 => Zone::Fixed(
                i32::try_from(r.ivarint()?).map_err(|_| Error::corrupt("analysis entries record: bad zone offset"))?,
            ),
            other => return Err(Error::corrupt(format!("analysis entries record: zone flag {other}"))),
        };
        let link_len = r.length()?;
        let linkname_bytes = r.take(link_len)?.to_vec();
        let (devmajor, devminor) = (r.ivarint()?, r.ivarint()?);
        let crc64 = match r.byte()? {
            0 => None,
            1 => Some(u64::from_be_bytes(r.take(8)?.try_into().expect("8 bytes"))),
            other => return Err(Error::corrupt(format!("analysis entries record: CRC flag {other}"))),
        };
        let data_offset = previous_offset.wrapping_add(r.ivarint()? as u64);
        previous_offset = data_offset;
        previous.clone_from(&name);
        out.push(TarEntry {
            kind: EntryKind::from_typeflag(typeflag, &name),
            name_bytes: name,
            typeflag,
            size,
            mode,
            uid,
            gid,
            uname: uname.clone(),
            gname: gname.clone(),
            mtime: GoTime::from_unix(unix, nanos).in_zone(zone),
            linkname_bytes,
            devmajor,
            devminor,
            xattrs: BTreeMap::new(),
            crc64,
            data_offset,
        });
    }
    if !r.at_end() {
        return Err(Error::corrupt("analysis entries record: bytes after the last member"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_what_analysis_reads() {
        let mut a = TarEntry::for_test("usr/bin/env", EntryKind::File, 1234);
        a.crc64 = Some(0xdead_beef_0123_4567);
        a.mode = 0o4755;
        a.uid = 1000;
        a.gid = -1;
        (a.uname, a.gname) = ("dev".into(), "staff".into());
        a.mtime = GoTime::from_unix(1_700_000_000, 123_456_789);
        let mut b = TarEntry::for_test("usr/bin/sh", EntryKind::Symlink, 0);
        b.linkname_bytes = b"/bin/busybox".to_vec();
        b.uname = "dev".into();
        b.mtime = GoTime::from_unix(-5, 0).in_zone(Zone::Fixed(-3600));
        let mut c = TarEntry::for_test("usr/", EntryKind::Dir, 0);
        (c.devmajor, c.devminor, c.mtime) = (8, 1 << 20, GoTime::ZERO);
        let mut odd = TarEntry::for_test("caf\u{e9}\u{0}x", EntryKind::Other(b'g'), i64::MAX);
        odd.name_bytes.push(0xff);
        // Data offsets in tar order, and any u64 (a damaged tar-split's, say) round-trips.
        (a.data_offset, b.data_offset, odd.data_offset) = (512, 2048, u64::MAX);
        let c = TarEntry { data_offset: 2560, ..c };
        let entries = vec![a, b, c, odd];
        let bytes = encode(&entries);
        assert_eq!(decode(&bytes).unwrap(), entries);
        assert_eq!(decode(&encode(&[])).unwrap(), []);
        // Any damage is refused, never misread.
        for cut in [0, 4, FRAME.header_len(), bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[FRAME.header_len() + 3] ^= 1;
        assert_eq!(decode(&flipped).unwrap_err().code, crate::error::ErrorCode::DataCorrupt);
        // A version 1 or 2 record (no offsets; no names, times or device numbers) is refused,
        // so it is read again and rewritten.
        for old in [1, 2] {
            let mut v = bytes.clone();
            v[4] = old;
            assert!(decode(&v).unwrap_err().message.contains("version 3"));
        }
    }
}
