// Several tabs on one store, in Chromium with real IndexedDB: two pages of one browser context
// (one origin, one IndexedDB) drive the package, interleaving tags, removals and imports, and
// must end with what one dockerd would hold, nothing lost; the page's list follows another
// tab's changes. Then tabs closed in the middle of an import, a tag or an rmi (page closed
// without unload, as a crash or a killed tab): after reopening, the store holds the state from
// before or the state after, never a mix, and no chunk is left unreferenced.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { start } from "./harness.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const fixture = (rel) => readFileSync(`${ROOT}tests/fixtures/${rel}`).toString("base64");
const BASIC_STORE = fixture("docker20/basic/image-store.tar");
const BASIC_SAVE = fixture("docker20/basic/docker-save.tar");
const BASIC_OCI = fixture("docker20/basic/oci-archive.tar");
const SCALE200 = fixture("docker20/scale200/image-store.tar");

/** Runs `fn(context, open)` in a fresh context; `open()` makes a page of it with the package loaded. */
async function withContext(fn) {
  const { browser, server } = await start();
  const context = await browser.newContext();
  const errors = [];
  const open = async (path = "/?sample=0") => {
    const page = await context.newPage();
    page.on("pageerror", (err) => errors.push(`uncaught: ${err.message}`));
    await page.goto(server.url + path);
    await page.waitForSelector("body[data-ready=true]");
    await page.evaluate(async () => {
      window.lib = await import("imagestore");
      window.b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
      window.tagsOf = async (store) =>
        (await store.listImages({ all: true })).flatMap((i) => i.RepoTags ?? []).filter((t) => t !== "<none>:<none>").sort();
      window.idsOf = async (store) => (await store.listImages({ all: true })).map((i) => i.Id).sort();
    });
    return page;
  };
  try {
    await fn(context, open);
    assert.deepEqual(errors, [], "no page threw");
  } finally {
    await context.close();
  }
}

test("rmi of one tag in a tab that opened the store earlier only untags what another tab just tagged", () =>
  withContext(async (_context, open) => {
    const [a, b] = [await open(), await open()];
    await a.evaluate(async (tar) => {
      window.s = await lib.Store.open("tabs-one");
      await s.import(b64(tar));
    }, BASIC_STORE);
    await b.evaluate(async () => {
      window.s = await lib.Store.open("tabs-one");
      window.heard = [];
      s.onChange((e) => heard.push(e.reason));
    });
    await a.evaluate(() => s.tagImage("local/demo:1.0", "keep/me", "1"));
    const answer = await b.evaluate(() => s.removeImage("local/demo:1.0"));
    assert.deepEqual(answer, [{ Untagged: "local/demo:1.0" }], "one dockerd holding both tags only untags");
    await b.waitForFunction(() => heard.includes("changed"));
    // After a reload of both tabs, A's tag is there.
    const c = await open();
    const tags = await c.evaluate(async () => tagsOf(await lib.Store.open("tabs-one")));
    assert.ok(tags.includes("keep/me:1"), tags.join(" "));
    assert.ok(!tags.includes("local/demo:1.0"), tags.join(" "));
  }));

