// `imagestore serve`: the Docker Engine API v1.41, image endpoints, over an on-disk store, on a
// Unix socket (mode 0600) or a loopback TCP port — enough for the docker CLI and Engine API
// tools to list, inspect, tag, remove, save and load images and ask `system df`. Every answer
// is the core's (the same calls the page and the command make); this file only routes HTTP and
// maps error codes to statuses.
"use strict";

const fs = require("node:fs");
const http = require("node:http");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const { Readable } = require("node:stream");
const { tagsBefore, loadMessages } = require("./load_report.js");

const API_VERSION = "1.41";
const MIN_API_VERSION = "1.12";
const VERSION = "20.10.24-imagestore";

/** dockerd's status for each error code (api/server/httpstatus). */
const STATUS = {
  not_found: 404,
  conflict: 409,
  already_exists: 409,
  invalid_argument: 400,
  ambiguous: 400,
  failed_precondition: 412,
  unsupported_format: 400,
  data_corrupt: 500,
  aborted: 500,
  unavailable: 503,
};

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The headers dockerd puts on every answer. */
const HEADERS = { "Api-Version": API_VERSION, "Docker-Experimental": "false", Ostype: "linux", Server: `Docker/${VERSION} (linux)` };

function send(res, status, body, headers = {}) {
  const json = body === undefined ? "" : JSON.stringify(body) + "\n";
  res.writeHead(status, {
    ...HEADERS,
    ...(json ? { "Content-Type": "application/json" } : {}),
    ...headers,
  });
  res.end(json);
}

/** An answer that is JSON text already, sent as dockerd's encoder ends it (with a newline). */
function sendJsonText(res, text) {
  res.writeHead(200, { ...HEADERS, "Content-Type": "application/json" });
  res.write(text);
  res.end("\n");
}

const bool = (v) => v === "1" || v === "true" || v === "True";

/** The Engine API's `filters` query parameter (JSON map of lists, or the old map of booleans). */
function parseFilters(raw) {
  if (!raw) return {};
  let f;
  try {
    f = JSON.parse(raw);
  } catch (e) {
    throw new HttpError(400, `invalid filter: ${e.message}`);
  }
  const out = {};
  for (const [k, v] of Object.entries(f)) out[k] = Array.isArray(v) ? v : Object.keys(v).filter((x) => v[x]);
  return out;
}

