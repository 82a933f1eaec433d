//! Bad uploads: clear errors naming what and where, dockerd's skip rules for bad store
//! content, and nothing left behind in the backend when an import fails.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use imagestore::digest::Digest;
use imagestore::docker::model::{DockerImport, LayerRecord};
use imagestore::import::ImportOptions;
use imagestore::ErrorCode;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use support::import::*;

fn basic_items() -> Vec<TarItem> {
    tar_items(&fixture("docker20/basic/image-store.tar"))
}

fn basic() -> DockerImport {
    let (f, _) = import_chunked(&fixture("docker20/basic/image-store.tar"), 65536);
    match f.unwrap().imported {
        imagestore::import::Imported::DockerImageStore(d) => d,
        #[allow(unreachable_patterns)]
        _ => unreachable!(),
    }
}

fn skipped_map(d: &DockerImport) -> BTreeMap<String, String> {
    d.skipped.iter().map(|s| (s.subject.clone(), s.reason.clone())).collect()
}

/// Asserts that a failed import left no chunk in the backend.
fn assert_clean(backend: &imagestore::storage::memory::MemoryBackend) {
    assert_eq!(chunk_count(backend), 0, "staged blobs were not discarded");
    assert!(backend.is_empty());
}

#[test]
fn not_a_tar_nor_gzip() {
    let (r, b) = import_chunked(&b"Lorem ipsum dolor sit amet. ".repeat(100), 7);
    let e = r.unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedFormat);
    assert!(e.message.contains("not a tar archive"), "{e}");
    assert_clean(&b);
    let e = import_chunked(b"", 7).0.unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedFormat);
}

#[test]
fn truncated_tar_names_the_entry_and_discards_everything() {
    let tar = fixture("docker20/basic/image-store.tar");
    // Cut inside the data of some entry well into the archive (tar-splits and configs were
    // already staged by then).
    let items = basic_items();
    let victim = items.iter().rev().find(|it| it.data.len() > 600).unwrap();
    let rebuilt = build_tar(&items);
    let at = rebuilt.windows(victim.data.len()).position(|w| w == &victim.data[..]).unwrap() + 300;
    let (r, b) = import_chunked(&rebuilt[..at], 4093);
    let e = r.unwrap_err();
    assert_eq!(e.code, ErrorCode::DataCorrupt);
    assert!(e.message.contains("truncated tar") && e.message.contains(plain_path(&victim.path)), "{e}");
    assert_clean(&b);
    // Cut inside a header.
    let e = import_chunked(&tar[..tar.len() / 2 / 512 * 512 + 100], 4093).0.unwrap_err();
    assert_eq!(e.code, ErrorCode::DataCorrupt, "{e}");
}

#[test]
fn corrupt_and_truncated_gzip() {
    let packed = gzip(&fixture("docker20/basic/image-store.tar"));
    let mut bad = packed.clone();
    let mid = bad.len() / 2;
    for b in &mut bad[mid..mid + 64] {
        *b = !*b;
    }
    let (r, b) = import_chunked(&bad, 4093);
    let e = r.unwrap_err();
    assert_eq!(e.code, ErrorCode::DataCorrupt);
    assert!(e.message.contains("gzip") || e.message.contains("tar"), "{e}");
    assert_clean(&b);
    let (r, b) = import_chunked(&packed[..packed.len() - 10], 4093);
    let e = r.unwrap_err();
    assert_eq!(e.code, ErrorCode::DataCorrupt, "{e}");
    assert_clean(&b);
}

#[test]
fn a_config_that_does_not_match_its_name_is_skipped_and_reported() {
    // local/dangle:1 has no children.
    let id = "a977b459ed3d9ce7404f02a522edf8b93bd437c6f1be03d036e0d84a8e116f37";
    let mut items = basic_items();
    let it = items.iter_mut().find(|it| it.path.ends_with(&format!("content/sha256/{id}"))).unwrap();
    it.data.push(b' ');
    let (f, backend) = import_chunked(&build_tar(&items), 512);
    let f = f.unwrap();
    let d = docker(&f);
    assert_eq!(d.images.len(), 21);
    let skipped = skipped_map(d);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[&format!("sha256:{id}")], format!("invalid image: failed to verify: sha256:{id}"));
    assert_eq!(f.report.skipped.len(), 1);
    // Its reference stays in repositories.json, as dockerd keeps it.
    assert!(d.repositories["local/dangle"].contains_key("local/dangle:1"));
    // No blob was written for it.
    commit_blobs(&backend, d);
    let bad = Digest::parse(&format!("sha256:{id}")).unwrap();
    assert!(futures::executor::block_on(imagestore::storage::blobs::stat(&backend, &bad)).unwrap().is_none());
}

