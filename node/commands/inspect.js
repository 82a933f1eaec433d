// `imagestore inspect IMAGE...`: docker image inspect (GET /images/{name}/json), as the CLI
// prints it (a JSON array indented by 4; the daemon's JSON is not HTML-escaped).
"use strict";

const { parseArgs, flag, out, Exit, UsageError } = require("../cli_support.js");

async function run(store, argv) {
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
  out(JSON.stringify(found, null, 4));
  if (errors.length) throw new Exit(1, errors.join("\n"));
}

module.exports = { name: "inspect", usage: "inspect IMAGE...               docker image inspect", run };
