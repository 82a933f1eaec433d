//! A push-fed tar reader: bytes go in as they arrive, entries and their data come out as
//! events, so nothing but one header block and the (size-capped) extension headers is ever
//! buffered. Header fields are decoded by `tar::Header`; the framing is ours: 512-byte
//! blocks, PAX `x`/`g` records, GNU `L`/`K` long names, GNU sparse extension blocks, data
//! padding, and the two zero blocks that end an archive.
//!
//! Nothing read here is trusted: sizes only ever count bytes down, extension headers are
//! capped, and every error names the offset (and the entry, when there is one).

use crate::error::{Error, Result};
use crate::formats::tar_header::{checksum_sums, padding_after, pax_records, BLOCK};
use tar::{EntryType, Header};

/// Cap on PAX and GNU long-name/long-link data (Go's archive/tar uses the same 1 MiB).
pub(crate) const MAX_EXTENSION_SIZE: u64 = 1 << 20;

/// What an entry is, as far as the importer cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    File,
    Dir,
    Symlink,
    HardLink,
    /// Devices, fifos, sparse files, vendor types: never part of an image store.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TarEntry {
    /// The name as recorded (PAX `path` or GNU long name applied), not normalised.
    pub path: String,
    pub kind: EntryKind,
    /// Bytes of data that follow (0 for header-only types, whatever the header says).
    pub size: u64,
    /// Offset of the entry's header block in the tar stream.
    pub offset: u64,
    /// The link target of a symlink or hard link (PAX `linkpath` or GNU long link applied);
    /// empty for other kinds.
    pub link: String,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event<'a> {
    Entry(TarEntry),
    /// A piece of the current entry's data (borrowed from the input).
    Data(&'a [u8]),
    /// The current entry's data is complete.
    EntryEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExtKind {
    PaxLocal,
    PaxGlobal,
    GnuLongName,
    GnuLongLink,
}

enum State {
    /// Collecting a header block.
    Header,
    /// Collecting an extension header's data; `padding` follows it.
    Extension {
        kind: ExtKind,
        remaining: u64,
        padding: u64,
        buf: Vec<u8>,
    },
    /// Skipping GNU sparse extension blocks; the entry is announced after them.
    SparseBlocks {
        entry: TarEntry,
    },
    Data {
        remaining: u64,
        padding: u64,
    },
    Padding {
        remaining: u64,
    },
    /// One zero block seen: the next must be zero too.
    ZeroBlock,
    /// End of archive: everything after is ignored.
    End,
}

/// Overrides from extension headers, applied to the next real header.
#[derive(Default)]
struct Pending {
    path: Option<String>,
    link: Option<String>,
    size: Option<u64>,
}

pub(crate) struct TarReader {
    state: State,
    block: Box<[u8; BLOCK]>,
    block_len: usize,
    /// Bytes of tar stream consumed so far.
    offset: u64,
    pending: Pending,
    /// The entry being read or last read, for error messages.
    current: Option<TarEntry>,
    entries: u64,
}

impl Default for TarReader {
    fn default() -> Self {
        Self::new()
    }
}

impl TarReader {
    pub(crate) fn new() -> Self {
        TarReader {
            state: State::Header,
            block: Box::new([0; BLOCK]),
            block_len: 0,
            offset: 0,
            pending: Pending::default(),
            current: None,
            entries: 0,
        }
    }

    /// Consumes bytes from the front of `input` until one event is ready; `None` means
    /// `input` is used up (feed more, or call [`TarReader::finish`]).
    pub(crate) fn next<'a>(&mut self, input: &mut &'a [u8]) -> Result<Option<Event<'a>>> {
        loop {
            match &mut self.state {
                State::End => {
                    self.offset += input.len() as u64;
                    *input = &[];
                    return Ok(None);
                }
                State::Data { remaining: 0, padding } => {
                    self.state = State::Padding { remaining: *padding };
                    return Ok(Some(Event::EntryEnd));
                }
                State::Data { remaining, .. } => {
                    if input.is_empty() {
                        return Ok(None);
                    }
                    let n = (*remaining).min(input.len() as u64) as usize;
                    *remaining -= n as u64;
                    let (data, rest) = input.split_at(n);
                    *input = rest;
                    self.offset += n as u64;
                    return Ok(Some(Event::Data(data)));
                }
                State::Padding { remaining: 0 } => self.state = State::Header,
                State::Padding { remaining } => {
                    if input.is_empty() {
                        return Ok(None);
                    }
                    let n = (*remaining).min(input.len() as u64) as usize;
                    *remaining -= n as u64;
                    *input = &input[n..];
                    self.offset += n as u64;
                }
                State::Extension { remaining: 0, .. } => self.end_extension()?,
                State::Extension { remaining, buf, .. } => {
                    if input.is_empty() {
                        return Ok(None);
                    }
                    let n = (*remaining).min(input.len() as u64) as usize;
                    *remaining -= n as u64;
                    buf.extend_from_slice(&input[..n]);
                    *input = &input[n..];
                    self.offset += n as u64;
                }
                State::Header | State::ZeroBlock | State::SparseBlocks { .. } => {
                    if !self.fill_block(input) {
                        return Ok(None);
                    }
                    if let Some(event) = self.on_block()? {
                        return Ok(Some(event));
                    }
                }
            }
        }
    }

    /// Ends the stream: an error if it stopped inside a header, an entry or its padding.
    pub(crate) fn finish(&self) -> Result<()> {
        let at = self.offset;
        match &self.state {
            State::End => Ok(()),
            State::ZeroBlock if self.block_len == 0 => Ok(()),
            State::Header if self.block_len == 0 => {
                if self.entries == 0 && at == 0 {
                    Err(Error::unsupported("not a tar archive: the input is empty"))
                } else {
                    // Ended exactly between two entries: whatever followed is missing, and an
                    // import of the first part would be silently partial.
                    Err(Error::corrupt(format!(
                        "truncated tar: the stream ended at offset {at}{} without the end-of-archive blocks",
                        self.after()
                    )))
                }
            }
            State::Header if self.entries == 0 && at < BLOCK as u64 => Err(Error::unsupported(format!(
                "not a tar archive (nor gzip): the input ends after {} bytes, before a first 512-byte header",
                at
            ))),
            State::Data { remaining, .. } => {
                let e = self.current.as_ref().expect("data belongs to an entry");
                Err(Error::corrupt(format!(
                    "truncated tar: entry {:?} (header at offset {}) declares {} bytes of data, the stream ended {} bytes short",
                    e.path, e.offset, e.size, remaining
                )))
            }
            State::Extension { kind, remaining, .. } => Err(Error::corrupt(format!(
                "truncated tar: the stream ended inside a {} header, {remaining} bytes short (offset {at})",
                kind.name()
            ))),
            _ => Err(Error::corrupt(format!(
                "truncated tar: the stream ended inside a header or padding at offset {at}{}",
                self.after()
            ))),
        }
    }

    /// Copies input into the header block; true when the block is complete.
    fn fill_block(&mut self, input: &mut &[u8]) -> bool {
        let n = (BLOCK - self.block_len).min(input.len());
        self.block[self.block_len..self.block_len + n].copy_from_slice(&input[..n]);
        self.block_len += n;
        self.offset += n as u64;
        *input = &input[n..];
        if self.block_len < BLOCK {
            return false;
        }
        self.block_len = 0;
        true
    }

    fn block_offset(&self) -> u64 {
        self.offset - BLOCK as u64
    }

    /// ", after entry \"x\"" for error messages.
    fn after(&self) -> String {
        match &self.current {
            Some(e) => format!(" (in or after entry {:?})", e.path),
            None => String::new(),
        }
    }

    fn on_block(&mut self) -> Result<Option<Event<'static>>> {
        let zero = self.block.iter().all(|&b| b == 0);
        match std::mem::replace(&mut self.state, State::Header) {
            State::SparseBlocks { entry } => {
                // Byte 504 of a GNU sparse extension block says whether another follows.
                if self.block[504] != 0 {
                    self.state = State::SparseBlocks { entry };
                    return Ok(None);
                }
                return Ok(Some(self.start_data(entry)));
            }
            State::ZeroBlock => {
                if zero {
                    self.state = State::End;
                    return Ok(None);
                }
                return Err(Error::corrupt(format!(
                    "invalid tar: a lone zero block is followed by data at offset {}{}",
                    self.block_offset(),
                    self.after()
                )));
            }
            _ => {}
        }
        if zero {
            self.state = State::ZeroBlock;
            return Ok(None);
        }
        self.on_header()
    }

    fn on_header(&mut self) -> Result<Option<Event<'static>>> {
        let at = self.block_offset();
        if !checksum_ok(&self.block) {
            return Err(if self.entries == 0 && at == 0 {
                Error::unsupported("not a tar archive (nor gzip): the first 512 bytes are not a valid tar header")
            } else {
                Error::corrupt(format!("invalid tar header at offset {at} (bad checksum){}", self.after()))
            });
        }
        let header = Header::from_byte_slice(&self.block[..]);
        let declared = header
            .entry_size()
            .map_err(|e| Error::corrupt(format!("invalid size field in the tar header at offset {at}: {e}")))?;
        let ty = header.entry_type();
        let padding = padding_after(declared);
        let ext = match ty {
            EntryType::XHeader => Some(ExtKind::PaxLocal),
            EntryType::XGlobalHeader => Some(ExtKind::PaxGlobal),
            EntryType::GNULongName => Some(ExtKind::GnuLongName),
            EntryType::GNULongLink => Some(ExtKind::GnuLongLink),
            _ => None,
        };
        if let Some(kind) = ext {
            if declared > MAX_EXTENSION_SIZE {
                return Err(Error::corrupt(format!(
                    "{} header at offset {at} declares {declared} bytes, over the {MAX_EXTENSION_SIZE}-byte limit",
                    kind.name()
                )));
            }
            self.state =
                State::Extension { kind, remaining: declared, padding, buf: Vec::with_capacity(declared as usize) };
            return Ok(None);
        }

        let pending = std::mem::take(&mut self.pending);
        let mut path = pending.path.unwrap_or_else(|| String::from_utf8_lossy(&header.path_bytes()).into_owned());
        let mut kind = match ty {
            EntryType::Regular | EntryType::Continuous => EntryKind::File,
            EntryType::Directory => EntryKind::Dir,
            EntryType::Symlink => EntryKind::Symlink,
            EntryType::Link => EntryKind::HardLink,
            _ => EntryKind::Other,
        };
        // Old (pre-POSIX) archives mark directories only with a trailing slash.
        if kind == EntryKind::File && ty.as_byte() == b'\0' && path.ends_with('/') {
            kind = EntryKind::Dir;
        }
        let header_only = matches!(
            ty,
            EntryType::Link
                | EntryType::Symlink
                | EntryType::Char
                | EntryType::Block
                | EntryType::Directory
                | EntryType::Fifo
        );
        let size = if header_only { 0 } else { pending.size.unwrap_or(declared) };
        if path.is_empty() {
            path = String::from("(unnamed)");
        }
        let link = match kind {
            EntryKind::Symlink | EntryKind::HardLink => pending
                .link
                .unwrap_or_else(|| String::from_utf8_lossy(&header.link_name_bytes().unwrap_or_default()).into_owned()),
            _ => String::new(),
        };
        let entry = TarEntry { path, kind, size, offset: at, link };
        self.entries += 1;
        if ty == EntryType::GNUSparse && header.as_gnu().is_some_and(|g| g.is_extended()) {
            self.state = State::SparseBlocks { entry };
            return Ok(None);
        }
        Ok(Some(self.start_data(entry)))
    }

    fn start_data(&mut self, entry: TarEntry) -> Event<'static> {
        self.state = State::Data { remaining: entry.size, padding: padding_after(entry.size) };
        self.current = Some(entry.clone());
        Event::Entry(entry)
    }

    fn end_extension(&mut self) -> Result<()> {
        let State::Extension { kind, padding, buf, .. } = std::mem::replace(&mut self.state, State::Header) else {
            unreachable!("called in the extension state")
        };
        let at = self.offset - buf.len() as u64 - BLOCK as u64;
        match kind {
            ExtKind::PaxLocal => {
                for (key, value) in pax_records(&buf).map_err(|e| e.context(format!("PAX header at offset {at}")))? {
                    match key {
                        b"path" if !value.is_empty() => {
                            self.pending.path = Some(String::from_utf8_lossy(value).into_owned())
                        }
                        b"linkpath" if !value.is_empty() => {
                            self.pending.link = Some(String::from_utf8_lossy(value).into_owned())
                        }
                        b"size" => {
                            let s = std::str::from_utf8(value).ok().and_then(|s| s.parse::<u64>().ok()).ok_or_else(
                                || {
                                    Error::corrupt(format!(
                                        "PAX header at offset {at}: invalid size {:?}",
                                        String::from_utf8_lossy(value)
                                    ))
                                },
                            )?;
                            self.pending.size = Some(s);
                        }
                        _ => {}
                    }
                }
            }
            // Global records are validated but not applied (as Go's archive/tar does).
            ExtKind::PaxGlobal => {
                pax_records(&buf).map_err(|e| e.context(format!("PAX global header at offset {at}")))?;
            }
            ExtKind::GnuLongName => {
                let name = buf.split(|&b| b == 0).next().unwrap_or_default();
                self.pending.path = Some(String::from_utf8_lossy(name).into_owned());
            }
            ExtKind::GnuLongLink => {
                let name = buf.split(|&b| b == 0).next().unwrap_or_default();
                self.pending.link = Some(String::from_utf8_lossy(name).into_owned());
            }
        }
        self.state = State::Padding { remaining: padding };
        Ok(())
    }
}

