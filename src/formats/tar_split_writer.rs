//! Writes a layer's `tar-split.json.gz` from its uncompressed tar as it streams, in the
//! NDJSON format dockerd stores (vbatts/tar-split `asm.NewInputTarStream` with the JSON
//! packer): a segment (`type` 2) holding the raw header bytes of each member (with the
//! previous member's padding and any PAX/GNU extension headers before it), a file entry
//! (`type` 1: name, size, CRC-64/ISO of the data) per member, and a last segment with the
//! end-of-archive blocks and whatever follows them. [`crate::formats::tar_split`] reads it back.
//!
//! The same pass counts what the graph driver would report as the layer size: the bytes of
//! regular files (see `TarSplit::regular_file_bytes`).

use super::go_json;
use super::tar_header::EntryKind;
use super::tar_stream::{TarEvent, TarStream};
use crate::error::{Error, Result};
use base64::Engine as _;
use flate2::write::GzEncoder;
use std::io::Write;

/// The member whose data is being read: its name and size, and the CRC of its data so far.
struct Current {
    name: Vec<u8>,
    size: u64,
    crc: u64,
}

pub struct TarSplitWriter {
    tar: TarStream,
    /// Raw bytes not yet written as a segment.
    raw: Vec<u8>,
    current: Option<Current>,
    position: u64,
    gz: GzEncoder<Vec<u8>>,
    regular_bytes: i64,
}

impl Default for TarSplitWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl TarSplitWriter {
    pub fn new() -> Self {
        TarSplitWriter {
            tar: TarStream::new(),
            raw: Vec::new(),
            current: None,
            position: 0,
            gz: GzEncoder::new(Vec::new(), flate2::Compression::default()),
            regular_bytes: 0,
        }
    }

    /// Sum of regular file sizes seen so far.
    pub fn regular_bytes(&self) -> i64 {
        self.regular_bytes
    }

