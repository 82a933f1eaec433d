// The page as a first-time visitor meets it, in headless Chromium: an accessibility engine
// (axe-core, pinned in package.json, injected into the page) over every view, a phone-width pass
// (390 × 844) with no horizontal scroll anywhere, and keyboard use (focus that lands where the
// user is, dialogs that keep and return focus).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { axeViolations, horizontalOverflow, withPage } from "./harness.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BASIC = `${ROOT}tests/fixtures/docker20/basic/`;
const EDGE = "sha256:4afb125595bdb8aeb09f6a50a766c3eaba26fae53f604d8d88c2010ea04ddb05";
const EDGE_REF = "docker.io/local/edge:latest";

const PHONE = { width: 390, height: 844 };
const LAPTOP = { width: 1280, height: 800 };

/** The page without the sample, at `size`. */
const page = (fn, size = LAPTOP) => withPage(async (p, base) => {
  await p.setViewportSize(size);
  await p.waitForSelector("body[data-ready=true]");
  await fn(p, base);
}, { path: "/?sample=0", ignoreErrors: [] });

/** Imports `file` through the file input and waits until the views show the result. */
async function importFile(p, file) {
  const before = await p.evaluate(() => Number(document.body.dataset.imports ?? 0));
  await p.setInputFiles("#file-input", file);
  await p.waitForFunction((n) => Number(document.body.dataset.imports ?? 0) > n, before);
  await p.waitForSelector("#import-report:not([hidden])");
}

async function go(p, hash, ready) {
  await p.evaluate((h) => (location.hash = h), hash);
  await p.waitForSelector(ready);
}

/**
 * Every view a visitor meets, each left in the state to check: `check(name)` is called in each.
 * Views: import report, list, list with a refused filter, inspect with files open, tag dialog
 * (with an invalid name), delete dialog (a refusal), containerd namespaces + images, a refused
 * containerd filter, containerd content, a containerd image, an error banner.
 */
