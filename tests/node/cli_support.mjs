// Helpers shared by the `imagestore` command and `serve` tests (not a test file itself).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = join(ROOT, "pkg/node/cli.js");
export const FIXTURES = join(ROOT, "tests/fixtures/docker20");

export function assertBuilt() {
  assert.ok(existsSync(CLI), "pkg/ is not built: run `make build` first");
}

/** Runs a program; resolves to { code, stdout, stderr } whatever its exit status. */
export function run(file, args, { env = {}, cwd } = {}) {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env: { ...process.env, NODE_OPTIONS: "", ...env }, cwd, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs `imagestore --store DIR …`. */
export function imagestore(store, args, env = {}) {
  return run(process.execPath, [CLI, "--store", store, ...args], { env });
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
