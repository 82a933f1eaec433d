// A `docker save` with one real 5 GiB layer, imported into IndexedDB in headless Chromium with an
// on-disk profile (issue 10: "a docker save with a real 5 GiB layer imports with IndexedDB in
// bounded wasm memory"). Nothing of it is on disk before: the page generates the archive as a
// ReadableStream (1 MiB chunks of pseudo-random bytes, each numbered, so no two are alike), and
// Node generates the same layer bytes to hash them, which gives the DiffID the config names.
// Sizes past 4 GiB are checked on the way: the layer member's size is a base-256 (GNU binary)
// size field in its tar header, the outer `layer.tar` entry an 11-digit octal one, and the store
// must report the exact 64-bit sizes back. BIG_LAYER_BYTES changes the layer's file size.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startServer } from "../../scripts/serve.mjs";
import { CHROMIUM, CHROMIUM_ARGS } from "./harness.mjs";

const FILE_BYTES = Number(process.env.BIG_LAYER_BYTES || 5 * 2 ** 30);
const WASM_MEMORY_BOUND = 64 * 2 ** 20;

// Shared with the page (passed as source): the archive's pieces, all deterministic.
function generator(fileBytes) {
  const BLOCK = 512;
  const CHUNK = 1 << 20;
  const enc = new TextEncoder();
  const octal = (n, width) => n.toString(8).padStart(width - 1, "0") + "\0";
  const header = (name, size, { base256 = false } = {}) => {
    const h = new Uint8Array(BLOCK);
    const put = (text, at) => h.set(enc.encode(text), at);
    put(name, 0);
    put("0000644\0", 100);
    put("0000000\0", 108);
    put("0000000\0", 116);
    if (base256) {
      // GNU binary size: 0x80 then the size big-endian in the other 11 bytes.
      h[124] = 0x80;
      let n = BigInt(size);
      for (let i = 135; i > 124; i--) {
        h[i] = Number(n & 0xffn);
        n >>= 8n;
      }
    } else {
      put(octal(size, 12), 124);
    }
    put(octal(1700000000, 12), 136);
    h[156] = "0".charCodeAt(0);
    put("ustar\0", 257);
    put("00", 263);
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    put(octal(sum, 7) + " ", 148);
    return h;
  };
  const pad = (size) => new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
  // One MiB of xorshift bytes; chunk i is it with i written into its first 8 bytes.
  const base = new Uint8Array(CHUNK);
  let x = 0x9e3779b9;
  for (let i = 0; i < CHUNK; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    base[i] = x & 0xff;
  }
  function* fileChunks() {
    for (let at = 0, i = 0; at < fileBytes; at += CHUNK, i++) {
      const c = base.slice(0, Math.min(CHUNK, fileBytes - at));
      new DataView(c.buffer).setBigUint64(0, BigInt(i));
      yield c;
    }
  }
  // The layer tar: one file, its padding, the end-of-archive blocks.
  const layerSize = BLOCK + fileBytes + pad(fileBytes).length + 2 * BLOCK;
  function* layerChunks() {
    yield header("big.bin", fileBytes, { base256: true });
    yield* fileChunks();
    yield pad(fileBytes);
    yield new Uint8Array(2 * BLOCK);
  }
  // The docker save around it, in `docker save`'s order (layer folder, config, manifest last).
  function* archiveChunks(diffId, configJson, configHex) {
    const v1 = "a".repeat(64);
    yield header(`${v1}/`, 0);
    yield header(`${v1}/layer.tar`, layerSize);
    yield* layerChunks();
    yield pad(layerSize);
    const config = enc.encode(configJson);
    yield header(`${configHex}.json`, config.length);
    yield config;
    yield pad(config.length);
    const manifest = enc.encode(
      JSON.stringify([{ Config: `${configHex}.json`, RepoTags: ["big/layer:5g"], Layers: [`${v1}/layer.tar`] }]),
    );
    yield header("manifest.json", manifest.length);
    yield manifest;
    yield pad(manifest.length);
    yield new Uint8Array(2 * BLOCK);
  }
  const config = (diffId) =>
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: "2023-11-14T22:13:20Z",
      config: { Cmd: ["/big.bin"] },
      rootfs: { type: "layers", diff_ids: [diffId] },
      history: [{ created: "2023-11-14T22:13:20Z", created_by: "COPY big.bin / # 5 GiB" }],
    });
  return { layerChunks, archiveChunks, config, layerSize };
}

