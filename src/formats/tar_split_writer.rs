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
use crate::error::{Error, Result};
use crate::formats::tar_header::{checksum_sums, padding_after, pax_records, BLOCK};
use base64::Engine as _;
use flate2::write::GzEncoder;
use std::io::Write;
use tar::Header;

/// Cap on extension header data (as Go's archive/tar).
const MAX_EXTENSION: u64 = 1 << 20;

enum State {
    /// Collecting a header block (its bytes go to `raw`).
    Header,
    /// Extension header data (kept in `raw` and parsed when complete), then padding.
    Extension {
        flag: u8,
        remaining: u64,
        padding: u64,
        data: Vec<u8>,
    },
    Data {
        remaining: u64,
        padding: u64,
        crc: u64,
        name: Vec<u8>,
        size: u64,
    },
    /// Padding after a member's data: raw bytes of the next segment.
    Padding {
        remaining: u64,
    },
    ZeroBlock,
    /// After the two zero blocks: everything is raw trailing data.
    End,
}

pub struct TarSplitWriter {
    state: State,
    /// Raw bytes not yet written as a segment.
    raw: Vec<u8>,
    /// Bytes of the header block being collected (its start in `raw`).
    block_start: usize,
    position: u64,
    pending_name: Option<Vec<u8>>,
    pending_size: Option<u64>,
    gz: GzEncoder<Vec<u8>>,
    regular_bytes: i64,
    tar_offset: u64,
}

