// The web page in headless Chromium against the real Docker 20.10 fixture (docker20/basic):
// import by file input and by drop, the list vs dockerd's answers (tags, -a, filters,
// partial-ID search), inspect, delete, reload, cancel, a bad file; screenshots for the README.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { withPage } from "./harness.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BASIC = `${ROOT}tests/fixtures/docker20/basic/`;
const STORE_TAR = `${BASIC}image-store.tar`;
const EXPECTED = `${BASIC}expected/`;
// The README's pictures are refreshed only on request (UPDATE_SCREENSHOTS=1), so a test run
// leaves the work tree clean.
const DOCS_SHOTS = process.env.UPDATE_SCREENSHOTS === "1" ? `${ROOT}docs/screenshots/` : `${ROOT}tests/e2e/screenshots/tmp/`;
const EDGE = "sha256:4afb125595bdb8aeb09f6a50a766c3eaba26fae53f604d8d88c2010ea04ddb05";

const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));
const readJsonl = (path) => readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l));
const short = (id) => id.replace(/^sha256:/, "").slice(0, 12);

/** The page without the automatic sample import, at a laptop-sized viewport. */
const page = (fn) => withPage(async (p, base) => {
  await p.setViewportSize({ width: 1280, height: 800 });
  await p.waitForSelector("body[data-ready=true]");
  await fn(p, base);
}, { path: "/?sample=0" });

async function importByInput(p, file = STORE_TAR) {
  const before = await updates(p);
  await p.setInputFiles("#file-input", file);
  await p.waitForSelector("#import-report:not([hidden])");
  await waitUpdates(p, before);
}

const updates = (p) => p.$eval("#images", (t) => Number(t.dataset.updates ?? 0));
const waitUpdates = (p, before) =>
  p.waitForFunction((n) => Number(document.querySelector("#images").dataset.updates ?? 0) > n, before);

/** Types into the filter box (and sets -a) and waits until the table shows that query. */
async function query(p, text, all) {
  if ((await p.isChecked("#show-all")) !== all) await p.click("#show-all");
  await p.fill("#filter", text);
  await p.waitForFunction(
    (want) => document.querySelector("#images").dataset.query === want,
    JSON.stringify([all, text]),
  );
}

/**
 * Every row as "REPOSITORY TAG IMAGE-ID", loading all pages (the table is aria-busy while the
 * rest of a page is still to be added after its first rows).
 */
async function tableRows(p) {
  await p.waitForFunction(() => !document.querySelector("#images").hasAttribute("aria-busy"));
  while (await p.isVisible("#show-more")) await p.click("#show-more");
  return p.$$eval("#images tbody tr", (trs) => trs.map((tr) => [...tr.cells].slice(0, 3).map((td) => td.textContent.trim()).join(" ")));
}

/** The rows the docker CLI printed (docker images --format json). */
function cliRows(file) {
  return readJsonl(file).map((r) => `${r.Repository} ${r.Tag} ${short(r.ID)}`);
}

const sorted = (xs) => [...xs].sort();


test("importing through the file input lists what dockerd listed, with and without -a", () =>
  page(async (p) => {
    await importByInput(p);
    assert.match(await p.textContent("#import-report"), /Nothing was skipped|Skipped/);
    await query(p, "", false);
    assert.deepEqual(sorted(await tableRows(p)), sorted(cliRows(`${EXPECTED}images.jsonl`)));
    const api = readJson(`${EXPECTED}api/images.json`);
    const shown = new Set((await tableRows(p)).map((r) => r.split(" ")[2]));
    assert.deepEqual(sorted(shown), sorted(new Set(api.map((i) => short(i.Id)))));
    await query(p, "", true);
    assert.deepEqual(sorted(await tableRows(p)), sorted(cliRows(`${EXPECTED}images-all.jsonl`)));
    const all = readJson(`${EXPECTED}api/images-all.json`);
    assert.equal(new Set((await tableRows(p)).map((r) => r.split(" ")[2])).size, all.length);
    // The count above the table: images (some have two tags, so two rows) and rows, sorted or not.
    const count = `${all.length} images, ${cliRows(`${EXPECTED}images-all.jsonl`).length} rows`;
    assert.equal(await p.textContent("#list-count"), count);
    await p.click('#images th[data-key="size"] button');
    assert.equal(await p.textContent("#list-count"), count, "sorted by size");
    await p.click('#images th[data-key="size"] button');
    // docker's units: 1.98MB, 3.05MB, 0B.
    const sizes = await p.$$eval("#images tbody td.num", (tds) => tds.map((td) => td.textContent));
    for (const s of ["1.98MB", "3.05MB", "0B"]) assert.ok(sizes.includes(s), `a row shows ${s}: ${sizes}`);
  }));

