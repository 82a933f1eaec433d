//! Importers: detect an uploaded tarball's format from its bytes and stream it into the stores,
//! committing all or nothing.

mod gzip;
mod tar_stream;
