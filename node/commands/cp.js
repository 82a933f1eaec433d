// `imagestore cp IMAGE:PATH DEST|-`: a file or folder out of an image's filesystem, as `docker cp
// CONTAINER:PATH DEST` takes one out of a container. A folder comes from the core as a tar
// (readDirectory: names start with the folder's own name, headers as in the layers, nothing
// outside the folder): to stdout with `-`, else extracted by tar(1) into DEST (into
// DEST/<name> when DEST is an existing folder, as DEST itself otherwise). A file is streamed to
// DEST (DEST/<name> when DEST is a folder); with `-` docker would write a one-file tar: use a
// path instead.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { spawn } = require("node:child_process");
const { Writable } = require("node:stream");
const { parseArgs, daemonError, Exit, UsageError } = require("../cli_support.js");

/** `IMAGE:PATH` → [image, path]; the image part may hold a registry port, so split at the last ':' before a '/'. */
function splitSource(arg) {
  const at = arg.lastIndexOf(":/");
  const i = at >= 0 ? at : arg.lastIndexOf(":");
  if (i <= 0 || i === arg.length - 1) throw new UsageError(`"cp" requires IMAGE:PATH as its source, got ${JSON.stringify(arg)}`);
  return [arg.slice(0, i), arg.slice(i + 1)];
}

async function extract(stream, dest, strip) {
  fs.mkdirSync(dest, { recursive: true });
  const args = ["-x", "-f", "-", "-C", dest, "--no-same-owner", ...(strip ? ["--strip-components=1"] : [])];
  const tar = spawn("tar", args, { stdio: ["pipe", "inherit", "inherit"] });
  const done = new Promise((resolve, reject) => {
    tar.on("error", (e) => reject(new Exit(1, `cp: cannot run tar(1) to extract: ${e.message} (use - to get the tar)`)));
    tar.on("exit", (code) => (code === 0 ? resolve() : reject(new Exit(1, `cp: tar(1) failed extracting into ${dest}`))));
  });
  await Promise.all([stream.pipeTo(Writable.toWeb(tar.stdin)), done]);
}

async function run(store, argv) {
  const { args } = parseArgs(argv, {});
  if (args.length !== 2) throw new UsageError('"cp" requires exactly 2 arguments: IMAGE:PATH DEST|-');
  const [image, src] = splitSource(args[0]);
  const dest = args[1];
  let folder = null;
  try {
    folder = await store.readDirectory(image, src);
  } catch (e) {
    if (e.code !== "invalid_argument") throw daemonError(e);
  }
  const isDir = (p) => fs.existsSync(p) && fs.statSync(p).isDirectory();
  const name = src.replace(/\/+$/, "").split("/").pop();
  if (folder) {
    if (dest === "-") return folder.pipeTo(Writable.toWeb(process.stdout), { preventClose: true });
    // The tar's names start with the folder's name (none for the image root).
    if (isDir(dest)) return extract(folder, dest, false);
    return extract(folder, dest, name !== "");
  }
  if (dest === "-") throw new Exit(1, `cp: ${src} is a file: give a destination path (a tar holds folders here)`);
  let file;
  try {
    file = await store.readFile(image, src);
  } catch (e) {
    throw daemonError(e);
  }
  const target = isDir(dest) ? path.join(dest, name) : dest;
  await file.pipeTo(Writable.toWeb(fs.createWriteStream(target)));
}

module.exports = { name: "cp", usage: "cp IMAGE:PATH DEST|-            a file or folder of an image (docker cp); a folder to - is a tar", run };
