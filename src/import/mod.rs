//! Importers: detect an uploaded tarball's format from its bytes and stream it into the stores,
//! committing all or nothing.
//!
//! Push-based, because in the browser the bytes arrive from a JS stream:
//! ```ignore
//! let mut importer = Importer::new(ImportOptions::default());
//! while let Some(chunk) = next_chunk().await {
//!     importer.push(&backend, &chunk).await?;
//! }
//! let Finished { imported, report } = importer.finish(&backend).await?;
//! // commit `imported` (its staged blobs' ops with the stores' records)
//! ```
//! Pipeline, one folder a job: [`stream`] (gzip detected from the magic bytes, then a push-fed
//! tar reader) → two collectors fed the same entries: [`docker_root`] (stages Docker image
//! store files per candidate folder, found at any depth) and [`archive`] (stages the files of
//! `docker save` archives, OCI layouts and containerd roots). At the end the format is decided
//! from what was found, never from names:
//! * an archive goes to [`archive`]'s table, which routes it to `docker load` (the Docker
//!   view; layer tar-splits written by [`crate::formats::tar_split_writer`]), to `ctr images
//!   import` (a containerd namespace) or to [`containerd_root`] (a containerd root's
//!   `meta.db`, every namespace);
//! * else a Docker image store (`image/<driver>/`) goes through [`docker_root`]'s restore
//!   (dockerd's startup rules) → [`DockerImport`].
//!
//! Memory is bounded by a fixed buffer plus the blob being written: layer contents stream
//! past and are dropped. On an error or cancellation every staged blob is discarded, so the
//! store is exactly as before.

mod archive;
mod containerd_root;
mod docker_root;
mod load_check;
mod progress;
mod report;
pub(crate) mod stream;

pub use archive::ctr_import::{default_prefix, ContainerdImport, CtrOptions};
pub use archive::files::{JSON_LIMIT, META_DB_LIMIT};
pub use archive::{FORMAT_CONTAINERD_ROOT, FORMAT_DOCKER_SAVE, FORMAT_OCI_LAYOUT};
pub use docker_root::collect::{CONFIG_LIMIT, REPOSITORIES_LIMIT, SMALL_FILE_LIMIT};
pub use progress::{Phase, Progress, ProgressCallback, REPORT_EVERY};
pub use report::ImportReport;
pub use stream::gzip::InflationLimits;

use crate::docker::model::DockerImport;
use crate::error::{Error, Result};
use crate::storage::{blobs, Backend, HostBytes};
use archive::files::ArchiveCollector;
use docker_root::collect::Collector;
use docker_root::driver_dirs::DriverFiles;
use progress::Reporter;
use stream::gzip::Decompressor;
use stream::tar::{Event, TarReader};

/// `format` of a Docker image store import (a tar of `image/<driver>/` or above it).
pub const FORMAT_DOCKER_IMAGE_STORE: &str = "docker-image-store";

/// What an import produced, by detected format. Blobs inside are staged: commit their ops
/// with the records, or discard them.
#[derive(Debug)]
#[non_exhaustive]
pub enum Imported {
    DockerImageStore(DockerImport),
    /// A `docker save` archive loaded into the Docker view, like `docker load`.
    DockerLoad(DockerImport),
    /// An archive or a containerd root for the containerd view: operations to commit.
    Containerd {
        format: &'static str,
        import: ContainerdImport,
    },
}

impl Imported {
    pub fn format(&self) -> &'static str {
        match self {
            Imported::DockerImageStore(_) => FORMAT_DOCKER_IMAGE_STORE,
            Imported::DockerLoad(_) => FORMAT_DOCKER_SAVE,
            Imported::Containerd { format, .. } => format,
        }
    }

    /// The chunk sets of the staged blobs the result publishes.
    pub fn staged_sets(&self) -> Vec<String> {
        match self {
            Imported::DockerImageStore(d) | Imported::DockerLoad(d) => d
                .images
                .iter()
                .map(|i| &i.blob)
                .chain(&d.tar_splits)
                .chain(d.layer_blobs.iter().map(|(_, blob)| blob))
                .map(|b| b.set.clone())
                .collect(),
            Imported::Containerd { import, .. } => import.kept_sets.clone(),
        }
    }

    /// Deletes the staged blobs (when the caller decides not to commit).
    pub async fn discard<B: Backend>(&self, b: &B) -> Result<()> {
        blobs::discard_many(b, &self.staged_sets()).await
    }
}