test("interleaved tags, removals and imports from two tabs converge to what one dockerd holds, nothing lost", () =>
  withContext(async (_context, open) => {
    const [a, b, reference] = [await open(), await open(), await open()];
    // Each tab's script: its own tags on shared images (added, some removed again), and imports.
    const script = (me) => [
      ["import", "store"],
      ["tag", "local/demo:1.0", `${me}/demo:1`],
      ["tag", "local/base:1", `${me}/base:1`],
      ["import", me === "a" ? "save" : "oci"],
      ["tag", "local/edge:latest", `${me}/edge:1`],
      ["rmi", `${me}/demo:1`],
      ["tag", `${me}/base:1`, `${me}/base:2`],
      ["rmi", `${me}/base:1`],
      ["tag", "local/demo:1.0", `${me}/demo:2`],
      ["gc"],
    ];
    const run = (page, me, name, backend) =>
      page.evaluate(
        async ({ me, steps, name, backend, tars }) => {
          const s = await lib.Store.open(name, { backend });
          window.s = s;
          for (const [op, x, y] of steps) {
            if (op === "import") {
              const options = x === "oci" ? { namespace: "b" } : x === "save" ? { namespace: "a" } : {};
              await s.import(b64(tars[x]), options);
            } else if (op === "tag") {
              const [repo, tag] = y.split(":");
              await s.tagImage(x, repo, tag);
            } else if (op === "rmi") {
              await s.removeImage(x);
            } else {
              await s.gc();
            }
            // Let the other tab's work interleave.
            await new Promise((r) => setTimeout(r, Math.random() * 20));
          }
          return me;
        },
        { me, steps: script(me), name, backend, tars: { store: BASIC_STORE, save: BASIC_SAVE, oci: BASIC_OCI } },
      );
    // Both tabs at once, on one IndexedDB database.
    await Promise.all([run(a, "a", "tabs-two", "indexeddb"), run(b, "b", "tabs-two", "indexeddb")]);
    // One store doing both scripts one after the other: one dockerd (and one containerd).
    await run(reference, "a", "tabs-two-ref", "memory");
    await reference.evaluate(() => (window.ref = s));
    await reference.evaluate(
      async ({ steps, tars }) => {
        window.s = ref;
        for (const [op, x, y] of steps) {
          if (op === "import") await ref.import(b64(tars[x]), x === "oci" ? { namespace: "b" } : x === "save" ? { namespace: "a" } : {});
          else if (op === "tag") await ref.tagImage(x, ...y.split(":"));
          else if (op === "rmi") await ref.removeImage(x);
          else await ref.gc();
        }
      },
      { steps: script("b"), tars: { store: BASIC_STORE, save: BASIC_SAVE, oci: BASIC_OCI } },
    );
    const state = (page, expr) =>
      page.evaluate(async (expr) => {
        const s = expr === "ref" ? window.ref : await lib.Store.open("tabs-two");
        const info = await s.storeInfo();
        const ns = await s.namespaces();
        const ctr = {};
        for (const n of ns) ctr[n] = (await s.containerd(n).listImages()).map((i) => `${i.name} ${i.target.digest}`);
        return { tags: await tagsOf(s), ids: await idsOf(s), ctr, meta: info.metaRecords, chunks: info.chunkRecords };
      }, expr);
    const want = await state(reference, "ref");
    for (const [who, page] of [["a", a], ["b", b]]) {
      const got = await state(page, "tab");
      assert.deepEqual(got, want, `tab ${who} sees what one dockerd holds`);
    }
    for (const t of ["a/base:2", "b/base:2", "a/edge:1", "b/edge:1", "a/demo:2", "b/demo:2", "local/demo:1.0"]) {
      assert.ok(want.tags.includes(t), `${t} in ${want.tags.join(" ")}`);
    }
  }));

test("the page's list follows an import and a removal made in another tab", () =>
  withContext(async (_context, open) => {
    const [a, b] = [await open(), await open()];
    const rows = (p) => p.$$eval("#images tbody tr", (trs) => trs.length);
    assert.equal(await rows(b), 0);
    await a.setInputFiles("#file-input", `${ROOT}tests/fixtures/docker20/basic/image-store.tar`);
    await a.waitForSelector("#import-report:not([hidden])");
    await b.waitForFunction(() => document.querySelectorAll("#images tbody tr").length > 0);
    const before = await rows(b);
    await a.evaluate(async () => {
      const s = await lib.Store.open("imagestore-page");
      await s.removeImage("local/demo:1.0");
    });
    await b.waitForFunction((n) => document.querySelectorAll("#images tbody tr").length === n - 1, before);
  }));

test("another tab's tag and removal refresh an open image in place: open files, focus and scroll stay", () =>
  withContext(async (_context, open) => {
    const EDGE = "sha256:4afb125595bdb8aeb09f6a50a766c3eaba26fae53f604d8d88c2010ea04ddb05";
    const [a, b] = [await open(), await open()];
    await a.setInputFiles("#file-input", `${ROOT}tests/fixtures/docker20/basic/image-store.tar`);
    await a.waitForSelector("#import-report:not([hidden])");
    await b.evaluate((h) => (location.hash = h), `#/image/${EDGE}`);
    await b.waitForSelector("#layers-table button");
    await b.waitForSelector("#layer-explorer #file-tree li");
    await b.setViewportSize({ width: 1000, height: 500 });
    // The user opened a layer's files, scrolled there, and has focus on its button.
    const button = '#layers-table button[aria-label="List files of layer 1"]';
    await b.click(button);
    await b.waitForSelector("#layers-table .files-row table");
    await b.evaluate(() => document.querySelector("#section-layers").scrollIntoView());
    const scrollY = await b.evaluate(() => window.scrollY);
    assert.ok(scrollY > 100, "scrolled down to the layers");
    const hide = '#layers-table button[aria-label="Hide files of layer 1"]';
    await b.focus(hide);
    // Where the user's eyes are: the focused button's place on the screen. (The page's scroll
    // offset may change when a section above it grows, as the analysis panel can while it fills
    // in; the browser's scroll anchoring then keeps what is on screen in place.)
    const onScreen = () => b.$eval(hide, (el) => Math.round(el.getBoundingClientRect().top));
    const top = await onScreen();

    await a.evaluate(async () => {
      const s = await lib.Store.open("imagestore-page");
      await s.tagImage("local/edge:latest", "local/edge", "from-tab-a");
    });
    await b.waitForFunction(() => /local\/edge:from-tab-a/.test(document.querySelector("#section-summary").textContent));
    await b.waitForFunction(() => /local\/edge:from-tab-a/.test(document.querySelector("#raw-json").textContent));
    assert.equal(await b.$$eval("#layers-table .files-row table", (t) => t.length), 1, "the open file list stays open");
    assert.equal(await b.evaluate(() => document.activeElement.getAttribute("aria-label")), "Hide files of layer 1", "focus stays on the button");
    assert.equal(await onScreen(), top, "the screen stays where it was");

    // Removed in another tab: the view says so instead of showing a stale image.
    await a.evaluate(async (id) => {
      const s = await lib.Store.open("imagestore-page");
      await s.removeImage(id, { force: true });
    }, EDGE);
    await b.waitForSelector("#inspect-gone");
    assert.match(await b.textContent("#inspect-view .error"), /removed from the store in another tab/);
  }));

