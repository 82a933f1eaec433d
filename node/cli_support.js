// What every `imagestore` command shares: argument parsing as the docker CLI's flags take them,
// docker's exit codes and error wording, output helpers and the store's location.
"use strict";

const os = require("node:os");
const path = require("node:path");

/** A usage mistake: exit 125 with the message, as the docker CLI exits for flag errors. */
class UsageError extends Error {}

/** Thrown by a command to exit with `code` after `message` on stderr (docker's wording). */
class Exit extends Error {
  constructor(code, message) {
    super(message);
    this.exitCode = code;
  }
}

/** Splits argv into flags and positionals; `spec` maps flag names to flag(key, type). */
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
    const eq = a.indexOf("=");
    const [name, inline] = eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown flag: ${name}`);
    if (kind.type === "bool") {
      flags[kind.key] = inline === undefined ? true : inline !== "false";
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`flag needs an argument: ${name}`);
    if (kind.type === "list") (flags[kind.key] ??= []).push(value);
    else flags[kind.key] = value;
  }
  return { flags, args };
}

const flag = (key, type = "bool") => ({ key, type });

/** The store folder: $IMAGESTORE_STORE, else under the user's data directory. */
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

/** Writes lines (or one text) to stdout, newline-terminated; nothing for an empty list. */
function out(lines) {
  const text = Array.isArray(lines) ? lines.join("\n") : lines;
  if (text.length) process.stdout.write(text + "\n");
}

/** An error the daemon answered, as the docker CLI prints it. */
const daemonError = (e) => new Exit(1, `Error response from daemon: ${e.message}`);

/** `--format table|json` (and Go's `{{json .}}`), refusing any other template. */
function outputFormat(value) {
  const format = value ?? "table";
  if (format === "{{json .}}") return "json";
  if (format !== "table" && format !== "json") {
    throw new UsageError(`--format: only "table" and "json" are supported, got ${JSON.stringify(format)}`);
  }
  return format;
}

module.exports = { UsageError, Exit, parseArgs, flag, defaultStore, now, filterMap, goJson, out, daemonError, outputFormat };