/// The result of [`Importer::finish`].
#[derive(Debug)]
pub struct Finished {
    pub imported: Imported,
    pub report: ImportReport,
}

/// Polled between chunks: true means the caller cancelled the import.
pub type CancelCheck = Box<dyn Fn() -> bool>;

/// Options of one import.
#[derive(Default)]
pub struct ImportOptions {
    /// The input's size, if known (only shown in progress reports).
    pub bytes_total: Option<u64>,
    /// Called with progress at a bounded rate (every [`REPORT_EVERY`] bytes and at phase changes).
    pub on_progress: Option<ProgressCallback>,
    /// Polled between chunks; returning true cancels the import (error code `aborted`).
    pub is_cancelled: Option<CancelCheck>,
    /// Where archives go: `None` loads `docker save` archives into the Docker view (like
    /// `docker load`) and OCI layouts into namespace `default`; a namespace sends both to
    /// containerd (like `ctr -n <namespace> images import`). containerd roots keep their own
    /// namespaces.
    pub namespace: Option<String>,
    /// `ctr images import` flags for imports into containerd.
    pub ctr: CtrOptions,
    /// How far the upload may inflate (gzip bombs, total size).
    pub limits: InflationLimits,
    /// Like `docker load`: only a `docker save` archive (a top-level `manifest.json`, which a
    /// Docker 25 OCI archive has too) is taken; anything else is refused with dockerd 20.10's
    /// error ([`load_check`]), before anything is committed.
    pub docker_load: bool,
    /// Hashes large entries from the upload's own bytes when the tarball is not compressed
    /// (see [`HostBytes`]); `None`: everything is hashed as it streams.
    pub host_upload: Option<std::rc::Rc<dyn HostBytes>>,
}

/// A streaming import: [`push`](Importer::push) chunks as they arrive, then
/// [`finish`](Importer::finish).
pub struct Importer {
    decoder: Decompressor,
    tar: TarReader,
    collector: Collector,
    archive: ArchiveCollector,
    /// File bytes of the graph driver's layer folders (a whole `/var/lib/docker` upload).
    driver_files: DriverFiles,
    namespace: Option<String>,
    ctr: CtrOptions,
    /// Set for a `docker load`: watches the top-level folders for dockerd's refusal.
    load_check: Option<load_check::LoadCheck>,
    reporter: Reporter,
    is_cancelled: Option<CancelCheck>,
    bytes_total: Option<u64>,
    bytes_read: u64,
    host_upload: Option<std::rc::Rc<dyn HostBytes>>,
    failed: bool,
}

impl Importer {
    pub fn new(options: ImportOptions) -> Self {
        Importer {
            decoder: Decompressor::with_limits(options.limits),
            tar: TarReader::new(),
            collector: Collector::new(),
            // Only a `docker load` uses layer scans, and it happens only without a namespace.
            archive: ArchiveCollector::new(options.namespace.is_none()),
            driver_files: DriverFiles::new(),
            namespace: options.namespace,
            ctr: options.ctr,
            load_check: options.docker_load.then(Default::default),
            reporter: Reporter::new(options.on_progress),
            is_cancelled: options.is_cancelled,
            bytes_total: options.bytes_total,
            bytes_read: 0,
            host_upload: options.host_upload,
            failed: false,
        }
    }

    /// Bytes of input consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Feeds the next chunk of the input (any size). On error (or cancellation) everything
    /// staged so far is discarded and the importer refuses further input.
    pub async fn push<B: Backend>(&mut self, backend: &B, chunk: &[u8]) -> Result<()> {
        self.usable()?;
        let mut result = self.push_inner(backend, chunk).await;
        if self.load_check.is_some() {
            result = result.map_err(load_check::not_a_tar);
        }
        self.discard_on_error(backend, result).await
    }

