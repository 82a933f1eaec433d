//! Interned paths: each path of the layers analysed gets a number (0 is the root), with its
//! parent's number and its last name, so trees stacked over many layers are arrays indexed by
//! number instead of maps keyed by strings, and a path is hashed once per layer, not once per
//! lookup.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A hasher for path ids: they are small sequential numbers the table handed out (not input
/// bytes), so a multiply is enough and far cheaper than SipHash.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u32(u32::from(*b));
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0.rotate_left(26) ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by path ids.
pub type IdMap<V> = HashMap<u32, V, BuildHasherDefault<IdHasher>>;

/// A hasher for keys that are not chosen to collide (paths of the layers analysed, digests):
/// a multiply-and-rotate per 8 bytes, far cheaper than SipHash over a path or a digest's 71
/// bytes, which was most of what building a 50,000-file image's dive trees spent hashing.
#[derive(Default, Clone, Copy)]
pub struct BytesHasher(u64);

impl Hasher for BytesHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.add(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        for &b in words.remainder() {
            self.add(u64::from(b));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    fn finish(&self) -> u64 {
        // The multiply mixes into the high bits; the table indexes by the low ones.
        self.0.rotate_left(26)
    }
}

impl BytesHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Paths as dive spells them after `path.Clean`, relative (`usr/bin/env`); `""` is the root.
#[derive(Debug)]
pub struct PathTable {
    /// Per id: the full relative path.
    paths: Vec<Box<str>>,
    /// Per id: the parent's id (the root is its own parent).
    parents: Vec<u32>,
    /// Per id: the byte offset of its last name in its path.
    name_at: Vec<u32>,
    /// Per id: every child interned so far, in no particular order.
    children: Vec<Vec<u32>>,
    ids: HashMap<Box<str>, u32, BuildHasherDefault<BytesHasher>>,
}

impl Default for PathTable {
    fn default() -> Self {
        let mut ids = HashMap::default();
        ids.insert(Box::from(""), 0);
        PathTable { paths: vec![Box::from("")], parents: vec![0], name_at: vec![0], children: vec![Vec::new()], ids }
    }
}

impl PathTable {
    /// How many ids there are (every id is below this).
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// The id of `path` (relative, `/`-separated, no empty names except as said below), made
    /// with its parents when new. A path ending in `/` (`a/`) is a child of `a` with an empty
    /// name, and `/` the root's empty-named child: dive's key for a `.wh.` marker with nothing
    /// after the prefix.
    pub fn intern(&mut self, path: &str) -> u32 {
        if let Some(&id) = self.ids.get(path) {
            return id;
        }
        let (parent, name_at) = match path.rfind('/') {
            Some(0) if path == "/" => (0, 1),
            Some(i) => (self.intern(&path[..i]), i + 1),
            None => (0, 0),
        };
        let id = u32::try_from(self.paths.len()).expect("fewer than 2^32 paths");
        self.paths.push(Box::from(path));
        self.parents.push(parent);
        self.name_at.push(u32::try_from(name_at).expect("short path"));
        self.children.push(Vec::new());
        self.children[parent as usize].push(id);
        self.ids.insert(Box::from(path), id);
        id
    }

    pub fn parent(&self, id: u32) -> u32 {
        self.parents[id as usize]
    }

    /// The last name of `id`'s path.
    pub fn name(&self, id: u32) -> &str {
        &self.paths[id as usize][self.name_at[id as usize] as usize..]
    }

    /// The relative path of `id`.
    pub fn relative(&self, id: u32) -> &str {
        &self.paths[id as usize]
    }

    pub fn children(&self, id: u32) -> &[u32] {
        &self.children[id as usize]
    }

    /// dive's `FileNode.Path()` of `id`: `/` + the path, `//` made `/`.
    pub fn dive_path(&self, id: u32) -> String {
        format!("/{}", self.paths[id as usize]).replace("//", "/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parents_names() {
        let mut t = PathTable::default();
        let c = t.intern("a/b/c");
        let b = t.intern("a/b");
        let a = t.intern("a");
        assert_eq!((t.parent(c), t.parent(b), t.parent(a)), (b, a, 0));
        assert_eq!((t.name(c), t.relative(c), t.dive_path(c)), ("c", "a/b/c", "/a/b/c".to_string()));
        assert_eq!(t.intern("a/b/c"), c);
        let empty = t.intern("a/");
        assert_eq!((t.parent(empty), t.name(empty), t.dive_path(empty)), (a, "", "/a/".to_string()));
        let top = t.intern("/");
        assert_eq!((t.parent(top), t.name(top), t.dive_path(top)), (0, "", "/".to_string()));
        assert_eq!(t.children(0), [a, top]);
        assert_eq!(t.len(), 6);
    }
}