/// Whether layer `c` is `ancestor` or built on it.
fn descends<'a>(layers: &BTreeMap<&'a Digest, &'a LayerRecord>, ancestor: &Digest, mut c: &'a Digest) -> bool {
    loop {
        if c == ancestor {
            return true;
        }
        match &layers[c].parent {
            Some(p) => c = p,
            None => return false,
        }
    }
}

#[test]
fn a_layer_with_a_missing_parent_is_skipped_with_its_descendants_and_their_images() {
    let orig = basic();
    let layers: BTreeMap<&Digest, _> = orig.layers.iter().map(|l| (&l.chain_id, l)).collect();
    // Remove the busybox base layer: everything built on it goes.
    let gone = orig.layers.iter().find(|l| l.parent.is_none() && l.size > 0).unwrap().chain_id.clone();
    let lost: BTreeSet<String> = orig
        .layers
        .iter()
        .filter(|l| l.chain_id != gone && descends(&layers, &gone, &l.chain_id))
        .map(|l| l.chain_id.to_string())
        .collect();
    assert!(lost.len() >= 5, "the fixture has a chain on the base layer");
    let items: Vec<TarItem> = basic_items().into_iter().filter(|it| !it.path.contains(gone.hex())).collect();
    let (f, _) = import_chunked(&build_tar(&items), 4093);
    let f = f.unwrap();
    let d = docker(&f);
    let skipped = skipped_map(d);
    for l in &lost {
        let why = &skipped[l];
        assert!(why.starts_with("failed to load layer: parent layer sha256:"), "{l}: {why}");
    }
    let direct = orig.layers.iter().find(|l| l.parent.as_ref() == Some(&gone)).unwrap();
    assert_eq!(skipped[direct.chain_id.as_str()], format!("failed to load layer: parent layer {gone} does not exist"));
    // Only the two images without layers survive; every other image lost its top layer.
    assert_eq!(d.images.len(), 2);
    assert_eq!(d.layers.len(), orig.layers.len() - 1 - lost.len());
    let image_skips: Vec<_> = skipped.iter().filter(|(_, r)| r.starts_with("not restoring image")).collect();
    assert_eq!(image_skips.len(), 20);
    assert!(image_skips.iter().all(|(_, r)| r.contains("does not exist")));
    // The surviving child keeps its parent link only if the parent survived too.
    let ids: BTreeSet<_> = d.images.iter().map(|i| &i.record.id).collect();
    assert!(d.images.iter().all(|i| i.record.parent.as_ref().is_none_or(|p| ids.contains(p))));
}

#[test]
fn an_image_whose_top_layer_is_missing_is_not_restored() {
    let orig = basic();
    // A leaf layer: nobody's parent.
    let parents: BTreeSet<&Digest> = orig.layers.iter().filter_map(|l| l.parent.as_ref()).collect();
    let leaf = orig.layers.iter().find(|l| !parents.contains(&l.chain_id)).unwrap().chain_id.clone();
    let items: Vec<TarItem> = basic_items().into_iter().filter(|it| !it.path.contains(leaf.hex())).collect();
    let (f, _) = import_chunked(&build_tar(&items), 4093);
    let all = skipped_map(docker(f.as_ref().unwrap()));
    let skipped: Vec<_> = all.iter().filter(|(_, r)| r.starts_with("not restoring image")).collect();
    assert!(!skipped.is_empty());
    for (_, reason) in &skipped {
        assert_eq!(**reason, format!("not restoring image: layer {leaf} does not exist"));
    }
    assert_eq!(all.len(), skipped.len(), "nothing else was skipped");
}

