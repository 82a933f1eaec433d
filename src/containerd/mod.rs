//! containerd's metadata stores, on top of [`crate::storage`]: content (blobs by digest, with
//! ingests and labels), images per namespace, namespaces, and garbage collection.
