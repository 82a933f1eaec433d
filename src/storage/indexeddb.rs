//! TEMPORARY placeholder (infra branch) so the crate compiles for wasm32 until the real
//! IndexedDB backend lands from the wasm branch. Resolve merges in favour of that version.
