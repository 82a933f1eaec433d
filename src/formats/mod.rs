//! Pure parsing of on-disk and wire formats: no storage, no JavaScript. Each module takes bytes
//! (or a reader) and returns values or a clear error naming what was wrong and where.

pub mod gotime;
pub mod reference;
pub mod image_config;
pub mod tar_split;
