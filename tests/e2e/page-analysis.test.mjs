// The analysis views in headless Chromium on the basic fixture: the efficiency badge and
// wasted list of local/edge (dive: 12 bytes wasted, /etc/hello.txt and /app/built.txt), the
// layer explorer with its markers and filters, the compare form, the store-wide file search
// and the system df sizes (dockerd's LayersSize); a containerd image's panel against dive's JSON.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { axeViolations, horizontalOverflow, withPage } from "./harness.mjs";
import { damageMember } from "../node/tar_fixture.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const STORE_TAR = `${ROOT}tests/fixtures/docker20/basic/image-store.tar`;
const EDGE = "sha256:4afb125595bdb8aeb09f6a50a766c3eaba26fae53f604d8d88c2010ea04ddb05";

const page = (fn) => withPage(async (p, base) => {
  await p.setViewportSize({ width: 1280, height: 800 });
  await p.waitForSelector("body[data-ready=true]");
  await p.setInputFiles("#file-input", STORE_TAR);
  await p.waitForSelector("#import-report:not([hidden])");
  await fn(p, base);
}, { path: "/?sample=0" });

test("inspect shows dive's efficiency, the wasted files, the layer explorer and compare", () =>
  page(async (p) => {
    await p.evaluate((id) => { location.hash = `#/image/${id}`; }, EDGE);
    await p.waitForSelector("#efficiency-badge");
    const badge = await p.textContent("#efficiency-badge");
    assert.match(badge, /Efficiency 100\.00 %/);
    assert.match(badge, /wasted 12B/);
    const wasted = await p.$$eval("#wasted-table tbody tr", (trs) => trs.map((tr) => tr.cells[2].textContent));
    assert.deepEqual(wasted, ["/etc/hello.txt", "/app/built.txt"]);
    // The top layer (COPY blob.bin) adds /data/blob.bin.
    await p.waitForSelector("#file-tree li");
    // Worked out in the panel's worker, on its own connection to the store: not on the page.
    assert.equal(await p.getAttribute("#layer-explorer", "data-computed-in"), "worker");
    assert.equal(await p.getAttribute('#file-tree li[data-path="/data/blob.bin"]', "data-change"), "added");
    // The rm layer: two removals, shown with the R marker.
    await p.selectOption("#layer-select", "4");
    await p.waitForSelector('#file-tree li[data-path="/etc/hello.txt"]');
    assert.equal(await p.getAttribute('#file-tree li[data-path="/etc/hello.txt"]', "data-change"), "removed");
    await p.check("#only-changes");
    const changed = await p.$$eval("#file-tree li", (lis) => lis.filter((li) => li.dataset.change).map((li) => li.dataset.path));
    assert.deepEqual(changed.sort(), ["/app/built.txt", "/etc/hello.txt"]);
    // Collapsing /etc hides what is below it (keyboard: the toggle is a button).
    await p.focus('#file-tree li[data-path="/etc"] button');
    await p.keyboard.press("Enter");
    assert.equal(await p.$('#file-tree li[data-path="/etc/hello.txt"]'), null);
    // The largest files: the image's merged filesystem, largest first (checked against the core).
    const largest = await p.$$eval("#largest-table tbody tr", (trs) => trs.map((tr) => [tr.cells[1].textContent, tr.cells[2].textContent]));
    const want = await p.evaluate(async (id) => {
      const { Store } = await import("imagestore");
      const s = await Store.open("imagestore-page");
      try {
        return (await s.largestFiles(id, { limit: 20 })).map((f) => [String(f.layer + 1), f.path]);
      } finally {
        s.close();
      }
    }, EDGE);
    assert.equal(largest.length, 20);
    assert.deepEqual(largest, want);
    assert.ok(largest.some(([layer, path]) => layer === "7" && path === "/data/blob.bin"), JSON.stringify(largest));
    // Compare against demo: four shared layers.
    await p.selectOption("#compare-with", { label: "local/demo:1.0" });
    await p.click("#compare-run");
    await p.waitForSelector("#compare-summary");
    assert.match(await p.textContent("#compare-summary"), /^4 shared layers; this image has \d+ added, \d+ modified and 2 removed files/);
  }));

