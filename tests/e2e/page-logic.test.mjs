// The page's pure logic (www/js/{format,filters,history}.js) in Node, with the core's size
// formatting (the built package's humanSize), against what real dockerd 20.10 and the docker CLI
// answered for the docker20 fixtures.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { humanDuration, rowsForImage, shortId } from "../../www/js/format.js";
import { humanSize } from "../../pkg/node/index.mjs";
import { parseFilterText, rowMatches } from "../../www/js/filters.js";
import { alignHistory, chainIds } from "../../www/js/history.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/docker20/", import.meta.url));
const readJson = (p) => JSON.parse(readFileSync(p, "utf8"));
const readJsonl = (p) => readFileSync(p, "utf8").trim().split("\n").map((l) => JSON.parse(l));

/** Image configs (id hex → parsed JSON) from a store tarball: imagedb/content/sha256/<hex>. */
function configsOf(tarPath) {
  const tar = readFileSync(tarPath);
  const text = (a, b) => tar.subarray(a, b).toString("latin1").replace(/\0.*$/s, "");
  const configs = new Map();
  for (let off = 0; off + 512 <= tar.length; ) {
    if (tar[off] === 0) break;
    const name = [text(off + 345, off + 500), text(off, off + 100)].filter(Boolean).join("/");
    const size = parseInt(text(off + 124, off + 136).trim() || "0", 8);
    const m = name.match(/imagedb\/content\/sha256\/([0-9a-f]{64})$/);
    if (m) configs.set(m[1], JSON.parse(tar.subarray(off + 512, off + 512 + size).toString("utf8")));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return configs;
}

for (const set of ["basic", "scale200"]) {
  test(`${set}: rows and sizes are the docker CLI's (images and images -a)`, () => {
    for (const [api, cli] of [["images.json", "images.jsonl"], ["images-all.json", "images-all.jsonl"]]) {
      const rows = readJson(`${FIXTURES}${set}/expected/api/${api}`).flatMap(rowsForImage);
      const want = readJsonl(`${FIXTURES}${set}/expected/${cli}`);
      const fmt = (repo, tag, id, size) => `${repo} ${tag} ${shortId(id)} ${size}`;
      assert.deepEqual(
        rows.map((r) => fmt(r.repo, r.tag, r.id, humanSize(r.size))).sort(),
        want.map((r) => fmt(r.Repository, r.Tag, r.ID, r.Size)).sort(),
      );
    }
  });

  test(`${set}: history lines up with layers as the configs say`, async () => {
    const dir = `${FIXTURES}${set}/expected/api/`;
    const configs = configsOf(`${FIXTURES}${set}/image-store.tar`);
    for (const file of readdirSync(`${dir}history`)) {
      const history = readJson(`${dir}history/${file}`);
      const inspect = readJson(`${dir}inspect/${file}`);
      const { rows } = alignHistory(history, inspect.RootFS.Layers);
      const flags = configs.get(file.replace(".json", "")).history.map((h) => Boolean(h.empty_layer));
      assert.deepEqual(rows.map((r) => r.layer == null), flags, `${file}: empty layers as in the config`);
      assert.equal(rows.filter((r) => r.layer != null).length, inspect.RootFS.Layers?.length ?? 0, file);
      // Every step with a size made a layer, in order.
      const layered = rows.filter((r) => r.layer != null).map((r) => r.layer);
      assert.deepEqual(layered, layered.map((_, i) => i), file);
      for (const r of rows) if (r.item.Size > 0) assert.notEqual(r.layer, null, `${file}: ${r.item.CreatedBy}`);
    }
  });
}

test("docker's size units, including Go's %g exponent form and half-even rounding", () => {
  assert.equal(humanSize(1982293), "1.98MB");
  assert.equal(humanSize(3048673), "3.05MB");
  assert.equal(humanSize(0), "0B");
  assert.equal(humanSize(999999), "1e+03kB");
  assert.equal(humanSize(1125000), "1.12MB"); // exactly half: to even
  assert.equal(humanSize(74800000), "74.8MB");
  assert.equal(humanSize(1_050_624, 4), "1.051MB", "ctr content ls: 4 digits");
  assert.equal(humanDuration(90_000), "About a minute");
  assert.equal(humanDuration(3 * 86_400_000), "3 days");
  assert.equal(humanDuration(800 * 86_400_000), "2 years");
});

test("the filter box splits docker filters from plain words", () => {
  const q = parseFilterText("dangling=true  label=a=b reference=local/* web 4afb");
  assert.deepEqual(q.filters, { dangling: ["true"], label: ["a=b"], reference: ["local/*"] });
  assert.deepEqual(q.terms, ["web", "4afb"]);
  // Unknown keys go to the store too, which refuses them as dockerd does.
  assert.deepEqual(parseFilterText("foo=bar danglng=true").filters, { foo: ["bar"], danglng: ["true"] });
  const row = { repo: "local/web", tag: "1", id: "sha256:4afb1255" };
  assert.ok(rowMatches(row, ["web", "4afb"]));
  assert.ok(!rowMatches(row, ["api"]));
  assert.ok(rowMatches(row, ["cafe"], new Map([["cafe", "sha256:4afb1255"]])), "a resolved partial ID matches its image");
});

test("chain IDs as the layer store names them", async () => {
  const inspect = readJson(`${FIXTURES}basic/expected/api/inspect/4afb125595bdb8aeb09f6a50a766c3eaba26fae53f604d8d88c2010ea04ddb05.json`);
  const chains = await chainIds(inspect.RootFS.Layers);
  assert.equal(chains[0], inspect.RootFS.Layers[0]);
  // 381263c06dea… is a layerdb directory of the basic store (a chain of edge's layers).
  assert.ok(chains.includes("sha256:381263c06dea7c9e486116adaa6b776094680458d377af10bacf2c1a05df7c63"));
});
