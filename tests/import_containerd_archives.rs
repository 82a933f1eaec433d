#![cfg(not(target_arch = "wasm32"))]
//! Archives into containerd, checked against what real ctr (containerd 1.6) printed for the
//! same inputs: `ctr images import docker-save.tar` (namespace default), `ctr images import
//! --index-name docker.io/team/edge:oci oci-archive.tar` (namespace team), and the containerd
//! root those two imports left behind.

mod support;

use futures::executor::block_on;
use imagestore::containerd::ls_view::{content_rows, image_rows, render_images_table};
use imagestore::containerd::{Containerd, Image};
use imagestore::import::{ContainerdImport, CtrOptions, Finished, ImportOptions, Imported};
use imagestore::storage::memory::MemoryBackend;
use imagestore::storage::{blobs, Backend, Space};
use imagestore::{Digest, ErrorCode};
use support::import::*;

fn containerd(f: &Finished) -> &ContainerdImport {
    match &f.imported {
        Imported::Containerd { import, .. } => import,
        other => panic!("not a containerd import: {}", other.format()),
    }
}

fn into_ns(ns: &str) -> ImportOptions {
    ImportOptions { namespace: Some(ns.to_string()), ..Default::default() }
}

/// Imports and commits; returns the report's format and the backend.
fn import_and_commit(input: &[u8], chunk: usize, options: ImportOptions) -> (Finished, MemoryBackend) {
    let (f, backend) = import_with(input, chunk, options);
    let f = f.unwrap();
    block_on(backend.commit(containerd(&f).ops.clone())).unwrap();
    (f, backend)
}

fn table(backend: &MemoryBackend, ns: &str) -> String {
    block_on(async {
        let n = Containerd::new(backend.clone()).namespace(ns).unwrap();
        let images = n.images().list_filtered::<&str>(&[]).await.unwrap();
        render_images_table(&image_rows(&n.content(), &images).await)
    })
}

fn expected(name: &str) -> String {
    String::from_utf8(fixture(&format!("docker20/basic/expected/{name}"))).unwrap()
}

/// Sets labels as the fixture script did after its import (`ctr images label`).
fn label_first_image(backend: &MemoryBackend) {
    block_on(async {
        let n = Containerd::new(backend.clone()).namespace("default").unwrap();
        let mut img: Image = n.images().get("docker.io/local/base:1").await.unwrap();
        img.labels.insert("team".into(), "platform".into());
        img.labels.insert("tier".into(), "gold".into());
        n.images().update(&img, &["labels"]).await.unwrap();
    })
}

/// `ctr content ls` rows without AGE: digest, size, labels (sorted, ours and theirs).
fn content_table(backend: &MemoryBackend, ns: &str) -> Vec<(String, String, Vec<String>)> {
    block_on(async {
        let n = Containerd::new(backend.clone()).namespace(ns).unwrap();
        let infos = n.content().walk(|_| true).await.unwrap();
        content_rows(&infos)
            .into_iter()
            .map(|r| {
                let mut labels: Vec<String> = r.labels.split(',').map(String::from).collect();
                labels.sort();
                (r.digest, r.size, labels)
            })
            .collect()
    })
}

fn expected_content() -> Vec<(String, String, Vec<String>)> {
    expected("ctr-content-default.txt")
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split('\t').filter(|c| !c.is_empty()).collect();
            let mut labels: Vec<String> = cells[cells.len() - 1].split(',').map(String::from).collect();
            labels.sort();
            (cells[0].to_string(), cells[1].to_string(), labels)
        })
        .collect()
}

#[test]
fn docker_save_into_a_namespace_is_what_ctr_import_made() {
    let tar = fixture("docker20/basic/docker-save.tar");
    for chunk in [4093, 1 << 16] {
        let (f, backend) = import_and_commit(&tar, chunk, into_ns("default"));
        assert_eq!(f.report.format, "docker-save");
        assert_eq!(f.report.images, 6);
        label_first_image(&backend);
        assert_eq!(table(&backend, "default"), expected("ctr-images-default.txt"));
        // Only what GC would keep: 5 manifests, 5 configs, 9 layers, with ctr's labels.
        assert_eq!(content_table(&backend, "default"), expected_content());
        // Nothing else left staged: every chunk belongs to a stored blob.
        assert_eq!(orphan_chunk_sets(&backend), 0);
    }
}

#[test]
fn oci_archive_with_index_name_is_what_ctr_import_made() {
    let tar = fixture("docker20/basic/oci-archive.tar");
    let options = ImportOptions {
        namespace: Some("team".into()),
        ctr: CtrOptions { base_name: None, index_name: Some("docker.io/team/edge:oci".into()), ..Default::default() },
        ..Default::default()
    };
    let (f, backend) = import_and_commit(&tar, 1000, options);
    assert_eq!(f.report.format, "oci-layout");
    // ctr named the ref "edge" with its default prefix of the day it ran.
    let got = table(&backend, "team");
    let want = expected("ctr-images-team.txt");
    let today = imagestore::import::default_prefix();
    assert_eq!(got, want.replace("import-2026-11-23", &today));
}

