// `imagestore system df [-v] [--format table|json]`: docker system df (GET /system/df).
"use strict";

const fmt = require("../docker_format.js");
const { parseArgs, flag, out, now, goJson, daemonError, outputFormat, UsageError } = require("../cli_support.js");

async function df(store, argv) {
  const { flags, args } = parseArgs(argv, {
    "-v": flag("verbose"),
    "--verbose": flag("verbose"),
    "--format": flag("format", "value"),
  });
  if (args.length) throw new UsageError('"system df" accepts no arguments.');
  const format = outputFormat(flags.format);
  let answer;
  try {
    answer = await store.systemDf();
  } catch (e) {
    throw daemonError(e);
  }
  const t = now();
  if (format === "table") return process.stdout.write(fmt.systemDfTable(answer, { verbose: !!flags.verbose, now: t }));
  if (!flags.verbose) return out(fmt.diskUsageSummary(answer).map((row) => goJson(row)));
  // `-v --format json` is one template run over the whole answer: no newline after it.
  const images = fmt.diskUsageImageJson(fmt.diskUsageImageRows(answer.Images ?? []), t);
  process.stdout.write(goJson({ Images: images, Containers: [], Volumes: [], BuildCache: [] }));
}

async function run(store, argv) {
  const [sub, ...rest] = argv;
  if (sub === "df") return df(store, rest);
  throw new UsageError(`system: supported: "df"${sub ? `, not ${JSON.stringify(sub)}` : ""}`);
}

module.exports = { name: "system", usage: "system df [-v] [--format table|json]   docker system df", run };
