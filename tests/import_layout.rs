//! Where the store sits in the archive: nested under /var/lib/docker at any depth, next to
//! another driver's store, among unrelated files.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::collections::BTreeSet;
use support::import::*;

const DEEP: &str = "some/dir/var/lib/docker/image/overlay2/";

/// The basic store's entries moved under `prefix`.
fn basic_under(prefix: &str) -> Vec<TarItem> {
    tar_items(&fixture("docker20/basic/image-store.tar"))
        .into_iter()
        .filter(|it| !plain_path(&it.path).is_empty())
        .map(|mut it| {
            it.path = format!("{prefix}{}", plain_path(&it.path));
            it
        })
        .collect()
}

/// The summary of the basic store imported as is, with its folder replaced by `source_dir`
/// (the folder is the summary's last line).
fn basic_summary_at(source_dir: &str) -> String {
    let (f, _) = import_chunked(&fixture("docker20/basic/image-store.tar"), 65536);
    let whole = summary(docker(&f.unwrap()));
    let (records, _) = whole.rsplit_once('\n').unwrap();
    format!("{records}\n{source_dir}")
}

#[test]
fn store_nested_deep_among_other_files_gzip_or_not() {
    let mut items = vec![
        file_item("some/dir/var/lib/docker/containers/abc/config.v2.json", b"{}"),
        file_item("some/dir/var/lib/docker/overlay2/0123/diff/etc/passwd", b"root:x:0:0::/root:/bin/sh\n"),
    ];
    items.extend(basic_under(DEEP));
    items.push(file_item("some/dir/var/lib/docker/volumes/metadata.db", &[0u8; 3000]));
    let tar = build_tar(&items);
    let want = basic_summary_at(DEEP);
    for input in [tar.clone(), gzip(&tar)] {
        for chunk in [7, 4093] {
            let (f, _) = import_chunked(&input, chunk);
            let f = f.unwrap();
            assert_eq!(docker(&f).source_dir, DEEP);
            assert_eq!(summary(docker(&f)), want);
        }
    }
}

#[test]
fn of_two_drivers_the_one_with_images_is_taken_and_the_other_discarded() {
    let basic = basic_under("var/lib/docker/image/overlay2/");
    // A smaller aufs store: one image (the base) with its layer, placed before and after.
    let base = "3902a31b521cf39931794c62ae9e0efc5a561e6c7b9ed3b547f5221ac1373cbd";
    let (f, _) = import_chunked(&fixture("docker20/basic/image-store.tar"), 65536);
    let base_layer = {
        let f = f.unwrap();
        let d = docker(&f);
        d.layers.iter().find(|l| l.parent.is_none() && l.size > 0).unwrap().chain_id.hex().to_string()
    };
    let aufs: Vec<TarItem> = basic_under("var/lib/docker/image/aufs/")
        .into_iter()
        .filter(|it| {
            let p = &it.path;
            !p.contains("/sha256/") || p.contains(base) || p.contains(&base_layer)
        })
        .collect();
    let (first, second) = aufs.split_at(aufs.len() / 2);
    let mut items = first.to_vec();
    items.extend(basic);
    items.extend_from_slice(second);
    items.push(file_item("var/lib/docker/image/btrfs/imagedb/content/sha256/.tmp-junk", b"x"));
    let tar = build_tar(&items);

    let (f, backend) = import_chunked(&tar, 4093);
    let f = f.unwrap();
    let d = docker(&f);
    assert_eq!(d.source_dir, "var/lib/docker/image/overlay2/");
    assert_eq!(d.images.len(), 22);
    assert!(d.warnings.iter().any(|w| w.contains("not var/lib/docker/image/aufs/ (1 images)")), "{:?}", d.warnings);
    // Only the taken store's blobs are left staged: the aufs copies were discarded. (Configs
    // and tar-splits are not written before the commit: each is kept in its blob record, the
    // one publish op.)
    let split_sets: BTreeSet<String> = d.tar_splits.iter().map(|b| b.set.clone()).collect();
    let kept: BTreeSet<String> = d.images.iter().map(|i| i.blob.set.clone()).chain(split_sets.clone()).collect();
    let staged: BTreeSet<String> = futures::executor::block_on(imagestore::storage::Backend::keys(
        &backend,
        imagestore::storage::Space::Chunks,
        "",
    ))
    .unwrap()
    .into_iter()
    .map(|k| k.rsplit_once('/').unwrap().0.to_string())
    .collect();
    assert!(staged.is_subset(&kept), "left staged: {:?}", staged.difference(&kept).collect::<Vec<_>>());
    assert!(staged.is_empty(), "small blobs are written with the commit, not before: {staged:?}");
    assert!(d.tar_splits.iter().chain(d.images.iter().map(|i| &i.blob)).all(|b| matches!(
        &b.ops[..],
        [imagestore::storage::Op::Put { space: imagestore::storage::Space::Meta, key, value }]
            if *key == imagestore::schema::blob(&b.digest) && value.len() as u64 == b.size + 1
    )));
}

#[test]
fn an_archive_without_a_store_says_what_it_holds() {
    let tar = build_tar(&[file_item("manifest.json", b"[]"), file_item("blobs/sha256/ab", b"x")]);
    let (r, _) = import_chunked(&tar, 512);
    let e = r.unwrap_err();
    assert_eq!(e.code, imagestore::ErrorCode::UnsupportedFormat);
    assert!(e.message.contains("docker save"), "{e}");

    let tar = build_tar(&[file_item("x/imagedb/content/sha256/aa", b"{}")]);
    let e = import_chunked(&tar, 512).0.unwrap_err();
    assert!(e.message.contains("imagedb/ without layerdb/ in x/"), "{e}");
}

#[test]
fn a_docker_in_docker_store_inside_a_layer_does_not_win_over_the_daemons_own() {
    // The outer store has fewer images than the one nested in a layer's content.
    let outer_items: Vec<TarItem> = basic_under("docker/image/overlay2/")
        .into_iter()
        .filter(|it| {
            !it.path.contains("/imagedb/content/")
                || it.path.contains("3902a31b521cf39931794c62ae9e0efc5a561e6c7b9ed3b547f5221ac1373cbd")
        })
        .collect();
    let mut items = basic_under("docker/overlay2/0123/diff/var/lib/docker/image/vfs/");
    items.extend(outer_items);
    let (f, _) = import_chunked(&build_tar(&items), 65536);
    let f = f.unwrap();
    let d = docker(&f);
    assert_eq!(d.source_dir, "docker/image/overlay2/");
    assert_eq!(d.images.len(), 1);
    assert!(
        d.warnings.iter().any(|w| w.contains("not docker/overlay2/0123/diff/var/lib/docker/image/vfs/ (22 images)")),
        "{:?}",
        d.warnings
    );
}
