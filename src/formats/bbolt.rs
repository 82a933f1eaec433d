//! Read-only reader for bbolt (etcd-io/bbolt) database files such as containerd's `meta.db`.
//!
//! It works on the bytes of the whole file (`&[u8]`): meta.db files are small (hundreds of KB
//! to a few MB), so keeping them in memory is fine and avoids any I/O abstraction. All fields
//! are little-endian (bbolt writes native order; every producer we target is little-endian —
//! a byte-swapped magic is reported as unsupported). Every offset is bounds-checked and page
//! walks detect loops; errors are `data_corrupt` and name the page id and offset.
//!
//! Layout facts used here (etcd-io/bbolt page.go and node.go): pages of `page_size` bytes, a 16-byte page header
//! `{id u64, flags u16, count u16, overflow u32}`; two meta pages (0 and 1) with an FNV-1a 64
//! checksum — the valid one with the higher txid wins; branch elements
//! `{pos u32, ksize u32, pgid u64}` and leaf elements `{flags u32, pos u32, ksize u32,
//! vsize u32}` whose `pos` is relative to the element itself; sub-bucket values start with
//! `{root pgid u64, sequence u64}` and hold an inline page image when `root == 0`.

use crate::error::{Error, Result};
use std::collections::HashSet;

const MAGIC: u32 = 0xED0C_DAED;
const VERSION: u32 = 2;
const PAGE_HEADER_SIZE: usize = 16;
const ELEMENT_SIZE: usize = 16;
const BUCKET_HEADER_SIZE: usize = 16;
const META_SIZE: usize = 64;

const BRANCH_PAGE: u16 = 0x01;
const LEAF_PAGE: u16 = 0x02;
const META_PAGE: u16 = 0x04;
const BUCKET_LEAF_FLAG: u32 = 0x01;

/// Deeper than any real B+tree (bbolt trees of millions of keys are < 10 levels) or bucket
/// nesting (containerd uses 6): beyond this the file is treated as looping/corrupt.
const MAX_DEPTH: usize = 64;

/// The selected meta page's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Which meta page was chosen (0 or 1).
    pub page: u64,
    pub page_size: u32,
    pub flags: u32,
    /// Root page of the top-level bucket.
    pub root: u64,
    pub sequence: u64,
    pub freelist: u64,
    /// High-water mark: number of pages in use.
    pub pgid: u64,
    pub txid: u64,
}

/// An open, read-only bbolt database over borrowed bytes.
#[derive(Clone, Copy)]
pub struct Db<'a> {
    data: &'a [u8],
    meta: Meta,
}

impl std::fmt::Debug for Db<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("len", &self.data.len()).field("meta", &self.meta).finish()
    }
}

/// A bucket: either rooted at a page or stored inline inside its parent's leaf value.
#[derive(Debug, Clone, Copy)]
pub struct Bucket<'a> {
    db: Db<'a>,
    root: BucketRoot<'a>,
    /// Nesting level (top-level bucket = 0), bounded by `MAX_DEPTH`.
    depth: usize,
}

#[derive(Debug, Clone, Copy)]
enum BucketRoot<'a> {
    Page(u64),
    /// The page image that follows the 16-byte bucket header in the parent's value.
    Inline(&'a [u8]),
}

/// A value in a bucket: plain bytes or a nested bucket.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Data(&'a [u8]),
    Bucket(Bucket<'a>),
}

impl<'a> Value<'a> {
    pub fn as_data(&self) -> Option<&'a [u8]> {
        match self {
            Value::Data(d) => Some(d),
            Value::Bucket(_) => None,
        }
    }
    pub fn as_bucket(&self) -> Option<Bucket<'a>> {
        match self {
            Value::Bucket(b) => Some(*b),
            Value::Data(_) => None,
        }
    }
}

/// One key/value pair of a bucket, in key order.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub key: &'a [u8],
    pub value: Value<'a>,
}

/// A page (or an inline page image) with its bytes, so element offsets can be checked against it.
#[derive(Clone, Copy)]
struct Page<'a> {
    /// The page id, or `None` for an inline page.
    id: Option<u64>,
    bytes: &'a [u8],
    flags: u16,
    count: usize,
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes(b[off..off + 2].try_into().expect("2 bytes"))
}
fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

