// How long the `imagestore images` command spends formatting rows (SIZE and CREATED come from
// the core's go-units through the wasm bindings, one call per column): 10,000 image summaries
// (scale200's `GET /images/json?all=1` answer repeated with distinct IDs) formatted as the
// table and as `--format json` lines, in process, after one warm-up run; and what one call per
// cell would cost instead. Needs pkg/ (make build).
//   node scripts/bench-format.mjs
// Prints `bench: <what>: <value>` lines.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const require = createRequire(import.meta.url);
const fmt = require(`${ROOT}pkg/node/docker_format.js`);
const base = JSON.parse(readFileSync(`${ROOT}tests/fixtures/docker20/scale200/expected/api/images-all.json`, "utf8"));
const ROWS = 10_000;
const images = Array.from({ length: ROWS }, (_, i) => {
  const b = base[i % base.length];
  return { ...b, Id: `sha256:${i.toString(16).padStart(64, "0")}`, Created: b.Created - i };
});
const now = Math.max(...images.map((i) => i.Created)) + 3 * 86400;
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function time(run) {
  run();
  const runs = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    run();
    runs.push(performance.now() - t);
  }
  return median(runs);
}

const table = time(() => fmt.imagesTable(images, { now }));
const json = time(() => {
  const cells = fmt.imageCells(images, now);
  for (const row of fmt.imageRows(images)) JSON.stringify(fmt.imageJson(images[row.image], row, cells[row.image]));
});
const rows = time(() => fmt.imageRows(images, { digests: true }));
const calls = time(() => {
  for (const image of images) {
    fmt.humanSize(image.Size, 3);
    fmt.humanDuration(now - image.Created);
  }
});
const columns = time(() => fmt.imageCells(images, now));
console.log(`bench: imagestore images table, ${ROWS} rows formatted (in process): ${table.toFixed(1)} ms (median of 5)`);
console.log(`bench: imagestore images --format json, ${ROWS} rows formatted (in process): ${json.toFixed(1)} ms (median of 5)`);
console.log(`bench: the rows (REPOSITORY, TAG, DIGEST, ID) of ${ROWS} images, one core call: ${rows.toFixed(1)} ms (median of 5)`);
console.log(`bench: the 5 go-units columns of ${ROWS} images, one core call per column: ${columns.toFixed(1)} ms (median of 5)`);
console.log(`bench: 2 of those columns with one core call per cell (${2 * ROWS} calls): ${calls.toFixed(1)} ms (median of 5)`);