    /// Ends the input and applies dockerd's restore rules. On error everything staged is
    /// discarded; on success only the blobs of the result remain staged.
    pub async fn finish<B: Backend>(mut self, backend: &B) -> Result<Finished> {
        self.usable()?;
        let result = self.finish_inner(backend).await;
        self.discard_on_error(backend, result).await
    }

    /// Gives up: discards everything staged so far.
    pub async fn abort<B: Backend>(mut self, backend: &B) -> Result<()> {
        let archive = self.archive.discard_all(backend).await;
        let spool = self.driver_files.discard(backend).await;
        self.collector.discard_all(backend).await.and(archive).and(spool)
    }

    async fn push_inner<B: Backend>(&mut self, b: &B, chunk: &[u8]) -> Result<()> {
        self.check_cancelled()?;
        let mut rest = chunk;
        while !rest.is_empty() {
            // Asked before feeding: the piece that settles it is the two bytes sniffed, which
            // hold no entry.
            let upload = upload_of(&self.decoder, &self.host_upload);
            let (used, tar_bytes) = self.decoder.feed(rest)?;
            rest = &rest[used..];
            self.bytes_read += used as u64;
            let sinks = Sinks {
                collector: &mut self.collector,
                archive: &mut self.archive,
                driver_files: &mut self.driver_files,
                load_check: self.load_check.as_mut(),
                upload,
            };
            read_tar(&mut self.tar, sinks, b, tar_bytes).await?;
        }
        self.report(Phase::Reading, None)?;
        Ok(())
    }

    async fn finish_inner<B: Backend>(&mut self, b: &B) -> Result<Finished> {
        self.check_cancelled()?;
        let upload = upload_of(&self.decoder, &self.host_upload);
        let tail = self.decoder.finish()?;
        let sinks = Sinks {
            collector: &mut self.collector,
            archive: &mut self.archive,
            driver_files: &mut self.driver_files,
            load_check: self.load_check.as_mut(),
            upload,
        };
        read_tar(&mut self.tar, sinks, b, tail).await?;
        self.tar.finish()?;
        if let Some(check) = &self.load_check {
            if self.archive.manifest_json().is_none() {
                return Err(check.refusal(self.bytes_read));
            }
        }
        self.report(Phase::Restoring, None)?;
        if self.archive.found_archive() {
            self.driver_files.discard(b).await?;
            return self.finish_archive(b).await;
        }
        let too_big = self.archive.too_big().join("; ");
        self.archive.discard_all(b).await?;

        // No image store either: an archive document over its size limit is the reason to give.
        let chosen =
            self.collector.choose().map_err(|e| if too_big.is_empty() { e } else { Error::unsupported(too_big) })?;
        // What remains in the collector belongs to folders not taken.
        if let Err(e) = self.collector.discard_all(b).await {
            for set in chosen.candidate.staged_sets() {
                let _ = blobs::discard(b, &set).await;
            }
            return Err(e);
        }
        let root = chosen.root.clone();
        let restored = docker_root::restore::restore(chosen.root, chosen.candidate);
        let mut import = restored.import;
        let mut warnings = chosen.warnings;
        warnings.append(&mut import.warnings);
        import.warnings = warnings;
        let discarded = async {
            for set in &restored.discard {
                blobs::discard(b, set).await?;
            }
            Ok(())
        };
        let rebuilt = match discarded.await {
            Ok(()) => self.rebuild_layers(b, &mut import, &root).await,
            Err(e) => Err(e),
        };
        let imported = Imported::DockerImageStore(import);
        if let Err(e) = rebuilt {
            let _ = imported.discard(b).await;
            return Err(e);
        }
        let Imported::DockerImageStore(import) = &imported else { unreachable!("made above") };
        let report = ImportReport::for_docker(import, self.bytes_read);
        if let Err(e) = self.report(Phase::Done, Some(&report)) {
            let _ = imported.discard(b).await;
            return Err(e);
        }
        Ok(Finished { imported, report })
    }