/// FNV-1a, 64-bit (Go's hash/fnv New64a), which bbolt uses for the meta checksum.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Decodes and validates the meta page that starts at `offset`.
fn read_meta(data: &[u8], offset: usize, page: u64) -> Result<Meta> {
    let at = |m: &str| Error::corrupt(format!("bbolt meta page {page} at offset {offset}: {m}"));
    let start = offset + PAGE_HEADER_SIZE;
    let Some(m) = data.get(start..start + META_SIZE) else {
        return Err(at(&format!("file too short ({} bytes)", data.len())));
    };
    let magic = u32_at(m, 0);
    if magic == MAGIC.swap_bytes() {
        return Err(Error::unsupported(format!("bbolt meta page {page}: big-endian database files are not supported")));
    }
    if magic != MAGIC {
        return Err(at(&format!("bad magic {magic:#010x}")));
    }
    let version = u32_at(m, 4);
    if version != VERSION {
        return Err(at(&format!("unsupported version {version}")));
    }
    let checksum = u64_at(m, 56);
    let computed = fnv1a64(&m[..56]);
    if checksum != computed {
        return Err(at(&format!("checksum mismatch (stored {checksum:#018x}, computed {computed:#018x})")));
    }
    let flags = u16_at(data, offset + 8);
    if flags != META_PAGE {
        return Err(at(&format!("page flags {flags:#06x} are not a meta page")));
    }
    let meta = Meta {
        page,
        page_size: u32_at(m, 8),
        flags: u32_at(m, 12),
        root: u64_at(m, 16),
        sequence: u64_at(m, 24),
        freelist: u64_at(m, 32),
        pgid: u64_at(m, 40),
        txid: u64_at(m, 48),
    };
    if meta.page_size < 512 || !meta.page_size.is_power_of_two() || meta.page_size > 1 << 20 {
        return Err(at(&format!("implausible page size {}", meta.page_size)));
    }
    // bbolt never shrinks a file below its high-water mark, so a shorter file was cut off
    // (e.g. copied while being written); the other meta may still describe a complete tree.
    let needed = (meta.pgid as u128) * (meta.page_size as u128);
    if needed > data.len() as u128 || meta.pgid < 2 {
        return Err(at(&format!(
            "file truncated: {} pages of {} bytes in use but the file has {} bytes",
            meta.pgid,
            meta.page_size,
            data.len()
        )));
    }
    Ok(meta)
}

impl<'a> Db<'a> {
    /// Opens a database from the bytes of the whole file: picks the valid meta page with the
    /// higher txid (falling back to the other one when a checksum or magic is bad).
    pub fn open(data: &'a [u8]) -> Result<Db<'a>> {
        let meta0 = read_meta(data, 0, 0);
        // The page size comes from meta 0; if meta 0 is damaged, look for meta 1 at each
        // plausible page size (bbolt itself would fall back to the OS page size).
        let meta1 = match &meta0 {
            Ok(m0) => read_meta(data, m0.page_size as usize, 1),
            Err(_) => {
                let mut found = Err(Error::corrupt("bbolt meta page 1: not found at any page size"));
                for shift in 9..=16 {
                    let size = 1usize << shift;
                    if let Ok(m1) = read_meta(data, size, 1) {
                        if m1.page_size as usize == size {
                            found = Ok(m1);
                            break;
                        }
                    }
                }
                found
            }
        };
        let meta = match (meta0, meta1) {
            (Ok(a), Ok(b)) => {
                if b.txid > a.txid {
                    b
                } else {
                    a
                }
            }
            (Ok(a), Err(_)) => a,
            (Err(_), Ok(b)) => b,
            (Err(e0), Err(e1)) => {
                let code = if e0.code == e1.code { e0.code } else { crate::error::ErrorCode::DataCorrupt };
                return Err(Error::new(code, format!("not a valid bbolt file: {}; {}", e0.message, e1.message)));
            }
        };
        Ok(Db { data, meta })
    }

    pub fn meta(&self) -> Meta {
        self.meta
    }

    pub fn page_size(&self) -> usize {
        self.meta.page_size as usize
    }

    /// The top-level bucket (its keys are the root bucket names, e.g. containerd's `v1`).
    pub fn root(&self) -> Bucket<'a> {
        Bucket { db: *self, root: BucketRoot::Page(self.meta.root), depth: 0 }
    }

    /// Reads page `id` (with its overflow pages) and checks its header.
    fn page(&self, id: u64) -> Result<Page<'a>> {
        let ps = self.page_size();
        let err = |m: String| Error::corrupt(format!("bbolt page {id}: {m}"));
        if id < 2 {
            return Err(err("points at a meta page".into()));
        }
        if id >= self.meta.pgid {
            return Err(err(format!("beyond the high-water mark {}", self.meta.pgid)));
        }
        let offset = usize::try_from(id)
            .ok()
            .and_then(|i| i.checked_mul(ps))
            .filter(|o| o + PAGE_HEADER_SIZE <= self.data.len());
        let Some(offset) = offset else {
            return Err(err(format!("starts beyond the end of the file ({} bytes)", self.data.len())));
        };
        let header = &self.data[offset..offset + PAGE_HEADER_SIZE];
        let stored_id = u64_at(header, 0);
        if stored_id != id {
            return Err(err(format!("header at offset {offset} says page id {stored_id}")));
        }
        let overflow = u32_at(header, 12) as usize;
        let end = (overflow + 1).checked_mul(ps).and_then(|len| offset.checked_add(len));
        let bytes = match end {
            Some(end) if end <= self.data.len() => &self.data[offset..end],
            _ => {
                return Err(err(format!(
                    "at offset {offset} with {overflow} overflow pages runs past the end of the file ({} bytes)",
                    self.data.len()
                )))
            }
        };
        Page::parse(Some(id), bytes, offset)
    }
}

