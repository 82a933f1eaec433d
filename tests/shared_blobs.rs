#![cfg(not(target_arch = "wasm32"))]
//! Blobs are stored once by digest and shared by the Docker view and containerd's namespaces:
//! removing an image from one view must not take bytes the other still lists.

use futures::executor::block_on;
use futures::stream;
use imagestore::containerd::Containerd;
use imagestore::import::ImportOptions;
use imagestore::storage::memory::MemoryBackend;
use imagestore::store::Store;
use imagestore::Digest;

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)).unwrap()
}

#[test]
fn docker_rmi_keeps_a_config_that_containerd_still_lists() {
    block_on(async {
        let save = fixture("docker20/basic/docker-save.tar");
        let backend = MemoryBackend::new();
        let mut store = Store::open(backend.clone()).await.unwrap();
        // The same archive into containerd (like `ctr images import`) and into the Docker view
        // (like `docker load`): the image configs are the same bytes, so the same blobs.
        let into_ctrd = ImportOptions { namespace: Some("default".into()), ..Default::default() };
        store.import(stream::iter(vec![Ok(save.clone())]), into_ctrd).await.unwrap();
        store.import(stream::iter(vec![Ok(save)]), ImportOptions::default()).await.unwrap();

        let id: Digest = store.docker().images.search("4afb125595bd").unwrap();
        let ns = Containerd::new(backend.clone()).namespace("default").unwrap();
        assert_eq!(ns.content().info(&id).await.unwrap().digest, id, "containerd lists the edge config");

        store.remove_image("local/edge:latest", true, false).await.unwrap();
        assert!(store.docker().images.search("4afb125595bd").is_err(), "the Docker view no longer has it");
        let bytes = ns.content().read_all(&id).await.unwrap();
        assert_eq!(Digest::sha256_of(&bytes), id, "containerd can still read the config");
    });
}