#[test]
fn containerd_root_reproduces_both_namespaces() {
    let tar = fixture("docker20/basic/containerd-root.tar");
    let (f, backend) = import_and_commit(&tar, 8192, ImportOptions::default());
    assert_eq!(f.report.format, "containerd-root");
    assert_eq!(containerd(&f).namespaces, ["default", "team"]);
    assert_eq!(table(&backend, "default"), expected("ctr-images-default.txt"));
    assert_eq!(table(&backend, "team"), expected("ctr-images-team.txt"));
    assert_eq!(content_table(&backend, "default"), expected_content());
}

#[test]
fn an_untagged_docker_25_save_names_no_image_in_containerd() {
    // Its index.json lists no manifest ("manifests": null), so ctr creates no image.
    let tar = fixture("wild/go-containerregistry/pkg/v1/tarball/testdata/hello-world-v25.tar");
    let (f, backend) = import_and_commit(&tar, 512, into_ns("v25"));
    assert_eq!((f.report.format.as_str(), f.report.images), ("oci-layout", 0));
    assert!(f.report.warnings.iter().any(|w| w.contains("names no image")), "{:?}", f.report.warnings);
    assert_eq!(orphan_chunk_sets(&backend), 0);
    assert!(block_on(blobs::stored_digests(&backend)).unwrap().is_empty());
}

#[test]
fn a_blob_that_does_not_match_its_name_fails_and_leaves_nothing() {
    let tar = fixture("docker20/basic/oci-archive.tar");
    let mut bad = tar.clone();
    // Flip a byte inside the 1 MiB layer blob's data (well after its header).
    let at = find(&bad, b"blobs/sha256/83521407f05f").unwrap() + 512 + 5000;
    bad[at] ^= 0xff;
    let (r, backend) = import_with(&bad, 4096, into_ns("team"));
    let e = r.unwrap_err();
    assert_eq!(e.code, ErrorCode::DataCorrupt);
    assert!(
        e.message.contains("blobs/sha256/83521407f05f") && e.message.contains("expected sha256:83521407f05f"),
        "{e}"
    );
    assert!(backend.is_empty(), "nothing staged is left");
}

#[test]
fn a_manifest_naming_a_missing_blob_fails_and_leaves_nothing() {
    let tar = fixture("docker20/basic/oci-archive.tar");
    let without =
        rewrite_tar(&tar, |name| !name.ends_with("84ef55bfdb32c372b04ffc82a2b6c219c4b8bff42ff03d13bf530097becfedd9"));
    let (r, backend) = import_with(&without, 4096, into_ns("team"));
    let e = r.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    assert!(e.message.contains("sha256:84ef55bfdb32") && e.message.contains("manifest sha256:"), "{e}");
    assert!(backend.is_empty());
}

#[test]
fn a_corrupt_meta_db_fails_and_leaves_nothing() {
    let root = fixture("docker20/basic/containerd-root.tar");
    let invalid = fixture("wild/osv-scalibr/extractor/filesystem/containers/containerd/testdata/invalid_meta.db");
    let db = entry_bytes(&root, "meta.db");
    let bad_roots = [
        ("invalid_meta.db", replace_entry(&root, "meta.db", &invalid)),
        // Both meta pages damaged (one alone is survived: bbolt falls back to the other).
        ("bad meta checksums", replace_entry(&root, "meta.db", &flip(&flip(&db, 60), 4096 + 60))),
        ("pages out of bounds", replace_entry(&root, "meta.db", &db[..16384])),
    ];
    for (what, tar) in bad_roots {
        let (r, backend) = import_with(&tar, 4096, ImportOptions::default());
        let e = r.unwrap_err();
        assert!(matches!(e.code, ErrorCode::DataCorrupt | ErrorCode::UnsupportedFormat), "{what}: {e:?}");
        assert!(e.message.contains("meta.db"), "{what}: {e}");
        assert!(backend.is_empty(), "{what}: nothing staged is left");
    }
}