impl<'a> Page<'a> {
    /// Parses the header of a page image and checks that its element array fits.
    fn parse(id: Option<u64>, bytes: &'a [u8], file_offset: usize) -> Result<Page<'a>> {
        let page = Page { id, bytes, flags: 0, count: 0 };
        if bytes.len() < PAGE_HEADER_SIZE {
            return Err(page.err(
                0,
                format!("page image of {} bytes is shorter than its header", bytes.len()),
                file_offset,
            ));
        }
        let flags = u16_at(bytes, 8);
        let count = u16_at(bytes, 10) as usize;
        let page = Page { flags, count, ..page };
        if flags != BRANCH_PAGE && flags != LEAF_PAGE {
            return Err(page.err(8, format!("expected a branch or leaf page, found flags {flags:#06x}"), file_offset));
        }
        if PAGE_HEADER_SIZE + count * ELEMENT_SIZE > bytes.len() {
            return Err(page.err(10, format!("{count} elements do not fit in {} bytes", bytes.len()), file_offset));
        }
        Ok(page)
    }

    fn describe(&self) -> String {
        match self.id {
            Some(id) => format!("bbolt page {id}"),
            None => "bbolt inline bucket page".to_string(),
        }
    }

    fn err(&self, offset: usize, msg: String, file_offset: usize) -> Error {
        match self.id {
            Some(_) => Error::corrupt(format!("{} (file offset {}): {msg}", self.describe(), file_offset + offset)),
            None => Error::corrupt(format!("{} (offset {offset} in the value): {msg}", self.describe())),
        }
    }

    fn is_leaf(&self) -> bool {
        self.flags == LEAF_PAGE
    }

    /// A slice `len` bytes long at `elem_offset + pos` within this page, bounds-checked.
    fn slice_at(&self, elem_index: usize, pos: u32, len: usize) -> Result<&'a [u8]> {
        let elem_offset = PAGE_HEADER_SIZE + elem_index * ELEMENT_SIZE;
        let start = elem_offset.checked_add(pos as usize);
        match start.and_then(|s| s.checked_add(len).map(|e| (s, e))) {
            Some((s, e)) if e <= self.bytes.len() => Ok(&self.bytes[s..e]),
            _ => Err(Error::corrupt(format!(
                "{}: element {elem_index} points at {len} bytes at offset {} + {pos}, outside the page ({} bytes)",
                self.describe(),
                elem_offset,
                self.bytes.len()
            ))),
        }
    }

    /// Branch element `i`: (first key of the child, child page id).
    fn branch_element(&self, i: usize) -> Result<(&'a [u8], u64)> {
        let e = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
        let pos = u32_at(self.bytes, e);
        let ksize = u32_at(self.bytes, e + 4) as usize;
        let pgid = u64_at(self.bytes, e + 8);
        Ok((self.slice_at(i, pos, ksize)?, pgid))
    }

    /// Leaf element `i`: (flags, key, value).
    fn leaf_element(&self, i: usize) -> Result<(u32, &'a [u8], &'a [u8])> {
        let e = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
        let flags = u32_at(self.bytes, e);
        let pos = u32_at(self.bytes, e + 4);
        let ksize = u32_at(self.bytes, e + 8) as usize;
        let vsize = u32_at(self.bytes, e + 12) as usize;
        let kv = self.slice_at(i, pos, ksize + vsize)?;
        Ok((flags, &kv[..ksize], &kv[ksize..]))
    }
}

