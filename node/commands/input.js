// A tarball to import, from a file or from stdin ("-"), as the web stream the core takes.
"use strict";

const fs = require("node:fs");
const { Readable } = require("node:stream");
const { Exit } = require("../cli_support.js");

/** Opens `file` ("-" = stdin): { stream, size (null when unknown), name }. */
function openInput(file) {
  if (file === "-") {
    return { stream: Readable.toWeb(process.stdin), size: null, name: "stdin" };
  }
  let size;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    size = st.size;
  } catch (e) {
    const why = { ENOENT: "no such file or directory", EACCES: "permission denied", EISDIR: "is a directory" }[e.code];
    throw new Exit(1, `open ${file}: ${why ?? e.message}`);
  }
  return { stream: Readable.toWeb(fs.createReadStream(file, { highWaterMark: 1 << 20 })), size, name: file };
}

module.exports = { openInput };
