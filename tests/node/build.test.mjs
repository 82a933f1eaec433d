// `make serve` right after `make build` must not rebuild: scripts/build.sh leaves pkg/ alone
// when it was made from the same wasm and template (the slow wasm-bindgen + wasm-opt steps took
// ~70 s every time before). The e2e tier has just built pkg/, so this run must find it current.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

test("a second build with nothing changed keeps pkg/ as it is", async () => {
  const wasm = join(ROOT, "pkg/web/imagestore_bg.wasm");
  const before = statSync(wasm).mtimeMs;
  const { stdout, stderr } = await run("bash", ["scripts/build.sh"], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: "" } });
  assert.match(stderr, /pkg\/ is up to date/, stderr);
  assert.match(stdout, /^wasm size: \d+ bytes raw, \d+ bytes gzipped/m, "the size is still printed");
  assert.equal(statSync(wasm).mtimeMs, before, "pkg/ was not rewritten");
});
