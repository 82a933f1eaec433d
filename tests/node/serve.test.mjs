// `imagestore serve` driven by the real docker CLI (DOCKER_HOST=unix://…): what it prints about
// a served fixture store equals what the same CLI printed against real dockerd 20.10 (the
// fixtures' expected/), and what `imagestore` itself prints; tag and rmi go through the API;
// 50 parallel `docker image inspect` are all answered right; dockerd's statuses and bodies for
// errors, version prefixes and endpoints that are not served.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, DOCKER, assertBuilt, assertSameRuns, dockerOn, fixture, imagestore, readLines, run, startServer, stopServer } from "./cli_support.mjs";

let work;
let store;
let mirror; // a copy of the served store for `imagestore` itself (serve holds the store's lock)
let socket;
let server;
let dockerConfig;

const docker = (args) => dockerOn(socket, dockerConfig)(args);

/** An HTTP request on the socket: resolves to { status, headers, body }. */
function request(method, path) {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method, path }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

before(async () => {
  assertBuilt();
  assert.ok(existsSync(DOCKER), `no docker CLI found (${DOCKER}): run scripts/setup.sh, which installs docker.io`);
  work = mkdtempSync(join(tmpdir(), "imagestore-serve-test-"));
  dockerConfig = join(work, "docker-config"); // no user config, no credential helpers
  store = join(work, "store");
  const r = await imagestore(store, ["import", fixture("basic", "image-store.tar")]);
  assert.equal(r.code, 0, r.stderr);
  mirror = join(work, "mirror");
  cpSync(store, mirror, { recursive: true });
  socket = join(work, "docker.sock");
  server = await startServer(store, `unix://${socket}`);
});

after(async () => {
  await stopServer(server);
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the socket is mode 0600; non-loopback TCP addresses are refused", async () => {
  assert.equal(statSync(socket).mode & 0o777, 0o600);
  const r = await run(process.execPath, [CLI, "--store", join(work, "other"), "serve", "--host", "tcp://0.0.0.0:2375"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /refusing to serve on a non-loopback address/);
});

test("docker images -a (table) through serve = imagestore images -a; --format json = the fixture", async () => {
  const d = await docker(["images", "-a"]);
  assert.equal(d.code, 0, d.stderr);
  const mine = await imagestore(mirror, ["images", "-a"]);
  const [dh, ...drows] = d.stdout.split("\n").filter(Boolean);
  const [mh, ...mrows] = mine.stdout.split("\n").filter(Boolean);
  assert.equal(dh, mh);
  assert.deepEqual(drows.slice().sort(), mrows.slice().sort());
  // Field by field against what the CLI printed for real dockerd (relative times aside).
  const strip = (l) => {
    const o = JSON.parse(l);
    delete o.CreatedSince;
    return JSON.stringify(o);
  };
  for (const [file, args] of [
    ["images-all.jsonl", ["-a"]],
    ["images.jsonl", ["--digests"]],
  ]) {
    const j = await docker(["images", ...args, "--no-trunc", "--format", "{{json .}}"]);
    const want = readLines(fixture("basic", "expected", file)).map(strip);
    assertSameRuns(j.stdout.split("\n").filter(Boolean).map(strip), want, (l) => JSON.parse(l).CreatedAt, file);
  }
  const q = await docker(["images", "-q", "--no-trunc", "-f", "dangling=true"]);
  assert.equal(q.stdout, readFileSync(fixture("basic", "expected", "dangling.txt"), "utf8"));
});

test("docker image inspect of every image = dockerd's answer (and imagestore inspect's text)", async () => {
  const dir = fixture("basic", "expected", "api", "inspect");
  for (const f of readdirSync(dir)) {
    const id = f.replace(".json", "");
    const d = await docker(["image", "inspect", id]);
    assert.equal(d.code, 0, d.stderr);
    const got = JSON.parse(d.stdout);
    const want = JSON.parse(readFileSync(join(dir, f), "utf8"));
    delete got[0].GraphDriver;
    delete want.GraphDriver;
    assert.deepEqual(got, [want], id);
  }
  const d = await docker(["image", "inspect", "local/edge", "local/base:1"]);
  const mine = await imagestore(mirror, ["inspect", "local/edge", "local/base:1"]);
  assert.equal(d.stdout, mine.stdout);
});

test("docker history (table, --no-trunc json) = the fixture and imagestore history", async () => {
  const dir = fixture("basic", "expected", "history");
  const strip = (l) => {
    const o = JSON.parse(l);
    delete o.CreatedSince;
    return o;
  };
  for (const [file, ref] of [
    ["local_edge_latest.jsonl", "local/edge:latest"],
    ["local_demo_1.0.jsonl", "local/demo:1.0"],
    ["127.0.0.1_5000_team_edge_v2.jsonl", "127.0.0.1:5000/team/edge:v2"],
  ]) {
    const d = await docker(["history", "--no-trunc", "--format", "{{json .}}", ref]);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(d.stdout.split("\n").filter(Boolean).map(strip), readLines(join(dir, file)).map(strip), ref);
    const table = await docker(["history", ref]);
    const mine = await imagestore(mirror, ["history", ref]);
    assert.equal(table.stdout, mine.stdout, ref);
  }
});

test("50 parallel docker image inspect are all answered correctly", async () => {
  const names = ["local/edge", "local/base:1", "local/demo:1.0", "127.0.0.1:5000/team/edge:v2", "local/committed:1"];
  const want = {};
  for (const n of names) want[n] = (await imagestore(mirror, ["inspect", n])).stdout;
  const runs = Array.from({ length: 50 }, (_, i) => names[i % names.length]).map(async (n) => [n, await docker(["image", "inspect", n])]);
  for (const [n, r] of await Promise.all(runs)) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, want[n], n);
  }
});