async function everyView(p, check) {
  await importFile(p, `${BASIC}image-store.tar`);
  await check("import report");
  await p.click("#import-report .report-head button");
  await p.check("#show-all");
  await p.waitForFunction(() => document.querySelectorAll("#images tbody tr").length > 10);
  await check("list");
  await p.fill("#filter", "foo=bar");
  await p.waitForSelector("#filter-error:not([hidden])");
  await check("list with a refused filter");
  await p.fill("#filter", "");
  await p.waitForSelector("#filter-error", { state: "hidden" });

  await go(p, `#/image/${EDGE}`, "#layers-table");
  await p.click("#layers-table button");
  await p.waitForSelector("#layers-table .files-row table");
  await p.waitForSelector("#image-tree");
  await check("inspect, files open");

  await p.click("#inspect-view .inspect-actions button:first-child");
  await p.waitForSelector("#dialog[open] #tag-repo");
  await p.fill("#tag-repo", "Local/App");
  await p.waitForSelector("#tag-invalid");
  await check("tag dialog, invalid name");
  await p.keyboard.press("Escape");

  await p.click("#inspect-view .inspect-actions button.danger");
  await p.waitForSelector("#dialog[open] #delete-preview p");
  await check("delete dialog");
  await p.keyboard.press("Escape");

  await importFile(p, `${BASIC}containerd-root.tar`);
  await p.click("#import-report .report-head button");
  await go(p, "#/containerd/default", "#ctr-images tbody tr");
  await check("containerd namespaces and images");
  await p.fill("#ctr-filter", "name==");
  await p.waitForSelector("#ctr-filter-error:not([hidden])");
  await check("containerd, refused filter");
  await p.fill("#ctr-filter", "");
  await p.waitForSelector("#ctr-filter-error", { state: "hidden" });
  await go(p, "#/containerd/default/content", "#ctr-content tbody tr");
  await check("containerd content");
  await go(p, `#/containerd/default/image/${encodeURIComponent(EDGE_REF)}`, "#ctr-blob-tree");
  await p.click("#ctr-blob-tree li.blob > .blob-line button");
  await check("containerd image, JSON open");

  await go(p, "#/", "#list-view:not([hidden])");
  await p.setInputFiles("#file-input", { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not a tar\n".repeat(100)) });
  await p.waitForSelector("#error:not([hidden])");
  await check("error banner");
}

test("axe-core finds no critical or serious violation on any view", () =>
  page(async (p) => {
    const found = [];
    await everyView(p, async (name) => {
      for (const v of await axeViolations(p)) found.push(`${name}: ${v}`);
    });
    assert.deepEqual(found, []);
  }));

test("at 390 × 844 no view scrolls sideways, and the list shows repository, tag and size", () =>
  page(async (p) => {
    const found = [];
    await everyView(p, async (name) => {
      const { over, culprits } = await horizontalOverflow(p);
      if (over > 0) found.push(`${name}: ${over}px too wide (${culprits.join("; ")})`);
      const dialog = await p.$("#dialog[open]");
      if (dialog) {
        // Nothing in a dialog reaches past its box.
        const spill = await dialog.evaluate((d) => [...d.querySelectorAll("*")].filter((el) => el.getBoundingClientRect().right > d.getBoundingClientRect().right + 1).map((el) => el.id || el.tagName));
        if (spill.length) found.push(`${name}: past the dialog's edge: ${spill.join(", ")}`);
      }
      if (name === "list") {
        const cells = await p.$$eval("#images tbody tr:first-child td", (tds) => tds.map((td) => {
          const r = td.getBoundingClientRect();
          return { cls: td.className, visible: r.width > 0 && r.left >= 0 && r.right <= window.innerWidth + 1 };
        }));
        for (const col of ["repo", "tag", "num"]) {
          if (!cells.some((c) => c.cls.split(" ").includes(col) && c.visible)) found.push(`list: the ${col} cell is not visible: ${JSON.stringify(cells)}`);
        }
      }
    });
    assert.deepEqual(found, []);
  }, PHONE));

test("keyboard: the file input's focus lights its own label only", () =>
  page(async (p) => {
    // Tab from the containerd tab reaches the file input (the label is not focusable).
    await p.focus("#tab-containerd");
    await p.keyboard.press("Tab");
    assert.equal(await p.evaluate(() => document.activeElement.id), "file-input");
    const outline = (sel) => p.$eval(sel, (el) => getComputedStyle(el).outlineStyle);
    assert.equal(await outline('label[for="file-input"]'), "solid");
    assert.equal(await outline("#clear-store"), "none", "Clear store is not focused and must not look it");
    await p.keyboard.press("Tab");
    assert.equal(await p.evaluate(() => document.activeElement.id), "clear-store");
    assert.equal(await outline('label[for="file-input"]'), "none");
    assert.equal(await outline("#clear-store"), "solid");
  }));

test("keyboard: opening an image puts focus and the screen on its title; the import area folds away", () =>
  page(async (p) => {
    await importFile(p, `${BASIC}image-store.tar`);
    await p.waitForSelector(`#images tbody tr[data-id="${EDGE}"] td.id a`);
    await p.focus(`#images tbody tr[data-id="${EDGE}"] td.id a`);
    await p.keyboard.press("Enter");
    await p.waitForSelector("#history-table");
    assert.equal(await p.evaluate(() => document.activeElement.id), "inspect-title");
    const top = await p.$eval("#inspect-title", (el) => el.getBoundingClientRect().top);
    assert.ok(top >= 0 && top < 300, `the title is near the top of the screen (top=${top})`);
    assert.equal(await p.isVisible("#drop-zone"), false);
    assert.equal(await p.isVisible("#import-report"), false);
    // A reload on the image (a first load there) starts at the title too. (Once the analysis
    // panel is drawn: a reload while its worker still loads aborts the worker's requests, which
    // the harness would report as failed.)
    await p.waitForSelector("#file-tree li");
    await p.reload();
    await p.waitForSelector("#history-table");
    assert.equal(await p.isVisible("#drop-zone"), false);
    assert.ok((await p.$eval("#inspect-title", (el) => el.getBoundingClientRect().top)) < 300);
    // Back on the list, the import area is there again.
    await go(p, "#/", "#list-view:not([hidden])");
    assert.equal(await p.isVisible("#drop-zone"), true);
  }));

test("leaving an image, or opening another, while its parts still load writes nothing into the wrong view", () =>
  page(async (p) => {
    await importFile(p, `${BASIC}image-store.tar`);
    const demo = await p.evaluate(async () => (await (await import("/js/store.js")).store().inspectImage("local/demo:1.0")).Id);
    /** Shows `first`, then the moment its title is up (history, tree, contents, analysis still to come) goes to `then`. */
    const race = (first, then) => p.evaluate(async ([first, then]) => {
      location.hash = first;
      await new Promise((resolve) => {
        const check = () => (document.querySelector("#inspect-title") ? resolve() : requestAnimationFrame(check));
        check();
      });
      location.hash = then;
      // The store answers in order: once this call is answered, so are the ones the view made.
      const { store } = await import("/js/store.js");
      await store().efficiency("local/edge");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }, [first, then]);
    // Back to the list: the inspect view is emptied under the pending answers.
    await race(`#/image/${EDGE}`, "#/");
    assert.equal(await p.isVisible("#error"), false, await p.textContent("#error"));
    assert.equal(await p.$eval("#inspect-view", (el) => el.childElementCount), 0);
    // Another image: its view shows its own tree and analysis, never edge's.
    await race(`#/image/${EDGE}`, `#/image/${demo}`);
    await p.waitForSelector("#image-tree");
    await p.waitForSelector("#efficiency-badge");
    assert.equal(await p.isVisible("#error"), false, await p.textContent("#error"));
    assert.equal(await p.$eval("#image-tree .tree-node.current", (el) => el.dataset.id), demo);
    assert.equal(await p.$$eval("#inspect-view #image-tree", (els) => els.length), 1);
    assert.equal(await p.textContent("#inspect-title"), "local/demo:1.0");
  }));

test("dialogs take focus, keep it inside, and give it back to the button that opened them", () =>
  page(async (p) => {
    await importFile(p, `${BASIC}image-store.tar`);
    const opener = '#images button[aria-label="Delete local/edge:latest"]';
    await p.focus(opener);
    await p.keyboard.press("Enter");
    await p.waitForSelector("#dialog[open] #delete-preview p");
    const inside = () => p.evaluate(() => document.querySelector("#dialog").contains(document.activeElement));
    assert.ok(await inside(), "focus moved into the dialog");
    for (let i = 0; i < 8; i++) {
      await p.keyboard.press("Tab");
      assert.ok(await inside(), `focus is still in the dialog after ${i + 1} Tab presses`);
    }
    await p.keyboard.press("Escape");
    await p.waitForSelector("#dialog:not([open])", { state: "attached" });
    assert.equal(await p.evaluate(() => document.activeElement.getAttribute("aria-label")), "Delete local/edge:latest");

    // The Clear store confirmation: focus on the safe choice, and back to the header button.
    await p.focus("#clear-store");
    await p.keyboard.press("Enter");
    await p.waitForSelector("#dialog[open] #confirm-clear");
    assert.equal(await p.evaluate(() => document.activeElement.textContent), "Keep it");
    await p.keyboard.press("Enter");
    await p.waitForSelector("#dialog:not([open])", { state: "attached" });
    assert.equal(await p.evaluate(() => document.activeElement.id), "clear-store");
    assert.ok((await p.$$("#images tbody tr")).length > 0, "keeping it keeps the images");
  }));
