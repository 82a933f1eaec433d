//! The Engine API renderers and the format parsers against what real dockerd 20.10 answered
//! about real image stores (tests/fixtures/docker20/*, tests/fixtures/wild/docker-explorer/*).
//!
//! A tiny reader turns a tarball of `image/<driver>/` into the facts the renderers take:
//! configs from `imagedb/content`, parents and tag times from `imagedb/metadata`, layer sizes
//! from `layerdb` chains, references from `repositories.json`. Then every image's summary,
//! inspect and history must equal dockerd's answer (ignoring only `GraphDriver.Data`).
#![cfg(not(target_arch = "wasm32"))]

use imagestore::digest::{chain_id, Digest};
use imagestore::docker::render::{image_history, image_inspect, image_summary, HistoryImage, ImageFacts};
use imagestore::formats::gotime::GoTime;
use imagestore::formats::image_config::ImageConfig;
use imagestore::formats::reference::{familiar_match, Reference};
use imagestore::formats::tar_split::{parse_tar_split, EntryKind, TarSplit, Whiteout};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The fixtures' dockerd ran with the vfs driver.
const DRIVER: &str = "vfs";

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

/// The files of one `image/<driver>/` folder found in a tarball, by path relative to it.
struct StoreFiles(BTreeMap<String, Vec<u8>>);

impl StoreFiles {
    /// Reads a `.tar` or `.tgz` and keeps the folder that holds `imagedb/content/`.
    fn read(path: &Path) -> StoreFiles {
        let file = std::fs::File::open(path).unwrap();
        let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "tgz") {
            Box::new(flate2::read::GzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let mut all = BTreeMap::new();
        for entry in tar::Archive::new(reader).entries().unwrap() {
            let mut entry = entry.unwrap();
            if entry.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            if name.contains("image/") || !name.contains("/diff/") {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                all.insert(name, data);
            }
        }
        let root = all
            .keys()
            .find_map(|k| k.find("imagedb/content/sha256/").map(|i| k[..i].to_string()))
            .expect("no imagedb/content in the tarball");
        StoreFiles(all.into_iter().filter_map(|(k, v)| k.strip_prefix(&root).map(|r| (r.to_string(), v))).collect())
    }

    fn get(&self, rel: &str) -> Option<&[u8]> {
        self.0.get(rel).map(Vec::as_slice)
    }
    fn text(&self, rel: &str) -> Option<String> {
        self.get(rel).map(|b| String::from_utf8_lossy(b).trim().to_string())
    }
    /// Names directly under a folder (`dir` ends with `/`).
    fn children(&self, dir: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .0
            .keys()
            .filter_map(|k| k.strip_prefix(dir))
            .map(|r| r.split('/').next().unwrap().to_string())
            .collect();
        names.dedup();
        names
    }
}

/// An image store read from [`StoreFiles`], just enough to build [`ImageFacts`].
struct Store {
    images: BTreeMap<Digest, imagestore::docker::lazy_config::LazyConfig>,
    parents: HashMap<Digest, Digest>,
    last_updated: HashMap<Digest, GoTime>,
    /// chain ID → (own size, parent chain ID)
    layers: HashMap<Digest, (i64, Option<Digest>)>,
    references: HashMap<Digest, Vec<Reference>>,
    files: StoreFiles,
}

impl Store {
    fn load(path: &Path) -> Store {
        let files = StoreFiles::read(path);
        let mut images = BTreeMap::new();
        let (mut parents, mut last_updated) = (HashMap::new(), HashMap::new());
        for hex in files.children("imagedb/content/sha256/") {
            let config =
                ImageConfig::parse(files.get(&format!("imagedb/content/sha256/{hex}")).unwrap().to_vec()).unwrap();
            let id = Digest::from_sha256_hex(&hex).unwrap();
            assert_eq!(config.id(), id, "config bytes hash to their file name");
            let meta = format!("imagedb/metadata/sha256/{hex}/");
            if let Some(p) = files.text(&format!("{meta}parent")) {
                parents.insert(id.clone(), Digest::parse(&p).unwrap());
            }
            if let Some(t) = files.text(&format!("{meta}lastUpdated")).filter(|t| !t.is_empty()) {
                last_updated.insert(id.clone(), GoTime::parse_rfc3339(&t).unwrap());
            }
            images.insert(id, imagestore::docker::lazy_config::LazyConfig::parsed(std::rc::Rc::new(config)));
        }
        let mut layers = HashMap::new();
        for hex in files.children("layerdb/sha256/") {
            let dir = format!("layerdb/sha256/{hex}/");
            let size: i64 = files.text(&format!("{dir}size")).unwrap().parse().unwrap();
            let parent = files.text(&format!("{dir}parent")).map(|p| Digest::parse(&p).unwrap());
            layers.insert(Digest::from_sha256_hex(&hex).unwrap(), (size, parent));
        }
        let mut references: HashMap<Digest, Vec<Reference>> = HashMap::new();
        if let Some(bytes) = files.get("repositories.json") {
            let repos: Value = serde_json::from_slice(bytes).unwrap();
            for (familiar_name, refs) in repos["Repositories"].as_object().unwrap() {
                for (key, id) in refs.as_object().unwrap() {
                    let r = Reference::parse_normalized_named(key).unwrap();
                    // repositories.json keys are familiar forms (A.5).
                    assert_eq!(&r.familiar_string(), key);
                    assert_eq!(&r.familiar_name(), familiar_name);
                    references.entry(Digest::parse(id.as_str().unwrap()).unwrap()).or_default().push(r);
                }
            }
        }
        Store { images, parents, last_updated, layers, references, files }
    }

