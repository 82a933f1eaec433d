// The analysis views in headless Chromium on the basic fixture: the efficiency badge and
// wasted list of local/edge (dive: 12 bytes wasted, /etc/hello.txt and /app/built.txt), the
// layer explorer with its markers and filters, the compare form, the store-wide file search
// and the system df sizes (dockerd's LayersSize).
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

test("the store-wide search finds every layer that touched a file; sizes equal dockerd's", () =>
  page(async (p) => {
    await p.fill("#file-search", "built.txt");
    await p.press("#file-search", "Enter");
    await p.waitForSelector("#file-search-table");
    const rows = await p.$$eval("#file-search-table tbody tr", (trs) => trs.map((tr) => [tr.cells[1].textContent, tr.cells[2].textContent]));
    assert.ok(rows.some(([layer, change]) => layer === "4" && change === "added"), JSON.stringify(rows));
    assert.ok(rows.some(([layer, change]) => layer === "5" && change === "removed"), JSON.stringify(rows));
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