impl<'a> Bucket<'a> {
    fn root_page(&self) -> Result<Page<'a>> {
        match self.root {
            BucketRoot::Page(id) => self.db.page(id),
            BucketRoot::Inline(bytes) => Page::parse(None, bytes, 0),
        }
    }

    fn child_page(&self, from: &Page<'a>, id: u64) -> Result<Page<'a>> {
        if matches!(self.root, BucketRoot::Inline(_)) {
            return Err(Error::corrupt(format!("{}: an inline bucket cannot hold branch pages", from.describe())));
        }
        self.db.page(id)
    }

    /// Turns a leaf value into `Value`, decoding sub-bucket headers.
    fn make_value(&self, page: &Page<'a>, key: &[u8], flags: u32, value: &'a [u8]) -> Result<Value<'a>> {
        if flags & BUCKET_LEAF_FLAG == 0 {
            return Ok(Value::Data(value));
        }
        let key_desc = String::from_utf8_lossy(key);
        if value.len() < BUCKET_HEADER_SIZE {
            return Err(Error::corrupt(format!(
                "{}: bucket {key_desc:?} has a {}-byte header (need {BUCKET_HEADER_SIZE})",
                page.describe(),
                value.len()
            )));
        }
        if self.depth + 1 > MAX_DEPTH {
            return Err(Error::corrupt(format!(
                "{}: bucket {key_desc:?} is nested more than {MAX_DEPTH} levels deep (loop?)",
                page.describe()
            )));
        }
        let root = u64_at(value, 0);
        let root = if root == 0 { BucketRoot::Inline(&value[BUCKET_HEADER_SIZE..]) } else { BucketRoot::Page(root) };
        Ok(Value::Bucket(Bucket { db: self.db, root, depth: self.depth + 1 }))
    }

    /// Calls `f` for each entry in key order. Stops at (and returns) the first error.
    pub fn for_each(&self, mut f: impl FnMut(Entry<'a>) -> Result<()>) -> Result<()> {
        let mut visited = HashSet::new();
        let root = self.root_page()?;
        self.walk(root, &mut visited, 0, &mut f)
    }

    fn walk(
        &self,
        page: Page<'a>,
        visited: &mut HashSet<u64>,
        level: usize,
        f: &mut impl FnMut(Entry<'a>) -> Result<()>,
    ) -> Result<()> {
        if let Some(id) = page.id {
            if !visited.insert(id) {
                return Err(Error::corrupt(format!("bbolt page {id} is reached twice in one bucket (page loop)")));
            }
        }
        if level > MAX_DEPTH {
            return Err(Error::corrupt(format!("{}: tree deeper than {MAX_DEPTH} levels", page.describe())));
        }
        for i in 0..page.count {
            if page.is_leaf() {
                let (flags, key, value) = page.leaf_element(i)?;
                f(Entry { key, value: self.make_value(&page, key, flags, value)? })?;
            } else {
                let (_, child) = page.branch_element(i)?;
                let child = self.child_page(&page, child)?;
                self.walk(child, visited, level + 1, f)?;
            }
        }
        Ok(())
    }

    /// All entries in key order.
    pub fn entries(&self) -> Result<Vec<Entry<'a>>> {
        let mut out = Vec::new();
        self.for_each(|e| {
            out.push(e);
            Ok(())
        })?;
        Ok(out)
    }

    /// Looks `key` up by descending the tree (branch keys are each child's first key).
    pub fn get(&self, key: &[u8]) -> Result<Option<Value<'a>>> {
        let mut page = self.root_page()?;
        let mut visited = HashSet::new();
        loop {
            if let Some(id) = page.id {
                if !visited.insert(id) || visited.len() > MAX_DEPTH {
                    return Err(Error::corrupt(format!("bbolt page {id}: page loop while looking up a key")));
                }
            }
            if page.is_leaf() {
                for i in 0..page.count {
                    let (flags, k, v) = page.leaf_element(i)?;
                    if k == key {
                        return Ok(Some(self.make_value(&page, k, flags, v)?));
                    }
                }
                return Ok(None);
            }
            // The last child whose first key is <= key (or the first child).
            let mut next = None;
            for i in 0..page.count {
                let (k, child) = page.branch_element(i)?;
                if i == 0 || k <= key {
                    next = Some(child);
                } else {
                    break;
                }
            }
            let Some(child) = next else { return Ok(None) };
            page = self.child_page(&page, child)?;
        }
    }

    /// The plain value at `key`; `None` when absent or when `key` names a sub-bucket (as bbolt's `Get`).
    pub fn get_data(&self, key: &[u8]) -> Result<Option<&'a [u8]>> {
        Ok(self.get(key)?.and_then(|v| v.as_data()))
    }

    /// The sub-bucket at `key`; `None` when absent or a plain value (as bbolt's `Bucket`).
    pub fn bucket(&self, key: &[u8]) -> Result<Option<Bucket<'a>>> {
        Ok(self.get(key)?.and_then(|v| v.as_bucket()))
    }

    /// The page id of the bucket's root, or `None` for an inline bucket (for diagnostics).
    pub fn root_page_id(&self) -> Option<u64> {
        match self.root {
            BucketRoot::Page(id) => Some(id),
            BucketRoot::Inline(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_known_values() {
        // Reference values of FNV-1a 64.
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
    }

    #[test]
    fn rejects_short_and_garbage_input() {
        assert_eq!(Db::open(&[]).unwrap_err().code, crate::ErrorCode::DataCorrupt);
        let e = Db::open(&[0u8; 8192]).unwrap_err();
        assert!(e.message.contains("bad magic"), "{}", e.message);
    }
}
