// scripts/serve.mjs, the page's dev server (`make serve`, the e2e tests and bench-page.mjs): it
// serves files with validators and `no-cache`, answers 304 while a client's copy is current,
// and the new bytes (200, a new ETag) once the file changed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../../scripts/serve.mjs";

let dir;
let server;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "imagestore-dev-server-"));
  writeFileSync(join(dir, "index.html"), "<!doctype html><title>t</title>\n");
  writeFileSync(join(dir, "app.wasm"), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  server = await startServer({ port: 0, mounts: [["/", dir]] });
});

after(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const get = (path, headers = {}, method = "GET") => fetch(server.url + path, { method, headers });

test("files go out with an ETag, Last-Modified and cache-control: no-cache", async () => {
  const res = await get("/app.wasm");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/wasm");
  assert.equal(res.headers.get("cache-control"), "no-cache");
  assert.match(res.headers.get("etag"), /^"[0-9a-f]+-[0-9a-f]+"$/);
  assert.ok(!Number.isNaN(Date.parse(res.headers.get("last-modified"))), res.headers.get("last-modified"));
  assert.deepEqual([...new Uint8Array(await res.arrayBuffer())], [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  // A folder is its index.html, with the same headers.
  const page = await get("/");
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("cache-control"), "no-cache");
  assert.ok(page.headers.get("etag"));
});

test("a current copy gets a bodiless 304: If-None-Match (strong, weak, in a list, *), else If-Modified-Since", async () => {
  const first = await get("/app.wasm");
  await first.arrayBuffer();
  const etag = first.headers.get("etag");
  for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
    const res = await get("/app.wasm", { "if-none-match": inm });
    assert.equal(res.status, 304, `If-None-Match: ${inm}`);
    assert.equal(res.headers.get("etag"), etag);
    assert.equal(res.headers.get("cache-control"), "no-cache");
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  }
  const head = await get("/app.wasm", { "if-none-match": etag }, "HEAD");
  assert.equal(head.status, 304);
  const since = await get("/app.wasm", { "if-modified-since": first.headers.get("last-modified") });
  assert.equal(since.status, 304, "If-Modified-Since the file's Last-Modified");
  // If-None-Match decides when both are sent: another ETag is not current, whatever the date.
  const both = await get("/app.wasm", { "if-none-match": '"other"', "if-modified-since": first.headers.get("last-modified") });
  assert.equal(both.status, 200);
  assert.equal((await both.arrayBuffer()).byteLength, 8);
  const older = await get("/app.wasm", { "if-modified-since": new Date(Date.parse(first.headers.get("last-modified")) - 10_000).toUTCString() });
  assert.equal(older.status, 200, "a copy older than the file");
  await older.arrayBuffer();
});

test("after the file changed, the old ETag gets 200 with the new bytes and a new ETag", async () => {
  const file = join(dir, "app.js");
  writeFileSync(file, "export const v = 1;\n");
  const first = await get("/app.js");
  assert.equal(await first.text(), "export const v = 1;\n");
  const etag = first.headers.get("etag");
  // A rebuild: new bytes of the same size, a later modification time.
  writeFileSync(file, "export const v = 2;\n");
  const later = new Date(Date.now() + 5_000);
  utimesSync(file, later, later);
  const res = await get("/app.js", { "if-none-match": etag, "if-modified-since": first.headers.get("last-modified") });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "export const v = 2;\n");
  assert.notEqual(res.headers.get("etag"), etag);
  assert.equal((await get("/app.js", { "if-none-match": res.headers.get("etag") })).status, 304);
});

test("errors are not cached", async () => {
  const missing = await get("/nope.js");
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get("cache-control"), "no-store");
  await missing.text();
  const post = await get("/app.wasm", {}, "POST");
  assert.equal(post.status, 405);
  await post.text();
});
