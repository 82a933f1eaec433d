// The page's pure logic (www/js/{format,filters,history}.js) in Node, with the core's size
// formatting (the built package's humanSize), against what real dockerd 20.10 and the docker CLI
// answered for the docker20 fixtures.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { register } from "node:module";
import { fileURLToPath } from "node:url";
import { humanSize } from "../../pkg/node/index.mjs";

// format.js imports the core as "imagestore", as the page does: resolved to the built package.
register("./resolve-imagestore.mjs", import.meta.url);
const { createdSince, humanDuration, rowsForImages, shortId } = await import("../../www/js/format.js");
import { parseFilterText, prepareSearch, rowMatcher, rowMatches } from "../../www/js/filters.js";
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
      const rows = rowsForImages(readJson(`${FIXTURES}${set}/expected/api/${api}`));
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

for (const set of ["basic", "debian", "scale200"]) {
  test(`${set}: the CREATED column is the docker CLI's CreatedSince (the core's go-units)`, () => {
    for (const cli of ["images-all.jsonl", "images.jsonl"]) {
      const want = readJsonl(`${FIXTURES}${set}/expected/${cli}`);
      const created = (r) => Date.parse(r.CreatedAt.replace(" +0000 UTC", "Z").replace(" ", "T")) / 1000;
      // The CLI printed every line at one instant: a line "N seconds ago" pins it to a second.
      const pin = want.find((r) => /^\d+ seconds? ago$/.test(r.CreatedSince));
      assert.ok(pin, `${cli}: a line in seconds`);
      const nowMs = (created(pin) + parseInt(pin.CreatedSince, 10) + 0.5) * 1000;
      const spread = new Set(want.map((r) => r.CreatedSince.replace(/\d+/, "N")));
      assert.ok(spread.size >= 2, `${cli}: more than one kind of duration (${[...spread]})`);
      for (const r of want) assert.equal(createdSince(created(r), nowMs), r.CreatedSince, `${cli}: ${r.ID}`);
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

test("the list's matcher (search text made once per row) keeps the rows the filter rule keeps", () => {
  // The rule, written out plainly: every term is in "repo:tag" (any case) or starts the ID's
  // hex ("sha256:" optional); a term docker's prefix search resolved also matches that image.
  const rule = (row, terms, resolved) => terms.every((term) => {
    const name = `${row.repo}:${row.tag}`.toLowerCase();
    const t = term.toLowerCase();
    if (resolved.has(term)) return row.id === resolved.get(term) || name.includes(t);
    return name.includes(t) || row.id.slice("sha256:".length).startsWith(t.replace(/^sha256:/, ""));
  });
  const rows = rowsForImages(readJson(`${FIXTURES}scale200/expected/api/images-all.json`));
  assert.ok(rows.length > 500, `${rows.length} rows`);
  const some = rows.find((r) => r.repo !== "<none>");
  const hex = rows[7].id.slice("sha256:".length);
  const cases = [
    [], ["none"], ["<NONE>"], [some.repo.toUpperCase()], [some.tag], [`${some.repo}:${some.tag}`], [":"],
    [hex.slice(0, 3)], [`sha256:${hex.slice(0, 5)}`], [hex.slice(0, 4).toUpperCase()], [hex.slice(2, 8)],
    ["sha256:"], [some.repo.split("/").at(-1), hex.slice(0, 1)], ["no-such-name"],
  ];
  let kept = 0;
  for (const terms of cases) {
    for (const resolved of [new Map(), new Map(terms.map((t) => [t, rows[7].id]))]) {
      const want = rows.filter((r) => rule(r, terms, resolved));
      assert.deepEqual(rows.filter(rowMatcher(terms, resolved)), want, `terms ${JSON.stringify(terms)}, resolved ${resolved.size}`);
      // The same once every row's search text was made ahead (as the page does when idle).
      assert.deepEqual(prepareSearch(rows).filter(rowMatcher(terms, resolved)), want);
      assert.deepEqual(rows.filter((r) => rowMatches(r, terms, resolved)), want);
      kept += want.length;
    }
  }
  assert.ok(kept > rows.length, "the cases keep some rows and drop others");
});

test("chain IDs as the layer store names them", async () => {
  const inspect = readJson(`${FIXTURES}basic/expected/api/inspect/4afb125595bdb8aeb09f6a50a766c3eaba26fae53f604d8d88c2010ea04ddb05.json`);
  const chains = await chainIds(inspect.RootFS.Layers);
  assert.equal(chains[0], inspect.RootFS.Layers[0]);
  // 381263c06dea… is a layerdb directory of the basic store (a chain of edge's layers).
  assert.ok(chains.includes("sha256:381263c06dea7c9e486116adaa6b776094680458d377af10bacf2c1a05df7c63"));
});

// ---- the file viewer's byte sniffing (www/js/bytes.js) ----------------------------------------
import { hexLines, imageType, looksLikeText } from "../../www/js/bytes.js";

test("imageType knows png, jpeg, gif, webp and svg by their first bytes, not by name", () => {
  const bytes = (...parts) => Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...Buffer.from(p, "utf8")] : p)));
  assert.equal(imageType(bytes([0x89], "PNG\r\n\x1a\n", [0, 0, 0, 13])), "image/png");
  assert.equal(imageType(bytes([0xff, 0xd8, 0xff, 0xe0], "\0\x10JFIF")), "image/jpeg");
  assert.equal(imageType(bytes("GIF89a", [1, 0])), "image/gif");
  assert.equal(imageType(bytes("GIF87a", [1, 0])), "image/gif");
  assert.equal(imageType(bytes("RIFF", [0x24, 0, 0, 0], "WEBPVP8 ")), "image/webp");
  assert.equal(imageType(bytes("RIFF", [0x24, 0, 0, 0], "WAVEfmt ")), null, "a RIFF that is not WebP");
  assert.equal(imageType(bytes('\uFEFF<?xml version="1.0"?>\n<!-- c -->\n<!DOCTYPE svg>\n<svg xmlns="http://www.w3.org/2000/svg"/>')), "image/svg+xml");
  assert.equal(imageType(bytes("<svg>")), "image/svg+xml");
  assert.equal(imageType(bytes("<html><svg></svg></html>")), null, "an HTML page holding an SVG is not one");
  assert.equal(imageType(bytes("<svgfoo>")), null);
  assert.equal(imageType(bytes("\x89PN")), null, "a truncated magic");
});

