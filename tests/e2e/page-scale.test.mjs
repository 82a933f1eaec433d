// The page with a 10,000-image store (made by the sample generator, not committed): import it,
// then check that listing, typing in the filter and sorting stay responsive. Slow (it builds
// and imports a 70 MB store), so it runs only with IMAGESTORE_PAGE_SCALE=1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { withPage } from "./harness.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIG = `${ROOT}.bench/sample-10k.tar`;
const TYPES = `${ROOT}pkg/web/imagestore.d.ts`;
const hasApi = existsSync(TYPES) && ["import(", "listImages("].every((m) => readFileSync(TYPES, "utf8").includes(m));
const skip = process.env.IMAGESTORE_PAGE_SCALE !== "1"
  ? "set IMAGESTORE_PAGE_SCALE=1 to run (builds and imports a 10,000-image store)"
  : !hasApi && "the built package has no Store import/listImages yet";

test("10,000 images: the list renders in pages and filtering stays fast", { skip, timeout: 15 * 60_000 }, () => {
  if (!existsSync(BIG)) {
    execFileSync("bash", ["scripts/sample.sh"], { cwd: ROOT, stdio: "inherit", env: { ...process.env, IMAGES: "10000", SCALE: "10", OUT: BIG } });
  }
  return withPage(async (p) => {
    await p.waitForSelector("body[data-ready=true]");
    await p.setInputFiles("#file-input", BIG);
    await p.waitForSelector("#import-report:not([hidden])", { timeout: 10 * 60_000 });
    await p.click("#show-all");
    await p.waitForFunction(() => document.querySelector("#images").dataset.query === JSON.stringify([true, ""]));
    const rows = await p.$$eval("#images tbody tr", (trs) => trs.length);
    assert.ok(rows <= 200, `renders one page of rows, not all (${rows})`);
    assert.match(await p.textContent("#list-count"), /^10000 images/);
    // A keystroke that only narrows by text must not ask the store again nor stall the page.
    const ms = await p.evaluate(async () => {
      const input = document.querySelector("#filter");
      const t0 = performance.now();
      input.value = "api";
      input.dispatchEvent(new Event("input"));
      await new Promise((resolve) => {
        const table = document.querySelector("#images");
        const obs = new MutationObserver(() => {
          if (table.dataset.query === JSON.stringify([true, "api"])) { obs.disconnect(); resolve(); }
        });
        obs.observe(table, { attributes: true });
      });
      return performance.now() - t0;
    });
    assert.ok(ms < 1200, `filtering 10,000 images took ${Math.round(ms)} ms (200 of them are the debounce)`);
    const sortMs = await p.evaluate(async () => {
      const t0 = performance.now();
      document.querySelector('#images th[data-key="size"] button').click();
      return performance.now() - t0;
    });
    assert.ok(sortMs < 500, `sorting took ${Math.round(sortMs)} ms`);
  }, { path: "/?sample=0" });
});
