//! One layer: the files of a layer tar are generated (deterministic contents), streamed through
//! SHA-256 to get the real DiffID, and described by a tar-split NDJSON stream exactly as
//! moby's layer store keeps it (`tar-split.json.gz`, vbatts/tar-split's JSON packer): per member one
//! SegmentType entry with the raw bytes before the data (previous padding, PAX header,
//! 512-byte header), one FileType entry with name, size and CRC-64 of the data; at the end the
//! padding plus the two zero blocks, then an empty segment.

use super::crc64::Crc64;
use super::rng::Rng;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use flate2::write::GzEncoder;
use flate2::Compression;
use imagestore::digest::{Digest, Sha256Hasher};
use serde::Serialize;
use std::io::Write;

const BLOCK: usize = 512;

/// What a tar member is.
#[derive(Clone, Debug)]
pub enum Kind {
    Dir,
    /// A regular file whose `size` bytes are generated from `seed`.
    File {
        size: u64,
        seed: u64,
    },
    Symlink(String),
    Hardlink(String),
    /// `.wh.<name>` / `.wh..wh..opq` markers: empty regular files.
    Whiteout,
}

#[derive(Clone, Debug)]
pub struct Member {
    /// Path inside the layer, without a leading `/`; directories end with `/`.
    pub path: String,
    pub kind: Kind,
    pub mode: u32,
}

impl Member {
    pub fn dir(path: &str) -> Member {
        let path = if path.ends_with('/') { path.to_string() } else { format!("{path}/") };
        Member { path, kind: Kind::Dir, mode: 0o755 }
    }
    pub fn file(path: &str, size: u64, seed: u64) -> Member {
        Member { path: path.to_string(), kind: Kind::File { size, seed }, mode: 0o644 }
    }
}

/// A built layer: what `layerdb/sha256/<chainID>/` records about it.
pub struct Layer {
    pub diff_id: Digest,
    /// Sum of the members' data sizes (what the naive graphdriver diff reports as `size`).
    pub size: u64,
    pub tar_split_gz: Vec<u8>,
}

/// One line of tar-split NDJSON, in the field order Go's encoder writes.
#[derive(Serialize)]
struct Entry<'a> {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "is_zero")]
    size: u64,
    payload: Option<String>,
    position: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

const FILE_TYPE: u8 = 1;
const SEGMENT_TYPE: u8 = 2;

/// Builds a layer from its members (which must list parent directories before children).
pub fn build_layer(members: &[Member], mtime: u64) -> Layer {
    let mut w = LayerWriter::new();
    for m in members {
        w.add(m, mtime);
    }
    w.finish()
}

struct LayerWriter {
    tar: Sha256Hasher,
    split: GzEncoder<Vec<u8>>,
    position: u64,
    pending_padding: usize,
    size: u64,
    crc: Crc64,
    buf: Vec<u8>,
}

impl LayerWriter {
    fn new() -> LayerWriter {
        LayerWriter {
            tar: Sha256Hasher::new(),
            split: GzEncoder::new(Vec::new(), Compression::default()),
            position: 0,
            pending_padding: 0,
            size: 0,
            crc: Crc64::new(),
            buf: vec![0; 64 * 1024],
        }
    }

    fn add(&mut self, m: &Member, mtime: u64) {
        let data_size = match m.kind {
            Kind::File { size, .. } => size,
            _ => 0,
        };
        let mut segment = vec![0u8; self.pending_padding];
        segment.extend_from_slice(&member_headers(m, data_size, mtime));
        self.tar.update(&segment);
        self.emit(SEGMENT_TYPE, None, 0, Some(BASE64.encode(&segment)));

        let crc = match m.kind {
            Kind::File { size, seed } if size > 0 => Some(self.stream_data(size, seed)),
            _ => None,
        };
        self.emit(FILE_TYPE, Some(&m.path), data_size, crc.map(|c| BASE64.encode(c)));
        self.size += data_size;
        self.pending_padding = padding(data_size);
    }

    /// Generates the file data, feeding the tar hash; returns the data's CRC-64.
    fn stream_data(&mut self, size: u64, seed: u64) -> [u8; 8] {
        let mut rng = Rng::new(seed);
        self.crc.reset();
        let mut left = size;
        while left > 0 {
            let n = left.min(self.buf.len() as u64) as usize;
            rng.fill(&mut self.buf[..n]);
            self.tar.update(&self.buf[..n]);
            self.crc.update(&self.buf[..n]);
            left -= n as u64;
        }
        self.crc.sum_bytes()
    }

    fn emit(&mut self, kind: u8, name: Option<&str>, size: u64, payload: Option<String>) {
        let e = Entry { kind, name, size, payload, position: self.position };
        let line = go_json(&serde_json::to_string(&e).expect("tar-split entry serializes"));
        self.split.write_all(line.as_bytes()).expect("writing to memory");
        self.split.write_all(b"\n").expect("writing to memory");
        self.position += 1;
    }

