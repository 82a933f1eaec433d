//! Progress reports for a running import, at a bounded rate.

use serde::Serialize;

/// What the import is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Reading the archive (bytes are arriving).
    Reading,
    /// The archive is read; applying dockerd's restore rules.
    Restoring,
    /// Finished: the result is ready to be committed.
    Done,
}

/// One progress report (JavaScript sees it as `{ phase, bytesRead, bytesTotal, images, layers, blobs }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub phase: Phase,
    /// Bytes of the input consumed so far (compressed bytes for a gzip input).
    pub bytes_read: u64,
    /// The input's size, if the caller knows it.
    pub bytes_total: Option<u64>,
    /// Image configs / layer folders found so far (final counts in phase `done`).
    pub images: u64,
    pub layers: u64,
    /// Blobs staged so far.
    pub blobs: u64,
}

/// The progress callback of an import.
pub type ProgressCallback = Box<dyn FnMut(&Progress) -> crate::error::Result<()>>;

/// Reports at most once per [`REPORT_EVERY`] bytes while reading, and at every phase change.
pub const REPORT_EVERY: u64 = 1 << 20;

pub(crate) struct Reporter {
    callback: Option<ProgressCallback>,
    last: Option<(Phase, u64)>,
}

impl Reporter {
    pub(super) fn new(callback: Option<ProgressCallback>) -> Self {
        Reporter { callback, last: None }
    }

    /// Calls the callback if the phase changed or enough bytes were read since the last call.
    /// Calls the callback when a report is due; its error ends the import.
    pub(super) fn update(&mut self, p: Progress) -> crate::error::Result<()> {
        let Some(cb) = self.callback.as_mut() else { return Ok(()) };
        let due = match self.last {
            None => true,
            Some((phase, at)) => phase != p.phase || p.bytes_read >= at + REPORT_EVERY,
        };
        if due {
            self.last = Some((p.phase, p.bytes_read));
            cb(&p)?;
        }
        Ok(())
    }
}
