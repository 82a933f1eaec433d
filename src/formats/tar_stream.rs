//! The tar framing, push-fed: bytes go in as they arrive, and come out as events that say what
//! each byte is. 512-byte header blocks, PAX `x`/`g` and GNU `L`/`K` extension headers (capped),
//! GNU sparse extension blocks, data padding, and the two zero blocks that end an archive are
//! handled here once, as Go's `archive/tar` reads them; the streaming importer
//! ([`crate::import`]'s tar reader), the tar-split writer and the tar-split reader read tars
//! through it. Nothing but one header block and the extension headers is ever buffered.
//!
//! Nothing read here is trusted: sizes only ever count bytes down, extension headers are
//! capped, and every error names the offset (and the member, when there is one).

use super::tar_header::{
    checksum_ok, header_link, header_name, header_size, is_gnu, padding_after, EntryKind, Extension, Overrides, BLOCK,
};
use crate::error::{Error, Result};

/// Cap on PAX and GNU long-name/long-link data (Go's archive/tar uses the same 1 MiB).
pub const MAX_EXTENSION_SIZE: u64 = 1 << 20;

/// One member, as its header and the extension headers before it describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's own header block, for the fields this module does not decode.
    pub header: Box<[u8; BLOCK]>,
    /// The name, after the ustar prefix, PAX `path` and GNU long name; raw bytes.
    pub name: Vec<u8>,
    /// The link target, after PAX `linkpath` and GNU long link (set for any type, as Go does).
    pub link: Vec<u8>,
    pub typeflag: u8,
    pub kind: EntryKind,
    /// The size the headers give (Go's `Header.Size`; 0 for a PAX global header).
    pub size: i64,
    /// Bytes of data that follow the header (0 for header-only types, whatever `size` says).
    pub data_len: u64,
    /// Zero bytes that follow the data.
    pub padding: u64,
    /// The PAX records that describe it (a global header's are its own).
    pub pax: Vec<(Vec<u8>, Vec<u8>)>,
    /// Offset of its header block in the stream (extension headers come before it).
    pub offset: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TarEvent<'a> {
    /// Bytes that are not member data, in stream order: header blocks, extension headers with
    /// their data, sparse blocks, padding, the end-of-archive blocks and whatever follows them.
    Raw(&'a [u8]),
    /// A member's headers are complete; its data follows. A PAX global header is reported as a
    /// member of its own (`typeflag` `g`, no data), as Go's `tar.Reader.Next` returns it.
    Member(Member),
    /// A piece of the current member's data (borrowed from the input).
    Data(&'a [u8]),
    /// The current member's data is complete.
    MemberEnd,
}

/// Where a stream that ended without error stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// After the end-of-archive zero blocks (or after one of them, which Go accepts too).
    EndOfArchive,
    /// Between two members, without the end-of-archive blocks.
    BetweenMembers,
    /// Nothing was fed.
    Empty,
}

enum State {
    /// Collecting a header block.
    Header,
    /// Collecting an extension header's data (from its header at `offset`); `padding` follows.
    Extension {
        ext: Extension,
        offset: u64,
        remaining: u64,
        padding: u64,
        buf: Vec<u8>,
    },
    /// Skipping GNU sparse extension blocks; the member is announced after them.
    SparseBlocks {
        member: Member,
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
    /// End of archive: everything after is raw trailing bytes.
    End,
}

pub struct TarStream {
    state: State,
    block: Box<[u8; BLOCK]>,
    block_len: usize,
    /// Bytes of the stream consumed so far.
    offset: u64,
    pending: Overrides,
    /// The member being read or last read, for error messages: (name, header offset, data length).
    current: Option<(String, u64, u64)>,
    members: u64,
    /// Whether a first block that is no header means "not a tar at all" (`unsupported_format`)
    /// rather than a damaged tar.
    sniffing: bool,
}

impl Default for TarStream {
    fn default() -> Self {
        Self::new()
    }
}

impl TarStream {
    /// A stream known to be a tar: any bad header is `data_corrupt`.
    pub fn new() -> Self {
        TarStream {
            state: State::Header,
            block: Box::new([0; BLOCK]),
            block_len: 0,
            offset: 0,
            pending: Overrides::default(),
            current: None,
            members: 0,
            sniffing: false,
        }
    }

