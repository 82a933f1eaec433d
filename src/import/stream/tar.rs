//! The importer's view of a tar stream: [`crate::formats::tar_stream`] frames it; this says
//! what the importer needs of each entry (its path and link as text) and what the end of an
//! upload must look like (the end-of-archive blocks; an input that is no tar at all is
//! `unsupported_format`).

use crate::error::{Error, Result};
pub(crate) use crate::formats::tar_header::EntryKind;
use crate::formats::tar_header::BLOCK;
use crate::formats::tar_stream::{Ending, TarEvent, TarStream};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TarEntry {
    /// The name as recorded (PAX `path` or GNU long name applied), not normalised.
    pub path: String,
    pub kind: EntryKind,
    /// Bytes of data that follow (0 for header-only types, whatever the header says).
    pub size: u64,
    /// Offset of the entry's header block in the tar stream.
    pub offset: u64,
    /// Offset of the entry's first data byte in the tar stream.
    pub data_offset: u64,
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

pub(crate) struct TarReader {
    stream: TarStream,
    /// The last entry, for error messages.
    last: Option<String>,
    /// Inside a PAX global header, which is no entry of the upload.
    in_global: bool,
}

impl Default for TarReader {
    fn default() -> Self {
        Self::new()
    }
}

impl TarReader {
    pub(crate) fn new() -> Self {
        TarReader { stream: TarStream::sniffing(), last: None, in_global: false }
    }

    /// Consumes bytes from the front of `input` until one event is ready; `None` means
    /// `input` is used up (feed more, or call [`TarReader::finish`]).
    pub(crate) fn next<'a>(&mut self, input: &mut &'a [u8]) -> Result<Option<Event<'a>>> {
        loop {
            let event = self.stream.next(input).map_err(|e| match e.code {
                crate::ErrorCode::UnsupportedFormat => {
                    Error::unsupported("not a tar archive (nor gzip): the first 512 bytes are not a valid tar header")
                }
                _ => e,
            })?;
            match event {
                None => return Ok(None),
                Some(TarEvent::Raw(_)) => {}
                Some(TarEvent::Member(m)) if m.typeflag == b'g' => self.in_global = true,
                Some(TarEvent::MemberEnd) if self.in_global => self.in_global = false,
                Some(TarEvent::Member(m)) => {
                    let mut path = String::from_utf8_lossy(&m.name).into_owned();
                    if path.is_empty() {
                        path = String::from("(unnamed)");
                    }
                    let link = match m.kind {
                        EntryKind::Symlink | EntryKind::Hardlink => String::from_utf8_lossy(&m.link).into_owned(),
                        _ => String::new(),
                    };
                    self.last = Some(path.clone());
                    return Ok(Some(Event::Entry(TarEntry {
                        path,
                        kind: m.kind,
                        size: m.data_len,
                        offset: m.offset,
                        // The header was just consumed: the data starts here.
                        data_offset: self.stream.offset(),
                        link,
                    })));
                }
                Some(TarEvent::Data(d)) => return Ok(Some(Event::Data(d))),
                Some(TarEvent::MemberEnd) => return Ok(Some(Event::EntryEnd)),
            }
        }
    }

    /// Ends the stream: an error if it stopped inside a header, an entry or its padding, or
    /// without the end-of-archive blocks (an import of the first part would be silently partial).
    pub(crate) fn finish(&self) -> Result<()> {
        let at = self.stream.offset();
        if self.stream.members() == 0 && at > 0 && at < BLOCK as u64 {
            return Err(Error::unsupported(format!(
                "not a tar archive (nor gzip): the input ends after {at} bytes, before a first 512-byte header"
            )));
        }
        match self.stream.finish()? {
            Ending::EndOfArchive => Ok(()),
            Ending::Empty => Err(Error::unsupported("not a tar archive: the input is empty")),
            Ending::BetweenMembers => Err(Error::corrupt(format!(
                "truncated tar: the stream ended at offset {at}{} without the end-of-archive blocks",
                match &self.last {
                    Some(path) => format!(" (in or after entry {path:?})"),
                    None => String::new(),
                }
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::tar_stream::MAX_EXTENSION_SIZE;
    use tar::{EntryType, Header};

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
        for (e, data) in &out {
            assert_eq!(&tar[e.data_offset as usize..][..data.len()], &data[..], "{}", e.path);
        }
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
