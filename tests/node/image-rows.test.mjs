// `imageRows` (src/wasm/rows.rs) reads only `Id`, `RepoTags` and `RepoDigests` of the summaries
// it is given, as JSON text written with those fields only: an array of `listImages` rows gives
// the same columns as the JSON text of the same answer (`listImagesJson`), whatever else the
// rows carry (labels, other fields, nested keys of the same names), and a field of the wrong
// type is still refused with imageRows' own error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const { Store, imageRows } = await import(`${ROOT}pkg/node/index.mjs`);

/** The columns as plain arrays, for deepEqual. */
const plain = (c) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, Array.from(v)]));

test("imageRows reads the same rows from listImages' array as from its JSON text, whatever else the rows hold", async () => {
  const store = await Store.open("image-rows", { backend: "memory" });
  try {
    await store.import(readFileSync(`${ROOT}tests/fixtures/docker20/basic/image-store.tar`));
    for (const all of [true, false]) {
      const rows = await store.listImages({ all });
      const text = await store.listImagesJson({ all });
      const want = plain(imageRows(text));
      assert.ok(want.image.length >= rows.length && rows.length > 1, `rows of all: ${all}`);
      assert.ok(want.repository.some((r) => r !== "<none>"), "some tagged");
      assert.deepEqual(plain(imageRows(rows)), want, `all: ${all}`);
      for (const options of [{ digests: true }, { noTrunc: true }]) {
        assert.deepEqual(plain(imageRows(rows, options)), plain(imageRows(text, options)), JSON.stringify(options));
      }
      // Other fields, and objects with keys named like the three fields, change nothing.
      const cluttered = rows.map((r) => ({
        ...r,
        Labels: { Id: "not this", RepoTags: "nor this", ...r.Labels },
        Extra: { Id: "sha256:" + "0".repeat(64), RepoDigests: ["x@sha256:" + "1".repeat(64)] },
      }));
      assert.deepEqual(plain(imageRows(cluttered)), want, `cluttered, all: ${all}`);
    }
    const [first] = await store.listImages({ all: true });
    assert.throws(() => imageRows([{ ...first, RepoTags: { tag: "a:b" } }]), (e) => e.code === "invalid_argument" && /imageRows: images/.test(e.message));
    assert.throws(() => imageRows([{ RepoTags: [] }]), (e) => e.code === "invalid_argument" && /Id/.test(e.message));
  } finally {
    store.close();
  }
});

test("listImageRows answers listImages' images and imageRows' rows of them, options and filters included", async () => {
  const store = await Store.open("list-image-rows", { backend: "memory" });
  try {
    await store.import(readFileSync(`${ROOT}tests/fixtures/docker20/debian/image-store.tar`));
    await store.import(readFileSync(`${ROOT}tests/fixtures/docker20/basic/image-store.tar`));
    const cases = [
      {},
      { all: true },
      { all: true, digests: true },
      { noTrunc: true },
      { all: true, digests: true, noTrunc: true },
      { filters: { dangling: ["false"] } },
      { all: true, filters: { reference: ["local/*"] } },
    ];
    let rowsSeen = 0;
    for (const options of cases) {
      const { images, rows } = await store.listImageRows(options);
      const { filters, all } = options;
      assert.deepEqual(images, await store.listImages({ all, filters }), JSON.stringify(options));
      assert.deepEqual(plain(rows), plain(imageRows(images, { digests: options.digests, noTrunc: options.noTrunc })), JSON.stringify(options));
      rowsSeen += rows.image.length;
    }
    assert.ok(rowsSeen > 50, `rows compared: ${rowsSeen}`);
    await assert.rejects(store.listImageRows({ noTrunc: "yes" }), (e) => e.code === "invalid_argument" && /listImageRows: options.noTrunc/.test(e.message));
    await assert.rejects(store.listImageRows({ filters: { bogus: ["x"] } }), (e) => e.code === "invalid_argument");
  } finally {
    store.close();
  }
});