test("importing by dropping a file works the same", () =>
  page(async (p) => {
    const bytes = readFileSync(STORE_TAR).toString("base64");
    const dataTransfer = await p.evaluateHandle((b64) => {
      const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bin], "image-store.tar", { type: "application/x-tar" }));
      return dt;
    }, bytes);
    const before = await updates(p);
    await p.dispatchEvent("#drop-zone", "drop", { dataTransfer });
    await p.waitForSelector("#import-report:not([hidden])");
    await waitUpdates(p, before);
    assert.deepEqual(sorted(await tableRows(p)), sorted(cliRows(`${EXPECTED}images.jsonl`)));
  }));

test("filters and partial-ID search give dockerd's answers", () =>
  page(async (p) => {
    await importByInput(p);
    const lines = readFileSync(`${EXPECTED}api/images-filters.tsv`, "utf8").trim().split("\n");
    for (const line of lines) {
      const [filterJson, answerJson] = line.split("\t");
      const text = Object.entries(JSON.parse(filterJson)).flatMap(([k, vs]) => vs.map((v) => `${k}=${v}`)).join(" ");
      const answer = JSON.parse(answerJson);
      // The fixture's queries were made with all=1 (intermediate images included).
      await query(p, text, true);
      const rows = await tableRows(p);
      assert.deepEqual(sorted(new Set(rows.map((r) => r.split(" ")[2]))), sorted(new Set(answer.map((i) => short(i.Id)))), `ids for ${text}`);
      const tags = answer.flatMap((i) => (i.RepoTags ?? []).filter((t) => t !== "<none>:<none>"));
      for (const t of tags) {
        const at = t.lastIndexOf(":");
        assert.ok(rows.some((r) => r.startsWith(`${t.slice(0, at)} ${t.slice(at + 1)} `)), `row for ${t} under ${text}`);
      }
    }
    // Several filters at once, and plain text next to them.
    await query(p, "reference=local/* label=maintainer", true);
    assert.deepEqual(sorted(new Set((await tableRows(p)).map((r) => r.split(" ")[2]))), sorted([short(EDGE), "e6b5b37baed8"]));
    await query(p, "edge", false);
    assert.deepEqual(sorted(await tableRows(p)), sorted([`127.0.0.1:5000/team/edge v2 ${short(EDGE)}`, `local/edge latest ${short(EDGE)}`]));
    assert.equal(await p.textContent("#list-count"), "1 image, 2 rows");

    // Partial IDs resolve with docker's prefix search (the store's answer, shown and applied).
    await query(p, "4afb12", false);
    assert.match(await p.textContent("#search-result"), /ID prefix 4afb12 is image 4afb125595bd/);
    assert.deepEqual(new Set((await tableRows(p)).map((r) => r.split(" ")[2])), new Set([short(EDGE)]));
    await query(p, "4a", true); // 4a83… and 4afb… both start with it
    assert.match(await p.textContent("#search-result"), /ambiguous/);
    await query(p, "fffff", false);
    assert.match(await p.textContent("#search-result"), /No image ID starts with fffff/);
    const storeSays = await p.evaluate(async () => window.imagestorePage && (await import("/js/store.js")).store().search("e6b5"));
    assert.equal(storeSays, "sha256:e6b5b37baed847a14b9ba55abe078d6dacff8a334097cb1e31cc2d83fe8ad783");
  }));