test("where no worker can be started, the page works the analysis out itself: the same answers", () =>
  withPage(async (p) => {
    await p.waitForSelector("body[data-ready=true]");
    await p.addInitScript(() => { delete window.Worker; });
    await p.reload();
    await p.waitForSelector("body[data-ready=true]");
    await p.setInputFiles("#file-input", STORE_TAR);
    await p.waitForSelector("#import-report:not([hidden])");
    await p.evaluate((id) => { location.hash = `#/image/${id}`; }, EDGE);
    await p.waitForSelector('#file-tree li[data-path="/data/blob.bin"]');
    assert.equal(await p.getAttribute("#layer-explorer", "data-computed-in"), "page");
    assert.match(await p.textContent("#efficiency-badge"), /wasted 12B/);
    assert.equal(await p.getAttribute('#file-tree li[data-path="/data/blob.bin"]', "data-change"), "added");
    // The store-wide search too.
    await p.evaluate(() => { location.hash = "#/"; });
    await p.fill("#file-search", "built.txt");
    await p.press("#file-search", "Enter");
    await p.waitForSelector("#file-search-table");
    assert.equal(await p.getAttribute("#file-search-results", "data-computed-in"), "page");
    assert.match(await p.textContent("#file-search-results"), /^\d+ matches\./);
  }, { path: "/?sample=0" }));

test("an import has the worker bring the search index up to date in the background, before any search", () =>
  withPage(async (p) => {
    await p.waitForSelector("body[data-ready=true]");
    await p.setInputFiles("#file-input", STORE_TAR);
    await p.waitForSelector("#import-report:not([hidden])");
    // Nobody focused the search box: the update was started by the import.
    await p.waitForSelector("body[data-index-updates]");
    const again = await p.evaluate(async () => {
      const { store } = await import("/js/store.js");
      return store().updateSearchIndex();
    });
    assert.equal(again.added, 0, `the worker left layers to index: ${JSON.stringify(again)}`);
    assert.deepEqual(again.skipped, []);
    // The search answers from that index.
    await p.fill("#file-search", "built.txt");
    await p.press("#file-search", "Enter");
    await p.waitForSelector("#file-search-table");
    assert.equal(await p.getAttribute("#file-search-results", "data-computed-in"), "worker");
  }, { path: "/?sample=0" }));

test("the store-wide search finds every layer that touched a file; sizes equal dockerd's", () =>
  page(async (p) => {
    await p.fill("#file-search", "built.txt");
    await p.press("#file-search", "Enter");
    await p.waitForSelector("#file-search-table");
    const rows = await p.$$eval("#file-search-table tbody tr", (trs) => trs.map((tr) => [tr.cells[1].textContent, tr.cells[2].textContent]));
    assert.ok(rows.some(([layer, change]) => layer === "4" && change === "added"), JSON.stringify(rows));
    assert.ok(rows.some(([layer, change]) => layer === "5" && change === "removed"), JSON.stringify(rows));
    // Worked out in the analysis worker (focusing the box had it bring the index up to date),
    // and the same hits the page's own store finds.
    assert.equal(await p.getAttribute("#file-search-results", "data-computed-in"), "worker");
    const direct = await p.evaluate(async () => {
      const { store } = await import("/js/store.js");
      return (await store().findFiles("built.txt")).map((f) => [String(f.layer + 1), f.change]);
    });
    assert.deepEqual(rows, direct);
    assert.match(await p.textContent("#file-search-results"), new RegExp(`^${direct.length} matches\\.`));
    await p.click("#show-sizes");
    await p.waitForSelector("#sizes-table");
    assert.match(await p.textContent("#layers-size"), /\(3048694 bytes\)/);
    assert.equal(await p.$$eval("#sizes-table tbody tr", (trs) => trs.length), 7);
    // The store's largest files: each once, largest first, with the images that hold it.
    await p.click("#show-largest");
    await p.waitForSelector("#store-largest-table");
    const rows2 = await p.$$eval("#store-largest-table tbody tr", (trs) => trs.map((tr) => [tr.cells[1].textContent, tr.cells[2].textContent]));
    assert.ok(rows2.some(([path, owners]) => path === "/data/blob.bin" && /^127\.0\.0\.1:5000\/team\/edge:v2, [0-9a-f]{12}/.test(owners)), JSON.stringify(rows2));
    assert.ok(rows2.length > 20, `${rows2.length} rows`);
  }));