    /// A stream that may not be a tar at all: a first block that is no header is
    /// `unsupported_format` ("not a tar archive").
    pub fn sniffing() -> Self {
        TarStream { sniffing: true, ..Self::new() }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Members announced so far.
    pub fn members(&self) -> u64 {
        self.members
    }

    /// Consumes bytes from the front of `input` until one event is ready; `None` means
    /// `input` is used up (feed more, or call [`TarStream::finish`]).
    pub fn next<'a>(&mut self, input: &mut &'a [u8]) -> Result<Option<TarEvent<'a>>> {
        loop {
            match &mut self.state {
                State::Data { remaining: 0, padding } => {
                    self.state = State::Padding { remaining: *padding };
                    return Ok(Some(TarEvent::MemberEnd));
                }
                State::Data { remaining, .. } => {
                    let n = take(remaining, input.len());
                    if n == 0 {
                        return Ok(None);
                    }
                    return Ok(Some(TarEvent::Data(self.consume(input, n))));
                }
                State::Padding { remaining: 0 } => self.state = State::Header,
                State::Padding { remaining } => {
                    let n = take(remaining, input.len());
                    if n == 0 {
                        return Ok(None);
                    }
                    return Ok(Some(TarEvent::Raw(self.consume(input, n))));
                }
                State::Extension { remaining: 0, .. } => {
                    if let Some(event) = self.end_extension()? {
                        return Ok(Some(event));
                    }
                }
                State::Extension { remaining, buf, .. } => {
                    let n = take(remaining, input.len());
                    if n == 0 {
                        return Ok(None);
                    }
                    buf.extend_from_slice(&input[..n]);
                    return Ok(Some(TarEvent::Raw(self.consume(input, n))));
                }
                State::End => {
                    if input.is_empty() {
                        return Ok(None);
                    }
                    return Ok(Some(TarEvent::Raw(self.consume(input, input.len()))));
                }
                State::Header | State::ZeroBlock | State::SparseBlocks { .. } => {
                    if self.block_len == BLOCK {
                        self.block_len = 0;
                        if let Some(event) = self.on_block()? {
                            return Ok(Some(event));
                        }
                        continue;
                    }
                    let n = (BLOCK - self.block_len).min(input.len());
                    if n == 0 {
                        return Ok(None);
                    }
                    self.block[self.block_len..self.block_len + n].copy_from_slice(&input[..n]);
                    self.block_len += n;
                    return Ok(Some(TarEvent::Raw(self.consume(input, n))));
                }
            }
        }
    }

    /// Ends the stream: where it stopped, or an error if that was inside a header, a member's
    /// data or its padding. (A complete last block is still decoded: call [`TarStream::next`]
    /// until it says `None` first.)
    pub fn finish(&self) -> Result<Ending> {
        let at = self.offset;
        match &self.state {
            State::End => Ok(Ending::EndOfArchive),
            State::ZeroBlock if self.block_len == 0 => Ok(Ending::EndOfArchive),
            State::Header if self.block_len == 0 && at == 0 => Ok(Ending::Empty),
            State::Header | State::Padding { remaining: 0 } | State::Data { remaining: 0, padding: 0 }
                if self.block_len == 0 =>
            {
                Ok(Ending::BetweenMembers)
            }
            State::Data { remaining, .. } => {
                let (name, offset, len) = self.current.as_ref().expect("data belongs to a member");
                Err(Error::corrupt(format!(
                    "truncated tar: entry {name:?} (header at offset {offset}) declares {len} bytes of data, the stream ended {remaining} bytes short"
                )))
            }
            State::Extension { ext, remaining, .. } => Err(Error::corrupt(format!(
                "truncated tar: the stream ended inside a {} header, {remaining} bytes short (offset {at})",
                ext.name()
            ))),
            _ => Err(Error::corrupt(format!(
                "truncated tar: the stream ended inside a header or padding at offset {at}{}",
                self.after()
            ))),
        }
    }