test("two tabs changing different labels of one blob and one image at once both keep theirs, and each view follows", () =>
  withContext(async (_context, open) => {
    // The page's own store, so that tab B's containerd content view is one of the views that follow.
    const name = "imagestore-page";
    const N = 16;
    const [a, b] = [await open(), await open()];
    const target = await a.evaluate(
      async ({ name, tar }) => {
        const s = await lib.Store.open(name);
        await s.import(b64(tar), { namespace: "labels" });
        const [image] = await s.containerd("labels").listImages();
        return { image, digest: image.target.digest };
      },
      { name, tar: BASIC_OCI },
    );
    const before = await a.evaluate(
      async ({ name, digest, image }) => {
        const ns = (await lib.Store.open(name)).containerd("labels");
        return { blob: (await ns.content.info(digest)).labels ?? {}, image: (await ns.getImage(image.name)).labels ?? {} };
      },
      { name, ...target },
    );
    assert.ok(Object.keys(before.blob).some((k) => k.startsWith("containerd.io/gc.ref")), "the manifest has its gc labels");
    // Tab B shows the namespace's content (ctr content ls, labels included).
    await b.evaluate(() => (location.hash = "#/containerd/labels/content"));
    await b.waitForFunction(() => document.querySelectorAll("#ctr-content tbody tr").length > 0);
    for (const page of [a, b]) {
      await page.evaluate(async (name) => {
        window.s = await lib.Store.open(name);
        window.heard = [];
        s.onChange((e) => heard.push(e.reason));
      }, name);
    }
    // Both tabs at once: each sets its own N labels on the blob and on the image, all calls in
    // flight together, and tab A re-imports the archive (its records merge into the stored ones).
    const race = (page, me) =>
      page.evaluate(
        async ({ me, N, digest, image, tar }) => {
          const ns = s.containerd("labels");
          const calls = [];
          for (let i = 0; i < N; i++) {
            const key = `${me}-${i}`;
            calls.push(ns.content.update({ digest, labels: { [key]: String(i) } }, `labels.${key}`));
            calls.push(ns.updateImage({ ...image, labels: { [key]: String(i) } }, `labels.${key}`));
            if (me === "a" && i === N / 2) calls.push(s.import(b64(tar), { namespace: "labels" }));
            await new Promise((r) => setTimeout(r, Math.random() * 5));
          }
          await Promise.all(calls);
        },
        { me, N, ...target, tar: BASIC_OCI },
      );
    await Promise.all([race(a, "a"), race(b, "b")]);
    const mine = (me) => Object.fromEntries(Array.from({ length: N }, (_, i) => [`${me}-${i}`, String(i)]));
    const want = { blob: { ...before.blob, ...mine("a"), ...mine("b") }, image: { ...before.image, ...mine("a"), ...mine("b") } };
    // Read in a tab opened afterwards, and in both racing tabs without reopening.
    const labelsIn = (page, reopen) =>
      page.evaluate(
        async ({ name, digest, image, reopen }) => {
          const ns = (reopen ? await lib.Store.open(name) : s).containerd("labels");
          return { blob: (await ns.content.info(digest)).labels, image: (await ns.getImage(image.name)).labels };
        },
        { name, ...target, reopen },
      );
    assert.deepEqual(await labelsIn(await open(), true), want, "every label of both tabs is stored");
    assert.deepEqual(await labelsIn(a, false), want, "tab A reads both tabs' labels");
    assert.deepEqual(await labelsIn(b, false), want, "tab B reads both tabs' labels");
    // Each tab heard the other's commits; tab B's content view shows tab A's labels.
    await a.waitForFunction(() => heard.includes("changed"));
    await b.waitForFunction(() => heard.includes("changed"));
    const shown = () => b.$eval("#ctr-content", (t) => t.textContent);
    await b.waitForFunction((n) => {
      const text = document.querySelector("#ctr-content")?.textContent ?? "";
      return text.includes(`a-${n - 1}=${n - 1}`) && text.includes(`b-${n - 1}=${n - 1}`);
    }, N);
    // One more change in A: B hears it and its view shows it without a reload.
    const heardBefore = await b.evaluate(() => heard.length);
    await a.evaluate(({ digest }) => s.containerd("labels").content.update({ digest, labels: { last: "from-a" } }, "labels.last"), target);
    await b.waitForFunction((n) => heard.length > n, heardBefore);
    await b.waitForFunction(() => (document.querySelector("#ctr-content")?.textContent ?? "").includes("last=from-a"));
    assert.ok((await shown()).includes("a-0=0"));
  }));

