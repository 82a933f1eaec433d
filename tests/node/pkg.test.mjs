// The npm package as a user gets it: `npm pack` pkg/ (built by `make build`), install the
// tarball into an empty project, then use it from fresh Node processes, through ESM `import`
// and CommonJS `require`, with and without an IndexedDB implementation.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PKG = join(ROOT, "pkg");
const FAKE_INDEXEDDB = join(ROOT, "node_modules/fake-indexeddb/auto/index.js");

let project; // the temp project the tarball is installed into
let packed; // npm pack's report on the tarball

before(async () => {
  assert.ok(existsSync(join(PKG, "package.json")), "pkg/ is not built: run `make build` first");
  project = await mkdtemp(join(tmpdir(), "imagestore-pkg-test-"));
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", project], { cwd: PKG });
  [packed] = JSON.parse(stdout);
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true }));
  // Its one dependency (classic-level, for the fs backend) is a dev dependency of this repo too,
  // so npm's cache has its tarball. Not --offline: npm 11 also wants classic-level's full registry
  // document, which `npm ci` does not cache (ENOTCACHED on a fresh machine); npm fetches only that.
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", `./${packed.filename}`], {
    cwd: project,
  });
});

after(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

/** Runs `code` in a fresh Node process inside the consumer project; resolves to its stdout. */
async function node(code, { esm = true, preload = [] } = {}) {
  const args = [...preload.flatMap((p) => ["--require", p]), "--input-type", esm ? "module" : "commonjs", "-e", code];
  const env = { ...process.env, NODE_OPTIONS: "" }; // no preloads inherited from the test runner
  const { stdout } = await run(process.execPath, args, { cwd: project, env });
  return stdout.trim();
}

test("the tarball holds both builds, the types, README and LICENSE", () => {
  const files = packed.files.map((f) => f.path).sort();
  for (const f of [
    "LICENSE",
    "README.md",
    "package.json",
    "node/imagestore.js",
    "node/index.js",
    "node/index.mjs",
    "node/fs_adapter.js",
    "node/cli.js",
    "node/serve.js",
    "node/docker_format.js",
    "node/imagestore.d.ts",
    "node/imagestore_bg.wasm",
    "web/index.js",
    "web/imagestore.js",
    "web/imagestore_bg.wasm",
  ]) {
    assert.ok(files.includes(f), `${f} missing from the tarball: ${files.join(", ")}`);
  }
});

test("package.json: name, version from Cargo.toml, entry points that exist", () => {
  const pkg = JSON.parse(readFileSync(join(project, "node_modules/imagestore/package.json"), "utf8"));
  const cargoVersion = readFileSync(join(ROOT, "Cargo.toml"), "utf8").match(/^version\s*=\s*"([^"]+)"/m)[1];
  assert.equal(pkg.name, "imagestore");
  assert.equal(pkg.version, cargoVersion);
  const root = pkg.exports["."];
  for (const target of [root.types, root.node.import, root.node.require, root.browser, root.default]) {
    assert.ok(existsSync(join(project, "node_modules/imagestore", target)), `exports target ${target} missing`);
  }
});

