#![cfg(not(target_arch = "wasm32"))]
//! `ctr images ls` / `ctr content ls` against real containerd 1.6 output
//! (tests/fixtures/docker20/basic). The blobs come from the fixture's containerd root; image
//! names, targets and labels are taken from the expected listing itself, so what is checked
//! here is everything ctr derives: SIZE (platform walk), PLATFORMS, the LABELS column and the
//! table layout. (Loading meta.db itself is the containerd-root importer's test.)

use futures::executor::block_on;
use imagestore::containerd::ls_view::{content_rows, image_rows, render_images_table};
use imagestore::containerd::{Containerd, Image, Labels, Namespace, Target};
use imagestore::storage::memory::MemoryBackend;
use imagestore::Digest;
use std::collections::BTreeMap;
use std::io::Read;

const FIXTURE: &str = "tests/fixtures/docker20/basic";

/// digest → bytes of every blob in the fixture's containerd root.
fn fixture_blobs() -> BTreeMap<Digest, Vec<u8>> {
    let f = std::fs::File::open(format!("{FIXTURE}/containerd-root.tar")).unwrap();
    let mut out = BTreeMap::new();
    for entry in tar::Archive::new(f).entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let Some(hex) = path.strip_prefix("io.containerd.content.v1.content/blobs/sha256/").filter(|h| !h.is_empty())
        else {
            continue;
        };
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        let d = Digest::from_sha256_hex(hex).unwrap();
        assert_eq!(Digest::sha256_of(&bytes), d, "fixture blob {path}");
        out.insert(d, bytes);
    }
    out
}

async fn load(ns: &Namespace<MemoryBackend>, blobs: &BTreeMap<Digest, Vec<u8>>, only: Option<&[Digest]>) {
    for (d, bytes) in blobs {
        if only.is_some_and(|keep| !keep.contains(d)) {
            continue;
        }
        let mut w = ns.content().writer(&format!("load-{d}"), Some(d), bytes.len() as u64).await.unwrap();
        w.write(bytes).await.unwrap();
        w.commit(bytes.len() as u64, Some(d), Labels::new()).await.unwrap();
    }
}

fn parse_labels(cell: &str) -> Labels {
    if cell == "-" {
        return Labels::new();
    }
    cell.split(',').map(|kv| kv.split_once('=').unwrap()).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The images a `ctr images ls` listing shows: name, target (size from the blob) and labels.
fn images_of_listing(text: &str, blobs: &BTreeMap<Digest, Vec<u8>>) -> Vec<Image> {
    text.lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            let digest = Digest::parse(cells[2]).unwrap();
            Image {
                name: cells[0].into(),
                labels: parse_labels(cells[6]),
                target: Target {
                    media_type: cells[1].into(),
                    digest: digest.to_string(),
                    size: blobs[&digest].len() as i64,
                    ..Default::default()
                },
                ..Default::default()
            }
        })
        .collect()
}

fn check_namespace(ns_name: &str, expected_file: &str) {
    block_on(async {
        let blobs = fixture_blobs();
        let expected = std::fs::read_to_string(format!("{FIXTURE}/expected/{expected_file}")).unwrap();
        let c = Containerd::new(MemoryBackend::new());
        let ns = c.namespace(ns_name).unwrap();
        load(&ns, &blobs, None).await;
        for img in images_of_listing(&expected, &blobs) {
            ns.images().create(&img).await.unwrap();
        }
        let images = ns.images().list(|_| true).await.unwrap();
        let rows = image_rows(&ns.content(), &images).await;
        for r in &rows {
            assert!(r.size_error.is_none(), "{}: {:?}", r.name, r.size_error);
        }
        assert_eq!(render_images_table(&rows), expected);
    });
}

#[test]
fn ctr_images_ls_default_namespace() {
    check_namespace("default", "ctr-images-default.txt");
}

#[test]
fn ctr_images_ls_team_namespace_with_an_index() {
    check_namespace("team", "ctr-images-team.txt");
}

