//! A bbolt file writer for tests: builds `meta.db` files as containerd lays them out, and
//! hostile ones (buckets that contain themselves, records that reference each other, nesting
//! deeper than any real database), which no real tool would write. Every bucket is its own leaf
//! page (with overflow pages when it is bigger than a page); meta pages 0 and 1 (same txid, valid
//! checksums) and an empty freelist at page 2, as bbolt writes them.

use imagestore::formats::gobinary::write_varint;
use std::collections::BTreeMap;

const PAGE: usize = 4096;
const HEADER: usize = 16;
const ELEMENT: usize = 16;
const BRANCH: u16 = 0x01;
const LEAF: u16 = 0x02;
const META: u16 = 0x04;
const FREELIST: u16 = 0x10;
const BUCKET_FLAG: u32 = 0x01;

/// A bucket's contents: keys in byte order.
pub type Tree = BTreeMap<Vec<u8>, Node>;

pub enum Node {
    Value(Vec<u8>),
    Bucket(Tree),
    /// A sub-bucket whose root is the page of the bucket that holds it: a bucket nested in
    /// itself forever (only a hostile file has one).
    ItselfAsBucket,
}

/// A tree from `(key, node)` pairs.
pub fn tree<K: AsRef<[u8]>>(items: impl IntoIterator<Item = (K, Node)>) -> Tree {
    items.into_iter().map(|(k, v)| (k.as_ref().to_vec(), v)).collect()
}

pub fn value(v: impl AsRef<[u8]>) -> Node {
    Node::Value(v.as_ref().to_vec())
}

pub fn bucket<K: AsRef<[u8]>>(items: impl IntoIterator<Item = (K, Node)>) -> Node {
    Node::Bucket(tree(items))
}

struct Writer {
    file: Vec<u8>,
}

impl Writer {
    fn next_page(&self) -> u64 {
        (self.file.len() / PAGE) as u64
    }

    /// Appends a page (or a run of pages) with `body` after its header; returns its id.
    fn page(&mut self, flags: u16, count: usize, body: &[u8]) -> u64 {
        let id = self.next_page();
        let pages = (HEADER + body.len()).div_ceil(PAGE).max(1);
        let mut p = vec![0u8; pages * PAGE];
        p[0..8].copy_from_slice(&id.to_le_bytes());
        p[8..10].copy_from_slice(&flags.to_le_bytes());
        p[10..12].copy_from_slice(&u16::try_from(count).expect("at most 65535 keys a bucket").to_le_bytes());
        p[12..16].copy_from_slice(&((pages - 1) as u32).to_le_bytes());
        p[HEADER..HEADER + body.len()].copy_from_slice(body);
        self.file.extend(p);
        id
    }

    /// Writes `t`'s sub-buckets, then `t` as a leaf page; returns the leaf's page id.
    fn bucket(&mut self, t: &Tree) -> u64 {
        let mut children = BTreeMap::new();
        for (k, n) in t {
            if let Node::Bucket(sub) = n {
                children.insert(k.clone(), self.bucket(sub));
            }
        }
        let id = self.next_page();
        let mut elements = Vec::new();
        let mut data = Vec::new();
        let table = t.len() * ELEMENT;
        for (i, (k, n)) in t.iter().enumerate() {
            let (flags, v) = match n {
                Node::Value(v) => (0, v.clone()),
                Node::Bucket(_) => (BUCKET_FLAG, bucket_header(children[k])),
                Node::ItselfAsBucket => (BUCKET_FLAG, bucket_header(id)),
            };
            let pos = table - i * ELEMENT + data.len();
            elements.extend(flags.to_le_bytes());
            elements.extend((pos as u32).to_le_bytes());
            elements.extend((k.len() as u32).to_le_bytes());
            elements.extend((v.len() as u32).to_le_bytes());
            data.extend(k);
            data.extend(v);
        }
        elements.extend(data);
        let written = self.page(LEAF, t.len(), &elements);
        assert_eq!(written, id);
        id
    }
}

fn bucket_header(root: u64) -> Vec<u8> {
    let mut h = root.to_le_bytes().to_vec();
    h.extend(0u64.to_le_bytes());
    h
}

/// FNV-1a 64 (bbolt's meta checksum).
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

