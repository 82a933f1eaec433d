// The page's containerd view in headless Chromium against the real containerd 1.6 fixture
// (docker20/basic/containerd-root.tar): namespaces, `ctr images ls` tables and filters vs what
// ctr printed, a bad filter, an image's blob tree vs its manifest, `ctr content ls`, an OCI
// archive imported into a namespace through the import choice, and screenshots.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { withPage } from "./harness.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BASIC = `${ROOT}tests/fixtures/docker20/basic/`;
const EXPECTED = `${BASIC}expected/`;
// The README's pictures are refreshed only on request (UPDATE_SCREENSHOTS=1), as in page.test.mjs.
const DOCS_SHOTS = process.env.UPDATE_SCREENSHOTS === "1" ? `${ROOT}docs/screenshots/` : `${ROOT}tests/e2e/screenshots/tmp/`;
const EDGE_REF = "docker.io/local/edge:latest";
const EDGE_MANIFEST = "sha256:2aa71f6552ff8b14a8dd1f9919b43585473d817f430386e22951406b635753e2";

/** A tabwriter table as ctr printed it: cells cut at the header's column starts. */
function parseColumns(text) {
  const [header, ...lines] = text.replace(/\n+$/, "").split("\n");
  const starts = [...header.matchAll(/\S+/g)].map((m) => m.index);
  const names = [...header.matchAll(/\S+/g)].map((m) => m[0]);
  return lines.map((line) => Object.fromEntries(names.map((n, i) => [n, line.slice(starts[i], starts[i + 1]).trim()])));
}

const ctrTable = (file) => parseColumns(readFileSync(`${EXPECTED}${file}`, "utf8"))
  .map((r) => [r.REF, r.TYPE, r.DIGEST, r.SIZE, r.PLATFORMS, r.LABELS]);

