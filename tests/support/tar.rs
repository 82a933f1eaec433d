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

pub const BLOCK: usize = 512;

/// Recomputes a header block's checksum (after an edit that must still pass it).
pub fn fix_checksum(h: &mut [u8]) {
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

/// A ustar header block: mode 0644, owner 0:0, time 0; a name over 100 bytes goes in the
/// prefix field (split at a `/`).
pub fn header(name: &str, size: u64, typeflag: u8, link: &str) -> Vec<u8> {
    let mut h = vec![0u8; BLOCK];
    let split = (name.len() > 100)
        .then(|| name.char_indices().find(|&(i, c)| c == '/' && name.len() - i - 1 <= 100).map(|(i, _)| i))
        .flatten();
    let (prefix, name) = match split {
        Some(i) => (&name[..i], &name[i + 1..]),
        None => ("", name),
    };
    h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = typeflag;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    fix_checksum(&mut h);
    h
}

/// Pads `out` to a whole block.
fn pad(out: &mut Vec<u8>) {
    out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
}

/// A plain tar of `(name, typeflag, link, data)` entries, with its end blocks.
pub fn tar_of(items: &[(&str, u8, &str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, flag, link, data) in items {
        out.extend(header(name, data.len() as u64, *flag, link));
        out.extend_from_slice(data);
        pad(&mut out);
    }
    out.extend([0u8; 2 * BLOCK]);
    out
}

/// The plain tar `tar` again, with the data of each entry whose name `pick` chooses replaced by
/// `edit(its data)` (its header kept, but for the size and checksum); every other entry byte for
/// byte. For corpus cases that change one file of a real fixture.
pub fn replace_entry(tar: &[u8], pick: impl Fn(&str) -> bool, edit: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(tar.len());
    for e in raw_entries(tar) {
        if pick(&e.name) {
            let data = edit(&e.data);
            let mut h = e.header.clone();
            h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
            fix_checksum(&mut h);
            out.extend(h);
            out.extend(data);
        } else {
            out.extend_from_slice(&tar[e.offset..e.offset + BLOCK + e.data.len()]);
        }
        pad(&mut out);
    }
    out.extend([0u8; 2 * BLOCK]);
    out
}