    /// Compressed output produced so far (drain it as it grows).
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(self.gz.get_mut())
    }

    /// Feeds the next piece of the layer tar.
    pub fn write(&mut self, mut input: &[u8]) -> Result<()> {
        while let Some(event) = self.tar.next(&mut input).map_err(layer_error)? {
            match event {
                TarEvent::Raw(bytes) => {
                    self.raw.extend_from_slice(bytes);
                    // Past the end blocks, trailing bytes need not wait for a member.
                    if self.raw.len() >= 1 << 20 {
                        self.flush_segment()?;
                    }
                }
                TarEvent::Member(m) => {
                    // The segment ends with the member's header (its extension headers and the
                    // previous member's padding before it).
                    self.flush_segment()?;
                    if m.kind == EntryKind::File {
                        self.regular_bytes += m.data_len as i64;
                    }
                    self.current = Some(Current { name: m.name, size: m.data_len, crc: 0 });
                }
                TarEvent::Data(data) => {
                    let current = self.current.as_mut().expect("data belongs to a member");
                    current.crc = crc64_update(current.crc, data);
                }
                TarEvent::MemberEnd => {
                    let Current { name, size, crc } = self.current.take().expect("a member ends");
                    self.file_entry(&name, size, (size > 0).then_some(crc))?;
                }
            }
        }
        Ok(())
    }

    /// Ends the tar: the last segment is written; returns the remaining compressed output. A
    /// tar may end without its end-of-archive blocks (as Go's reader allows), not inside a member.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        self.tar.finish().map_err(layer_error)?;
        self.flush_segment()?;
        self.gz.finish().map_err(compress_error)
    }

    /// Writes the raw bytes collected so far as a segment entry (if any).
    fn flush_segment(&mut self) -> Result<()> {
        if self.raw.is_empty() {
            return Ok(());
        }
        let payload = base64::engine::general_purpose::STANDARD.encode(&self.raw);
        let line = format!(r#"{{"type":2,"payload":"{payload}","position":{}}}"#, self.position);
        self.raw.clear();
        self.emit(line)
    }

    fn file_entry(&mut self, name: &[u8], size: u64, crc: Option<u64>) -> Result<()> {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let mut line = String::from(r#"{"type":1,"#);
        match std::str::from_utf8(name) {
            Ok(s) if !s.is_empty() => line.push_str(&format!(r#""name":{},"#, go_json::string(s))),
            Ok(_) => {}
            Err(_) => line.push_str(&format!(r#""name_raw":"{}","#, b64(name))),
        }
        if size > 0 {
            line.push_str(&format!(r#""size":{size},"#));
        }
        match crc {
            Some(c) => line.push_str(&format!(r#""payload":"{}","#, b64(&c.to_be_bytes()))),
            None => line.push_str(r#""payload":null,"#),
        }
        line.push_str(&format!(r#""position":{}}}"#, self.position));
        self.emit(line)
    }

    fn emit(&mut self, mut line: String) -> Result<()> {
        line.push('\n');
        self.position += 1;
        self.gz.write_all(line.as_bytes()).map_err(compress_error)
    }
}

/// The tar's errors, said of the layer: a layer whose first block is no tar header is
/// damaged, not an upload of an unknown format.
fn layer_error(e: Error) -> Error {
    Error::corrupt(e.message).context("layer tar")
}

/// Compressing into memory cannot fail but by a bug: not the upload's fault, so not
/// `data_corrupt`.
fn compress_error(e: std::io::Error) -> Error {
    Error::internal(format!("compressing the tar-split: {e}"))
}

/// CRC-64 with the ISO polynomial, as Go's `hash/crc64` (tar-split's file checksum). It runs
/// over every byte of file data, so it goes eight bytes a step ("slicing-by-8": table `k`
/// gives the CRC of a byte followed by `k` zero bytes).
pub(crate) fn crc64_update(crc: u64, data: &[u8]) -> u64 {
    const POLY: u64 = 0xD800_0000_0000_0000;
    static TABLES: std::sync::OnceLock<Box<[[u64; 256]; 8]>> = std::sync::OnceLock::new();
    let t = TABLES.get_or_init(|| {
        let mut t = Box::new([[0u64; 256]; 8]);
        for i in 0..256 {
            let mut c = i as u64;
            for _ in 0..8 {
                c = if c & 1 == 1 { (c >> 1) ^ POLY } else { c >> 1 };
            }
            t[0][i] = c;
        }
        for k in 1..8 {
            for i in 0..256 {
                let prev = t[k - 1][i];
                t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            }
        }
        t
    });
    let mut c = !crc;
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        c ^= u64::from_le_bytes(w.try_into().expect("8 bytes"));
        c = t[7][(c & 0xff) as usize]
            ^ t[6][((c >> 8) & 0xff) as usize]
            ^ t[5][((c >> 16) & 0xff) as usize]
            ^ t[4][((c >> 24) & 0xff) as usize]
            ^ t[3][((c >> 32) & 0xff) as usize]
            ^ t[2][((c >> 40) & 0xff) as usize]
            ^ t[1][((c >> 48) & 0xff) as usize]
            ^ t[0][(c >> 56) as usize];
    }
    for &b in words.remainder() {
        c = t[0][((c as u8) ^ b) as usize] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::tar_split::{parse_tar_split, EntryKind};

    fn layer() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |name: &str, data: &[u8], ty: tar::EntryType| {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(ty);
            b.append_data(&mut h, name, data).unwrap();
        };
        add("etc/", b"", tar::EntryType::Directory);
        add("etc/hosts", b"127.0.0.1 localhost\n", tar::EntryType::Regular);
        add(&format!("{}/long-name", "d".repeat(120)), &[7u8; 1000], tar::EntryType::Regular);
        add("empty", b"", tar::EntryType::Regular);
        b.into_inner().unwrap()
    }

    #[test]
    fn crc64_matches_go() {
        // The CRC-64/GO-ISO check value.
        assert_eq!(crc64_update(0, b"123456789"), 0xb909_56c7_75a4_1001);
        assert_eq!(crc64_update(crc64_update(0, b"hel"), b"lo"), crc64_update(0, b"hello"));
        // The eight-byte steps agree with the byte-wise definition at any split.
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
        let bytewise = data.iter().fold(0u64, |c, &b| crc64_update(c, &[b]));
        for split in [0, 1, 7, 8, 9, 500, 999] {
            assert_eq!(crc64_update(crc64_update(0, &data[..split]), &data[split..]), bytewise, "split at {split}");
        }
    }

    #[test]
    fn round_trips_through_the_reader_in_any_chunking() {
        let tar = layer();
        for step in [1, 100, 512, tar.len()] {
            let mut w = TarSplitWriter::new();
            let mut gz = Vec::new();
            for piece in tar.chunks(step) {
                w.write(piece).unwrap();
                gz.extend(w.take_output());
            }
            assert_eq!(w.regular_bytes(), 20 + 1000);
            gz.extend(w.finish().unwrap());
            let ts = parse_tar_split(&gz[..]).unwrap();
            assert_eq!(ts.tar_size, tar.len() as u64, "chunks of {step}");
            let names: Vec<String> = ts.entries.iter().map(|e| e.name().into_owned()).collect();
            assert_eq!(names[0], "etc/");
            assert_eq!(names[2], format!("{}/long-name", "d".repeat(120)));
            assert_eq!(ts.entries[1].kind, EntryKind::File);
            assert_eq!(ts.regular_file_bytes(), 1020);
        }
    }

    #[test]
    fn a_pax_global_header_is_a_member_of_its_own_as_in_go_tar_split() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::XGlobalHeader);
        h.set_size(12);
        b.append_data(&mut h, "pax_global_header", &b"12 comment=\n"[..]).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        b.append_data(&mut h, "f", &b"abc"[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let mut w = TarSplitWriter::new();
        w.write(&tar).unwrap();
        let ts = parse_tar_split(&w.finish().unwrap()[..]).unwrap();
        assert_eq!(ts.tar_size, tar.len() as u64);
        let listed: Vec<_> = ts.entries.iter().map(|e| (e.name().into_owned(), e.kind, e.size)).collect();
        assert_eq!(listed, [("pax_global_header".into(), EntryKind::Other(b'g'), 0), ("f".into(), EntryKind::File, 3)]);
    }

    #[test]
    fn truncated_tar_is_an_error() {
        let tar = layer();
        let mut w = TarSplitWriter::new();
        w.write(&tar[..700]).unwrap();
        assert!(w.finish().is_err());
    }
}