test("a containerd image's files are found by the search, and link to its containerd view", () =>
  withPage(async (p) => {
    await p.setViewportSize({ width: 1280, height: 800 });
    await p.waitForSelector("body[data-ready=true]");
    await p.setInputFiles("#file-input", `${ROOT}tests/fixtures/docker20/basic/oci-archive.tar`);
    await p.waitForSelector("#import-report:not([hidden])");
    await p.evaluate(() => { location.hash = "#/"; });
    await p.waitForSelector("#file-search");
    await p.fill("#file-search", "/data/blob.bin");
    await p.press("#file-search", "Enter");
    await p.waitForSelector("#file-search-table");
    const link = await p.$eval("#file-search-table tbody tr td a", (a) => [a.textContent, a.getAttribute("href")]);
    assert.match(link[0], /^default: /);
    assert.match(link[1], /^#\/containerd\/default\/image\//);
  }, { path: "/?sample=0" }));

test("a store with a damaged tar-split: the search names the layer it skipped and finds the rest", () =>
  withPage(async (p) => {
    // edge's top layer (COPY blob.bin): its tar-split damaged in the middle.
    const chain = "sha256:8d851c0513d4c5b71eb620c4136f6ae99da5c520484abd95bbe96c29a245c13e";
    const file = `${mkdtempSync(`${tmpdir()}/damaged-`)}/image-store.tar`;
    writeFileSync(file, damageMember(readFileSync(STORE_TAR), `${chain.slice(7)}/tar-split.json.gz`));
    await p.setViewportSize({ width: 390, height: 844 });
    await p.waitForSelector("body[data-ready=true]");
    await p.setInputFiles("#file-input", file);
    await p.waitForSelector("#import-report:not([hidden])");
    await p.evaluate(() => { location.hash = "#/"; });
    await p.waitForSelector("#file-search");
    await p.fill("#file-search", "built.txt");
    await p.press("#file-search", "Enter");
    await p.waitForSelector("#search-skipped");
    const note = await p.textContent("#search-skipped");
    assert.match(note, /1 layer was not searched/);
    assert.match(note, /tar-split/);
    // The other layers are still searched.
    const rows = await p.$$eval("#file-search-table tbody tr", (trs) => trs.map((tr) => tr.cells[4].textContent));
    assert.ok(rows.length > 0 && rows.every((path) => path === "/app/built.txt"), JSON.stringify(rows));
    assert.deepEqual(await axeViolations(p), []);
    assert.equal((await horizontalOverflow(p)).over, 0);
  }, { path: "/?sample=0" }));

/** dive 0.13.1's `--json` answer for a basic image (tests/fixtures/docker20/basic/expected/dive/). */
const dive = (name) => JSON.parse(readFileSync(`${ROOT}tests/fixtures/docker20/basic/expected/dive/${name}.json`, "utf8"));

/** A path as dive lists a layer's entry: relative, a removal as its `.wh.` marker. */
function diveEntry({ path, change }) {
  const rel = path.slice(1);
  if (change !== "removed") return rel;
  const cut = rel.lastIndexOf("/");
  return `${rel.slice(0, cut + 1)}.wh.${rel.slice(cut + 1)}`;
}

/** Presses Tab until `selector` has focus (at most `max` times): it is reachable by keyboard. */
async function tabTo(p, selector, max = 200) {
  for (let i = 0; i < max; i++) {
    if (await p.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector)) return i;
    await p.keyboard.press("Tab");
  }
  throw new Error(`${selector} was not reached with ${max} Tab presses`);
}