test(`a docker save with a ${(FILE_BYTES / 2 ** 30).toFixed(1)} GiB layer imports into IndexedDB in bounded wasm memory`, { timeout: 40 * 60_000 }, async () => {
  const started = Date.now();
  const gen = generator(FILE_BYTES);
  const sha = createHash("sha256");
  for (const c of gen.layerChunks()) sha.update(c);
  const diffId = `sha256:${sha.digest("hex")}`;
  const configJson = gen.config(diffId);
  const configHex = createHash("sha256").update(configJson).digest("hex");
  const hashed = Date.now();

  const server = await startServer({ port: 0 });
  const profile = await mkdtemp(join(tmpdir(), "imagestore-big-layer-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  try {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    // A same-origin document with no script of its own: the module instance is the test's alone.
    await page.goto(`${server.url}/pkg/package.json`);
    const result = await page.evaluate(
      async ({ genSource, fileBytes, diffId, configJson, configHex }) => {
        const gen = new Function(`return (${genSource})`)()(fileBytes);
        const { Store } = await import("/pkg/web/index.js");
        const wasm = await (await import("/pkg/web/imagestore.js")).default();
        const memory = () => wasm.memory.buffer.byteLength;
        const chunks = gen.archiveChunks(diffId, configJson, configHex);
        let streamed = 0;
        const stream = new ReadableStream({
          pull(controller) {
            const next = chunks.next();
            if (next.done) controller.close();
            else {
              streamed += next.value.length;
              controller.enqueue(next.value);
            }
          },
        });
        const name = `big-layer-${Date.now()}`;
        const store = await Store.open(name);
        let peak = memory();
        const t0 = performance.now();
        try {
          const report = await store.import(stream, { onProgress: () => (peak = Math.max(peak, memory())) });
          const importSecs = (performance.now() - t0) / 1000;
          const inspect = await store.inspectImage("big/layer:5g");
          const [row] = await store.listImages();
          const history = await store.imageHistory("big/layer:5g");
          const files = await store.layerFiles("big/layer:5g");
          peak = Math.max(peak, memory());
          return {
            ok: true, report, importSecs, streamed, peak, end: memory(),
            layers: inspect.RootFS.Layers, size: inspect.Size, listSize: row.Size,
            historySize: history[0].Size, files: files.map((f) => ({ path: f.path, size: f.size })),
          };
        } catch (e) {
          return { ok: false, code: e.code, message: String(e.message ?? e), streamed, peak };
        } finally {
          store.close();
          await Store.destroy(name);
        }
      },
      { genSource: generator.toString(), fileBytes: FILE_BYTES, diffId, configJson, configHex },
    );
    const secs = (Date.now() - started) / 1000;
    console.log(
      `# big layer: ${FILE_BYTES} byte file, ${result.streamed} bytes streamed; Node hash ${((hashed - started) / 1000).toFixed(1)} s, ` +
        `import ${result.importSecs?.toFixed(1)} s, whole test ${secs.toFixed(1)} s; wasm memory peak ${(result.peak / 2 ** 20).toFixed(1)} MiB`,
    );
    assert.ok(result.ok, `import failed: ${result.code}: ${result.message}`);
    assert.deepEqual(errors, []);
    assert.equal(result.report.images, 1);
    assert.deepEqual(result.layers, [diffId], "the layer's DiffID is the SHA-256 of the generated layer tar");
    // Sizes past 4 GiB come back exact (no 32-bit truncation anywhere on the way).
    assert.equal(result.size, FILE_BYTES, "inspect Size");
    assert.equal(result.listSize, FILE_BYTES, "images list Size");
    assert.equal(result.historySize, FILE_BYTES, "history Size");
    assert.deepEqual(result.files.filter((f) => f.path.includes("big.bin")).map((f) => f.size), [FILE_BYTES]);
    assert.ok(result.peak >= 2 ** 20, `wasm memory read as ${result.peak} bytes: not the module's memory?`);
    assert.ok(result.peak < WASM_MEMORY_BOUND, `wasm memory peaked at ${result.peak} bytes (bound ${WASM_MEMORY_BOUND})`);
  } finally {
    await context.close();
    await server.close();
    await rm(profile, { recursive: true, force: true });
  }
});
