// Benchmark for issue #11 (run by scripts/bench.sh, not a test tier), in the page in headless
// Chromium with real IndexedDB:
//   - a 20-layer, 50,000-file image (examples/analysis_bench.rs make-image): efficiency and
//     layerChanges after a reload (the tar-splits read from IndexedDB, nothing cached) and warm,
//     and the inspect view's analysis panel until its layer tree shows (target ≤ 200 ms for the
//     analysis);
//   - the 10,000-image sample store: findFiles building the search index, then after a reload
//     from the persisted index, then warm (target ≤ 300 ms).
// Prints `bench: …` lines. Runs under `node --test` because the e2e harness it reuses closes its
// browser in a node:test `after` hook.
//
//   node --test scripts/bench-analysis.mjs        (BIG_IMAGE, SAMPLE_10K: the inputs in .bench/)
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { withPage } from "../tests/e2e/harness.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const BIG_IMAGE = process.env.BIG_IMAGE ?? `${ROOT}.bench/analysis-20x50k.tar`;
const SAMPLE_10K = process.env.SAMPLE_10K ?? `${ROOT}.bench/sample-10k.tar`;

/** Times `method(...args)` on the page's open store: [ms, result summary]. */
function timed(p, method, ...args) {
  return p.evaluate(async ({ method, args }) => {
    const { store } = await import("/js/store.js");
    const t0 = performance.now();
    const r = await store()[method](...args);
    return [performance.now() - t0, Array.isArray(r) ? r.length : Object.keys(r).length];
  }, { method, args });
}

const reload = async (p) => {
  await p.reload();
  await p.waitForSelector("body[data-ready=true]", { timeout: 10 * 60_000 });
};

test("a 20-layer, 50,000-file image: analysis and the page's layer tree", { timeout: 20 * 60_000 }, () => {
  assert.ok(existsSync(BIG_IMAGE), `${BIG_IMAGE} is missing (scripts/bench.sh makes it)`);
  return withPage(async (p) => {
    await p.waitForSelector("body[data-ready=true]");
    await p.setInputFiles("#file-input", BIG_IMAGE);
    await p.waitForSelector("#import-report:not([hidden])", { timeout: 10 * 60_000 });
    await reload(p);
    const image = "bench/big:latest";
    const [cold] = await timed(p, "efficiency", image);
    const [warm] = await timed(p, "efficiency", image);
    const [changesMs, layers] = await timed(p, "layerChanges", image);
    const entries = await p.evaluate(async () => {
      const { store } = await import("/js/store.js");
      return (await store().layerChanges("bench/big:latest")).reduce((n, l) => n + l.changes.length + l.unchangedEntries, 0);
    });
    console.log(`bench: analysis chromium: efficiency of a ${layers}-layer, ${entries}-entry image: ${Math.round(cold)} ms after a reload (tar-splits read from IndexedDB), ${Math.round(warm)} ms warm [target ≤ 200 ms]`);
    console.log(`bench: analysis chromium: layerChanges of the same image: ${Math.round(changesMs)} ms`);
    // The inspect view's analysis panel: badge, wasted list, largest files and the merged tree of the top layer.
    await reload(p);
    const id = await p.evaluate(async () => (await (await import("/js/store.js")).store().inspectImage("bench/big:latest")).Id);
    const panelMs = await p.evaluate(async (id) => {
      const t0 = performance.now();
      location.hash = `#/image/${id}`;
      await new Promise((resolve) => {
        const check = () => (document.querySelector("#file-tree li") ? resolve() : requestAnimationFrame(check));
        check();
      });
      return performance.now() - t0;
    }, id);
    const info = await p.textContent("#layer-info");
    // Filters over the whole tree must not stall the page either.
    const filterMs = await p.evaluate(async () => {
      const t0 = performance.now();
      document.querySelector("#only-changes").click();
      return performance.now() - t0;
    });
    console.log(`bench: page: analysis panel of that image until its layer tree shows: ${Math.round(panelMs)} ms (${info.split(";")[0]}); "only changes" over the tree: ${Math.round(filterMs)} ms`);
  }, { path: "/?sample=0" });
});

test("file search over the 10,000-image store", { timeout: 30 * 60_000 }, () => {
  assert.ok(existsSync(SAMPLE_10K), `${SAMPLE_10K} is missing (scripts/bench.sh makes it)`);
  return withPage(async (p) => {
    await p.waitForSelector("body[data-ready=true]");
    await p.setInputFiles("#file-input", SAMPLE_10K);
    await p.waitForSelector("#import-report:not([hidden])", { timeout: 20 * 60_000 });
    const [build, hits] = await timed(p, "findFiles", "**/*.pem");
    await reload(p);
    const [fromIndex, hits2] = await timed(p, "findFiles", "**/*.pem");
    assert.equal(hits2, hits);
    const [warm, hits3] = await timed(p, "findFiles", "passwd");
    const [glob] = await timed(p, "findFiles", "/usr/lib/**/*.so*", { change: "added" });
    const [largest] = await timed(p, "storeLargestFiles", { limit: 50 });
    console.log(`bench: analysis chromium: findFiles over 10,000 images, building the index: ${(build / 1000).toFixed(1)} s (${hits} hits)`);
    console.log(`bench: analysis chromium: findFiles over 10,000 images after a reload (persisted index): ${Math.round(fromIndex)} ms; then warm: ${Math.round(warm)} ms (basename, ${hits3} hits), ${Math.round(glob)} ms (glob) [target ≤ 300 ms]`);
    console.log(`bench: analysis chromium: storeLargestFiles over 10,000 images (warm): ${Math.round(largest)} ms`);
  }, { path: "/?sample=0" });
});
