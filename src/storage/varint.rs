//! LEB128 varints (zigzag for signed values) and a reader over a record body, shared by the
//! binary record kinds that use them (the analysis entries and search index records). Each kind
//! names itself in the reader, so a bad record's error says which kind it is.

use crate::error::{Error, Result};

/// Appends `v` as an unsigned LEB128 varint.
pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zigzag-encoded, so that small negative numbers stay short.
pub fn put_ivarint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Reads a record body front to back; every failure is `data_corrupt`, worded
/// "`<kind>`: truncated" or "`<kind>`: varint too long".
pub struct VarintReader<'a> {
    bytes: &'a [u8],
    at: usize,
    kind: &'static str,
}

impl<'a> VarintReader<'a> {
    /// A reader over `bytes`, a record of `kind` (e.g. "search index record").
    pub fn new(bytes: &'a [u8], kind: &'static str) -> VarintReader<'a> {
        VarintReader { bytes, at: 0, kind }
    }
    // Errors are built out of line: the readers below run for every field of every member.
    #[cold]
    #[inline(never)]
    fn truncated(&self) -> Error {
        Error::corrupt(format!("{}: truncated", self.kind))
    }
    /// Whether every byte has been read.
    pub fn at_end(&self) -> bool {
        self.at == self.bytes.len()
    }
    /// How many bytes have been read.
    pub fn position(&self) -> usize {
        self.at
    }
    #[inline]
    pub fn byte(&mut self) -> Result<u8> {
        let b = *self.bytes.get(self.at).ok_or_else(|| self.truncated())?;
        self.at += 1;
        Ok(b)
    }
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| self.truncated())?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    #[inline]
    pub fn uvarint(&mut self) -> Result<u64> {
        // Most values (lengths, flags, small numbers) are one byte.
        if let Some(&b) = self.bytes.get(self.at) {
            if b < 0x80 {
                self.at += 1;
                return Ok(u64::from(b));
            }
        }
        self.uvarint_long()
    }
    fn uvarint_long(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(self.too_long())
    }
    #[cold]
    #[inline(never)]
    fn too_long(&self) -> Error {
        Error::corrupt(format!("{}: varint too long", self.kind))
    }
    #[inline]
    pub fn ivarint(&mut self) -> Result<i64> {
        let u = self.uvarint()?;
        Ok((u >> 1) as i64 ^ -((u & 1) as i64))
    }
    /// A length or count.
    #[inline]
    pub fn length(&mut self) -> Result<usize> {
        usize::try_from(self.uvarint()?).map_err(|_| self.truncated())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damage() {
        let mut out = Vec::new();
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            put_uvarint(&mut out, v);
        }
        for v in [0i64, -1, 1, -64, 64, i64::MIN, i64::MAX] {
            put_ivarint(&mut out, v);
        }
        let mut r = VarintReader::new(&out, "test record");
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            assert_eq!(r.uvarint().unwrap(), v);
        }
        for v in [0i64, -1, 1, -64, 64, i64::MIN, i64::MAX] {
            assert_eq!(r.ivarint().unwrap(), v);
        }
        assert!(r.at_end());
        assert_eq!(r.byte().unwrap_err().message, "test record: truncated");
        let mut long = VarintReader::new(&[0xff; 11], "test record");
        assert_eq!(long.uvarint().unwrap_err().message, "test record: varint too long");
        assert_eq!(VarintReader::new(&[1, 2], "k").take(3).unwrap_err().message, "k: truncated");
    }
}