test("looksLikeText: UTF-8 without NULs is text; a character cut by a partial read is allowed", () => {
  const utf8 = new TextEncoder().encode("naïve ファイル\nline two\n");
  assert.equal(looksLikeText(utf8), true);
  assert.equal(looksLikeText(utf8.subarray(0, 3), false), true, "cut inside 'ï' while more is coming");
  assert.equal(looksLikeText(utf8.subarray(0, 3), true), false, "cut inside 'ï' at the end of the file");
  assert.equal(looksLikeText(Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0])), false, "an ELF header");
  assert.equal(looksLikeText(Uint8Array.from([0xc3, 0x28])), false, "invalid UTF-8");
});

test("hexLines prints what hexdump -C prints for the same bytes", () => {
  const bytes = Uint8Array.from({ length: 37 }, (_, i) => (i * 7 + 30) & 0xff);
  const lines = hexLines(bytes, 0x20);
  assert.equal(lines.length, 3);
  // Each line: offset, 8 + 8 bytes in hex, and the printable characters; read back both.
  lines.forEach((line, n) => {
    const m = line.match(/^([0-9a-f]{8}) {2}((?:[0-9a-f]{2} ){7}[0-9a-f]{2}|.*?) {1,}(.*?) {2}\|(.*)\|$/);
    assert.ok(m, line);
    assert.equal(parseInt(line.slice(0, 8), 16), 0x20 + n * 16);
    const row = bytes.subarray(n * 16, n * 16 + 16);
    assert.deepEqual(line.slice(10, 58).trim().split(/\s+/).map((x) => parseInt(x, 16)), [...row]);
    assert.equal(line.slice(line.indexOf("|") + 1, -1), [...row].map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : ".")).join(""));
    assert.equal(line.indexOf("|"), 60, "the character column starts where hexdump -C starts it");
  });
});