function makeHandler(store, { storeDir }) {
  const routes = async (method, route, query) => {
    if (route === "/_ping" && (method === "GET" || method === "HEAD")) return { raw: "OK" };
    if (route === "/version" && method === "GET") {
      return {
        body: {
          Platform: { Name: "imagestore" },
          Components: [{ Name: "Engine", Version: VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: "linux", Arch: process.arch === "x64" ? "amd64" : process.arch } }],
          Version: VERSION,
          ApiVersion: API_VERSION,
          MinAPIVersion: MIN_API_VERSION,
          GitCommit: "",
          GoVersion: `node${process.versions.node}`,
          Os: "linux",
          Arch: process.arch === "x64" ? "amd64" : process.arch,
          KernelVersion: os.release(),
        },
      };
    }
    if (route === "/info" && method === "GET") {
      // dockerd counts every image of the store (intermediate ones too).
      const images = await store.listImages({ all: true });
      return {
        body: {
          ID: "imagestore",
          Containers: 0,
          ContainersRunning: 0,
          ContainersPaused: 0,
          ContainersStopped: 0,
          Images: images.length,
          Driver: "imagestore",
          DockerRootDir: storeDir,
          OperatingSystem: "imagestore (a served image store, no containers)",
          OSType: "linux",
          Architecture: os.arch(),
          NCPU: os.cpus().length,
          MemTotal: os.totalmem(),
          Name: os.hostname(),
          ServerVersion: VERSION,
          Warnings: null,
        },
      };
    }
    if (route === "/containers/json" && method === "GET") return { body: [] };
    if (route === "/system/df" && method === "GET") return { body: await store.systemDf() };
    if (route === "/images/get" && method === "GET") return { tar: await store.save(query.getAll("names")) };
    if (route === "/images/load" && method === "POST") return { load: true };
    if (route === "/images/json" && method === "GET") {
      const filters = parseFilters(query.get("filters"));
      if (query.get("filter")) (filters.reference ??= []).push(query.get("filter"));
      // The core's text is dockerd's bytes; it is remembered while the store is unchanged.
      return { json: await store.listImagesJson({ all: bool(query.get("all")), digests: bool(query.get("digests")), filters }) };
    }
    const m = /^\/images\/(.+?)(\/json|\/history|\/tag|\/get)?$/.exec(route);
    if (m) {
      const name = decodeURIComponent(m[1]);
      if (method === "GET" && m[2] === "/json") return { body: await store.inspectImage(name) };
      if (method === "GET" && m[2] === "/history") return { body: await store.imageHistory(name) };
      if (method === "GET" && m[2] === "/get") return { tar: await store.save([name]) };
      if (method === "POST" && m[2] === "/tag") {
        const repo = query.get("repo") ?? "";
        if (!repo) throw new HttpError(400, "repository name must have at least one component");
        await store.tagImage(name, repo, query.get("tag") || "latest");
        return { status: 201 };
      }
      if (method === "DELETE" && !m[2]) {
        return { body: await store.removeImage(name, { force: bool(query.get("force")), noprune: bool(query.get("noprune")) }) };
      }
    }
    throw new HttpError(501, `imagestore serves the image endpoints only: ${method} ${route} is not implemented`);
  };

  return async (req, res) => {
    const url = new URL(req.url, "http://localhost");
    let route = url.pathname;
    // API version prefix negotiation: /v1.41/… and unprefixed; versions above ours are refused
    // as dockerd refuses them.
    const v = /^\/v(\d+\.\d+)(\/.*)$/.exec(route);
    if (v) {
      const [maj, min] = v[1].split(".").map(Number);
      if (maj > 1 || (maj === 1 && min > 41)) {
        return send(res, 400, { message: `client version ${v[1]} is too new. Maximum supported API version is ${API_VERSION}` });
      }
      if (maj < 1 || (maj === 1 && min < 12)) {
        return send(res, 400, { message: `client version ${v[1]} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version` });
      }
      route = v[2];
    }
    try {
      const answer = await routes(req.method, route, url.searchParams);
      if (answer.load) return await load(store, req, res, url.searchParams);
      req.resume(); // no other endpoint reads a body
      if (answer.tar) return sendTar(res, answer.tar);
      if (answer.raw !== undefined) {
        res.writeHead(200, { "Api-Version": API_VERSION, "Docker-Experimental": "false", Ostype: "linux", "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache, no-store, must-revalidate", Pragma: "no-cache" });
        return res.end(req.method === "HEAD" ? undefined : answer.raw);
      }
      if (answer.json !== undefined) return sendJsonText(res, answer.json);
      send(res, answer.status ?? 200, answer.body);
    } catch (e) {
      req.resume();
      const status = e instanceof HttpError ? e.status : (STATUS[e.code] ?? 500);
      send(res, status, { message: e.message });
    }
  };
}

/** An export (`docker save`) streamed as it is read from the store. */
function sendTar(res, stream) {
  res.writeHead(200, { ...HEADERS, "Content-Type": "application/x-tar" });
  const body = Readable.fromWeb(stream);
  body.on("error", (e) => res.destroy(e)); // headers are out: the client sees a cut archive
  body.pipe(res);
}

/**
 * `POST /images/load`: the body is imported as it arrives, refused as dockerd refuses what is
 * not a `docker save`; the answer is dockerd's JSON message stream: with `quiet=0` (the docker
 * CLI asks for it on a terminal) "Loading layer" progress for each layer the load stored, then
 * `{"stream":"Loaded image: …\n"}` per image; `{"errorDetail":…,"error":…}` on failure. Status
 * 200 either way, as dockerd writes its error into the stream it has begun. The progress comes
 * once the body is imported (the layers are stored as they stream, the manifest may come last).
 */
