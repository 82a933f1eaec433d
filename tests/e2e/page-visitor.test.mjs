// What a first-time visitor tried and found broken (issue 9), each checked in headless Chromium
// against the real docker20/basic fixtures: Clear store, the sample becoming the user's store,
// Delete disabled on a refusal, dockerd's and containerd's filter errors, import reports that
// say what changed, the tag dialog's live check, the footer's words.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { withPage } from "./harness.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BASIC = `${ROOT}tests/fixtures/docker20/basic/`;
const EDGE = "sha256:4afb125595bdb8aeb09f6a50a766c3eaba26fae53f604d8d88c2010ea04ddb05";
const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));

const page = (fn, path = "/?sample=0") => withPage(async (p, base) => {
  await p.setViewportSize({ width: 1280, height: 800 });
  await p.waitForSelector("body[data-ready=true]");
  await fn(p, base);
}, { path });

const imports = (p) => p.evaluate(() => Number(document.body.dataset.imports ?? 0));

/** Imports `file` through the file input; resolves once the report and the views are updated. */
async function importFile(p, file) {
  const before = await imports(p);
  await p.setInputFiles("#file-input", file);
  await p.waitForFunction((n) => Number(document.body.dataset.imports ?? 0) > n, before);
}

const rowCount = (p) => p.$$eval("#images tbody tr", (trs) => trs.length);
const storeCall = (p, fn, ...args) => p.evaluate(async ([src, a]) => {
  const { store } = await import("/js/store.js");
  return new Function("store", "args", `return (${src})(store, ...args)`)(store(), a);
}, [fn.toString(), args]);

test("Clear store asks, then empties both views, and the store is still empty after a reload", () =>
  page(async (p) => {
    // The sample loads on a first visit; a containerd import adds a namespace.
    await p.waitForFunction(() => document.querySelectorAll("#images tbody tr").length > 0);
    await p.click("#import-to-containerd");
    await importFile(p, `${BASIC}oci-archive.tar`);
    assert.deepEqual(await storeCall(p, (s) => s.namespaces()), ["default"]);
    await p.click("#clear-store");
    await p.waitForSelector("#dialog[open] #confirm-clear");
    await p.click("#confirm-clear");
    await p.waitForFunction(() => document.querySelectorAll("#images tbody tr").length === 0);
    assert.match(await p.textContent("#list-empty"), /The store is empty/);
    await p.reload();
    await p.waitForSelector("body[data-ready=true]");
    assert.equal(await rowCount(p), 0, "no sample comes back after a reload");
    assert.deepEqual(await storeCall(p, (s) => s.listImages({ all: true })), []);
    assert.deepEqual(await storeCall(p, (s) => s.namespaces()), []);
  }, "/"));

test("once the sample was changed, an import adds to it instead of replacing it", () =>
  page(async (p) => {
    await p.waitForFunction(() => document.querySelectorAll("#images tbody tr").length > 0);
    const [first] = await storeCall(p, (s) => s.listImages());
    // Tag one sample image through the dialog.
    await p.evaluate((id) => (location.hash = `#/image/${id}`), first.Id);
    await p.click("#inspect-view .inspect-actions button:first-child");
    await p.fill("#tag-repo", "mine/kept");
    await p.waitForFunction(() => /a new tag/.test(document.querySelector("#tag-preview").textContent));
    await p.click("#dialog button[type=submit]");
    await p.waitForSelector("#tag-answer .ok");
    await p.keyboard.press("Escape");
    const sampleIds = (await storeCall(p, (s) => s.listImages({ all: true }))).map((i) => i.Id);
    await importFile(p, `${BASIC}image-store.tar`);
    const after = await storeCall(p, (s) => s.listImages({ all: true }));
    assert.ok(after.some((i) => (i.RepoTags ?? []).includes("mine/kept:latest")), "the user's tag is kept");
    for (const id of sampleIds) assert.ok(after.some((i) => i.Id === id), `sample image ${id} is kept`);
    assert.ok(after.some((i) => i.Id === EDGE), "and the import was added");
    assert.doesNotMatch(await p.textContent("#import-report"), /replaced/);
  }, "/"));

