//! The frame around the store's binary records: a 4-byte magic, a version, the CRC-32 of the
//! body (little endian), then the body. Written once here for every record kind that has one
//! (the Docker view's packed shards and config summary, the analysis entries and search index
//! records); each kind keeps its own magic, version and body layout, and maps the three ways a
//! frame can fail ([`FrameError`]) to its own `data_corrupt` message.
//!
//! Two version widths exist on disk and stay readable as they are: the Docker view's records
//! carry a `u32` version (a 12-byte header), the analysis records one byte (9 bytes).

use std::fmt;

/// How wide the version field of a record kind is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionWidth {
    /// One byte (the analysis records).
    U8,
    /// A little-endian `u32` (the Docker view's packed shards and config summary).
    U32,
}

/// One record kind's frame: its magic, the version this build writes and reads, the version
/// field's width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordFrame {
    pub magic: [u8; 4],
    pub version: u32,
    pub width: VersionWidth,
}

/// Why a record is not a whole record of this kind and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// Shorter than the header, or another magic: not a record of this kind.
    Foreign,
    /// A record of this kind, of another version (the one it holds).
    Version(u32),
    /// The body does not match its checksum.
    Checksum,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Foreign => f.write_str("not a record of this kind"),
            FrameError::Version(v) => write!(f, "version {v}"),
            FrameError::Checksum => f.write_str("checksum mismatch"),
        }
    }
}

impl RecordFrame {
    /// A kind whose version is one byte.
    pub const fn with_u8_version(magic: &[u8; 4], version: u8) -> RecordFrame {
        RecordFrame { magic: *magic, version: version as u32, width: VersionWidth::U8 }
    }

    /// A kind whose version is a little-endian `u32`.
    pub const fn with_u32_version(magic: &[u8; 4], version: u32) -> RecordFrame {
        RecordFrame { magic: *magic, version, width: VersionWidth::U32 }
    }

    /// Bytes before the body: magic, version, CRC-32.
    pub const fn header_len(&self) -> usize {
        match self.width {
            VersionWidth::U8 => 9,
            VersionWidth::U32 => 12,
        }
    }

    /// A record's header with the checksum still zero, in a buffer with room for `body`
    /// more bytes: append the body to it, then [`Self::seal`] it (no copy of the body).
    pub fn begin(&self, body: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.header_len() + body);
        out.extend_from_slice(&self.magic);
        match self.width {
            VersionWidth::U8 => out.push(self.version as u8),
            VersionWidth::U32 => out.extend_from_slice(&self.version.to_le_bytes()),
        }
        out.extend_from_slice(&[0; 4]);
        out
    }

    /// Writes the checksum of everything after the header of a record [`Self::begin`] started.
    pub fn seal(&self, record: &mut [u8]) {
        let at = self.header_len();
        let crc = crc32fast::hash(&record[at..]);
        record[at - 4..at].copy_from_slice(&crc.to_le_bytes());
    }

    /// The record of `body`.
    pub fn encode(&self, body: &[u8]) -> Vec<u8> {
        let mut out = self.begin(body.len());
        out.extend_from_slice(body);
        self.seal(&mut out);
        out
    }

    /// The body of a whole record of this kind and version whose checksum matches.
    pub fn open<'r>(&self, record: &'r [u8]) -> Result<&'r [u8], FrameError> {
        let at = self.header_len();
        if record.len() < at || record[..4] != self.magic {
            return Err(FrameError::Foreign);
        }
        let version = match self.width {
            VersionWidth::U8 => u32::from(record[4]),
            VersionWidth::U32 => u32::from_le_bytes(record[4..8].try_into().expect("4 bytes")),
        };
        if version != self.version {
            return Err(FrameError::Version(version));
        }
        let body = &record[at..];
        if crc32fast::hash(body).to_le_bytes() != record[at - 4..at] {
            return Err(FrameError::Checksum);
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NARROW: RecordFrame = RecordFrame::with_u8_version(b"TEST", 1);
    const WIDE: RecordFrame = RecordFrame::with_u32_version(b"test", 3);

    #[test]
    fn the_header_is_magic_version_crc_as_the_records_on_disk_have_it() {
        let body = b"hello";
        let crc = crc32fast::hash(body).to_le_bytes();
        let narrow = NARROW.encode(body);
        assert_eq!(narrow, [&b"TEST"[..], &[1], &crc, body].concat());
        let wide = WIDE.encode(body);
        assert_eq!(wide, [&b"test"[..], &3u32.to_le_bytes(), &crc, body].concat());
        assert_eq!(NARROW.open(&narrow), Ok(&body[..]));
        assert_eq!(WIDE.open(&wide), Ok(&body[..]));
        assert_eq!(NARROW.open(&NARROW.encode(b"")), Ok(&b""[..]));
    }

    #[test]
    fn a_frame_that_is_not_whole_or_of_this_version_is_refused() {
        let wide = WIDE.encode(b"body");
        for cut in 0..WIDE.header_len() {
            assert_eq!(WIDE.open(&wide[..cut]), Err(FrameError::Foreign), "cut at {cut}");
        }
        assert_eq!(WIDE.open(&wide[..wide.len() - 1]), Err(FrameError::Checksum));
        assert_eq!(NARROW.open(&wide), Err(FrameError::Foreign));
        let older = RecordFrame::with_u32_version(b"test", 2).encode(b"body");
        assert_eq!(WIDE.open(&older), Err(FrameError::Version(2)));
        let mut flipped = NARROW.encode(b"body");
        flipped[10] ^= 1;
        assert_eq!(NARROW.open(&flipped), Err(FrameError::Checksum));
    }
}
