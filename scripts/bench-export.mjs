// Export throughput of the built npm package (pkg/) in Node, run by scripts/bench.sh:
//
//   node scripts/bench-export.mjs FILE NAME memory|indexeddb
//
// Imports FILE, then saves its largest image (by Size) as `docker save` and as an OCI layout,
// pulling the ReadableStream to its end and dropping the chunks (as a download would hand them
// to the disk). Prints per format `bench: NAME <format> node (BACKEND): X MB/s (…)` and the peak
// RSS during the export (a 10 ms sampler plus one sample per chunk), which stays flat when the
// export streams: the archive is never held whole.
import { openAsBlob } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const [file, name, backend] = process.argv.slice(2);
if (!file || !name || !["memory", "indexeddb"].includes(backend)) {
  console.error("usage: node scripts/bench-export.mjs FILE NAME memory|indexeddb");
  process.exit(64);
}
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);
if (backend === "indexeddb") require(`${ROOT}node_modules/fake-indexeddb/auto/index.js`);
const pkg = require(`${ROOT}pkg/node/imagestore.js`);

const mb = (bytes) => (bytes / 1e6).toFixed(0);
const label = (format) => `${name} ${format} node (${backend === "memory" ? "memory backend" : "fake-indexeddb"})`;
const store = await pkg.Store.open(`bench-export-${process.pid}`, { backend });
try {
  await store.import(await openAsBlob(file));
  const images = await store.listImages({ all: true });
  const largest = images.reduce((a, b) => (b.Size > a.Size ? b : a));
  for (const format of ["docker", "oci"]) {
    globalThis.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const sample = () => { peakRss = Math.max(peakRss, process.memoryUsage().rss); };
    const sampler = setInterval(sample, 10);
    const start = performance.now();
    let bytes = 0;
    for await (const chunk of await store.save([largest.Id], { format })) {
      bytes += chunk.length;
      sample();
    }
    const secs = (performance.now() - start) / 1000;
    clearInterval(sampler);
    console.log(
      `bench: ${label(format)}: ${mb(bytes / secs)} MB/s (${(bytes / 1e6).toFixed(1)} MB archive of a ` +
        `${mb(largest.Size)} MB image in ${secs.toFixed(2)} s) [target ≥ 200 MB/s]`,
    );
    console.log(`bench: ${label(format)} peak RSS: ${mb(peakRss)} MB (${mb(rssBefore)} MB before the export)`);
  }
  // Reading one file: the regular file closest to 1 MB in the largest image's merged tree.
  const files = (await store.layerFiles(largest.Id, { merged: true })).filter((f) => f.type === "file");
  const pick = files.reduce((a, b) => (Math.abs(b.size - 1e6) < Math.abs(a.size - 1e6) ? b : a));
  // The first read builds the image's merged tree from its tar-splits; the next five find it cached.
  const times = [];
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    let n = 0;
    for await (const chunk of await store.readFile(largest.Id, pick.path)) n += chunk.length;
    times.push(performance.now() - t0);
    if (n !== pick.size) throw new Error(`readFile ${pick.path}: ${n} bytes, expected ${pick.size}`);
  }
  const first = times.shift();
  times.sort((a, b) => a - b);
  console.log(
    `bench: ${name} readFile node (${backend === "memory" ? "memory backend" : "fake-indexeddb"}): ` +
      `${times[2].toFixed(1)} ms median of 5 (first read, building the merged tree: ${first.toFixed(1)} ms) for a ${(pick.size / 1e6).toFixed(2)} MB file of a ${mb(largest.Size)} MB image ` +
      `[target ≤ 50 ms for 1 MB of a 500 MB image]`,
  );
} catch (e) {
  console.log(`bench: ${name} node (${backend}): failed: ${e.code ?? "error"}: ${e.message}`);
  process.exit(2);
}