test("Delete is disabled when the preview (the store's dry run) says Docker would refuse", () =>
  page(async (p) => {
    await importFile(p, `${BASIC}image-store.tar`);
    await p.check("#show-all");
    // An untagged image with a child (by ID): dockerd refuses, even forced.
    const all = readJson(`${BASIC}expected/api/images-all.json`);
    const untagged = (i) => !(i.RepoTags ?? []).some((t) => t !== "<none>:<none>") && !(i.RepoDigests ?? []).some((d) => d !== "<none>@<none>");
    const parent = all.find((i) => untagged(i) && all.some((c) => c.ParentId === i.Id));
    assert.ok(parent, "the fixture has an untagged parent image");
    const ref = parent.Id.slice(7, 19);
    await p.click(`#images button[aria-label="Delete ${ref}"]`);
    await p.waitForSelector("#delete-refused");
    assert.match(await p.textContent("#delete-refused"), /cannot be forced\) - image has dependent child images/);
    assert.equal(await p.isDisabled("#confirm-delete"), true);
    await p.check("#delete-force");
    await p.waitForFunction(() => document.querySelector("#delete-refused"));
    assert.equal(await p.isDisabled("#confirm-delete"), true, "force does not help with children");
    await p.keyboard.press("Escape");
    // edge by ID: must be forced; forcing enables Delete, and the preview is dockerd's answer.
    await p.evaluate((id) => (location.hash = `#/image/${id}`), EDGE);
    await p.click("#inspect-view .inspect-actions button.danger");
    await p.waitForSelector("#delete-refused");
    assert.match(await p.textContent("#delete-refused"), /must be forced/);
    assert.equal(await p.isDisabled("#confirm-delete"), true);
    await p.check("#delete-force");
    await p.waitForSelector("#delete-plan");
    assert.equal(await p.isDisabled("#confirm-delete"), false);
    const plan = await p.$$eval("#delete-plan li", (lis) => lis.map((li) => `${li.dataset.kind} ${li.dataset.value}`));
    assert.ok(plan.includes(`Deleted ${EDGE}`), plan.join("\n"));
    assert.ok(plan.includes("Untagged local/edge:latest"), plan.join("\n"));
    // Nothing was deleted by the previews.
    assert.ok((await storeCall(p, (s) => s.listImages({ all: true }))).some((i) => i.Id === EDGE));
  }));

test("Docker filters: an unknown key is dockerd's error at the box; a hex-looking name is not called a missing ID", () =>
  page(async (p) => {
    await importFile(p, `${BASIC}image-store.tar`);
    for (const [text, key] of [["foo=bar", "foo"], ["danglng=true", "danglng"]]) {
      await p.fill("#filter", text);
      await p.waitForFunction((t) => document.querySelector("#images").dataset.query === JSON.stringify([false, t]), text);
      const error = await p.textContent("#filter-error");
      assert.match(error, new RegExp(`Invalid filter '${key}'`, "i"), error);
      assert.equal(await p.getAttribute("#filter", "aria-invalid"), "true");
      assert.doesNotMatch(await p.textContent("#list-empty"), /No image matches/);
    }
    await p.fill("#filter", "dangling=true");
    await p.waitForSelector("#filter-error", { state: "hidden" });
    assert.equal(await p.getAttribute("#filter", "aria-invalid"), null);
    // A word made of hex digits that a name contains but no image ID starts with.
    const ids = readJson(`${BASIC}expected/api/images-all.json`).map((i) => i.Id.slice(7));
    const names = readJson(`${BASIC}expected/api/images-all.json`).flatMap((i) => i.RepoTags ?? []);
    const word = names.flatMap((n) => n.match(/[a-f0-9]{2,}/g) ?? []).find((w) => !ids.some((id) => id.startsWith(w)));
    assert.ok(word, "the fixture has such a word");
    await p.fill("#filter", word);
    await p.waitForFunction((w) => document.querySelector("#images").dataset.query === JSON.stringify([false, w]), word);
    assert.ok((await rowCount(p)) > 0, `rows match ${word}`);
    assert.doesNotMatch((await p.textContent("#search-result")) ?? "", /No image ID starts with/);
    await p.fill("#filter", "fffff");
    await p.waitForFunction(() => /No image ID starts with fffff/.test(document.querySelector("#search-result").textContent));
  }));

test("containerd filters: a missing value and a bad regexp are each one clear error", () =>
  page(async (p) => {
    await p.click("#import-to-containerd");
    await importFile(p, `${BASIC}containerd-root.tar`);
    await p.evaluate(() => (location.hash = "#/containerd/default"));
    await p.waitForSelector("#ctr-images tbody tr");
    await p.fill("#ctr-filter", "name==");
    await p.waitForSelector("#ctr-filter-error:not([hidden])");
    let error = await p.textContent("#ctr-filter-error");
    assert.doesNotMatch(error, /invalid argument: invalid argument/, error);
    assert.doesNotMatch(error, /quotes/, error);
    assert.match(error, /type a value after the operator/, error);
    await p.fill("#ctr-filter", "name~=(");
    await p.waitForFunction(() => /regular expression/.test(document.querySelector("#ctr-filter-error").textContent));
    error = await p.textContent("#ctr-filter-error");
    assert.match(error, /invalid regular expression "\(" after ~=/, error);
    assert.equal((error.match(/invalid argument/g) ?? []).length, 1, error);
    assert.equal(await p.$$eval("#ctr-images tbody tr", (trs) => trs.length), 0);
  }));

