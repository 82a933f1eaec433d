//! Fixture image stores imported the way users import them: through the real streaming
//! importer (`imagestore::import`) and the façade's one-commit `Store::commit_import`.

use futures::stream;
use imagestore::import::{Finished, ImportOptions, Imported};
use imagestore::storage::memory::MemoryBackend;
use imagestore::store::{stream_import, Store};

/// The fixture file's bytes.
pub fn read_fixture(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The input as a stream of `chunk`-byte pieces, as a JS stream would deliver it.
pub fn chunked(input: &[u8], chunk: usize) -> impl futures::Stream<Item = imagestore::Result<Vec<u8>>> + Unpin + '_ {
    stream::iter(input.chunks(chunk.max(1)).map(|c| Ok(c.to_vec())))
}

/// Runs the importer over a fixture tarball (staged, not committed). The docker20 tars hold the
/// inside of dockerd's `image/vfs/` folder (tests/fixtures/README.md), so their driver name is
/// not in the tar: it is filled in here so that inspect answers `GraphDriver.Name` as dockerd did.
pub async fn stage_fixture(backend: &MemoryBackend, tar_path: &str) -> Finished {
    let bytes = read_fixture(tar_path);
    let mut finished = stream_import(backend, chunked(&bytes, 64 << 10), ImportOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{tar_path}: {e}"));
    let Imported::DockerImageStore(import) = &mut finished.imported else {
        panic!("{tar_path}: not a Docker image store")
    };
    if import.source_dir.is_empty() {
        import.source_dir = "image/vfs/".into();
    }
    finished
}

/// A memory store holding the fixture's image store; nothing may be skipped.
pub async fn store_from_fixture(tar_path: &str) -> Store<MemoryBackend> {
    let backend = MemoryBackend::new();
    let finished = stage_fixture(&backend, tar_path).await;
    let mut store = Store::open(backend).await.unwrap();
    let report = store.commit_import(finished).await.unwrap();
    assert!(report.skipped.is_empty(), "{tar_path}: {:?}", report.skipped);
    assert!(report.images > 0 && report.layers > 0, "{tar_path}: {report:?}");
    store
}
