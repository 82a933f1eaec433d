// Layer contents in the page, in Chromium: the file viewer (text with "Load more", hex, image
// previews by magic bytes, SVG never inlined), downloads of a file, a folder (tar), a layer and
// the image (docker save, OCI layout) caught with playwright's download API, and the plain
// message where the store has no layer contents. Expected bytes come from the fixture tars (or
// from a docker save archive this file builds with GNU tar), never from literals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { axeViolations, horizontalOverflow, withPage } from "./harness.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BASIC = `${ROOT}tests/fixtures/docker20/basic/`;
const EDGE = "sha256:4afb125595bdb8aeb09f6a50a766c3eaba26fae53f604d8d88c2010ea04ddb05";

// ---- reading tars (ustar, GNU long names, pax paths) -----------------------------------------

/** Entries of a tar: [{ name, type, size, mode, linkname, body }] (names without "./"). */
function readTar(buf) {
  const out = [];
  let longName = null;
  let pax = {};
  for (let hdr = 0; hdr + 512 <= buf.length; ) {
    if (buf.subarray(hdr, hdr + 512).every((b) => b === 0)) break;
    const str = (a, b) => buf.subarray(hdr + a, hdr + b).toString("utf8").replace(/\0.*$/s, "");
    const size = parseInt(str(124, 136).trim() || "0", 8);
    const type = String.fromCharCode(buf[hdr + 156] || 0x30);
    const body = Buffer.from(buf.subarray(hdr + 512, hdr + 512 + size));
    const entry = { type, size, mode: parseInt(str(100, 108).trim() || "0", 8), linkname: pax.linkpath ?? str(157, 257), body };
    const ustar = buf.subarray(hdr + 257, hdr + 263).toString("latin1") === "ustar\0"; // GNU headers have no prefix field
    const name = pax.path ?? longName ?? [ustar ? str(345, 500) : "", str(0, 100)].filter(Boolean).join("/");
    hdr += 512 + Math.ceil(size / 512) * 512;
    if (type === "x") {
      for (const rec of body.toString("utf8").split("\n").filter(Boolean)) {
        const kv = rec.slice(rec.indexOf(" ") + 1);
        pax[kv.slice(0, kv.indexOf("="))] = kv.slice(kv.indexOf("=") + 1);
      }
      continue;
    }
    if (type === "L") {
      longName = body.toString("utf8").replace(/\0.*$/s, "");
      continue;
    }
    out.push({ ...entry, name: name.replace(/^\.\//, "") });
    longName = null;
    pax = {};
  }
  return out;
}

const sha = (b) => createHash("sha256").update(b).digest("hex");

/** EDGE's layers (bottom first) from the basic fixture's docker save archive, as entry lists. */
function edgeLayers() {
  const save = readTar(readFileSync(`${BASIC}docker-save.tar`));
  const file = (n) => save.find((e) => e.name === n).body;
  const manifest = JSON.parse(file("manifest.json"));
  const edge = manifest.find((m) => m.RepoTags?.includes("local/edge:latest"));
  return edge.Layers.map((l) => ({ tar: file(l), entries: readTar(file(l)) }));
}

/** The bytes of `path` as the image shows it: from the topmost layer that has it. */
function edgeFile(layers, path) {
  const name = path.replace(/^\//, "");
  for (const l of [...layers].reverse()) {
    const e = l.entries.find((x) => x.name.replace(/\/$/, "") === name);
    if (e) return e.body;
  }
  throw new Error(`${path} is in no layer`);
}

// ---- driving the page --------------------------------------------------------------------------

const page = (fn, size) => withPage(async (p, base) => {
  if (size) await p.setViewportSize(size);
  await p.waitForSelector("body[data-ready=true]");
  await fn(p, base);
}, { path: "/?sample=0" });

async function importFile(p, file) {
  const before = await p.evaluate(() => Number(document.body.dataset.imports ?? 0));
  await p.setInputFiles("#file-input", file);
  await p.waitForFunction((n) => Number(document.body.dataset.imports ?? 0) > n, before);
  await p.waitForSelector("#import-report:not([hidden])");
}

async function openImage(p, ref) {
  await p.evaluate((h) => (location.hash = h), `#/image/${ref}`);
  await p.waitForSelector("#file-tree li");
  await p.waitForSelector("#image-downloads .downloads, #image-downloads .no-contents");
}

const fileButton = (path) => `#file-tree li[data-path="${path}"] button.tree-file`;

/** Opens the viewer of `path` from the layer explorer and waits for its content. */
async function openViewer(p, path) {
  await p.click(fileButton(path));
  await p.waitForSelector("#dialog[open] #viewer .viewer-content > *");
}

/** Clicks `selector` and resolves to the downloaded bytes and the suggested file name. */
async function downloadOf(p, selector) {
  const [dl] = await Promise.all([p.waitForEvent("download"), p.click(selector)]);
  return { name: dl.suggestedFilename(), bytes: readFileSync(await dl.path()) };
}

/** The bytes a hex dump shows (parsed back from its "offset  hex hex …  |chars|" lines). */
function bytesOfHex(text) {
  const bytes = [];
  let expect = 0;
  for (const line of text.split("\n")) {
    const m = line.match(/^([0-9a-f]{8}) {2}(.*?) {2}\|.*\|$/);
    assert.ok(m, `a hexdump -C line: ${JSON.stringify(line)}`);
    assert.equal(parseInt(m[1], 16), expect, "offsets count up by 16");
    const row = m[2].trim().split(/\s+/).map((x) => parseInt(x, 16));
    bytes.push(...row);
    expect += row.length;
  }
  return Buffer.from(bytes);
}

/** A second handle on the page's store, in the page, for what the package itself returns. */
async function storeBytes(p, method, ...args) {
  return Buffer.from(await p.evaluate(async ([method, args]) => {
    const { Store } = await import("imagestore");
    const s = await Store.open("imagestore-page");
    try {
      return [...new Uint8Array(await new Response(await s[method](...args)).arrayBuffer())];
    } finally {
      s.close();
    }
  }, [method, args]));
}

// ---- a docker save archive with pictures, built here with GNU tar -------------------------------

const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
const GIF = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");
const SVG = `<?xml version="1.0"?>\n<!-- a logo -->\n<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" onload="window.top.svgRan = 1">` +
  `<script>window.top.svgRan = 1;</script><rect width="40" height="20" fill="#0b5cad"/></svg>\n`;
const BIG_TEXT = Array.from({ length: 2000 }, (_, i) => `line ${String(i).padStart(4, "0")}: the quick brown fox jumps over the lazy dog`).join("\n");

function picturesArchive() {
  const dir = mkdtempSync(join(tmpdir(), "imagestore-pics-"));
  try {
    mkdirSync(join(dir, "rootfs/pics"), { recursive: true });
    writeFileSync(join(dir, "rootfs/pics/dot.png"), PNG);
    writeFileSync(join(dir, "rootfs/pics/dot-named-wrong.txt"), PNG);
    writeFileSync(join(dir, "rootfs/pics/pixel.gif"), GIF);
    writeFileSync(join(dir, "rootfs/pics/logo.svg"), SVG);
    writeFileSync(join(dir, "rootfs/pics/big.txt"), BIG_TEXT);
    const tarOpts = ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=2026-01-01 00:00:00Z", "--format=ustar"];
    mkdirSync(join(dir, "save/layer1"), { recursive: true });
    execFileSync("tar", ["-cf", join(dir, "save/layer1/layer.tar"), ...tarOpts, "-C", join(dir, "rootfs"), "pics"]);
    const layer = readFileSync(join(dir, "save/layer1/layer.tar"));
    const config = Buffer.from(JSON.stringify({
      architecture: "amd64", os: "linux", created: "2026-01-01T00:00:00Z", config: {},
      rootfs: { type: "layers", diff_ids: [`sha256:${sha(layer)}`] },
      history: [{ created: "2026-01-01T00:00:00Z", created_by: "COPY pics /pics" }],
    }));
    const id = sha(config);
    writeFileSync(join(dir, `save/${id}.json`), config);
    writeFileSync(join(dir, "save/manifest.json"), JSON.stringify([{ Config: `${id}.json`, RepoTags: ["test/pics:1"], Layers: ["layer1/layer.tar"] }]));
    execFileSync("tar", ["-cf", join(dir, "pics.tar"), ...tarOpts, "-C", join(dir, "save"), "."]);
    return { id: `sha256:${id}`, tar: readFileSync(join(dir, "pics.tar")), layer };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- tests ---------------------------------------------------------------------------------------

test("the viewer shows a real file's bytes: text, hex with Load more; the download equals them", () =>
  page(async (p) => {
    const layers = edgeLayers();
    await p.evaluate(() => { window.showSaveFilePicker = undefined; }); // downloads through a Blob
    await importFile(p, `${BASIC}docker-save.tar`);
    await openImage(p, EDGE);

    // A text file opens as text, whole (it is under the cap).
    const dataTxt = edgeFile(layers, "/app/data.txt");
    await openViewer(p, "/app/data.txt");
    assert.equal(await p.isChecked("#viewer-mode-text"), true, "text is the default for text");
    assert.equal(await p.textContent("#viewer-text"), dataTxt.toString("utf8"));
    assert.equal(await p.textContent("#viewer-status"), `All ${dataTxt.length} bytes shown.`);
    assert.equal(await p.isVisible("#viewer-more"), false);
    // Its download is the same bytes.
    const file = await downloadOf(p, "#viewer-download");
    assert.equal(file.name, "data.txt");
    assert.ok(file.bytes.equals(dataTxt), "the downloaded file equals the fixture's bytes");
    assert.ok(file.bytes.equals(await storeBytes(p, "readFile", EDGE, "/app/data.txt")), "and what readFile returns");
    // Hex of the same file.
    await p.check("#viewer-mode-hex");
    await p.waitForSelector("#viewer-hex");
    assert.ok(bytesOfHex(await p.textContent("#viewer-hex")).equals(dataTxt.subarray(0, 4096)));
    await p.keyboard.press("Escape");

    // A 1 MiB binary opens as hex, 4 KiB at a time.
    const blob = edgeFile(layers, "/data/blob.bin");
    await openViewer(p, "/data/blob.bin");
    assert.equal(await p.isChecked("#viewer-mode-hex"), true, "hex is the default for binary");
    assert.ok(bytesOfHex(await p.textContent("#viewer-hex")).equals(blob.subarray(0, 4096)));
    assert.match(await p.textContent("#viewer-status"), new RegExp(`^First 4096 of ${blob.length} bytes shown\\.$`));
    await p.click("#viewer-more");
    await p.waitForFunction(() => document.querySelector("#viewer-hex").textContent.split("\n").length === 512);
    assert.ok(bytesOfHex(await p.textContent("#viewer-hex")).equals(blob.subarray(0, 8192)));
    assert.equal(await p.evaluate(() => document.activeElement.id), "viewer-more", "focus stays on Load more");
    await p.keyboard.press("Escape");

    // A symlink opens its target, read inside the image (/data/link → /app/data.txt).
    await openViewer(p, "/data/link");
    assert.equal(await p.textContent("#viewer-text"), dataTxt.toString("utf8"));
    await p.keyboard.press("Escape");
  }));

test("downloads of a layer, a folder and the image equal the fixture's and the store's bytes", () =>
  page(async (p) => {
    const layers = edgeLayers();
    // A browser without the File System Access API: each download is a Blob the browser saves.
    await p.evaluate(() => { window.showSaveFilePicker = undefined; });
    await importFile(p, `${BASIC}docker-save.tar`);
    await openImage(p, EDGE);

    // Each layer's tar is the fixture's layer.tar, byte for byte.
    const buttons = await p.$$eval("#layers-table .layer-download", (bs) => bs.map((b) => b.getAttribute("aria-label")));
    assert.equal(buttons.length, layers.length, "every layer of a docker save import has its tar");
    for (const i of [0, layers.length - 1]) {
      const got = await downloadOf(p, `#layers-table button[aria-label="Download tar of layer ${i + 1}"]`);
      assert.ok(got.bytes.equals(layers[i].tar), `layer ${i + 1} equals the fixture's layer.tar`);
      assert.match(got.name, /^layer-\d+-[0-9a-f]{12}\.tar$/);
    }

    // The image: docker save and OCI layout, equal to what store.save returns.
    const docker = await downloadOf(p, "#save-docker");
    assert.equal(docker.name, "local_edge_latest.tar");
    // Entry by entry: an export dates some headers with the second it is made, and the two
    // saves need not fall in the same second on a busy machine.
    const sameEntries = (a, b, what) => {
      const strip = (buf) => readTar(buf).map((e) => [e.name, e.type, e.mode, e.linkname, sha(e.body)]);
      assert.deepEqual(strip(a), strip(b), what);
    };
    sameEntries(docker.bytes, await storeBytes(p, "save", "local/edge:latest", { format: "docker" }), "docker save download = store.save");
    const dockerEntries = readTar(docker.bytes);
    assert.ok(dockerEntries.some((e) => e.name === "manifest.json"));
    const oci = await downloadOf(p, "#save-oci");
    sameEntries(oci.bytes, await storeBytes(p, "save", "local/edge:latest", { format: "oci" }), "OCI download = store.save");
    assert.ok(readTar(oci.bytes).some((e) => e.name === "index.json"));

    // A folder as a tar (the core's readDirectory): /data has long names (pax), a symlink, a
    // fifo, an empty folder, a non-ASCII name and a file from a higher layer. Every entry is as
    // in the fixture's layers.
    const folder = await (async () => {
      const [dl] = await Promise.all([p.waitForEvent("download"), p.click('#file-tree li[data-path="/data"] button.tree-action')]);
      return { name: dl.suggestedFilename(), bytes: readFileSync(await dl.path()), path: await dl.path() };
    })();
    assert.equal(folder.name, "data.tar");
    const got = new Map(readTar(folder.bytes).map((e) => [e.name, e]));
    const want = new Map();
    for (const l of layers) for (const e of l.entries) if (e.name === "data/" || e.name.startsWith("data/")) want.set(e.name, e);
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), "the same entries");
    for (const [name, w] of want) {
      const g = got.get(name);
      assert.equal(g.type, w.type, `${name}: type`);
      assert.equal(g.mode & 0o7777, w.mode & 0o7777, `${name}: mode`);
      assert.equal(g.linkname, w.type === "2" ? w.linkname : "", `${name}: link`);
      assert.ok(g.body.equals(w.body), `${name}: bytes`);
    }
    // GNU tar reads it too.
    const listed = execFileSync("tar", ["-tf", folder.path]).toString("utf8").trim().split("\n").sort();
    assert.deepEqual(listed, [...want.keys()].sort());
  }));

test("where the browser can, downloads stream to the file the user picked (no Blob); cancelling saves nothing", () =>
  page(async (p) => {
    const layers = edgeLayers();
    await importFile(p, `${BASIC}docker-save.tar`);
    await openImage(p, EDGE);
    // A stand-in for the File System Access picker: records what is written to the picked file,
    // chunk by chunk, and the largest chunk (memory stays at a chunk, never the whole file).
    await p.evaluate(() => {
      window.savedFiles = [];
      window.showSaveFilePicker = async ({ suggestedName }) => {
        if (window.cancelNextPicker) {
          window.cancelNextPicker = false;
          throw new DOMException("The user aborted a request.", "AbortError");
        }
        const file = { name: suggestedName, parts: [], largest: 0, closed: false };
        window.savedFiles.push(file);
        return {
          createWritable: async () => new WritableStream({
            write(chunk) {
              file.parts.push(chunk.slice());
              file.largest = Math.max(file.largest, chunk.byteLength);
            },
            close() { file.closed = true; },
          }),
        };
      };
    });
    let downloads = 0;
    p.on("download", () => downloads++);
    const saved = async (selector) => {
      const n = await p.evaluate(() => window.savedFiles.length);
      await p.click(selector);
      await p.waitForFunction((k) => window.savedFiles.length > k && window.savedFiles[k].closed, n);
      return p.evaluate(async (k) => {
        const f = window.savedFiles[k];
        const bytes = new Uint8Array(await new Blob(f.parts).arrayBuffer());
        const hash = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
        return { name: f.name, size: bytes.length, hash, largest: f.largest, chunks: f.parts.length };
      }, n);
    };
    const layer = await saved('#layers-table button[aria-label="Download tar of layer 1"]');
    assert.equal(layer.hash, sha(layers[0].tar), "layer 1 written to the picked file = the fixture's layer.tar");
    assert.match(layer.name, /^layer-1-[0-9a-f]{12}\.tar$/);
    const docker = await saved("#save-docker");
    // (Its bytes may date headers with another second than a second save: the length is fixed.)
    assert.equal(docker.size, (await storeBytes(p, "save", "local/edge:latest", { format: "docker" })).length);
    // The core cuts chunks at about 1 MiB (a stored chunk may top one up to 2 MiB).
    assert.ok(docker.chunks > 1 && docker.largest <= 2.1 * 1024 * 1024, `streamed in chunks: ${JSON.stringify(docker)}`);
    assert.match(await p.textContent("#image-download-status"), new RegExp(`^Downloaded .* \\(${docker.size} bytes\\)\\.$`));
    const folder = await saved('#file-tree li[data-path="/data"] button.tree-action');
    assert.equal(folder.name, "data.tar");
    assert.equal(folder.hash, sha(await storeBytes(p, "readDirectory", "local/edge:latest", "/data")));
    assert.equal(downloads, 0, "no Blob download was made");
    // The user closes the picker: nothing is read or saved, the status says nothing happened.
    await p.evaluate(() => { window.cancelNextPicker = true; });
    const before = await p.evaluate(() => window.savedFiles.length);
    await p.click("#save-oci");
    await p.waitForFunction(() => !document.querySelector("#save-oci").disabled);
    assert.equal(await p.evaluate(() => window.savedFiles.length), before);
    assert.equal(await p.textContent("#image-download-status"), "");
  }));

test("images preview by their magic bytes; an SVG is shown through <img>, never inlined, its script never runs", () =>
  page(async (p) => {
    const pics = picturesArchive();
    await p.setInputFiles("#file-input", { name: "pics.tar", mimeType: "application/x-tar", buffer: pics.tar });
    await p.waitForSelector("#import-report:not([hidden])");
    await openImage(p, pics.id);

    for (const [path, bytes, type] of [["/pics/dot.png", PNG, "image/png"], ["/pics/dot-named-wrong.txt", PNG, "image/png"], ["/pics/pixel.gif", GIF, "image/gif"], ["/pics/logo.svg", Buffer.from(SVG), "image/svg+xml"]]) {
      await openViewer(p, path);
      assert.equal(await p.isChecked("#viewer-mode-image"), true, `${path}: the image preview is the default`);
      await p.waitForFunction(() => document.querySelector("#viewer-image")?.complete);
      const shown = await p.$eval("#viewer-image", async (img) => ({
        src: img.src.slice(0, 5),
        width: img.naturalWidth,
        type: (await (await fetch(img.src)).blob()).type,
        bytes: [...new Uint8Array(await (await fetch(img.src)).arrayBuffer())],
      }));
      assert.equal(shown.src, "blob:");
      assert.equal(shown.type, type);
      assert.ok(shown.width > 0, `${path}: the browser decoded it`);
      assert.ok(Buffer.from(shown.bytes).equals(bytes), `${path}: the preview is the file's bytes`);
      await p.keyboard.press("Escape");
    }
    assert.equal(await p.$$eval("svg, script:not([src]):not([type=importmap])", (els) => els.length), 0, "no SVG or script element came into the document");
    assert.equal(await p.evaluate(() => window.svgRan), undefined, "the SVG's script did not run");

    // Text over the cap: the first 64 KiB, then Load more shows the rest.
    await openViewer(p, "/pics/big.txt");
    assert.equal(await p.textContent("#viewer-text"), BIG_TEXT.slice(0, 65536));
    assert.equal(await p.textContent("#viewer-status"), `First 65536 of ${BIG_TEXT.length} bytes shown.`);
    await p.click("#viewer-more");
    await p.waitForFunction((n) => document.querySelector("#viewer-text").textContent.length === n, BIG_TEXT.length);
    assert.equal(await p.textContent("#viewer-text"), BIG_TEXT);
    assert.equal(await p.isVisible("#viewer-more"), false);
  }));

test("an image store upload has no layer contents: the page says so and offers no broken buttons", () =>
  page(async (p) => {
    await importFile(p, `${BASIC}image-store.tar`);
    await openImage(p, EDGE);
    assert.match(await p.textContent("#no-contents"), /metadata but not its layer contents/);
    assert.match(await p.textContent("#explorer-no-contents"), /no layer contents/);
    const count = (sel) => p.$$eval(sel, (els) => els.length);
    assert.equal(await count("#save-docker, #save-oci"), 0, "no export buttons");
    assert.equal(await count("#layers-table .layer-download"), 0, "no layer download buttons");
    assert.ok((await p.$$eval("#layers-table td.files-cell", (tds) => tds.filter((td) => /no contents/.test(td.textContent)).length)) > 0);
    assert.equal(await count("#file-tree button.tree-file, #file-tree button.tree-action"), 0, "no open or folder buttons");
    assert.ok((await count("#file-tree li")) > 0, "the tree is still listed (from tar-split)");
    assert.deepEqual(await axeViolations(p), []);
  }));

test("layer contents a later import brings are offered at once (nothing stale is remembered)", () =>
  page(async (p) => {
    await importFile(p, `${BASIC}image-store.tar`);
    await openImage(p, EDGE);
    await p.waitForSelector("#no-contents");
    await importFile(p, `${BASIC}docker-save.tar`);
    await openImage(p, EDGE);
    await p.waitForSelector("#save-docker");
    assert.equal(await p.$$eval("#no-contents", (els) => els.length), 0);
    assert.ok((await p.$$eval("#file-tree button.tree-file", (els) => els.length)) > 0, "files open now");
  }));

test("keyboard and phone: the viewer opens with Enter, switches with arrows, closes with Escape; axe-clean, no sideways scroll", () =>
  page(async (p) => {
    await importFile(p, `${BASIC}docker-save.tar`);
    await openImage(p, EDGE);
    await p.focus(fileButton("/app/data.txt"));
    await p.keyboard.press("Enter");
    await p.waitForSelector("#dialog[open] #viewer-text");
    assert.equal(await p.evaluate(() => document.activeElement.id), "viewer-mode-text", "focus goes to the mode choice");
    await p.keyboard.press("ArrowRight");
    await p.waitForSelector("#viewer-hex");
    assert.equal(await p.isChecked("#viewer-mode-hex"), true);
    assert.deepEqual(await axeViolations(p), []);
    const { over, culprits } = await horizontalOverflow(p);
    assert.equal(over, 0, `no sideways scroll: ${culprits.join("; ")}`);
    const spill = await p.$eval("#dialog", (d) => [...d.querySelectorAll("*")].filter((el) => el.getBoundingClientRect().right > d.getBoundingClientRect().right + 1).map((el) => el.id || el.tagName));
    assert.deepEqual(spill, [], "nothing reaches past the dialog");
    await p.keyboard.press("Escape");
    await p.waitForSelector("#dialog", { state: "hidden" });
    assert.equal(await p.evaluate(() => document.activeElement.closest("li")?.dataset.path), "/app/data.txt", "focus is back on the file");
    // The page with its download buttons stays within the phone's width too.
    const page = await horizontalOverflow(p);
    assert.equal(page.over, 0, page.culprits.join("; "));
    assert.deepEqual(await axeViolations(p), []);
  }, { width: 390, height: 844 }));
