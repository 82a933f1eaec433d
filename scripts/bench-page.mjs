// Benchmark (run by scripts/bench.sh, not a test tier): the page with a 10,000-image store made by
// the sample generator into .bench/. It checks the list pages its rows, and prints how long the
// import, a filter keystroke and a sort take as `bench:` lines. It runs under `node --test` only
// because the e2e harness it reuses closes its browser in a node:test `after` hook.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { withPage } from "../tests/e2e/harness.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const BIG = `${ROOT}.bench/sample-10k.tar`;

// A first visit: the page imports its sample store (30 images) by itself, then the visitor's
// upload replaces it. The store's part (`store.import`, the page's `import:store` measure) is
// issue #12's scale200 figure as the page's visitors meet it: the import's code has run once,
// for the sample.
test("scale200 uploaded on a first visit", { timeout: 5 * 60_000 }, () =>
  withPage(async (p) => {
    await p.waitForSelector("body[data-ready=true]");
    await p.waitForFunction(() => Number(document.body.dataset.imports ?? 0) >= 1, null, { timeout: 60_000 });
    const t0 = Date.now();
    await p.setInputFiles("#file-input", `${ROOT}tests/fixtures/docker20/scale200/image-store.tar`);
    await p.waitForFunction(() => Number(document.body.dataset.imports) >= 2, null, { timeout: 60_000 });
    const total = Date.now() - t0;
    assert.match(await p.textContent("#list-count"), /^\d+ images?/);
    const storeMs = await p.evaluate(() => performance.getEntriesByName("import:store").at(-1).duration);
    console.log(`bench: page: scale200 (601 images) uploaded on a first visit, after the sample store: store.import ${(storeMs / 1000).toFixed(2)} s [target ≤ 0.15 s], until the page shows the report and the new list ${(total / 1000).toFixed(2)} s`);
  }));

