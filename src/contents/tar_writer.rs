//! Tar headers as Go's `archive/tar` writes them in USTAR format (what moby's
//! `archive.Tar` emits for `docker save`): octal fields zero-padded and NUL-terminated, uid/gid
//! 0 with names `root`, device numbers written as zeros, the file type bits in the mode
//! (`fillGo18FileTypeBits`: 0o040000 for directories, 0o100000 for files, 0o120000 for
//! symlinks). Names longer than 100 bytes use the ustar prefix field. Docker 25's writer
//! (the OCI layout of its `docker save`) leaves out the type bits and the owner names.

use crate::error::{Error, Result};

pub const BLOCK: usize = 512;

/// What a header describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File { size: u64 },
    Dir,
    Symlink { target: String },
}

/// Which dockerd's tar writer a header imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Docker 20.10: file type bits in the mode, owner names `root`.
    Docker20,
    /// Docker 25 (its `docker save` OCI layout): permission bits only, no owner names.
    Docker25,
}

/// One header: the name as it goes into the archive (directories end in `/`), its permission
/// bits and its modification time in Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub kind: Kind,
    pub perm: u32,
    pub mtime: i64,
    pub style: Style,
}

impl Header {
    pub fn file(name: impl Into<String>, size: u64, mtime: i64) -> Header {
        Header { name: name.into(), kind: Kind::File { size }, perm: 0o644, mtime, style: Style::Docker20 }
    }
    pub fn dir(name: impl Into<String>, mtime: i64) -> Header {
        Header { name: name.into(), kind: Kind::Dir, perm: 0o755, mtime, style: Style::Docker20 }
    }
    pub fn symlink(name: impl Into<String>, target: impl Into<String>, mtime: i64) -> Header {
        Header {
            name: name.into(),
            kind: Kind::Symlink { target: target.into() },
            perm: 0o777,
            mtime,
            style: Style::Docker20,
        }
    }

    /// The same header as Docker 25 writes it.
    pub fn docker25(self) -> Header {
        Header { style: Style::Docker25, ..self }
    }

    /// Bytes of data that follow the header.
    pub fn size(&self) -> u64 {
        match self.kind {
            Kind::File { size } => size,
            _ => 0,
        }
    }

    /// The 512-byte header block.
    pub fn encode(&self) -> Result<[u8; BLOCK]> {
        let mut b = [0u8; BLOCK];
        let (prefix, name) = split_name(&self.name)?;
        b[..name.len()].copy_from_slice(name.as_bytes());
        let (type_bits, flag, link) = match &self.kind {
            Kind::File { .. } => (0o100000, b'0', ""),
            Kind::Dir => (0o040000, b'5', ""),
            Kind::Symlink { target } => (0o120000, b'2', target.as_str()),
        };
        if link.len() > 100 {
            return Err(Error::invalid(format!("tar entry {:?}: link target over 100 bytes", self.name)));
        }
        let type_bits = if self.style == Style::Docker25 { 0 } else { type_bits };
        octal(&mut b[100..108], u64::from(type_bits | self.perm));
        octal(&mut b[108..116], 0);
        octal(&mut b[116..124], 0);
        octal(&mut b[124..136], self.size());
        octal(&mut b[136..148], self.mtime.max(0) as u64);
        b[156] = flag;
        b[157..157 + link.len()].copy_from_slice(link.as_bytes());
        b[257..263].copy_from_slice(b"ustar\0");
        b[263..265].copy_from_slice(b"00");
        if self.style == Style::Docker20 {
            b[265..269].copy_from_slice(b"root");
            b[297..301].copy_from_slice(b"root");
        }
        octal(&mut b[329..337], 0);
        octal(&mut b[337..345], 0);
        b[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
        write_checksum(&mut b);
        Ok(b)
    }
}

/// Fills in a header block's checksum as Go writes it: computed with its own field as spaces,
/// written as 6 octal digits, NUL, space.
pub(crate) fn write_checksum(b: &mut [u8; BLOCK]) {
    b[148..156].copy_from_slice(b"        ");
    let sum: u32 = b.iter().map(|&x| u32::from(x)).sum();
    b[148..154].copy_from_slice(format!("{sum:06o}").as_bytes());
    b[154] = 0;
    b[155] = b' ';
}

/// Go's `formatOctal`: zero-padded to the field width minus one, then NUL.
pub(crate) fn octal(field: &mut [u8], v: u64) {
    let s = format!("{v:0width$o}", width = field.len() - 1);
    let s = &s.as_bytes()[s.len() - (field.len() - 1)..];
    field[..s.len()].copy_from_slice(s);
    field[field.len() - 1] = 0;
}

/// Splits a name into the ustar prefix (≤ 155 bytes) and name (≤ 100 bytes) at a `/`.
pub(crate) fn split_name(name: &str) -> Result<(&str, &str)> {
    if name.len() <= 100 {
        return Ok(("", name));
    }
    let too_long = || Error::invalid(format!("tar entry name {name:?} is too long for a ustar header"));
    let bytes = name.as_bytes();
    let from = name.len().saturating_sub(101);
    let at = (from..name.len().min(156)).find(|&i| bytes[i] == b'/').ok_or_else(too_long)?;
    let (prefix, rest) = (&name[..at], &name[at + 1..]);
    if rest.is_empty() || rest.len() > 100 || prefix.len() > 155 {
        return Err(too_long());
    }
    Ok((prefix, rest))
}

/// Zero bytes that pad `size` bytes of data to a whole block.
pub fn padding(size: u64) -> usize {
    ((BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64) as usize
}

/// The end of an archive: two zero blocks.
pub const TRAILER: [u8; 2 * BLOCK] = [0; 2 * BLOCK];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_like_go() {
        // The first header of the docker20/basic docker-save.tar, field by field.
        let name = "090d67032581fc68c5b35525d8071e4f93974ffb67f04aa7c55224b3d83d932b/";
        let h = Header::dir(name, 1795441953).encode().unwrap();
        assert_eq!(&h[..name.len()], name.as_bytes());
        assert_eq!(&h[100..108], b"0040755\0");
        assert_eq!(&h[124..136], b"00000000000\0");
        assert_eq!(&h[136..148], b"15301042441\0");
        assert_eq!(&h[148..156], b"021371\0 ");
        assert_eq!(&h[257..265], b"ustar\x0000");
        assert_eq!(&h[329..345], b"0000000\x000000000\x00");
        let sum: u32 =
            h.iter().enumerate().map(|(i, &x)| if (148..156).contains(&i) { 32 } else { u32::from(x) }).sum();
        assert_eq!(std::str::from_utf8(&h[148..154]).unwrap(), format!("{sum:06o}"));
        assert_eq!(padding(3), 509);
        assert_eq!(padding(1024), 0);
        let long = format!("{}/{}", "a".repeat(120), "b".repeat(50));
        let h = Header::file(long, 1, 0).encode().unwrap();
        assert_eq!(&h[..50], "b".repeat(50).as_bytes());
        assert_eq!(&h[345..465], "a".repeat(120).as_bytes());
    }
}
