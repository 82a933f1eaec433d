//! Layer contents: where each layer's tar is kept ([`crate::docker::layer_blobs`]), reading it back as a
//! stream of chunks, and the export writers that turn stored images back into the archives
//! Docker writes ([`docker_save`], [`oci_layout`]) and a folder into `docker cp`'s tar
//! ([`directory`]). Every tar is planned up front (a list of members whose bodies are small
//! in-memory files, stored layer tars or files inside them) and then streamed by
//! [`archive::ArchiveStream`] one bounded chunk at a time.

pub mod archive;
pub mod directory;
pub mod docker_save;
pub mod files;
pub mod layer_reader;
pub mod legacy_v1;
pub mod oci_layout;
pub mod tar_writer;

use crate::error::{Error, Result};
use crate::storage::Backend;
use crate::store::Store;
use archive::ArchiveStream;

/// The archive formats [`Store::save`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// `docker save` of Docker 20.10 (legacy layout with manifest.json and repositories).
    Docker,
    /// An OCI image layout with `manifest.json`, as Docker 25's `docker save` writes it.
    Oci,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Result<ExportFormat> {
        match s {
            "docker" => Ok(ExportFormat::Docker),
            "oci" => Ok(ExportFormat::Oci),
            other => Err(Error::invalid(format!("save: unknown format {other:?} (expected \"docker\" or \"oci\")"))),
        }
    }
}

impl<B: Backend> Store<B> {
    /// Plans an export of the images `names` select (tags, repositories, IDs as `docker save`
    /// takes them). The stream reads layer tars from the backend while it is pulled; `now`
    /// (Unix seconds) dates what dockerd dates with the time of the save.
    pub fn save(&self, names: &[String], format: ExportFormat, now: i64) -> Result<ArchiveStream> {
        let items = docker_save::resolve_names(self.docker(), names)?;
        let entries = match format {
            ExportFormat::Docker => docker_save::plan(self.docker(), &items, now)?,
            ExportFormat::Oci => oci_layout::plan(self.docker(), &items, now)?,
        };
        ArchiveStream::new(entries)
    }
}
