//! `tar-split.json.gz` (vbatts/tar-split, as moby stores it next to each layer): a gzip stream of
//! newline-delimited JSON entries that, together with the files' contents, rebuild the layer tar
//! byte for byte.
//!
//! Each line is `{"type":1|2,"name":…,"name_raw":<base64>,"size":…,"payload":<base64|null>,"position":n}`.
//! Type 2 (segment) entries carry raw tar bytes: the previous file's padding, any PAX/GNU
//! extension headers with their data, then the member's 512-byte header. Type 1 (file) entries
//! stand for a member's data (`size` bytes, `payload` = its CRC-64).
//!
//! From that alone we get, without layer data:
//! * the exact uncompressed tar length = Σ segment payload lengths + Σ file sizes;
//! * the file listing, decoded from the headers inside the segments exactly as
//!   `asm.IterateHeaders` does (drop the pending padding, parse one header with a full tar
//!   reader: ustar prefix, PAX records, GNU long names).
//!
//! File entries are cross-checked against the header just decoded (same name and size), and a
//! repeated path is refused, as tar-split's unpacker does (`ErrDuplicatePath`).

use crate::error::{Error, Result};
use crate::formats::gotime::GoTime;
pub use crate::formats::tar_header::EntryKind;
use crate::formats::tar_header::{header_link, header_name, header_size, is_gnu, is_ustar, numeric, until_nul};
use crate::formats::tar_stream::{Member, TarEvent, TarStream};
use base64::Engine as _;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::rc::Rc;

/// What a layer's tar-split says: the tar length and every member's header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TarSplit {
    /// Length in bytes of the uncompressed layer tar it reassembles.
    pub tar_size: u64,
    pub entries: Vec<TarEntry>,
}

impl TarSplit {
    /// Sum of the sizes of regular files (what the naive graph drivers, vfs included, report as
    /// the layer `size`).
    pub fn regular_file_bytes(&self) -> i64 {
        self.entries.iter().filter(|e| e.kind == EntryKind::File).map(|e| e.size).sum()
    }

    /// Regular file sizes plus symlink target lengths: what overlay2's native diff reports as
    /// the layer `size` (`directory.Size` of the unpacked diff dir counts a symlink's lstat size).
    pub fn regular_and_symlink_bytes(&self) -> i64 {
        let links: i64 =
            self.entries.iter().filter(|e| e.kind == EntryKind::Symlink).map(|e| e.linkname_bytes.len() as i64).sum();
        self.regular_file_bytes() + links
    }
}

/// An overlay/aufs whiteout marker (moby go-archive whiteouts.go).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whiteout {
    /// `.wh.<name>`: `<name>` (full path given here) was deleted in this layer.
    Deleted(String),
    /// `.wh..wh..opq`: the directory's lower contents are hidden.
    Opaque,
    /// Other `.wh..wh.` names (aufs metadata such as `.wh..wh.plnk`).
    Meta,
}

/// One member of the layer tar, as its header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    /// The path as raw bytes (tar names need not be UTF-8).
    pub name_bytes: Vec<u8>,
    pub kind: EntryKind,
    /// The raw typeflag byte.
    pub typeflag: u8,
    pub size: i64,
    /// Permission and mode bits as stored (`0o4755` for a setuid file).
    pub mode: i64,
    pub uid: i64,
    pub gid: i64,
    /// Owner names: shared, since most members of a layer have the same ones.
    pub uname: Rc<str>,
    pub gname: Rc<str>,
    /// Modification time, with PAX sub-second precision when present.
    pub mtime: GoTime,
    pub linkname_bytes: Vec<u8>,
    pub devmajor: i64,
    pub devminor: i64,
    /// PAX `SCHILY.xattr.*` records, by attribute name.
    pub xattrs: BTreeMap<String, Vec<u8>>,
    /// CRC-64 (ISO) of the member's data, from its tar-split file entry; `None` when the
    /// member has no data (size 0, directories, links).
    pub crc64: Option<u64>,
    /// Where the member's data starts in the layer tar (after its header and any extension
    /// headers), as the tar-split reader counted it: a file is read from a stored layer by range.
    pub data_offset: u64,
}

