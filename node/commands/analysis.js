// The analysis commands of `imagestore` (issue #11): `dive IMAGE [--ci]` (dive 0.13.1's CI
// report, its rules, `.dive-ci` and exit code; without CI mode, the text of dive's interactive
// view), `diff A B`, `find PATTERN` and `largest [IMAGE]`. `-n NS` names containerd images
// (`IMAGE` is then the name `ctr -n NS images ls` shows).
"use strict";

const fs = require("node:fs");
const { humanSize } = require("../docker_format.js");
const { parseArgs, flag, out, UsageError, Exit } = require("../cli_support.js");

// dive's terminal styles (it prints them whether or not stdout is a terminal).
const BOLD = (s) => `\x1b[1m${s}\x1b[0m`;
const FAIL = "\x1b[1;7;31mFAIL\x1b[0m";
const SKIP = "\x1b[34mSKIP\x1b[0m";
const RED = (s) => `\x1b[31m${s}\x1b[0m`;
const GREEN = (s) => `\x1b[32m${s}\x1b[0m`;

/** go-humanize's `Bytes` (SI units), which dive uses for wasted space. */
function humanizeBytes(n) {
  if (n < 10) return `${n} B`;
  const sizes = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return `${val < 10 ? val.toFixed(1) : val.toFixed(0)} ${sizes[e]}`;
}

/** Go's `%Ns` / `%-s` padding. */
const padLeft = (s, n) => " ".repeat(Math.max(0, n - [...s].length)) + s;

/** dive's CI mode is on with `--ci` or when `CI` is true as Go's `strconv.ParseBool` reads it. */
const ciFromEnv = () => ["1", "t", "T", "TRUE", "true", "True"].includes(process.env.CI ?? "");

/**
 * Without CI mode dive opens its interactive view on the terminal (and without one fails:
 * "failed to initialize tcell screen"). This prints what that view shows, as text: the Layers
 * pane (size and command of each layer) and the Image Details pane (total size, potential
 * wasted space, efficiency score, the wasted files), in dive's formats. dive names the base
 * layer by the ID its archive gave it (`FROM <15 digits>`); a store names layers by DiffID, so
 * those are its first 15 digits. Headings are bold only on a terminal.
 */
function viewAsText(e, imageName, bold) {
  const lines = [bold("Layers"), "Cmp   Size  Command"];
  for (const l of e.layers) {
    const command = l.index === 0 ? `FROM ${l.digestId.replace(/^sha256:/, "").slice(0, 15)}` : l.command.split("\n")[0];
    lines.push(`   ${padLeft(humanizeBytes(l.sizeBytes), 7)}  ${command}`);
  }
  lines.push("", bold("Image Details"), "");
  lines.push(`${bold("Image name:")} ${imageName}`);
  lines.push(`${bold("Total Image size:")} ${humanizeBytes(e.sizeBytes)}`);
  lines.push(`${bold("Potential wasted space:")} ${humanizeBytes(e.inefficientBytes)}`);
  lines.push(`${bold("Image efficiency score:")} ${Math.trunc(100 * e.efficiencyScore)} %`);
  lines.push("", `${padLeft("Count", 5)}  ${padLeft("Total Space", 12)}  Path`);
  for (const w of e.wasted) lines.push(`${padLeft(String(w.count), 5)}  ${padLeft(humanizeBytes(w.sizeBytes), 12)}  ${w.path}`);
  return lines;
}

