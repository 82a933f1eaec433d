// `imagestore import FILE`: any tarball the core takes (image store, docker save, OCI, root).
"use strict";

const { parseArgs, flag, out, UsageError } = require("../cli_support.js");
const { openInput } = require("./input.js");
const { progressReporter } = require("../progress.js");

async function run(store, argv) {
  const { flags, args } = parseArgs(argv, { "--namespace": flag("namespace", "value"), "-n": flag("namespace", "value") });
  if (args.length !== 1) throw new UsageError('"import" requires exactly 1 argument (FILE)');
  const { stream, size, name } = openInput(args[0]);
  const progress = progressReporter(size);
  let report;
  try {
    report = await store.import(stream, { onProgress: progress.onProgress, namespace: flags.namespace });
  } finally {
    progress.done();
  }
  out(`Imported ${name} (${report.format}): ${report.images} images, ${report.layers} layers, ${report.blobs ?? 0} blobs`);
  for (const s of report.skipped ?? []) process.stderr.write(`skipped ${s.subject}: ${s.reason}\n`);
}

module.exports = { name: "import", usage: "import FILE [--namespace NS]   import a tarball (docker image store, docker save, OCI, containerd root)", run };