/** `# ctr images ls -q '<filter>'` blocks: [{ filter, refs }]. */
function ctrFilterQueries() {
  const out = [];
  for (const line of readFileSync(`${EXPECTED}ctr-images-filters.txt`, "utf8").trim().split("\n")) {
    const m = line.match(/^# ctr images ls -q '(.*)'$/);
    if (m) out.push({ filter: m[1], refs: [] });
    else out.at(-1).refs.push(line.trim());
  }
  return out;
}

/** `ctr content ls` (tab-separated): [{ digest, size, labels: Set }]. */
function ctrContent() {
  return readFileSync(`${EXPECTED}ctr-content-default.txt`, "utf8").trim().split("\n").slice(1).map((line) => {
    const [digest, size, , labels] = line.split("\t").filter(Boolean);
    return { digest, size, labels: labels === "-" ? [] : labels.split(",").sort() };
  });
}


const page = (fn, { width = 1280, height = 800 } = {}) => withPage(async (p, base) => {
  await p.setViewportSize({ width, height });
  await p.waitForSelector("body[data-ready=true]");
  await fn(p, base);
}, { path: "/?sample=0" });

async function importFile(p, file) {
  await p.setInputFiles("#file-input", file);
  await p.waitForSelector("#import-report:not([hidden])");
  await p.waitForSelector("#import-progress", { state: "hidden" });
}

/** Opens namespace `ns` and waits for its table to show `filter`'s answer. */
async function openNamespace(p, ns, filter = "") {
  await p.evaluate((hash) => (location.hash = hash), `#/containerd/${ns}`);
  await query(p, ns, filter);
}

async function query(p, ns, filter) {
  if ((await p.inputValue("#ctr-filter")) !== filter) await p.fill("#ctr-filter", filter);
  await p.waitForFunction((want) => document.querySelector("#ctr-images")?.dataset.query === want, JSON.stringify([ns, filter]));
}

const tableRows = (p) => p.$$eval("#ctr-images tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));

test("a containerd root: its namespaces, and each namespace's images as ctr images ls printed them", () =>
  page(async (p) => {
    await importFile(p, `${BASIC}containerd-root.tar`);
    assert.equal(await p.getAttribute("#import-format", "data-format"), "containerd-root");
    assert.match(await p.textContent("#import-report"), /containerd root \(containerd-root\)/);

    // The header switch is a link: keyboard-reachable, and the hash keeps the place.
    await p.focus("#tab-containerd");
    await p.keyboard.press("Enter");
    await p.waitForSelector("#ctr-namespaces a[data-ns]");
    const namespaces = await p.$$eval("#ctr-namespaces a[data-ns]", (as) => as.map((a) => a.dataset.ns));
    const expected = parseColumns(readFileSync(`${EXPECTED}ctr-namespaces.txt`, "utf8")).map((r) => r.NAME);
    assert.deepEqual(namespaces, expected);
    assert.equal(await p.getAttribute("#tab-containerd", "aria-current"), "page");
    assert.match(await p.textContent('#ctr-namespaces a[data-ns="default"]'), /6 images, 19 blobs/);
    assert.match(await p.textContent('#ctr-namespaces a[data-ns="team"]'), /2 images/);

    await openNamespace(p, "default");
    assert.deepEqual(await tableRows(p), ctrTable("ctr-images-default.txt"));
    assert.equal(await p.textContent("#ctr-count"), "6 images");
    await openNamespace(p, "team");
    assert.deepEqual(await tableRows(p), ctrTable("ctr-images-team.txt"));

    // A reload comes back to the same namespace.
    await p.reload();
    await p.waitForSelector("body[data-ready=true]");
    await query(p, "team", "");
    assert.equal(await p.getAttribute('#ctr-namespaces a[data-ns="team"]', "aria-current"), "page");
    assert.deepEqual(await tableRows(p), ctrTable("ctr-images-team.txt"));

    // Columns sort: SIZE (bytes) descending puts edge (2.9 MiB) first; REF ascending again.
    await openNamespace(p, "default");
    await p.click('#ctr-images th[data-key="size"] button');
    assert.equal((await tableRows(p))[0][0], EDGE_REF);
    assert.equal(await p.getAttribute('#ctr-images th[data-key="size"]', "aria-sort"), "descending");
    await p.click('#ctr-images th[data-key="ref"] button');
    assert.deepEqual((await tableRows(p)).map((r) => r[0]), ctrTable("ctr-images-default.txt").map((r) => r[0]));
  }));

test("containerd filters give ctr's answers; lines are ORed; a bad filter is explained at the box", () =>
  page(async (p) => {
    await importFile(p, `${BASIC}containerd-root.tar`);
    await openNamespace(p, "default");
    const queries = ctrFilterQueries();
    assert.ok(queries.length >= 4);
    for (const { filter, refs } of queries) {
      await query(p, "default", filter);
      assert.deepEqual((await tableRows(p)).map((r) => r[0]), refs, `ctr images ls -q '${filter}'`);
      assert.equal(await p.isVisible("#ctr-filter-error"), false);
    }
    // Several lines are several positional filters: any of them matches.
    await query(p, "default", "name~=edge\nlabels.team==platform");
    assert.deepEqual((await tableRows(p)).map((r) => r[0]), ["docker.io/local/base:1", EDGE_REF]);

    // A filter containerd cannot parse: the store's message at the box, nothing listed.
    await query(p, "default", "name~=edge\nlabels.team=platform");
    await p.waitForSelector("#ctr-filter-error:not([hidden])");
    const error = await p.textContent("#ctr-filter-error");
    assert.match(error, /This filter is not valid/);
    assert.match(error, /line 2 \(labels\.team=platform\)/, error);
    assert.doesNotMatch(error, /line 1/);
    assert.match(error, /compare with ==/);
    assert.equal(await p.getAttribute("#ctr-filter", "aria-invalid"), "true");
    assert.deepEqual(await tableRows(p), []);
    assert.match(await p.textContent("#ctr-empty"), /until the filter is valid/);
    // Fixing it clears the error.
    await query(p, "default", "name~=edge");
    assert.equal(await p.isVisible("#ctr-filter-error"), false);
    assert.deepEqual((await tableRows(p)).map((r) => r[0]), [EDGE_REF]);
  }));

test("an image's detail: target descriptor, labels, and the manifest's config and layers", () =>
  page(async (p) => {
    await importFile(p, `${BASIC}containerd-root.tar`);
    await openNamespace(p, "default");
    await p.click(`#ctr-images tr[data-ref="${EDGE_REF}"] a`);
    await p.waitForSelector("#ctr-blob-tree");
    assert.equal(await p.textContent("#ctr-image-title"), EDGE_REF);
    const target = await p.textContent("#section-ctr-target");
    assert.ok(target.includes(EDGE_MANIFEST));
    assert.ok(target.includes("application/vnd.docker.distribution.manifest.v2+json"));
    // The manifest's gc.ref labels (ctr content ls) name its config and layers in order.
    const manifestInfo = ctrContent().find((c) => c.digest === EDGE_MANIFEST);
    const label = (k) => manifestInfo.labels.find((l) => l.startsWith(`containerd.io/gc.ref.content.${k}=`)).split("=")[1];
    const nodes = await p.$$eval("#ctr-blob-tree li.blob", (lis) => lis.map((li) => ({ ...li.dataset })));
    assert.equal(nodes[0].role, "target");
    assert.equal(nodes[0].digest, EDGE_MANIFEST);
    assert.deepEqual(nodes.filter((n) => n.role === "config").map((n) => n.digest), [label("config")]);
    const layers = nodes.filter((n) => n.role.startsWith("layer"));
    assert.deepEqual(layers.map((n) => n.digest), [0, 1, 2, 3, 4, 5, 6].map((i) => label(`l.${i}`)));
    // ctr imported docker save's uncompressed layers as they were.
    for (const l of layers) assert.equal(l.mediaType, "application/vnd.docker.image.rootfs.diff.tar");
    // Sizes are the descriptors' (the content list agrees on each blob).
    const byDigest = new Map(ctrContent().map((c) => [c.digest, c.size]));
    const contentSizes = await p.$$eval("#ctr-blob-tree li.blob", (lis) => lis.map((li) => [li.dataset.digest, Number(li.dataset.size)]));
    for (const [digest, size] of contentSizes) assert.ok(byDigest.has(digest), `${digest} is in ctr content ls`);
    assert.equal(contentSizes.length, 9);
    assert.ok(await p.isVisible(`#ctr-blob-tree li.blob[data-size="${contentSizes[1][1]}"]`));
    // The manifest's JSON opens in place, as text.
    await p.click("#ctr-blob-tree li.blob > .blob-line button");
    const json = JSON.parse(await p.textContent("#ctr-blob-tree pre.blob-json"));
    assert.equal(json.config.digest, label("config"));

    // base:1 carries the labels ctr showed.
    await p.click("a.back");
    await query(p, "default", "");
    await p.click('#ctr-images tr[data-ref="docker.io/local/base:1"] a');
    await p.waitForSelector("#ctr-image-labels");
    assert.deepEqual(
      await p.$$eval("#ctr-image-labels tr", (trs) => trs.map((tr) => `${tr.cells[0].textContent}=${tr.cells[1].textContent}`)),
      ["team=platform", "tier=gold"],
    );

    // In team, the OCI index leads to its linux/amd64 manifest, then config and layers.
    await p.evaluate(() => (location.hash = "#/containerd/team/image/" + encodeURIComponent("docker.io/team/edge:oci")));
    await p.waitForSelector("#ctr-blob-tree");
    const team = await p.$$eval("#ctr-blob-tree li.blob", (lis) => lis.map((li) => li.dataset.role));
    assert.deepEqual(team.slice(0, 3), ["target", "manifest", "config"]);
    assert.ok(team.some((r) => r.startsWith("layer")));
    assert.match(await p.textContent("#ctr-blob-tree li.blob.manifest .blob-platform"), /linux\/amd64/);
  }));

test("a namespace's content is ctr content ls: digests, sizes, labels", () =>
  page(async (p) => {
    await importFile(p, `${BASIC}containerd-root.tar`);
    await p.evaluate(() => (location.hash = "#/containerd/default/content"));
    await p.waitForFunction(() => document.querySelector("#ctr-content")?.dataset.ns === "default" && document.querySelectorAll("#ctr-content tbody tr").length > 0);
    const rows = await p.$$eval("#ctr-content tbody tr", (trs) => trs.map((tr) => ({
      digest: tr.cells[0].textContent,
      size: tr.cells[1].textContent,
      labels: [...tr.cells[3].querySelectorAll(".label")].map((l) => l.textContent).filter((l) => l !== "-").sort(),
    })));
    assert.deepEqual(rows, ctrContent());
    assert.equal(await p.getAttribute("#ctr-tab-content", "aria-current"), "page");
  }));

test("an OCI archive imported into namespace team2 through the import choice", () =>
  page(async (p) => {
    await p.fill("#import-namespace", "team2");
    assert.equal(await p.isChecked("#import-to-containerd"), true, "typing a namespace chooses containerd");
    await importFile(p, `${BASIC}oci-archive.tar`);
    assert.equal(await p.getAttribute("#import-format", "data-format"), "oci-layout");
    assert.match(await p.textContent("#import-report"), /containerd namespace team2/);
    await p.click("#import-report a[href='#/containerd/team2']");
    await query(p, "team2", "");
    const rows = await tableRows(p);
    assert.equal(rows.length, 1, JSON.stringify(rows));
    const [ref, type, digest, , platforms] = rows[0];
    assert.match(ref, /:edge$/);
    assert.equal(type, "application/vnd.oci.image.manifest.v1+json");
    assert.equal(digest, "sha256:9dbdb26ecd62b7563b61cb18d561d40f49c38321eff7f11e8af3d6019e827631");
    assert.equal(platforms, "linux/amd64");
    // The Docker view is untouched by it.
    await p.click("#tab-docker");
    await p.waitForSelector("#list-view:not([hidden])");
    assert.equal(await p.$$eval("#images tbody tr", (trs) => trs.length), 0);
  }));

test("a docker save archive goes to Docker by default, and to a namespace when one is chosen", () =>
  page(async (p) => {
    await importFile(p, `${BASIC}docker-save.tar`);
    assert.equal(await p.getAttribute("#import-format", "data-format"), "docker-save");
    assert.match(await p.textContent("#import-report"), /Went to\s*Docker/);
    await p.waitForFunction(() => document.querySelectorAll("#images tbody tr").length > 0);
    await p.click("#import-to-containerd");
    await p.fill("#import-namespace", "saved");
    await importFile(p, `${BASIC}docker-save.tar`);
    assert.match(await p.textContent("#import-report"), /containerd namespace saved/);
    await openNamespace(p, "saved");
    assert.ok((await tableRows(p)).length > 0, "the namespace lists the archive's images");
  }));

test("tarball text stays text in the containerd view", () =>
  page(async (p) => {
    await importFile(p, `${BASIC}containerd-root.tar`);
    const ns = await p.evaluate(async () => {
      const { store } = await import("/js/store.js");
      const handle = store().containerd("default");
      const img = await handle.getImage("docker.io/local/base:1");
      await handle.createImage({ ...img, name: "docker.io/local/<img src=x onerror=alert(1)>:1", labels: { "<b>k</b>": "<i>v</i>" } });
      return "default";
    });
    await openNamespace(p, ns);
    assert.ok((await tableRows(p)).some((r) => r[0] === "docker.io/local/<img src=x onerror=alert(1)>:1" && r[5] === "<b>k</b>=<i>v</i>"));
    assert.equal(await p.$$eval("#ctr-view img, #ctr-view b, #ctr-view i", (els) => els.length), 0);
  }));

test("screenshots of the containerd view (namespace list, image detail)", () =>
  page(async (p) => {
    mkdirSync(DOCS_SHOTS, { recursive: true });
    await importFile(p, `${BASIC}containerd-root.tar`);
    await p.click("#import-report .report-head button");
    await openNamespace(p, "default");
    await p.locator("#ctr-filter").blur();
    await p.screenshot({ path: `${DOCS_SHOTS}containerd-list.png` });
    await p.click(`#ctr-images tr[data-ref="${EDGE_REF}"] a`);
    await p.waitForSelector("#ctr-blob-tree");
    await p.evaluate(() => document.querySelector("#section-ctr-blobs").scrollIntoView());
    await p.screenshot({ path: `${DOCS_SHOTS}containerd-image.png` });
    await p.evaluate(() => (location.hash = "#/containerd/default/content"));
    await p.waitForFunction(() => document.querySelectorAll("#ctr-content tbody tr").length > 0);
    await p.screenshot({ path: `${ROOT}tests/e2e/screenshots/tmp/containerd-content.png` });
  }, { width: 1440, height: 900 }));
