// `make serve` right after `make build` must not rebuild: scripts/build.sh leaves pkg/ alone
// when it was made from the same wasm and template (the slow wasm-bindgen + wasm-opt steps took
// ~70 s every time before). The e2e tier has just built pkg/, so this run must find it current.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
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

// V8 compiles a wasm function whole: lazily on its first call, and again with its optimising
// compiler once the function is hot. binaryen's default inlining of every function that has one
// caller had made the import's futures 36–103 KB functions, and a first import in a fresh page
// compiled code it never ran (README, "Store size", session 24); scripts/build.sh caps that
// inlining. The largest function is 21 KB with the cap, 103 KB without it.
test("no function of the built wasm is larger than 32 KiB", () => {
  const bytes = readFileSync(join(ROOT, "pkg/web/imagestore_bg.wasm"));
  let at = 8; // magic and version
  const leb = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  const sizes = [];
  while (at < bytes.length) {
    const id = bytes[at++];
    const end = leb() + at;
    if (id === 10) { // the code section: a count, then each body behind its size
      for (let n = leb(); n > 0; n--) {
        const size = leb();
        sizes.push(size);
        at += size;
      }
    }
    at = end;
  }
  assert.ok(sizes.length > 1000, `found the functions (${sizes.length})`);
  const largest = Math.max(...sizes);
  assert.ok(largest <= 32 * 1024, `the largest function is ${largest} bytes`);
});