test("errors as dockerd sends them; version prefixes; 501 for what is not served", async () => {
  let r = await docker(["image", "inspect", "nope"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /No such image: nope/);
  let h = await request("GET", "/v1.41/images/nope/json");
  assert.deepEqual([h.status, JSON.parse(h.body)], [404, { message: "no such image: nope: No such image: nope:latest" }]);
  h = await request("GET", "/images/local/edge/json"); // unprefixed
  assert.equal(JSON.parse(h.body).Id, "sha256:4afb125595bdb8aeb09f6a50a766c3eaba26fae53f604d8d88c2010ea04ddb05");
  h = await request("GET", "/v1.99/images/json");
  assert.equal(h.status, 400);
  assert.match(JSON.parse(h.body).message, /client version 1\.99 is too new\. Maximum supported API version is 1\.41/);
  h = await request("GET", "/_ping");
  assert.deepEqual([h.status, h.body, h.headers["api-version"]], [200, "OK", "1.41"]);
  h = await request("DELETE", "/v1.41/images/4afb125595bd");
  assert.equal(h.status, 409);
  assert.match(JSON.parse(h.body).message, /^conflict: unable to delete 4afb125595bd \(must be forced\)/);
  r = await docker(["ps", "-a"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES\n$/);
  r = await docker(["volume", "ls"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /imagestore serves the image endpoints only: GET \/volumes is not implemented/);
  h = await request("GET", "/v1.41/version");
  assert.equal(JSON.parse(h.body).ApiVersion, "1.41");
  r = await docker(["info", "--format", "{{.Images}}"]);
  assert.equal(r.stdout.trim(), "22");
});

test("errors: imagestore prints what the docker CLI prints through serve (stderr and exit code)", async () => {
  const cases = [
    [["rmi", "nope"], ["rmi", "nope"]],
    [["rmi", "nope", "nope2:1"], ["rmi", "nope", "nope2:1"]],
    [["history", "nope"], ["history", "nope"]],
    [["tag", "nope", "x/y"], ["tag", "nope", "x/y"]],
    [["rmi", "4afb125595bd"], ["rmi", "4afb125595bd"]], // in two repositories: must be forced
    [["rmi", "-f", "3902a31b521c"], ["rmi", "-f", "3902a31b521c"]], // has children: cannot be forced
    [["images", "-f", "bogus=1"], ["images", "-f", "bogus=1"]],
    [["images", "-f", "dangling=maybe"], ["images", "-f", "dangling=maybe"]],
    [["images", "-f", "before=nope"], ["images", "-f", "before=nope"]],
    [["system", "df", "-v"], ["system", "df", "-v"]], // not an error: the same text
  ];
  for (const [dargs, margs] of cases) {
    const d = await docker(dargs);
    const mine = await imagestore(mirror, margs);
    assert.deepEqual([mine.code, mine.stderr, mine.stdout], [d.code, d.stderr, d.stdout], `docker ${dargs.join(" ")}`);
  }
  // `image inspect` of a missing image is where CLI versions differ: this CLI (newer than 20.10)
  // prints the daemon's message; 20.10's prints its own "Error: No such image: NAME"
  // (client.objectNotFoundError), which is what imagestore prints. Both exit 1 after the array.
  const d = await docker(["image", "inspect", "local/edge", "nope"]);
  const mine = await imagestore(mirror, ["inspect", "local/edge", "nope"]);
  assert.deepEqual([d.code, mine.code, mine.stdout], [1, 1, d.stdout]);
  assert.match(d.stderr, /No such image: nope:latest\n$/);
  assert.equal(mine.stderr, "Error: No such image: nope\n");
});

test("docker tag and docker rmi through serve replay the fixture's rmi", async () => {
  let r = await docker(["tag", "local/base:1", "example.com/x/y:z"]);
  assert.equal(r.code, 0, r.stderr);
  r = await docker(["images", "example.com/x/y", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
  assert.equal(r.stdout, "example.com/x/y:z 3902a31b521c\n");
  r = await docker(["rmi", "example.com/x/y:z"]);
  assert.equal(r.stdout, "Untagged: example.com/x/y:z\n");
  const a = await docker(["rmi", "local/edge:latest"]);
  const v2 = await request("DELETE", "/v1.41/images/127.0.0.1:5000/team/edge:v2");
  const c = await docker(["rmi", "local/dangle:1"]);
  assert.equal(a.stdout + c.stdout, readFileSync(fixture("basic", "expected", "rmi-edge.txt"), "utf8"));
  assert.deepEqual(JSON.parse(v2.body), JSON.parse(readFileSync(fixture("basic", "expected", "api", "delete-edge-v2.json"), "utf8")));
  // What is left = the store dockerd left behind.
  const after = join(work, "after");
  assert.equal((await imagestore(after, ["import", fixture("basic", "image-store-after-rmi.tar")])).code, 0);
  const served = JSON.parse((await request("GET", "/v1.41/images/json?all=1")).body);
  const { Store } = await import(new URL("../../pkg/node/index.mjs", import.meta.url));
  const s = await Store.open("after", { backend: "fs", path: after });
  const want = await s.listImages({ all: true });
  s.close();
  assert.deepEqual(served.map((i) => i.Id).sort(), want.map((i) => i.Id).sort());
  assert.deepEqual(served, want);
});