test("inspecting local/edge:latest shows its history, layers and tree", () =>
  page(async (p) => {
    await importByInput(p);
    await p.click(`#images tbody tr[data-id="${EDGE}"] a`);
    await p.waitForSelector("#history-table");
    await p.waitForSelector("#image-tree");
    const inspect = readJson(`${EXPECTED}api/inspect/${EDGE.slice(7)}.json`);
    const summary = await p.textContent("#section-summary");
    for (const t of inspect.RepoTags) assert.ok(summary.includes(t), `summary names ${t}`);
    assert.ok(summary.includes("linux/amd64"));
    assert.ok(summary.includes("3.05MB"));
    const history = readJsonl(`${EXPECTED}history/local_edge_latest.jsonl`);
    const createdBy = await p.$$eval("#history-table td.created-by", (tds) => tds.map((td) => td.textContent));
    assert.equal(createdBy.length, history.length);
    // The CLI lists newest first and truncates; the page lists oldest first, in full.
    assert.deepEqual(createdBy.slice().reverse().map((c) => c.slice(0, 20)), history.map((h) => h.CreatedBy.replace(/^"|"$/g, "").slice(0, 20)));
    const emptyRows = await p.$$eval("#history-table tr.empty-layer", (trs) => trs.length);
    assert.equal(createdBy.length - emptyRows, inspect.RootFS.Layers.length, "one non-empty step per layer");
    const layerRows = await p.$$eval("#layers-table tbody tr", (trs) => trs.map((tr) => tr.cells[1].title));
    assert.deepEqual(layerRows, inspect.RootFS.Layers);
    const chain = await p.$$eval("#layers-table tbody tr", (trs) => trs.map((tr) => tr.cells[2].title));
    assert.equal(chain[0], inspect.RootFS.Layers[0]);
    const treeIds = await p.$$eval("#image-tree [data-id]", (els) => els.map((e) => e.dataset.id));
    assert.ok(treeIds.includes(EDGE) && treeIds.includes(inspect.Parent), "tree has the image and its parent");
    assert.ok(treeIds.includes("sha256:3902a31b521cf39931794c62ae9e0efc5a561e6c7b9ed3b547f5221ac1373cbd"), "tree reaches the base image");
    assert.equal(await p.textContent("#image-tree [aria-current]").then((t) => t.includes("4afb125595bd")), true);
    const raw = JSON.parse(await p.textContent("#raw-json"));
    assert.equal(raw[0].Id, EDGE);
    assert.deepEqual(Object.keys(raw[0]), Object.keys(inspect), "dockerd's field order, Id first");
    // Tree nodes are links to their own inspect view.
    await p.click(`#image-tree a[data-id="${inspect.Parent}"]`);
    await p.waitForFunction((id) => document.querySelector("#inspect-view .mono")?.textContent === id, inspect.Parent);
  }));

test("deleting replays dockerd's answers, with the preview shown first", () =>
  page(async (p) => {
    await importByInput(p);
    const rmi = async (ref) => {
      await p.click(`#images button[aria-label="Delete ${ref}"]`);
      await p.waitForSelector("#delete-preview");
      const preview = await p.textContent("#delete-preview");
      const before = await updates(p);
      await p.click("#confirm-delete");
      await p.waitForSelector("#delete-result");
      await waitUpdates(p, before);
      const result = await p.$$eval("#delete-result li", (lis) => lis.map((li) => ({ [li.dataset.kind]: li.dataset.value })));
      await p.click("#dialog .dialog-head button");
      return { preview, result };
    };
    const first = await rmi("local/edge:latest");
    assert.deepEqual(first.result, [{ Untagged: "local/edge:latest" }]);
    assert.match(first.preview, /Untagged: local\/edge:latest/);
    const second = await rmi("127.0.0.1:5000/team/edge:v2");
    assert.deepEqual(second.result, readJson(`${EXPECTED}api/delete-edge-v2.json`));
    assert.match(second.preview, new RegExp(`Deleted: ${EDGE}`));
    const rows = await tableRows(p);
    assert.ok(!rows.some((r) => r.includes(short(EDGE))), "the image is gone from the list");
  }));