    /// DiffSize of each layer of an image, in diff_ids order.
    fn layer_sizes(&self, config: &ImageConfig) -> Vec<i64> {
        (1..=config.diff_ids().len()).map(|n| self.layers[&chain_id(&config.diff_ids()[..n]).unwrap()].0).collect()
    }

    fn facts<'a>(&'a self, id: &'a Digest, sizes: &[i64]) -> ImageFacts<'a> {
        ImageFacts {
            id,
            config: &self.images[id],
            parent: self.parents.get(id),
            size: sizes.iter().sum(),
            references: self.references.get(id).map_or(&[], Vec::as_slice),
            last_tag_time: self.last_updated.get(id).copied(),
            graph_driver: DRIVER,
        }
    }

    fn history_lookup(&self, id: &Digest) -> Option<HistoryImage> {
        self.images.contains_key(id).then(|| HistoryImage {
            parent: self.parents.get(id).cloned(),
            references: self.references.get(id).cloned().unwrap_or_default(),
        })
    }

    fn tar_split(&self, chain: &Digest) -> TarSplit {
        let gz = self.files.get(&format!("layerdb/sha256/{}/tar-split.json.gz", chain.hex())).unwrap();
        parse_tar_split(gz).unwrap_or_else(|e| panic!("{chain}: {e}"))
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// Renders every image of the store and compares with dockerd's answers in `expected_api`.
/// Returns how many images were checked.
/// Every object key with its path, in document order.
fn key_paths(v: &Value) -> Vec<String> {
    fn walk(v: &Value, at: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let path = format!("{at}/{k}");
                    out.push(path.clone());
                    walk(child, &path, out);
                }
            }
            Value::Array(items) => items.iter().enumerate().for_each(|(i, item)| walk(item, &format!("{at}/{i}"), out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, "", &mut out);
    out
}

fn check_store(store_tar: &str, expected_api: &str) -> usize {
    let store = Store::load(&fixture(store_tar));
    let api = fixture(expected_api);
    let all: Vec<Value> = read_json(&api.join("images-all.json")).as_array().unwrap().clone();
    assert_eq!(all.len(), store.images.len(), "{store_tar}: dockerd lists every image with all=1");
    for (id, config) in &store.images {
        let sizes = store.layer_sizes(config);
        let facts = store.facts(id, &sizes);
        let hex = id.hex();

        let mut want = read_json(&api.join(format!("inspect/{hex}.json")));
        want["GraphDriver"]["Data"] = Value::Null;
        let got = image_inspect(&facts);
        assert_eq!(got, want, "{store_tar}: inspect {hex}");
        // Value equality ignores key order; dockerd's order matters to people reading raw JSON.
        assert_eq!(key_paths(&got), key_paths(&want), "{store_tar}: inspect {hex} field order");

        let want = read_json(&api.join(format!("history/{hex}.json")));
        let got = image_history(&facts, &sizes, |d| store.history_lookup(d)).unwrap();
        assert_eq!(got, want, "{store_tar}: history {hex}");

        let want = all.iter().find(|s| s["Id"] == id.as_str()).unwrap_or_else(|| panic!("{hex} not in images-all"));
        let got = image_summary(&facts);
        assert_eq!(&got, want, "{store_tar}: summary {hex}");
        assert_eq!(key_paths(&got), key_paths(want), "{store_tar}: summary {hex} field order");
    }
    store.images.len()
}

#[test]
fn basic_store_renders_like_dockerd() {
    assert_eq!(check_store("docker20/basic/image-store.tar", "docker20/basic/expected/api"), 22);
}

#[test]
fn debian_store_renders_like_dockerd() {
    assert!(check_store("docker20/debian/image-store.tar", "docker20/debian/expected/api") > 0);
}

#[test]
fn wild_docker_explorer_stores_render_like_dockerd() {
    for name in ["aufs.v2", "overlay.v2", "overlay2.v2", "vols.v2"] {
        let n = check_store(
            &format!("wild/docker-explorer/test_data/{name}.tgz"),
            &format!("wild/docker-explorer/expected/{name}/api"),
        );
        assert_eq!(n, 1, "{name}");
    }
}

#[test]
fn reference_filter_matches_dockerd() {
    // images-filters.tsv: filter JSON, tab, dockerd's answer. Check the `reference` rows: the
    // images listed are exactly those with a reference matching one of the patterns.
    let store = Store::load(&fixture("docker20/basic/image-store.tar"));
    let tsv = std::fs::read_to_string(fixture("docker20/basic/expected/api/images-filters.tsv")).unwrap();
    let mut checked = 0;
    for line in tsv.lines() {
        let (filter, answer) = line.split_once('\t').unwrap();
        let filter: Value = serde_json::from_str(filter).unwrap();
        let Some(patterns) = filter.get("reference").and_then(Value::as_array) else { continue };
        let answer: Vec<Value> = serde_json::from_str(answer).unwrap();
        for (id, refs) in &store.references {
            let matching: Vec<String> = refs
                .iter()
                .filter(|r| patterns.iter().any(|p| familiar_match(p.as_str().unwrap(), r).unwrap()))
                .map(|r| r.familiar_string())
                .collect();
            let listed = answer.iter().find(|s| s["Id"] == id.as_str());
            assert_eq!(listed.is_some(), !matching.is_empty(), "{filter}: {id}");
            if let Some(s) = listed {
                // Only the matching references are shown.
                let mut shown: Vec<String> = ["RepoTags", "RepoDigests"]
                    .iter()
                    .flat_map(|k| s[k].as_array().cloned().unwrap_or_default())
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect();
                let mut matching = matching;
                shown.sort();
                matching.sort();
                assert_eq!(shown, matching, "{filter}: {id}");
            }
            checked += 1;
        }
    }
    assert!(checked > 0);
}

/// Layer `size` vs the tar-split listing. The rule depends on the driver that unpacked the
/// layer: vfs, aufs and overlay report the sum of regular file sizes (the naive diff driver
/// sums tar header sizes; hardlinks, dirs, symlinks are 0 in tar headers); overlay2's native
/// diff reports `directory.Size` of the unpacked dir, which also counts symlink target lengths.
#[test]
fn tar_split_listings_match_layer_sizes() {
    let mut layers = 0;
    for (store_tar, symlinks_counted) in [
        ("docker20/basic/image-store.tar", false),
        ("docker20/debian/image-store.tar", false),
        ("wild/docker-explorer/test_data/aufs.v2.tgz", false),
        ("wild/docker-explorer/test_data/overlay.v2.tgz", false),
        ("wild/docker-explorer/test_data/overlay2.v2.tgz", true),
        ("wild/docker-explorer/test_data/vols.v2.tgz", true),
    ] {
        let store = Store::load(&fixture(store_tar));
        for (chain, (size, _)) in &store.layers {
            let ts = store.tar_split(chain);
            assert!(ts.tar_size % 512 == 0 && ts.tar_size >= 1024, "{store_tar} {chain}: tar length {}", ts.tar_size);
            let listed = if symlinks_counted { ts.regular_and_symlink_bytes() } else { ts.regular_file_bytes() };
            assert_eq!(listed, *size, "{store_tar} {chain}");
            layers += 1;
        }
    }
    assert!(layers > 20);
}

/// `docker save` streams each layer tar as tar-split reassembles it, so every `layer.tar` in
/// the basic fixture's docker-save.tar is the exact tar behind one tar-split: same length
/// (Σ segments + Σ file sizes), same sha256 as the layer's DiffID, same members in order.
#[test]
fn tar_split_describes_the_saved_layer_tars_exactly() {
    let store = Store::load(&fixture("docker20/basic/image-store.tar"));
    let chain_by_diff: HashMap<Digest, Digest> = store
        .layers
        .keys()
        .map(|c| {
            (Digest::parse(&store.files.text(&format!("layerdb/sha256/{}/diff", c.hex())).unwrap()).unwrap(), c.clone())
        })
        .collect();
    let saved = std::fs::File::open(fixture("docker20/basic/docker-save.tar")).unwrap();
    let mut checked = 0;
    for entry in tar::Archive::new(saved).entries().unwrap() {
        let mut entry = entry.unwrap();
        if !entry.path().unwrap().ends_with("layer.tar") || entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let mut layer_tar = Vec::new();
        entry.read_to_end(&mut layer_tar).unwrap();
        let chain = &chain_by_diff[&Digest::sha256_of(&layer_tar)];
        let ts = store.tar_split(chain);
        assert_eq!(ts.tar_size, layer_tar.len() as u64, "{chain}");
        let members: Vec<(String, u64)> = tar::Archive::new(&layer_tar[..])
            .entries()
            .unwrap()
            .map(|m| {
                let m = m.unwrap();
                (String::from_utf8_lossy(&m.path_bytes()).into_owned(), m.header().entry_size().unwrap())
            })
            .collect();
        let listed: Vec<(String, u64)> = ts.entries.iter().map(|e| (e.name().into_owned(), e.size as u64)).collect();
        assert_eq!(listed, members, "{chain}");
        checked += 1;
    }
    assert!(checked >= 5, "{checked} layer tars checked");
}

#[test]
fn edge_layer_listing_has_every_special_entry() {
    let store = Store::load(&fixture("docker20/basic/image-store.tar"));
    // The layer made by the RUN that creates the special files (history: 8906 bytes).
    let all: Vec<_> = store.layers.keys().map(|c| store.tar_split(c)).collect();
    let edge = all.iter().find(|t| t.entries.iter().any(|e| e.name().contains("of-one-hundred-bytes"))).unwrap();
    let find = |suffix: &str| {
        edge.entries
            .iter()
            .find(|e| e.name().trim_end_matches('/').ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix}"))
    };
    let deep = find("of-one-hundred-bytes/file.txt");
    assert!(deep.name().len() > 100);
    assert_eq!((deep.kind, deep.size), (EntryKind::File, 5));
    assert_eq!(find("naïve-ファイル.txt").kind, EntryKind::File);
    let link = find("data/link");
    assert_eq!((link.kind, link.linkname().as_ref()), (EntryKind::Symlink, "/app/data.txt"));
    // `ln /app/data.txt /data/hard` links to a file of a lower layer: the diff stores a copy.
    let hard = find("data/hard");
    assert_eq!((hard.kind, hard.size), (EntryKind::File, 8893));
    assert_eq!(find("data/suid").mode & 0o7777, 0o4755);
    assert_eq!(find("data/fifo").kind, EntryKind::Fifo);
    let empty = find("data/empty-dir");
    assert_eq!((empty.kind, empty.mode & 0o777), (EntryKind::Dir, 0o700));

    // The `rm` layer holds the whiteouts.
    let whiteouts: Vec<Whiteout> = all.iter().flat_map(|t| t.entries.iter().filter_map(|e| e.whiteout())).collect();
    assert!(whiteouts.contains(&Whiteout::Deleted("etc/hello.txt".into())), "{whiteouts:?}");
    assert!(whiteouts.contains(&Whiteout::Deleted("app/built.txt".into())), "{whiteouts:?}");
}
