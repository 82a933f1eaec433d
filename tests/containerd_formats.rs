#![cfg(not(target_arch = "wasm32"))]
//! containerd formats on real fixtures: bbolt, meta.db schema, filters, OCI types.

use imagestore::formats::bbolt::{Bucket, Db};
use imagestore::formats::containerd_meta::{read_meta_db, ImageRecord, MetaDb};
use imagestore::formats::filters::parse_all;
use imagestore::{Digest, ErrorCode};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::PathBuf;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

/// Reads one member of a tar fixture.
fn tar_member(tar_rel: &str, member: &str) -> Vec<u8> {
    let file = std::fs::File::open(fixture(tar_rel)).unwrap();
    let mut ar = tar::Archive::new(file);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_str() == Some(member) {
            let mut out = Vec::new();
            e.read_to_end(&mut out).unwrap();
            return out;
        }
    }
    panic!("{member} not in {tar_rel}");
}

fn basic_meta_db() -> Vec<u8> {
    tar_member("docker20/basic/containerd-root.tar", "io.containerd.metadata.v1.bolt/meta.db")
}


fn expected(name: &str) -> String {
    std::fs::read_to_string(fixture(&format!("docker20/basic/expected/{name}"))).unwrap()
}

fn scalibr_db(name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("wild/osv-scalibr/extractor/filesystem/containers/containerd/testdata/{name}"))).unwrap()
}

fn basic_meta() -> MetaDb {
    read_meta_db(&basic_meta_db()).unwrap()
}

/// Counts every key of every bucket below `b` (walks the whole tree).
fn count_keys(b: Bucket) -> usize {
    b.entries()
        .unwrap()
        .into_iter()
        .map(|e| 1 + e.value.as_bucket().map(count_keys).unwrap_or(0))
        .sum()
}

// ---------------------------------------------------------------------------------------------
// bbolt

#[test]
fn bbolt_opens_basic_meta_db() {
    let data = basic_meta_db();
    let db = Db::open(&data).unwrap();
    let meta = db.meta();
    assert_eq!(meta.page_size, 4096);
    assert_eq!(data.len() % 4096, 0);
    assert!(meta.pgid as usize * 4096 <= data.len());
    let root = db.root();
    let top: Vec<_> = root.entries().unwrap().iter().map(|e| e.key.to_vec()).collect();
    assert_eq!(top, vec![b"v1".to_vec()]);
    let v1 = root.bucket(b"v1").unwrap().unwrap();
    assert_eq!(v1.get_data(b"version").unwrap(), Some(&[0x06u8][..])); // varint 3 (containerd 1.6)
    assert!(v1.get(b"nope").unwrap().is_none());
    // get() agrees with iteration for every key, at every level of the default namespace
    let ns = v1.bucket(b"default").unwrap().unwrap();
    for e in ns.entries().unwrap() {
        assert!(ns.get(e.key).unwrap().is_some());
    }
    let blobs = ns.bucket(b"content").unwrap().unwrap().bucket(b"blob").unwrap().unwrap();
    let keys: Vec<_> = blobs.entries().unwrap().iter().map(|e| e.key.to_vec()).collect();
    assert_eq!(keys.len(), 19);
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "keys in byte order");
    for k in &keys {
        let b = blobs.bucket(k).unwrap().unwrap();
        assert!(b.get_data(b"size").unwrap().is_some());
    }
    assert!(count_keys(root) > 200);
}

