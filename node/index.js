// Node entry of the package: the wasm build (./imagestore.js) plus what only Node has —
// `Store.open(name, { backend: "fs", path })`, a store kept on disk (./fs_adapter.js).
"use strict";

// Written as a plain re-export so that ESM's `import { Store }` sees the names (cjs-module-lexer).
module.exports = require("./imagestore.js");
const wasm = module.exports;
const { openFsAdapter, META } = require("./fs_adapter.js");

const openInWasm = wasm.Store.open;
const RESERVE_PER_BLOB = 8 << 10;
const RESERVE_MIN = 4 << 20;
const RESERVE_LIMIT = 512 << 20;
/** Closes still running, by store folder: reopening waits for the lock to be released. */
const closing = new Map();

wasm.Store.open = async function open(name, options) {
  if (options?.backend !== "fs") return openInWasm.call(wasm.Store, name, options);
  const root = require("node:path").resolve(String(options.path ?? ""));
  await closing.get(root);
  const adapter = await openFsAdapter(options.path);
  // Opening a large store grows the wasm memory by ~8 KiB per stored blob; one grow up front
  // instead of a page at a time (see Store.reserveMemory).
  const reserve = Math.min(RESERVE_LIMIT, adapter.blobCount * RESERVE_PER_BLOB);
  if (reserve >= RESERVE_MIN) wasm.Store.reserveMemory(reserve);
  let store;
  try {
    store = await wasm.Store.openAdapter(name, adapter);
  } catch (e) {
    await adapter.close();
    throw e;
  }
  const closeInWasm = store.close.bind(store);
  // close() stays synchronous as for the other backends; `await store.closed` is not needed to
  // reopen in this process (open waits), and `store.whenClosed` tells when the lock is free.
  store.close = () => {
    closeInWasm();
    const done = adapter.close();
    closing.set(root, done.catch(() => {}));
    return undefined;
  };
  Object.defineProperty(store, "whenClosed", { get: () => adapter.closing ?? Promise.resolve() });
  Object.defineProperty(store, "path", { value: root });
  Object.defineProperty(store, META, { value: adapter.db });
  // Diagnostics for the kill tests: how many write steps (see fs_adapter.js) this store made.
  Object.defineProperty(store, "writeSteps", { get: () => adapter.writeSteps });
  return store;
};
