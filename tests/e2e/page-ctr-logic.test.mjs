// The containerd view's pure logic (www/js/ctr.js, www/js/route.js) in Node: the filter box,
// `ctr content ls` cells against what containerd 1.6's ctr printed, sorting, the blob graph.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { childrenOf, contentRow, formatPlatform, kindOf, labelsText, parseFilterLines, sortRows } from "../../www/js/ctr.js";
import { humanSize } from "../../www/js/format.js";
import { ctrImageHref, namespaceHref, parseRoute } from "../../www/js/route.js";

const EXPECTED = fileURLToPath(new URL("../fixtures/docker20/basic/expected/", import.meta.url));

test("the filter box: one filter per line, blank lines ignored, line numbers kept", () => {
  assert.deepEqual(parseFilterLines(""), []);
  assert.deepEqual(parseFilterLines("  name~=edge  \n\n labels.\"tier\"==gold,name~=base\n"), [
    { line: 1, filter: "name~=edge" },
    { line: 3, filter: 'labels."tier"==gold,name~=base' },
  ]);
});

test("ctr content ls sizes are go-units HumanSize (4 significant digits)", () => {
  // Sizes of blobs in the basic fixture and what ctr printed for them.
  for (const [bytes, text] of [[1_050_624, "1.051MB"], [896, "896B"], [2560, "2.56kB"], [17_920, "17.92kB"], [1_996_800, "1.997MB"], [999_999, "1000kB"], [1364, "1.364kB"], [0, "0B"]]) {
    assert.equal(humanSize(bytes, 4), text, `${bytes} bytes`);
  }
  assert.equal(humanSize(1_996_800), "2MB", "the docker CLI's precision stays 3");
  // Every SIZE cell of the fixture is a HumanSize string.
  const lines = readFileSync(`${EXPECTED}ctr-content-default.txt`, "utf8").trim().split("\n").slice(1);
  for (const line of lines) assert.match(line.split("\t").filter(Boolean)[1], /^\d+(\.\d+)?(B|kB|MB)$/);
});

test("a content row: AGE like ctr (no 'ago'), labels k=v or -", () => {
  const created = "2026-11-23T13:00:00Z";
  const now = Date.parse(created);
  const row = contentRow({ digest: "sha256:aa", size: 2560, createdAt: created, labels: { b: "2", a: "1" } }, now + 500);
  assert.deepEqual(row, { digest: "sha256:aa", size: "2.56kB", sizeBytes: 2560, age: "Less than a second", created, labels: "a=1,b=2" });
  assert.equal(contentRow({ digest: "d", size: 1, createdAt: created, labels: {} }, now + 3 * 60_000).age, "3 minutes");
  assert.equal(labelsText({}), "-");
  assert.equal(labelsText(undefined), "-");
  // ctr images ls prints labels sorted: team=platform,tier=gold.
  assert.equal(labelsText({ tier: "gold", team: "platform" }), "team=platform,tier=gold");
});

test("sorting ctr rows: by text, by bytes, ties in the store's order", () => {
  const rows = [
    { ref: "b", type: "x", digest: "d2", size: "2.0 MiB", sizeBytes: 2_000_000, platforms: "linux/amd64", labels: "-" },
    { ref: "a", type: "x", digest: "d1", size: "1.9 MiB", sizeBytes: 1_990_000, platforms: "linux/amd64", labels: "t=1" },
    { ref: "c", type: "x", digest: "d3", size: "2.9 MiB", sizeBytes: 3_000_000, platforms: "linux/amd64", labels: "-" },
  ];
  assert.deepEqual(sortRows(rows, "ref").map((r) => r.ref), ["a", "b", "c"]);
  assert.deepEqual(sortRows(rows, "ref", "desc").map((r) => r.ref), ["c", "b", "a"]);
  assert.deepEqual(sortRows(rows, "size", "desc").map((r) => r.ref), ["c", "b", "a"]);
  assert.deepEqual(sortRows(rows, "type").map((r) => r.ref), ["b", "a", "c"], "equal types keep the store's order");
  assert.deepEqual(sortRows(rows, "labels").map((r) => r.ref), ["b", "c", "a"]);
  assert.deepEqual(sortRows(rows, "nonsense").map((r) => r.ref), ["b", "a", "c"]);
});

test("the blob graph: index → manifests, manifest → config then layers", () => {
  const index = { manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: "sha256:m", size: 1, platform: { os: "linux", architecture: "arm", variant: "v7" } }] };
  assert.deepEqual(childrenOf("application/vnd.oci.image.index.v1+json", index).map((c) => c.role), ["manifest"]);
  const manifest = { config: { digest: "sha256:c" }, layers: [{ digest: "sha256:l0" }, { digest: "sha256:l1" }] };
  assert.deepEqual(childrenOf("application/vnd.docker.distribution.manifest.v2+json", manifest).map((c) => [c.role, c.descriptor.digest]), [
    ["config", "sha256:c"], ["layer 1", "sha256:l0"], ["layer 2", "sha256:l1"],
  ]);
  assert.deepEqual(childrenOf("application/vnd.docker.container.image.v1+json", {}), []);
  assert.equal(kindOf("application/vnd.docker.image.rootfs.diff.tar.gzip"), "layer");
  assert.equal(kindOf("application/vnd.oci.image.layer.v1.tar"), "layer");
  assert.equal(kindOf("application/vnd.docker.distribution.manifest.list.v2+json"), "index");
  assert.equal(formatPlatform(index.manifests[0].platform), "linux/arm/v7");
  assert.equal(formatPlatform({ architecture: "amd64" }), "unknown");
});

test("routes: the hash keeps the view, the namespace, the tab and the image", () => {
  assert.deepEqual(parseRoute(""), { view: "docker" });
  assert.deepEqual(parseRoute("#/"), { view: "docker" });
  assert.deepEqual(parseRoute("#/image/sha256:abc"), { view: "docker", image: "sha256:abc" });
  assert.deepEqual(parseRoute("#/containerd"), { view: "containerd", ns: null, tab: "images", image: null });
  assert.deepEqual(parseRoute(namespaceHref("team")), { view: "containerd", ns: "team", tab: "images", image: null });
  assert.deepEqual(parseRoute(namespaceHref("team", "content")), { view: "containerd", ns: "team", tab: "content", image: null });
  const name = "docker.io/local/base:1";
  assert.equal(ctrImageHref("default", name), "#/containerd/default/image/docker.io%2Flocal%2Fbase%3A1");
  assert.deepEqual(parseRoute(ctrImageHref("default", name)), { view: "containerd", ns: "default", tab: "images", image: name });
  assert.deepEqual(parseRoute("#/containerd/default/image/100%"), { view: "containerd", ns: "default", tab: "images", image: "100%" });
  assert.deepEqual(parseRoute("#/elsewhere"), { view: "docker" });
});
