// `make bench` figures for Node's on-disk store (run by scripts/bench.sh after the package is
// built): a generated 10,000-image Docker image store (scripts/sample.sh, IMAGES=10000 SCALE=10)
// imported once into an fs store under .bench/, then
//   - `imagestore images` and `imagestore images -a`: wall time from process start to exit, from
//     the printed table the store keeps, from its saved answer (the table formatted again, as
//     when a CREATED cell has changed since) and (first run after a change) from the records;
//   - `imagestore serve`: GET /v1.41/images/json?all=1, time to the whole answer.
//   - in process: Store.open of that store and listImages() (where the command's time goes).
// Medians of several runs; one `bench: <what>: <value>` line each on stdout.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import http from "node:http";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CLI = join(ROOT, "pkg/node/cli.js");
const TAR = join(ROOT, ".bench/sample-10k.tar");
const STORE = join(ROOT, ".bench/fs-10k");
const SOCKET = join(ROOT, ".bench/fs-10k.sock");

/** The 1-minute load average now (the machine may be shared: figures are given with it). */
const load = () => `load ${loadavg()[0].toFixed(1)}`;
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (!existsSync(TAR)) {
  execFileSync("bash", ["scripts/sample.sh"], { cwd: ROOT, stdio: "inherit", env: { ...process.env, IMAGES: "10000", SCALE: "10", OUT: TAR } });
}
if (!existsSync(join(STORE, "meta"))) {
  rmSync(STORE, { recursive: true, force: true });
  const t = performance.now();
  execFileSync(process.execPath, [CLI, "--store", STORE, "import", TAR], { stdio: ["ignore", "ignore", "inherit"] });
  console.log(`bench: imagestore import of the 10,000-image store (fs backend): ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

// In-process: where a run's time goes (opening the store vs the listing).
{
  const { Store } = await import(new URL("../pkg/node/index.mjs", import.meta.url));
  const opens = [];
  const lists = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const store = await Store.open("bench", { backend: "fs", path: STORE });
    const t1 = performance.now();
    await store.listImages({});
    lists.push(performance.now() - t1);
    opens.push(t1 - t0);
    store.close();
    await store.whenClosed;
  }
  console.log(`bench: Store.open of the 10,000-image fs store (in process): ${median(opens).toFixed(0)} ms (median of 3)`);
  console.log(`bench: listImages() on it (in process): ${median(lists).toFixed(0)} ms (median of 3)`);
}

// The command as a user runs it: `images` answers from the list answer the store keeps
// (node/list_answer.js; the CLI's own import, load, tag and rmi, and serve when it stops, save it
// again); after a change made elsewhere (the Store API) it lists from the records (the whole
// open) and saves it. Both are timed: the second with the saved answer deleted beforehand.
const { ClassicLevel } = await import("classic-level");
const { answerKey, tableKey } = await import(new URL("../pkg/node/list_answer.js", import.meta.url));
/** Deletes the printed table kept for the list (`all` or not) and, with `answer`, its answer. */
async function dropSaved(all, { answer = true } = {}) {
  const db = new ClassicLevel(join(STORE, "meta"));
  await db.open();
  await db.del(tableKey(all));
  if (answer) await db.del(answerKey(all));
  await db.close();
}
const TARGET_MS = 300; // #14: `imagestore images` on the 10,000-image store, process start to exit

// What a Node process costs here before any of our code runs, the base of the figures below.
// NODE_EXTRA_CA_CERTS (set on this machine) makes Node read and parse a CA bundle at every
// start: with it set, `images` is also timed without it, as a user's shell would run it.
const nodeStart = (env) => {
  const times = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    execFileSync(process.execPath, ["-e", "0"], { env });
    times.push(performance.now() - t);
  }
  return median(times);
};
const withoutCaCerts = { ...process.env };
delete withoutCaCerts.NODE_EXTRA_CA_CERTS;
const caCerts = process.env.NODE_EXTRA_CA_CERTS !== undefined;
console.log(`bench: node -e 0 (Node's own start here${caCerts ? ", NODE_EXTRA_CA_CERTS set" : ""}): ${nodeStart(process.env).toFixed(0)} ms (median of 5, ${load()})`);
if (caCerts) console.log(`bench: node -e 0 without NODE_EXTRA_CA_CERTS: ${nodeStart(withoutCaCerts).toFixed(0)} ms (median of 5, ${load()})`);

for (const args of [["images"], ["images", "-a"]]) {
  const imagestore = (env = process.env) => {
    const t = performance.now();
    const out = execFileSync(process.execPath, [CLI, "--store", STORE, ...args], { maxBuffer: 64 << 20, env });
    return { ms: performance.now() - t, lines: out.toString().split("\n").filter(Boolean).length - 1 };
  };
  const all = args.includes("-a");
  const firsts = [];
  for (let i = 0; i < 3; i++) {
    await dropSaved(all);
    firsts.push(imagestore().ms);
  }
  // The answer saved, its table not kept (or no longer true: a CREATED cell changed since).
  const formatted = [];
  for (let i = 0; i < 3; i++) {
    await dropSaved(all, { answer: false });
    formatted.push(imagestore().ms);
  }
  const times = [];
  let lines = 0;
  for (let i = 0; i < 5; i++) {
    const r = imagestore();
    times.push(r.ms);
    lines = r.lines;
  }
  const what = `imagestore ${args.join(" ")}, 10,000-image fs store (${lines} rows), process start to exit`;
  const m = median(times);
  const verdict = args.length === 1 ? `; target ≤ ${TARGET_MS} ms: ${m <= TARGET_MS ? "met" : "missed"}` : "";
  console.log(`bench: ${what}, table kept in the store: ${m.toFixed(0)} ms (median of 5, ${load()}${verdict})`);
  console.log(`bench: ${what}, answer saved, table formatted again: ${median(formatted).toFixed(0)} ms (median of 3, ${load()})`);
  if (caCerts && args.length === 1) {
    const bare = median([0, 1, 2, 3, 4].map(() => imagestore(withoutCaCerts).ms));
    const met = bare <= TARGET_MS ? "met" : "missed";
    console.log(`bench: ${what}, table kept in the store, without NODE_EXTRA_CA_CERTS: ${bare.toFixed(0)} ms (median of 5, ${load()}; target ≤ ${TARGET_MS} ms: ${met})`);
  }
  console.log(`bench: ${what}, no saved answer (as after a change through the Store API: the store is opened): ${median(firsts).toFixed(0)} ms (median of 3, ${load()})`);
}

const server = spawn(process.execPath, [CLI, "--store", STORE, "serve", "--host", `unix://${SOCKET}`], { stdio: ["ignore", "ignore", "pipe"] });
await new Promise((resolve, reject) => {
  server.stderr.on("data", (d) => d.toString().includes("serving") && resolve());
  server.on("exit", (c) => reject(new Error(`serve exited with ${c}`)));
});
const get = (path) =>
  new Promise((resolve, reject) => {
    const t = performance.now();
    http
      .get({ socketPath: SOCKET, path }, (res) => {
        let n = 0;
        res.on("data", (d) => (n += d.length));
        res.on("end", () => resolve({ ms: performance.now() - t, bytes: n }));
      })
      .on("error", reject);
  });
await get("/v1.41/images/json?all=1"); // warm-up
const runs = [];
let bytes = 0;
for (let i = 0; i < 10; i++) {
  const r = await get("/v1.41/images/json?all=1");
  runs.push(r.ms);
  bytes = r.bytes;
}
console.log(`bench: imagestore serve GET /images/json?all=1, 10,000 images (${(bytes / 1e6).toFixed(1)} MB): ${median(runs).toFixed(0)} ms (median of 10)`);
server.kill("SIGTERM");