#[cfg(test)]
impl TarEntry {
    /// A member for unit tests: `name` of `kind` with `size` bytes, the kind's typeflag, mode
    /// 0644, owned by root, at Go's zero time, no link, no xattrs, no CRC.
    pub(crate) fn for_test(name: &str, kind: EntryKind, size: i64) -> TarEntry {
        let typeflag = match kind {
            EntryKind::File => b'0',
            EntryKind::Hardlink => b'1',
            EntryKind::Symlink => b'2',
            EntryKind::Char => b'3',
            EntryKind::Block => b'4',
            EntryKind::Dir => b'5',
            EntryKind::Fifo => b'6',
            EntryKind::Other(flag) => flag,
        };
        TarEntry {
            name_bytes: name.as_bytes().to_vec(),
            kind,
            typeflag,
            size,
            mode: 0o644,
            uid: 0,
            gid: 0,
            uname: Rc::from(""),
            gname: Rc::from(""),
            mtime: GoTime::ZERO,
            linkname_bytes: Vec::new(),
            devmajor: 0,
            devminor: 0,
            xattrs: BTreeMap::new(),
            crc64: None,
            data_offset: 0,
        }
    }
}

impl TarEntry {
    /// The path, lossily decoded as UTF-8.
    pub fn name(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.name_bytes)
    }
    pub fn linkname(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.linkname_bytes)
    }
    /// Whether (and how) this entry is a whiteout marker.
    pub fn whiteout(&self) -> Option<Whiteout> {
        let name = self.name();
        let trimmed = name.trim_end_matches('/');
        let (dir, base) = trimmed.rsplit_once('/').map_or(("", trimmed), |(d, b)| (d, b));
        let rest = base.strip_prefix(".wh.")?;
        Some(if base == ".wh..wh..opq" {
            Whiteout::Opaque
        } else if rest.starts_with(".wh.") {
            Whiteout::Meta
        } else if dir.is_empty() {
            Whiteout::Deleted(rest.to_string())
        } else {
            Whiteout::Deleted(format!("{dir}/{rest}"))
        })
    }
}

/// Reads a whole `tar-split.json.gz` stream and returns the tar length and the listing.
pub fn parse_tar_split<R: Read>(gz: R) -> Result<TarSplit> {
    let mut entries = Vec::new();
    let tar_size = visit_tar_split(gz, |e| {
        entries.push(e);
        Ok(())
    })?;
    Ok(TarSplit { tar_size, entries })
}

/// Streams a `tar-split.json.gz`, calling `on_entry` for each member header in tar order, and
/// returns the uncompressed tar length. Errors name the line (1-based) they were found on.
pub fn visit_tar_split<R: Read>(gz: R, mut on_entry: impl FnMut(TarEntry) -> Result<()>) -> Result<u64> {
    visit_tar_split_at(gz, |e, _| on_entry(e))
}

