//! One image's files against another's (related or not): what is only in the second
//! (added), only in the first (removed), and in both but different (modified), by the same
//! test as layer changes (type, size, mode, owner, link target, content CRC-64).

use super::changes::{FileState, Merged};
use serde::Serialize;

/// A file in an image diff: its state in the second image (in the first, for removals).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffFile {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub size: i64,
    /// Size in the second image minus size in the first.
    pub size_delta: i64,
    pub mode: i64,
    /// Layer index of the file in the image it is described from.
    pub layer: usize,
}

impl DiffFile {
    fn new(f: &FileState, size_delta: i64) -> DiffFile {
        DiffFile { path: f.path.clone(), kind: f.kind, size: f.size, size_delta, mode: f.mode, layer: f.layer }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileDiff {
    pub added: Vec<DiffFile>,
    pub removed: Vec<DiffFile>,
    pub modified: Vec<DiffFile>,
}

/// The files of `b` against those of `a`, each list sorted by path.
pub fn diff_trees(a: &Merged, b: &Merged) -> FileDiff {
    let mut out = FileDiff::default();
    for (path, fb) in b {
        match a.get(path) {
            None => out.added.push(DiffFile::new(fb, fb.size)),
            Some(fa) if !fa.same_as(fb) => out.modified.push(DiffFile::new(fb, fb.size - fa.size)),
            Some(_) => {}
        }
    }
    for (path, fa) in a {
        if !b.contains_key(path) {
            out.removed.push(DiffFile::new(fa, -fa.size));
        }
    }
    out
}

/// How many bottom layers two images share: the length of the common prefix of their chain
/// IDs (equal chain IDs are the same stored layer).
pub fn shared_prefix<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::changes::merged_tree;
    use crate::analysis::changes::tests::entry;
    use crate::formats::tar_split::EntryKind::*;

    #[test]
    fn added_removed_modified() {
        let base = vec![entry("a", File, 1, Some(1)), entry("b", File, 2, Some(2)), entry("c", File, 3, Some(3))];
        let other = vec![entry("a", File, 1, Some(1)), entry("b", File, 2, Some(7)), entry("d/", Dir, 0, None)];
        let d = diff_trees(&merged_tree(&[&base]), &merged_tree(&[&other]));
        let names = |v: &[DiffFile]| v.iter().map(|f| (f.path.clone(), f.size_delta)).collect::<Vec<_>>();
        assert_eq!(names(&d.added), [("/d".to_string(), 0)]);
        assert_eq!(names(&d.removed), [("/c".to_string(), -3)]);
        assert_eq!(names(&d.modified), [("/b".to_string(), 0)]);
        assert_eq!(shared_prefix(&[1, 2, 3], &[1, 2, 4, 5]), 2);
    }
}
