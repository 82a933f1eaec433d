// `imagestore load [-i FILE] [-q]`: docker load (POST /images/load), printing dockerd's lines.
// Like dockerd, it takes only a `docker save` archive (Docker 25's OCI one too): anything else
// is refused with dockerd's error (`imagestore import` takes image stores, OCI layouts and
// containerd roots).
"use strict";

const { parseArgs, flag, out, Exit, UsageError } = require("../cli_support.js");
const { openInput } = require("./input.js");
const { progressReporter } = require("../progress.js");
const { tagsBefore, loadedLines } = require("../load_report.js");

async function run(store, argv) {
  const { flags, args } = parseArgs(argv, {
    "-i": flag("input", "value"),
    "--input": flag("input", "value"),
    "-q": flag("quiet"),
    "--quiet": flag("quiet"),
  });
  if (args.length) throw new UsageError('"load" accepts no arguments (use -i FILE or stdin).');
  if (!flags.input && process.stdin.isTTY) throw new Exit(1, "requested load from stdin, but stdin is empty");
  const { stream, size } = openInput(flags.input ?? "-");
  const before = await tagsBefore(store);
  // As `docker load`: progress only on a terminal (and not with -q); nothing but the result
  // lines when the output goes to a file or a pipe.
  const progress = flags.quiet || !process.stderr.isTTY ? { onProgress: undefined, done() {} } : progressReporter(size);
  let report;
  try {
    report = await store.import(stream, { onProgress: progress.onProgress, dockerLoad: true });
  } catch (e) {
    throw new Exit(1, e.message);
  } finally {
    progress.done();
  }
  out(loadedLines(report, before));
}

module.exports = { name: "load", usage: "load [-i FILE] [-q]            docker load (from FILE or stdin)", run };