/** The rules of a `.dive-ci` file (`rules:` then `name: value` lines). */
function readDiveCi(file) {
  const rules = {};
  let inRules = false;
  for (const raw of fs.readFileSync(file, "utf8").split("\n")) {
    const line = raw.replace(/#.*/, "").trimEnd();
    if (!line.trim()) continue;
    if (/^\S/.test(line)) {
      inRules = line.trim() === "rules:";
      continue;
    }
    const m = /^\s+([A-Za-z]+):\s*(.*?)\s*$/.exec(line);
    if (inRules && m) rules[m[1]] = m[2].replace(/^(['"])(.*)\1$/, "$2");
  }
  return rules;
}

{
  const nsFlags = { "-n": flag("namespace", "value"), "--namespace": flag("namespace", "value") };
  const ref = (flags, name) => (flags.namespace ? { namespace: flags.namespace, name } : name);
  const fail = (e) => new Exit(1, `Error: ${e.message}`);
  /** Layers a store-wide answer could not look into, one warning line each on stderr. */
  const warnSkipped = (skipped) => {
    for (const s of skipped ?? []) process.stderr.write(`warning: layer ${s.layer} of ${s.image} (${s.diffId}) was not searched: ${s.reason}\n`);
  };
  const label = (hit) => (hit.namespace ? `${hit.namespace}/` : "") + (hit.repoTags[0] ?? hit.image.slice(7, 19));

  async function dive(store, argv) {
    const { flags, args } = parseArgs(argv, {
      ...nsFlags,
      "--ci": flag("ci"),
      "--ci-config": flag("ciConfig", "value"),
      "--lowestEfficiency": flag("lowestEfficiency", "value"),
      "--highestWastedBytes": flag("highestWastedBytes", "value"),
      "--highestUserWastedPercent": flag("highestUserWastedPercent", "value"),
      "--json": flag("json", "value"),
    });
    if (args.length !== 1) throw new UsageError('"dive" requires exactly 1 argument (an image)');
    const ci = flags.ci || ciFromEnv();
    const lines = [];
    // dive reads .dive-ci (or --ci-config) for its limits; flags override it rule by rule.
    const configFile = flags.ciConfig ?? ".dive-ci";
    let rules = {};
    if (ci) {
      if (fs.existsSync(configFile)) {
        rules = readDiveCi(configFile);
        lines.push(`  Using CI config: ${configFile}`);
      } else {
        lines.push("  Using default CI config");
      }
    }
    for (const k of ["lowestEfficiency", "highestWastedBytes", "highestUserWastedPercent"]) {
      if (flags[k] !== undefined) rules[k] = flags[k];
    }
    const image = ref(flags, args[0]);
    let e;
    try {
      e = await store.efficiency(image, rules);
    } catch (err) {
      if (err.code === "invalid_argument" && ci) throw new Exit(1, `${lines.join("\n")}\n${RED("CI Misconfigured")}\n  ${err.message}`);
      throw fail(err);
    }
    if (flags.json) {
      const changes = await store.layerChanges(image);
      fs.writeFileSync(flags.json, JSON.stringify({ efficiency: e, layers: changes }, null, 2) + "\n");
    }
    const source = flags.namespace ? `containerd://${flags.namespace}/${args[0]}` : `docker://${args[0]}`;
    if (!ci) {
      // dive's progress lines go to stdout with its styles even off a terminal; here they are
      // styled only on one, like the rest of this output.
      const bold = process.stdout.isTTY ? BOLD : (t) => t;
      const head = [`${bold("Image Source: ")}${source}`];
      // With --json dive writes the file and opens no view.
      if (flags.json) return out([...head, bold("Analyzing image..."), bold(`Exporting image to '${flags.json}'...`)]);
      return out([...head, "", ...viewAsText(e, args[0], bold)]);
    }
    lines.push(`${BOLD("Image Source: ")}${source}`);
    lines.push(`${BOLD("Fetching image...")} (this can take a while for large images)`);
    lines.push(BOLD("Analyzing image..."));
    lines.push(`  efficiency: ${(e.efficiencyScore * 100).toFixed(4)} %`);
    lines.push(`  wastedBytes: ${e.inefficientBytes} bytes (${humanizeBytes(e.inefficientBytes)})`);
    const userPct = e.wastedUserPercent === null ? NaN : e.wastedUserPercent * 100;
    lines.push(`  userWastedPercent: ${Number.isNaN(userPct) ? "NaN" : userPct.toFixed(4)} %`);
    if (e.wasted.length) {
      lines.push(BOLD("Inefficient Files:"));
      lines.push(`${padLeft("Count", 5)}  ${padLeft("Wasted Space", 12)}  File Path`);
      for (const w of e.wasted) lines.push(`${padLeft(String(w.count), 5)}  ${padLeft(humanizeBytes(w.sizeBytes), 12)}  ${w.path}`);
    }
    lines.push(BOLD("Results:"));
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const r of [...e.rules].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (r.pass === null) {
        skipped++;
        lines.push(`  ${SKIP}: ${r.name}: rule disabled`);
      } else if (r.pass) {
        passed++;
        lines.push(`  PASS: ${r.name}`);
      } else {
        failed++;
        lines.push(`  ${FAIL}: ${r.name}: ${r.message}`);
      }
    }
    const summary = `[Total:${e.rules.length}] [Passed:${passed}] [Failed:${failed}] [Warn:0] [Skipped:${skipped}]`;
    lines.push(failed ? RED(`Result:FAIL ${summary}`) : GREEN(`Result:PASS ${summary}`));
    lines.push("");
    out(lines);
    if (failed) return 1;
  }

  async function diff(store, argv) {
    const { flags, args } = parseArgs(argv, { ...nsFlags, "--format": flag("format", "value") });
    if (args.length !== 2) throw new UsageError('"diff" requires exactly 2 arguments (two images)');
    let d;
    try {
      d = await store.diffImages(ref(flags, args[0]), ref(flags, args[1]));
    } catch (e) {
      throw fail(e);
    }
    if (flags.format === "json") return out(JSON.stringify(d));
    // `docker diff`'s letters: A added, D deleted, C changed; by path.
    const rows = [
      ...d.added.map((f) => ["A", f]),
      ...d.removed.map((f) => ["D", f]),
      ...d.modified.map((f) => ["C", f]),
    ].sort((a, b) => (a[1].path < b[1].path ? -1 : a[1].path > b[1].path ? 1 : 0));
    out(rows.map(([c, f]) => `${c} ${f.path}`));
  }

  async function find(store, argv) {
    const { flags, args } = parseArgs(argv, { "--change": flag("change", "value"), "--format": flag("format", "value") });
    if (args.length !== 1) throw new UsageError('"find" requires exactly 1 argument (a path, a basename or a glob)');
    let hits;
    try {
      hits = await store.findFiles(args[0], flags.change ? { change: flags.change } : undefined);
    } catch (e) {
      if (e.code === "invalid_argument") throw new UsageError(e.message);
      throw fail(e);
    }
    warnSkipped(hits.skipped);
    if (flags.format === "json") return out(hits.map((h) => JSON.stringify(h)));
    const rows = [["IMAGE", "LAYER", "CHANGE", "SIZE", "PATH"]];
    for (const h of hits) rows.push([label(h), String(h.layer), h.change, humanSize(h.size, 3), h.path]);
    out(table(rows));
  }

  async function largest(store, argv) {
    const { flags, args } = parseArgs(argv, { ...nsFlags, "--limit": flag("limit", "value"), "--format": flag("format", "value") });
    if (args.length > 1) throw new UsageError('"largest" takes at most 1 argument (an image)');
    const limit = flags.limit === undefined ? 20 : Number(flags.limit);
    if (!Number.isInteger(limit) || limit < 0) throw new UsageError(`--limit: not a count: ${flags.limit}`);
    let files;
    try {
      files = args.length
        ? await store.largestFiles(ref(flags, args[0]), { limit })
        : await store.storeLargestFiles({ limit });
    } catch (e) {
      throw fail(e);
    }
    warnSkipped(files.skipped);
    if (flags.format === "json") return out(files.map((f) => JSON.stringify(f)));
    const rows = args.length ? [["SIZE", "LAYER", "PATH"]] : [["SIZE", "IMAGES", "PATH"]];
    for (const f of files) {
      const where = args.length ? String(f.layer) : f.images.map((o) => `${label(o)}@${o.layer}`).join(",");
      rows.push([humanSize(f.size, 3), where, f.path]);
    }
    out(table(rows));
  }

  /** Columns padded to their widest cell plus 3 spaces, the last left as it is. */
  function table(rows) {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...r[i]].length)));
    return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + " ".repeat(widths[i] - [...c].length + 3))).join(""));
  }

  module.exports = [
    { name: "dive", run: dive, usage: "dive [-n NS] [--ci] [--json FILE] [--lowestEfficiency R] [--highestWastedBytes B] [--highestUserWastedPercent R] IMAGE   wasted space and efficiency as dive 0.13.1: the text of its view (layers, image details); --ci (or CI=true): its CI report, rules and exit code" },
    { name: "diff", run: diff, usage: "diff [-n NS] [--format json] IMAGE IMAGE   files added (A), deleted (D), changed (C) from the first image to the second" },
    { name: "find", run: find, usage: "find [--change added|modified|removed] [--format json] PATTERN   every image and layer (both views) that touches a path, name or glob" },
    { name: "largest", run: largest, usage: "largest [-n NS] [--limit N] [--format json] [IMAGE]   the largest files of an image, or of the whole store" },
  ];
}