/** The state a store holds, for before/after comparisons (read in a page of its own). */
async function snapshot(open, name) {
  const page = await open();
  const state = await page.evaluate(async (name) => {
    const s = await lib.Store.open(name);
    // The search index is derived and written in its own commit after an import's; a search
    // brings it up to date, so the record counts compare the source records plus a current index.
    await s.findFiles("/etc/**");
    const info = await s.storeInfo();
    const out = { tags: await tagsOf(s), ids: await idsOf(s), meta: info.metaRecords, chunks: info.chunkRecords };
    s.close();
    return out;
  }, name);
  await page.close();
  return state;
}

test("a tab closed in the middle of an import, a tag or an rmi leaves the state before or after, never a mix", () =>
  withContext(async (_context, open) => {
    const name = "tabs-kill";
    // The states to compare with: empty, and after the import (made once, then cleared).
    const empty = await snapshot(open, name);
    const probe = await open();
    const full = await probe.evaluate(
      async ({ name, tar }) => {
        const s = await lib.Store.open(name);
        await s.import(b64(tar));
        await s.findFiles("/etc/**");
        const info = await s.storeInfo();
        const out = { tags: await tagsOf(s), ids: await idsOf(s), meta: info.metaRecords, chunks: info.chunkRecords };
        s.close();
        await lib.Store.destroy(name);
        return out;
      },
      { name, tar: SCALE200 },
    );
    // A Docker root's import writes no chunk before its commit (its configs and tar-splits are
    // kept inside their blob records), so a cut import can only leave records, or nothing.
    assert.ok(full.ids.length > 100 && full.chunks === 0, JSON.stringify(full));

    // Imports cut at many points: the tab is closed (no unload) t ms after it started.
    const outcomes = { before: 0, after: 0 };
    for (const t of [5, 20, 40, 80, 120, 200, 300, 450, 700, 1000, 1500, 2500]) {
      const tab = await open();
      await tab.evaluate(
        ({ name, tar }) => {
          window.started = lib.Store.open(name).then((s) => s.import(b64(tar)));
        },
        { name, tar: SCALE200 },
      );
      await new Promise((r) => setTimeout(r, t));
      await tab.close({ runBeforeUnload: false });
      const after = await snapshot(open, name);
      if (after.ids.length === 0) {
        assert.deepEqual(after, empty, `closed after ${t} ms: nothing, and no chunk left behind`);
        outcomes.before++;
      } else {
        assert.deepEqual(after, full, `closed after ${t} ms: everything`);
        outcomes.after++;
        const cleared = await open();
        await cleared.evaluate((name) => lib.Store.destroy(name), name);
        await cleared.close();
      }
    }
    assert.ok(outcomes.before > 0, `some imports were cut before their commit: ${JSON.stringify(outcomes)}`);

    // Tags and removals cut at many points, on the full store.
    const setup = await open();
    await setup.evaluate(async ({ name, tar }) => (await lib.Store.open(name)).import(b64(tar)), { name, tar: SCALE200 });
    await setup.close();
    let state = await snapshot(open, name);
    for (const [i, t] of [0, 1, 2, 4, 8, 15, 30].entries()) {
      const tab = await open();
      const victim = state.tags[i];
      await tab.evaluate(
        ({ name, victim, i }) => {
          window.started = lib.Store.open(name).then(async (s) => {
            await s.tagImage(victim, "cut/tag", String(i));
            await s.removeImage(victim);
          });
        },
        { name, victim, i },
      );
      await new Promise((r) => setTimeout(r, t));
      await tab.close({ runBeforeUnload: false });
      const now = await snapshot(open, name);
      const tagged = [...state.tags, `cut/tag:${i}`].sort();
      const moved = tagged.filter((x) => x !== victim);
      const allowed = [state.tags, tagged, moved].map((x) => JSON.stringify(x));
      assert.ok(allowed.includes(JSON.stringify(now.tags)), `cut after ${t} ms: tags are one of the states in order`);
      assert.deepEqual(now.ids, state.ids, "a retag and untag never deletes an image");
      state = now;
    }
  }));