test("import reports say what changed: tagged vs intermediates, already present, moved tags; a namespace import shows it", () =>
  page(async (p) => {
    const all = readJson(`${BASIC}expected/api/images-all.json`).length;
    const listed = readJson(`${BASIC}expected/api/images.json`).length;
    await importFile(p, `${BASIC}image-store.tar`);
    const images = async () => p.textContent("#import-report dl");
    assert.match(await images(), new RegExp(`${listed} tagged, ${all} with intermediates`));
    // The same store again: nothing new, and the report says so.
    await importFile(p, `${BASIC}image-store.tar`);
    assert.match(await p.textContent("#import-report"), /Images\s*none new: the store had every image already/);
    assert.equal(await p.$("#import-moved"), null, "no tag moved");
    // Move local/dangle:1 to another image; docker load of the archive that has it moves it back.
    await storeCall(p, (s) => s.tagImage("local/base:1", "local/dangle", "1"));
    await p.evaluate(() => window.imagestorePage.changed());
    await importFile(p, `${BASIC}docker-save.tar`);
    assert.match(await p.textContent("#import-moved"), /local\/dangle:1 now points to a977b459ed3d \(was 3902a31b521c\)/);
    // Into namespace team while the containerd view is open: the view follows.
    await p.evaluate(() => (location.hash = "#/containerd"));
    await p.waitForSelector("#ctr-view:not([hidden])");
    await p.click("#import-to-containerd");
    await p.fill("#import-namespace", "team");
    await importFile(p, `${BASIC}oci-archive.tar`);
    await p.waitForFunction(() => location.hash === "#/containerd/team");
    await p.waitForFunction(() => document.querySelector("#ctr-images")?.dataset.query === JSON.stringify(["team", ""]));
    assert.equal(await p.getAttribute('#ctr-namespaces a[data-ns="team"]', "aria-current"), "page");
  }));

test("the tag dialog checks the name as it is typed, with dockerd's message, before any submit", () =>
  page(async (p) => {
    await importFile(p, `${BASIC}image-store.tar`);
    await p.evaluate((id) => (location.hash = `#/image/${id}`), EDGE);
    await p.click("#inspect-view .inspect-actions button:first-child");
    await p.waitForSelector("#dialog[open] #tag-repo");
    await p.fill("#tag-repo", "Local/App");
    await p.waitForSelector("#tag-invalid");
    assert.match(await p.textContent("#tag-invalid"), /invalid reference format: repository name must be lowercase/);
    assert.equal(await p.getAttribute("#tag-repo", "aria-invalid"), "true");
    assert.equal(await p.isDisabled("#dialog button[type=submit]"), true);
    await p.fill("#tag-repo", "local/app");
    await p.fill("#tag-tag", "bad tag");
    await p.waitForFunction(() => /invalid tag format/.test(document.querySelector("#tag-preview").textContent));
    await p.fill("#tag-tag", "v1");
    await p.waitForFunction(() => /local\/app:v1 will point to 4afb125595bd/.test(document.querySelector("#tag-preview").textContent));
    assert.equal(await p.getAttribute("#tag-repo", "aria-invalid"), null);
    assert.equal(await p.isDisabled("#dialog button[type=submit]"), false);
    // A tag another image has: the preview says it moves (dockerd's tag always forces).
    await p.fill("#tag-repo", "local/base");
    await p.fill("#tag-tag", "1");
    await p.waitForFunction(() => /local\/base:1 moves from 3902a31b521c to 4afb125595bd/.test(document.querySelector("#tag-preview").textContent));
    assert.ok(!(await storeCall(p, (s) => s.listImages())).some((i) => (i.RepoTags ?? []).includes("local/app:v1")), "typing tags nothing");
  }));

test("the footer says what is stored: layer contents for docker save and OCI archives", () =>
  page(async (p) => {
    const footer = await p.textContent("footer");
    assert.doesNotMatch(footer, /never needed/);
    assert.match(footer, /docker save/);
  }));
