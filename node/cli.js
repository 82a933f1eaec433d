#!/usr/bin/env node
// The `imagestore` command: docker's and ctr's image commands over an on-disk store (the fs
// backend), printing what the docker CLI 20.10 / ctr print, with their exit codes. `serve`
// runs the Engine API server (./serve.js).
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const fmt = require("./docker_format.js");

const USAGE = `Usage: imagestore [--store DIR] COMMAND

A Docker/containerd image store on disk (default: $IMAGESTORE_STORE, else
$XDG_DATA_HOME/imagestore or ~/.local/share/imagestore).

Commands:
  import FILE [--namespace NS]   import a tarball (docker image store, docker save, OCI, containerd root)
  images [-a] [--digests] [-q] [--no-trunc] [-f FILTER]... [--format table|json] [REPOSITORY[:TAG]]
  inspect IMAGE...               docker image inspect
  history [--no-trunc] [-q] [-H=false] [--format table|json] IMAGE
  tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]
  rmi [-f] [--no-prune] IMAGE...
  ctr [-n NS] images ls          containerd's view (ctr images ls)
  ctr [-n NS] content ls         (ctr content ls)
  serve [--host unix:///path.sock | tcp://127.0.0.1:PORT]   the Engine API v1.41 for images

Analysis (-n NS: IMAGE is a containerd image of namespace NS):
  dive [-n NS] [--ci] [--lowestEfficiency R] [--highestWastedBytes B] [--highestUserWastedPercent R] IMAGE
                                 wasted space and efficiency as dive 0.13.1; --ci: its CI rules and exit code
  diff [-n NS] [--format json] IMAGE IMAGE   files added (A), deleted (D), changed (C) from the first to the second
  find [--change added|modified|removed] [--format json] PATTERN   every image and layer that touches a path/glob
  largest [-n NS] [--limit N] [--format json] [IMAGE]   largest files of an image, or of the whole store
`;

class UsageError extends Error {}