    fn consume<'a>(&mut self, input: &mut &'a [u8], n: usize) -> &'a [u8] {
        let (head, rest) = input.split_at(n);
        *input = rest;
        self.offset += n as u64;
        head
    }

    /// " (in or after entry \"x\")" for error messages.
    fn after(&self) -> String {
        match &self.current {
            Some((name, ..)) => format!(" (in or after entry {name:?})"),
            None => String::new(),
        }
    }

    fn block_offset(&self) -> u64 {
        self.offset - BLOCK as u64
    }

    fn on_block(&mut self) -> Result<Option<TarEvent<'static>>> {
        let zero = self.block.iter().all(|&b| b == 0);
        match std::mem::replace(&mut self.state, State::Header) {
            State::SparseBlocks { member } => {
                // Byte 504 of a GNU sparse extension block says whether another follows.
                if self.block[504] != 0 {
                    self.state = State::SparseBlocks { member };
                    return Ok(None);
                }
                return Ok(Some(self.start_data(member)));
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

    fn on_header(&mut self) -> Result<Option<TarEvent<'static>>> {
        let at = self.block_offset();
        let block = &self.block[..];
        if !checksum_ok(block) {
            return Err(if self.sniffing && self.members == 0 && at == 0 {
                Error::unsupported("not a tar archive: the first 512 bytes are not a valid tar header")
            } else {
                Error::corrupt(format!("invalid tar header at offset {at} (bad checksum){}", self.after()))
            });
        }
        let declared = header_size(block)
            .map_err(|e| Error::corrupt(format!("invalid size field in the tar header at offset {at}: {e}")))?;
        if declared < 0 {
            return Err(Error::corrupt(format!("invalid size field in the tar header at offset {at}: {declared}")));
        }
        let declared = declared as u64;
        let typeflag = block[156];
        if let Some(ext) = Extension::of_typeflag(typeflag) {
            if declared > MAX_EXTENSION_SIZE {
                return Err(Error::corrupt(format!(
                    "{} header at offset {at} declares {declared} bytes, over the {MAX_EXTENSION_SIZE}-byte limit",
                    ext.name()
                )));
            }
            self.state = State::Extension {
                ext,
                offset: at,
                remaining: declared,
                padding: padding_after(declared),
                buf: Vec::with_capacity(declared as usize),
            };
            return Ok(None);
        }

        let pending = std::mem::take(&mut self.pending);
        let name = pending.name(header_name(block));
        let kind = EntryKind::from_typeflag(typeflag, &name);
        let size = pending.size(declared as i64).map_err(|e| e.context(format!("tar header at offset {at}")))?;
        let data_len = if kind.header_only() { 0 } else { size as u64 };
        let member = Member {
            header: self.block.clone(),
            link: pending.link(header_link(block)),
            name,
            typeflag,
            kind,
            size,
            data_len,
            padding: padding_after(data_len),
            pax: pending.pax,
            offset: at,
        };
        // An old GNU sparse member's map continues in extension blocks (`isextended`, byte 482).
        if typeflag == b'S' && is_gnu(block) && block[482] != 0 {
            self.state = State::SparseBlocks { member };
            return Ok(None);
        }
        Ok(Some(self.start_data(member)))
    }

    fn start_data(&mut self, member: Member) -> TarEvent<'static> {
        self.members += 1;
        self.state = State::Data { remaining: member.data_len, padding: member.padding };
        self.current = Some((String::from_utf8_lossy(&member.name).into_owned(), member.offset, member.data_len));
        TarEvent::Member(member)
    }

    fn end_extension(&mut self) -> Result<Option<TarEvent<'static>>> {
        let State::Extension { ext, offset, padding, buf, .. } = std::mem::replace(&mut self.state, State::Header)
        else {
            unreachable!("called in the extension state")
        };
        let context = || format!("{} header at offset {offset}", ext.name());
        if ext != Extension::PaxGlobal {
            self.pending.read(ext, &buf).map_err(|e| e.context(context()))?;
            self.state = State::Padding { remaining: padding };
            return Ok(None);
        }
        // A global header is a member of its own; overrides read before it are dropped, as
        // Go's `Next` returns it before applying them.
        let mut own = Overrides::default();
        own.read(ext, &buf).map_err(|e| e.context(context()))?;
        self.pending = Overrides::default();
        let name = header_name(&self.block[..]);
        let member = Member {
            header: self.block.clone(),
            link: Vec::new(),
            kind: EntryKind::Other(b'g'),
            name,
            typeflag: b'g',
            size: 0,
            data_len: 0,
            padding,
            pax: own.pax,
            offset,
        };
        Ok(Some(self.start_data(member)))
    }
}

