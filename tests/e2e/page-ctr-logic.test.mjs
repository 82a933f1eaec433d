// The containerd view's pure logic (www/js/ctr.js, www/js/route.js) in Node: the filter box,
// sorting, the blob graph, routes. (`ctr content ls` cells come from the core: wasm_containerd.rs.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { childrenOf, formatPlatform, kindOf, parseFilterLines, sortRows } from "../../www/js/ctr.js";
import { ctrImageHref, namespaceHref, parseRoute } from "../../www/js/route.js";

test("the filter box: one filter per line, blank lines ignored, line numbers kept", () => {
  assert.deepEqual(parseFilterLines(""), []);
  assert.deepEqual(parseFilterLines("  name~=edge  \n\n labels.\"tier\"==gold,name~=base\n"), [
    { line: 1, filter: "name~=edge" },
    { line: 3, filter: 'labels."tier"==gold,name~=base' },
  ]);
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