#[test]
fn wild_archives_import_with_every_walked_blob_present() {
    for (rel, format, min_images) in [
        ("wild/dive/.data/test-oci-uncompressed-image.tar", "oci-layout", 1),
        ("wild/dive/.data/test-oci-gzip-image.tar", "oci-layout", 1),
        ("wild/dive/.data/test-oci-zstd-image.tar", "oci-layout", 1),
        ("wild/dive/.data/test-oci-estargz-image.tar", "oci-layout", 1),
        ("wild/dive/.data/test-docker-image.tar", "docker-save", 1),
        ("wild/dive/.data/test-kaniko-image.tar", "docker-save", 1),
        ("wild/go-containerregistry/pkg/v1/tarball/testdata/test_link.tar", "docker-save", 1),
        ("wild/containers-image/docker/archive/fixtures/almostempty.tar", "docker-save", 1),
    ] {
        let options = ImportOptions {
            namespace: Some("wild".into()),
            ctr: CtrOptions { digest_refs: true, all_platforms: true, ..Default::default() },
            ..Default::default()
        };
        let (f, backend) = import_and_commit(&fixture(rel), 3000, options);
        assert_eq!(f.report.format, format, "{rel}");
        assert!(f.report.images >= min_images, "{rel}: {:?}", f.report);
        let rows = block_on(async {
            let n = Containerd::new(backend.clone()).namespace("wild").unwrap();
            let images = n.images().list(|_| true).await.unwrap();
            image_rows(&n.content(), &images).await
        });
        for row in rows {
            assert!(row.size_error.is_none(), "{rel}: {}: {:?}", row.name, row.size_error);
            assert!(row.size > 0 && row.platforms != "-", "{rel}: {row:?}");
        }
        // Every stored blob hashes to its digest.
        for d in block_on(blobs::stored_digests(&backend)).unwrap() {
            assert_eq!(Digest::sha256_of(&block_on(blobs::read_all(&backend, &d)).unwrap()), d, "{rel}");
        }
    }
    for rel in std::fs::read_dir(fixture_path("wild/osv-scalibr/artifact/image/unpack/testdata"))
        .unwrap()
        .chain(std::fs::read_dir(fixture_path("wild/osv-scalibr/artifact/image/layerscanning/image/testdata")).unwrap())
    {
        let path = rel.unwrap().path();
        assert!(path.exists());
        if path.extension().is_none_or(|e| e != "tar") {
            continue;
        }
        let (f, _) = import_and_commit(&std::fs::read(&path).unwrap(), 5000, into_ns("osv"));
        assert_eq!(f.report.format, "docker-save", "{}", path.display());
        assert!(f.report.images >= 1, "{}", path.display());
    }
}

/// Chunk sets no blob record points to (staged data left behind).
fn orphan_chunk_sets(backend: &MemoryBackend) -> usize {
    let live: std::collections::BTreeSet<String> = block_on(backend.scan(Space::Meta, imagestore::schema::BLOBS))
        .unwrap()
        .into_iter()
        .map(|(_, v)| serde_json::from_slice::<blobs::BlobRecord>(&v).unwrap().chunks)
        .collect();
    let sets: std::collections::BTreeSet<String> = block_on(backend.keys(Space::Chunks, ""))
        .unwrap()
        .into_iter()
        .map(|k| k.rsplit_once('/').unwrap().0.to_string())
        .collect();
    sets.difference(&live).count()
}

// ---- tar surgery ---------------------------------------------------------------------------

fn fixture_path(rel: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v[at] ^= 0xff;
    v
}

/// Rebuilds a tar keeping the entries whose name passes `keep`.
fn rewrite_tar(tar: &[u8], keep: impl Fn(&str) -> bool) -> Vec<u8> {
    edit_tar(tar, |name, data| keep(name).then(|| data.to_vec()))
}

fn entry_bytes(tar: &[u8], suffix: &str) -> Vec<u8> {
    let mut found = None;
    edit_tar(tar, |name, data| {
        if name.ends_with(suffix) {
            found = Some(data.to_vec());
        }
        Some(data.to_vec())
    });
    found.unwrap()
}

fn replace_entry(tar: &[u8], suffix: &str, with: &[u8]) -> Vec<u8> {
    edit_tar(tar, |name, data| Some(if name.ends_with(suffix) { with.to_vec() } else { data.to_vec() }))
}

fn edit_tar(tar: &[u8], mut f: impl FnMut(&str, &[u8]) -> Option<Vec<u8>>) -> Vec<u8> {
    use std::io::Read;
    let mut out = tar::Builder::new(Vec::new());
    for entry in tar::Archive::new(tar).entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        let Some(new) = f(&name, &data) else { continue };
        let mut h = entry.header().clone();
        h.set_size(new.len() as u64);
        h.set_cksum();
        out.append_data(&mut h, &name, &new[..]).unwrap();
    }
    out.into_inner().unwrap()
}

/// A real node's meta.db (219 images in `k8s.io`, from osv-scalibr's test data) in a containerd
/// root without its blobs: every image is still listed, with its target, as containerd lists
/// images whose content is gone.
#[test]
fn node_meta_db_without_blobs_lists_every_image() {
    let db = std::fs::read(fixture_path(
        "wild/osv-scalibr/extractor/filesystem/containers/containerd/testdata/meta_linux_too_big.db",
    ))
    .unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(db.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db", db.as_slice()).unwrap();
    let input = tar.into_inner().unwrap();

    let (f, backend) = import_and_commit(&input, 65536, ImportOptions::default());
    assert_eq!(f.report.format, "containerd-root");
    let images = block_on(async {
        let ns = Containerd::new(backend.clone()).namespace("k8s.io").unwrap();
        ns.images().list_filtered::<&str>(&[]).await.unwrap()
    });
    assert_eq!(images.len(), 219);
    assert!(images.iter().all(|i| i.target.size > 0 && i.target.digest.as_str().starts_with("sha256:")));
    let pause = images.iter().filter(|i| i.name.contains("pause")).count();
    assert!(pause > 0, "the node's pause image is listed");
}
