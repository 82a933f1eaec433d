//! Plain tars read raw, in native and wasm tests alike: each entry's 512-byte header and data,
//! as the archive has them (no extension headers applied), to compare archives entry by entry.

pub struct RawEntry {
    pub name: String,
    /// The header block; its typeflag is `header[156]`.
    pub header: Vec<u8>,
    pub data: Vec<u8>,
    /// Offset of the header block in the tar.
    pub offset: usize,
}

/// Every entry's raw 512-byte header and data, in archive order, up to the end blocks.
pub fn raw_entries(tar: &[u8]) -> Vec<RawEntry> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at..at + 512].iter().any(|b| *b != 0) {
        let h = &tar[at..at + 512];
        let name = String::from_utf8_lossy(&h[..100]).trim_end_matches('\0').to_string();
        let size = usize::from_str_radix(String::from_utf8_lossy(&h[124..135]).trim_matches(['\0', ' ']), 8).unwrap();
        out.push(RawEntry { name, header: h.to_vec(), data: tar[at + 512..at + 512 + size].to_vec(), offset: at });
        at += 512 + size.div_ceil(512) * 512;
    }
    out
}
