// `imagestore load [-i FILE] [-q]`: docker load (POST /images/load), printing dockerd's lines.
// Other tarballs the core takes (an image store, an OCI layout, a containerd root) are imported
// too; for them the import's summary is printed, as `imagestore import` prints it.
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
  const { stream, size, name } = openInput(flags.input ?? "-");
  const before = await tagsBefore(store);
  // As `docker load`: progress only on a terminal (and not with -q); nothing but the result
  // lines when the output goes to a file or a pipe.
  const progress = flags.quiet || !process.stderr.isTTY ? { onProgress: undefined, done() {} } : progressReporter(size);
  let report;
  try {
    report = await store.import(stream, { onProgress: progress.onProgress });
  } catch (e) {
    throw new Exit(1, e.message);
  } finally {
    progress.done();
  }
  if (report.loaded?.length) return out(loadedLines(report, before));
  out(`Imported ${name} (${report.format}): ${report.images} images, ${report.layers} layers, ${report.blobs ?? 0} blobs`);
}

module.exports = { name: "load", usage: "load [-i FILE] [-q]            docker load (from FILE or stdin)", run };
