//! moby's graphdriver image store, on top of [`crate::storage`]: the image store (imagedb),
//! the layer store (layerdb), the reference store (repositories.json) and distribution
//! metadata, their in-memory state, plus the Engine API views over them. They never name the
//! store façade; record keys come from [`crate::schema::docker`].
pub mod distribution;
pub mod engine;
pub mod images;
pub mod layer_blobs;
pub mod layer_files;
pub mod layers;
pub mod lazy_config;
pub mod list;
pub mod list_answer;
pub mod list_columns;
pub mod model;
pub mod packed;
pub mod references;
pub mod render;
pub mod state;
pub mod summary;
pub mod tx;
