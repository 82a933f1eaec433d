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
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DOCKER, assertBuilt, dockerOn, fixture, imagestore, nowOfFixture, run, startServer, stopServer } from "./cli_support.mjs";

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

/** POSTs `body` to `path` on a served socket; the answer's status and body. */
function postOn(socket, path, body) {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method: "POST", headers: { "Content-Type": "application/x-tar" } }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (d) => (text += d)).on("end", () => resolve({ status: res.statusCode, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

test("POST /images/load?quiet=0 sends dockerd 20.10's Loading layer progress, quiet=1 (the default) none", async () => {
  // What real dockerd 20.10.24 sent for this archive into an empty store (`quiet=0`).
  const real = readFileSync(fixture("basic", "expected", "docker-load-progress.jsonl"), "utf8").split("\n").filter(Boolean);
  const archive = readFileSync(fixture("basic", "docker-save.tar"));
  const target = await serveStore("load-progress");
  try {
    const loud = await postOn(target.socket, "/v1.41/images/load?quiet=0", archive);
    assert.equal(loud.status, 200);
    const ours = loud.text.split("\n").filter(Boolean);
    // Ours is dockerd's stream less the bars dockerd adds every 100 ms of a slow layer (its
    // clock's): every line of ours in dockerd's order, and each line left out such a bar.
    let at = 0;
    for (const line of real) {
      if (line === ours[at]) {
        at++;
        continue;
      }
      const m = JSON.parse(line);
      assert.equal(m.status, "Loading layer", `dockerd's line missing from ours: ${line}`);
      assert.ok(m.progressDetail.current < m.progressDetail.total, `a full bar missing: ${line}`);
      assert.ok(real.indexOf(line) > real.findIndex((l) => JSON.parse(l).id === m.id), `the first bar missing: ${line}`);
    }
    assert.equal(at, ours.length, `lines dockerd did not send: ${ours.slice(at).join("\n")}`);
    assert.ok(ours.filter((l) => l.includes("Loading layer")).length >= 10);
    // Loaded again: every layer is there, so no progress, as dockerd.
    for (const path of ["/v1.41/images/load?quiet=0", "/v1.41/images/load?quiet=1", "/v1.41/images/load"]) {
      const again = (await postOn(target.socket, path, archive)).text.split("\n").filter(Boolean);
      assert.deepEqual(again, real.filter((l) => l.startsWith('{"stream"')), path);
    }
  } finally {
    await stopServer(target.server);
  }
  // quiet=1 on an empty store: the Loaded lines only.
  const quiet = await serveStore("load-quiet");
  try {
    const q = (await postOn(quiet.socket, "/images/load?quiet=1", archive)).text.split("\n").filter(Boolean);
    assert.deepEqual(q, real.filter((l) => l.startsWith('{"stream"')));
  } finally {
    await stopServer(quiet.server);
  }
});

test("docker load on a terminal through serve draws the progress bars, as against dockerd", async () => {
  const target = await serveStore("load-tty");
  try {
    const archive = fixture("basic", "docker-save.tar");
    const cmd = `${DOCKER} --config ${config} load -i ${archive}`;
    const r = await run("script", ["-qec", cmd, "/dev/null"], { env: { DOCKER_HOST: `unix://${target.socket}` } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // The CLI draws its own bar from progressDetail when the terminal is wide enough.
    assert.match(r.stdout, /e100af7cf35b: Loading layer (\[=+>\] )?\s*1\.997MB\/1\.997MB/);
    assert.match(r.stdout, /Loaded image: local\/edge:latest/);
  } finally {
    await stopServer(target.server);
  }
});

test("load of what is not a docker save: imagestore and the docker CLI through serve say what dockerd 20.10 says", async () => {
  // dockerd 20.10.24's answers to `docker load -i` of each (its random temporary number as N).
  const tree = join(work, "not-save");
  execFileSync("mkdir", ["-p", join(tree, "etc"), join(tree, "zz")]);
  writeFileSync(join(tree, "etc", "f"), "hi\n");
  writeFileSync(join(tree, "top.txt"), "x\n");
  const randomTar = join(work, "random.tar");
  execFileSync("tar", ["-C", tree, "-cf", randomTar, "."]);
  const cases = [
    [randomTar, "open /var/lib/docker/tmp/docker-import-N/etc/json: no such file or directory"],
    [fixture("basic", "oci-archive.tar"), "open /var/lib/docker/tmp/docker-import-N/blobs/json: no such file or directory"],
    [fixture("basic", "image-store.tar"), "open /var/lib/docker/tmp/docker-import-N/distribution/json: no such file or directory"],
  ];
  const shape = (s) => s.replace(/docker-import-\d{1,10}\//, "docker-import-N/").trim();
  const before = (await served.saved.docker(["images", "-a", "--no-trunc", "--format", "{{json .}}"])).stdout;
  for (const [file, want] of cases) {
    const d = await served.saved.docker(["load", "-i", file]);
    assert.deepEqual([d.code, shape(d.stderr)], [1, want], file);
    const mine = await imagestore(served.saved.mirror, ["load", "-i", file]);
    assert.deepEqual([mine.code, shape(mine.stderr)], [1, want], file);
  }
  assert.equal((await served.saved.docker(["images", "-a", "--no-trunc", "--format", "{{json .}}"])).stdout, before);
  // `import` still takes them.
  const imported = await imagestore(join(work, "import-oci"), ["import", fixture("basic", "oci-archive.tar")]);
  assert.equal(imported.code, 0, imported.stderr);
});
