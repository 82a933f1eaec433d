// Import throughput of the built npm package (pkg/, made by scripts/build.sh) in Node, run by
// scripts/bench.sh:
//
//   node scripts/bench-node.mjs FILE NAME memory|indexeddb
//
// The file is opened as a disk-backed Blob (fs.openAsBlob), so the JS side never holds it whole;
// the Store reads it in 1 MiB slices. Peak RSS is the largest process.memoryUsage().rss seen by
// a 10 ms sampler and at every progress report. Prints `bench: ...` lines, or
// `bench: NAME node (BACKEND): failed: CODE: MESSAGE` and exits 2.
import { openAsBlob } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const [file, name, backend] = process.argv.slice(2);
if (!file || !name || !["memory", "indexeddb"].includes(backend)) {
  console.error("usage: node scripts/bench-node.mjs FILE NAME memory|indexeddb");
  process.exit(64);
}
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);
if (backend === "indexeddb") require(`${ROOT}node_modules/fake-indexeddb/auto/index.js`);
// The nodejs build does not export its wasm instance: catch the memory as it is instantiated.
let wasmMemory;
const Instance = WebAssembly.Instance;
WebAssembly.Instance = function (module, imports) {
  const instance = new Instance(module, imports);
  wasmMemory ??= instance.exports.memory;
  return instance;
};
const pkg = require(`${ROOT}pkg/node/imagestore.js`);
WebAssembly.Instance = Instance;

const mb = (bytes) => (bytes / 1e6).toFixed(0);
let peakRss = process.memoryUsage().rss;
const sample = () => { peakRss = Math.max(peakRss, process.memoryUsage().rss); };
const sampler = setInterval(sample, 10);
const rssBefore = peakRss;

const blob = await openAsBlob(file);
const store = await pkg.Store.open(`bench-${process.pid}`, { backend });
const label = `${name} node (${backend === "memory" ? "memory backend" : "fake-indexeddb"})`;
const start = performance.now();
try {
  const report = await store.import(blob, { onProgress: sample });
  const secs = (performance.now() - start) / 1000;
  sample();
  clearInterval(sampler);
  console.log(
    `bench: ${label}: ${mb(blob.size / secs)} MB/s (${(blob.size / 1e6).toFixed(1)} MB in ${secs.toFixed(2)} s; ` +
      `${report.images} images, ${report.layers} layers, ${report.blobs} blobs, format ${report.format})`,
  );
  console.log(
    `bench: ${label} peak RSS: ${mb(peakRss)} MB (${mb(rssBefore)} MB before the import; ` +
      `wasm memory at the end: ${wasmMemory ? mb(wasmMemory.buffer.byteLength) + " MB" : "unknown"})`,
  );
} catch (e) {
  clearInterval(sampler);
  console.log(`bench: ${label}: failed: ${e.code ?? "error"}: ${e.message}`);
  process.exit(2);
}