async function load(store, req, res, params) {
  const before = await tagsBefore(store);
  // dockerd: httputils.BoolValueOrDefault(r, "quiet", true).
  const q = params.get("quiet");
  const quiet = q === null || q === "" ? true : !["0", "false", "none"].includes(q.toLowerCase());
  res.writeHead(200, { ...HEADERS, "Content-Type": "application/json" });
  try {
    const report = await store.import(Readable.toWeb(req), { dockerLoad: true });
    // dockerd's stream formatter ends each message with "\r\n".
    for (const line of loadMessages(report, before, { quiet })) res.write(line + "\r\n");
  } catch (e) {
    req.resume();
    res.write(JSON.stringify({ errorDetail: { message: e.message }, error: e.message }) + "\r\n");
  }
  res.end();
}

/** Parses `unix:///path` or `tcp://127.0.0.1:PORT`; anything not loopback is refused. */
function parseHost(host) {
  if (host.startsWith("unix://")) return { socket: host.slice(7) };
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:]+):(\d+)$/.exec(host);
  if (!m) throw new Error(`--host ${host}: expected unix:///path or tcp://127.0.0.1:PORT`);
  const addr = m[1].replace(/^\[|\]$/g, "");
  const loopback = addr === "localhost" || addr === "::1" || (net.isIPv4(addr) && addr.startsWith("127."));
  if (!loopback) {
    throw new Error(`--host ${host}: refusing to serve on a non-loopback address (the API has no authentication)`);
  }
  return { address: addr, port: Number(m[2]) };
}

async function listen(server, target) {
  if (target.socket) {
    fs.rmSync(target.socket, { force: true });
    const old = process.umask(0o177); // the socket is created 0600: only this user may talk to it
    try {
      await new Promise((resolve, reject) => server.once("error", reject).listen(target.socket, resolve));
    } finally {
      process.umask(old);
    }
    fs.chmodSync(target.socket, 0o600);
    return `unix://${target.socket}`;
  }
  await new Promise((resolve, reject) => server.once("error", reject).listen(target.port, target.address, resolve));
  return `tcp://${target.address}:${server.address().port}`;
}

/** Starts serving `store`; resolves to { url, close }. */
async function serve(store, { host, storeDir }) {
  const server = http.createServer(makeHandler(store, { storeDir }));
  const url = await listen(server, parseHost(host));
  return {
    url,
    server,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** `imagestore serve [--host H]`: runs until SIGINT/SIGTERM. */
async function main(storeDir, argv) {
  let host = `unix://${path.join(path.resolve(storeDir), "docker.sock")}`;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--host" || argv[i] === "-H") host = argv[++i];
    else if (argv[i].startsWith("--host=")) host = argv[i].slice(7);
    else throw Object.assign(new Error(`serve: unknown argument ${argv[i]}`), { usage: true });
  }
  parseHost(host); // refuse before opening the store
  const { Store } = require("./index.js");
  const store = await Store.open("imagestore", { backend: "fs", path: storeDir });
  const { META } = require("./fs_adapter.js");
  const { generationOf } = require("./list_answer.js");
  const servedFrom = generationOf(store[META]);
  const running = await serve(store, { host, storeDir: path.resolve(storeDir) });
  process.stderr.write(`imagestore: serving the Engine API v${API_VERSION} (images) of ${path.resolve(storeDir)} on ${running.url}\n`);
  process.stderr.write(`  DOCKER_HOST=${running.url} docker images\n`);
  await new Promise((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await running.close();
  // Changes made over the API (tag, rmi, load) save the list answers `imagestore images` prints
  // from again, as the CLI's own commands do (list_answer.js), before the store closes.
  if (generationOf(store[META]) !== servedFrom) await require("./commands/images.js").refreshSaved(store).catch(() => {});
  store.close();
  await store.whenClosed;
  if (running.url.startsWith("unix://")) fs.rmSync(running.url.slice(7), { force: true });
  return 0;
}

module.exports = { serve, main, parseHost, makeHandler };
