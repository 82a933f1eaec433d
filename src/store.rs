//! The store façade: one backend, the Docker view and the containerd view over it.
