#![cfg(not(target_arch = "wasm32"))]
//! `docker load` parity of an import made with `docker_load` set: a tarball that is not a
//! `docker save` is refused with the error dockerd 20.10.24 gave for the same input (asked of a
//! private dockerd, `docker load -i X`; its temporary folder's random number aside), the store
//! unchanged; and the load report says which layers the load put in the store, as dockerd's
//! "Loading layer" progress names them (the real CLI through `serve` checks the stream itself,
//! tests/node/df-save-load.test.mjs).

mod support;

use futures::executor::block_on;
use imagestore::import::ImportOptions;
use imagestore::storage::memory::MemoryBackend;
use imagestore::store::Store;
use imagestore::ErrorCode;
use support::import::*;

fn load(store: &mut Store<MemoryBackend>, input: &[u8]) -> imagestore::Result<imagestore::import::ImportReport> {
    let chunks = futures::stream::iter(input.chunks(64 << 10).map(|c| Ok::<_, imagestore::Error>(c.to_vec())));
    block_on(store.import(chunks, ImportOptions { docker_load: true, ..Default::default() }))
}

fn empty_store() -> Store<MemoryBackend> {
    block_on(Store::open(MemoryBackend::new())).unwrap()
}

/// dockerd's message with its temporary folder's number replaced by `N`.
fn shape(message: &str) -> String {
    let re_start = message.find("docker-import-").map(|i| i + "docker-import-".len());
    match re_start {
        Some(i) => {
            let digits = message[i..].chars().take_while(char::is_ascii_digit).count();
            assert!((1..=10).contains(&digits), "{message}");
            format!("{}N{}", &message[..i], &message[i + digits..])
        }
        None => message.to_string(),
    }
}

#[test]
fn what_is_not_a_docker_save_is_refused_as_dockerd_refuses_it() {
    let random_tree =
        build_tar(&[file_item("./etc/f", b"hi\n"), file_item("./top.txt", b"x\n"), file_item("./zz/y", b"y")]);
    let files_only = build_tar(&[file_item("top.txt", b"x\n")]);
    // The OCI layout of the basic fixture without its manifest.json (an OCI layout as skopeo or
    // buildx write it).
    let oci: Vec<TarItem> = tar_items(&fixture("docker20/basic/oci-archive.tar"))
        .into_iter()
        .filter(|i| i.path != "manifest.json")
        .collect();
    let cases: [(&str, Vec<u8>, &str); 5] = [
        (
            "a tar of folders",
            random_tree,
            "open /var/lib/docker/tmp/docker-import-N/etc/json: no such file or directory",
        ),
        (
            "a tar of files",
            files_only,
            "open /var/lib/docker/tmp/docker-import-N/repositories: no such file or directory",
        ),
        (
            "an OCI layout",
            build_tar(&oci),
            "open /var/lib/docker/tmp/docker-import-N/blobs/json: no such file or directory",
        ),
        (
            "an image store",
            fixture("docker20/basic/image-store.tar"),
            "open /var/lib/docker/tmp/docker-import-N/distribution/json: no such file or directory",
        ),
        ("no tar", vec![0x5a; 5000], "Error processing tar file(exit status 1): archive/tar: invalid tar header"),
    ];
    for (what, input, want) in cases {
        let mut store = empty_store();
        let e = load(&mut store, &input).unwrap_err();
        assert_eq!(shape(&e.message), want, "{what}");
        assert_eq!(e.code, ErrorCode::UnsupportedFormat, "{what}");
        let images = store.list_images(true, false, &Default::default()).unwrap();
        assert_eq!(images.as_array().map(Vec::len), Some(0), "{what}: nothing stored");
        // Without docker_load the same OCI layout / image store is imported.
        if what == "an image store" {
            let chunks = futures::stream::iter([Ok::<_, imagestore::Error>(input.clone())]);
            assert!(block_on(store.import(chunks, Default::default())).unwrap().images > 0);
        }
    }
}

#[test]
fn docker_saves_of_docker_20_and_25_load() {
    for archive in
        ["docker20/basic/docker-save.tar", "wild/go-containerregistry/pkg/v1/tarball/testdata/hello-world-v25.tar"]
    {
        let mut store = empty_store();
        let report = load(&mut store, &fixture(archive)).unwrap();
        assert!(!report.loaded.is_empty(), "{archive}");
    }
}

#[test]
fn the_report_names_the_layers_the_load_put_in_the_store() {
    let save = fixture("docker20/basic/docker-save.tar");
    let mut store = empty_store();
    let first = load(&mut store, &save).unwrap();
    let mut chains = std::collections::BTreeSet::new();
    for item in &first.loaded {
        for l in &item.layers {
            // Loaded the first time the archive names its chain, never again.
            assert_eq!(l.loaded, chains.insert(l.chain_id.clone()), "{} {}", item.id, l.diff_id);
            assert!(l.size >= 1024 && l.size % 512 == 0, "a plain layer tar's length: {}", l.size);
        }
    }
    assert!(chains.len() > 3);
    // Loaded again: every layer is there already; dockerd shows no progress then.
    let again = load(&mut store, &save).unwrap();
    assert!(again.loaded.iter().flat_map(|i| &i.layers).all(|l| !l.loaded));
    assert_eq!(again.loaded.len(), first.loaded.len());
}
