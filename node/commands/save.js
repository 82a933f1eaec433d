// `imagestore save [-o FILE] IMAGE...`: docker save (GET /images/get). The archive is written to
// a temporary file beside FILE and renamed when complete, as the docker CLI does, so a failed
// save leaves no partial FILE.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { Writable } = require("node:stream");
const { parseArgs, flag, daemonError, Exit, UsageError } = require("../cli_support.js");

async function run(store, argv) {
  const { flags, args } = parseArgs(argv, { "-o": flag("output", "value"), "--output": flag("output", "value") });
  if (args.length === 0) throw new UsageError('"save" requires at least 1 argument.');
  if (!flags.output && process.stdout.isTTY) {
    throw new Exit(1, "cowardly refusing to save to a terminal. Use the -o flag or redirect");
  }
  if (flags.output) {
    const dir = path.dirname(path.resolve(flags.output));
    if (!fs.existsSync(dir)) throw new Exit(1, `failed to save image: invalid output path: directory ${JSON.stringify(dir)} does not exist`);
  }
  let archive;
  try {
    archive = await store.save(args);
  } catch (e) {
    throw daemonError(e);
  }
  if (!flags.output) {
    await archive.pipeTo(Writable.toWeb(process.stdout), { preventClose: true });
    return;
  }
  const target = path.resolve(flags.output);
  const temp = path.join(path.dirname(target), `.imagestore_temp_${process.pid}_${path.basename(target)}`);
  try {
    await archive.pipeTo(Writable.toWeb(fs.createWriteStream(temp)));
    fs.renameSync(temp, target);
  } catch (e) {
    fs.rmSync(temp, { force: true });
    throw new Exit(1, `failed to save image: ${e.message}`);
  }
}

module.exports = { name: "save", usage: "save [-o FILE] IMAGE...        docker save (to FILE or to stdout)", run };