#[test]
fn bbolt_opens_all_real_scalibr_files() {
    for name in [
        "meta_linux_gcfs.db",
        "meta_linux_test_single.db",
        "meta_linux_too_big.db",
        "meta_windows.db",
        "metadata_gcfs.db",
        "metadata_linux_test.db",
        "metadata_linux_test_long_lived.db",
    ] {
        let data = scalibr_db(name);
        let db = Db::open(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(db.root().bucket(b"v1").unwrap().is_some(), "{name}");
        assert!(count_keys(db.root()) > 3, "{name}");
    }
}

#[test]
fn bbolt_rejects_invalid_meta_db() {
    let e = Db::open(&scalibr_db("invalid_meta.db")).unwrap_err();
    assert_eq!(e.code, ErrorCode::DataCorrupt);
    assert!(e.message.contains("meta page 0"), "{}", e.message);
    let e = read_meta_db(&scalibr_db("invalid_meta.db")).unwrap_err();
    assert!(e.message.starts_with("meta.db: not a valid bbolt file"), "{}", e.message);
}

/// The chosen meta's txid and the other meta page's offset.
fn metas(data: &[u8]) -> (u64, u64) {
    let txid = |page: usize| u64::from_le_bytes(data[page * 4096 + 16 + 48..][..8].try_into().unwrap());
    (txid(0), txid(1))
}

#[test]
fn bbolt_falls_back_to_the_other_meta_and_fails_when_both_are_bad() {
    let data = basic_meta_db();
    let (tx0, tx1) = metas(&data);
    let newer = if tx1 > tx0 { 1 } else { 0 };
    assert_eq!(Db::open(&data).unwrap().meta().page, newer);
    // Flip a checksum byte of the newer meta: the older one is used.
    let mut bad = data.clone();
    bad[newer as usize * 4096 + 16 + 56] ^= 0xff;
    let db = Db::open(&bad).unwrap();
    assert_eq!(db.meta().page, 1 - newer);
    assert_eq!(db.meta().txid, tx0.min(tx1));
    // The previous transaction's tree is still readable.
    assert!(db.root().bucket(b"v1").unwrap().is_some());
    // Both bad: error naming both pages.
    bad[(1 - newer) as usize * 4096 + 16 + 56] ^= 0xff;
    let e = Db::open(&bad).unwrap_err();
    assert_eq!(e.code, ErrorCode::DataCorrupt);
    assert!(e.message.contains("meta page 0") && e.message.contains("meta page 1"), "{}", e.message);
    assert!(e.message.contains("checksum mismatch"), "{}", e.message);
}

#[test]
fn bbolt_reports_out_of_bounds_elements_loops_and_truncation() {
    let data = basic_meta_db();
    let meta = Db::open(&data).unwrap().meta();

    // An element whose key offset points outside its page.
    let mut bad = data.clone();
    let p = meta.root as usize;
    let elem = p * 4096 + 16;
    let flags = u16::from_le_bytes(bad[p * 4096 + 8..][..2].try_into().unwrap());
    let pos_at = if flags == 0x02 { elem + 4 } else { elem };
    bad[pos_at..pos_at + 4].copy_from_slice(&100_000u32.to_le_bytes());
    let e = Db::open(&bad).unwrap().root().entries().unwrap_err();
    assert_eq!(e.code, ErrorCode::DataCorrupt);
    assert!(e.message.contains(&format!("bbolt page {p}")) && e.message.contains("outside the page"), "{}", e.message);

    // A branch page pointing to itself: make the root a one-element branch to itself.
    let mut bad = data.clone();
    let r = meta.root as usize * 4096;
    bad[r + 8..r + 10].copy_from_slice(&0x01u16.to_le_bytes());
    bad[r + 10..r + 12].copy_from_slice(&1u16.to_le_bytes());
    bad[r + 16..r + 20].copy_from_slice(&16u32.to_le_bytes()); // pos
    bad[r + 20..r + 24].copy_from_slice(&2u32.to_le_bytes()); // ksize
    bad[r + 24..r + 32].copy_from_slice(&meta.root.to_le_bytes()); // child = itself
    let db = Db::open(&bad).unwrap();
    let e = db.root().entries().unwrap_err();
    assert!(e.message.contains("page loop"), "{}", e.message);
    let e = db.root().get(b"v1").unwrap_err();
    assert!(e.message.contains("page loop"), "{}", e.message);

    // A page whose header id is wrong (e.g. garbage where a page should be): the root page of
    // the default namespace's (non-inline) images bucket.
    let mut bad = data.clone();
    let v1 = Db::open(&data).unwrap().root().bucket(b"v1").unwrap().unwrap();
    let images = v1.bucket(b"default").unwrap().unwrap().bucket(b"images").unwrap().unwrap();
    let leaf = images.root_page_id().expect("paged bucket") as usize;
    bad[leaf * 4096..leaf * 4096 + 8].copy_from_slice(&9999u64.to_le_bytes());
    let e = read_meta_db(&bad).unwrap_err();
    assert_eq!(e.code, ErrorCode::DataCorrupt);
    assert!(e.message.contains(&format!("bbolt page {leaf}")) && e.message.contains("says page id 9999"), "{}", e.message);

    // Truncated file: the metas are intact but pages they count are missing.
    let cut = &data[..3 * 4096];
    let e = read_meta_db(cut).unwrap_err();
    assert_eq!(e.code, ErrorCode::DataCorrupt);
    assert!(e.message.contains("file truncated"), "{}", e.message);
    // Truncated inside the first page: no meta at all.
    assert_eq!(Db::open(&data[..100]).unwrap_err().code, ErrorCode::DataCorrupt);
    assert_eq!(Db::open(&data[..10]).unwrap_err().code, ErrorCode::DataCorrupt);

    // A page with more overflow pages than the file holds.
    let mut bad = data.clone();
    let r = meta.root as usize * 4096;
    bad[r + 12..r + 16].copy_from_slice(&1000u32.to_le_bytes());
    let e = Db::open(&bad).unwrap().root().entries().unwrap_err();
    assert!(e.message.contains("overflow pages runs past the end"), "{}", e.message);
}

// ---------------------------------------------------------------------------------------------
// meta.db schema

/// `ctr images ls` rows: ref -> (type, digest, labels).
fn ctr_images(name: &str) -> BTreeMap<String, (String, String, String)> {
    expected(name)
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let t: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(t.len(), 7, "{l}");
            (t[0].to_string(), (t[1].to_string(), t[2].to_string(), t[6].to_string()))
        })
        .collect()
}