test("10,000 images in the page", { timeout: 15 * 60_000 }, () => {
  if (!existsSync(BIG)) {
    execFileSync("bash", ["scripts/sample.sh"], { cwd: ROOT, stdio: "inherit", env: { ...process.env, IMAGES: "10000", SCALE: "10", OUT: BIG } });
  }
  return withPage(async (p) => {
    await p.waitForSelector("body[data-ready=true]");
    const t0 = Date.now();
    await p.setInputFiles("#file-input", BIG);
    await p.waitForSelector("#import-report:not([hidden])", { timeout: 10 * 60_000 });
    // The page's steps (www/js/import.js): the sample store cleared, store.import, the lists
    // before and after compared for the report.
    const [reportedMs, beforeMs, storeMs, compareMs] = await p.evaluate(() =>
      ["import:reported", "import:before", "import:store", "import:compare"].map((m) => performance.getEntriesByName(m).at(-1).duration));
    const s = (ms) => (ms / 1000).toFixed(2);
    console.log(`bench: page: import of a 10,000-image store (73 MB): ${((Date.now() - t0) / 1000).toFixed(1)} s from choosing the file; ${s(reportedMs)} s from the page's start of the import to its report (the sample store cleared ${s(beforeMs)} s, store.import ${s(storeMs)} s, the report's comparison ${s(compareMs)} s)`);
    await p.click("#show-all");
    await p.waitForFunction(() => document.querySelector("#images").dataset.query === JSON.stringify([true, ""]));
    const rows = await p.$$eval("#images tbody tr", (trs) => trs.length);
    assert.ok(rows <= 200, `renders one page of rows, not all (${rows})`);
    assert.match(await p.textContent("#list-count"), /^10000 images/);
    // A keystroke that only narrows by text must not ask the store again nor stall the page.
    // Five in a row (narrowing, another word, clearing the box, widening, narrowing again), each
    // timed from the input event until the table shows its rows (the list's `data-query` says so)
    // and until the frame after that is done (an animation frame, then the task after it).
    const keys = [];
    for (const word of ["api", "web", "", "e", "api"]) {
      keys.push(await p.evaluate(async (word) => {
        const input = document.querySelector("#filter");
        const table = document.querySelector("#images");
        const want = JSON.stringify([true, word]);
        const t0 = performance.now();
        input.value = word;
        input.dispatchEvent(new Event("input"));
        await new Promise((resolve) => {
          const obs = new MutationObserver(() => {
            if (table.dataset.query === want) { obs.disconnect(); resolve(); }
          });
          obs.observe(table, { attributes: true });
        });
        const t1 = performance.now();
        // The frame starts at the display's next beat (the wait is no work of the page's), then
        // styles, lays out and paints what the update changed.
        let frameStart = 0;
        await new Promise((resolve) => requestAnimationFrame(() => { frameStart = performance.now(); setTimeout(resolve, 0); }));
        const t2 = performance.now();
        const mark = (name) => performance.getEntriesByName(name).at(-1)?.startTime;
        const rows = table.tBodies[0].rows.length;
        return { word, shown: t1 - t0, framed: t2 - t0, frameWait: frameStart - t1, rendering: t2 - frameStart,
          update: mark("list:updated") - mark("list:update"), rows };
      }, word));
      await p.waitForTimeout(300);
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    for (const k of keys) {
      console.log(`bench: page: keystroke ${JSON.stringify(k.word)} (${k.rows} rows laid out in its frame): ${Math.round(k.shown)} ms until shown (the update after the 200 ms debounce ${k.update.toFixed(1)} ms), ${Math.round(k.framed)} ms until its frame is done (${k.frameWait.toFixed(1)} ms waiting for the frame to start, ${k.rendering.toFixed(1)} ms rendering it)`);
    }
    console.log(`bench: page: a filter keystroke over 10,000 images: ${Math.round(keys[0].shown)} ms, median of 5 ${Math.round(median(keys.map((k) => k.shown)))} ms (200 ms of it the debounce; the update after it: median ${median(keys.map((k) => k.update)).toFixed(1)} ms; until its frame is done: median ${Math.round(median(keys.map((k) => k.framed)))} ms, of which the frame's rendering median ${median(keys.map((k) => k.rendering)).toFixed(1)} ms) [target ≤ 216 ms]`);
    await p.fill("#filter", "");
    await p.waitForFunction(() => document.querySelector("#images").dataset.query === JSON.stringify([true, ""]));
    const sortMs = await p.evaluate(async () => {
      const t0 = performance.now();
      document.querySelector('#images th[data-key="size"] button').click();
      return performance.now() - t0;
    });
    console.log(`bench: page: sorting 10,000 images by size: ${Math.round(sortMs)} ms`);
    // A reload: the wasm starts again and reopens the 10,000-image store from IndexedDB. The
    // times are taken in the page: when the frame that shows the first row is painted (Element
    // Timing's renderTime of the first row's cells, marked before that frame), and, as session 7
    // took it, when that frame starts (the animation frame after the first row is in the table,
    // before the frame's style, layout and paint). Asking from here instead waits for the page's
    // main thread, which the store's opening keeps busy after the rows are painted.
    await p.addInitScript(() => {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          if (e.identifier === "first-row") window.__firstRowsPaintMs = Math.min(window.__firstRowsPaintMs ?? Infinity, e.renderTime || e.loadTime);
        }
      }).observe({ type: "element", buffered: true });
      const seen = new MutationObserver(() => {
        const tr = document.querySelector("#images tbody tr");
        if (!tr) return;
        seen.disconnect();
        for (const el of tr.querySelectorAll("td, td a")) el.setAttribute("elementtiming", "first-row");
        requestAnimationFrame(() => { window.__firstRowsMs = performance.now(); });
      });
      seen.observe(document, { childList: true, subtree: true });
    });
    await p.reload();
    await p.waitForFunction(() => window.__firstRowsMs !== undefined && window.__firstRowsPaintMs !== undefined, null, { timeout: 5 * 60_000 });
    const [firstRowsMs, firstRowsPaintMs] = await p.evaluate(() => [window.__firstRowsMs, window.__firstRowsPaintMs]);
    const openedMs = await p.evaluate(async () => {
      while (document.body.dataset.ready !== "true") await new Promise((resolve) => setTimeout(resolve, 5));
      return performance.now();
    });
    console.log(`bench: page: first rows on screen after a reload of the 10,000-image store: ${Math.round(firstRowsPaintMs)} ms painted (the frame showing them began at ${Math.round(firstRowsMs)} ms) [target ≤ 500 ms]`);
    // Where they spent it (ms from the reload's start): the page's own fetch, the wasm's fetch
    // (a 304 when it did not change), main() (every module loaded, the wasm compiled and
    // started), the saved answer read, its rows made, the first 200 rendered.
    const split = await p.evaluate(() => {
      const at = (t) => (t === undefined ? "—" : Math.round(t));
      const res = (part) => performance.getEntriesByType("resource").find((e) => e.name.includes(part));
      const mark = (name) => performance.getEntriesByName(name)[0]?.startTime;
      const wasm = res("imagestore_bg.wasm");
      return [
        `document ${at(performance.getEntriesByType("navigation")[0]?.responseEnd)}`,
        `wasm ${at(wasm?.responseEnd)} (${wasm?.transferSize ?? "?"} bytes over the wire)`,
        `main() ${at(mark("page:main"))}`,
        `saved answer ${at(mark("list:saved-answer"))}`,
        `rows ${at(mark("list:saved-rows"))}`,
        `rendered ${at(mark("list:saved-shown"))}`,
      ].join(", ");
    });
    console.log(`bench: page: where the first rows' time went: ${split}`);
    console.log(`bench: page: the page ready (store open, its own list shown) after that reload: ${Math.round(openedMs)} ms`);
  }, { path: "/?sample=0" });
});
