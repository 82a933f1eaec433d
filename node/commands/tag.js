// `imagestore tag SOURCE TARGET`: docker tag (POST /images/{name}/tag).
"use strict";

const { parseArgs, daemonError, UsageError } = require("../cli_support.js");
const { splitTag } = require("../docker_format.js");

async function run(store, argv) {
  const { args } = parseArgs(argv, {});
  if (args.length !== 2) throw new UsageError('"tag" requires exactly 2 arguments.');
  const [source, target] = args;
  const [repo, tag] = splitTag(target);
  try {
    await store.tagImage(source, repo, tag ?? "latest");
  } catch (e) {
    throw daemonError(e);
  }
}

module.exports = { name: "tag", usage: "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", run };
