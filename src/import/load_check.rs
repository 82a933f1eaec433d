//! What dockerd 20.10's `docker load` says of a tarball that is not a `docker save` (moby
//! `image/tarexport/load.go`): it untars the upload into `<data-root>/tmp/docker-import-<N>/`
//! and, without a top-level `manifest.json`, falls back to the legacy loader, which takes
//! every top-level folder (in name order) as a v1 image and opens its `json` first, then
//! opens `repositories`. So an OCI layout without `manifest.json` fails on `blobs/json`, a
//! tar of files only on `repositories`, a folder tree on its first folder's `json` — each as
//! the `open …: no such file or directory` of that path. [`LoadCheck`] watches the entries
//! of an import made with `docker_load` set and words that error.

use super::docker_root::paths::components;
use super::stream::tar::{EntryKind, TarEntry};
use crate::error::Error;
use std::collections::BTreeSet;

/// Top-level folders seen (by name), and those holding a `json` file.
#[derive(Default)]
pub(crate) struct LoadCheck {
    /// The first top-level folder in name order (Go's `ioutil.ReadDir` order).
    first_dir: Option<String>,
    with_json: BTreeSet<String>,
}

impl LoadCheck {
    pub(crate) fn entry(&mut self, e: &TarEntry) {
        let Ok(parts) = components(&e.path) else { return };
        let dir = match parts.as_slice() {
            [dir] if e.kind == EntryKind::Dir => *dir,
            [dir, rest @ ..] if !rest.is_empty() => {
                if rest == ["json"] && e.kind == EntryKind::File {
                    self.with_json.insert(dir.to_string());
                }
                *dir
            }
            _ => return,
        };
        if self.first_dir.as_deref().is_none_or(|d| dir < d) {
            self.first_dir = Some(dir.to_string());
        }
    }

    /// The error dockerd gives for this upload, `bytes` long, which has no `manifest.json`.
    pub(crate) fn refusal(&self, bytes: u64) -> Error {
        // ioutil.TempDir's suffix is a random uint32; this one only looks like one.
        let n = (bytes as u32).wrapping_mul(2_654_435_761) % 4_000_000_000;
        let tmp = format!("/var/lib/docker/tmp/docker-import-{n}");
        match &self.first_dir {
            Some(dir) if self.with_json.contains(dir) => Error::unsupported(format!(
                "{dir}/json: a legacy `docker save` (Docker before 1.10, without manifest.json) is not loaded here"
            )),
            Some(dir) => Error::unsupported(format!("open {tmp}/{dir}/json: no such file or directory")),
            None => Error::unsupported(format!("open {tmp}/repositories: no such file or directory")),
        }
    }
}

/// dockerd's answer to an upload that is no tar at all (its untar's error).
pub(crate) fn not_a_tar(e: Error) -> Error {
    if e.message.contains("not a valid tar header") {
        Error::unsupported("Error processing tar file(exit status 1): archive/tar: invalid tar header")
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: EntryKind) -> TarEntry {
        TarEntry { path: path.into(), kind, size: 0, offset: 0, data_offset: 512, link: String::new() }
    }

    #[test]
    fn the_first_folder_by_name_or_repositories() {
        let mut c = LoadCheck::default();
        c.entry(&entry("./top.txt", EntryKind::File));
        assert!(c.refusal(10).message.ends_with("/repositories: no such file or directory"));
        c.entry(&entry("./zz/", EntryKind::Dir));
        c.entry(&entry("./etc/f", EntryKind::File));
        let m = c.refusal(10).message;
        assert!(
            m.starts_with("open /var/lib/docker/tmp/docker-import-")
                && m.ends_with("/etc/json: no such file or directory"),
            "{m}"
        );
        c.entry(&entry("etc/json", EntryKind::File));
        assert!(c.refusal(10).message.contains("legacy"));
    }
}