/// [`visit_tar_split`], also giving each member's data offset in the tar (where its file
/// bytes start; the header and any extension headers come just before).
pub fn visit_tar_split_at<R: Read>(gz: R, mut on_entry: impl FnMut(TarEntry, u64) -> Result<()>) -> Result<u64> {
    let mut tar_size = 0u64;
    let mut pending_padding = 0usize;
    // The last decoded header, waiting for its file entry: (name, size).
    let mut expecting: Option<(Vec<u8>, i64)> = None;
    let mut seen_paths = HashSet::new();
    // The header handed on with its data offset (the tar length once its header is read).
    let mut waiting: Option<(TarEntry, u64)> = None;
    visit_raw_entries(gz, |line_no, raw| {
        let at = |msg: String| Error::corrupt(format!("tar-split line {line_no}: {msg}"));
        match raw.kind {
            SEGMENT => {
                let payload = raw.payload_bytes().map_err(|e| at(e.message))?;
                tar_size += payload.len() as u64;
                if payload.len() < pending_padding {
                    return Err(at(format!(
                        "expected {pending_padding} bytes of padding after the previous file, segment has only {}",
                        payload.len()
                    )));
                }
                let after_padding = &payload[pending_padding..];
                pending_padding = 0;
                if let Some((mut entry, padding)) = read_header(after_padding).map_err(|e| at(e.message))? {
                    pending_padding = padding;
                    expecting = Some((entry.name_bytes.clone(), entry.size));
                    entry.data_offset = tar_size;
                    // Handed on when its file entry (with the CRC) arrives, or at the next header.
                    if let Some((previous, offset)) = waiting.replace((entry, tar_size)) {
                        on_entry(previous, offset)?;
                    }
                }
            }
            FILE => {
                let size = raw.size.unwrap_or(0);
                if size < 0 {
                    return Err(at(format!("negative file size {size}")));
                }
                tar_size += size as u64;
                let name = raw.name_bytes().map_err(|e| at(e.message))?;
                if !seen_paths.insert(clean_path(&name)) {
                    return Err(at(format!(
                        "duplicate path {:?} (tar-split cannot store it)",
                        String::from_utf8_lossy(&name)
                    )));
                }
                match expecting.take() {
                    Some((hname, hsize)) if hname == name && hsize == size => {
                        if let Some((mut entry, offset)) = waiting.take() {
                            entry.crc64 = raw.crc64().map_err(|e| at(e.message))?;
                            on_entry(entry, offset)?;
                        }
                    }
                    Some((hname, hsize)) => {
                        return Err(at(format!(
                            "file entry {:?} ({size} bytes) does not match the header before it, {:?} ({hsize} bytes)",
                            String::from_utf8_lossy(&name),
                            String::from_utf8_lossy(&hname)
                        )))
                    }
                    None => {
                        return Err(at(format!(
                            "file entry {:?} without a header before it",
                            String::from_utf8_lossy(&name)
                        )))
                    }
                }
            }
            other => return Err(at(format!("unknown entry type {other}"))),
        }
        Ok(())
    })?;
    if let Some((entry, offset)) = waiting.take() {
        on_entry(entry, offset)?;
    }
    Ok(tar_size)
}

/// Reads a tar-split's lines within [`MAX_LINE`] and [`MAX_BLANK`] and decodes each non-blank
/// one; `on_line` gets its 1-based number and the entry. Errors name the line.
fn visit_raw_entries<R: Read>(gz: R, mut on_line: impl FnMut(usize, RawEntry) -> Result<()>) -> Result<()> {
    let mut lines = BufReader::new(flate2::read::MultiGzDecoder::new(gz));
    let mut line = Vec::new();
    let mut line_no = 0usize;
    let mut blank_bytes = 0u64;
    loop {
        line.clear();
        let n = read_bounded_line(&mut lines, &mut line, &mut blank_bytes).map_err(|e| match e {
            LineError::Io(e) => Error::corrupt(format!(
                "tar-split: cannot decompress (not gzip or truncated?) near line {}: {e}",
                line_no + 1
            )),
            LineError::TooLong => Error::corrupt(format!(
                "tar-split line {}: longer than {} MiB (a tar-split line holds one tar header)",
                line_no + 1,
                MAX_LINE >> 20
            )),
            LineError::TooMuchBlank => Error::corrupt(format!(
                "tar-split: more than {} MiB of blank space around line {}",
                MAX_BLANK >> 20,
                line_no + 1
            )),
        })?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let raw: RawEntry = serde_json::from_slice(&line)
            .map_err(|e| Error::corrupt(format!("tar-split line {line_no}: bad JSON: {e}")))?;
        on_line(line_no, raw)?;
    }
}

/// One line of a tar-split, as the unpacker replays it: raw tar bytes, or the place of a
/// member's data (taken from elsewhere: the graph driver's folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Bytes copied into the tar as they are (padding, extension headers, headers, trailer).
    Segment(Vec<u8>),
    /// `size` bytes of the member `name` (as the tar names it), whose CRC-64 is `crc64`.
    File { name: Vec<u8>, size: u64, crc64: Option<u64> },
}