fn ctr_labels(img: &ImageRecord) -> String {
    if img.labels.is_empty() {
        return "-".into();
    }
    img.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

#[test]
fn meta_db_namespaces_and_images_match_ctr() {
    let meta = basic_meta();
    assert_eq!(meta.version, 3);
    let names: Vec<_> = meta.namespaces.keys().cloned().collect();
    let want: Vec<_> = expected("ctr-namespaces.txt").lines().skip(1).map(|l| l.split_whitespace().next().unwrap().to_string()).collect();
    assert_eq!(names, want);
    assert_eq!(names, ["default", "team"]);
    for (ns, file) in [("default", "ctr-images-default.txt"), ("team", "ctr-images-team.txt")] {
        let want = ctr_images(file);
        let images = &meta.namespaces[ns].images;
        assert_eq!(images.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "{ns}");
        for (name, img) in images {
            let (media_type, digest, labels) = &want[name];
            assert_eq!(&img.name, name);
            assert_eq!(&img.target.media_type, media_type, "{name}");
            assert_eq!(&img.target.digest, digest, "{name}");
            assert_eq!(&ctr_labels(img), labels, "{name}");
            assert!(img.target.size > 0);
            assert!(!img.created_at.is_zero() && img.updated_at.unix_nanos() >= img.created_at.unix_nanos());
            assert!(img.created_at.to_rfc3339_nano().starts_with("2026-11-23T"), "{}", img.created_at.to_rfc3339_nano());
        }
    }
    // Target annotations come from the image bucket's `annotations` sub-bucket.
    let base = &meta.namespaces["default"].images["docker.io/local/base:1"];
    assert_eq!(base.target.annotations["io.containerd.image.name"], "docker.io/local/base:1");
    assert_eq!(base.target.annotations["org.opencontainers.image.ref.name"], "1");
    assert_eq!(base.target.size, 422);
    // The updated image (labels added after import) has updatedat > createdat.
    assert!(base.updated_at.unix_nanos() > base.created_at.unix_nanos());
    assert!(meta.namespaces["team"].images["docker.io/team/edge:oci"].target.annotations.is_empty());
}

/// go-units HumanSize (4 significant digits, decimal units), as `ctr content ls` prints sizes.
fn human_size(size: i64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = size as f64;
    let mut i = 0;
    while v >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let digits = if v >= 100.0 { 1 } else if v >= 10.0 { 2 } else { 3 };
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    format!("{s}{}", units[i])
}

#[test]
fn meta_db_content_matches_ctr_content_ls_and_blob_files() {
    let meta = basic_meta();
    let content = &meta.namespaces["default"].content;
    let text = expected("ctr-content-default.txt");
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split('\t').collect()).collect();
    assert_eq!(content.len(), rows.len());
    // Blob sizes must equal the blob files in the content store.
    let file = std::fs::File::open(fixture("docker20/basic/containerd-root.tar")).unwrap();
    let mut sizes = BTreeMap::new();
    for e in tar::Archive::new(file).entries().unwrap() {
        let e = e.unwrap();
        let p = e.path().unwrap().to_string_lossy().into_owned();
        if let Some(hex) = p.strip_prefix("io.containerd.content.v1.content/blobs/sha256/") {
            sizes.insert(format!("sha256:{hex}"), e.header().size().unwrap() as i64);
        }
    }
    for row in rows {
        let blob = &content[row[0]];
        assert_eq!(blob.digest, row[0]);
        assert_eq!(human_size(blob.size), row[1], "{}", row[0]);
        assert_eq!(blob.size, sizes[row[0]], "{}", row[0]);
        // ctr prints labels in Go map order: compare as sets.
        let want: BTreeSet<&str> = if row[3] == "-" { BTreeSet::new() } else { row[3].split(',').collect() };
        let got: BTreeSet<String> = blob.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(got.iter().map(String::as_str).collect::<BTreeSet<_>>(), want, "{}", row[0]);
        assert!(!blob.created_at.is_zero());
    }
    assert!(meta.namespaces["default"].ingests.is_empty());
    assert!(meta.namespaces["default"].leases.is_empty());
    assert_eq!(meta.namespaces["team"].content.len(), 10);
}

