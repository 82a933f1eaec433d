// `imagestore images`: docker images (GET /images/json), table or JSON lines.
"use strict";

const fmt = require("../docker_format.js");
const { parseArgs, flag, out, now, filterMap, goJson, daemonError, outputFormat, UsageError } = require("../cli_support.js");

async function run(store, argv) {
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
  const format = outputFormat(flags.format);
  const filters = filterMap(flags.filter);
  if (args[0]) (filters.reference ??= []).push(args[0]);
  let images;
  try {
    images = await store.listImages({ all: !!flags.all, digests: !!flags.digests, filters });
  } catch (e) {
    throw daemonError(e);
  }
  const t = now();
  if (format === "json") {
    const lines = [];
    const cells = fmt.imageCells(images, t);
    for (const [k, image] of images.entries()) {
      for (const row of fmt.imageRows(image, { digests: !!flags.digests })) {
        const j = fmt.imageJson(image, row, cells[k]);
        if (!flags.noTrunc) j.ID = fmt.truncateId(j.ID);
        lines.push(goJson(j));
      }
    }
    return out(lines);
  }
  out(fmt.imagesTable(images, { digests: !!flags.digests, quiet: !!flags.quiet, noTrunc: !!flags.noTrunc, now: t }));
}

module.exports = {
  name: "images",
  usage: "images [-a] [--digests] [-q] [--no-trunc] [-f FILTER]... [--format table|json] [REPOSITORY[:TAG]]",
  run,
};
