// Import throughput of the built package (pkg/web) in headless Chromium, into real IndexedDB,
// run by scripts/bench.sh:
//
//   node scripts/bench-browser.mjs FILE NAME [export]
//
// With `export`, a file of about 1 MB of the largest image imported is read (first read, later
// reads, and the first read in stores opened afresh), then that image is saved as `docker save`
// and as an OCI layout from IndexedDB, the stream read to its end and dropped: MB/s and the JS
// heap peak.
//
// scripts/serve.mjs serves pkg/ and the input's folder; the page fetches the input as a Blob
// (Chromium keeps large Blobs outside the renderer's heap) and `store.import`s it. Memory:
// performance.memory's JS heap (peak sampled every 10 ms) and the wasm memory at the end.
import { openBenchPage } from "./bench-chromium.mjs";

const [file, name, mode] = process.argv.slice(2);
if (!file || !name) {
  console.error("usage: node scripts/bench-browser.mjs FILE NAME");
  process.exit(64);
}
const { page, inputUrl, close } = await openBenchPage(file, { preciseMemory: true });
const label = `${name} chromium (IndexedDB)`;
let failed = false;
try {
  const result = await page.evaluate(async ({ url, exportToo }) => {
    const { Store } = await import("/pkg/web/index.js");
    const init = (await import("/pkg/web/imagestore.js")).default;
    const wasm = await init(); // already initialised: returns the instance's exports
    const blob = await (await fetch(url)).blob();
    const heap = () => performance.memory?.usedJSHeapSize ?? 0;
    let peakHeap = heap();
    const sampler = setInterval(() => { peakHeap = Math.max(peakHeap, heap()); }, 10);
    const storeName = `bench-${Date.now()}`;
    const store = await Store.open(storeName);
    const start = performance.now();
    try {
      const report = await store.import(blob, { onProgress: () => { peakHeap = Math.max(peakHeap, heap()); } });
      const secs = (performance.now() - start) / 1000;
      const exports = [];
      let readFile = null;
      if (exportToo) {
        const images = await store.listImages({ all: true });
        const largest = images.reduce((a, b) => (b.Size > a.Size ? b : a));
        // readFile first, on its own (not right after the exports' 1 GB of reads): the regular
        // file closest to 1 MB; the first read (merged tree built from the entries records the
        // import wrote) and the median of the next five (tree cached).
        const files = (await store.layerFiles(largest.Id, { merged: true })).filter((f) => f.type === "file");
        const pick = files.reduce((a, b) => (Math.abs(b.size - 1e6) < Math.abs(a.size - 1e6) ? b : a));
        const times = [];
        for (let i = 0; i < 6; i++) {
          const t0 = performance.now();
          const got = await new Response(await store.readFile(largest.Id, pick.path)).arrayBuffer();
          times.push(performance.now() - t0);
          if (got.byteLength !== pick.size) throw new Error(`readFile ${pick.path}: ${got.byteLength} bytes`);
        }
        const warm = times.slice(1).sort((a, b) => a - b)[2];
        // The first read after a page reload: a store opened afresh on the same database has
        // no cached trees or entries; its merged tree comes from the persisted entries records.
        // Three stores opened one after another: each figure, in order.
        const afterReload = [];
        for (let i = 0; i < 3; i++) {
          const reopened = await Store.open(storeName);
          const t0 = performance.now();
          const again = await new Response(await reopened.readFile(largest.Id, pick.path)).arrayBuffer();
          afterReload.push(performance.now() - t0);
          reopened.close();
          if (again.byteLength !== pick.size) throw new Error(`readFile after reopen: ${again.byteLength} bytes`);
        }
        readFile = { first: times[0], warm, afterReload, size: pick.size, imageSize: largest.Size };
        for (const format of ["docker", "oci"]) {
          peakHeap = heap();
          const t0 = performance.now();
          let bytes = 0;
          const reader = (await store.save([largest.Id], { format })).getReader();
          for (let r = await reader.read(); !r.done; r = await reader.read()) {
            bytes += r.value.length;
            peakHeap = Math.max(peakHeap, heap());
          }
          exports.push({ format, bytes, secs: (performance.now() - t0) / 1000, peakHeap, imageSize: largest.Size });
        }
      }
      return { ok: true, secs, size: blob.size, report, peakHeap, wasmMemory: wasm.memory.buffer.byteLength, exports, readFile };
    } catch (e) {
      return { ok: false, code: e.code ?? "error", message: String(e.message ?? e) };
    } finally {
      clearInterval(sampler);
    }
  }, { url: inputUrl, exportToo: mode === "export" });
  if (result.ok) {
    const { secs, size, report } = result;
    const mb = (bytes) => (bytes / 1e6).toFixed(0);
    console.log(
      `bench: ${label}: ${mb(size / secs)} MB/s (${(size / 1e6).toFixed(1)} MB in ${secs.toFixed(2)} s; ` +
        `${report.images} images, ${report.layers} layers, ${report.blobs} blobs, format ${report.format})`,
    );
    console.log(`bench: ${label} memory: JS heap peak ${mb(result.peakHeap)} MB, wasm memory ${mb(result.wasmMemory)} MB`);
    for (const x of result.exports) {
      console.log(
        `bench: export ${x.format} chromium (IndexedDB): ${mb(x.bytes / x.secs)} MB/s (${(x.bytes / 1e6).toFixed(1)} MB ` +
          `archive of a ${mb(x.imageSize)} MB image in ${x.secs.toFixed(2)} s; JS heap peak ${mb(x.peakHeap)} MB) ` +
          `[target ≥ 100 MB/s]`,
      );
    }
    if (result.readFile) {
      const r = result.readFile;
      console.log(
        `bench: export readFile chromium (IndexedDB): ${r.warm.toFixed(1)} ms median of 5 (first read, building ` +
          `the merged tree: ${r.first.toFixed(1)} ms; first read in a store opened afresh, as after a page ` +
          `reload, three stores opened in turn: ${r.afterReload.map((t) => t.toFixed(1)).join(", ")} ms) for a ` +
          `${(r.size / 1e6).toFixed(2)} MB file of a ` +
          `${mb(r.imageSize)} MB image [target ≤ 50 ms for 1 MB of a 500 MB image]`,
      );
    }
  } else {
    console.log(`bench: ${label}: failed: ${result.code}: ${result.message}`);
    failed = true;
  }
} finally {
  await close();
}
process.exit(failed ? 2 : 0);