    /// Layer tars rebuilt from the upload's graph driver folders, if it has them (the spool
    /// of their files is discarded either way).
    async fn rebuild_layers<B: Backend>(&mut self, b: &B, import: &mut DockerImport, root: &str) -> Result<()> {
        let mut spool = self.driver_files.finish(b).await?;
        let rebuilt = docker_root::layer_rebuild::rebuild_layers(b, import, root, &spool).await;
        let discarded = spool.discard(b).await;
        import.content_problems = rebuilt?;
        discarded
    }

    /// Finishes an archive import (the image store collector's blobs are dropped).
    async fn finish_archive<B: Backend>(&mut self, b: &B) -> Result<Finished> {
        self.collector.discard_all(b).await?;
        let files = self.archive.take();
        let imported = archive::finish(b, files, self.namespace.as_deref(), &self.ctr).await?;
        let report = ImportReport::for_imported(&imported, self.bytes_read);
        if let Err(e) = self.report(Phase::Done, Some(&report)) {
            let _ = imported.discard(b).await;
            return Err(e);
        }
        Ok(Finished { imported, report })
    }

    fn usable(&self) -> Result<()> {
        if self.failed {
            return Err(Error::precondition("this import already failed or was cancelled; start a new one"));
        }
        Ok(())
    }

    fn check_cancelled(&self) -> Result<()> {
        if self.is_cancelled.as_ref().is_some_and(|f| f()) {
            return Err(Error::aborted(format!("import cancelled after {} bytes", self.bytes_read)));
        }
        Ok(())
    }

    async fn discard_on_error<B: Backend, T>(&mut self, b: &B, result: Result<T>) -> Result<T> {
        if result.is_err() {
            self.failed = true;
            // The original error is what matters; a failed cleanup leaves orphan chunk sets
            // that `blobs::sweep_orphans` removes later.
            let _ = self.collector.discard_all(b).await;
            let _ = self.archive.discard_all(b).await;
            let _ = self.driver_files.discard(b).await;
        }
        result
    }

    /// Reports progress; an error from the callback (a JS `onProgress` that threw) ends the
    /// import like any other error.
    fn report(&mut self, phase: Phase, done: Option<&ImportReport>) -> Result<()> {
        let counts = self.collector.counts();
        let (images, layers, blobs) = match done {
            Some(r) => (r.images as u64, r.layers as u64, r.blobs as u64),
            None => (counts.images, counts.layers, counts.blobs + self.archive.staged),
        };
        self.reporter.update(Progress {
            phase,
            bytes_read: self.bytes_read,
            bytes_total: self.bytes_total,
            images,
            layers,
            blobs,
        })
    }
}

/// What the tar's entries are fed to.
struct Sinks<'a> {
    collector: &'a mut Collector,
    archive: &'a mut ArchiveCollector,
    driver_files: &'a mut DriverFiles,
    load_check: Option<&'a mut load_check::LoadCheck>,
    /// The host's hasher of upload ranges, when tar offsets are offsets of the upload.
    upload: Option<&'a std::rc::Rc<dyn HostBytes>>,
}

/// The upload hasher, if the tar stream is the upload itself (not inflated from it): only then
/// is an entry's data a range of the upload.
fn upload_of<'a>(
    decoder: &Decompressor,
    hasher: &'a Option<std::rc::Rc<dyn HostBytes>>,
) -> Option<&'a std::rc::Rc<dyn HostBytes>> {
    decoder.is_plain().then_some(hasher.as_ref()).flatten()
}

/// Runs tar bytes through the reader into the collectors.
async fn read_tar<B: Backend>(tar: &mut TarReader, sinks: Sinks<'_>, b: &B, mut input: &[u8]) -> Result<()> {
    let Sinks { collector, archive, driver_files, mut load_check, upload } = sinks;
    while let Some(event) = tar.next(&mut input)? {
        match event {
            Event::Entry(e) => {
                collector.entry(&e);
                archive.entry(&e, upload);
                driver_files.entry(&e);
                if let Some(check) = load_check.as_deref_mut() {
                    check.entry(&e);
                }
            }
            Event::Data(d) => {
                collector.data(b, d).await?;
                archive.data(b, d).await?;
                driver_files.data(b, d).await?;
            }
            Event::EntryEnd => {
                collector.end(b).await?;
                archive.end(b).await?;
                driver_files.end();
            }
        }
    }
    Ok(())
}
