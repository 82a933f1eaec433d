//! Pure parsing of on-disk and wire formats: no storage, no JavaScript. Each module takes bytes
//! (or a reader) and returns values (or writes them: [`go_json`], [`tar_split_writer`]) or a clear error naming what was wrong and where.

// Docker (moby)
pub mod docker_save;
pub mod go_json;
pub mod go_units;
pub mod gotime;
pub mod image_config;
pub mod image_config_scan;
pub mod image_rows;
pub mod reference;
pub mod tar_header;
pub mod tar_split;
pub mod tar_split_writer;
pub mod tar_stream;

// containerd and OCI
pub mod bbolt;
pub mod containerd_meta;
pub mod filters;
pub mod gobinary;
pub mod oci;