test("a containerd image's analysis panel: dive's numbers, every layer's changes, by keyboard, axe", () =>
  withPage(async (p) => {
    await p.setViewportSize({ width: 1280, height: 800 });
    await p.waitForSelector("body[data-ready=true]");
    // A real containerd 1.6 root: its images have no Docker view, so every layer is read from its blob.
    await p.setInputFiles("#file-input", `${ROOT}tests/fixtures/docker20/basic/containerd-root.tar`);
    await p.waitForSelector("#import-report:not([hidden])");
    await p.evaluate(() => { location.hash = `#/containerd/default/image/${encodeURIComponent("docker.io/local/edge:latest")}`; });
    await p.waitForSelector("#ctr-image-view #efficiency-badge");
    const want = dive("local_edge_latest");
    const badge = await p.$eval("#efficiency-badge", (el) => ({ ...el.dataset }));
    assert.equal(Number(badge.score), want.image.efficiencyScore);
    assert.equal(Number(badge.inefficientBytes), want.image.inefficientBytes);
    assert.equal(Number(badge.sizeBytes), want.image.sizeBytes);
    const wasted = await p.$$eval("#wasted-table tbody tr", (trs) => trs.map((tr) => ({ count: Number(tr.cells[0].textContent), sizeBytes: Number(tr.dataset.sizeBytes), file: tr.cells[2].textContent })));
    assert.deepEqual(wasted, want.image.fileReference.map((f) => ({ count: f.count, sizeBytes: f.sizeBytes, file: f.file })));
    const options = await p.$$eval("#layer-select option", (os) => os.map((o) => ({ sizeBytes: Number(o.dataset.sizeBytes), text: o.textContent })));
    assert.deepEqual(options.map((o) => o.sizeBytes), want.layer.map((l) => l.sizeBytes));
    options.forEach((o, i) => assert.ok(o.text.endsWith(want.layer[i].command.slice(0, 80)), `${o.text} | ${want.layer[i].command}`));

    // By keyboard: Tab from the title reaches the layer picker; the arrow keys walk the layers down
    // from the top one, and each layer's marked changes are the entries dive lists for it.
    await p.waitForSelector('#layer-explorer[data-layer="6"]');
    assert.equal(await p.getAttribute("#layer-explorer", "data-computed-in"), "worker");
    await p.focus("#ctr-image-title");
    await tabTo(p, "#layer-select");
    for (let i = want.layer.length - 1; i >= 0; i--) {
      if (i < want.layer.length - 1) await p.keyboard.press("ArrowUp");
      await p.waitForSelector(`#layer-explorer[data-layer="${i}"]`);
      const changes = await p.$$eval("#file-tree li", (lis) => lis.filter((li) => li.dataset.change).map((li) => ({ path: li.dataset.path, change: li.dataset.change, dir: li.dataset.type === "dir" })));
      const listed = want.layer[i].fileList;
      const files = (list) => [...new Set(list)].sort();
      assert.deepEqual(files(changes.filter((c) => !c.dir).map(diveEntry)), files(listed.filter((f) => !f.isDir).map((f) => f.path)), `layer ${i}`);
      for (const c of changes.filter((c) => c.dir)) assert.ok(listed.some((f) => f.isDir && f.path === diveEntry(c)), `layer ${i}: ${c.path}`);
    }
    assert.equal(await p.evaluate(() => document.activeElement.id), "layer-select");
    // The rm layer (index 4): "only changes" with the space bar, then /etc collapsed with Enter.
    await p.keyboard.press("ArrowDown");
    await p.keyboard.press("ArrowDown");
    await p.keyboard.press("ArrowDown");
    await p.keyboard.press("ArrowDown");
    await p.waitForSelector('#layer-explorer[data-layer="4"]');
    await tabTo(p, "#only-changes");
    await p.keyboard.press("Space");
    assert.equal(await p.isChecked("#only-changes"), true);
    const shown = await p.$$eval("#file-tree li", (lis) => lis.map((li) => li.dataset.path));
    assert.deepEqual(shown, ["/app", "/app/built.txt", "/etc", "/etc/hello.txt"]);
    await tabTo(p, '#file-tree li[data-path="/etc"] button');
    await p.keyboard.press("Enter");
    assert.equal(await p.$('#file-tree li[data-path="/etc/hello.txt"]'), null);
    // Compare with local/demo:1.0 of the same namespace: the four layers they share.
    await tabTo(p, "#compare-with");
    await p.selectOption("#compare-with", { label: "default: docker.io/local/demo:1.0" });
    await tabTo(p, "#compare-run");
    await p.keyboard.press("Enter");
    await p.waitForSelector("#compare-summary");
    assert.match(await p.textContent("#compare-summary"), /^4 shared layers; this image has \d+ added, \d+ modified and 2 removed files/);
    assert.match(await p.textContent("#explorer-no-contents"), /containerd image/);
    assert.deepEqual(await axeViolations(p), []);
    // The largest files are the core's for the containerd image, each with the layer that wrote it.
    const largest = await p.$$eval("#largest-table tbody tr", (trs) => trs.map((tr) => [tr.cells[1].textContent, tr.cells[2].textContent]));
    const wantLargest = await p.evaluate(async () => {
      const { store } = await import("/js/store.js");
      return (await store().largestFiles({ namespace: "default", name: "docker.io/local/edge:latest" }, { limit: 20 })).map((f) => [String(f.layer + 1), f.path]);
    });
    assert.equal(largest.length, 20);
    assert.deepEqual(largest, wantLargest);
    assert.ok(largest.some(([layer, path]) => layer === "7" && path === "/data/blob.bin"), JSON.stringify(largest));

    // A second image: local/demo:1.0's numbers are dive's too.
    await p.evaluate(() => { location.hash = `#/containerd/default/image/${encodeURIComponent("docker.io/local/demo:1.0")}`; });
    await p.waitForFunction(() => document.querySelector("#ctr-image-title")?.textContent === "docker.io/local/demo:1.0" && document.querySelector("#efficiency-badge"));
    const demo = dive("local_demo_1.0");
    const b2 = await p.$eval("#efficiency-badge", (el) => ({ ...el.dataset }));
    assert.deepEqual([Number(b2.score), Number(b2.inefficientBytes), Number(b2.sizeBytes)], [demo.image.efficiencyScore, demo.image.inefficientBytes, demo.image.sizeBytes]);
    assert.equal(await p.$("#wasted-table"), null);
    // On a phone the panel scrolls down, never sideways.
    await p.setViewportSize({ width: 390, height: 844 });
    const overflow = await horizontalOverflow(p);
    assert.equal(overflow.over, 0, overflow.culprits.join("; "));
  }, { path: "/?sample=0" }));
