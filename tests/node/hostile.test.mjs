// The built package (pkg/, `make build`) under misuse, through wasm-bindgen's real JS glue and
// in fresh Node processes, so that a trap or an uncaught TypeError would show as a crashed
// process: wrong argument types, odd stream and Blob inputs, a throwing onProgress, an abort
// timer during an import into the memory backend. Every call must reject with an Error that
// has a `code`, and the store must answer afterwards.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const ENTRY = pathToFileURL(join(ROOT, "pkg/node/index.mjs")).href;
const BASIC = join(ROOT, "tests/fixtures/docker20/basic/image-store.tar");

/** Runs `body` (ESM, with `Store`, `basic` bytes and `outcome(promise)` in scope) in a fresh Node. */
async function inFreshNode(body) {
  assert.ok(existsSync(join(ROOT, "pkg/node/index.mjs")), "pkg/ is not built: run `make build` first");
  const code = `
    import { Store } from ${JSON.stringify(ENTRY)};
    import { readFileSync } from "node:fs";
    const basic = new Uint8Array(readFileSync(${JSON.stringify(BASIC)}));
    async function outcome(p) {
      try { await p; return "resolved"; }
      catch (e) { return e instanceof Error ? (e.code ?? "no code: " + e.message) : "non-Error: " + String(e); }
    }
    ${body}
  `;
  const env = { ...process.env, NODE_OPTIONS: "" };
  const { stdout } = await run(process.execPath, ["--input-type", "module", "-e", code], { env, timeout: 120_000 });
  return JSON.parse(stdout.trim().split("\n").pop());
}

test("wrong argument types reject with invalid_argument and the store stays usable", async () => {
  const got = await inFreshNode(`
    const store = await Store.open("hostile", { backend: "memory" });
    await store.import(basic);
    const out = {};
    for (const [label, value] of [["42", 42], ["null", null], ["object", {}], ["undefined", undefined]]) {
      out["inspectImage " + label] = await outcome(store.inspectImage(value));
      out["imageHistory " + label] = await outcome(store.imageHistory(value));
      out["imageParent " + label] = await outcome(store.imageParent(value));
      out["imageChildren " + label] = await outcome(store.imageChildren(value));
      out["search " + label] = await outcome(store.search(value));
      out["removeImage " + label] = await outcome(store.removeImage(value));
      out["tagImage " + label] = await outcome(store.tagImage(value, "a/b"));
      out["layerFiles " + label] = await outcome(store.layerFiles(value));
      out["getImage " + label] = await outcome(store.containerd("default").getImage(value));
      out["content.info " + label] = await outcome(store.containerd("default").content.info(value));
      out["Store.open " + label] = await outcome(Store.open(value, { backend: "memory" }));
      try { store.containerd(value); out["containerd " + label] = "returned"; }
      catch (e) { out["containerd " + label] = e.code ?? "no code"; }
    }
    out.after = (await store.listImages({ all: true })).length;
    console.log(JSON.stringify(out));
  `);
  const after = got.after;
  delete got.after;
  for (const [call, code] of Object.entries(got)) assert.equal(code, "invalid_argument", call);
  assert.ok(after > 0, "the store answers after the misuse");
});

test("odd inputs and callbacks reject with a code instead of killing the process", async () => {
  const got = await inFreshNode(`
    const store = await Store.open("inputs", { backend: "memory" });
    const out = {};
    out.noCancel = await outcome(store.import({ getReader: () => ({ read: async () => ({ done: false, value: "x" }) }) }));
    out.sliceNotBlob = await outcome(store.import({ size: 10, slice: () => 42, arrayBuffer: async () => new ArrayBuffer(0) }));
    out.onProgressThrows = await outcome(store.import(basic, { onProgress() { throw new Error("bug"); } }));
    const c = new AbortController();
    setTimeout(() => c.abort(), 0);
    const big = new Uint8Array(64 << 20);
    out.timerAbort = await outcome(store.import(big, { signal: c.signal }));
    out.timeoutSignal = await outcome(store.import(big, { signal: AbortSignal.timeout(1) }));
    out.after = await outcome(store.import(basic));
    console.log(JSON.stringify(out));
  `);
  assert.deepEqual(got, {
    noCancel: "invalid_argument",
    sliceNotBlob: "invalid_argument",
    onProgressThrows: "aborted",
    timerAbort: "aborted",
    timeoutSignal: "aborted",
    after: "resolved",
  });
});

test("the memory backend refuses an import it cannot hold with resource_exhausted", async () => {
  const got = await inFreshNode(`
    const store = await Store.open("small", { backend: "memory", memoryLimit: 65536 });
    const out = { full: await outcome(store.import(basic)), info: (await store.storeInfo()).chunkRecords };
    out.list = (await store.listImages()).length;
    console.log(JSON.stringify(out));
  `);
  assert.deepEqual(got, { full: "resource_exhausted", info: 0, list: 0 });
});
