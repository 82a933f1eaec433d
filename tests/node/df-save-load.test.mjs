// `system df`, `save` and `load`, by the `imagestore` command and through `imagestore serve`
// driven by the real docker CLI: `docker system df -v --format json` and `docker save` against
// what the same CLI got from real dockerd 20.10 (the fixtures' system-df.json and
// docker-save.tar, byte for byte); the tables, the load lines and the errors against what the
// docker CLI prints for the same store through our socket; `docker load` lines against the
// archive's own manifest.json.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DOCKER, assertBuilt, dockerOn, fixture, imagestore, nowOfFixture, startServer, stopServer } from "./cli_support.mjs";

let work;
let config;
/** Served stores: `imageStore` from image-store.tar (no layer contents), `saved` from docker-save.tar. */
const served = {};

/** A store imported from `tarball`, served on its own socket, with a copy for `imagestore` itself. */
async function serveStore(name, tarball) {
  const dir = join(work, name);
  if (tarball) {
    const r = await imagestore(dir, ["import", tarball]);
    assert.equal(r.code, 0, r.stderr);
  }
  const mirror = join(work, `${name}-mirror`);
  if (tarball) cpSync(dir, mirror, { recursive: true });
  const socket = join(work, `${name}.sock`);
  const server = await startServer(dir, `unix://${socket}`);
  return { dir, mirror, socket, server, docker: dockerOn(socket, config) };
}

before(async () => {
  assertBuilt();
  assert.ok(existsSync(DOCKER), `no docker CLI found (${DOCKER}): run scripts/setup.sh, which installs docker.io`);
  work = mkdtempSync(join(tmpdir(), "imagestore-df-save-load-"));
  config = join(work, "docker-config");
  served.imageStore = await serveStore("image-store", fixture("basic", "image-store.tar"));
  served.saved = await serveStore("saved", fixture("basic", "docker-save.tar"));
});