impl ExtKind {
    fn name(self) -> &'static str {
        match self {
            ExtKind::PaxLocal => "PAX",
            ExtKind::PaxGlobal => "PAX global",
            ExtKind::GnuLongName => "GNU long-name",
            ExtKind::GnuLongLink => "GNU long-link",
        }
    }
}

/// A header is valid if its stored checksum matches the byte sum (unsigned or signed).
fn checksum_ok(block: &[u8; BLOCK]) -> bool {
    let Ok(stored) = Header::from_byte_slice(&block[..]).cksum() else { return false };
    let (unsigned, signed) = checksum_sums(block);
    i64::from(stored) == unsigned || i64::from(stored) == signed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a whole archive fed in `step`-byte pieces into (entry, data) pairs.
    fn read_all(tar: &[u8], step: usize) -> Result<Vec<(TarEntry, Vec<u8>)>> {
        let mut r = TarReader::new();
        let mut out: Vec<(TarEntry, Vec<u8>)> = Vec::new();
        for mut piece in tar.chunks(step) {
            while let Some(ev) = r.next(&mut piece)? {
                match ev {
                    Event::Entry(e) => out.push((e, Vec::new())),
                    Event::Data(d) => out.last_mut().unwrap().1.extend_from_slice(d),
                    Event::EntryEnd => {}
                }
            }
        }
        r.finish()?;
        Ok(out)
    }

    fn build(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(EntryType::Regular);
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn reads_entries_long_names_and_data_in_any_chunking() {
        let long = format!("{}/file", "d".repeat(150));
        let tar = build(&[("a.txt", b"hello"), (&long, &[9u8; 1500]), ("empty", b"")]);
        for step in [1, 7, 512, 4093, tar.len()] {
            let got = read_all(&tar, step).unwrap();
            assert_eq!(got.len(), 3);
            assert_eq!((got[0].0.path.as_str(), got[0].1.as_slice()), ("a.txt", &b"hello"[..]));
            assert_eq!(got[1].0.path, long);
            assert_eq!(got[1].1, vec![9u8; 1500]);
            assert_eq!((got[2].0.size, got[2].1.len()), (0, 0));
            assert_eq!(got[0].0.offset, 0);
        }
    }

    #[test]
    fn pax_path_and_size_override_the_header() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = Header::new_ustar();
        h.set_size(3);
        h.set_entry_type(EntryType::Regular);
        b.append_pax_extensions([("path", &b"pax/named/file"[..])]).unwrap();
        b.append_data(&mut h, "short", &b"abc"[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let got = read_all(&tar, 100).unwrap();
        assert_eq!(got[0].0.path, "pax/named/file");
        assert_eq!(got[0].1, b"abc");
    }

    #[test]
    fn directories_and_links_carry_no_data() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = Header::new_gnu();
        h.set_entry_type(EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "link", "target").unwrap();
        let mut h = Header::new_gnu();
        h.set_entry_type(EntryType::Directory);
        h.set_size(0);
        b.append_data(&mut h, "dir/", std::io::empty()).unwrap();
        let got = read_all(&b.into_inner().unwrap(), 512).unwrap();
        assert_eq!(got[0].0.kind, EntryKind::Symlink);
        assert_eq!(got[0].0.link, "target");
        assert_eq!(got[1].0.link, "");
        assert_eq!(got[1].0.kind, EntryKind::Dir);
    }

    #[test]
    fn garbage_truncation_and_bad_extensions_are_named() {
        let e = read_all(&[b'x'; 2048], 512).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::UnsupportedFormat);
        assert!(e.message.contains("not a tar archive"), "{e}");
        let e = read_all(b"short", 512).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::UnsupportedFormat);

        let tar = build(&[("one", &[1u8; 3000])]);
        let e = read_all(&tar[..2000], 333).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::DataCorrupt);
        assert!(e.message.contains("\"one\"") && e.message.contains("offset 0"), "{e}");

        let mut tar = build(&[("one", b"1"), ("two", b"2")]);
        tar[1024 + 3] ^= 0xff; // damage the second header
        let e = read_all(&tar, 512).unwrap_err();
        assert!(e.message.contains("offset 1024") && e.message.contains("\"one\""), "{e}");

        let mut h = Header::new_gnu();
        h.set_entry_type(EntryType::GNULongName);
        h.set_size(MAX_EXTENSION_SIZE + 1);
        h.set_cksum();
        let e = read_all(h.as_bytes(), 512).unwrap_err();
        assert!(e.message.contains("limit"), "{e}");
    }
}