/// How many of `available` bytes a count of `remaining` takes, counting it down.
fn take(remaining: &mut u64, available: usize) -> usize {
    let n = (*remaining).min(available as u64) as usize;
    *remaining -= n as u64;
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `tar` in `step`-byte pieces: (members, raw bytes and data in stream order, ending).
    fn frame(tar: &[u8], step: usize) -> Result<(Vec<Member>, Vec<u8>, Ending)> {
        let (mut members, mut bytes) = (Vec::new(), Vec::new());
        let mut stream = TarStream::new();
        for mut piece in tar.chunks(step) {
            while let Some(event) = stream.next(&mut piece)? {
                match event {
                    TarEvent::Raw(b) | TarEvent::Data(b) => bytes.extend_from_slice(b),
                    TarEvent::Member(m) => members.push(m),
                    TarEvent::MemberEnd => {}
                }
            }
        }
        Ok((members, bytes, stream.finish()?))
    }

    fn archive() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::XGlobalHeader);
        let global = b"52 comment=0123456789012345678901234567890123456789\n";
        h.set_size(global.len() as u64);
        b.append_data(&mut h, "pax_global_header", &global[..]).unwrap();
        let long = format!("{}/file", "d".repeat(150));
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        b.append_data(&mut h, &long, &b"hello"[..]).unwrap();
        b.append_pax_extensions([("path", &b"pax/name"[..]), ("mtime", b"1.5")]).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Symlink);
        b.append_link(&mut h, "short", "target").unwrap();
        let mut bytes = b.into_inner().unwrap();
        bytes.extend_from_slice(b"trailing bytes after the end");
        bytes
    }

    #[test]
    fn every_byte_is_raw_or_data_once_and_members_are_as_go_reads_them() {
        let tar = archive();
        for step in [1, 7, 512, 1000, tar.len()] {
            let (members, bytes, ending) = frame(&tar, step).unwrap();
            assert_eq!(bytes, tar, "step {step}");
            assert_eq!(ending, Ending::EndOfArchive);
            let names: Vec<_> = members.iter().map(|m| String::from_utf8_lossy(&m.name).into_owned()).collect();
            assert_eq!(names, ["pax_global_header", &format!("{}/file", "d".repeat(150)), "pax/name"]);
            assert_eq!((members[0].typeflag, members[0].data_len, members[0].pax.len()), (b'g', 0, 1));
            assert_eq!((members[1].kind, members[1].size, members[1].padding), (EntryKind::File, 5, 507));
            assert_eq!(
                (members[2].kind, members[2].link.as_slice(), members[2].data_len),
                (EntryKind::Symlink, &b"target"[..], 0)
            );
            assert!(members[2].pax.iter().any(|(k, v)| k == b"mtime" && v == b"1.5"));
        }
    }

    #[test]
    fn endings_and_errors() {
        assert_eq!(frame(&[], 512).unwrap().2, Ending::Empty);
        assert_eq!(frame(&[0; 512], 512).unwrap().2, Ending::EndOfArchive);
        let tar = archive();
        let first = frame(&tar, 512).unwrap().0;
        // Cut right after the first file's padding: between members.
        let cut = (first[1].offset + 512 + 512) as usize;
        assert_eq!(frame(&tar[..cut], 100).unwrap().2, Ending::BetweenMembers);
        let e = frame(&tar[..cut - 500], 100).unwrap_err();
        assert!(e.message.contains("inside a header or padding"), "{e}");
        let e = frame(&tar[..cut - 509], 100).unwrap_err();
        assert!(e.message.contains("declares 5 bytes of data, the stream ended 2 bytes short"), "{e}");
        let mut bad = tar.clone();
        bad[0] ^= 1;
        assert_eq!(frame(&bad, 512).unwrap_err().code, crate::ErrorCode::DataCorrupt);
        let mut sniff = TarStream::sniffing();
        let e = sniff.next(&mut &bad[..]).and_then(|_| sniff.next(&mut &[][..])).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::UnsupportedFormat);
        let mut zero_then_data = vec![0; 512];
        zero_then_data.extend_from_slice(&tar);
        assert!(frame(&zero_then_data, 512).unwrap_err().message.contains("lone zero block"));
    }
}