fn meta_page(id: u64, root: u64, high_water: u64) -> Vec<u8> {
    let mut p = vec![0u8; PAGE];
    p[0..8].copy_from_slice(&id.to_le_bytes());
    p[8..10].copy_from_slice(&META.to_le_bytes());
    let mut m = Vec::new();
    m.extend(0xED0C_DAEDu32.to_le_bytes());
    m.extend(2u32.to_le_bytes());
    m.extend((PAGE as u32).to_le_bytes());
    m.extend(0u32.to_le_bytes());
    m.extend(root.to_le_bytes());
    m.extend(0u64.to_le_bytes()); // sequence
    m.extend(2u64.to_le_bytes()); // freelist page
    m.extend(high_water.to_le_bytes());
    m.extend(1u64.to_le_bytes()); // txid
    let sum = fnv1a64(&m);
    m.extend(sum.to_le_bytes());
    p[HEADER..HEADER + m.len()].copy_from_slice(&m);
    p
}

/// The bytes of a bbolt file whose root bucket holds `root`.
pub fn write(root: &Tree) -> Vec<u8> {
    let mut w = Writer { file: vec![0u8; 2 * PAGE] };
    w.page(FREELIST, 0, &[]);
    let root_page = w.bucket(root);
    let high_water = w.next_page();
    w.file[..PAGE].copy_from_slice(&meta_page(0, root_page, high_water));
    w.file[PAGE..2 * PAGE].copy_from_slice(&meta_page(1, root_page, high_water));
    w.file
}

/// A bbolt file whose root is a branch page listing one leaf `fanout` times (a page reached
/// many times over: only a hostile file has one).
pub fn write_repeated_leaf(leaf: &Tree, fanout: usize) -> Vec<u8> {
    let mut w = Writer { file: vec![0u8; 2 * PAGE] };
    w.page(FREELIST, 0, &[]);
    let leaf_page = w.bucket(leaf);
    let first_key = leaf.keys().next().cloned().unwrap_or_default();
    let mut body = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    for i in 0..fanout {
        let pos = fanout * ELEMENT - i * ELEMENT + data.len();
        body.extend((pos as u32).to_le_bytes());
        body.extend((first_key.len() as u32).to_le_bytes());
        body.extend(leaf_page.to_le_bytes());
        data.extend(&first_key);
    }
    body.extend(data);
    let root = w.page(BRANCH, fanout, &body);
    let high_water = w.next_page();
    w.file[..PAGE].copy_from_slice(&meta_page(0, root, high_water));
    w.file[PAGE..2 * PAGE].copy_from_slice(&meta_page(1, root, high_water));
    w.file
}

/// One containerd content record: `size` and `labels`.
pub fn content_record(size: i64, labels: &[(String, String)]) -> Node {
    bucket([
        (b"size".to_vec(), value(write_varint(size))),
        (b"labels".to_vec(), bucket(labels.iter().map(|(k, v)| (k.as_bytes().to_vec(), value(v))))),
    ])
}

/// One containerd image record: its target descriptor and labels.
pub fn image_record(digest: &str, media_type: &str, size: i64, labels: &[(String, String)]) -> Node {
    bucket([
        (
            b"target".to_vec(),
            bucket([
                (b"digest".to_vec(), value(digest)),
                (b"mediatype".to_vec(), value(media_type)),
                (b"size".to_vec(), value(write_varint(size))),
            ]),
        ),
        (b"labels".to_vec(), bucket(labels.iter().map(|(k, v)| (k.as_bytes().to_vec(), value(v))))),
    ])
}

/// containerd's layout: `v1/{version, <ns>/{images/<name>, content/blob/<digest>}}`.
pub fn containerd_meta_db(namespaces: Vec<(String, Tree, Tree)>) -> Vec<u8> {
    let mut v1 = Tree::new();
    v1.insert(b"version".to_vec(), value(write_varint(3)));
    for (ns, images, blobs) in namespaces {
        v1.insert(
            ns.into_bytes(),
            bucket([
                (b"images".to_vec(), Node::Bucket(images)),
                (b"content".to_vec(), bucket([(b"blob".to_vec(), Node::Bucket(blobs))])),
            ]),
        );
    }
    write(&tree([(b"v1".to_vec(), Node::Bucket(v1))]))
}