/** Splits argv into flags and positionals; `spec` maps flag names to "bool" or "value"/"list". */
function parseArgs(argv, spec) {
  const flags = {};
  const args = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      args.push(a);
      continue;
    }
    let [name, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown flag: ${name}`);
    const key = kind.key;
    if (kind.type === "bool") {
      flags[key] = inline === undefined ? true : inline !== "false";
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`flag needs an argument: ${name}`);
    if (kind.type === "list") (flags[key] ??= []).push(value);
    else flags[key] = value;
  }
  return { flags, args };
}

const flag = (key, type = "bool") => ({ key, type });

function defaultStore() {
  if (process.env.IMAGESTORE_STORE) return process.env.IMAGESTORE_STORE;
  const data = process.env.XDG_DATA_HOME || path.join(os.homedir(), ".local", "share");
  return path.join(data, "imagestore");
}

/** "now" for relative times; IMAGESTORE_NOW (Unix seconds or an ISO time) pins it for tests. */
function now() {
  const pinned = process.env.IMAGESTORE_NOW;
  if (pinned) return /^\d+(\.\d+)?$/.test(pinned) ? Number(pinned) : Date.parse(pinned) / 1000;
  return Date.now() / 1000;
}

/** Docker's `-f key=value` list as the Engine API filter map. */
function filterMap(list = []) {
  const filters = {};
  for (const f of list) {
    const eq = f.indexOf("=");
    if (eq <= 0) throw new UsageError(`Bad format of filter (expected name=value)`);
    (filters[f.slice(0, eq).toLowerCase()] ??= []).push(f.slice(eq + 1));
  }
  return filters;
}

/** JSON as Go's encoding/json writes it: `<`, `>`, `&` escaped as \u003c, \u003e, \u0026. */
function goJson(value, indent) {
  return JSON.stringify(value, null, indent).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

function out(lines) {
  const text = Array.isArray(lines) ? lines.join("\n") : lines;
  if (text.length) process.stdout.write(text + "\n");
}

/** Thrown by a command to exit with `code` after `message` on stderr (docker's wording). */
class Exit extends Error {
  constructor(code, message) {
    super(message);
    this.exitCode = code;
  }
}

const daemonError = (e) => new Exit(1, `Error response from daemon: ${e.message}`);

async function openStore(dir) {
  const { Store } = require("./index.js");
  return Store.open("imagestore", { backend: "fs", path: dir });
}

// ---- commands -----------------------------------------------------------------------------

async function cmdImport(store, argv) {
  const { flags, args } = parseArgs(argv, { "--namespace": flag("namespace", "value"), "-n": flag("namespace", "value") });
  if (args.length !== 1) throw new UsageError('"import" requires exactly 1 argument (FILE)');
  const file = args[0];
  let total;
  try {
    total = fs.statSync(file).size;
  } catch (e) {
    throw new Exit(1, `Error: open ${file}: ${e.code === "ENOENT" ? "no such file or directory" : e.message}`);
  }
  const { Readable } = require("node:stream");
  const input = Readable.toWeb(fs.createReadStream(file, { highWaterMark: 1 << 20 }));
  const tty = process.stderr.isTTY;
  let lastPhase = "";
  let lastDraw = 0;
  const onProgress = (p) => {
    const read = p.bytesRead ?? 0;
    if (tty) {
      const t = Date.now();
      if (t - lastDraw < 100 && read < total) return;
      lastDraw = t;
      const pct = total ? Math.min(1, read / total) : 0;
      const bar = "=".repeat(Math.floor(pct * 30)).padEnd(30, " ");
      process.stderr.write(`\r${p.phase.padEnd(12)} [${bar}] ${fmt.humanSize(read)}/${fmt.humanSize(total)}\x1b[K`);
    } else if (p.phase !== lastPhase) {
      process.stderr.write(`${p.phase}: ${fmt.humanSize(read)} of ${fmt.humanSize(total)}\n`);
    }
    lastPhase = p.phase;
  };
  let report;
  try {
    report = await store.import(input, { onProgress, namespace: flags.namespace });
  } finally {
    if (tty) process.stderr.write("\r\x1b[K");
  }
  out(`Imported ${file} (${report.format}): ${report.images} images, ${report.layers} layers, ${report.blobs ?? 0} blobs`);
  for (const s of report.skipped ?? []) process.stderr.write(`skipped ${s.subject}: ${s.reason}\n`);
}

async function cmdImages(store, argv) {
  const { flags, args } = parseArgs(argv, {
    "-a": flag("all"),
    "--all": flag("all"),
    "--digests": flag("digests"),
    "-q": flag("quiet"),
    "--quiet": flag("quiet"),
    "--no-trunc": flag("noTrunc"),
    "-f": flag("filter", "list"),
    "--filter": flag("filter", "list"),
    "--format": flag("format", "value"),
  });
  if (args.length > 1) throw new UsageError('"images" requires at most 1 argument');
  const filters = filterMap(flags.filter);
  if (args[0]) (filters.reference ??= []).push(args[0]);
  let images;
  try {
    images = await store.listImages({ all: !!flags.all, digests: !!flags.digests, filters });
  } catch (e) {
    throw daemonError(e);
  }
  const t = now();
  const format = flags.format ?? "table";
  if (format === "json" || format === "{{json .}}") {
    const lines = [];
    for (const image of images) {
      for (const row of fmt.imageRows(image, { digests: !!flags.digests })) {
        const j = fmt.imageJson(image, row, t);
        if (!flags.noTrunc) j.ID = fmt.truncateId(j.ID);
        lines.push(goJson(j));
      }
    }
    return out(lines);
  }
  if (format !== "table") throw new UsageError(`--format: only "table" and "json" are supported, got ${JSON.stringify(format)}`);
  out(fmt.imagesTable(images, { digests: !!flags.digests, quiet: !!flags.quiet, noTrunc: !!flags.noTrunc, now: t }));
}

async function cmdInspect(store, argv) {
  const { args } = parseArgs(argv, { "--format": flag("format", "value"), "-f": flag("format", "value") });
  if (args.length === 0) throw new UsageError('"inspect" requires at least 1 argument');
  const found = [];
  const errors = [];
  for (const name of args) {
    try {
      found.push(await store.inspectImage(name));
    } catch (e) {
      errors.push(e.code === "not_found" ? `Error: No such image: ${name}` : `Error response from daemon: ${e.message}`);
    }
  }
  // The docker CLI prints the array with 4-space indentation, HTML characters escaped.
  // The docker CLI indents the daemon's JSON as it came (dockerd does not escape HTML characters).
  out(JSON.stringify(found, null, 4));
  if (errors.length) throw new Exit(1, errors.join("\n"));
}

async function cmdHistory(store, argv) {
  const { flags, args } = parseArgs(argv, {
    "--no-trunc": flag("noTrunc"),
    "-q": flag("quiet"),
    "--quiet": flag("quiet"),
    "-H": flag("human"),
    "--human": flag("human"),
    "--format": flag("format", "value"),
  });
  if (args.length !== 1) throw new UsageError('"history" requires exactly 1 argument');
  let items;
  try {
    items = await store.imageHistory(args[0]);
  } catch (e) {
    throw daemonError(e);
  }
  const t = now();
  if (flags.format === "json" || flags.format === "{{json .}}") {
    return out(
      items.map((it) => {
        const j = fmt.historyJson(it, t);
        if (!flags.noTrunc) {
          j.ID = it.Id === "<missing>" ? it.Id : fmt.truncateId(it.Id);
          j.CreatedBy = fmt.ellipsis(it.CreatedBy.replaceAll("\t", " "), 45);
        }
        return goJson(j);
      }),
    );
  }
  out(fmt.historyTable(items, { noTrunc: !!flags.noTrunc, quiet: !!flags.quiet, human: flags.human !== false, now: t }));
}

async function cmdTag(store, argv) {
  const { args } = parseArgs(argv, {});
  if (args.length !== 2) throw new UsageError('"tag" requires exactly 2 arguments.');
  const [source, target] = args;
  const slash = target.lastIndexOf("/");
  const colon = target.lastIndexOf(":");
  const [repo, tag] = colon > slash ? [target.slice(0, colon), target.slice(colon + 1)] : [target, "latest"];
  try {
    await store.tagImage(source, repo, tag);
  } catch (e) {
    throw daemonError(e);
  }
}

async function cmdRmi(store, argv) {
  const { flags, args } = parseArgs(argv, { "-f": flag("force"), "--force": flag("force"), "--no-prune": flag("noPrune") });
  if (args.length === 0) throw new UsageError('"rmi" requires at least 1 argument.');
  const errors = [];
  for (const name of args) {
    try {
      const answer = await store.removeImage(name, { force: !!flags.force, noprune: !!flags.noPrune });
      out(answer.map((a) => (a.Untagged ? `Untagged: ${a.Untagged}` : `Deleted: ${a.Deleted}`)));
    } catch (e) {
      // docker rmi reports the daemon's answer as it is (not the CLI's own "No such image").
      errors.push(`Error response from daemon: ${e.message}`);
    }
  }
  if (errors.length) throw new Exit(1, errors.join("\n"));
}

async function cmdCtr(store, argv) {
  const { flags, args } = parseArgs(argv, { "-n": flag("namespace", "value"), "--namespace": flag("namespace", "value") });
  const ns = store.containerd(flags.namespace ?? "default");
  const [object, verb, ...filters] = args;
  if (object === "images" && (verb === "ls" || verb === "list")) {
    const rows = await ns.imagesTable(filters);
    const lines = [["REF", "TYPE", "DIGEST", "SIZE", "PLATFORMS", "LABELS"]];
    for (const r of rows) lines.push([r.ref, r.type, r.digest, r.size, r.platforms, r.labels]);
    // ctr's tabwriter: minwidth 1, padding 1, every cell padded (the last one too).
    const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => [...l[i]].length + 1)));
    return out(lines.map((l) => l.map((c, i) => c + " ".repeat(widths[i] - [...c].length)).join("")));
  }
  if (object === "content" && (verb === "ls" || verb === "list")) {
    const infos = [];
    await ns.content.walk((info) => infos.push(info), ...filters);
    const t = now();
    const lines = [["DIGEST", "SIZE", "AGE", "LABELS"]];
    for (const i of infos) {
      const labels = Object.entries(i.labels ?? {}).map(([k, v]) => `${k}=${v}`).sort().join(",") || "-";
      lines.push([i.digest, fmt.humanSize(i.size), fmt.humanDuration(t - Date.parse(i.createdAt) / 1000), labels]);
    }
    // ctr content ls: tabwriter.NewWriter(os.Stdout, 1, 8, 1, '\t', 0) — padded with tabs.
    return out(fmt.tabwriterTabs(lines));
  }
  throw new UsageError(`ctr: supported: "images ls", "content ls"`);
}

const analysis = require("./cli_analysis.js")({ parseArgs, flag, out, UsageError, Exit });

const COMMANDS = {
  ...analysis,
  import: cmdImport,
  load: cmdImport,
  images: cmdImages,
  inspect: cmdInspect,
  history: cmdHistory,
  tag: cmdTag,
  rmi: cmdRmi,
  ctr: cmdCtr,
};

async function main(argv) {
  let storeDir = defaultStore();
  while (argv[0]?.startsWith("--store")) {
    if (argv[0].includes("=")) storeDir = argv.shift().slice("--store=".length);
    else {
      argv.shift();
      storeDir = argv.shift();
    }
  }
  let [command, ...rest] = argv;
  if (command === "image" && ["ls", "list", "inspect", "history", "tag", "rm", "import"].includes(rest[0])) {
    command = { ls: "images", list: "images", rm: "rmi" }[rest[0]] ?? rest[0];
    rest = rest.slice(1);
  }
  if (!command || command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === "serve") return require("./serve.js").main(storeDir, rest);
  const run = COMMANDS[command];
  if (!run) throw new UsageError(`unknown command "${command}"`);
  const store = await openStore(storeDir).catch((e) => {
    throw new Exit(1, `Error: ${e.message}`);
  });
  let code;
  try {
    code = await run(store, rest);
  } finally {
    store.close();
    await store.whenClosed;
  }
  return code ?? 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code) process.exitCode = code;
    },
    (e) => {
      if (e instanceof UsageError) {
        process.stderr.write(`imagestore: ${e.message}\nSee 'imagestore --help'.\n`);
        process.exitCode = 125;
      } else if (e instanceof Exit) {
        process.stderr.write(e.message + "\n");
        process.exitCode = e.exitCode;
      } else {
        process.stderr.write(`Error: ${e.message}\n`);
        process.exitCode = 1;
      }
    },
  );
}

module.exports = { main, parseArgs, filterMap };
