// How the page loads: index.html preloads every module the page imports, the ones the first rows
// after a reload wait for (main.js's static imports, all the way down, and the package's) before
// the rest (what main.js imports while the store opens); and a reload revalidates the wasm and
// the modules (304s from scripts/serve.mjs) instead of downloading them again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { withPage } from "./harness.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const HTML = readFileSync(`${ROOT}www/index.html`, "utf8");
const IMPORT_MAP = JSON.parse(HTML.match(/<script type="importmap">(.*?)<\/script>/s)[1]).imports;

/** A page URL path ("/js/main.js") → the file the dev server serves for it. */
const fileOf = (path) => (path.startsWith("/pkg/") ? `${ROOT}${path.slice(1)}` : `${ROOT}www${path}`);

/** `spec` imported by the module at `from` (a URL path), as the browser resolves it. */
function resolve(spec, from) {
  const mapped = IMPORT_MAP[spec];
  return new URL(mapped ?? spec, `http://page${mapped ? "/" : from}`).pathname;
}

/** A module's static imports and its dynamic `import("…")`s, as URL paths. */
function importsOf(path) {
  const source = readFileSync(fileOf(path), "utf8").replace(/^\s*\/\/.*$/gm, "");
  const statics = [...source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm)].map((m) => m[1] ?? m[2]);
  const dynamics = [...source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
  return { statics: statics.map((s) => resolve(s, path)), dynamics: dynamics.map((s) => resolve(s, path)) };
}

/** Every module `roots` import statically, all the way down (roots included). */
function staticClosure(roots) {
  const seen = new Set();
  const todo = [...roots];
  while (todo.length) {
    const path = todo.pop();
    if (seen.has(path)) continue;
    seen.add(path);
    todo.push(...importsOf(path).statics);
  }
  return seen;
}

test("index.html preloads what the first rows wait for first, then every other module of the page", () => {
  const links = [...HTML.matchAll(/<link rel="(modulepreload|preload)" href="\.([^"]+)"[^>]*>|<!-- the rest of the page -->/g)];
  const restAt = links.findIndex((m) => !m[1]);
  assert.ok(restAt > 0, "index.html marks where the rest of the page's preloads start");
  const first = links.slice(0, restAt).map((m) => m[2]);
  const rest = links.slice(restAt + 1).map((m) => m[2]);
  const preloaded = [...first, ...rest];
  for (const path of preloaded) assert.ok(existsSync(fileOf(path)), `${path} is preloaded but there is no such file (is the package built?)`);
  assert.equal(new Set(preloaded).size, preloaded.length, "each file preloaded once");

  const main = new URL(HTML.match(/<script type="module" src="\.([^"]+)"/)[1], "http://page/").pathname;
  const critical = staticClosure([main]);
  for (const path of critical) assert.ok(first.includes(path), `${path} (imported by main.js, directly or not) is preloaded before the rest`);
  assert.ok(first.includes("/pkg/web/imagestore_bg.wasm"), "the wasm is preloaded first");

  // What main.js (or a module of the first rows) imports later, and everything that imports.
  const later = staticClosure([...critical].flatMap((path) => importsOf(path).dynamics));
  for (const path of later) {
    if (critical.has(path)) continue;
    assert.ok(rest.includes(path), `${path} (imported once the first rows are shown) is preloaded after them`);
  }
  for (const path of rest) assert.ok(later.has(path) && !critical.has(path), `${path} is preloaded with the rest but the page does not import it later`);
  for (const path of first) {
    if (path.endsWith(".wasm")) continue;
    assert.ok(critical.has(path), `${path} is preloaded first but the first rows do not wait for it`);
  }
});

test("a reload revalidates the wasm and the modules (304) instead of downloading them again", () =>
  withPage(async (p) => {
    await p.waitForSelector("body[data-ready=true]");
    await p.reload();
    await p.waitForSelector("body[data-ready=true]");
    const fetched = await p.evaluate(() =>
      performance.getEntriesByType("resource")
        .filter((e) => /\.(js|wasm)$/.test(new URL(e.name).pathname))
        .map((e) => ({ path: new URL(e.name).pathname, transferSize: e.transferSize, bodySize: e.encodedBodySize })));
    const wasm = fetched.find((e) => e.path.endsWith("/imagestore_bg.wasm"));
    assert.ok(wasm, "the wasm was asked for");
    assert.ok(wasm.bodySize > 1_000_000, `the wasm's body came from the cache (${wasm.bodySize} bytes)`);
    assert.ok(wasm.transferSize < 2_000, `only a 304's headers came over the wire for the wasm (${wasm.transferSize} bytes)`);
    assert.ok(fetched.length > 10, `the modules were asked for (${fetched.length})`);
    for (const e of fetched.filter((e) => e.bodySize > 2_000)) {
      assert.ok(e.transferSize < e.bodySize, `${e.path}: ${e.transferSize} bytes over the wire for a ${e.bodySize}-byte body`);
    }
    // The page works as after a first load: the list is there.
    assert.match(await p.textContent("#list-count"), /\d+ images?, \d+ rows?/);
  }));
