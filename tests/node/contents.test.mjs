// Layer contents through the built package (pkg/node) in Node: `docker save` export of an
// imported `docker save` archive, as a ReadableStream, compared entry by entry with what
// Docker 20.10 wrote (names, types, link targets, bytes), and import(save(x)) giving the same
// images back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const { Store } = createRequire(import.meta.url)(`${ROOT}pkg/node/imagestore.js`);
const REAL = new Uint8Array(readFileSync(`${ROOT}tests/fixtures/docker20/basic/docker-save.tar`));

/** Entries of a plain tar: name, type flag, link target, data. */
function entries(tar) {
  const out = [];
  const text = (a, b) => new TextDecoder().decode(tar.subarray(a, b)).replace(/\0.*$/s, "");
  for (let at = 0; at + 512 <= tar.length && tar.subarray(at, at + 512).some((b) => b !== 0); ) {
    const size = parseInt(text(at + 124, at + 136), 8);
    out.push({
      name: text(at, at + 100),
      type: String.fromCharCode(tar[at + 156]),
      link: text(at + 157, at + 257),
      data: tar.subarray(at + 512, at + 512 + size),
    });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

async function readAll(stream) {
  const parts = [];
  for await (const chunk of stream) {
    assert.ok(chunk instanceof Uint8Array);
    parts.push(chunk);
  }
  return new Uint8Array(Buffer.concat(parts));
}

function namesInManifestOrder(tar) {
  const manifest = JSON.parse(Buffer.from(entries(tar).find((e) => e.name === "manifest.json").data));
  return manifest.flatMap((m) => (m.RepoTags?.length ? m.RepoTags : [m.Config.replace(/\.json$/, "")]));
}

test("save({format: 'docker'}) streams the archive docker save wrote, entry by entry", async () => {
  const store = await Store.open("save", { backend: "memory" });
  await store.import(REAL);
  const ours = await readAll(await store.save(namesInManifestOrder(REAL), { format: "docker" }));
  const [got, want] = [entries(ours), entries(REAL)];
  assert.deepEqual(
    got.map((e) => [e.name, e.type, e.link]),
    want.map((e) => [e.name, e.type, e.link]),
  );
  for (let i = 0; i < want.length; i++) {
    assert.ok(Buffer.from(got[i].data).equals(Buffer.from(want[i].data)), `bytes of ${want[i].name}`);
  }
  assert.equal(ours.length, REAL.length);
  store.close();
});

test("import(save(x)) gives the same images, and a store without layer data refuses with the layers named", async () => {
  const store = await Store.open("a", { backend: "memory" });
  await store.import(REAL);
  const back = await Store.open("b", { backend: "memory" });
  await back.import(await store.save(["local/edge:latest", "local/base"]));
  const list = async (s) => (await s.listImages({ all: true })).map((i) => [i.Id, i.RepoTags, i.Size]);
  const want = (await list(store)).filter(([, tags]) => tags.some((t) => /^local\/(edge|base):/.test(t)));
  assert.deepEqual(await list(back), want);
  const edge = await back.inspectImage("local/edge:latest");
  assert.deepEqual(edge.RootFS, (await store.inspectImage("local/edge:latest")).RootFS);

  const bare = await Store.open("c", { backend: "memory" });
  await bare.import(new Uint8Array(readFileSync(`${ROOT}tests/fixtures/docker20/basic/image-store.tar`)));
  await assert.rejects(bare.save("local/edge:latest"), (e) => {
    assert.equal(e.code, "failed_precondition");
    for (const d of edge.RootFS.Layers) assert.ok(e.message.includes(d), `${e.message} names ${d}`);
    return true;
  });
  await assert.rejects(store.save(["local/edge"], { format: "zip" }), (e) => e.code === "invalid_argument");
  for (const s of [store, back, bare]) s.close();
});

test("readFile and readLayer stream the bytes of the layers docker saved", async () => {
  const store = await Store.open("read", { backend: "memory" });
  await store.import(REAL);
  const layerTar = entries(REAL).find((e) => e.name === "7aac28ca4f348dcc207f522beebc154207c23da040de62b88f37673643ab80a5/layer.tar");
  const data = entries(layerTar.data).find((e) => e.name === "app/data.txt").data;
  // /data/link is a symlink to /app/data.txt, two layers below.
  assert.ok(Buffer.from(await readAll(await store.readFile("local/edge", "/data/link"))).equals(Buffer.from(data)));
  assert.ok(Buffer.from(await readAll(await store.readLayer("local/edge", 2))).equals(Buffer.from(layerTar.data)));
  await assert.rejects(store.readFile("local/edge", "/app/built.txt"), (e) => e.code === "not_found");
  await assert.rejects(store.readFile("local/edge", "/etc"), (e) => e.code === "invalid_argument");
  store.close();
});

test("readDirectory streams a folder as the tar GNU tar extracts, its files the layers' bytes; cp does it from the CLI", async () => {
  const { execFileSync } = await import("node:child_process");
  const { mkdtempSync, rmSync, writeFileSync, readdirSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const store = await Store.open("dir", { backend: "memory" });
  await store.import(REAL);
  const tar = await readAll(await store.readDirectory("local/edge", "/app"));
  const names = entries(tar).map((e) => e.name);
  assert.deepEqual(names, ["app/", "app/data.txt"], "app/built.txt is whited out in edge");
  const layerTar = entries(REAL).find((e) => e.name === "7aac28ca4f348dcc207f522beebc154207c23da040de62b88f37673643ab80a5/layer.tar");
  const data = entries(layerTar.data).find((e) => e.name === "app/data.txt").data;
  assert.ok(Buffer.from(entries(tar)[1].data).equals(Buffer.from(data)));
  await assert.rejects(store.readDirectory("local/edge", "/app/data.txt"), (e) => e.code === "invalid_argument");
  await assert.rejects(store.readDirectory("local/edge", "/nope"), (e) => e.code === "not_found");
  await assert.rejects(store.readDirectory("local/edge", 7), (e) => e.code === "invalid_argument");
  store.close();

  // `imagestore cp`: a folder extracted, a folder as a tar on stdout, a file.
  const work = mkdtempSync(join(tmpdir(), "imagestore-cp-"));
  try {
    const cli = (...args) =>
      execFileSync(process.execPath, [`${ROOT}pkg/node/cli.js`, "--store", join(work, "store"), ...args], { maxBuffer: 64 << 20 });
    const archive = join(work, "save.tar");
    writeFileSync(archive, REAL);
    cli("load", "-i", archive);
    cli("cp", "local/edge:/data", join(work, "out"));
    const list = execFileSync("tar", ["-tf", "-"], { input: cli("cp", "local/edge:/data", "-") }).toString().trim().split("\n");
    assert.ok(list.includes("data/blob.bin") && list.includes("data/link"), list.join(" "));
    const blob = entries(REAL).flatMap((e) => (e.name.endsWith("/layer.tar") ? entries(e.data) : [])).find((e) => e.name === "data/blob.bin").data;
    assert.ok(readFileSync(join(work, "out", "blob.bin")).equals(Buffer.from(blob)), "extracted as DEST itself");
    cli("cp", "local/edge:/data/", join(work, "out"));
    assert.ok(readdirSync(join(work, "out")).includes("data"), "into an existing folder: DEST/data");
    cli("cp", "local/edge:/data/link", join(work, "link-copy"));
    assert.ok(readFileSync(join(work, "link-copy")).equals(Buffer.from(data)), "a symlink's target, read inside the image");
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
