//! Uploads that are small on disk but explode when walked (issue 10): parent cycles in the
//! image store's imagedb and layerdb, 5,000-deep image and layer chains, OCI index DAGs that
//! list the next level many times, and `meta.db` files whose bbolt pages form a cycle. Shared by
//! the native and wasm runs. Some are refused; the others are what dockerd and containerd accept
//! too, and then every read of them (list, inspect, history, parents, merged files, `ctr images
//! ls`) and a removal must answer, in time linear in the upload.

use crate::support::bbolt_writer::{self, bucket, content_record, image_record, tree, value, Node, Tree};
use crate::support::tar::{header, replace_entry, tar_of, BLOCK};
use imagestore::digest::{chain_ids, Digest};
use imagestore::formats::tar_split_writer::TarSplitWriter;

/// What must happen to a walk case.
pub enum Expect {
    /// Refused with this code.
    Refused(&'static str),
    /// Imported, with a `skipped` entry whose reason contains this text (if given), and then
    /// every read answers: all of them with their answer, or (`read_error`) some with an error
    /// of that code (`ctr images ls` prints such a row with its SIZE walk's error).
    Imported { skipped: Option<&'static str>, read_error: Option<&'static str> },
}

pub struct WalkCase {
    pub name: String,
    pub input: Vec<u8>,
    pub expect: Expect,
}

/// The layer tar of layer `i`: one empty file `f<i>`.
fn layer_tar(i: usize) -> Vec<u8> {
    let mut t = header(&format!("f{i}"), 0, b'0', "");
    t.extend([0u8; 2 * BLOCK]);
    t
}

fn tar_split_of(tar: &[u8]) -> Vec<u8> {
    let mut w = TarSplitWriter::new();
    w.write(tar).unwrap();
    w.finish().unwrap()
}

/// An image config over `diff_ids`, made unique by `n`.
fn config(diff_ids: &[Digest], n: usize) -> Vec<u8> {
    let history: Vec<_> = diff_ids
        .iter()
        .enumerate()
        .map(|(i, _)| serde_json::json!({"created": "2024-01-01T00:00:00Z", "created_by": format!("RUN step {i}")}))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "created": format!("2024-01-01T00:{:02}:{:02}Z", (n / 60) % 60, n % 60),
        "config": {"Labels": {"n": n.to_string()}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }))
    .unwrap()
}

/// A Docker image store tarball (`layerdb/`, `imagedb/`, `repositories.json`).
struct ImageStoreTar {
    files: Vec<(String, Vec<u8>)>,
    /// The diff IDs of the layers, bottom first, for the images' configs.
    diffs_for_images: Vec<Digest>,
}

impl ImageStoreTar {
    fn new() -> Self {
        ImageStoreTar { files: Vec::new(), diffs_for_images: Vec::new() }
    }

    /// Layers `layers` (as `(diff_id, layer tar)`) chained bottom first; returns their chain IDs.
    /// `parent_of` may replace a layer's recorded parent (for cycles).
    fn layers(&mut self, count: usize, parent_of: impl Fn(usize, &[Digest]) -> Option<Digest>) -> Vec<Digest> {
        let tars: Vec<Vec<u8>> = (0..count).map(layer_tar).collect();
        let diffs: Vec<Digest> = tars.iter().map(|t| Digest::sha256_of(t)).collect();
        let chains = chain_ids(&diffs);
        for i in 0..count {
            let dir = format!("./layerdb/sha256/{}", chains[i].hex());
            self.files.push((format!("{dir}/diff"), diffs[i].to_string().into_bytes()));
            self.files.push((format!("{dir}/size"), b"0".to_vec()));
            self.files.push((format!("{dir}/cache-id"), format!("{:064x}", i + 1).into_bytes()));
            if let Some(p) = parent_of(i, &chains) {
                self.files.push((format!("{dir}/parent"), p.to_string().into_bytes()));
            }
            self.files.push((format!("{dir}/tar-split.json.gz"), tar_split_of(&tars[i])));
        }
        self.diffs_for_images = diffs;
        chains
    }

    /// An image over the first `layers` layers; returns its ID.
    fn image(&mut self, layers: usize, n: usize, parent: Option<&Digest>) -> Digest {
        let bytes = config(&self.diffs_for_images[..layers], n);
        let id = Digest::sha256_of(&bytes);
        self.files.push((format!("./imagedb/content/sha256/{}", id.hex()), bytes));
        if let Some(p) = parent {
            self.files.push((format!("./imagedb/metadata/sha256/{}/parent", id.hex()), p.to_string().into_bytes()));
        }
        id
    }