/// Streams a `tar-split.json.gz` line by line as [`Piece`]s, in tar order: concatenating the
/// segments and the files' data gives the layer tar (tar-split's `asm.NewOutputTarStream`).
/// The same line bounds as [`visit_tar_split`] apply; errors name the line.
pub fn visit_pieces<R: Read>(gz: R, mut on_piece: impl FnMut(Piece) -> Result<()>) -> Result<()> {
    visit_raw_entries(gz, |line_no, raw| {
        let at = |msg: String| Error::corrupt(format!("tar-split line {line_no}: {msg}"));
        let piece = match raw.kind {
            SEGMENT => Piece::Segment(raw.payload_bytes().map_err(|e| at(e.message))?),
            FILE => {
                let size = raw.size.unwrap_or(0);
                let size = u64::try_from(size).map_err(|_| at(format!("negative file size {size}")))?;
                Piece::File {
                    name: raw.name_bytes().map_err(|e| at(e.message))?,
                    size,
                    crc64: raw.crc64().map_err(|e| at(e.message))?,
                }
            }
            other => return Err(at(format!("unknown entry type {other}"))),
        };
        on_piece(piece)
    })
}

/// Longest tar-split line read: one entry, whose payload is one tar header segment (with its
/// PAX or GNU long-name records and the previous file's padding) in base64. Without a bound
/// one 2 GiB line would be held whole.
pub const MAX_LINE: usize = 16 << 20;
/// Most blank space (whitespace between entries) accepted in one tar-split. tar-split writes
/// none but the newline after each entry; GiBs of newlines would only burn time.
pub const MAX_BLANK: u64 = 1 << 20;

enum LineError {
    Io(std::io::Error),
    TooLong,
    TooMuchBlank,
}

/// Reads the next line (with its `\n`) into `line`, at most [`MAX_LINE`] bytes; whitespace
/// before it is skipped in bulk and counted in `blank` (at most [`MAX_BLANK`]). Returns the
/// bytes consumed, 0 at the end.
fn read_bounded_line<R: BufRead>(r: &mut R, line: &mut Vec<u8>, blank: &mut u64) -> Result<usize, LineError> {
    let mut consumed = 0usize;
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(LineError::Io(e)),
        };
        if buf.is_empty() {
            return Ok(consumed);
        }
        if line.is_empty() {
            let ws = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
            if ws > 0 {
                *blank += ws as u64;
                if *blank > MAX_BLANK {
                    return Err(LineError::TooMuchBlank);
                }
                r.consume(ws);
                consumed += ws;
                continue;
            }
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if line.len() + take > MAX_LINE {
            return Err(LineError::TooLong);
        }
        line.extend_from_slice(&buf[..take]);
        r.consume(take);
        consumed += take;
        if done {
            return Ok(consumed);
        }
    }
}

const FILE: i64 = 1;
const SEGMENT: i64 = 2;

/// One NDJSON line (tar-split storage.Entry).
#[derive(serde::Deserialize)]
struct RawEntry {
    #[serde(rename = "type")]
    kind: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    name_raw: Option<String>,
    #[serde(default)]
    size: Option<i64>,
    #[serde(default)]
    payload: Option<String>,
}

impl RawEntry {
    fn payload_bytes(&self) -> Result<Vec<u8>> {
        match &self.payload {
            None => Ok(Vec::new()),
            Some(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| Error::corrupt(format!("bad base64 payload: {e}"))),
        }
    }
    /// A file entry's payload: the 8-byte big-endian CRC-64 of its data, or nothing.
    fn crc64(&self) -> Result<Option<u64>> {
        let bytes = self.payload_bytes()?;
        match bytes.len() {
            0 => Ok(None),
            8 => Ok(Some(u64::from_be_bytes(bytes.try_into().expect("8 bytes")))),
            n => Err(Error::corrupt(format!("file entry payload is {n} bytes, a CRC-64 is 8"))),
        }
    }
    /// `name_raw` (base64 bytes) when present, else `name` (tar-split's GetName).
    fn name_bytes(&self) -> Result<Vec<u8>> {
        match (&self.name_raw, &self.name) {
            (Some(raw), _) if !raw.is_empty() => base64::engine::general_purpose::STANDARD
                .decode(raw)
                .map_err(|e| Error::corrupt(format!("bad base64 name_raw: {e}"))),
            (_, Some(name)) => Ok(name.as_bytes().to_vec()),
            _ => Ok(Vec::new()),
        }
    }
}

