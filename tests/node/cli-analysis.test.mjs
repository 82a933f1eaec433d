// The analysis commands of `imagestore` (dive, diff, find, largest) on fs stores. `dive --ci`
// is compared with what the real dive 0.13.1 printed in CI mode for its own test image
// (tests/fixtures/wild/dive/expected/dive-ci/, see PROVENANCE.md): every line from "Analyzing
// image..." on, byte for byte (colours included), the config line, and the exit code. Only the
// source lines differ: dive read a docker-archive, we read the store.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, CLI, assertBuilt, imagestore, fixture, run } from "./cli_support.mjs";

const WILD = join(ROOT, "tests/fixtures/wild/dive");
const DIVE_CI = join(WILD, "expected/dive-ci");

let store;
let work;

test.before(async () => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), "imagestore-cli-analysis-"));
  store = join(work, "store");
  for (const [file, ns] of [
    [join(WILD, ".data/test-docker-image.tar")],
    [fixture("basic", "image-store.tar")],
    [fixture("basic", "oci-archive.tar"), "layout"],
  ]) {
    const r = await imagestore(store, ["import", file, ...(ns ? ["--namespace", ns] : [])]);
    assert.equal(r.code, 0, r.stderr);
  }
});

test.after(() => rmSync(work, { recursive: true, force: true }));

/** dive's report from "Analyzing image..." on. */
const fromAnalysis = (text) => text.slice(text.indexOf("\x1b[1mAnalyzing image..."));

/** Runs `imagestore dive` in `cwd` (dive reads .dive-ci from there); `CI` unset unless `env` sets it. */
const dive = (args, cwd = work, env = {}) => run(process.execPath, [CLI, "--store", store, "dive", ...args], { cwd, env: { CI: "", ...env } });

const DIVE_TUI = join(WILD, "expected/dive-tui");

/**
 * The panes of dive's interactive view as text: the Layers rows (after `Cmp   Size  Command`) and
 * the Image Details lines from `Total Image size:` to the end of the wasted files table.
 */
function panes(text) {
  const lines = text.split("\n").map((l) => l.trimEnd());
  const header = lines.indexOf("Cmp   Size  Command");
  const layerRows = [];
  for (let i = header + 1; lines[i] && !lines[i].startsWith("│"); i++) layerRows.push(lines[i]);
  const total = lines.findIndex((l) => l.startsWith("Total Image size:"));
  const table = lines.indexOf("Count   Total Space  Path");
  const details = lines.slice(total, total + 3);
  for (let i = table; lines[i]; i++) details.push(lines[i]);
  return { layerRows, details, imageName: lines.find((l) => l.startsWith("Image name:")) };
}

for (const [name, flags] of [
  ["default", []],
  ["lowestEfficiency=0.5,highestWastedBytes=1MB,highestUserWastedPercent=disabled", []],
  ["lowestEfficiency=0.99,highestWastedBytes=10kB,highestUserWastedPercent=0.6", []],
]) {
  const given = name === "default" ? flags : name.split(",").map((kv) => `--${kv}`);
  test(`dive --ci ${given.join(" ") || "(dive's defaults)"} prints dive's report and exits as dive did`, async () => {
    const want = readFileSync(join(DIVE_CI, `${name}.txt`), "utf8");
    const r = await dive(["--ci", ...given, "dive-test:latest"]);
    assert.equal(fromAnalysis(r.stdout), fromAnalysis(want));
    assert.equal(r.stdout.split("\n")[0], "  Using default CI config");
    assert.equal(r.code, want.includes("Result:FAIL") ? 1 : 0, r.stderr);
  });
}

test("dive --ci reads .dive-ci from the working directory, as dive does", async () => {
  const dir = mkdtempSync(join(work, "cfg-"));
  copyFileSync(join(DIVE_CI, "dive-ci-file.dive-ci"), join(dir, ".dive-ci"));
  const want = readFileSync(join(DIVE_CI, "dive-ci-file.txt"), "utf8");
  const r = await dive(["--ci", "dive-test:latest"], dir);
  assert.equal(r.stdout.split("\n")[0], "  Using CI config: .dive-ci");
  assert.equal(fromAnalysis(r.stdout), fromAnalysis(want));
  assert.equal(r.code, 0, r.stderr);
  // A flag overrides the file rule by rule.
  const strict = await dive(["--ci", "--lowestEfficiency=0.99", "dive-test:latest"], dir);
  assert.equal(strict.code, 1);
  assert.match(strict.stdout, /PASS: highestWastedBytes\n/);
  assert.match(strict.stdout, /FAIL\x1b\[0m: lowestEfficiency: image efficiency is too low/);
  writeFileSync(join(dir, ".dive-ci"), "rules:\n  lowestEfficiency: abc\n");
  const bad = await dive(["--ci", "dive-test:latest"], dir);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /CI Misconfigured/);
  assert.match(bad.stderr, /lowestEfficiency/);
});

