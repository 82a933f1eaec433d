// The analysis API of the built package (pkg/, `make build`) from Node, the way a CI script
// uses it: dive's own test image checked against dive 0.13.1's `--json` answer (JSON.parse is
// correctly rounded, so the score must be equal as a number), the CI gate, and the typings.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { damageMember } from "./tar_fixture.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const { Store } = await import(`${ROOT}pkg/node/index.mjs`);
const fixture = (p) => readFileSync(`${ROOT}tests/fixtures/${p}`);

test("efficiency and layer changes of dive's test image equal dive's answer", async () => {
  const store = await Store.open("analysis", { backend: "memory" });
  await store.import(fixture("wild/dive/.data/test-docker-image.tar"));
  const dive = JSON.parse(fixture("wild/dive/expected/dive/test-docker-image/dive-test_latest.json"));
  const e = await store.efficiency("dive-test:latest");
  assert.equal(e.sizeBytes, dive.image.sizeBytes);
  assert.equal(e.inefficientBytes, dive.image.inefficientBytes);
  assert.equal(e.efficiencyScore, dive.image.efficiencyScore);
  assert.deepEqual(
    e.wasted,
    dive.image.fileReference.map((r) => ({ path: r.file, count: r.count, sizeBytes: r.sizeBytes })),
  );
  assert.deepEqual(
    e.layers.map((l) => [l.digestId, l.command, l.sizeBytes]),
    dive.layer.map((l) => [l.digestId, l.command, l.sizeBytes]),
  );
  // dive's .dive-ci for this image (0.95 / 20MB / 0.5) fails on efficiency only.
  const ci = await store.efficiency("dive-test:latest", {
    lowestEfficiency: 0.95,
    highestWastedBytes: "20MB",
    highestUserWastedPercent: 0.5,
  });
  assert.deepEqual(
    ci.rules.map((r) => [r.name, r.pass]),
    [
      ["lowestEfficiency", true],
      ["highestWastedBytes", true],
      ["highestUserWastedPercent", true],
    ],
  );
  const changes = await store.layerChanges("dive-test:latest");
  assert.equal(changes.length, dive.layer.length);
  const rm = changes.find((l) => l.command === "rm -rf /root/example/");
  assert.ok(rm.changes.every((c) => c.change === "removed" && c.path.startsWith("/root/example")));
  assert.equal(JSON.parse(JSON.stringify(changes)).length, changes.length, "plain JSON");
  const found = await store.findFiles("saved*.txt");
  assert.ok(found.some((f) => f.path === "/tmp/saved.again1.txt" && f.change === "added"));
  await assert.rejects(store.efficiency("nope"), { code: "not_found" });
  store.close();
});

test("an image imported three ways (docker save, image-store tarball, OCI layout) gives the same answers", async () => {
  const answers = [];
  for (const [file, image] of [
    ["docker20/basic/docker-save.tar", "local/edge:latest"],
    ["docker20/basic/image-store.tar", "local/edge:latest"],
    ["docker20/basic/oci-archive.tar", null],
  ]) {
    const store = await Store.open(`three-ways-${answers.length}`, { backend: "memory" });
    await store.import(fixture(file));
    let ref = image;
    if (!ref) {
      const [name] = (await store.containerd("default").listImages()).map((i) => i.name);
      ref = { namespace: "default", name };
    }
    answers.push({
      changes: await store.layerChanges(ref),
      efficiency: await store.efficiency(ref),
      largest: await store.largestFiles(ref, { limit: 20 }),
    });
    store.close();
  }
  const dive = JSON.parse(fixture("docker20/basic/expected/dive/local_edge_latest.json"));
  assert.equal(answers[2].efficiency.efficiencyScore, dive.image.efficiencyScore);
  assert.equal(answers[2].efficiency.inefficientBytes, dive.image.inefficientBytes);
  assert.deepEqual(answers[1], answers[0]);
  assert.deepEqual(answers[2], answers[0]);
});

test("the analysis methods and their results are typed", () => {
  const dts = readFileSync(`${ROOT}pkg/node/imagestore.d.ts`, "utf8");
  for (const sig of [
    "layerChanges(image: ImageRef): Promise<LayerChanges[]>",
    "efficiency(image: ImageRef, rules?: EfficiencyRules): Promise<Efficiency>",
    "diffImages(a: ImageRef, b: ImageRef): Promise<ImageDiff>",
    "findFiles(pattern: string, options?: FindFilesOptions): Promise<FoundFile[] & { skipped: SkippedLayer[] }>",
    "largestFiles(image: ImageRef, options?: LargestFilesOptions): Promise<LargeFile[]>",
    "storeLargestFiles(options?: LargestFilesOptions): Promise<StoredFile[] & { skipped: SkippedLayer[] }>",
    "export interface SkippedLayer {",
    "systemDf(): Promise<SystemDf>",
    "export type ImageRef = string | { namespace: string; name: string };",
  ]) {
    assert.ok(dts.includes(sig), `${sig} not in the .d.ts`);
  }
});

test("a layer whose tar-split is damaged is skipped and named by store-wide search, not fatal", async () => {
  // A top layer (no layer sits on it), so the rest of the store stays searchable.
  const chain = "sha256:8d851c0513d4c5b71eb620c4136f6ae99da5c520484abd95bbe96c29a245c13e";
  const damaged = damageMember(fixture("docker20/basic/image-store.tar"), `${chain.slice(7)}/tar-split.json.gz`);
  const store = await Store.open("damaged", { backend: "memory" });
  await store.import(damaged);
  const hits = await store.findFiles("**");
  assert.ok(hits.skipped.some((s) => s.chainId === chain && /tar-split/.test(s.reason)), JSON.stringify(hits.skipped));
  assert.ok(hits.skipped.every((s) => s.diffId && s.image && s.reason));
  // The images that do not sit on that layer are still searched.
  const good = await Store.open("good", { backend: "memory" });
  await good.import(fixture("docker20/basic/image-store.tar"));
  const all = await good.findFiles("**");
  assert.equal(all.skipped.length, 0);
  const skippedChains = new Set(hits.skipped.map((s) => s.diffId + s.layer));
  const expected = all.filter((h) => !hits.skipped.some((s) => s.diffId === h.diffId && s.layer === h.layer));
  assert.deepEqual(hits.map((h) => [h.image, h.layer, h.path]), expected.map((h) => [h.image, h.layer, h.path]));
  assert.ok(skippedChains.size > 0 && hits.length > 0);
  const largest = await store.storeLargestFiles({ limit: 3 });
  assert.deepEqual(largest.skipped, hits.skipped);
});