after(async () => {
  for (const s of Object.values(served)) await stopServer(s.server);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The manifest.json of a docker save archive, read with tar(1). */
const manifestOf = (archive) => JSON.parse(execFileSync("tar", ["-xOf", archive, "manifest.json"], { encoding: "utf8" }));

for (const name of ["basic", "debian", "scale200"]) {
  test(`${name}: imagestore system df -v --format json = docker's system-df.json, byte for byte`, async () => {
    const want = readFileSync(fixture(name, "expected", "system-df.json"), "utf8");
    const first = JSON.parse(want).Images[0];
    const at = nowOfFixture(Date.parse(first.CreatedAt.replace(" +0000 UTC", "Z").replace(" ", "T")) / 1000, first.CreatedSince);
    const dir = join(work, `df-${name}`);
    assert.equal((await imagestore(dir, ["import", fixture(name, "image-store.tar")])).code, 0);
    const r = await imagestore(dir, ["system", "df", "-v", "--format", "json"], { IMAGESTORE_NOW: String(at) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, want);
  });
}

test("docker system df (table, -v, json) through serve = imagestore system df; -v json = the fixture", async () => {
  const { docker, mirror } = served.imageStore;
  for (const args of [[], ["-v"], ["--format", "json"], ["-v", "--format", "json"]]) {
    const d = await docker(["system", "df", ...args.map((a) => (a === "json" ? "{{json .}}" : a))]);
    assert.equal(d.code, 0, d.stderr);
    const mine = await imagestore(mirror, ["system", "df", ...args]);
    assert.equal(mine.code, 0, mine.stderr);
    assert.equal(mine.stdout, d.stdout, `system df ${args.join(" ")}`);
  }
  // The image rows are the ones real dockerd's CLI printed (relative times aside).
  const strip = (text) => JSON.parse(text).Images.map(({ CreatedSince, ...rest }) => rest);
  const d = await docker(["system", "df", "-v", "--format", "{{json .}}"]);
  assert.deepEqual(strip(d.stdout), strip(readFileSync(fixture("basic", "expected", "system-df.json"), "utf8")));
  const table = await docker(["system", "df"]);
  assert.match(table.stdout, /^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE\nImages +7 +0 +3\.049MB +3\.049MB \(100%\)\n/);
});

/** The entries of a plain tar: { name, type, mtime, header (512 bytes), data }. */
function tarEntries(buf) {
  const entries = [];
  const field = (h, from, len) => h.subarray(from, from + len).toString("latin1").replace(/\0.*$/s, "");
  for (let off = 0; off + 512 <= buf.length; ) {
    const header = buf.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(field(header, 124, 12).trim() || "0", 8);
    const name = field(header, 0, 100);
    entries.push({ name, type: field(header, 156, 1), mtime: parseInt(field(header, 136, 12).trim(), 8), header, data: buf.subarray(off + 512, off + 512 + size) });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}

/**
 * Asserts `got` is `want` byte for byte, except the times of the entries of the folders whose
 * layer.tar is a symlink: dockerd gives them the time of the save (one time in `want`; here any
 * second from `t0` to `t1`).
 */
function assertSameArchive(got, want, [t0, t1], what) {
  assert.equal(got.length, want.length, `${what}: archive length`);
  const [g, w] = [tarEntries(got), tarEntries(want)];
  assert.deepEqual(g.map((e) => e.name), w.map((e) => e.name), `${what}: entry names and order`);
  const saveTimes = new Set();
  for (let i = 0; i < g.length; i++) {
    const blank = (h) => Buffer.concat([h.subarray(0, 136), Buffer.alloc(20), h.subarray(156)]);
    const saveTime = g[i].mtime >= t0 && g[i].mtime <= t1 && g[i].mtime !== w[i].mtime;
    if (saveTime) saveTimes.add(w[i].mtime);
    const [gh, wh] = saveTime ? [blank(g[i].header), blank(w[i].header)] : [g[i].header, w[i].header];
    assert.ok(gh.equals(wh), `${what}: header of ${w[i].name}`);
    assert.ok(g[i].data.equals(w[i].data), `${what}: bytes of ${w[i].name}`);
  }
  assert.ok(saveTimes.size <= 1, `${what}: the fixture's entries that differ in time have ${saveTimes.size} times`);
}

test("docker save through serve = imagestore save = the fixture's docker-save.tar (entries, headers, bytes)", async () => {
  const archive = fixture("basic", "docker-save.tar");
  // dockerd writes images in Go map order; ours in the order named: name them as the fixture has them.
  const names = manifestOf(archive).flatMap((m) => m.RepoTags);
  const want = readFileSync(archive);
  const t0 = Math.floor(Date.now() / 1000);
  const viaDocker = join(work, "docker-saved.tar");
  const d = await served.saved.docker(["save", "-o", viaDocker, ...names]);
  assert.equal(d.code, 0, d.stderr);
  const viaCli = join(work, "cli-saved.tar");
  const r = await imagestore(served.saved.mirror, ["save", "-o", viaCli, ...names]);
  assert.equal(r.code, 0, r.stderr);
  // To stdout (redirected).
  const out = await imagestore(served.saved.mirror, ["save", ...names], {}, { encoding: "buffer" });
  assert.equal(out.code, 0, out.stderr);
  const window = [t0, Math.ceil(Date.now() / 1000)];
  assertSameArchive(readFileSync(viaDocker), want, window, "docker save through serve");
  assertSameArchive(readFileSync(viaCli), want, window, "imagestore save -o");
  assertSameArchive(out.stdout, want, window, "imagestore save > file");
  // `docker image save` of one name (GET /images/get?names=…): that image only.
  const one = join(work, "one.tar");
  assert.equal((await served.saved.docker(["image", "save", "-o", one, "local/edge:latest"])).code, 0);
  assert.deepEqual(manifestOf(one).map((m) => m.RepoTags), [["local/edge:latest"]]);
});

test("save errors: the docker CLI through serve and imagestore print the same, exit 1, no file left", async () => {
  for (const args of [["nope"], ["local/edge:latest", "nope:1"]]) {
    const target = join(work, "err.tar");
    const d = await served.saved.docker(["save", "-o", target, ...args]);
    const mine = await imagestore(served.saved.mirror, ["save", "-o", target, ...args]);
    assert.equal(d.code, 1);
    assert.deepEqual([mine.code, mine.stderr], [d.code, d.stderr], args.join(" "));
    assert.ok(!existsSync(target));
  }
  // An image store import has no layer contents: refused before any byte, naming the layers.
  const d = await served.imageStore.docker(["save", "-o", join(work, "x.tar"), "local/edge"]);
  const mine = await imagestore(served.imageStore.mirror, ["save", "-o", join(work, "x.tar"), "local/edge"]);
  assert.equal(d.code, 1);
  assert.match(d.stderr, /^Error response from daemon: .*sha256:[0-9a-f]{64}/);
  assert.deepEqual([mine.code, mine.stderr], [d.code, d.stderr]);
  assert.ok(!existsSync(join(work, "x.tar")));
});

test("docker load through serve prints dockerd's lines (manifest order), = imagestore load; the images are dockerd's", async () => {
  const archive = fixture("basic", "docker-save.tar");
  const want = manifestOf(archive).flatMap((m) => m.RepoTags.map((t) => `Loaded image: ${t}`));
  const target = await serveStore("load-target");
  try {
    const d = await target.docker(["load", "-i", archive]);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(d.stdout.split("\n").filter(Boolean), want);
    const mine = await imagestore(join(work, "load-cli"), ["load", "-i", archive]);
    assert.equal(mine.code, 0, mine.stderr);
    assert.equal(mine.stdout, d.stdout);
    // stdin works too, and loading again says the same (nothing moved).
    const again = await target.docker(["load"], { input: readFileSync(archive) });
    assert.equal(again.stdout, d.stdout);
    // Every loaded tag names the image dockerd had under it.
    const images = (await target.docker(["images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])).stdout;
    const dockerd = readFileSync(fixture("basic", "expected", "images.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .map((j) => `${j.Repository}:${j.Tag} ${j.ID}`);
    for (const line of images.split("\n").filter(Boolean)) assert.ok(dockerd.includes(line), line);
    assert.equal(images.split("\n").filter(Boolean).length, want.length);
    // A tag that moved away is announced as dockerd announces it, then loaded back.
    assert.equal((await target.docker(["tag", "local/base:1", "local/edge:latest"])).code, 0);
    const base = (await target.docker(["image", "inspect", "--format", "{{.Id}}", "local/base:1"])).stdout.trim();
    const moved = await target.docker(["load", "-i", archive]);
    const lines = moved.stdout.split("\n").filter(Boolean);
    const at = lines.indexOf("Loaded image: local/edge:latest");
    assert.equal(lines[at - 1], `The image local/edge:latest already exists, renaming the old one with ID ${base} to empty string`);
    const cliStore = join(work, "load-cli");
    assert.equal((await imagestore(cliStore, ["tag", "local/base:1", "local/edge:latest"])).code, 0);
    assert.equal((await imagestore(cliStore, ["load", "-i", archive])).stdout, moved.stdout);
  } finally {
    await stopServer(target.server);
  }
});

test("load errors: not a tarball, a missing file — the message, exit 1, the store unchanged", async () => {
  const bad = join(work, "bad.tar");
  writeFileSync(bad, "this is not a tar archive at all".repeat(40));
  const before = (await served.saved.docker(["images", "-a", "--no-trunc", "--format", "{{json .}}"])).stdout;
  const d = await served.saved.docker(["load", "-i", bad]);
  assert.equal(d.code, 1);
  assert.ok(d.stderr.length > 0);
  const mine = await imagestore(served.saved.mirror, ["load", "-i", bad]);
  assert.deepEqual([mine.code, mine.stderr], [d.code, d.stderr]);
  assert.equal((await served.saved.docker(["images", "-a", "--no-trunc", "--format", "{{json .}}"])).stdout, before);
  const missing = await imagestore(served.saved.mirror, ["load", "-i", join(work, "nope.tar")]);
  const dm = await served.saved.docker(["load", "-i", join(work, "nope.tar")]);
  assert.deepEqual([missing.code, missing.stderr], [dm.code, dm.stderr]);
});
