//! The tar header format, decoded the way Go's `archive/tar` (and so dockerd and tar-split)
//! decodes it: the block size, data padding, numeric fields, the checksum, names with their
//! ustar prefix, typeflags, PAX records and the overrides extension headers set for the next
//! member. [`super::tar_stream`] frames a whole stream with these; [`super::tar_split`] reads
//! every field of a header with them.

use crate::error::{Error, Result};

/// The type of a tar member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Hardlink,
    Symlink,
    Char,
    Block,
    Dir,
    Fifo,
    /// Any other typeflag (e.g. `g` for a PAX global header), kept as the raw byte.
    Other(u8),
}

impl EntryKind {
    /// Every name [`EntryKind::name`] gives.
    pub const NAMES: [&'static str; 8] = ["file", "dir", "symlink", "hardlink", "char", "block", "fifo", "other"];

    /// The lowercase name the JS API and the search index use for this type.
    pub fn name(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
            EntryKind::Hardlink => "hardlink",
            EntryKind::Char => "char",
            EntryKind::Block => "block",
            EntryKind::Fifo => "fifo",
            EntryKind::Other(_) => "other",
        }
    }

    /// The kind a typeflag gives the member `name`.
    pub fn from_typeflag(flag: u8, name: &[u8]) -> EntryKind {
        match flag {
            // '\0' is the pre-POSIX regular file; with a trailing '/' it meant a directory.
            b'\0' if name.ends_with(b"/") => EntryKind::Dir,
            b'0' | b'\0' | b'7' => EntryKind::File,
            b'1' => EntryKind::Hardlink,
            b'2' => EntryKind::Symlink,
            b'3' => EntryKind::Char,
            b'4' => EntryKind::Block,
            b'5' => EntryKind::Dir,
            b'6' => EntryKind::Fifo,
            other => EntryKind::Other(other),
        }
    }

    /// Types whose data is never read (Go's `isHeaderOnlyType`): no data or padding follows
    /// them, whatever their size field says.
    pub fn header_only(self) -> bool {
        matches!(
            self,
            EntryKind::Hardlink
                | EntryKind::Symlink
                | EntryKind::Char
                | EntryKind::Block
                | EntryKind::Dir
                | EntryKind::Fifo
        )
    }
}

/// Tar's block size: headers are one block, data is padded to whole blocks.
pub const BLOCK: usize = 512;

/// Zero bytes that follow `size` bytes of member data to fill its last block.
pub fn padding_after(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

/// The header's byte sums with the checksum field (bytes 148..156) read as spaces: unsigned,
/// and signed as some old tars computed it. Go accepts a stored checksum equal to either.
pub fn checksum_sums(block: &[u8]) -> (i64, i64) {
    let (mut unsigned, mut signed) = (0i64, 0i64);
    for (i, &c) in block[..BLOCK].iter().enumerate() {
        let c = if (148..156).contains(&i) { b' ' } else { c };
        unsigned += i64::from(c);
        signed += i64::from(c as i8);
    }
    (unsigned, signed)
}

/// Go's `parseNumeric`: base-256 when the high bit is set, else octal with spaces/NULs trimmed.
pub fn numeric(field: &[u8]) -> Result<i64> {
    if field.first().is_some_and(|&c| c & 0x80 != 0) {
        // Two's complement big-endian; the first byte's 0x80 marker is not part of the value.
        let negative = field[0] & 0x40 != 0;
        let mut v: i64 = 0;
        for (i, &c) in field.iter().enumerate() {
            let c = if i == 0 { c & 0x7f } else { c };
            let c = if negative { !c & if i == 0 { 0x7f } else { 0xff } } else { c };
            v = v
                .checked_mul(256)
                .and_then(|v| v.checked_add(i64::from(c)))
                .ok_or_else(|| Error::corrupt("base-256 number overflows"))?;
        }
        return Ok(if negative { -v - 1 } else { v });
    }
    let is_pad = |c: &u8| *c == b' ' || *c == 0;
    let start = field.iter().position(|c| !is_pad(c)).unwrap_or(field.len());
    let end = field.iter().rposition(|c| !is_pad(c)).map_or(start, |e| e + 1);
    let trimmed = &field[start..end];
    if trimmed.is_empty() {
        return Ok(0);
    }
    let text = std::str::from_utf8(trimmed).map_err(|_| Error::corrupt("not an octal number"))?;
    i64::from_str_radix(text, 8).map_err(|_| Error::corrupt(format!("invalid octal number {text:?}")))
}

/// A NUL-terminated header field (the whole field when it has no NUL).
pub fn until_nul(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |i| &b[..i])
}