/// Go's `filepath.Clean`, on bytes, for duplicate detection.
fn clean_path(p: &[u8]) -> Vec<u8> {
    let rooted = p.first() == Some(&b'/');
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in p.split(|&c| c == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if parts.last().is_some_and(|l| *l != b"..") {
                    parts.pop();
                } else if !rooted {
                    parts.push(part);
                }
            }
            _ => parts.push(part),
        }
    }
    let mut out = if rooted { b"/".to_vec() } else { Vec::new() };
    out.extend(parts.join(&b'/'));
    if out.is_empty() {
        out.push(b'.');
    }
    out
}

/// Decodes one member header (after its extension headers) from the start of `b`, like Go's
/// `tar.Reader.Next` (the framing is [`TarStream`]'s). `Ok(None)` at the end-of-archive marker
/// or in an empty/all-zero segment. Also returns the padding that will follow the member's data.
fn read_header(mut b: &[u8]) -> Result<Option<(TarEntry, usize)>> {
    if b.iter().all(|&c| c == 0) {
        // End-of-archive blocks, trailing padding, or an empty segment.
        return Ok(None);
    }
    let mut stream = TarStream::new();
    while let Some(event) = stream.next(&mut b)? {
        if let TarEvent::Member(member) = event {
            let padding = member.padding as usize;
            return Ok(Some((entry_of(member)?, padding)));
        }
    }
    // The segment ended before a member header was complete (or after the end blocks).
    stream.finish()?;
    Ok(None)
}

/// Every field of a member: its header block's, then its PAX records' (names, link and size
/// already applied by the framing).
fn entry_of(member: Member) -> Result<TarEntry> {
    let mut entry = decode_block(&member.header[..])?;
    entry.name_bytes = member.name;
    entry.linkname_bytes = member.link;
    entry.kind = member.kind;
    entry.size = member.size;
    apply_pax(&mut entry, &member.pax)?;
    Ok(entry)
}

/// Decodes the fields of one header block with Go's `parseNumeric` (negative base-256 times
/// too), every field raw.
fn decode_block(block: &[u8]) -> Result<TarEntry> {
    let name = header_name(block);
    let (mut uname, mut gname, mut devmajor, mut devminor) = (Rc::from(""), Rc::from(""), 0, 0);
    if is_ustar(block) || is_gnu(block) {
        uname = Rc::from(String::from_utf8_lossy(until_nul(&block[265..297])));
        gname = Rc::from(String::from_utf8_lossy(until_nul(&block[297..329])));
        devmajor = numeric(&block[329..337]).map_err(|e| e.context("devmajor"))?;
        devminor = numeric(&block[337..345]).map_err(|e| e.context("devminor"))?;
    }
    let typeflag = block[156];
    Ok(TarEntry {
        kind: EntryKind::from_typeflag(typeflag, &name),
        name_bytes: name,
        typeflag,
        size: header_size(block).map_err(|e| e.context("size"))?,
        mode: numeric(&block[100..108]).map_err(|e| e.context("mode"))?,
        uid: numeric(&block[108..116]).map_err(|e| e.context("uid"))?,
        gid: numeric(&block[116..124]).map_err(|e| e.context("gid"))?,
        uname,
        gname,
        mtime: GoTime::from_unix(numeric(&block[136..148]).map_err(|e| e.context("mtime"))?, 0),
        linkname_bytes: header_link(block).to_vec(),
        devmajor,
        devminor,
        xattrs: BTreeMap::new(),
        crc64: None,
        data_offset: 0,
    })
}

