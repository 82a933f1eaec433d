// The `imagestore` command (pkg/node/cli.js, the package's bin) against what the docker CLI and
// ctr printed for the same stores (tests/fixtures/docker20/*/expected/): `images` as JSON lines
// and with filters, `history`, `inspect`, `rmi` (replaying the fixtures' rmi), `tag`,
// `ctr images ls` / `ctr content ls`, docker's exit codes and messages.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CLI, ROOT, assertBuilt, assertSameRuns, fixture, imagestore, nowOfFixture, readLines, run } from "./cli_support.mjs";

let work;
const stores = {};

before(async () => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), "imagestore-cli-test-"));
  for (const name of ["basic", "debian", "scale200"]) {
    stores[name] = join(work, name);
    const r = await imagestore(stores[name], ["import", fixture(name, "image-store.tar")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Imported .*\(docker-image-store\): \d+ images/);
  }
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const createdSeconds = (line) => Date.parse(JSON.parse(line).CreatedAt.replace(" +0000 UTC", "Z").replace(" ", "T")) / 1000;

for (const name of ["basic", "debian", "scale200"]) {
  for (const [file, args] of [
    ["images.jsonl", ["--digests"]],
    ["images-all.jsonl", ["-a"]],
  ]) {
    test(`${name}: imagestore images ${args.join(" ")} --format json --no-trunc = docker's ${file}`, async () => {
      const want = readLines(fixture(name, "expected", file));
      const first = JSON.parse(want[0]);
      const now = nowOfFixture(createdSeconds(want[0]), first.CreatedSince);
      const r = await imagestore(stores[name], ["images", ...args, "--format", "json", "--no-trunc"], {
        IMAGESTORE_NOW: String(now),
      });
      assert.equal(r.code, 0, r.stderr);
      const got = r.stdout.split("\n").filter(Boolean);
      assertSameRuns(got, want, (l) => JSON.parse(l).CreatedAt, `${name} ${file}`);
    });
  }

  test(`${name}: every filter of images-filters.txt (docker images -q --no-trunc -f …)`, async () => {
    const text = readFileSync(fixture(name, "expected", "images-filters.txt"), "utf8");
    const blocks = text.split(/^# /m).filter(Boolean);
    assert.ok(blocks.length >= 3);
    for (const block of blocks) {
      const [command, ...ids] = block.split("\n").filter(Boolean);
      const filters = [...command.matchAll(/-f '([^']*)'/g)].map((m) => ["-f", m[1]]).flat();
      const r = await imagestore(stores[name], ["images", "-q", "--no-trunc", ...filters]);
      // The fixture recorded stderr too: an error line means docker failed with it.
      const errors = ids.filter((l) => l.startsWith("Error"));
      if (errors.length) {
        assert.deepEqual([r.code, r.stderr.trim()], [1, errors.join("\n")], command);
        continue;
      }
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.split("\n").filter(Boolean).sort(), ids.sort(), command);
    }
  });

  test(`${name}: imagestore inspect prints dockerd's inspect JSON for every image`, async () => {
    const dir = fixture(name, "expected", "inspect"); // what `docker image inspect ID` printed
    const files = readdirSync(dir);
    const ids = files.map((f) => f.replace(".json", ""));
    const r = await imagestore(stores[name], ["inspect", ...ids]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith("[\n    {\n        \"Id\": "), "4-space indented array");
    const got = JSON.parse(r.stdout);
    files.forEach((f, i) => {
      // Text, not values: dockerd's field order and the CLI's indentation count. The one known
      // difference: GraphDriver.Name is the driver folder's name, which this tar does not hold.
      const want = readFileSync(join(dir, f), "utf8");
      const driver = JSON.parse(want)[0].GraphDriver.Name;
      assert.equal(got[i].GraphDriver.Name, "");
      got[i].GraphDriver.Name = driver;
      assert.equal(JSON.stringify([got[i]], null, 4) + "\n", want, f);
    });
  });
}

test("basic: history --format json --no-trunc = docker's history/*.jsonl (relative times included)", async () => {
  const dir = fixture("basic", "expected", "history");
  for (const file of readdirSync(dir)) {
    const want = readLines(join(dir, file));
    const first = JSON.parse(want[0]);
    const now = nowOfFixture(Date.parse(first.CreatedAt) / 1000, first.CreatedSince);
    // The file name is the reference with / and : as _ ; the image is the one the fixture names.
    const ref = file.replace(".jsonl", "").replace(/^127\.0\.0\.1_5000_team_edge_v2$/, "127.0.0.1:5000/team/edge:v2").replace(/^local_(.+)_([^_]+)$/, "local/$1:$2");
    const r = await imagestore(stores.basic, ["history", "--format", "json", "--no-trunc", ref], { IMAGESTORE_NOW: String(now) });
    assert.equal(r.code, 0, `${ref}: ${r.stderr}`);
    assert.deepEqual(r.stdout.split("\n").filter(Boolean), want, file);
  }
});

test("basic: images and history tables have docker's columns, widths and truncation", async () => {
  const r = await imagestore(stores.basic, ["images", "-a"]);
  const lines = r.stdout.split("\n").filter(Boolean);
  // tabwriter: each column as wide as its widest cell + 3 (REPOSITORY: 24 + 3, TAG: min 10).
  assert.match(lines[0], /^REPOSITORY {17}TAG {7}IMAGE ID {7}CREATED +SIZE$/);
  assert.ok(lines.some((l) => /^127\.0\.0\.1:5000\/team\/edge   v2        4afb125595bd   \d+ \w+ ago +3\.05MB$/.test(l)), lines.join("\n"));
  assert.equal(lines.length, 1 + 24);
  const h = await imagestore(stores.basic, ["history", "local/edge"]);
  const hl = h.stdout.split("\n");
  assert.match(hl[0], /^IMAGE {10}CREATED +CREATED BY {38}SIZE {6}COMMENT$/);
  // CREATED BY is cut to 45 characters with an ellipsis, as formatter.Ellipsis does.
  assert.ok(hl.some((l) => l.includes('/bin/sh -c #(nop)  HEALTHCHECK &{["CMD" "cat… ')), hl.join("\n"));
});

test("basic: rmi replays the fixture's rmi (output and the store left behind)", async () => {
  const store = join(work, "rmi");
  assert.equal((await imagestore(store, ["import", fixture("basic", "image-store.tar")])).code, 0);
  const a = await imagestore(store, ["rmi", "local/edge:latest"]);
  const b = await imagestore(store, ["rmi", "127.0.0.1:5000/team/edge:v2"]);
  const c = await imagestore(store, ["rmi", "local/dangle:1"]);
  for (const x of [a, b, c]) assert.equal(x.code, 0, x.stderr);
  assert.equal(a.stdout + c.stdout, readFileSync(fixture("basic", "expected", "rmi-edge.txt"), "utf8"));
  const v2 = JSON.parse(readFileSync(fixture("basic", "expected", "api", "delete-edge-v2.json"), "utf8"));
  assert.equal(b.stdout, v2.map((o) => (o.Untagged ? `Untagged: ${o.Untagged}` : `Deleted: ${o.Deleted}`)).join("\n") + "\n");
  const afterStore = join(work, "after-rmi");
  assert.equal((await imagestore(afterStore, ["import", fixture("basic", "image-store-after-rmi.tar")])).code, 0);
  const got = await imagestore(store, ["images", "-a", "--digests", "--no-trunc", "--format", "json"], { IMAGESTORE_NOW: "2026-12-01T00:00:00Z" });
  const want = await imagestore(afterStore, ["images", "-a", "--digests", "--no-trunc", "--format", "json"], { IMAGESTORE_NOW: "2026-12-01T00:00:00Z" });
  assert.equal(got.stdout, want.stdout);
});

test("docker's exit codes and messages: not found, conflict, usage", async () => {
  const s = stores.basic;
  let r = await imagestore(s, ["inspect", "nope"]);
  assert.deepEqual([r.code, r.stdout, r.stderr], [1, "[]\n", "Error: No such image: nope\n"]);
  r = await imagestore(s, ["rmi", "nope"]);
  assert.deepEqual([r.code, r.stderr], [1, "Error response from daemon: No such image: nope:latest\n"]);
  r = await imagestore(s, ["history", "nope"]);
  assert.deepEqual([r.code, r.stderr], [1, "Error response from daemon: No such image: nope:latest\n"]);
  r = await imagestore(s, ["tag", "nope", "x/y"]);
  assert.deepEqual([r.code, r.stderr], [1, "Error response from daemon: No such image: nope:latest\n"]);
  // local/edge is tagged twice: removing it by ID needs -f, as dockerd says.
  r = await imagestore(s, ["rmi", "4afb125595bd"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Error response from daemon: conflict: unable to delete 4afb125595bd \(must be forced\) - image is referenced in multiple repositories\n$/);
  // local/base has child images: not even -f removes it.
  r = await imagestore(s, ["rmi", "-f", "3902a31b521c"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Error response from daemon: conflict: unable to delete 3902a31b521c \(cannot be forced\) - image has dependent child images\n$/);
  r = await imagestore(s, ["images", "--bogus"]);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /unknown flag: --bogus/);
});

test("tag then images REPOSITORY shows the new tag; rmi untags it", async () => {
  const s = stores.basic;
  assert.equal((await imagestore(s, ["tag", "local/base:1", "example.com/x/y:z"])).code, 0);
  const r = await imagestore(s, ["images", "example.com/x/y"]);
  const lines = r.stdout.split("\n").filter(Boolean);
  assert.equal(lines.length, 2);
  assert.match(lines[1], /^example\.com\/x\/y   z {9}3902a31b521c   /);
  const rm = await imagestore(s, ["rmi", "example.com/x/y:z"]);
  assert.equal(rm.stdout, "Untagged: example.com/x/y:z\n");
});

test("ctr images ls and ctr content ls print what ctr printed (containerd root import)", async () => {
  const store = join(work, "ctr");
  assert.equal((await imagestore(store, ["import", fixture("basic", "containerd-root.tar")])).code, 0);
  for (const ns of ["default", "team"]) {
    const r = await imagestore(store, ["ctr", "-n", ns, "images", "ls"]);
    assert.equal(r.stdout, readFileSync(fixture("basic", "expected", `ctr-images-${ns}.txt`), "utf8"), ns);
  }
  // ctr ran right after the import: every AGE was "Less than a second". Pin "now" just after the
  // newest blob's time so that the AGE column (and so the tabs) can be compared too.
  const { Store } = await import(pathToFileURL(join(ROOT, "pkg/node/index.mjs")));
  const opened = await Store.open("ctr", { backend: "fs", path: store });
  const times = [];
  await opened.containerd("default").content.walk((i) => times.push(Date.parse(i.createdAt) / 1000));
  opened.close();
  await opened.whenClosed;
  const r = await imagestore(store, ["ctr", "content", "ls"], { IMAGESTORE_NOW: String(Math.max(...times) + 0.1) });
  assert.equal(r.stdout, readFileSync(fixture("basic", "expected", "ctr-content-default.txt"), "utf8").replace(/containerd\.io\S*/g, (labels) => labels.split(",").sort().join(",")));
  const got = r.stdout.split("\n").filter(Boolean);
  const want = readLines(fixture("basic", "expected", "ctr-content-default.txt"));
  assert.equal(got[0], want[0]);
  // AGE depends on the clock; labels are Go map order in ctr (sorted here).
  const cells = (l) => {
    const [digest, size, age, labels] = l.split(/\t+/);
    assert.match(age, /^(Less than a second|\d+ \w+|About an? \w+)$/);
    return [digest, size, labels.split(",").sort().join(",")];
  };
  assert.deepEqual(got.slice(1).map(cells).sort(), want.slice(1).map(cells).sort());
});

test("IMAGESTORE_STORE chooses the store when --store is not given", async () => {
  const r = await run(process.execPath, [CLI, "images", "-a", "-q"], { env: { IMAGESTORE_STORE: stores.basic } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split("\n").filter(Boolean).length, 24);
});

test("import progress: a bar redrawn in place on a terminal (script(1) gives a pty), plain lines otherwise", async () => {
  const tarball = fixture("basic", "docker-save.tar");
  const plain = await imagestore(join(work, "progress-plain"), ["import", tarball]);
  assert.equal(plain.code, 0, plain.stderr);
  const lines = plain.stderr.split("\n").filter(Boolean);
  assert.ok(lines.length >= 2, plain.stderr);
  for (const l of lines) assert.match(l, /^[a-z][a-z -]*: [\d.]+[kMG]?B of [\d.]+[kMG]?B$/, JSON.stringify(l));
  assert.doesNotMatch(plain.stderr, /[\r\x1b]/);
  // On a terminal: carriage returns, a 30-column bar, the line cleared at the end.
  const command = [process.execPath, CLI, "--store", join(work, "progress-tty"), "import", tarball].map((a) => `'${a}'`).join(" ");
  const tty = await run("script", ["-qec", command, "/dev/null"]);
  assert.equal(tty.code, 0, tty.stdout + tty.stderr);
  assert.match(tty.stdout, /\r[a-z][a-z -]* +\[[=>]*[ ]*\] [\d.]+[kMG]?B\/[\d.]+[kMG]?B\x1b\[K/);
  assert.match(tty.stdout, /\r\x1b\[KImported /);
  assert.doesNotMatch(tty.stdout, /^[a-z][a-z -]*: [\d.]+[kMG]?B of/m);
});

test("a store served (or otherwise open) elsewhere: a clear error naming it, exit 1, nothing changed", async () => {
  const { spawn } = await import("node:child_process");
  const dir = join(work, "busy");
  assert.equal((await imagestore(dir, ["import", fixture("basic", "docker-save.tar")])).code, 0);
  const socket = join(work, "busy.sock");
  const server = spawn(process.execPath, [CLI, "--store", dir, "serve", "--host", `unix://${socket}`], { stdio: ["ignore", "ignore", "pipe"] });
  await new Promise((resolve) => server.stderr.on("data", (d) => String(d).includes("serving") && resolve()));
  try {
    const r = await imagestore(dir, ["rmi", "local/edge:latest"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: store .*busy is in use by another process/);
  } finally {
    const exited = new Promise((resolve) => server.on("exit", resolve));
    server.kill("SIGTERM");
    await exited;
  }
  const r = await imagestore(dir, ["images", "local/edge"]);
  assert.match(r.stdout, /local\/edge +latest/);
});
