// The set-up the Chromium benchmarks share (bench-browser.mjs, bench-store.mjs): scripts/serve.mjs
// serving pkg/ and the input's folder, headless Chromium, and a page of that origin (any page
// will do: the module and the input are fetched from it).
import { chromium } from "playwright-core";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "./serve.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * Opens the page; `inputUrl` is where it fetches `file` from, `close()` ends browser and server.
 * `preciseMemory` turns on performance.memory's unbucketed JS heap figures.
 */
export async function openBenchPage(file, { preciseMemory = false } = {}) {
  const server = await startServer({
    mounts: [
      ["/pkg/", join(ROOT, "pkg")],
      ["/input/", dirname(resolve(file))],
    ],
  });
  const args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"];
  if (preciseMemory) args.push("--enable-precise-memory-info");
  // V8 flags for experiments, e.g. JSFLAGS=--no-wasm-tier-up (never part of a recorded figure).
  if (process.env.JSFLAGS) args.push(`--js-flags=${process.env.JSFLAGS}`);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args });
  const close = async () => {
    await browser.close();
    await server.close();
  };
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/pkg/package.json`);
    return { page, inputUrl: `/input/${encodeURIComponent(basename(file))}`, close };
  } catch (e) {
    await close();
    throw e;
  }
}