#[test]
fn meta_db_too_big_has_219_valid_images() {
    let meta = read_meta_db(&scalibr_db("meta_linux_too_big.db")).unwrap();
    let ns = &meta.namespaces["k8s.io"];
    assert_eq!(ns.images.len(), 219);
    for (name, img) in &ns.images {
        Digest::parse(&img.target.digest).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(img.target.size > 0, "{name}");
        assert!(!img.target.media_type.is_empty(), "{name}");
        assert!(!img.created_at.is_zero(), "{name}");
    }
    // Every image target should be a known content blob of the namespace.
    let missing = ns.images.values().filter(|i| !ns.content.contains_key(&i.target.digest)).count();
    assert_eq!(missing, 0);
}

#[test]
fn meta_db_all_real_files_load() {
    for name in [
        "meta_linux_gcfs.db",
        "meta_linux_test_single.db",
        "meta_windows.db",
        "metadata_linux_test.db",
        "metadata_linux_test_long_lived.db",
    ] {
        let meta = read_meta_db(&scalibr_db(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!meta.namespaces.is_empty(), "{name}");
        // 0 = no version key (meta_linux_gcfs.db was sanitized without it).
        assert!((0..=4).contains(&meta.version), "{name}: version {}", meta.version);
        for (ns, data) in &meta.namespaces {
            for (d, blob) in &data.content {
                assert_eq!(&blob.digest, d);
                assert!(blob.size >= 0, "{name} {ns} {d}");
            }
        }
    }
}

#[test]
fn snapshotter_metadata_db_reads_as_a_namespace_without_objects() {
    // metadata_gcfs.db is a snapshotter's own bolt file (v1/snapshots/...), not meta.db:
    // like containerd, the reader sees one "namespace" named snapshots holding nothing.
    let meta = read_meta_db(&scalibr_db("metadata_gcfs.db")).unwrap();
    assert_eq!(meta.namespaces.keys().collect::<Vec<_>>(), ["snapshots"]);
    assert!(meta.namespaces["snapshots"].images.is_empty());
}

#[test]
fn meta_db_without_v1_bucket_is_unsupported() {
    // Rename the top-level key "v1" to "v0" in basic's root leaf page.
    let data = basic_meta_db();
    let root = Db::open(&data).unwrap().meta().root as usize * 4096;
    let mut bad = data.clone();
    let at = root + bad[root..root + 4096].windows(2).position(|w| w == b"v1").unwrap();
    bad[at + 1] = b'0';
    let e = read_meta_db(&bad).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedFormat);
    assert!(e.message.contains("no \"v1\" schema bucket"), "{}", e.message);
}

// ---------------------------------------------------------------------------------------------
// filters on real images

#[test]
fn ctr_filter_queries_match_real_answers() {
    let meta = basic_meta();
    let images = &meta.namespaces["default"].images;
    let text = expected("ctr-images-filters.txt");
    let mut queries = 0;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let q = line.strip_prefix("# ctr images ls -q '").and_then(|r| r.strip_suffix('\'')).expect(line);
        let mut want = Vec::new();
        while let Some(l) = lines.peek() {
            if l.starts_with('#') {
                break;
            }
            want.push(lines.next().unwrap().to_string());
        }
        let filter = parse_all(&[q]).unwrap();
        let got: Vec<String> = images.values().filter(|i| filter.matches(*i)).map(|i| i.name.clone()).collect();
        assert_eq!(got, want, "filter {q}");
        queries += 1;
    }
    assert_eq!(queries, 4);
    // And a few more over the same images.
    let names = |f: &[&str]| -> Vec<String> {
        let f = parse_all(f).unwrap();
        images.values().filter(|i| f.matches(*i)).map(|i| i.name.clone()).collect()
    };
    assert_eq!(names(&["labels.tier"]), ["docker.io/local/base:1"]);
    assert_eq!(names(&["labels.tier!=gold"]).len(), 5);
    assert_eq!(names(&["annotations.\"org.opencontainers.image.ref.name\"==1.0"]), ["docker.io/local/demo:1.0"]);
    assert_eq!(names(&["target.digest~=^sha256:a066", "name==docker.io/local/edge:latest"]).len(), 3);
    let blobs = &meta.namespaces["default"].content;
    let f = parse_all(&["labels.\"containerd.io/gc.ref.content.config\"", "size"]).unwrap();
    assert_eq!(blobs.values().filter(|b| f.matches(*b)).count(), 5);
}

