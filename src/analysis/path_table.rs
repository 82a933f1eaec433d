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

use crate::bytes_hasher::BytesHasher;

/// Paths as dive spells them after `path.Clean`, relative (`usr/bin/env`); `""` is the root.
///
/// A path is found by its parent's id and its last name (hashed together: a short name, not the
/// whole path), and its parent by the last folder interned, which is the parent of most tar
/// members in turn; all path text lives in one buffer. Interning a layer's 50,000 paths by
/// whole-path hashing, with two boxed copies of each, was a quarter of a cold efficiency run.
#[derive(Debug)]
pub struct PathTable {
    /// Every path's text, one after another; a path is `text[start[id]..start[id + 1]]`.
    text: String,
    /// Per id and one past the last: where its path starts in `text`.
    start: Vec<u32>,
    /// Per id: the parent's id (the root is its own parent).
    parents: Vec<u32>,
    /// Per id: the byte offset of its last name in its path.
    name_at: Vec<u32>,
    /// Per id: every child interned so far, in no particular order.
    children: Vec<Vec<u32>>,
    /// The hash of (parent, last name) → the newest id with that hash; older ones follow
    /// through `same_hash`.
    by_hash: HashMap<u64, u32, BuildHasherDefault<PassHasher>>,
    /// Per id: the next older id whose (parent, last name) hashed the same, or `NONE`.
    same_hash: Vec<u32>,
    /// The folder whose child was interned last.
    last_folder: u32,
}

const NONE: u32 = u32::MAX;

/// A hasher for keys that are hashes already.
#[derive(Default, Clone, Copy)]
pub struct PassHasher(u64);

impl Hasher for PassHasher {
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys")
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

fn last_slash(path: &str) -> Option<usize> {
    path.as_bytes().iter().rposition(|&c| c == b'/')
}

fn child_hash(parent: u32, name: &str) -> u64 {
    let mut h = BytesHasher::default();
    h.add(u64::from(parent));
    h.write(name.as_bytes());
    h.finish()
}

impl Default for PathTable {
    fn default() -> Self {
        PathTable {
            text: String::new(),
            start: vec![0, 0],
            parents: vec![0],
            name_at: vec![0],
            children: vec![Vec::new()],
            by_hash: HashMap::default(),
            same_hash: vec![NONE],
            last_folder: 0,
        }
    }
}

impl PathTable {
    /// How many ids there are (every id is below this).
    pub fn len(&self) -> usize {
        self.parents.len()
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// The id of `path` (relative, `/`-separated, no empty names except as said below), made
    /// with its parents when new. A path ending in `/` (`a/`) is a child of `a` with an empty
    /// name, and `/` the root's empty-named child: dive's key for a `.wh.` marker with nothing
    /// after the prefix.
    pub fn intern(&mut self, path: &str) -> u32 {
        if path.is_empty() {
            return 0;
        }
        debug_assert!(path == "/" || !path.starts_with('/'), "{path:?}: only relative paths and / are interned");
        let (folder, name) = match last_slash(path) {
            Some(0) => return self.child(0, "", path),
            Some(i) => (self.folder(&path[..i]), &path[i + 1..]),
            None => (0, path),
        };
        self.child(folder, name, path)
    }

    /// The id of the folder `path` (relative, clean), found from the last folder interned:
    /// up to the folder both paths are in, then down the names that differ (one or two steps
    /// for members in tar order, whether a layer lists folders one after another or in turn).
    fn folder(&mut self, path: &str) -> u32 {
        let last = self.relative(self.last_folder);
        if last == path {
            return self.last_folder;
        }
        let (a, b) = (last.as_bytes(), path.as_bytes());
        let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let ends_name = |s: &[u8], n: usize| n == s.len() || s[n] == b'/';
        // The longest path both are in (`common` bytes of it, a name boundary in both).
        let shared = if ends_name(a, common) && ends_name(b, common) {
            common
        } else {
            a[..common].iter().rposition(|&c| c == b'/').unwrap_or(0)
        };
        let mut up = a[shared..].iter().filter(|&&c| c == b'/').count();
        if shared == 0 && !a.is_empty() {
            up += 1;
        }
        let mut id = self.last_folder;
        for _ in 0..up {
            id = self.parents[id as usize];
        }
        let mut at = shared;
        while at < b.len() {
            let from = if at == 0 { 0 } else { at + 1 };
            let end = b[from..].iter().position(|&c| c == b'/').map_or(b.len(), |n| from + n);
            id = self.child(id, &path[from..end], &path[..end]);
            at = end;
        }
        self.last_folder = id;
        id
    }

    /// The id of `parent`'s child `name`, whose whole path is `path`, made when new.
    fn child(&mut self, parent: u32, name: &str, path: &str) -> u32 {
        let hash = child_hash(parent, name);
        let newest = self.by_hash.get(&hash).copied().unwrap_or(NONE);
        let mut at = newest;
        while at != NONE {
            if self.parents[at as usize] == parent && self.name(at) == name {
                return at;
            }
            at = self.same_hash[at as usize];
        }
        let id = u32::try_from(self.parents.len()).expect("fewer than 2^32 paths");
        self.text.push_str(path);
        self.start.push(u32::try_from(self.text.len()).expect("under 4 GiB of paths"));
        self.parents.push(parent);
        self.name_at.push(u32::try_from(path.len() - name.len()).expect("short path"));
        self.children.push(Vec::new());
        self.children[parent as usize].push(id);
        self.same_hash.push(newest);
        self.by_hash.insert(hash, id);
        id
    }

    pub fn parent(&self, id: u32) -> u32 {
        self.parents[id as usize]
    }

    /// The last name of `id`'s path.
    pub fn name(&self, id: u32) -> &str {
        &self.relative(id)[self.name_at[id as usize] as usize..]
    }

    /// The relative path of `id`.
    pub fn relative(&self, id: u32) -> &str {
        let i = id as usize;
        &self.text[self.start[i] as usize..self.start[i + 1] as usize]
    }

    pub fn children(&self, id: u32) -> &[u32] {
        &self.children[id as usize]
    }

    /// dive's `FileNode.Path()` of `id`: `/` + the path, `//` made `/`.
    pub fn dive_path(&self, id: u32) -> String {
        format!("/{}", self.relative(id)).replace("//", "/")
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

    #[test]
    fn paths_in_any_order_keep_one_id_and_their_parents() {
        let names = ["a", "bb", "a.b", "c", ".wh.a", ""];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut t = PathTable::default();
        let mut seen = std::collections::HashMap::new();
        for _ in 0..20_000 {
            let depth = 1 + next(5);
            // Empty names only last (a `.wh.` key's `a/`), as the callers make them.
            let parts: Vec<&str> =
                (0..depth).map(|i| names[next(if i + 1 == depth { names.len() } else { names.len() - 1 })]).collect();
            let path = parts.join("/");
            if path.is_empty() {
                continue;
            }
            let id = t.intern(&path);
            assert_eq!(*seen.entry(path.clone()).or_insert(id), id, "{path}: a second id");
            assert_eq!(t.relative(id), path);
            assert_eq!(t.name(id), *parts.last().unwrap());
            let parent = if depth == 1 {
                0
            } else {
                let folder = parts[..depth - 1].join("/");
                let id = t.intern(&folder);
                assert_eq!(*seen.entry(folder).or_insert(id), id);
                id
            };
            assert_eq!(t.parent(id), parent, "{path}");
            assert!(t.children(parent).contains(&id));
        }
        assert_eq!(t.len(), seen.len() + 1, "no path made twice");
    }
}
