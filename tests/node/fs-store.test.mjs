// The on-disk store of the Node package (`Store.open(name, { backend: "fs", path })`, built
// into pkg/ by `make build`): it answers exactly what a memory store answers for the same
// import, it survives reopening in another process, a second process gets a clear error, and a
// process SIGKILLed at any write step of an import or an rmi leaves the store as it was before
// that operation (or, killed after the commit point, as after it) — never anything else.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const ENTRY = join(ROOT, "pkg/node/index.mjs");
const BASIC = join(ROOT, "tests/fixtures/docker20/basic");
let Store;
let work;

before(async () => {
  assert.ok(existsSync(ENTRY), "pkg/ is not built: run `make build` first");
  ({ Store } = await import(pathToFileURL(ENTRY)));
  work = mkdtempSync(join(tmpdir(), "imagestore-fs-test-"));
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs `code` (an ES module body with `Store`, `readFile` and `dir` in scope) in a child Node. */
function child(code, dir, env = {}) {
  const body = `import { Store } from ${JSON.stringify(pathToFileURL(ENTRY).href)};
    import { readFile } from "node:fs/promises";
    const dir = ${JSON.stringify(dir)};
    ${code}`;
  const p = spawn(process.execPath, ["--input-type=module", "-e", body], {
    env: { ...process.env, NODE_OPTIONS: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const done = new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  done.process = p;
  return done;
}

async function withStore(dir, fn) {
  const store = await Store.open("test", { backend: "fs", path: dir });
  try {
    return await fn(store);
  } finally {
    store.close();
    await store.whenClosed;
  }
}

/** Everything the store answers (both views, every image, every blob read back and hashed). */
async function answers(store) {
  const list = await store.listImages({ all: true, digests: true });
  const images = [];
  for (const { Id } of list) {
    images.push({
      inspect: await store.inspectImage(Id),
      history: await store.imageHistory(Id),
      files: await store.layerFiles(Id, { merged: true }),
    });
  }
  const containerd = {};
  for (const name of await store.namespaces()) {
    const ns = store.containerd(name);
    const content = [];
    await ns.content.walk((info) => content.push(info));
    for (const info of content) {
      const bytes = await ns.content.read(info.digest, 0, info.size);
      info.readBack = "sha256:" + createHash("sha256").update(bytes).digest("hex");
    }
    containerd[name] = { images: await ns.listImages(), content };
  }
  return { list, images, containerd };
}

/** The folder holds no half-written data: no ingest file, every blob file hashes to its name. */
function assertNoDebris(dir) {
  assert.deepEqual(readdirSync(join(dir, "ingest")), [], `ingest files left in ${dir}`);
  for (const hex of readdirSync(join(dir, "blobs/sha256"))) {
    const got = createHash("sha256").update(readFileSync(join(dir, "blobs/sha256", hex))).digest("hex");
    assert.equal(got, hex, `blob file ${hex} in ${dir} holds other bytes`);
  }
}

test("an fs store answers what a memory store answers, across processes", async () => {
  const dir = join(work, "same");
  const tar = readFileSync(join(BASIC, "image-store.tar"));
  const r = await child(`const s = await Store.open("a", { backend: "fs", path: dir });
    const rep = await s.import(await readFile(${JSON.stringify(join(BASIC, "image-store.tar"))}));
    console.log(rep.images); s.close();`, dir);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Number(r.stdout) > 10, `imported ${r.stdout} images`);
  const mem = await Store.open("mem", { backend: "memory" });
  await mem.import(tar);
  const want = await answers(mem);
  mem.close();
  await withStore(dir, async (store) => {
    assert.equal(store.backend, "fs");
    assert.deepEqual(await answers(store), want);
  });
  assertNoDebris(dir);
});

test("a second process opening the store gets code unavailable, naming the store", async () => {
  const dir = join(work, "locked");
  await withStore(dir, async () => {
    const r = await child(`try { await Store.open("b", { backend: "fs", path: dir }); console.log("opened"); }
      catch (e) { console.log(e.code + ": " + e.message); }`, dir);
    assert.match(r.stdout, /^unavailable: store .*locked is in use by another process/);
  });
  // Released on close: the next opener gets it.
  const r = await child(`const s = await Store.open("b", { backend: "fs", path: dir }); console.log(s.backend); s.close();`, dir);
  assert.equal(r.stdout.trim(), "fs", r.stderr);
});

test("options.path is required, with a clear error", async () => {
  await assert.rejects(Store.open("x", { backend: "fs" }), (e) => e.code === "invalid_argument" && /options\.path/.test(e.message));
});

/**
 * Prepares `before` (by `setup`), runs `operation` uninterrupted to learn the state after it,
 * then once per write step N kills a child running it at step N (the adapter's test hook) and
 * checks that the reopened store answers exactly as before or exactly as after.
 */
async function killAtEveryStep(name, setup, operation, { minSteps = 4, minKills = 3, normalize = (a) => a } = {}) {
  const base = join(work, `${name}-before`);
  const r0 = await child(setup, base);
  assert.equal(r0.code, 0, r0.stderr);
  const beforeAnswers = normalize(await withStore(base, answers));
  const done = join(work, `${name}-after`);
  cpSync(base, done, { recursive: true });
  const r1 = await child(operation.replace("s.close();", "console.log(s.writeSteps); s.close();"), done);
  assert.equal(r1.code, 0, r1.stderr);
  const total = Number(r1.stdout.trim().split("\n").pop());
  assert.ok(total >= minSteps, `the operation made ${r1.stdout} write steps`);
  // Every step when there are few; else the first and last 12 (the publish, the commit, the
  // unlinks are last) and about 12 evenly spaced chunk writes between.
  const points = [];
  for (let step = 1; step <= total + 1; step++) {
    const spaced = step % Math.max(1, Math.floor(total / 12)) === 0;
    if (total <= 36 || step <= 12 || step > total - 12 || spaced) points.push(step);
  }
  const afterAnswers = normalize(await withStore(done, answers));
  assert.notDeepEqual(afterAnswers, beforeAnswers, "the operation changes nothing");

  const outcomes = [];
  for (const step of points) {
    const dir = join(work, `${name}-kill-${step}`);
    cpSync(base, dir, { recursive: true });
    const r = await child(operation, dir, { IMAGESTORE_FS_KILL_AT_STEP: String(step) });
    const got = normalize(await withStore(dir, answers));
    assertNoDebris(dir);
    const same = (a, b) => {
      try {
        assert.deepEqual(a, b);
        return true;
      } catch {
        return false;
      }
    };
    const outcome = same(got, beforeAnswers) ? "before" : same(got, afterAnswers) ? "after" : "other";
    assert.notEqual(outcome, "other", `killed at step ${step}: the store is neither as before nor as after`);
    rmSync(dir, { recursive: true, force: true });
    if (r.signal !== "SIGKILL") {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(outcome, "after");
      assert.equal(step, total + 1, `the run with a kill at step ${step} of ${total} was not killed`);
      break;
    }
    outcomes.push(outcome);
  }
  // Killed at every step but the last run; early kills leave "before", the last ones "after".
  assert.ok(outcomes.length >= minKills, `only ${outcomes.length} kill points`);
  assert.equal(outcomes[0], "before");
  assert.ok(outcomes.includes("after"), "no kill point after the commit");
  const firstAfter = outcomes.indexOf("after");
  assert.ok(outcomes.slice(firstAfter).every((o) => o === "after"), `outcomes: ${outcomes.join(" ")}`);
  return outcomes;
}

const OCI_TO_TEAM = `const s = await Store.open("a", { backend: "fs", path: dir });
  await s.import(await readFile(${JSON.stringify(join(BASIC, "oci-archive.tar"))}), { namespace: "team" }); s.close();`;
const DOCKER_LOAD = `const s = await Store.open("a", { backend: "fs", path: dir });
  await s.import(await readFile(${JSON.stringify(join(BASIC, "docker-save.tar"))})); s.close();`;

test("SIGKILL at every write step of an import (docker load) leaves the store as before or as after", async () => {
  const outcomes = await killAtEveryStep("import", OCI_TO_TEAM, DOCKER_LOAD);
  assert.ok(outcomes.filter((o) => o === "before").length >= 5, outcomes.join(" "));
});

test("SIGKILL at every write step of an rmi (layers deleted) leaves the store as before or as after", async () => {
  const setup = `${OCI_TO_TEAM.replace("s.close();", "")}
    await s.import(await readFile(${JSON.stringify(join(BASIC, "docker-save.tar"))})); s.close();`;
  const rmi = `const s = await Store.open("a", { backend: "fs", path: dir });
    const out = await s.removeImage("local/edge:latest", { force: true });
    if (!out.some((o) => o.Deleted)) throw new Error("nothing deleted"); s.close();`;
  await killAtEveryStep("rmi", setup, rmi);
});

test("SIGKILL at every write step of a tag that moves a tag leaves the store as before or as after", async () => {
  // local/demo:1.0 moves from the demo image to edge: killed at any step, the tag names one of
  // them, never both or neither (a tag is two write steps of the fs adapter).
  const tag = `const s = await Store.open("a", { backend: "fs", path: dir });
    await s.tagImage("local/edge:latest", "local/demo", "1.0"); s.close();`;
  // A tag stamps LastTagTime with the clock: the uninterrupted run's time is not the killed one's.
  const normalize = (a) => JSON.parse(JSON.stringify(a).replace(/"LastTagTime":"[^"]*"/g, '"LastTagTime":"-"'));
  await killAtEveryStep("tag", DOCKER_LOAD, tag, { minSteps: 2, minKills: 2, normalize });
});

test("SIGKILL from outside at arbitrary moments of an import", async () => {
  const base = join(work, "timed-before");
  assert.equal((await child(OCI_TO_TEAM, base)).code, 0);
  const beforeAnswers = await withStore(base, answers);
  let killed = 0;
  for (const delay of [150, 250, 350, 450, 600, 800]) {
    const dir = join(work, `timed-${delay}`);
    cpSync(base, dir, { recursive: true });
    const running = child(DOCKER_LOAD, dir);
    const timer = setTimeout(() => running.process?.kill("SIGKILL"), delay);
    const r = await running;
    clearTimeout(timer);
    const got = await withStore(dir, answers);
    assertNoDebris(dir);
    if (r.signal === "SIGKILL") {
      killed++;
      const asBefore = JSON.stringify(got) === JSON.stringify(beforeAnswers);
      const complete = got.list.length === 5;
      assert.ok(asBefore || complete, `killed after ${delay} ms: ${got.list.length} images, not as before`);
    } else {
      assert.equal(got.list.length, 5);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(killed > 0, "no run was killed");
});

test("Store.reserveMemory: a hint checked like every argument (fs opens call it per stored blob)", () => {
  assert.equal(Store.reserveMemory(8 << 20), true);
  for (const bad of ["8", -1, 1.5, 42, (1 << 30) + 1, undefined]) {
    assert.throws(() => Store.reserveMemory(bad), (e) => e.code === "invalid_argument" && /Store\.reserveMemory: bytes/.test(e.message), String(bad));
  }
});

test("a storage adapter's packed scan answer is read as records, and a malformed one is refused", async () => {
  const enc = new TextEncoder();
  const records = new Map();
  let bad = false;
  const adapter = {
    kind: "test",
    get: (space, key) => records.get(space + ":" + key),
    // Meta records under docker/ come packed; the rest as the flat list.
    scan(space, prefix) {
      const entries = [...records]
        .filter(([key]) => key.startsWith(space + ":" + prefix))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([key, value]) => [key.slice(space.length + 1), value]);
      if (space !== "meta" || !prefix.startsWith("docker/")) return entries.flat();
      let [k, v] = [0, 0];
      const keyBytes = entries.map(([key]) => enc.encode(key));
      const keyEnds = Uint32Array.from(keyBytes, (x) => (k += x.length));
      const valueEnds = Uint32Array.from(entries, ([, x]) => (v += x.length));
      const keys = new Uint8Array(k);
      const values = new Uint8Array(v);
      entries.forEach(([, value], i) => {
        keys.set(keyBytes[i], keyEnds[i] - keyBytes[i].length);
        values.set(value, valueEnds[i] - value.length);
      });
      if (bad && valueEnds.length) valueEnds[valueEnds.length - 1] = 1 << 30; // past the values
      return { keys, keyEnds, values, valueEnds };
    },
    keys: (space, prefix) => [...records.keys()].filter((key) => key.startsWith(space + ":" + prefix)).map((key) => key.slice(space.length + 1)).sort(),
    commit(ops) {
      for (const op of ops) {
        if (op.op === "put") records.set(op.space + ":" + op.key, op.value);
        else if (op.op === "delete") records.delete(op.space + ":" + op.key);
        else if (op.op === "deletePrefix") for (const k of [...records.keys()]) if (k.startsWith(op.space + ":" + op.prefix)) records.delete(k);
      }
    },
    close() {},
  };
  const s = await Store.openAdapter("packed", adapter);
  await s.import(readFileSync(join(BASIC, "docker-save.tar")));
  const want = await s.listImages({ all: true });
  s.close();
  const again = await Store.openAdapter("packed", adapter); // reopened: read back through packed scans
  assert.deepEqual(await again.listImages({ all: true }), want);
  assert.equal(want.length, 5);
  again.close();
  bad = true;
  await assert.rejects(Store.openAdapter("packed", adapter), (e) => e.code === "unavailable" && /packed value end/.test(e.message));
});