    fn set_parent(&mut self, child: &Digest, parent: &Digest) {
        self.files.push((format!("./imagedb/metadata/sha256/{}/parent", child.hex()), parent.to_string().into_bytes()));
    }

    fn tar(mut self, tags: &[(&str, &Digest)]) -> Vec<u8> {
        let mut repos = serde_json::Map::new();
        for (tag, id) in tags {
            let repo = tag.split(':').next().unwrap();
            let entry = repos.entry(repo.to_string()).or_insert_with(|| serde_json::json!({}));
            entry[tag.to_string()] = id.to_string().into();
        }
        let json = serde_json::to_vec(&serde_json::json!({ "Repositories": repos })).unwrap();
        self.files.push(("./repositories.json".into(), json));
        let items: Vec<(&str, u8, &str, &[u8])> =
            self.files.iter().map(|(p, d)| (p.as_str(), b'0', "", d.as_slice())).collect();
        tar_of(&items)
    }
}

/// An OCI image layout whose `index.json` names an index DAG: `depth` levels of indexes, each
/// listing the next level `width` times, over one manifest.
fn index_dag_layout(width: usize, depth: usize) -> Vec<u8> {
    const INDEX: &str = "application/vnd.oci.image.index.v1+json";
    const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    let mut blobs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut put = |bytes: Vec<u8>| {
        let d = Digest::sha256_of(&bytes);
        let len = bytes.len();
        blobs.push((format!("blobs/sha256/{}", d.hex()), bytes));
        (d, len)
    };
    let layer = layer_tar(0);
    let (layer_d, layer_len) = put(layer.clone());
    let cfg = config(&[Digest::sha256_of(&layer)], 0);
    let (cfg_d, cfg_len) = put(cfg);
    let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg_d, "size": cfg_len},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_d, "size": layer_len}]});
    let (mut d, mut len) = put(serde_json::to_vec(&manifest).unwrap());
    let mut media = MANIFEST;
    for _ in 0..depth {
        let entry = serde_json::json!({"mediaType": media, "digest": d, "size": len});
        let index = serde_json::json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": vec![entry; width]});
        (d, len) = put(serde_json::to_vec(&index).unwrap());
        media = INDEX;
    }
    let top = serde_json::json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [{"mediaType": media,
        "digest": d, "size": len, "annotations": {"org.opencontainers.image.ref.name": "dag"}}]});
    let top = serde_json::to_vec(&top).unwrap();
    let mut items: Vec<(&str, u8, &str, &[u8])> =
        vec![("oci-layout", b'0', "", br#"{"imageLayoutVersion":"1.0.0"}"#), ("index.json", b'0', "", &top)];
    items.extend(blobs.iter().map(|(p, b)| (p.as_str(), b'0', "", b.as_slice())));
    tar_of(&items)
}

/// The basic fixture's containerd root with its `meta.db` changed by `edit`.
fn containerd_root_with_meta_db(edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    replace_entry(
        super::CONTAINERD_ROOT,
        |name| name.ends_with("meta.db"),
        |data| {
            let mut db = data.to_vec();
            edit(&mut db);
            db
        },
    )
}

/// bbolt's root bucket page (meta page 0's `root.root`, little-endian at offset 16 + 8 + 8).
fn bbolt_root_page(db: &[u8]) -> usize {
    imagestore::formats::bbolt::Db::open(db).unwrap().meta().root as usize
}

pub fn walk_cases() -> Vec<WalkCase> {
    let mut out = Vec::new();
    let mut add = |name: &str, input: Vec<u8>, expect: Expect| out.push(WalkCase { name: name.into(), input, expect });

    // imagedb: two images whose parent files name each other; an image that is its own parent.
    let mut s = ImageStoreTar::new();
    s.layers(2, |i, c| (i > 0).then(|| c[i - 1].clone()));
    let a = s.image(1, 1, None);
    let b = s.image(2, 2, None);
    s.set_parent(&a, &b);
    s.set_parent(&b, &a);
    add(
        "imagedb: two images each other's parent",
        s.tar(&[("cycle/a:1", &a), ("cycle/b:1", &b)]),
        Expect::Imported { skipped: None, read_error: None },
    );
    let mut s = ImageStoreTar::new();
    s.layers(1, |_, _| None);
    let a = s.image(1, 1, None);
    s.set_parent(&a, &a);
    add(
        "imagedb: an image that is its own parent",
        s.tar(&[("cycle/self:1", &a)]),
        Expect::Imported { skipped: None, read_error: None },
    );

    // layerdb: two layers whose parent files name each other (dockerd cannot load them; the
    // image over them is skipped too).
    let mut s = ImageStoreTar::new();
    s.layers(2, |i, c| Some(c[1 - i].clone()));
    let a = s.image(2, 1, None);
    add(
        "layerdb: two layers each other's parent",
        s.tar(&[("cycle/layers:1", &a)]),
        Expect::Imported { skipped: Some("loops back on itself"), read_error: None },
    );

    // 5,000-deep chains: images (each the parent of the next), and layers under one image.
    let mut s = ImageStoreTar::new();
    s.layers(1, |_, _| None);
    let mut parent: Option<Digest> = None;
    let mut ids = Vec::new();
    for n in 0..5000 {
        let id = s.image(1, n, parent.as_ref());
        ids.push(id.clone());
        parent = Some(id);
    }
    add(
        "imagedb: a 5,000-deep parent chain",
        s.tar(&[("deep/images:top", ids.last().unwrap()), ("deep/images:bottom", &ids[0])]),
        Expect::Imported { skipped: None, read_error: None },
    );
    let mut s = ImageStoreTar::new();
    s.layers(5000, |i, c| (i > 0).then(|| c[i - 1].clone()));
    let top = s.image(5000, 1, None);
    // dockerd refuses to *register* a chain past 125 layers, but restores a deeper one.
    add(
        "layerdb: a 5,000-deep layer chain",
        s.tar(&[("deep/layers:1", &top)]),
        Expect::Imported { skipped: None, read_error: None },
    );

    // A docker save whose manifest (and config) lists one small layer 10,000 times: `docker load`
    // registers layers one on another and refuses past 125 ("max depth exceeded"), and so must
    // this store, at once and without staging 10,000 copies.
    let repeated_save = |times: usize| {
        let layer = layer_tar(0);
        let config_json = config(&vec![Digest::sha256_of(&layer); times], 0);
        let manifest = serde_json::to_vec(&serde_json::json!([{
            "Config": "config.json", "RepoTags": ["deep/repeated:1"], "Layers": vec!["l/layer.tar"; times],
        }]))
        .unwrap();
        tar_of(&[
            ("l/layer.tar", b'0', "", &layer),
            ("config.json", b'0', "", &config_json),
            ("manifest.json", b'0', "", &manifest),
        ])
    };
    add("save: one layer listed 10,000 times", repeated_save(10_000), Expect::Refused("invalid_argument"));
    add("save: one layer listed 126 times", repeated_save(126), Expect::Refused("invalid_argument"));
    add(
        "save: one layer listed 125 times (as deep as docker load goes)",
        repeated_save(125),
        Expect::Imported { skipped: None, read_error: None },
    );

    // OCI index DAGs: 30 wide and 6 deep (30^6 paths), 2 wide and 20 deep (2^20 paths).
    add(
        "oci: an index DAG 30 wide and 6 deep",
        index_dag_layout(30, 6),
        Expect::Imported { skipped: None, read_error: None },
    );
    add(
        "oci: an index DAG 2 wide and 20 deep",
        index_dag_layout(2, 20),
        Expect::Imported { skipped: None, read_error: None },
    );
    // Deeper than any real image: imported as ctr imports it (nothing walks it then), and
    // `ctr images ls` says the SIZE walk is too deep.
    add(
        "oci: an index chain 40 deep",
        index_dag_layout(1, 40),
        Expect::Imported { skipped: None, read_error: Some("resource_exhausted") },
    );

    // meta.db: the root bucket's page is a branch pointing to itself (a page cycle).
    add(
        "meta.db: a bbolt branch page that points to itself",
        containerd_root_with_meta_db(|db| {
            let r = bbolt_root_page(db) * 4096;
            db[r + 8..r + 10].copy_from_slice(&0x01u16.to_le_bytes());
            db[r + 10..r + 12].copy_from_slice(&1u16.to_le_bytes());
            db[r + 16..r + 20].copy_from_slice(&16u32.to_le_bytes());
            db[r + 20..r + 24].copy_from_slice(&2u32.to_le_bytes());
            let root = (r / 4096) as u64;
            db[r + 24..r + 32].copy_from_slice(&root.to_le_bytes());
        }),
        Expect::Refused("data_corrupt"),
    );
    // … and a branch whose two children are the same leaf, many times over (fan-out).
    add(
        "meta.db: a bbolt branch listing one page 200 times",
        containerd_root_with_meta_db(|db| {
            let r = bbolt_root_page(db) * 4096;
            let leaf = (db.len() / 4096 - 1) as u64;
            db[r + 8..r + 10].copy_from_slice(&0x01u16.to_le_bytes());
            db[r + 10..r + 12].copy_from_slice(&200u16.to_le_bytes());
            for e in 0..200usize {
                let at = r + 16 + e * 16;
                let pos = (200 * 16 - e * 16) as u32;
                db[at..at + 4].copy_from_slice(&pos.to_le_bytes());
                db[at + 4..at + 8].copy_from_slice(&1u32.to_le_bytes());
                db[at + 8..at + 16].copy_from_slice(&leaf.to_le_bytes());
            }
        }),
        Expect::Refused("data_corrupt"),
    );
    // meta.db written by tests/support/bbolt_writer.rs: content records whose GC labels
    // reference every record of the level below, 20 levels of 30 (30^20 paths, 600 records,
    // 17,100 references), under 30 images.
    add(
        "meta.db: records referencing each other 30 wide and 20 deep",
        containerd_root(&cross_referencing_meta_db(30, 20).0, &cross_referencing_meta_db(30, 20).1),
        Expect::Imported { skipped: None, read_error: None },
    );
    // A labels bucket that holds itself (nested forever), beside a real image: read as
    // containerd's readMap reads it (a nested bucket is an empty value), nothing descends.
    let (blobs, mut images) = (vec![b"only blob".to_vec()], Tree::new());
    let only = Digest::sha256_of(&blobs[0]).to_string();
    images.insert(
        b"docker.io/walk/self:1".to_vec(),
        bucket([
            (
                b"target".to_vec(),
                bucket([(b"digest".to_vec(), value(&only)), (b"mediatype".to_vec(), value(LAYER_TYPE))]),
            ),
            (b"labels".to_vec(), bucket([(b"loop".to_vec(), Node::ItselfAsBucket), (b"tier".to_vec(), value("x"))])),
        ]),
    );
    let content = tree([(only.as_bytes().to_vec(), content_record(9, &[]))]);
    add(
        "meta.db: a labels bucket nested in itself",
        containerd_root(&bbolt_writer::containerd_meta_db(vec![("default".into(), images, content)]), &blobs),
        Expect::Imported { skipped: None, read_error: None },
    );
    // An images bucket nested in itself: its one "image" has no target bucket (refused as
    // containerd's readImage refuses it), however deep one could go.
    let images = tree([(b"docker.io/walk/loop:1".to_vec(), Node::ItselfAsBucket)]);
    add(
        "meta.db: an images bucket nested in itself",
        containerd_root(&bbolt_writer::containerd_meta_db(vec![("default".into(), images, Tree::new())]), &[]),
        Expect::Refused("data_corrupt"),
    );
    out
}

const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";

/// A meta.db with `width` × `depth` content records, each (but the last level's) labelled with a
/// GC reference to every record of the next level, and `width` images over the first level;
/// with the blobs' bytes.
pub fn cross_referencing_meta_db(width: usize, depth: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let blob = |level: usize, i: usize| format!("blob {level} {i}").into_bytes();
    let digest = |level: usize, i: usize| Digest::sha256_of(&blob(level, i)).to_string();
    let mut content = Tree::new();
    let mut blobs = Vec::new();
    for level in 0..depth {
        for i in 0..width {
            let labels: Vec<(String, String)> = if level + 1 < depth {
                (0..width).map(|j| (format!("containerd.io/gc.ref.content.{j}"), digest(level + 1, j))).collect()
            } else {
                Vec::new()
            };
            content.insert(digest(level, i).into_bytes(), content_record(blob(level, i).len() as i64, &labels));
            blobs.push(blob(level, i));
        }
    }
    let images = tree((0..width).map(|i| {
        (
            format!("docker.io/walk/img{i}:1").into_bytes(),
            image_record(&digest(0, i), LAYER_TYPE, blob(0, i).len() as i64, &[]),
        )
    }));
    (bbolt_writer::containerd_meta_db(vec![("default".into(), images, content)]), blobs)
}

/// A containerd root tar: `meta.db` and the blobs in the content store.
pub fn containerd_root(meta_db: &[u8], blobs: &[Vec<u8>]) -> Vec<u8> {
    let paths: Vec<String> = blobs
        .iter()
        .map(|b| format!("io.containerd.content.v1.content/blobs/sha256/{}", Digest::sha256_of(b).hex()))
        .collect();
    let mut items: Vec<(&str, u8, &str, &[u8])> = vec![("io.containerd.metadata.v1.bolt/meta.db", b'0', "", meta_db)];
    items.extend(paths.iter().zip(blobs).map(|(p, b)| (p.as_str(), b'0', "", b.as_slice())));
    tar_of(&items)
}