test("the .d.ts declares ErrorCode as exactly the codes src/error.rs defines", () => {
  const dts = readFileSync(join(project, "node_modules/imagestore/node/imagestore.d.ts"), "utf8");
  const source = readFileSync(join(ROOT, "src/error.rs"), "utf8");
  const list = source.slice(source.indexOf("error_codes! {"));
  const defined = [...list.slice(0, list.indexOf("\n}")).matchAll(/^\s+\w+ = "(\w+)",$/gm)].map((m) => m[1]);
  assert.ok(defined.length >= 13, `codes read from src/error.rs: ${defined}`);
  const union = dts.match(/export type ErrorCode =([^;]*);/);
  assert.ok(union, "no ErrorCode type in the .d.ts");
  const declared = [...union[1].matchAll(/"(\w+)"/g)].map((m) => m[1]);
  assert.deepEqual(declared, defined);
  assert.match(dts, /interface ImageStoreError extends Error \{\s*code: ErrorCode;/);
});

test("ESM import: open and close a memory store", async () => {
  const out = await node(`
    import { Store } from "imagestore";
    const store = await Store.open("esm", { backend: "memory" });
    store.close();
    console.log(typeof Store.open, typeof Store.destroy, "closed");
  `);
  assert.equal(out, "function function closed");
});

test("CommonJS require: open and close a memory store", async () => {
  const out = await node(
    `
    const { Store } = require("imagestore");
    Store.open("cjs", { backend: "memory" }).then((store) => { store.close(); console.log("closed"); },
      (err) => { console.error(err); process.exit(1); });
  `,
    { esm: false },
  );
  assert.equal(out, "closed");
});

test("import and require share one module instance", async () => {
  const out = await node(`
    import { createRequire } from "node:module";
    import { Store } from "imagestore";
    console.log(createRequire(import.meta.url)("imagestore").Store === Store);
  `);
  assert.equal(out, "true");
});

test("IndexedDB backend without an indexedDB global: a clear Error naming the ways out", async () => {
  const out = await node(`
    import { Store } from "imagestore";
    try {
      await Store.open("x");
      console.log("opened?!");
    } catch (err) {
      console.log(JSON.stringify({ isError: err instanceof Error, message: err.message }));
    }
  `);
  const { isError, message } = JSON.parse(out);
  assert.ok(isError, "the rejection is not an Error");
  assert.match(message, /memory/, message);
  assert.match(message, /fake-indexeddb/, message);
});

test("IndexedDB backend with fake-indexeddb loaded: opens, closes and destroys", async () => {
  const out = await node(
    `
    import { Store } from "imagestore";
    const store = await Store.open("with-fake");
    const names = (await indexedDB.databases()).map((d) => d.name);
    store.close();
    await Store.destroy("with-fake");
    const after = (await indexedDB.databases()).map((d) => d.name);
    console.log(JSON.stringify({ names, after }));
  `,
    { preload: [FAKE_INDEXEDDB] },
  );
  const { names, after: remaining } = JSON.parse(out);
  assert.ok(names.includes("with-fake"), `databases after open: ${names}`);
  assert.ok(!remaining.includes("with-fake"), `databases after destroy: ${remaining}`);
});

test("the fs backend and the imagestore bin work in the installed package (ESM and CommonJS)", async () => {
  const dir = join(project, "fs-store");
  const esm = await node(`
    import { Store } from "imagestore";
    const store = await Store.open("disk", { backend: "fs", path: ${JSON.stringify(dir)} });
    console.log(store.backend); store.close();
  `);
  assert.equal(esm, "fs");
  const cjs = await node(
    `const { Store } = require("imagestore");
     Store.open("disk", { backend: "fs", path: ${JSON.stringify(dir)} }).then((s) => { console.log(s.backend); s.close(); });`,
    { esm: false },
  );
  assert.equal(cjs, "fs");
  const { stdout } = await run("npx", ["--no-install", "imagestore", "--store", dir, "images"], { cwd: project });
  assert.equal(stdout, "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n");
});

test("npx imagestore: load, images, save, system df, dive --ci, ctr — the newer commands work installed", async () => {
  const dir = join(project, "npx-store");
  const basic = join(ROOT, "tests/fixtures/docker20/basic");
  const npx = (...args) =>
    run("npx", ["--no-install", "imagestore", "--store", dir, ...args], { cwd: project, maxBuffer: 64 << 20 }).catch((e) => e);
  const manifest = JSON.parse(execFileSync("tar", ["-xOf", join(basic, "docker-save.tar"), "manifest.json"], { encoding: "utf8" }));
  // load: dockerd's lines, one per tag in manifest order.
  const loaded = await npx("load", "-i", join(basic, "docker-save.tar"));
  assert.deepEqual(loaded.stdout.split("\n").filter(Boolean), manifest.flatMap((m) => m.RepoTags.map((t) => `Loaded image: ${t}`)));
  // load refuses what dockerd refuses (an OCI layout without manifest.json).
  const refused = await npx("load", "-i", join(basic, "oci-archive.tar"));
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^open \/var\/lib\/docker\/tmp\/docker-import-\d+\/blobs\/json: no such file or directory\n$/);
  // images: every tag listed.
  const images = (await npx("images", "--format", "json")).stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l));
  assert.deepEqual(images.map((i) => `${i.Repository}:${i.Tag}`).sort(), manifest.flatMap((m) => m.RepoTags).sort());
  // save: the archive's manifest.json is docker save's, for the image asked.
  const out = join(project, "edge.tar");
  assert.equal((await npx("save", "-o", out, "local/edge:latest")).stdout, "");
  const saved = JSON.parse(execFileSync("tar", ["-xOf", out, "manifest.json"], { encoding: "utf8" }));
  assert.deepEqual(saved, manifest.filter((m) => m.RepoTags.includes("local/edge:latest")).map((m) => ({ ...m, RepoTags: ["local/edge:latest"] })));
  // system df: docker's table, with the images just loaded.
  const df = (await npx("system", "df")).stdout.split("\n");
  assert.match(df[0], /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
  assert.match(df[1], new RegExp(`^Images\\s+${new Set(images.map((i) => i.ID)).size}\\s+0\\s`));
  // dive --ci: dive's report and verdict.
  const dive = await npx("dive", "--ci", "local/edge:latest");
  assert.ok([0, 1].includes(dive.code ?? 0), dive.stderr);
  assert.match(dive.stdout, /efficiency: [\d.]+ %/);
  assert.match(dive.stdout, /Result:(PASS|FAIL)/);
  // ctr: a containerd root imported, listed as ctr lists it.
  assert.equal((await npx("import", join(basic, "containerd-root.tar"))).code ?? 0, 0);
  const ctr = await npx("ctr", "-n", "default", "images", "ls");
  assert.equal(ctr.stdout, readFileSync(join(basic, "expected", "ctr-images-default.txt"), "utf8"));
  const content = (await npx("ctr", "content", "ls")).stdout;
  assert.match(content, /^DIGEST\t+SIZE\tAGE\tLABELS\n/);
  assert.match(content, /^sha256:e100af7cf35b6cd513e8fe4dc94432aab1abdfeddecdc7f033a2a51db55e4d3b\t1\.997MB\t/m);
});