/// Whether `block` is a header by its checksum: Go accepts the unsigned or the signed byte
/// sum, with the checksum field taken as spaces.
pub fn checksum_ok(block: &[u8]) -> bool {
    let Ok(stored) = numeric(&block[148..156]) else { return false };
    let (unsigned, signed) = checksum_sums(block);
    stored == unsigned || stored == signed
}

/// Whether the header has the ustar magic and version (and so a name prefix, bytes 345..500).
pub fn is_ustar(block: &[u8]) -> bool {
    &block[257..263] == b"ustar\0" && &block[263..265] == b"00"
}

/// Whether the header has the GNU magic and version.
pub fn is_gnu(block: &[u8]) -> bool {
    &block[257..263] == b"ustar " && &block[263..265] == b" \0"
}

/// The member name the header block itself gives: the name field, after the ustar prefix.
pub fn header_name(block: &[u8]) -> Vec<u8> {
    let name = until_nul(&block[0..100]);
    let prefix = if is_ustar(block) { until_nul(&block[345..500]) } else { &[][..] };
    if prefix.is_empty() {
        return name.to_vec();
    }
    [prefix, b"/", name].concat()
}

/// The header's size field (bytes 124..136).
pub fn header_size(block: &[u8]) -> Result<i64> {
    numeric(&block[124..136])
}

/// The header's link name field.
pub fn header_link(block: &[u8]) -> &[u8] {
    until_nul(&block[157..257])
}

/// A header that only carries data for the next member (or, `g`, for the whole archive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    PaxLocal,
    PaxGlobal,
    GnuLongName,
    GnuLongLink,
}

impl Extension {
    pub fn of_typeflag(flag: u8) -> Option<Extension> {
        match flag {
            b'x' => Some(Extension::PaxLocal),
            b'g' => Some(Extension::PaxGlobal),
            b'L' => Some(Extension::GnuLongName),
            b'K' => Some(Extension::GnuLongLink),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Extension::PaxLocal => "PAX",
            Extension::PaxGlobal => "PAX global",
            Extension::GnuLongName => "GNU long-name",
            Extension::GnuLongLink => "GNU long-link",
        }
    }
}

/// What the extension headers before a member set for it, applied as Go's `tar.Reader.Next`
/// does: a member's PAX records are those of the last `x` header before it; then a non-empty
/// GNU long name or link wins over the PAX `path` / `linkpath`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Overrides {
    pub pax: Vec<(Vec<u8>, Vec<u8>)>,
    pub long_name: Vec<u8>,
    pub long_link: Vec<u8>,
}

impl Overrides {
    /// Takes in an extension header's data (a global header's records go in an `Overrides` of
    /// their own: they describe that header, not the next member).
    pub fn read(&mut self, ext: Extension, data: &[u8]) -> Result<()> {
        match ext {
            Extension::PaxLocal | Extension::PaxGlobal => {
                let records = pax_records(data)?;
                self.pax = records.into_iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
            }
            Extension::GnuLongName => self.long_name = until_nul(data).to_vec(),
            Extension::GnuLongLink => self.long_link = until_nul(data).to_vec(),
        }
        Ok(())
    }

    /// The PAX record `key`, if set.
    pub fn pax_value(&self, key: &[u8]) -> Option<&[u8]> {
        self.pax.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_slice())
    }

    /// The member's name, given the one its header block says.
    pub fn name(&self, header_name: Vec<u8>) -> Vec<u8> {
        if !self.long_name.is_empty() {
            return self.long_name.clone();
        }
        self.pax_value(b"path").map_or(header_name, <[u8]>::to_vec)
    }

    /// The member's link target, given the one its header block says.
    pub fn link(&self, header_link: &[u8]) -> Vec<u8> {
        if !self.long_link.is_empty() {
            return self.long_link.clone();
        }
        self.pax_value(b"linkpath").unwrap_or(header_link).to_vec()
    }

    /// The member's size, given the one its header block says: a PAX `size` wins; a negative
    /// or unreadable one is an error (Go's `ErrHeader`).
    pub fn size(&self, header_size: i64) -> Result<i64> {
        let size = match self.pax_value(b"size") {
            None => header_size,
            Some(v) => std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| Error::corrupt(format!("invalid PAX size {:?}", String::from_utf8_lossy(v))))?,
        };
        if size < 0 {
            return Err(Error::corrupt(format!("negative size {size}")));
        }
        Ok(size)
    }
}

