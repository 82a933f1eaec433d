//! The pieces of the tar format that every tar reader in this crate needs alike (the
//! tar-split reader, the streaming importer and the tar-split writer): the block size, data
//! padding, the header checksum and PAX extended-header records.

use crate::error::{Error, Result};

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
    fn padding_and_checksum() {
        assert_eq!((padding_after(0), padding_after(1), padding_after(512), padding_after(513)), (0, 511, 0, 511));
        let mut block = [0u8; BLOCK];
        block[0] = 0xff;
        // 8 spaces for the checksum field, plus the one byte.
        assert_eq!(checksum_sums(&block), (8 * 32 + 255, 8 * 32 - 1));
    }
}