test("a reload keeps the store; cancelling an import leaves it as it was", () =>
  page(async (p) => {
    await importByInput(p);
    const rows = sorted(await tableRows(p));
    // The page saved the list's answer for the store as it is: the rows a reload shows first.
    const saved = () => p.evaluate(async () => {
      const { Store } = await import("imagestore");
      for (let i = 0; i < 100; i++) {
        const answer = await Store.savedListImages("imagestore-page", { all: false });
        if (answer) {
          const store = await Store.open("imagestore-page");
          // The text is always worked out from the images (listImages may take the saved answer).
          const listed = JSON.parse(await store.listImagesJson());
          store.close();
          return { answer, listed };
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return null;
    });
    const before = await saved();
    assert.ok(before, "the page saved its list");
    assert.deepEqual(before.answer, before.listed, "the saved answer is what listImages answers");
    await p.reload();
    // The first rows on screen (the saved answer's, or the store's if it opened first) are the
    // store's rows.
    await p.waitForSelector("#images tbody tr");
    const first = await p.$$eval("#images tbody tr", (trs) => trs.map((tr) => [...tr.cells].slice(0, 3).map((td) => td.textContent.trim()).join(" ")));
    assert.deepEqual(sorted(first), rows, "the first rows after a reload");
    await p.waitForSelector("body[data-ready=true]");
    assert.deepEqual(sorted(await tableRows(p)), rows, "same rows after a reload");

    // Cancel the next import as soon as it reports progress.
    await p.evaluate(() => {
      const counts = document.querySelector("#import-progress-counts");
      new MutationObserver((_, obs) => {
        obs.disconnect();
        document.querySelector("#cancel-import").click();
      }).observe(counts, { childList: true, characterData: true, subtree: true });
    });
    await p.setInputFiles("#file-input", `${ROOT}tests/fixtures/docker20/scale200/image-store.tar`);
    await p.waitForFunction(() => /cancelled/.test(document.querySelector("#notice").textContent));
    await p.waitForSelector("#import-progress", { state: "hidden" });
    assert.deepEqual(sorted(await tableRows(p)), rows, "same rows after the cancelled import");
    assert.equal(await p.isVisible("#error"), false);
  }));

test("a long list lays out a screenful of rows in the frame that shows it and the rest of the page when idle", () =>
  page(async (p) => {
    await importByInput(p, `${ROOT}tests/fixtures/docker20/scale200/image-store.tar`);
    // Held back: no idle time until the test lets it go (rows counted right after the update).
    await p.evaluate(() => {
      window.heldIdle = [];
      window.requestIdleCallback = (fn) => window.heldIdle.push(fn);
    });
    await query(p, "", true);
    const count = () => p.$$eval("#images tbody tr", (trs) => trs.length);
    const busy = () => p.$eval("#images", (t) => t.getAttribute("aria-busy"));
    // A screenful: the rows laid out are taller than the window, and far fewer than a page.
    const screenful = await count();
    assert.ok(screenful < 100, `first rows only: ${screenful}`);
    assert.ok(await p.$eval("#images tbody", (tb) => tb.getBoundingClientRect().height >= innerHeight), "the rows fill the window");
    assert.equal(await busy(), "true");
    assert.match(await p.textContent("#show-more"), /^Show 200 more \(\d+ not shown\)$/);
    // "Show more" before the idle callback: the held rows come first, once, then the next page.
    await p.click("#show-more");
    assert.equal(await count(), 400);
    assert.equal(await busy(), null);
    const ids = await p.$$eval("#images tbody tr", (trs) => trs.map((tr) => tr.querySelector("td.id").textContent + tr.cells[0].textContent + tr.cells[1].textContent));
    assert.equal(new Set(ids).size, 400, "no row twice");
    // A new query while rows are held: a stale callback adds nothing if it runs after all.
    await query(p, "a", true);
    const held = await p.evaluate(() => window.heldIdle.length);
    assert.ok(held >= 2, `callbacks held: ${held}`);
    const shown = await count();
    assert.ok(shown <= screenful, `first rows only: ${shown}`);
    await p.evaluate(() => window.heldIdle.splice(0).forEach((fn) => fn({ timeRemaining: () => 50, didTimeout: false })));
    const all = await p.$$eval("#images tbody tr", (trs) => trs.length);
    const want = Math.min(200, Number((await p.textContent("#list-count")).match(/(\d+) rows?$/)[1]));
    assert.equal(all, want, "the query's first page, each row once");
    assert.equal(await busy(), null);
    // On a phone, rows are narrower and taller: a screenful there too.
    await p.setViewportSize({ width: 390, height: 844 });
    await query(p, "", true);
    const onPhone = await count();
    assert.ok(onPhone < 100, `first rows only: ${onPhone}`);
    assert.ok(await p.$eval("#images tbody", (tb) => tb.getBoundingClientRect().height >= innerHeight), "the rows fill the phone's window");
  }));

test("a file that is not a tarball gets a clear error and changes nothing", () =>
  withPage(async (p) => {
    await p.waitForSelector("body[data-ready=true]");
    await p.setInputFiles("#file-input", { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("these are notes, not a tar archive\n".repeat(40)) });
    await p.waitForSelector("#error:not([hidden])");
    const text = await p.textContent("#error");
    assert.match(text, /notes\.txt/);
    assert.match(text, /tar or tar\.gz of \/var\/lib\/docker\/image\/<driver>\//);
    assert.equal(await p.isVisible("#import-report"), false);
  }, { path: "/?sample=0" }));

test("screenshots of the list, the inspect view and the import report", () =>
  page(async (p) => {
    mkdirSync(DOCS_SHOTS, { recursive: true });
    await importByInput(p);
    await p.screenshot({ path: `${DOCS_SHOTS}import-report.png` });
    await p.click("#import-report .report-head button");
    await query(p, "", true);
    await p.locator("#filter").blur();
    await p.screenshot({ path: `${DOCS_SHOTS}list.png` });
    await p.click(`#images tbody tr[data-id="${EDGE}"] a`);
    await p.waitForSelector("#image-tree");
    await p.screenshot({ path: `${DOCS_SHOTS}inspect.png` });
    await p.locator("#section-history").scrollIntoViewIfNeeded();
    await p.evaluate(() => document.querySelector("#section-history").scrollIntoView());
    await p.screenshot({ path: `${DOCS_SHOTS}inspect-history.png` });
    await p.evaluate(() => document.querySelector("#section-tree").scrollIntoView());
    await p.screenshot({ path: `${DOCS_SHOTS}inspect-tree.png` });
    await p.click("#inspect-view .inspect-actions button.danger");
    await p.check("#delete-force");
    await p.waitForSelector("#delete-plan");
    await p.screenshot({ path: `${DOCS_SHOTS}delete-dialog.png` });
    await p.keyboard.press("Escape");
    await p.setViewportSize({ width: 390, height: 844 });
    await p.evaluate(() => (location.hash = "#/"));
    await p.waitForSelector("#list-view:not([hidden])");
    await p.evaluate(() => document.querySelector("#list-view").scrollIntoView());
    await p.screenshot({ path: `${DOCS_SHOTS}phone-list.png` });
  }));

test("make serve's sample store is imported on a first visit", () =>
  withPage(async (p) => {
    await p.waitForSelector("body[data-ready=true]");
    assert.equal(await p.textContent("#notice"), "sample store loaded; drop your own tarball to replace it");
    assert.ok((await tableRows(p)).length > 0);
    assert.equal(await p.textContent("#import-skipped"), "Nothing was skipped.", "the generated store is one dockerd restores whole");
    await p.screenshot({ path: `${ROOT}tests/e2e/screenshots/tmp/sample.png` });
    // Markup-like text from the tarball (a label, a file name) stays text.
    await query(p, "label=org.example.note", false);
    await p.click("#images tbody tr a");
    await p.waitForSelector("#labels");
    assert.match(await p.textContent("#labels"), /<b>labels are text<\/b> & "quotes" stay as typed/);
    // The layers table comes with the rest of the view (it used to wait behind the history and
    // the analysis, so a slow machine found no table here).
    const layerButtons = await p.$$("#layers-table button");
    assert.ok(layerButtons.length > 0, "the layers table is shown with the labels");
    for (const b of layerButtons) await b.click();
    await p.waitForFunction(() => /onerror=alert/.test(document.querySelector("#layers-table").textContent));
    assert.equal(await p.$$eval("#inspect-view b, #inspect-view img", (els) => els.length), 0, "no element made from tarball text");
  }));
