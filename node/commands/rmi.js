// `imagestore rmi IMAGE...`: docker rmi (DELETE /images/{name}); every name is tried, errors
// are printed together at the end with exit code 1, as the docker CLI does.
"use strict";

const { parseArgs, flag, out, Exit, UsageError } = require("../cli_support.js");

async function run(store, argv) {
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

module.exports = { name: "rmi", usage: "rmi [-f] [--no-prune] IMAGE...", run };