for (const [image, screen] of [["dive-test:latest", "dive-test_latest"], ["local/edge:latest", "local_edge_latest"]]) {
  test(`dive ${image} without CI mode prints what dive's view showed (${screen}.screen.txt)`, async () => {
    const r = await dive([image]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /\x1b/, "no terminal styles off a terminal");
    assert.equal(r.stdout.split("\n")[0], `Image Source: docker://${image}`);
    const ours = panes(r.stdout);
    const want = panes(readFileSync(join(DIVE_TUI, `${screen}.screen.txt`), "utf8"));
    assert.deepEqual(ours.details, want.details);
    assert.equal(ours.imageName, `Image name: ${image}`);
    assert.equal(ours.layerRows.length, want.layerRows.length);
    // The base layer: dive names it by its v1 ID from the archive, we by its DiffID.
    const base = /^ {4,}[\d.]+ [kMGT]?B  FROM [0-9a-f]{15}$/;
    assert.match(ours.layerRows[0], base);
    assert.match(want.layerRows[0], base);
    assert.equal(ours.layerRows[0].slice(0, 12), want.layerRows[0].slice(0, 12));
    // The others: size and command as dive drew them (its pane cuts long commands).
    ours.layerRows.slice(1).forEach((row, i) => assert.ok(row.startsWith(want.layerRows[i + 1]), `${row}\n${want.layerRows[i + 1]}`));
  });
}

test("dive takes CI=true (Go's true values) as --ci, like dive; --json without CI writes the file and no view", async () => {
  const want = readFileSync(join(DIVE_CI, "default.txt"), "utf8");
  for (const value of ["true", "1", "TRUE"]) {
    const r = await dive(["dive-test:latest"], work, { CI: value });
    assert.equal(fromAnalysis(r.stdout), fromAnalysis(want), `CI=${value}`);
    assert.equal(r.code, 1, `CI=${value}: dive's default rules fail this image`);
  }
  const notCi = await dive(["dive-test:latest"], work, { CI: "yes" });
  assert.equal(notCi.code, 0);
  assert.match(notCi.stdout, /\nImage Details\n/);
  const file = join(work, "dive.json");
  const j = await dive(["--json", file, "dive-test:latest"]);
  assert.equal(j.code, 0, j.stderr);
  assert.deepEqual(j.stdout.trim().split("\n"), ["Image Source: docker://dive-test:latest", "Analyzing image...", `Exporting image to '${file}'...`]);
  const written = JSON.parse(readFileSync(file, "utf8"));
  assert.equal(written.efficiency.inefficientBytes, 32025);
  // The real dive with no terminal (what tests/fixtures/wild/dive/expected/dive-tui/no-terminal.txt records) fails;
  // this prints the view's text instead, so it is usable in a pipe.
  assert.match(readFileSync(join(DIVE_TUI, "no-terminal.txt"), "utf8"), /failed to initialize tcell screen/);
});

test("dive of a containerd image (-n) gives the same numbers as the Docker image", async () => {
  const ctr = await imagestore(store, ["ctr", "-n", "layout", "images", "ls"]);
  const name = ctr.stdout.split("\n")[1].split(" ")[0];
  const a = await dive(["--ci", "local/edge:latest"]);
  const b = await dive(["--ci", "-n", "layout", name]);
  assert.equal(fromAnalysis(b.stdout), fromAnalysis(a.stdout));
  assert.match(b.stdout, /Image Source: \x1b\[0mcontainerd:\/\/layout\//);
  const missing = await dive(["no/such:image"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^Error: .*no\/such:image/);
});

test("diff, find and largest", async () => {
  const d = await imagestore(store, ["diff", "local/demo:1.0", "local/edge:latest"]);
  assert.equal(d.code, 0, d.stderr);
  const lines = d.stdout.trim().split("\n");
  assert.ok(lines.includes("D /etc/hello.txt") && lines.includes("A /data/blob.bin"), d.stdout);
  const sorted = [...lines].sort((x, y) => (x.slice(2) < y.slice(2) ? -1 : 1));
  assert.deepEqual(lines, sorted, "by path");
  const j = JSON.parse((await imagestore(store, ["diff", "--format", "json", "local/demo:1.0", "local/edge:latest"])).stdout);
  assert.equal(j.sharedLayers.length, 4);

  const f = await imagestore(store, ["find", "--format", "json", "/data/blob.bin"]);
  const hits = f.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(hits.some((h) => h.namespace === "layout"), "containerd images are searched too");
  assert.ok(hits.some((h) => h.repoTags.includes("local/edge:latest")));
  const table = await imagestore(store, ["find", "blob.bin"]);
  assert.match(table.stdout, /^IMAGE\s+LAYER\s+CHANGE\s+SIZE\s+PATH\n/);
  assert.match(table.stdout, /\n127\.0\.0\.1:5000\/team\/edge:v2\s+6\s+added\s+1\.05MB\s+\/data\/blob\.bin\n/);
  assert.match(table.stdout, /\nlayout\/\S+\s+6\s+added\s+1\.05MB\s+\/data\/blob\.bin\n/);
  const bad = await imagestore(store, ["find", "/a/[b"]);
  assert.equal(bad.code, 125);

  const top = await imagestore(store, ["largest", "--limit", "3", "--format", "json", "local/edge:latest"]);
  const files = top.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(files.length, 3);
  assert.ok(files[0].size >= files[1].size && files[1].size >= files[2].size);
  const all = await imagestore(store, ["largest", "--limit", "5"]);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^SIZE\s+IMAGES\s+PATH\n/);
});
