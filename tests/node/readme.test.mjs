// Every code block of README.md runs, in order, as a user would run it, so the README cannot
// drift from the package: the `js` blocks as one ES module in a fresh Node process inside a
// project that installed the packed package (the docker20/basic fixtures beside it under the
// names the README uses; a block that opens and closes its own store runs in its own scope, and
// its absolute store folder is moved into the test's temp folder), the `html` block as a page in
// Chromium. The `sh` blocks: `make` commands are checked against the Makefile's targets (running
// `make test` inside a test would recurse); `imagestore` command lines against the commands
// node/cli.js has (the CLI and the socket are run by tests/node/cli.test.mjs and serve.test.mjs).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { withPage } from "../e2e/harness.mjs";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PKG = join(ROOT, "pkg");
const BASIC = join(ROOT, "tests/fixtures/docker20/basic");

/** The fenced blocks of README.md in order: { lang, code, line }. */
function readmeBlocks() {
  const lines = readFileSync(join(ROOT, "README.md"), "utf8").split("\n");
  const blocks = [];
  let open = null;
  lines.forEach((text, i) => {
    const fence = text.match(/^```(\S*)\s*$/);
    if (!fence) {
      if (open) open.code.push(text);
    } else if (open) {
      blocks.push({ ...open, code: open.code.join("\n") });
      open = null;
    } else {
      open = { lang: fence[1], code: [], line: i + 1 };
    }
  });
  assert.equal(open, null, "README.md has an unclosed code fence");
  return blocks;
}

const BLOCKS = readmeBlocks();
const RUNNABLE = new Set(["js", "html", "sh"]);

let project;

before(async () => {
  assert.ok(existsSync(join(PKG, "package.json")), "pkg/ is not built: run `make build` first");
  project = await mkdtemp(join(tmpdir(), "imagestore-readme-test-"));
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", project], { cwd: PKG });
  const [packed] = JSON.parse(stdout);
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "readme", private: true, type: "module" }));
  // --prefer-offline, not --offline: see tests/node/pkg.test.mjs.
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", `./${packed.filename}`], { cwd: project });
  await copyFile(join(BASIC, "image-store.tar"), join(project, "image-store.tar"));
  await copyFile(join(BASIC, "oci-archive.tar"), join(project, "oci-archive.tar"));
  await copyFile(join(BASIC, "docker-save.tar"), join(project, "docker-save.tar"));
  await copyFile(join(BASIC, "image-store.tar"), join(project, "var-lib-docker.tar"));
});

after(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

test("every fenced block is one the tests run (js, html, sh) or the code layout", () => {
  const others = BLOCKS.filter((b) => !RUNNABLE.has(b.lang));
  // The one plain block is the code layout (a listing, not code).
  assert.deepEqual(others.map((b) => [b.lang, b.code.split("\n")[0].split(/\s+/)[0]]), [["", "src/lib.rs"]]);
  assert.ok(BLOCKS.filter((b) => b.lang === "js").length >= 3);
});

test("the js blocks run top to bottom as one program against the packed package", async () => {
  const js = BLOCKS.filter((b) => b.lang === "js");
  // Each block's result lines are checked by the program itself: a marker after every block
  // proves it ran to its end, in order.
  // Imports go first (ES modules hoist them anyway); a block that opens and closes its own store
  // gets its own scope, so its `store` does not clash with the one the other blocks share.
  const imports = new Set();
  const bodies = js.map((b, i) => {
    const lines = b.code.split("\n");
    for (const l of lines.filter((l) => /^import\s/.test(l))) imports.add(l);
    let body = lines.filter((l) => !/^import\s/.test(l)).join("\n").replaceAll("/srv/imagestore", join(project, "srv-imagestore"));
    if (/Store\.open\(/.test(body) && /store\.close\(\)/.test(body) && i > 0) body = `{\n${body}\n}`;
    return `// README.md line ${b.line}\n${body}\nconsole.log("readme block ${i} done");`;
  });
  const program = [...imports, "", ...bodies].join("\n");
  await writeFile(join(project, "readme.mjs"), program);
  const env = { ...process.env, NODE_OPTIONS: "" };
  let out;
  try {
    out = await run(process.execPath, ["readme.mjs"], { cwd: project, env });
  } catch (err) {
    assert.fail(`README's js blocks failed:\n${err.stderr || err.message}`);
  }
  const done = out.stdout.split("\n").filter((l) => l.startsWith("readme block "));
  assert.deepEqual(done, js.map((_, i) => `readme block ${i} done`));
  assert.equal(out.stderr, "");
  // The onProgress callback of the Docker block printed phases as the import ran.
  assert.match(out.stdout, /\d+ \d+/);
});

test("the html block loads the package in Chromium and opens its IndexedDB store", async () => {
  const html = BLOCKS.filter((b) => b.lang === "html");
  assert.equal(html.length, 1);
  const page = `<!doctype html><html lang="en"><head><title>README example</title><link rel="icon" href="data:,">${html[0].code}
<script type="module">
  import { Store } from "imagestore";
  document.body.dataset.done = String(typeof Store.open === "function");
</script></head><body></body></html>`;
  await withPage(async (p, base) => {
    // Served beside the page's own files, so "./pkg/web/index.js" resolves as in the README.
    await p.route(`${base}/readme-example.html`, (route) => route.fulfill({ contentType: "text/html", body: page }));
    const missing = [];
    p.on("response", (r) => r.status() === 404 && missing.push(new URL(r.url()).pathname));
    await p.goto(`${base}/readme-example.html`);
    await p.waitForSelector("body[data-done=true]", { state: "attached" });
    await p.waitForFunction(async () => (await indexedDB.databases()).some((d) => d.name === "my-store"));
    // The browser's own favicon request for the plain-text start page is the only miss.
    assert.deepEqual(missing.filter((path) => path !== "/favicon.ico"), []);
  }, { path: "/style.css", ignoreErrors: [/status of 404/] }); // a start that loads no wasm, so leaving it aborts nothing
});

test("the sh blocks' commands are Makefile targets or the imagestore command's", () => {
  const makefile = readFileSync(join(ROOT, "Makefile"), "utf8");
  const targets = new Set([...makefile.matchAll(/^([\w-]+):/gm)].map((m) => m[1]));
  const commands = BLOCKS.filter((b) => b.lang === "sh").flatMap((b) => b.code.split("\n")).map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
  assert.ok(commands.length > 0);
  const cli = execFileSync(process.execPath, [join(ROOT, "node/cli.js"), "--help"], { encoding: "utf8" });
  for (const c of commands) {
    const make = c.match(/^(?:\w+=\S+\s+)*make\s+([\w-]+)$/);
    if (make) {
      assert.ok(targets.has(make[1]), `make ${make[1]} is not a Makefile target`);
      continue;
    }
    // `imagestore [--store DIR] COMMAND …`: the command is one the CLI has.
    const words = c.replace(/\[[^\]]*\]/g, " ").replace(/--store\s+\S+/, " ").split(/\s+/).filter(Boolean);
    if (words[0] === "imagestore") {
      // The CLI's --help lists each command at the start of a line.
      assert.ok(words[1] && new RegExp(`^\\s+${words[1]}\\b`, "m").test(cli), `README's \`${c}\`: imagestore --help lists no command ${words[1]}`);
      continue;
    }
    // The docker CLI pointed at `imagestore serve` (run by tests/node/serve.test.mjs).
    assert.match(c, /^DOCKER_HOST=unix:\/\/\S+ docker (images|image inspect)\b/, `README's sh block runs \`${c}\``);
  }
});
