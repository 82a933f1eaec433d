// `imagestore history IMAGE`: docker history (GET /images/{name}/history).
"use strict";

const fmt = require("../docker_format.js");
const { parseArgs, flag, out, now, goJson, daemonError, outputFormat, UsageError } = require("../cli_support.js");

async function run(store, argv) {
  const { flags, args } = parseArgs(argv, {
    "--no-trunc": flag("noTrunc"),
    "-q": flag("quiet"),
    "--quiet": flag("quiet"),
    "-H": flag("human"),
    "--human": flag("human"),
    "--format": flag("format", "value"),
  });
  if (args.length !== 1) throw new UsageError('"history" requires exactly 1 argument');
  const format = outputFormat(flags.format);
  let items;
  try {
    items = await store.imageHistory(args[0]);
  } catch (e) {
    throw daemonError(e);
  }
  const t = now();
  if (format === "json") {
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

module.exports = { name: "history", usage: "history [--no-trunc] [-q] [-H=false] [--format table|json] IMAGE", run };
