//! TypeScript declarations for the option and result objects of the JS API (they are read in
//! [`super::options`]). The generated `.d.ts` uses these names instead of `any`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Where a store keeps its data. */
export type BackendKind = "indexeddb" | "memory" | "fs" | string;

/**
 * Storage a host provides to `Store.openAdapter` (Node's `{ backend: "fs" }` is one). Spaces
 * are "meta" and "chunks"; every method may answer directly or with a promise.
 */
export interface StorageAdapter {
  kind?: string;
  get(space: string, key: string): Uint8Array | undefined | Promise<Uint8Array | undefined>;
  /**
   * `[key, value, key, value, …]` of the keys starting with `prefix`, in key order, or the same
   * packed: UTF-8 keys and values each concatenated, with where each one ends.
   */
  scan(space: string, prefix: string): unknown[] | PackedScan | Promise<unknown[] | PackedScan>;
  keys(space: string, prefix: string): string[] | Promise<string[]>;
  /** Applies every operation or none; `requireAbsent` fails with code "already_exists". */
  commit(ops: Array<{ op: "put" | "delete" | "deletePrefix" | "requireAbsent"; space: string; key?: string; prefix?: string; value?: Uint8Array }>): unknown;
  close(): unknown;
}

/** A scan answer packed in four arrays (record i is keys[keyEnds[i-1]..keyEnds[i]], …). */
export interface PackedScan {
  keys: Uint8Array;
  keyEnds: Uint32Array;
  values: Uint8Array;
  valueEnds: Uint32Array;
}

/** Options of `Store.open`. */
export interface StoreOptions {
  /**
   * `"indexeddb"` (the default): the IndexedDB database named like the store, kept across
   * reloads. `"memory"`: kept by this `Store` object only, starts empty.
   */
  backend?: BackendKind;
  /**
   * The most the memory backend may hold, in bytes (default 2 GiB: it lives in the wasm
   * memory, which ends at 4 GiB). Writes past it reject with `resource_exhausted`.
   */
  memoryLimit?: number;
}

/** Every rejection of this package is an `Error` with a `code`. */
export interface ImageStoreError extends Error {
  code: ErrorCode;
}

/** What `Store.storeInfo` reports. */
export interface StoreInfo {
  name: string;
  backend: BackendKind;
  /** Number of metadata records. */
  metaRecords: number;
  /** Of `metaRecords`, the derived records (layer entries, search index, saved list
   *  answers): a cache rebuilt when missing, whose make-up depends on what was analysed or
   *  listed when. */
  derivedRecords: number;
  /** Number of stored blob chunks. */
  chunkRecords: number;
}
"#;

/// The `ErrorCode` union, written by the macro that defines the codes.
#[wasm_bindgen(typescript_custom_section)]
const TS_ERROR_CODE: &'static str = crate::error::ErrorCode::TYPESCRIPT;

#[wasm_bindgen]
extern "C" {
    /// The `options` argument of `Store.open`.
    #[wasm_bindgen(typescript_type = "StoreOptions")]
    pub type StoreOptions;
}