impl Default for TarSplitWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl TarSplitWriter {
    pub fn new() -> Self {
        TarSplitWriter {
            state: State::Header,
            raw: Vec::new(),
            block_start: 0,
            position: 0,
            pending_name: None,
            pending_size: None,
            gz: GzEncoder::new(Vec::new(), flate2::Compression::default()),
            regular_bytes: 0,
            tar_offset: 0,
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
        while !input.is_empty() {
            let used = self.step(input)?;
            self.tar_offset += used as u64;
            input = &input[used..];
        }
        Ok(())
    }

    /// Ends the tar: the last segment is written; returns the remaining compressed output.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        let clean_end = match self.state {
            State::End => true,
            State::Header | State::ZeroBlock => self.raw.len() == self.block_start,
            _ => false,
        };
        if !clean_end {
            return Err(Error::corrupt(format!(
                "layer tar is truncated (it ends inside a member, at byte {})",
                self.tar_offset
            )));
        }
        self.flush_segment()?;
        self.gz.finish().map_err(compress_error)
    }

    fn step(&mut self, input: &[u8]) -> Result<usize> {
        match &mut self.state {
            State::End => {
                self.raw.extend_from_slice(input);
                if self.raw.len() >= 1 << 20 {
                    self.flush_segment()?;
                }
                Ok(input.len())
            }
            State::Padding { remaining } => {
                let n = (*remaining).min(input.len() as u64) as usize;
                self.raw.extend_from_slice(&input[..n]);
                *remaining -= n as u64;
                if *remaining == 0 {
                    self.start_block();
                }
                Ok(n)
            }
            State::Data { remaining, crc, .. } => {
                let n = (*remaining).min(input.len() as u64) as usize;
                *crc = crc64_update(*crc, &input[..n]);
                *remaining -= n as u64;
                if *remaining == 0 {
                    let State::Data { padding, crc, name, size, .. } =
                        std::mem::replace(&mut self.state, State::Header)
                    else {
                        unreachable!()
                    };
                    self.file_entry(&name, size, Some(crc))?;
                    self.after_member(padding);
                }
                Ok(n)
            }
            State::Extension { remaining, data, .. } => {
                let n = (*remaining).min(input.len() as u64) as usize;
                data.extend_from_slice(&input[..n]);
                self.raw.extend_from_slice(&input[..n]);
                *remaining -= n as u64;
                if *remaining == 0 {
                    let State::Extension { flag, padding, data, .. } =
                        std::mem::replace(&mut self.state, State::Header)
                    else {
                        unreachable!()
                    };
                    self.apply_extension(flag, &data)?;
                    self.after_member(padding);
                }
                Ok(n)
            }
            State::Header | State::ZeroBlock => {
                let have = self.raw.len() - self.block_start;
                let n = (BLOCK - have).min(input.len());
                self.raw.extend_from_slice(&input[..n]);
                if have + n == BLOCK {
                    self.on_block()?;
                }
                Ok(n)
            }
        }
    }

    fn start_block(&mut self) {
        self.state = State::Header;
        self.block_start = self.raw.len();
    }

    fn after_member(&mut self, padding: u64) {
        if padding == 0 {
            self.start_block();
        } else {
            self.state = State::Padding { remaining: padding };
        }
    }

    fn on_block(&mut self) -> Result<()> {
        let at = self.tar_offset + (self.raw.len() - self.block_start) as u64 - BLOCK as u64;
        let block: [u8; BLOCK] = self.raw[self.block_start..].try_into().expect("one block");
        let zero = block.iter().all(|&b| b == 0);
        if matches!(self.state, State::ZeroBlock) {
            if !zero {
                return Err(Error::corrupt(format!("layer tar: a lone zero block is followed by data at byte {at}")));
            }
            self.state = State::End;
            return Ok(());
        }
        if zero {
            self.state = State::ZeroBlock;
            self.block_start = self.raw.len();
            return Ok(());
        }
        let header = Header::from_byte_slice(&block);
        let stored = header.cksum().map_err(|_| Error::corrupt(format!("layer tar: invalid header at byte {at}")))?;
        let (unsigned, signed) = checksum_sums(&block);
        if i64::from(stored) != unsigned && i64::from(stored) != signed {
            return Err(Error::corrupt(format!("layer tar: invalid header at byte {at} (bad checksum)")));
        }
        let declared =
            header.entry_size().map_err(|e| Error::corrupt(format!("layer tar: header at byte {at}: {e}")))?;
        let flag = block[156];
        if matches!(flag, b'x' | b'g' | b'L' | b'K') {
            if declared > MAX_EXTENSION {
                return Err(Error::corrupt(format!(
                    "layer tar: extension header at byte {at} declares {declared} bytes"
                )));
            }
            self.state =
                State::Extension { flag, remaining: declared, padding: padding_after(declared), data: Vec::new() };
            if declared == 0 {
                self.state = State::Header;
                self.apply_extension(flag, &[])?;
                self.start_block();
            }
            return Ok(());
        }
        let name = self.pending_name.take().unwrap_or_else(|| header.path_bytes().into_owned());
        let header_only = matches!(flag, b'1' | b'2' | b'3' | b'4' | b'5' | b'6');
        let size = if header_only { 0 } else { self.pending_size.take().unwrap_or(declared) };
        self.pending_size = None;
        if matches!(flag, b'0' | b'7') || (flag == 0 && !name.ends_with(b"/")) {
            self.regular_bytes += size as i64;
        }
        self.flush_segment()?;
        if size == 0 {
            self.file_entry(&name, 0, None)?;
            self.start_block();
        } else {
            self.state = State::Data { remaining: size, padding: padding_after(size), crc: 0, name, size };
        }
        Ok(())
    }

    fn apply_extension(&mut self, flag: u8, data: &[u8]) -> Result<()> {
        match flag {
            b'L' => self.pending_name = Some(data.split(|&b| b == 0).next().unwrap_or_default().to_vec()),
            b'x' => {
                let records = pax_records(data).map_err(|e| e.context("layer tar"))?;
                for (key, value) in records {
                    match key {
                        b"path" => self.pending_name = Some(value.to_vec()),
                        b"size" => {
                            let s = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok());
                            self.pending_size = Some(s.ok_or_else(|| Error::corrupt("layer tar: invalid PAX size"))?);
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Writes the raw bytes collected so far as a segment entry (if any).
    fn flush_segment(&mut self) -> Result<()> {
        if self.raw.is_empty() {
            return Ok(());
        }
        let payload = base64::engine::general_purpose::STANDARD.encode(&self.raw);
        let line = format!(r#"{{"type":2,"payload":"{payload}","position":{}}}"#, self.position);
        self.raw.clear();
        self.block_start = 0;
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
    fn truncated_tar_is_an_error() {
        let tar = layer();
        let mut w = TarSplitWriter::new();
        w.write(&tar[..700]).unwrap();
        assert!(w.finish().is_err());
    }
}