#[test]
fn a_windows_image_is_not_restored_on_linux() {
    let orig = basic();
    let layer = orig.layers.iter().find(|l| l.parent.is_none() && l.size > 0).unwrap();
    let config = format!(r#"{{"os":"windows","rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#, layer.diff_id);
    let id = Digest::sha256_of(config.as_bytes());
    let mut items = basic_items();
    items.push(file_item(&format!("imagedb/content/sha256/{}", id.hex()), config.as_bytes()));
    let (f, _) = import_chunked(&build_tar(&items), 4093);
    let f = f.unwrap();
    let d = docker(&f);
    assert_eq!(d.images.len(), 22);
    assert_eq!(skipped_map(d)[id.as_str()], "not restoring image: operating system is not supported: \"windows\"");
}

#[test]
fn dot_dot_paths_and_links_are_ignored_with_a_warning() {
    let mut items = basic_items();
    let config_of_demo = "e6b5b37baed847a14b9ba55abe078d6dacff8a334097cb1e31cc2d83fe8ad783";
    items.insert(0, file_item("../../etc/passwd", b"root::0:0"));
    items.push(file_item(&format!("x/../imagedb/content/sha256/{config_of_demo}"), b"{\"rootfs\":{}}"));
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_link_name("/etc/shadow").unwrap();
    link.set_size(0);
    items.push(TarItem {
        header: link,
        path: format!("imagedb/metadata/sha256/{config_of_demo}/parent"),
        link: Some("/etc/shadow".into()),
        data: vec![],
    });
    let (f, _) = import_chunked(&build_tar(&items), 4093);
    let f = f.unwrap();
    let d = docker(&f);
    assert_eq!(d.images.len(), 22, "the real config was not replaced");
    assert!(d.skipped.is_empty());
    let dotdot = d.warnings.iter().filter(|w| w.contains("\"..\" component")).count();
    assert_eq!(dotdot, 2, "{:?}", d.warnings);
    assert!(d.warnings.iter().any(|w| w.contains("links inside the image store are not followed")));
    let demo = d.images.iter().find(|i| i.record.id.hex() == config_of_demo).unwrap();
    assert!(demo.record.parent.is_some(), "the real parent file still counts");
}

#[test]
fn a_huge_declared_size_with_a_short_stream_fails_cleanly() {
    let mut tar = build_tar(&basic_items());
    tar.truncate(tar.len() - 1024); // drop the end-of-archive blocks
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(1 << 40);
    let name = format!("layerdb/sha256/{}/tar-split.json.gz", "ab".repeat(32));
    h.set_path(&name).unwrap();
    h.set_cksum();
    let offset = tar.len();
    tar.extend_from_slice(h.as_bytes());
    tar.extend_from_slice(&[7u8; 5000]);
    let (r, b) = import_chunked(&tar, 4093);
    let e = r.unwrap_err();
    assert_eq!(e.code, ErrorCode::DataCorrupt);
    for part in [name.as_str(), &format!("offset {offset}"), "1099511627776"] {
        assert!(e.message.contains(part), "{part:?} not in {e}");
    }
    assert_clean(&b);
}

#[test]
fn cancellation_midway_aborts_and_leaves_nothing() {
    let tar = fixture("docker20/basic/image-store.tar");
    let pushes = Rc::new(Cell::new(0u32));
    let seen = pushes.clone();
    let options = ImportOptions {
        is_cancelled: Some(Box::new(move || {
            seen.set(seen.get() + 1);
            seen.get() > 40
        })),
        ..Default::default()
    };
    let (r, b) = import_with(&tar, 4096, options);
    let e = r.unwrap_err();
    assert_eq!(e.code, ErrorCode::Aborted);
    assert!(pushes.get() == 41, "cancellation is polled once per chunk");
    assert_clean(&b);

    // A failed importer refuses more input.
    futures::executor::block_on(async {
        let backend = imagestore::storage::memory::MemoryBackend::new();
        let mut imp = imagestore::import::Importer::new(Default::default());
        assert!(imp.push(&backend, b"garbage that is no tar at all, not even close to one").await.is_ok());
        let e = imp.push(&backend, &[0u8; 1024]).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedFormat);
        let e = imp.push(&backend, b"more").await.unwrap_err();
        assert_eq!(e.code, ErrorCode::FailedPrecondition);
    });
}
