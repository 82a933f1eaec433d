// A small static file server for the web page: serves www/ and, under /pkg/, the built npm
// package (pkg/), so the page imports exactly what `make build` produced. Any file under www/
// is served (e.g. www/sample/... made by `make sample`). Sends application/wasm for .wasm,
// which WebAssembly.instantiateStreaming requires.
//
// Caching: every file goes out with validators (an ETag made of its size and modification time,
// Last-Modified) and `cache-control: no-cache`, and a request whose If-None-Match (or, without
// one, If-Modified-Since) still matches gets a bodiless 304. So a reload always asks and always
// gets the latest build, and what did not change is not sent again: Chromium then reuses what it
// keeps for a cached response, among it the compiled code of the wasm (V8's wasm code cache
// needs a cacheable response; with `no-store` every reload fetched and compiled it again).
//
// CLI:     node scripts/serve.mjs            (PORT env, default 8080; HOST default 127.0.0.1)
// Library: const server = await startServer({ port: 0 }); server.url; await server.close();
import { createServer } from "node:http";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));

const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".tar": "application/x-tar",
  ".gz": "application/gzip",
  ".tgz": "application/gzip",
};

// URL path prefix -> folder it is served from; the first matching prefix wins.
function defaultMounts() {
  return [
    ["/pkg/", join(ROOT, "pkg")],
    ["/", join(ROOT, "www")],
  ];
}

/** Maps a URL path to a file inside one of the mounts, or null if it would escape it. */
function fileFor(mounts, urlPath) {
  for (const [prefix, dir] of mounts) {
    if (!urlPath.startsWith(prefix)) continue;
    const rel = normalize(decodeURIComponent(urlPath.slice(prefix.length)));
    const file = resolve(dir, "." + sep + rel);
    return file === dir || file.startsWith(dir + sep) ? file : null;
  }
  return null;
}

async function handle(mounts, req, res) {
  const send = (status, text) => {
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
    res.end(text + "\n");
  };
  if (req.method !== "GET" && req.method !== "HEAD") return send(405, "method not allowed");
  let urlPath;
  try {
    urlPath = new URL(req.url, "http://localhost").pathname;
  } catch {
    return send(400, "bad request");
  }
  let file = fileFor(mounts, urlPath);
  if (!file) return send(403, "forbidden");
  let info = await stat(file, { bigint: true }).catch(() => null);
  if (info?.isDirectory()) {
    file = join(file, "index.html");
    info = await stat(file, { bigint: true }).catch(() => null);
  }
  if (!info?.isFile()) return send(404, `not found: ${urlPath}`);
  const validators = {
    etag: etagOf(info),
    "last-modified": new Date(Number(info.mtimeMs)).toUTCString(),
    "cache-control": "no-cache", // kept, but asked about again before each use
  };
  if (notModified(req.headers, validators.etag, info.mtimeMs)) {
    res.writeHead(304, validators);
    return res.end();
  }
  res.writeHead(200, {
    "content-type": CONTENT_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
    "content-length": String(info.size),
    ...validators,
  });
  if (req.method === "HEAD") return res.end();
  createReadStream(file).on("error", () => res.destroy()).pipe(res);
}

/** A strong ETag from what `stat` says of a file: a rebuilt file has a new mtime (or size). */
function etagOf(info) {
  return `"${info.size.toString(16)}-${info.mtimeNs.toString(16)}"`;
}

/**
 * Whether the client's copy is current (RFC 9110 13.1.2/13.2.2): If-None-Match lists the ETag
 * (weak comparison) or is `*`; only without If-None-Match, If-Modified-Since is not before the
 * file's modification time (whole seconds, as Last-Modified has it).
 */
function notModified(headers, etag, mtimeMs) {
  const inm = headers["if-none-match"];
  if (inm !== undefined) {
    const bare = (tag) => tag.trim().replace(/^W\//, "");
    return inm.trim() === "*" || inm.split(",").some((tag) => bare(tag) === bare(etag));
  }
  const ims = Date.parse(headers["if-modified-since"] ?? "");
  return Number.isFinite(ims) && Math.floor(Number(mtimeMs) / 1000) * 1000 <= ims;
}

/** Starts the server; resolves to { url, port, close() }. Port 0 picks a free port. */
export function startServer({ port = 0, host = "127.0.0.1", mounts = defaultMounts() } = {}) {
  const server = createServer((req, res) => {
    handle(mounts, req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  return new Promise((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const actual = server.address().port;
      resolvePromise({
        url: `http://${host}:${actual}`,
        port: actual,
        close: () => new Promise((done) => { server.closeAllConnections(); server.close(done); }),
      });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT || 8080);
  const host = process.env.HOST || "127.0.0.1";
  const { url } = await startServer({ port, host });
  console.log(`serving www/ (and pkg/ at /pkg/) on ${url}/  (Ctrl-C to stop)`);
}
