#![cfg(not(target_arch = "wasm32"))]
//! The fixture's real containerd root (meta.db + blobs) loaded into the stores, then compared
//! with what ctr printed about it: `ctr images ls` per namespace, `ctr content ls`, filter
//! queries and `ctr namespaces ls`.

use futures::executor::block_on;
use imagestore::containerd::ls_view::{content_rows, image_rows, render_images_table};
use imagestore::containerd::meta_import::meta_db_ops;
use imagestore::containerd::Containerd;
use imagestore::formats::containerd_meta::read_meta_db;
use imagestore::storage::memory::MemoryBackend;
use imagestore::storage::{blobs, Backend};
use imagestore::{Digest, ErrorCode};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

const FIXTURE: &str = "tests/fixtures/docker20/basic";

fn expected(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURE}/expected/{name}")).unwrap()
}

/// The fixture root loaded into a memory store.
fn load() -> Containerd<MemoryBackend> {
    let f = std::fs::File::open(format!("{FIXTURE}/containerd-root.tar")).unwrap();
    let (mut meta, mut files) = (None, BTreeMap::new());
    for entry in tar::Archive::new(f).entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if path == "io.containerd.metadata.v1.bolt/meta.db" {
            meta = Some(bytes);
        } else if let Some(hex) =
            path.strip_prefix("io.containerd.content.v1.content/blobs/sha256/").filter(|h| !h.is_empty())
        {
            files.insert(Digest::from_sha256_hex(hex).unwrap(), bytes);
        }
    }
    let meta = read_meta_db(&meta.unwrap()).unwrap();
    let (mut ops, needed) = meta_db_ops(&meta);
    let b = MemoryBackend::new();
    block_on(async {
        for d in needed {
            ops.extend(blobs::stage_bytes(&b, &files[&d]).await.unwrap().ops);
        }
        b.commit(ops).await.unwrap();
    });
    Containerd::new(b)
}

#[test]
fn ctr_images_ls_matches_for_each_namespace() {
    let c = load();
    block_on(async {
        for (ns, file) in [("default", "ctr-images-default.txt"), ("team", "ctr-images-team.txt")] {
            let ns = c.namespace(ns).unwrap();
            let images = ns.images().list(|_| true).await.unwrap();
            let rows = image_rows(&ns.content(), &images).await;
            assert_eq!(render_images_table(&rows), expected(file), "namespace {}", ns.name());
        }
    });
}

#[test]
fn ctr_namespaces_ls_matches() {
    let c = load();
    let names: Vec<String> = expected("ctr-namespaces.txt")
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(block_on(c.namespaces()).unwrap(), names);
}

#[test]
fn ctr_content_ls_matches_digests_sizes_and_labels() {
    let c = load();
    let infos = block_on(c.namespace("default").unwrap().content().walk(|_| true)).unwrap();
    let rows = content_rows(&infos);
    let text = expected("ctr-content-default.txt");
    let want: Vec<Vec<&str>> =
        text.lines().skip(1).map(|l| l.split('\t').filter(|c| !c.is_empty()).collect()).collect();
    assert_eq!(rows.len(), want.len());
    // ctr prints labels in Go's random map order: compare them as sets.
    let set = |s: &str| -> BTreeSet<String> { s.split(',').map(String::from).collect() };
    for (row, cells) in rows.iter().zip(&want) {
        assert_eq!((row.digest.as_str(), row.size.as_str()), (cells[0], cells[1]));
        assert_eq!(set(&row.labels), set(cells.last().unwrap()), "labels of {}", row.digest);
    }
}

#[test]
fn ctr_filter_queries_match() {
    let c = load();
    let images = c.namespace("default").unwrap().images();
    let text = expected("ctr-images-filters.txt");
    let mut queries: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if let Some(cmd) = line.strip_prefix("# ctr images ls -q ") {
            queries.push((cmd.trim_matches('\'').to_string(), Vec::new()));
        } else {
            queries.last_mut().unwrap().1.push(line.to_string());
        }
    }
    assert_eq!(queries.len(), 4);
    for (filter, want) in queries {
        let got: Vec<String> =
            block_on(images.list_filtered(&[filter.as_str()])).unwrap().into_iter().map(|i| i.name).collect();
        assert_eq!(got, want, "filter {filter}");
    }
    let e = block_on(images.list_filtered(&["name=="])).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    assert_eq!(e.message, "filters: parse error: [name==]: expected value or quoted: invalid argument");
}

#[test]
fn gc_on_the_real_root_keeps_everything_reachable() {
    let c = load();
    let before: usize = block_on(async {
        let mut n = 0;
        for ns in c.namespaces().await.unwrap() {
            n += c.namespace(&ns).unwrap().content().walk(|_| true).await.unwrap().len();
        }
        n
    });
    let r = block_on(c.gc(&Default::default())).unwrap();
    // ctr import labels every child, so GC finds nothing to remove.
    assert!(r.deleted_content.is_empty(), "{:?}", r.deleted_content);
    assert!(r.deleted_blobs.is_empty());
    assert!(before > 20);
    // Removing every image of `default` frees all its content; `team` keeps its own.
    let in_default = block_on(c.namespace("default").unwrap().content().walk(|_| true)).unwrap().len();
    assert_eq!(in_default, expected("ctr-content-default.txt").lines().count() - 1);
    block_on(async {
        let ns = c.namespace("default").unwrap();
        for img in ns.images().list(|_| true).await.unwrap() {
            ns.images().delete(&img.name, None).await.unwrap();
        }
    });
    let r = block_on(c.gc(&Default::default())).unwrap();
    assert_eq!(r.deleted_content["default"].len(), in_default, "default content was only reachable from its images");
    // Blobs that team also uses stay.
    for d in &r.deleted_blobs {
        assert!(block_on(c.namespace("team").unwrap().content().info(d)).is_err(), "{d} is used by team");
    }
    assert!(!r.deleted_blobs.is_empty());
    assert!(!r.deleted_content.contains_key("team"));
    let team = c.namespace("team").unwrap();
    let rows = block_on(async { image_rows(&team.content(), &team.images().list(|_| true).await.unwrap()).await });
    assert_eq!(render_images_table(&rows), expected("ctr-images-team.txt"), "team is untouched");
}
