// Store-size figures of the built package (pkg/web) in headless Chromium with real IndexedDB, run
// by scripts/bench.sh (issue #12's targets):
//
//   node scripts/bench-store.mjs FILE NAME [IMPORT_TARGET_S REOPEN_TARGET_S LIST_TARGET_MS]
//
// Imports FILE into a fresh IndexedDB store, closes it, reloads the page (a new JS realm: the
// wasm is instantiated again, nothing is cached in memory) and times `Store.open` of the same
// database (the reopen), then `listImages({all: true})`: the first call after the open, and a
// repeated call (median of 5; the store remembers its answer while nothing changes), and the
// peak wasm memory while reopening; then, after seven more reloads, the first list call again
// (now with the list's code in Chromium's code cache; the median) and a second import into a
// new database (a returning visitor's, see below). Prints `bench: NAME chromium (IndexedDB) ...`
// lines.
import { openBenchPage } from "./bench-chromium.mjs";

const [file, name, importTarget, reopenTarget, listTarget] = process.argv.slice(2);
const target = (t, unit) => (t ? ` [target ≤ ${t} ${unit}]` : "");
if (!file || !name) {
  console.error("usage: node scripts/bench-store.mjs FILE NAME");
  process.exit(64);
}
const { page, inputUrl, close } = await openBenchPage(file);
const label = `${name} chromium (IndexedDB)`;
const db = `bench-store-${Date.now()}`;
let failed = false;
try {
  const imported = await page.evaluate(async ({ url, db }) => {
    const { Store } = await import("/pkg/web/index.js");
    const blob = await (await fetch(url)).blob();
    const store = await Store.open(db);
    const start = performance.now();
    try {
      const report = await store.import(blob);
      return { ok: true, secs: (performance.now() - start) / 1000, size: blob.size, images: report.images };
    } catch (e) {
      return { ok: false, why: `${e.code ?? "error"}: ${e.message ?? e}` };
    } finally {
      store.close();
    }
  }, { url: inputUrl, db });
  if (!imported.ok) throw new Error(`import failed: ${imported.why}`);
  console.log(`bench: ${label}: import: ${imported.secs.toFixed(2)} s (${(imported.size / 1e6).toFixed(1)} MB, ${imported.images} images)${target(importTarget, "s")}`);

  await page.reload();
  const reopened = await page.evaluate(async (db) => {
    const { Store } = await import("/pkg/web/index.js");
    const wasm = await (await import("/pkg/web/imagestore.js")).default();
    const memoryBefore = wasm.memory.buffer.byteLength;
    const start = performance.now();
    const store = await Store.open(db);
    const openMs = performance.now() - start;
    const memoryAfterOpen = wasm.memory.buffer.byteLength;
    const times = [];
    let count = 0;
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      count = (await store.listImages({ all: true })).length;
      times.push(performance.now() - t0);
    }
    const firstListMs = times[0];
    const listMs = times.slice(1).sort((a, b) => a - b)[2];
    store.close();
    return { openMs, firstListMs, listMs, count, memoryBefore, memoryAfterOpen };
  }, db);
  const mb = (b) => (b / 1e6).toFixed(0);
  console.log(`bench: ${label}: reopen (page reload, Store.open): ${(reopened.openMs / 1000).toFixed(3)} s${target(reopenTarget, "s")}`);
  console.log(`bench: ${label}: listImages({all:true}), repeated: ${reopened.listMs.toFixed(1)} ms (${reopened.count} images, median of 5)${target(listTarget, "ms")}`);
  console.log(`bench: ${label}: listImages({all:true}), first call after the reopen: ${reopened.firstListMs.toFixed(1)} ms`);
  console.log(`bench: ${label}: peak wasm memory by the end of the reopen: ${mb(reopened.memoryAfterOpen)} MB (${mb(reopened.memoryBefore)} MB before)`);

  // A returning visitor: V8 first runs a new wasm module's functions in its baseline tier
  // (Liftoff) and optimises the hot ones while they run; Chromium keeps the optimised code in
  // its code cache, so after a reload the same import starts from it. The first import above is
  // a first visit's; this one, into a new database after the reloads, a returning visitor's.
  await page.reload();
  // The list's code ran in the page before this reload, as it does for anyone who has seen the
  // page's list: Chromium's code cache now holds it optimised. One call varies by a third from
  // reload to reload (IndexedDB, GC): the median of seven reloads is printed, with the range.
  const warm = [];
  for (let i = 0; i < 7; i++) {
    if (i > 0) await page.reload();
    warm.push(await page.evaluate(async ({ db, save }) => {
      const { Store } = await import("/pkg/web/index.js");
      const store = await Store.open(db);
      const t0 = performance.now();
      await store.listImages({ all: true });
      const ms = performance.now() - t0;
      // The page saves the unfiltered list's answer after listing (see below).
      if (save) await store.saveListAnswer({ all: true });
      store.close();
      return ms;
    }, { db, save: i === 6 }));
  }
  warm.sort((a, b) => a - b);
  console.log(`bench: ${label}: listImages({all:true}), first call after a reopen, the list's code optimised (listed before the reload): ${warm[3].toFixed(1)} ms (median of 7 reloads, ${warm[0].toFixed(1)}–${warm[6].toFixed(1)} ms)`);
  // What the page does after every unfiltered list: `saveListAnswer`. A store opened on the
  // state it lists reads the saved answer while it opens and takes it for its first list.
  const saved = [];
  for (let i = 0; i < 7; i++) {
    await page.reload();
    saved.push(await page.evaluate(async ({ db, last }) => {
      const { Store } = await import("/pkg/web/index.js");
      const wasm = await (await import("/pkg/web/imagestore.js")).default();
      const t0 = performance.now();
      const store = await Store.open(db);
      const t1 = performance.now();
      await store.listImages({ all: true });
      const t2 = performance.now();
      store.close();
      if (last) await Store.destroy(db);
      return { open: t1 - t0, list: t2 - t1, memory: wasm.memory.buffer.byteLength };
    }, { db, last: i === 6 }));
  }
  const median = (xs) => xs.sort((a, b) => a - b)[3];
  const lists = saved.map((s) => s.list).sort((a, b) => a - b);
  console.log(`bench: ${label}: listImages({all:true}), first call after a reopen, the answer saved (saveListAnswer, as the page does): ${median(saved.map((s) => s.list)).toFixed(1)} ms (median of 7 reloads, ${lists[0].toFixed(1)}–${lists[6].toFixed(1)} ms)${target(listTarget, "ms")}`);
  console.log(`bench: ${label}: reopen with the answer saved (Store.open, median of the same 7): ${(median(saved.map((s) => s.open)) / 1000).toFixed(3)} s${target(reopenTarget, "s")}`);
  console.log(`bench: ${label}: peak wasm memory by the end of that list: ${mb(Math.max(...saved.map((s) => s.memory)))} MB (the most of the 7)`);
  const again = await page.evaluate(async ({ url, db }) => {
    const { Store } = await import("/pkg/web/index.js");
    const blob = await (await fetch(url)).blob();
    const store = await Store.open(db);
    const start = performance.now();
    try {
      await store.import(blob);
      return { ok: true, secs: (performance.now() - start) / 1000 };
    } catch (e) {
      return { ok: false, why: `${e.code ?? "error"}: ${e.message ?? e}` };
    } finally {
      store.close();
      await Store.destroy(db);
    }
  }, { url: inputUrl, db: `${db}-again` });
  if (!again.ok) throw new Error(`import after a reload failed: ${again.why}`);
  console.log(`bench: ${label}: import after a reload (a returning visitor: the optimised wasm from Chromium's code cache): ${again.secs.toFixed(2)} s${target(importTarget, "s")}`);
} catch (e) {
  console.log(`bench: ${label}: failed: ${e.message}`);
  failed = true;
} finally {
  await close();
}
process.exit(failed ? 2 : 0);
