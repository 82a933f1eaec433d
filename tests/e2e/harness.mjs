// Test harness for the web page: one static server (scripts/serve.mjs) on a free 127.0.0.1
// port and one headless Debian Chromium (playwright-core) per test file, both started on first
// use and stopped when the file's tests end. Each `withPage` call gets a fresh browser context
// (its own IndexedDB) and fails if the page threw or logged a console error.
//
//   import { test } from "node:test";
//   import { withPage, screenshot } from "./harness.mjs";
//   test("shows the store", () => withPage(async (page, baseUrl) => { ... }));
import { after } from "node:test";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startServer } from "../../scripts/serve.mjs";

export const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
// Headless Chromium as root in a container (no sandbox as root, no GPU, no network noise).
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const SCREENSHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));

let shared; // Promise<{ browser, server }>

/** The one browser and page server of this test file (started on first use, closed after the file). */
export function start() {
  shared ??= (async () => {
    const server = await startServer({ port: 0 });
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    return { browser, server };
  })();
  return shared;
}

// Registered at import time so it belongs to the test file's root, not to the first test.
after(async () => {
  if (!shared) return;
  const { browser, server } = await shared;
  await browser.close();
  await server.close();
});

/**
 * Opens `path` (default "/") in a fresh context and runs `fn(page, baseUrl)`. Throws if `fn`
 * does, or if the page reported errors (uncaught exceptions, console.error, failed requests);
 * on failure a screenshot goes to screenshots/tmp/failure-<n>.png.
 * Options: `path`, `ignoreErrors` (regexps for errors a test expects).
 */
export async function withPage(fn, { path = "/", ignoreErrors = [] } = {}) {
  const { browser, server } = await start();
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(`uncaught: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`console.error: ${msg.text()}`);
  });
  page.on("requestfailed", (req) => {
    // A reload or navigation cuts the requests still loading for the page it leaves (e.g. the
    // modules of the analysis worker an import started): aborted, not failed. The page's own
    // code never aborts a request for a script, a wasm module or a stylesheet.
    const error = req.failure()?.errorText;
    if (error === "net::ERR_ABORTED" && /\.(m?js|wasm|css)$/.test(new URL(req.url()).pathname)) return;
    errors.push(`request failed: ${req.url()} (${error})`);
  });
  try {
    const response = await page.goto(server.url + path);
    if (!response?.ok()) throw new Error(`GET ${path}: HTTP ${response?.status()}`);
    await fn(page, server.url);
    const unexpected = errors.filter((e) => !ignoreErrors.some((re) => re.test(e)));
    if (unexpected.length) throw new Error(`the page reported errors:\n  ${unexpected.join("\n  ")}`);
  } catch (err) {
    const shot = await screenshot(page, `failure-${Date.now()}`).catch(() => null);
    if (shot) err.message += `\n(screenshot: ${shot})`;
    if (errors.length) err.message += `\npage errors:\n  ${errors.join("\n  ")}`;
    throw err;
  } finally {
    await context.close();
  }
}

/** Waits until `selector`'s text equals `text`; on timeout says what the text was instead. */
export async function waitForText(page, selector, text, { timeout = 15000 } = {}) {
  try {
    await page.waitForFunction(
      ([sel, want]) => document.querySelector(sel)?.textContent?.trim() === want,
      [selector, text],
      { timeout },
    );
  } catch {
    const actual = await page.locator(selector).first().textContent({ timeout: 1000 }).catch(() => null);
    throw new Error(`expected ${selector} to read ${JSON.stringify(text)}, it reads ${JSON.stringify(actual)}`);
  }
}

/**
 * Saves a PNG of the page. Transient ones go to screenshots/tmp/ (git-ignored); with
 * `{ keep: true }` to screenshots/<name>.png (for pictures worth committing).
 */
export async function screenshot(page, name, { keep = false } = {}) {
  const dir = keep ? SCREENSHOTS : SCREENSHOTS + "tmp/";
  await mkdir(dir, { recursive: true });
  const file = `${dir}${name}.png`;
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

const AXE_SOURCE = fileURLToPath(new URL("../../node_modules/axe-core/axe.min.js", import.meta.url));

/**
 * Runs axe-core (the pinned npm package, injected into the page) over the document as it is
 * now, with the WCAG 2.x A/AA rules and axe's best practices. Resolves to the violations whose
 * impact is critical or serious, each as "rule-id (impact): help — selector, …" lines, so an
 * assertion failure says what to fix and where.
 */
export async function axeViolations(page, { exclude = [] } = {}) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.addScriptTag({ path: AXE_SOURCE });
  const results = await page.evaluate(async (exclude) => {
    const context = exclude.length ? { exclude: exclude.map((s) => [s]) } : document;
    const r = await window.axe.run(context, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
      resultTypes: ["violations"],
    });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(" ")) }));
  }, exclude);
  return results
    .filter((v) => v.impact === "critical" || v.impact === "serious")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.targets.slice(0, 5).join(", ")}${v.targets.length > 5 ? ", …" : ""}`);
}

/**
 * How far the page is wider than the viewport (0: no horizontal scroll), with what reaches past
 * its right edge, to say what to fix: elements whose box does (outermost first), and elements
 * whose own text spills out of a box that fits (a long unbreakable word: innermost first). What
 * lies inside a scroll box (overflow other than visible) is not counted: it scrolls there.
 */
export async function horizontalOverflow(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const over = document.documentElement.scrollWidth - width;
    const culprits = [];
    const name = (el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${el.className && typeof el.className === "string" ? "." + el.className.split(" ").join(".") : ""}`;
    const inScrollBox = (el) => {
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        if (getComputedStyle(a).overflowX !== "visible") return true;
      }
      return false;
    };
    if (over > 0) {
      const boxes = [];
      const spills = [];
      for (const el of document.querySelectorAll("body *")) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || el.offsetParent === null || inScrollBox(el)) continue;
        if (r.right > width + 1) {
          if (!boxes.some((c) => c.el.contains(el))) boxes.push({ el, text: `${name(el)} right=${Math.round(r.right)}` });
        } else if (getComputedStyle(el).overflowX === "visible" && r.left + el.scrollWidth > width + 1) {
          spills.push({ el, text: `${name(el)} text reaches right=${Math.round(r.left + el.scrollWidth)}: ${JSON.stringify(el.textContent.slice(0, 60))}` });
        }
      }
      culprits.push(...boxes, ...spills.filter((s) => !spills.some((o) => o !== s && s.el.contains(o.el))));
    }
    return { over, culprits: culprits.slice(0, 8).map((c) => c.text) };
  });
}