/// The PAX records a member's name, link and size do not already say.
fn apply_pax(entry: &mut TarEntry, records: &[(Vec<u8>, Vec<u8>)]) -> Result<()> {
    let int = |key: &str, v: &[u8]| -> Result<i64> {
        std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Error::corrupt(format!("bad PAX {key} value")))
    };
    for (key, value) in records {
        let (key, value) = (key.as_slice(), value.as_slice());
        match key {
            b"path" | b"linkpath" | b"size" => {}
            b"uname" => entry.uname = Rc::from(String::from_utf8_lossy(value)),
            b"gname" => entry.gname = Rc::from(String::from_utf8_lossy(value)),
            b"uid" => entry.uid = int("uid", value)?,
            b"gid" => entry.gid = int("gid", value)?,
            b"mtime" => entry.mtime = pax_time(value).ok_or_else(|| Error::corrupt("bad PAX mtime"))?,
            _ => {
                if let Some(attr) = key.strip_prefix(b"SCHILY.xattr.") {
                    entry.xattrs.insert(String::from_utf8_lossy(attr).into_owned(), value.to_vec());
                }
            }
        }
    }
    Ok(())
}

/// `"<secs>[.<fraction>]"`, possibly negative.
fn pax_time(v: &[u8]) -> Option<GoTime> {
    let s = std::str::from_utf8(v).ok()?;
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = int.parse().ok()?;
    if !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut nanos = 0u32;
    for k in 0..9 {
        nanos = nanos * 10 + frac.as_bytes().get(k).map_or(0, |c| u32::from(c - b'0'));
    }
    if int.starts_with('-') && nanos > 0 {
        return Some(GoTime::from_unix(secs - 1, 1_000_000_000 - nanos));
    }
    Some(GoTime::from_unix(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::tar_header::BLOCK;
    use std::io::Write;

    /// A 512-byte ustar header with a valid checksum.
    fn header(name: &str, typeflag: u8, size: u64, mode: u32) -> Vec<u8> {
        let mut h = vec![0u8; BLOCK];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(format!("{mode:07o}").as_bytes());
        h[108..115].copy_from_slice(b"0000000");
        h[116..123].copy_from_slice(b"0000000");
        h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
        h[136..147].copy_from_slice(b"14712345670");
        h[156] = typeflag;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[265..269].copy_from_slice(b"root");
        let sum: u32 =
            h.iter().enumerate().map(|(i, &c)| if (148..156).contains(&i) { 32 } else { u32::from(c) }).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        h
    }

    fn segment(payload: &[u8]) -> String {
        format!(
            "{{\"type\":2,\"payload\":\"{}\",\"position\":0}}\n",
            base64::engine::general_purpose::STANDARD.encode(payload)
        )
    }

    fn file(name: &str, size: u64) -> String {
        format!("{{\"type\":1,\"name\":\"{name}\",\"size\":{size},\"payload\":null,\"position\":1}}\n")
    }

    fn gzip(text: &str) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text.as_bytes()).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn lists_members_and_counts_tar_bytes() {
        let mut pax_data = b"30 mtime=1471234567.123456789\n".to_vec();
        let long = "d/".repeat(60) + "f";
        let rec = format!(" path={long}\n");
        let rec = format!("{}{rec}", rec.len() + 3);
        pax_data.extend(rec.as_bytes());
        let mut x = header("PaxHeaders/f", b'x', pax_data.len() as u64, 0o644);
        x.extend(&pax_data);
        x.resize(BLOCK * 2, 0);
        x.extend(header("short-name", b'0', 700, 0o4755));

        let text = [
            segment(&header("dir/", b'5', 0, 0o755)),
            file("dir/", 0),
            segment(&x),
            file(&long, 700),
            segment(&[&vec![0u8; 324][..], &header("dir/.wh.gone", b'0', 0, 0o644)].concat()),
            file("dir/.wh.gone", 0),
            segment(&vec![0u8; 1024]),
        ]
        .concat();
        let ts = parse_tar_split(&gzip(&text)[..]).unwrap();
        assert_eq!(ts.tar_size, 512 + 1536 + 700 + 324 + 512 + 1024);
        assert_eq!(ts.entries.len(), 3);
        assert_eq!(ts.entries[0].kind, EntryKind::Dir);
        let f = &ts.entries[1];
        assert_eq!(f.name(), long);
        assert_eq!((f.size, f.mode, f.kind), (700, 0o4755, EntryKind::File));
        assert_eq!(f.mtime.to_rfc3339_nano(), "2016-08-15T04:16:07.123456789Z");
        assert_eq!(&*f.uname, "root");
        assert_eq!(ts.entries[2].whiteout(), Some(Whiteout::Deleted("dir/gone".into())));
        assert_eq!(ts.regular_file_bytes(), 700);
    }

    #[test]
    fn whiteout_kinds() {
        let mut e = decode_block(&header("a/.wh..wh..opq", b'0', 0, 0)).unwrap();
        assert_eq!(e.whiteout(), Some(Whiteout::Opaque));
        e.name_bytes = b".wh..wh.plnk/123".to_vec();
        assert_eq!(e.whiteout(), None);
        e.name_bytes = b".wh..wh.plnk/".to_vec();
        assert_eq!(e.whiteout(), Some(Whiteout::Meta));
        e.name_bytes = b".wh.x".to_vec();
        assert_eq!(e.whiteout(), Some(Whiteout::Deleted("x".into())));
        e.name_bytes = b"a/b.wh.x".to_vec();
        assert_eq!(e.whiteout(), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(clean_path(b"./a//b/../c/"), b"a/c");
        assert_eq!(clean_path(b"/../a"), b"/a");
        assert_eq!(pax_time(b"-1.5"), Some(GoTime::from_unix(-2, 500_000_000)));
    }

    #[test]
    fn an_endless_line_or_endless_blank_space_is_refused_early() {
        // 40 MiB of one line, and 40 MiB of newlines: each fails once past its bound.
        let long = gzip(&"x".repeat(40 << 20));
        let e = parse_tar_split(&long[..]).unwrap_err();
        assert!(e.message.contains("line 1: longer than"), "{e}");
        let blank = gzip(&"\n".repeat(40 << 20));
        let e = parse_tar_split(&blank[..]).unwrap_err();
        assert!(e.message.contains("blank space"), "{e}");
        // A little blank space is fine.
        let ok = gzip(&format!("\n\n{}\n\n", segment(&[0u8; 1024])));
        assert_eq!(parse_tar_split(&ok[..]).unwrap().tar_size, 1024);
    }

    #[test]
    fn bad_input_gives_clear_errors() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"not gzip at all".to_vec(), "cannot decompress"),
            (gzip(&format!("{}{{\"type\":2,\"payload\":", segment(&vec![0; 1024]))), "tar-split line 2: bad JSON"),
            (
                gzip(&segment(&header("f", b'0', 3, 0o644)[..300])),
                "line 1: truncated tar: the stream ended inside a header",
            ),
            (
                gzip(&segment(&{
                    let mut h = header("f", b'0', 3, 0o644);
                    h[0] = b'g';
                    h
                })),
                "line 1: invalid tar header at offset 0 (bad checksum)",
            ),
            (gzip("{\"type\":3,\"payload\":null,\"position\":0}\n"), "line 1: unknown entry type 3"),
            (
                gzip(&[segment(&header("f", b'0', 3, 0o644)), file("f", 3), segment(&[0u8; 100])].concat()),
                "line 3: expected 509 bytes of padding",
            ),
            (gzip(&[segment(&header("f", b'0', 3, 0o644)), file("g", 3)].concat()), "line 2: file entry \"g\""),
            (
                gzip(
                    &[
                        segment(&header("f", b'5', 0, 0)),
                        file("f", 0),
                        segment(&header("./f", b'5', 0, 0)),
                        file("./f", 0),
                    ]
                    .concat(),
                ),
                "line 4: duplicate path",
            ),
        ];
        for (input, want) in cases {
            let e = parse_tar_split(&input[..]).unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::DataCorrupt);
            assert!(e.message.contains(want), "want {want:?}, got {}", e.message);
        }
        // A truncated gzip stream is an error too, not a short listing.
        let good = gzip(&[segment(&header("f", b'0', 3, 0o644)), file("f", 3)].concat());
        assert!(parse_tar_split(&good[..good.len() - 10]).is_err());
    }
}
