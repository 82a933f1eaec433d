//! Fixture image stores imported the way users import them: through the real streaming
//! importer (`imagestore::import`) and the façade's one-commit `Store::commit_import`.

use super::dockerd::{DockerdAnswers, EngineApi, Rejection};
use futures::executor::block_on;
use futures::stream;
use imagestore::docker::engine::Filters;
use imagestore::import::{Finished, ImportOptions, Imported};
use imagestore::storage::memory::MemoryBackend;
use imagestore::storage::{Backend, Op, Space};
use imagestore::store::{stream_import, Store};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// The store a backend holds, opened again (what the next page load or CLI run sees).
pub fn reopen(backend: &MemoryBackend) -> Store<MemoryBackend> {
    block_on(Store::open(backend.clone())).unwrap()
}

/// Every answer the Engine API gives about the store: the full list, each image's inspect and
/// history (their configs read first, as the bindings do), and what the open skipped.
pub fn engine_answers(store: &Store<MemoryBackend>) -> Value {
    let list = store.list_images(true, true, &BTreeMap::new()).unwrap();
    let ids: Vec<_> = store.docker().images.map().map(|i| i.id().clone()).collect();
    block_on(store.load_configs(&ids)).unwrap();
    let mut each = serde_json::Map::new();
    for img in store.docker().images.map() {
        let id = img.id().to_string();
        each.insert(id.clone(), json!([store.inspect_image(&id).unwrap(), store.image_history(&id).unwrap()]));
    }
    json!({ "list": list, "images": each, "skipped": format!("{:?}", store.restore_skipped()) })
}

/// The meta records under `prefix`, by key.
pub fn meta_records(backend: &MemoryBackend, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    block_on(backend.scan(Space::Meta, prefix)).unwrap().into_iter().collect()
}

/// Commits `ops` straight to the backend (as another writer, or an older version, would).
pub fn commit(backend: &MemoryBackend, ops: Vec<Op>) {
    block_on(backend.commit(ops)).unwrap()
}

/// The façade asked as the Engine API is asked (for [`super::dockerd::check_answers`]).
pub struct Facade<'a>(pub &'a Store<MemoryBackend>);

fn rejection(e: imagestore::Error) -> Rejection {
    Rejection { code: e.code.as_str().to_string(), message: e.message }
}

impl EngineApi for Facade<'_> {
    async fn list_images(&self, options: Option<&str>) -> Result<Value, Rejection> {
        let options: Value = options.map_or(Value::Null, |o| serde_json::from_str(o).unwrap());
        let flag = |k: &str| options[k].as_bool().unwrap_or(false);
        let filters: Filters = serde_json::from_value(options["filters"].clone()).unwrap_or_default();
        self.0.list_images(flag("all"), flag("digests"), &filters).map_err(rejection)
    }
    // As the bindings do: the config is read first (a reopened store has not read it).
    async fn inspect_image(&self, name: &str) -> Result<Value, Rejection> {
        self.0.load_config_of(name).await.map_err(rejection)?;
        self.0.inspect_image(name).map_err(rejection)
    }
    async fn image_history(&self, name: &str) -> Result<Value, Rejection> {
        self.0.load_config_of(name).await.map_err(rejection)?;
        self.0.image_history(name).map_err(rejection)
    }
    async fn search(&self, partial: &str) -> Result<Value, Rejection> {
        self.0.search(partial).map(|d| Value::from(d.as_str())).map_err(rejection)
    }
}

/// A fixture's `expected/api` folder on disk.
pub struct ExpectedApi {
    name: String,
    dir: PathBuf,
    driver: String,
}

impl ExpectedApi {
    /// `tests/fixtures/<rel>`, whose store answers `GraphDriver.Name` = `driver`.
    pub fn new(rel: &str, driver: &str) -> Self {
        ExpectedApi { name: rel.to_string(), dir: Path::new("tests/fixtures").join(rel), driver: driver.to_string() }
    }
}

impl DockerdAnswers for ExpectedApi {
    fn name(&self) -> &str {
        &self.name
    }
    fn text(&self, path: &str) -> String {
        let file = self.dir.join(path);
        std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
    }
    fn inspected_ids(&self) -> Vec<String> {
        let dir = self.dir.join("inspect");
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut ids: Vec<String> =
            entries.map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned()).collect();
        ids.sort();
        ids
    }
    fn driver(&self) -> &str {
        &self.driver
    }
}