/// PAX records, `"<len> <key>=<value>\n"`, where the decimal `<len>` counts the whole record.
/// Trailing NUL padding (some writers add it) is ignored. Keys and values are raw bytes, as
/// Go's archive/tar does not require UTF-8 either.
pub fn pax_records(mut data: &[u8]) -> Result<Vec<(&[u8], &[u8])>> {
    let bad = |why: &str| Error::corrupt(format!("invalid PAX record: {why}"));
    while let Some((&0, rest)) = data.split_last() {
        data = rest;
    }
    let mut out = Vec::new();
    while !data.is_empty() {
        let space = data.iter().position(|&b| b == b' ').ok_or_else(|| bad("no length"))?;
        let len: usize = std::str::from_utf8(&data[..space])
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("bad length"))?;
        if len <= space + 1 || len > data.len() || data[len - 1] != b'\n' {
            return Err(bad("length does not match the record"));
        }
        let record = &data[space + 1..len - 1];
        let eq = record.iter().position(|&b| b == b'=').ok_or_else(|| bad("no '='"))?;
        out.push((&record[..eq], &record[eq + 1..]));
        data = &data[len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_parse_strictly() {
        assert_eq!(pax_records(b"11 path=ab\n").unwrap(), vec![(&b"path"[..], &b"ab"[..])]);
        assert_eq!(pax_records(b"11 path=ab\n12 size=123\n\0\0").unwrap().len(), 2);
        assert_eq!(pax_records(b"").unwrap(), vec![]);
        for bad in [&b"99 path=ab\n"[..], b"x path=ab\n", b"5 a=b\n", b"11 path=ab?", b"9 pathab\n", b"nospace"] {
            let e = pax_records(bad).unwrap_err();
            assert!(e.message.starts_with("invalid PAX record"), "{:?}: {}", String::from_utf8_lossy(bad), e.message);
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(numeric(b"0000644\0"), Ok(0o644));
        assert_eq!(numeric(b"  644 \0"), Ok(0o644));
        assert_eq!(numeric(b"\0\0\0\0"), Ok(0));
        assert_eq!(numeric(&[0x80, 0, 0, 0, 0, 0, 1, 0]), Ok(256));
        assert_eq!(numeric(&[0xff; 8]), Ok(-1));
        assert!(numeric(b"0009").is_err());
    }

    #[test]
    fn overrides_apply_as_go_does() {
        let mut o = Overrides::default();
        assert_eq!((o.name(b"h".to_vec()), o.link(b"l"), o.size(3)), (b"h".to_vec(), b"l".to_vec(), Ok(3)));
        o.read(Extension::PaxLocal, b"11 path=pp\n15 linkpath=ll\n11 size=42\n").unwrap();
        assert_eq!((o.name(b"h".to_vec()), o.link(b"l"), o.size(3)), (b"pp".to_vec(), b"ll".to_vec(), Ok(42)));
        // A later `x` header replaces the earlier one's records; a GNU long name wins over both.
        o.read(Extension::PaxLocal, b"8 path=\n").unwrap();
        assert_eq!((o.name(b"h".to_vec()), o.link(b"l"), o.size(3)), (Vec::new(), b"l".to_vec(), Ok(3)));
        o.read(Extension::GnuLongName, b"long\0junk").unwrap();
        assert_eq!(o.name(b"h".to_vec()), b"long");
        o.read(Extension::PaxLocal, b"11 size=-1\n").unwrap();
        assert!(o.size(3).unwrap_err().message.contains("negative"));
        o.read(Extension::PaxLocal, b"11 size=zz\n").unwrap();
        assert!(o.size(3).unwrap_err().message.contains("invalid PAX size"));
    }

    #[test]
    fn padding_and_checksum() {
        assert_eq!((padding_after(0), padding_after(1), padding_after(512), padding_after(513)), (0, 511, 0, 511));
        let mut block = [0u8; BLOCK];
        block[0] = 0xff;
        // 8 spaces for the checksum field, plus the one byte.
        assert_eq!(checksum_sums(&block), (8 * 32 + 255, 8 * 32 - 1));
    }
}
