//! Real image stores (Docker 20.10 fixtures and whole /var/lib/docker roots from the wild)
//! import as dockerd restores them, whatever the chunking of the input.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use imagestore::digest::Digest;
use imagestore::ErrorCode;
use std::collections::BTreeSet;
use support::import::*;

const CHUNK_SIZES: [usize; 5] = [1, 7, 512, 4093, 65536];

fn check_docker20(name: &str, chunk_sizes: &[usize]) {
    let tar = fixture(&format!("docker20/{name}/image-store.tar"));
    let (first, backend) = import_chunked(&tar, 65536);
    let first = first.unwrap();
    let d = docker(&first);
    assert_eq!(d.source_dir, "", "the tar is of image/vfs/ itself");
    assert!(d.skipped.is_empty(), "{:?}", d.skipped);
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert_matches_images_all(&backend, d, &fixture_json(&format!("docker20/{name}/expected/api/images-all.json")));

    let chains = expected_chain_ids(&format!("docker20/{name}/expected/api/inspect"));
    let got: BTreeSet<Digest> = d.layers.iter().map(|l| l.chain_id.clone()).collect();
    assert_eq!(got, chains, "layers = the distinct chain IDs of the images");
    assert!(d.layers.iter().all(|l| l.tar_split.is_some() && l.cache_id.len() == 64));
    assert_eq!(first.report.format, "docker-image-store");
    assert_eq!(first.report.images, d.images.len());
    assert_eq!(first.report.bytes, tar.len() as u64);

    let expected = summary(d);
    for &chunk in chunk_sizes {
        let (again, backend) = import_chunked(&tar, chunk);
        assert_eq!(summary(docker(&again.unwrap())), expected, "chunks of {chunk} bytes");
        drop(backend);
    }
}

#[test]
fn docker20_basic_in_any_chunking() {
    check_docker20("basic", &CHUNK_SIZES);
    let (f, _) = import_chunked(&fixture("docker20/basic/image-store.tar"), 4096);
    let f = f.unwrap();
    let d = docker(&f);
    // Distribution records of the pushed edge image, and references kept as written.
    assert!(!d.distribution.diffid_by_digest.is_empty());
    assert!(!d.distribution.v2metadata_by_diffid.is_empty());
    assert_eq!(f.report.references, 9);
    let demo = d.images.iter().find(|i| i.record.id.hex().starts_with("e6b5b37baed8")).unwrap();
    assert!(demo.record.last_updated.as_deref().is_some_and(|t| t.starts_with("20")));
}

#[test]
fn docker20_debian_in_any_chunking() {
    check_docker20("debian", &CHUNK_SIZES[1..]);
}

#[test]
fn docker20_scale200_in_any_chunking() {
    check_docker20("scale200", &[512, 65536]);
}

#[test]
fn whole_docker_roots_from_the_wild_gzip() {
    for (name, driver) in
        [("aufs.v2", "aufs"), ("overlay.v2", "overlay"), ("overlay2.v2", "overlay2"), ("vols.v2", "overlay2")]
    {
        let tgz = fixture(&format!("wild/docker-explorer/test_data/{name}.tgz"));
        let (f, backend) = import_chunked(&tgz, 65536);
        let f = f.unwrap_or_else(|e| panic!("{name}: {e}"));
        let d = docker(&f);
        assert_eq!(d.source_dir, format!("docker/image/{driver}/"), "{name}");
        assert!(d.skipped.is_empty(), "{name}: {:?}", d.skipped);
        assert_matches_images_all(
            &backend,
            d,
            &fixture_json(&format!("wild/docker-explorer/expected/{name}/api/images-all.json")),
        );
        let chains = expected_chain_ids(&format!("wild/docker-explorer/expected/{name}/api/inspect"));
        assert_eq!(d.layers.iter().map(|l| l.chain_id.clone()).collect::<BTreeSet<_>>(), chains, "{name}");
        if name == "overlay2.v2" {
            // This root also holds an empty image/overlay/ store from an earlier daemon.
            assert!(d.warnings.iter().any(|w| w.contains("docker/image/overlay/ (0 images)")), "{:?}", d.warnings);
        }
        let expected = summary(d);
        for chunk in [7, 4093] {
            let (again, _) = import_chunked(&tgz, chunk);
            assert_eq!(summary(docker(&again.unwrap())), expected, "{name} in chunks of {chunk}");
        }
    }
}

#[test]
fn pre_1_10_graph_root_is_unsupported_and_says_what_it_found() {
    let tgz = fixture("wild/docker-explorer/test_data/aufs.v1.tgz");
    let (r, backend) = import_chunked(&tgz, 65536);
    let e = r.unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedFormat);
    assert!(e.message.contains("pre-1.10") && e.message.contains("docker/graph/"), "{e}");
    assert_eq!(chunk_count(&backend), 0);
}