    fn finish(mut self) -> Layer {
        // End of archive: the last member's padding and two zero blocks, then the empty
        // segment tar-split writes when it finds no trailing bytes.
        let trailer = vec![0u8; self.pending_padding + 2 * BLOCK];
        self.tar.update(&trailer);
        self.emit(SEGMENT_TYPE, None, 0, Some(BASE64.encode(&trailer)));
        self.emit(SEGMENT_TYPE, None, 0, Some(String::new()));
        Layer {
            diff_id: self.tar.finish(),
            size: self.size,
            tar_split_gz: self.split.finish().expect("gzip to memory"),
        }
    }
}

fn padding(size: u64) -> usize {
    ((BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64) as usize
}

/// Go's `encoding/json` escapes `<`, `>` and `&`; those characters only occur inside strings
/// in JSON text, so replacing them keeps the document valid and matches Docker's bytes.
pub fn go_json(s: &str) -> String {
    s.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

/// The raw header blocks of a member as Go's archive/tar writes them: a USTAR header (long
/// names split into prefix/name), preceded by a PAX `x` header when the name is not ASCII or
/// cannot be split.
fn member_headers(m: &Member, size: u64, mtime: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let split = ustar_split(&m.path);
    if split.is_none() {
        let record = pax_record("path", &m.path);
        let (dir, base) = match m.path.trim_end_matches('/').rsplit_once('/') {
            Some((d, b)) => (format!("{d}/"), b),
            None => (String::new(), m.path.trim_end_matches('/')),
        };
        let pax_name = to_ascii(&format!("{dir}PaxHeaders.0/{base}"));
        let mut h = base_header(tar::EntryType::XHeader, 0, record.len() as u64, mtime);
        write_name(&mut h, "", &pax_name);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(record.as_bytes());
        out.resize(out.len() + padding(record.len() as u64), 0);
    }
    let kind = match &m.kind {
        Kind::Dir => tar::EntryType::Directory,
        Kind::File { .. } | Kind::Whiteout => tar::EntryType::Regular,
        Kind::Symlink(_) => tar::EntryType::Symlink,
        Kind::Hardlink(_) => tar::EntryType::Link,
    };
    let mut h = base_header(kind, m.mode, size, mtime);
    let (prefix, name) = split.unwrap_or_else(|| (String::new(), to_ascii(&m.path)));
    write_name(&mut h, &prefix, &name);
    if let Kind::Symlink(target) | Kind::Hardlink(target) = &m.kind {
        h.set_link_name(target).expect("short ASCII link target");
    }
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out
}

fn base_header(kind: tar::EntryType, mode: u32, size: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(size);
    h.set_mtime(mtime);
    h
}

fn write_name(h: &mut tar::Header, prefix: &str, name: &str) {
    let ustar = h.as_ustar_mut().expect("USTAR header");
    let n = name.len().min(ustar.name.len());
    ustar.name[..n].copy_from_slice(&name.as_bytes()[..n]);
    let p = prefix.len().min(ustar.prefix.len());
    ustar.prefix[..p].copy_from_slice(&prefix.as_bytes()[..p]);
}

/// USTAR's name/prefix split, following Go's `splitUSTARPath`: `None` when the path needs PAX.
fn ustar_split(path: &str) -> Option<(String, String)> {
    if !path.is_ascii() {
        return None;
    }
    if path.len() <= 100 {
        return Some((String::new(), path.to_string()));
    }
    let mut length = path.len();
    if length > 156 {
        length = 156;
    } else if path.as_bytes()[length - 1] == b'/' {
        length -= 1;
    }
    let i = path[..length].rfind('/')?;
    let (nlen, plen) = (path.len() - i - 1, i);
    if i == 0 || nlen > 100 || nlen == 0 || plen > 155 {
        return None;
    }
    Some((path[..i].to_string(), path[i + 1..].to_string()))
}

/// A PAX record `"<len> <key>=<value>\n"` where `<len>` counts the whole record.
fn pax_record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut len = body.len();
    loop {
        let total = len.to_string().len() + body.len();
        if total == len {
            return format!("{len}{body}");
        }
        len = total;
    }
}

fn to_ascii(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_counts_itself() {
        let r = pax_record("path", "data/naïve-ファイル.txt");
        assert_eq!(r, "37 path=data/naïve-ファイル.txt\n");
        assert_eq!(r.len(), 37);
    }

    #[test]
    fn splits_long_paths_like_go() {
        let p = "data/a-very-long-directory-name-that-goes-on/and-on-and-on-past-the-old-tar-limit/of-one-hundred-bytes/file.txt";
        let (prefix, name) = ustar_split(p).unwrap();
        assert_eq!(name, "file.txt");
        assert_eq!(
            prefix,
            "data/a-very-long-directory-name-that-goes-on/and-on-and-on-past-the-old-tar-limit/of-one-hundred-bytes"
        );
        assert!(ustar_split("naïve").is_none());
    }
}
