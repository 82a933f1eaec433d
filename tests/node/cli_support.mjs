// Helpers shared by the `imagestore` command and `serve` tests (not a test file itself).
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = join(ROOT, "pkg/node/cli.js");
export const FIXTURES = join(ROOT, "tests/fixtures/docker20");

export function assertBuilt() {
  assert.ok(existsSync(CLI), "pkg/ is not built: run `make build` first");
}

/**
 * Runs a program; resolves to { code, stdout, stderr } whatever its exit status. `input` (a
 * Buffer) is written to its stdin; `encoding: "buffer"` keeps stdout as bytes.
 */
export function run(file, args, { env = {}, cwd, input, encoding = "utf8" } = {}) {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { env: { ...process.env, NODE_OPTIONS: "", ...env }, cwd, maxBuffer: 256 << 20, encoding },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr: String(stderr) }),
    );
    if (input !== undefined) child.stdin.end(input);
  });
}

/** Runs `imagestore --store DIR …`. */
export function imagestore(store, args, env = {}, opts = {}) {
  return run(process.execPath, [CLI, "--store", store, ...args], { ...opts, env });
}

export function fixture(name, ...rest) {
  return join(FIXTURES, name, ...rest);
}

export function readLines(file) {
  return readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
}

/**
 * Compares two `docker images`-like listings whose order among rows of equal `key` is Go's map
 * order (dockerd sorts by Created only): the runs of equal keys must match as sets, in order.
 */
export function assertSameRuns(got, want, key, what) {
  const runs = (rows) => {
    const out = [];
    for (const r of rows) {
      const k = key(r);
      if (out.length && out[out.length - 1].k === k) out[out.length - 1].rows.push(r);
      else out.push({ k, rows: [r] });
    }
    return out.map((x) => ({ k: x.k, rows: x.rows.slice().sort() }));
  };
  assert.deepEqual(runs(got), runs(want), what);
}

/** Unix seconds of "now" when a fixture line with `CreatedAt` said "N seconds ago". */
export function nowOfFixture(createdAtSeconds, since) {
  const m = /^(\d+) seconds? ago$/.exec(since);
  assert.ok(m, `fixture CreatedSince ${since} is not in seconds`);
  return createdAtSeconds + Number(m[1]) + 0.5;
}

// The docker CLI on PATH (scripts/setup.sh installs Debian's docker.io when there is none).
export const DOCKER =
  process.env.DOCKER_CLI ??
  ["/usr/local/bin/docker", "/usr/bin/docker", ...(process.env.PATH ?? "").split(":").map((d) => join(d, "docker"))].find((p) => existsSync(p)) ??
  "docker";

/** Starts `imagestore serve` on `host`; resolves to the child process once it is listening. */
export function startServer(dir, host) {
  const p = spawn(process.execPath, [CLI, "--store", dir, "serve", "--host", host], {
    env: { ...process.env, NODE_OPTIONS: "" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let err = "";
    p.stderr.on("data", (d) => {
      err += d;
      if (err.includes("serving the Engine API")) resolve(p);
    });
    p.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
}

/** Stops a server started by startServer (SIGTERM) and waits for it to exit. */
export async function stopServer(p) {
  if (!p || p.exitCode !== null) return;
  const exited = new Promise((resolve) => p.on("exit", resolve));
  p.kill("SIGTERM");
  await exited;
}

/** A function running the docker CLI against the socket (no user config, no credential helpers). */
export function dockerOn(socket, config) {
  return (args, opts = {}) => run(DOCKER, args, { ...opts, env: { DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: config, ...opts.env } });
}
