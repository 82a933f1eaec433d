//! Image analysis: pure functions over the layers' tar-split entries (no storage, no JS), so
//! everything here works on an image-store tarball with no layer contents.
//!
//! * [`changes`]: what each layer adds, modifies and removes (OCI whiteouts and opaque
//!   directories applied), and the merged tree with the layer that last changed each file;
//! * [`dive`]: wasted space and the efficiency score exactly as dive 0.13.1 computes them
//!   (its layer trees, its quirks, its CI rules);
//! * [`diff`]: one image's files against another's;
//! * [`search`]: path, basename and glob matching over change sets;
//! * [`df`]: `docker system df` sizes (shared and unique bytes per image).

pub mod changes;
pub mod df;
pub mod diff;
pub mod dive;
pub mod dive_layers;
mod go_sort;
pub mod path_table;
mod paths;
pub mod search;

pub use changes::{layer_changes, merged_tree, Change, ChangeKind, FileState, LayerChangeSet};
pub use paths::clean_path;