#[test]
fn missing_blobs_leave_a_partial_row() {
    block_on(async {
        let blobs = fixture_blobs();
        let expected = std::fs::read_to_string(format!("{FIXTURE}/expected/ctr-images-team.txt")).unwrap();
        let c = Containerd::new(MemoryBackend::new());
        let ns = c.namespace("team").unwrap();
        let images = images_of_listing(&expected, &blobs);
        let index = images.iter().find(|i| i.name == "docker.io/team/edge:oci").unwrap();
        let d = index.target_digest().unwrap();
        load(&ns, &blobs, Some(std::slice::from_ref(&d))).await;
        ns.images().create(index).await.unwrap();
        let rows = image_rows(&ns.content(), &ns.images().list(|_| true).await.unwrap()).await;
        // Only the index is there: the walk counts the index and the manifest descriptor it
        // names (sizes are added before children are read), then stops at the missing blob.
        let manifest = blobs
            .keys()
            .find(|d| d.as_str() == "sha256:9dbdb26ecd62b7563b61cb18d561d40f49c38321eff7f11e8af3d6019e827631")
            .unwrap();
        assert_eq!(rows[0].size, index.target.size + blobs[manifest].len() as i64);
        assert_eq!(rows[0].size_error.as_ref().unwrap().code, imagestore::ErrorCode::NotFound);
        // The index entry has no platform, so PLATFORMS needs the (missing) manifest's config.
        assert_eq!(rows[0].platforms, "-");
    });
}

#[test]
fn ctr_content_ls_digests_and_sizes() {
    block_on(async {
        let blobs = fixture_blobs();
        let expected = std::fs::read_to_string(format!("{FIXTURE}/expected/ctr-content-default.txt")).unwrap();
        let lines: Vec<Vec<&str>> =
            expected.lines().skip(1).map(|l| l.split('\t').filter(|c| !c.is_empty()).collect()).collect();
        let digests: Vec<Digest> = lines.iter().map(|c| Digest::parse(c[0]).unwrap()).collect();
        let c = Containerd::new(MemoryBackend::new());
        let ns = c.namespace("default").unwrap();
        load(&ns, &blobs, Some(&digests)).await;
        let rows = content_rows(&ns.content().walk(|_| true).await.unwrap());
        assert_eq!(rows.len(), lines.len());
        for (row, cells) in rows.iter().zip(&lines) {
            assert_eq!((row.digest.as_str(), row.size.as_str()), (cells[0], cells[1]));
        }
    });
}

#[test]
fn child_gc_labels_match_what_ctr_import_wrote() {
    use imagestore::containerd::labels::{child_gc_labels, Child};
    let blobs = fixture_blobs();
    let expected = std::fs::read_to_string(format!("{FIXTURE}/expected/ctr-content-default.txt")).unwrap();
    let mut checked = 0;
    for line in expected.lines().skip(1) {
        let cells: Vec<&str> = line.split('\t').filter(|c| !c.is_empty()).collect();
        let (digest, label_cell) = (Digest::parse(cells[0]).unwrap(), *cells.last().unwrap());
        if label_cell == "-" {
            continue;
        }
        let manifest: serde_json::Value = serde_json::from_slice(&blobs[&digest]).unwrap();
        let descs: Vec<&serde_json::Value> =
            std::iter::once(&manifest["config"]).chain(manifest["layers"].as_array().unwrap()).collect();
        let digests: Vec<Digest> =
            descs.iter().map(|d| Digest::parse(d["digest"].as_str().unwrap()).unwrap()).collect();
        let children: Vec<Child> = descs
            .iter()
            .zip(&digests)
            .map(|(d, digest)| Child { media_type: d["mediaType"].as_str().unwrap(), digest, is_referrer: false })
            .collect();
        assert_eq!(child_gc_labels(&children), parse_labels(label_cell), "labels of {digest}");
        checked += 1;
    }
    assert_eq!(checked, 5, "every labelled manifest of the default namespace");
}
